package stablegate

import (
	"crypto/sha256"
	"encoding/json"
	"math/big"
)

// PaymentStatus is where a seen transfer stands on its chain.
type PaymentStatus string

// Payment states.
const (
	PaymentPending   PaymentStatus = "pending"   // in a block, not yet final under the chain's policy
	PaymentConfirmed PaymentStatus = "confirmed" // final; re-checked canonical and successful
	PaymentReverted  PaymentStatus = "reverted"  // its block left the canonical chain
)

// Payment is a transfer of a registry token to a merchant's address. It is
// matched to the checkout that reserved its exact amount, or stays
// unmatched until the merchant attaches it to a checkout.
type Payment struct {
	ID          string        `json:"id"`
	Object      string        `json:"object"`
	Livemode    bool          `json:"livemode"`
	Status      PaymentStatus `json:"status"`
	Chain       string        `json:"chain"`
	Token       string        `json:"token"`
	Contract    string        `json:"contract"`
	Decimals    uint8         `json:"decimals"`
	TxHash      string        `json:"tx_hash"`
	LogIndex    uint          `json:"log_index"`
	BlockNumber uint64        `json:"block_number"`
	BlockHash   string        `json:"block_hash"`
	BlockTime   int64         `json:"block_time"`
	From        string        `json:"from"`
	To          string        `json:"to"`
	Amount      *big.Int      `json:"-"`
	CheckoutID  string        `json:"checkout,omitempty"`
	// Reference is the Solana Pay reference key that matched the payment
	// to its checkout; "" when its exact amount did.
	Reference   string `json:"reference,omitempty"`
	Created     int64  `json:"created"`
	ConfirmedAt int64  `json:"confirmed_at,omitempty"`

	MerchantID string `json:"-"`
}

// PaymentID derives a payment's id from the transfer's identity, so seeing
// the same transfer twice can only ever name one payment.
func PaymentID(chain, txHash string, logIndex uint) string {
	sum := sha256.Sum256([]byte(chain + ":" + txHash + ":" + big.NewInt(int64(logIndex)).String()))
	return PrefixPayment + idEncoding.EncodeToString(sum[:16])
}

// paymentAlias has Payment's fields without its methods, for JSON encoding.
type paymentAlias Payment

// paymentJSON is a payment's JSON form for encoding/json: the struct's
// fields, then the amount as a decimal string and in base units.
// AppendJSON writes the same bytes by hand; UnmarshalJSON reads them
// through this.
type paymentJSON struct {
	paymentAlias
	amountJSON
}

// MarshalJSON renders the amount both as a decimal string and in base units.
// It returns AppendJSON's bytes.
func (p Payment) MarshalJSON() ([]byte, error) {
	return p.AppendJSON(make([]byte, 0, 512)), nil
}

// UnmarshalJSON reads what MarshalJSON wrote, replacing the whole payment,
// MerchantID included; a stored amount that is not an integer is an
// internal error.
func (p *Payment) UnmarshalJSON(b []byte) error {
	var in paymentJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*p = Payment(in.paymentAlias)
	v, err := in.value()
	p.Amount = v
	return err
}
