package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/gateway/translog"
	"github.com/scim-gateway/scim-gateway/translator"
)

// memberConcurrency bounds the member calls (addMember, removeMember, the user lookups that validate
// members, the pages of a member list) that one SCIM request keeps in flight. It stays well under
// upstream.maxInFlight (64 by default) so that one large group change leaves room for the other
// requests; at 20 ms a portal call, 1,000 members added take about 2.5 s (BenchmarkPatchAdd1000Members).
const memberConcurrency = 16

// maxNamedMembers bounds how many unknown member ids one error names.
const maxNamedMembers = 10

// The portal error codes (docs/portal-api.md section 3) that tell the 404s of the member calls apart.
const (
	portalCodeNotAMember    = "NOT_A_MEMBER"
	portalCodeUserNotFound  = "USER_NOT_FOUND"
	portalCodeGroupNotFound = "GROUP_NOT_FOUND"
)

// groups serves /Groups. The SCIM id of a group is the portal's guidGroup; a member's value is the
// SCIM id of a user (its guidUser). Members come from the portal's member list, paged; the portal's
// member calls apply changes one member at a time, with at most memberConcurrency in flight.
type groups struct {
	s *Server
}

func (h *groups) mount(g *echo.Group, auth echo.MiddlewareFunc) {
	g.POST("/Groups", h.create, auth)
	g.GET("/Groups", h.list, auth)
	g.GET("/Groups/:id", h.get, auth)
	g.PUT("/Groups/:id", h.replace, auth)
	g.PATCH("/Groups/:id", h.patch, auth)
	g.DELETE("/Groups/:id", h.delete, auth)
}

// users returns the user handler whose lookups group members go through.
func (h *groups) users() *users { return &users{s: h.s} }

// get serves GET /Groups/{id}: one getGroup with a warm cache, plus the member list unless
// excludedAttributes (or attributes) leaves members out.
func (h *groups) get(c echo.Context) error {
	l := liveOf(c)
	return serveGet(c, func(ctx context.Context, id string) (translator.PortalGroup, error) { return h.byID(ctx, l, id) },
		func(g translator.PortalGroup, proj translator.Projection) (translator.Resource, error) {
			return h.resource(c, l, g, proj)
		})
}

// list serves GET /Groups: `displayName eq` and `externalId eq` go to the portal's $filter (name,
// externalKey), the rest is evaluated in the gateway over a bounded scan. Members are listed per group
// unless the projection leaves them out (Entra sends excludedAttributes=members), and read for the
// evaluation only when the filter names them.
func (h *groups) list(c echo.Context) error {
	l, ctx := liveOf(c), c.Request().Context()
	all := func(ctx context.Context, startIndex, count int) ([]translator.PortalGroup, int, error) {
		return groupKind.page(ctx, l, startIndex, count)
	}
	filter := func(f translator.Filter) ([]translator.PortalGroup, error) {
		push, residual := l.Mapping.PlanGroup(f)
		withMembers := !residual.IsZero() && strings.Contains(strings.ToLower(residual.String()), "members")
		return groupKind.filter(ctx, h.s, l, push,
			func(g translator.PortalGroup) (bool, error) { return h.matches(c, l, g, f, withMembers) },
			func(g translator.PortalGroup) (bool, error) {
				if residual.IsZero() {
					return true, nil
				}
				return h.matches(c, l, g, residual, withMembers)
			})
	}
	return serveList(c, l, all, filter, func(g translator.PortalGroup, proj translator.Projection) (translator.Resource, error) {
		return h.resource(c, l, g, proj)
	})
}

// matches evaluates f on the SCIM resource of g, with its members when withMembers.
func (h *groups) matches(c echo.Context, l *Live, g translator.PortalGroup, f translator.Filter, withMembers bool) (bool, error) {
	var members []translator.PortalMember
	if withMembers {
		var err error
		if members, err = h.shownMembers(c.Request().Context(), l, g.IDGroup); err != nil {
			return false, err
		}
	}
	return f.Matches(h.render(c, l, g, members)), nil
}

// groupLookupKey finds in the portal terms of a plan the key of a cached lookup: the lower-case name,
// else the externalKey.
func groupLookupKey(push []translator.PortalFilter) (store.Attr, string) {
	var ext string
	for _, p := range push {
		s, ok := p.Value.(string)
		if !ok {
			continue
		}
		switch p.Field {
		case translator.FieldName:
			return store.Login, strings.ToLower(s)
		case translator.FieldExternalKey:
			ext = s
		}
	}
	if ext != "" {
		return store.ExternalID, ext
	}
	return "", ""
}

// byID finds the portal group behind a SCIM id: one getGroup through the cached portal key, or a
// listGroups on guidGroup when the cache is cold or stale.
func (h *groups) byID(ctx context.Context, l *Live, id string) (translator.PortalGroup, error) {
	return groupKind.byID(ctx, h.s, l, id)
}

// render turns a portal group into its SCIM resource; members nil leaves the attribute out. Each
// member carries value (the user's SCIM id), $ref (the absolute URL of the user) and display: the
// user's SCIM userName as the member list shows it (the login form is inferred from the domain, since
// the member list does not carry the user's properties).
func (h *groups) render(c echo.Context, l *Live, g translator.PortalGroup, members []translator.PortalMember) translator.Resource {
	base := baseURL(c)
	res := l.Mapping.FromPortalGroup(g, members, translator.Meta{Location: base + "/Groups/" + g.GUIDGroup})
	if members != nil {
		list := make([]any, 0, len(members))
		for _, m := range members {
			list = append(list, map[string]any{
				"value":   m.GUIDUser,
				"$ref":    base + "/Users/" + m.GUIDUser,
				"display": translator.SCIMUserName(m.UserName, m.Domain, "", l.Mapping.DefaultDomain()),
			})
		}
		res["members"] = list
	}
	return res
}

// resource renders a group projected for the answer; the member list costs listMembers calls and is
// read only when the projection keeps members.
func (h *groups) resource(c echo.Context, l *Live, g translator.PortalGroup, proj translator.Projection) (translator.Resource, error) {
	var members []translator.PortalMember
	if !proj.Excluded("members") {
		var err error
		if members, err = h.shownMembers(c.Request().Context(), l, g.IDGroup); err != nil {
			return nil, err
		}
	}
	return proj.Apply(h.render(c, l, g, members)), nil
}

// shownMembers lists the members of a portal group that SCIM shows: users deleted through SCIM (in
// disable mode) stay portal members, so that a restore brings them back, but are left out, as GET
// /Users/{id} answers 404 for them.
func (h *groups) shownMembers(ctx context.Context, l *Live, idGroup int64) ([]translator.PortalMember, error) {
	members, err := h.members(ctx, l, idGroup)
	if err != nil || len(members) == 0 {
		return members, err
	}
	deleted, err := deletedAmong(ctx, l, members)
	if err != nil || len(deleted) == 0 {
		return members, err
	}
	out := members[:0]
	for _, m := range members {
		if !deleted[m.IDUser] {
			out = append(out, m)
		}
	}
	return out, nil
}

// deletedAmong returns the portal keys of the members that are users deleted through SCIM. The member
// list does not carry the deletion mark, but a deleted user is disabled, and the portal filters on
// enabled: one listUsers of the disabled users (500 a page) answers for every member when they fit in
// one page, the usual case. Otherwise the cheaper of the two: the other pages of disabled users, or
// one getUser per member not settled by the first page.
func deletedAmong(ctx context.Context, l *Live, members []translator.PortalMember) (map[int64]bool, error) {
	first, err := l.Users.ListUsers(ctx, disabledUsers, translator.Page{Top: portalPageSize})
	if err != nil {
		return nil, err
	}
	deleted := map[int64]bool{}
	var mu sync.Mutex
	note := func(users []translator.PortalUser) {
		mu.Lock()
		defer mu.Unlock()
		for _, u := range users {
			if isDeleted(u) {
				deleted[u.IDUser] = true
			}
		}
	}
	note(first.Users)
	size := len(first.Users)
	if size == 0 || size >= first.Count {
		return deleted, nil
	}
	pages := (first.Count - 1) / size // after the first
	if pages <= len(members) {
		err = bounded(ctx, pages, memberConcurrency, func(ctx context.Context, i int) error {
			list, err := l.Users.ListUsers(ctx, disabledUsers, translator.Page{Top: size, Skip: (i + 1) * size})
			note(list.Users)
			return err
		})
		return deleted, err
	}
	err = bounded(ctx, len(members), memberConcurrency, func(ctx context.Context, i int) error {
		u, err := l.Users.GetUser(ctx, members[i].IDUser)
		if translator.ErrorCode(err) == translator.ENotFound {
			return nil
		}
		note([]translator.PortalUser{u})
		return err
	})
	return deleted, err
}

// members lists every member of a portal group (never nil): the first page says how many there are,
// the other pages are read concurrently. A member seen on two pages (the list moved while it was
// read) is kept once.
func (h *groups) members(ctx context.Context, l *Live, idGroup int64) ([]translator.PortalMember, error) {
	first, err := l.Groups.ListMembers(ctx, idGroup, translator.Page{Top: portalPageSize})
	if err != nil {
		return nil, err
	}
	size := len(first.Members)
	if size == 0 || size >= first.Count {
		return append([]translator.PortalMember{}, first.Members...), nil
	}
	pages := make([][]translator.PortalMember, (first.Count+size-1)/size)
	pages[0] = first.Members
	err = bounded(ctx, len(pages)-1, memberConcurrency, func(ctx context.Context, i int) error {
		list, err := l.Groups.ListMembers(ctx, idGroup, translator.Page{Top: size, Skip: (i + 1) * size})
		pages[i+1] = list.Members
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]translator.PortalMember, 0, first.Count)
	seen := make(map[int64]bool, first.Count)
	for _, p := range pages {
		for _, m := range p {
			if !seen[m.IDUser] {
				seen[m.IDUser] = true
				out = append(out, m)
			}
		}
	}
	return out, nil
}

// create serves POST /Groups with the rules of POST /Users (DESIGN.md, "Creates never duplicate"),
// keyed on the lower-case name: the portal create; on a conflict or an unknown outcome, the existing
// group is read and compared with the request. The portal requires unique group names where Entra
// does not, so a second group of one name is 409 uniqueness with a detail that says so. Members are
// validated before the create and added after it; a failure while adding them answers its status,
// and a replay of the same body finds the group, adds what is missing and answers 201.
func (h *groups) create(c echo.Context) error {
	l, ctx := liveOf(c), c.Request().Context()
	body, err := readBody(c, l.Limits.MaxBodyBytes)
	if err != nil {
		return err
	}
	req, err := translator.ParseGroup(body)
	if err != nil {
		return err
	}
	rec := reqOf(c).rec
	ng, changes, err := l.Mapping.ToPortalGroup(req)
	if err != nil {
		return err
	}
	rec.AddChanges(changes...)
	ids, err := translator.MemberIDs(req)
	if err != nil {
		return err
	}
	if err := tooManyMembers(l, len(ids)); err != nil {
		return err
	}
	name := strings.ToLower(ng.Name)
	if !l.DryRun {
		needed := []string{OpCreateGroup}
		if len(ids) > 0 {
			needed = append(needed, OpAddMember)
		}
		if err := requireEndpoints(l, needed...); err != nil {
			return err
		}
	}
	members, err := h.resolve(ctx, l, ids)
	if err != nil {
		return err
	}
	rec.AddMembers(translog.MemberAdd, logMembers(members)...)
	if l.DryRun {
		res := req.Clone()
		res["id"] = dryRunPrefix + hashHex("group\x00" + name)[:24]
		rec.SetSCIMID(res.ID())
		rec.SetDryRun(true)
		rec.SetOutcome(translog.OutcomeDryRun)
		c.Response().Header().Set(HeaderDryRun, "true")
		return writeSCIM(c, http.StatusCreated, res)
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	fp := fingerprint(struct {
		Group   translator.NewPortalGroup
		Members []string
	}{ng, sorted})
	unlock, err := h.s.lockCreate(c, store.Group, name, "displayName")
	if err != nil {
		return err
	}
	defer unlock()
	return h.s.idempotent(c, fp, func() (int, string, []byte, error) {
		return h.createOnce(c, l, req, ng, members, name, fp)
	})
}

// createOnce runs one create (under the name's lock, taken by create) and answers status, location and
// body. Like a user create it runs to its end when the client gives up (createContext).
func (h *groups) createOnce(c echo.Context, l *Live, req translator.Resource, ng translator.NewPortalGroup, members []translator.PortalMember, name, fp string) (int, string, []byte, error) {
	ctx := createContext(c)
	// The pending record is written while the portal works (see users.createOnce).
	pc := h.s.beginCreate(ctx, store.Group, name, fp)

	g, err := l.Groups.CreateGroup(ctx, ng)
	pc.wait()
	switch translator.ErrorCode(err) {
	case "":
		return h.created(c, l, g, members, name, fp, translog.OutcomeCreated)
	case translator.EConflict, translator.EOutcomeUnknown:
	default:
		pc.restore()
		return 0, "", nil, h.portalErr(l, err)
	}
	createErr := err
	existing, verdict, err := judgeCreate(c, h.s, groupKind, fp, pc, createErr,
		func() (translator.PortalGroup, bool, error) {
			return groupKind.existing(ctx, l, translator.AsError(createErr).ExistingID,
				[]translator.PortalFilter{{Field: translator.FieldName, Value: ng.Name}},
				func(g translator.PortalGroup) bool { return strings.EqualFold(g.Name, ng.Name) })
		},
		func(g translator.PortalGroup) (bool, error) {
			diff, err := l.Mapping.DiffGroup(g, req)
			return diff.Patch.Empty(), err
		})
	switch {
	case err != nil:
		return 0, "", nil, err
	case verdict == createOurs:
		return h.created(c, l, existing, members, name, fp, translog.OutcomeReplayed)
	}
	return 0, "", nil, &translator.Error{Code: translator.EConflict, ScimType: translator.ScimUniqueness,
		Message: fmt.Sprintf("the portal requires unique group names (compared without case); a group named %q already exists (id %s)",
			existing.Name, existing.GUIDGroup)}
}

// created records a create that the portal made (or that a retry found), adds the members and
// answers 201. The record is written before the members are added, so that a replay after a failure
// among them is recognised as the same create.
func (h *groups) created(c echo.Context, l *Live, g translator.PortalGroup, members []translator.PortalMember, name, fp, outcome string) (int, string, []byte, error) {
	ctx := createContext(c)
	h.s.createOutcome(c, translog.ResourceGroup, outcome)
	reqOf(c).rec.SetSCIMID(g.GUIDGroup)
	reqOf(c).rec.SetPortalID(g.IDGroup)
	groupKind.recordCreate(ctx, h.s, name, fp, g)
	if err := h.addMembers(ctx, l, g, members); err != nil {
		return 0, "", nil, err
	}
	if members == nil {
		members = []translator.PortalMember{}
	}
	b, err := json.Marshal(h.render(c, l, g, members))
	if err != nil {
		return 0, "", nil, err
	}
	reqOf(c).onDelivered = func() {
		h.s.storeErr(h.s.writeCreateRecord(ctx, store.Group, name,
			store.CreateRecord{Fingerprint: fp, ID: g.GUIDGroup, Delivered: true}))
	}
	return http.StatusCreated, baseURL(c) + "/Groups/" + g.GUIDGroup, b, nil
}

// patch serves PATCH /Groups/{id}: every operation, and every member id added, is validated before
// the first portal write; then the group's fields, the removals and the additions are written.
// Answers l.PatchStatus (204 by default).
func (h *groups) patch(c echo.Context) error {
	l, ctx := liveOf(c), c.Request().Context()
	ops, err := readPatch(c, l)
	if err != nil {
		return err
	}
	g, err := h.byID(ctx, l, c.Param("id"))
	if err != nil {
		return err
	}
	gp, err := translator.ApplyGroupPatch(h.render(c, l, g, nil), ops)
	if err != nil {
		return err
	}
	diff, err := l.Mapping.DiffGroup(g, gp.Resource)
	if err != nil {
		return err
	}
	if err := tooManyMembers(l, len(gp.Members.Add)+len(gp.Members.Remove)); err != nil {
		return err
	}
	diff.Members = &gp.Members
	return h.update(c, l, g, diff, gp.Resource, l.PatchStatus)
}

// replace serves PUT /Groups/{id}: the body replaces the group's fields and, when it names members
// (even as an empty list), its member set, by applying only the difference. A body without members
// leaves them as they are.
func (h *groups) replace(c echo.Context) error {
	l, ctx := liveOf(c), c.Request().Context()
	body, err := readBody(c, l.Limits.MaxBodyBytes)
	if err != nil {
		return err
	}
	desired, err := translator.ParseGroup(body)
	if err != nil {
		return err
	}
	if _, _, err := l.Mapping.ToPortalGroup(desired); err != nil {
		return err
	}
	ids, err := translator.MemberIDs(desired)
	if err != nil {
		return err
	}
	if err := tooManyMembers(l, len(ids)); err != nil {
		return err
	}
	g, err := h.byID(ctx, l, c.Param("id"))
	if err != nil {
		return err
	}
	diff, err := l.Mapping.DiffGroup(g, desired)
	if err != nil {
		return err
	}
	return h.update(c, l, g, diff, desired, http.StatusOK)
}

// memberPlan is the member calls an update makes: the users to add (validated) and the users to
// remove (by SCIM id and portal key).
type memberPlan struct {
	add    []translator.PortalMember
	remove []translator.PortalMember
}

// logMembers names members for the translation log.
func logMembers(ms []translator.PortalMember) []translog.Member {
	out := make([]translog.Member, len(ms))
	for i, m := range ms {
		out[i] = translog.Member{SCIMID: m.GUIDUser, IDUser: m.IDUser}
	}
	return out
}

// update writes a group change: updateGroup for the fields, then the removals, then the additions,
// each member call idempotent (re-adding a member, or removing a non-member, succeeds). Every member
// to add is resolved to a known user before the first write. A failure midway answers its status; a
// replay of the request converges. diff.Members nil leaves the members as they are; desired is the
// answer of a dry run.
func (h *groups) update(c echo.Context, l *Live, g translator.PortalGroup, diff translator.GroupDiff, desired translator.Resource, okStatus int) error {
	ctx := c.Request().Context()
	rec := reqOf(c).rec
	rec.SetPortalID(g.IDGroup)
	rec.AddChanges(diff.Changes...)
	patch := diff.Patch
	var changes translator.MemberChanges
	if diff.Members != nil {
		changes = *diff.Members
	}
	var needed []string
	if !patch.Empty() {
		needed = append(needed, OpUpdateGroup)
	}
	if changes.RemoveAll {
		needed = append(needed, OpListMembers, OpRemoveMember)
	}
	if len(changes.Remove) > 0 {
		needed = append(needed, OpRemoveMember)
	}
	if len(changes.Add) > 0 {
		needed = append(needed, OpAddMember)
	}
	if err := requireEndpoints(l, needed...); err != nil {
		return err
	}
	plan, err := h.planMembers(ctx, l, g, changes)
	if err != nil {
		return err
	}
	rec.AddMembers(translog.MemberRemove, logMembers(plan.remove)...)
	rec.AddMembers(translog.MemberAdd, logMembers(plan.add)...)
	if patch.Empty() && len(plan.add) == 0 && len(plan.remove) == 0 {
		rec.SetOutcome(translog.OutcomeUnchanged)
	}
	if l.DryRun {
		rec.SetDryRun(true)
		rec.SetOutcome(translog.OutcomeDryRun)
		c.Response().Header().Set(HeaderDryRun, "true")
		if okStatus == http.StatusNoContent {
			return noContent(c)
		}
		res := desired.Clone()
		res["id"] = g.GUIDGroup
		return writeSCIM(c, okStatus, res)
	}
	if !patch.Empty() {
		updated, err := l.Groups.UpdateGroup(ctx, g.IDGroup, patch)
		if err != nil {
			return h.portalErr(l, err)
		}
		groupKind.relookup(ctx, h.s, g, updated)
		g = updated
	}
	if err := h.removeMembers(ctx, l, g, plan.remove); err != nil {
		return err
	}
	if err := h.addMembers(ctx, l, g, plan.add); err != nil {
		return err
	}
	if rec.Outcome() != translog.OutcomeUnchanged {
		rec.SetOutcome(translog.OutcomeUpdated)
	}
	if okStatus == http.StatusNoContent {
		return noContent(c)
	}
	proj, err := translator.ParseProjection(c.QueryParam("attributes"), c.QueryParam("excludedAttributes"))
	if err != nil {
		return err
	}
	res, err := h.resource(c, l, g, proj)
	if err != nil {
		return err
	}
	return writeSCIM(c, okStatus, res)
}

// planMembers turns member changes into member calls. A replacement (RemoveAll) reads the current
// members and keeps the calls to the difference; otherwise the members to remove are looked up (an
// id that is no portal user is no member: nothing to remove) and every member to add is validated.
func (h *groups) planMembers(ctx context.Context, l *Live, g translator.PortalGroup, changes translator.MemberChanges) (memberPlan, error) {
	var plan memberPlan
	add := changes.Add
	if changes.RemoveAll {
		current, err := h.members(ctx, l, g.IDGroup)
		if err != nil {
			return plan, err
		}
		keep := make(map[string]bool, len(changes.Add))
		for _, id := range changes.Add {
			keep[id] = true
		}
		isMember := make(map[string]bool, len(current))
		for _, m := range current {
			isMember[m.GUIDUser] = true
			if !keep[m.GUIDUser] {
				plan.remove = append(plan.remove, m)
			}
		}
		add = nil
		for _, id := range changes.Add {
			if !isMember[id] {
				add = append(add, id)
			}
		}
	} else if len(changes.Remove) > 0 {
		users, err := h.removalKeys(ctx, l, changes.Remove)
		if err != nil {
			return plan, err
		}
		plan.remove = users
	}
	var err error
	plan.add, err = h.resolve(ctx, l, add)
	return plan, err
}

// tooManyMembers is the 400 tooMany of a group request that names more member ids than
// limits.maxMembersPerRequest: each costs portal calls, and one request must not fan out without bound.
func tooManyMembers(l *Live, n int) error {
	if l.Limits.MaxMembers <= 0 || n <= l.Limits.MaxMembers {
		return nil
	}
	return translator.Invalidf(translator.ScimTooMany,
		"%d member ids in one request, more than limits.maxMembersPerRequest (%d): send the members in several requests; nothing was changed",
		n, l.Limits.MaxMembers)
}

// errUnknownMember stops resolve's checks at the first member id that is no user.
var errUnknownMember = errors.New("unknown member")

// resolve finds the portal user behind every member id to add, each id once. The ids are first
// checked against the store (no portal call): those it does not know, the likeliest to be no user,
// are looked up first (listUsers on guidUser), and only when they all are users the known ones
// (getUser), memberConcurrency at a time; the first id that is no user, or a user deleted through
// SCIM, stops the checks, so a request of unknown ids costs at most memberConcurrency portal reads,
// not one per id. The unknown ids found
// are one EInvalid error (400 invalidValue) naming them.
func (h *groups) resolve(ctx context.Context, l *Live, ids []string) ([]translator.PortalMember, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	ids = unique(ids)
	known := make([]bool, len(ids))
	err := bounded(ctx, len(ids), memberConcurrency, func(ctx context.Context, i int) error {
		_, hit, err := h.s.storeOf(ctx).PortalKey(ctx, store.User, ids[i])
		h.s.cacheResult(ctx, "user_id", hit, err)
		known[i] = hit
		return nil
	})
	if err != nil {
		return nil, err
	}
	var misses, hits []int
	for i := range ids {
		if known[i] {
			hits = append(hits, i)
		} else {
			misses = append(misses, i)
		}
	}
	uh := h.users()
	out := make([]translator.PortalMember, len(ids))
	unknown := make([]bool, len(ids))
	check := func(order []int) error {
		return bounded(ctx, len(order), memberConcurrency, func(ctx context.Context, j int) error {
			i := order[j]
			u, err := uh.byID(ctx, l, ids[i])
			switch {
			case translator.ErrorCode(err) == translator.ENotFound:
				unknown[i] = true
				return errUnknownMember
			case err != nil:
				return err
			}
			out[i] = translator.PortalMember{IDUser: u.IDUser, GUIDUser: u.GUIDUser, UserName: u.UserName, Domain: u.Domain}
			return nil
		})
	}
	err = check(misses)
	if err == nil {
		err = check(hits)
	}
	if err != nil && !errors.Is(err, errUnknownMember) {
		return nil, err
	}
	var missing []string
	for i, bad := range unknown {
		if bad {
			missing = append(missing, ids[i])
		}
	}
	if len(missing) > 0 {
		return nil, unknownMembers(missing)
	}
	return out, nil
}

// unique returns ids without repeats, in their first order.
func unique(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// unknownMembers is the 400 invalidValue of member ids that are no user, naming them.
func unknownMembers(ids []string) error {
	named := ids[:min(len(ids), maxNamedMembers)]
	quoted := make([]string, len(named))
	for i, id := range named {
		quoted[i] = fmt.Sprintf("%q", id)
	}
	more := ""
	if len(ids) > len(named) {
		more = fmt.Sprintf(" and %d more", len(ids)-len(named))
	}
	noun := "a member id that is"
	if len(ids) > 1 {
		noun = "member ids that are"
	}
	e := translator.Invalidf(translator.ScimInvalidValue, "members: %s not a provisioned user: %s%s; nothing was changed",
		noun, strings.Join(quoted, ", "), more)
	e.Target = "members"
	return e
}

// removalKeys returns the users to remove from a group, each id with its portal key: the cached id
// mapping (which never changes), else a listUsers on guidUser. A user deleted through SCIM is still
// removed; an id that is no portal user is left out.
func (h *groups) removalKeys(ctx context.Context, l *Live, ids []string) ([]translator.PortalMember, error) {
	keys := make([]int64, len(ids))
	err := bounded(ctx, len(ids), memberConcurrency, func(ctx context.Context, i int) error {
		id := ids[i]
		if strings.HasPrefix(id, dryRunPrefix) {
			return nil
		}
		key, hit, err := h.s.storeOf(ctx).PortalKey(ctx, store.User, id)
		h.s.cacheResult(ctx, "user_id", hit, err)
		if hit {
			keys[i] = key
			return nil
		}
		list, err := l.Users.ListUsers(ctx, []translator.PortalFilter{{Field: translator.FieldGUIDUser, Value: id}}, translator.Page{Top: 2})
		if err != nil {
			return err
		}
		for _, u := range list.Users {
			if u.GUIDUser == id {
				h.s.storeErr(h.s.storeOf(ctx).RememberPortalKey(ctx, store.User, id, u.IDUser))
				keys[i] = u.IDUser
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []translator.PortalMember
	for i, k := range keys {
		if k != 0 {
			out = append(out, translator.PortalMember{IDUser: k, GUIDUser: ids[i]})
		}
	}
	return out, nil
}

// addMembers adds users to a group, memberConcurrency at a time. Adding a member again succeeds. A
// user deleted from the portal since it was validated is 400 invalidValue naming it.
func (h *groups) addMembers(ctx context.Context, l *Live, g translator.PortalGroup, members []translator.PortalMember) error {
	return bounded(ctx, len(members), memberConcurrency, func(ctx context.Context, i int) error {
		err := l.Groups.AddMember(ctx, g.IDGroup, members[i].IDUser)
		if translator.ErrorCode(err) != translator.ENotFound {
			return err
		}
		if translator.AsError(err).PortalCode == portalCodeUserNotFound {
			return unknownMembers([]string{members[i].GUIDUser})
		}
		return groupKind.notFound(g.GUIDGroup)
	})
}

// removeMembers removes users from a group, memberConcurrency at a time. Removing a user that is not
// a member (or no longer a user) succeeds.
func (h *groups) removeMembers(ctx context.Context, l *Live, g translator.PortalGroup, members []translator.PortalMember) error {
	return bounded(ctx, len(members), memberConcurrency, func(ctx context.Context, i int) error {
		err := l.Groups.RemoveMember(ctx, g.IDGroup, members[i].IDUser)
		if translator.ErrorCode(err) != translator.ENotFound {
			return err
		}
		switch translator.AsError(err).PortalCode {
		case portalCodeNotAMember, portalCodeUserNotFound:
			return nil
		}
		return groupKind.notFound(g.GUIDGroup)
	})
}

// delete serves DELETE /Groups/{id}: the portal deletes the group and its memberships; the
// deleteGroup switch freezes it.
func (h *groups) delete(c echo.Context) error {
	l, ctx := liveOf(c), c.Request().Context()
	if err := requireEndpoints(l, OpDeleteGroup); err != nil {
		return err
	}
	g, err := h.byID(ctx, l, c.Param("id"))
	if err != nil {
		return err
	}
	rec := reqOf(c).rec
	rec.SetPortalID(g.IDGroup)
	if l.DryRun {
		rec.SetDryRun(true)
		rec.SetOutcome(translog.OutcomeDryRun)
		c.Response().Header().Set(HeaderDryRun, "true")
		return noContent(c)
	}
	rec.SetOutcome(translog.OutcomeDeleted)
	if err := l.Groups.DeleteGroup(ctx, g.IDGroup); err != nil && translator.ErrorCode(err) != translator.ENotFound {
		return h.portalErr(l, err)
	}
	h.s.storeErr(h.s.storeOf(ctx).ForgetPortalKey(ctx, store.Group, g.GUIDGroup))
	groupKind.forget(ctx, h.s, g)
	return noContent(c)
}

// portalErr names the SCIM attribute instead of the portal field in a value the portal rejected, and
// says why the portal refused a rename onto a name in use.
func (h *groups) portalErr(l *Live, err error) error {
	e := translator.AsError(err)
	if e == nil {
		return err
	}
	out := *e
	switch {
	case e.Code == translator.EConflict:
		out.ScimType = translator.ScimUniqueness
		out.Message = "the portal requires unique group names (compared without case); another group already has this displayName: " + e.Message
	case e.Code == translator.EInvalid && e.Target != "":
		attr := l.Mapping.SCIMGroupAttribute(e.Target)
		if attr == "" {
			attr = e.Target
		}
		out.Message = "the portal refused the value of " + attr + ": " + strings.ReplaceAll(e.Message, e.Target, attr)
		out.Target = attr
	default:
		return err
	}
	return &out
}

// bounded calls fn(ctx, i) for every i in [0, n), at most limit calls at a time, and returns the first
// error. After a failure no further call starts, but the calls in flight run to their end (a portal
// write cut short would leave its outcome unknown). A ctx that ends stops the starts too, and is
// reported as EUnavailable.
func bounded(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	return boundedNotify(ctx, n, limit, fn, nil)
}

// boundedNotify is bounded with onFail (when not nil) called once, as soon as the first failure is
// recorded and before any slot it frees can start another call: tests use it to order the calls in
// flight after the failure without assuming which goroutine runs first.
func boundedNotify(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error, onFail func()) error {
	if n == 0 {
		return nil
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return first != nil
	}
	slots := make(chan struct{}, max(limit, 1))
	started := 0
	for i := 0; i < n; i++ {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil || failed() {
			break
		}
		started++
		wg.Add(1)
		go func() {
			defer func() {
				<-slots
				wg.Done()
			}()
			if err := fn(ctx, i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
					if onFail != nil {
						onFail()
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first == nil && started < n {
		return &translator.Error{Code: translator.EUnavailable, Message: "the request ended before every portal call was made", Err: ctx.Err()}
	}
	return first
}
