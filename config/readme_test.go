package config

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEDocumentsEveryKey keeps the README's configuration reference complete: every key of the
// tree appears there, spelled `path` (list items as [], endpoint names as <op>).
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
			if !strings.Contains(readme, "`"+path+"`") {
				t.Errorf("README.md does not document `%s`", path)
			}
		}
	}
	walk(configTree(), "")
}
