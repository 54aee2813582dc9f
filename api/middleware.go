package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/store"
)

const ctxPrincipal = "sg.principal"

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// requestIDs gives every request an id, returned in X-Request-Id and in
// error bodies, and attached to every log line of the request.
func requestIDs(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := sg.NewID("req_", time.Now())
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// apiHeaders are the strict headers every API response carries.
func apiHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		return next(c)
	}
}

// bodyLimit caps request bodies; decode reports the overflow as 413.
func bodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > limit {
				return withStatus(http.StatusRequestEntityTooLarge, sg.EINVALID, "body_too_large", "",
					fmt.Sprintf("request body must be at most %d bytes", limit))
			}
			req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
			return next(c)
		}
	}
}

// Authenticator resolves an API key to its caller and counts the request
// against the key's one-second rate window.
type Authenticator interface {
	// AuthenticateCounted returns unauthorized for an unknown or revoked
	// key, and the number of requests the key made this second.
	AuthenticateCounted(ctx context.Context, secret string) (sg.Principal, int64, error)
}

func bearer(c echo.Context) (string, bool) {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return strings.TrimSpace(tok), ok && strings.TrimSpace(tok) != ""
}

// authenticate requires a secret API key and puts its principal in the
// request context. Publishable keys are refused on these routes.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return s.authenticateKey(false, next)
}

// authenticatePublishable is authenticate for the one route a publishable
// key may call (starting a checkout from a payment link, for the widget);
// secret keys work there too.
func (s *Server) authenticatePublishable(next echo.HandlerFunc) echo.HandlerFunc {
	return s.authenticateKey(true, next)
}

// authenticateKey resolves the bearer key; publishable says whether a
// publishable key may call the route.
func (s *Server) authenticateKey(publishable bool, next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		tok, ok := bearer(c)
		if !ok {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="stablegate"`)
			return sg.Errorf(sg.EUNAUTHORIZED, "api_key_missing", "", "send your secret key as Authorization: Bearer sk_...")
		}
		p, n, err := s.auth.AuthenticateCounted(c.Request().Context(), tok)
		if lerr := s.limit(c, n); lerr != nil {
			return lerr
		}
		if err != nil {
			if sg.IsCode(err, sg.EUNAUTHORIZED) {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="stablegate", error="invalid_token"`)
			}
			return err
		}
		if p.Kind != sg.KeySecret && !(publishable && p.Kind == sg.KeyPublishable) {
			return sg.Errorf(sg.EFORBIDDEN, "publishable_key_not_allowed", "", "this route needs a secret key")
		}
		c.Set(ctxPrincipal, p)
		req := c.Request()
		c.SetRequest(req.WithContext(sg.WithPrincipal(req.Context(), p)))
		return next(c)
	}
}

func principal(c echo.Context) sg.Principal {
	p, _ := c.Get(ctxPrincipal).(sg.Principal)
	return p
}

// operator guards the admin API with the operator token. Without a
// configured token the admin API does not exist.
func (s *Server) operator(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.cfg.OperatorToken == "" {
			return sg.Errorf(sg.ENOTFOUND, "route_not_found", "", "the admin API is disabled: no operator token is configured")
		}
		tok, ok := bearer(c)
		if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.OperatorToken)) != 1 {
			return sg.Errorf(sg.EUNAUTHORIZED, "operator_token_invalid", "", "invalid operator token")
		}
		c.Set(ctxPrincipal, sg.Principal{MerchantID: "operator", Kind: sg.KeySecret, Livemode: true})
		return next(c)
	}
}

// limit applies the rate limit to a credential that made n requests in the
// current second: each key may make RateLimit requests per second, counted
// in Redis so every replica shares one budget. Unknown keys are counted
// too, so guessing keys is throttled like using them. Headers follow the
// IETF RateLimit draft: RateLimit-Limit, RateLimit-Remaining,
// RateLimit-Reset, and Retry-After on 429.
func (s *Server) limit(c echo.Context, n int64) error {
	if s.cfg.RateLimit <= 0 || n == 0 {
		return nil
	}
	now := time.Now()
	reset := max(1, ceilSeconds(now.Truncate(time.Second).Add(time.Second).Sub(now)))
	h := c.Response().Header()
	h.Set("RateLimit-Limit", strconv.Itoa(s.cfg.RateLimit))
	h.Set("RateLimit-Remaining", strconv.FormatInt(max(0, int64(s.cfg.RateLimit)-n), 10))
	h.Set("RateLimit-Reset", strconv.Itoa(reset))
	if n > int64(s.cfg.RateLimit) {
		h.Set("Retry-After", strconv.Itoa(reset))
		return sg.Errorf(sg.ERATELIMITED, "rate_limited", "", "too many requests; retry after the Retry-After seconds")
	}
	return nil
}

func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// IdempotencyStore keeps Idempotency-Key claims and responses.
type IdempotencyStore interface {
	BeginIdempotent(ctx context.Context, merchantID string, live bool, key, fingerprint string) (store.IdempotencyState, error)
	FinishIdempotent(ctx context.Context, merchantID string, live bool, key, owner string, status int, body []byte) error
	AbortIdempotent(ctx context.Context, merchantID string, live bool, key, owner string) error
}

// maxIdempotencyKey bounds the header like Stripe does.
const maxIdempotencyKey = 255

// idempotent makes a POST with an Idempotency-Key safe to retry: the first
// response (anything but a server error) is stored for 24 h and replayed;
// the same key with other parameters is a 422; while the first request runs,
// a duplicate gets 409.
func (s *Server) idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		key := req.Header.Get("Idempotency-Key")
		if req.Method != http.MethodPost || key == "" {
			return next(c)
		}
		if len(key) > maxIdempotencyKey {
			return sg.Errorf(sg.EINVALID, "idempotency_key_invalid", "Idempotency-Key", "Idempotency-Key must be at most 255 characters")
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return bodyReadError(err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.Sum256([]byte(req.Method + " " + req.URL.Path + "\n" + string(body)))
		fp := hex.EncodeToString(sum[:])
		p := principal(c)
		ctx := req.Context()
		st, err := s.idem.BeginIdempotent(ctx, p.MerchantID, p.Livemode, key, fp)
		if err != nil {
			return err
		}
		switch {
		case !st.New && st.Fingerprint != fp:
			return withStatus(http.StatusUnprocessableEntity, sg.EINVALID, "idempotency_key_reused", "Idempotency-Key",
				"this Idempotency-Key was used with different parameters")
		case st.InFlight:
			return withStatus(http.StatusConflict, sg.ECONFLICT, "idempotency_request_in_progress", "Idempotency-Key",
				"a request with this Idempotency-Key is still running; retry shortly")
		case !st.New:
			c.Response().Header().Set("Idempotent-Replayed", "true")
			return c.JSONBlob(st.Status, st.Body)
		}

		rec := &recorder{ResponseWriter: c.Response().Writer}
		c.Response().Writer = rec
		defer func() {
			if r := recover(); r != nil {
				// A crashed request leaves no claim behind: a retry runs again.
				wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_ = s.idem.AbortIdempotent(wctx, p.MerchantID, p.Livemode, key, st.Owner)
				panic(r)
			}
		}()
		herr := next(c)
		if herr != nil {
			s.handleError(herr, c)
		}
		// The stored response must not depend on the request's fate, so it is
		// written with a context that outlives a client hang-up.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		status := c.Response().Status
		body, ok := replayBody(c, rec.body.Bytes())
		if status >= 500 || !ok {
			err = s.idem.AbortIdempotent(wctx, p.MerchantID, p.Livemode, key, st.Owner)
		} else {
			err = s.idem.FinishIdempotent(wctx, p.MerchantID, p.Livemode, key, st.Owner, status, body)
		}
		if err != nil {
			s.log.Error("store idempotent response", "request_id", requestID(c), "err", err)
		}
		return nil
	}
}

const ctxReplayWithout = "sg.replay_without"

// replayWithout marks a route whose successful responses carry a secret
// shown once: idempotent stores them without the named top-level fields,
// so a replay answers the same object minus the secret and no secret is
// ever copied into an idempotency record.
func replayWithout(fields ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(ctxReplayWithout, fields)
			return next(c)
		}
	}
}

// replayBody returns the response body to store for replay, and false
// when none may be stored: a marked success that is not a JSON object
// cannot be cleared of its secret.
func replayBody(c echo.Context, body []byte) ([]byte, bool) {
	fields, _ := c.Get(ctxReplayWithout).([]string)
	if len(fields) == 0 || c.Response().Status >= 300 {
		return body, true
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, false
	}
	for _, f := range fields {
		delete(obj, f)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // as jsonSerializer writes it
	if err := enc.Encode(obj); err != nil {
		return nil, false
	}
	return b.Bytes(), true
}

// recorder copies the response body as it is written.
type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
