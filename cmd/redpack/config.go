package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redpack-go/redpack"
)

// Environment variables of the merchant configuration.
const (
	envMchID       = "REDPACK_MCH_ID"
	envAppID       = "REDPACK_APP_ID"
	envMiniAppID   = "REDPACK_MINI_APP_ID"
	envAPIKey      = "REDPACK_API_KEY"
	envAPIKeyFile  = "REDPACK_API_KEY_FILE"
	envCertP12     = "REDPACK_CERT_P12"
	envCertP12Pass = "REDPACK_CERT_P12_PASSWORD"
	envCertPEM     = "REDPACK_CERT_PEM"
	envKeyPEM      = "REDPACK_KEY_PEM"
	envBaseURL     = "REDPACK_BASE_URL"
	envCA          = "REDPACK_CA"
	envNodeID      = "REDPACK_NODE_ID"
)

// merchantFlags are the flags every command that talks to WeChat Pay shares.
type merchantFlags struct {
	mchID, appID, miniAppID  string
	apiKeyFile               string
	certP12, certPEM, keyPEM string
	baseURL, caFile          string
	nodeID                   string
	attempts                 int
	retryDelay               time.Duration
	attemptTimeout           time.Duration
	json                     bool
}

func (m *merchantFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.mchID, "mch-id", "", "merchant `ID` (default $"+envMchID+")")
	fs.StringVar(&m.appID, "appid", "", "Official Account `appid` (default $"+envAppID+")")
	fs.StringVar(&m.miniAppID, "mini-appid", "", "mini-program `appid` for -kind mini and paysign (default $"+envMiniAppID+", else the appid)")
	fs.StringVar(&m.apiKeyFile, "api-key-file", "", "`file` holding the API v2 key (default $"+envAPIKeyFile+"; else the key is read from $"+envAPIKey+")")
	fs.StringVar(&m.certP12, "cert-p12", "", "`path` of apiclient_cert.p12, password $"+envCertP12Pass+" or the mch ID (default $"+envCertP12+")")
	fs.StringVar(&m.certPEM, "cert-pem", "", "`path` of apiclient_cert.pem (default $"+envCertPEM+")")
	fs.StringVar(&m.keyPEM, "key-pem", "", "`path` of apiclient_key.pem (default $"+envKeyPEM+")")
	fs.StringVar(&m.baseURL, "base-url", "", "API `URL` (default $"+envBaseURL+", else "+redpack.DefaultBaseURL+")")
	fs.StringVar(&m.caFile, "ca", "", "PEM `file` of a private CA to trust, e.g. the fake server's ca.pem (default $"+envCA+")")
	fs.StringVar(&m.nodeID, "node", "", "bill-number node `id` 0-99 (default $"+envNodeID+", else the process ID modulo 100, so that CLI runs in the same millisecond differ)")
	fs.IntVar(&m.attempts, "attempts", 0, "attempts per call, the first included (default 3)")
	fs.DurationVar(&m.retryDelay, "retry-delay", 0, "wait before the first retry, doubling after (default 1s; WeChat Pay asks for at least 1s)")
	fs.DurationVar(&m.attemptTimeout, "attempt-timeout", 0, "bound on one attempt (default 15s)")
	fs.BoolVar(&m.json, "json", false, "print one JSON object with stable field names")
}

// config builds the merchant Config from the flags and the environment.
// mini selects the mini-program appid.
func (m *merchantFlags) config(env func(string) string, mini bool) (redpack.Config, error) {
	pick := func(flagValue, name string) string {
		if flagValue != "" {
			return flagValue
		}
		return strings.TrimSpace(env(name))
	}
	cfg := redpack.Config{
		MchID:   pick(m.mchID, envMchID),
		AppID:   pick(m.appID, envAppID),
		BaseURL: pick(m.baseURL, envBaseURL),
	}
	if mini {
		if id := pick(m.miniAppID, envMiniAppID); id != "" {
			cfg.AppID = id
		}
	}
	var missing []string
	if cfg.MchID == "" {
		missing = append(missing, envMchID+" (-mch-id)")
	}
	if cfg.AppID == "" {
		missing = append(missing, envAppID+" (-appid)")
	}

	switch keyFile := pick(m.apiKeyFile, envAPIKeyFile); {
	case keyFile != "":
		b, err := os.ReadFile(keyFile)
		if err != nil {
			// Never quote the path: a key given there by mistake would be
			// printed (and it shows in ps already).
			return cfg, usagef("redpack: cannot read the API key file named by -api-key-file or %s: %v", envAPIKeyFile, pathErrorCause(err))
		}
		cfg.APIKey = strings.TrimSpace(string(b))
	default:
		cfg.APIKey = strings.TrimSpace(env(envAPIKey))
	}
	if cfg.APIKey == "" {
		missing = append(missing, envAPIKey+" (or -api-key-file)")
	}

	p12 := pick(m.certP12, envCertP12)
	certPEM, keyPEM := pick(m.certPEM, envCertPEM), pick(m.keyPEM, envKeyPEM)
	switch {
	case p12 != "" && (certPEM != "" || keyPEM != ""):
		return cfg, usagef("redpack: give the certificate as %s or as %s + %s, not both", envCertP12, envCertPEM, envKeyPEM)
	case p12 != "":
		if err := cfg.LoadPKCS12File(p12); err != nil {
			return cfg, usagef("%v", err)
		}
		cfg.PKCS12Password = env(envCertP12Pass)
	case certPEM != "" && keyPEM != "":
		if err := cfg.LoadPEMFiles(certPEM, keyPEM); err != nil {
			return cfg, usagef("%v", err)
		}
	case certPEM != "" || keyPEM != "":
		return cfg, usagef("redpack: %s and %s go together", envCertPEM, envKeyPEM)
	default:
		missing = append(missing, envCertP12+" (-cert-p12) or "+envCertPEM+" + "+envKeyPEM)
	}
	if len(missing) > 0 {
		return cfg, usagef("redpack: missing merchant configuration: %s", strings.Join(missing, ", "))
	}

	if ca := pick(m.caFile, envCA); ca != "" {
		b, err := os.ReadFile(ca)
		if err != nil {
			return cfg, usagef("redpack: CA file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return cfg, usagef("redpack: CA file %s holds no PEM certificate", ca)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// options returns the client options the flags ask for.
func (m *merchantFlags) options() ([]redpack.Option, error) {
	var opts []redpack.Option
	if m.attempts < 0 || m.retryDelay < 0 || m.attemptTimeout < 0 {
		return nil, usagef("redpack: -attempts, -retry-delay and -attempt-timeout must not be negative")
	}
	if m.attempts > 0 || m.retryDelay > 0 {
		p := redpack.DefaultRetryPolicy()
		if m.attempts > 0 {
			p.MaxAttempts = m.attempts
		}
		if m.retryDelay > 0 {
			p.BaseDelay = m.retryDelay
			p.MaxDelay = max(min(8*m.retryDelay, redpack.DefaultRetryPolicy().MaxDelay), m.retryDelay)
		}
		opts = append(opts, redpack.WithRetryPolicy(p))
	}
	if m.attemptTimeout > 0 {
		opts = append(opts, redpack.WithTimeout(m.attemptTimeout))
	}
	return opts, nil
}

// client builds the Client; every error is a usage error (exit 2).
func (m *merchantFlags) client(env func(string) string, mini bool, extra ...redpack.Option) (*redpack.Client, error) {
	cfg, err := m.config(env, mini)
	if err != nil {
		return nil, err
	}
	opts, err := m.options()
	if err != nil {
		return nil, err
	}
	node := os.Getpid() % (redpack.MaxNodeID + 1)
	if v := m.nodeID; v != "" || env(envNodeID) != "" {
		if v == "" {
			v = env(envNodeID)
		}
		if node, err = strconv.Atoi(v); err != nil {
			return nil, usagef("redpack: -node / %s must be a number from 0 to %d", envNodeID, redpack.MaxNodeID)
		}
	}
	opts = append(opts, redpack.WithNodeID(node))
	c, err := redpack.NewClient(cfg, append(opts, extra...)...)
	if err != nil {
		// NewClient's messages describe, never quote, the key and password.
		return nil, &usageError{err.Error()}
	}
	return c, nil
}

// pathErrorCause returns the cause of a file error without the path.
func pathErrorCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return errors.New("unreadable")
}
