package docs

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// markdownLink matches the target of an inline Markdown link: [text](target).
var markdownLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// shippedFiles returns the files of the repository that ship (everything but .git and .ci), relative
// to the repository root.
func shippedFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".ci" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestLinksStayInside: every relative link of every Markdown file names a file or folder of the
// repository, so that a fresh clone can follow it.
func TestLinksStayInside(t *testing.T) {
	checked := 0
	for _, path := range shippedFiles(t) {
		if !strings.HasSuffix(path, ".md") {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range markdownLink.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			resolved := filepath.Join(filepath.Dir(path), target)
			checked++
			if rel, err := filepath.Rel("..", resolved); err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("%s links to %s, outside the repository", path, m[1])
				continue
			}
			if _, err := os.Stat(resolved); err != nil {
				t.Errorf("%s links to %s, which does not exist", path, m[1])
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative link found: the walk is broken")
	}
}

// TestNothingPointsOutside: no shipped file names the developers' shared folder or its documents.
func TestNothingPointsOutside(t *testing.T) {
	forbidden := []string{"../" + "shared", "PORTAL_API" + ".md"} // split so that this file does not match itself
	for _, path := range shippedFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range forbidden {
			if strings.Contains(string(data), f) {
				t.Errorf("%s mentions %s, which is not part of the repository", path, f)
			}
		}
	}
}
