package evm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/stablegate/stablegate/chains"
)

// Sink receives what the watcher sees. Implementations must be idempotent: the watcher may deliver the same transfer again after a crash or a reorg.
type Sink interface {
	// Transfers is called with every Transfer log of a registry token to a watched address in a scanned range, in block order, BEFORE the cursor moves past that range. An error stops the advance; the range is retried.
	Transfers(ctx context.Context, chain string, ts []chains.Transfer) error
	// Reorg is called when blocks from fromHeight on left the canonical chain, before they are rescanned; payments in those blocks must be reverted.
	Reorg(ctx context.Context, chain string, fromHeight uint64) error
	// Confirmed is called every tick with the scanned head and the chain's "safe" and "finalized" tags, none above the scanned cursor; the sink applies each payment's confirmation policy to them (chains.Heights.Confirmed). v lets the sink re-check a transfer before settling it.
	Confirmed(ctx context.Context, chain string, h chains.Heights, v Verifier) error
}

// Verifier re-checks a transfer against the canonical chain right before
// settlement. It is chains.Verifier, so sinks outside this package need not
// import it.
type Verifier = chains.Verifier

// AddressSource lists the receiving addresses to watch on a chain (all merchants' wallets there, including deleted-but-still-claimed ones is not needed).
type AddressSource interface {
	Addresses(ctx context.Context, chain string) ([]common.Address, error)
}

// ErrNotLeader is returned by Tick when another replica holds the chain's
// watcher lease: this one did nothing.
var ErrNotLeader = errors.New("another replica is watching this chain")

// errChainMoved means the chain changed under a scan: a log's block is no
// longer the canonical one at its height, or the scanned range no longer
// continues the cursor. The watcher checks for a reorg and scans again.
var errChainMoved = errors.New("the chain changed during the scan")

// errBehind means the endpoints are behind the chain the watcher scanned:
// their head is below the cursor with nothing kept saying the chain was
// reorganised, or the node that answered lacks a block at or below the
// head it gave. The watcher waits for them.
var errBehind = errors.New("the rpc endpoints are behind")

// errNoTag means the endpoint does not know the "finalized" or "safe" tag.
var errNoTag = errors.New("block tag not supported")

// Config tunes a Watcher. Zero fields take the documented defaults.
type Config struct {
	// InitialRange is the eth_getLogs block span to start with. Default 500.
	InitialRange uint64
	// MaxRange caps the span as it grows back after a refusal. Default 2000.
	MaxRange uint64
	// MinRange is the smallest span; an endpoint that refuses it too is an
	// error. Default 1.
	MinRange uint64
	// GrowAfter is how many full-size ranges in a row must go through
	// before the span doubles. Default 10.
	GrowAfter int
	// Lookback is how many blocks below the head a chain's first scan
	// starts. Default 1000.
	Lookback uint64
	// PollInterval is how often the head is polled over HTTP. Default the
	// chain's block time.
	PollInterval time.Duration
	// AddressBatch is how many watched addresses one eth_getLogs call
	// carries in its topics[2] list. Default 500.
	AddressBatch int
	// MaxRangesPerTick bounds the ranges one Tick scans, so a long backfill
	// still reports the confirmation height and renews the lease between
	// ticks. Default 100.
	MaxRangesPerTick int
	// KeepRecent is how many scanned block hashes the cursor keeps to find
	// a fork point: a reorg deeper than that cannot be traced exactly.
	// Default 512.
	KeepRecent int
	// LeaseTTL is how long the chain's lease outlives its holder: another
	// replica takes over within about that long after a crash. It is
	// renewed every third of it. Default 15s.
	LeaseTTL time.Duration
	// Holder names this replica in the lease. Default host name, process
	// id and a random suffix.
	Holder string
	// Metrics receives the watcher's metrics; nil records none.
	Metrics *Metrics
}

func (c Config) withDefaults(chain *chains.Chain) Config {
	def := func(v *uint64, d uint64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.InitialRange, 500)
	def(&c.MaxRange, 2000)
	def(&c.MinRange, 1)
	def(&c.Lookback, 1000)
	c.MaxRange = max(c.MaxRange, c.MinRange)
	if c.GrowAfter <= 0 {
		c.GrowAfter = 10
	}
	if c.PollInterval <= 0 {
		c.PollInterval = chain.BlockTime
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.AddressBatch <= 0 {
		c.AddressBatch = 500
	}
	if c.MaxRangesPerTick <= 0 {
		c.MaxRangesPerTick = 100
	}
	if c.KeepRecent <= 0 {
		c.KeepRecent = 512
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 15 * time.Second
	}
	if c.Holder == "" {
		c.Holder = chains.LeaseHolder()
	}
	return c
}

// Watcher scans one EVM chain and reports to a Sink. Run and Tick must not
// be called concurrently.
type Watcher struct {
	chain *chains.Chain
	pool  *Pool
	store CursorStore
	addrs AddressSource
	sink  Sink
	cfg   Config
	clock func() time.Time
	log   *slog.Logger

	tokens    []common.Address          // registry token contracts
	contracts map[common.Address]string // contract -> registry spelling
	sizer     *rangeSizer

	token       uint64    // fencing token of the lease held; 0 when not held
	renewedAt   time.Time // when the lease was last taken or renewed
	cur         *Cursor   // loaded under the lease; nil until then
	scannedTime uint64    // timestamp of cur.Head, 0 when unknown
	tokensOK    bool      // decimals checked
	behind      int       // passes in a row that found the endpoints behind
	noTagWarned map[string]bool
}

// NewWatcher returns a watcher of chain that reads it through pool, keeps its
// cursor and lease in st, watches the addresses addrs lists and reports to
// sink. clock defaults to time.Now and log to slog.Default().
func NewWatcher(chain *chains.Chain, pool *Pool, st CursorStore, addrs AddressSource, sink Sink, cfg Config, clock func() time.Time, log *slog.Logger) *Watcher {
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.withDefaults(chain)
	w := &Watcher{
		chain: chain, pool: pool, store: st, addrs: addrs, sink: sink, cfg: cfg, clock: clock,
		log:         log.With("chain", chain.ID),
		contracts:   make(map[common.Address]string, len(chain.Tokens)),
		sizer:       newRangeSizer(cfg.InitialRange, cfg.MinRange, cfg.MaxRange, cfg.GrowAfter),
		noTagWarned: map[string]bool{},
	}
	for _, t := range chain.Tokens {
		a := common.HexToAddress(t.Contract)
		w.tokens = append(w.tokens, a)
		w.contracts[a] = t.Contract
	}
	return w
}

// Run watches the chain until ctx ends, then gives up the lease and returns
// nil. Each pass is a Tick; between passes it waits PollInterval (or not at
// all while backfilling), wakes early on a new head from the chain's
// WebSocket endpoint if it has one, and keeps the lease renewed. A
// replica without the lease keeps trying to take it. Only ErrTokenMismatch
// ends Run early; every other failure is logged and retried.
func (w *Watcher) Run(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	subCtx, stopSub := context.WithCancel(ctx)
	defer stopSub()
	if w.chain.WSURL != "" {
		wg.Go(func() { w.followHeads(subCtx, wake) })
	}
	defer w.release(ctx)
	renew := time.NewTicker(max(w.cfg.LeaseTTL/4, time.Millisecond))
	defer renew.Stop()
	for {
		more, err := w.tick(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrTokenMismatch):
			return err
		case errors.Is(err, ErrNotLeader), errors.Is(err, errBehind):
		case err != nil:
			w.log.Warn("watcher pass failed; retrying", "err", err)
		}
		delay := w.cfg.PollInterval
		if more && err == nil {
			delay = 0
		}
		if !w.pause(ctx, delay, wake, renew.C) {
			return nil
		}
	}
}

// pause waits delay, or less if a new head wakes it, renewing the lease on
// the way. It returns false when ctx ends.
func (w *Watcher) pause(ctx context.Context, delay time.Duration, wake <-chan struct{}, renew <-chan time.Time) bool {
	if delay <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-wake:
			return true
		case <-renew:
			if w.token != 0 {
				if _, err := w.holdLease(ctx); err != nil && ctx.Err() == nil {
					w.log.Warn("renew watcher lease", "err", err)
				}
			}
		}
	}
}

// release gives up the lease so another replica takes over at once.
func (w *Watcher) release(ctx context.Context) {
	if w.token == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := w.store.ReleaseLease(ctx, w.chain.ID, w.cfg.Holder, w.token); err != nil {
		w.log.Warn("release watcher lease", "err", err)
	}
	w.dropLease()
}

func (w *Watcher) dropLease() {
	w.token, w.cur = 0, nil
	w.observeLeader(false)
}

// followHeads subscribes to newHeads on the chain's WebSocket endpoint and
// wakes the loop on each, reconnecting with backoff when the socket drops.
// It is only a hint: HTTP polling finds every block anyway.
func (w *Watcher) followHeads(ctx context.Context, wake chan<- struct{}) {
	const minBackoff, maxBackoff = time.Second, 30 * time.Second
	backoff := minBackoff
	secrets := urlForms(w.chain.WSURL)
	for ctx.Err() == nil {
		got, err := w.subscribeHeads(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		if got {
			backoff = minBackoff
		}
		msg := err.Error()
		for _, s := range secrets {
			if s != "" {
				msg = strings.ReplaceAll(msg, s, "ws-endpoint")
			}
		}
		w.log.Warn("websocket head subscription dropped; HTTP polling goes on", "host", hostOf(w.chain.WSURL), "err", msg, "retry_in", backoff.String())
		if wait(ctx, backoff) != nil {
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// behindWarnEvery is how many passes in a row the endpoints may be behind
// before the watcher logs it, and again every so many passes.
const behindWarnEvery = 10

// wsDialTimeout bounds the WebSocket handshake and the eth_subscribe call,
// so an endpoint that accepts connections and never answers does not hold
// the reconnect loop. (The subscription outlives the call's context.)
const wsDialTimeout = 10 * time.Second

// subscribeHeads runs one subscription until it fails. got reports whether
// any head arrived.
func (w *Watcher) subscribeHeads(ctx context.Context, wake chan<- struct{}) (got bool, err error) {
	dialCtx, cancel := context.WithTimeout(ctx, wsDialTimeout)
	defer cancel()
	c, err := rpc.DialContext(dialCtx, w.chain.WSURL)
	if err != nil {
		return false, fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	heads := make(chan json.RawMessage, 16)
	sub, err := c.EthSubscribe(dialCtx, heads, "newHeads")
	if err != nil {
		return false, fmt.Errorf("subscribe: %w", err)
	}
	defer sub.Unsubscribe()
	for {
		select {
		case <-ctx.Done():
			return got, ctx.Err()
		case err := <-sub.Err():
			if err == nil {
				err = errors.New("subscription closed")
			}
			return got, err
		case <-heads:
			got = true
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}
}

// Tick makes one pass: it takes or renews the lease (ErrNotLeader when
// another replica has it), checks the registry's token decimals on the first
// pass (ErrTokenMismatch), checks the cursor against the canonical chain and
// reports a reorg, scans up to the head in bounded ranges (at most
// MaxRangesPerTick), and reports the confirmation height.
func (w *Watcher) Tick(ctx context.Context) error {
	_, err := w.tick(ctx)
	return err
}

// tick is Tick; more reports that the head is still ahead of the cursor.
func (w *Watcher) tick(ctx context.Context) (more bool, err error) {
	held, err := w.holdLease(ctx)
	if err != nil {
		return false, err
	}
	if !held {
		return false, ErrNotLeader
	}
	if !w.tokensOK {
		if err := CheckTokens(ctx, w.pool, w.chain); err != nil {
			return false, err
		}
		w.tokensOK = true
	}
	w.pool.probeIfDue(ctx)
	head, err := w.head(ctx)
	if err != nil {
		return false, err
	}
	if w.cur == nil {
		if err := w.loadCursor(ctx, head); err != nil {
			return false, err
		}
	}
	// A scan that finds the chain moving under it checks for a reorg and
	// scans again; a chain that keeps moving is left for the next tick.
	const passes = 3
	for pass := 1; ; pass++ {
		err = w.checkReorg(ctx, head)
		if err == nil {
			more, err = w.scan(ctx, head)
		}
		if !errors.Is(err, errChainMoved) || pass == passes {
			break
		}
		w.log.Info("the chain moved during the scan; checking for a reorg", "pass", pass)
		if head, err = w.head(ctx); err != nil {
			return false, err
		}
	}
	w.observe(head)
	switch {
	case errors.Is(err, errBehind):
		// A moment behind is common (a load balancer's backends); a chain
		// that stays behind is logged, besides its lag metrics.
		if w.behind++; w.behind%behindWarnEvery == 0 {
			w.log.Warn("the rpc endpoints stay behind; waiting", "passes", w.behind,
				"head", uint64(head.Number), "cursor", w.cur.Head.Number, "err", err)
		}
	case err != nil:
		return false, err
	default:
		w.behind = 0
	}
	if cerr := w.confirm(ctx); cerr != nil {
		return false, cerr
	}
	return more, err
}

// holdLease takes the lease, or renews it when a third of its TTL has passed,
// and reports whether this replica holds it. Taking it anew drops the
// cursor, to be loaded again: call it only between passes.
func (w *Watcher) holdLease(ctx context.Context) (bool, error) {
	if held, err := w.keepLease(ctx); held || err != nil {
		return held, err
	}
	now := w.clock()
	token, err := w.store.AcquireLease(ctx, w.chain.ID, w.cfg.Holder, w.cfg.LeaseTTL)
	if err != nil {
		return false, fmt.Errorf("acquire watcher lease: %w", err)
	}
	if token == 0 {
		return false, nil
	}
	// The cursor may have moved under another holder: reload it.
	w.token, w.renewedAt, w.cur = token, now, nil
	w.observeLeader(true)
	w.log.Info("watcher lease acquired", "token", token, "holder", w.cfg.Holder)
	return true, nil
}

// keepLease renews the lease this replica holds when a third of its TTL has
// passed, and reports whether it still holds it, so that what follows has
// two thirds of a TTL to itself. A lease that lapsed is dropped, not taken
// again: within a pass, another replica may have scanned meanwhile.
func (w *Watcher) keepLease(ctx context.Context) (bool, error) {
	if w.token == 0 {
		return false, nil
	}
	now := w.clock()
	if now.Sub(w.renewedAt) < w.cfg.LeaseTTL/3 {
		return true, nil
	}
	ok, err := w.store.RenewLease(ctx, w.chain.ID, w.cfg.Holder, w.token, w.cfg.LeaseTTL)
	if err != nil {
		return false, fmt.Errorf("renew watcher lease: %w", err)
	}
	if !ok {
		w.log.Warn("watcher lease lost to another replica", "token", w.token)
		w.dropLease()
		return false, nil
	}
	w.renewedAt = now
	return true, nil
}

// stillLeading is keepLease for the steps of a pass that write: nil while
// the lease is held, else ErrNotLeader.
func (w *Watcher) stillLeading(ctx context.Context) error {
	held, err := w.keepLease(ctx)
	if err == nil && !held {
		err = ErrNotLeader
	}
	return err
}

// head returns the latest block of the best endpoint.
func (w *Watcher) head(ctx context.Context) (*header, error) {
	var h *header
	err := w.pool.do(ctx, "head", func(ctx context.Context, c conn) error {
		var err error
		h, err = c.header(ctx, rpc.LatestBlockNumber)
		return err
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// headerAt returns the canonical block at n, as the best endpoint sees it.
func (w *Watcher) headerAt(ctx context.Context, n uint64) (*header, error) {
	var h *header
	err := w.pool.do(ctx, "block "+strconv.FormatUint(n, 10), func(ctx context.Context, c conn) error {
		var err error
		h, err = c.headerAt(ctx, n)
		return err
	})
	return h, err
}

// canonicalHash is a canonicalFunc over the pool. A height at or below the
// head that an endpoint does not have is no verdict: the endpoint (or the
// backend a load balancer sent the call to) is behind the one that gave the
// head, and a block taken for gone would revert real payments. The call
// goes to the other endpoints, and when none has the block it is
// errBehind: the watcher waits.
func (w *Watcher) canonicalHash(ctx context.Context, n uint64) (common.Hash, error) {
	var hash common.Hash
	err := w.pool.do(ctx, "block "+strconv.FormatUint(n, 10), func(ctx context.Context, c conn) error {
		h, err := c.headerAt(ctx, n)
		if err != nil {
			return err
		}
		hash = h.Hash
		return nil
	})
	if errors.Is(err, errNotFound) {
		return common.Hash{}, fmt.Errorf("%w: %w", err, errBehind)
	}
	return hash, err
}

// loadCursor loads the chain's cursor or, on the chain's first start, places
// it Lookback blocks below the head.
func (w *Watcher) loadCursor(ctx context.Context, head *header) error {
	c, ok, err := w.store.LoadCursor(ctx, w.chain.ID)
	if err != nil {
		return fmt.Errorf("load cursor: %w", err)
	}
	if ok {
		w.cur, w.scannedTime = &c, 0
		w.log.Info("resuming from the stored cursor", "height", c.Head.Number, "head", uint64(head.Number))
		return nil
	}
	start := uint64(1)
	if uint64(head.Number) > w.cfg.Lookback {
		start = uint64(head.Number) - w.cfg.Lookback
	}
	anchor, err := w.headerAt(ctx, start-1)
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	ref := anchor.ref()
	if err := w.save(ctx, CursorUpdate{Head: ref, From: ref.Number, Added: []BlockRef{ref}}); err != nil {
		return err
	}
	w.cur, w.scannedTime = &Cursor{Head: ref, Recent: []BlockRef{ref}}, uint64(anchor.Time)
	w.log.Info("first start: scanning from the lookback", "from_height", start, "head", uint64(head.Number))
	return nil
}

// save writes u under the lease's fencing token. A refused write means the
// lease is gone: the watcher drops it and reports ErrNotLeader.
func (w *Watcher) save(ctx context.Context, u CursorUpdate) error {
	u.Keep, u.At = w.cfg.KeepRecent, w.clock()
	err := w.store.SaveCursor(ctx, w.chain.ID, w.token, u)
	if errors.Is(err, ErrStaleToken) {
		w.log.Warn("cursor write refused: the lease was taken over", "token", w.token)
		w.dropLease()
		return fmt.Errorf("save cursor: %w", ErrNotLeader)
	}
	if err != nil {
		return fmt.Errorf("save cursor: %w", err)
	}
	return nil
}

// checkReorg compares the highest kept block at or below the head with the
// canonical chain and, when it differs, traces the fork point, reports the
// reorg and rewinds the cursor. It returns errBehind when the head is below
// the cursor with no sign of a reorg.
func (w *Watcher) checkReorg(ctx context.Context, head *header) error {
	recent := w.cur.Recent
	i := len(recent) - 1
	for i >= 0 && recent[i].Number > uint64(head.Number) {
		i--
	}
	if i < 0 {
		return errBehind
	}
	ref := recent[i]
	canon, err := w.hashAt(ctx, head, ref.Number)
	if err != nil {
		return err
	}
	if canon != ref.Hash && len(w.pool.eps) > 1 {
		// Before reverting payments on one endpoint's word, let the
		// majority speak: a forked endpoint is demoted and the hash read
		// again from the best one.
		w.pool.Probe(ctx)
		if canon, err = w.canonicalHash(ctx, ref.Number); err != nil {
			return err
		}
		if canon == ref.Hash {
			w.log.Warn("an rpc endpoint disagreed about a block hash; the majority did not", "height", ref.Number)
		}
	}
	if canon == ref.Hash {
		if ref != w.cur.Head {
			return errBehind
		}
		return nil
	}
	return w.rewind(ctx, recent[:i+1])
}

// hashAt returns the canonical hash at n, from head itself or its parent
// hash when they cover n.
func (w *Watcher) hashAt(ctx context.Context, head *header, n uint64) (common.Hash, error) {
	switch uint64(head.Number) {
	case n:
		return head.Hash, nil
	case n + 1:
		return head.ParentHash, nil
	}
	return w.canonicalHash(ctx, n)
}

// rewind handles a reorg: recent is the kept history up to a block that left
// the canonical chain. It finds the highest kept block still canonical, tells
// the sink that blocks from the lowest kept block no longer canonical are
// gone, and moves the cursor back to the canonical one.
//
// Every block that held a reported transfer is kept, so no reported transfer
// lies between the two: the sink reverts exactly the orphaned ones, while
// the rescan starts right after the canonical block, in case the new branch
// has transfers there.
func (w *Watcher) rewind(ctx context.Context, recent []BlockRef) error {
	k, err := forkPoint(ctx, recent, w.canonicalHash)
	if err != nil {
		return fmt.Errorf("find fork point: %w", err)
	}
	if k == len(recent)-1 {
		return errChainMoved // canonical again by the time of the search
	}
	var anchor BlockRef
	from := recent[k+1].Number
	if k >= 0 {
		anchor = recent[k]
	} else {
		// Deeper than the kept history: the earliest kept block is gone
		// too. Trust the canonical chain below it.
		if from == 0 {
			return fmt.Errorf("the genesis block differs from the one scanned before: the RPC endpoints serve another chain, or the chain was reset (delete the chain's cursor to start over)")
		}
		h, err := w.headerAt(ctx, from-1)
		if err != nil {
			return fmt.Errorf("find fork point: %w", err)
		}
		anchor = h.ref()
		w.log.Error("reorg deeper than the kept block history; transfers below it cannot be traced",
			"kept_from", from, "keep_recent", w.cfg.KeepRecent)
	}
	w.log.Warn("reorg: blocks left the canonical chain", "from_height", from,
		"rewind_to", anchor.Number, "orphaned_cursor", w.cur.Head.Number)
	if err := w.stillLeading(ctx); err != nil {
		return err
	}
	if err := w.sink.Reorg(ctx, w.chain.ID, from); err != nil {
		return fmt.Errorf("sink reorg from %d: %w", from, err)
	}
	if err := w.save(ctx, CursorUpdate{Head: anchor, From: anchor.Number + 1}); err != nil {
		return err
	}
	kept := append([]BlockRef(nil), recent[:k+1]...)
	if k < 0 {
		kept = []BlockRef{anchor}
	}
	w.cur, w.scannedTime = &Cursor{Head: anchor, Recent: kept}, 0
	w.cfg.Metrics.reorg(w.chain.ID)
	return nil
}

// scan scans from the cursor towards the head in bounded ranges and moves
// the cursor after each. more reports that MaxRangesPerTick ended it before
// the head.
func (w *Watcher) scan(ctx context.Context, head *header) (more bool, err error) {
	if w.cur.Head.Number >= uint64(head.Number) {
		return false, nil
	}
	addrs, err := w.addrs.Addresses(ctx, w.chain.ID)
	if err != nil {
		return false, fmt.Errorf("watched addresses: %w", err)
	}
	f := newFilter(w.tokens, addrs, w.cfg.AddressBatch)
	for n := 0; w.cur.Head.Number < uint64(head.Number); n++ {
		if n == w.cfg.MaxRangesPerTick {
			return true, nil
		}
		if err := w.stillLeading(ctx); err != nil {
			return false, err
		}
		from := w.cur.Head.Number + 1
		to := w.sizer.span(from, uint64(head.Number))
		res, err := w.scanRange(ctx, f, from, to)
		if shrinkable(ctx, err) {
			if !w.sizer.shrink(to - from + 1) {
				return false, fmt.Errorf("scan blocks %d to %d: refused even at the minimum range: %w", from, to, err)
			}
			w.log.Info("log range refused; shrinking", "from", from, "to", to, "new_range", w.sizer.size)
			continue
		}
		if err != nil {
			return false, err
		}
		w.sizer.ok(to - from + 1)
		if len(res.transfers) > 0 {
			if err := w.sink.Transfers(ctx, w.chain.ID, res.transfers); err != nil {
				return false, fmt.Errorf("sink transfers of blocks %d to %d: %w", from, to, err)
			}
			w.cfg.Metrics.addTransfers(w.chain.ID, len(res.transfers))
		}
		end := res.end.ref()
		if err := w.save(ctx, CursorUpdate{Head: end, From: from, Added: res.refs}); err != nil {
			return false, err
		}
		w.advance(end, res.refs)
		w.scannedTime = uint64(res.end.Time)
	}
	return false, nil
}

// advance moves the in-memory cursor as SaveCursor moved the stored one.
func (w *Watcher) advance(head BlockRef, added []BlockRef) {
	r := append(w.cur.Recent, added...)
	if extra := len(r) - w.cfg.KeepRecent; extra > 0 {
		r = append([]BlockRef(nil), r[extra:]...)
	}
	w.cur = &Cursor{Head: head, Recent: r}
}

// shrinkable reports whether err says the log range was too large: refused
// by the endpoint, or timed out on every endpoint tried.
func shrinkable(ctx context.Context, err error) bool {
	if err == nil {
		return false
	}
	if errors.As(err, new(*rangeError)) {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil
}

// confirm reports the chain's heights to the sink, none above the cursor:
// the sink may only settle what the watcher has scanned and checked for
// reorgs. Both block tags are read every tick because merchants may choose
// a policy other than the chain's default.
func (w *Watcher) confirm(ctx context.Context) error {
	h := chains.Heights{Head: w.cur.Head.Number}
	var err error
	if h.Finalized, h.HasFinalized, err = w.tagHeight(ctx, rpc.FinalizedBlockNumber, chains.ConfirmFinalized); err != nil {
		return err
	}
	if h.Safe, h.HasSafe, err = w.tagHeight(ctx, rpc.SafeBlockNumber, chains.ConfirmSafe); err != nil {
		return err
	}
	h.Finalized, h.Safe = min(h.Finalized, h.Head), min(h.Safe, h.Head)
	w.cfg.Metrics.setConfirmed(w.chain.ID, h.Confirmed(w.chain.Confirmation))
	if err := w.stillLeading(ctx); err != nil {
		return err
	}
	if err := w.sink.Confirmed(ctx, w.chain.ID, h, w.pool); err != nil {
		return fmt.Errorf("sink confirmed %d: %w", h.Head, err)
	}
	return nil
}

// tagHeight reads the height of a block tag; ok is false when the endpoint
// does not know the tag, so policies waiting for it confirm by depth.
func (w *Watcher) tagHeight(ctx context.Context, tag rpc.BlockNumber, name string) (n uint64, ok bool, err error) {
	err = w.pool.do(ctx, name+" block", func(ctx context.Context, c conn) error {
		h, err := c.header(ctx, tag)
		var re rpc.Error
		if errors.Is(err, errNotFound) || errors.As(err, &re) {
			return final(errNoTag)
		}
		if err != nil {
			return err
		}
		n = uint64(h.Number)
		return nil
	})
	if errors.Is(err, errNoTag) {
		if !w.noTagWarned[name] {
			w.noTagWarned[name] = true
			w.log.Warn("rpc endpoint does not know the block tag; policies waiting for it confirm by depth", "tag", name)
		}
		return 0, false, nil
	}
	return n, err == nil, err
}

func (w *Watcher) observe(head *header) {
	if w.cur == nil {
		return
	}
	lag := time.Duration(-1)
	if w.scannedTime != 0 {
		lag = max(w.clock().Sub(time.Unix(int64(w.scannedTime), 0)), 0)
	}
	w.cfg.Metrics.observe(w.chain.ID, uint64(head.Number), w.cur.Head.Number, w.sizer.size, lag)
}

func (w *Watcher) observeLeader(on bool) { w.cfg.Metrics.setLeader(w.chain.ID, on) }
