package svmtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// rpcReply is a JSON-RPC response read without a client library, so tests
// see exactly what the server wrote.
type rpcReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// post sends one JSON-RPC request body and returns the HTTP response and its
// body.
func post(t *testing.T, url string, body any) (*http.Response, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, out
}

func request(method string, params ...any) map[string]any {
	if params == nil {
		params = []any{}
	}
	return map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
}

// call makes a request and returns its reply, failing on a transport or
// HTTP error.
func call(t *testing.T, url, method string, params ...any) rpcReply {
	t.Helper()
	resp, body := post(t, url, request(method, params...))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %s", method, resp.StatusCode, body)
	}
	var r rpcReply
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("%s: %v: %s", method, err, body)
	}
	return r
}

// result makes a request that must succeed and decodes its result into out.
func result(t *testing.T, url string, out any, method string, params ...any) {
	t.Helper()
	r := call(t, url, method, params...)
	if r.Error != nil {
		t.Fatalf("%s: error %d %s", method, r.Error.Code, r.Error.Message)
	}
	if err := json.Unmarshal(r.Result, out); err != nil {
		t.Fatalf("%s: decode %s: %v", method, r.Result, err)
	}
}

// rpcFailure makes a request that must fail and returns the error's code and
// message.
func rpcFailure(t *testing.T, url, method string, params ...any) (int, string) {
	t.Helper()
	r := call(t, url, method, params...)
	if r.Error == nil {
		t.Fatalf("%s: want an error, got result %s", method, r.Result)
	}
	return r.Error.Code, r.Error.Message
}

// canonical re-encodes JSON so two documents compare by value.
func canonical(t *testing.T, v any) string {
	t.Helper()
	var b []byte
	switch x := v.(type) {
	case json.RawMessage:
		b = x
	case string:
		b = []byte(x)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	var any any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&any); err != nil {
		t.Fatalf("canonical: %v: %s", err, b)
	}
	out, err := json.Marshal(any)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// sameJSON fails unless got and want encode the same JSON value.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	if g, w := canonical(t, got), canonical(t, want); g != w {
		t.Errorf("%s:\n got  %s\n want %s", what, g, w)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("unexpected error: %v", err))
	}
	return v
}
