package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redpack-go/redpack"
	"github.com/redpack-go/redpack/redpacktest"
)

// markerKey is a valid API key whose appearance in any output is a leak.
const markerKey = "MARKERSECRETKEY0123456789abcdefX"

// env is a fake environment.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// with returns a copy of e with the given KEY=VALUE pairs set ("" deletes).
func (e env) with(kv ...string) env {
	out := make(env, len(e))
	for k, v := range e {
		out[k] = v
	}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// newFake starts a redpacktest server, writes its files as the fake command
// does and returns the server and the environment of its redpack.env.
func newFake(t *testing.T, opts ...redpacktest.Option) (*redpacktest.Server, env) {
	t.Helper()
	s := redpacktest.NewServer(opts...)
	t.Cleanup(s.Close)
	envPath, err := writeFakeFiles(t.TempDir(), s)
	if err != nil {
		t.Fatal(err)
	}
	return s, readEnvFile(t, envPath)
}

// readEnvFile parses the export lines of a redpack.env.
func readEnvFile(t *testing.T, path string) env {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e := env{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "export ")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		if strings.HasPrefix(v, "'") {
			v = strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(v, "'"), "'"), `'\''`, "'")
		}
		e[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return e
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return "exit " + itoa(r.code) + "\n--- stdout\n" + r.stdout + "--- stderr\n" + r.stderr
}

func runCmd(t *testing.T, e env, args ...string) result {
	t.Helper()
	return runCtx(t, t.Context(), e, args...)
}

func runCtx(t *testing.T, ctx context.Context, e env, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, e.get, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

func decode[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not the expected JSON: %v\n%s", err, r)
	}
	return v
}

// sendArgs are the arguments of a valid normal send; extra flags are
// appended.
func sendArgs(billNo string, extra ...string) []string {
	a := []string{"send", "-openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "-amount", "100",
		"-send-name", "红包商户", "-wishing", "恭喜发财", "-act-name", "新年红包", "-remark", "测试"}
	if billNo != "" {
		a = append(a, "-billno", billNo)
	}
	return append(a, extra...)
}

// inject makes the next n requests to any endpoint get a.
func inject(t *testing.T, s *redpacktest.Server, a redpacktest.Answer, n int) {
	t.Helper()
	if err := s.Inject(redpacktest.AnyEndpoint, a, n); err != nil {
		t.Fatal(err)
	}
}

func systemError() redpacktest.Answer { return redpacktest.ResultFail("SYSTEMERROR") }

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\n%s", r.code, code, r)
	}
}

func TestSendNormal(t *testing.T) {
	t.Parallel()
	s, e := newFake(t)
	r := runCmd(t, e, sendArgs("1900000109N1")...)
	wantCode(t, r, exitOK)
	for _, want := range []string{"OK: red packet sent (sendredpack)", "mch_billno", "1900000109N1", "100 fen (1.00 yuan)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q\n%s", want, r)
		}
	}
	p, ok := s.Packet("1900000109N1")
	if !ok || p.Amount != 100 || p.Kind != redpacktest.KindNormal || !strings.Contains(r.stdout, p.SendListID) {
		t.Errorf("ledger: %+v, %v\n%s", p, ok, r)
	}
}

func TestSendNormalJSON(t *testing.T) {
	t.Parallel()
	s, e := newFake(t)
	r := runCmd(t, e, sendArgs("", "-json", "-scene", "PRODUCT_2", "-client-ip", "10.1.2.3")...)
	wantCode(t, r, exitOK)
	out := decode[sendOutput](t, r)
	if out.Outcome != "OK" || out.ExitCode != 0 || out.Op != "sendredpack" || out.Amount != 100 || out.TotalNum != 1 ||
		out.OpenID != "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" || out.SendListID == "" || out.Error != nil || out.Next != "" {
		t.Errorf("output: %+v", out)
	}
	// A generated bill number is the merchant's and is the one paid.
	p, ok := s.Packet(out.BillNo)
	if !ok || p.SendListID != out.SendListID || !strings.HasPrefix(out.BillNo, s.MchID()) {
		t.Errorf("ledger %+v %v for %q", p, ok, out.BillNo)
	}
	reqs := s.Requests()
	if f := reqs[len(reqs)-1].Fields; f["scene_id"] != "PRODUCT_2" || f["client_ip"] != "10.1.2.3" || f["wishing"] != "恭喜发财" {
		t.Errorf("request fields %v", f)
	}
	// The raw JSON field names are the documented ones.
	var raw map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"op", "outcome", "exit_code", "mch_billno", "send_listid", "re_openid", "total_amount", "total_num"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, r.stdout)
		}
	}
}

// paySign recomputes the wx.sendBizRedPacket signature independently.
func paySign(appID, key string, b redpack.BizRedPacket) string {
	sum := md5.Sum([]byte("appId=" + appID + "&nonceStr=" + b.NonceStr + "&package=" + b.Package +
		"&timeStamp=" + b.TimeStamp + "&key=" + key))
	return hex.EncodeToString(sum[:])
}

func TestSendMini(t *testing.T) {
	t.Parallel()
	s, e := newFake(t)
	r := runCmd(t, e, sendArgs("MINI1", "-kind", "mini", "-json")...)
	wantCode(t, r, exitOK)
	out := decode[sendOutput](t, r)
	p, ok := s.Packet("MINI1")
	if !ok || p.Kind != redpacktest.KindMini || p.AppID != s.MiniAppID() || out.Package == "" || out.Package != p.Package {
		t.Fatalf("ledger %+v %v; output %+v", p, ok, out)
	}
	b := out.BizRedPacket
	if b == nil || b.SignType != "MD5" || b.PaySign != paySign(s.MiniAppID(), s.APIKey(), *b) || b.TimeStamp == "" ||
		strings.ContainsAny(b.Package, "=&") {
		t.Errorf("biz_red_packet %+v", b)
	}

	r = runCmd(t, e, sendArgs("MINI2", "-kind", "mini")...)
	wantCode(t, r, exitOK)
	for _, want := range []string{"OK: red packet sent (sendminiprogramhb)", "wx.sendBizRedPacket parameters:", "paySign", "signType", "MD5"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q\n%s", want, r)
		}
	}
}

func TestSendGroup(t *testing.T) {
	t.Parallel()
	t.Run("live", func(t *testing.T) {
		t.Parallel()
		s, e := newFake(t, redpacktest.WithGroupRetired(false))
		r := runCmd(t, e, sendArgs("GROUP1", "-kind", "group", "-amount", "300", "-total-num", "3", "-json")...)
		wantCode(t, r, exitOK)
		out := decode[sendOutput](t, r)
		if out.Op != "sendgroupredpack" || out.TotalNum != 3 || out.Amount != 300 {
			t.Errorf("output %+v", out)
		}
		if p, ok := s.Packet("GROUP1"); !ok || p.Kind != redpacktest.KindGroup || p.TotalNum != 3 {
			t.Errorf("ledger %+v %v", p, ok)
		}
		if !strings.Contains(r.stderr, "2024-06-05") {
			t.Errorf("no deprecation warning\n%s", r)
		}
	})
	t.Run("retired", func(t *testing.T) {
		t.Parallel()
		s, e := newFake(t, redpacktest.WithGroupRetired(true))
		r := runCmd(t, e, sendArgs("GROUP2", "-kind", "group", "-amount", "300", "-total-num", "3", "-json")...)
		wantCode(t, r, exitFailed)
		out := decode[sendOutput](t, r)
		if out.Outcome != "REJECTED" || out.ExitCode != exitFailed || out.Error == nil || out.Error.ErrCode != "API_METHOD_CLOSED" || out.BillNo != "GROUP2" {
			t.Errorf("output %+v", out)
		}
		if s.TotalPaid() != 0 {
			t.Errorf("paid %d", s.TotalPaid())
		}
		r = runCmd(t, e, sendArgs("GROUP3", "-kind", "group", "-amount", "300", "-total-num", "3")...)
		wantCode(t, r, exitFailed)
		if !strings.Contains(r.stdout, "API_METHOD_CLOSED") || !strings.Contains(r.stdout, "REJECTED") {
			t.Errorf("human output\n%s", r)
		}
	})
	t.Run("too few shares", func(t *testing.T) {
		t.Parallel()
		s, e := newFake(t)
		r := runCmd(t, e, sendArgs("GROUP4", "-kind", "group", "-amount", "300", "-json")...)
		wantCode(t, r, exitUsage)
		if out := decode[sendOutput](t, r); out.Error == nil || len(out.Error.Fields) == 0 || out.Error.Fields[0].Field != "total_num" {
			t.Errorf("output %+v", out)
		}
		if n := len(s.Requests()); n != 0 {
			t.Errorf("server saw %d requests", n)
		}
	})
}

func TestQuery(t *testing.T) {
	t.Parallel()
	s, e := newFake(t)
	wantCode(t, runCmd(t, e, sendArgs("Q1")...), exitOK)

	r := runCmd(t, e, "query", "Q1")
	wantCode(t, r, exitOK)
	for _, want := range []string{"SENT: red packet Q1", "status", "100 fen (1.00 yuan)", "新年红包"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q\n%s", want, r)
		}
	}

	if err := s.Receive("Q1"); err != nil {
		t.Fatal(err)
	}
	// Flags after the bill number work too.
	r = runCmd(t, e, "query", "Q1", "-json")
	wantCode(t, r, exitOK)
	out := decode[recordOutput](t, r)
	rec := out.Record
	if out.Outcome != "OK" || rec == nil || rec.Status != "RECEIVED" || rec.TotalAmount != 100 || len(rec.Receivers) != 1 ||
		rec.Receivers[0].OpenID != "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" || rec.Receivers[0].Amount != 100 || rec.Receivers[0].RcvTime == "" {
		t.Errorf("output %+v, record %+v", out, rec)
	}
	r = runCmd(t, e, "query", "-json", "Q1")
	wantCode(t, r, exitOK)

	r = runCmd(t, e, "query", "Q1")
	if !strings.Contains(r.stdout, "receivers (1):") {
		t.Errorf("no receivers\n%s", r)
	}

	// NOT_FOUND is not a failure: unknown, exit 3, with the bill number.
	r = runCmd(t, e, "query", "NOSUCHBILL", "-json")
	wantCode(t, r, exitUnknown)
	out = decode[recordOutput](t, r)
	if out.Outcome != "UNKNOWN" || out.BillNo != "NOSUCHBILL" || out.Error == nil || out.Error.ErrCode != "NOT_FOUND" ||
		!strings.Contains(out.Next, "redpack resolve NOSUCHBILL") {
		t.Errorf("output %+v", out)
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	t.Run("pending then settled", func(t *testing.T) {
		t.Parallel()
		s, e := newFake(t, redpacktest.WithProcessingDelay(100*time.Millisecond))
		inject(t, s, redpacktest.Processing(), 1)
		r := runCmd(t, e, sendArgs("R1", "-json")...)
		wantCode(t, r, exitUnknown)
		if out := decode[sendOutput](t, r); out.Outcome != "PENDING" || out.BillNo != "R1" || !strings.Contains(out.Next, "redpack resolve R1") {
			t.Errorf("output %+v", out)
		}
		r = runCmd(t, e, "resolve", "R1", "-retry-delay", "20ms", "-timeout", "10s", "-json")
		wantCode(t, r, exitOK)
		if out := decode[recordOutput](t, r); out.Record == nil || out.Record.Status != "SENT" {
			t.Errorf("output %+v", out)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		s, e := newFake(t, redpacktest.WithProcessingDelay(time.Hour))
		inject(t, s, redpacktest.Processing(), 1)
		wantCode(t, runCmd(t, e, sendArgs("R2")...), exitUnknown)
		r := runCmd(t, e, "resolve", "-timeout", "150ms", "-retry-delay", "20ms", "R2")
		wantCode(t, r, exitUnknown)
		if !strings.Contains(r.stdout, "R2") || !strings.Contains(r.stdout, "redpack resolve R2") {
			t.Errorf("stdout\n%s", r)
		}
	})
}

func TestPaySign(t *testing.T) {
	t.Parallel()
	s, e := newFake(t)
	pkg := "sendid=abc&ver=8&sign=def&mchid=" + s.MchID() + "&appid=" + s.MiniAppID()
	r := runCmd(t, e, "paysign", "-package", pkg, "-json")
	wantCode(t, r, exitOK)
	var raw map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if len(raw) != 5 {
		t.Errorf("want exactly timeStamp, nonceStr, package, signType, paySign: %v", raw)
	}
	b := redpack.BizRedPacket{TimeStamp: raw["timeStamp"], NonceStr: raw["nonceStr"], Package: raw["package"], SignType: raw["signType"], PaySign: raw["paySign"]}
	if b.SignType != "MD5" || b.PaySign != paySign(s.MiniAppID(), s.APIKey(), b) || !strings.Contains(b.Package, "%26") {
		t.Errorf("parameters %+v", b)
	}
	// An explicit appid is signed instead.
	r = runCmd(t, e, "paysign", "-package", pkg, "-json", "-mini-appid", "wxother0000000001")
	wantCode(t, r, exitOK)
	b = decode[redpack.BizRedPacket](t, r)
	if b.PaySign != paySign("wxother0000000001", s.APIKey(), b) {
		t.Errorf("-mini-appid not used: %+v", b)
	}

	r = runCmd(t, e, "paysign", "-package", pkg)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "paySign") || !strings.Contains(r.stdout, s.MiniAppID()) {
		t.Errorf("human output\n%s", r)
	}

	r = runCmd(t, e, "paysign")
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "package") {
		t.Errorf("stderr does not name package\n%s", r)
	}
}

// closedURL returns an https URL on loopback where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "https://" + addr
}

// TestExitCodes has one row per outcome class.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	retry := []string{"-attempts", "2", "-retry-delay", "1ms"}
	tests := []struct {
		name    string
		opts    []redpacktest.Option
		fault   func() redpacktest.Answer
		env     []string
		bill    string
		extra   []string
		code    int
		outcome string
		errCode string
	}{
		{name: "ok", bill: "E0", code: 0, outcome: "OK"},
		{name: "final NOTENOUGH", opts: []redpacktest.Option{redpacktest.WithBalance(50)}, bill: "E1", code: 1, outcome: "FINAL", errCode: "NOTENOUGH"},
		{name: "rejected SIGN_ERROR", env: []string{envAPIKey + "=WrongKey0123456789abcdefghijklmn"}, bill: "E2", code: 1, outcome: "REJECTED", errCode: "SIGN_ERROR"},
		{name: "unknown pay then drop", fault: redpacktest.PayThenDrop, bill: "E3", extra: retry, code: 3, outcome: "UNKNOWN"},
		{name: "unknown SYSTEMERROR", fault: systemError, bill: "E4", extra: retry, code: 3, outcome: "UNKNOWN", errCode: "SYSTEMERROR"},
		{name: "pending", fault: redpacktest.Processing, bill: "E5", code: 3, outcome: "PENDING", errCode: "PROCESSING"},
		{name: "not sent", env: []string{"closed"}, bill: "E6", extra: retry, code: 4, outcome: "NOT_SENT"},
		{name: "validation", bill: "E7", extra: []string{"-amount", "1"}, code: 2, outcome: "REJECTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, e := newFake(t, tt.opts...)
			if tt.fault != nil {
				inject(t, s, tt.fault(), 10)
			}
			for _, kv := range tt.env {
				if kv == "closed" {
					kv = envBaseURL + "=" + closedURL(t)
				}
				e = e.with(kv)
			}
			args := sendArgs(tt.bill, tt.extra...)
			r := runCmd(t, e, append(args, "-json")...)
			wantCode(t, r, tt.code)
			out := decode[sendOutput](t, r)
			if out.ExitCode != tt.code || out.Outcome != tt.outcome || out.BillNo != tt.bill {
				t.Errorf("output %+v", out)
			}
			if tt.errCode != "" && (out.Error == nil || out.Error.ErrCode != tt.errCode) {
				t.Errorf("error %+v, want err_code %s", out.Error, tt.errCode)
			}
			if tt.code != 0 && (out.Error == nil || out.Next == "" || !strings.Contains(r.stderr, "redpack:")) {
				t.Errorf("error not reported\n%s", r)
			}
			// Human output names the bill number whatever the outcome.
			r = runCmd(t, e, args...)
			wantCode(t, r, tt.code)
			if !strings.Contains(r.stdout, tt.bill) {
				t.Errorf("bill number %s not printed\n%s", tt.bill, r)
			}
			if tt.code == exitUnknown && !strings.Contains(r.stdout, "redpack resolve "+tt.bill) {
				t.Errorf("no resolve hint\n%s", r)
			}
		})
	}
}

// TestUnknownThenResolve walks the unknown outcome: paid, answer lost,
// resolved by query, and a re-send with the same bill number pays nothing
// more.
func TestUnknownThenResolve(t *testing.T) {
	t.Parallel()
	s, e := newFake(t)
	inject(t, s, redpacktest.PayThenDrop(), 10)
	r := runCmd(t, e, sendArgs("U1", "-attempts", "3", "-retry-delay", "1ms")...)
	wantCode(t, r, exitUnknown)
	if !strings.Contains(r.stdout, "OUTCOME UNKNOWN") || !strings.Contains(r.stdout, "redpack resolve U1") {
		t.Errorf("stdout\n%s", r)
	}
	paid := s.TotalPaid()
	if paid != 100 {
		t.Fatalf("paid %d, want 100 (once, whatever the attempts)", paid)
	}
	s.ClearInjections()
	r = runCmd(t, e, "resolve", "U1", "-json")
	wantCode(t, r, exitOK)
	if out := decode[recordOutput](t, r); out.Record.Status != "SENT" {
		t.Errorf("output %+v", out)
	}
	wantCode(t, runCmd(t, e, sendArgs("U1")...), exitOK)
	if s.TotalPaid() != paid {
		t.Errorf("re-send paid again: %d", s.TotalPaid())
	}
}

func TestValidationNamesWireField(t *testing.T) {
	t.Parallel()
	s, e := newFake(t)
	args := []string{"send", "-openid", "o1", "-amount", "100", "-wishing", " 恭喜 ", "-act-name", "a", "-remark", "r", "-billno", "BAD-BILL", "-json"}
	r := runCmd(t, e, args...)
	wantCode(t, r, exitUsage)
	out := decode[sendOutput](t, r)
	got := map[string]bool{}
	for _, f := range out.Error.Fields {
		got[f.Field] = true
	}
	for _, f := range []string{"send_name", "wishing", "mch_billno"} {
		if !got[f] || !strings.Contains(r.stderr, f) {
			t.Errorf("field %s not reported\n%s", f, r)
		}
	}
	r = runCmd(t, e, args[:len(args)-1]...)
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stdout, "INVALID REQUEST") || !strings.Contains(r.stdout, "invalid send_name") {
		t.Errorf("human output\n%s", r)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("server saw %d requests", n)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	_, e := newFake(t)
	tests := []struct {
		name string
		env  env
		args []string
		want string // in stderr
	}{
		{"no command", e, nil, "Usage:"},
		{"unknown command", e, []string{"pay"}, "unknown command"},
		{"bad kind", e, sendArgs("", "-kind", "lucky"), "-kind"},
		{"client-ip on mini", e, sendArgs("", "-kind", "mini", "-client-ip", "10.0.0.1"), "-client-ip"},
		{"total-num on normal", e, sendArgs("", "-total-num", "3"), "-total-num"},
		{"unknown flag", e, sendArgs("", "-colour", "red"), "colour"},
		{"bad amount", e, sendArgs("", "-amount", "1yuan"), "-amount"},
		{"stray argument", e, append(sendArgs(""), "extra"), "extra"},
		{"query without bill", e, []string{"query"}, "one bill number"},
		{"query two bills", e, []string{"query", "A", "B"}, "one bill number"},
		{"query bad bill", e, []string{"query", "no-such"}, "mch_billno"},
		{"missing config", env{}, sendArgs(""), "REDPACK_MCH_ID"},
		{"missing key", e.with(envAPIKey + "="), sendArgs(""), "REDPACK_API_KEY"},
		{"missing key file", e.with(envAPIKeyFile + "=/nonexistent/key"), sendArgs(""), "API key file"},
		{"both certificates", e.with(envCertPEM+"=/x", envKeyPEM+"=/y"), sendArgs(""), "not both"},
		{"bad CA", e.with(envCA + "=/nonexistent/ca.pem"), sendArgs(""), "CA file"},
		{"http base URL", e.with(envBaseURL + "=http://example.com"), sendArgs(""), "BaseURL"},
		{"negative attempts", e, sendArgs("", "-attempts", "-1"), "-attempts"},
		{"resolve timeout", e, []string{"resolve", "B1", "-timeout", "0s"}, "-timeout"},
		{"fake without dir", e, []string{"fake"}, "-dir"},
		{"fake not loopback", e, []string{"fake", "-dir", "x", "-addr", "0.0.0.0:0"}, "loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, tt.env, tt.args...)
			wantCode(t, r, exitUsage)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr lacks %q\n%s", tt.want, r)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	r := runCmd(t, env{}, "help")
	wantCode(t, r, exitOK)
	for _, want := range []string{"Exit codes:", "  0  sent / ok", "  1  send: final failure or rejected", "  2  usage",
		"  3  outcome unknown or pending", "  4  send: not sent", "REDPACK_NODE_ID", "REDPACK_CERT_P12", "redpack fake"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("usage lacks %q", want)
		}
	}
	for _, cmd := range []string{"send", "query", "resolve", "paysign", "fake"} {
		r := runCmd(t, env{}, cmd, "-h")
		wantCode(t, r, exitOK)
		if !strings.Contains(r.stderr, "Usage: redpack "+cmd) || !strings.Contains(r.stderr, "4 not sent") {
			t.Errorf("%s -h:\n%s", cmd, r)
		}
	}
	if r := runCmd(t, env{}, "help", "send"); r.code != exitOK || !strings.Contains(r.stderr, "-openid") {
		t.Errorf("help send:\n%s", r)
	}
}

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
	do(0, e, "query", "K1", "-json")
	do(0, e, "paysign", "-package", "p=1")
	do(0, e.with(envAPIKey+"="), sendArgs("K3", "-api-key-file", keyFile)...)
	do(0, e.with(envAPIKey+"=", envAPIKeyFile+"="+keyFile), "query", "K3")
	do(2, e, sendArgs("K4", "-amount", "1", "-json")...)
	do(2, e, "send", "-api-key", markerKey)
	do(2, e, "query", "K1", "--api-key="+markerKey)
	do(2, e.with(envAPIKey+"="+markerKey[:31]), sendArgs("K5")...)
	do(2, e.with(envCertP12Pass+"="+markerKey), sendArgs("K6")...)
	inject(t, s, redpacktest.PayThenDrop(), 10)
	do(3, e, sendArgs("K7", "-attempts", "2", "-retry-delay", "1ms", "-json")...)
	s.ClearInjections()
	do(1, e.with(envAPIKey+"=WrongKey0123456789abcdefghijklmn"), sendArgs("K8")...)
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
	wantCode(t, runCmd(t, flags, "query", "PEM1", "-mch-id", s.MchID(), "-base-url", s.URL(), "-ca", e[envCA],
		"-cert-pem", filepath.Join(dir, fileCertPEM), "-key-pem", filepath.Join(dir, fileKeyPEM)), exitOK)
	// An explicit PKCS#12 password: the right one works, a wrong one is a
	// configuration error.
	wantCode(t, runCmd(t, e.with(envCertP12Pass+"="+s.MchID()), "query", "PEM1"), exitOK)
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

func TestFakeFiles(t *testing.T) {
	t.Parallel()
	s, e := newFake(t)
	dir := filepath.Dir(e[envCertP12])
	want := map[string]os.FileMode{fileCA: 0o644, fileP12: 0o600, fileCertPEM: 0o644, fileKeyPEM: 0o600, fileEnv: 0o600}
	for name, perm := range want {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != perm {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode().Perm(), perm)
		}
	}
	wantEnv := env{envMchID: s.MchID(), envAppID: s.AppID(), envMiniAppID: s.MiniAppID(), envAPIKey: s.APIKey(),
		envCertP12: filepath.Join(dir, fileP12), envBaseURL: s.URL(), envCA: filepath.Join(dir, fileCA)}
	for k, v := range wantEnv {
		if e[k] != v {
			t.Errorf("%s=%q, want %q", k, e[k], v)
		}
	}
	if len(e) != len(wantEnv) {
		t.Errorf("env %v", e)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(want) {
		t.Errorf("directory holds %d files, want %d (no temporary left)", len(ents), len(want))
	}

	// The file is usable by a POSIX shell's source.
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	cmd := exec.Command(sh, "-c", `. "$1" && env`, "sh", filepath.Join(dir, fileEnv))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), envCertPEM + "=/stale"}
	got, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	shellEnv := env{}
	for line := range strings.Lines(string(got)) {
		k, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		if strings.HasPrefix(k, "REDPACK_") {
			shellEnv[k] = v
		}
	}
	if len(shellEnv) != len(wantEnv) {
		t.Errorf("sourced: %v", shellEnv)
	}
	for k, v := range wantEnv {
		if shellEnv[k] != v {
			t.Errorf("sourced %s=%q, want %q", k, shellEnv[k], v)
		}
	}
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"abc":            "abc",
		"/tmp/x y/z":     "'/tmp/x y/z'",
		"it's":           `'it'\''s'`,
		"":               "''",
		"https://h:1/$x": "'https://h:1/$x'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestFakeCommand runs the fake subcommand as a process would, then sends
// through it with nothing but the files it wrote.
func TestFakeCommand(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "fake")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"fake", "-addr", "127.0.0.1:0", "-dir", dir, "-balance", "250"}, env{}.get, &stdout, &stderr)
	}()

	envPath := filepath.Join(dir, fileEnv)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(envPath); err == nil {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("fake exited %d\n%s%s", code, stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no redpack.env")
		}
	}
	e := readEnvFile(t, envPath)
	if !strings.HasPrefix(e[envBaseURL], "https://127.0.0.1:") || strings.HasSuffix(e[envBaseURL], ":0") {
		t.Errorf("base URL %q", e[envBaseURL])
	}

	wantCode(t, runCmd(t, e, sendArgs("FAKE1")...), exitOK)
	wantCode(t, runCmd(t, e, sendArgs("FAKE2", "-kind", "mini")...), exitOK)
	r := runCmd(t, e, "query", "FAKE1", "-json")
	wantCode(t, r, exitOK)
	if out := decode[recordOutput](t, r); out.Record.Status != "SENT" {
		t.Errorf("query %+v", out.Record)
	}
	// -balance 250 fen: a third yuan is more than is left.
	r = runCmd(t, e, sendArgs("FAKE3", "-json")...)
	wantCode(t, r, exitFailed)
	if out := decode[sendOutput](t, r); out.Error == nil || out.Error.ErrCode != "NOTENOUGH" {
		t.Errorf("send over balance: %+v", out)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("fake exited %d\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("fake did not stop")
	}
	if got := strings.TrimSpace(stdout.String()); got != e[envBaseURL] {
		t.Errorf("stdout %q, want the URL %q", got, e[envBaseURL])
	}
	if !strings.Contains(stderr.String(), "stopping") {
		t.Errorf("stderr\n%s", stderr.String())
	}
	// Stopped means stopped: nothing answers any more.
	// The query did not reach it: the red packet's outcome is unknown (3),
	// never "not sent" (4), which would read as "not paid".
	wantCode(t, runCmd(t, e, "query", "FAKE1", "-attempts", "1"), exitUnknown)
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestKeyFlagGiven(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{[]string{"-api-key", "x"}, true},
		{[]string{"--api-key=x"}, true},
		{[]string{"-key", "x"}, true},
		{[]string{"-api-key-file", "x"}, false},
		{[]string{"-key-pem", "x"}, false},
		{[]string{"--", "-api-key"}, false},
		{[]string{"api-key"}, false},
	} {
		if got := keyFlagGiven(tt.args); got != tt.want {
			t.Errorf("keyFlagGiven(%q) = %v", tt.args, got)
		}
	}
}

// TestNodeID: -node and REDPACK_NODE_ID set the node digits of generated
// bill numbers; a bad value is a usage error.
func TestNodeID(t *testing.T) {
	t.Parallel()
	s, e := newFake(t)
	for _, tc := range []struct {
		env  string
		args []string
		node string
	}{
		{envNodeID + "=42", nil, "42"},
		{"", []string{"-node", "7"}, "07"},
	} {
		env := e
		if tc.env != "" {
			env = e.with(tc.env)
		}
		args := append([]string{"send", "-openid", "oNode", "-amount", "100", "-send-name", "s", "-wishing", "w",
			"-act-name", "a", "-remark", "r", "-json"}, tc.args...)
		r := runCmd(t, env, args...)
		wantCode(t, r, exitOK)
		out := decode[sendOutput](t, r)
		// mch_id + yyyymmdd + NN + 8 digits
		if got := out.BillNo[len(s.MchID())+8 : len(s.MchID())+10]; got != tc.node {
			t.Errorf("bill number %s has node %s, want %s", out.BillNo, got, tc.node)
		}
	}
	wantCode(t, runCmd(t, e.with(envNodeID+"=x"), "query", "ANY1"), exitUsage)
	wantCode(t, runCmd(t, e, "query", "ANY1", "-node", "100"), exitUsage)
}

// TestQueryRefusedIsUnknown: a query WeChat Pay refuses (here PARAM_ERROR for
// an appid the merchant does not own) says nothing about the red packet: exit
// 3, not 1, which scripts read as "FAILED, not paid".
func TestQueryRefusedIsUnknown(t *testing.T) {
	t.Parallel()
	_, e := newFake(t)
	wantCode(t, runCmd(t, e, "send", "-billno", "REFQ1", "-openid", "oRefused", "-amount", "100", "-send-name", "s",
		"-wishing", "w", "-act-name", "a", "-remark", "r"), exitOK)
	for _, cmd := range []string{"query", "resolve"} {
		args := []string{cmd, "REFQ1", "-appid", "wxWRONGappid0000", "-json"}
		if cmd == "resolve" {
			args = append(args, "-timeout", "2s")
		}
		r := runCmd(t, e, args...)
		wantCode(t, r, exitUnknown)
		if out := decode[recordOutput](t, r); out.ExitCode != exitUnknown || out.Record != nil {
			t.Errorf("%s: %+v", cmd, out)
		}
	}
}
