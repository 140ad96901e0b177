// Package adminui owns the translation-log viewer the admin port serves at /admin/ui/: an HTML page,
// a script and a style sheet embedded in the binary (no build step, no third-party code, nothing
// fetched from elsewhere).
//
// The page itself carries no data and is served without the admin token. It asks for the token,
// keeps it in the tab's sessionStorage, and reads records only through GET /admin/translations with
// it as a bearer header, so it never shows more than that API answers (redacted by the translation
// log's policy); the state strip reads GET /readyz.
package adminui
