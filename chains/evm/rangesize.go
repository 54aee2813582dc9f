package evm

// rangeSizer adapts the block span of eth_getLogs: it halves the span when an
// endpoint refuses a range as too large (or times out on it), and doubles it
// back after growAfter full-size ranges in a row went through, so a provider
// with a small limit is met quickly and a calm one is scanned in big steps.
type rangeSizer struct {
	size      uint64 // blocks per range now
	min, max  uint64
	growAfter int
	calm      int // full-size ranges in a row that succeeded
}

func newRangeSizer(initial, min, max uint64, growAfter int) *rangeSizer {
	r := &rangeSizer{size: initial, min: min, max: max, growAfter: growAfter}
	r.size = clampRange(r.size, min, max)
	return r
}

// span returns the range to scan from `from` towards `to`: at most size
// blocks.
func (r *rangeSizer) span(from, to uint64) uint64 {
	if to-from+1 > r.size {
		return from + r.size - 1
	}
	return to
}

// shrink halves the span after a refusal of a range of n blocks. It reports
// false when the span was already at its minimum and cannot shrink further,
// so the caller stops retrying instead of looping.
func (r *rangeSizer) shrink(n uint64) bool {
	r.calm = 0
	if n <= r.min {
		return false
	}
	// Halve what was refused, not the current size: a refusal of a short
	// tail range says its limit is below that range, nothing more.
	r.size = clampRange(min(r.size, n/2), r.min, r.max)
	return true
}

// ok records a range of n blocks that went through. Only full-size ranges
// count towards growing: a short range near the head says nothing about the
// endpoint's limit.
func (r *rangeSizer) ok(n uint64) {
	if n < r.size {
		return
	}
	r.calm++
	if r.calm >= r.growAfter {
		r.calm = 0
		r.size = clampRange(r.size*2, r.min, r.max)
	}
}

func clampRange(v, lo, hi uint64) uint64 {
	return max(lo, min(v, hi))
}
