// Package merchant manages merchants, their API keys and their receiving
// wallets, and authenticates API keys.
package merchant

import (
	"context"
	"crypto/rand"
	"strings"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/store"
)

// Store is what the merchant service needs from the store. Lookups return
// not_found, KeyByHash unauthorized, and AddWallet conflict for a taken
// address.
type Store interface {
	CreateMerchant(ctx context.Context, m *sg.Merchant) error
	Merchant(ctx context.Context, id string) (*sg.Merchant, error)
	UpdateMerchant(ctx context.Context, m *sg.Merchant) error
	Merchants(ctx context.Context, after string, limit int) ([]*sg.Merchant, error)
	CreateKey(ctx context.Context, k *sg.APIKey) error
	KeyByHash(ctx context.Context, hash string) (*sg.APIKey, error)
	KeyByHashCounted(ctx context.Context, hash string, now time.Time) (*sg.APIKey, int64, error)
	MerchantKeys(ctx context.Context, merchantID string) ([]*sg.APIKey, error)
	RevokeKey(ctx context.Context, merchantID, keyID string, now int64) (*sg.APIKey, error)
	KeyOwner(ctx context.Context, keyID string) (string, error)
	AddWallet(ctx context.Context, w *sg.Wallet) error
	Wallets(ctx context.Context, merchantID string) ([]*sg.Wallet, error)
	Wallet(ctx context.Context, merchantID, id string) (*sg.Wallet, error)
	DeleteWallet(ctx context.Context, merchantID, id string) (*sg.Wallet, error)
}

var _ Store = (*store.Store)(nil)

// Service is the merchant service.
type Service struct {
	store    Store
	registry *chains.Registry
	now      sg.Clock
}

// New returns a merchant service. clock defaults to time.Now.
func New(st Store, reg *chains.Registry, clock sg.Clock) *Service {
	if clock == nil {
		clock = time.Now
	}
	return &Service{store: st, registry: reg, now: clock}
}

// maxNameLen bounds a merchant's display name.
const maxNameLen = 100

// Create creates a merchant with default settings.
func (s *Service) Create(ctx context.Context, name string) (*sg.Merchant, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > maxNameLen {
		return nil, sg.Errorf(sg.EINVALID, "name_invalid", "name", "name must be 1 to %d characters", maxNameLen)
	}
	now := s.now()
	m := &sg.Merchant{
		ID:       sg.NewID(sg.PrefixMerchant, now),
		Object:   "merchant",
		Name:     name,
		Created:  now.Unix(),
		Settings: sg.DefaultMerchantSettings(),
	}
	if err := s.store.CreateMerchant(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// Get returns a merchant.
func (s *Service) Get(ctx context.Context, id string) (*sg.Merchant, error) {
	return s.store.Merchant(ctx, id)
}

// List returns merchants after the given id.
func (s *Service) List(ctx context.Context, after string, limit int) ([]*sg.Merchant, error) {
	return s.store.Merchants(ctx, after, limit)
}

// Update is a partial change of a merchant; nil fields stay as they are.
type Update struct {
	Name *string
	// Settings replace the settings of the mode Live names.
	Settings *sg.MerchantSettings
	Live     bool
	// Branding replaces the branding, shared by both modes like the name.
	Branding *sg.Branding
}

// Update applies u to a merchant after validating it: invalid, naming the
// field (e.g. "branding.accent_color"), and nothing changed otherwise.
func (s *Service) Update(ctx context.Context, id string, u Update) (*sg.Merchant, error) {
	m, err := s.store.Merchant(ctx, id)
	if err != nil {
		return nil, err
	}
	if u.Name != nil {
		n := strings.TrimSpace(*u.Name)
		if n == "" || len(n) > maxNameLen {
			return nil, sg.Errorf(sg.EINVALID, "name_invalid", "name", "name must be 1 to %d characters", maxNameLen)
		}
		m.Name = n
	}
	if u.Branding != nil {
		if !u.Live {
			// Branding shows on live payment pages: a test key must not
			// be able to put a phishing address there.
			return nil, sg.Errorf(sg.EFORBIDDEN, "live_key_required", "branding", "branding shows to live customers; change it with a live key")
		}
		b := u.Branding.Normalize()
		if err := b.Validate(); err != nil {
			return nil, err
		}
		m.Branding = b
	}
	if u.Settings != nil {
		norm := u.Settings.Normalize()
		u.Settings = &norm
		if err := u.Settings.ValidateMode(u.Live); err != nil {
			return nil, err
		}
		if err := s.registry.ValidateConfirmations(*u.Settings); err != nil {
			return nil, err
		}
		if u.Live {
			m.Settings = *u.Settings
		} else {
			st := *u.Settings
			m.TestSettings = &st
		}
	}
	if err := s.store.UpdateMerchant(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// secretLen base62 characters carry about 190 bits.
const secretLen = 32

func randomBase62(n int) string {
	b := make([]byte, n)
	// Rejection sampling keeps the characters uniform.
	buf := make([]byte, 1)
	for i := 0; i < n; {
		if _, err := rand.Read(buf); err != nil {
			panic("merchant: crypto/rand failed: " + err.Error())
		}
		if buf[0] >= 248 {
			continue
		}
		b[i] = base62[int(buf[0])%62]
		i++
	}
	return string(b)
}

// KeyPrefix returns the visible prefix of a key: sk_/pk_ and test_/live_.
func KeyPrefix(kind sg.KeyKind, live bool) string {
	p := "sk_"
	if kind == sg.KeyPublishable {
		p = "pk_"
	}
	if live {
		return p + "live_"
	}
	return p + "test_"
}

// CreateKey creates an API key for a merchant and returns it with its
// secret, which is not stored and cannot be shown again.
func (s *Service) CreateKey(ctx context.Context, merchantID string, kind sg.KeyKind, live bool) (*sg.APIKey, string, error) {
	if kind != sg.KeySecret && kind != sg.KeyPublishable {
		return nil, "", sg.Errorf(sg.EINVALID, "key_kind_invalid", "kind", "kind must be secret or publishable")
	}
	if _, err := s.store.Merchant(ctx, merchantID); err != nil {
		return nil, "", err
	}
	secret := KeyPrefix(kind, live) + randomBase62(secretLen)
	now := s.now()
	k := &sg.APIKey{
		ID:         sg.NewID(sg.PrefixKey, now),
		Object:     "api_key",
		MerchantID: merchantID,
		Kind:       kind,
		Livemode:   live,
		Hash:       store.HashKey(secret),
		Last4:      secret[len(secret)-4:],
		Created:    now.Unix(),
	}
	if err := s.store.CreateKey(ctx, k); err != nil {
		return nil, "", err
	}
	return k, secret, nil
}

// Keys lists a merchant's keys.
func (s *Service) Keys(ctx context.Context, merchantID string) ([]*sg.APIKey, error) {
	if _, err := s.store.Merchant(ctx, merchantID); err != nil {
		return nil, err
	}
	return s.store.MerchantKeys(ctx, merchantID)
}

// RevokeKey revokes a key by id; it stops working at once. merchantID may be
// empty for the operator, who may revoke any key.
func (s *Service) RevokeKey(ctx context.Context, merchantID, keyID string) (*sg.APIKey, error) {
	owner, err := s.store.KeyOwner(ctx, keyID)
	if err != nil {
		return nil, err
	}
	if merchantID != "" && owner != merchantID {
		return nil, sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such API key")
	}
	return s.store.RevokeKey(ctx, owner, keyID, s.now().Unix())
}

// Authenticate resolves a presented key to its caller; unauthorized for an
// unknown, malformed or revoked key.
func (s *Service) Authenticate(ctx context.Context, secret string) (sg.Principal, error) {
	if !strings.HasPrefix(secret, "sk_") && !strings.HasPrefix(secret, "pk_") || len(secret) > 200 {
		return sg.Principal{}, sg.Errorf(sg.EUNAUTHORIZED, "api_key_invalid", "", "invalid API key")
	}
	k, err := s.store.KeyByHash(ctx, store.HashKey(secret))
	if err != nil {
		return sg.Principal{}, err
	}
	return sg.Principal{MerchantID: k.MerchantID, KeyID: k.ID, Kind: k.Kind, Livemode: k.Livemode}, nil
}

// AuthenticateCounted is Authenticate that also counts the request against
// the key's one-second rate window and returns the count, in one round
// trip. Malformed keys are refused without touching the store.
func (s *Service) AuthenticateCounted(ctx context.Context, secret string) (sg.Principal, int64, error) {
	if !strings.HasPrefix(secret, "sk_") && !strings.HasPrefix(secret, "pk_") || len(secret) > 200 {
		return sg.Principal{}, 0, sg.Errorf(sg.EUNAUTHORIZED, "api_key_invalid", "", "invalid API key")
	}
	k, n, err := s.store.KeyByHashCounted(ctx, store.HashKey(secret), s.now())
	if err != nil {
		return sg.Principal{}, n, err
	}
	return sg.Principal{MerchantID: k.MerchantID, KeyID: k.ID, Kind: k.Kind, Livemode: k.Livemode}, n, nil
}

// AddWallet registers a receiving address of the caller's merchant. The
// chain must exist and match the key's mode; the address must be valid for
// the chain (an EVM address with a wrong checksum is refused).
func (s *Service) AddWallet(ctx context.Context, p sg.Principal, chainID, address string) (*sg.Wallet, error) {
	chain, ok := s.registry.Chain(chainID)
	if !ok {
		return nil, sg.Errorf(sg.EINVALID, "chain_unknown", "chain", "unknown chain %q", chainID)
	}
	if chain.Testnet == p.Livemode {
		mode := "test"
		if p.Livemode {
			mode = "live"
		}
		return nil, sg.Errorf(sg.EINVALID, "chain_wrong_mode", "chain", "%s is not available in %s mode", chain.Name, mode)
	}
	addr, err := chain.ValidateAddress(address)
	if err != nil {
		return nil, err
	}
	now := s.now()
	w := &sg.Wallet{
		ID:         sg.NewID(sg.PrefixWallet, now),
		Object:     "wallet",
		Chain:      chain.ID,
		Address:    addr,
		Livemode:   p.Livemode,
		Created:    now.Unix(),
		MerchantID: p.MerchantID,
	}
	if err := s.store.AddWallet(ctx, w); err != nil {
		return nil, err
	}
	return w, nil
}

// Wallets lists the caller's wallets in the caller's mode.
func (s *Service) Wallets(ctx context.Context, p sg.Principal) ([]*sg.Wallet, error) {
	all, err := s.store.Wallets(ctx, p.MerchantID)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, w := range all {
		if w.Livemode == p.Livemode {
			out = append(out, w)
		}
	}
	return out, nil
}

// Wallet returns one of the caller's wallets.
func (s *Service) Wallet(ctx context.Context, p sg.Principal, id string) (*sg.Wallet, error) {
	w, err := s.store.Wallet(ctx, p.MerchantID, id)
	if err != nil {
		return nil, err
	}
	if w.Livemode != p.Livemode {
		return nil, sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such wallet")
	}
	return w, nil
}

// DeleteWallet stops offering a wallet to new checkouts. Payments to amounts
// already reserved on it are still matched.
func (s *Service) DeleteWallet(ctx context.Context, p sg.Principal, id string) (*sg.Wallet, error) {
	if _, err := s.Wallet(ctx, p, id); err != nil {
		return nil, err
	}
	return s.store.DeleteWallet(ctx, p.MerchantID, id)
}
