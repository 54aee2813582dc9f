package checkout

import (
	"context"
	"math/big"
	"math/rand/v2"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/store"
)

// candidatesPerTry is how many random offsets one reservation call tries.
// At 90% occupancy eight random probes all fail 43% of the time, so a second
// round is common but a third rare; crowded windows switch to gap listing.
const candidatesPerTry = 8

// randomRounds is how many rounds of blind random probing precede listing
// the window's free offsets.
const randomRounds = 2

// maxRounds bounds the work per address under heavy contention.
const maxRounds = 5

// Allocator reserves fingerprinted amounts: the price plus a random offset of
// k steps of 10^-p tokens, 1 <= k <= K, unique per (chain, token, address).
type Allocator struct {
	store Store
	// IntN returns a random int in [0, n); the default is math/rand/v2.IntN.
	IntN func(n int) int
}

// NewAllocator returns an allocator over st.
func NewAllocator(st Store) *Allocator {
	return &Allocator{store: st, IntN: rand.IntN}
}

// Window describes the amounts one price may take at one precision.
type Window struct {
	Base  *big.Int // the price in base units
	Step  *big.Int // one offset step in base units
	Steps int      // K
}

// NewWindow computes the window of a price for a token with the given
// decimals under the merchant's settings. A precision finer than the token
// allows is clipped to the token's decimals, and K with it.
func NewWindow(cents int64, decimals uint8, s sg.MerchantSettings) Window {
	p := min(s.FingerprintDecimals, int(decimals))
	steps := min(s.FingerprintSteps, sg.MaxFingerprintSteps(p))
	step := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(int(decimals)-p)), nil)
	return Window{Base: sg.PriceToUnits(cents, decimals), Step: step, Steps: steps}
}

// Amount returns the amount at offset k.
func (w Window) Amount(k int) *big.Int {
	v := new(big.Int).Mul(w.Step, big.NewInt(int64(k)))
	return v.Add(v, w.Base)
}

// Offset returns k for an amount inside the window, or 0.
func (w Window) Offset(a *big.Int) int {
	d := new(big.Int).Sub(a, w.Base)
	q, r := new(big.Int).QuoRem(d, w.Step, new(big.Int))
	if r.Sign() != 0 || !q.IsInt64() || q.Int64() < 1 || q.Int64() > int64(w.Steps) {
		return 0
	}
	return int(q.Int64())
}

// Allocation is a reserved amount and the work it took.
type Allocation struct {
	Amount *big.Int
	Tries  int // candidate amounts examined in Redis
}

// Allocate reserves one amount of the window in space sp for the checkout
// until the given time. It returns a conflict "fingerprint_space_exhausted"
// when every offset of the window is taken in this space.
func (a *Allocator) Allocate(ctx context.Context, sp store.Space, w Window, checkoutID string, now, until time.Time) (Allocation, error) {
	req := store.ReserveRequest{
		Space:      sp,
		CheckoutID: checkoutID,
		WindowLow:  w.Amount(1),
		WindowHigh: w.Amount(w.Steps),
		Now:        now,
		Until:      until,
	}
	tries := 0
	for round := 0; round < maxRounds; round++ {
		var ks []int
		if round < randomRounds {
			ks = a.randomOffsets(w.Steps, candidatesPerTry)
		} else {
			free, err := a.freeOffsets(ctx, sp, w)
			if err != nil {
				return Allocation{}, err
			}
			if len(free) == 0 {
				break
			}
			ks = a.pick(free, candidatesPerTry)
		}
		req.Candidates = req.Candidates[:0]
		for _, k := range ks {
			req.Candidates = append(req.Candidates, w.Amount(k))
		}
		res, err := a.store.Reserve(ctx, req)
		if err != nil {
			return Allocation{}, err
		}
		tries += res.Tries
		if res.Amount != nil {
			return Allocation{Amount: res.Amount, Tries: tries}, nil
		}
		if res.Taken >= w.Steps {
			break
		}
	}
	return Allocation{Tries: tries}, sg.Errorf(sg.ECONFLICT, "fingerprint_space_exhausted", "",
		"every fingerprinted amount for this price is reserved at this address")
}

// randomOffsets returns up to n distinct random offsets in [1, steps].
func (a *Allocator) randomOffsets(steps, n int) []int {
	if steps <= n {
		out := make([]int, steps)
		for i := range out {
			out[i] = i + 1
		}
		a.shuffle(out)
		return out
	}
	seen := make(map[int]bool, n)
	out := make([]int, 0, n)
	for len(out) < n {
		k := a.IntN(steps) + 1
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// freeOffsets lists the offsets of the window nobody holds.
func (a *Allocator) freeOffsets(ctx context.Context, sp store.Space, w Window) ([]int, error) {
	taken, err := a.store.ReservedInWindow(ctx, sp, w.Amount(1), w.Amount(w.Steps), w.Steps)
	if err != nil {
		return nil, err
	}
	used := make([]bool, w.Steps+1)
	for _, t := range taken {
		if k := w.Offset(t); k > 0 {
			used[k] = true
		}
	}
	free := make([]int, 0, w.Steps-len(taken))
	for k := 1; k <= w.Steps; k++ {
		if !used[k] {
			free = append(free, k)
		}
	}
	return free, nil
}

func (a *Allocator) pick(xs []int, n int) []int {
	a.shuffle(xs)
	return xs[:min(n, len(xs))]
}

func (a *Allocator) shuffle(xs []int) {
	for i := len(xs) - 1; i > 0; i-- {
		j := a.IntN(i + 1)
		xs[i], xs[j] = xs[j], xs[i]
	}
}
