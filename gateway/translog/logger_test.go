package translog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/scim-gateway/scim-gateway/gateway/translog"
	"github.com/scim-gateway/scim-gateway/translator"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newLogger(t *testing.T, cfg translog.Config, log *zap.Logger, c *clock) *translog.Logger {
	t.Helper()
	opts := translog.Options{Logger: log, Config: cfg}
	if c != nil {
		opts.Now = c.Now
	}
	l, err := translog.New(opts)
	if err != nil {
		t.Fatalf("translog.New: %v", err)
	}
	return l
}

// jsonLogger returns a logger writing JSON lines into buf.
func jsonLogger(buf *bytes.Buffer) *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(buf), zapcore.InfoLevel))
}

// The personal data of the redaction test.
const (
	rawUserName = "Alice.Liddell@example.com"
	rawEmail    = "alice.liddell@mail.example.org"
	rawPhone    = "+44 7700 900123"
	rawGiven    = "Alice"
	rawFamily   = "Liddell"
)

// recordCreate fills rec as a create of Alice would.
func recordCreate(rec *translog.Recorder) {
	rec.SetOperation(translog.OpCreate, translog.ResourceUser)
	rec.SetUserName(rawUserName)
	rec.AddChanges(
		translator.FieldChange{SCIM: "userName", Portal: "userName", New: "Alice.Liddell", Redact: translator.RedactHash},
		translator.FieldChange{SCIM: "userName", Portal: "domain", New: "example.com", Redact: translator.RedactHash},
		translator.FieldChange{SCIM: `emails[type eq "work"].value`, Portal: "contactEmail", New: rawEmail, Redact: translator.RedactMask},
		translator.FieldChange{SCIM: `phoneNumbers[type eq "mobile"].value`, Portal: "contactCellPhone", New: rawPhone, Redact: translator.RedactMask},
		translator.FieldChange{SCIM: "name.givenName", Portal: "firstName", New: rawGiven},
		translator.FieldChange{SCIM: "name.familyName", Portal: "lastName", Old: "Pleasance", New: rawFamily},
		translator.FieldChange{SCIM: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", Portal: "properties.department", New: "Looking Glass"},
		translator.FieldChange{SCIM: "active", Portal: "enabled", Old: nil, New: true},
	)
	rec.AddCall(translog.Call{Op: "createUser", Method: "POST", PathTemplate: "/api/usersync/v1/users",
		Status: 409, Duration: 12 * time.Millisecond, Attempt: 1, Error: "USER_ALREADY_EXISTS: login example.com\\alice.liddell exists"})
	rec.AddCall(translog.Call{Op: "getUser", Method: "GET", PathTemplate: "/api/usersync/v1/users({idUser})",
		Status: 200, Duration: 1500 * time.Microsecond, Attempt: 1})
	rec.SetSCIMID("0f8fad5b-d9cb-469f-a165-70867728950e")
	rec.SetOutcome(translog.OutcomeConflict)
	rec.SetError(fmt.Errorf("user %s already exists (contact %s)", rawUserName, rawEmail))
}

func TestRedactionInZapOutput(t *testing.T) {
	var buf bytes.Buffer
	cfg := translog.DefaultConfig()
	cfg.Redaction.HashKey = "test-key"
	l := newLogger(t, cfg, jsonLogger(&buf), nil)
	red := l.Redactor()

	rec := l.Start("req-1", "entra-prod")
	recordCreate(rec)
	if _, logged := rec.Finish(409); !logged {
		t.Fatalf("Finish: a create was not logged")
	}
	out := buf.String()
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("got %d log lines, want 1:\n%s", strings.Count(out, "\n"), out)
	}

	for _, raw := range []string{rawUserName, strings.ToLower(rawUserName), rawEmail, rawPhone, rawGiven, rawFamily, "Pleasance", "alice.liddell", "Alice.Liddell"} {
		t.Run("no raw "+raw, func(t *testing.T) {
			if strings.Contains(strings.ToLower(out), strings.ToLower(raw)) {
				t.Fatalf("log holds the raw value %q:\n%s", raw, out)
			}
		})
	}
	for name, want := range map[string]string{
		"userName hash":          `"userName":"` + red.UserName(rawUserName) + `"`,
		"email masked (rule)":    `"new":"a***g","redact":"mask"`,
		"phone masked (rule)":    `"new":"+***3","redact":"mask"`,
		"given name masked":      `"new":"A***e","redact":"mask"`,
		"old family name masked": `"old":"P***e"`,
		"login hashed (rule)":    `"new":"` + red.Hash("Alice.Liddell") + `","redact":"hash"`,
		"department kept":        `"new":"Looking Glass"`,
		"active kept":            `"scim":"active","portal":"enabled","old":null,"new":true,"redact":"keep"`,
		"portal path template":   `"path":"/api/usersync/v1/users({idUser})"`,
		"call error scrubbed":    `login ` + red.Hash("example.com") + `\\` + red.Hash("Alice.Liddell") + ` exists`,
		"error scrubbed":         `"error":"user ` + red.UserName(rawUserName) + ` already exists (contact a***g)"`,
		"request id":             `"requestId":"req-1"`,
		"token name":             `"token":"entra-prod"`,
		"outcome":                `"outcome":"conflict"`,
		"status":                 `"status":409`,
		"call duration in ms":    `"durationMs":1.5`,
		"component":              `"component":"translation"`,
		"scim id kept":           `"scimId":"0f8fad5b-d9cb-469f-a165-70867728950e"`,
		"the message says what":  `"msg":"translation"`,
		"dry run flag is logged": `"dryRun":false`,
	} {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(out, want) {
				t.Fatalf("log lacks %s\n%s", want, out)
			}
		})
	}
	t.Run("valid JSON", func(t *testing.T) {
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("log line is not JSON: %v", err)
		}
		if got := len(m["changes"].([]any)); got != 8 {
			t.Fatalf("changes has %d entries, want 8", got)
		}
	})
}

func TestTypedFields(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	l := newLogger(t, translog.Config{}, zap.New(core), nil)
	rec := l.Start("req-2", "entra")
	recordCreate(rec)
	rec.Finish(409)
	entries := logs.All()
	if len(entries) != 1 {
		t.Fatalf("got %d entries, want 1", len(entries))
	}
	m := entries[0].ContextMap()
	if got, ok := m["status"].(int); !ok || got != 409 {
		t.Fatalf("status = %#v, want the integer 409", m["status"])
	}
	calls, ok := m["calls"].([]any)
	if !ok || len(calls) != 2 {
		t.Fatalf("calls = %#v, want an array of 2", m["calls"])
	}
	if got := calls[0].(map[string]any)["op"]; got != "createUser" {
		t.Fatalf("calls[0].op = %v, want createUser", got)
	}
}

func TestReadsLoggedOnlyWhenConfigured(t *testing.T) {
	for _, reads := range []bool{false, true} {
		t.Run(fmt.Sprintf("reads=%v", reads), func(t *testing.T) {
			core, logs := observer.New(zapcore.InfoLevel)
			l := newLogger(t, translog.Config{Reads: reads}, zap.New(core), nil)
			for _, op := range []string{translog.OpGet, translog.OpList, translog.OpPatch} {
				rec := l.Start("r", "t")
				rec.SetOperation(op, translog.ResourceUser)
				rec.Finish(200)
			}
			want := 1
			if reads {
				want = 3
			}
			if got := logs.Len(); got != want {
				t.Fatalf("%d entries logged, want %d", got, want)
			}
			if got := len(l.Find(translog.Query{})); got != want {
				t.Fatalf("%d records kept, want %d", got, want)
			}
		})
	}
}

func TestConcurrentCalls(t *testing.T) {
	l := newLogger(t, translog.Config{}, nil, nil)
	rec := l.Start("req", "tok")
	ctx := translog.WithRecorder(context.Background(), rec)
	const workers, perWorker = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				translog.AddCall(ctx, translog.Call{Op: "addMember", Method: "PUT", Attempt: 1, Status: 200 + w, Duration: time.Duration(i)})
				if i%50 == 0 {
					rec.SetOutcome(translog.OutcomeUpdated)
					rec.AddChanges(translator.FieldChange{SCIM: "members", Portal: "members", New: "x"})
				}
			}
		}()
	}
	wg.Wait()
	got, logged := rec.Finish(200)
	if !logged {
		t.Fatalf("Finish did not log")
	}
	if len(got.Calls) != translog.MaxListed || len(got.Calls)+got.CallsOmitted != workers*perWorker {
		t.Fatalf("record lists %d calls and omits %d, want %d listed of %d", len(got.Calls), got.CallsOmitted,
			translog.MaxListed, workers*perWorker)
	}

	t.Run("calls after Finish are dropped", func(t *testing.T) {
		translog.AddCall(ctx, translog.Call{Op: "late"})
		kept := l.Find(translog.Query{})
		if len(kept) != 1 || len(kept[0].Calls) != translog.MaxListed || kept[0].CallsOmitted != got.CallsOmitted {
			t.Fatalf("kept record changed after Finish")
		}
		if _, again := rec.Finish(500); again {
			t.Fatalf("a second Finish logged again")
		}
	})
}

func TestFinishRacesLateCalls(t *testing.T) {
	l := newLogger(t, translog.Config{}, nil, nil)
	rec := l.Start("req", "tok")
	ctx := translog.WithRecorder(context.Background(), rec)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				translog.AddCall(ctx, translog.Call{Op: "removeMember"})
			}
		}()
	}
	got, _ := rec.Finish(200)
	wg.Wait()
	kept := l.Find(translog.Query{})
	if len(kept) != 1 || len(kept[0].Calls) != len(got.Calls) {
		t.Fatalf("kept record has %d calls, Finish returned %d", len(kept[0].Calls), len(got.Calls))
	}
}

func TestNoRecorder(t *testing.T) {
	ctx := context.Background()
	if r := translog.FromContext(ctx); r != nil {
		t.Fatalf("FromContext of a bare context = %v, want nil", r)
	}
	var r *translog.Recorder
	translog.AddCall(ctx, translog.Call{Op: "getUser"}) // must not panic
	r.SetOperation(translog.OpGet, translog.ResourceUser)
	r.SetSCIMID("id")
	r.SetUserName("alice")
	r.AddChanges(translator.FieldChange{SCIM: "userName"})
	r.AddCall(translog.Call{})
	r.SetOutcome(translog.OutcomeFound)
	r.SetDryRun(true)
	r.SetError(errors.New("x"))
	if _, logged := r.Finish(200); logged {
		t.Fatalf("a nil Recorder logged")
	}
}

func TestDurationAndDryRun(t *testing.T) {
	c := newClock()
	l := newLogger(t, translog.Config{}, nil, c)
	rec := l.Start("req", "tok")
	rec.SetOperation(translog.OpCreate, translog.ResourceUser)
	rec.SetDryRun(true)
	rec.SetOutcome(translog.OutcomeDryRun)
	c.Advance(250 * time.Millisecond)
	got, _ := rec.Finish(201)
	if got.Duration != 250*time.Millisecond || !got.Time.Equal(newClock().Now()) {
		t.Fatalf("Time %v Duration %v, want start time and 250ms", got.Time, got.Duration)
	}
	if !got.DryRun || got.Outcome != translog.OutcomeDryRun || got.Status != 201 {
		t.Fatalf("record = %+v, want a dry-run 201", got)
	}
}

func TestRingWrapAround(t *testing.T) {
	l := newLogger(t, translog.Config{Buffer: 3}, nil, nil)
	add := func(ids ...string) {
		for _, id := range ids {
			rec := l.Start("req-"+id, "tok")
			rec.SetOperation(translog.OpPatch, translog.ResourceUser)
			rec.SetSCIMID(id)
			rec.Finish(200)
		}
	}
	ids := func() string {
		var out []string
		for _, r := range l.Find(translog.Query{Limit: translog.MaxLimit}) {
			out = append(out, r.SCIMID)
		}
		return strings.Join(out, ",")
	}
	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"under capacity", func() { add("1", "2") }, "2,1"},
		{"full", func() { add("3") }, "3,2,1"},
		{"wrapped", func() { add("4", "5") }, "5,4,3"},
		{"wrapped twice", func() { add("6", "7", "8", "9") }, "9,8,7"},
		{"shrunk keeps the newest", func() { mustSetConfig(t, l, translog.Config{Buffer: 2}) }, "9,8"},
		{"grown keeps everything", func() { mustSetConfig(t, l, translog.Config{Buffer: 4}) }, "9,8"},
		{"fills the new room", func() { add("10", "11", "12") }, "12,11,10,9"},
		{"bad config is refused", func() {
			if err := l.SetConfig(translog.Config{Buffer: -1}); err == nil {
				t.Fatalf("SetConfig accepted buffer -1")
			}
		}, "12,11,10,9"},
	}
	for _, s := range steps {
		s.do()
		if got := ids(); got != s.want {
			t.Fatalf("%s: records %s, want %s", s.name, got, s.want)
		}
	}
}

func mustSetConfig(t *testing.T, l *translog.Logger, c translog.Config) {
	t.Helper()
	if err := l.SetConfig(c); err != nil {
		t.Fatalf("SetConfig: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		c    translog.Config
		want string // "" for valid
	}{
		{"default", translog.DefaultConfig(), ""},
		{"zero", translog.Config{}, ""},
		{"negative buffer", translog.Config{Buffer: -1}, "buffer: must be between 0 and 100000, not -1"},
		{"huge buffer", translog.Config{Buffer: translog.MaxBuffer + 1}, "buffer: must be between"},
		{"policy problems are prefixed", translog.Config{Redaction: translog.Policy{Default: "x"}}, `redaction.default: must be one of keep, mask, hash, drop, not "x"`},
		{"small bufferBytes", translog.Config{BufferBytes: 1000}, "bufferBytes: must be between 1048576 and"},
		{"huge maxValueBytes", translog.Config{MaxValueBytes: 1 << 20}, "maxValueBytes: must be between 64 and 65536, not 1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
			if _, err := translog.New(translog.Options{Config: tt.c}); (err == nil) != (tt.want == "") {
				t.Fatalf("New error = %v, want an error: %v", err, tt.want != "")
			}
		})
	}
}

func BenchmarkRecord(b *testing.B) {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	l, err := translog.New(translog.Options{Logger: log, Config: translog.Config{Redaction: translog.Policy{HashKey: "k"}}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := l.Start("req", "entra")
		recordCreate(rec)
		rec.Finish(409)
	}
}
