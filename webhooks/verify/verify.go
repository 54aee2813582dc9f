// Package verify checks that a webhook delivery came from Stablegate: it
// verifies the Standard Webhooks v1 signature (https://www.standardwebhooks.com)
// over the raw body and refuses deliveries outside a time window, which
// defeats replays.
//
// Merchants import it into their own services, so it uses the standard
// library only.
package verify

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of a Standard Webhooks delivery.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a delivery's timestamp may lie from the
// receiver's clock, in either direction, unless Verifier.Tolerance says
// otherwise. It is the value the specification recommends.
const DefaultTolerance = 5 * time.Minute

// MaxBodyBytes is the largest body Middleware reads. Stablegate's events are
// a few kilobytes.
const MaxBodyBytes = 1 << 20

// Errors returned by New and Verify. Test for them with errors.Is.
var (
	ErrInvalidSecret       = errors.New("verify: secret is not whsec_ followed by base64 of 24 to 64 bytes")
	ErrMissingHeaders      = errors.New("verify: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrInvalidTimestamp    = errors.New("verify: webhook-timestamp is not a Unix time in seconds")
	ErrTooOld              = errors.New("verify: webhook-timestamp is too old")
	ErrTooNew              = errors.New("verify: webhook-timestamp is too far in the future")
	ErrNoMatchingSignature = errors.New("verify: no matching signature")
)

const secretPrefix = "whsec_"

// Verifier checks deliveries signed with one endpoint secret. It is safe for
// concurrent use.
type Verifier struct {
	// Tolerance is how far the webhook-timestamp may lie from now, in either
	// direction. Zero or negative means DefaultTolerance.
	Tolerance time.Duration

	key []byte
}

// New returns a Verifier for the endpoint secret as shown by Stablegate
// ("whsec_" followed by standard base64). The prefix may be left off.
func New(secret string) (*Verifier, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	// The specification allows keys of 24 to 64 bytes; Stablegate's have 32.
	if err != nil || len(key) < 24 || len(key) > 64 {
		return nil, ErrInvalidSecret
	}
	return &Verifier{Tolerance: DefaultTolerance, key: key}, nil
}

// Verify checks the delivery's headers and raw body against the secret and
// the current time. It returns nil when the delivery is authentic, otherwise
// ErrMissingHeaders, ErrInvalidTimestamp, ErrTooOld, ErrTooNew or
// ErrNoMatchingSignature.
func (v *Verifier) Verify(header http.Header, body []byte) error {
	return v.VerifyAt(header, body, time.Now())
}

// VerifyAt is Verify with the receiver's clock reading now.
//
// The webhook-signature header lists space-separated "version,signature"
// pairs (several while the sender rotates secrets); the delivery is authentic
// when any v1 signature matches. Other versions are ignored.
func (v *Verifier) VerifyAt(header http.Header, body []byte, now time.Time) error {
	id, ts, sigs := header.Get(HeaderID), header.Get(HeaderTimestamp), header.Values(HeaderSignature)
	if id == "" || ts == "" || len(sigs) == 0 {
		return ErrMissingHeaders
	}
	sec, err := parseTimestamp(ts)
	if err != nil {
		return err
	}
	// Whole seconds on both sides: the header carries no more precision.
	tol := int64(v.tolerance() / time.Second)
	switch n := now.Unix(); {
	case sec < n-tol:
		return ErrTooOld
	case sec > n+tol:
		return ErrTooNew
	}

	mac := hmac.New(sha256.New, v.key)
	io.WriteString(mac, id+"."+ts+".")
	mac.Write(body)
	want := []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	for _, value := range sigs {
		for field := range strings.FieldsSeq(value) {
			version, sig, ok := strings.Cut(field, ",")
			if ok && version == "v1" && hmac.Equal([]byte(sig), want) {
				return nil
			}
		}
	}
	return ErrNoMatchingSignature
}

func (v *Verifier) tolerance() time.Duration {
	if v.Tolerance <= 0 {
		return DefaultTolerance
	}
	return v.Tolerance
}

// parseTimestamp accepts decimal digits only: no sign, no fraction, so that
// the signed text and the time checked are the same.
func parseTimestamp(s string) (int64, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrInvalidTimestamp
		}
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, ErrInvalidTimestamp
	}
	return sec, nil
}

// Middleware returns a handler that verifies each request with v before
// passing it to next, with the body still readable. A body over MaxBodyBytes
// gets 413, a delivery that does not verify 401; next is not called then.
func Middleware(v *Verifier, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		if err := v.Verify(r.Header, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}
