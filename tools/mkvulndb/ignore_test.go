package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseIgnoreList(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    []ignoreRule
		wantErr string
	}{
		{
			name: "empty",
			text: "",
		},
		{
			name: "comments, blank lines and rules",
			text: "# why these are ignored\n" +
				"\n" +
				"GO-2026-6875  not our proxy: see #12\n" +
				"   \t\n" +
				"  # indented comment\n" +
				"GO-2026-6872\tno rate limiter   \n",
			want: []ignoreRule{
				{ID: "GO-2026-6875", Reason: "not our proxy: see #12", Where: "list:3"},
				{ID: "GO-2026-6872", Reason: "no rate limiter", Where: "list:6"},
			},
		},
		{
			name: "CRLF line ends",
			text: "GO-2026-6875 not our proxy\r\n",
			want: []ignoreRule{{ID: "GO-2026-6875", Reason: "not our proxy", Where: "list:1"}},
		},
		{
			name:    "id without a reason",
			text:    "# header\nGO-2026-6875\n",
			wantErr: "list:2: GO-2026-6875 has no reason",
		},
		{
			name:    "id followed by blanks only",
			text:    "GO-2026-6875 \t \n",
			wantErr: "list:1: GO-2026-6875 has no reason",
		},
		{
			name:    "id listed twice",
			text:    "GO-2026-6875 a\nGO-2026-6872 b\nGO-2026-6875 c\n",
			wantErr: "list:3: GO-2026-6875 is already listed at list:1",
		},
		{
			name:    "path instead of an id",
			text:    "data/osv/GO-2026-6875.json a reason\n",
			wantErr: `list:1: invalid id "data/osv/GO-2026-6875.json"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseIgnoreList(strings.NewReader(tc.text), "list")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseIgnoreList error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseIgnoreList: %v", err)
			}
			if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", tc.want); g != w {
				t.Fatalf("rules = %s, want %s", g, w)
			}
		})
	}
}

func TestReadIgnoreList(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".vulnignore")
	if err := os.WriteFile(path, []byte("GO-2026-0101 a reason\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readIgnoreList(path)
	if err != nil {
		t.Fatalf("readIgnoreList: %v", err)
	}
	if len(got) != 1 || got[0] != (ignoreRule{ID: "GO-2026-0101", Reason: "a reason", Where: path + ":1"}) {
		t.Fatalf("rules = %+v, want the one rule at %s:1", got, path)
	}

	if _, err := readIgnoreList(filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "ignore list: open") {
		t.Fatalf("readIgnoreList of a missing file: error %v, want an open error", err)
	}
}
