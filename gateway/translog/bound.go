package translog

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Bounds of what a record keeps (issue #13: a SCIM client sending megabyte values must not make the
// gateway hold or log megabytes per request). The request body limit bounds one request; these bound
// what is retained after it.
const (
	DefaultMaxValueBytes = 1024    // Config.MaxValueBytes when 0
	MinMaxValueBytes     = 64      // the smallest Config.MaxValueBytes accepted
	MaxMaxValueBytes     = 1 << 16 // the largest Config.MaxValueBytes accepted
	DefaultBufferBytes   = 8 << 20 // Config.BufferBytes when 0
	MinBufferBytes       = 1 << 20 // the smallest Config.BufferBytes accepted
	MaxBufferBytes       = 1 << 30 // the largest Config.BufferBytes accepted
	// MaxListed is how many portal calls, and how many member changes, one record lists; the rest
	// are counted (CallsOmitted, MembersOmitted).
	MaxListed = 100
)

// cutMarker starts what replaces the end of a value cut to its bound: "…[cut 1048000 bytes]".
const cutMarker = "…[cut "

// Cut returns s when it has at most limit bytes; else its first bytes (up to limit, ending at a
// UTF-8 character boundary) and a marker saying how many bytes were cut: "…[cut 1048000 bytes]".
// limit <= 0 means no limit.
func Cut(s string, limit int) string {
	if limit <= 0 || len(s) <= limit {
		return s
	}
	n := limit
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + cutMarker + strconv.Itoa(len(s)-n) + " bytes]"
}

// cutValue bounds a redacted value: strings as Cut does; a value that is neither a string, a number,
// a boolean nor nil (a kept list or object) becomes its JSON text, cut, when that is longer than
// limit.
func cutValue(v any, limit int) any {
	switch t := v.(type) {
	case nil, bool, float64, int, int64:
		return v
	case string:
		return Cut(t, limit)
	case json.Number:
		return json.Number(Cut(string(t), limit)) // a number's text can be long too
	}
	b, err := json.Marshal(v)
	if err != nil {
		return Cut(hashInput(v), limit)
	}
	if len(b) <= limit {
		return v
	}
	return Cut(string(b), limit)
}

// Estimated bytes of memory a kept record takes besides its strings' contents: the struct, slice
// elements and boxed values. The estimate errs on the high side (strings shared with the
// configuration, like an operation's name, are counted as if owned).
const (
	recordOverhead = 320
	changeOverhead = 112
	callOverhead   = 176
	memberOverhead = 64
)

// size estimates the bytes of memory rec takes while kept.
func (rec *Record) size() int {
	n := recordOverhead + len(rec.RequestID) + len(rec.Token) + len(rec.Tenant) + len(rec.Op) + len(rec.ResourceType) +
		len(rec.SCIMID) + len(rec.UserName) + len(rec.Outcome) + len(rec.Error)
	for i := range rec.Changes {
		c := &rec.Changes[i]
		n += changeOverhead + len(c.SCIM) + len(c.Portal) + len(c.Redact) + valueSize(c.Old) + valueSize(c.New)
	}
	for i := range rec.Calls {
		c := &rec.Calls[i]
		n += callOverhead + len(c.Op) + len(c.Method) + len(c.PathTemplate) + len(c.Path) + len(c.Error)
	}
	for i := range rec.Members {
		n += memberOverhead + len(rec.Members[i].Op) + len(rec.Members[i].SCIMID)
	}
	return n
}

// valueSize estimates the bytes of a redacted value beyond its interface header.
func valueSize(v any) int {
	switch t := v.(type) {
	case nil:
		return 0
	case string:
		return 16 + len(t)
	case json.Number:
		return 16 + len(t)
	case bool, float64, int, int64:
		return 8
	}
	b, err := json.Marshal(v)
	if err != nil {
		return 64
	}
	return 2 * len(b) // a decoded list or object takes more than its JSON text
}
