package stablegate

import (
	"encoding/json"
	"math/big"
	"time"
)

// CheckoutStatus is the lifecycle state of a checkout.
type CheckoutStatus string

// Checkout states. A checkout is paid only when the full amount is
// confirmed; anything unusual about the payment is in its Exception.
const (
	StatusOpen       CheckoutStatus = "open"       // waiting for a payment
	StatusProcessing CheckoutStatus = "processing" // a matching transfer is in a block, not yet final
	StatusPaid       CheckoutStatus = "paid"       // confirmed per the chain's policy
	StatusExpired    CheckoutStatus = "expired"    // no payment before expires_at
	StatusCanceled   CheckoutStatus = "canceled"   // canceled by the merchant while open
)

// Exception qualifies a checkout's payment, like BTCPay's additional status
// and Coinbase Commerce's unresolved context.
type Exception string

// Payment exceptions.
const (
	ExceptionNone      Exception = ""
	ExceptionUnderpaid Exception = "underpaid" // less than due was received; status is not paid
	ExceptionOverpaid  Exception = "overpaid"  // more than due was received; status is paid
	ExceptionPaidLate  Exception = "paid_late" // paid after expiry, inside the late window
	ExceptionMultiple  Exception = "multiple"  // the reserved amount was paid more than once
)

// transitions is the checkout state machine: from each state, the states it
// may move to. processing goes back to where it came from (open, expired or
// canceled) when its transfer leaves the canonical chain; expired and
// canceled checkouts still accept a payment inside the late window so that
// it is never lost.
var transitions = map[CheckoutStatus][]CheckoutStatus{
	StatusOpen:       {StatusProcessing, StatusPaid, StatusExpired, StatusCanceled},
	StatusProcessing: {StatusPaid, StatusOpen, StatusExpired, StatusCanceled},
	StatusExpired:    {StatusProcessing, StatusPaid},
	StatusCanceled:   {StatusProcessing, StatusPaid},
	StatusPaid:       {},
}

// CanTransition reports whether a checkout may move from one state to another.
func CanTransition(from, to CheckoutStatus) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Valid reports whether s is a known state.
func (s CheckoutStatus) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// CheckoutStatuses lists every state, for validating filters.
func CheckoutStatuses() []CheckoutStatus {
	return []CheckoutStatus{StatusOpen, StatusProcessing, StatusPaid, StatusExpired, StatusCanceled}
}

// Checkout expiry bounds.
const (
	MinCheckoutExpiry     = 5 * time.Minute
	MaxCheckoutExpiry     = 24 * time.Hour
	DefaultCheckoutExpiry = 30 * time.Minute
	MaxMetadataKeys       = 50
)

// PaymentMethod is a chain and a token on it, as the API names them
// ("base", "USDC").
type PaymentMethod struct {
	Chain string `json:"chain"`
	Token string `json:"token"`
}

// CheckoutMethod is an accepted payment method of a checkout. Address, Amount
// and URI are set once the method is chosen and its fingerprinted amount
// reserved; until then the customer cannot pay with it.
type CheckoutMethod struct {
	PaymentMethod
	ChainName string   `json:"chain_name"`
	Contract  string   `json:"contract"`
	Decimals  uint8    `json:"decimals"`
	Address   string   `json:"address,omitempty"`
	Amount    *big.Int `json:"-"`
	URI       string   `json:"payment_uri,omitempty"`
	Reserved  int64    `json:"reserved,omitempty"`
	// Reference is the Solana Pay reference key of a reserved Solana
	// method: a fresh public key the customer's wallet adds to the
	// transfer, which names this checkout whatever amount arrives.
	Reference string `json:"reference,omitempty"`
}

// IsReserved reports whether the method has a fingerprinted amount.
func (m *CheckoutMethod) IsReserved() bool { return m.Amount != nil }

// checkoutMethodJSON is a method's JSON form for encoding/json: the
// struct's fields, then the amount as a decimal string and in base units.
// AppendJSON writes the same bytes by hand; UnmarshalJSON reads them
// through this.
type checkoutMethodJSON struct {
	checkoutMethodAlias
	amountJSON
}

// checkoutMethodAlias has CheckoutMethod's fields without its methods, for
// JSON encoding.
type checkoutMethodAlias CheckoutMethod

// MarshalJSON renders the amount both as a decimal string and in base units.
// It returns AppendJSON's bytes.
func (m CheckoutMethod) MarshalJSON() ([]byte, error) {
	return m.AppendJSON(make([]byte, 0, 512)), nil
}

// UnmarshalJSON reads what MarshalJSON wrote, replacing the whole method;
// a stored amount that is not an integer is an internal error.
func (m *CheckoutMethod) UnmarshalJSON(b []byte) error {
	var in checkoutMethodJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*m = CheckoutMethod(in.checkoutMethodAlias)
	v, err := in.value()
	m.Amount = v
	return err
}

// Checkout is one attempt of a customer to pay a merchant. Its JSON form is
// the API object and the data of its events.
type Checkout struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	Livemode      bool              `json:"livemode"`
	Status        CheckoutStatus    `json:"status"`
	Exception     Exception         `json:"exception,omitempty"`
	Price         string            `json:"price"`
	PriceCents    int64             `json:"-"`
	Currency      string            `json:"currency"`
	Description   string            `json:"description,omitempty"`
	OrderID       string            `json:"order_id,omitempty"`
	Metadata      map[string]string `json:"metadata"`
	SuccessURL    string            `json:"success_url,omitempty"`
	CancelURL     string            `json:"cancel_url,omitempty"`
	CustomerEmail string            `json:"customer_email,omitempty"`
	Methods       []CheckoutMethod  `json:"payment_methods"`
	Created       int64             `json:"created"`
	ExpiresAt     int64             `json:"expires_at"`
	LateUntil     int64             `json:"late_until"`
	CanceledAt    int64             `json:"canceled_at,omitempty"`
	ExpiredAt     int64             `json:"expired_at,omitempty"`
	PaidAt        int64             `json:"paid_at,omitempty"`
	// Payments lists the ids of the payments applied to the checkout, oldest
	// first; reverted ones stay listed with their payment marked reverted.
	Payments []string `json:"payments"`
	// PaidWith is the method of the payment that settled (or is settling)
	// the checkout.
	PaidWith *PaymentMethod `json:"paid_with,omitempty"`
	// AmountDue and AmountReceived are decimal strings in PaidWith's token,
	// set once a payment is applied, so underpaid and overpaid checkouts
	// show by how much.
	AmountDue      string `json:"amount_due,omitempty"`
	AmountReceived string `json:"amount_received,omitempty"`

	MerchantID string `json:"-"`
	// Version is the store's revision of the record; a change made from an
	// older version is refused so concurrent writers never lose an update.
	Version int64 `json:"-"`
}

// MarshalJSON returns AppendJSON's bytes, so that encoding/json and the API
// write a checkout as the store does.
func (c Checkout) MarshalJSON() ([]byte, error) {
	// A method rarely takes 512 bytes, nor does the rest, so the buffer
	// is usually allocated once.
	return c.AppendJSON(make([]byte, 0, 512*(1+len(c.Methods)))), nil
}

// Method returns the checkout's accepted method for pm.
func (c *Checkout) Method(pm PaymentMethod) (*CheckoutMethod, bool) {
	for i := range c.Methods {
		if c.Methods[i].Chain == pm.Chain && c.Methods[i].Token == pm.Token {
			return &c.Methods[i], true
		}
	}
	return nil, false
}

// Transition moves the checkout to state to at time now, or returns a
// conflict error naming both states.
func (c *Checkout) Transition(to CheckoutStatus, now time.Time) error {
	if !CanTransition(c.Status, to) {
		return Errorf(ECONFLICT, "checkout_status_invalid", "", "checkout is %s and cannot become %s", c.Status, to)
	}
	c.Status = to
	switch to {
	case StatusCanceled:
		c.CanceledAt = now.Unix()
	case StatusExpired:
		c.ExpiredAt = now.Unix()
	case StatusPaid:
		c.PaidAt = now.Unix()
	}
	return nil
}
