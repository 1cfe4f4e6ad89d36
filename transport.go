package redpack

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"
)

// checkBaseURL accepts https URLs, and http only for loopback hosts (tests and
// the fake server).
func checkBaseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", errors.New("redpack: BaseURL must be an absolute URL such as https://api.mch.weixin.qq.com")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("redpack: BaseURL must not carry user info, a query or a fragment")
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return "", errors.New("redpack: BaseURL must be https (http is allowed only for loopback hosts)")
	}
	s := u.String()
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// proxyFor returns the proxy the environment (HTTPS_PROXY, NO_PROXY, ...)
// names for base, or nil. A Client talks to one host, so this is decided once
// in NewClient instead of on every request.
func proxyFor(base string) (*url.URL, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	p, err := http.ProxyFromEnvironment(&http.Request{URL: u})
	if err != nil {
		// The message names the variable's problem; it may quote the proxy
		// address, never a merchant secret.
		return nil, fmt.Errorf("redpack: proxy from the environment: %w", err)
	}
	return p, nil
}

// newTransport builds the one transport of a Client: TLS 1.2 or later, the
// server verified against roots (nil = system roots), HTTP/1.1 with a pool of
// maxConns connections, and the proxy decided once.
//
// The merchant certificate is offered only to the API host: it reaches TLS
// through GetClientCertificate of TLSClientConfig, which net/http uses for
// the API host's handshake. An https proxy is reached through DialTLSContext
// instead, with a configuration that has no client certificate, so a proxy
// never sees the merchant's identity.
func newTransport(cert *tls.Certificate, roots *x509.CertPool, maxConns int, proxy *url.URL) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext: dialer.DialContext,
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			RootCAs:    roots,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				return cert, nil
			},
		},
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConns:          maxConns,
		MaxIdleConnsPerHost:   maxConns,
		MaxConnsPerHost:       maxConns,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: 0,
	}
	if proxy != nil {
		tr.Proxy = http.ProxyURL(proxy)
		if proxy.Scheme == "https" {
			// With a proxy, net/http calls DialTLSContext only for the
			// proxy's own TLS connection (the scheme of the first hop).
			tr.DialTLSContext = (&tls.Dialer{NetDialer: dialer, Config: &tls.Config{
				MinVersion: tls.VersionTLS12,
				RootCAs:    roots,
			}}).DialContext
		}
	}
	return tr
}

// noRedirect keeps the client on the answer it got: a redirect is never
// followed (it would re-send a payment elsewhere).
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

var contentType = []string{"text/xml; charset=utf-8"}

// result is what one attempt produced: a decoded answer, or err. sent
// reports whether the request may have reached the server: false only when
// no connection was ever obtained.
type result struct {
	answer *response
	raw    []byte
	sent   bool
	err    error
	// stopped: the context, the rate limiter or the concurrency cap
	// stopped the attempt before sending; err is the cause.
	stopped bool
}

// attempt posts body once, within the rate limit, concurrency cap and the
// per-attempt timeout, and decodes the answer.
func (c *Client) attempt(ctx context.Context, ep *endpoint, body []byte) result {
	release, err := c.limits(ctx)
	if err != nil {
		return result{err: err, stopped: true}
	}
	defer release()
	// Bound the attempt, unless the caller's deadline comes first anyway.
	actx := ctx
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > c.opts.timeout {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, c.opts.timeout)
		defer cancel()
	}
	// The "not sent" signal: without a connection the request cannot have
	// been written. Behind a WithTransportWrapper wrapper the trace is seen
	// only if the wrapper kept the context; reachedMarker tells.
	var gotConn, reached atomic.Bool
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) }}
	rctx := httptrace.WithClientTrace(actx, trace)
	wrapped := c.opts.wrap != nil
	if wrapped {
		rctx = context.WithValue(rctx, reachedKey{}, &reached)
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.baseURL+ep.path, bytes.NewReader(body))
	if err != nil {
		return result{err: err}
	}
	req.Header["Content-Type"] = contentType
	res, err := c.http.Do(req)
	if err != nil {
		// A wrapper that replaced the context hid the trace: the request
		// may have gone out, so it is not "not sent".
		return result{sent: gotConn.Load() || (wrapped && !reached.Load()), err: err}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes+1))
	if err != nil {
		return result{sent: true, err: err}
	}
	if len(raw) > maxResponseBytes {
		return result{sent: true, err: newDecodeError(res.StatusCode, "answer larger than 1 MiB", raw)}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return result{sent: true, err: newDecodeError(res.StatusCode, "HTTP status "+res.Status, raw)}
	}
	r, err := decodeXML(raw, ep.op == opQuery)
	if err != nil {
		return result{sent: true, err: newDecodeError(res.StatusCode, err.Error(), raw)}
	}
	if r.fields.has("sign") && !signEqual(r.get("sign"), c.sign(responseParams(r), false)) {
		return result{sent: true, err: newDecodeError(res.StatusCode, "answer sign does not verify", nil)}
	}
	return result{answer: r, raw: raw, sent: true}
}

// reachedMarker is the transport a WithTransportWrapper wrapper wraps: it
// notes that a request reached the Client's transport with its attempt's
// context, and so with the trace that sees its connection.
type reachedMarker struct{ next http.RoundTripper }

type reachedKey struct{}

func (m reachedMarker) RoundTrip(req *http.Request) (*http.Response, error) {
	if reached, ok := req.Context().Value(reachedKey{}).(*atomic.Bool); ok {
		reached.Store(true)
	}
	return m.next.RoundTrip(req)
}

// limits waits for the rate limiter and the concurrency cap, if set. The
// returned release must be called after the attempt.
func (c *Client) limits(ctx context.Context) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, context.Cause(ctx)
	}
	if l := c.opts.limiter; l != nil {
		if err := l.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			return nil, err
		}
	}
	if c.sem == nil {
		return func() {}, nil
	}
	select {
	case c.sem <- struct{}{}:
		return func() { <-c.sem }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// responseParams returns the flat fields of r, sorted, for verifying its
// sign. hblist is not covered: how nested content would be signed is
// undocumented, and no observed answer with hblist carried a sign.
func responseParams(r *response) params {
	p := make(params, 0, len(r.fields))
	for _, kv := range r.fields {
		p = p.add(kv.k, kv.v)
	}
	p.sort()
	return p
}
