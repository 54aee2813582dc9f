package stablegate

// The JSON of checkouts, their payment methods and payments, written by
// hand. Settlement encodes each checkout twice per payment (the stored
// record and the event's data), and encoding/json's reflection over these
// structs was most of its CPU. The bytes are exactly what encoding/json
// gives for the struct tags through EncodeJSON; wire_test.go holds them to
// the reflection code for every field, so a field added to a struct without
// being added here fails the tests. Decoding stays with encoding/json here;
// the store, which reads these records back, has its own fast path
// (store/wire.go), because this package imports the standard library only.

import (
	"math/big"
	"slices"
	"strconv"
)

// AppendJSON appends the checkout's JSON to b, byte for byte what
// EncodeJSON gives for the struct, with each method as
// CheckoutMethod.AppendJSON writes it. It is written by hand because
// settlement encodes each checkout twice per payment, as the stored record
// and as the event's data.
func (c *Checkout) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, c.ID)
	b = append(b, `,"object":`...)
	b = appendJSONString(b, c.Object)
	b = append(b, `,"livemode":`...)
	b = strconv.AppendBool(b, c.Livemode)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, string(c.Status))
	if c.Exception != "" {
		b = append(b, `,"exception":`...)
		b = appendJSONString(b, string(c.Exception))
	}
	b = append(b, `,"price":`...)
	b = appendJSONString(b, c.Price)
	b = append(b, `,"currency":`...)
	b = appendJSONString(b, c.Currency)
	if c.Description != "" {
		b = append(b, `,"description":`...)
		b = appendJSONString(b, c.Description)
	}
	if c.OrderID != "" {
		b = append(b, `,"order_id":`...)
		b = appendJSONString(b, c.OrderID)
	}
	b = append(b, `,"metadata":`...)
	b = appendJSONStringMap(b, c.Metadata)
	if c.SuccessURL != "" {
		b = append(b, `,"success_url":`...)
		b = appendJSONString(b, c.SuccessURL)
	}
	if c.CancelURL != "" {
		b = append(b, `,"cancel_url":`...)
		b = appendJSONString(b, c.CancelURL)
	}
	if c.CustomerEmail != "" {
		b = append(b, `,"customer_email":`...)
		b = appendJSONString(b, c.CustomerEmail)
	}
	b = append(b, `,"payment_methods":`...)
	if c.Methods == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range c.Methods {
			if i > 0 {
				b = append(b, ',')
			}
			b = c.Methods[i].AppendJSON(b)
		}
		b = append(b, ']')
	}
	b = append(b, `,"created":`...)
	b = strconv.AppendInt(b, c.Created, 10)
	b = append(b, `,"expires_at":`...)
	b = strconv.AppendInt(b, c.ExpiresAt, 10)
	b = append(b, `,"late_until":`...)
	b = strconv.AppendInt(b, c.LateUntil, 10)
	if c.CanceledAt != 0 {
		b = append(b, `,"canceled_at":`...)
		b = strconv.AppendInt(b, c.CanceledAt, 10)
	}
	if c.ExpiredAt != 0 {
		b = append(b, `,"expired_at":`...)
		b = strconv.AppendInt(b, c.ExpiredAt, 10)
	}
	if c.PaidAt != 0 {
		b = append(b, `,"paid_at":`...)
		b = strconv.AppendInt(b, c.PaidAt, 10)
	}
	b = append(b, `,"payments":`...)
	if c.Payments == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, id := range c.Payments {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, id)
		}
		b = append(b, ']')
	}
	if c.PaidWith != nil {
		b = append(b, `,"paid_with":{"chain":`...)
		b = appendJSONString(b, c.PaidWith.Chain)
		b = append(b, `,"token":`...)
		b = appendJSONString(b, c.PaidWith.Token)
		b = append(b, '}')
	}
	if c.AmountDue != "" {
		b = append(b, `,"amount_due":`...)
		b = appendJSONString(b, c.AmountDue)
	}
	if c.AmountReceived != "" {
		b = append(b, `,"amount_received":`...)
		b = appendJSONString(b, c.AmountReceived)
	}
	return append(b, '}')
}

// AppendJSON appends the method's JSON to b, byte for byte what EncodeJSON
// gives for checkoutMethodJSON: the struct's fields, then the amount as a
// decimal string and in base units. It is written by hand for the reason
// Checkout.AppendJSON is: every checkout written carries its methods.
func (m *CheckoutMethod) AppendJSON(b []byte) []byte {
	b = append(b, `{"chain":`...)
	b = appendJSONString(b, m.Chain)
	b = append(b, `,"token":`...)
	b = appendJSONString(b, m.Token)
	b = append(b, `,"chain_name":`...)
	b = appendJSONString(b, m.ChainName)
	b = append(b, `,"contract":`...)
	b = appendJSONString(b, m.Contract)
	b = append(b, `,"decimals":`...)
	b = strconv.AppendUint(b, uint64(m.Decimals), 10)
	if m.Address != "" {
		b = append(b, `,"address":`...)
		b = appendJSONString(b, m.Address)
	}
	if m.URI != "" {
		b = append(b, `,"payment_uri":`...)
		b = appendJSONString(b, m.URI)
	}
	if m.Reserved != 0 {
		b = append(b, `,"reserved":`...)
		b = strconv.AppendInt(b, m.Reserved, 10)
	}
	if m.Reference != "" {
		b = append(b, `,"reference":`...)
		b = appendJSONString(b, m.Reference)
	}
	b = appendJSONAmount(b, m.Amount, m.Decimals)
	return append(b, '}')
}

// AppendJSON appends the payment's JSON to b, byte for byte what
// EncodeJSON gives for paymentJSON: the struct's fields, then the amount as
// a decimal string and in base units. It is written by hand because
// settlement stores every payment it sees and sends it in the
// payment.unmatched and payment.reverted events.
func (p *Payment) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, p.ID)
	b = append(b, `,"object":`...)
	b = appendJSONString(b, p.Object)
	b = append(b, `,"livemode":`...)
	b = strconv.AppendBool(b, p.Livemode)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, string(p.Status))
	b = append(b, `,"chain":`...)
	b = appendJSONString(b, p.Chain)
	b = append(b, `,"token":`...)
	b = appendJSONString(b, p.Token)
	b = append(b, `,"contract":`...)
	b = appendJSONString(b, p.Contract)
	b = append(b, `,"decimals":`...)
	b = strconv.AppendUint(b, uint64(p.Decimals), 10)
	b = append(b, `,"tx_hash":`...)
	b = appendJSONString(b, p.TxHash)
	b = append(b, `,"log_index":`...)
	b = strconv.AppendUint(b, uint64(p.LogIndex), 10)
	b = append(b, `,"block_number":`...)
	b = strconv.AppendUint(b, p.BlockNumber, 10)
	b = append(b, `,"block_hash":`...)
	b = appendJSONString(b, p.BlockHash)
	b = append(b, `,"block_time":`...)
	b = strconv.AppendInt(b, p.BlockTime, 10)
	b = append(b, `,"from":`...)
	b = appendJSONString(b, p.From)
	b = append(b, `,"to":`...)
	b = appendJSONString(b, p.To)
	if p.CheckoutID != "" {
		b = append(b, `,"checkout":`...)
		b = appendJSONString(b, p.CheckoutID)
	}
	if p.Reference != "" {
		b = append(b, `,"reference":`...)
		b = appendJSONString(b, p.Reference)
	}
	b = append(b, `,"created":`...)
	b = strconv.AppendInt(b, p.Created, 10)
	if p.ConfirmedAt != 0 {
		b = append(b, `,"confirmed_at":`...)
		b = strconv.AppendInt(b, p.ConfirmedAt, 10)
	}
	b = appendJSONAmount(b, p.Amount, p.Decimals)
	return append(b, '}')
}

// appendJSONAmount appends the fields of newAmountJSON(v, decimals), each
// after a comma; none for no amount.
func appendJSONAmount(b []byte, v *big.Int, decimals uint8) []byte {
	if v == nil {
		return b
	}
	b = append(b, `,"amount":`...)
	b = appendJSONString(b, FormatUnits(v, decimals))
	b = append(b, `,"amount_base_units":"`...)
	b = v.Append(b, 10)
	return append(b, '"')
}

// appendJSONStringMap appends m as encoding/json does: null for a nil map,
// keys in byte order.
func appendJSONStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	// Metadata is bounded by MaxMetadataKeys, so the keys fit on the stack.
	var buf [MaxMetadataKeys]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}
