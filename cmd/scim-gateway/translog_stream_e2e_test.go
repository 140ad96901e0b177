package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/scim-gateway/scim-gateway/internal/testkit"
)

// translations is an /admin/translations answer.
type translations struct {
	Records []struct {
		Op      string `json:"op"`
		SCIMID  string `json:"scimId"`
		Replica string `json:"replica"`
		Calls   []struct {
			Op    string `json:"op"`
			Path  string `json:"path"`
			Route string `json:"resolvedPath"`
		} `json:"calls"`
	} `json:"records"`
	Scope   string `json:"scope"`
	Warning string `json:"warning"`
}

// translations asks e's /admin/translations with a query string.
func (e *env) translations(t *testing.T, query string) translations {
	t.Helper()
	s, body := e.admin("/admin/translations?"+query, e2eAdminToken)
	if s != http.StatusOK {
		t.Fatalf("/admin/translations?%s: %d %s", query, s, body)
	}
	var got translations
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("/admin/translations?%s: %v: %s", query, err, body)
	}
	return got
}

// describe lists the records as op@replica, newest first.
func (tr translations) describe() string {
	var parts []string
	for _, r := range tr.Records {
		parts = append(parts, r.Op+"@"+r.Replica)
	}
	return strings.Join(parts, " ")
}

// metric returns the value of one series of e's /metrics, or -1 when it is absent.
func (e *env) metric(series string) float64 {
	_, m := e.admin("/metrics", "")
	for _, line := range strings.Split(m, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// TestTranslationsFleetWide: with Redis, each replica's /admin/translations shows the records of every
// replica, each named with its replica (POD_NAME), with the portal routes holding the real ids.
func TestTranslationsFleetWide(t *testing.T) {
	testkit.RequireSharedRedis(t)
	t.Setenv("POD_NAME", "gw-a")
	a := newEnv(t, withSharedRedis(t))
	t.Setenv("POD_NAME", "gw-b")
	b := startReplica(t, a, nil)

	id := a.scim(http.MethodPost, "/Users", entraCreate("fleet@contoso.com", "fleet-ext")).want(t, http.StatusCreated).str("id")
	b.scim(http.MethodPatch, "/Users/"+id, patchPrefix+`[{"op":"replace","path":"title","value":"Fleet"}]}`).want(t, http.StatusNoContent)
	idUser := a.portalUser("contoso.com", "fleet").IDUser

	for _, gw := range []*env{a, b} {
		var got translations
		eventually(t, "both replicas' records are on "+gw.app.AdminAddr(), func() bool {
			got = gw.translations(t, "scimId="+id)
			return got.describe() == "patch@gw-b create@gw-a"
		})
		if got.Scope != "fleet" || got.Warning != "" {
			t.Fatalf("scope %q warning %q, want fleet", got.Scope, got.Warning)
		}
		patch := got.Records[0]
		want := fmt.Sprintf("(%d)", idUser)
		for _, c := range patch.Calls {
			if !strings.Contains(c.Path, "{idUser}") || !strings.Contains(c.Route, want) || strings.Contains(c.Route, "{") {
				t.Fatalf("call %s: path %q route %q, want the template and the route with %s", c.Op, c.Path, c.Route, want)
			}
		}
		if len(patch.Calls) == 0 {
			t.Fatal("the PATCH record has no portal call")
		}
	}
}

// TestTranslationsStreamRedisDown: with Redis gone, SCIM writes still succeed, the records that cannot
// reach the stream are counted as dropped, and /admin/translations answers this replica's records.
func TestTranslationsStreamRedisDown(t *testing.T) {
	srv := testkit.StartRedisServer(t)
	t.Setenv("POD_NAME", "gw-down")
	e := newEnv(t, withRedis(srv.URL(), "scimgw-e2e:"))
	const dropped = `scimgw_translation_stream_dropped_total{reason="unavailable"}`
	e.scim(http.MethodPost, "/Users", entraCreate("before@contoso.com", "before-ext")).want(t, http.StatusCreated)
	eventually(t, "the record is in the stream", func() bool {
		return e.translations(t, "").Scope == "fleet" && srv.DBSize(t) > 0
	})
	before := e.metric(dropped)
	if before != 0 {
		t.Fatalf("%s = %v before Redis stopped, want 0", dropped, before)
	}

	srv.Stop()
	id := e.scim(http.MethodPost, "/Users", entraCreate("during@contoso.com", "during-ext")).want(t, http.StatusCreated).str("id")
	e.scim(http.MethodPatch, "/Users/"+id, patchPrefix+`[{"op":"replace","path":"title","value":"Down"}]}`).want(t, http.StatusNoContent)
	eventually(t, "the drop metric rises", func() bool { return e.metric(dropped) > before })
	got := e.translations(t, "")
	if got.Scope != "replica" || !strings.Contains(got.Warning, "this replica only") ||
		got.describe() != "patch@gw-down create@gw-down create@gw-down" {
		t.Fatalf("while Redis is down: scope %q warning %q records %q", got.Scope, got.Warning, got.describe())
	}
}
