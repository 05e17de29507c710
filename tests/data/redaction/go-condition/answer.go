package sanitize

import (
	"log"
	"strings"
)

func classify(attr string) int {
	attr = strings.ToLower(attr)
	if strings.HasPrefix(attr, "data-") {
		attr = attr[len("data-"):]
	}
	if strings.HasPrefix(attr, "on") {
		return 2
	}
	if strings.Contains(attr, "src") ||
		strings.Contains(attr, "uri") ||
		strings.Contains(attr, "url") {
		if strings.HasSuffix(attr, "set") {
			log.Printf("attribute %s holds a list of links", attr)
			return 3
		}
		if strings.Contains(attr, "xlink") {
			log.Printf("attribute %s is an SVG link", attr)
			return 4
		}
		if strings.HasPrefix(attr, "formaction") {
			log.Printf("attribute %s sends a form", attr)
			return 5
		}
		log.Printf("attribute %s holds a link", attr)
		return 1
	}
	log.Printf("attribute %s is plain", attr)
	return 0
}
