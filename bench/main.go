// Command bench measures checkout creation through the real HTTP stack and
// a real Redis on loopback, and the fingerprint allocator's work at high
// occupancy of one price's slots.
//
//	go run ./bench -redis redis://127.0.0.1:6379/0 -conns 64 -duration 10s
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/redis/go-redis/v9"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/api"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/checkout"
	"github.com/stablegate/stablegate/merchant"
	"github.com/stablegate/stablegate/store"
	"github.com/stablegate/stablegate/store/storetest"
)

func main() {
	redisURL := flag.String("redis", "redis://127.0.0.1:6379/0", "Redis URL")
	conns := flag.Int("conns", 64, "concurrent connections")
	duration := flag.Duration("duration", 10*time.Second, "measurement time")
	warmup := flag.Duration("warmup", 2*time.Second, "warm-up time before measuring")
	prices := flag.Int("prices", 1000, "distinct prices the load cycles through")
	rate := flag.Int("rate", 0, "offered load in requests per second (0: as fast as the connections go); latency then counts from each request's scheduled time")
	occupancy := flag.Bool("occupancy", true, "also measure allocator tries at 50/90/99% occupancy")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the load phase to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*redisURL, *conns, *rate, *duration, *warmup, *prices, *occupancy); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(redisURL string, conns, rate int, duration, warmup time.Duration, prices int, occupancy bool) error {
	ctx := context.Background()
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return err
	}
	opt.PoolSize = 4 * conns
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	prefix := storetest.Prefix()
	defer storetest.Flush(rdb, prefix)
	st := store.New(rdb, prefix)
	if err := st.LoadScripts(ctx); err != nil {
		return err
	}
	reg := chains.Builtin()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	merchants := merchant.New(st, reg, nil)
	checkouts := checkout.New(st, reg, nil, log)
	cfg := api.DefaultConfig()
	cfg.RateLimit = 1_000_000 // counted on every request, never reached
	srv := api.New(cfg, api.Deps{Checkouts: checkouts, Merchants: merchants, Events: st, Idempotency: st, Ready: st, Payments: checkout.NewSettler(st, reg, nil, log), Log: log})

	m, err := merchants.Create(ctx, "Bench")
	if err != nil {
		return err
	}
	_, secret, err := merchants.CreateKey(ctx, m.ID, sg.KeySecret, false)
	if err != nil {
		return err
	}
	key, _ := crypto.GenerateKey()
	addr := crypto.PubkeyToAddress(key.PublicKey).Hex()
	p := sg.Principal{MerchantID: m.ID, Kind: sg.KeySecret}
	if _, err := merchants.AddWallet(ctx, p, "base-sepolia", addr); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	defer hs.Close()
	url := "http://" + ln.Addr().String() + "/v1/checkouts"

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		mu        sync.Mutex
		lat       []time.Duration
		errs      atomic.Int64
		n         atomic.Int64
	)
	// With a rate, a scheduler hands out send times at fixed intervals and
	// latency is measured from the scheduled time, so a slow server cannot
	// hide its queueing (no coordinated omission).
	var slots chan time.Time
	if rate > 0 {
		slots = make(chan time.Time, 4*rate)
		go func() {
			start := time.Now()
			interval := time.Second / time.Duration(rate)
			for i := 0; !stop.Load(); i++ {
				at := start.Add(time.Duration(i) * interval)
				if d := time.Until(at); d > 0 {
					time.Sleep(d)
				}
				select {
				case slots <- at:
				default: // the workers are saturated; the send is dropped and counted below
					errs.Add(1)
				}
			}
			close(slots)
		}()
	}
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<16)
			for i := 0; !stop.Load(); i++ {
				start := time.Now()
				if slots != nil {
					at, ok := <-slots
					if !ok {
						break
					}
					start = at
				}
				cents := 100 + (w*7919+i)%prices
				body := fmt.Sprintf(`{"price":"%s","payment_method":{"chain":"base-sepolia","token":"USDC"},"order_id":"o-%d-%d"}`,
					sg.FormatPrice(int64(cents)), w, i)
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
				req.Header.Set("Authorization", "Bearer "+secret)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				d := time.Since(start)
				if resp.StatusCode != http.StatusOK {
					errs.Add(1)
					continue
				}
				if measuring.Load() {
					local = append(local, d)
					n.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	time.Sleep(warmup)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(duration)
	measuring.Store(false)
	elapsed := time.Since(start)
	stop.Store(true)
	wg.Wait()

	slices.Sort(lat)
	pct := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(q*float64(len(lat))))]
	}
	offered := "closed loop"
	if rate > 0 {
		offered = fmt.Sprintf("offered %d/s", rate)
	}
	fmt.Printf("POST /v1/checkouts  conns=%d  %s  duration=%s\n", conns, offered, elapsed.Round(time.Millisecond))
	fmt.Printf("  checkouts: %d  errors: %d  throughput: %.0f/s\n", n.Load(), errs.Load(), float64(n.Load())/elapsed.Seconds())
	fmt.Printf("  latency p50=%s p90=%s p99=%s max=%s\n", pct(0.50), pct(0.90), pct(0.99), pct(1))

	if occupancy {
		return measureOccupancy(ctx, st, checkouts.Allocator(), m.ID, addr)
	}
	return nil
}

// measureOccupancy fills one price's window of one address to 50%, 90% and
// 99% and reports the candidates examined per allocation. Each measured
// allocation is released again so the occupancy stays put.
func measureOccupancy(ctx context.Context, st *store.Store, alloc *checkout.Allocator, merchantID, addr string) error {
	settings := sg.DefaultMerchantSettings()
	w := checkout.NewWindow(777_77, 6, settings) // an unused price: 7777.77
	sp := store.Space{MerchantID: merchantID, Chain: "base-sepolia", Contract: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", Address: addr}
	now := time.Now()
	until := now.Add(time.Hour)
	filled := 0
	fmt.Printf("fingerprint allocation, K=%d slots per price and address\n", w.Steps)
	for _, target := range []float64{0.50, 0.90, 0.99} {
		for float64(filled) < target*float64(w.Steps) {
			if _, err := alloc.Allocate(ctx, sp, w, fmt.Sprintf("co_fill%d", filled), now, until); err != nil {
				return err
			}
			filled++
		}
		const samples = 2000
		triesSum, most := 0, 0
		start := time.Now()
		for i := range samples {
			id := fmt.Sprintf("co_sample%d", i)
			a, err := alloc.Allocate(ctx, sp, w, id, now, until)
			if err != nil {
				return err
			}
			triesSum += a.Tries
			most = max(most, a.Tries)
			if err := st.Release(ctx, sp, id, a.Amount); err != nil {
				return err
			}
		}
		per := time.Since(start) / samples
		fmt.Printf("  occupancy %2.0f%%: %.2f tries per allocation (max %d), %s per allocate+release\n",
			target*100, float64(triesSum)/samples, most, per.Round(time.Microsecond))
	}
	return nil
}
