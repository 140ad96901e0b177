package main

import "testing"

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.2.3", "1.2.3", 0},
		{"1.2.3", "v1.2.3", 0},
		{"go1.26.2", "1.26.2", 0},
		{"1.2", "1.2.0", 0},
		{"1", "1.0.0", 0},
		{"1.2.3+build.7", "1.2.3", 0},
		{"1.2.3", "1.2.4", -1},
		{"1.10.0", "1.9.0", +1},
		{"10.0.0", "9.99.99", +1},
		{"4.16.0", "4.16.1", -1},
		{"1.26.0-0", "1.26.0", -1},
		{"1.26.0-0", "1.25.9", +1},
		{"1.0.0-alpha", "1.0.0-alpha.1", -1},
		{"1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
		{"1.0.0-beta.2", "1.0.0-beta.11", -1},
		{"1.0.0-rc.1", "1.0.0", -1},
		{"4.1.18-0.20201215153152-4422e3b66b9f", "4.1.17", +1},
		{"4.1.18-0.20201215153152-4422e3b66b9f", "4.1.18", -1},
		{"4.1.18-0.20201215153152-4422e3b66b9f", "4.1.18-0.20210101000000-000000000000", -1},
		// Invalid versions are lower than any valid one and equal among themselves.
		{"", "0.0.1", -1},
		{"0.0.1", "", +1},
		{"", "", 0},
		{"01.2.3", "1.2.3", -1},
		{"1.2.3-01", "1.2.3", -1},
		{"1.2-pre", "1.2.0", -1},
		{"1.2+meta", "1.2.0", -1},
		{"1.2.3.4", "1.2.3", -1},
		{"1.2.3-", "1.2.3", -1},
		{"1.2.3-a..b", "1.2.3", -1},
		{"1.2.3-a_b", "1.2.3", -1},
		{"latest", "not-a-version", 0},
	}
	for _, tc := range tests {
		t.Run(tc.a+"_vs_"+tc.b, func(t *testing.T) {
			if got := compareVersions(tc.a, tc.b); got != tc.want {
				t.Fatalf("compareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestNonSupersededFix(t *testing.T) {
	semver := func(events ...osvEvent) osvRange { return osvRange{Type: "SEMVER", Events: events} }
	intro := func(v string) osvEvent { return osvEvent{Introduced: v} }
	fixed := func(v string) osvEvent { return osvEvent{Fixed: v} }
	tests := []struct {
		name   string
		ranges []osvRange
		want   string
	}{
		{"no ranges", nil, ""},
		{"no fix yet", []osvRange{semver(intro("0"))}, ""},
		{"one fix", []osvRange{semver(intro("0"), fixed("1.2.3"))}, "1.2.3"},
		{"two branches fixed", []osvRange{semver(intro("0"), fixed("1.25.9"), intro("1.26.0-0"), fixed("1.26.2"))}, "1.26.2"},
		{"events out of order", []osvRange{semver(fixed("1.26.2"), intro("0"), fixed("1.25.9"), intro("1.26.0-0"))}, "1.26.2"},
		{"reintroduced after the fix", []osvRange{semver(intro("0"), fixed("1.2.0"), intro("1.5.0"))}, ""},
		{"fix across ranges", []osvRange{semver(intro("0"), fixed("1.2.0")), semver(intro("2.0.0"), fixed("2.1.0"))}, "2.1.0"},
		{"later range reintroduces", []osvRange{semver(intro("0"), fixed("1.2.0")), semver(intro("3.0.0"))}, ""},
		{"pseudo-version fix", []osvRange{semver(intro("0"), fixed("4.1.18-0.20201215153152-4422e3b66b9f"))}, "4.1.18-0.20201215153152-4422e3b66b9f"},
		{"non-SEMVER ranges ignored", []osvRange{{Type: "ECOSYSTEM", Events: []osvEvent{intro("0"), fixed("9.9.9")}}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := nonSupersededFix(tc.ranges); got != tc.want {
				t.Fatalf("nonSupersededFix = %q, want %q", got, tc.want)
			}
		})
	}
}
