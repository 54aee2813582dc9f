package evm

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/stablegate/stablegate/chains"
)

// transferTopic is topics[0] of an ERC-20 Transfer(address,address,uint256)
// log.
var transferTopic = crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))

// decimalsSelector is the call data of decimals().
var decimalsSelector = crypto.Keccak256([]byte("decimals()"))[:4]

// ErrTokenMismatch is returned, wrapped, when a registry token's contract
// does not answer decimals() with the registry's decimals: amounts would be
// off by powers of ten, so the watcher refuses to start.
var ErrTokenMismatch = errors.New("token contract does not match the registry")

// CheckTokens calls decimals() on every token contract of chain and returns
// ErrTokenMismatch, wrapped with the token, when one differs from the
// registry or is not an ERC-20 contract at all. Other errors are RPC
// failures worth retrying.
func CheckTokens(ctx context.Context, p *Pool, chain *chains.Chain) error {
	for _, t := range chain.Tokens {
		addr := common.HexToAddress(t.Contract)
		var out []byte
		err := p.do(ctx, "decimals of "+t.Symbol, func(ctx context.Context, c conn) error {
			var err error
			out, err = c.ethCall(ctx, addr, decimalsSelector)
			var re rpc.Error
			if errors.As(err, &re) && strings.Contains(strings.ToLower(re.Error()), "revert") {
				return final(fmt.Errorf("decimals() reverted: %w", ErrTokenMismatch))
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("chain %s: token %s at %s: decimals(): %w", chain.ID, t.Symbol, t.Contract, err)
		}
		if len(out) != 32 {
			return fmt.Errorf("chain %s: token %s at %s: decimals() returned %d bytes; is an ERC-20 deployed there? %w",
				chain.ID, t.Symbol, t.Contract, len(out), ErrTokenMismatch)
		}
		d := new(big.Int).SetBytes(out)
		if !d.IsUint64() || d.Uint64() != uint64(t.Decimals) {
			return fmt.Errorf("chain %s: token %s at %s: decimals() is %s on-chain but %d in the registry: %w",
				chain.ID, t.Symbol, t.Contract, d, t.Decimals, ErrTokenMismatch)
		}
	}
	return nil
}

// transferLog is a decoded ERC-20 Transfer log.
type transferLog struct {
	token, from, to common.Address
	amount          *big.Int
}

// decodeTransfer decodes l as an ERC-20 Transfer. It refuses anything else
// with topic 0 of Transfer, such as an ERC-721 Transfer, whose token id is a
// fourth topic and whose data is empty.
func decodeTransfer(l types.Log) (transferLog, bool) {
	if len(l.Topics) != 3 || l.Topics[0] != transferTopic || len(l.Data) != 32 {
		return transferLog{}, false
	}
	return transferLog{
		token:  l.Address,
		from:   common.BytesToAddress(l.Topics[1].Bytes()),
		to:     common.BytesToAddress(l.Topics[2].Bytes()),
		amount: new(big.Int).SetBytes(l.Data),
	}, true
}
