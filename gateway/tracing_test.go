package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/scim-gateway/scim-gateway/translator"
)

// tracedServer is a rule server whose spans go to the returned recorder, sampled as
// parentbased_always_on (the gateway's default sampler).
func tracedServer(t *testing.T, p *fakePortal) (*ruleServer, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
	return newRuleServerTraced(t, p, nil, tp), rec
}

func spanAttrs(sp sdktrace.ReadOnlySpan) map[string]string {
	m := map[string]string{}
	for _, kv := range sp.Attributes() {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

// The server span of a SCIM request: named by method and route template, a server span continuing an
// incoming traceparent, with the request id, tenant, operation, resource type and status, the portal
// call made under it, and the trace id in the translation record.
func TestServerSpan(t *testing.T) {
	users := newPortalUsers()
	p := userPortal(t, users)
	s, rec := tracedServer(t, p)
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	id := scimID(t, s.send(t, http.MethodPost, Base+"/Users", aliceBody, "Traceparent", "00-"+traceID+"-"+parentID+"-01"))
	if rq := s.lastRecord(t); rq.TraceID != traceID {
		t.Fatalf("translation record trace id %q, want %q", rq.TraceID, traceID)
	}
	rec.Reset()

	var portalSpan trace.SpanContext
	get := p.getUser
	p.getUser = func(ctx context.Context, idUser int64) (translator.PortalUser, error) {
		portalSpan = trace.SpanContextFromContext(ctx)
		return get(ctx, idUser)
	}
	w := s.send(t, http.MethodGet, Base+"/Users/"+id, "", "Traceparent", "00-"+traceID+"-"+parentID+"-01")
	if w.Code != http.StatusOK {
		t.Fatalf("GET: %d %s", w.Code, w.Body)
	}
	ended := rec.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans ended, want the server span only", len(ended))
	}
	sp := ended[0]
	if sp.Name() != "GET /scim/v2/Users/:id" || sp.SpanKind() != trace.SpanKindServer {
		t.Fatalf("span %q (%v), want server span GET /scim/v2/Users/:id", sp.Name(), sp.SpanKind())
	}
	if sp.SpanContext().TraceID().String() != traceID || sp.Parent().SpanID().String() != parentID {
		t.Fatalf("span trace %s parent %s, want the incoming %s/%s", sp.SpanContext().TraceID(), sp.Parent().SpanID(), traceID, parentID)
	}
	want := map[string]string{"http.request.method": "GET", "http.route": "/scim/v2/Users/:id", "http.response.status_code": "200",
		"scim.request_id": w.Header().Get(HeaderRequestID), "scim.tenant": "default", "scim.operation": "get", "scim.resource_type": "User"}
	got := spanAttrs(sp)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("attributes %v, want exactly %v", got, want)
	}
	if portalSpan.SpanID() != sp.SpanContext().SpanID() {
		t.Fatalf("the portal call ran under span %s, want the server span %s", portalSpan.SpanID(), sp.SpanContext().SpanID())
	}
}

// A request whose portal call panics is answered 500 by the recover middleware; its server span is
// ended with that status and marked failed.
func TestServerSpanOfAPanic(t *testing.T) {
	users := newPortalUsers()
	p := userPortal(t, users)
	s, rec := tracedServer(t, p)
	id := scimID(t, s.send(t, http.MethodPost, Base+"/Users", aliceBody))
	rec.Reset()
	p.getUser = func(context.Context, int64) (translator.PortalUser, error) { panic("portal client bug") }
	if w := s.send(t, http.MethodGet, Base+"/Users/"+id, ""); w.Code != http.StatusInternalServerError {
		t.Fatalf("GET: %d, want 500", w.Code)
	}
	ended := rec.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans ended, want 1", len(ended))
	}
	if got := spanAttrs(ended[0])["http.response.status_code"]; got != "500" || ended[0].Status().Code != codes.Error {
		t.Fatalf("span status code %q, status %v; want 500 and Error", got, ended[0].Status())
	}
}

// A request that is not sampled (incoming traceparent, flag 00) records nothing, puts no trace id in
// its translation record, and what runs under it (the portal call) sees its trace with the sampled
// flag off, so that the portal is told so.
func TestServerSpanNotSampled(t *testing.T) {
	users := newPortalUsers()
	p := userPortal(t, users)
	s, rec := tracedServer(t, p)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	unsampled := "00-" + traceID + "-00f067aa0ba902b7-00"
	id := scimID(t, s.send(t, http.MethodPost, Base+"/Users", aliceBody, "Traceparent", unsampled))
	if rq := s.lastRecord(t); rq.TraceID != "" {
		t.Fatalf("translation record trace id %q for an unsampled request, want none", rq.TraceID)
	}

	var portalSpan trace.SpanContext
	get := p.getUser
	p.getUser = func(ctx context.Context, idUser int64) (translator.PortalUser, error) {
		portalSpan = trace.SpanContextFromContext(ctx)
		return get(ctx, idUser)
	}
	if w := s.send(t, http.MethodGet, Base+"/Users/"+id, "", "Traceparent", unsampled); w.Code != http.StatusOK {
		t.Fatalf("GET: %d", w.Code)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans recorded for an unsampled request, want 0", n)
	}
	if portalSpan.TraceID().String() != traceID || portalSpan.IsSampled() || !portalSpan.IsValid() {
		t.Fatalf("the portal call saw %v, want trace %s, valid, not sampled", portalSpan, traceID)
	}
}

// A panic that passes the recover middleware on its way out (one in a pre-routing middleware) still
// ends the request's server span: failed, "panic", and without a status, which was never sent.
func TestServerSpanOfAPanicPastRecover(t *testing.T) {
	s, rec := tracedServer(t, userPortal(t, newPortalUsers()))
	h := s.begin(func(echo.Context) error { panic("pre-routing bug") })
	c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, Base+"/Users", nil), httptest.NewRecorder())
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not go on past begin")
			}
		}()
		_ = h(c)
	}()
	ended := rec.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans ended, want the server span", len(ended))
	}
	sp := ended[0]
	if st := sp.Status(); st.Code != codes.Error || st.Description != "panic" {
		t.Fatalf("span status %v, want Error \"panic\"", st)
	}
	if got, ok := spanAttrs(sp)["http.response.status_code"]; ok {
		t.Fatalf("span has status code %s for a request that was never answered", got)
	}
	if sp.Name() != "GET unmatched" {
		t.Fatalf("span %q, want GET unmatched", sp.Name())
	}
}
