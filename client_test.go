package redpack_test

// The client's integration tests: every call goes over real mutual TLS to
// redpacktest, the one fake WeChat Pay server, whose injections script the
// answers WeChat Pay can give.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redpack-go/redpack"
	"github.com/redpack-go/redpack/internal/testcert"
	rt "github.com/redpack-go/redpack/redpacktest"
)

const testOpenID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"

// sendReq is a valid minimal request for billNo: 100 fen to testOpenID.
func sendReq(billNo string) redpack.SendRequest {
	return redpack.SendRequest{Packet: redpack.Packet{
		BillNo: billNo, OpenID: testOpenID, Amount: 100,
		SendName: "redpack", Wishing: "Happy new year", ActName: "New year", Remark: "Thanks",
	}}
}

// newFake starts a fake for one test; its clients retry fast.
func newFake(t *testing.T, opts ...rt.Option) *rt.Server {
	t.Helper()
	return rt.NewTestServer(t, opts...)
}

// script queues answers for ep, one request each, in order.
func script(t *testing.T, srv *rt.Server, ep rt.Endpoint, answers ...rt.Answer) {
	t.Helper()
	for _, a := range answers {
		if err := srv.Inject(ep, a, 1); err != nil {
			t.Fatal(err)
		}
	}
}

// recordXML is a gethbinfo success for billNo of 100 fen in one share with
// status, plus extra raw XML (an hblist).
func recordXML(billNo, status, extra string) []byte {
	return []byte("<xml><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code>" +
		"<mch_billno>" + billNo + "</mch_billno><detail_id>1000041701201801233000153541024</detail_id>" +
		"<status>" + status + "</status><send_type>API</send_type><hb_type>NORMAL</hb_type>" +
		"<total_num>1</total_num><total_amount>100</total_amount><send_time>2026-02-03 10:20:30</send_time>" +
		extra + "</xml>")
}

func record(billNo, status, extra string) rt.Answer {
	return rt.Raw(http.StatusOK, "text/xml", recordXML(billNo, status, extra))
}

func hblistOf(openIDs ...string) string {
	var b strings.Builder
	b.WriteString("<hblist>")
	for _, o := range openIDs {
		b.WriteString("<hbinfo><openid>" + o + "</openid><amount>100</amount><rcv_time>2026-02-03 10:21:00</rcv_time></hbinfo>")
	}
	return b.String() + "</hblist>"
}

// checkBillNo asserts that err names billNo, as a field and in its message.
func checkBillNo(t *testing.T, err error, billNo string) {
	t.Helper()
	var (
		ue *redpack.UnknownOutcomeError
		ns *redpack.NotSentError
		ae *redpack.APIError
		re *redpack.RecordError
		ve *redpack.ValidationError
	)
	var got string
	switch {
	case errors.As(err, &ue):
		got = ue.BillNo
	case errors.As(err, &ns):
		got = ns.BillNo
	case errors.As(err, &ae):
		got = ae.BillNo
	case errors.As(err, &re):
		got = re.BillNo
	case errors.As(err, &ve):
		got = ve.BillNo
	default:
		t.Fatalf("err %T (%v) is none of the package's types", err, err)
	}
	if got != billNo || !strings.Contains(err.Error(), billNo) {
		t.Errorf("err %v carries bill %q, want %q in the field and the message", err, got, billNo)
	}
}

// checkSameBody asserts that every attempt sent the first attempt's bytes.
func checkSameBody(t *testing.T, reqs []rt.Request) {
	t.Helper()
	for i, r := range reqs {
		if len(r.Body) == 0 || !bytes.Equal(r.Body, reqs[0].Body) {
			t.Errorf("attempt %d body differs from the first:\n got %s\nwant %s", i+1, r.Body, reqs[0].Body)
		}
	}
}

func TestSendDecodesResult(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	got, err := srv.NewClient().Send(t.Context(), sendReq("BILL20260203000001"))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	p, ok := srv.Packet("BILL20260203000001")
	if !ok {
		t.Fatal("the fake paid nothing")
	}
	want := &redpack.SendResult{BillNo: "BILL20260203000001", SendListID: p.SendListID, OpenID: testOpenID,
		Amount: 100, TotalNum: 1, SendTime: got.SendTime}
	if diff := cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Raw" }, cmp.Ignore())); diff != "" {
		t.Errorf("SendResult (-want +got):\n%s", diff)
	}
	if got.SendListID == "" || len(got.Raw) == 0 {
		t.Errorf("SendListID %q, Raw %d bytes", got.SendListID, len(got.Raw))
	}
	f := reqs[0].Fields
	for _, k := range []string{"sign_type", "appid"} {
		if _, ok := f[k]; ok {
			t.Errorf("sendredpack sent %s", k)
		}
	}
	if f["client_ip"] != redpack.DefaultClientIP || f["mch_billno"] != "BILL20260203000001" || f["total_num"] != "1" {
		t.Errorf("fields %v", f)
	}
}

// TestSendRequiresBillNo is the regression test for issue 8 item 1: a send
// without a bill number is refused before anything leaves, with an error
// pointing to the generators.
func TestSendRequiresBillNo(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := srv.NewClient()
	mini := srv.NewMiniProgramClient()
	calls := map[string]func() error{
		"Send": func() error { _, err := c.Send(t.Context(), sendReq("")); return err },
		"SendMiniProgram": func() error {
			_, err := mini.SendMiniProgram(t.Context(), redpack.SendMiniProgramRequest{Packet: sendReq("").Packet})
			return err
		},
		"SendGroup": func() error {
			p := sendReq("").Packet
			p.Amount = 300
			_, err := c.SendGroup(t.Context(), redpack.SendGroupRequest{Packet: p, TotalNum: 3})
			return err
		},
	}
	for name, call := range calls {
		err := call()
		var ve *redpack.ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) != 1 || !ve.Has("mch_billno") {
			t.Errorf("%s without BillNo: %v; want a *ValidationError naming only mch_billno", name, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "NewBillNo") || !strings.Contains(msg, "BillNoFor") {
			t.Errorf("%s: %q does not point to NewBillNo and BillNoFor", name, msg)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("server got %d requests, want 0", n)
	}
}

// TestResendWithSameRequestPaysOnce: the request value re-sent after an
// unknown outcome goes out under the same bill number and pays once (issue
// 8 item 1, the reproduction with pay-then-drop).
func TestResendWithSameRequestPaysOnce(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := srv.NewClient(redpack.WithNodeID(3))
	billNo, err := c.NewBillNo()
	if err != nil {
		t.Fatal(err)
	}
	req := sendReq(billNo)
	script(t, srv, rt.EndpointSend, rt.PayThenDrop(), rt.PayThenDrop(), rt.PayThenDrop())
	if _, err := c.Send(t.Context(), req); redpack.OutcomeOf(err) != redpack.OutcomeUnknown {
		t.Fatalf("Send: %v; want UNKNOWN", err)
	}
	if _, err := c.Send(t.Context(), req); err != nil {
		t.Fatalf("resend: %v", err)
	}
	if n := len(srv.Packets()); n != 1 || srv.TotalPaid() != 100 {
		t.Errorf("%d packets, %d fen paid; want 1 packet of 100 fen", n, srv.TotalPaid())
	}
}

func TestSendMiniProgramAndGroup(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	mini := srv.NewMiniProgramClient()
	res, err := mini.SendMiniProgram(t.Context(), redpack.SendMiniProgramRequest{Packet: redpack.Packet{
		BillNo: "MINI1", OpenID: testOpenID, Amount: 188, SendName: "小程序", Wishing: "恭喜发财", ActName: "活动", Remark: "备注"}})
	if err != nil {
		t.Fatalf("SendMiniProgram: %v", err)
	}
	if res.Package == "" || res.Amount != 188 {
		t.Errorf("result %+v", res)
	}
	if _, err := mini.BizRedPacket(res.Package); err != nil {
		t.Errorf("BizRedPacket(the fake's package): %v", err)
	}
	f := srv.Requests()[0].Fields
	if f["notify_way"] != "MINI_PROGRAM_JSAPI" || f["client_ip"] != "" || f["wxappid"] != srv.MiniAppID() {
		t.Errorf("sendminiprogramhb fields %v", f)
	}

	g, err := srv.NewClient().SendGroup(t.Context(), redpack.SendGroupRequest{Packet: redpack.Packet{
		BillNo: "GROUP1", OpenID: testOpenID, Amount: 1000, SendName: "group", Wishing: "share it", ActName: "fission", Remark: "r"}, TotalNum: 5})
	if err != nil {
		t.Fatalf("SendGroup: %v", err)
	}
	if g.TotalNum != 5 || g.Amount != 1000 {
		t.Errorf("group result %+v", g)
	}
	f = srv.Requests()[1].Fields
	if f["amt_type"] != "ALL_RAND" || f["client_ip"] != "" || f["total_num"] != "5" {
		t.Errorf("sendgroupredpack fields %v", f)
	}
}

// TestRetryRules has one row per retry rule (STYLE 8): the outcome, how
// many requests the server got (each with the same bytes), the error's
// shape and the bill number on it.
func TestRetryRules(t *testing.T) {
	t.Parallel()
	amount := func(v string) rt.Answer {
		return rt.Process().Rewrite(func(f map[string]string) { f["total_amount"] = v })
	}
	tests := []struct {
		name     string
		script   []rt.Answer
		requests int
		want     redpack.Outcome
		typ      string // "api", "unknown", "notsent" for errors
		is, not  []error
		last     string // LastAnswer.ErrCode of an unknown outcome
	}{
		{name: "SYSTEMERROR retried, then success", script: []rt.Answer{rt.ResultFail("SYSTEMERROR"), rt.Process()}, requests: 2, want: redpack.OutcomeOK},
		{name: "SYSTEMERROR exhausted is unknown", script: []rt.Answer{rt.ResultFail("SYSTEMERROR"), rt.ResultFail("SYSTEMERROR"), rt.ResultFail("SYSTEMERROR")},
			requests: 3, want: redpack.OutcomeUnknown, typ: "unknown", is: []error{redpack.ErrOutcomeUnknown, redpack.ErrSystem}, last: "SYSTEMERROR"},
		{name: "FREQ_LIMIT retried", script: []rt.Answer{rt.ResultFail("FREQ_LIMIT"), rt.Process()}, requests: 2, want: redpack.OutcomeOK},
		{name: "SECOND_OVER_LIMITED retried", script: []rt.Answer{rt.ResultFail("SECOND_OVER_LIMITED"), rt.Process()}, requests: 2, want: redpack.OutcomeOK},
		{name: "numeric code with return_code FAIL retried", script: []rt.Answer{rt.ReturnFail("268458547"), rt.Process()}, requests: 2, want: redpack.OutcomeOK},
		{name: "HTTP 502 retried", script: []rt.Answer{rt.HTTPStatus(http.StatusBadGateway), rt.Process()}, requests: 2, want: redpack.OutcomeOK},
		{name: "HTML with HTTP 200 retried", script: []rt.Answer{rt.Raw(200, "text/html", []byte("<html>busy</html>")), rt.Process()}, requests: 2, want: redpack.OutcomeOK},
		{name: "empty body retried", script: []rt.Answer{rt.Raw(200, "text/xml", nil), rt.Process()}, requests: 2, want: redpack.OutcomeOK},
		{name: "connection dropped retried", script: []rt.Answer{rt.Drop(), rt.Process()}, requests: 2, want: redpack.OutcomeOK},
		{name: "dropped every time is unknown", script: []rt.Answer{rt.Drop(), rt.Drop(), rt.Drop()}, requests: 3,
			want: redpack.OutcomeUnknown, typ: "unknown", is: []error{redpack.ErrOutcomeUnknown}, not: []error{redpack.ErrNotSent}},
		{name: "PROCESSING not retried, pending", script: []rt.Answer{rt.ResultFail("PROCESSING")}, requests: 1,
			want: redpack.OutcomePending, typ: "unknown", is: []error{redpack.ErrOutcomeUnknown, redpack.ErrProcessing}, last: "PROCESSING"},
		// Issue 8 item 3: FATAL_ERROR is CONFLICT, never pending.
		{name: "FATAL_ERROR not retried, conflict", script: []rt.Answer{rt.ResultFail("FATAL_ERROR")}, requests: 1,
			want: redpack.OutcomeConflict, typ: "api", is: []error{redpack.ErrConflict}, not: []error{redpack.ErrOutcomeUnknown}},
		{name: "FATAL_ERROR after a dropped attempt is still conflict", script: []rt.Answer{rt.Drop(), rt.ResultFail("FATAL_ERROR")}, requests: 2,
			want: redpack.OutcomeConflict, typ: "api", is: []error{redpack.ErrConflict}},
		{name: "NOTENOUGH not retried, final", script: []rt.Answer{rt.ResultFail("NOTENOUGH")}, requests: 1,
			want: redpack.OutcomeFinal, typ: "api", is: []error{redpack.ErrNotEnough}, not: []error{redpack.ErrOutcomeUnknown}},
		{name: "SEND_FAILED not retried, final", script: []rt.Answer{rt.ResultFail("SEND_FAILED")}, requests: 1,
			want: redpack.OutcomeFinal, typ: "api", is: []error{redpack.ErrSendFailed}},
		{name: "SIGN_ERROR not retried, rejected", script: []rt.Answer{rt.ResultFail("SIGN_ERROR")}, requests: 1,
			want: redpack.OutcomeRejected, typ: "api", is: []error{redpack.ErrSign}},
		{name: "CA_ERROR with return_code FAIL rejected", script: []rt.Answer{rt.ReturnFail("CA_ERROR")}, requests: 1,
			want: redpack.OutcomeRejected, typ: "api", is: []error{redpack.ErrCA}},
		// Issue 8 item 5: an unknown outcome matches no FINAL or REJECTED
		// sentinel; the last answer is readable as LastAnswer only.
		{name: "SYSTEMERROR then SIGN_ERROR is unknown", script: []rt.Answer{rt.ResultFail("SYSTEMERROR"), rt.ResultFail("SIGN_ERROR")}, requests: 2,
			want: redpack.OutcomeUnknown, typ: "unknown", is: []error{redpack.ErrOutcomeUnknown}, not: []error{redpack.ErrSign}, last: "SIGN_ERROR"},
		{name: "dropped then NOTENOUGH is unknown", script: []rt.Answer{rt.Drop(), rt.ResultFail("NOTENOUGH")}, requests: 2,
			want: redpack.OutcomeUnknown, typ: "unknown", is: []error{redpack.ErrOutcomeUnknown}, not: []error{redpack.ErrNotEnough}, last: "NOTENOUGH"},
		// Issue 8 item 6: a success echoing another recipient, amount or
		// share count is not this request's success.
		{name: "success echoing another openid is unknown",
			script:   []rt.Answer{rt.Process().Rewrite(func(f map[string]string) { f["re_openid"] = "oSomeoneElse" })},
			requests: 1, want: redpack.OutcomeUnknown, typ: "unknown", is: []error{redpack.ErrOutcomeUnknown}},
		{name: "success echoing 20000 fen is unknown", script: []rt.Answer{amount("20000")}, requests: 1,
			want: redpack.OutcomeUnknown, typ: "unknown", is: []error{redpack.ErrOutcomeUnknown}},
		{name: "success echoing another total_num is unknown",
			script:   []rt.Answer{rt.Process().Rewrite(func(f map[string]string) { f["total_num"] = "3" })},
			requests: 1, want: redpack.OutcomeUnknown, typ: "unknown"},
		{name: "success echoing another bill number is unknown",
			script:   []rt.Answer{rt.Process().Rewrite(func(f map[string]string) { f["mch_billno"] = "SOMEONEELSE1" })},
			requests: 1, want: redpack.OutcomeUnknown, typ: "unknown"},
		{name: "success echoing the amount with white space is fine", script: []rt.Answer{amount(" 100 ")}, requests: 1, want: redpack.OutcomeOK},
		{name: "success with err_code 0 is fine",
			script:   []rt.Answer{rt.Process().Rewrite(func(f map[string]string) { f["err_code"] = "0" })},
			requests: 1, want: redpack.OutcomeOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			script(t, srv, rt.EndpointSend, tt.script...)
			const bill = "RETRY000000000000000000001"
			res, err := srv.NewClient().Send(t.Context(), sendReq(bill))
			reqs := srv.Requests()
			if len(reqs) != tt.requests {
				t.Errorf("server got %d requests, want %d", len(reqs), tt.requests)
			}
			checkSameBody(t, reqs)
			if got := redpack.OutcomeOf(err); got != tt.want {
				t.Fatalf("OutcomeOf(%v) = %v, want %v", err, got, tt.want)
			}
			if tt.want == redpack.OutcomeOK {
				if res == nil || res.BillNo != bill {
					t.Fatalf("Send = %+v", res)
				}
				return
			}
			checkErrorShape(t, err, tt.typ, tt.requests, tt.is, tt.not)
			checkBillNo(t, err, bill)
			var ue *redpack.UnknownOutcomeError
			if tt.last != "" && (!errors.As(err, &ue) || ue.LastAnswer == nil || ue.LastAnswer.ErrCode != tt.last) {
				t.Errorf("err = %v; want LastAnswer.ErrCode %s", err, tt.last)
			}
		})
	}
}

func checkErrorShape(t *testing.T, err error, typ string, attempts int, is, not []error) {
	t.Helper()
	var (
		ae *redpack.APIError
		ue *redpack.UnknownOutcomeError
		ns *redpack.NotSentError
	)
	switch typ {
	case "api":
		if !errors.As(err, &ae) || errors.As(err, &ue) || errors.As(err, &ns) {
			t.Errorf("err = %T %v; want a bare *APIError", err, err)
		}
	case "unknown":
		if !errors.As(err, &ue) || errors.As(err, &ae) || ue.Attempts != attempts {
			t.Errorf("err = %T %v; want an *UnknownOutcomeError after %d attempts, no *APIError inside", err, err, attempts)
		}
	case "notsent":
		if !errors.As(err, &ns) || errors.As(err, &ue) || ns.Attempts != attempts {
			t.Errorf("err = %T %v; want a *NotSentError after %d attempts", err, err, attempts)
		}
	}
	for _, target := range is {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(%v, %v) = false", err, target)
		}
	}
	for _, target := range not {
		if errors.Is(err, target) {
			t.Errorf("errors.Is(%v, %v) = true", err, target)
		}
	}
}

// TestRetryContextCancelledDuringBackoff (issue 8 item 16): a context that
// ends while waiting to retry keeps its cause.
func TestRetryContextCancelledDuringBackoff(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	script(t, srv, rt.EndpointSend, rt.ResultFail("SYSTEMERROR"))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The client logs each attempt before it waits: cancel there.
	logger := slog.New(logFunc(func(r slog.Record) {
		if r.Level == slog.LevelDebug {
			cancel()
		}
	}))
	c := srv.NewClient(redpack.WithLogger(logger), redpack.WithRetryPolicy(redpack.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Hour, MaxDelay: time.Hour}))
	start := time.Now()
	_, err := c.Send(ctx, sendReq("CANCEL1"))
	if time.Since(start) > time.Minute {
		t.Errorf("Send waited past the cancel")
	}
	checkErrorShape(t, err, "unknown", 1, []error{redpack.ErrOutcomeUnknown, context.Canceled}, nil)
	checkBillNo(t, err, "CANCEL1")
}

func TestContextCancelledBeforeSend(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := srv.NewClient().Send(ctx, sendReq("EARLY1"))
	checkErrorShape(t, err, "notsent", 0, []error{redpack.ErrNotSent, context.Canceled}, []error{redpack.ErrOutcomeUnknown})
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("server got %d requests", n)
	}
}

func TestRateLimitWaitBeyondDeadlineIsNotSent(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := srv.NewClient(redpack.WithRateLimit(0.001, 1)) // one token, the next in 1000 s
	if _, err := c.Send(t.Context(), sendReq("RATE1")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err := c.Send(ctx, sendReq("RATE2"))
	checkErrorShape(t, err, "notsent", 1, []error{redpack.ErrNotSent}, []error{redpack.ErrOutcomeUnknown})
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("server got %d requests, want 1", n)
	}
}

// logFunc is a slog handler calling f for every record.
type logFunc func(slog.Record)

func (f logFunc) Enabled(context.Context, slog.Level) bool      { return true }
func (f logFunc) Handle(_ context.Context, r slog.Record) error { f(r); return nil }
func (f logFunc) WithAttrs([]slog.Attr) slog.Handler            { return f }
func (f logFunc) WithGroup(string) slog.Handler                 { return f }

// TestCheck judges one record against the Payment (SPEC §3: a record settles
// a send only when it is that send's). Issue 8 items 2, 3 and 7.
func TestCheck(t *testing.T) {
	t.Parallel()
	const bill = "CHECK1"
	paid := sendReq(bill).Payment() // 100 fen to testOpenID, one share
	other := func(openID string, amount int64, num int) redpack.Payment {
		return redpack.Payment{BillNo: bill, OpenID: openID, Amount: amount, TotalNum: num}
	}
	tests := []struct {
		name     string
		p        redpack.Payment
		answer   *rt.Answer // nil: no query expected
		want     redpack.Outcome
		conflict bool
	}{
		{"SENT matching", paid, ptr(record(bill, "SENT", "")), redpack.OutcomeOK, false},
		{"RECEIVED by the recipient", paid, ptr(record(bill, "RECEIVED", hblistOf(testOpenID))), redpack.OutcomeOK, false},
		{"REFUND matching", paid, ptr(record(bill, "REFUND", "<refund_amount>100</refund_amount>")), redpack.OutcomeOK, false},
		{"SENDING is pending", paid, ptr(record(bill, "SENDING", "")), redpack.OutcomePending, false},
		{"FAILED is final", paid, ptr(record(bill, "FAILED", "")), redpack.OutcomeFinal, false},
		// Item 3: bill X paid 100 fen to A; the payment checked is 500 fen to B.
		{"another amount is a conflict", other("oB", 500, 1), ptr(record(bill, "SENT", "")), redpack.OutcomeConflict, true},
		{"another share count is a conflict", other(testOpenID, 100, 3), ptr(record(bill, "SENT", "")), redpack.OutcomeConflict, true},
		{"claimed by another openid is a conflict", paid, ptr(record(bill, "RECEIVED", hblistOf("oSomeoneElse"))), redpack.OutcomeConflict, true},
		// Item 7: a record that contradicts itself settles nothing.
		{"FAILED with claims is unknown", paid, ptr(record(bill, "FAILED", hblistOf(testOpenID))), redpack.OutcomeUnknown, false},
		{"claims above the total are unknown", paid, ptr(record(bill, "RECEIVED", hblistOf(testOpenID, testOpenID))), redpack.OutcomeUnknown, false},
		{"an unknown status is unknown", paid, ptr(record(bill, "LOST", "")), redpack.OutcomeUnknown, false},
		// Item 2: a query problem never reads as "not paid".
		{"NOT_FOUND is unknown", paid, ptr(rt.ResultFail("NOT_FOUND")), redpack.OutcomeUnknown, false},
		{"a refused query is unknown", paid, ptr(rt.ResultFail("SIGN_ERROR")), redpack.OutcomeUnknown, false},
		{"PARAM_ERROR on the query is unknown", paid, ptr(rt.ResultFail("PARAM_ERROR")), redpack.OutcomeUnknown, false},
		{"empty bill number is unknown", redpack.Payment{OpenID: testOpenID, Amount: 100, TotalNum: 1}, nil, redpack.OutcomeUnknown, false},
		{"invalid bill number is unknown", redpack.Payment{BillNo: "bad-bill!", OpenID: testOpenID, Amount: 100, TotalNum: 1}, nil, redpack.OutcomeUnknown, false},
		{"zero amount is unknown", other(testOpenID, 0, 1), nil, redpack.OutcomeUnknown, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			queries := 0
			if tt.answer != nil {
				script(t, srv, rt.EndpointQuery, *tt.answer)
				queries = 1
			}
			rec, err := srv.NewClient().Check(t.Context(), tt.p)
			if got := redpack.OutcomeOf(err); got != tt.want {
				t.Fatalf("Check = %v, %v: outcome %v, want %v", rec, err, got, tt.want)
			}
			if (err == nil) != (rec != nil) {
				t.Errorf("Check = %v, %v: a record comes exactly with a nil error", rec, err)
			}
			if got := errors.Is(err, redpack.ErrConflict); got != tt.conflict {
				t.Errorf("errors.Is(%v, ErrConflict) = %v, want %v", err, got, tt.conflict)
			}
			for _, s := range []error{redpack.ErrInvalidRequest, redpack.ErrNotSent, redpack.ErrSign, redpack.ErrParam, redpack.ErrSendFailed} {
				if errors.Is(err, s) {
					t.Errorf("Check error %v matches %v, which reads as not paid", err, s)
				}
			}
			var ae *redpack.APIError
			if errors.As(err, &ae) {
				t.Errorf("Check returned an *APIError (%v): its class speaks for the query, not the send", ae)
			}
			if n := len(srv.Requests()); n != queries {
				t.Errorf("server got %d queries, want %d", n, queries)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestResolve polls past open answers and stops at one that settles, or at
// one that asking again cannot change.
func TestResolve(t *testing.T) {
	t.Parallel()
	const bill = "RES1"
	tests := []struct {
		name     string
		script   []rt.Answer
		want     redpack.Outcome
		requests int
	}{
		{"polls past NOT_FOUND and SENDING to SENT",
			[]rt.Answer{rt.ResultFail("NOT_FOUND"), record(bill, "SENDING", ""), rt.ResultFail("SYSTEMERROR"), record(bill, "SENT", "")},
			redpack.OutcomeOK, 4},
		{"FAILED is final", []rt.Answer{rt.ResultFail("NOT_FOUND"), record(bill, "FAILED", "")}, redpack.OutcomeFinal, 2},
		{"stops at a refused query, still unknown", []rt.Answer{rt.ResultFail("NOT_FOUND"), rt.ResultFail("SIGN_ERROR")}, redpack.OutcomeUnknown, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			script(t, srv, rt.EndpointQuery, tt.script...)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			rec, err := srv.NewClient().Resolve(ctx, sendReq(bill).Payment())
			if got := redpack.OutcomeOf(err); got != tt.want {
				t.Fatalf("Resolve = %v, %v: outcome %v, want %v", rec, err, got, tt.want)
			}
			if err != nil {
				checkBillNo(t, err, bill)
			}
			if n := len(srv.Requests()); n != tt.requests {
				t.Errorf("server got %d queries, want %d", n, tt.requests)
			}
		})
	}
}

// TestResolveConflict is the reproduction of issue 8 item 3 on the fake's
// own ledger: bill X paid 100 fen to A; a send of X to B for 500 fen is a
// CONFLICT, and so is resolving B's payment.
func TestResolveConflict(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := srv.NewClient()
	if _, err := c.Send(t.Context(), sendReq("CONFLICT1")); err != nil {
		t.Fatal(err)
	}
	b := sendReq("CONFLICT1")
	b.OpenID, b.Amount = "oRecipientB", 500
	if _, err := c.Send(t.Context(), b); redpack.OutcomeOf(err) != redpack.OutcomeConflict || !errors.Is(err, redpack.ErrConflict) {
		t.Fatalf("send of X to B: %v; want CONFLICT", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rec, err := c.Resolve(ctx, b.Payment())
	var re *redpack.RecordError
	if rec != nil || !errors.As(err, &re) || redpack.OutcomeOf(err) != redpack.OutcomeConflict || re.Record == nil {
		t.Fatalf("Resolve(B) = %v, %v; want a CONFLICT *RecordError with the record", rec, err)
	}
	if srv.TotalPaid() != 100 {
		t.Errorf("paid %d fen, want 100", srv.TotalPaid())
	}
}

// TestUnknownLoggedOnce: every unknown outcome is logged at Warn exactly
// once, also when Check makes it out of a refused query.
func TestUnknownLoggedOnce(t *testing.T) {
	t.Parallel()
	for _, a := range []rt.Answer{rt.ResultFail("NOT_FOUND"), rt.ResultFail("SIGN_ERROR"), record("LOGGED1", "SENDING", "")} {
		var (
			mu    sync.Mutex
			warns int
		)
		logger := slog.New(logFunc(func(r slog.Record) {
			if r.Level >= slog.LevelWarn {
				mu.Lock()
				warns++
				mu.Unlock()
			}
		}))
		srv := newFake(t)
		script(t, srv, rt.EndpointQuery, a)
		_, err := srv.NewClient(redpack.WithLogger(logger)).Check(t.Context(), sendReq("LOGGED1").Payment())
		if o := redpack.OutcomeOf(err); o != redpack.OutcomeUnknown && o != redpack.OutcomePending {
			t.Fatalf("Check: %v", err)
		}
		mu.Lock()
		if warns != 1 {
			t.Errorf("%v: %d Warn records, want 1", err, warns)
		}
		mu.Unlock()
	}
}

func TestQueryRecordFromTheLedger(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := srv.NewClient()
	if _, err := c.Send(t.Context(), sendReq("Q1")); err != nil {
		t.Fatal(err)
	}
	if err := srv.Receive("Q1"); err != nil {
		t.Fatal(err)
	}
	rec, err := c.Query(t.Context(), "Q1")
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	if rec.Status != redpack.StatusReceived || rec.TotalAmount != 100 || len(rec.Receivers) != 1 || rec.Receivers[0].OpenID != testOpenID {
		t.Errorf("record %+v", rec)
	}
	q := srv.Requests()[1]
	if q.Endpoint != rt.EndpointQuery || q.Fields["bill_type"] != "MCHT" || q.Fields["appid"] != srv.AppID() || q.Fields["sign_type"] != "" {
		t.Errorf("query fields %v", q.Fields)
	}
	if _, err := c.Query(t.Context(), "NOTTHERE1"); redpack.OutcomeOf(err) != redpack.OutcomeUnknown || !errors.Is(err, redpack.ErrNotFound) {
		t.Errorf("Query of an unknown bill: %v; want UNKNOWN matching ErrNotFound", err)
	}
}

// TestForAppID: the derived Client sends under its own appid and shares the
// connection pool (no second handshake).
func TestForAppID(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := srv.NewClient()
	mini, err := c.ForAppID(srv.MiniAppID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(t.Context(), sendReq("FORAPP1")); err != nil {
		t.Fatal(err)
	}
	if _, err := mini.SendMiniProgram(t.Context(), redpack.SendMiniProgramRequest{Packet: sendReq("FORAPP2").Packet}); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if reqs[0].Fields["wxappid"] != srv.AppID() || reqs[1].Fields["wxappid"] != srv.MiniAppID() {
		t.Errorf("wxappid %q then %q", reqs[0].Fields["wxappid"], reqs[1].Fields["wxappid"])
	}
	if h := srv.Handshakes(); h != 1 {
		t.Errorf("%d TLS handshakes for two sends through the shared pool, want 1", h)
	}
	for _, bad := range []string{"", "wx app", strings.Repeat("w", 33), "wx应用"} {
		if _, err := c.ForAppID(bad); err == nil {
			t.Errorf("ForAppID(%q) accepted", bad)
		}
	}
}

// TestConnectionReuse: sequential sends share one handshake.
func TestConnectionReuse(t *testing.T) {
	t.Parallel()
	srv := newFake(t, rt.WithFreqLimit(0), rt.WithUserDailyLimits(100, 1_000_000))
	c := srv.NewClient(redpack.WithNodeID(9))
	for i := range 20 {
		bill, err := c.NewBillNo()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Send(t.Context(), sendReq(bill)); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if h := srv.Handshakes(); h != 1 {
		t.Errorf("20 sequential sends made %d TLS handshakes, want 1", h)
	}
}

// TestRetryNotSent: attempts that never reach WeChat Pay. A server
// certificate that does not verify cannot change by retrying (issue 8 item
// 9): one attempt, and a hint about RootCAs.
func TestRetryNotSent(t *testing.T) {
	t.Parallel()
	otherCA, err := testcert.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	const once, retried = 1, 3
	tests := []struct {
		name     string
		server   []rt.Option
		cfg      func(*redpack.Config)
		closed   bool
		attempts int
		hint     string
	}{
		{name: "dial refused (closed port)", closed: true, attempts: retried},
		{name: "client trusts another CA", cfg: func(c *redpack.Config) { c.RootCAs = otherCA.Pool() }, attempts: once, hint: "RootCAs"},
		{name: "client trusts only the system roots", cfg: func(c *redpack.Config) { c.RootCAs = nil }, attempts: once, hint: "RootCAs"},
		{name: "server trusts another CA (TLS 1.2)", server: []rt.Option{rt.WithServerTLS(func(c *tls.Config) {
			c.ClientCAs, c.MaxVersion = otherCA.Pool(), tls.VersionTLS12
		})}, attempts: retried},
		{name: "server offers only TLS 1.1", server: []rt.Option{rt.WithServerTLS(func(c *tls.Config) {
			c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		})}, attempts: retried},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, tt.server...)
			cfg := srv.Config()
			if tt.closed {
				cfg.BaseURL = "https://" + closedAddr(t)
			}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			c, err := redpack.NewClient(cfg, redpack.WithRetryPolicy(rt.FastRetryPolicy()))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Send(t.Context(), sendReq("NOTSENT1"))
			checkErrorShape(t, err, "notsent", tt.attempts, []error{redpack.ErrNotSent}, []error{redpack.ErrOutcomeUnknown})
			checkBillNo(t, err, "NOTSENT1")
			if tt.hint != "" && !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("%q lacks the hint %q", err, tt.hint)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("the fake got %d requests, want 0", n)
			}
			if !tt.closed {
				if h := srv.Handshakes(); h > int64(tt.attempts) {
					t.Errorf("the fake saw %d handshakes, want at most one per attempt (%d)", h, tt.attempts)
				}
			}
		})
	}
}

// TestServerRefusesClientCertTLS13 pins what happens when the server
// refuses the merchant certificate under TLS 1.3: the client's handshake
// completes before the server's verdict, so the request may count as
// written: unknown, never "not sent" (the safe side).
func TestServerRefusesClientCertTLS13(t *testing.T) {
	t.Parallel()
	otherCA, err := testcert.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	srv := newFake(t, rt.WithServerTLS(func(c *tls.Config) { c.ClientCAs, c.MinVersion = otherCA.Pool(), tls.VersionTLS13 }))
	_, err = srv.NewClient().Send(t.Context(), sendReq("TLS13REFUSED"))
	if got := redpack.OutcomeOf(err); got != redpack.OutcomeUnknown {
		t.Errorf("OutcomeOf(%v) = %v, want UNKNOWN", err, got)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("the fake got %d requests, want 0", n)
	}
}

// closedAddr returns a loopback address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	addr, err := testcert.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestSecretsNeverInAnswerErrors pushes WeChat Pay's answers through every
// error path with a recognisable API key, and checks that neither the
// errors, nor the log, nor the wire carry it or the private key. (The
// printers and construction errors are TestSecretsNeverPrinted.)
func TestSecretsNeverInAnswerErrors(t *testing.T) {
	t.Parallel()
	const apiKey = "SECRETKEY" + "Pad0Pad1Pad2Pad3Pad4Pad"
	srv := newFake(t, rt.WithMerchant("1900000109", "wxd930ea5d5a258f4f", apiKey))
	var (
		mu   sync.Mutex
		logs strings.Builder
	)
	logger := slog.New(logFunc(func(r slog.Record) {
		mu.Lock()
		defer mu.Unlock()
		logs.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool { logs.WriteString(" " + a.String()); return true })
		logs.WriteString("\n")
	}))
	c := srv.NewClient(redpack.WithLogger(logger))
	markers := []string{apiKey, "SECRETKEY", "PRIVATE KEY"}
	for _, line := range strings.Split(string(srv.MerchantKeyPEM()), "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			markers = append(markers, line)
		}
	}
	errs := map[string]error{}
	script(t, srv, rt.EndpointSend, rt.ResultFail("SYSTEMERROR"), rt.Drop(), rt.ResultFail("SYSTEMERROR"))
	_, errs["unknown"] = c.Send(t.Context(), sendReq("SECRET2"))
	script(t, srv, rt.EndpointSend, rt.ResultFail("NOTENOUGH"))
	_, errs["APIError"] = c.Send(t.Context(), sendReq("SECRET3"))
	if err := srv.AddReactor(rt.EndpointSend, func(req rt.Request) (rt.Answer, bool) {
		return rt.Raw(http.StatusBadGateway, "text/html", []byte("<html>502 while handling "+string(req.Body)+"</html>")), req.Fields["mch_billno"] == "SECRET4"
	}); err != nil {
		t.Fatal(err)
	}
	_, errs["DecodeError with the request echoed"] = c.Send(t.Context(), sendReq("SECRET4"))
	script(t, srv, rt.EndpointQuery, rt.ResultFail("NOT_FOUND"))
	_, errs["Query NOT_FOUND"] = c.Query(t.Context(), "SECRET5")
	script(t, srv, rt.EndpointQuery, rt.ResultFail("SIGN_ERROR"))
	_, errs["Check of a refused query"] = c.Check(t.Context(), sendReq("SECRET6").Payment())
	wrongSign := rt.Process().Rewrite(func(f map[string]string) { f["sign"] = strings.Repeat("A", 32) })
	script(t, srv, rt.EndpointSend, wrongSign, wrongSign, wrongSign)
	_, errs["answer sign wrong"] = c.Send(t.Context(), sendReq("SECRET7"))
	for name, err := range errs {
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%v %+v %#v", err, err, err)} {
			for _, m := range markers {
				if strings.Contains(s, m) {
					t.Errorf("%s leaks %q: %s", name, m, s)
				}
			}
		}
	}
	mu.Lock()
	l := logs.String()
	mu.Unlock()
	if !strings.Contains(l, "SECRET2") || !strings.Contains(l, "outcome=UNKNOWN") {
		t.Errorf("the log lacks the unknown outcome; the test would not see a leak:\n%s", l)
	}
	for i, r := range srv.Requests() {
		for _, m := range markers {
			if strings.Contains(string(r.Body), m) || strings.Contains(fmt.Sprint(r.Header), m) {
				t.Errorf("request %d carries %q", i+1, m)
			}
		}
	}
	for _, m := range markers {
		if strings.Contains(l, m) {
			t.Errorf("the log carries %q", m)
		}
	}
}
