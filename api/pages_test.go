package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	solanago "github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/api"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/chains/solana"
	"github.com/stablegate/stablegate/chains/solana/svmtest"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/store"
)

// pageCSP is the exact Content-Security-Policy of the hosted pages.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// twoMethodCheckout creates a checkout of merchant a accepting USDC on Base
// Sepolia and Sepolia, none chosen yet.
func (e *env) twoMethodCheckout(key string, extra map[string]any) map[string]any {
	e.t.Helper()
	body := map[string]any{"price": "49.00", "payment_methods": []map[string]string{
		{"chain": "base-sepolia", "token": "USDC"}, {"chain": "sepolia", "token": "USDC"},
	}}
	for k, v := range extra {
		body[k] = v
	}
	co := e.createCheckout(key, body)
	for _, m := range co["payment_methods"].([]any) {
		if _, ok := m.(map[string]any)["address"]; ok {
			e.t.Fatalf("checkout created with a reserved method: %v", co)
		}
	}
	return co
}

// choose posts a JSON method choice to the public route.
func (e *env) choose(id, chain, token string) *response {
	e.t.Helper()
	return e.post("/pay/"+id+"/method", "", map[string]string{"chain": chain, "token": token})
}

// noRedirect sends a request without following redirects and checks the
// response against the document like do.
func (e *env) noRedirect(r req) *response {
	e.t.Helper()
	c := *e.ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var body io.Reader
	if s, ok := r.Body.(string); ok {
		body = strings.NewReader(s)
	}
	hr, err := http.NewRequest(r.Method, e.ts.URL+r.Path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range r.Header {
		hr.Header.Set(k, v)
	}
	res, err := c.Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := &response{Status: res.StatusCode, Header: res.Header, Body: b}
	e.checkDoc(e.t, r, out)
	return out
}

func (e *env) chooseForm(id, chain, token, lang string) *response {
	e.t.Helper()
	form := url.Values{"chain": {chain}, "token": {token}, "lang": {lang}}
	return e.noRedirect(req{Method: http.MethodPost, Path: "/pay/" + id + "/method", Body: form.Encode(),
		Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
}

func TestPaySelectOnlyAcceptedMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("Shop")
	base := e.addWallet(a.Key, "base-sepolia")["address"].(string)
	e.addWallet(a.Key, "sepolia")
	e.addWallet(a.Key, "arbitrum-sepolia")
	co := e.twoMethodCheckout(a.Key, nil)
	id := co["id"].(string)
	before := e.get("/v1/checkouts/"+id, a.Key).ExpectStatus(t, http.StatusOK).Object(t)

	for _, tc := range []struct {
		name        string
		body        any
		code, param string
	}{
		{"a chain the checkout does not accept", map[string]string{"chain": "arbitrum-sepolia", "token": "USDC"}, "payment_method_not_accepted", "chain"},
		{"a token the checkout does not accept", map[string]string{"chain": "base-sepolia", "token": "USDT"}, "payment_method_not_accepted", "token"},
		{"an unknown chain", map[string]string{"chain": "no-such-chain", "token": "USDC"}, "payment_method_not_accepted", "chain"},
		{"no chain", map[string]string{"token": "USDC"}, "parameter_missing", "chain"},
		{"no token", map[string]string{"chain": "base-sepolia"}, "parameter_missing", "token"},
		{"an unknown field", `{"chain":"base-sepolia","token":"USDC","amount":"1"}`, "parameter_unknown", "amount"},
		{"not JSON", `chain=base-sepolia`, "body_invalid_json", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.with(t).post("/pay/"+id+"/method", "", tc.body).ExpectError(t, http.StatusBadRequest, tc.code, tc.param)
		})
	}
	if after := e.get("/v1/checkouts/"+id, a.Key).Object(t); stringify(after) != stringify(before) {
		t.Fatalf("refused choices changed the checkout:\n%v\n%v", before, after)
	}

	// The token's case does not matter, as in the API.
	v := e.choose(id, "base-sepolia", "usdc").ExpectStatus(t, http.StatusOK).Object(t)
	pm := v["payment_method"].(map[string]any)
	if pm["chain"] != "base-sepolia" || pm["token"] != "USDC" || pm["address"] != base || pm["chain_name"] != "Base Sepolia" {
		t.Fatalf("chosen method %v", pm)
	}
	after := e.get("/v1/checkouts/"+id, a.Key).Object(t)
	reserved := method(t, after, "base-sepolia")
	checkReserved(t, reserved, base, baseSepoliaUSDC, 84532)
	if pm["amount"] != reserved["amount"] || pm["amount_base_units"] != reserved["amount_base_units"] || pm["payment_uri"] != reserved["payment_uri"] {
		t.Fatalf("public method %v differs from the reserved %v", pm, reserved)
	}
	// Nothing else changed: the other method and every other field.
	for _, k := range []string{"address", "amount", "amount_base_units", "payment_uri", "reserved"} {
		delete(reserved, k)
	}
	if stringify(after) != stringify(before) {
		t.Fatalf("choosing changed more than the method:\n%v\n%v", before, after)
	}

	// Idempotent: the same method again, by JSON or by form, keeps its amount.
	again := e.choose(id, "base-sepolia", "USDC").ExpectStatus(t, http.StatusOK).Object(t)
	if stringify(again["payment_method"]) != stringify(v["payment_method"]) {
		t.Fatalf("second choice %v, first %v", again["payment_method"], v["payment_method"])
	}
	r := e.chooseForm(id, "base-sepolia", "USDC", "ja").ExpectStatus(t, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/pay/"+id+"?lang=ja&method=base-sepolia%3AUSDC" {
		t.Fatalf("Location %q", loc)
	}
	if got := e.get("/v1/checkouts/"+id, a.Key).Object(t); stringify(method(t, got, "base-sepolia")["amount"]) != stringify(v["payment_method"].(map[string]any)["amount"]) {
		t.Fatalf("form choice changed the amount: %v", got)
	}
}

func TestPaySelectOnlyWhileOpen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("Shop")
	wallet := e.addWallet(a.Key, "base-sepolia")["address"].(string)
	e.addWallet(a.Key, "sepolia")
	ctx := context.Background()

	canceled := e.twoMethodCheckout(a.Key, nil)["id"].(string)
	e.post("/v1/checkouts/"+canceled+"/cancel", a.Key, nil).ExpectStatus(t, http.StatusOK)

	// Past its expiry, before the sweeper has run.
	expired := e.twoMethodCheckout(a.Key, nil)["id"].(string)
	c, err := e.store.Checkout(ctx, a.ID, expired)
	if err != nil {
		t.Fatal(err)
	}
	c.ExpiresAt = time.Now().Add(-time.Second).Unix()
	if err := e.store.UpdateCheckout(ctx, c, c.Status, nil); err != nil {
		t.Fatal(err)
	}

	// Processing: a transfer of the reserved amount is in a block.
	processing := e.twoMethodCheckout(a.Key, nil)["id"].(string)
	pm := e.choose(processing, "base-sepolia", "USDC").ExpectStatus(t, http.StatusOK).Object(t)["payment_method"].(map[string]any)
	e.transfer(wallet, pm["amount_base_units"].(string), 1)

	for name, id := range map[string]string{"canceled": canceled, "expired": expired, "processing": processing} {
		t.Run(name, func(t *testing.T) {
			e := e.with(t)
			before := e.get("/v1/checkouts/"+id, a.Key).Object(t)
			e.choose(id, "sepolia", "USDC").ExpectError(t, http.StatusConflict, "checkout_not_open", "")
			r := e.chooseForm(id, "sepolia", "USDC", "en").ExpectStatus(t, http.StatusConflict)
			if !strings.Contains(string(r.Body), `id="error"`) || !strings.Contains(string(r.Body), "can no longer be changed") {
				t.Errorf("form refusal page has no error message:\n%s", r.Body)
			}
			if after := e.get("/v1/checkouts/"+id, a.Key).Object(t); stringify(after) != stringify(before) {
				t.Errorf("refused choice changed the checkout")
			}
		})
	}
	e.choose("co_0000000000000000000000000x", "sepolia", "USDC").ExpectError(t, http.StatusNotFound, "resource_missing", "id")
}

// transfer reports a transfer of units base units of Base Sepolia USDC to
// wallet in block 100 to the settler, as the watcher would.
func (e *env) transfer(wallet, units string, n int) {
	e.t.Helper()
	amount, ok := new(big.Int).SetString(units, 10)
	if !ok {
		e.t.Fatalf("bad units %q", units)
	}
	settler := checkout.NewSettler(e.store, chains.Builtin(), nil, testLogger(e.t))
	err := settler.Transfers(context.Background(), "base-sepolia", []chains.Transfer{{
		Chain: "base-sepolia", TxHash: fmt.Sprintf("0x%064x", n), LogIndex: 0, BlockNumber: 100,
		BlockHash: fmt.Sprintf("0x%064x", 1000+n), BlockTime: time.Now().Unix(), From: newAddress(e.t), To: wallet,
		Token: baseSepoliaUSDC, Amount: amount,
	}})
	if err != nil {
		e.t.Fatal(err)
	}
}

// canonical is a chains.Verifier for which every transfer stayed canonical.
type canonical struct{}

func (canonical) Canonical(context.Context, chains.Transfer) (bool, error) { return true, nil }

// confirm settles Base Sepolia's pending payments up to block 200.
func (e *env) confirm() {
	e.t.Helper()
	settler := checkout.NewSettler(e.store, chains.Builtin(), nil, testLogger(e.t))
	h := chains.Heights{Head: 200, Safe: 200, Finalized: 200, HasSafe: true, HasFinalized: true}
	if err := settler.Confirmed(context.Background(), "base-sepolia", h, canonical{}); err != nil {
		e.t.Fatal(err)
	}
}

func TestPaySelectRateLimited(t *testing.T) {
	t.Parallel()
	// A limit of 10 in a window of an hour, so the test's requests do not
	// straddle two windows.
	e := newEnv(t, func(_ *api.Config, d *api.Deps) {
		cfg := checkout.DefaultPublicConfig()
		cfg.SelectLimit, cfg.SelectWindow = 10, time.Hour
		d.Pages = checkout.NewPublic(d.Events.(*store.Store), d.Checkouts.(*checkout.Service), cfg)
	})
	a := e.newMerchant("Shop")
	e.addWallet(a.Key, "base-sepolia")
	e.addWallet(a.Key, "sepolia")
	id := e.twoMethodCheckout(a.Key, nil)["id"].(string)
	other := e.twoMethodCheckout(a.Key, nil)["id"].(string)

	var first string
	for i := range 10 {
		v := e.choose(id, "base-sepolia", "USDC").ExpectStatus(t, http.StatusOK).Object(t)
		amount := v["payment_method"].(map[string]any)["amount"].(string)
		if i == 0 {
			first = amount
		} else if amount != first {
			t.Fatalf("choice %d reserved %s, the first %s", i+1, amount, first)
		}
	}
	r := e.choose(id, "base-sepolia", "USDC")
	r.ExpectError(t, http.StatusTooManyRequests, "rate_limited", "")
	if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 || n > 3600 {
		t.Fatalf("Retry-After %q, want the rest of the window, 1 to 3600 seconds", r.Header.Get("Retry-After"))
	}
	// The form gets the page with the message and the same status.
	f := e.chooseForm(id, "base-sepolia", "USDC", "en").ExpectStatus(t, http.StatusTooManyRequests)
	if f.Header.Get("Retry-After") == "" || !strings.Contains(string(f.Body), "Too many attempts") {
		t.Fatalf("form 429 without Retry-After or message: %v\n%s", f.Header, f.Body)
	}
	// The limit counts the client over every checkout: each choice may
	// reserve an amount, and new checkouts are easy to come by.
	e.choose(other, "sepolia", "USDC").ExpectError(t, http.StatusTooManyRequests, "rate_limited", "")
}

func TestPayStatusLeaksNothingPrivate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("Shop")
	wallet := e.addWallet(a.Key, "base-sepolia")["address"].(string)
	e.addWallet(a.Key, "sepolia")
	co := e.twoMethodCheckout(a.Key, map[string]any{
		"order_id": "order-secret-1", "customer_email": "buyer@example.com", "metadata": map[string]string{"internal": "meta-secret"},
		"success_url": "https://shop.example/thanks", "cancel_url": "https://shop.example/cancel-secret", "description": "A tee",
	})
	id := co["id"].(string)
	other := e.twoMethodCheckout(a.Key, nil)["id"].(string)
	e.choose(other, "sepolia", "USDC").ExpectStatus(t, http.StatusOK)

	viewKeys := []string{"amount_due", "amount_received", "currency", "exception", "expires_at", "final", "id", "livemode",
		"paid_at", "payment", "payment_method", "price", "state", "status", "success_url"}
	methodKeys := []string{"address", "amount", "amount_base_units", "chain", "chain_name", "payment_uri", "token"}
	paymentKeys := []string{"amount", "block_time", "chain", "confirmations", "confirmations_required", "explorer_url", "token", "tx_hash"}
	check := func(v map[string]any) {
		t.Helper()
		if got := sortedKeys(v); !slices.Equal(got, viewKeys) {
			t.Fatalf("view keys %v, want %v", got, viewKeys)
		}
		if m, ok := v["payment_method"].(map[string]any); ok {
			if got := sortedKeys(m); !slices.Equal(got, methodKeys) {
				t.Fatalf("payment_method keys %v, want %v", got, methodKeys)
			}
		}
		if p, ok := v["payment"].(map[string]any); ok {
			if got := sortedKeys(p); !slices.Equal(got, paymentKeys) {
				t.Fatalf("payment keys %v, want %v", got, paymentKeys)
			}
		}
		b := stringify(v)
		for _, secret := range []string{"order-secret-1", "buyer@example.com", "meta-secret", "cancel-secret", a.ID, other, "sk_"} {
			if strings.Contains(b, secret) {
				t.Fatalf("public view shows %q: %s", secret, b)
			}
		}
	}

	v := e.get("/pay/"+id+"/status", "").ExpectStatus(t, http.StatusOK).Object(t)
	check(v)
	if v["state"] != "open" || v["payment_method"] != nil || v["payment"] != nil || v["price"] != "49.00" ||
		v["success_url"] != "https://shop.example/thanks" || v["livemode"] != false || v["final"] != false || v["id"] != id {
		t.Fatalf("open view %v", v)
	}
	pm := e.choose(id, "base-sepolia", "USDC").ExpectStatus(t, http.StatusOK).Object(t)
	check(pm)
	units := pm["payment_method"].(map[string]any)["amount_base_units"].(string)
	e.transfer(wallet, units, 7)
	v = e.get("/pay/"+id+"/status", "").ExpectStatus(t, http.StatusOK).Object(t)
	check(v)
	pay := v["payment"].(map[string]any)
	if v["state"] != "processing" || pay["tx_hash"] != fmt.Sprintf("0x%064x", 7) ||
		pay["explorer_url"] != fmt.Sprintf("https://sepolia.basescan.org/tx/0x%064x", 7) || pay["amount"] != pm["payment_method"].(map[string]any)["amount"] {
		t.Fatalf("processing view %v", v)
	}
	e.confirm()
	v = e.get("/pay/"+id+"/status", "").ExpectStatus(t, http.StatusOK).Object(t)
	check(v)
	if v["state"] != "paid" || v["final"] != true || v["paid_at"] == jsonInt(0) {
		t.Fatalf("paid view %v", v)
	}
	e.get("/pay/co_0000000000000000000000000x/status", "").ExpectError(t, http.StatusNotFound, "resource_missing", "id")
}

func sortedKeys(m map[string]any) []string {
	out := keys(m)
	slices.Sort(out)
	return out
}

// sse reads a Server-Sent Events stream.
type sse struct {
	t   *testing.T
	res *http.Response
	r   *bufio.Reader
}

func (e *env) openStream(ctx context.Context, id string) *sse {
	e.t.Helper()
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, e.ts.URL+"/pay/"+id+"/events", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	hr.Header.Set("Accept", "text/event-stream")
	res, err := e.ts.Client().Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { res.Body.Close() })
	e.checkDoc(e.t, req{Method: http.MethodGet, Path: "/pay/" + id + "/events"}, &response{Status: res.StatusCode, Header: res.Header})
	return &sse{t: e.t, res: res, r: bufio.NewReader(res.Body)}
}

// next returns the data of the next event; io.EOF when the stream ended.
// Comments (heartbeats) and the retry field are skipped.
func (s *sse) next() (map[string]any, error) {
	s.t.Helper()
	var data strings.Builder
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && data.Len() > 0:
			v, err := decodeJSON([]byte(data.String()))
			if err != nil {
				s.t.Fatalf("event data is not JSON: %v: %s", err, data.String())
			}
			return v.(map[string]any), nil
		case strings.HasPrefix(line, "data: "):
			data.WriteString(strings.TrimPrefix(line, "data: "))
		}
	}
}

// until reads events until one has the given state, failing on the
// context's deadline.
func (s *sse) until(state string) map[string]any {
	s.t.Helper()
	for {
		v, err := s.next()
		if err != nil {
			s.t.Fatalf("stream ended before state %s: %v", state, err)
		}
		if v["state"] == state {
			return v
		}
	}
}

func TestPayEventsStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("Shop")
	wallet := e.addWallet(a.Key, "base-sepolia")["address"].(string)
	co := e.createCheckout(a.Key, map[string]any{"price": "12.00"})
	id := co["id"].(string)
	units := method(t, co, "base-sepolia")["amount_base_units"].(string)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := e.openStream(ctx, id)
	if s.res.StatusCode != http.StatusOK || s.res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream answered %d %q", s.res.StatusCode, s.res.Header.Get("Content-Type"))
	}
	checkPageHeaders(t, s.res.Header)
	first := s.until("open")
	if first["payment_method"].(map[string]any)["amount_base_units"] != units {
		t.Fatalf("first event %v", first)
	}

	e.transfer(wallet, units, 3)
	v := s.until("processing")
	if v["payment"].(map[string]any)["tx_hash"] != fmt.Sprintf("0x%064x", 3) || v["final"] != false {
		t.Fatalf("processing event %v", v)
	}
	e.confirm()
	v = s.until("paid")
	if v["final"] != true || v["status"] != "paid" {
		t.Fatalf("paid event %v", v)
	}
	e.conforms("PublicCheckout", v)
	// Final: the server ends the stream.
	if v, err := s.next(); err != io.EOF {
		t.Fatalf("after the final event: %v, %v; want the end of the stream", v, err)
	}
	// A stream of a final checkout sends its one event and ends.
	s = e.openStream(ctx, id)
	if v := s.until("paid"); v["id"] != id {
		t.Fatalf("event %v", v)
	}
	if _, err := s.next(); err != io.EOF {
		t.Fatalf("stream of a paid checkout did not end: %v", err)
	}
	e.get("/pay/co_0000000000000000000000000x/events", "").ExpectError(t, http.StatusNotFound, "resource_missing", "id")
}

// checkPageHeaders checks the hosted pages' security headers exactly.
func checkPageHeaders(t *testing.T, h http.Header) {
	t.Helper()
	for name, want := range map[string]string{
		"Content-Security-Policy": pageCSP,
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
		"Permissions-Policy":      "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
		"X-Frame-Options":         "DENY",
	} {
		if got := h.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

func TestPaySecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("Shop")
	e.addWallet(a.Key, "base-sepolia")
	e.addWallet(a.Key, "sepolia")
	id := e.twoMethodCheckout(a.Key, nil)["id"].(string)
	for name, r := range map[string]*response{
		"page":           e.get("/pay/"+id, "").ExpectStatus(t, http.StatusOK),
		"not found page": e.get("/pay/co_0000000000000000000000000x", "").ExpectStatus(t, http.StatusNotFound),
		"status":         e.get("/pay/"+id+"/status", "").ExpectStatus(t, http.StatusOK),
		"choice":         e.choose(id, "sepolia", "USDC").ExpectStatus(t, http.StatusOK),
		"form choice":    e.chooseForm(id, "sepolia", "USDC", "en").ExpectStatus(t, http.StatusSeeOther),
		"refused choice": e.choose(id, "solana", "USDC").ExpectStatus(t, http.StatusBadRequest),
	} {
		t.Run(name, func(t *testing.T) { checkPageHeaders(t, r.Header) })
	}
	page := e.get("/pay/"+id, "")
	if ct := page.Header.Get("Content-Type"); ct != "text/html; charset=UTF-8" {
		t.Errorf("page Content-Type %q", ct)
	}
	body := string(page.Body)
	for _, bad := range []string{" style=", "<style", "<script>", "<script src=\"http", "onclick=", "onload=", a.Key, a.ID} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if n := strings.Count(body, "<script"); n != 1 || !regexp.MustCompile(`<script src="/assets/pay\.[0-9a-f]{12}\.js" defer></script>`).MatchString(body) {
		t.Errorf("page scripts: want exactly the one same-origin deferred script:\n%s", body)
	}
}

func TestPayLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("Shop")
	e.addWallet(a.Key, "base-sepolia")
	id := e.createCheckout(a.Key, map[string]any{"price": "5.00"})["id"].(string)
	for _, tc := range []struct {
		name, accept, query, want, text string
	}{
		{"no header", "", "", "en", "Send exactly this amount"},
		{"English", "en-US,en;q=0.9", "", "en", "Send exactly this amount"},
		{"Simplified Chinese", "zh-CN,zh;q=0.9,en;q=0.8", "", "zh-CN", "请准确发送此金额"},
		{"bare Chinese", "zh", "", "zh-CN", "请准确发送此金额"},
		{"Traditional Chinese then Japanese", "zh-TW,ja;q=0.8", "", "ja", "この金額を正確に送金してください"},
		{"Japanese", "ja-JP", "", "ja", "この金額を正確に送金してください"},
		{"quality decides", "fr;q=1,en;q=0.2,ja;q=0.5", "", "ja", "この金額を正確に送金してください"},
		{"unsupported only", "fr-FR,de", "", "en", "Send exactly this amount"},
		{"query wins", "ja", "zh-CN", "zh-CN", "请准确发送此金额"},
		{"unknown query ignored", "ja", "xx", "ja", "この金額を正確に送金してください"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/pay/" + id
			if tc.query != "" {
				path += "?lang=" + tc.query
			}
			r := e.with(t).do(req{Method: http.MethodGet, Path: path, Header: map[string]string{"Accept-Language": tc.accept}}).ExpectStatus(t, http.StatusOK)
			body := string(r.Body)
			if !strings.Contains(body, `<html lang="`+tc.want+`">`) || r.Header.Get("Content-Language") != tc.want {
				t.Fatalf("lang: Content-Language %q, body starts %.80q; want %s", r.Header.Get("Content-Language"), body, tc.want)
			}
			if !strings.Contains(body, tc.text) {
				t.Fatalf("page in %s lacks %q", tc.want, tc.text)
			}
			// The switcher links keep the shown method and name every language.
			for _, l := range []string{"en", "zh-CN", "ja"} {
				if !strings.Contains(body, `href="/pay/`+id+`?lang=`+l+`&amp;method=base-sepolia%3AUSDC"`) {
					t.Fatalf("no switcher link to %s in:\n%s", l, body)
				}
			}
		})
	}
	nf := e.do(req{Method: http.MethodGet, Path: "/pay/co_0000000000000000000000000x", Header: map[string]string{"Accept-Language": "ja"}})
	nf.ExpectStatus(t, http.StatusNotFound)
	if !strings.Contains(string(nf.Body), `<html lang="ja">`) || !strings.Contains(string(nf.Body), "お支払いが見つかりません") {
		t.Fatalf("not-found page:\n%s", nf.Body)
	}
}

func TestPayPageRendersTheMethod(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("Shop")
	live, _ := e.newKey(a.ID, "secret", true)
	for _, tc := range []struct {
		name, key, chain, token string
		decimals                int
		scheme                  string
	}{
		{"EVM, 6 decimals", a.Key, "base-sepolia", "USDC", 6, "ethereum:" + baseSepoliaUSDC + "@84532/transfer?"},
		{"BSC, 18 decimals", live, "bsc", "USDT", 18, "ethereum:0x55d398326f99059fF775485246999027B3197955@56/transfer?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			wallet := e.addWallet(tc.key, tc.chain)["address"].(string)
			co := e.createCheckout(tc.key, map[string]any{"price": "50.00", "payment_methods": []map[string]string{{"chain": tc.chain, "token": tc.token}}})
			m := method(t, co, tc.chain)
			amount := m["amount"].(string)
			if !regexp.MustCompile(`^50\.00[0-9]+$`).MatchString(amount) {
				t.Fatalf("amount %q", amount)
			}
			units, _ := sg.ParseUnits(amount, uint8(tc.decimals))
			if units.String() != m["amount_base_units"] {
				t.Fatalf("amount %s is not %s base units at %d decimals", amount, m["amount_base_units"], tc.decimals)
			}
			body := string(e.get("/pay/"+co["id"].(string), "").ExpectStatus(t, http.StatusOK).Body)
			tail := strings.TrimPrefix(amount, "50.00")
			for _, want := range []string{
				`id="amount" data-testid="amount" data-copy="` + amount + `">50.00<strong>` + tail + `</strong></span>`,
				`id="address" data-testid="address" data-copy="` + wallet + `">` + wallet + `</span>`,
				`id="warning" data-testid="warning"`,
				"Exchanges that deduct a withdrawal fee",
				`id="qr" data-testid="qr"><svg xmlns="http://www.w3.org/2000/svg"`,
				`id="copy-amount"`, `id="copy-address"`, `id="countdown"`, `id="status"`, `id="receipt"`, `id="tx-link"`, `id="lang-switch"`,
				`id="method-` + tc.chain + `-` + tc.token + `"`,
				`aria-live="polite"`,
				`href="` + strings.ReplaceAll(m["payment_uri"].(string), "&", "&amp;") + `"`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %s", want)
				}
			}
			if !strings.HasPrefix(m["payment_uri"].(string), tc.scheme) {
				t.Errorf("payment_uri %v", m["payment_uri"])
			}
			var cfg struct {
				Wallet struct {
					ChainID, Contract, To, Amount string
				}
			}
			raw := regexp.MustCompile(`data-config="([^"]*)"`).FindStringSubmatch(body)
			if raw == nil {
				t.Fatal("no data-config")
			}
			if err := json.Unmarshal([]byte(htmlUnescape(raw[1])), &cfg); err != nil {
				t.Fatal(err)
			}
			if cfg.Wallet.To != wallet || cfg.Wallet.Amount != m["amount_base_units"] || cfg.Wallet.Contract != m["contract"] {
				t.Errorf("wallet config %+v", cfg.Wallet)
			}
		})
	}
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#34;", `"`, "&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#39;", "'", "&#43;", "+").Replace(s)
}

func TestPayFormFlowWithoutScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("Shop")
	e.addWallet(a.Key, "base-sepolia")
	sep := e.addWallet(a.Key, "sepolia")["address"].(string)
	id := e.twoMethodCheckout(a.Key, map[string]any{"description": "Blue mug"})["id"].(string)

	page := string(e.get("/pay/"+id+"?lang=en", "").ExpectStatus(t, http.StatusOK).Body)
	for _, want := range []string{"Blue mug", "$49.00 USD", "Choose how to pay", `id="method-base-sepolia-USDC"`, `id="method-sepolia-USDC"`,
		"Low network fee", "High network fee", `<form method="post" action="/pay/` + id + `/method">`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="instructions"`) {
		t.Error("instructions shown before a method is chosen")
	}
	loc := e.chooseForm(id, "sepolia", "USDC", "zh-CN").ExpectStatus(t, http.StatusSeeOther).Header.Get("Location")
	chosen := string(e.get(loc, "").ExpectStatus(t, http.StatusOK).Body)
	for _, want := range []string{`<html lang="zh-CN">`, `id="instructions"`, sep, `aria-current="true"`, "只能通过 Sepolia 网络发送 USDC"} {
		if !strings.Contains(chosen, want) {
			t.Errorf("page after the choice lacks %q", want)
		}
	}
}

func TestPayAssets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("Shop")
	e.addWallet(a.Key, "base-sepolia")
	id := e.createCheckout(a.Key, map[string]any{"price": "5.00"})["id"].(string)
	page := string(e.get("/pay/"+id, "").Body)
	for _, tc := range []struct{ ext, ctype string }{{"css", "text/css; charset=utf-8"}, {"js", "text/javascript; charset=utf-8"}} {
		m := regexp.MustCompile(`"(/assets/pay\.[0-9a-f]{12}\.` + tc.ext + `)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("page links no hashed .%s", tc.ext)
		}
		r := e.do(req{Method: http.MethodGet, Path: m[1], Header: map[string]string{"Accept-Encoding": "identity"}}).ExpectStatus(t, http.StatusOK)
		if r.Header.Get("Content-Type") != tc.ctype || r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			r.Header.Get("X-Content-Type-Options") != "nosniff" || len(r.Body) < 1000 || r.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s: %v, %d bytes", m[1], r.Header, len(r.Body))
		}
		gz := e.do(req{Method: http.MethodGet, Path: m[1], Header: map[string]string{"Accept-Encoding": "gzip, br"}}).ExpectStatus(t, http.StatusOK)
		if gz.Header.Get("Content-Encoding") != "gzip" || len(gz.Body) >= len(r.Body) {
			t.Errorf("%s gzipped: %v, %d bytes", m[1], gz.Header, len(gz.Body))
		}
		e.do(req{Method: http.MethodGet, Path: m[1], Header: map[string]string{"If-None-Match": r.Header.Get("ETag")}}).ExpectStatus(t, http.StatusNotModified)
		plain := e.get("/assets/pay."+tc.ext, "").ExpectStatus(t, http.StatusOK)
		if plain.Header.Get("Cache-Control") != "public, max-age=300" {
			t.Errorf("plain name Cache-Control %q", plain.Header.Get("Cache-Control"))
		}
	}
	e.get("/assets/nope.js", "").ExpectError(t, http.StatusNotFound, "resource_missing", "file")
	e.get("/assets/..%2fpages.go", "").ExpectStatus(t, http.StatusNotFound)
}

// solanaDevnetUSDC is the built-in Solana devnet USDC mint.
const solanaDevnetUSDC = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU"

// addSolanaWallet registers a fresh Solana wallet on chain and returns its
// public key.
func (e *env) addSolanaWallet(key, chain string) solanago.PublicKey {
	e.t.Helper()
	owner := solanago.NewWallet().PublicKey()
	w := e.post("/v1/wallets", key, map[string]any{"chain": chain, "address": owner.String()}).ExpectStatus(e.t, http.StatusOK).Object(e.t)
	if w["address"] != owner.String() {
		e.t.Fatalf("wallet address %v, want %s", w["address"], owner)
	}
	return owner
}

// solanaCheckout creates a checkout of price paid in USDC on Solana devnet,
// reserved at once, and returns it.
func (e *env) solanaCheckout(key, price string) map[string]any {
	e.t.Helper()
	pm := map[string]string{"chain": "solana-devnet", "token": "USDC"}
	return e.createCheckout(key, map[string]any{"price": price, "payment_methods": []map[string]string{pm}, "payment_method": pm})
}

// solanaTx asks for a checkout's payment transaction with a JSON body.
func (e *env) solanaTx(id, query string, body any) *response {
	e.t.Helper()
	return e.post("/pay/"+id+"/solana-transaction"+query, "", body)
}

// refusingBlockhash is the blockhash source of servers whose transaction
// requests must all be refused before the node is asked.
func refusingBlockhash(t *testing.T) checkout.BlockhashFunc {
	return func(context.Context, *chains.Chain) (string, error) {
		t.Error("a refused transaction request asked the node for a blockhash")
		return "", fmt.Errorf("no node")
	}
}

// withPublic replaces the server's public checkout service with one of cfg.
func withPublic(cfg checkout.PublicConfig) func(*api.Config, *api.Deps) {
	return func(_ *api.Config, d *api.Deps) {
		d.Pages = checkout.NewPublic(d.Events.(*store.Store), d.Checkouts.(*checkout.Service), cfg)
	}
}

func TestPaySolanaTransactionRefusals(t *testing.T) {
	t.Parallel()
	cfg := checkout.DefaultPublicConfig()
	cfg.Blockhash = refusingBlockhash(t)
	e := newEnv(t, withPublic(cfg))
	a := e.newMerchant("Shop")
	owner := e.addSolanaWallet(a.Key, "solana-devnet")
	e.addWallet(a.Key, "base-sepolia")
	ctx := context.Background()

	open := e.solanaCheckout(a.Key, "50.00")
	id := open["id"].(string)
	sol := method(t, open, "solana-devnet")
	evm := e.createCheckout(a.Key, map[string]any{"price": "5.00", "payment_methods": []map[string]string{{"chain": "base-sepolia", "token": "USDC"}}})["id"].(string)
	both := e.createCheckout(a.Key, map[string]any{"price": "6.00", "payment_methods": []map[string]string{
		{"chain": "solana-devnet", "token": "USDC"}, {"chain": "base-sepolia", "token": "USDC"}}})["id"].(string)
	canceled := e.solanaCheckout(a.Key, "7.00")["id"].(string)
	e.post("/v1/checkouts/"+canceled+"/cancel", a.Key, nil).ExpectStatus(t, http.StatusOK)
	expired := e.solanaCheckout(a.Key, "8.00")["id"].(string)
	c, err := e.store.Checkout(ctx, a.ID, expired)
	if err != nil {
		t.Fatal(err)
	}
	c.ExpiresAt = time.Now().Add(-time.Second).Unix()
	if err := e.store.UpdateCheckout(ctx, c, c.Status, nil); err != nil {
		t.Fatal(err)
	}
	// Processing, then paid: the reserved amount arrives with the reference.
	processing := e.solanaCheckout(a.Key, "9.00")
	paid := e.solanaCheckout(a.Key, "10.00")
	settler := checkout.NewSettler(e.store, chains.Builtin(), nil, testLogger(t))
	for i, co := range []map[string]any{processing, paid} {
		m := method(t, co, "solana-devnet")
		amount, _ := new(big.Int).SetString(m["amount_base_units"].(string), 10)
		err := settler.Transfers(ctx, "solana-devnet", []chains.Transfer{{
			Chain: "solana-devnet", TxHash: strings.Repeat("4", 80) + strconv.Itoa(i), LogIndex: 1 << 16, BlockNumber: uint64(200 - 100*i), // the processing one above the finalized slot
			BlockTime: time.Now().Unix(), From: solanago.NewWallet().PublicKey().String(), To: owner.String(),
			Token: solanaDevnetUSDC, Amount: amount, References: []string{owner.String(), m["reference"].(string)},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			h := chains.Heights{Head: 101, Finalized: 101, HasFinalized: true}
			if err := settler.Confirmed(ctx, "solana-devnet", h, canonical{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if v := e.get("/pay/"+paid["id"].(string)+"/status", "").Object(t); v["state"] != "paid" {
		t.Fatalf("settled checkout is %v, want paid", v["state"])
	}
	if v := e.get("/pay/"+processing["id"].(string)+"/status", "").Object(t); v["state"] != "processing" {
		t.Fatalf("seen checkout is %v, want processing", v["state"])
	}

	ids := []string{id, evm, both, canceled, expired, processing["id"].(string), paid["id"].(string)}
	before := map[string]string{}
	for _, id := range ids {
		before[id] = stringify(e.get("/v1/checkouts/"+id, a.Key).ExpectStatus(t, http.StatusOK).Object(t))
	}
	customer := solanago.NewWallet().PublicKey().String()
	ata, err := solana.AssociatedTokenAccount(owner, solanago.MustPublicKeyFromBase58(solanaDevnetUSDC), solanago.TokenProgramID)
	if err != nil {
		t.Fatal(err)
	}
	form := func(v url.Values) req {
		return req{Method: http.MethodPost, Path: "/pay/" + id + "/solana-transaction", Body: v.Encode(),
			Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
	}
	for _, tc := range []struct {
		name        string
		r           req
		status      int
		code, param string
	}{
		{"no account", req{Method: http.MethodPost, Path: "/pay/" + id + "/solana-transaction", Body: map[string]any{}}, 400, "parameter_missing", "account"},
		{"no body", req{Method: http.MethodPost, Path: "/pay/" + id + "/solana-transaction"}, 400, "parameter_missing", "account"},
		{"empty form", form(url.Values{}), 400, "parameter_missing", "account"},
		{"an unknown field", req{Method: http.MethodPost, Path: "/pay/" + id + "/solana-transaction", Body: map[string]any{"account": customer, "amount": "1"}}, 400, "parameter_unknown", "amount"},
		{"not JSON", req{Method: http.MethodPost, Path: "/pay/" + id + "/solana-transaction", Body: "account=" + customer}, 400, "body_invalid_json", ""},
		{"not base58", req{Method: http.MethodPost, Path: "/pay/" + id + "/solana-transaction", Body: map[string]any{"account": "0x" + strings.Repeat("ab", 20)}}, 400, "account_invalid", "account"},
		{"a form with a bad account", form(url.Values{"account": {"not-a-key"}}), 400, "account_invalid", "account"},
		{"a token account", req{Method: http.MethodPost, Path: "/pay/" + id + "/solana-transaction", Body: map[string]any{"account": ata.String()}}, 400, "account_invalid", "account"},
		{"the merchant's wallet", req{Method: http.MethodPost, Path: "/pay/" + id + "/solana-transaction", Body: map[string]any{"account": owner.String()}}, 400, "account_invalid", "account"},
		{"the reference key", req{Method: http.MethodPost, Path: "/pay/" + id + "/solana-transaction", Body: map[string]any{"account": sol["reference"]}}, 400, "account_invalid", "account"},
		{"a malformed method", req{Method: http.MethodPost, Path: "/pay/" + id + "/solana-transaction?method=solana-devnet", Body: map[string]any{"account": customer}}, 400, "parameter_invalid", "method"},
		{"unknown checkout", req{Method: http.MethodPost, Path: "/pay/co_0000000000000000000000000x/solana-transaction", Body: map[string]any{"account": customer}}, 404, "resource_missing", "id"},
		{"an EVM method", req{Method: http.MethodPost, Path: "/pay/" + evm + "/solana-transaction", Body: map[string]any{"account": customer}}, 409, "payment_method_not_solana", "method"},
		{"no method chosen", req{Method: http.MethodPost, Path: "/pay/" + both + "/solana-transaction", Body: map[string]any{"account": customer}}, 409, "payment_method_not_chosen", "method"},
		{"another method than the reserved", req{Method: http.MethodPost, Path: "/pay/" + id + "/solana-transaction?method=base-sepolia%3AUSDC", Body: map[string]any{"account": customer}}, 409, "payment_method_not_chosen", "method"},
		{"canceled", req{Method: http.MethodPost, Path: "/pay/" + canceled + "/solana-transaction", Body: map[string]any{"account": customer}}, 409, "checkout_not_open", ""},
		{"expired", req{Method: http.MethodPost, Path: "/pay/" + expired + "/solana-transaction", Body: map[string]any{"account": customer}}, 409, "checkout_not_open", ""},
		{"processing", req{Method: http.MethodPost, Path: "/pay/" + processing["id"].(string) + "/solana-transaction", Body: map[string]any{"account": customer}}, 409, "checkout_not_open", ""},
		{"paid", req{Method: http.MethodPost, Path: "/pay/" + paid["id"].(string) + "/solana-transaction", Body: map[string]any{"account": customer}}, 409, "checkout_not_open", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.with(t).do(tc.r)
			r.ExpectError(t, tc.status, tc.code, tc.param)
			checkPageHeaders(t, r.Header)
		})
	}
	// The EVM method, once chosen, is not paid through a Solana wallet.
	e.choose(both, "base-sepolia", "USDC").ExpectStatus(t, http.StatusOK)
	before[both] = stringify(e.get("/v1/checkouts/"+both, a.Key).Object(t))
	e.solanaTx(both, "", map[string]any{"account": customer}).ExpectError(t, http.StatusConflict, "payment_method_not_solana", "method")
	e.get("/pay/co_0000000000000000000000000x/solana-transaction", "").ExpectError(t, http.StatusNotFound, "resource_missing", "id")

	for _, id := range ids {
		if after := stringify(e.get("/v1/checkouts/"+id, a.Key).Object(t)); after != before[id] {
			t.Errorf("a refused transaction request changed %s:\n%s\n%s", id, before[id], after)
		}
	}
}

func TestPaySolanaTransactionRateLimited(t *testing.T) {
	t.Parallel()
	// Three in a window of an hour, so the requests do not straddle two.
	cfg := checkout.DefaultPublicConfig()
	cfg.Blockhash = refusingBlockhash(t)
	cfg.TransactionLimit, cfg.TransactionWindow = 3, time.Hour
	e := newEnv(t, withPublic(cfg))
	a := e.newMerchant("Shop")
	e.addWallet(a.Key, "base-sepolia")
	// Refused requests count as well: the limit is on asking.
	evm := e.createCheckout(a.Key, map[string]any{"price": "5.00", "payment_methods": []map[string]string{{"chain": "base-sepolia", "token": "USDC"}}})["id"].(string)
	before := stringify(e.get("/v1/checkouts/"+evm, a.Key).Object(t))
	customer := solanago.NewWallet().PublicKey().String()
	for range 3 {
		e.solanaTx(evm, "", map[string]any{"account": customer}).ExpectError(t, http.StatusConflict, "payment_method_not_solana", "method")
	}
	r := e.solanaTx(evm, "", map[string]any{"account": customer})
	r.ExpectError(t, http.StatusTooManyRequests, "rate_limited", "")
	if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 || n > 3600 {
		t.Fatalf("Retry-After %q, want the rest of the window, 1 to 3600 seconds", r.Header.Get("Retry-After"))
	}
	e.solanaTx("co_0000000000000000000000000x", "", map[string]any{"account": customer}).ExpectError(t, http.StatusTooManyRequests, "rate_limited", "")
	// Counted apart from method choices, which still go through.
	e.choose(evm, "base-sepolia", "USDC").ExpectStatus(t, http.StatusOK)
	if after := stringify(e.get("/v1/checkouts/"+evm, a.Key).Object(t)); after != before {
		t.Fatalf("transaction requests changed the checkout:\n%s\n%s", before, after)
	}
}

// wantPayment is the payment transaction a checkout's Solana method must
// answer with.
type wantPayment struct {
	payer, owner, mint, reference solanago.PublicKey
	amount                        uint64
	decimals                      uint8
	blockhash                     string
}

// checkPaymentTx decodes a transaction request's answer and checks it is
// exactly w: one zeroed signature slot for the payer as fee payer, the
// merchant's associated token account created if missing, then
// transferChecked of the amount from the payer's to it with the reference
// appended read-only, on blockhash.
func checkPaymentTx(t *testing.T, b64 string, w wantPayment) {
	t.Helper()
	wire, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("transaction is not base64: %v", err)
	}
	tx, err := solanago.TransactionFromBytes(wire)
	if err != nil {
		t.Fatalf("transaction does not decode: %v", err)
	}
	if len(tx.Signatures) != 1 || !tx.Signatures[0].IsZero() {
		t.Fatalf("signatures %v, want one zeroed slot", tx.Signatures)
	}
	m := tx.Message
	if m.IsVersioned() || m.Header.NumRequiredSignatures != 1 || !m.AccountKeys[0].Equals(w.payer) {
		t.Fatalf("header %+v, keys %v: want a legacy message paid and signed by %s alone", m.Header, m.AccountKeys, w.payer)
	}
	if m.RecentBlockhash.String() != w.blockhash {
		t.Fatalf("recent blockhash %s, want the node's %s", m.RecentBlockhash, w.blockhash)
	}
	source, _ := solana.AssociatedTokenAccount(w.payer, w.mint, solanago.TokenProgramID)
	dest, _ := solana.AssociatedTokenAccount(w.owner, w.mint, solanago.TokenProgramID)
	if len(m.Instructions) != 2 {
		t.Fatalf("%d instructions, want createIdempotent and transferChecked", len(m.Instructions))
	}
	type acct struct {
		key              solanago.PublicKey
		signer, writable bool
	}
	decode := func(i int) (solanago.PublicKey, []acct, []byte) {
		ci := m.Instructions[i]
		prog, err := m.Program(ci.ProgramIDIndex)
		if err != nil {
			t.Fatal(err)
		}
		var out []acct
		for _, ix := range ci.Accounts {
			k := m.AccountKeys[ix]
			writable, err := m.IsWritable(k)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, acct{k, m.IsSigner(k), writable})
		}
		return prog, out, ci.Data
	}
	equal := func(name string, got, want []acct) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Fatalf("%s accounts\n%v\nwant\n%v", name, got, want)
		}
	}
	prog, accts, data := decode(0)
	if !prog.Equals(solanago.SPLAssociatedTokenAccountProgramID) || !bytes.Equal(data, []byte{1}) {
		t.Fatalf("first instruction %s %x, want the Associated Token Account program's CreateIdempotent", prog, data)
	}
	equal("createIdempotent", accts, []acct{
		{w.payer, true, true}, {dest, false, true}, {w.owner, false, false}, {w.mint, false, false},
		{solanago.SystemProgramID, false, false}, {solanago.TokenProgramID, false, false},
	})
	prog, accts, data = decode(1)
	wantData := binary.LittleEndian.AppendUint64([]byte{12}, w.amount)
	wantData = append(wantData, w.decimals)
	if !prog.Equals(solanago.TokenProgramID) || !bytes.Equal(data, wantData) {
		t.Fatalf("second instruction %s %x, want the Token program's transferChecked %x", prog, data, wantData)
	}
	equal("transferChecked", accts, []acct{
		{source, false, true}, {w.mint, false, false}, {dest, false, true}, {w.payer, true, true}, {w.reference, false, false},
	})
}

// nodeBlockhashes returns the blockhash source of the built-in Solana
// devnet, reached at a LiteSVM-backed node instead of the public one.
func nodeBlockhashes(t *testing.T, node *svmtest.Node) *solana.Blockhashes {
	t.Helper()
	reg := chains.Builtin()
	if err := reg.Apply(chains.Config{Chains: []chains.ChainConfig{{ID: "solana-devnet", RPCURLs: []string{node.URL}}}}); err != nil {
		t.Fatal(err)
	}
	pools, err := solana.NewPools(reg, nil, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return solana.NewBlockhashes(pools, solana.BlockhashConfig{}, nil)
}

// TestPaySolanaTransaction: the transaction request answers the reserved
// payment for the customer's wallet, on the node's blockhash, by JSON or
// form, and changes nothing; the page hands pay.js the request; the GET
// names the merchant.
func TestPaySolanaTransaction(t *testing.T) {
	t.Parallel()
	node := svmtest.Start(t, svmtest.Options{})
	node.Pause(t) // one blockhash for the whole test
	node.Advance(t, 2)
	cfg := checkout.DefaultPublicConfig()
	cfg.Blockhash = nodeBlockhashes(t, node).Latest
	e := newEnv(t, withPublic(cfg))
	a := e.newMerchant("Sol Shop")
	owner := e.addSolanaWallet(a.Key, "solana-devnet")
	co := e.solanaCheckout(a.Key, "50.00")
	id := co["id"].(string)
	m := method(t, co, "solana-devnet")
	amount, err := strconv.ParseUint(m["amount_base_units"].(string), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	res, err := node.Client.GetLatestBlockhash(context.Background(), rpc.CommitmentConfirmed)
	if err != nil {
		t.Fatal(err)
	}
	before := stringify(e.get("/v1/checkouts/"+id, a.Key).Object(t))
	customer := solanago.NewWallet().PublicKey()
	want := wantPayment{
		payer: customer, owner: owner, mint: solanago.MustPublicKeyFromBase58(solanaDevnetUSDC),
		reference: solanago.MustPublicKeyFromBase58(m["reference"].(string)), amount: amount, decimals: 6,
		blockhash: res.Value.Blockhash.String(),
	}
	message := "Sol Shop: " + m["amount"].(string) + " USDC"

	r := e.solanaTx(id, "?method=solana-devnet%3AUSDC", map[string]any{"account": customer.String()}).ExpectStatus(t, http.StatusOK)
	checkPageHeaders(t, r.Header)
	tx := r.Object(t)
	if got := sortedKeys(tx); !slices.Equal(got, []string{"message", "transaction"}) || tx["message"] != message {
		t.Fatalf("answer %v, want the transaction and the message %q", tx, message)
	}
	checkPaymentTx(t, tx["transaction"].(string), want)

	// The token's case does not matter, as in a method choice.
	lower := e.solanaTx(id, "?method=solana-devnet%3Ausdc", map[string]any{"account": customer.String()}).ExpectStatus(t, http.StatusOK).Object(t)
	checkPaymentTx(t, lower["transaction"].(string), want)

	// The Solana Pay specification's wallets: no method named, and a form.
	other := solanago.NewWallet().PublicKey()
	f := e.do(req{Method: http.MethodPost, Path: "/pay/" + id + "/solana-transaction", Body: url.Values{"account": {other.String()}}.Encode(),
		Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}).ExpectStatus(t, http.StatusOK).Object(t)
	want.payer = other
	checkPaymentTx(t, f["transaction"].(string), want)

	if after := stringify(e.get("/v1/checkouts/"+id, a.Key).Object(t)); after != before {
		t.Fatalf("a transaction request changed the checkout:\n%s\n%s", before, after)
	}

	// The page gives pay.js the request, and the QR code's link keeps the
	// reference key for wallets that scan.
	body := string(e.get("/pay/"+id, "").ExpectStatus(t, http.StatusOK).Body)
	raw := regexp.MustCompile(`data-config="([^"]*)"`).FindStringSubmatch(body)
	if raw == nil {
		t.Fatal("no data-config")
	}
	var pageCfg struct {
		Wallet       any `json:"wallet"`
		SolanaWallet *struct {
			Chain          string `json:"chain"`
			TransactionURL string `json:"transaction_url"`
		} `json:"solana_wallet"`
	}
	if err := json.Unmarshal([]byte(htmlUnescape(raw[1])), &pageCfg); err != nil {
		t.Fatal(err)
	}
	wantURL := "/pay/" + id + "/solana-transaction?method=solana-devnet%3AUSDC"
	if pageCfg.Wallet != nil || pageCfg.SolanaWallet == nil || pageCfg.SolanaWallet.Chain != "solana:devnet" || pageCfg.SolanaWallet.TransactionURL != wantURL {
		t.Fatalf("page config wallet %v, solana_wallet %+v; want solana:devnet and %s", pageCfg.Wallet, pageCfg.SolanaWallet, wantURL)
	}
	if uri := m["payment_uri"].(string); !strings.Contains(uri, "reference="+m["reference"].(string)) ||
		!strings.Contains(body, `href="`+strings.ReplaceAll(uri, "&", "&amp;")+`"`) {
		t.Fatalf("the page does not link %s with its reference", uri)
	}

	// The GET names the merchant, with its logo once it has one.
	l := e.get("/pay/"+id+"/solana-transaction", "").ExpectStatus(t, http.StatusOK).Object(t)
	if stringify(l) != `{"label":"Sol Shop"}` {
		t.Fatalf("label %v", l)
	}
	live, _ := e.newKey(a.ID, "secret", true)
	e.patch("/v1/merchant", live, map[string]any{"branding": map[string]any{"logo_url": "https://shop.example/logo.png"}}).ExpectStatus(t, http.StatusOK)
	l = e.get("/pay/"+id+"/solana-transaction", "").ExpectStatus(t, http.StatusOK).Object(t)
	if stringify(l) != `{"icon":"https://shop.example/logo.png","label":"Sol Shop"}` {
		t.Fatalf("label with a logo %v", l)
	}
}
