package checkout_test

import (
	"context"
	"errors"
	"math/big"
	"reflect"
	"testing"
	"time"

	solanago "github.com/gagliardetto/solana-go"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/chains/solana"
	"github.com/stablegate/stablegate/checkout"
)

func TestSplitAmount(t *testing.T) {
	t.Parallel()
	bsc, _ := new(big.Int).SetString("50000120000000000000", 10)
	for _, tc := range []struct{ name, in, head, tail string }{
		{"fingerprinted", "50.00012", "50.00", "012"},
		{"largest offset", "50.00999", "50.00", "999"},
		{"below a dollar", "0.01001", "0.01", "001"},
		{"18 decimals", sg.FormatUnits(bsc, 18), "50.00", "012"},
		{"no offset", "50.00", "50.00", ""},
		{"no decimals", "50", "50", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if h, tl := checkout.SplitAmount(tc.in); h != tc.head || tl != tc.tail {
				t.Fatalf("SplitAmount(%q) = %q, %q; want %q, %q", tc.in, h, tl, tc.head, tc.tail)
			}
		})
	}
}

func TestState(t *testing.T) {
	t.Parallel()
	const now = 1000
	for _, tc := range []struct {
		name      string
		status    sg.CheckoutStatus
		exception sg.Exception
		expiresAt int64
		want      string
	}{
		{"open", sg.StatusOpen, "", now + 1, "open"},
		{"open past expiry, not swept yet", sg.StatusOpen, "", now, "expired"},
		{"processing", sg.StatusProcessing, "", now - 1, "processing"},
		{"paid", sg.StatusPaid, "", now, "paid"},
		{"paid twice", sg.StatusPaid, sg.ExceptionMultiple, now, "paid"},
		{"overpaid", sg.StatusPaid, sg.ExceptionOverpaid, now, "overpaid"},
		{"paid late", sg.StatusPaid, sg.ExceptionPaidLate, now, "paid_late"},
		{"underpaid, open", sg.StatusOpen, sg.ExceptionUnderpaid, now + 1, "underpaid"},
		{"underpaid, expired", sg.StatusExpired, sg.ExceptionUnderpaid, now - 1, "underpaid"},
		{"expired", sg.StatusExpired, "", now - 1, "expired"},
		{"canceled", sg.StatusCanceled, "", now + 1, "canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &sg.Checkout{Status: tc.status, Exception: tc.exception, ExpiresAt: tc.expiresAt}
			if got := checkout.State(c, now); got != tc.want {
				t.Fatalf("State = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPublicSelect(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	base := f.addWallet(f.p, "base-sepolia")
	sep := f.addWallet(f.p, "sepolia")
	f.addWallet(f.p, "arbitrum-sepolia")
	co := f.create(f.p, checkout.CreateParams{Price: "49.00", PaymentMethods: []sg.PaymentMethod{baseSepoliaUSDC, sepoliaUSDC},
		Description: "Tee", OrderID: "o-1", CustomerEmail: "a@b.example", SuccessURL: "https://shop.example/ok"})
	pub := checkout.NewPublic(f.st, f.svc, checkout.DefaultPublicConfig())

	_, err := pub.Select(f.ctx, co.ID, sg.PaymentMethod{Chain: "arbitrum-sepolia", Token: "USDC"})
	wantReason(t, err, sg.EINVALID, "payment_method_not_accepted", "chain")
	_, err = pub.Select(f.ctx, co.ID, sg.PaymentMethod{Chain: "base-sepolia", Token: "USDT"})
	wantReason(t, err, sg.EINVALID, "payment_method_not_accepted", "token")
	_, err = pub.Select(f.ctx, sg.NewID(sg.PrefixCheckout, t0), baseSepoliaUSDC)
	wantReason(t, err, sg.ENOTFOUND, "resource_missing", "id")

	v, err := pub.Select(f.ctx, co.ID, sg.PaymentMethod{Chain: "base-sepolia", Token: "usdc"})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := f.st.Checkout(f.ctx, f.m.ID, co.ID)
	want := stored.Methods[0]
	m := v.Method
	if m.Chain != "base-sepolia" || m.Token != "USDC" || m.Address != base.Address || m.URI != want.URI ||
		m.AmountBaseUnits != want.Amount.String() || m.Amount != sg.FormatUnits(want.Amount, 6) || m.AmountHead != "49.00" || m.AmountHead+m.AmountTail != m.Amount {
		t.Fatalf("chosen method %+v, stored %+v", m, want)
	}
	if m.Wallet == nil || m.Wallet.ChainID != "0x14a34" || m.Wallet.Contract != want.Contract || m.Wallet.To != base.Address ||
		m.Wallet.Amount != want.Amount.String() || m.Wallet.ExplorerURL != "https://sepolia.basescan.org" || len(m.Wallet.RPCURLs) == 0 {
		t.Fatalf("wallet request %+v", m.Wallet)
	}
	if stored.Methods[1].IsReserved() || stored.Version != co.Version+1 {
		t.Fatalf("choosing changed more than one method: %+v", stored)
	}
	again, err := pub.Select(f.ctx, co.ID, baseSepoliaUSDC)
	if err != nil || !reflect.DeepEqual(again.Method, v.Method) {
		t.Fatalf("second choice %+v, %v; first %+v", again.Method, err, v.Method)
	}
	if after, _ := f.st.Checkout(f.ctx, f.m.ID, co.ID); after.Version != stored.Version {
		t.Fatalf("choosing a reserved method again wrote the checkout (version %d, was %d)", after.Version, stored.Version)
	}

	// Two reserved: the page shows the one asked for, else the latest.
	f.clock.Advance(time.Second)
	other, err := pub.Select(f.ctx, co.ID, sepoliaUSDC)
	if err != nil || other.Method.Chain != "sepolia" || other.Method.Address != sep.Address {
		t.Fatalf("second method %+v, %v", other.Method, err)
	}
	if v, _ := pub.View(f.ctx, co.ID); v.Method.Chain != "sepolia" {
		t.Fatalf("view shows %s, want the latest choice", v.Method.Chain)
	}
	page, err := pub.Page(f.ctx, co.ID, &baseSepoliaUSDC)
	if err != nil || page.View.Method.Chain != "base-sepolia" || page.Description != "Tee" || page.Merchant.Name != "Test shop" {
		t.Fatalf("page %+v, %v", page, err)
	}
	wantOptions := []checkout.PublicOption{
		{Chain: "base-sepolia", Token: "USDC", ChainName: "Base Sepolia", FeeClass: chains.FeeLow, Selected: true},
		{Chain: "sepolia", Token: "USDC", ChainName: "Sepolia", FeeClass: chains.FeeHigh},
	}
	if len(page.Options) != 2 || page.Options[0] != wantOptions[0] || page.Options[1] != wantOptions[1] {
		t.Fatalf("options %+v, want %+v", page.Options, wantOptions)
	}

	f.clock.Set(time.Unix(co.ExpiresAt, 0))
	_, err = pub.Select(f.ctx, co.ID, sepoliaUSDC)
	wantReason(t, err, sg.ECONFLICT, "checkout_not_open", "")
	if v, _ := pub.View(f.ctx, co.ID); v.State != "expired" || v.Status != sg.StatusOpen || v.Final {
		t.Fatalf("view past expiry: state %s, status %s, final %v", v.State, v.Status, v.Final)
	}
	f.clock.Set(time.Unix(co.LateUntil, 0))
	if v, _ := pub.View(f.ctx, co.ID); !v.Final {
		t.Fatal("not final past the late window")
	}
}

func TestPublicViewFollowsThePayment(t *testing.T) {
	t.Parallel()
	f := newSettleFixture(t)
	m, err := f.st.Merchant(f.ctx, f.m.ID)
	if err != nil {
		t.Fatal(err)
	}
	m.Settings.Confirmations = map[string]sg.Confirmation{settleChain: {Mode: chains.ConfirmBlocks, Blocks: 5}}
	if err := f.st.UpdateMerchant(f.ctx, m); err != nil {
		t.Fatal(err)
	}
	pub := checkout.NewPublic(f.st, f.svc, checkout.DefaultPublicConfig())

	v, err := pub.View(f.ctx, f.co.ID)
	if err != nil {
		t.Fatal(err)
	}
	amount := sg.FormatUnits(f.reserved(), 18)
	if v.State != "open" || v.Method == nil || v.Method.Amount != amount || v.Method.AmountBaseUnits != f.reserved().String() ||
		v.Payment != nil || v.Final || v.Price != "50.00" || v.Livemode {
		t.Fatalf("open view %+v", v)
	}
	if w := v.Method.Wallet; w.ChainID != "0x7a69" || len(w.RPCURLs) != 0 || w.ExplorerURL != "" {
		t.Fatalf("devnet wallet request %+v: the registry's RPC URLs must not be shown", w)
	}

	// The watcher has scanned up to block 101; the transfer is in 100.
	if err := f.st.Client().HSet(f.ctx, f.st.Keys().WatchCursor(settleChain), "height", "101").Err(); err != nil {
		t.Fatal(err)
	}
	tr := f.transfer(f.reserved(), 100)
	f.see(tr)
	v, _ = pub.View(f.ctx, f.co.ID)
	want := checkout.PublicPayment{Chain: settleChain, Token: "USDT", TxHash: tr.TxHash, Amount: amount, BlockTime: tr.BlockTime,
		Confirmations: 2, ConfirmationsRequired: 5}
	if v.State != "processing" || v.Payment == nil || *v.Payment != want || v.AmountDue != amount || v.AmountReceived != amount {
		t.Fatalf("processing view %+v payment %+v, want %+v", v, v.Payment, want)
	}
	f.confirm(104, verdicts{})
	v, _ = pub.View(f.ctx, f.co.ID)
	want.Confirmations = 5
	if v.State != "paid" || !v.Final || v.PaidAt != f.clock.Now().Unix() || *v.Payment != want || v.Method == nil {
		t.Fatalf("paid view %+v payment %+v", v, v.Payment)
	}
}

// TestPublicAllow: one client's method choices are counted together over
// all checkouts (each may reserve an amount), IPv6 by its /64, in fixed
// one-minute windows.
func TestPublicAllow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cfg := checkout.DefaultPublicConfig()
	cfg.SelectLimit = 2
	pub := checkout.NewPublic(f.st, f.svc, cfg)
	f.clock.Set(t0.Add(15 * time.Second))
	for _, client := range []string{"192.0.2.1", "2001:db8:1:2::1"} {
		for i := range 2 {
			if wait, err := pub.Allow(f.ctx, client); err != nil || wait != 0 {
				t.Fatalf("%s choice %d: wait %v, %v", client, i+1, wait, err)
			}
		}
	}
	for _, client := range []string{"192.0.2.1", "2001:db8:1:2::ffff"} {
		if wait, err := pub.Allow(f.ctx, client); err != nil || wait != 45*time.Second {
			t.Fatalf("%s third choice: wait %v, %v; want the 45 s left of the minute", client, wait, err)
		}
	}
	if wait, _ := pub.Allow(f.ctx, "192.0.2.2"); wait != 0 {
		t.Fatalf("another client waits %v", wait)
	}
	f.clock.Advance(45 * time.Second)
	if wait, _ := pub.Allow(f.ctx, "192.0.2.1"); wait != 0 {
		t.Fatalf("next minute: wait %v", wait)
	}
	off := checkout.NewPublic(f.st, f.svc, checkout.PublicConfig{})
	for range 5 {
		if wait, _ := off.Allow(f.ctx, "192.0.2.1"); wait != 0 {
			t.Fatal("a zero limit limits")
		}
	}
}

func TestSolanaWalletChain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ chain, want string }{
		{"solana", "solana:mainnet"},
		{"solana-devnet", "solana:devnet"},
		{"sol-local", "solana:localnet"},
		{"solana-testnet", "solana:localnet"},
	} {
		t.Run(tc.chain, func(t *testing.T) {
			if got := checkout.SolanaWalletChain(tc.chain); got != tc.want {
				t.Fatalf("SolanaWalletChain(%q) = %q, want %q", tc.chain, got, tc.want)
			}
		})
	}
}

// noBlockhash is the blockhash source of tests whose requests must be
// refused before the chain's node is asked.
func noBlockhash(t *testing.T) checkout.BlockhashFunc {
	return func(context.Context, *chains.Chain) (string, error) {
		t.Error("a refused transaction request asked the node for a blockhash")
		return "", errors.New("no node")
	}
}

// TestPublicSolanaWalletRequest: a reserved Solana method tells the page
// where its transaction request is, only when the service can build one.
func TestPublicSolanaWalletRequest(t *testing.T) {
	t.Parallel()
	f := newReferenceFixture(t)
	f.addWallet(f.p, "base-sepolia")
	evm := f.create(f.p, checkout.CreateParams{Price: "5.00", PaymentMethods: []sg.PaymentMethod{baseSepoliaUSDC}})
	cfg := checkout.DefaultPublicConfig()
	cfg.Blockhash = noBlockhash(t)
	pub := checkout.NewPublic(f.st, f.svc, cfg)

	v, err := pub.View(f.ctx, f.co.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := &checkout.SolanaWalletRequest{
		Chain: "solana:devnet", TransactionURL: "/pay/" + f.co.ID + "/solana-transaction?method=solana-devnet%3AUSDC",
	}
	if v.Method == nil || !reflect.DeepEqual(v.Method.SolanaWallet, want) || v.Method.Wallet != nil {
		t.Fatalf("solana method %+v, wallet request %+v; want %+v", v.Method, v.Method.SolanaWallet, want)
	}
	if v, _ := pub.View(f.ctx, evm.ID); v.Method.SolanaWallet != nil || v.Method.Wallet == nil {
		t.Fatalf("EVM method %+v has a Solana wallet request", v.Method)
	}
	off := checkout.NewPublic(f.st, f.svc, checkout.DefaultPublicConfig())
	if v, _ := off.View(f.ctx, f.co.ID); v.Method.SolanaWallet != nil {
		t.Fatalf("without a blockhash source the page still offers %+v", v.Method.SolanaWallet)
	}
}

// TestPublicSolanaTransactionRefusals: every refusal names its reason,
// asks the node nothing and leaves the checkout as it was.
func TestPublicSolanaTransactionRefusals(t *testing.T) {
	t.Parallel()
	f := newReferenceFixture(t)
	f.addWallet(f.p, "base-sepolia")
	m := f.method()
	cfg := checkout.DefaultPublicConfig()
	cfg.Blockhash = noBlockhash(t)
	pub := checkout.NewPublic(f.st, f.svc, cfg)

	evm := f.create(f.p, checkout.CreateParams{Price: "5.00", PaymentMethods: []sg.PaymentMethod{baseSepoliaUSDC}})
	unchosen := f.create(f.p, checkout.CreateParams{Price: "6.00", PaymentMethods: []sg.PaymentMethod{solanaDevnetUSDC, baseSepoliaUSDC},
		PaymentMethod: &baseSepoliaUSDC})
	none := f.create(f.p, checkout.CreateParams{Price: "7.00", PaymentMethods: []sg.PaymentMethod{solanaDevnetUSDC, baseSepoliaUSDC}})
	canceled := f.create(f.p, checkout.CreateParams{Price: "8.00", PaymentMethods: []sg.PaymentMethod{solanaDevnetUSDC}})
	if _, err := f.svc.Cancel(f.ctx, f.m.ID, canceled.ID); err != nil {
		t.Fatal(err)
	}

	customer := newSolanaKey(t)
	owner, _ := solanago.PublicKeyFromBase58(f.owner)
	mint, _ := solanago.PublicKeyFromBase58(m.Contract)
	ata, err := solana.AssociatedTokenAccount(owner, mint, solanago.TokenProgramID)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{f.co.ID, evm.ID, unchosen.ID, none.ID, canceled.ID}
	before := map[string]*sg.Checkout{}
	for _, id := range ids {
		before[id], _ = f.st.Checkout(f.ctx, f.m.ID, id)
	}

	for _, tc := range []struct {
		name, id, account string
		want              *sg.PaymentMethod
		code              sg.ErrorCode
		reason, param     string
	}{
		{"no account", f.co.ID, "", nil, sg.EINVALID, "parameter_missing", "account"},
		{"not base58", f.co.ID, "0xdeadbeef", nil, sg.EINVALID, "account_invalid", "account"},
		{"too short", f.co.ID, "3mJr7AoUXx2Wqd", nil, sg.EINVALID, "account_invalid", "account"},
		{"a program address", f.co.ID, ata.String(), nil, sg.EINVALID, "account_invalid", "account"},
		{"the merchant's wallet", f.co.ID, f.owner, nil, sg.EINVALID, "account_invalid", "account"},
		{"the reference key", f.co.ID, m.Reference, nil, sg.EINVALID, "account_invalid", "account"},
		{"unknown checkout", sg.NewID(sg.PrefixCheckout, t0), customer, nil, sg.ENOTFOUND, "resource_missing", "id"},
		{"an EVM method", evm.ID, customer, nil, sg.ECONFLICT, "payment_method_not_solana", "method"},
		{"the Solana method not chosen", unchosen.ID, customer, &solanaDevnetUSDC, sg.ECONFLICT, "payment_method_not_chosen", "method"},
		{"the chosen EVM method asked for", unchosen.ID, customer, &baseSepoliaUSDC, sg.ECONFLICT, "payment_method_not_solana", "method"},
		{"no method chosen", none.ID, customer, nil, sg.ECONFLICT, "payment_method_not_chosen", "method"},
		{"canceled", canceled.ID, customer, nil, sg.ECONFLICT, "checkout_not_open", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := pub.SolanaTransaction(f.ctx, tc.id, tc.want, tc.account)
			if tx != nil {
				t.Fatalf("built %+v", tx)
			}
			wantReason(t, err, tc.code, tc.reason, tc.param)
		})
	}

	// Without a blockhash source nothing is built.
	off := checkout.NewPublic(f.st, f.svc, checkout.DefaultPublicConfig())
	_, err = off.SolanaTransaction(f.ctx, f.co.ID, nil, customer)
	wantReason(t, err, sg.ECONFLICT, "wallet_payment_unavailable", "")

	// Past the expiry, before the sweeper, and underpaid: not open.
	f.clock.Set(time.Unix(f.co.ExpiresAt, 0))
	_, err = pub.SolanaTransaction(f.ctx, f.co.ID, nil, customer)
	wantReason(t, err, sg.ECONFLICT, "checkout_not_open", "")
	for _, id := range ids {
		after, _ := f.st.Checkout(f.ctx, f.m.ID, id)
		if !reflect.DeepEqual(after, before[id]) {
			t.Errorf("a refused transaction request changed %s:\n%+v\n%+v", id, before[id], after)
		}
	}
	f.clock.Set(t0)
	f.settle(f.transfer(big.NewInt(1), 10, m.Reference))
	if c, _ := f.st.Checkout(f.ctx, f.m.ID, f.co.ID); c.Exception != sg.ExceptionUnderpaid || c.Status != sg.StatusOpen {
		t.Fatalf("after a short payment: %s %s, want open and underpaid", c.Status, c.Exception)
	}
	_, err = pub.SolanaTransaction(f.ctx, f.co.ID, nil, customer)
	wantReason(t, err, sg.ECONFLICT, "checkout_not_open", "")
}
