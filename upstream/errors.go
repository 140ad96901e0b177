package upstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/scim-gateway/scim-gateway/translator"
)

// Portal error codes (docs/portal-api.md section 5) that change how an answer is mapped.
const (
	portalValidationFailed       = "VALIDATION_FAILED"
	portalFilterNotSupported     = "FILTER_NOT_SUPPORTED"
	portalUserNotFound           = "USER_NOT_FOUND"
	portalGroupNotFound          = "GROUP_NOT_FOUND"
	portalNotAMember             = "NOT_A_MEMBER"
	portalUserDeleteNotSupported = "USER_DELETE_NOT_SUPPORTED"
)

// Default RetryAfter hints, when the portal gives none.
const (
	defaultRateLimitRetryAfter   = time.Second
	defaultUnavailableRetryAfter = time.Second
	// disabledRetryAfter is the hint of a call refused because its endpoint is switched off in config:
	// that is for ops to change, not a matter of seconds.
	disabledRetryAfter = 60 * time.Second
)

// portalErrorBody is the error body of docs/portal-api.md section 5. existingIdUser/existingIdGroup sit
// in the error object; they are also accepted at the top level.
type portalErrorBody struct {
	Error struct {
		Code            string `json:"code"`
		Message         string `json:"message"`
		Target          string `json:"target"`
		ExistingIDUser  int64  `json:"existingIdUser"`
		ExistingIDGroup int64  `json:"existingIdGroup"`
	} `json:"error"`
	ExistingIDUser  int64  `json:"existingIdUser"`
	ExistingIDGroup int64  `json:"existingIdGroup"`
	TraceID         string `json:"traceId"`
}

// decodePortalError reads an error body; a body that is not the portal's JSON (an HTML page from a
// proxy, nothing at all) gives the zero value.
func decodePortalError(body []byte) portalErrorBody {
	var pe portalErrorBody
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return pe
	}
	if err := json.Unmarshal(trimmed, &pe); err != nil {
		return portalErrorBody{}
	}
	return pe
}

// mapAnswer maps a portal answer with a status of 300 or more onto the error vocabulary. write says
// whether the operation changes the portal; header carries Retry-After.
func mapAnswer(ep endpoint, write bool, status int, header http.Header, body []byte) *translator.Error {
	pe := decodePortalError(body)
	code := pe.Error.Code
	e := &translator.Error{Status: status, PortalCode: code, Target: pe.Error.Target}
	detail := describe(status, code, pe.Error.Message)

	switch {
	case status == http.StatusBadRequest && code == portalFilterNotSupported:
		e.Code, e.ScimType = translator.EInvalid, translator.ScimInvalidFilter
		e.Message = "portal refused the filter: " + detail
	case status == http.StatusBadRequest:
		e.Code, e.ScimType = translator.EInvalid, translator.ScimInvalidValue
		e.Message = "portal rejected a value: " + detail
	case status == http.StatusUnauthorized:
		e.Code = translator.EUnauthorized
		e.Message = "portal refused the gateway's access token: " + detail
	case status == http.StatusForbidden:
		e.Code = translator.EUnauthorized
		e.Message = "portal refused the gateway's scope for " + ep.op + ": " + detail
	case status == http.StatusNotFound && (code == portalUserNotFound || code == portalGroupNotFound || code == portalNotAMember):
		e.Code = translator.ENotFound
		e.Message = detail
	case status == http.StatusNotFound:
		// Not a missing resource but a missing route (a wrong endpoint path, a proxy page): answering
		// "not found" would make the gateway believe a user does not exist and create it again.
		e.Code = translator.EInternal
		e.Message = fmt.Sprintf("portal has no route %s %s (check upstream.endpoints.%s): %s", ep.method, ep.path, ep.op, detail)
	case status == http.StatusMethodNotAllowed && code == portalUserDeleteNotSupported:
		e.Code = translator.EUnauthorized
		e.Message = "portal refuses to delete users: " + detail
	case status == http.StatusMethodNotAllowed:
		e.Code = translator.EInternal
		e.Message = fmt.Sprintf("portal does not allow %s %s (check upstream.endpoints.%s): %s", ep.method, ep.path, ep.op, detail)
	case status == http.StatusConflict:
		e.Code, e.ScimType = translator.EConflict, translator.ScimUniqueness
		e.Message = detail
		e.ExistingID = firstNonZero(pe.Error.ExistingIDUser, pe.Error.ExistingIDGroup, pe.ExistingIDUser, pe.ExistingIDGroup)
	case status == http.StatusTooManyRequests:
		e.Code = translator.ERateLimited
		e.Message = "portal rate limit: " + detail
		e.RetryAfter = parseRetryAfter(header, time.Now())
		if e.RetryAfter == 0 {
			e.RetryAfter = defaultRateLimitRetryAfter
		}
	case status == http.StatusGatewayTimeout && write:
		// A proxy in front of the portal gave up waiting: the portal may have applied the write.
		e.Code = translator.EOutcomeUnknown
		e.Message = "portal write timed out behind a proxy, outcome unknown: " + detail
		e.RetryAfter = retryAfterOr(header, defaultUnavailableRetryAfter)
	case status >= 500:
		e.Code = translator.EUnavailable
		e.Message = "portal unavailable: " + detail
		e.RetryAfter = retryAfterOr(header, defaultUnavailableRetryAfter)
	default:
		e.Code = translator.EInternal
		e.Message = "unexpected portal answer: " + detail
	}
	return e
}

// describe renders a portal answer for a message: "404 USER_NOT_FOUND: no user with idUser 42", or
// "503 (no portal error body)" for an HTML page or an empty body.
func describe(status int, code, message string) string {
	s := fmt.Sprintf("%d", status)
	if code == "" {
		return s + " (no portal error body)"
	}
	s += " " + code
	if message != "" {
		s += ": " + message
	}
	return s
}

func retryAfterOr(h http.Header, def time.Duration) time.Duration {
	if d := parseRetryAfter(h, time.Now()); d > 0 {
		return d
	}
	return def
}

func firstNonZero(vs ...int64) int64 {
	for _, v := range vs {
		if v != 0 {
			return v
		}
	}
	return 0
}

// badAnswer is the error of a 2xx answer the client cannot read.
func badAnswer(op string, status int, err error) *translator.Error {
	return &translator.Error{
		Code:    translator.EInternal,
		Message: fmt.Sprintf("portal %s answered %d with a body the gateway cannot read", op, status),
		Status:  status,
		Err:     err,
	}
}
