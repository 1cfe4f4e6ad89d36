package redpack

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Status is a red packet's state in gethbinfo. It prints as its wire value.
type Status string

// Status values (the spelling RFUND_ING is the server's).
const (
	StatusSending   Status = "SENDING"   // being sent; not final, may still become FAILED
	StatusSent      Status = "SENT"      // sent, waiting to be claimed
	StatusFailed    Status = "FAILED"    // send failed: nothing paid; a new bill number is needed
	StatusReceived  Status = "RECEIVED"  // claimed
	StatusRefunding Status = "RFUND_ING" // unclaimed after 24 h, refund in progress
	StatusRefunded  Status = "REFUND"    // unclaimed, refunded
)

// Final reports whether the status can no longer change.
func (s Status) Final() bool {
	return s == StatusFailed || s == StatusReceived || s == StatusRefunded
}

// Outcome says what the status means for the send: OutcomeOK when the
// packet was sent (SENT, RECEIVED, RFUND_ING, REFUND), OutcomeFinal when it
// failed, OutcomePending while SENDING, OutcomeUnknown for any other value.
func (s Status) Outcome() Outcome {
	switch s {
	case StatusSent, StatusReceived, StatusRefunding, StatusRefunded:
		return OutcomeOK
	case StatusFailed:
		return OutcomeFinal
	case StatusSending:
		return OutcomePending
	}
	return OutcomeUnknown
}

// SendType is how a red packet was sent: "API", "UPLOAD" or "ACTIVITY".
type SendType string

// HBType is a red packet's kind: "NORMAL" or "GROUP".
type HBType string

// HBType values.
const (
	HBTypeNormal HBType = "NORMAL"
	HBTypeGroup  HBType = "GROUP"
)

// Record is a red packet as gethbinfo reports it. Times are China Standard
// Time; a time the answer does not carry, or carries in another layout, is
// zero.
type Record struct {
	BillNo       string
	DetailID     string // WeChat's red packet id (as send_listid)
	Status       Status
	SendType     SendType
	HBType       HBType
	TotalNum     int
	TotalAmount  int64 // fen
	Reason       string
	SendTime     time.Time
	RefundTime   time.Time
	RefundAmount int64 // fen
	Wishing      string
	Remark       string
	ActName      string
	Receivers    []Receiver // one per claim (hblist)
	Raw          []byte     // the answer as received
}

// Receiver is one claim of a red packet.
type Receiver struct {
	OpenID  string
	Amount  int64     // fen
	RcvTime time.Time // zero when the answer omits it
}

const queryTimeLayout = "2006-01-02 15:04:05"

func parseCST(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	t, err := time.ParseInLocation(queryTimeLayout, s, cst)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Query returns the record of billNo as gethbinfo reports it (the last 30
// days only), without judging it against a payment: use Check or Resolve to
// learn whether a payment was paid. A NOT_FOUND answer is an
// *UnknownOutcomeError (the send may still be in flight), never proof of
// failure; so is a record that contradicts itself (FAILED with claims,
// claims beyond total_amount or total_num), which settles nothing.
func (c *Client) Query(ctx context.Context, billNo string) (*Record, error) {
	pr, err := c.prepareQuery(billNo)
	if err != nil {
		return nil, err
	}
	r, raw, err := c.do(ctx, pr)
	if err != nil {
		return nil, err
	}
	rec, reason := recordFrom(r, raw, billNo)
	if reason == "" {
		reason = rec.contradiction()
	}
	if reason != "" {
		return nil, c.unknown(ctx, opQuery, billNo, 1, false, nil, newDecodeError(200, reason, raw))
	}
	return rec, nil
}

func (c *Client) prepareQuery(billNo string) (*prepared, error) {
	ck := checker{op: opQuery, bill: billNo}
	ck.billNo(billNo)
	if err := ck.err(); err != nil {
		return nil, err
	}
	p := make(params, 0, 6)
	p = p.add("mch_billno", billNo)
	p = p.add("mch_id", c.mchID)
	p = p.add("appid", c.appID)
	p = p.add("bill_type", "MCHT")
	return c.prepare(epQuery, billNo, p), nil
}

// recordFrom reads a gethbinfo success answer. Amounts that are present but
// not integers make the answer undecodable (an amount we cannot read is not
// one we may trust); times are lenient. reason is non-empty when the answer
// cannot be read.
func recordFrom(r *response, raw []byte, billNo string) (rec *Record, reason string) {
	rec = &Record{
		BillNo:     billNo,
		DetailID:   r.get("detail_id"),
		Status:     Status(r.get("status")),
		SendType:   SendType(r.get("send_type")),
		HBType:     HBType(r.get("hb_type")),
		Reason:     r.get("reason"),
		SendTime:   parseCST(r.get("send_time")),
		RefundTime: parseCST(r.get("refund_time")),
		Wishing:    r.get("wishing"),
		Remark:     r.get("remark"),
		ActName:    r.get("act_name"),
		Raw:        raw,
	}
	n, ok := intField(r.get("total_num"))
	if !ok || n < 0 || n > 1<<31-1 {
		return nil, "total_num is not an integer"
	}
	rec.TotalNum = int(n)
	if rec.TotalAmount, ok = intField(r.get("total_amount")); !ok {
		return nil, "total_amount is not an integer"
	}
	if rec.RefundAmount, ok = intField(r.get("refund_amount")); !ok {
		return nil, "refund_amount is not an integer"
	}
	for _, h := range r.hbinfo {
		amt, ok := intField(h.get("amount"))
		if !ok {
			return nil, "hbinfo/amount is not an integer"
		}
		rec.Receivers = append(rec.Receivers, Receiver{OpenID: h.get("openid"), Amount: amt, RcvTime: parseCST(h.get("rcv_time"))})
	}
	if rec.Status == "" {
		return nil, "success without status"
	}
	return rec, ""
}

// Check asks WeChat Pay once (one gethbinfo call, with its retries) what
// became of p, and judges the record against p (SPEC §3): a record settles
// the payment only when it is that payment's.
//
//   - nil error and the record: paid (SENT, RECEIVED, RFUND_ING or REFUND,
//     matching p);
//   - OutcomeOf(err) == OutcomePending: the record says SENDING;
//   - OutcomeConflict (a *RecordError, errors.Is(err, ErrConflict)): the
//     record contradicts p (amount, share count, or a claimant who is not
//     p's recipient): it is another payment's; p was not paid under it;
//   - OutcomeFinal (a *RecordError): the record says FAILED;
//   - OutcomeUnknown (an *UnknownOutcomeError) for everything else: a
//     NOT_FOUND answer, transport trouble, a refused query (SIGN_ERROR, ...),
//     a record that contradicts itself, an invalid p. A query problem never
//     reads as "not paid".
//
// A record cannot show the recipient of an unclaimed packet, so Check cannot
// tell this payment from another of the same amount under the same bill
// number; re-sending the identical request can (WeChat Pay compares openid
// and amount and answers FATAL_ERROR for another payment's bill number).
func (c *Client) Check(ctx context.Context, p Payment) (*Record, error) {
	rec, err, _ := c.check(ctx, p)
	return rec, err
}

// check is Check; again reports whether asking later may tell more.
func (c *Client) check(ctx context.Context, p Payment) (rec *Record, err error, again bool) {
	if reason := p.invalid(); reason != "" {
		billNo := p.BillNo
		if !validBillNo(billNo) {
			billNo = "" // not quoted back: it may be a secret pasted into the wrong field
		}
		return nil, c.unknown(ctx, opQuery, billNo, 0, false, nil, errors.New("cannot check this payment: "+reason)), false
	}
	rec, err = c.Query(ctx, p.BillNo)
	if err != nil {
		return c.queryFailed(ctx, p.BillNo, err)
	}
	if reason := rec.mismatch(p); reason != "" {
		return nil, &RecordError{BillNo: p.BillNo, Reason: reason, Record: rec, outcome: OutcomeConflict}, false
	}
	switch rec.Status.Outcome() {
	case OutcomeOK:
		if rec.TotalAmount != p.Amount || rec.TotalNum != p.TotalNum {
			// mismatch let a missing (or zero) value pass, since it proves
			// no conflict; it does not prove this payment either (SPEC §3:
			// the record's total_amount and total_num must equal it).
			return nil, c.unknown(ctx, opQuery, p.BillNo, 1, false, nil, errors.New("the record does not show this payment's total_amount and total_num")), true
		}
		return rec, nil, false
	case OutcomeFinal:
		return nil, &RecordError{BillNo: p.BillNo, Reason: "status FAILED", Record: rec, outcome: OutcomeFinal}, false
	case OutcomePending:
		return nil, c.unknown(ctx, opQuery, p.BillNo, 1, true, nil, errors.New("the record says SENDING")), true
	}
	return nil, c.unknown(ctx, opQuery, p.BillNo, 1, false, nil, errors.New("the record has status "+strconv.Quote(string(rec.Status)))), true
}

// queryFailed turns a failed query into what it means for the send: an
// unknown outcome, never a validation, not-sent or refused error that could
// read as "not paid". again is false when asking again cannot help.
func (c *Client) queryFailed(ctx context.Context, billNo string, err error) (*Record, error, bool) {
	var (
		ue *UnknownOutcomeError
		ns *NotSentError
		ae *APIError
		ve *ValidationError
	)
	switch {
	case errors.As(err, &ue):
		return nil, ue, true
	case errors.As(err, &ns):
		return nil, c.unknown(ctx, opQuery, billNo, ns.Attempts, false, nil, fmt.Errorf("the query did not reach WeChat Pay: %w", ns.Err)), ctx.Err() == nil
	case errors.As(err, &ae):
		return nil, c.unknown(ctx, opQuery, billNo, 1, false, &ae.Answer, errors.New("the query was refused")), false
	case errors.As(err, &ve):
		return nil, c.unknown(ctx, opQuery, billNo, 0, false, nil, errors.New(strings.TrimPrefix(ve.Error(), head(ve.Op, ve.BillNo)))), false
	}
	return nil, c.unknown(ctx, opQuery, billNo, 1, false, nil, err), true
}

// invalid says why p cannot be checked, or "".
func (p Payment) invalid() string {
	switch {
	case !validBillNo(p.BillNo):
		return "BillNo must be 1 to 28 of [0-9A-Za-z]"
	case p.Amount <= 0:
		return "Amount must be positive"
	case p.TotalNum < 1:
		return "TotalNum must be at least 1"
	case p.OpenID == "":
		return "OpenID is required"
	}
	return ""
}

// contradiction says how a record contradicts itself, or "".
func (r *Record) contradiction() string {
	var sum int64
	for _, h := range r.Receivers {
		if h.Amount < 0 {
			return "a negative claim"
		}
		sum += h.Amount
		if sum < 0 || (r.TotalAmount > 0 && sum > r.TotalAmount) {
			return "claims exceed total_amount"
		}
	}
	switch {
	case r.Status == StatusFailed && len(r.Receivers) > 0:
		return "status FAILED with claims in hblist"
	case r.TotalNum > 0 && len(r.Receivers) > r.TotalNum:
		return "more claims than total_num"
	}
	return ""
}

// mismatch says how r contradicts p, or "". Only values the record carries
// count: a missing one proves nothing either way.
func (r *Record) mismatch(p Payment) string {
	if r.TotalAmount != 0 && r.TotalAmount != p.Amount {
		return "total_amount " + strconv.FormatInt(r.TotalAmount, 10) + ", the payment has " + strconv.FormatInt(p.Amount, 10)
	}
	if r.TotalNum != 0 && r.TotalNum != p.TotalNum {
		return "total_num " + strconv.Itoa(r.TotalNum) + ", the payment has " + strconv.Itoa(p.TotalNum)
	}
	if p.TotalNum == 1 {
		// A normal packet's one claimant is its recipient. (A group's
		// claimants are many; its seed need not have claimed.)
		for _, h := range r.Receivers {
			if h.OpenID != "" && h.OpenID != p.OpenID {
				return "claimed by another openid"
			}
		}
	}
	return ""
}

// ResolveTimeout bounds Resolve when its context has no deadline.
const ResolveTimeout = 30 * time.Minute

// Resolve settles p: it calls Check until the answer settles it (paid,
// FINAL or CONFLICT), waiting between checks with the Client's RetryPolicy
// delays (growing to MaxDelay; one second each when BaseDelay is 0) while
// the answer is NOT_FOUND, SENDING or otherwise unknown. It stops early with
// the unknown error when asking again cannot help (a refused query, an
// invalid p). A context without deadline gets ResolveTimeout. WeChat Pay
// suggests querying a PROCESSING send again after about 20 minutes; size the
// deadline accordingly. Results and errors are as for Check.
func (c *Client) Resolve(ctx context.Context, p Payment) (*Record, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ResolveTimeout)
		defer cancel()
	}
	for poll := 1; ; poll++ {
		rec, err, again := c.check(ctx, p)
		if !again || sleep(ctx, c.pollDelay(poll)) != nil {
			return rec, err
		}
	}
}

// minPollDelay is Resolve's wait between checks when the RetryPolicy has
// none (BaseDelay 0): without it Resolve would query in a tight loop and
// spend the merchant's rate quota.
const minPollDelay = time.Second

func (c *Client) pollDelay(poll int) time.Duration {
	if c.opts.retry.BaseDelay == 0 {
		return minPollDelay
	}
	return c.opts.retry.delay(poll)
}
