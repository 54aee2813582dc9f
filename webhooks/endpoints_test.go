package webhooks_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/clocktest"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/store/storetest"
	"github.com/stablegate/stablegate/webhooks"
)

// publicURL is an https URL on a public address literal: the guard accepts
// it without a DNS query, and nothing is ever sent to it.
const publicURL = "https://93.184.215.14/hooks"

var endpointsT0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// endpointsFixture is the endpoints service on the real store, with one
// merchant's test and live principals.
type endpointsFixture struct {
	t     *testing.T
	ctx   context.Context
	st    *store.Store
	clock *clocktest.Clock
	svc   *webhooks.Endpoints
	test  sg.Principal
	live  sg.Principal
}

func newEndpointsFixture(t *testing.T, cfg webhooks.EndpointsConfig, allow ...string) *endpointsFixture {
	t.Helper()
	f := &endpointsFixture{t: t, ctx: context.Background(), st: storetest.New(t), clock: clocktest.Stepping(endpointsT0, time.Millisecond)}
	f.svc = webhooks.NewEndpoints(f.st, newGuard(t, allow...), f.clock.Now, cfg)
	f.test = sg.Principal{MerchantID: sg.NewID(sg.PrefixMerchant, endpointsT0), Kind: sg.KeySecret}
	f.live = f.test
	f.live.Livemode = true
	return f
}

func ptr[T any](v T) *T { return &v }

// create registers an endpoint for p that takes events.
func (f *endpointsFixture) create(p sg.Principal, events ...string) *sg.WebhookEndpoint {
	f.t.Helper()
	e, err := f.svc.Create(f.ctx, p, webhooks.EndpointParams{URL: ptr(publicURL), EnabledEvents: events})
	if err != nil {
		f.t.Fatalf("Create: %v", err)
	}
	return e
}

// emit records an event for p's merchant as a state change does.
func (f *endpointsFixture) emit(p sg.Principal, typ string) *sg.Event {
	f.t.Helper()
	now := f.clock.Now()
	e := &sg.Event{
		ID: sg.NewID(sg.PrefixEvent, now), Object: "event", Type: typ, Created: now.Unix(), Livemode: p.Livemode,
		Data: json.RawMessage(`{"id":"co_x","object":"checkout"}`), MerchantID: p.MerchantID,
	}
	if err := f.st.Apply(f.ctx, store.Change{MerchantID: p.MerchantID, Livemode: p.Livemode, Event: e}); err != nil {
		f.t.Fatal(err)
	}
	return e
}

// enqueue stores the delivery of evt to ep as the dispatcher's fan-out
// would, in the given state.
func (f *endpointsFixture) enqueue(evt *sg.Event, ep *sg.WebhookEndpoint, status sg.DeliveryStatus, attempts ...sg.Attempt) *sg.Delivery {
	f.t.Helper()
	now := f.clock.Now()
	d := &sg.Delivery{
		ID: sg.DeliveryID(evt.ID, ep.ID), Object: webhooks.ObjectDelivery, Livemode: evt.Livemode,
		EndpointID: ep.ID, EventID: evt.ID, EventType: evt.Type, Status: status, Attempts: attempts,
		Created: now.Unix(), MerchantID: evt.MerchantID,
	}
	if n, err := f.st.Enqueue(f.ctx, []*sg.Delivery{d}, now); err != nil || n != 1 {
		f.t.Fatalf("Enqueue: %d, %v", n, err)
	}
	return d
}

func (f *endpointsFixture) stored(id string) (*sg.WebhookEndpoint, int64) {
	f.t.Helper()
	e, v, err := f.st.Endpoint(f.ctx, f.test.MerchantID, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return e, v
}

func (f *endpointsFixture) storedDelivery(id string) *sg.Delivery {
	f.t.Helper()
	d, err := f.st.Delivery(f.ctx, f.test.MerchantID, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// wantError fails unless err is a domain error with code, reason and
// param.
func wantError(t *testing.T, err error, code sg.ErrorCode, reason, param string) {
	t.Helper()
	e := sg.ErrorOf(err)
	if e == nil || e.Code != code || e.Reason != reason || e.Param != param {
		t.Fatalf("error %v, want %s %s (param %q)", err, code, reason, param)
	}
}

func TestCreateEndpoint(t *testing.T) {
	t.Parallel()
	f := newEndpointsFixture(t, webhooks.DefaultEndpointsConfig())
	e, err := f.svc.Create(f.ctx, f.test, webhooks.EndpointParams{
		URL: ptr(publicURL), Description: ptr("orders"),
		EnabledEvents: []string{sg.EventCheckoutPaid, sg.EventCheckoutExpired, sg.EventCheckoutPaid},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.ID, sg.PrefixEndpoint) || e.Object != "webhook_endpoint" || e.Livemode || e.URL != publicURL ||
		e.Description != "orders" || e.Status != sg.EndpointEnabled || e.Created != endpointsT0.Unix() ||
		!slices.Equal(e.EnabledEvents, []string{sg.EventCheckoutPaid, sg.EventCheckoutExpired}) {
		t.Fatalf("created %+v", e)
	}
	if _, err := webhooks.ParseSecret(e.Secret); err != nil || !strings.HasPrefix(e.Secret, "whsec_") {
		t.Fatalf("secret %q: %v", e.Secret, err)
	}
	stored, v := f.stored(e.ID)
	if v != 1 || stored.Secret != "" || len(stored.Secrets) != 1 || stored.Secrets[0] != (sg.EndpointSecret{Secret: e.Secret}) {
		t.Fatalf("stored v%d %+v with secrets %+v", v, stored, stored.Secrets)
	}
	got, err := f.svc.Get(f.ctx, f.test, e.ID)
	if err != nil || got.Secret != "" || got.ID != e.ID {
		t.Fatalf("Get: %+v, %v", got, err)
	}
	all, err := f.svc.Create(f.ctx, f.live, webhooks.EndpointParams{URL: ptr(publicURL), EnabledEvents: []string{"*"}, Disabled: ptr(true)})
	if err != nil || !all.Livemode || all.Status != sg.EndpointDisabled || !slices.Equal(all.EnabledEvents, []string{"*"}) {
		t.Fatalf("live endpoint %+v, %v", all, err)
	}
}

func TestCreateEndpointRefuses(t *testing.T) {
	t.Parallel()
	f := newEndpointsFixture(t, webhooks.DefaultEndpointsConfig())
	loopback := newEndpointsFixture(t, webhooks.DefaultEndpointsConfig(), "127.0.0.0/8")
	events := []string{"*"}
	for _, tc := range []struct {
		name   string
		svc    *webhooks.Endpoints
		p      sg.Principal
		params webhooks.EndpointParams
		reason string // "" for success
		param  string
	}{
		{"no url", f.svc, f.test, webhooks.EndpointParams{EnabledEvents: events}, "parameter_missing", "url"},
		{"empty url", f.svc, f.test, webhooks.EndpointParams{URL: ptr(""), EnabledEvents: events}, "parameter_missing", "url"},
		{"no events", f.svc, f.test, webhooks.EndpointParams{URL: ptr(publicURL)}, "parameter_missing", "enabled_events"},
		{"empty events", f.svc, f.test, webhooks.EndpointParams{URL: ptr(publicURL), EnabledEvents: []string{}}, "enabled_events_empty", "enabled_events"},
		{"unknown event", f.svc, f.test, webhooks.EndpointParams{URL: ptr(publicURL), EnabledEvents: []string{"checkout.paid", "checkout.exploded"}}, "event_type_invalid", "enabled_events"},
		{"prefix wildcard", f.svc, f.test, webhooks.EndpointParams{URL: ptr(publicURL), EnabledEvents: []string{"checkout.*"}}, "event_type_invalid", "enabled_events"},
		{"long description", f.svc, f.test, webhooks.EndpointParams{URL: ptr(publicURL), EnabledEvents: events, Description: ptr(strings.Repeat("d", 501))}, "description_too_long", "description"},
		{"description at limit", f.svc, f.test, webhooks.EndpointParams{URL: ptr(publicURL), EnabledEvents: events, Description: ptr(strings.Repeat("d", 500))}, "", ""},
		{"ftp", f.svc, f.test, webhooks.EndpointParams{URL: ptr("ftp://93.184.215.14/x"), EnabledEvents: events}, webhooks.ReasonURLInvalid, "url"},
		{"relative", f.svc, f.test, webhooks.EndpointParams{URL: ptr("/hooks"), EnabledEvents: events}, webhooks.ReasonURLInvalid, "url"},
		{"too long", f.svc, f.test, webhooks.EndpointParams{URL: ptr(publicURL + "/" + strings.Repeat("a", 2048)), EnabledEvents: events}, webhooks.ReasonURLInvalid, "url"},
		{"http in test mode", f.svc, f.test, webhooks.EndpointParams{URL: ptr("http://93.184.215.14/x"), EnabledEvents: events}, "", ""},
		{"http in live mode", f.svc, f.live, webhooks.EndpointParams{URL: ptr("http://93.184.215.14/x"), EnabledEvents: events}, webhooks.ReasonURLInsecure, "url"},
		{"loopback", f.svc, f.test, webhooks.EndpointParams{URL: ptr("http://127.0.0.1:8080/x"), EnabledEvents: events}, webhooks.ReasonURLForbiddenAddress, "url"},
		{"metadata address", f.svc, f.test, webhooks.EndpointParams{URL: ptr("http://169.254.169.254/"), EnabledEvents: events}, webhooks.ReasonURLForbiddenAddress, "url"},
		{"unresolvable", f.svc, f.test, webhooks.EndpointParams{URL: ptr("https://hooks.example/x"), EnabledEvents: events}, webhooks.ReasonURLUnresolvable, "url"},
		{"loopback allowed", loopback.svc, loopback.test, webhooks.EndpointParams{URL: ptr("http://127.0.0.1:8080/x"), EnabledEvents: events}, "", ""},
		{"allowed loopback over http in live mode", loopback.svc, loopback.live, webhooks.EndpointParams{URL: ptr("http://127.0.0.1:8080/x"), EnabledEvents: events}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := tc.svc.Create(context.Background(), tc.p, tc.params)
			if tc.reason == "" {
				if err != nil || e.URL != *tc.params.URL {
					t.Fatalf("Create: %+v, %v", e, err)
				}
				return
			}
			wantError(t, err, sg.EINVALID, tc.reason, tc.param)
		})
	}
	// Nothing refused was stored.
	if es, _, err := f.svc.List(f.ctx, f.test, store.ListFilter{Limit: 100}); err != nil || len(es) != 2 {
		t.Fatalf("%d test endpoints stored, want the 2 accepted: %v", len(es), err)
	}
	if es, _, err := f.svc.List(f.ctx, f.live, store.ListFilter{Limit: 100}); err != nil || len(es) != 0 {
		t.Fatalf("%d live endpoints stored, want 0: %v", len(es), err)
	}
}

func TestEndpointLimitPerMode(t *testing.T) {
	t.Parallel()
	f := newEndpointsFixture(t, webhooks.EndpointsConfig{MaxPerMode: 2})
	first := f.create(f.test, "*")
	f.create(f.test, "*")
	_, err := f.svc.Create(f.ctx, f.test, webhooks.EndpointParams{URL: ptr(publicURL), EnabledEvents: []string{"*"}})
	wantError(t, err, sg.ECONFLICT, "endpoint_limit", "")
	f.create(f.live, "*") // the other mode counts apart
	if _, err := f.svc.Delete(f.ctx, f.test, first.ID); err != nil {
		t.Fatal(err)
	}
	f.create(f.test, "*") // a deleted endpoint frees its place
}

// TestEndpointsOfOthersAreMissing: another merchant's endpoint, event or
// delivery, and one of the other mode, are not_found exactly like ones
// that do not exist, for every method, and nothing changes.
func TestEndpointsOfOthersAreMissing(t *testing.T) {
	t.Parallel()
	f := newEndpointsFixture(t, webhooks.DefaultEndpointsConfig())
	ep := f.create(f.test, "*")
	evt := f.emit(f.test, sg.EventCheckoutPaid)
	dlv := f.enqueue(evt, ep, sg.DeliveryFailed)
	other := sg.Principal{MerchantID: sg.NewID(sg.PrefixMerchant, endpointsT0), Kind: sg.KeySecret}
	otherEp := f.create(other, "*")
	liveEp := f.create(f.live, "*")
	_, before := f.stored(ep.ID)

	ctx := f.ctx
	cases := map[string]func(p sg.Principal, epID, evtID, dlvID string) error{
		"Get": func(p sg.Principal, epID, _, _ string) error { _, err := f.svc.Get(ctx, p, epID); return err },
		"Update": func(p sg.Principal, epID, _, _ string) error {
			_, err := f.svc.Update(ctx, p, epID, webhooks.EndpointParams{Disabled: ptr(true)})
			return err
		},
		"Delete": func(p sg.Principal, epID, _, _ string) error { _, err := f.svc.Delete(ctx, p, epID); return err },
		"RotateSecret": func(p sg.Principal, epID, _, _ string) error {
			_, err := f.svc.RotateSecret(ctx, p, epID, nil)
			return err
		},
		"Deliveries": func(p sg.Principal, epID, _, _ string) error {
			_, _, err := f.svc.Deliveries(ctx, p, epID, store.ListFilter{})
			return err
		},
		"Redeliver": func(p sg.Principal, epID, _, dlvID string) error {
			_, err := f.svc.Redeliver(ctx, p, epID, dlvID)
			return err
		},
		"EventDeliveries": func(p sg.Principal, _, evtID, _ string) error {
			_, _, err := f.svc.EventDeliveries(ctx, p, evtID, store.ListFilter{})
			return err
		},
		"RedeliverEvent": func(p sg.Principal, _, evtID, _ string) error {
			_, err := f.svc.RedeliverEvent(ctx, p, evtID)
			return err
		},
	}
	for name, call := range cases {
		t.Run(name, func(t *testing.T) {
			param := "id"
			for who, p := range map[string]sg.Principal{"other merchant": other, "live mode": f.live} {
				wantError(t, call(p, ep.ID, evt.ID, dlv.ID), sg.ENOTFOUND, "resource_missing", param)
				if missing := call(p, "we_0000000000000000000000000a", "evt_0000000000000000000000000a", dlv.ID); sg.ErrorOf(missing).Message != sg.ErrorOf(call(p, ep.ID, evt.ID, dlv.ID)).Message {
					t.Fatalf("%s: the object answers differently from a missing one: %v", who, missing)
				}
			}
		})
	}
	// The delivery, asked for through another endpoint of the merchant's
	// own or another merchant's, is missing too.
	for _, c := range []struct {
		p    sg.Principal
		epID string
	}{{f.test, f.create(f.test, "*").ID}, {other, otherEp.ID}, {f.live, liveEp.ID}} {
		_, err := f.svc.Redeliver(ctx, c.p, c.epID, dlv.ID)
		wantError(t, err, sg.ENOTFOUND, "resource_missing", "delivery_id")
	}
	if _, after := f.stored(ep.ID); after != before {
		t.Fatalf("endpoint version %d -> %d: another principal changed it", before, after)
	}
	if d := f.storedDelivery(dlv.ID); d.Status != sg.DeliveryFailed || d.Redelivery {
		t.Fatalf("delivery %+v changed", d)
	}
}

func TestUpdateEndpoint(t *testing.T) {
	t.Parallel()
	f := newEndpointsFixture(t, webhooks.DefaultEndpointsConfig())
	ep := f.create(f.test, sg.EventCheckoutPaid)

	got, err := f.svc.Update(f.ctx, f.test, ep.ID, webhooks.EndpointParams{Description: ptr("renamed")})
	if err != nil || got.Description != "renamed" || got.URL != publicURL || !slices.Equal(got.EnabledEvents, []string{sg.EventCheckoutPaid}) || got.Secret != "" {
		t.Fatalf("description only: %+v, %v", got, err)
	}
	got, err = f.svc.Update(f.ctx, f.test, ep.ID, webhooks.EndpointParams{
		URL: ptr("https://1.1.1.1/new"), EnabledEvents: []string{"*", "*"}, Disabled: ptr(true),
	})
	if err != nil || got.URL != "https://1.1.1.1/new" || !slices.Equal(got.EnabledEvents, []string{"*"}) || got.Status != sg.EndpointDisabled || got.Description != "renamed" {
		t.Fatalf("url, events, disabled: %+v, %v", got, err)
	}
	if stored, _ := f.stored(ep.ID); stored.URL != got.URL || stored.Status != sg.EndpointDisabled || len(stored.Secrets) != 1 {
		t.Fatalf("stored %+v", stored)
	}

	// The dispatcher disabled it after days of failures; enabling it
	// starts afresh.
	stored, v := f.stored(ep.ID)
	stored.DisabledReason, stored.FailingSince = "failing for 5 days", endpointsT0.Unix()
	if _, err := f.st.UpdateEndpoint(f.ctx, stored, v); err != nil {
		t.Fatal(err)
	}
	got, err = f.svc.Update(f.ctx, f.test, ep.ID, webhooks.EndpointParams{Disabled: ptr(false)})
	if err != nil || got.Status != sg.EndpointEnabled || got.DisabledReason != "" || got.FailingSince != 0 {
		t.Fatalf("enabled: %+v, %v", got, err)
	}
	// Enabling an enabled endpoint keeps its failing run: the dispatcher
	// still counts it.
	stored, v = f.stored(ep.ID)
	stored.FailingSince = endpointsT0.Unix()
	if _, err := f.st.UpdateEndpoint(f.ctx, stored, v); err != nil {
		t.Fatal(err)
	}
	if got, err = f.svc.Update(f.ctx, f.test, ep.ID, webhooks.EndpointParams{Disabled: ptr(false)}); err != nil || got.FailingSince != endpointsT0.Unix() {
		t.Fatalf("enabled again: %+v, %v", got, err)
	}

	for _, tc := range []struct {
		name          string
		params        webhooks.EndpointParams
		reason, param string
	}{
		{"loopback url", webhooks.EndpointParams{URL: ptr("http://127.0.0.1/x")}, webhooks.ReasonURLForbiddenAddress, "url"},
		{"empty url", webhooks.EndpointParams{URL: ptr("")}, webhooks.ReasonURLInvalid, "url"},
		{"no events", webhooks.EndpointParams{EnabledEvents: []string{}}, "enabled_events_empty", "enabled_events"},
		{"bad event", webhooks.EndpointParams{EnabledEvents: []string{"nope"}}, "event_type_invalid", "enabled_events"},
		{"long description", webhooks.EndpointParams{Description: ptr(strings.Repeat("x", 501))}, "description_too_long", "description"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Update(f.ctx, f.test, ep.ID, tc.params)
			wantError(t, err, sg.EINVALID, tc.reason, tc.param)
		})
	}
	if _, err := f.svc.Update(f.ctx, f.live, ep.ID, webhooks.EndpointParams{}); !sg.IsCode(err, sg.ENOTFOUND) {
		t.Fatalf("live principal on a test endpoint: %v", err)
	}
}

// racingStore is the real store with another writer that changes an
// endpoint just before each of the service's first few writes, as the
// dispatcher does when it records a failure.
type racingStore struct {
	*store.Store
	races int
}

func (s *racingStore) UpdateEndpoint(ctx context.Context, e *sg.WebhookEndpoint, version int64) (int64, error) {
	if s.races > 0 {
		s.races--
		cur, v, err := s.Store.Endpoint(ctx, e.MerchantID, e.ID)
		if err != nil {
			return 0, err
		}
		cur.FailingSince++
		if _, err := s.Store.UpdateEndpoint(ctx, cur, v); err != nil {
			return 0, err
		}
	}
	return s.Store.UpdateEndpoint(ctx, e, version)
}

func TestUpdateEndpointRetriesLostRaces(t *testing.T) {
	t.Parallel()
	f := newEndpointsFixture(t, webhooks.DefaultEndpointsConfig())
	ep := f.create(f.test, "*")
	racing := &racingStore{Store: f.st, races: 2}
	svc := webhooks.NewEndpoints(racing, newGuard(t), f.clock.Now, webhooks.DefaultEndpointsConfig())
	got, err := svc.Update(f.ctx, f.test, ep.ID, webhooks.EndpointParams{Description: ptr("mine")})
	if err != nil || got.Description != "mine" || got.FailingSince != 2 {
		t.Fatalf("after two lost races: %+v, %v", got, err)
	}
	if stored, v := f.stored(ep.ID); stored.Description != "mine" || stored.FailingSince != 2 || v != 4 {
		t.Fatalf("stored v%d %+v: both writers' changes should be kept", v, stored)
	}
	// A writer that always wins is reported, not retried forever.
	racing.races = 100
	_, err = svc.Update(f.ctx, f.test, ep.ID, webhooks.EndpointParams{Description: ptr("lost")})
	wantError(t, err, sg.ECONFLICT, "endpoint_changed", "")
	if racing.races != 95 {
		t.Fatalf("%d writes tried, want 5", 100-racing.races)
	}
}

func TestDeleteEndpoint(t *testing.T) {
	t.Parallel()
	f := newEndpointsFixture(t, webhooks.DefaultEndpointsConfig())
	ep := f.create(f.test, "*")
	gone, err := f.svc.Delete(f.ctx, f.test, ep.ID)
	if err != nil || gone.ID != ep.ID {
		t.Fatalf("Delete: %+v, %v", gone, err)
	}
	for _, err := range []error{
		func() error { _, err := f.svc.Get(f.ctx, f.test, ep.ID); return err }(),
		func() error { _, err := f.svc.Delete(f.ctx, f.test, ep.ID); return err }(),
	} {
		wantError(t, err, sg.ENOTFOUND, "resource_missing", "id")
	}
}

func TestRotateSecret(t *testing.T) {
	t.Parallel()
	f := newEndpointsFixture(t, webhooks.DefaultEndpointsConfig())
	ep := f.create(f.test, "*")
	first := ep.Secret

	rotated, err := f.svc.RotateSecret(f.ctx, f.test, ep.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	second := rotated.Secret
	if _, err := webhooks.ParseSecret(second); err != nil || second == first {
		t.Fatalf("new secret %q (old %q): %v", second, first, err)
	}
	stored, _ := f.stored(ep.ID)
	at := f.clock.Now()
	if stored.Secret != "" || len(stored.Secrets) != 2 || stored.Secrets[0] != (sg.EndpointSecret{Secret: second}) ||
		stored.Secrets[1].Secret != first || stored.Secrets[1].Expires < at.Add(24*time.Hour-time.Second).Unix() || stored.Secrets[1].Expires > at.Add(24*time.Hour).Unix() {
		t.Fatalf("secrets after rotation at %d: %+v", at.Unix(), stored.Secrets)
	}
	if got := stored.SigningSecrets(at); !slices.Equal(got, []string{second, first}) {
		t.Fatalf("signing during the overlap: %q", got)
	}
	if got := stored.SigningSecrets(at.Add(24 * time.Hour)); !slices.Equal(got, []string{second}) {
		t.Fatalf("signing after the overlap: %q", got)
	}
	if got, _ := f.svc.Get(f.ctx, f.test, ep.ID); got.Secret != "" {
		t.Fatal("Get shows the secret")
	}

	// A second rotation with a shorter overlap cuts the older secret's
	// overlap short too.
	third, err := f.svc.RotateSecret(f.ctx, f.test, ep.ID, ptr(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	stored, _ = f.stored(ep.ID)
	until := f.clock.Now().Add(time.Hour).Unix()
	if len(stored.Secrets) != 3 || stored.Secrets[0].Secret != third.Secret || stored.Secrets[0].Expires != 0 ||
		stored.Secrets[1].Secret != second || stored.Secrets[2].Secret != first ||
		stored.Secrets[1].Expires != stored.Secrets[2].Expires || stored.Secrets[1].Expires > until {
		t.Fatalf("secrets after the second rotation: %+v", stored.Secrets)
	}

	// Expired secrets are dropped at the next rotation.
	f.clock.Advance(2 * time.Hour)
	fourth, err := f.svc.RotateSecret(f.ctx, f.test, ep.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ = f.stored(ep.ID)
	if len(stored.Secrets) != 2 || stored.Secrets[0].Secret != fourth.Secret || stored.Secrets[1].Secret != third.Secret {
		t.Fatalf("secrets after the overlap ended: %+v", stored.Secrets)
	}

	// Overlap 0: the old secret stops at once.
	fifth, err := f.svc.RotateSecret(f.ctx, f.test, ep.ID, ptr(time.Duration(0)))
	if err != nil {
		t.Fatal(err)
	}
	stored, _ = f.stored(ep.ID)
	if got := stored.SigningSecrets(f.clock.Now()); !slices.Equal(got, []string{fifth.Secret}) || len(stored.Secrets) != 1 {
		t.Fatalf("after a rotation without overlap: %+v", stored.Secrets)
	}

	// Rotating in a loop keeps a bounded number of secrets, newest first.
	var made []string
	for range 8 {
		r, err := f.svc.RotateSecret(f.ctx, f.test, ep.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, r.Secret)
	}
	stored, _ = f.stored(ep.ID)
	slices.Reverse(made)
	if got := stored.SigningSecrets(f.clock.Now()); !slices.Equal(got, made[:5]) {
		t.Fatalf("after 8 rotations signing with %d secrets, want the newest 5", len(got))
	}

	for _, bad := range []time.Duration{-time.Second, 7*24*time.Hour + time.Second} {
		_, err := f.svc.RotateSecret(f.ctx, f.test, ep.ID, &bad)
		wantError(t, err, sg.EINVALID, "overlap_invalid", "overlap_seconds")
	}
	if _, err := f.svc.RotateSecret(f.ctx, f.test, ep.ID, ptr(7*24*time.Hour)); err != nil {
		t.Fatalf("the longest overlap: %v", err)
	}
}

func TestRedeliver(t *testing.T) {
	t.Parallel()
	f := newEndpointsFixture(t, webhooks.DefaultEndpointsConfig())
	ep := f.create(f.test, "*")
	evt := f.emit(f.test, sg.EventCheckoutPaid)
	failed := sg.Attempt{At: endpointsT0.Unix(), StatusCode: 500, LatencyMS: 12}
	f.enqueue(evt, ep, sg.DeliveryFailed, failed)

	f.clock.Advance(time.Hour)
	d, err := f.svc.Redeliver(f.ctx, f.test, ep.ID, sg.DeliveryID(evt.ID, ep.ID))
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Peek().Unix()
	if d.Status != sg.DeliveryPending || !d.Redelivery || d.NextAttemptAt != now || d.Object != "webhook_delivery" || len(d.Attempts) != 1 {
		t.Fatalf("redelivered %+v", d)
	}
	stored := f.storedDelivery(d.ID)
	if stored.Status != sg.DeliveryPending || !stored.Redelivery || stored.NextAttemptAt != now || !slices.Equal(stored.Attempts, []sg.Attempt{failed}) {
		t.Fatalf("stored %+v", stored)
	}
	due, err := f.st.Client().ZScore(f.ctx, f.st.Keys().DeliveriesDue(), d.ID).Result()
	if err != nil || int64(due) != f.clock.Peek().UnixMilli() {
		t.Fatalf("due at %v (%v), want %d", due, err, f.clock.Peek().UnixMilli())
	}

	if _, err := f.svc.Update(f.ctx, f.test, ep.ID, webhooks.EndpointParams{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Redeliver(f.ctx, f.test, ep.ID, d.ID)
	wantError(t, err, sg.ECONFLICT, "endpoint_disabled", "")
	_, err = f.svc.Redeliver(f.ctx, f.test, ep.ID, "dlv_nope")
	wantError(t, err, sg.ENOTFOUND, "resource_missing", "delivery_id")
}

func TestRedeliverEvent(t *testing.T) {
	t.Parallel()
	f := newEndpointsFixture(t, webhooks.DefaultEndpointsConfig())
	all := f.create(f.test, "*")
	paidOnly := f.create(f.test, sg.EventCheckoutPaid)
	created := f.create(f.test, sg.EventCheckoutCreated, sg.EventCheckoutExpired)
	disabled := f.create(f.test, "*")
	if _, err := f.svc.Update(f.ctx, f.test, disabled.ID, webhooks.EndpointParams{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	f.create(f.live, "*")
	evt := f.emit(f.test, sg.EventCheckoutCreated)
	old := f.enqueue(evt, all, sg.DeliverySucceeded, sg.Attempt{At: endpointsT0.Unix(), StatusCode: 200})

	f.clock.Advance(time.Minute)
	ds, err := f.svc.RedeliverEvent(f.ctx, f.test, evt.ID)
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Peek().Unix()
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
		if d.Status != sg.DeliveryPending || !d.Redelivery || d.NextAttemptAt != now || d.EventID != evt.ID || d.Object != "webhook_delivery" {
			t.Errorf("delivery %+v", d)
		}
	}
	want := []string{sg.DeliveryID(evt.ID, all.ID), sg.DeliveryID(evt.ID, created.ID)}
	if !slices.Equal(ids, want) {
		t.Fatalf("redelivered %v, want %v (not %s, which takes checkout.paid only)", ids, want, paidOnly.ID)
	}
	if d := f.storedDelivery(old.ID); d.Status != sg.DeliveryPending || len(d.Attempts) != 1 || !d.Redelivery {
		t.Fatalf("existing delivery %+v", d)
	}
	fresh := f.storedDelivery(want[1])
	if fresh.Status != sg.DeliveryPending || fresh.EndpointID != created.ID || fresh.EventType != sg.EventCheckoutCreated ||
		fresh.Livemode || fresh.MerchantID != f.test.MerchantID || !fresh.Redelivery || fresh.Created != now || len(fresh.Attempts) != 0 {
		t.Fatalf("new delivery %+v", fresh)
	}
	listed, more, err := f.svc.EventDeliveries(f.ctx, f.test, evt.ID, store.ListFilter{})
	if err != nil || more || len(listed) != 2 {
		t.Fatalf("event deliveries: %d, %v, %v", len(listed), more, err)
	}

	// An attempt in flight is left to run; the others are redelivered.
	leases, _, err := f.st.Claim(f.ctx, f.clock.Now(), time.Minute, 1, 1)
	if err != nil || len(leases) != 1 {
		t.Fatalf("claim: %v, %v", leases, err)
	}
	busy := leases[0].Delivery.ID
	if _, err := f.svc.Redeliver(f.ctx, f.test, leases[0].Delivery.EndpointID, busy); !sg.IsCode(err, sg.ECONFLICT) {
		t.Fatalf("redelivering a delivery in flight: %v", err)
	}
	ds, err = f.svc.RedeliverEvent(f.ctx, f.test, evt.ID)
	if err != nil || len(ds) != 2 {
		t.Fatalf("with one in flight: %v, %v", ds, err)
	}

	lonely := f.emit(f.test, sg.EventPaymentUnmatched)
	if _, err := f.svc.Delete(f.ctx, f.test, all.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.RedeliverEvent(f.ctx, f.test, lonely.ID)
	wantError(t, err, sg.ECONFLICT, "no_endpoints", "")
}

func TestDeliveriesPages(t *testing.T) {
	t.Parallel()
	f := newEndpointsFixture(t, webhooks.DefaultEndpointsConfig())
	ep := f.create(f.test, "*")
	var want []string
	for range 5 {
		want = append(want, f.enqueue(f.emit(f.test, sg.EventCheckoutPaid), ep, sg.DeliveryPending).ID)
	}
	slices.Reverse(want) // newest first
	page, more, err := f.svc.Deliveries(f.ctx, f.test, ep.ID, store.ListFilter{Limit: 2})
	if err != nil || !more || len(page) != 2 || page[0].ID != want[0] || page[1].ID != want[1] {
		t.Fatalf("first page: %v, %v", more, err)
	}
	page, more, err = f.svc.Deliveries(f.ctx, f.test, ep.ID, store.ListFilter{StartingAfter: want[1], Limit: 10})
	if err != nil || more || len(page) != 3 || page[2].ID != want[4] {
		t.Fatalf("second page: %d, %v, %v", len(page), more, err)
	}
	for _, d := range page {
		if d.Attempts == nil {
			t.Fatalf("delivery %s shows attempts as null", d.ID)
		}
	}
	page, _, err = f.svc.Deliveries(f.ctx, f.test, ep.ID, store.ListFilter{})
	if err != nil || len(page) != 5 {
		t.Fatalf("default page: %d, %v", len(page), err)
	}
}

func TestEndpointsConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  webhooks.EndpointsConfig
		ok   bool
	}{
		{"defaults", webhooks.DefaultEndpointsConfig(), true},
		{"zero", webhooks.EndpointsConfig{}, true},
		{"negative limit", webhooks.EndpointsConfig{MaxPerMode: -1}, false},
		{"negative overlap", webhooks.EndpointsConfig{RotationOverlap: -time.Second}, false},
		{"overlap too long", webhooks.EndpointsConfig{RotationOverlap: 8 * 24 * time.Hour}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
