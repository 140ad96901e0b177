package portalsim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// page is a decoded list envelope.
type page struct {
	Count    int    `json:"@odata.count"`
	Value    []User `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

func (pg page) ids() []int64 {
	var ids []int64
	for _, u := range pg.Value {
		ids = append(ids, u.IDUser)
	}
	return ids
}

func span(from, to int64) []int64 {
	var ids []int64
	for i := from; i <= to; i++ {
		ids = append(ids, i)
	}
	return ids
}

func TestPaging(t *testing.T) {
	p := newPortal(t)
	for i := range 7 {
		p.createUser(fmt.Sprintf(`{"userName":"u%d","domain":"corp"}`, i))
	}
	base := p.apiURL(usersPath)
	tests := []struct {
		name     string
		query    string
		wantIDs  []int64
		wantNext string // "" for none; else the expected link relative to base
	}{
		{"defaults", "", span(1, 7), ""},
		{"top 3", "?$top=3", span(1, 3), "?$top=3&$skip=3"},
		{"top 3 skip 3", "?$top=3&$skip=3", span(4, 6), "?$top=3&$skip=6"},
		{"top 3 skip 6", "?$top=3&$skip=6", span(7, 7), ""},
		{"exact end", "?$top=7", span(1, 7), ""},
		{"top 6", "?$top=6", span(1, 6), "?$top=6&$skip=6"},
		{"skip only", "?$skip=5", span(6, 7), ""},
		{"skip past the end", "?$skip=50", nil, ""},
		{"skip first in the query", "?$skip=2&$top=2", span(3, 4), "?$skip=4&$top=2"},
		{"top 0 is the count only", "?$top=0", nil, ""},
		{"top 0 with skip", "?$top=0&$skip=3", nil, ""},
		{"top 500", "?$top=500", span(1, 7), ""},
		{"other parameters kept", "?$filter=domain%20eq%20%27corp%27&$top=2&x=1", span(1, 2),
			"?$filter=domain%20eq%20%27corp%27&$top=2&x=1&$skip=2"},
		{"filter with paging", "?$filter=domain+eq+'corp'&$top=4&$skip=1", span(2, 5),
			"?$filter=domain+eq+'corp'&$top=4&$skip=5"},
		{"encoded $skip", "?$top=2&%24skip=2", span(3, 4), "?$top=2&$skip=4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := p.send(http.MethodGet, base+tt.query, p.token, "")
			if res.status != 200 {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			var pg page
			decode(t, res.body, &pg)
			if pg.Count != 7 || !slices.Equal(pg.ids(), tt.wantIDs) {
				t.Fatalf("count %d ids %v, want 7 and %v", pg.Count, pg.ids(), tt.wantIDs)
			}
			wantNext := ""
			if tt.wantNext != "" {
				wantNext = base + tt.wantNext
			}
			if pg.NextLink != wantNext {
				t.Fatalf("nextLink = %q, want %q", pg.NextLink, wantNext)
			}
			if hasKey := strings.Contains(string(res.body), `"@odata.nextLink"`); hasKey != (wantNext != "") {
				t.Fatalf("nextLink key present = %v: %s", hasKey, res.body)
			}
			if !strings.Contains(string(res.body), `"value":[`) {
				t.Fatalf("value missing: %s", res.body)
			}
		})
	}
	t.Run("following nextLink visits every user once", func(t *testing.T) {
		var seen []int64
		next := base + "?$top=2"
		for next != "" {
			var pg page
			decode(t, p.send(http.MethodGet, next, p.token, "").body, &pg)
			seen = append(seen, pg.ids()...)
			next = pg.NextLink
		}
		if !slices.Equal(seen, span(1, 7)) {
			t.Fatalf("visited %v", seen)
		}
	})
	refused := []struct{ query, target string }{
		{"?$top=501", "$top"}, {"?$top=-1", "$top"}, {"?$top=abc", "$top"}, {"?$top=", "$top"}, {"?$top=1.5", "$top"},
		{"?$skip=-1", "$skip"}, {"?$skip=x", "$skip"},
	}
	for _, tt := range refused {
		t.Run("refused "+tt.query, func(t *testing.T) {
			wantError(t, p.send(http.MethodGet, base+tt.query, p.token, ""), 400, CodeValidationFailed, tt.target)
		})
	}
}

func TestDefaultTop(t *testing.T) {
	p := newPortal(t)
	for i := range 101 {
		p.createUser(fmt.Sprintf(`{"userName":"u%d","domain":"corp"}`, i))
	}
	var pg page
	decode(t, p.call(http.MethodGet, usersPath, "").body, &pg)
	if pg.Count != 101 || len(pg.Value) != 100 || pg.NextLink != p.apiURL(usersPath)+"?$skip=100" {
		t.Fatalf("count %d, %d values, nextLink %q", pg.Count, len(pg.Value), pg.NextLink)
	}
	var second page
	decode(t, p.send(http.MethodGet, pg.NextLink, p.token, "").body, &second)
	if len(second.Value) != 1 || second.Value[0].IDUser != 101 || second.NextLink != "" {
		t.Fatalf("second page: %d values, nextLink %q", len(second.Value), second.NextLink)
	}
}

func TestNextLinkUsesTheRequestHost(t *testing.T) {
	p := newPortal(t)
	p.createUser(`{"userName":"a","domain":"d"}`)
	p.createUser(`{"userName":"b","domain":"d"}`)
	req, err := http.NewRequest(http.MethodGet, p.apiURL(usersPath)+"?$top=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "portal.example.com:8443"
	req.Header.Set("Authorization", "Bearer "+p.token)
	var pg page
	decode(t, p.roundTrip(http.DefaultClient, req).body, &pg)
	if want := "http://portal.example.com:8443/portal/api/usersync/v1/users?$top=1&$skip=1"; pg.NextLink != want {
		t.Fatalf("nextLink = %q, want %q", pg.NextLink, want)
	}
}
