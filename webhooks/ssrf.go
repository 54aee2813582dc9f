package webhooks

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	sg "github.com/stablegate/stablegate"
)

// Reasons of the invalid errors a Guard returns.
const (
	ReasonURLInvalid          = "url_invalid"
	ReasonURLInsecure         = "url_insecure"
	ReasonURLUnresolvable     = "url_unresolvable"
	ReasonURLForbiddenAddress = "url_forbidden_address"
)

// forbidden lists the networks a webhook may not reach: everything that is
// not ordinary public unicast. IPv4-mapped IPv6 addresses are unmapped before
// the check, so ::ffff:127.0.0.1 is refused as 127.0.0.1.
var forbidden = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network", 0.0.0.0 reaches the local host
	netip.MustParsePrefix("10.0.0.0/8"),      // private
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("127.0.0.0/8"),     // loopback
	netip.MustParsePrefix("169.254.0.0/16"),  // link-local, cloud metadata at 169.254.169.254
	netip.MustParsePrefix("172.16.0.0/12"),   // private
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast
	netip.MustParsePrefix("192.168.0.0/16"),  // private
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("224.0.0.0/4"),     // multicast
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast 255.255.255.255

	netip.MustParsePrefix("::/96"),          // unspecified, loopback, deprecated IPv4-compatible
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64: would reach any IPv4 address, private ones too
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("100::/64"),       // discard
	netip.MustParsePrefix("2001::/23"),      // IETF protocol assignments, Teredo, benchmarking
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
	netip.MustParsePrefix("2002::/16"),      // 6to4: embeds an IPv4 address
	netip.MustParsePrefix("3fff::/20"),      // documentation
	netip.MustParsePrefix("fc00::/7"),       // unique local
	netip.MustParsePrefix("fe80::/10"),      // link-local
	netip.MustParsePrefix("fec0::/10"),      // deprecated site-local
	netip.MustParsePrefix("ff00::/8"),       // multicast
}

// Guard keeps webhook deliveries away from the gateway's own network
// (server-side request forgery): it vets endpoint URLs when they are
// registered, and DialContext vets every address actually connected to, so a
// host name that resolves to a public address at registration and to a
// private one later (DNS rebinding) is still refused.
//
// The zero Guard allows no forbidden address. It is safe for concurrent use.
type Guard struct {
	// Resolver resolves endpoint host names. Nil means net.DefaultResolver.
	Resolver *net.Resolver

	nets  []netip.Prefix
	hosts map[string]bool
}

// NewGuard returns a Guard that also allows the given networks ("127.0.0.0/8",
// "::1/128"), addresses ("10.1.2.3") and exact host names ("localhost"), as
// an operator does for endpoints on its own network. An allow-listed host
// name is trusted whatever it resolves to, and may use http in live mode, as
// may an allow-listed IP literal.
func NewGuard(allow ...string) (*Guard, error) {
	g := &Guard{hosts: make(map[string]bool)}
	for _, s := range allow {
		if p, err := netip.ParsePrefix(s); err == nil {
			if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
			}
			g.nets = append(g.nets, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(s); err == nil {
			a = a.WithZone("").Unmap()
			g.nets = append(g.nets, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		h := normalizeHost(s)
		if h == "" || strings.ContainsAny(h, "/:% ") || numericHost(h) {
			return nil, sg.Errorf(sg.EINVALID, "allow_list_invalid", "", "webhook allow list entry %q is neither a network, an address nor a host name", s)
		}
		g.hosts[h] = true
	}
	return g, nil
}

// CheckURL returns nil when rawURL may receive webhooks: an absolute http or
// https URL with a host and no user information, whose host resolves only to
// public or allow-listed addresses. In live mode it must be https unless the
// host is allow-listed. Otherwise it returns an invalid error with reason
// url_invalid, url_insecure, url_unresolvable or url_forbidden_address.
func (g *Guard) CheckURL(ctx context.Context, rawURL string, live bool) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return urlError(ReasonURLInvalid, "webhook URL does not parse")
	}
	scheme := u.Scheme // url.Parse lower-cases it
	switch {
	case scheme != "http" && scheme != "https":
		return urlError(ReasonURLInvalid, "webhook URL must be absolute and use http or https")
	case u.Opaque != "" || u.Hostname() == "":
		return urlError(ReasonURLInvalid, "webhook URL has no host")
	case u.User != nil:
		return urlError(ReasonURLInvalid, "webhook URL must not contain user information")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return urlError(ReasonURLInvalid, "webhook URL has an invalid port")
		}
	}

	host := normalizeHost(u.Hostname())
	literal, err := netip.ParseAddr(host)
	isLiteral := err == nil
	if !isLiteral && numericHost(host) {
		// Forms like 2130706433 or 0x7f.1 mean 127.0.0.1 to some resolvers.
		return urlError(ReasonURLInvalid, "webhook URL host is neither an IP address nor a domain name")
	}
	if live && scheme == "http" && !g.hosts[host] && !(isLiteral && g.allowed(literal)) {
		return urlError(ReasonURLInsecure, "webhook URL must use https in live mode")
	}
	if g.hosts[host] {
		return nil
	}

	addrs := []netip.Addr{literal}
	if !isLiteral {
		addrs, err = g.resolver().LookupNetIP(ctx, "ip", host)
		// The resolver's error can name internal servers: it is not repeated.
		if err != nil || len(addrs) == 0 {
			return urlError(ReasonURLUnresolvable, "webhook URL host does not resolve")
		}
	}
	for _, a := range addrs {
		if !g.permitted(a) {
			return urlError(ReasonURLForbiddenAddress, "webhook URL host is or resolves to a loopback, private or reserved address")
		}
	}
	return nil
}

// DialContext connects like net.Dialer.DialContext, for an http.Transport,
// but refuses, with an invalid error of reason url_forbidden_address, to
// connect to a forbidden address that is not allow-listed. The check runs on
// the address being connected to, after resolution. Only TCP is dialled.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, urlError(ReasonURLInvalid, "webhooks dial TCP only")
	}
	d := net.Dialer{Resolver: g.Resolver}
	if host, _, err := net.SplitHostPort(addr); err != nil || !g.hosts[normalizeHost(host)] {
		d.Control = g.control
	}
	return d.DialContext(ctx, network, addr)
}

// control runs just before each connect(2), with the resolved address.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !g.permitted(ap.Addr()) {
		return urlError(ReasonURLForbiddenAddress, "webhook endpoint address is loopback, private or reserved")
	}
	return nil
}

// permitted reports whether a may be connected to.
func (g *Guard) permitted(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	if g.allowed(a) {
		return true
	}
	for _, p := range forbidden {
		if p.Contains(a) {
			return false
		}
	}
	return a.IsValid()
}

// allowed reports whether a is in an allow-listed network.
func (g *Guard) allowed(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	for _, p := range g.nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (g *Guard) resolver() *net.Resolver {
	if g.Resolver == nil {
		return net.DefaultResolver
	}
	return g.Resolver
}

// normalizeHost lower-cases a host name and drops the root's trailing dot, so
// that "LOCALHOST." matches "localhost".
func normalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// numericHost reports whether the last label of h is a number (decimal, or
// hexadecimal after 0x). Top-level domains never are, so h is an IP address
// in a form that only some resolvers read, or nothing.
func numericHost(h string) bool {
	label := h[strings.LastIndexByte(h, '.')+1:]
	if hex, ok := strings.CutPrefix(label, "0x"); ok {
		return strings.Trim(hex, "0123456789abcdef") == ""
	}
	return label != "" && strings.Trim(label, "0123456789") == ""
}

func urlError(reason, msg string) error {
	return sg.Errorf(sg.EINVALID, reason, "url", "%s", msg)
}
