package api_test

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/checkout"
)

// baseSepoliaUSDC is Circle's USDC on Base Sepolia, from the registry.
const (
	baseSepoliaUSDC = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
	sepoliaUSDC     = "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238"
)

// method returns a checkout's payment method on chain.
func method(t *testing.T, co map[string]any, chain string) map[string]any {
	t.Helper()
	for _, m := range co["payment_methods"].([]any) {
		if mm := m.(map[string]any); mm["chain"] == chain {
			return mm
		}
	}
	t.Fatalf("checkout %v has no %s method: %v", co["id"], chain, co["payment_methods"])
	return nil
}

// checkReserved checks a reserved EVM method of a checkout priced at 49.00:
// a fingerprinted decimal amount, the same in base units, and the EIP-681 URI.
func checkReserved(t *testing.T, m map[string]any, wallet, contract string, chainID int) {
	t.Helper()
	amount, _ := m["amount"].(string)
	units, _ := m["amount_base_units"].(string)
	if !regexp.MustCompile(`^49\.00[0-9]{1,3}$`).MatchString(amount) {
		t.Fatalf("amount %q, want a decimal string 49.00001 to 49.00999", amount)
	}
	want, err := sg.ParseUnits(amount, 6)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := new(big.Int).SetString(units, 10)
	if !ok || got.Cmp(want) != 0 {
		t.Fatalf("amount_base_units %q does not equal amount %q at 6 decimals", units, amount)
	}
	offset := new(big.Int).Sub(got, big.NewInt(49_000_000))
	if offset.Sign() <= 0 || offset.Cmp(big.NewInt(9_990)) > 0 || new(big.Int).Mod(offset, big.NewInt(10)).Sign() != 0 {
		t.Fatalf("offset %s base units is not 1 to 999 steps of 10", offset)
	}
	if m["decimals"] != jsonInt(6) || m["token"] != "USDC" || m["contract"] != contract || m["address"] != wallet {
		t.Fatalf("method %v, want USDC %s with 6 decimals at %s", m, contract, wallet)
	}
	uri := fmt.Sprintf("ethereum:%s@%d/transfer?address=%s&uint256=%s", contract, chainID, wallet, units)
	if m["payment_uri"] != uri {
		t.Fatalf("payment_uri %q, want %q", m["payment_uri"], uri)
	}
	if _, ok := m["reserved"]; !ok {
		t.Fatal("reserved time missing")
	}
}

func jsonInt(n int) any { return jsonNumber(fmt.Sprint(n)) }

func TestCheckoutFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("Shop A")
	base := e.addWallet(a.Key, "base-sepolia")["address"].(string)
	sep := e.addWallet(a.Key, "sepolia")["address"].(string)

	co := e.createCheckout(a.Key, map[string]any{
		"price": "49.00", "order_id": "order-1", "description": "Tee", "metadata": map[string]string{"sku": "tee"},
		"payment_method": map[string]string{"chain": "base-sepolia", "token": "USDC"},
	})
	id := co["id"].(string)
	if !strings.HasPrefix(id, "co_") || co["object"] != "checkout" || co["status"] != "open" || co["livemode"] != false ||
		co["price"] != "49.00" || co["currency"] != "USD" || co["order_id"] != "order-1" {
		t.Fatalf("created checkout %v", co)
	}
	if n := len(co["payment_methods"].([]any)); n != 2 {
		t.Fatalf("%d payment methods, want base-sepolia and sepolia USDC", n)
	}
	checkReserved(t, method(t, co, "base-sepolia"), base, baseSepoliaUSDC, 84532)
	if m := method(t, co, "sepolia"); m["amount"] != nil || m["address"] != nil || m["payment_uri"] != nil {
		t.Fatalf("unchosen method is reserved: %v", m)
	}

	got := e.get("/v1/checkouts/"+id, a.Key).ExpectStatus(t, http.StatusOK).Object(t)
	if fmt.Sprint(got) != fmt.Sprint(co) {
		t.Fatalf("GET returned\n%v\nwant\n%v", got, co)
	}

	// Choosing the second method reserves it; choosing it again changes nothing.
	sel := e.post("/v1/checkouts/"+id+"/payment_method", a.Key, map[string]string{"chain": "sepolia", "token": "USDC"}).ExpectStatus(t, http.StatusOK)
	chosen := sel.Object(t)
	checkReserved(t, method(t, chosen, "sepolia"), sep, sepoliaUSDC, 11155111)
	again := e.post("/v1/checkouts/"+id+"/payment_method", a.Key, map[string]string{"chain": "sepolia", "token": "USDC"}).ExpectStatus(t, http.StatusOK)
	if string(again.Body) != string(sel.Body) {
		t.Fatalf("choosing a reserved method again changed the checkout:\n%s\n%s", sel.Body, again.Body)
	}
	e.post("/v1/checkouts/"+id+"/payment_method", a.Key, map[string]string{"chain": "sepolia"}).
		ExpectError(t, http.StatusBadRequest, "parameter_missing", "token")
	e.post("/v1/checkouts/"+id+"/payment_method", a.Key, map[string]string{"chain": "amoy", "token": "USDC"}).
		ExpectError(t, http.StatusBadRequest, "payment_method_not_accepted", "payment_method")

	// Four more, so five in all, newest first.
	ids := []string{id}
	for i := range 4 {
		ids = append(ids, e.createCheckout(a.Key, map[string]any{"price": fmt.Sprintf("%d.00", 10+i)})["id"].(string))
	}
	slices.Reverse(ids)
	all := e.get("/v1/checkouts?limit=100", a.Key).ExpectStatus(t, http.StatusOK)
	if got := all.IDs(t); !slices.Equal(got, ids) {
		t.Fatalf("list %v, want newest first %v", got, ids)
	}

	// Pagination: 2 + 2 + 1.
	var paged []string
	after := ""
	for page, want := range []struct {
		n    int
		more bool
	}{{2, true}, {2, true}, {1, false}} {
		path := "/v1/checkouts?limit=2"
		if after != "" {
			path += "&starting_after=" + after
		}
		r := e.get(path, a.Key).ExpectStatus(t, http.StatusOK)
		got := r.IDs(t)
		if len(got) != want.n || r.Object(t)["has_more"] != want.more {
			t.Fatalf("page %d: %d items has_more=%v, want %d has_more=%v", page, len(got), r.Object(t)["has_more"], want.n, want.more)
		}
		if r.Object(t)["url"] != "/v1/checkouts" {
			t.Fatalf("list url %v", r.Object(t)["url"])
		}
		paged = append(paged, got...)
		after = got[len(got)-1]
	}
	if !slices.Equal(paged, ids) {
		t.Fatalf("pages %v, want %v", paged, ids)
	}
	back := e.get("/v1/checkouts?limit=2&ending_before="+ids[2], a.Key).ExpectStatus(t, http.StatusOK)
	if got := back.IDs(t); !slices.Equal(got, ids[:2]) || back.Object(t)["has_more"] != false {
		t.Fatalf("ending_before page %v has_more=%v, want %v false", got, back.Object(t)["has_more"], ids[:2])
	}

	// Cancel the first; a second cancel and a late method choice conflict.
	canceled := e.post("/v1/checkouts/"+id+"/cancel", a.Key, nil).ExpectStatus(t, http.StatusOK).Object(t)
	if canceled["status"] != "canceled" || canceled["canceled_at"] == nil {
		t.Fatalf("canceled checkout %v", canceled)
	}
	if got := e.get("/v1/checkouts/"+id, a.Key).Object(t); got["status"] != "canceled" {
		t.Fatalf("GET after cancel: status %v", got["status"])
	}
	e.post("/v1/checkouts/"+id+"/cancel", a.Key, nil).ExpectError(t, http.StatusConflict, "checkout_not_open", "")
	e.post("/v1/checkouts/"+id+"/payment_method", a.Key, map[string]string{"chain": "sepolia", "token": "USDC"}).
		ExpectError(t, http.StatusConflict, "checkout_not_open", "")

	// Filters.
	for path, want := range map[string][]string{
		"/v1/checkouts?status=canceled":                   {id},
		"/v1/checkouts?status=open":                       ids[:4],
		"/v1/checkouts?status=paid":                       nil,
		"/v1/checkouts?order_id=order-1":                  {id},
		"/v1/checkouts?order_id=order-1&status=open":      nil,
		"/v1/checkouts?order_id=nope":                     nil,
		"/v1/checkouts?created[gte]=4102444800":           nil, // 2100
		"/v1/checkouts?created[lt]=1000000000":            nil, // 2001
		"/v1/checkouts?created[gt]=1000000000&limit=100":  ids,
		"/v1/checkouts?created[lte]=4102444800&limit=100": ids,
	} {
		if got := e.get(path, a.Key).ExpectStatus(t, http.StatusOK).IDs(t); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
	for path, want := range map[string][2]string{
		"/v1/checkouts?status=bogus":                                  {"status_invalid", "status"},
		"/v1/checkouts?limit=0":                                       {"limit_invalid", "limit"},
		"/v1/checkouts?limit=101":                                     {"limit_invalid", "limit"},
		"/v1/checkouts?limit=ten":                                     {"limit_invalid", "limit"},
		"/v1/checkouts?created[gte]=yesterday":                        {"timestamp_invalid", "created[gte]"},
		"/v1/checkouts?starting_after=evt_x":                          {"cursor_invalid", "starting_after"},
		"/v1/checkouts?starting_after=" + id + "&ending_before=" + id: {"cursor_conflict", "ending_before"},
		"/v1/events?starting_after=a&ending_before=b":                 {"cursor_conflict", "ending_before"},
		"/v1/events?limit=500":                                        {"limit_invalid", "limit"},
	} {
		e.get(path, a.Key).ExpectError(t, http.StatusBadRequest, want[0], want[1])
	}

	// Events: one checkout.created per checkout and the cancellation, newest
	// first, each carrying the checkout as data.
	events := e.get("/v1/events?limit=100", a.Key).ExpectStatus(t, http.StatusOK).Data(t)
	if len(events) != 6 {
		t.Fatalf("%d events, want 6", len(events))
	}
	if events[0]["type"] != "checkout.canceled" || events[0]["data"].(map[string]any)["id"] != id {
		t.Fatalf("newest event %v, want checkout.canceled of %s", events[0], id)
	}
	if events[1]["type"] != "checkout.created" || events[1]["data"].(map[string]any)["id"] != ids[0] {
		t.Fatalf("second newest event %v, want checkout.created of %s", events[1], ids[0])
	}
	canceledEvents := e.get("/v1/events?type=checkout.canceled", a.Key).ExpectStatus(t, http.StatusOK).Data(t)
	if len(canceledEvents) != 1 {
		t.Fatalf("%d checkout.canceled events, want 1", len(canceledEvents))
	}
	ce := canceledEvents[0]
	if data := ce["data"].(map[string]any); data["id"] != id || data["status"] != "canceled" || ce["livemode"] != false {
		t.Fatalf("checkout.canceled event %v", ce)
	}
	created := e.get("/v1/events?type=checkout.created&limit=100", a.Key).ExpectStatus(t, http.StatusOK).Data(t)
	var createdFor []string
	for _, ev := range created {
		createdFor = append(createdFor, ev["data"].(map[string]any)["id"].(string))
	}
	if !slices.Equal(createdFor, ids) {
		t.Fatalf("checkout.created events for %v, want %v", createdFor, ids)
	}
	if created[4]["data"].(map[string]any)["status"] != "open" {
		t.Fatalf("checkout.created data is not the checkout as created: %v", created[4]["data"])
	}
	one := e.get("/v1/events/"+ce["id"].(string), a.Key).ExpectStatus(t, http.StatusOK).Object(t)
	if fmt.Sprint(one) != fmt.Sprint(ce) {
		t.Fatalf("GET event %v, want %v", one, ce)
	}
	e.get("/v1/events/evt_nope", a.Key).ExpectError(t, http.StatusNotFound, "resource_missing", "id")
	e.get("/v1/checkouts/co_nope", a.Key).ExpectError(t, http.StatusNotFound, "resource_missing", "id")
	e.post("/v1/checkouts/co_nope/cancel", a.Key, nil).ExpectError(t, http.StatusNotFound, "resource_missing", "id")
}

// TestCheckoutSingleMethodIsChosen: with one accepted method the amount is
// reserved at creation without payment_method.
func TestCheckoutSingleMethodIsChosen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	w := e.addWallet(a.Key, "base-sepolia")["address"].(string)
	co := e.createCheckout(a.Key, map[string]any{"price": "49.00"})
	checkReserved(t, method(t, co, "base-sepolia"), w, baseSepoliaUSDC, 84532)

	// Without any wallet there is nothing to pay with.
	b := e.newMerchant("B")
	e.post("/v1/checkouts", b.Key, map[string]any{"price": "49.00"}).
		ExpectError(t, http.StatusBadRequest, "payment_methods_unavailable", "payment_methods")
}

// TestCheckoutTokenSymbolIsCaseInsensitive: the registry matches token
// symbols regardless of case ("customers and merchants type usdc as often as
// USDC"), and payment_methods honours that, so payment_method and the
// payment_method route must too.
func TestCheckoutTokenSymbolIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	w := e.addWallet(a.Key, "base-sepolia")["address"].(string)
	e.addWallet(a.Key, "sepolia")

	t.Run("payment_methods", func(t *testing.T) {
		e := e.with(t)
		co := e.createCheckout(a.Key, map[string]any{"price": "49.00", "payment_methods": []map[string]string{{"chain": "base-sepolia", "token": "usdc"}}})
		checkReserved(t, method(t, co, "base-sepolia"), w, baseSepoliaUSDC, 84532)
	})
	t.Run("payment_method at creation", func(t *testing.T) {
		e := e.with(t)
		r := e.post("/v1/checkouts", a.Key, map[string]any{"price": "49.00", "payment_method": map[string]string{"chain": "base-sepolia", "token": "usdc"}})
		r.ExpectStatus(t, http.StatusOK)
		checkReserved(t, method(t, r.Object(t), "base-sepolia"), w, baseSepoliaUSDC, 84532)
	})
	t.Run("payment_method route", func(t *testing.T) {
		e := e.with(t)
		co := e.createCheckout(a.Key, map[string]any{"price": "49.00"})
		r := e.post("/v1/checkouts/"+co["id"].(string)+"/payment_method", a.Key, map[string]string{"chain": "base-sepolia", "token": "usdc"})
		r.ExpectStatus(t, http.StatusOK)
		checkReserved(t, method(t, r.Object(t), "base-sepolia"), w, baseSepoliaUSDC, 84532)
	})
}

// chunked is a reader the HTTP client cannot size, so the body is sent
// chunked, without Content-Length.
type chunked struct{ io.Reader }

func TestCheckoutBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	e.addWallet(a.Key, "base-sepolia")
	e.createCheckout(a.Key, map[string]any{"price": "1.00"})
	revoked, revokedID := e.newKey(a.ID, "secret", false)
	e.post("/admin/v1/keys/"+revokedID+"/revoke", operatorToken, nil).ExpectStatus(t, http.StatusOK)
	publishable, _ := e.newKey(a.ID, "publishable", false)

	valid := newAddress(t)
	wrongSum := flipCase(t, valid)
	huge := `{"price":"49.00","description":"` + strings.Repeat("x", 64<<10) + `"}`
	pm := func(chain, token string) []map[string]string {
		return []map[string]string{{"chain": chain, "token": token}}
	}

	cases := []struct {
		name   string
		path   string
		auth   string
		body   any
		header map[string]string
		status int
		code   string
		param  string
	}{
		{"unknown field", "/v1/checkouts", a.Key, `{"price":"49.00","colour":"red"}`, nil, 400, "parameter_unknown", "colour"},
		{"price as number", "/v1/checkouts", a.Key, `{"price":49}`, nil, 400, "parameter_invalid_type", "price"},
		{"expires_in as string", "/v1/checkouts", a.Key, `{"price":"49.00","expires_in":"300"}`, nil, 400, "parameter_invalid_type", "expires_in"},
		{"metadata value as number", "/v1/checkouts", a.Key, `{"price":"49.00","metadata":{"a":1}}`, nil, 400, "parameter_invalid_type", "metadata"},
		{"missing price", "/v1/checkouts", a.Key, `{"currency":"USD"}`, nil, 400, "parameter_missing", "price"},
		{"empty body", "/v1/checkouts", a.Key, ``, nil, 400, "parameter_missing", "price"},
		{"negative price", "/v1/checkouts", a.Key, map[string]any{"price": "-1.00"}, nil, 400, "price_invalid", "price"},
		{"zero price", "/v1/checkouts", a.Key, map[string]any{"price": "0.00"}, nil, 400, "price_not_positive", "price"},
		{"three decimals", "/v1/checkouts", a.Key, map[string]any{"price": "49.001"}, nil, 400, "price_too_precise", "price"},
		{"above one billion", "/v1/checkouts", a.Key, map[string]any{"price": "1000000000.01"}, nil, 400, "price_too_large", "price"},
		{"exponent price", "/v1/checkouts", a.Key, map[string]any{"price": "4.9e1"}, nil, 400, "price_invalid", "price"},
		{"currency", "/v1/checkouts", a.Key, map[string]any{"price": "49.00", "currency": "EUR"}, nil, 400, "currency_unsupported", "currency"},
		{"unknown chain", "/v1/checkouts", a.Key, map[string]any{"price": "49.00", "payment_methods": pm("narnia", "USDC")}, nil, 400, "chain_unknown", "payment_methods[0].chain"},
		{"unknown token", "/v1/checkouts", a.Key, map[string]any{"price": "49.00", "payment_methods": pm("base-sepolia", "DAI")}, nil, 400, "token_unknown", "payment_methods[0].token"},
		{"mainnet with test key", "/v1/checkouts", a.Key, map[string]any{"price": "49.00", "payment_methods": pm("base", "USDC")}, nil, 400, "payment_method_wrong_mode", "payment_methods[0]"},
		{"method without wallet", "/v1/checkouts", a.Key, map[string]any{"price": "49.00", "payment_methods": pm("sepolia", "USDC")}, nil, 400, "payment_method_no_wallet", "payment_methods[0]"},
		{"method without token", "/v1/checkouts", a.Key, map[string]any{"price": "49.00", "payment_methods": pm("sepolia", "")}, nil, 400, "parameter_missing", "payment_methods[0]"},
		{"chosen method not accepted", "/v1/checkouts", a.Key, map[string]any{"price": "49.00", "payment_methods": pm("base-sepolia", "USDC"), "payment_method": map[string]string{"chain": "sepolia", "token": "USDC"}}, nil, 400, "payment_method_not_accepted", "payment_method"},
		{"expires_in 299", "/v1/checkouts", a.Key, map[string]any{"price": "49.00", "expires_in": 299}, nil, 400, "expires_in_out_of_range", "expires_in"},
		{"expires_in 86401", "/v1/checkouts", a.Key, map[string]any{"price": "49.00", "expires_in": 86401}, nil, 400, "expires_in_out_of_range", "expires_in"},
		{"bad success_url", "/v1/checkouts", a.Key, map[string]any{"price": "49.00", "success_url": "javascript:alert(1)"}, nil, 400, "url_invalid", "success_url"},
		{"bad email", "/v1/checkouts", a.Key, map[string]any{"price": "49.00", "customer_email": "Bob <bob@example.com>"}, nil, 400, "customer_email_invalid", "customer_email"},
		{"oversized body", "/v1/checkouts", a.Key, huge, nil, 413, "body_too_large", ""},
		{"oversized chunked body", "/v1/checkouts", a.Key, chunked{strings.NewReader(huge)}, nil, 413, "body_too_large", ""},
		{"oversized body with idempotency key", "/v1/checkouts", a.Key, chunked{strings.NewReader(huge)}, map[string]string{"Idempotency-Key": "big"}, 413, "body_too_large", ""},
		{"malformed JSON", "/v1/checkouts", a.Key, `{"price":`, nil, 400, "body_invalid_json", ""},
		{"JSON array", "/v1/checkouts", a.Key, `[{"price":"49.00"}]`, nil, 400, "body_invalid_json", ""},
		{"two objects", "/v1/checkouts", a.Key, `{"price":"49.00"} {"price":"1.00"}`, nil, 400, "body_invalid_json", ""},
		{"trailing brace", "/v1/checkouts", a.Key, `{"price":"49.00"}}`, nil, 400, "body_invalid_json", ""},
		{"trailing bracket", "/v1/checkouts", a.Key, `{"price":"49.00"}]`, nil, 400, "body_invalid_json", ""},
		{"form content type", "/v1/checkouts", a.Key, `price=49.00`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "content_type_unsupported", ""},
		{"text content type", "/v1/checkouts", a.Key, `{"price":"49.00"}`, map[string]string{"Content-Type": "text/plain"}, 415, "content_type_unsupported", ""},
		{"missing key", "/v1/checkouts", "", map[string]any{"price": "49.00"}, nil, 401, "api_key_missing", ""},
		{"basic auth", "/v1/checkouts", "", map[string]any{"price": "49.00"}, map[string]string{"Authorization": "Basic " + a.Key}, 401, "api_key_missing", ""},
		{"revoked key", "/v1/checkouts", revoked, map[string]any{"price": "49.00"}, nil, 401, "api_key_invalid", ""},
		{"garbage key", "/v1/checkouts", "garbage", map[string]any{"price": "49.00"}, nil, 401, "api_key_invalid", ""},
		{"unknown sk_test key", "/v1/checkouts", "sk_test_" + strings.Repeat("A", 32), map[string]any{"price": "49.00"}, nil, 401, "api_key_invalid", ""},
		{"publishable key", "/v1/checkouts", publishable, map[string]any{"price": "49.00"}, nil, 403, "publishable_key_not_allowed", ""},
		{"operator token on /v1", "/v1/checkouts", operatorToken, map[string]any{"price": "49.00"}, nil, 401, "api_key_invalid", ""},
		{"idempotency key too long", "/v1/checkouts", a.Key, map[string]any{"price": "49.00"}, map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, 400, "idempotency_key_invalid", "Idempotency-Key"},

		{"invalid address", "/v1/wallets", a.Key, map[string]any{"chain": "base-sepolia", "address": "0x1234"}, nil, 400, "address_invalid", "address"},
		{"address without 0x", "/v1/wallets", a.Key, map[string]any{"chain": "base-sepolia", "address": valid[2:]}, nil, 400, "address_invalid", "address"},
		{"zero address", "/v1/wallets", a.Key, map[string]any{"chain": "base-sepolia", "address": "0x" + strings.Repeat("0", 40)}, nil, 400, "address_invalid", "address"},
		{"checksum-wrong address", "/v1/wallets", a.Key, map[string]any{"chain": "base-sepolia", "address": wrongSum}, nil, 400, "address_checksum_invalid", "address"},
		{"wallet on unknown chain", "/v1/wallets", a.Key, map[string]any{"chain": "narnia", "address": valid}, nil, 400, "chain_unknown", "chain"},
		{"mainnet wallet with test key", "/v1/wallets", a.Key, map[string]any{"chain": "base", "address": valid}, nil, 400, "chain_wrong_mode", "chain"},
		{"wallet without address", "/v1/wallets", a.Key, map[string]any{"chain": "base-sepolia"}, nil, 400, "parameter_missing", "address"},
		{"wallet without chain", "/v1/wallets", a.Key, map[string]any{"address": valid}, nil, 400, "parameter_missing", "chain"},
		{"wallet address as number", "/v1/wallets", a.Key, `{"chain":"base-sepolia","address":12}`, nil, 400, "parameter_invalid_type", "address"},
	}
	counts := func(e *env) [3]int {
		return [3]int{e.count("/v1/checkouts", a.Key), e.count("/v1/events", a.Key), e.count("/v1/wallets", a.Key)}
	}
	if got := counts(e); got != [3]int{1, 1, 1} {
		t.Fatalf("setup: checkouts, events, wallets = %v, want 1 each", got)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			before := counts(e)
			r := e.send(t, req{Method: http.MethodPost, Path: c.path, Auth: c.auth, Body: c.body, Header: c.header})
			defer func() {
				if after := counts(e); after != before {
					t.Errorf("checkouts, events, wallets went from %v to %v: the rejected request stored something", before, after)
				}
			}()
			r.ExpectError(t, c.status, c.code, c.param)
		})
	}
	// The table's address is not rejected for its own sake.
	e.post("/v1/wallets", a.Key, map[string]any{"chain": "base-sepolia", "address": strings.ToLower(valid)}).ExpectStatus(t, http.StatusOK)
}

// flipCase flips the case of one hex letter of a checksummed address,
// keeping it mixed-case so it is read as a (wrong) checksum.
func flipCase(t *testing.T, addr string) string {
	t.Helper()
	for range 100 {
		digits := addr[2:]
		if strings.ContainsAny(digits, "ABCDEF") && strings.ContainsAny(digits, "abcdef") &&
			len(regexp.MustCompile(`[a-fA-F]`).FindAllString(digits, -1)) >= 3 {
			b := []byte(addr)
			for i := 2; i < len(b); i++ {
				switch {
				case b[i] >= 'a' && b[i] <= 'f':
					b[i] -= 'a' - 'A'
				case b[i] >= 'A' && b[i] <= 'F':
					b[i] += 'a' - 'A'
				default:
					continue
				}
				out := string(b)
				if out[2:] != strings.ToLower(out[2:]) && out[2:] != strings.ToUpper(out[2:]) {
					return out
				}
				b[i] = addr[i]
			}
		}
		addr = newAddress(t)
	}
	t.Fatal("no address with enough letters")
	return ""
}

// fingerprint is the idempotency middleware's request fingerprint.
func fingerprint(method, path, body string) string {
	return sha256Hex(method + " " + path + "\n" + body)
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	b := e.newMerchant("B")
	e.addWallet(a.Key, "base-sepolia")
	e.addWallet(b.Key, "base-sepolia")
	body := `{"price":"49.00","order_id":"o-1"}`
	post := func(e *env, key, idemKey, body string) *response {
		return e.do(req{Method: http.MethodPost, Path: "/v1/checkouts", Auth: key, Body: body, Header: map[string]string{"Idempotency-Key": idemKey}})
	}

	t.Run("same key same body replays", func(t *testing.T) {
		e := e.with(t)
		first := post(e, a.Key, "k-replay", body).ExpectStatus(t, http.StatusOK)
		if first.Header.Get("Idempotent-Replayed") != "" {
			t.Fatal("first response marked as replayed")
		}
		second := post(e, a.Key, "k-replay", body)
		if second.Status != first.Status || string(second.Body) != string(first.Body) {
			t.Fatalf("replay %d %s, want %d %s", second.Status, second.Body, first.Status, first.Body)
		}
		if second.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatal("replay without Idempotent-Replayed: true")
		}
		if second.Header.Get("X-Request-Id") == first.Header.Get("X-Request-Id") {
			t.Fatal("replay reuses the first request id")
		}
		if n := e.count("/v1/checkouts?order_id=o-1", a.Key); n != 1 {
			t.Fatalf("%d checkouts, want 1", n)
		}
		if n := len(e.get("/v1/events?type=checkout.created&limit=100", a.Key).Data(t)); n != 1 {
			t.Fatalf("%d checkout.created events, want 1", n)
		}

		// Same key, other body: refused, nothing created.
		post(e, a.Key, "k-replay", `{"price":"50.00","order_id":"o-1"}`).
			ExpectError(t, http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key")
		// Same key on another route is another request too.
		e.do(req{Method: http.MethodPost, Path: "/v1/wallets", Auth: a.Key, Body: body, Header: map[string]string{"Idempotency-Key": "k-replay"}}).
			ExpectError(t, http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key")
		if n := e.count("/v1/checkouts", a.Key); n != 1 {
			t.Fatalf("%d checkouts, want 1", n)
		}

		// Keys are per merchant: B's identical request is B's own.
		other := post(e, b.Key, "k-replay", body).ExpectStatus(t, http.StatusOK)
		if other.Header.Get("Idempotent-Replayed") != "" || other.Object(t)["id"] == first.Object(t)["id"] {
			t.Fatalf("merchant B got merchant A's response: %s", other.Body)
		}
		if n := e.count("/v1/checkouts", b.Key); n != 1 {
			t.Fatalf("merchant B has %d checkouts, want 1", n)
		}
		if n := e.count("/v1/checkouts", a.Key); n != 1 {
			t.Fatalf("merchant A has %d checkouts, want 1", n)
		}
	})

	t.Run("errors replay too", func(t *testing.T) {
		e := e.with(t)
		first := post(e, a.Key, "k-error", `{"price":"49.001"}`)
		first.ExpectError(t, http.StatusBadRequest, "price_too_precise", "price")
		second := post(e, a.Key, "k-error", `{"price":"49.001"}`)
		if second.Status != http.StatusBadRequest || string(second.Body) != string(first.Body) || second.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replayed error %d %s, want the first one", second.Status, second.Body)
		}
	})

	t.Run("in flight", func(t *testing.T) {
		e := e.with(t)
		// The first request with the key is still running: claim it the way
		// the middleware does, with the same fingerprint.
		ctx := context.Background()
		st, err := e.store.BeginIdempotent(ctx, a.ID, false, "k-busy", fingerprint("POST", "/v1/checkouts", body))
		if err != nil || !st.New {
			t.Fatalf("claim: %+v %v", st, err)
		}
		before := e.count("/v1/checkouts", a.Key)
		post(e, a.Key, "k-busy", body).ExpectError(t, http.StatusConflict, "idempotency_request_in_progress", "Idempotency-Key")
		// A different body under a running key is still a reuse.
		post(e, a.Key, "k-busy", `{"price":"1.00"}`).ExpectError(t, http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key")
		if n := e.count("/v1/checkouts", a.Key); n != before {
			t.Fatalf("checkouts %d -> %d while the key was in flight", before, n)
		}
		// A first request that failed with a server error drops its claim,
		// and the retry runs.
		if err := e.store.AbortIdempotent(ctx, a.ID, false, "k-busy", st.Owner); err != nil {
			t.Fatal(err)
		}
		post(e, a.Key, "k-busy", body).ExpectStatus(t, http.StatusOK)
		if n := e.count("/v1/checkouts", a.Key); n != before+1 {
			t.Fatalf("checkouts %d -> %d after the retry, want one more", before, n)
		}
	})

	t.Run("concurrent duplicates", func(t *testing.T) {
		e := e.with(t)
		const n = 8
		before := e.count("/v1/checkouts", a.Key)
		start := make(chan struct{})
		race := req{Method: http.MethodPost, Path: "/v1/checkouts", Auth: a.Key, Body: `{"price":"7.00"}`, Header: map[string]string{"Idempotency-Key": "k-race"}}
		type result struct {
			r   *response
			err error
		}
		results := make(chan result, n)
		for range n {
			go func() {
				<-start
				r, err := e.roundTrip(race)
				results <- result{r, err}
			}()
		}
		close(start)
		var originals, replays, busy int
		var body string
		for range n {
			res := <-results
			if res.err != nil {
				t.Fatal(res.err)
			}
			r := res.r
			e.checkDoc(t, race, r)
			switch {
			case r.Status == http.StatusOK && r.Header.Get("Idempotent-Replayed") == "":
				originals++
				if body != "" && body != string(r.Body) {
					t.Errorf("two different 200 bodies")
				}
				body = string(r.Body)
			case r.Status == http.StatusOK:
				replays++
				if body != "" && body != string(r.Body) {
					t.Errorf("replay differs from the original")
				}
				body = string(r.Body)
			case r.Status == http.StatusConflict && r.Error(t).Code == "idempotency_request_in_progress":
				busy++
			default:
				t.Errorf("unexpected %d %s", r.Status, r.Body)
			}
		}
		if originals != 1 || originals+replays+busy != n {
			t.Fatalf("%d originals, %d replays, %d in progress; want exactly 1 original", originals, replays, busy)
		}
		if got := e.count("/v1/checkouts", a.Key); got != before+1 {
			t.Fatalf("checkouts %d -> %d, want exactly one more", before, got)
		}
	})

	t.Run("without a key nothing is deduplicated", func(t *testing.T) {
		e := e.with(t)
		before := e.count("/v1/checkouts", a.Key)
		post(e, a.Key, "", `{"price":"3.00"}`).ExpectStatus(t, http.StatusOK)
		post(e, a.Key, "", `{"price":"3.00"}`).ExpectStatus(t, http.StatusOK)
		if got := e.count("/v1/checkouts", a.Key); got != before+2 {
			t.Fatalf("checkouts %d -> %d, want two more", before, got)
		}
	})
}

// TestListFiltersFindOlderMatches: a filter that the store applies in memory
// (event type; status together with order_id) must still find a match that
// lies behind many non-matching objects.
func TestListFiltersFindOlderMatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	e.addWallet(a.Key, "base-sepolia")
	first := e.createCheckout(a.Key, map[string]any{"price": "5.00", "order_id": "o"})
	e.post("/v1/checkouts/"+first["id"].(string)+"/cancel", a.Key, nil).ExpectStatus(t, http.StatusOK)
	// 45 newer checkouts with the same order id, created through the service
	// to keep the test quick.
	for i := range 45 {
		if _, err := e.checkouts.Create(context.Background(), a.principal(), checkout.CreateParams{Price: fmt.Sprintf("%d.00", 6+i), OrderID: "o"}); err != nil {
			t.Fatal(err)
		}
	}
	for path, want := range map[string]string{
		"/v1/events?type=checkout.canceled&limit=1":        first["id"].(string),
		"/v1/checkouts?order_id=o&status=canceled&limit=1": first["id"].(string),
	} {
		// An empty page with has_more would not do either: it gives the
		// client no cursor to continue from.
		data := e.get(path, a.Key).ExpectStatus(t, http.StatusOK).Data(t)
		if len(data) != 1 {
			t.Errorf("%s: %d objects, want the one match that exists behind 45 non-matching ones", path, len(data))
			continue
		}
		got := data[0]["id"]
		if d, ok := data[0]["data"].(map[string]any); ok {
			got = d["id"]
		}
		if got != want {
			t.Errorf("%s: found %v, want %s", path, got, want)
		}
	}
}

func TestCreatedFilterURLs(t *testing.T) {
	t.Parallel()
	// Bracketed parameter names survive URL encoding.
	e := newEnv(t)
	a := e.newMerchant("A")
	e.addWallet(a.Key, "base-sepolia")
	id := e.createCheckout(a.Key, map[string]any{"price": "5.00"})["id"].(string)
	q := url.Values{"created[gte]": {"1000000000"}}
	if got := e.get("/v1/checkouts?"+q.Encode(), a.Key).ExpectStatus(t, http.StatusOK).IDs(t); !slices.Equal(got, []string{id}) {
		t.Fatalf("encoded created[gte]: %v, want [%s]", got, id)
	}
}

// TestPaymentURIIsNotHTMLEscaped: the API's JSON serializer turns off HTML
// escaping so a payment URI reads "&uint256=" on the wire, as decode.go
// promises, in the checkout and in its events.
func TestPaymentURIIsNotHTMLEscaped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	e.addWallet(a.Key, "base-sepolia")
	co := e.post("/v1/checkouts", a.Key, map[string]any{"price": "49.00"}).ExpectStatus(t, http.StatusOK)
	for name, body := range map[string][]byte{
		"create": co.Body,
		"get":    e.get("/v1/checkouts/"+co.Object(t)["id"].(string), a.Key).Body,
		"events": e.get("/v1/events", a.Key).Body,
	} {
		if !strings.Contains(string(body), "&uint256=") || strings.Contains(string(body), `\u0026`) {
			t.Errorf("%s: payment_uri is HTML-escaped on the wire: %s", name, body)
		}
	}
}
