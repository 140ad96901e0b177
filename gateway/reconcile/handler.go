package reconcile

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"time"
)

// HandlerOptions are the dependencies of Handler.
type HandlerOptions struct {
	// Options returns the options of a run for a tenant ("default" unless the request names one), or
	// an error for a tenant that does not exist. It is called per run, so a run uses the portal
	// client in force when it starts.
	Options func(tenant string) (Options, error)
	// Observe, when set, is called after every run with its report or error (for metrics and logs).
	Observe func(rep *Report, err error)
}

// Handler serves GET /admin/reconcile (mount it behind the admin token). It runs one reconcile at a
// time: a request while another runs is answered 409 at once (rather than queued: a run reads the
// whole portal, and a caller that wants a fresh answer can retry once the running one ends). The run
// lasts as long as the request; the write deadline of the admin listener is lifted for it.
//
// Answers: 200 with the Report as JSON (?format=table: the table as text/plain), whether or not it
// found drift; 400 for an unknown format or tenant; 409 while another run is in progress; 503 when
// the portal or the store could not be read, with {"error":..., "side":"portal"|"store"}.
type Handler struct {
	opts    HandlerOptions
	running atomic.Bool
}

// NewHandler returns the admin handler.
func NewHandler(opts HandlerOptions) *Handler { return &Handler{opts: opts} }

// ServeHTTP serves GET /admin/reconcile?tenant=NAME&format=json|table.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "table" {
		writeError(w, http.StatusBadRequest, "format must be json or table", "")
		return
	}
	tenant := r.URL.Query().Get("tenant")
	if tenant == "" {
		tenant = "default"
	}
	opts, err := h.opts.Options(tenant)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "")
		return
	}
	if !h.running.CompareAndSwap(false, true) {
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusConflict, "a reconcile is already running; retry when it has finished", "")
		return
	}
	defer h.running.Store(false)
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})

	rep, err := Run(r.Context(), opts)
	if h.opts.Observe != nil {
		h.opts.Observe(rep, err)
	}
	if err != nil {
		var re *Error
		side := ""
		if errors.As(err, &re) {
			side = re.Side
		}
		writeError(w, http.StatusServiceUnavailable, "reconcile could not run: "+err.Error(), side)
		return
	}
	if format == "table" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_ = WriteTable(w, rep)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = WriteJSON(w, rep)
}

func writeError(w http.ResponseWriter, status int, msg, side string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]string{"error": msg}
	if side != "" {
		body["side"] = side
	}
	_ = json.NewEncoder(w).Encode(body)
}
