package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every environment variable that overrides a configuration key.
const EnvPrefix = "SCIMGW_"

// errUnknownVar marks a SCIMGW_ variable that names no key: a warning, since Kubernetes injects
// <SERVICE>_... variables of its own.
var errUnknownVar = errors.New("names no configuration key")

// envVar is one SCIMGW_ variable split into its key segments.
type envVar struct {
	name  string
	value string
	segs  []string
}

// applyEnv applies every SCIMGW_ variable of environ ("NAME=value" strings, as os.Environ returns) to
// root, the merged defaults and file layers. A variable names a key by its path in any case, segments
// joined by "_", list items by index; an index equal to the list's length adds an item. A list of
// scalars may also be given whole, comma-separated. Variables that name no key come back as warnings;
// values that do not parse, and variables that name a section rather than a key, as problems.
func applyEnv(root map[string]any, environ []string) (warnings []string, ps Problems) {
	var vars []envVar
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		vars = append(vars, envVar{name: name, value: value, segs: strings.Split(name[len(EnvPrefix):], "_")})
	}
	// Shorter paths first (a whole list before its items) and indexes in numeric order, so that
	// SCIMGW_SERVER_TOKENS_1_... after SCIMGW_SERVER_TOKENS_0_... can add two items to an empty list.
	sort.SliceStable(vars, func(i, j int) bool { return segsLess(vars[i].segs, vars[j].segs) })

	for _, v := range vars {
		_, err := setEnv(configTree(), root, v, v.segs, "")
		var p *envProblem
		switch {
		case err == nil:
		case errors.Is(err, errUnknownVar):
			warnings = append(warnings, v.name+": "+errUnknownVar.Error()+", ignored")
		case errors.As(err, &p):
			ps = append(ps, p.Problem)
		}
	}
	return warnings, ps
}

// envProblem lets a Problem travel as an error inside setEnv.
type envProblem struct{ Problem }

func (p *envProblem) Error() string { return p.String() }

// setEnv sets the key that segs names below cur (whose key tree is n, at path) and returns the new cur.
// On error cur is returned unchanged.
func setEnv(n *keyNode, cur any, v envVar, segs []string, path string) (any, error) {
	if len(segs) == 0 {
		return envValue(n, v, path)
	}
	seg := segs[0]
	switch n.kind {
	case kindStruct:
		f, ok := n.fieldFold(seg)
		if !ok {
			return cur, errUnknownVar
		}
		m, _ := cur.(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		child, err := setEnv(f.node, m[f.name], v, segs[1:], joinKey(path, f.name))
		if err != nil {
			return cur, err
		}
		m[f.name] = child
		return m, nil
	case kindMap:
		key, ok := n.mapKeyFold(seg)
		if !ok && n.mapKeys == nil {
			key, ok = seg, true // any key: as the variable spells it
		}
		if !ok {
			return cur, errUnknownVar
		}
		m, _ := cur.(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		child, err := setEnv(n.elem, m[key], v, segs[1:], joinKey(path, key))
		if err != nil {
			return cur, err
		}
		m[key] = child
		return m, nil
	case kindList:
		i, err := strconv.Atoi(seg)
		if err != nil || i < 0 {
			return cur, errUnknownVar
		}
		l, _ := cur.([]any)
		if i > len(l) {
			return cur, &envProblem{Problem{Path: indexKey(path, i), Message: fmt.Sprintf(
				"from %s: index %d is past the end of the list (%d items); an index may add only the next item",
				v.name, i, len(l))}}
		}
		child, err := setEnv(n.elem, itemAt(l, i), v, segs[1:], indexKey(path, i))
		if err != nil {
			return cur, err
		}
		if i == len(l) {
			return append(l, child), nil
		}
		l[i] = child
		return l, nil
	}
	return cur, errUnknownVar // below a leaf
}

func itemAt(l []any, i int) any {
	if i < len(l) {
		return l[i]
	}
	return nil
}

// envValue converts the variable's value to what the YAML layer would hold for a key of type n.
func envValue(n *keyNode, v envVar, path string) (any, error) {
	bad := func(format string, args ...any) error {
		return &envProblem{Problem{Path: path, Message: "from " + v.name + ": " + fmt.Sprintf(format, args...)}}
	}
	switch n.kind {
	case kindStruct, kindMap:
		return nil, bad("names a section, not a key; set the keys below it")
	case kindList:
		if n.elem.kind != kindLeaf {
			return nil, bad("names a list of sections; set its items by index, such as %s_0_...", v.name)
		}
		if n.elem.typ.Kind() != reflect.String {
			return nil, bad("set this list's items by index, such as %s_0", v.name)
		}
		items := []any{}
		for _, s := range strings.Split(v.value, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		return items, nil
	}
	switch {
	case n.typ == durationType:
		if _, err := time.ParseDuration(v.value); err != nil {
			return nil, bad("%q is not a duration such as \"10s\" or \"500ms\"", v.value)
		}
		return v.value, nil
	case n.typ.Kind() == reflect.Bool, n.typ.Kind() == reflect.Pointer:
		b, err := strconv.ParseBool(v.value)
		if err != nil {
			return nil, bad("%q is not true or false", v.value)
		}
		return b, nil
	case n.typ.Kind() == reflect.Int, n.typ.Kind() == reflect.Int64:
		i, err := strconv.ParseInt(v.value, 10, 64)
		if err != nil {
			return nil, bad("%q is not an integer", v.value)
		}
		return int(i), nil
	}
	return v.value, nil
}

// segsLess orders key paths segment by segment, numbers numerically, a prefix first.
func segsLess(a, b []string) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			continue
		}
		ai, aerr := strconv.Atoi(a[i])
		bi, berr := strconv.Atoi(b[i])
		if aerr == nil && berr == nil && ai != bi {
			return ai < bi
		}
		return strings.ToUpper(a[i]) < strings.ToUpper(b[i])
	}
	return len(a) < len(b)
}
