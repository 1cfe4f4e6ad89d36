package campaign_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/redpack-go/redpack"
	"github.com/redpack-go/redpack/campaign"
	"github.com/redpack-go/redpack/redpacktest"
)

// A small campaign against the built-in fake: plan three rows, run them,
// read the money summary.
func ExampleDB_Run() {
	srv := redpacktest.NewServer()
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "campaign-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	db, err := campaign.Open(ctx, filepath.Join(dir, "redpack.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	input := "key,openid,amount\nalice,oAlice001,100\nbob,oBob00002,150\ncarol,oCarol003,200\n"
	sum, err := db.Plan(ctx, campaign.PlanOptions{
		ID: "spring", MchID: srv.MchID(), AppID: srv.AppID(),
		SendName: "Shop", Wishing: "Thank you", ActName: "Spring", Remark: "Prize",
	}, func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(input)), nil })
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("planned %d rows, %s yuan\n", sum.Rows, campaign.Yuan(sum.TotalFen))

	client := srv.NewClient(redpack.WithRetryPolicy(redpack.RetryPolicy{MaxAttempts: 1}))
	res, err := db.Run(ctx, "spring", campaign.RunOptions{Client: client, Rate: 30})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("done %v: paid %d rows, %s yuan\n", res.Done, res.Summary.Paid.Rows, campaign.Yuan(res.Summary.Paid.Fen))
	// Output:
	// planned 3 rows, 4.50 yuan
	// done true: paid 3 rows, 4.50 yuan
}
