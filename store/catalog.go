package store

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	sg "github.com/stablegate/stablegate"
)

var (
	//go:embed lua/catalog_put.lua
	catalogPutLua string
	//go:embed lua/link_take_use.lua
	linkTakeUseLua string
	//go:embed lua/slug_claim.lua
	slugClaimLua string

	catalogPutScript  = redis.NewScript(catalogPutLua)
	linkTakeUseScript = redis.NewScript(linkTakeUseLua)
	slugClaimScript   = redis.NewScript(slugClaimLua)
)

// Products and payment links live with their merchant: each in one hash
// beside its version and the few fields the script that opens a link
// checks, so taking a use is one step. A global claim per slug finds a
// link from its public URL.

// staleSlugClaim is how old a slug claim without a link must be before a
// new link may take it over: older than any creation still in progress.
const staleSlugClaim = time.Minute

// catalogID reports whether id can name an object of the prefix. A colon
// would address one of the state fields beside the object's JSON.
func catalogID(prefix, id string) bool {
	return strings.HasPrefix(id, prefix) && !strings.Contains(id, ":")
}

func boolField(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// putCatalog runs catalog_put.lua; version 0 creates. what names the
// object in errors ("product", "payment link") and reason its conflicts.
func (s *Store) putCatalog(ctx context.Context, hash, index, id string, version int64, v any, active bool, max, what, reason string) (int64, error) {
	b, err := sg.EncodeJSON(v)
	if err != nil {
		return 0, fmt.Errorf("encode %s: %w", what, err)
	}
	nv, err := catalogPutScript.Run(ctx, s.rdb, []string{hash, index}, id, version, b, boolField(active), max).Int64()
	switch {
	case scriptError(err, "EXISTS"):
		return 0, sg.Errorf(sg.ECONFLICT, reason+"_exists", "id", "%s %s exists", what, id)
	case scriptError(err, "NOTFOUND"):
		return 0, sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such %s", what)
	case scriptError(err, "VERSION"):
		return 0, sg.Errorf(sg.ECONFLICT, reason+"_changed", "", "%s changed concurrently", what)
	case err != nil:
		return 0, fmt.Errorf("store %s: %w", what, err)
	}
	return nv, nil
}

func decodeProduct(merchantID string, b []byte) (*sg.Product, error) {
	var p sg.Product
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decode product: %w", err)
	}
	p.MerchantID = merchantID
	if p.Metadata == nil {
		p.Metadata = map[string]string{}
	}
	return &p, nil
}

// CreateProduct stores a new product.
func (s *Store) CreateProduct(ctx context.Context, p *sg.Product) error {
	_, err := s.putCatalog(ctx, s.keys.Products(p.MerchantID), s.keys.ProductIndex(p.MerchantID, p.Livemode),
		p.ID, 0, p, p.Active, "", "product", "product")
	return err
}

// Product returns a merchant's product and its version; not_found for
// another merchant's.
func (s *Store) Product(ctx context.Context, merchantID, id string) (*sg.Product, int64, error) {
	missing := sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such product")
	if !catalogID(sg.PrefixProduct, id) {
		return nil, 0, missing
	}
	js, v, _, err := s.versionedRecord(ctx, s.keys.Products(merchantID), id)
	if err != nil {
		return nil, 0, err
	}
	if js == "" {
		return nil, 0, missing
	}
	p, err := decodeProduct(merchantID, []byte(js))
	return p, v, err
}

// UpdateProduct writes p if it is still at version and returns the new
// version; conflict "product_changed" when another writer got there first,
// not_found when it is gone.
func (s *Store) UpdateProduct(ctx context.Context, p *sg.Product, version int64) (int64, error) {
	return s.putCatalog(ctx, s.keys.Products(p.MerchantID), s.keys.ProductIndex(p.MerchantID, p.Livemode),
		p.ID, version, p, p.Active, "", "product", "product")
}

// ListProducts returns a page of a merchant's products of one mode, newest
// first.
func (s *Store) ListProducts(ctx context.Context, merchantID string, live bool, f ListFilter) ([]*sg.Product, bool, error) {
	lo, hi := f.bounds()
	load := func(ids []string) ([]*sg.Product, error) {
		return hashValues(ctx, s.rdb, s.keys.Products(merchantID), ids, func(b []byte) (*sg.Product, error) {
			return decodeProduct(merchantID, b)
		})
	}
	return page(ctx, s.rdb, s.keys.ProductIndex(merchantID, live), lo, hi, f.EndingBefore != "", f.Limit, load, nil)
}

// encodeLink returns a payment link as stored: without its URL, which
// depends on the request, and without its uses, which live in their own
// field.
func encodeLink(l *sg.PaymentLink) *sg.PaymentLink {
	r := *l
	r.URL, r.Uses = "", 0
	return &r
}

func decodeLink(merchantID string, b []byte, uses any) (*sg.PaymentLink, error) {
	var l sg.PaymentLink
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("decode payment link: %w", err)
	}
	l.MerchantID = merchantID
	if l.Metadata == nil {
		l.Metadata = map[string]string{}
	}
	if l.PaymentMethods == nil {
		l.PaymentMethods = []sg.PaymentMethod{}
	}
	if u, ok := uses.(string); ok {
		n, err := strconv.ParseInt(u, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("decode payment link uses: %w", err)
		}
		l.Uses = n
	}
	return &l, nil
}

// CreatePaymentLink claims the link's slug and stores the link; conflict
// "slug_taken" when another link, of any merchant, holds the slug. A claim
// left by a creation that failed half-way is taken over once it is stale.
func (s *Store) CreatePaymentLink(ctx context.Context, l *sg.PaymentLink) error {
	claim := s.keys.PaymentLinkSlug(l.Slug)
	owner := l.MerchantID + " " + l.ID
	taken := sg.Errorf(sg.ECONFLICT, "slug_taken", "slug", "the slug %q is taken; choose another", l.Slug)
	replace := ""
	for attempt := 0; ; attempt++ {
		if attempt == 3 {
			return taken
		}
		res, err := slugClaimScript.Run(ctx, s.rdb, []string{claim}, owner, replace).Result()
		if err != nil {
			return fmt.Errorf("claim slug: %w", err)
		}
		if n, ok := res.(int64); ok && n == 1 {
			break
		}
		cur, _ := res.(string)
		if cur == "" { // the stale claim went away meanwhile
			replace = ""
			continue
		}
		m, id, _ := strings.Cut(cur, " ")
		exists, err := s.rdb.HExists(ctx, s.keys.PaymentLinks(m), id+":v").Result()
		if err != nil {
			return fmt.Errorf("read slug owner: %w", err)
		}
		if exists || time.Since(sg.IDTime(sg.PrefixLink, id)) < staleSlugClaim {
			return taken
		}
		replace = cur
	}
	// Should this fail, the claim is left without a link and becomes stale.
	_, err := s.putCatalog(ctx, s.keys.PaymentLinks(l.MerchantID), s.keys.PaymentLinkIndex(l.MerchantID, l.Livemode),
		l.ID, 0, encodeLink(l), l.Active, strconv.FormatInt(l.MaxUses, 10), "payment link", "payment_link")
	return err
}

// PaymentLink returns a merchant's payment link with its uses, and its
// version; not_found for another merchant's.
func (s *Store) PaymentLink(ctx context.Context, merchantID, id string) (*sg.PaymentLink, int64, error) {
	missing := sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such payment link")
	if !catalogID(sg.PrefixLink, id) {
		return nil, 0, missing
	}
	js, v, uses, err := s.versionedRecord(ctx, s.keys.PaymentLinks(merchantID), id, "uses")
	if err != nil {
		return nil, 0, err
	}
	if js == "" {
		return nil, 0, missing
	}
	l, err := decodeLink(merchantID, []byte(js), uses[0])
	return l, v, err
}

// PaymentLinkBySlug returns the payment link a slug names, of any merchant;
// not_found when none does.
func (s *Store) PaymentLinkBySlug(ctx context.Context, slug string) (*sg.PaymentLink, error) {
	missing := sg.Errorf(sg.ENOTFOUND, "resource_missing", "slug", "no such payment link")
	cur, err := s.rdb.Get(ctx, s.keys.PaymentLinkSlug(slug)).Result()
	if err == redis.Nil {
		return nil, missing
	}
	if err != nil {
		return nil, fmt.Errorf("look up slug: %w", err)
	}
	m, id, _ := strings.Cut(cur, " ")
	l, _, err := s.PaymentLink(ctx, m, id)
	if sg.IsCode(err, sg.ENOTFOUND) || (err == nil && l.Slug != slug) {
		return nil, missing // a claim whose link was never written
	}
	return l, err
}

// UpdatePaymentLink writes l if it is still at version and returns the new
// version; conflict "payment_link_changed" when another writer got there
// first. Its uses and slug are not changed.
func (s *Store) UpdatePaymentLink(ctx context.Context, l *sg.PaymentLink, version int64) (int64, error) {
	return s.putCatalog(ctx, s.keys.PaymentLinks(l.MerchantID), s.keys.PaymentLinkIndex(l.MerchantID, l.Livemode),
		l.ID, version, encodeLink(l), l.Active, strconv.FormatInt(l.MaxUses, 10), "payment link", "payment_link")
}

// ListPaymentLinks returns a page of a merchant's payment links of one
// mode, newest first, with their uses.
func (s *Store) ListPaymentLinks(ctx context.Context, merchantID string, live bool, f ListFilter) ([]*sg.PaymentLink, bool, error) {
	lo, hi := f.bounds()
	key := s.keys.PaymentLinks(merchantID)
	load := func(ids []string) ([]*sg.PaymentLink, error) {
		fields := make([]string, 0, 2*len(ids))
		for _, id := range ids {
			fields = append(fields, id, id+":uses")
		}
		vals, err := s.rdb.HMGet(ctx, key, fields...).Result()
		if err != nil {
			return nil, fmt.Errorf("get %s: %w", key, err)
		}
		out := make([]*sg.PaymentLink, 0, len(ids))
		for i := 0; i+1 < len(vals); i += 2 {
			js, ok := vals[i].(string)
			if !ok {
				continue
			}
			l, err := decodeLink(merchantID, []byte(js), vals[i+1])
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		}
		return out, nil
	}
	return page(ctx, s.rdb, s.keys.PaymentLinkIndex(merchantID, live), lo, hi, f.EndingBefore != "", f.Limit, load, nil)
}

// TakeLinkUse takes one use of a link for a checkout about to open and
// returns its uses after it, atomically with the checks: conflict
// "link_inactive" when the link or its product is inactive,
// "link_exhausted" when it has opened MaxUses checkouts, not_found when it
// is gone.
func (s *Store) TakeLinkUse(ctx context.Context, l *sg.PaymentLink) (int64, error) {
	n, err := linkTakeUseScript.Run(ctx, s.rdb, []string{s.keys.PaymentLinks(l.MerchantID), s.keys.Products(l.MerchantID)},
		l.ID, l.Product).Int64()
	switch {
	case scriptError(err, "NOTFOUND"):
		return 0, sg.Errorf(sg.ENOTFOUND, "resource_missing", "slug", "no such payment link")
	case scriptError(err, "INACTIVE"):
		return 0, sg.Errorf(sg.ECONFLICT, "link_inactive", "", "this payment link is no longer active")
	case scriptError(err, "PRODUCT_INACTIVE"):
		return 0, sg.Errorf(sg.ECONFLICT, "link_inactive", "", "the product of this payment link is no longer available")
	case scriptError(err, "EXHAUSTED"):
		return 0, sg.Errorf(sg.ECONFLICT, "link_exhausted", "", "this payment link has reached its maximum number of uses")
	case err != nil:
		return 0, fmt.Errorf("take payment link use: %w", err)
	}
	return n, nil
}

// ReturnLinkUse gives back a use taken for a checkout that could not be
// created, so Uses counts checkouts opened.
func (s *Store) ReturnLinkUse(ctx context.Context, l *sg.PaymentLink) error {
	if err := s.rdb.HIncrBy(ctx, s.keys.PaymentLinks(l.MerchantID), l.ID+":uses", -1).Err(); err != nil {
		return fmt.Errorf("return payment link use: %w", err)
	}
	return nil
}
