package evm

import (
	"context"
	"sort"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/stablegate/stablegate/chains"
)

// BlockRef names one block: its height and hash.
type BlockRef struct {
	Number uint64
	Hash   common.Hash
}

// Cursor is where a watcher stands on a chain: the last block it scanned, and
// the hashes it saw at recent heights, which it compares with the canonical
// chain to find the fork point of a reorg.
type Cursor struct {
	// Head is the last scanned block; every height up to it was scanned.
	Head BlockRef
	// Recent are scanned blocks in ascending height, Head last, one per
	// height. They are sparse: a watcher keeps the end of each scanned range
	// and every block that held a reported transfer, so every transfer it
	// reported is covered.
	Recent []BlockRef
}

// CursorUpdate moves a chain's cursor: forward after a scanned range, or back
// to a fork point after a reorg.
type CursorUpdate struct {
	// Head becomes the cursor's last scanned block.
	Head BlockRef
	// From drops the recent entries at this height and above before Added
	// is added: the first height of a scanned range, or the height after
	// the fork point of a reorg.
	From uint64
	// Added are new recent entries, at heights from From, Head included
	// when it is new.
	Added []BlockRef
	// Keep bounds the recent entries: the lowest are dropped beyond it.
	Keep int
	// At is the watcher's clock when it wrote, kept for operators.
	At time.Time
}

// ErrStaleToken is returned by CursorStore.SaveCursor, wrapped, when the
// fencing token is not the one of the chain's live lease: another replica
// took the lease over, and the caller must stop writing.
var ErrStaleToken = chains.ErrStaleToken

// CursorStore keeps each chain's cursor and the lease that lets one replica
// at a time scan the chain.
type CursorStore interface {
	// LoadCursor returns the chain's cursor; ok is false when the chain was
	// never scanned.
	LoadCursor(ctx context.Context, chain string) (c Cursor, ok bool, err error)
	// SaveCursor applies u to the chain's cursor in one atomic step, only if
	// token is the fencing token of the chain's live lease; otherwise it
	// changes nothing and returns ErrStaleToken (code conflict), wrapped.
	SaveCursor(ctx context.Context, chain string, token uint64, u CursorUpdate) error
	chains.LeaseStore
}

// canonicalFunc returns the hash of the canonical block at a height.
type canonicalFunc func(ctx context.Context, height uint64) (common.Hash, error)

// forkPoint compares recent (ascending, one chain as the watcher saw it) with
// the canonical chain and returns the index of the highest entry that is
// still canonical, or -1 when none is.
//
// Entries are on one chain, so "still canonical" holds for a prefix of them
// and fails for the rest: a binary search finds the boundary in log2(len)
// header look-ups instead of one per entry.
func forkPoint(ctx context.Context, recent []BlockRef, canonical canonicalFunc) (int, error) {
	var err error
	first := sort.Search(len(recent), func(i int) bool {
		if err != nil {
			return true
		}
		var h common.Hash
		h, err = canonical(ctx, recent[i].Number)
		return h != recent[i].Hash
	})
	if err != nil {
		return 0, err
	}
	return first - 1, nil
}
