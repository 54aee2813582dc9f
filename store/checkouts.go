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

// The checkout record is the API form; PriceCents is read back from Price.

func encodeCheckout(c *sg.Checkout) []byte { return c.AppendJSON(nil) }

// eventData returns an event's data: its own, or else the JSON of the
// checkout stored with it, so that a checkout's event shows exactly the
// version the same step wrote, encoded once.
func eventData(e *sg.Event, checkoutJSON []byte) []byte {
	if e.Data != nil {
		return e.Data
	}
	return checkoutJSON
}

func decodeCheckout(merchantID string, version int64, b []byte) (*sg.Checkout, error) {
	var c sg.Checkout
	if err := decodeCheckoutJSON(b, &c); err != nil {
		return nil, fmt.Errorf("decode checkout: %w", err)
	}
	cents, err := sg.ParsePrice(c.Price)
	if err != nil {
		return nil, fmt.Errorf("decode checkout price: %w", err)
	}
	c.PriceCents = cents
	c.MerchantID = merchantID
	c.Version = version
	if c.Payments == nil {
		c.Payments = []string{}
	}
	return &c, nil
}

// DueExpiries returns up to limit (merchant id, checkout id) pairs of open
// checkouts whose expiry time is at or before now, across all merchants.
// One pipelined round trip reads every merchant's schedule per page of 500
// merchants.
func (s *Store) DueExpiries(ctx context.Context, now time.Time, limit int) ([][2]string, error) {
	var out [][2]string
	max := fmt.Sprint(now.UnixMilli())
	after := ""
	for len(out) < limit {
		ms, err := s.merchantIDs(ctx, after, 500)
		if err != nil {
			return nil, err
		}
		if len(ms) == 0 {
			break
		}
		cmds := make([]*redis.StringSliceCmd, len(ms))
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, m := range ms {
				cmds[i] = p.ZRangeByScore(ctx, s.keys.Expiries(m), &redis.ZRangeBy{Min: "-inf", Max: max, Count: int64(limit)})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("due expiries: %w", err)
		}
		for i, cmd := range cmds {
			for _, id := range cmd.Val() {
				if len(out) < limit {
					out = append(out, [2]string{ms[i], id})
				}
			}
		}
		after = ms[len(ms)-1]
	}
	return out, nil
}

// DoneExpiry removes a checkout from the expiry schedule, for a due entry
// whose checkout is gone.
func (s *Store) DoneExpiry(ctx context.Context, merchantID, checkoutID string) error {
	if err := s.rdb.ZRem(ctx, s.keys.Expiries(merchantID), checkoutID).Err(); err != nil {
		return fmt.Errorf("unschedule expiry: %w", err)
	}
	return nil
}

// CreateCheckout stores a new checkout, its indexes and its creation event
// atomically. An event without Data gets the checkout as stored.
func (s *Store) CreateCheckout(ctx context.Context, c *sg.Checkout, evt *sg.Event) error {
	b := encodeCheckout(c)
	eb := sg.EncodeEvent(evt, eventData(evt, b))
	hasOrder := "0"
	if c.OrderID != "" {
		hasOrder = "1"
	}
	k := s.keys
	if err := s.claimCheckoutID(ctx, c); err != nil {
		return err
	}
	res, err := createCheckoutScript.Run(ctx, s.rdb, []string{
		k.Checkout(c.MerchantID, c.ID),
		k.CheckoutIndex(c.MerchantID, c.Livemode),
		k.CheckoutStatusIndex(c.MerchantID, c.Livemode, string(c.Status)),
		k.CheckoutOrderIndex(c.MerchantID, c.Livemode, c.OrderID),
		k.Events(c.MerchantID),
		k.EventIndex(c.MerchantID, c.Livemode),
		k.Expiries(c.MerchantID),
		k.EventTypeIndex(c.MerchantID, c.Livemode, evt.Type),
		k.WebhookEndpointIndex(c.MerchantID, c.Livemode),
		k.Outbox(c.MerchantID),
	}, c.ID, b, hasOrder, evt.ID, eb, c.ExpiresAt*1000).Int64()
	if scriptError(err, "EXISTS") {
		return sg.Errorf(sg.ECONFLICT, "checkout_exists", "", "checkout %s exists", c.ID)
	}
	if err != nil {
		return fmt.Errorf("create checkout: %w", err)
	}
	c.Version = 1
	if res == 2 {
		s.HintFanout(ctx, c.MerchantID)
	}
	return nil
}

// Checkout returns a merchant's checkout; not_found for another merchant's.
func (s *Store) Checkout(ctx context.Context, merchantID, id string) (*sg.Checkout, error) {
	if !strings.HasPrefix(id, sg.PrefixCheckout) {
		return nil, sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such checkout")
	}
	vals, err := s.rdb.HMGet(ctx, s.keys.Checkout(merchantID, id), "v", "json").Result()
	if err != nil {
		return nil, fmt.Errorf("get checkout: %w", err)
	}
	return checkoutFromHash(merchantID, vals)
}

func checkoutFromHash(merchantID string, vals []any) (*sg.Checkout, error) {
	vs, ok1 := vals[0].(string)
	js, ok2 := vals[1].(string)
	if !ok1 || !ok2 {
		return nil, sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such checkout")
	}
	v, err := strconv.ParseInt(vs, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("decode checkout version: %w", err)
	}
	return decodeCheckout(merchantID, v, []byte(js))
}

// UpdateCheckout writes c if it is still at c.Version, moves it between
// status indexes (from oldStatus) and records evt (may be nil) atomically.
// A concurrent change makes it fail with a conflict the caller retries.
func (s *Store) UpdateCheckout(ctx context.Context, c *sg.Checkout, oldStatus sg.CheckoutStatus, evt *sg.Event) error {
	return s.Apply(ctx, Change{MerchantID: c.MerchantID, Livemode: c.Livemode, Checkout: c, OldStatus: oldStatus, Event: evt})
}

// CheckoutFilter narrows a checkout list. Zero values mean no filter.
type CheckoutFilter struct {
	Livemode      bool
	Status        sg.CheckoutStatus
	OrderID       string
	CreatedGTE    time.Time
	CreatedLT     time.Time
	StartingAfter string // exclusive cursor: older than this id
	EndingBefore  string // exclusive cursor: newer than this id
	Limit         int
}

// ListCheckouts returns a page of a merchant's checkouts, newest first, and
// whether more exist beyond it. Checkout ids sort by creation time, so the
// cursor and the created range are both ranges over one sorted index.
func (s *Store) ListCheckouts(ctx context.Context, merchantID string, f CheckoutFilter) ([]*sg.Checkout, bool, error) {
	index := s.keys.CheckoutIndex(merchantID, f.Livemode)
	switch {
	case f.OrderID != "":
		index = s.keys.CheckoutOrderIndex(merchantID, f.Livemode, f.OrderID)
	case f.Status != "":
		index = s.keys.CheckoutStatusIndex(merchantID, f.Livemode, string(f.Status))
	}
	lo, hi := lexBounds(sg.PrefixCheckout, f.CreatedGTE, f.CreatedLT, f.StartingAfter, f.EndingBefore)
	// The order_id index may hold other statuses; those are filtered in
	// memory. One order's checkouts are few, so the whole index may be read.
	var keep func(*sg.Checkout) bool
	if f.Status != "" {
		keep = func(c *sg.Checkout) bool { return c.Status == f.Status }
	}
	load := func(ids []string) ([]*sg.Checkout, error) { return s.checkoutsByID(ctx, merchantID, ids) }
	return page(ctx, s.rdb, index, lo, hi, f.EndingBefore != "", f.Limit, load, keep)
}

func (s *Store) checkoutsByID(ctx context.Context, merchantID string, ids []string) ([]*sg.Checkout, error) {
	cmds := make([]*redis.SliceCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HMGet(ctx, s.keys.Checkout(merchantID, id), "v", "json")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get checkouts: %w", err)
	}
	out := make([]*sg.Checkout, 0, len(ids))
	for _, cmd := range cmds {
		c, err := checkoutFromHash(merchantID, cmd.Val())
		if sg.IsCode(err, sg.ENOTFOUND) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// lexBounds turns a created range [gte, lt) and the exclusive cursors into
// ZRANGEBYLEX bounds over an index of ids with the given prefix.
func lexBounds(prefix string, gte, lt time.Time, startingAfter, endingBefore string) (lo, hi string) {
	lo, hi = "-", "+"
	loID, hiID := "", ""
	if !gte.IsZero() {
		loID = sg.IDTimeBound(prefix, gte)
		lo = "[" + loID
	}
	if endingBefore != "" && endingBefore >= loID {
		lo = "(" + endingBefore
	}
	if !lt.IsZero() {
		hiID = sg.IDTimeBound(prefix, lt)
		hi = "(" + hiID
	}
	if startingAfter != "" && (hiID == "" || startingAfter < hiID) {
		hi = "(" + startingAfter
	}
	return lo, hi
}
