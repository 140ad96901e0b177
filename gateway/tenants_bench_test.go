package gateway

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/translator"
)

// BenchmarkGetByIDTenants is a warm GET /Users/{id} (one portal call, on the fake portal) with 1 and
// with 20 tenants configured, the request's token being the last tenant's: picking the tenant is a
// digest compared with every token and a map lookup, so 20 tenants should cost no more than one.
func BenchmarkGetByIDTenants(b *testing.B) {
	for _, n := range []int{1, 20} {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			m, err := translator.NewMapping(translator.DefaultMappingConfig())
			if err != nil {
				b.Fatal(err)
			}
			kv := store.NewMemory()
			var lives []*Live
			var tokens []Token
			users := newPortalUsers()
			u := users.add(newUser(b, aliceBody))
			for i := range n {
				name := DefaultTenant
				if i > 0 {
					name = fmt.Sprintf("tenant-%02d", i)
				}
				fp := userPortal(b, users)
				lives = append(lives, &Live{Tenant: name, Store: store.New(store.ForTenant(kv, name), store.Options{}), Users: fp, Groups: fp,
					Switches: fp, Mapping: m, OnDelete: OnDeleteDisable, Limits: Limits{MaxBodyBytes: 1 << 20, MaxPageSize: 100, MaxScan: 1000, MaxOperations: 100}})
				tokens = append(tokens, Token{Name: "entra-" + name, Value: fmt.Sprintf("token-%02d-0123456789abcdef", i), Tenant: name})
			}
			s := New(Options{Tokens: NewTokens(tokens)})
			s.SetTenants(lives...)
			h := s.Handler()
			token := tokens[n-1].Value
			get := func() int {
				r := httptest.NewRequest(http.MethodGet, "/scim/v2/Users/"+u.GUIDUser, nil)
				r.Header.Set("Authorization", "Bearer "+token)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w.Code
			}
			if code := get(); code != http.StatusOK { // warms the cache
				b.Fatalf("GET: %d", code)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if code := get(); code != http.StatusOK {
					b.Fatalf("GET: %d", code)
				}
			}
		})
	}
}
