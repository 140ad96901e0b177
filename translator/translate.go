package translator

import (
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"strings"
)

// FieldChange explains one step of a translation: which SCIM attribute became which portal field,
// with the value before (nil on a create, or when unset) and after (nil when cleared). Redact is the
// rule's policy for showing the values in the translation log (RedactKeep, RedactMask, RedactHash,
// RedactDrop; "" when the rule sets none).
// The login produces three changes from "userName": the portal userName, domain and login-form property.
type FieldChange struct {
	SCIM   string
	Portal string
	Old    any
	New    any
	Redact string
}

// UserDiff is what a SCIM update (PATCH or PUT) changes in a portal user: the portal PATCH body
// (only the fields that change, properties key by key), the new enabled state when `active` changes
// (nil when it does not), and the explanation.
type UserDiff struct {
	Patch   Patch
	Active  *bool
	Changes []FieldChange
}

// Empty reports whether nothing changes, so no portal call is needed.
func (d UserDiff) Empty() bool { return d.Patch.Empty() && d.Active == nil }

// GroupDiff is what a SCIM group update changes: the portal group PATCH body, the member changes
// (nil when the desired resource does not name its members), and the explanation.
type GroupDiff struct {
	Patch   Patch
	Members *MemberChanges
	Changes []FieldChange
}

// Empty reports whether nothing changes.
func (d GroupDiff) Empty() bool { return d.Patch.Empty() && (d.Members == nil || d.Members.Empty()) }

// get returns the rule's value in res: false when absent (null or "").
func (r *rule) get(res Resource) (any, bool) {
	c := container(res, r.schema, false)
	if c == nil {
		return nil, false
	}
	_, v, _ := lookupKey(c, r.attr.name)
	switch {
	case r.whole:
		list, _ := v.([]any)
		return list, len(list) > 0
	case r.attr.multi:
		list, _ := v.([]any)
		el := r.find(list)
		if el == nil {
			return nil, false
		}
		_, v, _ = lookupKey(el, r.sub.name)
	case r.sub != nil:
		m, _ := v.(map[string]any)
		if m == nil {
			return nil, false
		}
		_, v, _ = lookupKey(m, r.sub.name)
	}
	return v, v != nil && v != ""
}

// find returns the first element of list the rule's eq terms select, or nil.
func (r *rule) find(list []any) map[string]any {
	for _, e := range list {
		if m, ok := e.(map[string]any); ok && r.selects(m) {
			return m
		}
	}
	return nil
}

func (r *rule) selects(el map[string]any) bool {
	for _, t := range r.match {
		_, v, _ := lookupKey(el, t.sub)
		if s, ok := v.(string); !ok || !strings.EqualFold(s, t.value) {
			return false
		}
	}
	return true
}

// set writes the rule's value into res, creating the extension object, the complex attribute or the
// selected element of a multi-valued attribute as needed.
func (r *rule) set(res Resource, v any) {
	c := container(res, r.schema, true)
	switch {
	case r.whole:
		c[r.attr.name] = v
	case r.attr.multi:
		list, _ := c[r.attr.name].([]any)
		el := r.find(list)
		if el == nil {
			el = map[string]any{}
			for _, t := range r.match {
				el[t.sub] = t.value
			}
			list = append(list, el)
			c[r.attr.name] = list
		}
		el[r.sub.name] = v
	case r.sub != nil:
		m, _ := c[r.attr.name].(map[string]any)
		if m == nil {
			m = map[string]any{}
			c[r.attr.name] = m
		}
		m[r.sub.name] = v
	default:
		c[r.attr.name] = v
	}
}

// unset removes the rule's value from res: the sub-attribute of the element the rule selects (the
// portal field that holds it was cleared), leaving the other elements of a whole attribute alone.
func (r *rule) unset(res Resource) {
	c := container(res, r.schema, false)
	if c == nil || r.sub == nil {
		return
	}
	_, v, _ := lookupKey(c, r.attr.name)
	if !r.attr.multi {
		if m, ok := v.(map[string]any); ok {
			delete(m, r.sub.name)
		}
		return
	}
	list, _ := v.([]any)
	if el := r.find(list); el != nil {
		delete(el, r.sub.name)
	}
}

// wholeValue is the JSON a whole rule stores for res: the attribute as sent, or false when it is
// absent or holds nothing beyond what the element rules on the same attribute keep in their own
// fields and properties (then nothing is stored: the common Entra user, one work email, costs no
// extra property).
func (m *Mapping) wholeValue(w *rule, res Resource) (string, bool) {
	v, _ := w.get(res)
	list := dropValueless(v.([]any), w.attr) // as FromPortalUser would give it back
	if len(list) == 0 {
		return "", false
	}
	probe := Resource{}
	for _, r := range m.users {
		if r.whole || r.attr != w.attr || r.schema != w.schema {
			continue
		}
		if ev, ok := r.get(res); ok {
			r.set(probe, ev)
		}
	}
	if got, _ := w.get(probe); reflect.DeepEqual(got, list) {
		return "", false
	}
	b, err := json.Marshal(list)
	if err != nil { // a normalised resource always encodes
		return "", false
	}
	return string(b), true
}

// wholeFromProperty decodes what a whole rule stored; false when unset or unreadable (a property
// edited by hand into something else is ignored: the element rules' fields still give their values).
func wholeFromProperty(r *rule, v any) ([]any, bool) {
	s, ok := v.(string)
	if !ok || s == "" {
		return nil, false
	}
	raw, err := decodeJSON([]byte(s))
	if err != nil {
		return nil, false
	}
	nv, ok, err := normalizeValue(r.attr, raw, r.scim)
	if err != nil || !ok {
		return nil, false
	}
	return nv.([]any), true
}

// userValues is a user resource translated to portal values.
type userValues struct {
	login   Login
	fields  map[string]string // string fields present (userName and domain not included)
	enabled *bool
	props   map[string]any // mapped properties present (the login-form property not included)
}

// userValues translates a normalised user.
func (m *Mapping) userValues(res Resource) (userValues, error) {
	out := userValues{fields: map[string]string{}, props: map[string]any{}}
	for _, r := range m.users {
		v, ok := r.get(res)
		switch {
		case r.field == FieldUserName:
			if !ok {
				e := Invalidf(ScimInvalidValue, "%s is required", r.scim)
				e.Target = r.scim
				return userValues{}, e
			}
			l, err := SplitLogin(v.(string), m.defaultDomain)
			if err != nil {
				AsError(err).Target = r.scim
				return userValues{}, err
			}
			out.login = l
		case !ok:
		case r.field == FieldEnabled:
			b := v.(bool)
			out.enabled = &b
		case r.field != "":
			out.fields[r.field] = v.(string)
		case r.whole:
			if s, ok := m.wholeValue(r, res); ok {
				out.props[r.property] = s
			}
		default:
			out.props[r.property] = v
		}
	}
	return out, nil
}

// ToPortalUser translates a SCIM User (from ParseUser, or any JSON object: it is normalised first)
// into the portal's create body, with the explanation of every field set. Unmapped attributes, null
// values, id and meta are ignored. A missing userName, a userName the portal cannot store (see
// SplitLogin) or a mapped attribute of the wrong type is an EInvalid *Error with scimType
// invalidValue whose Target is the SCIM attribute.
func (m *Mapping) ToPortalUser(res Resource) (NewPortalUser, []FieldChange, error) {
	n, err := normalize(userDef, res)
	if err != nil {
		return NewPortalUser{}, nil, err
	}
	v, err := m.userValues(n)
	if err != nil {
		return NewPortalUser{}, nil, err
	}
	u := NewPortalUser{
		UserName:         v.login.UserName,
		Domain:           v.login.Domain,
		FullName:         v.fields[FieldFullName],
		FirstName:        v.fields[FieldFirstName],
		LastName:         v.fields[FieldLastName],
		ContactEmail:     v.fields[FieldContactEmail],
		ContactCellPhone: v.fields[FieldContactCellPhone],
		ExternalKey:      v.fields[FieldExternalKey],
		Enabled:          v.enabled,
		Properties:       map[string]any{m.formKey: v.login.Form},
	}
	for k, p := range v.props {
		u.Properties[k] = p
	}
	var changes []FieldChange
	for _, r := range m.users {
		switch {
		case r.field == FieldUserName:
			changes = append(changes, m.loginChanges(r, Login{}, v.login)...)
		case r.field == FieldEnabled:
			if v.enabled != nil {
				changes = append(changes, r.change(nil, *v.enabled))
			}
		case r.field != "":
			if s, ok := v.fields[r.field]; ok {
				changes = append(changes, r.change(nil, s))
			}
		default:
			if p, ok := v.props[r.property]; ok {
				changes = append(changes, r.change(nil, p))
			}
		}
	}
	return u, changes, nil
}

func (r *rule) change(old, new any) FieldChange {
	return FieldChange{SCIM: r.scim, Portal: r.portal, Old: old, New: new, Redact: r.redact}
}

// loginChanges explains a login change from old to new; only the parts that differ (all of them
// when old is the zero Login).
func (m *Mapping) loginChanges(r *rule, old, new Login) []FieldChange {
	var out []FieldChange
	part := func(portal, o, n string) {
		if o == n {
			return
		}
		var ov any
		if o != "" {
			ov = o
		}
		out = append(out, FieldChange{SCIM: r.scim, Portal: portal, Old: ov, New: n, Redact: r.redact})
	}
	part(FieldUserName, old.UserName, new.UserName)
	part(FieldDomain, old.Domain, new.Domain)
	part(FieldProperties+"."+m.formKey, old.Form, new.Form)
	return out
}

// FromPortalUser renders a portal user as a SCIM User: id is guidUser, every mapped field and
// property comes back under its SCIM attribute exactly as it was stored (userName in the form it was
// sent), the enterprise schema is listed when an enterprise attribute is present, and meta carries
// the portal's timestamps and the given location and version. A whole attribute comes back as stored,
// with the element each element rule selects taking that rule's value from its field or property
// (which wins: a contact email changed in the portal by hand is the work email's value; a cleared one
// removes it).
func (m *Mapping) FromPortalUser(u PortalUser, meta Meta) Resource {
	res := Resource{"id": u.GUIDUser}
	whole := map[*attrDef]bool{}
	for _, r := range m.users {
		if !r.whole {
			continue
		}
		if list, ok := wholeFromProperty(r, u.Properties[r.property]); ok {
			r.set(res, list)
			whole[r.attr] = true
		}
	}
	for _, r := range m.users {
		switch {
		case r.whole:
		case r.field == FieldUserName:
			r.set(res, SCIMUserName(u.UserName, u.Domain, stringOf(u.Properties[m.formKey]), m.defaultDomain))
		case r.field == FieldEnabled:
			r.set(res, u.Enabled)
		case r.field != "":
			if s := portalUserField(&u, r.field); s != "" {
				r.set(res, s)
			} else if whole[r.attr] {
				r.unset(res)
			}
		default:
			if v, ok := fromProperty(r, u.Properties[r.property]); ok {
				r.set(res, v)
			} else if whole[r.attr] {
				r.unset(res)
			}
		}
	}
	for _, r := range m.users {
		if r.whole && whole[r.attr] {
			c := container(res, r.schema, false)
			list, _ := c[r.attr.name].([]any)
			if list = dropValueless(list, r.attr); len(list) > 0 {
				c[r.attr.name] = list
			} else {
				delete(c, r.attr.name)
			}
		}
	}
	schemas := []any{SchemaUser}
	if container(res, SchemaEnterpriseUser, false) != nil {
		schemas = append(schemas, SchemaEnterpriseUser)
	}
	res["schemas"] = schemas
	res["meta"] = metaObject(userDef.name, u.CreatedOn, u.ModifiedOn, meta)
	return res
}

// fromProperty converts a stored property value to the rule's SCIM type; false when unset.
func fromProperty(r *rule, v any) (any, bool) {
	switch t := v.(type) {
	case nil:
		return nil, false
	case string:
		if t == "" {
			return nil, false
		}
		if r.leaf.typ == typeBoolean {
			if b, ok := parseBool(t); ok {
				return b, true
			}
		}
		return t, true
	case bool:
		if r.leaf.typ == typeBoolean {
			return t, true
		}
		return fmt.Sprint(t), true
	default: // a number
		if r.leaf.typ == typeInteger || r.leaf.typ == typeDecimal {
			return t, true
		}
		b, _ := json.Marshal(t)
		return string(b), true
	}
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}

// portalUserField returns a string field of a portal user.
func portalUserField(u *PortalUser, field string) string {
	switch field {
	case FieldUserName:
		return u.UserName
	case FieldDomain:
		return u.Domain
	case FieldFullName:
		return u.FullName
	case FieldFirstName:
		return u.FirstName
	case FieldLastName:
		return u.LastName
	case FieldContactEmail:
		return u.ContactEmail
	case FieldContactCellPhone:
		return u.ContactCellPhone
	case FieldExternalKey:
		return u.ExternalKey
	}
	return ""
}

// Diff computes what must change in the portal user current so that it holds the desired SCIM
// resource (the result of ApplyPatch on the current resource, or a PUT body): only the fields that
// differ, properties key by key (a mapped property the resource no longer has is removed; properties
// no rule maps are never touched), the login only when userName changes, and Active only when
// `active` is present and differs. Values compare exactly (a change of case is a change). Errors are
// those of ToPortalUser.
func (m *Mapping) Diff(current PortalUser, desired Resource) (UserDiff, error) {
	n, err := normalize(userDef, desired)
	if err != nil {
		return UserDiff{}, err
	}
	v, err := m.userValues(n)
	if err != nil {
		return UserDiff{}, err
	}
	d := UserDiff{Patch: Patch{Fields: map[string]*string{}, Properties: map[string]any{}}}
	setField := func(field, want string, present bool) {
		cur := portalUserField(&current, field)
		switch {
		case !present && cur != "":
			d.Patch.Fields[field] = nil
		case present && want != cur:
			d.Patch.Fields[field] = &want
		}
	}
	for _, r := range m.users {
		switch {
		case r.field == FieldUserName:
			old := Login{UserName: current.UserName, Domain: current.Domain,
				Form: effectiveForm(current.Properties[m.formKey], current.Domain, m.defaultDomain)}
			setField(FieldUserName, v.login.UserName, true)
			setField(FieldDomain, v.login.Domain, true)
			if old.Form != v.login.Form {
				d.Patch.Properties[m.formKey] = v.login.Form
			}
			d.Changes = append(d.Changes, m.loginChanges(r, old, v.login)...)
		case r.field == FieldEnabled:
			if v.enabled != nil && *v.enabled != current.Enabled {
				d.Active = v.enabled
				d.Changes = append(d.Changes, r.change(current.Enabled, *v.enabled))
			}
		case r.field != "":
			want, ok := v.fields[r.field]
			before := len(d.Patch.Fields)
			setField(r.field, want, ok)
			if len(d.Patch.Fields) != before {
				d.Changes = append(d.Changes, r.change(nilIfEmpty(portalUserField(&current, r.field)), nilIfEmpty(want)))
			}
		default:
			cur, has := current.Properties[r.property]
			has = has && cur != nil && cur != ""
			want, ok := v.props[r.property]
			switch {
			case !ok && has:
				d.Patch.Properties[r.property] = nil
				d.Changes = append(d.Changes, r.change(cur, nil))
			case ok && (!has || !sameValue(cur, want)):
				d.Patch.Properties[r.property] = want
				d.Changes = append(d.Changes, r.change(nilIfAbsent(cur, has), want))
			}
		}
	}
	if len(d.Patch.Fields) == 0 {
		d.Patch.Fields = nil
	}
	if len(d.Patch.Properties) == 0 {
		d.Patch.Properties = nil
	}
	return d, nil
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nilIfAbsent(v any, has bool) any {
	if !has {
		return nil
	}
	return v
}

// sameValue compares a stored property value with a SCIM value: strings and booleans exactly,
// numbers by value (the portal may return 7 as 7.0).
func sameValue(a, b any) bool {
	if a == b {
		return true
	}
	fa, ok1 := numberText(a)
	fb, ok2 := numberText(b)
	if ok1 && ok2 {
		x, ok1 := new(big.Float).SetString(fa)
		y, ok2 := new(big.Float).SetString(fb)
		return ok1 && ok2 && x.Cmp(y) == 0
	}
	return false
}

func numberText(v any) (string, bool) {
	switch t := v.(type) {
	case json.Number:
		return t.String(), true
	case float64, int, int64:
		b, _ := json.Marshal(t)
		return string(b), true
	}
	return "", false
}

// groupValues translates a normalised group into its portal fields.
func (m *Mapping) groupValues(res Resource) (map[string]string, error) {
	out := map[string]string{}
	for _, r := range m.groups {
		v, ok := r.get(res)
		if !ok {
			if r.field == FieldName {
				e := Invalidf(ScimInvalidValue, "%s is required", r.scim)
				e.Target = r.scim
				return nil, e
			}
			continue
		}
		out[r.field] = v.(string)
	}
	return out, nil
}

// ToPortalGroup translates a SCIM Group into the portal's group create body, with the explanation.
// Members are not part of it: MemberIDs lists them, and the gateway adds them through the portal's
// member calls. A missing displayName (or whatever maps to the portal name) or a mapped attribute of
// the wrong type is an EInvalid *Error with scimType invalidValue.
func (m *Mapping) ToPortalGroup(res Resource) (NewPortalGroup, []FieldChange, error) {
	n, err := normalize(groupDef, res)
	if err != nil {
		return NewPortalGroup{}, nil, err
	}
	f, err := m.groupValues(n)
	if err != nil {
		return NewPortalGroup{}, nil, err
	}
	var changes []FieldChange
	for _, r := range m.groups {
		if s, ok := f[r.field]; ok {
			changes = append(changes, r.change(nil, s))
		}
	}
	return NewPortalGroup{Name: f[FieldName], ExternalKey: f[FieldExternalKey], Description: f[FieldDescription]}, changes, nil
}

// MemberIDs returns the SCIM ids ("value") of a group resource's members, in order, without
// duplicates. A member whose value is not a non-empty string is an EInvalid *Error (invalidValue).
func MemberIDs(res Resource) ([]string, error) {
	_, v, _ := lookupKey(res, "members")
	return memberIDs(v)
}

func memberIDs(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	var out []string
	seen := map[string]bool{}
	for _, e := range list {
		var id any
		switch t := e.(type) {
		case map[string]any:
			_, id, _ = lookupKey(t, "value")
		case nil:
			continue
		default:
			id = t
		}
		s, ok := id.(string)
		if !ok || s == "" {
			return nil, Invalidf(ScimInvalidValue, "every member needs a \"value\" holding the member's id")
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, nil
}

// FromPortalGroup renders a portal group as a SCIM Group: id is guidGroup, mapped fields under their
// SCIM attributes, and members as [{"value": guidUser}] when members is not nil (nil leaves the
// attribute out, for excludedAttributes=members; an empty slice is an empty list).
func (m *Mapping) FromPortalGroup(g PortalGroup, members []PortalMember, meta Meta) Resource {
	res := Resource{"schemas": []any{SchemaGroup}, "id": g.GUIDGroup}
	for _, r := range m.groups {
		var s string
		switch r.field {
		case FieldName:
			s = g.Name
		case FieldExternalKey:
			s = g.ExternalKey
		case FieldDescription:
			s = g.Description
		}
		if s != "" {
			r.set(res, s)
		}
	}
	if members != nil {
		list := make([]any, 0, len(members))
		for _, mb := range members {
			list = append(list, map[string]any{"value": mb.GUIDUser})
		}
		res["members"] = list
	}
	res["meta"] = metaObject(groupDef.name, g.CreatedOn, g.ModifiedOn, meta)
	return res
}

// DiffGroup computes what must change in the portal group current so that it holds the desired SCIM
// group: the fields that differ and, when desired names its members (even as an empty list), a member
// replacement (MemberChanges with RemoveAll and the desired ids in Add). Errors are those of
// ToPortalGroup and MemberIDs.
func (m *Mapping) DiffGroup(current PortalGroup, desired Resource) (GroupDiff, error) {
	n, err := normalize(groupDef, desired)
	if err != nil {
		return GroupDiff{}, err
	}
	f, err := m.groupValues(n)
	if err != nil {
		return GroupDiff{}, err
	}
	d := GroupDiff{}
	fields := map[string]*string{}
	for _, r := range m.groups {
		var cur string
		switch r.field {
		case FieldName:
			cur = current.Name
		case FieldExternalKey:
			cur = current.ExternalKey
		case FieldDescription:
			cur = current.Description
		}
		want, ok := f[r.field]
		switch {
		case !ok && cur != "":
			fields[r.field] = nil
			d.Changes = append(d.Changes, r.change(cur, nil))
		case ok && want != cur:
			fields[r.field] = &want
			d.Changes = append(d.Changes, r.change(nilIfEmpty(cur), want))
		}
	}
	if len(fields) > 0 {
		d.Patch.Fields = fields
	}
	if _, raw, ok := lookupKey(desired, "members"); ok {
		ids, err := memberIDs(raw)
		if err != nil {
			return GroupDiff{}, err
		}
		d.Members = &MemberChanges{RemoveAll: true, Add: ids}
	}
	return d, nil
}
