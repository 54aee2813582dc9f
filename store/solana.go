package store

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/chains/solana"
)

var (
	//go:embed lua/watch_signatures_save.lua
	watchSignaturesSaveLua    string
	watchSignaturesSaveScript = redis.NewScript(watchSignaturesSaveLua)
)

var _ solana.CursorStore = (*Cursors)(nil)

// LoadSignatures implements solana.CursorStore.
func (c *Cursors) LoadSignatures(ctx context.Context, chain string) (map[string]solana.SignatureCursor, error) {
	m, err := c.rdb.HGetAll(ctx, c.keys.WatchSignatures(chain)).Result()
	if err != nil {
		return nil, fmt.Errorf("load signature cursors of %s: %w", chain, err)
	}
	out := make(map[string]solana.SignatureCursor, len(m))
	for account, v := range m {
		slot, sig, ok := strings.Cut(v, " ")
		n, err := strconv.ParseUint(slot, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("load signature cursors of %s: bad entry %q for %s", chain, v, account)
		}
		out[account] = solana.SignatureCursor{Slot: n, Signature: sig}
	}
	return out, nil
}

// SaveSignatures implements solana.CursorStore.
func (c *Cursors) SaveSignatures(ctx context.Context, chain string, token uint64, cs map[string]solana.SignatureCursor) error {
	if len(cs) == 0 {
		return nil
	}
	args := make([]any, 0, 1+2*len(cs))
	args = append(args, token)
	for account, cur := range cs {
		args = append(args, account, strconv.FormatUint(cur.Slot, 10)+" "+cur.Signature)
	}
	keys := []string{c.keys.WatchLease(chain), c.keys.WatchSignatures(chain)}
	err := watchSignaturesSaveScript.Run(ctx, c.rdb, keys, args...).Err()
	if scriptError(err, "STALE_TOKEN") {
		return fmt.Errorf("save signature cursors of %s with token %d: %w", chain, token, chains.ErrStaleToken)
	}
	if err != nil {
		return fmt.Errorf("save signature cursors of %s: %w", chain, err)
	}
	return nil
}

// ReferenceHolder is the checkout a Solana Pay reference key names.
type ReferenceHolder struct {
	MerchantID string
	CheckoutID string
}

// AddReference records that a reference key names a merchant's checkout on
// a chain until the end of its late window.
func (s *Store) AddReference(ctx context.Context, chain, reference string, h ReferenceHolder, until time.Time) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.keys.References(chain), reference, h.MerchantID+" "+h.CheckoutID)
		p.ZAdd(ctx, s.keys.ReferenceExpiries(chain), redis.Z{Score: float64(until.Unix()), Member: reference})
		return nil
	})
	if err != nil {
		return fmt.Errorf("add reference: %w", err)
	}
	return nil
}

// ReferenceHolders returns the checkouts the given reference keys name on a
// chain; keys naming none are absent from the map.
func (s *Store) ReferenceHolders(ctx context.Context, chain string, refs []string) (map[string]ReferenceHolder, error) {
	out := map[string]ReferenceHolder{}
	if len(refs) == 0 {
		return out, nil
	}
	vals, err := s.rdb.HMGet(ctx, s.keys.References(chain), refs...).Result()
	if err != nil {
		return nil, fmt.Errorf("reference holders: %w", err)
	}
	for i, v := range vals {
		str, _ := v.(string)
		m, c, ok := strings.Cut(str, " ")
		if ok {
			out[refs[i]] = ReferenceHolder{MerchantID: m, CheckoutID: c}
		}
	}
	return out, nil
}

// LiveReferences implements solana.ReferenceSource.
func (s *Store) LiveReferences(ctx context.Context, chain string, now time.Time, limit int) ([]string, error) {
	refs, err := s.rdb.ZRevRangeByScore(ctx, s.keys.ReferenceExpiries(chain), &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(now.Unix(), 10), Max: "+inf", Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("live references: %w", err)
	}
	return refs, nil
}

// PruneReferences forgets up to limit reference keys whose late window
// ended before now and returns how many it removed. A payment naming one
// afterwards is matched by its amount, like any other.
func (s *Store) PruneReferences(ctx context.Context, chain string, now time.Time, limit int) (int, error) {
	old, err := s.rdb.ZRangeByScore(ctx, s.keys.ReferenceExpiries(chain), &redis.ZRangeBy{
		Min: "-inf", Max: "(" + strconv.FormatInt(now.Unix(), 10), Count: int64(limit),
	}).Result()
	if err != nil || len(old) == 0 {
		return 0, err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, s.keys.References(chain), old...)
		members := make([]any, len(old))
		for i, r := range old {
			members[i] = r
		}
		p.ZRem(ctx, s.keys.ReferenceExpiries(chain), members...)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune references: %w", err)
	}
	return len(old), nil
}
