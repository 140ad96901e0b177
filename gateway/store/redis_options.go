package store

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Redis modes (config key store.redis.mode).
const (
	ModeStandalone = "standalone"
	ModeSentinel   = "sentinel"
	ModeCluster    = "cluster"
)

// universalOptions turns the config into go-redis options. It is pure but for reading the TLS files.
//
//   - standalone (the default mode): url (redis:// or rediss://, with user, password and database
//     number), or else the single entry of addrs with db;
//   - sentinel: addrs are the sentinels, masterName the monitored master, db the database;
//     sentinelUsername and sentinelPassword (usually from sentinelPasswordFile) authenticate to the
//     sentinels, username and password to the master and replicas;
//   - cluster: addrs are seed nodes; db must be 0.
//
// username and password, when set, take precedence over those of the url (the password usually comes
// from passwordFile, a mounted Secret). The sentinel credentials are refused outside mode sentinel.
// TLS is on when tls.enabled is set or the url is rediss://.
// Timeouts come from dialTimeout and timeout (each falls back to its default when zero); go-redis does
// not retry a failed command, because a SET NX or a compare-and-delete replayed after a lost reply
// would report the wrong outcome, and the caller treats any error as a cache miss anyway.
func universalOptions(cfg RedisOptions) (*redis.UniversalOptions, error) {
	dialTimeout := cfg.DialTimeout
	if dialTimeout <= 0 {
		dialTimeout = DefaultDialTimeout
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	opts := &redis.UniversalOptions{
		ClientName:      "scim-gateway",
		DB:              cfg.DB,
		Username:        cfg.Username,
		Password:        cfg.Password,
		MaxRetries:      -1, // no retries (0 would mean go-redis' default of 3)
		DialTimeout:     dialTimeout,
		DialerRetries:   1, // one dial attempt per call (the default is 5, with 100ms pauses)
		ReadTimeout:     timeout,
		WriteTimeout:    timeout,
		PoolTimeout:     timeout,
		DisableIdentity: true, // no CLIENT SETINFO round trip on every new connection
		MasterName:      cfg.MasterName,
	}
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}

	tlsOn := cfg.TLS.Enabled
	switch mode := cfg.Mode; mode {
	case "", ModeStandalone:
		if cfg.MasterName != "" {
			return nil, errors.New("store.redis: masterName is for mode sentinel")
		}
		if err := noSentinelAuth(cfg); err != nil {
			return nil, err
		}
		switch {
		case cfg.URL != "" && len(cfg.Addrs) > 0:
			return nil, errors.New("store.redis: set url or addrs, not both")
		case cfg.URL != "":
			u, err := parseRedisURL(cfg.URL)
			if err != nil {
				return nil, err
			}
			opts.Addrs = []string{u.addr}
			if opts.Username == "" {
				opts.Username = u.username
			}
			if opts.Password == "" {
				opts.Password = u.password
			}
			if u.hasDB {
				opts.DB = u.db
			}
			tlsOn = tlsOn || u.tls
		case len(cfg.Addrs) == 1:
			opts.Addrs = cfg.Addrs
		default:
			return nil, errors.New("store.redis: mode standalone needs url, or exactly one entry in addrs")
		}
	case ModeSentinel:
		if cfg.URL != "" {
			return nil, errors.New("store.redis: url is for mode standalone; list the sentinels in addrs")
		}
		if len(cfg.Addrs) == 0 || cfg.MasterName == "" {
			return nil, errors.New("store.redis: mode sentinel needs addrs (the sentinels) and masterName")
		}
		opts.Addrs = cfg.Addrs
		opts.SentinelUsername = cfg.SentinelUsername
		opts.SentinelPassword = cfg.SentinelPassword
	case ModeCluster:
		if cfg.URL != "" {
			return nil, errors.New("store.redis: url is for mode standalone; list seed nodes in addrs")
		}
		if len(cfg.Addrs) == 0 {
			return nil, errors.New("store.redis: mode cluster needs addrs (seed nodes)")
		}
		if cfg.DB != 0 {
			return nil, errors.New("store.redis: a Redis Cluster has only database 0")
		}
		if cfg.MasterName != "" {
			return nil, errors.New("store.redis: masterName is for mode sentinel")
		}
		if err := noSentinelAuth(cfg); err != nil {
			return nil, err
		}
		opts.Addrs = cfg.Addrs
		opts.IsClusterMode = true
	default:
		return nil, fmt.Errorf("store.redis: unknown mode %q (want standalone, sentinel or cluster)", mode)
	}

	if tlsOn {
		tc, err := tlsConfig(cfg.TLS)
		if err != nil {
			return nil, err
		}
		opts.TLSConfig = tc
	}
	return opts, nil
}

// noSentinelAuth refuses sentinel credentials outside mode sentinel, where go-redis would drop them.
func noSentinelAuth(cfg RedisOptions) error {
	if cfg.SentinelUsername != "" || cfg.SentinelPassword != "" {
		return errors.New("store.redis: sentinelUsername and sentinelPassword are for mode sentinel")
	}
	return nil
}

// redisURL is what the gateway takes from a redis:// or rediss:// URL.
type redisURL struct {
	addr               string
	username, password string
	db                 int
	hasDB              bool
	tls                bool
}

// parseRedisURL reads a standalone Redis URL through redis.ParseURL. Query parameters are refused: the
// store.redis keys set timeouts and TLS, so that one place says how the gateway talks to Redis.
func parseRedisURL(raw string) (redisURL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return redisURL{}, fmt.Errorf("store.redis.url: %w", redactURLError(err))
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return redisURL{}, fmt.Errorf("store.redis.url: scheme %q, want redis:// or rediss://", u.Scheme)
	}
	if u.RawQuery != "" {
		return redisURL{}, errors.New("store.redis.url: query parameters are not supported; use the store.redis keys (dialTimeout, timeout, db, tls)")
	}
	opt, err := redis.ParseURL(raw)
	if err != nil {
		return redisURL{}, fmt.Errorf("store.redis.url: %w", err)
	}
	path := strings.Trim(u.Path, "/")
	if path != "" {
		if _, err := strconv.Atoi(path); err != nil {
			return redisURL{}, fmt.Errorf("store.redis.url: database %q is not a number", path)
		}
	}
	return redisURL{
		addr:     opt.Addr,
		username: opt.Username,
		password: opt.Password,
		db:       opt.DB,
		hasDB:    path != "",
		tls:      u.Scheme == "rediss",
	}, nil
}

// redactURLError drops the URL (which may hold a password) from a url.Parse error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// tlsConfig builds the TLS client config for Redis. Without serverName, each connection checks the
// certificate against the host it dials (right for Sentinel and Cluster, whose nodes have their own
// names).
func tlsConfig(t TLS) (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // an explicit, documented opt-in
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("store.redis.tls.caFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("store.redis.tls.caFile: no PEM certificate in %s", t.CAFile)
		}
		tc.RootCAs = pool
	}
	switch {
	case t.CertFile != "" && t.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("store.redis.tls: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	case t.CertFile != "" || t.KeyFile != "":
		return nil, errors.New("store.redis.tls: certFile and keyFile go together")
	}
	return tc, nil
}
