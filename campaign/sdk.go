package campaign

// Every call into package redpack lives in this file, so that following the
// core API is one small edit.

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/redpack-go/redpack"
)

// billNamespace is the bill-number namespace reserved for campaigns.
const billNamespace = 'C'

// deriveBillNo is the core's deterministic bill number in the campaign
// namespace 'C': mch_id (last 10) + 'C' + 17 base-36 characters of SHA-256.
// It never equals a time-based number of the SDK (all digits).
func deriveBillNo(mchID string, ref string) (string, error) {
	return redpack.DeriveBillNo(mchID, billNamespace, ref)
}

// Field limits of the send request (SPEC §1.6), in UTF-8 bytes.
const (
	maxSendName = 32
	maxWishing  = 128
	maxActName  = 32
	maxRemark   = 256
	maxOpenID   = 32
	maxKey      = 64
)

// checkText is the SDK's rule for a text field: required, valid UTF-8, at
// most max bytes, no leading or trailing white space, no control character.
func checkText(v string, max int) string {
	if v == "" {
		return "required"
	}
	if !utf8.ValidString(v) {
		return "not valid UTF-8"
	}
	if len(v) > max {
		return fmt.Sprintf("longer than %d bytes (UTF-8), got %d", max, len(v))
	}
	first, _ := utf8.DecodeRuneInString(v)
	last, _ := utf8.DecodeLastRuneInString(v)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return "leading or trailing white space"
	}
	for _, r := range v {
		if unicode.IsControl(r) || r == 0xFFFE || r == 0xFFFF {
			return "contains a control character"
		}
	}
	return ""
}

func checkOpenID(v string) string {
	if v == "" {
		return "required"
	}
	if len(v) > maxOpenID {
		return fmt.Sprintf("longer than %d characters", maxOpenID)
	}
	for i := 0; i < len(v); i++ {
		b := v[i]
		if !(b >= '0' && b <= '9' || b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b == '-' || b == '_') {
			return "must be of [0-9A-Za-z_-]"
		}
	}
	return ""
}

func checkAmount(n int64) string {
	if n < redpack.MinAmount || n > redpack.MaxAmount {
		return fmt.Sprintf("must be %d to %d fen (1 to 200 yuan)", redpack.MinAmount, redpack.MaxAmount)
	}
	return ""
}

func sha256Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// Outcome names recorded in redpack_attempts.outcome (the core's names).
const (
	outOK       = "OK"
	outUnknown  = "UNKNOWN"
	outPending  = "PENDING"
	outConflict = "CONFLICT"
	outFinal    = "FINAL"
	outRejected = "REJECTED"
	outNotSent  = "NOT_SENT"
)

// answer is what one send or query told us.
type answer struct {
	outcome    string
	errCode    string
	sendListID string
	wxStatus   string // query: the record's status
	detail     string
	errDes     string // err_code_des of an API error
}

// payment is what a row pays: rebuilt from the stored row every time, so
// that every re-send carries the same bytes (apart from nonce and sign).
type payment struct {
	billNo, openID                     string
	amount                             int64
	sendName, wishing, actName, remark string
}

func (p payment) request() redpack.SendRequest {
	return redpack.SendRequest{Packet: redpack.Packet{BillNo: p.billNo, OpenID: p.openID, Amount: p.amount,
		SendName: p.sendName, Wishing: p.wishing, ActName: p.actName, Remark: p.remark}}
}

func detailOf(err error) string {
	if err == nil {
		return ""
	}
	return truncate(err.Error(), 500)
}

// classify turns a call's error into an answer.
func classify(err error) answer {
	a := answer{detail: detailOf(err)}
	var ae *redpack.APIError
	var ue *redpack.UnknownOutcomeError
	switch {
	case errors.As(err, &ae):
		a.errCode, a.errDes = ae.ErrCode, ae.ErrCodeDes
	case errors.As(err, &ue) && ue.LastAnswer != nil:
		a.errCode = ue.LastAnswer.ErrCode
	}
	var ve *redpack.ValidationError
	switch {
	case err == nil:
		a.outcome = outOK
	case errors.As(err, &ve):
		a.outcome, a.errCode = outRejected, "INVALID_REQUEST"
	default:
		switch redpack.OutcomeOf(err) {
		case redpack.OutcomeConflict:
			a.outcome = outConflict
		case redpack.OutcomePending:
			a.outcome = outPending
		case redpack.OutcomeFinal:
			a.outcome = outFinal
		case redpack.OutcomeRejected:
			a.outcome = outRejected
		case redpack.OutcomeNotSent:
			a.outcome = outNotSent
		default:
			a.outcome = outUnknown
		}
	}
	return a
}

// send sends the row's payment once.
func send(ctx context.Context, c *redpack.Client, p payment) answer {
	res, err := c.Send(ctx, p.request())
	a := classify(err)
	if err == nil && res != nil {
		a.sendListID = res.SendListID
	}
	return a
}

// check queries the bill once with the core's Check, which judges the
// record against the payment (SPEC §3: a record settles a send only when it
// is that send's).
func check(ctx context.Context, c *redpack.Client, p payment) answer {
	rec, err := c.Check(ctx, redpack.Payment{BillNo: p.billNo, OpenID: p.openID, Amount: p.amount, TotalNum: 1})
	if err == nil {
		return answer{outcome: outOK, wxStatus: string(rec.Status), sendListID: rec.DetailID}
	}
	a := classify(err)
	var re *redpack.RecordError
	if errors.As(err, &re) && re.Record != nil {
		a.wxStatus = string(re.Record.Status)
		switch a.outcome {
		case outFinal:
			a.errCode = "FAILED"
		case outConflict:
			a.errCode = "RECORD_MISMATCH"
		}
	}
	if a.outcome == outPending {
		a.wxStatus = "SENDING"
	}
	switch a.outcome {
	case outOK, outPending, outFinal, outConflict:
	default:
		a.outcome = outUnknown // a query problem never settles a send
	}
	return a
}

// merchantStop reports the codes that stop the whole campaign rather than
// fail a row (issue 10): nothing about the row is wrong.
func merchantStop(a answer) bool {
	switch a.errCode {
	case "NOTENOUGH", "SENDAMOUNT_LIMIT", "DAY_OVER_LIMITED", "CA_ERROR", "SIGN_ERROR", "API_METHOD_CLOSED", "ILLEGAL_APPID",
		"MSGAPPID_ERROR", "ACCEPTMODE_ERROR", "XML_ERROR":
		return true
	case "PARAM_ERROR":
		// The merchant-level PARAM_ERROR (商户号和wxappid不匹配: the mch_id
		// and appid do not match) is configuration; any other is the row's.
		return strings.Contains(strings.ToLower(a.errDes), "appid")
	}
	return a.outcome == outConflict
}

// queryStop reports a gethbinfo refusal that stops the campaign: without
// working queries pending rows cannot settle.
func queryStop(code string) bool {
	switch code {
	case "CA_ERROR", "SIGN_ERROR", "NO_AUTH", "XML_ERROR", "PARAM_ERROR":
		return true
	}
	return false
}

// merchantFinal reports a merchant-wide FINAL code: the campaign pauses and
// the row keeps its bill, queried after the fix (SPEC: an under-funded
// account has answered PROCESSING then FAILED); once its record shows it
// FAILED the row gets its next bill.
func merchantFinal(code string) bool {
	return code == "NOTENOUGH" || code == "SENDAMOUNT_LIMIT" || code == "DAY_OVER_LIMITED"
}
