package redpack

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redpack-go/redpack/internal/testcert"
)

// Secret markers: if any of these strings shows up in printed or logged
// output, a secret leaked.
const (
	secretAPIKey   = "SECRETKEY" + "Pad0Pad1Pad2Pad3Pad4Pad" // 32 of [0-9A-Za-z]
	secretPassword = "P12PASSMARKER77"
)

// secretMarkers returns every rendering of the secrets a printer or logger
// might produce: raw, hex, base64, fmt's decimal byte lists, the PEM header
// and body lines, the private scalar in decimal.
func secretMarkers(t *testing.T, leaf *testcert.Leaf, p12 []byte) []string {
	t.Helper()
	m := []string{
		secretAPIKey, "SECRETKEY", secretPassword, "PRIVATE KEY",
		hex.EncodeToString([]byte(secretAPIKey)), strings.ToUpper(hex.EncodeToString([]byte(secretAPIKey))),
		base64.StdEncoding.EncodeToString([]byte(secretAPIKey)),
		base64.StdEncoding.EncodeToString([]byte(secretAPIKey))[:20],
		hex.EncodeToString([]byte(secretPassword)), base64.StdEncoding.EncodeToString([]byte(secretPassword))[:12],
	}
	// The PEM body, line by line.
	for _, line := range strings.Split(string(leaf.KeyPEM), "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			m = append(m, line)
		}
	}
	block, _ := pem.Decode(leaf.KeyPEM)
	der := block.Bytes
	mid := der[len(der)/2 : len(der)/2+16]
	m = append(m, hex.EncodeToString(mid), strings.ToUpper(hex.EncodeToString(mid)),
		strings.Trim(fmt.Sprint(mid), "[]"), base64.StdEncoding.EncodeToString(der)[40:80])
	// The private scalar, as big.Int, hex, base64 and bytes would print it.
	raw, err := leaf.Key.(*ecdsa.PrivateKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	m = append(m, new(big.Int).SetBytes(raw).String(), hex.EncodeToString(raw), strings.ToUpper(hex.EncodeToString(raw)),
		base64.StdEncoding.EncodeToString(raw)[:24], base64.RawURLEncoding.EncodeToString(raw)[:24],
		strings.Trim(fmt.Sprint(raw[8:20]), "[]"))
	// The PKCS#12 bundle (it holds the key, shrouded with the password).
	pm := p12[len(p12)/2 : len(p12)/2+16]
	m = append(m, hex.EncodeToString(pm), strings.Trim(fmt.Sprint(pm), "[]"), base64.StdEncoding.EncodeToString(p12)[64:112])
	return m
}

func leaks(s string, markers []string) bool {
	for _, m := range markers {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

func checkNoSecrets(t *testing.T, where, s string, markers []string) {
	t.Helper()
	for _, m := range markers {
		if strings.Contains(s, m) {
			t.Errorf("%s leaks secret marker %q:\n%s", where, m, s)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var printVerbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x"}

// sprintAll renders v with every verb.
func sprintAll(v any) string {
	var b strings.Builder
	for _, verb := range printVerbs {
		fmt.Fprintf(&b, verb+"\n", v)
	}
	return b.String()
}

// sprintErr renders err and every error in its chain with every verb.
func sprintErr(err error) string {
	var b strings.Builder
	for e := err; e != nil; e = errors.Unwrap(e) {
		b.WriteString(e.Error())
		b.WriteString("\n")
		b.WriteString(sprintAll(e))
	}
	return b.String()
}

// cfg0 is a Config holding every secret.
func cfg0(p12 []byte) Config {
	return Config{MchID: testMchID, AppID: testAppID, APIKey: secretAPIKey, PKCS12: p12, PKCS12Password: secretPassword}
}

func mustDER(t *testing.T, keyPEM []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		t.Fatal("no PEM block")
	}
	return b.Bytes
}

func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	p := sharedPKI(t)
	p12 := p12Of(t, p.merchant, testcert.P12Legacy3DES, secretPassword, true)
	markers := secretMarkers(t, p.merchant, p12)

	// The markers catch what a careless printer would show.
	type plainConfig Config // Config without its redacting methods
	for name, leak := range map[string]string{
		"Config without redaction": fmt.Sprintf("%+v", plainConfig(cfg0(p12))),
		"key %v":                   fmt.Sprintf("%v", p.merchant.Key),
		"key PEM":                  string(p.merchant.KeyPEM),
		"PKCS#12 bytes %v":         fmt.Sprintf("%v", p12),
		"PKCS#12 bytes %x":         fmt.Sprintf("%x", p12),
		"PKCS#12 base64":           base64.StdEncoding.EncodeToString(p12),
		"key DER base64":           base64.StdEncoding.EncodeToString(mustDER(t, p.merchant.KeyPEM)),
		"API key in a sign string": "a=b&key=" + secretAPIKey,
		"API key hex":              hex.EncodeToString([]byte(secretAPIKey)),
		"password in a message":    "wrong password " + strconv.Quote(secretPassword),
	} {
		if !leaks(leak, markers) {
			t.Errorf("the markers would miss a leak through %s", name)
		}
	}

	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := newMinimalServer(t)
	cfg := Config{MchID: testMchID, AppID: testAppID, APIKey: secretAPIKey, PKCS12: p12,
		PKCS12Password: secretPassword, BaseURL: ts.URL, RootCAs: p.ca.Pool()}
	pemCfg := cfg
	pemCfg.PKCS12, pemCfg.PKCS12Password = nil, ""
	pemCfg.CertPEM, pemCfg.KeyPEM = p.merchant.CertPEM, p.merchant.KeyPEM

	c := newClientFor(t, cfg, WithLogger(logger))
	pc := newClientFor(t, pemCfg, WithLogger(logger))

	var out strings.Builder
	add := func(where, s string) {
		checkNoSecrets(t, where, s, markers)
		out.WriteString(s)
	}
	// The printers.
	add("Config", sprintAll(cfg))
	add("*Config", sprintAll(&cfg))
	add("PEM Config", sprintAll(pemCfg))
	add("[]Config", sprintAll([]Config{cfg, pemCfg}))
	add("struct holding a Config", fmt.Sprintf("%+v %#v", struct{ C Config }{cfg}, struct{ C *Config }{&cfg}))
	add("*Client", sprintAll(c))
	add("Client value", sprintAll(*c))
	add("PEM Client value", sprintAll(*pc))
	add("transport", sprintAll(c.transport))
	add("TLS config", sprintAll(c.transport.TLSClientConfig))
	add("options", sprintAll(c.opts))

	errs := map[string]error{}
	// Construction errors.
	bad := cfg
	bad.APIKey = secretAPIKey[:31]
	_, errs["NewClient bad key"] = NewClient(bad)
	bad = cfg
	bad.PKCS12Password = secretPassword + "x"
	_, errs["NewClient wrong password"] = NewClient(bad)
	bad = cfg
	bad.PKCS12Password = ""
	_, errs["NewClient default password"] = NewClient(bad)
	bad = pemCfg
	bad.KeyPEM = append([]byte(nil), p.merchant.KeyPEM...)
	bad.KeyPEM[len(bad.KeyPEM)/2] = '!'
	_, errs["NewClient damaged key"] = NewClient(bad)
	bad = pemCfg
	bad.CertPEM = p.merchant.KeyPEM
	_, errs["NewClient key as cert"] = NewClient(bad)

	// Validation, with the secret pasted into the wrong fields.
	leaky := sendReq(secretAPIKey + "!")
	leaky.OpenID = secretAPIKey + "-" + secretPassword + "!"
	leaky.Remark = " " + secretAPIKey
	_, errs["validation"] = c.Send(t.Context(), leaky)
	_, errs["query validation"] = c.Query(t.Context(), secretAPIKey+"!")
	_, errs["check validation"] = c.Check(t.Context(), Payment{BillNo: secretAPIKey + "!", OpenID: okOpenID, Amount: 100, TotalNum: 1})
	_, errs["check validation, long"] = c.Check(t.Context(), Payment{BillNo: secretAPIKey, OpenID: okOpenID, Amount: 100, TotalNum: 1})

	// A success, and an answer the client cannot read (a redirect), logged
	// at Debug and Warn. The answers of WeChat Pay go through the same
	// errors in client_test.go's TestSecretsNeverInAnswerErrors.
	if _, err := c.Send(t.Context(), sendReq("SECRET1")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	redirecting := newMinimalServer(t)
	redirecting.redirect = "https://127.0.0.1:1/elsewhere"
	rcfg := cfg
	rcfg.BaseURL = redirecting.URL
	_, errs["unknown"] = newClientFor(t, rcfg, WithLogger(logger)).Send(t.Context(), sendReq("SECRET2"))
	_, errs["BizRedPacket"] = c.BizRedPacket("")

	notSentCfg := cfg
	notSentCfg.BaseURL = "https://" + closedAddr(t)
	ns := newClientFor(t, notSentCfg, WithLogger(logger))
	_, errs["NotSent"] = ns.Send(t.Context(), sendReq("SECRET8"))
	otherCfg := cfg
	otherCfg.RootCAs = nil // the test CA is not a system root: handshake fails
	_, errs["NotSent TLS"] = newClientFor(t, otherCfg, WithLogger(logger)).Send(t.Context(), sendReq("SECRET9"))

	for name, err := range errs {
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		add(name, sprintErr(err))
	}

	// The logger saw every attempt, and nothing secret.
	l := logs.String()
	for _, want := range []string{`"level":"DEBUG"`, `"level":"WARN"`, "SECRET1", "SECRET2", "SECRET8", `"attempt":3`} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %s; the test would not see a leak:\n%s", want, l)
		}
	}
	checkNoSecrets(t, "log", l, markers)

	if out.Len() == 0 {
		t.Fatal("nothing was printed")
	}
}
