package evm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
)

// header is the part of a block the watcher needs, decoded from
// eth_getBlockByNumber. The hash is the node's, not recomputed from the
// fields as go-ethereum's types.Header.Hash does: chains such as Avalanche
// C-Chain have header fields go-ethereum does not know, and a recomputed
// hash would never match the hash in their logs.
type header struct {
	Number     hexutil.Uint64 `json:"number"`
	Hash       common.Hash    `json:"hash"`
	ParentHash common.Hash    `json:"parentHash"`
	Time       hexutil.Uint64 `json:"timestamp"`
}

func (h *header) ref() BlockRef { return BlockRef{Number: uint64(h.Number), Hash: h.Hash} }

// receipt is the part of a transaction receipt the Verifier needs.
type receipt struct {
	Status    *hexutil.Uint64 `json:"status"`
	BlockHash common.Hash     `json:"blockHash"`
	Logs      []types.Log     `json:"logs"`
}

// errNotFound is a null result: the endpoint does not have the block,
// receipt or tag asked for.
var errNotFound = ethereum.NotFound

// conn is one endpoint as seen by one attempt of Pool.do. Each call has the
// pool's per-call timeout and returns errors with the URL taken out.
type conn struct {
	p  *Pool
	ep *endpoint
}

func (c conn) call(ctx context.Context, result any, method string, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, c.p.cfg.CallTimeout)
	defer cancel()
	if err := c.ep.rpc.CallContext(ctx, result, method, args...); err != nil {
		return c.ep.sanitize(err)
	}
	return nil
}

// batch sends calls in one request, like call; each call's own error is in
// its element, not sanitized.
func (c conn) batch(ctx context.Context, calls []rpc.BatchElem) error {
	ctx, cancel := context.WithTimeout(ctx, c.p.cfg.CallTimeout)
	defer cancel()
	if err := c.ep.rpc.BatchCallContext(ctx, calls); err != nil {
		return c.ep.sanitize(err)
	}
	return nil
}

// header returns the block at n: a height, or rpc.LatestBlockNumber,
// SafeBlockNumber or FinalizedBlockNumber.
func (c conn) header(ctx context.Context, n rpc.BlockNumber) (*header, error) {
	var h *header
	if err := c.call(ctx, &h, "eth_getBlockByNumber", n, false); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("block %s: %w", n, errNotFound)
	}
	if n >= 0 && uint64(h.Number) != uint64(n) {
		return nil, fmt.Errorf("asked for block %d, got %d", n, h.Number)
	}
	return h, nil
}

// headerAt returns the block at height n.
func (c conn) headerAt(ctx context.Context, n uint64) (*header, error) {
	return c.header(ctx, rpc.BlockNumber(n))
}

// logs returns the logs of q.
func (c conn) logs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	var out []types.Log
	if err := c.call(ctx, &out, "eth_getLogs", logsArg(q)); err != nil {
		return nil, err
	}
	return out, nil
}

func logsArg(q ethereum.FilterQuery) map[string]any {
	return map[string]any{
		"fromBlock": hexutil.EncodeBig(q.FromBlock),
		"toBlock":   hexutil.EncodeBig(q.ToBlock),
		"address":   q.Addresses,
		"topics":    q.Topics,
	}
}

// noBatchFor is how long an endpoint that refused a batch request is asked
// one call at a time before batches are tried again: a refusal may be a
// passing one (a quota answered as one error).
const noBatchFor = 10 * time.Minute

// batchRefused reports whether a batch request failed because the endpoint
// does not take batches: it answered with something other than a list of
// answers, left calls unanswered, refused the request as such, or refused
// every call as an invalid request or an unknown method.
func batchRefused(err error, batch []rpc.BatchElem) bool {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var status rpc.HTTPError
	switch {
	case errors.As(err, &syntax), errors.As(err, &typ):
		return true
	case errors.As(err, &status):
		return status.StatusCode == http.StatusBadRequest || status.StatusCode == http.StatusMethodNotAllowed ||
			status.StatusCode == http.StatusRequestEntityTooLarge || status.StatusCode == http.StatusNotImplemented
	case err != nil:
		return false
	}
	if slices.ContainsFunc(batch, func(b rpc.BatchElem) bool { return errors.Is(b.Error, rpc.ErrMissingBatchResponse) }) {
		return true
	}
	return !slices.ContainsFunc(batch, func(b rpc.BatchElem) bool {
		var re rpc.Error
		return !errors.As(b.Error, &re) || (re.ErrorCode() != -32600 && re.ErrorCode() != -32601)
	})
}

// logsThrough returns the logs of q, a range ending at block end, and asks
// for block end in the same request. Behind a load balancer whose backends
// are at different heights, the logs may come from a backend that does not
// have the range's last blocks yet, and some nodes then leave those blocks
// out without an error: the block in the same answer shows that the node
// that answered had them. Without it the error is errBehind; with another
// block at that height, errChainMoved. An endpoint that refuses batch
// requests is asked for the logs alone for noBatchFor.
func (c conn) logsThrough(ctx context.Context, q ethereum.FilterQuery, end *header) ([]types.Log, error) {
	if c.p.clock().UnixNano() < c.ep.noBatchUntil.Load() {
		return c.logs(ctx, q)
	}
	var out []types.Log
	var h *header
	batch := []rpc.BatchElem{
		{Method: "eth_getLogs", Args: []any{logsArg(q)}, Result: &out},
		{Method: "eth_getBlockByNumber", Args: []any{rpc.BlockNumber(end.Number), false}, Result: &h},
	}
	err := c.batch(ctx, batch)
	if batchRefused(err, batch) {
		c.p.log.Warn("rpc endpoint refused a batch request; logs are read without the check of the node's height for a while",
			"endpoint", c.ep.index, "host", c.ep.host, "for", noBatchFor.String())
		c.ep.noBatchUntil.Store(c.p.clock().Add(noBatchFor).UnixNano())
		c.p.count(c.ep, kindBatch)
		return c.logs(ctx, q)
	}
	if err != nil {
		return nil, err
	}
	// The block first: a node without it may also refuse the logs, as
	// beyond its head, which is no reason to shrink the range.
	switch logsErr, blockErr := batch[0].Error, batch[1].Error; {
	case blockErr != nil:
		return nil, c.ep.sanitize(blockErr)
	case h == nil:
		return nil, fmt.Errorf("logs up to block %d: the node that answered does not have it: %w: %w", end.Number, errNotFound, errBehind)
	case h.Hash != end.Hash:
		return nil, final(fmt.Errorf("logs up to block %d: the node that answered has block %s there, not %s: %w",
			end.Number, h.Hash, end.Hash, errChainMoved))
	case logsErr != nil:
		return nil, c.ep.sanitize(logsErr)
	}
	return out, nil
}

func (c conn) receipt(ctx context.Context, tx common.Hash) (*receipt, error) {
	var r *receipt
	if err := c.call(ctx, &r, "eth_getTransactionReceipt", tx); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("receipt of %s: %w", tx, errNotFound)
	}
	return r, nil
}

func (c conn) chainID(ctx context.Context) (uint64, error) {
	var id hexutil.Big
	if err := c.call(ctx, &id, "eth_chainId"); err != nil {
		return 0, err
	}
	v := (*big.Int)(&id)
	if !v.IsUint64() {
		return 0, fmt.Errorf("chain id %s out of range", v)
	}
	return v.Uint64(), nil
}

// ethCall runs a read-only call on the latest block.
func (c conn) ethCall(ctx context.Context, to common.Address, data []byte) ([]byte, error) {
	var out hexutil.Bytes
	msg := map[string]any{"to": to, "data": hexutil.Bytes(data)}
	if err := c.call(ctx, &out, "eth_call", msg, "latest"); err != nil {
		return nil, err
	}
	return out, nil
}

// endpointError is an error from one endpoint, with the endpoint's URL taken
// out of the message: RPC URLs often carry an API key in the path or query,
// and errors end up in logs.
type endpointError struct {
	index int
	host  string
	msg   string
	err   error
}

func (e *endpointError) Error() string {
	return fmt.Sprintf("rpc endpoint %d (%s): %s", e.index, e.host, e.msg)
}

func (e *endpointError) Unwrap() error { return e.err }

// sanitize wraps err as an endpointError. net/http puts the request URL in
// a *url.Error; it is replaced there too, so nothing down the chain prints it.
func (ep *endpoint) sanitize(err error) error {
	name := fmt.Sprintf("endpoint-%d", ep.index)
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = name
	}
	msg := err.Error()
	for _, s := range ep.secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, name)
		}
	}
	return &endpointError{index: ep.index, host: ep.host, msg: msg, err: err}
}

// urlForms returns the spellings of raw an error message may carry.
func urlForms(raw string) []string {
	forms := []string{raw}
	if u, err := url.Parse(raw); err == nil {
		forms = append(forms, u.String(), u.Redacted())
		if u.Path != "" && u.Path != "/" {
			forms = append(forms, u.Path)
		}
		if u.RawQuery != "" {
			forms = append(forms, u.RawQuery)
		}
	}
	// Longest first, so a full URL is replaced before its path is.
	for i := range forms {
		for j := i + 1; j < len(forms); j++ {
			if len(forms[j]) > len(forms[i]) {
				forms[i], forms[j] = forms[j], forms[i]
			}
		}
	}
	return forms
}

// hostOf returns the host of raw without user info, path or query: the only
// part of an RPC URL safe to log.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "invalid-url"
	}
	return u.Host
}

// errorKind names the kind of an RPC failure, for the errors metric.
type errorKind string

const (
	kindTimeout   errorKind = "timeout"   // the per-call timeout expired
	kindTransport errorKind = "transport" // connection refused or reset, HTTP status, bad response
	kindRPC       errorKind = "rpc"       // the node answered with a JSON-RPC error
	kindLimit     errorKind = "limit"     // the node refused a log range as too large
	kindNotFound  errorKind = "not_found" // a block or receipt the node should have is missing
	kindLagging   errorKind = "lagging"   // behind the best head (probe)
	kindForked    errorKind = "forked"    // a block hash other than the majority's (probe)
	kindChainID   errorKind = "chain_id"  // the endpoint serves another chain
	kindBatch     errorKind = "batch"     // the endpoint refused a batch request
)

// classify returns the kind of an error from an endpoint call made under
// parent: a timeout only when parent itself is still live.
func classify(parent context.Context, err error) errorKind {
	switch {
	case errors.Is(err, context.DeadlineExceeded) && parent.Err() == nil:
		return kindTimeout
	case errors.As(err, new(*rangeError)):
		return kindLimit
	case errors.Is(err, errNotFound):
		return kindNotFound
	}
	var re rpc.Error
	if errors.As(err, &re) {
		return kindRPC
	}
	return kindTransport
}

// rangeLimitPhrases are what providers say when an eth_getLogs range or
// result is too large: geth and Erigon, Infura and Alchemy (-32005, "query
// returned more than 10000 results"), QuickNode, BlastAPI, Ankr, publicnode
// and BSC nodes ("exceed maximum block range"), Polygon ("block range is too
// wide"), QuickNode ("is limited to a 10,000 range"), and nodes that cap the
// response size.
var rangeLimitPhrases = []string{
	"range too large",
	"range is too large",
	"block range",
	"blocks range",
	"range too wide",
	"range is too wide",
	"limit exceeded",
	"more than",
	"too many",
	"exceed",
	"response size",
	"response too large", // geth's -32003 for a batch answer over its size cap
	"result window",
	"query timeout",
	"is limited to",
}

// rangeError is an eth_getLogs range an endpoint refused as too large.
type rangeError struct {
	from, to uint64
	err      error
}

func (e *rangeError) Error() string {
	return fmt.Sprintf("logs of blocks %d to %d refused as too large: %v", e.from, e.to, e.err)
}

func (e *rangeError) Unwrap() error { return e.err }

// isRangeError reports whether err is a JSON-RPC error refusing an
// eth_getLogs range as too large, so the range should shrink.
func isRangeError(err error) bool {
	var re rpc.Error
	if !errors.As(err, &re) {
		return false
	}
	if re.ErrorCode() == -32005 { // "limit exceeded" in EIP-1474
		return true
	}
	msg := strings.ToLower(re.Error())
	for _, p := range rangeLimitPhrases {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
