package api_test

import (
	"crypto/sha512"
	"encoding/base64"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

const shopOrigin = "http://localhost:3000"

// widgetMerchant is a merchant with a test wallet, a payment link, a
// publishable key and shopOrigin allowed.
func widgetMerchant(e *env) (m tenant, pk, link string) {
	e.t.Helper()
	m = e.newMerchant("Widget shop")
	e.addWallet(m.Key, "base-sepolia")
	e.do(req{Method: http.MethodPatch, Path: "/v1/merchant", Auth: m.Key, Body: map[string]any{
		"settings": map[string]any{"allowed_origins": []string{shopOrigin + "/"}},
	}}).ExpectStatus(e.t, http.StatusOK)
	pk, _ = e.newKey(m.ID, "publishable", false)
	link = e.createLink(m.Key, map[string]any{"price": "12.00", "description": "Widget order"})["id"].(string)
	return m, pk, link
}

// TestPublishableKeyOnlyStartsWidgetCheckouts sends a publishable key to
// every /v1 route: all answer 403 but the widget's.
func TestPublishableKeyOnlyStartsWidgetCheckouts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, pk, link := widgetMerchant(e)
	n := 0
	for op := range serverOps(e.srv) {
		method, path, _ := strings.Cut(op, " ")
		if !strings.HasPrefix(path, "/v1/") || path == "/v1/openapi.json" || method == http.MethodOptions {
			continue
		}
		path = strings.NewReplacer("{id}", link, "{delivery_id}", "dlv_x").Replace(path)
		r := e.do(req{Method: method, Path: path, Auth: pk})
		if op == "POST /v1/payment-links/{id}/checkouts" {
			r.ExpectStatus(t, http.StatusOK)
			continue
		}
		r.ExpectError(t, http.StatusForbidden, "publishable_key_not_allowed", "")
		n++
	}
	if n < 30 {
		t.Fatalf("only %d routes checked", n)
	}
	e.do(req{Method: http.MethodGet, Path: "/admin/v1/merchants", Auth: pk}).ExpectError(t, http.StatusUnauthorized, "operator_token_invalid", "")
}

func TestWidgetCheckout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m, pk, link := widgetMerchant(e)
	path := "/v1/payment-links/" + link + "/checkouts"

	r := e.do(req{Method: http.MethodPost, Path: path, Auth: pk, Header: map[string]string{"Origin": shopOrigin}}).ExpectStatus(t, http.StatusOK)
	got := r.Object(t)
	id, _ := got["id"].(string)
	if !strings.HasPrefix(id, "co_") || got["url"] != e.ts.URL+"/pay/"+id || len(got) != 2 {
		t.Fatalf("widget checkout %v", got)
	}
	if h := r.Header.Get("Access-Control-Allow-Origin"); h != shopOrigin {
		t.Errorf("Access-Control-Allow-Origin %q, want %q", h, shopOrigin)
	}
	co := e.get("/v1/checkouts/"+id, m.Key).ExpectStatus(t, http.StatusOK).Object(t)
	if co["price"] != "12.00" || co["metadata"].(map[string]any)["payment_link"] != link {
		t.Errorf("checkout opened from the link: %v", co)
	}
	if uses := e.get("/v1/payment-links/"+link, m.Key).Object(t)["uses"]; uses != jsonNumber("1") {
		t.Errorf("link uses %v, want 1", uses)
	}

	// A server-side call (no Origin) passes; it is not a browser page.
	r = e.do(req{Method: http.MethodPost, Path: path, Auth: pk}).ExpectStatus(t, http.StatusOK)
	if h := r.Header.Get("Access-Control-Allow-Origin"); h != "" {
		t.Errorf("Access-Control-Allow-Origin %q without Origin", h)
	}
	for _, c := range []struct{ name, origin string }{
		{"another site", "https://evil.example"},
		{"another port", "http://localhost:3001"},
		{"sandboxed frame", "null"},
	} {
		r := e.do(req{Method: http.MethodPost, Path: path, Auth: pk, Header: map[string]string{"Origin": c.origin}})
		r.ExpectError(t, http.StatusForbidden, "origin_not_allowed", "Origin")
		if h := r.Header.Get("Access-Control-Allow-Origin"); h != "" {
			t.Errorf("%s: Access-Control-Allow-Origin %q", c.name, h)
		}
	}

	// The link's own rules apply.
	e.do(req{Method: http.MethodPatch, Path: "/v1/payment-links/" + link, Auth: m.Key, Body: map[string]any{"active": false}}).ExpectStatus(t, http.StatusOK)
	e.do(req{Method: http.MethodPost, Path: path, Auth: pk}).ExpectError(t, http.StatusConflict, "link_inactive", "")
	// A live key does not see test links.
	live, _ := e.newKey(m.ID, "publishable", true)
	e.do(req{Method: http.MethodPost, Path: path, Auth: live}).ExpectError(t, http.StatusNotFound, "resource_missing", "id")

	// The preflight lets the browser send; the POST decides who reads.
	pre := e.do(req{Method: http.MethodOptions, Path: path, Header: map[string]string{
		"Origin": "https://any.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization",
	}}).ExpectStatus(t, http.StatusNoContent)
	if pre.Header.Get("Access-Control-Allow-Origin") != "https://any.example" || !strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight headers %v", pre.Header)
	}
}

func TestAllowedOriginsSetting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.newMerchant("Origins")
	live, _ := e.newKey(m.ID, "secret", true)
	many := make([]string, 21)
	for i := range many {
		many[i] = "https://s" + strings.Repeat("x", i) + ".example"
	}
	for _, c := range []struct {
		name    string
		key     string
		origins []string
		want    []any
		code    string
	}{
		{"normalized", m.Key, []string{"HTTPS://Shop.Example:443/", "https://shop.example", "http://127.0.0.1:8080"}, []any{"https://shop.example", "http://127.0.0.1:8080"}, ""},
		{"cleared", m.Key, []string{}, nil, ""},
		{"path", m.Key, []string{"https://shop.example/pay"}, nil, "allowed_origin_invalid"},
		{"wildcard", m.Key, []string{"https://*.shop.example"}, nil, "allowed_origin_invalid"},
		{"http off loopback", m.Key, []string{"http://shop.example"}, nil, "allowed_origin_invalid"},
		{"not a URL", m.Key, []string{"shop.example"}, nil, "allowed_origin_invalid"},
		{"too many", m.Key, many, nil, "allowed_origins_invalid"},
		{"http in live mode", live, []string{"http://localhost:3000"}, nil, "allowed_origin_insecure"},
		{"https in live mode", live, []string{"https://shop.example"}, []any{"https://shop.example"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.with(t).do(req{Method: http.MethodPatch, Path: "/v1/merchant", Auth: c.key, Body: map[string]any{
				"settings": map[string]any{"allowed_origins": c.origins},
			}})
			if c.code != "" {
				r.ExpectError(t, http.StatusBadRequest, c.code, "settings.allowed_origins")
				return
			}
			got, _ := r.ExpectStatus(t, http.StatusOK).Object(t)["settings"].(map[string]any)["allowed_origins"].([]any)
			if len(got) != len(c.want) || (len(got) > 0 && !equalAny(got, c.want)) {
				t.Fatalf("allowed_origins %v, want %v", got, c.want)
			}
		})
	}
}

func equalAny(a, b []any) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

var configAttr = regexp.MustCompile(`data-config="([^"]*)"`)

// TestEmbeddedPage: only an allowed origin may frame the hosted page, and
// only it is told the page's messages.
func TestEmbeddedPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m, _, _ := widgetMerchant(e)
	id := e.createCheckout(m.Key, map[string]any{"price": "5.00"})["id"].(string)
	for _, c := range []struct {
		name, query, ancestors, xfo, embed string
	}{
		{"own page", "", "'none'", "DENY", ""},
		{"allowed origin", "?embed=1&origin=" + shopOrigin, shopOrigin, "", shopOrigin},
		{"other origin", "?embed=1&origin=https://evil.example", "'none'", "DENY", ""},
		{"injection", "?embed=1&origin=" + shopOrigin + "%3B%20script-src%20*", "'none'", "DENY", ""},
		{"origin without embed", "?origin=" + shopOrigin, "'none'", "DENY", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.with(t).get("/pay/"+id+c.query, "").ExpectStatus(t, http.StatusOK)
			want := strings.TrimSuffix(pageCSP, "frame-ancestors 'none'") + "frame-ancestors " + c.ancestors
			if got := r.Header.Get("Content-Security-Policy"); got != want {
				t.Errorf("CSP %q, want %q", got, want)
			}
			if got := r.Header.Get("X-Frame-Options"); got != c.xfo {
				t.Errorf("X-Frame-Options %q, want %q", got, c.xfo)
			}
			cfg := configAttr.FindSubmatch(r.Body)
			if cfg == nil || !strings.Contains(html.UnescapeString(string(cfg[1])), `"embed_origin":"`+c.embed+`"`) {
				t.Errorf("page config %s, want embed_origin %q", cfg, c.embed)
			}
			if c.embed != "" && !strings.Contains(string(r.Body), `action="/pay/`+id+`/method?embed=1&amp;origin=`) {
				t.Errorf("the method forms leave the embed mode:\n%s", r.Body)
			}
		})
	}
}

func TestWidgetScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var body []byte
	for path, cache := range map[string]string{"/widget.js": "public, max-age=300", "/widget/v1.js": "public, max-age=31536000, immutable"} {
		r := e.do(req{Method: http.MethodGet, Path: path, Header: map[string]string{"Accept-Encoding": "identity"}}).ExpectStatus(t, http.StatusOK)
		for k, want := range map[string]string{
			"Cache-Control": cache, "Access-Control-Allow-Origin": "*", "Content-Type": "text/javascript; charset=utf-8",
		} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("%s %s: %q, want %q", path, k, got, want)
			}
		}
		if !strings.Contains(string(r.Body), "Stablegate") {
			t.Fatalf("%s is not the widget", path)
		}
		body = r.Body
	}
	sum := sha512.Sum384(body)
	want := "sha384-" + base64.StdEncoding.EncodeToString(sum[:]) + "\n"
	if got := string(e.get("/widget/v1.js.sri", "").ExpectStatus(t, http.StatusOK).Body); got != want {
		t.Errorf("integrity %q, want %q", got, want)
	}
}
