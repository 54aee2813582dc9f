package webhooks_test

import (
	"testing"
	"time"

	"github.com/stablegate/stablegate/webhooks"
)

func TestNextAttempt(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name       string
		made       int
		retryAfter time.Duration
		jitter     int
		want       time.Duration
		ok         bool
	}{
		{name: "after the first", made: 1, want: 5 * time.Second, ok: true},
		{name: "after the second", made: 2, want: 5 * time.Minute, ok: true},
		{name: "third", made: 3, want: 30 * time.Minute, ok: true},
		{name: "fourth", made: 4, want: 2 * time.Hour, ok: true},
		{name: "fifth", made: 5, want: 5 * time.Hour, ok: true},
		{name: "sixth", made: 6, want: 10 * time.Hour, ok: true},
		{name: "seventh", made: 7, want: 14 * time.Hour, ok: true},
		{name: "eighth", made: 8, want: 20 * time.Hour, ok: true},
		{name: "ninth", made: 9, want: 24 * time.Hour, ok: true},
		{name: "schedule over", made: 10, ok: false},
		{name: "none made", made: 0, ok: false},
		{name: "jitter +10%", made: 2, jitter: 1000, want: 330 * time.Second, ok: true},
		{name: "jitter -10%", made: 2, jitter: -1000, want: 270 * time.Second, ok: true},
		{name: "jitter clamped", made: 1, jitter: 5000, want: 5500 * time.Millisecond, ok: true},
		{name: "retry-after longer", made: 1, retryAfter: time.Minute, want: time.Minute, ok: true},
		{name: "retry-after shorter", made: 3, retryAfter: time.Minute, want: 30 * time.Minute, ok: true},
		{name: "retry-after cannot revive", made: 10, retryAfter: time.Minute, ok: false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := webhooks.NextAttempt(c.made, c.retryAfter, func() int { return c.jitter })
			if got != c.want || ok != c.ok {
				t.Errorf("NextAttempt(%d, %s) = %s, %v; want %s, %v", c.made, c.retryAfter, got, ok, c.want, c.ok)
			}
		})
	}
}
