package config

import "strings"

// Problem is one thing wrong with a configuration: the key path it concerns (such as
// "server.tokens[1].value" or "upstream.endpoints.getUser.path"; empty for the file as a whole) and what
// is wrong with it. Messages never contain a secret value.
type Problem struct {
	Path    string
	Message string
}

// String renders the problem as "path: message", or just the message when there is no path.
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems is every problem found in one configuration. It is the error Load returns, so a caller can
// list each problem with errors.As.
type Problems []Problem

// Error renders one problem a line, "path: message".
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// add appends one problem.
func (ps *Problems) add(path, message string) {
	*ps = append(*ps, Problem{Path: path, Message: message})
}
