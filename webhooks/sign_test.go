package webhooks_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/stablegate/stablegate/webhooks"
	"github.com/stablegate/stablegate/webhooks/verify"
)

// Secrets for the vectors: the specification's, and two of our own.
var (
	specKey = mustDecode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	keyA    = mustDecode("3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGho=")
	keyB    = mustDecode("/////////////////////////////////////////w==")
	keyC    = mustDecode("c2VjcmV0IHRoYXQgc2lnbmVkIG5vdGhpbmcgaGVyZS4=")
)

// handSign computes one v1 signature with crypto/hmac, from the
// specification's wording rather than from the package's code.
func handSign(key []byte, id string, ts int64, body string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "." + body))
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// refSign signs with the specification's reference library.
func refSign(t *testing.T, key []byte, id string, ts time.Time, body string) string {
	t.Helper()
	wh, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := wh.Sign(id, ts, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestSign(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys [][]byte
		id   string
		ts   int64
		body string
		want string // "" means: the hand-made signatures, space-separated
	}{
		{
			name: "specification vector", keys: [][]byte{specKey},
			id: "msg_p5jXN8AQM9LWM0D4loKWxJek", ts: 1614265330, body: `{"test": 2432232314}`,
			want: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		},
		{name: "event", keys: [][]byte{keyA}, id: "evt_01HZX", ts: 1700000000, body: `{"id":"evt_01HZX","type":"checkout.paid","created":1700000000,"data":{}}`},
		{name: "rotation", keys: [][]byte{keyA, keyB}, id: "evt_01HZX", ts: 1700000000, body: `{"id":"evt_01HZX"}`},
		{name: "empty body", keys: [][]byte{keyB}, id: "evt_1", ts: 1, body: ""},
		{name: "dots in id and body", keys: [][]byte{keyC}, id: "a.b.c", ts: 1700000000, body: "..."},
		{name: "no secrets", keys: nil, id: "evt_1", ts: 1700000000, body: "{}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := time.Unix(tc.ts, 0)
			var hand, ref []string
			for _, k := range tc.keys {
				hand = append(hand, handSign(k, tc.id, tc.ts, tc.body))
				ref = append(ref, refSign(t, k, tc.id, ts, tc.body))
			}
			want := tc.want
			if want == "" {
				want = strings.Join(hand, " ")
			}
			got := webhooks.Sign(tc.keys, tc.id, ts, []byte(tc.body))
			if got != want {
				t.Fatalf("Sign = %q, want %q", got, want)
			}
			if r := strings.Join(ref, " "); got != r {
				t.Fatalf("Sign = %q, reference library says %q", got, r)
			}
			// Sub-second precision is dropped, as the header carries seconds.
			if late := webhooks.Sign(tc.keys, tc.id, ts.Add(999*time.Millisecond), []byte(tc.body)); late != got {
				t.Fatalf("Sign a fraction of a second later = %q, want %q", late, got)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	body := []byte(`{"id":"evt_1"}`)
	ts := time.Unix(1700000000, 0)
	for _, tc := range []struct {
		name, version, agent string
	}{
		{"release", "1.2.3", "Stablegate-Webhooks/1.2.3 (+https://github.com/stablegate/stablegate)"},
		{"no version", "", "Stablegate-Webhooks/dev (+https://github.com/stablegate/stablegate)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := webhooks.Headers([][]byte{keyA, keyB}, "evt_1", ts, body, tc.version)
			want := http.Header{
				"Webhook-Id":        {"evt_1"},
				"Webhook-Timestamp": {"1700000000"},
				"Webhook-Signature": {handSign(keyA, "evt_1", 1700000000, string(body)) + " " + handSign(keyB, "evt_1", 1700000000, string(body))},
				"Content-Type":      {"application/json"},
				"User-Agent":        {tc.agent},
			}
			if len(got) != len(want) {
				t.Fatalf("Headers = %v, want %v", got, want)
			}
			for k, v := range want {
				if g := got.Values(k); len(g) != 1 || g[0] != v[0] {
					t.Errorf("%s = %q, want %q", k, g, v)
				}
			}
		})
	}
}

// TestInteroperability checks our signing against the reference library's
// verifier and the reference library's signing against our verify package,
// with one secret and during a rotation, both ways round. The reference
// verifier reads the clock, so deliveries are stamped now.
func TestInteroperability(t *testing.T) {
	const id, body = "evt_01HZX", `{"id":"evt_01HZX","type":"checkout.paid"}`
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	enc := base64.StdEncoding.EncodeToString
	for _, tc := range []struct {
		name    string
		signers [][]byte // keys the delivery is signed with
		holder  []byte   // key the receiver holds
		ok      bool
	}{
		{"one secret", [][]byte{keyA}, keyA, true},
		{"rotation, receiver holds the old secret", [][]byte{keyA, keyB}, keyA, true},
		{"rotation, receiver holds the new secret", [][]byte{keyA, keyB}, keyB, true},
		{"wrong secret", [][]byte{keyA}, keyC, false},
		{"rotation, receiver holds neither", [][]byte{keyA, keyB}, keyC, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ours := webhooks.Headers(tc.signers, id, now, []byte(body), "test")
			ref, err := standardwebhooks.NewWebhook("whsec_" + enc(tc.holder))
			if err != nil {
				t.Fatal(err)
			}
			err = ref.Verify([]byte(body), ours)
			if tc.ok && err != nil || !tc.ok && !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
				t.Errorf("reference verifier on our delivery: %v, want ok=%v", err, tc.ok)
			}

			var sigs []string
			for _, k := range tc.signers {
				sigs = append(sigs, refSign(t, k, id, now, body))
			}
			theirs := http.Header{}
			theirs.Set(standardwebhooks.HeaderWebhookID, id)
			theirs.Set(standardwebhooks.HeaderWebhookTimestamp, ts)
			theirs.Set(standardwebhooks.HeaderWebhookSignature, strings.Join(sigs, " "))
			v, err := verify.New("whsec_" + enc(tc.holder))
			if err != nil {
				t.Fatal(err)
			}
			for name, h := range map[string]http.Header{"reference": theirs, "our": ours} {
				err := v.VerifyAt(h, []byte(body), now)
				if tc.ok && err != nil || !tc.ok && err != verify.ErrNoMatchingSignature {
					t.Errorf("verify on the %s delivery: %v, want ok=%v", name, err, tc.ok)
				}
			}
		})
	}
}
