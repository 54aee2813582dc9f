package stablegate_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"testing"
	"time"

	sg "github.com/stablegate/stablegate"
)

func TestCanTransition(t *testing.T) {
	const (
		open       = sg.StatusOpen
		processing = sg.StatusProcessing
		paid       = sg.StatusPaid
		expired    = sg.StatusExpired
		canceled   = sg.StatusCanceled
	)
	// allowed is the lifecycle of DESIGN.md: a reorg moves processing back,
	// and a late payment still settles an expired or canceled checkout.
	allowed := map[[2]sg.CheckoutStatus]bool{
		{open, processing}:     true,
		{open, paid}:           true,
		{open, expired}:        true,
		{open, canceled}:       true,
		{processing, paid}:     true,
		{processing, open}:     true,
		{processing, expired}:  true,
		{processing, canceled}: true,
		{expired, processing}:  true,
		{expired, paid}:        true,
		{canceled, processing}: true,
		{canceled, paid}:       true,
	}
	states := append(sg.CheckoutStatuses(), "bogus", "")
	checked := 0
	for _, from := range states {
		for _, to := range states {
			name := fmt.Sprintf("%s->%s", from, to)
			t.Run(name, func(t *testing.T) {
				want := allowed[[2]sg.CheckoutStatus{from, to}]
				if got := sg.CanTransition(from, to); got != want {
					t.Errorf("CanTransition(%q, %q) = %v, want %v", from, to, got, want)
				}
			})
			checked++
		}
	}
	if checked != 49 {
		t.Fatalf("checked %d pairs, want 49", checked)
	}
}

func TestCheckoutStatusValid(t *testing.T) {
	want := []sg.CheckoutStatus{sg.StatusOpen, sg.StatusProcessing, sg.StatusPaid, sg.StatusExpired, sg.StatusCanceled}
	if got := sg.CheckoutStatuses(); !slices.Equal(got, want) {
		t.Fatalf("CheckoutStatuses() = %v, want %v", got, want)
	}
	for _, s := range want {
		if !s.Valid() {
			t.Errorf("%q.Valid() = false, want true", s)
		}
	}
	for _, s := range []sg.CheckoutStatus{"", "bogus", "Open", "cancelled"} {
		if s.Valid() {
			t.Errorf("%q.Valid() = true, want false", s)
		}
	}
}

func TestCheckoutTransition(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		from, to sg.CheckoutStatus
		want     sg.Checkout // the time fields after the move
		reason   string
	}{
		{name: "cancel", from: sg.StatusOpen, to: sg.StatusCanceled, want: sg.Checkout{Status: sg.StatusCanceled, CanceledAt: now.Unix()}},
		{name: "expire", from: sg.StatusOpen, to: sg.StatusExpired, want: sg.Checkout{Status: sg.StatusExpired, ExpiredAt: now.Unix()}},
		{name: "pay", from: sg.StatusProcessing, to: sg.StatusPaid, want: sg.Checkout{Status: sg.StatusPaid, PaidAt: now.Unix()}},
		{name: "process", from: sg.StatusOpen, to: sg.StatusProcessing, want: sg.Checkout{Status: sg.StatusProcessing}},
		{name: "cancel a paid checkout", from: sg.StatusPaid, to: sg.StatusCanceled, want: sg.Checkout{Status: sg.StatusPaid}, reason: "checkout_status_invalid"},
		{name: "cancel twice", from: sg.StatusCanceled, to: sg.StatusCanceled, want: sg.Checkout{Status: sg.StatusCanceled}, reason: "checkout_status_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &sg.Checkout{Status: tt.from}
			err := c.Transition(tt.to, now)
			if tt.reason != "" {
				wantDomainError(t, err, sg.ECONFLICT, tt.reason, "")
			} else if err != nil {
				t.Fatalf("Transition: %v", err)
			}
			got := sg.Checkout{Status: c.Status, CanceledAt: c.CanceledAt, ExpiredAt: c.ExpiredAt, PaidAt: c.PaidAt}
			if got.Status != tt.want.Status || got.CanceledAt != tt.want.CanceledAt || got.ExpiredAt != tt.want.ExpiredAt || got.PaidAt != tt.want.PaidAt {
				t.Errorf("after Transition: status %s canceled_at %d expired_at %d paid_at %d, want %s %d %d %d",
					got.Status, got.CanceledAt, got.ExpiredAt, got.PaidAt,
					tt.want.Status, tt.want.CanceledAt, tt.want.ExpiredAt, tt.want.PaidAt)
			}
		})
	}
}

func TestCheckoutMethodJSON(t *testing.T) {
	tests := []struct {
		name       string
		m          sg.CheckoutMethod
		amount     string // "" when absent from the JSON
		baseUnits  string
		isReserved bool
	}{
		{
			name: "reserved, 6 decimals",
			m: sg.CheckoutMethod{PaymentMethod: sg.PaymentMethod{Chain: "base", Token: "USDC"}, Decimals: 6,
				Address: "0x0000000000000000000000000000000000000001", Amount: big.NewInt(50_000_120)},
			amount: "50.00012", baseUnits: "50000120", isReserved: true,
		},
		{
			name: "reserved, 18 decimals",
			m: sg.CheckoutMethod{PaymentMethod: sg.PaymentMethod{Chain: "bsc", Token: "USDT"}, Decimals: 18,
				Amount: new(big.Int).Mul(big.NewInt(4_900_001), new(big.Int).Exp(big.NewInt(10), big.NewInt(13), nil))},
			amount: "49.00001", baseUnits: "49000010000000000000", isReserved: true,
		},
		{
			name: "not reserved",
			m:    sg.CheckoutMethod{PaymentMethod: sg.PaymentMethod{Chain: "base", Token: "USDC"}, Decimals: 6},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			var raw map[string]any
			if err := json.Unmarshal(b, &raw); err != nil {
				t.Fatal(err)
			}
			gotAmount, hasAmount := raw["amount"]
			gotBase, hasBase := raw["amount_base_units"]
			if tt.amount == "" {
				if hasAmount || hasBase {
					t.Fatalf("JSON %s has an amount, want none", b)
				}
			} else if gotAmount != tt.amount || gotBase != tt.baseUnits {
				t.Fatalf("JSON amount %v, amount_base_units %v; want %q, %q (%s)", gotAmount, gotBase, tt.amount, tt.baseUnits, b)
			}
			var back sg.CheckoutMethod
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.IsReserved() != tt.isReserved {
				t.Fatalf("IsReserved after round trip = %v, want %v", back.IsReserved(), tt.isReserved)
			}
			if tt.isReserved && back.Amount.Cmp(tt.m.Amount) != 0 {
				t.Fatalf("amount after round trip = %v, want %v", back.Amount, tt.m.Amount)
			}
			if back.PaymentMethod != tt.m.PaymentMethod || back.Decimals != tt.m.Decimals || back.Address != tt.m.Address {
				t.Fatalf("round trip = %+v, want %+v", back, tt.m)
			}
		})
	}
}

func TestNewIDFormat(t *testing.T) {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	now := time.Date(2030, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	seen := map[string]bool{}
	for range 1000 {
		id := sg.NewID(sg.PrefixCheckout, now)
		if len(id) != len(sg.PrefixCheckout)+26 || id[:len(sg.PrefixCheckout)] != sg.PrefixCheckout {
			t.Fatalf("NewID = %q, want %q and 26 characters", id, sg.PrefixCheckout)
		}
		for _, r := range id[len(sg.PrefixCheckout):] {
			if !containsRune(alphabet, r) {
				t.Fatalf("NewID = %q has %q outside the alphabet", id, r)
			}
		}
		if seen[id] {
			t.Fatalf("NewID returned %q twice in the same millisecond", id)
		}
		seen[id] = true
	}
}

func containsRune(s string, r rune) bool {
	for _, x := range s {
		if x == r {
			return true
		}
	}
	return false
}

func TestNewIDOrdering(t *testing.T) {
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		times []time.Time
	}{
		{name: "consecutive milliseconds", times: steps(base, time.Millisecond, 2000)},
		{name: "seconds", times: steps(base, time.Second, 100)},
		{name: "years", times: steps(time.UnixMilli(1), 365*24*time.Hour, 200)},
		{name: "carry across a base32 digit", times: []time.Time{time.UnixMilli(31), time.UnixMilli(32), time.UnixMilli(1023), time.UnixMilli(1024)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev := ""
			for i, at := range tt.times {
				id := sg.NewID(sg.PrefixEvent, at)
				if i > 0 && id <= prev {
					t.Fatalf("id at %v = %q sorts at or before the id of the previous millisecond %q", at, id, prev)
				}
				prev = id
			}
		})
	}
}

func steps(from time.Time, d time.Duration, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = from.Add(time.Duration(i) * d)
	}
	return out
}

func TestIDTimeBound(t *testing.T) {
	tests := []struct {
		name string
		at   time.Time
	}{
		{name: "epoch", at: time.UnixMilli(0)},
		{name: "now-ish", at: time.Date(2030, 1, 2, 3, 4, 5, 6_000_000, time.UTC)},
		{name: "sub-millisecond part", at: time.Date(2030, 1, 2, 3, 4, 5, 6_999_999, time.UTC)},
		{name: "far future", at: time.Date(8000, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo := sg.IDTimeBound(sg.PrefixCheckout, tt.at)
			hi := sg.IDTimeBound(sg.PrefixCheckout, tt.at.Add(time.Millisecond))
			if lo >= hi {
				t.Fatalf("bound(t) = %q not below bound(t+1ms) = %q", lo, hi)
			}
			for range 200 {
				id := sg.NewID(sg.PrefixCheckout, tt.at)
				if id < lo || id >= hi {
					t.Fatalf("NewID = %q outside [%q, %q)", id, lo, hi)
				}
			}
			// An id of the previous millisecond is below the bound.
			if before := sg.NewID(sg.PrefixCheckout, tt.at.Add(-time.Millisecond)); tt.at.UnixMilli() > 0 && before >= lo {
				t.Fatalf("id one millisecond earlier %q is not below the bound %q", before, lo)
			}
		})
	}
	if got, want := sg.IDTimeBound("co_", time.UnixMilli(0)), "co_00000000000000000000000000"; got != want {
		t.Errorf("IDTimeBound at the epoch = %q, want %q", got, want)
	}
	if got, want := sg.IDTimeBound("co_", time.Unix(-100, 0)), sg.IDTimeBound("co_", time.UnixMilli(0)); got != want {
		t.Errorf("IDTimeBound before the epoch = %q, want the epoch bound %q", got, want)
	}
}

func TestMerchantSettingsValidate(t *testing.T) {
	def := sg.DefaultMerchantSettings()
	with := func(p, k int, late int64) sg.MerchantSettings {
		return sg.MerchantSettings{FingerprintDecimals: p, FingerprintSteps: k, LateWindowSeconds: late}
	}
	const day = 24 * 3600
	tests := []struct {
		name   string
		s      sg.MerchantSettings
		reason string
		param  string
	}{
		{name: "defaults", s: def},
		{name: "smallest precision", s: with(3, 9, day)},
		{name: "six decimals", s: with(6, 9999, day)},
		{name: "largest precision, most steps", s: with(8, 99_999, day)},
		{name: "one step", s: with(5, 1, day)},
		{name: "no late window", s: with(5, 999, 0)},
		{name: "week-long late window", s: with(5, 999, 7*day)},

		{name: "zero value", s: sg.MerchantSettings{}, reason: "fingerprint_decimals_invalid", param: "settings.fingerprint_decimals"},
		{name: "two decimals", s: with(2, 9, day), reason: "fingerprint_decimals_invalid", param: "settings.fingerprint_decimals"},
		{name: "nine decimals", s: with(9, 999, day), reason: "fingerprint_decimals_invalid", param: "settings.fingerprint_decimals"},
		{name: "zero steps", s: with(5, 0, day), reason: "fingerprint_steps_invalid", param: "settings.fingerprint_steps"},
		{name: "negative steps", s: with(5, -1, day), reason: "fingerprint_steps_invalid", param: "settings.fingerprint_steps"},
		{name: "offset of one cent at 3 decimals", s: with(3, 10, day), reason: "fingerprint_steps_invalid", param: "settings.fingerprint_steps"},
		{name: "offset of one cent at 5 decimals", s: with(5, 1_000, day), reason: "fingerprint_steps_invalid", param: "settings.fingerprint_steps"},
		{name: "above the step cap", s: with(8, 100_000, day), reason: "fingerprint_steps_invalid", param: "settings.fingerprint_steps"},
		{name: "negative late window", s: with(5, 999, -1), reason: "late_window_invalid", param: "settings.late_window_seconds"},
		{name: "late window over a week", s: with(5, 999, 7*day+1), reason: "late_window_invalid", param: "settings.late_window_seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Validate(%+v): %v", tt.s, err)
				}
				return
			}
			wantDomainError(t, err, sg.EINVALID, tt.reason, tt.param)
		})
	}
	if !reflect.DeepEqual(def, with(5, 999, day)) {
		t.Errorf("DefaultMerchantSettings() = %+v, want p=5, K=999, late window 24 h", def)
	}
	if got := def.LateWindow(); got != 24*time.Hour {
		t.Errorf("default LateWindow() = %v, want 24h", got)
	}
}

func TestErrorCodeOf(t *testing.T) {
	domain := sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such %s", "checkout")
	tests := []struct {
		name string
		err  error
		want sg.ErrorCode
	}{
		{name: "nil", err: nil, want: ""},
		{name: "plain error", err: errors.New("boom"), want: sg.EINTERNAL},
		{name: "domain error", err: domain, want: sg.ENOTFOUND},
		{name: "wrapped domain error", err: fmt.Errorf("get checkout: %w", domain), want: sg.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sg.ErrorCodeOf(tt.err); got != tt.want {
				t.Errorf("ErrorCodeOf(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
	if got, want := domain.Error(), "resource_missing (id): no such checkout"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := sg.Errorf(sg.ECONFLICT, "", "", "x").ReasonOrCode(), "conflict"; got != want {
		t.Errorf("ReasonOrCode() without a reason = %q, want %q", got, want)
	}
}
