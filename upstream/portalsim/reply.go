package portalsim

import (
	"fmt"
	"html"
	"net/http"
	"strconv"
)

// Error codes of docs/portal-api.md section 5.
const (
	CodeValidationFailed       = "VALIDATION_FAILED"
	CodeFilterNotSupported     = "FILTER_NOT_SUPPORTED"
	CodeUserNotFound           = "USER_NOT_FOUND"
	CodeGroupNotFound          = "GROUP_NOT_FOUND"
	CodeNotAMember             = "NOT_A_MEMBER"
	CodeUserAlreadyExists      = "USER_ALREADY_EXISTS"
	CodeGroupAlreadyExists     = "GROUP_ALREADY_EXISTS"
	CodeUserDeleteNotSupported = "USER_DELETE_NOT_SUPPORTED"
	CodeUnauthorized           = "UNAUTHORIZED"
	CodeInsufficientScope      = "INSUFFICIENT_SCOPE"
	CodeNotFound               = "NOT_FOUND"
	CodeMethodNotAllowed       = "METHOD_NOT_ALLOWED"
	CodeRateLimited            = "RATE_LIMITED"
	CodeInternal               = "INTERNAL"
	CodeUnavailable            = "UNAVAILABLE"
)

const (
	jsonContentType             = "application/json; charset=utf-8"
	htmlContentType             = "text/html; charset=utf-8"
	wwwAuthenticateInvalidToken = `Bearer error="invalid_token"`
)

// ErrorBody is the error body of every answer that is not an OAuth error (docs/portal-api.md section 5).
type ErrorBody struct {
	Error   ErrorObject `json:"error"`
	TraceID string      `json:"traceId"`
}

// ErrorObject is the "error" member of an ErrorBody. Target is null when no field is at fault;
// ExistingIDUser and ExistingIDGroup are present only on the 409 of a create or rename.
type ErrorObject struct {
	Code            string  `json:"code"`
	Message         string  `json:"message"`
	Target          *string `json:"target"`
	ExistingIDUser  *int64  `json:"existingIdUser,omitempty"`
	ExistingIDGroup *int64  `json:"existingIdGroup,omitempty"`
}

// apiError is an error answer before rendering.
type apiError struct {
	status          int
	code            string
	message         string
	target          string
	existingIDUser  int64
	existingIDGroup int64
	allow           string // Allow header of a 405
	retryAfter      string // Retry-After header of a 429
	wwwAuthenticate bool   // 401 of bearer authentication
}

func newError(status int, code, target, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, target: target, message: fmt.Sprintf(format, args...)}
}

func validationError(target, format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, CodeValidationFailed, target, format, args...)
}

// reply is the answer of a handler, written once all faults and the slow commit are applied.
type reply struct {
	status   int
	body     []byte // JSON body of a success; nil for none
	location string
	err      *apiError
}

func errorReply(e *apiError) reply { return reply{status: e.status, err: e} }

// write renders rp. HTML error pages are used for 5xx answers when htmlErrors is set.
func (s *Sim) write(w http.ResponseWriter, rp reply, htmlErrors bool) {
	h := w.Header()
	if rp.err == nil {
		if rp.location != "" {
			h.Set("Location", rp.location)
		}
		if rp.body != nil {
			h.Set("Content-Type", jsonContentType)
			h.Set("Content-Length", strconv.Itoa(len(rp.body)))
		}
		w.WriteHeader(rp.status)
		if rp.body != nil {
			_, _ = w.Write(rp.body)
		}
		return
	}
	e := rp.err
	if e.allow != "" {
		h.Set("Allow", e.allow)
	}
	if e.retryAfter != "" {
		h.Set("Retry-After", e.retryAfter)
	}
	if e.wwwAuthenticate {
		h.Set("WWW-Authenticate", wwwAuthenticateInvalidToken)
	}
	traceID := s.traceID()
	var body []byte
	if htmlErrors && e.status >= 500 {
		h.Set("Content-Type", htmlContentType)
		body = htmlErrorPage(e.status, traceID)
	} else {
		h.Set("Content-Type", jsonContentType)
		body = encodeError(e, traceID)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

func encodeError(e *apiError, traceID string) []byte {
	obj := ErrorObject{Code: e.code, Message: e.message}
	if e.target != "" {
		obj.Target = &e.target
	}
	if e.existingIDUser != 0 {
		obj.ExistingIDUser = &e.existingIDUser
	}
	if e.existingIDGroup != 0 {
		obj.ExistingIDGroup = &e.existingIDGroup
	}
	return mustJSON(ErrorBody{Error: obj, TraceID: traceID})
}

// htmlErrorPage is the page a web server in front of a failing portal answers with.
func htmlErrorPage(status int, traceID string) []byte {
	title := html.EscapeString(fmt.Sprintf("%d %s", status, http.StatusText(status)))
	return fmt.Appendf(nil, "<!DOCTYPE html>\n<html><head><title>%s</title></head>\n"+
		"<body><h1>%s</h1><p>The server is temporarily unable to service your request.</p>"+
		"<hr><address>reference portal, trace %s</address></body></html>\n", title, title, html.EscapeString(traceID))
}

// traceID returns a new id for an error body: a random per-process prefix and a counter.
func (s *Sim) traceID() string {
	n := s.traceSeq.Add(1)
	return s.tracePrefix + fmt.Sprintf("%016x", n)
}
