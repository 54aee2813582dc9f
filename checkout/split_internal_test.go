package checkout

import (
	"slices"
	"testing"
)

func TestSplitByCheckout(t *testing.T) {
	co := func(id string) [2]string { return [2]string{"mer_a", id} }
	none := [2]string{"mer_a", ""}
	tests := []struct {
		name  string
		refs  [][2]string
		n     int
		parts int // how many parts, none empty
	}{
		{name: "one part", refs: [][2]string{co("a"), co("b"), none}, n: 1, parts: 1},
		{name: "nothing", refs: nil, n: 4, parts: 0},
		{name: "unmatched spread round the parts", refs: [][2]string{none, none, none, none}, n: 4, parts: 4},
		{name: "one checkout stays in one part", refs: [][2]string{co("a"), co("a"), co("a")}, n: 4, parts: 1},
		{name: "at most n", refs: [][2]string{co("a"), co("b"), co("c"), co("d"), co("e"), none, none, none, none}, n: 3, parts: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := splitByCheckout(tt.refs, tt.n)
			if len(parts) != tt.parts {
				t.Fatalf("%d parts %v, want %d", len(parts), parts, tt.parts)
			}
			var all []int
			partOf := map[[2]string]int{}
			for pi, p := range parts {
				if len(p) == 0 || !slices.IsSorted(p) {
					t.Fatalf("part %d is %v: want indexes in order, none empty", pi, p)
				}
				for _, i := range p {
					all = append(all, i)
					if r := tt.refs[i]; r[1] != "" {
						if was, ok := partOf[r]; ok && was != pi {
							t.Fatalf("checkout %s in parts %d and %d", r[1], was, pi)
						}
						partOf[r] = pi
					}
				}
			}
			slices.Sort(all)
			for i, v := range all {
				if v != i {
					t.Fatalf("parts %v do not hold each of the %d indexes once", parts, len(tt.refs))
				}
			}
			if len(all) != len(tt.refs) {
				t.Fatalf("parts hold %d indexes, want %d", len(all), len(tt.refs))
			}
		})
	}
}
