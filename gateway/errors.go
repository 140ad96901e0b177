package gateway

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/scim-gateway/scim-gateway/translator"
)

// SchemaError is the URN of a SCIM error body (RFC 7644 section 3.12).
const SchemaError = "urn:ietf:params:scim:api:messages:2.0:Error"

// MediaTypeSCIM is the media type of every SCIM answer.
const MediaTypeSCIM = "application/scim+json; charset=utf-8"

// defaultRetryAfter is the Retry-After sent with a 503 or 429 when nothing better is known.
const defaultRetryAfter = 5 * time.Second

// ErrorBody is a SCIM error response.
type ErrorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail,omitempty"`
}

// statusOf maps the domain's error vocabulary onto HTTP statuses (DESIGN.md's error table).
func statusOf(code translator.Code) int {
	switch code {
	case translator.EInvalid:
		return http.StatusBadRequest
	case translator.ENotFound:
		return http.StatusNotFound
	case translator.EConflict:
		return http.StatusConflict
	case translator.ERateLimited:
		return http.StatusTooManyRequests
	case translator.EUnavailable, translator.EOutcomeUnknown:
		return http.StatusServiceUnavailable
	case translator.EUnauthorized:
		return http.StatusBadGateway
	default:
		return http.StatusInternalServerError
	}
}

// ErrorRenderer renders every error a handler or middleware returns as a SCIM error: the one place
// where the error vocabulary becomes HTTP. Internal errors are logged with the request id and shown as
// "internal error".
type ErrorRenderer struct {
	Logger *zap.Logger
}

// Handle is an echo.HTTPErrorHandler.
func (r *ErrorRenderer) Handle(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, body, retryAfter := r.render(err, c)
	if retryAfter > 0 {
		secs := int(math.Ceil(retryAfter.Seconds()))
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	}
	reqOf(c).errBody = &body
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if err := writeSCIM(c, status, body); err != nil {
		r.Logger.Debug("writing error response", zap.Error(err))
	}
}

func (r *ErrorRenderer) render(err error, c echo.Context) (int, ErrorBody, time.Duration) {
	body := ErrorBody{Schemas: []string{SchemaError}}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status := he.Code
		body.Status = strconv.Itoa(status)
		switch status {
		case http.StatusNotFound:
			body.Detail = "no such endpoint: " + c.Request().URL.Path
		case http.StatusMethodNotAllowed:
			body.Detail = "method " + c.Request().Method + " is not allowed on " + c.Request().URL.Path
		case http.StatusRequestEntityTooLarge:
			body.Detail = "request body is larger than the configured limit (limits.maxBodyBytes)"
		case http.StatusUnsupportedMediaType:
			body.Detail = "unsupported Content-Type: send application/scim+json or application/json"
		case http.StatusUnauthorized:
			body.Detail = "missing or invalid bearer token"
		default:
			body.Detail = http.StatusText(status)
			if m, ok := he.Message.(string); ok && m != "" {
				body.Detail = m
			}
		}
		return status, body, 0
	}
	e := translator.AsError(err)
	if e == nil || e.Code == translator.EInternal || e.Code == "" {
		r.Logger.Error("internal error", zap.String("requestId", reqOf(c).id), TraceField(c.Request().Context()), zap.Error(err))
		body.Status = "500"
		body.Detail = "internal error"
		return http.StatusInternalServerError, body, 0
	}
	status := statusOf(e.Code)
	body.Status = strconv.Itoa(status)
	body.ScimType = e.ScimType
	if e.Code == translator.EConflict && body.ScimType == "" {
		body.ScimType = translator.ScimUniqueness
	}
	body.Detail = e.Message
	var retryAfter time.Duration
	switch e.Code {
	case translator.ERateLimited, translator.EUnavailable, translator.EOutcomeUnknown:
		retryAfter = e.RetryAfter
		if retryAfter <= 0 {
			retryAfter = defaultRetryAfter
		}
	case translator.EUnauthorized:
		r.Logger.Warn("portal refused the gateway", zap.String("requestId", reqOf(c).id), TraceField(c.Request().Context()), zap.Error(err))
	}
	if body.Detail == "" {
		body.Detail = http.StatusText(status)
	}
	return status, body, retryAfter
}
