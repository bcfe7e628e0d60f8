package supervisor

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/flowgate/flowgate/internal/testutil"
)

// chromium returns Debian's chromium, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (apt-get install chromium): the status page is not checked in a browser")
	return ""
}

// TestWebPageInBrowser loads the status page in headless chromium: every
// module's name and state appear, and its restart button restarts the
// module. SUPERVISOR_SCREENSHOT=file.png keeps a screenshot.
func TestWebPageInBrowser(t *testing.T) {
	exe := chromium(t)
	e := startEnv(t, `  - name: Sources
    modules:
`+fakeYAML("collector", "serve", "        interfaces: [{dir: out, type: unix, name: webflows}]\n", "")+`  - name: Detectors
    modules:
`+fakeYAML("detector", "serve", "        interfaces: [{dir: out, type: blackhole}]\n", "")+
		fakeYAML("crashy", "exit", "", "        restarts_per_minute: 1\n")+
		fakeYAML("spare", "serve", "        interfaces: [{dir: out, type: blackhole}]\n", "        enabled: false\n"))
	srv := httptest.NewServer(e.sup.Handler())
	defer srv.Close()
	e.waitFor("modules settled", func() bool {
		return e.module("collector").ServiceIFC.Connected && e.module("detector").ServiceIFC.Connected &&
			e.module("crashy").AutoDisabled.Disabled
	})

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1500, 800),
		chromedp.UserDataDir(shortDir(t)),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 2*testutil.WaitTimeout) // the whole browser session
	defer cancelT()

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-module="spare"]`))); err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	// The page re-renders its rows on every refresh: a row is read in one
	// script run, and until it shows what the API says (it may lag a
	// refresh behind).
	for _, m := range e.sup.Modules() {
		row := `document.querySelector('tr[data-module="` + m.Name + `"]')`
		read := `(() => { const r = ` + row + `; if (!r) return ["", ""]; ` +
			`const n = r.querySelector("td.name"), s = r.querySelector("span.state"); ` +
			`return [n ? n.textContent : "", s ? s.textContent : ""]; })()`
		want := strconv.Quote(m.Name) + `, ` + strconv.Quote(m.Status)
		err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`JSON.stringify(`+read+`) == JSON.stringify([`+want+`])`,
			chromedp.WithPollingTimeout(testutil.WaitTimeout)))
		if err != nil {
			got, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](read))
			t.Errorf("row of %s shows name and state %q; the API says %q: %v", m.Name, got, m.Status, err)
		}
	}
	reason, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr[data-module="crashy"] .reason`)))
	if !strings.Contains(reason, "auto-disabled") {
		t.Errorf("crashy shows %q, want the auto-disable reason", reason)
	}
	pid := e.module("detector").PID
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`tr[data-module="detector"] button[data-action="restart"]`))); err != nil {
		t.Fatal(err)
	}
	e.waitFor("detector restarted from the page", func() bool {
		p := e.module("detector").PID
		return p != 0 && p != pid
	})
	// The page shows the new PID and the restart in the event log.
	newPID := e.module("detector").PID
	if err := chromedp.Do(ctx,
		chromedp.Poll[chromedp.Void](`document.querySelector('tr[data-module="detector"] td.pid').textContent == "`+strconv.Itoa(newPID)+`"`, chromedp.WithPollingTimeout(testutil.WaitTimeout)),
		chromedp.Poll[chromedp.Void](`document.getElementById("events").textContent.includes("Restart of module detector requested")`, chromedp.WithPollingTimeout(testutil.WaitTimeout)),
	); err != nil {
		t.Errorf("page after the restart: %v", err)
	}
	// The enable button starts the disabled module.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`tr[data-module="spare"] button[data-action="enable"]`))); err != nil {
		t.Fatal(err)
	}
	e.waitFor("spare enabled from the page", func() bool { return e.module("spare").PID != 0 })
	time.Sleep(1500 * time.Millisecond) // two refreshes: a sparkline with points
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	out := os.Getenv("SUPERVISOR_SCREENSHOT")
	if out == "" {
		out = filepath.Join(t.TempDir(), "status.png")
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", out, len(png))
}
