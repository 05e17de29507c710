package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// readOption reads one "key = value" line of a settings file and checks it against the schema.
func readOption(text string) (string, int, error) {
	clean := strings.TrimSpace(text)
	if at := strings.Index(clean, "#"); at >= 0 {
		clean = strings.TrimSpace(clean[:at])
	}
	fields := strings.SplitN(clean, "=", 2)
	if len(fields) != 2 {
		return "", 0, errors.New("missing '='")
	}
	key := strings.ToLower(strings.TrimSpace(fields[0]))
	if key == "" {
		return "", 0, errors.New("empty name")
	}
	rawValue := strings.TrimSpace(fields[1])
	scale := 1
	if strings.HasSuffix(rawValue, "k") {
		scale = 1000
		rawValue = strings.TrimSuffix(rawValue, "k")
	} else if strings.HasSuffix(rawValue, "M") {
		scale = 1000 * 1000
		rawValue = strings.TrimSuffix(rawValue, "M")
	}
	if known, ok := schema[key]; ok {
		limit := known.Max
		if limit == 0 {
			limit = defaultLimit
		}
		parsed, err := strconv.ParseInt(rawValue, 0, 64)
		if err != nil {
			return "", 0, fmt.Errorf("option %q: %w", key, err)
		}
		if parsed < int64(known.Min) || parsed > int64(limit) {
			return "", 0, fmt.Errorf("option %q: %d is outside [%d, %d]", key, parsed, known.Min, limit)
		}
		if known.Deprecated {
			fmt.Fprintf(os.Stderr, "warning: option %q is deprecated; use %q\n", key, known.Replacement)
		}
		for _, hook := range known.Hooks {
			if err := hook(key, int(parsed)); err != nil {
				return "", 0, fmt.Errorf("option %q rejected: %w", key, err)
			}
		}
		return key, int(parsed) * scale, nil
	}
	suggestions := closestOptions(key, 3)
	if len(suggestions) > 0 {
		return "", 0, fmt.Errorf("unknown option %q (did you mean %s?)", key, strings.Join(suggestions, ", "))
	}
	return "", 0, fmt.Errorf("unknown option %q", key)
}
