package config

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Regexp is an RE2 regular expression that unmarshals from a YAML string.
// It matches as written: it is not implicitly anchored, so write ^ and $ where
// they are meant.
type Regexp struct {
	*regexp.Regexp
}

// UnmarshalYAML compiles a YAML string. Its errors carry the node's line and
// column so that the loader can name the key.
func (r *Regexp) UnmarshalYAML(value *yaml.Node) error {
	if value.Kind != yaml.ScalarNode {
		return newNodeError(value, "want a string (a regular expression), got %s", describe(value))
	}
	var pattern string
	if err := value.Decode(&pattern); err != nil {
		return newNodeError(value, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return newNodeError(value, "invalid regex %q: %v", pattern, err)
	}
	r.Regexp = re
	return nil
}

// MarshalYAML returns the pattern as written.
func (r Regexp) MarshalYAML() (any, error) {
	if r.Regexp == nil {
		return nil, nil
	}
	return r.String(), nil
}

// CategoryFilter selects product categories by regular expression, applied
// on the exporter's side to the categories the Usage API returns.
type CategoryFilter struct {
	// Include, if set, keeps only the categories it matches.
	Include *Regexp `yaml:"include,omitempty"`
	// Exclude, if set, drops the categories it matches, after Include.
	Exclude *Regexp `yaml:"exclude,omitempty"`
}

// nodeError is a problem with the value at a node, found by an
// UnmarshalYAML of this package. The loader's walk of the document
// (decode.go) adds the key path; yaml.v3 decodes only documents the walk
// found no problem in.
type nodeError struct {
	line int
	msg  string
}

func (e *nodeError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// newNodeError returns the problem with the value at n.
func newNodeError(n *yaml.Node, format string, args ...any) error {
	return &nodeError{line: n.Line, msg: fmt.Sprintf(format, args...)}
}
