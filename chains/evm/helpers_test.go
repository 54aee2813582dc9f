package evm_test

import (
	"context"
	"errors"
	"log/slog"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/chains/evm"
	"github.com/stablegate/stablegate/chains/evm/devnet"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/store/storetest"
)

// waitTimeout bounds every poll.
const waitTimeout = 15 * time.Second

// recSink is a Sink that records what the watcher reports. In Confirmed it
// applies its policy to the heights, as the settlement side does for each
// payment, and asks the Verifier about every transfer at or below the
// result.
type recSink struct {
	policy    chains.ConfirmationPolicy
	mu        sync.Mutex
	transfers []chains.Transfer
	batches   int
	reorgs    []uint64
	confirmed []uint64
	canonical map[string]bool // transfer id@block hash -> last Canonical answer
	failNext  error           // returned once by the next Transfers
}

func newSink(policy chains.ConfirmationPolicy) *recSink {
	return &recSink{policy: policy, canonical: make(map[string]bool)}
}

func (s *recSink) Transfers(_ context.Context, chain string, ts []chains.Transfer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.failNext; err != nil {
		s.failNext = nil
		return err
	}
	for _, t := range ts {
		if t.Chain != chain {
			panic("transfer of chain " + t.Chain + " reported for " + chain)
		}
	}
	s.transfers = append(s.transfers, ts...)
	s.batches++
	return nil
}

func (s *recSink) Reorg(_ context.Context, _ string, from uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reorgs = append(s.reorgs, from)
	return nil
}

func (s *recSink) Confirmed(ctx context.Context, _ string, h chains.Heights, v evm.Verifier) error {
	height := h.Confirmed(s.policy)
	s.mu.Lock()
	s.confirmed = append(s.confirmed, height)
	ts := slices.Clone(s.transfers)
	s.mu.Unlock()
	for _, t := range ts {
		if t.BlockNumber > height {
			continue
		}
		ok, err := v.Canonical(ctx, t)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.canonical[t.ID()+"@"+t.BlockHash] = ok
		s.mu.Unlock()
	}
	return nil
}

func (s *recSink) snapshot() (ts []chains.Transfer, reorgs, confirmed []uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.transfers), slices.Clone(s.reorgs), slices.Clone(s.confirmed)
}

func (s *recSink) lastConfirmed() uint64 {
	_, _, c := s.snapshot()
	if len(c) == 0 {
		return 0
	}
	return c[len(c)-1]
}

func (s *recSink) canonicalOf(t chains.Transfer) (ok, known bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ok, known = s.canonical[t.ID()+"@"+t.BlockHash]
	return ok, known
}

// staticAddrs is an AddressSource with a fixed list.
type staticAddrs []common.Address

func (a staticAddrs) Addresses(context.Context, string) ([]common.Address, error) { return a, nil }

// startDevnet starts a manually mined devnet, closed when the test ends.
func startDevnet(t *testing.T) *devnet.Devnet {
	t.Helper()
	d, err := devnet.Start(t.Context(), devnet.Options{BlockTime: -1})
	if err != nil {
		t.Fatalf("devnet: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func dial(t *testing.T, url string) *ethclient.Client {
	t.Helper()
	c, err := ethclient.DialContext(t.Context(), url)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// devChain describes a devnet as a registry chain. tokens maps symbols to
// contracts; only those are in the registry.
func devChain(id string, chainID uint64, urls []string, policy chains.ConfirmationPolicy, tokens ...chains.Token) *chains.Chain {
	c := &chains.Chain{
		ID: id, Name: "Test " + id, Kind: chains.KindEVM, ChainID: chainID, Testnet: true,
		RPCURLs: urls, BlockTime: time.Second, Confirmation: policy,
		FeeClass: chains.FeeLow, NativeSymbol: "ETH", Tokens: tokens,
	}
	reg, err := chains.NewRegistry(c)
	if err != nil {
		panic(err)
	}
	out, _ := reg.Chain(id)
	return out
}

func usdtOf(d *devnet.Devnet) chains.Token {
	return chains.Token{Symbol: "USDT", Contract: d.Token(devnet.USDT).Hex(), Decimals: devnet.TokenDecimals}
}

var blocks = func(n uint64) chains.ConfirmationPolicy {
	return chains.ConfirmationPolicy{Mode: chains.ConfirmBlocks, Blocks: n}
}

// fixture is one watcher over a devnet, through a fault proxy, with its own
// Redis prefix and metrics registry.
type fixture struct {
	t       *testing.T
	d       *devnet.Devnet
	eth     *ethclient.Client
	proxy   *faultProxy
	st      *store.Store
	chain   *chains.Chain
	pool    *evm.Pool
	sink    *recSink
	reg     *prometheus.Registry
	metrics *evm.Metrics
	w       *evm.Watcher
	watched common.Address
}

type fixtureOpts struct {
	policy  chains.ConfirmationPolicy
	cfg     evm.Config
	poolCfg evm.PoolConfig
	addrs   []common.Address // besides the watched one
	clock   func() time.Time // the watcher's; default time.Now
	urls    func(proxy string) []string
}

func newFixture(t *testing.T, d *devnet.Devnet, o fixtureOpts) *fixture {
	t.Helper()
	if o.policy.Mode == "" {
		o.policy = blocks(1)
	}
	f := &fixture{t: t, d: d, eth: dial(t, d.RPCURL()), proxy: newFaultProxy(t, d.RPCURL()),
		st: storetest.New(t), reg: prometheus.NewRegistry(), watched: newAddress(t)}
	urls := []string{f.proxy.URL()}
	if o.urls != nil {
		urls = o.urls(f.proxy.URL())
	}
	f.chain = devChain("devnet", d.ChainID(), urls, o.policy, usdtOf(d))
	f.sink = newSink(o.policy)
	var err error
	if f.metrics, err = evm.NewMetrics(f.reg); err != nil {
		t.Fatal(err)
	}
	pc := o.poolCfg
	pc.Chain, pc.ChainID, pc.Metrics = f.chain.ID, f.chain.ChainID, f.metrics
	if pc.BackoffMin == 0 {
		pc.BackoffMin, pc.BackoffMax = time.Millisecond, 5*time.Millisecond
	}
	if f.pool, err = evm.NewPool(f.chain.RPCURLs, pc, nil, testLogger(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.pool.Close)
	cfg := o.cfg
	cfg.Metrics = f.metrics
	f.w = evm.NewWatcher(f.chain, f.pool, f.st.Cursors(), staticAddrs(append([]common.Address{f.watched}, o.addrs...)), f.sink, cfg, o.clock, testLogger(t))
	return f
}

// tick runs one Tick and fails the test on an error.
func (f *fixture) tick() {
	f.t.Helper()
	if err := f.w.Tick(f.t.Context()); err != nil {
		f.t.Fatalf("Tick: %v", err)
	}
}

// pay sends amount of token from the faucet to `to` and returns the hash; the
// next Commit mines it.
func (f *fixture) pay(token, to common.Address, amount int64) common.Hash {
	f.t.Helper()
	h, err := f.d.Transfer(f.t.Context(), token, to, big.NewInt(amount))
	if err != nil {
		f.t.Fatalf("transfer: %v", err)
	}
	return h
}

// mine commits n blocks and returns the last one's height.
func (f *fixture) mine(n int) uint64 {
	f.t.Helper()
	for range n {
		f.d.Commit()
	}
	return f.head()
}

// fork makes the chain branch off below block n: the next blocks mined
// replace n and the ones after it. With drop, the new branch leaves out
// the transactions of the orphaned blocks; without, it includes them again.
func (f *fixture) fork(n uint64, drop bool) {
	f.t.Helper()
	parent, err := f.eth.HeaderByNumber(f.t.Context(), new(big.Int).SetUint64(n-1))
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.d.Backend().Fork(parent.Hash()); err != nil {
		f.t.Fatalf("Fork: %v", err)
	}
	if drop {
		f.d.Backend().Rollback()
	}
}

func (f *fixture) head() uint64 {
	f.t.Helper()
	n, err := f.eth.BlockNumber(f.t.Context())
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// cursor returns the stored cursor height.
func (f *fixture) cursor() uint64 {
	f.t.Helper()
	c, ok, err := f.st.Cursors().LoadCursor(f.t.Context(), f.chain.ID)
	if err != nil || !ok {
		f.t.Fatalf("LoadCursor: %v, %v", ok, err)
	}
	return c.Head.Number
}

// expect builds the transfer the watcher must report for tx, read back from
// the node independently of the watcher.
func (f *fixture) expect(tx common.Hash, to common.Address, amount int64) chains.Transfer {
	f.t.Helper()
	ctx := f.t.Context()
	r, err := f.eth.TransactionReceipt(ctx, tx)
	if err != nil {
		f.t.Fatalf("receipt of %s: %v", tx, err)
	}
	h, err := f.eth.HeaderByHash(ctx, r.BlockHash)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(r.Logs) != 1 {
		f.t.Fatalf("receipt of %s has %d logs", tx, len(r.Logs))
	}
	return chains.Transfer{
		Chain: f.chain.ID, TxHash: tx.Hex(), LogIndex: r.Logs[0].Index,
		BlockNumber: r.BlockNumber.Uint64(), BlockHash: r.BlockHash.Hex(), BlockTime: int64(h.Time),
		From: devnet.FaucetAddress.Hex(), To: to.Hex(), Token: f.chain.Tokens[0].Contract, Amount: big.NewInt(amount),
	}
}

// counter returns the value of a counter of f's registry with the given
// labels, 0 when it has none yet.
func (f *fixture) counter(name string, labels map[string]string) float64 {
	return metricValue(f.t, f.reg, name, labels)
}

func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			return valueOf(m)
		}
	}
	return 0
}

func valueOf(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}

func newAddress(t *testing.T) common.Address {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return crypto.PubkeyToAddress(key.PublicKey)
}

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // a poll interval, not synchronisation
	}
}

// sameTransfers compares transfers field by field, amounts by value.
func sameTransfers(got, want []chains.Transfer) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Amount == nil || w.Amount == nil || g.Amount.Cmp(w.Amount) != 0 {
			return false
		}
		g.Amount, w.Amount = nil, nil
		if !reflect.DeepEqual(g, w) {
			return false
		}
	}
	return true
}

// testLogger writes the watcher's logs to the test log, and fails the test
// if any line carries the secret marker every test URL secret uses.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// secretMarker is put in test URLs where a provider puts its API key.
const secretMarker = "SECRETAPIKEY"

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), secretMarker) {
		w.t.Errorf("a log line holds an RPC URL secret: %s", p)
	}
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// receiptOf returns the receipt of tx from the node.
func receiptOf(t *testing.T, c *ethclient.Client, tx common.Hash) *types.Receipt {
	t.Helper()
	r, err := c.TransactionReceipt(t.Context(), tx)
	if err != nil {
		t.Fatalf("receipt of %s: %v", tx, err)
	}
	return r
}

var errInjected = errors.New("injected sink failure")
