package redpack

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fieldsOf returns the flat fields of r as a map.
func fieldsOf(r *response) map[string]string {
	m := make(map[string]string, len(r.fields))
	for _, kv := range r.fields {
		m[kv.k] = kv.v
	}
	return m
}

// readResponse reads a recorded answer from testdata/responses.
func readResponse(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "responses", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestEncodeXMLGolden(t *testing.T) {
	t.Parallel()
	p := params{{"a", "1"}, {"b", ""}, {"c", "x]]>y"}, {"d", `<&>"'`}, {"e", "恭喜发财"}}
	got := string(encodeXML(nil, p, "SIGNVALUE"))
	const want = `<xml>` +
		`<a><![CDATA[1]]></a>` +
		`<c><![CDATA[x]]]]><![CDATA[>y]]></c>` +
		`<d><![CDATA[<&>"']]></d>` +
		`<e><![CDATA[恭喜发财]]></e>` +
		`<sign><![CDATA[SIGNVALUE]]></sign>` +
		`</xml>`
	if got != want {
		t.Errorf("encodeXML:\n got %s\nwant %s", got, want)
	}
	if strings.Contains(got, "<b>") {
		t.Error("an empty value was sent")
	}
	if !strings.HasSuffix(got, "<sign><![CDATA[SIGNVALUE]]></sign></xml>") {
		t.Error("sign is not the last element")
	}

	// No sign: no sign element. The destination prefix is kept.
	got = string(encodeXML([]byte("PREFIX"), params{{"k", "v"}}, ""))
	if want := "PREFIX<xml><k><![CDATA[v]]></k></xml>"; got != want {
		t.Errorf("encodeXML without sign = %s, want %s", got, want)
	}
	if got := string(encodeXML(nil, nil, "")); got != "<xml></xml>" {
		t.Errorf("encodeXML(empty) = %s", got)
	}
}

func TestEncodedLen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    params
		sign string
	}{
		{"empty", nil, ""},
		{"sign only", nil, "ABC"},
		{"empty values skipped", params{{"a", ""}, {"b", "1"}}, ""},
		{"Chinese", params{{"act_name", "新年红包"}, {"wishing", "恭喜发财"}}, "9A0A8659F005D6984697E2CA0A9CF3B7"},
		{"one CDATA split", params{{"remark", "a]]>b"}}, "S"},
		{"three CDATA splits", params{{"remark", "]]>]]>"}, {"wishing", "x]]>"}}, "S"},
	}
	for _, tt := range tests {
		splits := 0
		for _, kv := range tt.p {
			splits += strings.Count(kv.v, "]]>")
		}
		got := len(encodeXML(nil, tt.p, tt.sign))
		// Each split adds "]]><![CDATA[" (12 bytes).
		if want := encodedLen(tt.p, tt.sign) + 12*splits; got != want {
			t.Errorf("%s: body %d bytes, encodedLen+splits %d", tt.name, got, want)
		}
	}
}

func TestEncodeXMLRoundTrip(t *testing.T) {
	t.Parallel()
	values := []string{
		"x]]>y", "]]>", "]]>]]>", "a]]>b]]>c", "]]", "]]]>", "]]]]>>", "]", ">", "]>", "]]>x]]",
		"<![CDATA[inner]]>", `&amp; &lt; <a/>`, "恭喜发财", "a b", "tab\tand\nnewline", "posttime%3D1%26mobile%3D86-1",
	}
	for _, v := range values {
		body := encodeXML(nil, params{{"remark", v}, {"wishing", "w"}}, "S")
		r, err := decodeXML(body, false)
		if err != nil {
			t.Errorf("decodeXML(encodeXML(%q)): %v\nbody %s", v, err, body)
			continue
		}
		want := map[string]string{"remark": v, "wishing": "w", "sign": "S"}
		if diff := cmp.Diff(want, fieldsOf(r)); diff != "" {
			t.Errorf("round trip of %q (-want +got):\n%s\nbody %s", v, diff, body)
		}
	}
}

func TestDecodeXMLAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		fields map[string]string
		hbinfo []params
	}{
		{"CDATA and plain text", `<xml><a><![CDATA[1]]></a><b>2</b></xml>`, map[string]string{"a": "1", "b": "2"}, nil},
		{"integer without CDATA", `<xml><total_amount>200</total_amount></xml>`, map[string]string{"total_amount": "200"}, nil},
		{"escaped text", `<xml><a>&lt;b&gt; &amp; &quot;&apos;</a></xml>`, map[string]string{"a": `<b> & "'`}, nil},
		{"CR and CRLF normalised", "<xml><a>x\r\ny\rz</a><b><![CDATA[p\r\nq]]></b></xml>", map[string]string{"a": "x\ny\nz", "b": "p\nq"}, nil},
		{"mixed CDATA and text", `<xml><a>x<![CDATA[<y>]]>z</a></xml>`, map[string]string{"a": "x<y>z"}, nil},
		{"empty and self-closing", `<xml><a></a><b/><c><![CDATA[]]></c></xml>`, map[string]string{"a": "", "b": "", "c": ""}, nil},
		{"prolog, comments, white space", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- hi -->\n<xml>\n <a>1</a>\n <!-- c -->\n</xml>\n<!-- after -->\n",
			map[string]string{"a": "1"}, nil},
		{"lowercase utf-8 declaration", `<?xml version="1.0" encoding="utf-8"?><xml><a>1</a></xml>`, map[string]string{"a": "1"}, nil},
		{"empty root", `<xml/>`, map[string]string{}, nil},
		{"unknown nested element skipped", `<xml><a>1</a><extra><x>1</x><y><z/></y></extra><b>2</b></xml>`, map[string]string{"a": "1", "b": "2"}, nil},
		{"hblist", `<xml><status>SENT</status><hblist><hbinfo><openid>o1</openid><amount>100</amount></hbinfo>` +
			`<other>skipped</other><hbinfo><openid><![CDATA[o2]]></openid><amount>200</amount><rcv_time>2018-01-23 13:45:31</rcv_time></hbinfo></hblist></xml>`,
			map[string]string{"status": "SENT"},
			[]params{{{"openid", "o1"}, {"amount", "100"}}, {{"openid", "o2"}, {"amount", "200"}, {"rcv_time", "2018-01-23 13:45:31"}}}},
		{"empty hblist", `<xml><hblist></hblist></xml>`, map[string]string{}, nil},
		// Valid XML the old hand-written scanner refused (issue 9 §1): a paid
		// answer written this way must read as paid.
		{"numeric character reference", `<xml><return_msg>it&#39;s &#x4E2D;</return_msg></xml>`, map[string]string{"return_msg": "it's 中"}, nil},
		{"attributes ignored", `<xml x="1"><a y='2'>v</a></xml>`, map[string]string{"a": "v"}, nil},
		{"DOCTYPE without entities", `<!DOCTYPE xml><xml><return_code>SUCCESS</return_code></xml>`, map[string]string{"return_code": "SUCCESS"}, nil},
		{"text directly under the root ignored", "<xml>\n  stray\n<a>1</a></xml>", map[string]string{"a": "1"}, nil},
		{"processing instructions ignored", `<xml><?php echo 1 ?><a>1</a></xml><?pi x?>`, map[string]string{"a": "1"}, nil},
		{"namespace prefix ignored", `<xml><p:return_code xmlns:p="urn:x">SUCCESS</p:return_code></xml>`, map[string]string{"return_code": "SUCCESS"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := decodeXML([]byte(tt.in), true)
			if err != nil {
				t.Fatalf("decodeXML: %v", err)
			}
			if diff := cmp.Diff(tt.fields, fieldsOf(r), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.hbinfo, r.hbinfo, cmpopts.EquateEmpty(), cmp.AllowUnexported(param{})); diff != "" {
				t.Errorf("hbinfo (-want +got):\n%s", diff)
			}
		})
	}
}

// Shallow unknown nesting is skipped; hostile depth is refused (the answer
// then counts as undecodable: an unknown outcome, never a failure).
func TestDecodeXMLNesting(t *testing.T) {
	t.Parallel()
	nest := func(depth int) []byte {
		return []byte("<xml><a>1</a><junk>" + strings.Repeat("<b>", depth) + strings.Repeat("</b>", depth) + "</junk></xml>")
	}
	r, err := decodeXML(nest(3), false)
	if err != nil {
		t.Fatalf("decodeXML: %v", err)
	}
	if diff := cmp.Diff(map[string]string{"a": "1"}, fieldsOf(r)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if _, err := decodeXML(nest(100_000), false); err == nil {
		t.Error("100,000 levels of nesting accepted")
	}
}

// manyFields returns n distinct empty elements.
func manyFields(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("<f" + strconv.Itoa(i) + "/>")
	}
	return b.String()
}

// hostileBodies must all be refused without a panic.
func hostileBodies() map[string]string {
	big := "<xml><remark><![CDATA[" + strings.Repeat("a", maxResponseBytes) + "]]></remark></xml>"
	return map[string]string{
		"empty":                  "",
		"white space":            " \n\t ",
		"plain text":             "Bad Gateway",
		"JSON":                   `{"return_code":"SUCCESS","result_code":"SUCCESS"}`,
		"wrong root":             `<root><return_code>SUCCESS</return_code></root>`,
		"HTML root":              `<html><body>502</body></html>`,
		"text before root":       `x<xml><a>1</a></xml>`,
		"duplicate field":        `<xml><return_code>FAIL</return_code><return_code>SUCCESS</return_code></xml>`,
		"duplicate CDATA field":  `<xml><err_code><![CDATA[NOTENOUGH]]></err_code><err_code><![CDATA[SUCCESS]]></err_code></xml>`,
		"duplicate hbinfo field": `<xml><hblist><hbinfo><amount>1</amount><amount>100000</amount></hbinfo></hblist></xml>`,
		"trailing garbage":       `<xml><a>1</a></xml>garbage`,
		"second document":        `<xml><a>1</a></xml><xml><a>2</a></xml>`,
		"trailing element":       `<xml><a>1</a></xml><b/>`,
		"truncated after root":   `<xml>`,
		"truncated in element":   `<xml><return_code>SUCC`,
		"truncated in CDATA":     `<xml><return_code><![CDATA[SUCC`,
		"truncated in tag":       `<xml><return_co`,
		"truncated before end":   `<xml><return_code>SUCCESS</return_code>`,
		"truncated hblist":       `<xml><hblist><hbinfo><amount>1</amount>`,
		"mismatched end":         `<xml><a>1</b></xml>`,
		"unquoted attribute":     `<xml a=1><b>1</b></xml>`,
		"internal entity":        `<!DOCTYPE xml [<!ENTITY e "SUCCESS">]><xml><return_code>&e;</return_code></xml>`,
		"external entity":        `<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><return_code>&x;</return_code></xml>`,
		"billion laughs": `<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">` +
			`<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><r>&c;</r></xml>`,
		"undefined entity":            `<xml><a>&nbsp;</a></xml>`,
		"bare ampersand":              `<xml><a>a & b</a></xml>`,
		"too many fields":             "<xml>" + strings.Repeat("<a1/>", 1) + manyFields(maxFields+1) + "</xml>",
		"too many hbinfo":             "<xml><hblist>" + strings.Repeat("<hbinfo/>", maxHBInfo+1) + "</hblist></xml>",
		"hbinfo with too many fields": "<xml><hblist><hbinfo>" + manyFields(maxHBInfoFields+1) + "</hbinfo></hblist></xml>",
		"CDATA end in text":           `<xml><a>x]]>y</a></xml>`,
		"double hyphen in comment":    `<xml><!-- a -- b --><a>1</a></xml>`,
		"XML 1.1":                     `<?xml version="1.1"?><xml><a>1</a></xml>`,
		"1 MiB of nested tags":        strings.Repeat("<a>", maxResponseBytes/3),
		"GBK declaration":             `<?xml version="1.0" encoding="GBK"?><xml><return_code>SUCCESS</return_code></xml>`,
		"ISO-8859-1 declaration":      `<?xml version="1.0" encoding="ISO-8859-1"?><xml><a>1</a></xml>`,
		"invalid UTF-8":               "<xml><a>\xff\xfe</a></xml>",
		"NUL character":               "<xml><a>\x00</a></xml>",
		"char ref to NUL":             "<xml><a>&#0;</a></xml>",
		"noncharacter U+FFFF":         "<xml><a>\uffff</a></xml>",
		"deeply nested junk":          "<xml><a>" + strings.Repeat("<b>", 100_000),
		"deeply nested unclosed tag":  strings.Repeat("<xml>", 50_000),
		"larger than 1 MiB":           big,
	}
}

func TestDecodeXMLRefusesHostile(t *testing.T) {
	t.Parallel()
	for name, in := range hostileBodies() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := decodeXML([]byte(in), true)
			if err == nil {
				t.Fatalf("decodeXML accepted it: %d fields", len(r.fields))
			}
			if r != nil {
				t.Errorf("decodeXML returned a response with an error")
			}
			// The client reports it as a decode error wrapped in an unknown
			// outcome; the sample stays capped.
			de := newDecodeError(200, err.Error(), []byte(in))
			if len(de.Body) > maxBodySample {
				t.Errorf("body sample %d bytes", len(de.Body))
			}
			ue := &UnknownOutcomeError{Op: opSend, BillNo: "1", Attempts: 1, Err: de}
			if OutcomeOf(ue) != OutcomeUnknown {
				t.Errorf("Outcome = %v, want UNKNOWN", OutcomeOf(ue))
			}
		})
	}
}

func TestDecodeXMLSizeLimit(t *testing.T) {
	t.Parallel()
	head, tail := "<xml><remark><![CDATA[", "]]></remark></xml>"
	pad := maxResponseBytes - len(head) - len(tail)
	atLimit := head + strings.Repeat("a", pad) + tail
	if len(atLimit) != maxResponseBytes {
		t.Fatalf("len = %d", len(atLimit))
	}
	r, err := decodeXML([]byte(atLimit), false)
	if err != nil {
		t.Fatalf("decodeXML(exactly 1 MiB): %v", err)
	}
	if len(r.get("remark")) != pad {
		t.Errorf("remark %d bytes, want %d", len(r.get("remark")), pad)
	}
	if _, err := decodeXML([]byte(head+strings.Repeat("a", pad+1)+tail), false); err == nil {
		t.Error("decodeXML accepted 1 MiB + 1 byte")
	}
}

func TestIntField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int64
		ok   bool
		name string
	}{
		{"", 0, true, "empty"},
		{"  ", 0, true, "blank"},
		{"200", 200, true, "plain"},
		{" 200\n", 200, true, "padded"},
		{"-1", -1, true, "negative"},
		{"1.5", 0, false, "decimal"},
		{"abc", 0, false, "letters"},
		{"99999999999999999999", 0, false, "overflow"},
	}
	for _, tt := range tests {
		n, ok := intField(tt.in)
		if ok != tt.ok || (ok && n != tt.n) {
			t.Errorf("%s: intField(%q) = %d, %v; want %d, %v", tt.name, tt.in, n, ok, tt.n, tt.ok)
		}
	}
}

var allSentinels = []error{
	ErrSystem, ErrProcessing, ErrFreqLimit, ErrSendFailed, ErrConflict, ErrNoAuth, ErrSendNumLimit,
	ErrRcvdAmountLimit, ErrSendAmountLimit, ErrMoneyLimit, ErrNotEnough, ErrIllegalAppID, ErrOpenID,
	ErrMsgAppID, ErrAcceptMode, ErrAPIMethodClosed, ErrCA, ErrSign, ErrXML,
	ErrParam, ErrSecondOverLimited, ErrDayOverLimited, ErrNotFound,
}

// checkSentinels asserts that err matches want and no other code sentinel.
func checkSentinels(t *testing.T, err, want error) {
	t.Helper()
	for _, s := range allSentinels {
		if got := errors.Is(err, s); got != (s == want) {
			t.Errorf("errors.Is(err, %v) = %v, want %v", s, got, s == want)
		}
	}
}

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
	src, err := os.ReadFile("codec_test.go")
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

// TestDecodeAllocationBound is the regression test for issue 8 item 11: a
// 1 MiB answer of empty <hbinfo/> entries cost 37 MiB to decode. hblist is
// read for gethbinfo only and capped, so the bytes allocated per hostile
// answer stay a small multiple of nothing. Not parallel: it reads the
// process's allocation counters.
func TestDecodeAllocationBound(t *testing.T) {
	body := []byte("<xml><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code><hblist>" +
		strings.Repeat("<hbinfo/>", (maxResponseBytes-200)/len("<hbinfo/>")) + "</hblist></xml>")
	if len(body) > maxResponseBytes {
		t.Fatalf("body %d bytes", len(body))
	}
	for _, query := range []bool{false, true} {
		var before, after runtime.MemStats
		const runs = 5
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range runs {
			if _, err := decodeXML(body, query); err == nil {
				t.Fatalf("query=%v: a 1 MiB hblist accepted", query)
			}
		}
		runtime.ReadMemStats(&after)
		perAnswer := (after.TotalAlloc - before.TotalAlloc) / runs
		if perAnswer > 1<<20 {
			t.Errorf("query=%v: %d KiB allocated per hostile 1 MiB answer, want at most 1024", query, perAnswer>>10)
		}
	}
}
