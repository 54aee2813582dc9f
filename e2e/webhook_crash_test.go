package e2e_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/store/storetest"
	"github.com/stablegate/stablegate/webhooks/verify"
)

// webhookConfig is the config of the webhook crash test's gateways: no
// chain watched, webhooks allowed to loopback, a short attempt timeout so
// a killed dispatcher's leases end soon, and workers as given (0 makes an
// API-only replica).
const webhookConfig = `# Written by the e2e tests.
listen: %q
redis_url: %q
watch: []
webhooks:
  workers: %d
  per_endpoint: 16
  timeout: 2s
  allow: ["127.0.0.0/8"]
`

// Webhook crash test sizes.
const (
	webhookEvents = 2000
	webhookKills  = 6
)

// TestWebhookCrashLosesNothing queues 2,000 events while the dispatching
// gateways are killed with SIGKILL and started again, over and over, in
// the middle of delivering. An API-only gateway on the same Redis creates
// the checkouts whose checkout.created events are delivered, so events keep
// coming while the dispatchers die. In the end every event has reached the
// receiver at least once with a valid signature, every duplicate carries
// the same webhook-id, and no delivery is left pending or leased.
func TestWebhookCrashLosesNothing(t *testing.T) {
	t.Parallel()
	prefix := redisPrefix(t)
	recv := startHookReceiver(t)

	apiAddr := freeAddr(t)
	apiGW := launchGateway(t, prefix, apiAddr, fmt.Sprintf(webhookConfig, apiAddr, storetest.URL(), 0))
	dispatchers := make([]*gateway, 2)
	for i := range dispatchers {
		addr := freeAddr(t)
		dispatchers[i] = launchGateway(t, prefix, addr, fmt.Sprintf(webhookConfig, addr, storetest.URL(), 32))
	}

	api := apiGW.testMerchant("e2e webhooks")
	var ep struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	api.doStatus(http.MethodPost, "/v1/webhook-endpoints", map[string]any{
		"url": recv.url(), "enabled_events": []string{sg.EventCheckoutCreated},
	}, &ep, http.StatusOK, http.StatusCreated)
	v, err := verify.New(ep.Secret)
	if err != nil {
		t.Fatalf("endpoint secret %q: %v", ep.Secret, err)
	}
	recv.verifier.Store(v)

	// Events stream in from four clients while the dispatchers are killed.
	ids := make(chan string, webhookEvents)
	var created sync.WaitGroup
	var next atomic.Int64
	for range 4 {
		created.Go(func() {
			for n := next.Add(1); n <= webhookEvents; n = next.Add(1) {
				// Ten prices, so the 2,000 fit one wallet's fingerprints.
				status, b := api.call(http.MethodPost, "/v1/checkouts", map[string]any{
					"price": fmt.Sprintf("%d.00", 10+n%10), "payment_method": map[string]string{"chain": "sepolia", "token": "USDC"},
				})
				var co sg.Checkout
				if err := json.Unmarshal(b, &co); status != http.StatusOK || err != nil {
					t.Errorf("create checkout: %d %s", status, b)
					return
				}
				ids <- co.ID
				time.Sleep(16 * time.Millisecond) // about 250 a second in all, so the kills land mid-stream
			}
		})
	}
	streamDone := make(chan struct{})
	go func() { created.Wait(); close(streamDone) }()

	kills := 0
	for kills < webhookKills {
		g := dispatchers[kills%len(dispatchers)]
		// Kill once this dispatcher has delivered something since it started.
		before := recv.total()
		eventually(t, 30*time.Second, "deliveries before a kill", func() bool { return recv.total() > before })
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		g.kill()
		kills++
		g.start()
	}
	<-streamDone
	close(ids)
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d events created; %d kills; %d requests received so far", webhookEvents, kills, recv.total())

	var events []string
	for id := range ids {
		events = append(events, id)
	}
	// Each checkout has exactly one checkout.created event; wait until
	// each of those reached the receiver.
	rdb := storetest.Client(t)
	keys := store.Keys{Prefix: prefix}
	start := time.Now()
	eventually(t, 90*time.Second, "every event delivered", func() bool {
		return recv.distinct() == webhookEvents
	})
	t.Logf("last deliveries took %s after the stream", time.Since(start).Round(time.Millisecond))
	eventually(t, 30*time.Second, "no delivery pending, leased, parked or counted in flight", func() bool {
		due, _ := rdb.ZCard(t.Context(), keys.DeliveriesDue()).Result()
		leased, _ := rdb.ZCard(t.Context(), keys.DeliveriesLeased()).Result()
		parked, _ := rdb.ZCard(t.Context(), keys.DeliveriesParked()).Result()
		inFlight, _ := rdb.HLen(t.Context(), keys.EndpointsInFlight()).Result()
		return due == 0 && leased == 0 && parked == 0 && inFlight == 0
	})

	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.bad) > 0 {
		t.Fatalf("%d requests failed verification, first: %s", len(recv.bad), recv.bad[0])
	}
	dups := 0
	for _, n := range recv.byID {
		dups += n - 1
	}
	t.Logf("%d distinct events delivered, %d duplicate requests (same webhook-id) from attempts cut by a kill", len(recv.byID), dups)
	if len(recv.byID) != webhookEvents {
		t.Fatalf("receiver got %d distinct events, want %d", len(recv.byID), webhookEvents)
	}
	// Each created checkout's event is among those delivered.
	evts := all(api, "/v1/events?type=checkout.created", eventID)
	if len(evts) != webhookEvents || len(events) != webhookEvents {
		t.Fatalf("%d checkout.created events for %d checkouts, want %d", len(evts), len(events), webhookEvents)
	}
	for _, e := range evts {
		if recv.byID[e.ID] == 0 {
			t.Errorf("event %s never reached the receiver", e.ID)
		}
	}
}

// hookReceiver is a merchant's webhook receiver on loopback: it verifies
// every request and counts them by webhook-id.
type hookReceiver struct {
	ln       net.Listener
	verifier atomic.Pointer[verify.Verifier]
	mu       sync.Mutex
	byID     map[string]int
	bad      []string
	requests int
}

func startHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &hookReceiver{ln: ln, byID: map[string]int{}}
	srv := &http.Server{Handler: r}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

func (r *hookReceiver) url() string { return "http://" + r.ln.Addr().String() + "/webhooks" }

func (r *hookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	id := req.Header.Get("webhook-id")
	problem := ""
	var evt sg.Event
	switch v := r.verifier.Load(); {
	case err != nil:
		problem = "read body: " + err.Error()
	case v == nil:
		problem = "a request before the endpoint existed"
	case v.Verify(req.Header, body) != nil:
		problem = "signature: " + v.Verify(req.Header, body).Error()
	case json.Unmarshal(body, &evt) != nil || evt.ID != id || !strings.HasPrefix(id, sg.PrefixEvent):
		problem = fmt.Sprintf("webhook-id %q for body %.80s", id, body)
	}
	r.mu.Lock()
	r.requests++
	if problem != "" {
		r.bad = append(r.bad, problem)
	} else {
		r.byID[id]++
	}
	r.mu.Unlock()
	// A merchant's handler takes a while, so a kill finds attempts in
	// flight: received here but never recorded by the killed dispatcher.
	time.Sleep(time.Duration(10+rand.IntN(30)) * time.Millisecond)
	w.WriteHeader(http.StatusNoContent)
}

func (r *hookReceiver) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

func (r *hookReceiver) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byID)
}

// testMerchant creates a merchant through the admin API and returns a
// client with its test-mode secret key; the merchant receives on Sepolia,
// which no test watches.
func (g *gateway) testMerchant(name string) *client {
	t := g.t
	t.Helper()
	var created struct {
		APIKey struct {
			Secret string `json:"secret"`
		} `json:"api_key"`
	}
	g.client(g.operator).do(http.MethodPost, "/admin/v1/merchants", map[string]any{"name": name}, &created)
	c := g.client(created.APIKey.Secret)
	c.do(http.MethodPost, "/v1/wallets", map[string]any{"chain": "sepolia", "address": newAddress(t).Hex()}, nil)
	return c
}

// doStatus is do for a request answered with one of the given statuses.
func (c *client) doStatus(method, path string, body, out any, statuses ...int) {
	c.t.Helper()
	status, b := c.call(method, path, body)
	ok := false
	for _, s := range statuses {
		ok = ok || status == s
	}
	if !ok {
		c.t.Fatalf("%s %s: status %d: %s", method, path, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}
