package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

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
	load := func(ids []string) ([]*sg.Event, error) {
		return hashValues(ctx, s.rdb, s.keys.Events(merchantID), ids, func(b []byte) (*sg.Event, error) { return decodeEvent(merchantID, b) })
	}
	return page(ctx, s.rdb, index, lo, hi, f.EndingBefore != "", f.Limit, load, nil)
}
