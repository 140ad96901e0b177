package reconcile

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/internal/wiring"
	"github.com/scim-gateway/scim-gateway/translator"
	"github.com/scim-gateway/scim-gateway/upstream"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

const simToken = "sim-static-token"

// fixture is a portal-sim on httptest, the real upstream client in front of it, and a memory store.
type fixture struct {
	t      *testing.T
	sim    *portalsim.Sim
	srv    *httptest.Server
	client *upstream.Client
	kv     *store.Memory
	st     *store.Store
	ctx    context.Context
}

func newFixture(t *testing.T, change func(*config.Config)) *fixture {
	t.Helper()
	sim, err := portalsim.New(portalsim.Options{StaticToken: simToken, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := &config.Config{}
	cfg.Upstream.BaseURL = srv.URL + "/portal"
	cfg.Upstream.Auth.Type = "bearer"
	cfg.Upstream.Auth.Token = simToken
	if change != nil {
		change(cfg)
	}
	cfg.ApplyDefaults()
	client, err := upstream.New(wiring.UpstreamConfig(cfg.Upstream), upstream.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	kv := store.NewMemory()
	t.Cleanup(func() { _ = kv.Close() })
	return &fixture{t: t, sim: sim, srv: srv, client: client, kv: kv,
		st: store.New(kv, store.Options{LocalIDs: -1}), ctx: context.Background()}
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// user creates a portal user through the portal API.
func (f *fixture) user(name, ext string, deleted bool) translator.PortalUser {
	f.t.Helper()
	nu := translator.NewPortalUser{UserName: name, Domain: "corp", ExternalKey: ext}
	if deleted {
		nu.Properties = map[string]any{translator.DeletedProperty: true}
	}
	u, err := f.client.CreateUser(f.ctx, nu)
	f.must(err)
	return u
}

func (f *fixture) group(name, ext string) translator.PortalGroup {
	f.t.Helper()
	g, err := f.client.CreateGroup(f.ctx, translator.NewPortalGroup{Name: name, ExternalKey: ext})
	f.must(err)
	return g
}

// provisioned writes what the gateway writes for a user it created.
func (f *fixture) provisioned(u translator.PortalUser) {
	f.t.Helper()
	login := store.NormaliseLogin(u.Domain, u.UserName)
	f.must(f.st.RememberPortalKey(f.ctx, store.User, u.GUIDUser, u.IDUser))
	f.must(f.st.Remember(f.ctx, store.User, store.Login, login, u.GUIDUser))
	f.must(f.st.PutCreateRecord(f.ctx, store.User, login, store.CreateRecord{Fingerprint: "fp", ID: u.GUIDUser, Delivered: true}))
}

func (f *fixture) options() Options {
	return Options{Portal: f.client, Store: f.st, KeyPrefix: "pfx:", PageSize: 3, Concurrency: 2}
}

func (f *fixture) run(opts Options) *Report {
	f.t.Helper()
	rep, err := Run(f.ctx, opts)
	if err != nil {
		f.t.Fatalf("Run: %v", err)
	}
	return rep
}

// brief is a finding in one comparable line.
func brief(fd Finding) string {
	name := fd.Login
	if fd.Group != "" {
		name = fd.Group + "/" + fd.Login
	}
	if fd.StoreKey != "" {
		name = fd.StoreKey
	}
	return fd.Kind + " " + fd.Resource + " " + name
}

func briefs(rep *Report) []string {
	out := make([]string, len(rep.Findings))
	for i, fd := range rep.Findings {
		out[i] = brief(fd)
	}
	return out
}

// TestEveryKind plants each kind of drift through the portal API and the store, beside records that
// are not drift, and expects exactly the planted findings, in report order.
func TestEveryKind(t *testing.T) {
	f := newFixture(t, nil)
	alice := f.user("alice", "", false) // created through SCIM
	f.provisioned(alice)
	f.user("carol", "ext-carol", false) // an externalKey: provisioned by a sync
	dave := f.user("dave", "", false)   // matched by a SCIM filter: a lookup only
	f.must(f.st.Remember(f.ctx, store.User, store.Login, store.NormaliseLogin("corp", "dave"), dave.GUIDUser))
	f.user("bob", "", false) // by hand
	erin := f.user("erin", "ext-erin", true)
	f.must(f.client.EnableUser(f.ctx, erin.IDUser))
	frank := f.user("frank", "ext-frank", true)
	f.must(f.client.DisableUser(f.ctx, frank.IDUser))
	f.user("gina", "dup-1", false)
	f.user("hank", "dup-1", false)
	f.user("ivan", "DUP-1", false) // differs in case: not the same externalId
	for i := range 5 {             // more pages
		f.user(fmt.Sprintf("filler%d", i), fmt.Sprintf("ext-f%d", i), false)
	}

	staff := f.group("Staff", "")
	f.must(f.st.PutCreateRecord(f.ctx, store.Group, "staff", store.CreateRecord{Fingerprint: "fp", ID: staff.GUIDGroup}))
	f.must(f.client.AddMember(f.ctx, staff.IDGroup, frank.IDUser))
	f.must(f.client.AddMember(f.ctx, staff.IDGroup, alice.IDUser))
	f.group("Handmade", "")
	f.group("Dup A", "gdup")
	f.group("Dup B", "gdup")

	f.must(f.st.RememberPortalKey(f.ctx, store.User, "ghost-1", 999))
	f.must(f.st.Remember(f.ctx, store.User, store.ExternalID, "gone-ext", "ghost-1"))
	f.must(f.st.PutCreateRecord(f.ctx, store.User, "corp\\gone", store.CreateRecord{Fingerprint: "fp", ID: "ghost-2"}))
	f.must(f.st.PutCreateRecord(f.ctx, store.User, "corp\\pending", store.CreateRecord{Fingerprint: "fp"})) // no id yet: not stale
	f.must(f.st.RememberPortalKey(f.ctx, store.Group, "ghost-g", 77))
	f.must(f.kv.Set(f.ctx, "id:u:corrupt", []byte("x"), 0))

	var phases []string
	opts := f.options()
	opts.Progress = func(p Progress) {
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
	}
	rep := f.run(opts)
	want := []string{
		"unmanaged user corp\\bob",
		"unmanaged group Handmade/",
		"deletedButEnabled user corp\\erin",
		"deletedButEnabled group Staff/corp\\frank",
		"duplicateExternalId user corp\\gina",
		"duplicateExternalId user corp\\hank",
		"duplicateExternalId group Dup A/",
		"duplicateExternalId group Dup B/",
		"staleMapping user pfx:by:u:ext:" + store.Digest("gone-ext"),
		"staleMapping user pfx:create:u:" + store.Digest("corp\\gone"),
		"staleMapping user pfx:id:u:corrupt",
		"staleMapping user pfx:id:u:ghost-1",
		"staleMapping group pfx:id:g:ghost-g",
	}
	if got := briefs(rep); !slices.Equal(got, want) {
		t.Fatalf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	s := rep.Summary
	if s.Clean || s.Findings != len(want) || s.PortalUsers != 14 || s.PortalGroups != 4 || s.StoreEntries != 11 ||
		s.ByKind[KindUnmanaged] != 2 || s.ByKind[KindDeletedButEnabled] != 2 || s.ByKind[KindDuplicateExternalID] != 4 || s.ByKind[KindStaleMapping] != 5 {
		t.Fatalf("summary = %+v", s)
	}
	// Every finding carries what an operator needs to act on it.
	for _, fd := range rep.Findings {
		switch {
		case fd.Detail == "":
			t.Errorf("%s: no detail", brief(fd))
		case fd.Kind != KindStaleMapping && fd.Resource == ResourceUser && (fd.IDUser == 0 || fd.GUIDUser == "" || fd.SCIMID != fd.GUIDUser || fd.Login == ""):
			t.Errorf("%s: portal ids, SCIM id or login missing: %+v", brief(fd), fd)
		case fd.Kind != KindStaleMapping && fd.Resource == ResourceGroup && (fd.IDGroup == 0 || fd.GUIDGroup == "" || fd.Group == ""):
			t.Errorf("%s: portal ids or name missing: %+v", brief(fd), fd)
		}
	}
	if fd := rep.Findings[3]; fd.IDUser != frank.IDUser || fd.IDGroup != staff.IDGroup || !strings.Contains(fd.Detail, "still a member") {
		t.Errorf("deleted member finding = %+v", fd)
	}
	if fd := rep.Findings[11]; fd.IDUser != 999 || fd.SCIMID != "ghost-1" {
		t.Errorf("stale id mapping finding = %+v", fd)
	}
	if !slices.Equal(phases, []string{"store", "users", "groups", "checks"}) {
		t.Errorf("progress phases = %v", phases)
	}
}

// TestWritesNothing: a run makes only GET calls to the portal and leaves the store as it was.
func TestWritesNothing(t *testing.T) {
	f := newFixture(t, nil)
	u := f.user("alice", "", false)
	f.provisioned(u)
	f.user("bob", "", false)
	f.must(f.st.RememberPortalKey(f.ctx, store.User, "ghost", 5))
	before := dump(t, f.kv)
	statsBefore := f.sim.Stats()
	rep := f.run(f.options())
	if rep.Summary.Findings != 2 {
		t.Fatalf("findings = %v", briefs(rep))
	}
	if w0, w1 := writes(statsBefore), writes(f.sim.Stats()); !maps(w0, w1) {
		t.Errorf("portal write counters changed: before %v, after %v", w0, w1)
	}
	if after := dump(t, f.kv); !maps(before, after) {
		t.Fatalf("store changed:\nbefore %v\nafter  %v", before, after)
	}
}

// writes counts the portal calls that are not GETs, by method and route.
func writes(s portalsim.Stats) map[string]string {
	out := map[string]string{}
	for _, c := range s.Calls {
		if c.Method != "GET" {
			out[c.Method+" "+c.Route] = fmt.Sprint(c.Count)
		}
	}
	return out
}

func dump(t *testing.T, kv *store.Memory) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := kv.Scan(context.Background(), "", func(k string, v []byte) error { out[k] = string(v); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestClean: a portal whose every record the gateway provisioned reports nothing.
func TestClean(t *testing.T) {
	f := newFixture(t, nil)
	for i := range 7 {
		f.provisioned(f.user(fmt.Sprintf("u%d", i), "", false))
	}
	rep := f.run(f.options())
	if !rep.Summary.Clean || len(rep.Findings) != 0 || rep.Summary.PortalUsers != 7 {
		t.Fatalf("report = %+v", rep)
	}
}

// TestChangesDuringRun: a record created, or traced in the store, while a run is under way is not
// reported (each candidate is checked again before it is reported).
func TestChangesDuringRun(t *testing.T) {
	f := newFixture(t, nil)
	late := f.user("late", "", false) // unmanaged when the store is first read
	opts := f.options()
	done := false
	opts.Progress = func(p Progress) {
		if p.Phase != "groups" || done {
			return
		}
		done = true
		// After the user pass: the gateway creates a user, and looks up the late one.
		u := f.user("newcomer", "", false)
		f.provisioned(u)
		f.must(f.st.Remember(f.ctx, store.User, store.Login, store.NormaliseLogin("corp", "late"), late.GUIDUser))
	}
	rep := f.run(opts)
	if !done || len(rep.Findings) != 0 {
		t.Fatalf("progress hook ran: %v; findings %v", done, briefs(rep))
	}
}

// TestCouldNotRun: a disabled list endpoint, a portal that does not answer and a store that does not
// answer each stop the run with an Error naming the side.
func TestCouldNotRun(t *testing.T) {
	t.Run("endpoint switched off", func(t *testing.T) {
		f := newFixture(t, func(c *config.Config) {
			c.Upstream.Endpoints = map[string]config.Endpoint{config.OpListMembers: {Enabled: new(bool)}}
		})
		_, err := Run(f.ctx, f.options())
		var re *Error
		if !errors.As(err, &re) || re.Side != SidePortal || !strings.Contains(err.Error(), "upstream.endpoints.listMembers is disabled") {
			t.Fatalf("err = %v", err)
		}
		if f.sim.Stats().Total != 0 {
			t.Fatal("a portal call was made")
		}
	})
	t.Run("portal down", func(t *testing.T) {
		f := newFixture(t, nil)
		f.srv.Close()
		_, err := Run(f.ctx, f.options())
		var re *Error
		if !errors.As(err, &re) || re.Side != SidePortal || !strings.HasPrefix(err.Error(), "portal unreachable") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("store down", func(t *testing.T) {
		f := newFixture(t, nil)
		_ = f.kv.Close()
		opts := f.options()
		opts.StoreName = "Redis"
		_, err := Run(f.ctx, opts)
		var re *Error
		if !errors.As(err, &re) || re.Side != SideStore || !strings.HasPrefix(err.Error(), "Redis unreachable") {
			t.Fatalf("err = %v", err)
		}
	})
}
