package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		args       func(out, ignore string) []string
		ignoreList string // when set, written to the file whose path args gets as ignore
		wantCode   int
		wantStdout string
		wantStderr string
		// notStdout and notStderr, when set, must not be in the output.
		notStdout string
		notStderr string
	}{
		{
			name: "builds the database",
			args: func(out, _ string) []string {
				return []string{"-osv", "testdata/osv", "-out", out, "-modified", "2026-11-05T23:49:57Z"}
			},
			wantCode:   0,
			wantStdout: "mkvulndb: 3 entries, 4 modules, last modified 2026-11-05T23:49:57Z, written to ",
			notStdout:  "IGNORED",
		},
		{
			name: "ignores listed entries and warns about stale ones",
			args: func(out, ignore string) []string {
				return []string{"-osv", "testdata/osv", "-out", out, "-modified", "2026-11-05T23:49:57Z", "-ignore", ignore}
			},
			ignoreList: "# header\nGO-2026-0101  proxy middleware not used\nGO-2026-0199 fixed upstream\nCVE-2026-10102 by CVE\n",
			wantCode:   0,
			wantStdout: "mkvulndb: IGNORED GO-2026-0101 (IGNORE:2): proxy middleware not used\n" +
				"mkvulndb: 2 entries (1 ignored), 2 modules, last modified 2026-11-05T23:49:57Z, written to ",
			wantStderr: "mkvulndb: warning: IGNORE:3: GO-2026-0199 is not an entry of the data, so it ignores nothing (remove the line if the entry was withdrawn or renamed)\n" +
				"mkvulndb: warning: IGNORE:4: CVE-2026-10102 is not an entry of the data, so it ignores nothing (it is an alias of GO-2026-0102: list that id instead)\n",
			notStdout: "GO-2026-0199",
		},
		{
			name: "empty ignore list",
			args: func(out, ignore string) []string {
				return []string{"-osv", "testdata/osv", "-out", out, "-modified", "2026-11-05T23:49:57Z", "-ignore", ignore}
			},
			ignoreList: "# nothing ignored\n",
			wantCode:   0,
			wantStdout: "mkvulndb: 3 entries (0 ignored), 4 modules",
			notStderr:  "warning",
		},
		{
			name: "ignore rule without a reason",
			args: func(out, ignore string) []string {
				return []string{"-osv", "testdata/osv", "-out", out, "-modified", "2026-11-05T23:49:57Z", "-ignore", ignore}
			},
			ignoreList: "GO-2026-0101 proxy middleware not used\nGO-2026-0103\n",
			wantCode:   1,
			wantStderr: "mkvulndb: IGNORE:2: GO-2026-0103 has no reason",
			notStdout:  "IGNORED",
		},
		{
			name: "missing ignore list",
			args: func(out, ignore string) []string {
				return []string{"-osv", "testdata/osv", "-out", out, "-modified", "2026-11-05T23:49:57Z", "-ignore", ignore}
			},
			wantCode:   1,
			wantStderr: "mkvulndb: ignore list: open IGNORE",
		},
		{
			name:       "missing -out",
			args:       func(string, string) []string { return []string{"-osv", "testdata/osv"} },
			wantCode:   2,
			wantStderr: "usage: mkvulndb",
		},
		{
			name:       "stray argument",
			args:       func(out, _ string) []string { return []string{"-osv", "testdata/osv", "-out", out, "extra"} },
			wantCode:   2,
			wantStderr: "usage: mkvulndb",
		},
		{
			name: "bad -modified",
			args: func(out, _ string) []string {
				return []string{"-osv", "testdata/osv", "-out", out, "-modified", "2026-11-05"}
			},
			wantCode:   2,
			wantStderr: "mkvulndb: -modified: parsing time",
		},
		{
			name:       "entries without a modified time and no -modified",
			args:       func(out, _ string) []string { return []string{"-osv", "testdata/osv", "-out", out} },
			wantCode:   1,
			wantStderr: "mkvulndb: GO-2026-0101.json: entry has no modified time",
		},
		{
			name:       "missing OSV directory",
			args:       func(out, _ string) []string { return []string{"-osv", "testdata/none", "-out", out} },
			wantCode:   1,
			wantStderr: "mkvulndb: read OSV directory",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ignore := filepath.Join(dir, "vulnignore")
			if tc.ignoreList != "" {
				if err := os.WriteFile(ignore, []byte(tc.ignoreList), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, stderr bytes.Buffer
			code := run(tc.args(filepath.Join(dir, "db"), ignore), &stdout, &stderr)
			// The ignore list's path is a temporary one: the wanted output names it IGNORE.
			gotStdout := strings.ReplaceAll(stdout.String(), ignore, "IGNORE")
			gotStderr := strings.ReplaceAll(stderr.String(), ignore, "IGNORE")
			if code != tc.wantCode {
				t.Fatalf("exit code = %d, want %d (stderr: %s)", code, tc.wantCode, gotStderr)
			}
			if !strings.Contains(gotStdout, tc.wantStdout) {
				t.Fatalf("stdout = %q, want it to contain %q", gotStdout, tc.wantStdout)
			}
			if !strings.Contains(gotStderr, tc.wantStderr) {
				t.Fatalf("stderr = %q, want it to contain %q", gotStderr, tc.wantStderr)
			}
			if tc.notStdout != "" && strings.Contains(gotStdout, tc.notStdout) {
				t.Fatalf("stdout = %q, want it without %q", gotStdout, tc.notStdout)
			}
			if tc.notStderr != "" && strings.Contains(gotStderr, tc.notStderr) {
				t.Fatalf("stderr = %q, want it without %q", gotStderr, tc.notStderr)
			}
		})
	}
}
