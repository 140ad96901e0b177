package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind says which portal resource a record is about.
type Kind string

// The resource kinds.
const (
	User  Kind = "u"
	Group Kind = "g"
)

// Attr names a lookup attribute whose value maps to a SCIM id.
type Attr string

// The lookup attributes.
const (
	// Login is the normalised portal login (lower-case domain\userName) of a user, or the lower-case
	// name of a group.
	Login Attr = "login"
	// ExternalID is the SCIM externalId (compared exactly).
	ExternalID Attr = "ext"
)

// Store is the gateway's view of a KV: id mappings, create records, create locks and idempotency
// records, with keys that carry no PII (logins and externalIds are hashed). Mapping errors are
// returned so that callers can count them, and callers then behave as on a miss: the portal is the
// source of truth.
type Store struct {
	kv         KV
	mappingTTL time.Duration
	recordTTL  time.Duration
	ids        *idCache
}

// Options tune a Store.
type Options struct {
	// MappingTTL is how long a login or externalId mapping is kept (the id mapping never changes, but
	// it expires too, so that Redis does not keep dead users forever).
	MappingTTL time.Duration
	// RecordTTL is how long create and idempotency records are kept (default 24h).
	RecordTTL time.Duration
	// LocalIDs is the capacity of the in-process cache of SCIM id to portal key (default 100000;
	// negative disables it).
	LocalIDs int
}

// New returns a Store over kv.
func New(kv KV, opts Options) *Store {
	if opts.MappingTTL <= 0 {
		opts.MappingTTL = 24 * time.Hour
	}
	if opts.RecordTTL <= 0 {
		opts.RecordTTL = 24 * time.Hour
	}
	if opts.LocalIDs == 0 {
		opts.LocalIDs = 100000
	}
	s := &Store{kv: kv, mappingTTL: opts.MappingTTL, recordTTL: opts.RecordTTL}
	if opts.LocalIDs > 0 {
		s.ids = newIDCache(opts.LocalIDs)
	}
	return s
}

// KV returns the backend.
func (s *Store) KV() KV { return s.kv }

// hashed returns a key-safe digest of a value that may be PII.
func hashed(v string) string {
	d := sha256.Sum256([]byte(v))
	return hex.EncodeToString(d[:16])
}

func keyID(kind Kind, scimID string) string { return "id:" + string(kind) + ":" + scimID }
func keyAttr(kind Kind, a Attr, value string) string {
	return "by:" + string(kind) + ":" + string(a) + ":" + hashed(value)
}
func keyCreate(kind Kind, login string) string { return "create:" + string(kind) + ":" + hashed(login) }
func keyLock(kind Kind, login string) string   { return "lock:" + string(kind) + ":" + hashed(login) }
func keyIdem(token, key string) string         { return "idem:" + hashed(token+"\x00"+key) }

// PortalKey returns the portal key (idUser or idGroup) cached for a SCIM id.
func (s *Store) PortalKey(ctx context.Context, kind Kind, scimID string) (int64, bool, error) {
	if s.ids != nil {
		if v, ok := s.ids.get(string(kind) + scimID); ok {
			return v, true, nil
		}
	}
	b, ok, err := s.kv.Get(ctx, keyID(kind, scimID))
	if err != nil || !ok {
		return 0, false, err
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("store: corrupt id mapping: %w", err)
	}
	if s.ids != nil {
		s.ids.put(string(kind)+scimID, v)
	}
	return v, true, nil
}

// RememberPortalKey caches the portal key of a SCIM id.
func (s *Store) RememberPortalKey(ctx context.Context, kind Kind, scimID string, key int64) error {
	if s.ids != nil {
		s.ids.put(string(kind)+scimID, key)
	}
	return s.kv.Set(ctx, keyID(kind, scimID), []byte(strconv.FormatInt(key, 10)), s.mappingTTL)
}

// ForgetPortalKey drops the cached portal key of a SCIM id (the portal said 404).
func (s *Store) ForgetPortalKey(ctx context.Context, kind Kind, scimID string) error {
	if s.ids != nil {
		s.ids.del(string(kind) + scimID)
	}
	return s.kv.Delete(ctx, keyID(kind, scimID))
}

// Lookup returns the SCIM id cached for a login or externalId.
func (s *Store) Lookup(ctx context.Context, kind Kind, a Attr, value string) (string, bool, error) {
	b, ok, err := s.kv.Get(ctx, keyAttr(kind, a, value))
	if err != nil || !ok {
		return "", false, err
	}
	return string(b), true, nil
}

// Remember caches the SCIM id of a login or externalId.
func (s *Store) Remember(ctx context.Context, kind Kind, a Attr, value, scimID string) error {
	if value == "" {
		return nil
	}
	return s.kv.Set(ctx, keyAttr(kind, a, value), []byte(scimID), s.mappingTTL)
}

// Forget drops the cached SCIM id of a login or externalId.
func (s *Store) Forget(ctx context.Context, kind Kind, a Attr, value string) error {
	if value == "" {
		return nil
	}
	return s.kv.Delete(ctx, keyAttr(kind, a, value))
}

// CreateRecord is what the gateway remembers of the last create of one login (DESIGN.md, "Creates
// never duplicate").
type CreateRecord struct {
	Fingerprint string `json:"f"`           // digest of the create's translated body
	ID          string `json:"id"`          // the SCIM id it created or found
	Delivered   bool   `json:"d,omitempty"` // its 201 reached the client
}

// CreateRecord returns the record of the last create of login.
func (s *Store) CreateRecord(ctx context.Context, kind Kind, login string) (CreateRecord, bool, error) {
	var rec CreateRecord
	b, ok, err := s.kv.Get(ctx, keyCreate(kind, login))
	if err != nil || !ok {
		return rec, false, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, false, fmt.Errorf("store: corrupt create record: %w", err)
	}
	return rec, true, nil
}

// PutCreateRecord stores the record of the last create of login.
func (s *Store) PutCreateRecord(ctx context.Context, kind Kind, login string, rec CreateRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.kv.Set(ctx, keyCreate(kind, login), b, s.recordTTL)
}

// DeleteCreateRecord drops the record of the last create of login.
func (s *Store) DeleteCreateRecord(ctx context.Context, kind Kind, login string) error {
	return s.kv.Delete(ctx, keyCreate(kind, login))
}

// ErrLockTimeout is returned by LockCreate when the lock was not acquired before the context ended.
var ErrLockTimeout = errors.New("store: timed out waiting for a concurrent create of the same login")

// LockCreate serialises creates of one login across replicas: it takes a lock that expires after
// hold, waiting (polling) while another holder has it, until ctx ends (ErrLockTimeout). The returned
// unlock releases it only if it is still ours. A backend error is returned as is: the caller decides
// whether to go on without the lock.
func (s *Store) LockCreate(ctx context.Context, kind Kind, login string, hold time.Duration) (unlock func(), err error) {
	var tok [12]byte
	_, _ = rand.Read(tok[:])
	val := []byte(hex.EncodeToString(tok[:]))
	key := keyLock(kind, login)
	wait := 5 * time.Millisecond
	for {
		ok, err := s.kv.SetNX(ctx, key, val, hold)
		if err != nil && ctx.Err() != nil {
			// The wait ended during the call: a timeout, not a backend failure (which the caller would
			// take for "go on without the lock").
			return nil, ErrLockTimeout
		}
		if err != nil {
			return nil, err
		}
		if ok {
			return func() {
				// Release even if the request's context is done, so the next create need not wait out hold.
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
				defer cancel()
				_, _ = s.kv.CompareAndDelete(rctx, key, val)
			}, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ErrLockTimeout
		case <-t.C:
		}
		if wait < 100*time.Millisecond {
			wait *= 2
		}
	}
}

// IdemRecord is what the gateway remembers of one Idempotency-Key.
type IdemRecord struct {
	Fingerprint string `json:"f"`
	Done        bool   `json:"done,omitempty"` // the first request finished; Status and Body are its answer
	Status      int    `json:"s,omitempty"`
	Location    string `json:"l,omitempty"`
	Body        []byte `json:"b,omitempty"`
}

// BeginIdempotent claims an Idempotency-Key for a request with the given fingerprint, scoped to the
// token's name. When the key is new it is claimed (claimed true). Otherwise the existing record comes
// back: the caller replays it, refuses a different body, or reports a request still in flight.
func (s *Store) BeginIdempotent(ctx context.Context, token, key, fingerprint string) (rec IdemRecord, claimed bool, err error) {
	mine := IdemRecord{Fingerprint: fingerprint}
	b, _ := json.Marshal(mine)
	k := keyIdem(token, key)
	ok, err := s.kv.SetNX(ctx, k, b, s.recordTTL)
	if err != nil {
		return rec, false, err
	}
	if ok {
		return mine, true, nil
	}
	raw, found, err := s.kv.Get(ctx, k)
	if err != nil {
		return rec, false, err
	}
	if !found { // expired between the two calls: try once more
		return s.BeginIdempotent(ctx, token, key, fingerprint)
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return rec, false, fmt.Errorf("store: corrupt idempotency record: %w", err)
	}
	return rec, false, nil
}

// FinishIdempotent stores the answer of a claimed Idempotency-Key.
func (s *Store) FinishIdempotent(ctx context.Context, token, key string, rec IdemRecord) error {
	rec.Done = true
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.kv.Set(ctx, keyIdem(token, key), b, s.recordTTL)
}

// AbandonIdempotent releases a claimed Idempotency-Key whose request failed without effect, so that a
// retry is processed afresh.
func (s *Store) AbandonIdempotent(ctx context.Context, token, key string) error {
	return s.kv.Delete(ctx, keyIdem(token, key))
}

// NormaliseLogin is the key of a portal login: lower-case domain\userName.
func NormaliseLogin(domain, userName string) string {
	return strings.ToLower(domain + `\` + userName)
}

// idCache is the in-process cache of SCIM id to portal key: the mapping never changes for a user, so
// it never goes stale; it is bounded by dropping an arbitrary tenth when full.
type idCache struct {
	mu  sync.RWMutex
	max int
	m   map[string]int64
}

func newIDCache(max int) *idCache { return &idCache{max: max, m: make(map[string]int64)} }

func (c *idCache) get(k string) (int64, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *idCache) put(k string, v int64) {
	c.mu.Lock()
	if len(c.m) >= c.max {
		drop := c.max/10 + 1
		for key := range c.m {
			delete(c.m, key)
			if drop--; drop == 0 {
				break
			}
		}
	}
	c.m[k] = v
	c.mu.Unlock()
}

func (c *idCache) del(k string) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}
