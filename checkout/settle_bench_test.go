package checkout_test

import (
	"fmt"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/checkout"
)

// openReservations is how many open reservations the matching benchmarks
// hold while they match, as the watcher issue asks.
const openReservations = 100_000

// scanBatch is the transfers handed to the settler at once: one scanned
// range.
const scanBatch = 100

// reservedFixture is a settle fixture holding openReservations open
// checkouts, each with a reserved amount at one wallet, and the transfers
// that would pay them.
func reservedFixture(b *testing.B) (*settleFixture, []chains.Transfer) {
	f := newSettleFixture(b)
	f.setSettings(f.m.ID, 6, 9999, 86400)
	ts := make([]chains.Transfer, openReservations)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 64 {
		wg.Go(func() {
			for i := range next {
				c, err := f.svc.Create(f.ctx, f.p, checkout.CreateParams{
					Price:          sg.FormatPrice(int64(100 + i%50)),
					PaymentMethods: []sg.PaymentMethod{{Chain: settleChain, Token: "USDT"}},
				})
				if err != nil {
					b.Error(err)
					return
				}
				ts[i] = chains.Transfer{
					Chain: settleChain, TxHash: fmt.Sprintf("0x%064x", i), BlockNumber: uint64(1 + i/scanBatch), BlockHash: fmt.Sprintf("0x%064x", i/scanBatch),
					BlockTime: f.clock.Now().Unix(), From: f.wallet.Address, To: c.Methods[0].Address, Token: devnet18.Tokens[0].Contract,
					Amount: new(big.Int).Set(c.Methods[0].Amount),
				}
			}
		})
	}
	for i := range openReservations {
		next <- i
	}
	close(next)
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return f, ts
}

// batches hands b.N transfers to fn a scanned range at a time and reports
// logs/s. The fixture's clock moves on by a range's worth of time at 50,000
// logs/s between ranges, so the payments' and events' ids follow each other
// in time as they do in production (ids start with the time), instead of
// all sharing one millisecond.
func batches(b *testing.B, f *settleFixture, ts []chains.Transfer, fn func([]chains.Transfer) error) {
	b.ResetTimer()
	for i := 0; i < b.N; i += scanBatch {
		n := min(scanBatch, b.N-i)
		lo := i % len(ts)
		f.clock.Advance(scanBatch * time.Second / 50_000)
		if err := fn(ts[lo:min(lo+n, len(ts))]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logs/s")
}

// BenchmarkMatchTransfers measures matching throughput: deciding, for each
// transfer of a scanned range, whose address it paid, whether it was seen
// before and which of 100,000 open reservations holds its exact amount, on
// real Redis with no RPC. Run it with
//
//	go test -run '^$' -bench MatchTransfers -benchtime 100000x ./checkout/
func BenchmarkMatchTransfers(b *testing.B) {
	f, ts := reservedFixture(b)
	batches(b, f, ts, func(batch []chains.Transfer) error {
		ms, err := f.settler.Match(f.ctx, settleChain, batch)
		if err == nil && len(ms) != len(batch) {
			err = fmt.Errorf("matched %d of %d transfers", len(ms), len(batch))
		}
		for _, m := range ms {
			if err == nil && (m.Checkout == "" || m.PaymentID != "") {
				err = fmt.Errorf("transfer %s: checkout %q, payment %q; want a reservation's checkout and no payment", m.Transfer.ID(), m.Checkout, m.PaymentID)
			}
		}
		return err
	})
}

// BenchmarkSettleTransfers measures settlement throughput: matching, then
// recording each transfer as a payment and moving its checkout to
// processing with its event, in the same atomic step, against 100,000 open
// reservations. Run it with
//
//	go test -run '^$' -bench SettleTransfers -benchtime 20000x ./checkout/
func BenchmarkSettleTransfers(b *testing.B) {
	f, ts := reservedFixture(b)
	if b.N > len(ts) {
		b.Fatalf("at most %d transfers: each pays one checkout", len(ts))
	}
	batches(b, f, ts, func(batch []chains.Transfer) error { return f.settler.Transfers(f.ctx, settleChain, batch) })
	if !allMatched(f.outcomes, b.N) {
		b.Fatalf("outcomes of %d transfers: %d, not all %q", b.N, len(f.outcomes), settleChain+":matched")
	}
}

// allMatched reports whether the settler observed n outcomes, each a
// transfer settled on its reservation's checkout.
func allMatched(outcomes []string, n int) bool {
	return len(outcomes) == n && !slices.ContainsFunc(outcomes, func(o string) bool { return o != settleChain+":matched" })
}

// BenchmarkRescanTransfers measures the settler on transfers it has
// recorded already, as after a restart or a reorg rescans a range: each is
// recognised and changes nothing. Run it with
//
//	go test -run '^$' -bench RescanTransfers -benchtime 100000x ./checkout/
func BenchmarkRescanTransfers(b *testing.B) {
	f, ts := reservedFixture(b)
	const seen = 10_000
	for i := 0; i < seen; i += scanBatch {
		if err := f.settler.Transfers(f.ctx, settleChain, ts[i:i+scanBatch]); err != nil {
			b.Fatal(err)
		}
	}
	if !allMatched(f.outcomes, seen) {
		b.Fatalf("outcomes of the %d transfers settled before the rescan: %d, not all %q", seen, len(f.outcomes), settleChain+":matched")
	}
	f.outcomes = nil
	batches(b, f, ts[:seen], func(batch []chains.Transfer) error { return f.settler.Transfers(f.ctx, settleChain, batch) })
	if len(f.outcomes) != 0 {
		b.Fatalf("the rescan changed %d payments, want none", len(f.outcomes))
	}
}
