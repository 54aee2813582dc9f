package e2e_test

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains/evm/devnet"
)

// TestPaymentOverNetwork pays a checkout over the whole real path: the
// stablegate process, Redis, and anvil's JSON-RPC over HTTP (behind a first
// endpoint that resets every connection) and WebSocket. The checkout is
// created over REST, paid with a signed ERC-20 transfer and read back as
// paid, with exactly one payment and one checkout.paid event. In the same
// blocks a round amount to the wallet becomes an unmatched payment, and the
// exact amount sent from a look-alike USDC contract is never recorded.
func TestPaymentOverNetwork(t *testing.T) {
	t.Parallel()
	chain := startChain(t)
	fake := chain.deployToken(t, "USDC") // same name, symbol and decimals; not in the config
	reset := startResetter(t)
	gw := startGateway(t, chain, reset)
	api, wallet := gw.merchant("e2e payment")

	co, method := api.checkout("12.34")
	if method.Address != wallet.Hex() || !common.IsHexAddress(method.Contract) ||
		common.HexToAddress(method.Contract) != chain.usdc || method.Decimals != devnet.TokenDecimals {
		t.Fatalf("reserved method %+v, want USDC %s to wallet %s", method, chain.usdc.Hex(), wallet.Hex())
	}
	due := method.Amount
	round := big.NewInt(7_000_000) // 7.000000 USDC: no fingerprinted amount is whole cents

	ctx := t.Context()
	fakeTx, err := chain.transfer(ctx, fake, wallet, due)
	if err != nil {
		t.Fatalf("transfer from the fake token: %v", err)
	}
	roundTx, err := chain.transfer(ctx, chain.usdc, wallet, round)
	if err != nil {
		t.Fatalf("round transfer: %v", err)
	}
	paidTx, err := chain.transfer(ctx, chain.usdc, wallet, due)
	if err != nil {
		t.Fatalf("payment: %v", err)
	}
	sent := time.Now()

	var got sg.Checkout
	path := "/v1/checkouts/" + co.ID
	eventuallyState(t, 30*time.Second, "checkout "+co.ID+" to be paid", func() (bool, string) {
		api.do(http.MethodGet, path, nil, &got)
		return got.Status == sg.StatusPaid, fmt.Sprintf("%+v", got)
	})
	toPaid := time.Since(sent)
	paidR := chain.mined(t, paidTx)
	t.Logf("paid %s after the transfer was sent (transfer in block %d; confirmation: 2 blocks of 1 s)",
		toPaid.Round(time.Millisecond), paidR.BlockNumber)

	if len(got.Payments) != 1 || got.Exception != sg.ExceptionNone || got.PaidWith == nil ||
		*got.PaidWith != (sg.PaymentMethod{Chain: "anvil", Token: "USDC"}) ||
		got.AmountDue != sg.FormatUnits(due, 6) || got.AmountReceived != got.AmountDue || got.PaidAt == 0 {
		t.Fatalf("paid checkout %+v: want exactly one payment of %s USDC on anvil and no exception", got, sg.FormatUnits(due, 6))
	}

	var pay sg.Payment
	api.do(http.MethodGet, "/v1/payments/"+got.Payments[0], nil, &pay)
	want := sg.Payment{
		ID: got.Payments[0], Object: "payment", Status: sg.PaymentConfirmed, Chain: "anvil", Token: "USDC",
		Contract: chain.usdc.Hex(), Decimals: 6, TxHash: paidTx.Hex(), LogIndex: paidR.Logs[0].Index,
		BlockNumber: paidR.BlockNumber.Uint64(), BlockHash: paidR.BlockHash.Hex(),
		From: devnet.FaucetAddress.Hex(), To: wallet.Hex(), CheckoutID: co.ID,
	}
	if !samePayment(pay, want) || pay.Amount == nil || pay.Amount.Cmp(due) != 0 || pay.ConfirmedAt == 0 {
		t.Fatalf("payment\n%+v (amount %v)\nwant\n%+v (amount %v)", pay, pay.Amount, want, due)
	}

	for typ, n := range map[string]int{sg.EventCheckoutPaid: 1, sg.EventCheckoutProcessing: 1} {
		events := all(api, "/v1/events?type="+typ, eventID)
		if len(events) != n {
			t.Fatalf("%d %s events, want %d", len(events), typ, n)
		}
		var data sg.Checkout
		if err := json.Unmarshal(events[0].Data, &data); err != nil {
			t.Fatal(err)
		}
		if events[0].Type != typ || data.ID != co.ID {
			t.Fatalf("%s event %+v is about checkout %q, want %q", typ, events[0], data.ID, co.ID)
		}
	}

	// The round transfer went into a block no later than the payment, so
	// it was scanned; it is announced once confirmed.
	roundR := chain.mined(t, roundTx)
	var unmatched []sg.Payment
	eventuallyState(t, 30*time.Second, "the round transfer to be an unmatched confirmed payment", func() (bool, string) {
		unmatched = all(api, "/v1/payments?unmatched=true", paymentID)
		return len(unmatched) == 1 && unmatched[0].Status == sg.PaymentConfirmed, fmt.Sprintf("%+v", unmatched)
	})
	wantUnmatched := sg.Payment{
		ID: unmatched[0].ID, Object: "payment", Status: sg.PaymentConfirmed, Chain: "anvil", Token: "USDC",
		Contract: chain.usdc.Hex(), Decimals: 6, TxHash: roundTx.Hex(), LogIndex: roundR.Logs[0].Index,
		BlockNumber: roundR.BlockNumber.Uint64(), BlockHash: roundR.BlockHash.Hex(),
		From: devnet.FaucetAddress.Hex(), To: wallet.Hex(),
	}
	if u := unmatched[0]; !samePayment(u, wantUnmatched) || u.Amount == nil || u.Amount.Cmp(round) != 0 {
		t.Fatalf("unmatched payment\n%+v (amount %v)\nwant\n%+v (amount %v)", u, u.Amount, wantUnmatched, round)
	}
	if events := all(api, "/v1/events?type="+sg.EventPaymentUnmatched, eventID); len(events) != 1 {
		t.Fatalf("%d payment.unmatched events, want 1", len(events))
	}

	// The fake token's transfer was sent first, so the watcher has scanned
	// its block: it must not be a payment at all, matched or not.
	fakeR := chain.mined(t, fakeTx)
	if fakeR.BlockNumber.Cmp(paidR.BlockNumber) > 0 {
		t.Fatalf("the fake transfer is in block %d, after the payment's %d: the test proves nothing", fakeR.BlockNumber, paidR.BlockNumber)
	}
	payments := all(api, "/v1/payments?unmatched=false", paymentID)
	if len(payments) != 2 {
		t.Fatalf("%d payments %+v, want 2: the checkout's and the unmatched one", len(payments), payments)
	}
	for _, p := range payments {
		if p.TxHash == fakeTx.Hex() || common.HexToAddress(p.Contract) == fake {
			t.Fatalf("the fake USDC transfer was recorded: %+v", p)
		}
	}

	// Every call through the resetting endpoint failed, and the gateway
	// still paid through the other one.
	if reset.conns.Load() == 0 || gw.rpcErrors(0) == 0 {
		t.Fatalf("the resetting endpoint saw %d connections and %d errors: it was never tried", reset.conns.Load(), gw.rpcErrors(0))
	}
}

// samePayment compares the fields a test can know, ignoring the amount
// (compared as a number) and the times.
func samePayment(got, want sg.Payment) bool {
	got.Amount, want.Amount = nil, nil
	got.Created, got.ConfirmedAt, got.BlockTime = 0, 0, 0
	want.Created, want.ConfirmedAt, want.BlockTime = 0, 0, 0
	return got == want
}
