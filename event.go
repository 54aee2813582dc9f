package stablegate

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Event types, dotted like Stripe's and Standard Webhooks'.
const (
	EventCheckoutCreated    = "checkout.created"
	EventCheckoutProcessing = "checkout.processing"
	EventCheckoutPaid       = "checkout.paid"
	EventCheckoutExpired    = "checkout.expired"
	EventCheckoutCanceled   = "checkout.canceled"
	EventCheckoutUnderpaid  = "checkout.underpaid"
	EventCheckoutOverpaid   = "checkout.overpaid"
	EventCheckoutPaidLate   = "checkout.paid_late"
	EventPaymentReverted    = "payment.reverted"
	EventPaymentUnmatched   = "payment.unmatched"
)

// Event records one state change. It is written in the same atomic step as
// the change itself, so there is never one without the other. Data is the
// changed object exactly as the API returns it.
type Event struct {
	ID       string          `json:"id"`
	Object   string          `json:"object"`
	Type     string          `json:"type"`
	Created  int64           `json:"created"`
	Livemode bool            `json:"livemode"`
	Data     json.RawMessage `json:"data"`

	MerchantID string `json:"-"`
}

// EncodeEvent encodes e with data as its Data: the envelope is written by
// hand because data, produced by EncodeJSON, is compact already, and
// json.Marshal would parse and compact a json.RawMessage again, the largest
// cost of settling a payment. The result is what json.Marshal(e) gives with
// e.Data = data, through EncodeJSON.
func EncodeEvent(e *Event, data []byte) []byte {
	b := make([]byte, 0, len(data)+160)
	b = append(b, `{"id":`...)
	b = appendJSONString(b, e.ID)
	b = append(b, `,"object":`...)
	b = appendJSONString(b, e.Object)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, e.Type)
	b = append(b, `,"created":`...)
	b = strconv.AppendInt(b, e.Created, 10)
	b = append(b, `,"livemode":`...)
	b = strconv.AppendBool(b, e.Livemode)
	b = append(b, `,"data":`...)
	if len(data) == 0 {
		b = append(b, "null"...)
	}
	b = append(b, data...)
	return append(b, '}')
}

// appendJSONString appends s as a JSON string, as EncodeJSON writes it.
// Ids, addresses, amounts and most text are copied as they are; a string
// that needs escaping goes through EncodeJSON, which is exact by definition
// and rare enough that its cost does not matter.
func appendJSONString(b []byte, s string) []byte {
	if !plainJSONText(s) {
		q, _ := EncodeJSON(s)
		return append(b, q...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// plainJSONText reports whether EncodeJSON writes s between its quotes as
// it is: no quote, backslash or control character, valid UTF-8 without
// U+2028 or U+2029 (which encoding/json always escapes). It does not escape
// HTML.
func plainJSONText(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			return false
		}
		i += size
	}
	return true
}
