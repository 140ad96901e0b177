package translog

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/scim-gateway/scim-gateway/translator"
)

// The redaction modes of a value in the translation log: the translator's names, so a mapping rule's
// `redact` and a policy entry speak the same words.
const (
	ModeKeep = translator.RedactKeep // shown as is
	ModeMask = translator.RedactMask // first and last character kept: "a***e"
	ModeHash = translator.RedactHash // keyed hash: "h:" and 16 hex digits
	ModeDrop = translator.RedactDrop // left out: the change is listed, its values are not
)

// Modes lists the redaction modes, least strict first.
var Modes = []string{ModeKeep, ModeMask, ModeHash, ModeDrop}

// HashPrefix starts every hashed value, so a reader (and a query) can tell a hash from a raw value.
const HashPrefix = "h:"

// hashHexLen is how many hex digits of the HMAC a hashed value keeps: 64 bits, plenty to tell the
// values of one log apart, too few to be worth storing as a password-grade digest.
const hashHexLen = 16

// maskShortLen is the longest string masked as "***" entirely: for three characters or fewer, the
// first and last would give most of the value away.
const maskShortLen = 3

// Masked is what a masked short string, or a masked value that is not a string, becomes.
const Masked = "***"

// Policy is the redaction policy of the translation log, as configured (logging.translation).
//
// The mode of a value (keep, mask, hash or drop) is the first that applies of:
//
//  1. Attributes, the operator's per-attribute choice (logging.translation.attributes). A name is a
//     SCIM attribute as a mapping rule spells it ("userName", `emails[type eq "work"].value`, an
//     extension attribute with its URN), a shorter form of one ("emails.value", "emails",
//     "employeeNumber" for the enterprise attribute), or a portal field ("contactEmail",
//     "properties.title"). An entry applies to users and groups alike.
//  2. The `redact` of the mapping rule that produced the value, when the rule sets one.
//  3. The built-in default of the attribute (BuiltinAttributes): userName hashed, e-mail addresses,
//     phone numbers, personal names and a user's displayName masked, employeeNumber hashed; a
//     group's displayName kept.
//  4. Default (logging.translation.redaction), keep when empty.
type Policy struct {
	// HashKey keys the HMAC-SHA256 of hashed values. Empty: a random key made once per process, so
	// hashes match within one replica (the /admin/translations userName query works) but not across
	// replicas or restarts; set a key (the same on every replica) to follow one user through the
	// aggregated logs.
	HashKey string `yaml:"hashKey"`
	// HashKeyFile names a file holding HashKey; the config package reads it into HashKey.
	HashKeyFile string `yaml:"hashKeyFile"`
	// Default is the mode of values nothing else names; empty means keep.
	Default string `yaml:"default"`
	// Attributes sets the mode per attribute or portal field, over everything else.
	Attributes map[string]string `yaml:"attributes"`
	// UserNameRule is the redact of the users' userName mapping rule ("" when it sets none): the
	// record's userName is not a change, so it does not carry its rule's redact with it.
	UserNameRule string `yaml:"-"`
}

// BuiltinAttributes returns the built-in redaction table of a resource type (ResourceUser or
// ResourceGroup), by SCIM name and by the portal fields personal data maps to: the mode of a value
// whose mapping rule sets no `redact` and that no Attributes entry names.
func BuiltinAttributes(resourceType string) map[string]string {
	if resourceType == ResourceGroup {
		// Group names are what a reader looks for; nothing of a group is personal data.
		return map[string]string{"displayName": ModeKeep, translator.FieldName: ModeKeep}
	}
	return map[string]string{
		// SCIM attributes.
		"userName":       ModeHash, // also the portal field of the same name
		"emails":         ModeMask,
		"phoneNumbers":   ModeMask,
		"name":           ModeMask, // givenName, familyName, formatted, middleName...
		"displayName":    ModeMask,
		"nickName":       ModeMask,
		"addresses":      ModeMask,
		"employeeNumber": ModeHash,
		// Flags of those multi-valued attributes are no personal data.
		"emails.primary":       ModeKeep,
		"phoneNumbers.primary": ModeKeep,
		"addresses.primary":    ModeKeep,
		// Portal fields, for attributes a custom mapping sends to them.
		translator.FieldContactEmail:     ModeMask,
		translator.FieldContactCellPhone: ModeMask,
		translator.FieldFirstName:        ModeMask,
		translator.FieldLastName:         ModeMask,
		translator.FieldFullName:         ModeMask,
	}
}

// DefaultPolicy returns the default policy: the built-in tables, everything else kept, a per-process
// key.
func DefaultPolicy() Policy {
	return Policy{Default: ModeKeep}
}

// Validate lists every problem of p at once, each prefixed with its key ("attributes.userName: ...").
// It returns nil when p is valid.
func (p Policy) Validate() error {
	var errs []error
	if p.Default != "" && rank(p.Default) < 0 {
		errs = append(errs, fmt.Errorf("default: must be one of %s, not %q", strings.Join(Modes, ", "), p.Default))
	}
	for _, name := range slices.Sorted(maps.Keys(p.Attributes)) {
		if name == "" {
			errs = append(errs, errors.New("attributes: an entry has an empty name"))
		}
		if m := p.Attributes[name]; rank(m) < 0 {
			errs = append(errs, fmt.Errorf("attributes.%s: must be one of %s, not %q", name, strings.Join(Modes, ", "), m))
		}
	}
	if p.UserNameRule != "" && rank(p.UserNameRule) < 0 {
		errs = append(errs, fmt.Errorf("userName rule: must be one of %s, not %q", strings.Join(Modes, ", "), p.UserNameRule))
	}
	return errors.Join(errs...)
}

// rank orders the modes by strictness; -1 for an unknown mode.
func rank(mode string) int { return slices.Index(Modes, mode) }

// processKey is the hash key used when the policy sets none: random, made once, so that every
// Redactor of the process (configuration reloads included) hashes alike.
var processKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (Go 1.24+)
	return k
})

// Redactor applies a Policy. It is safe for concurrent use.
type Redactor struct {
	attrs     map[string]string            // Policy.Attributes, lower-cased names
	builtin   map[string]map[string]string // BuiltinAttributes by resource type, lower-cased names
	def       string
	userName  string // Policy.UserNameRule
	key       []byte
	ephemeral bool
	macs      sync.Pool // hash.Hash keyed with key
}

// NewRedactor compiles p. Errors are those of Policy.Validate.
func NewRedactor(p Policy) (*Redactor, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	r := &Redactor{attrs: lowerKeys(p.Attributes), def: ModeKeep, userName: p.UserNameRule,
		builtin: map[string]map[string]string{
			ResourceUser:  lowerKeys(BuiltinAttributes(ResourceUser)),
			ResourceGroup: lowerKeys(BuiltinAttributes(ResourceGroup)),
		}}
	if p.Default != "" {
		r.def = p.Default
	}
	r.key = []byte(p.HashKey)
	if p.HashKey == "" {
		r.key, r.ephemeral = processKey(), true
	}
	r.macs.New = func() any { return hmac.New(sha256.New, r.key) }
	return r, nil
}

// lowerKeys copies m with lower-cased keys.
func lowerKeys(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// EphemeralKey reports whether hashes use the per-process random key (no HashKey configured): the
// caller should say so once at startup, since hashes then differ between replicas.
func (r *Redactor) EphemeralKey() bool { return r.ephemeral }

// Mode returns how a value of the SCIM attribute scim of a resourceType (ResourceUser or
// ResourceGroup), sent to the portal field portal by a mapping rule whose redact is rule ("" when it
// sets none), is shown: see Policy for the order. Names match case-insensitively, the most specific
// first: the attribute as given, without its extension URN and value filters, its top-level
// attribute, the portal field, the portal property key.
func (r *Redactor) Mode(resourceType, scim, portal, rule string) string {
	names := lookupNames(scim, portal)
	if m, ok := lookup(r.attrs, names); ok {
		return m
	}
	if rule != "" {
		return rule
	}
	if m, ok := lookup(r.builtin[resourceType], names); ok {
		return m
	}
	return r.def
}

// lookup returns the entry of table for the first of names it holds.
func lookup(table map[string]string, names []string) (string, bool) {
	for _, k := range names {
		if m, ok := table[strings.ToLower(k)]; ok {
			return m, true
		}
	}
	return "", false
}

// lookupNames lists the names a policy entry may use for one value, most specific first.
func lookupNames(scim, portal string) []string {
	names := make([]string, 0, 6)
	if scim != "" {
		names = append(names, scim)
		short := scim
		if strings.HasPrefix(strings.ToLower(short), "urn:") {
			short = short[strings.LastIndexByte(short, ':')+1:]
		}
		short = stripFilters(short)
		if short != scim {
			names = append(names, short)
		}
		if i := strings.IndexByte(short, '.'); i > 0 {
			names = append(names, short[:i])
		}
	}
	if portal != "" {
		names = append(names, portal)
		if key, ok := strings.CutPrefix(portal, translator.FieldProperties+"."); ok {
			names = append(names, key)
		}
	}
	return names
}

// stripFilters removes value filters from an attribute path: `emails[type eq "work"].value` becomes
// "emails.value".
func stripFilters(s string) string {
	if !strings.Contains(s, "[") {
		return s
	}
	var b strings.Builder
	depth := 0
	for _, c := range s {
		switch {
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// Apply shows v under mode: kept as is, masked, hashed, or dropped (nil). nil stays nil (a cleared value is not
// personal data). Strings are masked to their first and last character ("a***e"), or "***" when they
// have three characters or fewer; any other masked value becomes "***". Hashing covers the string
// itself, or the JSON of any other value.
func (r *Redactor) Apply(mode string, v any) any {
	if v == nil {
		return nil
	}
	switch mode {
	case ModeMask:
		if s, ok := v.(string); ok {
			return Mask(s)
		}
		return Masked
	case ModeHash:
		return r.Hash(hashInput(v))
	case ModeDrop:
		return nil
	default:
		return v
	}
}

// hashInput is the text a value is hashed from.
func hashInput(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Mask masks s: its first and last character around "***", or "***" alone when s has three
// characters or fewer ("" stays "").
func Mask(s string) string {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return ""
	case n <= maskShortLen:
		return Masked
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	return string(first) + Masked + string(last)
}

// Hash returns the keyed hash of s: "h:" and the first 16 hex digits of HMAC-SHA256(key, s).
func (r *Redactor) Hash(s string) string {
	mac := r.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write([]byte(s))
	var sum [sha256.Size]byte
	digest := mac.Sum(sum[:0])
	r.macs.Put(mac)
	var out [len(HashPrefix) + hashHexLen]byte
	copy(out[:], HashPrefix)
	hex.Encode(out[len(HashPrefix):], digest[:hashHexLen/2])
	return string(out[:])
}

// UserNameMode is the mode of the record's userName.
func (r *Redactor) UserNameMode() string {
	return r.Mode(ResourceUser, "userName", translator.FieldUserName, r.userName)
}

// UserName shows a SCIM userName as the record's userName (and a query's userName) does: under
// UserNameMode; hashed and masked from its lower-case form, since SCIM and the portal compare logins
// case-insensitively; "" when dropped.
func (r *Redactor) UserName(userName string) string {
	mode := r.UserNameMode()
	if mode == ModeKeep {
		return userName
	}
	s, _ := r.Apply(mode, strings.ToLower(userName)).(string)
	return s
}
