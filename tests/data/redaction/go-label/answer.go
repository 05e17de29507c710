package csvish

import (
	"fmt"
	"strings"
)

func splitRecord(record string, delim byte, limit int) []string {
	if limit <= 0 {
		limit = 64
	}
	parts := make([]string, 0, 8)
	var field strings.Builder
	inQuotes := false
Scan:
	for i := 0; i < len(record); i++ {
		ch := record[i]
		if ch == '\\' && i+1 < len(record) {
			field.WriteByte(record[i+1])
			i++
			continue Scan
		}
		if ch == '"' {
			if inQuotes && i+1 < len(record) && record[i+1] == '"' {
				field.WriteByte('"')
				i++
				continue Scan
			}
			inQuotes = !inQuotes
			continue
		}
		if ch == delim && !inQuotes {
			parts = append(parts, field.String())
			field.Reset()
			if len(parts) == limit {
				fmt.Printf("record cut at %d fields\n", limit)
				break Scan
			}
			continue
		}
		field.WriteByte(ch)
	}
	return append(parts, field.String())
}
