package web

import (
	"embed"
	"html/template"
	"io"
)

// LinkReason says what the page of a payment link shows instead of a
// checkout.
type LinkReason string

// Link page reasons.
const (
	LinkNotFound    LinkReason = "not_found"    // no link has the slug
	LinkInactive    LinkReason = "inactive"     // the link or its product was deactivated
	LinkExhausted   LinkReason = "exhausted"    // the link opened its max uses
	LinkRateLimited LinkReason = "rate_limited" // the visitor opened it too often
	LinkUnavailable LinkReason = "unavailable"  // no checkout could be created just now
	// LinkPreview is what a link-preview bot (or a HEAD request) gets: what
	// the link sells, with Open Graph tags, and no checkout opened.
	LinkPreview LinkReason = "preview"
)

// LinkPage is the data of the page of a payment link that opens no
// checkout. Every field but Reason may be empty; an unknown link has no
// merchant to show.
type LinkPage struct {
	Reason       LinkReason
	MerchantName string
	LogoURL      string
	SupportEmail string
	// Item, Price and Currency say what the link sells ("Tee × 2",
	// "50.00", "USD"); ImageURL pictures it.
	Item     string
	Price    string
	Currency string
	ImageURL string
	// URL is the link's public address.
	URL string
}

var (
	//go:embed templates/link.html
	linkTemplateFS embed.FS
	linkTemplate   = template.Must(template.ParseFS(linkTemplateFS, "templates/link.html"))
)

// RenderLinkUnavailable writes the page of a payment link that opens no
// checkout, for the reason in d. It links the hosted page's stylesheet
// (/assets/pay.css) and carries no script and no inline style, so it
// stands under a CSP of style-src 'self'.
func RenderLinkUnavailable(w io.Writer, d LinkPage) error {
	return linkTemplate.Execute(w, d)
}
