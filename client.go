package redpack

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

// DefaultBaseURL is WeChat Pay's API host.
const DefaultBaseURL = "https://api.mch.weixin.qq.com"

// Config is a merchant's identity and certificate. Give the certificate as
// PKCS12 (apiclient_cert.p12) or as CertPEM plus KeyPEM (apiclient_cert.pem,
// apiclient_key.pem); see LoadPKCS12File and LoadPEMFiles.
//
// Config prints with the API key, the PKCS#12 password and bundle and the
// private key redacted, whatever the verb.
type Config struct {
	// MchID is the merchant ID (mch_id), digits.
	MchID string
	// AppID is the appid bound to MchID under which recipients' openids were
	// issued: an Official Account appid for Send and SendGroup, the
	// mini-program appid for SendMiniProgram. Query sends it as appid.
	AppID string
	// APIKey is the API v2 key (32 characters) set under API security in
	// the merchant platform; not the APIv3 key.
	APIKey string

	// PKCS12 is the merchant certificate bundle; PKCS12Password its
	// password, MchID when empty.
	PKCS12         []byte
	PKCS12Password string
	// CertPEM and KeyPEM are the certificate and its private key in PEM.
	CertPEM, KeyPEM []byte

	// BaseURL defaults to DefaultBaseURL. It must be https, except for
	// loopback hosts. The backup host https://api2.mch.weixin.qq.com may be
	// used by a second Client for manual failover with the same bill numbers.
	BaseURL string
	// RootCAs verifies the server; nil means the system roots.
	RootCAs *x509.CertPool
}

const redacted = "[redacted]"

// String returns the Config with every secret redacted.
func (c Config) String() string {
	var b strings.Builder
	b.WriteString("redpack.Config{MchID:")
	b.WriteString(strconv.Quote(c.MchID))
	b.WriteString(" AppID:")
	b.WriteString(strconv.Quote(c.AppID))
	b.WriteString(" APIKey:")
	b.WriteString(redactedIf(c.APIKey != ""))
	b.WriteString(" PKCS12:")
	b.WriteString(redactedIf(len(c.PKCS12) > 0))
	b.WriteString(" PKCS12Password:")
	b.WriteString(redactedIf(c.PKCS12Password != ""))
	b.WriteString(" CertPEM:")
	b.WriteString(strconv.Itoa(len(c.CertPEM)))
	b.WriteString(" bytes KeyPEM:")
	b.WriteString(redactedIf(len(c.KeyPEM) > 0))
	b.WriteString(" BaseURL:")
	b.WriteString(strconv.Quote(c.BaseURL))
	b.WriteString("}")
	return b.String()
}

func redactedIf(set bool) string {
	if set {
		return redacted
	}
	return `""`
}

// Format prints String for every verb (%#v included), so that no fmt verb
// can reach the secrets.
func (c Config) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// Client sends and queries red packets for one merchant and one appid. Build
// it once with NewClient and share it: it is safe for concurrent use, and its
// parsed certificate and connection pool are reused by every call.
type Client struct {
	mchID, appID string
	baseURL      string
	sign         signer // holds the API key
	http         *http.Client
	transport    *http.Transport
	opts         options
	billNos      *billNoGen // nil unless WithNodeID was given
	sem          chan struct{}
}

// NewClient checks cfg and the options, parses the merchant certificate and
// builds the transport. It fails on a missing or bad setting, a certificate
// that cannot be loaded, is expired or does not match its key; a certificate
// whose subject CN is not the mch_id is logged as a warning.
func NewClient(cfg Config, opts ...Option) (*Client, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	var problems []string
	if !validMchID(cfg.MchID) {
		problems = append(problems, "MchID must be 1 to 32 digits")
	}
	if !validAppID(cfg.AppID) {
		problems = append(problems, appIDRule)
	}
	if len(cfg.APIKey) != 32 || !every(cfg.APIKey, isAlnum) {
		// Describe, never quote, the key.
		problems = append(problems, "APIKey must be the 32-character API v2 key of [0-9A-Za-z] (got "+strconv.Itoa(len(cfg.APIKey))+" characters)")
	}
	if len(problems) > 0 {
		return nil, errors.New("redpack: NewClient: " + strings.Join(problems, "; "))
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	base, err := checkBaseURL(base)
	if err != nil {
		return nil, err
	}
	cert, err := loadCertificate(&cfg, o.now())
	if err != nil {
		return nil, err
	}
	if cn := cert.Leaf.Subject.CommonName; cn != cfg.MchID {
		o.logger.Warn("redpack: merchant certificate subject CN is not the mch_id; is it this merchant's certificate?",
			slog.String("cn", cn), slog.String("mch_id", cfg.MchID))
	}
	proxy := o.proxy
	if proxy == nil {
		if proxy, err = proxyFor(base); err != nil {
			return nil, err
		}
	}
	tr := newTransport(cert, cfg.RootCAs, o.maxConns, proxy)
	var rt http.RoundTripper = tr
	if o.wrap != nil {
		if rt = o.wrap(reachedMarker{tr}); rt == nil {
			return nil, errors.New("redpack: WithTransportWrapper: the wrapper returned nil")
		}
	}
	c := &Client{
		mchID:     cfg.MchID,
		appID:     cfg.AppID,
		baseURL:   base,
		sign:      newSigner(cfg.APIKey),
		transport: tr,
		http:      &http.Client{Transport: rt, CheckRedirect: noRedirect},
		opts:      o,
	}
	if o.node >= 0 {
		c.billNos = newBillNoGen(cfg.MchID, o.node, o.now)
	}
	if o.concurrency > 0 {
		c.sem = make(chan struct{}, o.concurrency)
	}
	return c, nil
}

// ForAppID returns a Client for another appid bound to the same merchant
// (typically the mini-program appid, for SendMiniProgram and its queries).
// It shares everything else with c: the parsed certificate, the connection
// pool, the signer, the bill-number generator, the retry policy and the rate
// limiter and concurrency cap, which then count both appids' calls together,
// as WeChat Pay's per-merchant quota does. It costs one small allocation.
func (c *Client) ForAppID(appID string) (*Client, error) {
	if !validAppID(appID) {
		return nil, errors.New("redpack: ForAppID: " + appIDRule)
	}
	d := *c
	d.appID = appID
	return &d, nil
}

const appIDRule = "AppID must be 1 to 32 characters of [0-9A-Za-z_-]"

func validAppID(s string) bool {
	return s != "" && len(s) <= maxID && every(s, isOpenIDByte)
}

// MchID returns the merchant ID the Client sends for.
func (c *Client) MchID() string { return c.mchID }

// AppID returns the appid the Client is bound to.
func (c *Client) AppID() string { return c.appID }

// CloseIdleConnections closes the idle connections of the pool. A Client
// needs no other clean-up; it stays usable.
func (c *Client) CloseIdleConnections() { c.transport.CloseIdleConnections() }

// String describes the Client without secrets.
func (c *Client) String() string {
	return "redpack.Client{MchID:" + strconv.Quote(c.mchID) + " AppID:" + strconv.Quote(c.appID) +
		" BaseURL:" + strconv.Quote(c.baseURL) + "}"
}

// Format prints String for every verb.
func (c *Client) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }
