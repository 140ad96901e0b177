package portalsim

import (
	"slices"
	"time"
)

// stamp is the part of a record the store sets: its id, guid and timestamps, and its encoding. user
// and group embed it.
type stamp struct {
	id                    int64
	guid                  string
	createdOn, modifiedOn time.Time
	body                  []byte // the record as the portal returns it, built by encode
}

// stamped returns the stamp of the record that embeds s.
func (s *stamp) stamped() *stamp { return s }

// record is what a table needs of a stored record type R, through its pointer type: its stamp, its
// unique key K (folded), its filterable fields, whether two records hold the same writable state, and
// building its encodings.
type record[R any, K comparable] interface {
	stampedRecord[R]
	key() K
	field(name string) (string, bool)
	sameAs(other *R) bool
	encode()
}

// resourceErrors are the errors of one resource: an id with no record, a route key that is not an id,
// and a record whose unique key another record holds.
type resourceErrors[P any] struct {
	notFound    func(id int64) *apiError
	keyNotFound func(key string) *apiError
	exists      func(rec P, existing int64) *apiError
}

// table holds the records of one resource and their indexes: by id (with the ids in ascending order),
// by guid, by unique key, and by the folded value of each indexed filter field. It has no lock of its
// own: the store's mutex guards it.
type table[R any, P record[R, K], K comparable] struct {
	errs    resourceErrors[P]
	indexed []string // the filter fields with a (non-unique) index

	nextID  int64
	byID    map[int64]P
	ids     []int64 // ascending
	byGUID  map[string]P
	byKey   map[K]P
	byField map[string]multiIndex // filter field -> folded value -> ids
}

func newTable[R any, P record[R, K], K comparable](errs resourceErrors[P], indexed ...string) table[R, P, K] {
	t := table[R, P, K]{errs: errs, indexed: indexed}
	t.clear()
	return t
}

// clear forgets every record; ids start again at 1.
func (t *table[R, P, K]) clear() {
	t.nextID = 0
	t.byID = make(map[int64]P)
	t.ids = nil
	t.byGUID = make(map[string]P)
	t.byKey = make(map[K]P)
	t.byField = make(map[string]multiIndex, len(t.indexed))
	for _, name := range t.indexed {
		t.byField[name] = make(multiIndex)
	}
}

// index adds rec to every index but the id order.
func (t *table[R, P, K]) index(rec P) {
	s := rec.stamped()
	t.byID[s.id] = rec
	t.byGUID[s.guid] = rec
	t.byKey[rec.key()] = rec
	for _, name := range t.indexed {
		if v, ok := rec.field(name); ok {
			t.byField[name].add(fold(v), s.id)
		}
	}
}

// unindex removes rec from every index but the id map and the id order.
func (t *table[R, P, K]) unindex(rec P) {
	s := rec.stamped()
	delete(t.byGUID, s.guid)
	delete(t.byKey, rec.key())
	for _, name := range t.indexed {
		if v, ok := rec.field(name); ok {
			t.byField[name].remove(fold(v), s.id)
		}
	}
}

// create stores a new record built from in. It returns the record, or the id of the record that holds
// its key already.
func (t *table[R, P, K]) create(in P) (created P, existingID int64) {
	if other := t.byKey[in.key()]; other != nil {
		return nil, other.stamped().id
	}
	t.nextID++
	copied := *in
	rec := P(&copied)
	s := rec.stamped()
	s.id = t.nextID
	s.guid = newGUID()
	s.createdOn = now()
	s.modifiedOn = s.createdOn
	rec.encode()
	t.index(rec)
	t.ids = append(t.ids, s.id)
	return rec, 0
}

// update applies change to the record id. change returns the new record, or an error; a record equal
// to the old one is not stored. It fails with errs.notFound when there is no record id, and with
// errs.exists when the new key is another record's.
func (t *table[R, P, K]) update(id int64, change func(old P) (P, *apiError)) (P, *apiError) {
	old := t.byID[id]
	if old == nil {
		return nil, t.errs.notFound(id)
	}
	next, err := change(old)
	if err != nil {
		return nil, err
	}
	if next == nil || next.sameAs(old) {
		return old, nil
	}
	if other := t.byKey[next.key()]; other != nil && other.stamped().id != id {
		return nil, t.errs.exists(next, other.stamped().id)
	}
	s, prev := next.stamped(), old.stamped()
	s.modifiedOn = now()
	if !s.modifiedOn.After(prev.modifiedOn) {
		s.modifiedOn = prev.modifiedOn.Add(time.Millisecond)
	}
	next.encode()
	t.unindex(old)
	t.index(next)
	return next, nil
}

// remove deletes the record id; it reports whether it existed.
func (t *table[R, P, K]) remove(id int64) bool {
	rec := t.byID[id]
	if rec == nil {
		return false
	}
	t.unindex(rec)
	delete(t.byID, id)
	t.ids, _ = removeSorted(t.ids, id)
	return true
}

// records returns the records of ids, in their order.
func (t *table[R, P, K]) records(ids []int64) []P {
	out := make([]P, len(ids))
	for i, id := range ids {
		out[i] = t.byID[id]
	}
	return out
}

// list returns the records matching f (all when f is empty), ascending by id: the count of all
// matches and the page [skip, skip+top). candidates picks the ids an index gives for f, ascending, or
// reports false when f names no indexed field and the records must be scanned.
func (t *table[R, P, K]) list(f filter, skip, top int, candidates func(filter) ([]int64, bool)) (count int, page []P) {
	if len(f) == 0 {
		return len(t.ids), t.records(pageOf(t.ids, skip, top))
	}
	ids, indexed := candidates(f)
	if !indexed {
		ids = t.ids
	}
	var matches []P
	for _, id := range ids {
		if rec := t.byID[id]; rec != nil && f.matches(rec.field) {
			matches = append(matches, rec)
		}
	}
	return len(matches), pageOf(matches, skip, top)
}

// withGUID returns the id of the record with guid as a candidate list: empty when there is none.
func (t *table[R, P, K]) withGUID(guid string) []int64 { return t.idList(t.byGUID[guid]) }

// withKey returns the id of the record with unique key k as a candidate list: empty when there is none.
func (t *table[R, P, K]) withKey(k K) []int64 { return t.idList(t.byKey[k]) }

// withField returns the ids of the records whose indexed filter field name folds to value, ascending.
func (t *table[R, P, K]) withField(name, value string) []int64 { return t.byField[name].sorted(value) }

// idList returns the id of rec as a candidate list: empty when rec is nil.
func (t *table[R, P, K]) idList(rec P) []int64 {
	if rec == nil {
		return nil
	}
	return []int64{rec.stamped().id}
}

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
