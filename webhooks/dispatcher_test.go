package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/clocktest"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/store/storetest"
	"github.com/stablegate/stablegate/webhooks"
	"github.com/stablegate/stablegate/webhooks/verify"
)

// dispatchT0 is where the dispatcher tests' clock starts.
var dispatchT0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// received is one request the receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a real HTTP server on loopback whose answers the test sets.
type receiver struct {
	t      testing.TB
	ln     net.Listener
	srv    *http.Server
	mu     sync.Mutex
	got    []received
	handle http.HandlerFunc
}

func newReceiver(t testing.TB) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, ln: ln}
	r.handle = func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
	r.start(ln)
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.srv.Close()
	})
	return r
}

func (r *receiver) start(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{header: req.Header.Clone(), body: body})
		h := r.handle
		r.mu.Unlock()
		h(w, req)
	})}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

func (r *receiver) url() string { return "http://" + r.ln.Addr().String() + "/hook" }

// answer sets how the receiver answers from now on.
func (r *receiver) answer(h http.HandlerFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handle = h
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// down stops the receiver: connections are refused until up.
func (r *receiver) down() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.srv.Close(); err != nil {
		r.t.Fatal(err)
	}
}

// up starts the receiver again on the same address.
func (r *receiver) up() {
	r.t.Helper()
	ln, err := net.Listen("tcp", r.ln.Addr().String())
	if err != nil {
		r.t.Fatalf("listen again on %s: %v", r.ln.Addr(), err)
	}
	r.ln = ln
	r.start(ln)
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

type dispatchFixture struct {
	t        testing.TB
	ctx      context.Context
	st       *store.Store
	clock    *clocktest.Clock
	d        *webhooks.Dispatcher
	merchant string
	ep       *sg.WebhookEndpoint
	secret   string
	recv     *receiver
	outcomes []string
	mu       sync.Mutex
}

func newDispatchFixture(t testing.TB, tune func(*webhooks.DispatcherConfig)) *dispatchFixture {
	t.Helper()
	f := &dispatchFixture{t: t, ctx: context.Background(), st: storetest.New(t), clock: clocktest.New(dispatchT0)}
	f.merchant = sg.NewID(sg.PrefixMerchant, dispatchT0)
	f.recv = newReceiver(t)
	guard, err := webhooks.NewGuard("127.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	cfg := webhooks.DefaultDispatcherConfig()
	cfg.Timeout, cfg.Lease = 2*time.Second, time.Minute
	if tune != nil {
		tune(&cfg)
	}
	f.d = webhooks.NewDispatcher(f.st, guard, cfg, f.clock.Now, slog.New(slog.DiscardHandler))
	f.d.Jitter = func() int { return 0 }
	f.d.Observe = func(outcome string, _ time.Duration) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.outcomes = append(f.outcomes, outcome)
	}
	f.ep = f.addEndpoint(f.recv.url(), "*")
	return f
}

// addEndpoint registers an enabled test-mode endpoint for the merchant.
func (f *dispatchFixture) addEndpoint(url string, events ...string) *sg.WebhookEndpoint {
	f.t.Helper()
	secret, err := webhooks.NewSecret()
	if err != nil {
		f.t.Fatal(err)
	}
	f.secret = secret
	ep := &sg.WebhookEndpoint{
		ID: sg.NewID(sg.PrefixEndpoint, f.clock.Now()), Object: "webhook_endpoint", URL: url, EnabledEvents: events,
		Status: sg.EndpointEnabled, Created: f.clock.Now().Unix(), MerchantID: f.merchant,
		Secrets: []sg.EndpointSecret{{Secret: secret}},
	}
	if err := f.st.CreateEndpoint(f.ctx, ep, 16); err != nil {
		f.t.Fatal(err)
	}
	return ep
}

// emit records an event for the merchant the way every state change does.
func (f *dispatchFixture) emit(typ string) *sg.Event {
	f.t.Helper()
	e := &sg.Event{
		ID: sg.NewID(sg.PrefixEvent, f.clock.Now()), Object: "event", Type: typ, Created: f.clock.Now().Unix(),
		Data: json.RawMessage(`{"id":"co_x","object":"checkout"}`), MerchantID: f.merchant,
	}
	if err := f.st.Apply(f.ctx, store.Change{MerchantID: f.merchant, Event: e}); err != nil {
		f.t.Fatal(err)
	}
	return e
}

// fanout fans out every hinted outbox.
func (f *dispatchFixture) fanout() {
	f.t.Helper()
	if _, err := f.d.Fanout(f.ctx); err != nil {
		f.t.Fatal(err)
	}
}

// deliver attempts what is due and checks how many attempts were made.
func (f *dispatchFixture) deliver(want int) {
	f.t.Helper()
	n, err := f.d.DeliverDue(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	if n != want {
		f.t.Fatalf("DeliverDue attempted %d deliveries, want %d", n, want)
	}
}

func (f *dispatchFixture) delivery(evt *sg.Event, ep *sg.WebhookEndpoint) *sg.Delivery {
	f.t.Helper()
	d, err := f.st.Delivery(f.ctx, f.merchant, sg.DeliveryID(evt.ID, ep.ID))
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *dispatchFixture) endpoint() *sg.WebhookEndpoint {
	f.t.Helper()
	ep, _, err := f.st.Endpoint(f.ctx, f.merchant, f.ep.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return ep
}

func TestDeliverySignedAndRecorded(t *testing.T) {
	t.Parallel()
	f := newDispatchFixture(t, nil)
	long := strings.Repeat("ok", 1000)
	f.recv.answer(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, long) })
	evt := f.emit(sg.EventCheckoutPaid)
	f.fanout()
	f.deliver(1)

	got := f.recv.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	h := got[0].header
	v, err := verify.New(f.secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.VerifyAt(h, got[0].body, dispatchT0); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	want := map[string]string{
		"Webhook-Id": evt.ID, "Webhook-Timestamp": fmt.Sprint(dispatchT0.Unix()), "Content-Type": "application/json",
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	if ua := h.Get("User-Agent"); !strings.HasPrefix(ua, "Stablegate-Webhooks/") {
		t.Errorf("User-Agent = %q", ua)
	}
	var body sg.Event
	if err := json.Unmarshal(got[0].body, &body); err != nil || body.ID != evt.ID || body.Type != sg.EventCheckoutPaid || string(body.Data) != string(evt.Data) {
		t.Errorf("body = %s (%v), want the event", got[0].body, err)
	}

	d := f.delivery(evt, f.ep)
	if d.Status != sg.DeliverySucceeded || len(d.Attempts) != 1 || d.NextAttemptAt != 0 {
		t.Fatalf("delivery = %+v, want succeeded after one attempt", d)
	}
	at := d.Attempts[0]
	if at.StatusCode != 200 || at.At != dispatchT0.Unix() || at.Error != "" || at.Response != long[:1024] || at.Manual {
		t.Errorf("attempt = %+v, want 200 with the first 1 KiB of the body", at)
	}
	// Fanning out again, or asking for due deliveries, sends nothing more.
	f.fanout()
	f.deliver(0)
	if n := len(f.recv.requests()); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
}

func TestEventsGoOnlyToEndpointsThatTakeThem(t *testing.T) {
	t.Parallel()
	f := newDispatchFixture(t, nil)
	paidOnly := f.addEndpoint(f.recv.url(), sg.EventCheckoutPaid)
	created := f.emit(sg.EventCheckoutCreated)
	paid := f.emit(sg.EventCheckoutPaid)
	f.fanout()
	f.deliver(3)
	for _, c := range []struct {
		evt  *sg.Event
		ep   *sg.WebhookEndpoint
		want bool
	}{{created, f.ep, true}, {paid, f.ep, true}, {paid, paidOnly, true}, {created, paidOnly, false}} {
		_, err := f.st.Delivery(f.ctx, f.merchant, sg.DeliveryID(c.evt.ID, c.ep.ID))
		if got := err == nil; got != c.want {
			t.Errorf("delivery of %s to %s exists = %v, want %v (%v)", c.evt.Type, c.ep.EnabledEvents, got, c.want, err)
		}
	}
}

// TestRetrySchedule fails every attempt and follows the whole schedule on
// the injected clock: each retry comes exactly when due, not before, and the
// delivery is dead after the tenth attempt.
func TestRetrySchedule(t *testing.T) {
	t.Parallel()
	f := newDispatchFixture(t, nil)
	f.recv.answer(status(http.StatusInternalServerError))
	evt := f.emit(sg.EventCheckoutPaid)
	f.fanout()
	f.deliver(1)
	for i, wait := range webhooks.Schedule[1:] {
		d := f.delivery(evt, f.ep)
		if d.Status != sg.DeliveryPending || len(d.Attempts) != i+1 || d.NextAttemptAt != f.clock.Now().Add(wait).Unix() {
			t.Fatalf("after attempt %d: %+v, want pending with the next attempt in %s", i+1, d, wait)
		}
		f.clock.Advance(wait - time.Second)
		f.deliver(0)
		f.clock.Advance(time.Second)
		f.deliver(1)
	}
	d := f.delivery(evt, f.ep)
	if d.Status != sg.DeliveryFailed || len(d.Attempts) != len(webhooks.Schedule) || d.NextAttemptAt != 0 {
		t.Fatalf("after the schedule: %+v, want failed after %d attempts", d, len(webhooks.Schedule))
	}
	for _, a := range d.Attempts {
		if a.StatusCode != 500 || a.Error != "HTTP 500" {
			t.Fatalf("attempt %+v, want HTTP 500", a)
		}
	}
	f.clock.Advance(48 * time.Hour)
	f.deliver(0)
	if n := len(f.recv.requests()); n != len(webhooks.Schedule) {
		t.Errorf("receiver got %d requests, want %d", n, len(webhooks.Schedule))
	}
	ids := map[string]bool{}
	for _, r := range f.recv.requests() {
		ids[r.header.Get("webhook-id")] = true
	}
	if len(ids) != 1 || !ids[evt.ID] {
		t.Errorf("webhook-id over the retries = %v, want only %s", ids, evt.ID)
	}
}

func TestReceiverDownThenUp(t *testing.T) {
	t.Parallel()
	f := newDispatchFixture(t, nil)
	f.recv.down()
	evt := f.emit(sg.EventCheckoutPaid)
	f.fanout()
	f.deliver(1)
	d := f.delivery(evt, f.ep)
	if d.Status != sg.DeliveryPending || d.Attempts[0].StatusCode != 0 || !strings.Contains(d.Attempts[0].Error, "refused") {
		t.Fatalf("delivery to a receiver that is down: %+v", d)
	}
	if ep := f.endpoint(); ep.FailingSince != dispatchT0.Unix() {
		t.Errorf("failing_since = %d, want %d", ep.FailingSince, dispatchT0.Unix())
	}
	f.recv.up()
	f.clock.Advance(5 * time.Second)
	f.deliver(1)
	d = f.delivery(evt, f.ep)
	if d.Status != sg.DeliverySucceeded || len(d.Attempts) != 2 || d.Attempts[1].StatusCode != 200 {
		t.Fatalf("delivery once the receiver is up: %+v", d)
	}
	if ep := f.endpoint(); ep.FailingSince != 0 {
		t.Errorf("failing_since = %d after a success, want 0", ep.FailingSince)
	}
}

// TestAttemptOutcomes covers each kind of answer an endpoint gives.
func TestAttemptOutcomes(t *testing.T) {
	t.Parallel()
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	retryDate := dispatchT0.Add(2 * time.Hour).Format(http.TimeFormat)
	for _, c := range []struct {
		name      string
		answer    http.HandlerFunc
		code      int
		errPart   string
		status    sg.DeliveryStatus
		next      time.Duration // from the attempt; 0 for none
		disabled  string
		redirects bool
	}{
		{name: "500", answer: status(500), code: 500, errPart: "HTTP 500", status: sg.DeliveryPending, next: 5 * time.Second},
		{name: "timeout", answer: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}, errPart: "timed out", status: sg.DeliveryPending, next: 5 * time.Second},
		{name: "410 disables", answer: status(http.StatusGone), code: 410, errPart: "HTTP 410", status: sg.DeliveryFailed, disabled: webhooks.ReasonGone},
		{name: "429 Retry-After seconds", answer: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		}, code: 429, errPart: "HTTP 429", status: sg.DeliveryPending, next: 2 * time.Minute},
		{name: "503 Retry-After date", answer: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", retryDate)
			w.WriteHeader(http.StatusServiceUnavailable)
		}, code: 503, errPart: "HTTP 503", status: sg.DeliveryPending, next: 2 * time.Hour},
		{name: "429 Retry-After shorter than the schedule", answer: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}, code: 429, errPart: "HTTP 429", status: sg.DeliveryPending, next: 5 * time.Second},
		{name: "redirect not followed", answer: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}, code: 302, errPart: "redirects are not followed", status: sg.DeliveryPending, next: 5 * time.Second, redirects: true},
		{name: "204 succeeds", answer: status(http.StatusNoContent), code: 204, status: sg.DeliverySucceeded},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newDispatchFixture(t, func(cfg *webhooks.DispatcherConfig) { cfg.Timeout = 300 * time.Millisecond })
			f.recv.answer(c.answer)
			evt := f.emit(sg.EventCheckoutPaid)
			f.fanout()
			f.deliver(1)
			d := f.delivery(evt, f.ep)
			if len(d.Attempts) != 1 {
				t.Fatalf("attempts = %+v, want one", d.Attempts)
			}
			a := d.Attempts[0]
			if a.StatusCode != c.code || (c.errPart == "") != (a.Error == "") || !strings.Contains(a.Error, c.errPart) {
				t.Errorf("attempt = %+v, want status %d and an error with %q", a, c.code, c.errPart)
			}
			var next int64
			if c.next > 0 {
				next = dispatchT0.Add(c.next).Unix()
			}
			if d.Status != c.status || d.NextAttemptAt != next {
				t.Errorf("delivery status %s next %d, want %s next %d", d.Status, d.NextAttemptAt, c.status, next)
			}
			ep := f.endpoint()
			wantStatus := sg.EndpointEnabled
			if c.disabled != "" {
				wantStatus = sg.EndpointDisabled
			}
			if ep.Status != wantStatus || ep.DisabledReason != c.disabled {
				t.Errorf("endpoint %s (%q), want %s (%q)", ep.Status, ep.DisabledReason, wantStatus, c.disabled)
			}
			for _, r := range f.recv.requests() {
				if r.header.Get("webhook-id") != evt.ID {
					t.Errorf("a request without the event's webhook-id reached the receiver: %v", r.header)
				}
			}
			if n := len(f.recv.requests()); n != 1 {
				t.Errorf("receiver got %d requests, want 1 (redirect followed: %v)", n, c.redirects)
			}
		})
	}
}

func TestDisabledEndpointGetsNothing(t *testing.T) {
	t.Parallel()
	f := newDispatchFixture(t, func(cfg *webhooks.DispatcherConfig) { cfg.PerEndpoint = 1 })
	f.recv.answer(status(http.StatusGone))
	first := f.emit(sg.EventCheckoutCreated)
	second := f.emit(sg.EventCheckoutPaid)
	f.fanout()
	f.deliver(1)
	f.clock.Advance(time.Second)
	f.deliver(1)
	if n := len(f.recv.requests()); n != 1 {
		t.Fatalf("receiver got %d requests, want 1: the 410 disabled the endpoint", n)
	}
	statuses := []sg.DeliveryStatus{f.delivery(first, f.ep).Status, f.delivery(second, f.ep).Status}
	if statuses[0] != sg.DeliveryFailed || statuses[1] != sg.DeliveryFailed {
		t.Errorf("statuses = %v, want both failed", statuses)
	}
	third := f.emit(sg.EventCheckoutPaid)
	f.fanout()
	if _, err := f.st.Delivery(f.ctx, f.merchant, sg.DeliveryID(third.ID, f.ep.ID)); !sg.IsCode(err, sg.ENOTFOUND) {
		t.Errorf("an event after the endpoint was disabled got a delivery: %v", err)
	}
}

// TestEndpointDisabledAfterFailingForDays: an endpoint whose every attempt
// fails for five days is disabled with the reason; one success on the way
// would have reset the run.
func TestEndpointDisabledAfterFailingForDays(t *testing.T) {
	t.Parallel()
	f := newDispatchFixture(t, nil)
	f.recv.answer(status(500))
	f.emit(sg.EventCheckoutCreated)
	f.fanout()
	f.deliver(1)
	f.clock.Advance(5*24*time.Hour - time.Minute)
	f.emit(sg.EventCheckoutCreated)
	f.fanout()
	f.deliver(2) // the new event and the first one's retry
	if ep := f.endpoint(); ep.Status != sg.EndpointEnabled || ep.FailingSince != dispatchT0.Unix() {
		t.Fatalf("endpoint after 5 days less a minute: %+v", ep)
	}
	f.clock.Advance(time.Minute)
	f.emit(sg.EventCheckoutCreated)
	f.fanout()
	f.deliver(2) // the new event and the second one's retry
	if ep := f.endpoint(); ep.Status != sg.EndpointDisabled || ep.DisabledReason != "every delivery failed for 5 days" {
		t.Fatalf("endpoint after 5 days of failures: %s %q", ep.Status, ep.DisabledReason)
	}
}

// TestLeaseEndRetries: a dispatcher that dies mid-attempt holds its lease
// until it ends; then another dispatcher makes the attempt, with the same
// webhook-id.
func TestLeaseEndRetries(t *testing.T) {
	t.Parallel()
	f := newDispatchFixture(t, nil)
	evt := f.emit(sg.EventCheckoutPaid)
	f.fanout()
	ls, _, err := f.st.Claim(f.ctx, f.clock.Now(), time.Minute, 10, 16) // a dispatcher that then dies
	if err != nil || len(ls) != 1 {
		t.Fatalf("claim = %v, %v", ls, err)
	}
	f.clock.Advance(59 * time.Second)
	f.deliver(0)
	f.clock.Advance(time.Second)
	f.deliver(1)
	got := f.recv.requests()
	if len(got) != 1 || got[0].header.Get("webhook-id") != evt.ID {
		t.Fatalf("requests after the lease ended: %d", len(got))
	}
	// The dead dispatcher's late result is refused.
	if _, err := f.st.Complete(f.ctx, ls[0], time.Time{}, f.clock.Now()); !sg.IsCode(err, sg.ECONFLICT) {
		t.Errorf("late Complete = %v, want conflict", err)
	}
	if d := f.delivery(evt, f.ep); d.Status != sg.DeliverySucceeded {
		t.Errorf("delivery = %+v, want succeeded", d)
	}
}

// TestPerEndpointLimit: no more attempts to one endpoint run at once than
// the limit, while another endpoint is not held up.
func TestPerEndpointLimit(t *testing.T) {
	t.Parallel()
	f := newDispatchFixture(t, func(cfg *webhooks.DispatcherConfig) { cfg.PerEndpoint = 2 })
	var mu sync.Mutex
	running, most := map[string]int{}, map[string]int{}
	f.recv.answer(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		running[r.URL.Path]++
		most[r.URL.Path] = max(most[r.URL.Path], running[r.URL.Path])
		mu.Unlock()
		if r.URL.Path == "/hook" {
			time.Sleep(100 * time.Millisecond) // a slow endpoint, so attempts overlap
		}
		mu.Lock()
		running[r.URL.Path]--
		mu.Unlock()
	})
	other := f.addEndpoint(strings.Replace(f.recv.url(), "/hook", "/other", 1), "*")
	for range 6 {
		f.emit(sg.EventCheckoutPaid)
	}
	f.fanout()
	// The first round leases two deliveries of each endpoint; the rest of
	// the slow endpoint's wait.
	f.deliver(4)
	for range 2 {
		f.clock.Advance(time.Second)
		f.deliver(4)
	}
	mu.Lock()
	if most["/hook"] != 2 || most["/other"] > 2 {
		t.Errorf("most attempts at once per endpoint = %v, want 2 to the slow one", most)
	}
	mu.Unlock()
	for _, ep := range []*sg.WebhookEndpoint{f.ep, other} {
		ds, _, err := f.st.EndpointDeliveries(f.ctx, f.merchant, ep.ID, store.ListFilter{Limit: 100})
		if err != nil || len(ds) != 6 {
			t.Fatalf("deliveries of %s: %d, %v", ep.ID, len(ds), err)
		}
		for _, d := range ds {
			if d.Status != sg.DeliverySucceeded {
				t.Errorf("delivery %s: %s", d.ID, d.Status)
			}
		}
	}
}

// TestManualRedelivery: redelivering a dead delivery makes one manual
// attempt; its failure does not start the schedule again.
func TestManualRedelivery(t *testing.T) {
	t.Parallel()
	f := newDispatchFixture(t, nil)
	f.recv.answer(status(500))
	evt := f.emit(sg.EventCheckoutPaid)
	f.fanout()
	for _, wait := range append(webhooks.Schedule[1:], 0) {
		f.deliver(1)
		f.clock.Advance(wait)
	}
	d := f.delivery(evt, f.ep)
	if d.Status != sg.DeliveryFailed {
		t.Fatalf("delivery = %s, want failed", d.Status)
	}
	redeliver := func() {
		if _, err := f.st.Redeliver(f.ctx, f.merchant, sg.DeliveryID(evt.ID, f.ep.ID), f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		f.deliver(1)
	}
	redeliver()
	d = f.delivery(evt, f.ep)
	last := d.Attempts[len(d.Attempts)-1]
	if d.Status != sg.DeliveryFailed || len(d.Attempts) != len(webhooks.Schedule)+1 || !last.Manual || d.NextAttemptAt != 0 {
		t.Fatalf("after a failed redelivery: %s, %d attempts, last %+v", d.Status, len(d.Attempts), last)
	}
	f.recv.answer(status(200))
	redeliver()
	if d = f.delivery(evt, f.ep); d.Status != sg.DeliverySucceeded || !d.Attempts[len(d.Attempts)-1].Manual {
		t.Fatalf("after a successful redelivery: %+v", d)
	}
}

// TestRotationSignsWithBothSecrets: during a rotation's overlap a delivery
// carries a signature by each secret, and either verifies; after it, only
// the new one signs.
func TestRotationSignsWithBothSecrets(t *testing.T) {
	t.Parallel()
	f := newDispatchFixture(t, nil)
	ep, v, err := f.st.Endpoint(f.ctx, f.merchant, f.ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	old := f.secret
	next, err := webhooks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	ep.Secrets = []sg.EndpointSecret{{Secret: next}, {Secret: old, Expires: dispatchT0.Add(time.Hour).Unix()}}
	if _, err := f.st.UpdateEndpoint(f.ctx, ep, v); err != nil {
		t.Fatal(err)
	}
	f.emit(sg.EventCheckoutPaid)
	f.fanout()
	f.deliver(1)
	f.clock.Advance(time.Hour)
	f.emit(sg.EventCheckoutPaid)
	f.fanout()
	f.deliver(1)
	got := f.recv.requests()
	if len(got) != 2 {
		t.Fatalf("got %d requests", len(got))
	}
	for i, c := range []struct {
		at          time.Time
		sigs        int
		oldVerifies bool
	}{{dispatchT0, 2, true}, {dispatchT0.Add(time.Hour), 1, false}} {
		h := got[i].header
		if n := len(strings.Fields(h.Get("webhook-signature"))); n != c.sigs {
			t.Errorf("request %d: %d signatures, want %d", i, n, c.sigs)
		}
		for secret, want := range map[string]bool{next: true, old: c.oldVerifies} {
			vf, err := verify.New(secret)
			if err != nil {
				t.Fatal(err)
			}
			if err := vf.VerifyAt(h, got[i].body, c.at); (err == nil) != want {
				t.Errorf("request %d: verify = %v, want verified %v", i, err, want)
			}
		}
	}
}

// TestLostHintSwept: an event whose fan-out hint was lost (the process died
// right after writing it) is found by the outbox sweep.
func TestLostHintSwept(t *testing.T) {
	t.Parallel()
	f := newDispatchFixture(t, nil)
	evt := f.emit(sg.EventCheckoutPaid)
	if ms, err := f.st.TakeFanout(f.ctx, 10); err != nil || len(ms) != 1 {
		t.Fatalf("take fan-out = %v, %v", ms, err) // the hint is gone, the event stays in the outbox
	}
	f.fanout()
	f.deliver(0)
	if n, err := f.st.SweepOutboxes(f.ctx); err != nil || n < 1 {
		t.Fatalf("sweep = %d, %v", n, err)
	}
	f.fanout()
	f.deliver(1)
	if d := f.delivery(evt, f.ep); d.Status != sg.DeliverySucceeded {
		t.Errorf("delivery = %+v", d)
	}
}

// TestRunDelivers runs the dispatcher's loops on the real clock: an event
// written reaches the receiver without anyone calling Fanout.
func TestRunDelivers(t *testing.T) {
	t.Parallel()
	f := newDispatchFixture(t, nil)
	st := f.st
	guard, _ := webhooks.NewGuard("127.0.0.0/8")
	d := webhooks.NewDispatcher(st, guard, webhooks.DefaultDispatcherConfig(), nil, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	evt := f.emit(sg.EventCheckoutPaid)
	deadline := time.Now().Add(5 * time.Second)
	for len(f.recv.requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	got := f.recv.requests()
	if len(got) != 1 || got[0].header.Get("webhook-id") != evt.ID {
		t.Fatalf("receiver got %d requests, want the event once", len(got))
	}
}

// TestSaturatedEndpointHoldsUpNoOther: an endpoint at its limit with a
// backlog longer than one claim looks at parks its deliveries, so another
// endpoint's delivery behind them goes out in the same round, and the
// parked ones follow in order as the slow endpoint frees its slot.
func TestSaturatedEndpointHoldsUpNoOther(t *testing.T) {
	t.Parallel()
	f := newDispatchFixture(t, func(cfg *webhooks.DispatcherConfig) { cfg.PerEndpoint = 1 })
	ep, v, err := f.st.Endpoint(f.ctx, f.merchant, f.ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	ep.EnabledEvents = []string{sg.EventCheckoutCreated}
	if _, err := f.st.UpdateEndpoint(f.ctx, ep, v); err != nil {
		t.Fatal(err)
	}
	other := f.addEndpoint(strings.Replace(f.recv.url(), "/hook", "/other", 1), sg.EventCheckoutPaid)
	const backlog = 450 // more than one claim looks at
	var order []string
	for range backlog {
		order = append(order, f.emit(sg.EventCheckoutCreated).ID)
	}
	paid := f.emit(sg.EventCheckoutPaid)
	for range 3 {
		f.fanout()
	}
	n, err := f.d.DeliverDue(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := f.delivery(paid, other); d.Status != sg.DeliverySucceeded {
		t.Fatalf("the other endpoint's delivery is %s after one round of %d attempts: held up behind the backlog", d.Status, n)
	}
	for range backlog {
		if _, err := f.d.DeliverDue(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, r := range f.recv.requests() {
		if r.header.Get("webhook-id") != paid.ID {
			got = append(got, r.header.Get("webhook-id"))
		}
	}
	slices.Sort(order) // due at the same moment, they go in id order
	if !slices.Equal(got, order) {
		t.Fatalf("the saturated endpoint got %d deliveries, want all %d in due order", len(got), len(order))
	}
}

// TestUndecodableDeliveryFailsAlone: a delivery record that does not
// decode is failed by the claim that meets it, and the deliveries leased
// with it go out.
func TestUndecodableDeliveryFailsAlone(t *testing.T) {
	t.Parallel()
	f := newDispatchFixture(t, nil)
	evt := f.emit(sg.EventCheckoutPaid)
	f.fanout()
	k := f.st.Keys()
	bad := sg.DeliveryID(sg.NewID(sg.PrefixEvent, dispatchT0), f.ep.ID)
	rdb := f.st.Client()
	if err := rdb.HSet(f.ctx, k.Deliveries(), bad, "{not json").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ZAdd(f.ctx, k.DeliveriesDue(), redis.Z{Score: float64(dispatchT0.UnixMilli()), Member: bad}).Err(); err != nil {
		t.Fatal(err)
	}
	f.deliver(1)
	if d := f.delivery(evt, f.ep); d.Status != sg.DeliverySucceeded {
		t.Errorf("the good delivery is %s", d.Status)
	}
	for _, key := range []string{k.DeliveriesDue(), k.DeliveriesLeased()} {
		if n, err := rdb.ZCard(f.ctx, key).Result(); err != nil || n != 0 {
			t.Errorf("%s holds %d (%v), want nothing", key, n, err)
		}
	}
	if n, err := rdb.HLen(f.ctx, k.EndpointsInFlight()).Result(); err != nil || n != 0 {
		t.Errorf("in flight: %d (%v), want none", n, err)
	}
}

// TestShutdownRecordsAttemptsUnderWay: stopping the dispatcher while an
// attempt waits for its answer lets the attempt finish and be recorded, so
// it is not made again after a restart.
func TestShutdownRecordsAttemptsUnderWay(t *testing.T) {
	t.Parallel()
	f := newDispatchFixture(t, nil)
	arrived := make(chan struct{})
	release := make(chan struct{})
	f.recv.answer(func(w http.ResponseWriter, _ *http.Request) {
		close(arrived)
		<-release
		w.WriteHeader(http.StatusOK)
	})
	guard, _ := webhooks.NewGuard("127.0.0.0/8")
	d := webhooks.NewDispatcher(f.st, guard, webhooks.DefaultDispatcherConfig(), f.clock.Now, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	evt := f.emit(sg.EventCheckoutPaid)
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the attempt never reached the receiver")
	}
	cancel()
	close(release)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if got := f.delivery(evt, f.ep); got.Status != sg.DeliverySucceeded || len(got.Attempts) != 1 {
		t.Fatalf("after shutdown the delivery is %+v, want succeeded and recorded", got)
	}
}
