package redpacktest

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redpack-go/redpack"
)

// BenchmarkFakeThroughput sends red packets through a redpack.Client to the
// fake with rate limiting off, from 32 goroutines (SetParallelism(16) on 2
// CPUs): the end-to-end figure of client plus fake over loopback mutual TLS.
// It reports sends/s besides ns/op.
func BenchmarkFakeThroughput(b *testing.B) {
	s := NewServer(WithFreqLimit(0), WithBalance(1<<60), WithMerchantDailyLimit(1<<60),
		WithUserDailyLimits(1<<30, 1<<60))
	defer s.Close()
	c := s.NewClient()
	defer c.CloseIdleConnections()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, err := c.Send(context.Background(), redpack.SendRequest{Packet: redpack.Packet{
				BillNo: "B" + strconv.FormatInt(n.Add(1), 10), OpenID: "oBench" + strconv.FormatInt(n.Load()%1000, 10), Amount: 100,
				SendName: "压测", Wishing: "恭喜发财", ActName: "吞吐", Remark: "bench"}})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sends/s")
}

// TestClientRateLimitAvoidsFreqLimit shows WithRateLimit turning a burst
// into waiting: against a fake limited to 4 sends a second, a burst of 8
// concurrent sends without the option meets FREQ_LIMIT, and the same burst
// through a client limited to 3 a second meets none.
func TestClientRateLimitAvoidsFreqLimit(t *testing.T) {
	t.Parallel()
	burst := func(t *testing.T, s *Server, c *redpack.Client, n int) (freqLimited int) {
		t.Helper()
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				c.Send(context.Background(), redpack.SendRequest{Packet: redpack.Packet{BillNo: "RATE" + strconv.Itoa(i), OpenID: "oRate" + strconv.Itoa(i), Amount: 100,
					SendName: "限速", Wishing: "w", ActName: "a", Remark: "r"}})
			})
		}
		wg.Wait()
		for _, r := range s.Requests() {
			if r.Answer == "FREQ_LIMIT" {
				freqLimited++
			}
		}
		return freqLimited
	}
	t.Run("without the option", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t, WithFreqLimit(4))
		c := newTestClient(t, s, oneAttempt)
		if got := burst(t, s, c, 8); got == 0 {
			t.Errorf("a burst of 8 against a limit of 4/s met no FREQ_LIMIT; the control case proves nothing")
		}
	})
	t.Run("with WithRateLimit", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t, WithFreqLimit(4))
		c := newTestClient(t, s, oneAttempt, redpack.WithRateLimit(3, 1))
		if got := burst(t, s, c, 6); got != 0 {
			t.Errorf("%d FREQ_LIMIT answers through a client limited to 3/s against a fake allowing 4/s", got)
		}
		if got := len(s.Packets()); got != 6 {
			t.Errorf("%d packets paid, want 6", got)
		}
	})
}
