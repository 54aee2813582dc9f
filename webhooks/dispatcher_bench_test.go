package webhooks_test

import (
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/webhooks"
)

var benchRate = flag.Int("webhook-rate", 2500, "events per second BenchmarkDeliveryLatency writes")

// benchDispatcher is a dispatcher on the real clock delivering to a local
// receiver answering 200, which records when each event arrived.
type benchDispatcher struct {
	f       *dispatchFixture
	d       *webhooks.Dispatcher
	mu      sync.Mutex
	arrived map[string]time.Time
	all     chan struct{}
	want    int
}

func newBenchDispatcher(b *testing.B, want int) *benchDispatcher {
	f := newDispatchFixture(b, nil)
	bd := &benchDispatcher{f: f, arrived: make(map[string]time.Time, want), all: make(chan struct{}), want: want}
	f.recv.answer(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		bd.mu.Lock()
		defer bd.mu.Unlock()
		id := r.Header.Get("webhook-id")
		if _, seen := bd.arrived[id]; !seen {
			bd.arrived[id] = now
			if len(bd.arrived) == bd.want {
				close(bd.all)
			}
		}
	})
	guard, err := webhooks.NewGuard("127.0.0.0/8")
	if err != nil {
		b.Fatal(err)
	}
	cfg := webhooks.DefaultDispatcherConfig()
	cfg.PerEndpoint = cfg.Workers // one endpoint takes the whole process
	bd.d = webhooks.NewDispatcher(f.st, guard, cfg, nil, slog.New(slog.DiscardHandler))
	return bd
}

func (bd *benchDispatcher) run(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { bd.d.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
}

// events builds n test-mode events of the fixture's merchant.
func (bd *benchDispatcher) events(n int) []store.Change {
	now := time.Now()
	chs := make([]store.Change, n)
	for i := range chs {
		chs[i] = store.Change{MerchantID: bd.f.merchant, Event: &sg.Event{
			ID: sg.NewID(sg.PrefixEvent, now), Object: "event", Type: sg.EventCheckoutPaid, Created: now.Unix(),
			Data: json.RawMessage(`{"id":"co_bench","object":"checkout","status":"paid","amount":"50.00012"}`), MerchantID: bd.f.merchant,
		}}
	}
	return chs
}

func (bd *benchDispatcher) write(b *testing.B, chs []store.Change) {
	errs, err := bd.f.st.ApplyMany(bd.f.ctx, chs)
	if err != nil {
		b.Fatal(err)
	}
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeliveryThroughput measures deliveries per second from events
// waiting in the outbox, through fan-out, leasing, signing and the HTTP
// request, to a receiver on loopback answering 200, all on real Redis in
// one process. Run it with
//
//	go test -run '^$' -bench DeliveryThroughput -benchtime 20000x ./webhooks/
func BenchmarkDeliveryThroughput(b *testing.B) {
	bd := newBenchDispatcher(b, b.N)
	chs := bd.events(b.N)
	for c := range slices.Chunk(chs, 500) {
		bd.write(b, c)
	}
	b.ResetTimer()
	bd.run(b)
	select {
	case <-bd.all:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d delivered", len(bd.arrived), b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkDeliveryLatency writes events at a steady rate (-webhook-rate,
// default 2,500 a second: half the throughput target) and measures each
// one's latency from its write to its arrival at the receiver. Run it with
//
//	go test -run '^$' -bench DeliveryLatency -benchtime 20000x ./webhooks/
func BenchmarkDeliveryLatency(b *testing.B) {
	bd := newBenchDispatcher(b, b.N)
	chs := bd.events(b.N)
	written := make(map[string]time.Time, b.N)
	bd.run(b)
	b.ResetTimer()
	// A batch every 2 ms, each write timed from when it was due, so a
	// slow write counts against the latency instead of slowing the rate.
	const tick = 2 * time.Millisecond
	per := max(1, *benchRate*int(tick)/int(time.Second))
	start := time.Now()
	for i := 0; i < len(chs); i += per {
		due := start.Add(time.Duration(i / per * int(tick)))
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		batch := chs[i:min(i+per, len(chs))]
		for _, ch := range batch {
			written[ch.Event.ID] = due
		}
		bd.write(b, batch)
	}
	select {
	case <-bd.all:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d delivered", len(bd.arrived), b.N)
	}
	b.StopTimer()
	bd.mu.Lock()
	defer bd.mu.Unlock()
	lat := make([]time.Duration, 0, b.N)
	for id, at := range bd.arrived {
		lat = append(lat, at.Sub(written[id]))
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
}
