package config

import (
	"time"

	"github.com/scim-gateway/scim-gateway/translator"
)

// Config is the whole configuration. YAML keys are the `yaml` tags; the environment override of a key is
// SCIMGW_ plus its path in upper case joined by `_` (list items by index).
type Config struct {
	Server      Server      `yaml:"server"`
	Admin       Admin       `yaml:"admin"`
	Store       Store       `yaml:"store"`
	Upstream    Upstream    `yaml:"upstream"`
	Deprovision Deprovision `yaml:"deprovision"`
	DryRun      bool        `yaml:"dryRun"`
	Limits      Limits      `yaml:"limits"`
	Logging     Logging     `yaml:"logging"`
	Telemetry   Telemetry   `yaml:"telemetry"`
	// Mapping is the SCIM attribute to portal field mapping (translator.MappingConfig documents it).
	Mapping translator.MappingConfig `yaml:"mapping"`
	// Tenants are more Entra apps or tenants, each with its own tokens and, optionally, its own portal
	// and rules; the top-level keys are tenant "default" (tenants.go).
	Tenants []Tenant `yaml:"tenants"`

	// secretFiles are the files Load read into ...File keys; see SecretFiles.
	secretFiles []string
}

// Server is the public SCIM listener.
type Server struct {
	Listen            string        `yaml:"listen"`
	PublicURL         string        `yaml:"publicURL"`
	Tokens            []Token       `yaml:"tokens"`
	ReadHeaderTimeout time.Duration `yaml:"readHeaderTimeout"`
	ReadTimeout       time.Duration `yaml:"readTimeout"`
	WriteTimeout      time.Duration `yaml:"writeTimeout"`
	IdleTimeout       time.Duration `yaml:"idleTimeout"`
	ShutdownTimeout   time.Duration `yaml:"shutdownTimeout"`
	// PatchStatus is the answer to a successful PATCH: 204 (no body) or 200 (with the resource).
	PatchStatus int `yaml:"patchStatus"`
	// TrustedProxies are the proxies (CIDRs or single addresses) whose X-Forwarded-For the gateway
	// believes; none: the client address is the TCP peer.
	TrustedProxies []string `yaml:"trustedProxies"`
}

// Token is one accepted SCIM bearer token. Value is filled from ValueFile when that is set.
type Token struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFile string `yaml:"valueFile"`
}

// Admin is the cluster-internal listener: health, readiness, metrics, translation-log inspection.
type Admin struct {
	Listen    string `yaml:"listen"`
	Token     string `yaml:"token"`
	TokenFile string `yaml:"tokenFile"`
}

// Store selects where mappings and create records live: Redis, or memory when Redis is not configured.
type Store struct {
	Redis Redis `yaml:"redis"`
}

// Redis configures the Redis store (standalone from URL; Sentinel or Cluster from Mode and Addrs).
// Username and Password are the data nodes' credentials; SentinelUsername and SentinelPassword are
// those of the sentinels themselves (mode sentinel only), which may differ.
type Redis struct {
	URL                  string        `yaml:"url"`
	Mode                 string        `yaml:"mode"` // standalone | sentinel | cluster
	Addrs                []string      `yaml:"addrs"`
	MasterName           string        `yaml:"masterName"`
	Username             string        `yaml:"username"`
	Password             string        `yaml:"password"`
	PasswordFile         string        `yaml:"passwordFile"`
	SentinelUsername     string        `yaml:"sentinelUsername"`
	SentinelPassword     string        `yaml:"sentinelPassword"`
	SentinelPasswordFile string        `yaml:"sentinelPasswordFile"`
	DB                   int           `yaml:"db"`
	KeyPrefix            string        `yaml:"keyPrefix"`
	TLS                  TLS           `yaml:"tls"`
	DialTimeout          time.Duration `yaml:"dialTimeout"`
	Timeout              time.Duration `yaml:"timeout"` // read and write timeout of one command
	MappingTTL           time.Duration `yaml:"mappingTTL"`
}

// TLS configures a TLS client (to the portal or to Redis).
type TLS struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"caFile"`
	CertFile           string `yaml:"certFile"`
	KeyFile            string `yaml:"keyFile"`
	ServerName         string `yaml:"serverName"`
	InsecureSkipVerify bool   `yaml:"insecureSkipVerify"`
}

// Upstream configures the portal client.
type Upstream struct {
	BaseURL     string              `yaml:"baseURL"`
	Auth        Auth                `yaml:"auth"`
	Endpoints   map[string]Endpoint `yaml:"endpoints"` // keyed by operation name; see Operations
	TLS         TLS                 `yaml:"tls"`
	Timeout     time.Duration       `yaml:"timeout"` // one portal call, including reading the answer
	MaxInFlight int                 `yaml:"maxInFlight"`
	QueueWait   time.Duration       `yaml:"queueWait"` // how long a call waits for a free slot
	// GlobalMaxInFlight bounds the portal calls in flight across every replica sharing the Redis
	// (0: off); GlobalLease is how long a slot of a replica that stopped renewing it stays taken.
	GlobalMaxInFlight int           `yaml:"globalMaxInFlight"`
	GlobalLease       time.Duration `yaml:"globalLease"`
	MaxBody           int64         `yaml:"maxBodyBytes"`
	Retry             Retry         `yaml:"retry"`
	Breaker           Breaker       `yaml:"breaker"`
}

// Auth is how the gateway authenticates to the portal.
type Auth struct {
	Type             string   `yaml:"type"` // oauth2 | bearer | none
	ClientID         string   `yaml:"clientID"`
	ClientSecret     string   `yaml:"clientSecret"`
	ClientSecretFile string   `yaml:"clientSecretFile"`
	TokenURL         string   `yaml:"tokenURL"`
	Scopes           []string `yaml:"scopes"`
	Token            string   `yaml:"token"`
	TokenFile        string   `yaml:"tokenFile"`
	// RenewBefore renews an OAuth token this long before it expires.
	RenewBefore time.Duration `yaml:"renewBefore"`
}

// Endpoint is one portal operation: its method, its path relative to BaseURL ({idUser}/{idGroup}
// placeholders), and whether it may be called. Unset fields take the portal client's defaults.
type Endpoint struct {
	Method  string `yaml:"method"`
	Path    string `yaml:"path"`
	Enabled *bool  `yaml:"enabled"`
}

// IsEnabled reports whether the endpoint may be called (default true).
func (e Endpoint) IsEnabled() bool { return e.Enabled == nil || *e.Enabled }

// Retry configures retries of calls that are safe to repeat.
type Retry struct {
	MaxAttempts   int           `yaml:"maxAttempts"` // attempts in all, including the first
	InitialDelay  time.Duration `yaml:"initialDelay"`
	MaxDelay      time.Duration `yaml:"maxDelay"`
	MaxRetryAfter time.Duration `yaml:"maxRetryAfter"` // a longer Retry-After is not waited out: the error goes back
}

// Breaker configures the circuit breaker in front of the portal.
type Breaker struct {
	// ConsecutiveFailures trips the breaker.
	ConsecutiveFailures int `yaml:"consecutiveFailures"`
	// OpenTimeout is how long the breaker stays open before it lets a probe through (half-open).
	OpenTimeout time.Duration `yaml:"openTimeout"`
	// HalfOpenMaxCalls is how many probes may run while half-open.
	HalfOpenMaxCalls int `yaml:"halfOpenMaxCalls"`
	// Interval clears the failure counts while closed; 0 never clears them.
	Interval time.Duration `yaml:"interval"`
}

// Deprovision says what a SCIM DELETE does.
type Deprovision struct {
	OnDelete string `yaml:"onDelete"` // disable | delete
}

// Limits bound what one SCIM request may cost.
type Limits struct {
	MaxBodyBytes  int64 `yaml:"maxBodyBytes"`
	MaxPageSize   int   `yaml:"maxPageSize"`
	MaxScan       int   `yaml:"maxScan"`
	MaxOperations int   `yaml:"maxOperations"` // PATCH operations in one request
	// MaxMembersPerRequest bounds the member ids one group request names (each costs portal calls).
	MaxMembersPerRequest int `yaml:"maxMembersPerRequest"`
}

// Logging configures the process log and the translation log.
type Logging struct {
	Level       string      `yaml:"level"`  // debug | info | warn | error
	Format      string      `yaml:"format"` // json | console
	Translation Translation `yaml:"translation"`
}

// Translation configures the translation log: one record per SCIM write (and read, with Reads),
// redacted per attribute (Attributes, else mapping.users[].redact, else the built-in defaults, else
// Redaction) and bounded in size (MaxValueBytes per value, Buffer and BufferBytes for the kept ring).
type Translation struct {
	Buffer        int               `yaml:"buffer"`        // records kept in memory per replica for /admin/translations
	BufferBytes   int               `yaml:"bufferBytes"`   // and their estimated bytes at most
	MaxValueBytes int               `yaml:"maxValueBytes"` // longest value a record keeps and logs; longer ones are cut with a marker
	Reads         bool              `yaml:"reads"`         // also record GETs and lists
	Redaction     string            `yaml:"redaction"`     // keep | mask | hash | drop for values nothing else names
	Attributes    map[string]string `yaml:"attributes"`    // attribute or portal field -> keep | mask | hash | drop, over everything else
	HashKey       string            `yaml:"hashKey"`       // HMAC key of hashed values; empty: random per process
	HashKeyFile   string            `yaml:"hashKeyFile"`
	Stream        TranslationStream `yaml:"stream"` // fleet-wide records in a capped Redis stream
}

// Telemetry configures OpenTelemetry traces (off unless an OTLP endpoint is set, here or in the
// standard OTEL_EXPORTER_OTLP_ENDPOINT variables).
type Telemetry struct {
	OTLP OTLP `yaml:"otlp"`
}

// OTLP is where traces are exported.
type OTLP struct {
	Endpoint string `yaml:"endpoint"` // e.g. http://otel-collector:4318; empty: OTEL_* variables decide
	Protocol string `yaml:"protocol"` // http/protobuf | grpc; empty: OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf
}

// Tenant is one entry of the tenants list. After Load every block holds the tenant's effective
// values: what the entry leaves out is inherited from the top level (see InheritTenants in tenants.go).
type Tenant struct {
	Name        string                   `yaml:"name"`
	Tokens      []Token                  `yaml:"tokens"`
	Upstream    Upstream                 `yaml:"upstream"`
	Mapping     translator.MappingConfig `yaml:"mapping"`
	Deprovision Deprovision              `yaml:"deprovision"`
	Limits      Limits                   `yaml:"limits"`
	DryRun      bool                     `yaml:"dryRun"`
}

// TranslationStream keeps translation records fleet-wide in a capped Redis stream that every replica
// writes and reads (only with store.redis configured).
type TranslationStream struct {
	Enabled        *bool `yaml:"enabled"`        // default true
	MaxLen         int   `yaml:"maxLen"`         // records kept, about (XADD MAXLEN ~)
	MaxRecordBytes int   `yaml:"maxRecordBytes"` // the largest record written; larger ones lose details
}

// IsEnabled reports whether records go to the stream when Redis is configured (default true).
func (s TranslationStream) IsEnabled() bool { return s.Enabled == nil || *s.Enabled }
