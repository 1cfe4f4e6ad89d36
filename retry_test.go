package redpack

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redpack-go/redpack/internal/testcert"
)

// Retry rules, one row each (STYLE 8). Every row runs Send against the
// scripted server and checks the outcome, how many requests the server got,
// the error chain and the bill number on the error.
func TestRetryRules(t *testing.T) {
	t.Parallel()
	const html502 = "<html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>"
	tests := []struct {
		name         string
		opts         []Option
		script       []answer
		wantRequests int
		wantOutcome  Outcome
		wantIs       []error // errors.Is must hold for each
		wantNotIs    []error
		wantType     string // "", "api", "unknown", "notsent"
		wantAttempts int    // Attempts of an *UnknownOutcomeError or *NotSentError
		wantLast     string // LastAnswer.ErrCode of an *UnknownOutcomeError
	}{
		{name: "SYSTEMERROR retried, then success",
			script: []answer{failAnswer("SYSTEMERROR"), success()}, wantRequests: 2, wantOutcome: OutcomeOK},
		{name: "SYSTEMERROR exhausted is unknown",
			script:       []answer{failAnswer("SYSTEMERROR"), failAnswer("SYSTEMERROR"), failAnswer("SYSTEMERROR")},
			wantRequests: 3, wantOutcome: OutcomeUnknown, wantType: "unknown", wantAttempts: 3,
			wantIs: []error{ErrOutcomeUnknown, ErrSystem}, wantNotIs: []error{ErrNotSent}},
		{name: "FREQ_LIMIT retried",
			script: []answer{failAnswer("FREQ_LIMIT"), failAnswer("FREQ_LIMIT"), success()}, wantRequests: 3, wantOutcome: OutcomeOK},
		{name: "SECOND_OVER_LIMITED retried like FREQ_LIMIT",
			script: []answer{failAnswer("SECOND_OVER_LIMITED"), success()}, wantRequests: 2, wantOutcome: OutcomeOK},
		{name: "numeric code with return_code FAIL retried",
			script: []answer{returnFail("268458547"), success()}, wantRequests: 2, wantOutcome: OutcomeOK},
		{name: "numeric code exhausted is unknown",
			script:       []answer{returnFail("268458547"), returnFail("268458547"), returnFail("268458547")},
			wantRequests: 3, wantOutcome: OutcomeUnknown, wantType: "unknown", wantAttempts: 3, wantIs: []error{ErrOutcomeUnknown}},
		{name: "return_code FAIL without code retried",
			script: []answer{reply(func(map[string]string) []kv {
				return []kv{{"return_code", "FAIL"}, {"return_msg", "签名失败"}}
			}), success()}, wantRequests: 2, wantOutcome: OutcomeOK},
		{name: "HTTP 502 HTML retried",
			script: []answer{httpAnswer(http.StatusBadGateway, "text/html", html502), success()}, wantRequests: 2, wantOutcome: OutcomeOK},
		{name: "HTTP 200 HTML retried",
			script: []answer{httpAnswer(http.StatusOK, "text/html", html502), success()}, wantRequests: 2, wantOutcome: OutcomeOK},
		{name: "empty body retried",
			script: []answer{httpAnswer(http.StatusOK, "text/xml", ""), success()}, wantRequests: 2, wantOutcome: OutcomeOK},
		{name: "connection dropped after the request retried",
			script: []answer{hijack(), success()}, wantRequests: 2, wantOutcome: OutcomeOK},
		{name: "connection dropped on every attempt is unknown",
			script:       []answer{hijack(), hijack(), hijack()},
			wantRequests: 3, wantOutcome: OutcomeUnknown, wantType: "unknown", wantAttempts: 3,
			wantIs: []error{ErrOutcomeUnknown}, wantNotIs: []error{ErrNotSent}},
		{name: "PROCESSING not retried, pending",
			script: []answer{failAnswer("PROCESSING")}, wantRequests: 1, wantOutcome: OutcomePending,
			wantType: "unknown", wantAttempts: 1, wantIs: []error{ErrOutcomeUnknown, ErrProcessing}},
		// Issue 8 item 3: FATAL_ERROR is CONFLICT, never a pending send.
		{name: "FATAL_ERROR not retried, conflict",
			script: []answer{failAnswer("FATAL_ERROR")}, wantRequests: 1, wantOutcome: OutcomeConflict,
			wantType: "api", wantIs: []error{ErrConflict}, wantNotIs: []error{ErrOutcomeUnknown}},
		{name: "FATAL_ERROR after a delivered attempt is still conflict",
			script: []answer{hijack(), failAnswer("FATAL_ERROR")}, wantRequests: 2, wantOutcome: OutcomeConflict,
			wantType: "api", wantIs: []error{ErrConflict}, wantNotIs: []error{ErrOutcomeUnknown}},
		// Issue 8 item 6: a success echoing another recipient, amount or
		// share count is not this request's success.
		{name: "success echoing another openid is unknown",
			script: []answer{success(kv{"re_openid", "oSomeoneElse"})}, wantRequests: 1, wantOutcome: OutcomeUnknown,
			wantType: "unknown", wantAttempts: 1, wantIs: []error{ErrOutcomeUnknown}},
		{name: "success echoing another amount is unknown",
			script: []answer{success(kv{"total_amount", "20000"})}, wantRequests: 1, wantOutcome: OutcomeUnknown,
			wantType: "unknown", wantAttempts: 1, wantIs: []error{ErrOutcomeUnknown}},
		{name: "success echoing another total_num is unknown",
			script: []answer{success(kv{"total_num", "3"})}, wantRequests: 1, wantOutcome: OutcomeUnknown,
			wantType: "unknown", wantAttempts: 1, wantIs: []error{ErrOutcomeUnknown}},
		{name: "success echoing the amount without CDATA or with spaces is fine",
			script: []answer{success(kv{"total_amount", " 100 "})}, wantRequests: 1, wantOutcome: OutcomeOK},
		{name: "NOTENOUGH not retried, final",
			script: []answer{failAnswer("NOTENOUGH")}, wantRequests: 1, wantOutcome: OutcomeFinal,
			wantType: "api", wantIs: []error{ErrNotEnough}, wantNotIs: []error{ErrOutcomeUnknown}},
		{name: "SENDNUM_LIMIT not retried, final",
			script: []answer{failAnswer("SENDNUM_LIMIT")}, wantRequests: 1, wantOutcome: OutcomeFinal,
			wantType: "api", wantIs: []error{ErrSendNumLimit}, wantNotIs: []error{ErrOutcomeUnknown}},
		{name: "SEND_FAILED not retried, final",
			script: []answer{failAnswer("SEND_FAILED")}, wantRequests: 1, wantOutcome: OutcomeFinal,
			wantType: "api", wantIs: []error{ErrSendFailed}},
		{name: "SIGN_ERROR not retried, rejected",
			script: []answer{failAnswer("SIGN_ERROR")}, wantRequests: 1, wantOutcome: OutcomeRejected,
			wantType: "api", wantIs: []error{ErrSign}, wantNotIs: []error{ErrOutcomeUnknown}},
		{name: "CA_ERROR not retried, rejected",
			script: []answer{returnFail("CA_ERROR")}, wantRequests: 1, wantOutcome: OutcomeRejected,
			wantType: "api", wantIs: []error{ErrCA}},
		{name: "PARAM_ERROR not retried, rejected",
			script: []answer{failAnswer("PARAM_ERROR")}, wantRequests: 1, wantOutcome: OutcomeRejected,
			wantType: "api", wantIs: []error{ErrParam}},
		// Issue 8 item 5: an unknown outcome matches no FINAL or REJECTED
		// sentinel; the last answer is readable as LastAnswer only.
		{name: "final answer after a delivered attempt is unknown",
			script:       []answer{failAnswer("SYSTEMERROR"), failAnswer("SIGN_ERROR")},
			wantRequests: 2, wantOutcome: OutcomeUnknown, wantType: "unknown", wantAttempts: 2, wantLast: "SIGN_ERROR",
			wantIs: []error{ErrOutcomeUnknown}, wantNotIs: []error{ErrSign}},
		{name: "dropped then NOTENOUGH is unknown (the first may have landed)",
			script:       []answer{hijack(), failAnswer("NOTENOUGH")},
			wantRequests: 2, wantOutcome: OutcomeUnknown, wantType: "unknown", wantAttempts: 2, wantLast: "NOTENOUGH",
			wantIs: []error{ErrOutcomeUnknown}, wantNotIs: []error{ErrNotEnough}},
		{name: "attempts exhausted carry MaxAttempts",
			opts:         []Option{WithRetryPolicy(RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond})},
			script:       []answer{failAnswer("SYSTEMERROR"), hijack(), httpAnswer(503, "text/plain", "busy"), returnFail("1"), failAnswer("FREQ_LIMIT")},
			wantRequests: 5, wantOutcome: OutcomeUnknown, wantType: "unknown", wantAttempts: 5,
			wantIs: []error{ErrOutcomeUnknown, ErrFreqLimit}},
		{name: "MaxAttempts 1 disables retries",
			opts:         []Option{WithRetryPolicy(RetryPolicy{MaxAttempts: 1})},
			script:       []answer{failAnswer("SYSTEMERROR")},
			wantRequests: 1, wantOutcome: OutcomeUnknown, wantType: "unknown", wantAttempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, ts := newTestClient(t, tt.opts...)
			ts.push(tt.script...)
			const bill = "RETRY000000000000000000001"
			res, err := c.Send(t.Context(), sendReq(bill))
			reqs := ts.requests()
			if len(reqs) != tt.wantRequests {
				t.Errorf("server got %d requests, want %d", len(reqs), tt.wantRequests)
			}
			checkSameBody(t, reqs)
			if got := OutcomeOf(err); got != tt.wantOutcome {
				t.Errorf("OutcomeOf(%v) = %v, want %v", err, got, tt.wantOutcome)
			}
			if tt.wantOutcome == OutcomeOK {
				if err != nil || res == nil || res.BillNo != bill {
					t.Fatalf("Send = %+v, %v; want success for %s", res, err, bill)
				}
				return
			}
			if res != nil {
				t.Errorf("Send returned a result with an error: %+v", res)
			}
			checkErrorShape(t, err, tt.wantType, tt.wantAttempts, tt.wantIs, tt.wantNotIs)
			checkBillNo(t, err, bill)
			var ue *UnknownOutcomeError
			if tt.wantLast != "" && (!errors.As(err, &ue) || ue.LastAnswer == nil || ue.LastAnswer.ErrCode != tt.wantLast) {
				t.Errorf("err = %v; want LastAnswer.ErrCode %s", err, tt.wantLast)
			}
			var ae *APIError
			if errors.As(err, &ae) && OutcomeOf(err) != ae.Outcome() {
				t.Errorf("an *APIError inside an error of outcome %v", OutcomeOf(err))
			}
		})
	}
}

// checkSameBody asserts every attempt sent the first attempt's bytes.
func checkSameBody(t *testing.T, reqs []received) {
	t.Helper()
	for i, r := range reqs {
		if len(r.Body) == 0 {
			t.Errorf("attempt %d: empty body", i+1)
		}
		if !bytes.Equal(r.Body, reqs[0].Body) {
			t.Errorf("attempt %d body differs from the first:\n got %s\nwant %s", i+1, r.Body, reqs[0].Body)
		}
	}
}

func checkErrorShape(t *testing.T, err error, wantType string, wantAttempts int, is, notIs []error) {
	t.Helper()
	if err == nil {
		t.Fatal("err = nil")
	}
	var (
		ae *APIError
		ue *UnknownOutcomeError
		ns *NotSentError
	)
	switch wantType {
	case "api":
		if !errors.As(err, &ae) || errors.As(err, &ue) || errors.As(err, &ns) {
			t.Errorf("err = %T %v; want a bare *APIError", err, err)
		}
	case "unknown":
		if !errors.As(err, &ue) {
			t.Fatalf("err = %T %v; want an *UnknownOutcomeError", err, err)
		}
		if ue.Attempts != wantAttempts {
			t.Errorf("Attempts = %d, want %d", ue.Attempts, wantAttempts)
		}
	case "notsent":
		if !errors.As(err, &ns) || errors.As(err, &ue) {
			t.Fatalf("err = %T %v; want a *NotSentError", err, err)
		}
		if ns.Attempts != wantAttempts {
			t.Errorf("Attempts = %d, want %d", ns.Attempts, wantAttempts)
		}
	}
	for _, target := range is {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(%v, %v) = false", err, target)
		}
	}
	for _, target := range notIs {
		if errors.Is(err, target) {
			t.Errorf("errors.Is(%v, %v) = true", err, target)
		}
	}
}

// Rules that need no server answer: the request never reaches a handler.
func TestRetryNotSent(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	otherCA, err := testcert.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	otherServer, err := otherCA.Server()
	if err != nil {
		t.Fatal(err)
	}
	// Issue 8 item 9: a server certificate that does not verify cannot
	// change by retrying: one attempt, and a hint about RootCAs.
	const once, retried = 1, 3
	tests := []struct {
		name     string
		server   func(*tls.Config) // nil: no server at all (closed port)
		cfg      func(*Config)
		attempts int
		hint     string
	}{
		{name: "dial refused (closed port)", attempts: retried},
		{name: "client trusts another CA",
			server: func(*tls.Config) {},
			cfg:    func(c *Config) { c.RootCAs = otherCA.Pool() }, attempts: once, hint: "RootCAs"},
		{name: "client trusts only the system roots",
			server: func(*tls.Config) {},
			cfg:    func(c *Config) { c.RootCAs = nil }, attempts: once, hint: "RootCAs"},
		{name: "server certificate from another CA",
			server: func(c *tls.Config) { c.Certificates = []tls.Certificate{otherServer.TLS()} }, attempts: once, hint: "RootCAs"},
		{name: "server trusts another CA (TLS 1.2)",
			server: func(c *tls.Config) { c.ClientCAs = otherCA.Pool(); c.MaxVersion = tls.VersionTLS12 }, attempts: retried},
		{name: "server offers only TLS 1.1",
			server: func(c *tls.Config) { c.MinVersion = tls.VersionTLS10; c.MaxVersion = tls.VersionTLS11 }, attempts: retried},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := Config{MchID: testMchID, AppID: testAppID, APIKey: testAPIKey, PKCS12: p.p12, RootCAs: p.ca.Pool()}
			var ts *testServer
			if tt.server == nil {
				cfg.BaseURL = "https://" + closedAddr(t)
			} else {
				ts = newTestServer(t, tt.server)
				cfg.BaseURL = ts.URL
			}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			c := newClientFor(t, cfg)
			const bill = "NOTSENT1"
			_, err := c.Send(t.Context(), sendReq(bill))
			if got := OutcomeOf(err); got != OutcomeNotSent {
				t.Errorf("OutcomeOf(%v) = %v, want NOT_SENT", err, got)
			}
			checkErrorShape(t, err, "notsent", tt.attempts, []error{ErrNotSent}, []error{ErrOutcomeUnknown})
			checkBillNo(t, err, bill)
			if tt.hint != "" && !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("%q lacks the hint %q", err, tt.hint)
			}
			if ts != nil {
				if n := len(ts.requests()); n != 0 {
					t.Errorf("server handler got %d requests, want 0", n)
				}
				if h := ts.handshakes.Load(); h != int64(tt.attempts) {
					t.Errorf("server saw %d handshakes, want one per attempt (%d)", h, tt.attempts)
				}
			}
		})
	}
}

// TestServerRefusesClientCertTLS13 pins what happens when the server refuses
// the merchant certificate under TLS 1.3: the client's handshake completes
// before the server has checked the certificate, the request is written and
// the refusal arrives as an alert instead of an answer. The client cannot
// tell that from a reset after delivery, so the safe reading is unknown.
func TestServerRefusesClientCertTLS13(t *testing.T) {
	t.Parallel()
	otherCA, err := testcert.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(c *tls.Config) { c.ClientCAs = otherCA.Pool(); c.MinVersion = tls.VersionTLS13 })
	c := newClientFor(t, testConfig(t, ts))
	_, err = c.Send(t.Context(), sendReq("TLS13REFUSED"))
	if got := OutcomeOf(err); got != OutcomeUnknown {
		t.Errorf("OutcomeOf(%v) = %v, want UNKNOWN", err, got)
	}
	if n := len(ts.requests()); n != 0 {
		t.Errorf("server handler got %d requests, want 0", n)
	}
	checkBillNo(t, err, "TLS13REFUSED")
}

// closedAddr returns a loopback address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// logFunc is a slog handler calling f for every record (test hook).
type logFunc func(slog.Record)

func (f logFunc) Enabled(context.Context, slog.Level) bool      { return true }
func (f logFunc) Handle(_ context.Context, r slog.Record) error { f(r); return nil }
func (f logFunc) WithAttrs([]slog.Attr) slog.Handler            { return f }
func (f logFunc) WithGroup(string) slog.Handler                 { return f }

func attemptOf(r slog.Record) int64 {
	var n int64
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "attempt" {
			n = a.Value.Int64()
			return false
		}
		return true
	})
	return n
}

// A context cancelled while the client waits between attempts ends the
// call at once: unknown when an attempt was written, not sent otherwise. The
// backoff is an hour, so only a prompt stop lets the test finish.
func TestRetryContextCancelledDuringBackoff(t *testing.T) {
	t.Parallel()
	hourly := WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BaseDelay: time.Hour, MaxDelay: time.Hour})
	tests := []struct {
		name    string
		closed  bool // no server: the attempt is never written
		wantOut Outcome
		wantTyp string
	}{
		{name: "after a delivered attempt", wantOut: OutcomeUnknown, wantTyp: "unknown"},
		{name: "after an attempt that never connected", closed: true, wantOut: OutcomeNotSent, wantTyp: "notsent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			// The client logs each attempt before it waits: cancel there.
			logger := slog.New(logFunc(func(r slog.Record) {
				if attemptOf(r) == 1 {
					cancel()
				}
			}))
			var ts *testServer
			cfg := Config{}
			if tt.closed {
				ts = newTestServer(t) // only for the certificates
				cfg = testConfig(t, ts)
				cfg.BaseURL = "https://" + closedAddr(t)
			} else {
				ts = newTestServer(t)
				ts.push(failAnswer("SYSTEMERROR"))
				cfg = testConfig(t, ts)
			}
			c := newClientFor(t, cfg, hourly, WithLogger(logger))
			start := time.Now()
			_, err := c.Send(ctx, sendReq("CANCEL1"))
			if elapsed := time.Since(start); elapsed > time.Minute {
				t.Errorf("Send took %v after cancel", elapsed)
			}
			if got := OutcomeOf(err); got != tt.wantOut {
				t.Errorf("OutcomeOf(%v) = %v, want %v", err, got, tt.wantOut)
			}
			// Issue 8 item 16: the context's cause is kept.
			checkErrorShape(t, err, tt.wantTyp, 1, []error{context.Canceled}, nil)
			checkBillNo(t, err, "CANCEL1")
		})
	}
}

func TestRetryContextCancelledBeforeSend(t *testing.T) {
	t.Parallel()
	c, ts := newTestClient(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.Send(ctx, sendReq("EARLY1"))
	checkErrorShape(t, err, "notsent", 0, []error{ErrNotSent, context.Canceled}, []error{ErrOutcomeUnknown})
	checkBillNo(t, err, "EARLY1")
	if n := len(ts.requests()); n != 0 {
		t.Errorf("server got %d requests, want 0", n)
	}
}

func TestRetryPolicyDelay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    RetryPolicy
	}{
		{"doubling capped", RetryPolicy{MaxAttempts: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}},
		{"base equals max", RetryPolicy{MaxAttempts: 3, BaseDelay: time.Second, MaxDelay: time.Second}},
		{"default", DefaultRetryPolicy()},
		{"tiny", tinyRetry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.p
			for n := 1; n <= 12; n++ {
				// Without jitter: BaseDelay·2^(n-1), capped.
				lo := p.BaseDelay
				for i := 1; i < n && lo < p.MaxDelay; i++ {
					lo *= 2
				}
				lo = min(lo, p.MaxDelay)
				hi := min(lo+lo/4, p.MaxDelay)
				seen := map[time.Duration]bool{}
				for range 200 {
					d := p.delay(n)
					if d < lo || d > hi || d < p.BaseDelay || d > p.MaxDelay {
						t.Fatalf("delay(%d) = %v, want within [%v, %v] and [BaseDelay %v, MaxDelay %v]", n, d, lo, hi, p.BaseDelay, p.MaxDelay)
					}
					seen[d] = true
				}
				if hi > lo && len(seen) < 2 {
					t.Errorf("delay(%d) never varied over 200 draws: no jitter", n)
				}
			}
		})
	}
	if got := DefaultRetryPolicy(); got.BaseDelay < time.Second || got.MaxAttempts < 1 || got.MaxDelay < got.BaseDelay {
		t.Errorf("DefaultRetryPolicy() = %+v, want BaseDelay >= 1s (the official minimum retry interval)", got)
	}
	for _, bad := range []RetryPolicy{{}, {MaxAttempts: 1, BaseDelay: -1}, {MaxAttempts: 2, BaseDelay: 2 * time.Second, MaxDelay: time.Second}} {
		if err := WithRetryPolicy(bad)(&options{}); err == nil {
			t.Errorf("WithRetryPolicy(%+v) accepted", bad)
		}
	}
}

// A rate limiter that cannot grant a token before the deadline stops the
// call before anything is written: not sent, and the server sees nothing.
func TestRateLimitWaitBeyondDeadlineIsNotSent(t *testing.T) {
	t.Parallel()
	c, ts := newTestClient(t, WithRateLimit(0.001, 1)) // one token, the next in 1000 s
	ts.push(success())
	if _, err := c.Send(t.Context(), sendReq("RATE1")); err != nil {
		t.Fatalf("first Send: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err := c.Send(ctx, sendReq("RATE2"))
	var ns *NotSentError
	if !errors.As(err, &ns) || errors.Is(err, ErrOutcomeUnknown) || OutcomeOf(err) != OutcomeNotSent {
		t.Errorf("err = %v; want a *NotSentError", err)
	}
	checkBillNo(t, err, "RATE2")
	if ns != nil && ns.Attempts != 1 {
		t.Errorf("Attempts = %d, want 1: a refused wait is not retried", ns.Attempts)
	}
	if n := len(ts.requests()); n != 1 {
		t.Errorf("server got %d requests, want 1", n)
	}
}
