package redpacktest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redpack-go/redpack"
)

var oneAttempt = redpack.WithRetryPolicy(redpack.RetryPolicy{MaxAttempts: 1})

// newTestServer starts a Server closed at the end of the test.
func newTestServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	return NewTestServer(t, opts...)
}

// newTestClient returns s.NewClient(opts...); its idle connections are
// closed at the end of the test.
func newTestClient(t *testing.T, s *Server, opts ...redpack.Option) *redpack.Client {
	t.Helper()
	c := s.NewClient(append([]redpack.Option{redpack.WithNodeID(1)}, opts...)...)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// The tests call package redpack's client API through the helpers below
// only, so that a change of that API is an edit here.

// newBillNo draws a bill number from c.
func newBillNo(t testing.TB, c *redpack.Client) string {
	t.Helper()
	no, err := c.NewBillNo()
	if err != nil {
		t.Fatal(err)
	}
	return no
}

// outcomeOf is the outcome class of err by name ("OK", "UNKNOWN", ...).
func outcomeOf(err error) string { return redpack.OutcomeOf(err).String() }

// resolveOutcome resolves req's bill number and returns the outcome it
// settles on ("OK" paid, "FINAL" failed, else unsettled) with the record
// read, if any.
func resolveOutcome(ctx context.Context, c *redpack.Client, req redpack.SendRequest) (string, *redpack.Record, error) {
	rec, err := c.Resolve(ctx, req.Payment())
	var re *redpack.RecordError
	if errors.As(err, &re) {
		rec = re.Record
	}
	return outcomeOf(err), rec, err
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 14, 10, 0, 0, 0, cst)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// rawClient is an HTTP client for hand-made requests; cert nil means no
// client certificate.
func rawClient(t testing.TB, s *Server, cert *tls.Certificate) *http.Client {
	t.Helper()
	cfg := &tls.Config{RootCAs: s.RootCAs(), MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// merchantClient is rawClient with the merchant certificate.
func merchantClient(t testing.TB, s *Server) *http.Client {
	t.Helper()
	c := s.MerchantTLSCertificate()
	return rawClient(t, s, &c)
}

// sendFields returns valid sendredpack fields (unsigned).
func sendFields(s *Server, billNo string) map[string]string {
	return map[string]string{
		"nonce_str":    "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
		"mch_billno":   billNo,
		"mch_id":       s.MchID(),
		"wxappid":      s.AppID(),
		"send_name":    "测试商户",
		"re_openid":    "oUser-0001_abc",
		"total_amount": "100",
		"total_num":    "1",
		"wishing":      "恭喜发财",
		"client_ip":    "127.0.0.1",
		"act_name":     "新年红包",
		"remark":       "备注",
	}
}

func groupFields(s *Server, billNo string) map[string]string {
	f := sendFields(s, billNo)
	delete(f, "client_ip")
	f["total_num"] = "3"
	f["total_amount"] = "600"
	f["amt_type"] = "ALL_RAND"
	return f
}

func miniFields(s *Server, billNo string) map[string]string {
	f := sendFields(s, billNo)
	delete(f, "client_ip")
	f["wxappid"] = s.MiniAppID()
	f["notify_way"] = "MINI_PROGRAM_JSAPI"
	return f
}

func queryFields(s *Server, billNo string) map[string]string {
	return map[string]string{
		"nonce_str":  "ibuaiVcKdpRxkhJA",
		"mch_billno": billNo,
		"mch_id":     s.MchID(),
		"appid":      s.AppID(),
		"bill_type":  "MCHT",
	}
}

// signed returns f with its sign, as XML (CDATA, fields sorted for
// reproducibility).
func signed(f map[string]string, key string) []byte {
	g := make(map[string]string, len(f)+1)
	for k, v := range f {
		g[k] = v
	}
	g["sign"] = signFields(f, key)
	return encodeFields(g)
}

func encodeFields(f map[string]string) []byte {
	var b bytes.Buffer
	b.WriteString("<xml>")
	for _, k := range sortedKeys(f) {
		b.WriteString("<" + k + "><![CDATA[" + f[k] + "]]></" + k + ">")
	}
	b.WriteString("</xml>")
	return b.Bytes()
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// reply is a decoded answer.
type reply struct {
	status int
	body   []byte
	fields map[string]string
	hblist []map[string]string
}

func (r reply) code() string {
	if r.fields["return_code"] == "SUCCESS" && r.fields["result_code"] == "SUCCESS" {
		return "SUCCESS"
	}
	return r.fields["err_code"]
}

// post sends body to op and decodes the answer.
func post(t *testing.T, hc *http.Client, s *Server, op Endpoint, body []byte) reply {
	t.Helper()
	res, err := hc.Post(s.URL()+pathPrefix+string(op), "text/xml", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", op, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	r := reply{status: res.StatusCode, body: raw}
	if res.StatusCode == http.StatusOK {
		r.fields, r.hblist = decodeAnswer(t, raw)
	}
	return r
}

// decodeAnswer reads a flat answer and its hblist.
func decodeAnswer(t *testing.T, raw []byte) (map[string]string, []map[string]string) {
	t.Helper()
	var doc struct {
		Fields []struct {
			XMLName xml.Name
			Text    string `xml:",chardata"`
		} `xml:",any"`
		HBList []struct {
			Fields []struct {
				XMLName xml.Name
				Text    string `xml:",chardata"`
			} `xml:",any"`
		} `xml:"hblist>hbinfo"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("answer is not XML: %v\n%s", err, raw)
	}
	f := map[string]string{}
	for _, e := range doc.Fields {
		if e.XMLName.Local == "hblist" {
			continue
		}
		if _, dup := f[e.XMLName.Local]; dup {
			t.Fatalf("answer field %s twice", e.XMLName.Local)
		}
		f[e.XMLName.Local] = strings.TrimSpace(e.Text)
	}
	var list []map[string]string
	for _, h := range doc.HBList {
		m := map[string]string{}
		for _, e := range h.Fields {
			m[e.XMLName.Local] = e.Text
		}
		list = append(list, m)
	}
	return f, list
}

// sendReq is a valid SendRequest.
func sendReq(billNo, openID string, amount int64) redpack.SendRequest {
	return redpack.SendRequest{Packet: packet(billNo, openID, amount)}
}

// packet is a valid Packet.
func packet(billNo, openID string, amount int64) redpack.Packet {
	return redpack.Packet{
		BillNo: billNo, OpenID: openID, Amount: amount,
		SendName: "测试商户", Wishing: "恭喜发财", ActName: "新年红包", Remark: "备注",
	}
}
