package stablegate_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// floatAllowed lists the only places a float may appear outside tests and
// the benchmark: Prometheus metrics (seconds, heights) and Redis sorted-set
// scores holding block heights or times. Money never appears here.
var floatAllowed = map[string]int{
	"api/server.go":            1,
	"cmd/stablegate/app.go":    1,
	"store/transfers.go":       1,
	"store/webhooks.go":        1,
	"store/solana.go":          1,
	"chains/evm/metrics.go":    2,
	"chains/solana/metrics.go": 2,
	"chains/solana/rpc.go":     1,
}

// TestNoFloatNearMoney keeps float32/float64 out of the code base so that
// no amount or price can ever pass through one: every use outside tests is
// either listed in floatAllowed or fails this test.
func TestNoFloatNearMoney(t *testing.T) {
	found := map[string]int{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "bench" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && (id.Name == "float64" || id.Name == "float32") {
				found[filepath.ToSlash(path)]++
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, n := range found {
		if n > floatAllowed[path] {
			t.Errorf("%s uses float %d times (allowed %d): amounts and prices must be integers in base units", path, n, floatAllowed[path])
		}
	}
}
