package evm

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/stablegate/stablegate/chains"
)

// filter is what one scan asks eth_getLogs for: Transfer logs of the
// registry's token contracts whose recipient (topics[2]) is a watched
// address, in batches of addresses.
type filter struct {
	tokens  []common.Address
	batches [][]common.Hash // topics[2] lists
	watched map[common.Address]bool
}

func newFilter(tokens, addrs []common.Address, batch int) filter {
	f := filter{tokens: tokens, watched: make(map[common.Address]bool, len(addrs))}
	if len(tokens) == 0 {
		// Without a contract list eth_getLogs would match every
		// contract's Transfer logs: a chain without tokens has nothing to
		// watch.
		return f
	}
	var topics []common.Hash
	for _, a := range addrs {
		if f.watched[a] {
			continue
		}
		f.watched[a] = true
		topics = append(topics, common.BytesToHash(a.Bytes()))
	}
	for len(topics) > 0 {
		n := min(batch, len(topics))
		f.batches = append(f.batches, topics[:n:n])
		topics = topics[n:]
	}
	return f
}

// scanned is the result of one range.
type scanned struct {
	end       *header           // the range's last block
	refs      []BlockRef        // blocks to keep: those with transfers, then end
	transfers []chains.Transfer // in block and log order
}

// scanRange reads the transfers of blocks from..to, all from one endpoint so
// that headers and logs describe one chain. It checks that the range
// continues the cursor and that every log's block is the canonical one at its
// height, and returns errChainMoved otherwise. The end block is read before
// the logs and again after them when there are any, so the reported
// transfers and the new cursor hash are on one branch even if a reorg lands
// in between: either the end block is unchanged, or the range is scanned
// again.
func (w *Watcher) scanRange(ctx context.Context, f filter, from, to uint64) (*scanned, error) {
	var res *scanned
	err := w.pool.do(ctx, fmt.Sprintf("scan blocks %d to %d", from, to), func(ctx context.Context, c conn) error {
		res = nil
		end, err := c.headerAt(ctx, to)
		if err != nil {
			return err
		}
		var logs []types.Log
		for _, b := range f.batches {
			ls, err := c.logsThrough(ctx, ethereum.FilterQuery{
				FromBlock: bigOf(from), ToBlock: bigOf(to),
				Addresses: f.tokens,
				Topics:    [][]common.Hash{{transferTopic}, nil, b},
			}, end)
			if isRangeError(err) {
				return final(&rangeError{from: from, to: to, err: err})
			}
			if err != nil {
				return err
			}
			logs = append(logs, ls...)
		}
		parent := end.ParentHash
		if from != to {
			h, err := c.headerAt(ctx, from-1)
			if err != nil {
				return err
			}
			parent = h.Hash
		}
		if parent != w.cur.Head.Hash {
			return final(fmt.Errorf("blocks %d to %d do not continue the cursor at %d: %w", from, to, from-1, errChainMoved))
		}
		res, err = w.transfersOf(ctx, c, f, from, to, end, logs)
		return err
	})
	return res, err
}

// transfersOf turns the logs of a range into transfers, keeping only ERC-20
// Transfers of a registry token to a watched address: a node that ignores
// part of the filter must not make a fake token count.
func (w *Watcher) transfersOf(ctx context.Context, c conn, f filter, from, to uint64, end *header, logs []types.Log) (*scanned, error) {
	headers := map[uint64]*header{to: end}
	var ts []chains.Transfer
	slices.SortFunc(logs, func(a, b types.Log) int {
		if a.BlockNumber != b.BlockNumber {
			return cmp.Compare(a.BlockNumber, b.BlockNumber)
		}
		return cmp.Compare(a.Index, b.Index)
	})
	logs = slices.CompactFunc(logs, func(a, b types.Log) bool {
		return a.BlockHash == b.BlockHash && a.Index == b.Index
	})
	for _, l := range logs {
		tr, ok := decodeTransfer(l)
		contract, known := w.contracts[tr.token]
		if !ok || !known || !f.watched[tr.to] || l.BlockNumber < from || l.BlockNumber > to {
			continue
		}
		if l.Removed {
			return nil, final(fmt.Errorf("log %s:%d removed: %w", l.TxHash, l.Index, errChainMoved))
		}
		h := headers[l.BlockNumber]
		if h == nil {
			var err error
			if h, err = c.headerAt(ctx, l.BlockNumber); err != nil {
				return nil, err
			}
			headers[l.BlockNumber] = h
		}
		if l.BlockHash != h.Hash {
			return nil, final(fmt.Errorf("log %s:%d is in block %s, the canonical block %d is %s: %w",
				l.TxHash, l.Index, l.BlockHash, l.BlockNumber, h.Hash, errChainMoved))
		}
		ts = append(ts, chains.Transfer{
			Chain:       w.chain.ID,
			TxHash:      l.TxHash.Hex(),
			LogIndex:    l.Index,
			BlockNumber: l.BlockNumber,
			BlockHash:   l.BlockHash.Hex(),
			BlockTime:   int64(h.Time),
			From:        tr.from.Hex(),
			To:          tr.to.Hex(),
			Token:       contract,
			Amount:      tr.amount,
		})
	}
	if len(ts) > 0 {
		again, err := c.headerAt(ctx, to)
		if err != nil {
			return nil, err
		}
		if again.Hash != end.Hash {
			return nil, final(fmt.Errorf("block %d changed during the scan: %w", to, errChainMoved))
		}
	}
	refs := make([]BlockRef, 0, len(headers))
	for _, h := range headers {
		refs = append(refs, h.ref())
	}
	slices.SortFunc(refs, func(a, b BlockRef) int { return cmp.Compare(a.Number, b.Number) })
	return &scanned{end: end, refs: refs, transfers: ts}, nil
}
