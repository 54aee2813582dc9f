package api_test

import (
	"context"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/checkout"
)

// idRoute is a request on a route with an object id, for isolation tests.
type idRoute struct {
	method string
	path   string // with {id}
	id     string // the object to try
	body   any
}

// idRoutes are all /v1 routes that take an id, aimed at the given objects.
func idRoutes(checkoutID, walletID, eventID, paymentID, endpointID, deliveryID, productID, linkID string) map[string]idRoute {
	return map[string]idRoute{
		"GET /v1/checkouts/{id}":                        {http.MethodGet, "/v1/checkouts/{id}", checkoutID, nil},
		"POST /v1/checkouts/{id}/cancel":                {http.MethodPost, "/v1/checkouts/{id}/cancel", checkoutID, nil},
		"POST /v1/checkouts/{id}/payment_method":        {http.MethodPost, "/v1/checkouts/{id}/payment_method", checkoutID, map[string]string{"chain": "base-sepolia", "token": "USDC"}},
		"GET /v1/wallets/{id}":                          {http.MethodGet, "/v1/wallets/{id}", walletID, nil},
		"DELETE /v1/wallets/{id}":                       {http.MethodDelete, "/v1/wallets/{id}", walletID, nil},
		"GET /v1/events/{id}":                           {http.MethodGet, "/v1/events/{id}", eventID, nil},
		"GET /v1/payments/{id}":                         {http.MethodGet, "/v1/payments/{id}", paymentID, nil},
		"POST /v1/payments/{id}/attach":                 {http.MethodPost, "/v1/payments/{id}/attach", paymentID, map[string]string{"checkout": checkoutID}},
		"GET /v1/events/{id}/deliveries":                {http.MethodGet, "/v1/events/{id}/deliveries", eventID, nil},
		"POST /v1/events/{id}/redeliver":                {http.MethodPost, "/v1/events/{id}/redeliver", eventID, nil},
		"GET /v1/webhook-endpoints/{id}":                {http.MethodGet, "/v1/webhook-endpoints/{id}", endpointID, nil},
		"PATCH /v1/webhook-endpoints/{id}":              {http.MethodPatch, "/v1/webhook-endpoints/{id}", endpointID, map[string]any{"disabled": true}},
		"DELETE /v1/webhook-endpoints/{id}":             {http.MethodDelete, "/v1/webhook-endpoints/{id}", endpointID, nil},
		"POST /v1/webhook-endpoints/{id}/rotate-secret": {http.MethodPost, "/v1/webhook-endpoints/{id}/rotate-secret", endpointID, map[string]any{"overlap_seconds": 0}},
		"GET /v1/webhook-endpoints/{id}/deliveries":     {http.MethodGet, "/v1/webhook-endpoints/{id}/deliveries", endpointID, nil},
		"GET /v1/products/{id}":                         {http.MethodGet, "/v1/products/{id}", productID, nil},
		"PATCH /v1/products/{id}":                       {http.MethodPatch, "/v1/products/{id}", productID, map[string]any{"active": false, "price": "1.00"}},
		"GET /v1/payment-links/{id}":                    {http.MethodGet, "/v1/payment-links/{id}", linkID, nil},
		"PATCH /v1/payment-links/{id}":                  {http.MethodPatch, "/v1/payment-links/{id}", linkID, map[string]any{"active": false, "max_uses": 1}},
		"POST /v1/payment-links/{id}/checkouts":         {http.MethodPost, "/v1/payment-links/{id}/checkouts", linkID, nil},
		// The delivery is the object's own: another merchant's endpoint
		// in the path hides it, as the test below checks separately.
		"POST /v1/webhook-endpoints/{id}/deliveries/{delivery_id}/redeliver": {http.MethodPost, "/v1/webhook-endpoints/{id}/deliveries/" + deliveryID + "/redeliver", endpointID, nil},
	}
}

func (r idRoute) req(auth, id string) req {
	return req{Method: r.method, Path: strings.ReplaceAll(r.path, "{id}", id), Auth: auth, Body: r.body}
}

// TestTenantIsolation: merchant B gets exactly the 404 of a missing object
// for every one of merchant A's objects, on every route that takes an id,
// changes nothing, and never sees A's objects in a list.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	b := e.newMerchant("B")
	aWallet := e.addWallet(a.Key, "base-sepolia")["id"].(string)
	bWallet := e.addWallet(b.Key, "base-sepolia")["id"].(string)
	e.addWallet(a.Key, "sepolia")
	aCo := e.createCheckout(a.Key, map[string]any{"price": "49.00", "order_id": "shared"})["id"].(string)
	bCo := e.createCheckout(b.Key, map[string]any{"price": "49.00", "order_id": "shared", "payment_method": map[string]string{"chain": "base-sepolia", "token": "USDC"}})["id"].(string)
	aEvt := e.get("/v1/events", a.Key).ExpectStatus(t, http.StatusOK).IDs(t)[0]
	bEvt := e.get("/v1/events", b.Key).ExpectStatus(t, http.StatusOK).IDs(t)[0]
	aPay := e.payment(a.Key, "base-sepolia", baseSepoliaUSDC, e.get("/v1/wallets/"+aWallet, a.Key).Object(t)["address"].(string))
	bPay := e.payment(b.Key, "base-sepolia", baseSepoliaUSDC, e.get("/v1/wallets/"+bWallet, b.Key).Object(t)["address"].(string))
	aEp := e.createEndpoint(a.Key, hookURL, "*")["id"].(string)
	bEp := e.createEndpoint(b.Key, hookURL, "*")["id"].(string)
	aDlv := e.enqueue(a.ID, false, aEvt, aEp)
	e.enqueue(b.ID, false, bEvt, bEp)
	aProd := e.createProduct(a.Key, map[string]any{"name": "Tee", "price": "25.00"})["id"].(string)
	bProd := e.createProduct(b.Key, map[string]any{"name": "Tee", "price": "25.00"})["id"].(string)
	aLink := e.createLink(a.Key, map[string]any{"product": aProd})["id"].(string)
	bLink := e.createLink(b.Key, map[string]any{"product": bProd})["id"].(string)
	aObjects := []string{aWallet, aCo, aEvt, aPay, aEp, aDlv, aProd, aLink}
	snapshot := func() []string {
		return []string{
			string(e.get("/v1/checkouts/"+aCo, a.Key).ExpectStatus(t, http.StatusOK).Body),
			string(e.get("/v1/wallets/"+aWallet, a.Key).ExpectStatus(t, http.StatusOK).Body),
			string(e.get("/v1/events/"+aEvt, a.Key).ExpectStatus(t, http.StatusOK).Body),
			string(e.get("/v1/events?limit=100", a.Key).ExpectStatus(t, http.StatusOK).Body),
			string(e.get("/v1/payments/"+aPay, a.Key).ExpectStatus(t, http.StatusOK).Body),
			string(e.get("/v1/webhook-endpoints/"+aEp, a.Key).ExpectStatus(t, http.StatusOK).Body),
			string(e.get("/v1/webhook-endpoints/"+aEp+"/deliveries", a.Key).ExpectStatus(t, http.StatusOK).Body),
			string(e.get("/v1/events/"+aEvt+"/deliveries", a.Key).ExpectStatus(t, http.StatusOK).Body),
			string(e.get("/v1/products/"+aProd, a.Key).ExpectStatus(t, http.StatusOK).Body),
			string(e.get("/v1/payment-links/"+aLink, a.Key).ExpectStatus(t, http.StatusOK).Body),
		}
	}
	before := snapshot()

	routes := idRoutes(aCo, aWallet, aEvt, aPay, aEp, aDlv, aProd, aLink)
	for op := range serverOps(e.srv) {
		// A CORS preflight reads no object and needs no key.
		if strings.Contains(op, " /v1/") && strings.Contains(op, "{id}") && !strings.HasPrefix(op, "OPTIONS ") {
			if _, ok := routes[op]; !ok {
				t.Errorf("route %s takes an id but has no tenant isolation case", op)
			}
		}
	}
	missing := map[string]string{"/v1/checkouts/": "co_0000000000000000000000000a", "/v1/wallets/": "wal_0000000000000000000000000a", "/v1/events/": "evt_0000000000000000000000000a", "/v1/payments/": "pay_0000000000000000000000000a",
		"/v1/webhook-endpoints/": "we_0000000000000000000000000a", "/v1/products/": "prod_0000000000000000000000000a", "/v1/payment-links/": "plink_0000000000000000000000000a"}
	for op, r := range routes {
		t.Run(op, func(t *testing.T) {
			e := e.with(t)
			got := e.send(t, r.req(b.Key, r.id))
			if got.Status != http.StatusNotFound || got.Error(t).Code != "resource_missing" {
				t.Fatalf("merchant B on A's object: %d %s, want 404 resource_missing", got.Status, got.Body)
			}
			// Indistinguishable from an object that does not exist.
			var none string
			for prefix, id := range missing {
				if strings.HasPrefix(r.path, prefix) {
					none = id
				}
			}
			want := e.send(t, r.req(b.Key, none))
			ge, we := got.Error(t), want.Error(t)
			if got.Status != want.Status || ge.Code != we.Code || ge.Param != we.Param || ge.Message != we.Message || ge.Type != we.Type {
				t.Fatalf("A's object answers %d %+v, a missing one %d %+v: B can tell A's ids exist", got.Status, ge, want.Status, we)
			}
			// B's own object works on the same route (the case is not vacuous).
			own := map[string]string{aCo: bCo, aWallet: bWallet, aEvt: bEvt, aPay: bPay, aEp: bEp, aProd: bProd, aLink: bLink}[r.id]
			if r.method == http.MethodGet {
				e.send(t, r.req(b.Key, own)).ExpectStatus(t, http.StatusOK)
			}
		})
	}
	if after := snapshot(); !slices.Equal(after, before) {
		t.Fatalf("merchant B's requests changed merchant A's objects:\n%v\n%v", before, after)
	}

	// Lists: B sees its own objects and none of A's, whatever the filter
	// or cursor.
	for _, path := range []string{
		"/v1/checkouts", "/v1/checkouts?order_id=shared", "/v1/checkouts?status=open", "/v1/checkouts?starting_after=" + aCo,
		"/v1/checkouts?ending_before=co_0", "/v1/wallets", "/v1/events", "/v1/events?type=checkout.created", "/v1/events?ending_before=evt_0",
		"/v1/payments", "/v1/payments?unmatched=true", "/v1/webhook-endpoints", "/v1/webhook-endpoints?ending_before=we_0",
		"/v1/webhook-endpoints/" + bEp + "/deliveries", "/v1/events/" + bEvt + "/deliveries",
		"/v1/products", "/v1/products?ending_before=prod_0", "/v1/payment-links", "/v1/payment-links?ending_before=plink_0",
	} {
		r := e.get(path, b.Key).ExpectStatus(t, http.StatusOK)
		ids := r.IDs(t)
		for _, id := range aObjects {
			if slices.Contains(ids, id) || strings.Contains(string(r.Body), id) {
				t.Errorf("%s for B contains A's %s", path, id)
			}
		}
		if !strings.Contains(path, "starting_after") && len(ids) == 0 {
			t.Errorf("%s for B is empty; B's own objects are missing", path)
		}
	}
	if got := e.get("/v1/merchant", b.Key).Object(t)["id"]; got != b.ID {
		t.Errorf("GET /v1/merchant for B returned %v", got)
	}
}

// TestModeIsolation: a test key cannot see or change live-mode objects of
// its own merchant, and a live key cannot see test-mode ones.
func TestModeIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	live, _ := e.newKey(a.ID, "secret", true)
	if !strings.HasPrefix(live, "sk_live_") {
		t.Fatalf("live key %q", live)
	}
	liveWallet := e.addWallet(live, "base")
	if liveWallet["livemode"] != true {
		t.Fatalf("live wallet %v", liveWallet)
	}
	liveCo := e.createCheckout(live, map[string]any{"price": "49.00"})
	if liveCo["livemode"] != true || !strings.HasPrefix(method(t, liveCo, "base")["payment_uri"].(string), "ethereum:0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913@8453/transfer?address=") {
		t.Fatalf("live checkout %v", liveCo)
	}
	liveEvt := e.get("/v1/events", live).ExpectStatus(t, http.StatusOK).IDs(t)[0]
	livePay := e.payment(live, "base", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", liveWallet["address"].(string))
	testWallet := e.addWallet(a.Key, "base-sepolia")
	testCo := e.createCheckout(a.Key, map[string]any{"price": "49.00"})
	testEvt := e.get("/v1/events", a.Key).ExpectStatus(t, http.StatusOK).IDs(t)[0]
	testPay := e.payment(a.Key, "base-sepolia", baseSepoliaUSDC, testWallet["address"].(string))
	liveEp := e.createEndpoint(live, hookURL, "*")["id"].(string)
	liveDlv := e.enqueue(a.ID, true, liveEvt, liveEp)
	testEp := e.createEndpoint(a.Key, hookURL, "*")["id"].(string)
	testDlv := e.enqueue(a.ID, false, testEvt, testEp)
	liveProd := e.createProduct(live, map[string]any{"name": "Tee", "price": "25.00"})["id"].(string)
	liveLink := e.createLink(live, map[string]any{"product": liveProd})["id"].(string)
	testProd := e.createProduct(a.Key, map[string]any{"name": "Tee", "price": "25.00"})["id"].(string)
	testLink := e.createLink(a.Key, map[string]any{"product": testProd})["id"].(string)

	for _, c := range []struct {
		key, other  string
		co, wal, ev string
		pay         string
		ep, dlv     string
		ownCo       string
		prod, link  string
	}{
		{a.Key, "test key on live objects", liveCo["id"].(string), liveWallet["id"].(string), liveEvt, livePay, liveEp, liveDlv, testCo["id"].(string), liveProd, liveLink},
		{live, "live key on test objects", testCo["id"].(string), testWallet["id"].(string), testEvt, testPay, testEp, testDlv, liveCo["id"].(string), testProd, testLink},
	} {
		t.Run(c.other, func(t *testing.T) {
			e := e.with(t)
			for op, r := range idRoutes(c.co, c.wal, c.ev, c.pay, c.ep, c.dlv, c.prod, c.link) {
				got := e.send(t, r.req(c.key, r.id))
				if got.Status != http.StatusNotFound || got.Error(t).Code != "resource_missing" {
					t.Errorf("%s: %d %s, want 404 resource_missing", op, got.Status, got.Body)
				}
			}
			for _, path := range []string{"/v1/checkouts", "/v1/wallets", "/v1/events", "/v1/payments", "/v1/webhook-endpoints", "/v1/products", "/v1/payment-links"} {
				ids := e.get(path, c.key).ExpectStatus(t, http.StatusOK).IDs(t)
				for _, id := range []string{c.co, c.wal, c.ev, c.pay, c.ep, c.prod, c.link} {
					if slices.Contains(ids, id) {
						t.Errorf("%s lists %s of the other mode", path, id)
					}
				}
				if len(ids) == 0 {
					t.Errorf("%s is empty; the key's own objects are missing", path)
				}
			}
			e.get("/v1/checkouts/"+c.ownCo, c.key).ExpectStatus(t, http.StatusOK)
		})
	}
	// Nothing was changed from the other mode.
	if got := e.get("/v1/checkouts/"+liveCo["id"].(string), live).Object(t); got["status"] != "open" {
		t.Fatalf("live checkout is %v after test-mode requests", got["status"])
	}
	e.get("/v1/wallets/"+liveWallet["id"].(string), live).ExpectStatus(t, http.StatusOK)
	e.get("/v1/wallets/"+testWallet["id"].(string), a.Key).ExpectStatus(t, http.StatusOK)
	for key, ep := range map[string]string{live: liveEp, a.Key: testEp} {
		if got := e.get("/v1/webhook-endpoints/"+ep, key).ExpectStatus(t, http.StatusOK).Object(t); got["status"] != "enabled" {
			t.Fatalf("endpoint %s is %v after requests from the other mode", ep, got["status"])
		}
	}
	for key, link := range map[string]string{live: liveLink, a.Key: testLink} {
		if got := e.get("/v1/payment-links/"+link, key).ExpectStatus(t, http.StatusOK).Object(t); got["active"] != true || got["max_uses"] != jsonNumber("0") {
			t.Fatalf("payment link %s after requests from the other mode: %v", link, got)
		}
	}
	for _, dlv := range []string{liveDlv, testDlv} {
		if d, err := e.store.Delivery(context.Background(), a.ID, dlv); err != nil || d.Redelivery || d.Status != "failed" {
			t.Fatalf("delivery %s after requests from the other mode: %+v, %v", dlv, d, err)
		}
	}
}

// payment records a transfer of 1.234567 tokens to address through the real
// settler (unmatched: no checkout reserved that amount) and returns the
// payment's id as the key's merchant sees it.
func (e *env) payment(key, chain, token, address string) string {
	e.t.Helper()
	settler := checkout.NewSettler(e.store, chains.Builtin(), nil, testLogger(e.t))
	tr := chains.Transfer{
		Chain: chain, TxHash: "0x" + strings.Repeat("ab", 31) + fmt.Sprintf("%04x", len(address)+int(time.Now().UnixNano()%60000)),
		BlockNumber: 100, BlockHash: "0x" + strings.Repeat("cd", 32), BlockTime: time.Now().Unix(),
		From: newAddress(e.t), To: address, Token: token, Amount: big.NewInt(1_234_567),
	}
	if err := settler.Transfers(context.Background(), chain, []chains.Transfer{tr}); err != nil {
		e.t.Fatal(err)
	}
	ids := e.get("/v1/payments?unmatched=true", key).ExpectStatus(e.t, http.StatusOK).IDs(e.t)
	if len(ids) == 0 {
		e.t.Fatalf("no payment recorded for %s", address)
	}
	return ids[0]
}
