package main

import (
	"context"
	"fmt"
	"io"

	"github.com/redpack-go/redpack"
)

const sendSynopsis = `redpack send [-kind normal|mini|group] -openid OPENID -amount FEN
       -send-name TEXT -wishing TEXT -act-name TEXT -remark TEXT
       [-billno BILLNO] [-scene PRODUCT_n] [-client-ip IPV4] [-total-num N]
       [-json] [merchant flags]`

type sendFlags struct {
	merchantFlags
	kind                               string
	openID                             string
	amount                             int64
	sendName, wishing, actName, remark string
	billNo, scene, clientIP            string
	totalNum                           int
}

func runSend(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	var f sendFlags
	fs := newFlagSet("send", sendSynopsis, stderr)
	f.register(fs)
	fs.StringVar(&f.kind, "kind", "normal", "`kind` of red packet: normal (sendredpack), mini (sendminiprogramhb) or group (sendgroupredpack, switched off 2024-06-05)")
	fs.StringVar(&f.openID, "openid", "", "recipient `openid` under the appid (re_openid)")
	fs.Int64Var(&f.amount, "amount", 0, "amount in `fen` (100 = 1.00 yuan); for group, the total")
	fs.StringVar(&f.sendName, "send-name", "", "sender name shown to the user, ≤ 32 bytes UTF-8 (send_name)")
	fs.StringVar(&f.wishing, "wishing", "", "greeting, ≤ 128 bytes (wishing)")
	fs.StringVar(&f.actName, "act-name", "", "activity name, ≤ 32 bytes (act_name)")
	fs.StringVar(&f.remark, "remark", "", "remark, ≤ 256 bytes (remark)")
	fs.StringVar(&f.billNo, "billno", "", "bill number (mch_billno), ≤ 28 of [0-9A-Za-z]; generated when empty. Reuse it to retry an unknown outcome")
	fs.StringVar(&f.scene, "scene", "", "optional scene `PRODUCT_n` (1-8), needed outside 1-200 yuan")
	fs.StringVar(&f.clientIP, "client-ip", "", "IPv4 of the calling server (normal only; default 127.0.0.1)")
	fs.IntVar(&f.totalNum, "total-num", 0, "number of shares, group only (at least 3)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return parseExit(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "redpack send: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	switch f.kind {
	case "normal", "mini", "group":
	default:
		fmt.Fprintf(stderr, "redpack send: -kind must be normal, mini or group, not %q\n", f.kind)
		return exitUsage
	}
	if f.clientIP != "" && f.kind != "normal" {
		fmt.Fprintln(stderr, "redpack send: -client-ip applies to -kind normal only (the other endpoints have no client_ip)")
		return exitUsage
	}
	if f.totalNum != 0 && f.kind != "group" && f.totalNum != 1 {
		fmt.Fprintln(stderr, "redpack send: -total-num applies to -kind group only (normal and mini packets have total_num 1)")
		return exitUsage
	}
	client, err := f.client(env, f.kind == "mini")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if f.billNo == "" {
		// Write-ahead: the bill number is drawn and printed before anything
		// is sent, so that it survives whatever happens to the call (or to
		// the terminal).
		if f.billNo, err = client.NewBillNo(); err != nil {
			fmt.Fprintln(stderr, err)
			return exitUsage
		}
		fmt.Fprintf(stderr, "redpack send: bill number %s (generated; keep it: to retry, send again with -billno %s and the same -openid and -amount)\n", f.billNo, f.billNo)
	}
	pkt := redpack.Packet{
		BillNo: f.billNo, OpenID: f.openID, Amount: f.amount,
		SendName: f.sendName, Wishing: f.wishing, ActName: f.actName, Remark: f.remark,
		SceneID: redpack.SceneID(f.scene),
	}
	pay := redpack.Payment{BillNo: f.billNo, OpenID: f.openID, Amount: f.amount, TotalNum: 1}
	out := sendOutput{BillNo: f.billNo}
	var res *redpack.SendResult
	switch f.kind {
	case "normal":
		out.Op = "sendredpack"
		res, err = client.Send(ctx, redpack.SendRequest{Packet: pkt, ClientIP: f.clientIP})
	case "mini":
		out.Op = "sendminiprogramhb"
		var mres *redpack.SendMiniProgramResult
		mres, err = client.SendMiniProgram(ctx, redpack.SendMiniProgramRequest{Packet: pkt})
		if err == nil {
			res = &mres.SendResult
			out.Package = mres.Package
			if mres.Package == "" {
				fmt.Fprintln(stderr, "redpack send: warning: the answer carries no package; the red packet was paid: query it and contact WeChat Pay support")
			} else if biz, berr := client.BizRedPacket(mres.Package); berr == nil {
				out.BizRedPacket = &biz
			} else {
				fmt.Fprintf(stderr, "redpack send: warning: cannot build the wx.sendBizRedPacket parameters: %v\n", berr)
			}
		}
	case "group":
		out.Op = "sendgroupredpack"
		pay.TotalNum = f.totalNum
		fmt.Fprintln(stderr, "redpack send: warning: WeChat Pay switched sendgroupredpack off on 2024-06-05; use -kind normal")
		//lint:ignore SA1019 the CLI offers group packets for merchants whose account still answers them.
		req := redpack.SendGroupRequest{Packet: pkt, TotalNum: f.totalNum}
		//lint:ignore SA1019 the CLI offers group packets for merchants whose account still answers them.
		res, err = client.SendGroup(ctx, req)
	}

	code := exitCode(err)
	class := redpack.OutcomeOf(err)
	out.Outcome, out.ExitCode = class.String(), code
	out.Error = newJSONError(err)
	out.Next = nextStep(class, code, pay, f.kind)
	if res != nil {
		out.SendListID, out.OpenID, out.Amount, out.TotalNum = res.SendListID, res.OpenID, res.Amount, res.TotalNum
		out.SendTime = formatTime(res.SendTime)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
	}
	if f.json {
		writeJSON(stdout, out)
		return code
	}
	printSend(stdout, &out, class)
	return code
}

func printSend(w io.Writer, out *sendOutput, class redpack.Outcome) {
	if out.ExitCode == exitOK {
		fmt.Fprintf(w, "OK: red packet sent (%s)\n", out.Op)
	} else {
		fmt.Fprintf(w, "%s: %s bill %s\n", outcomeHeadline(class, out.ExitCode), out.Op, out.BillNo)
	}
	t := newTable(w)
	t.row("mch_billno", out.BillNo)
	t.row("outcome", out.Outcome)
	t.row("send_listid", out.SendListID)
	t.row("re_openid", out.OpenID)
	if out.Amount != 0 {
		t.row("total_amount", formatFen(out.Amount))
	}
	if out.TotalNum != 0 {
		t.row("total_num", itoa(out.TotalNum))
	}
	t.row("send_time", out.SendTime)
	t.row("package", out.Package)
	if e := out.Error; e != nil {
		t.row("err_code", e.ErrCode)
		t.row("err_code_des", e.ErrCodeDes)
		t.row("return_msg", e.ReturnMsg)
		if la := e.LastAnswer; la != nil {
			code := la.ErrCode
			if code == "" {
				code = "return_code " + la.ReturnCode
			}
			t.row("last answer", code+" (proves nothing: an earlier attempt may have been paid)")
		}
		for _, f := range e.Fields {
			t.row("invalid "+f.Field, f.Reason)
		}
	}
	t.row("next", out.Next)
	t.flush()
	if b := out.BizRedPacket; b != nil {
		fmt.Fprintln(w, "wx.sendBizRedPacket parameters:")
		printBiz(w, *b)
	}
}

func printBiz(w io.Writer, b redpack.BizRedPacket) {
	t := newTable(w)
	t.row("timeStamp", b.TimeStamp)
	t.row("nonceStr", b.NonceStr)
	t.row("package", b.Package)
	t.row("signType", b.SignType)
	t.row("paySign", b.PaySign)
	t.flush()
}
