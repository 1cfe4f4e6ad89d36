package redpack_test

// Attempts that never reach WeChat Pay, and secrets on the error paths of answers.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/redpack-go/redpack"
	"github.com/redpack-go/redpack/internal/testcert"
	rt "github.com/redpack-go/redpack/redpacktest"
)

// TestRetryNotSent: attempts that never reach WeChat Pay. A server
// certificate that does not verify cannot change by retrying (issue 8 item
// 9): one attempt, and a hint about RootCAs.
func TestRetryNotSent(t *testing.T) {
	t.Parallel()
	otherCA, err := testcert.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	const once, retried = 1, 3
	tests := []struct {
		name     string
		server   []rt.Option
		cfg      func(*redpack.Config)
		closed   bool
		attempts int
		hint     string
	}{
		{name: "dial refused (closed port)", closed: true, attempts: retried},
		{name: "client trusts another CA", cfg: func(c *redpack.Config) { c.RootCAs = otherCA.Pool() }, attempts: once, hint: "RootCAs"},
		{name: "client trusts only the system roots", cfg: func(c *redpack.Config) { c.RootCAs = nil }, attempts: once, hint: "RootCAs"},
		{name: "server trusts another CA (TLS 1.2)", server: []rt.Option{rt.WithServerTLS(func(c *tls.Config) {
			c.ClientCAs, c.MaxVersion = otherCA.Pool(), tls.VersionTLS12
		})}, attempts: retried},
		{name: "server offers only TLS 1.1", server: []rt.Option{rt.WithServerTLS(func(c *tls.Config) {
			c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		})}, attempts: retried},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, tt.server...)
			cfg := srv.Config()
			if tt.closed {
				cfg.BaseURL = "https://" + closedAddr(t)
			}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			c, err := redpack.NewClient(cfg, redpack.WithRetryPolicy(rt.FastRetryPolicy()))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Send(t.Context(), sendReq("NOTSENT1"))
			checkErrorShape(t, err, "notsent", tt.attempts, []error{redpack.ErrNotSent}, []error{redpack.ErrOutcomeUnknown})
			checkBillNo(t, err, "NOTSENT1")
			if tt.hint != "" && !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("%q lacks the hint %q", err, tt.hint)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("the fake got %d requests, want 0", n)
			}
			if !tt.closed {
				if h := srv.Handshakes(); h > int64(tt.attempts) {
					t.Errorf("the fake saw %d handshakes, want at most one per attempt (%d)", h, tt.attempts)
				}
			}
		})
	}
}

// TestServerRefusesClientCertTLS13 pins what happens when the server
// refuses the merchant certificate under TLS 1.3: the client's handshake
// completes before the server's verdict, so the request may count as
// written: unknown, never "not sent" (the safe side).
func TestServerRefusesClientCertTLS13(t *testing.T) {
	t.Parallel()
	otherCA, err := testcert.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	srv := newFake(t, rt.WithServerTLS(func(c *tls.Config) { c.ClientCAs, c.MinVersion = otherCA.Pool(), tls.VersionTLS13 }))
	_, err = srv.NewClient().Send(t.Context(), sendReq("TLS13REFUSED"))
	if got := redpack.OutcomeOf(err); got != redpack.OutcomeUnknown {
		t.Errorf("OutcomeOf(%v) = %v, want UNKNOWN", err, got)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("the fake got %d requests, want 0", n)
	}
}

// ctxDropper is a wrapper that sends every request with a context of its
// own, so the Client's trace never sees the connection.
type ctxDropper struct{ next http.RoundTripper }

func (d ctxDropper) RoundTrip(req *http.Request) (*http.Response, error) {
	return d.next.RoundTrip(req.WithContext(context.Background()))
}

// TestWrapperDroppingContextIsNotNotSent: a request that reached WeChat Pay
// and paid, whose connection then broke, behind a wrapper that replaced the
// context: the Client cannot see the connection, so the outcome is unknown,
// never "not sent" (a caller would move on to a new bill number and pay
// twice). A closed port behind the same wrapper is unknown too: the Client
// cannot prove it was not sent.
func TestWrapperDroppingContextIsNotNotSent(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	script(t, srv, rt.EndpointSend, rt.PayThenDrop())
	wrap := redpack.WithTransportWrapper(func(next http.RoundTripper) http.RoundTripper { return ctxDropper{next} })
	opts := []redpack.Option{wrap, redpack.WithRetryPolicy(redpack.RetryPolicy{MaxAttempts: 1})}
	c, err := redpack.NewClient(srv.Config(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Send(t.Context(), sendReq("WRAPDROP1"))
	if got := redpack.OutcomeOf(err); got != redpack.OutcomeUnknown || errors.Is(err, redpack.ErrNotSent) {
		t.Errorf("paid, connection dropped, behind a context-dropping wrapper: %v (outcome %v); want UNKNOWN, not ErrNotSent", err, got)
	}
	if paid := srv.TotalPaid(); paid != 100 {
		t.Fatalf("the fake paid %d fen; the test needs the send to have paid", paid)
	}

	cfg := srv.Config()
	cfg.BaseURL = "https://" + closedAddr(t)
	closed, err := redpack.NewClient(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := closed.Send(t.Context(), sendReq("WRAPDROP2")); redpack.OutcomeOf(err) != redpack.OutcomeUnknown {
		t.Errorf("closed port behind a context-dropping wrapper: %v; want UNKNOWN", err)
	}
}

// closedAddr returns a loopback address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	addr, err := testcert.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestSecretsNeverInAnswerErrors pushes WeChat Pay's answers through every
// error path with a recognisable API key, and checks that neither the
// errors, nor the log, nor the wire carry it or the private key. (The
// printers and construction errors are TestSecretsNeverPrinted.)
func TestSecretsNeverInAnswerErrors(t *testing.T) {
	t.Parallel()
	const apiKey = "SECRETKEY" + "Pad0Pad1Pad2Pad3Pad4Pad"
	srv := newFake(t, rt.WithMerchant("1900000109", "wxd930ea5d5a258f4f", apiKey))
	var (
		mu   sync.Mutex
		logs strings.Builder
	)
	logger := slog.New(logFunc(func(r slog.Record) {
		mu.Lock()
		defer mu.Unlock()
		logs.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool { logs.WriteString(" " + a.String()); return true })
		logs.WriteString("\n")
	}))
	c := srv.NewClient(redpack.WithLogger(logger))
	markers := []string{apiKey, "SECRETKEY", "PRIVATE KEY"}
	for _, line := range strings.Split(string(srv.MerchantKeyPEM()), "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			markers = append(markers, line)
		}
	}
	errs := map[string]error{}
	script(t, srv, rt.EndpointSend, rt.ResultFail("SYSTEMERROR"), rt.Drop(), rt.ResultFail("SYSTEMERROR"))
	_, errs["unknown"] = c.Send(t.Context(), sendReq("SECRET2"))
	script(t, srv, rt.EndpointSend, rt.ResultFail("NOTENOUGH"))
	_, errs["APIError"] = c.Send(t.Context(), sendReq("SECRET3"))
	if err := srv.AddReactor(rt.EndpointSend, func(req rt.Request) (rt.Answer, bool) {
		return rt.Raw(http.StatusBadGateway, "text/html", []byte("<html>502 while handling "+string(req.Body)+"</html>")), req.Fields["mch_billno"] == "SECRET4"
	}); err != nil {
		t.Fatal(err)
	}
	_, errs["DecodeError with the request echoed"] = c.Send(t.Context(), sendReq("SECRET4"))
	script(t, srv, rt.EndpointQuery, rt.ResultFail("NOT_FOUND"))
	_, errs["Query NOT_FOUND"] = c.Query(t.Context(), "SECRET5")
	script(t, srv, rt.EndpointQuery, rt.ResultFail("SIGN_ERROR"))
	_, errs["Check of a refused query"] = c.Check(t.Context(), sendReq("SECRET6").Payment())
	wrongSign := rt.Process().Rewrite(func(f map[string]string) { f["sign"] = strings.Repeat("A", 32) })
	script(t, srv, rt.EndpointSend, wrongSign, wrongSign, wrongSign)
	_, errs["answer sign wrong"] = c.Send(t.Context(), sendReq("SECRET7"))
	for name, err := range errs {
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%v %+v %#v", err, err, err)} {
			for _, m := range markers {
				if strings.Contains(s, m) {
					t.Errorf("%s leaks %q: %s", name, m, s)
				}
			}
		}
	}
	mu.Lock()
	l := logs.String()
	mu.Unlock()
	if !strings.Contains(l, "SECRET2") || !strings.Contains(l, "outcome=UNKNOWN") {
		t.Errorf("the log lacks the unknown outcome; the test would not see a leak:\n%s", l)
	}
	for i, r := range srv.Requests() {
		for _, m := range markers {
			if strings.Contains(string(r.Body), m) || strings.Contains(fmt.Sprint(r.Header), m) {
				t.Errorf("request %d carries %q", i+1, m)
			}
		}
	}
	for _, m := range markers {
		if strings.Contains(l, m) {
			t.Errorf("the log carries %q", m)
		}
	}
}
