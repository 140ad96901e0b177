package translog

import (
	"encoding/json"
	"time"

	"go.uber.org/zap/zapcore"
)

// SCIM operations a record names (Record.Op).
const (
	OpCreate  = "create"
	OpReplace = "replace"
	OpPatch   = "patch"
	OpDelete  = "delete"
	OpGet     = "get"
	OpList    = "list"
)

// Resource types a record names (Record.ResourceType).
const (
	ResourceUser  = "User"
	ResourceGroup = "Group"
)

// Outcomes a record names (Record.Outcome): what the request did to the portal.
const (
	OutcomeCreated   = "created"   // the portal created the resource
	OutcomeReplayed  = "replayed"  // a repeated create answered 201 with the existing resource
	OutcomeRestored  = "restored"  // a create of a login deleted in disable mode re-enabled it
	OutcomeConflict  = "conflict"  // the portal holds the login already: 409
	OutcomeUpdated   = "updated"   // the portal resource changed
	OutcomeUnchanged = "unchanged" // nothing to change: no portal write was made
	OutcomeDisabled  = "disabled"  // DELETE in disable mode: disabled and marked deleted
	OutcomeDeleted   = "deleted"   // DELETE in delete mode: the portal deleted it
	OutcomeFound     = "found"     // a read answered
	OutcomeNotFound  = "not_found" // the resource does not exist
	OutcomeFailed    = "failed"    // an error was answered
	OutcomeDryRun    = "dry_run"   // dry-run mode: translated and logged, not sent
)

// Record is one finished translation: what one SCIM request became in portal calls. Every value that
// may be personal data (UserName, Change.Old and Change.New, and the raw values inside Error texts)
// is already redacted by the policy, and every text is cut to the configured maxValueBytes. A Record
// is immutable once the Logger has it.
type Record struct {
	Time         time.Time // when the request started
	RequestID    string    // the X-Request-Id of the SCIM request
	TraceID      string    // the OpenTelemetry trace id of the request (hex), when traced
	Token        string    // the name of the bearer token that authenticated it
	Tenant       string    // the tenant the token picked ("default": the top-level configuration)
	Op           string    // OpCreate, OpReplace, ...
	ResourceType string    // ResourceUser or ResourceGroup
	SCIMID       string    // the SCIM id, when known
	PortalID     int64     // the portal's key of the resource (idUser, idGroup), when known
	UserName     string    // the SCIM userName of a User request, redacted; empty for groups
	Changes      []Change  // the SCIM attributes that changed and the portal fields they became
	Members      []Member  // the member changes of a group request (at most MaxListed)
	Calls        []Call    // the portal calls, in the order they finished (at most MaxListed)
	// MembersOmitted and CallsOmitted count the member changes and calls beyond MaxListed.
	MembersOmitted int
	CallsOmitted   int
	Outcome        string        // OutcomeCreated, ...
	Status         int           // the HTTP status answered to the SCIM client
	Duration       time.Duration // from start to answer
	DryRun         bool          // dry-run mode: no portal write was sent
	Error          string        // the error detail, when one was answered
	Replica        string        // the gateway replica that served the request (its pod or host name)
}

// Change is one translated value: SCIM attribute SCIM became portal field Portal ("properties.<key>"
// for a custom property), Old and New redacted (nil: unset, or cleared, or dropped) under the mode
// Redact.
type Change struct {
	SCIM   string
	Portal string
	Old    any
	New    any
	Redact string // the mode the values are shown under: ModeKeep, ModeMask, ModeHash or ModeDrop
}

// Member operations (Member.Op).
const (
	MemberAdd    = "add"
	MemberRemove = "remove"
)

// Member is one member change of a group: the user added or removed, by SCIM id and portal key.
type Member struct {
	Op     string // MemberAdd or MemberRemove
	SCIMID string // the user's SCIM id
	IDUser int64  // the user's portal key
}

// Call is one call to the portal (one attempt: a retried call gives one Call per attempt).
type Call struct {
	Op           string        // the portal operation (config.OpCreateUser, ...)
	Method       string        // the HTTP method
	PathTemplate string        // the configured path, placeholders unfilled: "/api/usersync/v1/users({idUser})"
	Path         string        // the path called, ids filled in, no query: "/api/usersync/v1/users(34)"
	IDUser       int64         // the portal user the call was for; 0 when none
	IDGroup      int64         // the portal group the call was for; 0 when none
	Status       int           // the portal's HTTP status; 0 when no answer came
	Duration     time.Duration // the attempt's duration
	Attempt      int           // 1 for the first attempt
	Error        string        // what went wrong, when something did
}

// milliseconds shows a duration as fractional milliseconds.
func milliseconds(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// recordJSON is the JSON form of a Record: stable camelCase names, durations in milliseconds.
type recordJSON struct {
	Time         time.Time    `json:"time"`
	RequestID    string       `json:"requestId,omitempty"`
	TraceID      string       `json:"traceId,omitempty"`
	Token        string       `json:"token,omitempty"`
	Tenant       string       `json:"tenant,omitempty"`
	Op           string       `json:"op"`
	ResourceType string       `json:"resourceType,omitempty"`
	SCIMID       string       `json:"scimId,omitempty"`
	PortalID     int64        `json:"portalId,omitempty"`
	UserName     string       `json:"userName,omitempty"`
	Changes      []changeJSON `json:"changes"`
	Members      []memberJSON `json:"members,omitempty"`
	Calls        []callJSON   `json:"calls"`
	MembersOmit  int          `json:"membersOmitted,omitempty"`
	CallsOmit    int          `json:"callsOmitted,omitempty"`
	Outcome      string       `json:"outcome"`
	Status       int          `json:"status"`
	DurationMS   float64      `json:"durationMs"`
	DryRun       bool         `json:"dryRun"`
	Error        string       `json:"error,omitempty"`
	Replica      string       `json:"replica,omitempty"`
}

type changeJSON struct {
	SCIM   string `json:"scim"`
	Portal string `json:"portal"`
	Old    any    `json:"old"`
	New    any    `json:"new"`
	Redact string `json:"redact,omitempty"`
}

type memberJSON struct {
	Op     string `json:"op"`
	SCIMID string `json:"scimId"`
	IDUser int64  `json:"idUser"`
}

type callJSON struct {
	Op         string  `json:"op"`
	Method     string  `json:"method"`
	Path       string  `json:"path"`
	Resolved   string  `json:"resolvedPath,omitempty"`
	IDUser     int64   `json:"idUser,omitempty"`
	IDGroup    int64   `json:"idGroup,omitempty"`
	Status     int     `json:"status"`
	DurationMS float64 `json:"durationMs"`
	Attempt    int     `json:"attempt"`
	Error      string  `json:"error,omitempty"`
}

// MarshalJSON renders the record as /admin/translations shows it.
func (r Record) MarshalJSON() ([]byte, error) {
	out := recordJSON{
		Time: r.Time, RequestID: r.RequestID, TraceID: r.TraceID, Token: r.Token, Tenant: r.Tenant, Op: r.Op, ResourceType: r.ResourceType,
		SCIMID: r.SCIMID, PortalID: r.PortalID, UserName: r.UserName, Outcome: r.Outcome, Status: r.Status,
		DurationMS: milliseconds(r.Duration), DryRun: r.DryRun, Error: r.Error,
		MembersOmit: r.MembersOmitted, CallsOmit: r.CallsOmitted, Replica: r.Replica,
		Changes: make([]changeJSON, len(r.Changes)), Calls: make([]callJSON, len(r.Calls)),
	}
	for i, c := range r.Changes {
		out.Changes[i] = changeJSON(c)
	}
	for _, m := range r.Members {
		out.Members = append(out.Members, memberJSON(m))
	}
	for i, c := range r.Calls {
		out.Calls[i] = callJSON{Op: c.Op, Method: c.Method, Path: c.PathTemplate, Resolved: c.Path,
			IDUser: c.IDUser, IDGroup: c.IDGroup, Status: c.Status,
			DurationMS: milliseconds(c.Duration), Attempt: c.Attempt, Error: c.Error}
	}
	return json.Marshal(out)
}

// marshalFields adds the zap fields of a record, named as in its JSON.
func (r *Record) marshalFields(enc zapcore.ObjectEncoder) error {
	enc.AddTime("time", r.Time)
	addString(enc, "requestId", r.RequestID)
	addString(enc, "traceId", r.TraceID)
	addString(enc, "token", r.Token)
	addString(enc, "tenant", r.Tenant)
	enc.AddString("op", r.Op)
	addString(enc, "resourceType", r.ResourceType)
	addString(enc, "scimId", r.SCIMID)
	addInt64(enc, "portalId", r.PortalID)
	addString(enc, "userName", r.UserName)
	if err := enc.AddArray("changes", objects[Change, *Change](r.Changes)); err != nil {
		return err
	}
	if len(r.Members) > 0 {
		if err := enc.AddArray("members", objects[Member, *Member](r.Members)); err != nil {
			return err
		}
	}
	if err := enc.AddArray("calls", objects[Call, *Call](r.Calls)); err != nil {
		return err
	}
	addInt64(enc, "membersOmitted", int64(r.MembersOmitted))
	addInt64(enc, "callsOmitted", int64(r.CallsOmitted))
	enc.AddString("outcome", r.Outcome)
	enc.AddInt("status", r.Status)
	enc.AddFloat64("durationMs", milliseconds(r.Duration))
	enc.AddBool("dryRun", r.DryRun)
	addString(enc, "error", r.Error)
	addString(enc, "replica", r.Replica)
	return nil
}

// MarshalLogObject makes a Record a zap object (zap.Object("translation", rec)).
func (r Record) MarshalLogObject(enc zapcore.ObjectEncoder) error { return r.marshalFields(enc) }

// addString adds a non-empty string field.
func addString(enc zapcore.ObjectEncoder, key, v string) {
	if v != "" {
		enc.AddString(key, v)
	}
}

// addInt64 adds a non-zero integer field.
func addInt64(enc zapcore.ObjectEncoder, key string, v int64) {
	if v != 0 {
		enc.AddInt64(key, v)
	}
}

// objects is a slice logged as a zap array of objects.
type objects[T any, P interface {
	*T
	zapcore.ObjectMarshaler
}] []T

func (os objects[T, P]) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for i := range os {
		if err := enc.AppendObject(P(&os[i])); err != nil {
			return err
		}
	}
	return nil
}

// MarshalLogObject makes a Member a zap object.
func (m *Member) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("op", m.Op)
	enc.AddString("scimId", m.SCIMID)
	enc.AddInt64("idUser", m.IDUser)
	return nil
}

// MarshalLogObject makes a Change a zap object.
func (c *Change) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("scim", c.SCIM)
	enc.AddString("portal", c.Portal)
	if err := addValue(enc, "old", c.Old); err != nil {
		return err
	}
	if err := addValue(enc, "new", c.New); err != nil {
		return err
	}
	addString(enc, "redact", c.Redact)
	return nil
}

// addValue adds a redacted value with a typed encoder call; only values that are neither nil,
// strings, booleans nor numbers (a kept property holding a list, say) go through reflection.
func addValue(enc zapcore.ObjectEncoder, key string, v any) error {
	switch t := v.(type) {
	case nil:
		return enc.AddReflected(key, nil) // null, cheaply
	case string:
		enc.AddString(key, t)
	case bool:
		enc.AddBool(key, t)
	case float64:
		enc.AddFloat64(key, t)
	case int:
		enc.AddInt(key, t)
	case int64:
		enc.AddInt64(key, t)
	case json.Number:
		enc.AddString(key, t.String())
	default:
		return enc.AddReflected(key, t)
	}
	return nil
}

// MarshalLogObject makes a Call a zap object.
func (c *Call) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("op", c.Op)
	enc.AddString("method", c.Method)
	enc.AddString("path", c.PathTemplate)
	addString(enc, "resolvedPath", c.Path)
	addInt64(enc, "idUser", c.IDUser)
	addInt64(enc, "idGroup", c.IDGroup)
	enc.AddInt("status", c.Status)
	enc.AddFloat64("durationMs", milliseconds(c.Duration))
	enc.AddInt("attempt", c.Attempt)
	addString(enc, "error", c.Error)
	return nil
}
