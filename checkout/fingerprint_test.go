package checkout_test

import (
	"context"
	"math/big"
	"sync"
	"testing"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/merchant"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/store/storetest"
)

// TestCreateConcurrentAmountsAreUnique is the proof the fingerprint design
// rests on: many checkouts at one price to one address, created at once from
// many goroutines, never share an amount.
func TestCreateConcurrentAmountsAreUnique(t *testing.T) {
	const (
		total   = 5000
		workers = 64
	)
	f := newFixture(t)
	f.setSettings(f.m.ID, 6, 9999, 86400)
	w := f.addWallet(f.p, "base-sepolia")

	amounts := make([]*big.Int, total)
	addrs := make([]string, total)
	errs := make([]error, total)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				c, err := f.svc.Create(f.ctx, f.p, checkout.CreateParams{Price: "49.00"})
				if err != nil {
					errs[i] = err
					continue
				}
				m := c.Methods[0]
				amounts[i], addrs[i] = m.Amount, m.Address
			}
		})
	}
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	price := units("49000000")
	low, high := units("49000001"), units("49009999")
	seen := make(map[string]int, total)
	for i := range total {
		if errs[i] != nil {
			t.Fatalf("checkout %d: %v", i, errs[i])
		}
		a := amounts[i]
		if a == nil {
			t.Fatalf("checkout %d has no reserved amount", i)
		}
		if a.Cmp(price) == 0 || a.Cmp(low) < 0 || a.Cmp(high) > 0 {
			t.Fatalf("checkout %d amount %v outside [%v, %v]", i, a, low, high)
		}
		if addrs[i] != w.Address {
			t.Fatalf("checkout %d address %s, want the only wallet %s", i, addrs[i], w.Address)
		}
		if j, dup := seen[a.String()]; dup {
			t.Fatalf("checkouts %d and %d share amount %v", j, i, a)
		}
		seen[a.String()] = i
	}
	if len(seen) != total {
		t.Fatalf("%d distinct amounts, want %d", len(seen), total)
	}
	// The store agrees: one reservation per checkout, the same amounts.
	sp := store.Space{MerchantID: f.m.ID, Chain: "base-sepolia", Contract: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", Address: w.Address}
	reserved, err := f.st.ReservedInWindow(f.ctx, sp, low, high, 2*total)
	if err != nil {
		t.Fatal(err)
	}
	if len(reserved) != total {
		t.Fatalf("%d reservations in the store, want %d", len(reserved), total)
	}
	for _, r := range reserved {
		if _, ok := seen[r.String()]; !ok {
			t.Fatalf("stored reservation %v belongs to no checkout", r)
		}
	}
	if n := f.countCheckouts(f.m.ID, false); n != total {
		t.Fatalf("%d checkouts stored, want %d", n, total)
	}
}

// TestFingerprintExhaustion fills a price's K slots on the first wallet, then
// the second, then refuses.
func TestFingerprintExhaustion(t *testing.T) {
	f := newFixture(t)
	f.setSettings(f.m.ID, 3, 9, 86400)
	w1 := f.addWallet(f.p, "base-sepolia")
	w2 := f.addWallet(f.p, "base-sepolia")
	if w1.ID >= w2.ID {
		t.Fatalf("wallet ids %s, %s do not sort in creation order", w1.ID, w2.ID)
	}
	// K = 9 steps of 0.001: 49.001 .. 49.009 in base units of 6 decimals.
	window := map[string]bool{}
	for k := int64(1); k <= 9; k++ {
		window[big.NewInt(49_000_000+k*1000).String()] = true
	}
	for _, w := range []*sg.Wallet{w1, w2} {
		got := map[string]bool{}
		for i := range 9 {
			c := f.create(f.p, checkout.CreateParams{Price: "49.00"})
			m := c.Methods[0]
			if m.Address != w.Address {
				t.Fatalf("checkout %d landed on %s, want %s", i, m.Address, w.Address)
			}
			if !window[m.Amount.String()] || got[m.Amount.String()] {
				t.Fatalf("checkout %d amount %v is outside the window or repeated (%v)", i, m.Amount, got)
			}
			got[m.Amount.String()] = true
		}
	}
	keysBefore := f.redisKeys()
	_, err := f.svc.Create(f.ctx, f.p, checkout.CreateParams{Price: "49.00"})
	wantReason(t, err, sg.ECONFLICT, "fingerprint_space_exhausted", "payment_method")
	if n := f.countCheckouts(f.m.ID, false); n != 18 {
		t.Fatalf("%d checkouts stored, want 18", n)
	}
	if keysAfter := f.redisKeys(); len(keysAfter) != len(keysBefore) {
		t.Fatalf("the refused checkout left keys: %d before, %d after", len(keysBefore), len(keysAfter))
	}
	for _, w := range []*sg.Wallet{w1, w2} {
		sp := store.Space{MerchantID: f.m.ID, Chain: "base-sepolia", Contract: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", Address: w.Address}
		r, err := f.st.ReservedInWindow(f.ctx, sp, big.NewInt(0), big.NewInt(100_000_000), 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(r) != 9 {
			t.Fatalf("wallet %s holds %d reservations, want 9", w.Address, len(r))
		}
	}
	// Exhaustion is per price: another price still has all its slots.
	c := f.create(f.p, checkout.CreateParams{Price: "49.01"})
	if c.Methods[0].Address != w1.Address {
		t.Fatalf("49.01 landed on %s, want the first wallet", c.Methods[0].Address)
	}
}

// TestReservationHeldThroughLateWindow checks that an amount stays reserved
// past expiry until the late-payment window ends, so a late payment can
// never match a newer checkout.
func TestReservationHeldThroughLateWindow(t *testing.T) {
	f := newFixture(t)
	const late = 3600
	f.setSettings(f.m.ID, 3, 1, late) // one slot: 49.001
	f.addWallet(f.p, "base-sepolia")
	first := f.create(f.p, checkout.CreateParams{Price: "49.00", ExpiresIn: ptr[int64](300)})
	slot := big.NewInt(49_001_000)
	if first.Methods[0].Amount.Cmp(slot) != 0 {
		t.Fatalf("amount %v, want the only slot %v", first.Methods[0].Amount, slot)
	}
	if first.LateUntil != first.ExpiresAt+late {
		t.Fatalf("late_until %d, want expires_at %d + %d", first.LateUntil, first.ExpiresAt, late)
	}
	expiresAt, lateUntil := time.Unix(first.ExpiresAt, 0), time.Unix(first.LateUntil, 0)
	steps := []struct {
		name  string
		at    time.Time
		taken bool
	}{
		{name: "while open", at: t0, taken: true},
		{name: "just after expiry", at: expiresAt.Add(time.Second), taken: true},
		{name: "one second before the late window ends", at: lateUntil.Add(-time.Second), taken: true},
		{name: "after the late window", at: lateUntil.Add(time.Second), taken: false},
	}
	for _, s := range steps {
		f.clock.Set(s.at)
		if _, err := f.svc.ExpireDue(f.ctx, 100); err != nil {
			t.Fatal(err)
		}
		c, err := f.svc.Create(f.ctx, f.p, checkout.CreateParams{Price: "49.00"})
		if s.taken {
			if err == nil {
				t.Fatalf("%s: a new checkout got %v, still reserved by %s", s.name, c.Methods[0].Amount, first.ID)
			}
			wantReason(t, err, sg.ECONFLICT, "fingerprint_space_exhausted", "payment_method")
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if c.Methods[0].Amount.Cmp(slot) != 0 {
			t.Fatalf("%s: amount %v, want the freed slot %v", s.name, c.Methods[0].Amount, slot)
		}
		holder, live, err := f.st.ReservationHolder(f.ctx, space(c, &c.Methods[0]), slot, s.at)
		if err != nil || holder != c.ID || !live {
			t.Fatalf("%s: holder %q live %v err %v, want %s live", s.name, holder, live, err, c.ID)
		}
	}
	got, err := f.svc.Get(f.ctx, f.m.ID, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != sg.StatusExpired {
		t.Fatalf("first checkout is %s, want expired", got.Status)
	}
}

// TestFingerprintAmountsInWindow checks every reserved amount against the
// window of its settings and token.
func TestFingerprintAmountsInWindow(t *testing.T) {
	tests := []struct {
		name       string
		p, k       int
		chain      string
		token      string
		price      string
		base, step string // base units
		steps      int64
	}{
		{name: "defaults, 6 decimals", p: 5, k: 999, chain: "base-sepolia", token: "USDC", price: "49.00", base: "49000000", step: "10", steps: 999},
		{name: "coarse, 6 decimals", p: 3, k: 9, chain: "base-sepolia", token: "USDC", price: "0.01", base: "10000", step: "1000", steps: 9},
		{name: "finest, 6 decimals", p: 6, k: 9999, chain: "base-sepolia", token: "USDC", price: "1000000000.00", base: "1000000000000000", step: "1", steps: 9999},
		{name: "precision clipped to the token", p: 8, k: 5000, chain: "base-sepolia", token: "USDC", price: "12.34", base: "12340000", step: "1", steps: 5000},
		{name: "defaults, 18 decimals", p: 5, k: 999, chain: "devnet18", token: "USDT", price: "49.00", base: "49000000000000000000", step: "10000000000000", steps: 999},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.setSettings(f.m.ID, tt.p, tt.k, 86400)
			f.addWallet(f.p, tt.chain)
			base, step := units(tt.base), units(tt.step)
			low := new(big.Int).Add(base, step)
			high := new(big.Int).Add(base, new(big.Int).Mul(step, big.NewInt(tt.steps)))
			n := min(int(tt.steps), 40)
			seen := map[string]bool{}
			for range n {
				c := f.create(f.p, checkout.CreateParams{Price: tt.price, PaymentMethods: []sg.PaymentMethod{{Chain: tt.chain, Token: tt.token}}})
				a := c.Methods[0].Amount
				off, rem := new(big.Int).QuoRem(new(big.Int).Sub(a, base), step, new(big.Int))
				if a.Cmp(low) < 0 || a.Cmp(high) > 0 || rem.Sign() != 0 || off.Sign() <= 0 {
					t.Fatalf("amount %v is not price %v + k*%v with 1 <= k <= %d", a, base, step, tt.steps)
				}
				if seen[a.String()] {
					t.Fatalf("amount %v reserved twice", a)
				}
				seen[a.String()] = true
			}
		})
	}
}

// TestFingerprintNeverLandsOnRoundCents: a fingerprinted amount must never be
// a whole-cent amount, or a customer paying another checkout's round price
// (e.g. exactly 50.00) would match this checkout. Settings the merchant
// service accepts today (p=4, K=999: offsets up to 0.0999) let a 49.99
// checkout take exactly 50.0000.
func TestFingerprintNeverLandsOnRoundCents(t *testing.T) {
	f := newFixture(t)
	settings := sg.MerchantSettings{FingerprintDecimals: 4, FingerprintSteps: 999, LateWindowSeconds: 86400}
	if _, err := f.merchants.Update(f.ctx, f.m.ID, merchantUpdate(settings)); err != nil {
		// Refusing offsets of a cent or more closes the hole as well.
		wantReason(t, err, sg.EINVALID, "fingerprint_steps_invalid", "settings.fingerprint_steps")
		return
	}
	f.addWallet(f.p, "base-sepolia")
	// The allocator's random source picks offset 100 first (100 * 0.0001 =
	// one cent), then offsets 1, 2, ...
	f.svc.Allocator().IntN = startAt(99)
	c := f.create(f.p, checkout.CreateParams{Price: "49.99"})
	a := c.Methods[0].Amount
	cent := big.NewInt(10_000) // at 6 decimals
	if new(big.Int).Rem(a, cent).Sign() == 0 {
		t.Fatalf("a 49.99 checkout reserved %s, a whole-cent amount: a customer paying exactly that for a %s checkout would settle this one",
			sg.FormatUnits(a, 6), sg.FormatUnits(a, 6))
	}
}

func merchantUpdate(s sg.MerchantSettings) merchant.Update { return merchant.Update{Settings: &s} }

func TestNewWindow(t *testing.T) {
	tests := []struct {
		name     string
		cents    int64
		decimals uint8
		p, k     int
		base     string
		step     string
		steps    int
	}{
		{name: "defaults, 6 decimals", cents: 4900, decimals: 6, p: 5, k: 999, base: "49000000", step: "10", steps: 999},
		{name: "defaults, 18 decimals", cents: 4900, decimals: 18, p: 5, k: 999, base: "49000000000000000000", step: "10000000000000", steps: 999},
		{name: "precision equal to the token", cents: 1, decimals: 6, p: 6, k: 9999, base: "10000", step: "1", steps: 9999},
		{name: "precision clipped to the token", cents: 4900, decimals: 6, p: 8, k: 5000, base: "49000000", step: "1", steps: 5000},
		// Clipping the precision clips K to below 10^(p-1) with it, the bound
		// MerchantSettings.Validate applies. If that bound is tightened to
		// keep offsets under one cent (see TestFingerprintNeverLandsOnRoundCents),
		// this becomes 9.
		{name: "steps clipped below one cent", cents: 4900, decimals: 3, p: 5, k: 999, base: "49000", step: "1", steps: 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := checkout.NewWindow(tt.cents, tt.decimals, sg.MerchantSettings{FingerprintDecimals: tt.p, FingerprintSteps: tt.k})
			if w.Base.String() != tt.base || w.Step.String() != tt.step || w.Steps != tt.steps {
				t.Fatalf("NewWindow = {base %v, step %v, steps %d}, want {%s, %s, %d}", w.Base, w.Step, w.Steps, tt.base, tt.step, tt.steps)
			}
			for _, k := range []int{1, tt.steps / 2, tt.steps} {
				if k == 0 {
					continue
				}
				a := w.Amount(k)
				want := new(big.Int).Add(units(tt.base), new(big.Int).Mul(units(tt.step), big.NewInt(int64(k))))
				if a.Cmp(want) != 0 {
					t.Fatalf("Amount(%d) = %v, want %v", k, a, want)
				}
				if got := w.Offset(a); got != k {
					t.Fatalf("Offset(Amount(%d)) = %d", k, got)
				}
			}
			outside := map[string]*big.Int{
				"the price":         w.Amount(0),
				"one step above K":  w.Amount(tt.steps + 1),
				"one step below":    w.Amount(-1),
				"off the step grid": new(big.Int).Add(w.Amount(1), big.NewInt(1)),
			}
			if tt.step == "1" {
				delete(outside, "off the step grid")
			}
			for name, a := range outside {
				if got := w.Offset(a); got != 0 {
					t.Errorf("Offset(%s = %v) = %d, want 0", name, a, got)
				}
			}
		})
	}
}

// fixedIntN is a deterministic random source: it counts up modulo n and
// never returns skip (when skip < n).
func fixedIntN(skip int) func(int) int {
	i := 0
	return func(n int) int {
		for {
			v := i % n
			i++
			if v != skip || skip >= n {
				return v
			}
		}
	}
}

// startAt is a deterministic random source returning first, then counting
// up from 0 modulo n.
func startAt(first int) func(int) int {
	i := -1
	return func(n int) int {
		i++
		if i == 0 {
			return first
		}
		return (i - 1) % n
	}
}

func TestAllocateTries(t *testing.T) {
	ctx := context.Background()
	sp := store.Space{MerchantID: "mer_x", Chain: "base-sepolia", Contract: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", Address: "0x00000000000000000000000000000000000000Aa"}
	until := t0.Add(time.Hour)
	w := func(steps int) checkout.Window {
		return checkout.Window{Base: big.NewInt(49_000_000), Step: big.NewInt(1000), Steps: steps}
	}
	// fill reserves offsets 1..steps of the window except skip.
	fill := func(t *testing.T, st *store.Store, win checkout.Window, skip int) {
		t.Helper()
		for k := 1; k <= win.Steps; k++ {
			if k == skip {
				continue
			}
			res, err := st.Reserve(ctx, store.ReserveRequest{Space: sp, CheckoutID: "co_fill", Candidates: []*big.Int{win.Amount(k)},
				WindowLow: win.Amount(1), WindowHigh: win.Amount(win.Steps), Now: t0, Until: until})
			if err != nil || res.Amount == nil {
				t.Fatalf("fill offset %d: %+v %v", k, res, err)
			}
		}
	}
	tests := []struct {
		name   string
		steps  int
		skip   int // the one free offset after filling; 0 for an empty space, -1 for a full one
		intN   func(int) int
		amount int64 // 0: exhausted
		tries  int
	}{
		{name: "empty space takes the first candidate", steps: 9, skip: 0, intN: fixedIntN(-1), amount: 49_001_000, tries: 1},
		{name: "full window of at most eight probes each once", steps: 3, skip: -1, intN: fixedIntN(-1), tries: 3},
		{name: "full window stops after one round", steps: 9, skip: -1, intN: fixedIntN(-1), tries: 8},
		// Two blind rounds of 8 miss offset 7, then the gap listing finds it.
		{name: "crowded window falls back to the free list", steps: 20, skip: 7, intN: fixedIntN(6), amount: 49_007_000, tries: 17},
		{name: "crowded window, lucky first probe", steps: 20, skip: 7, intN: startAt(6), amount: 49_007_000, tries: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := storetest.New(t)
			win := w(tt.steps)
			if tt.skip != 0 {
				fill(t, st, win, tt.skip)
			}
			a := checkout.NewAllocator(st)
			a.IntN = tt.intN
			al, err := a.Allocate(ctx, sp, win, "co_new", t0, until)
			if tt.amount == 0 {
				wantReason(t, err, sg.ECONFLICT, "fingerprint_space_exhausted", "")
				if al.Amount != nil {
					t.Fatalf("exhausted allocation has amount %v", al.Amount)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if al.Amount.Int64() != tt.amount {
					t.Fatalf("amount %v, want %d", al.Amount, tt.amount)
				}
				holder, live, err := st.ReservationHolder(ctx, sp, al.Amount, t0)
				if err != nil || holder != "co_new" || !live {
					t.Fatalf("holder %q live %v err %v, want co_new live", holder, live, err)
				}
			}
			if al.Tries != tt.tries {
				t.Fatalf("tries %d, want %d", al.Tries, tt.tries)
			}
		})
	}
}
