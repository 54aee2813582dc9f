package catalog

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/store"
)

// Limits on payment link parameters.
const (
	MinSlugLength = 3
	MaxSlugLength = 64
	// generatedSlugLength characters of a 32-letter alphabet carry 50
	// bits: collisions are rare enough that a few retries always find one.
	generatedSlugLength = 10
	MaxQuantity         = 10_000
	MaxMaxUses          = 1_000_000_000
	// MaxLinkDescriptionLength is the checkout's own limit, as the link's
	// description becomes its checkouts'.
	MaxLinkDescriptionLength = 500
	// maxLinkMetadataKeys leaves room in each checkout's metadata for the
	// payment_link and product keys the link adds.
	maxLinkMetadataKeys = sg.MaxMetadataKeys - 2
	maxPaymentMethods   = 64
)

// Metadata keys every checkout opened by a link carries.
const (
	MetadataLink    = "payment_link"
	MetadataProduct = "product"
)

// LinkParams are the fields of a payment link a merchant sets. Nil fields
// are left as they are by UpdateLink, which cannot change Slug, Product or
// Price. CreateLink requires exactly one of Product and Price; Slug is
// generated when nil or empty.
type LinkParams struct {
	Slug        *string
	Product     *string
	Price       *string
	Description *string
	// PaymentMethods are the accepted methods; nil leaves them (creation:
	// every method the merchant has a wallet for), empty accepts every
	// method again.
	PaymentMethods []sg.PaymentMethod
	Quantity       *int64
	SuccessURL     *string
	Active         *bool
	MaxUses        *int64
	// Metadata is the link's metadata on creation; on update its keys are
	// merged in, an empty value deleting its key. It is copied to every
	// checkout the link opens, with payment_link (and product) set.
	Metadata map[string]string
}

// slugAlphabet leaves out 0, 1, l and o, which read alike on paper.
const slugAlphabet = "abcdefghijkmnpqrstuvwxyz23456789"

func newSlug() string {
	b := make([]byte, generatedSlugLength)
	if _, err := rand.Read(b); err != nil {
		panic("catalog: crypto/rand failed: " + err.Error())
	}
	for i := range b {
		b[i] = slugAlphabet[int(b[i])%len(slugAlphabet)] // 256 is a multiple of 32: uniform
	}
	return string(b)
}

// ValidSlug reports whether s can be a slug: 3 to 64 of a-z, 0-9 and "-".
func ValidSlug(s string) bool {
	if len(s) < MinSlugLength || len(s) > MaxSlugLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// CreateLink creates a payment link in the principal's mode. It returns
// invalid for a bad parameter, naming it (a product of another merchant or
// mode is "product_missing", an inactive one "product_inactive"), and
// conflict "slug_taken" when another link of any merchant has the slug.
func (s *Service) CreateLink(ctx context.Context, p sg.Principal, params LinkParams) (*sg.PaymentLink, error) {
	hasProduct := params.Product != nil && *params.Product != ""
	hasPrice := params.Price != nil
	switch {
	case hasProduct && hasPrice:
		return nil, invalid("price_with_product", "price", "give either product or price, not both")
	case !hasProduct && !hasPrice:
		return nil, invalid("parameter_missing", "price", "a payment link needs a product or a price")
	case hasProduct && params.Description != nil:
		return nil, invalid("description_with_product", "description", "a link to a product is described by the product; description goes with price")
	}
	slug := ""
	if params.Slug != nil && *params.Slug != "" {
		slug = *params.Slug
		if !ValidSlug(slug) {
			return nil, invalid("slug_invalid", "slug", "slug must be %d to %d characters of a-z, 0-9 and -", MinSlugLength, MaxSlugLength)
		}
	}
	now := s.now()
	l := &sg.PaymentLink{
		ID:             sg.NewID(sg.PrefixLink, now),
		Object:         ObjectPaymentLink,
		Livemode:       p.Livemode,
		Currency:       "USD",
		PaymentMethods: []sg.PaymentMethod{},
		Quantity:       1,
		Active:         true,
		Metadata:       map[string]string{},
		Created:        now.Unix(),
		MerchantID:     p.MerchantID,
	}
	var unit int64
	if hasProduct {
		prod, _, err := s.product(ctx, p, *params.Product)
		if sg.IsCode(err, sg.ENOTFOUND) {
			return nil, invalid("product_missing", "product", "no such product")
		}
		if err != nil {
			return nil, err
		}
		if !prod.Active {
			return nil, invalid("product_inactive", "product", "product %s is not active", prod.ID)
		}
		l.Product = prod.ID
		if unit, err = sg.ParsePrice(prod.Price); err != nil {
			return nil, fmt.Errorf("product price: %w", err)
		}
	} else {
		cents, err := sg.ParsePrice(*params.Price)
		if err != nil {
			return nil, err
		}
		l.Price, unit = sg.FormatPrice(cents), cents
	}
	if err := s.applyLink(ctx, p, l, unit, params); err != nil {
		return nil, err
	}
	if slug != "" {
		l.Slug = slug
		if err := s.store.CreatePaymentLink(ctx, l); err != nil {
			return nil, err
		}
		return l, nil
	}
	for attempt := 1; ; attempt++ {
		l.Slug = newSlug()
		err := s.store.CreatePaymentLink(ctx, l)
		if isConflict(err, "slug_taken") && attempt < casAttempts {
			continue
		}
		if err != nil {
			return nil, err
		}
		return l, nil
	}
}

// applyLink validates the changeable parameters that are set and applies
// them to l, whose unit price is unit cents; l is left unchanged on error.
func (s *Service) applyLink(ctx context.Context, p sg.Principal, l *sg.PaymentLink, unit int64, params LinkParams) error {
	next := *l
	if params.Description != nil {
		if len(*params.Description) > MaxLinkDescriptionLength {
			return invalid("description_too_long", "description", "description must be at most %d characters", MaxLinkDescriptionLength)
		}
		next.Description = *params.Description
	}
	if params.Quantity != nil {
		if q := *params.Quantity; q < 1 || q > MaxQuantity {
			return invalid("quantity_invalid", "quantity", "quantity must be between 1 and %d", MaxQuantity)
		}
		next.Quantity = *params.Quantity
	}
	if unit*next.Quantity > sg.MaxPriceUSD*100 {
		return invalid("price_too_large", "quantity", "price times quantity must not exceed %d", sg.MaxPriceUSD)
	}
	if params.MaxUses != nil {
		if n := *params.MaxUses; n < 0 || n > MaxMaxUses {
			return invalid("max_uses_invalid", "max_uses", "max_uses must be between 0 (no limit) and %d", MaxMaxUses)
		}
		next.MaxUses = *params.MaxUses
	}
	if params.SuccessURL != nil {
		if err := checkSuccessURL(*params.SuccessURL, p.Livemode); err != nil {
			return err
		}
		next.SuccessURL = *params.SuccessURL
	}
	if params.Active != nil {
		next.Active = *params.Active
	}
	if params.PaymentMethods != nil {
		pms, err := s.checkMethods(ctx, p, params.PaymentMethods)
		if err != nil {
			return err
		}
		next.PaymentMethods = pms
	}
	if params.Metadata != nil {
		md, err := mergeMetadata(l.Metadata, params.Metadata, maxLinkMetadataKeys)
		if err != nil {
			return err
		}
		next.Metadata = md
	}
	*l = next
	return nil
}

// checkSuccessURL checks where a paid customer is sent: https, or http in
// test mode, where shops often run on localhost.
func checkSuccessURL(raw string, live bool) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || len(raw) > MaxURLLength || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return invalid("url_invalid", "success_url", "success_url must be an absolute https URL of at most %d characters", MaxURLLength)
	}
	if u.Scheme == "http" && live {
		return invalid("url_insecure", "success_url", "success_url must use https in live mode")
	}
	return nil
}

// checkMethods resolves accepted methods in the registry, which ignores
// case, and checks each is of the principal's mode and has a wallet of
// the merchant's, as the checkouts the link opens will.
func (s *Service) checkMethods(ctx context.Context, p sg.Principal, pms []sg.PaymentMethod) ([]sg.PaymentMethod, error) {
	if len(pms) > maxPaymentMethods {
		return nil, invalid("payment_methods_too_many", "payment_methods", "at most %d payment methods", maxPaymentMethods)
	}
	_, wallets, err := s.store.MerchantWithWallets(ctx, p.MerchantID)
	if err != nil {
		return nil, fmt.Errorf("load merchant: %w", err)
	}
	hasWallet := map[string]bool{}
	for _, w := range wallets {
		if w.Livemode == p.Livemode {
			hasWallet[w.Chain] = true
		}
	}
	out := make([]sg.PaymentMethod, 0, len(pms))
	for i, pm := range pms {
		param := "payment_methods[" + strconv.Itoa(i) + "]"
		if pm.Chain == "" || pm.Token == "" {
			return nil, invalid("parameter_missing", param, "each payment method needs chain and token")
		}
		chain, tok, err := s.registry.Lookup(pm.Chain, pm.Token)
		if e := sg.ErrorOf(err); e != nil {
			return nil, invalid(e.Reason, param+"."+e.Param, "%s", e.Message)
		}
		if err != nil {
			return nil, err
		}
		pm = sg.PaymentMethod{Chain: chain.ID, Token: tok.Symbol}
		for _, seen := range out {
			if seen == pm {
				return nil, invalid("payment_method_duplicate", param, "%s %s is listed twice", pm.Token, pm.Chain)
			}
		}
		if chain.Testnet == p.Livemode {
			return nil, invalid("payment_method_wrong_mode", param, "%s is not available in %s mode", chain.Name, modeName(p.Livemode))
		}
		if !hasWallet[chain.ID] {
			return nil, invalid("payment_method_no_wallet", param, "add a wallet on %s first", chain.Name)
		}
		out = append(out, pm)
	}
	return out, nil
}

func modeName(live bool) string {
	if live {
		return "live"
	}
	return "test"
}

// link returns the principal's payment link of its mode and its version.
func (s *Service) link(ctx context.Context, p sg.Principal, id string) (*sg.PaymentLink, int64, error) {
	l, v, err := s.store.PaymentLink(ctx, p.MerchantID, id)
	if err != nil {
		return nil, 0, err
	}
	if l.Livemode != p.Livemode {
		return nil, 0, sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such payment link")
	}
	return l, v, nil
}

// Link returns one of the principal's payment links.
func (s *Service) Link(ctx context.Context, p sg.Principal, id string) (*sg.PaymentLink, error) {
	l, _, err := s.link(ctx, p, id)
	return l, err
}

// Links returns a page of the principal's payment links, newest first; a
// zero Limit means 10.
func (s *Service) Links(ctx context.Context, p sg.Principal, f store.ListFilter) ([]*sg.PaymentLink, bool, error) {
	return s.store.ListPaymentLinks(ctx, p.MerchantID, p.Livemode, limited(f))
}

// UpdateLink changes the fields of params that are set and returns the
// link. A link's slug, product and price are fixed: create another link to
// change them. Errors are those of CreateLink, and not_found.
func (s *Service) UpdateLink(ctx context.Context, p sg.Principal, id string, params LinkParams) (*sg.PaymentLink, error) {
	for param, set := range map[string]bool{"slug": params.Slug != nil, "product": params.Product != nil, "price": params.Price != nil} {
		if set {
			return nil, invalid("parameter_immutable", param, "a payment link's %s cannot change; create another link", param)
		}
	}
	for attempt := 1; ; attempt++ {
		l, v, err := s.link(ctx, p, id)
		if err != nil {
			return nil, err
		}
		if l.Product != "" && params.Description != nil {
			return nil, invalid("description_with_product", "description", "a link to a product is described by the product")
		}
		unit, err := s.unitPrice(ctx, l)
		if err != nil {
			return nil, err
		}
		if err := s.applyLink(ctx, p, l, unit, params); err != nil {
			return nil, err
		}
		_, err = s.store.UpdatePaymentLink(ctx, l, v)
		if isConflict(err, "payment_link_changed") && attempt < casAttempts {
			continue
		}
		if err != nil {
			return nil, err
		}
		return l, nil
	}
}

// unitPrice returns the unit price of a link in cents: its own, or its
// product's current one.
func (s *Service) unitPrice(ctx context.Context, l *sg.PaymentLink) (int64, error) {
	if l.Product == "" {
		return sg.ParsePrice(l.Price)
	}
	prod, _, err := s.store.Product(ctx, l.MerchantID, l.Product)
	if err != nil {
		return 0, fmt.Errorf("link product: %w", err)
	}
	return sg.ParsePrice(prod.Price)
}

// Item is what a payment link sells at the moment: the product's name (or
// the link's description), the total price and whether it can sell now.
type Item struct {
	Link *sg.PaymentLink
	// Product is the link's product; nil for an ad-hoc price.
	Product *sg.Product
	// Description is the description its checkouts get.
	Description string
	// Price is unit price times quantity, as a USD decimal string.
	Price      string
	PriceCents int64
	// Merchant is the merchant selling it, for the public page's name and
	// branding.
	Merchant *sg.Merchant
}

// Available returns nil when the link can open a checkout now, as far as
// a read can tell, else conflict "link_inactive" or "link_exhausted".
func (it *Item) Available() error {
	switch {
	case !it.Link.Active:
		return sg.Errorf(sg.ECONFLICT, "link_inactive", "", "this payment link is no longer active")
	case it.Product != nil && !it.Product.Active:
		return sg.Errorf(sg.ECONFLICT, "link_inactive", "", "the product of this payment link is no longer available")
	case it.Link.Exhausted():
		return sg.Errorf(sg.ECONFLICT, "link_exhausted", "", "this payment link has reached its maximum number of uses")
	}
	return nil
}

// Page returns what the public link with slug sells, whether or not it can
// open a checkout now; not_found for a slug no link has.
func (s *Service) Page(ctx context.Context, slug string) (*Item, error) {
	if !ValidSlug(slug) {
		return nil, sg.Errorf(sg.ENOTFOUND, "resource_missing", "slug", "no such payment link")
	}
	l, err := s.store.PaymentLinkBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	it := &Item{Link: l, Description: l.Description}
	unit := int64(0)
	if l.Product != "" {
		prod, _, err := s.store.Product(ctx, l.MerchantID, l.Product)
		if err != nil {
			return nil, fmt.Errorf("link product: %w", err)
		}
		it.Product = prod
		it.Description = prod.Name
		if l.Quantity > 1 {
			it.Description = fmt.Sprintf("%s × %d", prod.Name, l.Quantity)
		}
		if unit, err = sg.ParsePrice(prod.Price); err != nil {
			return nil, fmt.Errorf("product price: %w", err)
		}
	} else if unit, err = sg.ParsePrice(l.Price); err != nil {
		return nil, fmt.Errorf("link price: %w", err)
	}
	it.PriceCents = unit * max(l.Quantity, 1)
	it.Price = sg.FormatPrice(it.PriceCents)
	m, _, err := s.store.MerchantWithWallets(ctx, l.MerchantID)
	if err != nil {
		return nil, fmt.Errorf("load merchant: %w", err)
	}
	it.Merchant = m
	return it, nil
}

// Open opens a fresh checkout for a visitor of the public link with slug:
// for the link's product at its current price (or the link's own price)
// times the quantity, with the link's payment methods and success URL, and
// metadata that names the link. The link's use is taken atomically with
// the checks, so a link with max_uses n opens exactly n checkouts however
// many visitors come at once; a use whose checkout could not be created is
// given back. It returns not_found for an unknown slug, conflict
// "link_inactive" (the link or its product is inactive) or
// "link_exhausted", and the checkout service's errors.
func (s *Service) Open(ctx context.Context, slug string) (*sg.Checkout, error) {
	it, err := s.Page(ctx, slug)
	if err != nil {
		return nil, err
	}
	if err := it.Available(); err != nil {
		return nil, err
	}
	l := it.Link
	if _, err := s.store.TakeLinkUse(ctx, l); err != nil {
		return nil, err
	}
	md := make(map[string]string, len(l.Metadata)+2)
	for k, v := range l.Metadata {
		md[k] = v
	}
	md[MetadataLink] = l.ID
	if l.Product != "" {
		md[MetadataProduct] = l.Product
	}
	pms := l.PaymentMethods
	if len(pms) == 0 {
		pms = nil // every method the merchant has a wallet for
	}
	co, err := s.checkouts.Create(ctx, sg.Principal{MerchantID: l.MerchantID, Kind: sg.KeySecret, Livemode: l.Livemode}, checkout.CreateParams{
		Price:          sg.FormatPrice(it.PriceCents),
		Description:    it.Description,
		PaymentMethods: pms,
		Metadata:       md,
		SuccessURL:     l.SuccessURL,
	})
	if err != nil {
		s.returnUse(l)
		return nil, fmt.Errorf("open checkout for %s: %w", l.ID, err)
	}
	return co, nil
}

// returnUse gives back a use with a fresh context: the request's may be
// what failed.
func (s *Service) returnUse(l *sg.PaymentLink) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.store.ReturnLinkUse(ctx, l); err != nil {
		// The link then counts one use more than the checkouts it opened.
		s.log.Warn("return payment link use", "payment_link", l.ID, "err", err)
	}
}

// AllowOpen counts a visit of client (an IP address as text) to the link
// with slug and returns rate_limited, with how long until the client may
// try again, once the client has made OpensPerMinute visits this minute.
// IPv6 clients are counted by /64, which one host can fill at will.
func (s *Service) AllowOpen(ctx context.Context, slug, client string) (time.Duration, error) {
	if !ValidSlug(slug) {
		return 0, nil // Open answers not_found without touching the store
	}
	now := s.now()
	sum := sha256.Sum256([]byte("open " + slug + " " + sg.ClientKey(client)))
	n, end, err := s.store.CountWindow(ctx, hex.EncodeToString(sum[:16]), time.Minute, now)
	if err != nil {
		return 0, err
	}
	if n <= int64(s.cfg.OpensPerMinute) {
		return 0, nil
	}
	return end.Sub(now), sg.Errorf(sg.ERATELIMITED, "rate_limited", "", "too many checkouts opened from this link; try again in a minute")
}
