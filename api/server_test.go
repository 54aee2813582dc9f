package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/api"
	"github.com/stablegate/stablegate/catalog"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/merchant"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/store/storetest"
	"github.com/stablegate/stablegate/webhooks"
)

// operatorToken is the admin token of every test server.
const operatorToken = "op_test"

// env is one API server over the real HTTP stack and the real Redis, under
// a key prefix of its own so tests run in parallel.
type env struct {
	t         *testing.T
	store     *store.Store
	merchants *merchant.Service
	checkouts *checkout.Service
	webhooks  *webhooks.Endpoints
	pages     *checkout.Public
	catalog   *catalog.Service
	clock     *monoClock // the services' clock
	srv       *api.Server
	ts        *httptest.Server
	doc       *openAPIDoc
}

// newEnv starts a server with DefaultConfig, the test operator token and a
// rate limit high enough not to interfere; tweak adjusts the config.
func newEnv(t *testing.T, tweak ...func(*api.Config, *api.Deps)) *env {
	t.Helper()
	st := storetest.New(t)
	reg := chains.Builtin()
	mono := &monoClock{}
	clock := mono.Now
	log := testLogger(t)
	e := &env{
		t:         t,
		clock:     mono,
		store:     st,
		merchants: merchant.New(st, reg, clock),
		checkouts: checkout.New(st, reg, clock, log),
		webhooks:  webhooks.NewEndpoints(st, offlineGuard(t), clock, webhooks.DefaultEndpointsConfig()),
		doc:       loadOpenAPI(t),
	}
	cfg := api.DefaultConfig()
	cfg.OperatorToken = operatorToken
	cfg.RateLimit = 10_000
	deps := api.Deps{
		Checkouts: e.checkouts, Merchants: e.merchants, Events: st, Idempotency: st, Ready: st,
		Payments: checkout.NewSettler(st, reg, clock, log), Webhooks: e.webhooks, Log: log,
	}
	e.pages = checkout.NewPublic(st, e.checkouts, checkout.DefaultPublicConfig())
	deps.Pages = e.pages
	e.catalog = catalog.New(st, e.checkouts, reg, clock, catalog.DefaultConfig(), log)
	deps.Catalog = e.catalog
	for _, f := range tweak {
		f(&cfg, &deps)
	}
	e.srv = api.New(cfg, deps)
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.ts.Close)
	return e
}

// offlineGuard is the webhook URL guard of the test server: it allows
// nothing beyond what the gateway allows by default, and resolves names
// from /etc/hosts only, so no test sends a DNS query off the machine. allow
// is the operator's allow-list.
func offlineGuard(t testing.TB, allow ...string) *webhooks.Guard {
	t.Helper()
	g, err := webhooks.NewGuard(allow...)
	if err != nil {
		t.Fatal(err)
	}
	g.Resolver = &net.Resolver{
		PreferGo: true,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("tests send no DNS queries")
		},
	}
	return g
}

// monoClock is the wall clock made strictly increasing by at least a
// millisecond per call, so ids (millisecond time + random) of objects created
// one after another sort in creation order and pagination is predictable.
type monoClock struct {
	mu   sync.Mutex
	last time.Time
}

func (c *monoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if next := c.last.Add(time.Millisecond); now.Before(next) {
		now = next
	}
	c.last = now
	return now
}

// testLogger sends the server's errors to the test log until the test ends.
func testLogger(t *testing.T) *slog.Logger {
	w := &testLogWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelError}))
}

type testLogWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log("server: " + strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// response is an HTTP response read in full.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Object decodes the body as a JSON object, numbers kept exact.
func (r *response) Object(t testing.TB) map[string]any {
	t.Helper()
	v, err := decodeJSON(r.Body)
	if err != nil {
		t.Fatalf("response body is not JSON: %v\n%s", err, r.Body)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("response body is not a JSON object: %s", r.Body)
	}
	return m
}

// Data returns the data array of a list response.
func (r *response) Data(t testing.TB) []map[string]any {
	t.Helper()
	obj := r.Object(t)
	if obj["object"] != "list" {
		t.Fatalf("not a list: %s", r.Body)
	}
	raw, ok := obj["data"].([]any)
	if !ok {
		t.Fatalf("list without data array: %s", r.Body)
	}
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		out[i] = x.(map[string]any)
	}
	return out
}

// IDs returns the ids of a list response's data, in order.
func (r *response) IDs(t testing.TB) []string {
	t.Helper()
	var ids []string
	for _, o := range r.Data(t) {
		ids = append(ids, o["id"].(string))
	}
	return ids
}

// ExpectStatus fails the test unless the status is want.
func (r *response) ExpectStatus(t testing.TB, want int) *response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body: %s", r.Status, want, r.Body)
	}
	return r
}

// ExpectError checks status, error.code and error.param exactly, and that
// error.request_id is the X-Request-Id header.
func (r *response) ExpectError(t testing.TB, status int, code, param string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	e := r.Error(t)
	if e.Code != code || e.Param != param {
		t.Fatalf("error code=%q param=%q, want code=%q param=%q; body: %s", e.Code, e.Param, code, param, r.Body)
	}
	if e.RequestID == "" || e.RequestID != r.Header.Get("X-Request-Id") {
		t.Fatalf("error.request_id %q differs from X-Request-Id %q", e.RequestID, r.Header.Get("X-Request-Id"))
	}
	if e.Message == "" {
		t.Fatalf("error without message: %s", r.Body)
	}
}

type errorDetail struct {
	Type      string `json:"type"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Param     string `json:"param"`
	RequestID string `json:"request_id"`
}

// Error decodes the error body strictly.
func (r *response) Error(t testing.TB) errorDetail {
	t.Helper()
	var body struct {
		Error *errorDetail `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Error == nil {
		t.Fatalf("not an error body (%v): %s", err, r.Body)
	}
	return *body.Error
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

// req is one request to send.
type req struct {
	Method string
	Path   string
	Auth   string // bearer token; empty sends no Authorization header
	Body   any    // nil: no body; string or []byte: raw; io.Reader: streamed (chunked); else JSON-encoded
	Header map[string]string
}

// do sends r to the server and checks the response against the OpenAPI
// document: its status must be documented for the operation and its body
// must conform to the documented schema, so every test keeps the document
// true.
func (e *env) do(r req) *response {
	e.t.Helper()
	return e.send(e.t, r)
}

func (e *env) send(t testing.TB, r req) *response {
	t.Helper()
	out, err := e.roundTrip(r)
	if err != nil {
		t.Fatal(err)
	}
	e.checkDoc(t, r, out)
	return out
}

// checkDoc records a response that openapi.json does not describe. The
// mismatches of all tests are reported together, once each, by TestMain, so
// one drift between the code and the document reads as one problem instead
// of failing every test that happens to touch it; the TestOpenAPI* tests
// check the schemas explicitly and fail by name.
func (e *env) checkDoc(t testing.TB, r req, out *response) {
	t.Helper()
	errs := e.doc.checkResponse(r.Method, r.Path, out)
	if len(errs) == 0 {
		return
	}
	template, _ := e.doc.operation(r.Method, r.Path)
	mismatches.mu.Lock()
	defer mismatches.mu.Unlock()
	for _, msg := range errs {
		key := fmt.Sprintf("%s %s -> %d: %s", r.Method, template, out.Status, arrayIndex.ReplaceAllString(msg, "[i]"))
		if mismatches.count[key] == 0 {
			mismatches.example[key] = fmt.Sprintf("%s (first seen in %s)", out.Body, t.Name())
		}
		mismatches.count[key]++
	}
}

var arrayIndex = regexp.MustCompile(`\[[0-9]+\]`)

// mismatches collects responses that contradict openapi.json.
var mismatches = struct {
	mu      sync.Mutex
	count   map[string]int
	example map[string]string
}{count: map[string]int{}, example: map[string]string{}}

// TestMain fails the run when any response of any test contradicted
// openapi.json, listing each distinct problem once.
func TestMain(m *testing.M) {
	code := m.Run()
	mismatches.mu.Lock()
	defer mismatches.mu.Unlock()
	if len(mismatches.count) > 0 {
		keys := make([]string, 0, len(mismatches.count))
		for k := range mismatches.count {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(os.Stderr, "--- FAIL: responses that openapi.json does not describe (%d distinct problems)\n", len(keys))
		for _, k := range keys {
			fmt.Fprintf(os.Stderr, "    %s  [%d responses]\n        example: %.600s\n", k, mismatches.count[k], mismatches.example[k])
		}
		if code == 0 {
			fmt.Println("FAIL")
			code = 1
		}
	}
	os.Exit(code)
}

// roundTrip sends r and reads the whole response; safe from any goroutine.
func (e *env) roundTrip(r req) (*response, error) {
	var body io.Reader
	contentType := ""
	switch b := r.Body.(type) {
	case nil:
	case string:
		body, contentType = strings.NewReader(b), "application/json"
	case []byte:
		body, contentType = bytes.NewReader(b), "application/json"
	case io.Reader:
		body, contentType = b, "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body, contentType = bytes.NewReader(j), "application/json"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, r.Method, e.ts.URL+r.Path, body)
	if err != nil {
		return nil, fmt.Errorf("new request: %w", err)
	}
	if contentType != "" {
		hr.Header.Set("Content-Type", contentType)
	}
	if r.Auth != "" {
		hr.Header.Set("Authorization", "Bearer "+r.Auth)
	}
	for k, v := range r.Header {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	res, err := e.ts.Client().Do(hr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", r.Method, r.Path, err)
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

// with returns the env reporting to t, for subtests.
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// Shorthands.

func (e *env) get(path, auth string) *response {
	e.t.Helper()
	return e.do(req{Method: http.MethodGet, Path: path, Auth: auth})
}

func (e *env) post(path, auth string, body any) *response {
	e.t.Helper()
	return e.do(req{Method: http.MethodPost, Path: path, Auth: auth, Body: body})
}

// tenant is a merchant created through the admin API with a test secret key.
type tenant struct {
	ID    string
	Key   string // secret
	KeyID string
}

func (e *env) newMerchant(name string) tenant {
	e.t.Helper()
	r := e.post("/admin/v1/merchants", operatorToken, map[string]any{"name": name}).ExpectStatus(e.t, http.StatusOK)
	obj := r.Object(e.t)
	m := obj["merchant"].(map[string]any)
	k := obj["api_key"].(map[string]any)
	return tenant{ID: m["id"].(string), Key: k["secret"].(string), KeyID: k["id"].(string)}
}

// newKey creates another key for a merchant: kind "secret" or "publishable".
func (e *env) newKey(merchantID, kind string, live bool) (secret, id string) {
	e.t.Helper()
	r := e.post("/admin/v1/merchants/"+merchantID+"/keys", operatorToken, map[string]any{"kind": kind, "livemode": live}).ExpectStatus(e.t, http.StatusOK)
	obj := r.Object(e.t)
	return obj["secret"].(string), obj["id"].(string)
}

// addWallet registers a fresh EIP-55 address on chain and returns the wallet.
func (e *env) addWallet(key, chain string) map[string]any {
	e.t.Helper()
	addr := newAddress(e.t)
	w := e.post("/v1/wallets", key, map[string]any{"chain": chain, "address": addr}).ExpectStatus(e.t, http.StatusOK).Object(e.t)
	if w["address"] != addr {
		e.t.Fatalf("wallet address %v, want %s", w["address"], addr)
	}
	return w
}

// createCheckout creates a checkout and returns it.
func (e *env) createCheckout(key string, body map[string]any) map[string]any {
	e.t.Helper()
	return e.post("/v1/checkouts", key, body).ExpectStatus(e.t, http.StatusOK).Object(e.t)
}

// count returns how many objects a list route holds for key (at most 100).
func (e *env) count(path, key string) int {
	e.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	r := e.get(path+sep+"limit=100", key).ExpectStatus(e.t, http.StatusOK)
	if r.Object(e.t)["has_more"] != false {
		e.t.Fatalf("count: more than 100 objects at %s", path)
	}
	return len(r.Data(e.t))
}

// newAddress returns a fresh EIP-55 checksummed address.
func newAddress(t testing.TB) string {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return crypto.PubkeyToAddress(k.PublicKey).Hex()
}

// OpenAPI document access and validation.

type openAPIDoc struct {
	root  map[string]any
	paths []pathTemplate
	mu    sync.Mutex
	res   map[string]*regexp.Regexp
}

type pathTemplate struct {
	template string
	re       *regexp.Regexp
}

var (
	docOnce sync.Once
	docVal  *openAPIDoc
	docErr  error
)

func loadOpenAPI(t testing.TB) *openAPIDoc {
	t.Helper()
	docOnce.Do(func() {
		v, err := decodeJSON(api.OpenAPI)
		if err != nil {
			docErr = fmt.Errorf("openapi.json: %w", err)
			return
		}
		root, ok := v.(map[string]any)
		if !ok {
			docErr = fmt.Errorf("openapi.json is not an object")
			return
		}
		d := &openAPIDoc{root: root, res: map[string]*regexp.Regexp{}}
		paths, _ := root["paths"].(map[string]any)
		for p := range paths {
			re := "^" + regexp.MustCompile(`\\\{[^/]+\\\}`).ReplaceAllString(regexp.QuoteMeta(p), `[^/]+`) + "$"
			d.paths = append(d.paths, pathTemplate{template: p, re: regexp.MustCompile(re)})
		}
		// Literal paths before templated ones, so /v1/openapi.json is never
		// taken for a template.
		sort.Slice(d.paths, func(i, j int) bool {
			ci, cj := strings.Count(d.paths[i].template, "{"), strings.Count(d.paths[j].template, "{")
			if ci != cj {
				return ci < cj
			}
			return d.paths[i].template < d.paths[j].template
		})
		docVal = d
	})
	if docErr != nil {
		t.Fatal(docErr)
	}
	return docVal
}

// operation returns the documented operation for a concrete request path.
func (d *openAPIDoc) operation(method, path string) (template string, op map[string]any) {
	path, _, _ = strings.Cut(path, "?")
	for _, p := range d.paths {
		if p.re.MatchString(path) {
			item := d.root["paths"].(map[string]any)[p.template].(map[string]any)
			op, _ := item[strings.ToLower(method)].(map[string]any)
			return p.template, op
		}
	}
	return "", nil
}

// resolve follows a local $ref ("#/components/schemas/Checkout").
func (d *openAPIDoc) resolve(ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("$ref %q is not local", ref)
	}
	var cur any = d.root
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not inside an object", ref, part)
		}
		if cur, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %q does not resolve: no %q", ref, part)
		}
	}
	return cur, nil
}

// deref resolves v while it is a $ref object.
func (d *openAPIDoc) deref(v any) (map[string]any, error) {
	for range 16 {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("expected an object, got %T", v)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		if v, _ = d.resolve(ref); v == nil {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
	}
	return nil, fmt.Errorf("$ref chain too long")
}

// schema returns a component schema by name.
func (d *openAPIDoc) schema(name string) map[string]any {
	s, err := d.deref(map[string]any{"$ref": "#/components/schemas/" + name})
	if err != nil {
		panic(err)
	}
	return s
}

// checkResponse checks a response against the documented operation. Routes
// the document does not know (deliberate 404s) are not checked here.
func (d *openAPIDoc) checkResponse(method, path string, r *response) []string {
	template, op := d.operation(method, path)
	if op == nil {
		return nil
	}
	var errs []string
	if r.Header.Get("X-Request-Id") == "" {
		errs = append(errs, "no X-Request-Id header")
	}
	responses, _ := op["responses"].(map[string]any)
	spec, ok := responses[fmt.Sprint(r.Status)]
	if !ok {
		return append(errs, fmt.Sprintf("status %d is not documented for %s %s", r.Status, method, template))
	}
	resp, err := d.deref(spec)
	if err != nil {
		return append(errs, err.Error())
	}
	content, _ := resp["content"].(map[string]any)
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if content == nil && ct == "" && len(r.Body) == 0 {
		return errs // a documented response without a body (303, 304)
	}
	media, ok := content[strings.TrimSpace(ct)].(map[string]any)
	if !ok {
		return append(errs, fmt.Sprintf("content type %q is not documented for %d", ct, r.Status))
	}
	if ct != "application/json" {
		return errs
	}
	v, err := decodeJSON(r.Body)
	if err != nil {
		return append(errs, "body is not JSON: "+err.Error())
	}
	return append(errs, d.validate(media["schema"], v, "body")...)
}

// validate checks value against schema: types, required and declared
// properties (a property a schema does not declare is an error unless it
// allows additional properties with a schema), enums, patterns, lengths
// and bounds.
func (d *openAPIDoc) validate(schema, value any, at string) []string {
	s, err := d.deref(schema)
	if err != nil {
		return []string{at + ": " + err.Error()}
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			errs = append(errs, d.validate(sub, value, at)...)
		}
	}
	if one, ok := s["oneOf"].([]any); ok {
		// With a discriminator the named schema alone decides.
		if disc, ok := s["discriminator"].(map[string]any); ok {
			obj, _ := value.(map[string]any)
			name, _ := obj[fmt.Sprint(disc["propertyName"])].(string)
			mapping, _ := disc["mapping"].(map[string]any)
			if ref, ok := mapping[name].(string); ok {
				return append(errs, d.validate(map[string]any{"$ref": ref}, value, at)...)
			}
			return append(errs, fmt.Sprintf("%s: discriminator %v value %q has no mapping", at, disc["propertyName"], name))
		}
		var matched int
		var why []string
		for i, sub := range one {
			if sub := d.validate(sub, value, fmt.Sprintf("%s(oneOf %d)", at, i)); len(sub) == 0 {
				matched++
			} else {
				why = append(why, sub...)
			}
		}
		if matched != 1 {
			errs = append(errs, fmt.Sprintf("%s: matches %d of the oneOf schemas, want exactly 1", at, matched))
			if matched == 0 {
				errs = append(errs, why...)
			}
		}
	}
	if value == nil {
		if s["nullable"] != true {
			fail("null is not allowed")
		}
		return errs
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range enum {
			if fmt.Sprint(x) == fmt.Sprint(value) {
				found = true
			}
		}
		if !found {
			fail("%v is not one of %v", value, enum)
		}
	}
	switch s["type"] {
	case "object":
		obj, ok := value.(map[string]any)
		if !ok {
			fail("want an object, got %T", value)
			return errs
		}
		props, _ := s["properties"].(map[string]any)
		for _, r := range asList(s["required"]) {
			if _, ok := obj[r]; !ok {
				fail("required property %q is missing", r)
			}
		}
		for k, v := range obj {
			if ps, ok := props[k]; ok {
				errs = append(errs, d.validate(ps, v, at+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case map[string]any:
				errs = append(errs, d.validate(ap, v, at+"."+k)...)
			case bool:
				if !ap {
					fail("property %q is not declared", k)
				}
			default:
				fail("property %q is not declared", k)
			}
		}
	case "array":
		arr, ok := value.([]any)
		if !ok {
			fail("want an array, got %T", value)
			return errs
		}
		for i, x := range arr {
			errs = append(errs, d.validate(s["items"], x, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case "string":
		str, ok := value.(string)
		if !ok {
			fail("want a string, got %T (%v)", value, value)
			return errs
		}
		if p, ok := s["pattern"].(string); ok && !d.regexp(p).MatchString(str) {
			fail("%q does not match %s", str, p)
		}
		if n, ok := number(s["minLength"]); ok && float64(len(str)) < n {
			fail("%q is shorter than %v", str, n)
		}
		if n, ok := number(s["maxLength"]); ok && float64(len(str)) > n {
			fail("%q is longer than %v", str, n)
		}
	case "integer", "number":
		n, ok := value.(json.Number)
		if !ok {
			fail("want a number, got %T (%v)", value, value)
			return errs
		}
		if s["type"] == "integer" {
			if _, err := n.Int64(); err != nil {
				fail("%s is not an integer", n)
			}
		}
		f, _ := n.Float64()
		if lo, ok := number(s["minimum"]); ok && f < lo {
			fail("%s is below %v", n, lo)
		}
		if hi, ok := number(s["maximum"]); ok && f > hi {
			fail("%s is above %v", n, hi)
		}
	case "boolean":
		if _, ok := value.(bool); !ok {
			fail("want a boolean, got %T", value)
		}
	case nil:
		_, all := s["allOf"]
		_, one := s["oneOf"]
		if !all && !one {
			fail("schema has no type")
		}
	default:
		fail("unknown schema type %v", s["type"])
	}
	return errs
}

func (d *openAPIDoc) regexp(p string) *regexp.Regexp {
	d.mu.Lock()
	defer d.mu.Unlock()
	re, ok := d.res[p]
	if !ok {
		re = regexp.MustCompile(p)
		d.res[p] = re
	}
	return re
}

func asList(v any) []string {
	xs, _ := v.([]any)
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// conforms fails the test unless value matches the named component schema.
func (e *env) conforms(name string, value any) {
	e.t.Helper()
	if errs := e.doc.validate(map[string]any{"$ref": "#/components/schemas/" + name}, value, name); len(errs) > 0 {
		e.t.Errorf("does not conform to %s:\n  %s", name, strings.Join(errs, "\n  "))
	}
}

// principal is the test-mode principal of a tenant's key, for calling
// services directly.
func (tn tenant) principal() sg.Principal {
	return sg.Principal{MerchantID: tn.ID, KeyID: tn.KeyID, Kind: sg.KeySecret}
}

func jsonNumber(s string) json.Number { return json.Number(s) }

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
