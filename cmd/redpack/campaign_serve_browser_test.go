package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/redpack-go/redpack/campaign"
	"github.com/redpack-go/redpack/internal/browsertest"
	"github.com/redpack-go/redpack/redpacktest"
)

// The browser harness is internal/browsertest, shared with package
// campaign's TestBrowserPageLive. envWebScreenshot names a file that also
// receives the screenshot (the README's docs/campaign.png).
const envWebScreenshot = "REDPACK_SCREENSHOT"

// webStatus is the part of `campaign status -json` the test reads.
type webStatus struct {
	ID      string  `json:"id"`
	Rows    int64   `json:"rows"`
	Planned int64   `json:"planned"`
	Paid    int64   `json:"paid"`
	Failed  int64   `json:"failed"`
	Unknown int64   `json:"unknown"`
	PaidFen int64   `json:"paid_fen"`
	Paused  *string `json:"paused"`
	State   string  `json:"state"`
}

func webStatusOf(t *testing.T, bin string, e env, db, id string) webStatus {
	t.Helper()
	cmd := exec.Command(bin, "campaign", "status", "-db", db, "-id", id, "-json")
	cmd.Env = childEnv(e)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("campaign status: %v\n%s%s", err, out, stderr.String())
	}
	var s webStatus
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("status -json: %v\n%s", err, out)
	}
	return s
}

// webWaitFor polls f every 100 ms until it returns true or d passes.
func webWaitFor(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func webPageInt(t *testing.T, ctx context.Context, id string) int64 {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("read #%s: %v", id, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		t.Fatalf("#%s is %q", id, s)
	}
	return n
}

// TestBrowserCampaignRun is the web view end to end: `redpack campaign run`
// pays a campaign against the fake in a child process while headless
// Chromium watches the page served by `campaign serve` (in this process,
// with a token): the paid count rises without a reload, Pause stops the run
// (status -json in a third process says so, and the fake's ledger stops
// growing), Resume starts it again, the row search shows a row's history,
// and the screenshot is not blank. No page, API or metric carries the API
// key or the private key.
func TestBrowserCampaignRun(t *testing.T) {
	tab := browsertest.NewTab(t, 3*time.Minute, 1280, 1000)
	bin := redpackBin(t)
	// One packet per user a day: the rows that share an openid fail with
	// SENDNUM_LIMIT, so the page has a failure group to show.
	fake, e := newFake(t, redpacktest.WithMerchant("1900000109", "wx8888888888888888", markerKey),
		redpacktest.WithUserDailyLimits(1, 1_000_000))
	// PEM files instead of the PKCS#12: the private key's text is a marker.
	keyPEM := fake.MerchantKeyPEM()
	e = e.with(envCertP12+"=", envCertPEM+"="+webWriteTemp(t, "cert.pem", fake.MerchantCertPEM()), envKeyPEM+"="+webWriteTemp(t, "key.pem", keyPEM))
	keyMarker := webPEMLine(keyPEM)

	const id, rows = "web-e2e", 240
	dir := t.TempDir()
	db := filepath.Join(dir, "campaign.db")
	var csv strings.Builder
	csv.WriteString("key,openid,amount\n")
	for i := range rows {
		openid := i
		if i%12 == 11 {
			openid = i - 1 // every 12th row repeats the one before's openid
		}
		fmt.Fprintf(&csv, "k%d,oWebE2E%020d,%d\n", i, openid, 100+i)
	}
	csvPath := webWriteTemp(t, "rows.csv", []byte(csv.String()))
	r := runCmd(t, e, "campaign", "plan", "-db", db, "-id", id, "-csv", csvPath,
		"-send-name", "Shop", "-wishing", "Thanks", "-act-name", "Rebate", "-remark", "web test")
	if r.code != exitOK {
		t.Fatalf("plan: %s", r)
	}

	// The run: a real child process at 12 requests a second (20 s for
	// every row), stopped with SIGTERM at the end of the test.
	w := startWorker(t, e, "-db", db, "-id", id, "-rate", "12", "-concurrency", "4", "-backoff", "200ms")
	t.Cleanup(func() {
		w.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
		select {
		case <-w.done:
		case <-time.After(15 * time.Second):
			t.Errorf("run did not stop on SIGTERM")
		}
		if t.Failed() {
			t.Logf("run output:\n%s", webLastN(w.out.String(), 3000))
		}
	})

	// The web view, with a token: the browser's first visit carries it.
	const tok = "browser-test-token-0123456789abcdef"
	serveEnv := e.with(envServeToken + "=" + tok) // the merchant's secrets are in serve's environment too
	base, _ := webStartServe(t, serveEnv, "-db", db, "-addr", "127.0.0.1:0")

	if err := chromedp.Do(tab,
		chromedp.Navigate(base+"campaigns/"+id+"?token="+tok),
		chromedp.WaitVisible(chromedp.ID("paid")),
		chromedp.Evaluate[chromedp.Void](`window.__redpackMark = 42`),
	); err != nil {
		t.Fatal(err)
	}
	loc, _ := chromedp.Run(tab, chromedp.Location())
	if strings.Contains(loc, tok) {
		t.Errorf("the token stayed in the address bar: %s", loc)
	}

	// The paid count rises without a reload.
	before := webPageInt(t, tab, "paid")
	webWaitFor(t, 30*time.Second, "the page's paid count to rise", func() bool { return webPageInt(t, tab, "paid") > before })
	after := webPageInt(t, tab, "paid")
	if mark, err := chromedp.Run(tab, chromedp.Evaluate[int](`window.__redpackMark`)); err != nil || mark != 42 {
		t.Fatalf("the page was reloaded (mark %d, %v)", mark, err)
	}
	t.Logf("paid count on the page: %d at first, %d without reloading", before, after)
	// The page measures the rows settled per second and an ETA from it.
	var rate, eta string
	webWaitFor(t, 15*time.Second, "the page's rows/s", func() bool {
		rate, _ = chromedp.Run(tab, chromedp.TextContent(chromedp.ID("rows-rate")))
		eta, _ = chromedp.Run(tab, chromedp.TextContent(chromedp.ID("eta")))
		r, err := strconv.ParseFloat(rate, 64)
		return err == nil && r > 0 && strings.HasSuffix(eta, "s")
	})
	t.Logf("page: %s rows/s, ETA %s (run at -rate 12)", rate, eta)

	// Pause: status -json in another process sees it, the ledger stops.
	if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("pause")), chromedp.WaitVisible(chromedp.ID("resume"))); err != nil {
		t.Fatal(err)
	}
	pressed := time.Now()
	var st webStatus
	webWaitFor(t, 10*time.Second, "status -json to show the pause", func() bool {
		st = webStatusOf(t, bin, e, db, id)
		return st.Paused != nil
	})
	t.Logf("status -json %v after Pause: paused=%q state=%s paid=%d", time.Since(pressed).Round(time.Millisecond), *st.Paused, st.State, st.Paid)
	time.Sleep(2 * time.Second) // sends already on the wire finish
	sentAtPause := len(fake.Packets())
	time.Sleep(3 * time.Second)
	if n := len(fake.Packets()); n != sentAtPause {
		t.Errorf("the run kept paying while paused: %d packets, then %d", sentAtPause, n)
	}
	if sentAtPause >= rows {
		t.Fatalf("every row was paid before the pause took effect (%d); the test measured nothing", sentAtPause)
	}
	select {
	case <-w.done:
		t.Fatalf("run exited %d on an operator pause; it should wait\n%s", w.code, w.out.String())
	default:
	}
	if banner, _ := chromedp.Run(tab, chromedp.Text(chromedp.ID("paused-banner"))); !strings.Contains(banner, "Paused") {
		t.Errorf("no pause banner: %q", banner)
	}
	pausedPaid := webPageInt(t, tab, "paid")

	t.Logf("ledger held at %d packets for 3 s while paused; page paid=%d", sentAtPause, pausedPaid)

	// Resume: status -json clears, the count rises again.
	if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("resume")), chromedp.WaitVisible(chromedp.ID("pause"))); err != nil {
		t.Fatal(err)
	}
	webWaitFor(t, 10*time.Second, "status -json to show the resume", func() bool {
		return webStatusOf(t, bin, e, db, id).Paused == nil
	})
	webWaitFor(t, 30*time.Second, "the paid count to rise after Resume", func() bool { return webPageInt(t, tab, "paid") > pausedPaid })
	t.Logf("after Resume the page's paid count rose past %d to %d", pausedPaid, webPageInt(t, tab, "paid"))

	// The rows that repeat an openid fail with SENDNUM_LIMIT: the failures
	// table fills in, with its advice, without a reload.
	webWaitFor(t, 30*time.Second, "a failed row on the page", func() bool { return webPageInt(t, tab, "failed") > 0 })
	webWaitFor(t, 5*time.Second, "the failures table", func() bool {
		fails, _ := chromedp.Run(tab, chromedp.Text(chromedp.ID("failures")))
		return strings.Contains(fails, "SENDNUM_LIMIT") && strings.Contains(fails, campaign.Advice("SENDNUM_LIMIT"))
	})

	// One row's whole history, found by its key.
	bills := fake.Packets()
	if len(bills) == 0 {
		t.Fatal("no packets")
	}
	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.ID("q"), bills[0].BillNo),
		chromedp.Submit(chromedp.ID("q")),
		chromedp.WaitVisible(chromedp.CSS("table.history")),
	); err != nil {
		t.Fatal(err)
	}
	hist, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("div.row")))
	if err != nil || !strings.Contains(hist, bills[0].BillNo) || !strings.Contains(hist, "send") || !strings.Contains(hist, "OK") {
		t.Errorf("row history (%v):\n%s", err, hist)
	}
	// The search page keeps polling: let it measure its rate, then take the picture.
	webWaitFor(t, 15*time.Second, "the search page's rows/s", func() bool {
		r, _ := chromedp.Run(tab, chromedp.TextContent(chromedp.ID("rows-rate")))
		return r != "–" && r != ""
	})
	shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	colours, _, err := browsertest.DistinctColours(shot)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %d bytes, %d distinct colours", len(shot), colours)
	if colours < 16 {
		t.Errorf("the screenshot looks blank: %d colours", colours)
	}
	if p := os.Getenv(envWebScreenshot); p != "" {
		if err := os.WriteFile(p, shot, 0o644); err != nil {
			t.Error(err)
		}
	}

	// No secret on any page, API, metric or River UI answer, nor in the DOM.
	html, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	texts := map[string]string{"DOM": html}
	auth := map[string]string{"Authorization": "Bearer " + tok}
	for _, p := range []string{"", "campaigns/" + id, "campaigns/" + id + "/rows?q=k1", "api/campaigns", "api/campaigns/" + id,
		"api/campaigns/" + id + "/rows?q=" + bills[0].BillNo, "metrics", "riverui/", "riverui/api/states",
		"riverui/api/jobs?state=completed&limit=100", "riverui/api/jobs?state=running", "riverui/api/jobs?state=available",
		"riverui/api/queues"} {
		code, body := webHTTP(t, "GET", base+p, auth)
		if code != http.StatusOK {
			t.Errorf("GET /%s: %d", p, code)
		}
		texts["/"+p] = body
	}
	for where, text := range texts {
		for name, marker := range map[string]string{"API key": markerKey, "private key": keyMarker, "token": tok} {
			if strings.Contains(text, marker) {
				t.Errorf("%s shows the %s", where, name)
			}
		}
	}
}

// webWriteTemp writes data into a file in a fresh temp dir.
func webWriteTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// webPEMLine is a line from the middle of a PEM block's base64 body.
func webPEMLine(pem []byte) string {
	lines := strings.Split(strings.TrimSpace(string(pem)), "\n")
	return strings.TrimSpace(lines[len(lines)/2])
}

func webLastN(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
