// Command send sends one red packet and reads it back.
//
// With no REDPACK_* variables set it runs against an in-process fake WeChat
// Pay server (redpacktest): it sends a red packet, simulates the user opening
// it, and prints the record (status RECEIVED, with the receiver). No money
// moves.
//
// With the variables set it talks to the API they name, real money included:
// it sends a red packet and queries it (nobody opens it for you there).
//
//	REDPACK_MCH_ID, REDPACK_APP_ID, REDPACK_API_KEY   merchant
//	REDPACK_CERT_P12 (password REDPACK_CERT_P12_PASSWORD, default the mch ID)
//	  or REDPACK_CERT_PEM + REDPACK_KEY_PEM            merchant certificate
//	REDPACK_BASE_URL, REDPACK_CA                       optional: API host, private CA
//	REDPACK_OPENID                                     recipient (required)
//	REDPACK_AMOUNT                                     fen, default 100 (1.00 yuan)
//
// Run it with: go run ./examples/send
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
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
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "send:", err)
		os.Exit(1)
	}
}

// configVars are the variables that select the live mode when any is set.
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

// run picks the mode from getenv and sends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	live := false
	for _, k := range configVars {
		if getenv(k) != "" {
			live = true
		}
	}
	if live {
		return runLive(ctx, getenv, stdout)
	}
	return runFake(ctx, stdout)
}

// runFake sends through an in-process fake server and plays the user.
func runFake(ctx context.Context, stdout io.Writer) error {
	fmt.Fprintln(stdout, "mode: fake (no REDPACK_* variables set): in-process redpacktest server, no money moves")
	s := redpacktest.NewServer()
	defer s.Close()
	client := s.NewClient()
	const openID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"

	res, err := send(ctx, client, openID, 100, stdout)
	if err != nil {
		return err
	}
	// In real life the user opens the red packet in WeChat.
	if err := s.Receive(res.BillNo); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "user %s opened the red packet (simulated)\n", openID)
	return query(ctx, client, res.BillNo, stdout)
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
	base := cfg.BaseURL
	if base == "" {
		base = redpack.DefaultBaseURL
	}
	fmt.Fprintf(stdout, "mode: live (REDPACK_* variables set): merchant %s at %s; real money moves on WeChat Pay\n", cfg.MchID, base)
	// An overpayment guard: nothing above 200 yuan leaves this program.
	client, err := redpack.NewClient(cfg, redpack.WithMaxAmount(redpack.MaxAmount))
	if err != nil {
		return err
	}
	res, err := send(ctx, client, openID, amount, stdout)
	if err != nil {
		return err
	}
	return query(ctx, client, res.BillNo, stdout)
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
// so that an unknown outcome can always be resolved.
func send(ctx context.Context, client *redpack.Client, openID string, amount int64, stdout io.Writer) (*redpack.SendResult, error) {
	billNo := client.NewBillNo() // store it before sending in a real system
	fmt.Fprintf(stdout, "sending %d fen to %s under bill number %s\n", amount, openID, billNo)
	res, err := client.Send(ctx, redpack.SendRequest{
		BillNo:   billNo,
		OpenID:   openID,
		Amount:   amount,
		SendName: sendName,
		Wishing:  wishing,
		ActName:  actName,
		Remark:   remark,
	})
	if err != nil {
		fmt.Fprintf(stdout, "send: outcome %s for bill number %s\n", redpack.Outcome(err), billNo)
		if errors.Is(err, redpack.ErrOutcomeUnknown) {
			fmt.Fprintln(stdout, "the red packet may have been paid: query it, or send again with the same bill number; never a new one")
		}
		return nil, err
	}
	fmt.Fprintf(stdout, "sent: bill %s, send_listid %s, %d fen to %s\n", res.BillNo, res.SendListID, res.Amount, res.OpenID)
	return res, nil
}

// query prints the record of billNo.
func query(ctx context.Context, client *redpack.Client, billNo string, stdout io.Writer) error {
	rec, err := client.Query(ctx, billNo)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "record: bill %s status %s (%s), %d fen, %s / %s / %s\n",
		rec.BillNo, rec.Status, rec.Status.Outcome(), rec.TotalAmount, rec.ActName, rec.Wishing, rec.Remark)
	for _, r := range rec.Receivers {
		fmt.Fprintf(stdout, "receiver: %s got %d fen at %s\n", r.OpenID, r.Amount, r.RcvTime.Format(time.DateTime))
	}
	return nil
}
