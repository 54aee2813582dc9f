package e2e_test

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	sg "github.com/stablegate/stablegate"
)

// BenchmarkDetectionLatency measures how long the gateway takes to settle a
// payment once the chain allows it: on anvil with one-second blocks and a
// WebSocket URL configured, from the moment the block that completes the
// confirmation policy (two blocks: the transfer's and the next) is
// available at the node, to the moment the checkout reads paid over the
// API. A background loop polls the node's head every 2 ms and records when
// each block was first seen; the checkout is polled every 5 ms. Those
// intervals bound the error of each sample. Run it with
//
//	go test -run '^$' -bench DetectionLatency -benchtime 20x ./e2e/
func BenchmarkDetectionLatency(b *testing.B) {
	chain := startChain(b)
	gw := startGateway(b, chain, startResetter(b))
	api, wallet := gw.merchant("latency")
	const poll = 5 * time.Millisecond
	var mu sync.Mutex
	seen := map[uint64]time.Time{} // block number -> when the node first had it
	go func() {
		for b.Context().Err() == nil {
			if head, err := chain.client.BlockNumber(b.Context()); err == nil {
				now := time.Now()
				mu.Lock()
				for n := head; n > 0 && seen[n].IsZero(); n-- {
					seen[n] = now
				}
				mu.Unlock()
			}
			time.Sleep(2 * time.Millisecond) // the head's sampling interval
		}
	}()
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		co, m := api.checkout("3.21")
		tx, err := chain.transfer(b.Context(), chain.usdc, wallet, m.Amount)
		if err != nil {
			b.Fatal(err)
		}
		final := chain.mined(b, tx).BlockNumber.Uint64() + 1 // the second confirmation
		var got sg.Checkout
		deadline := time.Now().Add(30 * time.Second)
		for got.Status != sg.StatusPaid {
			api.do(http.MethodGet, "/v1/checkouts/"+co.ID, nil, &got)
			if got.Status == sg.StatusPaid {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("checkout %s not paid 30 s after block %d: %+v", co.ID, final, got)
			}
			time.Sleep(poll) // a poll interval: the sample's resolution
		}
		paid := time.Now()
		var available time.Time
		eventually(b, 10*time.Second, "block to be seen", func() bool {
			mu.Lock()
			defer mu.Unlock()
			available = seen[final]
			return !available.IsZero()
		})
		lat = append(lat, paid.Sub(available))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Milliseconds()), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "max-ms")
}
