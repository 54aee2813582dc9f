package webhooks_test

import (
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stablegate/stablegate/webhooks"
)

func TestClientDoesNotFollowRedirects(t *testing.T) {
	var followed atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/hooks", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		followed.Add(1)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c := webhooks.NewHTTPClient(newGuard(t, "127.0.0.0/8"), 0)
	resp, err := c.Post(srv.URL+"/hooks", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/elsewhere" || followed.Load() != 0 {
		t.Fatalf("status %d, Location %q, %d requests to the target; want 302 not followed",
			resp.StatusCode, resp.Header.Get("Location"), followed.Load())
	}
}

func TestClientTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // answers only when the client gives up
	}))
	defer srv.Close()

	c := webhooks.NewHTTPClient(newGuard(t, "127.0.0.0/8"), 50*time.Millisecond)
	resp, err := c.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("request to a server that never answers succeeded")
	}
	if !os.IsTimeout(err) {
		t.Fatalf("error %v, want a timeout", err)
	}
}

func TestNewHTTPClient(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   time.Duration
		want time.Duration
	}{
		{"default", 0, 15 * time.Second},
		{"negative", -time.Second, 15 * time.Second},
		{"given", 3 * time.Second, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := webhooks.NewHTTPClient(nil, tc.in)
			tr, ok := c.Transport.(*http.Transport)
			if !ok {
				t.Fatalf("transport %T, want *http.Transport", c.Transport)
			}
			// A proxy from the environment would dial on the guard's behalf.
			if c.Timeout != tc.want || tr.Proxy != nil || tr.DialContext == nil {
				t.Fatalf("timeout %v (want %v), proxy set %v, guarded dial %v", c.Timeout, tc.want, tr.Proxy != nil, tr.DialContext != nil)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		h    string
		want time.Duration
		ok   bool
	}{
		{"seconds", "120", 2 * time.Minute, true},
		{"zero", "0", 0, true},
		{"padded", " 30 ", 30 * time.Second, true},
		{"leading zeros", "007", 7 * time.Second, true},
		{"longest duration", "9223372036", 9223372036 * time.Second, true},
		{"beyond a duration", "9223372037", math.MaxInt64, true},
		{"beyond int64", "99999999999999999999999", math.MaxInt64, true},
		{"IMF-fixdate", "Sun, 01 Mar 2026 12:01:30 GMT", 90 * time.Second, true},
		{"RFC 850 date", "Sunday, 01-Mar-26 12:00:10 GMT", 10 * time.Second, true},
		{"asctime date", "Sun Mar  1 12:00:05 2026", 5 * time.Second, true},
		{"date now", "Sun, 01 Mar 2026 12:00:00 GMT", 0, true},
		{"date in the past", "Sun, 01 Mar 2026 11:00:00 GMT", 0, true},
		{"empty", "", 0, false},
		{"blank", "   ", 0, false},
		{"negative", "-5", 0, false},
		{"plus sign", "+5", 0, false},
		{"fraction", "1.5", 0, false},
		{"with unit", "5s", 0, false},
		{"words", "soon", 0, false},
		{"ISO date", "2026-03-01T12:01:00Z", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := webhooks.ParseRetryAfter(tc.h, now)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.h, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "", "-1", "1.5", "Sun, 01 Mar 2026 12:01:30 GMT", "Sun Mar  1 12:00:05 2026", "99999999999999999999"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, h string) {
		d, ok := webhooks.ParseRetryAfter(h, now)
		if d < 0 || !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, %v", h, d, ok)
		}
	})
}
