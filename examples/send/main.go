// Command send sends one red packet and reads it back.
//
// By default it runs against an in-process fake WeChat Pay server
// (redpacktest): it sends a red packet, simulates the user opening it, and
// prints the record (status RECEIVED, with the receiver). No money moves,
// whatever REDPACK_* variables are set.
//
// Live mode is an explicit choice: with -live it sends through the API the
// REDPACK_* variables name and queries the red packet (nobody opens it for
// you there). Against WeChat Pay's API host that pays real money from the
// merchant's balance; against a loopback address it talks to a server on
// this machine, such as the one "redpack fake" runs, and no real money moves.
// It says which before sending.
//
//	REDPACK_MCH_ID, REDPACK_APP_ID, REDPACK_API_KEY   merchant
//	REDPACK_CERT_P12 (password REDPACK_CERT_P12_PASSWORD, default the mch ID)
//	  or REDPACK_CERT_PEM + REDPACK_KEY_PEM            merchant certificate
//	REDPACK_BASE_URL, REDPACK_CA                       optional: API host, private CA
//	REDPACK_OPENID                                     recipient (required)
//	REDPACK_AMOUNT                                     fen, default 100 (1.00 yuan)
//	REDPACK_NODE_ID                                    bill-number node, default 1
//
// Run it with: go run ./examples/send (or go run ./examples/send -live)
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redpack-go/redpack"
	"github.com/redpack-go/redpack/redpacktest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "send:", err)
		stop()
		os.Exit(1)
	}
}

// configVars are the variables live mode reads.
var configVars = []string{"REDPACK_MCH_ID", "REDPACK_APP_ID", "REDPACK_API_KEY", "REDPACK_CERT_P12",
	"REDPACK_CERT_PEM", "REDPACK_KEY_PEM", "REDPACK_BASE_URL", "REDPACK_CA", "REDPACK_OPENID"}

// The red packet's texts. Byte limits count UTF-8: a Chinese character
// costs 3 bytes, so keep send_name and act_name within 10 characters.
const (
	sendName = "红包示例商户"
	wishing  = "恭喜发财，大吉大利"
	actName  = "新年红包"
	remark   = "示例程序发放"
)

// run parses the flags, picks the mode and sends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stdout)
	live := fs.Bool("live", false, "send through the API the REDPACK_* variables name (real money on WeChat Pay)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *live {
		return runLive(ctx, getenv, stdout)
	}
	var set []string
	for _, k := range configVars {
		if getenv(k) != "" {
			set = append(set, k)
		}
	}
	if len(set) > 0 {
		fmt.Fprintf(stdout, "note: %s set but not used; pass -live to send through the API they name\n", strings.Join(set, ", "))
	}
	return runFake(ctx, stdout)
}

// runFake sends through an in-process fake server and plays the user.
func runFake(ctx context.Context, stdout io.Writer) error {
	fmt.Fprintln(stdout, "mode: fake: in-process redpacktest server on loopback, not WeChat Pay; no money moves")
	s, err := redpacktest.New()
	if err != nil {
		return err
	}
	defer s.Close()
	client := s.NewClient(redpack.WithNodeID(1))
	const openID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"

	pay, err := send(ctx, client, openID, 100, stdout)
	if err != nil {
		return err
	}
	// In real life the user opens the red packet in WeChat.
	if err := s.Receive(pay.BillNo); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "user %s opened the red packet (simulated)\n", openID)
	return check(ctx, client, pay, stdout)
}

// runLive sends through the API the variables name.
func runLive(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := configFromEnv(getenv)
	if err != nil {
		return err
	}
	openID := getenv("REDPACK_OPENID")
	if openID == "" {
		return errors.New("REDPACK_OPENID (the recipient's openid under REDPACK_APP_ID) is required")
	}
	amount := int64(100)
	if s := getenv("REDPACK_AMOUNT"); s != "" {
		if amount, err = strconv.ParseInt(s, 10, 64); err != nil {
			return fmt.Errorf("REDPACK_AMOUNT must be an amount in fen: %w", err)
		}
	}
	node := 1
	if s := getenv("REDPACK_NODE_ID"); s != "" {
		if node, err = strconv.Atoi(s); err != nil {
			return fmt.Errorf("REDPACK_NODE_ID must be a number 0-%d", redpack.MaxNodeID)
		}
	}
	base := cfg.BaseURL
	if base == "" {
		base = redpack.DefaultBaseURL
	}
	fmt.Fprintf(stdout, "mode: live: merchant %s at %s: %s\n", cfg.MchID, base, whereMoneyGoes(base))
	// An overpayment guard: nothing above 200 yuan leaves this program.
	// Each process drawing bill numbers for the merchant needs its own node.
	client, err := redpack.NewClient(cfg, redpack.WithMaxAmount(redpack.MaxAmount), redpack.WithNodeID(node))
	if err != nil {
		return err
	}
	pay, err := send(ctx, client, openID, amount, stdout)
	if err != nil {
		return err
	}
	return check(ctx, client, pay, stdout)
}

// whereMoneyGoes tells the truth about what a live send to base does.
func whereMoneyGoes(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return "an API URL that does not parse"
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return "a server on this machine (loopback), such as redpack fake, not WeChat Pay: no real money moves unless that server forwards to WeChat Pay"
	}
	switch host {
	case "api.mch.weixin.qq.com", "api2.mch.weixin.qq.com":
		return "WeChat Pay's API: REAL MONEY leaves the merchant's balance"
	}
	return "a server that is neither WeChat Pay's API host nor loopback: whether real money moves depends on that server"
}

// configFromEnv builds the merchant configuration from REDPACK_* variables.
func configFromEnv(getenv func(string) string) (redpack.Config, error) {
	cfg := redpack.Config{
		MchID:          getenv("REDPACK_MCH_ID"),
		AppID:          getenv("REDPACK_APP_ID"),
		APIKey:         getenv("REDPACK_API_KEY"),
		PKCS12Password: getenv("REDPACK_CERT_P12_PASSWORD"),
		BaseURL:        getenv("REDPACK_BASE_URL"),
	}
	var missing []string
	for _, kv := range [][2]string{{"REDPACK_MCH_ID", cfg.MchID}, {"REDPACK_APP_ID", cfg.AppID}, {"REDPACK_API_KEY", cfg.APIKey}} {
		if kv[1] == "" {
			missing = append(missing, kv[0])
		}
	}
	switch p12, cert, key := getenv("REDPACK_CERT_P12"), getenv("REDPACK_CERT_PEM"), getenv("REDPACK_KEY_PEM"); {
	case p12 != "":
		if err := cfg.LoadPKCS12File(p12); err != nil {
			return cfg, err
		}
	case cert != "" && key != "":
		if err := cfg.LoadPEMFiles(cert, key); err != nil {
			return cfg, err
		}
	default:
		missing = append(missing, "REDPACK_CERT_P12 or REDPACK_CERT_PEM+REDPACK_KEY_PEM")
	}
	if len(missing) > 0 {
		return cfg, fmt.Errorf("live mode needs %s", strings.Join(missing, ", "))
	}
	if ca := getenv("REDPACK_CA"); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return cfg, err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return cfg, fmt.Errorf("REDPACK_CA %s holds no PEM certificate", ca)
		}
	}
	return cfg, nil
}

// send sends one red packet under a bill number chosen (and printed) first,
// so that an unknown outcome can always be resolved. It returns the payment.
func send(ctx context.Context, client *redpack.Client, openID string, amount int64, stdout io.Writer) (redpack.Payment, error) {
	billNo, err := client.NewBillNo() // store it before sending in a real system
	if err != nil {
		return redpack.Payment{}, err
	}
	fmt.Fprintf(stdout, "sending %d fen to %s under bill number %s\n", amount, openID, billNo)
	req := redpack.SendRequest{Packet: redpack.Packet{
		BillNo:   billNo,
		OpenID:   openID,
		Amount:   amount,
		SendName: sendName,
		Wishing:  wishing,
		ActName:  actName,
		Remark:   remark,
	}}
	res, err := client.Send(ctx, req)
	if err != nil {
		fmt.Fprintf(stdout, "send: outcome %s for bill number %s\n", redpack.OutcomeOf(err), billNo)
		if errors.Is(err, redpack.ErrOutcomeUnknown) {
			fmt.Fprintln(stdout, "the red packet may have been paid: check it, or send again with the same bill number; never a new one")
		}
		return req.Payment(), err
	}
	fmt.Fprintf(stdout, "sent: bill %s, send_listid %s, %d fen to %s\n", res.BillNo, res.SendListID, res.Amount, res.OpenID)
	return req.Payment(), nil
}

// check reads the record of the payment and judges it against the payment.
func check(ctx context.Context, client *redpack.Client, pay redpack.Payment, stdout io.Writer) error {
	rec, err := client.Check(ctx, pay)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "record: bill %s status %s (%s), %d fen, %s / %s / %s\n",
		rec.BillNo, rec.Status, redpack.OutcomeOf(err), rec.TotalAmount, rec.ActName, rec.Wishing, rec.Remark)
	for _, r := range rec.Receivers {
		fmt.Fprintf(stdout, "receiver: %s got %d fen at %s\n", r.OpenID, r.Amount, r.RcvTime.Format(time.DateTime))
	}
	return nil
}
