// Mkvulndb builds a Go vulnerability database, in the layout that govulncheck's `-db file:///DIR`
// reads, from a directory of OSV entries such as the data/osv folder of the golang.org/x/vulndb
// module. It lets govulncheck run where only the Go module proxy can be reached: the proxy serves the
// database's source as a module, and this program turns it into the database.
//
// Usage:
//
//	mkvulndb -osv DIR -out DIR [-modified RFC3339] [-ignore FILE]
//
// It reads every DIR/<ID>.json (one OSV entry each, the file named after the entry's id) and writes
//
//	OUT/index/db.json       {"modified": the latest modified time of any entry}
//	OUT/index/modules.json  [{"path", "vulns": [{"id", "modified", "fixed"?}]}], sorted by path and id
//	OUT/index/vulns.json    [{"id", "modified", "aliases"?}], sorted by id
//	OUT/ID/<ID>.json        the entry, byte for byte
//
// which is what golang.org/x/vulndb's own generator writes, without the gzipped copies that only its
// HTTP clients read: govulncheck's file source reads the plain .json files. "fixed" is the fix that
// no later introduction supersedes, computed as govulncheck computes it; govulncheck uses it to skip
// entries that cannot affect a module's version, so it errs towards leaving it out. Withdrawn entries
// are kept: govulncheck ignores them itself.
//
// The entries in the vulndb module carry no modified time (the zero time: its generator takes the
// time from git history, which a module has not). -modified gives the time to use for those, such as
// the vulndb module version's commit time; without it such an entry is an error, so that the
// database never claims to be older than it is.
//
// -ignore names an ignore list (the repository's is .vulnignore): entries to leave out of the
// database, so that govulncheck cannot report them. Each line is an entry id, white space and the
// reason, which is required; blank lines and lines starting with "#" are skipped:
//
//	# ID            reason: what the advisory is about, why it does not apply, what would lift it
//	GO-2026-6875    X-Real-IP forwarded by echo's proxy middleware, which we do not use; ...
//
// Every ignored entry is printed on stdout with its reason. A rule whose id is not an entry of the
// data (withdrawn, mistyped, or an alias such as a CVE id, which does not match) ignores nothing
// and is reported on stderr as a warning, without changing the exit status. A rule without a
// reason, an id listed twice, or an unreadable list is an error: nothing is written.
//
// The output directory must be empty or not exist; the program exits 1 on any error, 2 on bad usage.
package main
