package store

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/wiretest"
)

// The fast decoders of wire.go are held to json.Unmarshal, which is what
// the store called before them: on any input, into a zero value or a filled
// one, they give the same value and the same error (its text included). The
// root package's tests hold json.Unmarshal of these types to the reflection
// code and AppendJSON to encoding/json.

// decodeDiff returns the first field where got and want, pointers to the
// same struct type, differ, "" when they do not. Amounts compare with
// reflect.DeepEqual too: both sides read them with big.Int.SetString, or
// kept the same generated ones.
func decodeDiff(got, want any) string {
	gv, wv := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := range gv.NumField() {
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if !reflect.DeepEqual(g, w) {
			return fmt.Sprintf("%s = %+v, want %+v", gv.Type().Field(i).Name, g, w)
		}
	}
	return ""
}

// errText returns err's text, "" for none, so that errors compare exactly.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// filledSeeds are the seeds of the filled values decoded into, besides a
// zero one. TestDecodeCheckoutJSON checks that their checkouts have
// metadata, a paid_with and methods, for the fast path to merge into or
// leave as they were.
var filledSeeds = []uint64{3, 4}

// checkCheckoutDecode fails t unless decodeCheckoutJSON gives for b what
// json.Unmarshal gives, into a zero checkout and into filled ones, value
// and error alike; it returns json.Unmarshal's error into the zero one.
func checkCheckoutDecode(t *testing.T, b []byte) error { return checkDecode(t, b, decodeCheckoutJSON) }

// checkPaymentDecode is checkCheckoutDecode for payments.
func checkPaymentDecode(t *testing.T, b []byte) error { return checkDecode(t, b, decodePaymentJSON) }

func checkDecode[T any](t *testing.T, b []byte, decode func([]byte, *T) error) error {
	var zeroErr error
	for _, seed := range append([]uint64{0}, filledSeeds...) {
		got, want := new(T), new(T)
		if seed > 0 {
			got, want = wiretest.Value[T](wiretest.New(t, seed)), wiretest.Value[T](wiretest.New(t, seed))
		}
		gotErr, wantErr := decode(b, got), json.Unmarshal(b, want)
		if errText(gotErr) != errText(wantErr) {
			t.Fatalf("into seed %d: error %v, json.Unmarshal's %v\ninput %q", seed, gotErr, wantErr, b)
		}
		if d := decodeDiff(got, want); d != "" {
			t.Fatalf("into seed %d: %s\ninput %q", seed, d, b)
		}
		if seed == 0 {
			zeroErr = wantErr
		}
	}
	return zeroErr
}

// plainMetadataKeys reports whether the fast path must take c's JSON: it
// leaves to encoding/json only metadata keys whose escapes fastjson might
// read differently, those with a control character, a backslash, invalid
// UTF-8 or U+FFFD.
func plainMetadataKeys(c *sg.Checkout) bool {
	for k := range c.Metadata {
		if strings.ContainsFunc(k, func(r rune) bool { return r < 0x20 || r == '\\' || r == utf8.RuneError }) {
			return false
		}
	}
	return true
}

// TestDecodeJSONRoundTrip: the fast path takes what AppendJSON writes, for
// checkouts and payments with every field filled at random, and gives what
// json.Unmarshal gives, into zero and filled values.
func TestDecodeJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for seed := range uint64(3000) {
		g := wiretest.New(t, seed)
		c, p := wiretest.Value[sg.Checkout](g), wiretest.Value[sg.Payment](g)
		cb, pb := c.AppendJSON(nil), p.AppendJSON(nil)

		var fastC sg.Checkout
		if !decodeCheckoutFast(cb, &fastC) && plainMetadataKeys(c) {
			t.Fatalf("seed %d: fast path refused a checkout AppendJSON wrote: %s", seed, cb)
		}
		var fastP sg.Payment
		if !decodePaymentFast(pb, &fastP) {
			t.Fatalf("seed %d: fast path refused a payment AppendJSON wrote: %s", seed, pb)
		}
		if err := checkCheckoutDecode(t, cb); err != nil {
			t.Fatalf("seed %d: decode checkout: %v\n%s", seed, err, cb)
		}
		if err := checkPaymentDecode(t, pb); err != nil {
			t.Fatalf("seed %d: decode payment: %v\n%s", seed, err, pb)
		}
	}
}

// TestDecodeCheckoutJSON: on odd input decodeCheckoutJSON gives exactly
// what json.Unmarshal gives, error or not and value, into a zero checkout
// and into a filled one. The value matches even after an error, since the
// fast path changes nothing unless it succeeds. fast says whether the fast
// path takes the input, so that it is known to stay in use.
func TestDecodeCheckoutJSON(t *testing.T) {
	t.Parallel()
	var metadata, paidWith, methods bool
	for _, seed := range filledSeeds {
		c := wiretest.Value[sg.Checkout](wiretest.New(t, seed))
		metadata = metadata || len(c.Metadata) > 0
		paidWith = paidWith || c.PaidWith != nil
		methods = methods || len(c.Methods) > 0
	}
	if !metadata || !paidWith || !methods {
		t.Fatalf("filled checkouts of seeds %v: metadata %t, paid_with %t, methods %t; pick seeds with all three", filledSeeds, metadata, paidWith, methods)
	}
	tests := []struct {
		name    string
		in      string
		fast    bool
		wantErr bool
	}{
		{"canonical", wiretest.CheckoutJSON, true, false},
		{"empty object", `{}`, true, false},
		{"whitespace everywhere", " \t\n{ \"id\" :\r\"co_1\" , \"metadata\" : { \"a\" : \"b\" } ,\"payments\":[ \"py_1\" , \"py_2\" ] }\n", true, false},
		{"unknown key", `{"id":"co_1","merchant_id":"m_1"}`, false, false},
		{"key in other case", `{"ID":"co_1","Livemode":true}`, false, false},
		{"escaped key", `{"i\u0064":"co_1"}`, true, false},
		{"duplicate key, last wins", `{"id":"a","id":"b"}`, true, false},
		{"duplicate metadata merges", `{"metadata":{"a":"1","b":"2"},"metadata":{"b":"3","c":"4"}}`, true, false},
		{"metadata null then object", `{"metadata":{"a":"1"},"metadata":null,"metadata":{"c":"4"}}`, true, false},
		{"duplicate paid_with merges", `{"paid_with":{"chain":"base"},"paid_with":{"token":"USDC"}}`, true, false},
		{"duplicate methods", `{"payment_methods":[{"chain":"a"},{"chain":"b"}],"payment_methods":[{"token":"c"}]}`, true, false},
		{"escaped strings", `{"description":"a\nb\"c\\d\/e\u00e9\ud83d\ude00\b\f\r\t","order_id":"\u2028"}`, true, false},
		{"lone surrogate", `{"description":"x\ud800y","order_id":"\udc00\ud800\u0041"}`, true, false},
		{"invalid UTF-8", "{\"description\":\"a\xffb\xc3\"}", true, false},
		{"null fields", `{"id":null,"livemode":null,"metadata":null,"payment_methods":null,"created":null,"payments":null,"paid_with":null}`, true, false},
		{"empty collections", `{"metadata":{},"payment_methods":[],"payments":[]}`, true, false},
		{"negative zero", `{"created":-0,"payment_methods":[{"reserved":-0}]}`, true, false},
		{"amount without base units", `{"payment_methods":[{"amount":"1.00"}]}`, true, false},
		{"base units with sign", `{"payment_methods":[{"amount_base_units":"+5"},{"amount_base_units":"-5"}]}`, true, false},
		{"base units emptied by duplicate", `{"payment_methods":[{"amount_base_units":"5","amount_base_units":""}]}`, true, false},
		{"decimals 255", `{"payment_methods":[{"decimals":255}]}`, true, false},
		{"metadata key with quote", `{"metadata":{"a\"b":"1"}}`, true, false},
		{"metadata key with newline", `{"metadata":{"a\nb":"1"}}`, false, false},
		{"metadata key with backslash", `{"metadata":{"a\\b":"1"}}`, false, false},
		{"metadata key bad surrogate pair", `{"metadata":{"\ud800\u0041":"1"}}`, false, false},
		{"metadata key invalid UTF-8", "{\"metadata\":{\"a\xff\":\"1\"}}", false, false},
		{"metadata null value", `{"metadata":{"a":null}}`, false, false},
		{"null in payments", `{"payments":["py_1",null]}`, false, false},
		{"null method", `{"payment_methods":[null]}`, false, false},
		{"paid_with unknown key", `{"paid_with":{"chain":"base","x":1}}`, false, false},
		{"method unknown key", `{"payment_methods":[{"chain":"base","uri":"x"}]}`, false, false},
		{"top-level null", `null`, false, false},
		{"decimals 300", `{"payment_methods":[{"decimals":300}]}`, false, true},
		{"decimals -1", `{"payment_methods":[{"decimals":-1}]}`, false, true},
		{"1.0 in int", `{"created":1.0}`, false, true},
		{"1e3 in int", `{"created":1e3}`, false, true},
		{"int overflow", `{"created":9223372036854775808}`, false, true},
		{"leading zero", `{"created":01}`, false, true},
		{"plus sign", `{"created":+1}`, false, true},
		{"NaN", `{"created":NaN}`, false, true},
		{"string for bool", `{"livemode":"true"}`, false, true},
		{"number for string", `{"id":5}`, false, true},
		{"object for string", `{"id":{}}`, false, true},
		{"string for metadata", `{"metadata":"x"}`, false, true},
		{"number in metadata", `{"metadata":{"a":1}}`, false, true},
		{"string for method", `{"payment_methods":["base"]}`, false, true},
		{"amount not a string", `{"payment_methods":[{"amount":5}]}`, false, true},
		{"base units not an integer", `{"payment_methods":[{"amount_base_units":"1.5"}]}`, false, true},
		{"invalid escape", `{"id":"\x"}`, false, true},
		{"control character in string", "{\"id\":\"a\nb\"}", false, true},
		{"trailing garbage", `{"id":"co_1"} x`, false, true},
		{"trailing comma", `{"id":"co_1",}`, false, true},
		{"unterminated", `{"id":"co_1"`, false, true},
		{"empty input", ``, false, true},
		{"top-level array", `[]`, false, true},
		{"literal with a tail", `{"livemode":truex}`, false, true},
		// fastjson parses 01; the fast path has read the metadata by
		// then, and must not have added it to the checkout's map.
		{"syntax error after metadata", `{"metadata":{"a":"1"},"paid_with":{"chain":"x"},"created":01}`, false, true},
		{"type error after metadata", `{"metadata":{"a":"1"},"paid_with":{"chain":"x"},"created":"1"}`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var fast sg.Checkout
			if got := decodeCheckoutFast([]byte(tt.in), &fast); got != tt.fast {
				t.Errorf("fast path took it: %t, want %t", got, tt.fast)
			}
			if err := checkCheckoutDecode(t, []byte(tt.in)); (err != nil) != tt.wantErr {
				t.Errorf("json.Unmarshal error %v, want error %t", err, tt.wantErr)
			}
		})
	}
}

// TestDecodePaymentJSON is TestDecodeCheckoutJSON for payments, which
// UnmarshalJSON replaces whole.
func TestDecodePaymentJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		fast    bool
		wantErr bool
	}{
		{"canonical", wiretest.PaymentJSON, true, false},
		{"no amount", `{"id":"py_1","log_index":0,"block_number":18446744073709551615}`, true, false},
		{"negative amount", `{"amount":"-1.00","amount_base_units":"-1000000"}`, true, false},
		{"null fields", `{"id":null,"livemode":null,"log_index":null,"amount_base_units":null}`, true, false},
		{"duplicate key, last wins", `{"status":"pending","status":"confirmed"}`, true, false},
		{"unknown key", `{"id":"py_1","merchant_id":"m_1"}`, false, false},
		{"top-level null zeroes", `null`, false, false},
		{"negative log index", `{"log_index":-1}`, false, true},
		{"block number overflow", `{"block_number":18446744073709551616}`, false, true},
		{"decimals 256", `{"decimals":256}`, false, true},
		{"base units not an integer", `{"amount_base_units":"1e6"}`, false, true},
		{"base units not a string", `{"amount_base_units":1000000}`, false, true},
		{"invalid JSON", `{"id":`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var fast sg.Payment
			if got := decodePaymentFast([]byte(tt.in), &fast); got != tt.fast {
				t.Errorf("fast path took it: %t, want %t", got, tt.fast)
			}
			if err := checkPaymentDecode(t, []byte(tt.in)); (err != nil) != tt.wantErr {
				t.Errorf("json.Unmarshal error %v, want error %t", err, tt.wantErr)
			}
		})
	}
}

// FuzzCheckoutJSON: for any input, decodeCheckoutJSON gives what
// json.Unmarshal gives, error or not and value. fastjson is more lenient
// than encoding/json (numbers, escapes, control characters), which is what
// this looks for.
func FuzzCheckoutJSON(f *testing.F) {
	f.Add([]byte(wiretest.CheckoutJSON))
	for seed := range uint64(8) {
		f.Add(wiretest.Value[sg.Checkout](wiretest.New(f, seed)).AppendJSON(nil))
	}
	f.Add([]byte(`{"metadata":{"a":"1"},"metadata":{"\u0062":null},"payments":[null],"paid_with":{"chain":1}}`))
	f.Add([]byte(`{"payment_methods":[{"decimals":300,"amount_base_units":"1.5"}],"created":1e3}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkCheckoutDecode(t, b)
	})
}

// FuzzPaymentJSON: for any input, decodePaymentJSON gives what
// json.Unmarshal gives, error or not and value.
func FuzzPaymentJSON(f *testing.F) {
	f.Add([]byte(wiretest.PaymentJSON))
	for seed := range uint64(8) {
		f.Add(wiretest.Value[sg.Payment](wiretest.New(f, seed)).AppendJSON(nil))
	}
	f.Add([]byte(`{"log_index":-1,"block_number":18446744073709551616,"decimals":256,"amount_base_units":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkPaymentDecode(t, b)
	})
}

// BenchmarkDecodeCheckoutJSON compares reading a paid checkout as the
// store does (decodeCheckoutJSON) with json.Unmarshal, which it replaced.
func BenchmarkDecodeCheckoutJSON(b *testing.B) {
	data := []byte(wiretest.CheckoutJSON)
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var c sg.Checkout
			if err := json.Unmarshal(data, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeCheckoutJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var c sg.Checkout
			if err := decodeCheckoutJSON(data, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecodePaymentJSON is BenchmarkDecodeCheckoutJSON for a payment.
func BenchmarkDecodePaymentJSON(b *testing.B) {
	data := []byte(wiretest.PaymentJSON)
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p sg.Payment
			if err := json.Unmarshal(data, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodePaymentJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p sg.Payment
			if err := decodePaymentJSON(data, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
