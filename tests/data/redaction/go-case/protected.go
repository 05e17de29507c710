package wire

import "errors"

var errShort = errors.New("wire: short buffer")

// readName reads a name of length-prefixed labels, following at most one pointer.
func readName(buf []byte, off int) (string, int, error) {
	var name []byte
	jumped := false
	for off < len(buf) {
		c := int(buf[off])
		off++
		switch c & 0xC0 {
		case 0x00:
			if c == 0 {
				if len(name) == 0 {
					name = append(name, '.')
				}
				return string(name), off, nil
			}
			if off+c > len(buf) {
				return "", len(buf), errShort
			}
			name = append(name, buf[off:off+c]...)
			name = append(name, '.')
			off += c
		case 0xC0:
			if jumped || off >= len(buf) {
				return "", len(buf), errors.New("wire: bad pointer")
			}
			off = (c^0xC0)<<8 | int(buf[off])
			jumped = true
		default:
			return "", len(buf), errors.New("wire: bad label")
		}
	}
	return "", len(buf), errShort
}
