package store_test

import (
	"context"
	"testing"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/store/storetest"
)

func TestCheckoutByID(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := context.Background()
	a := putCheckout(t, st, "mer_a", false, t0, sg.StatusOpen, "")
	b := putCheckout(t, st, "mer_b", true, t0, sg.StatusOpen, "")
	for _, want := range []*sg.Checkout{a, b} {
		got, err := st.CheckoutByID(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != want.ID || got.MerchantID != want.MerchantID || got.Version != 1 || got.Livemode != want.Livemode {
			t.Fatalf("CheckoutByID(%s) = %+v, want the checkout of %s", want.ID, got, want.MerchantID)
		}
	}
	for _, id := range []string{"", "co_nope", sg.NewID(sg.PrefixCheckout, t0), "pay_" + a.ID[3:], a.ID + "x"} {
		_, err := st.CheckoutByID(ctx, id)
		wantReason(t, err, sg.ENOTFOUND, "resource_missing")
	}
	// The id is claimed once: the same id for another merchant is refused.
	dup := *a
	dup.MerchantID = "mer_c"
	evt := &sg.Event{ID: sg.NewID(sg.PrefixEvent, t0), Object: "event", Type: sg.EventCheckoutCreated, Created: t0.Unix(), Data: []byte(`{}`), MerchantID: "mer_c"}
	wantReason(t, st.CreateCheckout(ctx, &dup, evt), sg.ECONFLICT, "checkout_exists")
	if got, err := st.CheckoutByID(ctx, a.ID); err != nil || got.MerchantID != "mer_a" {
		t.Fatalf("after the refused duplicate: %v, %v", got, err)
	}
	if _, err := st.Checkout(ctx, "mer_c", a.ID); !sg.IsCode(err, sg.ENOTFOUND) {
		t.Fatalf("the refused duplicate was stored: %v", err)
	}
}

func TestChainHead(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := context.Background()
	if h, ok, err := st.ChainHead(ctx, "base"); err != nil || ok || h != 0 {
		t.Fatalf("ChainHead before any scan = %d, %v, %v", h, ok, err)
	}
	if err := st.Client().HSet(ctx, st.Keys().WatchCursor("base"), "height", "1234", "hash", "0x01").Err(); err != nil {
		t.Fatal(err)
	}
	if h, ok, err := st.ChainHead(ctx, "base"); err != nil || !ok || h != 1234 {
		t.Fatalf("ChainHead = %d, %v, %v; want 1234", h, ok, err)
	}
}

func TestCountWindow(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := context.Background()
	start := t0.Add(10 * time.Second)
	for i := int64(1); i <= 3; i++ {
		n, end, err := st.CountWindow(ctx, "s", time.Minute, start.Add(time.Duration(i)*time.Second))
		if err != nil || n != i || !end.Equal(t0.Add(time.Minute)) {
			t.Fatalf("request %d: %d, %v, %v; want %d ending %v", i, n, end, err, i, t0.Add(time.Minute))
		}
	}
	if n, _, _ := st.CountWindow(ctx, "other", time.Minute, start); n != 1 {
		t.Fatalf("another subject counted %d, want 1", n)
	}
	if n, end, _ := st.CountWindow(ctx, "s", time.Minute, t0.Add(time.Minute)); n != 1 || !end.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("next window counted %d ending %v, want 1 ending %v", n, end, t0.Add(2*time.Minute))
	}
	ttl, err := st.Client().TTL(ctx, st.Keys().PublicRateWindow("s", t0.Unix())).Result()
	if err != nil || ttl <= 0 {
		t.Fatalf("window key TTL %v, %v; want an expiry", ttl, err)
	}
}
