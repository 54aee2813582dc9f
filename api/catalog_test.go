package api_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/stablegate/stablegate/api"
)

func (e *env) createProduct(key string, body map[string]any) map[string]any {
	e.t.Helper()
	return e.post("/v1/products", key, body).ExpectStatus(e.t, http.StatusOK).Object(e.t)
}

func (e *env) createLink(key string, body map[string]any) map[string]any {
	e.t.Helper()
	return e.post("/v1/payment-links", key, body).ExpectStatus(e.t, http.StatusOK).Object(e.t)
}

// visit requests a public link page as a browser would, without following
// the redirect, and checks the response against the document.
func (e *env) visit(method, path string, header map[string]string) *response {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, method, e.ts.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		hr.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := &response{Status: res.StatusCode, Header: res.Header, Body: b}
	e.checkDoc(e.t, req{Method: method, Path: path}, out)
	return out
}

// openedCheckout follows a 303 from a link to the checkout it opened.
func (e *env) openedCheckout(r *response, key string) map[string]any {
	e.t.Helper()
	r.ExpectStatus(e.t, http.StatusSeeOther)
	loc := r.Header.Get("Location")
	id, ok := strings.CutPrefix(loc, "/pay/")
	if !ok || !regexp.MustCompile(`^co_[0-9a-z]{26}$`).MatchString(id) {
		e.t.Fatalf("Location %q is not a hosted page", loc)
	}
	return e.get("/v1/checkouts/"+id, key).ExpectStatus(e.t, http.StatusOK).Object(e.t)
}

func TestProductsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	p := e.createProduct(a.Key, map[string]any{
		"name": "Tee", "description": "Organic cotton", "image_url": "https://cdn.example/tee.png", "price": "25", "metadata": map[string]string{"sku": "tee-l"},
	})
	id := p["id"].(string)
	if p["object"] != "product" || p["price"] != "25.00" || p["currency"] != "USD" || p["active"] != true || p["livemode"] != false || p["name"] != "Tee" {
		t.Fatalf("created %v", p)
	}
	e.conforms("Product", p)
	if got := e.get("/v1/products/"+id, a.Key).ExpectStatus(t, http.StatusOK).Object(t); stringify(got) != stringify(p) {
		t.Fatalf("read back %v, want %v", got, p)
	}
	upd := e.patch("/v1/products/"+id, a.Key, map[string]any{"active": false, "metadata": map[string]string{"sku": "", "size": "L"}}).ExpectStatus(t, http.StatusOK).Object(t)
	if upd["active"] != false || stringify(upd["metadata"]) != `{"size":"L"}` || upd["price"] != "25.00" {
		t.Fatalf("updated %v", upd)
	}
	var ids []string // newest first
	for i := range 3 {
		ids = append([]string{e.createProduct(a.Key, map[string]any{"name": fmt.Sprint("P", i), "price": "1.00"})["id"].(string)}, ids...)
	}
	ids = append(ids, id)
	if got := e.get("/v1/products?limit=2", a.Key).ExpectStatus(t, http.StatusOK); fmt.Sprint(got.IDs(t)) != fmt.Sprint(ids[:2]) || got.Object(t)["has_more"] != true {
		t.Fatalf("first page %s", got.Body)
	}
	if got := e.get("/v1/products?limit=2&starting_after="+ids[1], a.Key).ExpectStatus(t, http.StatusOK); fmt.Sprint(got.IDs(t)) != fmt.Sprint(ids[2:]) || got.Object(t)["has_more"] != false {
		t.Fatalf("second page %s", got.Body)
	}
	if got := e.get("/v1/products?ending_before="+ids[2], a.Key).ExpectStatus(t, http.StatusOK); fmt.Sprint(got.IDs(t)) != fmt.Sprint(ids[:2]) {
		t.Fatalf("page before %s", got.Body)
	}
	e.get("/v1/products?starting_after=co_x", a.Key).ExpectError(t, http.StatusBadRequest, "cursor_invalid", "starting_after")
	e.get("/v1/products/prod_0000000000000000000000000a", a.Key).ExpectError(t, http.StatusNotFound, "resource_missing", "id")
	e.conforms("ProductList", e.get("/v1/products", a.Key).Object(t))
}

// TestProductsRejectBadInput: each bad body is refused with its code and
// param, and nothing is stored.
func TestProductsRejectBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	for _, tc := range []struct {
		name        string
		body        string
		code, param string
	}{
		{"empty body", `{}`, "parameter_missing", "name"},
		{"no price", `{"name":"Tee"}`, "parameter_missing", "price"},
		{"blank name", `{"name":" ","price":"1.00"}`, "name_invalid", "name"},
		{"name too long", `{"name":"` + strings.Repeat("n", 201) + `","price":"1.00"}`, "name_invalid", "name"},
		{"price as a number", `{"name":"Tee","price":25.5}`, "parameter_invalid_type", "price"},
		{"price too precise", `{"name":"Tee","price":"25.555"}`, "price_too_precise", "price"},
		{"price zero", `{"name":"Tee","price":"0"}`, "price_not_positive", "price"},
		{"price too large", `{"name":"Tee","price":"1000000001"}`, "price_too_large", "price"},
		{"image over http", `{"name":"Tee","price":"1.00","image_url":"http://cdn.example/t.png"}`, "url_invalid", "image_url"},
		{"description too long", `{"name":"Tee","price":"1.00","description":"` + strings.Repeat("d", 2001) + `"}`, "description_too_long", "description"},
		{"active not a boolean", `{"name":"Tee","price":"1.00","active":"yes"}`, "parameter_invalid_type", "active"},
		{"metadata not strings", `{"name":"Tee","price":"1.00","metadata":{"a":1}}`, "parameter_invalid_type", "metadata"},
		{"unknown field", `{"name":"Tee","price":"1.00","sku":"x"}`, "parameter_unknown", "sku"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.with(t).post("/v1/products", a.Key, tc.body).ExpectError(t, http.StatusBadRequest, tc.code, tc.param)
		})
	}
	if n := e.count("/v1/products", a.Key); n != 0 {
		t.Fatalf("%d products stored from bad input", n)
	}
	id := e.createProduct(a.Key, map[string]any{"name": "Tee", "price": "1.00"})["id"].(string)
	before := e.get("/v1/products/"+id, a.Key).Body
	e.patch("/v1/products/"+id, a.Key, `{"active":false,"price":"0.001"}`).ExpectError(t, http.StatusBadRequest, "price_too_precise", "price")
	e.patch("/v1/products/"+id, a.Key, `{"name":""}`).ExpectError(t, http.StatusBadRequest, "name_invalid", "name")
	if after := e.get("/v1/products/"+id, a.Key).Body; !bytes.Equal(before, after) {
		t.Fatalf("refused updates changed the product:\n%s\n%s", before, after)
	}
}

func TestPaymentLinksAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	b := e.newMerchant("B")
	e.addWallet(a.Key, "base-sepolia")
	prod := e.createProduct(a.Key, map[string]any{"name": "Tee", "price": "12.50"})["id"].(string)
	l := e.createLink(a.Key, map[string]any{
		"slug": "spring-tee", "product": prod, "quantity": 2, "max_uses": 5, "success_url": "https://shop.example/thanks",
		"payment_methods": []map[string]string{{"chain": "base-sepolia", "token": "usdc"}}, "metadata": map[string]string{"campaign": "spring"},
	})
	e.conforms("PaymentLink", l)
	if l["object"] != "payment_link" || l["slug"] != "spring-tee" || l["url"] != e.ts.URL+"/l/spring-tee" || l["product"] != prod ||
		l["quantity"] != jsonNumber("2") || l["uses"] != jsonNumber("0") || l["active"] != true || stringify(l["payment_methods"]) != `[{"chain":"base-sepolia","token":"USDC"}]` {
		t.Fatalf("created %v", l)
	}
	if _, ok := l["price"]; ok {
		t.Fatalf("a product link shows a price of its own: %v", l)
	}
	id := l["id"].(string)
	generated := e.createLink(a.Key, map[string]any{"price": "5", "description": "Donation"})
	if !regexp.MustCompile(`^[a-z2-9]{10}$`).MatchString(generated["slug"].(string)) || generated["price"] != "5.00" || generated["url"] != e.ts.URL+"/l/"+generated["slug"].(string) {
		t.Fatalf("generated %v", generated)
	}
	// Slugs are unique across merchants.
	e.post("/v1/payment-links", b.Key, map[string]any{"slug": "spring-tee", "price": "1.00"}).ExpectError(t, http.StatusConflict, "slug_taken", "slug")
	e.post("/v1/payment-links", a.Key, map[string]any{"slug": "spring-tee", "price": "1.00"}).ExpectError(t, http.StatusConflict, "slug_taken", "slug")
	if n := e.count("/v1/payment-links", b.Key); n != 0 {
		t.Fatalf("B stored %d links", n)
	}

	co := e.openedCheckout(e.visit(http.MethodGet, "/l/spring-tee", nil), a.Key)
	if co["price"] != "25.00" || co["description"] != "Tee × 2" || stringify(co["metadata"]) != `{"campaign":"spring","payment_link":"`+id+`","product":"`+prod+`"}` {
		t.Fatalf("opened %v", co)
	}
	got := e.get("/v1/payment-links/"+id, a.Key).ExpectStatus(t, http.StatusOK).Object(t)
	if got["uses"] != jsonNumber("1") {
		t.Fatalf("uses after one visit: %v", got["uses"])
	}
	upd := e.patch("/v1/payment-links/"+id, a.Key, map[string]any{"active": false, "payment_methods": []any{}, "metadata": map[string]string{"campaign": ""}}).
		ExpectStatus(t, http.StatusOK).Object(t)
	if upd["active"] != false || stringify(upd["payment_methods"]) != `[]` || stringify(upd["metadata"]) != `{}` || upd["uses"] != jsonNumber("1") || upd["url"] != l["url"] {
		t.Fatalf("updated %v", upd)
	}
	list := e.get("/v1/payment-links", a.Key).ExpectStatus(t, http.StatusOK)
	e.conforms("PaymentLinkList", list.Object(t))
	if fmt.Sprint(list.IDs(t)) != fmt.Sprint([]string{generated["id"].(string), id}) || list.Data(t)[1]["uses"] != jsonNumber("1") {
		t.Fatalf("list %s", list.Body)
	}
	e.get("/v1/payment-links?ending_before=prod_x", a.Key).ExpectError(t, http.StatusBadRequest, "cursor_invalid", "ending_before")
}

// TestPaymentLinksRejectBadInput: each bad body is refused with its code
// and param, and nothing is stored.
func TestPaymentLinksRejectBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	b := e.newMerchant("B")
	e.addWallet(a.Key, "base-sepolia")
	prod := e.createProduct(a.Key, map[string]any{"name": "Tee", "price": "12.50"})["id"].(string)
	off := e.createProduct(a.Key, map[string]any{"name": "Old", "price": "12.50", "active": false})["id"].(string)
	theirs := e.createProduct(b.Key, map[string]any{"name": "Theirs", "price": "1.00"})["id"].(string)
	for _, tc := range []struct {
		name        string
		body        string
		code, param string
	}{
		{"empty body", `{}`, "parameter_missing", "price"},
		{"product and price", `{"product":"` + prod + `","price":"1.00"}`, "price_with_product", "price"},
		{"description with product", `{"product":"` + prod + `","description":"x"}`, "description_with_product", "description"},
		{"unknown product", `{"product":"prod_0000000000000000000000000a"}`, "product_missing", "product"},
		{"another merchant's product", `{"product":"` + theirs + `"}`, "product_missing", "product"},
		{"inactive product", `{"product":"` + off + `"}`, "product_inactive", "product"},
		{"price too precise", `{"price":"1.001"}`, "price_too_precise", "price"},
		{"slug with upper case", `{"price":"1.00","slug":"Sale"}`, "slug_invalid", "slug"},
		{"slug too short", `{"price":"1.00","slug":"ab"}`, "slug_invalid", "slug"},
		{"quantity zero", `{"price":"1.00","quantity":0}`, "quantity_invalid", "quantity"},
		{"quantity a string", `{"price":"1.00","quantity":"2"}`, "parameter_invalid_type", "quantity"},
		{"price times quantity too large", `{"price":"999999999.00","quantity":2}`, "price_too_large", "quantity"},
		{"max uses negative", `{"price":"1.00","max_uses":-1}`, "max_uses_invalid", "max_uses"},
		{"success url not absolute", `{"price":"1.00","success_url":"/thanks"}`, "url_invalid", "success_url"},
		{"unknown chain", `{"price":"1.00","payment_methods":[{"chain":"nope","token":"USDC"}]}`, "chain_unknown", "payment_methods[0].chain"},
		{"live chain in test mode", `{"price":"1.00","payment_methods":[{"chain":"base","token":"USDC"}]}`, "payment_method_wrong_mode", "payment_methods[0]"},
		{"no wallet", `{"price":"1.00","payment_methods":[{"chain":"sepolia","token":"USDC"}]}`, "payment_method_no_wallet", "payment_methods[0]"},
		{"method with an extra field", `{"price":"1.00","payment_methods":[{"chain":"base-sepolia","token":"USDC","x":1}]}`, "parameter_unknown", "x"},
		{"unknown field", `{"price":"1.00","uses":3}`, "parameter_unknown", "uses"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.with(t).post("/v1/payment-links", a.Key, tc.body).ExpectError(t, http.StatusBadRequest, tc.code, tc.param)
		})
	}
	if n := e.count("/v1/payment-links", a.Key); n != 0 {
		t.Fatalf("%d links stored from bad input", n)
	}
	live, _ := e.newKey(a.ID, "secret", true)
	e.post("/v1/payment-links", live, `{"price":"1.00","success_url":"http://shop.example/ok"}`).ExpectError(t, http.StatusBadRequest, "url_insecure", "success_url")

	id := e.createLink(a.Key, map[string]any{"price": "1.00"})["id"].(string)
	before := e.get("/v1/payment-links/"+id, a.Key).Body
	for _, tc := range []struct {
		body        string
		code, param string
	}{
		{`{"slug":"other"}`, "parameter_unknown", "slug"},
		{`{"price":"2.00"}`, "parameter_unknown", "price"},
		{`{"product":"` + prod + `"}`, "parameter_unknown", "product"},
		{`{"active":false,"quantity":0}`, "quantity_invalid", "quantity"},
		{`{"max_uses":-5}`, "max_uses_invalid", "max_uses"},
	} {
		e.patch("/v1/payment-links/"+id, a.Key, tc.body).ExpectError(t, http.StatusBadRequest, tc.code, tc.param)
	}
	if after := e.get("/v1/payment-links/"+id, a.Key).Body; !bytes.Equal(before, after) {
		t.Fatalf("refused updates changed the link:\n%s\n%s", before, after)
	}
}

func TestMerchantBranding(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	if got := e.get("/v1/merchant", a.Key).ExpectStatus(t, http.StatusOK).Object(t); stringify(got["branding"]) != `{}` {
		t.Fatalf("new merchant's branding %v", got["branding"])
	}
	// Branding shows to live customers: only a live key changes it.
	e.patch("/v1/merchant", a.Key, map[string]any{"branding": map[string]string{"support_email": "x@evil.example"}}).
		ExpectError(t, http.StatusForbidden, "live_key_required", "branding")
	live, _ := e.newKey(a.ID, "secret", true)
	set := e.patch("/v1/merchant", live, map[string]any{"branding": map[string]string{
		"logo_url": "https://cdn.a.example/logo.png", "accent_color": "#1A73E8", "support_email": "help@a.example",
	}}).ExpectStatus(t, http.StatusOK).Object(t)
	want := `{"accent_color":"#1a73e8","logo_url":"https://cdn.a.example/logo.png","support_email":"help@a.example"}`
	if stringify(set["branding"]) != want {
		t.Fatalf("branding %v, want %s", set["branding"], want)
	}
	e.conforms("Merchant", set)
	// One field at a time; an empty string clears it; the test key sees the
	// same branding.
	e.patch("/v1/merchant", live, map[string]any{"branding": map[string]string{"support_email": ""}}).ExpectStatus(t, http.StatusOK)
	want = `{"accent_color":"#1a73e8","logo_url":"https://cdn.a.example/logo.png"}`
	if got := e.get("/v1/merchant", a.Key).ExpectStatus(t, http.StatusOK).Object(t); stringify(got["branding"]) != want {
		t.Fatalf("branding %v, want %s", got["branding"], want)
	}
	before := e.get("/v1/merchant", a.Key).Body
	for _, tc := range []struct {
		name        string
		body        string
		code, param string
	}{
		{"logo over http", `{"branding":{"logo_url":"http://cdn.a.example/l.png"}}`, "logo_url_invalid", "branding.logo_url"},
		{"logo not a URL", `{"name":"Renamed","branding":{"logo_url":"logo.png"}}`, "logo_url_invalid", "branding.logo_url"},
		{"logo too long", `{"branding":{"logo_url":"https://a.example/` + strings.Repeat("a", 2040) + `"}}`, "logo_url_invalid", "branding.logo_url"},
		{"short colour", `{"branding":{"accent_color":"#fff"}}`, "accent_color_invalid", "branding.accent_color"},
		{"colour name", `{"branding":{"accent_color":"blue"}}`, "accent_color_invalid", "branding.accent_color"},
		{"email without at", `{"branding":{"support_email":"help.a.example"}}`, "support_email_invalid", "branding.support_email"},
		{"email with name", `{"branding":{"support_email":"Help <help@a.example>"}}`, "support_email_invalid", "branding.support_email"},
		{"colour a number", `{"branding":{"accent_color":123}}`, "parameter_invalid_type", "branding.accent_color"},
		{"unknown branding field", `{"branding":{"font":"serif"}}`, "parameter_unknown", "font"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.with(t).patch("/v1/merchant", live, tc.body).ExpectError(t, http.StatusBadRequest, tc.code, tc.param)
		})
	}
	if after := e.get("/v1/merchant", a.Key).Body; !bytes.Equal(before, after) {
		t.Fatalf("refused updates changed the merchant:\n%s\n%s", before, after)
	}
}

// TestPaymentLinkVisits: every visit opens a checkout of its own and is sent
// to its hosted page; previews open nothing.
func TestPaymentLinkVisits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	e.addWallet(a.Key, "base-sepolia")
	l := e.createLink(a.Key, map[string]any{"price": "9.99", "description": "Ticket", "payment_methods": []map[string]string{{"chain": "base-sepolia", "token": "USDC"}}})
	slug, id := l["slug"].(string), l["id"].(string)
	seen := map[string]bool{}
	for range 3 {
		r := e.visit(http.MethodGet, "/l/"+slug, nil)
		co := e.openedCheckout(r, a.Key)
		if seen[co["id"].(string)] {
			t.Fatalf("checkout %v opened twice", co["id"])
		}
		seen[co["id"].(string)] = true
		m := method(t, co, "base-sepolia")
		if co["price"] != "9.99" || co["description"] != "Ticket" || co["metadata"].(map[string]any)["payment_link"] != id || m["amount"] == nil {
			t.Fatalf("checkout %v", co)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("redirect Cache-Control %q", cc)
		}
	}
	r := e.visit(http.MethodGet, "/l/"+slug+"?lang=ja", nil)
	if loc := r.Header.Get("Location"); !strings.HasSuffix(loc, "?lang=ja") {
		t.Fatalf("Location %q does not pass lang on", loc)
	}
	// A HEAD and link-preview bots see what the link sells and open
	// nothing.
	before := e.count("/v1/checkouts", a.Key)
	head := e.visit(http.MethodHead, "/l/"+slug, nil).ExpectStatus(t, http.StatusOK)
	if ct := head.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || len(head.Body) != 0 {
		t.Fatalf("HEAD: %q %q", ct, head.Body)
	}
	for _, ua := range []string{
		"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
		"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
		"TelegramBot (like TwitterBot)",
		"WhatsApp/2.23.20.0",
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
	} {
		p := e.visit(http.MethodGet, "/l/"+slug, map[string]string{"User-Agent": ua}).ExpectStatus(t, http.StatusOK)
		body := string(p.Body)
		if !strings.Contains(body, `<meta property="og:title" content="Ticket · A">`) || !strings.Contains(body, "Open this link in a web browser to pay.") ||
			!strings.Contains(body, `<p class="price">9.99 USD</p>`) || !strings.Contains(body, `<meta property="og:url" content="`+e.ts.URL+"/l/"+slug+`">`) {
			t.Fatalf("preview for %q:\n%s", ua, body)
		}
		if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self'") || strings.Contains(csp, "script-src") {
			t.Fatalf("preview CSP %q", csp)
		}
	}
	for _, h := range []map[string]string{{"Sec-Purpose": "prefetch"}, {"Sec-Purpose": "prefetch;prerender"}, {"Purpose": "prefetch"}} {
		e.visit(http.MethodGet, "/l/"+slug, h).ExpectStatus(t, http.StatusOK)
	}
	if n := e.count("/v1/checkouts", a.Key); n != before {
		t.Fatalf("previews and prefetches opened %d checkouts", n-before)
	}
	if got := e.get("/v1/payment-links/"+id, a.Key).Object(t)["uses"]; got != jsonNumber("4") {
		t.Fatalf("uses %v, want the 4 visits", got)
	}
}

// TestPaymentLinkUnavailable: links that open nothing answer a page saying
// why, with the merchant's support address when it has one.
func TestPaymentLinkUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("Acme")
	e.addWallet(a.Key, "base-sepolia")
	live, _ := e.newKey(a.ID, "secret", true)
	e.patch("/v1/merchant", live, map[string]any{"branding": map[string]string{"support_email": "help@acme.example", "logo_url": "https://cdn.acme.example/l.png"}}).ExpectStatus(t, http.StatusOK)
	prod := e.createProduct(a.Key, map[string]any{"name": "Tee", "price": "12.50"})["id"].(string)
	byProduct := e.createLink(a.Key, map[string]any{"product": prod})["slug"].(string)
	closed := e.createLink(a.Key, map[string]any{"price": "1.00", "active": false})["slug"].(string)
	once := e.createLink(a.Key, map[string]any{"price": "1.00", "max_uses": 1})["slug"].(string)
	e.openedCheckout(e.visit(http.MethodGet, "/l/"+once, nil), a.Key)
	e.patch("/v1/products/"+prod, a.Key, map[string]any{"active": false}).ExpectStatus(t, http.StatusOK)
	before := e.count("/v1/checkouts", a.Key)
	for _, tc := range []struct {
		name, slug string
		status     int
		heading    string
		merchant   bool
	}{
		{"unknown", "no-such-link", http.StatusNotFound, "Payment link not found", false},
		{"not a slug", "No%20Such", http.StatusNotFound, "Payment link not found", false},
		{"inactive", closed, http.StatusGone, "This payment link is closed", true},
		{"exhausted", once, http.StatusGone, "This payment link has been used up", true},
		{"inactive product", byProduct, http.StatusGone, "This payment link is closed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			for _, m := range []string{http.MethodGet, http.MethodHead} {
				r := e.visit(m, "/l/"+tc.slug, nil).ExpectStatus(t, tc.status)
				if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
					t.Fatalf("%s Content-Type %q", m, r.Header.Get("Content-Type"))
				}
				if m == http.MethodHead {
					continue
				}
				body := string(r.Body)
				if !strings.Contains(body, "<h1>"+tc.heading+"</h1>") || !strings.Contains(body, `href="/assets/pay.css"`) {
					t.Fatalf("page:\n%s", body)
				}
				if got := strings.Contains(body, `href="mailto:help@acme.example"`) && strings.Contains(body, `src="https://cdn.acme.example/l.png"`); got != tc.merchant {
					t.Fatalf("merchant shown: %v, want %v:\n%s", got, tc.merchant, body)
				}
			}
		})
	}
	if n := e.count("/v1/checkouts", a.Key); n != before {
		t.Fatalf("unavailable links opened %d checkouts", n-before)
	}
}

func TestPaymentLinkRateLimit(t *testing.T) {
	t.Parallel()
	// The tests' requests come from loopback: here a trusted proxy.
	e := newEnv(t, func(cfg *api.Config, _ *api.Deps) {
		cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	a := e.newMerchant("A")
	e.addWallet(a.Key, "base-sepolia")
	slug := e.createLink(a.Key, map[string]any{"price": "1.00"})["slug"].(string)
	// Wait for a fresh minute if this one is nearly over, so the 31 visits
	// below share one window.
	if time.Now().Second() > 50 {
		time.Sleep(time.Duration(61-time.Now().Second()) * time.Second)
	}
	visitor := map[string]string{"X-Forwarded-For": "203.0.113.7"}
	for i := 1; i <= 30; i++ {
		e.visit(http.MethodGet, "/l/"+slug, visitor).ExpectStatus(t, http.StatusSeeOther)
	}
	r := e.visit(http.MethodGet, "/l/"+slug, visitor).ExpectStatus(t, http.StatusTooManyRequests)
	if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 || n > 60 || !strings.Contains(string(r.Body), "<h1>Too many visits</h1>") {
		t.Fatalf("429: Retry-After %q\n%s", r.Header.Get("Retry-After"), r.Body)
	}
	// Another visitor behind the same proxy has a budget of its own.
	e.visit(http.MethodGet, "/l/"+slug, map[string]string{"X-Forwarded-For": "203.0.113.8"}).ExpectStatus(t, http.StatusSeeOther)
	if n := e.count("/v1/checkouts", a.Key); n != 31 {
		t.Fatalf("%d checkouts, want 31", n)
	}
	// Without a trusted proxy, a made-up header buys no fresh budget.
	direct := newEnv(t)
	b := direct.newMerchant("B")
	direct.addWallet(b.Key, "base-sepolia")
	slug = direct.createLink(b.Key, map[string]any{"price": "1.00"})["slug"].(string)
	for i := 1; i <= 30; i++ {
		direct.visit(http.MethodGet, "/l/"+slug, map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.100.%d", i)}).ExpectStatus(t, http.StatusSeeOther)
	}
	direct.visit(http.MethodGet, "/l/"+slug, map[string]string{"X-Forwarded-For": "198.51.100.99"}).ExpectStatus(t, http.StatusTooManyRequests)
}

// decodeQR reads the QR code in img with an independent decoder.
func decodeQR(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		t.Fatalf("decode QR code: %v", err)
	}
	return res.GetText()
}

// rasterizeSVG draws web.QRSVG's unit squares ("Mx yhNv1h-Nz") at scale.
func rasterizeSVG(t *testing.T, svg []byte, scale int) image.Image {
	t.Helper()
	m := regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`).FindSubmatch(svg)
	if m == nil {
		t.Fatalf("no viewBox in %s", svg)
	}
	n, _ := strconv.Atoi(string(m[1]))
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	for _, r := range regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`).FindAllSubmatch(svg, -1) {
		x, _ := strconv.Atoi(string(r[1]))
		y, _ := strconv.Atoi(string(r[2]))
		w, _ := strconv.Atoi(string(r[3]))
		draw.Draw(img, image.Rect(x*scale, y*scale, (x+w)*scale, (y+1)*scale), image.NewUniform(color.Black), image.Point{}, draw.Src)
	}
	return img
}

func TestPaymentLinkQR(t *testing.T) {
	t.Parallel()
	for _, publicURL := range []string{"", "https://pay.shop.example/"} {
		t.Run("public url "+publicURL, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *api.Config, _ *api.Deps) { c.PublicURL = publicURL })
			a := e.newMerchant("A")
			l := e.createLink(a.Key, map[string]any{"slug": "qr-test", "price": "1.00", "active": false})
			want := e.ts.URL + "/l/qr-test"
			if publicURL != "" {
				want = "https://pay.shop.example/l/qr-test"
			}
			if l["url"] != want {
				t.Fatalf("url %v, want %s", l["url"], want)
			}
			r := e.get("/l/qr-test/qr.png?size=300", "").ExpectStatus(t, http.StatusOK)
			if r.Header.Get("Content-Type") != "image/png" || r.Header.Get("Cache-Control") != "public, max-age=300" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("PNG headers %v", r.Header)
			}
			img, err := png.Decode(bytes.NewReader(r.Body))
			if err != nil {
				t.Fatal(err)
			}
			if w := img.Bounds().Dx(); w < 300 || w > 400 {
				t.Fatalf("PNG %d pixels wide for size=300", w)
			}
			if got := decodeQR(t, img); got != want {
				t.Fatalf("PNG decodes to %q, want %q", got, want)
			}
			r = e.get("/l/qr-test/qr.svg", "").ExpectStatus(t, http.StatusOK)
			if r.Header.Get("Content-Type") != "image/svg+xml" || r.Header.Get("Cache-Control") != "public, max-age=300" ||
				r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Content-Security-Policy") != "default-src 'none'; style-src 'unsafe-inline'" {
				t.Fatalf("SVG headers %v", r.Header)
			}
			if got := decodeQR(t, rasterizeSVG(t, r.Body, 8)); got != want {
				t.Fatalf("SVG decodes to %q, want %q", got, want)
			}
			e.get("/l/qr-test/qr.png?size=10", "").ExpectError(t, http.StatusBadRequest, "size_invalid", "size")
			e.get("/l/qr-test/qr.png?size=big", "").ExpectError(t, http.StatusBadRequest, "size_invalid", "size")
			for _, f := range []string{"qr.png", "qr.svg"} {
				r := e.get("/l/no-such-link/"+f, "")
				r.ExpectError(t, http.StatusNotFound, "resource_missing", "slug")
				if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
					t.Fatalf("404 Cache-Control %q", cc)
				}
			}
		})
	}
}
