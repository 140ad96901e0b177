package translator

import (
	"errors"
	"fmt"
	"time"
)

// Code is one entry of the gateway's error vocabulary (DESIGN.md, "Failures are answered, not hidden").
// The gateway renders each code as a SCIM error in exactly one place.
type Code string

// The error vocabulary. The comment after each code is the SCIM answer it becomes.
const (
	// EInvalid: bad input from the SCIM client or a value the portal rejected (400, with a scimType).
	EInvalid Code = "invalid"
	// ENotFound: the resource named in the URL does not exist (404).
	ENotFound Code = "not_found"
	// EConflict: the portal reports a uniqueness conflict on create or rename (409 uniqueness).
	EConflict Code = "conflict"
	// ERateLimited: the portal answered 429 (429 with Retry-After).
	ERateLimited Code = "rate_limited"
	// EUnavailable: the call was not made or failed without effect: breaker open, portal queue full,
	// endpoint disabled in config, portal 5xx before the write, a read that timed out (503 + Retry-After).
	EUnavailable Code = "unavailable"
	// EOutcomeUnknown: a write was sent but no answer came (timeout after sending, dropped connection),
	// so whether the portal applied it is unknown (503 + Retry-After; creates then look the user up).
	EOutcomeUnknown Code = "outcome_unknown"
	// EUnauthorized: the portal refuses the gateway's own credentials, scope or an operation
	// (502 with a detail saying so; never 401, which Entra would blame on its Secret Token).
	EUnauthorized Code = "unauthorized"
	// EInternal: a bug in the gateway or an answer from the portal it cannot understand (500).
	EInternal Code = "internal"
)

// SCIM error types (RFC 7644 section 3.12) carried by EInvalid and EConflict errors.
const (
	ScimInvalidFilter = "invalidFilter"
	ScimTooMany       = "tooMany"
	ScimUniqueness    = "uniqueness"
	ScimMutability    = "mutability"
	ScimInvalidSyntax = "invalidSyntax"
	ScimInvalidPath   = "invalidPath"
	ScimNoTarget      = "noTarget"
	ScimInvalidValue  = "invalidValue"
	ScimInvalidVers   = "invalidVers"
	ScimSensitive     = "sensitive"
)

// Error is the one error type that crosses package boundaries. Message is safe to show to the SCIM
// client (it names SCIM attributes, never secrets); Err keeps the cause for logs.
type Error struct {
	Code       Code
	ScimType   string        // for EInvalid and EConflict: the RFC 7644 scimType
	Message    string        // the detail shown to the client
	Target     string        // the offending field: a portal field in upstream errors, a SCIM attribute after translation
	PortalCode string        // the portal's error code (USER_NOT_FOUND...), when the portal answered one
	Status     int           // the portal's HTTP status, when it answered one
	RetryAfter time.Duration // for ERateLimited and EUnavailable: how long the client should wait
	ExistingID int64         // for EConflict from the portal: existingIdUser or existingIdGroup, when given
	Err        error         // the underlying cause, for logs; never shown
}

// Error implements error.
func (e *Error) Error() string {
	msg := string(e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf returns an EInvalid error with the given scimType.
func Invalidf(scimType, format string, args ...any) *Error {
	return &Error{Code: EInvalid, ScimType: scimType, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: the code of the first *Error in its chain, EInternal for any other
// non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// AsError returns the first *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
