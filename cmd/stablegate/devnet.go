package main

import (
	"context"
	"crypto/ecdsa"
	"flag"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"gopkg.in/yaml.v3"

	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/chains/evm/devnet"
)

// anvilKey is the private key of anvil's first pre-funded account. It is
// public knowledge and only ever used against local development chains.
const anvilKey = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

// runDevnet deploys test USDT and USDC to a local EVM node (anvil in
// docker-compose) and writes a gateway config file naming that chain, so
// `stablegate serve` can watch it like any other network.
func runDevnet(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "init" {
		return fmt.Errorf("usage: stablegate devnet init --rpc URL --out FILE [--redis-url URL] [--listen ADDR]")
	}
	fs := flag.NewFlagSet("devnet init", flag.ContinueOnError)
	rpcURL := fs.String("rpc", "http://127.0.0.1:8545", "JSON-RPC URL of the local node")
	gatewayRPC := fs.String("gateway-rpc", "", "RPC URL the gateway uses (default: --rpc)")
	out := fs.String("out", "stablegate.yaml", "config file to write")
	redisURL := fs.String("redis-url", "redis://127.0.0.1:6379/0", "redis_url for the config file")
	listen := fs.String("listen", ":8080", "listen address for the config file")
	keyHex := fs.String("key", anvilKey, "hex private key of a funded account on the node (test-only)")
	wait := fs.Duration("wait", 60*time.Second, "how long to wait for the node to answer")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	key, err := crypto.HexToECDSA(strings.TrimPrefix(*keyHex, "0x"))
	if err != nil {
		return fmt.Errorf("--key: %w", err)
	}
	c, chainID, err := dialWhenUp(ctx, *rpcURL, *wait)
	if err != nil {
		return err
	}
	defer c.Close()
	tokens, err := deployTestTokens(ctx, c, key, chainID)
	if err != nil {
		return err
	}
	if *gatewayRPC == "" {
		*gatewayRPC = *rpcURL
	}
	yes := true
	one := uint64(1)
	cfg := DefaultConfig()
	cfg.Listen = *listen
	cfg.RedisURL = *redisURL
	cfg.Chains.Chains = []chains.ChainConfig{{
		ID: devChainID, Name: "Local devnet", Kind: chains.KindEVM, ChainID: chainID.Uint64(), Testnet: &yes,
		RPCURLs: []string{*gatewayRPC}, Confirmation: &chains.ConfirmationConfig{Mode: "blocks", Blocks: &one},
		Tokens: tokens,
	}}
	b, err := yaml.Marshal(fileConfig(cfg))
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	fmt.Fprintf(os.Stdout, "deployed test USDT %s and USDC %s on chain %s; wrote %s\n",
		tokens[0].Contract, tokens[1].Contract, chainID, *out)
	return nil
}

// fileConfig is the subset of Config written by devnet init.
func fileConfig(c Config) map[string]any {
	return map[string]any{"listen": c.Listen, "redis_url": c.RedisURL, "chains": c.Chains}
}

func dialWhenUp(ctx context.Context, url string, wait time.Duration) (*ethclient.Client, *big.Int, error) {
	deadline := time.Now().Add(wait)
	for {
		c, err := ethclient.DialContext(ctx, url)
		if err == nil {
			id, err := c.ChainID(ctx)
			if err == nil {
				return c, id, nil
			}
			c.Close()
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("node at %s did not answer within %s: %v", url, wait, err)
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func deployTestTokens(ctx context.Context, c *ethclient.Client, key *ecdsa.PrivateKey, chainID *big.Int) ([]chains.TokenConfig, error) {
	var out []chains.TokenConfig
	owner := crypto.PubkeyToAddress(key.PublicKey)
	supply := new(big.Int).Mul(big.NewInt(1_000_000_000), big.NewInt(1_000_000)) // one billion tokens
	for _, sym := range []string{"USDT", "USDC"} {
		addr, err := devnet.DeployToken(ctx, c, key, chainID, "Test "+sym, sym, 6)
		if err != nil {
			return nil, fmt.Errorf("deploy %s: %w", sym, err)
		}
		if _, err := devnet.MintToken(ctx, c, key, chainID, addr, owner, supply); err != nil {
			return nil, fmt.Errorf("mint %s: %w", sym, err)
		}
		out = append(out, chains.TokenConfig{Symbol: sym, Contract: addr.Hex(), Decimals: 6})
	}
	return out, nil
}
