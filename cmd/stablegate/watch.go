package main

import (
	"context"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/chains/evm"
	"github.com/stablegate/stablegate/chains/solana"
	"github.com/stablegate/stablegate/store"
)

// addressSource lists a chain's watched addresses from the store.
type addressSource struct{ st *store.Store }

func (a addressSource) Addresses(ctx context.Context, chain string) ([]common.Address, error) {
	addrs, err := a.st.ChainAddresses(ctx, chain)
	if err != nil {
		return nil, err
	}
	out := make([]common.Address, 0, len(addrs))
	for _, s := range addrs {
		if common.IsHexAddress(s) {
			out = append(out, common.HexToAddress(s))
		}
	}
	return out, nil
}

// tokenCheckRetry is how long a chain waits before its token decimals are
// checked again, after a failed check or a watcher that stopped on one.
const tokenCheckRetry = 30 * time.Second

// startWatchers runs one watcher per chain to watch (cfg.Watch, or every
// chain of the registry when empty) until ctx ends. An EVM watcher first
// checks the registry's token decimals against the contracts, a Solana
// watcher its mints; a mismatch keeps that chain unwatched and is logged,
// since matching amounts with wrong decimals would credit wrong payments.
func (a *app) startWatchers(ctx context.Context) error {
	metrics, err := evm.NewMetrics(a.promReg)
	if err != nil {
		return err
	}
	for _, c := range a.registry.Chains() {
		if len(a.cfg.Watch) > 0 && !slices.Contains(a.cfg.Watch, c.ID) {
			continue
		}
		if c.Kind == chains.KindSolana {
			a.startSolanaWatcher(ctx, c)
			continue
		}
		pool, err := evm.NewPool(c.RPCURLs, evm.PoolConfig{Chain: c.ID, ChainID: c.ChainID, Metrics: metrics}, nil, a.log)
		if err != nil {
			return err
		}
		w := evm.NewWatcher(c, pool, a.store.Cursors(), addressSource{a.store}, a.settler, evm.Config{Metrics: metrics, LeaseTTL: a.cfg.WatchLeaseTTL}, nil, a.log)
		go func() {
			defer pool.Close()
			// The watcher checks the tokens again when it takes the lease,
			// and stops on a mismatch (a node that answered wrongly once
			// does too): the chain goes back to being checked until it
			// passes.
			for {
				err := evm.CheckTokens(ctx, pool, c)
				if err == nil {
					a.log.Info("watching chain", "chain", c.ID)
					err = w.Run(ctx)
				}
				if ctx.Err() != nil {
					return
				}
				a.log.Error("chain not watched: token check failed", "chain", c.ID, "err", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(tokenCheckRetry):
				}
			}
		}()
	}
	return nil
}

// startSolanaWatcher runs the watcher of one Solana chain until ctx ends.
// Its first pass checks the mints; a mismatch stops it and is logged.
func (a *app) startSolanaWatcher(ctx context.Context, c *chains.Chain) {
	w := solana.NewWatcher(c, a.solanaPools[c.ID], a.store.Cursors(), a.store, a.store, a.settler,
		solana.Config{Metrics: a.solanaMetrics, LeaseTTL: a.cfg.WatchLeaseTTL}, nil, a.log)
	go func() {
		a.log.Info("watching chain", "chain", c.ID)
		if err := w.Run(ctx); err != nil {
			a.log.Error("chain not watched", "chain", c.ID, "err", err)
		}
	}()
}
