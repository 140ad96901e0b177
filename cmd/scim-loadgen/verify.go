package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// errVerifyFailed is returned by run when --verify found the portal different from the generated
// objects; the report has already been written.
var errVerifyFailed = errors.New("verify failed")

// Reading the portal under --verify.
const (
	verifyPageSize    = 500 // the portal's largest $top
	verifyAttempts    = 20  // attempts of one read that fails with 429, 5xx or no answer
	verifyRetryDelay  = 100 * time.Millisecond
	verifyMaxProblems = 50 // problems listed in the report; all are counted
)

// VerifyReport is the result of --verify: what the portal holds of the generated users, groups and
// memberships, and every difference found (the first verifyMaxProblems of them listed).
type VerifyReport struct {
	Prefix       string      `json:"prefix"`
	Seed         int64       `json:"seed"`
	Users        VerifyCount `json:"users"`
	Groups       VerifyCount `json:"groups"`
	Memberships  VerifyCount `json:"memberships"`
	ProblemCount int         `json:"problem_count"`
	Problems     []string    `json:"problems"`
}

// VerifyCount counts one kind of object: how many the run generates, how many of the portal's belong
// to the run, and how many of those are exactly as generated.
type VerifyCount struct {
	Expected int `json:"expected"`
	Found    int `json:"found"`
	Matching int `json:"matching"`
}

// The portal records read back (docs/portal-api.md sections 2 and 3). Optional fields are pointers so
// that null and "" differ.
type (
	portalUserRecord struct {
		IDUser           int64          `json:"idUser"`
		UserName         string         `json:"userName"`
		Domain           string         `json:"domain"`
		FullName         *string        `json:"fullName"`
		FirstName        *string        `json:"firstName"`
		LastName         *string        `json:"lastName"`
		ContactEmail     *string        `json:"contactEmail"`
		ContactCellPhone *string        `json:"contactCellPhone"`
		ExternalKey      *string        `json:"externalKey"`
		Enabled          bool           `json:"enabled"`
		Properties       map[string]any `json:"properties"`
	}
	portalGroupRecord struct {
		IDGroup     int64   `json:"idGroup"`
		Name        string  `json:"name"`
		ExternalKey *string `json:"externalKey"`
	}
	portalMemberRecord struct {
		IDUser int64 `json:"idUser"`
	}
)

// verifier reads a portal and compares it with the objects generated from the same flags.
type verifier struct {
	o      options
	c      *caller
	rep    *VerifyReport
	userRE *regexp.Regexp // the logins of the run: PREFIX-n
	grpRE  *regexp.Regexp // the group names of the run: PREFIX-group-n
}

// verifyPortal checks that the portal at o.baseURL holds exactly the users, groups and memberships
// an initial cycle with the same --users, --groups, --members-per-group, --prefix, --domain and
// --seed creates through the gateway's default mapping (or --direct): every generated user once,
// with every attribute as generated and enabled; every generated group once, with its externalKey and
// exactly its members; and no other user or group named like the run's. A read answered 429, 5xx or
// not at all is retried; it fails with an error when a read still fails, which is not a difference.
func verifyPortal(ctx context.Context, o options) (*VerifyReport, error) {
	q := regexp.QuoteMeta(o.prefix)
	v := &verifier{
		o:      o,
		c:      &caller{client: newHTTPClient(1, o.timeout), token: o.token, answers: newAnswerLog(), now: time.Now},
		rep:    &VerifyReport{Prefix: o.prefix, Seed: o.seed, Problems: []string{}},
		userRE: regexp.MustCompile(`(?i)^` + q + `-[0-9]+$`),
		grpRE:  regexp.MustCompile(`(?i)^` + q + `-group-[0-9]+$`),
	}
	genRNG := newGenRNG(o.seed)
	users := generateUsers(o.users, o.prefix, o.domain, genRNG)
	groups := generateGroups(o.groups, o.membersPerGroup, o.users, o.prefix)

	idByLogin, err := v.checkUsers(ctx, users)
	if err != nil {
		return nil, err
	}
	if err := v.checkGroups(ctx, groups, users, idByLogin); err != nil {
		return nil, err
	}
	return v.rep, nil
}

// problem records one difference.
func (v *verifier) problem(format string, args ...any) {
	v.rep.ProblemCount++
	if len(v.rep.Problems) < verifyMaxProblems {
		v.rep.Problems = append(v.rep.Problems, fmt.Sprintf(format, args...))
	}
}

// loginKey is the portal's identity of a login: (domain, userName), case-insensitively.
func loginKey(userName, domain string) string {
	return strings.ToLower(userName) + "@" + strings.ToLower(domain)
}

// checkUsers compares the portal's users of the run with users and returns the idUser of each
// generated login found (by loginKey).
func (v *verifier) checkUsers(ctx context.Context, users []*genUser) (map[string]int64, error) {
	records, err := readAll[portalUserRecord](ctx, v, v.o.baseURL+portalUsersPath)
	if err != nil {
		return nil, err
	}
	want := make(map[string]*genUser, len(users))
	for _, u := range users {
		want[loginKey(u.login, u.domain)] = u
	}
	v.rep.Users.Expected = len(users)
	idByLogin := map[string]int64{}
	for _, r := range records {
		ext := ""
		if r.ExternalKey != nil {
			ext = *r.ExternalKey
		}
		if !v.userRE.MatchString(r.UserName) && !v.userRE.MatchString(ext) {
			continue // not of this run
		}
		v.rep.Users.Found++
		key := loginKey(r.UserName, r.Domain)
		u, ok := want[key]
		switch {
		case !ok:
			v.problem("user idUser=%d %s\\%s (externalKey %q) was not generated: extra or duplicate", r.IDUser, r.Domain, r.UserName, ext)
			continue
		case idByLogin[key] != 0:
			v.problem("user %s is in the portal twice (idUser %d and %d)", u.userName, idByLogin[key], r.IDUser)
			continue
		}
		idByLogin[key] = r.IDUser
		if diffs := userDiffs(r, portalUserOf(u)); len(diffs) > 0 {
			v.problem("user %s (idUser %d): %s", u.userName, r.IDUser, strings.Join(diffs, "; "))
			continue
		}
		v.rep.Users.Matching++
	}
	for _, u := range users {
		if idByLogin[loginKey(u.login, u.domain)] == 0 {
			v.problem("user %s is missing", u.userName)
		}
	}
	return idByLogin, nil
}

// userDiffs lists the fields of r that differ from want.
func userDiffs(r portalUserRecord, want portalUser) []string {
	var d []string
	str := func(name string, got *string, want string) {
		if got == nil {
			d = append(d, fmt.Sprintf("%s is null, want %q", name, want))
		} else if *got != want {
			d = append(d, fmt.Sprintf("%s = %q, want %q", name, *got, want))
		}
	}
	if r.UserName != want.UserName {
		d = append(d, fmt.Sprintf("userName = %q, want %q", r.UserName, want.UserName))
	}
	if r.Domain != want.Domain {
		d = append(d, fmt.Sprintf("domain = %q, want %q", r.Domain, want.Domain))
	}
	str("fullName", r.FullName, want.FullName)
	str("firstName", r.FirstName, want.FirstName)
	str("lastName", r.LastName, want.LastName)
	str("contactEmail", r.ContactEmail, want.ContactEmail)
	str("contactCellPhone", r.ContactCellPhone, want.ContactCellPhone)
	str("externalKey", r.ExternalKey, want.ExternalKey)
	if r.Enabled != want.Enabled {
		d = append(d, fmt.Sprintf("enabled = %t, want %t", r.Enabled, want.Enabled))
	}
	keys := make([]string, 0, len(r.Properties)+len(want.Properties))
	for k := range r.Properties {
		keys = append(keys, k)
	}
	for k := range want.Properties {
		if _, ok := r.Properties[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		got, gok := r.Properties[k]
		w, wok := want.Properties[k]
		switch {
		case !wok:
			d = append(d, fmt.Sprintf("properties.%s = %v, not expected", k, got))
		case !gok:
			d = append(d, fmt.Sprintf("properties.%s is missing, want %v", k, w))
		case got != w:
			d = append(d, fmt.Sprintf("properties.%s = %v, want %v", k, got, w))
		}
	}
	return d
}

// checkGroups compares the portal's groups of the run and their members with groups.
func (v *verifier) checkGroups(ctx context.Context, groups []*genGroup, users []*genUser, idByLogin map[string]int64) error {
	records, err := readAll[portalGroupRecord](ctx, v, v.o.baseURL+portalGroupsPath)
	if err != nil {
		return err
	}
	want := make(map[string]*genGroup, len(groups))
	for _, g := range groups {
		want[strings.ToLower(g.displayName)] = g
		v.rep.Memberships.Expected += len(g.members)
	}
	v.rep.Groups.Expected = len(groups)
	found := map[string]int64{}
	for _, r := range records {
		if !v.grpRE.MatchString(r.Name) {
			continue
		}
		v.rep.Groups.Found++
		key := strings.ToLower(r.Name)
		g, ok := want[key]
		switch {
		case !ok:
			v.problem("group idGroup=%d %q was not generated: extra", r.IDGroup, r.Name)
			continue
		case found[key] != 0:
			v.problem("group %s is in the portal twice (idGroup %d and %d)", g.displayName, found[key], r.IDGroup)
			continue
		}
		found[key] = r.IDGroup
		groupOK := true
		if r.Name != g.displayName {
			v.problem("group %s (idGroup %d): name = %q", g.displayName, r.IDGroup, r.Name)
			groupOK = false
		}
		if r.ExternalKey == nil || *r.ExternalKey != g.externalID {
			v.problem("group %s (idGroup %d): externalKey = %s, want %q", g.displayName, r.IDGroup, quotedOrNull(r.ExternalKey), g.externalID)
			groupOK = false
		}
		membersOK, err := v.checkMembers(ctx, r.IDGroup, g, users, idByLogin)
		if err != nil {
			return err
		}
		if groupOK && membersOK {
			v.rep.Groups.Matching++
		}
	}
	for _, g := range groups {
		if found[strings.ToLower(g.displayName)] == 0 {
			v.problem("group %s is missing", g.displayName)
		}
	}
	return nil
}

// checkMembers compares the members of the portal group idGroup with g's and reports whether they
// are the same.
func (v *verifier) checkMembers(ctx context.Context, idGroup int64, g *genGroup, users []*genUser, idByLogin map[string]int64) (bool, error) {
	records, err := readAll[portalMemberRecord](ctx, v, v.o.baseURL+portalGroupsPath+"("+strconv.FormatInt(idGroup, 10)+")/members")
	if err != nil {
		return false, err
	}
	got := map[int64]int{}
	for _, m := range records {
		got[m.IDUser]++
	}
	v.rep.Memberships.Found += len(records)
	ok := true
	wantIDs := map[int64]bool{}
	for _, i := range g.members {
		u := users[i]
		id := idByLogin[loginKey(u.login, u.domain)]
		if id == 0 {
			v.problem("group %s: member %s is not in the portal", g.displayName, u.userName)
			ok = false
			continue
		}
		wantIDs[id] = true
		switch got[id] {
		case 0:
			v.problem("group %s: member %s (idUser %d) is missing", g.displayName, u.userName, id)
			ok = false
		case 1:
			v.rep.Memberships.Matching++
		default:
			v.problem("group %s: member %s (idUser %d) listed %d times", g.displayName, u.userName, id, got[id])
			ok = false
		}
	}
	extra := make([]int64, 0)
	for id := range got {
		if !wantIDs[id] {
			extra = append(extra, id)
		}
	}
	slices.Sort(extra)
	for _, id := range extra {
		v.problem("group %s: idUser %d is a member but was not generated as one", g.displayName, id)
		ok = false
	}
	return ok, nil
}

func quotedOrNull(s *string) string {
	if s == nil {
		return "null"
	}
	return strconv.Quote(*s)
}

// readAll reads every item of a portal list, a page of verifyPageSize at a time.
func readAll[T any](ctx context.Context, v *verifier, listURL string) ([]T, error) {
	var out []T
	for skip := 0; ; skip += verifyPageSize {
		var page struct {
			Count int `json:"@odata.count"`
			Value []T `json:"value"`
		}
		u := listURL + "?$top=" + strconv.Itoa(verifyPageSize) + "&$skip=" + strconv.Itoa(skip)
		if err := v.getJSON(ctx, u, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		if len(page.Value) == 0 || skip+len(page.Value) >= page.Count {
			return out, nil
		}
	}
}

// getJSON GETs url and decodes its 200 answer into dst, retrying answers 429 and 5xx and requests
// that got no answer (after Retry-After when given) up to verifyAttempts times.
func (v *verifier) getJSON(ctx context.Context, url string, dst any) error {
	var last string
	for attempt := 1; attempt <= verifyAttempts; attempt++ {
		r := v.c.call(ctx, http.MethodGet, url, nil, false)
		o := outcomeOf(r)
		if o.ok {
			if r.status != http.StatusOK {
				return fmt.Errorf("verify: GET %s: status %d", url, r.status)
			}
			if err := json.Unmarshal(r.body, dst); err != nil {
				return fmt.Errorf("verify: GET %s: %w", url, err)
			}
			return nil
		}
		if r.err != nil {
			last = r.err.Error()
		} else {
			last = fmt.Sprintf("status %d: %s", r.status, truncate(r.body))
		}
		if !o.retryable || ctx.Err() != nil {
			break
		}
		delay := verifyRetryDelay
		if o.hasRetryAfter {
			delay = o.retryAfter
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
	}
	return fmt.Errorf("verify: GET %s: %s", url, last)
}

// writeVerifyText writes the human report of --verify; its first line is the summary.
func writeVerifyText(w io.Writer, r *VerifyReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "verify prefix=%s seed=%d users=%d/%d/%d groups=%d/%d/%d memberships=%d/%d/%d (expected/found/matching) problems=%d\n",
		r.Prefix, r.Seed, r.Users.Expected, r.Users.Found, r.Users.Matching, r.Groups.Expected, r.Groups.Found, r.Groups.Matching,
		r.Memberships.Expected, r.Memberships.Found, r.Memberships.Matching, r.ProblemCount)
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  problem: %s\n", p)
	}
	if n := r.ProblemCount - len(r.Problems); n > 0 {
		fmt.Fprintf(&b, "  ... and %d more\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
