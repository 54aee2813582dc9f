package store

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	sg "github.com/stablegate/stablegate"
)

var (
	//go:embed lua/endpoint_create.lua
	endpointCreateLua string
	//go:embed lua/endpoint_update.lua
	endpointUpdateLua string
	//go:embed lua/delivery_enqueue.lua
	deliveryEnqueueLua string
	//go:embed lua/delivery_claim.lua
	deliveryClaimLua string
	//go:embed lua/delivery_complete.lua
	deliveryCompleteLua string
	//go:embed lua/delivery_redeliver.lua
	deliveryRedeliverLua string

	endpointCreateScript    = redis.NewScript(endpointCreateLua)
	endpointUpdateScript    = redis.NewScript(endpointUpdateLua)
	deliveryEnqueueScript   = redis.NewScript(deliveryEnqueueLua)
	deliveryClaimScript     = redis.NewScript(deliveryClaimLua)
	deliveryCompleteScript  = redis.NewScript(deliveryCompleteLua)
	deliveryRedeliverScript = redis.NewScript(deliveryRedeliverLua)
)

// Webhook endpoints live with their merchant; events reach them through the
// merchant's outbox, which a fan-out turns into deliveries on the webhook
// queue, a set of keys under one hash tag that any number of dispatchers
// lease deliveries from.

// endpointRecord is an endpoint as stored: what the API shows and the
// signing secrets it never does.
type endpointRecord struct {
	*sg.WebhookEndpoint
	Secrets []sg.EndpointSecret `json:"secrets"`
}

func encodeEndpoint(e *sg.WebhookEndpoint) ([]byte, error) {
	shown := *e
	shown.Secret = ""
	b, err := json.Marshal(endpointRecord{WebhookEndpoint: &shown, Secrets: e.Secrets})
	if err != nil {
		return nil, fmt.Errorf("encode webhook endpoint: %w", err)
	}
	return b, nil
}

func decodeEndpoint(merchantID string, b []byte) (*sg.WebhookEndpoint, error) {
	r := endpointRecord{WebhookEndpoint: &sg.WebhookEndpoint{}}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode webhook endpoint: %w", err)
	}
	r.WebhookEndpoint.Secrets = r.Secrets
	r.MerchantID = merchantID
	return r.WebhookEndpoint, nil
}

// CreateEndpoint stores a new endpoint; conflict "endpoint_limit" when the
// merchant has max endpoints in the mode already.
func (s *Store) CreateEndpoint(ctx context.Context, e *sg.WebhookEndpoint, max int) error {
	b, err := encodeEndpoint(e)
	if err != nil {
		return err
	}
	// Listed for the outbox sweep before the endpoint exists, so no event
	// can go to an outbox the sweep does not know.
	if err := s.rdb.SAdd(ctx, s.keys.WebhookMerchants(), e.MerchantID).Err(); err != nil {
		return fmt.Errorf("list webhook merchant: %w", err)
	}
	err = endpointCreateScript.Run(ctx, s.rdb, []string{
		s.keys.WebhookEndpoints(e.MerchantID), s.keys.WebhookEndpointIndex(e.MerchantID, e.Livemode),
	}, e.ID, b, max).Err()
	if scriptError(err, "LIMIT") {
		return sg.Errorf(sg.ECONFLICT, "endpoint_limit", "", "at most %d webhook endpoints per mode", max)
	}
	if err != nil {
		return fmt.Errorf("create webhook endpoint: %w", err)
	}
	return nil
}

// Endpoint returns a merchant's endpoint and its version; not_found for
// another merchant's.
func (s *Store) Endpoint(ctx context.Context, merchantID, id string) (*sg.WebhookEndpoint, int64, error) {
	if !strings.HasPrefix(id, sg.PrefixEndpoint) {
		return nil, 0, sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such webhook endpoint")
	}
	js, v, _, err := s.versionedRecord(ctx, s.keys.WebhookEndpoints(merchantID), id)
	if err != nil {
		return nil, 0, err
	}
	if js == "" {
		return nil, 0, sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such webhook endpoint")
	}
	e, err := decodeEndpoint(merchantID, []byte(js))
	return e, v, err
}

// versionedRecord reads the JSON record at field id of the HASH key with
// its version (field "<id>:v") and the fields "<id>:<suffix>" named, one
// value (a string or nil) each. A missing record or version gives "".
func (s *Store) versionedRecord(ctx context.Context, key, id string, suffixes ...string) (js string, version int64, extra []any, err error) {
	fields := []string{id, id + ":v"}
	for _, sfx := range suffixes {
		fields = append(fields, id+":"+sfx)
	}
	vals, err := s.rdb.HMGet(ctx, key, fields...).Result()
	if err != nil {
		return "", 0, nil, fmt.Errorf("get %s: %w", id, err)
	}
	js, ok1 := vals[0].(string)
	vs, ok2 := vals[1].(string)
	if !ok1 || !ok2 {
		return "", 0, nil, nil
	}
	if version, err = strconv.ParseInt(vs, 10, 64); err != nil {
		return "", 0, nil, fmt.Errorf("decode version of %s: %w", id, err)
	}
	return js, version, vals[2:], nil
}

// UpdateEndpoint writes e if it is still at version and returns the new
// version; conflict "endpoint_changed" when another writer got there
// first, not_found when it is gone.
func (s *Store) UpdateEndpoint(ctx context.Context, e *sg.WebhookEndpoint, version int64) (int64, error) {
	b, err := encodeEndpoint(e)
	if err != nil {
		return 0, err
	}
	return s.endpointCAS(ctx, e, version, string(b))
}

// DeleteEndpoint deletes e if it is still at version, with the same errors
// as UpdateEndpoint. Its pending deliveries fail when they come due.
func (s *Store) DeleteEndpoint(ctx context.Context, e *sg.WebhookEndpoint, version int64) error {
	_, err := s.endpointCAS(ctx, e, version, "")
	return err
}

func (s *Store) endpointCAS(ctx context.Context, e *sg.WebhookEndpoint, version int64, js string) (int64, error) {
	nv, err := endpointUpdateScript.Run(ctx, s.rdb, []string{
		s.keys.WebhookEndpoints(e.MerchantID), s.keys.WebhookEndpointIndex(e.MerchantID, e.Livemode),
	}, e.ID, version, js).Int64()
	switch {
	case scriptError(err, "NOTFOUND"):
		return 0, sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such webhook endpoint")
	case scriptError(err, "VERSION"):
		return 0, sg.Errorf(sg.ECONFLICT, "endpoint_changed", "", "webhook endpoint changed concurrently")
	case err != nil:
		return 0, fmt.Errorf("update webhook endpoint: %w", err)
	}
	return nv, nil
}

// ListFilter pages through a list ordered by id: newest first, after
// StartingAfter or before EndingBefore.
type ListFilter struct {
	StartingAfter string
	EndingBefore  string
	Limit         int
}

func (f ListFilter) bounds() (lo, hi string) {
	return lexBounds("", time.Time{}, time.Time{}, f.StartingAfter, f.EndingBefore)
}

// ListEndpoints returns a page of a merchant's endpoints of one mode,
// newest first.
func (s *Store) ListEndpoints(ctx context.Context, merchantID string, live bool, f ListFilter) ([]*sg.WebhookEndpoint, bool, error) {
	lo, hi := f.bounds()
	load := func(ids []string) ([]*sg.WebhookEndpoint, error) {
		return hashValues(ctx, s.rdb, s.keys.WebhookEndpoints(merchantID), ids, func(b []byte) (*sg.WebhookEndpoint, error) {
			return decodeEndpoint(merchantID, b)
		})
	}
	return page(ctx, s.rdb, s.keys.WebhookEndpointIndex(merchantID, live), lo, hi, f.EndingBefore != "", f.Limit, load, nil)
}

// Endpoints returns every endpoint of a merchant, both modes.
func (s *Store) Endpoints(ctx context.Context, merchantID string) ([]*sg.WebhookEndpoint, error) {
	all, err := s.rdb.HGetAll(ctx, s.keys.WebhookEndpoints(merchantID)).Result()
	if err != nil {
		return nil, fmt.Errorf("get webhook endpoints: %w", err)
	}
	var out []*sg.WebhookEndpoint
	for field, js := range all {
		if strings.HasSuffix(field, ":v") {
			continue
		}
		e, err := decodeEndpoint(merchantID, []byte(js))
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// HintFanout tells the fan-out that merchants' outboxes hold events, behind
// those hinted before. A lost hint only delays the events until the next
// sweep, so a failure is not the caller's: the event is stored either way,
// and a caller that went away does not cancel the hint.
func (s *Store) HintFanout(ctx context.Context, merchantIDs ...string) {
	if len(merchantIDs) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	now := float64(time.Now().UnixMilli()) // an order of service, not a schedule
	zs := make([]redis.Z, len(merchantIDs))
	for i, m := range merchantIDs {
		zs[i] = redis.Z{Score: now, Member: m}
	}
	s.rdb.ZAddNX(ctx, s.keys.WebhookFanout(), zs...)
}

// TakeFanout removes and returns up to n merchants whose outbox may hold
// events, longest waiting first.
func (s *Store) TakeFanout(ctx context.Context, n int) ([]string, error) {
	zs, err := s.rdb.ZPopMin(ctx, s.keys.WebhookFanout(), int64(n)).Result()
	if err != nil {
		return nil, fmt.Errorf("take fan-out: %w", err)
	}
	out := make([]string, len(zs))
	for i, z := range zs {
		out[i], _ = z.Member.(string)
	}
	return out, nil
}

// WaitFanout waits up to timeout for a merchant whose outbox may hold
// events and removes it, returning "" when none came.
func (s *Store) WaitFanout(ctx context.Context, timeout time.Duration) (string, error) {
	z, err := s.rdb.BZPopMin(ctx, timeout, s.keys.WebhookFanout()).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("wait for fan-out: %w", err)
	}
	m, _ := z.Member.(string)
	return m, nil
}

// Outbox returns up to n event ids from the head of a merchant's outbox
// with the events themselves (an id whose event is gone has none).
func (s *Store) Outbox(ctx context.Context, merchantID string, n int) ([]string, map[string]*sg.Event, error) {
	ids, err := s.rdb.LRange(ctx, s.keys.Outbox(merchantID), 0, int64(n)-1).Result()
	if err != nil || len(ids) == 0 {
		return nil, nil, err
	}
	evts, err := hashValues(ctx, s.rdb, s.keys.Events(merchantID), ids, func(b []byte) (*sg.Event, error) {
		return decodeEvent(merchantID, b)
	})
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[string]*sg.Event, len(evts))
	for _, e := range evts {
		byID[e.ID] = e
	}
	return ids, byID, nil
}

// DropOutbox removes event ids from a merchant's outbox once their
// deliveries exist, and hints the fan-out again when more wait. Each id is
// removed by value, so two fan-outs of one merchant racing never drop an
// event the other has not enqueued.
func (s *Store) DropOutbox(ctx context.Context, merchantID string, ids []string) error {
	key := s.keys.Outbox(merchantID)
	var left *redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.LRem(ctx, key, 1, id)
		}
		left = p.LLen(ctx, key)
		return nil
	})
	if err != nil {
		return fmt.Errorf("drop outbox events: %w", err)
	}
	if left.Val() > 0 {
		s.HintFanout(ctx, merchantID)
	}
	return nil
}

// SweepOutboxes hints the fan-out of every merchant with events in its
// outbox, covering hints lost in a crash. It returns how many it found.
func (s *Store) SweepOutboxes(ctx context.Context) (int, error) {
	found := 0
	var cursor uint64
	for {
		ms, next, err := s.rdb.SScan(ctx, s.keys.WebhookMerchants(), cursor, "", 500).Result()
		if err != nil {
			return found, fmt.Errorf("sweep outboxes: %w", err)
		}
		lens := make([]*redis.IntCmd, len(ms))
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, m := range ms {
				lens[i] = p.LLen(ctx, s.keys.Outbox(m))
			}
			return nil
		}); err != nil {
			return found, fmt.Errorf("sweep outboxes: %w", err)
		}
		var waiting []string
		for i, l := range lens {
			if l.Val() > 0 {
				waiting = append(waiting, ms[i])
			}
		}
		found += len(waiting)
		s.HintFanout(ctx, waiting...)
		if cursor = next; cursor == 0 {
			return found, nil
		}
	}
}

// deliveryRecord is a delivery as stored: with the merchant it belongs to.
type deliveryRecord struct {
	*sg.Delivery
	MerchantID string `json:"merchant_id"`
	Redelivery bool   `json:"redelivery,omitempty"`
}

func encodeDelivery(d *sg.Delivery) ([]byte, error) {
	b, err := json.Marshal(deliveryRecord{Delivery: d, MerchantID: d.MerchantID, Redelivery: d.Redelivery})
	if err != nil {
		return nil, fmt.Errorf("encode delivery: %w", err)
	}
	return b, nil
}

func decodeDelivery(b []byte) (*sg.Delivery, error) {
	r := deliveryRecord{Delivery: &sg.Delivery{}}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode delivery: %w", err)
	}
	r.Delivery.MerchantID = r.MerchantID
	r.Delivery.Redelivery = r.Redelivery
	return r.Delivery, nil
}

// Enqueue adds deliveries, each due at now, skipping those that exist. It
// returns how many it added.
func (s *Store) Enqueue(ctx context.Context, ds []*sg.Delivery, now time.Time) (int, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	keys := []string{s.keys.Deliveries(), s.keys.DeliveriesDue()}
	args := []any{now.UnixMilli()}
	for _, d := range ds {
		b, err := encodeDelivery(d)
		if err != nil {
			return 0, err
		}
		keys = append(keys, s.keys.EndpointDeliveries(d.EndpointID), s.keys.EventDeliveries(d.EventID))
		args = append(args, d.ID, b)
	}
	n, err := deliveryEnqueueScript.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return 0, fmt.Errorf("enqueue deliveries: %w", err)
	}
	return n, nil
}

// Lease is a delivery a dispatcher may attempt until the lease ends.
type Lease struct {
	Delivery *sg.Delivery
	Token    string
}

// Claim leases up to n due deliveries for leaseFor, at most perEndpoint in
// flight per endpoint; a due delivery whose endpoint is at its limit is
// parked until the endpoint frees a slot, so it never holds up other
// endpoints' deliveries. Deliveries whose lease ended are due again. more
// reports that further deliveries may be due now. A record that does not
// decode is failed at once rather than leased again and again.
func (s *Store) Claim(ctx context.Context, now time.Time, leaseFor time.Duration, n, perEndpoint int) (ls []Lease, more bool, err error) {
	k := s.keys
	res, err := deliveryClaimScript.Run(ctx, s.rdb, []string{
		k.DeliveriesDue(), k.DeliveriesLeased(), k.DeliveryLeaseTokens(), k.EndpointsInFlight(), k.Deliveries(), k.DeliveryLeaseSeq(),
		k.DeliveriesParked(), k.DeliveriesParkedIndex(),
	}, now.UnixMilli(), leaseFor.Milliseconds(), n, perEndpoint).StringSlice()
	if err != nil {
		return nil, false, fmt.Errorf("claim deliveries: %w", err)
	}
	if len(res) == 0 {
		return nil, false, fmt.Errorf("claim deliveries: empty reply")
	}
	more = res[0] == "1"
	ls = make([]Lease, 0, (len(res)-1)/3)
	for i := 1; i+2 < len(res); i += 3 {
		d, err := decodeDelivery([]byte(res[i+2]))
		if err != nil {
			bad := Lease{Delivery: &sg.Delivery{ID: res[i], EndpointID: sg.PrefixEndpoint + res[i][max(0, len(res[i])-26):]}, Token: res[i+1]}
			if _, err := s.complete(ctx, bad, res[i+2], time.Time{}, now); err != nil {
				return nil, false, fmt.Errorf("fail undecodable delivery %s: %w", res[i], err)
			}
			continue
		}
		ls = append(ls, Lease{Delivery: d, Token: res[i+1]})
	}
	return ls, more, nil
}

// AttemptInput is what an attempt of a leased delivery sends: its endpoint
// and its event's body, each nil when deleted since.
type AttemptInput struct {
	Endpoint *sg.WebhookEndpoint
	Body     []byte
}

// AttemptInputs reads the endpoint and event body of each lease, in one
// round trip for the whole batch.
func (s *Store) AttemptInputs(ctx context.Context, ls []Lease) ([]AttemptInput, error) {
	eps := make([]*redis.StringCmd, len(ls))
	bodies := make([]*redis.StringCmd, len(ls))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, l := range ls {
			eps[i] = p.HGet(ctx, s.keys.WebhookEndpoints(l.Delivery.MerchantID), l.Delivery.EndpointID)
			bodies[i] = p.HGet(ctx, s.keys.Events(l.Delivery.MerchantID), l.Delivery.EventID)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read attempt inputs: %w", err)
	}
	out := make([]AttemptInput, len(ls))
	for i, l := range ls {
		if b, err := eps[i].Bytes(); err == nil {
			if out[i].Endpoint, err = decodeEndpoint(l.Delivery.MerchantID, b); err != nil {
				return nil, err
			}
		}
		if b, err := bodies[i].Bytes(); err == nil {
			out[i].Body = b
		}
	}
	return out, nil
}

// Complete records a leased delivery's new state at now and ends the
// lease; next, when not zero, is when the delivery is due again. unparked
// reports that the slot it freed brought a parked delivery of the endpoint
// back, due now. It fails with conflict "lease_lost" when the lease ended
// and another dispatcher took it over.
func (s *Store) Complete(ctx context.Context, l Lease, next, now time.Time) (unparked bool, err error) {
	b, err := encodeDelivery(l.Delivery)
	if err != nil {
		return false, err
	}
	return s.complete(ctx, l, string(b), next, now)
}

func (s *Store) complete(ctx context.Context, l Lease, js string, next, now time.Time) (bool, error) {
	due := ""
	if !next.IsZero() {
		due = strconv.FormatInt(next.UnixMilli(), 10)
	}
	k := s.keys
	res, err := deliveryCompleteScript.Run(ctx, s.rdb, []string{
		k.DeliveriesDue(), k.DeliveriesLeased(), k.DeliveryLeaseTokens(), k.EndpointsInFlight(), k.Deliveries(),
		k.DeliveriesParked(), k.DeliveriesParkedIndex(),
	}, l.Delivery.ID, l.Token, js, due, l.Delivery.EndpointID, now.UnixMilli()).Int()
	if scriptError(err, "STALE") {
		return false, sg.Errorf(sg.ECONFLICT, "lease_lost", "", "delivery %s was taken over by another dispatcher", l.Delivery.ID)
	}
	if err != nil {
		return false, fmt.Errorf("complete delivery: %w", err)
	}
	return res == 2, nil
}

// Redeliver makes a merchant's delivery pending and due at now, marked as
// asked for by the merchant, and returns it; conflict
// "delivery_in_flight" while an attempt is being made, not_found for
// another merchant's. The record is replaced only if it did not change
// since it was read, so an attempt recorded meanwhile is never lost.
func (s *Store) Redeliver(ctx context.Context, merchantID, id string, now time.Time) (*sg.Delivery, error) {
	k := s.keys
	for range 5 {
		raw, d, err := s.delivery(ctx, merchantID, id)
		if err != nil {
			return nil, err
		}
		d.Status, d.Redelivery, d.NextAttemptAt = sg.DeliveryPending, true, now.Unix()
		b, err := encodeDelivery(d)
		if err != nil {
			return nil, err
		}
		err = deliveryRedeliverScript.Run(ctx, s.rdb, []string{
			k.DeliveriesDue(), k.DeliveryLeaseTokens(), k.Deliveries(), k.DeliveriesParked(), k.DeliveriesParkedIndex(),
		}, id, raw, b, now.UnixMilli()).Err()
		switch {
		case scriptError(err, "CHANGED"):
			continue
		case scriptError(err, "BUSY"):
			return nil, sg.Errorf(sg.ECONFLICT, "delivery_in_flight", "", "an attempt of this delivery is in flight; try again in a moment")
		case scriptError(err, "NOTFOUND"):
			return nil, sg.Errorf(sg.ENOTFOUND, "resource_missing", "delivery_id", "no such delivery")
		case err != nil:
			return nil, fmt.Errorf("redeliver: %w", err)
		}
		return d, nil
	}
	return nil, sg.Errorf(sg.ECONFLICT, "delivery_changed", "", "the delivery kept changing; try again")
}

// Delivery returns a merchant's delivery; not_found for another merchant's.
func (s *Store) Delivery(ctx context.Context, merchantID, id string) (*sg.Delivery, error) {
	_, d, err := s.delivery(ctx, merchantID, id)
	return d, err
}

// delivery returns a merchant's delivery with its record as stored.
func (s *Store) delivery(ctx context.Context, merchantID, id string) (string, *sg.Delivery, error) {
	missing := sg.Errorf(sg.ENOTFOUND, "resource_missing", "delivery_id", "no such delivery")
	if !strings.HasPrefix(id, sg.PrefixDelivery) {
		return "", nil, missing
	}
	raw, err := s.rdb.HGet(ctx, s.keys.Deliveries(), id).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil, missing
	}
	if err != nil {
		return "", nil, fmt.Errorf("get delivery: %w", err)
	}
	d, err := decodeDelivery([]byte(raw))
	if err != nil {
		return "", nil, err
	}
	if d.MerchantID != merchantID {
		return "", nil, missing
	}
	return raw, d, nil
}

// EndpointDeliveries returns a page of an endpoint's deliveries, newest
// first. The caller has checked the endpoint is the merchant's.
func (s *Store) EndpointDeliveries(ctx context.Context, merchantID, endpointID string, f ListFilter) ([]*sg.Delivery, bool, error) {
	return s.deliveries(ctx, merchantID, s.keys.EndpointDeliveries(endpointID), f)
}

// EventDeliveries returns a page of an event's deliveries, newest first.
// The caller has checked the event is the merchant's.
func (s *Store) EventDeliveries(ctx context.Context, merchantID, eventID string, f ListFilter) ([]*sg.Delivery, bool, error) {
	return s.deliveries(ctx, merchantID, s.keys.EventDeliveries(eventID), f)
}

func (s *Store) deliveries(ctx context.Context, merchantID, index string, f ListFilter) ([]*sg.Delivery, bool, error) {
	lo, hi := f.bounds()
	load := func(ids []string) ([]*sg.Delivery, error) {
		return hashValues(ctx, s.rdb, s.keys.Deliveries(), ids, decodeDelivery)
	}
	mine := func(d *sg.Delivery) bool { return d.MerchantID == merchantID }
	return page(ctx, s.rdb, index, lo, hi, f.EndingBefore != "", f.Limit, load, mine)
}
