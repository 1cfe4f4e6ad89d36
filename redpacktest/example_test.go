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
	req := redpack.SendRequest{BillNo: "1900000109202611270000000042", OpenID: "oExampleUser", Amount: 100,
		SendName: "示例商户", Wishing: "恭喜发财", ActName: "示例活动", Remark: "示例"}

	srv.Inject(redpacktest.FaultPayThenDrop, 1)
	_, err := client.Send(ctx, req)
	fmt.Println("unknown:", errors.Is(err, redpack.ErrOutcomeUnknown), "paid by the fake:", srv.TotalPaid())

	res, err := client.Send(ctx, req) // same bill number: re-entrant
	fmt.Println("resend:", err == nil, res.Amount, "paid by the fake:", srv.TotalPaid(), "packets:", len(srv.Packets()))
	// Output:
	// unknown: true paid by the fake: 100
	// resend: true 100 paid by the fake: 100 packets: 1
}

func ExampleNewServer() {
	srv := redpacktest.NewServer(redpacktest.WithBalance(500))
	defer srv.Close()
	client := srv.NewClient()
	_, err := client.Send(context.Background(), redpack.SendRequest{OpenID: "oExampleUser", Amount: 600,
		SendName: "示例商户", Wishing: "恭喜发财", ActName: "示例活动", Remark: "示例"})
	fmt.Println(redpack.Outcome(err), errors.Is(err, redpack.ErrNotEnough), len(srv.Requests()), srv.TotalPaid())
	// Output:
	// FINAL true 1 0
}
