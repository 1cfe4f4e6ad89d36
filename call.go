package redpack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

var contentType = []string{"text/xml; charset=utf-8"}

// errWaitRefused marks an attempt stopped before sending by the rate limiter
// or the concurrency cap (the context ends before a slot is free).
var errWaitRefused = errors.New("redpack: no rate or concurrency slot before the context ends")

// call is the one request pipeline of every endpoint. It adds nonce_str,
// signs and encodes p once, then makes up to RetryPolicy.MaxAttempts
// attempts with exactly those bytes. It returns the decoded success answer,
// or an error classified per the specification:
//
//   - an answer of class FINAL or REJECTED: the *APIError, unless an earlier
//     attempt may have reached the server (then its outcome is still unknown
//     and the *APIError is wrapped in an *UnknownOutcomeError);
//   - PENDING (PROCESSING, FATAL_ERROR) and NOT_FOUND: *UnknownOutcomeError
//     at once, without retrying;
//   - anything else unknown (transport errors, timeouts, 5xx, undecodable
//     answers, SYSTEMERROR, FREQ_LIMIT, unrecognised codes): retried; when
//     attempts run out, *UnknownOutcomeError, or *NotSentError when no
//     attempt ever got a connection.
func (c *Client) call(ctx context.Context, ep endpoint, billNo string, p params) (*response, []byte, error) {
	body := c.encodeRequest(p)

	pol := c.opts.retry
	var (
		last      error
		delivered bool // an attempt so far may have reached the server
		attempts  int
	)
	for attempts < pol.MaxAttempts {
		if attempts > 0 {
			if sleep(ctx, pol.delay(attempts)) != nil {
				break
			}
		}
		if err := ctx.Err(); err != nil {
			if last == nil {
				last = err
			}
			break
		}
		attempts++
		earlier := delivered
		r, raw, sent, err := c.attempt(ctx, ep, body)
		delivered = delivered || sent
		if err == nil {
			if echo := r.get("mch_billno"); echo != "" && echo != billNo {
				err = newDecodeError(http.StatusOK, "answer is for another bill number", raw)
			}
		}
		if err != nil {
			last = err
			c.logAttempt(ctx, slog.LevelDebug, ep.op, billNo, attempts, err)
			if errors.Is(err, errWaitRefused) {
				break // the limiter cannot grant a slot before ctx ends: retrying cannot help
			}
			continue
		}
		ae := answerError(ep.op, billNo, r)
		if ae == nil {
			c.logAttempt(ctx, slog.LevelDebug, ep.op, billNo, attempts, nil)
			r.attempts = attempts
			return r, raw, nil
		}
		c.logAttempt(ctx, slog.LevelDebug, ep.op, billNo, attempts, ae)
		switch ae.Class() {
		case OutcomeFinal, OutcomeRejected:
			if earlier {
				return nil, nil, c.unknown(ctx, ep.op, billNo, attempts, ae)
			}
			return nil, nil, ae
		case OutcomePending:
			return nil, nil, c.unknown(ctx, ep.op, billNo, attempts, ae)
		}
		if ae.ErrCode == "NOT_FOUND" {
			return nil, nil, c.unknown(ctx, ep.op, billNo, attempts, ae)
		}
		last = ae
	}
	if !delivered {
		return nil, nil, &NotSentError{Op: ep.op, BillNo: billNo, Attempts: attempts, Err: last}
	}
	return nil, nil, c.unknown(ctx, ep.op, billNo, attempts, last)
}

// encodeRequest adds nonce_str to p, sorts it, signs it and returns the XML
// body: the bytes every attempt of one call sends.
func (c *Client) encodeRequest(p params) []byte {
	p = p.add("nonce_str", c.opts.nonce())
	p.sort()
	sign := c.sign(p, false)
	return encodeXML(make([]byte, 0, encodedLen(p, sign)), p, sign)
}

func (c *Client) unknown(ctx context.Context, op, billNo string, attempts int, cause error) error {
	err := &UnknownOutcomeError{Op: op, BillNo: billNo, Attempts: attempts, Err: cause}
	c.logAttempt(ctx, slog.LevelWarn, op, billNo, attempts, err)
	return err
}

func (c *Client) logAttempt(ctx context.Context, level slog.Level, op, billNo string, attempt int, err error) {
	l := c.opts.logger
	if !l.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{slog.String("op", op), slog.String("bill_no", billNo), slog.Int("attempt", attempt)}
	if err != nil {
		attrs = append(attrs, slog.String("outcome", Outcome(err).String()), slog.String("error", err.Error()))
	} else {
		attrs = append(attrs, slog.String("outcome", OutcomeOK.String()))
	}
	l.LogAttrs(ctx, level, "redpack: attempt", attrs...)
}

// answerError returns nil for a success (both codes SUCCESS) and the
// *APIError of any other answer.
func answerError(op, billNo string, r *response) *APIError {
	rc, res := r.get("return_code"), r.get("result_code")
	if rc == "SUCCESS" && res == "SUCCESS" {
		return nil
	}
	return &APIError{
		Op:         op,
		BillNo:     billNo,
		HTTPStatus: http.StatusOK,
		ReturnCode: rc,
		ReturnMsg:  r.get("return_msg"),
		ResultCode: res,
		ErrCode:    r.get("err_code"),
		ErrCodeDes: r.get("err_code_des"),
	}
}

// attempt posts body once. sent reports whether the request may have reached
// the server: false only when no connection was ever obtained (dial or TLS
// handshake failed, or the limiter or context stopped it first).
func (c *Client) attempt(ctx context.Context, ep endpoint, body []byte) (r *response, raw []byte, sent bool, err error) {
	release, err := c.limits(ctx)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%w: %w", errWaitRefused, err)
	}
	defer release()
	// Bound the attempt, unless the caller's deadline comes first anyway
	// (then a timer of our own would only cost).
	actx := ctx
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > c.opts.timeout {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, c.opts.timeout)
		defer cancel()
	}
	var gotConn atomic.Bool
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(actx, trace),
		http.MethodPost, c.baseURL+ep.path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, false, err
	}
	req.Header["Content-Type"] = contentType
	res, err := c.http.Do(req)
	if err != nil {
		return nil, nil, gotConn.Load(), err
	}
	defer res.Body.Close()
	raw, err = readBody(res)
	if err != nil {
		return nil, nil, true, err
	}
	if len(raw) > maxResponseBytes {
		return nil, nil, true, newDecodeError(res.StatusCode, "answer larger than 1 MiB", raw)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, nil, true, newDecodeError(res.StatusCode, "HTTP status "+res.Status, raw)
	}
	r, err = decodeXML(raw)
	if err != nil {
		return nil, nil, true, newDecodeError(res.StatusCode, err.Error(), raw)
	}
	if r.fields.has("sign") && !signEqual(r.get("sign"), c.sign(responseParams(r), false)) {
		return nil, nil, true, newDecodeError(res.StatusCode, "answer sign does not verify", nil)
	}
	return r, raw, true, nil
}

// readBody reads at most maxResponseBytes+1 bytes of the answer, in one
// buffer sized by Content-Length when the server sent one.
func readBody(res *http.Response) ([]byte, error) {
	size := 1024
	if n := res.ContentLength; n >= 0 && n <= maxResponseBytes {
		size = int(n) + 1 // +1 so that reading to EOF needs no growth
	}
	buf := make([]byte, 0, size)
	r := io.LimitReader(res.Body, maxResponseBytes+1)
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
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
