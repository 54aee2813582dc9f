package chains

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/stablegate/stablegate"
)

// Kind is the family of a chain. It decides the address format, the payment
// URI scheme and which watcher runs the chain.
type Kind string

// Chain kinds.
const (
	KindEVM    Kind = "evm"
	KindSolana Kind = "solana"
)

// Confirmation modes of a ConfirmationPolicy. They are plain strings in
// ConfirmationPolicy.Mode so that config files and API payloads carry them
// unchanged.
const (
	// ConfirmFinalized waits for the chain's own finality signal: the
	// "finalized" block tag on EVM chains, the finalized commitment on Solana.
	ConfirmFinalized = "finalized"
	// ConfirmSafe waits for the "safe" block tag, which on rollups means the
	// batch is on L1: minutes sooner than finalized, and what most merchants
	// on Base or Arbitrum want.
	ConfirmSafe = "safe"
	// ConfirmBlocks waits for a fixed number of blocks, for merchants who
	// prefer speed or chains without a finality signal.
	ConfirmBlocks = "blocks"
	// ConfirmConfirmed, on Solana only, settles at the "confirmed"
	// commitment (a supermajority voted on the slot) instead of waiting
	// about 13 seconds more for "finalized".
	ConfirmConfirmed = "confirmed"
)

// Token programs of Token.Program on Solana.
const (
	// ProgramToken is the classic SPL Token program, the default.
	ProgramToken = "token"
	// ProgramToken2022 is the Token-2022 (token extensions) program.
	ProgramToken2022 = "token-2022"
)

// Fee classes of Chain.FeeClass.
const (
	FeeLow    = "low"
	FeeMedium = "medium"
	FeeHigh   = "high"
)

// Decimals a token may have. Below 2 a USD price could not be represented;
// above 36 base-unit amounts grow past what anyone has deployed and become a
// sign of a wrong entry.
const (
	MinDecimals = 2
	MaxDecimals = 36
)

// ConfirmationPolicy decides when a payment counts as paid. It is a
// per-chain default that a merchant may override, which is why it is a value
// rather than a method on Chain.
type ConfirmationPolicy struct {
	// Mode is ConfirmFinalized, ConfirmSafe or ConfirmBlocks.
	Mode string
	// Blocks is the depth for ConfirmBlocks. For ConfirmFinalized and
	// ConfirmSafe it is the depth to fall back to when an RPC endpoint does
	// not know the block tag, so a weak endpoint degrades to a sensible wait
	// instead of stalling every payment.
	Blocks uint64
}

// Validate reports whether the policy makes sense on a chain of the given
// kind. Solana has no "safe" commitment, EVM chains have no "confirmed"
// one, and a "blocks" policy of zero would mark a transfer paid before it
// is in any block.
func (p ConfirmationPolicy) Validate(kind Kind) error {
	switch p.Mode {
	case ConfirmFinalized:
	case ConfirmConfirmed:
		if kind != KindSolana {
			return stablegate.Errorf(stablegate.EINVALID, "confirmation_invalid", "confirmation",
				"confirmation mode %q exists only on Solana; use %q, %q or %q", p.Mode, ConfirmFinalized, ConfirmSafe, ConfirmBlocks)
		}
	case ConfirmSafe:
		if kind == KindSolana {
			return stablegate.Errorf(stablegate.EINVALID, "confirmation_invalid", "confirmation",
				"confirmation mode %q does not exist on Solana; use %q or %q", p.Mode, ConfirmFinalized, ConfirmBlocks)
		}
	case ConfirmBlocks:
		if p.Blocks == 0 {
			return stablegate.Errorf(stablegate.EINVALID, "confirmation_invalid", "confirmation",
				"confirmation mode %q needs blocks of at least 1", p.Mode)
		}
	default:
		return stablegate.Errorf(stablegate.EINVALID, "confirmation_invalid", "confirmation",
			"confirmation mode %q is not one of %q, %q, %q, %q", p.Mode, ConfirmFinalized, ConfirmSafe, ConfirmConfirmed, ConfirmBlocks)
	}
	return nil
}

// Token is a stablecoin on one chain. The contract, never the symbol,
// identifies it: anyone can deploy a token called USDT.
type Token struct {
	// Symbol is what customers pick, "USDT" or "USDC" for built-ins; unique
	// per chain regardless of case.
	Symbol string
	// Contract is the EIP-55 checksummed token address on EVM chains and the
	// base58 mint on Solana, stored normalized so it can be compared with ==.
	Contract string
	// Decimals converts between base units and user units. It is checked
	// against the contract's decimals() at start-up because BSC's tokens use
	// 18 where every other chain uses 6.
	Decimals uint8
	// Program is the token program of a Solana mint, ProgramToken or
	// ProgramToken2022; "" on EVM chains. It decides the merchant's
	// associated token account, so a wrong entry watches the wrong account.
	Program string
}

// Chain describes one network: how to reach it, when a payment on it is
// final, and which tokens it accepts. Values returned by a Registry are
// shared; treat them as read-only.
type Chain struct {
	// ID is the registry id used in the API, config files and storage keys,
	// e.g. "base" or "solana-devnet": lower-case letters, digits and dashes.
	ID string
	// Name is the display name shown to customers.
	Name string
	// Kind decides the address format, URI scheme and watcher.
	Kind Kind
	// ChainID is the EVM chain id the RPC endpoint must report and EIP-681
	// URIs carry; 0 on Solana, which has none.
	ChainID uint64
	// Testnet marks chains whose tokens have no value, so test-mode keys can
	// be confined to them.
	Testnet bool
	// RPCURLs are HTTP JSON-RPC endpoints, tried in order so one flaky public
	// endpoint does not stop a watcher.
	RPCURLs []string
	// WSURL is an optional WebSocket endpoint for push notifications; without
	// it watchers poll RPCURLs every BlockTime.
	WSURL string
	// BlockTime is the typical block or slot interval, the natural polling
	// period of a watcher.
	BlockTime time.Duration
	// Confirmation is the chain's default policy for "paid".
	Confirmation ConfirmationPolicy
	// ExplorerTxURL is a printf template with one %s for the transaction
	// hash; empty for chains without an explorer, such as a local devnet.
	ExplorerTxURL string
	// FeeClass is FeeLow, FeeMedium or FeeHigh: the typical network fee of a
	// token transfer, so the payment page can steer customers away from
	// paying $5 in gas on a $10 order.
	FeeClass string
	// NativeSymbol is the gas token the customer needs besides the
	// stablecoin, shown in the "you also need ..." hint.
	NativeSymbol string
	// Tokens are the accepted stablecoins. A chain may have none (a testnet
	// without a Circle deployment); it then offers no payment methods.
	Tokens []Token
}

// Token returns the token with the given symbol, ignoring case because
// customers and merchants type "usdc" as often as "USDC".
func (c *Chain) Token(symbol string) (*Token, bool) {
	for i := range c.Tokens {
		if strings.EqualFold(c.Tokens[i].Symbol, symbol) {
			return &c.Tokens[i], true
		}
	}
	return nil, false
}

// ValidateAddress checks a receiving address for this chain's kind and
// returns its normalized form; see the package-level ValidateAddress.
func (c *Chain) ValidateAddress(addr string) (string, error) {
	return ValidateAddress(c.Kind, addr)
}

// TxURL returns the explorer page of a transaction, or "" when the chain
// has no explorer, so templates need no nil checks.
func (c *Chain) TxURL(hash string) string {
	if c.ExplorerTxURL == "" {
		return ""
	}
	return fmt.Sprintf(c.ExplorerTxURL, hash)
}

// clone returns a deep copy so that a registry never shares slices with its
// caller or with another registry.
func (c *Chain) clone() *Chain {
	cp := *c
	cp.RPCURLs = append([]string(nil), c.RPCURLs...)
	cp.Tokens = append([]Token(nil), c.Tokens...)
	return &cp
}

var (
	chainIDPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$`)
	symbolPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$`)
)

// validate checks c and normalizes its token contracts in place. Errors carry
// reason "chain_config_invalid" and a param naming the field as
// "<chain id>.<field>", because the operator who reads them is looking at a
// config file, not an API request.
func (c *Chain) validate() error {
	invalid := func(field, format string, args ...any) error {
		return stablegate.Errorf(stablegate.EINVALID, "chain_config_invalid", c.ID+"."+field,
			"chain %q: %s", c.ID, fmt.Sprintf(format, args...))
	}
	if !chainIDPattern.MatchString(c.ID) {
		return stablegate.Errorf(stablegate.EINVALID, "chain_config_invalid", "id",
			"chain id %q must be 1 to 32 lower-case letters, digits or inner dashes", c.ID)
	}
	if strings.TrimSpace(c.Name) == "" {
		return invalid("name", "name is empty")
	}
	switch c.Kind {
	case KindEVM:
		if c.ChainID == 0 {
			return invalid("chain_id", "an EVM chain needs its chain_id")
		}
	case KindSolana:
		if c.ChainID != 0 {
			return invalid("chain_id", "a Solana chain has no chain_id")
		}
	default:
		return invalid("kind", "kind %q is not %q or %q", c.Kind, KindEVM, KindSolana)
	}
	if len(c.RPCURLs) == 0 {
		return invalid("rpc_urls", "at least one RPC URL is needed")
	}
	for i, u := range c.RPCURLs {
		if err := checkURL(u, "http", "https"); err != nil {
			return invalid(fmt.Sprintf("rpc_urls[%d]", i), "%v", err)
		}
	}
	if c.WSURL != "" {
		if err := checkURL(c.WSURL, "ws", "wss"); err != nil {
			return invalid("ws_url", "%v", err)
		}
	}
	if c.BlockTime <= 0 {
		return invalid("block_time", "block time must be positive")
	}
	if err := c.Confirmation.Validate(c.Kind); err != nil {
		return invalid("confirmation", "%s", stablegate.ErrorOf(err).Message)
	}
	if c.ExplorerTxURL != "" {
		// Exactly one verb, and it must be %s: anything else would make
		// TxURL print %!d(string=...) into a customer's page.
		rest := strings.ReplaceAll(c.ExplorerTxURL, "%%", "")
		if strings.Count(rest, "%") != 1 || strings.Count(rest, "%s") != 1 {
			return invalid("explorer_tx_url", "explorer URL needs exactly one %%s for the transaction hash")
		}
		if err := checkURL(strings.Replace(rest, "%s", "x", 1), "http", "https"); err != nil {
			return invalid("explorer_tx_url", "%v", err)
		}
	}
	switch c.FeeClass {
	case FeeLow, FeeMedium, FeeHigh:
	default:
		return invalid("fee_class", "fee class %q is not %q, %q or %q", c.FeeClass, FeeLow, FeeMedium, FeeHigh)
	}
	if strings.TrimSpace(c.NativeSymbol) == "" {
		return invalid("native_symbol", "native symbol is empty")
	}
	for i := range c.Tokens {
		t := &c.Tokens[i]
		field := fmt.Sprintf("tokens[%d]", i)
		if !symbolPattern.MatchString(t.Symbol) {
			return invalid(field+".symbol", "token symbol %q must be 1 to 16 letters, digits, dots, dashes or underscores", t.Symbol)
		}
		contract, err := ValidateAddress(c.Kind, t.Contract)
		if err != nil {
			return invalid(field+".contract", "token %s: %s", t.Symbol, stablegate.ErrorOf(err).Message)
		}
		t.Contract = contract
		switch {
		case c.Kind != KindSolana && t.Program != "":
			return invalid(field+".program", "token %s: a token program exists only on Solana", t.Symbol)
		case c.Kind == KindSolana && t.Program == "":
			t.Program = ProgramToken
		case c.Kind == KindSolana && t.Program != ProgramToken && t.Program != ProgramToken2022:
			return invalid(field+".program", "token %s: program %q is not %q or %q", t.Symbol, t.Program, ProgramToken, ProgramToken2022)
		}
		if t.Decimals < MinDecimals || t.Decimals > MaxDecimals {
			return invalid(field+".decimals", "token %s: decimals %d is outside %d..%d", t.Symbol, t.Decimals, MinDecimals, MaxDecimals)
		}
		for _, prev := range c.Tokens[:i] {
			if strings.EqualFold(prev.Symbol, t.Symbol) {
				return invalid(field+".symbol", "token symbol %s appears twice", t.Symbol)
			}
			if prev.Contract == t.Contract {
				return invalid(field+".contract", "tokens %s and %s share contract %s", prev.Symbol, t.Symbol, t.Contract)
			}
		}
	}
	return nil
}

// checkURL accepts an absolute URL with one of the given schemes and a host.
// The error never repeats the URL: RPC URLs often embed a provider API key,
// and these errors end up in logs.
func checkURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err == nil {
		for _, s := range schemes {
			if u.Scheme == s && u.Host != "" {
				return nil
			}
		}
	}
	return fmt.Errorf("not an absolute %s URL", strings.Join(schemes, " or "))
}
