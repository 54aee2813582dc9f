package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/stablegate/stablegate/api"
	"github.com/stablegate/stablegate/catalog"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/chains/solana"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/merchant"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/webhooks"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// connectRedis opens the configured Redis and fails with a clear message
// when it does not answer.
func connectRedis(ctx context.Context, cfg Config) (redis.UniversalClient, error) {
	var rdb redis.UniversalClient
	if len(cfg.RedisAddrs) > 0 {
		opt := &redis.UniversalOptions{Addrs: cfg.RedisAddrs, MasterName: cfg.RedisMasterName}
		if cfg.RedisURL != "" {
			u, err := redis.ParseURL(cfg.RedisURL)
			if err != nil {
				return nil, fmt.Errorf("REDIS_URL: %w", err)
			}
			opt.Username, opt.Password, opt.DB, opt.TLSConfig = u.Username, u.Password, u.DB, u.TLSConfig
		}
		rdb = redis.NewUniversalClient(opt)
	} else {
		opt, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		opt.PoolSize = 256
		rdb = redis.NewClient(opt)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("cannot reach Redis at %s: %w (start Redis or set REDIS_URL)", redactURL(cfg.RedisURL, cfg.RedisAddrs), err)
	}
	return rdb, nil
}

// redactURL hides the password of a Redis URL in messages.
func redactURL(raw string, addrs []string) string {
	if raw == "" {
		return fmt.Sprint(addrs)
	}
	opt, err := redis.ParseURL(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return opt.Addr
}

// app is the wired gateway.
type app struct {
	cfg       Config
	log       *slog.Logger
	store     *store.Store
	registry  *chains.Registry
	merchants *merchant.Service
	checkouts *checkout.Service
	settler   *checkout.Settler
	endpoints *webhooks.Endpoints
	// dispatcher delivers webhooks; nil on an API-only replica.
	dispatcher *webhooks.Dispatcher
	api        *api.Server
	promReg    *prometheus.Registry
	// solanaPools are the RPC pools of the Solana chains by id, shared by
	// their watchers and the hosted page's blockhash source.
	solanaPools   map[string]*solana.Pool
	solanaMetrics *solana.Metrics
}

func newApp(ctx context.Context, cfg Config, rdb redis.UniversalClient, reg *chains.Registry, log *slog.Logger) (*app, error) {
	st := store.New(rdb, cfg.RedisPrefix)
	if err := st.LoadScripts(ctx); err != nil {
		return nil, err
	}
	promReg := prometheus.NewRegistry()
	promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &app{cfg: cfg, log: log, store: st, registry: reg, promReg: promReg}
	a.merchants = merchant.New(st, reg, nil)
	a.checkouts = checkout.New(st, reg, nil, log)
	a.settler = checkout.NewSettler(st, reg, nil, log)
	payments := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stablegate_payments_total",
		Help: "Payments seen by chain and outcome: matched, unmatched, confirmed, reverted.",
	}, []string{"chain", "outcome"})
	promReg.MustRegister(payments)
	a.settler.Observe = func(chain, outcome string) { payments.WithLabelValues(chain, outcome).Inc() }
	if err := a.wireWebhooks(cfg.Webhooks); err != nil {
		return nil, err
	}
	apiCfg := api.DefaultConfig()
	apiCfg.OperatorToken = cfg.OperatorToken
	apiCfg.RateLimit = cfg.RateLimit
	apiCfg.Version = version
	apiCfg.PublicURL = cfg.PublicURL
	for _, p := range cfg.TrustedProxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("trusted_proxies: %w", err)
		}
		apiCfg.TrustedProxies = append(apiCfg.TrustedProxies, pfx.Masked())
	}
	// One RPC pool per Solana chain serves its watcher and "pay with
	// wallet", which builds each payment on a recent blockhash.
	var err error
	if a.solanaMetrics, err = solana.NewMetrics(promReg); err != nil {
		return nil, err
	}
	if a.solanaPools, err = solana.NewPools(reg, a.solanaMetrics, nil, log); err != nil {
		return nil, err
	}
	blockhashes := solana.NewBlockhashes(a.solanaPools, solana.BlockhashConfig{}, nil)
	pubCfg := checkout.DefaultPublicConfig()
	pubCfg.Blockhash = blockhashes.Latest
	a.api = api.New(apiCfg, api.Deps{
		Checkouts: a.checkouts, Merchants: a.merchants, Events: st, Idempotency: st, Ready: st,
		Payments: a.settler, Webhooks: a.endpoints,
		Pages:    checkout.NewPublic(st, a.checkouts, pubCfg),
		Catalog:  catalog.New(st, a.checkouts, reg, nil, catalog.DefaultConfig(), log),
		Registry: promReg, Log: log,
	})
	return a, nil
}

// wireWebhooks builds the endpoint service and, unless cfg has no workers,
// the dispatcher with its metrics.
func (a *app) wireWebhooks(cfg WebhooksConfig) error {
	guard, err := webhooks.NewGuard(cfg.Allow...)
	if err != nil {
		return err
	}
	ecfg := webhooks.DefaultEndpointsConfig()
	ecfg.MaxPerMode, ecfg.RotationOverlap = cfg.MaxEndpoints, cfg.RotationOverlap
	if err := ecfg.Validate(); err != nil {
		return err
	}
	a.endpoints = webhooks.NewEndpoints(a.store, guard, nil, ecfg)
	if cfg.Workers == 0 {
		return nil
	}
	dcfg := webhooks.DefaultDispatcherConfig()
	dcfg.Workers, dcfg.PerEndpoint, dcfg.Timeout, dcfg.Lease = cfg.Workers, cfg.PerEndpoint, cfg.Timeout, cfg.Timeout+5*time.Second
	dcfg.Version = version
	if err := dcfg.Validate(); err != nil {
		return err
	}
	a.dispatcher = webhooks.NewDispatcher(a.store, guard, dcfg, nil, a.log)
	attempts := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "stablegate_webhook_attempts_seconds",
		Help:    "Webhook delivery attempts by outcome (succeeded, retrying, failed) and their latency.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15},
	}, []string{"outcome"})
	a.promReg.MustRegister(attempts)
	a.dispatcher.Observe = func(outcome string, latency time.Duration) {
		attempts.WithLabelValues(outcome).Observe(latency.Seconds())
	}
	return nil
}

// serve runs the HTTP server and the background loops until ctx ends, then
// shuts down gracefully.
func (a *app) serve(ctx context.Context, ln net.Listener) error {
	return a.serveHandler(ctx, ln, a.api.Handler())
}

// serveHandler is serve with another root handler (dev mode adds routes).
func (a *app) serveHandler(ctx context.Context, ln net.Listener, h http.Handler) error {
	// Requests see this context end when shutdown begins, so long-lived
	// ones (the payment pages' event streams) end at once instead of
	// holding the shutdown up.
	base, stopRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRequests()
	srv := &http.Server{
		BaseContext:       func(net.Listener) context.Context { return base },
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	go a.checkouts.RunSweeper(ctx, a.cfg.SweepInterval)
	dispatched := make(chan struct{})
	dctx, stopDispatch := context.WithCancel(ctx)
	if a.dispatcher != nil {
		go func() { a.dispatcher.Run(dctx); close(dispatched) }()
	} else {
		close(dispatched)
	}
	// Attempts under way are recorded before the process ends.
	defer func() {
		stopDispatch()
		<-dispatched
	}()
	if a.cfg.Watch == nil || len(a.cfg.Watch) > 0 {
		if err := a.startWatchers(ctx); err != nil {
			return err
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.RegisterOnShutdown(stopRequests)
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// openApp loads the chain registry, connects to Redis and wires the app.
// The returned func closes the Redis connection.
func openApp(ctx context.Context, cfg Config, log *slog.Logger) (*app, func(), error) {
	reg, err := loadRegistry(cfg)
	if err != nil {
		return nil, nil, err
	}
	rdb, err := connectRedis(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	a, err := newApp(ctx, cfg, rdb, reg, log)
	if err != nil {
		_ = rdb.Close()
		return nil, nil, err
	}
	return a, func() { _ = rdb.Close() }, nil
}

// loadRegistry returns the built-in chains with the configured changes.
func loadRegistry(cfg Config) (*chains.Registry, error) {
	reg := chains.Builtin()
	if err := reg.Apply(cfg.Chains); err != nil {
		return nil, fmt.Errorf("chains config: %w", err)
	}
	return reg, nil
}
