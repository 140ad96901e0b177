package translator

// Schemas returns the RFC 7643 section 7 schema documents for /Schemas: the core User schema, the
// enterprise extension when a rule maps one of its attributes, and the core Group schema. Only mapped
// attributes are listed, each with only its mapped sub-attributes (plus the sub-attributes a rule's
// filter selects on, such as emails.type; all of them for an attribute a rule keeps whole), and with its type, multiValued, required, caseExact,
// mutability, returned and uniqueness. The gateway's own attributes are listed too: the User's
// read-only "groups" (returned on request) and the Group's "members". Each document's meta.location is
// relative ("/Schemas/<id>"): the gateway prefixes its base URL.
func (m *Mapping) Schemas() []map[string]any {
	var out []map[string]any
	user := m.schemaDocs(userDef, m.users, []string{"groups"})
	out = append(out, user...)
	out = append(out, m.schemaDocs(groupDef, m.groups, []string{"members"})...)
	return out
}

// schemaDocs renders the schemas of one resource type; always lists gateway-handled attributes.
func (m *Mapping) schemaDocs(def *resourceDef, rules []*rule, always []string) []map[string]any {
	schemas := append([]*schemaDef{def.core}, def.extensions...)
	var out []map[string]any
	for _, s := range schemas {
		urn := ""
		if s != def.core {
			urn = s.id
		}
		var attrs []any
		candidates := s.attrs
		if urn == "" {
			candidates = append([]*attrDef{attrExternalID}, s.attrs...)
		}
		for _, a := range candidates {
			var mapped []*rule
			for _, r := range rules {
				if r.schema == urn && r.attr == a {
					mapped = append(mapped, r)
				}
			}
			isAlways := urn == "" && containsName(always, a.name)
			if len(mapped) == 0 && !isAlways {
				continue
			}
			attrs = append(attrs, attrDoc(a, mapped, isAlways))
		}
		if len(attrs) == 0 && s != def.core {
			continue
		}
		out = append(out, map[string]any{
			"schemas":     []any{SchemaSchema},
			"id":          s.id,
			"name":        s.name,
			"description": s.description,
			"attributes":  attrs,
			"meta":        map[string]any{"resourceType": "Schema", "location": "/Schemas/" + s.id},
		})
	}
	return out
}

func containsName(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// attrDoc renders one attribute. With mapped rules, only the sub-attributes they use are listed;
// all sub-attributes when a rule keeps the attribute whole, or for a gateway-handled attribute.
func attrDoc(a *attrDef, rules []*rule, all bool) map[string]any {
	doc := attrDefDoc(a, false)
	for _, r := range rules {
		all = all || r.whole
	}
	for _, r := range rules {
		if r.leaf == a && r.caseExact {
			doc["caseExact"] = true
		}
	}
	if a.typ != typeComplex {
		return doc
	}
	var subs []any
	for _, s := range a.sub {
		used, exact := all, false
		for _, r := range rules {
			if r.sub == s {
				used = true
				exact = exact || r.caseExact
			}
			for _, t := range r.match {
				if t.sub == s.name {
					used = true
				}
			}
		}
		if used {
			subs = append(subs, attrDefDoc(s, exact))
		}
	}
	doc["subAttributes"] = subs
	return doc
}

func attrDefDoc(a *attrDef, caseExact bool) map[string]any {
	doc := map[string]any{
		"name":        a.name,
		"type":        a.typ,
		"multiValued": a.multi,
		"description": a.description,
		"required":    a.required,
		"caseExact":   a.caseExact || caseExact,
		"mutability":  orDefault(a.mutability, "readWrite"),
		"returned":    orDefault(a.returned, "default"),
		"uniqueness":  orDefault(a.uniqueness, "none"),
	}
	if len(a.canonical) > 0 {
		vals := make([]any, len(a.canonical))
		for i, v := range a.canonical {
			vals[i] = v
		}
		doc["canonicalValues"] = vals
	}
	if len(a.refTypes) > 0 {
		vals := make([]any, len(a.refTypes))
		for i, v := range a.refTypes {
			vals[i] = v
		}
		doc["referenceTypes"] = vals
	}
	return doc
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
