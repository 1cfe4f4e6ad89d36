package main

import (
	"fmt"
	"io"
)

const paySignSynopsis = "redpack paysign -package PACKAGE [-json] [merchant flags]"

// runPaySign prints the wx.sendBizRedPacket parameters for a package. With
// -json the object is exactly what the mini program passes to the call
// (timeStamp, nonceStr, package, signType, paySign).
func runPaySign(args []string, env func(string) string, stdout, stderr io.Writer) int {
	var f merchantFlags
	var pkg string
	fs := newFlagSet("paysign", paySignSynopsis, stderr)
	f.register(fs)
	fs.StringVar(&pkg, "package", "", "the `package` of a mini-program send (sendminiprogramhb), as returned")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return parseExit(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "redpack paysign: unexpected argument %q\n", pos[0])
		return exitUsage
	}
	client, err := f.client(env, true)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	biz, err := client.BizRedPacket(pkg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if f.json {
		writeJSON(stdout, biz)
		return exitOK
	}
	fmt.Fprintf(stdout, "wx.sendBizRedPacket parameters (appId %s):\n", client.AppID())
	printBiz(stdout, biz)
	return exitOK
}
