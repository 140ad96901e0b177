package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/gateway/translog"
	"github.com/scim-gateway/scim-gateway/translator"
)

// HeaderDryRun marks every answer to a write made in dry-run mode: nothing was sent to the portal.
const HeaderDryRun = "X-Scim-Gateway-Dry-Run"

// dryRunPrefix starts the id a dry-run create answers with; reads of such ids answer 404.
const dryRunPrefix = "dryrun-"

// disabledRetryAfter is the Retry-After of a request refused because an endpoint is switched off.
const disabledRetryAfter = 60 * time.Second

// portalPageSize is the page size the gateway asks the portal for when it scans (docs/portal-api.md's
// largest $top).
const portalPageSize = 500

// createLockHold is how long a create lock lives if its holder dies; createLockWait bounds how long a
// duplicate create waits for the first.
const (
	createLockHold = 30 * time.Second
	createLockWait = 25 * time.Second
)

// users serves /Users.
type users struct {
	s *Server
}

func (h *users) mount(g *echo.Group, auth echo.MiddlewareFunc) {
	g.POST("/Users", h.create, auth)
	g.GET("/Users", h.list, auth)
	g.GET("/Users/:id", h.get, auth)
	g.PUT("/Users/:id", h.replace, auth)
	g.PATCH("/Users/:id", h.patch, auth)
	g.DELETE("/Users/:id", h.delete, auth)
}

// get serves GET /Users/{id}: one getUser with a warm cache.
func (h *users) get(c echo.Context) error {
	l := liveOf(c)
	return serveGet(c, func(ctx context.Context, id string) (translator.PortalUser, error) { return h.byID(ctx, l, id) },
		func(u translator.PortalUser, proj translator.Projection) (translator.Resource, error) {
			return h.resource(c, l, u, proj)
		})
}

// list serves GET /Users: a filter is split by the mapping into what the portal's $filter answers and
// what the gateway evaluates over a bounded scan; a filter naming a cached userName or externalId is
// one getUser.
func (h *users) list(c echo.Context) error {
	l, ctx := liveOf(c), c.Request().Context()
	all := func(ctx context.Context, startIndex, count int) ([]translator.PortalUser, int, error) {
		return userKind.page(ctx, l, startIndex, count)
	}
	filter := func(f translator.Filter) ([]translator.PortalUser, error) {
		push, residual := l.Mapping.Plan(f)
		return userKind.filter(ctx, h.s, l, push,
			func(u translator.PortalUser) (bool, error) { return f.Matches(h.render(c, l, u)), nil },
			func(u translator.PortalUser) (bool, error) {
				return residual.IsZero() || residual.Matches(h.render(c, l, u)), nil
			})
	}
	return serveList(c, l, all, filter, func(u translator.PortalUser, proj translator.Projection) (translator.Resource, error) {
		return h.resource(c, l, u, proj)
	})
}

// lookupKey finds in the portal terms of a plan the key of a cached lookup: the login of a userName
// term, else an externalKey term.
func lookupKey(push []translator.PortalFilter) (store.Attr, string) {
	var userName, domain, ext string
	var hasUser, hasDomain, hasExt bool
	for _, p := range push {
		s, ok := p.Value.(string)
		if !ok {
			continue
		}
		switch p.Field {
		case translator.FieldUserName:
			userName, hasUser = s, true
		case translator.FieldDomain:
			domain, hasDomain = s, true
		case translator.FieldExternalKey:
			ext, hasExt = s, true
		}
	}
	switch {
	case hasUser && hasDomain:
		return store.Login, store.NormaliseLogin(domain, userName)
	case hasExt:
		return store.ExternalID, ext
	}
	return "", ""
}

// byID finds the portal user behind a SCIM id: one getUser through the cached portal key, or a
// listUsers on guidUser when the cache is cold or stale. A user marked deleted is not found.
func (h *users) byID(ctx context.Context, l *Live, id string) (translator.PortalUser, error) {
	return userKind.byID(ctx, h.s, l, id)
}

// isDeleted reports whether a portal user carries the SCIM deletion mark.
func isDeleted(u translator.PortalUser) bool { return u.MarkedDeleted() }

// render turns a portal user into its SCIM resource.
func (h *users) render(c echo.Context, l *Live, u translator.PortalUser) translator.Resource {
	return l.Mapping.FromPortalUser(u, translator.Meta{Location: baseURL(c) + "/Users/" + u.GUIDUser})
}

// resource renders a user projected for the answer; the read-only groups attribute costs a
// listUserGroups and is fetched only when asked for.
func (h *users) resource(c echo.Context, l *Live, u translator.PortalUser, proj translator.Projection) (translator.Resource, error) {
	res := h.render(c, l, u)
	if proj.Requested("groups") {
		groups, err := userGroups(c.Request().Context(), l.Users, u.IDUser)
		if err != nil {
			return nil, err
		}
		res.SetGroups(groups)
	}
	if proj.IsZero() {
		// FromPortalUser renders only what a zero projection returns: no copy needed.
		return res, nil
	}
	return proj.Apply(res), nil
}

// userGroups lists every group of a portal user.
func userGroups(ctx context.Context, p UserPortal, idUser int64) ([]translator.PortalGroup, error) {
	var out []translator.PortalGroup
	for skip := 0; ; {
		list, err := p.ListUserGroups(ctx, idUser, translator.Page{Top: portalPageSize, Skip: skip})
		if err != nil {
			return nil, err
		}
		out = append(out, list.Groups...)
		skip += len(list.Groups)
		if len(list.Groups) == 0 || skip >= list.Count {
			return out, nil
		}
	}
}

// create serves POST /Users (DESIGN.md, "Creates never duplicate"): the portal create; on a conflict
// or an unknown outcome, the existing user is read and compared with the request. A re-POST of an
// existing user is 409 uniqueness, except when the earlier create of the same body never got its 201
// to the client: then 201 with the existing id. A user deleted in disable mode is restored.
func (h *users) create(c echo.Context) error {
	l := liveOf(c)
	body, err := readBody(c, l.Limits.MaxBodyBytes)
	if err != nil {
		return err
	}
	req, err := translator.ParseUser(body)
	if err != nil {
		return err
	}
	rec := reqOf(c).rec
	rec.SetUserName(req.Str("userName"))
	nu, changes, err := l.Mapping.ToPortalUser(req)
	if err != nil {
		return err
	}
	rec.AddChanges(changes...)
	login := store.NormaliseLogin(nu.Domain, nu.UserName)
	if l.DryRun {
		res := req.Clone()
		res["id"] = dryRunPrefix + hashHex(login)[:24]
		rec.SetSCIMID(res.ID())
		rec.SetDryRun(true)
		rec.SetOutcome(translog.OutcomeDryRun)
		c.Response().Header().Set(HeaderDryRun, "true")
		return writeSCIM(c, http.StatusCreated, res)
	}
	if err := requireEndpoints(l, OpCreateUser); err != nil {
		return err
	}
	fp := fingerprint(nu)
	// The login's lock is held until the answer is written and its delivery recorded, so that a
	// duplicate that waited for it knows whether this create's 201 reached the client.
	unlock, err := h.s.lockCreate(c, store.User, login, "userName")
	if err != nil {
		return err
	}
	defer unlock()
	return h.s.idempotent(c, fp, func() (int, string, []byte, error) {
		return h.createOnce(c, l, req, nu, login, fp)
	})
}

// lockCreate takes the create lock of a login (or group name), waiting up to createLockWait for a
// create of the same key in flight on any replica: 503 with Retry-After when that create still holds
// it. The caller holds it until its answer is written and its delivery recorded, so that a duplicate
// that waited knows whether the first 201 reached the client. While the store is down it goes on
// without the lock: the portal's uniqueness still prevents duplicates.
func (s *Server) lockCreate(c echo.Context, kind store.Kind, key, attr string) (unlock func(), err error) {
	lockCtx, cancel := context.WithTimeout(createContext(c), createLockWait)
	defer cancel()
	unlock, err = s.storeOf(lockCtx).LockCreate(lockCtx, kind, key, createLockHold)
	switch {
	case err == store.ErrLockTimeout:
		return nil, &translator.Error{Code: translator.EUnavailable, RetryAfter: 5 * time.Second,
			Message: "another create with the same " + attr + " is still in progress; retry later"}
	case err != nil:
		s.storeErr(err)
		return func() {}, nil
	}
	return unlock, nil
}

// createContext is the context of a create's portal and store calls: the request's values without its
// cancellation. A client that gives up mid-create (its own timeout shorter than the portal's latency)
// must not cut the create short: the portal may already have stored the user, and only a create that
// runs to its end records that its 201 never reached the client, which is what answers the client's
// retry 201 rather than 409. It stays bounded: each portal call by upstream.timeout, the lock wait by
// createLockWait, each store call by the Redis timeouts.
func createContext(c echo.Context) context.Context {
	return context.WithoutCancel(c.Request().Context())
}

// createOnce runs one create (under the login's lock, taken by create) and answers status, location
// and body.
func (h *users) createOnce(c echo.Context, l *Live, req translator.Resource, nu translator.NewPortalUser, login, fp string) (int, string, []byte, error) {
	ctx := createContext(c)
	// The pending record is written while the portal works (a Redis round trip against a portal call).
	pc := h.s.beginCreate(ctx, store.User, login, fp)

	u, err := l.Users.CreateUser(ctx, nu)
	pc.wait()
	switch translator.ErrorCode(err) {
	case "":
		return h.created(c, l, u, login, fp, translog.OutcomeCreated)
	case translator.EConflict, translator.EOutcomeUnknown:
	default:
		// The portal did not create the user: the record of the create before stands.
		pc.restore()
		return 0, "", nil, h.portalErr(l, err)
	}
	createErr := err
	existing, verdict, err := judgeCreate(c, h.s, userKind, fp, pc, createErr,
		func() (translator.PortalUser, bool, error) {
			return userKind.existing(ctx, l, translator.AsError(createErr).ExistingID,
				[]translator.PortalFilter{{Field: translator.FieldUserName, Value: nu.UserName}, {Field: translator.FieldDomain, Value: nu.Domain}},
				func(u translator.PortalUser) bool {
					return strings.EqualFold(u.UserName, nu.UserName) && strings.EqualFold(u.Domain, nu.Domain)
				})
		},
		func(u translator.PortalUser) (bool, error) {
			diff, err := l.Mapping.Diff(u, req)
			return diff.Empty(), err
		})
	switch {
	case err != nil:
		return 0, "", nil, err
	case verdict == createHidden:
		return h.restore(c, l, existing, req, login, fp)
	case verdict == createOurs:
		return h.created(c, l, existing, login, fp, translog.OutcomeReplayed)
	}
	return 0, "", nil, &translator.Error{Code: translator.EConflict, ScimType: translator.ScimUniqueness,
		Message: "a user with this userName already exists in the portal (id " + existing.GUIDUser + ")"}
}

// created records a create that the portal made (or that a retry found, or a restore) and answers 201.
func (h *users) created(c echo.Context, l *Live, u translator.PortalUser, login, fp, outcome string) (int, string, []byte, error) {
	ctx := createContext(c)
	h.s.createOutcome(c, translog.ResourceUser, outcome)
	reqOf(c).rec.SetSCIMID(u.GUIDUser)
	reqOf(c).rec.SetPortalID(u.IDUser)
	userKind.recordCreate(ctx, h.s, login, fp, u)
	res := h.render(c, l, u)
	b, err := json.Marshal(res)
	if err != nil {
		return 0, "", nil, err
	}
	reqOf(c).onDelivered = func() {
		h.s.storeErr(h.s.writeCreateRecord(ctx, store.User, login,
			store.CreateRecord{Fingerprint: fp, ID: u.GUIDUser, Delivered: true}))
	}
	return http.StatusCreated, baseURL(c) + "/Users/" + u.GUIDUser, b, nil
}

// restore brings back a user deleted in disable mode: the request's values, the deletion mark
// removed, enabled again unless the request says active false; 201 with the same id.
func (h *users) restore(c echo.Context, l *Live, u translator.PortalUser, req translator.Resource, login, fp string) (int, string, []byte, error) {
	ctx := createContext(c)
	if err := requireEndpoints(l, OpUpdateUser, OpEnableUser); err != nil {
		return 0, "", nil, err
	}
	diff, err := l.Mapping.Diff(u, req)
	if err != nil {
		return 0, "", nil, err
	}
	patch := diff.Patch
	if patch.Properties == nil {
		patch.Properties = map[string]any{}
	}
	patch.Properties[translator.DeletedProperty] = nil
	updated, err := l.Users.UpdateUser(ctx, u.IDUser, patch)
	if err != nil {
		return 0, "", nil, h.portalErr(l, err)
	}
	enable := diff.Active == nil || *diff.Active
	if enable != updated.Enabled {
		if enable {
			err = l.Users.EnableUser(ctx, u.IDUser)
		} else {
			err = l.Users.DisableUser(ctx, u.IDUser)
		}
		if err != nil {
			return 0, "", nil, h.portalErr(l, err)
		}
		updated.Enabled = enable
	}
	return h.created(c, l, updated, login, fp, translog.OutcomeRestored)
}

// patch serves PATCH /Users/{id}: every operation is validated before the first portal write; only
// what changed is written; a PATCH that changes nothing makes no portal write.
func (h *users) patch(c echo.Context) error {
	l, ctx := liveOf(c), c.Request().Context()
	ops, err := readPatch(c, l)
	if err != nil {
		return err
	}
	u, err := h.byID(ctx, l, c.Param("id"))
	if err != nil {
		return err
	}
	desired, err := translator.ApplyPatch(h.render(c, l, u), ops)
	if err != nil {
		return err
	}
	return h.update(c, l, u, desired, l.PatchStatus)
}

// replace serves PUT /Users/{id}: the body replaces the user; mapped attributes it leaves out are
// cleared.
func (h *users) replace(c echo.Context) error {
	l, ctx := liveOf(c), c.Request().Context()
	body, err := readBody(c, l.Limits.MaxBodyBytes)
	if err != nil {
		return err
	}
	desired, err := translator.ParseUser(body)
	if err != nil {
		return err
	}
	if _, _, err := l.Mapping.ToPortalUser(desired); err != nil {
		return err
	}
	u, err := h.byID(ctx, l, c.Param("id"))
	if err != nil {
		return err
	}
	return h.update(c, l, u, desired, http.StatusOK)
}

// update writes what differs between the portal user and the desired resource: updateUser for the
// fields, then disableUser or enableUser for active. A failure midway answers its status; replaying
// the request recomputes the difference and converges.
func (h *users) update(c echo.Context, l *Live, u translator.PortalUser, desired translator.Resource, okStatus int) error {
	ctx := c.Request().Context()
	rec := reqOf(c).rec
	rec.SetPortalID(u.IDUser)
	rec.SetUserName(desired.Str("userName"))
	diff, err := l.Mapping.Diff(u, desired)
	if err != nil {
		return err
	}
	rec.AddChanges(diff.Changes...)
	if diff.Empty() {
		rec.SetOutcome(translog.OutcomeUnchanged)
	}
	var needed []string
	if !diff.Patch.Empty() {
		needed = append(needed, OpUpdateUser)
	}
	if diff.Active != nil {
		needed = append(needed, activeOp(*diff.Active))
	}
	if err := requireEndpoints(l, needed...); err != nil {
		return err
	}
	if l.DryRun {
		rec.SetDryRun(true)
		rec.SetOutcome(translog.OutcomeDryRun)
		c.Response().Header().Set(HeaderDryRun, "true")
		res := desired.Clone()
		res["id"] = u.GUIDUser
		return h.answerUpdate(c, okStatus, res)
	}
	if !diff.Patch.Empty() {
		updated, err := l.Users.UpdateUser(ctx, u.IDUser, diff.Patch)
		if err != nil {
			return h.portalErr(l, err)
		}
		userKind.relookup(ctx, h.s, u, updated)
		updated.Enabled = u.Enabled
		u = updated
	}
	if diff.Active != nil {
		if *diff.Active {
			err = l.Users.EnableUser(ctx, u.IDUser)
		} else {
			err = l.Users.DisableUser(ctx, u.IDUser)
		}
		if err != nil {
			return h.portalErr(l, err)
		}
		u.Enabled = *diff.Active
	}
	if !diff.Empty() {
		rec.SetOutcome(translog.OutcomeUpdated)
	}
	return h.answerUpdate(c, okStatus, h.render(c, l, u))
}

func (h *users) answerUpdate(c echo.Context, okStatus int, res translator.Resource) error {
	if okStatus == http.StatusNoContent {
		return noContent(c)
	}
	proj, err := translator.ParseProjection(c.QueryParam("attributes"), c.QueryParam("excludedAttributes"))
	if err != nil {
		return err
	}
	return writeSCIM(c, okStatus, proj.Apply(res))
}

func activeOp(active bool) string {
	if active {
		return OpEnableUser
	}
	return OpDisableUser
}

// deleteChanges explains a DELETE in disable mode for the translation log: the user is disabled
// (unless it is already) and marked deleted.
func deleteChanges(u translator.PortalUser) []translator.FieldChange {
	var out []translator.FieldChange
	if u.Enabled {
		out = append(out, translator.FieldChange{SCIM: "active", Portal: translator.FieldEnabled, Old: true, New: false, Redact: translator.RedactKeep})
	}
	return append(out, translator.FieldChange{Portal: translator.FieldProperties + "." + translator.DeletedProperty, New: true, Redact: translator.RedactKeep})
}

// delete serves DELETE /Users/{id}: in disable mode the user is disabled, then marked deleted (in that
// order, so that a failure between the two leaves a user a retry finds and finishes); in delete mode
// the portal deletes it. The deleteUser switch freezes DELETE in both modes.
func (h *users) delete(c echo.Context) error {
	l, ctx := liveOf(c), c.Request().Context()
	needed := []string{OpDeleteUser}
	if l.OnDelete != OnDeleteDelete {
		needed = append(needed, OpDisableUser, OpUpdateUser)
	}
	if err := requireEndpoints(l, needed...); err != nil {
		return err
	}
	u, err := h.byID(ctx, l, c.Param("id"))
	if err != nil {
		return err
	}
	rec := reqOf(c).rec
	rec.SetPortalID(u.IDUser)
	rec.SetUserName(h.render(c, l, u).Str("userName"))
	if l.OnDelete != OnDeleteDelete {
		rec.AddChanges(deleteChanges(u)...)
	}
	if l.DryRun {
		rec.SetDryRun(true)
		rec.SetOutcome(translog.OutcomeDryRun)
		c.Response().Header().Set(HeaderDryRun, "true")
		return noContent(c)
	}
	if l.OnDelete == OnDeleteDelete {
		rec.SetOutcome(translog.OutcomeDeleted)
		if err := l.Users.DeleteUser(ctx, u.IDUser); err != nil && translator.ErrorCode(err) != translator.ENotFound {
			return h.portalErr(l, err)
		}
		h.s.storeErr(h.s.storeOf(ctx).ForgetPortalKey(ctx, store.User, u.GUIDUser))
	} else {
		rec.SetOutcome(translog.OutcomeDisabled)
		if u.Enabled {
			if err := l.Users.DisableUser(ctx, u.IDUser); err != nil {
				return h.portalErr(l, err)
			}
		}
		if _, err := l.Users.UpdateUser(ctx, u.IDUser, translator.Patch{Properties: map[string]any{translator.DeletedProperty: true}}); err != nil {
			return h.portalErr(l, err)
		}
	}
	userKind.forget(ctx, h.s, u)
	return noContent(c)
}

// portalErr names the SCIM attribute instead of the portal field in a value the portal rejected.
func (h *users) portalErr(l *Live, err error) error {
	e := translator.AsError(err)
	if e == nil || e.Code != translator.EInvalid || e.Target == "" {
		return err
	}
	attr := l.Mapping.SCIMAttribute(e.Target)
	if attr == "" {
		attr = e.Target
	}
	out := *e
	out.Message = "the portal refused the value of " + attr + ": " + strings.ReplaceAll(e.Message, e.Target, attr)
	out.Target = attr
	return &out
}

// requireEndpoints answers 503 with Retry-After, before any portal call, when an operation the request
// needs is switched off in config.
func requireEndpoints(l *Live, ops ...string) error {
	for _, op := range ops {
		if !l.Switches.Endpoint(op) {
			return &translator.Error{Code: translator.EUnavailable, RetryAfter: disabledRetryAfter,
				Message: fmt.Sprintf("the portal endpoint upstream.endpoints.%s is disabled in config; the request was not sent", op)}
		}
	}
	return nil
}

// paging reads startIndex (1-based; below 1 means 1) and count (negative means 0; capped at max).
func paging(c echo.Context, maxCount int) (startIndex, count int, err error) {
	startIndex, count = 1, maxCount
	if s := c.QueryParam("startIndex"); s != "" {
		if startIndex, err = strconv.Atoi(s); err != nil {
			return 0, 0, translator.Invalidf(translator.ScimInvalidValue, "startIndex %q is not a number", s)
		}
		startIndex = max(startIndex, 1)
	}
	if s := c.QueryParam("count"); s != "" {
		if count, err = strconv.Atoi(s); err != nil {
			return 0, 0, translator.Invalidf(translator.ScimInvalidValue, "count %q is not a number", s)
		}
		count = min(max(count, 0), maxCount)
	}
	return startIndex, count, nil
}

// window returns the page of all that startIndex and count select.
func window[T any](all []T, startIndex, count int) []T {
	from := startIndex - 1
	if from >= len(all) {
		return all[:0]
	}
	return all[from:min(from+count, len(all))]
}

// fingerprint identifies a create body: equal bodies, equal fingerprints.
func fingerprint(v any) string {
	b, _ := json.Marshal(v)
	return hashHex(string(b))
}

func hashHex(s string) string {
	d := sha256.Sum256([]byte(s))
	return hex.EncodeToString(d[:])
}

// createOutcome counts a create's outcome and notes it in the translation record.
func (s *Server) createOutcome(c echo.Context, resource, outcome string) {
	rq := reqOf(c)
	s.metrics.CreateOutcome(rq.tenant(), resource, outcome)
	rq.rec.SetOutcome(outcome)
}

// storeErr counts and logs a store failure: the request goes on without the cache.
func (s *Server) storeErr(err error) {
	if err == nil {
		return
	}
	s.metrics.RedisError()
	s.logger.Debug("store call failed; going on without the cache", zap.Error(err))
}

// cacheResult counts a cache lookup of the request that ctx belongs to.
func (s *Server) cacheResult(ctx context.Context, kind string, hit bool, err error) {
	s.storeErr(err)
	tenant := ""
	if rq, ok := ctx.Value(requestKey{}).(*request); ok {
		tenant = rq.tenant()
	}
	if hit {
		s.metrics.CacheHit(tenant, kind)
	} else {
		s.metrics.CacheMiss(tenant, kind)
	}
}

// storeOf is the store of the tenant of the request that ctx belongs to (its key namespace); the
// server's own store outside a request (or for a setup that names none).
func (s *Server) storeOf(ctx context.Context) *store.Store {
	if rq, ok := ctx.Value(requestKey{}).(*request); ok && rq.live != nil && rq.live.Store != nil {
		return rq.live.Store
	}
	return s.store
}

// tenantOf is the tenant of the request that ctx belongs to; empty outside a request.
func tenantOf(ctx context.Context) string {
	if rq, ok := ctx.Value(requestKey{}).(*request); ok {
		return rq.tenant()
	}
	return ""
}
