package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// EntryType says what a store entry remembers.
type EntryType string

// The entry types Entries reports. Create locks and Idempotency-Key records are not reported: they
// name no portal record.
const (
	// EntryPortalKey maps a SCIM id to its portal key (idUser or idGroup).
	EntryPortalKey EntryType = "portalKey"
	// EntryLookup maps a login (or group name) or an externalId to a SCIM id: a cached filter answer.
	EntryLookup EntryType = "lookup"
	// EntryCreate is the record of the last create of a login (or group name).
	EntryCreate EntryType = "create"
)

// Entry is one id mapping, lookup or create record as the store holds it.
type Entry struct {
	Key  string // the key, without the backend's key prefix; it carries no PII
	Type EntryType
	Kind Kind
	// Attr is the lookup attribute (EntryLookup only).
	Attr Attr
	// Digest is the digest of the login, group name or externalId the key was built from (EntryLookup
	// and EntryCreate): compare it with Digest(value).
	Digest string
	// SCIMID is the SCIM id the entry names: from the key (EntryPortalKey), the value (EntryLookup) or
	// the record (EntryCreate, empty while its create has found no portal record yet).
	SCIMID string
	// PortalKey is the portal key of an EntryPortalKey.
	PortalKey int64
	// Create is the record of an EntryCreate.
	Create CreateRecord
	// Err reports a value that cannot be read (the other fields that come from the key are set).
	Err error
}

// ErrNoScan is returned by Entries when the backend cannot enumerate its keys.
var ErrNoScan = errors.New("store: the backend cannot enumerate its keys")

// Digest returns the digest the store puts in a key in place of a login, group name or externalId
// (normalise a login with NormaliseLogin and a group name to lower case first, as the gateway does).
func Digest(value string) string { return hashed(value) }

// Entries calls fn with every id mapping, lookup and create record, in no particular order, reading
// only: it writes nothing and changes no ttl. An entry may be reported twice on Redis (see
// Scanner.Scan). It stops at the first error of fn, which it returns as is. Errors: ErrNoScan, and
// those of Scanner.Scan.
func (s *Store) Entries(ctx context.Context, fn func(Entry) error) error {
	sc, ok := s.kv.(Scanner)
	if !ok {
		return ErrNoScan
	}
	return sc.Scan(ctx, "", func(key string, value []byte) error {
		e, ok := parseEntry(key, value)
		if !ok {
			return nil
		}
		return fn(e)
	})
}

// parseEntry reads one key and value built by keyID, keyAttr or keyCreate; ok is false for any other
// key (locks, idempotency records, anything else under the prefix).
func parseEntry(key string, value []byte) (e Entry, ok bool) {
	parts := strings.SplitN(key, ":", 4)
	if len(parts) < 3 {
		return e, false
	}
	e.Key, e.Kind = key, Kind(parts[1])
	if e.Kind != User && e.Kind != Group {
		return e, false
	}
	switch {
	case parts[0] == "id":
		e.Type, e.SCIMID = EntryPortalKey, strings.Join(parts[2:], ":")
		v, err := strconv.ParseInt(string(value), 10, 64)
		if err != nil {
			e.Err = fmt.Errorf("corrupt id mapping: %w", err)
		}
		e.PortalKey = v
	case parts[0] == "by" && len(parts) == 4:
		e.Type, e.Attr, e.Digest, e.SCIMID = EntryLookup, Attr(parts[2]), parts[3], string(value)
		if e.Attr != Login && e.Attr != ExternalID {
			return e, false
		}
	case parts[0] == "create" && len(parts) == 3:
		e.Type, e.Digest = EntryCreate, parts[2]
		if err := json.Unmarshal(value, &e.Create); err != nil {
			e.Err = fmt.Errorf("corrupt create record: %w", err)
		}
		e.SCIMID = e.Create.ID
	default:
		return e, false
	}
	return e, true
}

// Ping checks that the backend answers. Errors are those of KV.Ping.
func (s *Store) Ping(ctx context.Context) error { return s.kv.Ping(ctx) }
