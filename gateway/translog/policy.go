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
)

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

// Policy is the redaction policy of the translation log, as configured (the config package embeds it).
//
// Attributes maps a name to a mode (keep, mask or hash). A name is a SCIM attribute as a mapping rule
// spells it ("userName", `emails[type eq "work"].value`, an extension attribute with its URN), a
// shorter form of one ("emails.value", "emails", "employeeNumber" for the enterprise attribute), or a
// portal field ("contactEmail", "properties.displayName"). The entries are laid over the default table
// (DefaultAttributes) key by key, so a configuration names only what it changes. Default is the mode of
// everything no entry names.
//
// A value is shown with the stricter (keep < mask < hash) of the policy's mode and the `redact` of the
// mapping rule that produced it: neither setting can reveal what the other hides.
type Policy struct {
	// HashKey keys the HMAC-SHA256 of hashed values. Empty: a random key made once per process, so
	// hashes match within one replica (the /admin/translations userName query works) but not across
	// replicas or restarts; set a key (the same on every replica) to follow one user through the
	// aggregated logs.
	HashKey string `yaml:"hashKey"`
	// HashKeyFile names a file holding HashKey; the config package reads it into HashKey.
	HashKeyFile string `yaml:"hashKeyFile"`
	// Default is the mode of values no entry of Attributes names; empty means keep.
	Default string `yaml:"default"`
	// Attributes sets the mode per attribute or portal field, over DefaultAttributes.
	Attributes map[string]string `yaml:"attributes"`
}

// DefaultAttributes is the default redaction table: user names, e-mail addresses, phone numbers and
// personal names are hashed, by their SCIM names and by the portal fields they map to. Ids (id,
// externalId, guidUser), active/enabled, department, title and the like are kept.
func DefaultAttributes() map[string]string {
	return map[string]string{
		// SCIM attributes.
		"userName":     ModeHash, // also the portal field of the same name
		"emails":       ModeHash,
		"phoneNumbers": ModeHash,
		"name":         ModeHash, // givenName, familyName, formatted, middleName...
		"displayName":  ModeHash,
		"nickName":     ModeHash,
		"addresses":    ModeHash,
		// Portal fields, for attributes a custom mapping sends to them.
		translator.FieldContactEmail:     ModeHash,
		translator.FieldContactCellPhone: ModeHash,
		translator.FieldFirstName:        ModeHash,
		translator.FieldLastName:         ModeHash,
		translator.FieldFullName:         ModeHash,
	}
}

// DefaultPolicy returns the default policy: DefaultAttributes, everything else kept, a per-process key.
func DefaultPolicy() Policy {
	return Policy{Default: ModeKeep, Attributes: DefaultAttributes()}
}

// Validate lists every problem of p at once, each prefixed with its key ("attributes.userName: ...").
// It returns nil when p is valid.
func (p Policy) Validate() error {
	var errs []error
	if p.Default != "" && rank(p.Default) < 0 {
		errs = append(errs, fmt.Errorf("default: must be one of keep, mask, hash, not %q", p.Default))
	}
	for _, name := range slices.Sorted(maps.Keys(p.Attributes)) {
		if name == "" {
			errs = append(errs, errors.New("attributes: an entry has an empty name"))
		}
		if m := p.Attributes[name]; rank(m) < 0 {
			errs = append(errs, fmt.Errorf("attributes.%s: must be one of keep, mask, hash, not %q", name, m))
		}
	}
	return errors.Join(errs...)
}

// rank orders the modes by strictness; -1 for an unknown mode.
func rank(mode string) int {
	switch mode {
	case ModeKeep:
		return 0
	case ModeMask:
		return 1
	case ModeHash:
		return 2
	}
	return -1
}

// stricter returns the stricter of two modes; an empty or unknown mode counts as keep.
func stricter(a, b string) string {
	if rank(b) > rank(a) {
		return b
	}
	if rank(a) < 0 {
		return ModeKeep
	}
	return a
}

// processKey is the hash key used when the policy sets none: random, made once, so that every
// Redactor of the process (configuration reloads included) hashes alike.
var processKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (Go 1.24+)
	return k
})

// Redactor applies a Policy. It is safe for concurrent use.
type Redactor struct {
	attrs     map[string]string // lower-cased names
	def       string
	key       []byte
	ephemeral bool
	macs      sync.Pool // hash.Hash keyed with key
}

// NewRedactor compiles p. Errors are those of Policy.Validate.
func NewRedactor(p Policy) (*Redactor, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	r := &Redactor{attrs: make(map[string]string), def: ModeKeep}
	if p.Default != "" {
		r.def = p.Default
	}
	for k, m := range DefaultAttributes() {
		r.attrs[strings.ToLower(k)] = m
	}
	for k, m := range p.Attributes {
		r.attrs[strings.ToLower(k)] = m
	}
	r.key = []byte(p.HashKey)
	if p.HashKey == "" {
		r.key, r.ephemeral = processKey(), true
	}
	r.macs.New = func() any { return hmac.New(sha256.New, r.key) }
	return r, nil
}

// EphemeralKey reports whether hashes use the per-process random key (no HashKey configured): the
// caller should say so once at startup, since hashes then differ between replicas.
func (r *Redactor) EphemeralKey() bool { return r.ephemeral }

// Mode returns how a value of the SCIM attribute scim, sent to the portal field portal, is shown,
// before the mapping rule's own redact is taken into account. Names match case-insensitively, the
// most specific first: the attribute as given, without its extension URN and value filters, its
// top-level attribute, the portal field, the portal property key; then the policy's default.
func (r *Redactor) Mode(scim, portal string) string {
	for _, k := range lookupNames(scim, portal) {
		if m, ok := r.attrs[strings.ToLower(k)]; ok {
			return m
		}
	}
	return r.def
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

// Apply shows v under mode: kept as is, masked, or hashed. nil stays nil (a cleared value is not
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

// UserName shows a SCIM userName as the record's userName (and a query's userName) does: under the
// policy's mode for userName; hashed and masked from its lower-case form, since SCIM and the portal
// compare logins case-insensitively.
func (r *Redactor) UserName(userName string) string {
	mode := r.Mode("userName", translator.FieldUserName)
	if mode == ModeKeep {
		return userName
	}
	s, _ := r.Apply(mode, strings.ToLower(userName)).(string)
	return s
}
