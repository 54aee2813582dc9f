package api_test

import (
	"encoding/json"
	"testing"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/api"
)

// FuzzParseCreateCheckout feeds arbitrary bodies to the checkout body
// parser: it never panics, every error is a *stablegate.Error of code
// invalid with a reason and a message, and it accepts only valid JSON.
func FuzzParseCreateCheckout(f *testing.F) {
	for _, s := range []string{
		`{"price":"49.00"}`,
		`{"price":"49.00","currency":"USD","description":"d","order_id":"o","metadata":{"a":"b"},"expires_in":300,` +
			`"payment_methods":[{"chain":"base-sepolia","token":"USDC"}],"payment_method":{"chain":"base-sepolia","token":"USDC"},` +
			`"success_url":"https://x.example","cancel_url":"https://x.example","customer_email":"a@x.example"}`,
		`{"price":49}`, `{"price":null}`, `{"price":"1","payment_methods":[{}]}`, `{"price":"1","payment_methods":null}`,
		`{"price":"1","payment_method":{}}`, `{"expires_in":1e99}`, `{"metadata":{"a":1}}`, `{"metadata":[]}`,
		`{"zz":1}`, `[]`, `"x"`, `null`, `{`, ``, ` `, `{"price":"1"} {}`, `{"price":"1"}x`,
		"{\"price\":\"\xff\"}", `{"price":"1","price":"2"}`, `{"PRICE":"1"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := api.ParseCreateCheckout(body)
		if err == nil {
			if !json.Valid(body) {
				t.Fatalf("accepted a body that is not valid JSON: %q", body)
			}
			return
		}
		e, ok := err.(*sg.Error)
		if !ok {
			t.Fatalf("error %T (%v) is not a *stablegate.Error", err, err)
		}
		if e.Code != sg.EINVALID || e.Reason == "" || e.Message == "" {
			t.Fatalf("error %+v: want code invalid with a reason and a message", e)
		}
	})
}
