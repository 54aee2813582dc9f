package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/store/storetest"
)

func TestIdempotencyStates(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	k := st.Keys().Idempotency("mer_a", false, "key-1")
	begin := func(merchant string, live bool, key, fp string) store.IdempotencyState {
		t.Helper()
		s, err := st.BeginIdempotent(ctx, merchant, live, key, fp)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	eq := func(name string, got, want store.IdempotencyState) {
		t.Helper()
		if got.New != want.New || got.InFlight != want.InFlight || got.Fingerprint != want.Fingerprint || got.Status != want.Status || string(got.Body) != string(want.Body) {
			t.Fatalf("%s: state = %+v (body %q), want %+v (body %q)", name, got, got.Body, want, want.Body)
		}
	}

	first := begin("mer_a", false, "key-1", "fp1")
	eq("first claim", first, store.IdempotencyState{New: true})
	if len(first.Owner) != 24 {
		t.Fatalf("owner token %q", first.Owner)
	}
	ttl := st.Client().PTTL(ctx, k).Val()
	if ttl <= 0 || ttl > store.IdempotencyLease {
		t.Fatalf("in-flight claim TTL = %v, want within (0, %v]", ttl, store.IdempotencyLease)
	}
	eq("duplicate while in flight", begin("mer_a", false, "key-1", "fp1"), store.IdempotencyState{InFlight: true, Fingerprint: "fp1"})
	eq("different parameters while in flight", begin("mer_a", false, "key-1", "fp2"), store.IdempotencyState{InFlight: true, Fingerprint: "fp1"})
	live := begin("mer_a", true, "key-1", "fp1")
	eq("same key in live mode", live, store.IdempotencyState{New: true})
	other := begin("mer_b", false, "key-1", "fp1")
	eq("same key of another merchant", other, store.IdempotencyState{New: true})

	// Only the owner's finish counts: one with another token changes nothing.
	if err := st.FinishIdempotent(ctx, "mer_a", false, "key-1", live.Owner, 500, []byte("stale")); err != nil {
		t.Fatal(err)
	}
	eq("finish by a non-owner", begin("mer_a", false, "key-1", "fp1"), store.IdempotencyState{InFlight: true, Fingerprint: "fp1"})
	if err := st.FinishIdempotent(ctx, "mer_a", false, "key-1", first.Owner, 201, []byte(`{"id":"co_1"}`)); err != nil {
		t.Fatal(err)
	}
	ttl = st.Client().PTTL(ctx, k).Val()
	if ttl <= store.IdempotencyTTL-time.Minute || ttl > store.IdempotencyTTL {
		t.Fatalf("finished record TTL = %v, want about %v", ttl, store.IdempotencyTTL)
	}
	done := store.IdempotencyState{Fingerprint: "fp1", Status: 201, Body: []byte(`{"id":"co_1"}`)}
	eq("replay", begin("mer_a", false, "key-1", "fp1"), done)
	eq("replay to different parameters reports the first fingerprint", begin("mer_a", false, "key-1", "fp2"), done)

	if err := st.AbortIdempotent(ctx, "mer_a", true, "key-1", first.Owner); err != nil {
		t.Fatal(err)
	}
	eq("abort by a non-owner", begin("mer_a", true, "key-1", "fp1"), store.IdempotencyState{InFlight: true, Fingerprint: "fp1"})
	if err := st.AbortIdempotent(ctx, "mer_a", true, "key-1", live.Owner); err != nil {
		t.Fatal(err)
	}
	eq("claim again after abort", begin("mer_a", true, "key-1", "fp3"), store.IdempotencyState{New: true})
	eq("finished record untouched by the other mode's abort", begin("mer_a", false, "key-1", "fp1"), done)

	if err := st.FinishIdempotent(ctx, "mer_b", false, "key-1", other.Owner, 200, nil); err != nil {
		t.Fatal(err)
	}
	eq("empty body", begin("mer_b", false, "key-1", "fp1"), store.IdempotencyState{Fingerprint: "fp1", Status: 200, Body: []byte{}})
}

func TestIdempotencyConcurrentClaims(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	const n = 32
	states := make([]store.IdempotencyState, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			states[i], errs[i] = st.BeginIdempotent(ctx, "mer_a", false, "race", "fp")
		})
	}
	close(start)
	wg.Wait()
	owners := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		switch {
		case states[i].New:
			owners++
		case !states[i].InFlight || states[i].Fingerprint != "fp":
			t.Fatalf("claim %d = %+v, want new or in flight with fp", i, states[i])
		}
	}
	if owners != 1 {
		t.Fatalf("%d requests own the key, want exactly 1", owners)
	}
}
