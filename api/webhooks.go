package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/webhooks"
)

// Webhooks is the webhook endpoints service as the API uses it. Every
// method returns not_found for an endpoint, event or delivery of another
// merchant or mode. Create and Update return invalid for a bad parameter,
// Create conflict "endpoint_limit"; RotateSecret invalid
// "overlap_invalid"; Redeliver conflict "endpoint_disabled" or
// "delivery_in_flight"; RedeliverEvent conflict "no_endpoints".
type Webhooks interface {
	Create(ctx context.Context, p sg.Principal, params webhooks.EndpointParams) (*sg.WebhookEndpoint, error)
	Get(ctx context.Context, p sg.Principal, id string) (*sg.WebhookEndpoint, error)
	List(ctx context.Context, p sg.Principal, f store.ListFilter) ([]*sg.WebhookEndpoint, bool, error)
	Update(ctx context.Context, p sg.Principal, id string, params webhooks.EndpointParams) (*sg.WebhookEndpoint, error)
	Delete(ctx context.Context, p sg.Principal, id string) (*sg.WebhookEndpoint, error)
	RotateSecret(ctx context.Context, p sg.Principal, id string, overlap *time.Duration) (*sg.WebhookEndpoint, error)
	Deliveries(ctx context.Context, p sg.Principal, endpointID string, f store.ListFilter) ([]*sg.Delivery, bool, error)
	EventDeliveries(ctx context.Context, p sg.Principal, eventID string, f store.ListFilter) ([]*sg.Delivery, bool, error)
	Redeliver(ctx context.Context, p sg.Principal, endpointID, deliveryID string) (*sg.Delivery, error)
	RedeliverEvent(ctx context.Context, p sg.Principal, eventID string) ([]*sg.Delivery, error)
}

// createEndpointRequest is the body of POST /v1/webhook-endpoints.
type createEndpointRequest struct {
	URL           *string  `json:"url"`
	EnabledEvents []string `json:"enabled_events"`
	Description   *string  `json:"description"`
}

// updateEndpointRequest is the body of PATCH /v1/webhook-endpoints/:id;
// fields left out stay as they are.
type updateEndpointRequest struct {
	URL           *string  `json:"url"`
	EnabledEvents []string `json:"enabled_events"`
	Description   *string  `json:"description"`
	Disabled      *bool    `json:"disabled"`
}

// rotateSecretRequest is the body of POST
// /v1/webhook-endpoints/:id/rotate-secret.
type rotateSecretRequest struct {
	OverlapSeconds *int64 `json:"overlap_seconds"`
}

func (s *Server) createEndpoint(c echo.Context) error {
	var req createEndpointRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	e, err := s.webhooks.Create(c.Request().Context(), principal(c), webhooks.EndpointParams{
		URL: req.URL, EnabledEvents: req.EnabledEvents, Description: req.Description,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

func (s *Server) listEndpoints(c echo.Context) error {
	f, err := cursorPage(c, sg.PrefixEndpoint, "webhook endpoint")
	if err != nil {
		return err
	}
	es, more, err := s.webhooks.List(c.Request().Context(), principal(c), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList("/v1/webhook-endpoints", es, more))
}

func (s *Server) getEndpoint(c echo.Context) error {
	e, err := s.webhooks.Get(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

func (s *Server) updateEndpoint(c echo.Context) error {
	var req updateEndpointRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	e, err := s.webhooks.Update(c.Request().Context(), principal(c), c.Param("id"), webhooks.EndpointParams{
		URL: req.URL, EnabledEvents: req.EnabledEvents, Description: req.Description, Disabled: req.Disabled,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

func (s *Server) deleteEndpoint(c echo.Context) error {
	e, err := s.webhooks.Delete(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"id": e.ID, "object": webhooks.ObjectEndpoint, "deleted": true})
}

func (s *Server) rotateSecret(c echo.Context) error {
	var req rotateSecretRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var overlap *time.Duration
	if n := req.OverlapSeconds; n != nil {
		// Clamped so the conversion cannot overflow; the service rejects
		// anything out of range.
		d := time.Duration(min(max(*n, -1), int64(webhooks.MaxRotationOverlap/time.Second)+1)) * time.Second
		overlap = &d
	}
	e, err := s.webhooks.RotateSecret(c.Request().Context(), principal(c), c.Param("id"), overlap)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

func (s *Server) listEndpointDeliveries(c echo.Context) error {
	f, err := cursorPage(c, sg.PrefixDelivery, "delivery")
	if err != nil {
		return err
	}
	id := c.Param("id")
	ds, more, err := s.webhooks.Deliveries(c.Request().Context(), principal(c), id, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList("/v1/webhook-endpoints/"+id+"/deliveries", ds, more))
}

func (s *Server) redeliver(c echo.Context) error {
	if err := decode(c, &struct{}{}); err != nil {
		return err
	}
	d, err := s.webhooks.Redeliver(c.Request().Context(), principal(c), c.Param("id"), c.Param("delivery_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (s *Server) listEventDeliveries(c echo.Context) error {
	f, err := cursorPage(c, sg.PrefixDelivery, "delivery")
	if err != nil {
		return err
	}
	id := c.Param("id")
	ds, more, err := s.webhooks.EventDeliveries(c.Request().Context(), principal(c), id, f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList("/v1/events/"+id+"/deliveries", ds, more))
}

func (s *Server) redeliverEvent(c echo.Context) error {
	if err := decode(c, &struct{}{}); err != nil {
		return err
	}
	id := c.Param("id")
	ds, err := s.webhooks.RedeliverEvent(c.Request().Context(), principal(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList("/v1/events/"+id+"/redeliver", ds, false))
}

// cursorPage reads limit, starting_after and ending_before for a list
// whose ids start with prefix.
func cursorPage(c echo.Context, prefix, what string) (store.ListFilter, error) {
	limit, err := queryLimit(c)
	if err != nil {
		return store.ListFilter{}, err
	}
	f := store.ListFilter{StartingAfter: c.QueryParam("starting_after"), EndingBefore: c.QueryParam("ending_before"), Limit: limit}
	if f.StartingAfter != "" && f.EndingBefore != "" {
		return f, sg.Errorf(sg.EINVALID, "cursor_conflict", "ending_before", "starting_after and ending_before cannot be combined")
	}
	for param, id := range map[string]string{"starting_after": f.StartingAfter, "ending_before": f.EndingBefore} {
		if id != "" && !strings.HasPrefix(id, prefix) {
			return f, sg.Errorf(sg.EINVALID, "cursor_invalid", param, "%s must be a %s id", param, what)
		}
	}
	return f, nil
}
