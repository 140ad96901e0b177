package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The key tree is derived from the Config struct and its `yaml` tags, so YAML checking, SCIMGW_
// overrides, the defaults layer and LiveChanges can never drift from the types.

type nodeKind int

const (
	kindLeaf   nodeKind = iota // string, bool, integer, duration or *bool
	kindStruct                 // a section: fixed camelCase keys
	kindList                   // a YAML list; items addressed by index
	kindMap                    // a mapping whose keys come from a fixed set (upstream.endpoints)
)

type keyNode struct {
	kind    nodeKind
	typ     reflect.Type
	fields  []keyField // kindStruct
	elem    *keyNode   // kindList, kindMap
	mapKeys []string   // kindMap: the accepted keys
}

type keyField struct {
	name  string // the yaml tag
	index int    // the struct field index
	node  *keyNode
}

var durationType = reflect.TypeOf(time.Duration(0))

// mapKeySets names the accepted keys of each map type in the tree; nil accepts any key (the names of
// logging.translation.attributes are SCIM attributes, which no fixed set lists).
var mapKeySets = map[reflect.Type][]string{
	reflect.TypeOf(map[string]Endpoint(nil)): Operations,
	reflect.TypeOf(map[string]string(nil)):   nil,
}

// configTree is the key tree of Config, built once.
var configTree = sync.OnceValue(func() *keyNode { return buildTree(reflect.TypeOf(Config{})) })

// buildTree derives the key tree of t. It panics on a type the loader cannot handle: that is a bug in
// types.go, caught by every test.
func buildTree(t reflect.Type) *keyNode {
	switch {
	case t == durationType:
		return &keyNode{kind: kindLeaf, typ: t}
	case t.Kind() == reflect.Struct:
		n := &keyNode{kind: kindStruct, typ: t}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				panic(fmt.Sprintf("config: field %s.%s has no yaml tag", t.Name(), f.Name))
			}
			n.fields = append(n.fields, keyField{name: name, index: i, node: buildTree(f.Type)})
		}
		return n
	case t.Kind() == reflect.Slice:
		return &keyNode{kind: kindList, typ: t, elem: buildTree(t.Elem())}
	case t.Kind() == reflect.Map:
		keys, ok := mapKeySets[t]
		if !ok || t.Key().Kind() != reflect.String {
			panic(fmt.Sprintf("config: map type %s has no key set", t))
		}
		return &keyNode{kind: kindMap, typ: t, elem: buildTree(t.Elem()), mapKeys: keys}
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Bool:
		return &keyNode{kind: kindLeaf, typ: t}
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64:
		return &keyNode{kind: kindLeaf, typ: t}
	}
	panic(fmt.Sprintf("config: unsupported type %s in the key tree", t))
}

// field finds a struct key by its exact name.
func (n *keyNode) field(name string) (keyField, bool) {
	for _, f := range n.fields {
		if f.name == name {
			return f, true
		}
	}
	return keyField{}, false
}

// fieldFold finds a struct key ignoring case.
func (n *keyNode) fieldFold(name string) (keyField, bool) {
	for _, f := range n.fields {
		if strings.EqualFold(f.name, name) {
			return f, true
		}
	}
	return keyField{}, false
}

// mapKeyFold finds an accepted map key ignoring case.
func (n *keyNode) mapKeyFold(name string) (string, bool) {
	for _, k := range n.mapKeys {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexKey(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// checkKeys reports every key of raw (a parsed YAML document) that the tree does not know, with its
// path, and deletes it so decoding can go on and find the other problems.
func checkKeys(n *keyNode, raw any, path string, ps *Problems) {
	switch n.kind {
	case kindStruct:
		m, ok := raw.(map[string]any)
		if !ok {
			return // not a mapping: decoding reports the type
		}
		for _, k := range sortedKeys(m) {
			f, ok := n.field(k)
			if !ok {
				msg := "unknown key"
				if g, ok := n.fieldFold(k); ok {
					msg += fmt.Sprintf(" (did you mean %q? keys are case-sensitive)", g.name)
				}
				ps.add(joinKey(path, k), msg)
				delete(m, k)
				continue
			}
			checkKeys(f.node, m[k], joinKey(path, k), ps)
		}
	case kindMap:
		m, ok := raw.(map[string]any)
		if !ok {
			return
		}
		for _, k := range sortedKeys(m) {
			if n.mapKeys != nil && !containsString(n.mapKeys, k) {
				msg := "unknown key; one of " + strings.Join(n.mapKeys, ", ")
				if g, ok := n.mapKeyFold(k); ok {
					msg = fmt.Sprintf("unknown key (did you mean %q? keys are case-sensitive)", g)
				}
				ps.add(joinKey(path, k), msg)
				delete(m, k)
				continue
			}
			checkKeys(n.elem, m[k], joinKey(path, k), ps)
		}
	case kindList:
		l, ok := raw.([]any)
		if !ok {
			return
		}
		for i, item := range l {
			checkKeys(n.elem, item, indexKey(path, i), ps)
		}
	}
}

// pruneNulls deletes the null values of every mapping in raw, so an empty section in the file
// ("store:" with everything below commented out) leaves the defaults alone instead of erasing them.
func pruneNulls(raw any) {
	switch v := raw.(type) {
	case map[string]any:
		for k, x := range v {
			if x == nil {
				delete(v, k)
				continue
			}
			pruneNulls(x)
		}
	case []any:
		for _, x := range v {
			pruneNulls(x)
		}
	}
}

// toRaw renders v (of the tree's type) as a koanf map layer: mappings keyed by yaml tags, durations as
// Go duration strings. Nil slices, maps and pointers are left out.
func toRaw(n *keyNode, v reflect.Value) (any, bool) {
	switch n.kind {
	case kindStruct:
		m := make(map[string]any, len(n.fields))
		for _, f := range n.fields {
			if x, ok := toRaw(f.node, v.Field(f.index)); ok {
				m[f.name] = x
			}
		}
		return m, true
	case kindList:
		if v.IsNil() {
			return nil, false
		}
		l := make([]any, 0, v.Len())
		for i := range v.Len() {
			x, _ := toRaw(n.elem, v.Index(i))
			l = append(l, x)
		}
		return l, true
	case kindMap:
		if v.IsNil() {
			return nil, false
		}
		m := make(map[string]any, v.Len())
		for _, k := range v.MapKeys() {
			if x, ok := toRaw(n.elem, v.MapIndex(k)); ok {
				m[k.String()] = x
			}
		}
		return m, true
	}
	switch {
	case n.typ == durationType:
		return time.Duration(v.Int()).String(), true
	case n.typ.Kind() == reflect.Pointer:
		if v.IsNil() {
			return nil, false
		}
		return v.Elem().Interface(), true
	}
	return v.Interface(), true
}

// flatten renders every leaf of v as path -> printed value (list items by index, map entries by key).
func flatten(n *keyNode, v reflect.Value, path string, out map[string]string) {
	switch n.kind {
	case kindStruct:
		for _, f := range n.fields {
			flatten(f.node, v.Field(f.index), joinKey(path, f.name), out)
		}
	case kindList:
		for i := range v.Len() {
			flatten(n.elem, v.Index(i), indexKey(path, i), out)
		}
	case kindMap:
		for _, k := range v.MapKeys() {
			flatten(n.elem, v.MapIndex(k), joinKey(path, k.String()), out)
		}
	default:
		if n.typ.Kind() == reflect.Pointer {
			if v.IsNil() {
				out[path] = "<nil>"
				return
			}
			v = v.Elem()
		}
		out[path] = fmt.Sprint(v.Interface())
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
