package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixtureModified is the -modified time the tests pass: the fixture's entries GO-2026-0101 and
// GO-2026-0103 have none of their own, as in the vulndb module; GO-2026-0102 has an earlier one.
var fixtureModified = time.Date(2026, 11, 5, 23, 49, 57, 0, time.UTC)

func TestBuildWritesIndexesAndEntries(t *testing.T) {
	out := filepath.Join(t.TempDir(), "db")
	got, err := build("testdata/osv", out, fixtureModified, nil)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", summary{Entries: 3, Modules: 4, Modified: fixtureModified}); g != w {
		t.Fatalf("summary = %s, want %s", g, w)
	}

	// The indexes are compared byte for byte: govulncheck reads modules.json as a stream of
	// objects, and the order (by path, then id) is the database's.
	indexes := []struct {
		file string
		want string
	}{
		{"index/db.json", `{"modified":"2026-11-05T23:49:57Z"}`},
		{"index/modules.json", `[` +
			`{"path":"example.com/legacy","vulns":[{"id":"GO-2026-0103","modified":"2026-11-05T23:49:57Z"}]},` +
			`{"path":"github.com/labstack/echo/v4","vulns":[{"id":"GO-2026-0101","modified":"2026-11-05T23:49:57Z","fixed":"4.16.1"}]},` +
			`{"path":"github.com/labstack/echo/v5","vulns":[{"id":"GO-2026-0101","modified":"2026-11-05T23:49:57Z","fixed":"5.4.1"}]},` +
			`{"path":"stdlib","vulns":[{"id":"GO-2026-0102","modified":"2026-03-04T17:20:05Z","fixed":"1.26.2"}]}` +
			`]`},
		{"index/vulns.json", `[` +
			`{"id":"GO-2026-0101","modified":"2026-11-05T23:49:57Z","aliases":["CVE-2026-10101","GHSA-aaaa-bbbb-cccc"]},` +
			`{"id":"GO-2026-0102","modified":"2026-03-04T17:20:05Z","aliases":["CVE-2026-10102"]},` +
			`{"id":"GO-2026-0103","modified":"2026-11-05T23:49:57Z"}` +
			`]`},
	}
	for _, tc := range indexes {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(out, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(b); got != tc.want {
				t.Fatalf("%s =\n%s\nwant\n%s", tc.file, got, tc.want)
			}
		})
	}

	for _, id := range []string{"GO-2026-0101", "GO-2026-0102", "GO-2026-0103"} {
		t.Run("ID/"+id, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata/osv", id+".json"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(out, "ID", id+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("ID/%s.json differs from the OSV entry it was copied from", id)
			}
		})
	}

	ids, err := os.ReadDir(filepath.Join(out, "ID"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 {
		t.Fatalf("ID/ holds %d files, want 3 (README.txt must be skipped)", len(ids))
	}
}

func TestBuildAcceptsExistingEmptyOutDir(t *testing.T) {
	out := t.TempDir()
	if _, err := build("testdata/osv", out, fixtureModified, nil); err != nil {
		t.Fatalf("build into an empty existing directory: %v", err)
	}
}

func TestBuildErrors(t *testing.T) {
	valid := `{"id":"GO-2026-0001","modified":"2026-01-02T03:04:05Z","affected":[]}`
	tests := []struct {
		name     string
		files    map[string]string // the OSV directory's files
		outFile  string            // when set, a file already in the output directory
		fallback time.Time
		ignore   []ignoreRule
		wantErr  string
	}{
		{
			name:    "no entries",
			files:   map[string]string{"notes.txt": "nothing here"},
			wantErr: "no OSV entries",
		},
		{
			name:    "invalid JSON",
			files:   map[string]string{"GO-2026-0001.json": `{"id":`},
			wantErr: "GO-2026-0001.json: unexpected end of JSON input",
		},
		{
			name:    "missing id",
			files:   map[string]string{"GO-2026-0001.json": `{"modified":"2026-01-02T03:04:05Z"}`},
			wantErr: `missing or invalid id ""`,
		},
		{
			name:    "id with a slash",
			files:   map[string]string{"GO-2026-0001.json": `{"id":"../GO-2026-0001","modified":"2026-01-02T03:04:05Z"}`},
			wantErr: `missing or invalid id "../GO-2026-0001"`,
		},
		{
			name:    "file not named after the id",
			files:   map[string]string{"GO-2026-0002.json": valid},
			wantErr: "entry GO-2026-0001 must be in a file named GO-2026-0001.json",
		},
		{
			name:    "bad modified time",
			files:   map[string]string{"GO-2026-0001.json": `{"id":"GO-2026-0001","modified":"yesterday"}`},
			wantErr: "GO-2026-0001.json: parsing time",
		},
		{
			name:    "unset modified time without fallback",
			files:   map[string]string{"GO-2026-0001.json": `{"id":"GO-2026-0001","modified":"0001-01-01T00:00:00Z"}`},
			wantErr: "no modified time and no -modified was given",
		},
		{
			name:    "every entry ignored",
			files:   map[string]string{"GO-2026-0001.json": valid},
			ignore:  []ignoreRule{{ID: "GO-2026-0001", Reason: "r", Where: "list:1"}},
			wantErr: "every OSV entry in",
		},
		{
			name: "ignored entry is still checked",
			files: map[string]string{
				"GO-2026-0001.json": valid,
				"GO-2026-0002.json": `{"id":"GO-2026-0002","modified":"0001-01-01T00:00:00Z"}`,
			},
			ignore:  []ignoreRule{{ID: "GO-2026-0002", Reason: "r", Where: "list:1"}},
			wantErr: "GO-2026-0002.json: entry has no modified time",
		},
		{
			name:    "output directory not empty",
			files:   map[string]string{"GO-2026-0001.json": valid},
			outFile: "stale.json",
			wantErr: "is not empty",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			osvDir, out := t.TempDir(), filepath.Join(t.TempDir(), "db")
			for name, content := range tc.files {
				if err := os.WriteFile(filepath.Join(osvDir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.outFile != "" {
				if err := os.Mkdir(out, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(out, tc.outFile), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := build(osvDir, out, tc.fallback, tc.ignore)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("build error = %v, want one containing %q", err, tc.wantErr)
			}
			// A database that does not exist cannot be mistaken for an empty one.
			if tc.outFile == "" {
				if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("output directory after a failed build: stat error %v, want not exist", err)
				}
			}
		})
	}
}

func TestBuildLeavesOutIgnoredEntries(t *testing.T) {
	ignore := []ignoreRule{
		{ID: "GO-2026-0101", Reason: "echo proxy not used", Where: "list:1"},
		{ID: "GO-2026-9999", Reason: "withdrawn long ago", Where: "list:2"},
		{ID: "CVE-2026-10102", Reason: "listed by its CVE", Where: "list:3"},
		{ID: "GO-2026-0103", Reason: "legacy module not built", Where: "list:4"},
	}
	out := filepath.Join(t.TempDir(), "db")
	got, err := build("testdata/osv", out, fixtureModified, ignore)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	// GO-2026-0102, the one entry left, has its own modified time: the ignored entries, indexed
	// with the later fallback time, no longer count.
	want := summary{
		Entries:  1,
		Modules:  1,
		Modified: time.Date(2026, 3, 4, 17, 20, 5, 0, time.UTC),
		Ignored:  []ignoreRule{ignore[0], ignore[3]},
		Stale:    []staleRule{{ignoreRule: ignore[1]}, {ignoreRule: ignore[2], AliasOf: "GO-2026-0102"}},
	}
	if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want); g != w {
		t.Fatalf("summary =\n%s\nwant\n%s", g, w)
	}

	files := []struct {
		file string
		want string
	}{
		{"index/db.json", `{"modified":"2026-03-04T17:20:05Z"}`},
		{"index/modules.json", `[{"path":"stdlib","vulns":[{"id":"GO-2026-0102","modified":"2026-03-04T17:20:05Z","fixed":"1.26.2"}]}]`},
		{"index/vulns.json", `[{"id":"GO-2026-0102","modified":"2026-03-04T17:20:05Z","aliases":["CVE-2026-10102"]}]`},
	}
	for _, tc := range files {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(out, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(b); got != tc.want {
				t.Fatalf("%s =\n%s\nwant\n%s", tc.file, got, tc.want)
			}
		})
	}
	ids, err := os.ReadDir(filepath.Join(out, "ID"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0].Name() != "GO-2026-0102.json" {
		t.Fatalf("ID/ holds %v, want only GO-2026-0102.json", ids)
	}
}
