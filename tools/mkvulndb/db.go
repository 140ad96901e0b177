package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// entry is the part of an OSV entry that the indexes are made of.
type entry struct {
	ID       string     `json:"id"`
	Modified time.Time  `json:"modified"`
	Aliases  []string   `json:"aliases"`
	Affected []affected `json:"affected"`
}

// affected is one module an OSV entry affects, and in which versions.
type affected struct {
	Package struct {
		Name string `json:"name"`
	} `json:"package"`
	Ranges []osvRange `json:"ranges"`
}

// osvRange is an OSV range: events in the versioning scheme Type ("SEMVER" in the Go database).
type osvRange struct {
	Type   string     `json:"type"`
	Events []osvEvent `json:"events"`
}

// osvEvent is one event of a range: a version where the vulnerability was introduced or fixed.
type osvEvent struct {
	Introduced string `json:"introduced,omitempty"`
	Fixed      string `json:"fixed,omitempty"`
}

// dbMeta is index/db.json.
type dbMeta struct {
	Modified string `json:"modified"`
}

// moduleMeta is one element of index/modules.json: a module and the entries that affect it.
type moduleMeta struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

// moduleVuln is an entry as listed under a module in index/modules.json.
type moduleVuln struct {
	ID       string `json:"id"`
	Modified string `json:"modified"`
	Fixed    string `json:"fixed,omitempty"`
}

// vulnMeta is one element of index/vulns.json.
type vulnMeta struct {
	ID       string   `json:"id"`
	Modified string   `json:"modified"`
	Aliases  []string `json:"aliases,omitempty"`
}

// summary says what build wrote.
type summary struct {
	Entries  int
	Modules  int
	Modified time.Time
	// Ignored are the rules whose entry was left out, in the ignore list's order.
	Ignored []ignoreRule
	// Stale are the rules whose id is not an entry of the data, in the ignore list's order.
	Stale []staleRule
}

// staleRule is an ignore rule that matched no entry.
type staleRule struct {
	ignoreRule
	// AliasOf is the id of the entry that has the rule's id as an alias (a CVE or GHSA id, say),
	// or "" when no entry has.
	AliasOf string
}

// build reads every <ID>.json OSV entry directly in osvDir (other files and folders are skipped)
// and writes the database to outDir, which must be empty or not exist. An entry whose modified time
// is unset (the zero time) is indexed with fallbackModified instead. The entries whose id an ignore
// rule names are left out (neither indexed nor copied, and not counted in the database's modified
// time); the summary lists those rules, and the rules that match no entry as stale. Only ids match:
// a rule naming an alias of an entry is stale, and leaves the entry in.
//
// It returns an error, before creating anything in outDir, when outDir is not empty, osvDir holds no
// entry or only ignored ones, or an entry is not valid JSON, has no id, is not in the file named
// after its id, or has no modified time while fallbackModified is zero. Ignored entries are checked
// like the others. It returns an error, having possibly written part of
// the database, when a file cannot be written; index/modules.json, which govulncheck looks for to
// recognise the layout, is written last.
func build(osvDir, outDir string, fallbackModified time.Time, ignore []ignoreRule) (summary, error) {
	if err := checkOutDir(outDir); err != nil {
		return summary{}, err
	}
	files, err := os.ReadDir(osvDir)
	if err != nil {
		return summary{}, fmt.Errorf("read OSV directory: %w", err)
	}
	var (
		latest  time.Time
		vulns   []vulnMeta
		raws    = map[string][]byte{} // file name to entry, copied as read
		modules = map[string]*moduleMeta{}
		ignored = map[string]bool{}   // ids of the ignore rules, true once an entry has matched
		aliases = map[string]string{} // alias to entry id, for the stale rules' messages
	)
	for _, r := range ignore {
		ignored[r.ID] = false
	}
	for _, f := range files {
		if !f.Type().IsRegular() || filepath.Ext(f.Name()) != ".json" {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(osvDir, f.Name()))
		if err != nil {
			return summary{}, err
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return summary{}, fmt.Errorf("%s: %w", f.Name(), err)
		}
		if e.ID == "" || strings.ContainsAny(e.ID, `/\`) {
			return summary{}, fmt.Errorf("%s: missing or invalid id %q", f.Name(), e.ID)
		}
		if f.Name() != e.ID+".json" {
			return summary{}, fmt.Errorf("%s: entry %s must be in a file named %s.json", f.Name(), e.ID, e.ID)
		}
		modified := e.Modified
		if modified.IsZero() {
			if fallbackModified.IsZero() {
				return summary{}, fmt.Errorf("%s: entry has no modified time and no -modified was given", f.Name())
			}
			modified = fallbackModified
		}
		for _, a := range e.Aliases {
			aliases[a] = e.ID
		}
		if _, ok := ignored[e.ID]; ok {
			ignored[e.ID] = true
			continue
		}
		if modified.After(latest) {
			latest = modified
		}
		stamp := formatTime(modified)
		vulns = append(vulns, vulnMeta{ID: e.ID, Modified: stamp, Aliases: e.Aliases})
		for _, a := range e.Affected {
			m := modules[a.Package.Name]
			if m == nil {
				m = &moduleMeta{Path: a.Package.Name, Vulns: []moduleVuln{}}
				modules[a.Package.Name] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: stamp, Fixed: nonSupersededFix(a.Ranges)})
		}
		raws[f.Name()] = raw
	}
	var ignoredRules []ignoreRule
	for _, r := range ignore {
		if ignored[r.ID] {
			ignoredRules = append(ignoredRules, r)
		}
	}
	if len(vulns) == 0 {
		if len(ignoredRules) > 0 {
			return summary{}, fmt.Errorf("every OSV entry in %s is ignored", osvDir)
		}
		return summary{}, fmt.Errorf("no OSV entries (<ID>.json files) in %s", osvDir)
	}
	var stale []staleRule
	for _, r := range ignore {
		if !ignored[r.ID] {
			stale = append(stale, staleRule{ignoreRule: r, AliasOf: aliases[r.ID]})
		}
	}

	// Nothing is written before every entry has been read: an output directory that exists is a
	// whole database, or at worst one cut short by a write error, never an empty one that
	// govulncheck would read as "no vulnerabilities" after a bad input.
	for _, sub := range []string{"index", "ID"} {
		if err := os.MkdirAll(filepath.Join(outDir, sub), 0o755); err != nil {
			return summary{}, err
		}
	}
	for name, raw := range raws {
		if err := os.WriteFile(filepath.Join(outDir, "ID", name), raw, 0o644); err != nil {
			return summary{}, err
		}
	}

	sort.SliceStable(vulns, func(i, j int) bool { return vulns[i].ID < vulns[j].ID })
	moduleList := make([]*moduleMeta, 0, len(modules))
	for _, m := range modules {
		sort.SliceStable(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		moduleList = append(moduleList, m)
	}
	sort.SliceStable(moduleList, func(i, j int) bool { return moduleList[i].Path < moduleList[j].Path })

	indexes := []struct {
		name  string
		value any
	}{
		{"db.json", dbMeta{Modified: formatTime(latest)}},
		{"vulns.json", vulns},
		{"modules.json", moduleList},
	}
	for _, idx := range indexes {
		b, err := json.Marshal(idx.value)
		if err != nil {
			return summary{}, err
		}
		if err := os.WriteFile(filepath.Join(outDir, "index", idx.name), b, 0o644); err != nil {
			return summary{}, err
		}
	}
	return summary{Entries: len(vulns), Modules: len(moduleList), Modified: latest, Ignored: ignoredRules, Stale: stale}, nil
}

// checkOutDir returns an error unless dir is empty or does not exist, so that no stale entry of an
// earlier database can survive into the new one.
func checkOutDir(dir string) error {
	existing, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("output directory: %w", err)
	case len(existing) > 0:
		return fmt.Errorf("output directory %s is not empty", dir)
	}
	return nil
}

// formatTime formats t as the database does: RFC 3339 in UTC, whole seconds.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}
