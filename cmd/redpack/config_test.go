package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redpack-go/redpack/redpacktest"
)

// TestAPIKeyNeverPrinted pushes a marker key through every path and checks
// that no output carries it.
func TestAPIKeyNeverPrinted(t *testing.T) {
	t.Parallel()
	s, e := newFake(t, redpacktest.WithMerchant("1900000109", redpacktest.DefaultAppID, markerKey))
	if e[envAPIKey] != markerKey {
		t.Fatalf("env file key %q", e[envAPIKey])
	}
	keyFile := filepath.Join(t.TempDir(), "apikey")
	if err := os.WriteFile(keyFile, []byte(markerKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var runs []result
	do := func(code int, e env, args ...string) {
		t.Helper()
		r := runCmd(t, e, args...)
		wantCode(t, r, code)
		runs = append(runs, r)
	}
	do(0, e, sendArgs("K1")...)
	do(0, e, sendArgs("K2", "-json", "-kind", "mini")...)
	do(0, e, append([]string{"query", "K1", "-json"}, payment...)...)
	do(0, e, "paysign", "-package", testPackage(s.MchID(), s.MiniAppID()))
	do(0, e.with(envAPIKey+"="), sendArgs("K3", "-api-key-file", keyFile)...)
	do(0, e.with(envAPIKey+"=", envAPIKeyFile+"="+keyFile), append([]string{"query", "K3"}, payment...)...)
	do(2, e, sendArgs("K4", "-amount", "1", "-json")...)
	do(2, e, "send", "-api-key", markerKey)
	do(2, e, "query", "K1", "--api-key="+markerKey)
	do(2, e.with(envAPIKey+"="+markerKey[:31]), sendArgs("K5")...)
	do(2, e.with(envCertP12Pass+"="+markerKey), sendArgs("K6")...)
	inject(t, s, redpacktest.PayThenDrop(), 10)
	do(3, e, sendArgs("K7", "-attempts", "2", "-retry-delay", "1ms", "-json")...)
	s.ClearInjections()
	do(1, e.with(envAPIKey+"=WrongKey0123456789abcdefghijklmn"), sendArgs("K8")...)
	// The campaign commands, including a merchant-wide stop's reason.
	db, in := filepath.Join(t.TempDir(), "c.db"), filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(in, []byte("key,openid,amount\na,oK1,100\nb,oK2,200\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	camp := func(sub string, extra ...string) []string {
		return append([]string{"campaign", sub, "-db", db, "-id", "c"}, extra...)
	}
	do(0, e, camp("plan", "-csv", in, "-send-name", "S", "-wishing", "W", "-act-name", "A", "-remark", "R", "-json")...)
	inject(t, s, redpacktest.ResultFail("SIGN_ERROR"), 1)
	do(exitCampaignPaused, e, camp("run", "-backoff", "10ms")...)
	if r := runs[len(runs)-1]; !strings.Contains(r.stderr, "SIGN_ERROR") {
		t.Errorf("the pause does not name SIGN_ERROR:\n%s", r)
	}
	do(0, e, camp("run", "-backoff", "10ms")...)
	do(0, e, camp("verify", "-json")...)
	do(0, e, camp("status", "-json")...)
	for _, r := range runs {
		if strings.Contains(r.stdout+r.stderr, markerKey) || strings.Contains(r.stdout+r.stderr, markerKey[:31]) {
			t.Errorf("API key leaked:\n%s", r)
		}
	}
	if !strings.Contains(runs[7].stderr, "not accepted as a flag") {
		t.Errorf("-api-key not explained:\n%s", runs[7])
	}
}

func TestPEMConfig(t *testing.T) {
	t.Parallel()
	s, e := newFake(t)
	dir := filepath.Dir(e[envCertP12])
	pem := e.with(envCertP12+"=", envCertPEM+"="+filepath.Join(dir, fileCertPEM), envKeyPEM+"="+filepath.Join(dir, fileKeyPEM))
	wantCode(t, runCmd(t, pem, sendArgs("PEM1")...), exitOK)
	// Flags instead of the environment.
	flags := e.with(envCertP12+"=", envMchID+"=", envBaseURL+"=", envCA+"=")
	wantCode(t, runCmd(t, flags, "query", "PEM1", "-openid", testOpenID, "-amount", "100", "-mch-id", s.MchID(), "-base-url", s.URL(), "-ca", e[envCA],
		"-cert-pem", filepath.Join(dir, fileCertPEM), "-key-pem", filepath.Join(dir, fileKeyPEM)), exitOK)
	// An explicit PKCS#12 password: the right one works, a wrong one is a
	// configuration error.
	wantCode(t, runCmd(t, e.with(envCertP12Pass+"="+s.MchID()), append([]string{"query", "PEM1"}, payment...)...), exitOK)
	r := runCmd(t, e.with(envCertP12Pass+"=wrong"), "query", "PEM1")
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "password") {
		t.Errorf("stderr\n%s", r)
	}
	// Without the private CA the fake's certificate is not trusted: nothing
	// reached it.
	r = runCmd(t, e.with(envCA+"="), sendArgs("PEM2", "-attempts", "1")...)
	wantCode(t, r, exitNotSent)
}

// TestAPIKeyFilePathNotQuoted (issue 8 item 10): a key given as the
// -api-key-file value by mistake is not printed back in the error.
func TestAPIKeyFilePathNotQuoted(t *testing.T) {
	t.Parallel()
	_, e := newFake(t)
	for _, r := range []result{
		runCmd(t, e.with(envAPIKey+"="), sendArgs("KF1", "-api-key-file", markerKey)...),
		runCmd(t, e.with(envAPIKey+"=", envAPIKeyFile+"="+markerKey), "query", "KF1"),
		runCmd(t, e.with(envAPIKey+"="), "paysign", "-package", "x", "-api-key-file", t.TempDir()+"/"+markerKey),
	} {
		wantCode(t, r, exitUsage)
		if strings.Contains(r.stdout+r.stderr, markerKey) || strings.Contains(r.stdout+r.stderr, markerKey[8:24]) {
			t.Errorf("the -api-key-file value was printed:\n%s", r)
		}
		if !strings.Contains(r.stderr, "cannot read the API key file") || !strings.Contains(r.stderr, "no such file") {
			t.Errorf("the error does not say what is wrong:\n%s", r)
		}
	}
}
