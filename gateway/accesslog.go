package gateway

import (
	"net/url"
	"strings"

	"github.com/scim-gateway/scim-gateway/gateway/translog"
)

// How the access log shows each query parameter, by its decoded name in lower case. A parameter not
// listed here shows its name (when it looks like one) and *** for its value: a client may put a bearer
// token (access_token, token, api_key, code...) or anything else in a query string, and none of it
// belongs in a log.
const (
	showNumber   = iota + 1 // a short number as sent, anything else ***
	showFilter              // compared values masked (translog.RedactFilter)
	showAsIsEnum            // ascending or descending as sent, anything else ***
)

var accessParams = map[string]int{
	"startindex":         showNumber,
	"count":              showNumber,
	"filter":             showFilter,
	"attributes":         showFilter, // may carry value filters: emails[value eq "x"]
	"excludedattributes": showFilter,
	"sortby":             showFilter,
	"sortorder":          showAsIsEnum,
}

// accessQuery renders a request's raw query string for the access log. Every name and value is
// percent-decoded first (so that fil%74er= is the filter it is), then shown as accessParams says;
// the values of every other parameter are masked. The result is decoded text, parameters joined by
// "&": `filter=userName eq "***"&count=10&access_token=***`.
func accessQuery(rawQuery string) string {
	if rawQuery == "" {
		return ""
	}
	parts := strings.Split(rawQuery, "&")
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if p == "" {
			continue
		}
		rawKey, rawVal, hasVal := strings.Cut(p, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil || !plainParamName(key) {
			key = translog.Masked
		}
		if !hasVal {
			out = append(out, key)
			continue
		}
		val, err := url.QueryUnescape(rawVal)
		if err != nil {
			out = append(out, key+"="+translog.Masked)
			continue
		}
		out = append(out, key+"="+accessValue(accessParams[strings.ToLower(key)], val))
	}
	return strings.Join(out, "&")
}

// accessValue shows one decoded value as its parameter's kind allows.
func accessValue(kind int, val string) string {
	switch {
	case val == "":
		return ""
	case kind == showFilter:
		return translog.RedactFilter(val)
	case kind == showNumber && len(val) <= 10 && strings.Trim(val, "0123456789") == "":
		return val
	case kind == showAsIsEnum && (strings.EqualFold(val, "ascending") || strings.EqualFold(val, "descending")):
		return val
	}
	return translog.Masked
}

// plainParamName reports whether a decoded parameter name may be logged: at most 64 letters, digits,
// '_', '-' or '.'. A longer or stranger name may itself be a secret (?<token> with no value).
func plainParamName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
