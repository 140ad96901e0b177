package translog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/gateway/translog"
	"github.com/scim-gateway/scim-gateway/internal/testkit"
	"github.com/scim-gateway/scim-gateway/translator"
)

// drops counts OnDrop calls by reason.
type drops struct {
	mu sync.Mutex
	n  map[string]int
}

func (d *drops) add(reason string, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == nil {
		d.n = map[string]int{}
	}
	d.n[reason] += n
}

func (d *drops) get(reason string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[reason]
}

// replica is one gateway replica's translation log writing to a shared stream.
type replica struct {
	log   *translog.Logger
	fleet *translog.Fleet
	drops *drops
}

// newReplica builds a Logger named name whose Fleet writes to s; both close when the test ends.
func newReplica(t *testing.T, name string, s translog.Stream, sc translog.StreamConfig, queue int) *replica {
	t.Helper()
	l, err := translog.New(translog.Options{Replica: name,
		Config: translog.Config{Redaction: translog.Policy{HashKey: "fleet-wide-hash-key"}}})
	if err != nil {
		t.Fatal(err)
	}
	d := &drops{}
	sc.Enabled = true
	f := translog.NewFleet(translog.FleetOptions{Stream: s, Config: sc, Logger: zaptest.NewLogger(t), OnDrop: d.add, Queue: queue})
	t.Cleanup(f.Close)
	l.SetFleet(f)
	return &replica{log: l, fleet: f, drops: d}
}

// record finishes one user record on r.
func (r *replica) record(op, scimID, userName, outcome string, changes ...translator.FieldChange) {
	rec := r.log.Start("req-"+scimID+"-"+op, "entra")
	rec.SetOperation(op, translog.ResourceUser)
	rec.SetSCIMID(scimID)
	rec.SetUserName(userName)
	rec.AddChanges(changes...)
	rec.AddCall(translog.Call{Op: "getUser", Method: "GET", PathTemplate: "/users({idUser})", Path: "/users(42)", Status: 200, Attempt: 1})
	rec.SetOutcome(outcome)
	rec.Finish(200)
}

// answer is an /admin/translations body.
type answer struct {
	Records []map[string]any `json:"records"`
	Scope   string           `json:"scope"`
	Replica string           `json:"replica"`
	Warning string           `json:"warning"`
}

func (a answer) describe() string {
	parts := []string{}
	for _, r := range a.Records {
		parts = append(parts, fmt.Sprintf("%s/%s@%s", r["scimId"], r["op"], r["replica"]))
	}
	return strings.Join(parts, " ")
}

func ask(t *testing.T, l *translog.Logger, rawQuery string) answer {
	t.Helper()
	status, body := query(t, l, rawQuery)
	if status != http.StatusOK {
		t.Fatalf("?%s: %d %s", rawQuery, status, body)
	}
	var a answer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("?%s: %v: %s", rawQuery, err, body)
	}
	return a
}

// waitAnswer asks until the answer describes as want, and fails the test after a generous deadline.
func waitAnswer(t *testing.T, l *translog.Logger, rawQuery, want string) answer {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a := ask(t, l, rawQuery)
		if a.describe() == want {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("?%s answers %q, want %q", rawQuery, a.describe(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sharedStream is a stream on the shared Redis under a key prefix of the test's own.
func sharedStream(t *testing.T) (*store.Redis, *store.Stream) {
	t.Helper()
	testkit.RequireSharedRedis(t)
	return redisStream(t, "redis://"+testkit.SharedRedisAddr+"/0", testkit.SharedRedisPrefix(t, "scimgw-test-"))
}

func redisStream(t *testing.T, url, prefix string) (*store.Redis, *store.Stream) {
	t.Helper()
	r, err := store.NewRedis(store.RedisOptions{URL: url, KeyPrefix: prefix}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r, r.Stream("translations")
}

// TestFleetAcrossReplicas: records finished on two replicas are answered by either, newest first,
// each named with its replica, each once, and the filters apply to the fleet's records.
func TestFleetAcrossReplicas(t *testing.T) {
	_, s := sharedStream(t)
	a := newReplica(t, "gw-a", s, translog.StreamConfig{}, 0)
	b := newReplica(t, "gw-b", s, translog.StreamConfig{}, 0)

	a.record(translog.OpCreate, "u1", "alice@example.com", translog.OutcomeCreated)
	time.Sleep(2 * time.Millisecond) // distinct record times, for a stable order
	b.record(translog.OpPatch, "u1", "alice@example.com", translog.OutcomeUpdated)
	time.Sleep(2 * time.Millisecond)
	b.record(translog.OpCreate, "u2", "bob@example.com", translog.OutcomeCreated)

	all := "u2/create@gw-b u1/patch@gw-b u1/create@gw-a"
	for _, r := range []*replica{a, b} {
		got := waitAnswer(t, r.log, "", all)
		if got.Scope != translog.ScopeFleet || got.Warning != "" {
			t.Fatalf("scope %q warning %q, want fleet and none", got.Scope, got.Warning)
		}
		if call := got.Records[0]["calls"].([]any)[0].(map[string]any); call["resolvedPath"] != "/users(42)" {
			t.Fatalf("a record read back from the stream lost its call's resolved path: %v", call)
		}
	}
	if got := ask(t, a.log, "").Replica; got != "gw-a" {
		t.Fatalf("answering replica = %q, want gw-a", got)
	}
	filters := map[string]string{
		"userName=ALICE@example.com":          "u1/patch@gw-b u1/create@gw-a",
		"scimId=u2":                           "u2/create@gw-b",
		"op=create":                           "u2/create@gw-b u1/create@gw-a",
		"outcome=updated":                     "u1/patch@gw-b",
		"limit=1":                             "u2/create@gw-b",
		"since=1h":                            all,
		"since=2000-01-01T00:00:00Z&op=patch": "u1/patch@gw-b",
	}
	for q, want := range filters {
		if got := ask(t, a.log, q).describe(); got != want {
			t.Errorf("?%s on gw-a = %q, want %q", q, got, want)
		}
	}
	if got := ask(t, a.log, "since="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)).describe(); got != "" {
		t.Errorf("a since in the future answered %q", got)
	}
}

// TestFleetRecordBytes: a record over MaxRecordBytes reaches the stream cut to size, saying so; one
// that cannot be cut to size is dropped and counted.
func TestFleetRecordBytes(t *testing.T) {
	_, s := sharedStream(t)
	const maxBytes = 2048
	a := newReplica(t, "gw-a", s, translog.StreamConfig{MaxRecordBytes: maxBytes}, 0)
	b := newReplica(t, "gw-b", s, translog.StreamConfig{MaxRecordBytes: maxBytes}, 0)

	// Each value is cut to maxValueBytes (1 KiB by default) when recorded; five of them still make a
	// record over 2 KiB.
	big := strings.Repeat("x", 10000)
	var changes []translator.FieldChange
	for i := range 5 {
		changes = append(changes, translator.FieldChange{SCIM: fmt.Sprint("title", i), Portal: fmt.Sprint("properties.title", i), Old: "Clerk", New: big})
	}
	a.record(translog.OpPatch, "u1", "alice@example.com", translog.OutcomeUpdated, changes...)
	a.record(translog.OpPatch, strings.Repeat("i", 3000), "carol@example.com", translog.OutcomeUpdated)

	got := waitAnswer(t, b.log, "", "u1/patch@gw-a") // from the stream: b's ring has neither
	raw, _ := json.Marshal(got.Records[0])
	if len(raw) > maxBytes {
		t.Fatalf("the record in the stream is %d bytes, over %d", len(raw), maxBytes)
	}
	change := got.Records[0]["changes"].([]any)[0].(map[string]any)
	if change["scim"] != "title0" || strings.Contains(string(raw), big[:100]) || got.Records[0]["cut"] == nil {
		t.Fatalf("the oversized record was not cut as documented: %s", raw)
	}
	deadline := time.Now().Add(30 * time.Second)
	for a.drops.get(translog.DropTooLarge) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("too_large drops = %d, want 1", a.drops.get(translog.DropTooLarge))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The replica that made them still shows both from its own ring, with the values it keeps.
	if got := ask(t, a.log, "op=patch"); len(got.Records) != 2 ||
		!strings.HasPrefix(got.Records[1]["changes"].([]any)[0].(map[string]any)["new"].(string), big[:1000]) {
		t.Fatalf("gw-a's own answer lost its records: %s", got.describe())
	}
}

// blockingStream is a Stream whose first Add waits until release is closed.
type blockingStream struct {
	started chan struct{} // closed when the first Add starts
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	added   int
}

func (s *blockingStream) Add(_ context.Context, _ int, values [][]byte) error {
	s.once.Do(func() { close(s.started); <-s.release })
	s.mu.Lock()
	s.added += len(values)
	s.mu.Unlock()
	return nil
}

func (s *blockingStream) Scan(context.Context, time.Time, func(time.Time, []byte) bool) error {
	return nil
}

// TestFleetQueueFull: while the stream does not answer, requests finish without waiting for it; what
// does not fit the queue is dropped and counted, what does is written once the stream answers.
func TestFleetQueueFull(t *testing.T) {
	s := &blockingStream{started: make(chan struct{}), release: make(chan struct{})}
	const queue = 4
	a := newReplica(t, "gw-a", s, translog.StreamConfig{}, queue)
	a.record(translog.OpCreate, "first", "first@example.com", translog.OutcomeCreated)
	<-s.started // the writer holds the first record and waits on the stream
	for i := range 10 {
		a.record(translog.OpCreate, fmt.Sprint("u", i), "user@example.com", translog.OutcomeCreated)
	}
	if got := a.drops.get(translog.DropQueueFull); got != 10-queue {
		t.Fatalf("queue_full drops = %d, want %d", got, 10-queue)
	}
	close(s.release)
	a.fleet.Close() // writes what is queued
	if s.added != 1+queue {
		t.Fatalf("the stream got %d records, want %d", s.added, 1+queue)
	}
	if got := len(ask(t, a.log, "").Records); got != 11 {
		t.Fatalf("the replica's own ring answers %d records, want all 11", got)
	}
}

// TestFleetRedisDown: with Redis gone, records are dropped and counted, and /admin/translations
// answers this replica's records with a warning.
func TestFleetRedisDown(t *testing.T) {
	srv := testkit.StartRedisServer(t)
	_, s := redisStream(t, srv.URL(), "scimgw-test:")
	a := newReplica(t, "gw-a", s, translog.StreamConfig{}, 0)
	a.record(translog.OpCreate, "u1", "alice@example.com", translog.OutcomeCreated)
	waitAnswer(t, a.log, "", "u1/create@gw-a")
	srv.Stop()
	a.record(translog.OpPatch, "u1", "alice@example.com", translog.OutcomeUpdated)
	deadline := time.Now().Add(30 * time.Second)
	for a.drops.get(translog.DropUnavailable) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no record was counted as dropped while Redis is down")
		}
		time.Sleep(10 * time.Millisecond)
	}
	got := ask(t, a.log, "")
	if got.Scope != translog.ScopeReplica || !strings.Contains(got.Warning, "this replica only") ||
		got.describe() != "u1/patch@gw-a u1/create@gw-a" {
		t.Fatalf("answer while Redis is down: scope %q warning %q records %q", got.Scope, got.Warning, got.describe())
	}
}

// TestFleetDisabled: with the stream turned off (a reload), nothing is written and the answer is this
// replica's.
func TestFleetDisabled(t *testing.T) {
	s := &blockingStream{started: make(chan struct{}), release: make(chan struct{})}
	close(s.release)
	a := newReplica(t, "gw-a", s, translog.StreamConfig{}, 0)
	a.fleet.SetConfig(translog.StreamConfig{Enabled: false})
	a.record(translog.OpCreate, "u1", "alice@example.com", translog.OutcomeCreated)
	a.fleet.Close()
	if s.added != 0 {
		t.Fatalf("a disabled stream got %d records", s.added)
	}
	if got := ask(t, a.log, ""); got.Scope != translog.ScopeReplica || got.describe() != "u1/create@gw-a" {
		t.Fatalf("answer with the stream off: scope %q records %q", got.Scope, got.describe())
	}
}

// entry is one entry of a sliceStream.
type entry struct {
	added time.Time
	value string
}

// sliceStream is a Stream holding fixed entries, newest added first.
type sliceStream []entry

func (s sliceStream) Add(context.Context, int, [][]byte) error { return nil }

func (s sliceStream) Scan(_ context.Context, since time.Time, fn func(time.Time, []byte) bool) error {
	for _, e := range s {
		if e.added.Before(since) || !fn(e.added, []byte(e.value)) {
			return nil
		}
	}
	return nil
}

// TestFleetOutOfOrder: replicas add records in the order their writers run, so the stream's newest
// entry may hold an older record (a slow writer, a slow request). The answer is still the newest
// records by time, and the scan stops once entries were added too long before them.
func TestFleetOutOfOrder(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rec := func(id string, at time.Time) string {
		return fmt.Sprintf(`{"time":%q,"op":"create","scimId":%q,"replica":"gw-b","outcome":"created"}`, at.Format(time.RFC3339Nano), id)
	}
	s := sliceStream{
		{t0.Add(3 * time.Second), rec("slow", t0)}, // started first, added last
		{t0.Add(2 * time.Second), rec("new", t0.Add(1500*time.Millisecond))},
		{t0.Add(1 * time.Second), rec("mid", t0.Add(time.Second))},
		{t0.Add(-time.Hour), rec("hour-old", t0.Add(time.Hour))}, // never read: added long before
	}
	a := newReplica(t, "gw-a", s, translog.StreamConfig{}, 0)
	for q, want := range map[string]string{
		"limit=1": "new/create@gw-b",
		"limit=2": "new/create@gw-b mid/create@gw-b",
		"limit=3": "new/create@gw-b mid/create@gw-b slow/create@gw-b",
	} {
		if got := ask(t, a.log, q).describe(); got != want {
			t.Errorf("?%s = %q, want %q", q, got, want)
		}
	}
}
