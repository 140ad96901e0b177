package upstream

import (
	"context"
	"strconv"
	"testing"

	"github.com/scim-gateway/scim-gateway/translator"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

// The benchmarks run the client against an in-process portalsim over loopback HTTP, so their figures
// include the simulator's own work (and allocations) on the server side.

func BenchmarkClientGetUser(b *testing.B) {
	p := newPortal(b, portalsim.DefaultFaults())
	c := newClient(b, p, nil, Options{})
	user := mustCreateUser(b, c, "bench")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetUser(ctx, user.IDUser); err != nil {
			b.Fatalf("GetUser: %v", err)
		}
	}
}

func BenchmarkClientGetUserParallel(b *testing.B) {
	p := newPortal(b, portalsim.DefaultFaults())
	c := newClient(b, p, nil, Options{})
	user := mustCreateUser(b, c, "bench")
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.GetUser(ctx, user.IDUser); err != nil {
				b.Errorf("GetUser: %v", err)
				return
			}
		}
	})
}

func BenchmarkClientCreateUser(b *testing.B) {
	p := newPortal(b, portalsim.DefaultFaults())
	c := newClient(b, p, nil, Options{})
	ctx := context.Background()
	if _, err := c.ListUsers(ctx, nil, translator.Page{}); err != nil { // fetch the token outside the loop
		b.Fatalf("ListUsers: %v", err)
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		if _, err := c.CreateUser(ctx, newUser("bench"+strconv.Itoa(i))); err != nil {
			b.Fatalf("CreateUser: %v", err)
		}
	}
}
