package redpack

import (
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchSuccessAnswer is a sendredpack success as WeChat Pay sends it.
var benchSuccessAnswer = []byte(`<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[发放成功]]></return_msg><result_code><![CDATA[SUCCESS]]></result_code><err_code><![CDATA[SUCCESS]]></err_code><err_code_des><![CDATA[发放成功]]></err_code_des><mch_billno><![CDATA[0010010404201411170000046545]]></mch_billno><mch_id><![CDATA[10010404]]></mch_id><wxappid><![CDATA[wx6fa7e3bab7e15415]]></wxappid><re_openid><![CDATA[onqOjjmM1tad-3ROpncN-yUfa6uI]]></re_openid><total_amount>100</total_amount><send_listid><![CDATA[1000041701202004173001723769407]]></send_listid></xml>`)

// BenchmarkSDKWorkPerSend measures everything the SDK does for one send
// besides the network: validation, a generated bill number, nonce, sign,
// XML encoding, decoding the answer, classification and the result. It runs
// the same functions Send runs, in the same order (see Client.Send and
// Client.call), minus the HTTP round trip.
func BenchmarkSDKWorkPerSend(b *testing.B) {
	c := &Client{mchID: "10010404", appID: "wx6fa7e3bab7e15415", sign: newSigner("192006250b4c09247ec02edce69f6a2d"), opts: defaultOptions()}
	c.billNos = newBillNoGen("10010404", 7, time.Now)
	req := SendRequest{OpenID: "onqOjjmM1tad-3ROpncN-yUfa6uI", Amount: 100,
		SendName: "商户名称", Wishing: "恭喜发财", ActName: "新年红包", Remark: "新年快乐"}
	b.ReportAllocs()
	for b.Loop() {
		f, ip, err := c.checkSend(&req)
		if err != nil {
			b.Fatal(err)
		}
		p := c.sendParams(&f, 1)
		p = p.add("client_ip", ip)
		body := c.encodeRequest(p)
		if len(body) == 0 {
			b.Fatal("empty body")
		}
		r, err := decodeXML(benchSuccessAnswer)
		if err != nil {
			b.Fatal(err)
		}
		if ae := answerError(opSend, f.BillNo, r); ae != nil {
			b.Fatal(ae)
		}
		if res := sendResult(r, benchSuccessAnswer, f.BillNo, p); res.Amount != 100 {
			b.Fatal("amount", res.Amount)
		}
	}
}

// TestEncodedLenExact keeps the body buffer sized once: encodedLen must be
// the exact output size when no value contains "]]>", and an upper bound
// minus 12 bytes per "]]>" otherwise.
func TestEncodedLenExact(t *testing.T) {
	t.Parallel()
	for _, p := range []params{
		nil,
		{{"a", "1"}},
		{{"act_name", "新年红包"}, {"empty", ""}, {"mch_billno", "0010010404201411170000046545"}},
		{{"x", "a]]>b]]>"}},
	} {
		for _, sign := range []string{"", "9A0A8659F005D6984697E2CA0A9CF3B7"} {
			got := len(encodeXML(nil, p, sign))
			want := encodedLen(p, sign)
			for _, kv := range p {
				want += 12 * countSub(kv.v, "]]>")
			}
			if got != want {
				t.Errorf("params %v sign %q: encoded %d bytes, encodedLen+escapes says %d", p, sign, got, want)
			}
		}
	}
}

func countSub(s, sub string) int {
	n := 0
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			n++
		}
	}
	return n
}

// TestReadBody covers the presized answer reader: with and without
// Content-Length, a Content-Length that lies, and the size cap.
func TestReadBody(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("x", 3000)
	for _, tc := range []struct {
		name   string
		body   string
		length int64
		want   int
	}{
		{"exact length", body, 3000, 3000},
		{"unknown length", body, -1, 3000},
		{"length too small", body, 10, 3000},
		{"length too large", body, 5000, 3000},
		{"empty", "", 0, 0},
		{"over the cap", strings.Repeat("y", maxResponseBytes+500), -1, maxResponseBytes + 1},
	} {
		res := &http.Response{Body: io.NopCloser(strings.NewReader(tc.body)), ContentLength: tc.length}
		got, err := readBody(res)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(got) != tc.want || string(got) != tc.body[:tc.want] {
			t.Errorf("%s: read %d bytes, want the first %d", tc.name, len(got), tc.want)
		}
	}
}

// TestProxyDecidedOnce: a loopback host never goes through a proxy, and the
// decision is a fixed function (or nil), not a per-request environment
// lookup.
func TestProxyDecidedOnce(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"https://127.0.0.1:8443", "http://localhost:1"} {
		p, err := proxyFor(base)
		if err != nil || p != nil {
			t.Errorf("proxyFor(%q): proxy set %v, err %v; want no proxy for loopback", base, p != nil, err)
		}
	}
	if _, err := proxyFor("://bad"); err == nil {
		t.Error("proxyFor accepted an unparsable URL")
	}
}

// TestParamsSort covers both paths of params.sort against the standard
// library: short lists (insertion sort, the per-request path) and long ones,
// such as a hostile answer's 50,000 fields carrying a sign, which must not
// take quadratic time.
func TestParamsSort(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 2, 17, 32, 33, 50_000} {
		p := make(params, n)
		for i := range p {
			p[i] = param{k: "f" + strconv.Itoa((i*7919)%max(n, 1)) + "x", v: strconv.Itoa(i)}
		}
		want := slices.Clone(p)
		sort.SliceStable(want, func(i, j int) bool { return want[i].k < want[j].k })
		p.sort()
		for i := range p {
			if p[i].k != want[i].k {
				t.Fatalf("n=%d: position %d holds %q, want %q", n, i, p[i].k, want[i].k)
			}
		}
	}
}
