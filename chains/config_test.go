package chains_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stablegate/stablegate/chains"
)

// writeFile writes content to name in a fresh temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const devnetYAML = `
chains:
  - id: devnet
    name: Local devnet
    kind: evm
    chain_id: 1337
    testnet: true
    rpc_urls: ["http://127.0.0.1:8545"]
    ws_url: ws://127.0.0.1:8546
    block_time: 1s
    confirmation: {mode: blocks, blocks: 1}
    tokens:
      - {symbol: USDT, contract: "0x5fbdb2315678afecb367f032d93f642f64180aa3", decimals: 6}
      - {symbol: USDC, contract: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", decimals: 18}
  - id: base
    rpc_urls:
      - https://base.example.com/rpc
      - https://base-backup.example.com/rpc
disabled: [bsc-testnet]
`

const devnetJSON = `{
  "chains": [
    {
      "id": "devnet",
      "name": "Local devnet",
      "kind": "evm",
      "chain_id": 1337,
      "testnet": true,
      "rpc_urls": ["http://127.0.0.1:8545"],
      "ws_url": "ws://127.0.0.1:8546",
      "block_time": "1s",
      "confirmation": {"mode": "blocks", "blocks": 1},
      "tokens": [
        {"symbol": "USDT", "contract": "0x5fbdb2315678afecb367f032d93f642f64180aa3", "decimals": 6},
        {"symbol": "USDC", "contract": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", "decimals": 18}
      ]
    },
    {"id": "base", "rpc_urls": ["https://base.example.com/rpc", "https://base-backup.example.com/rpc"]}
  ],
  "disabled": ["bsc-testnet"]
}`

func TestLoadConfigAndApply(t *testing.T) {
	tests := []struct {
		name, file, content string
	}{
		{"yaml", "chains.yaml", devnetYAML},
		{"yml", "chains.yml", devnetYAML},
		{"json", "chains.json", devnetJSON},
		{"upper-case extension", "CHAINS.JSON", devnetJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := chains.LoadConfig(writeFile(t, tt.file, tt.content))
			if err != nil {
				t.Fatal(err)
			}
			r := chains.Builtin()
			if err := r.Apply(cfg); err != nil {
				t.Fatal(err)
			}

			want := &chains.Chain{
				ID: "devnet", Name: "Local devnet", Kind: chains.KindEVM, ChainID: 1337, Testnet: true,
				RPCURLs:      []string{"http://127.0.0.1:8545"},
				WSURL:        "ws://127.0.0.1:8546",
				BlockTime:    time.Second,
				Confirmation: chains.ConfirmationPolicy{Mode: "blocks", Blocks: 1},
				FeeClass:     "low",
				NativeSymbol: "ETH",
				Tokens: []chains.Token{
					{Symbol: "USDT", Contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3", Decimals: 6},
					{Symbol: "USDC", Contract: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", Decimals: 18},
				},
			}
			devnet, ok := r.Chain("devnet")
			if !ok || !reflect.DeepEqual(devnet, want) {
				t.Fatalf("devnet:\n got %+v\nwant %+v", devnet, want)
			}

			base, _ := r.Chain("base")
			wantBase, _ := chains.Builtin().Chain("base")
			wantBase.RPCURLs = []string{"https://base.example.com/rpc", "https://base-backup.example.com/rpc"}
			if !reflect.DeepEqual(base, wantBase) {
				t.Fatalf("base:\n got %+v\nwant %+v", base, wantBase)
			}

			if _, ok := r.Chain("bsc-testnet"); ok {
				t.Fatal("bsc-testnet is still present after being disabled")
			}
			var ids []string
			for _, c := range r.Chains() {
				ids = append(ids, c.ID)
			}
			wantIDs := []string{"ethereum", "polygon", "bsc", "arbitrum", "base", "optimism", "avalanche", "solana",
				"sepolia", "amoy", "arbitrum-sepolia", "base-sepolia", "optimism-sepolia", "fuji", "solana-devnet", "devnet"}
			if !slices.Equal(ids, wantIDs) {
				t.Fatalf("order:\n got %v\nwant %v", ids, wantIDs)
			}
		})
	}
}

func TestLoadConfigRejects(t *testing.T) {
	tests := []struct {
		name, file, content string
	}{
		{"unknown top-level yaml field", "c.yaml", "chain:\n  - id: base\n"},
		{"unknown chain yaml field", "c.yaml", "chains:\n  - id: base\n    rpc_url: https://x.io\n"},
		{"unknown token yaml field", "c.yaml", "chains:\n  - id: base\n    tokens: [{symbol: X, contract: y, decimal: 6}]\n"},
		{"unknown json field", "c.json", `{"chains": [{"id": "base", "rpcUrls": ["https://x.io"]}]}`},
		{"unknown confirmation json field", "c.json", `{"chains": [{"id": "base", "confirmation": {"depth": 3}}]}`},
		{"decimals overflow", "c.yaml", "chains:\n  - id: base\n    tokens: [{symbol: X, contract: y, decimals: 300}]\n"},
		{"negative chain id", "c.json", `{"chains": [{"id": "x", "chain_id": -1}]}`},
		{"bad duration", "c.yaml", "chains:\n  - id: base\n    block_time: 2 seconds\n"},
		{"numeric duration", "c.json", `{"chains": [{"id": "base", "block_time": 2000000000}]}`},
		{"two yaml documents", "c.yaml", "chains: []\n---\nchains: []\n"},
		{"trailing json", "c.json", `{"chains": []} {}`},
		{"malformed json", "c.json", `{"chains": [`},
		{"wrong extension", "c.toml", `chains = []`},
		{"no extension", "chains", `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := chains.LoadConfig(writeFile(t, tt.file, tt.content))
			wantError(t, err, "chain_config_invalid", "")
			if !reflect.DeepEqual(cfg, chains.Config{}) {
				t.Fatalf("got config %+v with an error", cfg)
			}
		})
	}
}

func TestLoadConfigEmptyFile(t *testing.T) {
	for _, name := range []string{"empty.yaml", "empty.json"} {
		cfg, err := chains.LoadConfig(writeFile(t, name, ""))
		if err != nil || !reflect.DeepEqual(cfg, chains.Config{}) {
			t.Fatalf("%s: got %+v, %v; want an empty config", name, cfg, err)
		}
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := chains.LoadConfig(filepath.Join(t.TempDir(), "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want an error wrapping fs.ErrNotExist", err)
	}
}

func TestApplyRejects(t *testing.T) {
	u64 := func(v uint64) *uint64 { return &v }
	yes := true
	token := chains.TokenConfig{Symbol: "USDC", Contract: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", Decimals: 6}
	devnet := func(f func(*chains.ChainConfig)) chains.Config {
		cc := chains.ChainConfig{
			ID: "devnet", Kind: chains.KindEVM, ChainID: 1337,
			RPCURLs: []string{"http://127.0.0.1:8545"},
			Tokens:  []chains.TokenConfig{token},
		}
		f(&cc)
		return chains.Config{Chains: []chains.ChainConfig{cc}}
	}
	tests := []struct {
		name          string
		cfg           chains.Config
		reason, param string
	}{
		{"custom without kind", devnet(func(c *chains.ChainConfig) { c.Kind = "" }), "chain_config_invalid", "devnet.kind"},
		{"custom with unknown kind", devnet(func(c *chains.ChainConfig) { c.Kind = "tron" }), "chain_config_invalid", "devnet.kind"},
		{"custom evm without chain id", devnet(func(c *chains.ChainConfig) { c.ChainID = 0 }), "chain_config_invalid", "devnet.chain_id"},
		{"custom without rpc urls", devnet(func(c *chains.ChainConfig) { c.RPCURLs = nil }), "chain_config_invalid", "devnet.rpc_urls"},
		{"custom without tokens", devnet(func(c *chains.ChainConfig) { c.Tokens = nil }), "chain_config_invalid", "devnet.tokens"},
		{"custom with bad rpc url", devnet(func(c *chains.ChainConfig) { c.RPCURLs = []string{"localhost:8545"} }), "chain_config_invalid", "devnet.rpc_urls[0]"},
		{"custom with bad contract", devnet(func(c *chains.ChainConfig) { c.Tokens[0].Contract = "0x1234" }), "chain_config_invalid", "devnet.tokens[0].contract"},
		{"custom with zero decimals", devnet(func(c *chains.ChainConfig) { c.Tokens[0].Decimals = 0 }), "chain_config_invalid", "devnet.tokens[0].decimals"},
		{"custom with duplicate token", devnet(func(c *chains.ChainConfig) { c.Tokens = append(c.Tokens, token) }), "chain_config_invalid", "devnet.tokens[1].symbol"},
		{"custom evm token with a program", devnet(func(c *chains.ChainConfig) { c.Tokens[0].Program = chains.ProgramToken }), "chain_config_invalid", "devnet.tokens[0].program"},
		{"custom evm chain confirmed", devnet(func(c *chains.ChainConfig) { c.Confirmation = &chains.ConfirmationConfig{Mode: "confirmed"} }), "chain_config_invalid", "devnet.confirmation"},
		{"solana token with unknown program", chains.Config{Chains: []chains.ChainConfig{{ID: "sol-local", Kind: chains.KindSolana,
			RPCURLs: []string{"http://127.0.0.1:8899"},
			Tokens:  []chains.TokenConfig{{Symbol: "USDC", Contract: "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU", Decimals: 6, Program: "token-2023"}}}}}, "chain_config_invalid", "sol-local.tokens[0].program"},
		{"custom reusing mainnet chain id", devnet(func(c *chains.ChainConfig) { c.ChainID = 1 }), "chain_config_invalid", "devnet.chain_id"},
		{"custom with bad id", devnet(func(c *chains.ChainConfig) { c.ID = "Dev Net" }), "chain_config_invalid", "id"},
		{"custom blocks without depth", devnet(func(c *chains.ChainConfig) { c.Confirmation = &chains.ConfirmationConfig{Mode: "blocks"} }), "chain_config_invalid", "devnet.confirmation"},
		{"custom with negative block time", devnet(func(c *chains.ChainConfig) { c.BlockTime = chains.Duration(-time.Second) }), "chain_config_invalid", "devnet.block_time"},
		{"entry without id", chains.Config{Chains: []chains.ChainConfig{{ID: "base"}, {}}}, "chain_config_invalid", "chains[1].id"},
		{"id twice", chains.Config{Chains: []chains.ChainConfig{{ID: "base"}, {ID: "base"}}}, "chain_config_invalid", "base.id"},
		{"override changes kind", chains.Config{Chains: []chains.ChainConfig{{ID: "base", Kind: chains.KindSolana}}}, "chain_config_invalid", "base.kind"},
		{"override changes chain id", chains.Config{Chains: []chains.ChainConfig{{ID: "base", ChainID: 84532}}}, "chain_config_invalid", "base.chain_id"},
		{"override changes testnet", chains.Config{Chains: []chains.ChainConfig{{ID: "base", Testnet: &yes}}}, "chain_config_invalid", "base.testnet"},
		{"override to blocks without depth", chains.Config{Chains: []chains.ChainConfig{{ID: "ethereum",
			Confirmation: &chains.ConfirmationConfig{Mode: "blocks"}}}}, "chain_config_invalid", "ethereum.confirmation"},
		{"override to safe on solana", chains.Config{Chains: []chains.ChainConfig{{ID: "solana",
			Confirmation: &chains.ConfirmationConfig{Mode: "safe"}}}}, "chain_config_invalid", "solana.confirmation"},
		{"override to zero blocks", chains.Config{Chains: []chains.ChainConfig{{ID: "avalanche",
			Confirmation: &chains.ConfirmationConfig{Blocks: u64(0)}}}}, "chain_config_invalid", "avalanche.confirmation"},
		{"override with bad ws url", chains.Config{Chains: []chains.ChainConfig{{ID: "base", WSURL: new("https://x.io")}}}, "chain_config_invalid", "base.ws_url"},
		{"override adds evm token to solana", chains.Config{Chains: []chains.ChainConfig{{ID: "solana", Tokens: []chains.TokenConfig{token}}}}, "chain_config_invalid", "solana.tokens[1].contract"},
		{"disable unknown chain", chains.Config{Disabled: []string{"tron"}}, "chain_unknown", "disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := chains.Builtin()
			err := r.Apply(tt.cfg)
			wantError(t, err, tt.reason, tt.param)
			if !reflect.DeepEqual(r.Chains(), chains.Builtin().Chains()) {
				t.Fatal("a rejected config changed the registry")
			}
		})
	}
}

func TestApplyOverrides(t *testing.T) {
	u64 := func(v uint64) *uint64 { return &v }
	tests := []struct {
		name  string
		cc    chains.ChainConfig
		check func(t *testing.T, got, builtin *chains.Chain)
	}{
		{
			name: "empty override changes nothing",
			cc:   chains.ChainConfig{ID: "polygon"},
			check: func(t *testing.T, got, builtin *chains.Chain) {
				if !reflect.DeepEqual(got, builtin) {
					t.Fatalf("got %+v, want %+v", got, builtin)
				}
			},
		},
		{
			name: "repeating identity fields is allowed",
			cc:   chains.ChainConfig{ID: "polygon", Kind: chains.KindEVM, ChainID: 137, Testnet: new(false)},
			check: func(t *testing.T, got, builtin *chains.Chain) {
				if !reflect.DeepEqual(got, builtin) {
					t.Fatalf("got %+v, want %+v", got, builtin)
				}
			},
		},
		{
			name: "fallback depth only",
			cc:   chains.ChainConfig{ID: "ethereum", Confirmation: &chains.ConfirmationConfig{Blocks: u64(96)}},
			check: func(t *testing.T, got, _ *chains.Chain) {
				if want := (chains.ConfirmationPolicy{Mode: "finalized", Blocks: 96}); got.Confirmation != want {
					t.Fatalf("got %+v, want %+v", got.Confirmation, want)
				}
			},
		},
		{
			name: "switch to blocks",
			cc:   chains.ChainConfig{ID: "ethereum", Confirmation: &chains.ConfirmationConfig{Mode: "blocks", Blocks: u64(12)}},
			check: func(t *testing.T, got, _ *chains.Chain) {
				if want := (chains.ConfirmationPolicy{Mode: "blocks", Blocks: 12}); got.Confirmation != want {
					t.Fatalf("got %+v, want %+v", got.Confirmation, want)
				}
			},
		},
		{
			name: "ws url, block time, display fields",
			cc: chains.ChainConfig{ID: "arbitrum", WSURL: new("wss://arb.example.com"), BlockTime: chains.Duration(time.Second),
				Name: "Arbitrum", ExplorerTxURL: "https://arbitrum.blockscout.com/tx/%s", FeeClass: "medium", NativeSymbol: "AETH"},
			check: func(t *testing.T, got, builtin *chains.Chain) {
				want := *builtin
				want.WSURL, want.BlockTime, want.Name = "wss://arb.example.com", time.Second, "Arbitrum"
				want.ExplorerTxURL, want.FeeClass, want.NativeSymbol = "https://arbitrum.blockscout.com/tx/%s", "medium", "AETH"
				if !reflect.DeepEqual(got, &want) {
					t.Fatalf("got %+v, want %+v", got, &want)
				}
			},
		},
		{
			name: "add a token and replace one by symbol",
			cc: chains.ChainConfig{ID: "optimism", Tokens: []chains.TokenConfig{
				{Symbol: "usdt", Contract: "0x94b008aa00579c1307b0ef2c499ad98a8ce58e58", Decimals: 6},
				{Symbol: "USDC.e", Contract: "0x7F5c764cBc14f9669B88837ca1490cCa17c31607", Decimals: 6},
			}},
			check: func(t *testing.T, got, _ *chains.Chain) {
				want := []chains.Token{
					{Symbol: "usdt", Contract: "0x94b008aA00579c1307B0EF2c499aD98a8ce58e58", Decimals: 6},
					{Symbol: "USDC", Contract: "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85", Decimals: 6},
					{Symbol: "USDC.e", Contract: "0x7F5c764cBc14f9669B88837ca1490cCa17c31607", Decimals: 6},
				}
				if !reflect.DeepEqual(got.Tokens, want) {
					t.Fatalf("got %+v, want %+v", got.Tokens, want)
				}
			},
		},
		{
			name: "a token for a chain without any",
			cc: chains.ChainConfig{ID: "bsc-testnet", Tokens: []chains.TokenConfig{
				{Symbol: "USDT", Contract: "0x337610d27c682E347C9cD60BD4b3b107C9d34dDd", Decimals: 18},
			}},
			check: func(t *testing.T, got, _ *chains.Chain) {
				if tokenSummary(got.Tokens) != "USDT/18" {
					t.Fatalf("got %s, want USDT/18", tokenSummary(got.Tokens))
				}
			},
		},
		{
			name: "remove the ws url",
			cc:   chains.ChainConfig{ID: "base", WSURL: new("")},
			check: func(t *testing.T, got, builtin *chains.Chain) {
				if got.WSURL != "" {
					t.Fatalf("got ws url %q, want none", got.WSURL)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := chains.Builtin()
			if err := r.Apply(chains.Config{Chains: []chains.ChainConfig{tt.cc}}); err != nil {
				t.Fatal(err)
			}
			got, _ := r.Chain(tt.cc.ID)
			builtin, _ := chains.Builtin().Chain(tt.cc.ID)
			tt.check(t, got, builtin)
		})
	}
}

func TestApplyCustomSolanaDefaults(t *testing.T) {
	r := chains.Builtin()
	err := r.Apply(chains.Config{Chains: []chains.ChainConfig{{
		ID: "localnet", Kind: chains.KindSolana,
		RPCURLs: []string{"http://127.0.0.1:8899"},
		Tokens:  []chains.TokenConfig{{Symbol: "USDC", Contract: "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU", Decimals: 6}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := r.Chain("localnet")
	want := &chains.Chain{
		ID: "localnet", Name: "localnet", Kind: chains.KindSolana,
		RPCURLs:      []string{"http://127.0.0.1:8899"},
		BlockTime:    400 * time.Millisecond,
		Confirmation: chains.ConfirmationPolicy{Mode: "finalized"},
		FeeClass:     "low",
		NativeSymbol: "SOL",
		Tokens:       []chains.Token{{Symbol: "USDC", Contract: "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU", Decimals: 6, Program: chains.ProgramToken}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if u := got.TxURL("5sig"); u != "" {
		t.Fatalf("TxURL without an explorer = %q, want \"\"", u)
	}
}

// TestConfigRoundTrip shows a Config written back out as JSON (for example
// by a "print effective config" command) loads to the same value.
func TestConfigRoundTrip(t *testing.T) {
	cfg, err := chains.LoadConfig(writeFile(t, "chains.yaml", devnetYAML))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := chains.LoadConfig(writeFile(t, "chains.json", string(b)))
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if !reflect.DeepEqual(again, cfg) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", again, cfg)
	}
	if cfg.Chains[0].BlockTime != chains.Duration(time.Second) {
		t.Fatalf("block_time = %v, want 1s", time.Duration(cfg.Chains[0].BlockTime))
	}
}

func TestApplyDoesNotAliasConfig(t *testing.T) {
	cfg := chains.Config{Chains: []chains.ChainConfig{{ID: "base", RPCURLs: []string{"https://a.example.com"}}}}
	r := chains.Builtin()
	if err := r.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Chains[0].RPCURLs[0] = "https://mutated.example.com"
	base, _ := r.Chain("base")
	if base.RPCURLs[0] != "https://a.example.com" {
		t.Fatalf("registry follows a later change to the config: %q", base.RPCURLs[0])
	}
}
