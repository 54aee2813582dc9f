package verify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/stablegate/stablegate/webhooks/verify"
)

// A merchant's webhook handler: verify the delivery over the raw body first,
// then decode the event.
func ExampleVerifier_Verify() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // from the dashboard or the API
	v, err := verify.New(secret)
	if err != nil {
		panic(err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, verify.MaxBodyBytes))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		if err := v.Verify(r.Header, body); err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		var event struct {
			ID      string          `json:"id"`
			Type    string          `json:"type"`
			Created int64           `json:"created"`
			Data    json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &event); err != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		// Deliveries can repeat: act once per event.ID.
		fmt.Println(event.Type, event.ID, string(event.Data))
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(handler)
	defer srv.Close()

	// What Stablegate sends: a signed POST.
	body := `{"id":"evt_1","type":"checkout.paid","created":1700000000,"data":{"id":"co_1","status":"paid"}}`
	now := strconv.FormatInt(time.Now().Unix(), 10)
	for _, sig := range []string{signature(secret, "evt_1", now, body), "v1,forged"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("webhook-id", "evt_1")
		req.Header.Set("webhook-timestamp", now)
		req.Header.Set("webhook-signature", sig)
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// checkout.paid evt_1 {"id":"co_1","status":"paid"}
	// 204
	// 401
}

// signature computes a v1 signature by hand, as the gateway does (see
// package webhooks), independently of the package under test.
func signature(secret, id, ts, body string) string {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		panic(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + body))
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
