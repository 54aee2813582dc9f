package store

import (
	"strconv"
	"strings"
)

// Keys builds every Redis key name the store uses. All keys of one merchant
// carry the hash tag {m:<merchant id>} so the Lua scripts that change several
// of them at once stay on one Redis Cluster slot; global lookups carry a tag
// of their own. Prefix separates deployments (and tests) sharing a server.
type Keys struct {
	Prefix string
}

func (k Keys) merchant(id string) string { return k.Prefix + ":{m:" + id + "}:" }

func mode(live bool) string {
	if live {
		return "live"
	}
	return "test"
}

// Merchant is a STRING: the merchant record as JSON.
func (k Keys) Merchant(id string) string { return k.merchant(id) + "merchant" }

// MerchantIndex is a ZSET (all scores 0, ordered by id): every merchant id.
func (k Keys) MerchantIndex() string { return k.Prefix + ":{global}:merchants" }

// MerchantKeys is a HASH: key id -> API key record JSON of one merchant.
func (k Keys) MerchantKeys(merchantID string) string { return k.merchant(merchantID) + "keys" }

// KeyLookup is a STRING: the API key record JSON, found by the SHA-256 hash
// of the secret. Deleting it revokes the key at once.
func (k Keys) KeyLookup(hash string) string { return k.Prefix + ":{key:" + hash + "}" }

// KeyByID is a STRING: merchant id owning an API key id, for admin revoke.
func (k Keys) KeyByID(keyID string) string { return k.Prefix + ":{kid:" + keyID + "}" }

// Wallets is a HASH: wallet id -> wallet JSON of one merchant.
func (k Keys) Wallets(merchantID string) string { return k.merchant(merchantID) + "wallets" }

// WalletAddresses is a HASH: "<chain>:<lower-case address>" -> wallet id,
// one merchant's live wallets by address, so a duplicate is refused even
// when two requests add the same address at once.
func (k Keys) WalletAddresses(merchantID string) string {
	return k.merchant(merchantID) + "wallets:addr"
}

// AddressClaim is a STRING: "<merchant id> <wallet id>" owning an address on
// a chain. An address belongs to one merchant so each transfer has one owner.
func (k Keys) AddressClaim(chain, address string) string {
	return k.Prefix + ":{addr:" + chain + ":" + foldAddress(address) + "}"
}

// Checkout is a HASH with fields v (version) and json (the checkout record).
func (k Keys) Checkout(merchantID, id string) string { return k.merchant(merchantID) + "co:" + id }

// CheckoutOwner is a STRING: the merchant id owning a checkout id, so the
// hosted payment page, which knows only the id, finds the checkout. Its own
// tag {co:<id>} keeps it out of the merchant's slot.
func (k Keys) CheckoutOwner(id string) string { return k.Prefix + ":{co:" + id + "}" }

// PublicRateWindow is a STRING counter: requests of one public subject (a
// hash of what is limited and the client's address) in one fixed window,
// named by the window's start in unix seconds and expiring after it.
func (k Keys) PublicRateWindow(subject string, start int64) string {
	return k.Prefix + ":{prl:" + subject + "}:" + strconv.FormatInt(start, 10)
}

// CheckoutIndex is a ZSET (scores 0, ordered by id, hence by creation time):
// all checkouts of a merchant in one mode.
func (k Keys) CheckoutIndex(merchantID string, live bool) string {
	return k.merchant(merchantID) + "co:idx:" + mode(live)
}

// CheckoutStatusIndex is a ZSET like CheckoutIndex holding only checkouts in
// one status.
func (k Keys) CheckoutStatusIndex(merchantID string, live bool, status string) string {
	return k.merchant(merchantID) + "co:idx:" + mode(live) + ":status:" + status
}

// CheckoutOrderIndex is a ZSET like CheckoutIndex holding only checkouts with
// one order_id.
func (k Keys) CheckoutOrderIndex(merchantID string, live bool, orderID string) string {
	return k.merchant(merchantID) + "co:idx:" + mode(live) + ":order:" + orderID
}

// Expiries is a ZSET: the ids of a merchant's open checkouts scored by their
// expiry time in unix milliseconds. The checkout scripts keep it exact: a
// checkout is in it exactly while it is open.
func (k Keys) Expiries(merchantID string) string { return k.merchant(merchantID) + "co:expiries" }

// reservation is the common part of the three keys of one reservation space:
// one token contract at one receiving address on one chain.
func (k Keys) reservation(merchantID, chain, contract, address string) string {
	return k.merchant(merchantID) + "res:" + chain + ":" + foldAddress(contract) + ":" + foldAddress(address) + ":"
}

// ReservedAmounts is a ZSET (scores 0): the zero-padded base-unit amounts
// reserved in a space, so ZLEXCOUNT counts one price's slots.
func (k Keys) ReservedAmounts(merchantID, chain, contract, address string) string {
	return k.reservation(merchantID, chain, contract, address) + "amt"
}

// ReservedUntil is a ZSET: padded amount scored by the unix millisecond time
// its reservation ends (checkout expiry plus the late window).
func (k Keys) ReservedUntil(merchantID, chain, contract, address string) string {
	return k.reservation(merchantID, chain, contract, address) + "until"
}

// ReservedCheckout is a HASH: padded amount -> checkout id holding it.
func (k Keys) ReservedCheckout(merchantID, chain, contract, address string) string {
	return k.reservation(merchantID, chain, contract, address) + "co"
}

// Events is a HASH: event id -> event JSON of one merchant.
func (k Keys) Events(merchantID string) string { return k.merchant(merchantID) + "evt" }

// EventIndex is a ZSET (scores 0, ordered by id): events of one mode.
func (k Keys) EventIndex(merchantID string, live bool) string {
	return k.merchant(merchantID) + "evt:idx:" + mode(live)
}

// ChainAddresses is a SET: every address ever registered as a wallet on a
// chain, which that chain's watcher filters transfers by. Addresses of
// deleted wallets stay, so payments to amounts reserved on them are seen.
func (k Keys) ChainAddresses(chain string) string { return k.Prefix + ":{addrs:" + chain + "}" }

// Payments is a HASH: payment id -> payment JSON of one merchant.
func (k Keys) Payments(merchantID string) string { return k.merchant(merchantID) + "pay" }

// PaymentCheckouts is a HASH: payment id -> the checkout it is applied to,
// set once, so one payment can never pay two checkouts.
func (k Keys) PaymentCheckouts(merchantID string) string { return k.merchant(merchantID) + "pay:co" }

// PaymentsByTransfer is a HASH: "<chain>:<tx hash>:<log index>" -> payment
// id, so a transfer seen twice maps to its one payment.
func (k Keys) PaymentsByTransfer(merchantID string) string {
	return k.merchant(merchantID) + "pay:bytx"
}

// PaymentIndex is a ZSET (scores 0, ordered by id): payments of one mode.
func (k Keys) PaymentIndex(merchantID string, live bool) string {
	return k.merchant(merchantID) + "pay:idx:" + mode(live)
}

// UnmatchedIndex is a ZSET like PaymentIndex holding only payments that no
// checkout claims.
func (k Keys) UnmatchedIndex(merchantID string, live bool) string {
	return k.merchant(merchantID) + "pay:idx:" + mode(live) + ":unmatched"
}

// Pending is a ZSET: "<merchant id>/<payment id>" of a chain's payments that
// are not final yet, scored by block height, for confirmation and reorgs.
// It is written before the payment, so a crash in between leaves only an
// entry that the settler drops.
func (k Keys) Pending(chain string) string { return k.Prefix + ":{pending:" + chain + "}" }

// EventTypeIndex is a ZSET like EventIndex holding only events of one type,
// so a type filter never scans past other events.
func (k Keys) EventTypeIndex(merchantID string, live bool, typ string) string {
	return k.merchant(merchantID) + "evt:idx:" + mode(live) + ":type:" + typ
}

// Idempotency is a HASH: state, fingerprint, status and body of one
// Idempotency-Key of one merchant and mode.
func (k Keys) Idempotency(merchantID string, live bool, key string) string {
	return k.merchant(merchantID) + "idem:" + mode(live) + ":" + key
}

// RateWindow is a STRING counter: requests made with one credential (the
// SHA-256 of the presented key) in one second, expiring right after it.
func (k Keys) RateWindow(subject string, unixSecond int64) string {
	return k.Prefix + ":{rl:" + subject + "}:" + strconv.FormatInt(unixSecond, 10)
}

// chainWatch is the common part of the keys of one chain's watcher: the
// {chain:<id>} hash tag keeps its cursor and lease on one cluster slot, so
// the fenced cursor write is one script.
func (k Keys) chainWatch(chain string) string { return k.Prefix + ":{chain:" + chain + "}:" }

// WatchCursor is a HASH {height, hash, token, at}: the last block the chain's
// watcher scanned, the fencing token that wrote it and when (unix ms).
func (k Keys) WatchCursor(chain string) string { return k.chainWatch(chain) + "cursor" }

// WatchRecent is a ZSET: hashes of recent scanned blocks (0x-hex members)
// scored by height, bounded, which the watcher compares with the canonical
// chain to find a reorg's fork point.
func (k Keys) WatchRecent(chain string) string { return k.chainWatch(chain) + "recent" }

// WatchLease is a STRING "<token> <holder>" with a TTL: the replica that
// watches the chain, while it keeps renewing.
func (k Keys) WatchLease(chain string) string { return k.chainWatch(chain) + "lease" }

// WatchFence is a STRING counter without TTL: the last fencing token issued
// for the chain's lease, so tokens only grow.
func (k Keys) WatchFence(chain string) string { return k.chainWatch(chain) + "fence" }

// WatchSignatures is a HASH: account (base58) -> "<slot> <signature>", the
// newest transaction a Solana watcher has handled for each account it polls
// with getSignaturesForAddress, so it resumes there after a restart. It
// shares the lease's slot, so the fenced write is one script.
func (k Keys) WatchSignatures(chain string) string { return k.chainWatch(chain) + "sigs" }

// references is the hash tag of a Solana chain's reference keys.
func (k Keys) references(chain string) string { return k.Prefix + ":{refs:" + chain + "}:" }

// References is a HASH: Solana Pay reference key -> "<merchant id>
// <checkout id>", the checkout a reference names on a chain.
func (k Keys) References(chain string) string { return k.references(chain) + "by" }

// ReferenceExpiries is a ZSET: the reference keys of References scored by
// the end of their checkout's late window (unix seconds), so the watcher
// polls only live ones and old ones are pruned.
func (k Keys) ReferenceExpiries(chain string) string { return k.references(chain) + "until" }

// foldAddress gives an address one spelling for key names: EVM hex
// addresses ignore case, while base58 (Solana) addresses are case-sensitive
// and stay as they are.
func foldAddress(a string) string {
	if strings.HasPrefix(a, "0x") || strings.HasPrefix(a, "0X") {
		return strings.ToLower(a)
	}
	return a
}

// WebhookEndpoints is a HASH of one merchant's webhook endpoints: endpoint
// id -> JSON, and "<id>:v" -> its version for compare-and-set updates.
func (k Keys) WebhookEndpoints(merchantID string) string { return k.merchant(merchantID) + "we" }

// WebhookEndpointIndex is a ZSET (scores 0, ordered by id): the endpoints of
// one mode. An event is put in the outbox only while its mode's index is
// not empty, so merchants without endpoints pay nothing for webhooks.
func (k Keys) WebhookEndpointIndex(merchantID string, live bool) string {
	return k.merchant(merchantID) + "we:idx:" + mode(live)
}

// Outbox is a LIST of one merchant's event ids waiting to be fanned out to
// its endpoints, pushed in the same step as the event itself.
func (k Keys) Outbox(merchantID string) string { return k.merchant(merchantID) + "outbox" }

// The webhook queue lives under one hash tag, {wh}, so each of its scripts
// runs on one Redis Cluster slot whatever the merchants involved.
func (k Keys) webhooks() string { return k.Prefix + ":{wh}:" }

// WebhookFanout is a ZSET: merchant ids whose outbox may hold events, scored
// by when they were put there (unix ms). It is a hint written after each
// event; a periodic sweep of WebhookMerchants covers a hint lost in a crash.
func (k Keys) WebhookFanout() string { return k.webhooks() + "fanout" }

// WebhookMerchants is a SET: merchant ids that have had a webhook endpoint,
// the outboxes the sweep looks at.
func (k Keys) WebhookMerchants() string { return k.webhooks() + "merchants" }

// Deliveries is a HASH: delivery id -> delivery JSON (merchant id included).
func (k Keys) Deliveries() string { return k.webhooks() + "dlv" }

// DeliveriesDue is a ZSET: pending delivery ids scored by when their next
// attempt is due (unix ms).
func (k Keys) DeliveriesDue() string { return k.webhooks() + "due" }

// DeliveriesLeased is a ZSET: delivery ids a dispatcher is attempting,
// scored by when its lease ends (unix ms); an ended lease puts the delivery
// back on DeliveriesDue.
func (k Keys) DeliveriesLeased() string { return k.webhooks() + "leased" }

// DeliveriesParked is a ZSET (scores 0, ordered by member): due deliveries
// whose endpoint had its limit of attempts in flight, as
// "<endpoint id>:<due ms, 15 digits>:<delivery id>", so each endpoint's
// wait in due order; a freed slot brings the first back to DeliveriesDue.
func (k Keys) DeliveriesParked() string { return k.webhooks() + "parked" }

// DeliveriesParkedIndex is a HASH: parked delivery id -> its member of
// DeliveriesParked.
func (k Keys) DeliveriesParkedIndex() string { return k.webhooks() + "parked:idx" }

// DeliveryLeaseTokens is a HASH: leased delivery id -> the token of its
// lease, so a dispatcher whose lease ended cannot record its late result.
func (k Keys) DeliveryLeaseTokens() string { return k.webhooks() + "lease" }

// EndpointsInFlight is a HASH: endpoint id -> deliveries being attempted,
// which the per-endpoint concurrency limit is checked against.
func (k Keys) EndpointsInFlight() string { return k.webhooks() + "inflight" }

// EndpointDeliveries is a ZSET (scores 0, ordered by id): the deliveries of
// one endpoint, newest event last.
func (k Keys) EndpointDeliveries(endpointID string) string {
	return k.webhooks() + "ep:" + endpointID
}

// EventDeliveries is a ZSET (scores 0, ordered by id): the deliveries of one
// event.
func (k Keys) EventDeliveries(eventID string) string { return k.webhooks() + "evt:" + eventID }

// DeliveryLeaseSeq is a STRING counter: the last lease token handed out.
// Tokens only grow, so they also fence a dispatcher that lost its lease.
func (k Keys) DeliveryLeaseSeq() string { return k.webhooks() + "lease:seq" }

// Products is a HASH of one merchant's products: product id -> JSON,
// "<id>:v" -> version for compare-and-set updates, "<id>:active" -> "1" or
// "0", which the script that opens a link checks.
func (k Keys) Products(merchantID string) string { return k.merchant(merchantID) + "prod" }

// ProductIndex is a ZSET (scores 0, ordered by id): the products of one
// mode.
func (k Keys) ProductIndex(merchantID string, live bool) string {
	return k.merchant(merchantID) + "prod:idx:" + mode(live)
}

// PaymentLinks is a HASH of one merchant's payment links: link id -> JSON,
// "<id>:v" -> version, and the state the use-taking script reads and
// writes: "<id>:active" ("1" or "0"), "<id>:max" (max uses, 0 for no
// limit) and "<id>:uses" (checkouts opened).
func (k Keys) PaymentLinks(merchantID string) string { return k.merchant(merchantID) + "plink" }

// PaymentLinkIndex is a ZSET (scores 0, ordered by id): the payment links
// of one mode.
func (k Keys) PaymentLinkIndex(merchantID string, live bool) string {
	return k.merchant(merchantID) + "plink:idx:" + mode(live)
}

// PaymentLinkSlug is a STRING: "<merchant id> <link id>" owning a slug. A
// slug belongs to one link across the gateway, so /l/<slug> has one
// meaning.
func (k Keys) PaymentLinkSlug(slug string) string { return k.Prefix + ":{slug:" + slug + "}" }
