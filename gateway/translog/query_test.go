package translog_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/gateway/translog"
	"github.com/scim-gateway/scim-gateway/translator"
)

// seed is one record of the query tests, added a minute after the previous one.
type seed struct {
	id, userName, op, outcome string
}

var seeds = []seed{
	{"u1", "alice@example.com", translog.OpCreate, translog.OutcomeCreated},
	{"u2", "bob@example.com", translog.OpCreate, translog.OutcomeConflict},
	{"u1", "alice@example.com", translog.OpPatch, translog.OutcomeUpdated},
	{"g1", "", translog.OpPatch, translog.OutcomeUpdated},
	{"u2", "Bob@Example.com", translog.OpDelete, translog.OutcomeDisabled},
	{"u1", "ALICE@example.com", translog.OpReplace, translog.OutcomeUnchanged},
}

// seeded returns a logger holding seeds, the clock a minute after the last one.
func seeded(t *testing.T, policy translog.Policy) (*translog.Logger, *clock) {
	t.Helper()
	c := newClock()
	l := newLogger(t, translog.Config{Redaction: policy}, nil, c)
	for _, s := range seeds {
		rec := l.Start("req-"+s.id, "entra")
		rt := translog.ResourceUser
		if strings.HasPrefix(s.id, "g") {
			rt = translog.ResourceGroup
		}
		rec.SetOperation(s.op, rt)
		rec.SetSCIMID(s.id)
		if s.userName != "" {
			rec.SetUserName(s.userName)
		}
		rec.SetOutcome(s.outcome)
		rec.Finish(200)
		c.Advance(time.Minute)
	}
	return l, c
}

// query serves GET /admin/translations?rawQuery and returns the status and body.
func query(t *testing.T, l *translog.Logger, rawQuery string) (int, string) {
	t.Helper()
	w := httptest.NewRecorder()
	l.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/admin/translations?"+rawQuery, nil))
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	return w.Code, w.Body.String()
}

// describe lists the answered records as "scimId/op", newest first.
func describe(t *testing.T, body string) string {
	t.Helper()
	var resp struct {
		Records []struct {
			SCIMID string `json:"scimId"`
			Op     string `json:"op"`
		} `json:"records"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("body is not the records JSON: %v\n%s", err, body)
	}
	parts := []string{}
	for _, r := range resp.Records {
		parts = append(parts, r.SCIMID+"/"+r.Op)
	}
	return strings.Join(parts, " ")
}

func TestQueryParameters(t *testing.T) {
	l, _ := seeded(t, translog.Policy{HashKey: "k"}) // the last record started at 12:05, the clock is 12:06
	tests := []struct {
		name, query, want string
	}{
		{"everything, newest first", "", "u1/replace u2/delete g1/patch u1/patch u2/create u1/create"},
		{"scimId", "scimId=u1", "u1/replace u1/patch u1/create"},
		{"scimId is exact", "scimId=U1", ""},
		{"userName through the hash, any case", "userName=Alice%40Example.COM", "u1/replace u1/patch u1/create"},
		{"userName of bob", "userName=bob%40example.com", "u2/delete u2/create"},
		{"userName unknown", "userName=carol%40example.com", ""},
		{"op", "op=patch", "g1/patch u1/patch"},
		{"op any case", "op=CREATE", "u2/create u1/create"},
		{"outcome", "outcome=updated", "g1/patch u1/patch"},
		{"since as a duration", "since=150s", "u1/replace u2/delete"},
		{"since as a time", "since=2026-03-01T12:03:00Z", "u1/replace u2/delete g1/patch"},
		{"since with an offset", "since=2026-03-01T13:04:00%2B01:00", "u1/replace u2/delete"},
		{"limit", "limit=2", "u1/replace u2/delete"},
		{"limit applies after filtering", "op=create&limit=1", "u2/create"},
		{"parameters combine", "scimId=u1&op=patch&outcome=updated&since=1h&userName=alice%40example.com", "u1/patch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := query(t, l, tt.query)
			if status != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", status, body)
			}
			if got := describe(t, body); got != tt.want {
				t.Fatalf("records %q, want %q", got, tt.want)
			}
		})
	}
}

func TestQueryUserNameKept(t *testing.T) {
	l, _ := seeded(t, translog.Policy{Attributes: map[string]string{"userName": translog.ModeKeep}})
	status, body := query(t, l, "userName=alice%40EXAMPLE.com")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	if got, want := describe(t, body), "u1/replace u1/patch u1/create"; got != want {
		t.Fatalf("records %q, want %q", got, want)
	}
	if !strings.Contains(body, `"userName":"ALICE@example.com"`) {
		t.Fatalf("kept userName not shown as given: %s", body)
	}
}

func TestQueryLimits(t *testing.T) {
	l := newLogger(t, translog.Config{Buffer: 1500}, nil, nil)
	for range 1200 {
		rec := l.Start("r", "t")
		rec.SetOperation(translog.OpPatch, translog.ResourceUser)
		rec.Finish(200)
	}
	tests := []struct {
		query string
		want  int
	}{
		{"", translog.DefaultLimit},
		{"limit=1", 1},
		{"limit=1000", translog.MaxLimit},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			_, body := query(t, l, tt.query)
			if got := strings.Count(describe(t, body), "/patch"); got != tt.want {
				t.Fatalf("%d records, want %d", got, tt.want)
			}
		})
	}
}

func TestQueryBadValues(t *testing.T) {
	l, _ := seeded(t, translog.Policy{})
	tests := []struct {
		name, query, want string
	}{
		{"limit zero", "limit=0", "limit:"},
		{"limit too large", "limit=1001", "limit:"},
		{"limit not a number", "limit=ten", "limit:"},
		{"since unparsable", "since=yesterday", "since:"},
		{"since negative", "since=-10m", "since:"},
		{"unknown parameter", "user=alice", `unknown parameter \"user\"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := query(t, l, tt.query)
			if status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", status, body)
			}
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
				t.Fatalf("body %q is not a JSON error (%v)", body, err)
			}
			if !strings.Contains(body, tt.want) {
				t.Fatalf("error %q does not name %q", body, tt.want)
			}
		})
	}
}

func TestRecordJSON(t *testing.T) {
	c := newClock()
	l := newLogger(t, translog.Config{Redaction: translog.Policy{HashKey: "k"}}, nil, c)
	rec := l.Start("req-9", "entra")
	rec.SetOperation(translog.OpPatch, translog.ResourceUser)
	rec.SetSCIMID("u9")
	rec.SetUserName("carol@example.com")
	rec.AddChanges(translator.FieldChange{SCIM: "title", Portal: "properties.title", Old: "Clerk", New: nil})
	rec.AddCall(translog.Call{Op: "updateUser", Method: "PATCH", PathTemplate: "/api/usersync/v1/users({idUser})",
		Status: 0, Duration: 2250 * time.Microsecond, Attempt: 2, Error: "timeout"})
	rec.SetOutcome(translog.OutcomeFailed)
	c.Advance(3 * time.Second)
	rec.Finish(503)

	_, body := query(t, l, "")
	var resp struct {
		Records []map[string]any `json:"records"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil || len(resp.Records) != 1 {
		t.Fatalf("body %s: %v", body, err)
	}
	r := resp.Records[0]
	call := r["calls"].([]any)[0].(map[string]any)
	change := r["changes"].([]any)[0].(map[string]any)
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"time", r["time"], "2026-03-01T12:00:00Z"},
		{"requestId", r["requestId"], "req-9"},
		{"token", r["token"], "entra"},
		{"op", r["op"], "patch"},
		{"resourceType", r["resourceType"], "User"},
		{"scimId", r["scimId"], "u9"},
		{"userName", r["userName"], l.Redactor().UserName("carol@example.com")},
		{"outcome", r["outcome"], "failed"},
		{"status", r["status"], 503.0},
		{"durationMs", r["durationMs"], 3000.0},
		{"dryRun", r["dryRun"], false},
		{"change scim", change["scim"], "title"},
		{"change portal", change["portal"], "properties.title"},
		{"change old", change["old"], "Clerk"},
		{"change new", change["new"], nil},
		{"call op", call["op"], "updateUser"},
		{"call method", call["method"], "PATCH"},
		{"call path", call["path"], "/api/usersync/v1/users({idUser})"},
		{"call status", call["status"], 0.0},
		{"call durationMs", call["durationMs"], 2.25},
		{"call attempt", call["attempt"], 2.0},
		{"call error", call["error"], "timeout"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Fatalf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if _, ok := change["new"]; !ok {
		t.Fatalf("a cleared value must be shown as null, not left out")
	}
}

func TestQueryEmpty(t *testing.T) {
	l := newLogger(t, translog.Config{}, nil, nil)
	status, body := query(t, l, "")
	if status != http.StatusOK || strings.TrimSpace(body) != `{"records":[],"scope":"replica"}` {
		t.Fatalf("empty log: %d %s, want 200 {\"records\":[],\"scope\":\"replica\"}", status, body)
	}
}
