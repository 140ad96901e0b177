package translator

import (
	"fmt"
	"sort"
	"strings"
)

// PatchOp is one operation of a SCIM PATCH request (RFC 7644 section 3.5.2). Op is add, replace or
// remove in any case; Path may be empty (then Value is an object of attribute paths to values);
// Value is the decoded JSON value (nil when absent or null).
type PatchOp struct {
	Op    string
	Path  string
	Value any
}

// MemberChanges is what a group PATCH (or PUT) does to the group's members, applied by the gateway
// through the portal's member calls in this order: when RemoveAll, remove every current member that
// is not in Add; then remove the members in Remove; then add the members in Add. Ids are SCIM ids
// (the users' guidUser). Add and Remove never share an id: of several operations on one member in a
// request the last wins.
type MemberChanges struct {
	RemoveAll bool
	Add       []string
	Remove    []string
}

// Empty reports whether the members do not change.
func (c MemberChanges) Empty() bool { return !c.RemoveAll && len(c.Add) == 0 && len(c.Remove) == 0 }

func (c *MemberChanges) add(id string) {
	c.Remove = without(c.Remove, id)
	if !contains(c.Add, id) {
		c.Add = append(c.Add, id)
	}
}

func (c *MemberChanges) remove(id string) {
	c.Add = without(c.Add, id)
	if !contains(c.Remove, id) {
		c.Remove = append(c.Remove, id)
	}
}

func (c *MemberChanges) removeAll() { *c = MemberChanges{RemoveAll: true} }

func without(list []string, id string) []string {
	out := list[:0:0]
	for _, s := range list {
		if s != id {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, id string) bool {
	for _, s := range list {
		if s == id {
			return true
		}
	}
	return false
}

// GroupPatch is the result of a group PATCH: the group resource with its attribute changes applied
// (members are not applied to it) and the member changes.
type GroupPatch struct {
	Resource Resource
	Members  MemberChanges
}

// ParsePatchRequest decodes a SCIM PATCH request body ({"schemas": [...], "Operations": [...]}, keys
// in any case). A body that is not a JSON object, has no Operations list or an operation that is not
// an object with a string "op" is an EInvalid *Error with scimType invalidSyntax; a path that is not a
// string is invalidPath.
func ParsePatchRequest(body []byte) ([]PatchOp, error) {
	v, err := decodeJSON(body)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, Invalidf(ScimInvalidSyntax, "the body must be a JSON object")
	}
	_, raw, _ := lookupKey(obj, "Operations")
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		return nil, Invalidf(ScimInvalidSyntax, "the body needs a non-empty \"Operations\" list")
	}
	ops := make([]PatchOp, 0, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, Invalidf(ScimInvalidSyntax, "operation %d is not an object", i+1)
		}
		_, opv, _ := lookupKey(m, "op")
		op, ok := opv.(string)
		if !ok {
			return nil, Invalidf(ScimInvalidSyntax, "operation %d has no \"op\" string", i+1)
		}
		_, pv, _ := lookupKey(m, "path")
		path, ok := pv.(string)
		if pv != nil && !ok {
			return nil, Invalidf(ScimInvalidPath, "operation %d: \"path\" must be a string", i+1)
		}
		_, val, _ := lookupKey(m, "value")
		ops = append(ops, PatchOp{Op: op, Path: path, Value: val})
	}
	return ops, nil
}

// ApplyPatch applies PATCH operations, in order, to a User and returns the new resource; res itself
// is never modified. It accepts every shape Entra sends (AZURE_AD.md): op names in any case; filtered
// paths (`emails[type eq "work"].value`) that update the matching element or create it from the
// filter's eq terms when none matches; "True"/"False" strings for booleans; path-less operations whose
// value object has plain, dotted or extension-qualified keys; "" or null clearing an attribute; the
// manager as a bare id or {"value": id}; `manager[value eq "id"]` removals. Unknown attributes and
// read-only ones (id, meta, groups) are ignored.
//
// All operations are checked before the result is returned and the result is all or nothing: a bad
// operation returns res unchanged with an EInvalid *Error whose message names the operation. Its
// scimType is invalidValue for an unknown op or a value of the wrong type, invalidPath for a path that
// does not parse or a filter where none can apply, noTarget for a remove without a path or a filtered
// path that matches nothing and cannot be created.
func ApplyPatch(res Resource, ops []PatchOp) (Resource, error) {
	out, _, err := applyPatch(userDef, res, ops)
	if err != nil {
		return res, err
	}
	return out, nil
}

// ApplyGroupPatch applies PATCH operations to a Group: attribute operations (displayName, rename by
// path or path-less) to the resource as ApplyPatch does, member operations to the returned
// MemberChanges: add with a list of members; replace of members (all members become the listed ones);
// remove with path "members" and a value list removes only the listed members (never all of them);
// `members[value eq "id"]` removes one; path "members" without a value removes all. A member without
// a string "value", or a members filter other than `value eq` terms joined by or, is invalidValue or
// invalidPath; the other errors are ApplyPatch's, and on error the result is empty and res unchanged.
func ApplyGroupPatch(res Resource, ops []PatchOp) (GroupPatch, error) {
	out, members, err := applyPatch(groupDef, res, ops)
	if err != nil {
		return GroupPatch{Resource: res}, err
	}
	return GroupPatch{Resource: out, Members: members}, nil
}

// patcher applies operations to a working copy.
type patcher struct {
	def     *resourceDef
	res     Resource
	members MemberChanges
}

func applyPatch(def *resourceDef, res Resource, ops []PatchOp) (Resource, MemberChanges, error) {
	work, err := normalize(def, res.Clone())
	if err != nil {
		return nil, MemberChanges{}, err
	}
	p := &patcher{def: def, res: work}
	for i, op := range ops {
		if err := p.apply(op); err != nil {
			e := *AsError(err)
			e.Message = fmt.Sprintf("operation %d (%s %s): %s", i+1, op.Op, op.Path, e.Message)
			return nil, MemberChanges{}, &e
		}
	}
	return p.res, p.members, nil
}

const (
	opAdd     = "add"
	opReplace = "replace"
	opRemove  = "remove"
)

func (p *patcher) apply(op PatchOp) error {
	name := strings.ToLower(op.Op)
	if name != opAdd && name != opReplace && name != opRemove {
		return Invalidf(ScimInvalidValue, "op %q is not add, replace or remove", op.Op)
	}
	if name == opAdd && op.Value == nil {
		// RFC 7644 section 3.5.2.1: an add "MUST contain a value member". Entra clears with remove,
		// or with replace and "" or null, never with an empty add.
		return Invalidf(ScimInvalidValue, "add needs a value (RFC 7644 section 3.5.2.1); to clear an attribute use remove")
	}
	if strings.TrimSpace(op.Path) != "" {
		path, err := ParsePath(op.Path)
		if err != nil {
			return err
		}
		return p.applyPath(name, path, op.Value, op.Value != nil)
	}
	if name == opRemove {
		return Invalidf(ScimNoTarget, "remove needs a path")
	}
	obj, ok := op.Value.(map[string]any)
	if !ok {
		return Invalidf(ScimInvalidValue, "an operation without a path needs an object value, not %s", jsonKind(op.Value))
	}
	if len(obj) == 0 {
		return Invalidf(ScimInvalidValue, "an operation without a path needs an object naming at least one attribute")
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic when two keys touch one attribute
	for _, k := range keys {
		v := obj[k]
		if ext := p.def.extension(k); ext != nil {
			sub, ok := v.(map[string]any)
			if !ok {
				return Invalidf(ScimInvalidValue, "%s must be an object", ext.id)
			}
			for sk, sv := range sub {
				path, err := ParsePath(ext.id + ":" + sk)
				if err != nil {
					return err
				}
				if err := p.applyPath(name, path, sv, true); err != nil {
					return err
				}
			}
			continue
		}
		if strings.EqualFold(k, "schemas") || p.def.isTolerated(k) {
			continue
		}
		path, err := ParsePath(k)
		if err != nil {
			return err
		}
		if err := p.applyPath(name, path, v, true); err != nil {
			return err
		}
	}
	return nil
}

// applyPath applies one operation at a parsed path. hasValue distinguishes a remove with a value.
func (p *patcher) applyPath(op string, path Path, value any, hasValue bool) error {
	if op == opAdd && value == nil {
		return Invalidf(ScimInvalidValue, "add needs a value for %s (RFC 7644 section 3.5.2.1); to clear it use remove", path.Attr.Attr)
	}
	// A path naming a whole extension: its value is an object of the extension's attributes.
	if ext := p.def.extension(path.Attr.Schema + ":" + path.Attr.Attr); ext != nil && path.Attr.Sub == "" && path.Filter.IsZero() {
		if op == opRemove {
			delete(p.res, ext.id)
			return nil
		}
		obj, ok := value.(map[string]any)
		if !ok {
			return Invalidf(ScimInvalidValue, "%s must be an object", ext.id)
		}
		for k, v := range obj {
			sp, err := ParsePath(ext.id + ":" + k)
			if err != nil {
				return err
			}
			if err := p.applyPath(op, sp, v, true); err != nil {
				return err
			}
		}
		return nil
	}
	urn, a := p.def.lookup(path.Attr.Schema, path.Attr.Attr)
	if a == nil || a.readOnly() || a.name == "schemas" {
		return nil // unknown and read-only attributes are ignored
	}
	if p.def == groupDef && a.name == "members" {
		return p.applyMembers(op, path, value, hasValue)
	}
	subName := path.Attr.Sub
	if path.Sub != "" {
		subName = path.Sub
	}
	var sub *attrDef
	if subName != "" {
		if sub = a.subAttr(subName); sub == nil || sub.readOnly() {
			return nil // an unknown or read-only sub-attribute
		}
	}
	if !path.Filter.IsZero() && a.typ != typeComplex {
		return Invalidf(ScimInvalidPath, "%s is not complex or multi-valued: it takes no filter", a.name)
	}
	name := qualified(urn, a.name)
	c := container(p.res, urn, op != opRemove)
	if c == nil {
		return nil // removing from an absent extension
	}
	defer cleanup(p.res, urn)
	switch {
	case a.multi:
		return p.applyMulti(op, c, a, name, path.Filter, sub, value, hasValue)
	case a.typ == typeComplex:
		if !path.Filter.IsZero() {
			cur, _ := c[a.name].(map[string]any)
			if cur == nil || !(Filter{root: path.Filter.root}).eval(path.Filter.root, cur, scope{parent: a}) {
				if op == opRemove {
					return nil
				}
				return Invalidf(ScimNoTarget, "%s does not match the filter", name)
			}
		}
		return applyComplex(op, c, a, name, sub, value)
	default:
		if op == opRemove {
			delete(c, a.name)
			return nil
		}
		v, ok, err := normalizeValue(a, value, name)
		if err != nil {
			return err
		}
		if !ok {
			delete(c, a.name)
			return nil
		}
		c[a.name] = v
		return nil
	}
}

// applyComplex applies an operation to a singular complex attribute (name, manager), or to one of
// its sub-attributes when sub is set. Add and replace merge sub-attributes (RFC 7644 3.5.2.1/3);
// a sub-attribute set to "" or null is removed; a bare string is the "value" sub-attribute.
func applyComplex(op string, c map[string]any, a *attrDef, name string, sub *attrDef, value any) error {
	cur, _ := c[a.name].(map[string]any)
	if op == opRemove {
		if sub == nil {
			delete(c, a.name)
		} else if cur != nil {
			delete(cur, sub.name)
		}
		return nil
	}
	if cur == nil {
		cur = map[string]any{}
		c[a.name] = cur
	}
	if sub != nil {
		return setSub(cur, sub, name+"."+sub.name, value)
	}
	switch t := value.(type) {
	case nil:
		delete(c, a.name)
	case string:
		if a.subAttr("value") == nil {
			return Invalidf(ScimInvalidValue, "%s must be an object, not a string", name)
		}
		if t == "" {
			delete(c, a.name)
			return nil
		}
		// A bare id names a new referent: its old $ref and display name go with the old value.
		c[a.name] = map[string]any{"value": t}
	case map[string]any:
		for k, v := range t {
			s := a.subAttr(k)
			if s == nil || s.readOnly() {
				continue
			}
			if err := setSub(cur, s, name+"."+s.name, v); err != nil {
				return err
			}
		}
	default:
		return Invalidf(ScimInvalidValue, "%s must be an object, not %s", name, jsonKind(value))
	}
	return nil
}

// setSub sets (or, for "" and null, removes) one sub-attribute of an object.
func setSub(obj map[string]any, s *attrDef, name string, value any) error {
	v, ok, err := normalizeSingle(s, value, name)
	if err != nil {
		return err
	}
	if k, _, found := lookupKey(obj, s.name); found {
		delete(obj, k)
	}
	if ok {
		obj[s.name] = v
	}
	return nil
}

// applyMulti applies an operation to a multi-valued attribute, optionally filtered and optionally to
// one sub-attribute of the selected elements.
func (p *patcher) applyMulti(op string, c map[string]any, a *attrDef, name string, filter Filter, sub *attrDef, value any, hasValue bool) error {
	list, _ := c[a.name].([]any)
	selected := func(el any) bool {
		if filter.IsZero() {
			return true
		}
		m, ok := el.(map[string]any)
		return ok && filter.eval(filter.root, m, scope{parent: a})
	}
	store := func(l []any) {
		l = dropValueless(l, a)
		if len(l) == 0 {
			delete(c, a.name)
		} else {
			c[a.name] = l
		}
	}
	if op == opRemove {
		var keep []any
		for _, el := range list {
			switch {
			case !selected(el):
				keep = append(keep, el)
			case sub != nil:
				if m, ok := el.(map[string]any); ok {
					delete(m, sub.name)
				}
				keep = append(keep, el)
			case filter.IsZero() && hasValue:
				// remove with a value list: only the listed values go.
				if !listedIn(el, value, a) {
					keep = append(keep, el)
				}
			}
		}
		store(keep)
		return nil
	}

	if filter.IsZero() && sub == nil {
		v, ok, err := normalizeValue(a, value, name)
		if err != nil {
			return err
		}
		if !ok {
			if op == opReplace || value == nil || value == "" {
				delete(c, a.name)
			}
			return nil
		}
		if op == opReplace {
			store(v.([]any))
			return nil
		}
		for _, nv := range v.([]any) {
			list = addElement(list, nv.(map[string]any))
		}
		store(list)
		return nil
	}

	// A filtered path, or a sub-attribute of every element: update the selected elements, or create one.
	matched := false
	for _, el := range list {
		m, ok := el.(map[string]any)
		if !ok || !selected(el) {
			continue
		}
		matched = true
		if err := updateElement(op, m, a, name, sub, value); err != nil {
			return err
		}
	}
	if !matched {
		el := map[string]any{}
		if !filter.IsZero() {
			terms, ok := eqTerms(filter.root, a)
			if !ok {
				return Invalidf(ScimNoTarget, "no value of %s matches the filter, and it names no value to create", name)
			}
			for _, t := range terms {
				el[t.sub] = t.value
			}
		}
		if err := updateElement(op, el, a, name, sub, value); err != nil {
			return err
		}
		list = append(list, el)
	}
	store(list)
	return nil
}

// updateElement sets one sub-attribute of an element, or merges an object into it.
func updateElement(op string, el map[string]any, a *attrDef, name string, sub *attrDef, value any) error {
	if sub != nil {
		return setSub(el, sub, name+"."+sub.name, value)
	}
	switch t := value.(type) {
	case nil:
		clear(el)
	case string:
		if t == "" {
			clear(el)
			return nil
		}
		return setSub(el, a.subAttr("value"), name+".value", t)
	case map[string]any:
		for k, v := range t {
			if s := a.subAttr(k); s != nil && !s.readOnly() {
				if err := setSub(el, s, name+"."+s.name, v); err != nil {
					return err
				}
			}
		}
	default:
		return Invalidf(ScimInvalidValue, "%s must be an object, not %s", name, jsonKind(value))
	}
	return nil
}

// addElement adds el to a multi-valued attribute keeping one entry per type: an element with the
// type of an existing one replaces it; an element equal to an existing one is not added twice.
func addElement(list []any, el map[string]any) []any {
	typ, _ := el["type"].(string)
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if t, _ := m["type"].(string); typ != "" && strings.EqualFold(t, typ) {
			list[i] = el
			return list
		}
		if v, ok := el["value"]; ok && typ == "" && m["value"] == v {
			return list
		}
	}
	return append(list, el)
}

// dropValueless removes elements left empty, or without "value" when the attribute has one.
func dropValueless(list []any, a *attrDef) []any {
	hasValue := a.subAttr("value") != nil
	out := list[:0:0]
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if len(m) == 0 {
			continue
		}
		if _, ok := m["value"]; hasValue && !ok {
			continue
		}
		out = append(out, e)
	}
	return out
}

// listedIn reports whether el's "value" is among the values of a remove operation's value list.
func listedIn(el, value any, a *attrDef) bool {
	m, ok := el.(map[string]any)
	if !ok {
		return false
	}
	v, ok := m["value"]
	if !ok {
		return false
	}
	list, isList := value.([]any)
	if !isList {
		list = []any{value}
	}
	for _, x := range list {
		if xm, ok := x.(map[string]any); ok {
			_, x, _ = lookupKey(xm, "value")
		}
		if x == v {
			return true
		}
	}
	return false
}

// cleanup removes an extension object left empty, and complex attributes left empty in it or in res.
func cleanup(res Resource, urn string) {
	c := container(res, urn, false)
	if c == nil {
		return
	}
	for k, v := range c {
		if m, ok := v.(map[string]any); ok && len(m) == 0 {
			delete(c, k)
		}
	}
	if urn != "" && len(c) == 0 {
		delete(res, urn)
	}
}

// applyMembers applies a member operation of a group PATCH to the member changes.
func (p *patcher) applyMembers(op string, path Path, value any, hasValue bool) error {
	if path.Attr.Sub != "" || path.Sub != "" {
		return Invalidf(ScimInvalidPath, "members takes no sub-attribute path")
	}
	if !path.Filter.IsZero() {
		if op != opRemove {
			return Invalidf(ScimInvalidPath, "a filtered members path is only for remove")
		}
		ids, ok := memberFilterIDs(path.Filter.root)
		if !ok {
			return Invalidf(ScimInvalidPath, "members can be filtered only by value eq \"id\" (joined by or)")
		}
		for _, id := range ids {
			p.members.remove(id)
		}
		return nil
	}
	ids, err := memberIDs(value)
	if err != nil {
		return err
	}
	switch op {
	case opAdd:
		for _, id := range ids {
			p.members.add(id)
		}
	case opReplace:
		p.members.removeAll()
		for _, id := range ids {
			p.members.add(id)
		}
	case opRemove:
		if !hasValue {
			p.members.removeAll()
			return nil
		}
		for _, id := range ids {
			p.members.remove(id)
		}
	}
	return nil
}

// memberFilterIDs returns the ids of a `value eq "id" [or value eq "id2"...]` members filter.
func memberFilterIDs(e expr) ([]string, bool) {
	switch t := e.(type) {
	case *logExpr:
		if t.and {
			return nil, false
		}
		l, ok1 := memberFilterIDs(t.l)
		r, ok2 := memberFilterIDs(t.r)
		return append(l, r...), ok1 && ok2
	case *cmpExpr:
		if t.op != "eq" || !strings.EqualFold(t.path.Attr, "value") || t.path.Sub != "" || t.path.Schema != "" || t.val.kind == litNull || t.val.s == "" {
			return nil, false
		}
		return []string{t.val.s}, true
	}
	return nil, false
}
