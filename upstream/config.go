package upstream

import (
	"net/http"
	"time"
)

// Config is what a Client is built from: the upstream block of the configuration file, as
// cmd/scim-gateway builds it (defaults applied, secrets read from their files).
type Config struct {
	BaseURL string
	Auth    Auth
	// Endpoints changes operations from DefaultEndpoints, keyed by operation name: an empty method or
	// path keeps the default.
	Endpoints   map[string]Endpoint
	TLS         TLS
	Timeout     time.Duration // one portal call, including reading the answer
	MaxInFlight int
	QueueWait   time.Duration // how long a call waits for a free slot
	MaxBody     int64
	Retry       Retry
	Breaker     Breaker
}

// Auth is how the client authenticates to the portal.
type Auth struct {
	Type         string // oauth2 | bearer | none
	ClientID     string
	ClientSecret string
	TokenURL     string
	Scopes       []string
	Token        string
	RenewBefore  time.Duration // an OAuth token is renewed this long before it expires
}

// Endpoint is one portal operation: its method, its path relative to BaseURL ({idUser}/{idGroup}
// placeholders), and whether it is switched off.
type Endpoint struct {
	Method   string
	Path     string
	Disabled bool
}

// TLS configures the client's TLS to the portal.
type TLS struct {
	Enabled            bool
	CAFile             string
	CertFile           string
	KeyFile            string
	ServerName         string
	InsecureSkipVerify bool
}

// Retry configures retries of calls that are safe to repeat.
type Retry struct {
	MaxAttempts   int // attempts in all, including the first
	InitialDelay  time.Duration
	MaxDelay      time.Duration
	MaxRetryAfter time.Duration // a longer Retry-After is not waited out: the error goes back
}

// Breaker configures the circuit breaker in front of the portal.
type Breaker struct {
	ConsecutiveFailures int           // trips the breaker
	OpenTimeout         time.Duration // open this long before a probe goes through (half-open)
	HalfOpenMaxCalls    int           // probes while half-open
	Interval            time.Duration // clears the failure counts while closed; 0 never clears them
}

// Portal operation names: the keys of Config.Endpoints.
const (
	OpCreateUser     = "createUser"
	OpGetUser        = "getUser"
	OpListUsers      = "listUsers"
	OpUpdateUser     = "updateUser"
	OpDisableUser    = "disableUser"
	OpEnableUser     = "enableUser"
	OpDeleteUser     = "deleteUser"
	OpCreateGroup    = "createGroup"
	OpGetGroup       = "getGroup"
	OpListGroups     = "listGroups"
	OpUpdateGroup    = "updateGroup"
	OpDeleteGroup    = "deleteGroup"
	OpListMembers    = "listMembers"
	OpAddMember      = "addMember"
	OpRemoveMember   = "removeMember"
	OpListUserGroups = "listUserGroups"
)

// DefaultEndpoints are the portal operations as the portal's API defines them, paths relative to the
// base URL.
var DefaultEndpoints = map[string]Endpoint{
	OpCreateUser:     {Method: http.MethodPost, Path: "/api/usersync/v1/users"},
	OpGetUser:        {Method: http.MethodGet, Path: "/api/usersync/v1/users({idUser})"},
	OpListUsers:      {Method: http.MethodGet, Path: "/api/usersync/v1/users"},
	OpUpdateUser:     {Method: http.MethodPatch, Path: "/api/usersync/v1/users({idUser})"},
	OpDisableUser:    {Method: http.MethodPost, Path: "/api/usersync/v1/users({idUser})/disable"},
	OpEnableUser:     {Method: http.MethodPost, Path: "/api/usersync/v1/users({idUser})/enable"},
	OpDeleteUser:     {Method: http.MethodDelete, Path: "/api/usersync/v1/users({idUser})"},
	OpCreateGroup:    {Method: http.MethodPost, Path: "/api/usersync/v1/groups"},
	OpGetGroup:       {Method: http.MethodGet, Path: "/api/usersync/v1/groups({idGroup})"},
	OpListGroups:     {Method: http.MethodGet, Path: "/api/usersync/v1/groups"},
	OpUpdateGroup:    {Method: http.MethodPatch, Path: "/api/usersync/v1/groups({idGroup})"},
	OpDeleteGroup:    {Method: http.MethodDelete, Path: "/api/usersync/v1/groups({idGroup})"},
	OpListMembers:    {Method: http.MethodGet, Path: "/api/usersync/v1/groups({idGroup})/members"},
	OpAddMember:      {Method: http.MethodPut, Path: "/api/usersync/v1/groups({idGroup})/members({idUser})"},
	OpRemoveMember:   {Method: http.MethodDelete, Path: "/api/usersync/v1/groups({idGroup})/members({idUser})"},
	OpListUserGroups: {Method: http.MethodGet, Path: "/api/usersync/v1/users({idUser})/groups"},
}

// ResolveEndpoint is an operation's endpoint in cfg: its method and path, with what cfg leaves empty
// taken from DefaultEndpoints.
func ResolveEndpoint(cfg Config, op string) Endpoint {
	e := cfg.Endpoints[op]
	def := DefaultEndpoints[op]
	if e.Method == "" {
		e.Method = def.Method
	}
	if e.Path == "" {
		e.Path = def.Path
	}
	return e
}
