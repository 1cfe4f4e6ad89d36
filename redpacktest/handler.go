package redpacktest

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/redpack-go/redpack"
)

const pathPrefix = "/mmpaymkttransfers/"

var paths = map[string]Endpoint{
	pathPrefix + string(EndpointSend):            EndpointSend,
	pathPrefix + string(EndpointSendGroup):       EndpointSendGroup,
	pathPrefix + string(EndpointSendMiniProgram): EndpointSendMiniProgram,
	pathPrefix + string(EndpointQuery):           EndpointQuery,
}

// documented lists, per endpoint, every field the server knows (SPEC §2).
// Anything else, sign_type included, is answered SIGN_ERROR: the real server
// verifies only over the fields it knows (§1.3 "Documented fields only").
var documented = map[Endpoint]map[string]bool{
	EndpointSend: set("nonce_str", "sign", "mch_billno", "mch_id", "sub_mch_id", "msgappid", "wxappid", "send_name",
		"re_openid", "total_amount", "total_num", "wishing", "client_ip", "act_name", "remark", "scene_id",
		"risk_info", "consume_mch_id"),
	EndpointSendGroup: set("nonce_str", "sign", "mch_billno", "mch_id", "sub_mch_id", "msgappid", "wxappid", "send_name",
		"re_openid", "total_amount", "total_num", "amt_type", "wishing", "act_name", "remark", "scene_id",
		"risk_info", "consume_mch_id"),
	EndpointSendMiniProgram: set("nonce_str", "sign", "mch_billno", "mch_id", "wxappid", "send_name", "re_openid",
		"total_amount", "total_num", "wishing", "act_name", "remark", "notify_way", "scene_id"),
	EndpointQuery: set("nonce_str", "sign", "mch_billno", "mch_id", "appid", "bill_type"),
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// serveHTTP handles one request: it records it, takes an injected answer
// or asks the reactors, and otherwise answers by the fake's rules.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.life.enter() {
		// Closing: drop the connection rather than answer.
		panic(http.ErrAbortHandler)
	}
	defer s.life.leave()
	op, known := paths[r.URL.Path]
	if !known || r.Method != http.MethodPost {
		req := s.record(r, op, nil, nil)
		if known {
			s.answered(req, "HTTP 405", "")
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s.answered(req, "HTTP 404", "")
		http.NotFound(w, r)
		return
	}
	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	fields, parseErr := parseBody(body)
	if readErr != nil {
		parseErr = readErr
	}
	if parseErr != nil {
		fields = nil
	}
	req := s.record(r, op, body, fields)

	s.st.mu.Lock()
	a, injected := s.st.pick(op)
	var reactors []Reactor
	if !injected {
		reactors = s.st.reactorsFor(op)
	}
	snapshot := req.clone()
	s.st.mu.Unlock()
	for _, react := range reactors {
		if ra, ok := s.react(react, snapshot); ok {
			a, injected = ra, true
			break
		}
	}
	if !injected {
		a = Process()
	}
	how := ""
	if injected {
		how = a.String()
	}
	if err := a.check(); err != nil {
		// Only a reactor can hand over an invalid Answer.
		s.answered(req, "HTTP 500", how)
		http.Error(w, "redpacktest: invalid Answer from a Reactor: "+err.Error(), http.StatusInternalServerError)
		return
	}

	var an *answer
	switch a.kind {
	case kindDrop:
		s.answered(req, answerDropped, how)
	case kindRaw:
		s.answered(req, "HTTP "+strconv.Itoa(a.status), how)
	case kindFail:
		an = failAnswer(a, op, fields)
	default: // the fake's rules
		if parseErr != nil {
			an = protocolFail("XML_ERROR", "输入数据格式错误: 不是合法的XML")
		} else {
			an = s.processLocked(op, r.TLS, fields, req.Time, a.kind == kindProcessing)
		}
	}
	if an != nil {
		if a.rewrite != nil {
			an.rewriteFields(a.rewrite)
		}
		code := an.code
		if a.kind == kindPayThenDrop {
			code = answerDropped
		}
		s.answered(req, code, how)
	}

	if a.delay > 0 {
		t := time.NewTimer(a.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-s.life.done:
			return
		}
	}
	switch a.kind {
	case kindDrop, kindPayThenDrop:
		reset(w)
	case kindRaw:
		if a.contentType != "" {
			w.Header().Set("Content-Type", a.contentType)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
	default:
		writeXML(w, an)
	}
}

// answerDropped is Request.Answer of a request whose connection was reset
// instead of answered.
const answerDropped = "DROPPED"

// react runs one reactor; a reactor that panics answers HTTP 500 instead
// of taking the connection down silently.
func (s *Server) react(r Reactor, req Request) (a Answer, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			msg := fmt.Sprint(p)
			a, ok = Raw(http.StatusInternalServerError, "text/plain", []byte("redpacktest: Reactor panicked: "+msg)), true
		}
	}()
	return r(req)
}

// record appends the request to the log at its arrival and returns it for
// answered to complete.
func (s *Server) record(r *http.Request, op Endpoint, body []byte, fields map[string]string) *Request {
	req := &Request{
		Path: r.URL.Path, Method: r.Method, Endpoint: op, Header: r.Header.Clone(),
		Body: body, Fields: fields,
	}
	if r.TLS != nil {
		req.TLSVersion = r.TLS.Version
		req.PeerCertificates = slices.Clone(r.TLS.PeerCertificates)
	}
	s.st.mu.Lock()
	req.Time = s.now()
	s.st.requests = append(s.st.requests, req)
	s.st.mu.Unlock()
	return req
}

// answered notes what req was answered and which injection decided it.
func (s *Server) answered(req *Request, answer, injected string) {
	s.st.mu.Lock()
	req.Answer, req.Injected = answer, injected
	s.st.mu.Unlock()
}

// failAnswer builds the err_code answer of an injected ResultFail or
// ReturnFail.
func failAnswer(a Answer, op Endpoint, fields map[string]string) *answer {
	des := failText(a.code)
	var echo []kv
	if a.code != "SYSTEMERROR" {
		echo = echoFields(op, fields)
	}
	rc := "SUCCESS"
	if a.returnFail {
		rc = "FAIL"
	}
	return failure(rc, a.code, des, echo)
}

// reset hijacks the connection and closes it with a TCP RST, without a TLS
// close_notify: the client sees a reset, not an orderly end.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = raw.Close()
}

// processLocked is process under the state lock.
func (s *Server) processLocked(op Endpoint, cs *tls.ConnectionState, f map[string]string, now time.Time, processing bool) *answer {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return s.process(op, cs, f, now, processing)
}

// process answers a parsed request. s.st.mu is held.
func (s *Server) process(op Endpoint, cs *tls.ConnectionState, f map[string]string, now time.Time, processing bool) *answer {
	echo := echoFields(op, f)
	// Merchant and certificate.
	mch := f["mch_id"]
	if mch == "" {
		return businessFail("PARAM_ERROR", "参数错误:mch_id字段必填,并且少于32个字符", echo)
	}
	if mch != s.MchID() {
		return businessFail("PARAM_ERROR", "参数错误:mch_id不存在", echo)
	}
	if cs == nil || len(cs.PeerCertificates) == 0 || cs.PeerCertificates[0].Subject.CommonName != mch {
		return protocolFail("CA_ERROR", "证书出错,请登录微信支付商户平台下载证书")
	}
	// Signature over the documented fields only.
	known := documented[op]
	for k := range f {
		if !known[k] {
			return protocolFail("SIGN_ERROR", "签名错误")
		}
	}
	if f["sign"] == "" || !verifySign(f, s.APIKey()) {
		return protocolFail("SIGN_ERROR", "签名错误")
	}
	s.st.sweep(now)
	if s.st.rateLimited(op, now) {
		return businessFail("FREQ_LIMIT", "超过频率限制,请稍后再试", echo)
	}
	if op == EndpointSendGroup && s.cfg.groupRetired {
		// The real answer of the retired API is undocumented; this code and
		// text are the fake's reading of the 2024-06-05 offline notice.
		return businessFail("API_METHOD_CLOSED", "裂变红包产品已于2024年6月5日下线,请使用普通红包", echo)
	}
	if op == EndpointQuery {
		return s.query(f, now)
	}
	return s.send(op, f, now, processing, echo)
}

// send handles a send endpoint after authentication. s.mu is held.
func (s *Server) send(op Endpoint, f map[string]string, now time.Time, processing bool, echo []kv) *answer {
	if code, des := s.paramError(op, f); code != "" {
		return businessFail(code, des, echo)
	}
	amount, _ := strconv.ParseInt(f["total_amount"], 10, 64)
	num, _ := strconv.Atoi(f["total_num"])
	no := f["mch_billno"]
	if b := s.st.bills[no]; b != nil {
		return s.again(b, op, f, amount, num, echo)
	}
	b := &bill{
		no: no, kind: kinds[op], openID: f["re_openid"], appID: f["wxappid"],
		amount: amount, num: num, acceptedAt: now,
		sendName: f["send_name"], wishing: f["wishing"], actName: f["act_name"], remark: f["remark"],
	}
	b.listID = s.st.newListID(now)
	s.st.bills[no] = b
	code, des := "MONEY_LIMIT", moneyLimit(op, amount, num, f["scene_id"])
	if des == "" {
		code, des = s.st.limitFailure(b.openID, amount, now)
	}
	if code != "" {
		b.failed, b.failCode, b.failDes = true, code, des
	} else {
		s.st.pay(b, now)
		if b.kind == KindGroup {
			b.shares = s.st.splitGroup(amount, num)
		}
		if b.kind == KindMini {
			b.pkg = miniPackage(s.MchID(), b.appID, no, b.listID)
		}
	}
	if processing {
		b.pending = true
		b.settleAt = now.Add(s.cfg.processingDelay)
		s.st.track(b)
		return businessFail("PROCESSING", "请求已受理，请稍后使用原单号查询发放结果", echo)
	}
	if b.failed {
		return businessFail(code, des, echo)
	}
	b.sentAt = now
	s.st.track(b)
	return s.success(b)
}

// again answers a send whose bill number is in the ledger (re-entrancy).
func (s *Server) again(b *bill, op Endpoint, f map[string]string, amount int64, num int, echo []kv) *answer {
	switch {
	case b.failed && !b.pending:
		return businessFail("SEND_FAILED", "该红包已经发放失败,请更换单号再重试", echo)
	case b.kind != kinds[op] || b.openID != f["re_openid"] || b.amount != amount || b.num != num:
		return businessFail("FATAL_ERROR", "该单号已存在,且参数(re_openid/total_amount)与原单不一致", echo)
	case b.pending:
		return businessFail("PROCESSING", "请求已受理，请稍后使用原单号查询发放结果", echo)
	}
	return s.success(b)
}

// success is the success answer of bill b. It is built from the bill alone,
// never from the request at hand, so that a re-entrant send answers the
// original success byte for byte (SPEC §3.2).
func (s *Server) success(b *bill) *answer {
	a := &answer{code: "SUCCESS"}
	a.add("return_code", "SUCCESS")
	a.add("return_msg", "发放成功")
	a.add("result_code", "SUCCESS")
	a.add("err_code", "SUCCESS")
	a.add("err_code_des", "发放成功")
	// The echo fields, in echoFields' order.
	a.add("mch_billno", b.no)
	a.add("mch_id", s.MchID())
	a.add("wxappid", b.appID)
	a.add("re_openid", b.openID)
	a.add("total_amount", strconv.FormatInt(b.amount, 10))
	a.add("send_listid", b.listID)
	a.add("send_time", formatSendTime(b.acceptedAt))
	if b.kind == KindGroup {
		a.add("total_num", strconv.Itoa(b.num))
	}
	a.add("package", b.pkg)
	return a
}

// query answers gethbinfo. s.mu is held; sweep has run.
func (s *Server) query(f map[string]string, now time.Time) *answer {
	echo := echoFields(EndpointQuery, f)
	if code, des := s.paramError(EndpointQuery, f); code != "" {
		return businessFail(code, des, echo)
	}
	b := s.st.bills[f["mch_billno"]]
	if b == nil {
		return businessFail("NOT_FOUND", "指定单号数据不存在", echo)
	}
	a := &answer{code: "SUCCESS"}
	a.add("return_code", "SUCCESS")
	a.add("return_msg", "获取成功")
	a.add("result_code", "SUCCESS")
	a.add("err_code", "SUCCESS")
	a.add("err_code_des", "OK")
	a.add("mch_billno", b.no)
	a.add("mch_id", s.MchID())
	a.add("detail_id", b.listID)
	st := b.status(now)
	a.add("status", string(st))
	a.add("send_type", "API")
	hb := "NORMAL"
	if b.kind == KindGroup {
		hb = "GROUP"
	}
	a.add("hb_type", hb)
	a.add("total_num", strconv.Itoa(b.num))
	a.add("total_amount", strconv.FormatInt(b.amount, 10))
	if st == redpack.StatusFailed {
		a.add("reason", b.failDes)
	}
	a.add("send_time", b.acceptedAt.In(cst).Format(queryTime))
	if b.refunded {
		a.add("refund_time", b.refundTime.In(cst).Format(queryTime))
		a.add("refund_amount", strconv.FormatInt(b.amount, 10))
	}
	a.add("wishing", b.wishing)
	a.add("remark", b.remark)
	a.add("act_name", b.actName)
	a.hblist = b.received
	return a
}
