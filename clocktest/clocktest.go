// Package clocktest gives tests a clock they move by hand, so behaviour
// that depends on time (expiry, retries, leases) is tested without
// sleeping. Services take its Now method as their sg.Clock.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a clock that moves only when told, or by Step on every reading.
// It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
	// step is added before each reading, so that ids made one after
	// another from the clock sort in order.
	step time.Duration
}

// New returns a clock standing at t.
func New(t time.Time) *Clock { return &Clock{now: t} }

// Stepping returns a clock at t that moves by step at every reading.
func Stepping(t time.Time, step time.Duration) *Clock { return &Clock{now: t, step: step} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

// Peek returns the clock's time without moving a stepping clock: the time
// of its last reading.
func (c *Clock) Peek() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
