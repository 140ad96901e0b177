package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Content types sent: Entra's for SCIM, plain JSON for the portal.
const (
	scimContentType   = "application/scim+json; charset=utf-8"
	portalContentType = "application/json; charset=utf-8"
)

// maxBody bounds how much of an answer is read; the rest is discarded so the connection is reused.
const maxBody = 8 << 20

// newHTTPClient returns a client with one keep-alive transport sized for concurrency connections.
func newHTTPClient(concurrency int, timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.MaxIdleConns = concurrency * 2
	tr.MaxIdleConnsPerHost = concurrency * 2
	tr.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: tr, Timeout: timeout}
}

// reply is one HTTP answer, read in full, or the transport error that stood in for it.
type reply struct {
	status        int // 0 when no answer came
	header        http.Header
	body          []byte
	retryAfter    time.Duration
	hasRetryAfter bool
	err           error
}

// caller sends requests with the bearer token and records every answer in the answer log.
type caller struct {
	client      *http.Client
	token       string
	contentType string
	answers     *answerLog
	now         func() time.Time
}

// call sends one request; body, when not nil, is marshalled as JSON. expected409 marks a request
// whose 409 is part of the normal flow (a create that meets an existing object), so the answer log
// does not count it as an error without Retry-After.
func (c *caller) call(ctx context.Context, method, url string, body any, expected409 bool) reply {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{err: fmt.Errorf("encode body: %w", err)}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return reply{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", c.contentType)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.answers.add(0, false, false)
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_, _ = io.Copy(io.Discard, resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, body: b}
	if err != nil {
		// The status came but the body did not: the outcome is unknown, like a dropped connection.
		c.answers.add(0, false, false)
		return reply{err: fmt.Errorf("read body: %w", err)}
	}
	if v := resp.Header.Get("Retry-After"); v != "" {
		r.retryAfter, r.hasRetryAfter = parseRetryAfter(v, c.now())
	}
	c.answers.add(r.status, r.hasRetryAfter, expected409 && r.status == http.StatusConflict)
	return r
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date (RFC 9110 10.2.3). A date
// in the past is a zero delay. ok is false for a value of neither form.
func parseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d = t.Sub(now); d < 0 {
		d = 0
	}
	return d, true
}

// answerLog counts every answer of the run for the soak summary. It is safe for concurrent use.
type answerLog struct {
	mu                      sync.Mutex
	total                   int
	ok                      int
	errors                  int
	errorsWithRetryAfter    int
	errorsWithoutRetryAfter int
	expectedConflicts       int
	networkErrors           int
	errorStatuses           map[int]int
}

func newAnswerLog() *answerLog { return &answerLog{errorStatuses: map[int]int{}} }

// add records an answer of status (0: none came). expectedConflict marks a 409 of a create, which is
// not an error for the soak summary.
func (a *answerLog) add(status int, hasRetryAfter, expectedConflict bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if status == 0 {
		a.networkErrors++
		return
	}
	a.total++
	switch {
	case status >= 200 && status < 300:
		a.ok++
		return
	case expectedConflict:
		a.expectedConflicts++
	case hasRetryAfter:
		a.errorsWithRetryAfter++
	default:
		a.errorsWithoutRetryAfter++
	}
	a.errors++
	a.errorStatuses[status]++
}

// summary returns the counts as reported.
func (a *answerLog) summary() AnswerSummary {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := AnswerSummary{
		Total:                   a.total,
		OK:                      a.ok,
		Errors:                  a.errors,
		ErrorsWithRetryAfter:    a.errorsWithRetryAfter,
		ErrorsWithoutRetryAfter: a.errorsWithoutRetryAfter,
		ExpectedConflicts:       a.expectedConflicts,
		NetworkErrors:           a.networkErrors,
		ErrorStatuses:           map[string]int{},
	}
	for st, n := range a.errorStatuses {
		s.ErrorStatuses[strconv.Itoa(st)] = n
	}
	return s
}
