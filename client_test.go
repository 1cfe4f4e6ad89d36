package redpack_test

// The client's integration tests: every call goes over real mutual TLS to
// redpacktest, the one fake WeChat Pay server, whose injections script the
// answers WeChat Pay can give.

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redpack-go/redpack"
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

// logFunc is a slog handler calling f for every record.
type logFunc func(slog.Record)

func (f logFunc) Enabled(context.Context, slog.Level) bool      { return true }
func (f logFunc) Handle(_ context.Context, r slog.Record) error { f(r); return nil }
func (f logFunc) WithAttrs([]slog.Attr) slog.Handler            { return f }
func (f logFunc) WithGroup(string) slog.Handler                 { return f }

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
