package e2e_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains/evm/anviltest"
	"github.com/stablegate/stablegate/store/storetest"
)

// gatewayConfig is the YAML config file of the tests' gateway: one custom
// testnet chain "anvil" whose first RPC URL resets every connection, and
// nothing else watched. The confirmation depth of two blocks means a
// transfer is paid once one more block is on top of its own. Webhooks may
// go to loopback, where the widget test's example shop listens.
const gatewayConfig = `# Written by the e2e tests.
listen: %q
redis_url: %q
watch: [anvil]
webhooks:
  allow: ["127.0.0.0/8"]
chains:
  chains:
    - id: anvil
      name: Anvil
      kind: evm
      chain_id: %d
      testnet: true
      rpc_urls: [%q, %q]
      ws_url: %q
      block_time: 1s
      confirmation: {mode: blocks, blocks: 2}
      tokens:
        - {symbol: USDT, contract: %q, decimals: 6}
        - {symbol: USDC, contract: %q, decimals: 6}
`

// probe is the HTTP client of readiness and metrics checks; a killed or
// hung process must not hold a test beyond its deadline.
var probe = &http.Client{Timeout: 5 * time.Second}

// gateway is the stablegate binary running as a separate process with one
// config file and one Redis prefix, which a test may kill and start again.
// Its methods must be called from the test's goroutine.
type gateway struct {
	t        testing.TB
	dir      string
	config   string
	env      []string
	baseURL  string
	operator string

	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	logs   []string      // one log file per start, in order
	kills  int
}

// startGateway writes the config for chain (with the resetting endpoint r
// first), starts `stablegate serve` on a free loopback port with its own
// Redis prefix and waits until it is ready. The process is killed when the
// test ends, and its logs are printed if the test failed.
func startGateway(t testing.TB, chain *testChain, r *resetter) *gateway {
	t.Helper()
	prefix := redisPrefix(t)
	listen := freeAddr(t)
	cfg := fmt.Sprintf(gatewayConfig, listen, storetest.URL(), anvilChainID,
		r.URL(), chain.rpcURL, chain.wsURL, chain.usdt.Hex(), chain.usdc.Hex())
	return launchGateway(t, prefix, listen, cfg)
}

// redisPrefix returns a fresh Redis key prefix for the gateways of one test,
// whose keys are deleted when the test ends.
func redisPrefix(t testing.TB) string {
	t.Helper()
	rdb := storetest.Client(t)
	prefix := storetest.Prefix()
	// Registered before any gateway, so it runs after they are killed.
	t.Cleanup(func() { storetest.Flush(rdb, prefix) })
	return prefix
}

// freeAddr returns a free loopback address to listen on.
func freeAddr(t testing.TB) string {
	return "127.0.0.1:" + strconv.Itoa(anviltest.FreePort(t))
}

// launchGateway starts `stablegate serve` with the YAML config cfg (which
// listens on listen) under a Redis prefix and waits until it is ready. The
// process is killed when the test ends, and its logs are printed if the
// test failed.
func launchGateway(t testing.TB, prefix, listen, cfg string) *gateway {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "stablegate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &gateway{t: t, dir: dir, config: path, baseURL: "http://" + listen, operator: "op_" + randomHex(t, 16)}
	// The inherited environment must not override the config file.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STABLEGATE_") && !strings.HasPrefix(kv, "REDIS_URL=") {
			g.env = append(g.env, kv)
		}
	}
	g.env = append(g.env,
		"STABLEGATE_OPERATOR_TOKEN="+g.operator,
		"STABLEGATE_REDIS_PREFIX="+prefix,
		"STABLEGATE_RATE_LIMIT=0", // the crash tests create checkouts in bursts
		"STABLEGATE_LOG_LEVEL=info",
	)
	t.Cleanup(func() {
		g.stop()
		g.checkLogs()
	})
	g.start()
	return g
}

// start starts the process and waits for /readyz.
func (g *gateway) start() {
	t := g.t
	t.Helper()
	if g.cmd != nil {
		t.Fatal("gateway already running")
	}
	logPath := filepath.Join(g.dir, fmt.Sprintf("gateway-%d.log", len(g.logs)+1))
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	g.logs = append(g.logs, logPath)
	cmd := exec.Command(gatewayBin, "serve", "-config", g.config)
	cmd.Env = g.env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		t.Fatalf("start stablegate: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		close(exited)
	}()
	g.cmd, g.exited = cmd, exited
	eventually(t, 30*time.Second, "the gateway's /readyz", func() bool {
		select {
		case <-exited:
			t.Fatalf("stablegate exited at start-up: %v", cmd.ProcessState)
		default:
		}
		resp, err := probe.Get(g.baseURL + "/readyz")
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// kill kills the process with SIGKILL, as a crash or the OOM killer would,
// and waits until it is gone.
func (g *gateway) kill() {
	g.t.Helper()
	if g.cmd == nil {
		g.t.Fatal("gateway not running")
	}
	select {
	case <-g.exited:
		g.t.Fatalf("stablegate exited by itself before the kill: %v", g.cmd.ProcessState)
	default:
	}
	if err := g.cmd.Process.Kill(); err != nil {
		g.t.Fatalf("kill stablegate: %v", err)
	}
	<-g.exited
	g.cmd = nil
	g.kills++
}

// stop kills the process if it runs; for cleanup.
func (g *gateway) stop() {
	if g.cmd == nil {
		return
	}
	_ = g.cmd.Process.Kill()
	<-g.exited
	g.cmd = nil
}

// checkLogs fails the test on a data race reported by a race-enabled
// gateway, and prints the logs when the test failed.
func (g *gateway) checkLogs() {
	for _, path := range g.logs {
		b, err := os.ReadFile(path)
		if err != nil {
			g.t.Errorf("read gateway log: %v", err)
			continue
		}
		if bytes.Contains(b, []byte("WARNING: DATA RACE")) {
			g.t.Errorf("the gateway reported a data race (%s)", filepath.Base(path))
		}
		if g.t.Failed() {
			const tail = 64 << 10
			cut := ""
			if len(b) > tail {
				b, cut = b[len(b)-tail:], " (last 64 KiB)"
			}
			g.t.Logf("%s%s:\n%s", filepath.Base(path), cut, b)
		}
	}
}

// holdsLease reports whether the running gateway holds the anvil chain's
// watcher lease, from its metrics.
func (g *gateway) holdsLease() bool {
	resp, err := probe.Get(g.baseURL + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return false
	}
	return bytes.Contains(b, []byte("\nstablegate_evm_leader{chain=\"anvil\"} 1\n"))
}

// rpcErrors returns the gateway's RPC error count of anvil's endpoint at
// index ep, summed over the kinds of error.
func (g *gateway) rpcErrors(ep int) int {
	g.t.Helper()
	return g.rpcErrorsOf("evm", "anvil", ep)
}

// rpcErrorsOf returns the RPC error count of a chain's endpoint at index ep
// from the watcher metrics of one kind ("evm" or "solana").
func (g *gateway) rpcErrorsOf(kind, chain string, ep int) int {
	g.t.Helper()
	resp, err := probe.Get(g.baseURL + "/metrics")
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		g.t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "stablegate_"+kind+"_rpc_errors_total{") ||
			!strings.Contains(line, `chain="`+chain+`"`) || !strings.Contains(line, `endpoint="`+strconv.Itoa(ep)+`"`) {
			continue
		}
		v, err := strconv.Atoi(line[strings.LastIndexByte(line, ' ')+1:])
		if err != nil {
			g.t.Fatalf("metric line %q: %v", line, err)
		}
		n += v
	}
	return n
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// client calls the gateway's REST API with one bearer token.
type client struct {
	t     testing.TB
	base  string
	token string
	http  *http.Client
}

func (g *gateway) client(token string) *client {
	return &client{t: g.t, base: g.baseURL, token: token, http: &http.Client{Timeout: 10 * time.Second}}
}

// call sends a request with a JSON body (unless nil) and returns the status
// and the response body. Transport errors fail the test.
func (c *client) call(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// do is call for a request that must succeed; it decodes the response into
// out unless out is nil.
func (c *client) do(method, path string, body, out any) {
	c.t.Helper()
	status, b := c.call(method, path, body)
	if status != http.StatusOK {
		c.t.Fatalf("%s %s: status %d: %s", method, path, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// list is a page of a list endpoint.
type list[T any] struct {
	Object  string `json:"object"`
	HasMore bool   `json:"has_more"`
	Data    []T    `json:"data"`
}

// all pages through a list endpoint (path has a query string) 100 at a
// time with starting_after, and returns every item.
func all[T any](c *client, path string, id func(T) string) []T {
	c.t.Helper()
	var out []T
	after := ""
	for page := 0; ; page++ {
		if page == 1000 {
			c.t.Fatalf("GET %s: more than 1000 pages", path)
		}
		p := path + "&limit=100"
		if after != "" {
			p += "&starting_after=" + after
		}
		var l list[T]
		c.do(http.MethodGet, p, nil, &l)
		if l.Object != "list" {
			c.t.Fatalf("GET %s: object %q, want list", p, l.Object)
		}
		out = append(out, l.Data...)
		if !l.HasMore {
			return out
		}
		if len(l.Data) == 0 {
			c.t.Fatalf("GET %s: has_more with an empty page", p)
		}
		after = id(l.Data[len(l.Data)-1])
	}
}

func checkoutID(c sg.Checkout) string { return c.ID }
func paymentID(p sg.Payment) string   { return p.ID }
func eventID(e sg.Event) string       { return e.ID }

// merchant creates a merchant through the admin API and returns a client
// with its test-mode secret key, and its receiving wallet on anvil.
func (g *gateway) merchant(name string) (*client, common.Address) {
	t := g.t
	t.Helper()
	var created struct {
		Merchant sg.Merchant `json:"merchant"`
		APIKey   struct {
			Secret   string `json:"secret"`
			Livemode bool   `json:"livemode"`
		} `json:"api_key"`
	}
	g.client(g.operator).do(http.MethodPost, "/admin/v1/merchants", map[string]any{"name": name}, &created)
	if created.Merchant.ID == "" || !strings.HasPrefix(created.APIKey.Secret, "sk_") || created.APIKey.Livemode {
		t.Fatalf("created merchant %+v with key %+v, want an id and a test-mode secret key", created.Merchant, created.APIKey)
	}
	c := g.client(created.APIKey.Secret)
	addr := newAddress(t)
	var w sg.Wallet
	c.do(http.MethodPost, "/v1/wallets", map[string]any{"chain": "anvil", "address": addr.Hex()}, &w)
	if w.Chain != "anvil" || w.Address != addr.Hex() || w.Livemode {
		t.Fatalf("created wallet %+v, want a test-mode anvil wallet at %s", w, addr.Hex())
	}
	return c, addr
}

// checkout creates a checkout of price paid in USDC on anvil and returns it
// with its reserved method.
func (c *client) checkout(price string) (*sg.Checkout, *sg.CheckoutMethod) {
	c.t.Helper()
	var co sg.Checkout
	c.do(http.MethodPost, "/v1/checkouts", map[string]any{
		"price":          price,
		"payment_method": map[string]string{"chain": "anvil", "token": "USDC"},
	}, &co)
	m, ok := co.Method(sg.PaymentMethod{Chain: "anvil", Token: "USDC"})
	if co.Status != sg.StatusOpen || !ok || !m.IsReserved() || m.Address == "" {
		c.t.Fatalf("created checkout %+v, want an open checkout with a reserved USDC amount on anvil", co)
	}
	return &co, m
}
