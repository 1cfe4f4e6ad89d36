package redpack_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/redpack-go/redpack"
	"github.com/redpack-go/redpack/redpacktest"
)

// The examples run against redpacktest, the fake WeChat Pay server: its
// Config holds everything a client needs (merchant, key, certificate, URL
// and CA). Against WeChat Pay, fill the Config from your merchant platform
// instead and leave BaseURL and RootCAs empty.

// request returns a valid request for billNo.
func request(billNo string, amount int64) redpack.SendRequest {
	return redpack.SendRequest{Packet: redpack.Packet{
		BillNo:   billNo,
		OpenID:   "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
		Amount:   amount,
		SendName: "红包示例商户",
		Wishing:  "恭喜发财",
		ActName:  "新年红包",
		Remark:   "示例",
	}}
}

// quickStart is the package documentation's quick start, run by
// Example_quickStart against the fake: cfg comes from the merchant platform
// in production.
func quickStart(ctx context.Context, cfg redpack.Config, openID string) (*redpack.SendResult, error) {
	client, err := redpack.NewClient(cfg, redpack.WithNodeID(1))
	if err != nil {
		return nil, err
	}
	billNo, err := client.NewBillNo() // store it with the payment before sending
	if err != nil {
		return nil, err
	}
	req := redpack.SendRequest{Packet: redpack.Packet{
		BillNo:   billNo,
		OpenID:   openID,
		Amount:   100, // fen: 1.00 yuan
		SendName: "红包示例商户",
		Wishing:  "恭喜发财",
		ActName:  "新年红包",
		Remark:   "示例",
	}}
	res, err := client.Send(ctx, req)
	return res, err
}

func Example_quickStart() {
	srv := redpacktest.NewServer()
	defer srv.Close()
	res, err := quickStart(context.Background(), srv.Config(), "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
	if err != nil {
		fmt.Println(redpack.OutcomeOf(err), err)
		return
	}
	fmt.Println("sent:", res.Amount, "fen to", res.OpenID)
	fmt.Println("paid by the merchant:", srv.TotalPaid(), "fen")
	// Output:
	// sent: 100 fen to oUpF8uMuAJO_M2pxb1Q9zNjWeS6o
	// paid by the merchant: 100 fen
}

// report is the package documentation's switch on OutcomeOf.
func report(ctx context.Context, client *redpack.Client, req redpack.SendRequest, res *redpack.SendResult, err error) {
	switch redpack.OutcomeOf(err) {
	case redpack.OutcomeOK:
		fmt.Println("paid, send_listid set:", res.SendListID != "")
	case redpack.OutcomeUnknown, redpack.OutcomePending:
		// Maybe paid: settle it against the payment, or resend req unchanged.
		rec, err := client.Resolve(ctx, req.Payment())
		fmt.Println("resolved:", rec != nil, redpack.OutcomeOf(err))
	case redpack.OutcomeConflict:
		// The bill number belongs to another payment: find out why.
		fmt.Println("conflict:", errors.Is(err, redpack.ErrConflict))
	default:
		// NOT_SENT: resend the same request; FINAL, REJECTED: not paid
		// under this bill number, fix the cause.
		fmt.Println("not paid:", err)
	}
}

func ExampleOutcomeOf_settle() {
	srv := redpacktest.NewServer()
	defer srv.Close()
	client := srv.NewClient(redpack.WithRetryPolicy(redpack.RetryPolicy{
		MaxAttempts: 2, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond,
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	req := request("SETTLEEXAMPLE1", 100)
	res, err := client.Send(ctx, req)
	report(ctx, client, req, res, err)

	// The server pays, then the connection drops before the answer, twice.
	srv.Inject(redpacktest.EndpointSend, redpacktest.PayThenDrop(), 2)
	req = request("SETTLEEXAMPLE2", 100)
	res, err = client.Send(ctx, req)
	report(ctx, client, req, res, err)

	// The same bill number for another amount: WeChat Pay's FATAL_ERROR.
	req.Amount = 200
	res, err = client.Send(ctx, req)
	report(ctx, client, req, res, err)
	fmt.Println("paid by the merchant:", srv.TotalPaid(), "fen")
	// Output:
	// paid, send_listid set: true
	// resolved: true OK
	// conflict: true
	// paid by the merchant: 200 fen
}

func ExampleClient_ForAppID() {
	srv := redpacktest.NewServer()
	defer srv.Close()
	client := srv.NewClient()
	miniAppID := srv.MiniProgramConfig().AppID

	mini, err := client.ForAppID(miniAppID) // SendMiniProgram, BizRedPacket, their queries
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(mini.MchID() == client.MchID(), mini.AppID() == miniAppID)
	// Output: true true
}

func ExampleClient_BillNoFor() {
	srv := redpacktest.NewServer()
	defer srv.Close()
	client := srv.NewClient()
	// The same order always gets the same bill number, in every process.
	a, _ := client.BillNoFor("order-20260203-0042")
	b, _ := client.BillNoFor("order-20260203-0042")
	fmt.Println(len(a), a == b)
	// Output: 28 true
}

func ExampleClient_Send() {
	s := redpacktest.NewServer()
	defer s.Close()

	client, err := redpack.NewClient(s.Config())
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := client.Send(context.Background(), redpack.SendRequest{Packet: redpack.Packet{
		BillNo:   "1900000109202401010000000001", // store it before sending
		OpenID:   "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
		Amount:   100, // fen: 1.00 yuan
		SendName: "红包示例商户",
		Wishing:  "恭喜发财",
		ActName:  "新年红包",
		Remark:   "示例",
	}})
	if err != nil {
		// OutcomeOf says what the error means for the money; an unknown
		// outcome is settled with the same bill number, never a new one.
		fmt.Println(redpack.OutcomeOf(err), err)
		return
	}
	fmt.Println("sent:", res.BillNo, res.Amount, "fen to", res.OpenID)
	fmt.Println("send_listid set:", res.SendListID != "")
	fmt.Println("paid by the merchant:", s.TotalPaid(), "fen")
	// Output:
	// sent: 1900000109202401010000000001 100 fen to oUpF8uMuAJO_M2pxb1Q9zNjWeS6o
	// send_listid set: true
	// paid by the merchant: 100 fen
}

func ExampleClient_Query() {
	srv := redpacktest.NewServer()
	defer srv.Close()
	client := srv.NewClient()
	ctx := context.Background()

	if _, err := client.Send(ctx, request("QUERYEXAMPLE1", 188)); err != nil {
		fmt.Println(err)
		return
	}
	rec, err := client.Query(ctx, "QUERYEXAMPLE1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rec.BillNo, rec.Status, rec.Status.Outcome(), rec.TotalAmount, rec.ActName)

	// The user opens the red packet in WeChat (simulated by the fake).
	if err := srv.Receive("QUERYEXAMPLE1"); err != nil {
		fmt.Println(err)
		return
	}
	rec, err = client.Query(ctx, "QUERYEXAMPLE1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rec.Status, "final:", rec.Status.Final())
	for _, r := range rec.Receivers {
		fmt.Println("receiver:", r.OpenID, r.Amount, "fen")
	}
	// Output:
	// QUERYEXAMPLE1 SENT OK 188 新年红包
	// RECEIVED final: true
	// receiver: oUpF8uMuAJO_M2pxb1Q9zNjWeS6o 188 fen
}

func ExampleClient_Resolve() {
	s := redpacktest.NewServer()
	defer s.Close()
	// Short delays for the example; keep the default (≥ 1 s) in production.
	client := s.NewClient(redpack.WithRetryPolicy(redpack.RetryPolicy{
		MaxAttempts: 2, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond,
	}))
	ctx := context.Background()

	// The server pays, then the connection drops before the answer.
	s.Inject(redpacktest.EndpointSend, redpacktest.PayThenDrop(), 2)
	req := request("RESOLVEEXAMPLE1", 100)
	_, err := client.Send(ctx, req)
	fmt.Println("send:", redpack.OutcomeOf(err))

	// Find out by query, judged against the payment the bill number
	// stands for.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rec, err := client.Resolve(ctx, req.Payment())
	if err != nil {
		fmt.Println("still unknown:", err)
		return
	}
	fmt.Println("resolved:", rec.Status, rec.Status.Outcome())
	fmt.Println("paid:", s.TotalPaid(), "fen")
	// Output:
	// send: UNKNOWN
	// resolved: SENT OK
	// paid: 100 fen
}

func ExampleClient_SendMiniProgram() {
	s := redpacktest.NewServer()
	defer s.Close()
	// A mini-program red packet goes out under the mini-program's appid.
	cfg := s.Config()
	cfg.AppID = s.MiniAppID()
	client, err := redpack.NewClient(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := client.SendMiniProgram(context.Background(), redpack.SendMiniProgramRequest{Packet: redpack.Packet{
		BillNo:   "MINIEXAMPLE1",
		OpenID:   "oMiniUser0001",
		Amount:   100,
		SendName: "红包示例商户",
		Wishing:  "恭喜发财",
		ActName:  "小程序红包",
		Remark:   "示例",
	}})
	if err != nil {
		fmt.Println(redpack.OutcomeOf(err), err)
		return
	}
	fmt.Println("sent:", res.BillNo, "package set:", res.Package != "")

	// The mini program claims it with wx.sendBizRedPacket(biz).
	biz, err := client.BizRedPacket(res.Package)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("signType:", biz.SignType)
	fmt.Println("paySign length:", len(biz.PaySign))
	fmt.Println("package URL-encoded:", biz.Package == url.QueryEscape(res.Package))
	// Output:
	// sent: MINIEXAMPLE1 package set: true
	// signType: MD5
	// paySign length: 32
	// package URL-encoded: true
}

func ExampleOutcomeOf() {
	s := redpacktest.NewServer(redpacktest.WithBalance(1000))
	defer s.Close()
	client := s.NewClient(redpack.WithRetryPolicy(redpack.RetryPolicy{
		MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond,
	}))
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	badKey := s.Config()
	badKey.APIKey = "0123456789abcdef0123456789abcdef"
	badClient, _ := redpack.NewClient(badKey)

	show := func(what string, err error) {
		code := ""
		var ae *redpack.APIError
		var ue *redpack.UnknownOutcomeError
		switch {
		case errors.As(err, &ae):
			code = " " + ae.ErrCode
		case errors.As(err, &ue) && ue.LastAnswer != nil:
			code = " (last answer " + ue.LastAnswer.ErrCode + ")"
		}
		fmt.Printf("%-14s %s%s\n", what+":", redpack.OutcomeOf(err), code)
	}

	_, err := client.Send(ctx, request("OUTCOME1", 100))
	show("sent", err)

	_, err = client.Send(ctx, request("OUTCOME2", 1))
	show("invalid", err)
	fmt.Println("  nothing sent:", errors.Is(err, redpack.ErrInvalidRequest))

	_, err = client.Send(ctx, request("OUTCOME3", 20000))
	show("no balance", err)
	fmt.Println("  pay again under a new bill number:", errors.Is(err, redpack.ErrNotEnough))

	_, err = badClient.Send(ctx, request("OUTCOME4", 100))
	show("wrong key", err)

	s.Inject(redpacktest.EndpointSend, redpacktest.PayThenDrop(), 2)
	_, err = client.Send(ctx, request("OUTCOME5", 100))
	show("answer lost", err)
	fmt.Println("  query or resend OUTCOME5:", errors.Is(err, redpack.ErrOutcomeUnknown))

	s.Inject(redpacktest.EndpointSend, redpacktest.Processing(), 1)
	_, err = client.Send(ctx, request("OUTCOME6", 100))
	show("processing", err)

	_, err = client.Send(cancelled, request("OUTCOME7", 100))
	show("cancelled", err)
	fmt.Println("  safe to resend:", errors.Is(err, redpack.ErrNotSent))
	// Output:
	// sent:          OK
	// invalid:       REJECTED
	//   nothing sent: true
	// no balance:    FINAL NOTENOUGH
	//   pay again under a new bill number: true
	// wrong key:     REJECTED SIGN_ERROR
	// answer lost:   UNKNOWN
	//   query or resend OUTCOME5: true
	// processing:    PENDING (last answer PROCESSING)
	// cancelled:     NOT_SENT
	//   safe to resend: true
}
