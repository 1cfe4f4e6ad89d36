package redpack

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func hblistOf(openIDs ...string) kv {
	var b strings.Builder
	b.WriteString("<hblist>")
	for _, o := range openIDs {
		b.WriteString("<hbinfo><openid>" + o + "</openid><amount>100</amount><rcv_time>2026-02-03 10:21:00</rcv_time></hbinfo>")
	}
	b.WriteString("</hblist>")
	return kv{"", b.String()}
}

// TestCheck judges one record against the Payment (SPEC §3: a record settles
// a send only when it is that send's). Issue 8 items 2, 3 and 7.
func TestCheck(t *testing.T) {
	t.Parallel()
	paid := sendReq("CHECK1").Payment() // 100 fen to testOpenID, one share
	tests := []struct {
		name     string
		p        Payment
		answer   *answer // nil: no query expected
		want     Outcome
		conflict bool // errors.Is(err, ErrConflict)
	}{
		{"SENT matching", paid, ptr(record("SENT")), OutcomeOK, false},
		{"RECEIVED by the recipient", paid, ptr(record("RECEIVED", hblistOf(testOpenID))), OutcomeOK, false},
		{"REFUND matching", paid, ptr(record("REFUND", kv{"refund_amount", "100"})), OutcomeOK, false},
		{"RFUND_ING matching", paid, ptr(record("RFUND_ING")), OutcomeOK, false},
		{"SENDING is pending", paid, ptr(record("SENDING")), OutcomePending, false},
		{"FAILED is final", paid, ptr(record("FAILED")), OutcomeFinal, false},
		// Item 3: bill X paid 100 fen to A; the payment checked is 500 fen to B.
		{"another amount is a conflict", Payment{BillNo: "CHECK1", OpenID: "oB", Amount: 500, TotalNum: 1}, ptr(record("SENT")), OutcomeConflict, true},
		{"another share count is a conflict", paid, ptr(record("SENT", kv{"total_num", "3"})), OutcomeConflict, true},
		{"claimed by another openid is a conflict", paid, ptr(record("RECEIVED", hblistOf("oSomeoneElse"))), OutcomeConflict, true},
		{"FAILED for another amount is a conflict", Payment{BillNo: "CHECK1", OpenID: testOpenID, Amount: 200, TotalNum: 1}, ptr(record("FAILED")), OutcomeConflict, true},
		// Item 7: a record that contradicts itself settles nothing.
		{"FAILED with claims is unknown", paid, ptr(record("FAILED", hblistOf(testOpenID))), OutcomeUnknown, false},
		{"claims above the total are unknown", paid, ptr(record("RECEIVED", hblistOf(testOpenID, testOpenID))), OutcomeUnknown, false},
		{"an unknown status is unknown", paid, ptr(record("LOST")), OutcomeUnknown, false},
		// A record without the amount proves nothing either way.
		{"no total_amount is not a conflict", paid, ptr(record("SENT", kv{"total_amount", ""})), OutcomeOK, false},
		// Item 2: a query problem never reads as "not paid".
		{"NOT_FOUND is unknown", paid, ptr(failAnswer("NOT_FOUND")), OutcomeUnknown, false},
		{"a refused query is unknown", paid, ptr(failAnswer("SIGN_ERROR")), OutcomeUnknown, false},
		{"PARAM_ERROR on the query is unknown", paid, ptr(failAnswer("PARAM_ERROR")), OutcomeUnknown, false},
		{"empty bill number is unknown", Payment{OpenID: testOpenID, Amount: 100, TotalNum: 1}, nil, OutcomeUnknown, false},
		{"invalid bill number is unknown", Payment{BillNo: "bad-bill!", OpenID: testOpenID, Amount: 100, TotalNum: 1}, nil, OutcomeUnknown, false},
		{"zero amount is unknown", Payment{BillNo: "CHECK1", OpenID: testOpenID, TotalNum: 1}, nil, OutcomeUnknown, false},
		{"zero shares is unknown", Payment{BillNo: "CHECK1", OpenID: testOpenID, Amount: 100}, nil, OutcomeUnknown, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, ts := newTestClient(t)
			if tt.answer != nil {
				ts.push(*tt.answer)
			}
			rec, err := c.Check(t.Context(), tt.p)
			if got := OutcomeOf(err); got != tt.want {
				t.Fatalf("Check = %v, %v: outcome %v, want %v", rec, err, got, tt.want)
			}
			if (err == nil) != (rec != nil) {
				t.Errorf("Check = %v, %v: a record comes exactly with a nil error", rec, err)
			}
			if got := errors.Is(err, ErrConflict); got != tt.conflict {
				t.Errorf("errors.Is(%v, ErrConflict) = %v, want %v", err, got, tt.conflict)
			}
			for _, s := range []error{ErrInvalidRequest, ErrNotSent, ErrSign, ErrParam, ErrSendFailed} {
				if errors.Is(err, s) {
					t.Errorf("Check error %v matches %v, which reads as not paid", err, s)
				}
			}
			var ae *APIError
			if errors.As(err, &ae) {
				t.Errorf("Check returned an *APIError (%v): its class speaks for the query, not the send", ae)
			}
			if err != nil && tt.p.BillNo != "" && !strings.Contains(err.Error(), tt.p.BillNo) && tt.p.BillNo != "bad-bill!" {
				t.Errorf("%q does not name the bill number", err)
			}
			wantQueries := 1
			if tt.answer == nil {
				wantQueries = 0
			}
			if n := len(ts.requests()); n != wantQueries {
				t.Errorf("server got %d queries, want %d", n, wantQueries)
			}
		})
	}
}

// TestResolveConflict is the regression test for issue 8 item 3 end to end:
// the bill number's record is another payment's, so Resolve stops at once
// with CONFLICT instead of reporting it paid.
func TestResolveConflict(t *testing.T) {
	t.Parallel()
	c, ts := newTestClient(t)
	ts.always(record("SENT"))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	other := sendReq("CONFLICT1")
	other.OpenID, other.Amount = "oRecipientB", 500
	rec, err := c.Resolve(ctx, other.Payment())
	var re *RecordError
	if rec != nil || !errors.As(err, &re) || OutcomeOf(err) != OutcomeConflict || !errors.Is(err, ErrConflict) {
		t.Fatalf("Resolve = %v, %v; want a CONFLICT *RecordError", rec, err)
	}
	if re.Record == nil || re.Record.TotalAmount != 100 {
		t.Errorf("RecordError.Record = %+v, want the record read", re.Record)
	}
	if n := len(ts.requests()); n != 1 {
		t.Errorf("Resolve made %d queries, want 1 (a conflict settles)", n)
	}
}

// TestCheckLogsUnknownOnce: every unknown outcome is logged at Warn exactly
// once, also when Check makes it out of a refused or unsent query.
func TestCheckLogsUnknownOnce(t *testing.T) {
	t.Parallel()
	for _, a := range []answer{failAnswer("NOT_FOUND"), failAnswer("SIGN_ERROR"), record("SENDING")} {
		var warns int
		logger := logFunc(func(r slog.Record) {
			if r.Level >= slog.LevelWarn {
				warns++
			}
		})
		c, ts := newTestClient(t, WithLogger(slog.New(logger)))
		ts.push(a)
		_, err := c.Check(t.Context(), sendReq("LOGGED1").Payment())
		if OutcomeOf(err) != OutcomeUnknown && OutcomeOf(err) != OutcomePending {
			t.Fatalf("Check: %v", err)
		}
		if warns != 1 {
			t.Errorf("%v: %d Warn records, want 1", err, warns)
		}
	}
}
