package store

import (
	"context"
	"sort"
)

type Record struct {
	Key   string
	Value int
}

type Store struct {
	records []Record
}

// Merge joins two sorted runs of records, keeping those `keep` accepts, up to limit.
func (s *Store) Merge(ctx context.Context, left, right []Record, limit int, keep func(Record) bool) ([]Record, error) {
	out := make([]Record, 0, len(left)+len(right))
	for _, r := range append(left, right...) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if keep(r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Lookup finds the record with the given key by binary search.
func (s *Store) Lookup(key string) (Record, bool) {
	lo, hi := 0, len(s.records)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if s.records[mid].Key < key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(s.records) && s.records[lo].Key == key {
		return s.records[lo], true
	}
	return Record{}, false
}
