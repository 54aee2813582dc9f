package solana

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus metrics of the Solana watchers and pools,
// labelled by chain id. One value serves every chain; a nil *Metrics
// records nothing.
type Metrics struct {
	slot         *prometheus.GaugeVec
	finalized    *prometheus.GaugeVec
	lagSlots     *prometheus.GaugeVec
	accounts     *prometheus.GaugeVec
	leader       *prometheus.GaugeVec
	transactions *prometheus.CounterVec
	rpcErrors    *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg. RPC errors
// are labelled by the endpoint's index in the chain's URL list, never by
// URL: provider URLs carry API keys.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	chain := []string{"chain"}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "stablegate_solana_" + name, Help: help}, chain)
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stablegate_solana_" + name, Help: help}, append(chain, labels...))
	}
	m := &Metrics{
		slot:         gauge("confirmed_slot", "Latest confirmed slot reported by the chain's RPC endpoint."),
		finalized:    gauge("finalized_slot", "Latest finalized slot reported by the chain's RPC endpoint."),
		lagSlots:     gauge("lag_slots", "Slots between the confirmed slot and the oldest account cursor the last pass could not bring up to date; 0 when every account is current."),
		accounts:     gauge("watched_accounts", "Token accounts and reference keys polled with getSignaturesForAddress in the last pass."),
		leader:       gauge("leader", "1 while this replica holds the chain's watcher lease."),
		transactions: counter("transactions_total", "Transactions fetched and parsed, by outcome (payment, other, failed).", "outcome"),
		rpcErrors: counter("rpc_errors_total",
			"Failed RPC calls by endpoint index in the chain's URL list and kind (timeout, transport, limit, http, rpc).",
			"endpoint", "kind"),
	}
	for _, c := range []prometheus.Collector{m.slot, m.finalized, m.lagSlots, m.accounts, m.leader, m.transactions, m.rpcErrors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) rpcError(chain string, endpoint int, kind errorKind) {
	if m != nil {
		m.rpcErrors.WithLabelValues(chain, strconv.Itoa(endpoint), string(kind)).Inc()
	}
}

func (m *Metrics) observe(chain string, confirmed, finalized, lag uint64, accounts int) {
	if m == nil {
		return
	}
	m.slot.WithLabelValues(chain).Set(gaugeValue(confirmed))
	m.finalized.WithLabelValues(chain).Set(gaugeValue(finalized))
	m.lagSlots.WithLabelValues(chain).Set(gaugeValue(lag))
	m.accounts.WithLabelValues(chain).Set(gaugeValue(uint64(accounts)))
}

func (m *Metrics) transaction(chain, outcome string) {
	if m != nil {
		m.transactions.WithLabelValues(chain, outcome).Inc()
	}
}

func (m *Metrics) setLeader(chain string, on bool) {
	if m == nil {
		return
	}
	v := uint64(0)
	if on {
		v = 1
	}
	m.leader.WithLabelValues(chain).Set(gaugeValue(v))
}

// gaugeValue converts a slot or count for Prometheus, whose values are
// floats. It is the package's only float: no amount ever passes here.
func gaugeValue(n uint64) float64 { return float64(n) }
