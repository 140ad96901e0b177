package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/translator"
)

// fakePortal is a portal made of function fields: a test sets the calls it expects; a call whose
// field is nil fails the test. Every call is counted by name.
type fakePortal struct {
	t testing.TB

	createUser     func(ctx context.Context, u translator.NewPortalUser) (translator.PortalUser, error)
	getUser        func(ctx context.Context, idUser int64) (translator.PortalUser, error)
	listUsers      func(ctx context.Context, filter []translator.PortalFilter, page translator.Page) (translator.UserList, error)
	updateUser     func(ctx context.Context, idUser int64, p translator.Patch) (translator.PortalUser, error)
	disableUser    func(ctx context.Context, idUser int64) error
	enableUser     func(ctx context.Context, idUser int64) error
	deleteUser     func(ctx context.Context, idUser int64) error
	listUserGroups func(ctx context.Context, idUser int64, page translator.Page) (translator.GroupList, error)

	createGroup  func(ctx context.Context, g translator.NewPortalGroup) (translator.PortalGroup, error)
	getGroup     func(ctx context.Context, idGroup int64) (translator.PortalGroup, error)
	listGroups   func(ctx context.Context, filter []translator.PortalFilter, page translator.Page) (translator.GroupList, error)
	updateGroup  func(ctx context.Context, idGroup int64, p translator.Patch) (translator.PortalGroup, error)
	deleteGroup  func(ctx context.Context, idGroup int64) error
	listMembers  func(ctx context.Context, idGroup int64, page translator.Page) (translator.MemberList, error)
	addMember    func(ctx context.Context, idGroup, idUser int64) error
	removeMember func(ctx context.Context, idGroup, idUser int64) error

	// off lists the operations switched off.
	off []string

	mu    sync.Mutex
	calls []string
}

var (
	_ UserPortal  = (*fakePortal)(nil)
	_ GroupPortal = (*fakePortal)(nil)
	_ Switches    = (*fakePortal)(nil)
)

// called counts a call, and fails the test when the test did not set the call's function.
func (f *fakePortal) called(name string, set bool) bool {
	f.mu.Lock()
	f.calls = append(f.calls, name)
	f.mu.Unlock()
	if !set {
		f.t.Errorf("unexpected portal call %s", name)
	}
	return set
}

var errUnexpected = &translator.Error{Code: translator.EInternal, Message: "unexpected portal call (test)"}

func (f *fakePortal) CreateUser(ctx context.Context, u translator.NewPortalUser) (translator.PortalUser, error) {
	if !f.called("createUser", f.createUser != nil) {
		return translator.PortalUser{}, errUnexpected
	}
	return f.createUser(ctx, u)
}

func (f *fakePortal) GetUser(ctx context.Context, idUser int64) (translator.PortalUser, error) {
	if !f.called("getUser", f.getUser != nil) {
		return translator.PortalUser{}, errUnexpected
	}
	return f.getUser(ctx, idUser)
}

func (f *fakePortal) ListUsers(ctx context.Context, filter []translator.PortalFilter, page translator.Page) (translator.UserList, error) {
	if !f.called("listUsers", f.listUsers != nil) {
		return translator.UserList{}, errUnexpected
	}
	return f.listUsers(ctx, filter, page)
}

func (f *fakePortal) UpdateUser(ctx context.Context, idUser int64, p translator.Patch) (translator.PortalUser, error) {
	if !f.called("updateUser", f.updateUser != nil) {
		return translator.PortalUser{}, errUnexpected
	}
	return f.updateUser(ctx, idUser, p)
}

func (f *fakePortal) DisableUser(ctx context.Context, idUser int64) error {
	if !f.called("disableUser", f.disableUser != nil) {
		return errUnexpected
	}
	return f.disableUser(ctx, idUser)
}

func (f *fakePortal) EnableUser(ctx context.Context, idUser int64) error {
	if !f.called("enableUser", f.enableUser != nil) {
		return errUnexpected
	}
	return f.enableUser(ctx, idUser)
}

func (f *fakePortal) DeleteUser(ctx context.Context, idUser int64) error {
	if !f.called("deleteUser", f.deleteUser != nil) {
		return errUnexpected
	}
	return f.deleteUser(ctx, idUser)
}

func (f *fakePortal) ListUserGroups(ctx context.Context, idUser int64, page translator.Page) (translator.GroupList, error) {
	if !f.called("listUserGroups", f.listUserGroups != nil) {
		return translator.GroupList{}, errUnexpected
	}
	return f.listUserGroups(ctx, idUser, page)
}

func (f *fakePortal) CreateGroup(ctx context.Context, g translator.NewPortalGroup) (translator.PortalGroup, error) {
	if !f.called("createGroup", f.createGroup != nil) {
		return translator.PortalGroup{}, errUnexpected
	}
	return f.createGroup(ctx, g)
}

func (f *fakePortal) GetGroup(ctx context.Context, idGroup int64) (translator.PortalGroup, error) {
	if !f.called("getGroup", f.getGroup != nil) {
		return translator.PortalGroup{}, errUnexpected
	}
	return f.getGroup(ctx, idGroup)
}

func (f *fakePortal) ListGroups(ctx context.Context, filter []translator.PortalFilter, page translator.Page) (translator.GroupList, error) {
	if !f.called("listGroups", f.listGroups != nil) {
		return translator.GroupList{}, errUnexpected
	}
	return f.listGroups(ctx, filter, page)
}

func (f *fakePortal) UpdateGroup(ctx context.Context, idGroup int64, p translator.Patch) (translator.PortalGroup, error) {
	if !f.called("updateGroup", f.updateGroup != nil) {
		return translator.PortalGroup{}, errUnexpected
	}
	return f.updateGroup(ctx, idGroup, p)
}

func (f *fakePortal) DeleteGroup(ctx context.Context, idGroup int64) error {
	if !f.called("deleteGroup", f.deleteGroup != nil) {
		return errUnexpected
	}
	return f.deleteGroup(ctx, idGroup)
}

func (f *fakePortal) ListMembers(ctx context.Context, idGroup int64, page translator.Page) (translator.MemberList, error) {
	if !f.called("listMembers", f.listMembers != nil) {
		return translator.MemberList{}, errUnexpected
	}
	return f.listMembers(ctx, idGroup, page)
}

func (f *fakePortal) AddMember(ctx context.Context, idGroup, idUser int64) error {
	if !f.called("addMember", f.addMember != nil) {
		return errUnexpected
	}
	return f.addMember(ctx, idGroup, idUser)
}

func (f *fakePortal) RemoveMember(ctx context.Context, idGroup, idUser int64) error {
	if !f.called("removeMember", f.removeMember != nil) {
		return errUnexpected
	}
	return f.removeMember(ctx, idGroup, idUser)
}

func (f *fakePortal) Endpoint(op string) bool { return !slices.Contains(f.off, op) }

// callsTo counts the calls made to the named operation.
func (f *fakePortal) callsTo(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == name {
			n++
		}
	}
	return n
}

// writes lists the portal writes made, in order.
func (f *fakePortal) writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if !strings.HasPrefix(c, "get") && !strings.HasPrefix(c, "list") {
			out = append(out, c)
		}
	}
	return out
}

// portalUsers is a portal's user table for the fake's functions: what a create stores, the reads
// return.
type portalUsers struct {
	mu   sync.Mutex
	next int64
	byID map[int64]translator.PortalUser
}

func newPortalUsers() *portalUsers {
	return &portalUsers{next: 100, byID: map[int64]translator.PortalUser{}}
}

// add stores a user made from a create body and returns it.
func (p *portalUsers) add(nu translator.NewPortalUser) translator.PortalUser {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	u := translator.PortalUser{IDUser: p.next, GUIDUser: fmt.Sprintf("guid-%d", p.next), UserName: nu.UserName, Domain: nu.Domain,
		FullName: nu.FullName, FirstName: nu.FirstName, LastName: nu.LastName, ContactEmail: nu.ContactEmail,
		ContactCellPhone: nu.ContactCellPhone, ExternalKey: nu.ExternalKey, Enabled: nu.Enabled == nil || *nu.Enabled,
		Properties: map[string]any{}}
	for k, v := range nu.Properties {
		u.Properties[k] = v
	}
	p.byID[u.IDUser] = u
	return u
}

func (p *portalUsers) get(_ context.Context, id int64) (translator.PortalUser, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, ok := p.byID[id]
	if !ok {
		return u, &translator.Error{Code: translator.ENotFound, PortalCode: "USER_NOT_FOUND", Message: "no such user"}
	}
	return u, nil
}

// list answers the equality filters the gateway sends (guidUser, userName, domain, externalKey).
func (p *portalUsers) list(_ context.Context, filter []translator.PortalFilter, page translator.Page) (translator.UserList, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []translator.PortalUser
	for _, u := range p.byID {
		ok := true
		for _, f := range filter {
			v, _ := f.Value.(string)
			switch f.Field {
			case translator.FieldGUIDUser:
				ok = ok && u.GUIDUser == v
			case translator.FieldUserName:
				ok = ok && strings.EqualFold(u.UserName, v)
			case translator.FieldDomain:
				ok = ok && strings.EqualFold(u.Domain, v)
			case translator.FieldExternalKey:
				ok = ok && u.ExternalKey == v
			}
		}
		if ok {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b translator.PortalUser) int { return int(a.IDUser - b.IDUser) })
	total := len(out)
	out = out[min(page.Skip, len(out)):]
	if page.Top > 0 && len(out) > page.Top {
		out = out[:page.Top]
	}
	return translator.UserList{Users: out, Count: total}, nil
}

func (p *portalUsers) update(_ context.Context, id int64, patch translator.Patch) (translator.PortalUser, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, ok := p.byID[id]
	if !ok {
		return u, &translator.Error{Code: translator.ENotFound, PortalCode: "USER_NOT_FOUND", Message: "no such user"}
	}
	props := map[string]any{}
	for k, v := range u.Properties {
		props[k] = v
	}
	for k, v := range patch.Properties {
		if v == nil {
			delete(props, k)
		} else {
			props[k] = v
		}
	}
	u.Properties = props
	for k, v := range patch.Fields {
		s := ""
		if v != nil {
			s = *v
		}
		switch k {
		case translator.FieldFirstName:
			u.FirstName = s
		case translator.FieldLastName:
			u.LastName = s
		case translator.FieldFullName:
			u.FullName = s
		case translator.FieldContactEmail:
			u.ContactEmail = s
		case translator.FieldExternalKey:
			u.ExternalKey = s
		}
	}
	p.byID[id] = u
	return u, nil
}

func (p *portalUsers) setEnabled(id int64, enabled bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, ok := p.byID[id]
	if !ok {
		return &translator.Error{Code: translator.ENotFound, PortalCode: "USER_NOT_FOUND", Message: "no such user"}
	}
	u.Enabled = enabled
	p.byID[id] = u
	return nil
}

func (p *portalUsers) only(t *testing.T) translator.PortalUser {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.byID) != 1 {
		t.Fatalf("the portal holds %d users, want 1", len(p.byID))
	}
	for _, u := range p.byID {
		return u
	}
	return translator.PortalUser{}
}

// userPortal returns a fake portal whose user calls work on users; a test overrides what it needs.
func userPortal(t testing.TB, users *portalUsers) *fakePortal {
	return &fakePortal{t: t,
		createUser: func(_ context.Context, nu translator.NewPortalUser) (translator.PortalUser, error) {
			return users.add(nu), nil
		},
		getUser:     users.get,
		listUsers:   users.list,
		updateUser:  users.update,
		disableUser: func(_ context.Context, id int64) error { return users.setEnabled(id, false) },
		enableUser:  func(_ context.Context, id int64) error { return users.setEnabled(id, true) },
	}
}

// ruleServer is a Server on a fake portal and the memory store, as cmd wires it but without either.
type ruleServer struct {
	*Server
	store *store.Store
}

func newRuleServer(t *testing.T, p *fakePortal, edit func(*Live)) *ruleServer {
	t.Helper()
	return newRuleServerTraced(t, p, edit, nil)
}

// newRuleServerTraced is newRuleServer with spans made by tp (nil: none).
func newRuleServerTraced(t *testing.T, p *fakePortal, edit func(*Live), tp trace.TracerProvider) *ruleServer {
	t.Helper()
	m, err := translator.NewMapping(translator.DefaultMappingConfig())
	if err != nil {
		t.Fatal(err)
	}
	live := &Live{Users: p, Groups: p, Switches: p, Mapping: m, OnDelete: OnDeleteDisable, PatchStatus: http.StatusNoContent,
		Limits: Limits{MaxBodyBytes: 1 << 20, MaxPageSize: 100, MaxScan: 1000, MaxOperations: 100}}
	if edit != nil {
		edit(live)
	}
	st := store.New(store.NewMemory(), store.Options{})
	return &ruleServer{Server: New(Options{Tokens: NewTokens([]Token{{Name: "entra", Value: testToken}}), Store: st, Live: live,
		TracerProvider: tp}), store: st}
}

// send makes one SCIM request with the test token and the given headers (name, value pairs).
func (s *ruleServer) send(t *testing.T, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	return do(t, s.Handler(), method, path, testToken, body, headers...)
}
