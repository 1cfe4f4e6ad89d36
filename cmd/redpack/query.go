package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/redpack-go/redpack"
)

const (
	querySynopsis   = "redpack query BILLNO [-kind normal|mini|group] [-openid OPENID -amount FEN [-total-num N]] [-json] [merchant flags]"
	resolveSynopsis = "redpack resolve BILLNO -openid OPENID -amount FEN [-kind normal|mini|group] [-total-num N] [-timeout 5m] [-json] [merchant flags]"
)

// runQuery runs query, or resolve when resolve is set.
//
// With the payment (-openid, -amount, -total-num) the record is judged
// against it (Client.Check once for query, Client.Resolve until settled for
// resolve): paid 0, FAILED 1, conflict 5, anything else 3. Without it
// (query only) the raw record is printed; a FAILED record without claims
// exits 1 (nothing was paid under the bill number), any other record or
// answer exits 3, since a paid record cannot be told from another
// payment's. A query that fails for any reason says nothing about the red
// packet: exit 3, never 1 or 4, which a script could read as "not paid".
func runQuery(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer, resolve bool) int {
	var f merchantFlags
	name, synopsis := "query", querySynopsis
	if resolve {
		name, synopsis = "resolve", resolveSynopsis
	}
	fs := newFlagSet(name, synopsis, stderr)
	f.register(fs)
	var (
		kind     string
		openID   string
		amount   int64
		totalNum int
	)
	fs.StringVar(&kind, "kind", "normal", "`kind` of the red packet: normal or group (the Official Account appid) or mini (the mini-program appid)")
	fs.StringVar(&openID, "openid", "", "recipient `openid` of the payment (re_openid; a group's seed user)")
	fs.Int64Var(&amount, "amount", 0, "amount of the payment in `fen` (a group's total)")
	fs.IntVar(&totalNum, "total-num", 0, "number of shares of a group payment (default 1 for normal and mini)")
	timeout := 5 * time.Minute
	if resolve {
		fs.DurationVar(&timeout, "timeout", timeout, "give up after this long; the outcome then stays unknown (exit 3)")
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return parseExit(err)
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "redpack %s: want exactly one bill number\nUsage: %s\n", name, synopsis)
		return exitUsage
	}
	billNo := pos[0]
	havePayment := openID != "" || amount != 0 || totalNum != 0
	switch {
	case !validBillNo(billNo):
		fmt.Fprintf(stderr, "redpack %s: mch_billno %q must be 1 to 28 of [0-9A-Za-z]\n", name, billNo)
		return exitUsage
	case kind != "normal" && kind != "mini" && kind != "group":
		fmt.Fprintf(stderr, "redpack %s: -kind must be normal, mini or group, not %q\n", name, kind)
		return exitUsage
	case resolve && (openID == "" || amount <= 0):
		fmt.Fprintln(stderr, "redpack resolve: -openid and -amount are required: the record is judged against the payment, so that another payment's record under this bill number never reads as paid")
		return exitUsage
	case havePayment && (openID == "" || amount <= 0):
		fmt.Fprintf(stderr, "redpack %s: -openid and a positive -amount go together\n", name)
		return exitUsage
	case kind == "group" && havePayment && totalNum < 1:
		fmt.Fprintf(stderr, "redpack %s: -kind group needs -total-num, the number of shares\n", name)
		return exitUsage
	case kind != "group" && totalNum > 1:
		fmt.Fprintf(stderr, "redpack %s: -total-num applies to -kind group only\n", name)
		return exitUsage
	case resolve && timeout <= 0:
		fmt.Fprintf(stderr, "redpack resolve: -timeout must be positive\n")
		return exitUsage
	}
	if totalNum == 0 {
		totalNum = 1
	}
	client, err := f.client(env, kind == "mini")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	pay := redpack.Payment{BillNo: billNo, OpenID: openID, Amount: amount, TotalNum: totalNum}

	out := recordOutput{Op: "gethbinfo", BillNo: billNo}
	var rec *redpack.Record
	var class redpack.Outcome
	code := exitUnknown
	switch {
	case resolve:
		rctx, cancel := context.WithTimeout(ctx, timeout)
		rec, err = client.Resolve(rctx, pay)
		cancel()
	case havePayment:
		rec, err = client.Check(ctx, pay)
	default:
		rec, err = client.Query(ctx, billNo)
	}
	var re *redpack.RecordError
	if errors.As(err, &re) {
		rec = re.Record
	}
	if havePayment {
		out.Payment = &jsonPayment{OpenID: openID, Amount: amount, TotalNum: totalNum}
		class = redpack.OutcomeOf(err)
		switch code = exitCode(err); code {
		case exitOK, exitFailed, exitConflict, exitUsage:
		default:
			code = exitUnknown
		}
		if code == exitFailed && re == nil {
			// Only a FAILED record says "not paid"; anything else is open.
			code, class = exitUnknown, redpack.OutcomeUnknown
		}
	} else {
		class = redpack.OutcomeOf(err)
		if err == nil {
			class = redpack.OutcomeUnknown
			switch rec.Status {
			case redpack.StatusFailed:
				// Query refuses a FAILED record with claims (it
				// contradicts itself): this one says "nothing paid".
				class, code = redpack.OutcomeFinal, exitFailed
			case redpack.StatusSending:
				class = redpack.OutcomePending
			}
		} else if class != redpack.OutcomePending {
			class = redpack.OutcomeUnknown
		}
	}
	out.Record = newJSONRecord(rec)
	out.Error = newJSONError(err)
	out.Outcome, out.ExitCode = class.String(), code
	hint := resolveHint(pay, kind)
	if !havePayment {
		hint = "\"redpack resolve " + billNo + " -openid OPENID -amount FEN\""
	}
	switch {
	case code == exitOK && rec != nil && len(rec.Receivers) == 0:
		out.Next = "paid as far as a record can tell: an unclaimed packet's record does not show its recipient, so a payment of the same amount to another openid under this bill number would read the same; " +
			"to be sure, send the identical request again (same -billno, -openid and -amount): WeChat Pay answers the original success, or FATAL_ERROR (exit 5) if the bill number is another payment's"
	case code == exitOK:
	case code == exitFailed:
		out.Next = "the red packet was not paid under this bill number; to pay, send again under a new bill number"
	case code == exitConflict:
		out.Next = "the record is another payment's (another amount, share count or recipient); this payment was not paid under " + billNo +
			": find out why two payments share it before paying under a new bill number"
	case err == nil && !havePayment && class == redpack.OutcomeUnknown:
		out.Next = "the record says " + string(rec.Status) + ", but without -openid and -amount it cannot be told from another payment's record under this bill number: run " + hint
	case resolve:
		out.Next = "still not settled: run " + hint + " again later (never send it under a new bill number)"
	default:
		out.Next = "not known yet (a red packet may be in flight): run " + hint + "; never send it under a new bill number"
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
	}
	if f.json {
		writeJSON(stdout, out)
		return code
	}
	printRecord(stdout, &out, rec)
	return code
}

// validBillNo reports whether s can be a mch_billno: 1 to 28 of [0-9A-Za-z].
func validBillNo(s string) bool {
	if s == "" || len(s) > 28 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func printRecord(w io.Writer, out *recordOutput, rec *redpack.Record) {
	switch {
	case rec == nil:
		fmt.Fprintf(w, "%s: gethbinfo bill %s\n", out.Outcome, out.BillNo)
	default:
		judged := ""
		if out.Payment == nil {
			judged = "; not checked against a payment"
		}
		fmt.Fprintf(w, "%s: red packet %s (%s%s)\n", rec.Status, out.BillNo, describeStatus(rec.Status), judged)
	}
	t := newTable(w)
	t.row("mch_billno", out.BillNo)
	t.row("outcome", out.Outcome)
	if p := out.Payment; p != nil {
		t.row("payment", p.OpenID+", "+formatFen(p.Amount)+", "+itoa(p.TotalNum)+" share(s)")
	}
	if rec != nil {
		t.row("status", string(rec.Status))
		t.row("detail_id", rec.DetailID)
		t.row("hb_type", string(rec.HBType))
		t.row("send_type", string(rec.SendType))
		t.row("total_amount", formatFen(rec.TotalAmount))
		t.row("total_num", itoa(rec.TotalNum))
		t.row("send_time", formatTime(rec.SendTime))
		t.row("act_name", rec.ActName)
		t.row("wishing", rec.Wishing)
		t.row("remark", rec.Remark)
		t.row("reason", rec.Reason)
		t.row("refund_time", formatTime(rec.RefundTime))
		if rec.RefundAmount != 0 {
			t.row("refund_amount", formatFen(rec.RefundAmount))
		}
	}
	if e := out.Error; e != nil {
		t.row("err_code", e.ErrCode)
		t.row("err_code_des", e.ErrCodeDes)
		if la := e.LastAnswer; la != nil {
			t.row("last answer", la.ErrCode+" "+la.ErrCodeDes)
		}
		for _, f := range e.Fields {
			t.row("invalid "+f.Field, f.Reason)
		}
	}
	t.row("next", out.Next)
	t.flush()
	if rec != nil && len(rec.Receivers) > 0 {
		fmt.Fprintf(w, "receivers (%d):\n", len(rec.Receivers))
		t := newTable(w)
		for _, r := range rec.Receivers {
			t.row(r.OpenID, formatFen(r.Amount)+"\t"+formatTime(r.RcvTime))
		}
		t.flush()
	}
}

func describeStatus(s redpack.Status) string {
	switch s {
	case redpack.StatusSending:
		return "being sent; not final"
	case redpack.StatusSent:
		return "paid, waiting to be claimed"
	case redpack.StatusReceived:
		return "paid and claimed"
	case redpack.StatusFailed:
		return "send failed; nothing was paid"
	case redpack.StatusRefunding:
		return "paid, unclaimed, refund in progress"
	case redpack.StatusRefunded:
		return "paid, unclaimed, refunded"
	}
	return "unrecognised status"
}
