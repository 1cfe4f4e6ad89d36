package redpack

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	nonceRE = regexp.MustCompile(`^[0-9A-Za-z]{1,32}$`)
)

// sortedKeys returns the field names of m in byte order.
func sortedKeys(m map[string]string) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

// checkWire asserts what every request must look like on the wire: the
// path, POST, the content type, exactly the documented fields, a sign that
// verifies over what was received and a 32-character nonce.
func checkWire(t *testing.T, r received, path string, wantFields []string) {
	t.Helper()
	if r.FieldsErr != nil {
		t.Fatalf("request body is not flat XML: %v\n%s", r.FieldsErr, r.Body)
	}
	if r.Method != "POST" || r.Path != path {
		t.Errorf("request line = %s %s, want POST %s", r.Method, r.Path, path)
	}
	if got := r.Header.Get("Content-Type"); got != "text/xml; charset=utf-8" {
		t.Errorf("Content-Type = %q, want %q", got, "text/xml; charset=utf-8")
	}
	want := slices.Clone(wantFields)
	slices.Sort(want)
	if diff := cmp.Diff(want, sortedKeys(r.Fields)); diff != "" {
		t.Errorf("fields sent (-want +got):\n%s", diff)
	}
	if !VerifySign(r.Fields, testAPIKey) {
		t.Errorf("sign %q does not verify over the received fields", r.Fields["sign"])
	}
	if n := r.Fields["nonce_str"]; !nonceRE.MatchString(n) {
		t.Errorf("nonce_str = %q, want 1 to 32 of [0-9A-Za-z]", n)
	}
}

var sendFieldsWire = []string{"act_name", "client_ip", "mch_billno", "mch_id", "nonce_str", "re_openid",
	"remark", "send_name", "sign", "total_amount", "total_num", "wishing", "wxappid"}

func TestSendDecodesResult(t *testing.T) {
	t.Parallel()
	c, ts := newTestClient(t)
	ts.push(success(kv{"send_time", "20150520102602"}))

	got, err := c.Send(t.Context(), sendReq("BILL20260203000001"))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := &SendResult{
		BillNo:     "BILL20260203000001",
		SendListID: testSendListID,
		OpenID:     testOpenID,
		Amount:     100,
		TotalNum:   1,
		SendTime:   time.Date(2015, 5, 20, 10, 26, 2, 0, time.FixedZone("UTC+8", 8*3600)),
		Raw:        ts.last(t).Answer,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SendResult (-want +got):\n%s", diff)
	}
	if _, off := got.SendTime.Zone(); off != 8*3600 {
		t.Errorf("SendTime zone offset = %ds, want +8h (CST)", off)
	}
	if len(got.Raw) == 0 {
		t.Error("Raw is empty")
	}
}

// TestSendRequiresBillNo is the regression test for issue 8 item 1: a send
// without a bill number is refused before anything leaves (it can no longer
// be given a number the caller never sees), and the error points to the
// generators.
func TestSendRequiresBillNo(t *testing.T) {
	t.Parallel()
	c, ts := newTestClient(t)
	calls := map[string]func() error{
		"Send": func() error { _, err := c.Send(t.Context(), sendReq("")); return err },
		"SendMiniProgram": func() error {
			_, err := c.SendMiniProgram(t.Context(), SendMiniProgramRequest{sendReq("").Packet})
			return err
		},
		"SendGroup": func() error {
			p := sendReq("").Packet
			p.Amount = 300
			_, err := c.SendGroup(t.Context(), SendGroupRequest{Packet: p, TotalNum: 3})
			return err
		},
	}
	for name, call := range calls {
		err := call()
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) != 1 || !ve.Has("mch_billno") {
			t.Errorf("%s without BillNo: %v; want a *ValidationError naming only mch_billno", name, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "NewBillNo") || !strings.Contains(msg, "BillNoFor") {
			t.Errorf("%s: %q does not point to NewBillNo and BillNoFor", name, msg)
		}
	}
	if n := len(ts.requests()); n != 0 {
		t.Errorf("server got %d requests, want 0", n)
	}
}

func TestSendRequestOnWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     []Option
		reqIP    string
		wantIP   string
		billNo   string
		optional func(*SendRequest)
		extra    []string
	}{
		{name: "default client_ip", wantIP: "127.0.0.1"},
		{name: "WithClientIP", opts: []Option{WithClientIP("203.0.113.7")}, wantIP: "203.0.113.7"},
		{name: "request ClientIP wins", opts: []Option{WithClientIP("203.0.113.7")}, reqIP: "198.51.100.9", wantIP: "198.51.100.9"},
		{name: "optional fields", wantIP: "127.0.0.1", optional: func(r *SendRequest) {
			r.SceneID = SceneLottery
			r.RiskInfo = RiskInfo{DeviceID: "IOS"}
			r.ConsumeMchID = "10000097"
			r.Amount = 50
		}, extra: []string{"consume_mch_id", "risk_info", "scene_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, ts := newTestClient(t, tt.opts...)
			ts.push(success())
			req := sendReq("WIRE1")
			req.ClientIP = tt.reqIP
			if tt.optional != nil {
				tt.optional(&req)
			}
			if _, err := c.Send(t.Context(), req); err != nil {
				t.Fatalf("Send: %v", err)
			}
			r := ts.last(t)
			checkWire(t, r, "/mmpaymkttransfers/sendredpack", append(slices.Clone(sendFieldsWire), tt.extra...))
			want := map[string]string{
				"mch_billno": "WIRE1", "mch_id": testMchID, "wxappid": testAppID, "re_openid": testOpenID,
				"total_amount": strconv.FormatInt(req.Amount, 10), "total_num": "1", "client_ip": tt.wantIP,
				"send_name": req.SendName, "wishing": req.Wishing, "act_name": req.ActName, "remark": req.Remark,
			}
			for k, v := range want {
				if r.Fields[k] != v {
					t.Errorf("%s = %q, want %q", k, r.Fields[k], v)
				}
			}
			for _, never := range []string{"sign_type", "appid"} {
				if _, ok := r.Fields[never]; ok {
					t.Errorf("sendredpack sent %s", never)
				}
			}
		})
	}
}

func TestSendMiniProgram(t *testing.T) {
	t.Parallel()
	c, ts := newTestClient(t)
	const pkg = "sendid=242e8abd163d300019b2cae74ba8e8c06e3f0e51ab84d16b3c80decd22a5b672&ver=8&sign=4110d649&mchid=1900000109&appid=wxd930ea5d5a258f4f"
	ts.push(success(kv{"package", pkg}))
	res, err := c.SendMiniProgram(t.Context(), SendMiniProgramRequest{Packet{
		BillNo: "MINI1", OpenID: testOpenID, Amount: 188, SendName: "小程序", Wishing: "恭喜发财", ActName: "活动", Remark: "备注",
	}})
	if err != nil {
		t.Fatalf("SendMiniProgram: %v", err)
	}
	if res.Package != pkg || res.BillNo != "MINI1" || res.SendListID != testSendListID || res.Amount != 188 {
		t.Errorf("result = %+v, want package %q, bill MINI1, amount 188", res, pkg)
	}
	r := ts.last(t)
	checkWire(t, r, "/mmpaymkttransfers/sendminiprogramhb", []string{"act_name", "mch_billno", "mch_id", "nonce_str",
		"notify_way", "re_openid", "remark", "send_name", "sign", "total_amount", "total_num", "wishing", "wxappid"})
	if r.Fields["notify_way"] != "MINI_PROGRAM_JSAPI" || r.Fields["total_num"] != "1" || r.Fields["wishing"] != "恭喜发财" {
		t.Errorf("notify_way=%q total_num=%q wishing=%q", r.Fields["notify_way"], r.Fields["total_num"], r.Fields["wishing"])
	}
}

func TestSendGroup(t *testing.T) {
	t.Parallel()
	c, ts := newTestClient(t)
	ts.push(success(kv{"total_num", "5"}))
	res, err := c.SendGroup(t.Context(), SendGroupRequest{Packet: Packet{
		BillNo: "GROUP1", OpenID: testOpenID, Amount: 1000,
		SendName: "group", Wishing: "share it", ActName: "fission", Remark: "r",
	}, TotalNum: 5})
	if err != nil {
		t.Fatalf("SendGroup: %v", err)
	}
	if res.TotalNum != 5 || res.Amount != 1000 || res.BillNo != "GROUP1" {
		t.Errorf("result = %+v, want TotalNum 5, Amount 1000, BillNo GROUP1", res)
	}
	r := ts.last(t)
	checkWire(t, r, "/mmpaymkttransfers/sendgroupredpack", []string{"act_name", "amt_type", "mch_billno", "mch_id",
		"nonce_str", "re_openid", "remark", "send_name", "sign", "total_amount", "total_num", "wishing", "wxappid"})
	if r.Fields["amt_type"] != "ALL_RAND" || r.Fields["total_num"] != "5" || r.Fields["total_amount"] != "1000" {
		t.Errorf("amt_type=%q total_num=%q total_amount=%q", r.Fields["amt_type"], r.Fields["total_num"], r.Fields["total_amount"])
	}
}

// recordFields is a gethbinfo success for the requested bill number.
func recordFields(req map[string]string, status string, over ...kv) []kv {
	return merge([]kv{
		{"return_code", "SUCCESS"}, {"return_msg", "获取成功"}, {"result_code", "SUCCESS"},
		{"err_code", "SUCCESS"}, {"err_code_des", "OK"},
		{"mch_billno", req["mch_billno"]}, {"mch_id", req["mch_id"]},
		{"detail_id", "1000000000201503283103439304"}, {"status", status},
		{"send_type", "API"}, {"hb_type", "NORMAL"}, {"total_num", "1"}, {"total_amount", "100"},
		{"send_time", "2026-02-03 10:20:30"},
		{"wishing", "恭喜发财"}, {"remark", "备注"}, {"act_name", "新年红包"},
	}, over...)
}

func record(status string, over ...kv) answer {
	return reply(func(req map[string]string) []kv { return recordFields(req, status, over...) })
}

func cstTime(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, time.FixedZone("UTC+8", 8*3600))
}

func TestQuery(t *testing.T) {
	t.Parallel()
	const hblist = `<hblist>` +
		`<hbinfo><openid><![CDATA[oA1]]></openid><amount>200</amount><rcv_time><![CDATA[2026-02-03 10:21:00]]></rcv_time></hbinfo>` +
		`<hbinfo><openid><![CDATA[oB2]]></openid><status><![CDATA[RECEIVED]]></status><amount><![CDATA[150]]></amount><rcv_time>2026-02-03 11:00:05</rcv_time></hbinfo>` +
		`<hbinfo><openid>oC3</openid><amount>250</amount></hbinfo>` +
		`</hblist>`
	base := Record{
		BillNo: "Q1", DetailID: "1000000000201503283103439304", SendType: "API", HBType: HBTypeNormal,
		TotalNum: 1, TotalAmount: 100, SendTime: cstTime(2026, 2, 3, 10, 20, 30),
		Wishing: "恭喜发财", Remark: "备注", ActName: "新年红包",
	}
	tests := []struct {
		name   string
		answer answer
		want   func(r Record) Record
	}{
		{"group with receivers", record("RECEIVED", kv{"hb_type", "GROUP"}, kv{"total_num", "3"}, kv{"total_amount", "600"}, kv{"", hblist}),
			func(r Record) Record {
				r.Status, r.HBType, r.TotalNum, r.TotalAmount = StatusReceived, HBTypeGroup, 3, 600
				r.Receivers = []Receiver{
					{OpenID: "oA1", Amount: 200, RcvTime: cstTime(2026, 2, 3, 10, 21, 0)},
					{OpenID: "oB2", Amount: 150, RcvTime: cstTime(2026, 2, 3, 11, 0, 5)},
					{OpenID: "oC3", Amount: 250},
				}
				return r
			}},
		{"refunded", record("REFUND", kv{"refund_time", "2026-02-04 10:20:31"}, kv{"refund_amount", "100"}, kv{"reason", "超时未领取"}),
			func(r Record) Record {
				r.Status, r.RefundTime, r.RefundAmount, r.Reason = StatusRefunded, cstTime(2026, 2, 4, 10, 20, 31), 100, "超时未领取"
				return r
			}},
		{"failed, times in another layout are zero", record("FAILED", kv{"send_time", "20260203102030"}),
			func(r Record) Record {
				r.Status, r.SendTime = StatusFailed, time.Time{}
				return r
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, ts := newTestClient(t)
			ts.push(tt.answer)
			got, err := c.Query(t.Context(), "Q1")
			if err != nil {
				t.Fatalf("Query: %v", err)
			}
			r := ts.last(t)
			checkWire(t, r, "/mmpaymkttransfers/gethbinfo", []string{"appid", "bill_type", "mch_billno", "mch_id", "nonce_str", "sign"})
			if r.Fields["bill_type"] != "MCHT" || r.Fields["appid"] != testAppID || r.Fields["mch_billno"] != "Q1" || r.Fields["mch_id"] != testMchID {
				t.Errorf("query fields = %v", r.Fields)
			}
			want := tt.want(base)
			want.Raw = r.Answer
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("Record (-want +got):\n%s", diff)
			}
			times := []time.Time{got.SendTime, got.RefundTime}
			for _, rc := range got.Receivers {
				times = append(times, rc.RcvTime)
			}
			for _, tm := range times {
				if _, off := tm.Zone(); !tm.IsZero() && off != 8*3600 {
					t.Errorf("time %v not in CST (UTC+8)", tm)
				}
			}
		})
	}
}

func TestQueryNotFound(t *testing.T) {
	t.Parallel()
	c, ts := newTestClient(t)
	ts.push(failAnswer("NOT_FOUND"))
	rec, err := c.Query(t.Context(), "NF1")
	if rec != nil || err == nil {
		t.Fatalf("Query = %v, %v; want an error", rec, err)
	}
	if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v; want ErrOutcomeUnknown and ErrNotFound", err)
	}
	if got := OutcomeOf(err); got != OutcomeUnknown {
		t.Errorf("Outcome = %v, want UNKNOWN", got)
	}
	if n := len(ts.requests()); n != 1 {
		t.Errorf("server got %d requests, want 1 (NOT_FOUND is not retried)", n)
	}
	checkBillNo(t, err, "NF1")
}

func TestResolve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		script       []answer
		wantStatus   Status  // when paid
		wantOutcome  Outcome // of the error otherwise
		wantRequests int
	}{
		{"polls past NOT_FOUND and SENDING to SENT",
			[]answer{failAnswer("NOT_FOUND"), record("SENDING"), failAnswer("SYSTEMERROR"), record("SENDING"), record("SENT")},
			StatusSent, OutcomeOK, 5},
		{"FAILED is final", []answer{failAnswer("NOT_FOUND"), record("FAILED")}, "", OutcomeFinal, 2},
		// A refused query leaves the send unknown: never a REJECTED that
		// could read as "not paid" (issue 8 item 2).
		{"stops at a refused query, still unknown", []answer{failAnswer("NOT_FOUND"), failAnswer("SIGN_ERROR")}, "", OutcomeUnknown, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, ts := newTestClient(t)
			ts.push(tt.script...)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			rec, err := c.Resolve(ctx, sendReq("RES1").Payment())
			if got := OutcomeOf(err); got != tt.wantOutcome {
				t.Fatalf("Resolve = %v, %v: outcome %v, want %v", rec, err, got, tt.wantOutcome)
			}
			if tt.wantStatus != "" && (rec == nil || rec.Status != tt.wantStatus) {
				t.Errorf("Resolve = %+v, want status %s", rec, tt.wantStatus)
			}
			if err != nil {
				checkBillNo(t, err, "RES1")
			}
			if n := len(ts.requests()); n != tt.wantRequests {
				t.Errorf("server got %d requests, want %d", n, tt.wantRequests)
			}
		})
	}
}

// TestResolveUnreachableIsUnknown: when no query reaches WeChat Pay, Resolve
// reports the send as unknown and nothing in the chain matches ErrNotSent
// (which would read as "the red packet was not sent").
func TestResolveUnreachableIsUnknown(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, newTestServer(t))
	cfg.BaseURL = "https://127.0.0.1:1" // closed port
	c := newClientFor(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	rec, err := c.Resolve(ctx, sendReq("UNREACH1").Payment())
	if rec != nil || !errors.Is(err, ErrOutcomeUnknown) || OutcomeOf(err) != OutcomeUnknown {
		t.Fatalf("Resolve = %v, %v (outcome %v); want an unknown outcome", rec, err, OutcomeOf(err))
	}
	if errors.Is(err, ErrNotSent) {
		t.Errorf("Resolve error %v matches ErrNotSent", err)
	}
	checkBillNo(t, err, "UNREACH1")
}

func TestSendEchoOfAnotherBillIsUnknown(t *testing.T) {
	t.Parallel()
	c, ts := newTestClient(t)
	other := success(kv{"mch_billno", "SOMEONEELSE1"})
	ts.push(other, other, other)
	res, err := c.Send(t.Context(), sendReq("ECHO1"))
	if res != nil || !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("Send = %v, %v; want an unknown outcome", res, err)
	}
	var de *DecodeError
	if !errors.As(err, &de) || !strings.Contains(de.Reason, "mch_billno") {
		t.Errorf("err = %v; want a DecodeError about the echoed mch_billno", err)
	}
	checkBillNo(t, err, "ECHO1")
}

func TestResponseSign(t *testing.T) {
	t.Parallel()
	signed := func(key string, mod func(string) string, over ...kv) answer {
		return reply(func(req map[string]string) []kv {
			f := signedWith(key, successFields(req, over...))
			f[len(f)-1].v = mod(f[len(f)-1].v)
			return f
		})
	}
	same := func(s string) string { return s }
	tests := []struct {
		name string
		a    answer
		ok   bool
	}{
		{"correct sign accepted", signed(testAPIKey, same), true},
		{"lowercase hex accepted", signed(testAPIKey, strings.ToLower), true},
		{"unknown fields are signed too", signed(testAPIKey, same, kv{"future_field", "x=y&z"}), true},
		{"sign under another key", signed("ANOTHERKEYANOTHERKEYANOTHERKEY12", same), false},
		{"sign of other content", signed(testAPIKey, func(string) string { return strings.Repeat("A", 32) }), false},
		{"empty sign", signed(testAPIKey, func(string) string { return "" }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, ts := newTestClient(t)
			ts.push(tt.a, tt.a, tt.a)
			res, err := c.Send(t.Context(), sendReq("SIGNED1"))
			if tt.ok {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				if res.SendListID != testSendListID {
					t.Errorf("SendListID = %q", res.SendListID)
				}
				return
			}
			if res != nil || !errors.Is(err, ErrOutcomeUnknown) {
				t.Fatalf("Send = %v, %v; want an unknown outcome", res, err)
			}
			var de *DecodeError
			if !errors.As(err, &de) || !strings.Contains(de.Reason, "sign") {
				t.Errorf("err = %v; want a DecodeError about the sign", err)
			}
		})
	}
}

func TestSuccessWhateverErrCode(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"0", "SUCCESS", "", "SOMETHING_ELSE"} {
		t.Run("err_code="+code, func(t *testing.T) {
			t.Parallel()
			c, ts := newTestClient(t)
			ts.push(success(kv{"err_code", code}))
			if _, err := c.Send(t.Context(), sendReq("CODES1")); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if n := len(ts.requests()); n != 1 {
				t.Errorf("server got %d requests, want 1", n)
			}
		})
	}
}

func TestValidationSendsNothing(t *testing.T) {
	t.Parallel()
	c, ts := newTestClient(t)
	bad := sendReq("bad-bill!")
	bad.Amount = 0
	calls := map[string]func() error{
		"Send": func() error { _, err := c.Send(t.Context(), bad); return err },
		"SendMiniProgram": func() error {
			_, err := c.SendMiniProgram(t.Context(), SendMiniProgramRequest{Packet{BillNo: "M1", OpenID: testOpenID, Amount: 100}})
			return err
		},
		"SendGroup": func() error {
			_, err := c.SendGroup(t.Context(), SendGroupRequest{Packet: Packet{BillNo: "G1", OpenID: testOpenID, Amount: 100,
				SendName: "s", Wishing: "w", ActName: "a", Remark: "r"}, TotalNum: 2})
			return err
		},
		"Query": func() error { _, err := c.Query(t.Context(), ""); return err },
	}
	for name, call := range calls {
		err := call()
		var ve *ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidRequest) || OutcomeOf(err) != OutcomeRejected {
			t.Errorf("%s: err = %v; want a *ValidationError (REJECTED)", name, err)
		}
	}
	if n := len(ts.requests()); n != 0 {
		t.Errorf("server got %d requests for invalid calls, want 0", n)
	}
}

// checkBillNo asserts that every error type of the chain names billNo, and
// that the message does.
func checkBillNo(t *testing.T, err error, billNo string) {
	t.Helper()
	found := 0
	var ue *UnknownOutcomeError
	if errors.As(err, &ue) {
		found++
		if ue.BillNo != billNo {
			t.Errorf("UnknownOutcomeError.BillNo = %q, want %q", ue.BillNo, billNo)
		}
	}
	var ns *NotSentError
	if errors.As(err, &ns) {
		found++
		if ns.BillNo != billNo {
			t.Errorf("NotSentError.BillNo = %q, want %q", ns.BillNo, billNo)
		}
	}
	var ae *APIError
	if errors.As(err, &ae) {
		found++
		if ae.BillNo != billNo {
			t.Errorf("APIError.BillNo = %q, want %q", ae.BillNo, billNo)
		}
	}
	var re *RecordError
	if errors.As(err, &re) {
		found++
		if re.BillNo != billNo {
			t.Errorf("RecordError.BillNo = %q, want %q", re.BillNo, billNo)
		}
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		found++
		if ve.BillNo != billNo {
			t.Errorf("ValidationError.BillNo = %q, want %q", ve.BillNo, billNo)
		}
	}
	if found == 0 {
		t.Errorf("err %T (%v) carries no bill number", err, err)
	}
	if !strings.Contains(err.Error(), billNo) {
		t.Errorf("message %q does not name bill %s", err.Error(), billNo)
	}
}

// TestForAppID: the derived Client sends under its own appid, shares the
// connection pool (no second handshake) and leaves the original unchanged.
func TestForAppID(t *testing.T) {
	t.Parallel()
	c, ts := newTestClient(t)
	mini, err := c.ForAppID("wxd27ebc41b85ce36d")
	if err != nil {
		t.Fatal(err)
	}
	ts.push(success(), reply(func(req map[string]string) []kv {
		return successFields(req, kv{"package", "sendid=ab&ver=8&sign=cd&mchid=1900000109&appid=wxd27ebc41b85ce36d"})
	}))
	if _, err := c.Send(t.Context(), sendReq("FORAPP1")); err != nil {
		t.Fatal(err)
	}
	if _, err := mini.SendMiniProgram(t.Context(), SendMiniProgramRequest{Packet{BillNo: "FORAPP2", OpenID: testOpenID,
		Amount: 100, SendName: "s", Wishing: "w", ActName: "a", Remark: "r"}}); err != nil {
		t.Fatal(err)
	}
	reqs := ts.requests()
	if len(reqs) != 2 {
		t.Fatalf("server got %d requests, want 2", len(reqs))
	}
	if got := reqs[0].Fields["wxappid"]; got != testAppID {
		t.Errorf("original client sent wxappid %q, want %q", got, testAppID)
	}
	if got := reqs[1].Fields["wxappid"]; got != "wxd27ebc41b85ce36d" {
		t.Errorf("derived client sent wxappid %q", got)
	}
	if h := ts.handshakes.Load(); h != 1 {
		t.Errorf("%d TLS handshakes for two sends through the shared pool, want 1", h)
	}
	if c.AppID() != testAppID || mini.AppID() != "wxd27ebc41b85ce36d" || mini.MchID() != c.MchID() {
		t.Errorf("AppIDs: original %q, derived %q", c.AppID(), mini.AppID())
	}
	for _, bad := range []string{"", "wx app", strings.Repeat("w", 33), "wx应用"} {
		if _, err := c.ForAppID(bad); err == nil {
			t.Errorf("ForAppID(%q) accepted", bad)
		}
	}
}

// TestResolvePollFloor: with a retry policy without delays, Resolve still
// waits a second between queries instead of spinning.
func TestResolvePollFloor(t *testing.T) {
	t.Parallel()
	c, ts := newTestClient(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	ts.always(failAnswer("NOT_FOUND"))
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	if _, err := c.Resolve(ctx, sendReq("FLOOR1").Payment()); !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("Resolve: %v; want an unknown outcome", err)
	}
	if n := len(ts.requests()); n < 1 || n > 2 {
		t.Errorf("%d queries in 1.5 s with a zero-delay policy; want 1 or 2 (one a second)", n)
	}
}
