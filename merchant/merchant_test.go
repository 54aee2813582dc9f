package merchant_test

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/redis/go-redis/v9"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/clocktest"
	"github.com/stablegate/stablegate/merchant"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/store/storetest"
)

var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	t     testing.TB
	ctx   context.Context
	st    *store.Store
	clock *clocktest.Clock
	svc   *merchant.Service
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	st := storetest.New(t)
	clock := clocktest.New(t0)
	return &fixture{t: t, ctx: context.Background(), st: st, clock: clock, svc: merchant.New(st, chains.Builtin(), clock.Now)}
}

func (f *fixture) merchant(name string) *sg.Merchant {
	f.t.Helper()
	f.clock.Advance(time.Millisecond)
	m, err := f.svc.Create(f.ctx, name)
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

func wantReason(t testing.TB, err error, code sg.ErrorCode, reason, param string) {
	t.Helper()
	e := sg.ErrorOf(err)
	if e == nil {
		t.Fatalf("error = %v, want %s %q (param %q)", err, code, reason, param)
	}
	if e.Code != code || e.Reason != reason || e.Param != param {
		t.Fatalf("error = {%s %q param %q} %v, want {%s %q param %q}", e.Code, e.Reason, e.Param, err, code, reason, param)
	}
}

func newAddress(t testing.TB) string {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return crypto.PubkeyToAddress(k.PublicKey).Hex()
}

// mixedCaseAddress returns an address whose checksum has at least two
// upper-case and two lower-case letters, so flipping one letter leaves it
// mixed-case (and so checked against EIP-55).
func mixedCaseAddress(t testing.TB) string {
	t.Helper()
	for {
		a := newAddress(t)
		upper, lower := 0, 0
		for _, r := range a[2:] {
			switch {
			case unicode.IsUpper(r):
				upper++
			case unicode.IsLower(r):
				lower++
			}
		}
		if upper >= 2 && lower >= 2 {
			return a
		}
	}
}

// flipFirstLetter changes the case of the first hex letter of an address.
func flipFirstLetter(a string) string {
	b := []byte(a)
	for i := 2; i < len(b); i++ {
		r := rune(b[i])
		if unicode.IsLetter(r) {
			if unicode.IsUpper(r) {
				b[i] = byte(unicode.ToLower(r))
			} else {
				b[i] = byte(unicode.ToUpper(r))
			}
			return string(b)
		}
	}
	panic("no letter in " + a)
}

func TestCreateMerchant(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		in     string
		want   string
		reason string
	}{
		{name: "plain", in: "Shop", want: "Shop"},
		{name: "trimmed", in: "  Shop  ", want: "Shop"},
		{name: "100 characters", in: strings.Repeat("s", 100), want: strings.Repeat("s", 100)},
		{name: "empty", in: "", reason: "name_invalid"},
		{name: "blank", in: "   ", reason: "name_invalid"},
		{name: "101 characters", in: strings.Repeat("s", 101), reason: "name_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := f.svc.Create(f.ctx, tt.in)
			if tt.reason != "" {
				wantReason(t, err, sg.EINVALID, tt.reason, "name")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.svc.Get(f.ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tt.want || !reflect.DeepEqual(got.Settings, sg.DefaultMerchantSettings()) || !strings.HasPrefix(got.ID, sg.PrefixMerchant) || got.Created != t0.Unix() {
				t.Fatalf("stored merchant %+v, want name %q with default settings", got, tt.want)
			}
		})
	}
}

func TestUpdateMerchant(t *testing.T) {
	f := newFixture(t)
	m := f.merchant("Shop")
	tests := []struct {
		name   string
		u      merchant.Update
		reason string
		param  string
		want   sg.Merchant
	}{
		{name: "rename", u: merchant.Update{Name: ptr(" New name ")}, want: sg.Merchant{Name: "New name", Settings: sg.DefaultMerchantSettings()}},
		{name: "test-mode settings leave live ones alone", u: merchant.Update{Settings: &sg.MerchantSettings{FingerprintDecimals: 4, FingerprintSteps: 9, LateWindowSeconds: 0}},
			want: sg.Merchant{Name: "New name", Settings: sg.DefaultMerchantSettings()}},
		{name: "live settings", u: merchant.Update{Live: true, Settings: &sg.MerchantSettings{FingerprintDecimals: 6, FingerprintSteps: 9999, LateWindowSeconds: 3600}},
			want: sg.Merchant{Name: "New name", Settings: sg.MerchantSettings{FingerprintDecimals: 6, FingerprintSteps: 9999, LateWindowSeconds: 3600}}},
		{name: "invalid settings change nothing", u: merchant.Update{Name: ptr("Other"), Settings: &sg.MerchantSettings{FingerprintDecimals: 2, FingerprintSteps: 9}},
			reason: "fingerprint_decimals_invalid", param: "settings.fingerprint_decimals",
			want: sg.Merchant{Name: "New name", Settings: sg.MerchantSettings{FingerprintDecimals: 6, FingerprintSteps: 9999, LateWindowSeconds: 3600}}},
		{name: "blank name", u: merchant.Update{Name: ptr(" ")}, reason: "name_invalid", param: "name",
			want: sg.Merchant{Name: "New name", Settings: sg.MerchantSettings{FingerprintDecimals: 6, FingerprintSteps: 9999, LateWindowSeconds: 3600}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Update(f.ctx, m.ID, tt.u)
			if tt.reason != "" {
				wantReason(t, err, sg.EINVALID, tt.reason, tt.param)
			} else if err != nil {
				t.Fatal(err)
			}
			got, err := f.svc.Get(f.ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tt.want.Name || !reflect.DeepEqual(got.Settings, tt.want.Settings) {
				t.Fatalf("stored name %q settings %+v, want %q %+v", got.Name, got.Settings, tt.want.Name, tt.want.Settings)
			}
		})
	}
	// Test mode kept its own settings through the live change.
	got, err := f.svc.Get(f.ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if test := got.SettingsFor(false); !reflect.DeepEqual(test, sg.MerchantSettings{FingerprintDecimals: 4, FingerprintSteps: 9}) {
		t.Fatalf("test-mode settings %+v", test)
	}
	_, err = f.svc.Update(f.ctx, "mer_nobody", merchant.Update{Name: ptr("x")})
	wantReason(t, err, sg.ENOTFOUND, "resource_missing", "id")
}

func ptr[T any](v T) *T { return &v }

// longEmail returns a valid address of n characters (n >= 80), its
// domain labels within 63 characters.
func longEmail(n int) string {
	label := strings.Repeat("b", 63) + "."
	rest := n - 64 - 1 - 2*len(label) - len("com")
	return strings.Repeat("a", 64) + "@" + label + label + strings.Repeat("c", rest-1) + ".com"
}

func TestUpdateBranding(t *testing.T) {
	f := newFixture(t)
	m := f.merchant("Shop")
	good := sg.Branding{LogoURL: "https://cdn.shop.example/logo.svg", AccentColor: "#1a73e8", SupportEmail: "help@shop.example"}
	tests := []struct {
		name          string
		b             sg.Branding
		reason, param string
		want          sg.Branding // stored afterwards
	}{
		{name: "all fields", b: good, want: good},
		{name: "accent colour in upper case is stored in lower case", b: sg.Branding{AccentColor: "#AbCdEf"}, want: sg.Branding{AccentColor: "#abcdef"}},
		{name: "cleared", b: sg.Branding{}, want: sg.Branding{}},
		{name: "set again", b: good, want: good},
		{name: "logo over http", b: sg.Branding{LogoURL: "http://cdn.shop.example/logo.png"}, reason: "logo_url_invalid", param: "branding.logo_url", want: good},
		{name: "logo relative", b: sg.Branding{LogoURL: "/logo.png"}, reason: "logo_url_invalid", param: "branding.logo_url", want: good},
		{name: "logo javascript", b: sg.Branding{LogoURL: "javascript:alert(1)"}, reason: "logo_url_invalid", param: "branding.logo_url", want: good},
		{name: "logo with credentials", b: sg.Branding{LogoURL: "https://u:p@cdn.example/l.png"}, reason: "logo_url_invalid", param: "branding.logo_url", want: good},
		{name: "logo too long", b: sg.Branding{LogoURL: "https://cdn.example/" + strings.Repeat("a", 2030)}, reason: "logo_url_invalid", param: "branding.logo_url", want: good},
		{name: "colour without hash", b: sg.Branding{AccentColor: "1a73e8"}, reason: "accent_color_invalid", param: "branding.accent_color", want: good},
		{name: "short colour", b: sg.Branding{AccentColor: "#fff"}, reason: "accent_color_invalid", param: "branding.accent_color", want: good},
		{name: "colour name", b: sg.Branding{AccentColor: "red"}, reason: "accent_color_invalid", param: "branding.accent_color", want: good},
		{name: "colour not hex", b: sg.Branding{AccentColor: "#12345g"}, reason: "accent_color_invalid", param: "branding.accent_color", want: good},
		{name: "colour with a control byte", b: sg.Branding{AccentColor: "#\x10\x10\x10\x10\x10\x10"}, reason: "accent_color_invalid", param: "branding.accent_color", want: good},
		{name: "email without domain dot", b: sg.Branding{SupportEmail: "help@localhost"}, reason: "support_email_invalid", param: "branding.support_email", want: good},
		{name: "email with a display name", b: sg.Branding{SupportEmail: "Help <help@shop.example>"}, reason: "support_email_invalid", param: "branding.support_email", want: good},
		{name: "not an email", b: sg.Branding{SupportEmail: "shop.example"}, reason: "support_email_invalid", param: "branding.support_email", want: good},
		{name: "email of 255 characters", b: sg.Branding{SupportEmail: longEmail(255)}, reason: "support_email_invalid", param: "branding.support_email", want: good},
		{name: "email of 254 characters", b: sg.Branding{SupportEmail: longEmail(254)}, want: sg.Branding{SupportEmail: longEmail(254)}},
		{name: "set once more", b: good, want: good},
	}
	t.Run("test key refused", func(t *testing.T) {
		b := good
		if _, err := f.svc.Update(f.ctx, m.ID, merchant.Update{Branding: &b}); !sg.IsCode(err, sg.EFORBIDDEN) {
			t.Fatalf("a test-mode branding change: %v, want forbidden", err)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.b
			name := "Renamed"
			if tt.reason != "" {
				name = "Refused"
			}
			got, err := f.svc.Update(f.ctx, m.ID, merchant.Update{Name: &name, Branding: &b, Live: true})
			if tt.reason != "" {
				wantReason(t, err, sg.EINVALID, tt.reason, tt.param)
			} else if err != nil || got.Branding != tt.want {
				t.Fatalf("Update: %+v, %v", got, err)
			}
			stored, err := f.svc.Get(f.ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Branding != tt.want {
				t.Fatalf("stored branding %+v, want %+v", stored.Branding, tt.want)
			}
			if stored.Name != "Renamed" {
				t.Fatalf("stored name %q: a refused update changed it", stored.Name)
			}
		})
	}
	// Leaving branding out keeps it.
	if f.merchant("Other").Branding != (sg.Branding{}) {
		t.Fatal("a new merchant has branding")
	}
	if got, err := f.svc.Update(f.ctx, m.ID, merchant.Update{Name: ptr("Shop")}); err != nil || got.Branding != good {
		t.Fatalf("update without branding: %+v, %v", got, err)
	}
}

func TestCreateKey(t *testing.T) {
	f := newFixture(t)
	m := f.merchant("Shop")
	tests := []struct {
		name   string
		kind   sg.KeyKind
		live   bool
		prefix string
	}{
		{name: "secret test", kind: sg.KeySecret, live: false, prefix: "sk_test_"},
		{name: "secret live", kind: sg.KeySecret, live: true, prefix: "sk_live_"},
		{name: "publishable test", kind: sg.KeyPublishable, live: false, prefix: "pk_test_"},
		{name: "publishable live", kind: sg.KeyPublishable, live: true, prefix: "pk_live_"},
	}
	secrets := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, secret, err := f.svc.CreateKey(f.ctx, m.ID, tt.kind, tt.live)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(secret, tt.prefix) || len(secret) != len(tt.prefix)+32 {
				t.Fatalf("secret %q, want %q and 32 characters", secret, tt.prefix)
			}
			for _, r := range secret[len(tt.prefix):] {
				if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
					t.Fatalf("secret %q has %q outside base62", secret, r)
				}
			}
			if secrets[secret] {
				t.Fatalf("secret %q issued twice", secret)
			}
			secrets[secret] = true
			if k.Last4 != secret[len(secret)-4:] || k.Kind != tt.kind || k.Livemode != tt.live || k.MerchantID != m.ID ||
				k.Hash != store.HashKey(secret) || !strings.HasPrefix(k.ID, sg.PrefixKey) || k.Revoked != 0 {
				t.Fatalf("key %+v does not describe secret %q", k, secret)
			}
			p, err := f.svc.Authenticate(f.ctx, secret)
			if err != nil {
				t.Fatal(err)
			}
			if want := (sg.Principal{MerchantID: m.ID, KeyID: k.ID, Kind: tt.kind, Livemode: tt.live}); p != want {
				t.Fatalf("Authenticate = %+v, want %+v", p, want)
			}
		})
	}
	keys, err := f.svc.Keys(f.ctx, m.ID)
	if err != nil || len(keys) != len(tests) {
		t.Fatalf("Keys = %d keys, %v; want %d", len(keys), err, len(tests))
	}

	rejects := []struct {
		name     string
		merchant string
		kind     sg.KeyKind
		code     sg.ErrorCode
		reason   string
		param    string
	}{
		{name: "unknown kind", merchant: m.ID, kind: "restricted", code: sg.EINVALID, reason: "key_kind_invalid", param: "kind"},
		{name: "unknown merchant", merchant: "mer_nobody", kind: sg.KeySecret, code: sg.ENOTFOUND, reason: "resource_missing", param: "id"},
	}
	for _, tt := range rejects {
		t.Run(tt.name, func(t *testing.T) {
			_, secret, err := f.svc.CreateKey(f.ctx, tt.merchant, tt.kind, false)
			wantReason(t, err, tt.code, tt.reason, tt.param)
			if secret != "" {
				t.Fatalf("a refused key returned secret %q", secret)
			}
		})
	}
}

func TestAuthenticateRejects(t *testing.T) {
	f := newFixture(t)
	m := f.merchant("Shop")
	_, secret, err := f.svc.CreateKey(f.ctx, m.ID, sg.KeySecret, false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		secret string
	}{
		{name: "empty", secret: ""},
		{name: "unknown secret", secret: "sk_test_" + strings.Repeat("A", 32)},
		{name: "last character changed", secret: secret[:len(secret)-1] + otherChar(secret[len(secret)-1])},
		{name: "no known prefix", secret: "xk_test_" + secret[8:]},
		{name: "hash instead of secret", secret: store.HashKey(secret)},
		{name: "with surrounding space", secret: " " + secret},
		{name: "too long", secret: "sk_" + strings.Repeat("a", 300)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.svc.Authenticate(f.ctx, tt.secret)
			wantReason(t, err, sg.EUNAUTHORIZED, "api_key_invalid", "")
			if p != (sg.Principal{}) {
				t.Fatalf("refused key returned principal %+v", p)
			}
		})
	}
}

func otherChar(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestRevokeKey(t *testing.T) {
	f := newFixture(t)
	a := f.merchant("A")
	b := f.merchant("B")
	ka, secretA, err := f.svc.CreateKey(f.ctx, a.ID, sg.KeySecret, true)
	if err != nil {
		t.Fatal(err)
	}
	kb, secretB, err := f.svc.CreateKey(f.ctx, b.ID, sg.KeySecret, true)
	if err != nil {
		t.Fatal(err)
	}

	// Another merchant cannot revoke it, nor learn that it exists.
	_, err = f.svc.RevokeKey(f.ctx, b.ID, ka.ID)
	wantReason(t, err, sg.ENOTFOUND, "resource_missing", "id")
	if _, err := f.svc.Authenticate(f.ctx, secretA); err != nil {
		t.Fatalf("key works no more after another merchant's revoke attempt: %v", err)
	}
	_, err = f.svc.RevokeKey(f.ctx, a.ID, "key_unknown")
	wantReason(t, err, sg.ENOTFOUND, "resource_missing", "id")

	f.clock.Advance(time.Minute)
	revoked, err := f.svc.RevokeKey(f.ctx, a.ID, ka.ID)
	if err != nil {
		t.Fatal(err)
	}
	if revoked.Revoked != f.clock.Now().Unix() {
		t.Fatalf("revoked at %d, want %d", revoked.Revoked, f.clock.Now().Unix())
	}
	_, err = f.svc.Authenticate(f.ctx, secretA)
	wantReason(t, err, sg.EUNAUTHORIZED, "api_key_invalid", "")
	keys, err := f.svc.Keys(f.ctx, a.ID)
	if err != nil || len(keys) != 1 || keys[0].ID != ka.ID || keys[0].Revoked != f.clock.Now().Unix() {
		t.Fatalf("Keys after revoke = %+v %v, want the key marked revoked", keys, err)
	}

	// Revoking again keeps the first revocation time.
	f.clock.Advance(time.Minute)
	again, err := f.svc.RevokeKey(f.ctx, a.ID, ka.ID)
	if err != nil || again.Revoked != revoked.Revoked {
		t.Fatalf("second revoke = %+v %v, want revoked at %d", again, err, revoked.Revoked)
	}

	// B's key is untouched; the operator (no merchant) may revoke it.
	if p, err := f.svc.Authenticate(f.ctx, secretB); err != nil || p.MerchantID != b.ID {
		t.Fatalf("B's key: %+v %v", p, err)
	}
	if _, err := f.svc.RevokeKey(f.ctx, "", kb.ID); err != nil {
		t.Fatalf("operator revoke: %v", err)
	}
	_, err = f.svc.Authenticate(f.ctx, secretB)
	wantReason(t, err, sg.EUNAUTHORIZED, "api_key_invalid", "")
}

// TestSecretNeverStored reads every value under the store's prefix and
// checks that no secret appears in any of them, while its hash does.
func TestSecretNeverStored(t *testing.T) {
	f := newFixture(t)
	m := f.merchant("Shop")
	var secrets []string
	var hashes []string
	for _, live := range []bool{false, true} {
		for _, kind := range []sg.KeyKind{sg.KeySecret, sg.KeyPublishable} {
			k, secret, err := f.svc.CreateKey(f.ctx, m.ID, kind, live)
			if err != nil {
				t.Fatal(err)
			}
			secrets = append(secrets, secret)
			hashes = append(hashes, k.Hash)
		}
	}
	if _, err := f.svc.RevokeKey(f.ctx, m.ID, mustKeys(t, f, m.ID)[0].ID); err != nil {
		t.Fatal(err)
	}
	dump := dumpPrefix(t, f.st)
	if len(dump) == 0 {
		t.Fatal("read nothing under the store prefix")
	}
	for _, s := range secrets {
		if strings.Contains(dump, s) {
			t.Fatalf("secret %q is stored in Redis", s)
		}
		// Nor a long part of it, as a "masked" copy would be.
		if strings.Contains(dump, s[len(s)-16:]) {
			t.Fatalf("the last 16 characters of secret %q are stored in Redis", s)
		}
	}
	for _, h := range hashes {
		if !strings.Contains(dump, h) {
			t.Fatalf("hash %s not found: the dump misses the key records", h)
		}
	}
}

func mustKeys(t *testing.T, f *fixture, merchantID string) []*sg.APIKey {
	t.Helper()
	keys, err := f.svc.Keys(f.ctx, merchantID)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// dumpPrefix returns every key name and value under the store's prefix.
func dumpPrefix(t *testing.T, st *store.Store) string {
	t.Helper()
	ctx := context.Background()
	rdb := st.Client()
	var b strings.Builder
	iter := rdb.Scan(ctx, 0, st.Keys().Prefix+":*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		b.WriteString(k + "\n")
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case "string":
			b.WriteString(rdb.Get(ctx, k).Val())
		case "hash":
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				b.WriteString(f + "=" + v + "\n")
			}
		case "zset":
			for _, z := range rdb.ZRangeWithScores(ctx, k, 0, -1).Val() {
				b.WriteString(z.Member.(string) + "\n")
			}
		case "set":
			b.WriteString(strings.Join(rdb.SMembers(ctx, k).Val(), "\n"))
		case "list":
			b.WriteString(strings.Join(rdb.LRange(ctx, k, 0, -1).Val(), "\n"))
		default:
			t.Fatalf("key %s has type %s the dump does not read", k, typ)
		}
		b.WriteString("\n")
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var (
	testPrincipal = func(m *sg.Merchant) sg.Principal { return sg.Principal{MerchantID: m.ID} }
	livePrincipal = func(m *sg.Merchant) sg.Principal { return sg.Principal{MerchantID: m.ID, Livemode: true} }
)

func TestAddWallet(t *testing.T) {
	f := newFixture(t)
	a := f.merchant("A")
	b := f.merchant("B")
	pa, pb := testPrincipal(a), testPrincipal(b)
	taken := newAddress(t)
	if _, err := f.svc.AddWallet(f.ctx, pa, "base-sepolia", taken); err != nil {
		t.Fatal(err)
	}
	mixed := mixedCaseAddress(t)
	lowered := mixedCaseAddress(t) // submitted in lower case
	liveAddr := newAddress(t)
	tests := []struct {
		name    string
		p       sg.Principal
		chain   string
		address string
		want    string // stored address; "" when refused
		code    sg.ErrorCode
		reason  string
		param   string
	}{
		{name: "checksummed", p: pa, chain: "sepolia", address: mixed, want: mixed},
		{name: "lower case is stored checksummed", p: pa, chain: "base-sepolia", address: strings.ToLower(lowered), want: lowered},
		{name: "wrong checksum", p: pa, chain: "sepolia", address: flipFirstLetter(mixedCaseAddress(t)), code: sg.EINVALID, reason: "address_checksum_invalid", param: "address"},
		{name: "not hex", p: pa, chain: "sepolia", address: "0x" + strings.Repeat("g", 40), code: sg.EINVALID, reason: "address_invalid", param: "address"},
		{name: "too short", p: pa, chain: "sepolia", address: mixed[:41], code: sg.EINVALID, reason: "address_invalid", param: "address"},
		{name: "zero address", p: pa, chain: "sepolia", address: "0x" + strings.Repeat("0", 40), code: sg.EINVALID, reason: "address_invalid", param: "address"},
		{name: "unknown chain", p: pa, chain: "tron", address: newAddress(t), code: sg.EINVALID, reason: "chain_unknown", param: "chain"},
		{name: "mainnet with a test key", p: pa, chain: "base", address: newAddress(t), code: sg.EINVALID, reason: "chain_wrong_mode", param: "chain"},
		{name: "testnet with a live key", p: livePrincipal(a), chain: "base-sepolia", address: newAddress(t), code: sg.EINVALID, reason: "chain_wrong_mode", param: "chain"},
		{name: "address of another merchant", p: pb, chain: "base-sepolia", address: taken, code: sg.ECONFLICT, reason: "wallet_address_taken", param: "address"},
		{name: "address of another merchant in lower case", p: pb, chain: "base-sepolia", address: strings.ToLower(taken), code: sg.ECONFLICT, reason: "wallet_address_taken", param: "address"},
		{name: "duplicate for the same merchant", p: pa, chain: "base-sepolia", address: taken, code: sg.ECONFLICT, reason: "wallet_exists", param: "address"},
		{name: "duplicate in another spelling", p: pa, chain: "base-sepolia", address: strings.ToLower(taken), code: sg.ECONFLICT, reason: "wallet_exists", param: "address"},
		{name: "same address on another chain", p: pb, chain: "sepolia", address: taken, want: taken},
		{name: "live wallet on a mainnet", p: livePrincipal(b), chain: "base", address: liveAddr, want: liveAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := f.svc.Wallets(f.ctx, tt.p)
			w, err := f.svc.AddWallet(f.ctx, tt.p, tt.chain, tt.address)
			if tt.reason != "" {
				wantReason(t, err, tt.code, tt.reason, tt.param)
				if after, _ := f.svc.Wallets(f.ctx, tt.p); len(after) != len(before) {
					t.Fatalf("refused wallet stored: %d wallets before, %d after", len(before), len(after))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if w.Address != want || w.Chain != tt.chain || w.Livemode != tt.p.Livemode || w.MerchantID != tt.p.MerchantID {
				t.Fatalf("wallet %+v, want address %s on %s", w, want, tt.chain)
			}
			got, err := f.svc.Wallet(f.ctx, tt.p, w.ID)
			if err != nil || got.Address != want {
				t.Fatalf("stored wallet %+v %v, want address %s", got, err, want)
			}
			owner, err := f.st.AddressOwner(f.ctx, tt.chain, want)
			if err != nil || owner != tt.p.MerchantID {
				t.Fatalf("AddressOwner = %q %v, want %s", owner, err, tt.p.MerchantID)
			}
		})
	}
}

func TestWalletModes(t *testing.T) {
	f := newFixture(t)
	m := f.merchant("A")
	other := f.merchant("B")
	test, err := f.svc.AddWallet(f.ctx, testPrincipal(m), "base-sepolia", newAddress(t))
	if err != nil {
		t.Fatal(err)
	}
	live, err := f.svc.AddWallet(f.ctx, livePrincipal(m), "base", newAddress(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		p     sg.Principal
		id    string
		found bool
	}{
		{name: "test wallet with a test key", p: testPrincipal(m), id: test.ID, found: true},
		{name: "live wallet with a live key", p: livePrincipal(m), id: live.ID, found: true},
		{name: "test wallet with a live key", p: livePrincipal(m), id: test.ID},
		{name: "live wallet with a test key", p: testPrincipal(m), id: live.ID},
		{name: "another merchant's wallet", p: testPrincipal(other), id: test.ID},
		{name: "unknown wallet", p: testPrincipal(m), id: "wal_unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := f.svc.Wallet(f.ctx, tt.p, tt.id)
			if tt.found {
				if err != nil || w.ID != tt.id {
					t.Fatalf("Wallet = %+v %v, want %s", w, err, tt.id)
				}
				return
			}
			if sg.ErrorCodeOf(err) != sg.ENOTFOUND {
				t.Fatalf("Wallet: %v, want not_found", err)
			}
			if _, err := f.svc.DeleteWallet(f.ctx, tt.p, tt.id); sg.ErrorCodeOf(err) != sg.ENOTFOUND {
				t.Fatalf("DeleteWallet: %v, want not_found", err)
			}
		})
	}
	for _, c := range []struct {
		p    sg.Principal
		want string
	}{{testPrincipal(m), test.ID}, {livePrincipal(m), live.ID}} {
		ws, err := f.svc.Wallets(f.ctx, c.p)
		if err != nil || len(ws) != 1 || ws[0].ID != c.want {
			t.Fatalf("Wallets(%+v) = %v %v, want only %s", c.p, ws, err, c.want)
		}
	}
}

func TestDeleteWallet(t *testing.T) {
	f := newFixture(t)
	a := f.merchant("A")
	b := f.merchant("B")
	pa, pb := testPrincipal(a), testPrincipal(b)
	addr := newAddress(t)
	w1, err := f.svc.AddWallet(f.ctx, pa, "base-sepolia", addr)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Millisecond)
	w2, err := f.svc.AddWallet(f.ctx, pa, "base-sepolia", newAddress(t))
	if err != nil {
		t.Fatal(err)
	}
	if ws, err := f.svc.Wallets(f.ctx, pa); err != nil || len(ws) != 2 || ws[0].ID != w1.ID || ws[1].ID != w2.ID {
		t.Fatalf("Wallets = %v %v, want [%s %s]", ws, err, w1.ID, w2.ID)
	}

	deleted, err := f.svc.DeleteWallet(f.ctx, pa, w1.ID)
	if err != nil || deleted.ID != w1.ID {
		t.Fatalf("DeleteWallet = %+v %v", deleted, err)
	}
	if ws, err := f.svc.Wallets(f.ctx, pa); err != nil || len(ws) != 1 || ws[0].ID != w2.ID {
		t.Fatalf("Wallets after delete = %v %v, want [%s]", ws, err, w2.ID)
	}
	if _, err := f.svc.Wallet(f.ctx, pa, w1.ID); sg.ErrorCodeOf(err) != sg.ENOTFOUND {
		t.Fatalf("deleted wallet: %v, want not_found", err)
	}
	if _, err := f.svc.DeleteWallet(f.ctx, pa, w1.ID); sg.ErrorCodeOf(err) != sg.ENOTFOUND {
		t.Fatalf("deleting twice: %v, want not_found", err)
	}

	// The address stays the merchant's for the longest checkout plus late
	// window, so payments to amounts reserved before still find their owner.
	owner, err := f.st.AddressOwner(f.ctx, "base-sepolia", addr)
	if err != nil || owner != a.ID {
		t.Fatalf("AddressOwner after delete = %q %v, want %s", owner, err, a.ID)
	}
	claim := f.st.Keys().AddressClaim("base-sepolia", addr)
	ttl := f.st.Client().TTL(f.ctx, claim).Val()
	if ttl <= store.ReleasedClaimTTL-time.Minute || ttl > store.ReleasedClaimTTL {
		t.Fatalf("claim TTL after delete = %v, want about %v", ttl, store.ReleasedClaimTTL)
	}
	if store.ReleasedClaimTTL < sg.MaxCheckoutExpiry+7*24*time.Hour {
		t.Fatalf("ReleasedClaimTTL %v is shorter than the longest checkout plus the longest late window", store.ReleasedClaimTTL)
	}
	_, err = f.svc.AddWallet(f.ctx, pb, "base-sepolia", addr)
	wantReason(t, err, sg.ECONFLICT, "wallet_address_taken", "address")

	// The merchant may take it back; the claim is then permanent again.
	f.clock.Advance(time.Millisecond)
	w3, err := f.svc.AddWallet(f.ctx, pa, "base-sepolia", strings.ToLower(addr))
	if err != nil {
		t.Fatalf("re-adding a deleted wallet: %v", err)
	}
	if w3.Address != addr {
		t.Fatalf("re-added address %s, want %s", w3.Address, addr)
	}
	if ttl := f.st.Client().TTL(f.ctx, claim).Val(); ttl != -1 {
		t.Fatalf("claim TTL after re-adding = %v, want none (-1)", ttl)
	}
	if ws, err := f.svc.Wallets(f.ctx, pa); err != nil || len(ws) != 2 || ws[0].ID != w2.ID || ws[1].ID != w3.ID {
		t.Fatalf("Wallets after re-adding = %v %v, want [%s %s]", ws, err, w2.ID, w3.ID)
	}
	if _, err := f.st.Client().Get(f.ctx, claim).Result(); err == redis.Nil {
		t.Fatal("claim missing")
	}
}

// TestAddWalletRace: two merchants adding one address at once; exactly one
// gets it.
func TestAddWalletRace(t *testing.T) {
	f := newFixture(t)
	const n = 8
	ms := make([]*sg.Merchant, n)
	for i := range ms {
		ms[i] = f.merchant("M")
	}
	addr := newAddress(t)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = f.svc.AddWallet(f.ctx, testPrincipal(ms[i]), "sepolia", addr)
		})
	}
	close(start)
	wg.Wait()
	winner := ""
	for i, err := range errs {
		if err == nil {
			if winner != "" {
				t.Fatalf("two merchants own %s", addr)
			}
			winner = ms[i].ID
			continue
		}
		wantReason(t, err, sg.ECONFLICT, "wallet_address_taken", "address")
	}
	owner, err := f.st.AddressOwner(f.ctx, "sepolia", addr)
	if err != nil || owner != winner || winner == "" {
		t.Fatalf("AddressOwner = %q %v, want the winner %q", owner, err, winner)
	}
}

// TestAddWalletSameMerchantConcurrent: one merchant submitting one address
// several times at once (a double-clicked form, a retried request) gets one
// wallet; the others are wallet_exists. The race is between the claim and
// the wallet record, so each round gives it a fresh chance; rounds are cheap.
func TestAddWalletSameMerchantConcurrent(t *testing.T) {
	const (
		rounds = 20
		n      = 16
	)
	f := newFixture(t)
	m := f.merchant("M")
	p := testPrincipal(m)
	for round := range rounds {
		addr := newAddress(t)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = f.svc.AddWallet(f.ctx, p, "sepolia", addr)
			})
		}
		close(start)
		wg.Wait()
		created := 0
		for _, err := range errs {
			if err == nil {
				created++
				continue
			}
			wantReason(t, err, sg.ECONFLICT, "wallet_exists", "address")
		}
		ws, err := f.svc.Wallets(f.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		withAddr := 0
		for _, w := range ws {
			if w.Address == addr {
				withAddr++
			}
		}
		if created != 1 || withAddr != 1 {
			t.Fatalf("round %d: %d concurrent adds of %s succeeded and %d wallets have it, want 1 and 1", round, created, addr, withAddr)
		}
	}
}
