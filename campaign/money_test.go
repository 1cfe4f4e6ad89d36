package campaign

import (
	"context"
	"testing"
	"time"

	"github.com/redpack-go/redpack/redpacktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runDone(t *testing.T, db *DB, srv *redpacktest.Server, id string) *RunResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := db.Run(ctx, id, RunOptions{Client: testClient(srv), Rate: -1, Backoff: fastBackoff})
	require.NoError(t, err)
	return res
}

func row(t *testing.T, db *DB, id, key string) RowHistory {
	t.Helper()
	h, err := db.Find(context.Background(), id, key)
	require.NoError(t, err)
	require.Len(t, h, 1)
	return h[0]
}

// A merchant-wide stop pauses the campaign with its reason and fails no
// row; run again (after the top-up) pays everything, nothing twice.
func TestMerchantStopPausesThenResumes(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			srv := redpacktest.NewServer(redpacktest.WithFreqLimit(0))
			defer srv.Close()
			_, err := db.Plan(context.Background(), basePlan("m"), csvOpener(genCSV(30, 30)))
			require.NoError(t, err)
			require.NoError(t, srv.Inject(redpacktest.EndpointSend, redpacktest.ResultFail("NOTENOUGH"), 1))
			res := runDone(t, db, srv, "m")
			assert.False(t, res.Done)
			assert.Contains(t, res.PauseReason, "NOTENOUGH")
			assert.Zero(t, res.Summary.Failed.Rows, "no row fails for a merchant-wide stop")
			assert.Equal(t, StatePaused, res.Summary.State)
			assert.Equal(t, PauseMerchant, res.Summary.PauseKind)

			res = runDone(t, db, srv, "m")
			require.True(t, res.Done, "%+v", res)
			assert.Equal(t, int64(30), res.Summary.Paid.Rows)
			assert.Len(t, srv.Packets(), 30)
		})
	}
}

// A real empty balance: the ledger answers NOTENOUGH, the campaign pauses,
// no row fails, and every bill is kept while the balance is empty. After the
// top-up the next run queries the bills that met NOTENOUGH: their FAILED
// records prove them dead, so those rows get their next bill and pay. Nothing
// is paid twice and no row ends FAILED.
func TestBalanceRunsOut(t *testing.T) {
	db := openTest(t, "sqlite")
	srv := redpacktest.NewServer(redpacktest.WithFreqLimit(0), redpacktest.WithBalance(1000))
	defer srv.Close()
	ctx := context.Background()
	_, err := db.Plan(ctx, basePlan("b"), csvOpener("key,openid,amount\na,oA,400\nb,oB,400\nc,oC,400\nd,oD,400\n"))
	require.NoError(t, err)
	res := runDone(t, db, srv, "b")
	assert.Contains(t, res.PauseReason, "NOTENOUGH")
	assert.Zero(t, res.Summary.Failed.Rows)
	assert.Equal(t, int64(2), res.Summary.Paid.Rows)
	for _, k := range []string{"a", "b", "c", "d"} {
		assert.Zero(t, row(t, db, "b", k).Row.Generation, "no new bill while the old one is not known dead")
	}
	require.NoError(t, srv.TopUp(1000))
	for range 4 {
		if res = runDone(t, db, srv, "b"); res.Done {
			break
		}
	}
	require.True(t, res.Done, "%+v", res)
	assert.Zero(t, res.Summary.Failed.Rows, "no row fails for a merchant-wide stop")
	assert.Equal(t, int64(4), res.Summary.Paid.Rows)
	require.Len(t, srv.Packets(), 4, "each row paid once")
	regenerated := 0
	for _, k := range []string{"a", "b", "c", "d"} {
		r := row(t, db, "b", k).Row
		assert.Equal(t, StatusPaid, r.Status)
		if r.Generation > 0 {
			regenerated++
			p, ok := srv.Packet(r.BillNo)
			require.True(t, ok, "row %s is paid under its current bill", k)
			assert.Equal(t, r.Amount, p.Amount)
		}
	}
	assert.Positive(t, regenerated, "the rows whose bills met NOTENOUGH got new bills")
	assert.Equal(t, int64(1600), srv.TotalPaid())
}

// CONFLICT pauses; a per-row FINAL fails the row with its code; retry gives
// a new bill number only to rows known not to have paid.
func TestConflictFinalRetry(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			srv := redpacktest.NewServer(redpacktest.WithFreqLimit(0), redpacktest.WithUserDailyLimits(1, 100000))
			defer srv.Close()
			ctx := context.Background()
			// x and y share an openid: the second fails SENDNUM_LIMIT.
			_, err := db.Plan(ctx, basePlan("f"), csvOpener("key,openid,amount\nx,oSame,100\ny,oSame,100\nz,oZ,100\n"))
			require.NoError(t, err)
			require.NoError(t, srv.Inject(redpacktest.EndpointSend, redpacktest.ResultFail("FATAL_ERROR"), 1))
			res := runDone(t, db, srv, "f")
			assert.Contains(t, res.PauseReason, "CONFLICT")
			assert.Zero(t, res.Summary.Failed.Rows)
			require.Equal(t, int64(1), res.Summary.Conflict.Rows, "the conflicting row is held")

			res = runDone(t, db, srv, "f")
			assert.False(t, res.Done, "a held row keeps the campaign from done")
			assert.Contains(t, res.PauseReason, "held")
			rr, err := db.Retry(ctx, "f", []string{"FATAL_ERROR"})
			require.NoError(t, err)
			require.Equal(t, 1, rr.Retried)
			res = runDone(t, db, srv, "f")
			require.True(t, res.Done, "%+v", res)
			assert.Equal(t, int64(2), res.Summary.Paid.Rows)
			require.Equal(t, int64(1), res.Summary.Failed.Rows)
			fails, err := db.Failures(ctx, "f")
			require.NoError(t, err)
			require.Len(t, fails, 1)
			assert.Equal(t, "SENDNUM_LIMIT", fails[0].ErrCode)
			assert.Contains(t, fails[0].Advice, "retry")

			rr, err = db.Retry(ctx, "f", []string{"NO_AUTH"})
			require.NoError(t, err)
			assert.Zero(t, rr.Retried)
			var failedKey string
			for _, k := range []string{"x", "y"} {
				if r := row(t, db, "f", k); r.Row.Status == StatusFailed {
					failedKey = k
				}
			}
			old := row(t, db, "f", failedKey).Row
			rr, err = db.Retry(ctx, "f", []string{"SENDNUM_LIMIT"})
			require.NoError(t, err)
			assert.Equal(t, 1, rr.Retried)
			nw := row(t, db, "f", failedKey).Row
			assert.Equal(t, old.Generation+1, nw.Generation)
			assert.NotEqual(t, old.BillNo, nw.BillNo)
			assert.Equal(t, StatusPlanned, nw.Status)
			// Found by its old bill number too.
			h, err := db.Find(ctx, "f", old.BillNo)
			require.NoError(t, err)
			require.Len(t, h, 1)
		})
	}
}

// A FINAL answer after an unknown attempt is not proof of "not paid":
// retry refuses until verify reads a FAILED record. A PROCESSING answer is
// settled by a query.
func TestUnknownThenFinalNeedsVerify(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			srv := redpacktest.NewServer(redpacktest.WithFreqLimit(0), redpacktest.WithUserDailyLimits(1, 100000), redpacktest.WithProcessingDelay(50*time.Millisecond))
			defer srv.Close()
			ctx := context.Background()
			_, err := db.Plan(ctx, basePlan("u"), csvOpener("key,openid,amount\np,oP,100\n"))
			require.NoError(t, err)
			_, err = db.Plan(ctx, basePlan("u"), csvOpener("key,openid,amount\np,oP,100\nq,oP,100\n"))
			require.NoError(t, err)
			// p: PROCESSING, then a query settles it. q: a dropped request
			// (unknown), then the re-send meets the daily limit.
			require.NoError(t, srv.Inject(redpacktest.EndpointSend, redpacktest.Processing(), 1))
			require.NoError(t, srv.Inject(redpacktest.EndpointSend, redpacktest.Drop(), 1))
			res := runDone(t, db, srv, "u")
			require.True(t, res.Done, "%+v", res)
			p := row(t, db, "u", "p")
			assert.Equal(t, StatusPaid, p.Row.Status)
			var kinds []string
			for _, a := range p.Attempts {
				kinds = append(kinds, a.Kind+" "+a.Outcome)
			}
			assert.Contains(t, kinds, "send PENDING")
			assert.Contains(t, kinds, "query OK")
			q := row(t, db, "u", "q")
			require.Equal(t, StatusFailed, q.Row.Status)
			assert.True(t, q.Row.UnknownSeen)

			rr, err := db.Retry(ctx, "u", nil)
			require.NoError(t, err)
			assert.Zero(t, rr.Retried)
			assert.Equal(t, 1, rr.NeedVerify)

			vr, err := db.Verify(ctx, "u", VerifyOptions{Client: testClient(srv), Rate: -1})
			require.NoError(t, err)
			assert.Equal(t, 2, vr.Queried)
			assert.Equal(t, 1, vr.ByStatus["FAILED"])
			assert.Equal(t, 1, vr.ByStatus["SENT"])
			rr, err = db.Retry(ctx, "u", nil)
			require.NoError(t, err)
			assert.Equal(t, 1, rr.Retried)

			// verify records claims: RECEIVED.
			require.NoError(t, srv.Receive(p.Row.BillNo))
			_, err = db.Verify(ctx, "u", VerifyOptions{Client: testClient(srv), Rate: -1})
			require.NoError(t, err)
			s, err := db.Summary(ctx, "u")
			require.NoError(t, err)
			assert.Equal(t, Money{1, 100}, s.Received)
		})
	}
}
