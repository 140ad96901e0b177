package config

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/scim-gateway/scim-gateway/translator"
)

// MinTokenLength is the shortest bearer token (SCIM or admin) the gateway accepts.
const MinTokenLength = 16

// Accepted values of the enumerated keys.
var (
	redisModes       = []string{"standalone", "sentinel", "cluster"}
	authTypes        = []string{"oauth2", "bearer", "none"}
	onDeleteModes    = []string{"disable", "delete"}
	logLevels        = []string{"debug", "info", "warn", "error"}
	logFormats       = []string{"json", "console"}
	endpointMethods  = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	pathPlaceholders = []string{"idUser", "idGroup"}
	redactions       = []string{"keep", "mask", "hash", "drop"}
)

// maxTranslationBuffer bounds the translation records kept in memory.
const maxTranslationBuffer = 100000

// Bounds of the fleet-wide translation stream: records kept, and bytes of one record.
const (
	minStreamMaxLen      = 100
	maxStreamMaxLen      = 1000000
	minStreamRecordBytes = 1024
	maxStreamRecordBytes = 1 << 20
)

var placeholderPattern = regexp.MustCompile(`\{([^{}]*)\}`)

// Validate checks a configuration and returns every problem, in key order, each with its key path;
// none when it is valid. It is pure: it reads no file (Load checks that ...File and TLS files load)
// and does not change c. Unset keys are problems, so validate a Config after ApplyDefaults or Load.
func Validate(c *Config) Problems {
	v := &validator{}
	v.server(&c.Server)
	v.admin(&c.Admin, &c.Server)
	v.redis(&c.Store.Redis)
	v.upstream("upstream", &c.Upstream)
	v.globalBound("upstream", &c.Upstream, &c.Store.Redis)
	v.telemetry(&c.Telemetry)
	v.oneOf("deprovision.onDelete", c.Deprovision.OnDelete, onDeleteModes)
	v.limits("limits", &c.Limits)
	v.oneOf("logging.level", c.Logging.Level, logLevels)
	v.oneOf("logging.format", c.Logging.Format, logFormats)
	if b := c.Logging.Translation.Buffer; b < 1 || b > maxTranslationBuffer {
		v.addf("logging.translation.buffer", "must be 1 to %d, not %d", maxTranslationBuffer, b)
	}
	v.translation(&c.Logging.Translation)
	if k := c.Logging.Translation.HashKey; k != "" && len(k) < MinTokenLength {
		v.addf("logging.translation.hashKey", "shorter than %d characters", MinTokenLength)
	}
	if n := c.Logging.Translation.Stream.MaxLen; n < minStreamMaxLen || n > maxStreamMaxLen {
		v.addf("logging.translation.stream.maxLen", "must be %d to %d, not %d", minStreamMaxLen, maxStreamMaxLen, n)
	}
	if n := c.Logging.Translation.Stream.MaxRecordBytes; n < minStreamRecordBytes || n > maxStreamRecordBytes {
		v.addf("logging.translation.stream.maxRecordBytes", "must be %d to %d, not %d", minStreamRecordBytes, maxStreamRecordBytes, n)
	}
	v.mapping("", &c.Mapping)
	v.tenants(c)
	return v.ps
}

// limits checks a limits block (the top level's or a tenant's).
func (v *validator) limits(p string, l *Limits) {
	v.positive(p+".maxBodyBytes", l.MaxBodyBytes)
	v.positive(p+".maxPageSize", int64(l.MaxPageSize))
	v.positive(p+".maxScan", int64(l.MaxScan))
	v.positive(p+".maxOperations", int64(l.MaxOperations))
	v.positive(p+".maxMembersPerRequest", int64(l.MaxMembersPerRequest))
}

type validator struct{ ps Problems }

// translation checks logging.translation's redaction and bounds.
func (v *validator) translation(t *Translation) {
	v.oneOf("logging.translation.redaction", t.Redaction, redactions)
	for _, name := range sortedKeys(t.Attributes) {
		if strings.TrimSpace(name) == "" {
			v.addf("logging.translation.attributes", "an entry has an empty name")
			continue
		}
		v.oneOf("logging.translation.attributes."+name, t.Attributes[name], redactions)
	}
	if b := t.BufferBytes; b < MinTranslationBufferBytes || b > MaxTranslationBufferBytes {
		v.addf("logging.translation.bufferBytes", "must be %d (1 MiB) to %d (1 GiB), not %d", MinTranslationBufferBytes, MaxTranslationBufferBytes, b)
	}
	if m := t.MaxValueBytes; m < MinTranslationMaxValueBytes || m > MaxTranslationMaxValueBytes {
		v.addf("logging.translation.maxValueBytes", "must be %d to %d, not %d", MinTranslationMaxValueBytes, MaxTranslationMaxValueBytes, m)
	}
}

func (v *validator) addf(path, format string, args ...any) {
	v.ps.add(path, fmt.Sprintf(format, args...))
}

// mapping reports the problems translator.NewMapping finds, each already prefixed with its key path
// (under prefix: "" for the top level, "tenants[1]." for a tenant), and the portal properties the
// gateway reserves for itself.
func (v *validator) mapping(prefix string, m *translator.MappingConfig) {
	if _, err := translator.NewMapping(*m); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			path, msg, ok := strings.Cut(line, ": ")
			if !ok {
				path, msg = "mapping", line
			}
			v.ps.add(prefix+path, msg)
		}
	}
	for i, r := range m.Users {
		if strings.EqualFold(r.Property, translator.DeletedProperty) {
			v.addf(fmt.Sprintf("%smapping.users[%d].property", prefix, i), "%q is reserved: it marks users deleted through SCIM", r.Property)
		}
	}
}

func (v *validator) server(s *Server) {
	v.listen("server.listen", s.Listen)
	if s.PatchStatus != 200 && s.PatchStatus != 204 {
		v.addf("server.patchStatus", "must be 204 or 200, not %d", s.PatchStatus)
	}
	if s.PublicURL != "" {
		v.httpURL("server.publicURL", s.PublicURL)
	}
	v.tokens("server.tokens", s.Tokens)
	v.positiveDuration("server.readHeaderTimeout", s.ReadHeaderTimeout)
	v.positiveDuration("server.readTimeout", s.ReadTimeout)
	v.positiveDuration("server.writeTimeout", s.WriteTimeout)
	v.positiveDuration("server.idleTimeout", s.IdleTimeout)
	v.positiveDuration("server.shutdownTimeout", s.ShutdownTimeout)
	for i, p := range s.TrustedProxies {
		if _, err := ParseTrustedProxy(p); err != nil {
			v.addf(indexKey("server.trustedProxies", i), "%v", err)
		}
	}
}

// tokens checks a tokens list at key path p (server.tokens, or a tenant's tokens): at least one, names
// unique and not empty, values good secrets. Values repeated across lists are checked by tenants.
func (v *validator) tokens(p string, tokens []Token) {
	if len(tokens) == 0 {
		v.addf(p, "at least one token is required")
	}
	names := map[string]int{}
	for i, t := range tokens {
		tp := indexKey(p, i)
		switch prev, dup := names[t.Name]; {
		case t.Name == "":
			v.addf(tp+".name", "empty")
		case dup:
			v.addf(tp+".name", "%q is also the name of %s", t.Name, indexKey(p, prev))
		default:
			names[t.Name] = i
		}
		v.secret(tp+".value", t.Value, "valueFile", t.ValueFile)
	}
}

// ParseTrustedProxy parses an entry of server.trustedProxies: a CIDR (10.0.0.0/8, fd00::/8) or a single
// address (a /32 or /128).
func ParseTrustedProxy(s string) (*net.IPNet, error) {
	s = strings.TrimSpace(s)
	if _, n, err := net.ParseCIDR(s); err == nil {
		return n, nil
	}
	if ip := net.ParseIP(s); ip != nil {
		bits := 8 * net.IPv6len
		if ip4 := ip.To4(); ip4 != nil {
			ip, bits = ip4, 8*net.IPv4len
		}
		return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
	}
	return nil, fmt.Errorf("%q is not a CIDR (10.0.0.0/8) or an IP address", s)
}

// secret checks a token value: not empty, not short. The message names the file it came from.
func (v *validator) secret(path, value, fileKey, file string) {
	from := ""
	if file != "" {
		from = fmt.Sprintf(" (read from %s %s)", fileKey, file)
	}
	switch {
	case value == "":
		v.addf(path, "empty%s", from)
	case len(value) < MinTokenLength:
		v.addf(path, "shorter than %d characters%s", MinTokenLength, from)
	}
}

func (v *validator) admin(a *Admin, s *Server) {
	v.listen("admin.listen", a.Listen)
	if a.Token != "" || a.TokenFile != "" { // optional
		v.secret("admin.token", a.Token, "tokenFile", a.TokenFile)
	}
	if a.Listen != "" && sameListener(a.Listen, s.Listen) {
		v.addf("admin.listen", "the same port as server.listen")
	}
}

func (v *validator) redis(r *Redis) {
	const p = "store.redis"
	v.oneOf(p+".mode", r.Mode, redisModes)
	switch r.Mode {
	case "standalone":
		if r.URL != "" {
			if u, err := url.Parse(r.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
				v.addf(p+".url", "must be a redis:// or rediss:// URL with a host")
			}
		}
		if len(r.Addrs) > 0 {
			v.addf(p+".addrs", "only for mode sentinel or cluster; standalone takes url")
		}
		v.noSentinelAuth(r)
	case "sentinel", "cluster":
		if r.URL != "" {
			v.addf(p+".url", "only for mode standalone; %s takes addrs", r.Mode)
		}
		if len(r.Addrs) == 0 {
			v.addf(p+".addrs", "required for mode %s", r.Mode)
		}
		for i, a := range r.Addrs {
			if host, port, err := net.SplitHostPort(a); err != nil || host == "" || !validPort(port) {
				v.addf(indexKey(p+".addrs", i), "must be host:port")
			}
		}
		switch r.Mode {
		case "sentinel":
			if r.MasterName == "" {
				v.addf(p+".masterName", "required for mode sentinel")
			}
			v.sentinelAuth(r)
		case "cluster":
			v.noSentinelAuth(r)
			if r.DB != 0 {
				v.addf(p+".db", "must be 0 for mode cluster")
			}
		}
	}
	if r.DB < 0 {
		v.addf(p+".db", "must not be negative")
	}
	v.tls(p+".tls", r.TLS)
	v.positiveDuration(p+".dialTimeout", r.DialTimeout)
	v.positiveDuration(p+".timeout", r.Timeout)
	v.positiveDuration(p+".mappingTTL", r.MappingTTL)
}

// sentinelAuth checks the sentinels' credentials of mode sentinel: a username needs a password, and a
// sentinelPasswordFile must not be empty. Both are optional: sentinels often run without a password.
func (v *validator) sentinelAuth(r *Redis) {
	const p = "store.redis.sentinelPassword"
	switch {
	case r.SentinelPassword != "":
	case r.SentinelPasswordFile != "":
		v.addf(p, "empty (read from sentinelPasswordFile %s)", r.SentinelPasswordFile)
	case r.SentinelUsername != "":
		v.addf(p, "required with sentinelUsername (or sentinelPasswordFile)")
	}
}

// noSentinelAuth reports sentinel credentials set outside mode sentinel, where no sentinel would get
// them. A password read from its file is reported under the file's key.
func (v *validator) noSentinelAuth(r *Redis) {
	const p = "store.redis"
	if r.SentinelUsername != "" {
		v.addf(p+".sentinelUsername", "only for mode sentinel, not %s", r.Mode)
	}
	switch {
	case r.SentinelPasswordFile != "":
		v.addf(p+".sentinelPasswordFile", "only for mode sentinel, not %s", r.Mode)
	case r.SentinelPassword != "":
		v.addf(p+".sentinelPassword", "only for mode sentinel, not %s", r.Mode)
	}
}

// globalBound refuses a fleet-wide bound (the top level's or a tenant's, at key path p) without Redis.
func (v *validator) globalBound(p string, u *Upstream, r *Redis) {
	if u.GlobalMaxInFlight > 0 && r.URL == "" && len(r.Addrs) == 0 {
		v.addf(p+".globalMaxInFlight", "needs store.redis (the replicas share the bound through Redis); use maxInFlight for one replica")
	}
}

// upstream checks an upstream block at key path p ("upstream", or a tenant's "tenants[1].upstream").
func (v *validator) upstream(p string, u *Upstream) {
	v.httpURL(p+".baseURL", u.BaseURL)
	v.auth(p+".auth", &u.Auth)
	v.endpoints(p+".endpoints", u.Endpoints)
	v.tls(p+".tls", u.TLS)
	if u.TLS.Enabled && strings.HasPrefix(strings.ToLower(u.BaseURL), "http://") {
		v.addf(p+".tls.enabled", "baseURL is http://: TLS to the portal follows the scheme, so use https://")
	}
	v.positiveDuration(p+".timeout", u.Timeout)
	v.positive(p+".maxInFlight", int64(u.MaxInFlight))
	v.notNegativeDuration(p+".queueWait", u.QueueWait)
	if u.GlobalMaxInFlight < 0 {
		v.addf(p+".globalMaxInFlight", "must not be negative (0: off)")
	}
	if u.GlobalLease < time.Second {
		v.addf(p+".globalLease", "must be at least 1s (slots are renewed every third of it)")
	}
	v.positive(p+".maxBodyBytes", u.MaxBody)

	r := u.Retry
	if r.MaxAttempts < 1 || r.MaxAttempts > 10 {
		v.addf(p+".retry.maxAttempts", "must be between 1 and 10")
	}
	v.positiveDuration(p+".retry.initialDelay", r.InitialDelay)
	v.positiveDuration(p+".retry.maxDelay", r.MaxDelay)
	if r.MaxDelay > 0 && r.MaxDelay < r.InitialDelay {
		v.addf(p+".retry.maxDelay", "shorter than retry.initialDelay")
	}
	v.notNegativeDuration(p+".retry.maxRetryAfter", r.MaxRetryAfter)

	b := u.Breaker
	v.positive(p+".breaker.consecutiveFailures", int64(b.ConsecutiveFailures))
	v.positiveDuration(p+".breaker.openTimeout", b.OpenTimeout)
	v.positive(p+".breaker.halfOpenMaxCalls", int64(b.HalfOpenMaxCalls))
	v.notNegativeDuration(p+".breaker.interval", b.Interval)
}

func (v *validator) telemetry(t *Telemetry) {
	if t.OTLP.Endpoint != "" {
		v.httpURL("telemetry.otlp.endpoint", t.OTLP.Endpoint)
	}
	if t.OTLP.Protocol != "" {
		v.oneOf("telemetry.otlp.protocol", t.OTLP.Protocol, otlpProtocols)
	}
}

// otlpProtocols are the OTLP transports of telemetry.otlp.protocol (the OTEL_EXPORTER_OTLP_PROTOCOL
// spellings; http/json is not supported by the Go exporters).
var otlpProtocols = []string{"http/protobuf", "grpc"}

func (v *validator) auth(p string, a *Auth) {
	v.oneOf(p+".type", a.Type, authTypes)
	switch a.Type {
	case "oauth2":
		if a.ClientID == "" {
			v.addf(p+".clientID", "required for type oauth2")
		}
		if a.ClientSecret == "" {
			v.addf(p+".clientSecret", "required for type oauth2 (or clientSecretFile)")
		}
		if a.TokenURL == "" {
			v.addf(p+".tokenURL", "required for type oauth2")
		} else if !strings.HasPrefix(a.TokenURL, "/") {
			v.httpURL(p+".tokenURL", a.TokenURL)
		}
		for i, s := range a.Scopes {
			if s == "" || strings.ContainsAny(s, " \t") {
				v.addf(indexKey(p+".scopes", i), "must be one scope, not empty and without spaces")
			}
		}
		v.positiveDuration(p+".renewBefore", a.RenewBefore)
	case "bearer":
		if a.Token == "" {
			v.addf(p+".token", "required for type bearer (or tokenFile)")
		}
	}
}

func (v *validator) endpoints(p string, eps map[string]Endpoint) {
	for _, op := range sortedKeys(eps) {
		path := joinKey(p, op)
		if _, known := EndpointPlaceholders[op]; !known {
			v.addf(path, "unknown operation; one of %s", strings.Join(Operations, ", "))
			continue
		}
		e := eps[op]
		if e.Method != "" && !containsString(endpointMethods, e.Method) {
			v.addf(path+".method", "must be one of %s", strings.Join(endpointMethods, ", "))
		}
		if e.Path != "" {
			v.endpointPath(path+".path", op, e.Path)
		}
	}
}

// endpointPath checks a portal path: relative to baseURL, and with exactly the placeholders its
// operation fills in (docs/portal-api.md: getUser needs {idUser}, addMember {idGroup} and {idUser}).
func (v *validator) endpointPath(path, op, p string) {
	if !strings.HasPrefix(p, "/") {
		v.addf(path, "must start with \"/\" (it is relative to upstream.baseURL)")
		return
	}
	needed := EndpointPlaceholders[op]
	used := placeholders(p)
	rest := placeholderPattern.ReplaceAllString(p, "")
	if strings.ContainsAny(rest, "{}") {
		v.addf(path, "has an unbalanced { or }")
	}
	for _, name := range used {
		switch {
		case !containsString(pathPlaceholders, name):
			v.addf(path, "unknown placeholder {%s}; only {idUser} and {idGroup}", name)
		case !containsString(needed, name):
			v.addf(path, "{%s} is not known to %s", name, op)
		}
	}
	for _, name := range needed {
		if !containsString(used, name) {
			v.addf(path, "must contain {%s}", name)
		}
	}
}

// placeholders lists the {name} placeholders of a path, each once.
func placeholders(path string) []string {
	var names []string
	for _, m := range placeholderPattern.FindAllStringSubmatch(path, -1) {
		if !containsString(names, m[1]) {
			names = append(names, m[1])
		}
	}
	return names
}

func (v *validator) tls(path string, t TLS) {
	if (t.CertFile == "") != (t.KeyFile == "") {
		v.addf(path, "certFile and keyFile go together: set both or neither")
	}
}

func (v *validator) listen(path, addr string) {
	if addr == "" {
		v.addf(path, "empty; use host:port or :port, such as \":8080\"")
		return
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || !validPort(port) {
		v.addf(path, "must be host:port or :port, such as \":8080\"")
	}
}

func validPort(port string) bool {
	_, err := strconv.ParseUint(port, 10, 16)
	return err == nil
}

// sameListener reports whether two listen addresses would bind the same fixed port.
func sameListener(a, b string) bool {
	ah, ap, aerr := net.SplitHostPort(a)
	bh, bp, berr := net.SplitHostPort(b)
	if aerr != nil || berr != nil || ap != bp || ap == "0" {
		return false
	}
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ah == bh || wildcard(ah) || wildcard(bh)
}

func (v *validator) httpURL(path, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.addf(path, "must be an absolute http(s) URL")
	}
}

func (v *validator) oneOf(path, value string, allowed []string) {
	if !containsString(allowed, value) {
		v.addf(path, "must be one of %s, not %q", strings.Join(allowed, ", "), value)
	}
}

func (v *validator) positive(path string, n int64) {
	if n <= 0 {
		v.addf(path, "must be positive")
	}
}

func (v *validator) positiveDuration(path string, d time.Duration) {
	if d <= 0 {
		v.addf(path, "must be a positive duration")
	}
}

func (v *validator) notNegativeDuration(path string, d time.Duration) {
	if d < 0 {
		v.addf(path, "must not be negative")
	}
}
