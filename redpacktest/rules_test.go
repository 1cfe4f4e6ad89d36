package redpacktest

import (
	"bytes"
	"context"
	"crypto/tls"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redpack-go/redpack"
)

// TestRequestRejections sends raw signed requests that break one rule each
// and checks the answer shape and that nothing reached the ledger.
func TestRequestRejections(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithFreqLimit(0))
	hc := merchantClient(t, s)
	key := s.APIKey()

	type tc struct {
		name       string
		op         Endpoint
		body       func(billNo string) []byte
		returnCode string
		errCode    string
		desHas     string
	}
	withSend := func(mut func(map[string]string)) func(string) []byte {
		return func(no string) []byte {
			f := sendFields(s, no)
			mut(f)
			return signed(f, key)
		}
	}
	withGroup := func(mut func(map[string]string)) func(string) []byte {
		return func(no string) []byte {
			f := groupFields(s, no)
			mut(f)
			return signed(f, key)
		}
	}
	withMini := func(mut func(map[string]string)) func(string) []byte {
		return func(no string) []byte {
			f := miniFields(s, no)
			mut(f)
			return signed(f, key)
		}
	}
	cases := []tc{
		{"wrong key", EndpointSend, func(no string) []byte { return signed(sendFields(s, no), strings.Repeat("x", 32)) }, "FAIL", "SIGN_ERROR", ""},
		{"missing sign", EndpointSend, func(no string) []byte { return encodeFields(sendFields(s, no)) }, "FAIL", "SIGN_ERROR", ""},
		{"value changed after signing", EndpointSend, func(no string) []byte {
			return bytes.Replace(signed(sendFields(s, no), key), []byte("恭喜发财"), []byte("恭喜发财 "), 1)
		}, "FAIL", "SIGN_ERROR", ""},
		{"sign_type signed", EndpointSend, withSend(func(f map[string]string) { f["sign_type"] = "MD5" }), "FAIL", "SIGN_ERROR", ""},
		{"undocumented appid on sendredpack", EndpointSend, withSend(func(f map[string]string) { f["appid"] = s.AppID() }), "FAIL", "SIGN_ERROR", ""},
		{"client_ip on group", EndpointSendGroup, withGroup(func(f map[string]string) { f["client_ip"] = "127.0.0.1" }), "FAIL", "SIGN_ERROR", ""},
		{"client_ip on mini", EndpointSendMiniProgram, withMini(func(f map[string]string) { f["client_ip"] = "127.0.0.1" }), "FAIL", "SIGN_ERROR", ""},
		{"risk_info on mini", EndpointSendMiniProgram, withMini(func(f map[string]string) { f["risk_info"] = "posttime%3d1" }), "FAIL", "SIGN_ERROR", ""},
		{"sub_mch_id on gethbinfo", EndpointQuery, func(no string) []byte {
			f := queryFields(s, no)
			f["sub_mch_id"] = "1"
			return signed(f, key)
		}, "FAIL", "SIGN_ERROR", ""},
		{"malformed xml", EndpointSend, func(string) []byte { return []byte("<xml><mch_id>1</xml>") }, "FAIL", "XML_ERROR", ""},
		{"empty body", EndpointSend, func(string) []byte { return nil }, "FAIL", "XML_ERROR", ""},
		{"nested element", EndpointSend, func(string) []byte { return []byte("<xml><a><b>1</b></a></xml>") }, "FAIL", "XML_ERROR", ""},
		{"field twice", EndpointSend, func(string) []byte { return []byte("<xml><mch_id>1</mch_id><mch_id>1</mch_id></xml>") }, "FAIL", "XML_ERROR", ""},
		{"GBK declared", EndpointSend, func(no string) []byte {
			return append([]byte(`<?xml version="1.0" encoding="GBK"?>`), signed(sendFields(s, no), key)...)
		}, "FAIL", "XML_ERROR", ""},
		{"oversized body", EndpointSend, func(string) []byte { return []byte("<xml><remark>" + strings.Repeat("a", maxBody) + "</remark></xml>") }, "FAIL", "XML_ERROR", ""},
		{"unknown mch_id", EndpointSend, withSend(func(f map[string]string) { f["mch_id"] = "1900000999" }), "SUCCESS", "PARAM_ERROR", "mch_id"},
		{"wxappid not the merchant's", EndpointSend, withSend(func(f map[string]string) { f["wxappid"] = "wx0000000000000000" }), "SUCCESS", "PARAM_ERROR", "wxappid不匹配"},
		{"mini appid on sendredpack", EndpointSend, withSend(func(f map[string]string) { f["wxappid"] = s.MiniAppID() }), "SUCCESS", "PARAM_ERROR", "wxappid不匹配"},
		{"OA appid on mini", EndpointSendMiniProgram, withMini(func(f map[string]string) { f["wxappid"] = s.AppID() }), "SUCCESS", "PARAM_ERROR", "wxappid不匹配"},
		{"missing send_name", EndpointSend, withSend(func(f map[string]string) { delete(f, "send_name") }), "SUCCESS", "PARAM_ERROR", "send_name"},
		{"missing remark", EndpointSend, withSend(func(f map[string]string) { delete(f, "remark") }), "SUCCESS", "PARAM_ERROR", "remark"},
		{"send_name 33 bytes", EndpointSend, withSend(func(f map[string]string) { f["send_name"] = strings.Repeat("红", 11) }), "SUCCESS", "PARAM_ERROR", "send_name"},
		{"act_name 33 bytes", EndpointSend, withSend(func(f map[string]string) { f["act_name"] = strings.Repeat("a", 33) }), "SUCCESS", "PARAM_ERROR", "act_name"},
		{"wishing 129 bytes", EndpointSend, withSend(func(f map[string]string) { f["wishing"] = strings.Repeat("a", 129) }), "SUCCESS", "PARAM_ERROR", "wishing"},
		{"remark 257 bytes", EndpointSend, withSend(func(f map[string]string) { f["remark"] = strings.Repeat("a", 257) }), "SUCCESS", "PARAM_ERROR", "remark"},
		{"nonce_str 33", EndpointSend, withSend(func(f map[string]string) { f["nonce_str"] = strings.Repeat("n", 33) }), "SUCCESS", "PARAM_ERROR", "nonce_str"},
		{"re_openid 33", EndpointSend, withSend(func(f map[string]string) { f["re_openid"] = strings.Repeat("o", 33) }), "SUCCESS", "PARAM_ERROR", "re_openid"},
		{"client_ip missing", EndpointSend, withSend(func(f map[string]string) { delete(f, "client_ip") }), "SUCCESS", "PARAM_ERROR", "client_ip"},
		{"client_ip IPv6", EndpointSend, withSend(func(f map[string]string) { f["client_ip"] = "::1" }), "SUCCESS", "PARAM_ERROR", "client_ip"},
		{"client_ip not an IP", EndpointSend, withSend(func(f map[string]string) { f["client_ip"] = "1.2.3" }), "SUCCESS", "PARAM_ERROR", "client_ip"},
		{"total_num 2", EndpointSend, withSend(func(f map[string]string) { f["total_num"] = "2" }), "SUCCESS", "PARAM_ERROR", "total_num必须为1"},
		{"mini total_num 2", EndpointSendMiniProgram, withMini(func(f map[string]string) { f["total_num"] = "2" }), "SUCCESS", "PARAM_ERROR", "total_num必须为1"},
		{"total_amount not integer", EndpointSend, withSend(func(f map[string]string) { f["total_amount"] = "1.00" }), "SUCCESS", "PARAM_ERROR", "total_amount"},
		{"scene_id unknown", EndpointSend, withSend(func(f map[string]string) { f["scene_id"] = "PRODUCT_9" }), "SUCCESS", "PARAM_ERROR", "scene_id"},
		{"mini without notify_way", EndpointSendMiniProgram, withMini(func(f map[string]string) { delete(f, "notify_way") }), "SUCCESS", "PARAM_ERROR", "notify_way"},
		{"mini notify_way wrong", EndpointSendMiniProgram, withMini(func(f map[string]string) { f["notify_way"] = "JSAPI" }), "SUCCESS", "PARAM_ERROR", "notify_way"},
		{"group amt_type", EndpointSendGroup, withGroup(func(f map[string]string) { f["amt_type"] = "ALL_SAME" }), "SUCCESS", "PARAM_ERROR", "amt_type"},
		{"group total_num 2", EndpointSendGroup, withGroup(func(f map[string]string) { f["total_num"] = "2" }), "SUCCESS", "PARAM_ERROR", "total_num"},
		{"sub_mch_id", EndpointSend, withSend(func(f map[string]string) { f["sub_mch_id"] = "1900000110" }), "SUCCESS", "ACCEPTMODE_ERROR", ""},
		{"msgappid not bound", EndpointSend, withSend(func(f map[string]string) { f["msgappid"] = "wx0000000000000000" }), "SUCCESS", "MSGAPPID_ERROR", ""},
	}
	billNos := map[string]bool{}
	for i, c := range cases {
		no := "REJ" + strings.Repeat("0", 6) + string(rune('A'+i/26)) + string(rune('a'+i%26))
		billNos[no] = true
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := post(t, hc, s, c.op, c.body(no))
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			assert.Equal(t, c.returnCode, r.fields["return_code"], "%s", r.body)
			assert.Equal(t, "FAIL", r.fields["result_code"])
			assert.Equal(t, c.errCode, r.fields["err_code"], "%s", r.fields["err_code_des"])
			assert.Contains(t, r.fields["err_code_des"], c.desHas)
			assert.NotContains(t, string(r.body), s.APIKey())
			assert.NotContains(t, r.fields, "sign")
			assert.NotContains(t, r.fields, "send_listid")
			if c.returnCode == "SUCCESS" {
				// Business failures echo the request.
				assert.Equal(t, no, r.fields["mch_billno"])
			}
			_, inLedger := s.Packet(no)
			assert.False(t, inLedger, "a rejected request must leave no bill")
			q := post(t, hc, s, EndpointQuery, signed(queryFields(s, no), key))
			assert.Equal(t, "NOT_FOUND", q.fields["err_code"], "rejected bill numbers are unknown to gethbinfo")
		})
	}
	t.Cleanup(func() {
		assert.Empty(t, s.Packets())
		assert.Equal(t, int64(DefaultBalance), s.Balance())
	})
}

func TestSignatureCaseAndOrderIrrelevant(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	hc := merchantClient(t, s)
	f := sendFields(s, "ORDER0001")
	f["sign"] = strings.ToLower(signFields(f, s.APIKey()))
	// Reverse element order and plain text instead of CDATA.
	keys := sortedKeys(f)
	var b strings.Builder
	b.WriteString("<xml>\n")
	for i := len(keys) - 1; i >= 0; i-- {
		b.WriteString("<" + keys[i] + ">" + f[keys[i]] + "</" + keys[i] + ">\n")
	}
	b.WriteString("</xml>")
	r := post(t, hc, s, EndpointSend, []byte(b.String()))
	assert.Equal(t, "SUCCESS", r.code(), "%s", r.body)
}

func TestPathsAndMethods(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	hc := merchantClient(t, s)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, pathPrefix + string(EndpointSend), http.StatusMethodNotAllowed},
		{http.MethodPut, pathPrefix + string(EndpointQuery), http.StatusMethodNotAllowed},
		{http.MethodPost, pathPrefix + "transfers", http.StatusNotFound},
		{http.MethodPost, "/pay/unifiedorder", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusNotFound},
	} {
		req, err := http.NewRequest(tc.method, s.URL()+tc.path, strings.NewReader("<xml></xml>"))
		require.NoError(t, err)
		res, err := hc.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, tc.want, res.StatusCode, "%s %s", tc.method, tc.path)
	}
	reqs := s.Requests()
	require.Len(t, reqs, 5)
	assert.Equal(t, "HTTP 405", reqs[0].Answer)
	assert.Equal(t, "HTTP 404", reqs[2].Answer)
}

func TestClientCertificate(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	body := signed(sendFields(s, "CERT0001"), s.APIKey())

	t.Run("none", func(t *testing.T) {
		t.Parallel()
		hc := rawClient(t, s, nil)
		_, err := hc.Post(s.URL()+pathPrefix+string(EndpointSend), "text/xml", bytes.NewReader(body))
		require.Error(t, err, "the handshake must fail without a client certificate")
	})
	t.Run("other CA", func(t *testing.T) {
		t.Parallel()
		other := newTestServer(t)
		c := other.MerchantTLSCertificate()
		hc := rawClient(t, s, &c)
		_, err := hc.Post(s.URL()+pathPrefix+string(EndpointSend), "text/xml", bytes.NewReader(body))
		require.Error(t, err)
	})
	t.Run("client without certificate", func(t *testing.T) {
		t.Parallel()
		cfg := s.Config()
		cfg.PKCS12 = nil
		cfg.CertPEM, cfg.KeyPEM = nil, nil
		_, err := redpack.NewClient(cfg)
		require.ErrorIs(t, err, redpack.ErrCertificate)
	})
	t.Run("CN is not the mch_id", func(t *testing.T) {
		t.Parallel()
		certPEM, keyPEM, err := s.IssueClientCert("1900000999")
		require.NoError(t, err)
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		require.NoError(t, err)
		r := post(t, rawClient(t, s, &c), s, EndpointSend, body)
		assert.Equal(t, "CA_ERROR", r.fields["err_code"])
		assert.Equal(t, "FAIL", r.fields["return_code"])
		_, ok := s.Packet("CERT0001")
		assert.False(t, ok)
	})
	t.Run("PEM pair works", func(t *testing.T) {
		t.Parallel()
		cfg := s.Config()
		cfg.PKCS12 = nil
		cfg.CertPEM, cfg.KeyPEM = s.MerchantCertPEM(), s.MerchantKeyPEM()
		c, err := redpack.NewClient(cfg, redpack.WithRetryPolicy(FastRetryPolicy()))
		require.NoError(t, err)
		defer c.CloseIdleConnections()
		_, err = c.Send(context.Background(), sendReq("CERTPEM01", "oPem", 100))
		require.NoError(t, err)
	})
}

func TestMoneyLimit(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithFreqLimit(0), WithUserDailyLimits(10, 1_000_000))
	hc := merchantClient(t, s)
	for i, tc := range []struct {
		op     Endpoint
		amount string
		num    string
		scene  string
		want   string
	}{
		{EndpointSend, "99", "1", "", "MONEY_LIMIT"},
		{EndpointSend, "100", "1", "", "SUCCESS"},
		{EndpointSend, "20000", "1", "", "SUCCESS"},
		{EndpointSend, "20001", "1", "", "MONEY_LIMIT"},
		{EndpointSend, "1", "1", "PRODUCT_1", "SUCCESS"},
		{EndpointSend, "0", "1", "PRODUCT_1", "MONEY_LIMIT"},
		{EndpointSend, "499900", "1", "PRODUCT_4", "SUCCESS"},
		{EndpointSend, "499901", "1", "PRODUCT_4", "MONEY_LIMIT"},
		{EndpointSendMiniProgram, "99", "1", "", "MONEY_LIMIT"},
		{EndpointSendMiniProgram, "20000", "1", "", "SUCCESS"},
		{EndpointSendGroup, "299", "3", "", "MONEY_LIMIT"},
		{EndpointSendGroup, "300", "3", "", "SUCCESS"},
		{EndpointSendGroup, "60000", "3", "", "SUCCESS"},
		{EndpointSendGroup, "60001", "3", "", "MONEY_LIMIT"},
	} {
		no := "MONEY" + string(rune('A'+i))
		var f map[string]string
		switch tc.op {
		case EndpointSend:
			f = sendFields(s, no)
		case EndpointSendMiniProgram:
			f = miniFields(s, no)
		default:
			f = groupFields(s, no)
		}
		f["re_openid"] = "oMoney" + string(rune('A'+i))
		f["total_amount"], f["total_num"] = tc.amount, tc.num
		if tc.scene != "" {
			f["scene_id"] = tc.scene
		}
		r := post(t, hc, s, tc.op, signed(f, s.APIKey()))
		assert.Equal(t, tc.want, r.code(), "%s %s/%s %s: %s", tc.op, tc.amount, tc.num, tc.scene, r.fields["err_code_des"])
		p, ok := s.Packet(no)
		require.True(t, ok, "processed bills are in the ledger")
		if tc.want == "SUCCESS" {
			assert.Equal(t, redpack.StatusSent, p.Status)
			continue
		}
		assert.Equal(t, redpack.StatusFailed, p.Status)
		assert.Equal(t, "MONEY_LIMIT", p.Reason)
		// The bill number is dead.
		r = post(t, hc, s, tc.op, signed(f, s.APIKey()))
		assert.Equal(t, "SEND_FAILED", r.code())
		q := post(t, hc, s, EndpointQuery, signed(queryFields(s, no), s.APIKey()))
		assert.Equal(t, "FAILED", q.fields["status"])
		assert.NotEmpty(t, q.fields["reason"])
	}
}

func TestDailyLimits(t *testing.T) {
	t.Parallel()
	type step struct {
		openID string
		amount int64
		want   *error // nil = success
	}
	errp := func(e error) *error { return &e }
	for _, tc := range []struct {
		name  string
		opts  []Option
		steps []step
	}{
		{"SENDNUM_LIMIT", []Option{WithUserDailyLimits(2, 1_000_000)}, []step{
			{"oA", 100, nil}, {"oA", 100, nil}, {"oA", 100, errp(redpack.ErrSendNumLimit)}, {"oB", 100, nil},
		}},
		{"RCVDAMOUNT_LIMIT", []Option{WithUserDailyLimits(10, 25000)}, []step{
			{"oA", 20000, nil}, {"oA", 5001, errp(redpack.ErrRcvdAmountLimit)}, {"oA", 5000, nil}, {"oB", 20000, nil},
		}},
		{"SENDAMOUNT_LIMIT", []Option{WithMerchantDailyLimit(30000)}, []step{
			{"oA", 20000, nil}, {"oB", 10001, errp(redpack.ErrSendAmountLimit)}, {"oC", 10000, nil}, {"oD", 100, errp(redpack.ErrSendAmountLimit)},
		}},
		{"NOTENOUGH", []Option{WithBalance(15000)}, []step{
			{"oA", 10000, nil}, {"oB", 5001, errp(redpack.ErrNotEnough)}, {"oB", 5000, nil}, {"oC", 100, errp(redpack.ErrNotEnough)},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newFakeClock()
			s := newTestServer(t, append(tc.opts, WithServerClock(clk.Now))...)
			c := newTestClient(t, s)
			ctx := context.Background()
			var paid int64
			for i, st := range tc.steps {
				no := newBillNo(t, c)
				_, err := c.Send(ctx, sendReq(no, st.openID, st.amount))
				if st.want == nil {
					require.NoError(t, err, "step %d", i)
					paid += st.amount
					continue
				}
				require.ErrorIs(t, err, *st.want, "step %d", i)
				assert.Equal(t, "FINAL", outcomeOf(err))
				// Finally failed: SEND_FAILED afterwards, FAILED on query.
				_, err = c.Send(ctx, sendReq(no, st.openID, st.amount))
				assert.ErrorIs(t, err, redpack.ErrSendFailed)
				rec, err := c.Query(ctx, no)
				require.NoError(t, err)
				assert.Equal(t, redpack.StatusFailed, rec.Status)
			}
			assert.Equal(t, paid, s.TotalPaid())
			if tc.name != "NOTENOUGH" {
				// A new CST day resets the daily windows.
				clk.Advance(24 * time.Hour)
				last := tc.steps[len(tc.steps)-1]
				_, err := c.Send(ctx, sendReq(newBillNo(t, c), last.openID, last.amount))
				require.NoError(t, err)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	s := newTestServer(t, WithFreqLimit(3), WithServerClock(clk.Now))
	hc := merchantClient(t, s)
	var codes []string
	for i := range 5 {
		no := "RATE" + string(rune('A'+i))
		f := sendFields(s, no)
		f["re_openid"] = "oRate" + string(rune('A'+i))
		codes = append(codes, post(t, hc, s, EndpointSend, signed(f, s.APIKey())).code())
	}
	assert.Equal(t, []string{"SUCCESS", "SUCCESS", "SUCCESS", "FREQ_LIMIT", "FREQ_LIMIT"}, codes)
	_, ok := s.Packet("RATED")
	assert.False(t, ok, "a FREQ_LIMIT answer processes nothing")
	// Queries have their own window.
	assert.Equal(t, "SUCCESS", post(t, hc, s, EndpointQuery, signed(queryFields(s, "RATEA"), s.APIKey())).code())
	clk.Advance(1001 * time.Millisecond)
	f := sendFields(s, "RATED")
	f["re_openid"] = "oRateD"
	assert.Equal(t, "SUCCESS", post(t, hc, s, EndpointSend, signed(f, s.APIKey())).code(), "the window slides")

	// Through the client: FREQ_LIMIT is unknown and retried.
	c := newTestClient(t, s, oneAttempt)
	for range 2 {
		_, _ = c.Send(context.Background(), sendReq(newBillNo(t, c), "oX", 100))
	}
	_, err := c.Send(context.Background(), sendReq(newBillNo(t, c), "oY", 100))
	require.ErrorIs(t, err, redpack.ErrFreqLimit)
	assert.Equal(t, "UNKNOWN", outcomeOf(err))
}

func TestReentrancy(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	c := newTestClient(t, s)
	ctx := context.Background()
	no := newBillNo(t, c)
	first, err := c.Send(ctx, sendReq(no, "oReent", 1234))
	require.NoError(t, err)
	again, err := c.Send(ctx, sendReq(no, "oReent", 1234))
	require.NoError(t, err, "same bill number and parameters: the original answer again")
	assert.Equal(t, first.SendListID, again.SendListID)
	assert.Equal(t, int64(1234), s.TotalPaid(), "paid once")
	assert.Len(t, s.Packets(), 1)

	for _, tc := range []struct {
		name string
		req  redpack.SendRequest
	}{
		{"other openid", sendReq(no, "oOther", 1234)},
		{"other amount", sendReq(no, "oReent", 1235)},
	} {
		_, err := c.Send(ctx, tc.req)
		require.ErrorIs(t, err, redpack.ErrConflict, tc.name)
		assert.Equal(t, "CONFLICT", outcomeOf(err), tc.name)
	}
	// Another endpoint under the same bill number is another parameter set.
	mc := s.NewMiniProgramClient(redpack.WithRetryPolicy(FastRetryPolicy()))
	defer mc.CloseIdleConnections()
	_, err = mc.SendMiniProgram(ctx, redpack.SendMiniProgramRequest{Packet: redpack.Packet{BillNo: no, OpenID: "oReent", Amount: 1234,
		SendName: "a", Wishing: "b", ActName: "c", Remark: "d"}})
	require.ErrorIs(t, err, redpack.ErrConflict)
	// Other fields differing is not FATAL_ERROR (current table): original answer.
	r := sendReq(no, "oReent", 1234)
	r.Wishing = "另一个祝福"
	res, err := c.Send(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, first.SendListID, res.SendListID)
	assert.Equal(t, int64(1234), s.TotalPaid())
	assert.Equal(t, int64(DefaultBalance-1234), s.Balance())
}

// TestReentrantAnswerByteIdentical: on every send endpoint a re-send under
// a paid bill number with the same openid and amount answers the original
// success byte for byte, whatever else of the request differs (nonce,
// wishing); another openid or amount is FATAL_ERROR and pays nothing.
func TestReentrantAnswerByteIdentical(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithFreqLimit(0))
	hc := merchantClient(t, s)
	key := s.APIKey()
	var paid int64
	for i, tc := range []struct {
		op     Endpoint
		fields func(*Server, string) map[string]string
	}{
		{EndpointSend, sendFields},
		{EndpointSendGroup, groupFields},
		{EndpointSendMiniProgram, miniFields},
	} {
		t.Run(string(tc.op), func(t *testing.T) {
			no := "REENT0" + string(rune('A'+i))
			f := tc.fields(s, no)
			f["re_openid"] = "oReent" + string(rune('A'+i))
			first := post(t, hc, s, tc.op, signed(f, key))
			require.Equal(t, "SUCCESS", first.code(), "%s", first.body)
			amount, err := strconv.ParseInt(f["total_amount"], 10, 64)
			require.NoError(t, err)
			paid += amount
			require.NotEmpty(t, first.fields["send_listid"])

			again := post(t, hc, s, tc.op, signed(f, key))
			assert.Equal(t, string(first.body), string(again.body), "the identical request")
			g := maps.Clone(f)
			g["nonce_str"], g["wishing"] = "otherNonce0001", "另一个祝福"
			again = post(t, hc, s, tc.op, signed(g, key))
			assert.Equal(t, string(first.body), string(again.body), "another nonce and wishing")

			for _, mut := range []func(map[string]string){
				func(m map[string]string) { m["re_openid"] = "oSomeoneElse" },
				func(m map[string]string) { m["total_amount"] = "10" + m["total_amount"] },
			} {
				h := maps.Clone(f)
				mut(h)
				r := post(t, hc, s, tc.op, signed(h, key))
				assert.Equal(t, "FATAL_ERROR", r.code(), "%s", r.body)
				assert.NotContains(t, r.fields, "send_listid")
				assert.Equal(t, h["re_openid"], r.fields["re_openid"], "FATAL_ERROR echoes the request, not the bill")
			}
			p, ok := s.Packet(no)
			require.True(t, ok)
			assert.Equal(t, f["re_openid"], p.OpenID, "the bill keeps its parameters")
			assert.Equal(t, first.fields["send_listid"], p.SendListID)
		})
	}
	assert.Equal(t, paid, s.TotalPaid(), "each bill paid once")

	// A bill accepted as PROCESSING answers PROCESSING until it settles,
	// then one success, the same at every re-send.
	mustInject(t, s, EndpointSend, Processing(), 1)
	f := sendFields(s, "REENTPROC")
	f["re_openid"] = "oReentProc"
	assert.Equal(t, "PROCESSING", post(t, hc, s, EndpointSend, signed(f, key)).code())
	assert.Equal(t, "PROCESSING", post(t, hc, s, EndpointSend, signed(f, key)).code())
	s.Settle()
	first := post(t, hc, s, EndpointSend, signed(f, key))
	require.Equal(t, "SUCCESS", first.code(), "%s", first.body)
	again := post(t, hc, s, EndpointSend, signed(f, key))
	assert.Equal(t, string(first.body), string(again.body))
	assert.Equal(t, paid+100, s.TotalPaid())
}

func TestNoSecretsInAnswers(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	hc := merchantClient(t, s)
	var bodies [][]byte
	for _, f := range []map[string]string{sendFields(s, "SECRET01"), groupFields(s, "SECRET02"), miniFields(s, "SECRET03"), queryFields(s, "SECRET01")} {
		body := signed(f, s.APIKey())
		op := EndpointSend
		switch {
		case f["amt_type"] != "":
			op = EndpointSendGroup
		case f["notify_way"] != "":
			op = EndpointSendMiniProgram
		case f["bill_type"] != "":
			op = EndpointQuery
		}
		if op != EndpointQuery {
			f["re_openid"] = "oSecret" + string(op)
			body = signed(f, s.APIKey())
		}
		r := post(t, hc, s, op, body)
		require.Equal(t, "SUCCESS", r.code(), "%s", r.body)
		bodies = append(bodies, r.body)
		bad := post(t, hc, s, op, bytes.Replace(body, []byte("<nonce_str>"), []byte("<x>1</x><nonce_str>"), 1))
		bodies = append(bodies, bad.body)
		sign := signFields(f, s.APIKey())
		for _, b := range bodies {
			assert.NotContains(t, string(b), s.APIKey())
			assert.NotContains(t, string(b), sign)
		}
	}
}
