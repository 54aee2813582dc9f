package stablegate

import (
	"slices"
	"strings"
	"time"
)

// EndpointStatus says whether an endpoint receives events.
type EndpointStatus string

// Endpoint states.
const (
	EndpointEnabled  EndpointStatus = "enabled"
	EndpointDisabled EndpointStatus = "disabled"
)

// AllEvents in EnabledEvents subscribes an endpoint to every event type,
// present and future.
const AllEvents = "*"

// EventTypes lists every event type a merchant can subscribe to.
var EventTypes = []string{
	EventCheckoutCreated, EventCheckoutProcessing, EventCheckoutPaid, EventCheckoutExpired,
	EventCheckoutCanceled, EventCheckoutUnderpaid, EventCheckoutOverpaid, EventCheckoutPaidLate,
	EventPaymentReverted, EventPaymentUnmatched,
}

// WebhookEndpoint is a URL of a merchant's that receives its events of one
// mode, signed with the endpoint's secret.
type WebhookEndpoint struct {
	ID            string         `json:"id"`
	Object        string         `json:"object"`
	Livemode      bool           `json:"livemode"`
	URL           string         `json:"url"`
	EnabledEvents []string       `json:"enabled_events"`
	Description   string         `json:"description"`
	Status        EndpointStatus `json:"status"`
	// DisabledReason says why the gateway disabled the endpoint (410 Gone,
	// or failing for days); empty when enabled or disabled by the merchant.
	DisabledReason string `json:"disabled_reason,omitempty"`
	// FailingSince is when the endpoint's current run of failed attempts
	// began; 0 while its last attempt succeeded.
	FailingSince int64 `json:"failing_since,omitempty"`
	Created      int64 `json:"created"`
	// Secret is shown once, when the endpoint is created or its secret
	// rotated.
	Secret string `json:"secret,omitempty"`

	MerchantID string `json:"-"`
	// Secrets sign deliveries: the current one first, then a rotated-out
	// one until its expiry.
	Secrets []EndpointSecret `json:"-"`
}

// EndpointSecret is one signing secret of an endpoint.
type EndpointSecret struct {
	Secret  string `json:"secret"`
	Expires int64  `json:"expires,omitempty"` // unix seconds; 0 for the current secret
}

// SigningSecrets returns the secrets that sign a delivery made at now: the
// current one and any rotated-out one still inside its overlap.
func (e *WebhookEndpoint) SigningSecrets(now time.Time) []string {
	var out []string
	for _, s := range e.Secrets {
		if s.Expires == 0 || now.Unix() < s.Expires {
			out = append(out, s.Secret)
		}
	}
	return out
}

// Wants reports whether the endpoint takes events of type typ.
func (e *WebhookEndpoint) Wants(typ string) bool {
	return slices.Contains(e.EnabledEvents, AllEvents) || slices.Contains(e.EnabledEvents, typ)
}

// Takes reports whether the endpoint is to receive evt now: it is enabled,
// of the event's mode, and wants its type.
func (e *WebhookEndpoint) Takes(evt *Event) bool {
	return e.Status == EndpointEnabled && e.Livemode == evt.Livemode && e.Wants(evt.Type)
}

// DeliveryStatus is where a delivery of one event to one endpoint stands.
type DeliveryStatus string

// Delivery states.
const (
	DeliveryPending   DeliveryStatus = "pending"   // waiting for its next attempt
	DeliverySucceeded DeliveryStatus = "succeeded" // an attempt got a 2xx
	DeliveryFailed    DeliveryStatus = "failed"    // every attempt failed, or the endpoint is gone or disabled
)

// Delivery is one event sent to one endpoint, with every attempt made.
type Delivery struct {
	ID            string         `json:"id"`
	Object        string         `json:"object"`
	Livemode      bool           `json:"livemode"`
	EndpointID    string         `json:"webhook_endpoint"`
	EventID       string         `json:"event"`
	EventType     string         `json:"event_type"`
	Status        DeliveryStatus `json:"status"`
	Attempts      []Attempt      `json:"attempts"`
	NextAttemptAt int64          `json:"next_attempt_at,omitempty"` // unix seconds, while pending
	Created       int64          `json:"created"`

	MerchantID string `json:"-"`
	// Redelivery marks that the next attempt was asked for by the merchant:
	// it is recorded as manual, and a failure of it does not revive a
	// schedule that has ended.
	Redelivery bool `json:"-"`
}

// AutomaticAttempts counts the attempts the retry schedule made, leaving
// out those the merchant asked for.
func (d *Delivery) AutomaticAttempts() int {
	n := 0
	for _, a := range d.Attempts {
		if !a.Manual {
			n++
		}
	}
	return n
}

// Attempt is one HTTP request of a delivery.
type Attempt struct {
	At         int64  `json:"at"`          // unix seconds
	StatusCode int    `json:"status_code"` // 0 when no response came
	LatencyMS  int64  `json:"latency_ms"`
	Error      string `json:"error,omitempty"`
	// Response is the first 1 KiB of the response body.
	Response string `json:"response,omitempty"`
	// Manual marks an attempt the merchant asked for.
	Manual bool `json:"manual,omitempty"`
}

// ValidEventType reports whether typ can be subscribed to.
func ValidEventType(typ string) bool {
	return typ == AllEvents || slices.Contains(EventTypes, typ)
}

// DeliveryID is the id of the delivery of an event to an endpoint: derived
// from both, so fanning an event out twice never sends it twice.
func DeliveryID(eventID, endpointID string) string {
	return PrefixDelivery + strings.TrimPrefix(eventID, PrefixEvent) + "_" + strings.TrimPrefix(endpointID, PrefixEndpoint)
}
