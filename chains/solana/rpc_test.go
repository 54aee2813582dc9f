package solana_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gagliardetto/solana-go/rpc"
	"github.com/gagliardetto/solana-go/rpc/jsonrpc"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	sol "github.com/stablegate/stablegate/chains/solana"
	"github.com/stablegate/stablegate/chains/solana/svmtest"
)

// closedURL returns the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr + "/secret-key-in-path"
}

func getSlot(ctx context.Context, p *sol.Pool) (uint64, error) {
	var slot uint64
	err := p.Call(ctx, "getSlot", func(ctx context.Context, c *rpc.Client) error {
		var err error
		slot, err = c.GetSlot(ctx, rpc.CommitmentConfirmed)
		return err
	})
	return slot, err
}

// TestPoolFailsOverAndHonoursRetryAfter: a refused endpoint is set aside
// and the call goes to the next; a 429 sets the endpoint aside for at
// least its Retry-After; error messages never carry the URL.
func TestPoolFailsOverAndHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	node := svmtest.Start(t, svmtest.Options{})
	reg := prometheus.NewRegistry()
	metrics, err := sol.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_900_000_000, 0)
	clock := func() time.Time { return now }
	dead := closedURL(t)
	pool, err := sol.NewPool([]string{dead, node.URL}, sol.PoolConfig{Chain: "sol-local", Metrics: metrics}, clock, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := getSlot(ctx, pool); err != nil {
		t.Fatalf("getSlot with a dead first endpoint: %v", err)
	}
	failures := testutil.ToFloat64(metrics.RPCErrors("sol-local", 0, "transport"))
	if failures != 1 {
		t.Fatalf("transport errors of endpoint 0 = %v, want 1", failures)
	}
	// Set aside: the next call goes straight to the live endpoint.
	if _, err := getSlot(ctx, pool); err != nil || testutil.ToFloat64(metrics.RPCErrors("sol-local", 0, "transport")) != 1 {
		t.Fatalf("second call: %v, endpoint 0 tried again", err)
	}

	// A throttled only endpoint: the 429 is an error, and the endpoint is
	// not asked again before its Retry-After (1 s) has passed.
	only, err := sol.NewPool([]string{node.URL}, sol.PoolConfig{Chain: "sol-local", Metrics: metrics, MinBackoff: time.Millisecond}, clock, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	node.Throttle(t, "getSlot", 1)
	_, err = getSlot(ctx, only)
	var he *jsonrpc.HTTPError
	var re *jsonrpc.RPCError
	limited := (errors.As(err, &he) && he.Code == 429) || (errors.As(err, &re) && re.Code == 429)
	if !limited || strings.Contains(err.Error(), node.URL) {
		t.Fatalf("throttled call: %v; want a 429 without the URL", err)
	}
	if got := testutil.ToFloat64(metrics.RPCErrors("sol-local", 0, "limit")); got != 1 {
		t.Fatalf("limit errors = %v, want 1", got)
	}
	if d := only.AsideFor(0); d < time.Second {
		t.Fatalf("set aside for %v after Retry-After: 1, want at least 1s", d)
	}
	if _, err := getSlot(ctx, pool); err != nil {
		t.Fatalf("call after the throttle ended: %v", err)
	}
	deadOnly, err := sol.NewPool([]string{dead}, sol.PoolConfig{Chain: "sol-local"}, clock, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	_, err = getSlot(ctx, deadOnly)
	if err == nil || strings.Contains(err.Error(), "secret-key-in-path") || strings.Contains(err.Error(), dead) {
		t.Fatalf("error %v must not carry the endpoint URL", err)
	}
}
