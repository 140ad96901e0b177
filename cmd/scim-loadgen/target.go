package main

import (
	"context"
	"net/http"
	"time"
)

// target performs the operations of a provisioning cycle on one kind of server: a SCIM endpoint
// (scimTarget) or the portal itself (portalTarget). Each method makes one logical operation; ids are
// the server's (SCIM id, or idUser and idGroup). A find that matches nothing is a success with id "".
// A create that meets an existing object returns 409, with the existing id when the answer names it.
// Calls for one object are never concurrent.
type target interface {
	findUser(ctx context.Context, u *genUser) (string, outcome)
	createUser(ctx context.Context, u *genUser) (string, outcome)
	getUser(ctx context.Context, id string) outcome
	patchUser(ctx context.Context, id string, c userChange) outcome
	disableUser(ctx context.Context, id string) outcome
	findGroup(ctx context.Context, g *genGroup) (string, outcome)
	createGroup(ctx context.Context, g *genGroup) (string, outcome)
	addMembers(ctx context.Context, p *memberPatch) outcome
}

// outcome is the result of one attempt of an operation.
type outcome struct {
	status        int // HTTP status; 0 when no answer came
	err           error
	retryAfter    time.Duration
	hasRetryAfter bool
	ok            bool // the operation did what it should (a 409 resolved by a lookup included)
	retryable     bool // a later attempt may succeed: no answer, 429 or 5xx
	conflict      bool // a create met an existing object and found its id
}

// outcomeOf classifies an answer.
func outcomeOf(r reply) outcome {
	return outcome{
		status:        r.status,
		err:           r.err,
		retryAfter:    r.retryAfter,
		hasRetryAfter: r.hasRetryAfter,
		ok:            r.err == nil && r.status >= 200 && r.status < 300,
		retryable:     r.err != nil || r.status == http.StatusTooManyRequests || r.status >= 500,
	}
}
