package webhooks_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/webhooks"
)

func TestNewSecret(t *testing.T) {
	a, err := webhooks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := webhooks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two secrets are both %s", a)
	}
	for _, s := range []string{a, b} {
		if !strings.HasPrefix(s, "whsec_") || len(s) != len("whsec_")+44 {
			t.Fatalf("secret %q: want whsec_ and 44 base64 characters", s)
		}
		key, err := webhooks.ParseSecret(s)
		if err != nil || len(key) != 32 {
			t.Fatalf("ParseSecret(%q) = %d bytes, %v; want 32 bytes", s, len(key), err)
		}
	}
}

func TestParseSecret(t *testing.T) {
	key24 := bytes.Repeat([]byte{0xfb}, 24)
	for _, tc := range []struct {
		name   string
		secret string
		want   []byte // nil: secret_invalid
	}{
		{"specification secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", mustDecode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")},
		{"without prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", mustDecode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")},
		{"24 bytes", "whsec_" + base64.StdEncoding.EncodeToString(key24), key24},
		{"64 bytes", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 64)), make([]byte, 64)},
		{"empty", "", nil},
		{"prefix only", "whsec_", nil},
		{"23 bytes", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 23)), nil},
		{"65 bytes", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65)), nil},
		{"bad character", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!", nil},
		{"url-safe alphabet", "whsec_" + base64.URLEncoding.EncodeToString(key24), nil},
		{"missing padding", "whsec_" + base64.RawStdEncoding.EncodeToString(make([]byte, 32)), nil},
		{"line break", "whsec_MfKQ9r8GKYqrTwjU\nPD8ILPZIo2LaLaSw", nil},
		{"trailing space", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ", nil},
		{"stray low bits", "whsec_" + strings.TrimSuffix(base64.StdEncoding.EncodeToString(make([]byte, 32)), "A=") + "B=", nil},
		{"uppercase prefix", "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := webhooks.ParseSecret(tc.secret)
			if tc.want == nil {
				if e := sg.ErrorOf(err); got != nil || e == nil || e.Code != sg.EINVALID || e.Reason != "secret_invalid" {
					t.Fatalf("ParseSecret(%q) = %x, %v; want invalid secret_invalid", tc.secret, got, err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Fatalf("ParseSecret(%q) = %x, %v; want %x", tc.secret, got, err, tc.want)
			}
		})
	}
}

func FuzzParseSecret(f *testing.F) {
	for _, s := range []string{
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "", "whsec_", "whsec_whsec_",
		"whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", "whsec_\n", "whsec_====",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, err := webhooks.ParseSecret(s)
		if err != nil {
			if e := sg.ErrorOf(err); e == nil || e.Code != sg.EINVALID || e.Reason != "secret_invalid" || key != nil {
				t.Fatalf("ParseSecret(%q) = %x, %v; want only an invalid secret_invalid error", s, key, err)
			}
			return
		}
		if len(key) < 24 || len(key) > 64 {
			t.Fatalf("ParseSecret(%q) accepted %d bytes", s, len(key))
		}
		// One spelling per key: the input is the encoding, prefixed or not.
		if enc := base64.StdEncoding.EncodeToString(key); s != enc && s != "whsec_"+enc {
			t.Fatalf("ParseSecret(%q) accepted a non-canonical spelling of %s", s, enc)
		}
	})
}

func mustDecode(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
