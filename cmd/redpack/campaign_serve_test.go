package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redpack-go/redpack/campaign"
)

func TestServeSecurity(t *testing.T) {
	t.Parallel()
	const envTok = "0123456789abcdef-serve"
	for _, tc := range []struct {
		addr, env        string
		token, generated bool
		loopbackOnly     bool
		err              string
	}{
		{addr: "127.0.0.1:8080", loopbackOnly: true},
		{addr: "127.0.0.2:0", loopbackOnly: true},
		{addr: "localhost:0", loopbackOnly: true},
		{addr: "[::1]:8080", loopbackOnly: true},
		{addr: "127.0.0.1:8080", env: envTok, token: true},
		{addr: "0.0.0.0:8080", token: true, generated: true},
		{addr: ":8080", token: true, generated: true},
		{addr: "[::]:8080", token: true, generated: true},
		{addr: "10.1.2.3:80", token: true, generated: true},
		{addr: "admin.example:80", token: true, generated: true},
		{addr: "localhost.example:80", token: true, generated: true},
		{addr: "0.0.0.0:8080", env: envTok, token: true},
		{addr: "0.0.0.0:8080", env: "short", err: "too short"},
		{addr: "127.0.0.1", err: "host:port"},
	} {
		sec, err := serveSecurity(tc.addr, tc.env)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s env=%q: err %v, want %q", tc.addr, tc.env, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.addr, err)
			continue
		}
		if (sec.token != "") != tc.token || sec.generated != tc.generated || sec.loopbackOnly != tc.loopbackOnly {
			t.Errorf("%s env=%q: %+v, want token=%v generated=%v loopbackOnly=%v", tc.addr, tc.env, sec, tc.token, tc.generated, tc.loopbackOnly)
		}
		if tc.env != "" && sec.token != tc.env {
			t.Errorf("%s: token %q, want the environment's", tc.addr, sec.token)
		}
	}
	a, _ := serveSecurity("0.0.0.0:1", "")
	b, _ := serveSecurity("0.0.0.0:1", "")
	if a.token == b.token || len(a.token) < 32 {
		t.Errorf("generated tokens %q, %q", a.token, b.token)
	}
}

// webPlanDB makes a campaign database file with one small campaign.
func webPlanDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.db")
	ctx := t.Context()
	db, err := campaign.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.Plan(ctx, campaign.PlanOptions{ID: "srv1", MchID: "1900000109", AppID: "wx8888888888888888",
		SendName: "Shop", Wishing: "Thanks", ActName: "Promo", Remark: "r"},
		func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("key,openid,amount\na,oA1,100\nb,oB2,250\n")), nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// webStartServe runs `campaign serve` in-process until the test ends and
// returns the first stdout line (the URL).
func webStartServe(t *testing.T, e env, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- runCampaignServe(ctx, args, e.get, &stdout, &stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != exitOK {
				t.Errorf("serve exited %d\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "stopped") {
				t.Errorf("stderr\n%s", stderr.String())
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if line, _, ok := strings.Cut(stdout.String(), "\n"); ok {
			return line, &stderr
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d\n%s", code, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL on stdout\n%s", stderr.String())
		}
	}
}

func webHTTP(t *testing.T, method, u string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	c := http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestCampaignServeLoopback(t *testing.T) {
	t.Parallel()
	dbPath := webPlanDB(t)
	base, _ := webStartServe(t, env{}, "-db", dbPath, "-addr", "127.0.0.1:0")
	u, err := url.Parse(base)
	if err != nil || u.Hostname() != "127.0.0.1" || u.Port() == "0" || u.Path != "/" || u.RawQuery != "" {
		t.Fatalf("URL %q", base)
	}
	for _, p := range []string{"", "campaigns/srv1", "api/campaigns/srv1", "metrics", "riverui/", "riverui/api/states"} {
		if code, body := webHTTP(t, "GET", base+p, nil); code != 200 {
			t.Errorf("GET /%s: %d %s", p, code, body)
		}
	}
	if code, body := webHTTP(t, "GET", base+"campaigns/srv1", nil); !strings.Contains(body, `id="planned">2<`) {
		t.Errorf("campaign page %d:\n%s", code, body)
	}
	// A page that reached us through a rebound DNS name is refused.
	if code, _ := webHTTP(t, "GET", base, map[string]string{"Host": "evil.example:" + u.Port()}); code != http.StatusForbidden {
		t.Errorf("foreign Host: %d, want 403", code)
	}
	// A cross-site form post is refused; a same-origin one pauses.
	if code, _ := webHTTP(t, "POST", base+"campaigns/srv1/pause", map[string]string{"Sec-Fetch-Site": "cross-site"}); code != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", code)
	}
	if code, _ := webHTTP(t, "POST", base+"campaigns/srv1/pause", map[string]string{"Origin": "http://evil.example"}); code != http.StatusForbidden {
		t.Errorf("foreign-origin POST: %d, want 403", code)
	}
	if code, body := webHTTP(t, "GET", base+"api/campaigns/srv1", nil); !strings.Contains(body, `"paused": null`) {
		t.Errorf("refused POSTs paused the campaign: %d %s", code, body)
	}
	if code, _ := webHTTP(t, "POST", base+"campaigns/srv1/pause", map[string]string{"Sec-Fetch-Site": "same-origin"}); code != http.StatusSeeOther {
		t.Errorf("same-origin POST: %d, want 303", code)
	}
	if _, body := webHTTP(t, "GET", base+"api/campaigns/srv1", nil); !strings.Contains(body, `"paused": "paused by the operator"`) {
		t.Errorf("not paused: %s", body)
	}
}

// With a token (as on any non-loopback address) every path answers 401
// without it, River's UI and /metrics included.
func TestCampaignServeToken(t *testing.T) {
	t.Parallel()
	const tok = "serve-test-token-0123456789"
	dbPath := webPlanDB(t)
	base, stderr := webStartServe(t, env{envServeToken: tok}, "-db", dbPath, "-addr", "127.0.0.1:0", "-prefix", "/rp")
	if !strings.HasSuffix(base, "/rp/") || strings.Contains(base, tok) {
		t.Fatalf("URL %q", base)
	}
	if strings.Contains(stderr.String(), tok) {
		t.Errorf("the token from the environment was printed:\n%s", stderr.String())
	}
	paths := []string{"", "campaigns/srv1", "campaigns/srv1/rows?q=a", "api/campaigns", "api/campaigns/srv1",
		"metrics", "riverui/", "riverui/api/states", "riverui/api/jobs?state=available", "static/app.js", "nope"}
	for _, p := range paths {
		for _, hdr := range []map[string]string{nil, {"Authorization": "Bearer nope-nope-nope-nope"}, {"Cookie": "redpack_token=nope"}} {
			if code, _ := webHTTP(t, "GET", base+p, hdr); code != http.StatusUnauthorized {
				t.Errorf("GET /rp/%s %v: %d, want 401", p, hdr, code)
			}
		}
		if code, _ := webHTTP(t, "POST", base+"campaigns/srv1/pause", nil); code != http.StatusUnauthorized {
			t.Errorf("POST pause without token: %d", code)
		}
	}
	auth := map[string]string{"Authorization": "Bearer " + tok}
	for _, p := range paths[:len(paths)-1] {
		if code, _ := webHTTP(t, "GET", base+p, auth); code != 200 {
			t.Errorf("GET /rp/%s with token: %d", p, code)
		}
	}
	code, _ := webHTTP(t, "GET", base+"campaigns/srv1?token="+tok, nil)
	if code != http.StatusSeeOther {
		t.Errorf("?token= visit: %d, want 303 to set the cookie", code)
	}
}

func TestCampaignServeUsage(t *testing.T) {
	t.Parallel()
	dbPath := webPlanDB(t)
	for _, tc := range []struct {
		args []string
		env  env
		code int
		msg  string
	}{
		{[]string{"-db", filepath.Join(t.TempDir(), "missing.db")}, env{}, exitUsage, "no campaign database"},
		{[]string{"-db", dbPath, "-addr", "127.0.0.1"}, env{}, exitUsage, "host:port"},
		{[]string{"-db", dbPath, "extra"}, env{}, exitUsage, "unexpected argument"},
		{[]string{"-db", dbPath, "-addr", "127.0.0.1:0"}, env{envServeToken: "short"}, exitUsage, "too short"},
		{[]string{"-db", dbPath, "-addr", "127.0.0.1:0", "-prefix", "rp"}, env{}, exitUsage, "must start with /"},
		{[]string{"-h"}, env{}, exitOK, "Usage: redpack campaign serve"},
	} {
		var stdout, stderr syncBuffer
		code := runCampaignServe(t.Context(), tc.args, tc.env.get, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.msg)
		}
	}
	// A port in use: exit 1.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stdout, stderr syncBuffer
	if code := runCampaignServe(t.Context(), []string{"-db", dbPath, "-addr", ln.Addr().String()}, env{}.get, &stdout, &stderr); code != exitInternal {
		t.Errorf("port in use: exit %d\n%s", code, stderr.String())
	}
}
