package checkout_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"math/big"
	"strings"
	"testing"

	"github.com/mr-tron/base58"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/checkout"
)

// solanaDevnetUSDC is the built-in Solana devnet method the reference tests
// pay with.
var solanaDevnetUSDC = sg.PaymentMethod{Chain: "solana-devnet", Token: "USDC"}

// newSolanaKey returns a fresh base58 public key.
func newSolanaKey(t testing.TB) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return base58.Encode(pub)
}

// referenceFixture is a merchant with a Solana wallet and a 50.00 checkout
// whose Solana method is reserved with its reference key.
type referenceFixture struct {
	*settleFixture
	owner string
	tx    int
}

func newReferenceFixture(t *testing.T) *referenceFixture {
	f := &referenceFixture{settleFixture: &settleFixture{fixture: newFixture(t)}}
	f.settler = checkout.NewSettler(f.st, f.reg, f.clock.Now, slog.New(slog.DiscardHandler))
	f.owner = newSolanaKey(t)
	if _, err := f.merchants.AddWallet(f.ctx, f.p, solanaDevnetUSDC.Chain, f.owner); err != nil {
		t.Fatal(err)
	}
	f.co = f.create(f.p, checkout.CreateParams{Price: "50.00", PaymentMethods: []sg.PaymentMethod{solanaDevnetUSDC}})
	return f
}

func (f *referenceFixture) method() *sg.CheckoutMethod { return &f.co.Methods[0] }

// transfer is a USDC transfer of amount to the merchant in slot, whose
// transaction also holds the given accounts.
func (f *referenceFixture) transfer(amount *big.Int, slot uint64, accounts ...string) chains.Transfer {
	f.tx++
	return chains.Transfer{
		Chain: solanaDevnetUSDC.Chain, TxHash: strings.Repeat("5", 60) + big.NewInt(int64(f.tx)).String(), LogIndex: 2 << 16,
		BlockNumber: slot, BlockTime: f.clock.Now().Unix(), From: newSolanaKey(f.t), To: f.owner,
		Token: f.method().Contract, Amount: amount, References: append([]string{f.owner, newSolanaKey(f.t)}, accounts...),
	}
}

func (f *referenceFixture) settle(ts ...chains.Transfer) {
	f.t.Helper()
	if err := f.settler.Transfers(f.ctx, solanaDevnetUSDC.Chain, ts); err != nil {
		f.t.Fatalf("Transfers: %v", err)
	}
	if err := f.settler.Confirmed(f.ctx, solanaDevnetUSDC.Chain, chains.Heights{Head: 1000, Finalized: 1000, HasFinalized: true}, verdicts{}); err != nil {
		f.t.Fatalf("Confirmed: %v", err)
	}
}

func TestReservedSolanaMethodHasReference(t *testing.T) {
	f := newReferenceFixture(t)
	m := f.method()
	key, err := base58.Decode(m.Reference)
	if err != nil || len(key) != 32 {
		t.Fatalf("reference %q is not a base58 public key", m.Reference)
	}
	if !strings.Contains(m.URI, "&reference="+m.Reference) || !strings.HasPrefix(m.URI, "solana:"+f.owner+"?amount=") {
		t.Fatalf("payment URI %q lacks the reference or the owner", m.URI)
	}
	other := f.create(f.p, checkout.CreateParams{Price: "50.00", PaymentMethods: []sg.PaymentMethod{solanaDevnetUSDC}})
	if other.Methods[0].Reference == m.Reference {
		t.Fatal("two checkouts share a reference key")
	}
	evm := newSettleFixture(t)
	if r := evm.co.Methods[0].Reference; r != "" {
		t.Fatalf("EVM method has reference %q", r)
	}
}

func TestReferenceDecidesTheCheckout(t *testing.T) {
	cent := big.NewInt(10_000) // 0.01 USDC
	tests := []struct {
		name     string
		amount   func(reserved *big.Int) *big.Int
		withRef  bool
		status   sg.CheckoutStatus
		exc      sg.Exception
		event    string
		received string
	}{
		{"exact amount with the reference", func(r *big.Int) *big.Int { return r }, true, sg.StatusPaid, sg.ExceptionNone, sg.EventCheckoutPaid, ""},
		{"exact amount without it", func(r *big.Int) *big.Int { return r }, false, sg.StatusPaid, sg.ExceptionNone, sg.EventCheckoutPaid, ""},
		{"less with the reference", func(r *big.Int) *big.Int { return new(big.Int).Sub(r, big.NewInt(1_000_000)) }, true, sg.StatusOpen, sg.ExceptionUnderpaid, sg.EventCheckoutUnderpaid, "49."},
		{"the price without the fingerprint", func(*big.Int) *big.Int { return big.NewInt(50_000_000) }, true, sg.StatusPaid, sg.ExceptionNone, sg.EventCheckoutPaid, "50"},
		{"more with the reference", func(r *big.Int) *big.Int { return new(big.Int).Add(r, cent) }, true, sg.StatusPaid, sg.ExceptionOverpaid, sg.EventCheckoutOverpaid, "50.01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newReferenceFixture(t)
			var refs []string
			if tt.withRef {
				refs = []string{f.method().Reference}
			}
			tr := f.transfer(tt.amount(f.method().Amount), 10, refs...)
			f.settle(tr)
			f.settle(tr) // seen twice: nothing changes
			f.wantState(tt.status, tt.exc)
			f.wantEvents(tt.event, 1)
			c := f.checkout()
			p, err := f.st.PaymentByTransfer(f.ctx, f.m.ID, tr.Chain, tr.TxHash, tr.LogIndex)
			if err != nil {
				t.Fatal(err)
			}
			wantRef := ""
			if tt.withRef {
				wantRef = f.method().Reference
			}
			if p.CheckoutID != c.ID || p.Reference != wantRef || p.Status != sg.PaymentConfirmed {
				t.Fatalf("payment checkout %q reference %q status %s; want %q %q confirmed", p.CheckoutID, p.Reference, p.Status, c.ID, wantRef)
			}
			if want := sg.FormatUnits(tr.Amount, 6); c.AmountReceived != want || !strings.HasPrefix(c.AmountReceived, tt.received) {
				t.Fatalf("amount received %q, want %q", c.AmountReceived, want)
			}
			if c.AmountDue != sg.FormatUnits(f.method().Amount, 6) {
				t.Fatalf("amount due %q, want the reserved %s", c.AmountDue, sg.FormatUnits(f.method().Amount, 6))
			}
		})
	}
}

func TestUnderpaidThenTopUpWithReference(t *testing.T) {
	f := newReferenceFixture(t)
	ref := f.method().Reference
	f.settle(f.transfer(big.NewInt(30_000_000), 10, ref))
	f.wantState(sg.StatusOpen, sg.ExceptionUnderpaid)
	f.settle(f.transfer(big.NewInt(20_000_000), 11, ref))
	f.wantState(sg.StatusPaid, sg.ExceptionNone)
	if c := f.checkout(); c.AmountReceived != "50.00" || len(c.Payments) != 2 {
		t.Fatalf("received %q over %d payments, want 50.00 over 2", c.AmountReceived, len(c.Payments))
	}
	f.wantEvents(sg.EventCheckoutUnderpaid, 1)
	f.wantEvents(sg.EventCheckoutPaid, 1)
}

func TestReferenceOfAnotherMerchantIsIgnored(t *testing.T) {
	f := newReferenceFixture(t)
	other := f.newMerchant("Other shop")
	op := sg.Principal{MerchantID: other.ID}
	if _, err := f.merchants.AddWallet(f.ctx, op, solanaDevnetUSDC.Chain, newSolanaKey(t)); err != nil {
		t.Fatal(err)
	}
	theirs := f.create(op, checkout.CreateParams{Price: "50.00", PaymentMethods: []sg.PaymentMethod{solanaDevnetUSDC}})
	// A short payment to this merchant naming the other merchant's
	// checkout: neither checkout takes it.
	tr := f.transfer(big.NewInt(1_000_000), 10, theirs.Methods[0].Reference)
	f.settle(tr)
	f.wantState(sg.StatusOpen, sg.ExceptionNone)
	p, err := f.st.PaymentByTransfer(f.ctx, f.m.ID, tr.Chain, tr.TxHash, tr.LogIndex)
	if err != nil || p.CheckoutID != "" || p.Reference != "" {
		t.Fatalf("payment %+v, %v; want unmatched", p, err)
	}
	c, err := f.st.Checkout(f.ctx, other.ID, theirs.ID)
	if err != nil || c.Status != sg.StatusOpen || len(c.Payments) != 0 {
		t.Fatalf("other merchant's checkout %+v, %v", c, err)
	}
}
