// Package browsertest starts headless Chromium for the web view's browser
// tests (package campaign and cmd/redpack), so both drive the same browser
// the same way. It is imported by tests only.
package browsertest

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// RequireEnv, set to 1 (as .ci/run does), turns the skip for a missing
// Chromium into a failure.
const RequireEnv = "REDPACK_REQUIRE_BROWSER"

// Chromium finds a Chromium: $REDPACK_CHROMIUM, /usr/bin/chromium (the Debian
// package .ci/run installs), or chromium / chromium-browser / google-chrome
// on $PATH. Without one the test skips, or fails when REDPACK_REQUIRE_BROWSER=1.
func Chromium(t *testing.T) string {
	t.Helper()
	cands := []string{os.Getenv("REDPACK_CHROMIUM"), "/usr/bin/chromium"}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			cands = append(cands, p)
		}
	}
	for _, p := range cands {
		if fi, err := os.Stat(p); p != "" && err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := "no Chromium found ($REDPACK_CHROMIUM, /usr/bin/chromium, chromium, chromium-browser, google-chrome on $PATH): install the Debian package with `apt-get install -y chromium` to run the browser test"
	if os.Getenv(RequireEnv) == "1" {
		t.Fatal(msg + " (" + RequireEnv + "=1: CI must not skip it)")
	}
	t.Skip(msg)
	return ""
}

// NewTab starts headless Chromium with a fresh profile (no background
// networking: this machine has no network) and returns a tab's context,
// closed at the end of the test; Chromium's output is logged if the test
// failed.
func NewTab(t *testing.T, timeout time.Duration, width, height int) context.Context {
	t.Helper()
	path := Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	var browserLog bytes.Buffer
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
		chromedp.CombinedOutput(&browserLog),
	)
	t.Cleanup(acancel)
	tctx, tcancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		tcancel()
		if t.Failed() && browserLog.Len() > 0 {
			b := browserLog.Bytes()
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("chromium output:\n%s", b)
		}
	})
	// Start the browser now, so that a broken install fails here.
	if err := chromedp.Do(tctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return tctx
}

// DistinctColours decodes a PNG and counts its distinct colours; a blank or
// failed render has one or two.
func DistinctColours(b []byte) (int, image.Rectangle, error) {
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
