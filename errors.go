package redpack

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. Match them with errors.Is; get details with errors.As on
// *ValidationError, *NotSentError, *UnknownOutcomeError, *APIError,
// *RecordError or *DecodeError.
var (
	// ErrInvalidRequest matches a *ValidationError: the request was refused by
	// the client and nothing was sent.
	ErrInvalidRequest = errors.New("redpack: invalid request")

	// ErrNotSent matches a *NotSentError: no attempt reached WeChat Pay (dial
	// refused, TLS handshake failed, context done before sending). Nothing
	// was paid by this call.
	ErrNotSent = errors.New("redpack: request not sent")

	// ErrOutcomeUnknown matches a *UnknownOutcomeError: the request may have
	// reached WeChat Pay, but the client saw no definite answer. It is never
	// a failure: settle it with Client.Check or Client.Resolve, or send the
	// identical request again with the same bill number.
	ErrOutcomeUnknown = errors.New("redpack: outcome unknown")
)

// Sentinels for the documented err_code values. An *APIError matches the
// sentinel of its ErrCode with errors.Is. An *UnknownOutcomeError matches
// only the sentinels whose class is itself unknown or pending (ErrSystem,
// ErrProcessing, ErrFreqLimit, ErrSecondOverLimited, ErrNotFound), never a
// FINAL, REJECTED or CONFLICT one.
var (
	ErrSystem            = &codeError{"SYSTEMERROR"}
	ErrProcessing        = &codeError{"PROCESSING"}
	ErrFreqLimit         = &codeError{"FREQ_LIMIT"}
	ErrSendFailed        = &codeError{"SEND_FAILED"}
	ErrNoAuth            = &codeError{"NO_AUTH"}
	ErrSendNumLimit      = &codeError{"SENDNUM_LIMIT"}
	ErrRcvdAmountLimit   = &codeError{"RCVDAMOUNT_LIMIT"}
	ErrSendAmountLimit   = &codeError{"SENDAMOUNT_LIMIT"}
	ErrMoneyLimit        = &codeError{"MONEY_LIMIT"}
	ErrNotEnough         = &codeError{"NOTENOUGH"}
	ErrIllegalAppID      = &codeError{"ILLEGAL_APPID"}
	ErrOpenID            = &codeError{"OPENID_ERROR"}
	ErrMsgAppID          = &codeError{"MSGAPPID_ERROR"}
	ErrAcceptMode        = &codeError{"ACCEPTMODE_ERROR"}
	ErrAPIMethodClosed   = &codeError{"API_METHOD_CLOSED"}
	ErrCA                = &codeError{"CA_ERROR"}
	ErrSign              = &codeError{"SIGN_ERROR"}
	ErrXML               = &codeError{"XML_ERROR"}
	ErrParam             = &codeError{"PARAM_ERROR"}
	ErrSecondOverLimited = &codeError{"SECOND_OVER_LIMITED"}
	ErrDayOverLimited    = &codeError{"DAY_OVER_LIMITED"}
	ErrNotFound          = &codeError{"NOT_FOUND"}

	// ErrConflict matches FATAL_ERROR answers and a *RecordError that
	// contradicts the Payment it was checked against: the bill number
	// belongs to another payment with other parameters, and this request
	// paid nothing. Never resend these parameters under that bill number,
	// and never read its record as this payment's.
	ErrConflict = &codeError{"FATAL_ERROR"}
)

// codeError is the type of the err_code sentinels.
type codeError struct{ code string }

func (e *codeError) Error() string { return "redpack: err_code " + e.code }

// FieldError is one problem with one request field, named by its wire name.
type FieldError struct {
	Field  string // wire name, e.g. "send_name", "total_amount"
	Reason string // what is wrong, e.g. "longer than 32 bytes"
}

func (f FieldError) String() string { return f.Field + ": " + f.Reason }

// ValidationError reports every invalid field of a request. Nothing was sent.
// It matches ErrInvalidRequest; its outcome is OutcomeRejected. Values are
// never quoted, only wire names.
type ValidationError struct {
	Op     string // "sendredpack", "gethbinfo", ...
	BillNo string // the request's bill number; empty when it is the invalid field
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(head(e.Op, e.BillNo))
	b.WriteString("invalid request, nothing sent: ")
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

// Outcome is OutcomeRejected.
func (e *ValidationError) Outcome() Outcome { return OutcomeRejected }

// Has reports whether field (a wire name) is among the invalid fields.
func (e *ValidationError) Has(field string) bool {
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// Answer is the codes of one answer from WeChat Pay. ReturnMsg and ErrCodeDes
// are for humans: branch on ErrCode, never on the texts.
type Answer struct {
	ReturnCode string
	ReturnMsg  string
	ResultCode string
	ErrCode    string
	ErrCodeDes string
}

func (a *Answer) describe() string {
	var s string
	switch {
	case a.ErrCode != "":
		s = a.ErrCode
		if a.ErrCodeDes != "" {
			s += " (" + a.ErrCodeDes + ")"
		}
	case a.ReturnCode != "SUCCESS":
		s = "return_code=" + a.ReturnCode
		if a.ReturnMsg != "" {
			s += " (" + a.ReturnMsg + ")"
		}
	default:
		s = "result_code=" + a.ResultCode
	}
	return s
}

// APIError is a definite answer from WeChat Pay that is not a success: its
// Outcome is OutcomeFinal, OutcomeRejected or OutcomeConflict. errors.Is
// matches the sentinel of its ErrCode (ErrNotEnough for NOTENOUGH, ErrConflict
// for FATAL_ERROR, ...). Answers that leave the outcome open (SYSTEMERROR,
// PROCESSING, unknown codes) are *UnknownOutcomeError instead.
type APIError struct {
	Op     string // "sendredpack", "gethbinfo", ...
	BillNo string // mch_billno of the request
	Answer
	outcome Outcome
}

func (e *APIError) Error() string {
	s := head(e.Op, e.BillNo) + e.describe() + ": "
	switch e.Outcome() {
	case OutcomeConflict:
		s += "the bill number belongs to another payment with another openid or amount; this request paid nothing; never resend it under this bill number"
	case OutcomeFinal:
		s += "not paid under this bill number; paying again needs a new one (settle any earlier unknown attempt of this bill number first)"
	default:
		s += "refused, nothing paid by this request"
	}
	if h := codeHints[e.ErrCode]; h != "" {
		s += "; " + h
	}
	return s
}

// codeHints adds the usual cause of a refusal to its message.
var codeHints = map[string]string{
	"SIGN_ERROR": "the usual cause is a wrong or stale API v2 key (Config.APIKey; not the APIv3 key)",
	"CA_ERROR":   "WeChat Pay did not accept the merchant certificate; check it is this merchant's apiclient_cert",
}

// Is reports whether target is the sentinel for e.ErrCode.
func (e *APIError) Is(target error) bool {
	c, ok := target.(*codeError)
	return ok && c.code == e.ErrCode
}

// Outcome is the class of the answer: OutcomeFinal, OutcomeRejected or
// OutcomeConflict for the errors this package returns.
func (e *APIError) Outcome() Outcome {
	if e.outcome != OutcomeUnknown {
		return e.outcome
	}
	return tableFor(e.Op).answer(&e.Answer).outcome
}

// UnknownOutcomeError reports a call whose outcome the client could not see:
// its Outcome is OutcomeUnknown, or OutcomePending when WeChat Pay said the
// send is in progress. It matches ErrOutcomeUnknown.
//
// It is never a failure: for a send, the red packet may have been paid.
// Settle it with Client.Check or Client.Resolve, or send the identical
// request again with the same bill number (re-entrant: at most one red
// packet is paid). Never retry it under a new bill number.
type UnknownOutcomeError struct {
	Op       string
	BillNo   string // empty when Check was given an invalid one (never quoted back)
	Attempts int
	// LastAnswer holds the codes of the last answer WeChat Pay gave, if
	// any. It is only the last answer: an earlier attempt may have reached
	// WeChat Pay and been paid, so even a FINAL code here proves nothing.
	LastAnswer *Answer
	// Err is the last cause that was not an answer (a network error, a
	// timeout, the context's error, a *DecodeError), or nil.
	Err     error
	outcome Outcome
}

func (e *UnknownOutcomeError) Error() string {
	s := head(e.Op, e.BillNo)
	if e.outcome == OutcomePending {
		s += "pending"
	} else {
		s += "outcome unknown"
	}
	s += " after " + strconv.Itoa(e.Attempts) + " attempt(s)"
	if e.LastAnswer != nil {
		s += ", last answer " + e.LastAnswer.describe()
	}
	if e.Err != nil {
		s += ", " + causeText(e.Err)
	}
	if e.Op == opQuery {
		return s + ": the send's outcome is still open; query again later and treat it as possibly paid meanwhile"
	}
	return s + ": it may have been paid; query it or resend the identical request with the same bill number, never a new one"
}

// Is reports whether target is ErrOutcomeUnknown or the sentinel of the last
// answer's code when that code itself leaves the outcome open.
func (e *UnknownOutcomeError) Is(target error) bool {
	if target == ErrOutcomeUnknown {
		return true
	}
	c, ok := target.(*codeError)
	if !ok || e.LastAnswer == nil || c.code != e.LastAnswer.ErrCode {
		return false
	}
	o := tableFor(e.Op).answer(e.LastAnswer).outcome
	return o == OutcomeUnknown || o == OutcomePending
}

// Unwrap returns Err.
func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// Outcome is OutcomeUnknown or OutcomePending.
func (e *UnknownOutcomeError) Outcome() Outcome {
	if e.outcome == OutcomePending {
		return OutcomePending
	}
	return OutcomeUnknown
}

// NotSentError reports a call of which no attempt reached WeChat Pay: the
// dial or the TLS handshake failed, or the context ended before sending.
// Nothing was paid by this call. It matches ErrNotSent and unwraps to the
// last cause (context.Canceled, a certificate verification error, ...).
type NotSentError struct {
	Op       string
	BillNo   string
	Attempts int
	Err      error
}

func (e *NotSentError) Error() string {
	s := head(e.Op, e.BillNo) + "not sent after " + strconv.Itoa(e.Attempts) + " attempt(s): " + causeText(e.Err)
	if isCertVerifyError(e.Err) {
		s += "; the server's certificate did not verify: set Config.RootCAs or fix the system roots (retrying cannot help)"
	}
	return s
}

// Is reports whether target is ErrNotSent.
func (e *NotSentError) Is(target error) bool { return target == ErrNotSent }

// Unwrap returns the last cause.
func (e *NotSentError) Unwrap() error { return e.Err }

// Outcome is OutcomeNotSent.
func (e *NotSentError) Outcome() Outcome { return OutcomeNotSent }

// RecordError is a gethbinfo record that settles a Payment as not paid by
// it: the record says FAILED (OutcomeFinal), or it contradicts the Payment
// (OutcomeConflict, errors.Is(err, ErrConflict)): it describes another
// payment under the same bill number.
type RecordError struct {
	BillNo  string
	Reason  string  // e.g. "status FAILED", "total_amount 100, the payment has 500"
	Record  *Record // the record as read
	outcome Outcome
}

func (e *RecordError) Error() string {
	s := head(opQuery, e.BillNo) + e.Reason + ": "
	if e.outcome == OutcomeConflict {
		return s + "the record is another payment's; this payment was not paid under this bill number; find out why two payments share it before paying under a new one"
	}
	return s + "not paid under this bill number; paying again needs a new one"
}

// Is reports whether target is ErrConflict and the record contradicts the
// Payment.
func (e *RecordError) Is(target error) bool {
	return target == ErrConflict && e.outcome == OutcomeConflict
}

// Outcome is OutcomeFinal or OutcomeConflict.
func (e *RecordError) Outcome() Outcome { return e.outcome }

// DecodeError reports an answer that could not be understood: a non-2xx HTTP
// status, a body that is not the expected XML, a present but invalid sign, or
// a success whose echo contradicts the request. The client returns it
// wrapped in an *UnknownOutcomeError. Body holds at most the first
// maxBodySample bytes of the answer.
type DecodeError struct {
	HTTPStatus int
	Reason     string
	Body       string
}

// maxBodySample caps DecodeError.Body.
const maxBodySample = 256

func (e *DecodeError) Error() string { return "redpack: " + e.text() }

func (e *DecodeError) text() string {
	s := "cannot decode answer"
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

// head is the one prefix of every message: "redpack: op bill X: ".
func head(op, billNo string) string {
	s := "redpack: " + op
	if billNo != "" {
		s += " bill " + billNo
	}
	return s + ": "
}

// causeText is a cause's message without a second "redpack: " prefix.
func causeText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.TrimPrefix(err.Error(), "redpack: ")
}
