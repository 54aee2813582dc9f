package e2e_test

import (
	"bufio"
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

// TestHostedPageInBrowser pays through the hosted page in a real browser:
// a customer opens a payment link, picks USDC on the test chain, and reads
// the amount and address from the page; the test sends exactly that as a
// signed ERC-20 transfer on anvil; the page shows paid with a receipt and
// returns the customer to the merchant's success URL. The script also
// checks the countdown, the language switch, the 375 px layout and the
// console, and saves screenshots under artifacts/browser.
func TestHostedPageInBrowser(t *testing.T) {
	t.Parallel()
	node, chromium, playwright := browserTools(t)
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

	root, _ := filepath.Abs("..")
	cmd := exec.CommandContext(t.Context(), node, filepath.Join(root, "e2e", "browser", "pay.mjs"))
	cmd.Env = append(os.Environ(),
		"PLAYWRIGHT="+playwright, "CHROMIUM="+chromium, "LINK_URL="+link.URL, "SUCCESS_URL="+thanks,
		"ARTIFACTS="+filepath.Join(root, "artifacts", "browser"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("browser script: %v\n%s", err, stderr.String())
		}
	}()
	out := bufio.NewScanner(stdout)
	var picked struct{ Checkout, Amount, Address string }
	if !out.Scan() || json.Unmarshal(out.Bytes(), &picked) != nil {
		t.Fatalf("the browser script reported no pick: %q\n%s", out.Text(), stderr.String())
	}

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
	if _, err := io.WriteString(stdin, "sent\n"); err != nil {
		t.Fatal(err)
	}
	var done struct {
		Done bool
		Tx   string
	}
	if !out.Scan() || json.Unmarshal(out.Bytes(), &done) != nil || !done.Done {
		t.Fatalf("the browser script did not finish: %q", out.Text())
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
