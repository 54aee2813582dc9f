package chains

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stablegate/stablegate"
)

// Config is the operator's chain configuration, usually read with LoadConfig
// and passed to Registry.Apply. The zero value changes nothing.
type Config struct {
	// Chains override built-in chains (an entry whose id exists) or add custom
	// ones (a new id), in order. Default: none.
	Chains []ChainConfig `json:"chains" yaml:"chains"`
	// Disabled lists chain ids to remove after Chains is applied, for an
	// operator who wants no part of a network. An unknown id is an error so a
	// typo cannot leave a chain on. Default: none.
	Disabled []string `json:"disabled" yaml:"disabled"`
}

// ChainConfig overrides a chain or describes a custom one. For an override
// every empty field keeps the current value; for a custom chain empty fields
// take the defaults documented on each field.
type ChainConfig struct {
	// ID selects the chain to override, or names the custom chain. Required.
	ID string `json:"id" yaml:"id"`
	// Name is the display name. Default for a custom chain: the id.
	Name string `json:"name" yaml:"name"`
	// Kind is "evm" or "solana". Required for a custom chain; on an override
	// it may only repeat the current kind.
	Kind Kind `json:"kind" yaml:"kind"`
	// ChainID is the EVM chain id. Required for a custom EVM chain; on an
	// override it may only repeat the current id.
	ChainID uint64 `json:"chain_id" yaml:"chain_id"`
	// Testnet marks a chain whose tokens have no value. Default for a custom
	// chain: false; on an override it may only repeat the current flag.
	Testnet *bool `json:"testnet" yaml:"testnet"`
	// RPCURLs replace the chain's HTTP JSON-RPC endpoints. Required for a
	// custom chain.
	RPCURLs []string `json:"rpc_urls" yaml:"rpc_urls"`
	// WSURL sets the WebSocket endpoint; an explicit "" removes it.
	// Default: none.
	WSURL *string `json:"ws_url" yaml:"ws_url"`
	// BlockTime is a Go duration such as "2s". Default for a custom chain:
	// 2s on EVM, 400ms on Solana.
	BlockTime Duration `json:"block_time" yaml:"block_time"`
	// Confirmation changes the confirmation policy. Default for a custom
	// chain: "finalized" (falling back to 64 blocks on EVM), the safe choice
	// for an unknown network; a local devnet usually wants
	// {mode: blocks, blocks: 1}.
	Confirmation *ConfirmationConfig `json:"confirmation" yaml:"confirmation"`
	// ExplorerTxURL is a transaction URL template with one %s. Default: none.
	ExplorerTxURL string `json:"explorer_tx_url" yaml:"explorer_tx_url"`
	// FeeClass is "low", "medium" or "high". Default for a custom chain: low.
	FeeClass string `json:"fee_class" yaml:"fee_class"`
	// NativeSymbol is the gas token. Default for a custom chain: ETH on EVM,
	// SOL on Solana.
	NativeSymbol string `json:"native_symbol" yaml:"native_symbol"`
	// Tokens are added to the chain; one whose symbol already exists there
	// replaces it, so an operator can point a symbol at another deployment.
	// A custom chain needs at least one.
	Tokens []TokenConfig `json:"tokens" yaml:"tokens"`
}

// ConfirmationConfig changes a ConfirmationPolicy field by field, so an
// operator can raise a fallback depth without restating the mode.
type ConfirmationConfig struct {
	// Mode is "finalized", "safe" or "blocks". Default: the current mode.
	Mode string `json:"mode" yaml:"mode"`
	// Blocks is the depth (or fallback depth). Required when switching to
	// mode "blocks"; otherwise default: the current value.
	Blocks *uint64 `json:"blocks" yaml:"blocks"`
}

// TokenConfig is a token entry in a config file. All fields are required.
type TokenConfig struct {
	// Symbol is what customers pick, such as "USDC".
	Symbol string `json:"symbol" yaml:"symbol"`
	// Contract is the token address (EVM, any case) or mint (Solana).
	Contract string `json:"contract" yaml:"contract"`
	// Decimals must match the contract's decimals(), checked at start-up.
	Decimals uint8 `json:"decimals" yaml:"decimals"`
	// Program is the token program of a Solana mint: "token" (classic SPL
	// Token) or "token-2022". Default "token"; not allowed on EVM chains.
	Program string `json:"program" yaml:"program"`
}

// Duration is a time.Duration written as a Go duration string ("750ms") in
// config files, because a bare number of nanoseconds invites unit mistakes.
type Duration time.Duration

// UnmarshalText parses a Go duration string; JSON and YAML decoders both use
// it.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: use a Go duration such as \"2s\" or \"750ms\"", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as a Go duration string, so a Config
// survives a round trip.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).String()), nil
}

// LoadConfig reads a chain config file: YAML for .yaml or .yml, JSON for
// .json. Unknown fields, several documents and trailing data are rejected,
// because a misspelt key silently ignored would leave a default in place the
// operator believes changed. An empty file is an empty Config. Syntax errors
// are EINVALID with reason "chain_config_invalid"; the content is checked
// only by Registry.Apply.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("load chain config: %w", err)
	}
	var cfg Config
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".yaml", ".yml":
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		err = dec.Decode(&cfg)
		if err == nil {
			var extra yaml.Node
			if dec.Decode(&extra) != io.EOF {
				err = errors.New("more than one YAML document")
			}
		}
	case ".json":
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		err = dec.Decode(&cfg)
		if err == nil {
			var extra json.RawMessage
			if dec.Decode(&extra) != io.EOF {
				err = errors.New("trailing data after the JSON object")
			}
		}
	default:
		return Config{}, stablegate.Errorf(stablegate.EINVALID, "chain_config_invalid", "",
			"chain config %s: extension %q is not .yaml, .yml or .json", path, ext)
	}
	if errors.Is(err, io.EOF) {
		return Config{}, nil
	}
	if err != nil {
		return Config{}, stablegate.Errorf(stablegate.EINVALID, "chain_config_invalid", "",
			"chain config %s: %v", path, err)
	}
	return cfg, nil
}

// Apply merges cfg into the registry: an entry with an existing id changes
// that chain in place, a new id is appended in config order, then Disabled
// removes chains. The whole result
// is validated like NewRegistry before anything changes, so a bad config
// leaves the registry as it was. Errors are EINVALID with reason
// "chain_config_invalid" (or "chain_unknown" for an unknown id in Disabled)
// and a param naming the field, e.g. "devnet.rpc_urls".
func (r *Registry) Apply(cfg Config) error {
	list := make([]*Chain, 0, len(r.chains)+len(cfg.Chains))
	pos := make(map[string]int, len(r.chains))
	for _, c := range r.chains {
		pos[c.ID] = len(list)
		list = append(list, c.clone())
	}
	seen := make(map[string]bool, len(cfg.Chains))
	for i, cc := range cfg.Chains {
		if cc.ID == "" {
			return stablegate.Errorf(stablegate.EINVALID, "chain_config_invalid", fmt.Sprintf("chains[%d].id", i),
				"chain entry %d has no id", i)
		}
		// Two entries for one id would make the result depend on which one
		// the operator reads last.
		if seen[cc.ID] {
			return stablegate.Errorf(stablegate.EINVALID, "chain_config_invalid", cc.ID+".id",
				"chain %q appears twice in the config", cc.ID)
		}
		seen[cc.ID] = true
		if p, ok := pos[cc.ID]; ok {
			if err := override(list[p], cc); err != nil {
				return err
			}
			continue
		}
		c, err := custom(cc)
		if err != nil {
			return err
		}
		pos[c.ID] = len(list)
		list = append(list, c)
	}
	for _, id := range cfg.Disabled {
		if _, ok := pos[id]; !ok {
			return stablegate.Errorf(stablegate.EINVALID, "chain_unknown", "disabled",
				"cannot disable chain %q: no such chain", id)
		}
		list = slices.DeleteFunc(list, func(c *Chain) bool { return c.ID == id })
	}
	next, err := NewRegistry(list...)
	if err != nil {
		return err
	}
	*r = *next
	return nil
}

// override applies cc to the built-in (or earlier) chain c.
func override(c *Chain, cc ChainConfig) error {
	invalid := func(field, format string, args ...any) error {
		return stablegate.Errorf(stablegate.EINVALID, "chain_config_invalid", c.ID+"."+field,
			"chain %q: %s", c.ID, fmt.Sprintf(format, args...))
	}
	// Identity fields are not overridable: a different kind or chain id is a
	// different network and belongs under a new id.
	if cc.Kind != "" && cc.Kind != c.Kind {
		return invalid("kind", "kind is %q and cannot be changed", c.Kind)
	}
	if cc.ChainID != 0 && cc.ChainID != c.ChainID {
		return invalid("chain_id", "chain id is %d and cannot be changed; add a chain with a new id instead", c.ChainID)
	}
	if cc.Testnet != nil && *cc.Testnet != c.Testnet {
		return invalid("testnet", "testnet is %t and cannot be changed", c.Testnet)
	}
	if cc.Name != "" {
		c.Name = cc.Name
	}
	if len(cc.RPCURLs) > 0 {
		c.RPCURLs = append([]string(nil), cc.RPCURLs...)
	}
	if cc.WSURL != nil {
		c.WSURL = *cc.WSURL
	}
	if cc.BlockTime != 0 {
		c.BlockTime = time.Duration(cc.BlockTime)
	}
	if cc.Confirmation != nil {
		p, err := cc.Confirmation.merge(c.Confirmation)
		if err != nil {
			return invalid("confirmation", "%v", err)
		}
		c.Confirmation = p
	}
	if cc.ExplorerTxURL != "" {
		c.ExplorerTxURL = cc.ExplorerTxURL
	}
	if cc.FeeClass != "" {
		c.FeeClass = cc.FeeClass
	}
	if cc.NativeSymbol != "" {
		c.NativeSymbol = cc.NativeSymbol
	}
	for i, tc := range cc.Tokens {
		for _, prev := range cc.Tokens[:i] {
			if strings.EqualFold(prev.Symbol, tc.Symbol) {
				return invalid(fmt.Sprintf("tokens[%d].symbol", i), "token symbol %s appears twice in the config", tc.Symbol)
			}
		}
		t := Token{Symbol: tc.Symbol, Contract: tc.Contract, Decimals: tc.Decimals, Program: tc.Program}
		if old, ok := c.Token(tc.Symbol); ok {
			*old = t
		} else {
			c.Tokens = append(c.Tokens, t)
		}
	}
	return nil
}

// custom builds a new chain from cc, filling the documented defaults.
func custom(cc ChainConfig) (*Chain, error) {
	invalid := func(field, format string, args ...any) error {
		return stablegate.Errorf(stablegate.EINVALID, "chain_config_invalid", cc.ID+"."+field,
			"custom chain %q: %s", cc.ID, fmt.Sprintf(format, args...))
	}
	c := &Chain{ID: cc.ID, Name: cc.ID, Kind: cc.Kind, ChainID: cc.ChainID, FeeClass: FeeLow}
	switch cc.Kind {
	case KindEVM:
		c.BlockTime = 2 * time.Second
		c.Confirmation = ConfirmationPolicy{Mode: ConfirmFinalized, Blocks: 64}
		c.NativeSymbol = "ETH"
	case KindSolana:
		c.BlockTime = 400 * time.Millisecond
		c.Confirmation = ConfirmationPolicy{Mode: ConfirmFinalized}
		c.NativeSymbol = "SOL"
	case "":
		return nil, invalid("kind", "kind is required (%q or %q)", KindEVM, KindSolana)
	default:
		return nil, invalid("kind", "kind %q is not %q or %q", cc.Kind, KindEVM, KindSolana)
	}
	if cc.Kind == KindEVM && cc.ChainID == 0 {
		return nil, invalid("chain_id", "chain_id is required for an EVM chain")
	}
	if len(cc.RPCURLs) == 0 {
		return nil, invalid("rpc_urls", "rpc_urls is required")
	}
	if len(cc.Tokens) == 0 {
		return nil, invalid("tokens", "at least one token is required")
	}
	if cc.Testnet != nil {
		c.Testnet = *cc.Testnet
	}
	// The remaining fields mean the same for a new chain as for an override.
	cc.Kind, cc.ChainID, cc.Testnet = "", 0, nil
	if err := override(c, cc); err != nil {
		return nil, err
	}
	return c, nil
}

// merge returns p with the configured fields replaced.
func (cc *ConfirmationConfig) merge(p ConfirmationPolicy) (ConfirmationPolicy, error) {
	if cc.Mode != "" {
		// The old mode's fallback depth (64 on Ethereum) would be a
		// surprising wait if it silently became the block count.
		if cc.Mode == ConfirmBlocks && p.Mode != ConfirmBlocks && cc.Blocks == nil {
			return p, fmt.Errorf("mode %q needs blocks", ConfirmBlocks)
		}
		p.Mode = cc.Mode
	}
	if cc.Blocks != nil {
		p.Blocks = *cc.Blocks
	}
	return p, nil
}
