package solana

import (
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParseTransaction feeds ParseTransaction mutations of the fixtures:
// whatever the input, it must not panic, and what it accepts must hold
// together.
func FuzzParseTransaction(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	if len(files) == 0 {
		f.Fatal("no fixtures in testdata")
	}
	for _, file := range files {
		f.Add(readFixture(f, filepath.Base(file)))
	}
	f.Add([]byte(`null`))
	f.Add([]byte(`{"transaction":{"signatures":[]}}`))

	chain := testChain()
	accepted := make(map[string]bool, len(chain.Tokens))
	for _, t := range chain.Tokens {
		accepted[t.Contract] = true
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		tx, err := ParseTransaction(chain, raw)
		if err != nil {
			if tx != nil {
				t.Fatalf("ParseTransaction returned %+v along with error %v", view(tx), err)
			}
			return
		}
		if tx.Signature == "" {
			t.Fatal("accepted a transaction without a signature")
		}
		if tx.Failed && len(tx.Transfers) > 0 {
			t.Fatalf("failed transaction with transfers %+v", view(tx).Transfers)
		}
		for i, tr := range tx.Transfers {
			if i > 0 && tr.LogIndex <= tx.Transfers[i-1].LogIndex {
				t.Fatalf("transfer %d: log index %d after %d", i, tr.LogIndex, tx.Transfers[i-1].LogIndex)
			}
			if tr.Amount == nil || tr.Amount.Sign() <= 0 || !tr.Amount.IsUint64() {
				t.Fatalf("transfer %d: amount %v is not a positive u64", i, tr.Amount)
			}
			if !accepted[tr.Token] {
				t.Fatalf("transfer %d: token %s is not in the registry", i, tr.Token)
			}
			if tr.From == "" || tr.To == "" {
				t.Fatalf("transfer %d: from %q to %q", i, tr.From, tr.To)
			}
			if tr.Chain != chain.ID || tr.TxHash != tx.Signature || tr.BlockNumber != tx.Slot ||
				tr.BlockTime != tx.BlockTime || tr.BlockHash != "" {
				t.Fatalf("transfer %d: %+v does not carry the transaction's chain, hash, slot and time", i, view(tx).Transfers[i])
			}
		}
		again, err := ParseTransaction(chain, raw)
		if err != nil {
			t.Fatalf("second parse failed: %v", err)
		}
		if !reflect.DeepEqual(view(tx), view(again)) {
			t.Fatalf("parsing twice differs:\n%+v\n%+v", view(tx), view(again))
		}
	})
}
