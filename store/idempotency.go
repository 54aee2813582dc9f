package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
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
	InFlight    bool   // another request with the key is running
	Fingerprint string // of the first request
	Status      int    // replayed status code (when done)
	Body        []byte // replayed body (when done)
}

// BeginIdempotent claims key for a request with the given fingerprint, or
// returns what the first request with the key left.
func (s *Store) BeginIdempotent(ctx context.Context, merchantID string, live bool, key, fingerprint string) (IdempotencyState, error) {
	res, err := idempotencyBeginScript.Run(ctx, s.rdb, []string{s.keys.Idempotency(merchantID, live, key)},
		fingerprint, IdempotencyLease.Milliseconds()).Slice()
	if err != nil {
		return IdempotencyState{}, fmt.Errorf("claim idempotency key: %w", err)
	}
	if len(res) == 1 {
		return IdempotencyState{New: true}, nil
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

// FinishIdempotent stores the response of the request owning key for replay.
func (s *Store) FinishIdempotent(ctx context.Context, merchantID string, live bool, key string, status int, body []byte) error {
	k := s.keys.Idempotency(merchantID, live, key)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, "state", "done", "status", status, "body", body)
		p.PExpire(ctx, k, IdempotencyTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store idempotent response: %w", err)
	}
	return nil
}

// AbortIdempotent drops the claim of a request that failed without a
// replayable answer (a server error), so a retry runs it again.
func (s *Store) AbortIdempotent(ctx context.Context, merchantID string, live bool, key string) error {
	if err := s.rdb.Del(ctx, s.keys.Idempotency(merchantID, live, key)).Err(); err != nil {
		return fmt.Errorf("drop idempotency key: %w", err)
	}
	return nil
}
