package config

import "time"

// Defaults. Every key not set in the file or the environment takes the value here; the README's
// configuration reference lists the same values.
const (
	DefaultListen            = ":8080"
	DefaultAdminListen       = ":9090"
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 70 * time.Second // Entra waits 60 s; a longer write timeout lets the gateway answer first
	DefaultIdleTimeout       = 120 * time.Second
	DefaultShutdownTimeout   = 25 * time.Second
	DefaultPatchStatus       = 204

	DefaultRedisMode        = "standalone"
	DefaultRedisKeyPrefix   = "scimgw:"
	DefaultRedisDialTimeout = 500 * time.Millisecond
	DefaultRedisTimeout     = 250 * time.Millisecond
	DefaultMappingTTL       = 24 * time.Hour

	DefaultAuthType        = "oauth2"
	DefaultTokenURL        = "/oauth2/server/token"
	DefaultAuthRenewBefore = 60 * time.Second

	DefaultUpstreamTimeout     = 10 * time.Second
	DefaultUpstreamMaxInFlight = 64
	DefaultUpstreamQueueWait   = 5 * time.Second
	DefaultUpstreamMaxBody     = 4 << 20
	DefaultUpstreamGlobalLease = 10 * time.Second

	DefaultRetryMaxAttempts   = 3
	DefaultRetryInitialDelay  = 100 * time.Millisecond
	DefaultRetryMaxDelay      = 2 * time.Second
	DefaultRetryMaxRetryAfter = 10 * time.Second

	DefaultBreakerConsecutiveFailures = 5
	DefaultBreakerOpenTimeout         = 30 * time.Second
	DefaultBreakerHalfOpenMaxCalls    = 1
	DefaultBreakerInterval            = 60 * time.Second

	DefaultOnDelete = "disable"

	DefaultMaxBodyBytes  = 1 << 20
	DefaultMaxPageSize   = 100
	DefaultMaxScan       = 10000
	DefaultMaxOperations = 1000

	DefaultMaxMembersPerRequest = 1000

	DefaultLogLevel  = "info"
	DefaultLogFormat = "json"

	DefaultTranslationBuffer    = 1000
	DefaultTranslationRedaction = "keep"
	// DefaultTranslationBufferBytes bounds the kept records at 8 MiB, well inside the chart's 128Mi.
	DefaultTranslationBufferBytes   = 8 << 20
	DefaultTranslationMaxValueBytes = 1024
	// The accepted ranges of those two keys (the translation logger enforces the same ones:
	// internal/wiring tests that they agree).
	MinTranslationBufferBytes   = 1 << 20
	MaxTranslationBufferBytes   = 1 << 30
	MinTranslationMaxValueBytes = 64
	MaxTranslationMaxValueBytes = 1 << 16

	DefaultTranslationStreamMaxLen         = 10000
	DefaultTranslationStreamMaxRecordBytes = 16384
)

// DefaultScopes are the OAuth scopes the gateway asks the portal for.
var DefaultScopes = []string{"api", "usersync"}

// ApplyDefaults fills every unset key with its default. upstream.endpoints is left as the file sets
// it: the portal client fills in the methods and paths it leaves out.
func (c *Config) ApplyDefaults() {
	setStr(&c.Server.Listen, DefaultListen)
	setDur(&c.Server.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDur(&c.Server.ReadTimeout, DefaultReadTimeout)
	setDur(&c.Server.WriteTimeout, DefaultWriteTimeout)
	setDur(&c.Server.IdleTimeout, DefaultIdleTimeout)
	setDur(&c.Server.ShutdownTimeout, DefaultShutdownTimeout)
	setInt(&c.Server.PatchStatus, DefaultPatchStatus)
	setStr(&c.Admin.Listen, DefaultAdminListen)

	r := &c.Store.Redis
	setStr(&r.Mode, DefaultRedisMode)
	setStr(&r.KeyPrefix, DefaultRedisKeyPrefix)
	setDur(&r.DialTimeout, DefaultRedisDialTimeout)
	setDur(&r.Timeout, DefaultRedisTimeout)
	setDur(&r.MappingTTL, DefaultMappingTTL)

	u := &c.Upstream
	setStr(&u.Auth.Type, DefaultAuthType)
	setStr(&u.Auth.TokenURL, DefaultTokenURL)
	if len(u.Auth.Scopes) == 0 {
		u.Auth.Scopes = append([]string(nil), DefaultScopes...)
	}
	setDur(&u.Auth.RenewBefore, DefaultAuthRenewBefore)
	setDur(&u.Timeout, DefaultUpstreamTimeout)
	setInt(&u.MaxInFlight, DefaultUpstreamMaxInFlight)
	setDur(&u.QueueWait, DefaultUpstreamQueueWait)
	setDur(&u.GlobalLease, DefaultUpstreamGlobalLease)
	if u.MaxBody == 0 {
		u.MaxBody = DefaultUpstreamMaxBody
	}
	setInt(&u.Retry.MaxAttempts, DefaultRetryMaxAttempts)
	setDur(&u.Retry.InitialDelay, DefaultRetryInitialDelay)
	setDur(&u.Retry.MaxDelay, DefaultRetryMaxDelay)
	setDur(&u.Retry.MaxRetryAfter, DefaultRetryMaxRetryAfter)
	setInt(&u.Breaker.ConsecutiveFailures, DefaultBreakerConsecutiveFailures)
	setDur(&u.Breaker.OpenTimeout, DefaultBreakerOpenTimeout)
	setInt(&u.Breaker.HalfOpenMaxCalls, DefaultBreakerHalfOpenMaxCalls)
	setDur(&u.Breaker.Interval, DefaultBreakerInterval)

	setStr(&c.Deprovision.OnDelete, DefaultOnDelete)
	if c.Limits.MaxBodyBytes == 0 {
		c.Limits.MaxBodyBytes = DefaultMaxBodyBytes
	}
	setInt(&c.Limits.MaxPageSize, DefaultMaxPageSize)
	setInt(&c.Limits.MaxScan, DefaultMaxScan)
	setInt(&c.Limits.MaxOperations, DefaultMaxOperations)
	setInt(&c.Limits.MaxMembersPerRequest, DefaultMaxMembersPerRequest)
	setStr(&c.Logging.Level, DefaultLogLevel)
	setStr(&c.Logging.Format, DefaultLogFormat)
	setInt(&c.Logging.Translation.Buffer, DefaultTranslationBuffer)
	setStr(&c.Logging.Translation.Redaction, DefaultTranslationRedaction)
	setInt(&c.Logging.Translation.BufferBytes, DefaultTranslationBufferBytes)
	setInt(&c.Logging.Translation.MaxValueBytes, DefaultTranslationMaxValueBytes)
	setInt(&c.Logging.Translation.Stream.MaxLen, DefaultTranslationStreamMaxLen)
	setInt(&c.Logging.Translation.Stream.MaxRecordBytes, DefaultTranslationStreamMaxRecordBytes)
	c.Mapping.ApplyDefaults()
}

func setStr(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setDur(p *time.Duration, v time.Duration) {
	if *p == 0 {
		*p = v
	}
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}
