package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/chains/solana"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/store/storetest"
)

func TestSignatureCursorsFenced(t *testing.T) {
	t.Parallel()
	cs := storetest.New(t).Cursors()
	ctx := t.Context()
	const chain = "solana-devnet"

	if got, err := cs.LoadSignatures(ctx, chain); err != nil || len(got) != 0 {
		t.Fatalf("LoadSignatures before any save = %v, %v; want none", got, err)
	}
	token, err := cs.AcquireLease(ctx, chain, "a", time.Minute)
	if err != nil || token == 0 {
		t.Fatalf("AcquireLease: %d, %v", token, err)
	}
	first := map[string]solana.SignatureCursor{"ata1": {Slot: 10, Signature: "sigA"}, "ata2": {Slot: 12, Signature: "sigB"}}
	if err := cs.SaveSignatures(ctx, chain, token, first); err != nil {
		t.Fatal(err)
	}
	if err := cs.SaveSignatures(ctx, chain, token, map[string]solana.SignatureCursor{"ata1": {Slot: 20, Signature: "sigC"}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]solana.SignatureCursor{"ata1": {Slot: 20, Signature: "sigC"}, "ata2": {Slot: 12, Signature: "sigB"}}
	if got, err := cs.LoadSignatures(ctx, chain); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("LoadSignatures = %v, %v; want %v", got, err, want)
	}

	// Another replica takes over: the old token writes nothing.
	if err := cs.ReleaseLease(ctx, chain, "a", token); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AcquireLease(ctx, chain, "b", time.Minute); err != nil {
		t.Fatal(err)
	}
	err = cs.SaveSignatures(ctx, chain, token, map[string]solana.SignatureCursor{"ata1": {Slot: 30, Signature: "sigD"}})
	if !errors.Is(err, chains.ErrStaleToken) {
		t.Fatalf("stale save = %v, want ErrStaleToken", err)
	}
	if got, _ := cs.LoadSignatures(ctx, chain); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a refused save: %v, want %v", got, want)
	}
}

func TestReferences(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := t.Context()
	const chain = "solana-devnet"
	now := time.Unix(1_900_000_000, 0)
	add := func(ref, checkout string, until time.Time) {
		t.Helper()
		if err := st.AddReference(ctx, chain, ref, store.ReferenceHolder{MerchantID: "m1", CheckoutID: checkout}, until); err != nil {
			t.Fatal(err)
		}
	}
	add("old", "co_old", now.Add(-time.Second))
	add("soon", "co_soon", now.Add(time.Minute))
	add("late", "co_late", now.Add(time.Hour))

	live, err := st.LiveReferences(ctx, chain, now, 10)
	if err != nil || !reflect.DeepEqual(live, []string{"late", "soon"}) {
		t.Fatalf("LiveReferences = %v, %v; want [late soon]", live, err)
	}
	if live, _ := st.LiveReferences(ctx, chain, now, 1); !reflect.DeepEqual(live, []string{"late"}) {
		t.Fatalf("LiveReferences limit 1 = %v, want [late]", live)
	}
	got, err := st.ReferenceHolders(ctx, chain, []string{"soon", "nobody", "old"})
	want := map[string]store.ReferenceHolder{"soon": {MerchantID: "m1", CheckoutID: "co_soon"}, "old": {MerchantID: "m1", CheckoutID: "co_old"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ReferenceHolders = %v, %v; want %v", got, err, want)
	}
	if n, err := st.PruneReferences(ctx, chain, now, 100); err != nil || n != 1 {
		t.Fatalf("PruneReferences = %d, %v; want 1", n, err)
	}
	if got, _ := st.ReferenceHolders(ctx, chain, []string{"old", "soon"}); len(got) != 1 || got["soon"].CheckoutID != "co_soon" {
		t.Fatalf("after prune: %v, want only soon", got)
	}
	if got, _ := st.ReferenceHolders(ctx, "solana", []string{"soon"}); len(got) != 0 {
		t.Fatalf("another chain sees %v", got)
	}
}
