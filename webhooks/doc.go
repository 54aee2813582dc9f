// Package webhooks delivers a merchant's events to its webhook endpoints,
// signed per the Standard Webhooks specification and retried durably. The
// events themselves are already recorded by the store with every state
// change; delivery is built on top of them.
package webhooks
