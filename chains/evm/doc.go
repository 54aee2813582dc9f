// Package evm watches EVM chains for ERC-20 Transfer logs of the registry's
// tokens to the merchants' receiving addresses, and reports them, their
// reorgs and the chain's confirmation height to a Sink.
//
// HTTP polling with eth_getLogs is the source of truth: a Watcher scans from
// a durable cursor (last scanned height and hash, kept in a CursorStore) up
// to the head in bounded, adaptive block ranges, so a restart after any
// downtime resumes with no gap. A WebSocket newHeads subscription, where the
// chain has one, only wakes the loop early. Every scanned block whose hash
// the watcher keeps is compared with the canonical chain on the next pass,
// so a reorg is found, reported to the Sink and rescanned. An endpoint that
// answers from a node behind the head it gave (a load balancer's lagging
// backend) is waited for: a block it does not have is no reorg, and logs
// are read in one request with the range's last block, so an answer that
// leaves the last blocks out does not move the cursor past them (where the
// load balancer sends a whole request to one backend, as most do).
//
// One replica scans a chain at a time, under a lease with a fencing token:
// a cursor write with a stale token is refused by the store, so a replica
// that lost its lease while paused can never move the cursor.
//
// A Pool spreads calls over a chain's RPC endpoints, retries with backoff,
// and demotes an endpoint that errors, falls behind or disagrees with the
// majority about a block hash. Endpoint URLs often carry an API key, so
// they never appear in logs, errors or metric labels: an endpoint is named
// by its index in the configured list and its host.
//
// The package knows nothing of checkouts or webhooks; the Sink does.
package evm
