package portalsim

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// benchPortal is a Sim with 1000 users on httptest, and a client that keeps its connections.
func benchPortal(b *testing.B) (*Sim, *httptest.Server, *http.Client) {
	b.Helper()
	sim, err := New(Options{StaticToken: testStaticToken, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		sim.store.createUser(&user{userName: fmt.Sprintf("user%d", i), domain: "corp", enabled: true,
			externalKey: ptr(fmt.Sprintf("ext-%d", i)), properties: map[string]any{"dept": "R&D"}})
	}
	srv := httptest.NewServer(sim)
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	return sim, srv, client
}

func benchDo(b *testing.B, c *http.Client, req *http.Request, want int) {
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Fatalf("status %d, want %d", resp.StatusCode, want)
	}
}

// BenchmarkGetUserByID is GET /users({idUser}) over HTTP on loopback.
func BenchmarkGetUserByID(b *testing.B) {
	_, srv, client := benchPortal(b)
	url := srv.URL + "/portal" + userPath(500, "")
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+testStaticToken)
		benchDo(b, client, req, http.StatusOK)
	}
}

// BenchmarkGetUserByIDParallel is BenchmarkGetUserByID from GOMAXPROCS clients at once.
func BenchmarkGetUserByIDParallel(b *testing.B) {
	_, srv, client := benchPortal(b)
	url := srv.URL + "/portal" + userPath(500, "")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+testStaticToken)
			benchDo(b, client, req, http.StatusOK)
		}
	})
}

// BenchmarkCreateUser is POST /users of a new login each time, over HTTP on loopback.
func BenchmarkCreateUser(b *testing.B) {
	_, srv, client := benchPortal(b)
	url := srv.URL + "/portal" + usersPath
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		body := fmt.Sprintf(`{"userName":"bench%d","domain":"corp","fullName":"Bench User","contactEmail":"b%d@example.com",`+
			`"externalKey":"k%d","properties":{"dept":"R&D","level":3}}`, i, i, i)
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testStaticToken)
		req.Header.Set("Content-Type", "application/json")
		benchDo(b, client, req, http.StatusCreated)
	}
}

// BenchmarkListUsersByLogin is GET /users?$filter=userName eq ... and domain eq ... (an indexed filter).
func BenchmarkListUsersByLogin(b *testing.B) {
	_, srv, client := benchPortal(b)
	url := srv.URL + "/portal" + usersPath + "?$filter=userName%20eq%20'user500'%20and%20domain%20eq%20'corp'"
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+testStaticToken)
		benchDo(b, client, req, http.StatusOK)
	}
}

// BenchmarkGetUserByIDHandler is the handler time of GET /users({idUser}), without the network.
func BenchmarkGetUserByIDHandler(b *testing.B) {
	sim, _, _ := benchPortal(b)
	req := httptest.NewRequest(http.MethodGet, "/portal"+userPath(500, ""), nil)
	req.Header.Set("Authorization", "Bearer "+testStaticToken)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkCreateUserHandler is the handler time of POST /users, without the network.
func BenchmarkCreateUserHandler(b *testing.B) {
	sim, _, _ := benchPortal(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		body := fmt.Sprintf(`{"userName":"bench%d","domain":"corp","fullName":"Bench User","externalKey":"k%d"}`, i, i)
		req := httptest.NewRequest(http.MethodPost, "/portal"+usersPath, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testStaticToken)
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, req)
		if w.Code != http.StatusCreated {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
