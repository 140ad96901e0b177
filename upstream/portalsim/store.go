package portalsim

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// fold is the case-insensitive form of a string, used by every index and every filter comparison,
// so that an indexed lookup and a scan always agree.
func fold(s string) string { return strings.ToLower(s) }

// loginKey is the case-insensitive (domain, userName) of a user: unique among users.
type loginKey struct{ domain, userName string }

// multiIndex maps a folded value to the ids that have it (a non-unique index).
type multiIndex map[string]map[int64]struct{}

func (m multiIndex) add(key string, id int64) {
	ids := m[key]
	if ids == nil {
		ids = make(map[int64]struct{}, 1)
		m[key] = ids
	}
	ids[id] = struct{}{}
}

func (m multiIndex) remove(key string, id int64) {
	ids := m[key]
	delete(ids, id)
	if len(ids) == 0 {
		delete(m, key)
	}
}

// sorted returns the ids of key in ascending order.
func (m multiIndex) sorted(key string) []int64 {
	ids := m[key]
	out := make([]int64, 0, len(ids))
	for id := range ids {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// insertSorted adds id to an ascending slice unless it is there; it reports whether it added it.
func insertSorted(ids []int64, id int64) ([]int64, bool) {
	i, found := slices.BinarySearch(ids, id)
	if found {
		return ids, false
	}
	return slices.Insert(ids, i, id), true
}

// removeSorted removes id from an ascending slice; it reports whether it was there.
func removeSorted(ids []int64, id int64) ([]int64, bool) {
	i, found := slices.BinarySearch(ids, id)
	if !found {
		return ids, false
	}
	return slices.Delete(ids, i, i+1), true
}

// store holds users, groups and memberships. Records are immutable once published: a change builds a
// new record and swaps it into every index, so a reader holding a record needs no lock.
type store struct {
	mu sync.RWMutex

	nextUserID  int64
	users       map[int64]*user
	userIDs     []int64 // ascending
	usersByGUID map[string]*user
	usersByKey  map[loginKey]*user
	usersByName multiIndex // folded userName
	usersByExt  multiIndex // folded externalKey
	usersByMail multiIndex // folded contactEmail

	nextGroupID  int64
	groups       map[int64]*group
	groupIDs     []int64 // ascending
	groupsByGUID map[string]*group
	groupsByName map[string]*group // folded name
	groupsByExt  multiIndex        // folded externalKey

	members    map[int64][]int64 // idGroup -> ascending idUser
	userGroups map[int64][]int64 // idUser -> ascending idGroup
}

func newStore() *store {
	st := &store{}
	st.clear()
	return st
}

// clear forgets everything; ids start again at 1. The caller holds mu, or owns st.
func (st *store) clear() {
	st.nextUserID = 0
	st.users = make(map[int64]*user)
	st.userIDs = nil
	st.usersByGUID = make(map[string]*user)
	st.usersByKey = make(map[loginKey]*user)
	st.usersByName = make(multiIndex)
	st.usersByExt = make(multiIndex)
	st.usersByMail = make(multiIndex)
	st.nextGroupID = 0
	st.groups = make(map[int64]*group)
	st.groupIDs = nil
	st.groupsByGUID = make(map[string]*group)
	st.groupsByName = make(map[string]*group)
	st.groupsByExt = make(multiIndex)
	st.members = make(map[int64][]int64)
	st.userGroups = make(map[int64][]int64)
}

func (st *store) reset() {
	st.mu.Lock()
	st.clear()
	st.mu.Unlock()
}

// now is the portal's clock: UTC, to the millisecond.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// --- users ---

func (st *store) user(id int64) *user {
	st.mu.RLock()
	u := st.users[id]
	st.mu.RUnlock()
	return u
}

// indexUser adds u to every user index. The caller holds mu for writing.
func (st *store) indexUser(u *user) {
	st.users[u.id] = u
	st.usersByGUID[u.guid] = u
	st.usersByKey[u.key()] = u
	st.usersByName.add(fold(u.userName), u.id)
	if u.externalKey != nil {
		st.usersByExt.add(fold(*u.externalKey), u.id)
	}
	if u.contactEmail != nil {
		st.usersByMail.add(fold(*u.contactEmail), u.id)
	}
}

// unindexUser removes u from every user index but the id map and id order. The caller holds mu.
func (st *store) unindexUser(u *user) {
	delete(st.usersByGUID, u.guid)
	delete(st.usersByKey, u.key())
	st.usersByName.remove(fold(u.userName), u.id)
	if u.externalKey != nil {
		st.usersByExt.remove(fold(*u.externalKey), u.id)
	}
	if u.contactEmail != nil {
		st.usersByMail.remove(fold(*u.contactEmail), u.id)
	}
}

// createUser stores a new user built from in. It returns the user, or the id of the user that holds
// the login already.
func (st *store) createUser(in *user) (created *user, existingID int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if other := st.usersByKey[in.key()]; other != nil {
		return nil, other.id
	}
	st.nextUserID++
	u := *in
	u.id = st.nextUserID
	u.guid = newGUID()
	u.createdOn = now()
	u.modifiedOn = u.createdOn
	u.encode()
	st.indexUser(&u)
	st.userIDs = append(st.userIDs, u.id)
	return &u, 0
}

// updateUser applies change to the user id under the write lock. change returns the new record, or an
// error; a record equal to the old one is not stored. A rename onto another user's login is refused
// with that user's id.
func (st *store) updateUser(id int64, change func(old *user) (*user, *apiError)) (*user, *apiError) {
	st.mu.Lock()
	defer st.mu.Unlock()
	old := st.users[id]
	if old == nil {
		return nil, userNotFound(id)
	}
	next, err := change(old)
	if err != nil {
		return nil, err
	}
	if next == nil || next.sameAs(old) {
		return old, nil
	}
	if other := st.usersByKey[next.key()]; other != nil && other.id != id {
		return nil, userExists(next, other.id)
	}
	next.modifiedOn = now()
	if !next.modifiedOn.After(old.modifiedOn) {
		next.modifiedOn = old.modifiedOn.Add(time.Millisecond)
	}
	next.encode()
	st.unindexUser(old)
	st.indexUser(next)
	return next, nil
}

// deleteUser removes the user id and its memberships; it reports whether the user existed.
func (st *store) deleteUser(id int64) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	u := st.users[id]
	if u == nil {
		return false
	}
	st.unindexUser(u)
	delete(st.users, id)
	st.userIDs, _ = removeSorted(st.userIDs, id)
	for _, g := range st.userGroups[id] {
		st.members[g], _ = removeSorted(st.members[g], id)
		if len(st.members[g]) == 0 {
			delete(st.members, g)
		}
	}
	delete(st.userGroups, id)
	return true
}

// listUsers returns the users matching f (all when f is empty), ascending by id: the count of all
// matches and the page [skip, skip+top).
func (st *store) listUsers(f filter, skip, top int) (count int, page []*user) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if len(f) == 0 {
		ids := pageOf(st.userIDs, skip, top)
		page = make([]*user, len(ids))
		for i, id := range ids {
			page[i] = st.users[id]
		}
		return len(st.userIDs), page
	}
	var matches []*user
	collect := func(u *user) {
		if u != nil && f.matches(u.field) {
			matches = append(matches, u)
		}
	}
	switch ids, indexed := st.userCandidates(f); {
	case indexed:
		for _, id := range ids {
			collect(st.users[id])
		}
	default:
		for _, id := range st.userIDs {
			collect(st.users[id])
		}
	}
	return len(matches), pageOf(matches, skip, top)
}

// userCandidates picks the most selective index a filter names: guidUser, the login (userName and
// domain), externalKey, userName, contactEmail. It returns the candidate ids ascending, or false when
// the filter names no indexed field and the users must be scanned.
func (st *store) userCandidates(f filter) ([]int64, bool) {
	if v, ok := f.value("guidUser"); ok {
		if u := st.usersByGUID[v]; u != nil {
			return []int64{u.id}, true
		}
		return nil, true
	}
	name, hasName := f.value("userName")
	if domain, ok := f.value("domain"); ok && hasName {
		if u := st.usersByKey[loginKey{domain: domain, userName: name}]; u != nil {
			return []int64{u.id}, true
		}
		return nil, true
	}
	if v, ok := f.value("externalKey"); ok {
		return st.usersByExt.sorted(v), true
	}
	if hasName {
		return st.usersByName.sorted(name), true
	}
	if v, ok := f.value("contactEmail"); ok {
		return st.usersByMail.sorted(v), true
	}
	return nil, false
}

// groupsOfUser returns the count and a page of the groups of user id, or false if there is no such user.
func (st *store) groupsOfUser(id int64, skip, top int) (int, []*group, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if st.users[id] == nil {
		return 0, nil, false
	}
	all := st.userGroups[id]
	ids := pageOf(all, skip, top)
	page := make([]*group, len(ids))
	for i, g := range ids {
		page[i] = st.groups[g]
	}
	return len(all), page, true
}

// --- groups ---

func (st *store) group(id int64) *group {
	st.mu.RLock()
	g := st.groups[id]
	st.mu.RUnlock()
	return g
}

func (st *store) indexGroup(g *group) {
	st.groups[g.id] = g
	st.groupsByGUID[g.guid] = g
	st.groupsByName[fold(g.name)] = g
	if g.externalKey != nil {
		st.groupsByExt.add(fold(*g.externalKey), g.id)
	}
}

func (st *store) unindexGroup(g *group) {
	delete(st.groupsByGUID, g.guid)
	delete(st.groupsByName, fold(g.name))
	if g.externalKey != nil {
		st.groupsByExt.remove(fold(*g.externalKey), g.id)
	}
}

// createGroup stores a new group built from in, or returns the id of the group holding its name.
func (st *store) createGroup(in *group) (created *group, existingID int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if other := st.groupsByName[fold(in.name)]; other != nil {
		return nil, other.id
	}
	st.nextGroupID++
	g := *in
	g.id = st.nextGroupID
	g.guid = newGUID()
	g.createdOn = now()
	g.modifiedOn = g.createdOn
	g.encode()
	st.indexGroup(&g)
	st.groupIDs = append(st.groupIDs, g.id)
	return &g, 0
}

// updateGroup is updateUser for groups.
func (st *store) updateGroup(id int64, change func(old *group) (*group, *apiError)) (*group, *apiError) {
	st.mu.Lock()
	defer st.mu.Unlock()
	old := st.groups[id]
	if old == nil {
		return nil, groupNotFound(id)
	}
	next, err := change(old)
	if err != nil {
		return nil, err
	}
	if next == nil || next.sameAs(old) {
		return old, nil
	}
	if other := st.groupsByName[fold(next.name)]; other != nil && other.id != id {
		return nil, groupExists(next, other.id)
	}
	next.modifiedOn = now()
	if !next.modifiedOn.After(old.modifiedOn) {
		next.modifiedOn = old.modifiedOn.Add(time.Millisecond)
	}
	next.encode()
	st.unindexGroup(old)
	st.indexGroup(next)
	return next, nil
}

// deleteGroup removes group id and its memberships; it reports whether the group existed.
func (st *store) deleteGroup(id int64) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	g := st.groups[id]
	if g == nil {
		return false
	}
	st.unindexGroup(g)
	delete(st.groups, id)
	st.groupIDs, _ = removeSorted(st.groupIDs, id)
	for _, u := range st.members[id] {
		st.userGroups[u], _ = removeSorted(st.userGroups[u], id)
		if len(st.userGroups[u]) == 0 {
			delete(st.userGroups, u)
		}
	}
	delete(st.members, id)
	return true
}

// listGroups is listUsers for groups.
func (st *store) listGroups(f filter, skip, top int) (count int, page []*group) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if len(f) == 0 {
		ids := pageOf(st.groupIDs, skip, top)
		page = make([]*group, len(ids))
		for i, id := range ids {
			page[i] = st.groups[id]
		}
		return len(st.groupIDs), page
	}
	var candidates []int64
	switch {
	case f.has("guidGroup"):
		v, _ := f.value("guidGroup")
		if g := st.groupsByGUID[v]; g != nil {
			candidates = []int64{g.id}
		}
	case f.has("name"):
		v, _ := f.value("name")
		if g := st.groupsByName[v]; g != nil {
			candidates = []int64{g.id}
		}
	case f.has("externalKey"):
		v, _ := f.value("externalKey")
		candidates = st.groupsByExt.sorted(v)
	default:
		candidates = st.groupIDs
	}
	var matches []*group
	for _, id := range candidates {
		if g := st.groups[id]; g != nil && f.matches(g.field) {
			matches = append(matches, g)
		}
	}
	return len(matches), pageOf(matches, skip, top)
}

// --- memberships ---

// addMember makes user a member of group; it is a no-op when it is one already.
func (st *store) addMember(groupID, userID int64) *apiError {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.groups[groupID] == nil {
		return groupNotFound(groupID)
	}
	if st.users[userID] == nil {
		return userNotFound(userID)
	}
	var added bool
	st.members[groupID], added = insertSorted(st.members[groupID], userID)
	if added {
		st.userGroups[userID], _ = insertSorted(st.userGroups[userID], groupID)
	}
	return nil
}

// removeMember ends a membership.
func (st *store) removeMember(groupID, userID int64) *apiError {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.groups[groupID] == nil {
		return groupNotFound(groupID)
	}
	if st.users[userID] == nil {
		return userNotFound(userID)
	}
	var removed bool
	st.members[groupID], removed = removeSorted(st.members[groupID], userID)
	if !removed {
		return newError(404, CodeNotAMember, "idUser", "user %d is not a member of group %d", userID, groupID)
	}
	if len(st.members[groupID]) == 0 {
		delete(st.members, groupID)
	}
	st.userGroups[userID], _ = removeSorted(st.userGroups[userID], groupID)
	if len(st.userGroups[userID]) == 0 {
		delete(st.userGroups, userID)
	}
	return nil
}

// membersOf returns the count and a page of the members of group id, or false if there is no such group.
func (st *store) membersOf(id int64, skip, top int) (int, []*user, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if st.groups[id] == nil {
		return 0, nil, false
	}
	all := st.members[id]
	ids := pageOf(all, skip, top)
	page := make([]*user, len(ids))
	for i, u := range ids {
		page[i] = st.users[u]
	}
	return len(all), page, true
}

// pageOf returns items[skip:skip+top], clamped.
func pageOf[T any](items []T, skip, top int) []T {
	if skip >= len(items) || top <= 0 {
		return nil
	}
	end := len(items)
	if top < end-skip {
		end = skip + top
	}
	return items[skip:end]
}
