// Package pagetest reads the landing page as a browser parses it, for tests
// that assert what a person sees on it.
package pagetest

import (
	"io"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// Parse parses a page; it fails the test if r is no HTML document.
func Parse(t testing.TB, r io.Reader) *html.Node {
	t.Helper()
	doc, err := html.Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// Attr is the value of n's attribute key, and whether n has it.
func Attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// FindAll returns the elements under n for which match is true, in order.
func FindAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

// WithAttr matches elements whose attribute key is val.
func WithAttr(key, val string) func(*html.Node) bool {
	return func(n *html.Node) bool { v, ok := Attr(n, key); return ok && v == val }
}

// HasAttr matches elements with the attribute key.
func HasAttr(key string) func(*html.Node) bool {
	return func(n *html.Node) bool { _, ok := Attr(n, key); return ok }
}

// Tag matches elements named name.
func Tag(name string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == name }
}

// inline are the elements the page runs into the text around them; others
// (cells, lines, paragraphs) are set apart from it.
var inline = map[string]bool{"a": true, "time": true, "label": true, "span": true}

// Text is n's text as shown, whitespace collapsed.
func Text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		apart := n.Type == html.ElementNode && !inline[n.Data]
		if apart {
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if apart {
			b.WriteByte(' ')
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// Group returns the card of the billing group named name; it fails the test
// unless there is exactly one.
func Group(t testing.TB, doc *html.Node, name string) *html.Node {
	t.Helper()
	cards := FindAll(doc, WithAttr("data-group", name))
	if len(cards) != 1 {
		t.Fatalf("%d cards for billing group %q, want 1", len(cards), name)
	}
	return cards[0]
}

// Groups are the names of the billing groups on the page, in order.
func Groups(doc *html.Node) []string {
	var names []string
	for _, c := range FindAll(doc, HasAttr("data-group")) {
		v, _ := Attr(c, "data-group")
		names = append(names, v)
	}
	return names
}

// Field is the text of the element with data-field f under n; "" when there
// is none, a failed test when there are several.
func Field(t testing.TB, n *html.Node, f string) string {
	t.Helper()
	els := FindAll(n, WithAttr("data-field", f))
	switch len(els) {
	case 0:
		return ""
	case 1:
		return Text(els[0])
	}
	t.Fatalf("%d elements with data-field %q", len(els), f)
	return ""
}

// Lines are the texts of the lines (<div>) of field f under n, one per
// currency where the field is money.
func Lines(t testing.TB, n *html.Node, f string) []string {
	t.Helper()
	els := FindAll(n, WithAttr("data-field", f))
	if len(els) != 1 {
		t.Fatalf("%d elements with data-field %q, want 1", len(els), f)
	}
	var out []string
	for _, s := range FindAll(els[0], Tag("div")) {
		out = append(out, Text(s))
	}
	return out
}

// Status is a group card's status: up, failing or pending.
func Status(t testing.TB, card *html.Node) string {
	t.Helper()
	s := FindAll(card, HasAttr("data-status"))
	if len(s) != 1 {
		t.Fatalf("%d status elements, want 1", len(s))
	}
	v, _ := Attr(s[0], "data-status")
	return v
}
