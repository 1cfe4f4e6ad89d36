package redpacktest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"
)

// Default merchant identity and rules of a Server.
const (
	DefaultMchID         = "1900000109"
	DefaultAppID         = "wx8888888888888888"
	DefaultMiniAppID     = "wxminiprogram00001"
	DefaultAPIKey        = "RedpackTestApiKey0123456789abcde"
	DefaultBalance       = 100_000_000 // fen: 1,000,000 yuan
	DefaultFreqLimit     = 30          // requests a second per endpoint
	DefaultUserDailyNum  = 10
	DefaultUserDailyFen  = 100_000     // 1,000 yuan
	DefaultMerchantDaily = 100_000_000 // 1,000,000 yuan
	DefaultProcessing    = 2 * time.Second

	// RefundAfter is how long a SENT packet may stay unclaimed before it
	// turns RFUND_ING (SPEC §2.1: 24 h).
	RefundAfter = 24 * time.Hour
	// RefundDuration is how long a packet stays RFUND_ING before it is
	// REFUND and its amount is back in the balance. The real duration is
	// undocumented; the fake picks one hour.
	RefundDuration = time.Hour
)

// Option configures a Server. An option given a value it cannot use makes
// New return an error naming the option (NewServer panics with it,
// NewTestServer fails the test).
type Option func(*config) error

type config struct {
	mchID, appID, miniAppID string
	apiKey                  string
	balance                 int64
	freq                    int
	userNum                 int
	userFen                 int64
	merchantDaily           int64
	now                     func() time.Time
	groupRetired            bool
	seed                    int64
	addr                    string
	processingDelay         time.Duration
	tlsHook                 func(*tls.Config)
}

func defaultConfig() config {
	return config{
		mchID:           DefaultMchID,
		appID:           DefaultAppID,
		apiKey:          DefaultAPIKey,
		miniAppID:       DefaultMiniAppID,
		balance:         DefaultBalance,
		freq:            DefaultFreqLimit,
		userNum:         DefaultUserDailyNum,
		userFen:         DefaultUserDailyFen,
		merchantDaily:   DefaultMerchantDaily,
		now:             time.Now,
		seed:            1,
		addr:            "127.0.0.1:0",
		processingDelay: DefaultProcessing,
	}
}

// WithMerchant sets the merchant ID, its Official Account appid and its API
// v2 key. The merchant certificate is issued with subject CN mchID. mchID
// must be 1 to 32 digits, appID 1 to 32 characters of [0-9A-Za-z] and
// apiKey 32 characters, as WeChat Pay's are.
func WithMerchant(mchID, appID, apiKey string) Option {
	return func(c *config) error {
		switch {
		case !isDigits(mchID) || len(mchID) > 32:
			return errors.New("WithMerchant: mch_id must be 1-32 digits")
		case !isAlnum(appID) || appID == "" || len(appID) > 32:
			return errors.New("WithMerchant: appid must be 1-32 characters of [0-9A-Za-z]")
		case len(apiKey) != 32:
			// The key itself is never quoted.
			return fmt.Errorf("WithMerchant: the API key must be 32 characters, got %d", len(apiKey))
		}
		c.mchID, c.appID, c.apiKey = mchID, appID, apiKey
		return nil
	}
}

// WithMiniProgramAppID sets the mini-program appid bound to the merchant,
// accepted by sendminiprogramhb and gethbinfo (default DefaultMiniAppID).
func WithMiniProgramAppID(appID string) Option {
	return func(c *config) error {
		if !isAlnum(appID) || appID == "" || len(appID) > 32 {
			return errors.New("WithMiniProgramAppID: appid must be 1-32 characters of [0-9A-Za-z]")
		}
		c.miniAppID = appID
		return nil
	}
}

// WithBalance sets the merchant's available balance in fen (default
// DefaultBalance). A negative balance is refused.
func WithBalance(fen int64) Option {
	return func(c *config) error {
		if fen < 0 {
			return fmt.Errorf("WithBalance: negative balance %d fen", fen)
		}
		c.balance = fen
		return nil
	}
}

// WithFreqLimit sets how many requests a second each endpoint accepts
// before answering FREQ_LIMIT (sliding one-second window on the server
// clock). 0 turns the limit off; the default is DefaultFreqLimit. (The
// client-side limiter is redpack.WithRateLimit.)
func WithFreqLimit(perSecond int) Option {
	return func(c *config) error {
		if perSecond < 0 {
			return fmt.Errorf("WithFreqLimit: negative rate %d", perSecond)
		}
		c.freq = perSecond
		return nil
	}
}

// WithUserDailyLimits sets how many packets (SENDNUM_LIMIT) and how many fen
// (RCVDAMOUNT_LIMIT) one openid may receive from the merchant per China
// Standard Time calendar day; 0 turns a limit off. Defaults: 10 packets,
// 100000 fen.
func WithUserDailyLimits(count int, amountFen int64) Option {
	return func(c *config) error {
		if count < 0 || amountFen < 0 {
			return errors.New("WithUserDailyLimits: negative limit")
		}
		c.userNum, c.userFen = count, amountFen
		return nil
	}
}

// WithMerchantDailyLimit sets how many fen the merchant may pay out per
// China Standard Time calendar day (SENDAMOUNT_LIMIT; default
// DefaultMerchantDaily; 0 turns it off).
func WithMerchantDailyLimit(fen int64) Option {
	return func(c *config) error {
		if fen < 0 {
			return errors.New("WithMerchantDailyLimit: negative limit")
		}
		c.merchantDaily = fen
		return nil
	}
}

// WithServerClock replaces time.Now as the server clock: daily windows, the
// rate window, send and receive times, Request.Time, the processing delay
// and the 24-hour refund of unclaimed packets all follow it. (The client's
// clock is redpack.WithClock.) Delays of injected answers (Answer.After)
// are real time.
func WithServerClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("WithServerClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// WithGroupRetired makes sendgroupredpack answer as the product retired on
// 2024-06-05 does: API_METHOD_CLOSED.
func WithGroupRetired(retired bool) Option {
	return func(c *config) error { c.groupRetired = retired; return nil }
}

// WithSeed seeds the random source of InjectRandom and of group shares
// (default 1): the same seed and the same requests give the same draws.
func WithSeed(seed int64) Option { return func(c *config) error { c.seed = seed; return nil } }

// WithAddr sets the listen address (default "127.0.0.1:0"). Only loopback
// hosts are accepted: the server certificate covers 127.0.0.1, ::1 and
// localhost only, and a fake payment server has no business elsewhere.
func WithAddr(addr string) Option {
	return func(c *config) error {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("WithAddr: %v", err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("WithAddr: only loopback addresses are allowed, got %q", addr)
		}
		c.addr = addr
		return nil
	}
}

// WithProcessingDelay sets how long after acceptance a packet answered
// PROCESSING settles (server clock; default DefaultProcessing).
func WithProcessingDelay(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return errors.New("WithProcessingDelay: negative delay")
		}
		c.processingDelay = d
		return nil
	}
}

// WithServerTLS lets a test adjust the server's TLS configuration before it
// starts listening (for example MaxVersion, or ClientCAs of another CA to
// see a handshake fail). The fake keeps HTTP/1.1 only.
func WithServerTLS(adjust func(*tls.Config)) Option {
	return func(c *config) error {
		if adjust == nil {
			return errors.New("WithServerTLS: nil func")
		}
		c.tlsHook = adjust
		return nil
	}
}
