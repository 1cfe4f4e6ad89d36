package campaign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/redpack-go/redpack"
	"hash"
	"io"
	"strings"
)

// PlanOptions configures Plan.
type PlanOptions struct {
	ID    string // campaign id: 1 to 64 of [0-9A-Za-z_.-]
	MchID string // the merchant; goes into every bill number
	AppID string
	// Defaults of the text fields for rows whose column is empty.
	SendName, Wishing, ActName, Remark string
	// MaxTotal refuses a plan whose rows add up to more fen; 0 = no bound.
	MaxTotal int64
	// SliceSize is the number of rows per River job (default
	// DefaultSliceSize); fixed when the campaign is created.
	SliceSize int
	// Confirm, if set, sees the summary before anything is stored; an error
	// stops the plan with nothing stored.
	Confirm func(*PlanSummary) error
	// Progress, if set, is called every 10,000 rows of each pass with the
	// rows read so far in that pass.
	Progress func(rows int64)
}

// DefaultSliceSize is how many rows one River job covers.
const DefaultSliceSize = 50

// PlanSummary describes a plan's input.
type PlanSummary struct {
	Rows     int64 `json:"rows"`
	TotalFen int64 `json:"total_fen"`
	MaxFen   int64 `json:"max_fen"`
	MaxLine  int   `json:"max_line"`
	// RepeatedOpenIDs lists openids on more than one row (at most 20), with
	// their row counts; RepeatedCount is how many such openids there are.
	RepeatedOpenIDs map[string]int `json:"repeated_openids"`
	RepeatedCount   int            `json:"repeated_count"`
	// Added is how many rows were new (0 when the file was planned before);
	// Existing how many were already in the campaign, unchanged.
	Added    int64 `json:"added"`
	Existing int64 `json:"existing"`
}

// ErrMaxTotal is returned (wrapped) when a plan's total exceeds MaxTotal.
var ErrMaxTotal = errors.New("campaign: total over -max-total")

func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !(b >= '0' && b <= '9' || b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b == '_' || b == '-' || b == '.') {
			return false
		}
	}
	return true
}

// Plan validates the input (read twice through open: once to check every
// row, once to store) and stores its rows into campaign opts.ID, creating
// it when new. Every problem is reported at once in a *PlanError, and then
// nothing is stored. Each row's bill number is fixed here. Planning the same
// file again adds nothing; an existing key with a different openid or
// amount is a problem.
func (db *DB) Plan(ctx context.Context, opts PlanOptions, open func() (io.ReadCloser, error)) (*PlanSummary, error) {
	if !validID(opts.ID) {
		return nil, fmt.Errorf("campaign: id %q: want 1 to 64 of [0-9A-Za-z_.-]", opts.ID)
	}
	if opts.MchID == "" || opts.AppID == "" {
		return nil, errors.New("campaign: plan needs the merchant's mch_id and appid")
	}
	if opts.SliceSize <= 0 {
		opts.SliceSize = DefaultSliceSize
	}
	perr := &PlanError{}
	for _, d := range []struct {
		flag, v string
		max     int
	}{{"-send-name", opts.SendName, maxSendName}, {"-wishing", opts.Wishing, maxWishing}, {"-act-name", opts.ActName, maxActName}, {"-remark", opts.Remark, maxRemark}} {
		if d.v != "" {
			if msg := checkText(d.v, d.max); msg != "" {
				perr.add(Problem{Column: d.flag, Msg: msg})
			}
		}
	}
	if len(perr.Problems) > 0 {
		return nil, perr
	}
	fill := func(r *InputRow) {
		r.SendName = cmpOr(r.SendName, opts.SendName)
		r.Wishing = cmpOr(r.Wishing, opts.Wishing)
		r.ActName = cmpOr(r.ActName, opts.ActName)
		r.Remark = cmpOr(r.Remark, opts.Remark)
	}

	// Pass 1: check everything, sum up.
	sum := &PlanSummary{RepeatedOpenIDs: map[string]int{}}
	openids := map[[16]byte]int32{}
	f, err := open()
	if err != nil {
		return nil, err
	}
	digest1 := sha256.New()
	// probe stands in for the row's bill number (fixed in pass 2) when the
	// SDK checks the row: it has the same format.
	probe, err := deriveBillNo(opts.MchID, "plan probe")
	if err != nil {
		return nil, fmt.Errorf("campaign: mch_id: %w", err)
	}
	err = ParseCSV(f, func(r InputRow) error {
		fill(&r)
		digestRow(digest1, r)
		complete := true
		for _, t := range []struct{ col, v string }{{"send_name", r.SendName}, {"wishing", r.Wishing}, {"act_name", r.ActName}, {"remark", r.Remark}} {
			if t.v == "" {
				complete = false
				perr.add(Problem{Line: r.Line, Column: t.col, Msg: "required: give the column or -" + strings.ReplaceAll(t.col, "_", "-")})
			}
		}
		if complete {
			// The SDK's own rules are the authority: the CSV checks
			// above only word the common problems in CSV terms.
			sdkCheck(perr, r, probe)
		}
		sum.Rows++
		sum.TotalFen += r.Amount
		if r.Amount > sum.MaxFen {
			sum.MaxFen, sum.MaxLine = r.Amount, r.Line
		}
		openids[keyHash(r.OpenID)]++
		if opts.Progress != nil && sum.Rows%10000 == 0 {
			opts.Progress(sum.Rows)
		}
		return ctx.Err()
	})
	f.Close()
	var csvErr *PlanError
	switch {
	case errors.As(err, &csvErr):
		for _, p := range perr.Problems {
			csvErr.add(p)
		}
		csvErr.More += perr.More
		return nil, csvErr
	case err != nil:
		return nil, err
	case len(perr.Problems) > 0:
		return nil, perr
	}
	for _, n := range openids {
		if n > 1 {
			sum.RepeatedCount++
		}
	}
	if opts.MaxTotal > 0 && sum.TotalFen > opts.MaxTotal {
		return sum, fmt.Errorf("%w: the rows add up to %s yuan, -max-total is %s yuan; nothing stored", ErrMaxTotal, Yuan(sum.TotalFen), Yuan(opts.MaxTotal))
	}

	// Pass 2: store, in one transaction.
	var planErr *PlanError
	err = db.tx(ctx, func(tx *sql.Tx) error {
		sum.Added, sum.Existing = 0, 0
		clear(sum.RepeatedOpenIDs)
		c, err := db.campaign(ctx, tx, opts.ID)
		now := nowMicros()
		fresh := false
		switch {
		case errors.Is(err, ErrNoCampaign):
			uid, err := newUID()
			if err != nil {
				return err
			}
			c = &campaignRow{id: opts.ID, uid: uid, mchID: opts.MchID, appID: opts.AppID, sliceSize: opts.SliceSize}
			if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO redpack_campaigns (id, uid, mch_id, app_id, send_name, wishing, act_name, remark,
				slice_size, row_count, total_fen, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)`),
				c.id, c.uid, c.mchID, c.appID, opts.SendName, opts.Wishing, opts.ActName, opts.Remark, c.sliceSize, now, now); err != nil {
				return err
			}
			fresh = true
		case err != nil:
			return err
		case c.mchID != opts.MchID:
			return fmt.Errorf("campaign %s belongs to merchant %s, not %s", opts.ID, c.mchID, opts.MchID)
		}
		var seq int64
		if err := tx.QueryRowContext(ctx, db.q(`SELECT COALESCE(MAX(seq), 0) FROM redpack_rows WHERE campaign_id = ?`), opts.ID).Scan(&seq); err != nil {
			return err
		}
		ins := &rowInserter{db: db, tx: tx, now: now}
		perr := &PlanError{}
		f, err := open()
		if err != nil {
			return err
		}
		defer f.Close()
		digest2 := sha256.New()
		var rows2, fen2 int64
		err = ParseCSV(f, func(r InputRow) error {
			fill(&r)
			digestRow(digest2, r)
			rows2++
			fen2 += r.Amount
			if n := openids[keyHash(r.OpenID)]; n > 1 && len(sum.RepeatedOpenIDs) < 20 {
				sum.RepeatedOpenIDs[r.OpenID] = int(n)
			}
			if !fresh {
				var openid string
				var amount int64
				err := tx.QueryRowContext(ctx, db.q(`SELECT openid, amount FROM redpack_rows WHERE campaign_id = ? AND row_key = ?`), opts.ID, r.Key).Scan(&openid, &amount)
				switch {
				case err == nil:
					if openid != r.OpenID || amount != r.Amount {
						perr.add(Problem{Line: r.Line, Column: "key", Msg: fmt.Sprintf("key %q is already planned with openid %s and amount %d fen; a changed openid or amount is refused (plan it under a new key)", r.Key, openid, amount)})
					} else {
						sum.Existing++
					}
					return nil
				case !errors.Is(err, sql.ErrNoRows):
					return err
				}
			}
			seq++
			if opts.Progress != nil && (sum.Added+sum.Existing)%10000 == 0 {
				opts.Progress(sum.Added + sum.Existing)
			}
			bill, err := deriveBillNo(c.mchID, billRef(c.uid, r.Key, 0))
			if err != nil {
				return err
			}
			sum.Added++
			return ins.add(ctx, opts.ID, seq, r, bill)
		})
		if err != nil {
			if errors.As(err, &planErr) {
				return err
			}
			return err
		}
		if rows2 != sum.Rows || fen2 != sum.TotalFen || !bytes.Equal(digest1.Sum(nil), digest2.Sum(nil)) {
			// What pass 1 checked (-max-total, the summary, the required
			// texts) is not what pass 2 read.
			return fmt.Errorf("%w: read %d rows (%s yuan) to check, then %d rows (%s yuan) to store; nothing stored", ErrInputChanged, sum.Rows, Yuan(sum.TotalFen), rows2, Yuan(fen2))
		}
		if err := ins.flush(ctx); err != nil {
			return err
		}
		if len(perr.Problems) > 0 {
			planErr = perr
			return perr
		}
		if opts.Confirm != nil {
			if err := opts.Confirm(sum); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, db.q(`UPDATE redpack_campaigns SET row_count = (SELECT COUNT(*) FROM redpack_rows WHERE campaign_id = ?),
			total_fen = (SELECT COALESCE(SUM(amount), 0) FROM redpack_rows WHERE campaign_id = ?), updated_at = ? WHERE id = ?`), opts.ID, opts.ID, now, opts.ID)
		return err
	})
	if err != nil {
		return sum, err
	}
	return sum, nil
}

// ErrInputChanged: the input file changed between Plan's two reads (a
// spreadsheet export still being written, a file replaced).
var ErrInputChanged = errors.New("campaign: the input changed while planning")

// digestRow adds one resolved row to the digest that proves both passes of
// Plan read the same rows.
func digestRow(h hash.Hash, r InputRow) {
	var b [8]byte
	for _, v := range []string{r.Key, r.OpenID, r.SendName, r.Wishing, r.ActName, r.Remark} {
		binary.BigEndian.PutUint64(b[:], uint64(len(v)))
		h.Write(b[:])
		io.WriteString(h, v)
	}
	binary.BigEndian.PutUint64(b[:], uint64(r.Amount))
	h.Write(b[:])
	binary.BigEndian.PutUint64(b[:], uint64(r.Line))
	h.Write(b[:])
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// rowInserter inserts rows in multi-row statements.
type rowInserter struct {
	db   *DB
	tx   *sql.Tx
	now  int64
	args []any
	n    int
}

const insertBatch = 200

func (ins *rowInserter) add(ctx context.Context, id string, seq int64, r InputRow, bill string) error {
	ins.args = append(ins.args, id, seq, r.Key, r.Line, r.OpenID, r.Amount, r.SendName, r.Wishing, r.ActName, r.Remark, bill, StatusPlanned, ins.now)
	ins.n++
	if ins.n >= insertBatch {
		return ins.flush(ctx)
	}
	return nil
}

func (ins *rowInserter) flush(ctx context.Context) error {
	if ins.n == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO redpack_rows (campaign_id, seq, row_key, line, openid, amount, send_name, wishing, act_name, remark, bill_no, status, updated_at) VALUES `)
	for i := range ins.n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	_, err := ins.tx.ExecContext(ctx, ins.db.q(b.String()), ins.args...)
	ins.args, ins.n = ins.args[:0], 0
	return err
}

// Yuan formats fen as yuan with two decimals.
func Yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// sdkCheck validates the row as the Send it will become, with the SDK's
// rules (redpack.SendRequest.Validate), and reports each invalid field on
// the row's line under its CSV column name.
func sdkCheck(perr *PlanError, r InputRow, billNo string) {
	req := redpack.SendRequest{Packet: redpack.Packet{BillNo: billNo, OpenID: r.OpenID, Amount: r.Amount,
		SendName: r.SendName, Wishing: r.Wishing, ActName: r.ActName, Remark: r.Remark}}
	var ve *redpack.ValidationError
	if err := req.Validate(); errors.As(err, &ve) {
		for _, f := range ve.Fields {
			col := f.Field
			switch col {
			case "re_openid":
				col = "openid"
			case "total_amount":
				col = "amount"
			}
			perr.add(Problem{Line: r.Line, Column: col, Msg: f.Reason})
		}
	}
}
