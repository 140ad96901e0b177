package translator

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Redaction policies of a mapped value in the translation log.
const (
	RedactKeep = "keep" // logged as is
	RedactMask = "mask" // logged masked (first and last character)
	RedactHash = "hash" // logged as a hash, so equal values can be told apart without showing them
	RedactDrop = "drop" // left out of the log: the record says the attribute changed, not to what
)

// Defaults of MappingConfig.
const (
	// DefaultDomain is the portal domain of a SCIM userName without "@" when the configuration names
	// none. "local" is deliberately not a real domain: an operator whose Entra sends bare userNames
	// should set mapping.defaultDomain to the portal's own domain.
	DefaultDomain = "local"
	// DefaultLoginFormProperty is the portal property that records whether a user's SCIM userName was
	// sent with "@domain" (upn) or without (plain), so it comes back exactly as sent.
	DefaultLoginFormProperty = "scimLoginForm"
)

// Login forms recorded in the login-form property.
const (
	LoginFormUPN   = "upn"   // userName was "user@domain"
	LoginFormPlain = "plain" // userName was "user"; the portal domain is the default domain
)

// MappingConfig is the attribute mapping as configured (the config package embeds it under the key
// "mapping"). Users and Groups are complete lists: a list given in the configuration replaces the
// default list, so an operator drops a rule by leaving it out and adds one by adding it.
type MappingConfig struct {
	// DefaultDomain is the portal domain given to a SCIM userName that has no "@".
	DefaultDomain string `yaml:"defaultDomain"`
	// LoginFormProperty is the portal property that records the form of the SCIM userName.
	LoginFormProperty string          `yaml:"loginFormProperty"`
	Users             []AttributeRule `yaml:"users"`
	Groups            []AttributeRule `yaml:"groups"`
}

// AttributeRule maps one SCIM attribute to one portal field or portal property.
type AttributeRule struct {
	// SCIM is the SCIM attribute path: a core attribute ("title"), a sub-attribute ("name.givenName"),
	// a multi-valued attribute selected by eq terms (`emails[type eq "work"].value`), or an extension
	// attribute qualified by its URN ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department").
	// A complex attribute without a sub-attribute means its "value" (the enterprise manager). A
	// multi-valued attribute without a filter ("emails") is the whole attribute, kept as JSON in a
	// property: every element as sent, beyond the one each element rule (`emails[type eq "work"].value`)
	// keeps in its own field, which stays authoritative for its value.
	SCIM string `yaml:"scim"`
	// Field is the portal field the value goes to (userName, fullName, firstName, lastName,
	// contactEmail, contactCellPhone, externalKey, enabled; for groups name, externalKey, description).
	// Field userName is the login: the SCIM value is split at its last "@" into userName and domain.
	Field string `yaml:"field,omitempty"`
	// Property is, instead of Field, the key of a portal custom property (users only).
	Property string `yaml:"property,omitempty"`
	// Filterable lets a SCIM filter `ATTR eq "v"` be answered by the portal's $filter. Only the
	// portal's filterable fields qualify (userName, contactEmail, externalKey, enabled; group name,
	// externalKey).
	Filterable bool `yaml:"filterable,omitempty"`
	// CaseExact makes filters compare the attribute case-exactly (and says so in /Schemas), on top of
	// the attributes SCIM already defines as caseExact (id, externalId).
	CaseExact bool `yaml:"caseExact,omitempty"`
	// Redact is how the translation log shows the value: keep, mask, hash or drop. Empty: the
	// translation log's default for the attribute (logging.translation in the config).
	Redact string `yaml:"redact,omitempty"`
}

// DeletedProperty is the portal property the gateway sets on a user deleted through SCIM when
// deprovision.onDelete is disable (such portals cannot delete); no mapping rule may use it.
const DeletedProperty = "scimDeleted"

// enterpriseAttr qualifies an enterprise extension attribute.
func enterpriseAttr(name string) string { return SchemaEnterpriseUser + ":" + name }

// DefaultMappingConfig returns the owner's mapping table (the seed's), with the default domain.
func DefaultMappingConfig() MappingConfig {
	return MappingConfig{
		DefaultDomain:     DefaultDomain,
		LoginFormProperty: DefaultLoginFormProperty,
		Users: []AttributeRule{
			{SCIM: "userName", Field: FieldUserName, Filterable: true, Redact: RedactHash},
			{SCIM: "active", Field: FieldEnabled, Filterable: true},
			{SCIM: `emails[type eq "work"].value`, Field: FieldContactEmail, Filterable: true, Redact: RedactMask},
			{SCIM: "name.givenName", Field: FieldFirstName, Redact: RedactMask},
			{SCIM: "name.familyName", Field: FieldLastName, Redact: RedactMask},
			{SCIM: "name.formatted", Field: FieldFullName, Redact: RedactMask},
			{SCIM: `phoneNumbers[type eq "mobile"].value`, Field: FieldContactCellPhone, Redact: RedactMask},
			{SCIM: "externalId", Field: FieldExternalKey, Filterable: true},
			{SCIM: "displayName", Property: "displayName", Redact: RedactMask},
			{SCIM: "title", Property: "title"},
			{SCIM: enterpriseAttr("employeeNumber"), Property: "employeeNumber", Redact: RedactHash},
			{SCIM: enterpriseAttr("department"), Property: "department"},
			{SCIM: enterpriseAttr("manager"), Property: "manager"},
			// Entra and Microsoft's reference send primary on the work email; kept so it comes back.
			{SCIM: `emails[type eq "work"].primary`, Property: "emailPrimary"},
			// Whole attributes: what the rules above cannot hold (a second work email, a home email,
			// work and fax phones, addresses) is kept as sent, as JSON. Written only when there is
			// such a value, so a user with one work email and one mobile phone has none of them.
			{SCIM: "emails", Property: "scimEmails", Redact: RedactMask},
			{SCIM: "phoneNumbers", Property: "scimPhoneNumbers", Redact: RedactMask},
			{SCIM: "addresses", Property: "scimAddresses", Redact: RedactMask},
		},
		Groups: []AttributeRule{
			{SCIM: "displayName", Field: FieldName, Filterable: true},
			{SCIM: "externalId", Field: FieldExternalKey, Filterable: true},
		},
	}
}

// ApplyDefaults fills what c leaves unset from DefaultMappingConfig: the default domain, the
// login-form property, and each rule list that is empty.
func (c *MappingConfig) ApplyDefaults() {
	d := DefaultMappingConfig()
	if c.DefaultDomain == "" {
		c.DefaultDomain = d.DefaultDomain
	}
	if c.LoginFormProperty == "" {
		c.LoginFormProperty = d.LoginFormProperty
	}
	if len(c.Users) == 0 {
		c.Users = d.Users
	}
	if len(c.Groups) == 0 {
		c.Groups = d.Groups
	}
}

// portalField describes a portal field a rule may target.
type portalField struct {
	boolean    bool // enabled; every other field is a string
	filterable bool
	required   bool
}

var userFields = map[string]portalField{
	FieldUserName:         {filterable: true, required: true},
	FieldFullName:         {},
	FieldFirstName:        {},
	FieldLastName:         {},
	FieldContactEmail:     {filterable: true},
	FieldContactCellPhone: {},
	FieldExternalKey:      {filterable: true},
	FieldEnabled:          {boolean: true, filterable: true},
}

var groupFields = map[string]portalField{
	FieldName:        {filterable: true, required: true},
	FieldExternalKey: {filterable: true},
	FieldDescription: {},
}

// Portal limits on custom properties (docs/portal-api.md section 2).
const (
	maxProperties     = 50
	maxPropertyKeyLen = 64
	maxDomainLen      = 100
)

// rule is a compiled AttributeRule.
type rule struct {
	cfg       AttributeRule
	scim      string   // the SCIM attribute, canonically spelt (for logs and error targets)
	schema    string   // "" for core and common attributes, else the extension URN
	attr      *attrDef // the top-level attribute
	match     []eqTerm // for a multi-valued attribute: the eq terms that select (and create) the element
	sub       *attrDef // the sub-attribute holding the value; nil for a simple attribute
	leaf      *attrDef // sub, or attr when sub is nil
	portal    string   // the portal field, or "properties.<key>"
	field     string   // the portal field, "" for a property
	property  string   // the property key, "" for a field
	caseExact bool
	redact    string
	whole     bool // a multi-valued attribute kept whole, as JSON, in a property
}

// eqTerm is `sub eq "value"` inside a rule's value filter.
type eqTerm struct {
	sub   string // canonical sub-attribute name
	value string
}

// Mapping is a compiled, validated MappingConfig; it is immutable and safe for concurrent use.
type Mapping struct {
	defaultDomain string
	formKey       string
	users         []*rule
	groups        []*rule
}

// NewMapping validates cfg and compiles it. Every problem is reported, each prefixed with its place
// ("mapping.users[2]: ..."), joined into one error: an unparsable or unknown SCIM attribute, a
// read-only one, an unknown or read-only portal field, a type that does not fit the field, two rules
// with the same SCIM attribute or the same target, a filterable rule on a field the portal cannot
// filter, a bad redaction, a missing login (users) or name (groups) rule, too many properties.
func NewMapping(cfg MappingConfig) (*Mapping, error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	m := &Mapping{defaultDomain: cfg.DefaultDomain, formKey: cfg.LoginFormProperty}
	switch {
	case cfg.DefaultDomain == "":
		add("mapping.defaultDomain: required (the portal domain of a userName without @)")
	case utf8.RuneCountInString(cfg.DefaultDomain) > maxDomainLen || strings.ContainsAny(cfg.DefaultDomain, `@\`):
		add("mapping.defaultDomain: %q is not a portal domain (at most %d characters, no @ or \\)", cfg.DefaultDomain, maxDomainLen)
	}
	switch {
	case cfg.LoginFormProperty == "":
		add("mapping.loginFormProperty: required")
	case utf8.RuneCountInString(cfg.LoginFormProperty) > maxPropertyKeyLen:
		add("mapping.loginFormProperty: longer than %d characters", maxPropertyKeyLen)
	}
	m.users = compileRules("mapping.users", userDef, userFields, cfg.Users, true, add)
	m.groups = compileRules("mapping.groups", groupDef, groupFields, cfg.Groups, false, add)
	props := 1 // the login-form property
	for _, r := range m.users {
		if r.property == "" {
			continue
		}
		props++
		if strings.EqualFold(r.property, cfg.LoginFormProperty) {
			add("mapping.users: property %q is the login-form property", r.property)
		}
	}
	if props > maxProperties {
		add("mapping.users: %d properties (with the login-form property); the portal keeps at most %d", props, maxProperties)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

func compileRules(prefix string, def *resourceDef, fields map[string]portalField, cfgs []AttributeRule, properties bool, add func(string, ...any)) []*rule {
	var out []*rule
	seenSCIM := map[string]int{}
	seenTarget := map[string]int{}
	for i, c := range cfgs {
		at := fmt.Sprintf("%s[%d]", prefix, i)
		r, problems := compileRule(def, fields, c, properties)
		for _, p := range problems {
			add("%s: %s", at, p)
		}
		if r == nil || len(problems) > 0 {
			continue
		}
		key := strings.ToLower(r.scim)
		if j, ok := seenSCIM[key]; ok {
			add("%s: SCIM attribute %s is already mapped by %s[%d]", at, r.scim, prefix, j)
		}
		seenSCIM[key] = i
		tkey := strings.ToLower(r.portal)
		if j, ok := seenTarget[tkey]; ok {
			add("%s: portal %s is already the target of %s[%d]", at, r.portal, prefix, j)
		}
		seenTarget[tkey] = i
		out = append(out, r)
	}
	for name, f := range fields {
		if f.required {
			if _, ok := seenTarget[strings.ToLower(name)]; !ok {
				add("%s: no rule maps a SCIM attribute to the portal's required field %s", prefix, name)
			}
		}
	}
	return out
}

func compileRule(def *resourceDef, fields map[string]portalField, c AttributeRule, properties bool) (*rule, []string) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	r := &rule{cfg: c, caseExact: c.CaseExact}
	switch c.Redact {
	case "", RedactKeep, RedactMask, RedactHash, RedactDrop:
		r.redact = c.Redact
	default:
		bad("redact %q is not keep, mask, hash or drop", c.Redact)
	}
	switch {
	case c.Field != "" && c.Property != "":
		bad("give field or property, not both")
	case c.Field == "" && c.Property == "":
		bad("give a portal field or a property")
	case c.Property != "" && !properties:
		bad("portal groups have no properties")
	case c.Property != "":
		if utf8.RuneCountInString(c.Property) > maxPropertyKeyLen {
			bad("property key %q is longer than %d characters", c.Property, maxPropertyKeyLen)
		}
		if c.Filterable {
			bad("the portal cannot filter on properties")
		}
		r.property, r.portal = c.Property, FieldProperties+"."+c.Property
	default:
		f, ok := fields[c.Field]
		if !ok {
			bad("unknown or read-only portal field %q (one of %s)", c.Field, fieldNames(fields))
			break
		}
		if c.Filterable && !f.filterable {
			bad("the portal cannot filter on %s", c.Field)
		}
		r.field, r.portal = c.Field, c.Field
	}
	if err := r.resolve(def, c.SCIM); err != nil {
		bad("%s", err.Error())
		return nil, problems
	}
	if r.whole && c.CaseExact {
		bad("%s is kept whole: it cannot be caseExact (a rule on one of its values can)", r.scim)
	}
	if r.leaf.caseExact {
		r.caseExact = true
	}
	if r.field != "" {
		wantBool := fields[r.field].boolean
		switch {
		case wantBool && r.leaf.typ != typeBoolean:
			bad("%s is a %s; portal %s takes a boolean", r.scim, r.leaf.typ, r.field)
		case !wantBool && r.leaf.typ != typeString && r.leaf.typ != typeReference:
			bad("%s is a %s; portal %s takes a string", r.scim, r.leaf.typ, r.field)
		}
	}
	return r, problems
}

func fieldNames(fields map[string]portalField) string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// resolve parses and resolves the rule's SCIM path against the resource type.
func (r *rule) resolve(def *resourceDef, scim string) error {
	p, err := ParsePath(scim)
	if err != nil {
		return fmt.Errorf("SCIM attribute %q: %s", scim, AsError(err).Message)
	}
	urn, a := def.lookup(p.Attr.Schema, p.Attr.Attr)
	if a == nil {
		return fmt.Errorf("SCIM attribute %q is not an attribute of the %s schemas", scim, def.name)
	}
	if a.readOnly() || a.name == "members" || a.name == "schemas" || a.mutability == "writeOnly" {
		return fmt.Errorf("SCIM attribute %q cannot be mapped (it is read-only, write-only or handled by the gateway)", scim)
	}
	r.schema, r.attr, r.leaf = urn, a, a
	subName := p.Attr.Sub
	if p.Sub != "" {
		subName = p.Sub
	}
	implicit := false
	if !p.Filter.IsZero() {
		if !a.multi {
			return fmt.Errorf("SCIM attribute %q: only a multi-valued attribute takes a filter", scim)
		}
		terms, ok := eqTerms(p.Filter.root, a)
		if !ok || len(terms) == 0 {
			return fmt.Errorf("SCIM attribute %q: a rule's filter must be eq terms on sub-attributes joined by and", scim)
		}
		r.match = terms
	} else if a.multi {
		if subName != "" || r.property == "" {
			return fmt.Errorf("SCIM attribute %q is multi-valued: select one value with a filter, as in emails[type eq \"work\"].value, or keep the whole attribute (%s) in a property", scim, a.name)
		}
		r.whole = true
		r.scim = qualified(urn, a.name)
		return nil
	}
	if a.typ == typeComplex {
		if subName == "" {
			if a.subAttr("value") == nil {
				return fmt.Errorf("SCIM attribute %q is complex: name a sub-attribute", scim)
			}
			subName, implicit = "value", true
		}
		s := a.subAttr(subName)
		if s == nil {
			return fmt.Errorf("SCIM attribute %q: %s has no sub-attribute %q", scim, a.name, subName)
		}
		if s.readOnly() {
			return fmt.Errorf("SCIM attribute %q is read-only", scim)
		}
		r.sub, r.leaf = s, s
	} else if subName != "" {
		return fmt.Errorf("SCIM attribute %q: %s has no sub-attributes", scim, a.name)
	}
	// The canonical spelling.
	s := qualified(urn, a.name)
	if len(r.match) > 0 {
		parts := make([]string, len(r.match))
		for i, t := range r.match {
			parts[i] = (&cmpExpr{path: AttrPath{Attr: t.sub}, op: "eq", val: literal{kind: litString, s: t.value}}).string()
		}
		s += "[" + strings.Join(parts, " and ") + "]"
	}
	if r.sub != nil && !implicit {
		s += "." + r.sub.name
	}
	r.scim = s
	return nil
}

func (e *cmpExpr) string() string {
	var b strings.Builder
	e.write(&b)
	return b.String()
}

// eqTerms returns the `sub eq "string"` terms of an and-only filter on sub-attributes of a, false if
// the filter has any other shape.
func eqTerms(e expr, a *attrDef) ([]eqTerm, bool) {
	switch t := e.(type) {
	case *logExpr:
		if !t.and {
			return nil, false
		}
		l, ok1 := eqTerms(t.l, a)
		r, ok2 := eqTerms(t.r, a)
		return append(l, r...), ok1 && ok2
	case *cmpExpr:
		s := a.subAttr(t.path.Attr)
		if t.op != "eq" || t.path.Schema != "" || t.path.Sub != "" || s == nil || s.typ == typeComplex {
			return nil, false
		}
		v := t.val.s
		if t.val.kind == litNull {
			return nil, false
		}
		return []eqTerm{{sub: s.name, value: v}}, true
	}
	return nil, false
}

// DefaultDomain returns the portal domain given to a userName without "@".
func (m *Mapping) DefaultDomain() string { return m.defaultDomain }

// SCIMAttribute returns the SCIM attribute a portal user field came from, so that a portal
// validation error's target can be reported in SCIM terms: "contactEmail" gives
// `emails[type eq "work"].value`, "properties.department" the enterprise department, "domain" and the
// login-form property "userName". It returns "" for a field no rule maps.
func (m *Mapping) SCIMAttribute(portalField string) string {
	if strings.EqualFold(portalField, FieldDomain) || strings.EqualFold(portalField, FieldProperties+"."+m.formKey) {
		portalField = FieldUserName
	}
	return reverse(m.users, portalField)
}

// SCIMGroupAttribute is SCIMAttribute for portal group fields.
func (m *Mapping) SCIMGroupAttribute(portalField string) string {
	return reverse(m.groups, portalField)
}

func reverse(rules []*rule, portalField string) string {
	for _, r := range rules {
		if strings.EqualFold(r.portal, portalField) {
			return r.scim
		}
	}
	return ""
}

// Redaction returns the translation-log policy of a SCIM attribute as a FieldChange names it: its
// rule's redact, "" when the rule sets none or no rule maps the attribute.
func (m *Mapping) Redaction(scim string) string {
	for _, rs := range [][]*rule{m.users, m.groups} {
		for _, r := range rs {
			if strings.EqualFold(r.scim, scim) {
				return r.redact
			}
		}
	}
	return ""
}
