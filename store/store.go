// Package store keeps Stablegate's records in Redis, the system of record.
//
// It talks to Redis through redis.UniversalClient, so a single node,
// Sentinel or Redis Cluster all work. Key names come from Keys (keys.go);
// every change that touches several keys is one Lua script (lua/*.lua), and
// those keys share a hash tag so the script runs on one cluster slot.
package store

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	sg "github.com/stablegate/stablegate"
)

var (
	//go:embed lua/reserve.lua
	reserveLua string
	//go:embed lua/release.lua
	releaseLua string
	//go:embed lua/create_checkout.lua
	createCheckoutLua string
	//go:embed lua/apply.lua
	applyLua string
	//go:embed lua/idempotency_begin.lua
	idempotencyBeginLua string
	//go:embed lua/idempotency_end.lua
	idempotencyEndLua string

	reserveScript          = redis.NewScript(reserveLua)
	releaseScript          = redis.NewScript(releaseLua)
	createCheckoutScript   = redis.NewScript(createCheckoutLua)
	applyScript            = redis.NewScript(applyLua)
	idempotencyBeginScript = redis.NewScript(idempotencyBeginLua)
	idempotencyEndScript   = redis.NewScript(idempotencyEndLua)
)

// Store is the Redis-backed store of merchants, keys, wallets, checkouts,
// reservations, events and idempotency records.
type Store struct {
	rdb   redis.UniversalClient
	keys  Keys
	cache merchantCache
}

// New returns a store using rdb with every key under prefix (default "sg").
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = "sg"
	}
	return &Store{rdb: rdb, keys: Keys{Prefix: prefix}, cache: merchantCache{ttl: DefaultMerchantCacheTTL}}
}

// DefaultMerchantCacheTTL is how long a merchant and its wallets are reused
// for checkout creation. Changes made through this store are seen at once;
// changes made by another replica within this time.
const DefaultMerchantCacheTTL = time.Second

// SetMerchantCacheTTL changes how long merchants and their wallets are
// cached; 0 turns the cache off.
func (s *Store) SetMerchantCacheTTL(ttl time.Duration) {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	s.cache.ttl = ttl
	s.cache.entries = nil
}

// Client returns the underlying Redis client.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Keys returns the key builder.
func (s *Store) Keys() Keys { return s.keys }

// Ping checks that Redis answers; /readyz uses it.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// LoadScripts loads every Lua script into Redis so the first requests do not
// pay for EVALSHA misses.
func (s *Store) LoadScripts(ctx context.Context) error {
	for _, sc := range []*redis.Script{reserveScript, releaseScript, createCheckoutScript, applyScript, idempotencyBeginScript, idempotencyEndScript} {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return fmt.Errorf("load script: %w", err)
		}
	}
	return nil
}

// notFound turns redis.Nil into a domain not_found error.
func notFound(err error, what string) error {
	if errors.Is(err, redis.Nil) {
		return sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such %s", what)
	}
	return err
}

// scriptError reports whether err is the Lua error reply msg. Redis 7
// prefixes a code-less error_reply with "ERR ", older servers do not.
func scriptError(err error, msg string) bool {
	return err != nil && strings.HasPrefix(strings.TrimPrefix(err.Error(), "ERR "), msg)
}

// merchantCache keeps merchants with their wallets for a moment: checkout
// creation reads them on every request and they rarely change.
type merchantCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	entries map[string]cachedMerchant
	// epoch counts forgets, so a load that raced with a change is not
	// cached: it may hold what the change replaced.
	epoch uint64
}

type cachedMerchant struct {
	m       *sg.Merchant
	wallets []*sg.Wallet
	at      time.Time
}

// maxCachedMerchants bounds the cache; past it, it starts over.
const maxCachedMerchants = 10_000

// get returns a fresh entry, or the epoch to hand to put after loading.
func (c *merchantCache) get(id string, now time.Time) (*sg.Merchant, []*sg.Wallet, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || now.Sub(e.at) >= c.ttl {
		return nil, nil, c.epoch, false
	}
	return e.m, e.wallets, c.epoch, true
}

func (c *merchantCache) put(id string, m *sg.Merchant, ws []*sg.Wallet, now time.Time, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ttl <= 0 || epoch != c.epoch {
		return
	}
	if c.entries == nil || len(c.entries) >= maxCachedMerchants {
		c.entries = make(map[string]cachedMerchant)
	}
	c.entries[id] = cachedMerchant{m: m, wallets: ws, at: now}
}

func (c *merchantCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, id)
	c.epoch++
}
