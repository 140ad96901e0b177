package gateway

import (
	"fmt"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/gateway/store"
)

func TestLocalCreatesBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLocalCreates(3, time.Hour)
	l.now = func() time.Time { return now }
	for i := range 5 {
		l.put(store.User, fmt.Sprint("login", i), store.CreateRecord{Fingerprint: fmt.Sprint("fp", i)})
	}
	for i, want := range []bool{false, false, true, true, true} {
		rec, ok := l.get(store.User, fmt.Sprint("login", i))
		if ok != want || (ok && rec.Fingerprint != fmt.Sprint("fp", i)) {
			t.Fatalf("login%d: (%v, %v), want present %v (the oldest go first past the bound)", i, rec, ok, want)
		}
	}
	if _, ok := l.get(store.Group, "login4"); ok {
		t.Fatal("a group record answers for a user's")
	}
	l.del(store.User, "login4")
	if _, ok := l.get(store.User, "login4"); ok {
		t.Fatal("a dropped record is still there")
	}
	now = now.Add(2 * time.Hour)
	if _, ok := l.get(store.User, "login3"); ok {
		t.Fatal("an expired record is still there")
	}
	for i := range 100 { // churn: the eviction order stays bounded
		l.put(store.User, "again", store.CreateRecord{})
		l.del(store.User, "again")
		l.put(store.User, fmt.Sprint("churn", i), store.CreateRecord{})
	}
	if len(l.entries) > 3 || len(l.order) > 2*3+1 {
		t.Fatalf("%d entries, %d keys in order, want at most 3 and 7", len(l.entries), len(l.order))
	}
}
