package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/redpack-go/redpack"
)

// Exit codes; usageText documents them and is their one description.
const (
	exitOK       = 0
	exitFailed   = 1 // send: FINAL or REJECTED; query, resolve: status FAILED
	exitUsage    = 2 // usage, configuration or validation error
	exitUnknown  = 3 // UNKNOWN or PENDING, or a record that does not settle the payment
	exitNotSent  = 4 // NOT_SENT
	exitConflict = 5 // CONFLICT: the bill number belongs to another payment
	exitInternal = 1 // the fake server could not run
)

// usageText is the one source of the command's synopsis, environment table
// and exit codes: doc.go and README.md quote its sections, and
// TestHelpIsTheSource checks that the copies match.
const usageText = `redpack sends and queries WeChat Pay v2 cash red packets.

Usage:
  redpack send [-kind normal|mini|group] -openid OPENID -amount FEN
               -send-name TEXT -wishing TEXT -act-name TEXT -remark TEXT
               [-billno BILLNO] [-scene PRODUCT_n] [-client-ip IPV4]
               [-total-num N] [-json] [merchant flags]
  redpack query BILLNO [-kind normal|mini|group]
               [-openid OPENID -amount FEN [-total-num N]] [-json] [merchant flags]
  redpack resolve BILLNO -openid OPENID -amount FEN [-kind normal|mini|group]
               [-total-num N] [-timeout 5m] [-json] [merchant flags]
  redpack paysign -package PACKAGE [-json] [merchant flags]
  redpack fake [-addr 127.0.0.1:0] -dir DIR [-balance FEN]
  redpack campaign plan|run|status|report|verify|retry|serve [flags]
  redpack help [COMMAND]

Commands:
  send     send one red packet; without -billno a bill number is generated
           and printed (stderr) before anything is sent; -kind mini also
           prints the wx.sendBizRedPacket parameters; -kind group is
           sendgroupredpack, switched off by WeChat Pay on 2024-06-05
  query    print the record of a bill number (gethbinfo, one query); with
           -openid and -amount, also judge whether it is that payment's
  resolve  query until the record settles the payment given by -openid,
           -amount (and -total-num for a group): paid, FAILED or conflict
  paysign  print the wx.sendBizRedPacket parameters for a package
  fake     run a fake WeChat Pay server (redpacktest) on loopback until
           SIGINT/SIGTERM; print its URL; write ca.pem, apiclient_cert.p12,
           apiclient_cert.pem, apiclient_key.pem and redpack.env (source it)
           into DIR. Exits 0 when stopped, 1 if it cannot start.
  campaign pay a list of recipients exactly once, durably, at the
           merchant's quota, on SQLite or Postgres, with a web view; it has
           its own flags and exit codes: see "redpack campaign -h"
  -kind mini makes query and resolve use the mini-program appid, as
  gethbinfo needs for mini-program red packets.

Environment (flags override it):
  REDPACK_MCH_ID             -mch-id        merchant ID
  REDPACK_APP_ID             -appid         Official Account appid
  REDPACK_MINI_APP_ID        -mini-appid    mini-program appid (-kind mini,
                                            paysign; default the appid)
  REDPACK_API_KEY            -api-key-file  API v2 key; the flag (or
                                            REDPACK_API_KEY_FILE) names a file
                                            holding it. The key is never accepted
                                            as a flag value and never printed.
  REDPACK_CERT_P12           -cert-p12      path of apiclient_cert.p12
  REDPACK_CERT_P12_PASSWORD                 its password (default: the mch ID)
  REDPACK_CERT_PEM           -cert-pem      path of apiclient_cert.pem
  REDPACK_KEY_PEM            -key-pem       path of apiclient_key.pem
  REDPACK_BASE_URL           -base-url      API host (default
                                            https://api.mch.weixin.qq.com)
  REDPACK_CA                 -ca            PEM file of a private CA to trust
                                            (the fake server's ca.pem)
  REDPACK_NODE_ID            -node          bill-number node id 0-99 (default:
                                            the process ID modulo 100); give
                                            concurrent senders distinct ids
  -attempts N, -retry-delay D   retry policy (same bill number and bytes on
                                every attempt); -attempt-timeout D per attempt

Output is human-readable; -json prints one JSON object on stdout with stable
field names (WeChat Pay wire names: mch_billno, send_listid, re_openid,
total_amount in fen, status, hblist, ...) plus outcome (OK, UNKNOWN, PENDING,
CONFLICT, FINAL, REJECTED, NOT_SENT), exit_code, next and error (error.fields
names the invalid wire fields; error.last_answer holds the codes of the last
answer of a call whose outcome is unknown, which prove nothing). A bad flag or
configuration prints only to stderr.

Exit codes:
  0  send: sent. query, resolve: the record shows this payment paid (query
     only with -openid and -amount)
  1  send: final failure, nothing paid under this bill number; or rejected
     (SIGN_ERROR, ...), nothing paid by this request: after an unknown
     outcome, resolve the earlier send first.
     query, resolve: status FAILED, nothing paid under this bill number
  2  usage, configuration or validation error; nothing was sent
  3  outcome unknown or pending; the bill number is printed: run
     "redpack resolve BILLNO -openid OPENID -amount FEN", or send again with
     the same -billno, -openid and -amount. query, resolve: anything that
     does not settle the payment (not found, still sending, the query
     refused or not sent, a paid record queried without -openid and -amount)
  4  send: not sent, nothing reached WeChat Pay; sending again with the
     same -billno is safe
  5  conflict: the bill number belongs to another payment (send: FATAL_ERROR;
     query, resolve: the record contradicts -openid, -amount or -total-num).
     This payment was not paid under it: never send it under this bill
     number, and find out why two payments share it before using a new one
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command: args without the program name, env looks up
// environment variables. It returns the exit code.
func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	if keyFlagGiven(args[1:]) {
		fmt.Fprintln(stderr, "redpack: the API key is not accepted as a flag value (it would show in ps): set REDPACK_API_KEY or use -api-key-file")
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "send":
		return runSend(ctx, rest, env, stdout, stderr)
	case "query":
		return runQuery(ctx, rest, env, stdout, stderr, false)
	case "resolve":
		return runQuery(ctx, rest, env, stdout, stderr, true)
	case "paysign":
		return runPaySign(rest, env, stdout, stderr)
	case "fake":
		return runFake(ctx, rest, stdout, stderr)
	case "campaign":
		return runCampaign(ctx, rest, env, stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 && rest[0] != "help" && !strings.HasPrefix(rest[0], "-") {
			return run(ctx, []string{rest[0], "-h"}, env, stdout, stderr)
		}
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	fmt.Fprintf(stderr, "redpack: unknown command %q\n\n", cmd)
	fmt.Fprint(stderr, usageText)
	return exitUsage
}

// keyFlagGiven reports an attempt to pass the API key itself as a flag.
func keyFlagGiven(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		name := strings.TrimLeft(a, "-")
		if name == a {
			continue
		}
		name, _, _ = strings.Cut(name, "=")
		if name == "api-key" || name == "apikey" || name == "key" {
			return true
		}
	}
	return false
}

// newFlagSet returns a flag set that reports to stderr with the command's
// synopsis.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("redpack "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\nSee \"redpack help\" for the environment and the exit codes.\n")
	}
	return fs
}

// parseArgs parses flags and positional arguments in any order ("query
// BILLNO -json" as well as "query -json BILLNO"); "--" ends the flags. It
// returns errHelp for -h.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageError is a problem with the command line or the configuration:
// exit 2, nothing sent.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error {
	return &usageError{fmt.Sprintf(format, a...)}
}

// parseExit maps a flag parsing error to an exit code: -h is success.
func parseExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

// exitCode maps an error of the redpack package to the command's exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) || errors.Is(err, redpack.ErrInvalidRequest) {
		return exitUsage
	}
	switch redpack.OutcomeOf(err) {
	case redpack.OutcomeOK:
		return exitOK
	case redpack.OutcomeFinal, redpack.OutcomeRejected:
		return exitFailed
	case redpack.OutcomeNotSent:
		return exitNotSent
	case redpack.OutcomeConflict:
		return exitConflict
	}
	return exitUnknown
}
