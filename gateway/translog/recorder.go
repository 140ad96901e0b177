package translog

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/scim-gateway/scim-gateway/translator"
)

// minScrubLen is the shortest raw value scrubbed from error texts: shorter ones ("a", "x1") would
// wreck the text and reveal little.
const minScrubLen = 3

// Recorder builds the Record of one SCIM request while the request runs. The handler sets what it
// learns; the portal-call hook appends calls through the request's context (AddCall), from any
// goroutine. Every method is safe for concurrent use, and does nothing on a nil Recorder, so code may
// call FromContext(ctx).AddCall(...) whether or not the request is recorded. Values are redacted as
// they arrive, with the policy in force when the request started.
type Recorder struct {
	logger   *Logger
	red      *Redactor
	reads    bool
	maxValue int // Config.MaxValueBytes in force when the request started

	mu      sync.Mutex
	rec     Record
	secrets []secret // raw values redacted so far, to scrub from error texts
	done    bool
}

// secret is a raw value and what it was redacted to.
type secret struct{ raw, shown string }

type recorderKey struct{}

// WithRecorder returns a copy of ctx carrying r.
func WithRecorder(ctx context.Context, r *Recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, r)
}

// FromContext returns the Recorder ctx carries, or nil.
func FromContext(ctx context.Context) *Recorder {
	r, _ := ctx.Value(recorderKey{}).(*Recorder)
	return r
}

// AddCall appends c to the record of the request ctx belongs to, if it is recorded: the body of the
// portal-call hook.
func AddCall(ctx context.Context, c Call) { FromContext(ctx).AddCall(c) }

// SetOperation sets the SCIM operation (OpCreate, ...) and resource type (ResourceUser, ResourceGroup).
func (r *Recorder) SetOperation(op, resourceType string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.rec.Op, r.rec.ResourceType = op, resourceType
	r.mu.Unlock()
}

// SetTraceID sets the trace id of the request (hex), so that a record leads to its trace.
func (r *Recorder) SetTraceID(id string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.rec.TraceID = id
	r.mu.Unlock()
}

// Operation returns the SCIM operation and resource type set so far.
func (r *Recorder) Operation() (op, resourceType string) {
	if r == nil {
		return "", ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rec.Op, r.rec.ResourceType
}

// SetTenant sets the tenant the request runs for.
func (r *Recorder) SetTenant(tenant string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.rec.Tenant = tenant
	r.mu.Unlock()
}

// SetSCIMID sets the SCIM id of the resource.
func (r *Recorder) SetSCIMID(id string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.rec.SCIMID = id
	r.mu.Unlock()
}

// SetPortalID sets the portal's key of the resource (idUser or idGroup).
func (r *Recorder) SetPortalID(id int64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.rec.PortalID = id
	r.mu.Unlock()
}

// SetUserName sets the SCIM userName of the user, redacted as Redactor.UserName shows it.
func (r *Recorder) SetUserName(userName string) {
	if r == nil {
		return
	}
	shown := Cut(r.red.UserName(userName), r.maxValue)
	r.mu.Lock()
	r.rec.UserName = shown
	r.remember(userName, shown)
	r.mu.Unlock()
}

// AddChanges appends the translator's explanation of what changed, each value redacted under the
// policy's mode for it (Redactor.Mode, given the mapping rule's redact) and cut to maxValueBytes. The
// changes are those of the record's resource type: call SetOperation first.
func (r *Recorder) AddChanges(changes ...translator.FieldChange) {
	if r == nil || len(changes) == 0 {
		return
	}
	r.mu.Lock()
	resourceType := r.rec.ResourceType
	r.mu.Unlock()
	out := make([]Change, len(changes))
	for i, fc := range changes {
		mode := r.red.Mode(resourceType, fc.SCIM, fc.Portal, fc.Redact)
		out[i] = Change{SCIM: fc.SCIM, Portal: fc.Portal, Redact: mode,
			Old: cutValue(r.red.Apply(mode, fc.Old), r.maxValue), New: cutValue(r.red.Apply(mode, fc.New), r.maxValue)}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return
	}
	r.rec.Changes = append(r.rec.Changes, out...)
	for i, fc := range changes {
		if out[i].Redact == ModeKeep {
			continue // shown as is (cut at most): nothing to scrub
		}
		if s, ok := fc.Old.(string); ok {
			r.remember(s, out[i].Old)
		}
		if s, ok := fc.New.(string); ok {
			r.remember(s, out[i].New)
		}
	}
}

// remember keeps a redacted raw value for scrubbing; r.mu is held.
func (r *Recorder) remember(raw string, shown any) {
	s, _ := shown.(string)
	if shown == nil {
		s = "[dropped]"
	}
	if len(raw) < minScrubLen || s == raw {
		return
	}
	r.secrets = append(r.secrets, secret{raw: raw, shown: s})
}

// AddCall appends one portal call; beyond MaxListed calls it is only counted. Calls added after
// Finish are dropped.
func (r *Recorder) AddCall(c Call) {
	if r == nil {
		return
	}
	r.mu.Lock()
	switch {
	case r.done:
	case len(r.rec.Calls) >= MaxListed:
		r.rec.CallsOmitted++
	default:
		r.rec.Calls = append(r.rec.Calls, c)
	}
	r.mu.Unlock()
}

// AddMembers appends the member changes of a group request (op MemberAdd or MemberRemove, each
// user by SCIM id and portal key); beyond MaxListed they are only counted.
func (r *Recorder) AddMembers(op string, members ...Member) {
	if r == nil || len(members) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return
	}
	for _, m := range members {
		if len(r.rec.Members) >= MaxListed {
			r.rec.MembersOmitted++
			continue
		}
		m.Op, m.SCIMID = op, Cut(m.SCIMID, r.maxValue)
		r.rec.Members = append(r.rec.Members, m)
	}
}

// SetOutcome sets the outcome (OutcomeCreated, ...).
func (r *Recorder) SetOutcome(outcome string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.rec.Outcome = outcome
	r.mu.Unlock()
}

// Outcome returns the outcome set so far, or "".
func (r *Recorder) Outcome() string {
	if r == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rec.Outcome
}

// SetDryRun marks the request as translated in dry-run mode.
func (r *Recorder) SetDryRun(dryRun bool) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.rec.DryRun = dryRun
	r.mu.Unlock()
}

// SetError sets the error detail from err (nil clears it). Raw values the record redacted are
// scrubbed from it when the record finishes.
func (r *Recorder) SetError(err error) {
	if r == nil {
		return
	}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	r.mu.Lock()
	r.rec.Error = msg
	r.mu.Unlock()
}

// Finish completes the record with the SCIM status answered, hands it to the Logger (which writes it
// and keeps it, unless it is a read and reads are not logged) and returns it, with whether it was
// logged. Only the first Finish counts; later ones return the zero Record and false.
func (r *Recorder) Finish(status int) (Record, bool) {
	if r == nil {
		return Record{}, false
	}
	end := r.logger.now()
	r.mu.Lock()
	if r.done {
		r.mu.Unlock()
		return Record{}, false
	}
	r.done = true
	rec := r.rec
	rec.Status = status
	rec.Duration = end.Sub(rec.Time)
	if len(r.secrets) > 0 {
		scrub := scrubber(r.secrets)
		rec.Error = scrub(rec.Error)
		for i := range rec.Calls {
			rec.Calls[i].Error = scrub(rec.Calls[i].Error)
		}
	}
	r.secrets = nil
	// Cut after scrubbing: a cut through a raw value would leave its start unscrubbed.
	rec.RequestID, rec.SCIMID, rec.Error = Cut(rec.RequestID, r.maxValue), Cut(rec.SCIMID, r.maxValue), Cut(rec.Error, r.maxValue)
	for i := range rec.Calls {
		rec.Calls[i].Error = Cut(rec.Calls[i].Error, r.maxValue)
	}
	r.mu.Unlock()

	if !r.reads && (rec.Op == OpGet || rec.Op == OpList) {
		return rec, false
	}
	r.logger.emit(&rec)
	return rec, true
}

// scrubber returns a function replacing, in one pass, every raw value of secrets in a text by its
// redacted form. Matching ignores case (as Unicode simple folding does, where upper and lower case
// take the same number of bytes); where raw values overlap, the longest wins (so "alice@example.com"
// is replaced whole, not as "alice" and a rest).
func scrubber(secrets []secret) func(string) string {
	sorted := slices.SortedStableFunc(slices.Values(secrets), func(a, b secret) int {
		return cmp.Compare(len(b.raw), len(a.raw))
	})
	return func(text string) string {
		if text == "" {
			return text
		}
		var b strings.Builder
		last := 0 // text[last:i] is not yet copied
		for i := 0; i < len(text); {
			hit := -1
			for j, s := range sorted {
				if len(text)-i >= len(s.raw) && strings.EqualFold(text[i:i+len(s.raw)], s.raw) {
					hit = j
					break
				}
			}
			if hit < 0 {
				i++
				continue
			}
			b.WriteString(text[last:i])
			b.WriteString(sorted[hit].shown)
			i += len(sorted[hit].raw)
			last = i
		}
		if last == 0 {
			return text
		}
		b.WriteString(text[last:])
		return b.String()
	}
}
