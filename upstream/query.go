package upstream

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/scim-gateway/scim-gateway/translator"
)

// listQuery builds the query string of a list call: $filter (when filters are given), $top and $skip.
// Errors: EInvalid/invalidFilter for a filter the portal grammar cannot express, EInvalid/invalidValue
// for a negative page.
func listQuery(filters []translator.PortalFilter, page translator.Page) (string, *translator.Error) {
	if page.Top < 0 || page.Skip < 0 {
		return "", translator.Invalidf(translator.ScimInvalidValue, "portal page top %d skip %d: must not be negative", page.Top, page.Skip)
	}
	var b strings.Builder
	if len(filters) > 0 {
		f, err := buildFilter(filters)
		if err != nil {
			return "", err
		}
		b.WriteString("$filter=")
		b.WriteString(escapeQueryValue(f))
		b.WriteByte('&')
	}
	b.WriteString("$top=")
	b.WriteString(strconv.Itoa(page.Top))
	if page.Skip > 0 {
		b.WriteString("&$skip=")
		b.WriteString(strconv.Itoa(page.Skip))
	}
	return b.String(), nil
}

// pageQuery builds the query string of a list call that takes no filter.
func pageQuery(page translator.Page) (string, *translator.Error) { return listQuery(nil, page) }

// buildFilter renders filters in the portal's $filter grammar (docs/portal-api.md section 2):
// `FIELD eq VALUE` terms joined by " and ", a string VALUE in single quotes with ” for a quote, a
// bool unquoted. Errors: EInvalid/invalidFilter for a field name that is not a plain identifier or a
// value that is neither a string nor a bool.
func buildFilter(filters []translator.PortalFilter) (string, *translator.Error) {
	var b strings.Builder
	for i, f := range filters {
		if !isIdentifier(f.Field) {
			return "", translator.Invalidf(translator.ScimInvalidFilter, "portal filter field %q is not a field name", f.Field)
		}
		if i > 0 {
			b.WriteString(" and ")
		}
		b.WriteString(f.Field)
		b.WriteString(" eq ")
		switch v := f.Value.(type) {
		case string:
			b.WriteByte('\'')
			b.WriteString(strings.ReplaceAll(v, "'", "''"))
			b.WriteByte('\'')
		case bool:
			b.WriteString(strconv.FormatBool(v))
		default:
			return "", translator.Invalidf(translator.ScimInvalidFilter, "portal filter on %s: value of type %T, want a string or a bool", f.Field, f.Value)
		}
	}
	return b.String(), nil
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// escapeQueryValue percent-encodes a query value: '+' travels as %2B and a space as %20, which every
// server reads the same way (a literal '+' would be read as a space).
func escapeQueryValue(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
