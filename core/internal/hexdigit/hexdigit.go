// Package hexdigit reads one hexadecimal digit, for the decoders of the fact
// packages (percent escapes, \x and \u escapes, %u escapes).
package hexdigit

// Value returns the value of the hex digit c, and false when c is not one.
func Value(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
