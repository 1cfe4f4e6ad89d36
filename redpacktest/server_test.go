package redpacktest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redpack-go/redpack"
)

// TestRequestsRecorded: each request carries its arrival time on the
// server clock, endpoint, TLS facts, answer and injection; ClearRequests
// forgets them but not the ledger.
func TestRequestsRecorded(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	s := newTestServer(t, WithServerClock(clk.Now), WithServerTLS(func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }))
	c := newTestClient(t, s)
	ctx := context.Background()
	t0 := clk.Now()
	mustInject(t, s, EndpointSend, ResultFail("SYSTEMERROR"), 1)
	req := sendReq(newBillNo(t, c), "oRec", 100)
	_, err := c.Send(ctx, req)
	require.NoError(t, err)
	clk.Advance(1500 * time.Millisecond)
	_, err = c.Query(ctx, req.BillNo)
	require.NoError(t, err)

	reqs := s.Requests()
	require.Len(t, reqs, 3)
	for i, want := range []struct {
		ep               Endpoint
		at               time.Time
		answer, injected string
	}{
		{EndpointSend, t0, "SYSTEMERROR", "ResultFail(SYSTEMERROR)"},
		{EndpointSend, t0, "SUCCESS", ""},
		{EndpointQuery, t0.Add(1500 * time.Millisecond), "SUCCESS", ""},
	} {
		r := reqs[i]
		assert.Equal(t, want.ep, r.Endpoint, i)
		assert.Equal(t, http.MethodPost, r.Method)
		assert.Equal(t, pathPrefix+string(want.ep), r.Path)
		assert.True(t, want.at.Equal(r.Time), "request %d at %v, want %v", i, r.Time, want.at)
		assert.Equal(t, want.answer, r.Answer, i)
		assert.Equal(t, want.injected, r.Injected, i)
		assert.Equal(t, uint16(tls.VersionTLS12), r.TLSVersion, "WithServerTLS capped the version")
		require.NotEmpty(t, r.PeerCertificates)
		assert.Equal(t, s.MchID(), r.PeerCertificates[0].Subject.CommonName)
		assert.NotEmpty(t, r.Header.Get("Content-Type"))
		assert.Equal(t, req.BillNo, r.Fields["mch_billno"])
	}
	// Copies: changing one does not change the Server's.
	reqs[0].Fields["mch_billno"] = "changed"
	reqs[0].Body[0] = 'X'
	assert.Equal(t, req.BillNo, s.Requests()[0].Fields["mch_billno"])
	assert.Equal(t, byte('<'), s.Requests()[0].Body[0])

	s.ClearRequests()
	assert.Empty(t, s.Requests())
	assert.Len(t, s.Packets(), 1, "ClearRequests keeps the ledger")
	_, err = c.Query(ctx, req.BillNo)
	require.NoError(t, err)
	assert.Len(t, s.Requests(), 1)
	assert.GreaterOrEqual(t, s.Handshakes(), int64(1))
}

// TestOptionsValidated: an option that cannot be used is an error from
// New, a panic from NewServer and a test failure from NewTestServer;
// nothing listens.
func TestOptionsValidated(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opt  Option
		want string
	}{
		{"negative balance", WithBalance(-1), "WithBalance"},
		{"negative freq limit", WithFreqLimit(-1), "WithFreqLimit"},
		{"negative user count", WithUserDailyLimits(-1, 100), "WithUserDailyLimits"},
		{"negative user amount", WithUserDailyLimits(1, -100), "WithUserDailyLimits"},
		{"negative merchant limit", WithMerchantDailyLimit(-5), "WithMerchantDailyLimit"},
		{"nil clock", WithServerClock(nil), "WithServerClock"},
		{"non-loopback address", WithAddr("0.0.0.0:0"), "loopback"},
		{"public address", WithAddr("8.8.8.8:443"), "loopback"},
		{"address without port", WithAddr("127.0.0.1"), "WithAddr"},
		{"negative processing delay", WithProcessingDelay(-time.Second), "WithProcessingDelay"},
		{"nil TLS hook", WithServerTLS(nil), "WithServerTLS"},
		{"empty mch_id", WithMerchant("", "wx1", DefaultAPIKey), "mch_id"},
		{"mch_id with space", WithMerchant("19 00", "wx1", DefaultAPIKey), "mch_id"},
		{"short API key", WithMerchant("1900000109", "wx1", "tooShortSecretValue"), "32 characters"},
		{"bad mini appid", WithMiniProgramAppID("wx-mini"), "WithMiniProgramAppID"},
		{"nil option", nil, "nil Option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(tc.opt)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "tooShortSecretValue", "the key is never quoted")
			assert.PanicsWithValue(t, err.Error(), func() { NewServer(tc.opt) })
			ft := &fatalTB{TB: t}
			func() {
				defer func() { _ = recover() }()
				NewTestServer(ft, tc.opt)
			}()
			assert.True(t, ft.failed, "NewTestServer fails the test")
		})
	}
}

// fatalTB records Fatal instead of failing the real test.
type fatalTB struct {
	testing.TB
	failed bool
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatal(args ...any) { f.failed = true; panic("fatal") }

// TestNewClientFastRetries: the ready client retries within milliseconds
// by default, and an explicit policy still wins.
func TestNewClientFastRetries(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	c := newTestClient(t, s)
	mustInject(t, s, EndpointSend, ResultFail("SYSTEMERROR"), 2)
	_, err := c.Send(context.Background(), sendReq(newBillNo(t, c), "oFast", 100))
	require.NoError(t, err)
	reqs := s.Requests()
	require.Len(t, reqs, 3)
	for i := 1; i < 3; i++ {
		// The production policy waits at least a second before a retry.
		assert.Less(t, reqs[i].Time.Sub(reqs[i-1].Time), 900*time.Millisecond, "retry %d without the production one-second wait", i)
	}

	c1 := newTestClient(t, s, oneAttempt)
	mustInject(t, s, EndpointSend, ResultFail("SYSTEMERROR"), 1)
	_, err = c1.Send(context.Background(), sendReq(newBillNo(t, c1), "oFast2", 100))
	require.ErrorIs(t, err, redpack.ErrOutcomeUnknown)
	assert.Len(t, s.Requests(), 4, "the caller's policy (one attempt) overrides the fast default")
}

func TestNoGoroutineLeak(t *testing.T) {
	// Not parallel: it counts the process's goroutines.
	before := runtime.NumGoroutine()
	s := NewServer()
	c := s.NewClient(oneAttempt, redpack.WithNodeID(1), redpack.WithTimeout(2*time.Second))
	ctx := context.Background()
	_, err := c.Send(ctx, sendReq(newBillNo(t, c), "oLeak", 100))
	require.NoError(t, err)
	for _, a := range []Answer{Drop(), PayThenDrop(), HTTPStatus(502)} {
		require.NoError(t, s.Inject(EndpointSend, a, 1))
		_, _ = c.Send(ctx, sendReq(newBillNo(t, c), "oLeak", 100))
	}
	// A handler holding its answer while the server closes.
	require.NoError(t, s.Inject(EndpointSend, Process().After(time.Hour), 1))
	done := make(chan error, 1)
	go func() {
		_, err := c.Send(ctx, sendReq(newBillNo(t, c), "oLeak2", 100))
		done <- err
	}()
	for len(answers(s, EndpointSend)) < 5 || answers(s, EndpointSend)[4] == "" {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return with a delayed handler in flight")
	}
	require.ErrorIs(t, <-done, redpack.ErrOutcomeUnknown)
	c.CloseIdleConnections()
	var now int
	for range 200 {
		if now = runtime.NumGoroutine(); now <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("goroutines: %d before, %d after Close", before, now)
}

// TestServerPrintsNoSecret: neither a *Server printed with any verb nor a
// copy of the Server value shows the API key or the PKCS#12 bundle.
func TestServerPrintsNoSecret(t *testing.T) {
	t.Parallel()
	const key = "SECRETkey0123456789abcdefghijklm"
	s := newTestServer(t, WithMerchant("1234567890", "wxabcdefabcdefabcd", key))
	p12 := s.MerchantPKCS12()
	keyPEM := s.MerchantKeyPEM()
	leaks := func(out string) bool {
		return strings.Contains(out, key) || strings.Contains(out, "SECRET") ||
			strings.Contains(out, fmt.Sprint(p12[:16])) || strings.Contains(out, fmt.Sprintf("%x", p12[:16])) ||
			strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, string(keyPEM[40:80]))
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out := fmt.Sprintf(verb, s)
		assert.False(t, leaks(out), "%s of *Server: %s", verb, out)
		assert.Contains(t, out, "redacted", "%s of *Server", verb)
	}
	// A copy of the value (issue 8 item 10): fmt prints its fields, and
	// the secrets are behind a func, which fmt prints as an address.
	v := *s
	for _, verb := range []string{"%v", "%+v", "%#v"} {
		out := fmt.Sprintf(verb, v)
		assert.False(t, leaks(out), "%s of Server: %s", verb, out)
	}
	assert.Equal(t, key, s.APIKey(), "the key is still there for the client")
}
