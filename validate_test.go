package redpack

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/redpack-go/redpack/internal/testcert"
)

// vecKey is the API key of every SPEC §4 vector; it is also a valid API v2
// key for a Client.
const vecKey = "192006250b4c09247ec02edce69f6a2d"

// closedURL is a loopback port nothing listens on: a request that passes
// validation fails to dial, so a *NotSentError proves that validation passed
// and that nothing left the process.
const closedURL = "https://127.0.0.1:1"

// offlineCert is one merchant certificate for every offline client, valid
// from 2000 to 2100 so that any fixed test clock passes the validity check.
var offlineCert = sync.OnceValues(func() (*testcert.Leaf, error) {
	ca, err := testcert.NewCA("redpack offline tests")
	if err != nil {
		return nil, err
	}
	return ca.Merchant("offline", testcert.MerchantOptions{
		NotBefore: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:  time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
	})
})

var offlineMchSeq atomic.Int64

// uniqueMchID returns a 10-digit mch_id no other test uses, so that the
// process-wide bill-number clock of (mch_id, node) is this test's alone.
func uniqueMchID() string {
	return "8642" + leftPad(strconv.FormatInt(offlineMchSeq.Add(1), 10), 6)
}

func leftPad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return strings.Repeat("0", n-len(s)) + s
}

// offlineClient builds a Client for mchID and appID pointed at closedURL,
// with a single attempt per call. opts are applied after those defaults.
func offlineClient(tb testing.TB, mchID, appID string, opts ...Option) *Client {
	tb.Helper()
	leaf, err := offlineCert()
	if err != nil {
		tb.Fatalf("certificate: %v", err)
	}
	all := append([]Option{WithRetryPolicy(RetryPolicy{MaxAttempts: 1}), WithTimeout(5 * time.Second)}, opts...)
	c, err := NewClient(Config{
		MchID:   mchID,
		AppID:   appID,
		APIKey:  vecKey,
		CertPEM: leaf.CertPEM,
		KeyPEM:  leaf.KeyPEM,
		BaseURL: closedURL,
	}, all...)
	if err != nil {
		tb.Fatalf("NewClient: %v", err)
	}
	tb.Cleanup(c.CloseIdleConnections)
	return c
}

const (
	okOpenID = "oxTWIuGaIt6gTKsQRLau2M0yL16E"
	okAppID  = "wx8888888888888888"
)

func validSendRequest() SendRequest {
	return SendRequest{Packet: Packet{
		BillNo:   "1900000109202611280012345678",
		OpenID:   okOpenID,
		Amount:   100,
		SendName: "腾讯",
		Wishing:  "恭喜发财",
		ActName:  "新年红包",
		Remark:   "新年红包",
	}}
}

// fieldNames returns the distinct wire names of a *ValidationError, sorted.
func fieldNames(ve *ValidationError) []string {
	var names []string
	for _, f := range ve.Fields {
		names = append(names, f.Field)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// checkValidation asserts that err is a *ValidationError of op for billNo
// naming exactly want, or, when want is empty, that validation passed.
func checkValidation(t *testing.T, op string, err error, want []string, billNo string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("valid request refused: %v", err)
		}
		return
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %T %v, want *ValidationError naming %v", err, err, want)
	}
	if !errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrNotSent) || errors.Is(err, ErrOutcomeUnknown) {
		t.Error("a validation error must match ErrInvalidRequest only")
	}
	if ve.Has("mch_billno") {
		billNo = "" // an invalid bill number is never carried
	}
	if ve.Op != op || ve.BillNo != billNo {
		t.Errorf("ValidationError Op, BillNo = %q, %q; want %q, %q", ve.Op, ve.BillNo, op, billNo)
	}
	if diff := cmp.Diff(want, fieldNames(ve)); diff != "" {
		t.Errorf("invalid fields (-want +got):\n%s\nerror: %v", diff, err)
	}
	if got := OutcomeOf(err); got != OutcomeRejected {
		t.Errorf("Outcome = %v, want REJECTED", got)
	}
	if !strings.HasPrefix(err.Error(), "redpack: "+op) || !strings.Contains(err.Error(), "invalid request") {
		t.Errorf("Error() = %q, want the op and \"invalid request\"", err)
	}
}

func TestValidateSend(t *testing.T) {
	t.Parallel()
	zh10 := strings.Repeat("红", 10) // 30 bytes
	zh11 := strings.Repeat("红", 11) // 33 bytes
	tests := []struct {
		name string
		opts []Option
		edit func(*SendRequest)
		want []string // nil: valid
	}{
		{name: "valid minimal", edit: func(r *SendRequest) {}},
		{name: "valid with everything", edit: func(r *SendRequest) {
			r.BillNo = "1900000109202611270000000001"
			r.ClientIP = "10.1.2.3"
			r.SceneID = SceneLottery
			r.Amount = 30000
			r.RiskInfo = RiskInfo{PostTime: time.Unix(1700000000, 0), ClientVersion: "1.2.3", Mobile: "86-13800138000", DeviceID: "IOS"}
			r.ConsumeMchID = "10000097"
		}},
		{name: "send_name 10 Chinese characters (30 bytes)", edit: func(r *SendRequest) { r.SendName = zh10 }},
		{name: "send_name 11 Chinese characters (33 bytes)", edit: func(r *SendRequest) { r.SendName = zh11 }, want: []string{"send_name"}},
		{name: "send_name 32 ASCII bytes", edit: func(r *SendRequest) { r.SendName = strings.Repeat("a", 32) }},
		{name: "send_name 33 ASCII bytes", edit: func(r *SendRequest) { r.SendName = strings.Repeat("a", 33) }, want: []string{"send_name"}},
		{name: "send_name missing", edit: func(r *SendRequest) { r.SendName = "" }, want: []string{"send_name"}},
		{name: "act_name 11 Chinese characters", edit: func(r *SendRequest) { r.ActName = zh11 }, want: []string{"act_name"}},
		{name: "act_name 32 bytes", edit: func(r *SendRequest) { r.ActName = zh10 + "ab" }},
		{name: "act_name missing", edit: func(r *SendRequest) { r.ActName = "" }, want: []string{"act_name"}},
		{name: "wishing 128 bytes", edit: func(r *SendRequest) { r.Wishing = strings.Repeat("恭喜发财", 10) + strings.Repeat("x", 8) }},
		{name: "wishing 129 bytes", edit: func(r *SendRequest) { r.Wishing = strings.Repeat("恭喜发财", 10) + strings.Repeat("x", 9) }, want: []string{"wishing"}},
		{name: "wishing missing", edit: func(r *SendRequest) { r.Wishing = "" }, want: []string{"wishing"}},
		{name: "remark 256 bytes", edit: func(r *SendRequest) { r.Remark = strings.Repeat("b", 256) }},
		{name: "remark 257 bytes", edit: func(r *SendRequest) { r.Remark = strings.Repeat("b", 257) }, want: []string{"remark"}},
		{name: "remark missing", edit: func(r *SendRequest) { r.Remark = "" }, want: []string{"remark"}},

		{name: "leading space", edit: func(r *SendRequest) { r.SendName = " 腾讯" }, want: []string{"send_name"}},
		{name: "trailing space", edit: func(r *SendRequest) { r.Wishing = "恭喜发财 " }, want: []string{"wishing"}},
		{name: "trailing ideographic space", edit: func(r *SendRequest) { r.ActName = "新年红包\u3000" }, want: []string{"act_name"}},
		{name: "leading no-break space", edit: func(r *SendRequest) { r.Remark = "\u00a0新年" }, want: []string{"remark"}},
		{name: "inner space is fine", edit: func(r *SendRequest) { r.Remark = "新年 红包" }},
		{name: "newline", edit: func(r *SendRequest) { r.Wishing = "恭喜\n发财" }, want: []string{"wishing"}},
		{name: "tab", edit: func(r *SendRequest) { r.Remark = "a\tb" }, want: []string{"remark"}},
		{name: "NUL", edit: func(r *SendRequest) { r.SendName = "a\x00b" }, want: []string{"send_name"}},
		{name: "DEL", edit: func(r *SendRequest) { r.ActName = "a\x7fb" }, want: []string{"act_name"}},
		{name: "C1 control NEL", edit: func(r *SendRequest) { r.Remark = "a\u0085b" }, want: []string{"remark"}},
		{name: "noncharacter U+FFFF cannot be carried by XML", edit: func(r *SendRequest) { r.Wishing = "a\uffffb" }, want: []string{"wishing"}},
		{name: "noncharacter U+FFFE cannot be carried by XML", edit: func(r *SendRequest) { r.Remark = "\ufffeb" }, want: []string{"remark"}},
		{name: "invalid UTF-8", edit: func(r *SendRequest) { r.SendName = "\xffab" }, want: []string{"send_name"}},
		{name: "truncated UTF-8", edit: func(r *SendRequest) { r.Wishing = "恭喜发财"[:11] }, want: []string{"wishing"}},
		{name: "CDATA terminator is fine", edit: func(r *SendRequest) { r.Remark = "a]]>b<&>" }},

		{name: "amount 99 without scene", edit: func(r *SendRequest) { r.Amount = 99 }, want: []string{"total_amount"}},
		{name: "amount 100 without scene", edit: func(r *SendRequest) { r.Amount = 100 }},
		{name: "amount 20000 without scene", edit: func(r *SendRequest) { r.Amount = 20000 }},
		{name: "amount 20001 without scene", edit: func(r *SendRequest) { r.Amount = 20001 }, want: []string{"total_amount"}},
		{name: "amount 0", edit: func(r *SendRequest) { r.Amount = 0 }, want: []string{"total_amount"}},
		{name: "amount negative", edit: func(r *SendRequest) { r.Amount = -100 }, want: []string{"total_amount"}},
		{name: "amount 1 with scene", edit: func(r *SendRequest) { r.Amount, r.SceneID = 1, SceneProductPromotion }},
		{name: "amount 0 with scene", edit: func(r *SendRequest) { r.Amount, r.SceneID = 0, SceneProductPromotion }, want: []string{"total_amount"}},
		{name: "amount 499900 with scene", edit: func(r *SendRequest) { r.Amount, r.SceneID = 499900, SceneTaxReceipt }},
		{name: "amount 499901 with scene", edit: func(r *SendRequest) { r.Amount, r.SceneID = 499901, SceneTaxReceipt }, want: []string{"total_amount"}},
		{name: "guard allows its maximum", opts: []Option{WithMaxAmount(5000)}, edit: func(r *SendRequest) { r.Amount = 5000 }},
		{name: "guard refuses above its maximum", opts: []Option{WithMaxAmount(5000)}, edit: func(r *SendRequest) { r.Amount = 5001 }, want: []string{"total_amount"}},
		{name: "guard refuses with scene", opts: []Option{WithMaxAmount(20000)}, edit: func(r *SendRequest) { r.Amount, r.SceneID = 30000, SceneLottery }, want: []string{"total_amount"}},

		{name: "scene_id unknown", edit: func(r *SendRequest) { r.SceneID = "PRODUCT_9" }, want: []string{"scene_id"}},
		{name: "scene_id lowercase", edit: func(r *SendRequest) { r.SceneID = "product_1" }, want: []string{"scene_id"}},
		{name: "scene_id zero", edit: func(r *SendRequest) { r.SceneID = "PRODUCT_0" }, want: []string{"scene_id"}},

		{name: "client_ip IPv6 loopback", edit: func(r *SendRequest) { r.ClientIP = "::1" }, want: []string{"client_ip"}},
		{name: "client_ip three parts", edit: func(r *SendRequest) { r.ClientIP = "1.2.3" }, want: []string{"client_ip"}},
		{name: "client_ip leading zero", edit: func(r *SendRequest) { r.ClientIP = "01.2.3.4" }, want: []string{"client_ip"}},
		{name: "client_ip leading space", edit: func(r *SendRequest) { r.ClientIP = " 1.2.3.4" }, want: []string{"client_ip"}},
		{name: "client_ip trailing space", edit: func(r *SendRequest) { r.ClientIP = "1.2.3.4 " }, want: []string{"client_ip"}},
		{name: "client_ip octet too large", edit: func(r *SendRequest) { r.ClientIP = "256.1.1.1" }, want: []string{"client_ip"}},
		{name: "client_ip IPv4-mapped IPv6", edit: func(r *SendRequest) { r.ClientIP = "::ffff:1.2.3.4" }, want: []string{"client_ip"}},
		{name: "client_ip host name", edit: func(r *SendRequest) { r.ClientIP = "localhost" }, want: []string{"client_ip"}},
		{name: "client_ip CIDR", edit: func(r *SendRequest) { r.ClientIP = "1.2.3.4/24" }, want: []string{"client_ip"}},
		{name: "client_ip broadcast", edit: func(r *SendRequest) { r.ClientIP = "255.255.255.255" }},
		{name: "client_ip from WithClientIP", opts: []Option{WithClientIP("192.168.0.1")}, edit: func(r *SendRequest) { r.ClientIP = "" }},

		{name: "mch_billno 28 characters", edit: func(r *SendRequest) { r.BillNo = "AbC" + strings.Repeat("9", 25) }},
		{name: "mch_billno 29 characters", edit: func(r *SendRequest) { r.BillNo = strings.Repeat("9", 29) }, want: []string{"mch_billno"}},
		{name: "mch_billno dash", edit: func(r *SendRequest) { r.BillNo = "1900-0001" }, want: []string{"mch_billno"}},
		{name: "mch_billno non-ASCII", edit: func(r *SendRequest) { r.BillNo = "单号1" }, want: []string{"mch_billno"}},

		{name: "re_openid missing", edit: func(r *SendRequest) { r.OpenID = "" }, want: []string{"re_openid"}},
		{name: "re_openid 33 characters", edit: func(r *SendRequest) { r.OpenID = strings.Repeat("o", 33) }, want: []string{"re_openid"}},
		{name: "re_openid plus sign", edit: func(r *SendRequest) { r.OpenID = "oxTWIuGa+t6gTKsQ" }, want: []string{"re_openid"}},
		{name: "re_openid trailing space", edit: func(r *SendRequest) { r.OpenID = okOpenID + " " }, want: []string{"re_openid"}},
		{name: "re_openid dash and underscore", edit: func(r *SendRequest) { r.OpenID = "oTkpCvp_3hrnqUWL-eflHWBTrfUY" }},

		{name: "consume_mch_id letters", edit: func(r *SendRequest) { r.ConsumeMchID = "1000009a" }, want: []string{"consume_mch_id"}},
		{name: "consume_mch_id 33 digits", edit: func(r *SendRequest) { r.ConsumeMchID = strings.Repeat("1", 33) }, want: []string{"consume_mch_id"}},

		{name: "risk_info mobile with plus", edit: func(r *SendRequest) { r.RiskInfo.Mobile = "+86-13800138000" }, want: []string{"risk_info"}},
		{name: "risk_info device id with space", edit: func(r *SendRequest) { r.RiskInfo.DeviceID = "my phone" }, want: []string{"risk_info"}},
		{name: "risk_info non-ASCII version", edit: func(r *SendRequest) { r.RiskInfo.ClientVersion = "版本1" }, want: []string{"risk_info"}},
		{name: "risk_info too long once encoded", edit: func(r *SendRequest) { r.RiskInfo.DeviceID = strings.Repeat("A", 120) }, want: []string{"risk_info"}},
		{name: "risk_info 128 bytes once encoded", edit: func(r *SendRequest) { r.RiskInfo.DeviceID = strings.Repeat("A", 128-len("deviceid%3D")) }},
		{name: "risk_info MAC address", edit: func(r *SendRequest) { r.RiskInfo.DeviceID = "00:1A:2B:3C:4D:5E" }},

		{name: "five bad fields at once", edit: func(r *SendRequest) {
			r.SendName = ""
			r.Wishing = strings.Repeat("w", 129)
			r.ActName = " 新年"
			r.ClientIP = "1.2.3"
			r.Amount = 0
		}, want: []string{"act_name", "client_ip", "send_name", "total_amount", "wishing"}},
		{name: "every field bad", edit: func(r *SendRequest) {
			*r = SendRequest{
				Packet: Packet{BillNo: "bad-bill", OpenID: "", Amount: -1, SendName: "\x00", Wishing: "", ActName: strings.Repeat("x", 40),
					Remark: "r\n", SceneID: "PRODUCT_X"},
				ClientIP: "::1", ConsumeMchID: "x",
				RiskInfo: RiskInfo{Mobile: "abc"},
			}
		}, want: []string{"act_name", "client_ip", "consume_mch_id", "mch_billno", "re_openid", "remark", "risk_info",
			"scene_id", "send_name", "total_amount", "wishing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := offlineClient(t, uniqueMchID(), okAppID, tt.opts...)
			req := validSendRequest()
			tt.edit(&req)
			_, err := c.prepareSend(&req)
			checkValidation(t, opSend, err, tt.want, req.BillNo)
		})
	}
}

// TestValidationErrorQuotesNoValue checks that a value (which could be a
// secret pasted in the wrong field) never appears in the message.
func TestValidationErrorQuotesNoValue(t *testing.T) {
	t.Parallel()
	c := offlineClient(t, uniqueMchID(), okAppID)
	const marker = "SECRETMARKER9f3a"
	req := validSendRequest()
	req.SendName = marker + " "
	req.Remark = marker + strings.Repeat("x", 300)
	req.OpenID = marker + "+"
	_, err := c.prepareSend(&req)
	checkValidation(t, opSend, err, []string{"re_openid", "remark", "send_name"}, req.BillNo)
	if strings.Contains(err.Error(), marker) {
		t.Errorf("Error() quotes a value: %q", err)
	}
}

func TestValidateQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		billNo string
		want   []string
	}{
		{billNo: "1900000109201801230000000001"},
		{billNo: "a"},
		{billNo: "", want: []string{"mch_billno"}},
		{billNo: strings.Repeat("1", 29), want: []string{"mch_billno"}},
		{billNo: "1900000109-2018", want: []string{"mch_billno"}},
		{billNo: " 1900000109", want: []string{"mch_billno"}},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.billNo), func(t *testing.T) {
			t.Parallel()
			c := offlineClient(t, uniqueMchID(), okAppID)
			_, err := c.prepareQuery(tt.billNo)
			checkValidation(t, opQuery, err, tt.want, tt.billNo)
		})
	}
}

func TestWithClientIPValidates(t *testing.T) {
	t.Parallel()
	for _, ip := range []string{"::1", "1.2.3", "01.2.3.4", " 1.2.3.4", ""} {
		var o options
		err := WithClientIP(ip)(&o)
		var ve *ValidationError
		if !errors.As(err, &ve) || !ve.Has("client_ip") {
			t.Errorf("WithClientIP(%q) = %v, want a *ValidationError naming client_ip", ip, err)
		}
	}
	var o options
	if err := WithClientIP("203.0.113.7")(&o); err != nil || o.clientIP != "203.0.113.7" {
		t.Errorf("WithClientIP(valid) = %v, clientIP %q", err, o.clientIP)
	}
}
