package redpacktest

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redpack-go/redpack"
)

// answers returns the Answer of every request to op.
func answers(s *Server, op string) []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Op == op {
			out = append(out, r.Answer)
		}
	}
	return out
}

// TestFaultsRetried: a transient fault on the first attempt is retried with
// the same bytes and the packet is paid exactly once.
func TestFaultsRetried(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fault Fault
		want  []string // answers seen by the server
	}{
		{FaultSystemError, []string{"SYSTEMERROR", "SUCCESS"}},
		{FaultBadGateway, []string{"FaultBadGateway", "SUCCESS"}},
		{FaultResetBeforeProcessing, []string{"FaultResetBeforeProcessing", "SUCCESS"}},
		{FaultFreqLimit, []string{"FREQ_LIMIT", "SUCCESS"}},
		// The retry meets the re-entrant original answer.
		{FaultPayThenDrop, []string{"FaultPayThenDrop", "SUCCESS"}},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t)
			c := newTestClient(t, s)
			s.Inject(tc.fault, 1)
			res, err := c.Send(context.Background(), sendReq(c.NewBillNo(), "oFault", 500))
			require.NoError(t, err)
			assert.Equal(t, int64(500), res.Amount)
			if diff := cmp.Diff(tc.want, answers(s, opSend)); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
			reqs := s.Requests()
			assert.Equal(t, string(reqs[0].Body), string(reqs[1].Body), "a retry sends the same bytes")
			assert.Len(t, s.Packets(), 1)
			assert.Equal(t, int64(500), s.TotalPaid())
		})
	}
}

// TestFaultsExhausted: a fault on every attempt leaves the outcome unknown;
// the ledger tells whether money left.
func TestFaultsExhausted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fault   Fault
		paid    bool
		outcome redpack.OutcomeClass
	}{
		{FaultSystemError, false, redpack.OutcomeUnknown},
		{FaultBadGateway, false, redpack.OutcomeUnknown},
		{FaultResetBeforeProcessing, false, redpack.OutcomeUnknown},
		{FaultFreqLimit, false, redpack.OutcomeUnknown},
		{FaultPayThenDrop, true, redpack.OutcomeUnknown},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t)
			c := newTestClient(t, s)
			s.Inject(tc.fault, 3)
			no := c.NewBillNo()
			_, err := c.Send(context.Background(), sendReq(no, "oFault", 700))
			require.ErrorIs(t, err, redpack.ErrOutcomeUnknown)
			assert.Equal(t, tc.outcome, redpack.Outcome(err))
			var ue *redpack.UnknownOutcomeError
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, no, ue.BillNo)
			assert.Equal(t, 3, ue.Attempts)
			p, ok := s.Packet(no)
			assert.Equal(t, tc.paid, ok)
			rec, qerr := c.Query(context.Background(), no)
			if tc.paid {
				assert.Equal(t, redpack.StatusSent, p.Status)
				require.NoError(t, qerr)
				assert.Equal(t, redpack.StatusSent, rec.Status)
				assert.Equal(t, int64(700), s.TotalPaid())
			} else {
				require.ErrorIs(t, qerr, redpack.ErrNotFound)
				assert.Zero(t, s.TotalPaid())
				assert.Empty(t, s.Packets())
			}
		})
	}
}

func TestFaultSystemErrorShape(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	hc := merchantClient(t, s)
	s.Inject(FaultSystemError, 1)
	r := post(t, hc, s, opSend, signed(sendFields(s, "SYSERR01"), s.APIKey))
	assert.Equal(t, "SYSTEMERROR", r.fields["err_code"])
	for _, echo := range []string{"mch_billno", "mch_id", "wxappid", "re_openid", "total_amount"} {
		assert.NotContains(t, r.fields, echo, "SYSTEMERROR carries no echo fields")
	}
	s.Inject(FaultBadGateway, 1)
	r = post(t, hc, s, opQuery, signed(queryFields(s, "SYSERR01"), s.APIKey))
	assert.Equal(t, http.StatusBadGateway, r.status)
	assert.True(t, strings.HasPrefix(string(r.body), "<html>"))
	// Faults reach gethbinfo too.
	c := newTestClient(t, s, oneAttempt)
	s.Inject(FaultSystemError, 1)
	_, err := c.Query(context.Background(), "SYSERR01")
	require.ErrorIs(t, err, redpack.ErrSystemError)
	assert.Equal(t, redpack.OutcomeUnknown, redpack.Outcome(err))
	assert.Empty(t, s.Packets())
}

func TestFaultProcessing(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	s := newTestServer(t, WithClock(clk.Now), WithProcessingDelay(time.Minute))
	c := newTestClient(t, s)
	ctx := context.Background()
	no := c.NewBillNo()
	s.Inject(FaultProcessing, 1)
	_, err := c.Send(ctx, sendReq(no, "oProc", 800))
	require.ErrorIs(t, err, redpack.ErrOutcomeUnknown)
	require.ErrorIs(t, err, redpack.ErrProcessing)
	assert.Equal(t, redpack.OutcomePending, redpack.Outcome(err))

	p, ok := s.Packet(no)
	require.True(t, ok)
	assert.Equal(t, redpack.StatusSending, p.Status)
	assert.Equal(t, int64(DefaultBalance-800), s.Balance(), "the balance is reserved")
	rec, err := c.Query(ctx, no)
	require.NoError(t, err)
	assert.Equal(t, redpack.StatusSending, rec.Status)
	_, err = c.Send(ctx, sendReq(no, "oProc", 800))
	require.ErrorIs(t, err, redpack.ErrProcessing, "a re-send while pending answers PROCESSING again")

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
	s2.Inject(FaultProcessing, 2)
	ok1, fail1 := c2.NewBillNo(), c2.NewBillNo()
	_, err = c2.Send(ctx, sendReq(ok1, "oP1", 100))
	require.ErrorIs(t, err, redpack.ErrProcessing)
	_, err = c2.Send(ctx, sendReq(fail1, "oP2", 100))
	require.ErrorIs(t, err, redpack.ErrProcessing)
	p1, _ := s2.Packet(ok1)
	p2, _ := s2.Packet(fail1)
	assert.Equal(t, redpack.StatusSending, p1.Status)
	assert.Equal(t, redpack.StatusSending, p2.Status)
	s2.Settle()
	rec, err = c2.Resolve(ctx, ok1)
	require.NoError(t, err)
	assert.Equal(t, redpack.StatusSent, rec.Status)
	rec, err = c2.Resolve(ctx, fail1)
	require.NoError(t, err)
	assert.Equal(t, redpack.StatusFailed, rec.Status)
	assert.Equal(t, redpack.OutcomeFinal, rec.Status.Outcome())
	_, err = c2.Send(ctx, sendReq(fail1, "oP2", 100))
	require.ErrorIs(t, err, redpack.ErrSendFailed)
	assert.Equal(t, int64(100), s2.TotalPaid())
	assert.Zero(t, s2.Balance())
}

func TestFaultSlow(t *testing.T) {
	t.Parallel()
	t.Run("answer arrives late", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t, WithSlowDelay(50*time.Millisecond))
		c := newTestClient(t, s)
		s.Inject(FaultSlow, 1)
		start := time.Now()
		_, err := c.Send(context.Background(), sendReq(c.NewBillNo(), "oSlow", 100))
		require.NoError(t, err)
		assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	})
	t.Run("client gives up, money left", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t, WithSlowDelay(5*time.Second))
		c := newTestClient(t, s, oneAttempt, redpack.WithTimeout(100*time.Millisecond))
		s.Inject(FaultSlow, 1)
		no := c.NewBillNo()
		start := time.Now()
		_, err := c.Send(context.Background(), sendReq(no, "oSlow", 100))
		require.ErrorIs(t, err, redpack.ErrOutcomeUnknown)
		p, ok := s.Packet(no)
		require.True(t, ok)
		assert.Equal(t, redpack.StatusSent, p.Status)
		rec, err := c.Resolve(context.Background(), no)
		require.NoError(t, err)
		assert.Equal(t, redpack.StatusSent, rec.Status)
		// The handler noticed the cancellation: Close does not wait 5 s.
		s.Close()
		assert.Less(t, time.Since(start), 3*time.Second)
	})
}

func TestInjectQueueAndRandom(t *testing.T) {
	t.Parallel()
	draw := func(seed int64) []Fault {
		s := newTestServer(t, WithSeed(seed))
		s.InjectRandom(FaultSystemError, 0.25)
		s.InjectRandom(FaultFreqLimit, 0.25)
		s.mu.Lock()
		defer s.mu.Unlock()
		var out []Fault
		for range 200 {
			out = append(out, s.nextFault())
		}
		return out
	}
	a, b := draw(42), draw(42)
	assert.Equal(t, a, b, "same seed, same faults")
	counts := map[Fault]int{}
	for _, f := range a {
		counts[f]++
	}
	assert.InDelta(t, 50, counts[FaultSystemError], 25)
	assert.InDelta(t, 50, counts[FaultFreqLimit], 25)
	assert.InDelta(t, 100, counts[0], 30)

	s := newTestServer(t)
	s.Inject(FaultSystemError, 2)
	s.Inject(FaultFreqLimit, 1)
	s.InjectRandom(FaultBadGateway, 1)
	s.mu.Lock()
	got := []Fault{s.nextFault(), s.nextFault(), s.nextFault(), s.nextFault()}
	s.mu.Unlock()
	assert.Equal(t, []Fault{FaultSystemError, FaultSystemError, FaultFreqLimit, FaultBadGateway}, got)
	s.ClearFaults()
	s.mu.Lock()
	assert.Zero(t, s.nextFault())
	s.mu.Unlock()
	assert.Equal(t, "FaultSlow", FaultSlow.String())
	assert.Equal(t, "Fault(99)", Fault(99).String())
}

func TestNoGoroutineLeak(t *testing.T) {
	// Not parallel: it counts the process's goroutines.
	before := countGoroutines()
	s := NewServer(WithSlowDelay(time.Hour))
	c := s.NewClient(oneAttempt, redpack.WithTimeout(2*time.Second))
	ctx := context.Background()
	_, err := c.Send(ctx, sendReq(c.NewBillNo(), "oLeak", 100))
	require.NoError(t, err)
	for _, f := range []Fault{FaultResetBeforeProcessing, FaultPayThenDrop, FaultBadGateway} {
		s.Inject(f, 1)
		_, _ = c.Send(ctx, sendReq(c.NewBillNo(), "oLeak", 100))
	}
	// A handler stuck in FaultSlow while the server closes.
	s.Inject(FaultSlow, 1)
	done := make(chan error, 1)
	go func() {
		_, err := c.Send(ctx, sendReq(c.NewBillNo(), "oLeak2", 100))
		done <- err
	}()
	for len(answers(s, opSend)) < 5 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return with a slow handler in flight")
	}
	require.ErrorIs(t, <-done, redpack.ErrOutcomeUnknown)
	c.CloseIdleConnections()
	var now int
	for range 200 {
		if now = countGoroutines(); now <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("goroutines: %d before, %d after Close", before, now)
}

func countGoroutines() int { return runtime.NumGoroutine() }

// TestServerPrintsNoSecret: a *Server printed with any verb shows neither
// the API key nor the PKCS#12 bundle.
func TestServerPrintsNoSecret(t *testing.T) {
	t.Parallel()
	const key = "SECRETkey0123456789abcdefghijklm"
	s := newTestServer(t, WithMerchant("1234567890", "wxabcdefabcdefabcd", key))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out := fmt.Sprintf(verb, s)
		if strings.Contains(out, key) || strings.Contains(out, "SECRET") {
			t.Errorf("%s of *Server shows the API key: %s", verb, out)
		}
		if !strings.Contains(out, "redacted") {
			t.Errorf("%s of *Server: %s; want the redacting form", verb, out)
		}
	}
}
