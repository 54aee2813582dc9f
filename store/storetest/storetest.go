// Package storetest gives tests a store on the real Redis server, each test
// under its own key prefix so tests run in parallel. There is no fallback:
// if Redis is unreachable the test fails loudly.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stablegate/stablegate/store"
)

// URL returns the Redis URL tests use: $STABLEGATE_TEST_REDIS_URL, else
// redis://127.0.0.1:6379/0.
func URL() string {
	if u := os.Getenv("STABLEGATE_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// Client returns a Redis client for the test server; the test fails at once
// when the server does not answer.
func Client(t testing.TB) redis.UniversalClient {
	t.Helper()
	opt, err := redis.ParseURL(URL())
	if err != nil {
		t.Fatalf("storetest: bad Redis URL %q: %v", URL(), err)
	}
	opt.PoolSize = 128
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("storetest: Redis at %s is required and unreachable (start redis-server, or run .ci/run): %v", URL(), err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// New returns a store under a fresh random prefix and deletes its keys when
// the test ends.
func New(t testing.TB) *store.Store {
	t.Helper()
	rdb := Client(t)
	prefix := Prefix()
	t.Cleanup(func() { Flush(rdb, prefix) })
	return store.New(rdb, prefix)
}

// Prefix returns a fresh random key prefix.
func Prefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "sgtest" + hex.EncodeToString(b)
}

// Flush deletes every key under prefix.
func Flush(rdb redis.UniversalClient, prefix string) {
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			rdb.Del(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		rdb.Del(ctx, batch...)
	}
}

// NewPrivate returns a store on a redis-server of the test's own, listening
// on a Unix socket in the test's temporary directory and stopped when the
// test ends: for tests that change the whole server (its script cache),
// which would race with the other packages' tests on the shared one. The
// test fails when redis-server is not installed or does not start.
func NewPrivate(t testing.TB) *store.Store {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("storetest: redis-server is required on PATH (run .ci/run): %v", err)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "redis.sock")
	cmd := exec.Command(bin, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		t.Fatalf("storetest: start redis-server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: sock})
	t.Cleanup(func() { _ = rdb.Close() })
	deadline := time.After(10 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("storetest: the test's redis-server exited: %v", err)
		case <-deadline:
			t.Fatal("storetest: the test's redis-server did not answer within 10s")
		case <-time.After(20 * time.Millisecond):
		}
	}
	return store.New(rdb, Prefix())
}
