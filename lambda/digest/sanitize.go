package digest

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Caps on one field of the plain-text rendering, in runes after escaping,
// the ellipsis included. The JSON digest keeps the fields whole (within
// their own bounds): the text is a short message for a person.
const (
	// maxTextField bounds ids, addresses, principals and types: AWS ids
	// are at most 21 characters, an IPv6 address 39, a requester id a
	// role id, a colon and a session name.
	maxTextField = 96
	// maxTextLong bounds descriptions (EC2 allows 255 characters),
	// warnings and the log group name.
	maxTextLong = 256
	// maxSubject is below SNS's limit: "less than 100 characters".
	maxSubject = 99
)

// safe is text fit for the plain-text rendering: it holds no control,
// format, bidi or line-separator character and no invalid UTF-8, and is
// capped. Only clean and quote make one from outside text, and
// textWriter.printf cleans every argument that is not already safe, so a
// field added later cannot reach the reader raw.
type safe string

// clean escapes s for a reader's mail client or terminal and caps it at
// limit runes. Escapes are visible rather than dropped, so that a reader
// sees that something was there: \n, \t, \r, \xHH for other C0 controls,
// DEL and bytes of invalid UTF-8, \uHHHH for C1 controls, format
// characters (bidi overrides and isolates, zero-width characters),
// U+2028, U+2029 and every other rune that is not printable. A backslash
// is doubled so that an escape cannot be forged.
func clean(s string, limit int) safe {
	return safe(escape(s, limit, false, false))
}

// quote is clean within double quotes (limit runes and the quotes), with
// inner quotes escaped: a description cannot close its quotes and pose as
// the next field.
func quote(s string, limit int) safe {
	return safe(`"` + escape(s, limit, true, false) + `"`)
}

// subjectText makes s an SNS subject: printable ASCII only (anything else
// escaped), at most maxSubject characters, starting with a letter, digit
// or punctuation mark as SNS requires.
func subjectText(s string) string {
	s = escape(strings.TrimLeft(s, " "), maxSubject, false, true)
	if s == "" {
		return "Flow log digest"
	}
	return s
}

// escape writes s with every rune that is not printable escaped, cut to
// at most limit runes with an ellipsis ("..." when ascii). It stops
// reading at the cut, so a huge input costs no more than a short one.
func escape(s string, limit int, quotes, ascii bool) string {
	ellipsis := "…"
	if ascii {
		ellipsis = "..."
	}
	room := limit - utf8.RuneCountInString(ellipsis)
	var b strings.Builder
	n, cut := 0, 0 // runes written; bytes written when n last fit in room
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		piece := escapeRune(r, size, s[i], quotes, ascii)
		if piece == "" {
			b.WriteRune(r)
			n++
		} else {
			b.WriteString(piece) // escapes are ASCII: bytes are runes
			n += len(piece)
		}
		i += size
		if n <= room {
			cut = b.Len()
		}
		if n > limit || n > room && i < len(s) {
			return b.String()[:cut] + ellipsis
		}
	}
	return b.String()
}

// escapeRune returns the escape of r, or "" when r is shown as it is.
// first is the first byte of r's encoding, which is what an invalid
// sequence (r == utf8.RuneError, size 1) shows.
func escapeRune(r rune, size int, first byte, quotes, ascii bool) string {
	switch {
	case r == utf8.RuneError && size == 1:
		return fmt.Sprintf(`\x%02x`, first)
	case r == '\\':
		return `\\`
	case r == '"' && quotes:
		return `\"`
	case r == '\n':
		return `\n`
	case r == '\r':
		return `\r`
	case r == '\t':
		return `\t`
	case r < 0x20 || r == 0x7f:
		return fmt.Sprintf(`\x%02x`, r)
	case r < 0x7f:
		return ""
	case ascii || !unicode.IsPrint(r) || unicode.Is(unicode.Cf, r):
		// IsPrint admits letters, marks, numbers, punctuation and symbols
		// and no space but U+0020: C1 controls, format characters (Cf:
		// bidi controls, zero-width joiners), U+2028, U+2029, private use
		// and unassigned runes are all escaped.
		if r > 0xffff {
			return fmt.Sprintf(`\U%08x`, r)
		}
		return fmt.Sprintf(`\u%04x`, r)
	}
	return ""
}

// textWriter builds the plain-text rendering. printf cleans each argument
// with the cap of its kind: the format strings are this package's own,
// the arguments may come from anyone.
type textWriter struct {
	b strings.Builder
}

func (w *textWriter) printf(format string, args ...any) {
	for i, a := range args {
		args[i] = safeArg(a)
	}
	fmt.Fprintf(&w.b, format, args...)
}

// safeArg passes numbers and safe text through and cleans everything else
// as a field (maxTextField): text that needs a longer cap comes as safe.
func safeArg(a any) any {
	switch v := a.(type) {
	case safe:
		return string(v)
	case int, int64, int32, uint64, uint32, float64, bool:
		return v
	case string:
		return string(clean(v, maxTextField))
	case error:
		return string(clean(v.Error(), maxTextLong))
	case fmt.Stringer:
		return string(clean(v.String(), maxTextField))
	default:
		return string(clean(fmt.Sprint(v), maxTextField))
	}
}

// capRunes cuts s to at most limit runes, the last an ellipsis, for the
// JSON digest: encoding/json escapes, but a field another principal can
// fill must not take the digest's room.
func capRunes(s string, limit int) string {
	if len(s) <= limit {
		return s // bytes bound runes
	}
	n := 0
	for i := range s {
		if n == limit-1 {
			if utf8.RuneCountInString(s[i:]) == 1 {
				return s
			}
			return s[:i] + "…"
		}
		n++
	}
	return s
}
