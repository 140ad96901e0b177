package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/gateway/translog"
	"github.com/scim-gateway/scim-gateway/translator"
)

const aliceBody = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice@contoso.com","active":true,
"externalId":"ext-alice","name":{"givenName":"Alice","familyName":"Liddell"},
"emails":[{"type":"work","value":"alice@contoso.com","primary":true}]}`

// newUser is the portal create body of a SCIM user body under the default mapping.
func newUser(t testing.TB, body string) translator.NewPortalUser {
	t.Helper()
	m, err := translator.NewMapping(translator.DefaultMappingConfig())
	if err != nil {
		t.Fatal(err)
	}
	req, err := translator.ParseUser([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	nu, _, err := m.ToPortalUser(req)
	if err != nil {
		t.Fatal(err)
	}
	return nu
}

// conflictOnSameLogin makes the fake's create answer a portal 409 (with existingIdUser) when the
// login is taken, as the portal does.
func conflictOnSameLogin(users *portalUsers) func(context.Context, translator.NewPortalUser) (translator.PortalUser, error) {
	return func(ctx context.Context, nu translator.NewPortalUser) (translator.PortalUser, error) {
		list, _ := users.list(ctx, []translator.PortalFilter{{Field: translator.FieldUserName, Value: nu.UserName}, {Field: translator.FieldDomain, Value: nu.Domain}}, translator.Page{Top: 2})
		if len(list.Users) > 0 {
			return translator.PortalUser{}, &translator.Error{Code: translator.EConflict, Status: http.StatusConflict,
				PortalCode: "USER_EXISTS", Message: "user exists", ExistingID: list.Users[0].IDUser}
		}
		return users.add(nu), nil
	}
}

// lastRecord is the translation record of the last request.
func (s *ruleServer) lastRecord(t *testing.T) translog.Record {
	t.Helper()
	recs := s.translog.Find(translog.Query{Limit: 1})
	if len(recs) != 1 {
		t.Fatalf("no translation record")
	}
	return recs[0]
}

func scimID(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var res map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, w.Body.String())
	}
	id, _ := res["id"].(string)
	return id
}

// TestCreateRule is DESIGN.md's create rule, in the gateway alone: a conflict or an unknown outcome
// reads the existing user and compares it; 201 when the create is this body's own (its 201 never
// reached the client), 409 otherwise; a user deleted in disable mode is restored.
func TestCreateRule(t *testing.T) {
	alice := newUser(t, aliceBody)
	login := store.NormaliseLogin(alice.Domain, alice.UserName)
	tests := []struct {
		name string
		// setup prepares the portal, the fake and the store before the POST.
		setup       func(t *testing.T, users *portalUsers, f *fakePortal, s *ruleServer)
		wantStatus  int
		wantOutcome string
		wantUsers   int      // users in the portal afterwards
		wantWrites  []string // portal writes of the POST
		wantSameID  bool     // the answer's id is the user that was there before
	}{
		{name: "a new user is created", wantStatus: http.StatusCreated, wantOutcome: translog.OutcomeCreated,
			wantUsers: 1, wantWrites: []string{"createUser"}},
		{name: "someone else's user of the same login is 409",
			setup:      func(t *testing.T, users *portalUsers, _ *fakePortal, _ *ruleServer) { users.add(alice) },
			wantStatus: http.StatusConflict, wantOutcome: translog.OutcomeConflict, wantUsers: 1, wantWrites: []string{"createUser"}},
		{name: "the same body whose 201 was not delivered is 201 with the existing user",
			setup: func(t *testing.T, users *portalUsers, _ *fakePortal, s *ruleServer) {
				u := users.add(alice)
				putRecord(t, s, login, store.CreateRecord{Fingerprint: fingerprint(alice), ID: u.GUIDUser})
			},
			wantStatus: http.StatusCreated, wantOutcome: translog.OutcomeReplayed, wantUsers: 1, wantWrites: []string{"createUser"}, wantSameID: true},
		{name: "the same body whose 201 was delivered is 409",
			setup: func(t *testing.T, users *portalUsers, _ *fakePortal, s *ruleServer) {
				u := users.add(alice)
				putRecord(t, s, login, store.CreateRecord{Fingerprint: fingerprint(alice), ID: u.GUIDUser, Delivered: true})
			},
			wantStatus: http.StatusConflict, wantOutcome: translog.OutcomeConflict, wantUsers: 1, wantWrites: []string{"createUser"}},
		{name: "an undelivered record of another body is 409",
			setup: func(t *testing.T, users *portalUsers, _ *fakePortal, s *ruleServer) {
				other := alice
				other.FirstName = "Alicia"
				u := users.add(other)
				putRecord(t, s, login, store.CreateRecord{Fingerprint: fingerprint(other), ID: u.GUIDUser})
			},
			wantStatus: http.StatusConflict, wantOutcome: translog.OutcomeConflict, wantUsers: 1, wantWrites: []string{"createUser"}},
		{name: "an unknown outcome that did create the user is 201",
			setup: func(t *testing.T, users *portalUsers, f *fakePortal, _ *ruleServer) {
				f.createUser = func(_ context.Context, nu translator.NewPortalUser) (translator.PortalUser, error) {
					users.add(nu)
					return translator.PortalUser{}, &translator.Error{Code: translator.EOutcomeUnknown, Message: "no answer"}
				}
			},
			wantStatus: http.StatusCreated, wantOutcome: translog.OutcomeReplayed, wantUsers: 1, wantWrites: []string{"createUser"}},
		{name: "an unknown outcome that created nothing is 503",
			setup: func(t *testing.T, _ *portalUsers, f *fakePortal, _ *ruleServer) {
				f.createUser = func(context.Context, translator.NewPortalUser) (translator.PortalUser, error) {
					return translator.PortalUser{}, &translator.Error{Code: translator.EOutcomeUnknown, Message: "no answer"}
				}
			},
			wantStatus: http.StatusServiceUnavailable, wantOutcome: translog.OutcomeFailed, wantUsers: 0, wantWrites: []string{"createUser"}},
		{name: "a conflict whose user cannot be read is 503",
			setup: func(t *testing.T, _ *portalUsers, f *fakePortal, _ *ruleServer) {
				f.createUser = func(context.Context, translator.NewPortalUser) (translator.PortalUser, error) {
					return translator.PortalUser{}, &translator.Error{Code: translator.EConflict, Message: "user exists"}
				}
			},
			wantStatus: http.StatusServiceUnavailable, wantOutcome: translog.OutcomeFailed, wantUsers: 0, wantWrites: []string{"createUser"}},
		{name: "a user deleted in disable mode is restored and enabled",
			setup: func(t *testing.T, users *portalUsers, _ *fakePortal, _ *ruleServer) {
				deleted := alice
				deleted.FirstName = "Old"
				deleted.Enabled = new(bool)
				deleted.Properties = map[string]any{translator.DeletedProperty: true}
				users.add(deleted)
			},
			wantStatus: http.StatusCreated, wantOutcome: translog.OutcomeRestored, wantUsers: 1,
			wantWrites: []string{"createUser", "updateUser", "enableUser"}, wantSameID: true},
		{name: "a restore with updateUser switched off is 503 and writes nothing more",
			setup: func(t *testing.T, users *portalUsers, f *fakePortal, _ *ruleServer) {
				deleted := alice
				deleted.Enabled = new(bool)
				deleted.Properties = map[string]any{translator.DeletedProperty: true}
				users.add(deleted)
				f.off = []string{OpUpdateUser}
			},
			wantStatus: http.StatusServiceUnavailable, wantOutcome: translog.OutcomeFailed, wantUsers: 1, wantWrites: []string{"createUser"}},
		{name: "createUser switched off is 503 before any portal call",
			setup:      func(t *testing.T, _ *portalUsers, f *fakePortal, _ *ruleServer) { f.off = []string{OpCreateUser} },
			wantStatus: http.StatusServiceUnavailable, wantOutcome: translog.OutcomeFailed, wantUsers: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			users := newPortalUsers()
			f := userPortal(t, users)
			f.createUser = conflictOnSameLogin(users)
			s := newRuleServer(t, f, nil)
			if tc.setup != nil {
				tc.setup(t, users, f, s)
			}
			var before string
			if u, ok := firstUser(users); ok {
				before = u.GUIDUser
			}
			w := s.send(t, http.MethodPost, "/scim/v2/Users", aliceBody)
			if w.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", w.Code, tc.wantStatus, w.Body.String())
			}
			if w.Code >= 400 {
				decodeError(t, w)
			}
			if got := s.lastRecord(t).Outcome; got != tc.wantOutcome {
				t.Fatalf("outcome = %q, want %q", got, tc.wantOutcome)
			}
			if got := len(users.byID); got != tc.wantUsers {
				t.Fatalf("portal holds %d users, want %d", got, tc.wantUsers)
			}
			if got := f.writes(); !slices.Equal(got, tc.wantWrites) {
				t.Fatalf("portal writes = %v, want %v", got, tc.wantWrites)
			}
			if tc.wantSameID && scimID(t, w) != before {
				t.Fatalf("id = %q, want the existing user's %q", scimID(t, w), before)
			}
			if w.Code == http.StatusCreated {
				u := users.only(t)
				if !u.Enabled || isDeleted(u) || u.FirstName != "Alice" {
					t.Fatalf("portal user after the create = %+v", u)
				}
				if got := w.Header().Get("Location"); !strings.HasSuffix(got, "/scim/v2/Users/"+u.GUIDUser) {
					t.Fatalf("Location = %q", got)
				}
			}
		})
	}
}

func putRecord(t *testing.T, s *ruleServer, login string, rec store.CreateRecord) {
	t.Helper()
	if err := s.store.PutCreateRecord(context.Background(), store.User, login, rec); err != nil {
		t.Fatal(err)
	}
}

func firstUser(users *portalUsers) (translator.PortalUser, bool) {
	users.mu.Lock()
	defer users.mu.Unlock()
	for _, u := range users.byID {
		return u, true
	}
	return translator.PortalUser{}, false
}

// TestCreateAfterUnknownOutcome: an unknown outcome whose user the portal did not show yet answers
// 503 and leaves a create record, so that the retry that meets the user (the create landed late) gets
// its 201, once; the POST after that delivered 201 is 409.
func TestCreateAfterUnknownOutcome(t *testing.T) {
	users := newPortalUsers()
	f := userPortal(t, users)
	var late translator.NewPortalUser
	f.createUser = func(_ context.Context, nu translator.NewPortalUser) (translator.PortalUser, error) {
		late = nu
		return translator.PortalUser{}, &translator.Error{Code: translator.EOutcomeUnknown, Message: "no answer"}
	}
	s := newRuleServer(t, f, nil)
	if w := s.send(t, http.MethodPost, "/scim/v2/Users", aliceBody); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("first POST: %d %v: %s", w.Code, w.Header(), w.Body.String())
	}
	users.add(late) // the create lands after all
	f.createUser = conflictOnSameLogin(users)
	w := s.send(t, http.MethodPost, "/scim/v2/Users", aliceBody)
	if w.Code != http.StatusCreated || scimID(t, w) != users.only(t).GUIDUser {
		t.Fatalf("retry: %d: %s", w.Code, w.Body.String())
	}
	if w := s.send(t, http.MethodPost, "/scim/v2/Users", aliceBody); w.Code != http.StatusConflict {
		t.Fatalf("POST after the delivered 201: %d: %s", w.Code, w.Body.String())
	}
}

// TestDeleteRule: DELETE in both deprovisioning modes, the switches that freeze it, and a failing
// portal.
func TestDeleteRule(t *testing.T) {
	unavailable := &translator.Error{Code: translator.EUnavailable, Message: "portal down (test)"}
	tests := []struct {
		name       string
		onDelete   string
		enabled    bool
		setup      func(f *fakePortal)
		wantStatus int
		wantWrites []string
		// wantGone: the SCIM id answers 404 afterwards.
		wantGone bool
	}{
		{name: "disable mode disables, then marks deleted", onDelete: OnDeleteDisable, enabled: true,
			wantStatus: http.StatusNoContent, wantWrites: []string{"disableUser", "updateUser"}, wantGone: true},
		{name: "disable mode on a disabled user only marks it", onDelete: OnDeleteDisable, enabled: false,
			wantStatus: http.StatusNoContent, wantWrites: []string{"updateUser"}, wantGone: true},
		{name: "delete mode deletes", onDelete: OnDeleteDelete, enabled: true,
			wantStatus: http.StatusNoContent, wantWrites: []string{"deleteUser"}, wantGone: true},
		{name: "delete mode: a user the portal no longer has is 204", onDelete: OnDeleteDelete, enabled: true,
			setup: func(f *fakePortal) {
				f.deleteUser = func(context.Context, int64) error {
					return &translator.Error{Code: translator.ENotFound, PortalCode: "USER_NOT_FOUND"}
				}
			},
			wantStatus: http.StatusNoContent, wantWrites: []string{"deleteUser"}},
		{name: "the deleteUser switch freezes disable mode too", onDelete: OnDeleteDisable, enabled: true,
			setup:      func(f *fakePortal) { f.off = []string{OpDeleteUser} },
			wantStatus: http.StatusServiceUnavailable},
		{name: "disable mode needs disableUser", onDelete: OnDeleteDisable, enabled: true,
			setup:      func(f *fakePortal) { f.off = []string{OpDisableUser} },
			wantStatus: http.StatusServiceUnavailable},
		{name: "a failing disableUser is 503 and marks nothing", onDelete: OnDeleteDisable, enabled: true,
			setup:      func(f *fakePortal) { f.disableUser = func(context.Context, int64) error { return unavailable } },
			wantStatus: http.StatusServiceUnavailable, wantWrites: []string{"disableUser"}},
		{name: "a failing deleteUser is 503", onDelete: OnDeleteDelete, enabled: true,
			setup:      func(f *fakePortal) { f.deleteUser = func(context.Context, int64) error { return unavailable } },
			wantStatus: http.StatusServiceUnavailable, wantWrites: []string{"deleteUser"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			users := newPortalUsers()
			nu := newUser(t, aliceBody)
			nu.Enabled = &tc.enabled
			u := users.add(nu)
			f := userPortal(t, users)
			f.deleteUser = func(_ context.Context, id int64) error {
				users.mu.Lock()
				defer users.mu.Unlock()
				delete(users.byID, id)
				return nil
			}
			if tc.setup != nil {
				tc.setup(f)
			}
			s := newRuleServer(t, f, func(l *Live) { l.OnDelete = tc.onDelete })
			w := s.send(t, http.MethodDelete, "/scim/v2/Users/"+u.GUIDUser, "")
			if w.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", w.Code, tc.wantStatus, w.Body.String())
			}
			if got := f.writes(); !slices.Equal(got, tc.wantWrites) {
				t.Fatalf("portal writes = %v, want %v", got, tc.wantWrites)
			}
			if tc.onDelete == OnDeleteDisable && tc.wantStatus == http.StatusNoContent {
				after, _ := users.get(context.Background(), u.IDUser)
				if after.Enabled || !isDeleted(after) {
					t.Fatalf("portal user after DELETE = %+v, want disabled and marked deleted", after)
				}
			}
			if tc.wantGone {
				if w := s.send(t, http.MethodGet, "/scim/v2/Users/"+u.GUIDUser, ""); w.Code != http.StatusNotFound {
					t.Fatalf("GET after DELETE = %d, want 404: %s", w.Code, w.Body.String())
				}
			}
		})
	}
}

// TestDryRun: in dry-run mode every write answers as it would, marked, and nothing reaches the portal.
func TestDryRun(t *testing.T) {
	users := newPortalUsers()
	existing := users.add(newUser(t, strings.Replace(aliceBody, "alice@", "bob@", 2)))
	f := userPortal(t, users)
	f.createUser, f.updateUser, f.disableUser, f.enableUser = nil, nil, nil, nil // a call fails the test
	s := newRuleServer(t, f, func(l *Live) { l.DryRun = true })
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"create", http.MethodPost, "/scim/v2/Users", aliceBody, http.StatusCreated},
		{"patch", http.MethodPatch, "/scim/v2/Users/" + existing.GUIDUser,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":false}]}`, http.StatusNoContent},
		{"replace", http.MethodPut, "/scim/v2/Users/" + existing.GUIDUser, strings.Replace(aliceBody, "Alice", "Bobby", 1), http.StatusOK},
		{"delete", http.MethodDelete, "/scim/v2/Users/" + existing.GUIDUser, "", http.StatusNoContent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := s.send(t, tc.method, tc.path, tc.body)
			if w.Code != tc.want {
				t.Fatalf("status = %d, want %d: %s", w.Code, tc.want, w.Body.String())
			}
			if w.Header().Get(HeaderDryRun) != "true" {
				t.Fatalf("no %s header", HeaderDryRun)
			}
			rec := s.lastRecord(t)
			if !rec.DryRun || rec.Outcome != translog.OutcomeDryRun {
				t.Fatalf("record dryRun=%v outcome=%q", rec.DryRun, rec.Outcome)
			}
			if got := f.writes(); len(got) != 0 {
				t.Fatalf("portal writes in dry-run: %v", got)
			}
			if tc.method == http.MethodPost {
				id := scimID(t, w)
				if !strings.HasPrefix(id, dryRunPrefix) {
					t.Fatalf("dry-run id = %q", id)
				}
				if w := s.send(t, http.MethodGet, "/scim/v2/Users/"+id, ""); w.Code != http.StatusNotFound {
					t.Fatalf("GET of a dry-run id = %d, want 404", w.Code)
				}
			}
		})
	}
	if u, _ := users.get(context.Background(), existing.IDUser); !u.Enabled || isDeleted(u) || u.FirstName != existing.FirstName {
		t.Fatalf("the portal user changed in dry-run: %+v", u)
	}
}

// idemStep is one POST of TestIdempotencyKey: its key and body, the status expected, and whether the
// answer is a replay.
type idemStep struct {
	key, body string
	want      int
	replayed  bool
}

// TestIdempotencyKey: the same key and body replay the first answer without a second portal create;
// another body under the key is 422; a key over the limit is 400; a failed create frees its key.
func TestIdempotencyKey(t *testing.T) {
	bob := strings.Replace(aliceBody, "alice@", "bob@", 2)
	tests := []struct {
		name string
		// steps are POSTs made in order, each with its key, body and expected status.
		steps       []idemStep
		failFirst   bool // the first portal create fails with a 503
		wantCreates int
	}{
		{name: "same key and body replay the first 201", steps: []idemStep{{"k1", aliceBody, http.StatusCreated, false}, {"k1", aliceBody, http.StatusCreated, true}}, wantCreates: 1},
		{name: "same key, another body is 422", steps: []idemStep{{"k1", aliceBody, http.StatusCreated, false}, {"k1", bob, http.StatusUnprocessableEntity, false}}, wantCreates: 1},
		{name: "another key runs the create rule (409)", steps: []idemStep{{"k1", aliceBody, http.StatusCreated, false}, {"k2", aliceBody, http.StatusConflict, false}}, wantCreates: 2},
		{name: "a key over 255 characters is 400", steps: []idemStep{{strings.Repeat("k", 256), aliceBody, http.StatusBadRequest, false}}, wantCreates: 0},
		{name: "a failed create frees its key", failFirst: true, steps: []idemStep{{"k1", aliceBody, http.StatusServiceUnavailable, false}, {"k1", aliceBody, http.StatusCreated, false}}, wantCreates: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			users := newPortalUsers()
			f := userPortal(t, users)
			create := conflictOnSameLogin(users)
			failed := false
			f.createUser = func(ctx context.Context, nu translator.NewPortalUser) (translator.PortalUser, error) {
				if tc.failFirst && !failed {
					failed = true
					return translator.PortalUser{}, &translator.Error{Code: translator.EUnavailable, Message: "portal down (test)"}
				}
				return create(ctx, nu)
			}
			s := newRuleServer(t, f, nil)
			var first string
			for i, step := range tc.steps {
				w := s.send(t, http.MethodPost, "/scim/v2/Users", step.body, HeaderIdempotencyKey, step.key)
				if w.Code != step.want {
					t.Fatalf("step %d: status = %d, want %d: %s", i, w.Code, step.want, w.Body.String())
				}
				if got := w.Header().Get("Idempotent-Replayed") == "true"; got != step.replayed {
					t.Fatalf("step %d: replayed = %v, want %v", i, got, step.replayed)
				}
				if step.replayed && w.Body.String() != first {
					t.Fatalf("step %d: replayed body differs:\n%s\n%s", i, w.Body.String(), first)
				}
				if i == 0 {
					first = w.Body.String()
				}
			}
			if got := f.callsTo("createUser"); got != tc.wantCreates {
				t.Fatalf("portal creates = %d, want %d", got, tc.wantCreates)
			}
		})
	}
}

// TestIdempotencyKeyInProgress: a key whose first request is still running is 409 for another.
func TestIdempotencyKeyInProgress(t *testing.T) {
	users := newPortalUsers()
	f := userPortal(t, users)
	f.createUser = nil // the request must not reach the portal
	s := newRuleServer(t, f, nil)
	fp := fingerprint(newUser(t, aliceBody))
	if _, ok, err := s.store.BeginIdempotent(context.Background(), "entra", "k1", fp); err != nil || !ok {
		t.Fatalf("BeginIdempotent: %v %v", ok, err)
	}
	w := s.send(t, http.MethodPost, "/scim/v2/Users", aliceBody, HeaderIdempotencyKey, "k1")
	if w.Code != http.StatusConflict {
		t.Fatalf("status = %d, want 409: %s", w.Code, w.Body.String())
	}
}
