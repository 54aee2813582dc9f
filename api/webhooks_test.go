package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/api"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/webhooks"
)

// hookURL is an https URL on a public address literal: the guard takes it
// without a DNS query, and no test sends anything to it.
const hookURL = "https://93.184.215.14/hooks"

var secretPattern = regexp.MustCompile(`^whsec_[A-Za-z0-9+/]{43}=$`)

// allowLoopback replaces the server's webhook service with one whose guard
// allows loopback addresses, as an operator with endpoints on its own host
// configures it.
func allowLoopback(t *testing.T) func(*api.Config, *api.Deps) {
	return func(_ *api.Config, d *api.Deps) {
		st := d.Ready.(*store.Store)
		d.Webhooks = webhooks.NewEndpoints(st, offlineGuard(t, "127.0.0.0/8"), (&monoClock{}).Now, webhooks.DefaultEndpointsConfig())
	}
}

// createEndpoint creates an endpoint through the API and returns it, secret
// included.
func (e *env) createEndpoint(key, url string, events ...string) map[string]any {
	e.t.Helper()
	return e.post("/v1/webhook-endpoints", key, map[string]any{"url": url, "enabled_events": events}).ExpectStatus(e.t, http.StatusOK).Object(e.t)
}

// enqueue stores a failed delivery of an event to an endpoint straight in
// the store, as the dispatcher leaves one whose retries ran out, and returns
// its id.
func (e *env) enqueue(merchantID string, live bool, eventID, endpointID string) string {
	e.t.Helper()
	now := e.clock.Now()
	d := &sg.Delivery{
		ID: sg.DeliveryID(eventID, endpointID), Object: "webhook_delivery", Livemode: live, EndpointID: endpointID,
		EventID: eventID, EventType: sg.EventCheckoutCreated, Status: sg.DeliveryFailed, Created: now.Unix(), MerchantID: merchantID,
		Attempts: []sg.Attempt{
			{At: now.Unix() - 5, StatusCode: 0, LatencyMS: 15000, Error: "timeout"},
			{At: now.Unix(), StatusCode: 500, LatencyMS: 12, Response: "oops", Manual: true},
		},
	}
	if n, err := e.store.Enqueue(context.Background(), []*sg.Delivery{d}, now); err != nil || n != 1 {
		e.t.Fatalf("enqueue: %d, %v", n, err)
	}
	return d.ID
}

// emit records an event of typ for a merchant as a state change does.
func (e *env) emit(merchantID string, live bool, typ string) string {
	e.t.Helper()
	now := e.clock.Now() // ids of events made one after another sort in order
	evt := &sg.Event{ID: sg.NewID(sg.PrefixEvent, now), Object: "event", Type: typ, Created: now.Unix(), Livemode: live,
		Data: json.RawMessage(`{"id":"co_x","object":"checkout"}`), MerchantID: merchantID}
	if err := e.store.Apply(context.Background(), store.Change{MerchantID: merchantID, Livemode: live, Event: evt}); err != nil {
		e.t.Fatal(err)
	}
	return evt.ID
}

func (e *env) patch(path, auth string, body any) *response {
	e.t.Helper()
	return e.do(req{Method: http.MethodPatch, Path: path, Auth: auth, Body: body})
}

func (e *env) delete(path, auth string) *response {
	e.t.Helper()
	return e.do(req{Method: http.MethodDelete, Path: path, Auth: auth})
}

func TestCreateWebhookEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	ep := e.post("/v1/webhook-endpoints", a.Key, map[string]any{
		"url": hookURL, "enabled_events": []string{"checkout.paid", "checkout.expired", "checkout.paid"}, "description": "orders",
	}).ExpectStatus(t, http.StatusOK).Object(t)
	e.conforms("WebhookEndpoint", ep)
	id, secret := ep["id"].(string), ep["secret"].(string)
	if !strings.HasPrefix(id, "we_") || ep["object"] != "webhook_endpoint" || ep["url"] != hookURL || ep["status"] != "enabled" ||
		ep["livemode"] != false || ep["description"] != "orders" || stringify(ep["enabled_events"]) != `["checkout.paid","checkout.expired"]` {
		t.Fatalf("created %v", ep)
	}
	if !secretPattern.MatchString(secret) {
		t.Fatalf("secret %q", secret)
	}

	// The secret is shown once: never again in a read.
	got := e.get("/v1/webhook-endpoints/"+id, a.Key).ExpectStatus(t, http.StatusOK)
	list := e.get("/v1/webhook-endpoints", a.Key).ExpectStatus(t, http.StatusOK)
	for _, r := range []*response{got, list} {
		if strings.Contains(string(r.Body), secret) || strings.Contains(string(r.Body), `"secret"`) {
			t.Fatalf("a read shows the secret: %s", r.Body)
		}
	}
	if got.Object(t)["id"] != id || !slices.Equal(list.IDs(t), []string{id}) {
		t.Fatalf("read back %s and %s", got.Body, list.Body)
	}
	stored, _, err := e.store.Endpoint(context.Background(), a.ID, id)
	if err != nil || !slices.Equal(stored.SigningSecrets(time.Now()), []string{secret}) {
		t.Fatalf("stored endpoint signs with %v (%v), want the secret shown", stored.SigningSecrets(time.Now()), err)
	}

	// A live key's endpoint is live and needs https.
	live, _ := e.newKey(a.ID, "secret", true)
	liveEp := e.createEndpoint(live, hookURL, "*")
	if liveEp["livemode"] != true || stringify(liveEp["enabled_events"]) != `["*"]` {
		t.Fatalf("live endpoint %v", liveEp)
	}
	if ids := e.get("/v1/webhook-endpoints", a.Key).IDs(t); !slices.Equal(ids, []string{id}) {
		t.Fatalf("test key lists %v", ids)
	}
}

// TestCreateWebhookEndpointReplayHasNoSecret: the idempotency record of a
// creation or a rotation never holds the secret, so a replay answers the
// object without it.
func TestCreateWebhookEndpointReplayHasNoSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	body := map[string]any{"url": hookURL, "enabled_events": []string{"*"}}
	send := func(path, key string, body any) *response {
		return e.do(req{Method: http.MethodPost, Path: path, Auth: a.Key, Body: body, Header: map[string]string{"Idempotency-Key": key}}).ExpectStatus(t, http.StatusOK)
	}
	first := send("/v1/webhook-endpoints", "create-1", body)
	id, secret := first.Object(t)["id"].(string), first.Object(t)["secret"].(string)
	rotated := send("/v1/webhook-endpoints/"+id+"/rotate-secret", "rotate-1", nil)
	newSecret := rotated.Object(t)["secret"].(string)
	if !secretPattern.MatchString(secret) || !secretPattern.MatchString(newSecret) || newSecret == secret {
		t.Fatalf("secrets %q then %q", secret, newSecret)
	}

	for _, c := range []struct {
		path, key string
		body      any
		orig      *response
	}{
		{"/v1/webhook-endpoints", "create-1", body, first},
		{"/v1/webhook-endpoints/" + id + "/rotate-secret", "rotate-1", nil, rotated},
	} {
		replay := send(c.path, c.key, c.body)
		if replay.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("%s: not a replay", c.path)
		}
		want := c.orig.Object(t)
		delete(want, "secret")
		if got := replay.Object(t); stringify(got) != stringify(want) {
			t.Fatalf("%s replay:\n%v\nwant the first response without its secret:\n%v", c.path, got, want)
		}
		rec, err := e.store.Client().HGetAll(context.Background(), e.store.Keys().Idempotency(a.ID, false, c.key)).Result()
		if err != nil || rec["state"] != "done" {
			t.Fatalf("idempotency record %v, %v", rec, err)
		}
		for field, v := range rec {
			if strings.Contains(v, secret) || strings.Contains(v, newSecret) || strings.Contains(v, "whsec_") {
				t.Fatalf("idempotency record field %s holds a secret", field)
			}
		}
	}
	if n := e.count("/v1/webhook-endpoints", a.Key); n != 1 {
		t.Fatalf("%d endpoints after a replayed creation, want 1", n)
	}
	stored, _, err := e.store.Endpoint(context.Background(), a.ID, id)
	if err != nil || len(stored.Secrets) != 2 || stored.Secrets[0].Secret != newSecret {
		t.Fatalf("the replayed rotation rotated again: %+v, %v", stored.Secrets, err)
	}
}

func TestCreateWebhookEndpointRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	live, _ := e.newKey(a.ID, "secret", true)
	all := []string{"*"}
	for _, tc := range []struct {
		name        string
		key         string
		body        any
		code, param string
	}{
		{"missing url", a.Key, map[string]any{"enabled_events": all}, "parameter_missing", "url"},
		{"empty url", a.Key, map[string]any{"url": "", "enabled_events": all}, "parameter_missing", "url"},
		{"missing events", a.Key, map[string]any{"url": hookURL}, "parameter_missing", "enabled_events"},
		{"no events", a.Key, map[string]any{"url": hookURL, "enabled_events": []string{}}, "enabled_events_empty", "enabled_events"},
		{"unknown event type", a.Key, map[string]any{"url": hookURL, "enabled_events": []string{"checkout.paid", "charge.succeeded"}}, "event_type_invalid", "enabled_events"},
		{"events not a list", a.Key, map[string]any{"url": hookURL, "enabled_events": "*"}, "parameter_invalid_type", "enabled_events"},
		{"url not a string", a.Key, map[string]any{"url": 1, "enabled_events": all}, "parameter_invalid_type", "url"},
		{"unknown field", a.Key, map[string]any{"url": hookURL, "enabled_events": all, "secret": "whsec_mine"}, "parameter_unknown", "secret"},
		{"long description", a.Key, map[string]any{"url": hookURL, "enabled_events": all, "description": strings.Repeat("x", 501)}, "description_too_long", "description"},
		{"ftp scheme", a.Key, map[string]any{"url": "ftp://93.184.215.14/hooks", "enabled_events": all}, "url_invalid", "url"},
		{"no host", a.Key, map[string]any{"url": "https:///hooks", "enabled_events": all}, "url_invalid", "url"},
		{"user info", a.Key, map[string]any{"url": "https://user:pw@93.184.215.14/hooks", "enabled_events": all}, "url_invalid", "url"},
		{"loopback", a.Key, map[string]any{"url": "http://127.0.0.1/hooks", "enabled_events": all}, "url_forbidden_address", "url"},
		{"localhost", a.Key, map[string]any{"url": "http://localhost:8080/hooks", "enabled_events": all}, "url_forbidden_address", "url"},
		{"private", a.Key, map[string]any{"url": "https://10.0.0.7/hooks", "enabled_events": all}, "url_forbidden_address", "url"},
		{"cloud metadata", a.Key, map[string]any{"url": "http://169.254.169.254/latest", "enabled_events": all}, "url_forbidden_address", "url"},
		{"unresolvable", a.Key, map[string]any{"url": "https://hooks.invalid/x", "enabled_events": all}, "url_unresolvable", "url"},
		{"http in live mode", live, map[string]any{"url": "http://93.184.215.14/hooks", "enabled_events": all}, "url_insecure", "url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.with(t).post("/v1/webhook-endpoints", tc.key, tc.body).ExpectError(t, http.StatusBadRequest, tc.code, tc.param)
		})
	}
	if n := e.count("/v1/webhook-endpoints", a.Key) + e.count("/v1/webhook-endpoints", live); n != 0 {
		t.Fatalf("%d endpoints stored from refused requests", n)
	}
	// http is fine in test mode, on a public address.
	e.createEndpoint(a.Key, "http://93.184.215.14/hooks", "checkout.paid")

	// An operator who allows loopback gets it, in live mode over http too.
	lo := newEnv(t, allowLoopback(t))
	b := lo.newMerchant("B")
	bLive, _ := lo.newKey(b.ID, "secret", true)
	for _, key := range []string{b.Key, bLive} {
		if got := lo.createEndpoint(key, "http://127.0.0.1:9/hooks", "*"); got["url"] != "http://127.0.0.1:9/hooks" {
			t.Fatalf("allowed loopback endpoint %v", got)
		}
	}
	lo.post("/v1/webhook-endpoints", b.Key, map[string]any{"url": "http://10.0.0.7/hooks", "enabled_events": all}).
		ExpectError(t, http.StatusBadRequest, "url_forbidden_address", "url")
}

func TestWebhookEndpointLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	for range webhooks.DefaultEndpointsConfig().MaxPerMode {
		e.createEndpoint(a.Key, hookURL, "*")
	}
	e.post("/v1/webhook-endpoints", a.Key, map[string]any{"url": hookURL, "enabled_events": []string{"*"}}).
		ExpectError(t, http.StatusConflict, "endpoint_limit", "")
	live, _ := e.newKey(a.ID, "secret", true)
	e.createEndpoint(live, hookURL, "*")
}

func TestUpdateAndDeleteWebhookEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	ep := e.createEndpoint(a.Key, hookURL, "checkout.paid")
	path := "/v1/webhook-endpoints/" + ep["id"].(string)

	got := e.patch(path, a.Key, map[string]any{"description": "renamed"}).ExpectStatus(t, http.StatusOK).Object(t)
	e.conforms("WebhookEndpoint", got)
	if got["description"] != "renamed" || got["url"] != hookURL || stringify(got["enabled_events"]) != `["checkout.paid"]` || got["secret"] != nil {
		t.Fatalf("after renaming: %v", got)
	}
	got = e.patch(path, a.Key, map[string]any{"url": "https://1.1.1.1/new", "enabled_events": []string{"checkout.created", "*"}, "disabled": true}).
		ExpectStatus(t, http.StatusOK).Object(t)
	if got["url"] != "https://1.1.1.1/new" || got["status"] != "disabled" || stringify(got["enabled_events"]) != `["checkout.created","*"]` || got["description"] != "renamed" {
		t.Fatalf("after disabling: %v", got)
	}
	if e.get(path, a.Key).Object(t)["status"] != "disabled" {
		t.Fatal("disabling was not stored")
	}
	got = e.patch(path, a.Key, map[string]any{"disabled": false}).ExpectStatus(t, http.StatusOK).Object(t)
	if got["status"] != "enabled" {
		t.Fatalf("after enabling: %v", got)
	}
	e.patch(path, a.Key, nil).ExpectStatus(t, http.StatusOK) // nothing to change

	for _, tc := range []struct {
		name        string
		body        any
		code, param string
	}{
		{"loopback url", map[string]any{"url": "http://127.0.0.1/x"}, "url_forbidden_address", "url"},
		{"no events", map[string]any{"enabled_events": []string{}}, "enabled_events_empty", "enabled_events"},
		{"unknown event type", map[string]any{"enabled_events": []string{"nope"}}, "event_type_invalid", "enabled_events"},
		{"disabled not a boolean", map[string]any{"disabled": "yes"}, "parameter_invalid_type", "disabled"},
		{"status is read-only", map[string]any{"status": "enabled"}, "parameter_unknown", "status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.with(t).patch(path, a.Key, tc.body).ExpectError(t, http.StatusBadRequest, tc.code, tc.param)
		})
	}
	if got := e.get(path, a.Key).Object(t); got["url"] != "https://1.1.1.1/new" || got["status"] != "enabled" {
		t.Fatalf("a refused update changed the endpoint: %v", got)
	}

	gone := e.delete(path, a.Key).ExpectStatus(t, http.StatusOK).Object(t)
	if stringify(gone) != fmt.Sprintf(`{"deleted":true,"id":%q,"object":"webhook_endpoint"}`, ep["id"]) {
		t.Fatalf("deleted: %v", gone)
	}
	e.get(path, a.Key).ExpectError(t, http.StatusNotFound, "resource_missing", "id")
	e.delete(path, a.Key).ExpectError(t, http.StatusNotFound, "resource_missing", "id")
	e.patch(path, a.Key, map[string]any{"disabled": true}).ExpectError(t, http.StatusNotFound, "resource_missing", "id")
	if n := e.count("/v1/webhook-endpoints", a.Key); n != 0 {
		t.Fatalf("%d endpoints listed after the delete", n)
	}
}

func TestRotateWebhookSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	ep := e.createEndpoint(a.Key, hookURL, "*")
	id, old := ep["id"].(string), ep["secret"].(string)
	path := "/v1/webhook-endpoints/" + id + "/rotate-secret"

	rotated := e.post(path, a.Key, map[string]any{"overlap_seconds": 3600}).ExpectStatus(t, http.StatusOK).Object(t)
	e.conforms("WebhookEndpoint", rotated)
	current := rotated["secret"].(string)
	if !secretPattern.MatchString(current) || current == old || rotated["id"] != id {
		t.Fatalf("rotated %v", rotated)
	}
	stored, _, err := e.store.Endpoint(context.Background(), a.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if got := stored.SigningSecrets(now); !slices.Equal(got, []string{current, old}) {
		t.Fatalf("during the overlap signing with %d secrets, want the new and the old", len(got))
	}
	if got := stored.SigningSecrets(now.Add(time.Hour + time.Second)); !slices.Equal(got, []string{current}) {
		t.Fatalf("after the overlap signing with %d secrets, want the new one", len(got))
	}
	if strings.Contains(string(e.get("/v1/webhook-endpoints/"+id, a.Key).Body), "whsec_") {
		t.Fatal("GET shows a secret after the rotation")
	}

	// The default overlap is a day; 0 stops the old secret at once.
	e.post(path, a.Key, nil).ExpectStatus(t, http.StatusOK)
	stored, _, _ = e.store.Endpoint(context.Background(), a.ID, id)
	if exp := stored.Secrets[1].Expires; stored.Secrets[1].Secret != current || exp < time.Now().Add(24*time.Hour-time.Minute).Unix() || exp > time.Now().Add(24*time.Hour).Unix() {
		t.Fatalf("after a rotation with the default overlap: %+v", stored.Secrets)
	}
	last := e.post(path, a.Key, map[string]any{"overlap_seconds": 0}).ExpectStatus(t, http.StatusOK).Object(t)["secret"].(string)
	stored, _, _ = e.store.Endpoint(context.Background(), a.ID, id)
	if got := stored.SigningSecrets(time.Now()); !slices.Equal(got, []string{last}) {
		t.Fatalf("after a rotation without overlap signing with %d secrets, want 1", len(got))
	}

	for _, tc := range []struct {
		name        string
		body        string
		code, param string
	}{
		{"negative", `{"overlap_seconds":-1}`, "overlap_invalid", "overlap_seconds"},
		{"over a week", `{"overlap_seconds":604801}`, "overlap_invalid", "overlap_seconds"},
		{"overflowing", `{"overlap_seconds":9223372036854775807}`, "overlap_invalid", "overlap_seconds"},
		{"fractional", `{"overlap_seconds":1.5}`, "parameter_invalid_type", "overlap_seconds"},
		{"unknown field", `{"overlap":60}`, "parameter_unknown", "overlap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.with(t).post(path, a.Key, tc.body).ExpectError(t, http.StatusBadRequest, tc.code, tc.param)
		})
	}
	e.post(path, a.Key, `{"overlap_seconds":604800}`).ExpectStatus(t, http.StatusOK)
	e.post("/v1/webhook-endpoints/we_0000000000000000000000000a/rotate-secret", a.Key, nil).ExpectError(t, http.StatusNotFound, "resource_missing", "id")
}

func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	ep := e.createEndpoint(a.Key, hookURL, "*")["id"].(string)
	other := e.createEndpoint(a.Key, hookURL, "*")["id"].(string)
	var evts, dlvs []string
	for range 3 {
		evt := e.emit(a.ID, false, sg.EventCheckoutCreated)
		evts = append(evts, evt)
		dlvs = append(dlvs, e.enqueue(a.ID, false, evt, ep))
	}
	slices.Reverse(dlvs) // newest first
	otherDlv := e.enqueue(a.ID, false, evts[0], other)

	base := "/v1/webhook-endpoints/" + ep + "/deliveries"
	page := e.get(base+"?limit=2", a.Key).ExpectStatus(t, http.StatusOK)
	e.conforms("WebhookDeliveryList", page.Object(t))
	if ids := page.IDs(t); !slices.Equal(ids, dlvs[:2]) || page.Object(t)["has_more"] != true || page.Object(t)["url"] != base {
		t.Fatalf("first page %s", page.Body)
	}
	d := page.Data(t)[0]
	if d["object"] != "webhook_delivery" || d["webhook_endpoint"] != ep || d["event"] != evts[2] || d["status"] != "failed" ||
		d["event_type"] != "checkout.created" || len(d["attempts"].([]any)) != 2 {
		t.Fatalf("delivery %v", d)
	}
	next := e.get(base+"?starting_after="+dlvs[1], a.Key).ExpectStatus(t, http.StatusOK)
	if ids := next.IDs(t); !slices.Equal(ids, dlvs[2:]) || next.Object(t)["has_more"] != false {
		t.Fatalf("second page %s", next.Body)
	}
	if ids := e.get(base+"?ending_before="+dlvs[2], a.Key).IDs(t); !slices.Equal(ids, dlvs[:2]) {
		t.Fatalf("page before the last: %v", ids)
	}
	for _, tc := range []struct{ query, code, param string }{
		{"starting_after=" + evts[0], "cursor_invalid", "starting_after"},
		{"ending_before=we_x", "cursor_invalid", "ending_before"},
		{"starting_after=dlv_a&ending_before=dlv_b", "cursor_conflict", "ending_before"},
		{"limit=101", "limit_invalid", "limit"},
	} {
		e.get(base+"?"+tc.query, a.Key).ExpectError(t, http.StatusBadRequest, tc.code, tc.param)
	}

	byEvent := e.get("/v1/events/"+evts[0]+"/deliveries", a.Key).ExpectStatus(t, http.StatusOK)
	e.conforms("WebhookDeliveryList", byEvent.Object(t))
	want := []string{dlvs[2], otherDlv}
	slices.Sort(want)
	slices.Reverse(want)
	if ids := byEvent.IDs(t); !slices.Equal(ids, want) {
		t.Fatalf("the event's deliveries %v, want %v", ids, want)
	}
	e.get("/v1/events/"+evts[0]+"/deliveries?starting_after=co_x", a.Key).ExpectError(t, http.StatusBadRequest, "cursor_invalid", "starting_after")
	e.get("/v1/events/evt_0000000000000000000000000a/deliveries", a.Key).ExpectError(t, http.StatusNotFound, "resource_missing", "id")
}

func TestRedeliver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	ep := e.createEndpoint(a.Key, hookURL, "checkout.created")["id"].(string)
	other := e.createEndpoint(a.Key, hookURL, "checkout.paid")["id"].(string)
	evt := e.emit(a.ID, false, sg.EventCheckoutCreated)
	dlv := e.enqueue(a.ID, false, evt, ep)
	paid := e.emit(a.ID, false, sg.EventCheckoutPaid)
	otherDlv := e.enqueue(a.ID, false, paid, other)

	before := time.Now().Unix()
	path := "/v1/webhook-endpoints/" + ep + "/deliveries/" + dlv + "/redeliver"
	got := e.post(path, a.Key, nil).ExpectStatus(t, http.StatusOK).Object(t)
	e.conforms("WebhookDelivery", got)
	if got["id"] != dlv || got["status"] != "pending" || len(got["attempts"].([]any)) != 2 {
		t.Fatalf("redelivered %v", got)
	}
	if at, _ := got["next_attempt_at"].(json.Number).Int64(); at < before || at > time.Now().Unix() {
		t.Fatalf("next_attempt_at %d, want now", at)
	}
	stored, err := e.store.Delivery(context.Background(), a.ID, dlv)
	if err != nil || stored.Status != sg.DeliveryPending || !stored.Redelivery {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	// The delivery must be the endpoint's.
	e.post("/v1/webhook-endpoints/"+ep+"/deliveries/"+otherDlv+"/redeliver", a.Key, nil).ExpectError(t, http.StatusNotFound, "resource_missing", "delivery_id")
	e.post("/v1/webhook-endpoints/"+ep+"/deliveries/dlv_nope/redeliver", a.Key, nil).ExpectError(t, http.StatusNotFound, "resource_missing", "delivery_id")
	e.post(path, a.Key, `{"now":true}`).ExpectError(t, http.StatusBadRequest, "parameter_unknown", "now")

	e.patch("/v1/webhook-endpoints/"+other, a.Key, map[string]any{"disabled": true}).ExpectStatus(t, http.StatusOK)
	e.post("/v1/webhook-endpoints/"+other+"/deliveries/"+otherDlv+"/redeliver", a.Key, nil).ExpectError(t, http.StatusConflict, "endpoint_disabled", "")

	// An event goes again to every enabled endpoint that takes it, one
	// added since included.
	added := e.createEndpoint(a.Key, hookURL, "checkout.created")["id"].(string)
	list := e.post("/v1/events/"+evt+"/redeliver", a.Key, nil).ExpectStatus(t, http.StatusOK)
	e.conforms("WebhookDeliveryList", list.Object(t))
	want := []string{sg.DeliveryID(evt, ep), sg.DeliveryID(evt, added)} // in endpoint order: ep is older
	if ids := list.IDs(t); !slices.Equal(ids, want) || list.Object(t)["has_more"] != false {
		t.Fatalf("redelivered %s, want %v", list.Body, want)
	}
	for _, d := range list.Data(t) {
		if d["status"] != "pending" {
			t.Fatalf("redelivered %v", d)
		}
	}
	if n := len(e.get("/v1/events/"+evt+"/deliveries", a.Key).IDs(t)); n != 2 {
		t.Fatalf("%d deliveries of the event after redelivery, want 2", n)
	}
	// checkout.paid is taken only by the disabled endpoint.
	e.post("/v1/events/"+paid+"/redeliver", a.Key, nil).ExpectError(t, http.StatusConflict, "no_endpoints", "")
	e.post("/v1/events/evt_0000000000000000000000000a/redeliver", a.Key, nil).ExpectError(t, http.StatusNotFound, "resource_missing", "id")
}

func TestListWebhookEndpointsPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	var ids []string
	for range 3 {
		ids = append(ids, e.createEndpoint(a.Key, hookURL, "*")["id"].(string))
	}
	slices.Reverse(ids) // newest first
	first := e.get("/v1/webhook-endpoints?limit=2", a.Key).ExpectStatus(t, http.StatusOK)
	e.conforms("WebhookEndpointList", first.Object(t))
	if got := first.IDs(t); !slices.Equal(got, ids[:2]) || first.Object(t)["has_more"] != true {
		t.Fatalf("first page %s", first.Body)
	}
	second := e.get("/v1/webhook-endpoints?limit=2&starting_after="+ids[1], a.Key).ExpectStatus(t, http.StatusOK)
	if got := second.IDs(t); !slices.Equal(got, ids[2:]) || second.Object(t)["has_more"] != false {
		t.Fatalf("second page %s", second.Body)
	}
	back := e.get("/v1/webhook-endpoints?limit=1&ending_before="+ids[2], a.Key).ExpectStatus(t, http.StatusOK)
	if got := back.IDs(t); !slices.Equal(got, ids[1:2]) || back.Object(t)["has_more"] != true {
		t.Fatalf("page before the last %s", back.Body)
	}
	for _, tc := range []struct{ query, code, param string }{
		{"starting_after=co_0", "cursor_invalid", "starting_after"},
		{"ending_before=dlv_0", "cursor_invalid", "ending_before"},
		{"starting_after=we_a&ending_before=we_b", "cursor_conflict", "ending_before"},
		{"limit=0", "limit_invalid", "limit"},
	} {
		e.get("/v1/webhook-endpoints?"+tc.query, a.Key).ExpectError(t, http.StatusBadRequest, tc.code, tc.param)
	}
}
