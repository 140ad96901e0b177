// Package upstream is the gateway's client of the legacy work portal's user-sync API (docs/portal-api.md).
//
// It owns everything between a typed portal call and the wire: the endpoint switches and paths of
// upstream.endpoints, authentication (OAuth 2 client credentials with a cached, renewed token; a static
// bearer token; or none), TLS to the portal, a bound on calls in flight, retries of calls that are safe
// to repeat, a circuit breaker per portal, and the mapping of every portal answer onto the domain's
// error vocabulary (translator.Error). Payload types are translator's; this package builds no SCIM.
//
// The one rule that matters most: a create or a PATCH is never sent twice. When a write was sent and
// no answer came, the error is translator.EOutcomeUnknown, which callers tell apart from
// translator.EUnavailable (the call was not made, or failed without effect).
//
// How portal answers map onto translator codes:
//
//	400 FILTER_NOT_SUPPORTED          EInvalid, ScimType invalidFilter
//	400 VALIDATION_FAILED (any 400)   EInvalid, ScimType invalidValue, Target = the portal's target
//	401 after one renewal and replay  EUnauthorized (also a refused token request: invalid_client, invalid_scope)
//	403 INSUFFICIENT_SCOPE            EUnauthorized
//	404 USER_/GROUP_NOT_FOUND, NOT_A_MEMBER   ENotFound, PortalCode says which
//	404 any other (unknown route)     EInternal: a wrong endpoint path must not read as "no such user"
//	405 USER_DELETE_NOT_SUPPORTED     EUnauthorized (the portal refuses the operation); other 405: EInternal
//	409                               EConflict, ScimType uniqueness, ExistingID = existingIdUser/Group
//	429                               ERateLimited, RetryAfter from Retry-After (seconds or HTTP date)
//	504 to a write                    EOutcomeUnknown (a proxy gave up: the portal may have applied it)
//	5xx (JSON, HTML or empty body)    EUnavailable, RetryAfter from Retry-After or a 1 s hint
//	no answer to a read               EUnavailable (refused or dropped connection, timeout)
//	no answer to a sent write         EOutcomeUnknown (dropped connection, timeout, caller gone)
//	not sent                          EUnavailable: endpoint disabled, queue full, breaker open
//	unreadable 2xx body               EInternal
//
// Every error carries the portal's Status and PortalCode when the portal answered.
package upstream
