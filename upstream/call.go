package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty/v2"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/scim-gateway/scim-gateway/translator"
)

// request is one portal call as the typed methods describe it.
type request struct {
	op      string
	idUser  int64
	idGroup int64
	query   string // already encoded, without '?'
	body    any    // JSON-encoded when not nil
}

// outcome is the result of one attempt.
type outcome struct {
	status     int
	body       []byte
	err        *translator.Error
	retryable  bool          // the call may be repeated, if the operation is safe to repeat
	retryAfter time.Duration // the portal's Retry-After, 0 when absent
	unknown    bool          // a write was sent and its outcome is unknown
	rejected   bool          // refused before sending: queue full, breaker open, caller gone
	token      string        // the token sent, to forget it after a 401
}

// target is where one call goes: the URL, and for its CallInfo the path and the ids in it.
type target struct {
	url, path       string
	idUser, idGroup int64
}

// do runs one portal call: the endpoint switch, then attempts with retries where the operation is
// safe to repeat, and one token renewal and replay after a 401. It returns the status and body of a
// 2xx answer, or a *translator.Error.
func (c *Client) do(ctx context.Context, r request) (int, []byte, *translator.Error) {
	ep, ok := c.endpoints[r.op]
	if !ok {
		return 0, nil, translator.Errorf(translator.EInternal, "unknown portal operation %q", r.op)
	}
	if !ep.enabled {
		return 0, nil, &translator.Error{
			Code:       translator.EUnavailable,
			Message:    fmt.Sprintf("portal endpoint upstream.endpoints.%s is disabled in config", r.op),
			RetryAfter: disabledRetryAfter,
		}
	}
	var payload []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return 0, nil, &translator.Error{Code: translator.EInternal, Message: "cannot encode the portal request body", Err: err}
		}
		payload = b
	}
	path := expandPath(ep.path, r.idUser, r.idGroup)
	u := c.baseURL + path
	if r.query != "" {
		u += "?" + r.query
	}
	write := !readOps[r.op]
	safe := retryableOps[r.op]

	ctx, span := c.startCall(ctx, ep)
	var (
		last       *translator.Error
		lastStatus int
		attempts   int
	)
	defer func() { c.endCall(span, ep, lastStatus, attempts, last) }()
	unknown := false  // some attempt of this write was sent and got no answer
	replayed := false // the one token renewal and replay after a 401 was used
	tries := 0        // attempts counted against retry.maxAttempts (the replay is not)
	for attempt := 1; ; attempt++ {
		tries++
		out := c.attempt(ctx, span, ep, target{url: u, path: path, idUser: r.idUser, idGroup: r.idGroup}, payload, write, attempt)
		attempts, lastStatus = attempt, out.status
		if out.err == nil {
			last = nil
			return out.status, out.body, nil
		}
		if out.rejected && last != nil {
			break // the breaker opened or the caller left during retries: the last answer says more
		}
		last = out.err
		unknown = unknown || out.unknown
		if out.status == http.StatusUnauthorized && c.tokens != nil && !replayed {
			replayed = true
			tries--
			c.tokens.Invalidate(out.token)
			continue
		}
		if !safe || !out.retryable || tries >= c.cfg.Retry.MaxAttempts {
			break
		}
		wait, ok := retryDelay(ctx, c.cfg.Retry, tries, out.retryAfter)
		if !ok {
			break
		}
		c.log.Debug("retrying portal call",
			zap.String("op", r.op), zap.Int("attempt", attempt), zap.Duration("wait", wait), zap.Error(out.err))
		if !sleep(ctx, wait) {
			break
		}
	}
	if unknown && last.Code == translator.EUnavailable {
		// An earlier attempt of this write was sent without an answer: the portal may have applied it.
		e := *last
		e.Code = translator.EOutcomeUnknown
		e.Message = "an earlier attempt was sent without an answer, outcome unknown; last: " + last.Message
		last = &e
	}
	return 0, nil, last
}

// attempt makes one HTTP request of a call, within a slot and the breaker, and classifies its answer.
// An attempt that fails is an event of the call's span.
func (c *Client) attempt(ctx context.Context, span trace.Span, ep endpoint, t target, payload []byte, write bool, n int) (out outcome) {
	info := CallInfo{Op: ep.op, Method: ep.method, PathTemplate: ep.path, Path: t.path, IDUser: t.idUser, IDGroup: t.idGroup, Attempt: n}
	defer func() {
		info.Status = out.status
		if out.err != nil {
			info.Err = out.err
			failedAttempt(span, n, out.status, out.err)
		}
		c.report(ctx, info)
	}()

	if ctx.Err() != nil {
		out.err, out.rejected = callerGone(ctx), true
		return out
	}
	release, qerr := c.slots.acquire(ctx)
	if qerr != nil {
		out.err, out.rejected = qerr, true
		return out
	}
	defer release()
	done, berr := c.breaker.Allow()
	if berr != nil {
		out.err, out.rejected = c.breakerRejected(berr), true
		return out
	}
	verdict := errBreakerExcluded
	defer func() { done(verdict) }()

	token, terr := c.authorization(ctx)
	if terr != nil {
		out.err = terr
		out.retryable = terr.Code == translator.EUnavailable && ctx.Err() == nil
		return out
	}
	out.token = token

	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req := c.http.R().SetHeader("Accept", "application/json")
	if token != "" {
		req.SetHeader("Authorization", "Bearer "+token)
	}
	if id := RequestID(ctx); id != "" {
		req.SetHeader(headerRequestID, id)
	}
	injectTrace(ctx, req)
	if payload != nil {
		req.SetHeader("Content-Type", contentTypeJSON).SetBody(payload)
	}
	start := time.Now()
	resp, sent, err := send(actx, req, ep.method, t.url)
	info.Sent = sent
	if sent {
		info.Duration = time.Since(start)
	}

	if err != nil && resp != nil && resp.RawResponse != nil && errors.Is(err, resty.ErrResponseBodyTooLarge) {
		out.status = resp.StatusCode()
		verdict = nil
		if out.status >= 300 {
			out.err = mapAnswer(ep, write, out.status, resp.Header(), nil)
		} else {
			out.err = badAnswer(ep.op, out.status, fmt.Errorf("answer larger than upstream.maxBodyBytes (%d)", c.cfg.MaxBody))
		}
		return out
	}
	if err != nil {
		// No complete answer: refused or dropped connection, timeout, or a body cut short.
		callerDone := ctx.Err() != nil
		if callerDone {
			verdict = errBreakerExcluded
		} else {
			verdict = errBreakerFailure
			out.retryable = true
		}
		what := "portal connection failed"
		switch {
		case callerDone:
			what = "portal call abandoned by the caller"
		case actx.Err() != nil:
			what = fmt.Sprintf("portal did not answer within upstream.timeout (%s)", c.cfg.Timeout)
		}
		out.err = &translator.Error{Code: translator.EUnavailable, Message: what, RetryAfter: defaultUnavailableRetryAfter, Err: err}
		if write && sent {
			out.unknown = true
			out.err.Code = translator.EOutcomeUnknown
			out.err.Message = what + " after the write was sent, outcome unknown"
		}
		return out
	}

	out.status = resp.StatusCode()
	switch {
	case out.status == http.StatusTooManyRequests:
		verdict = errBreakerExcluded
	case out.status >= 500:
		verdict = errBreakerFailure
	default:
		verdict = nil
	}
	if out.status >= 200 && out.status < 300 {
		out.body = resp.Body()
		return out
	}
	out.err = mapAnswer(ep, write, out.status, resp.Header(), resp.Body())
	out.unknown = out.err.Code == translator.EOutcomeUnknown
	switch out.status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		out.retryable = true
		out.retryAfter = parseRetryAfter(resp.Header(), time.Now())
	}
	return out
}

// authorization returns the bearer token to send, "" when auth.type is none.
func (c *Client) authorization(ctx context.Context) (string, *translator.Error) {
	switch {
	case c.tokens != nil:
		return c.tokens.Token(ctx)
	case c.static != "":
		return c.static, nil
	default:
		return "", nil
	}
}

// report hands one attempt to Options.OnCall.
func (c *Client) report(ctx context.Context, info CallInfo) {
	if c.onCall != nil {
		c.onCall(ctx, info)
	}
}

// send executes req and reports whether the request was (or may have been) delivered to the portal:
// a request that failed while dialing, in the TLS handshake or before it was written whole cannot
// have been applied. It follows the transport through httptrace; a transport that does not trace is
// taken to have sent whatever did not fail to dial.
func send(ctx context.Context, req *resty.Request, method, u string) (*resty.Response, bool, error) {
	var gotConn, wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		GetConn: func(string) { gotConn.Store(true) },
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				wrote.Store(true)
			}
		},
	}
	resp, err := req.SetContext(httptrace.WithClientTrace(ctx, trace)).Execute(method, u)
	var opErr *net.OpError
	switch {
	case err == nil:
		return resp, true, nil
	case resp == nil: // resty failed before handing the request to the transport
		return resp, false, err
	case resp.RawResponse != nil:
		return resp, true, err
	case errors.As(err, &opErr) && (opErr.Op == "dial" || opErr.Op == "remote error"):
		// Refused while connecting, or by the portal's TLS layer (with TLS 1.3 a rejected client
		// certificate is reported only after the request is written): no HTTP request was served.
		return resp, false, err
	case gotConn.Load():
		return resp, wrote.Load(), err
	default:
		return resp, !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded), err
	}
}

// expandPath fills the {idUser} and {idGroup} placeholders of an endpoint path.
func expandPath(path string, idUser, idGroup int64) string {
	if strings.Contains(path, "{idUser}") {
		path = strings.ReplaceAll(path, "{idUser}", strconv.FormatInt(idUser, 10))
	}
	if strings.Contains(path, "{idGroup}") {
		path = strings.ReplaceAll(path, "{idGroup}", strconv.FormatInt(idGroup, 10))
	}
	return path
}
