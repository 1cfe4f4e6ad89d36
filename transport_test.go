package redpack

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// httpsProxy is a real CONNECT proxy on loopback, reached over TLS, that
// asks every client for a certificate and records what it was offered.
type httpsProxy struct {
	*httptest.Server
	connects     atomic.Int64
	offeredCerts atomic.Int64 // handshakes in which the client sent a certificate
}

func newHTTPSProxy(t *testing.T) *httpsProxy {
	t.Helper()
	p := &httpsProxy{}
	p.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		p.connects.Add(1)
		upstream, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer upstream.Close()
		w.WriteHeader(http.StatusOK)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		var wg sync.WaitGroup
		wg.Go(func() {
			io.Copy(upstream, buf) //nolint:errcheck // a tunnel ends with either side
			upstream.(*net.TCPConn).CloseWrite()
		})
		io.Copy(conn, upstream) //nolint:errcheck
		conn.Close()
		wg.Wait()
	}))
	p.Config.ErrorLog = log.New(io.Discard, "", 0)
	p.TLS = &tls.Config{
		Certificates: []tls.Certificate{sharedPKI(t).server.TLS()},
		ClientAuth:   tls.RequestClientCert,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) > 0 {
				p.offeredCerts.Add(1)
			}
			return nil
		},
	}
	p.StartTLS()
	t.Cleanup(p.Close)
	return p
}

// TestHTTPSProxyNeverSeesTheCertificate is the regression test for issue 8
// item 8: through a real HTTPS proxy, the API host gets the merchant
// certificate (its mutual TLS succeeds) and the proxy never is offered it.
func TestHTTPSProxyNeverSeesTheCertificate(t *testing.T) {
	t.Parallel()
	proxy := newHTTPSProxy(t)
	ts := newMinimalServer(t)
	c := newClientFor(t, mtlsConfig(t, ts.URL), WithProxy(mustURL(t, proxy.URL)))
	if _, err := c.Send(t.Context(), sendReq("PROXY1")); err != nil {
		t.Fatalf("Send through the proxy: %v", err)
	}
	if n := proxy.connects.Load(); n != 1 {
		t.Fatalf("proxy saw %d CONNECTs, want 1 (the test would prove nothing)", n)
	}
	if n := proxy.offeredCerts.Load(); n != 0 {
		t.Errorf("the proxy was offered the merchant certificate in %d handshake(s)", n)
	}
	if peers, _ := ts.last(); len(peers) == 0 || peers[0].Subject.CommonName != testMchID {
		t.Errorf("the API host did not get the merchant certificate")
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// countingTransport counts the requests it passes on.
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// TestTransportWrapper (issue 9 §5): a wrapper sees every attempt, and the
// Client keeps mutual TLS, the one pool, the "not sent" signal and the
// no-redirect rule.
func TestTransportWrapper(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	wrap := WithTransportWrapper(func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt, &n} })

	ts := newMinimalServer(t)
	c := newClientFor(t, mtlsConfig(t, ts.URL), wrap)
	for _, bill := range []string{"WRAP1", "WRAP2"} {
		if _, err := c.Send(t.Context(), sendReq(bill)); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	redirecting := newMinimalServer(t)
	redirecting.redirect = ts.URL + epSend.path
	rc := newClientFor(t, mtlsConfig(t, redirecting.URL), wrap, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	if _, err := rc.Send(t.Context(), sendReq("WRAP3")); OutcomeOf(err) != OutcomeUnknown {
		t.Errorf("a redirect behind the wrapper: %v; want UNKNOWN (not followed)", err)
	}
	if got := n.Load(); got != 3 {
		t.Errorf("wrapper counted %d requests, want 3 (one per attempt, the redirect not followed)", got)
	}
	if h := ts.handshakes.Load(); h != 1 {
		t.Errorf("%d TLS handshakes for two sends, want 1 (the pool is kept)", h)
	}
	if peers, _ := ts.last(); len(peers) == 0 {
		t.Error("mutual TLS lost behind the wrapper")
	}

	cfg := mtlsConfig(t, ts.URL)
	cfg.BaseURL = "https://" + closedAddr(t)
	closed := newClientFor(t, cfg, wrap, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	if _, err := closed.Send(t.Context(), sendReq("WRAP4")); OutcomeOf(err) != OutcomeNotSent {
		t.Errorf("closed port behind the wrapper: %v; want NOT_SENT", err)
	}

	if err := WithTransportWrapper(nil)(&options{}); err == nil {
		t.Error("WithTransportWrapper(nil) accepted")
	}
	if _, err := NewClient(cfg, WithTransportWrapper(func(http.RoundTripper) http.RoundTripper { return nil })); err == nil {
		t.Error("a wrapper returning nil accepted")
	}
}

// TestProxyForLoopback: loopback hosts never go through the environment's
// proxy, and an unparsable base is an error.
func TestProxyForLoopback(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"https://127.0.0.1:8443", "http://localhost:1"} {
		if p, err := proxyFor(base); err != nil || p != nil {
			t.Errorf("proxyFor(%q) = %v, %v; want no proxy for loopback", base, p, err)
		}
	}
	if _, err := proxyFor("://bad"); err == nil {
		t.Error("proxyFor accepted an unparsable URL")
	}
}
