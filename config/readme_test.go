package config

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEDocumentsEveryKey keeps the README's configuration reference complete: every key of the
// tree appears there, spelled `path` (list items as [], endpoint names as <op>; a tenant's inherited
// blocks as the block, `tenants[].upstream`).
func TestREADMEDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	var walk func(n *keyNode, path string)
	walk = func(n *keyNode, path string) {
		switch n.kind {
		case kindStruct:
			for _, f := range n.fields {
				walk(f.node, joinKey(path, f.name))
			}
		case kindList:
			walk(n.elem, path+"[]")
		case kindMap:
			if n.mapKeys == nil {
				walk(n.elem, path+".<name>") // any key
			} else {
				walk(n.elem, path+".<op>")
			}
		default:
			// A tenant's inherited blocks have the top level's shapes: the README documents the block
			// (`tenants[].upstream`), and its keys where the top level's are documented.
			for _, b := range tenantInherited {
				if strings.HasPrefix(path, "tenants[]."+b+".") {
					path = "tenants[]." + b
				}
			}
			if !strings.Contains(readme, "`"+path+"`") {
				t.Errorf("README.md does not document `%s`", path)
			}
		}
	}
	walk(configTree(), "")
}
