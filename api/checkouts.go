package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/store"
)

// createCheckoutRequest is the body of POST /v1/checkouts.
type createCheckoutRequest struct {
	Price          *string            `json:"price"`
	Currency       string             `json:"currency"`
	Description    string             `json:"description"`
	PaymentMethods []sg.PaymentMethod `json:"payment_methods"`
	PaymentMethod  *sg.PaymentMethod  `json:"payment_method"`
	ExpiresIn      *int64             `json:"expires_in"`
	OrderID        string             `json:"order_id"`
	Metadata       map[string]string  `json:"metadata"`
	SuccessURL     string             `json:"success_url"`
	CancelURL      string             `json:"cancel_url"`
	CustomerEmail  string             `json:"customer_email"`
}

// ParseCreateCheckout decodes and checks the shape of a checkout creation
// body; the checkout service checks the values. Exported for the fuzz test.
func ParseCreateCheckout(body []byte) (checkout.CreateParams, error) {
	var req createCheckoutRequest
	if err := decodeBytes(body, &req); err != nil {
		return checkout.CreateParams{}, err
	}
	return req.params()
}

func (r createCheckoutRequest) params() (checkout.CreateParams, error) {
	if r.Price == nil {
		return checkout.CreateParams{}, sg.Errorf(sg.EINVALID, "parameter_missing", "price", "price is required")
	}
	for i, pm := range r.PaymentMethods {
		if pm.Chain == "" || pm.Token == "" {
			return checkout.CreateParams{}, sg.Errorf(sg.EINVALID, "parameter_missing", "payment_methods["+itoa(i)+"]", "each payment method needs chain and token")
		}
	}
	if r.PaymentMethod != nil && (r.PaymentMethod.Chain == "" || r.PaymentMethod.Token == "") {
		return checkout.CreateParams{}, sg.Errorf(sg.EINVALID, "parameter_missing", "payment_method", "payment_method needs chain and token")
	}
	return checkout.CreateParams{
		Price:          *r.Price,
		Currency:       r.Currency,
		Description:    r.Description,
		PaymentMethods: r.PaymentMethods,
		PaymentMethod:  r.PaymentMethod,
		ExpiresIn:      r.ExpiresIn,
		OrderID:        r.OrderID,
		Metadata:       r.Metadata,
		SuccessURL:     r.SuccessURL,
		CancelURL:      r.CancelURL,
		CustomerEmail:  r.CustomerEmail,
	}, nil
}

func (s *Server) createCheckout(c echo.Context) error {
	var req createCheckoutRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	params, err := req.params()
	if err != nil {
		return err
	}
	co, err := s.checkouts.Create(c.Request().Context(), principal(c), params)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, co)
}

func (s *Server) getCheckout(c echo.Context) error {
	co, err := s.ownCheckout(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, co)
}

// ownCheckout returns the checkout named in the path if it belongs to the
// caller's merchant and mode, so a test key can neither see nor touch a
// live checkout.
func (s *Server) ownCheckout(c echo.Context) (*sg.Checkout, error) {
	p := principal(c)
	co, err := s.checkouts.Get(c.Request().Context(), p.MerchantID, c.Param("id"))
	if err != nil {
		return nil, err
	}
	if co.Livemode != p.Livemode {
		return nil, sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such checkout")
	}
	return co, nil
}

func (s *Server) listCheckouts(c echo.Context) error {
	p := principal(c)
	pg, err := pageParams(c)
	if err != nil {
		return err
	}
	f := store.CheckoutFilter{
		Livemode:      p.Livemode,
		Status:        sg.CheckoutStatus(c.QueryParam("status")),
		OrderID:       c.QueryParam("order_id"),
		CreatedGTE:    pg.gte,
		CreatedLT:     pg.lt,
		StartingAfter: pg.after,
		EndingBefore:  pg.before,
		Limit:         pg.limit,
	}
	cs, more, err := s.checkouts.List(c.Request().Context(), p.MerchantID, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList("/v1/checkouts", cs, more))
}

func (s *Server) cancelCheckout(c echo.Context) error {
	if err := decode(c, &struct{}{}); err != nil {
		return err
	}
	if _, err := s.ownCheckout(c); err != nil {
		return err
	}
	co, err := s.checkouts.Cancel(c.Request().Context(), principal(c).MerchantID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, co)
}

func (s *Server) selectMethod(c echo.Context) error {
	var req sg.PaymentMethod
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Chain == "" {
		return sg.Errorf(sg.EINVALID, "parameter_missing", "chain", "chain is required")
	}
	if req.Token == "" {
		return sg.Errorf(sg.EINVALID, "parameter_missing", "token", "token is required")
	}
	if _, err := s.ownCheckout(c); err != nil {
		return err
	}
	co, err := s.checkouts.SelectMethod(c.Request().Context(), principal(c).MerchantID, c.Param("id"), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, co)
}

func (s *Server) listEvents(c echo.Context) error {
	p := principal(c)
	pg, err := pageParams(c)
	if err != nil {
		return err
	}
	f := store.EventFilter{
		Livemode:      p.Livemode,
		Type:          c.QueryParam("type"),
		CreatedGTE:    pg.gte,
		CreatedLT:     pg.lt,
		StartingAfter: pg.after,
		EndingBefore:  pg.before,
		Limit:         pg.limit,
	}
	es, more, err := s.events.ListEvents(c.Request().Context(), p.MerchantID, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList("/v1/events", es, more))
}

func (s *Server) getEvent(c echo.Context) error {
	p := principal(c)
	e, err := s.events.Event(c.Request().Context(), p.MerchantID, c.Param("id"))
	if err != nil {
		return err
	}
	if e.Livemode != p.Livemode {
		return sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such event")
	}
	return c.JSON(http.StatusOK, e)
}
