package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// ignoreRule is one line of an ignore list: an entry to leave out of the database, and why.
type ignoreRule struct {
	ID     string
	Reason string
	// Where is the rule's origin, "FILE:LINE", for messages.
	Where string
}

// readIgnoreList reads the ignore list in the file at path; see parseIgnoreList.
func readIgnoreList(path string) ([]ignoreRule, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ignore list: %w", err)
	}
	defer f.Close()
	return parseIgnoreList(f, path)
}

// parseIgnoreList parses an ignore list read from r, named name in its rules and errors. Each line
// is an entry id, white space and the reason it is ignored (free text, required); blank lines and
// lines whose first non-blank character is "#" are skipped. A "#" after the id is part of the
// reason, not a comment.
//
// It returns an error, naming the file and line, for a line with an id but no reason, an id with a
// "/" or "\" (which no entry has), or an id listed twice; and any error reading r.
func parseIgnoreList(r io.Reader, name string) ([]ignoreRule, error) {
	var (
		rules []ignoreRule
		seen  = map[string]string{} // id to the Where of its rule
		sc    = bufio.NewScanner(r)
		line  int
	)
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", name, line)
		id, reason := text, ""
		if i := strings.IndexAny(text, " \t"); i >= 0 {
			id, reason = text[:i], strings.TrimSpace(text[i+1:])
		}
		if strings.ContainsAny(id, `/\`) {
			return nil, fmt.Errorf("%s: invalid id %q", where, id)
		}
		if reason == "" {
			return nil, fmt.Errorf("%s: %s has no reason: write after the id why it does not apply and what would lift it", where, id)
		}
		if first, ok := seen[id]; ok {
			return nil, fmt.Errorf("%s: %s is already listed at %s", where, id, first)
		}
		seen[id] = where
		rules = append(rules, ignoreRule{ID: id, Reason: reason, Where: where})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rules, nil
}
