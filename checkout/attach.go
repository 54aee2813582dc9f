package checkout

import (
	"context"
	"slices"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/store"
)

// Payment returns a merchant's payment.
func (s *Settler) Payment(ctx context.Context, merchantID, id string) (*sg.Payment, error) {
	return s.store.Payment(ctx, merchantID, id)
}

// ListPayments returns a page of a merchant's payments.
func (s *Settler) ListPayments(ctx context.Context, merchantID string, f store.PaymentFilter) ([]*sg.Payment, bool, error) {
	return s.store.ListPayments(ctx, merchantID, f)
}

// Attach applies a confirmed unmatched payment to a checkout by the
// merchant's hand, for customers who paid a wrong amount (an exchange that
// deducted its fee, a rounded amount). Against the checkout's price in the
// payment's token, with earlier attached payments added up: less is
// underpaid (the checkout stays unpaid, checkout.underpaid), up to the price
// plus the fingerprint's cent is paid (checkout.paid, or paid_late after
// expiry or cancelation), and more is paid with exception overpaid
// (checkout.overpaid). Attaches of one payment at once apply it once; the
// others fail with conflict "payment_already_attached" (or "payment_busy"
// when it kept changing).
func (s *Settler) Attach(ctx context.Context, merchantID, paymentID, checkoutID string) (*sg.Checkout, error) {
	var c *sg.Checkout
	err := onPayment(paymentID, func() (err error) {
		c, err = s.attach(ctx, merchantID, paymentID, checkoutID)
		return err
	})
	return c, err
}

// attach is one attempt of Attach, from one reading of the payment.
func (s *Settler) attach(ctx context.Context, merchantID, paymentID, checkoutID string) (*sg.Checkout, error) {
	p, err := s.store.Payment(ctx, merchantID, paymentID)
	if err != nil {
		return nil, err
	}
	switch {
	case p.CheckoutID != "":
		return nil, sg.Errorf(sg.ECONFLICT, "payment_already_attached", "", "payment is already applied to %s", p.CheckoutID)
	case p.Status != sg.PaymentConfirmed:
		return nil, sg.Errorf(sg.ECONFLICT, "payment_not_confirmed", "", "only a confirmed payment can be attached; this one is %s", p.Status)
	}
	var out *sg.Checkout
	err = s.onCheckout(ctx, merchantID, checkoutID, p, store.StateOf(p), func(c *sg.Checkout, now time.Time) (string, error) {
		out = c
		if c.Livemode != p.Livemode {
			return "", sg.Errorf(sg.ENOTFOUND, "resource_missing", "checkout", "no such checkout")
		}
		if c.Status == sg.StatusPaid || c.Status == sg.StatusProcessing {
			return "", sg.Errorf(sg.ECONFLICT, "checkout_already_paid", "checkout", "checkout is %s", c.Status)
		}
		pm := sg.PaymentMethod{Chain: p.Chain, Token: p.Token}
		received := receivedWith(c, pm, p)
		due := sg.PriceToUnits(c.PriceCents, p.Decimals)
		if !slices.Contains(c.Payments, p.ID) {
			c.Payments = append(c.Payments, p.ID)
		}
		c.PaidWith = &pm
		c.AmountDue = sg.FormatUnits(due, p.Decimals)
		c.AmountReceived = sg.FormatUnits(received, p.Decimals)
		if received.Cmp(due) < 0 {
			c.Exception = sg.ExceptionUnderpaid
			return sg.EventCheckoutUnderpaid, nil
		}
		return judge(c, received, p.Decimals, c.Status != sg.StatusOpen || now.Unix() >= c.ExpiresAt, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
