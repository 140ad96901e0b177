package store

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"
)

// TestEntries: every id mapping, lookup and create record written through the typed Store comes back
// from Entries with its kind, digest and SCIM id; locks, idempotency records and foreign keys do not;
// a corrupt value is reported, not skipped.
func TestEntries(t *testing.T) {
	recordBackends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		login := NormaliseLogin("Corp", "Alice")
		must(s.RememberPortalKey(ctx, User, "guid-a", 7))
		must(s.Remember(ctx, User, Login, login, "guid-a"))
		must(s.Remember(ctx, User, ExternalID, "ext-a", "guid-a"))
		must(s.PutCreateRecord(ctx, User, login, CreateRecord{Fingerprint: "fp", ID: "guid-a", Delivered: true}))
		must(s.RememberPortalKey(ctx, Group, "guid:g", 3))
		must(s.PutCreateRecord(ctx, Group, "admins", CreateRecord{Fingerprint: "fp2"}))
		unlock, err := s.LockCreate(ctx, User, "corp\\bob", time.Minute)
		must(err)
		defer unlock()
		_, _, err = s.BeginIdempotent(ctx, "entra", "key-1", "fp")
		must(err)
		must(s.KV().Set(ctx, "other:thing", []byte("x"), 0))
		must(s.KV().Set(ctx, "id:u:guid-bad", []byte("not a number"), 0))

		var got []Entry
		must(s.Entries(ctx, func(e Entry) error {
			for _, old := range got {
				if old.Key == e.Key {
					return nil // Redis may report a key twice
				}
			}
			got = append(got, e)
			return nil
		}))
		sort.Slice(got, func(i, j int) bool { return got[i].Key < got[j].Key })
		type view struct {
			typ    EntryType
			kind   Kind
			attr   Attr
			digest string
			id     string
			key    int64
			bad    bool
		}
		want := map[string]view{
			"create:g:" + Digest("admins"): {typ: EntryCreate, kind: Group, digest: Digest("admins")},
			"create:u:" + Digest(login):    {typ: EntryCreate, kind: User, digest: Digest(login), id: "guid-a"},
			"by:u:login:" + Digest(login):  {typ: EntryLookup, kind: User, attr: Login, digest: Digest(login), id: "guid-a"},
			"by:u:ext:" + Digest("ext-a"):  {typ: EntryLookup, kind: User, attr: ExternalID, digest: Digest("ext-a"), id: "guid-a"},
			"id:u:guid-a":                  {typ: EntryPortalKey, kind: User, id: "guid-a", key: 7},
			"id:g:guid:g":                  {typ: EntryPortalKey, kind: Group, id: "guid:g", key: 3},
			"id:u:guid-bad":                {typ: EntryPortalKey, kind: User, id: "guid-bad", bad: true},
		}
		if len(got) != len(want) {
			t.Fatalf("Entries reported %d entries, want %d: %+v", len(got), len(want), got)
		}
		for _, e := range got {
			w, ok := want[e.Key]
			if !ok {
				t.Fatalf("unexpected entry %+v", e)
			}
			v := view{typ: e.Type, kind: e.Kind, attr: e.Attr, digest: e.Digest, id: e.SCIMID, key: e.PortalKey, bad: e.Err != nil}
			if v != w {
				t.Fatalf("entry %s = %+v, want %+v", e.Key, v, w)
			}
		}
	})
}

func TestEntriesNoScan(t *testing.T) {
	s := New(struct{ KV }{NewMemory()}, Options{})
	if err := s.Entries(context.Background(), func(Entry) error { return nil }); !errors.Is(err, ErrNoScan) {
		t.Fatalf("Entries on a backend without Scan: %v, want ErrNoScan", err)
	}
}
