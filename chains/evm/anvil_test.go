package evm_test

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/chains/evm"
	"github.com/stablegate/stablegate/chains/evm/anviltest"
	"github.com/stablegate/stablegate/chains/evm/devnet"
	"github.com/stablegate/stablegate/store/storetest"
)

// startAnvil starts anvil on a free loopback port, mining a block per
// transaction, and stops it when the test ends.
func startAnvil(t *testing.T) (httpURL, wsURL string) {
	t.Helper()
	return anviltest.Start(t)
}

// mined waits for tx's receipt and fails unless it succeeded.
func mined(t *testing.T, c *ethclient.Client, tx common.Hash) *types.Receipt {
	t.Helper()
	var r *types.Receipt
	waitFor(t, "transaction "+tx.Hex(), func() bool {
		var err error
		r, err = c.TransactionReceipt(t.Context(), tx)
		return err == nil || !errors.Is(err, ethereum.NotFound)
	})
	if r == nil || r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("transaction %s failed: %+v", tx, r)
	}
	return r
}

// TestAnvilEndToEnd runs the watcher over the real network path: anvil's
// HTTP JSON-RPC behind a first endpoint that resets every connection, and
// its WebSocket for new heads. Polling is set to a minute, so only the
// WebSocket wake-up can make a transfer show up within the test's wait; the
// WebSocket is then cut, and a second transfer shows up the same way once
// the watcher has reconnected. A token with the same name and symbol at
// another contract, and a transfer to an unwatched address, are never
// reported.
func TestAnvilEndToEnd(t *testing.T) {
	t.Parallel()
	httpURL, wsURL := startAnvil(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c := dial(t, httpURL)
	chainID := big.NewInt(31337)
	key := devnet.FaucetKey()

	usdt, err := devnet.DeployToken(ctx, c, key, chainID, "Tether USD", "USDT", 6)
	if err != nil {
		t.Fatalf("deploy USDT: %v", err)
	}
	fake, err := devnet.DeployToken(ctx, c, key, chainID, "Tether USD", "USDT", 6)
	if err != nil {
		t.Fatalf("deploy the fake USDT: %v", err)
	}
	for _, token := range []common.Address{usdt, fake} {
		tx, err := devnet.MintToken(ctx, c, key, chainID, token, devnet.FaucetAddress, big.NewInt(1e12))
		if err != nil {
			t.Fatalf("mint: %v", err)
		}
		mined(t, c, tx)
	}

	ws, wsURL := newTCPProxy(t, wsURL)
	resetter := newFaultProxy(t, httpURL)
	resetter.set(func(p *faultProxy) { p.reset = true })
	chain := &chains.Chain{
		ID: "anvil", Name: "Anvil", Kind: chains.KindEVM, ChainID: 31337, Testnet: true,
		RPCURLs: []string{resetter.URL() + "/" + secretMarker, httpURL}, WSURL: wsURL,
		BlockTime: time.Second, Confirmation: blocks(2), FeeClass: chains.FeeLow, NativeSymbol: "ETH",
		Tokens: []chains.Token{{Symbol: "USDT", Contract: usdt.Hex(), Decimals: 6}},
	}
	reg, err := chains.NewRegistry(chain)
	if err != nil {
		t.Fatal(err)
	}
	chain, _ = reg.Chain("anvil")
	promReg := prometheus.NewRegistry()
	metrics, err := evm.NewMetrics(promReg)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := evm.NewPool(chain.RPCURLs, evm.PoolConfig{Chain: chain.ID, ChainID: chain.ChainID, Metrics: metrics,
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond}, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := storetest.New(t)
	sink := newSink(chain.Confirmation)
	watched := newAddress(t)
	w := evm.NewWatcher(chain, pool, st.Cursors(), staticAddrs{watched}, sink,
		evm.Config{PollInterval: time.Minute, Metrics: metrics}, nil, testLogger(t))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	waitFor(t, "the first pass", func() bool {
		_, ok, _ := st.Cursors().LoadCursor(ctx, chain.ID)
		return ok
	})

	send := func(token, to common.Address, amount int64) common.Hash {
		tx, err := devnet.TransferToken(ctx, c, key, chainID, token, to, big.NewInt(amount))
		if err != nil {
			t.Fatalf("transfer: %v", err)
		}
		return tx
	}
	mined(t, c, send(fake, watched, 1))
	mined(t, c, send(usdt, newAddress(t), 2))
	paid := send(usdt, watched, 50_000_120)
	r := mined(t, c, paid)

	// Every new block wakes the watcher through the WebSocket; blocks keep
	// coming in case the first arrived before the subscription did.
	reported := func(n int, what string) {
		t.Helper()
		deadline := time.Now().Add(waitTimeout)
		for {
			if got, _, _ := sink.snapshot(); len(got) >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s was not reported: the WebSocket wake-up does not work", what)
			}
			if err := c.Client().CallContext(ctx, nil, "evm_mine"); err != nil {
				t.Fatalf("evm_mine: %v", err)
			}
			time.Sleep(50 * time.Millisecond) // a poll interval, not synchronisation
		}
	}
	reported(1, "the transfer")
	head, err := c.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	block, err := c.HeaderByHash(ctx, r.BlockHash)
	if err != nil {
		t.Fatal(err)
	}
	want := chains.Transfer{
		Chain: "anvil", TxHash: paid.Hex(), LogIndex: r.Logs[0].Index, BlockNumber: r.BlockNumber.Uint64(),
		BlockHash: r.BlockHash.Hex(), BlockTime: int64(block.Time), From: devnet.FaucetAddress.Hex(),
		To: watched.Hex(), Token: usdt.Hex(), Amount: big.NewInt(50_000_120),
	}
	waitFor(t, "the transfer to be confirmed and verified", func() bool {
		if err := c.Client().CallContext(ctx, nil, "evm_mine"); err != nil {
			return false
		}
		ok, known := sink.canonicalOf(want)
		return known && ok
	})
	waitFor(t, "the cursor to pass the head", func() bool {
		cur, _, _ := st.Cursors().LoadCursor(ctx, chain.ID)
		return cur.Head.Number >= head.Number.Uint64()
	})
	got, reorgs, _ := sink.snapshot()
	if !sameTransfers(got, []chains.Transfer{want}) || len(reorgs) != 0 {
		t.Fatalf("reported %+v, reorgs %v\nwant exactly %+v", got, reorgs, want)
	}

	// The socket drops; the watcher reconnects and is woken again.
	ws.cut()
	mined(t, c, send(usdt, watched, 50_000_130))
	reported(2, "the transfer after the WebSocket dropped")
	if n := ws.connections(); n < 2 {
		t.Fatalf("%d WebSocket connections, want a reconnection", n)
	}
	if n := metricValue(t, promReg, "stablegate_evm_rpc_errors_total", map[string]string{"endpoint": "0", "kind": "transport"}); n < 1 {
		t.Fatalf("errors of the resetting endpoint: %v, want at least 1", n)
	}
}
