// Package svmtest starts a local Solana JSON-RPC server for tests that need
// the Solana RPC network path. No validator can run here, so the server
// (rpc.mjs beside this file) runs LiteSVM, npm package litesvm, which executes
// the real System, SPL Token, Token-2022, Associated Token Account, Memo and
// Address Lookup Table programs, and answers the Solana RPC methods a watcher
// and a wallet use, in the response shapes of the Solana RPC documentation,
// with slots, commitment levels and a transaction ledger of its own.
//
// There is no fallback: if node or the litesvm package cannot be found the
// test fails, since a network test that silently skips proves nothing.
//
// The helpers set up on-chain state only through real signed transactions
// sent to the server, so what a test observes is what a client of a real node
// would observe.
package svmtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gagliardetto/solana-go/rpc"
)

// Options configure the server's chain. Zero fields take the defaults.
type Options struct {
	// SlotInterval is how often a slot passes. Default 100ms.
	SlotInterval time.Duration
	// ConfirmDepth is how many slots after its own a transaction becomes
	// confirmed. Default 1.
	ConfirmDepth int
	// FinalizeDepth is how many slots after its own a transaction becomes
	// finalized. Default 8.
	FinalizeDepth int
}

// Node is a running server.
type Node struct {
	// URL is the HTTP JSON-RPC endpoint, on loopback.
	URL string
	// Client talks to URL.
	Client *rpc.Client
}

// startTimeout bounds how long the server may take to print its ready line.
const startTimeout = 20 * time.Second

// Root finds the repository root: the nearest directory above the working
// directory that holds go.mod.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("svmtest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Script returns the node binary and the server script's path, after
// checking that the litesvm package the script imports is installed at the
// repository root.
func Script(t testing.TB) (nodePath, script string) {
	t.Helper()
	root := Root(t)
	nodePath, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("svmtest: node (Node.js 20 or newer) is required and is not on PATH; install it (apt-get install nodejs npm)")
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "litesvm", "package.json")); err != nil {
		t.Fatal("svmtest: the npm package litesvm is required and was not found in node_modules at the repository root; run " +
			"`npm install --no-save --no-package-lock --no-audit --no-fund @foundry-rs/anvil@1.7.1 playwright-core@1.65.1 litesvm@1.5.0` " +
			"there (.ci/run does)")
	}
	script = filepath.Join(root, "chains", "solana", "svmtest", "rpc.mjs")
	if _, err := os.Stat(script); err != nil {
		t.Fatalf("svmtest: server script: %v", err)
	}
	return nodePath, script
}

// Start runs the server on a free loopback port and returns once it accepts
// requests. It is stopped when the test ends; its output goes to a file in
// the test's temp dir, which a failure to start includes.
func Start(t testing.TB, opts Options) *Node {
	t.Helper()
	nodePath, script := Script(t)
	if opts.SlotInterval <= 0 {
		opts.SlotInterval = 100 * time.Millisecond
	}
	if opts.ConfirmDepth <= 0 {
		opts.ConfirmDepth = 1
	}
	if opts.FinalizeDepth <= 0 {
		opts.FinalizeDepth = 8
	}
	if opts.FinalizeDepth < opts.ConfirmDepth {
		t.Fatalf("svmtest: FinalizeDepth %d is below ConfirmDepth %d", opts.FinalizeDepth, opts.ConfirmDepth)
	}
	// The port is free when picked but another process may take it before
	// the server binds it; a few attempts make that race harmless.
	var lastErr error
	for range 3 {
		n, err := launch(t, nodePath, script, opts)
		if err == nil {
			return n
		}
		lastErr = err
	}
	t.Fatalf("svmtest: %v", lastErr)
	return nil
}

func launch(t testing.TB, nodePath, script string, opts Options) (*Node, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.CreateTemp(t.TempDir(), "svm-rpc-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(nodePath, script,
		"--port", strconv.Itoa(port),
		"--slot-ms", strconv.FormatInt(max(1, opts.SlotInterval.Milliseconds()), 10),
		"--confirm-depth", strconv.Itoa(opts.ConfirmDepth),
		"--finalize-depth", strconv.Itoa(opts.FinalizeDepth))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var errOut lockedWriter
	errOut.w = logf
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	ready := make(chan error, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, err := r.ReadString('\n')
		if err != nil {
			ready <- fmt.Errorf("server exited before it was ready: %w", err)
			return
		}
		want := fmt.Sprintf("listening http://127.0.0.1:%d", port)
		if strings.TrimSpace(line) != want {
			ready <- fmt.Errorf("unexpected first line %q, want %q", line, want)
			return
		}
		ready <- nil
		_, _ = io.Copy(&errOut, r) // keep the pipe drained
	}()
	select {
	case err = <-ready:
	case <-time.After(startTimeout):
		err = fmt.Errorf("server did not print its ready line within %s", startTimeout)
	}
	if err != nil {
		stop()
		out, _ := os.ReadFile(logf.Name())
		_ = logf.Close()
		return nil, fmt.Errorf("%w\nserver output:\n%s", err, bytes.TrimSpace(out))
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	n := &Node{URL: url, Client: rpc.New(url)}
	t.Cleanup(func() {
		_ = n.Client.Close()
		stop()
		_ = logf.Close()
	})
	return n, nil
}

// lockedWriter lets the stdout copier and the stderr pipe share the log file.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("loopback listener has no TCP address")
	}
	return addr.Port, nil
}

// control calls one of the server's svmtest_ methods.
func (n *Node) control(t testing.TB, method string, out any, params ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if params == nil {
		params = []any{}
	}
	if err := n.Client.RPCCallForInto(ctx, out, method, params); err != nil {
		t.Fatalf("svmtest: %s: %v", method, err)
	}
}

// Throttle makes the next count requests that call method answer HTTP 429
// with Retry-After: 1, as public RPC providers do under load.
func (n *Node) Throttle(t testing.TB, method string, count int) {
	t.Helper()
	var ok bool
	n.control(t, "svmtest_throttle", &ok, method, count)
}

// Pause stops slots from advancing, so nothing new confirms or finalizes
// until Resume or Advance. It returns the current slot.
func (n *Node) Pause(t testing.TB) uint64 {
	t.Helper()
	var slot uint64
	n.control(t, "svmtest_pause", &slot)
	return slot
}

// Resume restarts slot advance and returns the current slot.
func (n *Node) Resume(t testing.TB) uint64 {
	t.Helper()
	var slot uint64
	n.control(t, "svmtest_resume", &slot)
	return slot
}

// Advance moves the chain forward by slots at once, paused or not, and
// returns the new current slot.
func (n *Node) Advance(t testing.TB, slots int) uint64 {
	t.Helper()
	var slot uint64
	n.control(t, "svmtest_advance", &slot, slots)
	return slot
}
