package chains_test

import (
	"math/big"
	"testing"

	"github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
)

const (
	evmPayee    = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
	solanaPayee = "mvines9iiHiQTysrwkJjGf2gb9Ex9jXJX8ns3qwf2kN"
	reference   = "D52QTguEJp2QDmghjfCpgjzTFfbXMUA4WLGRtfaebVSV"
)

// TestPaymentURIBuiltins pins the URI of 50.00012 in every built-in token,
// which also pins every built-in contract, chain id and decimals.
func TestPaymentURIBuiltins(t *testing.T) {
	tests := []struct {
		chain, token, want string
	}{
		{"ethereum", "USDT", "ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7@1/transfer?address=" + evmPayee + "&uint256=50000120"},
		{"ethereum", "USDC", "ethereum:0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48@1/transfer?address=" + evmPayee + "&uint256=50000120"},
		{"polygon", "USDT", "ethereum:0xc2132D05D31c914a87C6611C10748AEb04B58e8F@137/transfer?address=" + evmPayee + "&uint256=50000120"},
		{"polygon", "USDC", "ethereum:0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359@137/transfer?address=" + evmPayee + "&uint256=50000120"},
		{"bsc", "USDT", "ethereum:0x55d398326f99059fF775485246999027B3197955@56/transfer?address=" + evmPayee + "&uint256=50000120000000000000"},
		{"bsc", "USDC", "ethereum:0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d@56/transfer?address=" + evmPayee + "&uint256=50000120000000000000"},
		{"arbitrum", "USDT", "ethereum:0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9@42161/transfer?address=" + evmPayee + "&uint256=50000120"},
		{"arbitrum", "USDC", "ethereum:0xaf88d065e77c8cC2239327C5EDb3A432268e5831@42161/transfer?address=" + evmPayee + "&uint256=50000120"},
		{"base", "USDC", "ethereum:0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913@8453/transfer?address=" + evmPayee + "&uint256=50000120"},
		{"optimism", "USDT", "ethereum:0x01bFF41798a0BcF287b996046Ca68b395DbC1071@10/transfer?address=" + evmPayee + "&uint256=50000120"},
		{"optimism", "USDC", "ethereum:0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85@10/transfer?address=" + evmPayee + "&uint256=50000120"},
		{"avalanche", "USDT", "ethereum:0x9702230A8Ea53601f5cD2dc00fDBc13d4dF4A8c7@43114/transfer?address=" + evmPayee + "&uint256=50000120"},
		{"avalanche", "USDC", "ethereum:0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E@43114/transfer?address=" + evmPayee + "&uint256=50000120"},
		{"solana", "USDT", "solana:" + solanaPayee + "?amount=50.00012&spl-token=Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"},
		{"solana", "USDC", "solana:" + solanaPayee + "?amount=50.00012&spl-token=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"},
		{"sepolia", "USDC", "ethereum:0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238@11155111/transfer?address=" + evmPayee + "&uint256=50000120"},
		{"amoy", "USDC", "ethereum:0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582@80002/transfer?address=" + evmPayee + "&uint256=50000120"},
		{"arbitrum-sepolia", "USDC", "ethereum:0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d@421614/transfer?address=" + evmPayee + "&uint256=50000120"},
		{"base-sepolia", "USDC", "ethereum:0x036CbD53842c5426634e7929541eC2318f3dCF7e@84532/transfer?address=" + evmPayee + "&uint256=50000120"},
		{"optimism-sepolia", "USDC", "ethereum:0x5fd84259d66Cd46123540766Be93DFE6D43130D7@11155420/transfer?address=" + evmPayee + "&uint256=50000120"},
		{"fuji", "USDC", "ethereum:0x5425890298aed601595a70AB815c96711a31Bc65@43113/transfer?address=" + evmPayee + "&uint256=50000120"},
		{"solana-devnet", "USDC", "solana:" + solanaPayee + "?amount=50.00012&spl-token=4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU"},
	}
	r := chains.Builtin()
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.chain+"/"+tt.token, func(t *testing.T) {
			c, tok, err := r.Lookup(tt.chain, tt.token)
			if err != nil {
				t.Fatal(err)
			}
			covered[tt.chain+"/"+tok.Symbol] = true
			amount, err := stablegate.ParseUnits("50.00012", tok.Decimals)
			if err != nil {
				t.Fatal(err)
			}
			// EVM recipients go in lower case to show they come out checksummed.
			to := solanaPayee
			if c.Kind == chains.KindEVM {
				to = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
			}
			got, err := chains.PaymentURI(c, tok, to, amount, chains.URIOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	for _, c := range r.Chains() {
		for _, tok := range c.Tokens {
			if !covered[c.ID+"/"+tok.Symbol] {
				t.Errorf("no PaymentURI case for %s/%s", c.ID, tok.Symbol)
			}
		}
	}
}

func TestPaymentURISolanaPay(t *testing.T) {
	tests := []struct {
		name   string
		amount string
		opts   chains.URIOptions
		want   string
	}{
		{
			name:   "reference, label and message are escaped",
			amount: "50.00012",
			opts:   chains.URIOptions{Reference: reference, Label: "Stablegate Shop & Co", Message: "Order #1234: 2× café/tea?=+"},
			want: "solana:" + solanaPayee + "?amount=50.00012&spl-token=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v" +
				"&reference=" + reference +
				"&label=Stablegate%20Shop%20%26%20Co" +
				"&message=Order%20%231234%3A%202%C3%97%20caf%C3%A9%2Ftea%3F%3D%2B",
		},
		{
			name:   "label only",
			amount: "1.5",
			opts:   chains.URIOptions{Label: "Shop"},
			want:   "solana:" + solanaPayee + "?amount=1.5&spl-token=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v&label=Shop",
		},
		{
			name:   "whole amount has no fraction",
			amount: "50.00",
			want:   "solana:" + solanaPayee + "?amount=50&spl-token=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
		},
		{
			name:   "trailing zeros are trimmed",
			amount: "49.10",
			want:   "solana:" + solanaPayee + "?amount=49.1&spl-token=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
		},
		{
			name:   "below one keeps the leading zero",
			amount: "0.000001",
			want:   "solana:" + solanaPayee + "?amount=0.000001&spl-token=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
		},
		{
			name:   "large amount has no exponent",
			amount: "1000000000.00001",
			want:   "solana:" + solanaPayee + "?amount=1000000000.00001&spl-token=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
		},
	}
	c, tok, err := chains.Builtin().Lookup("solana", "USDC")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			amount, err := stablegate.ParseUnits(tt.amount, tok.Decimals)
			if err != nil {
				t.Fatal(err)
			}
			got, err := chains.PaymentURI(c, tok, solanaPayee, amount, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestPaymentURIEVMIgnoresSolanaOptions(t *testing.T) {
	c, tok, _ := chains.Builtin().Lookup("base", "USDC")
	got, err := chains.PaymentURI(c, tok, evmPayee, big.NewInt(1500000),
		chains.URIOptions{Reference: reference, Label: "Shop", Message: "Order 1"})
	if err != nil {
		t.Fatal(err)
	}
	want := "ethereum:0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913@8453/transfer?address=" + evmPayee + "&uint256=1500000"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestPaymentURIRejects(t *testing.T) {
	r := chains.Builtin()
	base, baseUSDC, _ := r.Lookup("base", "USDC")
	_, ethUSDC, _ := r.Lookup("ethereum", "USDC")
	sol, solUSDC, _ := r.Lookup("solana", "USDC")
	maxU256 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	tests := []struct {
		name          string
		chain         *chains.Chain
		token         *chains.Token
		to            string
		amount        *big.Int
		opts          chains.URIOptions
		reason, param string
	}{
		{"nil chain", nil, baseUSDC, evmPayee, big.NewInt(1), chains.URIOptions{}, "token_unknown", "token"},
		{"nil token", base, nil, evmPayee, big.NewInt(1), chains.URIOptions{}, "token_unknown", "token"},
		{"token of another chain", base, ethUSDC, evmPayee, big.NewInt(1), chains.URIOptions{}, "token_unknown", "token"},
		{"look-alike token", base, &chains.Token{Symbol: "USDC", Contract: evmPayee, Decimals: 6}, evmPayee, big.NewInt(1), chains.URIOptions{}, "token_unknown", "token"},
		{"wrong decimals", base, &chains.Token{Symbol: "USDC", Contract: baseUSDC.Contract, Decimals: 18}, evmPayee, big.NewInt(1), chains.URIOptions{}, "token_unknown", "token"},
		{"bad checksum recipient", base, baseUSDC, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", big.NewInt(1), chains.URIOptions{}, "address_checksum_invalid", "address"},
		{"solana recipient on evm", base, baseUSDC, solanaPayee, big.NewInt(1), chains.URIOptions{}, "address_invalid", "address"},
		{"evm recipient on solana", sol, solUSDC, evmPayee, big.NewInt(1), chains.URIOptions{}, "address_invalid", "address"},
		{"nil amount", base, baseUSDC, evmPayee, nil, chains.URIOptions{}, "amount_invalid", "amount"},
		{"zero amount", base, baseUSDC, evmPayee, big.NewInt(0), chains.URIOptions{}, "amount_invalid", "amount"},
		{"negative amount", sol, solUSDC, solanaPayee, big.NewInt(-5), chains.URIOptions{}, "amount_invalid", "amount"},
		{"amount above uint256", base, baseUSDC, evmPayee, new(big.Int).Add(maxU256, big.NewInt(1)), chains.URIOptions{}, "amount_invalid", "amount"},
		{"amount above u64 on solana", sol, solUSDC, solanaPayee, new(big.Int).Lsh(big.NewInt(1), 64), chains.URIOptions{}, "amount_invalid", "amount"},
		{"reference not base58", sol, solUSDC, solanaPayee, big.NewInt(1), chains.URIOptions{Reference: "not a key"}, "reference_invalid", "reference"},
		{"reference is an evm address", sol, solUSDC, solanaPayee, big.NewInt(1), chains.URIOptions{Reference: evmPayee}, "reference_invalid", "reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := chains.PaymentURI(tt.chain, tt.token, tt.to, tt.amount, tt.opts)
			wantError(t, err, tt.reason, tt.param)
			if got != "" {
				t.Fatalf("got %q with an error", got)
			}
		})
	}
	// The boundaries themselves are accepted.
	if _, err := chains.PaymentURI(base, baseUSDC, evmPayee, maxU256, chains.URIOptions{}); err != nil {
		t.Fatalf("max uint256: %v", err)
	}
	maxU64 := new(big.Int).SetUint64(^uint64(0))
	if _, err := chains.PaymentURI(sol, solUSDC, solanaPayee, maxU64, chains.URIOptions{}); err != nil {
		t.Fatalf("max u64: %v", err)
	}
}
