package store

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// amountWidth is the zero-padded width of a reserved amount, so amounts sort
// lexicographically in numeric order. It covers the largest price in the
// token with the most decimals the registry allows (10^9 USD at 36 decimals).
const amountWidth = 48

// PadAmount zero-pads base units to the index width.
func PadAmount(v *big.Int) string {
	s := v.String()
	if len(s) >= amountWidth {
		return s
	}
	return strings.Repeat("0", amountWidth-len(s)) + s
}

// Space names one reservation space: one token at one address on one chain
// of one merchant.
type Space struct {
	MerchantID string
	Chain      string
	Contract   string
	Address    string
}

// ReserveRequest asks for one free amount among Candidates.
type ReserveRequest struct {
	Space
	CheckoutID string
	Candidates []*big.Int // amounts to try, in order
	WindowLow  *big.Int   // smallest amount of the price's window
	WindowHigh *big.Int   // largest amount of the price's window
	Now        time.Time
	Until      time.Time // end of the reservation: expiry plus late window
}

// ReserveResult says what a reservation attempt found.
type ReserveResult struct {
	Amount *big.Int // the reserved amount; nil when every candidate was taken
	Tries  int      // candidates examined
	Taken  int      // live reservations in the window, when Amount is nil
}

func (s *Store) spaceKeys(sp Space) []string {
	return []string{
		s.keys.ReservedAmounts(sp.MerchantID, sp.Chain, sp.Contract, sp.Address),
		s.keys.ReservedUntil(sp.MerchantID, sp.Chain, sp.Contract, sp.Address),
		s.keys.ReservedCheckout(sp.MerchantID, sp.Chain, sp.Contract, sp.Address),
	}
}

// Reserve atomically takes the first free candidate amount and holds it for
// the checkout until r.Until. Reservations past their end are pruned first.
func (s *Store) Reserve(ctx context.Context, r ReserveRequest) (ReserveResult, error) {
	args := make([]any, 0, 5+len(r.Candidates))
	args = append(args, r.Now.UnixMilli(), r.Until.UnixMilli(), r.CheckoutID, PadAmount(r.WindowLow), PadAmount(r.WindowHigh))
	for _, c := range r.Candidates {
		args = append(args, PadAmount(c))
	}
	res, err := reserveScript.Run(ctx, s.rdb, s.spaceKeys(r.Space), args...).Slice()
	if err != nil {
		return ReserveResult{}, fmt.Errorf("reserve amount: %w", err)
	}
	if len(res) != 3 {
		return ReserveResult{}, fmt.Errorf("reserve amount: unexpected reply %v", res)
	}
	out := ReserveResult{Tries: int(res[1].(int64)), Taken: int(res[2].(int64))}
	if a, ok := res[0].(string); ok {
		v, ok := new(big.Int).SetString(a, 10)
		if !ok {
			return ReserveResult{}, fmt.Errorf("reserve amount: bad amount %q", a)
		}
		out.Amount = v
	}
	return out, nil
}

// Release gives back an amount the checkout holds (after its creation failed).
func (s *Store) Release(ctx context.Context, sp Space, checkoutID string, amount *big.Int) error {
	if err := releaseScript.Run(ctx, s.rdb, s.spaceKeys(sp), PadAmount(amount), checkoutID).Err(); err != nil {
		return fmt.Errorf("release amount: %w", err)
	}
	return nil
}

// ReservedInWindow returns the live reserved amounts between low and high
// inclusive, at most limit. The allocator uses it to find the gaps of a
// crowded window.
func (s *Store) ReservedInWindow(ctx context.Context, sp Space, low, high *big.Int, limit int) ([]*big.Int, error) {
	ms, err := s.rdb.ZRangeByLex(ctx, s.keys.ReservedAmounts(sp.MerchantID, sp.Chain, sp.Contract, sp.Address), &redis.ZRangeBy{
		Min: "[" + PadAmount(low), Max: "[" + PadAmount(high), Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("list reserved amounts: %w", err)
	}
	out := make([]*big.Int, 0, len(ms))
	for _, m := range ms {
		v, ok := new(big.Int).SetString(m, 10)
		if !ok {
			return nil, fmt.Errorf("list reserved amounts: bad amount %q", m)
		}
		out = append(out, v)
	}
	return out, nil
}

// ReservationHolder returns the checkout id holding an exact amount in a
// space, and whether the reservation is still live at now.
func (s *Store) ReservationHolder(ctx context.Context, sp Space, amount *big.Int, now time.Time) (string, bool, error) {
	k := s.spaceKeys(sp)
	pad := PadAmount(amount)
	id, err := s.rdb.HGet(ctx, k[2], pad).Result()
	if err != nil {
		return "", false, notFound(err, "reservation")
	}
	until, err := s.rdb.ZScore(ctx, k[1], pad).Result()
	if err != nil {
		return "", false, notFound(err, "reservation")
	}
	return id, int64(until) > now.UnixMilli(), nil
}
