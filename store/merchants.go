package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	sg "github.com/stablegate/stablegate"
)

// CreateMerchant stores a new merchant and lists it in the merchant index.
func (s *Store) CreateMerchant(ctx context.Context, m *sg.Merchant) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode merchant: %w", err)
	}
	// The index entry goes first: one without a record is skipped by every
	// reader, while a record missing from the index would never have its
	// checkouts expired.
	if err := s.rdb.ZAdd(ctx, s.keys.MerchantIndex(), redis.Z{Member: m.ID}).Err(); err != nil {
		return fmt.Errorf("index merchant: %w", err)
	}
	ok, err := s.rdb.SetNX(ctx, s.keys.Merchant(m.ID), b, 0).Result()
	if err != nil {
		return fmt.Errorf("create merchant: %w", err)
	}
	if !ok {
		return sg.Errorf(sg.ECONFLICT, "merchant_exists", "id", "merchant %s exists", m.ID)
	}
	return nil
}

// Merchant returns a merchant by id; not_found when there is none.
func (s *Store) Merchant(ctx context.Context, id string) (*sg.Merchant, error) {
	b, err := s.rdb.Get(ctx, s.keys.Merchant(id)).Bytes()
	if err != nil {
		return nil, notFound(err, "merchant")
	}
	var m sg.Merchant
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode merchant: %w", err)
	}
	return &m, nil
}

// UpdateMerchant overwrites an existing merchant record.
func (s *Store) UpdateMerchant(ctx context.Context, m *sg.Merchant) error {
	defer s.cache.forget(m.ID)
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode merchant: %w", err)
	}
	ok, err := s.rdb.SetXX(ctx, s.keys.Merchant(m.ID), b, redis.KeepTTL).Result()
	if err != nil {
		return fmt.Errorf("update merchant: %w", err)
	}
	if !ok {
		return sg.Errorf(sg.ENOTFOUND, "resource_missing", "", "no such merchant")
	}
	return nil
}

// merchantIDs lists merchant ids after the given one, at most limit.
func (s *Store) merchantIDs(ctx context.Context, after string, limit int) ([]string, error) {
	min := "-"
	if after != "" {
		min = "(" + after
	}
	ids, err := s.rdb.ZRangeByLex(ctx, s.keys.MerchantIndex(), &redis.ZRangeBy{Min: min, Max: "+", Count: int64(limit)}).Result()
	if err != nil {
		return nil, fmt.Errorf("list merchants: %w", err)
	}
	return ids, nil
}

// MerchantWithWallets returns a merchant and its wallets, for checkout
// creation, from a short-lived cache (see Store.SetMerchantCacheTTL) or in
// one round trip. Callers must not modify the results.
func (s *Store) MerchantWithWallets(ctx context.Context, id string) (*sg.Merchant, []*sg.Wallet, error) {
	m, ws, epoch, ok := s.cache.get(id, time.Now())
	if ok {
		return m, ws, nil
	}
	m, ws, err := s.loadMerchantWithWallets(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	s.cache.put(id, m, ws, time.Now(), epoch)
	return m, ws, nil
}

func (s *Store) loadMerchantWithWallets(ctx context.Context, id string) (*sg.Merchant, []*sg.Wallet, error) {
	var mc *redis.StringCmd
	var wc *redis.StringSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		mc = p.Get(ctx, s.keys.Merchant(id))
		wc = p.HVals(ctx, s.keys.Wallets(id))
		return nil
	})
	if err != nil && err != redis.Nil {
		return nil, nil, fmt.Errorf("get merchant: %w", err)
	}
	b, err := mc.Bytes()
	if err != nil {
		return nil, nil, notFound(err, "merchant")
	}
	var m sg.Merchant
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, nil, fmt.Errorf("decode merchant: %w", err)
	}
	ws, err := decodeWallets(wc.Val())
	if err != nil {
		return nil, nil, err
	}
	return &m, ws, nil
}

// Merchants lists merchants by id, after the given id, at most limit.
func (s *Store) Merchants(ctx context.Context, after string, limit int) ([]*sg.Merchant, error) {
	ids, err := s.merchantIDs(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*sg.Merchant, 0, len(ids))
	for _, id := range ids {
		m, err := s.Merchant(ctx, id)
		if sg.IsCode(err, sg.ENOTFOUND) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// HashKey returns the SHA-256 hex digest under which a secret is stored.
// API keys carry 192 bits of randomness, so a fast hash is enough: there is
// nothing to brute-force.
func HashKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CreateKey stores an API key record: the lookup by hash first, then the
// merchant's list, so a listed key always authenticates.
func (s *Store) CreateKey(ctx context.Context, k *sg.APIKey) error {
	b, err := json.Marshal(storedKey{APIKey: k, Hash: k.Hash})
	if err != nil {
		return fmt.Errorf("encode key: %w", err)
	}
	if err := s.rdb.Set(ctx, s.keys.KeyLookup(k.Hash), b, 0).Err(); err != nil {
		return fmt.Errorf("store key: %w", err)
	}
	if err := s.rdb.Set(ctx, s.keys.KeyByID(k.ID), k.MerchantID, 0).Err(); err != nil {
		return fmt.Errorf("store key owner: %w", err)
	}
	if err := s.rdb.HSet(ctx, s.keys.MerchantKeys(k.MerchantID), k.ID, b).Err(); err != nil {
		return fmt.Errorf("list key: %w", err)
	}
	return nil
}

// storedKey keeps the hash, which the API form of a key omits.
type storedKey struct {
	*sg.APIKey
	Hash string `json:"hash"`
}

// KeyByHash returns the live key whose secret hashes to hash; unauthorized
// when none (unknown or revoked).
func (s *Store) KeyByHash(ctx context.Context, hash string) (*sg.APIKey, error) {
	b, err := s.rdb.Get(ctx, s.keys.KeyLookup(hash)).Bytes()
	if err == redis.Nil {
		return nil, sg.Errorf(sg.EUNAUTHORIZED, "api_key_invalid", "", "invalid API key")
	}
	if err != nil {
		return nil, fmt.Errorf("look up key: %w", err)
	}
	sk := storedKey{APIKey: &sg.APIKey{}}
	if err := json.Unmarshal(b, &sk); err != nil {
		return nil, fmt.Errorf("decode key: %w", err)
	}
	sk.APIKey.Hash = sk.Hash
	return sk.APIKey, nil
}

// KeyByHashCounted is KeyByHash that also counts one request against the
// credential's rate window of the current second, in the same round trip.
// The count is returned even for an unknown key, so guessing keys is rate
// limited too.
func (s *Store) KeyByHashCounted(ctx context.Context, hash string, now time.Time) (*sg.APIKey, int64, error) {
	window := s.keys.RateWindow(hash, now.Unix())
	var get *redis.StringCmd
	var incr *redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, s.keys.KeyLookup(hash))
		incr = p.Incr(ctx, window)
		p.Expire(ctx, window, 2*time.Second)
		return nil
	})
	if err != nil && err != redis.Nil {
		return nil, 0, fmt.Errorf("look up key: %w", err)
	}
	b, err := get.Bytes()
	if err == redis.Nil {
		return nil, incr.Val(), sg.Errorf(sg.EUNAUTHORIZED, "api_key_invalid", "", "invalid API key")
	}
	if err != nil {
		return nil, 0, fmt.Errorf("look up key: %w", err)
	}
	sk := storedKey{APIKey: &sg.APIKey{}}
	if err := json.Unmarshal(b, &sk); err != nil {
		return nil, 0, fmt.Errorf("decode key: %w", err)
	}
	sk.APIKey.Hash = sk.Hash
	return sk.APIKey, incr.Val(), nil
}

// MerchantKeys lists a merchant's API keys, revoked ones included.
func (s *Store) MerchantKeys(ctx context.Context, merchantID string) ([]*sg.APIKey, error) {
	vals, err := s.rdb.HVals(ctx, s.keys.MerchantKeys(merchantID)).Result()
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	out := make([]*sg.APIKey, 0, len(vals))
	for _, v := range vals {
		sk := storedKey{APIKey: &sg.APIKey{}}
		if err := json.Unmarshal([]byte(v), &sk); err != nil {
			return nil, fmt.Errorf("decode key: %w", err)
		}
		sk.APIKey.Hash = sk.Hash
		out = append(out, sk.APIKey)
	}
	sortByID(out, func(k *sg.APIKey) string { return k.ID })
	return out, nil
}

// RevokeKey revokes a key by id: the lookup goes first so the key stops
// working at once, then the merchant's record is marked. A key of another
// merchant is not_found.
func (s *Store) RevokeKey(ctx context.Context, merchantID, keyID string, now int64) (*sg.APIKey, error) {
	v, err := s.rdb.HGet(ctx, s.keys.MerchantKeys(merchantID), keyID).Result()
	if err != nil {
		return nil, notFound(err, "API key")
	}
	sk := storedKey{APIKey: &sg.APIKey{}}
	if err := json.Unmarshal([]byte(v), &sk); err != nil {
		return nil, fmt.Errorf("decode key: %w", err)
	}
	if err := s.rdb.Del(ctx, s.keys.KeyLookup(sk.Hash)).Err(); err != nil {
		return nil, fmt.Errorf("revoke key: %w", err)
	}
	if sk.Revoked == 0 {
		sk.Revoked = now
	}
	b, err := json.Marshal(sk)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	if err := s.rdb.HSet(ctx, s.keys.MerchantKeys(merchantID), keyID, b).Err(); err != nil {
		return nil, fmt.Errorf("mark key revoked: %w", err)
	}
	sk.APIKey.Hash = sk.Hash
	return sk.APIKey, nil
}

// KeyOwner returns the merchant id owning an API key id.
func (s *Store) KeyOwner(ctx context.Context, keyID string) (string, error) {
	id, err := s.rdb.Get(ctx, s.keys.KeyByID(keyID)).Result()
	if err != nil {
		return "", notFound(err, "API key")
	}
	return id, nil
}
