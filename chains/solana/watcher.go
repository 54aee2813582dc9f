package solana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	"github.com/stablegate/stablegate/chains"
)

// Sink receives what the watcher sees. Implementations must be idempotent:
// the watcher may deliver the same transfer again after a restart.
type Sink interface {
	// Transfers is called with the registry-token transfers of the
	// transactions that touched a watched account, at the confirmed
	// commitment and in slot order, BEFORE the account's cursor moves past
	// them. An error stops the advance; they are delivered again.
	Transfers(ctx context.Context, chain string, ts []chains.Transfer) error
	// Confirmed is called every pass with the confirmed slot as Head and
	// the finalized slot; the sink applies each payment's confirmation
	// policy to them. v re-checks a transfer before it settles.
	Confirmed(ctx context.Context, chain string, h chains.Heights, v chains.Verifier) error
}

// ErrNotLeader is returned by Tick when another replica holds the chain's
// watcher lease: this one did nothing.
var ErrNotLeader = errors.New("another replica is watching this chain")

// ErrTokenMismatch means a registry token does not match its mint on the
// chain: another number of decimals, or another token program. Matching
// amounts against it would credit wrong payments, so the chain is not
// watched.
var ErrTokenMismatch = errors.New("registry token does not match its mint")

// Config tunes a Watcher. Zero fields take the documented defaults.
type Config struct {
	// PollInterval is the time between passes. Default the chain's block
	// time, at least 400ms.
	PollInterval time.Duration
	// LookbackSlots is how far below the confirmed slot an account's first
	// poll reads back. Default 9000 (about an hour).
	LookbackSlots uint64
	// OverlapSlots is how far below the confirmed slot a cursor stays: the
	// newest transactions are read again on every pass until they are
	// that deep, so one that a lagging endpoint reports late is still
	// found. Default 150 (about a minute).
	OverlapSlots uint64
	// PageLimit is the getSignaturesForAddress page size. Default 1000,
	// the most a node returns.
	PageLimit int
	// ReferencesPerPass is how many live checkouts' reference keys one pass
	// polls, in turn, beside every merchant token account: they catch a
	// payment into a token account other than the associated one.
	// Default 20.
	ReferencesPerPass int
	// MaxReferences bounds the live reference keys considered. Default
	// 1000, the newest checkouts first.
	MaxReferences int
	// Fetchers is how many getTransaction calls run at once. Default 4.
	Fetchers int
	// LeaseTTL is how long the chain's lease outlives its holder: another
	// replica takes over within about that long after a crash. Default 15s.
	LeaseTTL time.Duration
	// Holder names this replica in the lease. Default host name, process
	// id and a random suffix.
	Holder string
	// Metrics receives the watcher's metrics; nil records none.
	Metrics *Metrics
}

func (c Config) withDefaults(chain *chains.Chain) Config {
	if c.PollInterval <= 0 {
		c.PollInterval = max(chain.BlockTime, 400*time.Millisecond)
	}
	if c.LookbackSlots == 0 {
		c.LookbackSlots = 9000
	}
	if c.OverlapSlots == 0 {
		c.OverlapSlots = 150
	}
	if c.PageLimit <= 0 || c.PageLimit > 1000 {
		c.PageLimit = 1000
	}
	if c.ReferencesPerPass <= 0 {
		c.ReferencesPerPass = 20
	}
	if c.MaxReferences <= 0 {
		c.MaxReferences = 1000
	}
	if c.Fetchers <= 0 {
		c.Fetchers = 4
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 15 * time.Second
	}
	if c.Holder == "" {
		c.Holder = chains.LeaseHolder()
	}
	return c
}

// Watcher polls one Solana chain for token transfers to the merchants'
// associated token accounts (and to live checkouts' reference keys) and
// reports them to a Sink. Run and Tick must not be called concurrently.
type Watcher struct {
	chain *chains.Chain
	pool  *Pool
	store CursorStore
	addrs AddressSource
	refs  ReferenceSource
	sink  Sink
	cfg   Config
	clock func() time.Time
	log   *slog.Logger

	token     uint64 // fencing token of the lease held; 0 when not held
	renewedAt time.Time
	cursors   map[string]SignatureCursor // loaded under the lease
	tokensOK  bool
	atas      map[string][]string // owner -> its associated token accounts
	refTurn   int                 // where the next pass's reference polling starts
	handled   map[string]uint64   // signature -> slot of transactions handled this run
}

// NewWatcher returns a watcher of chain that reads it through pool, keeps
// its cursors and lease in st, watches the wallets addrs lists and the
// reference keys refs lists, and reports to sink. clock defaults to
// time.Now and log to slog.Default().
func NewWatcher(chain *chains.Chain, pool *Pool, st CursorStore, addrs AddressSource, refs ReferenceSource, sink Sink, cfg Config, clock func() time.Time, log *slog.Logger) *Watcher {
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Watcher{
		chain: chain, pool: pool, store: st, addrs: addrs, refs: refs, sink: sink,
		cfg: cfg.withDefaults(chain), clock: clock, log: log.With("chain", chain.ID),
		atas: map[string][]string{}, handled: map[string]uint64{},
	}
}

// Run watches the chain until ctx ends, then gives up the lease and returns
// nil. Only ErrTokenMismatch ends it early; every other failure is logged
// and retried at the next pass.
func (w *Watcher) Run(ctx context.Context) error {
	defer w.release(ctx)
	for {
		err := w.Tick(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrTokenMismatch):
			return err
		case errors.Is(err, ErrNotLeader):
		case err != nil:
			w.log.Warn("watcher pass failed; retrying", "err", err)
		}
		t := time.NewTimer(w.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Tick makes one pass: hold the lease, list the watched accounts, read the
// confirmed and finalized slots, poll every account for new transactions,
// report their transfers, move the cursors, and let the sink settle what is
// final. Without any account it touches no RPC.
func (w *Watcher) Tick(ctx context.Context) error {
	if err := w.holdLease(ctx); err != nil {
		return err
	}
	accounts, err := w.accounts(ctx)
	if err != nil {
		return err
	}
	if len(accounts) == 0 {
		// No merchant receives here yet: nothing can be paid, and a
		// public RPC is spared two calls every pass.
		return nil
	}
	if !w.tokensOK {
		if err := CheckTokens(ctx, w.pool, w.chain); err != nil {
			return err
		}
		w.tokensOK = true
	}
	if w.cursors == nil {
		cs, err := w.store.LoadSignatures(ctx, w.chain.ID)
		if err != nil {
			return err
		}
		w.cursors = cs
	}
	confirmed, finalized, err := w.slots(ctx)
	if err != nil {
		return err
	}
	lag := uint64(0)
	for _, a := range accounts {
		if err := w.poll(ctx, a, confirmed); err != nil {
			if errors.Is(err, ErrNotLeader) || ctx.Err() != nil {
				return err
			}
			// One account's failure must not hold back the others; it
			// is polled again from its cursor next pass.
			w.log.Warn("poll account", "account", a, "err", err)
			if c, ok := w.cursors[a]; ok {
				lag = max(lag, confirmed-min(confirmed, c.Slot))
			}
		}
	}
	w.forget(confirmed)
	w.cfg.Metrics.observe(w.chain.ID, confirmed, finalized, lag, len(accounts))
	h := chains.Heights{Head: confirmed, Finalized: min(finalized, confirmed), HasFinalized: true}
	return w.sink.Confirmed(ctx, w.chain.ID, h, verifier{w: w, finalized: finalized})
}

// slots returns the confirmed and finalized slots.
func (w *Watcher) slots(ctx context.Context) (confirmed, finalized uint64, err error) {
	err = w.pool.Call(ctx, "getSlot", func(ctx context.Context, c *rpc.Client) error {
		if confirmed, err = c.GetSlot(ctx, rpc.CommitmentConfirmed); err != nil {
			return err
		}
		finalized, err = c.GetSlot(ctx, rpc.CommitmentFinalized)
		return err
	})
	return confirmed, finalized, err
}

// accounts lists what this pass polls: the associated token account of
// every merchant wallet for every registry token, then a turn of live
// reference keys.
func (w *Watcher) accounts(ctx context.Context) ([]string, error) {
	owners, err := w.addrs.ChainAddresses(ctx, w.chain.ID)
	if err != nil {
		return nil, err
	}
	sort.Strings(owners)
	var out []string
	for _, o := range owners {
		atas, ok := w.atas[o]
		if !ok {
			if atas, err = associatedAccounts(w.chain, o); err != nil {
				w.log.Warn("wallet is not a Solana public key; not watched", "address", o, "err", err)
			}
			w.atas[o] = atas
		}
		out = append(out, atas...)
	}
	if _, err := w.refs.PruneReferences(ctx, w.chain.ID, w.clock(), 100); err != nil {
		return nil, err
	}
	refs, err := w.refs.LiveReferences(ctx, w.chain.ID, w.clock(), w.cfg.MaxReferences)
	if err != nil {
		return nil, err
	}
	n := min(len(refs), w.cfg.ReferencesPerPass)
	for i := range n {
		out = append(out, refs[(w.refTurn+i)%len(refs)])
	}
	if len(refs) > 0 {
		w.refTurn = (w.refTurn + n) % len(refs)
	}
	return out, nil
}

// associatedAccounts derives an owner's associated token account for every
// token of the chain.
func associatedAccounts(chain *chains.Chain, owner string) ([]string, error) {
	o, err := solana.PublicKeyFromBase58(owner)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range chain.Tokens {
		program, err := TokenProgramID(t.Program)
		if err != nil {
			return nil, err
		}
		mint, err := solana.PublicKeyFromBase58(t.Contract)
		if err != nil {
			return nil, err
		}
		ata, err := AssociatedTokenAccount(o, mint, program)
		if err != nil {
			return nil, err
		}
		out = append(out, ata.String())
	}
	return out, nil
}

// poll reads an account's signatures newer than its cursor, reports the
// transfers of the ones not handled yet, oldest first in batches, and
// moves the cursor after each batch.
func (w *Watcher) poll(ctx context.Context, account string, confirmed uint64) error {
	addr, err := solana.PublicKeyFromBase58(account)
	if err != nil {
		return err
	}
	cur, has := w.cursors[account]
	floor := confirmed - min(confirmed, w.cfg.LookbackSlots)
	var until solana.Signature
	if has {
		floor = cur.Slot
		if until, err = solana.SignatureFromBase58(cur.Signature); err != nil {
			return fmt.Errorf("cursor of %s: %w", account, err)
		}
	}
	sigs, err := w.signatures(ctx, addr, until, floor)
	if err != nil {
		return err
	}
	// Oldest first, so the cursor only ever passes what was reported.
	slices.Reverse(sigs)
	settled := confirmed - min(confirmed, w.cfg.OverlapSlots)
	const batch = 100
	for len(sigs) > 0 {
		n := min(batch, len(sigs))
		if err := w.handle(ctx, sigs[:n]); err != nil {
			return err
		}
		next, moved := cur, false
		for _, s := range sigs[:n] {
			if s.Slot <= settled && s.Slot >= next.Slot {
				next, moved = SignatureCursor{Slot: s.Slot, Signature: s.Signature.String()}, true
			}
		}
		if moved && next != cur {
			if err := w.save(ctx, account, next); err != nil {
				return err
			}
			cur = next
		}
		sigs = sigs[n:]
	}
	return nil
}

// maxPages bounds the pages one poll reads back for an account (a million
// signatures), so a runaway account cannot stall a pass forever.
const maxPages = 1000

// signatures returns the account's confirmed signatures newer than until
// (every one when until is zero) and not below floor, newest first.
func (w *Watcher) signatures(ctx context.Context, addr solana.PublicKey, until solana.Signature, floor uint64) ([]*rpc.TransactionSignature, error) {
	var out []*rpc.TransactionSignature
	var before solana.Signature
	limit := w.cfg.PageLimit
	for range maxPages {
		var page []*rpc.TransactionSignature
		err := w.pool.Call(ctx, "getSignaturesForAddress", func(ctx context.Context, c *rpc.Client) error {
			var err error
			page, err = c.GetSignaturesForAddressWithOpts(ctx, addr, &rpc.GetSignaturesForAddressOpts{
				Limit: &limit, Before: before, Until: until, Commitment: rpc.CommitmentConfirmed,
			})
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, s := range page {
			if s.Slot < floor {
				return out, nil
			}
			out = append(out, s)
		}
		if len(page) < limit {
			return out, nil
		}
		before = page[len(page)-1].Signature
	}
	return nil, fmt.Errorf("account %s has more than %d pages of new signatures", addr, maxPages)
}

// handle fetches and parses the transactions of sigs not handled yet and
// reports their transfers in slot order.
func (w *Watcher) handle(ctx context.Context, sigs []*rpc.TransactionSignature) error {
	var todo []*rpc.TransactionSignature
	for _, s := range sigs {
		if _, done := w.handled[s.Signature.String()]; done {
			continue
		}
		if s.Err != nil {
			// A failed transaction moves no tokens: never a payment.
			w.cfg.Metrics.transaction(w.chain.ID, "failed")
			w.handled[s.Signature.String()] = s.Slot
			continue
		}
		todo = append(todo, s)
	}
	txs := make([]*Tx, len(todo))
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(w.cfg.Fetchers, len(todo)) {
		wg.Go(func() {
			for i := range next {
				txs[i], errs[i] = w.transaction(ctx, todo[i].Signature)
			}
		})
	}
	for i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	var ts []chains.Transfer
	for i, tx := range txs {
		switch {
		case errs[i] != nil:
			return errs[i]
		case tx == nil:
			// Listed at confirmed but not served yet by the endpoint
			// asked: read again next pass.
			return fmt.Errorf("transaction %s not available yet", todo[i].Signature)
		case tx.Failed:
			w.cfg.Metrics.transaction(w.chain.ID, "failed")
		case len(tx.Transfers) == 0:
			w.cfg.Metrics.transaction(w.chain.ID, "other")
		default:
			w.cfg.Metrics.transaction(w.chain.ID, "payment")
			refs := referenceCandidates(tx)
			for _, t := range tx.Transfers {
				t.References = refs
				ts = append(ts, t)
			}
		}
	}
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].BlockNumber < ts[j].BlockNumber })
	if len(ts) > 0 {
		if err := w.sink.Transfers(ctx, w.chain.ID, ts); err != nil {
			return err
		}
	}
	for _, s := range todo {
		w.handled[s.Signature.String()] = s.Slot
	}
	return nil
}

// wellKnown are program and sysvar accounts that are never reference keys.
var wellKnown = map[string]bool{
	solana.SystemProgramID.String():                    true,
	solana.TokenProgramID.String():                     true,
	solana.Token2022ProgramID.String():                 true,
	solana.SPLAssociatedTokenAccountProgramID.String(): true,
	solana.MemoProgramID.String():                      true,
	solana.ComputeBudget.String():                      true,
	solana.SysVarRentPubkey.String():                   true,
}

// referenceCandidates are a transaction's accounts that may be Solana Pay
// reference keys: all but the well-known programs. The settler keeps the
// one a live checkout holds.
func referenceCandidates(tx *Tx) []string {
	var out []string
	for _, a := range tx.Accounts {
		if !wellKnown[a] && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// transaction fetches one transaction at the confirmed commitment and
// parses it; nil when the endpoint does not have it.
func (w *Watcher) transaction(ctx context.Context, sig solana.Signature) (*Tx, error) {
	var raw json.RawMessage
	err := w.pool.Call(ctx, "getTransaction", func(ctx context.Context, c *rpc.Client) error {
		maxVersion := uint64(0)
		return c.RPCCallForInto(ctx, &raw, "getTransaction", []any{sig.String(), map[string]any{
			"encoding": "jsonParsed", "commitment": "confirmed", "maxSupportedTransactionVersion": maxVersion,
		}})
	})
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	return ParseTransaction(w.chain, raw)
}

// forget drops handled signatures that sit below every cursor's overlap,
// which no poll returns again, so the set stays bounded.
func (w *Watcher) forget(confirmed uint64) {
	below := confirmed - min(confirmed, 2*w.cfg.OverlapSlots)
	for sig, slot := range w.handled {
		if slot < below {
			delete(w.handled, sig)
		}
	}
}

// save moves an account's cursor under the lease's fencing token. A refused
// write means the lease is gone: the watcher drops it.
func (w *Watcher) save(ctx context.Context, account string, c SignatureCursor) error {
	err := w.store.SaveSignatures(ctx, w.chain.ID, w.token, map[string]SignatureCursor{account: c})
	if errors.Is(err, chains.ErrStaleToken) {
		w.log.Warn("cursor write refused: the lease was taken over", "token", w.token)
		w.dropLease()
		return fmt.Errorf("save cursor: %w", ErrNotLeader)
	}
	if err != nil {
		return fmt.Errorf("save cursor: %w", err)
	}
	w.cursors[account] = c
	return nil
}

// holdLease takes the chain's lease, or renews it when a third of its TTL
// has passed.
func (w *Watcher) holdLease(ctx context.Context) error {
	now := w.clock()
	if w.token != 0 {
		if now.Sub(w.renewedAt) < w.cfg.LeaseTTL/3 {
			return nil
		}
		ok, err := w.store.RenewLease(ctx, w.chain.ID, w.cfg.Holder, w.token, w.cfg.LeaseTTL)
		if err != nil {
			return err
		}
		if ok {
			w.renewedAt = now
			return nil
		}
		w.log.Warn("watcher lease lost")
		w.dropLease()
	}
	token, err := w.store.AcquireLease(ctx, w.chain.ID, w.cfg.Holder, w.cfg.LeaseTTL)
	if err != nil {
		return err
	}
	if token == 0 {
		return ErrNotLeader
	}
	w.token, w.renewedAt = token, now
	w.cfg.Metrics.setLeader(w.chain.ID, true)
	w.log.Info("watcher lease taken", "token", token)
	return nil
}

// dropLease forgets the lease and everything read under it: the next
// holder may have moved the cursors.
func (w *Watcher) dropLease() {
	w.token, w.cursors = 0, nil
	w.handled = map[string]uint64{}
	w.cfg.Metrics.setLeader(w.chain.ID, false)
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

// dropAfter is how many slots below the finalized slot a transaction the
// node no longer knows must be before it counts as dropped from the chain;
// until then a missing status is an endpoint that has not caught up.
const dropAfter = 300

// verifier re-checks a payment's transaction right before it settles.
type verifier struct {
	w         *Watcher
	finalized uint64
}

// Canonical reports whether the transaction still stands: known to the
// node, successful, and at least confirmed.
func (v verifier) Canonical(ctx context.Context, t chains.Transfer) (bool, error) {
	sig, err := solana.SignatureFromBase58(t.TxHash)
	if err != nil {
		return false, nil
	}
	var st *rpc.SignatureStatusesResult
	err = v.w.pool.Call(ctx, "getSignatureStatuses", func(ctx context.Context, c *rpc.Client) error {
		out, err := c.GetSignatureStatuses(ctx, true, sig)
		if err != nil {
			return err
		}
		if len(out.Value) == 1 {
			st = out.Value[0]
		}
		return nil
	})
	switch {
	case err != nil:
		return false, err
	case st == nil && t.BlockNumber+dropAfter < v.finalized:
		return false, nil
	case st == nil:
		return false, fmt.Errorf("transaction %s has no status yet", t.TxHash)
	case st.Err != nil:
		return false, nil
	case st.ConfirmationStatus != rpc.ConfirmationStatusConfirmed && st.ConfirmationStatus != rpc.ConfirmationStatusFinalized:
		return false, fmt.Errorf("transaction %s is only %s", t.TxHash, st.ConfirmationStatus)
	}
	return true, nil
}

// CheckTokens compares every registry token of chain with its mint account:
// owned by the token program the registry names, with the registry's
// decimals. It returns an error wrapping ErrTokenMismatch on a difference,
// and the RPC error when the node cannot answer.
func CheckTokens(ctx context.Context, pool *Pool, chain *chains.Chain) error {
	for _, t := range chain.Tokens {
		var out struct {
			Value *struct {
				Owner string `json:"owner"`
				Data  struct {
					Parsed struct {
						Type string `json:"type"`
						Info struct {
							Decimals uint8 `json:"decimals"`
						} `json:"info"`
					} `json:"parsed"`
				} `json:"data"`
			} `json:"value"`
		}
		err := pool.Call(ctx, "getAccountInfo", func(ctx context.Context, c *rpc.Client) error {
			return c.RPCCallForInto(ctx, &out, "getAccountInfo", []any{t.Contract, map[string]any{"encoding": "jsonParsed", "commitment": "confirmed"}})
		})
		if err != nil {
			return fmt.Errorf("check token %s: %w", t.Symbol, err)
		}
		program, err := TokenProgramID(t.Program)
		if err != nil {
			return err
		}
		switch {
		case out.Value == nil:
			return fmt.Errorf("%w: %s mint %s does not exist on %s", ErrTokenMismatch, t.Symbol, t.Contract, chain.ID)
		case out.Value.Owner != program.String() || out.Value.Data.Parsed.Type != "mint":
			return fmt.Errorf("%w: %s mint %s is not a %s mint", ErrTokenMismatch, t.Symbol, t.Contract, t.Program)
		case out.Value.Data.Parsed.Info.Decimals != t.Decimals:
			return fmt.Errorf("%w: %s has %d decimals on %s, the registry says %d", ErrTokenMismatch, t.Symbol, out.Value.Data.Parsed.Info.Decimals, chain.ID, t.Decimals)
		}
	}
	return nil
}
