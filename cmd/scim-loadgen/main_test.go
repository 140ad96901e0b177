package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runReport runs the command with args plus --json and returns the parsed JSON report and the text.
func runReport(t *testing.T, args ...string) (Report, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, append(args, "--json", path), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read report: %v", err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("parse report: %v\n%s", err, b)
	}
	return rep, out.String()
}

// op returns the operation named name of the phase named phase, failing the test when there is none.
func op(t *testing.T, rep Report, phase, name string) OpReport {
	t.Helper()
	for _, ph := range rep.Phases {
		if ph.Name != phase {
			continue
		}
		for _, o := range ph.Operations {
			if o.Name == name {
				return o
			}
		}
	}
	t.Fatalf("no operation %s in phase %s: %+v", name, phase, rep.Phases)
	return OpReport{}
}

// phaseNames lists the phases of rep and the operations of each, as "phase:op,op".
func phaseNames(rep Report) []string {
	var out []string
	for _, ph := range rep.Phases {
		var ops []string
		for _, o := range ph.Operations {
			ops = append(ops, o.Name)
		}
		out = append(out, ph.Name+":"+strings.Join(ops, ","))
	}
	return out
}

// checkCounts compares the object counts of an operation.
func checkCounts(t *testing.T, o OpReport, requests, ok, conflicts, retried, failed int) {
	t.Helper()
	got := [5]int{o.Requests, o.OK, o.Conflicts, o.Retried, o.Failed}
	want := [5]int{requests, ok, conflicts, retried, failed}
	if got != want {
		t.Fatalf("%s: requests, ok, conflicts, retried, failed = %v, want %v (errors %v)", o.Name, got, want, o.Errors)
	}
}

func TestRunFullCycle(t *testing.T) {
	tests := []struct {
		dialect    string
		wantActive string // the JSON of the active value of the disabling PATCH
	}{
		{dialectDefault, `"False"`},
		{dialectOpt2020, `false`},
	}
	for _, tt := range tests {
		t.Run(tt.dialect, func(t *testing.T) {
			fake, base := newFakeSCIM(t, nil)
			rep, text := runReport(t, "--base-url", base+"/", "--token", fake.token, "--users", "20",
				"--groups", "3", "--members-per-group", "4", "--concurrency", "4", "--scenario", "full",
				"--patch-fraction", "0.1", "--disable-fraction", "0.05", "--prefix", "t1", "--dialect", tt.dialect)

			want := []string{"initial:filter,create,group_filter,group_create,group_patch", "incremental:get,patch,disable"}
			if got := phaseNames(rep); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("phases = %v, want %v", got, want)
			}
			checkCounts(t, op(t, rep, "initial", "filter"), 20, 20, 0, 0, 0)
			checkCounts(t, op(t, rep, "initial", "create"), 20, 20, 0, 0, 0)
			checkCounts(t, op(t, rep, "initial", "group_filter"), 3, 3, 0, 0, 0)
			checkCounts(t, op(t, rep, "initial", "group_create"), 3, 3, 0, 0, 0)
			checkCounts(t, op(t, rep, "initial", "group_patch"), 3, 3, 0, 0, 0)
			checkCounts(t, op(t, rep, "incremental", "get"), 20, 20, 0, 0, 0)
			checkCounts(t, op(t, rep, "incremental", "patch"), 2, 2, 0, 0, 0)
			checkCounts(t, op(t, rep, "incremental", "disable"), 1, 1, 0, 0, 0)
			if c := op(t, rep, "initial", "create"); c.Statuses["201"] != 20 || c.LatencyMs.Max <= 0 || c.LatencyMs.P50 > c.LatencyMs.P99 {
				t.Fatalf("create statuses %v, latency %+v", c.Statuses, c.LatencyMs)
			}
			if rep.Phases[0].UsersPerSecond <= 0 {
				t.Fatalf("users_per_second = %v", rep.Phases[0].UsersPerSecond)
			}

			// The server saw exactly that.
			if got := fake.userCount(); got != 20 {
				t.Fatalf("server has %d users, want 20", got)
			}
			for key, want := range map[string]int{"GET users": 20, "POST users": 20, "GET user": 20, "PATCH user": 3, "GET groups": 3, "POST groups": 3, "PATCH group": 3} {
				if got := fake.callCount(key); got != want {
					t.Errorf("server calls %q = %d, want %d", key, got, want)
				}
			}
			fake.mu.Lock()
			var disabled []string
			for _, u := range fake.users {
				if !u.active {
					disabled = append(disabled, u.activeRaw)
				}
			}
			for _, g := range fake.groups {
				if len(g.members) != 4 {
					t.Errorf("group %s has %d members, want 4", g.displayName, len(g.members))
				}
			}
			var firstBody []byte
			for _, b := range fake.userBodies {
				var u struct{ UserName string }
				if json.Unmarshal(b, &u) == nil && u.UserName == "t1-1@contoso.com" {
					firstBody = b
				}
			}
			fake.mu.Unlock()
			if len(disabled) != 1 || disabled[0] != tt.wantActive {
				t.Fatalf("disabled users' active values = %v, want [%s]", disabled, tt.wantActive)
			}
			if p := fake.protocolProblems(); len(p) > 0 {
				t.Fatalf("protocol problems: %v", p)
			}
			checkEntraUserShape(t, firstBody)

			a := rep.Answers
			if a.Total != 72 || a.OK != 72 || a.Errors != 0 || a.ErrorsWithoutRetryAfter != 0 {
				t.Fatalf("answers = %+v, want 72 all ok", a)
			}
			if !strings.Contains(text, "errors_without_retry_after=0") || !strings.Contains(text, "error_statuses={}") {
				t.Fatalf("text report lacks the soak line:\n%s", text)
			}
		})
	}
}

// checkEntraUserShape checks a POST /Users body against the shape of AZURE_AD.md.
func checkEntraUserShape(t *testing.T, body []byte) {
	t.Helper()
	var u map[string]any
	if err := json.Unmarshal(body, &u); err != nil {
		t.Fatalf("user body: %v", err)
	}
	get := func(path ...any) any {
		var v any = u
		for _, p := range path {
			switch p := p.(type) {
			case string:
				m, _ := v.(map[string]any)
				v = m[p]
			case int:
				l, _ := v.([]any)
				if p >= len(l) {
					return nil
				}
				v = l[p]
			}
		}
		return v
	}
	checks := []struct {
		path []any
		want any
	}{
		{[]any{"schemas", 0}, schemaUser},
		{[]any{"schemas", 1}, schemaEnterprise},
		{[]any{"userName"}, "t1-1@contoso.com"},
		{[]any{"externalId"}, "t1-1"},
		{[]any{"active"}, true},
		{[]any{"emails", 0, "type"}, "work"},
		{[]any{"emails", 0, "primary"}, true},
		{[]any{"emails", 0, "value"}, "t1-1@contoso.com"},
		{[]any{"phoneNumbers", 0, "type"}, "mobile"},
		{[]any{schemaEnterprise, "employeeNumber"}, "100001"},
	}
	for _, c := range checks {
		if got := get(c.path...); got != c.want {
			t.Errorf("user body %v = %v, want %v", c.path, got, c.want)
		}
	}
	for _, path := range [][]any{{"name", "formatted"}, {"name", "familyName"}, {"name", "givenName"}, {"displayName"}, {"title"}, {schemaEnterprise, "department"}} {
		if s, _ := get(path...).(string); s == "" {
			t.Errorf("user body %v is empty", path)
		}
	}
}

func TestRetriesHonourRetryAfter(t *testing.T) {
	fake, base := newFakeSCIM(t, func(f *fakeSCIM) { f.throttleFirst = true })
	rep, _ := runReport(t, "--base-url", base, "--token", fake.token, "--users", "3", "--concurrency", "2",
		"--scenario", "initial", "--prefix", "t2", "--retry-delay", "1ms")

	checkCounts(t, op(t, rep, "initial", "filter"), 6, 3, 0, 3, 0)
	checkCounts(t, op(t, rep, "initial", "create"), 6, 3, 0, 3, 0)
	if got := op(t, rep, "initial", "create").Errors; len(got) != 1 || got["429"] != 3 {
		t.Fatalf("create errors = %v, want {429:3}", got)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.attempts) != 6 {
		t.Fatalf("distinct requests = %d, want 6: %v", len(fake.attempts), fake.attempts)
	}
	for key, times := range fake.attempts {
		if len(times) != 2 {
			t.Fatalf("%s: %d attempts, want 2", key, len(times))
		}
		// Retry-After: 1 was answered before the first attempt's reply left the server.
		if gap := times[1].Sub(times[0]); gap < time.Second {
			t.Fatalf("%s: retried after %v, before its Retry-After of 1s", key, gap)
		}
	}
	a := rep.Answers
	if a.Errors != 6 || a.ErrorsWithRetryAfter != 6 || a.ErrorsWithoutRetryAfter != 0 || a.ErrorStatuses["429"] != 6 {
		t.Fatalf("answers = %+v", a)
	}
}

func TestFinalFailures(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter bool
		// want: create requests, retried, failed; answers without Retry-After
		requests, retried, failed, withoutRetryAfter int
	}{
		{"400 is final at once", 400, false, 4, 0, 4, 4},
		{"503 is retried up to max-retries", 503, false, 12, 8, 4, 12},
		{"429 with Retry-After is retried too", 429, true, 12, 8, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, base := newFakeSCIM(t, func(f *fakeSCIM) { f.failCreates, f.failCreatesRetryAfter = tt.status, tt.retryAfter })
			args := []string{"--base-url", base, "--token", fake.token, "--users", "4", "--scenario", "initial",
				"--prefix", "t3", "--max-retries", "2", "--retry-delay", "1ms"}
			if tt.retryAfter {
				// Retry-After: 1 makes each retry wait a second; spread them over enough workers.
				args = append(args, "--concurrency", "4")
			}
			rep, text := runReport(t, args...)
			c := op(t, rep, "initial", "create")
			checkCounts(t, c, tt.requests, 0, 0, tt.retried, tt.failed)
			if got := c.Errors[statusKey(tt.status)]; got != tt.requests {
				t.Fatalf("create errors = %v, want %d of %d", c.Errors, tt.requests, tt.status)
			}
			a := rep.Answers
			if a.ErrorsWithoutRetryAfter != tt.withoutRetryAfter || a.ErrorStatuses[statusKey(tt.status)] != tt.requests {
				t.Fatalf("answers = %+v", a)
			}
			want := "errors_without_retry_after=" + strconv.Itoa(tt.withoutRetryAfter)
			if !strings.Contains(text, want) {
				t.Fatalf("text lacks %q:\n%s", want, text)
			}
		})
	}
}

func TestCreateConflictIsMatched(t *testing.T) {
	fake, base := newFakeSCIM(t, func(f *fakeSCIM) { f.blindFirstFilter = true })
	for i := 1; i <= 5; i++ {
		fake.addUser("t4-" + strconv.Itoa(i) + "@contoso.com")
	}
	rep, _ := runReport(t, "--base-url", base, "--token", fake.token, "--users", "10", "--scenario", "full",
		"--prefix", "t4", "--patch-fraction", "1", "--disable-fraction", "0", "--concurrency", "3")

	checkCounts(t, op(t, rep, "initial", "filter"), 10, 10, 0, 0, 0)
	checkCounts(t, op(t, rep, "initial", "create"), 10, 10, 5, 0, 0)
	checkCounts(t, op(t, rep, "initial", "create_lookup"), 5, 5, 0, 0, 0)
	// Every id learned, from a 201 or a lookup, is right: PATCHes by id all succeed.
	checkCounts(t, op(t, rep, "incremental", "patch"), 10, 10, 0, 0, 0)
	if got := fake.userCount(); got != 10 {
		t.Fatalf("server has %d users, want 10", got)
	}
	a := rep.Answers
	if a.ExpectedConflicts != 5 || a.Errors != 5 || a.ErrorsWithoutRetryAfter != 0 || a.ErrorStatuses["409"] != 5 {
		t.Fatalf("answers = %+v", a)
	}
}

func TestOpenLoopRate(t *testing.T) {
	fake, base := newFakeSCIM(t, nil)
	const rate, seconds = 40, 2
	rep, _ := runReport(t, "--base-url", base, "--token", fake.token, "--users", "5", "--scenario", "get",
		"--requests", "100000", "--rate", strconv.Itoa(rate), "--duration", strconv.Itoa(seconds)+"s", "--concurrency", "4", "--prefix", "t5")

	want := []string{"setup:filter,create", "get:get"}
	if got := phaseNames(rep); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("phases = %v, want %v", got, want)
	}
	g := op(t, rep, "get", "get")
	// The schedule has rate*seconds slots before the deadline; a loaded machine may miss some.
	if g.Requests > rate*seconds+1 || g.Requests < rate*seconds/2 {
		t.Fatalf("open loop sent %d GETs in %ds at %d/s", g.Requests, seconds, rate)
	}
	if g.OK != g.Requests || g.Abandoned != 100000-g.Requests || !rep.Phases[1].StoppedEarly {
		t.Fatalf("get = %+v, stopped early %v", g, rep.Phases[1].StoppedEarly)
	}
	if got := fake.callCount("GET user"); got != g.Requests {
		t.Fatalf("server got %d GETs by id, report says %d", got, g.Requests)
	}
}

func TestParseFlags(t *testing.T) {
	base := []string{"--base-url", "http://127.0.0.1:1/scim/v2", "--token", "t"}
	tests := []struct {
		name string
		args []string
		want string // part of the error; "" for none
	}{
		{"defaults", base, ""},
		{"no base URL", []string{"--token", "t"}, "--base-url: required"},
		{"relative base URL", []string{"--base-url", "/scim"}, "not an absolute"},
		{"no token", []string{"--base-url", "http://127.0.0.1:1/scim/v2"}, "--token: required"},
		{"bad scenario", append(base, "--scenario", "delete"), "--scenario"},
		{"bad dialect", append(base, "--dialect", "x"), "--dialect"},
		{"fractions over 1", append(base, "--patch-fraction", "0.7", "--disable-fraction", "0.4"), "add up"},
		{"prefix with @", append(base, "--prefix", "a@b"), "--prefix"},
		{"members over users", append(base, "--users", "2", "--members-per-group", "3"), "--members-per-group"},
		{"zero concurrency", append(base, "--concurrency", "0"), "--concurrency"},
		{"stray argument", append(base, "extra"), "unexpected arguments"},
		{"unknown flag", append(base, "--nope"), "nope"},
		{"verify without prefix", append(base, "--verify"), "--verify needs the --prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, &bytes.Buffer{})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("parseFlags: %v", err)
				}
				if o.concurrency != defaultConcurrency || o.maxRetries != defaultMaxRetries || o.prefix == "" || o.scenario != scenarioFull {
					t.Fatalf("defaults = %+v", o)
				}
				return
			}
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want errUsage containing %q", err, tt.want)
			}
		})
	}
	var out bytes.Buffer
	if _, err := parseFlags([]string{"--help"}, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "--sim-url") {
		t.Fatalf("--help: err %v, usage %q", err, out.String())
	}
}
