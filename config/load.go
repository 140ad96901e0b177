package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// Load builds the configuration in layers: the built-in defaults (ApplyDefaults), then the YAML file
// at path (skipped when path is empty), then the SCIMGW_ variables of environ ("NAME=value" strings,
// as os.Environ returns; tests pass their own). It then reads every ...File key's file into its value,
// checks that the TLS files load, and validates the result (Validate).
//
// Warnings name SCIMGW_ variables that match no key; they are ignored, since Kubernetes injects
// variables of its own. The error, when not nil, is a Problems listing every problem found, each with
// its key path: an unreadable or unparsable file, unknown YAML keys, values of the wrong type,
// unparsable SCIMGW_ values, a value set together with its ...File key, an unreadable ...File or TLS
// file, and every validation problem. On error the returned *Config is nil.
func Load(path string, environ []string) (*Config, []string, error) {
	return LoadWith(path, environ, LoadOptions{})
}

// LoadOptions change what LoadWith reads and reports; the zero value is Load.
type LoadOptions struct {
	// SkipFiles leaves the files of ...File keys and TLS keys unread, for checking a configuration
	// away from the Secrets it names (the chart's rendered ConfigMap on a laptop). A ...File key then
	// stands for a value that passes validation, and each file skipped is named in a warning (within
	// Sections, when set).
	SkipFiles bool
	// Sections, when not empty, limits the problems reported to these key paths and the keys below
	// them (and to problems of the file as a whole), for a command that uses only part of the
	// configuration: `translate` needs the mapping, endpoints and limits, not the tokens or secrets.
	Sections []string
}

// LoadWith is Load with options.
func LoadWith(path string, environ []string, opts LoadOptions) (*Config, []string, error) {
	tree := configTree()
	var ps Problems

	var defaults Config
	defaults.ApplyDefaults()
	defaultsRaw, _ := toRaw(tree, reflect.ValueOf(defaults))
	layers := koanf.New(".")
	if err := layers.Load(confmap.Provider(defaultsRaw.(map[string]any), ""), nil); err != nil {
		return nil, nil, Problems{{Message: "loading the defaults: " + err.Error()}}
	}

	if path != "" {
		fileLayer := koanf.New(".")
		if err := fileLayer.Load(file.Provider(path), yaml.Parser()); err != nil {
			return nil, nil, Problems{{Message: fmt.Sprintf("config file %s: %v", path, err)}}
		}
		raw := fileLayer.Raw()
		checkKeys(tree, raw, "", &ps)
		pruneNulls(raw)
		if err := layers.Load(confmap.Provider(raw, ""), nil); err != nil {
			return nil, nil, Problems{{Message: fmt.Sprintf("config file %s: %v", path, err)}}
		}
	}

	merged := layers.Raw()
	warnings, envProblems := applyEnv(merged, environ)
	ps = append(ps, envProblems...)
	ps = append(ps, inheritTenants(merged, defaultsRaw.(map[string]any))...)

	final := koanf.New(".")
	if err := final.Load(confmap.Provider(merged, ""), nil); err != nil {
		return nil, warnings, append(ps, Problem{Message: err.Error()})
	}
	var c Config
	err := final.UnmarshalWithConf("", &c, koanf.UnmarshalConf{
		Tag: "yaml",
		DecoderConfig: &mapstructure.DecoderConfig{
			DecodeHook:  durationHook,
			ErrorUnused: true,
			MatchName:   func(key, field string) bool { return key == field },
		},
	})
	ps = append(ps, decodeProblems(err)...)

	// Paths already reported, with the keys a problem makes meaningless, so that validation does
	// not report them a second time.
	reported := make([]string, 0, len(ps))
	for _, p := range ps {
		reported = append(reported, p.Path)
	}
	var skipped []Problem
	c.secretFiles, skipped, reported = readSecretFiles(&c, &ps, reported, opts.SkipFiles)
	if opts.SkipFiles {
		skipped = append(skipped, skippedTLSFiles(&c)...)
	} else {
		for _, t := range tlsSections(&c) {
			checkTLSFiles(t.path, t.tls, &ps)
		}
	}
	for _, s := range skipped {
		if len(opts.Sections) == 0 || coveredBy(opts.Sections, s.Path) {
			warnings = append(warnings, s.String())
		}
	}

	for _, p := range Validate(&c) {
		if !coveredBy(reported, p.Path) {
			ps = append(ps, p)
		}
	}
	if len(opts.Sections) > 0 {
		ps = slices.DeleteFunc(ps, func(p Problem) bool { return p.Path != "" && !coveredBy(opts.Sections, p.Path) })
	}
	if len(ps) > 0 {
		return nil, warnings, ps
	}
	return &c, warnings, nil
}

// Check loads the configuration as Load does, for `scim-gateway check-config`: it returns the
// warnings and every problem (none when the configuration is valid).
func Check(path string, environ []string) (warnings []string, problems Problems) {
	return CheckWith(path, environ, LoadOptions{})
}

// CheckWith is Check with options (check-config --skip-files).
func CheckWith(path string, environ []string, opts LoadOptions) (warnings []string, problems Problems) {
	_, warnings, err := LoadWith(path, environ, opts)
	if err != nil && !errors.As(err, &problems) {
		problems = Problems{{Message: err.Error()}}
	}
	return warnings, problems
}

// SecretFiles lists the files Load read into ...File keys (server.tokens[].valueFile, admin.tokenFile,
// store.redis.passwordFile, store.redis.sentinelPasswordFile, upstream.auth.clientSecretFile,
// upstream.auth.tokenFile, logging.translation.hashKeyFile, then each tenant's tokens[].valueFile and
// upstream.auth files), in key order, each once.
func (c *Config) SecretFiles() []string { return slices.Clone(c.secretFiles) }

// TLSFiles lists the CA, certificate and key files that the TLS sections name.
func (c *Config) TLSFiles() []string {
	var files []string
	for _, t := range tlsSections(c) {
		for _, f := range []string{t.tls.CAFile, t.tls.CertFile, t.tls.KeyFile} {
			if f != "" && !slices.Contains(files, f) {
				files = append(files, f)
			}
		}
	}
	return files
}

type tlsSection struct {
	path string
	tls  TLS
}

// tlsSections are the TLS blocks of c with their key paths: the portal's, Redis's, each tenant's portal's.
func tlsSections(c *Config) []tlsSection {
	s := []tlsSection{{"upstream.tls", c.Upstream.TLS}, {"store.redis.tls", c.Store.Redis.TLS}}
	for i, t := range c.Tenants {
		s = append(s, tlsSection{indexKey("tenants", i) + ".upstream.tls", t.Upstream.TLS})
	}
	return s
}

// secretKey is one value that may instead be read from a file.
type secretKey struct {
	section   string // key path of the section holding both keys
	valueKey  string
	fileKey   string
	value     *string
	valueFile *string
}

func secretKeys(c *Config) []secretKey {
	var keys []secretKey
	for i := range c.Server.Tokens {
		t := &c.Server.Tokens[i]
		keys = append(keys, secretKey{indexKey("server.tokens", i), "value", "valueFile", &t.Value, &t.ValueFile})
	}
	a := &c.Upstream.Auth
	keys = append(keys,
		secretKey{"admin", "token", "tokenFile", &c.Admin.Token, &c.Admin.TokenFile},
		secretKey{"store.redis", "password", "passwordFile", &c.Store.Redis.Password, &c.Store.Redis.PasswordFile},
		secretKey{"store.redis", "sentinelPassword", "sentinelPasswordFile", &c.Store.Redis.SentinelPassword, &c.Store.Redis.SentinelPasswordFile},
		secretKey{"upstream.auth", "clientSecret", "clientSecretFile", &a.ClientSecret, &a.ClientSecretFile},
		secretKey{"upstream.auth", "token", "tokenFile", &a.Token, &a.TokenFile},
		secretKey{"logging.translation", "hashKey", "hashKeyFile", &c.Logging.Translation.HashKey, &c.Logging.Translation.HashKeyFile},
	)
	for i := range c.Tenants {
		t := &c.Tenants[i]
		p := indexKey("tenants", i)
		for j := range t.Tokens {
			tok := &t.Tokens[j]
			keys = append(keys, secretKey{indexKey(p+".tokens", j), "value", "valueFile", &tok.Value, &tok.ValueFile})
		}
		ta := &t.Upstream.Auth
		keys = append(keys,
			secretKey{p + ".upstream.auth", "clientSecret", "clientSecretFile", &ta.ClientSecret, &ta.ClientSecretFile},
			secretKey{p + ".upstream.auth", "token", "tokenFile", &ta.Token, &ta.TokenFile})
	}
	return keys
}

// readSecretFiles fills every value whose ...File key is set from that file, trailing whitespace
// trimmed, and returns the files read and reported extended with the value keys it could not fill.
// With skip it reads no file: each value gets a placeholder that passes validation (naming the file,
// so that two keys on two files differ), and the keys skipped come back with a note naming the file.
func readSecretFiles(c *Config, ps *Problems, reported []string, skip bool) (files []string, skipped []Problem, reportedOut []string) {
	for _, k := range secretKeys(c) {
		if *k.valueFile == "" {
			continue
		}
		fileKey := joinKey(k.section, k.fileKey)
		valueKey := joinKey(k.section, k.valueKey)
		if *k.value != "" {
			ps.add(fileKey, "set together with "+valueKey+"; set only one")
			reported = append(reported, valueKey)
			continue
		}
		if skip {
			*k.value = "(the contents of " + *k.valueFile + ", not read)"
			skipped = append(skipped, Problem{fileKey, *k.valueFile + " not read (files skipped)"})
			continue
		}
		data, err := os.ReadFile(*k.valueFile)
		if err != nil {
			ps.add(fileKey, "cannot read the file: "+err.Error())
			reported = append(reported, valueKey)
			continue
		}
		*k.value = strings.TrimRight(string(data), " \t\r\n")
		if !slices.Contains(files, *k.valueFile) { // a tenant may inherit the top level's file
			files = append(files, *k.valueFile)
		}
	}
	return files, skipped, reported
}

// skippedTLSFiles lists the TLS files that LoadOptions.SkipFiles leaves unchecked, each with a note.
func skippedTLSFiles(c *Config) (skipped []Problem) {
	for _, t := range tlsSections(c) {
		for _, f := range []struct{ key, file string }{{"caFile", t.tls.CAFile}, {"certFile", t.tls.CertFile}, {"keyFile", t.tls.KeyFile}} {
			if f.file != "" {
				skipped = append(skipped, Problem{t.path + "." + f.key, f.file + " not read (files skipped)"})
			}
		}
	}
	return skipped
}

// checkTLSFiles reports TLS files that cannot be read or do not hold what their key says.
func checkTLSFiles(path string, t TLS, ps *Problems) {
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		switch {
		case err != nil:
			ps.add(path+".caFile", "cannot read the file: "+err.Error())
		case !x509.NewCertPool().AppendCertsFromPEM(pem):
			ps.add(path+".caFile", "holds no PEM certificate")
		}
	}
	if t.CertFile == "" || t.KeyFile == "" {
		return // Validate reports one without the other
	}
	if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
		ps.add(path+".certFile", "cannot load the certificate and key: "+err.Error())
	}
}

// durationHook decodes durations from Go duration strings only: a bare number would silently mean
// nanoseconds.
func durationHook(_ reflect.Type, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	s, ok := data.(string)
	if !ok {
		return nil, fmt.Errorf("must be a duration such as \"10s\" or \"500ms\", got %s", yamlKind(data))
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil, fmt.Errorf("must be a duration such as \"10s\" or \"500ms\", got %q", s)
	}
	return d, nil
}

// mapEntryName rewrites mapstructure's "upstream.endpoints[getUser]" as "upstream.endpoints.getUser".
var mapEntryName = regexp.MustCompile(`\[([^\]0-9][^\]]*)\]`)

// decodeProblems turns mapstructure's joined errors into problems with key paths, sorted by path.
func decodeProblems(err error) Problems {
	var ps Problems
	var walk func(error)
	walk = func(err error) {
		de, isDecodeError := err.(*mapstructure.DecodeError)
		switch e := err.(type) {
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
			return
		case interface{ Unwrap() error }:
			if !isDecodeError { // mapstructure's "decoding failed due to..." wrapper
				walk(e.Unwrap())
				return
			}
		}
		if !isDecodeError {
			ps.add("", err.Error())
			return
		}
		path := mapEntryName.ReplaceAllString(de.Name(), ".$1")
		var ue *mapstructure.UnconvertibleTypeError
		if errors.As(de.Unwrap(), &ue) {
			ps.add(path, fmt.Sprintf("must be %s, got %s", describeType(ue.Expected.Type()), yamlKind(ue.Value)))
			return
		}
		ps.add(path, de.Unwrap().Error())
	}
	if err != nil {
		walk(err)
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Path < ps[j].Path })
	return ps
}

// describeType names what a key of type t takes, in YAML terms.
func describeType(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration such as \"10s\""
	case t.Kind() == reflect.Pointer:
		return describeType(t.Elem())
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "a mapping"
	}
	return t.String()
}

// yamlKind names the kind of a parsed YAML value.
func yamlKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int64, uint64, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// coveredBy reports whether path is one of reported or lies below one of them.
func coveredBy(reported []string, path string) bool {
	for _, r := range reported {
		if r == "" {
			continue
		}
		if path == r || strings.HasPrefix(path, r+".") || strings.HasPrefix(path, r+"[") {
			return true
		}
	}
	return false
}
