// Package catalog manages merchants' products and payment links, and opens a
// fresh checkout for each visit to a payment link.
//
// It holds the rules (what a valid product or link is, when a link may
// open); the store keeps the records and takes a link's uses atomically,
// and the checkout service creates the checkouts.
package catalog

import (
	"context"
	"log/slog"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/store"
)

// Store is what the catalog needs from the store. Lookups return not_found
// for another merchant's objects; Create/Update return conflict
// "product_changed" or "payment_link_changed" when the object moved past
// the version read; CreatePaymentLink conflict "slug_taken"; TakeLinkUse
// conflict "link_inactive" or "link_exhausted".
type Store interface {
	MerchantWithWallets(ctx context.Context, id string) (*sg.Merchant, []*sg.Wallet, error)
	CreateProduct(ctx context.Context, p *sg.Product) error
	Product(ctx context.Context, merchantID, id string) (*sg.Product, int64, error)
	UpdateProduct(ctx context.Context, p *sg.Product, version int64) (int64, error)
	ListProducts(ctx context.Context, merchantID string, live bool, f store.ListFilter) ([]*sg.Product, bool, error)
	CreatePaymentLink(ctx context.Context, l *sg.PaymentLink) error
	PaymentLink(ctx context.Context, merchantID, id string) (*sg.PaymentLink, int64, error)
	PaymentLinkBySlug(ctx context.Context, slug string) (*sg.PaymentLink, error)
	UpdatePaymentLink(ctx context.Context, l *sg.PaymentLink, version int64) (int64, error)
	ListPaymentLinks(ctx context.Context, merchantID string, live bool, f store.ListFilter) ([]*sg.PaymentLink, bool, error)
	TakeLinkUse(ctx context.Context, l *sg.PaymentLink) (int64, error)
	ReturnLinkUse(ctx context.Context, l *sg.PaymentLink) error
	CountWindow(ctx context.Context, subject string, window time.Duration, now time.Time) (int64, time.Time, error)
}

// The check sits here rather than beside Store because store cannot import
// catalog: catalog imports store for ListFilter.
var _ Store = (*store.Store)(nil)

// Checkouts is the checkout service as the catalog uses it. Create returns
// invalid for a parameter it refuses (no wallet for a method, a price too
// large) and conflict "fingerprint_space_exhausted".
type Checkouts interface {
	Create(ctx context.Context, p sg.Principal, params checkout.CreateParams) (*sg.Checkout, error)
}

var _ Checkouts = (*checkout.Service)(nil)

// Object names of the JSON objects this package makes.
const (
	ObjectProduct     = "product"
	ObjectPaymentLink = "payment_link"
)

// Config tunes the catalog service. A zero field takes its default.
type Config struct {
	// OpensPerMinute is how many checkouts one client (an IPv4 address or
	// an IPv6 /64) may open from one link per minute, so a crawler cannot
	// use up a price's fingerprinted amounts. Default 30.
	OpensPerMinute int
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config { return Config{OpensPerMinute: 30} }

// Service is the catalog service. Every method but the public ones (Open,
// AllowOpen, Page) acts for a principal and sees only its merchant's
// objects of its mode: any other is not_found, exactly like one that does
// not exist.
type Service struct {
	store     Store
	checkouts Checkouts
	registry  *chains.Registry
	now       sg.Clock
	cfg       Config
	log       *slog.Logger
}

// New returns the catalog service. clock defaults to time.Now, log to
// slog.Default.
func New(st Store, co Checkouts, reg *chains.Registry, clock sg.Clock, cfg Config, log *slog.Logger) *Service {
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.OpensPerMinute <= 0 {
		cfg.OpensPerMinute = DefaultConfig().OpensPerMinute
	}
	return &Service{store: st, checkouts: co, registry: reg, now: clock, cfg: cfg, log: log}
}

// casAttempts bounds the read-modify-write retries of one change.
const casAttempts = 5

func invalid(reason, param, format string, args ...any) error {
	return sg.Errorf(sg.EINVALID, reason, param, format, args...)
}

func isConflict(err error, reason string) bool {
	e := sg.ErrorOf(err)
	return e != nil && e.Code == sg.ECONFLICT && e.Reason == reason
}

// limited gives a list filter its default page size.
func limited(f store.ListFilter) store.ListFilter {
	if f.Limit <= 0 {
		f.Limit = 10
	}
	return f
}
