package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// Idempotency record lifetimes.
const (
	// IdempotencyTTL is how long a finished request's response is replayed.
	IdempotencyTTL = 24 * time.Hour
	// IdempotencyLease is how long an in-flight claim lasts if its process
	// dies before finishing; a retry after that runs the request again.
	IdempotencyLease = time.Minute
)

// IdempotencyState is what an Idempotency-Key claim found.
type IdempotencyState struct {
	New         bool   // this request owns the key now
	Owner       string // the owner token to finish or abort with, when New
	InFlight    bool   // another request with the key is running
	Fingerprint string // of the first request
	Status      int    // replayed status code (when done)
	Body        []byte // replayed body (when done)
}

// BeginIdempotent claims key for a request with the given fingerprint, or
// returns what the first request with the key left.
func (s *Store) BeginIdempotent(ctx context.Context, merchantID string, live bool, key, fingerprint string) (IdempotencyState, error) {
	owner := make([]byte, 12)
	if _, err := rand.Read(owner); err != nil {
		return IdempotencyState{}, fmt.Errorf("owner token: %w", err)
	}
	token := hex.EncodeToString(owner)
	res, err := idempotencyBeginScript.Run(ctx, s.rdb, []string{s.keys.Idempotency(merchantID, live, key)},
		fingerprint, IdempotencyLease.Milliseconds(), token).Slice()
	if err != nil {
		return IdempotencyState{}, fmt.Errorf("claim idempotency key: %w", err)
	}
	if len(res) == 1 {
		return IdempotencyState{New: true, Owner: token}, nil
	}
	st := IdempotencyState{}
	state, _ := res[0].(string)
	st.Fingerprint, _ = res[1].(string)
	st.InFlight = state != "done"
	if !st.InFlight {
		code, _ := res[2].(string)
		st.Status, _ = strconv.Atoi(code)
		body, _ := res[3].(string)
		st.Body = []byte(body)
	}
	return st, nil
}

// FinishIdempotent stores the response of the request owning key for
// replay. A request whose claim lapsed and was taken over stores nothing.
func (s *Store) FinishIdempotent(ctx context.Context, merchantID string, live bool, key, owner string, status int, body []byte) error {
	err := idempotencyEndScript.Run(ctx, s.rdb, []string{s.keys.Idempotency(merchantID, live, key)},
		owner, "finish", status, body, IdempotencyTTL.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("store idempotent response: %w", err)
	}
	return nil
}

// AbortIdempotent drops the claim of a request that failed without a
// replayable answer (a server error), so a retry runs it again. A claim
// another request holds by now is left alone.
func (s *Store) AbortIdempotent(ctx context.Context, merchantID string, live bool, key, owner string) error {
	err := idempotencyEndScript.Run(ctx, s.rdb, []string{s.keys.Idempotency(merchantID, live, key)},
		owner, "abort", 0, "", 0).Err()
	if err != nil {
		return fmt.Errorf("drop idempotency key: %w", err)
	}
	return nil
}
