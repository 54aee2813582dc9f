package evm_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
)

// faultProxy is a real HTTP JSON-RPC reverse proxy in front of a node whose
// behaviour a test switches at run time: errors, a block range limit,
// hanging, lagging behind, or lying about block hashes. The watcher talks to
// it exactly as to a provider.
type faultProxy struct {
	t        *testing.T
	srv      *httptest.Server
	upstream string
	client   *http.Client

	mu        sync.Mutex
	limit     uint64 // refuse eth_getLogs over more blocks than this with -32005; 0: no limit
	status    int    // answer every request with this HTTP status; 0: forward
	reset     bool   // close every connection without an answer
	hang      bool   // never answer, until the client gives up
	lag       uint64 // report the head this many blocks lower
	forkHash  bool   // report other hashes for every block
	logHash   bool   // report other block hashes in logs only
	noTags    bool   // refuse the "safe" and "finalized" block tags, as old nodes do
	hideAbove uint64 // answer null for blocks above this height by number, as a node behind a load balancer's head; 0: none
	// logsBehind makes every request with an eth_getLogs call answered by
	// a node at this height, as a load balancer may send it to a lagging
	// backend: logs above it left out without an error, blocks above it
	// null. Other requests see the whole chain. 0: none.
	logsBehind uint64
	// noBatch answers every batch request as providers that take no
	// batches do: "one" with one error, "each" with an error per call.
	noBatch   string
	ranges    []logRange
	calls     map[string]int
	unblock   chan struct{}
	closeOnce sync.Once
}

// logRange is one eth_getLogs request the proxy saw.
type logRange struct {
	From, To uint64
	Refused  bool
}

func newFaultProxy(t *testing.T, upstream string) *faultProxy {
	t.Helper()
	p := &faultProxy{t: t, upstream: upstream, client: &http.Client{}, calls: make(map[string]int), unblock: make(chan struct{})}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(func() {
		p.closeOnce.Do(func() { close(p.unblock) })
		p.srv.CloseClientConnections()
		p.srv.Close()
	})
	return p
}

func (p *faultProxy) URL() string { return p.srv.URL }

func (p *faultProxy) set(f func(p *faultProxy)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

// logRanges returns the eth_getLogs ranges seen so far and forgets them.
func (p *faultProxy) logRanges() []logRange {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.ranges
	p.ranges = nil
	return r
}

func (p *faultProxy) callCount(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[method]
}

type rpcRequest struct {
	JSONRPC string            `json:"jsonrpc"`
	ID      json.RawMessage   `json:"id"`
	Method  string            `json:"method"`
	Params  []json.RawMessage `json:"params"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   json.RawMessage `json:"error,omitempty"`
}

func (p *faultProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	status, reset, hang := p.status, p.reset, p.hang
	p.mu.Unlock()
	switch {
	case reset:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case hang:
		select {
		case <-r.Context().Done():
		case <-p.unblock:
		}
		return
	case status != 0:
		http.Error(w, http.StatusText(status), status)
		return
	}
	var req rpcRequest
	var batch []rpcRequest
	single := json.Unmarshal(body, &req) == nil
	if single {
		batch = []rpcRequest{req}
	} else if json.Unmarshal(body, &batch) != nil {
		p.forwardRaw(w, body)
		return
	}
	// A batch: each call as if sent alone, answered together, as one node
	// behind a load balancer answers one request.
	p.mu.Lock()
	behind, noBatch := p.logsBehind, p.noBatch
	p.mu.Unlock()
	const refusal = `{"code":-32600,"message":"batch requests are not supported"}`
	switch {
	case single || noBatch == "":
	case noBatch == "one":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":null,"error":`+refusal+`}`)
		return
	default:
		resps := make([]*rpcResponse, len(batch))
		for i, req := range batch {
			resps[i] = &rpcResponse{JSONRPC: "2.0", ID: req.ID, Error: json.RawMessage(refusal)}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resps)
		return
	}
	if !slices.ContainsFunc(batch, func(r rpcRequest) bool { return r.Method == "eth_getLogs" }) {
		behind = 0
	}
	resps := make([]*rpcResponse, len(batch))
	for i, req := range batch {
		resp, err := p.handle(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if behind > 0 {
			answerAt(req, resp, behind)
		}
		resps[i] = resp
	}
	w.Header().Set("Content-Type", "application/json")
	if single {
		_ = json.NewEncoder(w).Encode(resps[0])
		return
	}
	_ = json.NewEncoder(w).Encode(resps)
}

// answerAt turns resp into the answer of a node at height: logs above it
// left out, blocks above it by number null.
func answerAt(req rpcRequest, resp *rpcResponse, height uint64) {
	switch req.Method {
	case "eth_getLogs":
		var logs []map[string]any
		if json.Unmarshal(resp.Result, &logs) != nil {
			return
		}
		kept := logs[:0]
		for _, l := range logs {
			var n hexutil.Uint64
			if s, ok := l["blockNumber"].(string); ok && n.UnmarshalText([]byte(s)) == nil && uint64(n) <= height {
				kept = append(kept, l)
			}
		}
		resp.Result, _ = json.Marshal(kept)
	case "eth_getBlockByNumber":
		if blockAbove(req, height) {
			resp.Result = json.RawMessage("null")
		}
	}
}

// blockAbove reports whether req asks for a block by a number above height.
func blockAbove(req rpcRequest, height uint64) bool {
	var n hexutil.Uint64
	return req.Method == "eth_getBlockByNumber" && len(req.Params) > 0 && json.Unmarshal(req.Params[0], &n) == nil && uint64(n) > height
}

func (p *faultProxy) handle(req rpcRequest) (*rpcResponse, error) {
	p.mu.Lock()
	p.calls[req.Method]++
	limit, lag, forkHash, logHash, noTags, hideAbove := p.limit, p.lag, p.forkHash, p.logHash, p.noTags, p.hideAbove
	p.mu.Unlock()
	if hideAbove > 0 && blockAbove(req, hideAbove) {
		return &rpcResponse{JSONRPC: "2.0", ID: req.ID, Result: json.RawMessage("null")}, nil
	}

	switch req.Method {
	case "eth_getLogs":
		var q struct{ FromBlock, ToBlock hexutil.Uint64 }
		if len(req.Params) == 1 && json.Unmarshal(req.Params[0], &q) == nil {
			refused := limit > 0 && uint64(q.ToBlock)-uint64(q.FromBlock)+1 > limit
			p.mu.Lock()
			p.ranges = append(p.ranges, logRange{From: uint64(q.FromBlock), To: uint64(q.ToBlock), Refused: refused})
			p.mu.Unlock()
			if refused {
				return &rpcResponse{JSONRPC: "2.0", ID: req.ID,
					Error: json.RawMessage(fmt.Sprintf(`{"code":-32005,"message":"limit exceeded: at most %d blocks"}`, limit))}, nil
			}
		}
	case "eth_getBlockByNumber", "eth_blockNumber":
		var tag string
		if noTags && len(req.Params) > 0 && json.Unmarshal(req.Params[0], &tag) == nil && (tag == "safe" || tag == "finalized") {
			return &rpcResponse{JSONRPC: "2.0", ID: req.ID,
				Error: json.RawMessage(`{"code":-32602,"message":"invalid argument 0: hex string without 0x prefix"}`)}, nil
		}
		if lag > 0 {
			if err := p.applyLag(&req, lag); err != nil {
				return nil, err
			}
		}
	}
	resp, err := p.forward(req)
	if err != nil || resp.Result == nil {
		return resp, err
	}
	switch {
	case req.Method == "eth_blockNumber" && lag > 0:
		var n hexutil.Uint64
		if err := json.Unmarshal(resp.Result, &n); err == nil && uint64(n) >= lag {
			resp.Result, _ = json.Marshal(hexutil.Uint64(uint64(n) - lag))
		}
	case req.Method == "eth_getBlockByNumber" && forkHash:
		resp.Result = rewriteHashes(resp.Result, "hash", "parentHash")
	case req.Method == "eth_getLogs" && logHash:
		var logs []map[string]any
		if err := json.Unmarshal(resp.Result, &logs); err == nil {
			for _, l := range logs {
				l["blockHash"] = otherHash(l["blockHash"])
			}
			resp.Result, _ = json.Marshal(logs)
		}
	}
	return resp, nil
}

// applyLag turns "latest" into the upstream head minus lag, so the proxy
// looks like a node that is lag blocks behind.
func (p *faultProxy) applyLag(req *rpcRequest, lag uint64) error {
	if req.Method != "eth_getBlockByNumber" || len(req.Params) == 0 {
		return nil
	}
	var tag string
	if json.Unmarshal(req.Params[0], &tag) != nil || tag != "latest" {
		return nil
	}
	resp, err := p.forward(rpcRequest{JSONRPC: "2.0", ID: json.RawMessage("1"), Method: "eth_blockNumber"})
	if err != nil {
		return err
	}
	var n hexutil.Uint64
	if err := json.Unmarshal(resp.Result, &n); err != nil {
		return err
	}
	req.Params[0], _ = json.Marshal(hexutil.Uint64(uint64(n) - min(uint64(n), lag)))
	return nil
}

func rewriteHashes(result json.RawMessage, fields ...string) json.RawMessage {
	var m map[string]any
	if json.Unmarshal(result, &m) != nil || m == nil {
		return result
	}
	for _, f := range fields {
		m[f] = otherHash(m[f])
	}
	out, _ := json.Marshal(m)
	return out
}

// otherHash maps a hash to another, stable one.
func otherHash(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	return crypto.Keccak256Hash([]byte("forked"), []byte(strings.ToLower(s))).Hex()
}

func (p *faultProxy) forward(req rpcRequest) (*rpcResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	res, err := p.client.Post(p.upstream, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("upstream status %s", strconv.Itoa(res.StatusCode))
	}
	var resp rpcResponse
	if err := json.NewDecoder(res.Body).Decode(&resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

func (p *faultProxy) forwardRaw(w http.ResponseWriter, body []byte) {
	res, err := p.client.Post(p.upstream, "application/json", bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
}
