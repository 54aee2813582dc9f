package e2e_test

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	solana "github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	sg "github.com/stablegate/stablegate"
	chainsolana "github.com/stablegate/stablegate/chains/solana"
	"github.com/stablegate/stablegate/store/storetest"
)

// solanaBrowserConfig is the gateway config of the Solana browser test:
// one custom Solana chain on the LiteSVM-backed RPC, settled at the
// confirmed commitment, and nothing else watched.
const solanaBrowserConfig = `# Written by the e2e tests.
listen: %q
redis_url: %q
watch: [sol-local]
chains:
  chains:
    - id: sol-local
      name: Solana local
      kind: solana
      testnet: true
      rpc_urls: [%q]
      block_time: 100ms
      confirmation: {mode: confirmed}
      tokens:
        - {symbol: USDC, contract: %q, decimals: 6, program: token}
`

// TestSolanaWalletInBrowser pays a checkout's Solana method through the
// hosted page with a browser wallet. Without a wallet the page offers the
// QR code and the Solana Pay link with the checkout's reference key, and no
// wallet button. With a Wallet Standard wallet (registered by the browser
// script before the page loads, signing with the funded customer's key in
// the script) the customer clicks "pay with wallet": the page asks the
// gateway for the transaction, the wallet signs and sends it to the local
// Solana node, exactly the reserved amount lands in the merchant's token
// account, and the page turns paid with the transaction on its receipt.
// Screenshots go to artifacts/solana.
func TestSolanaWalletInBrowser(t *testing.T) {
	t.Parallel()
	browserTools(t) // before anything starts: fail at once without them
	net := startSolana(t)
	listen := freeAddr(t)
	gw := launchGateway(t, redisPrefix(t), listen, fmt.Sprintf(solanaBrowserConfig, listen, storetest.URL(), net.node.URL, net.mint.String()))
	api, owner := gw.solanaMerchant("Browser Solana Shop")
	co, m := api.solanaCheckout("19.99")

	ctx := t.Context()
	customer := net.customer.PublicKey()
	source, err := chainsolana.AssociatedTokenAccount(customer, net.mint, solana.TokenProgramID)
	if err != nil {
		t.Fatal(err)
	}
	dest, err := chainsolana.AssociatedTokenAccount(owner, net.mint, solana.TokenProgramID)
	if err != nil {
		t.Fatal(err)
	}
	had := tokenBalance(t, net.node.Client, source)

	b := runBrowserScript(t, "solana.mjs", "solana",
		"PAY_URL="+gw.baseURL+"/pay/"+co.ID+"?lang=en", "RPC_URL="+net.node.URL,
		"WALLET_SEED="+hex.EncodeToString(net.customer[:32]), "WALLET_ADDRESS="+customer.String(), "WALLET_CHAIN=solana:localnet")

	// Without a wallet: the link is the checkout's Solana Pay transfer
	// request, reference key included.
	var link struct{ URI string }
	b.read("link", &link)
	if link.URI != m.URI || !strings.Contains(link.URI, "reference="+m.Reference) {
		t.Fatalf("the page links %q; the checkout reserved %q with reference %s", link.URI, m.URI, m.Reference)
	}

	// With the wallet: one transaction, sent by the wallet, moving exactly
	// the reserved amount from the customer to the merchant.
	var sent struct{ Signature string }
	b.read("signature", &sent)
	sig, err := solana.SignatureFromBase58(sent.Signature)
	if err != nil {
		t.Fatalf("signature %q: %v", sent.Signature, err)
	}
	net.node.WaitCommitment(t, sig, rpc.CommitmentConfirmed)
	v := uint64(0)
	tx, err := net.node.Client.GetTransaction(ctx, sig, &rpc.GetTransactionOpts{Commitment: rpc.CommitmentConfirmed, MaxSupportedTransactionVersion: &v})
	if err != nil || tx == nil || tx.Meta == nil || tx.Meta.Err != nil {
		t.Fatalf("the wallet's transaction %s: %+v, %v; want it confirmed without error", sig, tx, err)
	}
	if got := tokenBalance(t, net.node.Client, dest); got != m.Amount.Uint64() {
		t.Fatalf("the merchant's token account holds %d, want the reserved %s", got, m.Amount)
	}
	if got := tokenBalance(t, net.node.Client, source); had-got != m.Amount.Uint64() {
		t.Fatalf("the customer's token account went from %d to %d, want %s less", had, got, m.Amount)
	}
	b.say("confirmed")

	var done struct{ Done bool }
	b.read("end", &done)
	if !done.Done {
		t.Fatalf("the browser script did not finish: %+v", done)
	}
	got := api.waitCheckout(co.ID, 30*time.Second, "to be paid", func(c sg.Checkout) bool { return c.Status == sg.StatusPaid })
	if len(got.Payments) != 1 || got.Exception != sg.ExceptionNone || got.AmountReceived != sg.FormatUnits(m.Amount, 6) {
		t.Fatalf("paid checkout %+v", got)
	}
	var p sg.Payment
	api.do(http.MethodGet, "/v1/payments/"+got.Payments[0], nil, &p)
	if p.TxHash != sig.String() || p.Reference != m.Reference || p.From != customer.String() || p.To != owner.String() {
		t.Fatalf("payment %+v, want the wallet's transaction %s from %s with reference %s", p, sig, customer, m.Reference)
	}
}

// tokenBalance returns a token account's balance in base units at the
// confirmed commitment, 0 for an account that does not exist.
func tokenBalance(t *testing.T, c *rpc.Client, account solana.PublicKey) uint64 {
	t.Helper()
	res, err := c.GetTokenAccountBalance(t.Context(), account, rpc.CommitmentConfirmed)
	if err != nil {
		if strings.Contains(err.Error(), "could not find account") || strings.Contains(err.Error(), "not found") {
			return 0
		}
		t.Fatalf("balance of %s: %v", account, err)
	}
	var n uint64
	if _, err := fmt.Sscan(res.Value.Amount, &n); err != nil {
		t.Fatalf("balance of %s: %q: %v", account, res.Value.Amount, err)
	}
	return n
}
