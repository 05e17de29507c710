package dns

import (
	"errors"
	"strings"
)

var errTruncated = errors.New("dns: truncated")

// parseLabels reads labels until the root, refusing compression.
func parseLabels(data []byte, pos int) (string, int, error) {
	var out []byte
	for pos < len(data) {
		kind, size := data[pos]>>6, int(data[pos]&0x3F)
		pos++
		switch kind {
		case 0:
			if size == 0 {
				if len(out) == 0 {
					out = append(out, '.')
				}
				return string(out), pos, nil
			}
			if pos+size > len(data) {
				return "", len(data), errTruncated
			}
			out = append(out, data[pos:pos+size]...)
			if len(out) > 255 {
				return "", pos, errors.New("dns: name too long")
			}
			out = append(out, '.')
			pos += size
		case 3:
			return "", pos, errors.New("dns: compression refused")
		default:
			return "", pos, errors.New("dns: reserved label type")
		}
	}
	return "", len(data), errTruncated
}

// lowerName folds a name to lower case for comparison.
func lowerName(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}
