package devnet

import (
	"context"
	"crypto/ecdsa"
	_ "embed"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
)

// erc20.abi and erc20.bin are the outputs of compiling erc20.sol once with
// solcjs 0.8.28 (npm package solc@0.8.28, default EVM version cancun), in a
// scratch directory holding a copy of erc20.sol:
//
//	npm install solc@0.8.28
//	npx solcjs --optimize --optimize-runs 200 --bin --abi -o out erc20.sol
//	cp out/erc20_sol_ERC20.abi erc20.abi
//	cp out/erc20_sol_ERC20.bin erc20.bin
//
// The bytecode ends in a metadata hash of the exact source, so any edit to
// erc20.sol, even a comment, changes erc20.bin.
var (
	//go:embed erc20.abi
	erc20ABI string
	//go:embed erc20.bin
	erc20Bin string
)

var parsedABI = sync.OnceValue(func() abi.ABI {
	a, err := abi.JSON(strings.NewReader(erc20ABI))
	if err != nil {
		panic("devnet: bad embedded erc20.abi: " + err.Error()) // caught by every test
	}
	return a
})

// ABI returns the ABI of the devnet's ERC-20 (erc20.sol): the standard
// ERC-20 methods and events plus an owner-only mint(address,uint256). Callers
// must not modify it.
func ABI() abi.ABI { return parsedABI() }

// Bytecode returns the creation bytecode of erc20.sol, without constructor
// arguments (name string, symbol string, decimals uint8).
func Bytecode() []byte { return common.FromHex(strings.TrimSpace(erc20Bin)) }

// DeployToken deploys the devnet ERC-20 (erc20.sol) from key's account on any
// node, anvil included, and waits until it is mined. key's account becomes
// the token's owner, the only one allowed to mint. The node must be mining:
// against a Devnet in manual mode, use Devnet.Token instead.
func DeployToken(ctx context.Context, c *ethclient.Client, key *ecdsa.PrivateKey, chainID *big.Int, name, symbol string, decimals uint8) (common.Address, error) {
	addr, tx, err := sendDeploy(ctx, c, key, chainID, name, symbol, decimals)
	if err != nil {
		return common.Address{}, fmt.Errorf("deploy token %s: %w", symbol, err)
	}
	r, err := waitReceipt(ctx, c, tx.Hash())
	if err != nil {
		return common.Address{}, fmt.Errorf("deploy token %s: %w", symbol, err)
	}
	if r.Status != types.ReceiptStatusSuccessful {
		return common.Address{}, fmt.Errorf("deploy token %s: transaction %s reverted", symbol, tx.Hash())
	}
	return addr, nil
}

// MintToken mints amount base units of token to `to`, signed by key, which
// must be the token's owner (the account that deployed it). It returns the
// transaction hash once the node holds the transaction as pending, so the
// next transaction from key gets the next nonce; it does not wait for a block.
// Gas is estimated against the latest block, where a mistake (key is not the
// owner) shows up as an error here rather than as a reverted transaction.
func MintToken(ctx context.Context, c *ethclient.Client, key *ecdsa.PrivateKey, chainID *big.Int, token, to common.Address, amount *big.Int) (common.Hash, error) {
	tx, err := sendCall(ctx, c, key, chainID, token, "mint", to, amount)
	if err != nil {
		return common.Hash{}, fmt.Errorf("mint: %w", err)
	}
	return tx.Hash(), nil
}

// TransferToken sends an ERC-20 transfer of amount base units of token from
// key's account to `to`, on any node. It returns the transaction hash once
// the node holds the transaction as pending, so the next transaction from
// key gets the next nonce; it does not wait for a block. Calls for the same
// key must not run concurrently.
//
// Gas is estimated against the latest block, so a transfer that spends
// tokens still arriving in a pending transaction fails with "execution
// reverted"; wait for that transaction to be mined first.
func TransferToken(ctx context.Context, c *ethclient.Client, key *ecdsa.PrivateKey, chainID *big.Int, token, to common.Address, amount *big.Int) (common.Hash, error) {
	tx, err := sendCall(ctx, c, key, chainID, token, "transfer", to, amount)
	if err != nil {
		return common.Hash{}, fmt.Errorf("transfer: %w", err)
	}
	return tx.Hash(), nil
}

// sendDeploy sends the deployment of erc20.sol and waits until it is pending.
// It returns the address the contract will have.
func sendDeploy(ctx context.Context, c *ethclient.Client, key *ecdsa.PrivateKey, chainID *big.Int, name, symbol string, decimals uint8) (common.Address, *types.Transaction, error) {
	a := ABI()
	args, err := a.Pack("", name, symbol, decimals)
	if err != nil {
		return common.Address{}, nil, fmt.Errorf("pack constructor: %w", err)
	}
	opts := bind.NewKeyedTransactor(key, chainID)
	opts.Context = ctx
	addr, tx, err := bind.DeployContract(opts, Bytecode(), c, args)
	if err != nil {
		return common.Address{}, nil, err
	}
	if err := waitPending(ctx, c, opts.From, tx.Nonce()); err != nil {
		return common.Address{}, nil, err
	}
	return addr, tx, nil
}

// sendCall sends a call of method on token and waits until it is pending.
func sendCall(ctx context.Context, c *ethclient.Client, key *ecdsa.PrivateKey, chainID *big.Int, token common.Address, method string, args ...any) (*types.Transaction, error) {
	opts := bind.NewKeyedTransactor(key, chainID)
	opts.Context = ctx
	tx, err := bind.NewBoundContract(token, ABI(), c, c, c).Transact(opts, method, args...)
	if err != nil {
		return nil, err
	}
	if err := waitPending(ctx, c, opts.From, tx.Nonce()); err != nil {
		return nil, err
	}
	return tx, nil
}

// How often the helpers poll the node: the nodes they are meant for are
// local and answer in microseconds, and a transaction becomes pending within
// a millisecond or so.
const (
	pendingPoll = 5 * time.Millisecond
	receiptPoll = 50 * time.Millisecond
)

// pendingTimeout bounds waitPending when ctx has no deadline.
const pendingTimeout = 30 * time.Second

// waitPending waits until from's pending nonce has passed nonce, i.e. the
// node has promoted the transaction to its pending set (or mined it).
//
// geth accepts an eth_sendRawTransaction before it promotes the transaction,
// on another goroutine; until then the pending nonce has not moved, and a
// second transaction sent at once would reuse the nonce and replace the
// first. Waiting here makes "send, then send again" safe.
func waitPending(ctx context.Context, c *ethclient.Client, from common.Address, nonce uint64) error {
	ctx, cancel := context.WithTimeout(ctx, pendingTimeout)
	defer cancel()
	t := time.NewTicker(pendingPoll)
	defer t.Stop()
	for {
		n, err := c.PendingNonceAt(ctx, from)
		if err != nil {
			return fmt.Errorf("pending nonce: %w", err)
		}
		if n > nonce {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for transaction with nonce %d to be pending: %w", nonce, ctx.Err())
		case <-t.C:
		}
	}
}

// waitReceipt polls for the receipt of hash until it exists or ctx ends.
func waitReceipt(ctx context.Context, c *ethclient.Client, hash common.Hash) (*types.Receipt, error) {
	t := time.NewTicker(receiptPoll)
	defer t.Stop()
	for {
		r, err := c.TransactionReceipt(ctx, hash)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, ethereum.NotFound) {
			return nil, fmt.Errorf("receipt of %s: %w", hash, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for receipt of %s: %w", hash, ctx.Err())
		case <-t.C:
		}
	}
}
