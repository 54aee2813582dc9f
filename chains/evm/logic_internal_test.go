package evm

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rpc"
)

func TestRangeSizer(t *testing.T) {
	t.Parallel()
	type step struct {
		op   string // "ok" or "refuse": the outcome of a range of n blocks
		n    uint64
		want uint64 // size afterwards
		more bool   // for "refuse": whether shrink could go on
	}
	tests := []struct {
		name                   string
		initial, min, max      uint64
		growAfter              int
		steps                  []step
		firstSpanFrom, firstTo uint64
		wantFirstSpanTo        uint64
	}{
		{
			name: "shrinks by halves to the limit then grows back when calm", initial: 64, min: 1, max: 128, growAfter: 2,
			steps: []step{
				{op: "refuse", n: 64, want: 32, more: true},
				{op: "refuse", n: 32, want: 16, more: true},
				{op: "ok", n: 16, want: 16},
				{op: "ok", n: 16, want: 32},
				{op: "ok", n: 32, want: 32},
				{op: "ok", n: 32, want: 64},
				{op: "ok", n: 64, want: 64},
				{op: "ok", n: 64, want: 128},
				{op: "ok", n: 128, want: 128},
				{op: "ok", n: 128, want: 128}, // capped at max
			},
			firstSpanFrom: 10, firstTo: 1000, wantFirstSpanTo: 137,
		},
		{
			name: "short ranges near the head do not count towards growing", initial: 8, min: 1, max: 64, growAfter: 2,
			steps: []step{
				{op: "ok", n: 3, want: 8},
				{op: "ok", n: 1, want: 8},
				{op: "ok", n: 8, want: 8},
				{op: "ok", n: 8, want: 16},
			},
			firstSpanFrom: 5, firstTo: 7, wantFirstSpanTo: 7,
		},
		{
			name: "a refusal resets the calm streak", initial: 8, min: 1, max: 64, growAfter: 2,
			steps: []step{
				{op: "ok", n: 8, want: 8},
				{op: "refuse", n: 8, want: 4, more: true},
				{op: "ok", n: 4, want: 4},
				{op: "ok", n: 4, want: 8},
			},
			firstSpanFrom: 1, firstTo: 100, wantFirstSpanTo: 8,
		},
		{
			name: "a refused short tail halves the tail, not the size", initial: 100, min: 1, max: 100, growAfter: 5,
			steps: []step{
				{op: "refuse", n: 10, want: 5, more: true},
			},
			firstSpanFrom: 1, firstTo: 3, wantFirstSpanTo: 3,
		},
		{
			name: "stops at the minimum", initial: 4, min: 2, max: 8, growAfter: 1,
			steps: []step{
				{op: "refuse", n: 4, want: 2, more: true},
				{op: "refuse", n: 2, want: 2, more: false},
			},
			firstSpanFrom: 1, firstTo: 100, wantFirstSpanTo: 2,
		},
		{
			name: "initial outside the bounds is clamped", initial: 5000, min: 1, max: 2000, growAfter: 3,
			steps:         []step{{op: "ok", n: 2000, want: 2000}},
			firstSpanFrom: 0, firstTo: 10_000, wantFirstSpanTo: 1999,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRangeSizer(tt.initial, tt.min, tt.max, tt.growAfter)
			for i, s := range tt.steps {
				switch s.op {
				case "ok":
					r.ok(s.n)
				case "refuse":
					if more := r.shrink(s.n); more != s.more {
						t.Fatalf("step %d: shrink(%d) = %v, want %v", i, s.n, more, s.more)
					}
				}
				if r.size != s.want {
					t.Fatalf("step %d (%s %d): size %d, want %d", i, s.op, s.n, r.size, s.want)
				}
			}
			if got := r.span(tt.firstSpanFrom, tt.firstTo); got != tt.wantFirstSpanTo {
				t.Fatalf("span(%d, %d) = %d, want %d", tt.firstSpanFrom, tt.firstTo, got, tt.wantFirstSpanTo)
			}
		})
	}
}

func TestRank(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	later := func(s int) time.Time { return now.Add(time.Duration(s) * time.Second) }
	tests := []struct {
		name string
		hs   []health
		want []int
	}{
		{"all healthy: configured order", []health{{}, {}, {}}, []int{0, 1, 2}},
		{"a failing endpoint goes last", []health{{failures: 1, demotedUntil: later(5)}, {}, {}}, []int{1, 2, 0}},
		{"demotion over: back in order, failures remembered", []health{{failures: 3, demotedUntil: later(-1)}, {}}, []int{0, 1}},
		{"failing ones by end of demotion", []health{{failures: 4, demotedUntil: later(40)}, {failures: 1, demotedUntil: later(5)}, {failures: 2, demotedUntil: later(10)}}, []int{1, 2, 0}},
		{"lagging after healthy, before failing", []health{{lagging: true}, {failures: 1, demotedUntil: later(5)}, {}}, []int{2, 0, 1}},
		{"forked is the last resort", []health{{forked: true}, {failures: 1, demotedUntil: later(5)}, {lagging: true}}, []int{2, 1, 0}},
		{"another chain is never used", []health{{wrongChain: true}, {}}, []int{1}},
		{"nothing usable", []health{{wrongChain: true}}, []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rank(tt.hs, now); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("rank = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDemotion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{1, 5 * time.Second},
		{2, 10 * time.Second},
		{3, 20 * time.Second},
		{6, 160 * time.Second},
		{7, 5 * time.Minute}, // 320s, capped
		{1000, 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.failures), func(t *testing.T) {
			if got := demotion(tt.failures, 5*time.Second, 5*time.Minute); got != tt.want {
				t.Fatalf("demotion(%d) = %s, want %s", tt.failures, got, tt.want)
			}
		})
	}
}

func TestForkPoint(t *testing.T) {
	t.Parallel()
	h := func(b byte) common.Hash { return common.Hash{b} }
	// Kept history: blocks 10, 15, 20, 21, 22, 30 on the old branch.
	recent := []BlockRef{{10, h(1)}, {15, h(2)}, {20, h(3)}, {21, h(4)}, {22, h(5)}, {30, h(6)}}
	tests := []struct {
		name     string
		forkedAt uint64 // first height whose canonical hash changed; 0 = none
		want     int
	}{
		{"no reorg", 0, 5},
		{"only the head changed", 30, 4},
		{"fork between kept blocks", 25, 4},
		{"fork at a kept block", 21, 2},
		{"fork right above the first", 11, 0},
		{"deeper than the history", 3, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			canonical := func(_ context.Context, n uint64) (common.Hash, error) {
				calls++
				for _, r := range recent {
					if r.Number == n && (tt.forkedAt == 0 || n < tt.forkedAt) {
						return r.Hash, nil
					}
				}
				return h(0xee), nil
			}
			got, err := forkPoint(t.Context(), recent, canonical)
			if err != nil || got != tt.want {
				t.Fatalf("forkPoint = %d, %v; want %d", got, err, tt.want)
			}
			if calls > 3 { // ceil(log2(6+1))
				t.Fatalf("%d look-ups, want at most 3", calls)
			}
		})
	}
	t.Run("error", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := forkPoint(t.Context(), recent, func(context.Context, uint64) (common.Hash, error) { return common.Hash{}, boom })
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
	})
}

// jsonError is a JSON-RPC error object as the rpc package decodes it.
type jsonError struct {
	code int
	msg  string
}

func (e jsonError) Error() string  { return e.msg }
func (e jsonError) ErrorCode() int { return e.code }

var _ rpc.Error = jsonError{}

func TestIsRangeError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"EIP-1474 limit exceeded", jsonError{-32005, "limit exceeded"}, true},
		{"Infura result cap", jsonError{-32005, "query returned more than 10000 results"}, true},
		{"Alchemy", jsonError{-32602, "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range"}, true},
		{"geth-style", jsonError{-32000, "block range too large"}, true},
		{"BSC", jsonError{-32000, "exceed maximum block range: 5000"}, true},
		{"Polygon", jsonError{-32000, "block range is too wide"}, true},
		{"QuickNode", jsonError{-32614, "eth_getLogs is limited to a 10,000 range"}, true},
		{"wrapped", fmt.Errorf("scan: %w", jsonError{-32005, "x"}), true},
		{"other JSON-RPC error", jsonError{-32000, "header not found"}, false},
		{"transport", errors.New("connection refused"), false},
		{"timeout", context.DeadlineExceeded, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isRangeError(tt.err); got != tt.want {
				t.Fatalf("isRangeError(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	live := context.Background()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		parent context.Context
		err    error
		want   errorKind
	}{
		{"per-call timeout", live, fmt.Errorf("x: %w", context.DeadlineExceeded), kindTimeout},
		{"parent gone is not the endpoint's timeout", canceled, context.DeadlineExceeded, kindTransport},
		{"range refusal", live, &rangeError{1, 2, jsonError{-32005, "limit exceeded"}}, kindLimit},
		{"missing block", live, fmt.Errorf("block 5: %w", errNotFound), kindNotFound},
		{"JSON-RPC error", live, jsonError{-32000, "boom"}, kindRPC},
		{"HTTP status", live, rpc.HTTPError{StatusCode: 503, Status: "503 Service Unavailable"}, kindTransport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.parent, tt.err); got != tt.want {
				t.Fatalf("classify = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestSanitize checks that an endpoint's URL, which may carry an API key,
// never survives in an error message.
func TestSanitize(t *testing.T) {
	t.Parallel()
	raw := "https://user:pw@eth.example.com/v3/SECRETKEY123?apikey=SECRET2"
	ep := &endpoint{index: 2, host: hostOf(raw), secrets: urlForms(raw)}
	if ep.host != "eth.example.com" {
		t.Fatalf("host %q", ep.host)
	}
	u, _ := url.Parse(raw)
	inner := &url.Error{Op: "Post", URL: u.Redacted(), Err: errors.New("dial tcp: connection refused")}
	for _, err := range []error{
		inner,
		fmt.Errorf("call to %s failed", raw),
		fmt.Errorf("path /v3/SECRETKEY123 not found"),
		fmt.Errorf("bad query apikey=SECRET2"),
	} {
		got := ep.sanitize(err)
		msg := got.Error()
		for _, secret := range []string{"SECRETKEY123", "SECRET2", "pw@"} {
			if strings.Contains(msg, secret) {
				t.Errorf("sanitized %q still holds %q", msg, secret)
			}
		}
		if !strings.Contains(msg, "rpc endpoint 2 (eth.example.com)") {
			t.Errorf("sanitized %q does not name the endpoint", msg)
		}
		if !errors.Is(got, err) {
			t.Errorf("sanitized error does not wrap the original")
		}
	}
	if strings.Contains(inner.Error(), "SECRET") {
		t.Errorf("the url.Error in the chain still prints the URL: %q", inner.Error())
	}
}
