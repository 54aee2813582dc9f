package evm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/stablegate/stablegate/chains"
)

// PoolConfig configures a Pool. Zero fields take the documented defaults.
type PoolConfig struct {
	// Chain is the registry id of the chain, used in metric labels and logs.
	Chain string
	// ChainID, when not zero, is the EVM chain id every endpoint must report
	// (eth_chainId, checked on first use): an endpoint of another chain is
	// never used, since its blocks would look like one long reorg.
	ChainID uint64
	// CallTimeout bounds each JSON-RPC call. Default 10s.
	CallTimeout time.Duration
	// Attempts is how many calls one operation makes at most, moving to the
	// next endpoint after each failure. Default 2 per endpoint, at least 3.
	Attempts int
	// BackoffMin and BackoffMax bound the wait before an operation goes
	// back to an endpoint it already tried; the wait doubles each round.
	// Defaults 100ms and 2s.
	BackoffMin, BackoffMax time.Duration
	// DemoteMin and DemoteMax bound how long an endpoint that failed a call
	// is tried only after the healthy ones; the time doubles with each
	// consecutive failure and a success ends it. Defaults 5s and 5m.
	DemoteMin, DemoteMax time.Duration
	// MaxLag is how many blocks an endpoint's head may be behind the best
	// head of the pool before a probe demotes it. Default 10; chains with
	// sub-second blocks want more.
	MaxLag uint64
	// ProbeInterval is how often the watcher asks every endpoint for its
	// head, to demote the ones behind or on another fork. Default 30s.
	ProbeInterval time.Duration
	// Metrics receives the RPC error counts; nil records none.
	Metrics *Metrics
}

func (c PoolConfig) withDefaults(n int) PoolConfig {
	if c.CallTimeout <= 0 {
		c.CallTimeout = 10 * time.Second
	}
	if c.Attempts <= 0 {
		c.Attempts = max(3, 2*n)
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = 100 * time.Millisecond
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = max(2*time.Second, c.BackoffMin)
	}
	if c.DemoteMin <= 0 {
		c.DemoteMin = 5 * time.Second
	}
	if c.DemoteMax < c.DemoteMin {
		c.DemoteMax = max(5*time.Minute, c.DemoteMin)
	}
	if c.MaxLag == 0 {
		c.MaxLag = 10
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = 30 * time.Second
	}
	return c
}

// Pool spreads JSON-RPC calls over a chain's endpoints: the healthy ones in
// configured order (the operator's preference) first, then the demoted ones.
// It is safe for concurrent use.
type Pool struct {
	cfg   PoolConfig
	clock func() time.Time
	log   *slog.Logger
	eps   []*endpoint

	mu        sync.Mutex // guards the health fields of eps and lastProbe
	lastProbe time.Time
}

// endpoint is one RPC URL with its health.
type endpoint struct {
	index   int
	host    string
	secrets []string // spellings of the URL to cut out of error messages
	rpc     *rpc.Client

	health
	head         uint64 // from the last probe
	chainChecked bool
	// noBatchUntil (unix ns) is set when the endpoint refused a batch
	// request: until then it is asked one call at a time.
	noBatchUntil atomic.Int64
}

// health is what ranks an endpoint.
type health struct {
	failures     int       // consecutive failed calls
	demotedUntil time.Time // after a failure: tried after the healthy ones until then
	lagging      bool      // the last probe found it behind the best head
	forked       bool      // the last probe found it on a minority block hash
	wrongChain   bool      // it serves another chain: never used
}

// Ranks, best first. A lagging endpoint still serves correct data, only
// late; a failing one serves none; a forked one serves wrong data, so it is
// the last resort.
const (
	tierHealthy = iota
	tierLagging
	tierFailing
	tierForked
	tierUnusable
)

func (h health) tier(now time.Time) int {
	switch {
	case h.wrongChain:
		return tierUnusable
	case h.forked:
		return tierForked
	case h.demotedUntil.After(now):
		return tierFailing
	case h.lagging:
		return tierLagging
	}
	return tierHealthy
}

func (h health) reason(now time.Time) string {
	switch h.tier(now) {
	case tierUnusable:
		return "wrong_chain"
	case tierForked:
		return "forked"
	case tierFailing:
		return "errors"
	case tierLagging:
		return "lagging"
	}
	return ""
}

// rank returns the indexes of the usable endpoints, best first: by tier,
// failing ones by the end of their demotion (the one that failed longest
// ago first), then in configured order.
func rank(hs []health, now time.Time) []int {
	order := make([]int, 0, len(hs))
	for i, h := range hs {
		if h.tier(now) != tierUnusable {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ta, tb := hs[a].tier(now), hs[b].tier(now)
		if ta != tb {
			return ta - tb
		}
		if ta == tierFailing {
			return hs[a].demotedUntil.Compare(hs[b].demotedUntil)
		}
		return 0
	})
	return order
}

// demotion returns how long an endpoint with n consecutive failures is
// demoted: min doubled n-1 times, at most max.
func demotion(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// NewPool returns a pool over urls (http or https). It does not connect:
// endpoints are dialled lazily, so a dead one does not stop start-up. clock
// defaults to time.Now and log to slog.Default().
func NewPool(urls []string, cfg PoolConfig, clock func() time.Time, log *slog.Logger) (*Pool, error) {
	if len(urls) == 0 {
		return nil, errors.New("evm pool: no RPC URL")
	}
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	p := &Pool{cfg: cfg.withDefaults(len(urls)), clock: clock, log: log.With("chain", cfg.Chain)}
	for i, u := range urls {
		ep := &endpoint{index: i, host: hostOf(u), secrets: urlForms(u)}
		c, err := rpc.DialOptions(context.Background(), u)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("evm pool: endpoint %d (%s): %w", i, ep.host, ep.sanitize(err))
		}
		ep.rpc = c
		p.eps = append(p.eps, ep)
	}
	return p, nil
}

// Close closes every endpoint's client.
func (p *Pool) Close() {
	for _, ep := range p.eps {
		if ep.rpc != nil {
			ep.rpc.Close()
		}
	}
}

// EndpointStatus is the health of one endpoint, for /readyz and tests.
type EndpointStatus struct {
	Index    int    // position in the configured URL list
	Host     string // host of the URL; never the path or query, which may hold a key
	Head     uint64 // head height at the last probe, 0 before one
	Failures int    // consecutive failed calls
	// Reason is why the endpoint is demoted: "errors", "lagging",
	// "forked", "wrong_chain"; "" when it is healthy.
	Reason string
}

// Status returns the health of every endpoint, in configured order.
func (p *Pool) Status() []EndpointStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock()
	out := make([]EndpointStatus, len(p.eps))
	for i, ep := range p.eps {
		out[i] = EndpointStatus{Index: i, Host: ep.host, Head: ep.head, Failures: ep.failures, Reason: ep.reason(now)}
	}
	return out
}

// finalError is an error that is the answer to an operation rather than a
// failure of the endpoint: do returns it at once instead of trying another.
type finalError struct{ err error }

func (e *finalError) Error() string { return e.err.Error() }
func (e *finalError) Unwrap() error { return e.err }

// final marks err as the answer: do returns it without trying another
// endpoint or demoting this one.
func final(err error) error { return &finalError{err} }

// do runs fn on the best endpoint and, while it fails, on the next best,
// up to the configured attempts, waiting with backoff before going back to
// an endpoint already tried. Each failure demotes the endpoint and counts in
// the errors metric; an error fn marks with final ends do at once. op names
// the operation in errors.
func (p *Pool) do(ctx context.Context, op string, fn func(ctx context.Context, c conn) error) error {
	var last error
	tried := make(map[int]bool, len(p.eps))
	backoff := p.cfg.BackoffMin
	for range p.cfg.Attempts {
		ep := p.pick()
		if ep == nil {
			return fmt.Errorf("%s: no usable RPC endpoint (every one serves another chain)", op)
		}
		if tried[ep.index] {
			if err := wait(ctx, backoff); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			backoff = min(2*backoff, p.cfg.BackoffMax)
			clear(tried)
		}
		tried[ep.index] = true
		c := conn{p: p, ep: ep}
		err := p.ready(ctx, c)
		if err == nil {
			err = fn(ctx, c)
		}
		if err == nil {
			p.succeeded(ep)
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", op, ctx.Err())
		}
		var fe *finalError
		if errors.As(err, &fe) {
			if errors.As(err, new(*rangeError)) {
				p.count(ep, kindLimit)
			}
			return fe.err
		}
		last = err
		p.failed(ep, classify(ctx, err), err)
	}
	return fmt.Errorf("%s: %d attempts failed, last: %w", op, p.cfg.Attempts, last)
}

// pick returns the best usable endpoint, or nil.
func (p *Pool) pick() *endpoint {
	p.mu.Lock()
	defer p.mu.Unlock()
	order := rank(p.healths(), p.clock())
	if len(order) == 0 {
		return nil
	}
	return p.eps[order[0]]
}

// healths returns the endpoints' health; p.mu must be held.
func (p *Pool) healths() []health {
	hs := make([]health, len(p.eps))
	for i, ep := range p.eps {
		hs[i] = ep.health
	}
	return hs
}

// ready checks, once per endpoint, that it serves the configured chain.
func (p *Pool) ready(ctx context.Context, c conn) error {
	if p.cfg.ChainID == 0 {
		return nil
	}
	p.mu.Lock()
	checked := c.ep.chainChecked
	p.mu.Unlock()
	if checked {
		return nil
	}
	id, err := c.chainID(ctx)
	if err != nil {
		return fmt.Errorf("eth_chainId: %w", err)
	}
	p.mu.Lock()
	c.ep.chainChecked = true
	c.ep.wrongChain = id != p.cfg.ChainID
	p.mu.Unlock()
	if id != p.cfg.ChainID {
		p.count(c.ep, kindChainID)
		p.log.Error("rpc endpoint serves another chain; it will not be used",
			"endpoint", c.ep.index, "host", c.ep.host, "chain_id", id, "want_chain_id", p.cfg.ChainID)
		return fmt.Errorf("rpc endpoint %d (%s) reports chain id %d, want %d", c.ep.index, c.ep.host, id, p.cfg.ChainID)
	}
	return nil
}

func (p *Pool) succeeded(ep *endpoint) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ep.failures = 0
	ep.demotedUntil = time.Time{}
}

func (p *Pool) failed(ep *endpoint, kind errorKind, err error) {
	p.mu.Lock()
	if ep.wrongChain {
		p.mu.Unlock()
		return // counted and logged once by ready
	}
	ep.failures++
	d := demotion(ep.failures, p.cfg.DemoteMin, p.cfg.DemoteMax)
	ep.demotedUntil = p.clock().Add(d)
	n := ep.failures
	p.mu.Unlock()
	p.count(ep, kind)
	p.log.Warn("rpc call failed; endpoint demoted", "endpoint", ep.index, "host", ep.host,
		"kind", string(kind), "failures", n, "demoted_for", d.String(), "err", err)
}

func (p *Pool) count(ep *endpoint, kind errorKind) {
	p.cfg.Metrics.rpcError(p.cfg.Chain, ep.index, kind)
}

// probeIfDue runs Probe when ProbeInterval has passed since the last one.
// A pool of one endpoint has nothing to compare and never probes.
func (p *Pool) probeIfDue(ctx context.Context) {
	if len(p.eps) < 2 {
		return
	}
	p.mu.Lock()
	due := p.lastProbe.IsZero() || p.clock().Sub(p.lastProbe) >= p.cfg.ProbeInterval
	p.mu.Unlock()
	if due {
		p.Probe(ctx)
	}
}

// Probe asks every usable endpoint for its head, then for the hash of the
// highest block all the ones near the best head have. An endpoint more than
// MaxLag blocks behind is demoted as lagging; one whose hash differs from the
// majority's is demoted as forked (with no strict majority, such as one
// against one, nobody is). A probe's verdicts replace the previous ones.
func (p *Pool) Probe(ctx context.Context) {
	p.mu.Lock()
	p.lastProbe = p.clock()
	var eps []*endpoint
	for _, ep := range p.eps {
		if !ep.wrongChain {
			eps = append(eps, ep)
		}
	}
	p.mu.Unlock()

	heads := make([]*header, len(eps))
	p.each(ctx, eps, func(i int, c conn) error {
		h, err := c.header(ctx, rpc.LatestBlockNumber)
		heads[i] = h
		return err
	})
	var best uint64
	for _, h := range heads {
		if h != nil {
			best = max(best, uint64(h.Number))
		}
	}
	// The common height: the lowest head among those near the best.
	at := best
	for _, h := range heads {
		if h != nil && uint64(h.Number)+p.cfg.MaxLag >= best {
			at = min(at, uint64(h.Number))
		}
	}
	hashes := make([]*header, len(eps))
	var ask []*endpoint // near the best head but above the common height
	var askAt []int
	for i, h := range heads {
		switch {
		case h == nil || uint64(h.Number)+p.cfg.MaxLag < best:
		case uint64(h.Number) == at:
			hashes[i] = h
		default:
			ask, askAt = append(ask, eps[i]), append(askAt, i)
		}
	}
	p.each(ctx, ask, func(i int, c conn) error {
		h, err := c.headerAt(ctx, at)
		hashes[askAt[i]] = h
		return err
	})
	votes := make(map[common.Hash]int)
	for _, h := range hashes {
		if h != nil {
			votes[h.Hash]++
		}
	}
	majority, top, tie := common.Hash{}, 0, false
	for hash, n := range votes {
		switch {
		case n > top:
			majority, top, tie = hash, n, false
		case n == top:
			tie = true
		}
	}
	if tie {
		p.log.Warn("rpc endpoints disagree about a block hash with no majority", "height", at, "hashes", len(votes))
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	for i, ep := range eps {
		if heads[i] == nil {
			continue // the failure already demoted it
		}
		ep.head = uint64(heads[i].Number)
		lagging := ep.head+p.cfg.MaxLag < best
		forked := !tie && hashes[i] != nil && hashes[i].Hash != majority
		if lagging && !ep.lagging {
			p.log.Warn("rpc endpoint is behind; demoted", "endpoint", ep.index, "host", ep.host, "head", ep.head, "best_head", best)
		}
		if forked && !ep.forked {
			p.log.Warn("rpc endpoint reports another block hash than the majority; demoted",
				"endpoint", ep.index, "host", ep.host, "height", at, "hash", hashes[i].Hash, "majority_hash", majority)
		}
		ep.lagging, ep.forked = lagging, forked
		if lagging {
			p.count(ep, kindLagging)
		}
		if forked {
			p.count(ep, kindForked)
		}
	}
}

// each runs fn on every endpoint concurrently, counting and demoting on
// failure like do, without retries.
func (p *Pool) each(ctx context.Context, eps []*endpoint, fn func(i int, c conn) error) {
	var wg sync.WaitGroup
	for i, ep := range eps {
		wg.Go(func() {
			c := conn{p: p, ep: ep}
			err := p.ready(ctx, c)
			if err == nil {
				err = fn(i, c)
			}
			switch {
			case err == nil:
				p.succeeded(ep)
			case ctx.Err() == nil:
				p.failed(ep, classify(ctx, err), err)
			}
		})
	}
	wg.Wait()
}

var _ Verifier = (*Pool)(nil)

// Canonical implements Verifier: the transfer's block must still be the
// canonical block at its height, and its transaction's receipt must have
// succeeded in that block and still hold the log, unchanged. Both are read
// from one endpoint. A block or receipt the endpoint does not have (yet) is
// an error, not a verdict: a lagging or load-balanced endpoint must never
// revert a real payment, and a chain that really got shorter is a reorg the
// watcher reports itself.
//
// A transfer one endpoint says is gone is checked again after the majority
// spoke, as the watcher does before a reorg: a payment reverted here is
// never scanned again, so one forked endpoint must not revert it. (Two
// endpoints that disagree make no majority; the verdict then stands.)
func (p *Pool) Canonical(ctx context.Context, t chains.Transfer) (bool, error) {
	ok, err := p.canonical(ctx, t)
	if err == nil && !ok && len(p.eps) > 1 {
		p.Probe(ctx)
		if ok, err = p.canonical(ctx, t); ok {
			p.log.Warn("an rpc endpoint said a transfer left the chain; the majority did not", "transfer", t.ID())
		}
	}
	return ok, err
}

// canonical is Canonical's verdict on the best endpoint alone.
func (p *Pool) canonical(ctx context.Context, t chains.Transfer) (bool, error) {
	var ok bool
	err := p.do(ctx, "verify transfer", func(ctx context.Context, c conn) error {
		ok = false
		h, err := c.headerAt(ctx, t.BlockNumber)
		if errors.Is(err, errNotFound) {
			return final(errNotFound)
		}
		if err != nil {
			return err
		}
		if h.Hash != common.HexToHash(t.BlockHash) {
			return nil
		}
		r, err := c.receipt(ctx, common.HexToHash(t.TxHash))
		if errors.Is(err, errNotFound) {
			return final(errNotFound)
		}
		if err != nil {
			return err
		}
		ok = receiptHolds(r, t)
		return nil
	})
	if errors.Is(err, errNotFound) {
		return false, fmt.Errorf("verify transfer %s: block or receipt not available yet: %w", t.ID(), err)
	}
	if err != nil {
		return false, err
	}
	return ok, nil
}

// receiptHolds reports whether r succeeded in t's block and holds t's log.
func receiptHolds(r *receipt, t chains.Transfer) bool {
	if r.Status == nil || *r.Status != 1 || r.BlockHash != common.HexToHash(t.BlockHash) {
		return false
	}
	for _, l := range r.Logs {
		if l.Index != t.LogIndex {
			continue
		}
		tr, ok := decodeTransfer(l)
		return ok && tr.token == common.HexToAddress(t.Token) &&
			tr.from == common.HexToAddress(t.From) && tr.to == common.HexToAddress(t.To) &&
			t.Amount != nil && tr.amount.Cmp(t.Amount) == 0
	}
	return false
}

// wait waits d or until ctx ends.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// bigOf converts a height for go-ethereum filter queries.
func bigOf(n uint64) *big.Int { return new(big.Int).SetUint64(n) }
