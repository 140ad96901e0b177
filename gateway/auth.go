package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

// Token is one accepted SCIM bearer token: a name for logs and the token's value.
type Token struct {
	Name  string
	Value string
	// Tenant is the tenant the token picks; empty: DefaultTenant.
	Tenant string
}

type tokenDigest struct {
	name, tenant string
	digest       [sha256.Size]byte
}

// Tokens is the set of accepted bearer tokens. Only SHA-256 digests are kept; a presented token is
// compared with every digest in constant time. Set swaps the whole set atomically (token rotation).
type Tokens struct {
	set atomic.Pointer[[]tokenDigest]
}

// NewTokens returns a set holding tokens.
func NewTokens(tokens []Token) *Tokens {
	t := &Tokens{}
	t.Set(tokens)
	return t
}

// Set replaces the accepted tokens.
func (t *Tokens) Set(tokens []Token) {
	set := make([]tokenDigest, 0, len(tokens))
	for _, tok := range tokens {
		if tok.Value == "" {
			continue
		}
		tenant := tok.Tenant
		if tenant == "" {
			tenant = DefaultTenant
		}
		set = append(set, tokenDigest{name: tok.Name, tenant: tenant, digest: sha256.Sum256([]byte(tok.Value))})
	}
	t.set.Store(&set)
}

// Match returns the name of the token equal to presented, and whether there is one. Every configured
// digest is compared, so the time taken does not depend on which token matched.
func (t *Tokens) Match(presented string) (string, bool) {
	name, _, found := t.Lookup(presented)
	return name, found
}

// Lookup is Match that also returns the tenant the token picks.
func (t *Tokens) Lookup(presented string) (name, tenant string, found bool) {
	d := sha256.Sum256([]byte(presented))
	for _, td := range *t.set.Load() {
		if subtle.ConstantTimeCompare(d[:], td.digest[:]) == 1 {
			name, tenant, found = td.name, td.tenant, true
		}
	}
	return name, tenant, found
}

// bearerToken returns the token of an "Authorization: Bearer X" header (scheme in any case).
func bearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// requireToken is the middleware that answers 401 (a SCIM error) without a valid bearer token. The
// token picks the tenant; a request on /tenants/{name}/scim/v2/... must name the token's tenant, and a
// token whose tenant has no live setup (removed by a reload) is refused too. Repeated failures from one
// address are answered more and more slowly (never blocked: the address may be a proxy that Entra
// shares); a valid token is never delayed.
func (s *Server) requireToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		tok, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
		if ok {
			name, tenant, found := s.tokens.Lookup(tok)
			rq := reqOf(c)
			if live := s.TenantLive(tenant); found && live != nil && (rq.pathTenant == "" || rq.pathTenant == tenant) {
				s.authenticated(c, name, live)
				return next(c)
			}
		}
		s.metrics.SCIMAuthFailure()
		if d := s.auth.failure(c.RealIP(), time.Now()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-c.Request().Context().Done():
				t.Stop()
			}
		}
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="scim"`)
		return echo.ErrUnauthorized
	}
}

// clientIPExtractor returns how the gateway tells a request's client address. Without trusted
// proxies it is the TCP peer, whatever the headers say. With them, X-Forwarded-For is read only when
// the peer is a trusted proxy: right to left, trusted proxies skipped, the first other address is the
// client (entries a client forges on the left are never reached); when every entry is trusted, the
// left-most. An entry that is not an address stops the walk at the peer.
func clientIPExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// Failed-authentication slowdown: after authFreeFailures failures from one address within
// authWindow, each further 401 waits authBaseDelay, doubling up to authMaxDelay.
const (
	authFreeFailures = 5
	authWindow       = time.Minute
	authBaseDelay    = 100 * time.Millisecond
	authMaxDelay     = 2 * time.Second
	authMaxTracked   = 10000
)

// authThrottle counts failed authentications per client address.
type authThrottle struct {
	mu    sync.Mutex
	addrs map[string]*authFailures
}

type authFailures struct {
	count int
	first time.Time
}

func newAuthThrottle() *authThrottle { return &authThrottle{addrs: make(map[string]*authFailures)} }

// failure records a failed authentication from addr and returns how long to delay its answer.
func (t *authThrottle) failure(addr string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.addrs[addr]
	if f == nil || now.Sub(f.first) > authWindow {
		if len(t.addrs) >= authMaxTracked {
			t.sweep(now)
		}
		f = &authFailures{first: now}
		t.addrs[addr] = f
	}
	f.count++
	over := f.count - authFreeFailures
	if over <= 0 {
		return 0
	}
	d := authBaseDelay << min(over-1, 10)
	return min(d, authMaxDelay)
}

// sweep forgets addresses whose window has passed; if none has, it forgets them all (a flood of
// addresses must not grow memory without bound).
func (t *authThrottle) sweep(now time.Time) {
	for a, f := range t.addrs {
		if now.Sub(f.first) > authWindow {
			delete(t.addrs, a)
		}
	}
	if len(t.addrs) >= authMaxTracked {
		clear(t.addrs)
	}
}
