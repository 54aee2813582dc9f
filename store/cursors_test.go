package store_test

import (
	"errors"
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains/evm"
	"github.com/stablegate/stablegate/store/storetest"
)

func ref(n uint64) evm.BlockRef {
	return evm.BlockRef{Number: n, Hash: common.BigToHash(new(big.Int).SetUint64(n*1000 + 7))}
}

func TestCursorSaveLoad(t *testing.T) {
	t.Parallel()
	cs := storetest.New(t).Cursors()
	ctx := t.Context()
	const chain = "base"

	if _, ok, err := cs.LoadCursor(ctx, chain); err != nil || ok {
		t.Fatalf("LoadCursor before any save: ok %v, %v; want none", ok, err)
	}
	token, err := cs.AcquireLease(ctx, chain, "a", time.Minute)
	if err != nil || token == 0 {
		t.Fatalf("AcquireLease: %d, %v", token, err)
	}
	at := time.UnixMilli(1_700_000_000_000)
	// First start, then two ranges: 11..20 (a transfer in 15) and 21..30.
	steps := []evm.CursorUpdate{
		{Head: ref(10), From: 10, Added: []evm.BlockRef{ref(10)}, Keep: 4, At: at},
		{Head: ref(20), From: 11, Added: []evm.BlockRef{ref(15), ref(20)}, Keep: 4, At: at},
		{Head: ref(30), From: 21, Added: []evm.BlockRef{ref(30)}, Keep: 4, At: at},
	}
	for i, u := range steps {
		if err := cs.SaveCursor(ctx, chain, token, u); err != nil {
			t.Fatalf("SaveCursor %d: %v", i, err)
		}
	}
	got, ok, err := cs.LoadCursor(ctx, chain)
	want := evm.Cursor{Head: ref(30), Recent: []evm.BlockRef{ref(10), ref(15), ref(20), ref(30)}}
	if err != nil || !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("LoadCursor = %+v, %v, %v; want %+v", got, ok, err, want)
	}

	// Keep bounds the history: the lowest entries go.
	if err := cs.SaveCursor(ctx, chain, token, evm.CursorUpdate{Head: ref(40), From: 31, Added: []evm.BlockRef{ref(35), ref(40)}, Keep: 4, At: at}); err != nil {
		t.Fatal(err)
	}
	got, _, _ = cs.LoadCursor(ctx, chain)
	want = evm.Cursor{Head: ref(40), Recent: []evm.BlockRef{ref(20), ref(30), ref(35), ref(40)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after trim: %+v, want %+v", got, want)
	}

	// A rewind to a fork point drops everything above it.
	if err := cs.SaveCursor(ctx, chain, token, evm.CursorUpdate{Head: ref(30), From: 31, Keep: 4, At: at}); err != nil {
		t.Fatal(err)
	}
	got, _, _ = cs.LoadCursor(ctx, chain)
	want = evm.Cursor{Head: ref(30), Recent: []evm.BlockRef{ref(20), ref(30)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after rewind: %+v, want %+v", got, want)
	}

	// A rescan that finds another block at a height replaces its hash.
	other := evm.BlockRef{Number: 35, Hash: common.HexToHash("0xabc")}
	if err := cs.SaveCursor(ctx, chain, token, evm.CursorUpdate{Head: other, From: 31, Added: []evm.BlockRef{other}, Keep: 4, At: at}); err != nil {
		t.Fatal(err)
	}
	got, _, _ = cs.LoadCursor(ctx, chain)
	want = evm.Cursor{Head: other, Recent: []evm.BlockRef{ref(20), ref(30), other}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after rescan: %+v, want %+v", got, want)
	}

	// Chains are independent.
	if _, ok, err := cs.LoadCursor(ctx, "polygon"); err != nil || ok {
		t.Fatalf("LoadCursor(polygon): ok %v, %v; want none", ok, err)
	}
}

func TestLeaseFencing(t *testing.T) {
	t.Parallel()
	cs := storetest.New(t).Cursors()
	ctx := t.Context()
	const chain = "ethereum"
	u := func(n uint64) evm.CursorUpdate {
		return evm.CursorUpdate{Head: ref(n), From: n, Added: []evm.BlockRef{ref(n)}, Keep: 10, At: time.Now()}
	}

	// Nobody holds the lease: a write with any token is refused.
	if err := cs.SaveCursor(ctx, chain, 1, u(1)); !errors.Is(err, evm.ErrStaleToken) || !sg.IsCode(err, sg.ECONFLICT) {
		t.Fatalf("SaveCursor without a lease: %v, want ErrStaleToken (conflict)", err)
	}

	a, err := cs.AcquireLease(ctx, chain, "replica-a", time.Minute)
	if err != nil || a == 0 {
		t.Fatalf("AcquireLease(a) = %d, %v", a, err)
	}
	if b, err := cs.AcquireLease(ctx, chain, "replica-b", time.Minute); err != nil || b != 0 {
		t.Fatalf("AcquireLease(b) while a holds it = %d, %v; want 0", b, err)
	}
	if ok, err := cs.RenewLease(ctx, chain, "replica-b", a, time.Minute); err != nil || ok {
		t.Fatalf("RenewLease by b with a's token = %v, %v; want false", ok, err)
	}
	if ok, err := cs.RenewLease(ctx, chain, "replica-a", a, time.Minute); err != nil || !ok {
		t.Fatalf("RenewLease by a = %v, %v; want true", ok, err)
	}
	if err := cs.SaveCursor(ctx, chain, a, u(5)); err != nil {
		t.Fatalf("SaveCursor by the holder: %v", err)
	}

	// a pauses past its TTL (here: gives the lease up as expiry would) and
	// b takes over with a larger token.
	if err := cs.ReleaseLease(ctx, chain, "replica-b", a); err != nil {
		t.Fatal(err)
	}
	if b, _ := cs.AcquireLease(ctx, chain, "replica-b", time.Minute); b != 0 {
		t.Fatalf("release by a non-holder freed the lease: b got token %d", b)
	}
	if err := cs.ReleaseLease(ctx, chain, "replica-a", a); err != nil {
		t.Fatal(err)
	}
	b, err := cs.AcquireLease(ctx, chain, "replica-b", time.Minute)
	if err != nil || b <= a {
		t.Fatalf("AcquireLease(b) after release = %d, %v; want a token above %d", b, err, a)
	}
	if err := cs.SaveCursor(ctx, chain, b, u(9)); err != nil {
		t.Fatalf("SaveCursor by b: %v", err)
	}

	// a wakes up and writes with its stale token: refused, nothing changes.
	if err := cs.SaveCursor(ctx, chain, a, u(7)); !errors.Is(err, evm.ErrStaleToken) {
		t.Fatalf("SaveCursor with a stale token: %v, want ErrStaleToken", err)
	}
	if ok, err := cs.RenewLease(ctx, chain, "replica-a", a, time.Minute); err != nil || ok {
		t.Fatalf("RenewLease with a stale token = %v, %v; want false", ok, err)
	}
	got, _, _ := cs.LoadCursor(ctx, chain)
	want := evm.Cursor{Head: ref(9), Recent: []evm.BlockRef{ref(5), ref(9)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("cursor after the refused write: %+v, want %+v", got, want)
	}
}

func TestLeaseExpires(t *testing.T) {
	t.Parallel()
	cs := storetest.New(t).Cursors()
	ctx := t.Context()
	const chain = "bsc"
	a, err := cs.AcquireLease(ctx, chain, "replica-a", 50*time.Millisecond)
	if err != nil || a == 0 {
		t.Fatalf("AcquireLease(a) = %d, %v", a, err)
	}
	// a stops renewing; b gets the lease once Redis expires it.
	var b uint64
	deadline := time.Now().Add(5 * time.Second)
	for b == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the lease never expired")
		}
		if b, err = cs.AcquireLease(ctx, chain, "replica-b", time.Minute); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // a poll interval, not synchronisation
	}
	if b != a+1 {
		t.Fatalf("token after expiry = %d, want %d", b, a+1)
	}
	if err := cs.SaveCursor(ctx, chain, a, evm.CursorUpdate{Head: ref(1), From: 1, Keep: 1}); !errors.Is(err, evm.ErrStaleToken) {
		t.Fatalf("SaveCursor with the expired token: %v, want ErrStaleToken", err)
	}
}
