package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSCIM is a minimal in-memory SCIM server with the routes Entra uses, to drive the load generator
// in tests. It records every request it gets and can misbehave on purpose.
type fakeSCIM struct {
	t     *testing.T
	token string

	// throttleFirst answers the first attempt of each request (keyed by method, path, query, and the
	// userName or displayName of a create) 429 with Retry-After: 1.
	throttleFirst bool
	// blindFirstFilter makes the first filter of each value find nothing, as if a create elsewhere had
	// raced ours.
	blindFirstFilter bool
	// failCreates, when not 0, answers every POST /Users with that status (and Retry-After: 1 when
	// failCreatesRetryAfter).
	failCreates           int
	failCreatesRetryAfter bool

	mu          sync.Mutex
	nextID      int
	users       map[string]*fakeUser // by id
	userByName  map[string]string    // lower-case userName to id
	groups      map[string]*fakeGroup
	groupByName map[string]string
	attempts    map[string][]time.Time // request key to arrival times
	filtered    map[string]bool        // filter values seen (for blindFirstFilter)
	calls       map[string]int         // "METHOD kind" to count, kind being users, user, groups, group
	userBodies  [][]byte               // bodies of POST /Users
	problems    []string               // requests that broke the protocol
}

type fakeUser struct {
	id, userName string
	active       bool
	activeRaw    string // the JSON of the last PATCH value of active
	title        string
}

type fakeGroup struct {
	id, displayName string
	members         map[string]bool
}

func newFakeSCIM(t *testing.T, edit func(*fakeSCIM)) (*fakeSCIM, string) {
	t.Helper()
	f := &fakeSCIM{
		t: t, token: "scim-token",
		users: map[string]*fakeUser{}, userByName: map[string]string{},
		groups: map[string]*fakeGroup{}, groupByName: map[string]string{},
		attempts: map[string][]time.Time{}, filtered: map[string]bool{}, calls: map[string]int{},
	}
	if edit != nil {
		edit(f)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL + "/scim/v2"
}

// addUser stores a user as if created earlier, and returns its id.
func (f *fakeSCIM) addUser(userName string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	id := fmt.Sprintf("u%d", f.nextID)
	f.users[id] = &fakeUser{id: id, userName: userName, active: true}
	f.userByName[strings.ToLower(userName)] = id
	return id
}

var filterRE = regexp.MustCompile(`^(userName|displayName) eq ("(?:[^"\\]|\\.)*")$`)

func (f *fakeSCIM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	body, _ := io.ReadAll(r.Body)
	rest, ok := strings.CutPrefix(r.URL.Path, "/scim/v2/")
	if !ok {
		f.fail(w, r, http.StatusNotFound, "no such path")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := r.Header.Get("Authorization"); got != "Bearer "+f.token {
		f.problems = append(f.problems, fmt.Sprintf("%s %s: Authorization %q", r.Method, r.URL, got))
		f.fail(w, r, http.StatusUnauthorized, "bad token")
		return
	}
	if len(body) > 0 && r.Header.Get("Content-Type") != scimContentType {
		f.problems = append(f.problems, fmt.Sprintf("%s %s: Content-Type %q", r.Method, r.URL, r.Header.Get("Content-Type")))
	}
	resource, id, _ := strings.Cut(rest, "/")
	kind := strings.ToLower(resource)
	if id != "" {
		kind = strings.TrimSuffix(kind, "s")
	}
	f.calls[r.Method+" "+kind]++

	key := r.Method + " " + r.URL.RequestURI()
	if r.Method == http.MethodPost {
		var named struct{ UserName, DisplayName string }
		_ = json.Unmarshal(body, &named)
		key += " " + named.UserName + named.DisplayName
	}
	f.attempts[key] = append(f.attempts[key], arrived)
	if f.throttleFirst && len(f.attempts[key]) == 1 {
		w.Header().Set("Retry-After", "1")
		f.fail(w, r, http.StatusTooManyRequests, "slow down")
		return
	}

	switch {
	case resource == "Users" && id == "" && r.Method == http.MethodGet:
		f.filter(w, r, "userName")
	case resource == "Users" && id == "" && r.Method == http.MethodPost:
		f.createUser(w, r, body)
	case resource == "Users" && id != "" && r.Method == http.MethodGet:
		if u := f.users[id]; u != nil {
			f.reply(w, http.StatusOK, map[string]any{"id": u.id, "userName": u.userName, "active": u.active})
			return
		}
		f.fail(w, r, http.StatusNotFound, "no such user")
	case resource == "Users" && id != "" && r.Method == http.MethodPatch:
		f.patchUser(w, r, id, body)
	case resource == "Groups" && id == "" && r.Method == http.MethodGet:
		if r.URL.Query().Get("excludedAttributes") != "members" {
			f.problems = append(f.problems, "group filter without excludedAttributes=members")
		}
		f.filter(w, r, "displayName")
	case resource == "Groups" && id == "" && r.Method == http.MethodPost:
		f.createGroup(w, r, body)
	case resource == "Groups" && id != "" && r.Method == http.MethodPatch:
		f.patchGroup(w, r, id, body)
	default:
		f.fail(w, r, http.StatusNotFound, "no such route")
	}
}

func (f *fakeSCIM) filter(w http.ResponseWriter, r *http.Request, attr string) {
	m := filterRE.FindStringSubmatch(r.URL.Query().Get("filter"))
	if m == nil || m[1] != attr {
		f.fail(w, r, http.StatusBadRequest, "bad filter")
		return
	}
	value, err := strconv.Unquote(m[2])
	if err != nil {
		f.fail(w, r, http.StatusBadRequest, "bad filter value")
		return
	}
	var id string
	if attr == "userName" {
		id = f.userByName[strings.ToLower(value)]
	} else {
		id = f.groupByName[strings.ToLower(value)]
	}
	if f.blindFirstFilter && !f.filtered[value] {
		id = ""
	}
	f.filtered[value] = true
	res := []any{}
	if id != "" {
		res = append(res, map[string]any{"id": id})
	}
	f.reply(w, http.StatusOK, map[string]any{
		"schemas":      []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		"totalResults": len(res), "Resources": res, "startIndex": 1, "itemsPerPage": len(res),
	})
}

func (f *fakeSCIM) createUser(w http.ResponseWriter, r *http.Request, body []byte) {
	f.userBodies = append(f.userBodies, body)
	if f.failCreates != 0 {
		if f.failCreatesRetryAfter {
			w.Header().Set("Retry-After", "1")
		}
		f.fail(w, r, f.failCreates, "create refused")
		return
	}
	var in struct{ UserName string }
	if err := json.Unmarshal(body, &in); err != nil || in.UserName == "" {
		f.fail(w, r, http.StatusBadRequest, "bad user")
		return
	}
	if _, ok := f.userByName[strings.ToLower(in.UserName)]; ok {
		f.fail(w, r, http.StatusConflict, "uniqueness")
		return
	}
	f.nextID++
	u := &fakeUser{id: fmt.Sprintf("u%d", f.nextID), userName: in.UserName, active: true}
	f.users[u.id] = u
	f.userByName[strings.ToLower(u.userName)] = u.id
	f.reply(w, http.StatusCreated, map[string]any{"id": u.id, "userName": u.userName, "active": true})
}

func (f *fakeSCIM) patchUser(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	u := f.users[id]
	if u == nil {
		f.fail(w, r, http.StatusNotFound, "no such user")
		return
	}
	var p struct {
		Operations []struct {
			Op    string
			Path  string
			Value json.RawMessage
		}
	}
	if err := json.Unmarshal(body, &p); err != nil || len(p.Operations) == 0 {
		f.fail(w, r, http.StatusBadRequest, "bad patch")
		return
	}
	for _, op := range p.Operations {
		if op.Op != "Replace" {
			f.problems = append(f.problems, "user PATCH op "+op.Op)
		}
		switch op.Path {
		case "active":
			u.activeRaw = string(op.Value)
			u.active = !strings.EqualFold(strings.Trim(u.activeRaw, `"`), "false")
		case "title":
			_ = json.Unmarshal(op.Value, &u.title)
		}
	}
	f.reply(w, http.StatusOK, map[string]any{"id": u.id, "userName": u.userName, "active": u.active})
}

func (f *fakeSCIM) createGroup(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		DisplayName string
		Members     []any
	}
	if err := json.Unmarshal(body, &in); err != nil || in.DisplayName == "" || in.Members == nil {
		f.fail(w, r, http.StatusBadRequest, "bad group")
		return
	}
	f.nextID++
	g := &fakeGroup{id: fmt.Sprintf("g%d", f.nextID), displayName: in.DisplayName, members: map[string]bool{}}
	f.groups[g.id] = g
	f.groupByName[strings.ToLower(g.displayName)] = g.id
	f.reply(w, http.StatusCreated, map[string]any{"id": g.id, "displayName": g.displayName})
}

func (f *fakeSCIM) patchGroup(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	g := f.groups[id]
	if g == nil {
		f.fail(w, r, http.StatusNotFound, "no such group")
		return
	}
	var p struct {
		Operations []struct {
			Op    string
			Path  string
			Value []struct{ Value string }
		}
	}
	if err := json.Unmarshal(body, &p); err != nil || len(p.Operations) != 1 || p.Operations[0].Op != "Add" || p.Operations[0].Path != "members" {
		f.fail(w, r, http.StatusBadRequest, "bad group patch")
		return
	}
	for _, m := range p.Operations[0].Value {
		if f.users[m.Value] == nil {
			f.fail(w, r, http.StatusBadRequest, "unknown member")
			return
		}
		g.members[m.Value] = true
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeSCIM) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeSCIM) fail(w http.ResponseWriter, _ *http.Request, status int, detail string) {
	f.reply(w, status, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		"status":  strconv.Itoa(status), "detail": detail,
	})
}

// snapshot helpers, under the lock.

func (f *fakeSCIM) userCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.users)
}

func (f *fakeSCIM) callCount(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key]
}

func (f *fakeSCIM) protocolProblems() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.problems...)
}
