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

	reserveScript          = redis.NewScript(reserveLua)
	releaseScript          = redis.NewScript(releaseLua)
	createCheckoutScript   = redis.NewScript(createCheckoutLua)
	applyScript            = redis.NewScript(applyLua)
	idempotencyBeginScript = redis.NewScript(idempotencyBeginLua)
)

// Store is the Redis-backed store of merchants, keys, wallets, checkouts,
// reservations, events and idempotency records.
type Store struct {
	rdb  redis.UniversalClient
	keys Keys
}

// New returns a store using rdb with every key under prefix (default "sg").
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = "sg"
	}
	return &Store{rdb: rdb, keys: Keys{Prefix: prefix}}
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
	for _, sc := range []*redis.Script{reserveScript, releaseScript, createCheckoutScript, applyScript, idempotencyBeginScript} {
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
