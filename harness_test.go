package redpack

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redpack-go/redpack/internal/testcert"
)

// The merchant every harness client sends for.
const (
	testMchID  = "1900000109"
	testAppID  = "wxd930ea5d5a258f4f"
	testAPIKey = "Zq4Rt7Yu1Io3Pa6Sd9Fg2Hj5Kl8Xc0Vb" // 32 of [0-9A-Za-z]
	testOpenID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
)

// testPKI is the CA, the loopback server certificate and the merchant
// certificate shared by the whole test binary: key generation is the slow part
// of a TLS test.
type testPKI struct {
	ca       *testcert.CA
	server   *testcert.Leaf
	merchant *testcert.Leaf // CN = testMchID, valid 2020–2045 so that fixed clocks pass
	p12      []byte         // merchant as PKCS#12 legacy 3DES with chain, password = testMchID
}

var (
	pkiOnce sync.Once
	pki     *testPKI
	pkiErr  error
)

func sharedPKI(tb testing.TB) *testPKI {
	tb.Helper()
	pkiOnce.Do(func() { pki, pkiErr = newPKI() })
	if pkiErr != nil {
		tb.Fatalf("generating test certificates: %v", pkiErr)
	}
	return pki
}

func newPKI() (*testPKI, error) {
	ca, err := testcert.NewCA("redpack test CA")
	if err != nil {
		return nil, err
	}
	srv, err := ca.Server()
	if err != nil {
		return nil, err
	}
	m, err := ca.Merchant(testMchID, testcert.MerchantOptions{
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:  time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		return nil, err
	}
	p12, err := m.PKCS12(testcert.P12Legacy3DES, testMchID, true)
	if err != nil {
		return nil, err
	}
	return &testPKI{ca: ca, server: srv, merchant: m, p12: p12}, nil
}

// action is what the scripted server does with one request.
type action int

const (
	actRespond action = iota // answer status and body
	actHijack                // read the whole request, then drop the connection unanswered
	actHang                  // hold the request until the client gives up
)

// answer is one scripted reply.
type answer struct {
	act    action
	status int // 0 means 200
	header map[string]string
	body   func(req map[string]string) string // nil means empty
}

// received is one request as the server saw it.
type received struct {
	Method, Path string
	Header       http.Header
	Body         []byte
	Fields       map[string]string // the flat XML fields of Body
	FieldsErr    error
	PeerCerts    []*x509.Certificate // the client's certificate chain
	TLSVersion   uint16
	Answer       []byte // what the server answered, for actRespond
}

// testServer is an httptest TLS server requiring a client certificate from
// the test CA, answering from a script: one answer per request, in order.
type testServer struct {
	*httptest.Server
	tb testing.TB

	mu         sync.Mutex
	script     []answer
	fallback   *answer
	reqs       []received
	unscripted []string // bill numbers of requests beyond the script

	handshakes atomic.Int64 // ClientHellos seen
	stop       chan struct{}
}

// newTestServer starts a mutual-TLS server; mods adjust its TLS config
// before it starts (versions, certificates, client CAs).
func newTestServer(tb testing.TB, mods ...func(*tls.Config)) *testServer {
	tb.Helper()
	p := sharedPKI(tb)
	s := &testServer{tb: tb, stop: make(chan struct{})}
	s.Server = httptest.NewUnstartedServer(s)
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are expected in some tests
	s.TLS = &tls.Config{
		Certificates: []tls.Certificate{p.server.TLS()},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    p.ca.Pool(),
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			s.handshakes.Add(1)
			return nil, nil
		},
	}
	for _, m := range mods {
		m(s.TLS)
	}
	s.StartTLS()
	tb.Cleanup(func() {
		close(s.stop)
		s.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.unscripted) > 0 {
			tb.Errorf("test server got %d request(s) beyond its script, bills %q", len(s.unscripted), s.unscripted)
		}
	})
	return s
}

// push appends answers to the script.
func (s *testServer) push(a ...answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, a...)
}

// always sets the answer given once the script is used up.
func (s *testServer) always(a answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallback = &a
}

// requests returns what the server received so far.
func (s *testServer) requests() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.reqs...)
}

// last returns the only or last request, failing the test when there is none.
func (s *testServer) last(t testing.TB) received {
	t.Helper()
	r := s.requests()
	if len(r) == 0 {
		t.Fatal("the server received no request")
	}
	return r[len(r)-1]
}

func (s *testServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := received{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	rec.Fields, rec.FieldsErr = parseFlatXML(body)
	if r.TLS != nil {
		rec.PeerCerts = r.TLS.PeerCertificates
		rec.TLSVersion = r.TLS.Version
	}
	s.mu.Lock()
	a, ok := answer{}, true
	switch {
	case len(s.script) > 0:
		a, s.script = s.script[0], s.script[1:]
	case s.fallback != nil:
		a = *s.fallback
	default:
		ok = false
		s.unscripted = append(s.unscripted, rec.Path+" "+rec.Fields["mch_billno"])
	}
	var out []byte
	if ok && a.act == actRespond && a.body != nil {
		out = []byte(a.body(rec.Fields))
		rec.Answer = out
	}
	s.reqs = append(s.reqs, rec)
	s.mu.Unlock()

	if !ok {
		http.Error(w, "unscripted request", http.StatusTeapot)
		return
	}
	switch a.act {
	case actHijack:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	case actHang:
		select {
		case <-r.Context().Done():
		case <-s.stop:
		}
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	status := a.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	w.Write(out)
}

// parseFlatXML reads a request body independently of the package's codec: a
// root <xml> with one level of text elements, no duplicates.
func parseFlatXML(body []byte) (map[string]string, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	fields := map[string]string{}
	depth, name := 0, ""
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if depth != 0 || len(fields) == 0 && len(bytes.TrimSpace(body)) == 0 {
				return nil, errors.New("truncated or empty document")
			}
			return fields, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				if t.Name.Local != "xml" {
					return nil, fmt.Errorf("root <%s>, want <xml>", t.Name.Local)
				}
			case 2:
				name = t.Name.Local
				text.Reset()
			default:
				return nil, fmt.Errorf("nested element <%s>", t.Name.Local)
			}
		case xml.CharData:
			if depth == 2 {
				text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("text outside a field")
			}
		case xml.EndElement:
			if depth == 2 {
				if _, dup := fields[name]; dup {
					return nil, fmt.Errorf("field %q given twice", name)
				}
				fields[name] = text.String()
			}
			depth--
		}
	}
}

// kv is one answer field. An empty k inserts v as raw XML (hblist).
type kv struct{ k, v string }

// xmlBody writes an answer the way WeChat Pay does: CDATA text, integers
// plain.
func xmlBody(fields ...kv) string {
	var b strings.Builder
	b.WriteString("<xml>")
	for _, f := range fields {
		switch {
		case f.k == "":
			b.WriteString(f.v)
		case isDigits(f.v):
			fmt.Fprintf(&b, "<%s>%s</%s>", f.k, f.v, f.k)
		default:
			fmt.Fprintf(&b, "<%s><![CDATA[%s]]></%s>", f.k, f.v, f.k)
		}
	}
	b.WriteString("</xml>")
	return b.String()
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// merge returns base with over applied: a key in over replaces the same key
// in base, or is appended; an empty value removes the key.
func merge(base []kv, over ...kv) []kv {
	out := append([]kv(nil), base...)
	for _, o := range over {
		i := 0
		for ; i < len(out); i++ {
			if out[i].k == o.k && o.k != "" {
				break
			}
		}
		switch {
		case i < len(out) && o.v == "":
			out = append(out[:i], out[i+1:]...)
		case i < len(out):
			out[i] = o
		case o.v != "":
			out = append(out, o)
		}
	}
	return out
}

// signedWith appends the sign of fields under key.
func signedWith(key string, fields []kv) []kv {
	m := make(map[string]string, len(fields))
	for _, f := range fields {
		if f.k != "" {
			m[f.k] = f.v
		}
	}
	return append(fields, kv{"sign", Sign(m, key)})
}

// reply answers 200 with the XML of fields(request).
func reply(fields func(req map[string]string) []kv) answer {
	return answer{body: func(req map[string]string) string { return xmlBody(fields(req)...) }}
}

const testSendListID = "1000041701202004173001723769407"

// successFields is a send success echoing the request, as WeChat Pay sends it.
func successFields(req map[string]string, over ...kv) []kv {
	return merge([]kv{
		{"return_code", "SUCCESS"}, {"return_msg", "发放成功"},
		{"result_code", "SUCCESS"}, {"err_code", "SUCCESS"}, {"err_code_des", "发放成功"},
		{"mch_billno", req["mch_billno"]}, {"mch_id", req["mch_id"]}, {"wxappid", req["wxappid"]},
		{"re_openid", req["re_openid"]}, {"total_amount", req["total_amount"]},
		{"send_listid", testSendListID},
	}, over...)
}

// success answers a send success; over replaces or removes fields.
func success(over ...kv) answer {
	return reply(func(req map[string]string) []kv { return successFields(req, over...) })
}

// failure answers return_code SUCCESS, result_code FAIL with err_code code.
func failAnswer(code string) answer {
	return reply(func(req map[string]string) []kv {
		return []kv{{"return_code", "SUCCESS"}, {"return_msg", "OK"}, {"result_code", "FAIL"},
			{"err_code", code}, {"err_code_des", "测试错误 " + code},
			{"mch_billno", req["mch_billno"]}, {"mch_id", req["mch_id"]}}
	})
}

// returnFail answers return_code FAIL with err_code code, as the official
// "system busy" sample.
func returnFail(code string) answer {
	return reply(func(req map[string]string) []kv {
		return []kv{{"return_code", "FAIL"}, {"return_msg", "系统繁忙,请稍后再试."}, {"result_code", "FAIL"},
			{"err_code", code}, {"err_code_des", "系统繁忙,请稍后再试."},
			{"mch_billno", req["mch_billno"]}, {"mch_id", req["mch_id"]}}
	})
}

// httpAnswer answers a fixed status and body.
func httpAnswer(status int, contentType, body string) answer {
	return answer{status: status, header: map[string]string{"Content-Type": contentType},
		body: func(map[string]string) string { return body }}
}

func hijack() answer { return answer{act: actHijack} }

// tinyRetry is the harness default: three attempts, millisecond waits.
var tinyRetry = RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}

// testConfig is the harness merchant's Config for ts.
func testConfig(tb testing.TB, ts *testServer) Config {
	tb.Helper()
	p := sharedPKI(tb)
	return Config{
		MchID:   testMchID,
		AppID:   testAppID,
		APIKey:  testAPIKey,
		PKCS12:  p.p12,
		BaseURL: ts.URL,
		RootCAs: p.ca.Pool(),
	}
}

// newClientFor builds a Client for cfg with the tiny retry policy unless opts
// override it.
func newClientFor(tb testing.TB, cfg Config, opts ...Option) *Client {
	tb.Helper()
	c, err := NewClient(cfg, append([]Option{WithRetryPolicy(tinyRetry)}, opts...)...)
	if err != nil {
		tb.Fatalf("NewClient: %v", err)
	}
	tb.Cleanup(c.CloseIdleConnections)
	return c
}

// newTestClient starts a scripted mutual-TLS server and a Client wired to it.
func newTestClient(tb testing.TB, opts ...Option) (*Client, *testServer) {
	tb.Helper()
	ts := newTestServer(tb)
	return newClientFor(tb, testConfig(tb, ts), opts...), ts
}

// sendReq is a valid minimal SendRequest.
func sendReq(billNo string) SendRequest {
	return SendRequest{Packet: Packet{
		BillNo:   billNo,
		OpenID:   testOpenID,
		Amount:   100,
		SendName: "redpack",
		Wishing:  "Happy new year",
		ActName:  "New year",
		Remark:   "Thanks",
	}}
}
