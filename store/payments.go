package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	sg "github.com/stablegate/stablegate"
)

// Change is one atomic change of a merchant's records: a checkout
// (compare-and-set at its Version), a payment, and the event recording
// them. Any of the three may be nil, but not all.
type Change struct {
	MerchantID string
	Livemode   bool
	Checkout   *sg.Checkout
	OldStatus  sg.CheckoutStatus // the checkout's status when it was read
	Payment    *sg.Payment
	// PaymentWas, when set, is the payment's state when it was read: the
	// change is made only if the stored payment still has it, so that two
	// writers deciding from one reading (two confirmations, a confirmation
	// and a revert, two attaches) make one change, not two.
	PaymentWas *PaymentState
	// Event records the change; one without Data gets the checkout as
	// written by this change.
	Event *sg.Event
}

// PaymentState is what decides a stored payment's next change: its status
// and the checkout it names.
type PaymentState struct {
	Status     sg.PaymentStatus
	CheckoutID string
}

// StateOf returns p's state; take it before changing p.
func StateOf(p *sg.Payment) *PaymentState {
	return &PaymentState{Status: p.Status, CheckoutID: p.CheckoutID}
}

// TransferKey names a transfer inside a merchant's payments.
func TransferKey(chain, txHash string, logIndex uint) string {
	return chain + ":" + strings.ToLower(txHash) + ":" + strconv.FormatUint(uint64(logIndex), 10)
}

// Apply makes ch in one step. It fails with conflict "checkout_changed"
// when the checkout moved on since it was read, not_found when it is gone,
// conflict "payment_changed" when the payment is no longer as PaymentWas
// says, conflict "transfer_recorded" when another payment holds the
// transfer, and conflict "payment_already_attached" when the payment pays
// another checkout already.
func (s *Store) Apply(ctx context.Context, ch Change) error {
	errs, err := s.ApplyMany(ctx, []Change{ch})
	if err != nil {
		return err
	}
	return errs[0]
}

// maxApplyBatch bounds the changes made by one run of the apply script, so
// that one run holds Redis for a few milliseconds at most.
const maxApplyBatch = 200

// ApplyMany makes each change like Apply, all in one round trip, and
// returns one error (or nil) per change. The changes are independent: one
// failing leaves the others made. Changes of one merchant and mode are made
// in order by one script run per maxApplyBatch of them, so a later change
// sees what an earlier one wrote.
func (s *Store) ApplyMany(ctx context.Context, chs []Change) ([]error, error) {
	errs := make([]error, len(chs))
	type run struct {
		idx  []int // the changes it makes, in order
		keys []string
		args []any
		cmd  *redis.Cmd
	}
	var runs []*run
	taking := map[string]*run{} // the run still taking changes, per merchant and mode
	for i, ch := range chs {
		group := mode(ch.Livemode) + ":" + ch.MerchantID
		r := taking[group]
		if r == nil || len(r.idx) == maxApplyBatch {
			r = &run{keys: s.applyKeys(ch), args: []any{0}}
			taking[group] = r
			runs = append(runs, r)
		}
		keys, args, err := s.applyArgs(ch)
		if err != nil {
			errs[i] = err
			continue
		}
		r.idx = append(r.idx, i)
		r.keys = append(r.keys, keys...)
		r.args = append(r.args, args...)
		r.args[0] = len(r.idx)
	}
	send := func(rs []*run) error {
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, r := range rs {
				r.cmd = applyScript.EvalSha(ctx, p, r.keys, r.args...)
			}
			return nil
		})
		if err != nil && !isReply(err) {
			return fmt.Errorf("apply changes: %w", err)
		}
		return nil
	}
	runs = slices.DeleteFunc(runs, func(r *run) bool { return len(r.idx) == 0 })
	if err := send(runs); err != nil {
		return nil, err
	}
	// Redis lost its script cache (a restart, a failover): a run refused
	// with NOSCRIPT made nothing, so it is sent again.
	missing := slices.DeleteFunc(slices.Clone(runs), func(r *run) bool { return !redis.HasErrorPrefix(r.cmd.Err(), "NOSCRIPT") })
	if len(missing) > 0 {
		if err := applyScript.Load(ctx, s.rdb).Err(); err != nil {
			return nil, fmt.Errorf("load apply script: %w", err)
		}
		if err := send(missing); err != nil {
			return nil, err
		}
	}
	var outbox []string
	for _, r := range runs {
		res, err := r.cmd.Slice()
		if err != nil || len(res) != len(r.idx)+1 {
			if err == nil {
				err = fmt.Errorf("%d results for %d changes", len(res), len(r.idx))
			}
			for _, i := range r.idx {
				errs[i] = fmt.Errorf("apply change: %w", err)
			}
			continue
		}
		for j, i := range r.idx {
			errs[i] = applyResult(chs[i], res[j])
		}
		if res[len(r.idx)] == int64(1) && !slices.Contains(outbox, chs[r.idx[0]].MerchantID) {
			outbox = append(outbox, chs[r.idx[0]].MerchantID)
		}
	}
	s.HintFanout(ctx, outbox...)
	return errs, nil
}

// isReply reports whether err is an error reply of Redis to one command,
// which that command reports by itself, rather than a failure of the
// connection.
func isReply(err error) bool {
	var reply redis.Error
	return errors.As(err, &reply)
}

// applyKeys returns the merchant-wide keys of the apply script for the
// merchant and mode of ch.
func (s *Store) applyKeys(ch Change) []string {
	k := s.keys
	m := ch.MerchantID
	return []string{
		k.Expiries(m), k.Events(m), k.EventIndex(m, ch.Livemode),
		k.Payments(m), k.PaymentsByTransfer(m), k.PaymentIndex(m, ch.Livemode), k.UnmatchedIndex(m, ch.Livemode),
		k.PaymentCheckouts(m), k.WebhookEndpointIndex(m, ch.Livemode), k.Outbox(m),
	}
}

// applyArgs returns the apply script's keys and arguments of one change.
func (s *Store) applyArgs(ch Change) ([]string, []any, error) {
	k := s.keys
	m := ch.MerchantID
	args := make([]any, 14)
	keys := []string{k.Checkout(m, ""), k.CheckoutStatusIndex(m, ch.Livemode, ""), k.CheckoutStatusIndex(m, ch.Livemode, ""), k.EventTypeIndex(m, ch.Livemode, "")}
	args[0], args[1], args[2], args[3], args[4], args[5] = "0", "0", "", "", "", "0"
	var checkoutJSON []byte
	if c := ch.Checkout; c != nil {
		checkoutJSON = encodeCheckout(c)
		keys[0] = k.Checkout(m, c.ID)
		keys[1] = k.CheckoutStatusIndex(m, c.Livemode, string(ch.OldStatus))
		keys[2] = k.CheckoutStatusIndex(m, c.Livemode, string(c.Status))
		args[0], args[1], args[2], args[3], args[4], args[5] = "1", c.Version, checkoutJSON, c.ID, string(c.Status), c.ExpiresAt*1000
	}
	args[6], args[7] = "", ""
	if e := ch.Event; e != nil {
		data := e.Data
		if data == nil {
			data = checkoutJSON
		}
		if data == nil {
			return nil, nil, fmt.Errorf("encode event %s: no data and no checkout", e.Type)
		}
		args[6], args[7] = e.ID, sg.EncodeEvent(e, data)
		keys[3] = k.EventTypeIndex(m, e.Livemode, e.Type)
	}
	args[8], args[9], args[10], args[11], args[12], args[13] = "", "", "", "0", "", ""
	if p := ch.Payment; p != nil {
		// A reverted payment pays no checkout, though it names the one it
		// paid: mined again, it may pay another.
		unmatched, pays := "0", p.CheckoutID
		switch {
		case p.Status == sg.PaymentReverted:
			pays = ""
		case p.CheckoutID == "":
			unmatched = "1"
		}
		args[8], args[9], args[10], args[11], args[12] = p.ID, p.AppendJSON(nil), TransferKey(p.Chain, p.TxHash, p.LogIndex), unmatched, pays
		if w := ch.PaymentWas; w != nil {
			args[13] = string(w.Status) + "/" + w.CheckoutID
		}
	}
	return keys, args, nil
}

// applyResult reads the apply script's result for ch: its checkout's new
// version, or the reason it was refused.
func applyResult(ch Change, res any) error {
	switch v := res.(type) {
	case int64:
		if ch.Checkout != nil {
			ch.Checkout.Version = v
		}
		return nil
	case string:
		switch v {
		case "NOTFOUND":
			return sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such checkout")
		case "VERSION":
			return sg.Errorf(sg.ECONFLICT, "checkout_changed", "", "checkout changed concurrently")
		case "PAYMENT":
			return sg.Errorf(sg.ECONFLICT, "payment_changed", "", "payment changed concurrently")
		case "TRANSFER":
			return sg.Errorf(sg.ECONFLICT, "transfer_recorded", "", "this transfer is already recorded as another payment")
		case "ATTACHED":
			return sg.Errorf(sg.ECONFLICT, "payment_already_attached", "", "the payment is already applied to another checkout")
		}
	}
	return fmt.Errorf("apply change: unexpected result %v", res)
}

func decodePayment(merchantID string, b []byte) (*sg.Payment, error) {
	var p sg.Payment
	if err := decodePaymentJSON(b, &p); err != nil {
		return nil, fmt.Errorf("decode payment: %w", err)
	}
	p.MerchantID = merchantID
	return &p, nil
}

// Payment returns one payment of a merchant; not_found for another's.
func (s *Store) Payment(ctx context.Context, merchantID, id string) (*sg.Payment, error) {
	b, err := s.rdb.HGet(ctx, s.keys.Payments(merchantID), id).Bytes()
	if err != nil {
		return nil, notFound(err, "payment")
	}
	return decodePayment(merchantID, b)
}

// PaymentByTransfer returns the merchant's payment for a transfer, or
// not_found when the transfer was never recorded.
func (s *Store) PaymentByTransfer(ctx context.Context, merchantID, chain, txHash string, logIndex uint) (*sg.Payment, error) {
	id, err := s.rdb.HGet(ctx, s.keys.PaymentsByTransfer(merchantID), TransferKey(chain, txHash, logIndex)).Result()
	if err != nil {
		return nil, notFound(err, "payment")
	}
	return s.Payment(ctx, merchantID, id)
}

// PaymentFilter narrows a payment list.
type PaymentFilter struct {
	Livemode      bool
	Unmatched     bool
	CreatedGTE    time.Time
	CreatedLT     time.Time
	StartingAfter string
	EndingBefore  string
	Limit         int
}

// ListPayments returns a page of a merchant's payments, newest first.
func (s *Store) ListPayments(ctx context.Context, merchantID string, f PaymentFilter) ([]*sg.Payment, bool, error) {
	index := s.keys.PaymentIndex(merchantID, f.Livemode)
	if f.Unmatched {
		index = s.keys.UnmatchedIndex(merchantID, f.Livemode)
	}
	lo, hi := lexBounds(sg.PrefixPayment, f.CreatedGTE, f.CreatedLT, f.StartingAfter, f.EndingBefore)
	load := func(ids []string) ([]*sg.Payment, error) {
		return hashValues(ctx, s.rdb, s.keys.Payments(merchantID), ids, func(b []byte) (*sg.Payment, error) { return decodePayment(merchantID, b) })
	}
	return page(ctx, s.rdb, index, lo, hi, f.EndingBefore != "", f.Limit, load, nil)
}

// PendingRef names a payment waiting for finality on a chain.
type PendingRef struct {
	MerchantID string
	PaymentID  string
	Block      uint64
}

// AddPending lists a payment as waiting for finality at a block height.
func (s *Store) AddPending(ctx context.Context, chain string, ref PendingRef) error {
	return s.AddPendingMany(ctx, chain, []PendingRef{ref})
}

// PendingBetween returns up to limit pending payments of a chain with block
// heights in [from, to].
func (s *Store) PendingBetween(ctx context.Context, chain string, from, to uint64, offset, limit int) ([]PendingRef, error) {
	zs, err := s.rdb.ZRangeByScoreWithScores(ctx, s.keys.Pending(chain), &redis.ZRangeBy{
		Min: strconv.FormatUint(from, 10), Max: strconv.FormatUint(to, 10), Offset: int64(offset), Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("list pending payments: %w", err)
	}
	out := make([]PendingRef, 0, len(zs))
	for _, z := range zs {
		member, _ := z.Member.(string)
		m, id, ok := strings.Cut(member, "/")
		if ok {
			out = append(out, PendingRef{MerchantID: m, PaymentID: id, Block: uint64(z.Score)})
		}
	}
	return out, nil
}

// RemovePending drops a payment from a chain's pending list.
func (s *Store) RemovePending(ctx context.Context, chain string, ref PendingRef) error {
	if err := s.rdb.ZRem(ctx, s.keys.Pending(chain), ref.MerchantID+"/"+ref.PaymentID).Err(); err != nil {
		return fmt.Errorf("remove pending payment: %w", err)
	}
	return nil
}
