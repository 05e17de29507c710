package fields

import "strings"

// SplitFields splits a line on unquoted separators, trimming each field.
func SplitFields(line string, sep byte, max int) []string {
	if max <= 0 {
		max = 64
	}
	fields := make([]string, 0, 8)
	var current strings.Builder
	quoted := false
Scan:
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			fields = append(fields, strings.TrimSpace(current.String()))
			current.Reset()
			if len(fields) == max {
				break Scan
			}
		default:
			current.WriteByte(c)
		}
	}
	return append(fields, strings.TrimSpace(current.String()))
}
