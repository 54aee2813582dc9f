package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	sg "github.com/stablegate/stablegate"
)

// Crash test sizes.
const (
	crashCheckouts = 200
	// crashLeaseKills is how many times the gateway is killed while it
	// holds the chain's watcher lease, i.e. in the middle of scanning and
	// settling; one more kill hits a process still waiting for the lease.
	crashLeaseKills = 3
)

// TestCrashLosesNothing streams 200 payments while the gateway process is
// killed with SIGKILL and started again several times at random moments,
// on the same config and Redis. After the last start every checkout must
// end paid exactly once: one payment each (the transfer sent for it), 200
// checkout.paid events, no exception, no payment lost or doubled.
//
// A new process can only watch the chain once the dead one's lease has run
// out (15 s by default), so three of the kills wait until the process holds
// the lease and then a random number of blocks (0 to 3) and milliseconds:
// they land while it scans and settles. One more kill, at a random place in
// the sequence, hits a process that is still waiting for the lease.
func TestCrashLosesNothing(t *testing.T) {
	t.Parallel()
	chain := startChain(t)
	gw := startGateway(t, chain, startResetter(t))
	api, wallet := gw.merchant("e2e crash")

	checkouts := make([]*sg.Checkout, crashCheckouts)
	amounts := make([]*big.Int, crashCheckouts)
	seen := make(map[string]bool)
	for i := range checkouts {
		co, m := api.checkout("10.00") // one price: the checkouts differ only by fingerprint
		if m.Address != wallet.Hex() || seen[m.Amount.String()] {
			t.Fatalf("checkout %d reserved %s to %s: want a distinct amount to %s", i, m.Amount, m.Address, wallet.Hex())
		}
		seen[m.Amount.String()] = true
		checkouts[i], amounts[i] = co, m.Amount
	}

	// The stream: one transfer per checkout in random order, 2 to 6 per
	// block, from one goroutine (one sender, so one nonce sequence).
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	order := rand.Perm(crashCheckouts)
	txs := make([]common.Hash, crashCheckouts) // by checkout index; read after done
	var sent atomic.Int64
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- stream(ctx, chain, wallet, order, amounts, txs, &sent)
	}()
	// On failure the stream must stop before anvil does.
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	var streamEnded bool
	var streamedAt time.Time
	checkStream := func() {
		if streamEnded {
			return
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			streamEnded, streamedAt = true, time.Now()
		default:
		}
	}

	// The kills. Each restart uses the same config, Redis prefix and port.
	early := 1 + rand.IntN(crashLeaseKills) // the kill before the lease: not the first
	var lastStart time.Time
	for k := 0; k < crashLeaseKills+1; k++ {
		if k != early {
			eventually(t, 30*time.Second, "the gateway to hold the watcher lease", func() bool {
				checkStream()
				return gw.holdsLease()
			})
		}
		if err := waitBlocks(ctx, chain, uint64(rand.IntN(4))); err != nil {
			t.Fatal(err)
		}
		jitter := time.Duration(rand.IntN(1000)) * time.Millisecond
		select {
		case <-time.After(jitter): // a random moment, not a synchronisation
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		checkStream()
		leader := gw.holdsLease()
		gw.kill()
		t.Logf("kill %d: SIGKILL after %d of %d transfers sent (lease held: %t)", gw.kills, sent.Load(), crashCheckouts, leader)
		if leader != (k != early) {
			t.Fatalf("kill %d: lease held %t; want the process waiting for the lease killed once and the holder the other times", gw.kills, leader)
		}
		lastStart = time.Now()
		gw.start()
	}

	// Wait for the stream to end and every checkout to be paid, noting
	// when the last process takes the lease over from the dead one.
	var leaseAt time.Time
	observe := func() {
		if leaseAt.IsZero() && gw.holdsLease() {
			leaseAt = time.Now()
		}
		checkStream()
	}
	eventually(t, 90*time.Second, "the stream of transfers to end", func() bool {
		observe()
		return streamEnded
	})
	eventuallyState(t, 90*time.Second, "every checkout to be paid", func() (bool, string) {
		observe()
		n := len(all(api, "/v1/checkouts?status=paid", checkoutID))
		return n == crashCheckouts, fmt.Sprintf("%d of %d paid", n, crashCheckouts)
	})
	settled := time.Now()
	if gw.kills < crashLeaseKills+1 {
		t.Fatalf("%d kills, want %d", gw.kills, crashLeaseKills+1)
	}
	t.Logf("%d kills; all %d checkouts paid %s after the last restart (lease taken over: %s; stream ended: %s)",
		gw.kills, crashCheckouts, settled.Sub(lastStart).Round(time.Millisecond), since(lastStart, leaseAt), since(lastStart, streamedAt))

	// Every checkout: paid, no exception, exactly one payment, and that
	// payment is the transfer sent for it.
	byPayment := make(map[string]int, crashCheckouts)
	for i, co := range checkouts {
		var got sg.Checkout
		api.do(http.MethodGet, "/v1/checkouts/"+co.ID, nil, &got)
		if got.Status != sg.StatusPaid || got.Exception != sg.ExceptionNone || len(got.Payments) != 1 {
			t.Fatalf("checkout %d %s: status %s, exception %q, payments %v; want paid once with no exception",
				i, co.ID, got.Status, got.Exception, got.Payments)
		}
		if j, dup := byPayment[got.Payments[0]]; dup {
			t.Fatalf("checkouts %d and %d share payment %s", j, i, got.Payments[0])
		}
		byPayment[got.Payments[0]] = i
	}
	payments := all(api, "/v1/payments?unmatched=false", paymentID)
	if len(payments) != crashCheckouts {
		t.Fatalf("%d payments, want exactly %d", len(payments), crashCheckouts)
	}
	for _, p := range payments {
		i, ok := byPayment[p.ID]
		if !ok {
			t.Fatalf("payment %s (tx %s) belongs to no checkout's payments", p.ID, p.TxHash)
		}
		if p.Status != sg.PaymentConfirmed || p.CheckoutID != checkouts[i].ID || p.TxHash != txs[i].Hex() ||
			p.Amount == nil || p.Amount.Cmp(amounts[i]) != 0 || p.To != wallet.Hex() || common.HexToAddress(p.Contract) != chain.usdc {
			t.Fatalf("payment %+v (amount %v) of checkout %d: want confirmed, tx %s, amount %s", p, p.Amount, i, txs[i].Hex(), amounts[i])
		}
	}
	events := all(api, "/v1/events?type="+sg.EventCheckoutPaid, eventID)
	if len(events) != crashCheckouts {
		t.Fatalf("%d checkout.paid events, want exactly %d", len(events), crashCheckouts)
	}
	evented := make(map[string]bool, crashCheckouts)
	for _, e := range events {
		var data sg.Checkout
		if err := json.Unmarshal(e.Data, &data); err != nil {
			t.Fatal(err)
		}
		if e.Type != sg.EventCheckoutPaid || evented[data.ID] {
			t.Fatalf("event %s: type %s for checkout %s, seen before: %t", e.ID, e.Type, data.ID, evented[data.ID])
		}
		evented[data.ID] = true
	}
	for i, co := range checkouts {
		if !evented[co.ID] {
			t.Fatalf("checkout %d %s has no checkout.paid event", i, co.ID)
		}
	}
}

// since describes when at was relative to start, for the log.
func since(start, at time.Time) string {
	switch {
	case at.IsZero():
		return "unseen"
	case at.Before(start):
		return "before it"
	}
	return "+" + at.Sub(start).Round(time.Millisecond).String()
}

// stream sends amounts[i] of USDC to wallet for each i in order, a random 2
// to 6 transfers per block, recording each transaction in txs[i] and
// counting them in sent.
func stream(ctx context.Context, chain *testChain, wallet common.Address, order []int, amounts []*big.Int, txs []common.Hash, sent *atomic.Int64) error {
	for n := 0; n < len(order); {
		for k := 2 + rand.IntN(5); k > 0 && n < len(order); k-- {
			i := order[n]
			tx, err := chain.transfer(ctx, chain.usdc, wallet, amounts[i])
			if err != nil {
				return fmt.Errorf("transfer %d: %w", n, err)
			}
			txs[i] = tx
			n++
			sent.Add(1)
		}
		if err := waitBlocks(ctx, chain, 1); err != nil {
			return err
		}
	}
	return nil
}

// waitBlocks waits until n more blocks are mined.
func waitBlocks(ctx context.Context, chain *testChain, n uint64) error {
	if n == 0 {
		return nil
	}
	from, err := chain.client.BlockNumber(ctx)
	if err != nil {
		return fmt.Errorf("block number: %w", err)
	}
	deadline := time.Now().Add(time.Duration(n)*time.Second + 10*time.Second)
	for {
		h, err := chain.client.BlockNumber(ctx)
		if err != nil {
			return fmt.Errorf("block number: %w", err)
		}
		if h >= from+n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("anvil made no block %d within its deadline (head %d)", from+n, h)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval / 2): // a poll interval inside a deadline loop
		}
	}
}
