package main

import (
	"regexp"
	"slices"
	"testing"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/gateway"
	"github.com/scim-gateway/scim-gateway/upstream"
)

// TestOperationNamesAgree: the operations the configuration accepts (upstream.endpoints), those the
// portal client has endpoints for, and those the gateway switches on are one set, and the placeholders
// check-config demands of a path are those of the client's default path.
func TestOperationNamesAgree(t *testing.T) {
	var client []string
	for op := range upstream.DefaultEndpoints {
		client = append(client, op)
	}
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	if got, want := sorted(config.Operations), sorted(client); !slices.Equal(got, want) {
		t.Fatalf("config accepts %v, the portal client has %v", got, want)
	}
	if got, want := sorted(gateway.Operations), sorted(client); !slices.Equal(got, want) {
		t.Fatalf("the gateway knows %v, the portal client has %v", got, want)
	}
	placeholder := regexp.MustCompile(`\{([^{}]*)\}`)
	for op, e := range upstream.DefaultEndpoints {
		var got []string
		for _, m := range placeholder.FindAllStringSubmatch(e.Path, -1) {
			got = append(got, m[1])
		}
		if want := config.EndpointPlaceholders[op]; !slices.Equal(sorted(got), sorted(want)) {
			t.Errorf("%s: the client's default path %s has %v, check-config demands %v", op, e.Path, got, want)
		}
	}
}
