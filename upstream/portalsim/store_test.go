package portalsim

import (
	"slices"
	"testing"
)

// TestUserCandidatesUseIndexes checks that filters on indexed fields are answered from an index, and
// only the others scan.
func TestUserCandidatesUseIndexes(t *testing.T) {
	st := newStore()
	ann, _ := st.createUser(&user{userName: "Ann", domain: "Corp", externalKey: ptr("K"), contactEmail: ptr("a@b"), enabled: true})
	st.createUser(&user{userName: "ann", domain: "lab", enabled: true})
	st.createUser(&user{userName: "bob", domain: "corp", externalKey: ptr("k"), enabled: true})
	tests := []struct {
		expr        string
		wantIndexed bool
		want        []int64
	}{
		{"guidUser eq '" + ann.guid + "'", true, []int64{1}},
		{"guidUser eq 'nope'", true, nil},
		{"userName eq 'ANN' and domain eq 'corp'", true, []int64{1}},
		{"externalKey eq 'k'", true, []int64{1, 3}},
		{"userName eq 'ann'", true, []int64{1, 2}},
		{"contactEmail eq 'A@B'", true, []int64{1}},
		{"domain eq 'corp'", false, nil},
		{"enabled eq true", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			f, err := parseFilter(tt.expr, userFilterFields)
			if err != nil {
				t.Fatal(err.message)
			}
			ids, indexed := st.userCandidates(f)
			if indexed != tt.wantIndexed || !slices.Equal(ids, tt.want) {
				t.Fatalf("candidates %v indexed %v, want %v %v", ids, indexed, tt.want, tt.wantIndexed)
			}
		})
	}
}

func TestPageOf(t *testing.T) {
	items := []int{1, 2, 3, 4, 5}
	tests := []struct {
		skip, top int
		want      []int
	}{
		{0, 2, []int{1, 2}}, {3, 5, []int{4, 5}}, {5, 1, nil}, {9, 1, nil}, {0, 0, nil}, {1, 100, []int{2, 3, 4, 5}},
	}
	for _, tt := range tests {
		if got := pageOf(items, tt.skip, tt.top); !slices.Equal(got, tt.want) {
			t.Fatalf("pageOf(skip %d, top %d) = %v, want %v", tt.skip, tt.top, got, tt.want)
		}
	}
}

func TestWithSkip(t *testing.T) {
	tests := []struct {
		raw  string
		skip int
		want string
	}{
		{"", 5, "$skip=5"},
		{"$top=2", 2, "$top=2&$skip=2"},
		{"$skip=1&$top=2", 3, "$skip=3&$top=2"},
		{"a=1&%24skip=1&b=2", 4, "a=1&$skip=4&b=2"},
		{"$skip=1&$skip=2", 9, "$skip=9"},
	}
	for _, tt := range tests {
		if got := withSkip(tt.raw, tt.skip); got != tt.want {
			t.Fatalf("withSkip(%q, %d) = %q, want %q", tt.raw, tt.skip, got, tt.want)
		}
	}
}
