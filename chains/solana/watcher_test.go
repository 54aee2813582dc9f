package solana_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	solana "github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
	sol "github.com/stablegate/stablegate/chains/solana"
	"github.com/stablegate/stablegate/chains/solana/svmtest"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/merchant"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/store/storetest"
)

// localChain is the registry id of the LiteSVM-backed test chain.
const localChain = "sol-local"

// watchFixture is a merchant with a Solana wallet on a LiteSVM-backed
// chain, the gateway's real store and settler, and a funded customer
// holding the chain's USDC.
type watchFixture struct {
	t         *testing.T
	ctx       context.Context
	node      *svmtest.Node
	chain     *chains.Chain
	reg       *chains.Registry
	st        *store.Store
	settler   *checkout.Settler
	svc       *checkout.Service
	p         sg.Principal
	owner     solana.PrivateKey // the merchant's wallet
	customer  solana.PrivateKey
	mint      solana.PublicKey
	watcher   *sol.Watcher
	merchants *merchant.Service
}

func newWatchFixture(t *testing.T) *watchFixture {
	t.Helper()
	node := svmtest.Start(t, svmtest.Options{})
	f := &watchFixture{t: t, ctx: context.Background(), node: node, st: storetest.New(t)}
	authority := node.Funded(t)
	f.mint = node.CreateMint(t, authority, 6, solana.TokenProgramID)
	f.customer = node.Funded(t)
	node.MintTo(t, authority, f.mint, f.customer.PublicKey(), 1_000_000_000)
	f.owner = solana.NewWallet().PrivateKey

	reg := chains.Builtin()
	err := reg.Apply(chains.Config{Chains: []chains.ChainConfig{{
		ID: localChain, Kind: chains.KindSolana, Testnet: ptr(true),
		RPCURLs: []string{node.URL},
		Tokens:  []chains.TokenConfig{{Symbol: "USDC", Contract: f.mint.String(), Decimals: 6}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	f.reg = reg
	f.chain, _ = reg.Chain(localChain)
	log := slog.New(slog.DiscardHandler)
	f.settler = checkout.NewSettler(f.st, reg, nil, log)
	f.svc = checkout.New(f.st, reg, nil, log)
	merchants := merchant.New(f.st, reg, nil)
	m, err := merchants.Create(f.ctx, "Solana shop")
	if err != nil {
		t.Fatal(err)
	}
	f.p = sg.Principal{MerchantID: m.ID}
	f.merchants = merchants
	if _, err := merchants.AddWallet(f.ctx, f.p, localChain, f.owner.PublicKey().String()); err != nil {
		t.Fatal(err)
	}
	f.watcher = f.newWatcher()
	return f
}

func ptr[T any](v T) *T { return &v }

func (f *watchFixture) newWatcher() *sol.Watcher {
	pool, err := sol.NewPool(f.chain.RPCURLs, sol.PoolConfig{Chain: localChain}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		f.t.Fatal(err)
	}
	return sol.NewWatcher(f.chain, pool, f.st.Cursors(), f.st, f.st, f.settler, sol.Config{PollInterval: 50 * time.Millisecond, LeaseTTL: time.Second}, nil, slog.New(slog.DiscardHandler))
}

// checkout creates a checkout of price paid in the chain's USDC.
func (f *watchFixture) checkout(price string) *sg.Checkout {
	f.t.Helper()
	c, err := f.svc.Create(f.ctx, f.p, checkout.CreateParams{Price: price, PaymentMethods: []sg.PaymentMethod{{Chain: localChain, Token: "USDC"}}})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// pay sends a transferChecked of amount from the customer to the merchant,
// with the checkout's reference key when withRef.
func (f *watchFixture) pay(c *sg.Checkout, amount uint64, withRef bool, skipPreflight bool) solana.Signature {
	f.t.Helper()
	var refs []solana.PublicKey
	if withRef {
		refs = append(refs, solana.MustPublicKeyFromBase58(c.Methods[0].Reference))
	}
	return f.node.TransferChecked(f.t, svmtest.TransferParams{
		From: f.customer, Mint: f.mint, ToOwner: f.owner.PublicKey(), Amount: amount, Decimals: 6,
		References: refs, SkipPreflight: skipPreflight,
	})
}

// tickUntil runs watcher passes until cond holds, failing after a while.
func (f *watchFixture) tickUntil(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s", what)
		}
		if err := f.watcher.Tick(f.ctx); err != nil {
			f.t.Logf("tick: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (f *watchFixture) get(id string) *sg.Checkout {
	f.t.Helper()
	c, err := f.st.Checkout(f.ctx, f.p.MerchantID, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *watchFixture) status(id string, status sg.CheckoutStatus, exc sg.Exception) func() bool {
	return func() bool { c := f.get(id); return c.Status == status && c.Exception == exc }
}

// payments lists the merchant's test-mode payments.
func (f *watchFixture) payments() []*sg.Payment {
	f.t.Helper()
	ps, _, err := f.st.ListPayments(f.ctx, f.p.MerchantID, store.PaymentFilter{Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	return ps
}

func TestWatcherSettlesAtFinalized(t *testing.T) {
	f := newWatchFixture(t)
	exact := f.checkout("12.00")
	byRef := f.checkout("12.00")
	f.pay(exact, f.get(exact.ID).Methods[0].Amount.Uint64(), false, false)
	sig := f.pay(byRef, f.get(byRef.ID).Methods[0].Amount.Uint64(), true, false)

	f.tickUntil("both processing or paid", func() bool {
		a, b := f.get(exact.ID).Status, f.get(byRef.ID).Status
		return a != sg.StatusOpen && b != sg.StatusOpen
	})
	f.tickUntil("exact paid", f.status(exact.ID, sg.StatusPaid, sg.ExceptionNone))
	f.tickUntil("by reference paid", f.status(byRef.ID, sg.StatusPaid, sg.ExceptionNone))

	// The node says finalized for both before the gateway does.
	var st *rpc.SignatureStatusesResult
	out, err := f.node.Client.GetSignatureStatuses(f.ctx, true, sig)
	if err == nil && len(out.Value) == 1 {
		st = out.Value[0]
	}
	if st == nil || st.ConfirmationStatus != rpc.ConfirmationStatusFinalized {
		t.Fatalf("status of the paid transaction %+v, %v; want finalized", st, err)
	}
	ps := f.payments()
	if len(ps) != 2 {
		t.Fatalf("%d payments, want 2", len(ps))
	}
	for _, p := range ps {
		want := ""
		if p.CheckoutID == byRef.ID {
			want = byRef.Methods[0].Reference
		}
		if p.Status != sg.PaymentConfirmed || p.Reference != want || p.To != f.owner.PublicKey().String() || p.From != f.customer.PublicKey().String() {
			t.Fatalf("payment %+v; want confirmed to the owner from the customer, reference %q", p, want)
		}
	}
}

func TestWatcherReferenceWrongAmountAndFailed(t *testing.T) {
	f := newWatchFixture(t)
	short := f.checkout("20.00")
	failed := f.checkout("30.00")
	f.pay(short, 5_000_000, true, false)
	// More than the customer holds: with preflight skipped it lands and
	// fails, and must never count.
	bad := f.pay(failed, 5_000_000_000, true, true)
	f.node.WaitCommitment(t, bad, rpc.CommitmentFinalized)

	f.tickUntil("short payment underpaid", f.status(short.ID, sg.StatusOpen, sg.ExceptionUnderpaid))
	c := f.get(short.ID)
	if c.AmountReceived != "5.00" || c.AmountDue != sg.FormatUnits(short.Methods[0].Amount, 6) {
		t.Fatalf("received %q due %q", c.AmountReceived, c.AmountDue)
	}
	if c := f.get(failed.ID); c.Status != sg.StatusOpen || len(c.Payments) != 0 {
		t.Fatalf("checkout of the failed transaction %+v, want untouched", c)
	}
	if ps := f.payments(); len(ps) != 1 {
		t.Fatalf("%d payments, want only the short one", len(ps))
	}
}

func TestWatcherRestartLosesNothing(t *testing.T) {
	f := newWatchFixture(t)
	var cos []*sg.Checkout
	for range 6 {
		cos = append(cos, f.checkout("7.00"))
	}
	paid := func(n int) func() bool {
		return func() bool {
			for _, c := range cos[:n] {
				if f.get(c.ID).Status != sg.StatusPaid {
					return false
				}
			}
			return true
		}
	}
	for _, c := range cos[:3] {
		f.pay(c, c.Methods[0].Amount.Uint64(), true, false)
	}
	f.tickUntil("the first three paid", paid(3))
	// The watcher process ends; payments go on; a new one takes over from
	// the stored cursors.
	for _, c := range cos[3:] {
		f.pay(c, c.Methods[0].Amount.Uint64(), false, false)
	}
	f.watcher = f.newWatcher() // takes the lease once the dead one's runs out
	f.tickUntil("all paid", paid(6))
	if ps := f.payments(); len(ps) != 6 {
		t.Fatalf("%d payments, want 6: one per transfer", len(ps))
	}
	for _, c := range cos {
		if got := f.get(c.ID); len(got.Payments) != 1 || got.Exception != sg.ExceptionNone {
			t.Fatalf("checkout %s payments %v exception %q, want exactly one", c.ID, got.Payments, got.Exception)
		}
	}
}

// TestWatcherCommitments: a payment is processing at the confirmed
// commitment and stays so, however often the watcher looks, until its slot
// is finalized; a merchant who chose "confirmed" is paid at once.
func TestWatcherCommitments(t *testing.T) {
	f := newWatchFixture(t)
	final := f.checkout("4.00")
	f.node.Pause(t)
	f.pay(final, final.Methods[0].Amount.Uint64(), true, false)
	f.node.Advance(t, 1) // confirmed, 7 slots short of finalized
	f.tickUntil("processing", f.status(final.ID, sg.StatusProcessing, sg.ExceptionNone))
	for range 5 {
		if err := f.watcher.Tick(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	f.tickUntil("still processing", f.status(final.ID, sg.StatusProcessing, sg.ExceptionNone))
	f.node.Advance(t, 8)
	f.tickUntil("paid once finalized", f.status(final.ID, sg.StatusPaid, sg.ExceptionNone))

	m, err := f.st.Merchant(f.ctx, f.p.MerchantID)
	if err != nil {
		t.Fatal(err)
	}
	settings := m.SettingsFor(false)
	settings.Confirmations = map[string]sg.Confirmation{localChain: {Mode: chains.ConfirmConfirmed}}
	if _, err := f.merchants.Update(f.ctx, f.p.MerchantID, merchant.Update{Settings: &settings}); err != nil {
		t.Fatal(err)
	}
	fast := f.checkout("4.00")
	f.pay(fast, fast.Methods[0].Amount.Uint64(), true, false)
	f.node.Advance(t, 1)
	f.tickUntil("paid at confirmed", f.status(fast.ID, sg.StatusPaid, sg.ExceptionNone))
}
