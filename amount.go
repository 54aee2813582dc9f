package stablegate

import (
	"math/big"
	"strings"
)

// MaxPriceUSD is the largest price a checkout accepts, in whole dollars.
const MaxPriceUSD = 1_000_000_000

// USDDecimals is the number of decimals of a USD price.
const USDDecimals = 2

// ParseUnits parses a plain decimal string such as "50.00012" into base units
// with the given number of decimals. It rejects signs, exponents, empty parts
// ("5." or ".5"), separators and more fractional digits than decimals allows,
// so that a value never silently loses precision.
func ParseUnits(s string, decimals uint8) (*big.Int, error) {
	if s == "" {
		return nil, Errorf(EINVALID, "amount_invalid", "", "amount is empty")
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if len(whole) > 100 || len(frac) > 100 {
		return nil, Errorf(EINVALID, "amount_invalid", "", "amount is too long")
	}
	if whole == "" || (hasDot && frac == "") {
		return nil, Errorf(EINVALID, "amount_invalid", "", "amount %q is not a plain decimal number", s)
	}
	if !digitsOnly(whole) || !digitsOnly(frac) {
		return nil, Errorf(EINVALID, "amount_invalid", "", "amount %q is not a plain decimal number", s)
	}
	if len(frac) > int(decimals) {
		return nil, Errorf(EINVALID, "amount_too_precise", "", "amount %q has more than %d decimal places", s, decimals)
	}
	digits := whole + frac + strings.Repeat("0", int(decimals)-len(frac))
	v, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return nil, Errorf(EINVALID, "amount_invalid", "", "amount %q is not a plain decimal number", s)
	}
	return v, nil
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatUnits formats base units as a decimal string with trailing zeros
// trimmed but at least two fractional digits when decimals allows, so
// 50000120 with 6 decimals is "50.00012" and 50000000 is "50.00".
func FormatUnits(v *big.Int, decimals uint8) string {
	neg := v.Sign() < 0
	s := new(big.Int).Abs(v).String()
	d := int(decimals)
	if len(s) <= d {
		s = strings.Repeat("0", d-len(s)+1) + s
	}
	whole, frac := s[:len(s)-d], s[len(s)-d:]
	frac = strings.TrimRight(frac, "0")
	minFrac := min(d, USDDecimals)
	if len(frac) < minFrac {
		frac += strings.Repeat("0", minFrac-len(frac))
	}
	out := whole
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// ParsePrice parses a USD price ("49.00") into cents. The price must be
// positive, have at most two decimals and not exceed MaxPriceUSD.
func ParsePrice(s string) (int64, error) {
	v, err := ParseUnits(s, USDDecimals)
	if err != nil {
		e := ErrorOf(err)
		reason := "price_invalid"
		if e != nil && e.Reason == "amount_too_precise" {
			reason = "price_too_precise"
		}
		return 0, Errorf(EINVALID, reason, "price", "price must be a decimal string with at most 2 decimals, like \"49.00\"")
	}
	if v.Sign() <= 0 {
		return 0, Errorf(EINVALID, "price_not_positive", "price", "price must be greater than zero")
	}
	if v.Cmp(big.NewInt(MaxPriceUSD*100)) > 0 {
		return 0, Errorf(EINVALID, "price_too_large", "price", "price must not exceed %d", MaxPriceUSD)
	}
	return v.Int64(), nil
}

// FormatPrice formats cents as a USD decimal string ("49.00").
func FormatPrice(cents int64) string {
	return FormatUnits(big.NewInt(cents), USDDecimals)
}

// PriceToUnits converts a USD price in cents into token base units, treating
// the stablecoin as 1:1 with USD. decimals must be at least 2.
func PriceToUnits(cents int64, decimals uint8) *big.Int {
	v := big.NewInt(cents)
	return v.Mul(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)-USDDecimals), nil))
}
