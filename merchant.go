package stablegate

import (
	"context"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Fingerprint defaults: an offset of 1 to 999 steps of 0.00001 token, so
// 50.00 becomes 50.00001 to 50.00999.
const (
	DefaultFingerprintDecimals = 5
	DefaultFingerprintSteps    = 999
	DefaultLateWindow          = 24 * time.Hour
)

// Merchant is an isolated workspace: its keys, wallets, checkouts and events
// are invisible to every other merchant.
type Merchant struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Name    string `json:"name"`
	Created int64  `json:"created"`
	// Settings apply to live mode, and to test mode until the merchant
	// changes test mode's own with a test key.
	Settings MerchantSettings `json:"settings"`
	// TestSettings are test mode's settings once set, so a test key can
	// never change how live payments are matched.
	TestSettings *MerchantSettings `json:"test_settings,omitempty"`
	// Branding is how the merchant appears on its hosted pages, in both
	// modes, like Name.
	Branding Branding `json:"branding"`
}

// Branding is how a merchant appears to its customers on the hosted
// payment page and its payment links. Every field is optional; an empty
// one shows the gateway's default.
type Branding struct {
	// LogoURL is an https URL of the merchant's logo, at most 2048
	// characters. The page loads it from there, so it must be public.
	LogoURL string `json:"logo_url,omitempty"`
	// AccentColor is a colour as "#rrggbb" (stored in lower case).
	AccentColor string `json:"accent_color,omitempty"`
	// SupportEmail is where customers write with questions, at most 254
	// characters.
	SupportEmail string `json:"support_email,omitempty"`
}

// Branding limits.
const (
	MaxLogoURL      = 2048
	MaxSupportEmail = 254
)

// Normalize returns b with its accent colour in lower case, the form it is
// stored and shown in.
func (b Branding) Normalize() Branding {
	b.AccentColor = strings.ToLower(b.AccentColor)
	return b
}

// Validate checks the branding. Each error names its field as
// "branding.<field>", the way a PATCH /v1/merchant body spells it.
func (b Branding) Validate() error {
	if b.LogoURL != "" {
		u, err := url.Parse(b.LogoURL)
		if err != nil || len(b.LogoURL) > MaxLogoURL || u.Scheme != "https" || u.Host == "" || u.User != nil {
			return Errorf(EINVALID, "logo_url_invalid", "branding.logo_url",
				"logo_url must be an absolute https URL without credentials, at most %d characters", MaxLogoURL)
		}
	}
	if b.AccentColor != "" && !isHexColor(b.AccentColor) {
		return Errorf(EINVALID, "accent_color_invalid", "branding.accent_color", "accent_color must be a colour like \"#1a73e8\"")
	}
	if e := b.SupportEmail; e != "" {
		a, err := mail.ParseAddress(e)
		if err != nil || a.Address != e || len(e) > MaxSupportEmail || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
			return Errorf(EINVALID, "support_email_invalid", "branding.support_email", "support_email must be an email address like help@shop.example")
		}
	}
	return nil
}

// isHexColor reports whether s is "#" and six hex digits.
func isHexColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

// SettingsFor returns the settings of one mode.
func (m *Merchant) SettingsFor(live bool) MerchantSettings {
	if !live && m.TestSettings != nil {
		return *m.TestSettings
	}
	return m.Settings
}

// ViewFor returns the merchant as a key of one mode sees it: that mode's
// settings as settings.
func (m *Merchant) ViewFor(live bool) *Merchant {
	v := *m
	v.Settings = m.SettingsFor(live)
	v.TestSettings = nil
	return &v
}

// MerchantSettings are the knobs a merchant controls.
type MerchantSettings struct {
	// FingerprintDecimals is p: offsets are multiples of 10^-p token. Default 5.
	FingerprintDecimals int `json:"fingerprint_decimals"`
	// FingerprintSteps is K: offsets run from 1 to K steps. Default 999.
	FingerprintSteps int `json:"fingerprint_steps"`
	// LateWindowSeconds is how long after expiry a payment is still matched
	// (as paid_late) and the amount stays reserved. Default 24 h.
	LateWindowSeconds int64 `json:"late_window_seconds"`
	// Confirmations overrides, per chain id, when a payment counts as paid.
	// Chains without an entry use the registry's policy. Empty by default.
	Confirmations map[string]Confirmation `json:"confirmations,omitempty"`
	// AllowedOrigins are the exact origins ("https://shop.example") whose
	// pages may embed this mode's hosted pages with the checkout widget
	// (CSP frame-ancestors) and start checkouts from payment links with a
	// publishable key. At most MaxAllowedOrigins; http only for loopback
	// and localhost, and only in test mode. Empty by default: no site may
	// frame the pages.
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
}

// Confirmation is a merchant's confirmation policy on one chain: Mode is
// "finalized", "safe", "confirmed" (Solana only) or "blocks"; Blocks is the depth for "blocks" (the
// payment's own block counting as the first) and the fallback depth of the
// other modes when the node lacks the block tag.
type Confirmation struct {
	Mode   string `json:"mode"`
	Blocks uint64 `json:"blocks,omitempty"`
}

// maxConfirmationOverrides bounds the overrides one merchant keeps: more
// than the chains any gateway enables.
const maxConfirmationOverrides = 64

// DefaultMerchantSettings returns the settings of a new merchant.
func DefaultMerchantSettings() MerchantSettings {
	return MerchantSettings{
		FingerprintDecimals: DefaultFingerprintDecimals,
		FingerprintSteps:    DefaultFingerprintSteps,
		LateWindowSeconds:   int64(DefaultLateWindow / time.Second),
	}
}

// Validate checks the settings. The offset must stay below one cent
// (K < 10^(p-2)), so a fingerprinted amount is never a whole-cent amount
// that a round payment of another price could hit; p is at most 8 so it
// fits every supported token.
func (s MerchantSettings) Validate() error {
	if s.FingerprintDecimals < 3 || s.FingerprintDecimals > 8 {
		return Errorf(EINVALID, "fingerprint_decimals_invalid", "settings.fingerprint_decimals", "fingerprint_decimals must be between 3 and 8")
	}
	maxSteps := MaxFingerprintSteps(s.FingerprintDecimals)
	if s.FingerprintSteps < 1 || s.FingerprintSteps > maxSteps {
		return Errorf(EINVALID, "fingerprint_steps_invalid", "settings.fingerprint_steps",
			"fingerprint_steps must be between 1 and %d for fingerprint_decimals %d", maxSteps, s.FingerprintDecimals)
	}
	if s.LateWindowSeconds < 0 || s.LateWindowSeconds > 7*24*3600 {
		return Errorf(EINVALID, "late_window_invalid", "settings.late_window_seconds", "late_window_seconds must be between 0 and 604800")
	}
	if len(s.Confirmations) > maxConfirmationOverrides {
		return Errorf(EINVALID, "confirmation_invalid", "settings.confirmations", "at most %d confirmation overrides", maxConfirmationOverrides)
	}
	if len(s.AllowedOrigins) > MaxAllowedOrigins {
		return Errorf(EINVALID, "allowed_origins_invalid", "settings.allowed_origins", "at most %d allowed origins", MaxAllowedOrigins)
	}
	for _, o := range s.AllowedOrigins {
		if n, ok := NormalizeOrigin(o); !ok || n != o {
			return Errorf(EINVALID, "allowed_origin_invalid", "settings.allowed_origins",
				"%q is not an origin like https://shop.example (scheme and host, optional port, nothing else; http only for localhost and loopback addresses)", o)
		}
	}
	return nil
}

// Normalize returns s with its allowed origins as browsers spell them
// (see NormalizeOrigin) and without duplicates; an origin that cannot be
// allowed is kept as given, for Validate to name.
func (s MerchantSettings) Normalize() MerchantSettings {
	if s.AllowedOrigins == nil {
		return s
	}
	out := make([]string, 0, len(s.AllowedOrigins))
	for _, o := range s.AllowedOrigins {
		if n, ok := NormalizeOrigin(o); ok {
			o = n
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	s.AllowedOrigins = out
	return s
}

// ValidateMode is Validate for the settings of one mode: live mode also
// refuses http origins, which only a developer's own machine may use.
func (s MerchantSettings) ValidateMode(live bool) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if !live {
		return nil
	}
	for _, o := range s.AllowedOrigins {
		if strings.HasPrefix(o, "http:") {
			return Errorf(EINVALID, "allowed_origin_insecure", "settings.allowed_origins", "%q: live mode allows https origins only", o)
		}
	}
	return nil
}

// MaxAllowedOrigins bounds MerchantSettings.AllowedOrigins: a
// Content-Security-Policy header lists every one.
const MaxAllowedOrigins = 20

// NormalizeOrigin returns the origin s names as a browser serializes it
// (lower-case scheme and host, no default port) and whether s is one that
// may be allowed: https, or http on localhost or a loopback address, with
// a host and nothing after it but an optional port. A trailing slash is
// dropped; a path, query, fragment, user or wildcard is refused.
func NormalizeOrigin(s string) (string, bool) {
	if len(s) > 2048 {
		return "", false
	}
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" ||
		u.ForceQuery || u.Opaque != "" || strings.ContainsAny(u.Host, "*,; '\"") {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if host == "" || (port != "" && !allDigits(port)) || strings.HasSuffix(u.Host, ":") {
		return "", false
	}
	switch u.Scheme {
	case "https":
		if port == "443" {
			port = ""
		}
	case "http":
		if !isLoopbackHost(host) {
			return "", false
		}
		if port == "80" {
			port = ""
		}
	default:
		return "", false
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return u.Scheme + "://" + host, true
}

// isLoopbackHost reports whether host (lower case, without brackets) is
// localhost, a name under it, or a loopback address.
func isLoopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || host == "::1" {
		return true
	}
	return strings.HasPrefix(host, "127.") && strings.Count(host, ".") == 3 && allDigits(strings.ReplaceAll(host, ".", ""))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// AllowsOrigin reports whether origin (as a browser sends it in Origin)
// is one of the settings' allowed origins, compared exactly.
func (s MerchantSettings) AllowsOrigin(origin string) bool {
	return origin != "" && slices.Contains(s.AllowedOrigins, origin)
}

// maxSteps bounds K so a listing of one price's slots stays short.
const maxSteps = 99_999

// MaxFingerprintSteps returns the largest K for precision p: offsets stay
// below one cent (K <= 10^(p-2) - 1) and K stays at most 99,999.
func MaxFingerprintSteps(p int) int {
	k := 1
	for i := 2; i < p; i++ {
		k *= 10
	}
	return max(1, min(k-1, maxSteps))
}

// LateWindow returns the late-payment window as a duration.
func (s MerchantSettings) LateWindow() time.Duration {
	return time.Duration(s.LateWindowSeconds) * time.Second
}

// KeyKind tells a secret key from a publishable one.
type KeyKind string

// Key kinds.
const (
	KeySecret      KeyKind = "secret"
	KeyPublishable KeyKind = "publishable"
)

// APIKey is a merchant's credential. Only the SHA-256 hash of the secret is
// stored; the secret itself is shown once, at creation.
type APIKey struct {
	ID         string  `json:"id"`
	Object     string  `json:"object"`
	MerchantID string  `json:"merchant"`
	Kind       KeyKind `json:"kind"`
	Livemode   bool    `json:"livemode"`
	Hash       string  `json:"-"`
	Last4      string  `json:"last4"`
	Created    int64   `json:"created"`
	Revoked    int64   `json:"revoked,omitempty"`
}

// Principal is the authenticated caller of a request.
type Principal struct {
	MerchantID string
	KeyID      string
	Kind       KeyKind
	Livemode   bool
}

type principalKey struct{}

// WithPrincipal returns a context carrying the caller.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller carried by ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Wallet is a receiving address of a merchant on one chain. A merchant may
// have several per chain; fingerprints fall over to the next one when a
// price's slots are exhausted. An address on a chain belongs to at most one
// merchant, so a transfer to it always has one owner.
type Wallet struct {
	ID         string `json:"id"`
	Object     string `json:"object"`
	Chain      string `json:"chain"`
	Address    string `json:"address"`
	Livemode   bool   `json:"livemode"`
	Created    int64  `json:"created"`
	MerchantID string `json:"-"`
}
