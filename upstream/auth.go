package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-resty/resty/v2"
	"go.uber.org/zap"

	"github.com/scim-gateway/scim-gateway/translator"
)

// tokenFailureTTL is how long a refused token request is remembered: concurrent and following calls
// get the same error instead of asking the token endpoint again (no retry storm on a bad secret).
const tokenFailureTTL = time.Second

// tokenSource obtains OAuth 2 client-credentials tokens and caches them. One renewal runs at a time;
// concurrent callers wait for it (or keep using the current token while it is still valid).
type tokenSource struct {
	c           *Client
	url         string
	template    string // tokenURL as configured, for CallInfo and the token request's span
	spanName    string // the token request's span: "POST " and template
	clientID    string
	secret      string
	scope       string
	renewBefore time.Duration
	failureTTL  time.Duration

	mu        sync.Mutex
	token     string
	renewAt   time.Time     // zero: renew only when the portal refuses the token
	expiresAt time.Time     // zero: no known expiry
	renewing  chan struct{} // non-nil while a renewal runs; closed when it ends
	failure   *translator.Error
	failUntil time.Time
}

func newTokenSource(c *Client, tokenURL string, auth Auth) *tokenSource {
	return &tokenSource{
		c:           c,
		url:         tokenURL,
		template:    auth.TokenURL,
		spanName:    http.MethodPost + " " + auth.TokenURL,
		clientID:    auth.ClientID,
		secret:      auth.ClientSecret,
		scope:       strings.Join(auth.Scopes, " "),
		renewBefore: auth.RenewBefore,
		failureTTL:  tokenFailureTTL,
	}
}

// Token returns a token to send. Errors: EUnauthorized when the portal refuses the credentials or
// the scopes, EUnavailable when the token endpoint cannot be reached or ctx ends, ERateLimited,
// EInternal for an answer that is not a token.
func (s *tokenSource) Token(ctx context.Context) (string, *translator.Error) {
	for {
		s.mu.Lock()
		now := time.Now()
		valid := s.token != "" && (s.expiresAt.IsZero() || now.Before(s.expiresAt))
		if valid && (s.renewAt.IsZero() || now.Before(s.renewAt)) {
			tok := s.token
			s.mu.Unlock()
			return tok, nil
		}
		if s.renewing != nil {
			if valid { // due for renewal but still good: use it while another call renews
				tok := s.token
				s.mu.Unlock()
				return tok, nil
			}
			wait := s.renewing
			s.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return "", callerGone(ctx)
			}
		}
		if s.failure != nil && now.Before(s.failUntil) {
			failure := s.failure
			s.mu.Unlock()
			return "", failure
		}
		done := make(chan struct{})
		s.renewing = done
		s.mu.Unlock()

		tok, lifetime, err := s.fetch(ctx)

		s.mu.Lock()
		s.renewing = nil
		close(done)
		if err == nil {
			s.store(tok, lifetime, time.Now())
			s.failure = nil
			s.mu.Unlock()
			return tok, nil
		}
		if cacheableTokenFailure(err) {
			s.failure = err
			s.failUntil = time.Now().Add(s.failureTTL)
		}
		if valid {
			tok := s.token
			s.mu.Unlock()
			s.c.log.Debug("token renewal failed, keeping the current token", zap.Error(err))
			return tok, nil
		}
		s.mu.Unlock()
		return "", err
	}
}

// store records a new token. It renews renewBefore ahead of expiry, or half way through the token's
// life when the life is shorter than twice renewBefore. Called with mu held.
func (s *tokenSource) store(tok string, expiry, now time.Time) {
	s.token = tok
	s.renewAt, s.expiresAt = time.Time{}, time.Time{}
	if expiry.IsZero() {
		return
	}
	margin := min(s.renewBefore, expiry.Sub(now)/2)
	s.expiresAt = expiry
	s.renewAt = expiry.Add(-margin)
}

// Invalidate forgets tok after the portal refused it, so that the next Token call renews. A token
// that was already replaced is left alone.
func (s *tokenSource) Invalidate(tok string) {
	s.mu.Lock()
	if s.token == tok {
		s.token = ""
	}
	s.mu.Unlock()
}

// cacheableTokenFailure reports whether a token failure is a refusal (remembered briefly) rather than
// a transient failure (tried again by the next call).
func cacheableTokenFailure(err *translator.Error) bool {
	return err.Code == translator.EUnauthorized || err.Code == translator.EInternal
}

// tokenAnswer is the token endpoint's answer, success or OAuth error. Portals of this kind write
// token_type in lower case and echo a non-standard http_status_code.
type tokenAnswer struct {
	AccessToken      string  `json:"access_token"`
	TokenType        string  `json:"token_type"`
	ExpiresIn        flexInt `json:"expires_in"`
	HTTPStatusCode   flexInt `json:"http_status_code"`
	Error            string  `json:"error"`
	ErrorDescription string  `json:"error_description"`
}

// flexInt reads a JSON number or a string holding one (some portals quote expires_in).
type flexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*f = flexInt(n)
	return nil
}

// fetch asks the token endpoint for a token. It returns the token and when it expires (zero when
// the portal gives no lifetime).
func (s *tokenSource) fetch(ctx context.Context) (string, time.Time, *translator.Error) {
	actx, cancel := context.WithTimeout(ctx, s.c.cfg.Timeout)
	defer cancel()
	req := s.c.http.R().
		SetBasicAuth(s.clientID, s.secret).
		SetHeader("Accept", "application/json").
		SetFormData(map[string]string{"grant_type": "client_credentials", "scope": s.scope})
	if id := RequestID(ctx); id != "" {
		req.SetHeader(headerRequestID, id)
	}
	actx, span := s.c.startToken(actx, s.spanName)
	injectTrace(actx, req)
	start := time.Now()
	resp, sent, err := send(actx, req, http.MethodPost, s.url)
	info := CallInfo{Op: OpToken, Method: http.MethodPost, PathTemplate: s.template, Attempt: 1, Sent: sent}
	if sent {
		info.Duration = time.Since(start)
	}
	tok, expiry, terr := s.interpret(ctx, resp, err)
	if resp != nil && resp.RawResponse != nil {
		info.Status = resp.StatusCode()
	}
	if terr != nil {
		info.Err = terr
	}
	endToken(span, s.template, info.Status, terr)
	s.c.report(ctx, info)
	return tok, expiry, terr
}

func (s *tokenSource) interpret(ctx context.Context, resp *resty.Response, err error) (string, time.Time, *translator.Error) {
	if err != nil && (resp == nil || resp.RawResponse == nil) {
		if ctx.Err() != nil {
			return "", time.Time{}, callerGone(ctx)
		}
		return "", time.Time{}, &translator.Error{
			Code:       translator.EUnavailable,
			Message:    "portal token endpoint unreachable",
			RetryAfter: defaultUnavailableRetryAfter,
			Err:        err,
		}
	}
	status := resp.StatusCode()
	if err != nil { // an answer came but could not be read whole (too large)
		return "", time.Time{}, badAnswer(OpToken, status, err)
	}
	var ans tokenAnswer
	body := bytes.TrimSpace(resp.Body())
	jsonErr := json.Unmarshal(body, &ans)
	if jsonErr == nil && status < 300 && ans.HTTPStatusCode >= 400 {
		status = int(ans.HTTPStatusCode) // an error answered with 200 and the real status in the body
	}
	oauthErr := ans.Error
	if oauthErr == "" {
		oauthErr = "no OAuth error code"
	}
	switch {
	case status >= 200 && status < 300:
		if jsonErr != nil || ans.AccessToken == "" {
			return "", time.Time{}, badAnswer(OpToken, status, jsonErr)
		}
		if ans.TokenType != "" && !strings.EqualFold(ans.TokenType, "bearer") {
			return "", time.Time{}, badAnswer(OpToken, status, fmt.Errorf("token_type %q is not bearer", ans.TokenType))
		}
		var expiry time.Time
		if ans.ExpiresIn > 0 {
			expiry = time.Now().Add(time.Duration(ans.ExpiresIn) * time.Second)
		}
		return ans.AccessToken, expiry, nil
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "", time.Time{}, &translator.Error{
			Code:       translator.EUnauthorized,
			Message:    fmt.Sprintf("portal refused the gateway's client credentials (%s); check upstream.auth.clientID and clientSecret", oauthErr),
			Status:     status,
			PortalCode: ans.Error,
		}
	case status == http.StatusBadRequest && ans.Error == "invalid_scope":
		return "", time.Time{}, &translator.Error{
			Code:       translator.EUnauthorized,
			Message:    fmt.Sprintf("portal refused the scopes %q (invalid_scope); check upstream.auth.scopes", s.scope),
			Status:     status,
			PortalCode: ans.Error,
		}
	case status == http.StatusTooManyRequests:
		return "", time.Time{}, &translator.Error{
			Code:       translator.ERateLimited,
			Message:    "portal token endpoint rate limit",
			Status:     status,
			RetryAfter: retryAfterOr(resp.Header(), defaultRateLimitRetryAfter),
		}
	case status >= 500:
		return "", time.Time{}, &translator.Error{
			Code:       translator.EUnavailable,
			Message:    fmt.Sprintf("portal token endpoint unavailable (%d)", status),
			Status:     status,
			RetryAfter: retryAfterOr(resp.Header(), defaultUnavailableRetryAfter),
		}
	default:
		return "", time.Time{}, &translator.Error{
			Code:       translator.EUnauthorized,
			Message:    fmt.Sprintf("portal token endpoint refused the request with %d (%s); check upstream.auth", status, oauthErr),
			Status:     status,
			PortalCode: ans.Error,
		}
	}
}
