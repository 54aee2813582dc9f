package solana

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gagliardetto/solana-go/rpc"
	"github.com/gagliardetto/solana-go/rpc/jsonrpc"
	"golang.org/x/time/rate"

	"github.com/stablegate/stablegate/chains"
)

// PoolConfig tunes a Pool. Zero fields take the documented defaults.
type PoolConfig struct {
	// Chain is the registry id, for logs and metrics.
	Chain string
	// Timeout bounds one RPC call. Default 10s.
	Timeout time.Duration
	// RequestsPerSecond caps the calls sent to each endpoint, with bursts
	// of twice that: public Solana RPCs throttle hard, and
	// getSignaturesForAddress first. Default 10.
	RequestsPerSecond int
	// MinBackoff and MaxBackoff bound how long a failing endpoint is set
	// aside, doubling with each failure in a row. A 429 with Retry-After
	// sets it aside for at least that long. Defaults 500ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// Metrics receives RPC errors by endpoint; nil records none.
	Metrics *Metrics
}

// Pool spreads a chain's RPC calls over its endpoints: the healthiest first,
// each under its own rate limit; an endpoint that fails, times out or
// answers 429 is set aside with backoff and the call moves to the next. It
// is safe for concurrent use.
type Pool struct {
	cfg       PoolConfig
	endpoints []*endpoint
	log       *slog.Logger
	now       func() time.Time
}

type endpoint struct {
	index   int
	host    string // for logs: never the URL, which may carry an API key
	secrets []string
	client  *rpc.Client
	limit   *rate.Limiter

	mu         sync.Mutex
	fails      int       // failures in a row
	asideUntil time.Time // not tried before this unless every endpoint is aside
	retryAfter time.Duration
}

// NewPool returns a pool over urls. clock defaults to time.Now.
func NewPool(urls []string, cfg PoolConfig, clock func() time.Time, log *slog.Logger) (*Pool, error) {
	if len(urls) == 0 {
		return nil, errors.New("solana pool: no RPC URL")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.RequestsPerSecond <= 0 {
		cfg.RequestsPerSecond = 10
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	p := &Pool{cfg: cfg, log: log.With("chain", cfg.Chain), now: clock}
	for i, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("solana pool: RPC URL %d is not an absolute URL", i)
		}
		e := &endpoint{
			index: i, host: u.Hostname(), secrets: urlForms(raw),
			limit: rate.NewLimiter(rate.Limit(cfg.RequestsPerSecond), 2*cfg.RequestsPerSecond),
		}
		hc := &http.Client{Timeout: cfg.Timeout, Transport: retryAfterTransport{e: e, next: http.DefaultTransport}}
		e.client = rpc.NewWithCustomRPCClient(jsonrpc.NewClientWithOpts(raw, &jsonrpc.RPCClientOpts{HTTPClient: hc}))
		p.endpoints = append(p.endpoints, e)
	}
	return p, nil
}

// NewPools returns one pool per Solana chain of reg, by chain id, each
// recording to metrics.
func NewPools(reg *chains.Registry, metrics *Metrics, clock func() time.Time, log *slog.Logger) (map[string]*Pool, error) {
	pools := map[string]*Pool{}
	for _, c := range reg.Chains() {
		if c.Kind != chains.KindSolana {
			continue
		}
		pool, err := NewPool(c.RPCURLs, PoolConfig{Chain: c.ID, Metrics: metrics}, clock, log)
		if err != nil {
			return nil, fmt.Errorf("rpc pool of %s: %w", c.ID, err)
		}
		pools[c.ID] = pool
	}
	return pools, nil
}

// urlForms are the spellings of an RPC URL an error message may carry.
func urlForms(raw string) []string {
	forms := []string{raw}
	if u, err := url.Parse(raw); err == nil {
		forms = append(forms, u.String(), u.Host+u.Path)
		if u.RawQuery != "" {
			forms = append(forms, u.RawQuery)
		}
	}
	return forms
}

// retryAfterTransport remembers the Retry-After of a 429 or 503 answer, so
// the pool waits as long as the provider asks.
type retryAfterTransport struct {
	e    *endpoint
	next http.RoundTripper
}

func (t retryAfterTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err == nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s > 0 {
			t.e.mu.Lock()
			t.e.retryAfter = time.Duration(min(s, 300)) * time.Second
			t.e.mu.Unlock()
		}
	}
	return resp, err
}

// CloseIdleConnections lets solana-go's client close the transport's idle
// connections.
func (t retryAfterTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// errorKind classifies a failed call for metrics and backoff.
type errorKind string

const (
	kindTimeout   errorKind = "timeout"
	kindTransport errorKind = "transport"
	kindLimit     errorKind = "limit"
	kindHTTP      errorKind = "http"
	kindRPC       errorKind = "rpc"
)

func classify(ctx context.Context, err error) errorKind {
	var he *jsonrpc.HTTPError
	var re *jsonrpc.RPCError
	var ne net.Error
	switch {
	// Public RPCs answer 429 with a JSON-RPC error of code 429 in the body
	// (or a body that is not JSON-RPC at all).
	case errors.As(err, &he) && he.Code == http.StatusTooManyRequests,
		errors.As(err, &re) && re.Code == http.StatusTooManyRequests:
		return kindLimit
	case errors.As(err, &he):
		return kindHTTP
	case errors.As(err, &re):
		return kindRPC
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil, errors.As(err, &ne) && ne.Timeout():
		return kindTimeout
	}
	return kindTransport
}

// Call runs fn against the endpoints in order of health until one succeeds,
// and returns the last error when none does. fn must be safe to repeat. A
// JSON-RPC error answer (the node understood and refused) is returned at
// once without trying elsewhere, as another node would refuse the same.
func (p *Pool) Call(ctx context.Context, method string, fn func(ctx context.Context, c *rpc.Client) error) error {
	var last error
	for _, e := range p.order() {
		if err := e.limit.Wait(ctx); err != nil {
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
		err := fn(cctx, e.client)
		cancel()
		if err == nil {
			e.succeeded()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		kind := classify(ctx, err)
		p.cfg.Metrics.rpcError(p.cfg.Chain, e.index, kind)
		last = &callError{msg: fmt.Sprintf("%s on endpoint %d (%s): %s", method, e.index, e.host, e.redact(err)), err: err}
		if kind == kindRPC {
			return last
		}
		aside := e.failed(p.now(), p.cfg.MinBackoff, p.cfg.MaxBackoff)
		p.log.Warn("solana rpc call failed; trying the next endpoint", "method", method, "endpoint", e.index, "host", e.host, "kind", string(kind), "aside", aside.String())
	}
	return last
}

// callError keeps the message with the URL redacted while letting
// errors.As reach solana-go's error below it (whose own message may carry
// the URL).
type callError struct {
	msg string
	err error
}

func (e *callError) Error() string { return e.msg }
func (e *callError) Unwrap() error { return e.err }

// order lists the endpoints not set aside in URL order, then the ones set
// aside, soonest back first, so a call still goes out when all are failing.
func (p *Pool) order() []*endpoint {
	now := p.now()
	var ready, aside []*endpoint
	for _, e := range p.endpoints {
		e.mu.Lock()
		until := e.asideUntil
		e.mu.Unlock()
		if now.Before(until) {
			aside = append(aside, e)
		} else {
			ready = append(ready, e)
		}
	}
	slices.SortStableFunc(aside, func(a, b *endpoint) int { return a.until().Compare(b.until()) })
	return append(ready, aside...)
}

func (e *endpoint) until() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.asideUntil
}

func (e *endpoint) succeeded() {
	e.mu.Lock()
	e.fails, e.asideUntil, e.retryAfter = 0, time.Time{}, 0
	e.mu.Unlock()
}

// failed sets the endpoint aside: MinBackoff doubled per failure in a row,
// capped at MaxBackoff, and never shorter than a Retry-After it was given.
func (e *endpoint) failed(now time.Time, minB, maxB time.Duration) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := minB << min(e.fails, 16)
	d = min(d, maxB)
	d = max(d, e.retryAfter)
	e.fails++
	e.retryAfter = 0
	e.asideUntil = now.Add(d)
	return d
}

func (e *endpoint) redact(err error) string {
	msg := err.Error()
	for _, s := range e.secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "endpoint")
		}
	}
	return msg
}
