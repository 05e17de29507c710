package attrs

import "strings"

// Kind says what an attribute's value holds.
func Kind(name string) int {
	name = strings.ToLower(name)
	if strings.HasPrefix(name, "data-") {
		name = name[len("data-"):]
	}
	if strings.HasPrefix(name, "on") {
		return 2
	}
	if strings.Contains(name, "src") ||
		strings.Contains(name, "uri") ||
		strings.Contains(name, "url") {
		return 1
	}
	return 0
}
