// Package e2e holds Stablegate's process-level tests: they build the real
// stablegate binary, run it as a separate OS process against the real Redis
// and an anvil node started by the test, and drive it only from the outside,
// over its REST API and the chain's JSON-RPC, as a merchant and a customer
// would. Nothing here is imported by the gateway; the package has no code
// besides its tests.
//
// The tests need redis-server on 127.0.0.1:6379 (or
// $STABLEGATE_TEST_REDIS_URL) and anvil ($STABLEGATE_ANVIL, anvil on PATH,
// or node_modules/.bin/anvil at the repository root, which .ci/run
// installs). Without either they fail; they never skip.
package e2e
