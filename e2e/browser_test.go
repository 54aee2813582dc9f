package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sg "github.com/stablegate/stablegate"
)

// browserTools returns node, Chromium and playwright-core's entry point;
// the test fails loudly when one is missing (.ci/run installs them).
func browserTools(t *testing.T) (node, chromium, playwright string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required for the browser tests (apt-get install nodejs; .ci/run does)")
	}
	chromium, err = exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is required for the browser tests (apt-get install chromium; .ci/run does)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	playwright = filepath.Join(root, "node_modules", "playwright-core", "index.mjs")
	if _, err := os.Stat(playwright); err != nil {
		t.Fatalf("playwright-core is required for the browser tests (npm install --no-save playwright-core; .ci/run does): %v", err)
	}
	return node, chromium, playwright
}

// browserScript is a node script of e2e/browser driving Chromium, talking
// to the test in JSON lines: it reports on stdout, the test answers on
// stdin.
type browserScript struct {
	t      *testing.T
	stdin  io.WriteCloser
	out    *bufio.Scanner
	stderr *strings.Builder
}

// runBrowserScript starts e2e/browser/<name> with the browser tools and
// env in its environment, screenshots going to artifacts/<artifacts>. The
// test fails at its end if the script did not exit cleanly.
func runBrowserScript(t *testing.T, name, artifacts string, env ...string) *browserScript {
	t.Helper()
	node, chromium, playwright := browserTools(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// Not the test's context: that ends before the cleanup waits for the
	// script, which must first see its stdin close and finish.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "e2e", "browser", name))
	cmd.Env = append(os.Environ(), append([]string{
		"PLAYWRIGHT=" + playwright, "CHROMIUM=" + chromium, "ARTIFACTS=" + filepath.Join(root, "artifacts", artifacts),
	}, env...)...)
	b := &browserScript{t: t, stderr: &strings.Builder{}}
	cmd.Stderr = b.stderr
	if b.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b.out = bufio.NewScanner(stdout)
	t.Cleanup(func() {
		defer cancel()
		_ = b.stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("browser script %s: %v\n%s", name, err, b.stderr.String())
		}
	})
	return b
}

// read decodes the script's next report into v; what names the report
// in the failure message.
func (b *browserScript) read(what string, v any) {
	b.t.Helper()
	if !b.out.Scan() || json.Unmarshal(b.out.Bytes(), v) != nil {
		b.t.Fatalf("the browser script reported no %s: %q\n%s", what, b.out.Text(), b.stderr.String())
	}
}

// say sends the script one line.
func (b *browserScript) say(line string) {
	b.t.Helper()
	if _, err := io.WriteString(b.stdin, line+"\n"); err != nil {
		b.t.Fatal(err)
	}
}

// TestHostedPageInBrowser pays through the hosted page in a real browser:
// a customer opens a payment link, picks USDC on the test chain, and reads
// the amount and address from the page; the test sends exactly that as a
// signed ERC-20 transfer on anvil; the page shows paid with a receipt and
// returns the customer to the merchant's success URL. The script also
// checks the countdown, the language switch, the 375 px layout and the
// console, and saves screenshots under artifacts/browser.
func TestHostedPageInBrowser(t *testing.T) {
	t.Parallel()
	browserTools(t) // before anything starts: fail at once without them
	chain := startChain(t)
	gw := startGateway(t, chain, startResetter(t))
	api, wallet := gw.merchant("Browser Shop")

	thanks := startThanks(t)
	var link struct {
		URL string `json:"url"`
	}
	api.do(http.MethodPost, "/v1/payment-links", map[string]any{
		"price": "19.99", "description": "Browser test order", "success_url": thanks,
		"payment_methods": []map[string]string{{"chain": "anvil", "token": "USDC"}, {"chain": "anvil", "token": "USDT"}},
	}, &link)
	if !strings.Contains(link.URL, "/l/") {
		t.Fatalf("payment link URL %q", link.URL)
	}

	b := runBrowserScript(t, "pay.mjs", "browser", "LINK_URL="+link.URL, "SUCCESS_URL="+thanks)
	var picked struct{ Checkout, Amount, Address string }
	b.read("pick", &picked)

	// What the page shows is what the checkout reserved.
	var co sg.Checkout
	api.do(http.MethodGet, "/v1/checkouts/"+picked.Checkout, nil, &co)
	m, ok := co.Method(sg.PaymentMethod{Chain: "anvil", Token: "USDC"})
	if !ok || !m.IsReserved() || picked.Address != m.Address || picked.Address != wallet.Hex() || picked.Amount != sg.FormatUnits(m.Amount, m.Decimals) {
		t.Fatalf("the page showed %s to %s; the checkout reserved %+v", picked.Amount, picked.Address, m)
	}
	amount, err := sg.ParseUnits(picked.Amount, m.Decimals)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := chain.transfer(t.Context(), chain.usdc, wallet, amount)
	if err != nil {
		t.Fatalf("send the payment: %v", err)
	}
	b.say("sent")
	var done struct {
		Done bool
		Tx   string
	}
	b.read("end", &done)
	if !done.Done {
		t.Fatalf("the browser script did not finish: %+v", done)
	}
	if short := done.Tx; !strings.HasPrefix(tx.Hex(), strings.TrimRight(strings.SplitN(short, "…", 2)[0], ".")) {
		t.Errorf("receipt names %q, the payment was %s", short, tx.Hex())
	}
	api.do(http.MethodGet, "/v1/checkouts/"+picked.Checkout, nil, &co)
	if co.Status != sg.StatusPaid {
		t.Errorf("checkout %s is %s, want paid", co.ID, co.Status)
	}
}

// startThanks serves the merchant's thank-you page on loopback and returns
// its URL.
func startThanks(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>Thanks</title><h1 id="thanks">Thank you</h1>`)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/thanks"
}
