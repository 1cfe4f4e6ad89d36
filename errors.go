package redpack

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. Match them with errors.Is; get details with errors.As on
// *ValidationError, *APIError, *UnknownOutcomeError, *NotSentError or
// *DecodeError.
var (
	// ErrInvalidRequest matches a *ValidationError: the request was refused by
	// the client and nothing was sent.
	ErrInvalidRequest = errors.New("redpack: invalid request")

	// ErrNotSent matches a *NotSentError: every attempt failed before the
	// request was written to a connection (dial refused, TLS handshake
	// failed, context done before sending). Nothing was paid by this call.
	ErrNotSent = errors.New("redpack: request not sent")

	// ErrOutcomeUnknown matches a *UnknownOutcomeError: the request may have
	// reached WeChat Pay but the client could not see a definite answer
	// (timeout, reset, 5xx, SYSTEMERROR, PROCESSING, attempts exhausted, an
	// undecodable answer). It is never a failure: resolve it with
	// Client.Query or Client.Resolve, or send again with the same BillNo.
	ErrOutcomeUnknown = errors.New("redpack: outcome unknown")
)

// Sentinels for the documented err_code values. An *APIError matches the
// sentinel of its ErrCode with errors.Is.
var (
	ErrSystemError       = &codeError{"SYSTEMERROR"}
	ErrProcessing        = &codeError{"PROCESSING"}
	ErrFreqLimit         = &codeError{"FREQ_LIMIT"}
	ErrSendFailed        = &codeError{"SEND_FAILED"}
	ErrFatalError        = &codeError{"FATAL_ERROR"}
	ErrNoAuth            = &codeError{"NO_AUTH"}
	ErrSendNumLimit      = &codeError{"SENDNUM_LIMIT"}
	ErrRcvdAmountLimit   = &codeError{"RCVDAMOUNT_LIMIT"}
	ErrSendAmountLimit   = &codeError{"SENDAMOUNT_LIMIT"}
	ErrMoneyLimit        = &codeError{"MONEY_LIMIT"}
	ErrNotEnough         = &codeError{"NOTENOUGH"}
	ErrIllegalAppID      = &codeError{"ILLEGAL_APPID"}
	ErrOpenIDError       = &codeError{"OPENID_ERROR"}
	ErrMsgAppIDError     = &codeError{"MSGAPPID_ERROR"}
	ErrAcceptModeError   = &codeError{"ACCEPTMODE_ERROR"}
	ErrAPIMethodClosed   = &codeError{"API_METHOD_CLOSED"}
	ErrCAError           = &codeError{"CA_ERROR"}
	ErrSignError         = &codeError{"SIGN_ERROR"}
	ErrXMLError          = &codeError{"XML_ERROR"}
	ErrParamError        = &codeError{"PARAM_ERROR"}
	ErrSecondOverLimited = &codeError{"SECOND_OVER_LIMITED"}
	ErrDayOverLimited    = &codeError{"DAY_OVER_LIMITED"}
	ErrNotFound          = &codeError{"NOT_FOUND"}
)

// codeError is the type of the err_code sentinels.
type codeError struct{ code string }

func (e *codeError) Error() string { return "redpack: err_code " + e.code }

// OutcomeClass says what an error (or its absence) means for the money. See
// Outcome.
type OutcomeClass int

// Outcome classes, after the protocol specification's table.
const (
	// OutcomeOK: the red packet was sent (both codes SUCCESS).
	OutcomeOK OutcomeClass = iota
	// OutcomeUnknown: the outcome is not known. Never switch bill number;
	// query, or re-send the identical request with the same bill number.
	OutcomeUnknown
	// OutcomePending: accepted and in progress, or an earlier request under
	// this bill number stands (PROCESSING, FATAL_ERROR). Query it.
	OutcomePending
	// OutcomeFinal: definitively not sent under this bill number (e.g.
	// NOTENOUGH, SENDNUM_LIMIT, SEND_FAILED). Paying again needs a new bill
	// number. If an earlier call with this bill number ended unknown or
	// pending, resolve that one first (Client.Resolve): WeChat Pay does not
	// say whether a limit answer speaks for the earlier request too.
	OutcomeFinal
	// OutcomeRejected: refused before processing because of configuration or
	// the request (SIGN_ERROR, CA_ERROR, PARAM_ERROR, a *ValidationError);
	// nothing was paid by this request.
	OutcomeRejected
	// OutcomeNotSent: the request never left the client (a *NotSentError).
	// Sending again with the same bill number is safe.
	OutcomeNotSent
)

var outcomeNames = [...]string{"OK", "UNKNOWN", "PENDING", "FINAL", "REJECTED", "NOT_SENT"}

// String returns the class name in capitals, e.g. "UNKNOWN".
func (o OutcomeClass) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "OutcomeClass(" + strconv.Itoa(int(o)) + ")"
}

// codeClass is the classification of the documented err_code values for the
// send endpoints (SPEC §3.1). Codes not listed are UNKNOWN.
var codeClass = map[string]OutcomeClass{
	"SYSTEMERROR":         OutcomeUnknown,
	"PROCESSING":          OutcomePending,
	"FREQ_LIMIT":          OutcomeUnknown,
	"SEND_FAILED":         OutcomeFinal,
	"FATAL_ERROR":         OutcomePending,
	"NO_AUTH":             OutcomeFinal,
	"SENDNUM_LIMIT":       OutcomeFinal,
	"RCVDAMOUNT_LIMIT":    OutcomeFinal,
	"SENDAMOUNT_LIMIT":    OutcomeFinal,
	"MONEY_LIMIT":         OutcomeFinal,
	"NOTENOUGH":           OutcomeFinal,
	"ILLEGAL_APPID":       OutcomeRejected,
	"OPENID_ERROR":        OutcomeRejected,
	"MSGAPPID_ERROR":      OutcomeRejected,
	"ACCEPTMODE_ERROR":    OutcomeRejected,
	"API_METHOD_CLOSED":   OutcomeRejected,
	"CA_ERROR":            OutcomeRejected,
	"SIGN_ERROR":          OutcomeRejected,
	"XML_ERROR":           OutcomeRejected,
	"PARAM_ERROR":         OutcomeRejected,
	"SECOND_OVER_LIMITED": OutcomeUnknown,
	"DAY_OVER_LIMITED":    OutcomeFinal,
}

// queryCodeClass is the classification for gethbinfo (SPEC §3.2).
var queryCodeClass = map[string]OutcomeClass{
	"NOT_FOUND":   OutcomeUnknown,
	"SYSTEMERROR": OutcomeUnknown,
	"FREQ_LIMIT":  OutcomeUnknown,
	"CA_ERROR":    OutcomeRejected,
	"SIGN_ERROR":  OutcomeRejected,
	"NO_AUTH":     OutcomeRejected,
	"XML_ERROR":   OutcomeRejected,
	"PARAM_ERROR": OutcomeRejected,
}

// Outcome classifies err for the caller's bookkeeping:
//
//   - nil: OutcomeOK;
//   - *ValidationError: OutcomeRejected (nothing sent);
//   - *UnknownOutcomeError: OutcomePending when it wraps PROCESSING or
//     FATAL_ERROR, otherwise OutcomeUnknown;
//   - *NotSentError: OutcomeNotSent;
//   - *APIError: its Class;
//   - any other error (one this package did not return): OutcomeUnknown,
//     the safe reading.
func Outcome(err error) OutcomeClass {
	if err == nil {
		return OutcomeOK
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		return OutcomeRejected
	}
	var ae *APIError
	hasAPI := errors.As(err, &ae)
	var ue *UnknownOutcomeError
	if errors.As(err, &ue) {
		if hasAPI && ae.Class() == OutcomePending {
			return OutcomePending
		}
		return OutcomeUnknown
	}
	var ns *NotSentError
	if errors.As(err, &ns) {
		return OutcomeNotSent
	}
	if hasAPI {
		return ae.Class()
	}
	return OutcomeUnknown
}

// FieldError is one problem with one request field, named by its wire name.
type FieldError struct {
	Field  string // wire name, e.g. "send_name", "total_amount"
	Reason string // what is wrong, e.g. "longer than 32 bytes"
}

func (f FieldError) String() string { return f.Field + ": " + f.Reason }

// ValidationError reports every invalid field of a request. Nothing was sent.
// It matches ErrInvalidRequest.
type ValidationError struct {
	Op     string       // "sendredpack", "gethbinfo", ...
	Fields []FieldError // in wire-name order of discovery
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("redpack: ")
	b.WriteString(e.Op)
	b.WriteString(": invalid request: ")
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.String())
	}
	return b.String()
}

// Is reports whether target is ErrInvalidRequest.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidRequest }

// Has reports whether field (a wire name) is among the invalid fields.
func (e *ValidationError) Has(field string) bool {
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// APIError is a decoded answer from WeChat Pay that is not a success. Which
// class it belongs to is given by Class; errors.Is matches the sentinel of
// its ErrCode (ErrNotEnough for NOTENOUGH, ...). err_code_des and return_msg
// are for humans: branch on ErrCode or the sentinels, never on the texts.
type APIError struct {
	Op         string // "sendredpack", "gethbinfo", ...
	BillNo     string // mch_billno of the request
	HTTPStatus int
	ReturnCode string
	ReturnMsg  string
	ResultCode string
	ErrCode    string
	ErrCodeDes string
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("redpack: ")
	b.WriteString(e.Op)
	b.WriteString(" bill ")
	b.WriteString(e.BillNo)
	b.WriteString(": ")
	switch {
	case e.ErrCode != "":
		b.WriteString(e.ErrCode)
		if e.ErrCodeDes != "" {
			b.WriteString(" (")
			b.WriteString(e.ErrCodeDes)
			b.WriteString(")")
		}
	case e.ReturnCode != "SUCCESS":
		b.WriteString("return_code=")
		b.WriteString(e.ReturnCode)
		if e.ReturnMsg != "" {
			b.WriteString(" (")
			b.WriteString(e.ReturnMsg)
			b.WriteString(")")
		}
	default:
		b.WriteString("result_code=")
		b.WriteString(e.ResultCode)
	}
	return b.String()
}

// Is reports whether target is the sentinel for e.ErrCode.
func (e *APIError) Is(target error) bool {
	c, ok := target.(*codeError)
	return ok && c.code == e.ErrCode
}

// Class classifies the answer per the specification: a listed err_code
// gives its class whatever return_code says; anything else (numeric or
// unknown codes, return_code=FAIL without a listed code) is OutcomeUnknown.
func (e *APIError) Class() OutcomeClass {
	if e.ReturnCode == "SUCCESS" && e.ResultCode == "SUCCESS" {
		return OutcomeOK
	}
	table := codeClass
	if e.Op == opQuery {
		table = queryCodeClass
	}
	if c, ok := table[e.ErrCode]; ok {
		return c
	}
	return OutcomeUnknown
}

// UnknownOutcomeError reports a call whose outcome the client could not see.
// It matches ErrOutcomeUnknown and unwraps to the last cause (an *APIError
// for SYSTEMERROR or PROCESSING, a *DecodeError, a network error, ...).
//
// It is never a failure: for a send, the red packet may or may not have been
// paid. Resolve it with Client.Query or Client.Resolve on BillNo, or send the
// identical request again with the same BillNo (re-entrant: at most one red
// packet is paid). Never retry it under a new bill number.
type UnknownOutcomeError struct {
	Op       string
	BillNo   string
	Attempts int
	Err      error
}

func (e *UnknownOutcomeError) Error() string {
	return "redpack: " + e.Op + " bill " + e.BillNo + ": outcome unknown after " +
		strconv.Itoa(e.Attempts) + " attempt(s), query or resend with the same bill number: " + errString(e.Err)
}

// Is reports whether target is ErrOutcomeUnknown.
func (e *UnknownOutcomeError) Is(target error) bool { return target == ErrOutcomeUnknown }

// Unwrap returns the last cause.
func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// NotSentError reports a call of which no attempt reached a connection: the
// dial or the TLS handshake failed, or the context ended before sending.
// Nothing was paid by this call. It matches ErrNotSent.
type NotSentError struct {
	Op       string
	BillNo   string
	Attempts int
	Err      error
}

func (e *NotSentError) Error() string {
	return "redpack: " + e.Op + " bill " + e.BillNo + ": not sent after " +
		strconv.Itoa(e.Attempts) + " attempt(s): " + errString(e.Err)
}

// Is reports whether target is ErrNotSent.
func (e *NotSentError) Is(target error) bool { return target == ErrNotSent }

// Unwrap returns the last cause.
func (e *NotSentError) Unwrap() error { return e.Err }

// DecodeError reports an answer that could not be understood: a non-2xx HTTP
// status, a body that is not the expected XML, a present but invalid sign, or
// a success whose echo contradicts the request. It is always wrapped in an
// *UnknownOutcomeError by the client. Body holds at most the first
// maxBodySample bytes of the answer.
type DecodeError struct {
	HTTPStatus int
	Reason     string
	Body       string
}

// maxBodySample caps DecodeError.Body.
const maxBodySample = 256

func (e *DecodeError) Error() string {
	s := "redpack: cannot decode answer"
	if e.HTTPStatus != 0 {
		s += " (HTTP " + strconv.Itoa(e.HTTPStatus) + ")"
	}
	s += ": " + e.Reason
	if e.Body != "" {
		s += ": " + strconv.Quote(e.Body)
	}
	return s
}

func newDecodeError(status int, reason string, body []byte) *DecodeError {
	if len(body) > maxBodySample {
		body = body[:maxBodySample]
	}
	return &DecodeError{HTTPStatus: status, Reason: reason, Body: string(body)}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
