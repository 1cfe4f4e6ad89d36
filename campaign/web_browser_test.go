package campaign

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireBrowserEnv, set to 1 (as .ci/run does), turns the skip for a
// missing Chromium into a failure.
const requireBrowserEnv = "REDPACK_REQUIRE_BROWSER"

// pageScreenshotEnv names a file that also receives this test's screenshot
// (the README's docs/campaign.png comes from the end-to-end test in
// cmd/redpack, with REDPACK_SCREENSHOT).
const pageScreenshotEnv = "REDPACK_PAGE_SCREENSHOT"

// chromiumPath finds a Chromium: $REDPACK_CHROMIUM, /usr/bin/chromium (the
// Debian package .ci/run installs), or chromium / chromium-browser /
// google-chrome on $PATH. Without one the test skips, or fails when
// REDPACK_REQUIRE_BROWSER=1.
func chromiumPath(t *testing.T) string {
	t.Helper()
	cands := []string{os.Getenv("REDPACK_CHROMIUM"), "/usr/bin/chromium"}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			cands = append(cands, p)
		}
	}
	for _, p := range cands {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := "no Chromium found ($REDPACK_CHROMIUM, /usr/bin/chromium, chromium, chromium-browser, google-chrome on $PATH): install the Debian package with `apt-get install -y chromium` to run the browser test"
	if os.Getenv(requireBrowserEnv) == "1" {
		t.Fatal(msg + " (" + requireBrowserEnv + "=1: CI must not skip it)")
	}
	t.Skip(msg)
	return ""
}

// newBrowser starts headless Chromium with a fresh profile and returns a
// tab's context, closed at the end of the test.
func newBrowser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	path := chromiumPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	var browserLog bytes.Buffer
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1100),
		chromedp.CombinedOutput(&browserLog),
	)
	t.Cleanup(acancel)
	tctx, tcancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		tcancel()
		if t.Failed() && browserLog.Len() > 0 {
			t.Logf("chromium output:\n%s", lastBytes(browserLog.Bytes(), 4000))
		}
	})
	// Start the browser now, so that a broken install fails here.
	require.NoError(t, chromedp.Do(tctx), "start chromium %s", path)
	return tctx
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// textInt reads an element's text as an integer.
func textInt(ctx context.Context, sel string) (int64, error) {
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
}

// distinctColours decodes a PNG and counts its distinct colours; a blank
// or failed render has one or two.
func distinctColours(b []byte) (int, image.Rectangle, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return 0, image.Rectangle{}, err
	}
	seen := map[[4]uint32]struct{}{}
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, b, a}] = struct{}{}
		}
	}
	return len(seen), bounds, nil
}

// reloadMark is set on window after the first load; a reload would lose
// it, so finding it later proves the numbers changed in place.
const reloadMark = `window.__redpackMark`

// The page in a real browser against the in-memory source: the numbers
// change in place, the buttons pause and resume. The same against real
// `run` processes and a real database is TestBrowserCampaignRun.
func TestBrowserPageLive(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t, 60*time.Second)
	src, h := newMemHandler(t, HandlerOptions{Refresh: 200 * time.Millisecond, Token: testToken})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	// The first visit carries ?token=; it becomes a cookie and leaves the URL.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/campaigns/spring-2026?token="+testToken),
		chromedp.WaitVisible(chromedp.ID("paid")),
	))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	assert.Equal(t, srv.URL+"/campaigns/spring-2026", loc)
	_, err = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](reloadMark+` = 42`))
	require.NoError(t, err)
	before, err := textInt(ctx, "#paid")
	require.NoError(t, err)
	assert.Equal(t, int64(3), before)

	require.NoError(t, src.set("spring-2026", func(s *Summary) { s.Paid, s.Planned = Money{Rows: 5, Fen: 5000}, Money{Rows: 2, Fen: 2000} }))
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("paid").textContent === "5"`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "paid count did not change in place")
	mark, err := chromedp.Run(ctx, chromedp.Evaluate[int](reloadMark))
	require.NoError(t, err)
	assert.Equal(t, 42, mark, "the page was not reloaded")
	yuan, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID("paid-yuan")))
	require.NoError(t, err)
	assert.Equal(t, "50.00", yuan)

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("pause")),
		chromedp.WaitVisible(chromedp.ID("resume")),
	))
	assert.Equal(t, []string{"spring-2026:pause"}, src.actions())
	banner, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("paused-banner")))
	require.NoError(t, err)
	assert.Contains(t, banner, "paused by the operator")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("resume")),
		chromedp.WaitVisible(chromedp.ID("pause")),
	))
	assert.Equal(t, []string{"spring-2026:pause", "spring-2026:resume"}, src.actions())

	// Search from the page.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("q"), "o-alice"),
		chromedp.Submit(chromedp.ID("q")),
		chromedp.WaitVisible(chromedp.CSS("table.history")),
	))
	hist, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("table.history")))
	require.NoError(t, err)
	assert.Contains(t, hist, "SYSTEMERROR")

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	n, bounds, err := distinctColours(shot)
	require.NoError(t, err)
	t.Logf("screenshot %v, %d distinct colours", bounds.Size(), n)
	assert.GreaterOrEqual(t, n, 16, "the screenshot looks blank")
	out := filepath.Join(t.TempDir(), "page.png")
	if p := os.Getenv(pageScreenshotEnv); p != "" {
		out = p
	}
	require.NoError(t, os.WriteFile(out, shot, 0o644))
}
