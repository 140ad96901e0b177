package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// waitTimeout bounds every wait for a watcher callback; generous for a loaded machine.
const waitTimeout = 10 * time.Second

// watched is a running Watcher with its callbacks on channels.
type watched struct {
	w       *Watcher
	changes chan applied
	errs    chan error
	refuse  atomic.Bool // onChange fails to apply
}

var errApply = errors.New("cannot apply (test)")

// applied is a configuration onChange applied, with its version.
type applied struct {
	c       *Config
	version int64
}

// startWatcher loads path and runs a Watcher on it until the test ends.
func startWatcher(t *testing.T, path string, opts ...WatchOption) *watched {
	t.Helper()
	c, _, err := Load(path, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	tw := &watched{changes: make(chan applied, 16), errs: make(chan error, 16)}
	tw.w, err = NewWatcher(path, nil, c,
		func(c *Config, version int64) error {
			if tw.refuse.Load() {
				return errApply
			}
			tw.changes <- applied{c, version}
			return nil
		},
		func(err error) { tw.errs <- err },
		opts...)
	if err != nil {
		t.Fatalf("NewWatcher: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tw.w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Run did not return after cancel")
		}
	})
	return tw
}

// waitChange waits for a change that satisfies ok, skipping errors (a file caught half-written) and
// earlier changes, and then for the watcher to record it as the one in force (it does once onChange
// returns).
func (tw *watched) waitChange(t *testing.T, what string, ok func(*Config) bool) *Config {
	t.Helper()
	deadline := time.After(waitTimeout)
	var seen []string
	for {
		select {
		case a := <-tw.changes:
			if ok(a.c) {
				for tw.w.Version() < a.version {
					select {
					case <-deadline:
						t.Fatalf("version %d applied but not recorded within %s", a.version, waitTimeout)
					case <-time.After(time.Millisecond):
					}
				}
				return a.c
			}
			seen = append(seen, "an unexpected change")
		case err := <-tw.errs:
			seen = append(seen, err.Error())
		case <-deadline:
			t.Fatalf("no change with %s within %s; saw: %v", what, waitTimeout, seen)
			return nil
		}
	}
}

// waitError waits for onError.
func (tw *watched) waitError(t *testing.T) error {
	t.Helper()
	select {
	case err := <-tw.errs:
		return err
	case a := <-tw.changes:
		t.Fatalf("got a change (logging.level %q), want an error", a.c.Logging.Level)
	case <-time.After(waitTimeout):
		t.Fatalf("no error within %s", waitTimeout)
	}
	return nil
}

func levelIs(level string) func(*Config) bool {
	return func(c *Config) bool { return c.Logging.Level == level }
}

// replaceFile writes content to path atomically, as an editor or a deploy tool would.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestWatcherFileRewrittenInPlace(t *testing.T) {
	path := writeFile(t, t.TempDir(), "config.yaml", minimalYAML)
	tw := startWatcher(t, path)
	if tw.w.Version() != 1 {
		t.Fatalf("initial version = %d, want 1", tw.w.Version())
	}
	if err := os.WriteFile(path, []byte(minimalYAML+"logging: {level: debug}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := tw.waitChange(t, "logging.level debug", levelIs("debug"))
	if tw.w.Current() != c {
		t.Fatalf("Current() is not the config handed to onChange")
	}
	if tw.w.Version() < 2 {
		t.Fatalf("version = %d after a change, want at least 2", tw.w.Version())
	}
}

// TestWatcherKubernetesSymlinkSwap updates a config the way the kubelet updates a ConfigMap volume:
// the files live in a timestamped directory, `..data` links to it, config.yaml links through `..data`,
// and an update swaps `..data` atomically with a rename; config.yaml itself never gets an event.
func TestWatcherKubernetesSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	publish := func(stamp, content string) {
		t.Helper()
		if err := os.Mkdir(filepath.Join(dir, stamp), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, stamp), "config.yaml", content)
		tmpLink := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(stamp, tmpLink); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmpLink, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	publish("..2026_01_01_00_00_00.000000001", minimalYAML)
	path := filepath.Join(dir, "config.yaml")
	if err := os.Symlink(filepath.Join("..data", "config.yaml"), path); err != nil {
		t.Fatal(err)
	}
	tw := startWatcher(t, path)

	publish("..2026_01_01_00_01_00.000000002", minimalYAML+"logging: {level: warn}\n")
	if err := os.RemoveAll(filepath.Join(dir, "..2026_01_01_00_00_00.000000001")); err != nil {
		t.Fatal(err)
	}
	tw.waitChange(t, "logging.level warn", levelIs("warn"))

	// A second swap proves the watches followed the first one.
	publish("..2026_01_01_00_02_00.000000003", minimalYAML+"logging: {level: error}\n")
	if err := os.RemoveAll(filepath.Join(dir, "..2026_01_01_00_01_00.000000002")); err != nil {
		t.Fatal(err)
	}
	tw.waitChange(t, "logging.level error", levelIs("error"))
	if v := tw.w.Version(); v != 3 {
		t.Fatalf("version = %d after two swaps, want 3", v)
	}
}

func TestWatcherSecretRotated(t *testing.T) {
	secrets := t.TempDir()
	tokenFile := writeFile(t, secrets, "scim-token", "first-token-0123456789\n")
	config := fmt.Sprintf(`
server:
  tokens:
    - name: entra
      valueFile: %q
upstream:
  baseURL: "http://127.0.0.1:8081/portal"
  auth: {clientID: gw, clientSecret: gw-secret}
`, tokenFile)
	path := writeFile(t, t.TempDir(), "config.yaml", config)
	tw := startWatcher(t, path)
	if got := tw.w.Current().Server.Tokens[0].Value; got != "first-token-0123456789" {
		t.Fatalf("initial token = %q", got)
	}
	replaceFile(t, tokenFile, "second-token-0123456789\n")
	tw.waitChange(t, "the rotated token", func(c *Config) bool {
		return c.Server.Tokens[0].Value == "second-token-0123456789"
	})
}

func TestWatcherKeepsTheOldConfigOnInvalidChange(t *testing.T) {
	path := writeFile(t, t.TempDir(), "config.yaml", minimalYAML)
	tw := startWatcher(t, path)
	old := tw.w.Current()

	replaceFile(t, path, minimalYAML+"logging: {level: loud}\nbogus: 1\n")
	err := tw.waitError(t)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("onError got %v, want a Problems error", err)
	}
	paths := make([]string, len(ps))
	for i, p := range ps {
		paths[i] = p.Path
	}
	slices.Sort(paths)
	if want := []string{"bogus", "logging.level"}; !slices.Equal(paths, want) {
		t.Fatalf("problem paths = %v, want %v", paths, want)
	}
	if !strings.Contains(err.Error(), "keeping version 1") {
		t.Fatalf("error %q does not say which version stays", err)
	}
	if tw.w.Current() != old || tw.w.Version() != 1 {
		t.Fatalf("the invalid config replaced the old one (version %d)", tw.w.Version())
	}

	// A fix afterwards is picked up.
	replaceFile(t, path, minimalYAML+"logging: {level: debug}\n")
	tw.waitChange(t, "logging.level debug", levelIs("debug"))
	if v := tw.w.Version(); v != 2 {
		t.Fatalf("version = %d, want 2", v)
	}
}

// TestWatcherRetriesAFailedApply: a valid configuration the app could not apply is not recorded as
// applied, so saving the same file again retries it, and it gets the version the failed one would have.
func TestWatcherRetriesAFailedApply(t *testing.T) {
	path := writeFile(t, t.TempDir(), "config.yaml", minimalYAML)
	tw := startWatcher(t, path)
	old := tw.w.Current()
	content := minimalYAML + "logging: {level: debug}\n"

	tw.refuse.Store(true)
	replaceFile(t, path, content)
	err := tw.waitError(t)
	if !errors.Is(err, errApply) || !strings.Contains(err.Error(), "keeping version 1") {
		t.Fatalf("onError got %v, want the apply error, keeping version 1", err)
	}
	if tw.w.Current() != old || tw.w.Version() != 1 {
		t.Fatalf("a configuration that was not applied is in force (version %d)", tw.w.Version())
	}

	tw.refuse.Store(false)
	replaceFile(t, path, content) // the same content again
	c := tw.waitChange(t, "logging.level debug", levelIs("debug"))
	if tw.w.Current() != c || tw.w.Version() != 2 {
		t.Fatalf("after the retry: version %d, current is the applied config: %v", tw.w.Version(), tw.w.Current() == c)
	}
}

// TestWatcherReloadOnDemand uses a debounce far longer than the test so only Reload can load.
func TestWatcherReloadOnDemand(t *testing.T) {
	path := writeFile(t, t.TempDir(), "config.yaml", minimalYAML)
	tw := startWatcher(t, path, WithDebounce(time.Hour))

	tw.w.Reload() // nothing changed: no onChange, no new version
	replaceFile(t, path, minimalYAML+"logging: {level: debug}\n")
	tw.w.Reload()
	c := tw.waitChange(t, "any change", func(*Config) bool { return true })
	if c.Logging.Level != "debug" {
		t.Fatalf("first change has logging.level %q, want debug: an unchanged reload was reported", c.Logging.Level)
	}
	if v := tw.w.Version(); v != 2 {
		t.Fatalf("version = %d, want 2", v)
	}
}

func TestNewWatcherErrors(t *testing.T) {
	if _, err := NewWatcher("x.yaml", nil, nil, func(*Config, int64) error { return nil }, func(error) {}); err == nil {
		t.Fatalf("NewWatcher without a config: no error")
	}
	c := validConfig()
	if _, err := NewWatcher(filepath.Join(t.TempDir(), "absent", "config.yaml"), nil, c, func(*Config, int64) error { return nil }, func(error) {}); err == nil {
		t.Fatalf("NewWatcher on a missing directory: no error")
	}
}

func TestLiveChanges(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   []string
	}{
		{"nothing", func(c *Config) {}, nil},
		{"live keys only", func(c *Config) {
			c.Logging.Level = "debug"
			c.Server.Tokens = append(c.Server.Tokens, Token{Name: "next", Value: "next-token-0123456789"})
			c.Upstream.Endpoints = map[string]Endpoint{OpDeleteUser: {Method: "DELETE", Path: "/x/{idUser}", Enabled: new(bool)}}
			c.Admin.Token = "admin-token-0123456789"
		}, nil},
		{"listeners and store", func(c *Config) {
			c.Server.Listen = ":8443"
			c.Admin.Listen = ":9443"
			c.Store.Redis.URL = "redis://other:6379/0"
			c.Store.Redis.Password = "pw"
		}, []string{"admin.listen", "server.listen", "store.redis.password", "store.redis.url"}},
		{"a list in the store", func(c *Config) { c.Store.Redis.Addrs = []string{"a:1", "b:2"} },
			[]string{"store.redis.addrs"}},
		{"server timeouts", func(c *Config) { c.Server.ReadTimeout = time.Minute },
			[]string{"server.readTimeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, next := validConfig(), validConfig()
			tt.change(next)
			if got := LiveChanges(old, next); !slices.Equal(got, tt.want) {
				t.Fatalf("LiveChanges = %v, want %v", got, tt.want)
			}
		})
	}
}
