package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/scim-gateway/scim-gateway/gateway"
	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/translator"
)

// The kinds of finding, in the order reports list them.
const (
	// KindUnmanaged: a portal user or group with no trace of SCIM provisioning (no create record, no
	// lookup or id mapping in the store, no externalKey): made by hand or by another system.
	KindUnmanaged = "unmanaged"
	// KindDeletedButEnabled: a user deleted through SCIM (disable mode) that is enabled again, or that
	// is still a member of a group (a group finding).
	KindDeletedButEnabled = "deletedButEnabled"
	// KindDuplicateExternalID: a portal user or group whose externalKey another one shares.
	KindDuplicateExternalID = "duplicateExternalId"
	// KindStaleMapping: an id mapping, lookup (a cached filter answer) or create record in the store that
	// names a portal user or group that no longer exists, or whose value cannot be read.
	KindStaleMapping = "staleMapping"
)

// Kinds lists every kind of finding in report order.
var Kinds = []string{KindUnmanaged, KindDeletedButEnabled, KindDuplicateExternalID, KindStaleMapping}

// The resources a finding is about.
const (
	ResourceUser  = "user"
	ResourceGroup = "group"
)

// Finding is one piece of drift. Portal ids are set where a portal record is involved; SCIMID is the
// SCIM id involved (a portal record's guid, which is its SCIM id, or the id a stale entry names).
type Finding struct {
	Kind      string `json:"kind"`
	Resource  string `json:"resource"`
	IDUser    int64  `json:"idUser,omitempty"`
	GUIDUser  string `json:"guidUser,omitempty"`
	IDGroup   int64  `json:"idGroup,omitempty"`
	GUIDGroup string `json:"guidGroup,omitempty"`
	SCIMID    string `json:"scimId,omitempty"`
	// Login is the portal login (domain\userName) of the user involved.
	Login string `json:"login,omitempty"`
	// Group is the name of the group involved.
	Group string `json:"group,omitempty"`
	// StoreKey is the store key of a staleMapping (with the Redis key prefix); it carries no PII.
	StoreKey string `json:"storeKey,omitempty"`
	Detail   string `json:"detail"`
}

// Summary counts what a run read and found.
type Summary struct {
	Tenant   string `json:"tenant"`
	Clean    bool   `json:"clean"`
	Findings int    `json:"findings"`
	// ByKind has every kind, 0 included.
	ByKind          map[string]int `json:"byKind"`
	PortalUsers     int            `json:"portalUsers"`
	PortalGroups    int            `json:"portalGroups"`
	StoreEntries    int            `json:"storeEntries"`
	StartedAt       time.Time      `json:"startedAt"`
	DurationSeconds float64        `json:"durationSeconds"`
}

// Report is the outcome of a run: the JSON shape of `reconcile --format json` and GET /admin/reconcile.
type Report struct {
	Findings []Finding `json:"findings"`
	Summary  Summary   `json:"summary"`
}

// Sides of an Error.
const (
	SidePortal = "portal"
	SideStore  = "store"
)

// Error reports a run that could not finish, and which side failed.
type Error struct {
	Side string // SidePortal or SideStore
	Name string // how messages name the side: "portal", "Redis", "store"
	Err  error
}

func (e *Error) Error() string { return e.Name + " unreachable or refusing: " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Portal is what reconcile reads from the portal (implemented by *upstream.Client). Errors are
// *translator.Error values.
type Portal interface {
	ListUsers(ctx context.Context, filter []translator.PortalFilter, page translator.Page) (translator.UserList, error)
	ListGroups(ctx context.Context, filter []translator.PortalFilter, page translator.Page) (translator.GroupList, error)
	ListMembers(ctx context.Context, idGroup int64, page translator.Page) (translator.MemberList, error)
	Endpoint(op string) (enabled bool)
}

// Store is what reconcile reads from the gateway's store (implemented by *store.Store). Nothing here
// writes.
type Store interface {
	Ping(ctx context.Context) error
	Entries(ctx context.Context, fn func(store.Entry) error) error
	CreateRecord(ctx context.Context, kind store.Kind, login string) (store.CreateRecord, bool, error)
	Lookup(ctx context.Context, kind store.Kind, a store.Attr, value string) (string, bool, error)
	PortalKey(ctx context.Context, kind store.Kind, scimID string) (int64, bool, error)
}

// Progress is reported as a run advances.
type Progress struct {
	Phase string // "store", "users", "groups", "checks"
	Done  int    // items of the phase done so far
	Total int    // items expected in the phase (0 when unknown)
}

// Defaults of Options.
const (
	DefaultPageSize    = 500 // the portal's largest page
	DefaultConcurrency = 4
)

// Options tune a run. Portal and Store are required.
type Options struct {
	Portal Portal
	Store  Store
	// Tenant names the tenant in the summary (default "default").
	Tenant string
	// StoreName is how messages name the store: "Redis" or "memory store" (default "store").
	StoreName string
	// KeyPrefix is prepended to store keys in findings (the Redis key prefix), so that they can be
	// looked up as they are.
	KeyPrefix string
	// PageSize is how many records a list call asks for (default DefaultPageSize, at most 500).
	PageSize int
	// Concurrency bounds the portal calls and store reads a run makes at once (default
	// DefaultConcurrency); the portal client's own bound applies too.
	Concurrency int
	// Progress, when set, is called from one goroutine at a time as the run advances.
	Progress func(Progress)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Run reads the store and the portal and reports the drift between them. It writes nothing. Errors:
// *Error naming the side (portal or store) that could not be read, including a portal list endpoint
// switched off in config; or the context's error.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Tenant == "" {
		opts.Tenant = "default"
	}
	if opts.StoreName == "" {
		opts.StoreName = "store"
	}
	if opts.PageSize <= 0 || opts.PageSize > DefaultPageSize {
		opts.PageSize = DefaultPageSize
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Progress == nil {
		opts.Progress = func(Progress) {}
	}
	r := &run{opts: opts, ctx: ctx,
		users:  newSide(),
		groups: newSide(),
		dels:   map[int64]deletedUser{},
	}
	start := opts.Now()
	for _, op := range []string{gateway.OpListUsers, gateway.OpListGroups, gateway.OpListMembers} {
		if !opts.Portal.Endpoint(op) {
			return nil, r.portalErr(fmt.Errorf("portal endpoint upstream.endpoints.%s is disabled in config; reconcile reads through it", op))
		}
	}
	if err := opts.Store.Ping(ctx); err != nil {
		return nil, r.storeErr(err)
	}
	steps := []func() error{r.readMarkers, r.readUsers, r.readGroups, r.checkDuplicates, r.confirmUnmanaged, r.checkStale}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	rep := &Report{Findings: r.findings}
	if rep.Findings == nil {
		rep.Findings = []Finding{}
	}
	sortFindings(rep.Findings)
	rep.Summary = Summary{Tenant: opts.Tenant, Findings: len(rep.Findings), ByKind: map[string]int{},
		PortalUsers: r.users.count, PortalGroups: r.groups.count, StoreEntries: r.entries,
		StartedAt: start.UTC(), DurationSeconds: opts.Now().Sub(start).Seconds()}
	for _, k := range Kinds {
		rep.Summary.ByKind[k] = 0
	}
	for _, f := range rep.Findings {
		rep.Summary.ByKind[f.Kind]++
	}
	rep.Summary.Clean = len(rep.Findings) == 0
	return rep, nil
}

// digest is a fixed-size stand-in for an id, login or externalKey in the sets a run keeps.
type digest [16]byte

func digestOf(s string) digest {
	sum := sha256.Sum256([]byte(s))
	var d digest
	copy(d[:], sum[:])
	return d
}

// storeDigest turns the hex digest of a store key (store.Digest) back into its 16 bytes; anything
// else becomes a digest that matches nothing a portal record has.
func storeDigest(h string) digest {
	var d digest
	if n, err := hex.Decode(d[:], []byte(h)); err != nil || n != len(d) || len(h) != 2*len(d) {
		return digestOf("\x00invalid\x00" + h)
	}
	return d
}

// loginDigest is the digest under which the store keeps a user's login or a group's name.
func loginDigest(login string) digest { return storeDigest(store.Digest(login)) }

type set map[digest]struct{}

func (s set) add(d digest)      { s[d] = struct{}{} }
func (s set) has(d digest) bool { _, ok := s[d]; return ok }

// side is what a run keeps about users or about groups.
type side struct {
	// From the store (first pass): the SCIM ids and the logins (or names) it names.
	storeIDs, storeLogins set
	// From the portal: the SCIM ids that exist, and the externalKeys seen (to find duplicates).
	portalIDs set
	extSeen   set
	dupExts   map[string]struct{} // externalKeys seen twice or more (few)
	// unmanaged candidates, confirmed against the store after the portal pass.
	candidates []Finding
	count      int
}

func newSide() *side {
	return &side{storeIDs: set{}, storeLogins: set{}, portalIDs: set{}, extSeen: set{}, dupExts: map[string]struct{}{}}
}

type deletedUser struct {
	guid, login string
}

type run struct {
	opts     Options
	ctx      context.Context
	users    *side
	groups   *side
	dels     map[int64]deletedUser // users marked deleted, for group membership findings
	entries  int
	findings []Finding
}

func (r *run) portalErr(err error) error {
	if ctxErr := r.ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return &Error{Side: SidePortal, Name: "portal", Err: err}
}

func (r *run) storeErr(err error) error {
	if ctxErr := r.ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return &Error{Side: SideStore, Name: r.opts.StoreName, Err: err}
}

func (r *run) sideOf(k store.Kind) *side {
	if k == store.Group {
		return r.groups
	}
	return r.users
}

// readMarkers is the first store pass: every SCIM id and login the store names, so that a portal
// record the gateway ever created, looked up or cached is not reported unmanaged.
func (r *run) readMarkers() error {
	n := 0
	err := r.opts.Store.Entries(r.ctx, func(e store.Entry) error {
		s := r.sideOf(e.Kind)
		if e.SCIMID != "" {
			s.storeIDs.add(digestOf(e.SCIMID))
		}
		if e.Digest != "" && (e.Type == store.EntryCreate || e.Attr == store.Login) {
			s.storeLogins.add(storeDigest(e.Digest))
		}
		if n++; n%10000 == 0 {
			r.opts.Progress(Progress{Phase: "store", Done: n})
		}
		return nil
	})
	if err != nil {
		return r.storeErr(err)
	}
	r.entries = n
	r.opts.Progress(Progress{Phase: "store", Done: n, Total: n})
	return nil
}

// readUsers streams the portal's users: deletedButEnabled at once; the rest is kept as digests.
func (r *run) readUsers() error {
	s := r.users
	err := pages(r.ctx, r.opts.Concurrency, r.opts.PageSize,
		func(ctx context.Context, p translator.Page) ([]translator.PortalUser, int, error) {
			l, err := r.opts.Portal.ListUsers(ctx, nil, p)
			return l.Users, l.Count, err
		},
		func(page []translator.PortalUser, total int) {
			for i := range page {
				r.user(&page[i])
			}
			r.opts.Progress(Progress{Phase: "users", Done: s.count, Total: total})
		})
	if err != nil {
		return r.portalErr(err)
	}
	return nil
}

func (r *run) user(u *translator.PortalUser) {
	s := r.users
	s.count++
	s.portalIDs.add(digestOf(u.GUIDUser))
	if u.ExternalKey != "" {
		d := digestOf(u.ExternalKey)
		if s.extSeen.has(d) {
			s.dupExts[u.ExternalKey] = struct{}{}
		}
		s.extSeen.add(d)
	}
	if u.MarkedDeleted() {
		r.dels[u.IDUser] = deletedUser{guid: u.GUIDUser, login: u.Login()}
		if u.Enabled {
			r.findings = append(r.findings, userFinding(KindDeletedButEnabled, u,
				"deleted through SCIM (property "+translator.DeletedProperty+") but enabled in the portal"))
		}
		return
	}
	if u.ExternalKey == "" && !s.storeIDs.has(digestOf(u.GUIDUser)) &&
		!s.storeLogins.has(loginDigest(store.NormaliseLogin(u.Domain, u.UserName))) {
		s.candidates = append(s.candidates, userFinding(KindUnmanaged, u, unmanagedDetail))
	}
}

const unmanagedDetail = "no create record, lookup or id mapping in the store and no externalKey: not provisioned through SCIM"

func userFinding(kind string, u *translator.PortalUser, detail string) Finding {
	return Finding{Kind: kind, Resource: ResourceUser, IDUser: u.IDUser, GUIDUser: u.GUIDUser, SCIMID: u.GUIDUser,
		Login: u.Login(), Detail: detail}
}

func groupFinding(kind string, g *translator.PortalGroup, detail string) Finding {
	return Finding{Kind: kind, Resource: ResourceGroup, IDGroup: g.IDGroup, GUIDGroup: g.GUIDGroup, SCIMID: g.GUIDGroup,
		Group: g.Name, Detail: detail}
}

// readGroups streams the portal's groups, and lists the members of each when some user is marked
// deleted (a deleted user still in a group is drift).
func (r *run) readGroups() error {
	s := r.groups
	var memberErr error
	err := pages(r.ctx, r.opts.Concurrency, r.opts.PageSize,
		func(ctx context.Context, p translator.Page) ([]translator.PortalGroup, int, error) {
			l, err := r.opts.Portal.ListGroups(ctx, nil, p)
			return l.Groups, l.Count, err
		},
		func(page []translator.PortalGroup, total int) {
			for i := range page {
				r.group(&page[i])
			}
			if len(r.dels) > 0 && memberErr == nil {
				memberErr = r.deletedMembers(page)
			}
			r.opts.Progress(Progress{Phase: "groups", Done: s.count, Total: total})
		})
	if err == nil {
		err = memberErr
	}
	if err != nil {
		return r.portalErr(err)
	}
	return nil
}

func (r *run) group(g *translator.PortalGroup) {
	s := r.groups
	s.count++
	s.portalIDs.add(digestOf(g.GUIDGroup))
	if g.ExternalKey != "" {
		d := digestOf(g.ExternalKey)
		if s.extSeen.has(d) {
			s.dupExts[g.ExternalKey] = struct{}{}
		}
		s.extSeen.add(d)
		return
	}
	if !s.storeIDs.has(digestOf(g.GUIDGroup)) && !s.storeLogins.has(loginDigest(strings.ToLower(g.Name))) {
		s.candidates = append(s.candidates, groupFinding(KindUnmanaged, g, unmanagedDetail))
	}
}

// deletedMembers lists the members of a page of groups, a few groups at once, and reports every
// member that is a user marked deleted.
func (r *run) deletedMembers(groups []translator.PortalGroup) error {
	found := make([][]Finding, len(groups))
	err := forEach(r.ctx, r.opts.Concurrency, len(groups), func(ctx context.Context, i int) error {
		g := &groups[i]
		return pages(ctx, 1, r.opts.PageSize,
			func(ctx context.Context, p translator.Page) ([]translator.PortalMember, int, error) {
				l, err := r.opts.Portal.ListMembers(ctx, g.IDGroup, p)
				return l.Members, l.Count, err
			},
			func(members []translator.PortalMember, _ int) {
				for _, m := range members {
					if d, ok := r.dels[m.IDUser]; ok {
						f := groupFinding(KindDeletedButEnabled, g, fmt.Sprintf(
							"member %s (idUser %d) was deleted through SCIM but is still a member of the group", d.login, m.IDUser))
						f.IDUser, f.GUIDUser, f.Login = m.IDUser, d.guid, d.login
						found[i] = append(found[i], f)
					}
				}
			})
	})
	if err != nil {
		return err
	}
	for _, fs := range found {
		r.findings = append(r.findings, fs...)
	}
	return nil
}

// checkDuplicates reads, for each externalKey seen more than once, every record that has it (the
// portal's filter is case-insensitive; only exact matches count) and reports each of them.
func (r *run) checkDuplicates() error {
	err := reportDuplicates(r, r.users.dupExts,
		func(ctx context.Context, f []translator.PortalFilter, p translator.Page) ([]translator.PortalUser, int, error) {
			l, err := r.opts.Portal.ListUsers(ctx, f, p)
			return l.Users, l.Count, err
		},
		func(u *translator.PortalUser) (string, int64) { return u.ExternalKey, u.IDUser },
		"portal users: idUser", userFinding)
	if err != nil {
		return err
	}
	return reportDuplicates(r, r.groups.dupExts,
		func(ctx context.Context, f []translator.PortalFilter, p translator.Page) ([]translator.PortalGroup, int, error) {
			l, err := r.opts.Portal.ListGroups(ctx, f, p)
			return l.Groups, l.Count, err
		},
		func(g *translator.PortalGroup) (string, int64) { return g.ExternalKey, g.IDGroup },
		"portal groups: idGroup", groupFinding)
}

// reportDuplicates is checkDuplicates for one resource type: list reads records by a filter, keyOf
// gives a record's externalKey and portal id, what names them in the detail.
func reportDuplicates[T any](r *run, exts map[string]struct{},
	list func(context.Context, []translator.PortalFilter, translator.Page) ([]T, int, error),
	keyOf func(*T) (string, int64), what string, finding func(string, *T, string) Finding) error {
	for _, ext := range sortedKeys(exts) {
		var dup []T
		err := pages(r.ctx, 1, r.opts.PageSize,
			func(ctx context.Context, p translator.Page) ([]T, int, error) {
				return list(ctx, []translator.PortalFilter{{Field: translator.FieldExternalKey, Value: ext}}, p)
			},
			func(page []T, _ int) {
				for i := range page {
					if k, _ := keyOf(&page[i]); k == ext {
						dup = append(dup, page[i])
					}
				}
			})
		if err != nil {
			return r.portalErr(err)
		}
		if len(dup) < 2 {
			continue
		}
		ids := make([]string, len(dup))
		for i := range dup {
			_, id := keyOf(&dup[i])
			ids[i] = fmt.Sprint(id)
		}
		detail := fmt.Sprintf("externalKey shared by %d %s %s", len(dup), what, strings.Join(ids, ", "))
		for i := range dup {
			r.findings = append(r.findings, finding(KindDuplicateExternalID, &dup[i], detail))
		}
	}
	return nil
}

// confirmUnmanaged reads the store again for each unmanaged candidate: the gateway may have created or
// looked it up since the first store pass.
func (r *run) confirmUnmanaged() error {
	for _, k := range []store.Kind{store.User, store.Group} {
		s := r.sideOf(k)
		keep := make([]bool, len(s.candidates))
		err := forEach(r.ctx, r.opts.Concurrency, len(s.candidates), func(ctx context.Context, i int) error {
			f := s.candidates[i]
			login := store.NormaliseLogin(splitLogin(f.Login))
			if k == store.Group {
				login = strings.ToLower(f.Group)
			}
			managed, err := r.traced(ctx, k, login, f.SCIMID)
			keep[i] = !managed
			return err
		})
		if err != nil {
			return r.storeErr(err)
		}
		for i, f := range s.candidates {
			if keep[i] {
				r.findings = append(r.findings, f)
			}
		}
		r.opts.Progress(Progress{Phase: "checks", Done: len(s.candidates), Total: len(s.candidates)})
	}
	return nil
}

// traced reports whether the store has a create record or login lookup for login, or an id mapping
// for scimID.
func (r *run) traced(ctx context.Context, k store.Kind, login, scimID string) (bool, error) {
	if _, ok, err := r.opts.Store.CreateRecord(ctx, k, login); ok || err != nil {
		return ok, err
	}
	if _, ok, err := r.opts.Store.Lookup(ctx, k, store.Login, login); ok || err != nil {
		return ok, err
	}
	_, ok, err := r.opts.Store.PortalKey(ctx, k, scimID)
	return ok, err
}

// splitLogin splits domain\userName.
func splitLogin(login string) (domain, userName string) {
	d, u, _ := strings.Cut(login, `\`)
	return d, u
}

// checkStale is the second store pass: every entry that names a SCIM id the portal pass did not see
// is a candidate, confirmed with one portal read per id (the portal may have gained the record since).
func (r *run) checkStale() error {
	type candidate struct {
		kind    store.Kind
		id      string
		entries []store.Entry
	}
	var cands []*candidate
	byID := map[string]*candidate{}
	seen := map[string]bool{}
	err := r.opts.Store.Entries(r.ctx, func(e store.Entry) error {
		if seen[e.Key] {
			return nil
		}
		if e.Err != nil {
			seen[e.Key] = true
			r.findings = append(r.findings, staleFinding(e, r.opts.KeyPrefix, "value cannot be read: "+e.Err.Error()))
			return nil
		}
		if e.SCIMID == "" || r.sideOf(e.Kind).portalIDs.has(digestOf(e.SCIMID)) {
			return nil
		}
		seen[e.Key] = true
		c := byID[string(e.Kind)+e.SCIMID]
		if c == nil {
			c = &candidate{kind: e.Kind, id: e.SCIMID}
			byID[string(e.Kind)+e.SCIMID] = c
			cands = append(cands, c)
		}
		c.entries = append(c.entries, e)
		return nil
	})
	if err != nil {
		return r.storeErr(err)
	}
	exists := make([]bool, len(cands))
	err = forEach(r.ctx, r.opts.Concurrency, len(cands), func(ctx context.Context, i int) error {
		c := cands[i]
		var n int
		var err error
		if c.kind == store.Group {
			var l translator.GroupList
			l, err = r.opts.Portal.ListGroups(ctx, []translator.PortalFilter{{Field: translator.FieldGUIDGroup, Value: c.id}}, translator.Page{Top: 1})
			n = len(l.Groups)
		} else {
			var l translator.UserList
			l, err = r.opts.Portal.ListUsers(ctx, []translator.PortalFilter{{Field: translator.FieldGUIDUser, Value: c.id}}, translator.Page{Top: 1})
			n = len(l.Users)
		}
		exists[i] = n > 0
		return err
	})
	if err != nil {
		return r.portalErr(err)
	}
	for i, c := range cands {
		if exists[i] {
			continue
		}
		for _, e := range c.entries {
			r.findings = append(r.findings, staleFinding(e, r.opts.KeyPrefix, describeEntry(e)+" names SCIM id "+e.SCIMID+
				", which is no portal "+noun(e.Kind)))
		}
	}
	return nil
}

func noun(k store.Kind) string {
	if k == store.Group {
		return ResourceGroup
	}
	return ResourceUser
}

func describeEntry(e store.Entry) string {
	switch e.Type {
	case store.EntryPortalKey:
		return fmt.Sprintf("id mapping (to portal key %d)", e.PortalKey)
	case store.EntryLookup:
		if e.Attr == store.ExternalID {
			return "externalId lookup"
		}
		if e.Kind == store.Group {
			return "displayName lookup"
		}
		return "userName lookup"
	default:
		return "create record"
	}
}

func staleFinding(e store.Entry, prefix, detail string) Finding {
	f := Finding{Kind: KindStaleMapping, Resource: noun(e.Kind), SCIMID: e.SCIMID, StoreKey: prefix + e.Key, Detail: detail}
	if e.Type == store.EntryPortalKey && e.Err == nil {
		if e.Kind == store.Group {
			f.IDGroup = e.PortalKey
		} else {
			f.IDUser = e.PortalKey
		}
	}
	return f
}

// sortFindings orders findings by kind (Kinds order), resource, portal ids, then store key.
func sortFindings(fs []Finding) {
	rank := map[string]int{}
	for i, k := range Kinds {
		rank[k] = i
	}
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		switch {
		case a.Kind != b.Kind:
			return rank[a.Kind] < rank[b.Kind]
		case a.Resource != b.Resource:
			return a.Resource > b.Resource // users first
		case a.IDGroup != b.IDGroup:
			return a.IDGroup < b.IDGroup
		case a.IDUser != b.IDUser:
			return a.IDUser < b.IDUser
		}
		return a.StoreKey < b.StoreKey
	})
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
