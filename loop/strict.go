package loop

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FieldError is one configuration problem at a dotted path such as
// "decoder.calibration". Line is the 1-based line in the YAML file, or 0 when
// the problem is not tied to one line (a missing or inconsistent value).
type FieldError struct {
	Path string
	Line int
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s (line %d): %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

// decodeStrict decodes the YAML document in node into out (a pointer to a
// struct), rejecting unknown keys and collecting every problem with its dotted
// path and line instead of stopping at the first. Values already in out are
// the defaults: keys absent from the document leave them as they are.
func decodeStrict(node *yaml.Node, out any) []error {
	if node.Kind == 0 { // empty input: nothing to decode
		return nil
	}
	if node.Kind == yaml.DocumentNode {
		if len(node.Content) == 0 {
			return nil
		}
		node = node.Content[0]
	}
	var errs []error
	walkNode(node, reflect.ValueOf(out).Elem(), "", &errs)
	return errs
}

func joinPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// walkNode decodes node into v, recursing through structs (by their yaml
// tags, honouring ",inline") and slices of structs, and decoding every other
// value with yaml.v3 itself so that its conversions (durations, numbers)
// apply.
func walkNode(node *yaml.Node, v reflect.Value, path string, errs *[]error) {
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	switch {
	case v.Kind() == reflect.Struct:
		if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
			return
		}
		if node.Kind != yaml.MappingNode {
			*errs = append(*errs, &FieldError{Path: orRoot(path), Line: node.Line, Msg: "expected a mapping of keys"})
			return
		}
		fields := structFields(v)
		seen := map[string]bool{}
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, val := node.Content[i], node.Content[i+1]
			p := joinPath(path, k.Value)
			if seen[k.Value] {
				*errs = append(*errs, &FieldError{Path: p, Line: k.Line, Msg: "key given twice"})
				continue
			}
			seen[k.Value] = true
			f, ok := fields[k.Value]
			if !ok {
				*errs = append(*errs, &FieldError{Path: p, Line: k.Line, Msg: "unknown key" + suggest(k.Value, fields)})
				continue
			}
			walkNode(val, f, p, errs)
		}
	case v.Kind() == reflect.Slice && elemIsStruct(v.Type()):
		if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
			return
		}
		if node.Kind != yaml.SequenceNode {
			*errs = append(*errs, &FieldError{Path: orRoot(path), Line: node.Line, Msg: "expected a list"})
			return
		}
		s := reflect.MakeSlice(v.Type(), len(node.Content), len(node.Content))
		for i, item := range node.Content {
			walkNode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i), errs)
		}
		v.Set(s)
	default:
		if err := node.Decode(v.Addr().Interface()); err != nil {
			*errs = append(*errs, &FieldError{Path: orRoot(path), Line: node.Line, Msg: cleanYAMLError(err)})
		}
	}
}

func elemIsStruct(t reflect.Type) bool {
	return t.Elem().Kind() == reflect.Struct
}

func orRoot(p string) string {
	if p == "" {
		return "(document)"
	}
	return p
}

// structFields maps yaml keys to the settable fields of v, flattening
// ",inline" structs. Fields tagged "-" are not configurable.
func structFields(v reflect.Value) map[string]reflect.Value {
	m := map[string]reflect.Value{}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, f := range structFields(v.Field(i)) {
				m[k] = f
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		m[name] = v.Field(i)
	}
	return m
}

// suggest names the closest known key, if one is close.
func suggest(key string, fields map[string]reflect.Value) string {
	best, bestD := "", 3
	for k := range fields {
		if d := editDistance(key, k); d < bestD || (d == bestD && best != "" && k < best) {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// cleanYAMLError strips yaml.v3's "yaml: unmarshal errors:\n  line N: "
// decoration; the path and line are reported by FieldError.
func cleanYAMLError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg := te.Errors[0]
		if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
			msg = rest
		}
		return msg
	}
	return err.Error()
}
