package chains

import "time"

// Builtin returns a registry of the built-in chains: mainnets first, then
// their public testnets, each in a fixed order so that lists on the payment
// page do not shuffle between releases. Every call builds fresh values, so a
// caller (or a test) may Apply a config without affecting anyone else.
func Builtin() *Registry {
	r, err := NewRegistry(builtinChains()...)
	if err != nil {
		// The table below is constant; TestBuiltin keeps it valid.
		panic("chains: invalid built-in registry: " + err.Error())
	}
	return r
}

// builtinChains is the source of truth for built-in chains and tokens.
//
// Contracts are the issuers' canonical deployments (Circle for USDC, Tether
// or its USDT0 successor for USDT), never bridged variants such as USDC.e:
// those are other assets a merchant must opt into through config.
//
// Confirmation defaults follow each chain's native finality signal. The
// fallback depth of a tag policy is what a watcher waits for when an RPC
// endpoint lacks the tag: about two epochs on Ethereum, the old checkpoint
// habit on Polygon, BEP-126's customary 15 on BSC, and about two minutes of
// blocks (the usual time to "safe") on the rollups.
//
// Testnets mirror their mainnet's policy, block time and fee class so that a
// test payment rehearses the real experience.
func builtinChains() []*Chain {
	return []*Chain{
		{
			ID: "ethereum", Name: "Ethereum", Kind: KindEVM, ChainID: 1,
			RPCURLs:       []string{"https://ethereum-rpc.publicnode.com"},
			BlockTime:     12 * time.Second,
			Confirmation:  ConfirmationPolicy{Mode: ConfirmFinalized, Blocks: 64},
			ExplorerTxURL: "https://etherscan.io/tx/%s",
			FeeClass:      FeeHigh, NativeSymbol: "ETH",
			Tokens: []Token{
				{Symbol: "USDT", Contract: "0xdAC17F958D2ee523a2206206994597C13D831ec7", Decimals: 6},
				{Symbol: "USDC", Contract: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", Decimals: 6},
			},
		},
		{
			ID: "polygon", Name: "Polygon PoS", Kind: KindEVM, ChainID: 137,
			RPCURLs:       []string{"https://polygon-bor-rpc.publicnode.com", "https://polygon-rpc.com"},
			BlockTime:     2 * time.Second,
			Confirmation:  ConfirmationPolicy{Mode: ConfirmFinalized, Blocks: 32},
			ExplorerTxURL: "https://polygonscan.com/tx/%s",
			FeeClass:      FeeLow, NativeSymbol: "POL",
			Tokens: []Token{
				{Symbol: "USDT", Contract: "0xc2132D05D31c914a87C6611C10748AEb04B58e8F", Decimals: 6},
				{Symbol: "USDC", Contract: "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", Decimals: 6},
			},
		},
		{
			ID: "bsc", Name: "BNB Smart Chain", Kind: KindEVM, ChainID: 56,
			RPCURLs:       []string{"https://bsc-rpc.publicnode.com", "https://bsc-dataseed.bnbchain.org"},
			BlockTime:     750 * time.Millisecond,
			Confirmation:  ConfirmationPolicy{Mode: ConfirmFinalized, Blocks: 15},
			ExplorerTxURL: "https://bscscan.com/tx/%s",
			FeeClass:      FeeLow, NativeSymbol: "BNB",
			// Binance-Peg tokens: 18 decimals, unlike everywhere else.
			Tokens: []Token{
				{Symbol: "USDT", Contract: "0x55d398326f99059fF775485246999027B3197955", Decimals: 18},
				{Symbol: "USDC", Contract: "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d", Decimals: 18},
			},
		},
		{
			ID: "arbitrum", Name: "Arbitrum One", Kind: KindEVM, ChainID: 42161,
			RPCURLs:       []string{"https://arbitrum-one-rpc.publicnode.com", "https://arb1.arbitrum.io/rpc"},
			BlockTime:     250 * time.Millisecond,
			Confirmation:  ConfirmationPolicy{Mode: ConfirmSafe, Blocks: 480},
			ExplorerTxURL: "https://arbiscan.io/tx/%s",
			FeeClass:      FeeLow, NativeSymbol: "ETH",
			Tokens: []Token{
				{Symbol: "USDT", Contract: "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", Decimals: 6},
				{Symbol: "USDC", Contract: "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", Decimals: 6},
			},
		},
		{
			ID: "base", Name: "Base", Kind: KindEVM, ChainID: 8453,
			RPCURLs:       []string{"https://base-rpc.publicnode.com", "https://mainnet.base.org"},
			BlockTime:     2 * time.Second,
			Confirmation:  ConfirmationPolicy{Mode: ConfirmSafe, Blocks: 60},
			ExplorerTxURL: "https://basescan.org/tx/%s",
			FeeClass:      FeeLow, NativeSymbol: "ETH",
			// Tether issues no USDT on Base; the bridged token is another asset.
			Tokens: []Token{
				{Symbol: "USDC", Contract: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", Decimals: 6},
			},
		},
		{
			ID: "optimism", Name: "OP Mainnet", Kind: KindEVM, ChainID: 10,
			RPCURLs:       []string{"https://optimism-rpc.publicnode.com", "https://mainnet.optimism.io"},
			BlockTime:     2 * time.Second,
			Confirmation:  ConfirmationPolicy{Mode: ConfirmSafe, Blocks: 60},
			ExplorerTxURL: "https://optimistic.etherscan.io/tx/%s",
			FeeClass:      FeeLow, NativeSymbol: "ETH",
			// USDT is USDT0, Tether's current deployment, not the legacy
			// bridged 0x94b0...8e58.
			Tokens: []Token{
				{Symbol: "USDT", Contract: "0x01bFF41798a0BcF287b996046Ca68b395DbC1071", Decimals: 6},
				{Symbol: "USDC", Contract: "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85", Decimals: 6},
			},
		},
		{
			// Snowman: an accepted block is final, so one block is enough.
			ID: "avalanche", Name: "Avalanche C-Chain", Kind: KindEVM, ChainID: 43114,
			RPCURLs:       []string{"https://avalanche-c-chain-rpc.publicnode.com", "https://api.avax.network/ext/bc/C/rpc"},
			BlockTime:     2 * time.Second,
			Confirmation:  ConfirmationPolicy{Mode: ConfirmBlocks, Blocks: 1},
			ExplorerTxURL: "https://snowtrace.io/tx/%s",
			FeeClass:      FeeLow, NativeSymbol: "AVAX",
			Tokens: []Token{
				{Symbol: "USDT", Contract: "0x9702230A8Ea53601f5cD2dc00fDBc13d4dF4A8c7", Decimals: 6},
				{Symbol: "USDC", Contract: "0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E", Decimals: 6},
			},
		},
		{
			ID: "solana", Name: "Solana", Kind: KindSolana,
			RPCURLs:       []string{"https://api.mainnet-beta.solana.com"},
			BlockTime:     400 * time.Millisecond,
			Confirmation:  ConfirmationPolicy{Mode: ConfirmFinalized},
			ExplorerTxURL: "https://solscan.io/tx/%s",
			FeeClass:      FeeLow, NativeSymbol: "SOL",
			Tokens: []Token{
				{Symbol: "USDT", Contract: "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB", Decimals: 6},
				{Symbol: "USDC", Contract: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", Decimals: 6},
			},
		},

		// Testnets. Only Circle's testnet USDC is built in: Tether publishes no
		// testnet USDT, and faucet tokens by others come and go.
		{
			ID: "sepolia", Name: "Sepolia", Kind: KindEVM, ChainID: 11155111, Testnet: true,
			RPCURLs:       []string{"https://ethereum-sepolia-rpc.publicnode.com"},
			BlockTime:     12 * time.Second,
			Confirmation:  ConfirmationPolicy{Mode: ConfirmFinalized, Blocks: 64},
			ExplorerTxURL: "https://sepolia.etherscan.io/tx/%s",
			FeeClass:      FeeHigh, NativeSymbol: "ETH",
			Tokens: []Token{
				{Symbol: "USDC", Contract: "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238", Decimals: 6},
			},
		},
		{
			ID: "amoy", Name: "Polygon Amoy", Kind: KindEVM, ChainID: 80002, Testnet: true,
			RPCURLs:       []string{"https://polygon-amoy-bor-rpc.publicnode.com", "https://rpc-amoy.polygon.technology"},
			BlockTime:     2 * time.Second,
			Confirmation:  ConfirmationPolicy{Mode: ConfirmFinalized, Blocks: 32},
			ExplorerTxURL: "https://amoy.polygonscan.com/tx/%s",
			FeeClass:      FeeLow, NativeSymbol: "POL",
			Tokens: []Token{
				{Symbol: "USDC", Contract: "0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582", Decimals: 6},
			},
		},
		{
			ID: "bsc-testnet", Name: "BNB Smart Chain Testnet", Kind: KindEVM, ChainID: 97, Testnet: true,
			RPCURLs:       []string{"https://bsc-testnet-rpc.publicnode.com", "https://data-seed-prebsc-1-s1.bnbchain.org:8545"},
			BlockTime:     750 * time.Millisecond,
			Confirmation:  ConfirmationPolicy{Mode: ConfirmFinalized, Blocks: 15},
			ExplorerTxURL: "https://testnet.bscscan.com/tx/%s",
			FeeClass:      FeeLow, NativeSymbol: "BNB",
			// No tokens: Circle has no USDC on BSC testnet and the Binance-Peg
			// test tokens have no canonical address. Add one through config.
		},
		{
			ID: "arbitrum-sepolia", Name: "Arbitrum Sepolia", Kind: KindEVM, ChainID: 421614, Testnet: true,
			RPCURLs:       []string{"https://arbitrum-sepolia-rpc.publicnode.com", "https://sepolia-rollup.arbitrum.io/rpc"},
			BlockTime:     250 * time.Millisecond,
			Confirmation:  ConfirmationPolicy{Mode: ConfirmSafe, Blocks: 480},
			ExplorerTxURL: "https://sepolia.arbiscan.io/tx/%s",
			FeeClass:      FeeLow, NativeSymbol: "ETH",
			Tokens: []Token{
				{Symbol: "USDC", Contract: "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d", Decimals: 6},
			},
		},
		{
			ID: "base-sepolia", Name: "Base Sepolia", Kind: KindEVM, ChainID: 84532, Testnet: true,
			RPCURLs:       []string{"https://base-sepolia-rpc.publicnode.com", "https://sepolia.base.org"},
			BlockTime:     2 * time.Second,
			Confirmation:  ConfirmationPolicy{Mode: ConfirmSafe, Blocks: 60},
			ExplorerTxURL: "https://sepolia.basescan.org/tx/%s",
			FeeClass:      FeeLow, NativeSymbol: "ETH",
			Tokens: []Token{
				{Symbol: "USDC", Contract: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", Decimals: 6},
			},
		},
		{
			ID: "optimism-sepolia", Name: "OP Sepolia", Kind: KindEVM, ChainID: 11155420, Testnet: true,
			RPCURLs:       []string{"https://optimism-sepolia-rpc.publicnode.com", "https://sepolia.optimism.io"},
			BlockTime:     2 * time.Second,
			Confirmation:  ConfirmationPolicy{Mode: ConfirmSafe, Blocks: 60},
			ExplorerTxURL: "https://sepolia-optimism.etherscan.io/tx/%s",
			FeeClass:      FeeLow, NativeSymbol: "ETH",
			Tokens: []Token{
				{Symbol: "USDC", Contract: "0x5fd84259d66Cd46123540766Be93DFE6D43130D7", Decimals: 6},
			},
		},
		{
			ID: "fuji", Name: "Avalanche Fuji", Kind: KindEVM, ChainID: 43113, Testnet: true,
			RPCURLs:       []string{"https://avalanche-fuji-c-chain-rpc.publicnode.com", "https://api.avax-test.network/ext/bc/C/rpc"},
			BlockTime:     2 * time.Second,
			Confirmation:  ConfirmationPolicy{Mode: ConfirmBlocks, Blocks: 1},
			ExplorerTxURL: "https://testnet.snowtrace.io/tx/%s",
			FeeClass:      FeeLow, NativeSymbol: "AVAX",
			Tokens: []Token{
				{Symbol: "USDC", Contract: "0x5425890298aed601595a70AB815c96711a31Bc65", Decimals: 6},
			},
		},
		{
			ID: "solana-devnet", Name: "Solana Devnet", Kind: KindSolana, Testnet: true,
			RPCURLs:       []string{"https://api.devnet.solana.com"},
			BlockTime:     400 * time.Millisecond,
			Confirmation:  ConfirmationPolicy{Mode: ConfirmFinalized},
			ExplorerTxURL: "https://solscan.io/tx/%s?cluster=devnet",
			FeeClass:      FeeLow, NativeSymbol: "SOL",
			Tokens: []Token{
				{Symbol: "USDC", Contract: "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU", Decimals: 6},
			},
		},
	}
}
