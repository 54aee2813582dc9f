package chains_test

import (
	"testing"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
)

func TestHeightsConfirmed(t *testing.T) {
	t.Parallel()
	tagged := chains.Heights{Head: 100, Safe: 90, Finalized: 70, HasSafe: true, HasFinalized: true}
	untagged := chains.Heights{Head: 100}
	tests := []struct {
		name   string
		h      chains.Heights
		policy chains.ConfirmationPolicy
		want   uint64
	}{
		{"one block is the head", untagged, chains.ConfirmationPolicy{Mode: chains.ConfirmBlocks, Blocks: 1}, 100},
		{"the payment's block counts", untagged, chains.ConfirmationPolicy{Mode: chains.ConfirmBlocks, Blocks: 12}, 89},
		{"deeper than the chain", chains.Heights{Head: 5}, chains.ConfirmationPolicy{Mode: chains.ConfirmBlocks, Blocks: 7}, 0},
		{"exactly the chain", chains.Heights{Head: 5}, chains.ConfirmationPolicy{Mode: chains.ConfirmBlocks, Blocks: 6}, 0},
		{"finalized tag", tagged, chains.ConfirmationPolicy{Mode: chains.ConfirmFinalized, Blocks: 5}, 70},
		{"safe tag", tagged, chains.ConfirmationPolicy{Mode: chains.ConfirmSafe, Blocks: 5}, 90},
		{"blocks ignore tags", tagged, chains.ConfirmationPolicy{Mode: chains.ConfirmBlocks, Blocks: 3}, 98},
		{"finalized without the tag: depth", untagged, chains.ConfirmationPolicy{Mode: chains.ConfirmFinalized, Blocks: 5}, 96},
		{"safe without the tag: depth", chains.Heights{Head: 100, Finalized: 70, HasFinalized: true}, chains.ConfirmationPolicy{Mode: chains.ConfirmSafe, Blocks: 10}, 91},
		{"no tag and no depth: nothing", untagged, chains.ConfirmationPolicy{Mode: chains.ConfirmFinalized}, 0},
		{"confirmed is the head", tagged, chains.ConfirmationPolicy{Mode: chains.ConfirmConfirmed}, 100},
		{"tag above the head is capped", chains.Heights{Head: 50, Finalized: 60, HasFinalized: true}, chains.ConfirmationPolicy{Mode: chains.ConfirmFinalized}, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.h.Confirmed(tt.policy); got != tt.want {
				t.Fatalf("Confirmed(%+v) = %d, want %d", tt.policy, got, tt.want)
			}
		})
	}
}

func TestPolicyOverride(t *testing.T) {
	t.Parallel()
	c := validChain()
	c.Confirmation = chains.ConfirmationPolicy{Mode: chains.ConfirmFinalized, Blocks: 64}
	tests := []struct {
		name string
		over map[string]sg.Confirmation
		want chains.ConfirmationPolicy
	}{
		{"no override", nil, c.Confirmation},
		{"another chain's override", map[string]sg.Confirmation{"polygon": {Mode: "blocks", Blocks: 3}}, c.Confirmation},
		{"blocks", map[string]sg.Confirmation{"devnet": {Mode: "blocks", Blocks: 3}}, chains.ConfirmationPolicy{Mode: chains.ConfirmBlocks, Blocks: 3}},
		{"tag keeps the chain's depth", map[string]sg.Confirmation{"devnet": {Mode: "safe"}}, chains.ConfirmationPolicy{Mode: chains.ConfirmSafe, Blocks: 64}},
		{"tag with its own depth", map[string]sg.Confirmation{"devnet": {Mode: "safe", Blocks: 20}}, chains.ConfirmationPolicy{Mode: chains.ConfirmSafe, Blocks: 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Policy(sg.MerchantSettings{Confirmations: tt.over}); got != tt.want {
				t.Fatalf("Policy = %+v, want %+v", got, tt.want)
			}
		})
	}
}
