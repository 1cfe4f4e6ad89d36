package redpacktest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redpack-go/redpack/internal/testcert"
)

// Server is a fake WeChat Pay red packet server listening on loopback with
// mutual TLS. Its identity (URL, MchID, AppID, MiniAppID, APIKey) and its
// ledger are read through methods. A Server is safe for concurrent use.
//
// A Server holds its API key and key material behind a function, so that
// printing a Server or a copy of one (fmt's %+v of *srv, a testify diff)
// shows no secret; *Server prints a redacted summary with every verb.
type Server struct {
	url  string
	cfg  config // cfg.apiKey is cleared; the key lives in secret
	keys func() *secrets
	srv  *http.Server
	life *lifecycle
	st   *state
}

// secrets are the Server's key material.
type secrets struct {
	apiKey   string
	ca       *testcert.CA
	merchant *testcert.Leaf
	p12      []byte
}

// lifecycle tracks the running handlers so that Close can wait for them.
type lifecycle struct {
	serveDone  chan struct{}
	done       chan struct{} // closed when Close starts
	closeOnce  sync.Once
	mu         sync.Mutex // guards closing and inflight
	idle       *sync.Cond
	closing    bool
	inflight   int
	handshakes atomic.Int64
}

// state is everything a request may change; mu guards it.
type state struct {
	mu       sync.Mutex
	inj      injections
	requests []*Request
	ledger
}

// New starts a fake server. It returns an error for an option given a
// value it cannot use (a negative balance, a non-loopback address, ...)
// and when the server cannot start (certificates, listening).
func New(opts ...Option) (*Server, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("redpacktest: nil Option")
		}
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("redpacktest: %w", err)
		}
	}
	ca, err := testcert.NewCA("redpacktest CA")
	if err != nil {
		return nil, fmt.Errorf("redpacktest: CA: %w", err)
	}
	serverLeaf, err := ca.Server()
	if err != nil {
		return nil, fmt.Errorf("redpacktest: server certificate: %w", err)
	}
	merchant, err := ca.Merchant(cfg.mchID, testcert.MerchantOptions{})
	if err != nil {
		return nil, fmt.Errorf("redpacktest: merchant certificate: %w", err)
	}
	p12, err := merchant.PKCS12(testcert.P12Legacy3DES, cfg.mchID, true)
	if err != nil {
		return nil, fmt.Errorf("redpacktest: PKCS#12: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("redpacktest: listen: %w", err)
	}

	sec := &secrets{apiKey: cfg.apiKey, ca: ca, merchant: merchant, p12: p12}
	cfg.apiKey = ""
	s := &Server{
		url:  "https://" + ln.Addr().String(),
		cfg:  cfg,
		keys: func() *secrets { return sec },
		life: &lifecycle{serveDone: make(chan struct{}), done: make(chan struct{})},
		st:   &state{},
	}
	s.life.idle = sync.NewCond(&s.life.mu)
	s.st.ledger.init(&s.cfg)
	s.st.rng = rand.New(rand.NewPCG(uint64(cfg.seed), 0x7265647061636b))

	tlsCfg := &tls.Config{
		Certificates: []tls.Certificate{serverLeaf.TLS()},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.Pool(),
		MinVersion:   tls.VersionTLS12,
	}
	if cfg.tlsHook != nil {
		cfg.tlsHook(tlsCfg)
	}
	// HTTP/1.1 only, so that every connection can be hijacked for resets.
	tlsCfg.NextProtos = []string{"http/1.1"}
	inner := tlsCfg.GetConfigForClient
	tlsCfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		s.life.handshakes.Add(1)
		if inner != nil {
			return inner(h)
		}
		return nil, nil
	}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		// Handshake failures (a client without certificate) are expected.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(s.life.serveDone)
		_ = s.srv.Serve(tls.NewListener(ln, tlsCfg))
	}()
	return s, nil
}

// NewServer is New for callers that cannot handle an error: like
// httptest.NewServer it panics when the server cannot start, here also
// when an option is invalid. Tests should prefer NewTestServer.
func NewServer(opts ...Option) *Server {
	s, err := New(opts...)
	if err != nil {
		panic(err.Error())
	}
	return s
}

// NewTestServer starts a Server for the test tb and closes it when the test
// ends; an invalid option or a server that cannot start fails the test.
func NewTestServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := New(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Close shuts the server down: it stops listening, closes every connection,
// wakes delayed handlers and waits for every handler to return. No
// goroutine of the Server survives it. Close is idempotent.
func (s *Server) Close() {
	l := s.life
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closing = true
		close(l.done)
		l.mu.Unlock()
		_ = s.srv.Close()
		<-l.serveDone
		l.mu.Lock()
		for l.inflight > 0 {
			l.idle.Wait()
		}
		l.mu.Unlock()
	})
}

// enter registers a running handler; false once Close has begun.
func (l *lifecycle) enter() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing {
		return false
	}
	l.inflight++
	return true
}

func (l *lifecycle) leave() {
	l.mu.Lock()
	l.inflight--
	if l.inflight == 0 {
		l.idle.Broadcast()
	}
	l.mu.Unlock()
}

// URL returns the base URL, "https://127.0.0.1:port", without trailing
// slash.
func (s *Server) URL() string { return s.url }

// MchID returns the merchant ID.
func (s *Server) MchID() string { return s.cfg.mchID }

// AppID returns the Official Account appid bound to the merchant.
func (s *Server) AppID() string { return s.cfg.appID }

// MiniAppID returns the mini-program appid bound to the merchant.
func (s *Server) MiniAppID() string { return s.cfg.miniAppID }

// APIKey returns the merchant's API v2 key. It is a secret when the fake
// was given a real one: never log it.
func (s *Server) APIKey() string { return s.keys().apiKey }

// Handshakes returns how many TLS handshakes clients started with the
// server (ClientHello messages seen), to test connection reuse.
func (s *Server) Handshakes() int64 { return s.life.handshakes.Load() }

// String describes the server without its API key or key material, so that
// a test that logs a *Server (t.Logf("%v", srv)) cannot leak a real key
// loaded into the fake.
func (s *Server) String() string {
	return "redpacktest.Server{URL:" + strconv.Quote(s.url) + " MchID:" + strconv.Quote(s.cfg.mchID) +
		" AppID:" + strconv.Quote(s.cfg.appID) + " MiniAppID:" + strconv.Quote(s.cfg.miniAppID) + " APIKey:[redacted]}"
}

// Format prints String for every verb.
func (s *Server) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// RootCAs returns a new pool holding only the fake CA, which issued the
// server and merchant certificates.
func (s *Server) RootCAs() *x509.CertPool { return s.keys().ca.Pool() }

// CACertPEM returns the fake CA certificate in PEM.
func (s *Server) CACertPEM() []byte { return clone(s.keys().ca.PEM) }

// MerchantCertPEM returns the merchant certificate (apiclient_cert.pem).
func (s *Server) MerchantCertPEM() []byte { return clone(s.keys().merchant.CertPEM) }

// MerchantKeyPEM returns the merchant private key, PKCS#8 PEM
// (apiclient_key.pem).
func (s *Server) MerchantKeyPEM() []byte { return clone(s.keys().merchant.KeyPEM) }

// MerchantPKCS12 returns the merchant bundle (apiclient_cert.p12): legacy
// 3DES encryption, with the CA chain, password MchID.
func (s *Server) MerchantPKCS12() []byte { return clone(s.keys().p12) }

// MerchantTLSCertificate returns the merchant certificate and key for a
// hand-made TLS client (raw requests in tests).
func (s *Server) MerchantTLSCertificate() tls.Certificate { return s.keys().merchant.TLS() }

// IssueClientCert issues another client certificate from the fake CA with
// subject CN cn: the TLS handshake accepts it, and a request whose mch_id is
// not cn is answered CA_ERROR.
func (s *Server) IssueClientCert(cn string) (certPEM, keyPEM []byte, err error) {
	l, err := s.keys().ca.Merchant(cn, testcert.MerchantOptions{})
	if err != nil {
		return nil, nil, err
	}
	return l.CertPEM, l.KeyPEM, nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

func (s *Server) now() time.Time { return s.cfg.now() }
