package config

import (
	"fmt"
	"io"
)

// redacted is what a Secret prints instead of its value.
const redacted = "<secret>"

// Secret is a string that never prints its value: fmt (every verb), YAML,
// JSON and text marshalling all show <secret>. Use Reveal where the value is
// really needed.
type Secret string

// Reveal returns the secret's value. Call it only where the value is sent to
// its owner, never to print or log it.
func (s Secret) Reveal() string { return string(s) }

// String returns <secret>.
func (s Secret) String() string { return redacted }

// GoString returns <secret>.
func (s Secret) GoString() string { return redacted }

// Format writes <secret> for every verb, so that no fmt verb or flag can
// print the value, not even inside a struct.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalYAML returns <secret>.
func (s Secret) MarshalYAML() (any, error) { return redacted, nil }

// MarshalJSON returns the JSON string "<secret>".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns <secret>, for encoders and loggers that prefer text
// marshalling to fmt.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
