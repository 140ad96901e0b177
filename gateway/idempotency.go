package gateway

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/translator"
)

// HeaderIdempotencyKey is the header a client may send to make a create safely repeatable.
const HeaderIdempotencyKey = "Idempotency-Key"

// maxIdempotencyKey bounds the length of an Idempotency-Key.
const maxIdempotencyKey = 255

// idempotent runs a create under the request's Idempotency-Key when one is sent (scoped to the token:
// the same key and body replay the first answer; the same key with another body is 422; a key whose
// first request is still running is 409 — rare, since a repeat of the same body first waits for the
// create lock its first request holds), writes the answer, and reports it delivered when writing
// succeeded while the client was still there. Without a working store the key is ignored: the create
// itself is safe to repeat.
func (s *Server) idempotent(c echo.Context, fp string, run func() (status int, location string, body []byte, err error)) error {
	ctx := c.Request().Context()
	key := c.Request().Header.Get(HeaderIdempotencyKey)
	token := reqOf(c).token
	claimed := false
	if key != "" {
		if len(key) > maxIdempotencyKey {
			return translator.Invalidf(translator.ScimInvalidValue, "the Idempotency-Key header is longer than %d characters", maxIdempotencyKey)
		}
		rec, ok, err := s.storeOf(ctx).BeginIdempotent(ctx, token, key, fp)
		switch {
		case err != nil:
			s.storeErr(err)
		case ok:
			claimed = true
		case rec.Fingerprint != fp:
			return echo.NewHTTPError(http.StatusUnprocessableEntity, "the Idempotency-Key was already used with a different request body")
		case !rec.Done:
			return &translator.Error{Code: translator.EConflict, ScimType: translator.ScimUniqueness,
				Message: "a request with this Idempotency-Key is still being processed"}
		default:
			if rec.Location != "" {
				c.Response().Header().Set(echo.HeaderLocation, rec.Location)
			}
			c.Response().Header().Set("Idempotent-Replayed", "true")
			return c.Blob(rec.Status, MediaTypeSCIM, rec.Body)
		}
	}
	status, location, body, err := run()
	if claimed {
		bg := context.WithoutCancel(ctx)
		if err != nil {
			// Let a retry run afresh: the create is itself safe to repeat.
			s.storeErr(s.storeOf(bg).AbandonIdempotent(bg, token, key))
		} else {
			s.storeErr(s.storeOf(bg).FinishIdempotent(bg, token, key, store.IdemRecord{Fingerprint: fp, Status: status, Location: location, Body: body}))
		}
	}
	if err != nil {
		return err
	}
	if location != "" {
		c.Response().Header().Set(echo.HeaderLocation, location)
	}
	werr := c.Blob(status, MediaTypeSCIM, body)
	if delivered := reqOf(c).onDelivered; delivered != nil && werr == nil {
		// Send the answer now: recording its delivery (and releasing the create lock) is not the
		// client's wait. A client that left is seen here as a cancelled context.
		_ = http.NewResponseController(c.Response().Writer).Flush()
		if ctx.Err() == nil {
			delivered()
		}
	}
	return werr
}
