package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/store/storetest"
)

var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

func wantReason(t testing.TB, err error, code sg.ErrorCode, reason string) {
	t.Helper()
	e := sg.ErrorOf(err)
	if e == nil || e.Code != code || e.Reason != reason {
		t.Fatalf("error = %v, want %s with reason %q", err, code, reason)
	}
}

// putCheckout stores a checkout created at the given time the way the
// checkout service does, with its checkout.created event.
func putCheckout(t testing.TB, st *store.Store, merchantID string, live bool, at time.Time, status sg.CheckoutStatus, orderID string) *sg.Checkout {
	t.Helper()
	c := &sg.Checkout{
		ID: sg.NewID(sg.PrefixCheckout, at), Object: "checkout", Livemode: live, Status: status,
		Price: "49.00", PriceCents: 4900, Currency: "USD", OrderID: orderID, Metadata: map[string]string{},
		Created: at.Unix(), ExpiresAt: at.Add(30 * time.Minute).Unix(), MerchantID: merchantID,
	}
	evt := &sg.Event{ID: sg.NewID(sg.PrefixEvent, at), Object: "event", Type: sg.EventCheckoutCreated,
		Created: at.Unix(), Livemode: live, Data: []byte(`{}`), MerchantID: merchantID}
	if err := st.CreateCheckout(context.Background(), c, evt); err != nil {
		t.Fatalf("CreateCheckout: %v", err)
	}
	if c.Version != 1 {
		t.Fatalf("new checkout version = %d, want 1", c.Version)
	}
	return c
}

func inIndex(t testing.TB, st *store.Store, key, id string) bool {
	t.Helper()
	_, err := st.Client().ZScore(context.Background(), key, id).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		t.Fatalf("read index %s: %v", key, err)
	}
	return err == nil
}

func TestCreateCheckoutTwice(t *testing.T) {
	st := storetest.New(t)
	c := putCheckout(t, st, "mer_a", false, t0, sg.StatusOpen, "")
	dup := *c
	err := st.CreateCheckout(context.Background(), &dup, &sg.Event{ID: sg.NewID(sg.PrefixEvent, t0), Type: sg.EventCheckoutCreated})
	wantReason(t, err, sg.ECONFLICT, "checkout_exists")
}

func TestCheckoutGet(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	c := putCheckout(t, st, "mer_a", false, t0, sg.StatusOpen, "order-1")
	tests := []struct {
		name     string
		merchant string
		id       string
		found    bool
	}{
		{name: "own checkout", merchant: "mer_a", id: c.ID, found: true},
		{name: "another merchant's checkout", merchant: "mer_b", id: c.ID},
		{name: "unknown id", merchant: "mer_a", id: sg.NewID(sg.PrefixCheckout, t0)},
		{name: "id of another type", merchant: "mer_a", id: "evt_" + c.ID[3:]},
		{name: "empty id", merchant: "mer_a", id: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.Checkout(ctx, tt.merchant, tt.id)
			if !tt.found {
				wantReason(t, err, sg.ENOTFOUND, "resource_missing")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != c.ID || got.MerchantID != "mer_a" || got.Version != 1 || got.PriceCents != 4900 || got.OrderID != "order-1" || got.Status != sg.StatusOpen {
				t.Fatalf("Checkout = %+v, want the stored checkout at version 1", got)
			}
		})
	}
}

func TestUpdateCheckoutVersionConflict(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	c := putCheckout(t, st, "mer_a", false, t0, sg.StatusOpen, "")
	k := st.Keys()

	first, err := st.Checkout(ctx, "mer_a", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	second, err := st.Checkout(ctx, "mer_a", c.ID)
	if err != nil {
		t.Fatal(err)
	}

	if err := first.Transition(sg.StatusCanceled, t0); err != nil {
		t.Fatal(err)
	}
	evt := &sg.Event{ID: sg.NewID(sg.PrefixEvent, t0.Add(time.Second)), Object: "event", Type: sg.EventCheckoutCanceled, Data: []byte(`{}`)}
	if err := st.UpdateCheckout(ctx, first, sg.StatusOpen, evt); err != nil {
		t.Fatalf("first writer: %v", err)
	}
	if first.Version != 2 {
		t.Fatalf("version after the first write = %d, want 2", first.Version)
	}

	if err := second.Transition(sg.StatusExpired, t0); err != nil {
		t.Fatal(err)
	}
	err = st.UpdateCheckout(ctx, second, sg.StatusOpen, &sg.Event{ID: sg.NewID(sg.PrefixEvent, t0.Add(2*time.Second)), Type: sg.EventCheckoutExpired, Data: []byte(`{}`)})
	wantReason(t, err, sg.ECONFLICT, "checkout_changed")
	if second.Version != 1 {
		t.Errorf("losing writer's version = %d, want it left at 1", second.Version)
	}

	got, err := st.Checkout(ctx, "mer_a", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != sg.StatusCanceled || got.Version != 2 || got.CanceledAt != t0.Unix() || got.ExpiredAt != 0 {
		t.Fatalf("stored checkout = status %s version %d canceled_at %d expired_at %d, want the first writer's", got.Status, got.Version, got.CanceledAt, got.ExpiredAt)
	}
	if inIndex(t, st, k.CheckoutStatusIndex("mer_a", false, "open"), c.ID) {
		t.Error("checkout still in the open index")
	}
	if !inIndex(t, st, k.CheckoutStatusIndex("mer_a", false, "canceled"), c.ID) {
		t.Error("checkout missing from the canceled index")
	}
	if inIndex(t, st, k.CheckoutStatusIndex("mer_a", false, "expired"), c.ID) {
		t.Error("the losing writer's status index was written")
	}
	evts, _, err := st.ListEvents(ctx, "mer_a", store.EventFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evts {
		types = append(types, e.Type)
	}
	if want := []string{sg.EventCheckoutCanceled, sg.EventCheckoutCreated}; !slices.Equal(types, want) {
		t.Fatalf("events = %v, want %v (the loser's event must not be recorded)", types, want)
	}
}

func TestUpdateCheckoutConcurrentWriters(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	c := putCheckout(t, st, "mer_a", false, t0, sg.StatusOpen, "")
	const writers = 32
	copies := make([]*sg.Checkout, writers)
	for i := range copies {
		cp, err := st.Checkout(ctx, "mer_a", c.ID)
		if err != nil {
			t.Fatal(err)
		}
		cp.Description = fmt.Sprintf("writer %d", i)
		copies[i] = cp
	}
	errs := make([]error, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range copies {
		wg.Go(func() {
			<-start
			errs[i] = st.UpdateCheckout(ctx, copies[i], sg.StatusOpen, nil)
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("writers %d and %d both won", winner, i)
			}
			winner = i
		case sg.HasReason(err, "checkout_changed"):
		default:
			t.Fatalf("writer %d: %v, want nil or checkout_changed", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer won")
	}
	got, err := st.Checkout(ctx, "mer_a", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.Description != fmt.Sprintf("writer %d", winner) {
		t.Fatalf("stored version %d description %q, want 2 and the winner's %q", got.Version, got.Description, fmt.Sprintf("writer %d", winner))
	}
}

func TestUpdateCheckoutMissing(t *testing.T) {
	st := storetest.New(t)
	c := &sg.Checkout{ID: sg.NewID(sg.PrefixCheckout, t0), MerchantID: "mer_a", Status: sg.StatusOpen, Version: 1}
	err := st.UpdateCheckout(context.Background(), c, sg.StatusOpen, nil)
	wantReason(t, err, sg.ENOTFOUND, "resource_missing")
}

func ids(cs []*sg.Checkout) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestListCheckoutsEdges(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	// c[0] is the oldest. Statuses and order ids make the filtered scans
	// walk past non-matching entries.
	var c []*sg.Checkout
	for i := range 10 {
		status := sg.StatusOpen
		if i < 2 {
			status = sg.StatusCanceled
		}
		c = append(c, putCheckout(t, st, "mer_a", false, t0.Add(time.Duration(i)*time.Second), status, "order-A"))
	}
	live := putCheckout(t, st, "mer_a", true, t0.Add(time.Hour), sg.StatusOpen, "order-A")
	other := putCheckout(t, st, "mer_b", false, t0.Add(time.Hour), sg.StatusOpen, "order-A")
	unknown := sg.NewID(sg.PrefixCheckout, t0.Add(4500*time.Millisecond)) // between c[4] and c[5]

	rev := func(xs ...*sg.Checkout) []string {
		out := ids(xs)
		slices.Reverse(out)
		return out
	}
	tests := []struct {
		name     string
		merchant string
		f        store.CheckoutFilter
		want     []string
		hasMore  bool
	}{
		{name: "all in one page", f: store.CheckoutFilter{Limit: 10}, want: rev(c...)},
		{name: "limit one short", f: store.CheckoutFilter{Limit: 9}, want: rev(c[1:]...), hasMore: true},
		{name: "live mode is separate", f: store.CheckoutFilter{Livemode: true, Limit: 10}, want: []string{live.ID}},
		{name: "another merchant", merchant: "mer_b", f: store.CheckoutFilter{Limit: 10}, want: []string{other.ID}},
		{name: "unknown merchant", merchant: "mer_z", f: store.CheckoutFilter{Limit: 10}, want: []string{}},
		{name: "starting_after the oldest", f: store.CheckoutFilter{StartingAfter: c[0].ID, Limit: 10}, want: []string{}},
		{name: "ending_before the newest", f: store.CheckoutFilter{EndingBefore: c[9].ID, Limit: 10}, want: []string{}},
		{name: "starting_after an unknown id", f: store.CheckoutFilter{StartingAfter: unknown, Limit: 2}, want: rev(c[3], c[4]), hasMore: true},
		{name: "ending_before an unknown id", f: store.CheckoutFilter{EndingBefore: unknown, Limit: 2}, want: rev(c[5], c[6]), hasMore: true},
		{name: "ending_before near the top", f: store.CheckoutFilter{EndingBefore: c[7].ID, Limit: 5}, want: rev(c[8], c[9])},
		{name: "status index", f: store.CheckoutFilter{Status: sg.StatusCanceled, Limit: 10}, want: rev(c[0], c[1])},
		{name: "order index filtered by status, past a full scan batch", f: store.CheckoutFilter{OrderID: "order-A", Status: sg.StatusCanceled, Limit: 1}, want: rev(c[1]), hasMore: true},
		{name: "order index filtered by status, last page", f: store.CheckoutFilter{OrderID: "order-A", Status: sg.StatusCanceled, StartingAfter: c[1].ID, Limit: 1}, want: rev(c[0])},
		{name: "order index filtered by status backwards", f: store.CheckoutFilter{OrderID: "order-A", Status: sg.StatusCanceled, EndingBefore: c[0].ID, Limit: 5}, want: rev(c[1])},
		{name: "unknown order id", f: store.CheckoutFilter{OrderID: "order-B", Limit: 10}, want: []string{}},
		{name: "created range", f: store.CheckoutFilter{CreatedGTE: t0.Add(3 * time.Second), CreatedLT: t0.Add(6 * time.Second), Limit: 10}, want: rev(c[3], c[4], c[5])},
		{name: "created range with a cursor inside", f: store.CheckoutFilter{CreatedGTE: t0.Add(3 * time.Second), CreatedLT: t0.Add(6 * time.Second), StartingAfter: c[5].ID, Limit: 1}, want: rev(c[4]), hasMore: true},
		{name: "created range with a cursor above it", f: store.CheckoutFilter{CreatedGTE: t0.Add(3 * time.Second), CreatedLT: t0.Add(6 * time.Second), StartingAfter: c[9].ID, Limit: 10}, want: rev(c[3], c[4], c[5])},
		{name: "empty created range", f: store.CheckoutFilter{CreatedGTE: t0.Add(6 * time.Second), CreatedLT: t0.Add(6 * time.Second), Limit: 10}, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.merchant
			if m == "" {
				m = "mer_a"
			}
			got, more, err := st.ListCheckouts(ctx, m, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if g := ids(got); !slices.Equal(g, tt.want) || more != tt.hasMore {
				t.Fatalf("ListCheckouts = %v has_more %v, want %v has_more %v", g, more, tt.want, tt.hasMore)
			}
		})
	}
}

func TestListEventsFilter(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	a := putCheckout(t, st, "mer_a", false, t0, sg.StatusOpen, "")
	b := putCheckout(t, st, "mer_a", false, t0.Add(time.Second), sg.StatusOpen, "")
	if err := b.Transition(sg.StatusCanceled, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	cancelEvt := &sg.Event{ID: sg.NewID(sg.PrefixEvent, t0.Add(2*time.Second)), Object: "event", Type: sg.EventCheckoutCanceled, Data: []byte(`{}`)}
	if err := st.UpdateCheckout(ctx, b, sg.StatusOpen, cancelEvt); err != nil {
		t.Fatal(err)
	}
	_ = a
	tests := []struct {
		name    string
		f       store.EventFilter
		want    []string
		hasMore bool
	}{
		{name: "all", f: store.EventFilter{Limit: 10}, want: []string{sg.EventCheckoutCanceled, sg.EventCheckoutCreated, sg.EventCheckoutCreated}},
		{name: "by type", f: store.EventFilter{Type: sg.EventCheckoutCanceled, Limit: 10}, want: []string{sg.EventCheckoutCanceled}},
		{name: "paged", f: store.EventFilter{Limit: 2}, want: []string{sg.EventCheckoutCanceled, sg.EventCheckoutCreated}, hasMore: true},
		{name: "live mode has none", f: store.EventFilter{Livemode: true, Limit: 10}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evts, more, err := st.ListEvents(ctx, "mer_a", tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, e := range evts {
				types = append(types, e.Type)
			}
			if !slices.Equal(types, tt.want) || more != tt.hasMore {
				t.Fatalf("ListEvents = %v has_more %v, want %v has_more %v", types, more, tt.want, tt.hasMore)
			}
		})
	}
	if _, err := st.Event(ctx, "mer_b", cancelEvt.ID); sg.ErrorCodeOf(err) != sg.ENOTFOUND {
		t.Fatalf("another merchant's event: %v, want not_found", err)
	}
}

// TestExpirySchedule: a checkout is on its merchant's expiry schedule
// exactly while it is open, and DueExpiries reads every merchant's.
func TestExpirySchedule(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	for _, id := range []string{"mer_a", "mer_b"} {
		if err := st.CreateMerchant(ctx, &sg.Merchant{ID: id, Object: "merchant", Name: id, Settings: sg.DefaultMerchantSettings()}); err != nil {
			t.Fatal(err)
		}
	}
	// Each expires 30 minutes after creation.
	a1 := putCheckout(t, st, "mer_a", false, t0, sg.StatusOpen, "")
	a2 := putCheckout(t, st, "mer_a", true, t0.Add(time.Minute), sg.StatusOpen, "")
	b1 := putCheckout(t, st, "mer_b", false, t0.Add(2*time.Minute), sg.StatusOpen, "")
	due := func(now time.Time, limit int) [][2]string {
		t.Helper()
		got, err := st.DueExpiries(ctx, now, limit)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil {
			got = [][2]string{}
		}
		return got
	}
	update := func(c *sg.Checkout, to sg.CheckoutStatus) {
		t.Helper()
		old := c.Status
		c.Status = to
		if err := st.UpdateCheckout(ctx, c, old, nil); err != nil {
			t.Fatalf("update %s to %s: %v", c.ID, to, err)
		}
	}
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	steps := []struct {
		name   string
		change func()
		now    time.Time
		limit  int
		want   [][2]string
	}{
		{name: "a millisecond before the first", now: at(30).Add(-time.Millisecond), limit: 10, want: [][2]string{}},
		{name: "exactly at the first", now: at(30), limit: 10, want: [][2]string{{"mer_a", a1.ID}}},
		{name: "all three, merchant by merchant", now: at(32), limit: 10, want: [][2]string{{"mer_a", a1.ID}, {"mer_a", a2.ID}, {"mer_b", b1.ID}}},
		{name: "limit", now: at(32), limit: 2, want: [][2]string{{"mer_a", a1.ID}, {"mer_a", a2.ID}}},
		{name: "a canceled checkout leaves the schedule", change: func() { update(b1, sg.StatusCanceled) }, now: at(60), limit: 10,
			want: [][2]string{{"mer_a", a1.ID}, {"mer_a", a2.ID}}},
		{name: "so does a processing one", change: func() { update(a1, sg.StatusProcessing) }, now: at(60), limit: 10,
			want: [][2]string{{"mer_a", a2.ID}}},
		{name: "and it comes back when its payment is reverted", change: func() { update(a1, sg.StatusOpen) }, now: at(60), limit: 10,
			want: [][2]string{{"mer_a", a1.ID}, {"mer_a", a2.ID}}},
		{name: "done", change: func() {
			if err := st.DoneExpiry(ctx, "mer_a", a2.ID); err != nil {
				t.Fatal(err)
			}
		}, now: at(60), limit: 10, want: [][2]string{{"mer_a", a1.ID}}},
	}
	for _, s := range steps {
		if s.change != nil {
			s.change()
		}
		if got := due(s.now, s.limit); !slices.Equal(got, s.want) {
			t.Fatalf("%s: DueExpiries = %v, want %v", s.name, got, s.want)
		}
	}
}
