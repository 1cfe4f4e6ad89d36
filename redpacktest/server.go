package redpacktest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/redpack-go/redpack"
	"github.com/redpack-go/redpack/internal/testcert"
)

// Default merchant identity of a Server.
const (
	DefaultMchID         = "1900000109"
	DefaultAppID         = "wx8888888888888888"
	DefaultMiniAppID     = "wxminiprogram00001"
	DefaultAPIKey        = "RedpackTestApiKey0123456789abcde"
	DefaultBalance       = 100_000_000 // fen: 1,000,000 yuan
	DefaultRateLimit     = 30          // requests a second per endpoint
	DefaultUserDailyNum  = 10
	DefaultUserDailyFen  = 100_000     // 1,000 yuan
	DefaultMerchantDaily = 100_000_000 // 1,000,000 yuan
	DefaultProcessing    = 2 * time.Second
	DefaultSlowDelay     = 3 * time.Second

	// RefundAfter is how long a SENT packet may stay unclaimed before it
	// turns RFUND_ING (SPEC §2.1: 24 h).
	RefundAfter = 24 * time.Hour
	// RefundDuration is how long a packet stays RFUND_ING before it is
	// REFUND and its amount is back in the balance. The real duration is
	// undocumented; the fake picks one hour.
	RefundDuration = time.Hour
)

// Option configures a Server.
type Option func(*config)

type config struct {
	mchID, appID, apiKey, miniAppID string
	balance                         int64
	rate                            int
	userNum                         int
	userFen                         int64
	merchantDaily                   int64
	now                             func() time.Time
	groupRetired                    bool
	seed                            int64
	addr                            string
	processingDelay                 time.Duration
	slowDelay                       time.Duration
}

// WithMerchant sets the merchant ID, its Official Account appid and its API
// v2 key. The merchant certificate is issued with subject CN mchID.
func WithMerchant(mchID, appID, apiKey string) Option {
	return func(c *config) { c.mchID, c.appID, c.apiKey = mchID, appID, apiKey }
}

// WithMiniProgramAppID sets the mini-program appid bound to the merchant,
// accepted by sendminiprogramhb and gethbinfo (default DefaultMiniAppID).
func WithMiniProgramAppID(appID string) Option {
	return func(c *config) { c.miniAppID = appID }
}

// WithBalance sets the merchant's available balance in fen (default
// DefaultBalance).
func WithBalance(fen int64) Option { return func(c *config) { c.balance = fen } }

// WithRateLimit sets how many requests a second each endpoint accepts
// before answering FREQ_LIMIT (sliding one-second window on the server
// clock). 0 turns the limit off. The default is DefaultRateLimit.
func WithRateLimit(perSecond int) Option { return func(c *config) { c.rate = perSecond } }

// WithUserDailyLimits sets how many packets (SENDNUM_LIMIT) and how many fen
// (RCVDAMOUNT_LIMIT) one openid may receive from the merchant per China
// Standard Time calendar day. Defaults: 10 packets, 100000 fen.
func WithUserDailyLimits(count int, amountFen int64) Option {
	return func(c *config) { c.userNum, c.userFen = count, amountFen }
}

// WithMerchantDailyLimit sets how many fen the merchant may pay out per
// China Standard Time calendar day (SENDAMOUNT_LIMIT; default
// DefaultMerchantDaily).
func WithMerchantDailyLimit(fen int64) Option { return func(c *config) { c.merchantDaily = fen } }

// WithClock replaces time.Now as the server clock: daily windows, the rate
// window, send and receive times, the processing delay and the 24-hour
// refund of unclaimed packets all follow it.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithGroupRetired makes sendgroupredpack answer as the product retired on
// 2024-06-05 does: API_METHOD_CLOSED.
func WithGroupRetired(retired bool) Option { return func(c *config) { c.groupRetired = retired } }

// WithSeed seeds the random source of InjectRandom and of group shares.
func WithSeed(seed int64) Option { return func(c *config) { c.seed = seed } }

// WithAddr sets the listen address (default "127.0.0.1:0"). Only loopback
// hosts are accepted: the server certificate covers 127.0.0.1, ::1 and
// localhost only, and a fake payment server has no business elsewhere.
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithProcessingDelay sets how long after acceptance a packet answered
// PROCESSING settles (server clock; default DefaultProcessing).
func WithProcessingDelay(d time.Duration) Option { return func(c *config) { c.processingDelay = d } }

// WithSlowDelay sets how long FaultSlow delays the answer (real time;
// default DefaultSlowDelay).
func WithSlowDelay(d time.Duration) Option { return func(c *config) { c.slowDelay = d } }

// Server is a fake WeChat Pay red packet server listening on loopback with
// mutual TLS. Its exported fields are the merchant it serves; everything else
// is inspected through methods. A Server is safe for concurrent use.
type Server struct {
	// URL is the base URL, "https://127.0.0.1:port", without trailing slash.
	URL string
	// MchID, AppID and APIKey are the merchant's identity and API v2 key.
	MchID, AppID, APIKey string
	// MiniAppID is the mini-program appid bound to the merchant.
	MiniAppID string

	cfg      config
	ca       *testcert.CA
	merchant *testcert.Leaf
	p12      []byte

	srv       *http.Server
	serveDone chan struct{}
	done      chan struct{} // closed when Close starts
	closeOnce sync.Once

	lc       sync.Mutex // guards closing and inflight
	lcIdle   *sync.Cond
	closing  bool
	inflight int

	mu sync.Mutex // guards everything below
	ledger
}

// NewServer starts a fake server. Like httptest.NewServer it panics when it
// cannot start (certificate generation, listening, a non-loopback WithAddr).
func NewServer(opts ...Option) *Server {
	cfg := config{
		mchID:           DefaultMchID,
		appID:           DefaultAppID,
		apiKey:          DefaultAPIKey,
		miniAppID:       DefaultMiniAppID,
		balance:         DefaultBalance,
		rate:            DefaultRateLimit,
		userNum:         DefaultUserDailyNum,
		userFen:         DefaultUserDailyFen,
		merchantDaily:   DefaultMerchantDaily,
		now:             time.Now,
		seed:            1,
		addr:            "127.0.0.1:0",
		processingDelay: DefaultProcessing,
		slowDelay:       DefaultSlowDelay,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.now == nil {
		panic("redpacktest: WithClock: nil clock")
	}
	host, _, err := net.SplitHostPort(cfg.addr)
	if err != nil {
		panic("redpacktest: WithAddr: " + err.Error())
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		panic("redpacktest: WithAddr: only loopback addresses are allowed, got " + cfg.addr)
	}

	ca, err := testcert.NewCA("redpacktest CA")
	if err != nil {
		panic("redpacktest: CA: " + err.Error())
	}
	serverLeaf, err := ca.Server()
	if err != nil {
		panic("redpacktest: server certificate: " + err.Error())
	}
	merchant, err := ca.Merchant(cfg.mchID, testcert.MerchantOptions{})
	if err != nil {
		panic("redpacktest: merchant certificate: " + err.Error())
	}
	p12, err := merchant.PKCS12(testcert.P12Legacy3DES, cfg.mchID, true)
	if err != nil {
		panic("redpacktest: PKCS#12: " + err.Error())
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		panic("redpacktest: listen: " + err.Error())
	}
	s := &Server{
		URL:       "https://" + ln.Addr().String(),
		MchID:     cfg.mchID,
		AppID:     cfg.appID,
		APIKey:    cfg.apiKey,
		MiniAppID: cfg.miniAppID,
		cfg:       cfg,
		ca:        ca,
		merchant:  merchant,
		p12:       p12,
		serveDone: make(chan struct{}),
		done:      make(chan struct{}),
	}
	s.lcIdle = sync.NewCond(&s.lc)
	s.ledger.init(&s.cfg)
	s.ledger.rng = rand.New(rand.NewPCG(uint64(cfg.seed), 0x7265647061636b))

	tlsCfg := &tls.Config{
		Certificates: []tls.Certificate{serverLeaf.TLS()},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.Pool(),
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		// HTTP/1.1 only, so that every connection can be hijacked for the
		// connection faults.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		// Handshake failures (a client without certificate) are expected.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(s.serveDone)
		_ = s.srv.Serve(tls.NewListener(ln, tlsCfg))
	}()
	return s
}

// Close shuts the server down: it stops listening, closes every connection,
// wakes delayed (FaultSlow) handlers and waits for every handler to return.
// No goroutine of the Server survives it. Close is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.lc.Lock()
		s.closing = true
		close(s.done)
		s.lc.Unlock()
		_ = s.srv.Close()
		<-s.serveDone
		s.lc.Lock()
		for s.inflight > 0 {
			s.lcIdle.Wait()
		}
		s.lc.Unlock()
	})
}

// enter registers a running handler; false once Close has begun.
func (s *Server) enter() bool {
	s.lc.Lock()
	defer s.lc.Unlock()
	if s.closing {
		return false
	}
	s.inflight++
	return true
}

func (s *Server) leave() {
	s.lc.Lock()
	s.inflight--
	if s.inflight == 0 {
		s.lcIdle.Broadcast()
	}
	s.lc.Unlock()
}

// String describes the server without its API key or key material, so that
// a test that logs a *Server (t.Logf("%v", srv)) cannot leak a real key
// loaded into the fake.
func (s *Server) String() string {
	return "redpacktest.Server{URL:" + strconv.Quote(s.URL) + " MchID:" + strconv.Quote(s.MchID) +
		" AppID:" + strconv.Quote(s.AppID) + " MiniAppID:" + strconv.Quote(s.MiniAppID) + " APIKey:[redacted]}"
}

// GoString is String.
func (s *Server) GoString() string { return s.String() }

// Format prints String for every verb.
func (s *Server) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// Config returns a redpack.Config for the merchant: the PKCS#12 bundle
// (password left empty, so the client uses the mch_id), BaseURL = URL and
// RootCAs holding only the fake CA.
func (s *Server) Config() redpack.Config {
	return redpack.Config{
		MchID:   s.MchID,
		AppID:   s.AppID,
		APIKey:  s.APIKey,
		PKCS12:  append([]byte(nil), s.p12...),
		BaseURL: s.URL,
		RootCAs: s.RootCAs(),
	}
}

// MiniProgramConfig is Config with AppID set to the mini-program appid, for
// a Client that calls SendMiniProgram.
func (s *Server) MiniProgramConfig() redpack.Config {
	c := s.Config()
	c.AppID = s.MiniAppID
	return c
}

// NewClient returns a redpack.Client built from Config and opts. It panics
// when redpack.NewClient fails (a bad option).
func (s *Server) NewClient(opts ...redpack.Option) *redpack.Client {
	return mustClient(s.Config(), opts)
}

// NewMiniProgramClient returns a redpack.Client bound to the mini-program
// appid (MiniProgramConfig). It panics when redpack.NewClient fails.
func (s *Server) NewMiniProgramClient(opts ...redpack.Option) *redpack.Client {
	return mustClient(s.MiniProgramConfig(), opts)
}

func mustClient(cfg redpack.Config, opts []redpack.Option) *redpack.Client {
	c, err := redpack.NewClient(cfg, opts...)
	if err != nil {
		panic("redpacktest: NewClient: " + err.Error())
	}
	return c
}

// RootCAs returns a new pool holding only the fake CA, which issued the
// server and merchant certificates.
func (s *Server) RootCAs() *x509.CertPool { return s.ca.Pool() }

// CACertPEM returns the fake CA certificate in PEM.
func (s *Server) CACertPEM() []byte { return clone(s.ca.PEM) }

// MerchantCertPEM returns the merchant certificate (apiclient_cert.pem).
func (s *Server) MerchantCertPEM() []byte { return clone(s.merchant.CertPEM) }

// MerchantKeyPEM returns the merchant private key, PKCS#8 PEM
// (apiclient_key.pem).
func (s *Server) MerchantKeyPEM() []byte { return clone(s.merchant.KeyPEM) }

// MerchantPKCS12 returns the merchant bundle (apiclient_cert.p12): legacy
// 3DES encryption, with the CA chain, password MchID.
func (s *Server) MerchantPKCS12() []byte { return clone(s.p12) }

// MerchantTLSCertificate returns the merchant certificate and key for a
// hand-made TLS client (raw requests in tests).
func (s *Server) MerchantTLSCertificate() tls.Certificate { return s.merchant.TLS() }

// IssueClientCert issues another client certificate from the fake CA with
// subject CN cn: the TLS handshake accepts it, and a request whose mch_id is
// not cn is answered CA_ERROR.
func (s *Server) IssueClientCert(cn string) (certPEM, keyPEM []byte, err error) {
	l, err := s.ca.Merchant(cn, testcert.MerchantOptions{})
	if err != nil {
		return nil, nil, err
	}
	return l.CertPEM, l.KeyPEM, nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func (s *Server) now() time.Time { return s.cfg.now() }
