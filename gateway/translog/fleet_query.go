package translog

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// answerJSON is the body of /admin/translations.
type answerJSON struct {
	Records []json.RawMessage `json:"records"`
	Scope   string            `json:"scope"`             // ScopeFleet or ScopeReplica
	Replica string            `json:"replica,omitempty"` // the replica that answered
	Warning string            `json:"warning,omitempty"` // why a fleet answer fell back to this replica
}

// found is a record selected for an answer: its JSON and what it is sorted and told apart by.
type found struct {
	raw json.RawMessage
	key recordKey
}

// recordKey holds the fields of a record's JSON that a query tests, sorts and deduplicates by.
type recordKey struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"requestId"`
	Replica   string    `json:"replica"`
	SCIMID    string    `json:"scimId"`
	UserName  string    `json:"userName"`
	Op        string    `json:"op"`
	Outcome   string    `json:"outcome"`
	Tenant    string    `json:"tenant"`
}

func (k recordKey) id() string {
	return k.Replica + "\x00" + k.RequestID + "\x00" + strconv.FormatInt(k.Time.UnixNano(), 10)
}

// answer writes the records q selects: with a Fleet that is enabled, those of the fleet-wide stream
// merged with this replica's ring (so that a record this replica has not yet written, or dropped, still
// shows), newest first; without one, or when the stream cannot be read, the ring's, with a warning.
func (l *Logger) answer(w http.ResponseWriter, r *http.Request, q Query) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	out := answerJSON{Scope: ScopeReplica, Replica: l.replica}
	var recs []found
	for _, rec := range l.Find(q) {
		b, err := json.Marshal(rec)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "cannot encode a record"})
			return
		}
		recs = append(recs, found{raw: b, key: recordKey{Time: rec.Time, RequestID: rec.RequestID, Replica: rec.Replica}})
	}
	if f := l.fleet.Load(); f.config().Enabled {
		fleet, err := l.findInStream(r.Context(), f.stream, q, limit)
		if err != nil {
			l.log.Warn("reading the fleet-wide translation stream", zap.Error(err))
			out.Warning = "the fleet-wide stream in Redis cannot be read: records of this replica only"
		} else {
			out.Scope = ScopeFleet
			recs = merge(recs, fleet, limit)
		}
	}
	out.Records = make([]json.RawMessage, len(recs))
	for i, f := range recs {
		out.Records[i] = f.raw
	}
	writeJSON(w, http.StatusOK, out)
}

// findInStream returns up to limit records of the stream that q selects, newest first. Replicas add
// their records in the order their writers run, not in the order of the records' times, so the scan
// goes on past limit matches until the entries were added before the limit-th newest record's time
// (less clockSkew): no entry further back can hold a newer record. Entries that are not records are
// skipped.
func (l *Logger) findInStream(ctx context.Context, s Stream, q Query, limit int) ([]found, error) {
	match := l.matcher(q)
	since := q.Since
	if !since.IsZero() {
		since = since.Add(-clockSkew)
	}
	var out []found
	var cutoff time.Time // set once limit records are found
	trim := func() {
		sortNewestFirst(out)
		if len(out) > limit {
			out = out[:limit]
		}
		cutoff = out[len(out)-1].key.Time.Add(-clockSkew)
	}
	err := s.Scan(ctx, since, func(added time.Time, v []byte) bool {
		if len(out) >= limit && added.Before(cutoff) {
			return false
		}
		var k recordKey
		if json.Unmarshal(v, &k) != nil || !match(k) {
			return true
		}
		out = append(out, found{raw: json.RawMessage(v), key: k})
		if len(out) == limit || len(out) >= 2*limit {
			trim()
		}
		return true
	})
	if len(out) > 0 {
		trim()
	}
	return out, err
}

// sortNewestFirst sorts records by time, newest first.
func sortNewestFirst(fs []found) {
	slices.SortStableFunc(fs, func(x, y found) int { return cmp.Compare(y.key.Time.UnixNano(), x.key.Time.UnixNano()) })
}

// merge returns the records of a and b, newest first, each once, at most limit.
func merge(a, b []found, limit int) []found {
	all := append(a, b...)
	sortNewestFirst(all)
	seen := make(map[string]bool, len(all))
	out := all[:0]
	for _, f := range all {
		id := f.key.id()
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, f)
		if len(out) == limit {
			break
		}
	}
	return out
}
