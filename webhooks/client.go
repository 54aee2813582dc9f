package webhooks

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout bounds one delivery attempt, from dialling to the end of the
// response body, when NewHTTPClient is given no timeout.
const DefaultTimeout = 15 * time.Second

// NewHTTPClient returns the client that delivers webhooks. It dials through
// g (a nil g is the zero Guard), so no delivery reaches a forbidden address;
// it ignores proxy settings from the environment, which would bypass that
// check; and it never follows redirects, since a redirect could point
// anywhere: the 3xx response is returned and counts as a failed attempt.
// Timeout zero or negative means DefaultTimeout.
func NewHTTPClient(g *Guard, timeout time.Duration) *http.Client {
	if g == nil {
		g = &Guard{}
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil,
			DialContext:            g.DialContext,
			ForceAttemptHTTP2:      true,
			TLSHandshakeTimeout:    10 * time.Second,
			MaxIdleConns:           256,
			MaxIdleConnsPerHost:    64, // as many as the per-endpoint limit lets run at once
			IdleConnTimeout:        90 * time.Second,
			MaxResponseHeaderBytes: 64 << 10,
		},
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// ParseRetryAfter reads a Retry-After header value, either delay-seconds or
// an HTTP-date, as the wait from now. A date in the past gives zero; a delay
// too long for a time.Duration gives the longest one. It reports false for an
// empty or malformed value.
func ParseRetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if strings.Trim(h, "0123456789") == "" {
		secs, err := strconv.ParseInt(h, 10, 64)
		if err != nil || secs > math.MaxInt64/int64(time.Second) {
			return math.MaxInt64, true // only digits: err is out of range
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
