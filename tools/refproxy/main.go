package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch err := run(ctx, os.Args[1:], os.Stderr, nil); {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintf(os.Stderr, "refproxy: %v\n", err)
		os.Exit(1)
	}
}

// options are the command-line settings.
type options struct {
	listen      string
	portal      string
	portalToken string
	redisAddr   string
	keyPrefix   string
	token       string
}

// run serves until ctx is done. ready, when not nil, gets the address listened on.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(addr string)) error {
	var o options
	fs := flag.NewFlagSet("refproxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:18080", "`address` to serve on")
	fs.StringVar(&o.portal, "portal", "http://127.0.0.1:8081/portal", "the portal's base `URL`")
	fs.StringVar(&o.portalToken, "portal-token", "", "static bearer `token` for the portal (portal-sim --static-token)")
	fs.StringVar(&o.redisAddr, "redis", "127.0.0.1:6379", "Redis `host:port` holding the SCIM id to idUser keys")
	fs.StringVar(&o.keyPrefix, "key-prefix", "refproxy:", "`prefix` of the Redis keys")
	fs.StringVar(&o.token, "token", "", "bearer `token` SCIM clients must send (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.token == "" || o.portalToken == "" {
		return errors.New("--token and --portal-token are required")
	}
	rdb := redis.NewClient(&redis.Options{Addr: o.redisAddr, PoolSize: 64})
	defer rdb.Close()
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newProxy(o, rdb), ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// proxy serves GET /scim/v2/Users/{id}.
type proxy struct {
	want        [sha256.Size]byte
	rdb         *redis.Client
	keyPrefix   string
	usersURL    string // the portal's users collection, ending in "/users("
	portalAuth  string
	client      *http.Client
	userSchemas []string
}

func newProxy(o options, rdb *redis.Client) *proxy {
	return &proxy{
		want:        sha256.Sum256([]byte(o.token)),
		rdb:         rdb,
		keyPrefix:   o.keyPrefix,
		usersURL:    strings.TrimRight(o.portal, "/") + "/api/usersync/v1/users(",
		portalAuth:  "Bearer " + o.portalToken,
		client:      &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second},
		userSchemas: []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
	}
}

// portalUser is the part of the portal's user record a SCIM User is made of.
type portalUser struct {
	IDUser           int     `json:"idUser"`
	GUIDUser         string  `json:"guidUser"`
	UserName         string  `json:"userName"`
	Domain           string  `json:"domain"`
	FullName         *string `json:"fullName"`
	FirstName        *string `json:"firstName"`
	LastName         *string `json:"lastName"`
	ContactEmail     *string `json:"contactEmail"`
	ContactCellPhone *string `json:"contactCellPhone"`
	ExternalKey      *string `json:"externalKey"`
	Enabled          bool    `json:"enabled"`
	CreatedOn        string  `json:"createdOn"`
	ModifiedOn       string  `json:"modifiedOn"`
}

// scimUser is the SCIM User refproxy answers.
type scimUser struct {
	Schemas      []string     `json:"schemas"`
	ID           string       `json:"id"`
	ExternalID   *string      `json:"externalId,omitempty"`
	UserName     string       `json:"userName"`
	Active       bool         `json:"active"`
	Name         scimName     `json:"name"`
	Emails       []scimValue  `json:"emails,omitempty"`
	PhoneNumbers []scimValue  `json:"phoneNumbers,omitempty"`
	Meta         scimUserMeta `json:"meta"`
}

type scimName struct {
	GivenName  *string `json:"givenName,omitempty"`
	FamilyName *string `json:"familyName,omitempty"`
	Formatted  *string `json:"formatted,omitempty"`
}

type scimValue struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type scimUserMeta struct {
	ResourceType string `json:"resourceType"`
	Created      string `json:"created"`
	LastModified string `json:"lastModified"`
	Location     string `json:"location"`
}

const usersPath = "/scim/v2/Users/"

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, usersPath)
	if r.Method != http.MethodGet || !ok || id == "" || strings.Contains(id, "/") {
		scimError(w, http.StatusNotFound, "no such route")
		return
	}
	got := sha256.Sum256([]byte(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")))
	if subtle.ConstantTimeCompare(got[:], p.want[:]) != 1 {
		scimError(w, http.StatusUnauthorized, "bad bearer token")
		return
	}
	idUser, err := p.rdb.Get(r.Context(), p.keyPrefix+id).Result()
	switch {
	case errors.Is(err, redis.Nil):
		scimError(w, http.StatusNotFound, "unknown id")
		return
	case err != nil:
		scimError(w, http.StatusServiceUnavailable, "redis: "+err.Error())
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, p.usersURL+idUser+")", nil)
	if err != nil {
		scimError(w, http.StatusInternalServerError, err.Error())
		return
	}
	req.Header.Set("Authorization", p.portalAuth)
	resp, err := p.client.Do(req)
	if err != nil {
		scimError(w, http.StatusBadGateway, "portal: "+err.Error())
		return
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	switch {
	case err != nil:
		scimError(w, http.StatusBadGateway, "portal: "+err.Error())
		return
	case resp.StatusCode == http.StatusNotFound:
		scimError(w, http.StatusNotFound, "unknown id")
		return
	case resp.StatusCode != http.StatusOK:
		scimError(w, http.StatusBadGateway, "portal answered "+resp.Status)
		return
	}
	var u portalUser
	if err := json.Unmarshal(body, &u); err != nil {
		scimError(w, http.StatusBadGateway, "portal: "+err.Error())
		return
	}
	out := scimUser{
		Schemas:    p.userSchemas,
		ID:         u.GUIDUser,
		ExternalID: u.ExternalKey,
		UserName:   u.UserName + "@" + u.Domain,
		Active:     u.Enabled,
		Name:       scimName{GivenName: u.FirstName, FamilyName: u.LastName, Formatted: u.FullName},
		Meta: scimUserMeta{ResourceType: "User", Created: u.CreatedOn, LastModified: u.ModifiedOn,
			Location: usersPath + u.GUIDUser},
	}
	if u.ContactEmail != nil {
		out.Emails = []scimValue{{Type: "work", Value: *u.ContactEmail}}
	}
	if u.ContactCellPhone != nil {
		out.PhoneNumbers = []scimValue{{Type: "mobile", Value: *u.ContactCellPhone}}
	}
	w.Header().Set("Content-Type", "application/scim+json")
	_ = json.NewEncoder(w).Encode(out)
}

// scimError answers a SCIM error body.
func scimError(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		"status":  fmt.Sprint(status),
		"detail":  detail,
	})
}
