package translator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Resource is a SCIM resource (User or Group) as a JSON object. Values are what encoding/json
// produces (map[string]any, []any, string, bool, json.Number or float64), so a resource renders back
// exactly as it was sent: same strings, same case, booleans as booleans.
//
// A normalised resource (what ParseUser, ParseGroup, ApplyPatch and FromPortalUser return) spells
// every known attribute and sub-attribute the way its schema does, keeps extension attributes in an
// object under the extension's URN, holds booleans as booleans and a manager as {"value": ...}, and
// leaves out null, "", empty lists and attributes no schema defines (Entra sends attributes the
// gateway has no place for; they are ignored, never an error).
type Resource map[string]any

// Meta is what FromPortalUser and FromPortalGroup need beyond the portal's record: the resource's
// location (built by the gateway from its public URL) and, optionally, its version (ETag).
type Meta struct {
	Location string
	Version  string
}

// ID returns the resource's "id", or "".
func (r Resource) ID() string {
	s, _ := r["id"].(string)
	return s
}

// Str returns the top-level string attribute name (matched case-insensitively), or "".
func (r Resource) Str(name string) string {
	_, v, _ := lookupKey(r, name)
	s, _ := v.(string)
	return s
}

// Clone returns a deep copy of r.
func (r Resource) Clone() Resource {
	if r == nil {
		return nil
	}
	return deepCopy(map[string]any(r)).(map[string]any)
}

// SetGroups sets the read-only "groups" attribute of a user from the portal groups it belongs to
// (listUserGroups), as [{"value": guidGroup, "display": name}]; no groups leaves the attribute out.
func (r Resource) SetGroups(groups []PortalGroup) {
	if len(groups) == 0 {
		delete(r, "groups")
		return
	}
	list := make([]any, 0, len(groups))
	for _, g := range groups {
		list = append(list, map[string]any{"value": g.GUIDGroup, "display": g.Name})
	}
	r["groups"] = list
}

// ParseUser decodes a SCIM User from a request body and normalises it (see Resource). A body that is
// not a JSON object is an EInvalid *Error with scimType invalidSyntax; a known attribute of the wrong
// type is invalidValue naming the attribute.
func ParseUser(body []byte) (Resource, error) { return parseResource(userDef, body) }

// ParseGroup decodes a SCIM Group from a request body and normalises it, with ParseUser's errors.
func ParseGroup(body []byte) (Resource, error) { return parseResource(groupDef, body) }

func parseResource(def *resourceDef, body []byte) (Resource, error) {
	v, err := decodeJSON(body)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, Invalidf(ScimInvalidSyntax, "the body must be a JSON object")
	}
	return normalize(def, m)
}

// decodeJSON decodes one JSON value, numbers as json.Number so they render back as sent.
func decodeJSON(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &Error{Code: EInvalid, ScimType: ScimInvalidSyntax, Message: "the body is not valid JSON", Err: err}
	}
	if dec.More() {
		return nil, Invalidf(ScimInvalidSyntax, "the body holds more than one JSON value")
	}
	return v, nil
}

// normalize returns the normalised form of the resource m (see Resource).
func normalize(def *resourceDef, m map[string]any) (Resource, error) {
	out := Resource{}
	for key, v := range m {
		if v == nil {
			continue
		}
		if ext := def.extension(key); ext != nil {
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, Invalidf(ScimInvalidValue, "%s must be an object", ext.id)
			}
			for k, sv := range obj {
				if err := normalizeInto(out, def, ext.id, k, sv); err != nil {
					return nil, err
				}
			}
			continue
		}
		schema, name := splitURN(key)
		if err := normalizeInto(out, def, schema, name, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// normalizeInto normalises the value v of attribute name (of schema, "" for core) into out.
func normalizeInto(out Resource, def *resourceDef, schema, name string, v any) error {
	if strings.EqualFold(name, "schemas") && schema == "" {
		list, ok := v.([]any)
		if !ok {
			return Invalidf(ScimInvalidValue, "schemas must be a list of strings")
		}
		out["schemas"] = deepCopy(list)
		return nil
	}
	urn, a := def.lookup(schema, name)
	if a == nil {
		return nil // unknown attributes are ignored
	}
	nv, ok, err := normalizeValue(a, v, qualified(urn, a.name))
	if err != nil || !ok {
		return err
	}
	container(out, urn, true)[a.name] = nv
	return nil
}

// qualified names an attribute for error messages: URN-qualified for extensions.
func qualified(urn, name string) string {
	if urn == "" {
		return name
	}
	return urn + ":" + name
}

// container returns the object holding the attributes of schema urn ("" for core): the resource
// itself, or the extension's object, created when create is true (nil when absent otherwise).
func container(res Resource, urn string, create bool) map[string]any {
	if urn == "" {
		return res
	}
	k, v, _ := lookupKey(res, urn)
	if m, ok := v.(map[string]any); ok {
		return m
	}
	if !create {
		return nil
	}
	if k != "" {
		delete(res, k)
	}
	m := map[string]any{}
	res[urn] = m
	return m
}

// normalizeValue returns the normalised value of attribute a, and false when it is absent (null, "",
// an empty list or object). name is the attribute's name for error messages.
func normalizeValue(a *attrDef, v any, name string) (any, bool, error) {
	if v == nil {
		return nil, false, nil
	}
	if a.multi {
		var list []any
		switch t := v.(type) {
		case []any:
			list = t
		default:
			list = []any{t}
		}
		out := make([]any, 0, len(list))
		for _, e := range list {
			ne, ok, err := normalizeSingle(a, e, name)
			if err != nil {
				return nil, false, err
			}
			if ok {
				out = append(out, ne)
			}
		}
		return out, len(out) > 0, nil
	}
	return normalizeSingle(a, v, name)
}

func normalizeSingle(a *attrDef, v any, name string) (any, bool, error) {
	if v == nil {
		return nil, false, nil
	}
	if a.typ == typeComplex {
		switch t := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, sv := range t {
				s := a.subAttr(k)
				if s == nil {
					continue
				}
				nv, ok, err := normalizeSingle(s, sv, name+"."+s.name)
				if err != nil {
					return nil, false, err
				}
				if ok {
					out[s.name] = nv
				}
			}
			return out, len(out) > 0, nil
		case string:
			// A bare string is the "value" sub-attribute: Entra sends a manager as "<id>".
			if s := a.subAttr("value"); s != nil {
				if t == "" {
					return nil, false, nil
				}
				return map[string]any{"value": t}, true, nil
			}
		}
		return nil, false, Invalidf(ScimInvalidValue, "%s must be an object, not %s", name, jsonKind(v))
	}
	switch a.typ {
	case typeBoolean:
		b, ok := parseBool(v)
		if !ok {
			return nil, false, Invalidf(ScimInvalidValue, "%s must be a boolean (true or false), not %s", name, jsonKind(v))
		}
		return b, true, nil
	case typeInteger, typeDecimal:
		switch v.(type) {
		case json.Number, float64, int, int64:
			return v, true, nil
		}
		return nil, false, Invalidf(ScimInvalidValue, "%s must be a number, not %s", name, jsonKind(v))
	default: // string, reference, dateTime, binary
		s, ok := v.(string)
		if !ok {
			return nil, false, Invalidf(ScimInvalidValue, "%s must be a string, not %s", name, jsonKind(v))
		}
		return s, s != "", nil
	}
}

// parseBool accepts a JSON boolean or the strings "true" and "false" in any case (Entra's default).
func parseBool(v any) (bool, bool) {
	switch t := v.(type) {
	case bool:
		return t, true
	case string:
		switch strings.ToLower(t) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// jsonKind names the JSON type of v for error messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64, int, int64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// lookupKey finds name in m: the exact key first, then case-insensitively.
func lookupKey(m map[string]any, name string) (string, any, bool) {
	if v, ok := m[name]; ok {
		return name, v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return k, v, true
		}
	}
	return "", nil, false
}

// deepCopy copies maps and lists; other values are immutable.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = deepCopy(e)
		}
		return out
	case Resource:
		return Resource(deepCopy(map[string]any(t)).(map[string]any))
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// scimTime renders a timestamp as SCIM dateTime (UTC, milliseconds).
func scimTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// metaObject builds the "meta" attribute.
func metaObject(resourceType string, created, modified time.Time, meta Meta) map[string]any {
	m := map[string]any{"resourceType": resourceType}
	if !created.IsZero() {
		m["created"] = scimTime(created)
	}
	if !modified.IsZero() {
		m["lastModified"] = scimTime(modified)
	}
	if meta.Location != "" {
		m["location"] = meta.Location
	}
	if meta.Version != "" {
		m["version"] = meta.Version
	}
	return m
}
