package webhooks_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/webhooks"
)

// noDNS is a real resolver whose DNS server cannot be reached, so tests look
// names up in /etc/hosts ("localhost") and never send a query off the machine.
var noDNS = &net.Resolver{
	PreferGo: true,
	Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("tests send no DNS queries")
	},
}

func newGuard(t *testing.T, allow ...string) *webhooks.Guard {
	t.Helper()
	g, err := webhooks.NewGuard(allow...)
	if err != nil {
		t.Fatalf("NewGuard(%q): %v", allow, err)
	}
	g.Resolver = noDNS
	return g
}

// wantReason fails unless err is an invalid domain error with the reason, or
// nil when reason is "".
func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	if reason == "" {
		if err != nil {
			t.Fatalf("error %v, want none", err)
		}
		return
	}
	if e := sg.ErrorOf(err); e == nil || e.Code != sg.EINVALID || e.Reason != reason {
		t.Fatalf("error %v, want invalid %s", err, reason)
	}
}

func TestNewGuard(t *testing.T) {
	for _, tc := range []struct {
		name  string
		allow []string
		ok    bool
	}{
		{"networks", []string{"127.0.0.0/8", "::1/128", "10.0.0.0/8"}, true},
		{"addresses", []string{"10.1.2.3", "fd00::1", "::ffff:10.1.2.3"}, true},
		{"host names", []string{"localhost", "Hooks.Internal.", "my-host"}, true},
		{"nothing", nil, true},
		{"empty entry", []string{""}, false},
		{"bad prefix length", []string{"10.0.0.0/33"}, false},
		{"bad network", []string{"10.0.0/8"}, false},
		{"host with port", []string{"localhost:8080"}, false},
		{"url", []string{"http://localhost"}, false},
		{"numeric host", []string{"2130706433"}, false},
		{"space", []string{"local host"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := webhooks.NewGuard(tc.allow...)
			if tc.ok {
				if err != nil || g == nil {
					t.Fatalf("NewGuard(%q) = %v, %v", tc.allow, g, err)
				}
				return
			}
			wantReason(t, err, "allow_list_invalid")
		})
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		name  string
		allow []string
		url   string
		live  bool
		want  string // reason, "" for allowed
	}{
		// Public addresses: no request is sent, the check only parses.
		{name: "https public, live", url: "https://93.184.215.14/hooks", live: true},
		{name: "https public with port, live", url: "https://93.184.215.14:8443/hooks?x=1", live: true},
		{name: "https public IPv6, live", url: "https://[2606:4700::1111]/hooks", live: true},
		{name: "uppercase scheme", url: "HTTPS://93.184.215.14/", live: true},
		{name: "http public, test mode", url: "http://93.184.215.14/hooks"},
		{name: "IPv4-mapped public", url: "https://[::ffff:93.184.215.14]/"},
		{name: "http public, live", url: "http://93.184.215.14/hooks", live: true, want: "url_insecure"},

		{name: "userinfo", url: "https://user:pass@93.184.215.14/", want: "url_invalid"},
		{name: "user only", url: "https://user@93.184.215.14/", want: "url_invalid"},
		{name: "ftp", url: "ftp://93.184.215.14/", want: "url_invalid"},
		{name: "javascript", url: "javascript:alert(1)", want: "url_invalid"},
		{name: "relative", url: "/hooks", want: "url_invalid"},
		{name: "scheme-relative", url: "//93.184.215.14/hooks", want: "url_invalid"},
		{name: "no host", url: "https:///hooks", want: "url_invalid"},
		{name: "opaque", url: "https:93.184.215.14", want: "url_invalid"},
		{name: "empty", url: "", want: "url_invalid"},
		{name: "unparsable", url: "http://[::1", want: "url_invalid"},
		{name: "port zero", url: "https://93.184.215.14:0/", want: "url_invalid"},
		{name: "port too large", url: "https://93.184.215.14:65536/", want: "url_invalid"},
		{name: "decimal IPv4", url: "https://2130706433/", want: "url_invalid"},
		{name: "short IPv4", url: "https://127.1/", want: "url_invalid"},
		{name: "hex IPv4", url: "https://0x7f.0.0.1/", want: "url_invalid"},
		{name: "octal IPv4", url: "https://0177.0.0.1/", want: "url_invalid"},

		{name: "loopback", url: "https://127.0.0.1/", want: "url_forbidden_address"},
		{name: "loopback, trailing dot", url: "https://127.0.0.1./", want: "url_forbidden_address"},
		{name: "loopback elsewhere in 127/8", url: "https://127.255.0.9:8080/", want: "url_forbidden_address"},
		{name: "IPv6 loopback", url: "https://[::1]/", want: "url_forbidden_address"},
		{name: "IPv6 unspecified", url: "https://[::]/", want: "url_forbidden_address"},
		{name: "IPv4-mapped loopback", url: "https://[::ffff:127.0.0.1]/", want: "url_forbidden_address"},
		{name: "IPv4-mapped metadata", url: "https://[::ffff:169.254.169.254]/", want: "url_forbidden_address"},
		{name: "private 10/8", url: "https://10.0.0.1/", want: "url_forbidden_address"},
		{name: "private 172.16/12", url: "https://172.31.255.254/", want: "url_forbidden_address"},
		{name: "private 192.168/16", url: "https://192.168.1.1/", want: "url_forbidden_address"},
		{name: "cloud metadata", url: "http://169.254.169.254/latest/meta-data/", want: "url_forbidden_address"},
		{name: "link-local IPv6", url: "https://[fe80::1]/", want: "url_forbidden_address"},
		{name: "link-local IPv6 with zone", url: "https://[fe80::1%25eth0]/", want: "url_forbidden_address"},
		{name: "unique local IPv6", url: "https://[fd12:3456::1]/", want: "url_forbidden_address"},
		{name: "carrier-grade NAT", url: "https://100.64.0.1/", want: "url_forbidden_address"},
		{name: "unspecified", url: "https://0.0.0.0/", want: "url_forbidden_address"},
		{name: "this network", url: "https://0.1.2.3/", want: "url_forbidden_address"},
		{name: "broadcast", url: "https://255.255.255.255/", want: "url_forbidden_address"},
		{name: "multicast", url: "https://224.0.0.1/", want: "url_forbidden_address"},
		{name: "IPv6 multicast", url: "https://[ff02::1]/", want: "url_forbidden_address"},
		{name: "benchmarking", url: "https://198.19.255.1/", want: "url_forbidden_address"},
		{name: "documentation", url: "https://203.0.113.7/", want: "url_forbidden_address"},
		{name: "IPv6 documentation", url: "https://[2001:db8::1]/", want: "url_forbidden_address"},
		{name: "NAT64 of a private address", url: "https://[64:ff9b::a00:1]/", want: "url_forbidden_address"},
		{name: "6to4 of a private address", url: "https://[2002:a00:1::1]/", want: "url_forbidden_address"},
		{name: "localhost", url: "https://localhost/", want: "url_forbidden_address"},
		{name: "unresolvable", url: "https://hooks.merchant.example/", want: "url_unresolvable"},

		{name: "allow-listed loopback network", allow: []string{"127.0.0.0/8"}, url: "https://127.0.0.1:8080/hooks", live: true},
		{name: "allow-listed loopback over http, live", allow: []string{"127.0.0.0/8"}, url: "http://127.0.0.1:8080/hooks", live: true},
		{name: "allow-listed network, mapped form", allow: []string{"127.0.0.0/8"}, url: "https://[::ffff:127.0.0.1]/"},
		{name: "allow-listed mapped network", allow: []string{"::ffff:127.0.0.0/104"}, url: "https://127.0.0.1/"},
		{name: "allow-listed IPv6 loopback", allow: []string{"::1/128"}, url: "http://[::1]:9000/", live: true},
		{name: "allow-listed address", allow: []string{"10.1.2.3"}, url: "http://10.1.2.3/", live: true},
		{name: "next to an allow-listed address", allow: []string{"10.1.2.3"}, url: "https://10.1.2.4/", want: "url_forbidden_address"},
		{name: "allow-listed host name", allow: []string{"localhost"}, url: "http://localhost:3000/hooks", live: true},
		{name: "allow-listed host name, other spelling", allow: []string{"localhost"}, url: "http://LOCALHOST.:3000/", live: true},
		{name: "allow-listed name resolved by network", allow: []string{"127.0.0.0/8"}, url: "https://localhost/"},
		{name: "name on an allow-listed network, http live", allow: []string{"127.0.0.0/8"}, url: "http://localhost/", live: true, want: "url_insecure"},
		{name: "allow list does not relax userinfo", allow: []string{"localhost"}, url: "http://a@localhost/", want: "url_invalid"},
		{name: "IPv4 allowed, IPv6 loopback not", allow: []string{"127.0.0.0/8"}, url: "https://[::1]/", want: "url_forbidden_address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGuard(t, tc.allow...)
			wantReason(t, g.CheckURL(t.Context(), tc.url, tc.live), tc.want)
		})
	}
}

// TestGuardDial checks the address actually connected to, as when a host
// name passed CheckURL and later resolves to a loopback address: the guard
// refuses to dial even though CheckURL never ran, and the server sees nothing.
func TestGuardDial(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	viaName := "http://localhost:" + u.Port() + "/"

	for _, tc := range []struct {
		name  string
		allow []string
		url   string
		want  string // reason, "" for delivered
	}{
		{name: "allows nothing", url: srv.URL, want: "url_forbidden_address"},
		{name: "by name, allows nothing", url: viaName, want: "url_forbidden_address"},
		{name: "other network allowed", allow: []string{"10.0.0.0/8", "::1/128"}, url: srv.URL, want: "url_forbidden_address"},
		{name: "loopback allowed", allow: []string{"127.0.0.0/8"}, url: srv.URL},
		{name: "by name, loopback allowed", allow: []string{"127.0.0.0/8"}, url: viaName},
		{name: "host name allowed", allow: []string{"localhost"}, url: viaName},
		{name: "host name allowed, dialled by address", allow: []string{"localhost"}, url: srv.URL, want: "url_forbidden_address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := hits.Load()
			c := webhooks.NewHTTPClient(newGuard(t, tc.allow...), 0)
			defer c.CloseIdleConnections()
			resp, err := c.Post(tc.url, "application/json", strings.NewReader("{}"))
			if tc.want != "" {
				if resp != nil {
					resp.Body.Close()
				}
				wantReason(t, err, tc.want)
				if n := hits.Load() - before; n != 0 {
					t.Fatalf("server got %d requests", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || hits.Load()-before != 1 {
				t.Fatalf("status %d after %d requests, want 200 after 1", resp.StatusCode, hits.Load()-before)
			}
		})
	}
}

func TestGuardDialsTCPOnly(t *testing.T) {
	g := newGuard(t, "127.0.0.0/8")
	conn, err := g.DialContext(t.Context(), "udp", "127.0.0.1:53")
	if conn != nil {
		conn.Close()
	}
	wantReason(t, err, "url_invalid")
}

// FuzzCheckURL feeds arbitrary URLs to the guard: it never panics, every
// refusal is an invalid domain error with one of the documented reasons, and
// whatever it accepts is an http or https URL with a host and no userinfo.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"https://93.184.215.14/hooks", "http://127.0.0.1:8080/", "https://[::ffff:127.0.0.1]/", "https://[fe80::1%25eth0]/",
		"https://user@93.184.215.14/", "https://2130706433/", "https://0x7f.1/", "https://localhost./", "https:opaque",
		"http://[::1", "", "//x", "https://hooks.merchant.example:443/a?b#c",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	g, err := webhooks.NewGuard("10.0.0.0/8", "localhost")
	if err != nil {
		f.Fatal(err)
	}
	g.Resolver = noDNS
	reasons := map[string]bool{"url_invalid": true, "url_insecure": true, "url_unresolvable": true, "url_forbidden_address": true}
	f.Fuzz(func(t *testing.T, raw string, live bool) {
		err := g.CheckURL(t.Context(), raw, live)
		if err != nil {
			if e := sg.ErrorOf(err); e == nil || e.Code != sg.EINVALID || !reasons[e.Reason] {
				t.Fatalf("CheckURL(%q) = %v, want an invalid error with a documented reason", raw, err)
			}
			return
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
			t.Fatalf("CheckURL accepted %q", raw)
		}
	})
}
