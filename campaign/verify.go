package campaign

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/redpack-go/redpack"
)

// VerifyOptions configures Verify.
type VerifyOptions struct {
	Client      *redpack.Client
	Rate        float64 // total queries a second (DefaultRate); negative = no limit
	Concurrency int     // default DefaultConcurrency
	WorkerID    string
}

// VerifyResult counts what the queries said.
type VerifyResult struct {
	Queried  int            `json:"queried"`
	ByStatus map[string]int `json:"by_status"` // gethbinfo status, or the outcome when there was no record
	Settled  int            `json:"settled"`   // UNKNOWN rows the query settled (PAID or FAILED)
	Summary  *Summary       `json:"summary"`
}

// Verify queries (gethbinfo) every PAID and UNKNOWN row, and every FAILED
// row with an earlier unknown attempt, and records what
// WeChat Pay says: the record's status on every row, PAID for an unknown row
// whose record is its payment, FAILED for one whose record is FAILED. A
// record that contradicts a row (another amount or claimant) is recorded as
// CONFLICT and settles nothing.
func (db *DB) Verify(ctx context.Context, id string, opts VerifyOptions) (*VerifyResult, error) {
	if opts.Client == nil {
		return nil, errors.New("campaign: VerifyOptions.Client is required")
	}
	c, err := db.campaign(ctx, db.sql, id)
	if err != nil {
		return nil, err
	}
	if opts.Client.MchID() != c.mchID {
		return nil, fmt.Errorf("campaign %s was planned for merchant %s, the client is %s", id, c.mchID, opts.Client.MchID())
	}
	if opts.Rate == 0 {
		opts.Rate = DefaultRate
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.WorkerID == "" {
		uid, _ := newUID()
		opts.WorkerID = "verify-" + uid[:8]
	}
	lim := newDBLimiter(db, id, opts.Rate, 0)
	// Leases are on the database clock (as run's are).
	skew, err := db.clockSkew(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT seq FROM redpack_rows WHERE campaign_id = ? AND (status IN (?, ?)
		OR (status = ? AND unknown_seen = 1 AND wx_status <> 'FAILED')) ORDER BY seq`), id, StatusPaid, StatusUnknown, StatusFailed)
	if err != nil {
		return nil, err
	}
	var seqs []int64
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, err
		}
		seqs = append(seqs, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	res := &VerifyResult{ByStatus: map[string]int{}}
	var mu sync.Mutex
	var firstErr error
	work := make(chan int64)
	var wg sync.WaitGroup
	for range opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range work {
				st, settled, err := db.verifyRow(ctx, c, seq, opts, lim, skew)
				mu.Lock()
				if err != nil && firstErr == nil && ctx.Err() == nil {
					firstErr = err
				}
				if st != "" {
					res.Queried++
					res.ByStatus[st]++
					if settled {
						res.Settled++
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, s := range seqs {
		if ctx.Err() != nil {
			break
		}
		work <- s
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return res, firstErr
	}
	res.Summary, err = db.Summary(context.WithoutCancel(ctx), id)
	return res, err
}

func (db *DB) verifyRow(ctx context.Context, c *campaignRow, seq int64, opts VerifyOptions, lim *dbLimiter, skew int64) (string, bool, error) {
	// The slot first, then the lease: a lease never runs out while its
	// query waits for the shared limiter (at a low rate that wait can be
	// longer than rowLease).
	if err := lim.wait(ctx); err != nil {
		return "", false, err
	}
	var cl *claimed
	var status string
	err := db.tx(ctx, func(tx *sql.Tx) error {
		cl = nil
		now := nowMicros() + skew
		cc := &claimed{seq: seq, kind: "query"}
		err := tx.QueryRowContext(ctx, db.q(`UPDATE redpack_rows SET lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
			WHERE campaign_id = ? AND seq = ? AND status IN (?, ?, ?) AND lease_until <= ?
			RETURNING attempts, generation, status, bill_no, openid, amount, err_code`),
			opts.WorkerID, now+rowLease.Microseconds(), now, c.id, seq, StatusPaid, StatusUnknown, StatusFailed, now).
			Scan(&cc.n, &cc.generation, &status, &cc.pay.billNo, &cc.pay.openID, &cc.pay.amount, &cc.errCode)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO redpack_attempts (campaign_id, seq, n, kind, bill_no, generation, worker, started_at)
			VALUES (?, ?, ?, 'query', ?, ?, ?, ?)`), c.id, seq, cc.n, cc.pay.billNo, cc.generation, opts.WorkerID, now); err != nil {
			return err
		}
		cl = cc
		return nil
	})
	if err != nil || cl == nil {
		return "", false, err
	}
	a := check(ctx, opts.Client, cl.pay)
	// The answer is recorded even when ctx has ended meanwhile.
	rctx := context.WithoutCancel(ctx)
	settled := false
	err = db.tx(rctx, func(tx *sql.Tx) error {
		now := nowMicros() + skew
		if _, err := tx.ExecContext(rctx, db.q(`UPDATE redpack_attempts SET finished_at = ?, outcome = ?, err_code = ?, wx_status = ?, send_listid = ?, detail = ?
			WHERE campaign_id = ? AND seq = ? AND n = ?`), now, a.outcome, a.errCode, a.wxStatus, a.sendListID, a.detail, c.id, seq, cl.n); err != nil {
			return err
		}
		base := `UPDATE redpack_rows SET lease_owner = '', lease_until = 0, updated_at = ?`
		args := []any{now}
		switch {
		case a.outcome == outConflict:
			// The record contradicts the row: it describes another payment
			// and never settles this row (SPEC §3 CONFLICT). (A bill whose
			// send answered CONFLICT is held as CONFLICT and not verified.)
			base += `, wx_status = 'CONFLICT'`
			if status == StatusUnknown {
				base += `, status = ?, pending = 0, err_code = ?`
				args = append(args, StatusConflict, cmpOr(a.errCode, "RECORD_MISMATCH"))
			}
		case a.outcome == outOK:
			base += `, status = ?, pending = 0, wx_status = ?, send_listid = CASE WHEN send_listid = '' THEN ? ELSE send_listid END`
			args = append(args, StatusPaid, a.wxStatus, a.sendListID)
			settled = status != StatusPaid
		case a.outcome == outFinal && status == StatusUnknown:
			base += `, status = ?, pending = 0, wx_status = 'FAILED', err_code = CASE WHEN err_code = '' THEN 'FAILED' ELSE err_code END`
			args = append(args, StatusFailed)
			settled = true
		case a.wxStatus != "":
			// PAID with a FAILED or SENDING record, or a pending row: keep
			// the status, record what the server says.
			base += `, wx_status = ?`
			args = append(args, a.wxStatus)
			if status == StatusUnknown && a.outcome == outPending {
				base += `, pending = 1`
			}
		}
		where := ` WHERE campaign_id = ? AND seq = ? AND generation = ?`
		args = append(args, c.id, seq, cl.generation)
		if a.outcome != outOK {
			// attempts is the claim's token (as in run's record): a claim
			// taken over meanwhile (a run released this lease) records
			// only an OK; the attempt above keeps the rest.
			where += ` AND attempts = ?`
			args = append(args, cl.n)
		}
		_, err := tx.ExecContext(rctx, db.q(base+where), args...)
		return err
	})
	st := a.wxStatus
	if st == "" {
		st = a.outcome
		if a.errCode != "" {
			st += " " + a.errCode
		}
	}
	return st, settled, err
}

// RetryResult counts what Retry did.
type RetryResult struct {
	Retried int `json:"retried"` // rows given a new bill number
	// NeedVerify counts FAILED rows left alone because an earlier attempt
	// is unknown: run verify first (a FAILED record makes them retryable).
	NeedVerify int `json:"need_verify"`
}

// Retry gives FAILED rows (only those with an err_code in codes, when
// given) that are known not to have paid a new bill number (generation +
// 1); the next run sends them. Known not to have paid: a FINAL answer with
// no earlier unknown attempt in that generation, or a FAILED record.
// CONFLICT rows are retried only when codes names FATAL_ERROR or
// RECORD_MISMATCH (either takes every CONFLICT row).
func (db *DB) Retry(ctx context.Context, id string, codes []string) (*RetryResult, error) {
	c, err := db.campaign(ctx, db.sql, id)
	if err != nil {
		return nil, err
	}
	res := &RetryResult{}
	want := map[string]bool{}
	for _, code := range codes {
		if code = strings.TrimSpace(code); code != "" {
			want[code] = true
		}
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		*res = RetryResult{}
		todo, needVerify, err := db.retryCandidates(ctx, tx, id, want)
		if err != nil {
			return err
		}
		res.NeedVerify = needVerify
		res.Retried, err = db.retryApply(ctx, tx, c, todo)
		return err
	})
	return res, err
}

// retryCand is a row Retry read as retryable: its status and generation
// at that moment.
type retryCand struct {
	seq    int64
	status string
	gen    int
	code   string
}

func (db *DB) retryCandidates(ctx context.Context, tx *sql.Tx, id string, want map[string]bool) ([]retryCand, int, error) {
	// CONFLICT rows only when asked for by name, either of their two codes
	// (a send's FATAL_ERROR, a query's RECORD_MISMATCH): their bill belongs
	// to another payment, so this row's payment never paid under it.
	conflicts := want["FATAL_ERROR"] || want["RECORD_MISMATCH"]
	rows, err := tx.QueryContext(ctx, db.q(`SELECT seq, status, generation, err_code, unknown_seen, wx_status FROM redpack_rows WHERE campaign_id = ? AND (status = ? OR (status = ? AND ?)) ORDER BY seq`),
		id, StatusFailed, StatusConflict, conflicts)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var todo []retryCand
	needVerify := 0
	for rows.Next() {
		var t retryCand
		var wx string
		var unknown int
		if err := rows.Scan(&t.seq, &t.status, &t.gen, &t.code, &unknown, &wx); err != nil {
			return nil, 0, err
		}
		if t.status == StatusFailed && len(want) > 0 && !want[t.code] {
			continue
		}
		if t.status == StatusFailed && unknown != 0 && wx != "FAILED" {
			needVerify++
			continue
		}
		todo = append(todo, t)
	}
	return todo, needVerify, rows.Err()
}

// retryApply regenerates the candidates that are still as they were read
// (same status and generation, still known not to have paid) and counts
// them; a row another retry or a run moved meanwhile is left alone.
func (db *DB) retryApply(ctx context.Context, tx *sql.Tx, c *campaignRow, todo []retryCand) (int, error) {
	now := nowMicros()
	n := 0
	for _, t := range todo {
		ok, err := regenRow(ctx, db, tx, c, t.seq, t.gen, t.status, now)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// SafeCell escapes a text cell against spreadsheet formula injection
// (CSV injection): a cell starting with = + - @, a tab or a carriage return
// gets a leading apostrophe, which Excel and LibreOffice show as text. Report
// applies it to key, openid, send_listid, err_code and wx_status; a key such
// as "-5" therefore reads "'-5" in the report (the database keeps the key as
// planned, and Find takes it as planned).
func SafeCell(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// ReportColumns are the columns of Report, in order.
var ReportColumns = []string{"key", "openid", "amount", "bill_no", "status", "send_listid", "err_code", "wx_status", "generation", "line"}

// Report writes one CSV row per campaign row (ReportColumns), in plan order.
// It streams.
func (db *DB) Report(ctx context.Context, id string, w io.Writer) error {
	if _, err := db.campaign(ctx, db.sql, id); err != nil {
		return err
	}
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT row_key, openid, amount, bill_no, status, send_listid, err_code, wx_status, generation, line
		FROM redpack_rows WHERE campaign_id = ? ORDER BY seq`), id)
	if err != nil {
		return err
	}
	defer rows.Close()
	cw := csv.NewWriter(w)
	if err := cw.Write(ReportColumns); err != nil {
		return err
	}
	rec := make([]string, len(ReportColumns))
	for rows.Next() {
		var amount, line int64
		var gen int
		if err := rows.Scan(&rec[0], &rec[1], &amount, &rec[3], &rec[4], &rec[5], &rec[6], &rec[7], &gen, &line); err != nil {
			return err
		}
		rec[2], rec[8], rec[9] = strconv.FormatInt(amount, 10), strconv.Itoa(gen), strconv.FormatInt(line, 10)
		for _, i := range []int{0, 1, 5, 6, 7} {
			rec[i] = SafeCell(rec[i])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}
