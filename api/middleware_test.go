package api_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stablegate/stablegate/api"
	"github.com/stablegate/stablegate/store"
)

// TestRateLimit is not parallel: the limiter counts real time in Redis, so
// six requests are "rapid" only if they land inside one 200 ms emission
// interval (5 per second, burst 5) or one counting window. When they did not
// (a busy machine, a window boundary), the attempt is repeated with a fresh
// key, at most three times; nothing sleeps.
func TestRateLimit(t *testing.T) {
	e := newEnv(t, func(c *api.Config, _ *api.Deps) { c.RateLimit = 5 })
	a := e.newMerchant("A")
	b := e.newMerchant("B")

	header := func(r *response, name string) int {
		t.Helper()
		v, err := strconv.Atoi(r.Header.Get(name))
		if err != nil {
			t.Fatalf("%s header %q: %v", name, r.Header.Get(name), err)
		}
		return v
	}
	var limited *response
	for attempt := 1; limited == nil; attempt++ {
		if attempt > 3 {
			t.Fatal("the sixth rapid request was allowed in three attempts: no rate limit")
		}
		key, _ := e.newKey(a.ID, "secret", false)
		start := time.Now()
		for i := range 5 {
			r := e.get("/v1/merchant", key).ExpectStatus(t, http.StatusOK)
			if header(r, "RateLimit-Limit") != 5 {
				t.Fatalf("RateLimit-Limit %q, want 5", r.Header.Get("RateLimit-Limit"))
			}
			if rem := header(r, "RateLimit-Remaining"); rem < 0 || rem > 4 || (i == 0 && rem != 4) {
				t.Fatalf("request %d: RateLimit-Remaining %d", i+1, rem)
			}
			if header(r, "RateLimit-Reset") < 0 {
				t.Fatal("negative RateLimit-Reset")
			}
			if r.Header.Get("Retry-After") != "" {
				t.Fatal("Retry-After on an allowed request")
			}
		}
		r := e.get("/v1/merchant", key)
		if r.Status == http.StatusTooManyRequests {
			limited = r
			continue
		}
		r.ExpectStatus(t, http.StatusOK)
		t.Logf("attempt %d: the sixth request, %v after the first, was allowed (slow machine or a new rate window); retrying with a fresh key",
			attempt, time.Since(start))
	}
	r := limited
	r.ExpectError(t, http.StatusTooManyRequests, "rate_limited", "")
	if r.Error(t).Type != "rate_limit_error" {
		t.Errorf("error type %q", r.Error(t).Type)
	}
	if header(r, "Retry-After") < 1 || header(r, "RateLimit-Limit") != 5 || header(r, "RateLimit-Remaining") != 0 || header(r, "RateLimit-Reset") < 1 {
		t.Fatalf("429 headers: %v", r.Header)
	}
	// Other keys, of the same merchant or another, have budgets of their own.
	e.get("/v1/merchant", a.Key).ExpectStatus(t, http.StatusOK)
	e.get("/v1/merchant", b.Key).ExpectStatus(t, http.StatusOK)
	// The admin API is not rate limited (its operations document no 429).
	for range 8 {
		r := e.get("/admin/v1/merchants/"+a.ID, operatorToken).ExpectStatus(t, http.StatusOK)
		if r.Header.Get("RateLimit-Limit") != "" {
			t.Fatal("admin response carries RateLimit headers")
		}
	}
}

var requestIDPattern = regexp.MustCompile(`^req_[0-9a-z]{26}$`)

// TestRequestIDsAndSecurityHeaders: every response, success or error of any
// layer, has a fresh X-Request-Id, the error body repeats it, and the strict
// headers are set.
func TestRequestIDsAndSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newMerchant("A")
	e.addWallet(a.Key, "base-sepolia")
	huge := `{"price":"1.00","description":"` + strings.Repeat("x", 70_000) + `"}`
	cases := []struct {
		r      req
		status int
	}{
		{req{Method: "GET", Path: "/healthz"}, 200},
		{req{Method: "GET", Path: "/readyz"}, 200},
		{req{Method: "GET", Path: "/metrics"}, 200},
		{req{Method: "GET", Path: "/v1/openapi.json"}, 200},
		{req{Method: "GET", Path: "/v1/merchant", Auth: a.Key}, 200},
		{req{Method: "POST", Path: "/v1/checkouts", Auth: a.Key, Body: `{"price":"1.00"}`}, 200},
		{req{Method: "GET", Path: "/v1/merchant"}, 401},
		{req{Method: "POST", Path: "/v1/checkouts", Auth: a.Key, Body: `{}`}, 400},
		{req{Method: "POST", Path: "/v1/checkouts", Auth: a.Key, Body: huge}, 413},
		{req{Method: "POST", Path: "/v1/checkouts", Auth: a.Key, Body: `x`, Header: map[string]string{"Content-Type": "text/plain"}}, 415},
		{req{Method: "GET", Path: "/v1/checkouts/co_nope", Auth: a.Key}, 404},
		{req{Method: "GET", Path: "/v1/nope", Auth: a.Key}, 404},
		{req{Method: "GET", Path: "/nope"}, 404},
		// The /v1 group's catch-all answers an unknown method on a known
		// path with 404; outside the group echo answers 405.
		{req{Method: "PUT", Path: "/v1/checkouts", Auth: a.Key, Body: `{}`}, 404},
		{req{Method: "POST", Path: "/healthz"}, 405},
		{req{Method: "GET", Path: "/admin/v1/merchants", Auth: "wrong"}, 401},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		r := e.do(c.r)
		if r.Status != c.status {
			t.Errorf("%s %s: %d, want %d: %s", c.r.Method, c.r.Path, r.Status, c.status, r.Body)
			continue
		}
		id := r.Header.Get("X-Request-Id")
		if !requestIDPattern.MatchString(id) || seen[id] {
			t.Errorf("%s %s: X-Request-Id %q is missing, malformed or reused", c.r.Method, c.r.Path, id)
		}
		seen[id] = true
		if r.Status >= 400 {
			if got := r.Error(t).RequestID; got != id {
				t.Errorf("%s %s: error.request_id %q, X-Request-Id %q", c.r.Method, c.r.Path, got, id)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("%s %s: error Content-Type %q", c.r.Method, c.r.Path, ct)
			}
		}
		want := map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
			"Referrer-Policy":         "no-referrer",
			"Cache-Control":           "no-store",
		}
		if c.r.Path == "/v1/openapi.json" {
			want["Cache-Control"] = "public, max-age=300"
		}
		for h, v := range want {
			if got := r.Header.Get(h); got != v {
				t.Errorf("%s %s -> %d: %s %q, want %q", c.r.Method, c.r.Path, r.Status, h, got, v)
			}
		}
	}
	// An incoming X-Request-Id is not trusted: the server makes its own.
	r := e.do(req{Method: "GET", Path: "/healthz", Header: map[string]string{"X-Request-Id": "req_forged"}})
	if got := r.Header.Get("X-Request-Id"); got == "req_forged" || !requestIDPattern.MatchString(got) {
		t.Errorf("X-Request-Id %q", got)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if got := e.get("/healthz", "").ExpectStatus(t, http.StatusOK).Object(t); got["status"] != "ok" || got["version"] != "dev" || len(got) != 2 {
		t.Errorf("/healthz %v", got)
	}
	if got := e.get("/readyz", "").ExpectStatus(t, http.StatusOK).Object(t); got["status"] != "ok" || got["redis"] != "ok" || len(got) != 2 {
		t.Errorf("/readyz %v", got)
	}

	// A Redis that does not answer: nothing listens on port 1.
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = dead.Close() })
	down := newEnv(t, func(c *api.Config, d *api.Deps) { d.Ready = store.New(dead, "dead") })
	if got := down.get("/readyz", "").ExpectStatus(t, http.StatusServiceUnavailable).Object(t); got["status"] != "unavailable" || got["redis"] != "unreachable" {
		t.Errorf("/readyz with Redis down: %v", got)
	}
	// Liveness does not depend on Redis.
	down.get("/healthz", "").ExpectStatus(t, http.StatusOK)
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.get("/healthz", "").ExpectStatus(t, http.StatusOK)
	e.get("/v1/merchant", "").ExpectStatus(t, http.StatusUnauthorized)
	e.get("/v1/merchant", "").ExpectStatus(t, http.StatusUnauthorized)
	r := e.get("/metrics", "").ExpectStatus(t, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	body := string(r.Body)
	for _, line := range []string{
		"# TYPE stablegate_http_requests_total counter",
		`stablegate_http_requests_total{method="GET",route="/healthz",status="200"} 1`,
		`stablegate_http_requests_total{method="GET",route="/v1/merchant",status="401"} 2`,
		`stablegate_http_request_duration_seconds_count{method="GET",route="/healthz"} 1`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	if strings.Contains(body, "sk_test_") || strings.Contains(body, operatorToken) {
		t.Error("/metrics leaks a credential")
	}
}
