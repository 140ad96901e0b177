package translog

import (
	"net/url"
	"strings"
)

// filterOps are the SCIM comparison operators whose right-hand value RedactQuery masks.
var filterOps = map[string]bool{
	"eq": true, "ne": true, "co": true, "sw": true, "ew": true, "gt": true, "ge": true, "lt": true, "le": true,
}

// RedactQuery returns rawQuery, a URL query string, for an access log: in each filter parameter every
// quoted value becomes "***", and so does every unquoted value compared by an operator (eq, ne, co,
// sw, ew, gt, ge, lt, le) except true, false and null. Attribute names, operators and other parameters
// are kept; a filter parameter is re-encoded (spaces as "+"). A filter value that is not valid
// percent-encoding becomes *** whole.
//
//	filter=userName+eq+%22alice%40example.com%22  ->  filter=userName+eq+%22%2A%2A%2A%22
func RedactQuery(rawQuery string) string {
	if !strings.Contains(strings.ToLower(rawQuery), "filter") {
		return rawQuery
	}
	parts := strings.Split(rawQuery, "&")
	for i, p := range parts {
		key, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		if k, err := url.QueryUnescape(key); err != nil || !strings.EqualFold(k, "filter") {
			continue
		}
		f, err := url.QueryUnescape(val)
		if err != nil {
			parts[i] = key + "=" + url.QueryEscape(Masked)
			continue
		}
		parts[i] = key + "=" + url.QueryEscape(RedactFilter(f))
	}
	return strings.Join(parts, "&")
}

// RedactFilter masks the values of a SCIM filter as RedactQuery does: every quoted string becomes
// "***", and every unquoted value after a comparison operator becomes *** unless it is true, false or
// null. `userName eq "alice" and active eq true` becomes `userName eq "***" and active eq true`. It
// does not parse the filter, so a malformed one is masked as far as it can be read.
func RedactFilter(filter string) string {
	var b strings.Builder
	b.Grow(len(filter))
	afterOp := false // the previous word was a comparison operator
	for i := 0; i < len(filter); {
		c := filter[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(filter) && filter[j] != '"' {
				if filter[j] == '\\' {
					j++
				}
				j++
			}
			b.WriteString(`"` + Masked + `"`)
			i = min(j+1, len(filter))
			afterOp = false
		case isFilterDelim(c):
			b.WriteByte(c)
			i++
			if c != ' ' && c != '\t' {
				afterOp = false
			}
		default:
			j := i
			for j < len(filter) && !isFilterDelim(filter[j]) && filter[j] != '"' {
				j++
			}
			word := filter[i:j]
			lw := strings.ToLower(word)
			switch {
			case afterOp && lw != "true" && lw != "false" && lw != "null":
				b.WriteString(Masked)
			default:
				b.WriteString(word)
			}
			afterOp = !afterOp && filterOps[lw]
			i = j
		}
	}
	return b.String()
}

// isFilterDelim reports whether c ends a word of a filter.
func isFilterDelim(c byte) bool {
	return c == ' ' || c == '\t' || c == '(' || c == ')' || c == '[' || c == ']'
}
