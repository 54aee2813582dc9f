package stablegate_test

import (
	"math/big"
	"strings"
	"testing"

	sg "github.com/stablegate/stablegate"
)

func bigInt(t testing.TB, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad test integer %q", s)
	}
	return v
}

// wantDomainError fails unless err is a domain error with exactly this code,
// reason and param.
func wantDomainError(t testing.TB, err error, code sg.ErrorCode, reason, param string) {
	t.Helper()
	e := sg.ErrorOf(err)
	if e == nil {
		t.Fatalf("error = %v, want a domain error %s/%s", err, code, reason)
	}
	if e.Code != code || e.Reason != reason || e.Param != param {
		t.Fatalf("error = {code %q, reason %q, param %q} (%v), want {code %q, reason %q, param %q}",
			e.Code, e.Reason, e.Param, err, code, reason, param)
	}
}

func TestParseUnits(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		decimals uint8
		want     string // base units; "" when an error is expected
		reason   string
	}{
		{name: "whole number", in: "50", decimals: 6, want: "50000000"},
		{name: "fingerprinted amount", in: "50.00012", decimals: 6, want: "50000120"},
		{name: "full precision", in: "0.000001", decimals: 6, want: "1"},
		{name: "all fraction digits used", in: "123.456789", decimals: 6, want: "123456789"},
		{name: "zero", in: "0", decimals: 6, want: "0"},
		{name: "zero with zero fraction", in: "0.000000", decimals: 6, want: "0"},
		{name: "leading zeros", in: "007.5", decimals: 6, want: "7500000"},
		{name: "18 decimals smallest unit", in: "0.000000000000000001", decimals: 18, want: "1"},
		{name: "18 decimals", in: "1.000000000000000001", decimals: 18, want: "1000000000000000001"},
		{name: "18 decimals large", in: "123456789.123456789012345678", decimals: 18, want: "123456789123456789012345678"},
		{name: "no decimals", in: "5", decimals: 0, want: "5"},
		{name: "two decimals", in: "49.01", decimals: 2, want: "4901"},
		{name: "100 characters", in: strings.Repeat("9", 100), decimals: 0, want: strings.Repeat("9", 100)},

		{name: "too many decimals", in: "1.0000001", decimals: 6, reason: "amount_too_precise"},
		{name: "19 decimals for 18", in: "0.0000000000000000001", decimals: 18, reason: "amount_too_precise"},
		{name: "fraction with no decimals", in: "5.0", decimals: 0, reason: "amount_too_precise"},
		{name: "three decimals for two", in: "49.001", decimals: 2, reason: "amount_too_precise"},

		{name: "empty", in: "", decimals: 6, reason: "amount_invalid"},
		{name: "leading dot", in: ".5", decimals: 6, reason: "amount_invalid"},
		{name: "trailing dot", in: "5.", decimals: 6, reason: "amount_invalid"},
		{name: "dot only", in: ".", decimals: 6, reason: "amount_invalid"},
		{name: "minus sign", in: "-5", decimals: 6, reason: "amount_invalid"},
		{name: "plus sign", in: "+5", decimals: 6, reason: "amount_invalid"},
		{name: "negative zero", in: "-0", decimals: 6, reason: "amount_invalid"},
		{name: "exponent", in: "1e6", decimals: 6, reason: "amount_invalid"},
		{name: "upper-case exponent", in: "1E6", decimals: 6, reason: "amount_invalid"},
		{name: "exponent in fraction", in: "1.5e2", decimals: 6, reason: "amount_invalid"},
		{name: "leading space", in: " 5", decimals: 6, reason: "amount_invalid"},
		{name: "trailing space", in: "5 ", decimals: 6, reason: "amount_invalid"},
		{name: "thousands separator", in: "1,000.00", decimals: 6, reason: "amount_invalid"},
		{name: "decimal comma", in: "49,00", decimals: 6, reason: "amount_invalid"},
		{name: "underscore", in: "1_000", decimals: 6, reason: "amount_invalid"},
		{name: "two dots", in: "1.2.3", decimals: 6, reason: "amount_invalid"},
		{name: "hex", in: "0x10", decimals: 6, reason: "amount_invalid"},
		{name: "full-width digit", in: "５", decimals: 6, reason: "amount_invalid"},
		{name: "infinity", in: "Inf", decimals: 6, reason: "amount_invalid"},
		{name: "101 characters", in: strings.Repeat("9", 101), decimals: 0, reason: "amount_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sg.ParseUnits(tt.in, tt.decimals)
			if tt.reason != "" {
				if got != nil {
					t.Errorf("ParseUnits(%q, %d) = %v, want nil with the error", tt.in, tt.decimals, got)
				}
				wantDomainError(t, err, sg.EINVALID, tt.reason, "")
				return
			}
			if err != nil {
				t.Fatalf("ParseUnits(%q, %d): %v", tt.in, tt.decimals, err)
			}
			if got.String() != tt.want {
				t.Errorf("ParseUnits(%q, %d) = %s, want %s", tt.in, tt.decimals, got, tt.want)
			}
		})
	}
}

func TestFormatUnits(t *testing.T) {
	tests := []struct {
		name     string
		v        string
		decimals uint8
		want     string
	}{
		{name: "fingerprinted amount", v: "50000120", decimals: 6, want: "50.00012"},
		{name: "round amount keeps two decimals", v: "50000000", decimals: 6, want: "50.00"},
		{name: "one cent", v: "10000", decimals: 6, want: "0.01"},
		{name: "zero", v: "0", decimals: 6, want: "0.00"},
		{name: "smallest unit", v: "1", decimals: 6, want: "0.000001"},
		{name: "trailing zeros trimmed", v: "10", decimals: 6, want: "0.00001"},
		{name: "every digit", v: "123456789", decimals: 6, want: "123.456789"},
		{name: "18 decimals", v: "1000000000000000001", decimals: 18, want: "1.000000000000000001"},
		{name: "18 decimals round", v: "49000000000000000000", decimals: 18, want: "49.00"},
		{name: "cents", v: "4901", decimals: 2, want: "49.01"},
		{name: "one decimal", v: "50", decimals: 1, want: "5.0"},
		{name: "one decimal below one", v: "5", decimals: 1, want: "0.5"},
		{name: "no decimals", v: "5", decimals: 0, want: "5"},
		{name: "zero no decimals", v: "0", decimals: 0, want: "0"},
		{name: "negative", v: "-5", decimals: 2, want: "-0.05"},
		{name: "negative fingerprinted", v: "-50000120", decimals: 6, want: "-50.00012"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sg.FormatUnits(bigInt(t, tt.v), tt.decimals); got != tt.want {
				t.Errorf("FormatUnits(%s, %d) = %q, want %q", tt.v, tt.decimals, got, tt.want)
			}
		})
	}
}

func TestParsePrice(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		cents  int64
		reason string
	}{
		{name: "two decimals", in: "49.00", cents: 4900},
		{name: "whole", in: "49", cents: 4900},
		{name: "one decimal", in: "49.5", cents: 4950},
		{name: "one cent", in: "0.01", cents: 1},
		{name: "just below the maximum", in: "999999999.99", cents: 99_999_999_999},
		{name: "maximum", in: "1000000000.00", cents: 100_000_000_000},
		{name: "maximum without decimals", in: "1000000000", cents: 100_000_000_000},

		{name: "zero", in: "0", reason: "price_not_positive"},
		{name: "zero with decimals", in: "0.00", reason: "price_not_positive"},
		{name: "one cent above the maximum", in: "1000000000.01", reason: "price_too_large"},
		{name: "one dollar above the maximum", in: "1000000001", reason: "price_too_large"},
		{name: "beyond int64", in: "99999999999999999999999999", reason: "price_too_large"},
		{name: "three decimals", in: "49.001", reason: "price_too_precise"},
		{name: "three zero decimals", in: "49.000", reason: "price_too_precise"},
		{name: "negative", in: "-1", reason: "price_invalid"},
		{name: "negative cent", in: "-0.01", reason: "price_invalid"},
		{name: "empty", in: "", reason: "price_invalid"},
		{name: "leading dot", in: ".5", reason: "price_invalid"},
		{name: "trailing dot", in: "5.", reason: "price_invalid"},
		{name: "exponent", in: "1e3", reason: "price_invalid"},
		{name: "decimal comma", in: "49,00", reason: "price_invalid"},
		{name: "currency sign", in: "$49.00", reason: "price_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sg.ParsePrice(tt.in)
			if tt.reason != "" {
				if got != 0 {
					t.Errorf("ParsePrice(%q) = %d, want 0 with the error", tt.in, got)
				}
				wantDomainError(t, err, sg.EINVALID, tt.reason, "price")
				return
			}
			if err != nil {
				t.Fatalf("ParsePrice(%q): %v", tt.in, err)
			}
			if got != tt.cents {
				t.Errorf("ParsePrice(%q) = %d, want %d", tt.in, got, tt.cents)
			}
		})
	}
}

func TestFormatPrice(t *testing.T) {
	tests := []struct {
		name  string
		cents int64
		want  string
	}{
		{name: "round", cents: 4900, want: "49.00"},
		{name: "cents", cents: 4901, want: "49.01"},
		{name: "one cent", cents: 1, want: "0.01"},
		{name: "maximum", cents: 100_000_000_000, want: "1000000000.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sg.FormatPrice(tt.cents); got != tt.want {
				t.Errorf("FormatPrice(%d) = %q, want %q", tt.cents, got, tt.want)
			}
		})
	}
}

func TestPriceToUnits(t *testing.T) {
	tests := []struct {
		name     string
		cents    int64
		decimals uint8
		want     string
	}{
		{name: "6 decimals", cents: 4900, decimals: 6, want: "49000000"},
		{name: "6 decimals with cents", cents: 4901, decimals: 6, want: "49010000"},
		{name: "18 decimals", cents: 4900, decimals: 18, want: "49000000000000000000"},
		{name: "2 decimals is cents", cents: 4900, decimals: 2, want: "4900"},
		{name: "one cent at 6 decimals", cents: 1, decimals: 6, want: "10000"},
		{name: "maximum price at 36 decimals", cents: 100_000_000_000, decimals: 36, want: "1" + strings.Repeat("0", 45)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sg.PriceToUnits(tt.cents, tt.decimals)
			if got.String() != tt.want {
				t.Errorf("PriceToUnits(%d, %d) = %s, want %s", tt.cents, tt.decimals, got, tt.want)
			}
			// The price in base units formats back to the price.
			if f, want := sg.FormatUnits(got, tt.decimals), sg.FormatPrice(tt.cents); f != want {
				t.Errorf("FormatUnits(PriceToUnits(%d, %d)) = %q, want %q", tt.cents, tt.decimals, f, want)
			}
		})
	}
}

// FuzzParseUnits checks that ParseUnits never panics, that its errors are
// domain "invalid" errors, and that whatever it accepts formats to a string
// it parses back to the same value.
func FuzzParseUnits(f *testing.F) {
	seeds := []struct {
		s string
		d uint8
	}{
		{"50.00012", 6}, {"0", 6}, {"0.000001", 6}, {"1.000000000000000001", 18}, {"5", 0},
		{"5.0", 1}, {".5", 6}, {"5.", 6}, {"-1", 6}, {"1e6", 6}, {"", 6}, {"007.10", 2},
		{"1000000000.00", 2}, {strings.Repeat("9", 100), 0},
		// 100 digits is the longest input ParseUnits accepts; with two or
		// more decimals its formatted form grows past that.
		{strings.Repeat("9", 100), 2},
	}
	for _, s := range seeds {
		f.Add(s.s, s.d)
	}
	f.Fuzz(func(t *testing.T, s string, decimals uint8) {
		v, err := sg.ParseUnits(s, decimals)
		if err != nil {
			if e := sg.ErrorOf(err); e == nil || e.Code != sg.EINVALID {
				t.Fatalf("ParseUnits(%q, %d) error %v is not an invalid domain error", s, decimals, err)
			}
			if v != nil {
				t.Fatalf("ParseUnits(%q, %d) = %v with error %v", s, decimals, v, err)
			}
			return
		}
		if v.Sign() < 0 {
			t.Fatalf("ParseUnits(%q, %d) = %v, a negative amount", s, decimals, v)
		}
		out := sg.FormatUnits(v, decimals)
		back, err := sg.ParseUnits(out, decimals)
		if err != nil {
			t.Fatalf("ParseUnits(%q, %d) = %v formats as %q, which does not parse: %v", s, decimals, v, out, err)
		}
		if back.Cmp(v) != 0 {
			t.Fatalf("ParseUnits(%q, %d) = %v formats as %q, which parses as %v", s, decimals, v, out, back)
		}
		if again := sg.FormatUnits(back, decimals); again != out {
			t.Fatalf("FormatUnits is not stable: %q then %q", out, again)
		}
	})
}
