package main

import "strings"

// version is a parsed semantic version. The numbers stay decimal strings so that numbers of any
// length compare correctly.
type version struct {
	major, minor, patch string
	// prerelease holds the dot-separated identifiers after "-", nil for a release.
	prerelease []string
}

// parseVersion parses s as govulncheck does: an optional "v" and then an optional "go" prefix are
// dropped, and the rest must be MAJOR[.MINOR[.PATCH[-PRERELEASE]]][+BUILD] with no leading zeros,
// as golang.org/x/mod/semver accepts it (the OSV ranges write "1.2.3", "1.26.0-0",
// "4.1.18-0.20201215153152-4422e3b66b9f"). Build metadata is ignored.
func parseVersion(s string) (version, bool) {
	s = strings.TrimPrefix(s, "v")
	s = strings.TrimPrefix(s, "go")
	shortAllowed := true // "1" and "1.2" stand for 1.0.0 and 1.2.0, but not with a prerelease or build
	if i := strings.IndexByte(s, '+'); i >= 0 {
		if !validIdentifiers(s[i+1:], false) {
			return version{}, false
		}
		s = s[:i]
		shortAllowed = false
	}
	var v version
	core := s
	if i := strings.IndexByte(s, '-'); i >= 0 {
		core = s[:i]
		pre := s[i+1:]
		if !validIdentifiers(pre, true) {
			return version{}, false
		}
		v.prerelease = strings.Split(pre, ".")
		shortAllowed = false
	}
	nums := strings.Split(core, ".")
	if len(nums) > 3 || (len(nums) < 3 && !shortAllowed) {
		return version{}, false
	}
	for len(nums) < 3 {
		nums = append(nums, "0")
	}
	for _, n := range nums {
		if !isNumeric(n) || (len(n) > 1 && n[0] == '0') {
			return version{}, false
		}
	}
	v.major, v.minor, v.patch = nums[0], nums[1], nums[2]
	return v, true
}

// validIdentifiers reports whether s is a non-empty dot-separated list of non-empty identifiers of
// [0-9A-Za-z-]; with noLeadingZeros, a numeric identifier may not start with 0 unless it is "0".
func validIdentifiers(s string, noLeadingZeros bool) bool {
	if s == "" {
		return false
	}
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		for i := 0; i < len(id); i++ {
			c := id[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-') {
				return false
			}
		}
		if noLeadingZeros && isNumeric(id) && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

// isNumeric reports whether s is a non-empty string of ASCII digits.
func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compareVersions returns -1, 0 or +1 as a is lower than, equal to or higher than b in semantic
// version precedence. As in golang.org/x/mod/semver, an invalid version is lower than every valid
// one and equal to every other invalid one (so "" is lower than any version).
func compareVersions(a, b string) int {
	va, okA := parseVersion(a)
	vb, okB := parseVersion(b)
	switch {
	case !okA && !okB:
		return 0
	case !okA:
		return -1
	case !okB:
		return +1
	}
	for _, pair := range [][2]string{{va.major, vb.major}, {va.minor, vb.minor}, {va.patch, vb.patch}} {
		if c := compareNumbers(pair[0], pair[1]); c != 0 {
			return c
		}
	}
	return comparePrereleases(va.prerelease, vb.prerelease)
}

// compareNumbers compares two decimal strings without leading zeros.
func compareNumbers(a, b string) int {
	switch {
	case len(a) != len(b):
		if len(a) < len(b) {
			return -1
		}
		return +1
	case a < b:
		return -1
	case a > b:
		return +1
	}
	return 0
}

// comparePrereleases compares prerelease identifier lists by the semver rules: a release (nil)
// is higher than any prerelease; identifiers compare left to right, numeric ones numerically and
// below alphanumeric ones; a longer list wins when one is a prefix of the other.
func comparePrereleases(a, b []string) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return +1
	case b == nil:
		return -1
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		xNum, yNum := isNumeric(x), isNumeric(y)
		switch {
		case xNum && yNum:
			return compareNumbers(x, y)
		case xNum:
			return -1
		case yNum:
			return +1
		case x < y:
			return -1
		default:
			return +1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return +1
	}
	return 0
}

// nonSupersededFix returns the highest fixed version of the SEMVER ranges, or "" when there is none
// or a vulnerability is introduced again after it. It is govulncheck's NonSupersededFix (and the
// vulndb generator's LatestFixed): the candidate carries over from one range to the next, and any
// later range that reintroduces the vulnerability above it clears it.
func nonSupersededFix(ranges []osvRange) string {
	var latest string
	for _, r := range ranges {
		if r.Type != "SEMVER" {
			continue
		}
		for _, e := range r.Events {
			if e.Fixed != "" && compareVersions(latest, e.Fixed) < 0 {
				latest = e.Fixed
			}
		}
		for _, e := range r.Events {
			if e.Introduced != "" && e.Introduced != "0" && compareVersions(latest, e.Introduced) < 0 {
				latest = ""
				break
			}
		}
	}
	return latest
}
