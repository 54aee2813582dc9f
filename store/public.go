package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	sg "github.com/stablegate/stablegate"
)

// What the hosted payment page needs beyond the merchant-scoped records: a
// checkout found by its id alone, the height a chain's watcher has reached
// (for "confirmations n/N"), and a request counter for public routes.

// maxCheckoutID bounds the ids looked up, so a long path never becomes a
// long key name.
const maxCheckoutID = 64

// claimCheckoutID records which merchant owns a new checkout's id. The
// lookup carries a tag of its own, so it cannot be written by the creation
// script, which runs on the merchant's slot; it is written first, so every
// stored checkout has one. A lookup left by a creation that failed after it
// names a checkout that does not exist, which reads as not_found.
func (s *Store) claimCheckoutID(ctx context.Context, c *sg.Checkout) error {
	key := s.keys.CheckoutOwner(c.ID)
	ok, err := s.rdb.SetNX(ctx, key, c.MerchantID, 0).Result()
	if err != nil {
		return fmt.Errorf("claim checkout id: %w", err)
	}
	if ok {
		return nil
	}
	owner, err := s.rdb.Get(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("claim checkout id: %w", err)
	}
	if owner != c.MerchantID {
		return sg.Errorf(sg.ECONFLICT, "checkout_exists", "", "checkout %s exists", c.ID)
	}
	return nil
}

// CheckoutByID returns a checkout found by its id alone, whoever its
// merchant, for the public payment page. An unknown id is not_found, and so
// is a checkout created before the lookup existed.
func (s *Store) CheckoutByID(ctx context.Context, id string) (*sg.Checkout, error) {
	if !strings.HasPrefix(id, sg.PrefixCheckout) || len(id) > maxCheckoutID {
		return nil, sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such checkout")
	}
	merchantID, err := s.rdb.Get(ctx, s.keys.CheckoutOwner(id)).Result()
	if err == redis.Nil {
		return nil, sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such checkout")
	}
	if err != nil {
		return nil, fmt.Errorf("look up checkout: %w", err)
	}
	return s.Checkout(ctx, merchantID, id)
}

// ChainHead returns the height of the last block the chain's watcher
// scanned, and false when no watcher has scanned the chain yet.
func (s *Store) ChainHead(ctx context.Context, chain string) (uint64, bool, error) {
	v, err := s.rdb.HGet(ctx, s.keys.WatchCursor(chain), "height").Result()
	if err == redis.Nil {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("chain head of %s: %w", chain, err)
	}
	h, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("chain head of %s: bad height %q", chain, v)
	}
	return h, true, nil
}

// CountWindow counts one request of subject in the current fixed window of
// the given length, shared by every replica, and returns the requests
// counted in the window so far, this one included, and when the window ends.
func (s *Store) CountWindow(ctx context.Context, subject string, window time.Duration, now time.Time) (int64, time.Time, error) {
	if window < time.Second {
		window = time.Second
	}
	start := now.Truncate(window)
	end := start.Add(window)
	key := s.keys.PublicRateWindow(subject, start.Unix())
	var incr *redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, key)
		p.ExpireAt(ctx, key, end.Add(time.Second))
		return nil
	})
	if err != nil {
		return 0, end, fmt.Errorf("count request: %w", err)
	}
	return incr.Val(), end, nil
}
