package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/catalog"
	"github.com/stablegate/stablegate/store"
)

// Catalog is the products and payment links service as the API uses it.
// The methods acting for a principal return not_found for an object of
// another merchant or mode, exactly like a missing one, and invalid for a
// bad parameter (naming it); CreateLink returns conflict "slug_taken".
// The public ones take a slug: Page and Open return not_found for an
// unknown one, Open conflict "link_inactive" or "link_exhausted" and the
// checkout service's errors, AllowOpen rate_limited with how long to wait.
type Catalog interface {
	CreateProduct(ctx context.Context, p sg.Principal, params catalog.ProductParams) (*sg.Product, error)
	Product(ctx context.Context, p sg.Principal, id string) (*sg.Product, error)
	Products(ctx context.Context, p sg.Principal, f store.ListFilter) ([]*sg.Product, bool, error)
	UpdateProduct(ctx context.Context, p sg.Principal, id string, params catalog.ProductParams) (*sg.Product, error)
	CreateLink(ctx context.Context, p sg.Principal, params catalog.LinkParams) (*sg.PaymentLink, error)
	Link(ctx context.Context, p sg.Principal, id string) (*sg.PaymentLink, error)
	Links(ctx context.Context, p sg.Principal, f store.ListFilter) ([]*sg.PaymentLink, bool, error)
	UpdateLink(ctx context.Context, p sg.Principal, id string, params catalog.LinkParams) (*sg.PaymentLink, error)
	Page(ctx context.Context, slug string) (*catalog.Item, error)
	AllowOpen(ctx context.Context, slug, client string) (time.Duration, error)
	Open(ctx context.Context, slug string) (*sg.Checkout, error)
}

// catalogRoutes adds the products and payment links API to the /v1 group;
// without a catalog service there is none.
func (s *Server) catalogRoutes(v1 *echo.Group) {
	if s.catalog == nil {
		return
	}
	v1.POST("/products", s.createProduct)
	v1.GET("/products", s.listProducts)
	v1.GET("/products/:id", s.getProduct)
	v1.PATCH("/products/:id", s.updateProduct)
	v1.POST("/payment-links", s.createLink)
	v1.GET("/payment-links", s.listLinks)
	v1.GET("/payment-links/:id", s.getLink)
	v1.PATCH("/payment-links/:id", s.updateLink)
}

// productRequest is the body of POST /v1/products (name and price
// required) and PATCH /v1/products/:id (fields left out stay as they are).
type productRequest struct {
	Name        *string           `json:"name"`
	Description *string           `json:"description"`
	ImageURL    *string           `json:"image_url"`
	Price       *string           `json:"price"`
	Active      *bool             `json:"active"`
	Metadata    map[string]string `json:"metadata"`
}

func (r productRequest) params() catalog.ProductParams {
	return catalog.ProductParams{
		Name: r.Name, Description: r.Description, ImageURL: r.ImageURL, Price: r.Price, Active: r.Active, Metadata: r.Metadata,
	}
}

func (s *Server) createProduct(c echo.Context) error {
	var req productRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := s.catalog.CreateProduct(c.Request().Context(), principal(c), req.params())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) listProducts(c echo.Context) error {
	f, err := cursorPage(c, sg.PrefixProduct, "product")
	if err != nil {
		return err
	}
	ps, more, err := s.catalog.Products(c.Request().Context(), principal(c), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList("/v1/products", ps, more))
}

func (s *Server) getProduct(c echo.Context) error {
	p, err := s.catalog.Product(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) updateProduct(c echo.Context) error {
	var req productRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := s.catalog.UpdateProduct(c.Request().Context(), principal(c), c.Param("id"), req.params())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}
