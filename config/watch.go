package config

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long the watcher waits after the last file event of a burst before it
// reloads (a Kubernetes volume update is several events).
const DefaultDebounce = 200 * time.Millisecond

// maxDebounceFactor bounds how long a stream of events can postpone a reload: DefaultDebounce times this.
const maxDebounceFactor = 10

// Watcher reloads the configuration when its file, a ...File secret or a TLS file it names changes,
// and on demand (Reload, for SIGHUP). It watches the files' parent directories, not the files, so it
// sees Kubernetes ConfigMap and Secret volumes swap their `..data` symlink, and the directories that
// symlinks resolve to. A reload builds the new configuration fully (Load, so validation included); a
// valid configuration that differs from the current one is handed to onChange with its version, and
// only when onChange applied it does it become the current one and the version go up. An invalid one,
// or one onChange could not apply, goes to onError and the current one stays: saving the same file
// again retries it. The Watcher is the one owner of this state (the configuration in force, its
// fingerprint and its version).
//
// Create it with NewWatcher, then call Run in a goroutine.
type Watcher struct {
	path     string
	environ  []string
	onChange func(*Config, int64) error
	onError  func(error)
	debounce time.Duration

	fsw       *fsnotify.Watcher
	closeOnce sync.Once
	requests  chan struct{}

	current atomic.Pointer[Config]
	version atomic.Int64

	// Owned by the Run goroutine once Run starts.
	fingerprint [sha256.Size]byte
	names       map[string]bool // base names whose events matter
}

// WatchOption configures a Watcher.
type WatchOption func(*Watcher)

// WithDebounce sets how long the watcher waits after the last file event before reloading
// (DefaultDebounce).
func WithDebounce(d time.Duration) WatchOption { return func(w *Watcher) { w.debounce = d } }

// NewWatcher starts watching for changes to current, the configuration Load returned for path and
// environ (version 1). onChange receives each new valid configuration with the version it gets once
// applied, and returns an error when it could not apply it (the configuration in force stays);
// onError receives each failed reload (a Problems error for an invalid configuration, wrapped, or
// onChange's error, wrapped); both are called from the Run goroutine, one at a time, and must not
// block for long. It returns an error when current is nil or a directory cannot be
// watched. The watches are in place when NewWatcher returns.
func NewWatcher(path string, environ []string, current *Config, onChange func(*Config, int64) error, onError func(error), opts ...WatchOption) (*Watcher, error) {
	if current == nil {
		return nil, errors.New("config: NewWatcher: no current configuration")
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("config: watching files: %w", err)
	}
	w := &Watcher{
		path:     path,
		environ:  environ,
		onChange: onChange,
		onError:  onError,
		debounce: DefaultDebounce,
		fsw:      fsw,
		requests: make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(w)
	}
	if err := w.watch(current); err != nil {
		_ = fsw.Close()
		return nil, err
	}
	w.fingerprint = fingerprint(current)
	w.current.Store(current)
	w.version.Store(1)
	return w, nil
}

// Current returns the configuration in force.
func (w *Watcher) Current() *Config { return w.current.Load() }

// Version returns the version of the configuration in force: 1 for the one NewWatcher got, one more
// for each change swapped in since. /readyz can show it.
func (w *Watcher) Version() int64 { return w.version.Load() }

// Reload asks for a reload now (SIGHUP) without waiting for it; requests made while one is pending
// are merged. The result reaches onChange or onError, or nothing when the configuration is unchanged.
func (w *Watcher) Reload() {
	select {
	case w.requests <- struct{}{}:
	default:
	}
}

// Run watches until ctx is done, then stops watching and returns nil.
func (w *Watcher) Run(ctx context.Context) error {
	defer w.Close()
	var (
		timer        *time.Timer
		timerC       <-chan time.Time
		pendingSince time.Time
	)
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return nil
			}
			if !w.names[filepath.Base(ev.Name)] && !strings.HasPrefix(filepath.Base(ev.Name), "..") {
				continue
			}
			switch {
			case timerC == nil:
				pendingSince = time.Now()
				if timer == nil {
					timer = time.NewTimer(w.debounce)
				} else {
					timer.Reset(w.debounce)
				}
				timerC = timer.C
			case time.Since(pendingSince) < maxDebounceFactor*w.debounce:
				timer.Reset(w.debounce)
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return nil
			}
			w.onError(fmt.Errorf("config: watching files: %w", err))
		case <-timerC:
			timerC = nil
			w.reload()
		case <-w.requests:
			w.reload()
		}
	}
}

// Close stops watching. Run calls it when it returns; call it only when Run never ran.
func (w *Watcher) Close() error {
	var err error
	w.closeOnce.Do(func() { err = w.fsw.Close() })
	return err
}

// reload loads the configuration and, when it is valid and differs, has onChange apply it; it becomes
// the current one only once applied.
func (w *Watcher) reload() {
	next, _, err := Load(w.path, w.environ)
	if err != nil {
		// A volume swap may have moved the files even though the new content is bad: follow it.
		if werr := w.watch(w.Current()); werr != nil {
			w.onError(werr)
		}
		w.onError(fmt.Errorf("config: reload of %s failed, keeping version %d: %w", w.path, w.Version(), err))
		return
	}
	if werr := w.watch(next); werr != nil {
		w.onError(werr)
	}
	fp := fingerprint(next)
	if fp == w.fingerprint {
		return
	}
	version := w.Version() + 1
	if err := w.onChange(next, version); err != nil {
		w.onError(fmt.Errorf("config: applying %s failed, keeping version %d: %w", w.path, w.Version(), err))
		return
	}
	w.fingerprint = fp
	w.current.Store(next)
	w.version.Store(version)
}

// watch adds a watch on the directory of every file c depends on, and on the directory each resolves
// to through symlinks, and records the base names whose events matter.
func (w *Watcher) watch(c *Config) error {
	var files []string
	if w.path != "" {
		files = append(files, w.path)
	}
	files = append(files, c.SecretFiles()...)
	files = append(files, c.TLSFiles()...)

	names := map[string]bool{}
	var errs []error
	for _, f := range files {
		names[filepath.Base(f)] = true
		if err := w.fsw.Add(filepath.Dir(f)); err != nil {
			errs = append(errs, fmt.Errorf("config: watching %s: %w", filepath.Dir(f), err))
		}
		resolved, err := filepath.EvalSymlinks(f)
		if err != nil || resolved == f {
			continue // a missing file shows up when Load reads it
		}
		names[filepath.Base(resolved)] = true
		if err := w.fsw.Add(filepath.Dir(resolved)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("config: watching %s: %w", filepath.Dir(resolved), err))
		}
	}
	w.names = names
	return errors.Join(errs...)
}

// fingerprint identifies a configuration with the content of its TLS files, so a reload that changes
// nothing is not reported.
func fingerprint(c *Config) [sha256.Size]byte {
	h := sha256.New()
	data, _ := json.Marshal(c) // plain data: cannot fail
	h.Write(data)
	for _, f := range c.TLSFiles() {
		content, _ := os.ReadFile(f) // Load has just read it
		fmt.Fprintf(h, "\x00%s\x00%d\x00", f, len(content))
		h.Write(content)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// restartKeys are the keys the gateway reads only when it starts; any other key changes live.
var restartKeys = []string{
	"server.listen", "server.readHeaderTimeout", "server.readTimeout", "server.writeTimeout",
	"server.idleTimeout", "admin.listen", "store", "telemetry", "upstream.globalLease",
}

// LiveChanges compares two configurations and returns the keys that changed but take effect only after
// a restart (listen addresses, server timeouts, everything under store), sorted, list items collapsed
// into their list ("store.redis.addrs"), so the app can log "requires restart". Values are not shown.
func LiveChanges(old, new *Config) (restartNeeded []string) {
	tree := configTree()
	before, after := map[string]string{}, map[string]string{}
	flatten(tree, reflect.ValueOf(*old), "", before)
	flatten(tree, reflect.ValueOf(*new), "", after)
	seen := map[string]bool{}
	for _, m := range []map[string]string{before, after} {
		for path := range m {
			if before[path] == after[path] && hasKey(before, path) == hasKey(after, path) {
				continue
			}
			if i := strings.IndexByte(path, '['); i >= 0 {
				path = path[:i]
			}
			if !seen[path] && underAny(path, restartKeys) {
				seen[path] = true
				restartNeeded = append(restartNeeded, path)
			}
		}
	}
	sort.Strings(restartNeeded)
	return restartNeeded
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

func underAny(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+".") {
			return true
		}
	}
	return false
}
