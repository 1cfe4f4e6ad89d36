package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/redpack-go/redpack/redpacktest"
)

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
		// A refusal proves nothing about an earlier send of the bill.
		if !strings.Contains(out.Next, "redpack resolve GROUP2 -openid "+testOpenID+" -amount 300 -kind group -total-num 3") {
			t.Errorf("next %q", out.Next)
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

// TestExitCodes has one row per outcome class.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	retry := []string{"-attempts", "2", "-retry-delay", "1ms"}
	injectAll := func(answers ...redpacktest.Answer) func(*testing.T, *redpacktest.Server, env) env {
		return func(t *testing.T, s *redpacktest.Server, e env) env {
			for _, a := range answers {
				inject(t, s, a, 1)
			}
			return e
		}
	}
	tests := []struct {
		name       string
		opts       []redpacktest.Option
		setup      func(*testing.T, *redpacktest.Server, env) env
		bill       string
		extra      []string
		code       int
		outcome    string
		errCode    string // a definite answer's err_code
		lastAnswer string // the last answer of an unknown outcome
	}{
		{name: "ok", bill: "E0", code: 0, outcome: "OK"},
		{name: "final NOTENOUGH", opts: []redpacktest.Option{redpacktest.WithBalance(50)}, bill: "E1", code: 1, outcome: "FINAL", errCode: "NOTENOUGH"},
		{name: "rejected SIGN_ERROR", setup: func(_ *testing.T, _ *redpacktest.Server, e env) env {
			return e.with(envAPIKey + "=WrongKey0123456789abcdefghijklmn")
		}, bill: "E2", code: 1, outcome: "REJECTED", errCode: "SIGN_ERROR"},
		{name: "unknown pay then drop", setup: injectAll(redpacktest.PayThenDrop(), redpacktest.PayThenDrop()), bill: "E3", extra: retry, code: 3, outcome: "UNKNOWN"},
		{name: "unknown SYSTEMERROR", setup: injectAll(systemError(), systemError()), bill: "E4", extra: retry, code: 3, outcome: "UNKNOWN", lastAnswer: "SYSTEMERROR"},
		{name: "pending", setup: injectAll(redpacktest.Processing()), bill: "E5", code: 3, outcome: "PENDING", lastAnswer: "PROCESSING"},
		// Issue 8 item 5: the last answer's FINAL code never poses as the
		// outcome of a send whose first attempt may have been paid.
		{name: "unknown, last answer NOTENOUGH", setup: injectAll(redpacktest.PayThenDrop(), redpacktest.ResultFail("NOTENOUGH")),
			bill: "E9", extra: retry, code: 3, outcome: "UNKNOWN", lastAnswer: "NOTENOUGH"},
		{name: "not sent", setup: func(t *testing.T, _ *redpacktest.Server, e env) env {
			return e.with(envBaseURL + "=" + closedURL(t))
		}, bill: "E6", extra: retry, code: 4, outcome: "NOT_SENT"},
		{name: "validation", bill: "E7", extra: []string{"-amount", "1"}, code: 2, outcome: "REJECTED"},
		{name: "conflict FATAL_ERROR", setup: func(t *testing.T, _ *redpacktest.Server, e env) env {
			// The bill number already paid 100 fen to someone else.
			wantCode(t, runCmd(t, e, "send", "-billno", "E8", "-openid", "oFirstPayee", "-amount", "100",
				"-send-name", "s", "-wishing", "w", "-act-name", "a", "-remark", "r"), exitOK)
			return e
		}, bill: "E8", code: 5, outcome: "CONFLICT", errCode: "FATAL_ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, e := newFake(t, tt.opts...)
			if tt.setup != nil {
				e = tt.setup(t, s, e)
			}
			paidBefore := s.TotalPaid()
			args := sendArgs(tt.bill, tt.extra...)
			r := runCmd(t, e, append(args, "-json")...)
			wantCode(t, r, tt.code)
			out := decode[sendOutput](t, r)
			if out.ExitCode != tt.code || out.Outcome != tt.outcome || out.BillNo != tt.bill {
				t.Errorf("output %+v", out)
			}
			if tt.code != 0 {
				if out.Error == nil {
					t.Fatalf("no error in %+v", out)
				}
				if out.Error.ErrCode != tt.errCode {
					t.Errorf("err_code %q, want %q", out.Error.ErrCode, tt.errCode)
				}
				got := ""
				if out.Error.LastAnswer != nil {
					got = out.Error.LastAnswer.ErrCode
				}
				if got != tt.lastAnswer {
					t.Errorf("last_answer.err_code %q, want %q", got, tt.lastAnswer)
				}
				if out.Next == "" || !strings.Contains(r.stderr, "redpack:") {
					t.Errorf("error not reported\n%s", r)
				}
			}
			if tt.code == exitConflict {
				if strings.Contains(out.Next, "send again with -billno") || !strings.Contains(out.Next, "another payment") {
					t.Errorf("conflict advice %q", out.Next)
				}
				if s.TotalPaid() != paidBefore {
					t.Errorf("a conflicting send paid")
				}
			}
			// Human output names the bill number whatever the outcome.
			s.ClearInjections()
			if tt.setup != nil && tt.code == exitUnknown {
				_ = tt.setup(t, s, e)
			}
			r = runCmd(t, e, args...)
			wantCode(t, r, tt.code)
			if !strings.Contains(r.stdout, tt.bill) {
				t.Errorf("bill number %s not printed\n%s", tt.bill, r)
			}
			if tt.code == exitUnknown && !strings.Contains(r.stdout, "redpack resolve "+tt.bill+" -openid "+testOpenID+" -amount 100") {
				t.Errorf("no resolve hint\n%s", r)
			}
			if tt.lastAnswer != "" && !strings.Contains(r.stdout, "last answer  "+tt.lastAnswer+" (proves nothing") {
				t.Errorf("the last answer is not shown as only the last answer\n%s", r)
			}
		})
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

// TestSendPrintsBillNoFirst (issue 8 item 18): without -billno the
// generated bill number is on stderr before the request reaches WeChat
// Pay, so an operator whose terminal dies mid-call still has it; the
// number sent is the one printed, and -json stdout stays one object.
func TestSendPrintsBillNoFirst(t *testing.T) {
	t.Parallel()
	for _, extra := range [][]string{nil, {"-json"}} {
		s, e := newFake(t)
		var stdout, stderr syncBuffer
		seen := make(chan string, 1)
		if err := s.AddReactor(redpacktest.EndpointSend, func(req redpacktest.Request) (redpacktest.Answer, bool) {
			// What the operator had on screen when the request arrived.
			seen <- stderr.String() + "\x00" + req.Fields["mch_billno"]
			return redpacktest.Answer{}, false
		}); err != nil {
			t.Fatal(err)
		}
		code := run(t.Context(), sendArgs("", extra...), e.get, &stdout, &stderr)
		if code != exitOK {
			t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
		}
		atArrival, billNo, _ := strings.Cut(<-seen, "\x00")
		if billNo == "" || !strings.Contains(atArrival, "bill number "+billNo) {
			t.Errorf("when bill %q reached the server, stderr held only:\n%s", billNo, atArrival)
		}
		if extra != nil {
			if out := decode[sendOutput](t, result{0, stdout.String(), stderr.String()}); out.BillNo != billNo {
				t.Errorf("JSON bill %q, sent %q", out.BillNo, billNo)
			}
		}
	}
}
