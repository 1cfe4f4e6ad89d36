package redpack

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// verdict is what one attempt's result means: its outcome and whether the
// same bytes should be sent again.
type verdict struct {
	outcome Outcome
	retry   bool
}

// table is the classification of one endpoint's answers by err_code (SPEC
// §3). A code it does not list is unknown and retried: the official
// instruction for an unrecognised answer is to keep the bill number.
type table map[string]verdict

var (
	unknownRetry = verdict{OutcomeUnknown, true}
	final        = verdict{OutcomeFinal, false}
	rejected     = verdict{OutcomeRejected, false}
)

// sendTable classifies the answers of the send endpoints (SPEC §3.1).
var sendTable = table{
	"SYSTEMERROR":         unknownRetry,
	"FREQ_LIMIT":          unknownRetry,
	"SECOND_OVER_LIMITED": unknownRetry,
	"PROCESSING":          {OutcomePending, false},
	"FATAL_ERROR":         {OutcomeConflict, false},
	"SEND_FAILED":         final,
	"NO_AUTH":             final,
	"SENDNUM_LIMIT":       final,
	"RCVDAMOUNT_LIMIT":    final,
	"SENDAMOUNT_LIMIT":    final,
	"MONEY_LIMIT":         final,
	"NOTENOUGH":           final,
	"DAY_OVER_LIMITED":    final,
	"ILLEGAL_APPID":       rejected,
	"OPENID_ERROR":        rejected,
	"MSGAPPID_ERROR":      rejected,
	"ACCEPTMODE_ERROR":    rejected,
	"API_METHOD_CLOSED":   rejected,
	"CA_ERROR":            rejected,
	"SIGN_ERROR":          rejected,
	"XML_ERROR":           rejected,
	"PARAM_ERROR":         rejected,
}

// queryTable classifies gethbinfo answers (SPEC §3.2). NOT_FOUND is unknown
// but not retried at once: the record may appear minutes later (Resolve
// polls).
var queryTable = table{
	"NOT_FOUND":   {OutcomeUnknown, false},
	"SYSTEMERROR": unknownRetry,
	"FREQ_LIMIT":  unknownRetry,
	"CA_ERROR":    rejected,
	"SIGN_ERROR":  rejected,
	"NO_AUTH":     rejected,
	"XML_ERROR":   rejected,
	"PARAM_ERROR": rejected,
}

func tableFor(op string) table {
	if op == opQuery {
		return queryTable
	}
	return sendTable
}

// answer classifies a decoded answer: success when both codes are SUCCESS
// (whatever err_code says), else by err_code whatever return_code says.
func (t table) answer(a *Answer) verdict {
	if a.ReturnCode == "SUCCESS" && a.ResultCode == "SUCCESS" {
		return verdict{OutcomeOK, false}
	}
	if v, ok := t[a.ErrCode]; ok {
		return v
	}
	return unknownRetry
}

// failure classifies an attempt that produced no answer.
func failure(r result) verdict {
	switch {
	case r.stopped:
		// The context ended, or the limiter cannot grant a slot in time.
		return verdict{OutcomeNotSent, false}
	case !r.sent && isCertVerifyError(r.err):
		// Retrying cannot make the server's certificate verify.
		return verdict{OutcomeNotSent, false}
	case !r.sent:
		return verdict{OutcomeNotSent, true}
	}
	return unknownRetry
}

// isCertVerifyError reports whether err is the server's certificate failing
// verification (unknown authority, wrong host name, expired).
func isCertVerifyError(err error) bool {
	var (
		ua  x509.UnknownAuthorityError
		hn  x509.HostnameError
		ci  x509.CertificateInvalidError
		tve *tls.CertificateVerificationError
	)
	return errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) || errors.As(err, &tve)
}
