package svmtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	"github.com/stablegate/stablegate/chains/solana/svmtest"
)

// docExample is one file of testdata: a documented response.
type docExample struct {
	Method   string            `json:"method"`
	Source   []string          `json:"source"`
	Nullable map[string]string `json:"nullable"`
	Response json.RawMessage   `json:"response"`
}

func loadExample(t *testing.T, name string) docExample {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ex docExample
	if err := json.Unmarshal(b, &ex); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if ex.Method == "" || len(ex.Source) == 0 || len(ex.Response) == 0 {
		t.Fatalf("%s: method, source and response are required", name)
	}
	return ex
}

func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode: %v: %s", err, b)
	}
	return v
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case json.Number, float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// shapeDiff lists where got does not have the shape of the documented value
// doc: a missing field, another JSON type, a value where the documentation
// has null (unless nullable allows the path's type), or no element matching a
// documented array element.
func shapeDiff(path string, doc, got any, nullable map[string]string) []string {
	if doc == nil {
		if got == nil {
			return nil
		}
		if want, ok := nullable[path]; ok && jsonType(got) == want {
			return nil
		}
		return []string{fmt.Sprintf("%s: documented null, got %s", path, jsonType(got))}
	}
	if dt, gt := jsonType(doc), jsonType(got); dt != gt {
		return []string{fmt.Sprintf("%s: documented %s, got %s", path, dt, gt)}
	}
	var out []string
	switch d := doc.(type) {
	case map[string]any:
		g := got.(map[string]any)
		keys := make([]string, 0, len(d))
		for k := range d {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			gv, ok := g[k]
			if !ok {
				out = append(out, p+": missing")
				continue
			}
			out = append(out, shapeDiff(p, d[k], gv, nullable)...)
		}
	case []any:
		g := got.([]any)
		for i, de := range d {
			var closest []string
			matched := false
			for _, ge := range g {
				diff := shapeDiff(path+"[]", de, ge, nullable)
				if len(diff) == 0 {
					matched = true
					break
				}
				if closest == nil || len(diff) < len(closest) {
					closest = diff
				}
			}
			if matched {
				continue
			}
			if len(g) == 0 {
				out = append(out, fmt.Sprintf("%s[]: documented element %d, got an empty array", path, i))
				continue
			}
			out = append(out, fmt.Sprintf("%s[]: no element matches documented element %d; closest differs at %s", path, i, strings.Join(closest, "; ")))
		}
	}
	return out
}

// TestResponseShapes checks the server's responses against the documented
// examples in testdata: every documented field exists with the same JSON type,
// recursively, so a client written against the Solana RPC documentation reads
// this server's answers.
func TestResponseShapes(t *testing.T) {
	t.Parallel()
	node := svmtest.Start(t, svmtest.Options{SlotInterval: 20 * time.Millisecond, FinalizeDepth: 3})
	authority := node.Funded(t)
	mint := node.CreateMint(t, authority, 6, solana.TokenProgramID)
	owner := solana.NewWallet().PublicKey()
	// Minting to a new owner creates its associated token account: an
	// instruction with an inner System createAccount, and a new token balance,
	// as in the documented jsonParsed example.
	minted := node.MintTo(t, authority, mint, owner, 1_500_000)

	var airdrop string
	result(t, node.URL, &airdrop, "requestAirdrop", owner.String(), 1_000_000_000)
	airdropSig := solana.MustSignatureFromBase58(airdrop)
	node.WaitCommitment(t, airdropSig, rpc.CommitmentFinalized)
	node.WaitCommitment(t, minted, rpc.CommitmentFinalized)
	unknown := solana.Signature{1}

	cases := []struct {
		file   string
		params []any
	}{
		{"getSlot.json", nil},
		{"getLatestBlockhash.json", nil},
		{"getAccountInfo.json", []any{owner.String(), map[string]any{"encoding": "base58"}}},
		{"getTokenAccountsByOwner.json", []any{owner.String(), map[string]any{"programId": solana.TokenProgramID.String()}, map[string]any{"encoding": "jsonParsed"}}},
		{"getSignaturesForAddress.json", []any{owner.String(), map[string]any{"limit": 1}}},
		{"getSignatureStatuses.json", []any{[]string{minted.String(), unknown.String()}, map[string]any{"searchTransactionHistory": true}}},
		{"requestAirdrop.json", []any{solana.NewWallet().PublicKey().String(), 1_000_000_000}},
		{"getTransaction-json.json", []any{airdropSig.String(), map[string]any{"encoding": "json"}}},
		{"getTransaction-jsonParsed.json", []any{minted.String(), map[string]any{"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0}}},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(cases) {
		t.Fatalf("testdata has %d examples, the test covers %d", len(files), len(cases))
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			ex := loadExample(t, c.file)
			resp, body := post(t, node.URL, request(ex.Method, c.params...))
			if resp.StatusCode != 200 {
				t.Fatalf("HTTP %d: %s", resp.StatusCode, body)
			}
			got := decodeAny(t, body)
			if _, failed := got.(map[string]any)["error"]; failed {
				t.Fatalf("%s answered an error: %s", ex.Method, body)
			}
			for _, d := range shapeDiff("", decodeAny(t, ex.Response), got, ex.Nullable) {
				t.Errorf("%s (documented at %s): %s", ex.Method, ex.Source[0], d)
			}
		})
	}
}

// TestShapeDiffCatchesRenamesAndRetypes shows the shape check fails when a
// documented field is renamed, retyped or made non-null, at any depth.
func TestShapeDiffCatchesRenamesAndRetypes(t *testing.T) {
	t.Parallel()
	ex := loadExample(t, "getTransaction-jsonParsed.json")
	doc := decodeAny(t, ex.Response)
	if d := shapeDiff("", doc, decodeAny(t, ex.Response), ex.Nullable); len(d) != 0 {
		t.Fatalf("the example against itself: %v", d)
	}
	cases := []struct {
		name   string
		mutate func(r map[string]any)
		want   []string
	}{
		{"renamed field", func(r map[string]any) {
			meta := r["meta"].(map[string]any)
			meta["fees"] = meta["fee"]
			delete(meta, "fee")
		}, []string{"result.meta.fee: missing"}},
		{"retyped field", func(r map[string]any) {
			r["slot"] = "139958594"
		}, []string{"result.slot: documented number, got string"}},
		{"non-null where documented null", func(r map[string]any) {
			r["meta"].(map[string]any)["err"] = map[string]any{"InstructionError": []any{0, "InvalidAccountData"}}
		}, []string{"result.meta.err: documented null, got object"}},
		{"renamed field inside an array element", func(r map[string]any) {
			inner := r["meta"].(map[string]any)["innerInstructions"].([]any)[0].(map[string]any)["instructions"].([]any)[0].(map[string]any)
			info := inner["parsed"].(map[string]any)["info"].(map[string]any)
			info["newAcount"] = info["newAccount"]
			delete(info, "newAccount")
		}, []string{"result.meta.innerInstructions[]: no element matches documented element 0; closest differs at " +
			"result.meta.innerInstructions[].instructions[]: no element matches documented element 0; closest differs at " +
			"result.meta.innerInstructions[].instructions[].parsed.info.newAccount: missing"}},
		{"retyped nullable field", func(r map[string]any) {
			b := r["meta"].(map[string]any)["postTokenBalances"].([]any)[0].(map[string]any)
			b["uiTokenAmount"].(map[string]any)["uiAmount"] = "0"
		}, []string{"result.meta.postTokenBalances[]: no element matches documented element 0; closest differs at " +
			"result.meta.postTokenBalances[].uiTokenAmount.uiAmount: documented null, got string"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := decodeAny(t, ex.Response).(map[string]any)
			c.mutate(got["result"].(map[string]any))
			if d := shapeDiff("", doc, got, ex.Nullable); !slices.Equal(d, c.want) {
				t.Errorf("diff:\n got  %q\n want %q", d, c.want)
			}
		})
	}
}
