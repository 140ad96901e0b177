package translog

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Query limits of /admin/translations.
const (
	DefaultLimit = 100  // records answered when limit is not given
	MaxLimit     = 1000 // the largest limit accepted
)

// Query selects kept records. Zero fields select everything.
type Query struct {
	SCIMID   string    // the SCIM id, exactly
	UserName string    // the raw userName, compared through the policy (see Find)
	Op       string    // the SCIM operation, case-insensitively
	Outcome  string    // the outcome, case-insensitively
	Tenant   string    // the tenant, exactly
	Since    time.Time // records of requests that started at or after Since
	Limit    int       // the most records answered; 0 means DefaultLimit
}

// Find returns the kept records q selects, newest first. UserName is shown through the policy in force
// (hashed or masked as the records' userName is) and compared with the records' userName exactly, or
// case-insensitively when the policy keeps userNames. Records made under an earlier policy (before a
// reload that changed the hash key or the userName mode) no longer match by userName.
func (l *Logger) Find(q Query) []Record {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	match := l.matcher(q)
	var out []Record
	l.ring.scan(func(rec *Record) bool {
		if !match(recordKey{Time: rec.Time, SCIMID: rec.SCIMID, UserName: rec.UserName, Op: rec.Op, Outcome: rec.Outcome, Tenant: rec.Tenant}) {
			return true
		}
		out = append(out, *rec)
		return len(out) < limit
	})
	return out
}

// matcher returns the test of Find: whether a record with these fields is one q selects.
func (l *Logger) matcher(q Query) func(k recordKey) bool {
	red := l.Redactor()
	keep := red.UserNameMode() == ModeKeep
	wantUser := q.UserName
	if wantUser != "" {
		if red.UserNameMode() == ModeDrop {
			return func(recordKey) bool { return false } // records carry no userName to compare
		}
		wantUser = Cut(red.UserName(wantUser), l.setup.Load().maxValue) // as SetUserName keeps it
	}
	return func(k recordKey) bool {
		switch {
		case q.SCIMID != "" && k.SCIMID != q.SCIMID,
			q.Op != "" && !strings.EqualFold(k.Op, q.Op),
			q.Outcome != "" && !strings.EqualFold(k.Outcome, q.Outcome),
			q.Tenant != "" && k.Tenant != q.Tenant,
			!q.Since.IsZero() && k.Time.Before(q.Since),
			wantUser != "" && keep && !strings.EqualFold(k.UserName, wantUser),
			wantUser != "" && !keep && k.UserName != wantUser:
			return false
		}
		return true
	}
}

// queryParams are the parameters /admin/translations accepts.
var queryParams = []string{"scimId", "userName", "op", "outcome", "tenant", "since", "limit"}

// Handler serves GET /admin/translations?scimId=&userName=&op=&outcome=&tenant=&since=&limit= (mount it behind
// the admin token): the kept records Find selects, newest first, as {"records": [...]}. since is an
// RFC 3339 time or a Go duration (10m: the last ten minutes); limit is 1 to MaxLimit, DefaultLimit when
// absent. An unknown parameter or a bad value answers 400 with {"error": "..."}. With a Fleet the records
// come from the fleet-wide stream as well (see answer).
func (l *Logger) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := l.parseQuery(r.URL.Query())
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		l.answer(w, r, q)
	})
}

// parseQuery reads the parameters of /admin/translations. Errors name the parameter.
func (l *Logger) parseQuery(v url.Values) (Query, error) {
	for k := range v {
		if !slices.Contains(queryParams, k) {
			return Query{}, fmt.Errorf("unknown parameter %q: use %s", k, strings.Join(queryParams, ", "))
		}
	}
	q := Query{SCIMID: v.Get("scimId"), UserName: v.Get("userName"), Op: v.Get("op"), Outcome: v.Get("outcome"), Tenant: v.Get("tenant")}
	if s := v.Get("since"); s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			q.Since = t
		} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
			q.Since = l.now().Add(-d)
		} else {
			return Query{}, fmt.Errorf("since: %q is neither an RFC 3339 time nor a positive duration such as 10m", s)
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return Query{}, fmt.Errorf("limit: %q is not a number from 1 to %d", s, MaxLimit)
		}
		q.Limit = n
	}
	return q, nil
}

// writeJSON answers body as JSON with status.
func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
