package store

import (
	"math/big"
	"testing"
	"time"

	sg "github.com/stablegate/stablegate"
)

func TestLexBounds(t *testing.T) {
	t1 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	b1 := sg.IDTimeBound(sg.PrefixCheckout, t1)
	b2 := sg.IDTimeBound(sg.PrefixCheckout, t2)
	before1 := sg.NewID(sg.PrefixCheckout, t1.Add(-time.Minute))
	between := sg.NewID(sg.PrefixCheckout, t1.Add(time.Minute))
	after2 := sg.NewID(sg.PrefixCheckout, t2.Add(time.Minute))
	tests := []struct {
		name           string
		gte, lt        time.Time
		after, before  string
		wantLo, wantHi string
	}{
		{name: "no bounds", wantLo: "-", wantHi: "+"},
		{name: "created gte", gte: t1, wantLo: "[" + b1, wantHi: "+"},
		{name: "created lt", lt: t2, wantLo: "-", wantHi: "(" + b2},
		{name: "created range", gte: t1, lt: t2, wantLo: "[" + b1, wantHi: "(" + b2},
		{name: "starting_after", after: between, wantLo: "-", wantHi: "(" + between},
		{name: "ending_before", before: between, wantLo: "(" + between, wantHi: "+"},
		{name: "ending_before inside the range wins", gte: t1, lt: t2, before: between, wantLo: "(" + between, wantHi: "(" + b2},
		{name: "ending_before older than gte keeps gte", gte: t1, before: before1, wantLo: "[" + b1, wantHi: "+"},
		{name: "starting_after inside the range wins", gte: t1, lt: t2, after: between, wantLo: "[" + b1, wantHi: "(" + between},
		{name: "starting_after newer than lt keeps lt", lt: t2, after: after2, wantLo: "-", wantHi: "(" + b2},
		{name: "starting_after equal to the lt bound keeps lt", lt: t2, after: b2, wantLo: "-", wantHi: "(" + b2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi := lexBounds(sg.PrefixCheckout, tt.gte, tt.lt, tt.after, tt.before)
			if lo != tt.wantLo || hi != tt.wantHi {
				t.Errorf("lexBounds = (%q, %q), want (%q, %q)", lo, hi, tt.wantLo, tt.wantHi)
			}
		})
	}
}

func TestPadAmount(t *testing.T) {
	tests := []struct {
		name string
		in   int64
		want string
	}{
		{name: "zero", in: 0, want: "000000000000000000000000000000000000000000000000"},
		{name: "fingerprinted", in: 50_000_120, want: "000000000000000000000000000000000000000050000120"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PadAmount(bigOf(tt.in))
			if got != tt.want || len(got) != amountWidth {
				t.Errorf("PadAmount(%d) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	// Padded amounts sort like the numbers, which ZLEXCOUNT relies on.
	if a, b := PadAmount(bigOf(9_999_999)), PadAmount(bigOf(10_000_000)); a >= b {
		t.Errorf("PadAmount(9999999) = %q does not sort before PadAmount(10000000) = %q", a, b)
	}
}

func bigOf(v int64) *big.Int { return big.NewInt(v) }
