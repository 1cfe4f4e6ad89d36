package campaign

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/redpack-go/redpack/internal/browsertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pageScreenshotEnv names a file that also receives this test's screenshot
// (the README's docs/campaign.png comes from the end-to-end test in
// cmd/redpack, with REDPACK_SCREENSHOT).
const pageScreenshotEnv = "REDPACK_PAGE_SCREENSHOT"

// textInt reads an element's text as an integer.
func textInt(ctx context.Context, sel string) (int64, error) {
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
}

// reloadMark is set on window after the first load; a reload would lose
// it, so finding it later proves the numbers changed in place.
const reloadMark = `window.__redpackMark`

// The page in a real browser against the in-memory source: the numbers
// change in place, the buttons pause and resume. The same against real
// `run` processes and a real database is TestBrowserCampaignRun.
func TestBrowserPageLive(t *testing.T) {
	t.Parallel()
	ctx := browsertest.NewTab(t, 60*time.Second, 1280, 1100)
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
	n, bounds, err := browsertest.DistinctColours(shot)
	require.NoError(t, err)
	t.Logf("screenshot %v, %d distinct colours", bounds.Size(), n)
	assert.GreaterOrEqual(t, n, 16, "the screenshot looks blank")
	out := filepath.Join(t.TempDir(), "page.png")
	if p := os.Getenv(pageScreenshotEnv); p != "" {
		out = p
	}
	require.NoError(t, os.WriteFile(out, shot, 0o644))
}
