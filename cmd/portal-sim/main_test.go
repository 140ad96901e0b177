package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	var stderr syncBuffer
	args := []string{"--listen", "127.0.0.1:0", "--base-path", "/bizagi", "--client-id", "id", "--client-secret", "secret",
		"--static-token", "tok", "--allow-delete", "--latency-ms", "0", "--jitter-ms", "3", "--error-rate", "0",
		"--rate-limit-rate", "0", "--retry-after-seconds", "0", "--html-errors", "--token-ttl-seconds", "60",
		"--drop-rate", "0", "--slow-commit-rate", "0", "--slow-commit-ms", "9", "--seed", "7"}
	go func() { done <- run(ctx, args, &stderr, func(addr string) { addrc <- addr }) }()
	var base string
	select {
	case addr := <-addrc:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("run returned before serving: %v; stderr %s", err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}

	resp, err := http.Get(base + "/_sim/faults")
	if err != nil {
		t.Fatal(err)
	}
	var f portalsim.Faults
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := portalsim.Faults{JitterMs: 3, RetryAfterSeconds: 0, HTMLErrors: true, TokenTTLSeconds: 60, SlowCommitMs: 9}
	if f != want {
		t.Fatalf("faults = %+v, want %+v", f, want)
	}

	req, _ := http.NewRequest(http.MethodPost, base+"/bizagi/oauth2/server/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.SetBasicAuth("id", "secret")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tr portalsim.TokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || tr.ExpiresIn != 60 {
		t.Fatalf("token: %d %+v", resp.StatusCode, tr)
	}

	req, _ = http.NewRequest(http.MethodPost, base+"/bizagi/api/usersync/v1/users", strings.NewReader(`{"userName":"a","domain":"b"}`))
	req.Header.Set("Authorization", "Bearer tok")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create with the static token: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodDelete, base+"/bizagi/api/usersync/v1/users(1)", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete with --allow-delete: %d", resp.StatusCode)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if out := stderr.String(); !strings.Contains(out, "listening on http://127.0.0.1:") || !strings.Contains(out, "(seed 7)") {
		t.Fatalf("stderr = %q", out)
	}
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	_, err := parseFlags([]string{"--help"}, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	for _, name := range []string{"listen", "base-path", "client-id", "client-secret", "static-token", "allow-delete",
		"latency-ms", "jitter-ms", "error-rate", "rate-limit-rate", "retry-after-seconds", "html-errors",
		"token-ttl-seconds", "drop-rate", "slow-commit-rate", "slow-commit-ms", "seed"} {
		if !strings.Contains(out.String(), "  --"+name) {
			t.Fatalf("--help lacks --%s:\n%s", name, out.String())
		}
	}
	if !strings.Contains(out.String(), "(default 127.0.0.1:8081)") || !strings.Contains(out.String(), "(default /portal)") {
		t.Fatalf("--help lacks the defaults:\n%s", out.String())
	}
}

func TestBadArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want error // nil: any error
	}{
		{"unknown flag", []string{"--nope"}, errUsage},
		{"bad number", []string{"--latency-ms", "x"}, errUsage},
		{"rate above 1", []string{"--static-token", "t", "--error-rate", "1.5"}, errUsage},
		{"TTL of 0", []string{"--static-token", "t", "--token-ttl-seconds", "0"}, errUsage},
		{"stray argument", []string{"--static-token", "t", "extra"}, errUsage},
		{"no credentials", []string{"--listen", "127.0.0.1:0"}, nil},
		{"id without secret", []string{"--listen", "127.0.0.1:0", "--client-id", "a"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, io.Discard, func(string) { t.Error("server started") })
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
