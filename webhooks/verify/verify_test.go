package verify_test

import (
	"encoding/base64"
	"errors"
	"go/build"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stablegate/stablegate/webhooks/verify"
)

// The vector from the Standard Webhooks specification.
const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS     = 1614265330
	specBody   = `{"test": 2432232314}`
	specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// otherSecret is a valid secret that did not sign anything here.
const otherSecret = "whsec_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

func header(id, ts string, sigs ...string) http.Header {
	h := http.Header{}
	if id != "" {
		h.Set("webhook-id", id)
	}
	if ts != "" {
		h.Set("webhook-timestamp", ts)
	}
	for _, s := range sigs {
		h.Add("webhook-signature", s)
	}
	return h
}

func TestSpecVector(t *testing.T) {
	if got := signature(specSecret, specID, strconv.Itoa(specTS), specBody); got != specSig {
		t.Fatalf("hand-made signature %s, specification says %s", got, specSig)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name, secret string
		ok           bool
	}{
		{"prefixed", specSecret, true},
		{"bare base64", strings.TrimPrefix(specSecret, "whsec_"), true},
		{"32 bytes", otherSecret, true},
		{"64 bytes", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 64)), true},
		{"empty", "", false},
		{"prefix only", "whsec_", false},
		{"23 bytes", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 23)), false},
		{"65 bytes", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65)), false},
		{"not base64", "whsec_!!!!MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", false},
		{"url-safe alphabet", "whsec_" + base64.URLEncoding.EncodeToString([]byte{0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := verify.New(tc.secret)
			if tc.ok {
				if err != nil || v == nil || v.Tolerance != verify.DefaultTolerance {
					t.Fatalf("New(%q) = %+v, %v; want a verifier with the default tolerance", tc.secret, v, err)
				}
				return
			}
			if !errors.Is(err, verify.ErrInvalidSecret) || v != nil {
				t.Fatalf("New(%q) = %v, %v; want ErrInvalidSecret", tc.secret, v, err)
			}
		})
	}
}

func TestVerifyAt(t *testing.T) {
	ts := strconv.Itoa(specTS)
	at := time.Unix(specTS, 0)
	good := specSig
	bad := signature(otherSecret, specID, ts, specBody)
	for _, tc := range []struct {
		name      string
		secret    string        // default specSecret
		tolerance time.Duration // set on the verifier when non-zero
		header    http.Header
		body      string
		now       time.Time
		want      error
	}{
		{name: "valid", header: header(specID, ts, good), body: specBody, now: at},
		{name: "tampered body", header: header(specID, ts, good), body: `{"test": 2432232315}`, now: at, want: verify.ErrNoMatchingSignature},
		{name: "empty body", header: header(specID, ts, good), body: "", now: at, want: verify.ErrNoMatchingSignature},
		{name: "wrong secret", secret: otherSecret, header: header(specID, ts, good), body: specBody, now: at, want: verify.ErrNoMatchingSignature},
		{name: "other message id", header: header("msg_other", ts, good), body: specBody, now: at, want: verify.ErrNoMatchingSignature},
		{name: "signed at another time", header: header(specID, strconv.Itoa(specTS+1), good), body: specBody, now: at, want: verify.ErrNoMatchingSignature},
		{name: "five minutes old", header: header(specID, ts, good), body: specBody, now: at.Add(5 * time.Minute)},
		{name: "five minutes and a second old", header: header(specID, ts, good), body: specBody, now: at.Add(5*time.Minute + time.Second), want: verify.ErrTooOld},
		{name: "five minutes ahead", header: header(specID, ts, good), body: specBody, now: at.Add(-5 * time.Minute)},
		{name: "five minutes and a second ahead", header: header(specID, ts, good), body: specBody, now: at.Add(-5*time.Minute - time.Second), want: verify.ErrTooNew},
		{name: "hours old", header: header(specID, ts, good), body: specBody, now: at.Add(3 * time.Hour), want: verify.ErrTooOld},
		{name: "custom tolerance", tolerance: time.Minute, header: header(specID, ts, good), body: specBody, now: at.Add(2 * time.Minute), want: verify.ErrTooOld},
		{name: "missing id", header: header("", ts, good), body: specBody, now: at, want: verify.ErrMissingHeaders},
		{name: "missing timestamp", header: header(specID, "", good), body: specBody, now: at, want: verify.ErrMissingHeaders},
		{name: "missing signature", header: header(specID, ts), body: specBody, now: at, want: verify.ErrMissingHeaders},
		{name: "no headers", header: http.Header{}, body: specBody, now: at, want: verify.ErrMissingHeaders},
		{name: "timestamp not a number", header: header(specID, "yesterday", good), body: specBody, now: at, want: verify.ErrInvalidTimestamp},
		{name: "timestamp with sign", header: header(specID, "+"+ts, good), body: specBody, now: at, want: verify.ErrInvalidTimestamp},
		{name: "negative timestamp", header: header(specID, "-1", good), body: specBody, now: at, want: verify.ErrInvalidTimestamp},
		{name: "fractional timestamp", header: header(specID, ts+".5", good), body: specBody, now: at, want: verify.ErrInvalidTimestamp},
		{name: "timestamp in milliseconds", header: header(specID, ts+"000", good), body: specBody, now: at, want: verify.ErrTooNew},
		{name: "timestamp overflows", header: header(specID, "99999999999999999999", good), body: specBody, now: at, want: verify.ErrInvalidTimestamp},
		{name: "second of two matches", header: header(specID, ts, bad+" "+good), body: specBody, now: at},
		{name: "first of two matches", header: header(specID, ts, good+" "+bad), body: specBody, now: at},
		{name: "second header line matches", header: header(specID, ts, bad, good), body: specBody, now: at},
		{name: "extra spaces", header: header(specID, ts, "  "+bad+"   "+good+" "), body: specBody, now: at},
		{name: "only a wrong signature", header: header(specID, ts, bad), body: specBody, now: at, want: verify.ErrNoMatchingSignature},
		{name: "v1a ignored", header: header(specID, ts, "v1a,"+strings.TrimPrefix(good, "v1,")), body: specBody, now: at, want: verify.ErrNoMatchingSignature},
		{name: "v1a beside v1", header: header(specID, ts, "v1a,"+strings.TrimPrefix(good, "v1,")+" "+good), body: specBody, now: at},
		{name: "v2 ignored", header: header(specID, ts, "v2,"+strings.TrimPrefix(good, "v1,")), body: specBody, now: at, want: verify.ErrNoMatchingSignature},
		{name: "no version", header: header(specID, ts, strings.TrimPrefix(good, "v1,")), body: specBody, now: at, want: verify.ErrNoMatchingSignature},
		{name: "uppercase version", header: header(specID, ts, "V1,"+strings.TrimPrefix(good, "v1,")), body: specBody, now: at, want: verify.ErrNoMatchingSignature},
		{name: "truncated signature", header: header(specID, ts, good[:len(good)-1]), body: specBody, now: at, want: verify.ErrNoMatchingSignature},
		{name: "signature with trailing comma", header: header(specID, ts, good+","), body: specBody, now: at, want: verify.ErrNoMatchingSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret := tc.secret
			if secret == "" {
				secret = specSecret
			}
			v, err := verify.New(secret)
			if err != nil {
				t.Fatal(err)
			}
			if tc.tolerance != 0 {
				v.Tolerance = tc.tolerance
			}
			if err := v.VerifyAt(tc.header, []byte(tc.body), tc.now); err != tc.want {
				t.Fatalf("VerifyAt = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestVerifyUsesClock checks that Verify reads the current time: the spec
// vector, signed in 2021, is too old now and a fresh signature is not.
func TestVerifyUsesClock(t *testing.T) {
	v, err := verify.New(specSecret)
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.Itoa(specTS)
	if err := v.Verify(header(specID, ts, specSig), []byte(specBody)); err != verify.ErrTooOld {
		t.Fatalf("Verify(2021 delivery) = %v, want ErrTooOld", err)
	}
	now := strconv.FormatInt(time.Now().Unix(), 10)
	if err := v.Verify(header(specID, now, signature(specSecret, specID, now, specBody)), []byte(specBody)); err != nil {
		t.Fatalf("Verify(fresh delivery) = %v", err)
	}
}

func TestMiddleware(t *testing.T) {
	v, err := verify.New(specSecret)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	srv := httptest.NewServer(verify.Middleware(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen = append(seen, string(b))
	})))
	defer srv.Close()

	now := strconv.FormatInt(time.Now().Unix(), 10)
	for _, tc := range []struct {
		name   string
		sig    string
		body   string
		status int
	}{
		{"valid", signature(specSecret, specID, now, specBody), specBody, http.StatusOK},
		{"wrong signature", signature(otherSecret, specID, now, specBody), specBody, http.StatusUnauthorized},
		{"too large", signature(specSecret, specID, now, strings.Repeat("x", verify.MaxBodyBytes+1)), strings.Repeat("x", verify.MaxBodyBytes+1), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header = header(specID, now, tc.sig)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
	// The handler runs before the response is sent, so seen is complete.
	if len(seen) != 1 || seen[0] != specBody {
		t.Fatalf("handler saw bodies %q, want only the valid one", seen)
	}
}

// TestStandardLibraryOnly keeps the package importable by merchants without
// pulling in the gateway's dependencies.
func TestStandardLibraryOnly(t *testing.T) {
	p, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range p.Imports {
		if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") {
			t.Errorf("imports %s, which is not in the standard library", imp)
		}
	}
}

// FuzzVerify feeds arbitrary header values and bodies to the verifier: it
// never panics, every error is one of the sentinels, and it accepts only when
// a v1 entry of the signature header is the signature made by hand.
func FuzzVerify(f *testing.F) {
	ts := strconv.Itoa(specTS)
	f.Add(specID, ts, specSig, specBody)
	f.Add(specID, ts, "v1a,x "+specSig, specBody)
	f.Add(specID, ts, "v1,", "")
	f.Add("", "", "", "")
	f.Add(specID, "-1", specSig, specBody)
	f.Add(specID, "99999999999999999999", specSig, specBody)
	f.Add("a.b", "0"+ts, "v1,,v1 ,, v1", "\x00")
	v, err := verify.New(specSecret)
	if err != nil {
		f.Fatal(err)
	}
	sentinels := []error{verify.ErrMissingHeaders, verify.ErrInvalidTimestamp, verify.ErrTooOld, verify.ErrTooNew, verify.ErrNoMatchingSignature}
	f.Fuzz(func(t *testing.T, id, ts, sig, body string) {
		h := http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {sig}}
		err := v.VerifyAt(h, []byte(body), time.Unix(specTS, 0))
		if err == nil {
			want := signature(specSecret, id, ts, body)
			for _, f := range strings.Fields(sig) {
				if f == want {
					return
				}
			}
			t.Fatalf("accepted signature header %q, which lacks %q", sig, want)
		}
		for _, s := range sentinels {
			if err == s {
				return
			}
		}
		t.Fatalf("error %v is not a sentinel", err)
	})
}
