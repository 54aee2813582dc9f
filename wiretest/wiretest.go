// Package wiretest gives the JSON tests of checkouts and payments their
// inputs: values filled at random by reflection, and canonical records as
// the store holds them. The root package's tests hold the hand-written
// encoders to encoding/json with them, the store's tests its fast decoder.
//
// It imports no stablegate package, so that the root package's own tests
// can import it.
package wiretest

import (
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// CheckoutJSON is a paid checkout as the store holds it.
const CheckoutJSON = `{"id":"co_06h04ztg06ktfnhdjzdj2txv9r","object":"checkout","livemode":true,"status":"paid","exception":"overpaid",` +
	`"price":"49.00","currency":"USD","description":"Order #1042 <b>&</b>","order_id":"1042","metadata":{"cart":"c_77","customer":"u_9"},` +
	`"success_url":"https://shop.example/ok?a=1&b=2","payment_methods":[` +
	`{"chain":"base","token":"USDC","chain_name":"Base","contract":"0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913","decimals":6,` +
	`"address":"0x00000000000000000000000000000000000000a1","payment_uri":"ethereum:0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913@8453/transfer?address=0x00000000000000000000000000000000000000a1&uint256=49000120",` +
	`"reserved":1795000000,"amount":"49.00012","amount_base_units":"49000120"},` +
	`{"chain":"solana","token":"USDC","chain_name":"Solana","contract":"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v","decimals":6}],` +
	`"created":1795000000,"expires_at":1795001800,"late_until":1795088200,"paid_at":1795000300,"payments":["py_1"],` +
	`"paid_with":{"chain":"base","token":"USDC"},"amount_due":"49.00012","amount_received":"50.00"}`

// PaymentJSON is a confirmed payment as the store holds it.
const PaymentJSON = `{"id":"py_8e1","object":"payment","livemode":true,"status":"confirmed","chain":"base","token":"USDC",` +
	`"contract":"0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913","decimals":6,"tx_hash":"0xabc","log_index":3,"block_number":30000000,` +
	`"block_hash":"0xdef","block_time":1795000290,"from":"0x01","to":"0x02","checkout":"co_1","created":1795000291,` +
	`"confirmed_at":1795000300,"amount":"50.00","amount_base_units":"50000000"}`

// Gen fills values with random contents. It fills every exported field by
// reflection, so a field added to Checkout, CheckoutMethod or Payment is
// covered without touching the tests, and it fails the test on a kind it
// has no values for, or an unexported field, rather than leave a field
// zero. Zero values come up often, for omitempty and for nil against empty.
type Gen struct {
	tb  testing.TB
	rnd *rand.Rand
}

// New returns a generator whose values follow from seed.
func New(tb testing.TB, seed uint64) *Gen {
	return &Gen{tb: tb, rnd: rand.New(rand.NewPCG(seed, 0x5ab1e9a7e))}
}

// Value returns a new T filled by g.
func Value[T any](g *Gen) *T {
	v := new(T)
	g.fill(reflect.ValueOf(v).Elem())
	return v
}

// fill fills v: a string, a number, a bool, a *big.Int, or a struct, map,
// slice or pointer of those. A uint8 is a token's decimals, a *big.Int an
// amount.
func (g *Gen) fill(v reflect.Value) {
	if v.Type() == reflect.TypeFor[*big.Int]() {
		v.Set(reflect.ValueOf(g.amount()))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(g.text())
	case reflect.Bool:
		v.SetBool(g.rnd.IntN(2) == 0)
	case reflect.Int64:
		v.SetInt(g.int64())
	case reflect.Uint8:
		v.SetUint(g.decimals())
	case reflect.Uint, reflect.Uint64:
		v.SetUint(g.uint(v.Type().Bits()))
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				g.tb.Fatalf("wiretest: %s.%s is unexported; decide what the wire tests expect of it", t, t.Field(i).Name)
			}
			g.fill(v.Field(i))
		}
	case reflect.Pointer:
		if g.rnd.IntN(3) == 0 {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		g.fill(p.Elem())
		v.Set(p)
	case reflect.Map:
		switch g.rnd.IntN(4) {
		case 0:
			v.SetZero()
		case 1:
			v.Set(reflect.MakeMap(v.Type()))
		default:
			m := reflect.MakeMap(v.Type())
			for range 1 + g.rnd.IntN(6) {
				k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
				g.fill(k)
				g.fill(e)
				m.SetMapIndex(k, e)
			}
			v.Set(m)
		}
	case reflect.Slice:
		switch g.rnd.IntN(4) {
		case 0:
			v.SetZero()
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			s := reflect.MakeSlice(v.Type(), 1+g.rnd.IntN(4), 4)
			for i := range s.Len() {
				g.fill(s.Index(i))
			}
			v.Set(s)
		}
	default:
		g.tb.Fatalf("wiretest: no values for %s (kind %s): teach the generator, AppendJSON and the store's decoder the new field", v.Type(), v.Kind())
	}
}

// texts are strings the encoder and decoder must get exactly right.
var texts = []string{
	"co_06h04ztg06ktfnhdjzdj2txv9r",
	"USDC",
	"0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
	"ethereum:0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48@8453/transfer?address=0x1&uint256=50000120",
	"<script>alert('&amp;')</script>",
	`say "hi"`,
	`C:\path\to`,
	"tab\tnew\nline\rform\fback\b",
	"\x00\x01\x1f\x7f",
	"caf\u00e9 \u65e5\u672c \U0001F600",
	"line\u2028sep\u2029",
	"bad \xff\xfe utf8",
	"cut \xe6\x97",
	"\ufffd",
	"\\u00e9",
	strings.Repeat("long text ", 40),
}

// runes are the pieces random strings are made of.
var runes = []string{"a", "Z", "0", " ", "_", "/", "\"", "\\", "\n", "\t", "\x00", "\x1f", "\x7f",
	"<", ">", "&", "\u00e9", "\u65e5", "\U0001F600", "\u2028", "\u2029", "\xff", "\xc3", "\ufffd", "\\u0041"}

func (g *Gen) text() string {
	switch n := g.rnd.IntN(10); {
	case n < 3:
		return ""
	case n < 6:
		return texts[g.rnd.IntN(len(texts))]
	default:
		var sb strings.Builder
		for range g.rnd.IntN(12) {
			sb.WriteString(runes[g.rnd.IntN(len(runes))])
		}
		return sb.String()
	}
}

func (g *Gen) int64() int64 {
	switch g.rnd.IntN(6) {
	case 0, 1:
		return 0
	case 2:
		return 1_700_000_000 + g.rnd.Int64N(200_000_000)
	case 3:
		return []int64{math.MaxInt64, math.MinInt64, -1, 1}[g.rnd.IntN(4)]
	default:
		return int64(g.rnd.Uint64())
	}
}

func (g *Gen) uint(bits int) uint64 {
	switch g.rnd.IntN(4) {
	case 0:
		return 0
	case 1:
		return math.MaxUint64 >> (64 - bits)
	default:
		return g.rnd.Uint64() >> (64 - bits)
	}
}

func (g *Gen) decimals() uint64 {
	if g.rnd.IntN(5) == 0 {
		return uint64(g.rnd.IntN(256))
	}
	return []uint64{0, 6, 18}[g.rnd.IntN(3)]
}

// amount returns no amount, zero, small, past 2^64 and past 2^256 amounts,
// some negative.
func (g *Gen) amount() *big.Int {
	var v *big.Int
	switch g.rnd.IntN(5) {
	case 0:
		return nil
	case 1:
		v = new(big.Int)
	case 2:
		v = big.NewInt(g.rnd.Int64N(1_000_000_000))
	default:
		v = new(big.Int).SetUint64(g.rnd.Uint64())
		v.Lsh(v, uint(64+g.rnd.IntN(220)))
		v.Add(v, new(big.Int).SetUint64(g.rnd.Uint64()))
	}
	if g.rnd.IntN(4) == 0 {
		v.Neg(v)
	}
	return v
}
