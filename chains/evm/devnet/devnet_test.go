package devnet_test

import (
	"context"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/stablegate/stablegate/chains/evm/devnet"
)

// waitTimeout bounds every poll and every wait for a subscription event.
const waitTimeout = 10 * time.Second

// faucetSupply is what Start mints to the faucet: 10^12 tokens of 6 decimals.
var faucetSupply = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)

// start starts a devnet and closes it when the test ends.
func start(t *testing.T, opts devnet.Options) *devnet.Devnet {
	t.Helper()
	d, err := devnet.Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

// dial connects to url with ethclient, as the gateway does.
func dial(t *testing.T, url string) *ethclient.Client {
	t.Helper()
	c, err := ethclient.DialContext(t.Context(), url)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(c.Close)
	return c
}

// call calls a view method of the token at addr over c and returns its
// single result.
func call[T any](t *testing.T, c *ethclient.Client, addr common.Address, method string, args ...any) T {
	t.Helper()
	var out []any
	err := bind.NewBoundContract(addr, devnet.ABI(), c, c, c).Call(&bind.CallOpts{Context: t.Context()}, &out, method, args...)
	if err != nil {
		t.Fatalf("call %s on %s: %v", method, addr, err)
	}
	v, ok := out[0].(T)
	if !ok {
		t.Fatalf("call %s: result %T, want %T", method, out[0], v)
	}
	return v
}

func balanceOf(t *testing.T, c *ethclient.Client, token, owner common.Address) *big.Int {
	t.Helper()
	return call[*big.Int](t, c, token, "balanceOf", owner)
}

// transferLogs returns the Transfer logs of token to `to` on the canonical
// chain, found with eth_getLogs as the EVM watcher finds them.
func transferLogs(t *testing.T, c *ethclient.Client, token, to common.Address) []types.Log {
	t.Helper()
	logs, err := c.FilterLogs(t.Context(), ethereum.FilterQuery{
		FromBlock: big.NewInt(0),
		Addresses: []common.Address{token},
		Topics:    [][]common.Hash{{devnet.ABI().Events["Transfer"].ID}, nil, {common.BytesToHash(to.Bytes())}},
	})
	if err != nil {
		t.Fatalf("eth_getLogs: %v", err)
	}
	return logs
}

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // a poll interval, not synchronisation
	}
}

// receive returns the next value from ch, failing the test after waitTimeout
// or on a subscription error.
func receive[T any](t *testing.T, ch <-chan T, sub ethereum.Subscription) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case err := <-sub.Err():
		t.Fatalf("subscription: %v", err)
	case <-time.After(waitTimeout):
		t.Fatal("timed out waiting for a subscription event")
	}
	panic("unreachable")
}

func newAddress(t *testing.T) common.Address {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return crypto.PubkeyToAddress(key.PublicKey)
}

func TestStartDeploysTokens(t *testing.T) {
	t.Parallel()
	d := start(t, devnet.Options{ChainID: 4242, BlockTime: -1})
	c := dial(t, d.RPCURL())
	ctx := t.Context()

	id, err := c.ChainID(ctx)
	if err != nil {
		t.Fatalf("eth_chainId: %v", err)
	}
	if id.Uint64() != 4242 || d.ChainID() != 4242 {
		t.Fatalf("chain id: rpc %d, ChainID() %d; want 4242", id, d.ChainID())
	}
	// Block 1 deploys both tokens, block 2 mints.
	if n, err := c.BlockNumber(ctx); err != nil || n != 2 {
		t.Fatalf("eth_blockNumber = %d, %v; want 2", n, err)
	}
	if d.Faucet() != devnet.FaucetAddress || devnet.FaucetAddress != common.HexToAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266") {
		t.Fatalf("faucet address %s", d.Faucet())
	}
	if d.Token("DAI") != (common.Address{}) {
		t.Fatalf("Token(DAI) = %s, want the zero address", d.Token("DAI"))
	}
	if d.Token(devnet.USDT) == d.Token(devnet.USDC) {
		t.Fatalf("USDT and USDC share address %s", d.Token(devnet.USDT))
	}
	for _, symbol := range []string{devnet.USDT, devnet.USDC} {
		token := d.Token(symbol)
		if got := call[uint8](t, c, token, "decimals"); got != 6 {
			t.Errorf("%s decimals() = %d, want 6", symbol, got)
		}
		if got := call[string](t, c, token, "symbol"); got != symbol {
			t.Errorf("%s symbol() = %q", symbol, got)
		}
		if got := call[string](t, c, token, "name"); got != "Test "+symbol {
			t.Errorf("%s name() = %q", symbol, got)
		}
		if got := call[common.Address](t, c, token, "owner"); got != devnet.FaucetAddress {
			t.Errorf("%s owner() = %s", symbol, got)
		}
		if got := call[*big.Int](t, c, token, "totalSupply"); got.Cmp(faucetSupply) != 0 {
			t.Errorf("%s totalSupply() = %s, want %s", symbol, got, faucetSupply)
		}
		if got := balanceOf(t, c, token, devnet.FaucetAddress); got.Cmp(faucetSupply) != 0 {
			t.Errorf("%s balanceOf(faucet) = %s, want %s", symbol, got, faucetSupply)
		}
	}
}

func TestTransferIsFoundWithGetLogs(t *testing.T) {
	t.Parallel()
	d := start(t, devnet.Options{BlockTime: -1})
	c := dial(t, d.RPCURL())
	ctx := t.Context()
	usdt, usdc := d.Token(devnet.USDT), d.Token(devnet.USDC)
	to := newAddress(t)
	amount := big.NewInt(50_000_120) // 50.00012 USDT

	hash, err := d.Transfer(ctx, usdt, to, amount)
	if err != nil {
		t.Fatalf("Transfer: %v", err)
	}
	if _, pending, err := c.TransactionByHash(ctx, hash); err != nil || !pending {
		t.Fatalf("eth_getTransactionByHash before Commit: pending %v, %v; want pending", pending, err)
	}
	if _, err := c.TransactionReceipt(ctx, hash); !errors.Is(err, ethereum.NotFound) {
		t.Fatalf("eth_getTransactionReceipt before Commit: %v, want not found", err)
	}
	head := d.Commit()

	r, err := c.TransactionReceipt(ctx, hash)
	if err != nil {
		t.Fatalf("eth_getTransactionReceipt: %v", err)
	}
	if r.Status != types.ReceiptStatusSuccessful || r.BlockHash != head || r.BlockNumber.Uint64() != 3 {
		t.Fatalf("receipt: status %d block %s #%d; want success in %s #3", r.Status, r.BlockHash, r.BlockNumber, head)
	}
	logs := transferLogs(t, c, usdt, to)
	if len(logs) != 1 {
		t.Fatalf("eth_getLogs: %d logs, want 1", len(logs))
	}
	l := logs[0]
	if l.Address != usdt || l.TxHash != hash || l.BlockHash != head || l.BlockNumber != 3 || l.Removed {
		t.Fatalf("log %+v", l)
	}
	if from := common.BytesToAddress(l.Topics[1].Bytes()); from != devnet.FaucetAddress {
		t.Fatalf("log from %s, want the faucet", from)
	}
	if got := new(big.Int).SetBytes(l.Data); got.Cmp(amount) != 0 {
		t.Fatalf("log amount %s, want %s", got, amount)
	}
	if got := balanceOf(t, c, usdt, to); got.Cmp(amount) != 0 {
		t.Fatalf("balanceOf(recipient) = %s, want %s", got, amount)
	}
	if got, want := balanceOf(t, c, usdt, devnet.FaucetAddress), new(big.Int).Sub(faucetSupply, amount); got.Cmp(want) != 0 {
		t.Fatalf("balanceOf(faucet) = %s, want %s", got, want)
	}
	if logs := transferLogs(t, c, usdc, to); len(logs) != 0 {
		t.Fatalf("USDC logs to recipient: %d, want 0", len(logs))
	}

	// Back-to-back transfers take consecutive nonces and land in one block.
	h1, err := d.Transfer(ctx, usdc, to, big.NewInt(1))
	if err != nil {
		t.Fatalf("Transfer 1: %v", err)
	}
	h2, err := d.Transfer(ctx, usdc, to, big.NewInt(2))
	if err != nil {
		t.Fatalf("Transfer 2: %v", err)
	}
	head = d.Commit()
	for _, h := range []common.Hash{h1, h2} {
		r, err := c.TransactionReceipt(ctx, h)
		if err != nil || r.Status != types.ReceiptStatusSuccessful || r.BlockHash != head {
			t.Fatalf("receipt of %s: %+v, %v; want success in %s", h, r, err, head)
		}
	}
	if got := balanceOf(t, c, usdc, to); got.Cmp(big.NewInt(3)) != 0 {
		t.Fatalf("USDC balanceOf(recipient) = %s, want 3", got)
	}
}

// TestFinalizedAndSafe pins down what the simulated beacon reports: "safe" is
// the head itself, and "finalized" moves in epochs of 32 blocks (the last
// multiple of 32 at or below the head; genesis before block 32).
func TestFinalizedAndSafe(t *testing.T) {
	t.Parallel()
	d := start(t, devnet.Options{BlockTime: -1})
	c := dial(t, d.RPCURL())
	ctx := t.Context()
	finalized := big.NewInt(int64(rpc.FinalizedBlockNumber))
	safe := big.NewInt(int64(rpc.SafeBlockNumber))

	for head := uint64(2); head <= 66; head++ {
		latest, err := c.HeaderByNumber(ctx, nil)
		if err != nil || latest.Number.Uint64() != head {
			t.Fatalf("latest header: %v, %v; want #%d", latest, err, head)
		}
		s, err := c.HeaderByNumber(ctx, safe)
		if err != nil {
			t.Fatalf("safe header at head %d: %v", head, err)
		}
		if s.Hash() != latest.Hash() {
			t.Fatalf("safe at head %d is #%d, want the head", head, s.Number)
		}
		f, err := c.HeaderByNumber(ctx, finalized)
		if err != nil {
			t.Fatalf("finalized header at head %d: %v", head, err)
		}
		if want := head / 32 * 32; f.Number.Uint64() != want {
			t.Fatalf("finalized at head %d is #%d, want #%d", head, f.Number, want)
		}
		d.Commit()
	}
}

func TestBlockTimeAdvancesHead(t *testing.T) {
	t.Parallel()
	d := start(t, devnet.Options{BlockTime: 50 * time.Millisecond})
	c := dial(t, d.RPCURL())
	ctx := t.Context()

	if d.ChainID() != 1337 {
		t.Fatalf("default ChainID() = %d, want 1337", d.ChainID())
	}
	first, err := c.BlockNumber(ctx)
	if err != nil {
		t.Fatalf("eth_blockNumber: %v", err)
	}
	waitFor(t, "three more blocks", func() bool {
		n, err := c.BlockNumber(ctx)
		return err == nil && n >= first+3
	})

	// A transfer is mined without anyone calling Commit.
	to := newAddress(t)
	hash, err := d.Transfer(ctx, d.Token(devnet.USDC), to, big.NewInt(7))
	if err != nil {
		t.Fatalf("Transfer: %v", err)
	}
	waitFor(t, "the transfer to be mined", func() bool {
		_, err := c.TransactionReceipt(ctx, hash)
		return err == nil
	})
	if got := balanceOf(t, c, d.Token(devnet.USDC), to); got.Cmp(big.NewInt(7)) != 0 {
		t.Fatalf("balanceOf(recipient) = %s, want 7", got)
	}
}

func TestWebSocket(t *testing.T) {
	t.Parallel()
	d := start(t, devnet.Options{BlockTime: -1})
	ws := dial(t, d.WSURL())
	ctx := t.Context()
	usdt := d.Token(devnet.USDT)
	to := newAddress(t)

	heads := make(chan *types.Header, 4)
	headSub, err := ws.SubscribeNewHead(ctx, heads)
	if err != nil {
		t.Fatalf("eth_subscribe newHeads: %v", err)
	}
	defer headSub.Unsubscribe()
	logs := make(chan types.Log, 4)
	logSub, err := ws.SubscribeFilterLogs(ctx, ethereum.FilterQuery{
		Addresses: []common.Address{usdt},
		Topics:    [][]common.Hash{{devnet.ABI().Events["Transfer"].ID}, nil, {common.BytesToHash(to.Bytes())}},
	}, logs)
	if err != nil {
		t.Fatalf("eth_subscribe logs: %v", err)
	}
	defer logSub.Unsubscribe()

	hash, err := d.Transfer(ctx, usdt, to, big.NewInt(42))
	if err != nil {
		t.Fatalf("Transfer: %v", err)
	}
	head := d.Commit()
	if h := receive(t, heads, headSub); h.Hash() != head {
		t.Fatalf("new head %s, want %s", h.Hash(), head)
	}
	l := receive(t, logs, logSub)
	if l.TxHash != hash || l.BlockHash != head || new(big.Int).SetBytes(l.Data).Int64() != 42 {
		t.Fatalf("log %+v", l)
	}
}

// TestForkOrphansTransfer shows how tests make a reorg: Fork rewinds the
// head to an ancestor at once, Rollback drops the orphaned transactions that
// the pool took back, and Commit builds the new branch. The transfer's log
// leaves eth_getLogs and a log subscription reports it as removed.
func TestForkOrphansTransfer(t *testing.T) {
	t.Parallel()
	d := start(t, devnet.Options{BlockTime: -1})
	c := dial(t, d.RPCURL())
	ws := dial(t, d.WSURL())
	ctx := t.Context()
	usdt := d.Token(devnet.USDT)
	to := newAddress(t)
	amount := big.NewInt(50_000_120)

	logs := make(chan types.Log, 4)
	sub, err := ws.SubscribeFilterLogs(ctx, ethereum.FilterQuery{
		Addresses: []common.Address{usdt},
		Topics:    [][]common.Hash{{devnet.ABI().Events["Transfer"].ID}, nil, {common.BytesToHash(to.Bytes())}},
	}, logs)
	if err != nil {
		t.Fatalf("eth_subscribe logs: %v", err)
	}
	defer sub.Unsubscribe()

	hash, err := d.Transfer(ctx, usdt, to, amount)
	if err != nil {
		t.Fatalf("Transfer: %v", err)
	}
	orphan := d.Commit()
	if got := transferLogs(t, c, usdt, to); len(got) != 1 || got[0].BlockHash != orphan {
		t.Fatalf("before the reorg: %d logs, want 1 in %s", len(got), orphan)
	}
	if l := receive(t, logs, sub); l.Removed || l.BlockHash != orphan {
		t.Fatalf("subscription log %+v, want one in %s", l, orphan)
	}
	block, err := c.HeaderByHash(ctx, orphan)
	if err != nil {
		t.Fatalf("header of %s: %v", orphan, err)
	}
	n := block.Number.Uint64()

	if err := d.Backend().Fork(block.ParentHash); err != nil {
		t.Fatalf("Fork: %v", err)
	}
	if head, err := c.BlockNumber(ctx); err != nil || head != n-1 {
		t.Fatalf("head after Fork: %d, %v; want %d", head, err, n-1)
	}
	d.Backend().Rollback()
	d.Commit()
	d.Commit()

	if head, err := c.HeaderByNumber(ctx, nil); err != nil || head.Number.Uint64() != n+1 {
		t.Fatalf("head after the reorg: %v, %v; want #%d", head, err, n+1)
	}
	if replaced, err := c.HeaderByNumber(ctx, block.Number); err != nil || replaced.Hash() == orphan {
		t.Fatalf("block #%d after the reorg: %v, %v; want a new block", n, replaced, err)
	}
	if got := transferLogs(t, c, usdt, to); len(got) != 0 {
		t.Fatalf("after the reorg: %d logs, want 0: %+v", len(got), got)
	}
	if _, err := c.TransactionReceipt(ctx, hash); !errors.Is(err, ethereum.NotFound) {
		t.Fatalf("receipt after the reorg: %v, want not found", err)
	}
	if got := balanceOf(t, c, usdt, to); got.Sign() != 0 {
		t.Fatalf("balanceOf(recipient) after the reorg = %s, want 0", got)
	}
	if l := receive(t, logs, sub); !l.Removed || l.BlockHash != orphan || l.TxHash != hash {
		t.Fatalf("subscription log %+v, want the orphaned one with removed: true", l)
	}
}

// TestForkReincludesTransfer shows the other common shape of a reorg: without
// Rollback, the pool puts the orphaned transaction back and the next block on
// the new branch includes it again, so the same transaction's log moves to a
// block with another hash.
func TestForkReincludesTransfer(t *testing.T) {
	t.Parallel()
	d := start(t, devnet.Options{BlockTime: -1})
	c := dial(t, d.RPCURL())
	ctx := t.Context()
	usdt := d.Token(devnet.USDT)
	to := newAddress(t)

	hash, err := d.Transfer(ctx, usdt, to, big.NewInt(9))
	if err != nil {
		t.Fatalf("Transfer: %v", err)
	}
	orphan := d.Commit()
	block, err := c.HeaderByHash(ctx, orphan)
	if err != nil {
		t.Fatalf("header of %s: %v", orphan, err)
	}
	if err := d.Backend().Fork(block.ParentHash); err != nil {
		t.Fatalf("Fork: %v", err)
	}
	moved := d.Commit()
	if moved == orphan {
		t.Fatalf("the new branch re-used block %s", orphan)
	}
	got := transferLogs(t, c, usdt, to)
	if len(got) != 1 || got[0].TxHash != hash || got[0].BlockHash != moved || got[0].BlockNumber != block.Number.Uint64() {
		t.Fatalf("after the reorg: %+v; want one log of %s in %s", got, hash, moved)
	}
}

func TestHelpersAgainstMiningNode(t *testing.T) {
	t.Parallel()
	d := start(t, devnet.Options{BlockTime: 50 * time.Millisecond})
	c := dial(t, d.RPCURL())
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	chainID := new(big.Int).SetUint64(d.ChainID())
	key := devnet.FaucetKey()

	dai, err := devnet.DeployToken(ctx, c, key, chainID, "Test DAI", "DAI", 18)
	if err != nil {
		t.Fatalf("DeployToken: %v", err)
	}
	if got := call[uint8](t, c, dai, "decimals"); got != 18 {
		t.Fatalf("decimals() = %d, want 18", got)
	}
	if got := call[string](t, c, dai, "symbol"); got != "DAI" {
		t.Fatalf("symbol() = %q, want DAI", got)
	}
	to := newAddress(t)
	mint, err := devnet.MintToken(ctx, c, key, chainID, dai, devnet.FaucetAddress, big.NewInt(1000))
	if err != nil {
		t.Fatalf("MintToken: %v", err)
	}
	mined := func(h common.Hash) func() bool {
		return func() bool {
			r, err := c.TransactionReceipt(ctx, h)
			return err == nil && r.Status == types.ReceiptStatusSuccessful
		}
	}
	// Gas is estimated against the latest block, so the transfer has to wait
	// for the mint it spends from.
	waitFor(t, "the mint to be mined", mined(mint))
	transfer, err := devnet.TransferToken(ctx, c, key, chainID, dai, to, big.NewInt(250))
	if err != nil {
		t.Fatalf("TransferToken: %v", err)
	}
	waitFor(t, "the transfer to be mined", mined(transfer))
	if got := balanceOf(t, c, dai, to); got.Cmp(big.NewInt(250)) != 0 {
		t.Fatalf("balanceOf(recipient) = %s, want 250", got)
	}
	if got := balanceOf(t, c, dai, devnet.FaucetAddress); got.Cmp(big.NewInt(750)) != 0 {
		t.Fatalf("balanceOf(faucet) = %s, want 750", got)
	}
}

func TestStartFailsOnBusyPort(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if d, err := devnet.Start(t.Context(), devnet.Options{BlockTime: -1, Addr: l.Addr().String()}); err == nil {
		d.Close()
		t.Fatalf("Start on busy %s succeeded", l.Addr())
	}
	if _, err := devnet.Start(t.Context(), devnet.Options{Addr: "no-port"}); err == nil {
		t.Fatal("Start with a bad address succeeded")
	}
}

func TestCloseTwice(t *testing.T) {
	t.Parallel()
	d, err := devnet.Start(t.Context(), devnet.Options{BlockTime: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if h := d.Commit(); h != (common.Hash{}) {
		t.Fatalf("Commit after Close = %s, want the zero hash", h)
	}
}
