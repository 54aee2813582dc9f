//go:build race

package e2e_test

// raceEnabled builds the gateway with the race detector too when the tests
// run with -race, so a data race in the crashing process fails the test.
const raceEnabled = true
