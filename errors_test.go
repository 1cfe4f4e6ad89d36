package redpack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestOutcome(t *testing.T) {
	t.Parallel()
	api := func(op, code string) *APIError {
		return &APIError{Op: op, BillNo: "B1", HTTPStatus: 200, ReturnCode: "SUCCESS", ResultCode: "FAIL", ErrCode: code}
	}
	tests := []struct {
		name string
		err  error
		want OutcomeClass
	}{
		{"nil", nil, OutcomeOK},
		{"validation", &ValidationError{Op: opSend, Fields: []FieldError{{"send_name", "required"}}}, OutcomeRejected},
		{"wrapped validation", fmt.Errorf("caller: %w", &ValidationError{Op: opSend}), OutcomeRejected},
		{"unknown wrapping PROCESSING", &UnknownOutcomeError{Op: opSend, BillNo: "B1", Attempts: 1, Err: api(opSend, "PROCESSING")}, OutcomePending},
		{"unknown wrapping FATAL_ERROR", &UnknownOutcomeError{Op: opSend, BillNo: "B1", Attempts: 1, Err: api(opSend, "FATAL_ERROR")}, OutcomePending},
		{"unknown wrapping NOTENOUGH", &UnknownOutcomeError{Op: opSend, BillNo: "B1", Attempts: 2, Err: api(opSend, "NOTENOUGH")}, OutcomeUnknown},
		{"unknown wrapping SIGN_ERROR", &UnknownOutcomeError{Op: opSend, BillNo: "B1", Attempts: 2, Err: api(opSend, "SIGN_ERROR")}, OutcomeUnknown},
		{"unknown wrapping SYSTEMERROR", &UnknownOutcomeError{Op: opSend, BillNo: "B1", Attempts: 3, Err: api(opSend, "SYSTEMERROR")}, OutcomeUnknown},
		{"unknown wrapping NOT_FOUND", &UnknownOutcomeError{Op: opQuery, BillNo: "B1", Attempts: 1, Err: api(opQuery, "NOT_FOUND")}, OutcomeUnknown},
		{"unknown wrapping a decode error", &UnknownOutcomeError{Op: opSend, BillNo: "B1", Attempts: 1, Err: newDecodeError(502, "HTTP status 502", []byte("<html>"))}, OutcomeUnknown},
		{"unknown wrapping a timeout", &UnknownOutcomeError{Op: opSend, BillNo: "B1", Attempts: 3, Err: context.DeadlineExceeded}, OutcomeUnknown},
		{"unknown without cause", &UnknownOutcomeError{Op: opSend, BillNo: "B1"}, OutcomeUnknown},
		{"not sent", &NotSentError{Op: opSend, BillNo: "B1", Attempts: 3, Err: &net.OpError{Op: "dial", Err: errors.New("refused")}}, OutcomeNotSent},
		{"wrapped not sent", fmt.Errorf("x: %w", &NotSentError{Op: opSend, BillNo: "B1"}), OutcomeNotSent},
		{"API SUCCESS", &APIError{Op: opSend, ReturnCode: "SUCCESS", ResultCode: "SUCCESS"}, OutcomeOK},
		{"API NOTENOUGH", api(opSend, "NOTENOUGH"), OutcomeFinal},
		{"API SEND_FAILED", api(opSend, "SEND_FAILED"), OutcomeFinal},
		{"API SIGN_ERROR", api(opSend, "SIGN_ERROR"), OutcomeRejected},
		{"API PROCESSING", api(opSend, "PROCESSING"), OutcomePending},
		{"API SYSTEMERROR", api(opSend, "SYSTEMERROR"), OutcomeUnknown},
		{"API numeric", api(opSend, "268458547"), OutcomeUnknown},
		{"API empty code", api(opSend, ""), OutcomeUnknown},
		{"API wrapped once", fmt.Errorf("x: %w", api(opSend, "NO_AUTH")), OutcomeFinal},
		{"foreign error", io.ErrUnexpectedEOF, OutcomeUnknown},
		{"context canceled", context.Canceled, OutcomeUnknown},
	}
	for _, tt := range tests {
		if got := Outcome(tt.err); got != tt.want {
			t.Errorf("%s: Outcome = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// codeTable is SPEC §3.1 (send endpoints) and §3.2 (gethbinfo): one row per
// documented code with its sentinel and class per endpoint. queryClass is
// OutcomeUnknown for codes gethbinfo does not document.
var codeTable = []struct {
	code       string
	sentinel   error
	sendClass  OutcomeClass
	queryClass OutcomeClass
}{
	{"SYSTEMERROR", ErrSystemError, OutcomeUnknown, OutcomeUnknown},
	{"PROCESSING", ErrProcessing, OutcomePending, OutcomeUnknown},
	{"FREQ_LIMIT", ErrFreqLimit, OutcomeUnknown, OutcomeUnknown},
	{"SEND_FAILED", ErrSendFailed, OutcomeFinal, OutcomeUnknown},
	{"FATAL_ERROR", ErrFatalError, OutcomePending, OutcomeUnknown},
	{"NO_AUTH", ErrNoAuth, OutcomeFinal, OutcomeRejected},
	{"SENDNUM_LIMIT", ErrSendNumLimit, OutcomeFinal, OutcomeUnknown},
	{"RCVDAMOUNT_LIMIT", ErrRcvdAmountLimit, OutcomeFinal, OutcomeUnknown},
	{"SENDAMOUNT_LIMIT", ErrSendAmountLimit, OutcomeFinal, OutcomeUnknown},
	{"MONEY_LIMIT", ErrMoneyLimit, OutcomeFinal, OutcomeUnknown},
	{"NOTENOUGH", ErrNotEnough, OutcomeFinal, OutcomeUnknown},
	{"ILLEGAL_APPID", ErrIllegalAppID, OutcomeRejected, OutcomeUnknown},
	{"OPENID_ERROR", ErrOpenIDError, OutcomeRejected, OutcomeUnknown},
	{"MSGAPPID_ERROR", ErrMsgAppIDError, OutcomeRejected, OutcomeUnknown},
	{"ACCEPTMODE_ERROR", ErrAcceptModeError, OutcomeRejected, OutcomeUnknown},
	{"API_METHOD_CLOSED", ErrAPIMethodClosed, OutcomeRejected, OutcomeUnknown},
	{"CA_ERROR", ErrCAError, OutcomeRejected, OutcomeRejected},
	{"SIGN_ERROR", ErrSignError, OutcomeRejected, OutcomeRejected},
	{"XML_ERROR", ErrXMLError, OutcomeRejected, OutcomeRejected},
	{"PARAM_ERROR", ErrParamError, OutcomeRejected, OutcomeRejected},
	{"SECOND_OVER_LIMITED", ErrSecondOverLimited, OutcomeUnknown, OutcomeUnknown},
	{"DAY_OVER_LIMITED", ErrDayOverLimited, OutcomeFinal, OutcomeUnknown},
	{"NOT_FOUND", ErrNotFound, OutcomeUnknown, OutcomeUnknown},
}

func TestAPIErrorCodes(t *testing.T) {
	t.Parallel()
	if len(codeTable) != len(allSentinels) {
		t.Fatalf("codeTable has %d rows, %d sentinels exist", len(codeTable), len(allSentinels))
	}
	for _, row := range codeTable {
		for _, op := range []string{opSend, opSendMini, opSendGroup, opQuery} {
			for _, rc := range []string{"SUCCESS", "FAIL"} {
				ae := &APIError{Op: op, BillNo: "B1", HTTPStatus: 200, ReturnCode: rc, ResultCode: "FAIL", ErrCode: row.code}
				want := row.sendClass
				if op == opQuery {
					want = row.queryClass
				}
				if got := ae.Class(); got != want {
					t.Errorf("%s %s (return_code %s): Class = %v, want %v", op, row.code, rc, got, want)
				}
				checkSentinels(t, ae, row.sentinel)
				if !errors.Is(fmt.Errorf("wrapped: %w", ae), row.sentinel) {
					t.Errorf("%s: a wrapped *APIError does not match its sentinel", row.code)
				}
				ue := &UnknownOutcomeError{Op: op, BillNo: "B1", Attempts: 2, Err: ae}
				if !errors.Is(ue, row.sentinel) || !errors.Is(ue, ErrOutcomeUnknown) {
					t.Errorf("%s: an unknown outcome wrapping it matches neither its sentinel nor ErrOutcomeUnknown", row.code)
				}
			}
		}
		if got := row.sentinel.Error(); got != "redpack: err_code "+row.code {
			t.Errorf("sentinel Error() = %q", got)
		}
	}
	// Unlisted, misspelled and numeric codes match no sentinel and are UNKNOWN.
	for _, code := range []string{"268458547", "DAY_ OVER_LIMITED", "notenough", "SUCCESS", "0", ""} {
		ae := &APIError{Op: opSend, BillNo: "B1", ReturnCode: "FAIL", ResultCode: "FAIL", ErrCode: code}
		checkSentinels(t, ae, nil)
		if ae.Class() != OutcomeUnknown {
			t.Errorf("%q: Class = %v, want UNKNOWN", code, ae.Class())
		}
	}
	// Texts never decide: a SUCCESS code pair is OK whatever err_code says.
	ok := &APIError{Op: opSend, ReturnCode: "SUCCESS", ResultCode: "SUCCESS", ErrCode: "NOTENOUGH", ErrCodeDes: "余额不足"}
	if ok.Class() != OutcomeOK {
		t.Errorf("both codes SUCCESS: Class = %v, want OK", ok.Class())
	}
}

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	const bill = "1900000109202611280012345678"
	tests := []struct {
		name     string
		err      error
		contains []string
	}{
		{"API error with code", &APIError{Op: opSend, BillNo: bill, ReturnCode: "SUCCESS", ResultCode: "FAIL", ErrCode: "NOTENOUGH", ErrCodeDes: "余额不足"},
			[]string{opSend, bill, "NOTENOUGH", "余额不足"}},
		{"API error return_code FAIL", &APIError{Op: opQuery, BillNo: bill, ReturnCode: "FAIL", ReturnMsg: "签名错误"},
			[]string{opQuery, bill, "return_code=FAIL", "签名错误"}},
		{"API error result_code only", &APIError{Op: opSendMini, BillNo: bill, ReturnCode: "SUCCESS", ResultCode: "FAIL"},
			[]string{opSendMini, bill, "result_code=FAIL"}},
		{"unknown outcome", &UnknownOutcomeError{Op: opSend, BillNo: bill, Attempts: 3, Err: &APIError{Op: opSend, BillNo: bill, ErrCode: "SYSTEMERROR"}},
			[]string{opSend, bill, "outcome unknown", "3 attempt", "same bill number", "SYSTEMERROR"}},
		{"unknown outcome without cause", &UnknownOutcomeError{Op: opSend, BillNo: bill, Attempts: 1},
			[]string{opSend, bill, "<nil>"}},
		{"not sent", &NotSentError{Op: opSendGroup, BillNo: bill, Attempts: 2, Err: errors.New("connection refused")},
			[]string{opSendGroup, bill, "not sent", "2 attempt", "connection refused"}},
		{"validation", &ValidationError{Op: opSend, Fields: []FieldError{{"send_name", "required"}, {"total_amount", "must be 100 to 20000 fen, got 1"}}},
			[]string{opSend, "send_name: required; total_amount: must be 100 to 20000 fen"}},
		{"decode", newDecodeError(502, "HTTP status 502 Bad Gateway", []byte("<html>")),
			[]string{"(HTTP 502)", "HTTP status 502 Bad Gateway", `"<html>"`}},
		{"decode without status or body", newDecodeError(0, "answer sign does not verify", nil),
			[]string{"cannot decode answer: answer sign does not verify"}},
	}
	for _, tt := range tests {
		msg := tt.err.Error()
		if !strings.HasPrefix(msg, "redpack: ") {
			t.Errorf("%s: %q lacks the redpack: prefix", tt.name, msg)
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("%s: %q spans several lines", tt.name, msg)
		}
		for _, s := range tt.contains {
			if !strings.Contains(msg, s) {
				t.Errorf("%s: %q does not contain %q", tt.name, msg, s)
			}
		}
	}
	if strings.Contains(newDecodeError(0, "r", nil).Error(), "HTTP") {
		t.Error("a decode error without status mentions HTTP")
	}
}

func TestErrorIsAndUnwrap(t *testing.T) {
	t.Parallel()
	cause := &APIError{Op: opSend, BillNo: "B", ErrCode: "PROCESSING"}
	ue := &UnknownOutcomeError{Op: opSend, BillNo: "B", Attempts: 1, Err: cause}
	if !errors.Is(ue, ErrOutcomeUnknown) || errors.Is(ue, ErrNotSent) || errors.Is(ue, ErrInvalidRequest) {
		t.Error("UnknownOutcomeError matches the wrong top-level sentinels")
	}
	if errors.Unwrap(ue) != cause {
		t.Error("UnknownOutcomeError does not unwrap to its cause")
	}
	var ae *APIError
	if !errors.As(ue, &ae) || ae != cause {
		t.Error("errors.As cannot reach the *APIError")
	}
	ns := &NotSentError{Op: opSend, BillNo: "B", Err: context.Canceled}
	if !errors.Is(ns, ErrNotSent) || !errors.Is(ns, context.Canceled) || errors.Is(ns, ErrOutcomeUnknown) {
		t.Error("NotSentError matching is wrong")
	}
	ve := &ValidationError{Op: opSend}
	if !errors.Is(ve, ErrInvalidRequest) || errors.Is(ve, ErrNotSent) {
		t.Error("ValidationError matching is wrong")
	}
	if errors.Is(&APIError{ErrCode: "NOTENOUGH"}, ErrOutcomeUnknown) {
		t.Error("an *APIError matches ErrOutcomeUnknown")
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

func TestOutcomeClassString(t *testing.T) {
	t.Parallel()
	tests := map[OutcomeClass]string{
		OutcomeOK:          "OK",
		OutcomeUnknown:     "UNKNOWN",
		OutcomePending:     "PENDING",
		OutcomeFinal:       "FINAL",
		OutcomeRejected:    "REJECTED",
		OutcomeNotSent:     "NOT_SENT",
		OutcomeClass(6):    "OutcomeClass(6)",
		OutcomeClass(42):   "OutcomeClass(42)",
		OutcomeClass(-1):   "OutcomeClass(-1)",
		OutcomeClass(-100): "OutcomeClass(-100)",
	}
	for c, want := range tests {
		if got := c.String(); got != want {
			t.Errorf("OutcomeClass(%d).String() = %q, want %q", int(c), got, want)
		}
		if got := fmt.Sprint(c); got != want {
			t.Errorf("fmt.Sprint(OutcomeClass(%d)) = %q, want %q", int(c), got, want)
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
