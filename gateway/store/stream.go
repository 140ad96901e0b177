package store

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// StreamField is the field of a stream entry that holds its value.
const StreamField = "v"

// streamPage is how many entries one XREVRANGE of Stream.Scan reads.
const streamPage = 200

// Stream is a capped Redis stream of opaque values under one key (prefixed like every key), shared by
// every replica that uses the same Redis and prefix. Its calls go through the Redis short-circuit, so
// while Redis is down they fail at once with ErrUnavailable. It is safe for concurrent use.
type Stream struct {
	r   *Redis
	key string
}

// Stream returns the stream stored under key.
func (r *Redis) Stream(key string) *Stream { return &Stream{r: r, key: r.prefix + key} }

// Add appends values, in order, in one round trip, each XADD trimming the stream to about maxLen
// entries (MAXLEN ~: Redis trims whole macro nodes, so the stream may hold somewhat more). Errors are
// those of Redis.Get.
func (s *Stream) Add(ctx context.Context, maxLen int, values [][]byte) error {
	if len(values) == 0 {
		return nil
	}
	return s.r.do(ctx, "xadd", func() error {
		_, err := s.r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, v := range values {
				p.XAdd(ctx, &redis.XAddArgs{Stream: s.key, MaxLen: int64(maxLen), Approx: true,
					Values: []any{StreamField, v}})
			}
			return nil
		})
		return err
	})
}

// Scan calls fn with the entries of the stream newest first (the time Redis added each, by its clock,
// and its value), from the newest entry back to the first one added at or after since (the zero time:
// the oldest kept), until fn returns false. Entries are read in pages; an error (those of Redis.Get)
// stops the scan.
func (s *Stream) Scan(ctx context.Context, since time.Time, fn func(added time.Time, value []byte) bool) error {
	stop := "-"
	if !since.IsZero() {
		stop = strconv.FormatInt(since.UnixMilli(), 10)
	}
	start := "+"
	for {
		var page []redis.XMessage
		err := s.r.do(ctx, "xrevrange", func() error {
			var err error
			page, err = s.r.client.XRevRangeN(ctx, s.key, start, stop, streamPage).Result()
			return err
		})
		if err != nil {
			return err
		}
		for _, m := range page {
			v, _ := m.Values[StreamField].(string)
			if !fn(entryTime(m.ID), []byte(v)) {
				return nil
			}
		}
		if len(page) < streamPage {
			return nil
		}
		start = "(" + page[len(page)-1].ID // exclusive: the entries before the last one read
	}
}

// Len returns how many entries the stream holds.
func (s *Stream) Len(ctx context.Context) (int64, error) {
	var n int64
	err := s.r.do(ctx, "xlen", func() error {
		var err error
		n, err = s.r.client.XLen(ctx, s.key).Result()
		return err
	})
	return n, err
}

// entryTime is the time in a stream entry id ("<unix milliseconds>-<sequence>").
func entryTime(id string) time.Time {
	ms, _, _ := strings.Cut(id, "-")
	n, _ := strconv.ParseInt(ms, 10, 64)
	return time.UnixMilli(n)
}
