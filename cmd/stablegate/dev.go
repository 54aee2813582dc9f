package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/ethereum/go-ethereum/crypto"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/chains/evm/devnet"
)

// devChainID is the registry id of the in-process devnet.
const devChainID = "devnet"

// runDev starts everything in one process for trying Stablegate out: an
// embedded Redis-compatible store (unless REDIS_URL is set), an in-process
// EVM devnet with test USDT and USDC, a demo merchant with a wallet, and the
// API. Nothing here is for production: the store lives in memory and the
// devnet's faucet key is public.
func runDev(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	defaults := DefaultConfig()
	defaults.Listen = "127.0.0.1:8080"
	defaults.LogLevel = "warn"
	blockTime := fs.Duration("block-time", time.Second, "devnet block time")
	cfg, err := loadConfig(fs, args, defaults)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)

	storeDesc := "external Redis at " + redactURL(cfg.RedisURL, cfg.RedisAddrs)
	if cfg.RedisURL == "" && len(cfg.RedisAddrs) == 0 {
		mr := miniredis.NewMiniRedis()
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return fmt.Errorf("start embedded store: %w", err)
		}
		defer mr.Close()
		cfg.RedisURL = "redis://" + mr.Addr()
		storeDesc = "embedded in-memory store (data is lost on exit; set REDIS_URL to keep it)"
	}
	if cfg.OperatorToken == "" {
		cfg.OperatorToken = "op_dev_" + randomHex(12)
	}

	dn, err := devnet.Start(ctx, devnet.Options{BlockTime: *blockTime})
	if err != nil {
		return fmt.Errorf("start devnet: %w", err)
	}
	defer dn.Close()
	yes := true
	one := uint64(1)
	cfg.Chains.Chains = append(cfg.Chains.Chains, chains.ChainConfig{
		ID:           devChainID,
		Name:         "Local devnet",
		Kind:         chains.KindEVM,
		ChainID:      dn.ChainID(),
		Testnet:      &yes,
		RPCURLs:      []string{dn.RPCURL()},
		BlockTime:    chains.Duration(*blockTime),
		Confirmation: &chains.ConfirmationConfig{Mode: "blocks", Blocks: &one},
		Tokens: []chains.TokenConfig{
			{Symbol: "USDT", Contract: dn.Token("USDT").Hex(), Decimals: 6},
			{Symbol: "USDC", Contract: dn.Token("USDC").Hex(), Decimals: 6},
		},
	})
	if cfg.Watch == nil {
		cfg.Watch = []string{devChainID} // try-it-out mode touches no public network
	}
	// Webhooks to a receiver on this machine, as when trying it out.
	cfg.Webhooks.Allow = append(cfg.Webhooks.Allow, "127.0.0.0/8", "::1/128", "localhost")
	a, closeApp, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeApp()
	secret, wallet, err := a.seedDemo(ctx)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	base := cfg.PublicURL
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	fmt.Fprintf(os.Stdout, `
Stablegate dev is running. For trying out only: nothing here is for production.

  API            %s/v1   (OpenAPI: %s/v1/openapi.json)
  Store          %s
  Devnet         %s (chain id %d, chain "%s")
  Test USDT      %s
  Test USDC      %s
  Demo merchant  wallet %s on %s
  API key        %s
  Operator token %s

Create a checkout:

  curl -s %s/v1/checkouts \
    -H "Authorization: Bearer %s" \
    -H "Content-Type: application/json" \
    -d '{"price":"49.00","payment_method":{"chain":"%s","token":"USDC"}}'

Pay it from the devnet faucet (dev mode only), then watch it become paid:

  curl -s %s/dev/pay -H "Authorization: Bearer %s" -d '{"checkout":"co_..."}'
  curl -s %s/v1/checkouts/co_... -H "Authorization: Bearer %s"

`, base, base, storeDesc, dn.RPCURL(), dn.ChainID(), devChainID, dn.Token("USDT").Hex(), dn.Token("USDC").Hex(),
		wallet, devChainID, secret, cfg.OperatorToken, base, secret, devChainID, base, secret, base, secret)
	mux := http.NewServeMux()
	mux.Handle("/dev/pay", a.devPayHandler(dn))
	mux.Handle("/", a.api.Handler())
	return a.serveHandler(ctx, ln, mux)
}

// seedDemo creates the demo merchant with a test key and a devnet wallet.
func (a *app) seedDemo(ctx context.Context) (secret, wallet string, err error) {
	m, err := a.merchants.Create(ctx, "Demo Store")
	if err != nil {
		return "", "", err
	}
	_, secret, err = a.merchants.CreateKey(ctx, m.ID, sg.KeySecret, false)
	if err != nil {
		return "", "", err
	}
	key, err := crypto.GenerateKey()
	if err != nil {
		return "", "", err
	}
	addr := crypto.PubkeyToAddress(key.PublicKey).Hex()
	p := sg.Principal{MerchantID: m.ID, Kind: sg.KeySecret, Livemode: false}
	if _, err := a.merchants.AddWallet(ctx, p, devChainID, addr); err != nil {
		return "", "", err
	}
	return secret, addr, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
