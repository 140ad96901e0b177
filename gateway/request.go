package gateway

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/scim-gateway/scim-gateway/gateway/translog"
)

// request is what the front end knows of one SCIM request. It is made once when the request arrives
// (begin), completed by authentication (the token, the live setup, the translation record) and by the
// handlers, and read by the middleware that finishes the request. It is the only per-request value the
// front end keeps: every part reaches it through reqOf.
type request struct {
	id    string // the X-Request-Id, sent back and on to the portal
	token string // the name of the token the request authenticated with; empty before authentication
	// pathTenant is the tenant the URL names (/tenants/{name}/scim/v2/...); empty on /scim/v2/...
	pathTenant string

	// live is the setup the request runs on, picked when it authenticated and kept to its end (a
	// reload while it runs does not change it); nil before authentication.
	live *Live
	// rec is the request's translation record; nil (and safe to use) when the request is not recorded.
	rec *translog.Recorder
	// errBody is the SCIM error rendered for the request, if any (for the access log and the record).
	errBody *ErrorBody
	// onDelivered is what to record once a create's answer reached the client; nil: nothing.
	onDelivered func()
}

// tenant is the name of the tenant the request runs for; empty before authentication.
func (r *request) tenant() string {
	if r.live == nil {
		return ""
	}
	return r.live.Tenant
}

type requestKey struct{}

// begin is the first middleware: it makes the request's value, with the client's X-Request-Id when it
// is sane or a new one, echoes the id back and, when tracing is on, starts the request's server span,
// which it ends once the answer is written (so that the span covers the whole request, and its status
// is the one sent).
func (s *Server) begin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		id := r.Header.Get(HeaderRequestID)
		if !saneRequestID(id) {
			id = newRequestID()
		}
		c.Response().Header().Set(HeaderRequestID, id)
		ctx := context.WithValue(r.Context(), requestKey{}, &request{id: id})
		if s.tracer == nil {
			c.SetRequest(r.WithContext(ctx))
			return next(c)
		}
		ctx, span := s.startServerSpan(ctx, r.Header)
		answered := false
		defer func() { endServerSpan(c, span, answered) }()
		c.SetRequest(r.WithContext(ctx))
		if err := next(c); err != nil {
			c.Error(err)
		}
		answered = true
		return nil
	}
}

// reqOf returns the request's value. A context that did not pass through the server's middleware (a
// test of a helper) gets a blank one of its own.
func reqOf(c echo.Context) *request {
	if r, ok := c.Request().Context().Value(requestKey{}).(*request); ok {
		return r
	}
	return &request{}
}
