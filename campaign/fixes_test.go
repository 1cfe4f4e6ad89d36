package campaign

import (
	"context"
	"testing"

	"github.com/redpack-go/redpack/redpacktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Review finding 1: the row's bill was paid to another openid; the re-send
// answers CONFLICT (FATAL_ERROR). verify must never read that record as the
// row's payment, and run must hold the row instead of re-sending it.
func TestConflictHeldNeverPaid(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			srv := redpacktest.NewServer(redpacktest.WithFreqLimit(0))
			defer srv.Close()
			ctx := context.Background()
			_, err := db.Plan(ctx, basePlan("h"), csvOpener("key,openid,amount\na,oRIGHT1,100\n"))
			require.NoError(t, err)
			bill := row(t, db, "h", "a").Row.BillNo
			// Something else pays the bill to another openid first.
			p := payment{billNo: bill, openID: "oWRONG2", amount: 100, sendName: "Shop", wishing: "Thanks", actName: "Promo", remark: "r"}
			_, err = testClient(srv).Send(ctx, p.request())
			require.NoError(t, err)

			res := runDone(t, db, srv, "h")
			assert.Contains(t, res.PauseReason, "CONFLICT")
			r := row(t, db, "h", "a").Row
			assert.Equal(t, "CONFLICT", r.Status)
			assert.Equal(t, "FATAL_ERROR", r.ErrCode)

			_, err = db.Verify(ctx, "h", VerifyOptions{Client: testClient(srv), Rate: -1})
			require.NoError(t, err)
			r = row(t, db, "h", "a").Row
			assert.NotEqual(t, StatusPaid, r.Status, "another payment's record never settles the row")
			assert.NotEqual(t, "SENT", r.WxStatus)
			s, err := db.Summary(ctx, "h")
			require.NoError(t, err)
			assert.Zero(t, s.Paid.Rows)

			// A second run does not re-send the conflicting request.
			sends := func() int {
				n := 0
				for _, q := range srv.Requests() {
					if q.Endpoint == redpacktest.EndpointSend {
						n++
					}
				}
				return n
			}
			before := sends()
			res = runDone(t, db, srv, "h")
			assert.False(t, res.Done)
			assert.Contains(t, res.PauseReason, "CONFLICT")
			assert.Equal(t, before, sends(), "a held row is not re-sent")
			assert.Len(t, srv.Packets(), 1)

			// The operator's explicit retry gives it a new bill.
			rr, err := db.Retry(ctx, "h", []string{"FATAL_ERROR"})
			require.NoError(t, err)
			assert.Equal(t, 1, rr.Retried)
			res = runDone(t, db, srv, "h")
			require.True(t, res.Done, "%+v", res)
			assert.Len(t, srv.Packets(), 2)
		})
	}
}
