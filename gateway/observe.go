package gateway

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/scim-gateway/scim-gateway/gateway/translog"
)

// observe is the middleware that measures every request, writes the access log (no PII, no secret:
// the query string is decoded and masked by accessQuery) and finishes the request's translation record.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // render now, so that the status is known here
		}
		req, res := c.Request(), c.Response()
		status, route, d := res.Status, c.Path(), time.Since(start)
		rq := reqOf(c)
		tenant := rq.tenant()
		s.metrics.ObserveSCIM(tenant, route, req.Method, status, d)
		if rec := rq.rec; rec != nil {
			if o := rec.Outcome(); o == "" || (status >= http.StatusBadRequest && o != translog.OutcomeConflict) {
				rec.SetOutcome(defaultOutcome(status))
			}
			if err != nil && status >= http.StatusBadRequest {
				if rq.errBody != nil {
					rec.SetError(errorDetail(*rq.errBody))
				}
			}
			if r, emitted := rec.Finish(status); emitted {
				s.metrics.Translation(tenant, r.Op, r.Outcome)
			}
		}
		s.logger.Info("scim request",
			zap.String("requestId", rq.id),
			zap.String("tenant", tenant),
			zap.String("token", rq.token),
			zap.String("method", req.Method),
			zap.String("route", route),
			zap.String("query", accessQuery(req.URL.RawQuery)),
			zap.Int("status", status),
			zap.Duration("duration", d),
			zap.String("remote", c.RealIP()),
			TraceField(req.Context()),
		)
		return nil
	}
}

func defaultOutcome(status int) string {
	switch {
	case status == http.StatusNotFound:
		return translog.OutcomeNotFound
	case status >= http.StatusBadRequest:
		return translog.OutcomeFailed
	default:
		return translog.OutcomeFound
	}
}

type detailError string

func (e detailError) Error() string { return string(e) }

func errorDetail(b ErrorBody) error {
	return detailError(strings.TrimSpace(b.Status + " " + b.ScimType + ": " + b.Detail))
}

// authenticated completes the request's value once its token matched: the token's name, the live
// setup the request runs on to its end, and, on a resource route, its translation record (also carried
// by the context, for the portal-call hook). The portal calls' context carries the request id.
func (s *Server) authenticated(c echo.Context, tokenName string, live *Live) {
	rq := reqOf(c)
	rq.token = tokenName
	rq.live = live
	r := c.Request()
	ctx := r.Context()
	if s.portalCtx != nil {
		ctx = s.portalCtx(ctx, rq.id)
	}
	if rq.rec = s.startRecord(c, rq); rq.rec != nil {
		ctx = translog.WithRecorder(ctx, rq.rec)
	}
	c.SetRequest(r.WithContext(ctx))
}

// startRecord begins the translation record of a SCIM request on a resource route; nil on other routes.
func (s *Server) startRecord(c echo.Context, rq *request) *translog.Recorder {
	path := c.Path()
	var resource string
	switch {
	case strings.HasPrefix(path, Base+"/Users"):
		resource = translog.ResourceUser
	case strings.HasPrefix(path, Base+"/Groups"):
		resource = translog.ResourceGroup
	default:
		return nil
	}
	var op string
	switch c.Request().Method {
	case http.MethodPost:
		op = translog.OpCreate
	case http.MethodPut:
		op = translog.OpReplace
	case http.MethodPatch:
		op = translog.OpPatch
	case http.MethodDelete:
		op = translog.OpDelete
	default:
		op = translog.OpList
		if strings.HasSuffix(path, "/:id") {
			op = translog.OpGet
		}
	}
	rec := s.translog.Start(rq.id, rq.token)
	rec.SetTenant(rq.live.Tenant)
	rec.SetOperation(op, resource)
	rec.SetSCIMID(c.Param("id"))
	rec.SetTraceID(traceIDOf(c.Request().Context()))
	return rec
}
