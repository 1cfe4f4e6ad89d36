package redpacktest

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/redpack-go/redpack"
)

func TestQueryLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("unclaimed is refunded after 24h", func(t *testing.T) {
		t.Parallel()
		clk := newFakeClock()
		s := newTestServer(t, WithServerClock(clk.Now))
		c := newTestClient(t, s)
		no := newBillNo(t, c)
		req := sendReq(no, "oLife", 1500)
		res, err := c.Send(ctx, req)
		require.NoError(t, err)
		assert.True(t, res.SendTime.Equal(clk.Now()), "send_time is the server clock: %v", res.SendTime)
		assert.Regexp(t, `^[0-9]{28,32}$`, res.SendListID)

		for _, step := range []struct {
			advance time.Duration
			want    redpack.Status
		}{
			{0, redpack.StatusSent},
			{24*time.Hour - time.Second, redpack.StatusSent},
			{time.Second, redpack.StatusRefunding},
			{RefundDuration - time.Second, redpack.StatusRefunding},
			{time.Second, redpack.StatusRefunded},
		} {
			clk.Advance(step.advance)
			rec, err := c.Query(ctx, no)
			require.NoError(t, err)
			assert.Equal(t, step.want, rec.Status, "after +%v", step.advance)
		}
		rec, err := c.Query(ctx, no)
		require.NoError(t, err)
		want := &redpack.Record{
			BillNo: no, DetailID: res.SendListID, Status: redpack.StatusRefunded, SendType: "API",
			HBType: redpack.HBTypeNormal, TotalNum: 1, TotalAmount: 1500,
			SendTime:     res.SendTime,
			RefundTime:   res.SendTime.Add(RefundAfter + RefundDuration),
			RefundAmount: 1500, Wishing: req.Wishing, Remark: req.Remark, ActName: req.ActName,
		}
		if diff := cmp.Diff(want, rec, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Raw" }, cmp.Ignore())); diff != "" {
			t.Errorf("record (-want +got):\n%s", diff)
		}
		assert.Equal(t, int64(DefaultBalance), s.Balance(), "the refund is back in the balance")
		assert.Equal(t, int64(1500), s.TotalPaid())
		assert.ErrorIs(t, s.Receive(no), ErrNotClaimable)
	})
	t.Run("received", func(t *testing.T) {
		t.Parallel()
		clk := newFakeClock()
		s := newTestServer(t, WithServerClock(clk.Now))
		c := newTestClient(t, s)
		no := newBillNo(t, c)
		_, err := c.Send(ctx, sendReq(no, "oRecv", 1800))
		require.NoError(t, err)
		clk.Advance(3 * time.Hour)
		require.NoError(t, s.Receive(no))
		assert.ErrorIs(t, s.Receive(no), ErrNotClaimable, "claimed once")
		clk.Advance(48 * time.Hour)
		rec, err := c.Query(ctx, no)
		require.NoError(t, err)
		assert.Equal(t, redpack.StatusReceived, rec.Status, "a claimed packet is never refunded")
		require.Len(t, rec.Receivers, 1)
		assert.Equal(t, "oRecv", rec.Receivers[0].OpenID)
		assert.Equal(t, int64(1800), rec.Receivers[0].Amount)
		assert.True(t, rec.Receivers[0].RcvTime.Equal(clk.Now().Add(-48*time.Hour)))
		assert.Equal(t, int64(DefaultBalance-1800), s.Balance())
	})
	t.Run("failed has a reason", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t, WithBalance(50))
		c := newTestClient(t, s)
		no := newBillNo(t, c)
		_, err := c.Send(ctx, sendReq(no, "oFail", 100))
		require.ErrorIs(t, err, redpack.ErrNotEnough)
		rec, err := c.Query(ctx, no)
		require.NoError(t, err)
		assert.Equal(t, redpack.StatusFailed, rec.Status)
		assert.NotEmpty(t, rec.Reason)
		p, ok := s.Packet(no)
		require.True(t, ok)
		assert.Equal(t, "NOTENOUGH", p.Reason)
		assert.Empty(t, s.Packets(), "a failed bill is not a paid packet")
		assert.ErrorIs(t, s.Receive(no), ErrNotClaimable)
	})
	t.Run("not found", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		hc := merchantClient(t, s)
		r := post(t, hc, s, EndpointQuery, signed(queryFields(s, "NOPE0001"), s.APIKey()))
		assert.Equal(t, "SUCCESS", r.fields["return_code"])
		assert.Equal(t, "FAIL", r.fields["result_code"])
		assert.Equal(t, "NOT_FOUND", r.fields["err_code"])
		assert.Equal(t, "NOPE0001", r.fields["mch_billno"])
		c := newTestClient(t, s)
		_, err := c.Query(ctx, "NOPE0001")
		require.ErrorIs(t, err, redpack.ErrOutcomeUnknown)
		for _, tc := range []struct{ k, v, want string }{
			{"bill_type", "MCHNO", "PARAM_ERROR"},
			{"appid", "wx0000000000000000", "PARAM_ERROR"},
			{"appid", s.MiniAppID(), "NOT_FOUND"},
		} {
			f := queryFields(s, "NOPE0001")
			f[tc.k] = tc.v
			assert.Equal(t, tc.want, post(t, hc, s, EndpointQuery, signed(f, s.APIKey())).code(), "%s=%s", tc.k, tc.v)
		}
	})
}

func TestGroup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestServer(t, WithSeed(7))
	c := newTestClient(t, s)
	no := newBillNo(t, c)
	//lint:ignore SA1019 the fake serves the retired API on purpose
	res, err := c.SendGroup(ctx, redpack.SendGroupRequest{Packet: redpack.Packet{BillNo: no, OpenID: "oSeed", Amount: 90000,
		SendName: "a", Wishing: "b", ActName: "c", Remark: "d"}, TotalNum: 5})
	require.NoError(t, err)
	assert.Equal(t, 5, res.TotalNum)
	require.NoError(t, s.Receive(no))
	for _, o := range []string{"oF1", "oF2", "oF3", "oF4"} {
		require.NoError(t, s.ReceiveGroupShare(no, o))
	}
	assert.ErrorIs(t, s.ReceiveGroupShare(no, "oF5"), ErrNotClaimable, "five shares only")
	rec, err := c.Query(ctx, no)
	require.NoError(t, err)
	assert.Equal(t, redpack.HBTypeGroup, rec.HBType)
	assert.Equal(t, redpack.StatusReceived, rec.Status)
	require.Len(t, rec.Receivers, 5)
	var sum int64
	for _, r := range rec.Receivers {
		assert.GreaterOrEqual(t, r.Amount, int64(100))
		assert.LessOrEqual(t, r.Amount, int64(100_000))
		sum += r.Amount
	}
	assert.Equal(t, int64(90000), sum, "shares add up to the total")
	assert.Equal(t, "oSeed", rec.Receivers[0].OpenID)

	// Shares stay within bounds for extreme totals.
	s.st.mu.Lock()
	for range 50 {
		sh := s.st.splitGroup(20000*40, 40)
		var tot int64
		for _, v := range sh {
			require.GreaterOrEqual(t, v, int64(minShare))
			require.LessOrEqual(t, v, int64(maxShare))
			tot += v
		}
		require.Equal(t, int64(800000), tot)
	}
	s.st.mu.Unlock()
}

func TestGroupRetired(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithGroupRetired(true))
	c := newTestClient(t, s)
	ctx := context.Background()
	no := newBillNo(t, c)
	//lint:ignore SA1019 the fake serves the retired API on purpose
	_, err := c.SendGroup(ctx, redpack.SendGroupRequest{Packet: redpack.Packet{BillNo: no, OpenID: "oSeed", Amount: 300,
		SendName: "a", Wishing: "b", ActName: "c", Remark: "d"}, TotalNum: 3})
	require.ErrorIs(t, err, redpack.ErrAPIMethodClosed)
	assert.Equal(t, "REJECTED", outcomeOf(err))
	var ae *redpack.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "SUCCESS", ae.ReturnCode)
	assert.Contains(t, ae.ErrCodeDes, "2024")
	assert.Empty(t, s.Packets())
	_, err = c.Query(ctx, no)
	require.ErrorIs(t, err, redpack.ErrNotFound)
	// Normal packets still work.
	_, err = c.Send(ctx, sendReq(newBillNo(t, c), "oSeed", 100))
	require.NoError(t, err)
}

var packageRE = regexp.MustCompile(`^sendid=[0-9a-f]{64}&ver=8&sign=[0-9a-f]{128}&mchid=([0-9]+)&appid=(\w+)$`)

func TestMiniProgram(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	c := s.NewMiniProgramClient(redpack.WithNodeID(1))
	defer c.CloseIdleConnections()
	ctx := context.Background()
	no := newBillNo(t, c)
	req := redpack.SendMiniProgramRequest{Packet: redpack.Packet{BillNo: no, OpenID: "oMini", Amount: 888,
		SendName: "a", Wishing: "b", ActName: "c", Remark: "d"}}
	res, err := c.SendMiniProgram(ctx, req)
	require.NoError(t, err)
	m := packageRE.FindStringSubmatch(res.Package)
	require.NotNil(t, m, res.Package)
	assert.Equal(t, s.MchID(), m[1])
	assert.Equal(t, s.MiniAppID(), m[2])
	again, err := c.SendMiniProgram(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, res.Package, again.Package, "re-entrant answer repeats the package")
	p, ok := s.Packet(no)
	require.True(t, ok)
	assert.Equal(t, KindMini, p.Kind)
	assert.Equal(t, res.Package, p.Package)
	biz, err := c.BizRedPacket(res.Package)
	require.NoError(t, err)
	assert.Regexp(t, `^[0-9a-f]{32}$`, biz.PaySign)
	rec, err := c.Query(ctx, no)
	require.NoError(t, err)
	assert.Equal(t, redpack.HBTypeNormal, rec.HBType, "mini packets are NORMAL in gethbinfo")

	// risk_info and consume_mch_id are not fields of sendminiprogramhb (the
	// fake answers SIGN_ERROR, TestRequestRejections), and
	// redpack.SendMiniProgramRequest has no such fields: the client cannot
	// send them.
	for _, kv := range s.Requests() {
		if kv.Endpoint == "sendminiprogramhb" {
			assert.NotContains(t, kv.Fields, "risk_info")
			assert.NotContains(t, kv.Fields, "consume_mch_id")
		}
	}

	// The Official Account client is refused by sendminiprogramhb.
	oa := newTestClient(t, s)
	_, err = oa.SendMiniProgram(ctx, redpack.SendMiniProgramRequest{Packet: redpack.Packet{BillNo: newBillNo(t, oa), OpenID: "oMini", Amount: 888,
		SendName: "a", Wishing: "b", ActName: "c", Remark: "d"}})
	require.ErrorIs(t, err, redpack.ErrParam)
}

func TestAccessors(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithMerchant("1234567890", "wxabcdefabcdefabcd", "0123456789abcdefABCDEF0123456789"))
	assert.Equal(t, "1234567890", s.MchID())
	cfg := s.Config()
	assert.Equal(t, s.URL(), cfg.BaseURL)
	assert.Empty(t, cfg.PKCS12Password)
	assert.Regexp(t, `^https://127\.0\.0\.1:[0-9]+$`, s.URL())
	key, leaf, chain, err := pkcs12.DecodeChain(s.MerchantPKCS12(), s.MchID())
	require.NoError(t, err)
	assert.NotNil(t, key)
	assert.Equal(t, "1234567890", leaf.Subject.CommonName)
	require.Len(t, chain, 1)
	assert.Contains(t, string(s.CACertPEM()), "BEGIN CERTIFICATE")
	assert.Contains(t, string(s.MerchantCertPEM()), "BEGIN CERTIFICATE")
	assert.Contains(t, string(s.MerchantKeyPEM()), "PRIVATE KEY")
	c := s.NewClient(redpack.WithRetryPolicy(FastRetryPolicy()))
	defer c.CloseIdleConnections()
	_, err = c.Send(context.Background(), sendReq("ACC01", "oAcc", 100))
	require.NoError(t, err)
	assert.NotContains(t, cfg.String(), s.APIKey())

	assert.Panics(t, func() { NewServer(WithAddr("192.0.2.1:0")) }, "non-loopback addresses are refused")
	s2 := NewServer(WithAddr("localhost:0"))
	s2.Close()
	s2.Close() // idempotent
}
