package translator

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Filter is a parsed SCIM filter (RFC 7644 section 3.4.2.2). The zero Filter is "no filter": it
// matches every resource and renders as "".
//
// The parser accepts RFC 7644's grammar (attrExp, logExp with and/or, not(...), grouping parentheses,
// valuePath with "[...]", operators and keywords in any case) plus the two forms Entra sends that the
// RFC does not have:
//   - unquoted values: `externalId eq jdoe` (a bare word that is not true, false, null or a number is a
//     string);
//   - a sub-attribute after a value filter: `emails[type eq "work"].value eq "x"`, which means
//     `emails[type eq "work" and value eq "x"]`.
type Filter struct {
	root expr
	// caseExact, when set, overrides the schema's caseExact for a top-level attribute path; Plan
	// binds it from the mapping.
	caseExact func(p AttrPath) (exact, ok bool)
}

// IsZero reports whether f is "no filter".
func (f Filter) IsZero() bool { return f.root == nil }

// String renders the filter in RFC 7644 syntax, string values JSON-quoted; "" for no filter.
func (f Filter) String() string {
	if f.root == nil {
		return ""
	}
	var b strings.Builder
	f.root.write(&b)
	return b.String()
}

// AttrPath names an attribute: an optional schema URN (for extension attributes), the attribute and
// an optional sub-attribute, as written (names are matched case-insensitively).
type AttrPath struct {
	Schema string
	Attr   string
	Sub    string
}

// String renders the path, URN-qualified when it has a schema.
func (p AttrPath) String() string {
	s := p.Attr
	if p.Sub != "" {
		s += "." + p.Sub
	}
	if p.Schema != "" {
		s = p.Schema + ":" + s
	}
	return s
}

// expr is a node of a filter's syntax tree.
type expr interface{ write(b *strings.Builder) }

// logExpr is `l and r` or `l or r`.
type logExpr struct {
	and  bool
	l, r expr
}

// notExpr is `not (x)`.
type notExpr struct{ x expr }

// cmpExpr is `path op value`; op is lower case.
type cmpExpr struct {
	path AttrPath
	op   string
	val  literal
}

// presentExpr is `path pr`.
type presentExpr struct{ path AttrPath }

// valuePathExpr is `attr[filter]`; the filter's paths name sub-attributes of attr.
type valuePathExpr struct {
	path   AttrPath // Sub is empty
	filter expr
}

// literal kinds.
const (
	litString = iota
	litBool
	litNumber
	litNull
)

// literal is a comparison value. raw is the text as written (without quotes), used when an unquoted
// value meets a string attribute.
type literal struct {
	kind int
	s    string // the string value, or the raw text of other kinds
	b    bool
	bare bool // written without quotes
}

func (e *logExpr) write(b *strings.Builder) {
	op := " or "
	if e.and {
		op = " and "
	}
	writeOperand(b, e.l, e.and)
	b.WriteString(op)
	writeOperand(b, e.r, e.and)
}

// writeOperand parenthesises an `or` inside an `and` so the rendering keeps the tree.
func writeOperand(b *strings.Builder, e expr, inAnd bool) {
	if l, ok := e.(*logExpr); ok && inAnd && !l.and {
		b.WriteByte('(')
		e.write(b)
		b.WriteByte(')')
		return
	}
	e.write(b)
}

func (e *notExpr) write(b *strings.Builder) {
	b.WriteString("not (")
	e.x.write(b)
	b.WriteByte(')')
}

func (e *cmpExpr) write(b *strings.Builder) {
	b.WriteString(e.path.String())
	b.WriteByte(' ')
	b.WriteString(e.op)
	b.WriteByte(' ')
	switch e.val.kind {
	case litString:
		q, _ := json.Marshal(e.val.s)
		b.Write(q)
	default:
		b.WriteString(e.val.s)
	}
}

func (e *presentExpr) write(b *strings.Builder) {
	b.WriteString(e.path.String())
	b.WriteString(" pr")
}

func (e *valuePathExpr) write(b *strings.Builder) {
	b.WriteString(e.path.String())
	b.WriteByte('[')
	e.filter.write(b)
	b.WriteByte(']')
}

// compare operators (RFC 7644 table 3).
var compareOps = map[string]bool{"eq": true, "ne": true, "co": true, "sw": true, "ew": true, "gt": true, "lt": true, "ge": true, "le": true}

// maxFilterDepth bounds nesting so a hostile filter cannot exhaust the stack.
const maxFilterDepth = 50

// ParseFilter parses a SCIM filter. An empty (or all-blank) string is the zero Filter. A filter that
// does not parse is an EInvalid *Error with scimType invalidFilter, its message saying where.
func ParseFilter(s string) (Filter, error) {
	if strings.TrimSpace(s) == "" {
		return Filter{}, nil
	}
	p, err := newParser(s, ScimInvalidFilter)
	if err != nil {
		return Filter{}, err
	}
	e, err := p.parseOr(false, 0)
	if err != nil {
		return Filter{}, err
	}
	if !p.atEnd() {
		return Filter{}, p.errorf("unexpected %q", p.peek().text)
	}
	return Filter{root: e}, nil
}

// token kinds.
const (
	tokWord = iota
	tokString
	tokLParen
	tokRParen
	tokLBracket
	tokRBracket
)

type token struct {
	kind int
	text string // the word, the decoded string, or the punctuation
	pos  int    // byte offset in the input
}

type parser struct {
	src      string
	toks     []token
	i        int
	scimType string
}

func newParser(s, scimType string) (*parser, error) {
	p := &parser{src: s, scimType: scimType}
	if !utf8.ValidString(s) {
		return nil, p.errorf("not valid UTF-8")
	}
	if err := p.lex(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *parser) errorf(format string, args ...any) *Error {
	e := Invalidf(p.scimType, format, args...)
	e.Message = "cannot parse " + strconv.Quote(p.src) + ": " + e.Message
	return e
}

func (p *parser) lex() error {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			p.toks = append(p.toks, token{tokLParen, "(", i})
			i++
		case c == ')':
			p.toks = append(p.toks, token{tokRParen, ")", i})
			i++
		case c == '[':
			p.toks = append(p.toks, token{tokLBracket, "[", i})
			i++
		case c == ']':
			p.toks = append(p.toks, token{tokRBracket, "]", i})
			i++
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			if j >= len(s) {
				return p.errorf("unterminated string at offset %d", i)
			}
			var v string
			if err := json.Unmarshal([]byte(s[i:j+1]), &v); err != nil {
				return p.errorf("bad string at offset %d", i)
			}
			p.toks = append(p.toks, token{tokString, v, i})
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()[]\"", rune(s[j])) {
				j++
			}
			p.toks = append(p.toks, token{tokWord, s[i:j], i})
			i = j
		}
	}
	return nil
}

func (p *parser) atEnd() bool { return p.i >= len(p.toks) }

func (p *parser) peek() token {
	if p.atEnd() {
		return token{kind: -1, text: "end of input", pos: len(p.src)}
	}
	return p.toks[p.i]
}

func (p *parser) next() token {
	t := p.peek()
	if !p.atEnd() {
		p.i++
	}
	return t
}

func (p *parser) peekWord(w string) bool {
	t := p.peek()
	return t.kind == tokWord && strings.EqualFold(t.text, w)
}

func (p *parser) expect(kind int, what string) error {
	if t := p.next(); t.kind != kind {
		return p.errorf("expected %s at offset %d, found %q", what, t.pos, t.text)
	}
	return nil
}

// parseOr parses `and` terms joined by `or`. inValue is true inside a value filter's brackets.
func (p *parser) parseOr(inValue bool, depth int) (expr, error) {
	if depth > maxFilterDepth {
		return nil, p.errorf("filter nested too deeply")
	}
	l, err := p.parseAnd(inValue, depth)
	if err != nil {
		return nil, err
	}
	for p.peekWord("or") {
		p.next()
		r, err := p.parseAnd(inValue, depth)
		if err != nil {
			return nil, err
		}
		l = &logExpr{and: false, l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseAnd(inValue bool, depth int) (expr, error) {
	l, err := p.parseUnary(inValue, depth)
	if err != nil {
		return nil, err
	}
	for p.peekWord("and") {
		p.next()
		r, err := p.parseUnary(inValue, depth)
		if err != nil {
			return nil, err
		}
		l = &logExpr{and: true, l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseUnary(inValue bool, depth int) (expr, error) {
	t := p.peek()
	switch {
	case t.kind == tokLParen:
		p.next()
		e, err := p.parseOr(inValue, depth+1)
		if err != nil {
			return nil, err
		}
		if err := p.expect(tokRParen, `")"`); err != nil {
			return nil, err
		}
		return e, nil
	case t.kind == tokWord && strings.EqualFold(t.text, "not") && p.i+1 < len(p.toks) && p.toks[p.i+1].kind == tokLParen:
		p.next()
		p.next()
		e, err := p.parseOr(inValue, depth+1)
		if err != nil {
			return nil, err
		}
		if err := p.expect(tokRParen, `")"`); err != nil {
			return nil, err
		}
		return &notExpr{x: e}, nil
	case t.kind == tokWord:
		return p.parseAttrExpr(inValue, depth)
	default:
		return nil, p.errorf("expected an attribute at offset %d, found %q", t.pos, t.text)
	}
}

func (p *parser) parseAttrExpr(inValue bool, depth int) (expr, error) {
	t := p.next()
	path, err := parseAttrPath(t.text)
	if err != nil {
		return nil, p.errorf("%s", AsError(err).Message)
	}
	if p.peek().kind == tokLBracket {
		if inValue {
			return nil, p.errorf("value filters cannot be nested (offset %d)", p.peek().pos)
		}
		if path.Sub != "" {
			return nil, p.errorf("a value filter follows an attribute, not a sub-attribute (%q)", t.text)
		}
		p.next()
		inner, err := p.parseOr(true, depth+1)
		if err != nil {
			return nil, err
		}
		if err := p.expect(tokRBracket, `"]"`); err != nil {
			return nil, err
		}
		vp := &valuePathExpr{path: path, filter: inner}
		// Entra's form: emails[type eq "work"].value eq "x".
		if n := p.peek(); n.kind == tokWord && strings.HasPrefix(n.text, ".") {
			p.next()
			sub := n.text[1:]
			if !validAttrName(sub) {
				return nil, p.errorf("bad sub-attribute %q", sub)
			}
			cmp, err := p.parseOperator(AttrPath{Attr: sub})
			if err != nil {
				return nil, err
			}
			vp.filter = &logExpr{and: true, l: inner, r: cmp}
		}
		return vp, nil
	}
	return p.parseOperator(path)
}

// parseOperator parses `pr` or `op value` after path.
func (p *parser) parseOperator(path AttrPath) (expr, error) {
	t := p.next()
	if t.kind != tokWord {
		return nil, p.errorf("expected an operator after %q, found %q", path.String(), t.text)
	}
	op := strings.ToLower(t.text)
	if op == "pr" {
		return &presentExpr{path: path}, nil
	}
	if !compareOps[op] {
		return nil, p.errorf("unknown operator %q", t.text)
	}
	v := p.next()
	switch v.kind {
	case tokString:
		return &cmpExpr{path: path, op: op, val: literal{kind: litString, s: v.text}}, nil
	case tokWord:
		return &cmpExpr{path: path, op: op, val: bareLiteral(v.text)}, nil
	default:
		return nil, p.errorf("expected a value after %q, found %q", t.text, v.text)
	}
}

// bareLiteral classifies an unquoted value: true, false, null (any case), a JSON number, or else a
// string (Entra's `externalId eq jdoe`).
func bareLiteral(w string) literal {
	switch strings.ToLower(w) {
	case "true":
		return literal{kind: litBool, s: "true", b: true, bare: true}
	case "false":
		return literal{kind: litBool, s: "false", bare: true}
	case "null":
		return literal{kind: litNull, s: "null", bare: true}
	}
	if isJSONNumber(w) {
		return literal{kind: litNumber, s: w, bare: true}
	}
	return literal{kind: litString, s: w, bare: true}
}

func isJSONNumber(s string) bool {
	if s == "" || !(s[0] == '-' || s[0] >= '0' && s[0] <= '9') {
		return false
	}
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil
}

// parseAttrPath parses `[URN ":"] name ["." sub]`.
func parseAttrPath(s string) (AttrPath, error) {
	urn, rest := splitURN(s)
	name, sub, hasSub := strings.Cut(rest, ".")
	if !validAttrName(name) || hasSub && !validAttrName(sub) {
		return AttrPath{}, Invalidf(ScimInvalidPath, "bad attribute name %q", s)
	}
	return AttrPath{Schema: urn, Attr: name, Sub: sub}, nil
}

// validAttrName reports whether s is an ATTRNAME (RFC 7643: ALPHA *(nameChar)) or "$ref".
func validAttrName(s string) bool {
	if s == "$ref" {
		return true
	}
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !(c >= '0' && c <= '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// Path is a parsed PATCH path (RFC 7644 section 3.5.2): `attrPath [ "[" valFilter "]" ] [ "." sub ]`.
// Attr.Sub holds a plain sub-attribute (`name.givenName`); Sub holds the one after a value filter
// (`emails[type eq "work"].value`). A path naming only an extension URN has an empty Attr.Attr.
type Path struct {
	Attr   AttrPath
	Filter Filter
	Sub    string
}

// String renders the path.
func (p Path) String() string {
	s := p.Attr.String()
	if !p.Filter.IsZero() {
		s += "[" + p.Filter.String() + "]"
	}
	if p.Sub != "" {
		s += "." + p.Sub
	}
	return s
}

// ParsePath parses a PATCH path. A path that does not parse is an EInvalid *Error with scimType
// invalidPath.
func ParsePath(s string) (Path, error) {
	if strings.TrimSpace(s) == "" {
		return Path{}, Invalidf(ScimInvalidPath, "empty path")
	}
	p, err := newParser(s, ScimInvalidPath)
	if err != nil {
		return Path{}, err
	}
	t := p.next()
	if t.kind != tokWord {
		return Path{}, p.errorf("expected an attribute, found %q", t.text)
	}
	ap, err := parseAttrPath(t.text)
	if err != nil {
		return Path{}, p.errorf("%s", AsError(err).Message)
	}
	out := Path{Attr: ap}
	if p.peek().kind == tokLBracket {
		if ap.Sub != "" {
			return Path{}, p.errorf("a value filter follows an attribute")
		}
		p.next()
		inner, err := p.parseOr(true, 1)
		if err != nil {
			return Path{}, err
		}
		if err := p.expect(tokRBracket, `"]"`); err != nil {
			return Path{}, err
		}
		out.Filter = Filter{root: inner}
		if n := p.peek(); n.kind == tokWord && strings.HasPrefix(n.text, ".") {
			p.next()
			if !validAttrName(n.text[1:]) {
				return Path{}, p.errorf("bad sub-attribute %q", n.text[1:])
			}
			out.Sub = n.text[1:]
		}
	}
	if !p.atEnd() {
		return Path{}, p.errorf("unexpected %q at offset %d", p.peek().text, p.peek().pos)
	}
	return out, nil
}
