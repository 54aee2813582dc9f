package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/store"
)

// DispatchStore is what the dispatcher needs from the store. Endpoint
// returns not_found for a deleted endpoint; UpdateEndpoint returns
// conflict "endpoint_changed" when the endpoint moved on since it was read;
// Complete returns conflict "lease_lost" when the lease ended first.
type DispatchStore interface {
	TakeFanout(ctx context.Context, n int) ([]string, error)
	WaitFanout(ctx context.Context, timeout time.Duration) (string, error)
	Outbox(ctx context.Context, merchantID string, n int) ([]string, map[string]*sg.Event, error)
	DropOutbox(ctx context.Context, merchantID string, ids []string) error
	SweepOutboxes(ctx context.Context) (int, error)
	Endpoints(ctx context.Context, merchantID string) ([]*sg.WebhookEndpoint, error)
	Endpoint(ctx context.Context, merchantID, id string) (*sg.WebhookEndpoint, int64, error)
	UpdateEndpoint(ctx context.Context, e *sg.WebhookEndpoint, version int64) (int64, error)
	AttemptInputs(ctx context.Context, ls []store.Lease) ([]store.AttemptInput, error)
	Enqueue(ctx context.Context, ds []*sg.Delivery, now time.Time) (int, error)
	Claim(ctx context.Context, now time.Time, leaseFor time.Duration, n, perEndpoint int) ([]store.Lease, bool, error)
	Complete(ctx context.Context, l store.Lease, next, now time.Time) (bool, error)
	HintFanout(ctx context.Context, merchantIDs ...string)
}

var _ DispatchStore = (*store.Store)(nil)

// DispatcherConfig tunes a dispatcher.
type DispatcherConfig struct {
	// Workers is how many attempts one process makes at once. Default 64.
	Workers int
	// PerEndpoint is how many attempts one endpoint may have in flight
	// across every replica, so one slow merchant cannot take every worker.
	// Default 16.
	PerEndpoint int
	// Timeout bounds one attempt: a 2xx must arrive within it. Default 15s.
	Timeout time.Duration
	// Lease is how long a dispatcher owns a delivery it is attempting; when
	// it dies, another retries the delivery once the lease ends. It must
	// exceed Timeout. Default Timeout + 5s.
	Lease time.Duration
	// Poll is how often an idle dispatcher looks for due deliveries, such as
	// retries coming due or deliveries another replica fanned out. Default
	// 100ms.
	Poll time.Duration
	// SweepInterval is how often every outbox is looked at, covering a
	// fan-out hint lost in a crash. Default 30s.
	SweepInterval time.Duration
	// DisableAfter disables an endpoint that has failed every attempt for
	// this long. Default 5 days.
	DisableAfter time.Duration
	// Version names the gateway in the User-Agent. Default "dev".
	Version string
}

// DefaultDispatcherConfig returns the defaults documented on
// DispatcherConfig.
func DefaultDispatcherConfig() DispatcherConfig {
	return DispatcherConfig{
		Workers: 64, PerEndpoint: 16, Timeout: DefaultTimeout, Lease: DefaultTimeout + 5*time.Second,
		Poll: 100 * time.Millisecond, SweepInterval: 30 * time.Second, DisableAfter: 5 * 24 * time.Hour, Version: "dev",
	}
}

// Validate checks the configuration.
func (c DispatcherConfig) Validate() error {
	switch {
	case c.Workers < 1 || c.PerEndpoint < 1:
		return errors.New("webhook workers and per-endpoint limit must be at least 1")
	case c.Timeout <= 0 || c.Lease <= c.Timeout:
		return errors.New("webhook lease must exceed the attempt timeout")
	case c.Poll <= 0 || c.SweepInterval <= 0 || c.DisableAfter <= 0:
		return errors.New("webhook poll, sweep and disable intervals must be positive")
	}
	return nil
}

// ReasonGone is the disabled reason of an endpoint that answered 410 Gone.
const ReasonGone = "the endpoint answered 410 Gone"

// failingReason is the disabled reason of an endpoint whose every attempt
// failed for the given time.
func failingReason(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("every delivery failed for %d days", d/(24*time.Hour))
	}
	return fmt.Sprintf("every delivery failed for %s", d)
}

// responseBytes is how much of a response body an attempt records.
const responseBytes = 1024

// Outcomes a dispatcher reports to Observe.
const (
	OutcomeSucceeded = "succeeded" // a 2xx arrived
	OutcomeRetrying  = "retrying"  // the attempt failed; another is scheduled
	OutcomeFailed    = "failed"    // the attempt failed and none is left, or the endpoint is gone
)

// ObserveFunc receives each attempt's outcome and latency, for metrics.
type ObserveFunc func(outcome string, latency time.Duration)

// Dispatcher turns a merchant's events into signed deliveries to its
// endpoints and makes them, retrying on the schedule. Any number of
// dispatchers may share one store: the fan-out is idempotent and each
// attempt is made under a lease.
type Dispatcher struct {
	store  DispatchStore
	client *http.Client
	cfg    DispatcherConfig
	now    sg.Clock
	log    *slog.Logger
	// Jitter spreads retries; the default draws ±10% at random.
	Jitter JitterFunc
	// Observe is told of every attempt; the default does nothing.
	Observe ObserveFunc

	wake chan struct{}
}

// NewDispatcher returns a dispatcher delivering through guard (which
// refuses forbidden addresses at connect time). clock defaults to time.Now.
func NewDispatcher(st DispatchStore, guard *Guard, cfg DispatcherConfig, clock sg.Clock, log *slog.Logger) *Dispatcher {
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Dispatcher{
		store: st, client: NewHTTPClient(guard, cfg.Timeout), cfg: cfg, now: clock, log: log,
		Jitter: defaultJitter, Observe: func(string, time.Duration) {}, wake: make(chan struct{}, 1),
	}
}

// Run fans out and delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { d.runFanout(ctx) })
	wg.Go(func() { d.runSweep(ctx) })
	wg.Go(func() { d.runDeliveries(ctx) })
	wg.Wait()
}

// fanoutBatch bounds the merchants taken, and the events read from one
// outbox, per step.
const fanoutBatch = 200

func (d *Dispatcher) runFanout(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := d.Fanout(ctx)
		if err == nil && n == 0 {
			var m string
			if m, err = d.store.WaitFanout(ctx, time.Second); err == nil && m != "" {
				err = d.fanoutMerchant(ctx, m)
			}
		}
		if err != nil && ctx.Err() == nil {
			d.log.Warn("webhook fan-out", "err", err)
			sleep(ctx, time.Second)
		}
	}
}

func (d *Dispatcher) runSweep(ctx context.Context) {
	t := time.NewTicker(d.cfg.SweepInterval)
	defer t.Stop()
	for {
		if _, err := d.store.SweepOutboxes(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("webhook outbox sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Fanout turns the events waiting in the hinted merchants' outboxes into
// deliveries, one per endpoint that takes the event, and reports how many
// merchants it served. A crash half-way is harmless: the events stay in the
// outbox until their deliveries exist, and a delivery is never made twice.
func (d *Dispatcher) Fanout(ctx context.Context) (int, error) {
	ms, err := d.store.TakeFanout(ctx, fanoutBatch)
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		if err := d.fanoutMerchant(ctx, m); err != nil && ctx.Err() == nil {
			// The others go on; this one is hinted again, behind them.
			d.log.Warn("webhook fan-out", "merchant_id", m, "err", err)
			d.store.HintFanout(ctx, m)
		}
	}
	return len(ms), nil
}

func (d *Dispatcher) fanoutMerchant(ctx context.Context, merchantID string) error {
	ids, evts, err := d.store.Outbox(ctx, merchantID, fanoutBatch)
	if err != nil || len(ids) == 0 {
		return err
	}
	eps, err := d.store.Endpoints(ctx, merchantID)
	if err != nil {
		return err
	}
	now := d.now()
	var ds []*sg.Delivery
	for _, id := range ids {
		evt := evts[id]
		if evt == nil {
			continue
		}
		for _, ep := range eps {
			if ep.Takes(evt) {
				ds = append(ds, NewDelivery(evt, ep, now))
			}
		}
	}
	if _, err := d.store.Enqueue(ctx, ds, now); err != nil {
		return err
	}
	if len(ds) > 0 {
		d.Wake()
	}
	// Dropping re-hints the merchant when more events wait behind these.
	return d.store.DropOutbox(ctx, merchantID, ids)
}

// NewDelivery returns the pending delivery of evt to ep, due at once.
func NewDelivery(evt *sg.Event, ep *sg.WebhookEndpoint, now time.Time) *sg.Delivery {
	return &sg.Delivery{
		ID: sg.DeliveryID(evt.ID, ep.ID), Object: ObjectDelivery, Livemode: evt.Livemode,
		EndpointID: ep.ID, EventID: evt.ID, EventType: evt.Type, Status: sg.DeliveryPending,
		Attempts: []sg.Attempt{}, NextAttemptAt: now.Unix(), Created: now.Unix(), MerchantID: evt.MerchantID,
	}
}

// Wake tells the dispatcher that deliveries may be due now.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// claimBatch bounds the deliveries leased per claim.
const claimBatch = 100

func (d *Dispatcher) runDeliveries(ctx context.Context) {
	slots := make(chan struct{}, d.cfg.Workers)
	freed := make(chan struct{}, d.cfg.Workers)
	var wg sync.WaitGroup
	defer wg.Wait() // attempts under way finish and are recorded
	for ctx.Err() == nil {
		free := d.cfg.Workers - len(slots)
		if free == 0 {
			select {
			case <-ctx.Done():
			case <-freed:
			}
			continue
		}
		ls, ins, more, err := d.claim(ctx, min(free, claimBatch))
		if err != nil && ctx.Err() == nil {
			d.log.Warn("claim webhook deliveries", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		for i, l := range ls {
			slots <- struct{}{}
			wg.Go(func() {
				defer func() {
					<-slots
					select {
					case freed <- struct{}{}:
					default: // the loop will see the free slot anyway
					}
				}()
				d.attempt(context.WithoutCancel(ctx), l, ins[i])
			})
		}
		if !more {
			sleepOrWake(ctx, d.cfg.Poll, d.wake)
		}
	}
}

// DeliverDue leases the deliveries due now and attempts them, waiting for
// every attempt to end, and returns how many it attempted. Run does the
// same continuously; tests that move an injected clock call this instead.
func (d *Dispatcher) DeliverDue(ctx context.Context) (int, error) {
	total := 0
	for {
		ls, ins, more, err := d.claim(ctx, claimBatch)
		if err != nil {
			return total, err
		}
		var wg sync.WaitGroup
		for i, l := range ls {
			wg.Go(func() { d.attempt(ctx, l, ins[i]) })
		}
		wg.Wait()
		total += len(ls)
		if !more {
			return total, nil
		}
	}
}

// claim leases up to n due deliveries with what their attempts send. When
// the inputs cannot be read the leases end by themselves and the
// deliveries are attempted again.
func (d *Dispatcher) claim(ctx context.Context, n int) ([]store.Lease, []store.AttemptInput, bool, error) {
	ls, more, err := d.store.Claim(ctx, d.now(), d.cfg.Lease, n, d.cfg.PerEndpoint)
	if err != nil || len(ls) == 0 {
		return nil, nil, more, err
	}
	ins, err := d.store.AttemptInputs(ctx, ls)
	if err != nil {
		return nil, nil, false, err
	}
	return ls, ins, more, nil
}

// attempt makes one attempt of a leased delivery and records it. It runs
// to its end even while the gateway shuts down, bounded by the attempt
// timeout, so a delivery made is never made again for want of its record.
func (d *Dispatcher) attempt(ctx context.Context, l store.Lease, in store.AttemptInput) {
	dl, ep, body := l.Delivery, in.Endpoint, in.Body
	if ep == nil || ep.Status != sg.EndpointEnabled || body == nil {
		// The endpoint was deleted or disabled (the merchant redelivers
		// once it is enabled again), or the event is gone.
		d.finish(ctx, l, OutcomeFailed, 0, time.Time{})
		return
	}
	start := d.now()
	at, code, retryAfter := d.post(ctx, ep, dl.EventID, body)
	at.Manual = dl.Redelivery
	dl.Redelivery = false
	dl.Attempts = append(dl.Attempts, at)
	latency := time.Duration(at.LatencyMS) * time.Millisecond

	switch {
	case code >= 200 && code < 300:
		d.finish(ctx, l, OutcomeSucceeded, latency, time.Time{})
		d.endpointHealth(ctx, ep, start, true, "")
	case code == http.StatusGone:
		d.finish(ctx, l, OutcomeFailed, latency, time.Time{})
		d.endpointHealth(ctx, ep, start, false, ReasonGone)
	default:
		var next time.Time
		if wait, ok := NextAttempt(dl.AutomaticAttempts(), retryAfter, d.Jitter); ok {
			next = start.Add(wait)
		}
		outcome := OutcomeRetrying
		if next.IsZero() {
			outcome = OutcomeFailed
		}
		d.finish(ctx, l, outcome, latency, next)
		d.endpointHealth(ctx, ep, start, false, "")
	}
}

// post sends one signed request and describes it as an attempt, with the
// status code (0 when no response came) and any Retry-After of a 429 or
// 503.
func (d *Dispatcher) post(ctx context.Context, ep *sg.WebhookEndpoint, msgID string, body []byte) (sg.Attempt, int, time.Duration) {
	now := d.now()
	at := sg.Attempt{At: now.Unix()}
	var keys [][]byte
	for _, s := range ep.SigningSecrets(now) {
		if k, err := ParseSecret(s); err == nil {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		at.Error = "the endpoint has no signing secret; rotate its secret"
		return at, 0, 0
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		at.Error = "invalid request: " + err.Error()
		return at, 0, 0
	}
	req.Header = Headers(keys, msgID, now, body, d.cfg.Version)
	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		at.LatencyMS = time.Since(start).Milliseconds()
		at.Error = attemptError(err)
		return at, 0, 0
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, responseBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	at.LatencyMS = time.Since(start).Milliseconds()
	at.StatusCode = resp.StatusCode
	at.Response = strings.ToValidUTF8(string(head), string(utf8.RuneError))
	var retryAfter time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if wait, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			retryAfter = min(wait, maxRetryAfter)
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		at.Error = fmt.Sprintf("HTTP %d", resp.StatusCode)
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			at.Error += ": redirects are not followed"
		}
	}
	return at, resp.StatusCode, retryAfter
}

// maxRetryAfter caps a receiver's Retry-After, so a bad header cannot park
// a delivery for ever.
const maxRetryAfter = 24 * time.Hour

// attemptError describes a failed request without the URL, which may hold
// a merchant's credentials.
func attemptError(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			err = inner
		}
	}
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout"):
		return "timed out"
	case errors.As(err, &dnsErr):
		return "the host name does not resolve" // the error names the gateway's resolver
	default:
		return err.Error()
	}
}

// finish records the delivery's state after an attempt and ends its lease;
// next, when set, is when the next attempt is due.
func (d *Dispatcher) finish(ctx context.Context, l store.Lease, outcome string, latency time.Duration, next time.Time) {
	dl := l.Delivery
	switch outcome {
	case OutcomeSucceeded:
		dl.Status, dl.NextAttemptAt = sg.DeliverySucceeded, 0
	case OutcomeFailed:
		dl.Status, dl.NextAttemptAt = sg.DeliveryFailed, 0
	default:
		dl.Status, dl.NextAttemptAt = sg.DeliveryPending, next.Unix()
	}
	unparked, err := d.store.Complete(ctx, l, next, d.now())
	if unparked {
		d.Wake() // the endpoint's next delivery is due now
	}
	switch {
	case sg.IsCode(err, sg.ECONFLICT):
		d.log.Info("webhook delivery taken over", "delivery_id", dl.ID)
	case err != nil:
		d.log.Warn("record webhook delivery", "delivery_id", dl.ID, "err", err)
	}
	d.Observe(outcome, latency)
}

// endpointHealth keeps an endpoint's failure run: a success ends it, a
// failure starts it or, once it lasts DisableAfter, disables the endpoint;
// disable, when set, disables it at once with that reason. Only changes
// are written.
func (d *Dispatcher) endpointHealth(ctx context.Context, ep *sg.WebhookEndpoint, at time.Time, ok bool, disable string) {
	if ok && ep.FailingSince == 0 {
		return // the common case, decided on the endpoint as the attempt read it
	}
	for range 5 {
		cur, v, err := d.store.Endpoint(ctx, ep.MerchantID, ep.ID)
		if err != nil {
			return
		}
		switch {
		case cur.Status != sg.EndpointEnabled:
			return
		case ok && cur.FailingSince == 0:
			return
		case ok:
			cur.FailingSince = 0
		case disable == "" && cur.FailingSince == 0:
			cur.FailingSince = at.Unix()
		case disable == "" && at.Sub(time.Unix(cur.FailingSince, 0)) < d.cfg.DisableAfter:
			return
		default:
			if disable == "" {
				disable = failingReason(d.cfg.DisableAfter)
			}
			cur.Status, cur.DisabledReason = sg.EndpointDisabled, disable
			d.log.Warn("webhook endpoint disabled", "merchant_id", cur.MerchantID, "endpoint_id", cur.ID, "reason", disable)
		}
		if _, err := d.store.UpdateEndpoint(ctx, cur, v); !sg.IsCode(err, sg.ECONFLICT) {
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) { sleepOrWake(ctx, d, nil) }

// sleepOrWake waits for d, ctx's end or a signal on wake.
func sleepOrWake(ctx context.Context, d time.Duration, wake <-chan struct{}) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-wake:
	}
}
