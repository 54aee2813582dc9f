package evm_test

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/chains/evm"
	"github.com/stablegate/stablegate/chains/evm/devnet"
)

// deadURL returns the URL of a port nothing listens on, with a fake API key
// in the path as providers put it.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/v3/" + secretMarker
}

// TestFailover: the first endpoint fails in one of several ways; the watcher
// carries on through the second, counts the error against endpoint 0 and
// leaves endpoint 0 alone while it is demoted.
func TestFailover(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		first func(t *testing.T, d *devnet.Devnet) string
		kind  string
	}{
		{"connection refused", func(t *testing.T, _ *devnet.Devnet) string { return deadURL(t) }, "transport"},
		{"connection reset", func(t *testing.T, d *devnet.Devnet) string {
			p := newFaultProxy(t, d.RPCURL())
			p.set(func(p *faultProxy) { p.reset = true })
			return p.URL() + "/" + secretMarker
		}, "transport"},
		{"HTTP 503", func(t *testing.T, d *devnet.Devnet) string {
			p := newFaultProxy(t, d.RPCURL())
			p.set(func(p *faultProxy) { p.status = http.StatusServiceUnavailable })
			return p.URL() + "/?key=" + secretMarker
		}, "transport"},
		{"hangs", func(t *testing.T, d *devnet.Devnet) string {
			p := newFaultProxy(t, d.RPCURL())
			p.set(func(p *faultProxy) { p.hang = true })
			return p.URL()
		}, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := startDevnet(t)
			first := tt.first(t, d)
			f := newFixture(t, d, fixtureOpts{
				urls:    func(good string) []string { return []string{first, good} },
				poolCfg: evm.PoolConfig{CallTimeout: 300 * time.Millisecond},
			})
			tx := f.pay(d.Token(devnet.USDT), f.watched, 77)
			f.mine(1)
			f.tick()
			got, _, _ := f.sink.snapshot()
			if want := f.expect(tx, f.watched, 77); !sameTransfers(got, []chains.Transfer{want}) {
				t.Fatalf("reported %+v, want %+v", got, want)
			}
			labels := map[string]string{"chain": "devnet", "endpoint": "0", "kind": tt.kind}
			errs := f.counter("stablegate_evm_rpc_errors_total", labels)
			if errs < 1 {
				t.Fatalf("rpc_errors_total%v = %v, want at least 1", labels, errs)
			}
			if other := f.counter("stablegate_evm_rpc_errors_total", map[string]string{"endpoint": "1"}); other != 0 {
				t.Fatalf("errors counted against the good endpoint: %v", other)
			}
			st := f.pool.Status()
			if st[0].Reason != "errors" || st[0].Failures < 1 || st[1].Reason != "" {
				t.Fatalf("status %+v, want endpoint 0 demoted for errors and 1 healthy", st)
			}
			if strings.Contains(st[0].Host, secretMarker) {
				t.Fatalf("status host %q holds the secret", st[0].Host)
			}
			// While demoted, endpoint 0 is not tried again.
			for range 3 {
				f.mine(1)
				f.tick()
			}
			if again := f.counter("stablegate_evm_rpc_errors_total", labels); again != errs {
				t.Fatalf("errors against the demoted endpoint went from %v to %v", errs, again)
			}
		})
	}
}

// TestAllEndpointsDown: the error names endpoints by index and host only.
func TestAllEndpointsDown(t *testing.T) {
	t.Parallel()
	pool, err := evm.NewPool([]string{deadURL(t), deadURL(t)}, evm.PoolConfig{Chain: "x",
		BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond}, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ok, err := pool.Canonical(t.Context(), chains.Transfer{BlockNumber: 1, BlockHash: common.Hash{1}.Hex(), TxHash: common.Hash{2}.Hex()})
	if err == nil || ok {
		t.Fatalf("Canonical with every endpoint down = %v, %v; want an error", ok, err)
	}
	if strings.Contains(err.Error(), secretMarker) || !strings.Contains(err.Error(), "rpc endpoint") || !strings.Contains(err.Error(), "4 attempts failed") {
		t.Fatalf("error %q: want 4 attempts, endpoints named without their secret", err)
	}
}

// TestProbeDemotesLaggingAndForked: of four endpoints, one is 20 blocks
// behind and one reports other block hashes; a probe demotes both, the
// watcher uses a good one and sees no reorg, and both come back once they
// recover.
func TestProbeDemotesLaggingAndForked(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	lagging, forked, second := newFaultProxy(t, d.RPCURL()), newFaultProxy(t, d.RPCURL()), newFaultProxy(t, d.RPCURL())
	lagging.set(func(p *faultProxy) { p.lag = 20 })
	forked.set(func(p *faultProxy) { p.forkHash = true })
	f := newFixture(t, d, fixtureOpts{
		urls: func(good string) []string { return []string{lagging.URL(), forked.URL(), good, second.URL()} },
	})
	f.mine(30)
	tx := f.pay(d.Token(devnet.USDT), f.watched, 3)
	f.mine(1)
	f.tick() // probes first: nothing was probed yet

	st := f.pool.Status()
	if st[0].Reason != "lagging" || st[1].Reason != "forked" || st[2].Reason != "" || st[3].Reason != "" {
		t.Fatalf("status %+v, want lagging, forked, healthy, healthy", st)
	}
	head := f.head()
	if st[0].Head != head-20 || st[2].Head != head {
		t.Fatalf("probed heads %d and %d, want %d and %d", st[0].Head, st[2].Head, head-20, head)
	}
	if f.cursor() != head {
		t.Fatalf("cursor %d, want the head %d", f.cursor(), head)
	}
	for i, p := range []*faultProxy{lagging, forked} {
		if n := p.callCount("eth_getLogs"); n != 0 {
			t.Fatalf("demoted endpoint %d served %d eth_getLogs", i, n)
		}
	}
	got, reorgs, _ := f.sink.snapshot()
	if want := f.expect(tx, f.watched, 3); !sameTransfers(got, []chains.Transfer{want}) || len(reorgs) != 0 {
		t.Fatalf("reported %+v, reorgs %v; want %+v and no reorg", got, reorgs, want)
	}
	for _, k := range []struct{ endpoint, kind string }{{"0", "lagging"}, {"1", "forked"}} {
		if n := f.counter("stablegate_evm_rpc_errors_total", map[string]string{"endpoint": k.endpoint, "kind": k.kind}); n != 1 {
			t.Fatalf("rpc_errors_total{endpoint=%s,kind=%s} = %v, want 1", k.endpoint, k.kind, n)
		}
	}

	lagging.set(func(p *faultProxy) { p.lag = 0 })
	forked.set(func(p *faultProxy) { p.forkHash = false })
	f.pool.Probe(t.Context())
	for i, s := range f.pool.Status() {
		if s.Reason != "" {
			t.Fatalf("endpoint %d still demoted after recovering: %+v", i, s)
		}
	}
}

// withLiar returns a fixture over three endpoints of d, the first, the best
// ranked, through a proxy the test can make lie, and no probe but the ones
// the watcher asks for.
func withLiar(t *testing.T, d *devnet.Devnet) (*fixture, *faultProxy) {
	t.Helper()
	liar, second := newFaultProxy(t, d.RPCURL()), newFaultProxy(t, d.RPCURL())
	f := newFixture(t, d, fixtureOpts{
		urls:    func(good string) []string { return []string{liar.URL(), good, second.URL()} },
		poolCfg: evm.PoolConfig{ProbeInterval: time.Hour},
	})
	return f, liar
}

// TestForkedEndpointCausesNoReorg: when the best endpoint starts lying about
// a block hash the watcher has kept, the watcher asks the majority before
// reverting anything.
func TestForkedEndpointCausesNoReorg(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	f, liar := withLiar(t, d)
	f.pay(d.Token(devnet.USDT), f.watched, 3)
	f.mine(1)
	f.tick()
	liar.set(func(p *faultProxy) { p.forkHash = true })
	f.mine(1)
	f.tick()
	f.mine(1)
	f.tick()
	got, reorgs, _ := f.sink.snapshot()
	if len(reorgs) != 0 || len(got) != 1 {
		t.Fatalf("reorgs %v, transfers %d; want no reorg and the one transfer", reorgs, len(got))
	}
	if st := f.pool.Status(); st[0].Reason != "forked" {
		t.Fatalf("status %+v, want endpoint 0 demoted as forked", st)
	}
	if f.cursor() != f.head() {
		t.Fatalf("cursor %d, head %d", f.cursor(), f.head())
	}
}

// TestForkedEndpointRevertsNothing: when the best endpoint lies about the
// block of a transfer being confirmed, the majority decides: the transfer
// is still canonical and the liar is demoted. A transfer that really left
// the chain is still found gone.
func TestForkedEndpointRevertsNothing(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	f, liar := withLiar(t, d)
	tx := f.pay(d.Token(devnet.USDT), f.watched, 5)
	f.mine(1)
	tr := f.expect(tx, f.watched, 5)
	liar.set(func(p *faultProxy) { p.forkHash = true })
	if ok, err := f.pool.Canonical(t.Context(), tr); err != nil || !ok {
		t.Fatalf("Canonical with the best endpoint lying = %v, %v; want true", ok, err)
	}
	if st := f.pool.Status(); st[0].Reason != "forked" {
		t.Fatalf("status %+v, want endpoint 0 demoted as forked", st)
	}
	gone := tr
	gone.BlockHash = common.Hash{1}.Hex()
	if ok, err := f.pool.Canonical(t.Context(), gone); err != nil || ok {
		t.Fatalf("Canonical of a transfer in another block = %v, %v; want false", ok, err)
	}
}

// TestWrongChainEndpoint: an endpoint of another chain (another chain id) is
// never used.
func TestWrongChainEndpoint(t *testing.T) {
	t.Parallel()
	d := startDevnet(t)
	other, err := devnet.Start(t.Context(), devnet.Options{BlockTime: -1, ChainID: 999})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	f := newFixture(t, d, fixtureOpts{urls: func(good string) []string { return []string{other.RPCURL(), good} }})
	tx := f.pay(d.Token(devnet.USDT), f.watched, 4)
	f.mine(1)
	f.tick()
	got, _, _ := f.sink.snapshot()
	if want := f.expect(tx, f.watched, 4); !sameTransfers(got, []chains.Transfer{want}) {
		t.Fatalf("reported %+v, want %+v", got, want)
	}
	if st := f.pool.Status(); st[0].Reason != "wrong_chain" || st[1].Reason != "" {
		t.Fatalf("status %+v, want endpoint 0 unusable", st)
	}
	if n := f.counter("stablegate_evm_rpc_errors_total", map[string]string{"endpoint": "0", "kind": "chain_id"}); n != 1 {
		t.Fatalf("rpc_errors_total{kind=chain_id} = %v, want 1", n)
	}
}
