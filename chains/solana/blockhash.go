package solana

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gagliardetto/solana-go/rpc"

	"github.com/stablegate/stablegate/chains"
)

// BlockhashConfig tunes Blockhashes. Zero fields take the documented
// defaults.
type BlockhashConfig struct {
	// TTL is how long a fetched blockhash is handed out again. A blockhash
	// stays usable for 150 slots, a minute or more, so one ten seconds old
	// still leaves the customer most of a minute to sign, and a burst of
	// customers costs one RPC call. Default 10s.
	TTL time.Duration
	// Timeout bounds one fetch over all of a chain's endpoints. Default 20s.
	Timeout time.Duration
}

// Blockhashes hands out a recent blockhash (getLatestBlockhash at the
// confirmed commitment) of each Solana chain of a registry, for the
// payment transactions the hosted page's "pay with wallet" asks for. It
// keeps one per chain for BlockhashConfig.TTL, and callers that ask while a
// fetch is under way wait for that fetch instead of starting their own. It
// is safe for concurrent use.
type Blockhashes struct {
	pools map[string]*Pool
	cfg   BlockhashConfig
	now   func() time.Time

	mu       sync.Mutex
	cached   map[string]cachedBlockhash
	inflight map[string]*blockhashFetch
}

type cachedBlockhash struct {
	hash string
	at   time.Time // when the fetch that got it began
}

// blockhashFetch is one getLatestBlockhash under way; done closes when
// hash or err is set.
type blockhashFetch struct {
	done chan struct{}
	hash string
	err  error
}

// NewBlockhashes returns the blockhash source of the Solana chains whose
// pools are given (by chain id, as NewPools makes them): the same pools the
// watchers use, so both share each endpoint's rate limit and health. clock
// defaults to time.Now.
func NewBlockhashes(pools map[string]*Pool, cfg BlockhashConfig, clock func() time.Time) *Blockhashes {
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	if clock == nil {
		clock = time.Now
	}
	return &Blockhashes{
		pools: pools, cfg: cfg, now: clock,
		cached: map[string]cachedBlockhash{}, inflight: map[string]*blockhashFetch{},
	}
}

// Latest returns a recent blockhash of chain in base58: the cached one
// while it is younger than the TTL, else a fresh one from the chain's
// node. It fails for a chain that is not a Solana chain of the registry,
// and when no endpoint answers.
func (b *Blockhashes) Latest(ctx context.Context, chain *chains.Chain) (string, error) {
	pool, ok := b.pools[chain.ID]
	if !ok {
		return "", fmt.Errorf("recent blockhash: %s is not a Solana chain of the registry", chain.ID)
	}
	b.mu.Lock()
	now := b.now()
	if c, ok := b.cached[chain.ID]; ok && now.Sub(c.at) < b.cfg.TTL && !now.Before(c.at) {
		b.mu.Unlock()
		return c.hash, nil
	}
	f := b.inflight[chain.ID]
	if f == nil {
		f = &blockhashFetch{done: make(chan struct{})}
		b.inflight[chain.ID] = f
		// Not the caller's context: the others waiting on this fetch must
		// not fail because the first of them went away.
		go b.fetch(context.WithoutCancel(ctx), chain.ID, pool, f, now)
	}
	b.mu.Unlock()
	select {
	case <-f.done:
		return f.hash, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// fetch runs one getLatestBlockhash for chain and hands its outcome to
// everyone waiting on f, caching a hash as fetched at start.
func (b *Blockhashes) fetch(ctx context.Context, chain string, pool *Pool, f *blockhashFetch, start time.Time) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	var hash string
	err := pool.Call(ctx, "getLatestBlockhash", func(ctx context.Context, c *rpc.Client) error {
		res, err := c.GetLatestBlockhash(ctx, rpc.CommitmentConfirmed)
		if err != nil {
			return err
		}
		if res == nil || res.Value == nil || res.Value.Blockhash.IsZero() {
			return errors.New("getLatestBlockhash answered no blockhash")
		}
		hash = res.Value.Blockhash.String()
		return nil
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.inflight, chain)
	if err != nil {
		f.err = fmt.Errorf("recent blockhash of %s: %w", chain, err)
	} else {
		f.hash = hash
		b.cached[chain] = cachedBlockhash{hash: hash, at: start}
	}
	close(f.done)
}
