package evm

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus metrics of the EVM watchers and pools, labelled
// by chain id. One value serves every chain; a nil *Metrics records nothing.
type Metrics struct {
	head       *prometheus.GaugeVec
	scanned    *prometheus.GaugeVec
	confirmed  *prometheus.GaugeVec
	lagBlocks  *prometheus.GaugeVec
	lagSeconds *prometheus.GaugeVec
	rangeSize  *prometheus.GaugeVec
	leader     *prometheus.GaugeVec
	transfers  *prometheus.CounterVec
	reorgs     *prometheus.CounterVec
	rpcErrors  *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg.
//
// RPC errors are labelled by the endpoint's index in the chain's URL list,
// never by URL: provider URLs carry API keys.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	chain := []string{"chain"}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "stablegate_evm_" + name, Help: help}, chain)
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stablegate_evm_" + name, Help: help}, append(chain, labels...))
	}
	m := &Metrics{
		head:       gauge("head_height", "Latest block height reported by the chain's RPC endpoint."),
		scanned:    gauge("scanned_height", "Last block height the watcher scanned (its durable cursor)."),
		confirmed:  gauge("confirmed_height", "Highest height that satisfies the chain's confirmation policy, as given to the sink."),
		lagBlocks:  gauge("lag_blocks", "Blocks between the head and the last scanned block."),
		lagSeconds: gauge("lag_seconds", "Seconds between now and the timestamp of the last scanned block."),
		rangeSize:  gauge("log_range_blocks", "Current eth_getLogs block span of the adaptive range."),
		leader:     gauge("leader", "1 while this replica holds the chain's watcher lease."),
		transfers:  counter("transfers_total", "Transfer logs to watched addresses reported to the sink (again after a reorg or a retry)."),
		reorgs:     counter("reorgs_total", "Reorgs found below the cursor."),
		rpcErrors: counter("rpc_errors_total",
			"Failed RPC calls by endpoint index in the chain's URL list and kind (timeout, transport, rpc, limit, not_found, lagging, forked, chain_id, batch).",
			"endpoint", "kind"),
	}
	for _, c := range []prometheus.Collector{m.head, m.scanned, m.confirmed, m.lagBlocks, m.lagSeconds, m.rangeSize, m.leader, m.transfers, m.reorgs, m.rpcErrors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) rpcError(chain string, endpoint int, kind errorKind) {
	if m == nil {
		return
	}
	m.rpcErrors.WithLabelValues(chain, strconv.Itoa(endpoint), string(kind)).Inc()
}

// observe records where a watcher stands. lag is how far the scanned block's
// timestamp is behind the watcher's clock; negative when unknown.
func (m *Metrics) observe(chain string, head, scanned, rangeSize uint64, lag time.Duration) {
	if m == nil {
		return
	}
	m.head.WithLabelValues(chain).Set(gaugeValue(head))
	m.scanned.WithLabelValues(chain).Set(gaugeValue(scanned))
	m.lagBlocks.WithLabelValues(chain).Set(gaugeValue(head - min(head, scanned)))
	m.rangeSize.WithLabelValues(chain).Set(gaugeValue(rangeSize))
	if lag >= 0 {
		m.lagSeconds.WithLabelValues(chain).Set(lag.Seconds())
	}
}

func (m *Metrics) setConfirmed(chain string, height uint64) {
	if m != nil {
		m.confirmed.WithLabelValues(chain).Set(gaugeValue(height))
	}
}

func (m *Metrics) addTransfers(chain string, n int) {
	if m != nil {
		m.transfers.WithLabelValues(chain).Add(gaugeValue(uint64(n)))
	}
}

func (m *Metrics) reorg(chain string) {
	if m != nil {
		m.reorgs.WithLabelValues(chain).Inc()
	}
}

func (m *Metrics) setLeader(chain string, on bool) {
	if m == nil {
		return
	}
	g := m.leader.WithLabelValues(chain)
	if on {
		g.Set(1)
	} else {
		g.Set(0)
	}
}

// gaugeValue converts a block height or count for Prometheus, whose values
// are floats. It is the package's only float: no amount ever passes here.
func gaugeValue(n uint64) float64 { return float64(n) }
