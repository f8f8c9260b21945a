package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var (
	// quotedValue finds the quoted values in a message, for redact.
	quotedValue      = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	unmarshalerIface = reflect.TypeFor[yaml.Unmarshaler]()
	secretType       = reflect.TypeFor[Secret]()
)

// decodeError is one decoding problem; line is 0 when unknown.
type decodeError struct {
	line int
	msg  string
}

// decodeStrict decodes data, which must hold exactly one YAML document with a
// mapping at the top, into cfg, rejecting unknown keys, duplicate keys and
// wrong types. All problems are returned, joined, in line order.
//
// The problems are found by walking the parsed document against the Config
// types (checkDocument), from the nodes' own lines, keys and kinds; yaml.v3
// decodes only a document the walk found nothing wrong with. No message of
// yaml.v3's is parsed, so its wording may change without changing ours.
func decodeStrict(data []byte, cfg *Config) error {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("config: the file is empty (want twilio and billing_groups)")
		}
		return syntaxError(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return syntaxError(err)
	default:
		return fmt.Errorf("config: line %d: a second YAML document (want exactly one)", next.Line)
	}
	if len(doc.Content) != 1 || doc.Content[0].ShortTag() == "!!null" {
		return errors.New("config: the file is empty (want twilio and billing_groups)")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("config: line %d: want a mapping at the top level, got %s", root.Line, describe(root))
	}

	c := newDocumentCheck(root)
	if len(c.errs) > 0 {
		return c.report()
	}
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(cfg); err != nil {
		// The walk mirrors what yaml.v3 refuses; should they ever
		// disagree, say so without quoting yaml.v3 (whose message may
		// hold a value of the file, even the secret).
		return errors.New("config: the file could not be decoded, although every key and value looks right (please report this as a bug)")
	}
	return nil
}

// syntaxError rewords an error of the YAML parser. The parser's messages
// name a line and a token, never a value of the document.
func syntaxError(err error) error {
	return fmt.Errorf("config: invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
}

// describe says what a node holds, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias != nil {
			return describe(n.Alias)
		}
		return "an alias"
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "a YAML document"
}

// want says what a Go type needs in YAML.
func want(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "a mapping"
	}
	return t.String()
}

// documentCheck walks a document against the Go types it decodes into and
// collects every problem with the line and key path of its node.
type documentCheck struct {
	visited map[*yaml.Node]bool // alias targets already walked
	secrets []string            // inline client secrets, to keep out of messages
	errs    []decodeError
}

// newDocumentCheck checks the document whose top-level mapping is root.
func newDocumentCheck(root *yaml.Node) *documentCheck {
	c := &documentCheck{visited: map[*yaml.Node]bool{}}
	c.walk(root, reflect.TypeFor[Config](), "")
	return c
}

// add records a problem at node n.
func (c *documentCheck) add(n *yaml.Node, format string, args ...any) {
	c.errs = append(c.errs, decodeError{n.Line, fmt.Sprintf(format, args...)})
}

// walk checks n, which decodes into t at path.
func (c *documentCheck) walk(n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		// Walk each alias target once, keeping a billion-laughs document
		// from costing a billion steps.
		if n.Alias == nil || c.visited[n.Alias] {
			return
		}
		c.visited[n.Alias] = true
		n = n.Alias
	}
	hidden := hidesValue(t, path)
	if hidden && n.Kind == yaml.ScalarNode && n.Value != "" {
		c.secrets = append(c.secrets, n.Value, strings.Trim(strconv.Quote(n.Value), `"`))
	}
	if n.Kind == yaml.ScalarNode {
		// A value that does not fit its explicit tag (page_size: !!int
		// abc) cannot be decoded into anything.
		var v any
		if err := n.Decode(&v); err != nil {
			got := describe(n)
			if hidden {
				got = "a value" // never quote what may be the secret
			}
			c.add(n, "%s: cannot decode %s as %s", path, got, n.ShortTag())
			return
		}
		if n.ShortTag() == "!!null" {
			return // yaml.v3 leaves the zero value
		}
	}
	if reflect.PointerTo(t).Implements(unmarshalerIface) {
		err := reflect.New(t).Interface().(yaml.Unmarshaler).UnmarshalYAML(n)
		var ne *nodeError
		switch {
		case err == nil:
		case errors.As(err, &ne):
			c.errs = append(c.errs, decodeError{ne.line, fmt.Sprintf("%s: %s", path, ne.msg)})
		default:
			c.add(n, "%s: %v", path, err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		c.mapping(n, t, path, func(k, v *yaml.Node) {
			f, ok := fieldByKey(t, k.Value)
			if !ok || k.Kind != yaml.ScalarNode {
				c.add(k, "unknown key %s %s", describe(k), where(path))
				return
			}
			c.walk(v, f.Type, joinPath(path, k.Value))
		})
	case reflect.Map:
		c.mapping(n, t, path, func(k, v *yaml.Node) {
			c.walk(k, t.Key(), joinPath(path, "(key)"))
			c.walk(v, t.Elem(), joinPath(path, k.Value))
		})
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.add(n, "%s: want a list, got %s", path, describe(n))
			return
		}
		for i, item := range n.Content {
			c.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	default:
		c.scalar(n, t, path, hidden)
	}
}

// mapping checks that n is a mapping without duplicate keys and calls each
// for each key and value, following merge keys (<<) into the mappings they
// name as yaml.v3 does.
func (c *documentCheck) mapping(n *yaml.Node, t reflect.Type, path string, each func(k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		c.add(n, "%s: want %s, got %s", path, want(t), describe(n))
		return
	}
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				merged = v.Content
			}
			for _, m := range merged {
				target := m
				if m.Kind == yaml.AliasNode && m.Alias != nil {
					target = m.Alias
				}
				if target.Kind != yaml.MappingNode {
					c.add(m, "a merge key (<<) %s takes a mapping or a list of mappings, got %s", where(path), describe(target))
					continue
				}
				c.walk(m, t, path)
			}
			continue
		}
		if k.Kind == yaml.ScalarNode {
			if line, ok := first[k.Value]; ok {
				c.add(k, "duplicate key %q %s (first set at line %d)", k.Value, where(path), line)
				continue
			}
			first[k.Value] = k.Line
		}
		each(k, v)
	}
}

// scalar checks that n decodes into the scalar type t. A float is no
// integer: yaml.v3 would truncate 1.5 pages to 1.
func (c *documentCheck) scalar(n *yaml.Node, t reflect.Type, path string, hidden bool) {
	got := describe(n)
	if hidden && n.Kind == yaml.ScalarNode {
		got = "a value" // never quote what may be the secret
	}
	if n.Kind != yaml.ScalarNode {
		c.add(n, "%s: want %s, got %s", path, want(t), got)
		return
	}
	isInt := want(t) == "an integer"
	if err := n.Decode(reflect.New(t).Interface()); err != nil || (isInt && n.ShortTag() == "!!float") {
		c.add(n, "%s: want %s, got %s", path, want(t), got)
	}
}

// report joins the problems in line order, each once, with the client
// secret kept out of every quoted value.
func (c *documentCheck) report() error {
	sort.SliceStable(c.errs, func(i, j int) bool { return c.errs[i].line < c.errs[j].line })
	var joined []error
	seen := map[decodeError]bool{}
	for _, e := range c.errs {
		if seen[e] {
			continue // an alias's target is walked once, but a merge may repeat it
		}
		seen[e] = true
		joined = append(joined, c.redact(fmt.Errorf("config: line %d: %s", e.line, e.msg)))
	}
	return joinErrors(joined)
}

// hidesValue reports whether the value at path, of type t, is never quoted in
// a message: the client secret, and client_secret_file, where an operator
// may paste the secret instead of a path.
func hidesValue(t reflect.Type, path string) bool {
	return t == secretType || path == "twilio.client_secret_file"
}

// fieldByKey returns the field of struct type t whose yaml tag names key.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// joinPath appends key to a dotted path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// where names a mapping's path in "unknown key ... in X" messages.
func where(path string) string {
	if path == "" {
		return "at the top level"
	}
	return "in " + path
}

// redact removes the inline client secret from the quoted values in err,
// should a message ever quote it (say, as an unknown key). Only quoted values
// are touched, so that a short secret cannot garble the rest of the message.
func (c *documentCheck) redact(err error) error {
	if len(c.secrets) == 0 {
		return err
	}
	var pairs []string
	for _, secret := range c.secrets {
		pairs = append(pairs, secret, redacted)
	}
	msg := quotedValue.ReplaceAllStringFunc(err.Error(), strings.NewReplacer(pairs...).Replace)
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}
