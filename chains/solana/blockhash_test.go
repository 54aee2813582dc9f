package solana_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gagliardetto/solana-go/rpc"

	"github.com/stablegate/stablegate/chains"
	sol "github.com/stablegate/stablegate/chains/solana"
	"github.com/stablegate/stablegate/chains/solana/svmtest"
	"github.com/stablegate/stablegate/clocktest"
)

// blockhashProxy stands between Blockhashes and the node to count the
// getLatestBlockhash calls that reach it, hold them while gate is set, or
// answer 503 while down.
type blockhashProxy struct {
	*httptest.Server
	calls atomic.Int64
	seen  chan struct{} // gets a value when a call arrives, if it has room
	down  atomic.Bool
	mu    sync.Mutex
	gate  chan struct{} // a call waits for it to close; nil lets calls through
}

func newBlockhashProxy(t *testing.T, node string) *blockhashProxy {
	t.Helper()
	u, err := url.Parse(node)
	if err != nil {
		t.Fatal(err)
	}
	p := &blockhashProxy{seen: make(chan struct{}, 1)}
	fwd := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(`"getLatestBlockhash"`)) {
			p.calls.Add(1)
			select {
			case p.seen <- struct{}{}:
			default:
			}
			p.mu.Lock()
			gate := p.gate
			p.mu.Unlock()
			if gate != nil {
				<-gate
			}
		}
		if p.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		fwd.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// bhRegistry is a registry of one custom Solana chain, "sol-bh", reached
// at rpcURL, and one EVM chain.
func bhRegistry(t *testing.T, rpcURL string) *chains.Registry {
	t.Helper()
	reg, err := chains.NewRegistry(&chains.Chain{
		ID: "sol-bh", Name: "Solana blockhash test", Kind: chains.KindSolana, Testnet: true,
		RPCURLs: []string{rpcURL}, BlockTime: 100 * time.Millisecond,
		Confirmation: chains.ConfirmationPolicy{Mode: chains.ConfirmConfirmed},
		FeeClass:     chains.FeeLow, NativeSymbol: "SOL",
		Tokens: []chains.Token{{Symbol: "USDC", Contract: "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU", Decimals: 6, Program: chains.ProgramToken}},
	}, &chains.Chain{
		ID: "evm-bh", Name: "EVM", Kind: chains.KindEVM, ChainID: 31337, Testnet: true,
		RPCURLs: []string{"http://127.0.0.1:1"}, BlockTime: time.Second,
		Confirmation: chains.ConfirmationPolicy{Mode: chains.ConfirmBlocks, Blocks: 1},
		FeeClass:     chains.FeeLow, NativeSymbol: "ETH",
		Tokens: []chains.Token{{Symbol: "USDT", Contract: "0x5fbdb2315678afecb367f032d93f642f64180aa3", Decimals: 6}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// nodeBlockhash asks the node itself for its latest blockhash at the
// confirmed commitment.
func nodeBlockhash(t *testing.T, node *svmtest.Node) string {
	t.Helper()
	res, err := node.Client.GetLatestBlockhash(context.Background(), rpc.CommitmentConfirmed)
	if err != nil {
		t.Fatal(err)
	}
	return res.Value.Blockhash.String()
}

// TestBlockhashesCacheAndShare: a burst of callers costs one RPC call and
// gets the node's confirmed blockhash; the hash is handed out for the TTL
// while the node moves on, then fetched again.
func TestBlockhashesCacheAndShare(t *testing.T) {
	t.Parallel()
	node := svmtest.Start(t, svmtest.Options{})
	node.Pause(t)      // the node's blockhash changes only when the test says
	node.Advance(t, 2) // past the first slots, so a slot is confirmed
	proxy := newBlockhashProxy(t, node.URL)
	reg := bhRegistry(t, proxy.URL)
	clock := clocktest.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	pools, err := sol.NewPools(reg, nil, clock.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	bh := sol.NewBlockhashes(pools, sol.BlockhashConfig{}, clock.Now)
	ch, _ := reg.Chain("sol-bh")
	ctx := context.Background()
	first := nodeBlockhash(t, node)

	// Held at the node until every caller waits on the one call.
	gate := make(chan struct{})
	proxy.mu.Lock()
	proxy.gate = gate
	proxy.mu.Unlock()
	const burst = 20
	got := make(chan string, burst)
	for range burst {
		go func() {
			h, err := bh.Latest(ctx, ch)
			if err != nil {
				t.Error(err)
			}
			got <- h
		}()
	}
	select {
	case <-proxy.seen:
	case <-time.After(10 * time.Second):
		t.Fatal("no getLatestBlockhash call reached the node")
	}
	// A caller that gives up does not take the others' answer with it.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := bh.Latest(cctx, ch); !errors.Is(err, context.Canceled) {
		t.Fatalf("Latest with a canceled context: %v", err)
	}
	proxy.mu.Lock()
	proxy.gate = nil
	proxy.mu.Unlock()
	close(gate)
	for range burst {
		if h := <-got; h != first {
			t.Fatalf("Latest = %s, want the node's %s", h, first)
		}
	}
	if n := proxy.calls.Load(); n != 1 {
		t.Fatalf("%d getLatestBlockhash calls for a burst of %d, want 1", n, burst)
	}

	// The node moves on; the cached hash is still handed out for 10 s.
	node.Advance(t, 3)
	next := nodeBlockhash(t, node)
	if next == first {
		t.Fatal("the node's blockhash did not change over three slots")
	}
	clock.Advance(10*time.Second - time.Millisecond)
	if h, err := bh.Latest(ctx, ch); err != nil || h != first || proxy.calls.Load() != 1 {
		t.Fatalf("within the TTL: %s, %v after %d calls; want the cached %s", h, err, proxy.calls.Load(), first)
	}
	clock.Advance(time.Millisecond)
	if h, err := bh.Latest(ctx, ch); err != nil || h != next || proxy.calls.Load() != 2 {
		t.Fatalf("past the TTL: %s, %v after %d calls; want the node's new %s", h, err, proxy.calls.Load(), next)
	}

	// A failure is returned and not kept: the next caller asks again.
	clock.Advance(time.Minute)
	proxy.down.Store(true)
	if h, err := bh.Latest(ctx, ch); err == nil {
		t.Fatalf("Latest with the node down = %s, want an error", h)
	}
	proxy.down.Store(false)
	calls := proxy.calls.Load()
	if h, err := bh.Latest(ctx, ch); err != nil || h != next || proxy.calls.Load() != calls+1 {
		t.Fatalf("after the node is back: %s, %v after %d calls; want %s from one more call", h, err, proxy.calls.Load(), next)
	}

	// Only the registry's Solana chains have blockhashes.
	evm, _ := reg.Chain("evm-bh")
	for _, c := range []*chains.Chain{evm, {ID: "sol-other", Kind: chains.KindSolana}} {
		if h, err := bh.Latest(ctx, c); err == nil {
			t.Errorf("Latest(%s) = %s, want an error", c.ID, h)
		}
	}
}
