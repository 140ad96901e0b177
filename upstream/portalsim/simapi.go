package portalsim

import (
	"io"
	"net/http"
)

// serveSim serves the unauthenticated test surface at the root: GET /_sim/stats, POST /_sim/reset,
// GET and PUT /_sim/faults. These calls are not counted and get no faults.
func (s *Sim) serveSim(w http.ResponseWriter, r *http.Request) {
	var allow string
	switch r.URL.Path {
	case "/_sim/stats":
		if r.Method == http.MethodGet {
			s.write(w, reply{status: http.StatusOK, body: mustJSON(s.Stats())}, false)
			return
		}
		allow = "GET"
	case "/_sim/reset":
		if r.Method == http.MethodPost {
			s.Reset()
			s.write(w, reply{status: http.StatusNoContent}, false)
			return
		}
		allow = "POST"
	case "/_sim/faults":
		switch r.Method {
		case http.MethodGet:
			s.write(w, reply{status: http.StatusOK, body: mustJSON(s.Faults())}, false)
			return
		case http.MethodPut:
			s.write(w, s.putFaults(w, r), false)
			return
		}
		allow = "GET, PUT"
	default:
		s.write(w, errorReply(newError(http.StatusNotFound, CodeNotFound, "", "no route %s", r.URL.Path)), false)
		return
	}
	e := newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "", "%s is not allowed on %s", r.Method, r.URL.Path)
	e.allow = allow
	s.write(w, errorReply(e), false)
}

// putFaults sets the faults named in the body; an unknown key or a bad value changes nothing.
func (s *Sim) putFaults(w http.ResponseWriter, r *http.Request) reply {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return errorReply(validationError("", "cannot read body: %v", err))
	}
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	next, key, err := mergeFaults(*s.faults.Load(), body)
	if err != nil {
		return errorReply(validationError(key, "%v", err))
	}
	s.faults.Store(&next)
	return reply{status: http.StatusOK, body: mustJSON(next)}
}
