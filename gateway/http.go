package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/scim-gateway/scim-gateway/translator"
)

// TenantsBase starts the path form of a tenant's URL: /tenants/{name}/scim/v2/... is served as
// /scim/v2/... for tenant {name}, which must be the tenant of the request's token (else 401).
const TenantsBase = "/tenants"

// normalisePath is a pre-routing middleware (after begin) that makes every form of URL Entra produces
// route to /scim/v2/... (a /tenants/{name} prefix is taken off and noted in the request's value): doubled slashes collapsed, a trailing slash dropped, /scim/X served as /scim/v2/X, and
// the resource segment matched in any case (/users is /Users, as Entra and Microsoft's reference
// implementation accept), with Microsoft's /serviceConfiguration as /ServiceProviderConfig. What
// follows the resource segment (an id) is left as sent.
func normalisePath(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		p := cleanSCIMPath(r.URL.Path)
		if rest, ok := strings.CutPrefix(p, TenantsBase+"/"); ok {
			name, tail, _ := strings.Cut(rest, "/")
			if name != "" && (tail == "scim" || strings.HasPrefix(tail, "scim/")) {
				reqOf(c).pathTenant = name
				p = cleanSCIMPath("/" + tail)
			}
		}
		if p != r.URL.Path {
			r.URL.Path = p
			r.URL.RawPath = ""
		}
		return next(c)
	}
}

func cleanSCIMPath(p string) string {
	if strings.Contains(p, "//") {
		var b strings.Builder
		b.Grow(len(p))
		for i := 0; i < len(p); i++ {
			if p[i] == '/' && i > 0 && p[i-1] == '/' {
				continue
			}
			b.WriteByte(p[i])
		}
		p = b.String()
	}
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		p = strings.TrimRight(p, "/")
		if p == "" {
			p = "/"
		}
	}
	if p == "/scim" || (strings.HasPrefix(p, "/scim/") && p != "/scim/v2" && !strings.HasPrefix(p, "/scim/v2/")) {
		p = "/scim/v2" + strings.TrimPrefix(p, "/scim")
	}
	if rest, ok := strings.CutPrefix(p, Base+"/"); ok {
		seg, tail, hasTail := strings.Cut(rest, "/")
		if canon, ok := resourceSegments[strings.ToLower(seg)]; ok && canon != seg {
			p = Base + "/" + canon
			if hasTail {
				p += "/" + tail
			}
		}
	}
	return p
}

// resourceSegments are the first path segments under /scim/v2, by their lower-case form.
var resourceSegments = map[string]string{
	"users":                 "Users",
	"groups":                "Groups",
	"schemas":               "Schemas",
	"resourcetypes":         "ResourceTypes",
	"serviceproviderconfig": "ServiceProviderConfig",
	"serviceconfiguration":  "ServiceProviderConfig", // Microsoft's SCIM reference code serves this alias
}

// HeaderRequestID carries the request id in and out, and on to the portal.
const HeaderRequestID = "X-Request-Id"

func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if ch := id[i]; ch < 0x21 || ch > 0x7e {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// readBody reads a SCIM request body of at most limit bytes. It accepts application/scim+json,
// application/json and a missing Content-Type (never 415 for what Entra sends); a body over the limit
// is 413.
func readBody(c echo.Context, limit int64) ([]byte, error) {
	r := c.Request()
	if ct := r.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == "application/scim+json" || mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return nil, echo.ErrUnsupportedMediaType
		}
	}
	if r.ContentLength > limit {
		return nil, echo.ErrStatusRequestEntityTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, translator.Invalidf(translator.ScimInvalidSyntax, "reading the request body: %v", err)
	}
	if int64(len(body)) > limit {
		return nil, echo.ErrStatusRequestEntityTooLarge
	}
	return body, nil
}

// writeSCIM writes v as a SCIM JSON answer.
func writeSCIM(c echo.Context, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Blob(status, MediaTypeSCIM, b)
}

// noContent answers 204.
func noContent(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
