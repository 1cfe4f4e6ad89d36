package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/redpack-go/redpack/redpacktest"
)

func noEnv(string) string { return "" }

func TestRunFake(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), nil, noEnv, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "note:") {
		t.Errorf("a note without variables set\n%s", out.String())
	}
	for _, re := range []string{
		`(?m)^mode: fake: in-process redpacktest server on loopback, not WeChat Pay; no money moves$`,
		`(?m)^sent: bill (\d+), send_listid \d+, 100 fen to oUpF8uMuAJO_M2pxb1Q9zNjWeS6o$`,
		`(?m)^user oUpF8uMuAJO_M2pxb1Q9zNjWeS6o opened the red packet \(simulated\)$`,
		`(?m)^record: bill \d+ status RECEIVED \(OK\), 100 fen, 新年红包 / 恭喜发财，大吉大利 / 示例程序发放$`,
		`(?m)^receiver: oUpF8uMuAJO_M2pxb1Q9zNjWeS6o got 100 fen at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`,
	} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("output lacks %s\n%s", re, out.String())
		}
	}
}

// liveEnv points the live mode at a fake server through files, as a real
// deployment would point it at WeChat Pay. Tests never reach the real API.
func liveEnv(t *testing.T, s *redpacktest.Server) map[string]string {
	t.Helper()
	dir := t.TempDir()
	ca, p12 := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "apiclient_cert.p12")
	if err := os.WriteFile(ca, s.CACertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p12, s.MerchantPKCS12(), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"REDPACK_MCH_ID":   s.MchID(),
		"REDPACK_APP_ID":   s.AppID(),
		"REDPACK_API_KEY":  s.APIKey(),
		"REDPACK_CERT_P12": p12,
		"REDPACK_BASE_URL": s.URL(),
		"REDPACK_CA":       ca,
		"REDPACK_OPENID":   "oLiveUser0001",
		"REDPACK_AMOUNT":   "188",
	}
}

// TestFakeUnlessLive: after ". redpack.env" (every REDPACK_* variable set,
// no REDPACK_OPENID) the program still runs against its built-in fake and
// says so; it never touches the server the variables name (issue 8 item 22).
func TestFakeUnlessLive(t *testing.T) {
	t.Parallel()
	s := redpacktest.NewTestServer(t)
	env := liveEnv(t, s)
	delete(env, "REDPACK_OPENID")
	var out bytes.Buffer
	if err := run(t.Context(), nil, func(k string) string { return env[k] }, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	if !strings.Contains(got, "note: REDPACK_MCH_ID, ") || !strings.Contains(got, "pass -live") || !strings.Contains(got, "mode: fake:") ||
		!strings.Contains(got, "status RECEIVED (OK)") {
		t.Errorf("output\n%s", got)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("the server the variables name saw %d requests without -live", n)
	}
}

func TestRunLive(t *testing.T) {
	t.Parallel()
	s := redpacktest.NewTestServer(t)
	env := liveEnv(t, s)
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-live"}, func(k string) string { return env[k] }, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"mode: live: merchant " + s.MchID() + " at " + s.URL() + ": a server on this machine (loopback), such as redpack fake, not WeChat Pay: no real money moves",
		"fen to oLiveUser0001\n",
		"status SENT (OK), 188 fen",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q\n%s", want, got)
		}
	}
	if strings.Contains(got, "REAL MONEY") {
		t.Errorf("claims real money against a loopback fake\n%s", got)
	}
	if strings.Contains(got, "receiver:") || strings.Contains(got, "simulated") {
		t.Errorf("live mode played the user\n%s", got)
	}
	if strings.Contains(got, s.APIKey()) {
		t.Error("API key printed")
	}
	if ps := s.Packets(); len(ps) != 1 || ps[0].Amount != 188 || ps[0].OpenID != "oLiveUser0001" {
		t.Errorf("ledger %+v", ps)
	}
}

// TestWhereMoneyGoes: the live-mode warning names the real destination.
func TestWhereMoneyGoes(t *testing.T) {
	t.Parallel()
	for base, want := range map[string]string{
		"https://api.mch.weixin.qq.com":  "REAL MONEY",
		"https://api2.mch.weixin.qq.com": "REAL MONEY",
		"https://127.0.0.1:8443":         "loopback",
		"https://[::1]:8443":             "loopback",
		"https://localhost:1":            "loopback",
		"https://pay.example.com":        "neither WeChat Pay's API host nor loopback",
		"://bad":                         "does not parse",
	} {
		if got := whereMoneyGoes(base); !strings.Contains(got, want) {
			t.Errorf("whereMoneyGoes(%q) = %q, want it to say %q", base, got, want)
		}
	}
}

func TestRunLiveIncomplete(t *testing.T) {
	t.Parallel()
	s := redpacktest.NewTestServer(t)
	full := liveEnv(t, s)
	for _, tt := range []struct{ drop, want string }{
		{"REDPACK_API_KEY", "REDPACK_API_KEY"},
		{"REDPACK_CERT_P12", "REDPACK_CERT_P12 or REDPACK_CERT_PEM"},
		{"REDPACK_OPENID", "REDPACK_OPENID"},
	} {
		var out bytes.Buffer
		err := run(t.Context(), []string{"-live"}, func(k string) string {
			if k == tt.drop {
				return ""
			}
			return full[k]
		}, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("without %s: %v", tt.drop, err)
		}
	}
	if err := run(t.Context(), []string{"extra"}, noEnv, io.Discard); err == nil {
		t.Error("a stray argument was accepted")
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("server saw %d requests", n)
	}
}
