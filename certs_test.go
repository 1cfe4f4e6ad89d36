package redpack

// The certificates of the internal tests and the one mutual-TLS server they
// use: it answers every request with a fixed success (the baseline of the
// benchmarks) and records the TLS session. Tests of answers and retries run
// against redpacktest from package redpack_test (client_test.go).

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redpack-go/redpack/internal/testcert"
)

// The merchant of the internal tests.
const (
	testMchID  = "1900000109"
	testAppID  = "wxd930ea5d5a258f4f"
	testAPIKey = "Zq4Rt7Yu1Io3Pa6Sd9Fg2Hj5Kl8Xc0Vb" // 32 of [0-9A-Za-z]
	testOpenID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
)

// testPKI is the CA, the loopback server certificate and the merchant
// certificate shared by the whole test binary: key generation is the slow part
// of a TLS test.
type testPKI struct {
	ca       *testcert.CA
	server   *testcert.Leaf
	merchant *testcert.Leaf // CN = testMchID, valid 2020–2045 so that fixed clocks pass
	p12      []byte         // merchant as PKCS#12 legacy 3DES with chain, password = testMchID
}

var (
	pkiOnce sync.Once
	pki     *testPKI
	pkiErr  error
)

func sharedPKI(tb testing.TB) *testPKI {
	tb.Helper()
	pkiOnce.Do(func() { pki, pkiErr = newPKI() })
	if pkiErr != nil {
		tb.Fatalf("generating test certificates: %v", pkiErr)
	}
	return pki
}

func newPKI() (*testPKI, error) {
	ca, err := testcert.NewCA("redpack test CA")
	if err != nil {
		return nil, err
	}
	srv, err := ca.Server()
	if err != nil {
		return nil, err
	}
	m, err := ca.Merchant(testMchID, testcert.MerchantOptions{
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:  time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		return nil, err
	}
	p12, err := m.PKCS12(testcert.P12Legacy3DES, testMchID, true)
	if err != nil {
		return nil, err
	}
	return &testPKI{ca: ca, server: srv, merchant: m, p12: p12}, nil
}

// minimalAnswer is a success without echo fields: the smallest answer the
// client accepts, so that the server's own work stays out of the figures.
var minimalAnswer = []byte(`<xml><return_code><![CDATA[SUCCESS]]></return_code><result_code><![CDATA[SUCCESS]]></result_code><send_listid><![CDATA[1000041701202004173001723769407]]></send_listid><total_amount>100</total_amount></xml>`)

// minimalServer is a mutual-TLS server that drains the request and answers
// minimalAnswer; it counts completed TLS handshakes, ClientHello messages (a
// TLS 1.3 HelloRetryRequest makes two for one handshake) and closed
// connections.
type minimalServer struct {
	*httptest.Server
	handshakes  atomic.Int64
	hellos      atomic.Int64
	closed      atomic.Int64
	delay       time.Duration // set before the first request
	redirect    string        // set before the first request: answer 302 to it
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
	requests    atomic.Int64

	mu        sync.Mutex
	lastPeers []*x509.Certificate // of the last request
	lastTLS   uint16
}

// last returns the peer certificates and TLS version of the last request.
func (s *minimalServer) last() ([]*x509.Certificate, uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastPeers, s.lastTLS
}

// benchBillNo is the bill number of the benchmarks' sends.
const benchBillNo = "1900000109202602030100000009"

func newMinimalServer(tb testing.TB, mods ...func(*tls.Config)) *minimalServer {
	tb.Helper()
	p := sharedPKI(tb)
	s := &minimalServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		for m := s.maxInFlight.Load(); n > m && !s.maxInFlight.CompareAndSwap(m, n); m = s.maxInFlight.Load() {
		}
		io.Copy(io.Discard, r.Body)
		s.requests.Add(1)
		if r.TLS != nil {
			s.mu.Lock()
			s.lastPeers, s.lastTLS = r.TLS.PeerCertificates, r.TLS.Version
			s.mu.Unlock()
		}
		if s.delay > 0 {
			time.Sleep(s.delay)
		}
		if s.redirect != "" {
			http.Redirect(w, r, s.redirect, http.StatusFound)
			return
		}
		w.Write(minimalAnswer)
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed || st == http.StateHijacked {
			s.closed.Add(1)
		}
	}
	s.TLS = &tls.Config{
		Certificates: []tls.Certificate{p.server.TLS()},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    p.ca.Pool(),
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			s.hellos.Add(1)
			return nil, nil
		},
		VerifyConnection: func(tls.ConnectionState) error {
			s.handshakes.Add(1)
			return nil
		},
	}
	for _, m := range mods {
		m(s.TLS)
	}
	s.StartTLS()
	tb.Cleanup(s.Close)
	return s
}

// mtlsConfig is the test merchant's Config for a server at url.
func mtlsConfig(tb testing.TB, url string) Config {
	tb.Helper()
	p := sharedPKI(tb)
	return Config{MchID: testMchID, AppID: testAppID, APIKey: testAPIKey, PKCS12: p.p12, BaseURL: url, RootCAs: p.ca.Pool()}
}

// tinyRetry: three attempts, millisecond waits.
var tinyRetry = RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}

func newClientFor(tb testing.TB, cfg Config, opts ...Option) *Client {
	tb.Helper()
	c, err := NewClient(cfg, append([]Option{WithRetryPolicy(tinyRetry)}, opts...)...)
	if err != nil {
		tb.Fatalf("NewClient: %v", err)
	}
	tb.Cleanup(c.CloseIdleConnections)
	return c
}

// sendReq is a valid minimal SendRequest.
func sendReq(billNo string) SendRequest {
	return SendRequest{Packet: Packet{
		BillNo: billNo, OpenID: testOpenID, Amount: 100,
		SendName: "redpack", Wishing: "Happy new year", ActName: "New year", Remark: "Thanks",
	}}
}
