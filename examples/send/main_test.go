package main

import (
	"bytes"
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
	if err := run(t.Context(), noEnv, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, re := range []string{
		`(?m)^mode: fake \(no REDPACK_\* variables set\)`,
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

func TestRunLive(t *testing.T) {
	t.Parallel()
	s := redpacktest.NewServer()
	defer s.Close()
	env := liveEnv(t, s)
	var out bytes.Buffer
	if err := run(t.Context(), func(k string) string { return env[k] }, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"mode: live (REDPACK_* variables set): merchant " + s.MchID() + " at " + s.URL(),
		"fen to oLiveUser0001\n",
		"status SENT (OK), 188 fen",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q\n%s", want, got)
		}
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

func TestRunLiveIncomplete(t *testing.T) {
	t.Parallel()
	s := redpacktest.NewServer()
	defer s.Close()
	full := liveEnv(t, s)
	for _, tt := range []struct{ drop, want string }{
		{"REDPACK_API_KEY", "REDPACK_API_KEY"},
		{"REDPACK_CERT_P12", "REDPACK_CERT_P12 or REDPACK_CERT_PEM"},
		{"REDPACK_OPENID", "REDPACK_OPENID"},
	} {
		var out bytes.Buffer
		err := run(t.Context(), func(k string) string {
			if k == tt.drop {
				return ""
			}
			return full[k]
		}, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("without %s: %v", tt.drop, err)
		}
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("server saw %d requests", n)
	}
}
