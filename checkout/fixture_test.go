package checkout_test

import (
	"context"
	"log/slog"
	"math/big"
	"sort"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/clocktest"
	"github.com/stablegate/stablegate/merchant"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/store/storetest"
)

// t0 is the fixtures' starting time; the clock only moves when a test says so.
var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// devnet18 is a test chain whose token has 18 decimals, like BSC's.
var devnet18 = &chains.Chain{
	ID: "devnet18", Name: "Devnet 18", Kind: chains.KindEVM, ChainID: 31337, Testnet: true,
	RPCURLs: []string{"http://127.0.0.1:8545"}, BlockTime: time.Second,
	Confirmation: chains.ConfirmationPolicy{Mode: chains.ConfirmBlocks, Blocks: 1},
	FeeClass:     chains.FeeLow, NativeSymbol: "ETH",
	Tokens: []chains.Token{{Symbol: "USDT", Contract: "0x5fbdb2315678afecb367f032d93f642f64180aa3", Decimals: 18}},
}

// registry returns the built-in chains plus devnet18.
func registry(t testing.TB) *chains.Registry {
	t.Helper()
	reg, err := chains.NewRegistry(append(chains.Builtin().Chains(), devnet18)...)
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	return reg
}

type fixture struct {
	t         testing.TB
	ctx       context.Context
	st        *store.Store
	reg       *chains.Registry
	clock     *clocktest.Clock
	merchants *merchant.Service
	svc       *checkout.Service
	m         *sg.Merchant
	p         sg.Principal // test mode
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	st := storetest.New(t)
	reg := registry(t)
	clock := clocktest.New(t0)
	f := &fixture{
		t: t, ctx: context.Background(), st: st, reg: reg, clock: clock,
		merchants: merchant.New(st, reg, clock.Now),
		svc:       checkout.New(st, reg, clock.Now, slog.New(slog.DiscardHandler)),
	}
	f.m = f.newMerchant("Test shop")
	f.p = sg.Principal{MerchantID: f.m.ID, Livemode: false}
	return f
}

func (f *fixture) newMerchant(name string) *sg.Merchant {
	f.t.Helper()
	m, err := f.merchants.Create(f.ctx, name)
	if err != nil {
		f.t.Fatalf("create merchant: %v", err)
	}
	return m
}

// newAddress returns a fresh EIP-55 checksummed EVM address.
func newAddress(t testing.TB) string {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return crypto.PubkeyToAddress(k.PublicKey).Hex()
}

// addWallet adds a wallet for p on chain. The clock moves a millisecond
// first so wallets sort (by id) in the order they were added.
func (f *fixture) addWallet(p sg.Principal, chain string) *sg.Wallet {
	f.t.Helper()
	f.clock.Advance(time.Millisecond)
	w, err := f.merchants.AddWallet(f.ctx, p, chain, newAddress(f.t))
	if err != nil {
		f.t.Fatalf("add wallet on %s: %v", chain, err)
	}
	return w
}

// setSettings writes fingerprint settings straight to the store, as an
// operator's config change would.
func (f *fixture) setSettings(merchantID string, p, k int, lateSeconds int64) {
	f.t.Helper()
	m, err := f.st.Merchant(f.ctx, merchantID)
	if err != nil {
		f.t.Fatal(err)
	}
	m.Settings = sg.MerchantSettings{FingerprintDecimals: p, FingerprintSteps: k, LateWindowSeconds: lateSeconds}
	if err := f.st.UpdateMerchant(f.ctx, m); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) create(p sg.Principal, params checkout.CreateParams) *sg.Checkout {
	f.t.Helper()
	c, err := f.svc.Create(f.ctx, p, params)
	if err != nil {
		f.t.Fatalf("Create(%+v): %v", params, err)
	}
	return c
}

// countCheckouts counts a merchant's stored checkouts in one mode.
func (f *fixture) countCheckouts(merchantID string, live bool) int64 {
	f.t.Helper()
	n, err := f.st.Client().ZCard(f.ctx, f.st.Keys().CheckoutIndex(merchantID, live)).Result()
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// redisKeys returns every key under the fixture's prefix, sorted.
func (f *fixture) redisKeys() []string {
	f.t.Helper()
	var out []string
	iter := f.st.Client().Scan(f.ctx, 0, f.st.Keys().Prefix+":*", 1000).Iterator()
	for iter.Next(f.ctx) {
		out = append(out, iter.Val())
	}
	if err := iter.Err(); err != nil {
		f.t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// events returns a merchant's test-mode events of one type, newest first.
func (f *fixture) events(merchantID string, typ string) []*sg.Event {
	f.t.Helper()
	evts, _, err := f.st.ListEvents(f.ctx, merchantID, store.EventFilter{Type: typ, Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	return evts
}

func space(c *sg.Checkout, m *sg.CheckoutMethod) store.Space {
	return store.Space{MerchantID: c.MerchantID, Chain: m.Chain, Contract: m.Contract, Address: m.Address}
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

func units(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic("bad integer " + s)
	}
	return v
}

func ptr[T any](v T) *T { return &v }

var (
	baseSepoliaUSDC = sg.PaymentMethod{Chain: "base-sepolia", Token: "USDC"}
	sepoliaUSDC     = sg.PaymentMethod{Chain: "sepolia", Token: "USDC"}
)
