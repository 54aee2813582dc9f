package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"
)

// page reads one page of a list from a lexicographic index of ids (ids sort
// by creation time): newest first between the bounds lo and hi, or, when
// upward (an ending_before cursor), the oldest ones above lo, returned
// newest first too. load turns ids into objects (skipping vanished ones);
// keep, when not nil, filters them in memory, in which case the index is
// read on until the page is full. It returns up to limit objects and
// whether more exist beyond them.
func page[T any](ctx context.Context, rdb redis.UniversalClient, index, lo, hi string, upward bool, limit int,
	load func(ids []string) ([]T, error), keep func(T) bool) ([]T, bool, error) {
	want := limit + 1
	var out []T
	for len(out) < want {
		by := &redis.ZRangeBy{Min: lo, Max: hi, Count: int64(want)}
		var ids []string
		var err error
		if upward {
			ids, err = rdb.ZRangeByLex(ctx, index, by).Result()
		} else {
			ids, err = rdb.ZRevRangeByLex(ctx, index, by).Result()
		}
		if err != nil {
			return nil, false, fmt.Errorf("list %s: %w", index, err)
		}
		if len(ids) == 0 {
			break
		}
		objs, err := load(ids)
		if err != nil {
			return nil, false, err
		}
		for _, o := range objs {
			if keep == nil || keep(o) {
				out = append(out, o)
			}
		}
		if upward {
			lo = "(" + ids[len(ids)-1]
		} else {
			hi = "(" + ids[len(ids)-1]
		}
		if len(ids) < want {
			break
		}
	}
	hasMore := len(out) > limit
	if hasMore {
		out = out[:limit]
	}
	if upward {
		slices.Reverse(out)
	}
	return out, hasMore, nil
}

// hashValues reads the fields ids of the HASH key and decodes each present
// one, in order; missing fields are skipped.
func hashValues[T any](ctx context.Context, rdb redis.UniversalClient, key string, ids []string, decode func([]byte) (T, error)) ([]T, error) {
	vals, err := rdb.HMGet(ctx, key, ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	out := make([]T, 0, len(vals))
	for _, v := range vals {
		if str, ok := v.(string); ok {
			o, err := decode([]byte(str))
			if err != nil {
				return nil, err
			}
			out = append(out, o)
		}
	}
	return out, nil
}
