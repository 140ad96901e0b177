// Package translog owns the translation log (DESIGN.md, "Translation logs are first-class"): one
// structured record per SCIM request saying what it became in the portal.
//
// A request handler starts a Recorder (Logger.Start), carries it in the request's context
// (WithRecorder), and fills it as it goes: the SCIM operation and id, the userName, the translator's
// explanation of which SCIM attributes became which portal fields (translator.FieldChange), the
// outcome and error. The portal client's call hook appends every portal call with AddCall(ctx, ...),
// from any goroutine. Recorder.Finish writes the record as one zap entry on the translation logger
// (typed fields, no reflection on the hot path) and keeps it in a per-replica ring of the last N
// records, which Logger.Handler serves as GET /admin/translations.
//
// Personal data never reaches a record raw. A Policy says per attribute whether a value is kept,
// masked ("a***e") or hashed ("h:" and 16 hex digits of an HMAC-SHA256); by default userNames,
// e-mail addresses, phone numbers and personal names are hashed, ids and flags kept. A value gets the
// stricter of the policy's mode and its mapping rule's `redact`. Raw values a record redacted are
// also scrubbed from its error texts. RedactQuery masks the values of a SCIM filter for access logs.
//
// Without a configured hash key, hashes use a random key made once per process: stable for the
// /admin/translations userName query, but different on every replica and after a restart.
package translog
