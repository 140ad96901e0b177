package portalsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// maxBodyBytes bounds a request body.
const maxBodyBytes = 1 << 20

// timeLayout renders timestamps as RFC 3339 UTC with milliseconds: 2026-11-26T08:34:08.123Z.
const timeLayout = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func newGUID() string { return uuid.NewString() }

// readJSONObject reads a request body that must be one JSON object. Numbers are kept as json.Number,
// so that property values come back exactly as they were sent.
func readJSONObject(w http.ResponseWriter, r *http.Request) (map[string]any, *apiError) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, validationError("", "body larger than %d bytes", maxBodyBytes)
		}
		return nil, validationError("", "cannot read body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, validationError("", "body must be a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, validationError("", "body must be one JSON object")
	}
	return m, nil
}

// checkKeys refuses the first key of body (in sorted order) that is read-only or unknown.
func checkKeys(body map[string]any, writable, readOnly map[string]bool) *apiError {
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch {
		case writable[k]:
		case readOnly[k]:
			return validationError(k, "%s is read-only", k)
		default:
			return validationError(k, "unknown field %s", k)
		}
	}
	return nil
}

// stringField is the rule of one string field of a record of type T. A required field holds a string
// of 1 to max code points; an optional one holds nil (null) or a string of at most max code points.
type stringField[T any] struct {
	name     string
	max      int
	check    func(string) string // an extra rule: returns what is wrong, or ""
	required func(*T) *string    // set for a required field
	optional func(*T) **string   // set for an optional field
}

// applyStrings sets the string fields named in body onto rec, checking each rule in table order.
// On create, a required field must be present; a null clears an optional field.
func applyStrings[T any](rec *T, body map[string]any, fields []stringField[T], create bool) *apiError {
	for _, f := range fields {
		v, present := body[f.name]
		if !present {
			if create && f.required != nil {
				return validationError(f.name, "%s is required", f.name)
			}
			continue
		}
		if v == nil {
			if f.required != nil {
				return validationError(f.name, "%s is required", f.name)
			}
			*f.optional(rec) = nil
			continue
		}
		s, ok := v.(string)
		if !ok {
			return validationError(f.name, "%s must be a string", f.name)
		}
		n := utf8.RuneCountInString(s)
		if f.required != nil && n < 1 {
			return validationError(f.name, "%s must not be empty", f.name)
		}
		if n > f.max {
			return validationError(f.name, "%s must be at most %d characters, got %d", f.name, f.max, n)
		}
		if f.check != nil {
			if problem := f.check(s); problem != "" {
				return validationError(f.name, "%s %s", f.name, problem)
			}
		}
		if f.required != nil {
			*f.required(rec) = s
		} else {
			*f.optional(rec) = &s
		}
	}
	return nil
}

// equalOptional reports whether two optional fields hold the same value.
func equalOptional(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
