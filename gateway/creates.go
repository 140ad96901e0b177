package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/scim-gateway/scim-gateway/gateway/store"
)

// The in-process fallback of create records: how many logins (and group names) it remembers, and for
// how long (the store's own record lifetime).
const (
	maxLocalCreates = 10000
	localCreateTTL  = 24 * time.Hour
)

// localCreates holds the create records that the store could not take (Redis down or short-circuited),
// so that a retry on this replica still finds them: a client that gave up during a slow commit while
// Redis was down gets 201 with the existing id on its retry, not 409. An entry is dropped when the
// store takes a later record of its key. Bounded: the oldest entry goes first past max, and entries
// expire after ttl. Per process: another replica, or this one after a restart, does not see them.
type localCreates struct {
	mu      sync.Mutex
	max     int
	ttl     time.Duration
	entries map[string]localCreate
	order   []string // keys in insertion order, for eviction; may hold keys since dropped
	now     func() time.Time
}

type localCreate struct {
	rec store.CreateRecord
	at  time.Time
}

func newLocalCreates(max int, ttl time.Duration) *localCreates {
	return &localCreates{max: max, ttl: ttl, entries: map[string]localCreate{}, now: time.Now}
}

func localKey(kind store.Kind, key string) string { return string(kind) + "\x00" + key }

// localTenantKey is a create record's key in process: the request's tenant and the login, since two
// tenants may create the same login.
func localTenantKey(ctx context.Context, key string) string { return tenantOf(ctx) + "\x00" + key }

func (l *localCreates) get(kind store.Kind, key string) (store.CreateRecord, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[localKey(kind, key)]
	if !ok || l.now().Sub(e.at) > l.ttl {
		return store.CreateRecord{}, false
	}
	return e.rec, true
}

func (l *localCreates) put(kind store.Kind, key string, rec store.CreateRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := localKey(kind, key)
	if _, ok := l.entries[k]; !ok {
		l.order = append(l.order, k)
	}
	l.entries[k] = localCreate{rec: rec, at: l.now()}
	for len(l.entries) > l.max && len(l.order) > 0 {
		delete(l.entries, l.order[0])
		l.order = l.order[1:]
	}
	if len(l.order) > 2*l.max { // keys dropped since: compact
		live := l.order[:0]
		for _, k := range l.order {
			if _, ok := l.entries[k]; ok {
				live = append(live, k)
			}
		}
		l.order = live
	}
}

func (l *localCreates) del(kind store.Kind, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, localKey(kind, key))
}

// readCreateRecord returns the record of the last create of a login (or group name): this process's
// own when the store could not take it (the newest this replica knows), else the store's. A store
// failure reads as no record.
func (s *Server) readCreateRecord(ctx context.Context, kind store.Kind, key string) (store.CreateRecord, bool) {
	if rec, ok := s.creates.get(kind, localTenantKey(ctx, key)); ok {
		return rec, true
	}
	rec, ok, err := s.storeOf(ctx).CreateRecord(ctx, kind, key)
	s.storeErr(err)
	return rec, ok
}

// writeCreateRecord stores the record of a create, in process when the store cannot take it.
func (s *Server) writeCreateRecord(ctx context.Context, kind store.Kind, key string, rec store.CreateRecord) error {
	if err := s.storeOf(ctx).PutCreateRecord(ctx, kind, key, rec); err != nil {
		s.creates.put(kind, localTenantKey(ctx, key), rec)
		return err
	}
	s.creates.del(kind, localTenantKey(ctx, key))
	return nil
}

// pendingCreate is the create record of a create in flight. beginCreate reads the record of the last
// create of the key and replaces it with this create's, pending (no id, not delivered), while the portal
// create runs: whatever becomes of the create (the answer lost, the lookup after an unknown outcome
// failing, the process stopped past server.shutdownTimeout), a retry of the same body then finds a
// record that says its 201 never reached the client. A create that certainly did not make the portal
// user, or met someone else's, puts the previous record back (restore).
type pendingCreate struct {
	s        *Server
	ctx      context.Context
	kind     store.Kind
	key, fp  string
	done     chan struct{}
	prev     store.CreateRecord
	hasPrev  bool
	restored bool
}

func (s *Server) beginCreate(ctx context.Context, kind store.Kind, key, fp string) *pendingCreate {
	p := &pendingCreate{s: s, ctx: ctx, kind: kind, key: key, fp: fp, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.prev, p.hasPrev = s.readCreateRecord(ctx, kind, key)
		s.storeErr(s.writeCreateRecord(ctx, kind, key, store.CreateRecord{Fingerprint: fp}))
	}()
	return p
}

// previous waits for the record of the last create before this one.
func (p *pendingCreate) previous() (store.CreateRecord, bool) {
	<-p.done
	return p.prev, p.hasPrev
}

// wait waits until the pending record is written, so that later writes of the record land after it.
func (p *pendingCreate) wait() { <-p.done }

// restore puts the record of the last create before this one back (or none, if there was none).
func (p *pendingCreate) restore() {
	<-p.done
	if p.restored {
		return
	}
	p.restored = true
	if p.hasPrev {
		p.s.storeErr(p.s.writeCreateRecord(p.ctx, p.kind, p.key, p.prev))
		return
	}
	p.s.creates.del(p.kind, localTenantKey(p.ctx, p.key))
	p.s.storeErr(p.s.storeOf(p.ctx).DeleteCreateRecord(p.ctx, p.kind, p.key))
}
