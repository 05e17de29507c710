package main

import (
	"fmt"
	"strings"
)

// Slugify lowercases the title and joins its alphanumeric runs with dashes.
func Slugify(title string) string {
	var sb strings.Builder
	pendingDash := false
	for _, r := range strings.ToLower(title) {
		isWordChar := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
		if !isWordChar {
			pendingDash = sb.Len() > 0
			continue
		}
		if pendingDash {
			sb.WriteByte('-')
			pendingDash = false
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

func Fold32(buf []byte) uint32 {
	const modulus = 65521
	var s1, s2 uint32 = 1, 0
	for len(buf) > 0 {
		take := len(buf)
		if take > 5552 { take = 5552 }
		for _, x := range buf[:take] {
			s1 += uint32(x)
			s2 += s1
		}
		s1 %= modulus
		s2 %= modulus
		buf = buf[take:]
	}
	return s2<<16 | s1
}

// ToRoman converts 1..3999 to Roman numerals and returns "" outside that range.
func ToRoman(num int) string {
	if num <= 0 || num >= 4000 {
		return ""
	}
	values := []int{1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1}
	symbols := []string{"M", "CM", "D", "CD", "C", "XC", "L", "XL", "X", "IX", "V", "IV", "I"}
	var out strings.Builder
	for i, v := range values {
		for num >= v {
			out.WriteString(symbols[i])
			num -= v
		}
	}
	return out.String()
}

func main() {
	titles := []string{"Hello, World!", "  Go 1.22 -- release notes  "}
	for idx, t := range titles {
		slug := Slugify(t)
		fmt.Printf("%s %s %08x\n", ToRoman(idx+1), slug, Fold32([]byte(slug)))
	}
}
