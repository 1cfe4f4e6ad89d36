package redpack_test

// Check, Resolve and Query against the fake (issue 8 items 2, 3, 7).

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/redpack-go/redpack"
	rt "github.com/redpack-go/redpack/redpacktest"
)

// TestCheck judges one record against the Payment (SPEC §3: a record settles
// a send only when it is that send's). Issue 8 items 2, 3 and 7.
func TestCheck(t *testing.T) {
	t.Parallel()
	const bill = "CHECK1"
	paid := sendReq(bill).Payment() // 100 fen to testOpenID, one share
	other := func(openID string, amount int64, num int) redpack.Payment {
		return redpack.Payment{BillNo: bill, OpenID: openID, Amount: amount, TotalNum: num}
	}
	tests := []struct {
		name     string
		p        redpack.Payment
		answer   *rt.Answer // nil: no query expected
		want     redpack.Outcome
		conflict bool
	}{
		{"SENT matching", paid, ptr(record(bill, "SENT", "")), redpack.OutcomeOK, false},
		{"RECEIVED by the recipient", paid, ptr(record(bill, "RECEIVED", hblistOf(testOpenID))), redpack.OutcomeOK, false},
		{"REFUND matching", paid, ptr(record(bill, "REFUND", "<refund_amount>100</refund_amount>")), redpack.OutcomeOK, false},
		{"SENDING is pending", paid, ptr(record(bill, "SENDING", "")), redpack.OutcomePending, false},
		{"FAILED is final", paid, ptr(record(bill, "FAILED", "")), redpack.OutcomeFinal, false},
		// Item 3: bill X paid 100 fen to A; the payment checked is 500 fen to B.
		{"another amount is a conflict", other("oB", 500, 1), ptr(record(bill, "SENT", "")), redpack.OutcomeConflict, true},
		{"another share count is a conflict", other(testOpenID, 100, 3), ptr(record(bill, "SENT", "")), redpack.OutcomeConflict, true},
		{"claimed by another openid is a conflict", paid, ptr(record(bill, "RECEIVED", hblistOf("oSomeoneElse"))), redpack.OutcomeConflict, true},
		// Item 7: a record that contradicts itself settles nothing.
		{"FAILED with claims is unknown", paid, ptr(record(bill, "FAILED", hblistOf(testOpenID))), redpack.OutcomeUnknown, false},
		{"claims above the total are unknown", paid, ptr(record(bill, "RECEIVED", hblistOf(testOpenID, testOpenID))), redpack.OutcomeUnknown, false},
		{"an unknown status is unknown", paid, ptr(record(bill, "LOST", "")), redpack.OutcomeUnknown, false},
		// A record must show this payment to settle it as paid: a zero or
		// missing total_amount or total_num proves no conflict, but no
		// payment either.
		{"SENT with total_amount 0 is unknown", paid, ptr(rawRecord(bill, "<status>SENT</status><total_num>1</total_num><total_amount>0</total_amount>")), redpack.OutcomeUnknown, false},
		{"SENT without total_amount and total_num is unknown", paid, ptr(rawRecord(bill, "<status>SENT</status>")), redpack.OutcomeUnknown, false},
		{"RECEIVED without total_num is unknown", paid, ptr(rawRecord(bill, "<status>RECEIVED</status><total_amount>100</total_amount>"+hblistOf(testOpenID))), redpack.OutcomeUnknown, false},
		// Item 2: a query problem never reads as "not paid".
		{"NOT_FOUND is unknown", paid, ptr(rt.ResultFail("NOT_FOUND")), redpack.OutcomeUnknown, false},
		{"a refused query is unknown", paid, ptr(rt.ResultFail("SIGN_ERROR")), redpack.OutcomeUnknown, false},
		{"PARAM_ERROR on the query is unknown", paid, ptr(rt.ResultFail("PARAM_ERROR")), redpack.OutcomeUnknown, false},
		{"empty bill number is unknown", redpack.Payment{OpenID: testOpenID, Amount: 100, TotalNum: 1}, nil, redpack.OutcomeUnknown, false},
		{"invalid bill number is unknown", redpack.Payment{BillNo: "bad-bill!", OpenID: testOpenID, Amount: 100, TotalNum: 1}, nil, redpack.OutcomeUnknown, false},
		{"zero amount is unknown", other(testOpenID, 0, 1), nil, redpack.OutcomeUnknown, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			queries := 0
			if tt.answer != nil {
				script(t, srv, rt.EndpointQuery, *tt.answer)
				queries = 1
			}
			rec, err := srv.NewClient().Check(t.Context(), tt.p)
			if got := redpack.OutcomeOf(err); got != tt.want {
				t.Fatalf("Check = %v, %v: outcome %v, want %v", rec, err, got, tt.want)
			}
			if (err == nil) != (rec != nil) {
				t.Errorf("Check = %v, %v: a record comes exactly with a nil error", rec, err)
			}
			if got := errors.Is(err, redpack.ErrConflict); got != tt.conflict {
				t.Errorf("errors.Is(%v, ErrConflict) = %v, want %v", err, got, tt.conflict)
			}
			for _, s := range []error{redpack.ErrInvalidRequest, redpack.ErrNotSent, redpack.ErrSign, redpack.ErrParam, redpack.ErrSendFailed} {
				if errors.Is(err, s) {
					t.Errorf("Check error %v matches %v, which reads as not paid", err, s)
				}
			}
			var ae *redpack.APIError
			if errors.As(err, &ae) {
				t.Errorf("Check returned an *APIError (%v): its class speaks for the query, not the send", ae)
			}
			if n := len(srv.Requests()); n != queries {
				t.Errorf("server got %d queries, want %d", n, queries)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// rawRecord is a successful gethbinfo answer for billNo with only the fields
// given.
func rawRecord(billNo, fields string) rt.Answer {
	return rt.Raw(http.StatusOK, "text/xml", []byte("<xml><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code>"+
		"<mch_billno>"+billNo+"</mch_billno>"+fields+"</xml>"))
}

// TestResolve polls past open answers and stops at one that settles, or at
// one that asking again cannot change.
func TestResolve(t *testing.T) {
	t.Parallel()
	const bill = "RES1"
	tests := []struct {
		name     string
		script   []rt.Answer
		want     redpack.Outcome
		requests int
	}{
		{"polls past NOT_FOUND and SENDING to SENT",
			[]rt.Answer{rt.ResultFail("NOT_FOUND"), record(bill, "SENDING", ""), rt.ResultFail("SYSTEMERROR"), record(bill, "SENT", "")},
			redpack.OutcomeOK, 4},
		{"FAILED is final", []rt.Answer{rt.ResultFail("NOT_FOUND"), record(bill, "FAILED", "")}, redpack.OutcomeFinal, 2},
		{"stops at a refused query, still unknown", []rt.Answer{rt.ResultFail("NOT_FOUND"), rt.ResultFail("SIGN_ERROR")}, redpack.OutcomeUnknown, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t)
			script(t, srv, rt.EndpointQuery, tt.script...)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			rec, err := srv.NewClient().Resolve(ctx, sendReq(bill).Payment())
			if got := redpack.OutcomeOf(err); got != tt.want {
				t.Fatalf("Resolve = %v, %v: outcome %v, want %v", rec, err, got, tt.want)
			}
			if err != nil {
				checkBillNo(t, err, bill)
			}
			if n := len(srv.Requests()); n != tt.requests {
				t.Errorf("server got %d queries, want %d", n, tt.requests)
			}
		})
	}
}

// TestResolveConflict is the reproduction of issue 8 item 3 on the fake's
// own ledger: bill X paid 100 fen to A; a send of X to B for 500 fen is a
// CONFLICT, and so is resolving B's payment.
func TestResolveConflict(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := srv.NewClient()
	if _, err := c.Send(t.Context(), sendReq("CONFLICT1")); err != nil {
		t.Fatal(err)
	}
	b := sendReq("CONFLICT1")
	b.OpenID, b.Amount = "oRecipientB", 500
	if _, err := c.Send(t.Context(), b); redpack.OutcomeOf(err) != redpack.OutcomeConflict || !errors.Is(err, redpack.ErrConflict) {
		t.Fatalf("send of X to B: %v; want CONFLICT", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rec, err := c.Resolve(ctx, b.Payment())
	var re *redpack.RecordError
	if rec != nil || !errors.As(err, &re) || redpack.OutcomeOf(err) != redpack.OutcomeConflict || re.Record == nil {
		t.Fatalf("Resolve(B) = %v, %v; want a CONFLICT *RecordError with the record", rec, err)
	}
	if srv.TotalPaid() != 100 {
		t.Errorf("paid %d fen, want 100", srv.TotalPaid())
	}
}

// TestUnknownLoggedOnce: every unknown outcome is logged at Warn exactly
// once, also when Check makes it out of a refused query.
func TestUnknownLoggedOnce(t *testing.T) {
	t.Parallel()
	for _, a := range []rt.Answer{rt.ResultFail("NOT_FOUND"), rt.ResultFail("SIGN_ERROR"), record("LOGGED1", "SENDING", "")} {
		var (
			mu    sync.Mutex
			warns int
		)
		logger := slog.New(logFunc(func(r slog.Record) {
			if r.Level >= slog.LevelWarn {
				mu.Lock()
				warns++
				mu.Unlock()
			}
		}))
		srv := newFake(t)
		script(t, srv, rt.EndpointQuery, a)
		_, err := srv.NewClient(redpack.WithLogger(logger)).Check(t.Context(), sendReq("LOGGED1").Payment())
		if o := redpack.OutcomeOf(err); o != redpack.OutcomeUnknown && o != redpack.OutcomePending {
			t.Fatalf("Check: %v", err)
		}
		mu.Lock()
		if warns != 1 {
			t.Errorf("%v: %d Warn records, want 1", err, warns)
		}
		mu.Unlock()
	}
}

func TestQueryRecordFromTheLedger(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := srv.NewClient()
	if _, err := c.Send(t.Context(), sendReq("Q1")); err != nil {
		t.Fatal(err)
	}
	if err := srv.Receive("Q1"); err != nil {
		t.Fatal(err)
	}
	rec, err := c.Query(t.Context(), "Q1")
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	if rec.Status != redpack.StatusReceived || rec.TotalAmount != 100 || len(rec.Receivers) != 1 || rec.Receivers[0].OpenID != testOpenID {
		t.Errorf("record %+v", rec)
	}
	q := srv.Requests()[1]
	if q.Endpoint != rt.EndpointQuery || q.Fields["bill_type"] != "MCHT" || q.Fields["appid"] != srv.AppID() || q.Fields["sign_type"] != "" {
		t.Errorf("query fields %v", q.Fields)
	}
	if _, err := c.Query(t.Context(), "NOTTHERE1"); redpack.OutcomeOf(err) != redpack.OutcomeUnknown || !errors.Is(err, redpack.ErrNotFound) {
		t.Errorf("Query of an unknown bill: %v; want UNKNOWN matching ErrNotFound", err)
	}
}

// TestQueryRefusesSelfContradiction: Query judges no payment, but a record
// that contradicts itself is no record to read: FAILED with a claim would
// read as "nothing paid" to a caller branching on Status.
func TestQueryRefusesSelfContradiction(t *testing.T) {
	t.Parallel()
	const bill = "QSELF1"
	for _, a := range []rt.Answer{record(bill, "FAILED", hblistOf(testOpenID)), record(bill, "RECEIVED", hblistOf(testOpenID, testOpenID))} {
		srv := newFake(t)
		script(t, srv, rt.EndpointQuery, a)
		rec, err := srv.NewClient().Query(t.Context(), bill)
		if rec != nil || redpack.OutcomeOf(err) != redpack.OutcomeUnknown {
			t.Errorf("Query of a self-contradicting record: record %v, error %v; want no record and UNKNOWN", rec != nil, err)
		}
	}
}

// TestResolveUnreachableIsUnknown (issue 8 item 2): when no query reaches
// WeChat Pay, the send is still unknown, and nothing in the error matches
// ErrNotSent (which would read as "the red packet was not sent").
func TestResolveUnreachableIsUnknown(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	cfg := srv.Config()
	cfg.BaseURL = "https://" + closedAddr(t)
	c, err := redpack.NewClient(cfg, redpack.WithRetryPolicy(rt.FastRetryPolicy()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	rec, err := c.Resolve(ctx, sendReq("UNREACH1").Payment())
	if rec != nil || redpack.OutcomeOf(err) != redpack.OutcomeUnknown || errors.Is(err, redpack.ErrNotSent) {
		t.Fatalf("Resolve = %v, %v; want an unknown outcome that does not match ErrNotSent", rec, err)
	}
	checkBillNo(t, err, "UNREACH1")
}

// TestResolvePollFloor: with a retry policy without delays, Resolve still
// waits a second between queries instead of spinning.
func TestResolvePollFloor(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	c := srv.NewClient(redpack.WithRetryPolicy(redpack.RetryPolicy{MaxAttempts: 1}))
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	if _, err := c.Resolve(ctx, sendReq("FLOOR1").Payment()); redpack.OutcomeOf(err) != redpack.OutcomeUnknown {
		t.Fatalf("Resolve: %v; want an unknown outcome", err)
	}
	if n := len(srv.Requests()); n < 1 || n > 2 {
		t.Errorf("%d queries in 1.5 s with a zero-delay policy; want 1 or 2 (one a second)", n)
	}
}
