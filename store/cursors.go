package store

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/stablegate/stablegate/chains/evm"
)

var (
	//go:embed lua/watch_lease_acquire.lua
	watchLeaseAcquireLua string
	//go:embed lua/watch_lease_renew.lua
	watchLeaseRenewLua string
	//go:embed lua/watch_cursor_save.lua
	watchCursorSaveLua string

	watchLeaseAcquireScript = redis.NewScript(watchLeaseAcquireLua)
	watchLeaseRenewScript   = redis.NewScript(watchLeaseRenewLua)
	watchCursorSaveScript   = redis.NewScript(watchCursorSaveLua)
)

// Cursors keeps the chain watchers' cursors and leases: per chain, the last
// scanned block, a bounded list of recent block hashes, and a lease with a
// fencing token so one replica at a time moves the cursor.
type Cursors struct {
	rdb  redis.UniversalClient
	keys Keys
}

var _ evm.CursorStore = (*Cursors)(nil)

// Cursors returns the watcher cursor store over the same Redis and prefix.
func (s *Store) Cursors() *Cursors { return &Cursors{rdb: s.rdb, keys: s.keys} }

// LoadCursor implements evm.CursorStore. Cursor and recent hashes are read in
// one MULTI, so a concurrent save is seen whole or not at all.
func (c *Cursors) LoadCursor(ctx context.Context, chain string) (evm.Cursor, bool, error) {
	var head *redis.MapStringStringCmd
	var recent *redis.ZSliceCmd
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		head = p.HGetAll(ctx, c.keys.WatchCursor(chain))
		recent = p.ZRangeWithScores(ctx, c.keys.WatchRecent(chain), 0, -1)
		return nil
	})
	if err != nil {
		return evm.Cursor{}, false, fmt.Errorf("load cursor of %s: %w", chain, err)
	}
	m := head.Val()
	if len(m) == 0 {
		return evm.Cursor{}, false, nil
	}
	height, err := strconv.ParseUint(m["height"], 10, 64)
	if err != nil {
		return evm.Cursor{}, false, fmt.Errorf("load cursor of %s: bad height %q", chain, m["height"])
	}
	cur := evm.Cursor{Head: evm.BlockRef{Number: height, Hash: common.HexToHash(m["hash"])}}
	for _, z := range recent.Val() {
		member, _ := z.Member.(string)
		cur.Recent = append(cur.Recent, evm.BlockRef{Number: uint64(z.Score), Hash: common.HexToHash(member)})
	}
	// Recent always ends with the head; an older store, or a head written
	// without it, still gives the fork search the head to compare.
	if n := len(cur.Recent); n == 0 || cur.Recent[n-1] != cur.Head {
		for n > 0 && cur.Recent[n-1].Number >= cur.Head.Number {
			n--
		}
		cur.Recent = append(cur.Recent[:n], cur.Head)
	}
	return cur, true, nil
}

// SaveCursor implements evm.CursorStore.
func (c *Cursors) SaveCursor(ctx context.Context, chain string, token uint64, u evm.CursorUpdate) error {
	keys := []string{c.keys.WatchLease(chain), c.keys.WatchCursor(chain), c.keys.WatchRecent(chain)}
	args := make([]any, 0, 6+2*len(u.Added))
	args = append(args, token, u.Head.Number, u.Head.Hash.Hex(), u.From, u.Keep, u.At.UnixMilli())
	for _, r := range u.Added {
		args = append(args, r.Number, r.Hash.Hex())
	}
	err := watchCursorSaveScript.Run(ctx, c.rdb, keys, args...).Err()
	if scriptError(err, "STALE_TOKEN") {
		return fmt.Errorf("save cursor of %s with token %d: %w", chain, token, evm.ErrStaleToken)
	}
	if err != nil {
		return fmt.Errorf("save cursor of %s: %w", chain, err)
	}
	return nil
}

// AcquireLease implements evm.CursorStore.
func (c *Cursors) AcquireLease(ctx context.Context, chain, holder string, ttl time.Duration) (uint64, error) {
	keys := []string{c.keys.WatchLease(chain), c.keys.WatchFence(chain)}
	token, err := watchLeaseAcquireScript.Run(ctx, c.rdb, keys, holder, leaseMillis(ttl)).Uint64()
	if err != nil {
		return 0, fmt.Errorf("acquire watcher lease of %s: %w", chain, err)
	}
	return token, nil
}

// RenewLease implements evm.CursorStore.
func (c *Cursors) RenewLease(ctx context.Context, chain, holder string, token uint64, ttl time.Duration) (bool, error) {
	ok, err := watchLeaseRenewScript.Run(ctx, c.rdb, []string{c.keys.WatchLease(chain)}, leaseValue(token, holder), leaseMillis(ttl)).Int()
	if err != nil {
		return false, fmt.Errorf("renew watcher lease of %s: %w", chain, err)
	}
	return ok == 1, nil
}

// ReleaseLease implements evm.CursorStore.
func (c *Cursors) ReleaseLease(ctx context.Context, chain, holder string, token uint64) error {
	if err := watchLeaseRenewScript.Run(ctx, c.rdb, []string{c.keys.WatchLease(chain)}, leaseValue(token, holder), 0).Err(); err != nil {
		return fmt.Errorf("release watcher lease of %s: %w", chain, err)
	}
	return nil
}

func leaseValue(token uint64, holder string) string {
	return strconv.FormatUint(token, 10) + " " + holder
}

// leaseMillis is ttl in whole milliseconds, at least one: 0 would mean
// release to the renew script and is an error to SET PX.
func leaseMillis(ttl time.Duration) int64 { return max(ttl.Milliseconds(), 1) }
