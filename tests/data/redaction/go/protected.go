package textstats

import (
	"errors"
	"sort"
	"strconv"
	"strings"
)

// Interval is a closed integer range.
type Interval struct {
	Lo, Hi int
}

// ParseSetting splits "name = value" (with an optional k suffix) and converts the value.
func ParseSetting(line string) (string, int, error) {
	trimmed := strings.TrimSpace(line)
	if idx := strings.Index(trimmed, "#"); idx >= 0 {
		trimmed = strings.TrimSpace(trimmed[:idx])
	}
	parts := strings.SplitN(trimmed, "=", 2)
	if len(parts) != 2 {
		return "", 0, errors.New("missing '='")
	}
	name := strings.ToLower(strings.TrimSpace(parts[0]))
	if name == "" {
		return "", 0, errors.New("empty name")
	}
	raw := strings.TrimSpace(parts[1])
	multiplier := 1
	if strings.HasSuffix(raw, "k") {
		multiplier = 1024
		raw = strings.TrimSuffix(raw, "k")
	}
	value, err := strconv.Atoi(raw)
	if err != nil {
		return "", 0, err
	}
	return name, value * multiplier, nil
}

// MergeIntervals sorts a copy of spans and joins overlapping or touching ranges.
func MergeIntervals(spans []Interval) []Interval {
	if len(spans) == 0 {
		return nil
	}
	sorted := make([]Interval, len(spans))
	copy(sorted, spans)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].Lo < sorted[b].Lo })
	merged := []Interval{sorted[0]}
	for _, span := range sorted[1:] {
		last := &merged[len(merged)-1]
		if span.Lo <= last.Hi+1 {
			if span.Hi > last.Hi {
				last.Hi = span.Hi
			}
			continue
		}
		merged = append(merged, span)
	}
	return merged
}

// RollingSum computes two running sums modulo a prime, folding them into one word.
func RollingSum(data []byte) uint32 {
	const mod = 65521
	var a, b uint32 = 1, 0
	for len(data) > 0 {
		n := len(data)
		if n > 5552 {
			n = 5552
		}
		for _, c := range data[:n] {
			a += uint32(c)
			b += a
		}
		a %= mod
		b %= mod
		data = data[n:]
	}
	return b<<16 | a
}

// TopWords returns the k most frequent words formatted as "word:count".
func TopWords(text string, k int) []string {
	counts := make(map[string]int)
	for _, field := range strings.Fields(text) {
		word := strings.Trim(strings.ToLower(field), ".,;:!?\"'")
		if word != "" {
			counts[word]++
		}
	}
	keys := make([]string, 0, len(counts))
	for w := range counts {
		keys = append(keys, w)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) > k {
		keys = keys[:k]
	}
	result := make([]string, len(keys))
	for i, w := range keys {
		result[i] = w + ":" + strconv.Itoa(counts[w])
	}
	return result
}
