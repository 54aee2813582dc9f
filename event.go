package stablegate

import "encoding/json"

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
