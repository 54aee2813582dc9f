package chains_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stablegate/stablegate/chains"
)

// tokenSummary renders tokens as "USDT/6 USDC/6" for compact expectations;
// contracts are pinned exactly by the PaymentURI tests.
func tokenSummary(ts []chains.Token) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprintf("%s/%d", t.Symbol, t.Decimals)
	}
	return strings.Join(parts, " ")
}

func TestBuiltin(t *testing.T) {
	type want struct {
		id, name  string
		kind      chains.Kind
		chainID   uint64
		testnet   bool
		policy    chains.ConfirmationPolicy
		blockTime time.Duration
		fee       string
		native    string
		explorer  string
		tokens    string
	}
	fin := func(n uint64) chains.ConfirmationPolicy {
		return chains.ConfirmationPolicy{Mode: "finalized", Blocks: n}
	}
	safe := func(n uint64) chains.ConfirmationPolicy { return chains.ConfirmationPolicy{Mode: "safe", Blocks: n} }
	blocks := func(n uint64) chains.ConfirmationPolicy { return chains.ConfirmationPolicy{Mode: "blocks", Blocks: n} }
	wants := []want{
		{"ethereum", "Ethereum", chains.KindEVM, 1, false, fin(64), 12 * time.Second, "high", "ETH", "https://etherscan.io/tx/0xabc", "USDT/6 USDC/6"},
		{"polygon", "Polygon PoS", chains.KindEVM, 137, false, fin(32), 2 * time.Second, "low", "POL", "https://polygonscan.com/tx/0xabc", "USDT/6 USDC/6"},
		{"bsc", "BNB Smart Chain", chains.KindEVM, 56, false, fin(15), 750 * time.Millisecond, "low", "BNB", "https://bscscan.com/tx/0xabc", "USDT/18 USDC/18"},
		{"arbitrum", "Arbitrum One", chains.KindEVM, 42161, false, safe(480), 250 * time.Millisecond, "low", "ETH", "https://arbiscan.io/tx/0xabc", "USDT/6 USDC/6"},
		{"base", "Base", chains.KindEVM, 8453, false, safe(60), 2 * time.Second, "low", "ETH", "https://basescan.org/tx/0xabc", "USDC/6"},
		{"optimism", "OP Mainnet", chains.KindEVM, 10, false, safe(60), 2 * time.Second, "low", "ETH", "https://optimistic.etherscan.io/tx/0xabc", "USDT/6 USDC/6"},
		{"avalanche", "Avalanche C-Chain", chains.KindEVM, 43114, false, blocks(1), 2 * time.Second, "low", "AVAX", "https://snowtrace.io/tx/0xabc", "USDT/6 USDC/6"},
		{"solana", "Solana", chains.KindSolana, 0, false, fin(0), 400 * time.Millisecond, "low", "SOL", "https://solscan.io/tx/0xabc", "USDT/6 USDC/6"},
		{"sepolia", "Sepolia", chains.KindEVM, 11155111, true, fin(64), 12 * time.Second, "high", "ETH", "https://sepolia.etherscan.io/tx/0xabc", "USDC/6"},
		{"amoy", "Polygon Amoy", chains.KindEVM, 80002, true, fin(32), 2 * time.Second, "low", "POL", "https://amoy.polygonscan.com/tx/0xabc", "USDC/6"},
		{"bsc-testnet", "BNB Smart Chain Testnet", chains.KindEVM, 97, true, fin(15), 750 * time.Millisecond, "low", "BNB", "https://testnet.bscscan.com/tx/0xabc", ""},
		{"arbitrum-sepolia", "Arbitrum Sepolia", chains.KindEVM, 421614, true, safe(480), 250 * time.Millisecond, "low", "ETH", "https://sepolia.arbiscan.io/tx/0xabc", "USDC/6"},
		{"base-sepolia", "Base Sepolia", chains.KindEVM, 84532, true, safe(60), 2 * time.Second, "low", "ETH", "https://sepolia.basescan.org/tx/0xabc", "USDC/6"},
		{"optimism-sepolia", "OP Sepolia", chains.KindEVM, 11155420, true, safe(60), 2 * time.Second, "low", "ETH", "https://sepolia-optimism.etherscan.io/tx/0xabc", "USDC/6"},
		{"fuji", "Avalanche Fuji", chains.KindEVM, 43113, true, blocks(1), 2 * time.Second, "low", "AVAX", "https://testnet.snowtrace.io/tx/0xabc", "USDC/6"},
		{"solana-devnet", "Solana Devnet", chains.KindSolana, 0, true, fin(0), 400 * time.Millisecond, "low", "SOL", "https://solscan.io/tx/0xabc?cluster=devnet", "USDC/6"},
	}
	got := chains.Builtin().Chains()
	if len(got) != len(wants) {
		t.Fatalf("got %d chains, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		c := got[i]
		t.Run(w.id, func(t *testing.T) {
			g := want{c.ID, c.Name, c.Kind, c.ChainID, c.Testnet, c.Confirmation, c.BlockTime, c.FeeClass,
				c.NativeSymbol, c.TxURL("0xabc"), tokenSummary(c.Tokens)}
			if g != w {
				t.Fatalf("chain %d:\n got %+v\nwant %+v", i, g, w)
			}
			if len(c.RPCURLs) == 0 || !strings.HasPrefix(c.RPCURLs[0], "https://") {
				t.Fatalf("RPC URLs %q: want at least one https endpoint", c.RPCURLs)
			}
		})
	}
}

func TestBuiltinIsFreshEachCall(t *testing.T) {
	a := chains.Builtin()
	ca, _ := a.Chain("ethereum")
	ca.RPCURLs[0] = "http://mutated"
	ca.Tokens[0].Symbol = "XXX"
	a.Chains()[0] = nil

	b := chains.Builtin()
	cb, _ := b.Chain("ethereum")
	if cb.RPCURLs[0] != "https://ethereum-rpc.publicnode.com" || cb.Tokens[0].Symbol != "USDT" {
		t.Fatalf("second Builtin shares state with the first: %q %q", cb.RPCURLs[0], cb.Tokens[0].Symbol)
	}
	if a.Chains()[0] == nil {
		t.Fatal("Chains returned the registry's own slice")
	}
}

func TestChainToken(t *testing.T) {
	eth, _ := chains.Builtin().Chain("ethereum")
	tests := []struct {
		name, symbol, want string
	}{
		{"exact", "USDC", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"},
		{"lower case", "usdt", "0xdAC17F958D2ee523a2206206994597C13D831ec7"},
		{"mixed case", "uSdC", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"},
		{"unknown", "DAI", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, ok := eth.Token(tt.symbol)
			if tt.want == "" {
				if ok || tok != nil {
					t.Fatalf("Token(%q) = %+v, %t; want none", tt.symbol, tok, ok)
				}
				return
			}
			if !ok || tok.Contract != tt.want {
				t.Fatalf("Token(%q) = %+v, %t; want contract %s", tt.symbol, tok, ok, tt.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	r := chains.Builtin()
	tests := []struct {
		name, chain, token string
		wantContract       string
		reason, param      string
	}{
		{name: "usdc on base", chain: "base", token: "usdc", wantContract: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"},
		{name: "usdt on bsc", chain: "bsc", token: "USDT", wantContract: "0x55d398326f99059fF775485246999027B3197955"},
		{name: "usdc on devnet", chain: "solana-devnet", token: "USDC", wantContract: "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU"},
		{name: "unknown chain", chain: "tron", token: "USDT", reason: "chain_unknown", param: "chain"},
		{name: "chain id is case-sensitive", chain: "Base", token: "USDC", reason: "chain_unknown", param: "chain"},
		{name: "empty chain", chain: "", token: "USDC", reason: "chain_unknown", param: "chain"},
		{name: "no usdt on base", chain: "base", token: "USDT", reason: "token_unknown", param: "token"},
		{name: "no tokens on bsc testnet", chain: "bsc-testnet", token: "USDT", reason: "token_unknown", param: "token"},
		{name: "bridged symbol", chain: "polygon", token: "USDC.e", reason: "token_unknown", param: "token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, tok, err := r.Lookup(tt.chain, tt.token)
			if tt.reason != "" {
				wantError(t, err, tt.reason, tt.param)
				if c != nil || tok != nil {
					t.Fatalf("got %v, %v with an error", c, tok)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ID != tt.chain || tok.Contract != tt.wantContract {
				t.Fatalf("got %s %s, want %s %s", c.ID, tok.Contract, tt.chain, tt.wantContract)
			}
		})
	}
}

// validChain returns a chain that passes NewRegistry, for tests to break one
// field at a time.
func validChain() *chains.Chain {
	return &chains.Chain{
		ID: "devnet", Name: "Devnet", Kind: chains.KindEVM, ChainID: 1337, Testnet: true,
		RPCURLs:       []string{"http://127.0.0.1:8545"},
		WSURL:         "ws://127.0.0.1:8546",
		BlockTime:     time.Second,
		Confirmation:  chains.ConfirmationPolicy{Mode: "blocks", Blocks: 1},
		ExplorerTxURL: "http://localhost:4000/tx/%s",
		FeeClass:      "low",
		NativeSymbol:  "ETH",
		Tokens: []chains.Token{
			{Symbol: "USDT", Contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3", Decimals: 6},
			{Symbol: "USDC", Contract: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", Decimals: 6},
		},
	}
}

func TestNewRegistry(t *testing.T) {
	solana := func() *chains.Chain {
		c := validChain()
		c.ID, c.Kind, c.ChainID = "localnet", chains.KindSolana, 0
		c.Confirmation = chains.ConfirmationPolicy{Mode: "finalized"}
		c.Tokens = []chains.Token{{Symbol: "USDC", Contract: "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU", Decimals: 6}}
		return c
	}
	tests := []struct {
		name   string
		chains func() []*chains.Chain
		param  string // empty when valid
	}{
		{name: "valid evm and solana", chains: func() []*chains.Chain { return []*chains.Chain{validChain(), solana()} }},
		{name: "no chains", chains: func() []*chains.Chain { return nil }},
		{name: "lower-case contract is accepted", chains: mutate(func(c *chains.Chain) { c.Tokens[0].Contract = strings.ToLower(c.Tokens[0].Contract) })},
		{name: "no tokens", chains: mutate(func(c *chains.Chain) { c.Tokens = nil })},
		{name: "decimals 2", chains: mutate(func(c *chains.Chain) { c.Tokens[0].Decimals = 2 })},
		{name: "decimals 36", chains: mutate(func(c *chains.Chain) { c.Tokens[0].Decimals = 36 })},
		{name: "no ws url", chains: mutate(func(c *chains.Chain) { c.WSURL = "" })},
		{name: "no explorer", chains: mutate(func(c *chains.Chain) { c.ExplorerTxURL = "" })},
		{name: "explorer with escaped percent", chains: mutate(func(c *chains.Chain) { c.ExplorerTxURL = "https://x.io/tx/%s?q=100%%" })},

		{name: "nil chain", chains: func() []*chains.Chain { return []*chains.Chain{nil} }, param: "chains"},
		{name: "duplicate id", chains: func() []*chains.Chain {
			b := validChain()
			b.ChainID = 1338
			return []*chains.Chain{validChain(), b}
		}, param: "devnet.id"},
		{name: "duplicate evm chain id", chains: func() []*chains.Chain {
			b := validChain()
			b.ID = "devnet2"
			return []*chains.Chain{validChain(), b}
		}, param: "devnet2.chain_id"},
		{name: "upper-case id", chains: mutate(func(c *chains.Chain) { c.ID = "DevNet" }), param: "id"},
		{name: "id with trailing dash", chains: mutate(func(c *chains.Chain) { c.ID = "devnet-" }), param: "id"},
		{name: "empty id", chains: mutate(func(c *chains.Chain) { c.ID = "" }), param: "id"},
		{name: "empty name", chains: mutate(func(c *chains.Chain) { c.Name = " " }), param: "devnet.name"},
		{name: "unknown kind", chains: mutate(func(c *chains.Chain) { c.Kind = "tron" }), param: "devnet.kind"},
		{name: "evm without chain id", chains: mutate(func(c *chains.Chain) { c.ChainID = 0 }), param: "devnet.chain_id"},
		{name: "solana with chain id", chains: func() []*chains.Chain { c := solana(); c.ChainID = 5; return []*chains.Chain{c} }, param: "localnet.chain_id"},
		{name: "no rpc url", chains: mutate(func(c *chains.Chain) { c.RPCURLs = nil }), param: "devnet.rpc_urls"},
		{name: "rpc url without scheme", chains: mutate(func(c *chains.Chain) { c.RPCURLs = []string{"http://ok", "127.0.0.1:8545"} }), param: "devnet.rpc_urls[1]"},
		{name: "ws url as rpc url", chains: mutate(func(c *chains.Chain) { c.RPCURLs = []string{"ws://127.0.0.1:8546"} }), param: "devnet.rpc_urls[0]"},
		{name: "http url as ws url", chains: mutate(func(c *chains.Chain) { c.WSURL = "http://127.0.0.1:8546" }), param: "devnet.ws_url"},
		{name: "zero block time", chains: mutate(func(c *chains.Chain) { c.BlockTime = 0 }), param: "devnet.block_time"},
		{name: "unknown confirmation mode", chains: mutate(func(c *chains.Chain) { c.Confirmation.Mode = "latest" }), param: "devnet.confirmation"},
		{name: "zero blocks", chains: mutate(func(c *chains.Chain) { c.Confirmation.Blocks = 0 }), param: "devnet.confirmation"},
		{name: "safe on solana", chains: func() []*chains.Chain {
			c := solana()
			c.Confirmation.Mode = "safe"
			return []*chains.Chain{c}
		}, param: "localnet.confirmation"},
		{name: "explorer without verb", chains: mutate(func(c *chains.Chain) { c.ExplorerTxURL = "https://x.io/tx/" }), param: "devnet.explorer_tx_url"},
		{name: "explorer with %d", chains: mutate(func(c *chains.Chain) { c.ExplorerTxURL = "https://x.io/tx/%d" }), param: "devnet.explorer_tx_url"},
		{name: "explorer with two verbs", chains: mutate(func(c *chains.Chain) { c.ExplorerTxURL = "https://x.io/%s/tx/%s" }), param: "devnet.explorer_tx_url"},
		{name: "explorer not a url", chains: mutate(func(c *chains.Chain) { c.ExplorerTxURL = "x.io/tx/%s" }), param: "devnet.explorer_tx_url"},
		{name: "unknown fee class", chains: mutate(func(c *chains.Chain) { c.FeeClass = "free" }), param: "devnet.fee_class"},
		{name: "no native symbol", chains: mutate(func(c *chains.Chain) { c.NativeSymbol = "" }), param: "devnet.native_symbol"},
		{name: "empty symbol", chains: mutate(func(c *chains.Chain) { c.Tokens[1].Symbol = "" }), param: "devnet.tokens[1].symbol"},
		{name: "symbol with space", chains: mutate(func(c *chains.Chain) { c.Tokens[1].Symbol = "US DC" }), param: "devnet.tokens[1].symbol"},
		{name: "duplicate symbol ignoring case", chains: mutate(func(c *chains.Chain) { c.Tokens[1].Symbol = "usdt" }), param: "devnet.tokens[1].symbol"},
		{name: "duplicate contract", chains: mutate(func(c *chains.Chain) { c.Tokens[1].Contract = strings.ToLower(c.Tokens[0].Contract) }), param: "devnet.tokens[1].contract"},
		{name: "bad checksum contract", chains: mutate(func(c *chains.Chain) { c.Tokens[0].Contract = "0x5fbDB2315678afecb367f032d93F642f64180aa3" }), param: "devnet.tokens[0].contract"},
		{name: "solana mint on evm", chains: mutate(func(c *chains.Chain) { c.Tokens[0].Contract = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU" }), param: "devnet.tokens[0].contract"},
		{name: "evm contract on solana", chains: func() []*chains.Chain {
			c := solana()
			c.Tokens[0].Contract = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
			return []*chains.Chain{c}
		}, param: "localnet.tokens[0].contract"},
		{name: "decimals 1", chains: mutate(func(c *chains.Chain) { c.Tokens[0].Decimals = 1 }), param: "devnet.tokens[0].decimals"},
		{name: "decimals 37", chains: mutate(func(c *chains.Chain) { c.Tokens[0].Decimals = 37 }), param: "devnet.tokens[0].decimals"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.chains()
			r, err := chains.NewRegistry(in...)
			if tt.param != "" {
				wantError(t, err, "chain_config_invalid", tt.param)
				if r != nil {
					t.Fatal("got a registry with an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := r.Chains()
			if len(got) != len(in) {
				t.Fatalf("got %d chains, want %d", len(got), len(in))
			}
			for i, c := range got {
				if c.ID != in[i].ID {
					t.Fatalf("chain %d is %s, want %s: order must be kept", i, c.ID, in[i].ID)
				}
				if c == in[i] {
					t.Fatalf("chain %s is the caller's pointer, want a copy", c.ID)
				}
				for _, tok := range c.Tokens {
					if norm, err := c.ValidateAddress(tok.Contract); err != nil || norm != tok.Contract {
						t.Fatalf("token %s stored as %q, not normalized (%q, %v)", tok.Symbol, tok.Contract, norm, err)
					}
				}
			}
		})
	}
}

// mutate returns a one-chain input with f applied to a valid chain.
func mutate(f func(*chains.Chain)) func() []*chains.Chain {
	return func() []*chains.Chain {
		c := validChain()
		f(c)
		return []*chains.Chain{c}
	}
}
