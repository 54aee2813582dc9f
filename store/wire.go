package store

// Reading checkout and payment records without reflection. Settlement reads
// a checkout for every payment it applies, and the payment too, and
// encoding/json's reflection over these structs was the largest part of
// that read. The records are what sg's AppendJSON wrote, so the decoders
// below take that shape on a fast path and leave anything else to
// json.Unmarshal: the result, errors included, is exactly json.Unmarshal's.
// wire_internal_test.go holds them to it for every field, so a field added
// to sg.Checkout or sg.Payment without being added here fails the tests.
//
// It lives here rather than beside AppendJSON because the root package
// imports the standard library only, and the store is the one reader that
// needs the speed.

import (
	"encoding/json"
	"maps"
	"math/big"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	sg "github.com/stablegate/stablegate"
)

// decodeCheckoutJSON decodes b into c exactly as json.Unmarshal(b, c)
// does, with the same result and errors, but without reflection for a
// record as sg.Checkout.AppendJSON writes it.
func decodeCheckoutJSON(b []byte, c *sg.Checkout) error {
	if decodeCheckoutFast(b, c) {
		return nil
	}
	return json.Unmarshal(b, c)
}

// decodePaymentJSON decodes b into p exactly as json.Unmarshal(b, p) does,
// with the same result and errors, but without reflection for a record as
// sg.Payment.AppendJSON writes it.
func decodePaymentJSON(b []byte, p *sg.Payment) error {
	if decodePaymentFast(b, p) {
		return nil
	}
	return json.Unmarshal(b, p)
}

// wireParsers holds the parsers of the fast path. A parsed value lives in
// its parser's buffer, so every string is copied out before the parser
// goes back to the pool.
var wireParsers fastjson.ParserPool

// decodeCheckoutFast decodes b into c when b has the shape AppendJSON
// writes, and reports whether it did; otherwise c is unchanged. Like
// encoding/json it reads into the checkout as it is: fields absent from b
// keep their values, a present map gains b's keys, the json:"-" fields are
// not touched.
func decodeCheckoutFast(b []byte, c *sg.Checkout) bool {
	p := wireParsers.Get()
	defer wireParsers.Put(p)
	v, err := p.ParseBytes(b)
	if err != nil {
		return false
	}
	tmp := *c
	var r wireReader
	if readCheckout(&r, v, &tmp); r.failed {
		return false
	}
	*c = tmp
	return true
}

// decodePaymentFast decodes b into p when b has the shape AppendJSON
// writes, and reports whether it did; otherwise p is unchanged. Payment's
// UnmarshalJSON replaces the whole payment, MerchantID included, and so
// does this.
func decodePaymentFast(b []byte, p *sg.Payment) bool {
	parser := wireParsers.Get()
	defer wireParsers.Put(parser)
	v, err := parser.ParseBytes(b)
	if err != nil {
		return false
	}
	var tmp sg.Payment
	var r wireReader
	if readPayment(&r, v, &tmp); r.failed {
		return false
	}
	*p = tmp
	return true
}

// wireReader reads parsed fields and notes the first surprise: a key
// AppendJSON does not write, a value of another JSON type, a number
// encoding/json would not read into the field, a null inside an array or
// map. The caller then leaves the whole input to encoding/json, which gives
// its own result, errors included. A null field is read as encoding/json
// reads it: a string, number or bool keeps its value, a map, slice or
// pointer becomes nil.
//
// Strings are read from their raw text (Value.MarshalTo writes a string
// value it has not unescaped as it was in the input), never through
// Value.Type or StringBytes: fastjson unescapes on a best-effort basis,
// keeping what encoding/json rejects or replaces.
type wireReader struct {
	failed bool
	// buf holds the raw text of the value being read, so that most
	// strings and numbers are copied once, into their field.
	buf [256]byte
}

// raw returns v's JSON text; a string's raw text is its quoted bytes as
// they were in the input.
func (r *wireReader) raw(v *fastjson.Value) []byte {
	return v.MarshalTo(r.buf[:0])
}

// text returns the JSON string v, or null for a JSON null; anything else
// is a surprise.
func (r *wireReader) text(v *fastjson.Value) (s string, null bool) {
	raw := r.raw(v)
	switch {
	case len(raw) >= 2 && raw[0] == '"':
		s, ok := unquoteJSON(raw)
		if !ok {
			r.failed = true
		}
		return s, false
	case string(raw) == "null":
		return "", true
	default:
		r.failed = true
		return "", false
	}
}

// readString sets *dst to the JSON string v.
func readString[T ~string](r *wireReader, v *fastjson.Value, dst *T) {
	if s, null := r.text(v); !null {
		*dst = T(s)
	}
}

// intText returns the text of the JSON integer v, or null for a JSON
// null; anything else is a surprise. The text is r's buffer, valid until
// the next read.
func (r *wireReader) intText(v *fastjson.Value) (raw []byte, null bool) {
	raw = r.raw(v)
	if string(raw) == "null" {
		return nil, true
	}
	if !isJSONInt(raw) {
		r.failed = true
	}
	return raw, false
}

// readInt sets *dst to the JSON integer v.
func readInt(r *wireReader, v *fastjson.Value, dst *int64) {
	raw, null := r.intText(v)
	if null || r.failed {
		return
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		r.failed = true
		return
	}
	*dst = n
}

// readUint sets *dst to the JSON integer v, which must fit in bits, as
// encoding/json requires of an unsigned field of that size.
func readUint[T uint8 | uint | uint64](r *wireReader, v *fastjson.Value, dst *T, bits int) {
	raw, null := r.intText(v)
	if null || r.failed {
		return
	}
	n, err := strconv.ParseUint(string(raw), 10, bits)
	if err != nil {
		r.failed = true
		return
	}
	*dst = T(n)
}

// readBool sets *dst to the JSON boolean v.
func (r *wireReader) readBool(v *fastjson.Value, dst *bool) {
	switch v.Type() {
	case fastjson.TypeTrue:
		*dst = true
	case fastjson.TypeFalse:
		*dst = false
	case fastjson.TypeNull:
	default:
		r.failed = true
	}
}

// readStrings sets *dst to the JSON array of strings v.
func (r *wireReader) readStrings(v *fastjson.Value, dst *[]string) {
	switch v.Type() {
	case fastjson.TypeNull:
		*dst = nil
	case fastjson.TypeArray:
		a, _ := v.Array()
		out := make([]string, len(a))
		for i, e := range a {
			s, null := r.text(e)
			if null {
				// encoding/json leaves whatever it finds in the slice
				// it reuses: left to it.
				r.failed = true
			}
			if r.failed {
				return
			}
			out[i] = s
		}
		*dst = out
	default:
		r.failed = true
	}
}

// readStringMap reads the JSON object of strings v into *dst. encoding/json
// adds to a map that is already there; this does too, but into a copy
// unless *own says this read made the map, so that a read that fails
// leaves the checkout's map as it was.
func (r *wireReader) readStringMap(v *fastjson.Value, dst *map[string]string, own *bool) {
	switch v.Type() {
	case fastjson.TypeNull:
		*dst = nil
		return
	case fastjson.TypeObject:
	default:
		r.failed = true
		return
	}
	o, _ := v.Object()
	m := *dst
	switch {
	case m == nil:
		m = make(map[string]string, o.Len())
	case !*own:
		m = maps.Clone(m)
	}
	*dst, *own = m, true
	o.Visit(func(key []byte, v *fastjson.Value) {
		if r.failed {
			return
		}
		s, null := r.text(v)
		if null || !plainText(key) {
			// encoding/json reads a null value as "", but a null
			// never comes from AppendJSON and is left to it.
			r.failed = true
			return
		}
		m[string(key)] = s
	})
}

// object calls field with each member of the JSON object v, in order,
// until the read fails; field reports whether it knows the key. Anything
// but an object, or a key field does not know, is a surprise.
func (r *wireReader) object(v *fastjson.Value, field func(key []byte, v *fastjson.Value) bool) {
	if v.Type() != fastjson.TypeObject {
		r.failed = true
		return
	}
	o, _ := v.Object()
	o.Visit(func(key []byte, v *fastjson.Value) {
		if !r.failed && !field(key, v) {
			r.failed = true
		}
	})
}

// readCheckout reads the JSON object v into c.
func readCheckout(r *wireReader, v *fastjson.Value, c *sg.Checkout) {
	ownMetadata := false
	r.object(v, func(key []byte, v *fastjson.Value) bool {
		// Keys are matched exactly: encoding/json also matches them
		// ignoring case, which is a surprise here. A key fastjson
		// unescaped differently from encoding/json keeps a backslash or
		// gains U+FFFD, so it never equals one of these.
		switch string(key) {
		case "id":
			readString(r, v, &c.ID)
		case "object":
			readString(r, v, &c.Object)
		case "livemode":
			r.readBool(v, &c.Livemode)
		case "status":
			readString(r, v, &c.Status)
		case "exception":
			readString(r, v, &c.Exception)
		case "price":
			readString(r, v, &c.Price)
		case "currency":
			readString(r, v, &c.Currency)
		case "description":
			readString(r, v, &c.Description)
		case "order_id":
			readString(r, v, &c.OrderID)
		case "metadata":
			r.readStringMap(v, &c.Metadata, &ownMetadata)
		case "success_url":
			readString(r, v, &c.SuccessURL)
		case "cancel_url":
			readString(r, v, &c.CancelURL)
		case "customer_email":
			readString(r, v, &c.CustomerEmail)
		case "payment_methods":
			r.readMethods(v, &c.Methods)
		case "created":
			readInt(r, v, &c.Created)
		case "expires_at":
			readInt(r, v, &c.ExpiresAt)
		case "late_until":
			readInt(r, v, &c.LateUntil)
		case "canceled_at":
			readInt(r, v, &c.CanceledAt)
		case "expired_at":
			readInt(r, v, &c.ExpiredAt)
		case "paid_at":
			readInt(r, v, &c.PaidAt)
		case "payments":
			r.readStrings(v, &c.Payments)
		case "paid_with":
			r.readPaidWith(v, &c.PaidWith)
		case "amount_due":
			readString(r, v, &c.AmountDue)
		case "amount_received":
			readString(r, v, &c.AmountReceived)
		default:
			return false
		}
		return true
	})
}

// readMethods sets *dst to the JSON array of methods v. Each element
// replaces its method whole, as CheckoutMethod.UnmarshalJSON does, so a
// fresh slice holds what encoding/json's reused one would.
func (r *wireReader) readMethods(v *fastjson.Value, dst *[]sg.CheckoutMethod) {
	switch v.Type() {
	case fastjson.TypeNull:
		*dst = nil
	case fastjson.TypeArray:
		a, _ := v.Array()
		ms := make([]sg.CheckoutMethod, len(a))
		for i, e := range a {
			if readMethod(r, e, &ms[i]); r.failed {
				return
			}
		}
		*dst = ms
	default:
		r.failed = true
	}
}

// readPaidWith reads the JSON object v into *dst. encoding/json fills a
// method that is already there; this fills a copy, for the reason
// readStringMap does.
func (r *wireReader) readPaidWith(v *fastjson.Value, dst **sg.PaymentMethod) {
	switch v.Type() {
	case fastjson.TypeNull:
		*dst = nil
		return
	case fastjson.TypeObject:
	default:
		r.failed = true
		return
	}
	var pm sg.PaymentMethod
	if *dst != nil {
		pm = **dst
	}
	r.object(v, func(key []byte, v *fastjson.Value) bool {
		switch string(key) {
		case "chain":
			readString(r, v, &pm.Chain)
		case "token":
			readString(r, v, &pm.Token)
		default:
			return false
		}
		return true
	})
	*dst = &pm
}

// readMethod reads the JSON object v into m, a zero method.
func readMethod(r *wireReader, v *fastjson.Value, m *sg.CheckoutMethod) {
	var amount, baseUnits string
	r.object(v, func(key []byte, v *fastjson.Value) bool {
		switch string(key) {
		case "chain":
			readString(r, v, &m.Chain)
		case "token":
			readString(r, v, &m.Token)
		case "chain_name":
			readString(r, v, &m.ChainName)
		case "contract":
			readString(r, v, &m.Contract)
		case "decimals":
			readUint(r, v, &m.Decimals, 8)
		case "address":
			readString(r, v, &m.Address)
		case "payment_uri":
			readString(r, v, &m.URI)
		case "reserved":
			readInt(r, v, &m.Reserved)
		case "reference":
			readString(r, v, &m.Reference)
		case "amount":
			// Read only to be checked: the decimal string follows from
			// the base units, which are what UnmarshalJSON takes.
			readString(r, v, &amount)
		case "amount_base_units":
			readString(r, v, &baseUnits)
		default:
			return false
		}
		return true
	})
	m.Amount = r.amount(baseUnits)
}

// readPayment reads the JSON object v into p, a zero payment.
func readPayment(r *wireReader, v *fastjson.Value, p *sg.Payment) {
	var amount, baseUnits string
	r.object(v, func(key []byte, v *fastjson.Value) bool {
		switch string(key) {
		case "id":
			readString(r, v, &p.ID)
		case "object":
			readString(r, v, &p.Object)
		case "livemode":
			r.readBool(v, &p.Livemode)
		case "status":
			readString(r, v, &p.Status)
		case "chain":
			readString(r, v, &p.Chain)
		case "token":
			readString(r, v, &p.Token)
		case "contract":
			readString(r, v, &p.Contract)
		case "decimals":
			readUint(r, v, &p.Decimals, 8)
		case "tx_hash":
			readString(r, v, &p.TxHash)
		case "log_index":
			readUint(r, v, &p.LogIndex, strconv.IntSize)
		case "block_number":
			readUint(r, v, &p.BlockNumber, 64)
		case "block_hash":
			readString(r, v, &p.BlockHash)
		case "block_time":
			readInt(r, v, &p.BlockTime)
		case "from":
			readString(r, v, &p.From)
		case "to":
			readString(r, v, &p.To)
		case "checkout":
			readString(r, v, &p.CheckoutID)
		case "reference":
			readString(r, v, &p.Reference)
		case "created":
			readInt(r, v, &p.Created)
		case "confirmed_at":
			readInt(r, v, &p.ConfirmedAt)
		case "amount":
			readString(r, v, &amount) // checked only, as for a method
		case "amount_base_units":
			readString(r, v, &baseUnits)
		default:
			return false
		}
		return true
	})
	p.Amount = r.amount(baseUnits)
}

// amount returns the amount in baseUnits as UnmarshalJSON reads it: none
// for "", else a base-10 integer. Anything else is an internal error,
// whose text is encoding/json's to give, so it is a surprise here.
func (r *wireReader) amount(baseUnits string) *big.Int {
	if r.failed || baseUnits == "" {
		return nil
	}
	v, ok := new(big.Int).SetString(baseUnits, 10)
	if !ok {
		r.failed = true
		return nil
	}
	return v
}

// unquoteJSON returns the text of raw, a quoted JSON string, exactly as
// encoding/json reads it. Plain text is copied as it is; anything else is
// left to encoding/json, which also rejects what is not JSON.
func unquoteJSON(raw []byte) (string, bool) {
	if body := raw[1 : len(raw)-1]; plainText(body) {
		return string(body), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// plainText reports whether b, the text of a JSON string or key as
// fastjson left it, is certainly what encoding/json reads from the same
// input: it holds no backslash, control character, invalid UTF-8 or
// U+FFFD. Where fastjson unescapes differently from encoding/json (an
// invalid escape or surrogate, a control character, invalid UTF-8) its
// result keeps one of those, so text with none of them is exact. Text
// with one is rare enough to leave to encoding/json.
func plainText(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '\\' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError {
			return false
		}
		i += size
	}
	return true
}

// isJSONInt reports whether raw is a JSON number without fraction or
// exponent, the only numbers encoding/json reads into an integer field.
// strconv alone would also take "+1" and "01", which are not JSON.
func isJSONInt(raw []byte) bool {
	if len(raw) > 0 && raw[0] == '-' {
		raw = raw[1:]
	}
	if len(raw) == 0 || (raw[0] == '0' && len(raw) > 1) {
		return false
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
