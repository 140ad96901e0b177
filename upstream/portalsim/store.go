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

// links maps an id to an ascending list of the ids it is linked to; an id with no link has no entry.
type links map[int64][]int64

// add links from to to; it reports whether the link is new.
func (l links) add(from, to int64) bool {
	var added bool
	l[from], added = insertSorted(l[from], to)
	return added
}

// remove ends the link from from to to; it reports whether there was one.
func (l links) remove(from, to int64) bool {
	ids, removed := removeSorted(l[from], to)
	if len(ids) == 0 {
		delete(l, from)
	} else {
		l[from] = ids
	}
	return removed
}

// drop ends every link of id, and the links back to it in back.
func (l links) drop(id int64, back links) {
	for _, other := range l[id] {
		back.remove(other, id)
	}
	delete(l, id)
}

// store holds users, groups and memberships. Records are immutable once published: a change builds a
// new record and swaps it into every index, so a reader holding a record needs no lock.
type store struct {
	mu sync.RWMutex

	users      table[user, *user, loginKey] // indexed also by folded userName, externalKey, contactEmail
	groups     table[group, *group, string] // unique by folded name; indexed also by folded externalKey
	members    links                        // idGroup -> ascending idUser
	userGroups links                        // idUser -> ascending idGroup
}

func newStore() *store {
	return &store{
		users:      newTable[user](userErrors, "userName", "externalKey", "contactEmail"),
		groups:     newTable[group](groupErrors, "externalKey"),
		members:    make(links),
		userGroups: make(links),
	}
}

// reset forgets everything; ids start again at 1.
func (st *store) reset() {
	st.mu.Lock()
	st.users.clear()
	st.groups.clear()
	st.members = make(links)
	st.userGroups = make(links)
	st.mu.Unlock()
}

// now is the portal's clock: UTC, to the millisecond.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// --- users ---

func (st *store) user(id int64) *user {
	st.mu.RLock()
	u := st.users.byID[id]
	st.mu.RUnlock()
	return u
}

// createUser stores a new user built from in. It returns the user, or the id of the user that holds
// the login already.
func (st *store) createUser(in *user) (created *user, existingID int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.users.create(in)
}

// updateUser applies change to the user id under the write lock. change returns the new record, or an
// error; a record equal to the old one is not stored. An unknown id is USER_NOT_FOUND; a rename onto
// another user's login is refused with that user's id.
func (st *store) updateUser(id int64, change func(old *user) (*user, *apiError)) (*user, *apiError) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.users.update(id, change)
}

// deleteUser removes the user id and its memberships; it reports whether the user existed.
func (st *store) deleteUser(id int64) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.users.remove(id) {
		return false
	}
	st.userGroups.drop(id, st.members)
	return true
}

// listUsers returns the users matching f (all when f is empty), ascending by id: the count of all
// matches and the page [skip, skip+top).
func (st *store) listUsers(f filter, skip, top int) (count int, page []*user) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.users.list(f, skip, top, st.userCandidates)
}

// userCandidates picks the most selective index a filter names: guidUser, the login (userName and
// domain), externalKey, userName, contactEmail. It returns the candidate ids ascending, or false when
// the filter names no indexed field and the users must be scanned. The caller holds mu.
func (st *store) userCandidates(f filter) ([]int64, bool) {
	if v, ok := f.value("guidUser"); ok {
		return st.users.withGUID(v), true
	}
	name, hasName := f.value("userName")
	if domain, ok := f.value("domain"); ok && hasName {
		return st.users.withKey(loginKey{domain: domain, userName: name}), true
	}
	if v, ok := f.value("externalKey"); ok {
		return st.users.withField("externalKey", v), true
	}
	if hasName {
		return st.users.withField("userName", name), true
	}
	if v, ok := f.value("contactEmail"); ok {
		return st.users.withField("contactEmail", v), true
	}
	return nil, false
}

// groupsOfUser returns the count and a page of the groups of user id, or false if there is no such user.
func (st *store) groupsOfUser(id int64, skip, top int) (int, []*group, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if st.users.byID[id] == nil {
		return 0, nil, false
	}
	all := st.userGroups[id]
	return len(all), st.groups.records(pageOf(all, skip, top)), true
}

// --- groups ---

func (st *store) group(id int64) *group {
	st.mu.RLock()
	g := st.groups.byID[id]
	st.mu.RUnlock()
	return g
}

// createGroup stores a new group built from in, or returns the id of the group holding its name.
func (st *store) createGroup(in *group) (created *group, existingID int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.groups.create(in)
}

// updateGroup is updateUser for groups: GROUP_NOT_FOUND, and a rename onto another group's name is
// refused with that group's id.
func (st *store) updateGroup(id int64, change func(old *group) (*group, *apiError)) (*group, *apiError) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.groups.update(id, change)
}

// deleteGroup removes group id and its memberships; it reports whether the group existed.
func (st *store) deleteGroup(id int64) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.groups.remove(id) {
		return false
	}
	st.members.drop(id, st.userGroups)
	return true
}

// listGroups is listUsers for groups.
func (st *store) listGroups(f filter, skip, top int) (count int, page []*group) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.groups.list(f, skip, top, st.groupCandidates)
}

// groupCandidates picks the index a group filter names: guidGroup, name, externalKey. The caller
// holds mu.
func (st *store) groupCandidates(f filter) ([]int64, bool) {
	if v, ok := f.value("guidGroup"); ok {
		return st.groups.withGUID(v), true
	}
	if v, ok := f.value("name"); ok {
		return st.groups.withKey(v), true
	}
	if v, ok := f.value("externalKey"); ok {
		return st.groups.withField("externalKey", v), true
	}
	return nil, false
}

// --- memberships ---

// addMember makes user a member of group; it is a no-op when it is one already.
func (st *store) addMember(groupID, userID int64) *apiError {
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.checkMembership(groupID, userID); err != nil {
		return err
	}
	if st.members.add(groupID, userID) {
		st.userGroups.add(userID, groupID)
	}
	return nil
}

// removeMember ends a membership.
func (st *store) removeMember(groupID, userID int64) *apiError {
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.checkMembership(groupID, userID); err != nil {
		return err
	}
	if !st.members.remove(groupID, userID) {
		return newError(404, CodeNotAMember, "idUser", "user %d is not a member of group %d", userID, groupID)
	}
	st.userGroups.remove(userID, groupID)
	return nil
}

// checkMembership checks that both ends of a membership exist, the group first. The caller holds mu.
func (st *store) checkMembership(groupID, userID int64) *apiError {
	if st.groups.byID[groupID] == nil {
		return groupNotFound(groupID)
	}
	if st.users.byID[userID] == nil {
		return userNotFound(userID)
	}
	return nil
}

// membersOf returns the count and a page of the members of group id, or false if there is no such group.
func (st *store) membersOf(id int64, skip, top int) (int, []*user, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if st.groups.byID[id] == nil {
		return 0, nil, false
	}
	all := st.members[id]
	return len(all), st.users.records(pageOf(all, skip, top)), true
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
