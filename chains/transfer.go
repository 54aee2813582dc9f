package chains

import (
	"context"
	"math/big"
)

// Transfer is a token transfer a watcher saw on a chain: one ERC-20
// Transfer log, or one SPL token transfer instruction. (Chain, TxHash,
// LogIndex) identifies it; seeing it twice must change nothing.
type Transfer struct {
	Chain       string   // registry id
	TxHash      string   // 0x-hex on EVM, base58 signature on Solana
	LogIndex    uint     // log index in the block (EVM); instruction position outer<<16 | (inner+1) (Solana)
	BlockNumber uint64   // height or slot
	BlockHash   string   // hash of the block holding it, to detect reorgs
	BlockTime   int64    // unix seconds of the block
	From        string   // sender, normalized like wallet addresses
	To          string   // recipient, normalized like wallet addresses
	Token       string   // token contract or mint, as in the registry
	Amount      *big.Int // base units
	// References are the Solana transaction's account keys that may be
	// Solana Pay reference keys (its accounts other than the transfer's
	// own and the programs'); nil on EVM. One that a checkout holds names
	// that checkout whatever the amount.
	References []string
}

// ID returns the transfer's unique key on its chain.
func (t Transfer) ID() string {
	return t.Chain + ":" + t.TxHash + ":" + itoa(t.LogIndex)
}

func itoa(u uint) string { return new(big.Int).SetUint64(uint64(u)).String() }

// Verifier re-checks a transfer against the canonical chain right before it
// settles a payment.
type Verifier interface {
	// Canonical reports whether the transfer's block is still the canonical
	// block at its height (same hash) and its transaction succeeded and
	// still holds the transfer.
	Canonical(ctx context.Context, t Transfer) (bool, error)
}
