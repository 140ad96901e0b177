package translator

import "strings"

// Plan splits a User filter into what the portal's $filter can answer and what the gateway must
// evaluate itself. push holds one portal term per top-level `and` term that is an `eq` on a mapped
// filterable attribute (`userName eq X` becomes the two terms userName and domain, split as
// SplitLogin does; `emails[type eq "work" and value eq X]` and Entra's
// `emails[type eq "work"].value eq X` become contactEmail; `id eq X` becomes guidUser); every other
// term goes to residual. Because the portal compares strings case-insensitively, a pushed term on a
// caseExact attribute (id, externalId, a rule marked caseExact) is also kept in the residual, and so is
// the userName term (the portal cannot tell "alice" from "alice@<default domain>"). A filter with a
// top-level `or` or `not` pushes nothing. The residual is bound to the mapping's case rules; evaluate it
// with Matches on the resource FromPortalUser renders. An empty push means the portal cannot narrow
// the search.
func (m *Mapping) Plan(f Filter) (push []PortalFilter, residual Filter) {
	return m.plan(userDef, m.users, FieldGUIDUser, f)
}

// PlanGroup is Plan for Group filters (displayName, externalId and id become the portal's name,
// externalKey and guidGroup with the default mapping).
func (m *Mapping) PlanGroup(f Filter) (push []PortalFilter, residual Filter) {
	return m.plan(groupDef, m.groups, FieldGUIDGroup, f)
}

func (m *Mapping) plan(def *resourceDef, rules []*rule, idField string, f Filter) ([]PortalFilter, Filter) {
	var push []PortalFilter
	var rest []expr
	for _, t := range conjuncts(f.root) {
		terms, recheck := m.pushTerm(def, rules, idField, t)
		if len(terms) == 0 || recheck {
			rest = append(rest, t)
		}
		push = append(push, terms...)
	}
	residual := Filter{root: andAll(rest), caseExact: caseExactOverride(def, rules)}
	if residual.root == nil {
		residual.caseExact = nil
	}
	return push, residual
}

// conjuncts flattens the top-level `and` terms of e.
func conjuncts(e expr) []expr {
	if e == nil {
		return nil
	}
	if l, ok := e.(*logExpr); ok && l.and {
		return append(conjuncts(l.l), conjuncts(l.r)...)
	}
	return []expr{e}
}

// andAll joins terms with `and`; nil for none.
func andAll(terms []expr) expr {
	var out expr
	for _, t := range terms {
		if out == nil {
			out = t
		} else {
			out = &logExpr{and: true, l: out, r: t}
		}
	}
	return out
}

// pushTerm translates one top-level term to portal terms, and says whether the gateway must also
// check it. No terms means the portal cannot answer it.
func (m *Mapping) pushTerm(def *resourceDef, rules []*rule, idField string, t expr) ([]PortalFilter, bool) {
	switch e := t.(type) {
	case *cmpExpr:
		if e.op != "eq" || e.val.kind == litNull {
			return nil, false
		}
		urn, a := def.lookup(e.path.Schema, e.path.Attr)
		if a == nil {
			return nil, false
		}
		if a == attrID && e.path.Sub == "" {
			if e.val.kind != litString {
				return nil, false
			}
			return []PortalFilter{{Field: idField, Value: e.val.s}}, true
		}
		r := findRule(rules, urn, a, e.path.Sub)
		if r == nil || !r.cfg.Filterable || len(r.match) > 0 {
			return nil, false
		}
		return m.pushValue(r, e.val)
	case *valuePathExpr:
		urn, a := def.lookup(e.path.Schema, e.path.Attr)
		if a == nil || !a.multi {
			return nil, false
		}
		terms, ok := eqTerms(e.filter, a)
		if !ok {
			return nil, false
		}
		for _, r := range rules {
			if r.schema != urn || r.attr != a || !r.cfg.Filterable || len(terms) != len(r.match)+1 {
				continue
			}
			var value *eqTerm
			matched := 0
			for i, tm := range terms {
				switch {
				case hasTerm(r.match, tm):
					matched++
				case strings.EqualFold(tm.sub, r.sub.name) && value == nil:
					value = &terms[i]
				}
			}
			if matched == len(r.match) && value != nil {
				return m.pushValue(r, literal{kind: litString, s: value.value})
			}
		}
	}
	return nil, false
}

func hasTerm(terms []eqTerm, t eqTerm) bool {
	for _, x := range terms {
		if strings.EqualFold(x.sub, t.sub) && strings.EqualFold(x.value, t.value) {
			return true
		}
	}
	return false
}

// findRule returns the rule on the attribute a (of schema urn) and sub-attribute sub, or nil.
func findRule(rules []*rule, urn string, a *attrDef, sub string) *rule {
	for _, r := range rules {
		if r.schema != urn || r.attr != a {
			continue
		}
		switch {
		case r.sub == nil && sub == "",
			r.sub != nil && strings.EqualFold(r.sub.name, sub),
			r.sub != nil && sub == "" && r.sub.name == "value":
			return r
		}
	}
	return nil
}

// pushValue renders an eq value on the rule's portal field.
func (m *Mapping) pushValue(r *rule, v literal) ([]PortalFilter, bool) {
	if r.field == FieldEnabled {
		b, ok := literalBool(v)
		if !ok {
			return nil, false
		}
		return []PortalFilter{{Field: FieldEnabled, Value: b}}, false
	}
	s := v.s
	if v.kind != litString && !v.bare {
		return nil, false
	}
	if r.field == FieldUserName {
		user, domain := s, m.defaultDomain
		if i := strings.LastIndexByte(s, '@'); i >= 0 {
			user, domain = s[:i], s[i+1:]
		}
		return []PortalFilter{{Field: FieldUserName, Value: user}, {Field: FieldDomain, Value: domain}}, true
	}
	return []PortalFilter{{Field: r.field, Value: s}}, r.caseExact
}

// caseExactOverride returns the case rule of attributes a mapping marks caseExact, or nil.
func caseExactOverride(def *resourceDef, rules []*rule) func(AttrPath) (bool, bool) {
	var exact []*rule
	for _, r := range rules {
		if r.cfg.CaseExact {
			exact = append(exact, r)
		}
	}
	if len(exact) == 0 {
		return nil
	}
	return func(p AttrPath) (bool, bool) {
		urn, a := def.lookup(p.Schema, p.Attr)
		if a == nil {
			return false, false
		}
		if r := findRule(exact, urn, a, p.Sub); r != nil {
			return true, true
		}
		return false, false
	}
}
