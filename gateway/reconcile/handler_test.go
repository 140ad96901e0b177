package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scim-gateway/scim-gateway/translator"
)

// blockingPortal holds every ListUsers until release is closed, and says when one has started.
type blockingPortal struct {
	Portal
	started chan struct{}
	release chan struct{}
}

func (p blockingPortal) ListUsers(ctx context.Context, f []translator.PortalFilter, page translator.Page) (translator.UserList, error) {
	select {
	case p.started <- struct{}{}:
	default:
	}
	<-p.release
	return p.Portal.ListUsers(ctx, f, page)
}

func serve(h http.Handler, target string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	return w
}

// TestHandlerOneAtATime: a request while a run is in progress gets 409; once it ends, the next runs.
func TestHandlerOneAtATime(t *testing.T) {
	f := newFixture(t, nil)
	f.user("bob", "", false)
	bp := blockingPortal{Portal: f.client, started: make(chan struct{}, 1), release: make(chan struct{})}
	var observed []error
	h := NewHandler(HandlerOptions{
		Options: func(tenant string) (Options, error) {
			if tenant != "default" {
				return Options{}, errors.New("unknown tenant " + tenant)
			}
			o := f.options()
			o.Portal = bp
			return o, nil
		},
		Observe: func(_ *Report, err error) { observed = append(observed, err) },
	})
	first := make(chan *httptest.ResponseRecorder)
	go func() { first <- serve(h, "/admin/reconcile") }()
	<-bp.started
	if w := serve(h, "/admin/reconcile"); w.Code != http.StatusConflict || w.Header().Get("Retry-After") == "" {
		t.Fatalf("second request while one runs: %d %s", w.Code, w.Body)
	}
	close(bp.release)
	w := <-first
	var rep Report
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &rep) != nil || rep.Summary.ByKind[KindUnmanaged] != 1 {
		t.Fatalf("first request: %d %s", w.Code, w.Body)
	}
	w = serve(h, "/admin/reconcile?format=table")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "unmanaged (1)") || !strings.Contains(w.Body.String(), "drift: 1 finding(s)") {
		t.Fatalf("table after the first ended: %d %s", w.Code, w.Body)
	}
	if len(observed) != 2 || observed[0] != nil {
		t.Fatalf("observed runs = %v", observed)
	}
	if w := serve(h, "/admin/reconcile?tenant=fabrikam"); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "unknown tenant") {
		t.Fatalf("unknown tenant: %d %s", w.Code, w.Body)
	}
	if w := serve(h, "/admin/reconcile?format=xml"); w.Code != http.StatusBadRequest {
		t.Fatalf("bad format: %d %s", w.Code, w.Body)
	}
	f.srv.Close()
	w = serve(h, "/admin/reconcile")
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"side":"portal"`) {
		t.Fatalf("portal down: %d %s", w.Code, w.Body)
	}
}
