package redpack

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

// Option configures a Client. Options are checked by NewClient, which fails
// on a bad one.
type Option func(*options) error

type options struct {
	timeout     time.Duration
	retry       RetryPolicy
	logger      *slog.Logger
	node        int
	now         func() time.Time
	nonce       func() string
	clientIP    string
	maxAmount   int64
	maxConns    int
	limiter     *rate.Limiter
	concurrency int
	proxy       *url.URL // WithProxy: instead of the environment's
	wrap        func(http.RoundTripper) http.RoundTripper
}

// Defaults.
const (
	// DefaultTimeout bounds one attempt (connect, TLS, write, answer).
	DefaultTimeout = 15 * time.Second
	// DefaultClientIP is sent as client_ip when neither the request nor
	// WithClientIP gives one: the official samples use it and WeChat Pay
	// accepts it. Set your server's public IPv4 if your risk settings need it.
	DefaultClientIP = "127.0.0.1"
	// DefaultMaxConns is the connection pool size per Client.
	DefaultMaxConns = 32
	// MerchantRateLimit is WeChat Pay's default send rate per merchant (per
	// second); see WithRateLimit.
	MerchantRateLimit = 30
)

func defaultOptions() options {
	return options{
		timeout:  DefaultTimeout,
		retry:    DefaultRetryPolicy(),
		node:     -1,
		logger:   slog.New(slog.DiscardHandler),
		now:      time.Now,
		nonce:    newNonce,
		clientIP: DefaultClientIP,
		maxConns: DefaultMaxConns,
	}
}

// WithTimeout bounds each attempt (not the whole call: that is the context's
// job). The default is DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return errors.New("redpack: WithTimeout: must be positive")
		}
		o.timeout = d
		return nil
	}
}

// WithRetryPolicy replaces DefaultRetryPolicy().
func WithRetryPolicy(p RetryPolicy) Option {
	return func(o *options) error {
		if !p.valid() {
			return errors.New("redpack: WithRetryPolicy: need MaxAttempts >= 1 and 0 <= BaseDelay <= MaxDelay")
		}
		o.retry = p
		return nil
	}
}

// WithLogger logs each attempt (op, bill number, attempt, outcome, the
// error's message) at Debug and unknown outcomes at Warn. Nothing secret is
// ever logged. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("redpack: WithLogger: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithNodeID sets the two node digits (0–MaxNodeID) of time-based bill
// numbers and enables Client.NewBillNo, which fails without it: there is no
// default node, because two processes sharing one would share numbers. Give
// every process that draws numbers for the same merchant at the same time
// its own node id (see billno.go's collision analysis), or derive numbers
// from your own records with Client.BillNoFor.
func WithNodeID(id int) Option {
	return func(o *options) error {
		if id < 0 || id > MaxNodeID {
			return errors.New("redpack: WithNodeID: must be 0 to " + strconv.Itoa(MaxNodeID))
		}
		o.node = id
		return nil
	}
}

// WithClock replaces time.Now for bill numbers, BizRedPacket timestamps and
// the certificate validity check (tests, reproducible bodies).
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("redpack: WithClock: nil clock")
		}
		o.now = now
		return nil
	}
}

// WithNonceFunc replaces the crypto/rand nonce generator (tests, golden
// bodies). The function must return 1 to 32 characters of [0-9A-Za-z].
func WithNonceFunc(f func() string) Option {
	return func(o *options) error {
		if f == nil {
			return errors.New("redpack: WithNonceFunc: nil function")
		}
		o.nonce = f
		return nil
	}
}

// WithClientIP sets the client_ip sent by Send when the request has none
// (dotted IPv4). The default is DefaultClientIP.
func WithClientIP(ip string) Option {
	return func(o *options) error {
		c := checker{op: "WithClientIP"}
		c.clientIP(ip)
		if err := c.err(); err != nil {
			return err
		}
		o.clientIP = ip
		return nil
	}
}

// WithMaxAmount is an overpayment guard: any send above fen (the group total
// for SendGroup) is refused before it leaves the process. 0 means none.
func WithMaxAmount(fen int64) Option {
	return func(o *options) error {
		if fen < 0 {
			return errors.New("redpack: WithMaxAmount: must not be negative")
		}
		o.maxAmount = fen
		return nil
	}
}

// WithMaxConns sets the size of the connection pool (idle and open
// connections to the API host). The default is DefaultMaxConns.
func WithMaxConns(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return errors.New("redpack: WithMaxConns: must be at least 1")
		}
		o.maxConns = n
		return nil
	}
}

// WithRateLimit makes every attempt wait for a token of a limiter of perSecond
// requests a second with the given burst, so that bursts wait instead of
// meeting FREQ_LIMIT. WeChat Pay's default quota is MerchantRateLimit per
// merchant: share one Client per merchant, or divide the quota between
// processes. Off by default.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(o *options) error {
		if perSecond <= 0 || burst < 1 {
			return errors.New("redpack: WithRateLimit: need perSecond > 0 and burst >= 1")
		}
		o.limiter = rate.NewLimiter(rate.Limit(perSecond), burst)
		return nil
	}
}

// WithMaxConcurrent caps how many attempts are in flight at once on this
// Client; further calls wait (or give up when their context ends, unsent).
// 0, the default, means no cap beyond the connection pool.
func WithMaxConcurrent(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return errors.New("redpack: WithMaxConcurrent: must not be negative")
		}
		o.concurrency = n
		return nil
	}
}

// WithTransportWrapper wraps the Client's transport, for tracing, metrics or
// a custom round tripper around it (the shape otelhttp.NewTransport has). The
// wrapper receives a round tripper over the Client's own transport, which
// keeps the mutual TLS, the connection pool and the proxy; the Client still
// refuses redirects. It still tells "not sent" from "unknown" when the
// wrapper passes the request's context (or one derived from it) on to the
// wrapped round tripper; when it does not, or when the wrapper fails a
// request without passing it on, a failed attempt is unknown, never "not
// sent". A wrapper must not retry or replay requests itself.
func WithTransportWrapper(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return func(o *options) error {
		if wrap == nil {
			return errors.New("redpack: WithTransportWrapper: nil function")
		}
		o.wrap = wrap
		return nil
	}
}

// WithProxy sends every request through proxy (http or https scheme)
// instead of the proxy the environment names (HTTPS_PROXY, NO_PROXY). The
// merchant certificate is offered to the API host only, never to an https
// proxy.
func WithProxy(proxy *url.URL) Option {
	return func(o *options) error {
		if proxy == nil || (proxy.Scheme != "http" && proxy.Scheme != "https") || proxy.Host == "" {
			return errors.New("redpack: WithProxy: need an http or https proxy URL")
		}
		o.proxy = proxy
		return nil
	}
}
