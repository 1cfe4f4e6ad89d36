package redpack

import (
	"errors"
	"strconv"
)

// Outcome says what a call's result means for the money. The zero value is
// OutcomeUnknown, the reading that is never safe to act on as "paid" or as
// "not paid".
type Outcome int

// Outcomes, after the protocol specification's classes.
const (
	// OutcomeUnknown: the outcome is not known; the money may have gone
	// out. Never switch bill number: query (Client.Check), or re-send the
	// identical request with the same bill number.
	OutcomeUnknown Outcome = iota
	// OutcomeOK: the red packet was sent.
	OutcomeOK
	// OutcomePending: accepted and in progress (PROCESSING, a record
	// SENDING). Query it later.
	OutcomePending
	// OutcomeConflict: the bill number belongs to another payment with
	// other parameters (FATAL_ERROR, or a record that contradicts the
	// Payment). This request paid nothing; find out why two payments share
	// the number before paying under a new one.
	OutcomeConflict
	// OutcomeFinal: definitively not sent under this bill number
	// (NOTENOUGH, SENDNUM_LIMIT, SEND_FAILED, a record FAILED, ...). Paying
	// again needs a new bill number; if an earlier call with this bill
	// number ended unknown or pending, settle that one first.
	OutcomeFinal
	// OutcomeRejected: refused before processing because of configuration or
	// the request (SIGN_ERROR, CA_ERROR, PARAM_ERROR, a *ValidationError);
	// nothing was paid by this request.
	OutcomeRejected
	// OutcomeNotSent: the request never reached WeChat Pay (a
	// *NotSentError). Sending again with the same bill number is safe.
	OutcomeNotSent
)

var outcomeNames = [...]string{"UNKNOWN", "OK", "PENDING", "CONFLICT", "FINAL", "REJECTED", "NOT_SENT"}

// String returns the outcome's name in capitals, e.g. "UNKNOWN".
func (o Outcome) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// OutcomeOf returns what err means for the money: OutcomeOK for nil, the
// outcome an error of this package carries, and OutcomeUnknown for any other
// error (the safe reading).
func OutcomeOf(err error) Outcome {
	if err == nil {
		return OutcomeOK
	}
	var o interface{ Outcome() Outcome }
	if errors.As(err, &o) {
		return o.Outcome()
	}
	return OutcomeUnknown
}
