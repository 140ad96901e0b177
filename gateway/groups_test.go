package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/translator"
)

func TestBounded(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name      string
		n, limit  int
		failAt    int // -1: never
		wantCalls int
		wantErr   error
		// hold: every call but failAt's waits until the failure is recorded, so that no slot frees
		// before it, whichever goroutine runs first; wantCalls is then the most that may start.
		hold bool
	}{
		{"none", 0, 4, -1, 0, nil, false},
		{"all succeed", 100, 4, -1, 100, nil, false},
		{"limit 1 stops at the first failure", 10, 1, 2, 3, boom, false},
		{"limit above n", 3, 16, -1, 3, nil, false},
		{"failure with calls in flight", 100, 8, 5, 8, boom, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls, inFlight, peak, finished atomic.Int64
			var seenMu sync.Mutex
			seen := map[int]bool{}
			failed := make(chan struct{})
			err := boundedNotify(context.Background(), tc.n, tc.limit, func(ctx context.Context, i int) error {
				calls.Add(1)
				now := inFlight.Add(1)
				defer inFlight.Add(-1)
				for {
					p := peak.Load()
					if now <= p || peak.CompareAndSwap(p, now) {
						break
					}
				}
				seenMu.Lock()
				if seen[i] {
					t.Errorf("index %d called twice", i)
				}
				seen[i] = true
				seenMu.Unlock()
				if i == tc.failAt {
					return boom
				}
				if tc.hold {
					<-failed
					if ctx.Err() != nil {
						t.Errorf("call %d: its context ended after the failure; calls in flight must run to their end", i)
					}
				}
				finished.Add(1)
				return nil
			}, func() { close(failed) })
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			switch got := calls.Load(); {
			case tc.hold:
				// The calls up to failAt start in order, and no call may start once a slot frees after
				// the failure (the held calls free none before it): between failAt+1 and wantCalls,
				// fewer when the failure is recorded before the dispatcher started the calls after it.
				if got < int64(tc.failAt+1) || got > int64(tc.wantCalls) {
					t.Fatalf("calls = %d, want %d to %d", got, tc.failAt+1, tc.wantCalls)
				}
			case got != int64(tc.wantCalls):
				t.Fatalf("calls = %d, want %d", got, tc.wantCalls)
			}
			if tc.failAt >= 0 && finished.Load() != calls.Load()-1 {
				t.Fatalf("%d of the %d other calls finished before bounded returned", finished.Load(), calls.Load()-1)
			}
			if tc.wantErr != nil && calls.Load() >= int64(tc.n) {
				t.Fatalf("calls = %d: every call started after a failure", calls.Load())
			}
			if peak.Load() > int64(tc.limit) {
				t.Fatalf("%d calls in flight, limit %d", peak.Load(), tc.limit)
			}
		})
	}
}

func TestBoundedCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	err := bounded(ctx, 10, 1, func(context.Context, int) error {
		if calls.Add(1) == 2 {
			cancel()
		}
		return nil
	})
	if translator.ErrorCode(err) != translator.EUnavailable {
		t.Fatalf("error = %v, want EUnavailable", err)
	}
	if calls.Load() != 2 {
		t.Fatalf("calls = %d, want 2", calls.Load())
	}
}

func TestUnknownMembers(t *testing.T) {
	many := make([]string, 12)
	for i := range many {
		many[i] = "id-" + string(rune('a'+i))
	}
	tests := []struct {
		name     string
		ids      []string
		contains []string
		absent   []string
	}{
		{"one", []string{"u-1"}, []string{`a member id that is not a provisioned user: "u-1"`}, nil},
		{"two", []string{"u-1", "u-2"}, []string{`member ids that are`, `"u-1", "u-2"`}, []string{"more"}},
		{"more than are named", many, []string{`"id-a"`, `"id-j"`, "and 2 more"}, []string{`"id-k"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := translator.AsError(unknownMembers(tc.ids))
			if e == nil || e.Code != translator.EInvalid || e.ScimType != translator.ScimInvalidValue || e.Target != "members" {
				t.Fatalf("error = %#v", e)
			}
			for _, s := range tc.contains {
				if !strings.Contains(e.Message, s) {
					t.Fatalf("message %q does not contain %q", e.Message, s)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(e.Message, s) {
					t.Fatalf("message %q contains %q", e.Message, s)
				}
			}
		})
	}
}

func TestGroupLookupKey(t *testing.T) {
	tests := []struct {
		name      string
		push      []translator.PortalFilter
		wantAttr  store.Attr
		wantValue string
	}{
		{"none", nil, "", ""},
		{"name, lower-cased", []translator.PortalFilter{{Field: translator.FieldName, Value: "Sales"}}, store.Login, "sales"},
		{"externalKey, exact", []translator.PortalFilter{{Field: translator.FieldExternalKey, Value: "Ext-1"}}, store.ExternalID, "Ext-1"},
		{"name wins over externalKey", []translator.PortalFilter{
			{Field: translator.FieldExternalKey, Value: "Ext-1"}, {Field: translator.FieldName, Value: "Sales"}}, store.Login, "sales"},
		{"guid is not a lookup", []translator.PortalFilter{{Field: translator.FieldGUIDGroup, Value: "g"}}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			attr, value := groupLookupKey(tc.push)
			if attr != tc.wantAttr || value != tc.wantValue {
				t.Fatalf("got (%q, %q), want (%q, %q)", attr, value, tc.wantAttr, tc.wantValue)
			}
		})
	}
}

// disabledPortal holds disabled users 1..n (every third one deleted through SCIM) and counts the
// reads deletedAmong makes.
type disabledPortal struct {
	UserPortal
	n           int
	lists, gets atomic.Int64
}

func (p *disabledPortal) user(id int64) translator.PortalUser {
	u := translator.PortalUser{IDUser: id, GUIDUser: fmt.Sprint("u-", id)}
	if id%3 == 0 {
		u.Properties = map[string]any{translator.DeletedProperty: true}
	}
	return u
}

func (p *disabledPortal) ListUsers(_ context.Context, f []translator.PortalFilter, page translator.Page) (translator.UserList, error) {
	p.lists.Add(1)
	if len(f) != 1 || f[0].Field != translator.FieldEnabled || f[0].Value != false {
		return translator.UserList{}, fmt.Errorf("unexpected filter %v", f)
	}
	out := translator.UserList{Count: p.n}
	for id := int64(page.Skip + 1); id <= int64(min(page.Skip+page.Top, p.n)); id++ {
		out.Users = append(out.Users, p.user(id))
	}
	return out, nil
}

func (p *disabledPortal) GetUser(_ context.Context, id int64) (translator.PortalUser, error) {
	p.gets.Add(1)
	if id > int64(p.n) {
		return translator.PortalUser{IDUser: id}, nil
	}
	return p.user(id), nil
}

func TestDeletedAmong(t *testing.T) {
	tests := []struct {
		name                string
		disabled            int
		members             []int64
		wantLists, wantGets int64
	}{
		{"disabled users fit one page", 40, []int64{3, 4, 9, 41}, 1, 0},
		{"fewer pages than members", 1600, []int64{3, 4, 1200, 1201, 1599, 2000}, 4, 0},
		{"more pages than members", 5000, []int64{4500, 4501}, 1, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &disabledPortal{n: tc.disabled}
			members := make([]translator.PortalMember, len(tc.members))
			want := map[int64]bool{}
			for i, id := range tc.members {
				members[i] = translator.PortalMember{IDUser: id}
				if id <= int64(tc.disabled) && id%3 == 0 {
					want[id] = true
				}
			}
			got, err := deletedAmong(context.Background(), &Live{Users: p}, members)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range tc.members {
				if got[id] != want[id] {
					t.Fatalf("member %d: deleted = %v, want %v", id, got[id], want[id])
				}
			}
			if p.lists.Load() != tc.wantLists || p.gets.Load() != tc.wantGets {
				t.Fatalf("%d listUsers and %d getUser, want %d and %d", p.lists.Load(), p.gets.Load(), tc.wantLists, tc.wantGets)
			}
		})
	}
}
