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

// Shapes of the messages yaml.v3 (and Regexp.UnmarshalYAML) put in a
// *yaml.TypeError, rewritten into messages that name the key.
var (
	unknownFieldMsg  = regexp.MustCompile(`(?s)^line (\d+): field (.*) not found in type (\S+)$`)
	duplicateKeyMsg  = regexp.MustCompile(`(?s)^line (\d+): mapping key (".*") already defined at line (\d+)$`)
	cannotDecodeMsg  = regexp.MustCompile("(?s)^line (\\d+): cannot unmarshal (!!\\w+)(?: `.*`)? into (\\S+)$")
	nodeMsg          = regexp.MustCompile(`(?s)^line (\d+): column (\d+): (.*)$`)
	lineMsg          = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)
	explicitTagMsg   = regexp.MustCompile("(?s)^yaml: cannot decode (!!\\w+) `(.*)` as a (!!\\w+)$")
	quotedValue      = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	unmarshalerIface = reflect.TypeFor[yaml.Unmarshaler]()
	secretType       = reflect.TypeFor[Secret]()
)

// section names the YAML section of a Go type, for messages yaml.v3 gives
// about a node the index cannot find.
func section(goType string) (string, bool) {
	switch goType {
	case "config.Config":
		return "the top level", true
	case "config.Twilio":
		return "twilio", true
	case "config.BillingGroup":
		return "a billing group", true
	case "config.Budget":
		return "budget", true
	case "config.CategoryFilter":
		return "product_categories", true
	}
	return "", false
}

// decodeError is one decoding problem; line is 0 when unknown.
type decodeError struct {
	line int
	msg  string
}

// decodeStrict decodes data, which must hold exactly one YAML document with a
// mapping at the top, into cfg, rejecting unknown keys and wrong types. All
// problems are returned, joined, in line order.
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

	ix := newNodeIndex(root)

	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	errs := ix.errs
	if err := strict.Decode(cfg); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return ix.redact(ix.otherError(err))
		}
		for _, msg := range te.Errors {
			errs = append(errs, ix.rewrite(msg))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].line < errs[j].line })
	var joined []error
	seen := map[decodeError]bool{}
	for _, e := range errs {
		if seen[e] {
			continue // yaml.v3 and the index both caught it (an integer too big)
		}
		seen[e] = true
		if e.line > 0 {
			joined = append(joined, ix.redact(fmt.Errorf("config: line %d: %s", e.line, e.msg)))
		} else {
			joined = append(joined, ix.redact(fmt.Errorf("config: %s", e.msg)))
		}
	}
	return joinErrors(joined)
}

// syntaxError rewords an error of the YAML parser.
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
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "a mapping"
	}
	return t.String()
}

// nodeIndex maps the nodes of the document to key paths such as
// billing_groups[1].budget.amount, following the Config types, so that
// yaml.v3's messages (which give a line and a Go type) can name the key.
type nodeIndex struct {
	values  []indexedValue         // in document order
	byLine  map[int][]indexedValue // values by line, for many errors in a big document
	keys    map[int][]indexedKey   // keys by line
	visited map[*yaml.Node]bool    // alias targets already walked
	secrets []string               // inline client secrets, to keep out of messages
	errs    []decodeError          // problems yaml.v3 lets through
}

// newNodeIndex returns an index of the document whose top-level mapping is
// root.
func newNodeIndex(root *yaml.Node) *nodeIndex {
	ix := &nodeIndex{
		byLine:  map[int][]indexedValue{},
		keys:    map[int][]indexedKey{},
		visited: map[*yaml.Node]bool{},
	}
	ix.walk(root, reflect.TypeFor[Config](), "")
	return ix
}

// indexedValue is a value node, its path and the Go type it decodes into.
type indexedValue struct {
	path string
	node *yaml.Node
	typ  reflect.Type
}

// indexedKey is a mapping key node, the path of its mapping and the Go type
// the mapping decodes into.
type indexedKey struct {
	parent string
	node   *yaml.Node
	typ    reflect.Type
}

// walk indexes n, which decodes into t at path.
func (ix *nodeIndex) walk(n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		// Walk each alias target once, keeping a billion-laughs document
		// from costing a billion steps.
		if n.Alias == nil || ix.visited[n.Alias] {
			return
		}
		ix.visited[n.Alias] = true
		n = n.Alias
	}
	entry := indexedValue{path, n, t}
	ix.values = append(ix.values, entry)
	ix.byLine[n.Line] = append(ix.byLine[n.Line], entry)
	if hidesValue(t, path) && n.Kind == yaml.ScalarNode && n.Value != "" {
		ix.secrets = append(ix.secrets, n.Value, strings.Trim(strconv.Quote(n.Value), `"`))
	}
	if reflect.PointerTo(t).Implements(unmarshalerIface) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				if v.Kind == yaml.SequenceNode {
					for _, m := range v.Content {
						ix.walk(m, t, path)
					}
				} else {
					ix.walk(v, t, path)
				}
				continue
			}
			ix.keys[k.Line] = append(ix.keys[k.Line], indexedKey{path, k, t})
			if f, ok := fieldByKey(t, k.Value); ok && k.Kind == yaml.ScalarNode {
				ix.walk(v, f.Type, joinPath(path, k.Value))
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, item := range n.Content {
			ix.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		// yaml.v3 truncates a float into an int field; 1.5 pages is a
		// mistake, not 1.
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" {
			ix.errs = append(ix.errs, decodeError{n.Line, fmt.Sprintf("%s: want an integer, got %s", path, describe(n))})
		}
	}
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

// rewrite turns one yaml.v3 TypeError message into one that names the key.
func (ix *nodeIndex) rewrite(msg string) decodeError {
	if m := unknownFieldMsg.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		for _, k := range ix.keys[line] {
			if k.node.Value == m[2] && k.typ.String() == m[3] {
				return decodeError{line, fmt.Sprintf("unknown key %q %s", k.node.Value, where(k.parent))}
			}
		}
		if s, ok := section(m[3]); ok {
			return decodeError{line, fmt.Sprintf("unknown key %q in %s", m[2], s)}
		}
		return decodeError{line, fmt.Sprintf("unknown key %q", m[2])}
	}
	if m := duplicateKeyMsg.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		key, err := strconv.Unquote(m[2])
		if err != nil {
			key = m[2]
		}
		for _, k := range ix.keys[line] {
			if k.node.Value == key {
				return decodeError{line, fmt.Sprintf("duplicate key %q %s (first set at line %s)", key, where(k.parent), m[3])}
			}
		}
		return decodeError{line, fmt.Sprintf("duplicate key %q (first set at line %s)", key, m[3])}
	}
	if m := cannotDecodeMsg.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		var match *indexedValue
		candidates := ix.byLine[line]
		for i, v := range candidates {
			if v.typ.String() != m[3] {
				continue
			}
			if match == nil {
				match = &candidates[i]
			}
			if v.node.ShortTag() == m[2] {
				match = &candidates[i]
				break
			}
		}
		if match != nil {
			got := describe(match.node)
			if hidesValue(match.typ, match.path) && match.node.Kind == yaml.ScalarNode {
				got = "a value" // never quote what may be the secret
			}
			return decodeError{line, fmt.Sprintf("%s: want %s, got %s", match.path, want(match.typ), got)}
		}
		if s, ok := section(m[3]); ok {
			return decodeError{line, fmt.Sprintf("%s: want a mapping, got a %s value", s, strings.TrimPrefix(m[2], "!!"))}
		}
		return decodeError{line, fmt.Sprintf("cannot decode a %s value into %s", strings.TrimPrefix(m[2], "!!"), m[3])}
	}
	if m := nodeMsg.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		for _, v := range ix.byLine[line] {
			if v.node.Column == col {
				return decodeError{line, fmt.Sprintf("%s: %s", v.path, m[3])}
			}
		}
		return decodeError{line, m[3]}
	}
	if m := lineMsg.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return decodeError{line, m[2]}
	}
	return decodeError{0, msg}
}

// otherError rewords a decoding error that aborted yaml.v3. An explicit tag
// that does not fit its value (page_size: !!int abc) is the one with a value
// in it; it is reported at its key, and never quotes a secret.
func (ix *nodeIndex) otherError(err error) error {
	m := explicitTagMsg.FindStringSubmatch(err.Error())
	if m == nil {
		return syntaxError(err)
	}
	for _, v := range ix.values {
		n := v.node
		if n.Kind == yaml.ScalarNode && n.Tag != "" && n.ShortTag() == m[3] && n.Value == m[2] {
			got := strconv.Quote(n.Value)
			if hidesValue(v.typ, v.path) {
				got = "a value"
			}
			return fmt.Errorf("config: line %d: %s: cannot decode %s as %s", n.Line, v.path, got, m[3])
		}
	}
	return fmt.Errorf("config: invalid YAML: cannot decode a value as %s", m[3])
}

// redact removes the inline client secret from the quoted values in err,
// should a message ever quote it (say, as an unknown key). Only quoted values
// are touched, so that a short secret cannot garble the rest of the message.
func (ix *nodeIndex) redact(err error) error {
	if len(ix.secrets) == 0 {
		return err
	}
	var pairs []string
	for _, secret := range ix.secrets {
		pairs = append(pairs, secret, redacted)
	}
	msg := quotedValue.ReplaceAllStringFunc(err.Error(), strings.NewReplacer(pairs...).Replace)
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}
