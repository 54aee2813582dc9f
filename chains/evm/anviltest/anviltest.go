// Package anviltest starts a real anvil node (npm @foundry-rs/anvil) for
// tests that need the EVM JSON-RPC network path. There is no fallback: if
// anvil cannot be found the test fails, since a network test that silently
// skips proves nothing.
package anviltest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"
)

// ChainID is the chain id anvil is started with.
const ChainID = 31337

// Path finds the anvil binary: $STABLEGATE_ANVIL, then anvil on PATH, then
// node_modules/.bin/anvil at the repository root, where .ci/run installs it.
func Path(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("STABLEGATE_ANVIL"); p != "" {
		return p
	}
	if p, err := exec.LookPath("anvil"); err == nil {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "node_modules", ".bin", "anvil")
			if _, err := os.Stat(p); err == nil {
				return p
			}
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	t.Fatal("anvil is required and was not found: set STABLEGATE_ANVIL, put anvil on PATH, " +
		"or run `npm install --no-save @foundry-rs/anvil` at the repository root (.ci/run does)")
	return ""
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs anvil on a free loopback port with chain id ChainID and the
// extra arguments (such as "--block-time", "1"), writes its output to a file
// in the test's temp dir, and returns its HTTP and WebSocket URLs once it
// answers. It is stopped when the test ends.
//
// The npm package's anvil is a node script that spawns the real binary, so
// anvil runs in a process group of its own and the whole group is killed:
// killing the script alone would leave the node running.
func Start(t testing.TB, extra ...string) (httpURL, wsURL string) {
	t.Helper()
	port := strconv.Itoa(FreePort(t))
	logf, err := os.Create(filepath.Join(t.TempDir(), "anvil.log"))
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--host", "127.0.0.1", "--port", port, "--chain-id", strconv.Itoa(ChainID), "--silent"}, extra...)
	cmd := exec.Command(Path(t), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start anvil: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		_ = logf.Close()
	})
	httpURL, wsURL = "http://127.0.0.1:"+port, "ws://127.0.0.1:"+port
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := ethclient.DialContext(ctx, httpURL)
		if err == nil {
			_, err = c.ChainID(ctx)
			c.Close()
		}
		cancel()
		if err == nil {
			return httpURL, wsURL
		}
		if time.Now().After(deadline) {
			t.Fatalf("anvil did not answer at %s within 20s: %v", httpURL, err)
		}
		time.Sleep(50 * time.Millisecond) // a poll interval inside a deadline loop
	}
}
