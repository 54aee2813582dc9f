package store_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/store/storetest"
)

func amounts(vs ...int64) []*big.Int {
	out := make([]*big.Int, len(vs))
	for i, v := range vs {
		out[i] = big.NewInt(v)
	}
	return out
}

func TestReserve(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	sp := store.Space{MerchantID: "mer_a", Chain: "base-sepolia", Contract: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", Address: "0x00000000000000000000000000000000000000Aa"}
	until := t0.Add(time.Hour)
	// A window of 49.00001..49.00009 at 6 decimals: steps of 10 base units.
	req := func(id string, now time.Time, cands ...int64) store.ReserveRequest {
		return store.ReserveRequest{Space: sp, CheckoutID: id, Candidates: amounts(cands...),
			WindowLow: big.NewInt(49_000_010), WindowHigh: big.NewInt(49_000_090), Now: now, Until: until}
	}
	later := func(r store.ReserveRequest) store.ReserveRequest {
		r.Until = until.Add(time.Hour)
		return r
	}
	steps := []struct {
		name   string
		r      store.ReserveRequest
		amount int64 // 0: none free
		tries  int
		taken  int
	}{
		{name: "first candidate free", r: req("co_1", t0, 49_000_010, 49_000_020), amount: 49_000_010, tries: 1},
		{name: "skips a taken candidate", r: req("co_2", t0, 49_000_010, 49_000_020), amount: 49_000_020, tries: 2},
		{name: "all candidates taken", r: req("co_3", t0, 49_000_010, 49_000_020), tries: 2, taken: 2},
		{name: "another window's amount does not count as taken", r: req("co_4", t0, 49_000_100), amount: 49_000_100, tries: 1},
		{name: "still taken just before the end", r: req("co_5", until.Add(-time.Millisecond), 49_000_010), tries: 1, taken: 2},
		{name: "free again at the end of the reservation", r: later(req("co_6", until, 49_000_010)), amount: 49_000_010, tries: 1},
	}
	for _, s := range steps {
		res, err := st.Reserve(ctx, s.r)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		gotAmount := int64(0)
		if res.Amount != nil {
			gotAmount = res.Amount.Int64()
		}
		if gotAmount != s.amount || res.Tries != s.tries || res.Taken != s.taken {
			t.Fatalf("%s: Reserve = {amount %d, tries %d, taken %d}, want {%d, %d, %d}", s.name, gotAmount, res.Tries, res.Taken, s.amount, s.tries, s.taken)
		}
	}
	// The pruned reservations of co_1 and co_2 are gone; co_6 holds 49.00001.
	holder, live, err := st.ReservationHolder(ctx, sp, big.NewInt(49_000_010), until)
	if err != nil || holder != "co_6" || !live {
		t.Fatalf("ReservationHolder = %q live %v err %v, want co_6 live", holder, live, err)
	}
	if _, _, err := st.ReservationHolder(ctx, sp, big.NewInt(49_000_020), until); sg.ErrorCodeOf(err) != sg.ENOTFOUND {
		t.Fatalf("pruned reservation: err %v, want not_found", err)
	}
}

func TestRelease(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	sp := store.Space{MerchantID: "mer_a", Chain: "sepolia", Contract: "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238", Address: "0x00000000000000000000000000000000000000bB"}
	r := store.ReserveRequest{Space: sp, CheckoutID: "co_1", Candidates: amounts(1_000_010),
		WindowLow: big.NewInt(1_000_010), WindowHigh: big.NewInt(1_000_090), Now: t0, Until: t0.Add(time.Hour)}
	if res, err := st.Reserve(ctx, r); err != nil || res.Amount == nil {
		t.Fatalf("Reserve = %+v, %v", res, err)
	}
	// Another checkout cannot release it.
	if err := st.Release(ctx, sp, "co_2", big.NewInt(1_000_010)); err != nil {
		t.Fatal(err)
	}
	got, err := st.ReservedInWindow(ctx, sp, big.NewInt(1_000_010), big.NewInt(1_000_090), 100)
	if err != nil || len(got) != 1 || got[0].Int64() != 1_000_010 {
		t.Fatalf("after a stranger's release: reserved %v err %v, want [1000010]", got, err)
	}
	// The same amount in another space is a separate reservation.
	other := sp
	other.Address = "0x00000000000000000000000000000000000000cC"
	if res, err := st.Reserve(ctx, store.ReserveRequest{Space: other, CheckoutID: "co_9", Candidates: amounts(1_000_010),
		WindowLow: big.NewInt(1_000_010), WindowHigh: big.NewInt(1_000_090), Now: t0, Until: t0.Add(time.Hour)}); err != nil || res.Amount == nil || res.Amount.Int64() != 1_000_010 {
		t.Fatalf("Reserve in another space = %+v, %v; want 1000010", res, err)
	}
	if err := st.Release(ctx, sp, "co_1", big.NewInt(1_000_010)); err != nil {
		t.Fatal(err)
	}
	got, err = st.ReservedInWindow(ctx, sp, big.NewInt(1_000_010), big.NewInt(1_000_090), 100)
	if err != nil || len(got) != 0 {
		t.Fatalf("after the holder's release: reserved %v err %v, want none", got, err)
	}
	r.CheckoutID = "co_3"
	if res, err := st.Reserve(ctx, r); err != nil || res.Amount == nil || res.Amount.Int64() != 1_000_010 {
		t.Fatalf("Reserve after release = %+v, %v; want 1000010", res, err)
	}
}
