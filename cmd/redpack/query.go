package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/redpack-go/redpack"
)

const (
	querySynopsis   = "redpack query BILLNO [-json] [merchant flags]"
	resolveSynopsis = "redpack resolve BILLNO [-timeout 5m] [-json] [merchant flags]"
)

// runQuery runs query, or resolve when resolve is set. The exit code follows
// the record: paid 0, FAILED 1, SENDING 3. A query that fails for any reason
// (not found, refused, not sent, unknown) says nothing about the red packet:
// exit 3, never 1 or 4, which a script could read as "not paid".
func runQuery(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer, resolve bool) int {
	var f merchantFlags
	name, synopsis := "query", querySynopsis
	if resolve {
		name, synopsis = "resolve", resolveSynopsis
	}
	fs := newFlagSet(name, synopsis, stderr)
	f.register(fs)
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
	if resolve && timeout <= 0 {
		fmt.Fprintf(stderr, "redpack resolve: -timeout must be positive\n")
		return exitUsage
	}
	billNo := pos[0]
	client, err := f.client(env, false)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}

	var rec *redpack.Record
	if resolve {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		rec, err = client.Resolve(rctx, billNo)
		cancel()
	} else {
		rec, err = client.Query(ctx, billNo)
	}

	out := recordOutput{Op: "gethbinfo", BillNo: billNo, Record: newJSONRecord(rec), Error: newJSONError(err)}
	class := redpack.Outcome(err)
	code := exitCode(err)
	if code != exitUsage && code != exitOK {
		code = exitUnknown
	}
	if err == nil {
		class = rec.Status.Outcome()
		code = statusExit(rec.Status)
	}
	out.Outcome, out.ExitCode = class.String(), code
	switch {
	case code == exitUsage:
		out.Next = "fix the bill number"
	case err == nil && class == redpack.OutcomeFinal:
		out.Next = "the red packet was not paid; to pay, send again under a new bill number"
	case class == redpack.OutcomeRejected:
		out.Next = "refused: fix the configuration"
	case code == exitUnknown && resolve:
		out.Next = "still not settled: run \"redpack resolve " + billNo + "\" again later (never send it under a new bill number)"
	case class == redpack.OutcomeNotSent:
		out.Next = "the query did not reach WeChat Pay: check the connection and run it again; the red packet's outcome is not known"
	case code == exitUnknown:
		out.Next = "not known yet (a red packet may be in flight): run \"redpack resolve " + billNo + "\"; never send it under a new bill number"
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

func printRecord(w io.Writer, out *recordOutput, rec *redpack.Record) {
	switch {
	case rec == nil:
		fmt.Fprintf(w, "%s: gethbinfo bill %s\n", out.Outcome, out.BillNo)
	default:
		fmt.Fprintf(w, "%s: red packet %s (%s)\n", rec.Status, out.BillNo, describeStatus(rec.Status))
	}
	t := newTable(w)
	t.row("mch_billno", out.BillNo)
	t.row("outcome", out.Outcome)
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
