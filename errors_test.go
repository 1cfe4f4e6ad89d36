package redpack

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestOutcomeOf(t *testing.T) {
	t.Parallel()
	api := func(op, code string, o Outcome) *APIError {
		return &APIError{Op: op, BillNo: "B1", Answer: Answer{ReturnCode: "SUCCESS", ResultCode: "FAIL", ErrCode: code}, outcome: o}
	}
	unknown := func(code string, pending bool) *UnknownOutcomeError {
		e := &UnknownOutcomeError{Op: opSend, BillNo: "B1", Attempts: 2, LastAnswer: &Answer{ReturnCode: "SUCCESS", ResultCode: "FAIL", ErrCode: code}}
		if pending {
			e.outcome = OutcomePending
		}
		return e
	}
	tests := []struct {
		name string
		err  error
		want Outcome
	}{
		{"nil", nil, OutcomeOK},
		{"validation", &ValidationError{Op: opSend, Fields: []FieldError{{"send_name", "required"}}}, OutcomeRejected},
		{"wrapped validation", fmt.Errorf("caller: %w", &ValidationError{Op: opSend}), OutcomeRejected},
		{"pending", unknown("PROCESSING", true), OutcomePending},
		{"unknown, last answer NOTENOUGH", unknown("NOTENOUGH", false), OutcomeUnknown},
		{"unknown, last answer SIGN_ERROR", unknown("SIGN_ERROR", false), OutcomeUnknown},
		{"unknown without cause", &UnknownOutcomeError{Op: opSend, BillNo: "B1"}, OutcomeUnknown},
		{"unknown wrapping a timeout", &UnknownOutcomeError{Op: opSend, BillNo: "B1", Err: context.DeadlineExceeded}, OutcomeUnknown},
		{"not sent", &NotSentError{Op: opSend, BillNo: "B1", Attempts: 3, Err: &net.OpError{Op: "dial", Err: errors.New("refused")}}, OutcomeNotSent},
		{"wrapped not sent", fmt.Errorf("x: %w", &NotSentError{Op: opSend, BillNo: "B1"}), OutcomeNotSent},
		{"API NOTENOUGH", api(opSend, "NOTENOUGH", OutcomeFinal), OutcomeFinal},
		{"API FATAL_ERROR", api(opSend, "FATAL_ERROR", OutcomeConflict), OutcomeConflict},
		{"API SIGN_ERROR", api(opSend, "SIGN_ERROR", OutcomeRejected), OutcomeRejected},
		{"API built by a caller, classified by the table", &APIError{Op: opSend, Answer: Answer{ErrCode: "SEND_FAILED"}}, OutcomeFinal},
		{"API wrapped once", fmt.Errorf("x: %w", api(opSend, "NO_AUTH", OutcomeFinal)), OutcomeFinal},
		{"record FAILED", &RecordError{BillNo: "B1", outcome: OutcomeFinal}, OutcomeFinal},
		{"record conflict", &RecordError{BillNo: "B1", outcome: OutcomeConflict}, OutcomeConflict},
		{"foreign error", io.ErrUnexpectedEOF, OutcomeUnknown},
		{"context canceled", context.Canceled, OutcomeUnknown},
	}
	for _, tt := range tests {
		if got := OutcomeOf(tt.err); got != tt.want {
			t.Errorf("%s: OutcomeOf = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestUnknownMatchesNoFinalSentinel is the regression test for issue 8 item
// 5: an unknown outcome whose last answer was FINAL or REJECTED matches no
// such sentinel and yields no *APIError; the code stays readable as
// LastAnswer.
func TestUnknownMatchesNoFinalSentinel(t *testing.T) {
	t.Parallel()
	for _, row := range codeTable {
		for _, op := range []string{opSend, opQuery} {
			ue := &UnknownOutcomeError{Op: op, BillNo: "B1", Attempts: 2, LastAnswer: &Answer{ReturnCode: "SUCCESS", ResultCode: "FAIL", ErrCode: row.code}}
			class := row.send
			if op == opQuery {
				class = row.query
			}
			open := class.outcome == OutcomeUnknown || class.outcome == OutcomePending
			if got := errors.Is(ue, row.sentinel); got != open {
				t.Errorf("%s, last answer %s: errors.Is(err, its sentinel) = %v, want %v", op, row.code, got, open)
			}
			var ae *APIError
			if errors.As(ue, &ae) {
				t.Errorf("%s, last answer %s: errors.As yields an *APIError", op, row.code)
			}
			if !errors.Is(ue, ErrOutcomeUnknown) || OutcomeOf(ue) != OutcomeUnknown || ue.LastAnswer.ErrCode != row.code {
				t.Errorf("%s, last answer %s: not an unknown outcome with its last answer", op, row.code)
			}
		}
	}
}

// TestOutcomeZeroValueIsUnknown (issue 8 item 15): the zero Outcome is the
// reading that is never safe to act on.
func TestOutcomeZeroValueIsUnknown(t *testing.T) {
	t.Parallel()
	var o Outcome
	if o != OutcomeUnknown || o.String() != "UNKNOWN" {
		t.Errorf("zero Outcome = %v, want UNKNOWN", o)
	}
	var s struct{ Outcome Outcome }
	if s.Outcome == OutcomeOK {
		t.Error("an unset Outcome field reads as OK")
	}
}

// codeTable is SPEC §3.1 (send endpoints) and §3.2 (gethbinfo): one row per
// documented code with its sentinel and verdict per endpoint. Codes gethbinfo
// does not document are unknown and retried there.
var codeTable = []struct {
	code        string
	sentinel    error
	send, query verdict
}{
	{"SYSTEMERROR", ErrSystem, unknownRetry, unknownRetry},
	{"PROCESSING", ErrProcessing, verdict{OutcomePending, false}, unknownRetry},
	{"FREQ_LIMIT", ErrFreqLimit, unknownRetry, unknownRetry},
	{"SEND_FAILED", ErrSendFailed, final, unknownRetry},
	{"FATAL_ERROR", ErrConflict, verdict{OutcomeConflict, false}, unknownRetry},
	{"NO_AUTH", ErrNoAuth, final, rejected},
	{"SENDNUM_LIMIT", ErrSendNumLimit, final, unknownRetry},
	{"RCVDAMOUNT_LIMIT", ErrRcvdAmountLimit, final, unknownRetry},
	{"SENDAMOUNT_LIMIT", ErrSendAmountLimit, final, unknownRetry},
	{"MONEY_LIMIT", ErrMoneyLimit, final, unknownRetry},
	{"NOTENOUGH", ErrNotEnough, final, unknownRetry},
	{"ILLEGAL_APPID", ErrIllegalAppID, rejected, unknownRetry},
	{"OPENID_ERROR", ErrOpenID, rejected, unknownRetry},
	{"MSGAPPID_ERROR", ErrMsgAppID, rejected, unknownRetry},
	{"ACCEPTMODE_ERROR", ErrAcceptMode, rejected, unknownRetry},
	{"API_METHOD_CLOSED", ErrAPIMethodClosed, rejected, unknownRetry},
	{"CA_ERROR", ErrCA, rejected, rejected},
	{"SIGN_ERROR", ErrSign, rejected, rejected},
	{"XML_ERROR", ErrXML, rejected, rejected},
	{"PARAM_ERROR", ErrParam, rejected, rejected},
	{"SECOND_OVER_LIMITED", ErrSecondOverLimited, unknownRetry, unknownRetry},
	{"DAY_OVER_LIMITED", ErrDayOverLimited, final, unknownRetry},
	{"NOT_FOUND", ErrNotFound, unknownRetry, verdict{OutcomeUnknown, false}},
}

// TestClassificationTables checks both tables row by row, whatever
// return_code says, and the sentinel each APIError matches.
func TestClassificationTables(t *testing.T) {
	t.Parallel()
	if len(codeTable) != len(allSentinels) {
		t.Fatalf("codeTable has %d rows, %d sentinels exist", len(codeTable), len(allSentinels))
	}
	for _, row := range codeTable {
		for _, op := range []string{opSend, opSendMini, opSendGroup, opQuery} {
			want := row.send
			if op == opQuery {
				want = row.query
			}
			for _, rc := range []string{"SUCCESS", "FAIL"} {
				a := Answer{ReturnCode: rc, ResultCode: "FAIL", ErrCode: row.code}
				if got := tableFor(op).answer(&a); got != want {
					t.Errorf("%s %s (return_code %s): %+v, want %+v", op, row.code, rc, got, want)
				}
			}
			ae := &APIError{Op: op, BillNo: "B1", Answer: Answer{ReturnCode: "SUCCESS", ResultCode: "FAIL", ErrCode: row.code}}
			checkSentinels(t, ae, row.sentinel)
		}
		if got := row.sentinel.Error(); got != "redpack: err_code "+row.code {
			t.Errorf("sentinel Error() = %q", got)
		}
	}
	// Unlisted, misspelled and numeric codes are unknown and retried.
	for _, code := range []string{"268458547", "DAY_ OVER_LIMITED", "notenough", "SUCCESS", "0", ""} {
		a := Answer{ReturnCode: "FAIL", ResultCode: "FAIL", ErrCode: code}
		if got := sendTable.answer(&a); got != unknownRetry {
			t.Errorf("%q: %+v, want unknown and retried", code, got)
		}
		checkSentinels(t, &APIError{Op: opSend, Answer: a}, nil)
	}
	// Texts never decide: a SUCCESS code pair is OK whatever err_code says.
	if got := sendTable.answer(&Answer{ReturnCode: "SUCCESS", ResultCode: "SUCCESS", ErrCode: "NOTENOUGH", ErrCodeDes: "余额不足"}); got.outcome != OutcomeOK {
		t.Errorf("both codes SUCCESS: %v, want OK", got)
	}
}

// TestErrorMessages (issue 8 items 9 and 17): one "redpack:" prefix per
// message, one line, the op and bill number, and advice that fits the
// operation: a query is never told to resend.
func TestErrorMessages(t *testing.T) {
	t.Parallel()
	const bill = "1900000109202611280012345678"
	notFound := &Answer{ReturnCode: "SUCCESS", ResultCode: "FAIL", ErrCode: "NOT_FOUND", ErrCodeDes: "指定单号数据不存在"}
	tests := []struct {
		name        string
		err         error
		contains    []string
		notContains []string
	}{
		{"API FINAL", &APIError{Op: opSend, BillNo: bill, Answer: Answer{ReturnCode: "SUCCESS", ResultCode: "FAIL", ErrCode: "NOTENOUGH", ErrCodeDes: "余额不足"}, outcome: OutcomeFinal},
			[]string{opSend, bill, "NOTENOUGH", "余额不足", "new one"}, nil},
		{"API CONFLICT", &APIError{Op: opSend, BillNo: bill, Answer: Answer{ReturnCode: "SUCCESS", ResultCode: "FAIL", ErrCode: "FATAL_ERROR"}, outcome: OutcomeConflict},
			[]string{"FATAL_ERROR", "another payment", "paid nothing", "never resend"}, []string{"resend the identical", "same bill number"}},
		{"API SIGN_ERROR hint", &APIError{Op: opQuery, BillNo: bill, Answer: Answer{ReturnCode: "SUCCESS", ResultCode: "FAIL", ErrCode: "SIGN_ERROR"}, outcome: OutcomeRejected},
			[]string{"SIGN_ERROR", "API v2 key"}, nil},
		{"API return_code FAIL", &APIError{Op: opQuery, BillNo: bill, Answer: Answer{ReturnCode: "FAIL", ReturnMsg: "签名错误"}, outcome: OutcomeRejected},
			[]string{opQuery, bill, "return_code=FAIL", "签名错误"}, nil},
		{"send unknown", &UnknownOutcomeError{Op: opSend, BillNo: bill, Attempts: 3, LastAnswer: &Answer{ErrCode: "SYSTEMERROR"}},
			[]string{opSend, bill, "outcome unknown", "3 attempt", "same bill number", "SYSTEMERROR"}, nil},
		{"send pending", &UnknownOutcomeError{Op: opSendMini, BillNo: bill, Attempts: 1, LastAnswer: &Answer{ErrCode: "PROCESSING"}, outcome: OutcomePending},
			[]string{"pending", "PROCESSING"}, nil},
		{"query unknown", &UnknownOutcomeError{Op: opQuery, BillNo: bill, Attempts: 1, LastAnswer: notFound},
			[]string{opQuery, bill, "NOT_FOUND", "query again"}, []string{"resend"}},
		{"unknown wrapping a decode error", &UnknownOutcomeError{Op: opSend, BillNo: bill, Attempts: 1, Err: newDecodeError(502, "HTTP status 502", nil)},
			[]string{"cannot decode answer (HTTP 502)"}, nil},
		{"not sent", &NotSentError{Op: opSendGroup, BillNo: bill, Attempts: 2, Err: errors.New("connection refused")},
			[]string{opSendGroup, bill, "not sent", "2 attempt", "connection refused"}, []string{"RootCAs"}},
		{"not sent, untrusted server", &NotSentError{Op: opSend, BillNo: bill, Attempts: 1, Err: x509.UnknownAuthorityError{}},
			[]string{"RootCAs", "retrying cannot help"}, nil},
		{"validation", &ValidationError{Op: opSend, BillNo: bill, Fields: []FieldError{{"send_name", "required"}, {"total_amount", "must be 100 to 20000 fen, got 1"}}},
			[]string{opSend, bill, "send_name: required; total_amount: must be 100 to 20000 fen"}, nil},
		{"record conflict", &RecordError{BillNo: bill, Reason: "total_amount 100, the payment has 500", outcome: OutcomeConflict},
			[]string{opQuery, bill, "total_amount 100", "another payment's"}, []string{"resend"}},
		{"record FAILED", &RecordError{BillNo: bill, Reason: "status FAILED", outcome: OutcomeFinal},
			[]string{"status FAILED", "new one"}, nil},
		{"decode", newDecodeError(502, "HTTP status 502 Bad Gateway", []byte("<html>")),
			[]string{"(HTTP 502)", "HTTP status 502 Bad Gateway", `"<html>"`}, nil},
	}
	for _, tt := range tests {
		msg := tt.err.Error()
		if !strings.HasPrefix(msg, "redpack: ") || strings.Count(msg, "redpack:") != 1 {
			t.Errorf("%s: %q: want exactly one redpack: prefix", tt.name, msg)
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("%s: %q spans several lines", tt.name, msg)
		}
		for _, s := range tt.contains {
			if !strings.Contains(msg, s) {
				t.Errorf("%s: %q does not contain %q", tt.name, msg, s)
			}
		}
		for _, s := range tt.notContains {
			if strings.Contains(msg, s) {
				t.Errorf("%s: %q contains %q", tt.name, msg, s)
			}
		}
	}
}

func TestErrorIsAndUnwrap(t *testing.T) {
	t.Parallel()
	cause := newDecodeError(502, "x", nil)
	ue := &UnknownOutcomeError{Op: opSend, BillNo: "B", Attempts: 1, Err: cause}
	if !errors.Is(ue, ErrOutcomeUnknown) || errors.Is(ue, ErrNotSent) || errors.Is(ue, ErrInvalidRequest) {
		t.Error("UnknownOutcomeError matches the wrong top-level sentinels")
	}
	var de *DecodeError
	if !errors.As(ue, &de) || de != cause {
		t.Error("errors.As cannot reach the cause")
	}
	ns := &NotSentError{Op: opSend, BillNo: "B", Err: context.Canceled}
	if !errors.Is(ns, ErrNotSent) || !errors.Is(ns, context.Canceled) || errors.Is(ns, ErrOutcomeUnknown) {
		t.Error("NotSentError matching is wrong")
	}
	ve := &ValidationError{Op: opSend}
	if !errors.Is(ve, ErrInvalidRequest) || errors.Is(ve, ErrNotSent) {
		t.Error("ValidationError matching is wrong")
	}
	if errors.Is(&APIError{Answer: Answer{ErrCode: "NOTENOUGH"}}, ErrOutcomeUnknown) {
		t.Error("an *APIError matches ErrOutcomeUnknown")
	}
	if !errors.Is(&RecordError{outcome: OutcomeConflict}, ErrConflict) || errors.Is(&RecordError{outcome: OutcomeFinal}, ErrConflict) {
		t.Error("RecordError matches ErrConflict wrongly")
	}
}

func TestDecodeErrorBodyCapped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body []byte
		want int
	}{
		{"nil", nil, 0},
		{"short", []byte("<html>502</html>"), 16},
		{"exactly the cap", []byte(strings.Repeat("x", maxBodySample)), maxBodySample},
		{"one over", []byte(strings.Repeat("x", maxBodySample+1)), maxBodySample},
		{"1 MiB", []byte(strings.Repeat("y", maxResponseBytes)), maxBodySample},
		{"Chinese cut mid-character", []byte(strings.Repeat("红", 100)), maxBodySample},
	}
	for _, tt := range tests {
		de := newDecodeError(500, "r", tt.body)
		if len(de.Body) != tt.want {
			t.Errorf("%s: Body %d bytes, want %d", tt.name, len(de.Body), tt.want)
		}
		if de.HTTPStatus != 500 || de.Reason != "r" {
			t.Errorf("%s: %+v", tt.name, de)
		}
		if len(tt.body) > 0 && !strings.HasPrefix(string(tt.body), de.Body) {
			t.Errorf("%s: Body is not the start of the answer", tt.name)
		}
		// The message quotes the sample: valid UTF-8, one line.
		if msg := de.Error(); !utf8.ValidString(msg) || strings.Contains(msg, "\n") || len(msg) > 64+4*maxBodySample {
			t.Errorf("%s: message %d bytes, valid UTF-8 %v", tt.name, len(msg), utf8.ValidString(msg))
		}
	}
	// The sample is a copy: changing the answer buffer later does not change it.
	buf := []byte("abc")
	de := newDecodeError(200, "r", buf)
	buf[0] = 'X'
	if de.Body != "abc" {
		t.Errorf("Body aliases the answer buffer: %q", de.Body)
	}
}

func TestOutcomeString(t *testing.T) {
	t.Parallel()
	tests := map[Outcome]string{
		OutcomeUnknown:  "UNKNOWN",
		OutcomeOK:       "OK",
		OutcomePending:  "PENDING",
		OutcomeConflict: "CONFLICT",
		OutcomeFinal:    "FINAL",
		OutcomeRejected: "REJECTED",
		OutcomeNotSent:  "NOT_SENT",
		Outcome(7):      "Outcome(7)",
		Outcome(-1):     "Outcome(-1)",
	}
	for c, want := range tests {
		if got := fmt.Sprint(c); got != want {
			t.Errorf("fmt.Sprint(Outcome(%d)) = %q, want %q", int(c), got, want)
		}
	}
}

func TestValidationErrorHas(t *testing.T) {
	t.Parallel()
	ve := &ValidationError{Op: opSend, Fields: []FieldError{{"send_name", "a"}, {"wishing", "b"}}}
	for field, want := range map[string]bool{"send_name": true, "wishing": true, "remark": false, "": false, "SEND_NAME": false} {
		if got := ve.Has(field); got != want {
			t.Errorf("Has(%q) = %v, want %v", field, got, want)
		}
	}
	if got := (FieldError{"client_ip", "must be a dotted IPv4 address"}).String(); got != "client_ip: must be a dotted IPv4 address" {
		t.Errorf("FieldError.String() = %q", got)
	}
}
