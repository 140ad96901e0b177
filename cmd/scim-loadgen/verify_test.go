package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// verifyArgs are the flags of the run that seedPortal makes, and of its --verify.
func verifyArgs(srv *httptest.Server) []string {
	return []string{"--base-url", srv.URL + "/portal", "--token", simToken, "--users", "12", "--groups", "2",
		"--members-per-group", "5", "--prefix", "v1", "--seed", "7"}
}

// seedPortal starts portal-sim and runs the initial cycle of verifyArgs straight against it.
func seedPortal(t *testing.T) *httptest.Server {
	t.Helper()
	_, srv := newSim(t)
	runReport(t, append(verifyArgs(srv), "--direct", "--scenario", "initial", "--concurrency", "3")...)
	return srv
}

// portalDo sends one call to the portal with the static token and returns its status and body.
func portalDo(t *testing.T, srv *httptest.Server, method, path, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, srv.URL+"/portal/api/usersync/v1"+path, rd)
	req.Header.Set("Authorization", "Bearer "+simToken)
	if body != "" {
		req.Header.Set("Content-Type", portalContentType)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// mustPortal is portalDo failing the test unless the status is want.
func mustPortal(t *testing.T, srv *httptest.Server, method, path, body string, want int) []byte {
	t.Helper()
	status, b := portalDo(t, srv, method, path, body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	return b
}

// idOf returns the idUser of the portal user with login, or the idGroup of the group named name.
func idOf(t *testing.T, srv *httptest.Server, list, filter string) string {
	t.Helper()
	b := mustPortal(t, srv, http.MethodGet, list+"?"+portalQuery(filter), "", http.StatusOK)
	var l portalList
	if err := json.Unmarshal(b, &l); err != nil || len(l.Value) != 1 {
		t.Fatalf("%s %s: %v %s", list, filter, err, b)
	}
	if list == "/groups" {
		return strconv.FormatInt(l.Value[0].IDGroup, 10)
	}
	return strconv.FormatInt(l.Value[0].IDUser, 10)
}

func userID(t *testing.T, srv *httptest.Server, login string) string {
	return idOf(t, srv, "/users", "userName eq "+quotePortal(login))
}

func groupID(t *testing.T, srv *httptest.Server, name string) string {
	return idOf(t, srv, "/groups", "name eq "+quotePortal(name))
}

// runVerifyReport runs --verify with args and returns its JSON report, its text and its error.
func runVerifyReport(t *testing.T, args ...string) (VerifyReport, string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "verify.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, append(args, "--verify", "--json", path), &out)
	var rep VerifyReport
	if b, rerr := os.ReadFile(path); rerr == nil {
		if jerr := json.Unmarshal(b, &rep); jerr != nil {
			t.Fatalf("parse verify report: %v\n%s", jerr, b)
		}
	}
	return rep, out.String(), err
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, srv *httptest.Server)
		want   []string // parts of the problems; none: the check passes
	}{
		{"as generated", func(*testing.T, *httptest.Server) {}, nil},
		{"attribute changed", func(t *testing.T, srv *httptest.Server) {
			mustPortal(t, srv, http.MethodPatch, "/users("+userID(t, srv, "v1-3")+")", `{"firstName":"Mallory"}`, http.StatusOK)
		}, []string{`user v1-3@contoso.com`, `firstName = "Mallory"`}},
		{"attribute cleared", func(t *testing.T, srv *httptest.Server) {
			mustPortal(t, srv, http.MethodPatch, "/users("+userID(t, srv, "v1-4")+")", `{"contactCellPhone":null}`, http.StatusOK)
		}, []string{"contactCellPhone is null"}},
		{"property changed", func(t *testing.T, srv *httptest.Server) {
			mustPortal(t, srv, http.MethodPatch, "/users("+userID(t, srv, "v1-5")+")", `{"properties":{"title":"Boss"}}`, http.StatusOK)
		}, []string{`properties.title = Boss`}},
		{"property added", func(t *testing.T, srv *httptest.Server) {
			mustPortal(t, srv, http.MethodPatch, "/users("+userID(t, srv, "v1-5")+")", `{"properties":{"deleted":true}}`, http.StatusOK)
		}, []string{`properties.deleted = true, not expected`}},
		{"user disabled", func(t *testing.T, srv *httptest.Server) {
			mustPortal(t, srv, http.MethodPost, "/users("+userID(t, srv, "v1-6")+")/disable", "", http.StatusNoContent)
		}, []string{"enabled = false"}},
		{"user renamed away", func(t *testing.T, srv *httptest.Server) {
			mustPortal(t, srv, http.MethodPatch, "/users("+userID(t, srv, "v1-2")+")", `{"userName":"someone"}`, http.StatusOK)
		}, []string{"user v1-2@contoso.com is missing", "member v1-2@contoso.com is not in the portal"}},
		{"extra user", func(t *testing.T, srv *httptest.Server) {
			mustPortal(t, srv, http.MethodPost, "/users", `{"userName":"v1-99","domain":"contoso.com"}`, http.StatusCreated)
		}, []string{`contoso.com\v1-99 (externalKey "") was not generated`}},
		{"same login in another domain", func(t *testing.T, srv *httptest.Server) {
			mustPortal(t, srv, http.MethodPost, "/users", `{"userName":"v1-1","domain":"local","externalKey":"v1-1"}`, http.StatusCreated)
		}, []string{`local\v1-1 (externalKey "v1-1") was not generated`}},
		{"member removed", func(t *testing.T, srv *httptest.Server) {
			mustPortal(t, srv, http.MethodDelete, "/groups("+groupID(t, srv, "v1-group-1")+")/members("+userID(t, srv, "v1-1")+")", "", http.StatusNoContent)
		}, []string{"group v1-group-1: member v1-1@contoso.com"}},
		{"member added", func(t *testing.T, srv *httptest.Server) {
			mustPortal(t, srv, http.MethodPut, "/groups("+groupID(t, srv, "v1-group-2")+")/members("+userID(t, srv, "v1-12")+")", "", http.StatusNoContent)
		}, []string{"group v1-group-2: idUser", "was not generated as one"}},
		{"group deleted", func(t *testing.T, srv *httptest.Server) {
			mustPortal(t, srv, http.MethodDelete, "/groups("+groupID(t, srv, "v1-group-2")+")", "", http.StatusNoContent)
		}, []string{"group v1-group-2 is missing"}},
		{"extra group", func(t *testing.T, srv *httptest.Server) {
			mustPortal(t, srv, http.MethodPost, "/groups", `{"name":"v1-group-3"}`, http.StatusCreated)
		}, []string{`"v1-group-3" was not generated`}},
		{"group externalKey changed", func(t *testing.T, srv *httptest.Server) {
			mustPortal(t, srv, http.MethodPatch, "/groups("+groupID(t, srv, "v1-group-1")+")", `{"externalKey":"x"}`, http.StatusOK)
		}, []string{`externalKey = "x", want "v1-group-1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := seedPortal(t)
			// Objects of another run are not this run's business.
			mustPortal(t, srv, http.MethodPost, "/users", `{"userName":"other-1","domain":"contoso.com"}`, http.StatusCreated)
			tt.tamper(t, srv)

			rep, text, err := runVerifyReport(t, verifyArgs(srv)...)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("verify: %v\n%s", err, text)
				}
				want := VerifyReport{Prefix: "v1", Seed: 7, Users: VerifyCount{12, 12, 12}, Groups: VerifyCount{2, 2, 2},
					Memberships: VerifyCount{10, 10, 10}}
				if rep.Prefix != want.Prefix || rep.Seed != want.Seed || rep.Users != want.Users || rep.Groups != want.Groups ||
					rep.Memberships != want.Memberships || rep.ProblemCount != 0 || len(rep.Problems) != 0 {
					t.Fatalf("report = %+v, want %+v", rep, want)
				}
				if !strings.HasPrefix(text, "verify prefix=v1 seed=7 users=12/12/12 groups=2/2/2 memberships=10/10/10 ") {
					t.Fatalf("text = %q", text)
				}
				return
			}
			if !errors.Is(err, errVerifyFailed) {
				t.Fatalf("verify: err = %v, want errVerifyFailed\n%s", err, text)
			}
			if rep.ProblemCount == 0 || rep.ProblemCount != len(rep.Problems) {
				t.Fatalf("problem count %d, problems %q", rep.ProblemCount, rep.Problems)
			}
			all := strings.Join(rep.Problems, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) || !strings.Contains(text, w) {
					t.Fatalf("problems do not mention %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestVerifyOtherSeedDiffers(t *testing.T) {
	srv := seedPortal(t)
	args := verifyArgs(srv)
	args[len(args)-1] = "8" // --seed
	rep, text, err := runVerifyReport(t, args...)
	if !errors.Is(err, errVerifyFailed) || rep.Users.Found != 12 || rep.Users.Matching == 12 {
		t.Fatalf("verify with another seed: err %v, users %+v\n%s", err, rep.Users, text)
	}
}

func TestVerifyRetriesPortalErrors(t *testing.T) {
	srv := seedPortal(t)
	setFaults := func(rate float64) {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/_sim/faults", strings.NewReader(`{"errorRate":`+strconv.FormatFloat(rate, 'f', -1, 64)+`,"rateLimitRate":0.2,"retryAfterSeconds":0}`))
		resp, err := srv.Client().Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("set faults: %v", err)
		}
		resp.Body.Close()
	}
	setFaults(0.3)
	if rep, text, err := runVerifyReport(t, verifyArgs(srv)...); err != nil || rep.Users.Matching != 12 {
		t.Fatalf("verify through 503s and 429s: %v\n%s", err, text)
	}
}

func TestVerifyReadFailureIsNotADifference(t *testing.T) {
	srv := seedPortal(t)
	args := verifyArgs(srv)
	args[3] = "wrong-token" // --token
	_, _, err := runVerifyReport(t, args...)
	if err == nil || errors.Is(err, errVerifyFailed) || !strings.Contains(err.Error(), "status 401") {
		t.Fatalf("verify with a wrong token: err = %v, want a read error with status 401", err)
	}
}
