package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/catalog"
)

// createLinkRequest is the body of POST /v1/payment-links.
type createLinkRequest struct {
	Slug           *string            `json:"slug"`
	Product        *string            `json:"product"`
	Price          *string            `json:"price"`
	Description    *string            `json:"description"`
	PaymentMethods []sg.PaymentMethod `json:"payment_methods"`
	Quantity       *int64             `json:"quantity"`
	SuccessURL     *string            `json:"success_url"`
	Active         *bool              `json:"active"`
	MaxUses        *int64             `json:"max_uses"`
	Metadata       map[string]string  `json:"metadata"`
}

// updateLinkRequest is the body of PATCH /v1/payment-links/:id: a link's
// slug, product and price are fixed, so they are unknown parameters here.
type updateLinkRequest struct {
	Description    *string            `json:"description"`
	PaymentMethods []sg.PaymentMethod `json:"payment_methods"`
	Quantity       *int64             `json:"quantity"`
	SuccessURL     *string            `json:"success_url"`
	Active         *bool              `json:"active"`
	MaxUses        *int64             `json:"max_uses"`
	Metadata       map[string]string  `json:"metadata"`
}

func (s *Server) createLink(c echo.Context) error {
	var req createLinkRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	l, err := s.catalog.CreateLink(c.Request().Context(), principal(c), catalog.LinkParams{
		Slug: req.Slug, Product: req.Product, Price: req.Price, Description: req.Description,
		PaymentMethods: req.PaymentMethods, Quantity: req.Quantity, SuccessURL: req.SuccessURL,
		Active: req.Active, MaxUses: req.MaxUses, Metadata: req.Metadata,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.withURL(c, l))
}

func (s *Server) listLinks(c echo.Context) error {
	f, err := cursorPage(c, sg.PrefixLink, "payment link")
	if err != nil {
		return err
	}
	ls, more, err := s.catalog.Links(c.Request().Context(), principal(c), f)
	if err != nil {
		return err
	}
	for i, l := range ls {
		ls[i] = s.withURL(c, l)
	}
	return c.JSON(http.StatusOK, newList("/v1/payment-links", ls, more))
}

func (s *Server) getLink(c echo.Context) error {
	l, err := s.catalog.Link(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.withURL(c, l))
}

func (s *Server) updateLink(c echo.Context) error {
	var req updateLinkRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	l, err := s.catalog.UpdateLink(c.Request().Context(), principal(c), c.Param("id"), catalog.LinkParams{
		Description: req.Description, PaymentMethods: req.PaymentMethods, Quantity: req.Quantity,
		SuccessURL: req.SuccessURL, Active: req.Active, MaxUses: req.MaxUses, Metadata: req.Metadata,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.withURL(c, l))
}

// publicURL is the gateway's public base URL: the configured one, or the
// scheme and Host of the request.
func (s *Server) publicURL(c echo.Context) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	return c.Scheme() + "://" + c.Request().Host
}

// linkURL is the public address of the link with slug.
func (s *Server) linkURL(c echo.Context, slug string) string {
	return s.publicURL(c) + "/l/" + slug
}

// withURL returns l with its public URL, which is not stored.
func (s *Server) withURL(c echo.Context, l *sg.PaymentLink) *sg.PaymentLink {
	out := *l
	out.URL = s.linkURL(c, l.Slug)
	return &out
}
