package stablegate

// Product is something a merchant sells at a fixed USD price. Payment links
// sell products; each visit to a link opens a checkout at the product's
// current price.
type Product struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	Livemode    bool   `json:"livemode"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// ImageURL is an https URL of a picture of the product.
	ImageURL string `json:"image_url,omitempty"`
	// Price is the unit price, a USD decimal string like a checkout's
	// ("49.00").
	Price    string `json:"price"`
	Currency string `json:"currency"`
	// Active products can back new payment links, and their links open
	// checkouts; an inactive one sells nothing until it is active again.
	Active     bool              `json:"active"`
	Metadata   map[string]string `json:"metadata"`
	Created    int64             `json:"created"`
	MerchantID string            `json:"-"`
}
