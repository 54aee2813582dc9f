// Package stablegate is the domain of Stablegate, a self-hosted, non-custodial
// stablecoin payment gateway: merchants, keys, wallets, checkouts with
// fingerprinted amounts, payments and events, their states and errors.
//
// It imports the standard library only. Adapters live in sub-packages named
// after what they depend on: api (echo), store (Redis), chains (chain
// registry and watchers), webhooks, web (hosted page) and checkout (the
// checkout service that ties them together).
package stablegate

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"net"
	"strings"
	"time"
)

// Clock returns the current time. Services take one so tests move time
// forward instead of sleeping. The default is time.Now.
type Clock func() time.Time

// Object id prefixes.
const (
	PrefixMerchant = "mer_"
	PrefixKey      = "key_"
	PrefixWallet   = "wal_"
	PrefixCheckout = "co_"
	PrefixPayment  = "pay_"
	PrefixEvent    = "evt_"
	PrefixEndpoint = "we_"
	PrefixDelivery = "dlv_"
	PrefixProduct  = "prod_"
	PrefixLink     = "plink_"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns prefix followed by 26 lower-case base32 characters: 48 bits
// of millisecond time then 80 random bits. Ids of one prefix therefore sort
// lexicographically by creation time, which the store's indexes and cursor
// pagination rely on.
func NewID(prefix string, now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("stablegate: crypto/rand failed: " + err.Error())
	}
	return prefix + idEncoding.EncodeToString(b[:])
}

// IDTime returns the creation time encoded in an id made by NewID, or the
// zero time when id is not one.
func IDTime(prefix, id string) time.Time {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) != 26 {
		return time.Time{}
	}
	b, err := idEncoding.DecodeString(rest)
	if err != nil || len(b) != 16 {
		return time.Time{}
	}
	return time.UnixMilli(int64(binary.BigEndian.Uint64(b[:8]) >> 16))
}

// IDTimeBound returns the smallest id with the given prefix created at t or
// later, for turning a created-time range into an id range.
func IDTimeBound(prefix string, t time.Time) string {
	var b [16]byte
	ms := t.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	binary.BigEndian.PutUint64(b[:8], uint64(ms)<<16)
	return prefix + idEncoding.EncodeToString(b[:])
}

// ClientKey is the subject public rate limits count an IP address under:
// IPv4 as it is, IPv6 by its /64 (one host may rotate addresses within
// it), and anything unparsable as one shared subject.
func ClientKey(ip string) string {
	a := net.ParseIP(ip)
	switch {
	case a == nil:
		return "unknown"
	case a.To4() != nil:
		return a.To4().String()
	}
	return a.Mask(net.CIDRMask(64, 128)).String()
}
