package redpack_test

// The retry rules, one row each, against the fake.

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/redpack-go/redpack"
	rt "github.com/redpack-go/redpack/redpacktest"
)

// TestRetryRules has one row per retry rule (STYLE 8): the outcome, how
// many requests the server got (each with the same bytes), the error's
// shape and the bill number on it.
func TestRetryRules(t *testing.T) {
	t.Parallel()
	amount := func(v string) rt.Answer {
		return rt.Process().Rewrite(func(f map[string]string) { f["total_amount"] = v })
	}
	tests := []struct {
		name     string
		script   []rt.Answer
		requests int
		want     redpack.Outcome
		typ      string // "api", "unknown", "notsent" for errors
		is, not  []error
		last     string // LastAnswer.ErrCode of an unknown outcome
	}{
		{name: "SYSTEMERROR retried, then success", script: []rt.Answer{rt.ResultFail("SYSTEMERROR"), rt.Process()}, requests: 2, want: redpack.OutcomeOK},
		{name: "SYSTEMERROR exhausted is unknown", script: []rt.Answer{rt.ResultFail("SYSTEMERROR"), rt.ResultFail("SYSTEMERROR"), rt.ResultFail("SYSTEMERROR")},
			requests: 3, want: redpack.OutcomeUnknown, typ: "unknown", is: []error{redpack.ErrOutcomeUnknown, redpack.ErrSystem}, last: "SYSTEMERROR"},
		{name: "FREQ_LIMIT retried", script: []rt.Answer{rt.ResultFail("FREQ_LIMIT"), rt.Process()}, requests: 2, want: redpack.OutcomeOK},
		{name: "SECOND_OVER_LIMITED retried", script: []rt.Answer{rt.ResultFail("SECOND_OVER_LIMITED"), rt.Process()}, requests: 2, want: redpack.OutcomeOK},
		{name: "numeric code with return_code FAIL retried", script: []rt.Answer{rt.ReturnFail("268458547"), rt.Process()}, requests: 2, want: redpack.OutcomeOK},
		{name: "HTTP 502 retried", script: []rt.Answer{rt.HTTPStatus(http.StatusBadGateway), rt.Process()}, requests: 2, want: redpack.OutcomeOK},
		{name: "HTML with HTTP 200 retried", script: []rt.Answer{rt.Raw(200, "text/html", []byte("<html>busy</html>")), rt.Process()}, requests: 2, want: redpack.OutcomeOK},
		{name: "empty body retried", script: []rt.Answer{rt.Raw(200, "text/xml", nil), rt.Process()}, requests: 2, want: redpack.OutcomeOK},
		{name: "connection dropped retried", script: []rt.Answer{rt.Drop(), rt.Process()}, requests: 2, want: redpack.OutcomeOK},
		{name: "dropped every time is unknown", script: []rt.Answer{rt.Drop(), rt.Drop(), rt.Drop()}, requests: 3,
			want: redpack.OutcomeUnknown, typ: "unknown", is: []error{redpack.ErrOutcomeUnknown}, not: []error{redpack.ErrNotSent}},
		{name: "PROCESSING not retried, pending", script: []rt.Answer{rt.ResultFail("PROCESSING")}, requests: 1,
			want: redpack.OutcomePending, typ: "unknown", is: []error{redpack.ErrOutcomeUnknown, redpack.ErrProcessing}, last: "PROCESSING"},
		// Issue 8 item 3: FATAL_ERROR is CONFLICT, never pending.
		{name: "FATAL_ERROR not retried, conflict", script: []rt.Answer{rt.ResultFail("FATAL_ERROR")}, requests: 1,
			want: redpack.OutcomeConflict, typ: "api", is: []error{redpack.ErrConflict}, not: []error{redpack.ErrOutcomeUnknown}},
		{name: "FATAL_ERROR after a dropped attempt is still conflict", script: []rt.Answer{rt.Drop(), rt.ResultFail("FATAL_ERROR")}, requests: 2,
			want: redpack.OutcomeConflict, typ: "api", is: []error{redpack.ErrConflict}},
		{name: "NOTENOUGH not retried, final", script: []rt.Answer{rt.ResultFail("NOTENOUGH")}, requests: 1,
			want: redpack.OutcomeFinal, typ: "api", is: []error{redpack.ErrNotEnough}, not: []error{redpack.ErrOutcomeUnknown}},
		{name: "SEND_FAILED not retried, final", script: []rt.Answer{rt.ResultFail("SEND_FAILED")}, requests: 1,
			want: redpack.OutcomeFinal, typ: "api", is: []error{redpack.ErrSendFailed}},
		{name: "SIGN_ERROR not retried, rejected", script: []rt.Answer{rt.ResultFail("SIGN_ERROR")}, requests: 1,
			want: redpack.OutcomeRejected, typ: "api", is: []error{redpack.ErrSign}},
		{name: "CA_ERROR with return_code FAIL rejected", script: []rt.Answer{rt.ReturnFail("CA_ERROR")}, requests: 1,
			want: redpack.OutcomeRejected, typ: "api", is: []error{redpack.ErrCA}},
		// Issue 8 item 5: an unknown outcome matches no FINAL or REJECTED
		// sentinel; the last answer is readable as LastAnswer only.
		{name: "SYSTEMERROR then SIGN_ERROR is unknown", script: []rt.Answer{rt.ResultFail("SYSTEMERROR"), rt.ResultFail("SIGN_ERROR")}, requests: 2,
			want: redpack.OutcomeUnknown, typ: "unknown", is: []error{redpack.ErrOutcomeUnknown}, not: []error{redpack.ErrSign}, last: "SIGN_ERROR"},
		{name: "dropped then NOTENOUGH is unknown", script: []rt.Answer{rt.Drop(), rt.ResultFail("NOTENOUGH")}, requests: 2,
			want: redpack.OutcomeUnknown, typ: "unknown", is: []error{redpack.ErrOutcomeUnknown}, not: []error{redpack.ErrNotEnough}, last: "NOTENOUGH"},
		// Issue 8 item 6: a success echoing another recipient, amount or
		// share count is not this request's success.
		{name: "success echoing another openid is unknown",
			script:   []rt.Answer{rt.Process().Rewrite(func(f map[string]string) { f["re_openid"] = "oSomeoneElse" })},
			requests: 1, want: redpack.OutcomeUnknown, typ: "unknown", is: []error{redpack.ErrOutcomeUnknown}},
		{name: "success echoing 20000 fen is unknown", script: []rt.Answer{amount("20000")}, requests: 1,
			want: redpack.OutcomeUnknown, typ: "unknown", is: []error{redpack.ErrOutcomeUnknown}},
		{name: "success echoing another total_num is unknown",
			script:   []rt.Answer{rt.Process().Rewrite(func(f map[string]string) { f["total_num"] = "3" })},
			requests: 1, want: redpack.OutcomeUnknown, typ: "unknown"},
		{name: "success echoing another bill number is unknown",
			script:   []rt.Answer{rt.Process().Rewrite(func(f map[string]string) { f["mch_billno"] = "SOMEONEELSE1" })},
			requests: 1, want: redpack.OutcomeUnknown, typ: "unknown"},
		{name: "success echoing the amount with white space is fine", script: []rt.Answer{amount(" 100 ")}, requests: 1, want: redpack.OutcomeOK},
		{name: "success with err_code 0 is fine",
			script:   []rt.Answer{rt.Process().Rewrite(func(f map[string]string) { f["err_code"] = "0" })},
			requests: 1, want: redpack.OutcomeOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			script(t, srv, rt.EndpointSend, tt.script...)
			const bill = "RETRY000000000000000000001"
			res, err := srv.NewClient().Send(t.Context(), sendReq(bill))
			reqs := srv.Requests()
			if len(reqs) != tt.requests {
				t.Errorf("server got %d requests, want %d", len(reqs), tt.requests)
			}
			checkSameBody(t, reqs)
			if got := redpack.OutcomeOf(err); got != tt.want {
				t.Fatalf("OutcomeOf(%v) = %v, want %v", err, got, tt.want)
			}
			if tt.want == redpack.OutcomeOK {
				if res == nil || res.BillNo != bill {
					t.Fatalf("Send = %+v", res)
				}
				return
			}
			checkErrorShape(t, err, tt.typ, tt.requests, tt.is, tt.not)
			checkBillNo(t, err, bill)
			var ue *redpack.UnknownOutcomeError
			if tt.last != "" && (!errors.As(err, &ue) || ue.LastAnswer == nil || ue.LastAnswer.ErrCode != tt.last) {
				t.Errorf("err = %v; want LastAnswer.ErrCode %s", err, tt.last)
			}
		})
	}
}

func checkErrorShape(t *testing.T, err error, typ string, attempts int, is, not []error) {
	t.Helper()
	var (
		ae *redpack.APIError
		ue *redpack.UnknownOutcomeError
		ns *redpack.NotSentError
	)
	switch typ {
	case "api":
		if !errors.As(err, &ae) || errors.As(err, &ue) || errors.As(err, &ns) {
			t.Errorf("err = %T %v; want a bare *APIError", err, err)
		}
	case "unknown":
		if !errors.As(err, &ue) || errors.As(err, &ae) || ue.Attempts != attempts {
			t.Errorf("err = %T %v; want an *UnknownOutcomeError after %d attempts, no *APIError inside", err, err, attempts)
		}
	case "notsent":
		if !errors.As(err, &ns) || errors.As(err, &ue) || ns.Attempts != attempts {
			t.Errorf("err = %T %v; want a *NotSentError after %d attempts", err, err, attempts)
		}
	}
	for _, target := range is {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(%v, %v) = false", err, target)
		}
	}
	for _, target := range not {
		if errors.Is(err, target) {
			t.Errorf("errors.Is(%v, %v) = true", err, target)
		}
	}
}

// TestRetryContextCancelledDuringBackoff (issue 8 item 16): a context that
// ends while waiting to retry keeps its cause.
func TestRetryContextCancelledDuringBackoff(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	script(t, srv, rt.EndpointSend, rt.ResultFail("SYSTEMERROR"))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The client logs each attempt before it waits: cancel there.
	logger := slog.New(logFunc(func(r slog.Record) {
		if r.Level == slog.LevelDebug {
			cancel()
		}
	}))
	c := srv.NewClient(redpack.WithLogger(logger), redpack.WithRetryPolicy(redpack.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Hour, MaxDelay: time.Hour}))
	start := time.Now()
	_, err := c.Send(ctx, sendReq("CANCEL1"))
	if time.Since(start) > time.Minute {
		t.Errorf("Send waited past the cancel")
	}
	checkErrorShape(t, err, "unknown", 1, []error{redpack.ErrOutcomeUnknown, context.Canceled}, nil)
	checkBillNo(t, err, "CANCEL1")
}

func TestContextCancelledBeforeSend(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := srv.NewClient().Send(ctx, sendReq("EARLY1"))
	checkErrorShape(t, err, "notsent", 0, []error{redpack.ErrNotSent, context.Canceled}, []error{redpack.ErrOutcomeUnknown})
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("server got %d requests", n)
	}
}

func TestRateLimitWaitBeyondDeadlineIsNotSent(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := srv.NewClient(redpack.WithRateLimit(0.001, 1)) // one token, the next in 1000 s
	if _, err := c.Send(t.Context(), sendReq("RATE1")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err := c.Send(ctx, sendReq("RATE2"))
	checkErrorShape(t, err, "notsent", 1, []error{redpack.ErrNotSent}, []error{redpack.ErrOutcomeUnknown})
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("server got %d requests, want 1", n)
	}
}
