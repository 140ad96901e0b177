package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the program with its arguments and output streams; it returns the exit status: 0 on
// success, 1 when the ignore list is invalid or the database cannot be built, 2 on bad usage. Each
// ignored entry is reported on stdout with its reason, each stale ignore rule on stderr as a warning
// (which does not change the status).
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("mkvulndb", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: mkvulndb -osv DIR -out DIR [-modified RFC3339] [-ignore FILE]")
		flags.PrintDefaults()
	}
	osvDir := flags.String("osv", "", "directory of OSV entries, one <ID>.json each (required)")
	outDir := flags.String("out", "", "directory to write the database to; must be empty or not exist (required)")
	modifiedFlag := flags.String("modified", "", "RFC 3339 time to index entries whose modified time is unset with")
	ignoreFile := flags.String("ignore", "", "`FILE` listing entries to leave out: \"ID reason\" a line, the reason required, # comments")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if *osvDir == "" || *outDir == "" || flags.NArg() > 0 {
		flags.Usage()
		return 2
	}
	var fallback time.Time
	if *modifiedFlag != "" {
		t, err := time.Parse(time.RFC3339, *modifiedFlag)
		if err != nil {
			fmt.Fprintf(stderr, "mkvulndb: -modified: %v\n", err)
			return 2
		}
		fallback = t
	}
	var ignore []ignoreRule
	if *ignoreFile != "" {
		rules, err := readIgnoreList(*ignoreFile)
		if err != nil {
			fmt.Fprintf(stderr, "mkvulndb: %v\n", err)
			return 1
		}
		ignore = rules
	}
	s, err := build(*osvDir, *outDir, fallback, ignore)
	if err != nil {
		fmt.Fprintf(stderr, "mkvulndb: %v\n", err)
		return 1
	}
	for _, r := range s.Ignored {
		fmt.Fprintf(stdout, "mkvulndb: IGNORED %s (%s): %s\n", r.ID, r.Where, r.Reason)
	}
	for _, r := range s.Stale {
		hint := "remove the line if the entry was withdrawn or renamed"
		if r.AliasOf != "" {
			hint = fmt.Sprintf("it is an alias of %s: list that id instead", r.AliasOf)
		}
		fmt.Fprintf(stderr, "mkvulndb: warning: %s: %s is not an entry of the data, so it ignores nothing (%s)\n",
			r.Where, r.ID, hint)
	}
	entries := fmt.Sprintf("%d entries", s.Entries)
	if *ignoreFile != "" {
		entries += fmt.Sprintf(" (%d ignored)", len(s.Ignored))
	}
	fmt.Fprintf(stdout, "mkvulndb: %s, %d modules, last modified %s, written to %s\n",
		entries, s.Modules, formatTime(s.Modified), *outDir)
	return 0
}
