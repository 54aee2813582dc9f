package evm_test

import (
	"log/slog"
	"testing"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/chains/evm"
	"github.com/stablegate/stablegate/chains/evm/devnet"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/merchant"
	"github.com/stablegate/stablegate/store"
)

// TestSettlerThroughFork: the watcher feeding the real settler, on the
// simulated chain, through a reorg made with Fork: the payment moves its
// checkout to processing, the reorg reverts it, and the checkout is paid
// exactly once when the new branch includes the transfer and confirms it,
// or stays open when the new branch dropped it.
func TestSettlerThroughFork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		rollback bool // the new branch drops the transaction
		status   sg.CheckoutStatus
		payment  sg.PaymentStatus
		// checkout.processing and checkout.paid events
		processing, paid int
	}{
		{name: "re-included by the new branch", status: sg.StatusPaid, payment: sg.PaymentConfirmed, processing: 2, paid: 1},
		{name: "dropped by the new branch", rollback: true, status: sg.StatusOpen, payment: sg.PaymentReverted, processing: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			d := startDevnet(t)
			f := newFixture(t, d, fixtureOpts{policy: blocks(3)})
			reg, err := chains.NewRegistry(f.chain)
			if err != nil {
				t.Fatal(err)
			}
			log := slog.New(slog.DiscardHandler)
			merchants := merchant.New(f.st, reg, time.Now)
			m, err := merchants.Create(ctx, "Fork shop")
			if err != nil {
				t.Fatal(err)
			}
			p := sg.Principal{MerchantID: m.ID}
			if _, err := merchants.AddWallet(ctx, p, f.chain.ID, f.watched.Hex()); err != nil {
				t.Fatal(err)
			}
			co, err := checkout.New(f.st, reg, time.Now, log).Create(ctx, p, checkout.CreateParams{
				Price: "2.00", PaymentMethods: []sg.PaymentMethod{{Chain: f.chain.ID, Token: "USDT"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			settler := checkout.NewSettler(f.st, reg, time.Now, log)
			w := evm.NewWatcher(f.chain, f.pool, f.st.Cursors(), staticAddrs{f.watched}, settler, evm.Config{Metrics: f.metrics}, nil, testLogger(t))
			tick := func() {
				t.Helper()
				if err := w.Tick(ctx); err != nil {
					t.Fatalf("Tick: %v", err)
				}
			}
			state := func() (*sg.Checkout, *sg.Payment) {
				t.Helper()
				c, err := f.st.Checkout(ctx, m.ID, co.ID)
				if err != nil {
					t.Fatal(err)
				}
				if len(c.Payments) != 1 {
					return c, nil
				}
				pay, err := f.st.Payment(ctx, m.ID, c.Payments[0])
				if err != nil {
					t.Fatal(err)
				}
				return c, pay
			}
			events := func(typ string) int {
				t.Helper()
				evts, _, err := f.st.ListEvents(ctx, m.ID, store.EventFilter{Type: typ, Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				return len(evts)
			}

			tick()
			amount := co.Methods[0].Amount
			tx := f.pay(d.Token(devnet.USDT), f.watched, amount.Int64())
			n := f.mine(1)
			tick()
			f.mine(1)
			tick()
			if c, pay := state(); c.Status != sg.StatusProcessing || pay == nil || pay.Status != sg.PaymentPending || pay.BlockNumber != n {
				t.Fatalf("before the fork: checkout %s, payment %+v; want processing, pending in block %d", c.Status, pay, n)
			}

			f.fork(n, tt.rollback)
			// A longer branch, then blocks enough for the policy.
			for range 8 {
				f.mine(1)
				tick()
			}
			c, pay := state()
			if c.Status != tt.status || c.Exception != sg.ExceptionNone || pay == nil || pay.Status != tt.payment || pay.TxHash != tx.Hex() {
				t.Fatalf("after the fork: checkout %s/%q, payment %+v; want %s, payment %s of %s", c.Status, c.Exception, pay, tt.status, tt.payment, tx.Hex())
			}
			if tt.payment == sg.PaymentConfirmed {
				r, err := f.eth.TransactionReceipt(ctx, tx)
				if err != nil {
					t.Fatal(err)
				}
				if pay.BlockHash != r.BlockHash.Hex() || pay.Amount.Cmp(amount) != 0 {
					t.Fatalf("payment in block %s of %s, want the new branch's %s and %s", pay.BlockHash, pay.Amount, r.BlockHash.Hex(), amount)
				}
			}
			if got := events(sg.EventPaymentReverted); got != 1 {
				t.Fatalf("%d payment.reverted events, want 1", got)
			}
			if got := events(sg.EventCheckoutProcessing); got != tt.processing {
				t.Fatalf("%d checkout.processing events, want %d", got, tt.processing)
			}
			if got := events(sg.EventCheckoutPaid); got != tt.paid {
				t.Fatalf("%d checkout.paid events, want %d", got, tt.paid)
			}
		})
	}
}
