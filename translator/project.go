package translator

import "strings"

// Projection is a parsed pair of `attributes` and `excludedAttributes` query parameters
// (RFC 7644 section 3.4.2.5). The zero Projection returns every attribute returned by default.
type Projection struct {
	include []projItem
	exclude []projItem
}

// projItem is one entry of an attributes list: an attribute, optionally one sub-attribute, optionally
// a value filter (`emails[type eq "work"]`), or a whole extension.
type projItem struct {
	schema string   // "" for core and common attributes, else the extension URN
	attr   *attrDef // nil for a whole extension
	name   string   // the attribute's key in the resource
	sub    string   // canonical sub-attribute name, or ""
	filter Filter
}

// ParseProjection parses the attributes and excludedAttributes parameters: comma-separated lists
// (blanks around names allowed) of attribute names in any case, sub-attributes (`name.givenName`),
// extension-qualified names (`urn:...:enterprise:2.0:User:department`, or the bare URN for the whole
// extension) and the filtered form `emails[type eq "work"]` (optionally followed by `.value`). Names
// that no schema defines are ignored. A name that does not parse is an EInvalid *Error with scimType
// invalidValue naming the parameter.
func ParseProjection(attributes, excludedAttributes string) (Projection, error) {
	var p Projection
	var err error
	if p.include, err = parseProjList("attributes", attributes); err != nil {
		return Projection{}, err
	}
	if p.exclude, err = parseProjList("excludedAttributes", excludedAttributes); err != nil {
		return Projection{}, err
	}
	return p, nil
}

func parseProjList(param, s string) ([]projItem, error) {
	var out []projItem
	for _, raw := range splitList(s) {
		path, err := ParsePath(raw)
		if err != nil {
			return nil, Invalidf(ScimInvalidValue, "%s: %s", param, AsError(err).Message)
		}
		out = append(out, projItemFor(path)...)
	}
	return out, nil
}

// projItemFor resolves a path against both resource types (a projection does not know which it will
// be applied to); unknown names give no item.
func projItemFor(p Path) []projItem {
	var out []projItem
	for _, def := range []*resourceDef{userDef, groupDef} {
		if ext := def.extension(p.Attr.Schema + ":" + p.Attr.Attr); ext != nil && p.Attr.Sub == "" && p.Filter.IsZero() {
			out = append(out, projItem{schema: ext.id, name: ext.id})
			continue
		}
		urn, a := def.lookup(p.Attr.Schema, p.Attr.Attr)
		if a == nil {
			continue
		}
		it := projItem{schema: urn, attr: a, name: a.name, filter: p.Filter}
		sub := p.Attr.Sub
		if p.Sub != "" {
			sub = p.Sub
		}
		if sub != "" {
			s := a.subAttr(sub)
			if s == nil {
				continue
			}
			it.sub = s.name
		}
		out = append(out, it)
	}
	return out
}

// splitList splits at commas outside brackets and quotes, trimming blanks and dropping empty entries.
func splitList(s string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			switch c := s[i]; {
			case c == '"' && (i == 0 || s[i-1] != '\\'):
				quoted = !quoted
				continue
			case quoted:
				continue
			case c == '[':
				depth++
				continue
			case c == ']':
				depth--
				continue
			case c != ',' || depth > 0:
				continue
			}
		}
		if item := strings.TrimSpace(s[start:i]); item != "" {
			out = append(out, item)
		}
		start = i + 1
	}
	return out
}

// Requested reports whether the attribute name (top-level, any case) was asked for explicitly in
// attributes: the gateway calls listUserGroups only when "groups" was.
func (p Projection) Requested(name string) bool {
	for _, it := range p.include {
		if it.attr != nil && strings.EqualFold(it.attr.name, name) {
			return true
		}
	}
	return false
}

// Excluded reports whether the whole top-level attribute name (any case) is excluded, or left out by
// an attributes list: the gateway skips listMembers when "members" is.
func (p Projection) Excluded(name string) bool {
	for _, it := range p.exclude {
		if it.attr != nil && strings.EqualFold(it.attr.name, name) && it.sub == "" && it.filter.IsZero() {
			return true
		}
	}
	if len(p.include) == 0 {
		return false
	}
	for _, it := range p.include {
		if it.attr != nil && strings.EqualFold(it.attr.name, name) {
			return false
		}
	}
	return true
}

// IsZero reports whether the projection selects nothing: neither attributes nor excludedAttributes
// was given (or both named only attributes no schema defines).
func (p Projection) IsZero() bool { return len(p.include) == 0 && len(p.exclude) == 0 }

// Apply returns the projection of res (res is not modified). id, schemas and meta are always
// returned; attributes returned only on request ("groups") only when attributes names them; "never"
// attributes (password) never. With attributes, only the named attributes, sub-attributes and
// filtered values are kept; then excludedAttributes removes what it names.
func (p Projection) Apply(res Resource) Resource {
	def := resourceDefOf(res)
	out := Resource{}
	for k, v := range res {
		schema, a, ok := topLevel(def, k)
		if !ok {
			continue
		}
		if a != nil && (a.returned == "always" || a.name == "schemas") {
			out[k] = deepCopy(v)
			continue
		}
		if a != nil && a.returned == "never" {
			continue
		}
		if a == nil { // an extension object
			kept := map[string]any{}
			m, _ := v.(map[string]any)
			for sk, sv := range m {
				_, sa := def.lookup(schema, sk)
				if sa == nil {
					continue
				}
				if nv, ok := p.project(schema, sa, sv); ok {
					kept[sk] = nv
				}
			}
			if wholeIn(p.include, schema) {
				kept = deepCopy(m).(map[string]any)
				for sk := range kept {
					if _, sa := def.lookup(schema, sk); sa != nil && excludedWhole(p.exclude, schema, sa) {
						delete(kept, sk)
					}
				}
			}
			if wholeIn(p.exclude, schema) {
				kept = nil
			}
			if len(kept) > 0 {
				out[k] = kept
			}
			continue
		}
		if nv, ok := p.project("", a, v); ok {
			out[k] = nv
		}
	}
	return out
}

// topLevel classifies a top-level key of a resource: a core or common attribute (a set) or an
// extension object (a nil, schema set). ok is false for keys no schema knows.
func topLevel(def *resourceDef, k string) (string, *attrDef, bool) {
	if ext := def.extension(k); ext != nil {
		return ext.id, nil, true
	}
	if _, a := def.lookup("", k); a != nil {
		return "", a, true
	}
	return "", nil, false
}

func wholeIn(items []projItem, schema string) bool {
	for _, it := range items {
		if it.attr == nil && it.schema == schema {
			return true
		}
	}
	return false
}

func excludedWhole(items []projItem, schema string, a *attrDef) bool {
	for _, it := range items {
		if it.attr == a && it.schema == schema && it.sub == "" && it.filter.IsZero() {
			return true
		}
	}
	return false
}

// project returns the projection of one attribute's value, false when nothing of it is kept.
func (p Projection) project(schema string, a *attrDef, v any) (any, bool) {
	var inc, exc []projItem
	for _, it := range p.include {
		if it.attr == a && it.schema == schema {
			inc = append(inc, it)
		}
	}
	for _, it := range p.exclude {
		if it.attr == a && it.schema == schema {
			exc = append(exc, it)
		}
	}
	if len(p.include) > 0 || a.returned == "request" {
		if len(inc) == 0 {
			return nil, false
		}
		v = selectParts(a, v, inc)
	} else {
		v = deepCopy(v)
	}
	if len(exc) > 0 {
		v = removeParts(a, v, exc)
	}
	return v, present(v)
}

// selectParts keeps the parts of v the items name: all of it, some sub-attributes, or filtered values.
func selectParts(a *attrDef, v any, items []projItem) any {
	for _, it := range items {
		if it.sub == "" && it.filter.IsZero() {
			return deepCopy(v)
		}
	}
	pick := func(el map[string]any) map[string]any {
		out := map[string]any{}
		for _, it := range items {
			if !it.filter.IsZero() && !it.filter.eval(it.filter.root, el, scope{parent: a}) {
				continue
			}
			if it.sub == "" {
				return deepCopy(el).(map[string]any)
			}
			if k, sv, ok := lookupKey(el, it.sub); ok {
				out[k] = deepCopy(sv)
			}
		}
		return out
	}
	switch t := v.(type) {
	case []any:
		var out []any
		for _, e := range t {
			if m, ok := e.(map[string]any); ok {
				if pm := pick(m); len(pm) > 0 {
					out = append(out, pm)
				}
			}
		}
		return out
	case map[string]any:
		return pick(t)
	}
	return nil
}

// removeParts drops the parts of v the items name.
func removeParts(a *attrDef, v any, items []projItem) any {
	drop := func(el map[string]any) map[string]any {
		for _, it := range items {
			if !it.filter.IsZero() && !it.filter.eval(it.filter.root, el, scope{parent: a}) {
				continue
			}
			if it.sub == "" {
				return nil
			}
			if k, _, ok := lookupKey(el, it.sub); ok {
				delete(el, k)
			}
		}
		return el
	}
	switch t := v.(type) {
	case []any:
		var out []any
		for _, e := range t {
			m, ok := e.(map[string]any)
			if !ok {
				continue
			}
			if dm := drop(m); len(dm) > 0 {
				out = append(out, dm)
			}
		}
		return out
	case map[string]any:
		if dm := drop(t); len(dm) > 0 {
			return dm
		}
		return nil
	}
	for _, it := range items {
		if it.sub == "" && it.filter.IsZero() {
			return nil
		}
	}
	return v
}
