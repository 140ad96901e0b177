package portalsim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Paging limits of docs/portal-api.md section 2.
const (
	defaultTop = 100
	maxTop     = 500
)

// listQuery is the parsed query of a list call.
type listQuery struct {
	filter    filter
	top, skip int
}

// parseListQuery reads $filter, $top and $skip. fields is nil for lists that take no filter; a
// non-empty $filter there is FILTER_NOT_SUPPORTED.
func parseListQuery(r *http.Request, fields filterFields) (listQuery, *apiError) {
	q := listQuery{top: defaultTop}
	if r.URL.RawQuery == "" {
		return q, nil
	}
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return q, validationError("", "malformed query string: %v", err)
	}
	if vs, ok := values["$top"]; ok {
		n, err := strconv.Atoi(vs[0])
		if err != nil || n < 0 || n > maxTop {
			return q, validationError("$top", "$top must be an integer from 0 to %d, got %q", maxTop, vs[0])
		}
		q.top = n
	}
	if vs, ok := values["$skip"]; ok {
		n, err := strconv.Atoi(vs[0])
		if err != nil || n < 0 {
			return q, validationError("$skip", "$skip must be a non-negative integer, got %q", vs[0])
		}
		q.skip = n
	}
	if vs, ok := values["$filter"]; ok {
		if fields == nil {
			if strings.Trim(vs[0], " ") != "" {
				return q, filterError("this list takes no $filter")
			}
		} else {
			f, e := parseFilter(vs[0], fields)
			if e != nil {
				return q, e
			}
			q.filter = f
		}
	}
	return q, nil
}

// listReply renders a list envelope: the count, the encoded items, and a nextLink when items remain
// past this page.
func (s *Sim) listReply(r *http.Request, q listQuery, count int, items [][]byte) reply {
	size := 64
	for _, it := range items {
		size += len(it) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, `{"@odata.count":`...)
	b = strconv.AppendInt(b, int64(count), 10)
	b = append(b, `,"value":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	b = append(b, ']')
	if next := q.skip + len(items); q.top > 0 && next < count {
		link := mustJSON(s.absoluteURL(r, r.URL.EscapedPath()) + "?" + withSkip(r.URL.RawQuery, next))
		b = append(b, `,"@odata.nextLink":`...)
		b = append(b, link...)
	}
	b = append(b, '}')
	return reply{status: http.StatusOK, body: b}
}

// withSkip returns the raw query with every $skip set to skip (appended when absent); the other
// parameters keep their order and encoding.
func withSkip(rawQuery string, skip int) string {
	value := "$skip=" + strconv.Itoa(skip)
	if rawQuery == "" {
		return value
	}
	parts := strings.Split(rawQuery, "&")
	out := parts[:0]
	replaced := false
	for _, p := range parts {
		key, _, _ := strings.Cut(p, "=")
		if k, err := url.QueryUnescape(key); err == nil && k == "$skip" {
			if !replaced {
				out = append(out, value)
				replaced = true
			}
			continue
		}
		out = append(out, p)
	}
	if !replaced {
		out = append(out, value)
	}
	return strings.Join(out, "&")
}

// absoluteURL builds an absolute URL from the request's scheme and host and an escaped path on this
// server.
func (s *Sim) absoluteURL(r *http.Request, escapedPath string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + escapedPath
}
