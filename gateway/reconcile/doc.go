// Package reconcile compares the portal with what the gateway remembers of the users and groups it
// provisioned, and reports the drift: portal users and groups with no trace of SCIM provisioning
// (unmanaged), users deleted through SCIM that are enabled again or still group members
// (deletedButEnabled), portal records sharing one externalKey (duplicateExternalId), and store
// entries that name a portal record that no longer exists (staleMapping).
//
// It only reads. The portal is read through the Portal interface it declares (the real upstream
// client: paged list calls, its concurrency bound, breaker and endpoint switches), the store through
// Store (gateway/store's read-only enumeration and point reads). Memory stays bounded for large
// portals: users are streamed a page at a time and only fixed-size digests of ids, logins and
// externalKeys are kept, plus the findings themselves.
//
// Run produces a Report (JSON for scripts, WriteTable for people); Handler serves it on the admin
// port, one run at a time. cmd/scim-gateway wires both.
package reconcile
