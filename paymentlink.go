package stablegate

// PaymentLink is a public URL (<public URL>/l/<slug>) that opens a fresh
// checkout for each visitor: for a product of the merchant's, or for an
// ad-hoc price with a description, times a quantity.
type PaymentLink struct {
	ID       string `json:"id"`
	Object   string `json:"object"`
	Livemode bool   `json:"livemode"`
	// Slug names the link in its URL; unique across the gateway.
	Slug string `json:"slug"`
	// URL is the link's public address. It depends on where the gateway is
	// reached, so the API sets it in each response; it is not stored.
	URL string `json:"url"`
	// Product is the id of the product sold, or empty for an ad-hoc price.
	Product string `json:"product,omitempty"`
	// Price is the ad-hoc unit price (USD decimal string) when Product is
	// empty; Description then says what it is for.
	Price       string `json:"price,omitempty"`
	Description string `json:"description,omitempty"`
	Currency    string `json:"currency"`
	// PaymentMethods are the accepted methods of the checkouts the link
	// opens; empty accepts every method the merchant has a wallet for at
	// the time of each visit.
	PaymentMethods []PaymentMethod `json:"payment_methods"`
	// Quantity multiplies the unit price: a checkout's price is unit price
	// times quantity. At least 1.
	Quantity   int64  `json:"quantity"`
	SuccessURL string `json:"success_url,omitempty"`
	// Active links open checkouts; inactive ones show that the link is
	// closed.
	Active bool `json:"active"`
	// MaxUses caps the checkouts the link opens; 0 is no limit.
	MaxUses int64 `json:"max_uses"`
	// Uses counts the checkouts the link has opened.
	Uses       int64             `json:"uses"`
	Metadata   map[string]string `json:"metadata"`
	Created    int64             `json:"created"`
	MerchantID string            `json:"-"`
}

// Exhausted reports whether the link has opened as many checkouts as it
// may.
func (l *PaymentLink) Exhausted() bool { return l.MaxUses > 0 && l.Uses >= l.MaxUses }
