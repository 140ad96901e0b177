package portalsim

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultBasePath is the base path of the API when Options.BasePath is empty.
const DefaultBasePath = "/portal"

// Options configures a Sim.
type Options struct {
	// BasePath is the path the API is served under (default "/portal"; "/" serves it at the root).
	BasePath string
	// ClientID and ClientSecret are the OAuth client the token endpoint accepts.
	ClientID, ClientSecret string
	// StaticToken, when set, is a bearer token with both scopes that never expires, accepted beside
	// the OAuth tokens.
	StaticToken string
	// AllowDelete lets DELETE /users({idUser}) delete (204) instead of answering 405.
	AllowDelete bool
	// Faults are the initial faults; the zero value is DefaultFaults(). A zero TokenTTLSeconds or
	// RetryAfterSeconds takes its default value (SetFaults can set RetryAfterSeconds to 0).
	Faults Faults
	// Seed fixes the sequence of random draws of the faults; 0 picks a random seed (see Sim.Seed).
	Seed int64
}

// Sim is the reference portal. It is an http.Handler serving the API under its base path and the
// test surface under /_sim at the root; it is safe for concurrent use.
type Sim struct {
	basePath     string
	clientID     string
	clientSecret string
	staticToken  string
	allowDelete  bool

	faults   atomic.Pointer[Faults]
	faultsMu sync.Mutex // serialises fault updates
	draws    *draws

	tokens tokenStore
	store  *store
	stats  stats

	tracePrefix string
	traceSeq    atomic.Uint64
}

// New returns a Sim. It fails when the base path does not start with "/", when a client ID comes
// without a secret (or the reverse), when neither a client nor a static token is configured, or when
// the faults are invalid.
func New(opts Options) (*Sim, error) {
	base := opts.BasePath
	switch {
	case base == "":
		base = DefaultBasePath
	case !strings.HasPrefix(base, "/"):
		return nil, fmt.Errorf("portalsim: base path %q must start with /", base)
	}
	base = strings.TrimRight(base, "/")
	if (opts.ClientID == "") != (opts.ClientSecret == "") {
		return nil, errors.New("portalsim: client ID and client secret go together")
	}
	if opts.ClientID == "" && opts.StaticToken == "" {
		return nil, errors.New("portalsim: configure a client (ID and secret), a static token, or both")
	}
	f := opts.Faults
	if f.TokenTTLSeconds == 0 {
		f.TokenTTLSeconds = DefaultFaults().TokenTTLSeconds
	}
	if f.RetryAfterSeconds == 0 {
		f.RetryAfterSeconds = DefaultFaults().RetryAfterSeconds
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("portalsim: faults: %w", err)
	}
	seed := opts.Seed
	if seed == 0 {
		seed = randomSeed()
	}
	var prefix [8]byte
	_, _ = rand.Read(prefix[:]) // crypto/rand.Read never fails
	s := &Sim{
		basePath:     base,
		clientID:     opts.ClientID,
		clientSecret: opts.ClientSecret,
		staticToken:  opts.StaticToken,
		allowDelete:  opts.AllowDelete,
		draws:        newDraws(seed),
		store:        newStore(),
		tracePrefix:  hex.EncodeToString(prefix[:]),
	}
	s.faults.Store(&f)
	return s, nil
}

// randomSeed returns a random non-zero seed.
func randomSeed() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.LittleEndian.Uint64(b[:]) | 1)
}

// BasePath returns the path the API is served under ("" for the root).
func (s *Sim) BasePath() string { return s.basePath }

// Seed returns the seed of the random draws, so that a run with a random seed can be repeated.
func (s *Sim) Seed() int64 { return s.draws.seed }

// Faults returns the current fault set.
func (s *Sim) Faults() Faults { return *s.faults.Load() }

// SetFaults replaces the whole fault set. It returns an error, and changes nothing, when f is
// invalid (see Faults.Validate).
func (s *Sim) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	s.faultsMu.Lock()
	s.faults.Store(&f)
	s.faultsMu.Unlock()
	return nil
}

// Reset forgets users, groups, issued tokens and counters (ids start again at 1) and restarts the
// random sequence from the seed. It keeps the faults, the static token and the client.
func (s *Sim) Reset() {
	s.store.reset()
	s.tokens.reset()
	s.stats.reset()
	s.draws.restart()
}

// ServeHTTP serves the API under the base path and /_sim/* at the root.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_sim" || strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveSim(w, r)
		return
	}
	rt := matchRoute(r.URL.Path, s.basePath)
	if rt.id == routeToken {
		status := s.serveToken(w, r)
		s.stats.add(r.Method, rt.id, status)
		return
	}
	s.serveAPI(w, r, rt)
}

// serveAPI runs an API call through the checks of docs/portal-api.md section 5, in order: injected faults,
// authentication, routing and method, then the handler (validation); a successful write may then be
// answered late (slow commit).
func (s *Sim) serveAPI(w http.ResponseWriter, r *http.Request, rt route) {
	defer s.stats.enter()()
	f := s.faults.Load()
	if f.LatencyMs > 0 || f.JitterMs > 0 {
		delay := f.LatencyMs + s.draws.upTo(f.JitterMs)
		sleep(r.Context(), time.Duration(delay)*time.Millisecond)
	}
	if s.draws.hit(f.DropRate) {
		s.stats.add(r.Method, rt.id, 0)
		drop(w)
		return
	}
	rp := s.answer(w, r, rt, f)
	if rp.err == nil && isWrite(r.Method) && s.draws.hit(f.SlowCommitRate) {
		sleep(r.Context(), time.Duration(f.SlowCommitMs)*time.Millisecond)
	}
	// Counted before the answer is written, so that a client that has its answer also sees the call
	// in /_sim/stats (a test snapshotting the counts right after a call must not miss it).
	s.stats.add(r.Method, rt.id, rp.status)
	s.write(w, rp, f.HTMLErrors)
}

// answer returns the answer of an API call that was not dropped. A panic of a handler is answered
// 500 INTERNAL, as a real server would.
func (s *Sim) answer(w http.ResponseWriter, r *http.Request, rt route, f *Faults) (rp reply) {
	defer func() {
		if v := recover(); v != nil {
			rp = errorReply(newError(http.StatusInternalServerError, CodeInternal, "", "internal error: %v", v))
		}
	}()
	if s.draws.hit(f.ErrorRate) {
		return errorReply(newError(http.StatusServiceUnavailable, CodeUnavailable, "", "the portal is unavailable"))
	}
	if s.draws.hit(f.RateLimitRate) {
		e := newError(http.StatusTooManyRequests, CodeRateLimited, "", "too many requests: retry after %d seconds", f.RetryAfterSeconds)
		e.retryAfter = strconv.Itoa(f.RetryAfterSeconds)
		return errorReply(e)
	}
	if err := s.authenticate(r); err != nil {
		return errorReply(err)
	}
	if rt.id == routeUnmatched {
		return errorReply(newError(http.StatusNotFound, CodeNotFound, "", "no route %s", r.URL.Path))
	}
	if allow, ok := rt.allowed(r.Method, s.allowDelete); !ok {
		e := newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "", "%s is not allowed on %s", r.Method, rt.template())
		e.allow = allow
		return errorReply(e)
	}
	return s.handle(w, r, rt)
}

// handle dispatches a routed call whose method the route allows.
func (s *Sim) handle(w http.ResponseWriter, r *http.Request, rt route) reply {
	switch rt.id {
	case routeUsers:
		if r.Method == http.MethodGet {
			return s.listUsers(r)
		}
		return s.createUser(w, r)
	case routeUser:
		switch r.Method {
		case http.MethodGet:
			return s.getUser(rt)
		case http.MethodPatch:
			return s.updateUser(w, r, rt)
		}
		return s.deleteUser(rt)
	case routeUserDisable:
		return s.setEnabled(rt, false)
	case routeUserEnable:
		return s.setEnabled(rt, true)
	case routeUserGroups:
		return s.listUserGroups(r, rt)
	case routeGroups:
		if r.Method == http.MethodGet {
			return s.listGroups(r)
		}
		return s.createGroup(w, r)
	case routeGroup:
		switch r.Method {
		case http.MethodGet:
			return s.getGroup(rt)
		case http.MethodPatch:
			return s.updateGroup(w, r, rt)
		}
		return s.deleteGroup(rt)
	case routeGroupMembers:
		return s.listMembers(r, rt)
	case routeGroupMember:
		return s.changeMember(r, rt)
	}
	return errorReply(newError(http.StatusInternalServerError, CodeInternal, "", "route %d has no handler", rt.id))
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// drop closes the connection without answering. When the connection cannot be taken over (HTTP/2),
// it aborts the handler, which resets the stream.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
