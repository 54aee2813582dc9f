package stablegate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stablegate/stablegate/wiretest"
)

// The hand-written JSON of wire.go is held to the reflection code it
// replaced: refMethod, refPayment and refCheckoutType below are the types as
// encoding/json saw them before, with the old MarshalJSON bodies, and
// nothing in them calls wire.go. Decoding is encoding/json's own here; the
// store's fast decoder is held to it in store/wire_internal_test.go.

// refMethod is CheckoutMethod with its MarshalJSON as it was before
// wire.go: encoding/json over checkoutMethodJSON.
type refMethod CheckoutMethod

func (m refMethod) MarshalJSON() ([]byte, error) {
	return EncodeJSON(checkoutMethodJSON{checkoutMethodAlias(m), newAmountJSON(m.Amount, m.Decimals)})
}

// refPayment is Payment with its MarshalJSON as it was before wire.go.
type refPayment Payment

func (p refPayment) MarshalJSON() ([]byte, error) {
	return EncodeJSON(paymentJSON{paymentAlias(p), newAmountJSON(p.Amount, p.Decimals)})
}

// refCheckoutType is Checkout as encoding/json saw it before wire.go: the
// same fields and tags, no JSON methods, its methods typed refMethod. It is
// built from Checkout by reflection so that it follows any field added.
var refCheckoutType = func() reflect.Type {
	t := reflect.TypeFor[Checkout]()
	fields := make([]reflect.StructField, t.NumField())
	for i := range fields {
		fields[i] = t.Field(i)
		if fields[i].Type == reflect.TypeFor[[]CheckoutMethod]() {
			fields[i].Type = reflect.TypeFor[[]refMethod]()
		}
	}
	return reflect.StructOf(fields)
}()

// refCheckoutOf returns a pointer to c's fields as a refCheckoutType. Maps,
// slices and pointers other than the methods are shared with c.
func refCheckoutOf(c *Checkout) any {
	cv := reflect.ValueOf(c).Elem()
	rv := reflect.New(refCheckoutType)
	for i := range cv.NumField() {
		rv.Elem().Field(i).Set(convertField(cv.Field(i), refCheckoutType.Field(i).Type))
	}
	return rv.Interface()
}

// convertField converts v to t: as it is when the types match, else
// element by element for a slice whose elements have the same underlying
// type (nil stays nil).
func convertField(v reflect.Value, t reflect.Type) reflect.Value {
	if v.Type() == t {
		return v
	}
	if v.IsNil() {
		return reflect.Zero(t)
	}
	out := reflect.MakeSlice(t, v.Len(), v.Len())
	for j := range v.Len() {
		out.Index(j).Set(v.Index(j).Convert(t.Elem()))
	}
	return out
}

// refEncodeCheckout is what EncodeJSON(c) wrote before wire.go.
func refEncodeCheckout(tb testing.TB, c *Checkout) []byte {
	b, err := EncodeJSON(refCheckoutOf(c))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// wireDiff returns where got and want differ, "" when they do not. It is
// reflect.DeepEqual but for amounts, which compare by value: two equal
// big.Ints may keep their digits differently.
func wireDiff(got, want any) string {
	return diffValue(reflect.ValueOf(got), reflect.ValueOf(want), reflect.TypeOf(want).String())
}

func diffValue(a, b reflect.Value, path string) string {
	if a.Type() == reflect.TypeFor[*big.Int]() {
		x, y := a.Interface().(*big.Int), b.Interface().(*big.Int)
		if (x == nil) != (y == nil) || (x != nil && x.Cmp(y) != 0) {
			return fmt.Sprintf("%s = %v, want %v", path, x, y)
		}
		return ""
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return fmt.Sprintf("%s: nil %t, want nil %t", path, a.IsNil(), b.IsNil())
			}
			return ""
		}
		return diffValue(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		for i := range a.NumField() {
			if d := diffValue(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice, reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return fmt.Sprintf("%s = %#v, want %#v", path, a, b)
		}
		if a.Kind() == reflect.Slice {
			for i := range a.Len() {
				if d := diffValue(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); d != "" {
					return d
				}
			}
			return ""
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() {
				return fmt.Sprintf("%s has key %#v, want none", path, k)
			}
			if d := diffValue(a.MapIndex(k), bv, fmt.Sprintf("%s[%q]", path, k)); d != "" {
				return d
			}
		}
		return ""
	default:
		if !a.Equal(b) {
			return fmt.Sprintf("%s = %#v, want %#v", path, a, b)
		}
		return ""
	}
}

// wireNormalize changes v, in place, to what a round trip through JSON
// gives: invalid UTF-8 becomes U+FFFD byte by byte (so map keys may
// collide, the last in byte order winning, as they appear in the JSON), and
// json:"-" fields other than amounts are zero, since they are not in it.
func wireNormalize(v reflect.Value) {
	if v.Type() == reflect.TypeFor[*big.Int]() {
		return
	}
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); !utf8.ValidString(s) {
			v.SetString(string([]rune(s)))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			wireNormalize(v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			wireNormalize(v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.Tag.Get("json") == "-" && f.Type != reflect.TypeFor[*big.Int]() {
				v.Field(i).SetZero()
				continue
			}
			wireNormalize(v.Field(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		m := reflect.MakeMap(v.Type())
		for _, k := range keys {
			nk, ne := reflect.New(k.Type()).Elem(), reflect.New(v.Type().Elem()).Elem()
			nk.Set(k)
			ne.Set(v.MapIndex(k))
			wireNormalize(nk)
			wireNormalize(ne)
			m.SetMapIndex(nk, ne)
		}
		v.Set(m)
	}
}

const wireValues = 3000

// TestCheckoutAppendJSON: AppendJSON writes exactly what encoding/json
// wrote before, for checkouts, methods and payments with every field
// filled at random; MarshalJSON and EncodeJSON give the same bytes.
func TestCheckoutAppendJSON(t *testing.T) {
	t.Parallel()
	for seed := range uint64(wireValues) {
		g := wiretest.New(t, seed)
		c, m, p := wiretest.Value[Checkout](g), wiretest.Value[CheckoutMethod](g), wiretest.Value[Payment](g)

		if got, want := c.AppendJSON(nil), refEncodeCheckout(t, c); !bytes.Equal(got, want) {
			t.Fatalf("seed %d: Checkout.AppendJSON:\n got %s\nwant %s", seed, got, want)
		}
		want, err := refMethod(*m).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if got := m.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("seed %d: CheckoutMethod.AppendJSON:\n got %s\nwant %s", seed, got, want)
		}
		want, err = refPayment(*p).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if got := p.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("seed %d: Payment.AppendJSON:\n got %s\nwant %s", seed, got, want)
		}

		// What the events (MarshalJSON), EncodeJSON and the API
		// (encoding/json, inside a list) call.
		for _, v := range []interface{ AppendJSON([]byte) []byte }{c, m, p} {
			want := v.AppendJSON(nil)
			got, err := v.(json.Marshaler).MarshalJSON()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("seed %d: %T.MarshalJSON = %s, %v; want AppendJSON's %s", seed, v, got, err, want)
			}
			if got, err = EncodeJSON(v); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("seed %d: EncodeJSON(%T) = %s, %v; want AppendJSON's %s", seed, v, got, err, want)
			}
			if got, err = EncodeJSON([]any{v}); err != nil || string(got) != "["+string(want)+"]" {
				t.Fatalf("seed %d: EncodeJSON([]any{%T}) = %s, %v; want [%s]", seed, v, got, err, want)
			}
		}
	}
	for _, v := range []any{(*Checkout)(nil), (*Payment)(nil), (*CheckoutMethod)(nil)} {
		if got, err := EncodeJSON(v); err != nil || string(got) != "null" {
			t.Errorf("EncodeJSON(%#v) = %s, %v; want null", v, got, err)
		}
	}
}

// TestCheckoutJSONRoundTrip: json.Unmarshal of what AppendJSON wrote gives
// the value back, as far as JSON holds it; the fixtures the store's tests
// use as canonical records are what AppendJSON writes.
func TestCheckoutJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for seed := range uint64(wireValues) {
		g := wiretest.New(t, seed)
		c, m, p := wiretest.Value[Checkout](g), wiretest.Value[CheckoutMethod](g), wiretest.Value[Payment](g)
		g = wiretest.New(t, seed)
		wantC, wantM, wantP := wiretest.Value[Checkout](g), wiretest.Value[CheckoutMethod](g), wiretest.Value[Payment](g)
		wireNormalize(reflect.ValueOf(wantC))
		wireNormalize(reflect.ValueOf(wantM))
		wireNormalize(reflect.ValueOf(wantP))

		cb, mb, pb := c.AppendJSON(nil), m.AppendJSON(nil), p.AppendJSON(nil)
		var gotC Checkout
		if err := json.Unmarshal(cb, &gotC); err != nil {
			t.Fatalf("seed %d: decode checkout: %v\n%s", seed, err, cb)
		}
		if d := wireDiff(&gotC, wantC); d != "" {
			t.Fatalf("seed %d: checkout round trip: %s\n%s", seed, d, cb)
		}
		var gotM CheckoutMethod
		if err := json.Unmarshal(mb, &gotM); err != nil {
			t.Fatalf("seed %d: decode method: %v\n%s", seed, err, mb)
		}
		if d := wireDiff(&gotM, wantM); d != "" {
			t.Fatalf("seed %d: method round trip: %s\n%s", seed, d, mb)
		}
		var gotP Payment
		if err := json.Unmarshal(pb, &gotP); err != nil {
			t.Fatalf("seed %d: decode payment: %v\n%s", seed, err, pb)
		}
		if d := wireDiff(&gotP, wantP); d != "" {
			t.Fatalf("seed %d: payment round trip: %s\n%s", seed, d, pb)
		}
	}

	var c Checkout
	if err := json.Unmarshal([]byte(wiretest.CheckoutJSON), &c); err != nil {
		t.Fatal(err)
	}
	if got := c.AppendJSON(nil); string(got) != wiretest.CheckoutJSON {
		t.Errorf("wiretest.CheckoutJSON is not canonical:\n got %s\nwant %s", got, wiretest.CheckoutJSON)
	}
	var p Payment
	if err := json.Unmarshal([]byte(wiretest.PaymentJSON), &p); err != nil {
		t.Fatal(err)
	}
	if got := p.AppendJSON(nil); string(got) != wiretest.PaymentJSON {
		t.Errorf("wiretest.PaymentJSON is not canonical:\n got %s\nwant %s", got, wiretest.PaymentJSON)
	}
}

// TestAppendJSONString: strings copied as they are and strings escaped are
// both what EncodeJSON writes.
func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		s     string
		plain bool
	}{
		{"empty", "", true},
		{"ascii", "co_06h04ztg06ktfnhdjzdj2txv9r", true},
		{"html", "<a href='x'>&amp;</a>", true},
		{"delete", "\x7f", true},
		{"unicode", "caf\u00e9 \u65e5\u672c \U0001F600 \ufffd", true},
		{"quote", `a"b`, false},
		{"backslash", `a\b`, false},
		{"newline", "a\nb", false},
		{"nul", "\x00", false},
		{"line separator", "a\u2028b", false},
		{"paragraph separator", "a\u2029b", false},
		{"invalid UTF-8", "a\xffb", false},
		{"truncated rune", "\xe6\x97", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plainJSONText(tt.s); got != tt.plain {
				t.Errorf("plainJSONText(%q) = %t, want %t", tt.s, got, tt.plain)
			}
			want, err := EncodeJSON(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendJSONString([]byte("x"), tt.s); string(got) != "x"+string(want) {
				t.Fatalf("appendJSONString(%q) = %s, want x%s", tt.s, got, want)
			}
		})
	}
}

// BenchmarkCheckoutJSON compares encoding a paid checkout with the
// reflection code it replaced ("reflect") against AppendJSON, called
// directly, as the store does, and through EncodeJSON, where encoding/json
// calls MarshalJSON and compacts its output, as for API responses.
func BenchmarkCheckoutJSON(b *testing.B) {
	var c Checkout
	if err := json.Unmarshal([]byte(wiretest.CheckoutJSON), &c); err != nil {
		b.Fatal(err)
	}
	ref := refCheckoutOf(&c)
	b.Run("encode/reflect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := EncodeJSON(ref); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = c.AppendJSON(buf[:0])
		}
	})
	b.Run("encode/EncodeJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := EncodeJSON(&c); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPaymentJSON is BenchmarkCheckoutJSON for a payment.
func BenchmarkPaymentJSON(b *testing.B) {
	var p Payment
	if err := json.Unmarshal([]byte(wiretest.PaymentJSON), &p); err != nil {
		b.Fatal(err)
	}
	b.Run("encode/reflect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := refPayment(p).MarshalJSON(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = p.AppendJSON(buf[:0])
		}
	})
}
