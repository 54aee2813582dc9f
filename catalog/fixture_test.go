package catalog_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/catalog"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/clocktest"
	"github.com/stablegate/stablegate/merchant"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/store/storetest"
)

// t0 is the fixtures' starting time; the clock moves when a test says so.
var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// fixture is the catalog service over the real checkout service and the
// real Redis, under a key prefix of its own.
type fixture struct {
	t         testing.TB
	ctx       context.Context
	st        *store.Store
	clock     *clocktest.Clock
	merchants *merchant.Service
	checkouts *checkout.Service
	svc       *catalog.Service
	p         sg.Principal // a merchant's test mode
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	st := storetest.New(t)
	reg := chains.Builtin()
	clock := clocktest.New(t0)
	log := slog.New(slog.DiscardHandler)
	f := &fixture{
		t: t, ctx: context.Background(), st: st, clock: clock,
		merchants: merchant.New(st, reg, clock.Now),
		checkouts: checkout.New(st, reg, clock.Now, log),
	}
	f.svc = catalog.New(st, f.checkouts, reg, clock.Now, catalog.DefaultConfig(), log)
	f.p = f.newMerchant("Test shop")
	return f
}

// newMerchant creates a merchant and returns its test-mode principal.
func (f *fixture) newMerchant(name string) sg.Principal {
	f.t.Helper()
	m, err := f.merchants.Create(f.ctx, name)
	if err != nil {
		f.t.Fatalf("create merchant: %v", err)
	}
	return sg.Principal{MerchantID: m.ID, Kind: sg.KeySecret}
}

// addWallet adds a fresh address on chain for p.
func (f *fixture) addWallet(p sg.Principal, chain string) *sg.Wallet {
	f.t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		f.t.Fatal(err)
	}
	w, err := f.merchants.AddWallet(f.ctx, p, chain, crypto.PubkeyToAddress(k.PublicKey).Hex())
	if err != nil {
		f.t.Fatalf("add wallet on %s: %v", chain, err)
	}
	return w
}

// tick moves the clock a millisecond so objects created one after another
// sort (by id) in creation order.
func (f *fixture) tick() { f.clock.Advance(time.Millisecond) }

func (f *fixture) product(p sg.Principal, params catalog.ProductParams) *sg.Product {
	f.t.Helper()
	f.tick()
	prod, err := f.svc.CreateProduct(f.ctx, p, params)
	if err != nil {
		f.t.Fatalf("CreateProduct: %v", err)
	}
	return prod
}

func (f *fixture) link(p sg.Principal, params catalog.LinkParams) *sg.PaymentLink {
	f.t.Helper()
	f.tick()
	l, err := f.svc.CreateLink(f.ctx, p, params)
	if err != nil {
		f.t.Fatalf("CreateLink: %v", err)
	}
	return l
}

// uses reads a link's uses back from the store.
func (f *fixture) uses(l *sg.PaymentLink) int64 {
	f.t.Helper()
	got, err := f.svc.Link(f.ctx, sg.Principal{MerchantID: l.MerchantID, Livemode: l.Livemode}, l.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return got.Uses
}

// checkoutsOf lists a merchant's test-mode checkouts, newest first.
func (f *fixture) checkoutsOf(p sg.Principal) []*sg.Checkout {
	f.t.Helper()
	cs, more, err := f.checkouts.List(f.ctx, p.MerchantID, store.CheckoutFilter{Livemode: p.Livemode, Limit: 100})
	if err != nil || more {
		f.t.Fatalf("list checkouts: %v (more %v)", err, more)
	}
	return cs
}

func wantReason(t testing.TB, err error, code sg.ErrorCode, reason, param string) {
	t.Helper()
	e := sg.ErrorOf(err)
	if e == nil {
		t.Fatalf("error = %v, want %s %q (param %q)", err, code, reason, param)
	}
	if e.Code != code || e.Reason != reason || e.Param != param {
		t.Fatalf("error = {%s %q param %q} %v, want {%s %q param %q}", e.Code, e.Reason, e.Param, err, code, reason, param)
	}
}

func ptr[T any](v T) *T { return &v }
