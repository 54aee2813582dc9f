package solana

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RPCErrors is the counter of one endpoint's errors of one kind.
func (m *Metrics) RPCErrors(chain string, endpoint int, kind string) prometheus.Counter {
	return m.rpcErrors.WithLabelValues(chain, strconv.Itoa(endpoint), kind)
}

// AsideFor is how long the pool's endpoint i stays set aside from now.
func (p *Pool) AsideFor(i int) time.Duration { return p.endpoints[i].until().Sub(p.now()) }
