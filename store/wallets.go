package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	sg "github.com/stablegate/stablegate"
)

// ReleasedClaimTTL is how long a deleted wallet's address stays claimed by
// its merchant: longer than the longest checkout plus the longest late
// window, so payments to amounts reserved before the deletion still find
// their checkout.
const ReleasedClaimTTL = sg.MaxCheckoutExpiry + 7*24*time.Hour + time.Hour

// staleWalletIndex is how old an address index entry without a wallet must
// be before a new add may take it over.
const staleWalletIndex = time.Minute

// AddWallet claims the wallet's address for its merchant and stores the
// wallet. The same address twice for one merchant is wallet_exists; an
// address held by another merchant is wallet_address_taken.
func (s *Store) AddWallet(ctx context.Context, w *sg.Wallet) error {
	defer s.cache.forget(w.MerchantID)
	idx := s.keys.WalletAddresses(w.MerchantID)
	field := w.Chain + ":" + foldAddress(w.Address)
	// One field per address and merchant: of two concurrent adds only one
	// takes it. A field whose wallet is missing is left over from a crash
	// between these steps or from a deleted wallet, and is taken over.
	ok, err := s.rdb.HSetNX(ctx, idx, field, w.ID).Result()
	if err != nil {
		return fmt.Errorf("index wallet: %w", err)
	}
	if !ok {
		cur, err := s.rdb.HGet(ctx, idx, field).Result()
		if err != nil {
			return fmt.Errorf("read wallet index: %w", err)
		}
		live, err := s.rdb.HExists(ctx, s.keys.Wallets(w.MerchantID), cur).Result()
		if err != nil {
			return fmt.Errorf("read wallet: %w", err)
		}
		// A concurrent add holds the field before its wallet is written; only
		// an old enough field without a wallet is a leftover.
		if live || time.Since(sg.IDTime(sg.PrefixWallet, cur)) < staleWalletIndex {
			return sg.Errorf(sg.ECONFLICT, "wallet_exists", "address", "wallet %s already has this address", cur)
		}
		if err := s.rdb.HSet(ctx, idx, field, w.ID).Err(); err != nil {
			return fmt.Errorf("index wallet: %w", err)
		}
	}

	claim := s.keys.AddressClaim(w.Chain, w.Address)
	owner := w.MerchantID + " " + w.ID
	ok, err = s.rdb.SetNX(ctx, claim, owner, 0).Result()
	if err != nil {
		return fmt.Errorf("claim address: %w", err)
	}
	if !ok {
		cur, err := s.rdb.Get(ctx, claim).Result()
		if err != nil {
			return fmt.Errorf("read address claim: %w", err)
		}
		if curMerchant, _, _ := strings.Cut(cur, " "); curMerchant != w.MerchantID {
			s.rdb.HDel(ctx, idx, field)
			return sg.Errorf(sg.ECONFLICT, "wallet_address_taken", "address", "this address is registered by another merchant")
		}
		// The merchant's own claim, left by a deleted wallet still draining.
		if err := s.rdb.Set(ctx, claim, owner, 0).Err(); err != nil {
			return fmt.Errorf("claim address: %w", err)
		}
	}
	b, err := json.Marshal(storedWallet{Wallet: w, MerchantID: w.MerchantID})
	if err != nil {
		return fmt.Errorf("encode wallet: %w", err)
	}
	// Watched before it can take a reservation, so no payment to it is missed.
	if err := s.rdb.SAdd(ctx, s.keys.ChainAddresses(w.Chain), w.Address).Err(); err != nil {
		return fmt.Errorf("watch address: %w", err)
	}
	if err := s.rdb.HSet(ctx, s.keys.Wallets(w.MerchantID), w.ID, b).Err(); err != nil {
		return fmt.Errorf("store wallet: %w", err)
	}
	return nil
}

// ChainAddresses returns every address registered as a wallet on a chain.
func (s *Store) ChainAddresses(ctx context.Context, chain string) ([]string, error) {
	addrs, err := s.rdb.SMembers(ctx, s.keys.ChainAddresses(chain)).Result()
	if err != nil {
		return nil, fmt.Errorf("chain addresses: %w", err)
	}
	return addrs, nil
}

type storedWallet struct {
	*sg.Wallet
	MerchantID string `json:"merchant"`
}

// Wallets lists a merchant's wallets, oldest first.
func (s *Store) Wallets(ctx context.Context, merchantID string) ([]*sg.Wallet, error) {
	vals, err := s.rdb.HVals(ctx, s.keys.Wallets(merchantID)).Result()
	if err != nil {
		return nil, fmt.Errorf("list wallets: %w", err)
	}
	return decodeWallets(vals)
}

func decodeWallets(vals []string) ([]*sg.Wallet, error) {
	out := make([]*sg.Wallet, 0, len(vals))
	for _, v := range vals {
		sw := storedWallet{Wallet: &sg.Wallet{}}
		if err := json.Unmarshal([]byte(v), &sw); err != nil {
			return nil, fmt.Errorf("decode wallet: %w", err)
		}
		sw.Wallet.MerchantID = sw.MerchantID
		out = append(out, sw.Wallet)
	}
	sortByID(out, func(w *sg.Wallet) string { return w.ID })
	return out, nil
}

// Wallet returns one wallet of a merchant; not_found for any other.
func (s *Store) Wallet(ctx context.Context, merchantID, id string) (*sg.Wallet, error) {
	v, err := s.rdb.HGet(ctx, s.keys.Wallets(merchantID), id).Result()
	if err != nil {
		return nil, notFound(err, "wallet")
	}
	ws, err := decodeWallets([]string{v})
	if err != nil {
		return nil, err
	}
	return ws[0], nil
}

// DeleteWallet removes a wallet from new checkouts. Its address stays
// claimed by the merchant for ReleasedClaimTTL so payments to amounts
// reserved before the deletion are still matched.
func (s *Store) DeleteWallet(ctx context.Context, merchantID, id string) (*sg.Wallet, error) {
	defer s.cache.forget(merchantID)
	w, err := s.Wallet(ctx, merchantID, id)
	if err != nil {
		return nil, err
	}
	if err := s.rdb.HDel(ctx, s.keys.Wallets(merchantID), id).Err(); err != nil {
		return nil, fmt.Errorf("delete wallet: %w", err)
	}
	if err := s.rdb.HDel(ctx, s.keys.WalletAddresses(merchantID), w.Chain+":"+foldAddress(w.Address)).Err(); err != nil {
		return nil, fmt.Errorf("unindex wallet: %w", err)
	}
	claim := s.keys.AddressClaim(w.Chain, w.Address)
	cur, err := s.rdb.Get(ctx, claim).Result()
	if err == nil && cur == merchantID+" "+id {
		if err := s.rdb.Expire(ctx, claim, ReleasedClaimTTL).Err(); err != nil {
			return nil, fmt.Errorf("release address: %w", err)
		}
	}
	return w, nil
}

// AddressOwner returns the merchant id that holds an address on a chain;
// not_found when nobody does.
func (s *Store) AddressOwner(ctx context.Context, chain, address string) (string, error) {
	cur, err := s.rdb.Get(ctx, s.keys.AddressClaim(chain, address)).Result()
	if err != nil {
		return "", notFound(err, "address")
	}
	m, _, _ := strings.Cut(cur, " ")
	return m, nil
}

func sortByID[T any](xs []T, id func(T) string) {
	slices.SortFunc(xs, func(a, b T) int { return strings.Compare(id(a), id(b)) })
}
