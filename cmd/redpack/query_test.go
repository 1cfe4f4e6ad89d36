package main

import (
	"strings"
	"testing"
	"time"

	"github.com/redpack-go/redpack/redpacktest"
)

// payment are the flags naming the payment sendArgs sends.
var payment = []string{"-openid", testOpenID, "-amount", "100"}

func TestQuery(t *testing.T) {
	t.Parallel()
	s, e := newFake(t)
	wantCode(t, runCmd(t, e, sendArgs("Q1")...), exitOK)

	// With the payment: judged, paid.
	r := runCmd(t, e, append([]string{"query", "Q1"}, payment...)...)
	wantCode(t, r, exitOK)
	for _, want := range []string{"SENT: red packet Q1", "status", "100 fen (1.00 yuan)", "新年红包", "payment", "does not show its recipient"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q\n%s", want, r)
		}
	}

	if err := s.Receive("Q1"); err != nil {
		t.Fatal(err)
	}
	// Flags after the bill number work too.
	r = runCmd(t, e, append([]string{"query", "Q1", "-json"}, payment...)...)
	wantCode(t, r, exitOK)
	out := decode[recordOutput](t, r)
	rec := out.Record
	if out.Outcome != "OK" || rec == nil || rec.Status != "RECEIVED" || rec.TotalAmount != 100 || len(rec.Receivers) != 1 ||
		rec.Receivers[0].OpenID != testOpenID || rec.Receivers[0].Amount != 100 || rec.Receivers[0].RcvTime == "" ||
		out.Payment == nil || out.Payment.OpenID != testOpenID || out.Payment.Amount != 100 || out.Payment.TotalNum != 1 ||
		out.Next != "" {
		t.Errorf("output %+v, record %+v", out, rec)
	}
	r = runCmd(t, e, append([]string{"query", "-json"}, append(payment, "Q1")...)...)
	wantCode(t, r, exitOK)

	r = runCmd(t, e, append([]string{"query", "Q1"}, payment...)...)
	if !strings.Contains(r.stdout, "receivers (1):") {
		t.Errorf("no receivers\n%s", r)
	}

	// NOT_FOUND is not a failure: unknown, exit 3, with the bill number.
	r = runCmd(t, e, append([]string{"query", "NOSUCHBILL", "-json"}, payment...)...)
	wantCode(t, r, exitUnknown)
	out = decode[recordOutput](t, r)
	if out.Outcome != "UNKNOWN" || out.BillNo != "NOSUCHBILL" || out.Error == nil || out.Error.ErrCode != "" ||
		out.Error.LastAnswer == nil || out.Error.LastAnswer.ErrCode != "NOT_FOUND" ||
		!strings.Contains(out.Next, "redpack resolve NOSUCHBILL -openid "+testOpenID+" -amount 100") {
		t.Errorf("output %+v, error %+v", out, out.Error)
	}
}

// TestQueryWithoutPayment: the raw record is shown, but a paid record
// cannot be told from another payment's, so it does not exit 0; a FAILED
// record exits 1 whoever it was for.
func TestQueryWithoutPayment(t *testing.T) {
	t.Parallel()
	_, e := newFake(t, redpacktest.WithBalance(150))
	wantCode(t, runCmd(t, e, sendArgs("QR1")...), exitOK)
	r := runCmd(t, e, "query", "QR1", "-json")
	wantCode(t, r, exitUnknown)
	out := decode[recordOutput](t, r)
	if out.Record == nil || out.Record.Status != "SENT" || out.Outcome != "UNKNOWN" || out.Payment != nil ||
		!strings.Contains(out.Next, "-openid and -amount") {
		t.Errorf("output %+v", out)
	}
	if r := runCmd(t, e, "query", "QR1"); !strings.Contains(r.stdout, "not checked against a payment") {
		t.Errorf("human output does not say the record is unjudged\n%s", r)
	}
	wantCode(t, runCmd(t, e, sendArgs("QR2")...), exitFailed) // NOTENOUGH: a FAILED bill
	r = runCmd(t, e, "query", "QR2", "-json")
	wantCode(t, r, exitFailed)
	if out := decode[recordOutput](t, r); out.Outcome != "FINAL" || out.Record == nil || out.Record.Status != "FAILED" {
		t.Errorf("output %+v", out)
	}
}

// TestQueryFailedWithClaims: a FAILED record that lists claims contradicts
// itself; without the payment it is not "nothing paid" (exit 1) but open
// (exit 3), as Client.Check and resolve read it.
func TestQueryFailedWithClaims(t *testing.T) {
	t.Parallel()
	s, e := newFake(t)
	body := []byte("<xml><return_code><![CDATA[SUCCESS]]></return_code><result_code><![CDATA[SUCCESS]]></result_code>" +
		"<mch_billno><![CDATA[QF1]]></mch_billno><mch_id><![CDATA[" + s.MchID() + "]]></mch_id>" +
		"<detail_id><![CDATA[1000041701201801233000153541024]]></detail_id><status><![CDATA[FAILED]]></status>" +
		"<send_type><![CDATA[API]]></send_type><hb_type><![CDATA[NORMAL]]></hb_type><total_num>1</total_num><total_amount>100</total_amount>" +
		"<hblist><hbinfo><openid><![CDATA[" + testOpenID + "]]></openid><amount>100</amount>" +
		"<rcv_time><![CDATA[2018-01-23 13:45:31]]></rcv_time></hbinfo></hblist></xml>")
	for _, args := range [][]string{{"query", "QF1", "-json"}, append([]string{"query", "QF1", "-json"}, payment...)} {
		if err := s.Inject(redpacktest.EndpointQuery, redpacktest.Raw(200, "text/plain", body), 1); err != nil {
			t.Fatal(err)
		}
		r := runCmd(t, e, args...)
		wantCode(t, r, exitUnknown)
		if out := decode[recordOutput](t, r); out.Outcome != "UNKNOWN" || out.ExitCode != exitUnknown {
			t.Errorf("%v: output %+v", args, out)
		}
	}
}

// TestQueryConflict: a record that contradicts the payment is exit 5,
// never "paid" (issue 8 item 3).
func TestQueryConflict(t *testing.T) {
	t.Parallel()
	_, e := newFake(t)
	wantCode(t, runCmd(t, e, sendArgs("QC1")...), exitOK) // 100 fen to testOpenID
	for _, cmd := range []string{"query", "resolve"} {
		r := runCmd(t, e, cmd, "QC1", "-openid", "oSomeoneElse", "-amount", "500", "-json")
		wantCode(t, r, exitConflict)
		out := decode[recordOutput](t, r)
		if out.Outcome != "CONFLICT" || out.ExitCode != exitConflict || out.Record == nil || out.Record.TotalAmount != 100 ||
			!strings.Contains(out.Next, "another payment") {
			t.Errorf("%s: output %+v", cmd, out)
		}
	}
}

// TestQueryMiniProgram: gethbinfo of a mini-program packet can use the
// mini-program appid (issue 8 item 19), as the fake requires it to be one
// of the merchant's.
func TestQueryMiniProgram(t *testing.T) {
	t.Parallel()
	s, e := newFake(t)
	wantCode(t, runCmd(t, e, sendArgs("QM1", "-kind", "mini")...), exitOK)
	for _, cmd := range []string{"query", "resolve"} {
		s.ClearRequests()
		r := runCmd(t, e, append([]string{cmd, "QM1", "-kind", "mini", "-json"}, payment...)...)
		wantCode(t, r, exitOK)
		reqs := s.Requests()
		if len(reqs) == 0 || reqs[0].Fields["appid"] != s.MiniAppID() {
			t.Errorf("%s -kind mini queried with appid %q, want the mini-program appid %q", cmd, reqs[0].Fields["appid"], s.MiniAppID())
		}
	}
	// The default is the Official Account appid; -appid names another.
	s.ClearRequests()
	wantCode(t, runCmd(t, e, append([]string{"query", "QM1"}, payment...)...), exitOK)
	if got := s.Requests()[0].Fields["appid"]; got != s.AppID() {
		t.Errorf("default appid %q, want %q", got, s.AppID())
	}
	s.ClearRequests()
	wantCode(t, runCmd(t, e.with(envAppID+"=wxsomethingelse0001"), append([]string{"query", "QM1", "-appid", s.MiniAppID()}, payment...)...), exitOK)
	if got := s.Requests()[0].Fields["appid"]; got != s.MiniAppID() {
		t.Errorf("-appid: queried with %q", got)
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
		if out := decode[sendOutput](t, r); out.Outcome != "PENDING" || out.BillNo != "R1" ||
			!strings.Contains(out.Next, "redpack resolve R1 -openid "+testOpenID+" -amount 100") {
			t.Errorf("output %+v", out)
		}
		r = runCmd(t, e, append([]string{"resolve", "R1", "-retry-delay", "20ms", "-timeout", "10s", "-json"}, payment...)...)
		wantCode(t, r, exitOK)
		if out := decode[recordOutput](t, r); out.Record == nil || out.Record.Status != "SENT" || out.Outcome != "OK" {
			t.Errorf("output %+v", out)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		s, e := newFake(t, redpacktest.WithProcessingDelay(time.Hour))
		inject(t, s, redpacktest.Processing(), 1)
		wantCode(t, runCmd(t, e, sendArgs("R2")...), exitUnknown)
		// The record stays SENDING: resolve gives up when the deadline
		// comes (under load even the first query may not finish in time:
		// either way the outcome stays open, exit 3).
		r := runCmd(t, e, append([]string{"resolve", "-timeout", "1500ms", "-retry-delay", "20ms", "R2"}, payment...)...)
		wantCode(t, r, exitUnknown)
		if !strings.Contains(r.stdout, "R2") || !strings.Contains(r.stdout, "redpack resolve R2") || !strings.Contains(r.stdout, "still not settled") {
			t.Errorf("stdout\n%s", r)
		}
	})
	t.Run("failed", func(t *testing.T) {
		t.Parallel()
		_, e := newFake(t, redpacktest.WithBalance(10))
		wantCode(t, runCmd(t, e, sendArgs("R3")...), exitFailed)
		r := runCmd(t, e, append([]string{"resolve", "R3", "-json"}, payment...)...)
		wantCode(t, r, exitFailed)
		if out := decode[recordOutput](t, r); out.Outcome != "FINAL" || out.Record == nil || out.Record.Status != "FAILED" {
			t.Errorf("output %+v", out)
		}
	})
}

// TestResolveNeedsPayment: resolve refuses to run without -openid and
// -amount; nothing is queried.
func TestResolveNeedsPayment(t *testing.T) {
	t.Parallel()
	s, e := newFake(t)
	for _, args := range [][]string{
		{"resolve", "RP1"},
		{"resolve", "RP1", "-openid", testOpenID},
		{"resolve", "RP1", "-amount", "100"},
		{"resolve", "RP1", "-openid", testOpenID, "-amount", "-5"},
		{"query", "RP1", "-amount", "100"},
		{"resolve", "RP1", "-kind", "group", "-openid", testOpenID, "-amount", "300"},
		{"resolve", "RP1", "-openid", testOpenID, "-amount", "300", "-total-num", "3"},
		{"resolve", "RP1", "-kind", "lucky", "-openid", testOpenID, "-amount", "300"},
	} {
		r := runCmd(t, e, args...)
		wantCode(t, r, exitUsage)
		if r.stdout != "" || !strings.Contains(r.stderr, "redpack ") {
			t.Errorf("%q:\n%s", args, r)
		}
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("the fake saw %d requests", n)
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
	if !strings.Contains(r.stdout, "OUTCOME UNKNOWN") || !strings.Contains(r.stdout, "redpack resolve U1 -openid "+testOpenID+" -amount 100") {
		t.Errorf("stdout\n%s", r)
	}
	paid := s.TotalPaid()
	if paid != 100 {
		t.Fatalf("paid %d, want 100 (once, whatever the attempts)", paid)
	}
	s.ClearInjections()
	r = runCmd(t, e, append([]string{"resolve", "U1", "-json"}, payment...)...)
	wantCode(t, r, exitOK)
	if out := decode[recordOutput](t, r); out.Record.Status != "SENT" {
		t.Errorf("output %+v", out)
	}
	wantCode(t, runCmd(t, e, sendArgs("U1")...), exitOK)
	if s.TotalPaid() != paid {
		t.Errorf("re-send paid again: %d", s.TotalPaid())
	}
}

// TestQueryRefusedIsUnknown: a query WeChat Pay refuses (here PARAM_ERROR for
// an appid the merchant does not own) says nothing about the red packet: exit
// 3, not 1, which scripts read as "FAILED, not paid".
func TestQueryRefusedIsUnknown(t *testing.T) {
	t.Parallel()
	_, e := newFake(t)
	wantCode(t, runCmd(t, e, sendArgs("REFQ1")...), exitOK)
	for _, cmd := range []string{"query", "resolve"} {
		args := append([]string{cmd, "REFQ1", "-appid", "wxWRONGappid0000", "-json"}, payment...)
		if cmd == "resolve" {
			args = append(args, "-timeout", "2s")
		}
		r := runCmd(t, e, args...)
		wantCode(t, r, exitUnknown)
		if out := decode[recordOutput](t, r); out.ExitCode != exitUnknown || out.Record != nil || out.Outcome != "UNKNOWN" {
			t.Errorf("%s: %+v", cmd, out)
		}
	}
}
