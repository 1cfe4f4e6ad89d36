package redpacktest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/redpack-go/redpack"
	"github.com/redpack-go/redpack/redpacktest"
)

// The fake pays, then drops the connection: the client reports an unknown
// outcome, the ledger shows the packet paid, and a re-send under the same
// bill number pays nothing more.
func ExampleServer_Inject() {
	srv := redpacktest.NewServer()
	defer srv.Close()
	client := srv.NewClient(redpack.WithRetryPolicy(redpack.RetryPolicy{MaxAttempts: 1}))
	ctx := context.Background()
	req := redpack.SendRequest{Packet: redpack.Packet{BillNo: "1900000109202611270000000042", OpenID: "oExampleUser", Amount: 100,
		SendName: "示例商户", Wishing: "恭喜发财", ActName: "示例活动", Remark: "示例"}}

	if err := srv.Inject(redpacktest.EndpointSend, redpacktest.PayThenDrop(), 1); err != nil {
		panic(err)
	}
	_, err := client.Send(ctx, req)
	fmt.Println("unknown:", errors.Is(err, redpack.ErrOutcomeUnknown), "paid by the fake:", srv.TotalPaid())

	res, err := client.Send(ctx, req) // same bill number: re-entrant
	fmt.Println("resend:", err == nil, res.Amount, "paid by the fake:", srv.TotalPaid(), "packets:", len(srv.Packets()))
	// Output:
	// unknown: true paid by the fake: 100
	// resend: true 100 paid by the fake: 100 packets: 1
}

// A reactor answers what counts and probabilities cannot: here NOTENOUGH
// for one recipient only, while everyone else is paid by the fake's rules.
func ExampleServer_AddReactor() {
	srv := redpacktest.NewServer()
	defer srv.Close()
	err := srv.AddReactor(redpacktest.EndpointSend, func(req redpacktest.Request) (redpacktest.Answer, bool) {
		if req.Fields["re_openid"] == "oBlockedUser" {
			return redpacktest.ResultFail("NOTENOUGH"), true
		}
		return redpacktest.Answer{}, false // let the fake answer
	})
	if err != nil {
		panic(err)
	}
	client := srv.NewClient()
	ctx := context.Background()
	for i, openID := range []string{"oHappyUser", "oBlockedUser"} {
		_, err := client.Send(ctx, redpack.SendRequest{Packet: redpack.Packet{BillNo: fmt.Sprintf("1900000109X%d", i), OpenID: openID, Amount: 100,
			SendName: "示例商户", Wishing: "恭喜发财", ActName: "示例活动", Remark: "示例"}})
		fmt.Println(openID, redpack.OutcomeOf(err))
	}
	fmt.Println("paid:", srv.TotalPaid())
	// Output:
	// oHappyUser OK
	// oBlockedUser FINAL
	// paid: 100
}

func ExampleNewServer() {
	srv := redpacktest.NewServer(redpacktest.WithBalance(500))
	defer srv.Close()
	client := srv.NewClient()
	_, err := client.Send(context.Background(), redpack.SendRequest{Packet: redpack.Packet{BillNo: "1900000109202611270000000043", OpenID: "oExampleUser", Amount: 600,
		SendName: "示例商户", Wishing: "恭喜发财", ActName: "示例活动", Remark: "示例"}})
	fmt.Println(redpack.OutcomeOf(err), errors.Is(err, redpack.ErrNotEnough), len(srv.Requests()), srv.TotalPaid())
	// Output:
	// FINAL true 1 0
}

func ExampleNew() {
	_, err := redpacktest.New(redpacktest.WithBalance(-1))
	fmt.Println(err)
	// Output:
	// redpacktest: WithBalance: negative balance -1 fen
}
