package checkout_test

import (
	"fmt"
	"math/big"
	"sync"
	"testing"

	sg "github.com/stablegate/stablegate"
	"github.com/stablegate/stablegate/chains"
	"github.com/stablegate/stablegate/checkout"
)

// openReservations is how many open reservations the matching benchmark
// holds while it matches, as the watcher issue asks.
const openReservations = 100_000

// BenchmarkSettleTransfers measures matching throughput: transfers of
// reserved amounts handed to the settler in batches of 100 (one scanned
// range), each moving its checkout to processing, against 100,000 open
// reservations on real Redis, with no RPC involved. Run it with
//
//	go test -run '^$' -bench SettleTransfers -benchtime 20000x ./checkout/
func BenchmarkSettleTransfers(b *testing.B) {
	f := newSettleFixture(b)
	f.setSettings(f.m.ID, 6, 9999, 86400)
	type target struct {
		to     string
		amount *big.Int
	}
	targets := make([]target, openReservations)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 64 {
		wg.Go(func() {
			for i := range next {
				c, err := f.svc.Create(f.ctx, f.p, checkout.CreateParams{
					Price:          sg.FormatPrice(int64(100 + i%50)),
					PaymentMethods: []sg.PaymentMethod{{Chain: settleChain, Token: "USDT"}},
				})
				if err != nil {
					b.Error(err)
					return
				}
				targets[i] = target{to: c.Methods[0].Address, amount: c.Methods[0].Amount}
			}
		})
	}
	for i := range openReservations {
		next <- i
	}
	close(next)
	wg.Wait()
	if b.Failed() {
		return
	}
	b.ResetTimer()
	const batch = 100
	for i := 0; i < b.N; i += batch {
		ts := make([]chains.Transfer, 0, batch)
		for j := i; j < min(i+batch, b.N); j++ {
			tg := targets[j%openReservations]
			ts = append(ts, chains.Transfer{
				Chain: settleChain, TxHash: fmt.Sprintf("0x%064x", j), BlockNumber: uint64(1 + j/batch), BlockHash: fmt.Sprintf("0x%064x", j/batch),
				BlockTime: f.clock.Now().Unix(), From: f.wallet.Address, To: tg.to, Token: devnet18.Tokens[0].Contract, Amount: tg.amount,
			})
		}
		if err := f.settler.Transfers(f.ctx, settleChain, ts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logs/s")
}
