// Package api serves Stablegate's REST API (/v1), the operator's admin API
// (/admin/v1), the hosted payment page (/pay), health and metrics over
// HTTP. It is the only package that imports echo: it translates HTTP to
// service calls and domain errors to JSON, and holds no business rules.
package api

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/merchant"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/web"
)

// Config tunes the API server.
type Config struct {
	// OperatorToken guards the admin API; empty disables it. Default "".
	OperatorToken string
	// RateLimit is the number of requests each API key may make per
	// second (a fixed one-second window). 0 disables rate limiting.
	// Default 100.
	RateLimit int
	// MaxBodyBytes caps request bodies. Default 64 KiB.
	MaxBodyBytes int64
	// Version is reported in /healthz. Default "dev".
	Version string
	// TrustedProxies lists the networks of reverse proxies in front of the
	// gateway, whose X-Forwarded-For names the client for public rate
	// limits. Default none: the peer's own address counts, so no client
	// can pick a fresh budget with a made-up header.
	TrustedProxies []netip.Prefix
	// PublicURL is the gateway's public base URL (scheme and host, e.g.
	// https://pay.shop.example), in payment links' url and QR codes.
	// Default "": derived from each request's scheme and Host header, which
	// suits a single host; set it behind proxies or several host names.
	PublicURL string
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{RateLimit: 100, MaxBodyBytes: 64 << 10, Version: "dev"}
}

// Checkouts is the checkout service as the API uses it.
type Checkouts interface {
	Create(ctx context.Context, p sg.Principal, params checkout.CreateParams) (*sg.Checkout, error)
	Get(ctx context.Context, merchantID, id string) (*sg.Checkout, error)
	List(ctx context.Context, merchantID string, f store.CheckoutFilter) ([]*sg.Checkout, bool, error)
	Cancel(ctx context.Context, merchantID, id string) (*sg.Checkout, error)
	SelectMethod(ctx context.Context, merchantID, id string, pm sg.PaymentMethod) (*sg.Checkout, error)
}

// Merchants is the merchant service as the API uses it.
type Merchants interface {
	Authenticator
	Create(ctx context.Context, name string) (*sg.Merchant, error)
	Get(ctx context.Context, id string) (*sg.Merchant, error)
	List(ctx context.Context, after string, limit int) ([]*sg.Merchant, error)
	Update(ctx context.Context, id string, u merchant.Update) (*sg.Merchant, error)
	CreateKey(ctx context.Context, merchantID string, kind sg.KeyKind, live bool) (*sg.APIKey, string, error)
	Keys(ctx context.Context, merchantID string) ([]*sg.APIKey, error)
	RevokeKey(ctx context.Context, merchantID, keyID string) (*sg.APIKey, error)
	AddWallet(ctx context.Context, p sg.Principal, chain, address string) (*sg.Wallet, error)
	Wallets(ctx context.Context, p sg.Principal) ([]*sg.Wallet, error)
	Wallet(ctx context.Context, p sg.Principal, id string) (*sg.Wallet, error)
	DeleteWallet(ctx context.Context, p sg.Principal, id string) (*sg.Wallet, error)
}

// Events reads a merchant's events.
type Events interface {
	Event(ctx context.Context, merchantID, id string) (*sg.Event, error)
	ListEvents(ctx context.Context, merchantID string, f store.EventFilter) ([]*sg.Event, bool, error)
}

// Pinger reports whether the store is reachable, for /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are the services the server calls.
type Deps struct {
	Checkouts   Checkouts
	Merchants   Merchants
	Events      Events
	Payments    Payments
	Webhooks    Webhooks
	Idempotency IdempotencyStore
	Ready       Pinger
	// Pages serves the hosted payment page (/pay, /assets); nil leaves
	// those routes out.
	Pages Pages
	// Catalog serves products and payment links (/v1/products,
	// /v1/payment-links, /l); nil leaves those routes out.
	Catalog Catalog
	// Registry receives the HTTP metrics; nil means a fresh one.
	Registry *prometheus.Registry
	Log      *slog.Logger
}

// Server is the HTTP API.
type Server struct {
	cfg       Config
	checkouts Checkouts
	merchants Merchants
	auth      Authenticator
	events    Events
	payments  Payments
	webhooks  Webhooks
	idem      IdempotencyStore
	ready     Pinger
	pages     Pages
	catalog   Catalog
	web       *web.Pages
	log       *slog.Logger
	echo      *echo.Echo
	metrics   *httpMetrics
	registry  *prometheus.Registry
}

// New builds the server and its routes.
func New(cfg Config, d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	s := &Server{
		cfg: cfg, checkouts: d.Checkouts, merchants: d.Merchants, auth: d.Merchants,
		events: d.Events, payments: d.Payments, webhooks: d.Webhooks, idem: d.Idempotency, ready: d.Ready, log: d.Log,
		pages: d.Pages, catalog: d.Catalog,
		registry: d.Registry, metrics: newHTTPMetrics(d.Registry),
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	e.JSONSerializer = jsonSerializer{}
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	e.Use(requestIDs, s.observe, apiHeaders, recoverPanics(s.log))
	s.echo = e
	s.routes()
	return s
}

// ipExtractor finds a request's client address: the peer itself, or,
// behind a trusted proxy, the address it forwards.
func ipExtractor(proxies []netip.Prefix) echo.IPExtractor {
	if len(proxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range proxies {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// Handler returns the server as an http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Echo exposes the router so other packages (the hosted page) can add
// routes to the same server.
func (s *Server) Echo() *echo.Echo { return s.echo }

// Route is one documented route, for the OpenAPI consistency test.
type Route struct{ Method, Path string }

// Routes lists every registered route.
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.echo.Routes() {
		out = append(out, Route{Method: r.Method, Path: r.Path})
	}
	return out
}

func (s *Server) routes() {
	e := s.echo
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})))
	e.GET("/v1/openapi.json", serveOpenAPI)

	limit := bodyLimit(s.cfg.MaxBodyBytes)
	v1 := e.Group("/v1", limit, s.authenticate, s.idempotent)
	v1.GET("/merchant", s.getMerchant)
	v1.PATCH("/merchant", s.updateMerchant)
	v1.POST("/wallets", s.createWallet)
	v1.GET("/wallets", s.listWallets)
	v1.GET("/wallets/:id", s.getWallet)
	v1.DELETE("/wallets/:id", s.deleteWallet)
	v1.POST("/checkouts", s.createCheckout)
	v1.GET("/checkouts", s.listCheckouts)
	v1.GET("/checkouts/:id", s.getCheckout)
	v1.POST("/checkouts/:id/cancel", s.cancelCheckout)
	v1.POST("/checkouts/:id/payment_method", s.selectMethod)
	v1.GET("/payments", s.listPayments)
	v1.GET("/payments/:id", s.getPayment)
	v1.POST("/payments/:id/attach", s.attachPayment)
	v1.GET("/events", s.listEvents)
	v1.GET("/events/:id", s.getEvent)
	v1.GET("/events/:id/deliveries", s.listEventDeliveries)
	v1.POST("/events/:id/redeliver", s.redeliverEvent)
	// A replay of these returns the endpoint without its secret: the
	// secret is shown once and never copied into an idempotency record.
	v1.POST("/webhook-endpoints", s.createEndpoint, replayWithout("secret"))
	v1.GET("/webhook-endpoints", s.listEndpoints)
	v1.GET("/webhook-endpoints/:id", s.getEndpoint)
	v1.PATCH("/webhook-endpoints/:id", s.updateEndpoint)
	v1.DELETE("/webhook-endpoints/:id", s.deleteEndpoint)
	v1.POST("/webhook-endpoints/:id/rotate-secret", s.rotateSecret, replayWithout("secret"))
	v1.GET("/webhook-endpoints/:id/deliveries", s.listEndpointDeliveries)
	v1.POST("/webhook-endpoints/:id/deliveries/:delivery_id/redeliver", s.redeliver)
	s.catalogRoutes(v1)

	// The admin API keeps no idempotency records: its responses carry
	// secret keys, which must never be stored.
	admin := e.Group("/admin/v1", limit, s.operator)
	admin.POST("/merchants", s.adminCreateMerchant)
	admin.GET("/merchants", s.adminListMerchants)
	admin.GET("/merchants/:id", s.adminGetMerchant)
	admin.POST("/merchants/:id/keys", s.adminCreateKey)
	admin.GET("/merchants/:id/keys", s.adminListKeys)
	admin.POST("/keys/:id/revoke", s.adminRevokeKey)

	s.pageRoutes()
	s.linkRoutes()
	s.widgetRoutes()
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
}

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.ready.Ping(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "redis": "unreachable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok", "redis": "ok"})
}

// httpMetrics are the request counters and latencies by route.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stablegate_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "stablegate_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// observe records metrics and one log line per request (never the body or
// the Authorization header).
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			s.handleError(err, c)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		elapsed := time.Since(start)
		s.metrics.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Inc()
		s.metrics.latency.WithLabelValues(route, c.Request().Method).Observe(elapsed.Seconds())
		if status >= 400 || s.log.Enabled(c.Request().Context(), slog.LevelDebug) {
			s.log.Info("request", "request_id", requestID(c), "method", c.Request().Method, "route", route,
				"status", status, "duration_ms", elapsed.Milliseconds())
		}
		return nil
	}
}

func recoverPanics(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					log.Error("panic", "request_id", requestID(c), "panic", r)
					err = sg.Errorf(sg.EINTERNAL, "", "", "panic: %v", r)
				}
			}()
			return next(c)
		}
	}
}
