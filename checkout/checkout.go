// Package checkout creates checkouts, reserves their fingerprinted amounts,
// moves them through their states and expires them on time.
//
// It holds the rules; the store (Redis) holds the records and makes each
// change atomic, and the api package only translates HTTP.
package checkout

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"net/mail"
	"net/url"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/store"
)

// Store is what the checkout service needs from the store. Methods return
// not_found for a missing record and conflict for a concurrent change.
type Store interface {
	MerchantWithWallets(ctx context.Context, id string) (*sg.Merchant, []*sg.Wallet, error)
	Reserve(ctx context.Context, r store.ReserveRequest) (store.ReserveResult, error)
	Release(ctx context.Context, sp store.Space, checkoutID string, amount *big.Int) error
	ReservedInWindow(ctx context.Context, sp store.Space, low, high *big.Int, limit int) ([]*big.Int, error)
	DueExpiries(ctx context.Context, now time.Time, limit int) ([][2]string, error)
	DoneExpiry(ctx context.Context, merchantID, checkoutID string) error
	CreateCheckout(ctx context.Context, c *sg.Checkout, evt *sg.Event) error
	Checkout(ctx context.Context, merchantID, id string) (*sg.Checkout, error)
	UpdateCheckout(ctx context.Context, c *sg.Checkout, oldStatus sg.CheckoutStatus, evt *sg.Event) error
	ListCheckouts(ctx context.Context, merchantID string, f store.CheckoutFilter) ([]*sg.Checkout, bool, error)
	AddReference(ctx context.Context, chain, reference string, h store.ReferenceHolder, until time.Time) error
}

var _ Store = (*store.Store)(nil)

// Service is the checkout service.
type Service struct {
	store    Store
	registry *chains.Registry
	now      sg.Clock
	log      *slog.Logger
	alloc    *Allocator
}

// New returns a checkout service. clock defaults to time.Now.
func New(st Store, reg *chains.Registry, clock sg.Clock, log *slog.Logger) *Service {
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: st, registry: reg, now: clock, log: log, alloc: NewAllocator(st)}
}

// Allocator returns the fingerprint allocator the service uses.
func (s *Service) Allocator() *Allocator { return s.alloc }

// CreateParams is a checkout creation request after JSON decoding.
type CreateParams struct {
	Price          string
	Currency       string
	Description    string
	PaymentMethods []sg.PaymentMethod // accepted; empty means all the merchant has wallets for
	PaymentMethod  *sg.PaymentMethod  // chosen now; must be accepted
	ExpiresIn      *int64             // seconds; nil means the default
	OrderID        string
	Metadata       map[string]string
	SuccessURL     string
	CancelURL      string
	CustomerEmail  string
}

// Field limits, like Stripe's.
const (
	maxOrderID     = 200
	maxDescription = 500
	maxMetaKey     = 40
	maxMetaValue   = 500
	maxURL         = 2048
)

func invalid(reason, param, format string, args ...any) error {
	return sg.Errorf(sg.EINVALID, reason, param, format, args...)
}

// validate checks the parameters that need no store access.
func (p *CreateParams) validate() (int64, time.Duration, error) {
	cents, err := sg.ParsePrice(p.Price)
	if err != nil {
		return 0, 0, err
	}
	if p.Currency == "" {
		p.Currency = "USD"
	}
	if p.Currency != "USD" && p.Currency != "usd" {
		return 0, 0, invalid("currency_unsupported", "currency", "currency must be USD")
	}
	p.Currency = "USD"
	expiry := sg.DefaultCheckoutExpiry
	if p.ExpiresIn != nil {
		expiry = time.Duration(*p.ExpiresIn) * time.Second
		if *p.ExpiresIn < int64(sg.MinCheckoutExpiry/time.Second) || *p.ExpiresIn > int64(sg.MaxCheckoutExpiry/time.Second) {
			return 0, 0, invalid("expires_in_out_of_range", "expires_in", "expires_in must be between 300 and 86400 seconds")
		}
	}
	if len(p.OrderID) > maxOrderID {
		return 0, 0, invalid("order_id_too_long", "order_id", "order_id must be at most %d characters", maxOrderID)
	}
	if len(p.Description) > maxDescription {
		return 0, 0, invalid("description_too_long", "description", "description must be at most %d characters", maxDescription)
	}
	if err := ValidateMetadata(p.Metadata); err != nil {
		return 0, 0, err
	}
	for param, u := range map[string]string{"success_url": p.SuccessURL, "cancel_url": p.CancelURL} {
		if err := validateURL(param, u); err != nil {
			return 0, 0, err
		}
	}
	if p.CustomerEmail != "" {
		a, err := mail.ParseAddress(p.CustomerEmail)
		if err != nil || a.Address != p.CustomerEmail || len(p.CustomerEmail) > 254 {
			return 0, 0, invalid("customer_email_invalid", "customer_email", "customer_email is not a valid email address")
		}
	}
	return cents, expiry, nil
}

// ValidateMetadata checks metadata against the limits: at most 50 keys, keys
// up to 40 characters, values up to 500.
func ValidateMetadata(m map[string]string) error {
	if len(m) > sg.MaxMetadataKeys {
		return invalid("metadata_too_many_keys", "metadata", "metadata may have at most %d keys", sg.MaxMetadataKeys)
	}
	for k, v := range m {
		if k == "" || len(k) > maxMetaKey {
			return invalid("metadata_key_invalid", "metadata", "metadata keys must be 1 to %d characters", maxMetaKey)
		}
		if len(v) > maxMetaValue {
			return invalid("metadata_value_too_long", "metadata["+k+"]", "metadata values must be at most %d characters", maxMetaValue)
		}
	}
	return nil
}

func validateURL(param, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || len(raw) > maxURL || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return invalid("url_invalid", param, "%s must be an absolute http or https URL", param)
	}
	return nil
}

// Create validates params, creates the checkout for the caller's merchant
// and mode, reserves the chosen method's amount (or the only accepted one's)
// and records checkout.created, all or nothing.
func (s *Service) Create(ctx context.Context, p sg.Principal, params CreateParams) (*sg.Checkout, error) {
	cents, expiry, err := params.validate()
	if err != nil {
		return nil, err
	}
	m, wallets, err := s.store.MerchantWithWallets(ctx, p.MerchantID)
	if err != nil {
		return nil, fmt.Errorf("load merchant: %w", err)
	}
	methods, err := s.acceptedMethods(params.PaymentMethods, wallets, p.Livemode)
	if err != nil {
		return nil, err
	}
	var chosen *sg.PaymentMethod
	switch {
	case params.PaymentMethod != nil:
		pm, err := s.normalize(*params.PaymentMethod, "payment_method")
		if err != nil {
			return nil, err
		}
		chosen = &pm
		if !containsMethod(methods, *chosen) {
			return nil, invalid("payment_method_not_accepted", "payment_method", "payment_method must be one of the accepted payment_methods")
		}
	case len(methods) == 1:
		chosen = &methods[0].PaymentMethod
	}

	now := s.now()
	expiresAt := now.Add(expiry)
	c := &sg.Checkout{
		ID:            sg.NewID(sg.PrefixCheckout, now),
		Object:        "checkout",
		Livemode:      p.Livemode,
		Status:        sg.StatusOpen,
		Price:         sg.FormatPrice(cents),
		PriceCents:    cents,
		Currency:      params.Currency,
		Description:   params.Description,
		OrderID:       params.OrderID,
		Metadata:      params.Metadata,
		SuccessURL:    params.SuccessURL,
		CancelURL:     params.CancelURL,
		CustomerEmail: params.CustomerEmail,
		Methods:       methods,
		Created:       now.Unix(),
		ExpiresAt:     expiresAt.Unix(),
		LateUntil:     expiresAt.Add(m.SettingsFor(p.Livemode).LateWindow()).Unix(),
		MerchantID:    p.MerchantID,
	}
	if c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	c.Payments = []string{}
	if chosen != nil {
		if err := s.reserve(ctx, m, wallets, c, *chosen, now); err != nil {
			return nil, err
		}
	}
	if err := s.store.CreateCheckout(ctx, c, newEvent(c, sg.EventCheckoutCreated, now)); err != nil {
		s.releaseAll(c)
		return nil, err
	}
	return c, nil
}

// releaseAll gives back the amounts of a checkout whose creation failed. It
// uses a fresh context: the request's may be what failed.
func (s *Service) releaseAll(c *sg.Checkout) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, m := range c.Methods {
		if !m.IsReserved() {
			continue
		}
		sp := store.Space{MerchantID: c.MerchantID, Chain: m.Chain, Contract: m.Contract, Address: m.Address}
		if err := s.store.Release(ctx, sp, c.ID, m.Amount); err != nil {
			// The reservation then simply lapses at its end time.
			s.log.Warn("release reservation", "checkout", c.ID, "chain", m.Chain, "err", err)
		}
	}
}

// normalize resolves a method's chain and token through the registry, which
// ignores case, so "usdc" names the same method as "USDC".
func (s *Service) normalize(pm sg.PaymentMethod, param string) (sg.PaymentMethod, error) {
	chain, tok, err := s.lookup(pm, param)
	if err != nil {
		return pm, err
	}
	return sg.PaymentMethod{Chain: chain.ID, Token: tok.Symbol}, nil
}

// lookup resolves a method in the registry; an unknown chain or token is
// reported under param (e.g. "payment_methods[2].token").
func (s *Service) lookup(pm sg.PaymentMethod, param string) (*chains.Chain, *chains.Token, error) {
	chain, tok, err := s.registry.Lookup(pm.Chain, pm.Token)
	if err != nil {
		if e := sg.ErrorOf(err); e != nil {
			e.Param = param + "." + e.Param
		}
		return nil, nil, err
	}
	return chain, tok, nil
}

func containsMethod(ms []sg.CheckoutMethod, pm sg.PaymentMethod) bool {
	for _, m := range ms {
		if m.PaymentMethod == pm {
			return true
		}
	}
	return false
}

// acceptedMethods resolves the requested methods (or all the merchant can
// take in this mode) against the registry and the merchant's wallets.
func (s *Service) acceptedMethods(req []sg.PaymentMethod, wallets []*sg.Wallet, live bool) ([]sg.CheckoutMethod, error) {
	hasWallet := map[string]bool{}
	for _, w := range wallets {
		if w.Livemode == live {
			hasWallet[w.Chain] = true
		}
	}
	if len(req) == 0 {
		for _, c := range s.registry.Chains() {
			if !hasWallet[c.ID] || c.Testnet == live {
				continue
			}
			for _, t := range c.Tokens {
				req = append(req, sg.PaymentMethod{Chain: c.ID, Token: t.Symbol})
			}
		}
		if len(req) == 0 {
			return nil, invalid("payment_methods_unavailable", "payment_methods", "add a wallet for a %s chain before creating checkouts", modeName(live))
		}
	}
	if len(req) > 64 {
		return nil, invalid("payment_methods_too_many", "payment_methods", "at most 64 payment methods")
	}
	out := make([]sg.CheckoutMethod, 0, len(req))
	seen := map[sg.PaymentMethod]bool{}
	for i, pm := range req {
		param := fmt.Sprintf("payment_methods[%d]", i)
		chain, tok, err := s.lookup(pm, param)
		if err != nil {
			return nil, err
		}
		pm = sg.PaymentMethod{Chain: chain.ID, Token: tok.Symbol}
		if seen[pm] {
			return nil, invalid("payment_method_duplicate", param, "%s %s is listed twice", pm.Token, pm.Chain)
		}
		seen[pm] = true
		if chain.Testnet == live {
			return nil, invalid("payment_method_wrong_mode", param, "%s is not available in %s mode", chain.Name, modeName(live))
		}
		if !hasWallet[chain.ID] {
			return nil, invalid("payment_method_no_wallet", param, "add a wallet on %s first", chain.Name)
		}
		out = append(out, sg.CheckoutMethod{
			PaymentMethod: pm,
			ChainName:     chain.Name,
			Contract:      tok.Contract,
			Decimals:      tok.Decimals,
		})
	}
	return out, nil
}

func modeName(live bool) string {
	if live {
		return "live"
	}
	return "test"
}

// newEvent returns the event of a change to c. Its Data is left to the
// store, which records c exactly as it writes it, encoding it once.
func newEvent(c *sg.Checkout, typ string, now time.Time) *sg.Event {
	return &sg.Event{
		ID:         sg.NewID(sg.PrefixEvent, now),
		Object:     "event",
		Type:       typ,
		Created:    now.Unix(),
		Livemode:   c.Livemode,
		MerchantID: c.MerchantID,
	}
}
