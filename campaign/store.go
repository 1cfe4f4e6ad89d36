package campaign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrNoCampaign is returned for a campaign id the database does not hold.
var ErrNoCampaign = errors.New("campaign: no such campaign")

// Money is a number of rows and their amount in fen.
type Money struct {
	Rows int64 `json:"rows"`
	Fen  int64 `json:"fen"`
}

// Campaign states reported by Summary.State.
const (
	StateRunning = "running" // a run process is alive (heartbeat) and the campaign is not paused
	StatePaused  = "paused"  // paused by the operator or by a merchant-wide stop; see PauseReason
	StateDone    = "done"    // every row PAID or FAILED
	StateIdle    = "idle"    // rows left, no run process alive
)

// Pause kinds.
const (
	PauseOperator = "operator" // Pause was called (or a row may be paid twice); a running run waits for Resume
	PauseMerchant = "merchant" // a merchant-wide stop (NOTENOUGH, CA_ERROR, ...); run exits 5, the next run resumes
)

// Summary is a campaign's state and money, by row status. Paid includes
// the rows whose last gethbinfo status says received or refunded (Received
// and Refunded count those again). Unknown includes Pending.
type Summary struct {
	ID       string `json:"id"`
	Rows     int64  `json:"rows"`
	TotalFen int64  `json:"total_fen"`

	Planned  Money `json:"planned"`  // status PLANNED: not sent in this generation
	Paid     Money `json:"paid"`     // status PAID
	Received Money `json:"received"` // PAID and gethbinfo said RECEIVED
	Refunded Money `json:"refunded"` // PAID and gethbinfo said RFUND_ING or REFUND
	Failed   Money `json:"failed"`   // status FAILED
	Unknown  Money `json:"unknown"`  // status UNKNOWN (sent, outcome not known yet)
	Pending  Money `json:"pending"`  // UNKNOWN rows whose last answer was PROCESSING or SENDING
	Conflict Money `json:"conflict"` // status CONFLICT: held, the bill belongs to another payment
	Queued   Money `json:"queued"`   // PLANNED or UNKNOWN rows due for their next step now

	State       string    `json:"state"`
	PauseKind   string    `json:"pause_kind,omitempty"`
	PauseReason string    `json:"pause_reason,omitempty"`
	PausedAt    time.Time `json:"paused_at,omitzero"`

	// SendRate is sends and queries a second over the last minute.
	SendRate float64 `json:"send_rate"`
	// ETA is how long the unsettled rows take at SendRate; 0 when done or
	// when nothing was sent in the last minute.
	ETA     time.Duration `json:"eta_ns"`
	Workers int           `json:"workers"` // live run processes (heartbeat within HeartbeatTimeout)

	CreatedAt time.Time `json:"created_at"`
}

// HeartbeatTimeout is how old a worker's heartbeat may be before it counts
// as gone.
const HeartbeatTimeout = 10 * time.Second

// List returns the summaries of every campaign in the database, by id.
func (db *DB) List(ctx context.Context) ([]Summary, error) {
	rows, err := db.sql.QueryContext(ctx, "SELECT id FROM redpack_campaigns ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("campaign: list: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("campaign: list: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("campaign: list: %w", err)
	}
	out := make([]Summary, 0, len(ids))
	for _, id := range ids {
		s, err := db.Summary(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, nil
}

// Summary returns one campaign's summary; ErrNoCampaign when absent.
func (db *DB) Summary(ctx context.Context, id string) (*Summary, error) {
	c, err := db.campaign(ctx, db.sql, id)
	if err != nil {
		return nil, err
	}
	s := &Summary{ID: id, Rows: c.rowCount, TotalFen: c.totalFen, CreatedAt: time.UnixMicro(c.createdAt).UTC()}
	now := nowMicros()
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT status, pending, wx_status, CASE WHEN next_at <= ? THEN 1 ELSE 0 END, COUNT(*), COALESCE(SUM(amount), 0)
		FROM redpack_rows WHERE campaign_id = ? GROUP BY 1, 2, 3, 4`), now, id)
	if err != nil {
		return nil, fmt.Errorf("campaign %s: summary: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var status, wx string
		var pending int
		var due int
		var m Money
		if err := rows.Scan(&status, &pending, &wx, &due, &m.Rows, &m.Fen); err != nil {
			return nil, fmt.Errorf("campaign %s: summary: %w", id, err)
		}
		add := func(dst *Money) { dst.Rows += m.Rows; dst.Fen += m.Fen }
		switch status {
		case StatusPlanned:
			add(&s.Planned)
		case StatusPaid:
			add(&s.Paid)
			switch wx {
			case "RECEIVED":
				add(&s.Received)
			case "RFUND_ING", "REFUND":
				add(&s.Refunded)
			}
		case StatusFailed:
			add(&s.Failed)
		case StatusConflict:
			add(&s.Conflict)
		case StatusUnknown:
			add(&s.Unknown)
			if pending != 0 {
				add(&s.Pending)
			}
		}
		if (status == StatusPlanned || status == StatusUnknown) && due != 0 {
			add(&s.Queued)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("campaign %s: summary: %w", id, err)
	}
	rows.Close()

	var recent int64
	if err := db.sql.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM redpack_attempts WHERE campaign_id = ? AND started_at > ?`),
		id, now-int64(time.Minute/time.Microsecond)).Scan(&recent); err != nil {
		return nil, fmt.Errorf("campaign %s: summary: %w", id, err)
	}
	s.SendRate = float64(recent) / 60
	var workers int
	if err := db.sql.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM redpack_workers WHERE campaign_id = ? AND stopped_at = 0 AND heartbeat_at > ?`),
		id, now-HeartbeatTimeout.Microseconds()).Scan(&workers); err != nil {
		return nil, fmt.Errorf("campaign %s: summary: %w", id, err)
	}
	s.Workers = workers
	open := s.Planned.Rows + s.Unknown.Rows + s.Conflict.Rows
	switch {
	case c.paused:
		s.State, s.PauseKind, s.PauseReason = StatePaused, c.pauseKind, c.pauseReason
		s.PausedAt = time.UnixMicro(c.pausedAt).UTC()
	case open == 0:
		s.State = StateDone
	case workers > 0:
		s.State = StateRunning
	default:
		s.State = StateIdle
	}
	if open > 0 && s.SendRate > 0 {
		s.ETA = time.Duration(float64(open) / s.SendRate * float64(time.Second)).Round(time.Second)
	}
	return s, nil
}

// FailureGroup is the FAILED rows sharing one err_code, with what to do.
type FailureGroup struct {
	ErrCode string `json:"err_code"`
	Rows    int64  `json:"rows"`
	Fen     int64  `json:"fen"`
	// Retryable counts the rows known not to have paid (a FINAL answer with
	// no earlier unknown attempt, or a FAILED record): retry gives them a
	// new bill number. The others need verify first.
	Retryable int64  `json:"retryable"`
	Advice    string `json:"advice"`
}

// Failures returns the campaign's FAILED rows grouped by err_code, largest
// group first.
func (db *DB) Failures(ctx context.Context, id string) ([]FailureGroup, error) {
	if _, err := db.campaign(ctx, db.sql, id); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT err_code, COUNT(*), COALESCE(SUM(amount), 0),
		COALESCE(SUM(CASE WHEN unknown_seen = 0 OR wx_status = 'FAILED' THEN 1 ELSE 0 END), 0)
		FROM redpack_rows WHERE campaign_id = ? AND status = ? GROUP BY err_code ORDER BY COUNT(*) DESC, err_code`), id, StatusFailed)
	if err != nil {
		return nil, fmt.Errorf("campaign %s: failures: %w", id, err)
	}
	defer rows.Close()
	var out []FailureGroup
	for rows.Next() {
		var g FailureGroup
		if err := rows.Scan(&g.ErrCode, &g.Rows, &g.Fen, &g.Retryable); err != nil {
			return nil, fmt.Errorf("campaign %s: failures: %w", id, err)
		}
		g.Advice = Advice(g.ErrCode)
		out = append(out, g)
	}
	return out, rows.Err()
}

// Advice says what an operator does about rows that failed with code.
func Advice(code string) string {
	switch code {
	case "SENDNUM_LIMIT":
		return "the user reached today's packet count: raise the per-user daily count in API security settings, or retry tomorrow: redpack campaign retry -codes SENDNUM_LIMIT"
	case "RCVDAMOUNT_LIMIT":
		return "the user reached today's received amount: raise the per-user daily cap, or retry tomorrow: redpack campaign retry -codes RCVDAMOUNT_LIMIT"
	case "NO_AUTH":
		return "blocked by WeChat Pay risk control: ask the user to check the account or use another openid; a retry will likely fail again"
	case "MONEY_LIMIT":
		return "amount outside the allowed range (default 1-200 yuan): configure a scene in product settings, then retry -codes MONEY_LIMIT"
	case "SEND_FAILED":
		return "this bill number failed at WeChat Pay: retry gives the row a new bill number"
	case "DAY_OVER_LIMITED":
		return "the merchant's daily packet count is used up: run again tomorrow (the bill is queried first; once its record is FAILED the row gets a new bill)"
	case "NOTENOUGH":
		return "the merchant balance ran out: top up, then run again (the bill is queried first; once its record is FAILED the row gets a new bill)"
	case "SENDAMOUNT_LIMIT":
		return "the merchant's sending cap was reached: raise it, then run again (the bill is queried first; once its record is FAILED the row gets a new bill)"
	case "FATAL_ERROR", "RECORD_MISMATCH":
		return "held (status CONFLICT): the bill number belongs to another payment; find out why, then redpack campaign retry -codes FATAL_ERROR gives the row a new bill"
	case "OPENID_ERROR":
		return "the openid does not belong to the appid: fix the input row (plan it under a new key)"
	case "PARAM_ERROR", "XML_ERROR", "MSGAPPID_ERROR", "ACCEPTMODE_ERROR":
		return "the request was refused: fix the row's fields or the merchant configuration"
	}
	return "see the err_code in the WeChat Pay documentation; run verify before retrying"
}

// Row is one campaign row.
type Row struct {
	Campaign    string    `json:"campaign"`
	Seq         int64     `json:"seq"`
	Key         string    `json:"key"`
	Line        int64     `json:"line"`
	OpenID      string    `json:"openid"`
	Amount      int64     `json:"amount"`
	Generation  int       `json:"generation"`
	BillNo      string    `json:"bill_no"`
	Status      string    `json:"status"`
	Pending     bool      `json:"pending"`
	UnknownSeen bool      `json:"unknown_seen"`
	SendListID  string    `json:"send_listid"`
	ErrCode     string    `json:"err_code"`
	WxStatus    string    `json:"wx_status"`
	NextAt      time.Time `json:"next_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Attempt is one send or query of a row, written before the request went
// out. FinishedAt zero means no answer was recorded: the request was in
// flight, or the process died (an unknown outcome).
type Attempt struct {
	N          int       `json:"n"`
	Kind       string    `json:"kind"` // "send" or "query"
	BillNo     string    `json:"bill_no"`
	Generation int       `json:"generation"`
	Worker     string    `json:"worker"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Outcome    string    `json:"outcome"` // OK, UNKNOWN, PENDING, CONFLICT, FINAL, REJECTED, NOT_SENT; "" without answer
	ErrCode    string    `json:"err_code"`
	WxStatus   string    `json:"wx_status"` // query: the record's status
	SendListID string    `json:"send_listid"`
	Detail     string    `json:"detail"`
}

// RowHistory is a row with every attempt (sends with their answers, and
// queries), oldest first.
type RowHistory struct {
	Row      Row       `json:"row"`
	Attempts []Attempt `json:"attempts"`
}

// FindLimit bounds how many rows Find returns.
const FindLimit = 100

// Find returns the rows whose key, openid or bill number (any generation's)
// equals query, each with its whole history.
func (db *DB) Find(ctx context.Context, id, query string) ([]RowHistory, error) {
	if _, err := db.campaign(ctx, db.sql, id); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT `+rowColumns+` FROM redpack_rows WHERE campaign_id = ? AND
		(row_key = ? OR openid = ? OR bill_no = ? OR seq IN (SELECT seq FROM redpack_attempts WHERE campaign_id = ? AND bill_no = ?))
		ORDER BY seq LIMIT ?`), id, query, query, query, id, query, FindLimit)
	if err != nil {
		return nil, fmt.Errorf("campaign %s: find: %w", id, err)
	}
	var out []RowHistory
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("campaign %s: find: %w", id, err)
		}
		out = append(out, RowHistory{Row: r})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("campaign %s: find: %w", id, err)
	}
	for i := range out {
		if out[i].Attempts, err = db.attempts(ctx, id, out[i].Row.Seq); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (db *DB) attempts(ctx context.Context, id string, seq int64) ([]Attempt, error) {
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT n, kind, bill_no, generation, worker, started_at, finished_at,
		outcome, err_code, wx_status, send_listid, detail FROM redpack_attempts WHERE campaign_id = ? AND seq = ? ORDER BY n`), id, seq)
	if err != nil {
		return nil, fmt.Errorf("campaign %s: attempts: %w", id, err)
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		var a Attempt
		var started int64
		var finished sql.NullInt64
		if err := rows.Scan(&a.N, &a.Kind, &a.BillNo, &a.Generation, &a.Worker, &started, &finished,
			&a.Outcome, &a.ErrCode, &a.WxStatus, &a.SendListID, &a.Detail); err != nil {
			return nil, fmt.Errorf("campaign %s: attempts: %w", id, err)
		}
		a.StartedAt = time.UnixMicro(started).UTC()
		if finished.Valid {
			a.FinishedAt = time.UnixMicro(finished.Int64).UTC()
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

const rowColumns = `campaign_id, seq, row_key, line, openid, amount, generation, bill_no, status, pending, unknown_seen,
	send_listid, err_code, wx_status, next_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanRow(s scanner) (Row, error) {
	var r Row
	var pending, unknown int
	var next, updated int64
	err := s.Scan(&r.Campaign, &r.Seq, &r.Key, &r.Line, &r.OpenID, &r.Amount, &r.Generation, &r.BillNo, &r.Status,
		&pending, &unknown, &r.SendListID, &r.ErrCode, &r.WxStatus, &next, &updated)
	r.Pending, r.UnknownSeen = pending != 0, unknown != 0
	if next > 0 {
		r.NextAt = time.UnixMicro(next).UTC()
	}
	r.UpdatedAt = time.UnixMicro(updated).UTC()
	return r, err
}

// Pause pauses the campaign for the operator: run processes stop starting
// sends within a second (they read the flag from the database) and wait,
// without exiting, until Resume. Sends already on the wire finish and are
// recorded.
func (db *DB) Pause(ctx context.Context, id string) error {
	return db.setPause(ctx, db.sql, id, PauseOperator, "paused by the operator")
}

// Resume clears any pause (the operator's or a merchant-wide stop's): run
// processes that wait go on sending.
func (db *DB) Resume(ctx context.Context, id string) error {
	res, err := db.sql.ExecContext(ctx, db.q(`UPDATE redpack_campaigns SET paused = 0, pause_kind = '', pause_reason = '', paused_at = 0, updated_at = ? WHERE id = ?`),
		nowMicros(), id)
	return checkUpdate(id, "resume", res, err)
}

func (db *DB) setPause(ctx context.Context, x execer, id, kind, reason string) error {
	now := nowMicros()
	res, err := x.ExecContext(ctx, db.q(`UPDATE redpack_campaigns SET paused = 1, pause_kind = ?, pause_reason = ?, paused_at = ?, updated_at = ? WHERE id = ?`),
		kind, truncate(reason, 1000), now, now, id)
	return checkUpdate(id, "pause", res, err)
}

func checkUpdate(id, op string, res sql.Result, err error) error {
	if err != nil {
		return fmt.Errorf("campaign %s: %s: %w", id, op, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("campaign %s: %s: %w", id, op, ErrNoCampaign)
	}
	return nil
}

// campaignRow is a redpack_campaigns row.
type campaignRow struct {
	id, uid, mchID, appID              string
	sendName, wishing, actName, remark string
	sliceSize                          int
	rowCount, totalFen                 int64
	paused                             bool
	pauseKind, pauseReason             string
	pausedAt, createdAt                int64
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) campaign(ctx context.Context, x querier, id string) (*campaignRow, error) {
	var c campaignRow
	var paused int
	err := x.QueryRowContext(ctx, db.q(`SELECT id, uid, mch_id, app_id, send_name, wishing, act_name, remark, slice_size,
		row_count, total_fen, paused, pause_kind, pause_reason, paused_at, created_at FROM redpack_campaigns WHERE id = ?`), id).
		Scan(&c.id, &c.uid, &c.mchID, &c.appID, &c.sendName, &c.wishing, &c.actName, &c.remark, &c.sliceSize,
			&c.rowCount, &c.totalFen, &paused, &c.pauseKind, &c.pauseReason, &c.pausedAt, &c.createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("campaign %s: %w", id, ErrNoCampaign)
	}
	if err != nil {
		return nil, fmt.Errorf("campaign %s: %w", id, err)
	}
	c.paused = paused != 0
	return &c, nil
}

// AttemptOutcomes counts the campaign's attempts by kind and outcome
// ("send OK", "send UNKNOWN", "query PENDING", ...; an attempt without an
// answer counts as "send NONE"), for metrics.
func (db *DB) AttemptOutcomes(ctx context.Context, id string) (map[string]int64, error) {
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT kind, CASE WHEN finished_at IS NULL THEN 'NONE' ELSE outcome END, COUNT(*)
		FROM redpack_attempts WHERE campaign_id = ? GROUP BY 1, 2`), id)
	if err != nil {
		return nil, fmt.Errorf("campaign %s: attempts: %w", id, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var kind, outcome string
		var n int64
		if err := rows.Scan(&kind, &outcome, &n); err != nil {
			return nil, err
		}
		out[kind+" "+outcome] += n
	}
	return out, rows.Err()
}
