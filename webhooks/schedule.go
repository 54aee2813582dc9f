package webhooks

import (
	"math/rand/v2"
	"time"
)

// Schedule is the wait before each automatic attempt of a delivery, the
// Standard Webhooks recommendation: the first at once, then after 5 s,
// 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h, about 75 hours in all.
// A delivery whose last attempt fails is dead; the merchant can still
// redeliver it.
var Schedule = []time.Duration{
	0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour,
}

// JitterFunc spreads a retry's wait so that deliveries failed together do
// not all come back together. It returns the change to make in
// ten-thousandths of the wait, within ±MaxJitter; the default draws it
// uniformly.
type JitterFunc func() int

// MaxJitter is the largest change jitter makes to a wait, in ten-thousandths:
// ±10%.
const MaxJitter = 1000

func defaultJitter() int { return rand.IntN(2*MaxJitter+1) - MaxJitter }

// NextAttempt returns the wait before the next automatic attempt after
// made automatic attempts failed, with jitter j applied, and false when the
// schedule is over. retryAfter, when positive, is the receiver's
// Retry-After: no attempt comes sooner.
func NextAttempt(made int, retryAfter time.Duration, j JitterFunc) (time.Duration, bool) {
	if made < 1 || made >= len(Schedule) {
		return 0, false
	}
	wait := Schedule[made]
	wait += wait / 10_000 * time.Duration(min(max(j(), -MaxJitter), MaxJitter))
	return max(wait, retryAfter), true
}
