package redpack

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
)

// endpoint is one API path, its op name and its classification table.
type endpoint struct {
	op, path string
	table    table
}

const (
	opSend      = "sendredpack"
	opSendGroup = "sendgroupredpack"
	opSendMini  = "sendminiprogramhb"
	opQuery     = "gethbinfo"
)

var (
	epSend      = &endpoint{opSend, "/mmpaymkttransfers/sendredpack", sendTable}
	epSendGroup = &endpoint{opSendGroup, "/mmpaymkttransfers/sendgroupredpack", sendTable}
	epSendMini  = &endpoint{opSendMini, "/mmpaymkttransfers/sendminiprogramhb", sendTable}
	epQuery     = &endpoint{opQuery, "/mmpaymkttransfers/gethbinfo", queryTable}
)

// prepared is a request ready to send: the output of the prepare stage.
type prepared struct {
	ep     *endpoint
	billNo string
	params params // sorted, nonce_str included
	body   []byte // the bytes every attempt sends
}

// prepare adds nonce_str to p, sorts it, signs it and encodes the body once.
// The callers validated the request first.
func (c *Client) prepare(ep *endpoint, billNo string, p params) *prepared {
	p = p.add("nonce_str", c.opts.nonce())
	p.sort()
	sign := c.sign(p, false)
	return &prepared{ep: ep, billNo: billNo, params: p, body: encodeXML(make([]byte, 0, encodedLen(p, sign)), p, sign)}
}

// do is the attempt loop: up to RetryPolicy.MaxAttempts attempts with the
// same bytes, each classified by the endpoint's table (classify.go), waiting
// between them. It returns the success answer or the one error that says
// what the attempts mean for the money.
func (c *Client) do(ctx context.Context, pr *prepared) (*response, []byte, error) {
	pol := c.opts.retry
	var (
		delivered  bool    // an attempt before the current one may have reached the server
		lastAnswer *Answer // the last answer's codes
		lastErr    error   // the last attempt's failure, when it had no answer
		v          verdict
		attempts   int
	)
	for attempts < pol.MaxAttempts {
		if attempts > 0 {
			// Cut short when ctx ends, which the check below sees.
			_ = sleep(ctx, pol.delay(attempts))
		}
		if ctx.Err() != nil {
			lastErr = stoppedBy(context.Cause(ctx), lastErr)
			break
		}
		earlier := delivered
		attempts++
		res := c.attempt(ctx, pr.ep, pr.body)
		delivered = delivered || res.sent
		var (
			a      *Answer
			failed error
		)
		v, a, failed = classify(pr, res, earlier)
		if a != nil {
			lastAnswer = a
		}
		if res.stopped {
			lastErr = stoppedBy(failed, lastErr)
		} else {
			lastErr = failed
		}
		c.log(ctx, slog.LevelDebug, pr.ep.op, pr.billNo, attempts, v.outcome, failed)
		if v.outcome == OutcomeOK {
			return res.answer, res.raw, nil
		}
		if !v.retry {
			break
		}
	}
	switch {
	case v.outcome == OutcomeFinal || v.outcome == OutcomeRejected || v.outcome == OutcomeConflict:
		return nil, nil, &APIError{Op: pr.ep.op, BillNo: pr.billNo, Answer: *lastAnswer, outcome: v.outcome}
	case !delivered:
		return nil, nil, &NotSentError{Op: pr.ep.op, BillNo: pr.billNo, Attempts: attempts, Err: lastErr}
	}
	pending := v.outcome == OutcomePending
	return nil, nil, c.unknown(ctx, pr.ep.op, pr.billNo, attempts, pending, lastAnswer, lastErr)
}

// classify reads one attempt's result (the classify stage): its verdict,
// the answer's codes when there was an answer, and the failure when there
// was none or its echo contradicts the request. earlier is whether an
// earlier attempt may have reached the server.
func classify(pr *prepared, res result, earlier bool) (verdict, *Answer, error) {
	if res.err != nil {
		return failure(res), nil, res.err
	}
	a := answerOf(res.answer)
	v := pr.ep.table.answer(a)
	switch v.outcome {
	case OutcomeOK:
		if reason := echoMismatch(res.answer, pr.params); reason != "" {
			return verdict{OutcomeUnknown, false}, a, newDecodeError(http.StatusOK, reason, res.raw)
		}
	case OutcomeFinal, OutcomeRejected:
		if earlier {
			// This answer may not speak for an earlier attempt that
			// reached WeChat Pay: still unknown.
			return verdict{OutcomeUnknown, false}, a, nil
		}
	}
	return v, a, nil
}

// stoppedBy keeps the context's cause (errors.Is(err, context.Canceled)
// holds) together with the last failure before it.
func stoppedBy(cause, last error) error {
	if last == nil {
		return cause
	}
	return fmt.Errorf("%w (last attempt: %v)", cause, causeText(last))
}

// unknown is the one place an *UnknownOutcomeError is made; every one is
// logged at Warn.
func (c *Client) unknown(ctx context.Context, op, billNo string, attempts int, pending bool, last *Answer, cause error) *UnknownOutcomeError {
	e := &UnknownOutcomeError{Op: op, BillNo: billNo, Attempts: attempts, LastAnswer: last, Err: cause}
	if pending {
		e.outcome = OutcomePending
	}
	c.log(ctx, slog.LevelWarn, op, billNo, attempts, e.Outcome(), e)
	return e
}

func (c *Client) log(ctx context.Context, level slog.Level, op, billNo string, attempt int, o Outcome, err error) {
	l := c.opts.logger
	if !l.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{slog.String("op", op), slog.String("bill_no", billNo), slog.Int("attempt", attempt),
		slog.String("outcome", o.String())}
	if err != nil {
		attrs = append(attrs, slog.String("error", causeText(err)))
	}
	msg := "redpack: attempt"
	if level >= slog.LevelWarn {
		msg = "redpack: outcome unknown"
	}
	l.LogAttrs(ctx, level, msg, attrs...)
}

// answerOf returns the codes of a decoded answer.
func answerOf(r *response) *Answer {
	return &Answer{
		ReturnCode: r.get("return_code"),
		ReturnMsg:  r.get("return_msg"),
		ResultCode: r.get("result_code"),
		ErrCode:    r.get("err_code"),
		ErrCodeDes: r.get("err_code_des"),
	}
}

// echoMismatch compares the echo fields of a success answer with the
// request: a success that names another bill number, recipient, amount or
// share count is not this request's success. Absent echoes are fine.
func echoMismatch(r *response, p params) string {
	for _, f := range [...]string{"mch_billno", "re_openid", "total_amount", "total_num"} {
		got, want := r.get(f), p.get(f)
		if got == "" || want == "" || got == want {
			continue // absent, or not a field of this endpoint's request
		}
		if f == "total_amount" || f == "total_num" {
			if g, ok := intField(got); ok && strconv.FormatInt(g, 10) == want {
				continue // "100" with white space or without CDATA
			}
		}
		return "success answer's " + f + " contradicts the request"
	}
	return ""
}
