package redpacktest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redpack-go/redpack"
)

// answers returns the Answer of every request to op.
func answers(s *Server, op Endpoint) []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Endpoint == op {
			out = append(out, r.Answer)
		}
	}
	return out
}

func mustInject(t *testing.T, s *Server, ep Endpoint, a Answer, n int) {
	t.Helper()
	require.NoError(t, s.Inject(ep, a, n))
}

// TestFaultKindsRetried: each transient fault kind on the first attempt is
// retried with the same bytes and the packet is paid exactly once.
func TestFaultKindsRetried(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		a    Answer
		want []string // answers seen by the server
	}{
		{"SYSTEMERROR", ResultFail("SYSTEMERROR"), []string{"SYSTEMERROR", "SUCCESS"}},
		{"HTML 502", HTTPStatus(http.StatusBadGateway), []string{"HTTP 502", "SUCCESS"}},
		{"reset before processing", Drop(), []string{"DROPPED", "SUCCESS"}},
		{"FREQ_LIMIT", ResultFail("FREQ_LIMIT"), []string{"FREQ_LIMIT", "SUCCESS"}},
		{"return_code FAIL numeric", ReturnFail("268458547"), []string{"268458547", "SUCCESS"}},
		// The retry meets the re-entrant original answer.
		{"pay then drop", PayThenDrop(), []string{"DROPPED", "SUCCESS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t)
			c := newTestClient(t, s)
			mustInject(t, s, EndpointSend, tc.a, 1)
			res, err := c.Send(context.Background(), sendReq(newBillNo(t, c), "oFault", 500))
			require.NoError(t, err)
			assert.Equal(t, int64(500), res.Amount)
			if diff := cmp.Diff(tc.want, answers(s, EndpointSend)); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
			reqs := s.Requests()
			assert.Equal(t, tc.a.String(), reqs[0].Injected)
			assert.Empty(t, reqs[1].Injected, "the retry was answered by the fake's rules")
			assert.Equal(t, string(reqs[0].Body), string(reqs[1].Body), "a retry sends the same bytes")
			assert.Len(t, s.Packets(), 1)
			assert.Equal(t, int64(500), s.TotalPaid())
		})
	}
}

// TestFaultKindsExhausted: a fault on every attempt leaves the outcome
// unknown; the ledger tells whether money left.
func TestFaultKindsExhausted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		a    Answer
		paid bool
	}{
		{"SYSTEMERROR", ResultFail("SYSTEMERROR"), false},
		{"HTML 502", HTTPStatus(http.StatusBadGateway), false},
		{"reset before processing", Drop(), false},
		{"FREQ_LIMIT", ResultFail("FREQ_LIMIT"), false},
		{"pay then drop", PayThenDrop(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t)
			c := newTestClient(t, s)
			mustInject(t, s, EndpointSend, tc.a, 3)
			no := newBillNo(t, c)
			_, err := c.Send(context.Background(), sendReq(no, "oFault", 700))
			require.ErrorIs(t, err, redpack.ErrOutcomeUnknown)
			assert.Equal(t, "UNKNOWN", outcomeOf(err))
			assert.Len(t, s.Requests(), 3, "three attempts, the fast default policy of NewClient")
			p, ok := s.Packet(no)
			assert.Equal(t, tc.paid, ok)
			if tc.paid {
				assert.Equal(t, redpack.StatusSent, p.Status)
				assert.Equal(t, int64(700), s.TotalPaid())
			} else {
				assert.Zero(t, s.TotalPaid())
				assert.Empty(t, s.Packets())
			}
		})
	}
}

// TestErrCodeAnswerShapes: ResultFail echoes the request (except
// SYSTEMERROR), ReturnFail carries return_code FAIL, and neither processes
// anything, whatever the code says.
func TestErrCodeAnswerShapes(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	hc := merchantClient(t, s)
	echo := []string{"mch_billno", "mch_id", "wxappid", "re_openid", "total_amount"}

	mustInject(t, s, EndpointSend, ResultFail("SYSTEMERROR"), 1)
	r := post(t, hc, s, EndpointSend, signed(sendFields(s, "SHAPE01"), s.APIKey()))
	assert.Equal(t, "SUCCESS", r.fields["return_code"])
	assert.Equal(t, "FAIL", r.fields["result_code"])
	assert.Equal(t, "SYSTEMERROR", r.fields["err_code"])
	assert.Equal(t, failTexts["SYSTEMERROR"], r.fields["err_code_des"])
	for _, k := range echo {
		assert.NotContains(t, r.fields, k, "SYSTEMERROR carries no echo fields")
	}

	mustInject(t, s, EndpointSend, ResultFail("NOTENOUGH"), 1)
	r = post(t, hc, s, EndpointSend, signed(sendFields(s, "SHAPE02"), s.APIKey()))
	assert.Equal(t, "NOTENOUGH", r.code())
	for _, k := range echo {
		assert.Equal(t, sendFields(s, "SHAPE02")[k], r.fields[k], "business failures echo %s", k)
	}

	mustInject(t, s, EndpointSend, ReturnFail("268458547"), 1)
	r = post(t, hc, s, EndpointSend, signed(sendFields(s, "SHAPE03"), s.APIKey()))
	assert.Equal(t, "FAIL", r.fields["return_code"])
	assert.Equal(t, "FAIL", r.fields["result_code"])
	assert.Equal(t, "268458547", r.fields["err_code"])
	assert.Equal(t, "SHAPE03", r.fields["mch_billno"], "the official return_code FAIL sample echoes")

	mustInject(t, s, EndpointQuery, ResultFail("NOT_FOUND"), 1)
	r = post(t, hc, s, EndpointQuery, signed(queryFields(s, "SHAPE03"), s.APIKey()))
	assert.Equal(t, "NOT_FOUND", r.code())
	assert.Equal(t, "SHAPE03", r.fields["mch_billno"])
	assert.NotContains(t, r.fields, "wxappid", "gethbinfo echoes mch_billno and mch_id only")

	// A SUCCESS code injected as an err_code answer is still not a payment.
	mustInject(t, s, EndpointSend, ResultFail("SUCCESS"), 1)
	_ = post(t, hc, s, EndpointSend, signed(sendFields(s, "SHAPE04"), s.APIKey()))
	assert.Empty(t, s.Packets(), "injected err_code answers process nothing")
	assert.Zero(t, s.TotalPaid())
}

func TestRawAndHTTPStatus(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	hc := merchantClient(t, s)
	body := signed(sendFields(s, "RAW01"), s.APIKey())

	mustInject(t, s, EndpointSend, Raw(http.StatusOK, "application/json", []byte(`{"not":"xml"}`)), 1)
	res, err := hc.Post(s.URL()+pathPrefix+string(EndpointSend), "text/xml", strings.NewReader(string(body)))
	require.NoError(t, err)
	raw := readAll(t, res)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
	assert.Equal(t, `{"not":"xml"}`, raw)

	mustInject(t, s, EndpointSend, HTTPStatus(http.StatusServiceUnavailable), 1)
	r := post(t, hc, s, EndpointSend, body)
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Contains(t, string(r.body), "503 Service Unavailable")
	assert.Contains(t, string(r.body), "stgw")

	mustInject(t, s, EndpointSend, Raw(http.StatusOK, "", nil), 1)
	res, err = hc.Post(s.URL()+pathPrefix+string(EndpointSend), "text/xml", strings.NewReader(string(body)))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Empty(t, readAll(t, res), "an empty body, as a broken gateway may send")

	assert.Equal(t, []string{"HTTP 200", "HTTP 503", "HTTP 200"}, answers(s, EndpointSend))
	assert.Empty(t, s.Packets(), "raw answers process nothing")
}

// TestInjectPerEndpoint: an injection for one endpoint leaves the others
// alone; AnyEndpoint reaches all four.
func TestInjectPerEndpoint(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	hc := merchantClient(t, s)
	key := s.APIKey()
	mustInject(t, s, EndpointQuery, ResultFail("SYSTEMERROR"), 1)
	mustInject(t, s, EndpointSendMiniProgram, ResultFail("FREQ_LIMIT"), 1)

	assert.Equal(t, "SUCCESS", post(t, hc, s, EndpointSend, signed(sendFields(s, "EP01"), key)).code())
	assert.Equal(t, "SUCCESS", post(t, hc, s, EndpointSendGroup, signed(groupFields(s, "EP02"), key)).code())
	assert.Equal(t, "FREQ_LIMIT", post(t, hc, s, EndpointSendMiniProgram, signed(miniFields(s, "EP03"), key)).code())
	assert.Equal(t, "SUCCESS", post(t, hc, s, EndpointSendMiniProgram, signed(miniFields(s, "EP03"), key)).code())
	assert.Equal(t, "SYSTEMERROR", post(t, hc, s, EndpointQuery, signed(queryFields(s, "EP01"), key)).code())
	assert.Equal(t, "SUCCESS", post(t, hc, s, EndpointQuery, signed(queryFields(s, "EP01"), key)).code())

	mustInject(t, s, AnyEndpoint, ResultFail("SYSTEMERROR"), 4)
	for _, ep := range endpoints {
		f := map[Endpoint]map[string]string{
			EndpointSend: sendFields(s, "EP04"), EndpointSendGroup: groupFields(s, "EP05"),
			EndpointSendMiniProgram: miniFields(s, "EP06"), EndpointQuery: queryFields(s, "EP01"),
		}[ep]
		assert.Equal(t, "SYSTEMERROR", post(t, hc, s, ep, signed(f, key)).code(), "AnyEndpoint reaches %s", ep)
	}
	assert.Equal(t, "SUCCESS", post(t, hc, s, EndpointSend, signed(sendFields(s, "EP04"), key)).code())
}

// TestInjectCountFIFO: queued answers are used in order, each for its
// count, across endpoints.
func TestInjectCountFIFO(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	hc := merchantClient(t, s)
	key := s.APIKey()
	mustInject(t, s, EndpointSend, ResultFail("SYSTEMERROR"), 2)
	mustInject(t, s, AnyEndpoint, ResultFail("FREQ_LIMIT"), 1)
	mustInject(t, s, EndpointSend, HTTPStatus(502), 1)
	mustInject(t, s, EndpointQuery, ResultFail("NOT_FOUND"), 1)
	require.NoError(t, s.InjectRandom(EndpointSend, ResultFail("PARAM_ERROR"), 1), "random answers come after the queue")

	q := func() string { return post(t, hc, s, EndpointQuery, signed(queryFields(s, "FIFO01"), key)).code() }
	send := func() string {
		r := post(t, hc, s, EndpointSend, signed(sendFields(s, "FIFO01"), key))
		if r.status != http.StatusOK {
			return fmt.Sprintf("HTTP %d", r.status)
		}
		return r.code()
	}
	// The query skips the sendredpack-only entries but meets AnyEndpoint.
	got := []string{q(), send(), send(), send(), q(), send(), q()}
	want := []string{"FREQ_LIMIT", "SYSTEMERROR", "SYSTEMERROR", "HTTP 502", "NOT_FOUND", "PARAM_ERROR", "NOT_FOUND"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	s.ClearInjections()
	assert.Equal(t, "SUCCESS", send())
	assert.Empty(t, s.Requests()[len(s.Requests())-1].Injected)
}

// TestInjectRandomSeeded: the draws follow the seed and the configured
// probabilities; one endpoint's answers never reach another.
func TestInjectRandomSeeded(t *testing.T) {
	t.Parallel()
	draw := func(seed int64) ([]string, map[string]int) {
		s := newTestServer(t, WithSeed(seed))
		require.NoError(t, s.InjectRandom(EndpointSend, ResultFail("SYSTEMERROR"), 0.25))
		require.NoError(t, s.InjectRandom(AnyEndpoint, ResultFail("FREQ_LIMIT"), 0.25))
		require.NoError(t, s.InjectRandom(EndpointQuery, Drop(), 0.5))
		s.st.mu.Lock()
		defer s.st.mu.Unlock()
		var seq []string
		counts := map[string]int{}
		for range 400 {
			a, ok := s.st.pick(EndpointSend)
			name := "none"
			if ok {
				name = a.String()
			}
			seq = append(seq, name)
			counts[name]++
		}
		return seq, counts
	}
	a, counts := draw(42)
	b, _ := draw(42)
	c, _ := draw(43)
	assert.Equal(t, a, b, "same seed, same draws")
	assert.NotEqual(t, a, c, "another seed, other draws")
	assert.InDelta(t, 100, counts["ResultFail(SYSTEMERROR)"], 35)
	assert.InDelta(t, 100, counts["ResultFail(FREQ_LIMIT)"], 35)
	assert.InDelta(t, 200, counts["none"], 45)
	assert.Zero(t, counts["Drop"], "a gethbinfo answer never reaches sendredpack")

	s := newTestServer(t)
	require.NoError(t, s.InjectRandom(EndpointSend, Drop(), 0.6))
	require.Error(t, s.InjectRandom(AnyEndpoint, Drop(), 0.5), "0.6 + 0.5 > 1 for sendredpack")
	require.NoError(t, s.InjectRandom(EndpointQuery, Drop(), 0.5), "gethbinfo has room")
	require.NoError(t, s.InjectRandom(EndpointSend, Drop(), 0.4), "exactly 1 is allowed")
}

// TestInjectValidation: every invalid injection is an error and changes
// nothing.
func TestInjectValidation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"zero Answer", s.Inject(EndpointSend, Answer{}, 1)},
		{"count 0", s.Inject(EndpointSend, Drop(), 0)},
		{"negative count", s.Inject(EndpointSend, Drop(), -1)},
		{"empty endpoint", s.Inject("", Drop(), 1)},
		{"unknown endpoint", s.Inject("sendcoupon", Drop(), 1)},
		{"empty err_code", s.Inject(EndpointSend, ResultFail(""), 1)},
		{"empty return err_code", s.Inject(EndpointSend, ReturnFail(""), 1)},
		{"status 42", s.Inject(EndpointSend, Raw(42, "", nil), 1)},
		{"HTTPStatus 1000", s.Inject(EndpointSend, HTTPStatus(1000), 1)},
		{"negative delay", s.Inject(EndpointSend, Process().After(-time.Second), 1)},
		{"nil rewrite", s.Inject(EndpointSend, Process().Rewrite(nil), 1)},
		{"rewrite a raw answer", s.Inject(EndpointSend, Raw(200, "", nil).Rewrite(func(map[string]string) {}), 1)},
		{"rewrite a drop", s.Inject(EndpointSend, Drop().Rewrite(func(map[string]string) {}), 1)},
		{"probability above 1", s.InjectRandom(EndpointSend, Drop(), 1.5)},
		{"negative probability", s.InjectRandom(EndpointSend, Drop(), -0.1)},
		{"NaN probability", s.InjectRandom(EndpointSend, Drop(), nan())},
		{"random zero Answer", s.InjectRandom(AnyEndpoint, Answer{}, 0.5)},
		{"nil reactor", s.AddReactor(EndpointSend, nil)},
		{"reactor unknown endpoint", s.AddReactor("x", func(Request) (Answer, bool) { return Answer{}, false })},
	} {
		assert.Error(t, tc.err, tc.name)
		if tc.err != nil {
			assert.True(t, strings.HasPrefix(tc.err.Error(), "redpacktest: "), "%s: %v", tc.name, tc.err)
		}
	}
	c := newTestClient(t, s)
	_, err := c.Send(context.Background(), sendReq(newBillNo(t, c), "oValid", 100))
	require.NoError(t, err, "nothing was queued")
	assert.Empty(t, s.Requests()[0].Injected)
	assert.Equal(t, "invalid Answer", Answer{}.String())
}

func nan() float64 { var z float64; return z / z }

// TestProcessingAnswer: PROCESSING reserves the money, gethbinfo shows
// SENDING until the processing delay passes (or Settle), and a send that
// would fail settles to FAILED.
func TestProcessingAnswer(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	s := newTestServer(t, WithServerClock(clk.Now), WithProcessingDelay(time.Minute))
	c := newTestClient(t, s)
	ctx := context.Background()
	no := newBillNo(t, c)
	mustInject(t, s, EndpointSend, Processing(), 1)
	_, err := c.Send(ctx, sendReq(no, "oProc", 800))
	require.ErrorIs(t, err, redpack.ErrOutcomeUnknown)
	assert.Equal(t, "PENDING", outcomeOf(err))

	p, ok := s.Packet(no)
	require.True(t, ok)
	assert.Equal(t, redpack.StatusSending, p.Status)
	assert.Equal(t, int64(DefaultBalance-800), s.Balance(), "the balance is reserved")
	rec, err := c.Query(ctx, no)
	require.NoError(t, err)
	assert.Equal(t, redpack.StatusSending, rec.Status)
	_, err = c.Send(ctx, sendReq(no, "oProc", 800))
	assert.Equal(t, "PENDING", outcomeOf(err), "a re-send while pending answers PROCESSING again")

	clk.Advance(time.Minute)
	rec, err = c.Query(ctx, no)
	require.NoError(t, err)
	assert.Equal(t, redpack.StatusSent, rec.Status, "settled after the processing delay")
	res, err := c.Send(ctx, sendReq(no, "oProc", 800))
	require.NoError(t, err)
	assert.Equal(t, p.SendListID, res.SendListID)
	assert.Equal(t, int64(800), s.TotalPaid())

	// Settle() settles at once; a would-fail send settles to FAILED.
	s2 := newTestServer(t, WithBalance(100))
	c2 := newTestClient(t, s2)
	mustInject(t, s2, EndpointSend, Processing(), 2)
	ok1, fail1 := sendReq(newBillNo(t, c2), "oP1", 100), sendReq(newBillNo(t, c2), "oP2", 100)
	_, err = c2.Send(ctx, ok1)
	assert.Equal(t, "PENDING", outcomeOf(err))
	_, err = c2.Send(ctx, fail1)
	assert.Equal(t, "PENDING", outcomeOf(err))
	p1, _ := s2.Packet(ok1.BillNo)
	p2, _ := s2.Packet(fail1.BillNo)
	assert.Equal(t, redpack.StatusSending, p1.Status)
	assert.Equal(t, redpack.StatusSending, p2.Status)
	s2.Settle()
	out, rec, _ := resolveOutcome(ctx, c2, ok1)
	assert.Equal(t, "OK", out)
	assert.Equal(t, redpack.StatusSent, rec.Status)
	out, _, _ = resolveOutcome(ctx, c2, fail1)
	assert.Equal(t, "FINAL", out)
	_, err = c2.Send(ctx, fail1)
	require.ErrorIs(t, err, redpack.ErrSendFailed)
	assert.Equal(t, int64(100), s2.TotalPaid())
	assert.Zero(t, s2.Balance())

	// On gethbinfo Processing is the fake's own answer.
	mustInject(t, s2, EndpointQuery, Processing(), 1)
	rec, err = c2.Query(ctx, ok1.BillNo)
	require.NoError(t, err)
	assert.Equal(t, redpack.StatusSent, rec.Status)
}

// TestDelayedAnswer: Process().After(d) answers late; a client that gives
// up finds the work done (the packet paid), and the handler stops waiting.
func TestDelayedAnswer(t *testing.T) {
	t.Parallel()
	t.Run("answer arrives late", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		c := newTestClient(t, s)
		mustInject(t, s, EndpointSend, Process().After(50*time.Millisecond), 1)
		start := time.Now()
		_, err := c.Send(context.Background(), sendReq(newBillNo(t, c), "oSlow", 100))
		require.NoError(t, err)
		assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
		assert.Equal(t, []string{"SUCCESS"}, answers(s, EndpointSend))
	})
	t.Run("client gives up, money left", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		c := newTestClient(t, s, oneAttempt, redpack.WithTimeout(100*time.Millisecond))
		mustInject(t, s, EndpointSend, Process().After(5*time.Second), 1)
		req := sendReq(newBillNo(t, c), "oSlow", 100)
		start := time.Now()
		_, err := c.Send(context.Background(), req)
		require.ErrorIs(t, err, redpack.ErrOutcomeUnknown)
		p, ok := s.Packet(req.BillNo)
		require.True(t, ok)
		assert.Equal(t, redpack.StatusSent, p.Status)
		out, _, _ := resolveOutcome(context.Background(), c, req)
		assert.Equal(t, "OK", out)
		// The handler noticed the client leave: Close does not wait 5 s.
		s.Close()
		assert.Less(t, time.Since(start), 3*time.Second)
	})
	t.Run("an error answer delayed", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t)
		c := newTestClient(t, s, oneAttempt)
		mustInject(t, s, EndpointSend, ResultFail("NOTENOUGH").After(30*time.Millisecond), 1)
		start := time.Now()
		_, err := c.Send(context.Background(), sendReq(newBillNo(t, c), "oSlow", 100))
		require.ErrorIs(t, err, redpack.ErrNotEnough)
		assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
		assert.Equal(t, "ResultFail(NOTENOUGH).After(30ms)", s.Requests()[0].Injected)
	})
}

// TestDropKinds: Drop processes nothing; PayThenDrop pays and then resets.
func TestDropKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		a    Answer
		paid bool
	}{
		{"Drop", Drop(), false},
		{"PayThenDrop", PayThenDrop(), true},
		{"PayThenDrop after a delay", PayThenDrop().After(10 * time.Millisecond), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t)
			hc := merchantClient(t, s)
			mustInject(t, s, EndpointSend, tc.a, 1)
			_, err := hc.Post(s.URL()+pathPrefix+string(EndpointSend), "text/xml",
				strings.NewReader(string(signed(sendFields(s, "DROP01"), s.APIKey()))))
			require.Error(t, err, "the connection is reset, nothing answered")
			_, paid := s.Packet("DROP01")
			assert.Equal(t, tc.paid, paid)
			assert.Equal(t, []string{"DROPPED"}, answers(s, EndpointSend))
		})
	}
}

// TestRewrite: a forged answer reaches the client while the ledger keeps
// the truth.
func TestRewrite(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	hc := merchantClient(t, s)
	mustInject(t, s, EndpointSend, Process().Rewrite(func(f map[string]string) {
		f["total_amount"] = "20000"
		f["re_openid"] = "oSomeoneElse"
		delete(f, "send_listid")
		f["zz_extra"] = "added"
	}), 1)
	r := post(t, hc, s, EndpointSend, signed(sendFields(s, "FORGE01"), s.APIKey()))
	assert.Equal(t, "SUCCESS", r.code())
	assert.Equal(t, "20000", r.fields["total_amount"])
	assert.Equal(t, "oSomeoneElse", r.fields["re_openid"])
	assert.NotContains(t, r.fields, "send_listid")
	assert.True(t, strings.HasSuffix(string(r.body), "<zz_extra><![CDATA[added]]></zz_extra></xml>"), "added fields come last: %s", r.body)
	assert.True(t, strings.HasPrefix(string(r.body), "<xml><return_code>"), "fields keep their order: %s", r.body)
	p, ok := s.Packet("FORGE01")
	require.True(t, ok)
	assert.Equal(t, int64(100), p.Amount, "the ledger paid what the request asked")
	assert.Equal(t, "oUser-0001_abc", p.OpenID)

	// An err_code answer can be rewritten too: an empty echo field.
	mustInject(t, s, EndpointSend, ResultFail("NOTENOUGH").Rewrite(func(f map[string]string) { f["total_amount"] = "" }), 1)
	r = post(t, hc, s, EndpointSend, signed(sendFields(s, "FORGE02"), s.APIKey()))
	assert.Contains(t, string(r.body), "<total_amount><![CDATA[]]></total_amount>")
	assert.Equal(t, "Process.Rewrite", s.Requests()[0].Injected)

	// Through the client: a SUCCESS echoing another amount is not "paid".
	c := newTestClient(t, s, oneAttempt)
	mustInject(t, s, EndpointSend, Process().Rewrite(func(f map[string]string) { f["total_amount"] = "20000" }), 1)
	req := sendReq(newBillNo(t, c), "oForged", 100)
	_, err := c.Send(context.Background(), req)
	assert.Equal(t, "UNKNOWN", outcomeOf(err), "a success echoing another amount: %v", err)
	p, ok = s.Packet(req.BillNo)
	require.True(t, ok, "the fake paid by its rules")
	assert.Equal(t, int64(100), p.Amount)
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}
