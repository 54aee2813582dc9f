package api_test

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stablegate/stablegate/api"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/checkout"
)

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// documentedOps lists the document's operations as "METHOD /path".
func documentedOps(d *openAPIDoc) map[string]map[string]any {
	out := map[string]map[string]any{}
	for p, item := range d.root["paths"].(map[string]any) {
		for _, m := range httpMethods {
			if op, ok := item.(map[string]any)[m].(map[string]any); ok {
				out[strings.ToUpper(m)+" "+p] = op
			}
		}
	}
	return out
}

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// serverOps lists the server's routes as "METHOD /path" in OpenAPI form,
// without echo's internal catch-all routes for groups.
func serverOps(srv *api.Server) map[string]bool {
	out := map[string]bool{}
	for _, r := range srv.Routes() {
		if r.Method == echo.RouteNotFound {
			continue
		}
		out[r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	return out
}

func TestOpenAPIListsExactlyTheServerRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	routes := serverOps(e.srv)
	ops := documentedOps(e.doc)
	if len(routes) < 23 {
		t.Fatalf("server lists %d routes, want at least the 23 of routes(): %v", len(routes), routes)
	}
	for r := range routes {
		if _, ok := ops[r]; !ok {
			t.Errorf("route %s is registered but not in openapi.json", r)
		}
	}
	for op := range ops {
		if !routes[op] {
			t.Errorf("openapi.json documents %s, which the server does not register", op)
		}
	}
}

func TestOpenAPIDocumentIsWellFormed(t *testing.T) {
	t.Parallel()
	d := loadOpenAPI(t)
	if d.root["openapi"] != "3.0.3" {
		t.Errorf("openapi = %v, want 3.0.3", d.root["openapi"])
	}
	for _, k := range []string{"info", "paths", "components"} {
		if _, ok := d.root[k].(map[string]any); !ok {
			t.Errorf("no %s object", k)
		}
	}

	// Every $ref resolves.
	var refs int
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"]; ok {
				refs++
				s, _ := ref.(string)
				if _, err := d.resolve(s); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			for k, c := range x {
				walk(c, at+"/"+k)
			}
		case []any:
			for i, c := range x {
				walk(c, fmt.Sprintf("%s/%d", at, i))
			}
		}
	}
	walk(d.root, "#")
	if refs < 50 {
		t.Errorf("only %d $refs found; the walk is broken", refs)
	}
	if _, err := d.resolve("#/components/schemas/NoSuchSchema"); err == nil {
		t.Error("resolve accepted a dangling $ref")
	}

	// Every example validates against the schema it illustrates.
	var examples int
	var walkSchema func(s any, at string)
	walkSchema = func(s any, at string) {
		m, ok := s.(map[string]any)
		if !ok {
			return
		}
		if ex, ok := m["example"]; ok {
			examples++
			for _, problem := range d.validate(m, ex, at+" example") {
				t.Error(problem)
			}
		}
		if props, ok := m["properties"].(map[string]any); ok {
			for k, p := range props {
				walkSchema(p, at+"."+k)
			}
		}
		walkSchema(m["items"], at+"[]")
		walkSchema(m["additionalProperties"], at+".*")
	}
	for name, s := range d.root["components"].(map[string]any)["schemas"].(map[string]any) {
		walkSchema(s, name)
	}
	if examples < 10 {
		t.Errorf("only %d examples found; the walk is broken", examples)
	}

	schemes := d.root["components"].(map[string]any)["securitySchemes"].(map[string]any)
	for _, name := range []string{"secretKey", "operatorToken"} {
		s, ok := schemes[name].(map[string]any)
		if !ok || s["type"] != "http" || s["scheme"] != "bearer" {
			t.Errorf("security scheme %s is not an http bearer scheme: %v", name, schemes[name])
		}
	}

	opIDs := map[string]string{}
	for name, op := range documentedOps(d) {
		method, path, _ := strings.Cut(name, " ")
		preflight := method == http.MethodOptions
		id, _ := op["operationId"].(string)
		if id == "" {
			t.Errorf("%s has no operationId", name)
		} else if other, dup := opIDs[id]; dup {
			t.Errorf("operationId %s is used by %s and %s", id, other, name)
		}
		opIDs[id] = name

		// Path parameters: exactly the template's, all required.
		want := map[string]bool{}
		for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
			want[m[1]] = true
		}
		got := map[string]bool{}
		var headers []string
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			ps, err := d.deref(p)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			switch ps["in"] {
			case "path":
				got[ps["name"].(string)] = true
				if ps["required"] != true {
					t.Errorf("%s: path parameter %v is not required", name, ps["name"])
				}
			case "header":
				headers = append(headers, ps["name"].(string))
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: path parameters %v, want %v", name, got, want)
		}
		// The admin API keeps no idempotency records (its responses carry
		// secrets); every merchant API POST takes the header.
		if method == http.MethodPost && strings.HasPrefix(path, "/v1/") && !contains(headers, "Idempotency-Key") {
			t.Errorf("%s: POST without the Idempotency-Key header parameter", name)
		}
		if method != http.MethodPost && contains(headers, "Idempotency-Key") {
			t.Errorf("%s: Idempotency-Key documented on a %s, which ignores it", name, method)
		}

		responses := op["responses"].(map[string]any)
		if _, ok := responses["200"]; !ok && !preflight {
			t.Errorf("%s: no 200 response", name)
		}
		// Security: /v1 needs a secret key (the widget's route a
		// publishable one, its CORS preflight nothing), /admin/v1 the
		// operator token, everything else nothing.
		sec, _ := op["security"].([]any)
		wantScheme := ""
		switch {
		case path == "/v1/openapi.json" || preflight:
		case name == "POST /v1/payment-links/{id}/checkouts":
			wantScheme = "publishableKey"
		case strings.HasPrefix(path, "/v1/"):
			wantScheme = "secretKey"
		case strings.HasPrefix(path, "/admin/v1/"):
			wantScheme = "operatorToken"
		}
		gotScheme := ""
		if len(sec) == 1 {
			for k := range sec[0].(map[string]any) {
				gotScheme = k
			}
		}
		if op["security"] == nil || len(sec) > 1 || gotScheme != wantScheme {
			t.Errorf("%s: security %v, want %q", name, op["security"], wantScheme)
		}
		if strings.HasPrefix(path, "/v1/") && path != "/v1/openapi.json" && !preflight {
			for _, status := range []string{"401", "403", "429"} {
				if _, ok := responses[status]; !ok {
					t.Errorf("%s: no %s response", name, status)
				}
			}
			ok200, _ := d.deref(responses["200"])
			hs, _ := ok200["headers"].(map[string]any)
			for _, h := range []string{"X-Request-Id", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
				if _, ok := hs[h]; !ok {
					t.Errorf("%s: 200 response does not document the %s header", name, h)
				}
			}
			if method == http.MethodPost {
				if _, ok := hs["Idempotent-Replayed"]; !ok {
					t.Errorf("%s: 200 response does not document Idempotent-Replayed", name)
				}
			}
		}
	}
	tooMany, _ := d.deref(map[string]any{"$ref": "#/components/responses/TooManyRequests"})
	hs, _ := tooMany["headers"].(map[string]any)
	for _, h := range []string{"Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
		if _, ok := hs[h]; !ok {
			t.Errorf("429 response does not document %s", h)
		}
	}

	// The query parameters the list handlers read are documented.
	queries := func(op string) []string {
		var out []string
		for _, p := range documentedOps(d)[op]["parameters"].([]any) {
			ps, _ := d.deref(p)
			if ps["in"] == "query" {
				out = append(out, ps["name"].(string))
			}
		}
		sort.Strings(out)
		return out
	}
	created := []string{"created[gt]", "created[gte]", "created[lt]", "created[lte]"}
	for op, want := range map[string][]string{
		"GET /v1/checkouts":       append([]string{"limit", "starting_after", "ending_before", "status", "order_id"}, created...),
		"GET /v1/events":          append([]string{"limit", "starting_after", "ending_before", "type"}, created...),
		"GET /admin/v1/merchants": {"limit", "starting_after"},
	} {
		sort.Strings(want)
		if got := queries(op); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s query parameters %v, want %v", op, got, want)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// TestOpenAPIRequestBodiesMatchGoStructs compares each documented request
// schema with the struct its handler decodes into: the same JSON names,
// compatible types, no additional properties, nested objects included.
func TestOpenAPIRequestBodiesMatchGoStructs(t *testing.T) {
	t.Parallel()
	d := loadOpenAPI(t)
	withBody := map[string]bool{}
	for name, op := range documentedOps(d) {
		rb, ok := op["requestBody"]
		if !ok {
			continue
		}
		withBody[name] = true
		goValue, ok := api.RequestBodies[name]
		if !ok {
			t.Errorf("%s documents a request body but api.RequestBodies has no Go type for it", name)
			continue
		}
		body, err := d.deref(rb)
		if err != nil {
			t.Fatal(err)
		}
		media, ok := body["content"].(map[string]any)["application/json"].(map[string]any)
		if !ok {
			t.Errorf("%s: request body is not application/json", name)
			continue
		}
		for _, problem := range matchGoType(d, media["schema"], reflect.TypeOf(goValue), "body") {
			t.Errorf("%s: %s", name, problem)
		}
	}
	for name := range api.RequestBodies {
		if !withBody[name] {
			t.Errorf("%s decodes a body that openapi.json does not document", name)
		}
	}
}

// matchGoType reports the differences between a schema and a Go type as
// encoding/json sees it.
func matchGoType(d *openAPIDoc, schema any, typ reflect.Type, at string) []string {
	s, err := d.deref(schema)
	if err != nil {
		return []string{at + ": " + err.Error()}
	}
	if all, ok := s["allOf"].([]any); ok && len(all) == 1 && s["type"] == nil {
		return matchGoType(d, all[0], typ, at)
	}
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	want := map[reflect.Kind]string{
		reflect.String: "string", reflect.Bool: "boolean",
		reflect.Int: "integer", reflect.Int64: "integer", reflect.Int32: "integer", reflect.Uint8: "integer", reflect.Uint64: "integer",
		reflect.Struct: "object", reflect.Map: "object", reflect.Slice: "array",
	}[typ.Kind()]
	if want == "" {
		return []string{fmt.Sprintf("%s: Go kind %s has no JSON schema mapping in this test", at, typ.Kind())}
	}
	if s["type"] != want {
		return []string{fmt.Sprintf("%s: schema type %v, Go type %s is a JSON %s", at, s["type"], typ, want)}
	}
	var out []string
	switch typ.Kind() {
	case reflect.Slice:
		out = append(out, matchGoType(d, s["items"], typ.Elem(), at+"[]")...)
	case reflect.Map:
		ap, ok := s["additionalProperties"].(map[string]any)
		if !ok {
			return []string{at + ": a Go map needs additionalProperties with a schema"}
		}
		out = append(out, matchGoType(d, ap, typ.Elem(), at+".*")...)
	case reflect.Struct:
		if s["additionalProperties"] != false {
			out = append(out, at+": request object without additionalProperties: false")
		}
		props, _ := s["properties"].(map[string]any)
		fields := jsonFields(typ)
		for name, f := range fields {
			ps, ok := props[name]
			if !ok {
				out = append(out, fmt.Sprintf("%s: Go field %q is not documented", at, name))
				continue
			}
			out = append(out, matchGoType(d, ps, f, at+"."+name)...)
		}
		for name := range props {
			if _, ok := fields[name]; !ok {
				out = append(out, fmt.Sprintf("%s: documented property %q is not a field of %s", at, name, typ))
			}
		}
		for _, r := range asList(s["required"]) {
			if _, ok := fields[r]; !ok {
				out = append(out, fmt.Sprintf("%s: required property %q is not a field of %s", at, r, typ))
			}
		}
	}
	return out
}

// jsonFields returns a struct's JSON field names and types, embedded
// structs flattened as encoding/json does.
func jsonFields(typ reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range jsonFields(ft) {
				out[k] = v
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		out[tag] = f.Type
	}
	return out
}

// TestOpenAPIRequestBodiesRejectUnknownFields checks what
// additionalProperties: false promises, on every documented body.
func TestOpenAPIRequestBodiesRejectUnknownFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	for name, op := range documentedOps(e.doc) {
		if _, ok := op["requestBody"]; !ok {
			continue
		}
		method, path, _ := strings.Cut(name, " ")
		path = strings.ReplaceAll(path, "{id}", "x")
		auth := a.Key
		if strings.HasPrefix(path, "/admin/") {
			auth = operatorToken
		}
		e.do(req{Method: method, Path: path, Auth: auth, Body: `{"zz_unknown":1}`}).
			ExpectError(t, http.StatusBadRequest, "parameter_unknown", "zz_unknown")
	}
}

// TestOpenAPISecurityMatchesServer sends every documented operation without
// credentials: secured ones must answer 401, public ones must not.
func TestOpenAPISecurityMatchesServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for name, op := range documentedOps(e.doc) {
		method, path, _ := strings.Cut(name, " ")
		path = strings.ReplaceAll(path, "{id}", "x")
		r := e.do(req{Method: method, Path: path})
		sec, _ := op["security"].([]any)
		switch {
		case len(sec) == 0 && strings.Contains(name, "{"):
			// A public route of an object answers for the placeholder id
			// as for any unknown one, never asking for credentials.
			if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden || r.Status >= 500 {
				t.Errorf("%s without credentials: %d, want the answer for an unknown id", name, r.Status)
			}
		case len(sec) == 0:
			if r.Status != http.StatusOK {
				t.Errorf("%s without credentials: %d, want 200 for a public route", name, r.Status)
			}
		case strings.HasPrefix(path, "/admin/"):
			r.ExpectError(t, http.StatusUnauthorized, "operator_token_invalid", "")
		default:
			r.ExpectError(t, http.StatusUnauthorized, "api_key_missing", "")
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 without WWW-Authenticate", name)
			}
		}
	}
}

func TestOpenAPIIsServedAsCommitted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	onDisk, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, api.OpenAPI) {
		t.Fatal("api.OpenAPI differs from openapi.json; rebuild")
	}
	r := e.get("/v1/openapi.json", "").ExpectStatus(t, http.StatusOK)
	if !bytes.Equal(r.Body, onDisk) {
		t.Error("GET /v1/openapi.json does not serve openapi.json")
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
}

// TestOpenAPIDeclaresEveryCheckoutProperty creates a checkout that uses
// every optional field, cancels it, and checks that each property of the
// responses and of its events is declared by the schemas, nested objects
// included.
func TestOpenAPIDeclaresEveryCheckoutProperty(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	e.addWallet(a.Key, "base-sepolia")
	e.addWallet(a.Key, "sepolia")
	co := e.createCheckout(a.Key, map[string]any{
		"price": "49.00", "currency": "USD", "description": "A tee", "order_id": "1234",
		"metadata": map[string]string{"sku": "tee-l"}, "success_url": "https://shop.example/ok",
		"cancel_url": "https://shop.example/cancel", "customer_email": "buyer@example.com",
		"expires_in": 3600, "payment_method": map[string]string{"chain": "base-sepolia", "token": "USDC"},
	})
	canceled := e.post("/v1/checkouts/"+co["id"].(string)+"/cancel", a.Key, nil).ExpectStatus(t, http.StatusOK).Object(t)
	var seen []string
	for _, obj := range []map[string]any{co, canceled} {
		e.conforms("Checkout", obj)
		seen = append(seen, keys(obj)...)
		for _, m := range obj["payment_methods"].([]any) {
			seen = append(seen, keys(m.(map[string]any))...)
		}
	}
	// The walk saw the properties that matter, so the check is not vacuous.
	for _, p := range []string{"price", "payment_methods", "amount", "amount_base_units", "payment_uri", "address", "canceled_at", "metadata", "order_id"} {
		if !contains(seen, p) {
			t.Errorf("response has no %q; the check would not cover it", p)
		}
	}
	events := e.get("/v1/events", a.Key).ExpectStatus(t, http.StatusOK)
	e.conforms("EventList", events.Object(t))
	if n := len(events.Data(t)); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestOpenAPIValidatorCatchesUndeclaredProperties makes sure the response
// check above can fail: an undeclared property, nested or not, a wrong type
// and a float amount are all reported.
func TestOpenAPIValidatorCatchesUndeclaredProperties(t *testing.T) {
	t.Parallel()
	d := loadOpenAPI(t)
	good := func() map[string]any {
		v, err := decodeJSON([]byte(`{"id":"co_0123456789abcdefghjkmnpqrs","object":"checkout","livemode":false,"status":"open",
			"price":"49.00","currency":"USD","metadata":{},"created":1,"expires_at":2,"late_until":3,
			"payment_methods":[{"chain":"base-sepolia","token":"USDC","chain_name":"Base Sepolia","contract":"0x036CbD53842c5426634e7929541eC2318f3dCF7e","decimals":6,
			"amount":"49.00012","amount_base_units":"49000120"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		return v.(map[string]any)
	}
	if errs := d.validate(d.schema("Checkout"), good(), "co"); len(errs) > 0 {
		t.Fatalf("valid checkout rejected: %v", errs)
	}
	for name, mutate := range map[string]func(map[string]any){
		"top-level extra":   func(c map[string]any) { c["bogus"] = "x" },
		"nested extra":      func(c map[string]any) { c["payment_methods"].([]any)[0].(map[string]any)["fee"] = "1" },
		"missing required":  func(c map[string]any) { delete(c, "status") },
		"wrong status":      func(c map[string]any) { c["status"] = "done" },
		"amount as number":  func(c map[string]any) { c["payment_methods"].([]any)[0].(map[string]any)["amount"] = 49.00012 },
		"price 3 decimals":  func(c map[string]any) { c["price"] = "49.001" },
		"metadata non-text": func(c map[string]any) { c["metadata"] = map[string]any{"a": true} },
	} {
		c := good()
		mutate(c)
		if errs := d.validate(d.schema("Checkout"), c, "co"); len(errs) == 0 {
			t.Errorf("%s: not reported", name)
		}
	}
}

// TestOpenAPIDeclaresSettlementShapes drives the real settler on the real
// store: a transfer of the reserved amount moves the checkout to processing
// (payments, paid_with, amount_due, amount_received), an unmatched transfer
// becomes a payment, and a reorg reverts both, recording payment.reverted
// events whose data is the payment. Every response is checked against the
// document by the test client, so Checkout, Payment and Event stay true.
func TestOpenAPIDeclaresSettlementShapes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	wallet := e.addWallet(a.Key, "base-sepolia")["address"].(string)
	co := e.createCheckout(a.Key, map[string]any{"price": "49.00"})
	id := co["id"].(string)
	due := method(t, co, "base-sepolia")
	units, _ := new(big.Int).SetString(due["amount_base_units"].(string), 10)

	settler := checkout.NewSettler(e.store, chains.Builtin(), nil, testLogger(t))
	ctx := context.Background()
	transfer := func(i int, amount *big.Int) chains.Transfer {
		return chains.Transfer{
			Chain: "base-sepolia", TxHash: fmt.Sprintf("0x%064x", i), LogIndex: uint(i), BlockNumber: 100, BlockHash: fmt.Sprintf("0x%064x", 1000),
			BlockTime: time.Now().Unix(), From: newAddress(t), To: wallet, Token: baseSepoliaUSDC, Amount: amount,
		}
	}
	if err := settler.Transfers(ctx, "base-sepolia", []chains.Transfer{transfer(1, units), transfer(2, big.NewInt(1_000_000))}); err != nil {
		t.Fatal(err)
	}
	processing := e.get("/v1/checkouts/"+id, a.Key).ExpectStatus(t, http.StatusOK).Object(t)
	if processing["status"] != "processing" || processing["amount_due"] != due["amount"] || processing["amount_received"] != due["amount"] ||
		stringify(processing["paid_with"]) != `{"chain":"base-sepolia","token":"USDC"}` || len(processing["payments"].([]any)) != 1 {
		t.Fatalf("checkout after the transfer: %v", processing)
	}

	if err := settler.Reorg(ctx, "base-sepolia", 100); err != nil {
		t.Fatal(err)
	}
	reverted := e.get("/v1/checkouts/"+id, a.Key).ExpectStatus(t, http.StatusOK).Object(t)
	if reverted["status"] != "open" || reverted["paid_with"] != nil || len(reverted["payments"].([]any)) != 1 {
		t.Fatalf("checkout after the reorg: %v", reverted)
	}
	e.conforms("Checkout", co)
	e.conforms("Checkout", processing)
	e.conforms("Checkout", reverted)
	list := e.get("/v1/events?limit=100", a.Key).ExpectStatus(t, http.StatusOK)
	e.conforms("EventList", list.Object(t))
	events := list.Data(t)
	var types []string
	payments := map[string]map[string]any{}
	for _, ev := range events {
		types = append(types, ev["type"].(string))
		if data := ev["data"].(map[string]any); data["object"] == "payment" {
			payments[data["amount_base_units"].(string)] = data
		}
	}
	slices.Sort(types)
	if want := []string{"checkout.created", "checkout.processing", "payment.reverted", "payment.reverted"}; !slices.Equal(types, want) {
		t.Fatalf("event types %v, want %v", types, want)
	}
	matched, unmatched := payments[units.String()], payments["1000000"]
	if matched["checkout"] != id || matched["status"] != "reverted" || matched["amount"] != due["amount"] || matched["to"] != wallet {
		t.Fatalf("matched payment %v", matched)
	}
	if _, ok := unmatched["checkout"]; ok || unmatched["amount"] != "1.00" || unmatched["status"] != "reverted" {
		t.Fatalf("unmatched payment %v", unmatched)
	}
}

// TestOpenAPIValidatorOneOf: an event's data must be exactly a checkout or
// a payment.
func TestOpenAPIValidatorOneOf(t *testing.T) {
	t.Parallel()
	d := loadOpenAPI(t)
	event := func(data string) any {
		v, err := decodeJSON([]byte(`{"id":"evt_0123456789abcdefghjkmnpqrs","object":"event","type":"payment.reverted","created":1,"livemode":false,"data":` + data + `}`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	payment := `{"id":"pay_0123456789abcdefghjkmnpqrs","object":"payment","livemode":false,"status":"reverted","chain":"base-sepolia","token":"USDC",
		"contract":"0x036CbD53842c5426634e7929541eC2318f3dCF7e","decimals":6,"tx_hash":"0x1","log_index":0,"block_number":1,"block_hash":"0x2",
		"block_time":1,"from":"0x3","to":"0x4","created":1,"amount":"1.00","amount_base_units":"1000000"}`
	if errs := d.validate(d.schema("Event"), event(payment), "event"); len(errs) > 0 {
		t.Fatalf("valid payment event rejected: %v", errs)
	}
	for name, data := range map[string]string{
		"neither":       `{"id":"x","object":"wallet"}`,
		"payment extra": strings.Replace(payment, `"amount":"1.00"`, `"amount":"1.00","fee":"0.01"`, 1),
		"amount float":  strings.Replace(payment, `"amount":"1.00"`, `"amount":1.00`, 1),
		"null":          `null`,
	} {
		if errs := d.validate(d.schema("Event"), event(data), "event"); len(errs) == 0 {
			t.Errorf("%s: not reported", name)
		}
	}
}
