// Package devnet runs an in-process EVM development chain with test USDT and
// USDC, for `stablegate dev` and for tests.
//
// It wraps go-ethereum's simulated backend (ethclient/simulated), which is a
// real geth node without peer-to-peer networking, and serves its JSON-RPC
// over HTTP and WebSocket on one port (loopback unless Options.Addr says
// otherwise). The gateway talks to it through ethclient exactly as it talks
// to a public node, so the code under test is the code that runs in
// production.
//
// Finality follows go-ethereum's simulated beacon: the "safe" block is the
// head itself, and the "finalized" block is the last multiple of 32 at or
// below the head (genesis until block 32). With the default one-second
// blocks, "finalized" therefore lags the head by up to 31 seconds.
//
// The package also has helpers (DeployToken, MintToken, TransferToken) that
// work against any node, anvil included.
//
// Everything here is for development and tests only: the faucet key is
// public knowledge and the tokens are worthless.
package devnet

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
)

// FaucetKeyHex is the private key of the devnet's faucet account, which owns
// the test tokens and holds their whole supply and a large ether balance.
//
// It is the first account of the well-known "test test ... junk" mnemonic
// that Hardhat and anvil fund by default: public knowledge, for tests and
// local development only. Never send anything of value to its address.
const FaucetKeyHex = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

// FaucetAddress is the address of FaucetKeyHex
// (0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266).
var FaucetAddress = crypto.PubkeyToAddress(FaucetKey().PublicKey)

// FaucetKey returns the faucet's private key (see FaucetKeyHex): test-only.
func FaucetKey() *ecdsa.PrivateKey {
	key, err := crypto.HexToECDSA(FaucetKeyHex)
	if err != nil {
		panic("devnet: bad faucet key: " + err.Error()) // a constant; cannot happen
	}
	return key
}

// TokenDecimals is the number of decimals of the devnet's test USDT and USDC,
// as on most real chains.
const TokenDecimals = 6

// Token symbols deployed by Start.
const (
	USDT = "USDT"
	USDC = "USDC"
)

var (
	// faucetEther is the faucet's ether balance at genesis: 10^9 ether, enough
	// gas for any test or demo.
	faucetEther = new(big.Int).Exp(big.NewInt(10), big.NewInt(27), nil)
	// faucetTokens is how much of each token is minted to the faucet:
	// 10^12 whole tokens.
	faucetTokens = new(big.Int).Exp(big.NewInt(10), big.NewInt(12+TokenDecimals), nil)
)

// Options configures Start. The zero value is valid.
type Options struct {
	// ChainID is the chain id reported by eth_chainId and used for signing.
	// Default 1337.
	ChainID uint64
	// BlockTime is how often a block is committed, empty or not, so that
	// confirmations advance as on a real chain. Default 1s. A negative value
	// means manual mining: only Commit makes blocks, which tests use for
	// determinism.
	//
	// Block timestamps are whole seconds and strictly increasing, so below
	// one second they run ahead of the wall clock (by about 19 s per second
	// of 50 ms blocks).
	BlockTime time.Duration
	// Addr is the listen address for JSON-RPC over HTTP and WebSocket (one
	// port serves both). Default "127.0.0.1:0", a random free port. An empty
	// host listens on all interfaces.
	Addr string
}

// withDefaults returns o with zero fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.ChainID == 0 {
		o.ChainID = 1337
	}
	if o.BlockTime == 0 {
		o.BlockTime = time.Second
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	return o
}

// Devnet is a running in-process development chain. Create it with Start and
// stop it with Close. Its methods are safe for concurrent use.
type Devnet struct {
	backend *simulated.Backend
	client  *ethclient.Client // over the devnet's own HTTP endpoint
	chainID *big.Int
	rpcURL  string
	wsURL   string
	tokens  map[string]common.Address

	// mu serialises block production (the simulated beacon is not safe for
	// concurrent use) and Close.
	mu     sync.Mutex
	closed bool
	// faucetMu serialises faucet transactions so that each one takes the
	// next nonce.
	faucetMu sync.Mutex

	stop chan struct{} // closed by Close to end the block loop
	done chan struct{} // closed when the block loop has returned
}

// Start starts a devnet: it funds the faucet account (FaucetAddress) at
// genesis, deploys test "USDT" and "USDC" with 6 decimals, mints
// 10^12 of each to the faucet, starts serving JSON-RPC on opts.Addr and, unless
// opts.BlockTime is negative, starts committing a block every BlockTime.
//
// ctx bounds the set-up only; the devnet runs until Close.
func Start(ctx context.Context, opts Options) (*Devnet, error) {
	opts = opts.withDefaults()
	host, port, err := listenAddr(opts.Addr)
	if err != nil {
		return nil, err
	}
	backend, port, err := newBackend(opts.ChainID, host, port)
	if err != nil {
		return nil, err
	}
	d := &Devnet{
		backend: backend,
		chainID: new(big.Int).SetUint64(opts.ChainID),
		rpcURL:  "http://" + net.JoinHostPort(dialHost(host), strconv.Itoa(port)),
		wsURL:   "ws://" + net.JoinHostPort(dialHost(host), strconv.Itoa(port)),
		tokens:  make(map[string]common.Address),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	// The block loop is not running yet; close(done) lets Close wait on it
	// uniformly if set-up fails.
	fail := func(err error) (*Devnet, error) {
		close(d.done)
		return nil, errors.Join(err, d.Close())
	}
	d.client, err = ethclient.DialContext(ctx, d.rpcURL)
	if err != nil {
		return fail(fmt.Errorf("dial devnet rpc: %w", err))
	}
	if err := d.deployTokens(ctx); err != nil {
		return fail(err)
	}
	if opts.BlockTime > 0 {
		go d.mine(opts.BlockTime)
	} else {
		close(d.done)
	}
	return d, nil
}

// deployTokens deploys USDT and USDC and mints faucetTokens of each to the
// faucet, committing blocks by hand so it works in every mining mode.
func (d *Devnet) deployTokens(ctx context.Context) error {
	key := FaucetKey()
	deploys := make(map[string]*types.Transaction)
	for _, symbol := range []string{USDT, USDC} {
		addr, tx, err := sendDeploy(ctx, d.client, key, d.chainID, "Test "+symbol, symbol, TokenDecimals)
		if err != nil {
			return fmt.Errorf("deploy %s: %w", symbol, err)
		}
		d.tokens[symbol] = addr
		deploys[symbol] = tx
	}
	d.Commit()
	mints := make(map[string]*types.Transaction)
	for _, symbol := range []string{USDT, USDC} {
		if err := checkReceipt(ctx, d.client, deploys[symbol].Hash()); err != nil {
			return fmt.Errorf("deploy %s: %w", symbol, err)
		}
		tx, err := sendCall(ctx, d.client, key, d.chainID, d.tokens[symbol], "mint", FaucetAddress, faucetTokens)
		if err != nil {
			return fmt.Errorf("mint %s: %w", symbol, err)
		}
		mints[symbol] = tx
	}
	d.Commit()
	for _, symbol := range []string{USDT, USDC} {
		if err := checkReceipt(ctx, d.client, mints[symbol].Hash()); err != nil {
			return fmt.Errorf("mint %s: %w", symbol, err)
		}
	}
	return nil
}

// checkReceipt fails unless the transaction is mined and succeeded. It does
// not wait: the caller has just committed the block.
func checkReceipt(ctx context.Context, c *ethclient.Client, hash common.Hash) error {
	r, err := c.TransactionReceipt(ctx, hash)
	if err != nil {
		return fmt.Errorf("receipt of %s: %w", hash, err)
	}
	if r.Status != types.ReceiptStatusSuccessful {
		return fmt.Errorf("transaction %s reverted", hash)
	}
	return nil
}

// mine commits a block every blockTime until Close.
func (d *Devnet) mine(blockTime time.Duration) {
	defer close(d.done)
	t := time.NewTicker(blockTime)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			d.Commit()
		}
	}
}

// RPCURL returns the JSON-RPC over HTTP endpoint, e.g. "http://127.0.0.1:40123".
func (d *Devnet) RPCURL() string { return d.rpcURL }

// WSURL returns the JSON-RPC over WebSocket endpoint, on the same port as
// RPCURL, e.g. "ws://127.0.0.1:40123".
func (d *Devnet) WSURL() string { return d.wsURL }

// ChainID returns the devnet's chain id.
func (d *Devnet) ChainID() uint64 { return d.chainID.Uint64() }

// Faucet returns the address that holds the test tokens and ether
// (FaucetAddress).
func (d *Devnet) Faucet() common.Address { return FaucetAddress }

// Token returns the contract address of the test token with the given symbol,
// "USDT" or "USDC", or the zero address for any other symbol.
func (d *Devnet) Token(symbol string) common.Address { return d.tokens[symbol] }

// Transfer sends amount base units of token from the faucet to `to`. It
// returns the transaction hash once the transaction is pending in the pool;
// the transaction is included in the next block.
func (d *Devnet) Transfer(ctx context.Context, token, to common.Address, amount *big.Int) (common.Hash, error) {
	d.faucetMu.Lock()
	defer d.faucetMu.Unlock()
	return TransferToken(ctx, d.client, FaucetKey(), d.chainID, token, to, amount)
}

// Commit commits a block now, with whatever transactions are pending, and
// returns the new head's hash. After Close it does nothing and returns the
// zero hash.
func (d *Devnet) Commit() common.Hash {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return common.Hash{}
	}
	return d.backend.Commit()
}

// Backend returns the simulated backend, for tests that need Fork (reorgs),
// Rollback or AdjustTime. Use it with manual mining only: the block loop does
// not coordinate with direct calls on the backend.
func (d *Devnet) Backend() *simulated.Backend { return d.backend }

// Close stops block production and the RPC server and releases the chain.
// It is safe to call more than once.
func (d *Devnet) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	close(d.stop)
	d.mu.Unlock()
	<-d.done
	if d.client != nil {
		d.client.Close()
	}
	return d.backend.Close()
}

// listenAddr splits addr into a host and a port for node.Config; an empty
// host means all interfaces.
func listenAddr(addr string) (host string, port int, err error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("devnet listen address %q: %w", addr, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("devnet listen address %q: bad port", addr)
	}
	if h == "" {
		h = "0.0.0.0"
	}
	return h, port, nil
}

// dialHost returns the host a client on this machine dials to reach a server
// listening on host.
func dialHost(host string) string {
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if ip.To4() != nil {
			return "127.0.0.1"
		}
		return "::1"
	}
	return host
}

// newBackend starts a simulated backend serving JSON-RPC on host:port and
// returns it with the port it listens on.
//
// The embedded node.Node is unexported in simulated.Backend, so there is no
// way to ask it which port it bound when given port 0. Instead a free port is
// found here by binding and releasing it, and handed to the node. Another
// process could take the port in between; then the node fails to start and
// another port is tried.
func newBackend(chainID uint64, host string, port int) (*simulated.Backend, int, error) {
	const tries = 5
	var err error
	for range tries {
		p := port
		if p == 0 {
			if p, err = freePort(host); err != nil {
				return nil, 0, err
			}
		}
		var b *simulated.Backend
		if b, err = newBackendOn(chainID, host, p); err == nil {
			return b, p, nil
		}
		if port != 0 {
			break // a fixed port: retrying will not help
		}
	}
	return nil, 0, fmt.Errorf("start simulated backend on %s: %w", net.JoinHostPort(host, strconv.Itoa(port)), err)
}

// freePort returns a TCP port on host that was free a moment ago.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// newBackendOn starts a simulated backend serving JSON-RPC on host:port.
// simulated.NewBackend panics when the node fails to start (a port in use,
// say); the panic is turned into an error.
func newBackendOn(chainID uint64, host string, port int) (b *simulated.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	alloc := types.GenesisAlloc{FaucetAddress: {Balance: faucetEther}}
	return simulated.NewBackend(alloc, func(nc *node.Config, ec *ethconfig.Config) {
		// The same host and port for HTTP and WebSocket makes the node serve
		// both on one listener.
		nc.HTTPHost, nc.HTTPPort = host, port
		nc.WSHost, nc.WSPort = host, port
		modules := []string{"eth", "net", "web3"}
		nc.HTTPModules, nc.WSModules = modules, modules
		// A development chain: let a browser page or wallet on any origin,
		// and a container reached by any host name, talk to it.
		nc.HTTPVirtualHosts = []string{"*"}
		nc.HTTPCors = []string{"*"}
		nc.WSOrigins = []string{"*"}

		// Genesis.Config points at the shared params.AllDevChainProtocolChanges:
		// copy it before changing the chain id.
		cfg := *ec.Genesis.Config
		cfg.ChainID = new(big.Int).SetUint64(chainID)
		ec.Genesis.Config = &cfg
		ec.NetworkId = chainID
	}), nil
}
