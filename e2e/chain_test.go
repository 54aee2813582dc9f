package e2e_test

import (
	"context"
	"errors"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/stablegate/stablegate/chains/evm/anviltest"
	"github.com/stablegate/stablegate/chains/evm/devnet"
)

// anvilChainID is the chain id anvil is started with.
const anvilChainID = anviltest.ChainID

// pollInterval is how often the tests poll a node or the gateway inside a
// deadline loop.
const pollInterval = 50 * time.Millisecond

// eventually polls cond every pollInterval until it returns true, and fails
// the test with what when within does not suffice.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	eventuallyState(t, within, what, func() (bool, string) { return cond(), "" })
}

// eventuallyState is eventually with a cond that also describes the state
// it saw, for the failure message.
func eventuallyState(t testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			if state != "" {
				state = "; last seen: " + state
			}
			t.Fatalf("timed out after %s waiting for %s%s", within, what, state)
		}
		time.Sleep(pollInterval) // a poll interval inside a deadline loop
	}
}

// testChain is an anvil node with test USDT and USDC, both owned by and
// minted to anvil's first account (devnet.FaucetKey).
type testChain struct {
	rpcURL, wsURL string
	client        *ethclient.Client
	chainID       *big.Int
	usdt, usdc    common.Address
}

// startChain starts anvil with one-second blocks on a free port, deploys
// and mints the tokens, and stops anvil when the test ends.
//
// The npm package's anvil is a node script that spawns the real binary, so
// anvil runs in a process group of its own and the whole group is killed:
// killing the script alone would leave the node running.
func startChain(t testing.TB) *testChain {
	t.Helper()
	rpcURL, wsURL := anviltest.Start(t, "--block-time", "1")
	c := &testChain{rpcURL: rpcURL, wsURL: wsURL, chainID: big.NewInt(anvilChainID)}
	cl, err := ethclient.Dial(c.rpcURL)
	if err != nil {
		t.Fatal(err)
	}
	c.client = cl
	t.Cleanup(c.client.Close)
	c.usdt = c.deployToken(t, "USDT")
	c.usdc = c.deployToken(t, "USDC")
	return c
}

// deployToken deploys a 6-decimal token named like the real test tokens and
// mints 10^12 of it to the faucet account. It returns once the mint is
// mined, so a transfer can be sent at once.
func (c *testChain) deployToken(t testing.TB, symbol string) common.Address {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	key := devnet.FaucetKey()
	addr, err := devnet.DeployToken(ctx, c.client, key, c.chainID, "Test "+symbol, symbol, devnet.TokenDecimals)
	if err != nil {
		t.Fatalf("deploy %s: %v", symbol, err)
	}
	supply := new(big.Int).Exp(big.NewInt(10), big.NewInt(12+devnet.TokenDecimals), nil)
	tx, err := devnet.MintToken(ctx, c.client, key, c.chainID, addr, devnet.FaucetAddress, supply)
	if err != nil {
		t.Fatalf("mint %s: %v", symbol, err)
	}
	c.mined(t, tx)
	return addr
}

// transfer sends amount base units of token from the faucet to `to` and
// returns the transaction hash once it is pending. Calls must not run
// concurrently.
func (c *testChain) transfer(ctx context.Context, token, to common.Address, amount *big.Int) (common.Hash, error) {
	return devnet.TransferToken(ctx, c.client, devnet.FaucetKey(), c.chainID, token, to, amount)
}

// mined waits for tx's receipt and fails unless it succeeded.
func (c *testChain) mined(t testing.TB, tx common.Hash) *types.Receipt {
	t.Helper()
	var r *types.Receipt
	eventually(t, 20*time.Second, "transaction "+tx.Hex()+" to be mined", func() bool {
		var err error
		r, err = c.client.TransactionReceipt(t.Context(), tx)
		if err != nil && !errors.Is(err, ethereum.NotFound) {
			t.Fatalf("receipt of %s: %v", tx, err)
		}
		return err == nil
	})
	if r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("transaction %s reverted", tx)
	}
	return r
}

// newAddress returns a fresh address nobody else uses: a merchant's
// receiving wallet.
func newAddress(t testing.TB) common.Address {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return crypto.PubkeyToAddress(k.PublicKey)
}

// resetter is a TCP listener that accepts every connection and resets it at
// once, without a byte of HTTP: an RPC endpoint that is down in the rudest
// way. It counts the connections, so a test can tell the gateway tried it.
type resetter struct {
	ln    net.Listener
	conns atomic.Int64
}

func startResetter(t testing.TB) *resetter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &resetter{ln: ln}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			r.conns.Add(1)
			// Linger 0 makes Close send RST instead of FIN.
			_ = conn.(*net.TCPConn).SetLinger(0)
			_ = conn.Close()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	return r
}

func (r *resetter) URL() string { return "http://" + r.ln.Addr().String() }
