package store

import "time"

// Default timeouts of a Redis connection when RedisOptions leaves them zero.
const (
	DefaultDialTimeout = 500 * time.Millisecond
	DefaultTimeout     = 250 * time.Millisecond
)

// RedisOptions name the Redis the store uses (standalone from URL; Sentinel or Cluster from Mode and
// Addrs), as cmd/scim-gateway builds them from the configuration file's store.redis block. Username
// and Password are the data nodes' credentials; SentinelUsername and SentinelPassword those of the
// sentinels themselves (mode sentinel only).
type RedisOptions struct {
	URL              string
	Mode             string // standalone | sentinel | cluster
	Addrs            []string
	MasterName       string
	Username         string
	Password         string
	SentinelUsername string
	SentinelPassword string
	DB               int
	KeyPrefix        string
	TLS              TLS
	DialTimeout      time.Duration // 0: DefaultDialTimeout
	Timeout          time.Duration // read and write timeout of one command; 0: DefaultTimeout
}

// TLS configures the TLS client to Redis.
type TLS struct {
	Enabled            bool
	CAFile             string
	CertFile           string
	KeyFile            string
	ServerName         string
	InsecureSkipVerify bool
}
