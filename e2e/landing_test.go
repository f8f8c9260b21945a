package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// outputDir is where a test keeps files for people to look at after the
// run, such as screenshots: e2e/output/<test name>/, git-ignored, replaced
// by each run.
func outputDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("output", strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser starts a headless Chromium (CHROMIUM, else chromium on PATH; `make
// test` installs it) for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := tool(t, "CHROMIUM", "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to sandbox as root
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // catches a hang only, on however loaded a machine
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(cancelCtx)
	return ctx
}

// visit is what a browser saw of one page load.
type visit struct {
	// Errors are the console's errors: console.error calls, uncaught
	// exceptions, and the browser's own error entries (a failed load, a
	// blocked resource, a Content-Security-Policy violation).
	Errors []string
	// Requests are the URLs the page requested, the page itself included.
	Requests []string
	// Overflow is how many CSS pixels the page is wider than the viewport:
	// more than 0 means a sideways scroll.
	Overflow int
	// Text is the visible text of the element with id "demo"; "" without one.
	Demo string
	// Wrapped are the amounts of money (a line of a field, "USD 1,803.72")
	// laid out on more than one line: a figure broken in two.
	Wrapped    []string
	Screenshot []byte // PNG of the whole page
}

// load opens url in a fresh tab of the browser of ctx at the viewport size
// given (mobile: as a phone) and records what happened.
func load(ctx context.Context, t *testing.T, url string, width, height int64, mobile bool) visit {
	t.Helper()
	ctx, cancel := chromedp.NewContext(ctx)
	defer cancel()
	var (
		mu sync.Mutex
		v  visit
	)
	// Listen calls the func before the reply to any later command, so every
	// event of the load is recorded when the last action returns.
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					if len(a.Value) > 0 {
						args = append(args, string(a.Value))
					} else {
						args = append(args, a.Description)
					}
				}
				v.Errors = append(v.Errors, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			v.Errors = append(v.Errors, "exception: "+msg)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				v.Errors = append(v.Errors, fmt.Sprintf("%s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			v.Requests = append(v.Requests, ev.Request.URL)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	var opts []chromedp.EmulateViewportOption
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height, opts...), chromedp.Navigate(url)); err != nil {
		t.Fatalf("load %s: %v", url, err)
	}
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	demo, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("demo") || {innerText: ""}).innerText`))
	if err != nil {
		t.Fatal(err)
	}
	// Each amount's text, as laid out: more than one line box is a figure
	// broken across lines, as a long label beside it can force.
	wrapped, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
  const out = [];
  for (const el of document.querySelectorAll("dd[data-field], dd[data-field] > div")) {
    if (el.children.length > 0 || !/^[A-Z]{3} [0-9,.]+$/.test(el.textContent.trim())) continue;
    const r = document.createRange();
    r.selectNodeContents(el);
    const lines = new Set([...r.getClientRects()].map(b => Math.round(b.top)));
    if (lines.size > 1) out.push(el.textContent.trim());
  }
  return out;
})()`))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	v.Overflow, v.Demo, v.Wrapped, v.Screenshot = overflow, demo, wrapped, shot
	return v
}

// The demo's landing page in a real browser: no console errors, nothing
// requested but the page, no sideways scroll on a phone, no amount broken
// across lines, and the demo notice shown. The screenshots stay in e2e/output/ for people to look at.
func TestLandingPageInBrowser(t *testing.T) {
	ctx := browser(t)
	base := startDemo(t)
	dir := outputDir(t)
	for _, tc := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{
		{"desktop", 1280, 900, false},
		{"phone", 390, 844, true},
	} {
		v := load(ctx, t, base+"/", tc.width, tc.height, tc.mobile)
		file := filepath.Join(dir, "landing-"+tc.name+".png")
		if err := os.WriteFile(file, v.Screenshot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s screenshot: e2e/%s", tc.name, file)
		if len(v.Errors) > 0 {
			t.Errorf("%s: console errors:\n%s", tc.name, strings.Join(v.Errors, "\n"))
		}
		if want := []string{base + "/"}; !slices.Equal(v.Requests, want) {
			t.Errorf("%s: requests %q, want only the page %q", tc.name, v.Requests, want)
		}
		if v.Overflow > 0 {
			t.Errorf("%s: the page is %dpx wider than the %dpx viewport", tc.name, v.Overflow, tc.width)
		}
		if len(v.Wrapped) > 0 {
			t.Errorf("%s: amounts broken across lines: %q", tc.name, v.Wrapped)
		}
		if !strings.Contains(v.Demo, "made-up figures from the built-in simulator") {
			t.Errorf("%s: demo notice %q, want it to say the figures are made up", tc.name, v.Demo)
		}
	}
}

// The detector of the test above sees what it must: a page that logs an
// error, throws, and loads a resource that fails.
func TestBrowserDetectsConsoleErrors(t *testing.T) {
	ctx := browser(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><html><head><title>x</title><link rel="icon" href="data:,"></head>`+
			`<body><div style="width:2000px">wide</div><img src="/missing.png" alt="">`+
			`<script>console.error("deliberate error"); throw new Error("deliberate exception");</script></body></html>`)
	}))
	defer srv.Close()
	v := load(ctx, t, srv.URL+"/", 390, 844, true)
	for _, want := range []string{`console.error: "deliberate error"`, "deliberate exception", "/missing.png"} {
		if !slices.ContainsFunc(v.Errors, func(e string) bool { return strings.Contains(e, want) }) {
			t.Errorf("errors %q lack %q", v.Errors, want)
		}
	}
	if want := []string{srv.URL + "/", srv.URL + "/missing.png"}; !slices.Equal(v.Requests, want) {
		t.Errorf("requests %q, want %q", v.Requests, want)
	}
	if v.Overflow <= 0 {
		t.Errorf("overflow = %d, want > 0 for a 2000px wide element on a phone", v.Overflow)
	}
	if v.Demo != "" {
		t.Errorf("demo notice %q on a page without one", v.Demo)
	}
}
