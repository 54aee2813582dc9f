package store

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	sg "github.com/stablegate/stablegate"
)

// Batch reads for settling a scanned range of transfers: each is one round
// trip whatever the number of transfers.

// AddressOwners returns the merchant id holding each address on a chain;
// unclaimed addresses are absent from the map.
func (s *Store) AddressOwners(ctx context.Context, chain string, addrs []string) (map[string]string, error) {
	cmds := make([]*redis.StringCmd, len(addrs))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, a := range addrs {
			cmds[i] = p.Get(ctx, s.keys.AddressClaim(chain, a))
		}
		return nil
	})
	if err != nil && err != redis.Nil {
		return nil, fmt.Errorf("address owners: %w", err)
	}
	out := make(map[string]string, len(addrs))
	for i, cmd := range cmds {
		if v, err := cmd.Result(); err == nil {
			m, _, _ := strings.Cut(v, " ")
			out[addrs[i]] = m
		}
	}
	return out, nil
}

// TransferQuery asks what is known of one transfer to a merchant.
type TransferQuery struct {
	Space
	TxHash   string
	LogIndex uint
	Amount   *big.Int
	At       time.Time // block time: a reservation must be live then
}

// TransferState is what the store knows of a transfer: the payment already
// recorded for it, and the checkout holding its exact amount.
type TransferState struct {
	PaymentID string // "" when never seen
	Holder    string // checkout id holding the amount, "" when none
	Live      bool   // the holder's reservation was live at the query's time
}

// LookupTransfers answers each query. The queries of one merchant, and of
// one reservation space, are read with one command each, so a scanned
// range costs a few commands whatever its number of transfers.
func (s *Store) LookupTransfers(ctx context.Context, qs []TransferQuery) ([]TransferState, error) {
	// A batch of fields of one key (for a space: its padded amounts, read
	// from its holder hash and its end-time set), and the query each field
	// answers.
	type batch struct {
		keys   []string
		fields []string
		of     []int
	}
	add := func(batches map[string]*batch, order *[]*batch, keys []string, field string, i int) {
		b := batches[keys[0]]
		if b == nil {
			b = &batch{keys: keys}
			batches[keys[0]] = b
			*order = append(*order, b)
		}
		b.fields, b.of = append(b.fields, field), append(b.of, i)
	}
	byTransfer, bySpace := map[string]*batch{}, map[string]*batch{}
	var transfers, spaces []*batch
	for i, q := range qs {
		k := s.spaceKeys(q.Space)
		add(byTransfer, &transfers, []string{s.keys.PaymentsByTransfer(q.MerchantID)}, TransferKey(q.Chain, q.TxHash, q.LogIndex), i)
		add(bySpace, &spaces, []string{k[2], k[1]}, PadAmount(q.Amount), i)
	}
	payCmds := make([]*redis.SliceCmd, len(transfers))
	holderCmds := make([]*redis.SliceCmd, len(spaces))
	untilCmds := make([]*redis.FloatSliceCmd, len(spaces))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for j, b := range transfers {
			payCmds[j] = p.HMGet(ctx, b.keys[0], b.fields...)
		}
		for j, b := range spaces {
			holderCmds[j] = p.HMGet(ctx, b.keys[0], b.fields...)
			// A missing member reads as 0, which no reservation ends at.
			untilCmds[j] = p.ZMScore(ctx, b.keys[1], b.fields...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up transfers: %w", err)
	}
	out := make([]TransferState, len(qs))
	for j, b := range transfers {
		for f, v := range payCmds[j].Val() {
			out[b.of[f]].PaymentID, _ = v.(string)
		}
	}
	for j, b := range spaces {
		untils := untilCmds[j].Val()
		for f, v := range holderCmds[j].Val() {
			i := b.of[f]
			out[i].Holder, _ = v.(string)
			out[i].Live = out[i].Holder != "" && int64(untils[f]) > qs[i].At.UnixMilli()
		}
	}
	return out, nil
}

// PaymentsByRef returns the payments named by (merchant id, payment id)
// pairs, nil where one is missing.
func (s *Store) PaymentsByRef(ctx context.Context, refs [][2]string) ([]*sg.Payment, error) {
	cmds := make([]*redis.StringCmd, len(refs))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range refs {
			cmds[i] = p.HGet(ctx, s.keys.Payments(r[0]), r[1])
		}
		return nil
	})
	if err != nil && err != redis.Nil {
		return nil, fmt.Errorf("get payments: %w", err)
	}
	out := make([]*sg.Payment, len(refs))
	for i, cmd := range cmds {
		b, err := cmd.Bytes()
		if err != nil {
			continue
		}
		if out[i], err = decodePayment(refs[i][0], b); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CheckoutsByRef returns the checkouts named by (merchant id, checkout id)
// pairs, nil where one is missing.
func (s *Store) CheckoutsByRef(ctx context.Context, refs [][2]string) ([]*sg.Checkout, error) {
	cmds := make([]*redis.SliceCmd, len(refs))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range refs {
			cmds[i] = p.HMGet(ctx, s.keys.Checkout(r[0], r[1]), "v", "json")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get checkouts: %w", err)
	}
	out := make([]*sg.Checkout, len(refs))
	for i, cmd := range cmds {
		c, err := checkoutFromHash(refs[i][0], cmd.Val())
		if sg.IsCode(err, sg.ENOTFOUND) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// AddPendingMany lists payments as waiting for finality, in one command.
func (s *Store) AddPendingMany(ctx context.Context, chain string, refs []PendingRef) error {
	if len(refs) == 0 {
		return nil
	}
	zs := make([]redis.Z, len(refs))
	for i, r := range refs {
		zs[i] = redis.Z{Score: float64(r.Block), Member: r.MerchantID + "/" + r.PaymentID}
	}
	if err := s.rdb.ZAdd(ctx, s.keys.Pending(chain), zs...).Err(); err != nil {
		return fmt.Errorf("add pending payments: %w", err)
	}
	return nil
}
