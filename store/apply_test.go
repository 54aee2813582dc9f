package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/store/storetest"
)

// newPayment is a pending payment of a transfer to merchantID on a test
// chain, applied to checkoutID ("" for none).
func newPayment(merchantID, tx, checkoutID string) *sg.Payment {
	return &sg.Payment{
		ID: sg.NewID(sg.PrefixPayment, t0), Object: "payment", Status: sg.PaymentPending,
		Chain: "devnet", Token: "USDC", Contract: "0xc0", Decimals: 6, TxHash: tx, BlockNumber: 7,
		BlockHash: "0xb7", BlockTime: t0.Unix(), From: "0xf", To: "0xa", Amount: big.NewInt(49_000_120),
		CheckoutID: checkoutID, Created: t0.Unix(), MerchantID: merchantID,
	}
}

// moved returns a copy of c in status to, as a writer that read c would
// write it.
func moved(c *sg.Checkout, to sg.CheckoutStatus) *sg.Checkout {
	n := *c
	n.Status = to
	return &n
}

func newEvent(merchantID, typ string) *sg.Event {
	return &sg.Event{ID: sg.NewID(sg.PrefixEvent, t0.Add(time.Second)), Object: "event", Type: typ, Created: t0.Unix(), MerchantID: merchantID}
}

// tableChange is a change of a table test and the outcome it wants.
type tableChange struct {
	name string
	ch   store.Change
	want string // "" when made, else the refusal's reason
}

// applyTable makes the changes in one ApplyMany call, checks each outcome,
// and returns the changes as made.
func applyTable(t *testing.T, st *store.Store, changes []tableChange) []store.Change {
	t.Helper()
	chs := make([]store.Change, len(changes))
	for i, c := range changes {
		chs[i] = c.ch
	}
	errs, err := st.ApplyMany(context.Background(), chs)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range changes {
		if c.want == "" {
			if errs[i] != nil {
				t.Errorf("%s: %v, want it made", c.name, errs[i])
			}
			continue
		}
		wantReason(t, errs[i], sg.ECONFLICT, c.want)
	}
	return chs
}

// TestApplyManyInOneRun: the changes of one merchant and mode are made by
// one script run, in order, each checked against what the ones before it
// wrote, and one refused change leaves the others made.
func TestApplyManyInOneRun(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	k := st.Keys()
	a := putCheckout(t, st, "mer_a", false, t0, sg.StatusOpen, "")
	b := putCheckout(t, st, "mer_a", false, t0.Add(time.Second), sg.StatusOpen, "")
	other := putCheckout(t, st, "mer_b", false, t0, sg.StatusOpen, "")

	p1 := newPayment("mer_a", "0x01", a.ID)
	p2 := newPayment("mer_a", "0x02", a.ID)
	p3 := newPayment("mer_a", "0x01", "") // the transfer p1 records
	p4 := newPayment("mer_a", "0x04", "")
	p5 := newPayment("mer_b", "0x05", other.ID)
	p1again := *p1
	p1again.CheckoutID = b.ID
	processing := newEvent("mer_a", sg.EventCheckoutProcessing)
	canceled := newEvent("mer_a", sg.EventCheckoutCanceled)
	changes := []tableChange{
		{"a payment moves a to processing", store.Change{MerchantID: "mer_a", Checkout: moved(a, sg.StatusProcessing), OldStatus: sg.StatusOpen, Payment: p1, Event: processing}, ""},
		{"a second writer read a before the first", store.Change{MerchantID: "mer_a", Checkout: moved(a, sg.StatusProcessing), OldStatus: sg.StatusOpen, Payment: p2}, "checkout_changed"},
		{"another payment of p1's transfer", store.Change{MerchantID: "mer_a", Payment: p3}, "transfer_recorded"},
		{"p1 applied to b too", store.Change{MerchantID: "mer_a", Checkout: moved(b, sg.StatusProcessing), OldStatus: sg.StatusOpen, Payment: &p1again}, "payment_already_attached"},
		{"b canceled", store.Change{MerchantID: "mer_a", Checkout: moved(b, sg.StatusCanceled), OldStatus: sg.StatusOpen, Event: canceled}, ""},
		{"an unmatched payment", store.Change{MerchantID: "mer_a", Payment: p4}, ""},
		{"another merchant's payment", store.Change{MerchantID: "mer_b", Checkout: moved(other, sg.StatusProcessing), OldStatus: sg.StatusOpen, Payment: p5}, ""},
	}
	chs := applyTable(t, st, changes)
	if chs[0].Checkout.Version != 2 || chs[4].Checkout.Version != 2 || chs[1].Checkout.Version != 1 {
		t.Errorf("versions after the run: a %d, b %d, the losing writer's %d; want 2, 2 and 1 left alone",
			chs[0].Checkout.Version, chs[4].Checkout.Version, chs[1].Checkout.Version)
	}

	for _, c := range []struct {
		merchant, id string
		status       sg.CheckoutStatus
	}{{"mer_a", a.ID, sg.StatusProcessing}, {"mer_a", b.ID, sg.StatusCanceled}, {"mer_b", other.ID, sg.StatusProcessing}} {
		got, err := st.Checkout(ctx, c.merchant, c.id)
		if err != nil || got.Status != c.status {
			t.Fatalf("checkout %s: %v %v, want %s", c.id, got, err, c.status)
		}
	}
	gotPayments := map[string]bool{}
	for _, p := range []*sg.Payment{p1, p2, p3, p4} {
		_, err := st.Payment(ctx, "mer_a", p.ID)
		gotPayments[p.ID] = err == nil
	}
	if !gotPayments[p1.ID] || gotPayments[p2.ID] || gotPayments[p3.ID] || !gotPayments[p4.ID] {
		t.Errorf("stored payments p1..p4 = %v %v %v %v, want only p1 and p4", gotPayments[p1.ID], gotPayments[p2.ID], gotPayments[p3.ID], gotPayments[p4.ID])
	}
	if p, err := st.PaymentByTransfer(ctx, "mer_a", "devnet", "0x01", 0); err != nil || p.ID != p1.ID || p.CheckoutID != a.ID {
		t.Errorf("payment of transfer 0x01 = %v %v, want p1 applied to a", p, err)
	}
	unmatched, _, err := st.ListPayments(ctx, "mer_a", store.PaymentFilter{Unmatched: true, Limit: 10})
	if err != nil || len(unmatched) != 1 || unmatched[0].ID != p4.ID {
		t.Errorf("unmatched payments = %v %v, want p4 alone", unmatched, err)
	}
	for _, c := range []struct {
		key, id string
		in      bool
	}{
		{k.CheckoutStatusIndex("mer_a", false, "processing"), a.ID, true},
		{k.CheckoutStatusIndex("mer_a", false, "open"), a.ID, false},
		{k.Expiries("mer_a"), a.ID, false},
		{k.Expiries("mer_a"), b.ID, false},
		{k.CheckoutStatusIndex("mer_a", false, "canceled"), b.ID, true},
		{k.CheckoutStatusIndex("mer_a", false, "open"), b.ID, false},
		{k.CheckoutStatusIndex("mer_a", false, "processing"), b.ID, false},
		{k.EventTypeIndex("mer_a", false, sg.EventCheckoutProcessing), processing.ID, true},
		{k.EventTypeIndex("mer_a", false, sg.EventCheckoutCanceled), canceled.ID, true},
		{k.CheckoutStatusIndex("mer_b", false, "processing"), other.ID, true},
	} {
		if got := inIndex(t, st, c.key, c.id); got != c.in {
			t.Errorf("%s in %s: %v, want %v", c.id, c.key, got, c.in)
		}
	}
	evt, err := st.Event(ctx, "mer_a", processing.ID)
	if err != nil {
		t.Fatal(err)
	}
	var data sg.Checkout
	if err := json.Unmarshal(evt.Data, &data); err != nil || data.ID != a.ID || data.Status != sg.StatusProcessing {
		t.Errorf("checkout.processing data = %s (%v), want a as written", evt.Data, err)
	}

}

// TestApplyManyNetMove: a run that changes a checkout more than once (each
// change at the version the one before wrote) leaves it in the status index
// and on the expiry schedule as its last change says.
func TestApplyManyNetMove(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	k := st.Keys()
	paid := putCheckout(t, st, "mer_a", false, t0, sg.StatusOpen, "")
	reopened := putCheckout(t, st, "mer_a", false, t0, sg.StatusOpen, "")
	chain := func(c *sg.Checkout, statuses ...sg.CheckoutStatus) []store.Change {
		var chs []store.Change
		old := c.Status
		for i, to := range statuses {
			n := moved(c, to)
			n.Version = int64(1 + i)
			chs = append(chs, store.Change{MerchantID: "mer_a", Checkout: n, OldStatus: old})
			old = to
		}
		return chs
	}
	// One confirmed in the same range it was seen in; the other's payment
	// reverted in the same range.
	chs := append(chain(paid, sg.StatusProcessing, sg.StatusPaid), chain(reopened, sg.StatusProcessing, sg.StatusOpen)...)
	errs, err := st.ApplyMany(ctx, chs)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
	}
	for _, c := range []struct {
		key, id string
		in      bool
	}{
		{k.CheckoutStatusIndex("mer_a", false, "paid"), paid.ID, true},
		{k.CheckoutStatusIndex("mer_a", false, "processing"), paid.ID, false},
		{k.CheckoutStatusIndex("mer_a", false, "open"), paid.ID, false},
		{k.Expiries("mer_a"), paid.ID, false},
		{k.CheckoutStatusIndex("mer_a", false, "open"), reopened.ID, true},
		{k.CheckoutStatusIndex("mer_a", false, "processing"), reopened.ID, false},
		{k.Expiries("mer_a"), reopened.ID, true},
	} {
		if got := inIndex(t, st, c.key, c.id); got != c.in {
			t.Errorf("%s in %s: %v, want %v", c.id, c.key, got, c.in)
		}
	}
	if got, err := st.Checkout(ctx, "mer_a", paid.ID); err != nil || got.Version != 3 || got.Status != sg.StatusPaid {
		t.Errorf("checkout = %v %v, want paid at version 3", got, err)
	}
}

// TestApplyManyAfterScriptFlush: a Redis that lost its script cache (a
// restart, a failover) gets the apply script again, and each change is
// made once.
func TestApplyManyAfterScriptFlush(t *testing.T) {
	st := storetest.NewPrivate(t) // no other test loads the script meanwhile
	ctx := context.Background()
	c := putCheckout(t, st, "mer_a", false, t0, sg.StatusOpen, "")
	p := newPayment("mer_a", "0x01", c.ID)
	evt := newEvent("mer_a", sg.EventCheckoutProcessing)
	if err := st.Client().ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := st.Apply(ctx, store.Change{MerchantID: "mer_a", Checkout: moved(c, sg.StatusProcessing), OldStatus: sg.StatusOpen, Payment: p, Event: evt}); err != nil {
		t.Fatalf("Apply after the flush: %v", err)
	}
	got, err := st.Checkout(ctx, "mer_a", c.ID)
	if err != nil || got.Version != 2 {
		t.Fatalf("checkout after the flush = %v %v, want version 2: changed once", got, err)
	}
	evts, _, err := st.ListEvents(ctx, "mer_a", store.EventFilter{Type: sg.EventCheckoutProcessing, Limit: 10})
	if err != nil || len(evts) != 1 || !slices.ContainsFunc(evts, func(e *sg.Event) bool { return e.ID == evt.ID }) {
		t.Fatalf("checkout.processing events = %v %v, want the one", evts, err)
	}
}

// TestApplyManyAcrossRuns: more changes than one script run takes are made
// by several runs in order, a later run seeing what an earlier one wrote,
// also when Redis has lost its script cache and every run is sent again.
func TestApplyManyAcrossRuns(t *testing.T) {
	st := storetest.NewPrivate(t) // no other test loads the script meanwhile
	ctx := context.Background()
	if err := st.Client().ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	var chs []store.Change
	for i := range 250 {
		tx := fmt.Sprintf("0x%03x", i)
		if i == 230 {
			tx = "0x000" // the transfer of change 0, in the second run
		}
		chs = append(chs, store.Change{MerchantID: "mer_a", Payment: newPayment("mer_a", tx, "")})
	}
	chs = append(chs, store.Change{MerchantID: "mer_b", Payment: newPayment("mer_b", "0x000", "")})
	errs, err := st.ApplyMany(ctx, chs)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if i == 230 {
			wantReason(t, err, sg.ECONFLICT, "transfer_recorded")
		} else if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
	}
	for m, want := range map[string]int64{"mer_a": 249, "mer_b": 1} {
		if n, err := st.Client().HLen(ctx, st.Keys().Payments(m)).Result(); err != nil || n != want {
			t.Errorf("%s has %d payments (%v), want %d", m, n, err, want)
		}
	}
}

// TestApplyPaymentWas: a change that carries the payment's state as it was
// read is made only while the stored payment still has it, also when an
// earlier change of the same run moved it on, so two writers deciding from
// one reading make one change.
func TestApplyPaymentWas(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	c := putCheckout(t, st, "mer_a", false, t0, sg.StatusOpen, "")
	p := newPayment("mer_a", "0x01", "")
	if err := st.Apply(ctx, store.Change{MerchantID: "mer_a", Payment: p}); err != nil {
		t.Fatal(err)
	}
	read := store.StateOf(p) // pending, no checkout
	confirmed := func(checkoutID string) *sg.Payment {
		q := *p
		q.Status, q.CheckoutID = sg.PaymentConfirmed, checkoutID
		return &q
	}
	changes := []tableChange{
		{"confirmed as read", store.Change{MerchantID: "mer_a", Payment: confirmed(""), PaymentWas: read}, ""},
		{"confirmed again from the same reading", store.Change{MerchantID: "mer_a", Payment: confirmed(""), PaymentWas: read}, "payment_changed"},
		{"attached as the confirmation left it", store.Change{MerchantID: "mer_a", Checkout: moved(c, sg.StatusPaid), OldStatus: sg.StatusOpen, Payment: confirmed(c.ID),
			PaymentWas: &store.PaymentState{Status: sg.PaymentConfirmed}}, ""},
		{"attached again from the same reading", store.Change{MerchantID: "mer_a", Payment: confirmed(c.ID),
			PaymentWas: &store.PaymentState{Status: sg.PaymentConfirmed}}, "payment_changed"},
		{"a payment never stored", store.Change{MerchantID: "mer_a", Payment: newPayment("mer_a", "0x02", ""), PaymentWas: read}, "payment_changed"},
		{"no state given: written as it is", store.Change{MerchantID: "mer_a", Payment: newPayment("mer_a", "0x03", "")}, ""},
	}
	applyTable(t, st, changes)
	got, err := st.Payment(ctx, "mer_a", p.ID)
	if err != nil || got.Status != sg.PaymentConfirmed || got.CheckoutID != c.ID {
		t.Fatalf("payment = %+v %v, want confirmed and attached to %s", got, err, c.ID)
	}
	err = st.Apply(ctx, store.Change{MerchantID: "mer_a", Payment: confirmed(""), PaymentWas: read})
	wantReason(t, err, sg.ECONFLICT, "payment_changed")
}

// TestApplyRevertFreesPayment: a reverted payment pays no checkout any
// more, so mined again it can pay another one, whether it was reverted in
// an earlier run or in the same one, and also when it was reverted before
// reverts freed payments.
func TestApplyRevertFreesPayment(t *testing.T) {
	tests := []struct {
		name string
		// chs are the changes after p paid a: the revert and the ones
		// after it, by the checkouts a and b as they are then, p, and p as
		// reverted.
		chs func(a, b *sg.Checkout, p, reverted *sg.Payment) [][]store.Change
		// legacy: after the revert, the payment is left listed as paying
		// a, as versions before reverts freed payments left it
		legacy bool
		pays   string // "a", "b" or "" for none
	}{
		{
			name: "reverted, then paying b in another run",
			chs: func(a, b *sg.Checkout, p, reverted *sg.Payment) [][]store.Change {
				return [][]store.Change{{revertOf(a, p, reverted)}, {payOf(b, reverted)}}
			},
			pays: "b",
		},
		{
			name: "reverted and paying b in one run",
			chs: func(a, b *sg.Checkout, p, reverted *sg.Payment) [][]store.Change {
				return [][]store.Change{{revertOf(a, p, reverted), payOf(b, reverted)}}
			},
			pays: "b",
		},
		{
			name: "reverted by an older version, which left it paying a",
			chs: func(a, b *sg.Checkout, p, reverted *sg.Payment) [][]store.Change {
				return [][]store.Change{{revertOf(a, p, reverted)}, {payOf(b, reverted)}}
			},
			legacy: true, pays: "b",
		},
		{
			name: "reverted by an older version, then mined again unmatched",
			chs: func(a, b *sg.Checkout, p, reverted *sg.Payment) [][]store.Change {
				again := *reverted
				again.Status, again.CheckoutID = sg.PaymentPending, ""
				return [][]store.Change{{revertOf(a, p, reverted)}, {{MerchantID: "mer_a", Payment: &again, PaymentWas: store.StateOf(reverted)}}}
			},
			legacy: true, pays: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := storetest.New(t)
			ctx := context.Background()
			a := putCheckout(t, st, "mer_a", false, t0, sg.StatusOpen, "")
			b := putCheckout(t, st, "mer_a", false, t0.Add(time.Second), sg.StatusOpen, "")
			p := newPayment("mer_a", "0x01", a.ID)
			if err := st.Apply(ctx, store.Change{MerchantID: "mer_a", Checkout: moved(a, sg.StatusProcessing), OldStatus: sg.StatusOpen, Payment: p}); err != nil {
				t.Fatal(err)
			}
			toB := *p
			toB.CheckoutID = b.ID
			err := st.Apply(ctx, store.Change{MerchantID: "mer_a", Payment: &toB})
			wantReason(t, err, sg.ECONFLICT, "payment_already_attached")

			a.Version = 2 // as the first change left it
			reverted := *p
			reverted.Status = sg.PaymentReverted // still naming a, which it paid
			for i, run := range tt.chs(a, b, p, &reverted) {
				errs, err := st.ApplyMany(ctx, run)
				if err != nil {
					t.Fatal(err)
				}
				if err := errors.Join(errs...); err != nil {
					t.Fatalf("run %d: %v", i, err)
				}
				if i == 0 && tt.legacy {
					if err := st.Client().HSet(ctx, st.Keys().PaymentCheckouts("mer_a"), p.ID, a.ID).Err(); err != nil {
						t.Fatal(err)
					}
				}
			}
			want := map[string]string{"a": a.ID, "b": b.ID}[tt.pays]
			co, err := st.Client().HGet(ctx, st.Keys().PaymentCheckouts("mer_a"), p.ID).Result()
			if errors.Is(err, redis.Nil) {
				err = nil
			}
			if err != nil || co != want {
				t.Fatalf("payment pays %q (%v), want %q", co, err, want)
			}
		})
	}
}

// revertOf is the revert of payment p, which moved checkout a (as it is
// now) to processing: a goes back to open, p is reverted.
func revertOf(a *sg.Checkout, p, reverted *sg.Payment) store.Change {
	return store.Change{MerchantID: "mer_a", Checkout: moved(a, sg.StatusOpen), OldStatus: sg.StatusProcessing, Payment: reverted, PaymentWas: store.StateOf(p)}
}

// payOf is the reverted payment mined again and paying checkout b.
func payOf(b *sg.Checkout, reverted *sg.Payment) store.Change {
	again := *reverted
	again.Status, again.CheckoutID = sg.PaymentPending, b.ID
	return store.Change{MerchantID: "mer_a", Checkout: moved(b, sg.StatusProcessing), OldStatus: sg.StatusOpen, Payment: &again}
}
