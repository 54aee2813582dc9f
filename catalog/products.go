package catalog

import (
	"context"
	"maps"
	"net/url"
	"strings"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/store"
)

// Limits on product parameters.
const (
	MaxNameLength        = 200
	MaxDescriptionLength = 2000
	MaxURLLength         = 2048
)

// ProductParams are the fields of a product a merchant sets. Nil fields are
// left as they are by UpdateProduct; CreateProduct requires Name and Price
// and makes the product active unless Active says otherwise.
type ProductParams struct {
	Name        *string
	Description *string
	ImageURL    *string
	Price       *string
	Active      *bool
	// Metadata is the product's metadata on creation; on update its keys
	// are merged in, an empty value deleting its key.
	Metadata map[string]string
}

// CreateProduct creates a product in the principal's mode. It returns
// invalid for a bad parameter, naming it.
func (s *Service) CreateProduct(ctx context.Context, p sg.Principal, params ProductParams) (*sg.Product, error) {
	if params.Name == nil {
		return nil, invalid("parameter_missing", "name", "name is required")
	}
	if params.Price == nil {
		return nil, invalid("parameter_missing", "price", "price is required")
	}
	now := s.now()
	prod := &sg.Product{
		ID:         sg.NewID(sg.PrefixProduct, now),
		Object:     ObjectProduct,
		Livemode:   p.Livemode,
		Currency:   "USD",
		Active:     true,
		Metadata:   map[string]string{},
		Created:    now.Unix(),
		MerchantID: p.MerchantID,
	}
	if err := applyProduct(prod, params); err != nil {
		return nil, err
	}
	if err := s.store.CreateProduct(ctx, prod); err != nil {
		return nil, err
	}
	return prod, nil
}

// applyProduct validates the parameters that are set and applies them to
// prod, which is left unchanged on error.
func applyProduct(prod *sg.Product, params ProductParams) error {
	next := *prod
	next.Metadata = maps.Clone(prod.Metadata)
	if params.Name != nil {
		n := strings.TrimSpace(*params.Name)
		if n == "" || len(n) > MaxNameLength {
			return invalid("name_invalid", "name", "name must be 1 to %d characters", MaxNameLength)
		}
		next.Name = n
	}
	if params.Description != nil {
		if len(*params.Description) > MaxDescriptionLength {
			return invalid("description_too_long", "description", "description must be at most %d characters", MaxDescriptionLength)
		}
		next.Description = *params.Description
	}
	if params.ImageURL != nil {
		if err := checkHTTPSURL("image_url", *params.ImageURL); err != nil {
			return err
		}
		next.ImageURL = *params.ImageURL
	}
	if params.Price != nil {
		cents, err := sg.ParsePrice(*params.Price)
		if err != nil {
			return err
		}
		next.Price = sg.FormatPrice(cents)
	}
	if params.Active != nil {
		next.Active = *params.Active
	}
	if params.Metadata != nil {
		md, err := mergeMetadata(next.Metadata, params.Metadata, sg.MaxMetadataKeys)
		if err != nil {
			return err
		}
		next.Metadata = md
	}
	*prod = next
	return nil
}

// mergeMetadata returns cur with changes merged in (an empty value deletes
// its key), checked against the checkout's metadata limits with at most
// maxKeys keys.
func mergeMetadata(cur, changes map[string]string, maxKeys int) (map[string]string, error) {
	out := maps.Clone(cur)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range changes {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	if err := checkout.ValidateMetadata(changes); err != nil {
		return nil, err
	}
	if len(out) > maxKeys {
		return nil, invalid("metadata_too_many_keys", "metadata", "metadata may have at most %d keys", maxKeys)
	}
	return out, nil
}

// checkHTTPSURL checks an optional URL parameter that a customer's browser
// loads: absolute, https, without credentials.
func checkHTTPSURL(param, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || len(raw) > MaxURLLength || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return invalid("url_invalid", param, "%s must be an absolute https URL of at most %d characters", param, MaxURLLength)
	}
	return nil
}

// product returns the principal's product of its mode and its version.
func (s *Service) product(ctx context.Context, p sg.Principal, id string) (*sg.Product, int64, error) {
	prod, v, err := s.store.Product(ctx, p.MerchantID, id)
	if err != nil {
		return nil, 0, err
	}
	if prod.Livemode != p.Livemode {
		return nil, 0, sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such product")
	}
	return prod, v, nil
}

// Product returns one of the principal's products.
func (s *Service) Product(ctx context.Context, p sg.Principal, id string) (*sg.Product, error) {
	prod, _, err := s.product(ctx, p, id)
	return prod, err
}

// Products returns a page of the principal's products, newest first; a zero
// Limit means 10.
func (s *Service) Products(ctx context.Context, p sg.Principal, f store.ListFilter) ([]*sg.Product, bool, error) {
	return s.store.ListProducts(ctx, p.MerchantID, p.Livemode, limited(f))
}

// UpdateProduct changes the fields of params that are set and returns the
// product. Deactivating a product stops its payment links from opening
// checkouts; the checkouts already open are not touched. Errors are those
// of CreateProduct, and not_found.
func (s *Service) UpdateProduct(ctx context.Context, p sg.Principal, id string, params ProductParams) (*sg.Product, error) {
	for attempt := 1; ; attempt++ {
		prod, v, err := s.product(ctx, p, id)
		if err != nil {
			return nil, err
		}
		if err := applyProduct(prod, params); err != nil {
			return nil, err
		}
		_, err = s.store.UpdateProduct(ctx, prod, v)
		if isConflict(err, "product_changed") && attempt < casAttempts {
			continue
		}
		if err != nil {
			return nil, err
		}
		return prod, nil
	}
}
