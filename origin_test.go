package stablegate_test

import (
	"testing"

	sg "github.com/stablegate/stablegate"
)

func TestNormalizeOrigin(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"https://shop.example", "https://shop.example", true},
		{"HTTPS://Shop.Example/", "https://shop.example", true},
		{"https://shop.example:443", "https://shop.example", true},
		{"https://shop.example:8443", "https://shop.example:8443", true},
		{"http://localhost:3000", "http://localhost:3000", true},
		{"http://app.localhost", "http://app.localhost", true},
		{"http://127.0.0.1:80", "http://127.0.0.1", true},
		{"http://[::1]:3000", "http://[::1]:3000", true},
		{"http://shop.example", "", false},
		{"http://127.0.0.1.nip.io", "", false},
		{"https://shop.example/pay", "", false},
		{"https://shop.example?x=1", "", false},
		{"https://shop.example#x", "", false},
		{"https://user@shop.example", "", false},
		{"https://*.shop.example", "", false},
		{"https://shop.example:", "", false},
		{"https://shop.example:x", "", false},
		{"shop.example", "", false},
		{"ftp://shop.example", "", false},
		{"null", "", false},
		{"", "", false},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, ok := sg.NormalizeOrigin(c.in)
			if got != c.want || ok != c.ok {
				t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
			}
		})
	}
}

func TestAllowedOriginsValidate(t *testing.T) {
	base := sg.DefaultMerchantSettings()
	for _, c := range []struct {
		name    string
		origins []string
		live    bool
		reason  string
	}{
		{"none", nil, true, ""},
		{"https live", []string{"https://shop.example"}, true, ""},
		{"http test", []string{"http://localhost:3000"}, false, ""},
		{"http live", []string{"http://localhost:3000"}, true, "allowed_origin_insecure"},
		{"not normalized", []string{"https://Shop.example"}, false, "allowed_origin_invalid"},
		{"21", make([]string, 21), false, "allowed_origins_invalid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := base
			s.AllowedOrigins = c.origins
			err := s.ValidateMode(c.live)
			got := ""
			if e := sg.ErrorOf(err); e != nil {
				got = e.Reason
			}
			if got != c.reason || (err == nil) != (c.reason == "") {
				t.Errorf("ValidateMode: %v, want reason %q", err, c.reason)
			}
		})
	}
}
