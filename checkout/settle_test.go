package checkout_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/merchant"
	"github.com/stablegate/stablegate/store"
)

// verdicts is a chains.Verifier that answers from a table the test fills:
// a transfer is canonical unless the test says otherwise.
type verdicts map[string]bool

func (v verdicts) Canonical(_ context.Context, t chains.Transfer) (bool, error) {
	ok, seen := v[t.ID()]
	return ok || !seen, nil
}

type settleFixture struct {
	*fixture
	settler  *checkout.Settler
	outcomes []string // what the settler told its observer
	wallet   *sg.Wallet
	co       *sg.Checkout
	tx       int
}

const settleChain = "devnet18"

func newSettleFixture(t testing.TB) *settleFixture {
	f := &settleFixture{fixture: newFixture(t)}
	f.settler = checkout.NewSettler(f.st, f.reg, f.clock.Now, slog.New(slog.DiscardHandler))
	f.settler.Observe = func(chain, outcome string) { f.outcomes = append(f.outcomes, chain+":"+outcome) }
	f.wallet = f.addWallet(f.p, settleChain)
	f.co = f.create(f.p, checkout.CreateParams{Price: "50.00", PaymentMethods: []sg.PaymentMethod{{Chain: settleChain, Token: "USDT"}}})
	return f
}

// transfer builds a transfer of amount to the wallet in block n, made at
// the fixture clock's current time.
func (f *settleFixture) transfer(amount *big.Int, block uint64) chains.Transfer {
	f.tx++
	return chains.Transfer{
		Chain: settleChain, TxHash: "0x" + big.NewInt(int64(f.tx)).Text(16), LogIndex: 0,
		BlockNumber: block, BlockHash: "0xb" + big.NewInt(int64(block)).Text(16), BlockTime: f.clock.Now().Unix(),
		From: newAddress(f.t), To: f.wallet.Address, Token: devnet18.Tokens[0].Contract, Amount: amount,
	}
}

func (f *settleFixture) reserved() *big.Int { return f.co.Methods[0].Amount }

func (f *settleFixture) see(ts ...chains.Transfer) {
	f.t.Helper()
	if err := f.settler.Transfers(f.ctx, settleChain, ts); err != nil {
		f.t.Fatalf("Transfers: %v", err)
	}
}

func (f *settleFixture) confirm(height uint64, v verdicts) {
	f.t.Helper()
	if err := f.settler.Confirmed(f.ctx, settleChain, chains.Heights{Head: height}, v); err != nil {
		f.t.Fatalf("Confirmed: %v", err)
	}
}

func (f *settleFixture) checkout() *sg.Checkout {
	f.t.Helper()
	c, err := f.st.Checkout(f.ctx, f.m.ID, f.co.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *settleFixture) payment(t chains.Transfer) *sg.Payment {
	f.t.Helper()
	p, err := f.st.PaymentByTransfer(f.ctx, f.m.ID, t.Chain, t.TxHash, t.LogIndex)
	if err != nil {
		f.t.Fatalf("payment of %s: %v", t.ID(), err)
	}
	return p
}

func (f *settleFixture) wantState(status sg.CheckoutStatus, exc sg.Exception) {
	f.t.Helper()
	c := f.checkout()
	if c.Status != status || c.Exception != exc {
		f.t.Fatalf("checkout is %s/%q, want %s/%q", c.Status, c.Exception, status, exc)
	}
}

func (f *settleFixture) wantEvents(typ string, n int) {
	f.t.Helper()
	if got := len(f.events(f.m.ID, typ)); got != n {
		f.t.Fatalf("%d %s events, want %d", got, typ, n)
	}
}

func TestSettleExactAmountOnce(t *testing.T) {
	f := newSettleFixture(t)
	tr := f.transfer(f.reserved(), 10)
	f.see(tr)
	f.see(tr) // the watcher may deliver a transfer again
	f.wantState(sg.StatusProcessing, sg.ExceptionNone)
	f.wantEvents(sg.EventCheckoutProcessing, 1)

	f.confirm(9, nil) // below the payment's block: nothing final yet
	f.wantState(sg.StatusProcessing, sg.ExceptionNone)

	f.confirm(10, nil)
	f.confirm(12, nil)
	f.see(tr)
	f.wantState(sg.StatusPaid, sg.ExceptionNone)
	f.wantEvents(sg.EventCheckoutPaid, 1)
	c := f.checkout()
	p := f.payment(tr)
	if p.Status != sg.PaymentConfirmed || p.CheckoutID != c.ID || len(c.Payments) != 1 || c.Payments[0] != p.ID {
		t.Fatalf("payment %+v, checkout payments %v", p, c.Payments)
	}
	if c.AmountReceived != c.AmountDue || c.AmountDue != sg.FormatUnits(f.reserved(), 18) {
		t.Fatalf("amounts due %q received %q", c.AmountDue, c.AmountReceived)
	}
	paid := f.events(f.m.ID, sg.EventCheckoutPaid)[0]
	if string(paid.Data) == "" || paid.Livemode {
		t.Fatalf("paid event %+v", paid)
	}
}

func TestSettleIgnores(t *testing.T) {
	tests := []struct {
		name  string
		alter func(f *settleFixture, tr *chains.Transfer)
	}{
		{"token not in the registry", func(f *settleFixture, tr *chains.Transfer) { tr.Token = newAddress(f.t) }},
		{"address of nobody", func(f *settleFixture, tr *chains.Transfer) { tr.To = newAddress(f.t) }},
		{"chain not in the registry", func(f *settleFixture, tr *chains.Transfer) { tr.Chain = "nowhere" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSettleFixture(t)
			tr := f.transfer(f.reserved(), 10)
			tt.alter(f, &tr)
			if err := f.settler.Transfers(f.ctx, tr.Chain, []chains.Transfer{tr}); err != nil {
				t.Fatal(err)
			}
			f.confirm(100, nil)
			f.wantState(sg.StatusOpen, sg.ExceptionNone)
			ps, _, err := f.st.ListPayments(f.ctx, f.m.ID, store.PaymentFilter{Limit: 10})
			if err != nil || len(ps) != 0 {
				t.Fatalf("payments %v, %v; want none", ps, err)
			}
		})
	}
}

func TestSettleUnmatched(t *testing.T) {
	f := newSettleFixture(t)
	round := big.NewInt(0).Mul(big.NewInt(50), big.NewInt(0).Exp(big.NewInt(10), big.NewInt(18), nil)) // a round 50.00
	tr := f.transfer(round, 10)
	f.see(tr)
	f.wantState(sg.StatusOpen, sg.ExceptionNone)
	f.wantEvents(sg.EventPaymentUnmatched, 0) // announced only once final
	f.confirm(10, nil)
	f.wantEvents(sg.EventPaymentUnmatched, 1)
	ps, _, err := f.st.ListPayments(f.ctx, f.m.ID, store.PaymentFilter{Unmatched: true, Limit: 10})
	if err != nil || len(ps) != 1 || ps[0].Status != sg.PaymentConfirmed || ps[0].CheckoutID != "" || ps[0].Amount.Cmp(round) != 0 {
		t.Fatalf("unmatched payments %+v, %v", ps, err)
	}
}

func TestSettleReorg(t *testing.T) {
	f := newSettleFixture(t)
	tr := f.transfer(f.reserved(), 10)
	f.see(tr)
	if err := f.settler.Reorg(f.ctx, settleChain, 10); err != nil {
		t.Fatal(err)
	}
	f.wantState(sg.StatusOpen, sg.ExceptionNone)
	f.wantEvents(sg.EventPaymentReverted, 1)
	if p := f.payment(tr); p.Status != sg.PaymentReverted {
		t.Fatalf("payment %s after reorg", p.Status)
	}
	f.confirm(20, nil) // nothing pending any more
	f.wantState(sg.StatusOpen, sg.ExceptionNone)

	// Re-included in another block: matched again, still one payment.
	tr.BlockNumber, tr.BlockHash = 11, "0xother"
	f.see(tr)
	f.wantState(sg.StatusProcessing, sg.ExceptionNone)
	f.confirm(11, nil)
	f.wantState(sg.StatusPaid, sg.ExceptionNone)
	f.wantEvents(sg.EventCheckoutPaid, 1)
	f.wantEvents(sg.EventCheckoutProcessing, 2)
	if c := f.checkout(); len(c.Payments) != 1 {
		t.Fatalf("payments %v, want one", c.Payments)
	}
	want := []string{"devnet18:matched", "devnet18:reverted", "devnet18:matched", "devnet18:confirmed"}
	if !slices.Equal(f.outcomes, want) {
		t.Fatalf("observed %v, want %v", f.outcomes, want)
	}
}

func TestSettleNotCanonicalAtConfirmation(t *testing.T) {
	f := newSettleFixture(t)
	tr := f.transfer(f.reserved(), 10)
	f.see(tr)
	f.confirm(10, verdicts{tr.ID(): false})
	f.wantState(sg.StatusOpen, sg.ExceptionNone)
	f.wantEvents(sg.EventPaymentReverted, 1)
	f.wantEvents(sg.EventCheckoutPaid, 0)
}

func TestSettleLateAndAfterWindow(t *testing.T) {
	f := newSettleFixture(t)
	f.clock.Set(time.Unix(f.co.ExpiresAt, 0).Add(time.Second))
	if _, err := f.svc.ExpireDue(f.ctx, 10); err != nil {
		t.Fatal(err)
	}
	f.wantState(sg.StatusExpired, sg.ExceptionNone)
	tr := f.transfer(f.reserved(), 10)
	f.see(tr)
	f.wantState(sg.StatusProcessing, sg.ExceptionNone)
	f.confirm(10, nil)
	f.wantState(sg.StatusPaid, sg.ExceptionPaidLate)
	f.wantEvents(sg.EventCheckoutPaidLate, 1)
	f.wantEvents(sg.EventCheckoutPaid, 0)

	// A transfer made after the late window is not matched any more.
	g := newSettleFixture(t)
	g.clock.Set(time.Unix(g.co.LateUntil, 0).Add(time.Second))
	tr = g.transfer(g.reserved(), 10)
	g.see(tr)
	g.wantState(sg.StatusOpen, sg.ExceptionNone)
	if p := g.payment(tr); p.CheckoutID != "" {
		t.Fatalf("payment after the late window matched %s", p.CheckoutID)
	}
}

func TestSettleMultiple(t *testing.T) {
	f := newSettleFixture(t)
	first := f.transfer(f.reserved(), 10)
	second := f.transfer(f.reserved(), 11)
	f.see(first, second)
	f.wantState(sg.StatusProcessing, sg.ExceptionMultiple)
	f.confirm(11, nil)
	f.wantState(sg.StatusPaid, sg.ExceptionMultiple)
	f.wantEvents(sg.EventCheckoutPaid, 1)
	if c := f.checkout(); len(c.Payments) != 2 {
		t.Fatalf("payments %v, want two", c.Payments)
	}
}

func TestSettleCanceledThenPaid(t *testing.T) {
	f := newSettleFixture(t)
	if _, err := f.svc.Cancel(f.ctx, f.m.ID, f.co.ID); err != nil {
		t.Fatal(err)
	}
	tr := f.transfer(f.reserved(), 10)
	f.see(tr)
	if err := f.settler.Reorg(f.ctx, settleChain, 5); err != nil {
		t.Fatal(err)
	}
	f.wantState(sg.StatusCanceled, sg.ExceptionNone)
	f.see(tr)
	f.confirm(10, nil)
	f.wantState(sg.StatusPaid, sg.ExceptionPaidLate)
}

func TestAttach(t *testing.T) {
	dec := func(s string) *big.Int {
		v, err := sg.ParseUnits(s, 18)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name      string
		amounts   []string // attached one after another
		status    sg.CheckoutStatus
		exception sg.Exception
		event     string
		received  string
	}{
		{"exact price", []string{"50"}, sg.StatusPaid, sg.ExceptionNone, sg.EventCheckoutPaid, "50.00"},
		{"price plus less than a cent", []string{"50.009"}, sg.StatusPaid, sg.ExceptionNone, sg.EventCheckoutPaid, "50.009"},
		{"exchange fee deducted", []string{"49.2"}, sg.StatusOpen, sg.ExceptionUnderpaid, sg.EventCheckoutUnderpaid, "49.20"},
		{"topped up after underpaying", []string{"49.2", "0.8"}, sg.StatusPaid, sg.ExceptionNone, sg.EventCheckoutPaid, "50.00"},
		{"overpaid", []string{"55"}, sg.StatusPaid, sg.ExceptionOverpaid, sg.EventCheckoutOverpaid, "55.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSettleFixture(t)
			var c *sg.Checkout
			for i, a := range tt.amounts {
				tr := f.transfer(dec(a), uint64(10+i))
				f.see(tr)
				f.confirm(uint64(10+i), nil)
				p := f.payment(tr)
				var err error
				if c, err = f.settler.Attach(f.ctx, f.m.ID, p.ID, f.co.ID); err != nil {
					t.Fatalf("Attach %s: %v", a, err)
				}
			}
			if c.Status != tt.status || c.Exception != tt.exception || c.AmountReceived != tt.received || c.AmountDue != "50.00" {
				t.Fatalf("checkout %s/%q received %s due %s, want %s/%q received %s due 50.00",
					c.Status, c.Exception, c.AmountReceived, c.AmountDue, tt.status, tt.exception, tt.received)
			}
			f.wantState(tt.status, tt.exception)
			if evts := f.events(f.m.ID, tt.event); len(evts) == 0 {
				t.Fatalf("no %s event", tt.event)
			}
			ps, _, err := f.st.ListPayments(f.ctx, f.m.ID, store.PaymentFilter{Unmatched: true, Limit: 10})
			if err != nil || len(ps) != 0 {
				t.Fatalf("unmatched after attach: %v %v", ps, err)
			}
		})
	}
}

func TestAttachRefuses(t *testing.T) {
	f := newSettleFixture(t)
	pending := f.transfer(big.NewInt(7), 10)
	f.see(pending)
	_, err := f.settler.Attach(f.ctx, f.m.ID, f.payment(pending).ID, f.co.ID)
	wantReason(t, err, sg.ECONFLICT, "payment_not_confirmed", "")

	f.confirm(10, nil)
	p := f.payment(pending)
	other := f.newMerchant("Other")
	_, err = f.settler.Attach(f.ctx, other.ID, p.ID, f.co.ID)
	wantReason(t, err, sg.ENOTFOUND, "resource_missing", "id")

	// A checkout paid by its exact amount takes no attached payment.
	f.see(f.transfer(f.reserved(), 11))
	f.confirm(11, nil)
	_, err = f.settler.Attach(f.ctx, f.m.ID, p.ID, f.co.ID)
	wantReason(t, err, sg.ECONFLICT, "checkout_already_paid", "checkout")
	if got := f.payment(pending); got.CheckoutID != "" {
		t.Fatalf("refused attach left the payment on %s", got.CheckoutID)
	}
}

// TestAttachRace: two merchants' operators attaching one payment to two
// checkouts at once; the payment pays exactly one.
func TestAttachRace(t *testing.T) {
	for round := range 10 {
		f := newSettleFixture(t)
		other := f.create(f.p, checkout.CreateParams{Price: "50.00", PaymentMethods: []sg.PaymentMethod{{Chain: settleChain, Token: "USDT"}}})
		units, _ := sg.ParseUnits("50", 18)
		tr := f.transfer(units, 10)
		f.see(tr)
		f.confirm(10, nil)
		p := f.payment(tr)
		errs := make(chan error, 2)
		for _, co := range []string{f.co.ID, other.ID} {
			go func() {
				_, err := f.settler.Attach(f.ctx, f.m.ID, p.ID, co)
				errs <- err
			}()
		}
		ok := 0
		for range 2 {
			if err := <-errs; err == nil {
				ok++
			} else if e := sg.ErrorOf(err); e == nil || e.Reason != "payment_already_attached" {
				t.Fatalf("round %d: attach failed with %v", round, err)
			}
		}
		paid := 0
		for _, id := range []string{f.co.ID, other.ID} {
			c, err := f.st.Checkout(f.ctx, f.m.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			if c.Status == sg.StatusPaid {
				paid++
			}
		}
		if ok != 1 || paid != 1 {
			t.Fatalf("round %d: %d attaches succeeded and %d checkouts paid, want 1 and 1", round, ok, paid)
		}
	}
}

// TestSettleReorgOfSecondPayment: of two payments of the reserved amount,
// the reorg of the later one leaves the checkout to the first, which pays
// it.
func TestSettleReorgOfSecondPayment(t *testing.T) {
	f := newSettleFixture(t)
	first := f.transfer(f.reserved(), 10)
	second := f.transfer(f.reserved(), 11)
	f.see(first)
	f.see(second)
	if err := f.settler.Reorg(f.ctx, settleChain, 11); err != nil {
		t.Fatal(err)
	}
	f.wantState(sg.StatusProcessing, sg.ExceptionNone)
	f.confirm(10, nil)
	f.wantState(sg.StatusPaid, sg.ExceptionNone)
	f.wantEvents(sg.EventCheckoutPaid, 1)
}

// TestSettleMerchantConfirmationPolicy: each payment waits for its own
// merchant's policy, and one waiting longer does not hold back another's.
func TestSettleMerchantConfirmationPolicy(t *testing.T) {
	f := newSettleFixture(t) // the chain's policy: one block
	b := f.newMerchant("Careful shop")
	pb := sg.Principal{MerchantID: b.ID}
	st := b.SettingsFor(false)
	st.Confirmations = map[string]sg.Confirmation{settleChain: {Mode: chains.ConfirmBlocks, Blocks: 5}}
	if _, err := f.merchants.Update(f.ctx, b.ID, merchant.Update{Settings: &st}); err != nil {
		t.Fatal(err)
	}
	wb := f.addWallet(pb, settleChain)
	cb := f.create(pb, checkout.CreateParams{Price: "50.00", PaymentMethods: []sg.PaymentMethod{{Chain: settleChain, Token: "USDT"}}})
	careful := f.transfer(cb.Methods[0].Amount, 10)
	careful.To = wb.Address
	quick := f.transfer(f.reserved(), 11)
	f.see(careful, quick)
	statusOf := func() (sg.CheckoutStatus, sg.CheckoutStatus) {
		t.Helper()
		got, err := f.st.Checkout(f.ctx, b.ID, cb.ID)
		if err != nil {
			t.Fatal(err)
		}
		return f.checkout().Status, got.Status
	}
	for _, step := range []struct {
		head          uint64
		quick, carefl sg.CheckoutStatus
	}{
		{10, sg.StatusProcessing, sg.StatusProcessing},
		{11, sg.StatusPaid, sg.StatusProcessing}, // block 10 has two blocks
		{13, sg.StatusPaid, sg.StatusProcessing},
		{14, sg.StatusPaid, sg.StatusPaid}, // blocks 10..14: five
	} {
		f.confirm(step.head, nil)
		if q, c := statusOf(); q != step.quick || c != step.carefl {
			t.Fatalf("head %d: checkouts %s and %s, want %s and %s", step.head, q, c, step.quick, step.carefl)
		}
	}
}

// TestSettleRangeInParts: a scanned range large enough to be settled in
// concurrent parts records every transfer once, moves each checkout to
// processing once, and a second payment of one reservation in the same
// range marks its checkout multiple, the first payment in the range being
// the one that took it.
func TestSettleRangeInParts(t *testing.T) {
	f := newSettleFixture(t)
	const n = 60
	cos := []*sg.Checkout{f.co}
	for range n - 1 {
		cos = append(cos, f.create(f.p, checkout.CreateParams{Price: "50.00", PaymentMethods: []sg.PaymentMethod{{Chain: settleChain, Token: "USDT"}}}))
	}
	var ts []chains.Transfer
	for i, c := range cos {
		ts = append(ts, f.transfer(c.Methods[0].Amount, 10))
		if i%20 == 0 {
			ts = append(ts, f.transfer(big.NewInt(int64(1000+i)), 10)) // matches no reservation
		}
	}
	dup := f.transfer(cos[7].Methods[0].Amount, 10)
	ts = append(ts, dup)
	f.see(ts...)

	outcomes := map[string]int{}
	for _, o := range f.outcomes {
		outcomes[o]++
	}
	if want := map[string]int{settleChain + ":matched": n + 1, settleChain + ":unmatched": 3}; !maps.Equal(outcomes, want) {
		t.Fatalf("observed %v, want %v", outcomes, want)
	}
	for i, c := range cos {
		got, err := f.st.Checkout(f.ctx, f.m.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantExc, wantPayments := sg.ExceptionNone, 1
		if i == 7 {
			wantExc, wantPayments = sg.ExceptionMultiple, 2
		}
		if got.Status != sg.StatusProcessing || got.Exception != wantExc || len(got.Payments) != wantPayments {
			t.Fatalf("checkout %d is %s/%q with payments %v, want processing/%q with %d", i, got.Status, got.Exception, got.Payments, wantExc, wantPayments)
		}
	}
	c7, _ := f.st.Checkout(f.ctx, f.m.ID, cos[7].ID)
	first := f.payment(ts[7+1]) // ts holds one unmatched transfer before cos[7]'s
	if c7.Payments[0] != first.ID || c7.Payments[1] != f.payment(dup).ID {
		t.Fatalf("checkout 7's payments %v, want the range's first payment %s then the duplicate", c7.Payments, first.ID)
	}
	f.wantEvents(sg.EventCheckoutProcessing, n)
	unmatched, _, err := f.st.ListPayments(f.ctx, f.m.ID, store.PaymentFilter{Unmatched: true, Limit: 10})
	if err != nil || len(unmatched) != 3 {
		t.Fatalf("unmatched payments %d (%v), want 3", len(unmatched), err)
	}
	// Seeing the range again changes nothing.
	f.outcomes = nil
	f.see(ts...)
	if len(f.outcomes) != 0 {
		t.Fatalf("a rescan observed %v, want nothing", f.outcomes)
	}
	f.wantEvents(sg.EventCheckoutProcessing, n)
}

// TestSettleKeepsIndexesExact: a payment takes its checkout out of the open
// index and off the expiry schedule at once, and a reorg that reverts the
// payment puts it back on both.
func TestSettleKeepsIndexesExact(t *testing.T) {
	f := newSettleFixture(t)
	k := f.st.Keys()
	openIndex, schedule := k.CheckoutStatusIndex(f.m.ID, false, string(sg.StatusOpen)), k.Expiries(f.m.ID)
	in := func(key string) bool {
		_, err := f.st.Client().ZScore(f.ctx, key, f.co.ID).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatalf("read index %s: %v", key, err)
		}
		return err == nil
	}
	f.see(f.transfer(f.reserved(), 10))
	f.wantState(sg.StatusProcessing, sg.ExceptionNone)
	if in(openIndex) || in(schedule) {
		t.Fatalf("processing checkout: in the open index %v, on the schedule %v; want neither", in(openIndex), in(schedule))
	}
	if err := f.settler.Reorg(f.ctx, settleChain, 10); err != nil {
		t.Fatal(err)
	}
	f.wantState(sg.StatusOpen, sg.ExceptionNone)
	if !in(openIndex) || !in(schedule) {
		t.Fatalf("reopened checkout: in the open index %v, on the schedule %v; want both", in(openIndex), in(schedule))
	}
}

// held is a chains.Verifier that holds each check until the test lets it
// go, then answers canonical: the settler has read the payment and decided,
// and the test changes the payment before the settler writes.
type held struct{ entered, release chan struct{} }

func (h held) Canonical(ctx context.Context, _ chains.Transfer) (bool, error) {
	h.entered <- struct{}{}
	select {
	case <-h.release:
		return true, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// TestConfirmRace: a settler confirming a payment it read as pending writes
// nothing when another writer (a replica that took over the chain, a reorg)
// changed the payment in between: the checkout is paid once, with no
// exception, and each event is recorded once.
func TestConfirmRace(t *testing.T) {
	tests := []struct {
		name      string
		amount    func(f *settleFixture) *big.Int
		meanwhile func(f *settleFixture, other *checkout.Settler) error
		status    sg.CheckoutStatus
		payment   sg.PaymentStatus
		events    map[string]int
	}{
		{
			name:   "confirmed by another replica",
			amount: (*settleFixture).reserved,
			meanwhile: func(f *settleFixture, other *checkout.Settler) error {
				return other.Confirmed(f.ctx, settleChain, chains.Heights{Head: 10}, verdicts{})
			},
			status: sg.StatusPaid, payment: sg.PaymentConfirmed,
			events: map[string]int{sg.EventCheckoutPaid: 1, sg.EventPaymentReverted: 0},
		},
		{
			name:   "reverted by a reorg",
			amount: (*settleFixture).reserved,
			meanwhile: func(f *settleFixture, other *checkout.Settler) error {
				return other.Reorg(f.ctx, settleChain, 10)
			},
			status: sg.StatusOpen, payment: sg.PaymentReverted,
			events: map[string]int{sg.EventCheckoutPaid: 0, sg.EventPaymentReverted: 1},
		},
		{
			name:   "unmatched, announced by another replica",
			amount: func(*settleFixture) *big.Int { return big.NewInt(12_345) },
			meanwhile: func(f *settleFixture, other *checkout.Settler) error {
				return other.Confirmed(f.ctx, settleChain, chains.Heights{Head: 10}, verdicts{})
			},
			status: sg.StatusOpen, payment: sg.PaymentConfirmed,
			events: map[string]int{sg.EventPaymentUnmatched: 1, sg.EventCheckoutPaid: 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSettleFixture(t)
			tr := f.transfer(tt.amount(f), 10)
			f.see(tr)
			other := checkout.NewSettler(f.st, f.reg, f.clock.Now, slog.New(slog.DiscardHandler))
			h := held{entered: make(chan struct{}, 1), release: make(chan struct{})}
			done := make(chan error, 1)
			go func() { done <- f.settler.Confirmed(f.ctx, settleChain, chains.Heights{Head: 10}, h) }()
			<-h.entered
			if err := tt.meanwhile(f, other); err != nil {
				t.Fatal(err)
			}
			close(h.release)
			if err := <-done; err != nil {
				t.Fatalf("Confirmed after the payment changed: %v", err)
			}
			f.wantState(tt.status, sg.ExceptionNone)
			if p := f.payment(tr); p.Status != tt.payment {
				t.Fatalf("payment %s, want %s", p.Status, tt.payment)
			}
			for typ, n := range tt.events {
				f.wantEvents(typ, n)
			}
			if slices.Contains(f.outcomes, settleChain+":confirmed") {
				t.Fatalf("the settler that lost the race observed %v", f.outcomes)
			}
		})
	}
}

// TestAttachOneCheckoutRace: attaches of one payment to one checkout at
// once count its amount once.
func TestAttachOneCheckoutRace(t *testing.T) {
	const attaches = 4
	for round := range 10 {
		f := newSettleFixture(t)
		units, _ := sg.ParseUnits("30", 18) // short of the price of 50
		tr := f.transfer(units, 10)
		f.see(tr)
		f.confirm(10, nil)
		p := f.payment(tr)
		errs := make(chan error, attaches)
		for range attaches {
			go func() {
				_, err := f.settler.Attach(f.ctx, f.m.ID, p.ID, f.co.ID)
				errs <- err
			}()
		}
		ok := 0
		for range attaches {
			if err := <-errs; err == nil {
				ok++
			} else if e := sg.ErrorOf(err); e == nil || e.Reason != "payment_already_attached" {
				t.Fatalf("round %d: attach failed with %v", round, err)
			}
		}
		c := f.checkout()
		if ok != 1 || c.Status != sg.StatusOpen || c.Exception != sg.ExceptionUnderpaid || c.AmountReceived != "30.00" {
			t.Fatalf("round %d: %d attaches succeeded, checkout %s/%q received %s; want 1, open/underpaid received 30.00",
				round, ok, c.Status, c.Exception, c.AmountReceived)
		}
	}
}

// TestSettleRevertedPaysAnotherCheckout: a payment reverted by a reorg pays
// no checkout any more; mined again after its checkout's reservation ended
// and another checkout took the amount, it pays that one.
func TestSettleRevertedPaysAnotherCheckout(t *testing.T) {
	f := newSettleFixture(t)
	f.setSettings(f.m.ID, 5, 1, 0) // one amount per price, no late window
	params := checkout.CreateParams{Price: "60.00", PaymentMethods: []sg.PaymentMethod{{Chain: settleChain, Token: "USDT"}}}
	a := f.create(f.p, params)
	tr := f.transfer(a.Methods[0].Amount, 10)
	f.see(tr)
	f.clock.Set(time.Unix(a.LateUntil, 0).Add(time.Second))
	b := f.create(f.p, params)
	if b.Methods[0].Amount.Cmp(a.Methods[0].Amount) != 0 {
		t.Fatalf("b reserved %s, want a's %s once a's reservation ended", b.Methods[0].Amount, a.Methods[0].Amount)
	}
	if err := f.settler.Reorg(f.ctx, settleChain, 10); err != nil {
		t.Fatal(err)
	}
	tr.BlockNumber, tr.BlockHash, tr.BlockTime = 11, "0xother", f.clock.Now().Unix()
	f.see(tr)
	f.confirm(11, nil)
	for _, c := range []struct {
		id     string
		status sg.CheckoutStatus
	}{{a.ID, sg.StatusExpired}, {b.ID, sg.StatusPaid}} {
		got, err := f.st.Checkout(f.ctx, f.m.ID, c.id)
		if err != nil || got.Status != c.status || got.Exception != sg.ExceptionNone {
			t.Fatalf("checkout %s: %v %v, want %s", c.id, got, err, c.status)
		}
	}
	if p := f.payment(tr); p.Status != sg.PaymentConfirmed || p.CheckoutID != b.ID {
		t.Fatalf("payment %s of %s, want confirmed, paying %s", p.Status, p.CheckoutID, b.ID)
	}
}
