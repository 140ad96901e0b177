package translator

import (
	"encoding/json"
	"math/big"
	"strings"
	"time"
)

// Matches reports whether res satisfies the filter (the zero Filter matches everything). It applies
// SCIM's case rules: attributes whose schema says caseExact (id, externalId, meta.location...) compare
// exactly, all other strings (userName, emails...) case-insensitively. A filter on a multi-valued
// attribute matches when any value does; on a complex attribute without a sub-attribute it compares the
// "value" sub-attribute. Attributes the schema does not know compare case-insensitively. The resource's
// type is taken from its "schemas" (Group when it lists the core Group schema, else User).
func (f Filter) Matches(res Resource) bool {
	if f.root == nil {
		return true
	}
	return f.eval(f.root, res, scope{res: resourceDefOf(res)})
}

// resourceDefOf returns the resource type of res from its schemas.
func resourceDefOf(res Resource) *resourceDef {
	if list, ok := res["schemas"].([]any); ok {
		for _, s := range list {
			if s, ok := s.(string); ok && strings.EqualFold(s, SchemaGroup) {
				return groupDef
			}
		}
	}
	return userDef
}

// scope says how a filter's attribute paths resolve: against a resource (res set), or against one
// element of a multi-valued attribute inside a value filter (parent set).
type scope struct {
	res    *resourceDef
	parent *attrDef
}

func (f Filter) eval(e expr, obj map[string]any, sc scope) bool {
	switch t := e.(type) {
	case *logExpr:
		if t.and {
			return f.eval(t.l, obj, sc) && f.eval(t.r, obj, sc)
		}
		return f.eval(t.l, obj, sc) || f.eval(t.r, obj, sc)
	case *notExpr:
		return !f.eval(t.x, obj, sc)
	case *presentExpr:
		vals, _ := f.values(obj, t.path, sc)
		for _, v := range vals {
			if present(v) {
				return true
			}
		}
		return false
	case *cmpExpr:
		vals, a := f.values(obj, t.path, sc)
		exact := a != nil && a.caseExact
		if sc.res != nil && f.caseExact != nil {
			if x, ok := f.caseExact(t.path); ok {
				exact = x
			}
		}
		if t.op == "ne" {
			for _, v := range vals {
				if compare(v, "eq", t.val, a, exact) {
					return false
				}
			}
			return t.val.kind != litNull || len(vals) > 0
		}
		if t.val.kind == litNull && t.op == "eq" {
			return len(vals) == 0
		}
		for _, v := range vals {
			if compare(v, t.op, t.val, a, exact) {
				return true
			}
		}
		return false
	case *valuePathExpr:
		raw, a := f.raw(obj, t.path, sc)
		if a == nil {
			a = &attrDef{typ: typeComplex}
		}
		inner := scope{parent: a}
		switch v := raw.(type) {
		case []any:
			for _, el := range v {
				if m, ok := el.(map[string]any); ok && f.eval(t.filter, m, inner) {
					return true
				}
			}
		case map[string]any:
			return f.eval(t.filter, v, inner)
		}
		return false
	}
	return false
}

// raw returns the value of the attribute named by p (ignoring p.Sub) and its definition (nil if the
// schema does not know it).
func (f Filter) raw(obj map[string]any, p AttrPath, sc scope) (any, *attrDef) {
	if sc.parent != nil {
		_, v, _ := lookupKey(obj, p.Attr)
		return v, sc.parent.subAttr(p.Attr)
	}
	schema, name := p.Schema, p.Attr
	urn, a := sc.res.lookup(schema, name)
	if a != nil {
		schema, name = urn, a.name
	}
	c := container(Resource(obj), schema, false)
	if c == nil {
		return nil, a
	}
	_, v, _ := lookupKey(c, name)
	return v, a
}

// values returns the simple values p names in obj, flattened over multi-valued attributes, and the
// definition of the attribute compared (the sub-attribute's, or "value"'s for a complex attribute).
func (f Filter) values(obj map[string]any, p AttrPath, sc scope) ([]any, *attrDef) {
	v, a := f.raw(obj, p, sc)
	sub := p.Sub
	if sub == "" && (a != nil && a.typ == typeComplex || isObjects(v)) {
		sub = "value"
	}
	if sub != "" && a != nil {
		a = a.subAttr(sub)
	} else if sub != "" {
		a = nil
	}
	var out []any
	add := func(x any) {
		if sub == "" {
			if x != nil {
				out = append(out, x)
			}
			return
		}
		if m, ok := x.(map[string]any); ok {
			if _, sv, ok := lookupKey(m, sub); ok && sv != nil {
				out = append(out, sv)
			}
		}
	}
	if list, ok := v.([]any); ok {
		for _, x := range list {
			add(x)
		}
	} else {
		add(v)
	}
	return out, a
}

// isObjects reports whether v is an object or a list of objects.
func isObjects(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		return true
	case []any:
		return len(t) > 0 && isObjects(t[0])
	}
	return false
}

// present reports whether v counts as present for `pr`: not null, not "", not an empty list or object.
func present(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	}
	return true
}

// compare applies op to an attribute value v and a literal. exact selects case-exact string matching.
func compare(v any, op string, lit literal, a *attrDef, exact bool) bool {
	if lit.kind == litNull {
		return false
	}
	switch x := v.(type) {
	case bool:
		b, ok := literalBool(lit)
		if !ok {
			return false
		}
		switch op {
		case "eq":
			return x == b
		case "ne":
			return x != b
		}
		return false
	case json.Number, float64, int, int64:
		if lit.kind != litNumber {
			return false
		}
		c, ok := compareNumbers(v, lit.s)
		if !ok {
			return false
		}
		return orderResult(op, c)
	case string:
		want := lit.s
		if lit.kind == litBool || lit.kind == litNumber {
			if !lit.bare {
				return false
			}
			want = lit.s // the raw text of an unquoted value
		}
		if a != nil && a.typ == typeDateTime {
			if c, ok := compareTimes(x, want); ok {
				return orderResult(op, c)
			}
		}
		if a != nil && a.typ == typeBoolean {
			return false
		}
		return compareStrings(x, op, want, exact)
	}
	return false
}

func literalBool(lit literal) (bool, bool) {
	switch lit.kind {
	case litBool:
		return lit.b, true
	case litString:
		return parseBool(lit.s)
	}
	return false, false
}

func compareStrings(x, op, want string, exact bool) bool {
	if !exact {
		x, want = strings.ToLower(x), strings.ToLower(want)
	}
	switch op {
	case "eq":
		return x == want
	case "ne":
		return x != want
	case "co":
		return strings.Contains(x, want)
	case "sw":
		return strings.HasPrefix(x, want)
	case "ew":
		return strings.HasSuffix(x, want)
	}
	return orderResult(op, strings.Compare(x, want))
}

// orderResult turns a three-way comparison into the result of op.
func orderResult(op string, c int) bool {
	switch op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}

func compareNumbers(v any, lit string) (int, bool) {
	var s string
	switch t := v.(type) {
	case json.Number:
		s = t.String()
	default:
		b, _ := json.Marshal(t)
		s = string(b)
	}
	x, ok1 := new(big.Float).SetString(s)
	y, ok2 := new(big.Float).SetString(lit)
	if !ok1 || !ok2 {
		return 0, false
	}
	return x.Cmp(y), true
}

func compareTimes(x, y string) (int, bool) {
	tx, err1 := time.Parse(time.RFC3339Nano, x)
	ty, err2 := time.Parse(time.RFC3339Nano, y)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return tx.Compare(ty), true
}
