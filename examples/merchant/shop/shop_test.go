package shop_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stablegate/stablegate/examples/merchant/shop"
)

var key = []byte("0123456789abcdef0123456789abcdef")

var secret = "whsec_" + base64.StdEncoding.EncodeToString(key)

// delivery is a webhook request signed as Standard Webhooks specifies.
func delivery(id, body string, sign []byte) *http.Request {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, sign)
	mac.Write([]byte(id + "." + ts + "." + body))
	r := httptest.NewRequest(http.MethodPost, "/webhooks/stablegate", strings.NewReader(body))
	r.Header.Set("webhook-id", id)
	r.Header.Set("webhook-timestamp", ts)
	r.Header.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return r
}

func event(typ, checkout, link string) string {
	return `{"id":"evt_1","type":"` + typ + `","created":1,"data":{"id":"` + checkout + `","object":"checkout","status":"paid","metadata":{"payment_link":"` + link + `"}}}`
}

func TestWebhook(t *testing.T) {
	for _, c := range []struct {
		name       string
		body       string
		key        []byte
		wantStatus int
		wantOrder  string // status of co_1 afterwards, "" for none
	}{
		{"created", event("checkout.created", "co_1", "plink_shop"), key, http.StatusNoContent, "pending"},
		{"paid", event("checkout.paid", "co_1", "plink_shop"), key, http.StatusNoContent, "paid"},
		{"paid late", event("checkout.paid_late", "co_1", "plink_shop"), key, http.StatusNoContent, "paid"},
		{"another link", event("checkout.paid", "co_1", "plink_other"), key, http.StatusNoContent, ""},
		{"forged", event("checkout.paid", "co_1", "plink_shop"), []byte("not the endpoint's secret, no...."), http.StatusUnauthorized, ""},
		{"not json", "{", key, http.StatusBadRequest, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := shop.New(shop.Config{GatewayURL: "http://127.0.0.1:1", PaymentLink: "plink_shop", PublishableKey: "pk_test_x", WebhookSecret: secret})
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, delivery("msg_1", c.body, c.key))
			if w.Code != c.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, c.wantStatus, w.Body)
			}
			o, ok := s.Order("co_1")
			if got := map[bool]string{true: o.Status}[ok]; got != c.wantOrder {
				t.Fatalf("order status %q, want %q", got, c.wantOrder)
			}
		})
	}
}

func TestProductPage(t *testing.T) {
	s, err := shop.New(shop.Config{GatewayURL: "http://127.0.0.1:8080/", PaymentLink: "plink_shop", PublishableKey: "pk_test_x", WebhookSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	body := w.Body.String()
	for _, want := range []string{
		`data-stablegate-link="plink_shop"`, `data-stablegate-key="pk_test_x"`, `<script src="http://127.0.0.1:8080/widget/v1.js"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("product page lacks %s:\n%s", want, body)
		}
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src http://127.0.0.1:8080;") {
		t.Errorf("CSP %q does not allow the gateway's frame", csp)
	}
}
