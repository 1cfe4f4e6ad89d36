package redpack

import (
	"bytes"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redpack-go/redpack/internal/testcert"
	"software.sslmate.com/src/go-pkcs12"
)

var (
	rsaOnce sync.Once
	rsaLeaf *testcert.Leaf
	rsaErr  error
)

// sharedRSA is a 2048-bit RSA merchant certificate, as WeChat Pay issues,
// generated once per test binary.
func sharedRSA(t *testing.T) *testcert.Leaf {
	t.Helper()
	p := sharedPKI(t)
	rsaOnce.Do(func() { rsaLeaf, rsaErr = p.ca.Merchant(testMchID, testcert.MerchantOptions{RSA: true}) })
	if rsaErr != nil {
		t.Fatal(rsaErr)
	}
	return rsaLeaf
}

func merchantLeaf(t *testing.T, cn string, o testcert.MerchantOptions) *testcert.Leaf {
	t.Helper()
	l, err := sharedPKI(t).ca.Merchant(cn, o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func p12Of(t *testing.T, l *testcert.Leaf, f testcert.P12Format, password string, chain bool) []byte {
	t.Helper()
	b, err := l.PKCS12(f, password, chain)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every supported certificate form loads and completes a mutual-TLS Send;
// the server sees the merchant's leaf (and the CA when the bundle has it).
func TestCertificateForms(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	rsaL := sharedRSA(t)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaL.Key.(*rsa.PrivateKey))})
	tests := []struct {
		name      string
		leaf      *testcert.Leaf
		set       func(t *testing.T, c *Config)
		wantChain int
	}{
		{"PKCS#12 legacy 3DES with chain", p.merchant, func(t *testing.T, c *Config) {
			c.PKCS12 = p12Of(t, p.merchant, testcert.P12Legacy3DES, testMchID, true)
		}, 2},
		{"PKCS#12 legacy 3DES without chain", p.merchant, func(t *testing.T, c *Config) {
			c.PKCS12 = p12Of(t, p.merchant, testcert.P12Legacy3DES, testMchID, false)
		}, 1},
		{"PKCS#12 legacy RC2 with chain", p.merchant, func(t *testing.T, c *Config) {
			c.PKCS12 = p12Of(t, p.merchant, testcert.P12LegacyRC2, testMchID, true)
		}, 2},
		{"PKCS#12 legacy RC2 without chain", p.merchant, func(t *testing.T, c *Config) {
			c.PKCS12 = p12Of(t, p.merchant, testcert.P12LegacyRC2, testMchID, false)
		}, 1},
		{"PKCS#12 modern AES with chain", p.merchant, func(t *testing.T, c *Config) {
			c.PKCS12 = p12Of(t, p.merchant, testcert.P12Modern, testMchID, true)
		}, 2},
		{"PKCS#12 modern AES without chain", p.merchant, func(t *testing.T, c *Config) {
			c.PKCS12 = p12Of(t, p.merchant, testcert.P12Modern, testMchID, false)
		}, 1},
		{"PKCS#12 with an explicit password", p.merchant, func(t *testing.T, c *Config) {
			c.PKCS12 = p12Of(t, p.merchant, testcert.P12Legacy3DES, "another-password", true)
			c.PKCS12Password = "another-password"
		}, 2},
		{"PKCS#12 RSA legacy 3DES", rsaL, func(t *testing.T, c *Config) {
			c.PKCS12 = p12Of(t, rsaL, testcert.P12Legacy3DES, testMchID, true)
		}, 2},
		{"PEM pair, PKCS#8 ECDSA", p.merchant, func(t *testing.T, c *Config) {
			c.CertPEM, c.KeyPEM = p.merchant.CertPEM, p.merchant.KeyPEM
		}, 1},
		{"PEM pair, PKCS#8 RSA", rsaL, func(t *testing.T, c *Config) {
			c.CertPEM, c.KeyPEM = rsaL.CertPEM, rsaL.KeyPEM
		}, 1},
		{"PEM pair, PKCS#1 RSA", rsaL, func(t *testing.T, c *Config) {
			c.CertPEM, c.KeyPEM = rsaL.CertPEM, pkcs1
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newMinimalServer(t)
			cfg := mtlsConfig(t, ts.URL)
			cfg.PKCS12 = nil
			tt.set(t, &cfg)
			c := newClientFor(t, cfg)
			if _, err := c.Send(t.Context(), sendReq("CERTFORM1")); err != nil {
				t.Fatalf("Send: %v", err)
			}
			peers, _ := ts.last()
			if len(peers) != tt.wantChain {
				t.Fatalf("server saw a chain of %d certificates, want %d", len(peers), tt.wantChain)
			}
			if !peers[0].Equal(tt.leaf.Cert) {
				t.Errorf("server saw leaf %q, want the merchant's", peers[0].Subject)
			}
			if tt.wantChain == 2 && !peers[1].Equal(p.ca.Cert) {
				t.Errorf("second certificate is %q, want the CA", peers[1].Subject)
			}
		})
	}
}

func TestCertificateErrors(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	other := merchantLeaf(t, testMchID, testcert.MerchantOptions{})
	expired := merchantLeaf(t, testMchID, testcert.MerchantOptions{
		NotBefore: time.Now().AddDate(-2, 0, 0), NotAfter: time.Now().AddDate(-1, 0, 0)})
	future := merchantLeaf(t, testMchID, testcert.MerchantOptions{
		NotBefore: time.Now().AddDate(1, 0, 0), NotAfter: time.Now().AddDate(2, 0, 0)})
	mismatchedP12, err := pkcs12.LegacyDES.Encode(other.Key, p.merchant.Cert, nil, testMchID)
	if err != nil {
		t.Fatal(err)
	}
	const wrong = "WrongPassword123"
	tests := []struct {
		name     string
		set      func(t *testing.T, c *Config)
		wantMsg  string
		notInMsg []string
	}{
		{"wrong password, legacy 3DES", func(t *testing.T, c *Config) {
			c.PKCS12, c.PKCS12Password = p12Of(t, p.merchant, testcert.P12Legacy3DES, testMchID, true), wrong
		}, "wrong password", []string{wrong, testMchID + " "}},
		{"wrong password, RC2", func(t *testing.T, c *Config) {
			c.PKCS12, c.PKCS12Password = p12Of(t, p.merchant, testcert.P12LegacyRC2, testMchID, true), wrong
		}, "wrong password", []string{wrong}},
		{"wrong password, modern AES", func(t *testing.T, c *Config) {
			c.PKCS12, c.PKCS12Password = p12Of(t, p.merchant, testcert.P12Modern, testMchID, true), wrong
		}, "wrong password", []string{wrong}},
		{"default password is not the bundle's", func(t *testing.T, c *Config) {
			c.PKCS12 = p12Of(t, p.merchant, testcert.P12Legacy3DES, "NotTheMchID", true)
		}, "wrong password", []string{"NotTheMchID"}},
		{"not a PKCS#12 bundle", func(_ *testing.T, c *Config) { c.PKCS12 = []byte("-----BEGIN CERTIFICATE-----") }, "PKCS#12", nil},
		{"PKCS#12 key of another certificate", func(_ *testing.T, c *Config) { c.PKCS12 = mismatchedP12 }, "does not match", nil},
		{"PEM key of another certificate", func(_ *testing.T, c *Config) {
			c.CertPEM, c.KeyPEM = p.merchant.CertPEM, other.KeyPEM
		}, "PEM pair", []string{"PRIVATE KEY"}},
		{"PEM pair swapped", func(_ *testing.T, c *Config) {
			c.CertPEM, c.KeyPEM = p.merchant.KeyPEM, p.merchant.CertPEM
		}, "PEM pair", []string{"PRIVATE KEY"}},
		{"expired", func(_ *testing.T, c *Config) { c.CertPEM, c.KeyPEM = expired.CertPEM, expired.KeyPEM }, "expired", nil},
		{"not yet valid", func(_ *testing.T, c *Config) { c.CertPEM, c.KeyPEM = future.CertPEM, future.KeyPEM }, "not valid before", nil},
		{"PKCS12 and PEM both set", func(_ *testing.T, c *Config) {
			c.PKCS12, c.CertPEM, c.KeyPEM = p.p12, p.merchant.CertPEM, p.merchant.KeyPEM
		}, "not both", nil},
		{"PKCS12 and a lone KeyPEM", func(_ *testing.T, c *Config) { c.PKCS12, c.KeyPEM = p.p12, p.merchant.KeyPEM }, "not both", nil},
		{"none set", func(*testing.T, *Config) {}, "missing", nil},
		{"CertPEM without KeyPEM", func(_ *testing.T, c *Config) { c.CertPEM = p.merchant.CertPEM }, "go together", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := Config{MchID: testMchID, AppID: testAppID, APIKey: testAPIKey, BaseURL: "https://127.0.0.1:1"}
			tt.set(t, &cfg)
			c, err := NewClient(cfg)
			if c != nil || err == nil {
				t.Fatalf("NewClient = %v, %v; want an error", c, err)
			}
			if !errors.Is(err, ErrCertificate) {
				t.Errorf("err = %v; want errors.Is ErrCertificate", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "redpack: ") || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("err = %q; want a redpack: message containing %q", msg, tt.wantMsg)
			}
			for _, s := range tt.notInMsg {
				if strings.Contains(msg, s) {
					t.Errorf("err = %q contains %q", msg, s)
				}
			}
		})
	}
}

// A certificate whose CN is not the mch_id is a warning, not an error.
func TestCertificateCNWarning(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cn   string
		warn bool
	}{{"1234567", true}, {testMchID, false}} {
		t.Run("CN="+tt.cn, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			l := merchantLeaf(t, tt.cn, testcert.MerchantOptions{})
			ts := newMinimalServer(t)
			cfg := mtlsConfig(t, ts.URL)
			cfg.PKCS12, cfg.CertPEM, cfg.KeyPEM = nil, l.CertPEM, l.KeyPEM
			c := newClientFor(t, cfg, WithLogger(logger))
			warned := strings.Contains(buf.String(), "level=WARN") && strings.Contains(buf.String(), "CN")
			if warned != tt.warn {
				t.Errorf("warned = %v, want %v; log:\n%s", warned, tt.warn, buf.String())
			}
			if tt.warn && !strings.Contains(buf.String(), "cn="+tt.cn) {
				t.Errorf("warning does not name the CN: %s", buf.String())
			}
			if _, err := c.Send(t.Context(), sendReq("CN1")); err != nil {
				t.Errorf("Send: %v", err)
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	tests := []struct {
		in   string
		want string // "" means refused
	}{
		{"", DefaultBaseURL},
		{"https://api.mch.weixin.qq.com", "https://api.mch.weixin.qq.com"},
		{"https://api2.mch.weixin.qq.com/", "https://api2.mch.weixin.qq.com"},
		{"https://example.com:8443/prefix", "https://example.com:8443/prefix"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://localhost:8080", "http://localhost:8080"},
		{"http://[::1]:8080", "http://[::1]:8080"},
		{"http://api.mch.weixin.qq.com", ""},
		{"http://10.0.0.1", ""},
		{"http://127.0.0.1.example.com", ""},
		{"https://user:pass@api.mch.weixin.qq.com", ""},
		{"https://user@api.mch.weixin.qq.com", ""},
		{"https://api.mch.weixin.qq.com?x=1", ""},
		{"https://api.mch.weixin.qq.com/#frag", ""},
		{"ftp://api.mch.weixin.qq.com", ""},
		{"api.mch.weixin.qq.com", ""},
		{"https://", ""},
		{"://bad", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(Config{MchID: testMchID, AppID: testAppID, APIKey: testAPIKey, PKCS12: p.p12, BaseURL: tt.in})
			if tt.want == "" {
				if err == nil {
					t.Fatalf("NewClient accepted BaseURL %q", tt.in)
				}
				if !strings.HasPrefix(err.Error(), "redpack: ") || strings.Contains(err.Error(), "pass") {
					t.Errorf("err = %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewClient(%q): %v", tt.in, err)
			}
			if c.baseURL != tt.want {
				t.Errorf("baseURL = %q, want %q", c.baseURL, tt.want)
			}
		})
	}
}

// A redirect is never followed: it would re-send a payment elsewhere. The
// answer is unknown and the target never sees a request.
func TestNoRedirect(t *testing.T) {
	t.Parallel()
	target := newMinimalServer(t)
	ts := newMinimalServer(t)
	ts.redirect = target.URL + epSend.path
	c := newClientFor(t, mtlsConfig(t, ts.URL))
	_, err := c.Send(t.Context(), sendReq("REDIR1"))
	var de *DecodeError
	if OutcomeOf(err) != OutcomeUnknown || !errors.As(err, &de) || de.HTTPStatus != http.StatusFound {
		t.Errorf("err = %v; want an unknown outcome with a DecodeError of HTTP 302", err)
	}
	if n := ts.requests.Load(); n != int64(tinyRetry.MaxAttempts) {
		t.Errorf("server got %d requests, want %d", n, tinyRetry.MaxAttempts)
	}
	if n := target.requests.Load() + target.handshakes.Load(); n != 0 {
		t.Errorf("redirect target saw %d requests and handshakes", n)
	}
}

func TestTLSVersions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mod  func(*tls.Config)
		want uint16
	}{
		{"default negotiates TLS 1.3", func(*tls.Config) {}, tls.VersionTLS13},
		{"TLS 1.2 server accepted", func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }, tls.VersionTLS12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newMinimalServer(t, tt.mod)
			c := newClientFor(t, mtlsConfig(t, ts.URL))
			if _, err := c.Send(t.Context(), sendReq("TLSV1")); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if _, got := ts.last(); got != tt.want {
				t.Errorf("negotiated %s, want %s", tls.VersionName(got), tls.VersionName(tt.want))
			}
		})
	}
	c := offlineClient(t, uniqueMchID(), okAppID)
	if v := c.transport.TLSClientConfig.MinVersion; v < tls.VersionTLS12 {
		t.Errorf("client MinVersion = %s", tls.VersionName(v))
	}
}

// The certificate is parsed once: every handshake offers the same
// *tls.Certificate, over several connections.
func TestCertificateParsedOnce(t *testing.T) {
	t.Parallel()
	ts := newMinimalServer(t)
	c := newClientFor(t, mtlsConfig(t, ts.URL))
	tc := c.transport.TLSClientConfig
	if len(tc.Certificates) != 0 || tc.GetCertificate != nil {
		t.Errorf("the certificate must reach TLS only through GetClientCertificate")
	}
	first, err := tc.GetClientCertificate(&tls.CertificateRequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := c.Send(t.Context(), sendReq("ONCE1")); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		peers, _ := ts.last()
		if len(peers) == 0 || !peers[0].Equal(first.Leaf) {
			t.Errorf("send %d: the server saw another client certificate", i+1)
		}
		c.CloseIdleConnections() // the next send needs a new connection
		again, err := tc.GetClientCertificate(&tls.CertificateRequestInfo{})
		if err != nil || again != first {
			t.Errorf("GetClientCertificate returned a different *tls.Certificate on call %d", i+2)
		}
	}
	if h := ts.handshakes.Load(); h != 2 {
		t.Errorf("handshakes = %d, want 2 (one per connection)", h)
	}
}
