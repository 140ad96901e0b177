package portalsim

import (
	"fmt"
	"strings"
)

// condition is one `FIELD eq VALUE` term of a $filter. value is folded (lower case); for enabled it
// is "true" or "false".
type condition struct {
	field string
	value string
}

// filter is a parsed $filter: terms joined by and. An empty filter matches everything.
type filter []condition

// value returns the value of the first term on field.
func (f filter) value(field string) (string, bool) {
	for _, c := range f {
		if c.field == field {
			return c.value, true
		}
	}
	return "", false
}

// matches reports whether every term holds for a record whose fields get returns (value, set).
// An unset field matches no value.
func (f filter) matches(get func(field string) (string, bool)) bool {
	for _, c := range f {
		v, ok := get(c.field)
		if !ok || fold(v) != c.value {
			return false
		}
	}
	return true
}

// filterFields maps each filterable field of a resource to whether it is boolean.
type filterFields map[string]bool

var (
	userFilterFields = filterFields{
		"userName": false, "domain": false, "guidUser": false,
		"externalKey": false, "contactEmail": false, "enabled": true,
	}
	groupFilterFields = filterFields{"name": false, "guidGroup": false, "externalKey": false}
)

// parseFilter parses a $filter with the grammar of docs/portal-api.md section 2: one or more
// `FIELD eq VALUE` joined by `and`, tokens separated by one or more spaces, `eq` and `and` in any case,
// string values in single quotes (a doubled quote inside stands for one), unquoted true/false for boolean fields only.
// An empty expression is no filter. Anything else is 400 FILTER_NOT_SUPPORTED.
func parseFilter(expr string, fields filterFields) (filter, *apiError) {
	if strings.Trim(expr, " ") == "" {
		return nil, nil
	}
	toks, err := scanFilter(expr)
	if err != nil {
		return nil, filterError("%v", err)
	}
	var f filter
	for i := 0; ; {
		if len(toks)-i < 3 {
			return nil, filterError("expected FIELD eq VALUE")
		}
		name, op, val := toks[i], toks[i+1], toks[i+2]
		if name.quoted {
			return nil, filterError("expected a field name, got a string")
		}
		boolean, known := fields[name.text]
		if !known {
			return nil, filterError("field %q cannot be filtered on", name.text)
		}
		if op.quoted || !strings.EqualFold(op.text, "eq") {
			return nil, filterError("operator %q is not supported: only eq", op.text)
		}
		switch {
		case boolean && !val.quoted && (val.text == "true" || val.text == "false"):
			f = append(f, condition{field: name.text, value: val.text})
		case boolean:
			return nil, filterError("%s takes true or false, unquoted", name.text)
		case val.quoted:
			f = append(f, condition{field: name.text, value: fold(val.text)})
		default:
			return nil, filterError("%s takes a string in single quotes", name.text)
		}
		i += 3
		if i == len(toks) {
			return f, nil
		}
		if toks[i].quoted || !strings.EqualFold(toks[i].text, "and") {
			return nil, filterError("expected and, got %q", toks[i].text)
		}
		i++
	}
}

func filterError(format string, args ...any) *apiError {
	return newError(400, CodeFilterNotSupported, "$filter", "$filter not supported: "+format, args...)
}

// filterToken is a word or a quoted string (its text unquoted).
type filterToken struct {
	text   string
	quoted bool
}

// scanFilter splits expr into tokens separated by one or more spaces. A quoted string runs from a
// quote to the next quote not doubled, and must be followed by a space or the end.
func scanFilter(expr string) ([]filterToken, error) {
	var toks []filterToken
	i := 0
	for {
		for i < len(expr) && expr[i] == ' ' {
			i++
		}
		if i == len(expr) {
			return toks, nil
		}
		if expr[i] == '\'' {
			var b strings.Builder
			i++
			closed := false
			for i < len(expr) {
				if expr[i] != '\'' {
					b.WriteByte(expr[i])
					i++
					continue
				}
				if i+1 < len(expr) && expr[i+1] == '\'' {
					b.WriteByte('\'')
					i += 2
					continue
				}
				i++
				closed = true
				break
			}
			if !closed {
				return nil, fmt.Errorf("unterminated string")
			}
			if i < len(expr) && expr[i] != ' ' {
				return nil, fmt.Errorf("unexpected %q after a string", expr[i])
			}
			toks = append(toks, filterToken{text: b.String(), quoted: true})
			continue
		}
		start := i
		for i < len(expr) && expr[i] != ' ' {
			if expr[i] == '\'' {
				return nil, fmt.Errorf("unexpected quote inside %q", expr[start:i+1])
			}
			i++
		}
		toks = append(toks, filterToken{text: expr[start:i]})
	}
}
