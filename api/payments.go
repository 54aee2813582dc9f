package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/store"
)

// Payments reads a merchant's payments and attaches unmatched ones.
type Payments interface {
	Payment(ctx context.Context, merchantID, id string) (*sg.Payment, error)
	ListPayments(ctx context.Context, merchantID string, f store.PaymentFilter) ([]*sg.Payment, bool, error)
	// Attach returns conflict when the payment is attached or not
	// confirmed, or the checkout is already paid.
	Attach(ctx context.Context, merchantID, paymentID, checkoutID string) (*sg.Checkout, error)
}

func (s *Server) listPayments(c echo.Context) error {
	p := principal(c)
	pg, err := pageParams(c)
	if err != nil {
		return err
	}
	f := store.PaymentFilter{Livemode: p.Livemode, CreatedGTE: pg.gte, CreatedLT: pg.lt, StartingAfter: pg.after, EndingBefore: pg.before, Limit: pg.limit}
	switch c.QueryParam("unmatched") {
	case "", "false":
	case "true":
		f.Unmatched = true
	default:
		return sg.Errorf(sg.EINVALID, "unmatched_invalid", "unmatched", "unmatched must be true or false")
	}
	for param, id := range map[string]string{"starting_after": f.StartingAfter, "ending_before": f.EndingBefore} {
		if id != "" && !strings.HasPrefix(id, sg.PrefixPayment) {
			return sg.Errorf(sg.EINVALID, "cursor_invalid", param, "%s must be a payment id", param)
		}
	}
	ps, more, err := s.payments.ListPayments(c.Request().Context(), p.MerchantID, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList("/v1/payments", ps, more))
}

// ownPayment returns a payment of the caller's merchant in the caller's mode.
func (s *Server) ownPayment(c echo.Context) (*sg.Payment, error) {
	p := principal(c)
	pay, err := s.payments.Payment(c.Request().Context(), p.MerchantID, c.Param("id"))
	if err != nil {
		return nil, err
	}
	if pay.Livemode != p.Livemode {
		return nil, sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such payment")
	}
	return pay, nil
}

func (s *Server) getPayment(c echo.Context) error {
	pay, err := s.ownPayment(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pay)
}

type attachRequest struct {
	Checkout string `json:"checkout"`
}

func (s *Server) attachPayment(c echo.Context) error {
	var req attachRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Checkout == "" {
		return sg.Errorf(sg.EINVALID, "parameter_missing", "checkout", "checkout is required")
	}
	if _, err := s.ownPayment(c); err != nil {
		return err
	}
	co, err := s.payments.Attach(c.Request().Context(), principal(c).MerchantID, c.Param("id"), req.Checkout)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, co)
}
