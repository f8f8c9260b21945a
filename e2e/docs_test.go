package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// markdownFiles are the documents whose links must resolve: every top-level
// .md file, everything under docs/ and the runbook.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.md", filepath.Join("docs", "*.md"), filepath.Join("alerts", "*.md")} {
		m, err := filepath.Glob(filepath.Join("..", pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	for _, want := range []string{"README.md", filepath.Join("docs", "configuration.md"), filepath.Join("alerts", "RUNBOOK.md")} {
		found := false
		for _, f := range files {
			found = found || f == filepath.Join("..", want)
		}
		if !found {
			t.Fatalf("%s not found among %v", want, files)
		}
	}
	return files
}

var (
	fence       = regexp.MustCompile("^\\s*(```|~~~)")
	codeSpan    = regexp.MustCompile("`[^`]*`")
	inlineLink  = regexp.MustCompile(`\]\(([^()\s]+)(?:\s+"[^"]*")?\)`)
	atxHeading  = regexp.MustCompile(`^#{1,6}\s+(.*?)(?:\s+#+)?\s*$`)
	linkInTitle = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// proseLine is one line of a Markdown file outside fenced code blocks.
type proseLine struct {
	n    int
	text string
}

// prose returns a Markdown file's lines outside fenced code blocks.
func prose(t *testing.T, path string) []proseLine {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []proseLine
	in := false
	for i, line := range strings.Split(string(body), "\n") {
		if fence.MatchString(line) {
			in = !in
			continue
		}
		if !in {
			out = append(out, proseLine{i + 1, line})
		}
	}
	return out
}

// anchor is GitHub's anchor for a heading's text: link targets dropped,
// lower-cased, every character but letters, digits, '-' and '_' dropped,
// spaces turned into '-'.
func anchor(heading string) string {
	text := linkInTitle.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns every heading anchor of a Markdown file; as on GitHub, a
// repeated heading gets -1, -2, ... after its anchor.
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	seen := map[string]int{}
	for _, l := range prose(t, path) {
		m := atxHeading.FindStringSubmatch(l.text)
		if m == nil {
			continue
		}
		a := anchor(m[1])
		if k := seen[a]; k > 0 {
			out[a+"-"+strconv.Itoa(k)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

func TestAnchorFollowsGitHub(t *testing.T) {
	for heading, want := range map[string]string{
		"Quick start":                                                  "quick-start",
		"First contact: `--twilio.probe`":                              "first-contact---twilioprobe",
		"The Usage API client (`twilio/`)":                             "the-usage-api-client-twilio",
		"7. Scrape storm":                                              "7-scrape-storm",
		"Transport that Twilio's docs leave open":                      "transport-that-twilios-docs-leave-open",
		"The demo stack (Docker Compose)":                              "the-demo-stack-docker-compose",
		"What is configurable because Twilio's public docs are silent": "what-is-configurable-because-twilios-public-docs-are-silent",
		"See [the runbook](alerts/RUNBOOK.md)":                         "see-the-runbook",
		"twilio_billing_group_up":                                      "twilio_billing_group_up",
	} {
		if got := anchor(heading); got != want {
			t.Errorf("anchor(%q) = %q, want %q", heading, got, want)
		}
	}
}

// TestDocsRelativeLinksResolve follows every relative link of the Markdown
// files: the file or directory must exist, and a #fragment must be a heading
// of the Markdown file it points into.
func TestDocsRelativeLinksResolve(t *testing.T) {
	checked := 0
	cache := map[string]map[string]bool{}
	for _, file := range markdownFiles(t) {
		for _, l := range prose(t, file) {
			text := codeSpan.ReplaceAllString(l.text, "")
			for _, m := range inlineLink.FindAllStringSubmatch(text, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				where := filepath.Clean(strings.TrimPrefix(file, ".."+string(filepath.Separator))) + ":" + strconv.Itoa(l.n)
				path, frag, _ := strings.Cut(target, "#")
				dest := file
				if path != "" {
					dest = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
					if _, err := os.Stat(dest); err != nil {
						t.Errorf("%s: link %q: no such file or directory", where, target)
						continue
					}
				}
				checked++
				if frag == "" {
					continue
				}
				if !strings.HasSuffix(dest, ".md") {
					t.Errorf("%s: link %q: an anchor into a file that is not Markdown", where, target)
					continue
				}
				if cache[dest] == nil {
					cache[dest] = anchors(t, dest)
				}
				if !cache[dest][frag] {
					t.Errorf("%s: link %q: %s has no heading with anchor #%s", where, target, filepath.Base(dest), frag)
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d relative links found: the link pattern no longer matches the docs", checked)
	}
}

// TestReadmeQuickStartIsTwoCommands keeps the README's quick start at one
// command that runs the exporter and one that runs the whole test suite, and
// CI running exactly that test command.
func TestReadmeQuickStartIsTwoCommands(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(body), "\n## Quick start\n")
	if !ok {
		t.Fatal(`README has no "## Quick start" section`)
	}
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		t.Fatal("README quick start has no ```sh block")
	}
	block, _, _ = strings.Cut(block, "```")
	var commands []string
	for _, line := range strings.Split(block, "\n") {
		cmd, _, _ := strings.Cut(line, "#")
		if cmd = strings.TrimSpace(cmd); cmd != "" {
			commands = append(commands, cmd)
		}
	}
	if want := []string{"go run . --demo", "make test"}; !slices.Equal(commands, want) {
		t.Fatalf("README quick start commands = %q, want %q", commands, want)
	}
	ci, err := os.ReadFile(filepath.Join("..", ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	var last string
	for _, line := range strings.Split(string(ci), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			last = line
		}
	}
	if last != commands[1] {
		t.Errorf(".ci/run runs %q last, want the README's test command %q", last, commands[1])
	}
}

// TestArchitectureArrowsMatchGoList holds docs/architecture.md's import
// arrows to the code: each package the first diagram names imports exactly
// the project packages its line says, and every project package the
// exporter binary is built from is named there.
func TestArchitectureArrowsMatchGoList(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("..", "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, diagram, ok := strings.Cut(string(body), "```\n")
	if !ok {
		t.Fatal("docs/architecture.md has no diagram")
	}
	diagram, _, _ = strings.Cut(diagram, "```")
	documented := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(diagram), "\n") {
		from, to, ok := strings.Cut(line, "──>")
		if !ok {
			t.Fatalf("diagram line %q has no ──> arrow", line)
		}
		to, _, _ = strings.Cut(to, "(") // "usagesim (--demo)"
		var imports []string
		if strings.TrimSpace(to) != "nothing of this project" {
			for _, p := range strings.Split(to, ",") {
				imports = append(imports, strings.Fields(p)[0])
			}
		}
		slices.Sort(imports)
		for _, p := range strings.Split(from, ",") {
			documented[strings.TrimSpace(p)] = imports
		}
	}

	module := strings.TrimSpace(string(goCommand(t, "list", "-m")))
	short := func(path string) string {
		if path == module {
			return "main"
		}
		return strings.TrimPrefix(path, module+"/")
	}
	for pkg, want := range documented {
		path := module
		if pkg != "main" {
			path += "/" + pkg
		}
		var got []string
		for _, imp := range strings.Fields(string(goCommand(t, "list", "-f", `{{join .Imports " "}}`, path))) {
			if imp == module || strings.HasPrefix(imp, module+"/") {
				got = append(got, short(imp))
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s imports %q of this project; docs/architecture.md says %q", pkg, got, want)
		}
	}
	for _, dep := range strings.Fields(string(goCommand(t, "list", "-deps", "."))) {
		if dep != module && !strings.HasPrefix(dep, module+"/") {
			continue
		}
		if _, ok := documented[short(dep)]; !ok {
			t.Errorf("the exporter is built from %s, which docs/architecture.md's diagram does not name", short(dep))
		}
	}
}

// goCommand runs the go command in the module's root and returns its output.
func goCommand(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	return out
}
