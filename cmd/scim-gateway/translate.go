package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/internal/wiring"
	"github.com/scim-gateway/scim-gateway/translator"
	"github.com/scim-gateway/scim-gateway/upstream"
)

// plannedCall is one portal call a SCIM request would make.
type plannedCall struct {
	Op     string `json:"op"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Body   any    `json:"body,omitempty"`
}

type plannedChange struct {
	SCIM   string `json:"scim"`
	Portal string `json:"portal"`
	Old    any    `json:"old"`
	New    any    `json:"new"`
}

// translation is what `scim-gateway translate` prints.
type translation struct {
	Op      string          `json:"op"`
	Calls   []plannedCall   `json:"portalCalls"`
	Changes []plannedChange `json:"changes"`
}

// translateSections are the configuration sections translate uses; problems elsewhere (a missing token
// or portal secret) do not stop it.
var translateSections = []string{"mapping", "upstream.endpoints", "limits"}

// translateCmd prints the portal calls and payloads a SCIM User request (read from stdin) would
// produce under the configured mapping, without calling anything.
func translateCmd(args, environ []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("translate", stderr)
	path := fs.String("config", "", "configuration file (its mapping and endpoints are used)")
	op := fs.String("op", "create", "the SCIM operation: create (POST), replace (PUT) or patch (PATCH)")
	current := fs.String("current", "", "for replace and patch: the current user, as the portal's JSON or as a SCIM User")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// translate calls nothing, so it reads no secret and checks only what it uses: a configuration
	// without tokens or portal credentials (or with files mounted only in the pod) will do.
	cfg, warnings, err := config.LoadWith(*path, environ, config.LoadOptions{
		SkipFiles: true,
		Sections:  translateSections,
	})
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	mapping, err := translator.NewMapping(cfg.Mapping)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(stdin, cfg.Limits.MaxBodyBytes+1))
	if err != nil {
		return err
	}
	out, err := planTranslation(cfg, mapping, *op, body, *current)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// planTranslation computes the translation of one request.
func planTranslation(cfg *config.Config, m *translator.Mapping, op string, body []byte, currentFile string) (translation, error) {
	portal := wiring.UpstreamConfig(cfg.Upstream)
	ep := func(name string, body any, id int64) plannedCall {
		e := upstream.ResolveEndpoint(portal, name)
		p := strings.ReplaceAll(e.Path, "{idUser}", fmt.Sprint(id))
		return plannedCall{Op: name, Method: e.Method, Path: p, Body: body}
	}
	out := translation{Op: op, Calls: []plannedCall{}, Changes: []plannedChange{}}
	addChanges := func(cs []translator.FieldChange) {
		for _, c := range cs {
			out.Changes = append(out.Changes, plannedChange{SCIM: c.SCIM, Portal: c.Portal, Old: c.Old, New: c.New})
		}
	}
	switch op {
	case "create":
		res, err := translator.ParseUser(body)
		if err != nil {
			return out, err
		}
		nu, changes, err := m.ToPortalUser(res)
		if err != nil {
			return out, err
		}
		out.Calls = append(out.Calls, ep(upstream.OpCreateUser, nu, 0))
		addChanges(changes)
		return out, nil
	case "replace", "patch":
	default:
		return out, fmt.Errorf("--op %q: want create, replace or patch", op)
	}
	if currentFile == "" {
		return out, errors.New("--current is required for replace and patch")
	}
	cur, err := readCurrent(m, currentFile)
	if err != nil {
		return out, err
	}
	var desired translator.Resource
	if op == "replace" {
		if desired, err = translator.ParseUser(body); err != nil {
			return out, err
		}
	} else {
		ops, err := translator.ParsePatchRequest(body)
		if err != nil {
			return out, err
		}
		if desired, err = translator.ApplyPatch(m.FromPortalUser(cur, translator.Meta{}), ops); err != nil {
			return out, err
		}
	}
	diff, err := m.Diff(cur, desired)
	if err != nil {
		return out, err
	}
	if !diff.Patch.Empty() {
		out.Calls = append(out.Calls, ep(upstream.OpUpdateUser, diff.Patch, cur.IDUser))
	}
	if diff.Active != nil {
		name := upstream.OpDisableUser
		if *diff.Active {
			name = upstream.OpEnableUser
		}
		out.Calls = append(out.Calls, ep(name, nil, cur.IDUser))
	}
	addChanges(diff.Changes)
	return out, nil
}

// readCurrent reads the current user: the portal's JSON (it has idUser or guidUser), or a SCIM User
// translated as a create would store it.
func readCurrent(m *translator.Mapping, file string) (translator.PortalUser, error) {
	var u translator.PortalUser
	data, err := os.ReadFile(file)
	if err != nil {
		return u, err
	}
	var probe map[string]any
	if err := json.Unmarshal(data, &probe); err != nil {
		return u, fmt.Errorf("--current %s: %w", file, err)
	}
	if _, ok := probe["idUser"]; ok {
		return u, json.Unmarshal(data, &u)
	}
	if _, ok := probe["guidUser"]; ok {
		return u, json.Unmarshal(data, &u)
	}
	res, err := translator.ParseUser(data)
	if err != nil {
		return u, fmt.Errorf("--current %s: %w", file, err)
	}
	nu, _, err := m.ToPortalUser(res)
	if err != nil {
		return u, fmt.Errorf("--current %s: %w", file, err)
	}
	u = translator.PortalUser{IDUser: 1, GUIDUser: res.ID(), UserName: nu.UserName, Domain: nu.Domain, FullName: nu.FullName,
		FirstName: nu.FirstName, LastName: nu.LastName, ContactEmail: nu.ContactEmail, ContactCellPhone: nu.ContactCellPhone,
		ExternalKey: nu.ExternalKey, Enabled: nu.Enabled == nil || *nu.Enabled, Properties: nu.Properties}
	return u, nil
}
