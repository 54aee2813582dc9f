package checkout

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/mr-tron/base58"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/store"
)

// reserve picks an address of the merchant on the method's chain and
// reserves a fingerprinted amount there, moving on to the merchant's next
// address when one is exhausted.
func (s *Service) reserve(ctx context.Context, m *sg.Merchant, wallets []*sg.Wallet, c *sg.Checkout, pm sg.PaymentMethod, now time.Time) error {
	method, ok := c.Method(pm)
	if !ok {
		return invalid("payment_method_not_accepted", "payment_method", "payment_method must be one of the checkout's payment_methods")
	}
	if method.IsReserved() {
		return nil
	}
	chain, tok, err := s.registry.Lookup(pm.Chain, pm.Token)
	if err != nil {
		return err
	}
	w := NewWindow(c.PriceCents, tok.Decimals, m.SettingsFor(c.Livemode))
	until := time.Unix(c.LateUntil, 0)
	for _, wallet := range wallets {
		if wallet.Chain != chain.ID || wallet.Livemode != c.Livemode {
			continue
		}
		sp := store.Space{MerchantID: c.MerchantID, Chain: chain.ID, Contract: tok.Contract, Address: wallet.Address}
		al, err := s.alloc.Allocate(ctx, sp, w, c.ID, now, until)
		if sg.HasReason(err, "fingerprint_space_exhausted") {
			continue
		}
		if err != nil {
			return err
		}
		opts := chains.URIOptions{Label: m.Name, Message: c.Description}
		if chain.Kind == chains.KindSolana {
			// Recorded before the checkout is: a reference naming a
			// checkout that was never stored, or a method it no longer
			// carries, is ignored when a payment shows it.
			if opts.Reference, err = newReference(); err != nil {
				return err
			}
			h := store.ReferenceHolder{MerchantID: c.MerchantID, CheckoutID: c.ID}
			if err := s.store.AddReference(ctx, chain.ID, opts.Reference, h, until); err != nil {
				return err
			}
		}
		uri, err := chains.PaymentURI(chain, tok, wallet.Address, al.Amount, opts)
		if err != nil {
			return fmt.Errorf("payment uri: %w", err)
		}
		method.Reference = opts.Reference
		method.Address = wallet.Address
		method.Amount = al.Amount
		method.URI = uri
		method.Reserved = now.Unix()
		return nil
	}
	return sg.Errorf(sg.ECONFLICT, "fingerprint_space_exhausted", "payment_method",
		"every fingerprinted amount for this price is reserved on all %s wallets; add a wallet or widen the fingerprint settings", chain.Name)
}

// newReference returns a fresh Solana Pay reference key: the public half of
// a new ed25519 key pair, as the Solana Pay specification generates them,
// in base58. Nobody keeps the private half; the key only ever appears as a
// read-only account of the customer's transfer.
func newReference() (string, error) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("reference key: %w", err)
	}
	return base58.Encode(pub), nil
}

// Get returns a merchant's checkout.
func (s *Service) Get(ctx context.Context, merchantID, id string) (*sg.Checkout, error) {
	return s.store.Checkout(ctx, merchantID, id)
}

// List returns a page of a merchant's checkouts.
func (s *Service) List(ctx context.Context, merchantID string, f store.CheckoutFilter) ([]*sg.Checkout, bool, error) {
	if f.Status != "" && !f.Status.Valid() {
		return nil, false, invalid("status_invalid", "status", "status must be one of open, processing, paid, expired, canceled")
	}
	if f.StartingAfter != "" && f.EndingBefore != "" {
		return nil, false, invalid("cursor_conflict", "ending_before", "starting_after and ending_before cannot be combined")
	}
	for param, id := range map[string]string{"starting_after": f.StartingAfter, "ending_before": f.EndingBefore} {
		if id != "" && !strings.HasPrefix(id, sg.PrefixCheckout) {
			return nil, false, invalid("cursor_invalid", param, "%s must be a checkout id", param)
		}
	}
	return s.store.ListCheckouts(ctx, merchantID, f)
}

// maxCASRetries bounds retries of a change that lost a race.
const maxCASRetries = 8

// update applies change to the latest version of a checkout and stores it
// with its event, retrying when another writer got there first. change
// returns the event type to record, or "" to record none.
func (s *Service) update(ctx context.Context, merchantID, id string, change func(c *sg.Checkout, now time.Time) (string, error)) (*sg.Checkout, error) {
	for range maxCASRetries {
		c, err := s.store.Checkout(ctx, merchantID, id)
		if err != nil {
			return nil, err
		}
		old := c.Status
		now := s.now()
		typ, err := change(c, now)
		if err != nil {
			return nil, err
		}
		var evt *sg.Event
		if typ != "" {
			evt = newEvent(c, typ, now)
		}
		err = s.store.UpdateCheckout(ctx, c, old, evt)
		if sg.HasReason(err, "checkout_changed") {
			continue
		}
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, sg.Errorf(sg.ECONFLICT, "checkout_busy", "", "checkout is changing; try again")
}

// Cancel cancels an open checkout and records checkout.canceled. Its
// reservations stay until their end, so a payment made anyway is matched.
func (s *Service) Cancel(ctx context.Context, merchantID, id string) (*sg.Checkout, error) {
	return s.update(ctx, merchantID, id, func(c *sg.Checkout, now time.Time) (string, error) {
		if c.Status != sg.StatusOpen {
			return "", sg.Errorf(sg.ECONFLICT, "checkout_not_open", "", "only an open checkout can be canceled; this one is %s", c.Status)
		}
		return sg.EventCheckoutCanceled, c.Transition(sg.StatusCanceled, now)
	})
}

// SelectMethod reserves the fingerprinted amount of one accepted method of
// an open checkout. Selecting a method that is already reserved returns the
// checkout unchanged, so the call is safe to repeat.
func (s *Service) SelectMethod(ctx context.Context, merchantID, id string, pm sg.PaymentMethod) (*sg.Checkout, error) {
	pm, err := s.normalize(pm, "payment_method")
	if err != nil {
		return nil, err
	}
	for range maxCASRetries {
		c, err := s.store.Checkout(ctx, merchantID, id)
		if err != nil {
			return nil, err
		}
		now := s.now()
		if c.Status != sg.StatusOpen || now.Unix() >= c.ExpiresAt {
			return nil, sg.Errorf(sg.ECONFLICT, "checkout_not_open", "", "a payment method can only be chosen while the checkout is open")
		}
		m, ok := c.Method(pm)
		if !ok {
			return nil, invalid("payment_method_not_accepted", "payment_method", "payment_method must be one of the checkout's payment_methods")
		}
		if m.IsReserved() {
			return c, nil
		}
		merchant, wallets, err := s.store.MerchantWithWallets(ctx, merchantID)
		if err != nil {
			return nil, err
		}
		if err := s.reserve(ctx, merchant, wallets, c, pm, now); err != nil {
			return nil, err
		}
		err = s.store.UpdateCheckout(ctx, c, c.Status, nil)
		if sg.HasReason(err, "checkout_changed") {
			s.releaseMethod(c, pm)
			continue
		}
		if err != nil {
			s.releaseMethod(c, pm)
			return nil, err
		}
		return c, nil
	}
	return nil, sg.Errorf(sg.ECONFLICT, "checkout_busy", "", "checkout is changing; try again")
}

func (s *Service) releaseMethod(c *sg.Checkout, pm sg.PaymentMethod) {
	m, _ := c.Method(pm)
	only := *c
	only.Methods = []sg.CheckoutMethod{*m}
	s.releaseAll(&only)
}

// ExpireDue expires open checkouts whose time has come, at most limit, and
// returns how many it expired. Any number of replicas may run it at once:
// each change is a compare-and-set, so a checkout expires once.
func (s *Service) ExpireDue(ctx context.Context, limit int) (int, error) {
	due, err := s.store.DueExpiries(ctx, s.now(), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range due {
		merchantID, id := d[0], d[1]
		expired := false
		_, err := s.update(ctx, merchantID, id, func(c *sg.Checkout, now time.Time) (string, error) {
			if c.Status != sg.StatusOpen || now.Unix() < c.ExpiresAt {
				return "", errNothingToDo
			}
			expired = true
			return sg.EventCheckoutExpired, c.Transition(sg.StatusExpired, now)
		})
		if err != nil && err != errNothingToDo && !sg.IsCode(err, sg.ENOTFOUND) {
			s.log.Error("expire checkout", "checkout", id, "err", err)
			continue
		}
		if expired && err == nil {
			n++
		}
		if sg.IsCode(err, sg.ENOTFOUND) {
			if err := s.store.DoneExpiry(ctx, merchantID, id); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

var errNothingToDo = sg.Errorf(sg.ECONFLICT, "nothing_to_do", "", "nothing to do")

// RunSweeper expires due checkouts every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := s.ExpireDue(ctx, 500)
			if err != nil {
				s.log.Error("expiry sweep", "err", err)
				break
			}
			if n < 500 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
