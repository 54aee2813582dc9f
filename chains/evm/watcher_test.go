package evm_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/chains/evm"
	"github.com/stablegate/stablegate/chains/evm/devnet"
)

// TestTransferReportedOnce: a transfer of a registry token to a watched
// address is reported once, with every field exact; transfers to an
// unwatched address, and of a token outside the registry (the devnet's USDC
// here) to the watched address, never are.
func TestTransferReportedOnce(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	// Five watched addresses, two per eth_getLogs: three calls per range.
	others := []common.Address{newAddress(t), newAddress(t), newAddress(t), newAddress(t)}
	f := newFixture(t, d, fixtureOpts{addrs: others, cfg: evm.Config{AddressBatch: 2}})
	usdt, usdc := d.Token(devnet.USDT), d.Token(devnet.USDC)
	f.tick() // first start: cursor at the head

	paid := f.pay(usdt, f.watched, 50_000_120)
	f.pay(usdt, newAddress(t), 50_000_130) // unwatched address
	f.pay(usdc, f.watched, 50_000_140)     // token outside the registry
	f.mine(1)
	f.tick()
	f.mine(3)
	f.tick()
	f.tick()

	want := f.expect(paid, f.watched, 50_000_120)
	got, reorgs, _ := f.sink.snapshot()
	if !sameTransfers(got, []chains.Transfer{want}) {
		t.Fatalf("reported %+v\nwant exactly %+v", got, want)
	}
	if len(reorgs) != 0 {
		t.Fatalf("reorgs %v, want none", reorgs)
	}
	if calls := f.proxy.callCount("eth_getLogs"); calls == 0 || calls%3 != 0 {
		t.Fatalf("%d eth_getLogs calls, want a multiple of 3 (three address batches per range)", calls)
	}
	if ok, known := f.sink.canonicalOf(want); !known || !ok {
		t.Fatalf("Verifier.Canonical of the confirmed transfer: %v (asked: %v), want true", ok, known)
	}
	if n := f.counter("stablegate_evm_transfers_total", map[string]string{"chain": "devnet"}); n != 1 {
		t.Fatalf("transfers_total = %v, want 1", n)
	}
	if h, s := f.counter("stablegate_evm_head_height", nil), f.counter("stablegate_evm_scanned_height", nil); h != float64(f.head()) || s != h {
		t.Fatalf("head_height %v, scanned_height %v; want both %d", h, s, f.head())
	}
}

// TestVerifier checks Canonical against transfers that are not what the
// chain holds.
func TestVerifier(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	f := newFixture(t, d, fixtureOpts{})
	tx := f.pay(d.Token(devnet.USDT), f.watched, 7)
	f.mine(1)
	good := f.expect(tx, f.watched, 7)
	// A block or receipt the node does not have is no verdict (a lagging
	// endpoint must not revert a real payment): it is an error, and the
	// payment is checked again later.
	tests := []struct {
		name    string
		change  func(*chains.Transfer)
		want    bool
		wantErr bool
	}{
		{"as on chain", func(*chains.Transfer) {}, true, false},
		{"other block hash", func(t *chains.Transfer) { t.BlockHash = common.Hash{1}.Hex() }, false, false},
		{"other amount", func(t *chains.Transfer) { t.Amount = big.NewInt(8) }, false, false},
		{"other recipient", func(t *chains.Transfer) { t.To = devnet.FaucetAddress.Hex() }, false, false},
		{"other log index", func(t *chains.Transfer) { t.LogIndex++ }, false, false},
		{"other token", func(t *chains.Transfer) { t.Token = d.Token(devnet.USDC).Hex() }, false, false},
		{"unknown transaction", func(t *chains.Transfer) { t.TxHash = common.Hash{2}.Hex() }, false, true},
		{"height above the head", func(t *chains.Transfer) { t.BlockNumber = 1_000_000 }, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := good
			tr.Amount = new(big.Int).Set(good.Amount)
			tt.change(&tr)
			ok, err := f.pool.Canonical(t.Context(), tr)
			if (err != nil) != tt.wantErr || ok != tt.want {
				t.Fatalf("Canonical = %v, %v; want %v (error: %v)", ok, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestRangeShrinksAndGrows: an endpoint that refuses ranges over 10 blocks
// with -32005 makes the range halve until it passes, and the range grows back
// once the limit is gone. No block is skipped or scanned twice.
func TestRangeShrinksAndGrows(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	f := newFixture(t, d, fixtureOpts{cfg: evm.Config{InitialRange: 64, MaxRange: 64, GrowAfter: 2, Lookback: 1}})
	usdt := d.Token(devnet.USDT)
	f.tick() // first start
	start := f.cursor()
	f.proxy.logRanges()

	f.proxy.set(func(p *faultProxy) { p.limit = 10 })
	var want []chains.Transfer
	for i := range 3 {
		tx := f.pay(usdt, f.watched, int64(100+i))
		f.mine(1)
		want = append(want, f.expect(tx, f.watched, int64(100+i)))
		f.mine(60)
	}
	head := f.head()
	for f.cursor() < head {
		f.tick()
	}
	ranges := f.proxy.logRanges()
	if len(ranges) < 4 || ranges[0] != (logRange{start + 1, start + 64, true}) || ranges[1] != (logRange{start + 1, start + 32, true}) ||
		ranges[2] != (logRange{start + 1, start + 16, true}) || ranges[3] != (logRange{start + 1, start + 8, false}) {
		t.Fatalf("first ranges %+v, want 64, 32 and 16 blocks refused, then 8 served", ranges[:min(4, len(ranges))])
	}
	checkContiguous(t, ranges, start+1, head)
	for _, r := range ranges {
		if !r.Refused && r.To-r.From+1 > 10 {
			t.Fatalf("range %+v over the limit was served", r)
		}
	}
	if n := f.counter("stablegate_evm_rpc_errors_total", map[string]string{"endpoint": "0", "kind": "limit"}); n < 3 {
		t.Fatalf("rpc_errors_total{kind=limit} = %v, want at least 3", n)
	}

	// The limit goes away: the range grows back to MaxRange.
	f.proxy.set(func(p *faultProxy) { p.limit = 0 })
	from := f.cursor() + 1
	f.mine(400)
	head = f.head()
	for f.cursor() < head {
		f.tick()
	}
	ranges = f.proxy.logRanges()
	checkContiguous(t, ranges, from, head)
	sizes := make([]uint64, len(ranges))
	for i, r := range ranges {
		sizes[i] = r.To - r.From + 1
	}
	if sizes[0] > 16 || !containsSize(sizes, 64) {
		t.Fatalf("range sizes after the limit went %v, want a small start growing to 64", sizes)
	}
	got, _, _ := f.sink.snapshot()
	if !sameTransfers(got, want) {
		t.Fatalf("reported %+v\nwant %+v", got, want)
	}
	if n := f.counter("stablegate_evm_log_range_blocks", nil); n != 64 {
		t.Fatalf("log_range_blocks = %v, want 64", n)
	}
}

func containsSize(sizes []uint64, n uint64) bool {
	for _, s := range sizes {
		if s == n {
			return true
		}
	}
	return false
}

// checkContiguous checks that the served ranges cover from..to exactly once,
// in order.
func checkContiguous(t *testing.T, ranges []logRange, from, to uint64) {
	t.Helper()
	next := from
	for _, r := range ranges {
		if r.Refused {
			continue
		}
		if r.From != next {
			t.Fatalf("served range %+v, want one starting at %d (ranges %+v)", r, next, ranges)
		}
		next = r.To + 1
	}
	if next != to+1 {
		t.Fatalf("served ranges end at %d, want %d", next-1, to)
	}
}

// TestRestartResumesWithoutGap: a watcher stops (Run returns and gives up
// its lease); 300 blocks are mined, with transfers in the first block after
// its cursor, in the middle and in the last; a new watcher (a new process:
// new pool, new watcher, same Redis) resumes right after the cursor and
// reports every transfer once.
func TestRestartResumesWithoutGap(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	usdt := d.Token(devnet.USDT)
	a := newFixture(t, d, fixtureOpts{cfg: evm.Config{PollInterval: 5 * time.Millisecond}})
	first := a.pay(usdt, a.watched, 1)
	a.mine(1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.w.Run(ctx) }()
	head := a.mine(2)
	waitFor(t, "the first watcher to reach the head", func() bool {
		c, ok, _ := a.st.Cursors().LoadCursor(t.Context(), a.chain.ID)
		return ok && c.Head.Number == head
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	stopped := a.cursor()

	var want []chains.Transfer
	for i := range 300 {
		if i == 0 || i == 150 || i == 299 {
			tx := a.pay(usdt, a.watched, int64(1000+i))
			a.mine(1)
			want = append(want, a.expect(tx, a.watched, int64(1000+i)))
			continue
		}
		a.mine(1)
	}
	head = a.head()
	if head != stopped+300 || want[0].BlockNumber != stopped+1 || want[2].BlockNumber != head {
		t.Fatalf("set-up: head %d, cursor %d, transfers in %d and %d", head, stopped, want[0].BlockNumber, want[2].BlockNumber)
	}

	// The new process: its own proxy (to see its ranges), pool and watcher,
	// over the same Redis keys and sink.
	b := newFixture(t, d, fixtureOpts{cfg: evm.Config{InitialRange: 50, MaxRange: 50}})
	b.st, b.sink, b.watched = a.st, a.sink, a.watched
	b.w = evm.NewWatcher(b.chain, b.pool, b.st.Cursors(), staticAddrs{b.watched}, b.sink,
		evm.Config{InitialRange: 50, MaxRange: 50, Metrics: b.metrics}, nil, testLogger(t))
	b.tick()
	if got := b.cursor(); got != head {
		t.Fatalf("cursor after one tick of the new watcher: %d, want the head %d", got, head)
	}
	checkContiguous(t, b.proxy.logRanges(), stopped+1, head)

	got, _, _ := a.sink.snapshot()
	wantAll := append([]chains.Transfer{a.expect(first, a.watched, 1)}, want...)
	if !sameTransfers(got, wantAll) {
		t.Fatalf("reported %+v\nwant %+v", got, wantAll)
	}
}

// TestReorg makes reorgs with the simulated backend's Fork: the watcher
// reports Reorg from the orphaned transfer's height, and the transfer again
// in its new block when the new branch includes it, or not at all when it
// does not.
func TestReorg(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		rollback   bool // drop the orphaned transaction instead of re-including it
		newBlocks  int  // blocks on the new branch before the next tick
		reincluded bool
	}{
		{name: "re-included in the new branch, longer chain", newBlocks: 4, reincluded: true},
		{name: "re-included, new branch shorter than the cursor", newBlocks: 1, reincluded: true},
		{name: "dropped by the new branch", rollback: true, newBlocks: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := startDevnet(t)
			f := newFixture(t, d, fixtureOpts{policy: blocks(3)})
			usdt := d.Token(devnet.USDT)
			f.tick()
			tx := f.pay(usdt, f.watched, 42)
			n := f.mine(1)
			f.tick()
			orphan := f.expect(tx, f.watched, 42)
			// Two more blocks, each scanned.
			f.mine(1)
			f.tick()
			f.mine(1)
			f.tick()

			f.fork(n, tt.rollback)
			f.mine(tt.newBlocks)
			f.tick()
			if tt.newBlocks == 1 {
				// The head is still below the cursor at n+2, but block n
				// changed: the reorg is seen at once.
				if f.head() != n {
					t.Fatalf("head %d, want %d", f.head(), n)
				}
			}
			f.mine(1)
			f.tick()

			got, reorgs, _ := f.sink.snapshot()
			if len(reorgs) != 1 || reorgs[0] != n {
				t.Fatalf("Reorg calls %v, want one from height %d", reorgs, n)
			}
			want := []chains.Transfer{orphan}
			if tt.reincluded {
				moved := f.expect(tx, f.watched, 42)
				if moved.BlockHash == orphan.BlockHash {
					t.Fatalf("the transaction stayed in block %s", orphan.BlockHash)
				}
				want = append(want, moved)
			}
			if !sameTransfers(got, want) {
				t.Fatalf("reported %+v\nwant %+v", got, want)
			}
			if f.cursor() != f.head() {
				t.Fatalf("cursor %d, head %d", f.cursor(), f.head())
			}
			if ok, err := f.pool.Canonical(t.Context(), orphan); err != nil || ok {
				t.Fatalf("Canonical(orphaned transfer) = %v, %v; want false", ok, err)
			}
			if n := f.counter("stablegate_evm_reorgs_total", nil); n != 1 {
				t.Fatalf("reorgs_total = %v, want 1", n)
			}
		})
	}
}

// TestLaggingBackend: an endpoint whose answers come from a node behind the
// head it gave (a load balancer's lagging backend) makes the watcher wait:
// a block it does not have is no reorg, and logs that leave out the
// range's last blocks are not taken as the whole range. Once the answers
// catch up, the transfer is reported once and the cursor reaches the head.
func TestLaggingBackend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// scanned: the transfer's block was scanned before the backend
		// fell behind, and three more blocks were mined
		scanned bool
		behind  func(p *faultProxy, height uint64)
	}{
		{"a scanned block missing", true, func(p *faultProxy, h uint64) { p.hideAbove = h }},
		{"the logs of the range's last block missing", false, func(p *faultProxy, h uint64) { p.logsBehind = h }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := startDevnet(t)
			f := newFixture(t, d, fixtureOpts{})
			f.tick()
			tx := f.pay(d.Token(devnet.USDT), f.watched, 8)
			n := f.mine(1)
			want := []chains.Transfer{f.expect(tx, f.watched, 8)}
			var before []chains.Transfer
			if tt.scanned {
				f.tick()
				f.mine(3)
				before = want
			}
			cursor := f.cursor()
			f.proxy.set(func(p *faultProxy) { tt.behind(p, n-1) })
			_ = f.w.Tick(t.Context()) // the node that answered is behind: waiting is the right answer
			if got, reorgs, _ := f.sink.snapshot(); len(reorgs) != 0 || !sameTransfers(got, before) || f.cursor() != cursor {
				t.Fatalf("behind at %d: reorgs %v, reported %+v, cursor %d; want no reorg, %+v and the cursor left at %d",
					n-1, reorgs, got, f.cursor(), before, cursor)
			}
			f.proxy.set(func(p *faultProxy) { p.hideAbove, p.logsBehind = 0, 0 })
			f.tick()
			if got, reorgs, _ := f.sink.snapshot(); len(reorgs) != 0 || !sameTransfers(got, want) {
				t.Fatalf("reorgs %v, reported %+v; want no reorg and the transfer once", reorgs, got)
			}
			if f.cursor() != f.head() {
				t.Fatalf("cursor %d, head %d", f.cursor(), f.head())
			}
		})
	}
}

// TestEndpointWithoutBatches: an endpoint that refuses batch requests, with
// one error or an error per call, is asked for logs one call at a time, and
// nothing is missed.
func TestEndpointWithoutBatches(t *testing.T) {
	t.Parallel()
	for _, refusal := range []string{"one", "each"} {
		t.Run(refusal, func(t *testing.T) {
			t.Parallel()
			d := startDevnet(t)
			f := newFixture(t, d, fixtureOpts{})
			f.proxy.set(func(p *faultProxy) { p.noBatch = refusal })
			f.tick()
			tx := f.pay(d.Token(devnet.USDT), f.watched, 10)
			f.mine(1)
			f.tick()
			f.mine(1)
			f.tick()
			if got, _, _ := f.sink.snapshot(); !sameTransfers(got, []chains.Transfer{f.expect(tx, f.watched, 10)}) {
				t.Fatalf("reported %+v, want the transfer once", got)
			}
			if f.cursor() != f.head() {
				t.Fatalf("cursor %d, head %d", f.cursor(), f.head())
			}
			// Refused once, then asked one call at a time.
			if n := f.counter("stablegate_evm_rpc_errors_total", map[string]string{"endpoint": "0", "kind": "batch"}); n != 1 {
				t.Fatalf("rpc_errors_total{kind=batch} = %v, want 1", n)
			}
		})
	}
}

// TestChainMovedDuringScan: an endpoint whose logs carry block hashes other
// than its headers (a log from an orphaned block) gets nothing reported and
// does not move the cursor.
func TestChainMovedDuringScan(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	f := newFixture(t, d, fixtureOpts{})
	f.tick()
	before := f.cursor()
	f.pay(d.Token(devnet.USDT), f.watched, 5)
	f.mine(1)
	f.proxy.set(func(p *faultProxy) { p.logHash = true })
	err := f.w.Tick(t.Context())
	if err == nil || !strings.Contains(err.Error(), "changed during the scan") {
		t.Fatalf("Tick = %v, want the chain-moved error", err)
	}
	got, reorgs, _ := f.sink.snapshot()
	if len(got) != 0 || len(reorgs) != 0 || f.cursor() != before {
		t.Fatalf("reported %v, reorgs %v, cursor %d (was %d); want nothing", got, reorgs, f.cursor(), before)
	}
	f.proxy.set(func(p *faultProxy) { p.logHash = false })
	f.tick()
	if got, _, _ := f.sink.snapshot(); len(got) != 1 {
		t.Fatalf("after the endpoint recovered: %d transfers, want 1", len(got))
	}
}

// TestSinkErrorRetriesRange: a failing Transfers keeps the cursor where it
// was, and the next tick delivers the same range again.
func TestSinkErrorRetriesRange(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	f := newFixture(t, d, fixtureOpts{})
	f.tick()
	before := f.cursor()
	tx := f.pay(d.Token(devnet.USDT), f.watched, 9)
	f.mine(1)
	f.sink.failNext = errInjected
	if err := f.w.Tick(t.Context()); !errors.Is(err, errInjected) {
		t.Fatalf("Tick = %v, want the sink's error", err)
	}
	if f.cursor() != before {
		t.Fatalf("cursor moved to %d past a failed delivery", f.cursor())
	}
	f.tick()
	got, _, _ := f.sink.snapshot()
	if want := f.expect(tx, f.watched, 9); !sameTransfers(got, []chains.Transfer{want}) {
		t.Fatalf("reported %+v, want %+v", got, want)
	}
}

// TestConfirmedHeights: the height given to Confirmed follows the policy.
func TestConfirmedHeights(t *testing.T) {
	t.Parallel()
	tests := []struct {
		policy chains.ConfirmationPolicy
		want   func(head uint64) uint64
	}{
		// N confirmations, the transfer's own block counting as one.
		{blocks(1), func(h uint64) uint64 { return h }},
		{blocks(3), func(h uint64) uint64 { return h - 2 }},
		// The simulated beacon finalizes multiples of 32.
		{chains.ConfirmationPolicy{Mode: chains.ConfirmFinalized, Blocks: 5}, func(h uint64) uint64 { return h / 32 * 32 }},
		// and its "safe" block is the head.
		{chains.ConfirmationPolicy{Mode: chains.ConfirmSafe, Blocks: 5}, func(h uint64) uint64 { return h }},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s-%d", tt.policy.Mode, tt.policy.Blocks), func(t *testing.T) {
			t.Parallel()
			d := startDevnet(t)
			f := newFixture(t, d, fixtureOpts{policy: tt.policy})
			for range 70 {
				head := f.mine(1)
				f.tick()
				if got, want := f.sink.lastConfirmed(), tt.want(head); got != want {
					t.Fatalf("head %d: Confirmed(%d), want %d", head, got, want)
				}
			}
		})
	}
}

// TestConfirmedNeverAboveCursor: while the watcher backfills, the
// confirmation height stops at what it has scanned.
func TestConfirmedNeverAboveCursor(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	f := newFixture(t, d, fixtureOpts{cfg: evm.Config{InitialRange: 10, MaxRange: 10, MaxRangesPerTick: 2}})
	f.tick()
	f.mine(100)
	f.tick()
	if c, got := f.cursor(), f.sink.lastConfirmed(); got != c || c >= f.head() {
		t.Fatalf("cursor %d, Confirmed(%d), head %d; want the cursor, below the head", c, got, f.head())
	}
}

// TestTokenDecimalsMismatch: a registry entry whose decimals differ from the
// contract's stops the watcher with a clear error.
func TestTokenDecimalsMismatch(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	f := newFixture(t, d, fixtureOpts{})
	bad := usdtOf(d)
	bad.Decimals = 18
	chain := devChain("devnet", d.ChainID(), f.chain.RPCURLs, blocks(1), bad)
	w := evm.NewWatcher(chain, f.pool, f.st.Cursors(), staticAddrs{f.watched}, f.sink, evm.Config{}, nil, testLogger(t))
	err := w.Tick(t.Context())
	if !errors.Is(err, evm.ErrTokenMismatch) || !strings.Contains(err.Error(), "decimals() is 6 on-chain but 18 in the registry") ||
		!strings.Contains(err.Error(), "USDT") {
		t.Fatalf("Tick = %v, want ErrTokenMismatch naming USDT, 6 and 18", err)
	}
	if err := w.Run(t.Context()); !errors.Is(err, evm.ErrTokenMismatch) {
		t.Fatalf("Run = %v, want ErrTokenMismatch", err)
	}

	// An address with no contract at all.
	nothing := chains.Token{Symbol: "USDC", Contract: newAddress(t).Hex(), Decimals: 6}
	chain = devChain("devnet", d.ChainID(), f.chain.RPCURLs, blocks(1), nothing)
	w = evm.NewWatcher(chain, f.pool, f.st.Cursors(), staticAddrs{f.watched}, f.sink, evm.Config{}, nil, testLogger(t))
	if err := w.Tick(t.Context()); !errors.Is(err, evm.ErrTokenMismatch) || !strings.Contains(err.Error(), "returned 0 bytes") {
		t.Fatalf("Tick = %v, want ErrTokenMismatch for a contract-less address", err)
	}
}

// TestLease: two watchers of one chain on one Redis: only the lease holder
// scans; when it stops renewing, the other takes over from its cursor.
func TestLease(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	usdt := d.Token(devnet.USDT)
	// a's clock runs until a "pauses", then stands still.
	var frozen atomic.Pointer[time.Time]
	clock := func() time.Time {
		if t := frozen.Load(); t != nil {
			return *t
		}
		return time.Now()
	}
	a := newFixture(t, d, fixtureOpts{cfg: evm.Config{LeaseTTL: time.Second, Holder: "replica-a"}, clock: clock})
	b := newFixture(t, d, fixtureOpts{})
	b.st, b.watched = a.st, a.watched
	b.w = evm.NewWatcher(b.chain, b.pool, b.st.Cursors(), staticAddrs{b.watched}, b.sink,
		evm.Config{LeaseTTL: time.Minute, Holder: "replica-b", Metrics: b.metrics}, nil, testLogger(t))

	tx := a.pay(usdt, a.watched, 11)
	a.mine(1)
	a.tick()
	if err := b.w.Tick(t.Context()); !errors.Is(err, evm.ErrNotLeader) {
		t.Fatalf("second watcher's Tick = %v, want ErrNotLeader", err)
	}
	if n := b.proxy.callCount("eth_getLogs") + b.proxy.callCount("eth_getBlockByNumber"); n != 0 {
		t.Fatalf("the watcher without the lease made %d RPC calls", n)
	}
	if got, _, _ := b.sink.snapshot(); len(got) != 0 {
		t.Fatalf("the watcher without the lease reported %v", got)
	}
	if a.counter("stablegate_evm_leader", nil) != 1 || b.counter("stablegate_evm_leader", nil) != 0 {
		t.Fatal("leader gauges wrong")
	}

	// a stops renewing (a crash, or a long pause). b takes over once the
	// TTL passes.
	now := time.Now()
	frozen.Store(&now)
	tx2 := a.pay(usdt, a.watched, 12)
	head := a.mine(1)
	waitFor(t, "the second watcher to take over", func() bool {
		return !errors.Is(b.w.Tick(t.Context()), evm.ErrNotLeader)
	})
	if b.cursor() != head {
		t.Fatalf("cursor %d after take-over, want %d", b.cursor(), head)
	}
	gotA, _, _ := a.sink.snapshot()
	gotB, _, _ := b.sink.snapshot()
	if !sameTransfers(gotA, []chains.Transfer{a.expect(tx, a.watched, 11)}) ||
		!sameTransfers(gotB, []chains.Transfer{a.expect(tx2, a.watched, 12)}) {
		t.Fatalf("a reported %+v, b reported %+v; want one transfer each, b resuming after a", gotA, gotB)
	}

	// a comes back from a pause it did not notice: its clock is frozen, so
	// it believes its lease fresh and scans. Its cursor write carries a
	// stale fencing token and is refused. (What it gave its sink again is
	// why a Sink must be idempotent.)
	a.mine(1)
	scans := a.proxy.callCount("eth_getLogs")
	if err := a.w.Tick(t.Context()); !errors.Is(err, evm.ErrNotLeader) {
		t.Fatalf("the old holder's Tick = %v, want ErrNotLeader", err)
	}
	if a.proxy.callCount("eth_getLogs") == scans {
		t.Fatal("the old holder did not scan: its stale fencing token was never put to the test")
	}
	if b.cursor() != head {
		t.Fatalf("cursor %d after the old holder's tick, want %d as b left it", b.cursor(), head)
	}
	// Now it knows: it asks for the lease, does not get it, does nothing.
	if err := a.w.Tick(t.Context()); !errors.Is(err, evm.ErrNotLeader) {
		t.Fatalf("the old holder's next Tick = %v, want ErrNotLeader", err)
	}
	if b.cursor() != head {
		t.Fatalf("cursor %d, want %d", b.cursor(), head)
	}
	b.tick()
	if b.cursor() != head+1 {
		t.Fatalf("b's cursor %d, want %d", b.cursor(), head+1)
	}
}

// lapsingStore is the real cursor store, but the chain's lease lapses right
// after each cursor save, as when a range took the whole TTL: the key is
// gone and the watcher's clock has moved on by a TTL.
type lapsingStore struct {
	evm.CursorStore
	expire func(ctx context.Context) error
}

func (s lapsingStore) SaveCursor(ctx context.Context, chain string, token uint64, u evm.CursorUpdate) error {
	if err := s.CursorStore.SaveCursor(ctx, chain, token, u); err != nil {
		return err
	}
	return s.expire(ctx)
}

// TestLeaseLapsesMidScan: a lease that lapsed between two ranges of a scan
// ends the pass (the watcher does not scan on with a lease it took again
// from scratch, nor with a cursor it has not reloaded); the next pass takes
// the lease and goes on from the stored cursor, reporting every transfer
// once.
func TestLeaseLapsesMidScan(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	f := newFixture(t, d, fixtureOpts{})
	const ttl = time.Minute
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	lapse := false
	st := lapsingStore{CursorStore: f.st.Cursors(), expire: func(ctx context.Context) error {
		if !lapse {
			return nil
		}
		now.Add(int64(ttl))
		return f.st.Client().Del(ctx, f.st.Keys().WatchLease(f.chain.ID)).Err()
	}}
	w := evm.NewWatcher(f.chain, f.pool, st, staticAddrs{f.watched}, f.sink,
		evm.Config{InitialRange: 1, MaxRange: 1, LeaseTTL: ttl, Metrics: f.metrics}, clock, testLogger(t))
	if err := w.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	usdt := d.Token(devnet.USDT)
	var want []chains.Transfer
	for i := range 3 {
		tx := f.pay(usdt, f.watched, int64(20+i))
		f.mine(1)
		want = append(want, f.expect(tx, f.watched, int64(20+i)))
	}
	lapse = true
	if err := w.Tick(t.Context()); !errors.Is(err, evm.ErrNotLeader) {
		t.Fatalf("Tick with the lease lapsing after the first range = %v, want ErrNotLeader", err)
	}
	if got, _, _ := f.sink.snapshot(); !sameTransfers(got, want[:1]) {
		t.Fatalf("reported %+v before the lease lapsed, want the first range's %+v", got, want[:1])
	}
	lapse = false
	if err := w.Tick(t.Context()); err != nil {
		t.Fatalf("Tick after the lapse: %v", err)
	}
	if got, _, _ := f.sink.snapshot(); !sameTransfers(got, want) {
		t.Fatalf("reported %+v, want each of %+v once", got, want)
	}
	if f.cursor() != f.head() {
		t.Fatalf("cursor %d, head %d", f.cursor(), f.head())
	}
}

// TestLagMetrics: lag in blocks and in seconds by the injected clock while
// a backfill is bounded by MaxRangesPerTick, and zero blocks once caught up.
func TestLagMetrics(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	var clockAt atomic.Pointer[time.Time]
	now := time.Now()
	clockAt.Store(&now)
	f := newFixture(t, d, fixtureOpts{
		cfg:   evm.Config{InitialRange: 10, MaxRange: 10, MaxRangesPerTick: 3},
		clock: func() time.Time { return *clockAt.Load() },
	})
	f.tick()
	head := f.mine(50)
	f.tick()
	scanned := f.cursor()
	if scanned != head-50+30 {
		t.Fatalf("cursor %d after one bounded tick, want %d", scanned, head-50+30)
	}
	h, err := f.eth.HeaderByNumber(t.Context(), new(big.Int).SetUint64(scanned))
	if err != nil {
		t.Fatal(err)
	}
	later := time.Unix(int64(h.Time), 0).Add(42 * time.Second)
	clockAt.Store(&later)
	if err := f.w.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	scanned = f.cursor()
	h, _ = f.eth.HeaderByNumber(t.Context(), new(big.Int).SetUint64(scanned))
	wantLag := later.Sub(time.Unix(int64(h.Time), 0)).Seconds()
	if got := f.counter("stablegate_evm_lag_blocks", nil); got != float64(head-scanned) {
		t.Fatalf("lag_blocks = %v, want %d", got, head-scanned)
	}
	if got := f.counter("stablegate_evm_lag_seconds", nil); got != wantLag {
		t.Fatalf("lag_seconds = %v, want %v", got, wantLag)
	}
	for f.cursor() < head {
		f.tick()
	}
	if got := f.counter("stablegate_evm_lag_blocks", nil); got != 0 {
		t.Fatalf("lag_blocks once caught up = %v, want 0", got)
	}
}

// TestNoAddresses: with nobody to watch, the cursor still follows the head
// and eth_getLogs is never called.
func TestNoAddresses(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	f := newFixture(t, d, fixtureOpts{})
	f.w = evm.NewWatcher(f.chain, f.pool, f.st.Cursors(), staticAddrs{}, f.sink, evm.Config{}, nil, testLogger(t))
	f.pay(d.Token(devnet.USDT), f.watched, 1)
	head := f.mine(5)
	f.tick()
	if f.cursor() != head || f.proxy.callCount("eth_getLogs") != 0 {
		t.Fatalf("cursor %d (head %d), %d eth_getLogs calls; want the head and none", f.cursor(), head, f.proxy.callCount("eth_getLogs"))
	}
}

// TestRunKeepsAndReleasesLease: Run renews its lease between polls far
// apart, so another replica cannot take it over while it lives; when Run
// ends it gives the lease up and the other replica takes over at once.
func TestRunKeepsAndReleasesLease(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	a := newFixture(t, d, fixtureOpts{cfg: evm.Config{LeaseTTL: 300 * time.Millisecond, PollInterval: time.Hour}})
	b := newFixture(t, d, fixtureOpts{})
	b.st = a.st
	b.w = evm.NewWatcher(b.chain, b.pool, b.st.Cursors(), staticAddrs{b.watched}, b.sink,
		evm.Config{LeaseTTL: time.Minute, Metrics: b.metrics}, nil, testLogger(t))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.w.Run(ctx) }()
	waitFor(t, "the first pass", func() bool {
		_, ok, _ := a.st.Cursors().LoadCursor(t.Context(), a.chain.ID)
		return ok
	})
	// Four TTLs with no poll in between: the lease must still be a's.
	for end := time.Now().Add(1200 * time.Millisecond); time.Now().Before(end); {
		if err := b.w.Tick(t.Context()); !errors.Is(err, evm.ErrNotLeader) {
			t.Fatalf("b's Tick while a runs = %v, want ErrNotLeader", err)
		}
		time.Sleep(20 * time.Millisecond) // a poll interval, not synchronisation
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := b.w.Tick(t.Context()); err != nil {
		t.Fatalf("b's Tick right after a stopped = %v, want the lease", err)
	}
}

// TestDeadWebSocket: a WebSocket endpoint that is down only loses the early
// wake-up; HTTP polling finds the transfer.
func TestDeadWebSocket(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	f := newFixture(t, d, fixtureOpts{cfg: evm.Config{PollInterval: 10 * time.Millisecond}})
	f.chain.WSURL = strings.Replace(deadURL(t), "http://", "ws://", 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.w.Run(ctx) }()
	tx := f.pay(d.Token(devnet.USDT), f.watched, 13)
	f.mine(1)
	waitFor(t, "the transfer", func() bool {
		got, _, _ := f.sink.snapshot()
		return len(got) == 1
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	got, _, _ := f.sink.snapshot()
	if want := f.expect(tx, f.watched, 13); !sameTransfers(got, []chains.Transfer{want}) {
		t.Fatalf("reported %+v, want %+v", got, want)
	}
}

// TestConfirmedWithoutTag: an endpoint that does not know the "finalized"
// tag makes the watcher confirm by the policy's fallback depth.
func TestConfirmedWithoutTag(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	f := newFixture(t, d, fixtureOpts{policy: chains.ConfirmationPolicy{Mode: chains.ConfirmFinalized, Blocks: 5}})
	f.proxy.set(func(p *faultProxy) { p.noTags = true })
	f.mine(3)
	f.tick()
	if got := f.sink.lastConfirmed(); got != 1 {
		t.Fatalf("head 5: Confirmed(%d), want 1", got)
	}
	for range 10 {
		head := f.mine(1)
		f.tick()
		if got := f.sink.lastConfirmed(); got != head-4 {
			t.Fatalf("head %d: Confirmed(%d), want %d", head, got, head-4)
		}
	}
	if n := f.counter("stablegate_evm_rpc_errors_total", nil); n != 0 {
		t.Fatalf("an unknown tag counted as %v RPC errors, want 0", n)
	}
}
