package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/gateway/translog"
	"github.com/scim-gateway/scim-gateway/translator"
)

// rememberAtMost bounds how many matches of one filter are written to the lookup cache: a short
// answer is what Entra's matching queries return; a long scan is not worth a burst of cache writes.
const rememberAtMost = 10

// resourceKind describes one SCIM resource type over its portal record type P, for the read paths
// that users and groups share: lookup by SCIM id through the cached portal key, answering a filter
// from the lookup cache, the bounded scan behind any other filter, and the cache upkeep.
type resourceKind[P any] struct {
	noun       string // "user" or "group": in messages and cache metric labels
	resource   string // translog.ResourceUser or translog.ResourceGroup
	keyAttr    string // the SCIM attribute creates are keyed on: userName, displayName
	storeKind  store.Kind
	guidField  string // the portal field that holds the SCIM id
	narrowHint string // what narrows a filter, for the tooMany detail

	get  func(ctx context.Context, l *Live, key int64) (P, error)
	list func(ctx context.Context, l *Live, filter []translator.PortalFilter, page translator.Page) ([]P, int, error)
	guid func(P) string
	key  func(P) int64
	// hidden reports a record the gateway treats as absent (a user deleted in disable mode); nil: none.
	hidden func(P) bool
	// hiddenAmong are portal terms every hidden record matches (a deleted user is disabled), so that
	// finding the hidden records scans those only.
	hiddenAmong []translator.PortalFilter
	// lookups returns the cached lookup values of a record: its normalised login (or name) and externalId.
	lookups func(P) (login, ext string)
	// lookupKey finds in the portal terms of a filter plan the key of a cached lookup.
	lookupKey func(push []translator.PortalFilter) (store.Attr, string)
}

// disabledUsers are the portal terms of the disabled users, among which are the users deleted
// through SCIM in disable mode.
var disabledUsers = []translator.PortalFilter{{Field: translator.FieldEnabled, Value: false}}

var userKind = &resourceKind[translator.PortalUser]{
	noun:       "user",
	resource:   translog.ResourceUser,
	keyAttr:    "userName",
	storeKind:  store.User,
	guidField:  translator.FieldGUIDUser,
	narrowHint: "userName, externalId or another filterable attribute",
	get: func(ctx context.Context, l *Live, key int64) (translator.PortalUser, error) {
		return l.Users.GetUser(ctx, key)
	},
	list: func(ctx context.Context, l *Live, f []translator.PortalFilter, page translator.Page) ([]translator.PortalUser, int, error) {
		list, err := l.Users.ListUsers(ctx, f, page)
		return list.Users, list.Count, err
	},
	guid:        func(u translator.PortalUser) string { return u.GUIDUser },
	key:         func(u translator.PortalUser) int64 { return u.IDUser },
	hidden:      isDeleted,
	hiddenAmong: disabledUsers,
	lookups: func(u translator.PortalUser) (string, string) {
		return store.NormaliseLogin(u.Domain, u.UserName), u.ExternalKey
	},
	lookupKey: lookupKey,
}

var groupKind = &resourceKind[translator.PortalGroup]{
	noun:       "group",
	resource:   translog.ResourceGroup,
	keyAttr:    "displayName",
	storeKind:  store.Group,
	guidField:  translator.FieldGUIDGroup,
	narrowHint: "displayName or externalId",
	get: func(ctx context.Context, l *Live, key int64) (translator.PortalGroup, error) {
		return l.Groups.GetGroup(ctx, key)
	},
	list: func(ctx context.Context, l *Live, f []translator.PortalFilter, page translator.Page) ([]translator.PortalGroup, int, error) {
		list, err := l.Groups.ListGroups(ctx, f, page)
		return list.Groups, list.Count, err
	},
	guid:      func(g translator.PortalGroup) string { return g.GUIDGroup },
	key:       func(g translator.PortalGroup) int64 { return g.IDGroup },
	lookups:   func(g translator.PortalGroup) (string, string) { return strings.ToLower(g.Name), g.ExternalKey },
	lookupKey: groupLookupKey,
}

func (k *resourceKind[P]) notFound(id string) error {
	return translator.Errorf(translator.ENotFound, "no %s with id %q", k.noun, id)
}

func (k *resourceKind[P]) isHidden(p P) bool { return k.hidden != nil && k.hidden(p) }

// byID finds the portal record behind a SCIM id: one get through the cached portal key, or a list on
// the guid field when the cache is cold or stale. A hidden record is not found.
func (k *resourceKind[P]) byID(ctx context.Context, s *Server, l *Live, id string) (P, error) {
	var zero P
	if id == "" || strings.HasPrefix(id, dryRunPrefix) {
		return zero, k.notFound(id)
	}
	key, hit, err := s.storeOf(ctx).PortalKey(ctx, k.storeKind, id)
	s.cacheResult(ctx, k.noun+"_id", hit, err)
	if hit {
		p, err := k.get(ctx, l, key)
		switch {
		case err == nil && k.guid(p) == id:
			if k.isHidden(p) {
				return zero, k.notFound(id)
			}
			return p, nil
		case err == nil || translator.ErrorCode(err) == translator.ENotFound:
			s.storeErr(s.storeOf(ctx).ForgetPortalKey(ctx, k.storeKind, id))
		default:
			return zero, err
		}
	}
	items, _, err := k.list(ctx, l, []translator.PortalFilter{{Field: k.guidField, Value: id}}, translator.Page{Top: 2})
	if err != nil {
		return zero, err
	}
	for _, p := range items {
		if k.guid(p) == id {
			k.remember(ctx, s, p)
			if k.isHidden(p) {
				return zero, k.notFound(id)
			}
			return p, nil
		}
	}
	return zero, k.notFound(id)
}

// page lists one page of all records. The records that may be hidden (disabled users) are scanned
// first: when none is hidden (one portal call, usually) the portal's own page is exact; when some are,
// every record is scanned and the page cut from the visible ones, so totalResults, itemsPerPage and
// the next startIndex agree. Only beyond limits.maxScan records is the portal's page answered with its
// hidden records dropped (fewer than count resources, totalResults still counting them): Entra never
// lists without a filter.
func (k *resourceKind[P]) page(ctx context.Context, l *Live, startIndex, count int) ([]P, int, error) {
	if k.hidden != nil {
		n, ok, err := k.hiddenCount(ctx, l)
		if err != nil {
			return nil, 0, err
		}
		if ok && n > 0 {
			all, err := k.scan(ctx, l, nil, func(P) (bool, error) { return true, nil })
			if err == nil {
				return window(all, startIndex, count), len(all), nil
			}
			if e := translator.AsError(err); e == nil || e.ScimType != translator.ScimTooMany {
				return nil, 0, err
			}
		}
	}
	items, total, err := k.list(ctx, l, nil, translator.Page{Top: count, Skip: startIndex - 1})
	if err != nil {
		return nil, 0, err
	}
	out := items[:0]
	for _, p := range items {
		if !k.isHidden(p) {
			out = append(out, p)
		}
	}
	return out, total, nil
}

// hiddenCount counts the hidden records, scanning those that match hiddenAmong; ok is false when they
// are more than limits.maxScan.
func (k *resourceKind[P]) hiddenCount(ctx context.Context, l *Live) (n int, ok bool, err error) {
	for skip := 0; ; {
		items, total, err := k.list(ctx, l, k.hiddenAmong, translator.Page{Top: portalPageSize, Skip: skip})
		if err != nil {
			return 0, false, err
		}
		if total > l.Limits.MaxScan {
			return 0, false, nil
		}
		for _, p := range items {
			if k.isHidden(p) {
				n++
			}
		}
		skip += len(items)
		if len(items) == 0 || skip >= total {
			return n, true, nil
		}
	}
}

// filter returns every record that matches a filter: from the cache through one get when the plan's
// portal terms name a cached login or externalId (whole checks the full filter on it), else from the
// portal's $filter (push) and the gateway's evaluation of the rest (residual) over a bounded scan.
func (k *resourceKind[P]) filter(ctx context.Context, s *Server, l *Live, push []translator.PortalFilter,
	whole, residual func(P) (bool, error)) ([]P, error) {
	if found, ok, err := k.cachedMatch(ctx, s, l, push, whole); err != nil || ok {
		return found, err
	}
	matched, err := k.scan(ctx, l, push, residual)
	if err != nil {
		return nil, err
	}
	if len(matched) <= rememberAtMost {
		for _, p := range matched {
			k.remember(ctx, s, p)
		}
	}
	return matched, nil
}

// cachedMatch answers a filter naming a login (or group name) or externalId from the cache: the cached
// SCIM id, one get, and the full filter checked against what the portal returned. ok is false when the
// cache cannot answer (a miss, or a record renamed since it was cached: the old name must not match).
func (k *resourceKind[P]) cachedMatch(ctx context.Context, s *Server, l *Live, push []translator.PortalFilter,
	matches func(P) (bool, error)) ([]P, bool, error) {
	attr, value := k.lookupKey(push)
	if attr == "" {
		return nil, false, nil
	}
	id, hit, err := s.storeOf(ctx).Lookup(ctx, k.storeKind, attr, value)
	s.cacheResult(ctx, k.noun+"_"+string(attr), hit, err)
	if !hit {
		return nil, false, nil
	}
	p, err := k.byID(ctx, s, l, id)
	if translator.ErrorCode(err) == translator.ENotFound {
		s.storeErr(s.storeOf(ctx).Forget(ctx, k.storeKind, attr, value))
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if k.lookupValue(attr, p) != value {
		s.storeErr(s.storeOf(ctx).Forget(ctx, k.storeKind, attr, value))
		return nil, false, nil
	}
	ok, err := matches(p)
	switch {
	case err != nil:
		return nil, false, err
	case ok:
		return []P{p}, true, nil
	default:
		return []P{}, true, nil
	}
}

// lookupValue is the value of a cached lookup attribute in a record.
func (k *resourceKind[P]) lookupValue(attr store.Attr, p P) string {
	login, ext := k.lookups(p)
	if attr == store.Login {
		return login
	}
	return ext
}

// scan pages through the records that match push (all of them when push is empty) and keeps those
// keep accepts and that are not hidden. More candidates than limits.maxScan is 400 tooMany.
func (k *resourceKind[P]) scan(ctx context.Context, l *Live, push []translator.PortalFilter, keep func(P) (bool, error)) ([]P, error) {
	out := []P{}
	for skip := 0; ; {
		items, total, err := k.list(ctx, l, push, translator.Page{Top: portalPageSize, Skip: skip})
		if err != nil {
			return nil, err
		}
		if total > l.Limits.MaxScan {
			return nil, translator.Invalidf(translator.ScimTooMany,
				"the filter leaves %d portal %ss to evaluate, more than limits.maxScan (%d): narrow it with %s",
				total, k.noun, l.Limits.MaxScan, k.narrowHint)
		}
		for _, p := range items {
			if k.isHidden(p) {
				continue
			}
			ok, err := keep(p)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, p)
			}
		}
		skip += len(items)
		if len(items) == 0 || skip >= total {
			return out, nil
		}
	}
}

// remember caches the lookups of a record: its portal key, login (or name) and externalId.
func (k *resourceKind[P]) remember(ctx context.Context, s *Server, p P) {
	s.storeAll(k.rememberCalls(ctx, s, p)...)
}

func (k *resourceKind[P]) rememberCalls(ctx context.Context, s *Server, p P) []func() error {
	id := k.guid(p)
	login, ext := k.lookups(p)
	return []func() error{
		func() error { return s.storeOf(ctx).RememberPortalKey(ctx, k.storeKind, id, k.key(p)) },
		func() error { return s.storeOf(ctx).Remember(ctx, k.storeKind, store.Login, login, id) },
		func() error { return s.storeOf(ctx).Remember(ctx, k.storeKind, store.ExternalID, ext, id) },
	}
}

// recordCreate writes, at once, the create record of a create that is about to answer 201 (its 201 not
// delivered yet) and the record's lookups.
func (k *resourceKind[P]) recordCreate(ctx context.Context, s *Server, key, fp string, p P) {
	s.storeAll(append(k.rememberCalls(ctx, s, p), func() error {
		return s.writeCreateRecord(ctx, k.storeKind, key, store.CreateRecord{Fingerprint: fp, ID: k.guid(p)})
	})...)
}

// storeAll runs independent store calls concurrently (one round trip instead of one each) and counts
// their failures; the request goes on without the cache.
func (s *Server) storeAll(calls ...func() error) {
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, call := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = call()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		s.storeErr(err)
	}
}

// forget drops the login (or name) and externalId lookups of a record (deleted or renamed).
func (k *resourceKind[P]) forget(ctx context.Context, s *Server, p P) {
	login, ext := k.lookups(p)
	s.storeErr(s.storeOf(ctx).Forget(ctx, k.storeKind, store.Login, login))
	s.storeErr(s.storeOf(ctx).Forget(ctx, k.storeKind, store.ExternalID, ext))
}

// relookup keeps the lookup cache right after an update: a rename or a new externalId moves them.
func (k *resourceKind[P]) relookup(ctx context.Context, s *Server, before, after P) {
	l1, e1 := k.lookups(before)
	l2, e2 := k.lookups(after)
	if l1 != l2 || e1 != e2 {
		k.forget(ctx, s, before)
		k.remember(ctx, s, after)
	}
}

// existing reads the record a create collided with: by the portal's existingIdUser/existingIdGroup,
// else by the login (or name) terms, keeping the one same accepts.
func (k *resourceKind[P]) existing(ctx context.Context, l *Live, key int64, terms []translator.PortalFilter, same func(P) bool) (P, bool, error) {
	var zero P
	if key != 0 {
		p, err := k.get(ctx, l, key)
		if err == nil {
			return p, true, nil
		}
		if translator.ErrorCode(err) != translator.ENotFound {
			return zero, false, err
		}
	}
	items, _, err := k.list(ctx, l, terms, translator.Page{Top: 2})
	if err != nil {
		return zero, false, err
	}
	for _, p := range items {
		if same(p) {
			return p, true, nil
		}
	}
	return zero, false, nil
}

// readPatch reads and parses a PATCH request body, at most limits.maxOperations operations.
func readPatch(c echo.Context, l *Live) ([]translator.PatchOp, error) {
	body, err := readBody(c, l.Limits.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	ops, err := translator.ParsePatchRequest(body)
	if err != nil {
		return nil, err
	}
	if len(ops) > l.Limits.MaxOperations {
		return nil, translator.Invalidf(translator.ScimTooMany, "%d operations in one PATCH, more than limits.maxOperations (%d)", len(ops), l.Limits.MaxOperations)
	}
	return ops, nil
}

// createVerdict is what a create that met a conflict or an unknown outcome found in the portal.
type createVerdict int

const (
	// createOurs: the existing record is this create's own (an unknown outcome that did happen, or an
	// earlier create of the same body whose 201 never reached the client): answer 201 with it.
	createOurs createVerdict = iota + 1
	// createConflict: someone else's record, or one whose 201 was delivered: answer 409.
	createConflict
	// createHidden: a record deleted in disable mode: restore it.
	createHidden
)

// judgeCreate applies DESIGN.md's create rule after the portal create failed with a conflict or an
// unknown outcome (createErr): find reads the existing record, same compares it with the request, pc
// is the create's pending record (and the record of the create before it). After an unknown outcome
// the pending record stays whenever the answer is not 201 (the lookup failed, or the portal shows no
// record yet), so that a retry that meets the record later gets its 201. After a conflict whose
// record cannot be read (503) or is someone else's (409), the previous record is put back.
func judgeCreate[P any](c echo.Context, s *Server, k *resourceKind[P], fp string, pc *pendingCreate,
	createErr error, find func() (P, bool, error), same func(P) (bool, error)) (P, createVerdict, error) {
	ctx := createContext(c)
	var zero P
	unknown := translator.ErrorCode(createErr) == translator.EOutcomeUnknown
	existing, found, err := find()
	if err != nil {
		if !unknown {
			pc.restore()
		}
		return zero, 0, err
	}
	if !found {
		if unknown {
			return zero, 0, createErr
		}
		pc.restore()
		return zero, 0, &translator.Error{Code: translator.EUnavailable, RetryAfter: 5 * time.Second, Err: createErr,
			Message: fmt.Sprintf("the portal reports a conflict for this %s but the existing %s cannot be read; retry later", k.keyAttr, k.noun)}
	}
	if k.isHidden(existing) {
		return existing, createHidden, nil
	}
	eq, err := same(existing)
	if err != nil {
		pc.restore()
		return zero, 0, err
	}
	prev, hasPrev := pc.previous()
	ours := unknown || (hasPrev && !prev.Delivered && prev.Fingerprint == fp && (prev.ID == "" || prev.ID == k.guid(existing)))
	if eq && ours {
		return existing, createOurs, nil
	}
	pc.restore()
	k.remember(ctx, s, existing)
	s.createOutcome(c, k.resource, translog.OutcomeConflict)
	reqOf(c).rec.SetSCIMID(k.guid(existing))
	return existing, createConflict, nil
}

// serveGet answers GET /{Resource}/{id}: the record found by find, rendered by resource under the
// request's attributes/excludedAttributes.
func serveGet[P any](c echo.Context, find func(ctx context.Context, id string) (P, error),
	resource func(P, translator.Projection) (translator.Resource, error)) error {
	proj, err := translator.ParseProjection(c.QueryParam("attributes"), c.QueryParam("excludedAttributes"))
	if err != nil {
		return err
	}
	p, err := find(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	res, err := resource(p, proj)
	if err != nil {
		return err
	}
	return writeSCIM(c, http.StatusOK, res)
}

// serveList answers GET /{Resource}: without a filter one page straight from the portal (all);
// with one, every match (filter) windowed by startIndex and count. A filter that cannot be answered
// fails with its status, never an empty 200.
func serveList[P any](c echo.Context, l *Live,
	all func(ctx context.Context, startIndex, count int) ([]P, int, error),
	filter func(translator.Filter) ([]P, error),
	resource func(P, translator.Projection) (translator.Resource, error)) error {
	startIndex, count, err := paging(c, l.Limits.MaxPageSize)
	if err != nil {
		return err
	}
	proj, err := translator.ParseProjection(c.QueryParam("attributes"), c.QueryParam("excludedAttributes"))
	if err != nil {
		return err
	}
	var page []P
	var total int
	if raw := strings.TrimSpace(c.QueryParam("filter")); raw == "" {
		if page, total, err = all(c.Request().Context(), startIndex, count); err != nil {
			return err
		}
	} else {
		f, err := translator.ParseFilter(raw)
		if err != nil {
			return err
		}
		matched, err := filter(f)
		if err != nil {
			return err
		}
		total, page = len(matched), window(matched, startIndex, count)
	}
	resources := make([]translator.Resource, 0, len(page))
	for _, p := range page {
		res, err := resource(p, proj)
		if err != nil {
			return err
		}
		resources = append(resources, res)
	}
	return writeSCIM(c, http.StatusOK, map[string]any{
		"schemas":      []string{SchemaListResponse},
		"totalResults": total,
		"itemsPerPage": len(resources),
		"startIndex":   startIndex,
		"Resources":    resources,
	})
}
