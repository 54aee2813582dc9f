package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	sg "github.com/stablegate/stablegate"
)

// EventFilter narrows an event list. Zero values mean no filter.
type EventFilter struct {
	Livemode      bool
	Type          string
	CreatedGTE    time.Time
	CreatedLT     time.Time
	StartingAfter string
	EndingBefore  string
	Limit         int
}

// Event returns one event of a merchant; not_found for another's.
func (s *Store) Event(ctx context.Context, merchantID, id string) (*sg.Event, error) {
	b, err := s.rdb.HGet(ctx, s.keys.Events(merchantID), id).Bytes()
	if err != nil {
		return nil, notFound(err, "event")
	}
	return decodeEvent(merchantID, b)
}

func decodeEvent(merchantID string, b []byte) (*sg.Event, error) {
	var e sg.Event
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	e.MerchantID = merchantID
	return &e, nil
}

// ListEvents returns a page of a merchant's events, newest first.
func (s *Store) ListEvents(ctx context.Context, merchantID string, f EventFilter) ([]*sg.Event, bool, error) {
	index := s.keys.EventIndex(merchantID, f.Livemode)
	if f.Type != "" {
		index = s.keys.EventTypeIndex(merchantID, f.Livemode, f.Type)
	}
	lo, hi := lexBounds(sg.PrefixEvent, f.CreatedGTE, f.CreatedLT, f.StartingAfter, f.EndingBefore)
	want := f.Limit + 1
	var out []*sg.Event
	for len(out) < want {
		var ids []string
		var err error
		if f.EndingBefore != "" {
			ids, err = s.rdb.ZRangeByLex(ctx, index, &redis.ZRangeBy{Min: lo, Max: hi, Count: int64(want)}).Result()
		} else {
			ids, err = s.rdb.ZRevRangeByLex(ctx, index, &redis.ZRangeBy{Min: lo, Max: hi, Count: int64(want)}).Result()
		}
		if err != nil {
			return nil, false, fmt.Errorf("list events: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		vals, err := s.rdb.HMGet(ctx, s.keys.Events(merchantID), ids...).Result()
		if err != nil {
			return nil, false, fmt.Errorf("get events: %w", err)
		}
		for _, v := range vals {
			str, ok := v.(string)
			if !ok {
				continue
			}
			e, err := decodeEvent(merchantID, []byte(str))
			if err != nil {
				return nil, false, err
			}
			if f.Type != "" && e.Type != f.Type {
				continue
			}
			out = append(out, e)
		}
		last := ids[len(ids)-1]
		if f.EndingBefore != "" {
			lo = "(" + last
		} else {
			hi = "(" + last
		}
		if len(ids) < want {
			break
		}
	}
	hasMore := len(out) > f.Limit
	if hasMore {
		out = out[:f.Limit]
	}
	if f.EndingBefore != "" {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, hasMore, nil
}
