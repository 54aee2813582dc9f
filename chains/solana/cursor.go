package solana

import (
	"context"
	"time"

	"github.com/stablegate/stablegate/chains"
)

// SignatureCursor is the newest transaction a watcher has handled for one
// account: getSignaturesForAddress with `until` set to it returns only what
// came after.
type SignatureCursor struct {
	Slot      uint64
	Signature string
}

// CursorStore keeps a Solana chain's per-account cursors and the chain's
// lease.
type CursorStore interface {
	// LoadSignatures returns the cursors of every account the chain's
	// watcher has polled.
	LoadSignatures(ctx context.Context, chain string) (map[string]SignatureCursor, error)
	// SaveSignatures moves the given accounts' cursors in one atomic step,
	// only if token is the fencing token of the chain's live lease;
	// otherwise it changes nothing and returns chains.ErrStaleToken,
	// wrapped.
	SaveSignatures(ctx context.Context, chain string, token uint64, cs map[string]SignatureCursor) error
	chains.LeaseStore
}

// AddressSource lists the merchants' wallet (owner) addresses on a chain.
type AddressSource interface {
	ChainAddresses(ctx context.Context, chain string) ([]string, error)
}

// ReferenceSource lists the Solana Pay reference keys of checkouts whose
// late window has not ended at now, at most limit, soonest-ending last so
// the newest checkouts come first.
type ReferenceSource interface {
	LiveReferences(ctx context.Context, chain string, now time.Time, limit int) ([]string, error)
	// PruneReferences forgets up to limit keys whose late window ended
	// before now.
	PruneReferences(ctx context.Context, chain string, now time.Time, limit int) (int, error)
}
