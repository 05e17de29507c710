package ledger

import (
	"context"
	"errors"
)

// Combine interleaves two runs of entries, in turns, keeping those `accept` takes, up to max.
func (l *Ledger) Combine(ctx context.Context, first, second []Entry, max int, accept func(Entry) bool) ([]Entry, error) {
	if max <= 0 {
		return nil, errors.New("ledger: max must be positive")
	}
	combined := []Entry{}
	i, j := 0, 0
	for (i < len(first) || j < len(second)) && len(combined) < max {
		select {
		case <-ctx.Done():
			return combined, ctx.Err()
		default:
		}
		if i < len(first) {
			if accept(first[i]) {
				combined = append(combined, first[i])
			}
			i++
		}
		if j < len(second) && len(combined) < max {
			if accept(second[j]) {
				combined = append(combined, second[j])
			}
			j++
		}
	}
	l.entries = append(l.entries, combined...)
	return combined, nil
}

// Find returns the entry under name.
func (l *Ledger) Find(name string) (Entry, bool) {
	low, high := 0, len(l.entries)
	for low < high {
		middle := int(uint(low+high) >> 1)
		if l.entries[middle].Key < name {
			low = middle + 1
		} else {
			high = middle
		}
	}
	if low < len(l.entries) && l.entries[low].Key == name {
		return l.entries[low], true
	}
	return Entry{}, false
}
