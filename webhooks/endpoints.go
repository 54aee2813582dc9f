package webhooks

import (
	"context"
	"slices"
	"strings"
	"time"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/store"
)

// EndpointStore is what the endpoints service needs from the store.
// Lookups return not_found for another merchant's objects; CreateEndpoint
// returns conflict "endpoint_limit", UpdateEndpoint and DeleteEndpoint
// conflict "endpoint_changed" when the endpoint moved past the version
// read, and Redeliver conflict "delivery_in_flight" while an attempt runs.
type EndpointStore interface {
	CreateEndpoint(ctx context.Context, e *sg.WebhookEndpoint, max int) error
	Endpoint(ctx context.Context, merchantID, id string) (*sg.WebhookEndpoint, int64, error)
	UpdateEndpoint(ctx context.Context, e *sg.WebhookEndpoint, version int64) (int64, error)
	DeleteEndpoint(ctx context.Context, e *sg.WebhookEndpoint, version int64) error
	ListEndpoints(ctx context.Context, merchantID string, live bool, f store.ListFilter) ([]*sg.WebhookEndpoint, bool, error)
	Endpoints(ctx context.Context, merchantID string) ([]*sg.WebhookEndpoint, error)
	Event(ctx context.Context, merchantID, id string) (*sg.Event, error)
	Enqueue(ctx context.Context, ds []*sg.Delivery, now time.Time) (int, error)
	Redeliver(ctx context.Context, merchantID, id string, now time.Time) (*sg.Delivery, error)
	Delivery(ctx context.Context, merchantID, id string) (*sg.Delivery, error)
	EndpointDeliveries(ctx context.Context, merchantID, endpointID string, f store.ListFilter) ([]*sg.Delivery, bool, error)
	EventDeliveries(ctx context.Context, merchantID, eventID string, f store.ListFilter) ([]*sg.Delivery, bool, error)
}

// The check sits here rather than beside Store because store cannot import
// webhooks: webhooks imports store for ListFilter.
var _ EndpointStore = (*store.Store)(nil)

// Object names of the JSON objects this package makes.
const (
	ObjectEndpoint = "webhook_endpoint"
	ObjectDelivery = "webhook_delivery"
)

// Limits on endpoint parameters.
const (
	MaxURLLength         = 2048
	MaxDescriptionLength = 500
	// MaxRotationOverlap is the longest a rotated-out secret keeps signing.
	MaxRotationOverlap = 7 * 24 * time.Hour
	// maxSecrets bounds the secrets that sign a delivery, the current one
	// included, so rotating in a loop cannot grow every signature header:
	// past it the oldest rotated-out secrets stop at once.
	maxSecrets = 5
	// casAttempts bounds the read-modify-write retries of one change.
	casAttempts = 5
)

// EndpointsConfig tunes the endpoints service. A zero field takes its
// default.
type EndpointsConfig struct {
	// MaxPerMode is how many endpoints a merchant may have in each mode.
	// Default 16.
	MaxPerMode int
	// RotationOverlap is how long a rotated-out secret keeps signing
	// deliveries when the rotation names no overlap, so receivers can
	// switch without dropping any. Default 24h, at most
	// MaxRotationOverlap.
	RotationOverlap time.Duration
}

// DefaultEndpointsConfig returns the defaults documented on
// EndpointsConfig.
func DefaultEndpointsConfig() EndpointsConfig {
	return EndpointsConfig{MaxPerMode: 16, RotationOverlap: 24 * time.Hour}
}

// Validate reports a configuration the service cannot run with.
func (c EndpointsConfig) Validate() error {
	if c.MaxPerMode < 0 {
		return sg.Errorf(sg.EINVALID, "config_invalid", "", "webhook endpoints per mode must not be negative")
	}
	if c.RotationOverlap < 0 || c.RotationOverlap > MaxRotationOverlap {
		return sg.Errorf(sg.EINVALID, "config_invalid", "", "webhook secret rotation overlap must be between 0 and %s", MaxRotationOverlap)
	}
	return nil
}

// Endpoints manages merchants' webhook endpoints and their deliveries:
// registration behind the SSRF guard, secret rotation, the delivery log and
// manual redelivery. Every method acts for a principal and sees only its
// merchant's objects of its mode: any other is not_found, exactly like one
// that does not exist.
type Endpoints struct {
	store EndpointStore
	guard *Guard
	now   sg.Clock
	cfg   EndpointsConfig
}

// NewEndpoints returns the endpoints service. A nil guard is the zero
// Guard, a nil clock time.Now.
func NewEndpoints(st EndpointStore, guard *Guard, clock sg.Clock, cfg EndpointsConfig) *Endpoints {
	def := DefaultEndpointsConfig()
	if cfg.MaxPerMode <= 0 {
		cfg.MaxPerMode = def.MaxPerMode
	}
	if cfg.RotationOverlap <= 0 {
		cfg.RotationOverlap = def.RotationOverlap
	}
	if guard == nil {
		guard = &Guard{}
	}
	if clock == nil {
		clock = time.Now
	}
	return &Endpoints{store: st, guard: guard, now: clock, cfg: cfg}
}

// EndpointParams are the fields of an endpoint a merchant sets. Nil fields
// are left as they are by Update; Create requires URL and EnabledEvents.
type EndpointParams struct {
	URL         *string
	Description *string
	// EnabledEvents are event types or "*" for all; duplicates are dropped.
	EnabledEvents []string
	// Disabled stops (true) or resumes (false) deliveries.
	Disabled *bool
}

// Create registers an endpoint in the principal's mode and returns it with
// its signing secret, which is shown this once. It returns invalid for a
// bad parameter (a URL the guard refuses among them: in live mode it must
// be https) and conflict "endpoint_limit" past MaxPerMode.
func (s *Endpoints) Create(ctx context.Context, p sg.Principal, params EndpointParams) (*sg.WebhookEndpoint, error) {
	if params.URL == nil || *params.URL == "" {
		return nil, sg.Errorf(sg.EINVALID, "parameter_missing", "url", "url is required")
	}
	if params.EnabledEvents == nil {
		return nil, sg.Errorf(sg.EINVALID, "parameter_missing", "enabled_events", "enabled_events is required")
	}
	events, err := s.check(ctx, p, params, "")
	if err != nil {
		return nil, err
	}
	secret, err := NewSecret()
	if err != nil {
		return nil, err
	}
	now := s.now()
	e := &sg.WebhookEndpoint{
		ID:            sg.NewID(sg.PrefixEndpoint, now),
		Object:        ObjectEndpoint,
		Livemode:      p.Livemode,
		URL:           *params.URL,
		EnabledEvents: events,
		Status:        sg.EndpointEnabled,
		Created:       now.Unix(),
		Secret:        secret,
		MerchantID:    p.MerchantID,
		Secrets:       []sg.EndpointSecret{{Secret: secret}},
	}
	if params.Description != nil {
		e.Description = *params.Description
	}
	if params.Disabled != nil && *params.Disabled {
		e.Status = sg.EndpointDisabled
	}
	if err := s.store.CreateEndpoint(ctx, e, s.cfg.MaxPerMode); err != nil {
		return nil, err
	}
	return e, nil
}

// check validates the parameters that are set and returns the enabled
// events de-duplicated. The URL goes to the guard only when it differs
// from current, so an update that leaves it alone does not resolve it.
func (s *Endpoints) check(ctx context.Context, p sg.Principal, params EndpointParams, current string) ([]string, error) {
	var events []string
	if params.EnabledEvents != nil {
		if len(params.EnabledEvents) == 0 {
			return nil, sg.Errorf(sg.EINVALID, "enabled_events_empty", "enabled_events", "enabled_events must name at least one event type, or \"*\"")
		}
		for _, typ := range params.EnabledEvents {
			if !sg.ValidEventType(typ) {
				return nil, sg.Errorf(sg.EINVALID, "event_type_invalid", "enabled_events", "unknown event type %q; use one of %s or \"*\"", typ, strings.Join(sg.EventTypes, ", "))
			}
			if !slices.Contains(events, typ) {
				events = append(events, typ)
			}
		}
	}
	if params.Description != nil && len(*params.Description) > MaxDescriptionLength {
		return nil, sg.Errorf(sg.EINVALID, "description_too_long", "description", "description must be at most %d characters", MaxDescriptionLength)
	}
	if params.URL != nil && *params.URL != current {
		u := *params.URL
		if len(u) > MaxURLLength {
			return nil, sg.Errorf(sg.EINVALID, ReasonURLInvalid, "url", "webhook URL must be at most %d characters", MaxURLLength)
		}
		if err := s.guard.CheckURL(ctx, u, p.Livemode); err != nil {
			return nil, err
		}
	}
	return events, nil
}

// endpoint returns the principal's endpoint of its mode and its version.
func (s *Endpoints) endpoint(ctx context.Context, p sg.Principal, id string) (*sg.WebhookEndpoint, int64, error) {
	e, v, err := s.store.Endpoint(ctx, p.MerchantID, id)
	if err != nil {
		return nil, 0, err
	}
	if e.Livemode != p.Livemode {
		return nil, 0, sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such webhook endpoint")
	}
	return e, v, nil
}

// Get returns an endpoint, without its secret.
func (s *Endpoints) Get(ctx context.Context, p sg.Principal, id string) (*sg.WebhookEndpoint, error) {
	e, _, err := s.endpoint(ctx, p, id)
	return e, err
}

// List returns a page of the principal's endpoints, newest first; a zero
// Limit means 10.
func (s *Endpoints) List(ctx context.Context, p sg.Principal, f store.ListFilter) ([]*sg.WebhookEndpoint, bool, error) {
	return s.store.ListEndpoints(ctx, p.MerchantID, p.Livemode, limited(f))
}

// Update changes the fields of params that are set and returns the
// endpoint. Enabling a disabled endpoint clears why and since when it was
// failing, so it starts afresh. Errors are those of Create, and not_found.
func (s *Endpoints) Update(ctx context.Context, p sg.Principal, id string, params EndpointParams) (*sg.WebhookEndpoint, error) {
	e, v, err := s.endpoint(ctx, p, id)
	if err != nil {
		return nil, err
	}
	events, err := s.check(ctx, p, params, e.URL)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, p, e, v, func(e *sg.WebhookEndpoint) {
		if params.URL != nil {
			e.URL = *params.URL
		}
		if params.Description != nil {
			e.Description = *params.Description
		}
		if events != nil {
			e.EnabledEvents = events
		}
		switch {
		case params.Disabled == nil:
		case *params.Disabled:
			e.Status, e.DisabledReason = sg.EndpointDisabled, ""
		case e.Status != sg.EndpointEnabled:
			e.Status, e.DisabledReason, e.FailingSince = sg.EndpointEnabled, "", 0
		}
	})
}

// change applies edit to the endpoint e read at version v and writes it,
// reading it again and reapplying edit when another writer (the dispatcher
// recording a failure, say) got there first.
func (s *Endpoints) change(ctx context.Context, p sg.Principal, e *sg.WebhookEndpoint, v int64, edit func(*sg.WebhookEndpoint)) (*sg.WebhookEndpoint, error) {
	for attempt := 1; ; attempt++ {
		edit(e)
		_, err := s.store.UpdateEndpoint(ctx, e, v)
		if !changed(err) || attempt == casAttempts {
			if err != nil {
				return nil, err
			}
			return e, nil
		}
		if e, v, err = s.endpoint(ctx, p, e.ID); err != nil {
			return nil, err
		}
	}
}

// changed reports the store's conflict for a write that lost a race.
func changed(err error) bool { return isConflict(err, "endpoint_changed") }

// inFlight reports the store's conflict for a delivery being attempted.
func inFlight(err error) bool { return isConflict(err, "delivery_in_flight") }

func isConflict(err error, reason string) bool {
	e := sg.ErrorOf(err)
	return e != nil && e.Code == sg.ECONFLICT && e.Reason == reason
}

// Delete deletes an endpoint and returns it as it was. Its pending
// deliveries fail when they come due.
func (s *Endpoints) Delete(ctx context.Context, p sg.Principal, id string) (*sg.WebhookEndpoint, error) {
	for attempt := 1; ; attempt++ {
		e, v, err := s.endpoint(ctx, p, id)
		if err != nil {
			return nil, err
		}
		err = s.store.DeleteEndpoint(ctx, e, v)
		if !changed(err) || attempt == casAttempts {
			if err != nil {
				return nil, err
			}
			return e, nil
		}
	}
}

// RotateSecret gives an endpoint a new signing secret and returns the
// endpoint with it, shown this once. The old current secret keeps signing
// beside the new one for overlap (nil means the configured
// RotationOverlap; 0 stops it at once), and no older secret signs for
// longer than that either. An overlap outside 0 to MaxRotationOverlap is
// invalid "overlap_invalid".
func (s *Endpoints) RotateSecret(ctx context.Context, p sg.Principal, id string, overlap *time.Duration) (*sg.WebhookEndpoint, error) {
	keep := s.cfg.RotationOverlap
	if overlap != nil {
		keep = *overlap
	}
	if keep < 0 || keep > MaxRotationOverlap {
		return nil, sg.Errorf(sg.EINVALID, "overlap_invalid", "overlap_seconds", "overlap_seconds must be from 0 to %d", int64(MaxRotationOverlap/time.Second))
	}
	e, v, err := s.endpoint(ctx, p, id)
	if err != nil {
		return nil, err
	}
	secret, err := NewSecret()
	if err != nil {
		return nil, err
	}
	return s.change(ctx, p, e, v, func(e *sg.WebhookEndpoint) {
		now := s.now().Unix()
		until := now + int64(keep/time.Second)
		secrets := []sg.EndpointSecret{{Secret: secret}}
		for _, old := range e.Secrets {
			if old.Secret == secret {
				continue // a retry of this rotation
			}
			if old.Expires == 0 || old.Expires > until {
				old.Expires = until
			}
			if old.Expires > now && len(secrets) < maxSecrets {
				secrets = append(secrets, old)
			}
		}
		e.Secrets, e.Secret = secrets, secret
	})
}

// Deliveries returns a page of an endpoint's deliveries, newest event
// first; a zero Limit means 10. It returns not_found for an endpoint that
// is not the principal's.
func (s *Endpoints) Deliveries(ctx context.Context, p sg.Principal, endpointID string, f store.ListFilter) ([]*sg.Delivery, bool, error) {
	if _, _, err := s.endpoint(ctx, p, endpointID); err != nil {
		return nil, false, err
	}
	ds, more, err := s.store.EndpointDeliveries(ctx, p.MerchantID, endpointID, limited(f))
	return shown(ds...), more, err
}

// event returns the principal's event of its mode.
func (s *Endpoints) event(ctx context.Context, p sg.Principal, id string) (*sg.Event, error) {
	ev, err := s.store.Event(ctx, p.MerchantID, id)
	if err != nil {
		return nil, err
	}
	if ev.Livemode != p.Livemode {
		return nil, sg.Errorf(sg.ENOTFOUND, "resource_missing", "id", "no such event")
	}
	return ev, nil
}

// EventDeliveries returns a page of an event's deliveries, one per
// endpoint that took it; a zero Limit means 10. It returns not_found for
// an event that is not the principal's.
func (s *Endpoints) EventDeliveries(ctx context.Context, p sg.Principal, eventID string, f store.ListFilter) ([]*sg.Delivery, bool, error) {
	if _, err := s.event(ctx, p, eventID); err != nil {
		return nil, false, err
	}
	ds, more, err := s.store.EventDeliveries(ctx, p.MerchantID, eventID, limited(f))
	return shown(ds...), more, err
}

// Redeliver makes a delivery of the endpoint due at once, whatever its
// state, as an attempt the merchant asked for, and returns it. It returns
// not_found unless the delivery is the endpoint's, conflict
// "endpoint_disabled" for a disabled endpoint and conflict
// "delivery_in_flight" while an attempt of it runs.
func (s *Endpoints) Redeliver(ctx context.Context, p sg.Principal, endpointID, deliveryID string) (*sg.Delivery, error) {
	e, _, err := s.endpoint(ctx, p, endpointID)
	if err != nil {
		return nil, err
	}
	d, err := s.store.Delivery(ctx, p.MerchantID, deliveryID)
	if err != nil {
		return nil, err
	}
	if d.EndpointID != e.ID || d.Livemode != p.Livemode {
		return nil, sg.Errorf(sg.ENOTFOUND, "resource_missing", "delivery_id", "no such delivery")
	}
	if e.Status != sg.EndpointEnabled {
		return nil, sg.Errorf(sg.ECONFLICT, "endpoint_disabled", "", "webhook endpoint %s is disabled; enable it to redeliver", e.ID)
	}
	d, err = s.store.Redeliver(ctx, p.MerchantID, d.ID, s.now())
	if err != nil {
		return nil, err
	}
	return shown(d)[0], nil
}

// RedeliverEvent sends an event again to every enabled endpoint of its
// mode that takes its type: a delivery it had is made due at once, as by
// Redeliver, and an endpoint it never reached (one added since) gets a new
// one. A delivery whose attempt is in flight is left to it. It returns the
// deliveries in endpoint order, not_found for an event that is not the
// principal's, and conflict "no_endpoints" when no endpoint takes it.
func (s *Endpoints) RedeliverEvent(ctx context.Context, p sg.Principal, eventID string) ([]*sg.Delivery, error) {
	ev, err := s.event(ctx, p, eventID)
	if err != nil {
		return nil, err
	}
	all, err := s.store.Endpoints(ctx, p.MerchantID)
	if err != nil {
		return nil, err
	}
	var eps []*sg.WebhookEndpoint
	for _, e := range all {
		if e.Takes(ev) {
			eps = append(eps, e)
		}
	}
	if len(eps) == 0 {
		return nil, sg.Errorf(sg.ECONFLICT, "no_endpoints", "", "no enabled webhook endpoint takes %s events", ev.Type)
	}
	slices.SortFunc(eps, func(a, b *sg.WebhookEndpoint) int { return strings.Compare(a.ID, b.ID) })

	now := s.now()
	out := make([]*sg.Delivery, 0, len(eps))
	var fresh []*sg.Delivery
	for _, e := range eps {
		d, err := s.store.Delivery(ctx, p.MerchantID, sg.DeliveryID(ev.ID, e.ID))
		switch {
		case sg.IsCode(err, sg.ENOTFOUND):
			d = NewDelivery(ev, e, now)
			d.Redelivery = true
			fresh = append(fresh, d)
		case err != nil:
			return nil, err
		default:
			switch again, err := s.store.Redeliver(ctx, p.MerchantID, d.ID, now); {
			case err == nil:
				d = again
			case !inFlight(err):
				return nil, err
			}
		}
		out = append(out, d)
	}
	// A delivery the fan-out made meanwhile is kept, not replaced: it is
	// due at once too.
	if _, err := s.store.Enqueue(ctx, fresh, now); err != nil {
		return nil, err
	}
	return shown(out...), nil
}

// limited gives a filter without a limit the API's default page size.
func limited(f store.ListFilter) store.ListFilter {
	if f.Limit <= 0 {
		f.Limit = 10
	}
	return f
}

// shown readies deliveries for the API: an empty attempt log is an empty
// list, not null.
func shown(ds ...*sg.Delivery) []*sg.Delivery {
	for _, d := range ds {
		if d.Attempts == nil {
			d.Attempts = []sg.Attempt{}
		}
	}
	return ds
}
