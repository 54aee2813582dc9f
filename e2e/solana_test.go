package e2e_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	solana "github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains/solana/svmtest"
	"github.com/stablegate/stablegate/store/storetest"
)

// solanaConfig is the gateway config of the Solana tests: one custom
// Solana chain on the LiteSVM-backed RPC, whose first URL resets every
// connection, and nothing else watched.
const solanaConfig = `# Written by the e2e tests.
listen: %q
redis_url: %q
watch: [sol-local]
watch_lease_ttl: 2s
chains:
  chains:
    - id: sol-local
      name: Solana local
      kind: solana
      testnet: true
      rpc_urls: [%q, %q]
      block_time: 100ms
      tokens:
        - {symbol: USDC, contract: %q, decimals: 6, program: token}
`

// solanaNet is the LiteSVM-backed chain of a test, with a USDC mint and a
// funded customer holding some.
type solanaNet struct {
	node     *svmtest.Node
	mint     solana.PublicKey
	customer solana.PrivateKey
}

func startSolana(t *testing.T) *solanaNet {
	t.Helper()
	node := svmtest.Start(t, svmtest.Options{})
	authority := node.Funded(t)
	n := &solanaNet{node: node, mint: node.CreateMint(t, authority, 6, solana.TokenProgramID), customer: node.Funded(t)}
	node.MintTo(t, authority, n.mint, n.customer.PublicKey(), 10_000_000_000)
	return n
}

// pay sends a signed SPL transferChecked of amount to owner, with the
// given reference keys.
func (n *solanaNet) pay(t *testing.T, owner solana.PublicKey, amount uint64, skipPreflight bool, refs ...solana.PublicKey) solana.Signature {
	t.Helper()
	return n.node.TransferChecked(t, svmtest.TransferParams{
		From: n.customer, Mint: n.mint, ToOwner: owner, Amount: amount, Decimals: 6, References: refs, SkipPreflight: skipPreflight,
	})
}

// solanaMerchant creates a merchant with a test key and a Solana wallet on
// sol-local.
func (g *gateway) solanaMerchant(name string) (*client, solana.PublicKey) {
	t := g.t
	t.Helper()
	api := g.testMerchant(name)
	owner := solana.NewWallet().PublicKey()
	var w sg.Wallet
	api.do(http.MethodPost, "/v1/wallets", map[string]any{"chain": "sol-local", "address": owner.String()}, &w)
	if w.Chain != "sol-local" || w.Address != owner.String() {
		t.Fatalf("created wallet %+v, want sol-local %s", w, owner)
	}
	return api, owner
}

// solanaCheckout creates a checkout paid in USDC on sol-local.
func (c *client) solanaCheckout(price string) (*sg.Checkout, *sg.CheckoutMethod) {
	c.t.Helper()
	var co sg.Checkout
	c.do(http.MethodPost, "/v1/checkouts", map[string]any{
		"price": price, "payment_method": map[string]string{"chain": "sol-local", "token": "USDC"},
	}, &co)
	m, ok := co.Method(sg.PaymentMethod{Chain: "sol-local", Token: "USDC"})
	if !ok || !m.IsReserved() || m.Reference == "" {
		c.t.Fatalf("created checkout %+v, want a reserved USDC method with a reference key", co)
	}
	return &co, m
}

func (c *client) waitCheckout(id string, within time.Duration, what string, cond func(sg.Checkout) bool) sg.Checkout {
	c.t.Helper()
	var got sg.Checkout
	eventuallyState(c.t, within, "checkout "+id+" "+what, func() (bool, string) {
		c.do(http.MethodGet, "/v1/checkouts/"+id, nil, &got)
		return cond(got), fmt.Sprintf("%+v", got)
	})
	return got
}

// TestSolanaPaymentOverNetwork: a checkout created over REST is paid by a
// real signed SPL transferChecked to the local RPC, with and without its
// reference key, and reaches paid once the transaction is finalized; a
// failed transaction is ignored; a short payment with the reference key is
// underpaid; killing the gateway between payments loses nothing.
func TestSolanaPaymentOverNetwork(t *testing.T) {
	t.Parallel()
	net := startSolana(t)
	reset := startResetter(t)
	prefix := redisPrefix(t)
	listen := freeAddr(t)
	gw := launchGateway(t, prefix, listen, fmt.Sprintf(solanaConfig, listen, storetest.URL(), reset.URL(), net.node.URL, net.mint.String()))
	api, owner := gw.solanaMerchant("e2e solana")

	withRef, m1 := api.solanaCheckout("12.34")
	plain, m2 := api.solanaCheckout("12.34")
	short, m3 := api.solanaCheckout("20.00")
	failing, m4 := api.solanaCheckout("3.00")
	if m1.Address != owner.String() || m1.Contract != net.mint.String() {
		t.Fatalf("method %+v, want the owner %s and the mint %s", m1, owner, net.mint)
	}

	sig1 := net.pay(t, owner, m1.Amount.Uint64(), false, solana.MustPublicKeyFromBase58(m1.Reference))
	net.pay(t, owner, m2.Amount.Uint64(), false)
	bad := net.pay(t, owner, 1_000_000_000_000, true, solana.MustPublicKeyFromBase58(m4.Reference))

	got := api.waitCheckout(withRef.ID, 60*time.Second, "to be paid", func(c sg.Checkout) bool { return c.Status == sg.StatusPaid })
	st, err := net.node.Client.GetSignatureStatuses(t.Context(), true, sig1)
	if err != nil || len(st.Value) != 1 || st.Value[0] == nil || st.Value[0].ConfirmationStatus != rpc.ConfirmationStatusFinalized {
		t.Fatalf("status of the paying transaction %+v, %v; want finalized", st, err)
	}
	if len(got.Payments) != 1 || got.Exception != sg.ExceptionNone || got.AmountReceived != sg.FormatUnits(m1.Amount, 6) {
		t.Fatalf("paid checkout %+v", got)
	}
	var p sg.Payment
	api.do(http.MethodGet, "/v1/payments/"+got.Payments[0], nil, &p)
	if p.TxHash != sig1.String() || p.Reference != m1.Reference || p.To != owner.String() || p.From != net.customer.PublicKey().String() || p.Status != sg.PaymentConfirmed {
		t.Fatalf("payment %+v, want tx %s with reference %s", p, sig1, m1.Reference)
	}
	api.waitCheckout(plain.ID, 30*time.Second, "to be paid", func(c sg.Checkout) bool { return c.Status == sg.StatusPaid })

	// The gateway dies; a short payment with the reference key arrives
	// meanwhile; the restarted gateway finds it.
	gw.kill()
	net.pay(t, owner, 5_000_000, false, solana.MustPublicKeyFromBase58(m3.Reference))
	gw.start()
	got = api.waitCheckout(short.ID, 60*time.Second, "to be underpaid", func(c sg.Checkout) bool { return c.Exception == sg.ExceptionUnderpaid })
	if got.Status != sg.StatusOpen || got.AmountReceived != "5.00" || got.AmountDue != sg.FormatUnits(m3.Amount, 6) {
		t.Fatalf("underpaid checkout %+v: want open, 5.00 received of %s", got, sg.FormatUnits(m3.Amount, 6))
	}

	net.node.WaitCommitment(t, bad, rpc.CommitmentFinalized)
	var f sg.Checkout
	api.do(http.MethodGet, "/v1/checkouts/"+failing.ID, nil, &f)
	if f.Status != sg.StatusOpen || len(f.Payments) != 0 {
		t.Fatalf("checkout of the failed transaction %+v, want untouched", f)
	}
	pays := all(api, "/v1/payments?unmatched=false", paymentID)
	if len(pays) != 3 {
		t.Fatalf("%d payments, want 3 (the failed transaction is none)", len(pays))
	}
	if gw.rpcErrorsOf("solana", "sol-local", 0) == 0 {
		t.Fatal("no RPC error counted for the resetting endpoint: was the failover path used?")
	}
}
