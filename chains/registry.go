package chains

import (
	"github.com/stablegate/stablegate"
)

// Registry is the set of chains a gateway serves. It is built once at
// start-up (Builtin, then Apply with the operator's config) and read
// concurrently afterwards; Apply must not run while others read.
type Registry struct {
	chains []*Chain
	byID   map[string]*Chain
}

// NewRegistry validates the chains and returns a registry that keeps them
// in the given order. It copies its input, and stores token contracts in
// normalized form, so later changes to the arguments do not leak in.
//
// Every chain must pass the checks of Apply: a unique, well-formed id; kind
// evm (with a chain id unique among EVM chains) or solana; at least one
// http(s) RPC URL; a valid confirmation policy; token symbols unique per
// chain, contracts valid for the kind and decimals within
// MinDecimals..MaxDecimals. Errors are EINVALID with reason
// "chain_config_invalid" and a param naming the field.
func NewRegistry(chains ...*Chain) (*Registry, error) {
	r := &Registry{byID: make(map[string]*Chain, len(chains))}
	evmIDs := make(map[uint64]string)
	for _, in := range chains {
		if in == nil {
			return nil, stablegate.Errorf(stablegate.EINVALID, "chain_config_invalid", "chains", "chain is nil")
		}
		c := in.clone()
		if err := c.validate(); err != nil {
			return nil, err
		}
		if _, dup := r.byID[c.ID]; dup {
			return nil, stablegate.Errorf(stablegate.EINVALID, "chain_config_invalid", c.ID+".id",
				"chain id %q appears twice", c.ID)
		}
		// Two entries for one EVM network would watch it twice and make
		// EIP-681 URIs, which carry only the number, ambiguous.
		if c.Kind == KindEVM {
			if other, dup := evmIDs[c.ChainID]; dup {
				return nil, stablegate.Errorf(stablegate.EINVALID, "chain_config_invalid", c.ID+".chain_id",
					"chains %q and %q share EVM chain id %d", other, c.ID, c.ChainID)
			}
			evmIDs[c.ChainID] = c.ID
		}
		r.chains = append(r.chains, c)
		r.byID[c.ID] = c
	}
	return r, nil
}

// Chain returns the chain with the given registry id. Ids are lower-case and
// matched exactly, since they are part of stored keys.
func (r *Registry) Chain(id string) (*Chain, bool) {
	c, ok := r.byID[id]
	return c, ok
}

// Chains returns every chain in registry order: built-in mainnets, built-in
// testnets, then custom chains in config order. The slice is the caller's;
// the chains are shared and read-only.
func (r *Registry) Chains() []*Chain {
	return append([]*Chain(nil), r.chains...)
}

// Lookup resolves a payment method as a client names it. It returns EINVALID
// with reason "chain_unknown" (param "chain") or "token_unknown" (param
// "token"), because an unknown method in a request is the client's mistake,
// not a missing resource.
func (r *Registry) Lookup(chainID, symbol string) (*Chain, *Token, error) {
	c, ok := r.Chain(chainID)
	if !ok {
		return nil, nil, stablegate.Errorf(stablegate.EINVALID, "chain_unknown", "chain",
			"chain %q is not supported", chainID)
	}
	t, ok := c.Token(symbol)
	if !ok {
		return nil, nil, stablegate.Errorf(stablegate.EINVALID, "token_unknown", "token",
			"token %q is not supported on chain %q", symbol, chainID)
	}
	return c, t, nil
}
