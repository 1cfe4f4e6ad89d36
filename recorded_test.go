package redpack

// The answers recorded under testdata/responses, replayed through the
// decoder, classify, sendResult and recordFrom.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func cstAt(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, cst)
}

const (
	realBill  = "1900000109202004170012345678"
	realOpen  = "oxTWIuGaIt6gTKsQRLau2M0yL16E"
	realApp   = "wx8888888888888888"
	sampleBil = "0010010404201411170000046545"
)

// sentAs is a prepared send of billNo to openID for amount fen in num
// shares, as classify and sendResult see it.
func sentAs(ep *endpoint, billNo, openID, amount, num string) *prepared {
	return &prepared{ep: ep, billNo: billNo, params: params{
		{"mch_billno", billNo}, {"re_openid", openID}, {"total_amount", amount}, {"total_num", num}}}
}

// TestRecordedSendSuccesses replays the recorded send successes through the
// decoder, classify and sendResult.
func TestRecordedSendSuccesses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		pr   *prepared
		want *SendResult
		pkg  string
	}{
		{"sendredpack_success.xml", sentAs(epSend, sampleBil, "onqOjjmM1tad-3ROpncN-yUfa6uI", "1", "1"),
			&SendResult{BillNo: sampleBil, SendListID: "100000000020150520314766074200", OpenID: "onqOjjmM1tad-3ROpncN-yUfa6uI",
				Amount: 1, TotalNum: 1, SendTime: cstAt(2015, 5, 20, 10, 26, 2)}, ""},
		{"sendredpack_success_real.xml", sentAs(epSend, realBill, realOpen, "100", "1"),
			&SendResult{BillNo: realBill, SendListID: "1000041701202004173001723769407", OpenID: realOpen, Amount: 100, TotalNum: 1}, ""},
		{"miniprogram_success.xml", sentAs(epSendMini, "2334580734271081478888000026", "ohO4Gt7wVPxIT1A9GjFaMYMiZY1s", "10", "1"),
			&SendResult{BillNo: "2334580734271081478888000026", SendListID: "1000041701201609263000000204000",
				OpenID: "ohO4Gt7wVPxIT1A9GjFaMYMiZY1s", Amount: 10, TotalNum: 1},
			"sendid=242e8abd163d300019b2cae74ba8e8c06e3f0e51ab84d16b3c80decd22a5b672&ver=8" +
				"&sign=4110d649a5aef52dd6b95654ddf91ca7d5411ac159ace4e1a766b7d3967a1c3dfe1d256811445a4abda2d9cfa4a9b377a829258bd00d90313c6c346f2349fe5d" +
				"&mchid=11475856&appid=wxd27ebc41b85ce36d"},
		{"group_success.xml", sentAs(epSendGroup, "1900000109201506010000000007", realOpen, "600", "3"),
			&SendResult{BillNo: "1900000109201506010000000007", SendListID: "1000041701201506013000000307000",
				OpenID: realOpen, Amount: 600, TotalNum: 3}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			raw := readResponse(t, tt.file)
			r, err := decodeXML(raw, false)
			if err != nil {
				t.Fatalf("decodeXML: %v", err)
			}
			if v, _, err := classify(tt.pr, result{answer: r, raw: raw, sent: true}, false); v.outcome != OutcomeOK || err != nil {
				t.Fatalf("classify = %+v, %v; want OK", v, err)
			}
			got := sendResult(r, raw, tt.pr)
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(SendResult{}, "Raw")); diff != "" {
				t.Errorf("sendResult (-want +got):\n%s", diff)
			}
			if string(got.Raw) != string(raw) {
				t.Error("Raw is not the answer as received")
			}
			if p := r.get("package"); p != tt.pkg {
				t.Errorf("package = %q, want %q", p, tt.pkg)
			}
		})
	}
}

// TestRecordedErrorAnswers replays the recorded error answers through the
// decoder and the classification table of their endpoint.
func TestRecordedErrorAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		ep       *endpoint
		answer   Answer
		want     verdict
		sentinel error
	}{
		{"systemerror.xml", epSend, Answer{"SUCCESS", "系统错误,请稍后使用原单号重试,请勿更换单号", "FAIL", "SYSTEMERROR", "系统错误,请稍后使用原单号重试,请勿更换单号"},
			unknownRetry, ErrSystem},
		{"processing.xml", epSend, Answer{"SUCCESS", "请求已受理，请稍后使用原单号查询发放结果", "FAIL", "PROCESSING", "请求已受理，请稍后使用原单号查询发放结果"},
			verdict{OutcomePending, false}, ErrProcessing},
		{"notenough.xml", epSend, Answer{"SUCCESS", "帐号余额不足，请到商户平台充值后再重试", "FAIL", "NOTENOUGH", "帐号余额不足，请到商户平台充值后再重试"},
			final, ErrNotEnough},
		{"sendnum_limit.xml", epSend, Answer{"SUCCESS", "该用户今日操作次数超过限制,如有需要请登录微信支付商户平台更改API安全配置", "FAIL", "SENDNUM_LIMIT",
			"该用户今日操作次数超过限制,如有需要请登录微信支付商户平台更改API安全配置"}, final, ErrSendNumLimit},
		{"fatal_error.xml", epSend, Answer{"SUCCESS", "金额和原始单参数不一致", "FAIL", "FATAL_ERROR", "金额和原始单参数不一致"},
			verdict{OutcomeConflict, false}, ErrConflict},
		{"return_fail_numeric.xml", epSend, Answer{"FAIL", "系统繁忙,请稍后再试.", "FAIL", "268458547", "系统繁忙,请稍后再试."}, unknownRetry, nil},
		{"gethbinfo_not_found.xml", epQuery, Answer{"SUCCESS", "指定单号数据不存在", "FAIL", "NOT_FOUND", "指定单号数据不存在"},
			verdict{OutcomeUnknown, false}, ErrNotFound},
		{"gethbinfo_not_found_official.xml", epQuery, Answer{"FAIL", "指定单号数据不存在", "FAIL", "SYSTEMERROR", "指定单号数据不存在"}, unknownRetry, ErrSystem},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			raw := readResponse(t, tt.file)
			r, err := decodeXML(raw, tt.ep == epQuery)
			if err != nil {
				t.Fatalf("decodeXML: %v", err)
			}
			pr := &prepared{ep: tt.ep, billNo: realBill}
			v, a, err := classify(pr, result{answer: r, raw: raw, sent: true}, false)
			if v != tt.want || err != nil {
				t.Errorf("classify = %+v, %v; want %+v", v, err, tt.want)
			}
			if diff := cmp.Diff(&tt.answer, a); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			checkSentinels(t, &APIError{Op: tt.ep.op, BillNo: realBill, Answer: *a}, tt.sentinel)
		})
	}
	t.Run("bad_gateway.html", func(t *testing.T) {
		t.Parallel()
		if r, err := decodeXML(readResponse(t, "bad_gateway.html"), false); err == nil {
			t.Fatalf("decodeXML accepted an HTML page: %v", r.fields)
		}
	})
}

// TestRecordedQueryAnswers replays the recorded gethbinfo successes through
// the decoder and recordFrom.
func TestRecordedQueryAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want *Record
	}{
		{"gethbinfo_received.xml", &Record{BillNo: "1900000109201801230000000001", DetailID: "1000041701201801233000153541024", Status: StatusReceived,
			SendType: "API", HBType: HBTypeNormal, TotalNum: 1, TotalAmount: 100, SendTime: cstAt(2018, 1, 23, 13, 45, 12),
			Wishing: "恭喜发财", ActName: "新年红包", Remark: "新年红包",
			Receivers: []Receiver{{OpenID: realOpen, Amount: 100, RcvTime: cstAt(2018, 1, 23, 13, 45, 31)}}}},
		{"gethbinfo_group.xml", &Record{BillNo: sampleBil, DetailID: "1000000000201503283103439304", Status: StatusReceived,
			SendType: "API", HBType: HBTypeGroup, TotalNum: 4, TotalAmount: 650, SendTime: cstAt(2015, 4, 21, 20, 0, 0),
			Wishing: "开开心心", Remark: "福利", ActName: "福利测试",
			Receivers: []Receiver{
				{OpenID: "oTkpCvvNBvTfeEf5uusy9mGExyC8", Amount: 1, RcvTime: cstAt(2015, 4, 21, 20, 0, 0)},
				{OpenID: "oTkpCvmz4wGbyPy5vMMIGy8cAosY", Amount: 1, RcvTime: cstAt(2015, 4, 21, 20, 0, 0)},
				{OpenID: "oTkpCvp_3hrnqUWLfeflHWBTrfUY", Amount: 1, RcvTime: cstAt(2015, 4, 21, 20, 0, 0)},
				{OpenID: "oTkpCvt1uB_dvkz8zfMLVwcVx0x0", Amount: 1, RcvTime: cstAt(2015, 4, 21, 20, 0, 0)},
			}}},
		{"gethbinfo_refund.xml", &Record{BillNo: "1900000109201801230000000002", DetailID: "1000041701201801233000153541025", Status: StatusRefunded,
			SendType: "API", HBType: HBTypeNormal, TotalNum: 1, TotalAmount: 200, SendTime: cstAt(2018, 1, 23, 13, 45, 12),
			RefundTime: cstAt(2018, 1, 24, 13, 46, 1), RefundAmount: 200, Wishing: "恭喜发财", ActName: "新年红包", Remark: "新年红包"}},
		{"gethbinfo_refunding.xml", &Record{BillNo: "1900000109201801230000000003", DetailID: "1000041701201801233000153541026", Status: StatusRefunding,
			SendType: "API", HBType: HBTypeNormal, TotalNum: 1, TotalAmount: 300, SendTime: cstAt(2018, 1, 23, 13, 45, 12),
			RefundTime: cstAt(2018, 1, 24, 13, 45, 40), RefundAmount: 300}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			raw := readResponse(t, tt.file)
			r, err := decodeXML(raw, true)
			if err != nil {
				t.Fatalf("decodeXML: %v", err)
			}
			rec, reason := recordFrom(r, raw, tt.want.BillNo)
			if reason != "" {
				t.Fatalf("recordFrom: %s", reason)
			}
			if diff := cmp.Diff(tt.want, rec, cmpopts.IgnoreFields(Record{}, "Raw")); diff != "" {
				t.Errorf("recordFrom (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEveryRecordingReplayed keeps testdata/responses and the three tables
// above in step.
func TestEveryRecordingReplayed(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("recorded_test.go")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join("testdata", "responses"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.Contains(string(src), `"`+e.Name()+`"`) {
			t.Errorf("testdata/responses/%s is not replayed", e.Name())
		}
	}
}

func TestRecordFromRefusesBadNumbers(t *testing.T) {
	t.Parallel()
	const head = `<xml><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code><status>RECEIVED</status>`
	tests := map[string]string{
		"total_amount":      head + `<total_num>1</total_num><total_amount>1.00</total_amount></xml>`,
		"total_num letters": head + `<total_num>one</total_num><total_amount>100</total_amount></xml>`,
		"total_num < 0":     head + `<total_num>-1</total_num><total_amount>100</total_amount></xml>`,
		"total_num > int32": head + `<total_num>2147483648</total_num><total_amount>100</total_amount></xml>`,
		"refund_amount":     head + `<total_num>1</total_num><total_amount>100</total_amount><refund_amount>x</refund_amount></xml>`,
		"hbinfo amount":     head + `<total_num>1</total_num><total_amount>100</total_amount><hblist><hbinfo><openid>o</openid><amount>1e2</amount></hbinfo></hblist></xml>`,
		"no status":         `<xml><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code><total_num>1</total_num></xml>`,
	}
	for name, in := range tests {
		r, err := decodeXML([]byte(in), true)
		if err != nil {
			t.Fatalf("%s: decodeXML: %v", name, err)
		}
		if rec, reason := recordFrom(r, []byte(in), "B1"); rec != nil || reason == "" {
			t.Errorf("%s: recordFrom accepted it: %+v", name, rec)
		}
	}
}

func TestRecordLenientTimes(t *testing.T) {
	t.Parallel()
	in := `<xml><status>SENDING</status><send_time>2018/01/23</send_time><hblist><hbinfo><openid>o</openid><amount> 100 </amount></hbinfo></hblist></xml>`
	r, err := decodeXML([]byte(in), true)
	if err != nil {
		t.Fatal(err)
	}
	rec, reason := recordFrom(r, nil, "B")
	if reason != "" {
		t.Fatalf("recordFrom: %s", reason)
	}
	want := &Record{BillNo: "B", Status: StatusSending, Receivers: []Receiver{{OpenID: "o", Amount: 100}}}
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if rec.Status.Outcome() != OutcomePending || rec.Status.Final() {
		t.Errorf("SENDING: outcome %v final %v", rec.Status.Outcome(), rec.Status.Final())
	}
}

func TestStatusOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s     Status
		class Outcome
		final bool
	}{
		{StatusSending, OutcomePending, false},
		{StatusSent, OutcomeOK, false},
		{StatusFailed, OutcomeFinal, true},
		{StatusReceived, OutcomeOK, true},
		{StatusRefunding, OutcomeOK, false},
		{StatusRefunded, OutcomeOK, true},
		{"REFUNDING", OutcomeUnknown, false},
		{"", OutcomeUnknown, false},
	}
	for _, tt := range tests {
		if got := tt.s.Outcome(); got != tt.class {
			t.Errorf("%q.Outcome() = %v, want %v", tt.s, got, tt.class)
		}
		if got := tt.s.Final(); got != tt.final {
			t.Errorf("%q.Final() = %v, want %v", tt.s, got, tt.final)
		}
	}
}
