package api_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stablegate/stablegate/api"
)

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	t.Run("operator token", func(t *testing.T) {
		e := e.with(t)
		for _, auth := range []string{"", "op_wrong", "op_test_", "OP_TEST"} {
			e.do(req{Method: "POST", Path: "/admin/v1/merchants", Auth: auth, Body: map[string]any{"name": "X"}}).
				ExpectError(t, http.StatusUnauthorized, "operator_token_invalid", "")
		}
		a := e.newMerchant("A")
		e.get("/admin/v1/merchants", a.Key).ExpectError(t, http.StatusUnauthorized, "operator_token_invalid", "")
		if n := len(e.get("/admin/v1/merchants?limit=100", operatorToken).Data(t)); n != 1 {
			t.Fatalf("%d merchants after refused creations, want 1", n)
		}
	})

	t.Run("merchants and keys", func(t *testing.T) {
		e := newEnv(t)
		created := e.post("/admin/v1/merchants", operatorToken, map[string]any{"name": "  Shop A  "}).ExpectStatus(t, http.StatusOK).Object(t)
		m := created["merchant"].(map[string]any)
		k := created["api_key"].(map[string]any)
		id := m["id"].(string)
		secret := k["secret"].(string)
		settings := m["settings"].(map[string]any)
		if m["name"] != "Shop A" || m["object"] != "merchant" ||
			settings["fingerprint_decimals"] != jsonInt(5) || settings["fingerprint_steps"] != jsonInt(999) || settings["late_window_seconds"] != jsonInt(86400) {
			t.Fatalf("merchant %v", m)
		}
		if !regexp.MustCompile(`^sk_test_[0-9A-Za-z]{32}$`).MatchString(secret) || k["last4"] != secret[len(secret)-4:] ||
			k["merchant"] != id || k["kind"] != "secret" || k["livemode"] != false || k["object"] != "api_key" {
			t.Fatalf("api key %v", k)
		}
		// The secret works.
		if got := e.get("/v1/merchant", secret).ExpectStatus(t, http.StatusOK).Object(t); got["id"] != id {
			t.Fatalf("GET /v1/merchant with the new key: %v", got)
		}

		live := e.post("/admin/v1/merchants", operatorToken, map[string]any{"name": "Shop B", "livemode": true}).ExpectStatus(t, http.StatusOK).Object(t)
		liveSecret := live["api_key"].(map[string]any)["secret"].(string)
		if !strings.HasPrefix(liveSecret, "sk_live_") || live["api_key"].(map[string]any)["livemode"] != true {
			t.Fatalf("live merchant key %v", live["api_key"])
		}
		bID := live["merchant"].(map[string]any)["id"].(string)
		e.post("/admin/v1/merchants", operatorToken, map[string]any{"name": "  "}).ExpectError(t, http.StatusBadRequest, "name_invalid", "name")
		e.post("/admin/v1/merchants", operatorToken, nil).ExpectError(t, http.StatusBadRequest, "name_invalid", "name")
		e.post("/admin/v1/merchants", operatorToken, map[string]any{"name": strings.Repeat("n", 101)}).ExpectError(t, http.StatusBadRequest, "name_invalid", "name")

		got := e.get("/admin/v1/merchants/"+id, operatorToken).ExpectStatus(t, http.StatusOK).Object(t)
		if stringify(got) != stringify(m) {
			t.Fatalf("GET merchant %v, want %v", got, m)
		}
		e.get("/admin/v1/merchants/mer_nope", operatorToken).ExpectError(t, http.StatusNotFound, "resource_missing", "id")

		// Merchant list, ordered by id, paginated.
		all := e.get("/admin/v1/merchants?limit=100", operatorToken).ExpectStatus(t, http.StatusOK).IDs(t)
		want := []string{id, bID}
		slices.Sort(want)
		if !slices.Equal(all, want) {
			t.Fatalf("merchants %v, want %v", all, want)
		}
		p1 := e.get("/admin/v1/merchants?limit=1", operatorToken).ExpectStatus(t, http.StatusOK)
		p2 := e.get("/admin/v1/merchants?limit=1&starting_after="+p1.IDs(t)[0], operatorToken).ExpectStatus(t, http.StatusOK)
		if !slices.Equal(append(p1.IDs(t), p2.IDs(t)...), want) || p1.Object(t)["has_more"] != true || p2.Object(t)["has_more"] != false {
			t.Fatalf("pages %s %s", p1.Body, p2.Body)
		}

		// More keys.
		pk := e.post("/admin/v1/merchants/"+id+"/keys", operatorToken, map[string]any{"kind": "publishable"}).ExpectStatus(t, http.StatusOK).Object(t)
		if !strings.HasPrefix(pk["secret"].(string), "pk_test_") || pk["kind"] != "publishable" {
			t.Fatalf("publishable key %v", pk)
		}
		def := e.post("/admin/v1/merchants/"+id+"/keys", operatorToken, nil).ExpectStatus(t, http.StatusOK).Object(t)
		if !strings.HasPrefix(def["secret"].(string), "sk_test_") || def["kind"] != "secret" {
			t.Fatalf("default key %v", def)
		}
		e.post("/admin/v1/merchants/"+id+"/keys", operatorToken, map[string]any{"kind": "master"}).ExpectError(t, http.StatusBadRequest, "key_kind_invalid", "kind")
		e.post("/admin/v1/merchants/mer_nope/keys", operatorToken, nil).ExpectError(t, http.StatusNotFound, "resource_missing", "id")

		// Listing never shows a secret.
		keys := e.get("/admin/v1/merchants/"+id+"/keys", operatorToken).ExpectStatus(t, http.StatusOK)
		if ids := keys.IDs(t); !slices.Equal(ids, []string{k["id"].(string), pk["id"].(string), def["id"].(string)}) {
			t.Fatalf("keys %v", ids)
		}
		for _, s := range []string{secret, pk["secret"].(string), def["secret"].(string), `"secret":`, `"hash":`} {
			if strings.Contains(string(keys.Body), s) {
				t.Fatalf("key list shows %s: %s", s, keys.Body)
			}
		}
		for _, key := range keys.Data(t) {
			if _, ok := key["revoked"]; ok {
				t.Fatalf("unrevoked key with revoked: %v", key)
			}
		}

		// Revoke: the key stops working at once, the list shows it, and
		// revoking again keeps the first time.
		rev := e.post("/admin/v1/keys/"+k["id"].(string)+"/revoke", operatorToken, nil).ExpectStatus(t, http.StatusOK).Object(t)
		if rev["id"] != k["id"] || rev["revoked"] == nil || strings.Contains(stringify(rev), secret) {
			t.Fatalf("revoked key %v", rev)
		}
		e.get("/v1/merchant", secret).ExpectError(t, http.StatusUnauthorized, "api_key_invalid", "")
		e.get("/v1/merchant", def["secret"].(string)).ExpectStatus(t, http.StatusOK)
		again := e.post("/admin/v1/keys/"+k["id"].(string)+"/revoke", operatorToken, nil).ExpectStatus(t, http.StatusOK).Object(t)
		if again["revoked"] != rev["revoked"] {
			t.Fatalf("second revoke changed the time: %v -> %v", rev["revoked"], again["revoked"])
		}
		listed := e.get("/admin/v1/merchants/"+id+"/keys", operatorToken).Data(t)[0]
		if listed["revoked"] != rev["revoked"] {
			t.Fatalf("listed key %v, want revoked %v", listed, rev["revoked"])
		}
		e.post("/admin/v1/keys/key_nope/revoke", operatorToken, nil).ExpectError(t, http.StatusNotFound, "resource_missing", "id")
	})

	t.Run("disabled without a token", func(t *testing.T) {
		e := newEnv(t, func(c *api.Config, _ *api.Deps) { c.OperatorToken = "" })
		for _, auth := range []string{"", "anything"} {
			e.do(req{Method: "POST", Path: "/admin/v1/merchants", Auth: auth, Body: map[string]any{"name": "X"}}).
				ExpectError(t, http.StatusNotFound, "route_not_found", "")
			e.get("/admin/v1/merchants", auth).ExpectError(t, http.StatusNotFound, "route_not_found", "")
		}
	})
}

func stringify(v any) string {
	b, _ := jsonMarshal(v)
	return string(b)
}

func TestMerchantSelfService(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	b := e.newMerchant("B")
	before := e.get("/v1/merchant", b.Key).ExpectStatus(t, http.StatusOK).Body

	m := e.do(req{Method: "PATCH", Path: "/v1/merchant", Auth: a.Key, Body: map[string]any{"name": "A2", "settings": map[string]any{"fingerprint_steps": 99}}}).
		ExpectStatus(t, http.StatusOK).Object(t)
	st := m["settings"].(map[string]any)
	if m["name"] != "A2" || st["fingerprint_steps"] != jsonInt(99) || st["fingerprint_decimals"] != jsonInt(5) || st["late_window_seconds"] != jsonInt(86400) {
		t.Fatalf("patched merchant %v", m)
	}
	if got := e.get("/v1/merchant", a.Key).Object(t); stringify(got) != stringify(m) {
		t.Fatalf("GET after PATCH %v, want %v", got, m)
	}
	for _, c := range []struct {
		body        string
		code, param string
	}{
		{`{"settings":{"fingerprint_decimals":9}}`, "fingerprint_decimals_invalid", "settings.fingerprint_decimals"},
		{`{"settings":{"fingerprint_decimals":3,"fingerprint_steps":100}}`, "fingerprint_steps_invalid", "settings.fingerprint_steps"},
		{`{"settings":{"late_window_seconds":-1}}`, "late_window_invalid", "settings.late_window_seconds"},
		{`{"name":""}`, "name_invalid", "name"},
		{`{"name":5}`, "parameter_invalid_type", "name"},
		{`{"disabled":true}`, "parameter_unknown", "disabled"},
		{`{"settings":{"confirmations":{"dogechain":{"mode":"blocks","blocks":3}}}}`, "chain_unknown", "settings.confirmations"},
		{`{"settings":{"confirmations":{"base-sepolia":{"mode":"soon"}}}}`, "confirmation_invalid", "settings.confirmations.base-sepolia"},
		{`{"settings":{"confirmations":{"base-sepolia":{"mode":"blocks"}}}}`, "confirmation_invalid", "settings.confirmations.base-sepolia"},
		{`{"settings":{"confirmations":{"base-sepolia":{"mode":"blocks","blocks":10001}}}}`, "confirmation_invalid", "settings.confirmations.base-sepolia"},
		{`{"settings":{"confirmations":{"base-sepolia":{"mode":"blocks","blocks":-1}}}}`, "parameter_invalid_type", "settings.confirmations.blocks"},
	} {
		e.do(req{Method: "PATCH", Path: "/v1/merchant", Auth: a.Key, Body: c.body}).ExpectError(t, http.StatusBadRequest, c.code, c.param)
	}
	if got := e.get("/v1/merchant", a.Key).Object(t); stringify(got) != stringify(m) {
		t.Fatalf("refused PATCHes changed the merchant: %v", got)
	}
	if after := e.get("/v1/merchant", b.Key).Body; string(after) != string(before) {
		t.Fatalf("A's PATCH changed B: %s -> %s", before, after)
	}

	// Confirmation overrides merge per chain; null drops one.
	patch := func(body string) map[string]any {
		t.Helper()
		m := e.do(req{Method: "PATCH", Path: "/v1/merchant", Auth: a.Key, Body: body}).ExpectStatus(t, http.StatusOK).Object(t)
		return m["settings"].(map[string]any)
	}
	patch(`{"settings":{"confirmations":{"base-sepolia":{"mode":"blocks","blocks":3},"sepolia":{"mode":"safe"}}}}`)
	st = patch(`{"settings":{"confirmations":{"sepolia":null,"arbitrum-sepolia":{"mode":"finalized","blocks":40}}}}`)
	if got, want := stringify(st["confirmations"]), `{"arbitrum-sepolia":{"blocks":40,"mode":"finalized"},"base-sepolia":{"blocks":3,"mode":"blocks"}}`; got != want {
		t.Fatalf("confirmations after merge %s, want %s", got, want)
	}
	if st["fingerprint_steps"] != jsonInt(99) {
		t.Fatalf("a confirmations PATCH changed other settings: %v", st)
	}
	if st = patch(`{"settings":{"confirmations":{"base-sepolia":null,"arbitrum-sepolia":null}}}`); st["confirmations"] != nil {
		t.Fatalf("confirmations after dropping all: %v, want absent", st["confirmations"])
	}

	// The settings reach checkouts: p=3, K=9 means 49.001 to 49.009.
	e.do(req{Method: "PATCH", Path: "/v1/merchant", Auth: a.Key, Body: `{"settings":{"fingerprint_decimals":3,"fingerprint_steps":9}}`}).ExpectStatus(t, http.StatusOK)
	e.addWallet(a.Key, "base-sepolia")
	co := e.createCheckout(a.Key, map[string]any{"price": "49.00"})
	amount := method(t, co, "base-sepolia")["amount"].(string)
	if !regexp.MustCompile(`^49\.00[1-9]$`).MatchString(amount) {
		t.Fatalf("amount %q with p=3 K=9, want 49.001 to 49.009", amount)
	}
}

func TestWallets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	b := e.newMerchant("B")
	addr := newAddress(t)

	w := e.post("/v1/wallets", a.Key, map[string]any{"chain": "base-sepolia", "address": strings.ToLower(addr)}).ExpectStatus(t, http.StatusOK).Object(t)
	id := w["id"].(string)
	if w["address"] != addr || w["chain"] != "base-sepolia" || w["livemode"] != false || w["object"] != "wallet" || !strings.HasPrefix(id, "wal_") {
		t.Fatalf("wallet %v, want the checksummed %s", w, addr)
	}
	e.post("/v1/wallets", a.Key, map[string]any{"chain": "base-sepolia", "address": addr}).ExpectError(t, http.StatusConflict, "wallet_exists", "address")
	e.post("/v1/wallets", b.Key, map[string]any{"chain": "base-sepolia", "address": addr}).ExpectError(t, http.StatusConflict, "wallet_address_taken", "address")
	// The same address on another chain is another wallet.
	e.post("/v1/wallets", a.Key, map[string]any{"chain": "sepolia", "address": addr}).ExpectStatus(t, http.StatusOK)

	if got := e.get("/v1/wallets/"+id, a.Key).ExpectStatus(t, http.StatusOK).Object(t); stringify(got) != stringify(w) {
		t.Fatalf("GET wallet %v, want %v", got, w)
	}
	// Newest first, paged like every list.
	list := e.get("/v1/wallets", a.Key).ExpectStatus(t, http.StatusOK)
	ids := list.IDs(t)
	if len(ids) != 2 || ids[1] != id || list.Object(t)["url"] != "/v1/wallets" || list.Object(t)["has_more"] != false {
		t.Fatalf("wallets %s", list.Body)
	}
	first := e.get("/v1/wallets?limit=1", a.Key).ExpectStatus(t, http.StatusOK)
	if got := first.IDs(t); len(got) != 1 || got[0] != ids[0] || first.Object(t)["has_more"] != true {
		t.Fatalf("first page %s", first.Body)
	}
	next := e.get("/v1/wallets?limit=1&starting_after="+ids[0], a.Key).ExpectStatus(t, http.StatusOK)
	if got := next.IDs(t); len(got) != 1 || got[0] != id || next.Object(t)["has_more"] != false {
		t.Fatalf("second page %s", next.Body)
	}
	back := e.get("/v1/wallets?limit=1&ending_before="+id, a.Key).ExpectStatus(t, http.StatusOK)
	if got := back.IDs(t); len(got) != 1 || got[0] != ids[0] || back.Object(t)["has_more"] != false {
		t.Fatalf("page before %s", back.Body)
	}

	del := e.do(req{Method: "DELETE", Path: "/v1/wallets/" + id, Auth: a.Key}).ExpectStatus(t, http.StatusOK).Object(t)
	if del["id"] != id || del["object"] != "wallet" || del["deleted"] != true || len(del) != 3 {
		t.Fatalf("delete %v", del)
	}
	e.get("/v1/wallets/"+id, a.Key).ExpectError(t, http.StatusNotFound, "resource_missing", "id")
	e.do(req{Method: "DELETE", Path: "/v1/wallets/" + id, Auth: a.Key}).ExpectError(t, http.StatusNotFound, "resource_missing", "id")
	if n := e.count("/v1/wallets", a.Key); n != 1 {
		t.Fatalf("%d wallets after delete, want 1", n)
	}
	// A deleted address stays A's while payments to it may still arrive.
	e.post("/v1/wallets", b.Key, map[string]any{"chain": "base-sepolia", "address": addr}).ExpectError(t, http.StatusConflict, "wallet_address_taken", "address")
	e.post("/v1/wallets", a.Key, map[string]any{"chain": "base-sepolia", "address": addr}).ExpectStatus(t, http.StatusOK)
}
