// Package gateway is the SCIM front end: the echo routes under /scim/v2 (and /scim), bearer-token
// authentication, SCIM content types, the rendering of every error as a SCIM error (in one place,
// ErrorRenderer), list paging, the discovery endpoints, and the orchestration of portal calls for each
// SCIM request. It decides what to do; the translator builds every portal payload, and the portal is
// reached through the small Portal interface declared here (implemented by upstream.Client, wired in
// cmd/scim-gateway). The store subpackage keeps mappings and create records.
package gateway
