package chains

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"time"

	sg "github.com/stablegate/stablegate"
)

// ErrStaleToken is returned, wrapped, by a fenced cursor write when the
// fencing token is not the one of the chain's live lease: another replica
// took the lease over, and the caller must stop writing.
var ErrStaleToken = sg.Errorf(sg.ECONFLICT, "lease_stale", "",
	"the watcher lease was taken over; this replica no longer holds it")

// LeaseStore keeps the lease that lets one replica at a time watch a chain.
// Every watcher kind uses the same lease, so two gateway processes on one
// Redis never both write for a chain.
type LeaseStore interface {
	// AcquireLease takes the chain's lease for holder for ttl and returns a
	// fencing token larger than every token issued before for the chain; 0
	// when another holder has the lease.
	AcquireLease(ctx context.Context, chain, holder string, ttl time.Duration) (token uint64, err error)
	// RenewLease extends the lease for ttl if holder still has it under
	// token, and reports whether it did.
	RenewLease(ctx context.Context, chain, holder string, token uint64, ttl time.Duration) (bool, error)
	// ReleaseLease gives up the lease if holder still has it under token,
	// so another replica takes over at once instead of after the TTL.
	ReleaseLease(ctx context.Context, chain, holder string, token uint64) error
}

// LeaseHolder names this process in a lease: host name, process id and a
// random suffix, so two processes on one host never share a name.
func LeaseHolder() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + ":" + strconv.Itoa(os.Getpid()) + ":" + hex.EncodeToString(b)
}
