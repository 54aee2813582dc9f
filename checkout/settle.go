package checkout

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/store"
)

// SettleStore is what the settler needs from the store. Lookups return
// not_found; Apply and ApplyMany refuse a change with conflict
// "checkout_changed" when the checkout moved on since it was read,
// "payment_changed" when the payment did, "transfer_recorded" when another
// payment holds the transfer and "payment_already_attached" when the
// payment pays another checkout.
type SettleStore interface {
	AddressOwner(ctx context.Context, chain, address string) (string, error)
	ReservationHolder(ctx context.Context, sp store.Space, amount *big.Int, at time.Time) (string, bool, error)
	Checkout(ctx context.Context, merchantID, id string) (*sg.Checkout, error)
	Payment(ctx context.Context, merchantID, id string) (*sg.Payment, error)
	PaymentByTransfer(ctx context.Context, merchantID, chain, txHash string, logIndex uint) (*sg.Payment, error)
	AddressOwners(ctx context.Context, chain string, addrs []string) (map[string]string, error)
	LookupTransfers(ctx context.Context, qs []store.TransferQuery) ([]store.TransferState, error)
	CheckoutsByRef(ctx context.Context, refs [][2]string) ([]*sg.Checkout, error)
	PaymentsByRef(ctx context.Context, refs [][2]string) ([]*sg.Payment, error)
	ReferenceHolders(ctx context.Context, chain string, refs []string) (map[string]store.ReferenceHolder, error)
	ApplyMany(ctx context.Context, chs []store.Change) ([]error, error)
	AddPendingMany(ctx context.Context, chain string, refs []store.PendingRef) error
	ListPayments(ctx context.Context, merchantID string, f store.PaymentFilter) ([]*sg.Payment, bool, error)
	Apply(ctx context.Context, ch store.Change) error
	AddPending(ctx context.Context, chain string, ref store.PendingRef) error
	PendingBetween(ctx context.Context, chain string, from, to uint64, offset, limit int) ([]store.PendingRef, error)
	Merchant(ctx context.Context, id string) (*sg.Merchant, error)
	RemovePending(ctx context.Context, chain string, ref store.PendingRef) error
}

var _ SettleStore = (*store.Store)(nil)

// Settler turns what the chain watchers see into payments and checkout
// state: a transfer of the exact reserved amount moves its checkout to
// processing, finality makes it paid exactly once, and a reorg moves it
// back. It is safe to call again with anything already seen.
type Settler struct {
	store    SettleStore
	registry *chains.Registry
	now      sg.Clock
	log      *slog.Logger
	// Observe is told of every payment outcome, for metrics; the default
	// does nothing.
	Observe ObserveFunc
}

// ObserveFunc receives one payment outcome on a chain: "matched" (a
// reservation's checkout took it), "unmatched", "confirmed" or "reverted".
type ObserveFunc func(chain, outcome string)

// NewSettler returns a settler. clock defaults to time.Now.
func NewSettler(st SettleStore, reg *chains.Registry, clock sg.Clock, log *slog.Logger) *Settler {
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Settler{store: st, registry: reg, now: clock, log: log, Observe: func(string, string) {}}
}

// pendingBatch bounds the payments settled per call.
const pendingBatch = 500

// Match is what matching decides about one transfer, before anything is
// written: whose it is, whether it was recorded before, and which checkout
// reserved its exact amount.
type Match struct {
	Transfer chains.Transfer
	Token    *chains.Token
	// To is the recipient in the chain's canonical form.
	To string
	// Owner is the merchant whose address received it.
	Owner string
	// PaymentID is the payment already recording the transfer; "" when
	// it is new.
	PaymentID string
	// Checkout holds the exact amount with a reservation that was live at
	// the transfer's block time, or carries the transfer's Solana Pay
	// reference key; "" when none does (an unmatched payment).
	Checkout string
	// Reference is the Solana Pay reference key that named Checkout; ""
	// when the amount did.
	Reference string
}

// Match decides, for each transfer of a scanned range, whether it is a
// payment to a merchant and which checkout reserved it, in two round trips
// whatever the number of transfers. Transfers of a token the registry does
// not list, or to an address no merchant holds, are left out: they are
// never payments.
func (s *Settler) Match(ctx context.Context, chainID string, ts []chains.Transfer) ([]Match, error) {
	chain, ok := s.registry.Chain(chainID)
	if !ok {
		return nil, nil
	}
	var ms []Match
	var addrs []string
	for _, t := range ts {
		tok, ok := tokenByContract(chain, t.Token)
		if !ok {
			continue // never match a token the registry does not list
		}
		to, err := chain.ValidateAddress(t.To)
		if err != nil {
			continue
		}
		if !slices.Contains(addrs, to) {
			addrs = append(addrs, to)
		}
		ms = append(ms, Match{Transfer: t, Token: tok, To: to})
	}
	if len(ms) == 0 {
		return nil, nil
	}
	owners, err := s.store.AddressOwners(ctx, chain.ID, addrs)
	if err != nil {
		return nil, err
	}
	owned := ms[:0]
	var qs []store.TransferQuery
	for _, m := range ms {
		if m.Owner = owners[m.To]; m.Owner == "" {
			continue
		}
		owned = append(owned, m)
		qs = append(qs, store.TransferQuery{
			Space:  store.Space{MerchantID: m.Owner, Chain: chain.ID, Contract: m.Token.Contract, Address: m.To},
			TxHash: m.Transfer.TxHash, LogIndex: m.Transfer.LogIndex, Amount: m.Transfer.Amount, At: time.Unix(m.Transfer.BlockTime, 0),
		})
	}
	states, err := s.store.LookupTransfers(ctx, qs)
	if err != nil {
		return nil, err
	}
	for i := range owned {
		owned[i].PaymentID = states[i].PaymentID
		if states[i].Live {
			owned[i].Checkout = states[i].Holder
		}
	}
	if err := s.matchReferences(ctx, chain.ID, owned); err != nil {
		return nil, err
	}
	return owned, nil
}

// matchReferences points each match whose transfer carries a Solana Pay
// reference key at the checkout the key names, when that checkout is the
// recipient's and its method for the transfer's token carries the key: the
// key identifies the checkout exactly, so a wrong amount is judged against
// it instead of becoming an unmatched payment. Anything else keeps the
// match by amount.
func (s *Settler) matchReferences(ctx context.Context, chainID string, ms []Match) error {
	var keys []string
	seen := map[string]bool{}
	for _, m := range ms {
		for _, r := range m.Transfer.References {
			if !seen[r] {
				seen[r] = true
				keys = append(keys, r)
			}
		}
	}
	if len(keys) == 0 {
		return nil
	}
	holders, err := s.store.ReferenceHolders(ctx, chainID, keys)
	if err != nil || len(holders) == 0 {
		return err
	}
	var idx []int
	var found []string
	var refs [][2]string
	for i, m := range ms {
		for _, r := range m.Transfer.References {
			if h, ok := holders[r]; ok && h.MerchantID == m.Owner {
				idx, found = append(idx, i), append(found, r)
				refs = append(refs, [2]string{h.MerchantID, h.CheckoutID})
				break
			}
		}
	}
	if len(refs) == 0 {
		return nil
	}
	cos, err := s.store.CheckoutsByRef(ctx, refs)
	if err != nil {
		return err
	}
	for j, c := range cos {
		m := &ms[idx[j]]
		if c == nil {
			continue
		}
		method, ok := c.Method(sg.PaymentMethod{Chain: chainID, Token: m.Token.Symbol})
		if ok && method.Reference == found[j] && m.Transfer.BlockTime < c.LateUntil {
			m.Checkout, m.Reference = c.ID, found[j]
		}
	}
	return nil
}

// Transfers records every transfer to a merchant's address as a payment and
// applies the ones that hit a reservation to their checkout. New transfers,
// the common case, are settled together in a few round trips whatever
// their number, and so are transfers seen before, which change nothing; a
// transfer reverted by a reorg and mined again, or one that races with
// another change of its checkout, goes through the one-at-a-time path,
// which decides from the stored state.
func (s *Settler) Transfers(ctx context.Context, chainID string, ts []chains.Transfer) error {
	ms, err := s.Match(ctx, chainID, ts)
	if err != nil || len(ms) == 0 {
		return err
	}
	chain, _ := s.registry.Chain(chainID)
	now := s.now()
	var slow []Match
	var fresh []*sg.Payment
	var freshM []Match
	var pending []store.PendingRef
	var refs, seenRefs [][2]string
	var seenM []Match
	for _, m := range ms {
		if m.PaymentID != "" {
			seenRefs = append(seenRefs, [2]string{m.Owner, m.PaymentID})
			seenM = append(seenM, m)
			continue
		}
		p := newPayment(chain, m.Token, m.Transfer, m.To, m.Owner, now)
		p.Reference = m.Reference
		fresh = append(fresh, p)
		freshM = append(freshM, m)
		pending = append(pending, store.PendingRef{MerchantID: m.Owner, PaymentID: p.ID, Block: m.Transfer.BlockNumber})
		refs = append(refs, [2]string{m.Owner, m.Checkout})
	}
	if len(seenRefs) > 0 {
		// Seen before: nothing changes, unless a reorg reverted the
		// payment and the transfer is in a block again.
		ps, err := s.store.PaymentsByRef(ctx, seenRefs)
		if err != nil {
			return err
		}
		for i, p := range ps {
			if p == nil || p.Status == sg.PaymentReverted {
				slow = append(slow, seenM[i])
			}
		}
	}
	if len(fresh) > 0 {
		raced, err := s.settleFresh(ctx, chain.ID, fresh, pending, refs, now)
		if err != nil {
			return err
		}
		for _, i := range raced {
			slow = append(slow, freshM[i])
		}
	}
	for _, m := range slow {
		if err := s.seen(ctx, chainID, m); err != nil {
			return fmt.Errorf("transfer %s: %w", m.Transfer.ID(), err)
		}
	}
	return nil
}

// settleWorkers is how many parts of a scanned range's new transfers are
// settled at once: while Redis applies one part, the next one is read and
// encoded, so the settler's work and Redis's overlap instead of adding up.
const settleWorkers = 2

// settlePart is the smallest part worth settling on its own.
const settlePart = 16

// settleFresh records new payments, each applied to the checkout of its
// ref (none when the ref names none), and returns the indexes of those
// that raced with another change of their checkout.
func (s *Settler) settleFresh(ctx context.Context, chainID string, fresh []*sg.Payment, pending []store.PendingRef, refs [][2]string, now time.Time) ([]int, error) {
	// Pending first: an entry without its payment is dropped at
	// confirmation, a payment without its entry would never settle.
	if err := s.store.AddPendingMany(ctx, chainID, pending); err != nil {
		return nil, err
	}
	parts := splitByCheckout(refs, min(2*settleWorkers, (len(refs)+settlePart-1)/settlePart))
	outcomes := make([]error, len(fresh))
	matched := make([]bool, len(fresh))
	errs := make([]error, len(parts))
	slots := make(chan struct{}, settleWorkers)
	var wg sync.WaitGroup
	for pi, part := range parts {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			errs[pi] = s.settlePart(ctx, part, fresh, refs, now, outcomes, matched)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var raced []int
	for i, err := range outcomes {
		switch {
		case err == nil && matched[i]:
			s.Observe(chainID, "matched")
		case err == nil:
			s.Observe(chainID, "unmatched")
		case sg.IsCode(err, sg.ECONFLICT):
			raced = append(raced, i) // decide again from the stored state
		default:
			return nil, fmt.Errorf("payment %s: %w", fresh[i].ID, err)
		}
	}
	return raced, nil
}

// settlePart applies the payments fresh[i] for i in part to the checkouts
// of their refs, and records for each whether it went to a checkout and
// the error that refused it, if any.
func (s *Settler) settlePart(ctx context.Context, part []int, fresh []*sg.Payment, refs [][2]string, now time.Time, outcomes []error, matched []bool) error {
	partRefs := make([][2]string, len(part))
	for j, i := range part {
		partRefs[j] = refs[i]
	}
	cos, err := s.store.CheckoutsByRef(ctx, partRefs)
	if err != nil {
		return err
	}
	changes := make([]store.Change, len(part))
	for j, i := range part {
		p := fresh[i]
		changes[j] = store.Change{MerchantID: p.MerchantID, Livemode: p.Livemode, Payment: p}
		c := cos[j]
		if c == nil {
			continue // unmatched: announced once it is final
		}
		old := c.Status
		typ, err := applyMatch(c, p, now)
		if err != nil {
			return err
		}
		changes[j].Checkout, changes[j].OldStatus = c, old
		if typ != "" {
			changes[j].Event = newEvent(c, typ, now)
		}
	}
	errs, err := s.store.ApplyMany(ctx, changes)
	if err != nil {
		return err
	}
	for j, i := range part {
		outcomes[i], matched[i] = errs[j], changes[j].Checkout != nil
	}
	return nil
}

// splitByCheckout splits the indexes of refs into at most n parts, in
// order, keeping the refs of one checkout in one part. Parts are applied
// concurrently; within one, the first payment of a checkout is applied and
// a second one, read at the same version, is refused and decided again
// from the stored state, so the order of the range decides which payment
// came first, not the race between parts.
func splitByCheckout(refs [][2]string, n int) [][]int {
	n = max(n, 1)
	parts := make([][]int, n)
	for i, r := range refs {
		k := i % n // unmatched payments share no checkout
		if r[1] != "" {
			h := fnv.New32a()
			h.Write([]byte(r[0] + "/" + r[1]))
			k = int(h.Sum32() % uint32(n))
		}
		parts[k] = append(parts[k], i)
	}
	return slices.DeleteFunc(parts, func(p []int) bool { return len(p) == 0 })
}

// newPayment is the payment a transfer to owner's address to becomes when
// first seen: pending in the transfer's block.
func newPayment(chain *chains.Chain, tok *chains.Token, t chains.Transfer, to, owner string, now time.Time) *sg.Payment {
	return &sg.Payment{
		ID: sg.NewID(sg.PrefixPayment, now), Object: "payment", Livemode: !chain.Testnet, Status: sg.PaymentPending,
		Chain: chain.ID, Token: tok.Symbol, Contract: tok.Contract, Decimals: tok.Decimals,
		TxHash: t.TxHash, LogIndex: t.LogIndex, BlockNumber: t.BlockNumber, BlockHash: t.BlockHash,
		BlockTime: t.BlockTime, From: t.From, To: to, Amount: new(big.Int).Set(t.Amount),
		Created: now.Unix(), MerchantID: owner,
	}
}

func tokenByContract(c *chains.Chain, contract string) (*chains.Token, bool) {
	for i := range c.Tokens {
		if strings.EqualFold(c.Tokens[i].Contract, contract) {
			return &c.Tokens[i], true
		}
	}
	return nil, false
}

// seen settles one transfer from the stored state: a new one, or one a
// reorg reverted that is in a block again. A checkout m's Solana Pay
// reference key named keeps it; otherwise the amount's reservation decides.
func (s *Settler) seen(ctx context.Context, chainID string, m Match) error {
	t := m.Transfer
	chain, ok := s.registry.Chain(chainID)
	if !ok {
		return nil
	}
	tok, ok := tokenByContract(chain, t.Token)
	if !ok {
		return nil // never match a token the registry does not list
	}
	to, err := chain.ValidateAddress(t.To)
	if err != nil {
		return nil
	}
	owner, err := s.store.AddressOwner(ctx, chain.ID, to)
	if sg.IsCode(err, sg.ENOTFOUND) {
		return nil
	}
	if err != nil {
		return err
	}
	p, err := s.store.PaymentByTransfer(ctx, owner, chain.ID, t.TxHash, t.LogIndex)
	var was *store.PaymentState
	switch {
	case err == nil && p.Status != sg.PaymentReverted:
		return nil // seen before: nothing changes
	case err == nil:
		// Reverted by a reorg and now in a block again: the same payment
		// comes back and is matched again.
		was = store.StateOf(p)
	case sg.IsCode(err, sg.ENOTFOUND):
		p = newPayment(chain, tok, t, to, owner, s.now())
	default:
		return err
	}
	p.Status = sg.PaymentPending
	p.BlockNumber, p.BlockHash, p.BlockTime = t.BlockNumber, t.BlockHash, t.BlockTime
	p.CheckoutID, p.Reference = "", m.Reference
	if err := s.store.AddPending(ctx, chain.ID, store.PendingRef{MerchantID: owner, PaymentID: p.ID, Block: t.BlockNumber}); err != nil {
		return err
	}
	sp := store.Space{MerchantID: owner, Chain: chain.ID, Contract: tok.Contract, Address: to}
	holder, live, err := m.Checkout, true, error(nil)
	if m.Reference == "" {
		holder, live, err = s.store.ReservationHolder(ctx, sp, p.Amount, time.Unix(t.BlockTime, 0))
	}
	if sg.IsCode(err, sg.ENOTFOUND) || (err == nil && !live) {
		// No checkout reserved this amount (or its late window had ended
		// when the block was made): an unmatched payment, announced once
		// it is final.
		err := s.store.Apply(ctx, store.Change{MerchantID: owner, Livemode: p.Livemode, Payment: p, PaymentWas: was})
		if err == nil {
			s.Observe(chain.ID, "unmatched")
		}
		return settledElsewhere(err)
	}
	if err != nil {
		return err
	}
	err = s.onCheckout(ctx, owner, holder, p, was, func(c *sg.Checkout, now time.Time) (string, error) {
		return applyMatch(c, p, now)
	})
	if err == nil {
		s.Observe(chain.ID, "matched")
	}
	return settledElsewhere(err)
}

// settledElsewhere is nil for conflict "payment_changed" from settling a
// reverted payment mined again: only the same step of another writer (a
// replica that took over the chain) changes a reverted payment, so the
// transfer is settled.
func settledElsewhere(err error) error {
	if sg.HasReason(err, "payment_changed") {
		return nil
	}
	return err
}

// applyMatch applies a payment of a checkout's reserved amount to it: the
// first moves it to processing, a later one marks it multiple. It returns
// the event type to record, or "".
func applyMatch(c *sg.Checkout, p *sg.Payment, now time.Time) (string, error) {
	p.CheckoutID = c.ID
	if !slices.Contains(c.Payments, p.ID) {
		c.Payments = append(c.Payments, p.ID)
	}
	switch c.Status {
	case sg.StatusOpen, sg.StatusExpired, sg.StatusCanceled:
		pm := sg.PaymentMethod{Chain: p.Chain, Token: p.Token}
		received := receivedWith(c, pm, p)
		c.Exception = sg.ExceptionNone
		c.PaidWith = &pm
		if m, ok := c.Method(pm); ok && m.Amount != nil {
			c.AmountDue = sg.FormatUnits(m.Amount, p.Decimals)
		}
		c.AmountReceived = sg.FormatUnits(received, p.Decimals)
		return sg.EventCheckoutProcessing, c.Transition(sg.StatusProcessing, now)
	default:
		// Another payment already settles it: the reserved amount was paid
		// twice.
		c.Exception = sg.ExceptionMultiple
		return "", nil
	}
}

// onCheckout applies change to the latest version of a checkout together
// with payment p (whose CheckoutID it sets), retrying when another writer
// got there first. was is p's state when it was read (nil for a new
// payment): when the stored payment moved on since, nothing is written and
// the error is conflict "payment_changed". change returns the event type
// to record, or "".
func (s *Settler) onCheckout(ctx context.Context, merchantID, checkoutID string, p *sg.Payment, was *store.PaymentState, change func(c *sg.Checkout, now time.Time) (string, error)) error {
	for range maxCASRetries {
		c, err := s.store.Checkout(ctx, merchantID, checkoutID)
		if err != nil {
			return err
		}
		old := c.Status
		now := s.now()
		p.CheckoutID = c.ID
		typ, err := change(c, now)
		if err != nil {
			return err
		}
		var evt *sg.Event
		if typ != "" {
			evt = newEvent(c, typ, now)
		}
		err = s.store.Apply(ctx, store.Change{MerchantID: merchantID, Livemode: c.Livemode, Checkout: c, OldStatus: old, Payment: p, PaymentWas: was, Event: evt})
		if sg.HasReason(err, "checkout_changed") {
			continue
		}
		return err
	}
	return sg.Errorf(sg.ECONFLICT, "checkout_busy", "", "checkout %s kept changing", checkoutID)
}

// Confirmed settles the chain's pending payments that satisfy their
// merchant's confirmation policy at heights h, after v re-checks each
// against the canonical chain: the first payment of a checkout makes it
// paid (or paid_late after expiry or cancelation), a later one marks it
// multiple, an unmatched one is announced, and one that left the chain is
// reverted. Payments still short of their policy stay pending.
func (s *Settler) Confirmed(ctx context.Context, chainID string, h chains.Heights, v chains.Verifier) error {
	chain, ok := s.registry.Chain(chainID)
	if !ok {
		return nil
	}
	waiting := 0 // pending entries left in place, skipped by the next page
	for {
		refs, err := s.store.PendingBetween(ctx, chain.ID, 0, h.Head, waiting, pendingBatch)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			settled, err := s.confirmPending(ctx, chain, h, v, ref)
			if err != nil {
				return err
			}
			if !settled {
				waiting++
			}
		}
		if len(refs) < pendingBatch {
			return nil
		}
	}
}

// confirmPending settles one pending payment if its merchant's policy is
// met. It reports whether the payment left the pending list.
func (s *Settler) confirmPending(ctx context.Context, chain *chains.Chain, h chains.Heights, v chains.Verifier, ref store.PendingRef) (bool, error) {
	m, err := s.store.Merchant(ctx, ref.MerchantID)
	switch {
	case sg.IsCode(err, sg.ENOTFOUND):
		return true, s.store.RemovePending(ctx, chain.ID, ref)
	case err != nil:
		return false, err
	}
	if ref.Block > h.Confirmed(chain.Policy(m.SettingsFor(!chain.Testnet))) {
		return false, nil
	}
	p, err := s.store.Payment(ctx, ref.MerchantID, ref.PaymentID)
	if sg.IsCode(err, sg.ENOTFOUND) || (err == nil && p.Status != sg.PaymentPending) {
		return true, s.store.RemovePending(ctx, chain.ID, ref)
	}
	if err != nil {
		return false, err
	}
	if p.BlockNumber != ref.Block {
		// Re-included in another block since it was listed: its entry now
		// carries that block and is judged on the next round.
		return false, nil
	}
	ok, err := v.Canonical(ctx, transferOf(p))
	if err != nil {
		// The node could not answer: the payment stays pending and is
		// checked again at the next confirmation.
		s.log.Warn("verify payment", "chain", chain.ID, "payment", p.ID, "err", err)
		return false, nil
	}
	outcome := "confirmed"
	if !ok {
		outcome, err = "reverted", s.revert(ctx, p)
	} else {
		err = s.confirm(ctx, p)
	}
	if sg.HasReason(err, "payment_changed") {
		// Another writer (a replica that took over the chain, a reorg)
		// changed it since it was read: the next round judges it again.
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.Observe(chain.ID, outcome)
	return true, s.store.RemovePending(ctx, chain.ID, ref)
}

func transferOf(p *sg.Payment) chains.Transfer {
	return chains.Transfer{
		Chain: p.Chain, TxHash: p.TxHash, LogIndex: p.LogIndex, BlockNumber: p.BlockNumber,
		BlockHash: p.BlockHash, BlockTime: p.BlockTime, From: p.From, To: p.To, Token: p.Contract, Amount: p.Amount,
	}
}

// confirm settles a pending payment as read from the store: it pays its
// checkout, or is announced as unmatched. It fails with conflict
// "payment_changed" when the stored payment is no longer as read.
func (s *Settler) confirm(ctx context.Context, p *sg.Payment) error {
	was := store.StateOf(p)
	p.Status = sg.PaymentConfirmed
	p.ConfirmedAt = s.now().Unix()
	if p.CheckoutID == "" {
		evt, err := paymentEvent(p, sg.EventPaymentUnmatched, s.now())
		if err != nil {
			return err
		}
		return s.store.Apply(ctx, store.Change{MerchantID: p.MerchantID, Livemode: p.Livemode, Payment: p, PaymentWas: was, Event: evt})
	}
	return s.onCheckout(ctx, p.MerchantID, p.CheckoutID, p, was, func(c *sg.Checkout, now time.Time) (string, error) {
		if c.Status == sg.StatusPaid {
			// Already paid by another payment of the same amount.
			c.Exception = sg.ExceptionMultiple
			return "", nil
		}
		// Processing, or moved back by the reorg of another payment of the
		// same amount: this one pays it, unless it is short of the price
		// (a payment found by its Solana Pay reference key carries what
		// the customer sent, not necessarily the reserved amount).
		pm := sg.PaymentMethod{Chain: p.Chain, Token: p.Token}
		received := p.Amount
		if c.PaidWith != nil && *c.PaidWith == pm {
			if v, err := sg.ParseUnits(c.AmountReceived, p.Decimals); err == nil && v.Cmp(received) > 0 {
				received = v
			}
		}
		late := p.BlockTime >= c.ExpiresAt || c.CanceledAt != 0
		if sg.PriceToUnits(c.PriceCents, p.Decimals).Cmp(received) > 0 {
			c.Exception = sg.ExceptionUnderpaid
			if c.Status != sg.StatusProcessing {
				return sg.EventCheckoutUnderpaid, nil
			}
			return sg.EventCheckoutUnderpaid, c.Transition(statusBefore(c, now), now)
		}
		return judge(c, received, p.Decimals, late, now)
	})
}

// receivedWith is what the checkout has received in pm once payment p is
// added: p's amount, plus what an earlier payment that left it underpaid
// in the same token brought.
func receivedWith(c *sg.Checkout, pm sg.PaymentMethod, p *sg.Payment) *big.Int {
	received := new(big.Int).Set(p.Amount)
	if c.Exception == sg.ExceptionUnderpaid && c.PaidWith != nil && *c.PaidWith == pm {
		if before, err := sg.ParseUnits(c.AmountReceived, p.Decimals); err == nil {
			received.Add(received, before)
		}
	}
	return received
}

// judge settles a checkout that received at least its price (in base units
// of a token with the given decimals): paid, overpaid from a cent above the
// price (a fingerprint never reaches a cent), or paid_late when the payment
// came after expiry or cancelation. It returns the event type to record.
func judge(c *sg.Checkout, received *big.Int, decimals uint8, late bool, now time.Time) (string, error) {
	over := new(big.Int).Add(sg.PriceToUnits(c.PriceCents, decimals), sg.PriceToUnits(1, decimals))
	switch {
	case received.Cmp(over) >= 0:
		c.Exception = sg.ExceptionOverpaid
		return sg.EventCheckoutOverpaid, c.Transition(sg.StatusPaid, now)
	case late:
		c.Exception = sg.ExceptionPaidLate
		return sg.EventCheckoutPaidLate, c.Transition(sg.StatusPaid, now)
	default:
		c.Exception = sg.ExceptionNone
		return sg.EventCheckoutPaid, c.Transition(sg.StatusPaid, now)
	}
}

// statusBefore is the state a processing checkout goes back to when its
// payment does not settle it: canceled, expired if its time has passed, or
// open.
func statusBefore(c *sg.Checkout, now time.Time) sg.CheckoutStatus {
	switch {
	case c.CanceledAt != 0:
		return sg.StatusCanceled
	case now.Unix() >= c.ExpiresAt:
		return sg.StatusExpired
	}
	return sg.StatusOpen
}

// Reorg reverts every pending payment of the chain in blocks from
// fromHeight on; the watcher then rescans and reports the transfers that
// made it into the new blocks again.
func (s *Settler) Reorg(ctx context.Context, chain string, fromHeight uint64) error {
	for {
		refs, err := s.store.PendingBetween(ctx, chain, fromHeight, math.MaxUint64, 0, pendingBatch)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			if err := s.revertPending(ctx, chain, ref); err != nil {
				return err
			}
			if err := s.store.RemovePending(ctx, chain, ref); err != nil {
				return err
			}
		}
		if len(refs) < pendingBatch {
			return nil
		}
	}
}

// revertPending reverts the payment of a pending entry if it is still
// pending, reading it again when another writer changed it meanwhile.
func (s *Settler) revertPending(ctx context.Context, chain string, ref store.PendingRef) error {
	return onPayment(ref.PaymentID, func() error {
		p, err := s.store.Payment(ctx, ref.MerchantID, ref.PaymentID)
		switch {
		case sg.IsCode(err, sg.ENOTFOUND):
			return nil
		case err != nil:
			return err
		case p.Status != sg.PaymentPending:
			return nil
		}
		err = s.revert(ctx, p)
		switch {
		case sg.IsCode(err, sg.ENOTFOUND):
			return nil // its checkout is gone
		case err == nil:
			s.Observe(chain, "reverted")
		}
		return err
	})
}

// onPayment runs attempt, which reads a payment and changes it, again while
// it fails with conflict "payment_changed": another writer changed the
// payment after attempt read it, and the next attempt judges it anew.
func onPayment(paymentID string, attempt func() error) error {
	for range maxCASRetries {
		if err := attempt(); !sg.HasReason(err, "payment_changed") {
			return err
		}
	}
	return sg.Errorf(sg.ECONFLICT, "payment_busy", "", "payment %s kept changing", paymentID)
}

// revert marks a pending payment, as read from the store, reverted and
// moves its checkout back to the state it had before the payment:
// canceled, expired if its time has passed, or open. It records
// payment.reverted. It fails with conflict "payment_changed" when the
// stored payment is no longer as read.
func (s *Settler) revert(ctx context.Context, p *sg.Payment) error {
	was := store.StateOf(p)
	p.Status = sg.PaymentReverted
	evt, err := paymentEvent(p, sg.EventPaymentReverted, s.now())
	if err != nil {
		return err
	}
	if p.CheckoutID == "" {
		return s.store.Apply(ctx, store.Change{MerchantID: p.MerchantID, Livemode: p.Livemode, Payment: p, PaymentWas: was, Event: evt})
	}
	checkoutID := p.CheckoutID
	for range maxCASRetries {
		c, err := s.store.Checkout(ctx, p.MerchantID, checkoutID)
		if err != nil {
			return err
		}
		old := c.Status
		now := s.now()
		others, err := s.othersApplied(ctx, c, p.ID)
		if err != nil {
			return err
		}
		if others == 1 && c.Exception == sg.ExceptionMultiple {
			c.Exception = sg.ExceptionNone // the one left is no duplicate
		}
		if c.Status == sg.StatusProcessing && others == 0 {
			c.Status = statusBefore(c, now) // the reverse of a recorded transition, not a new one
			c.PaidWith, c.AmountDue, c.AmountReceived = nil, "", ""
		}
		err = s.store.Apply(ctx, store.Change{MerchantID: p.MerchantID, Livemode: c.Livemode, Checkout: c, OldStatus: old, Payment: p, PaymentWas: was, Event: evt})
		if sg.HasReason(err, "checkout_changed") {
			continue
		}
		return err
	}
	return sg.Errorf(sg.ECONFLICT, "checkout_busy", "", "checkout %s kept changing", checkoutID)
}

// othersApplied counts the payments other than the one with id skip that
// are still applied to the checkout (pending or confirmed), so that
// reverting one of two payments of the same amount leaves it processing.
func (s *Settler) othersApplied(ctx context.Context, c *sg.Checkout, skip string) (int, error) {
	n := 0
	for _, id := range c.Payments {
		if id == skip {
			continue
		}
		o, err := s.store.Payment(ctx, c.MerchantID, id)
		if sg.IsCode(err, sg.ENOTFOUND) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if o.Status != sg.PaymentReverted && o.CheckoutID == c.ID {
			n++
		}
	}
	return n, nil
}

func paymentEvent(p *sg.Payment, typ string, now time.Time) (*sg.Event, error) {
	data, err := p.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode event data: %w", err)
	}
	return &sg.Event{
		ID: sg.NewID(sg.PrefixEvent, now), Object: "event", Type: typ, Created: now.Unix(),
		Livemode: p.Livemode, Data: data, MerchantID: p.MerchantID,
	}, nil
}
