package campaign

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redpack-go/redpack"
	"github.com/riverqueue/river"
)

// Backoff is how long an unsettled row waits before its next step (a
// re-send of the same bill number, or a query): First after the first
// unknown answer, doubling up to Max. SPEC §3: start at seconds, grow to the
// 20 minutes the official text names.
type Backoff struct {
	First time.Duration // default 2 s
	Max   time.Duration // default 20 min
	// NotSent is the wait after a request that never left the client
	// (default 1 s, WeChat Pay's minimum retry interval).
	NotSent time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.First <= 0 {
		b.First = 2 * time.Second
	}
	if b.Max <= 0 {
		b.Max = 20 * time.Minute
	}
	if b.Max < b.First {
		b.Max = b.First
	}
	if b.NotSent <= 0 {
		b.NotSent = time.Second
	}
	return b
}

func (b Backoff) after(tries int) time.Duration {
	d := b.First
	for i := 1; i < tries && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// RunOptions configures Run.
type RunOptions struct {
	// Client sends and queries; its merchant must be the campaign's. Give
	// it a retry policy of one attempt (the campaign retries, on its own
	// back-off, with every attempt recorded) and WithRateLimit for the
	// process.
	Client *redpack.Client
	// Rate is the campaign's total of requests a second over every worker
	// (DefaultRate); negative means no limit.
	Rate float64
	// Concurrency bounds the slices this process works at once
	// (DefaultConcurrency).
	Concurrency int
	// Jitter is the rate limiter's allowance for the spread of delays
	// between a request's slot and its arrival at WeChat Pay (default
	// DefaultJitter): the limiter schedules (Rate − 1) / (1 + Jitter)
	// requests a second. See limiter.go.
	Jitter  time.Duration
	Backoff Backoff
	// Progress, if set, is called every ProgressEvery (default 1 s) with
	// the summary (a summary reads every row: on a large campaign call it
	// less often).
	Progress      func(*Summary)
	ProgressEvery time.Duration
	// Logger receives warnings (default: discard).
	Logger *slog.Logger
	// WorkerID names this process in the database (default host-pid-random).
	WorkerID string
}

// Defaults of RunOptions.
const (
	DefaultRate        = 30
	DefaultConcurrency = 8
)

// River settings. A job works one slice for at most passBudget, then
// snoozes; JobTimeout bounds a job (and cancels its context, so no request
// of a timed-out job is still in flight after it); a row's lease outlives
// that; River rescues a job left running by a dead process after
// RescueStuckJobsAfter (its rescuer looks every 30 s).
const (
	passBudget           = 3 * time.Second
	jobTimeout           = 12 * time.Second
	rescueStuckJobsAfter = 15 * time.Second
	rowLease             = 20 * time.Second
	heartbeatEvery       = 2 * time.Second
	reapEvery            = 5 * time.Second
	reenqueueEvery       = 20 * time.Second
)

// RunResult says how Run ended.
type RunResult struct {
	Done        bool   // every row PAID or FAILED
	PauseReason string // a merchant-wide stop paused the campaign
	Summary     *Summary
}

// ErrLocked is returned when another run process holds a SQLite file.
var ErrLocked = errors.New("campaign: another `redpack campaign run` is working on this database file")

// Run works the campaign until every row is PAID or FAILED, a merchant-wide
// stop pauses it (RunResult.PauseReason), or ctx ends (a clean stop: sends on
// the wire finish and are recorded). An operator pause (DB.Pause) makes it
// wait without exiting. Several processes may Run one campaign on Postgres;
// on SQLite a second process gets ErrLocked.
func (db *DB) Run(ctx context.Context, id string, opts RunOptions) (*RunResult, error) {
	if opts.Client == nil {
		return nil, errors.New("campaign: RunOptions.Client is required")
	}
	c, err := db.campaign(ctx, db.sql, id)
	if err != nil {
		return nil, err
	}
	if opts.Client.MchID() != c.mchID || opts.Client.AppID() != c.appID {
		return nil, fmt.Errorf("campaign %s was planned for merchant %s appid %s; the client is %s appid %s", id, c.mchID, c.appID, opts.Client.MchID(), opts.Client.AppID())
	}
	if opts.Rate == 0 {
		opts.Rate = DefaultRate
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	opts.Backoff = opts.Backoff.withDefaults()
	if opts.WorkerID == "" {
		host, _ := os.Hostname()
		uid, _ := newUID()
		opts.WorkerID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), uid[:6])
	}

	if db.dialect == dialectSQLite {
		unlock, err := lockFile(db.dsn + ".lock")
		if err != nil {
			return nil, err
		}
		defer unlock()
	}

	r := &runner{db: db, c: c, opts: opts, limiter: newDBLimiter(db, id, opts.Rate, opts.Jitter), worker: opts.WorkerID}
	if c.paused && c.pauseKind == PauseMerchant {
		// The operator ran us again after fixing the cause.
		if err := db.Resume(ctx, id); err != nil {
			return nil, err
		}
	}
	// An operator pause holds from the first job on, not from the first
	// supervise tick.
	r.paused.Store(c.paused && c.pauseKind == PauseOperator)
	if d, err := db.clockSkew(ctx); err == nil {
		r.skew.Store(d)
	}
	if err := r.register(ctx); err != nil {
		return nil, err
	}
	defer r.unregister()
	beatCtx, stopBeat := context.WithCancel(ctx)
	beatDone := make(chan struct{})
	go func() { defer close(beatDone); r.heartbeat(beatCtx) }()
	defer func() { stopBeat(); <-beatDone }()
	if db.dialect == dialectSQLite {
		// We hold the file: every lease and every running job is an orphan
		// of a process that died. Hand them back at once.
		if err := r.recoverAll(ctx); err != nil {
			return nil, err
		}
	} else {
		r.reap(ctx)
	}
	eng, err := db.newEngine(r)
	if err != nil {
		return nil, err
	}
	r.eng = eng
	if db.dialect == dialectSQLite {
		if _, err := eng.rescueRunning(ctx, r.queue(), nil); err != nil {
			return nil, err
		}
	}
	if err := r.enqueue(ctx); err != nil {
		return nil, err
	}
	if err := eng.start(ctx); err != nil {
		return nil, err
	}
	res, err := r.supervise(ctx)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*jobTimeout)
	r.stopping.Store(true)
	eng.stop(stopCtx)
	cancel()
	if err == nil {
		res.Summary, _ = db.Summary(context.WithoutCancel(ctx), id)
	}
	return res, err
}

type runner struct {
	db      *DB
	c       *campaignRow
	opts    RunOptions
	limiter *dbLimiter
	worker  string
	eng     engine

	paused   atomic.Bool // the campaign is paused (any kind)
	stopping atomic.Bool // Run is ending: start no new request
	// skew is the database clock minus ours (µs), measured at every
	// heartbeat: leases, back-offs and heartbeats are on the database's
	// clock, so machines whose clocks differ agree on them (0 on SQLite).
	skew atomic.Int64
}

// now is the database clock, in Unix µs.
func (r *runner) now() int64 { return nowMicros() + r.skew.Load() }

// clockSkew measures the database clock minus ours (µs); 0 on SQLite (one
// machine).
func (db *DB) clockSkew(ctx context.Context) (int64, error) {
	if db.dialect != dialectPostgres {
		return 0, nil
	}
	t0 := nowMicros()
	var dbNow int64
	if err := db.sql.QueryRowContext(ctx, `SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT`).Scan(&dbNow); err != nil {
		return 0, err
	}
	t1 := nowMicros()
	return dbNow - (t0+t1)/2, nil
}

// heartbeat runs on its own ticker, so that a slow supervise loop (a
// summary, a re-enqueue) never makes a live worker look dead. A heartbeat
// that finds the worker reaped (stopped_at set by a survivor) registers it
// again: its leases are gone, its stale claims record nothing but an OK.
func (r *runner) heartbeat(ctx context.Context) {
	tick := time.NewTicker(heartbeatEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		r.beat(ctx)
	}
}

func (r *runner) beat(ctx context.Context) {
	if d, err := r.db.clockSkew(ctx); err == nil {
		r.skew.Store(d)
	}
	res, err := r.db.sql.ExecContext(ctx, r.db.q(`UPDATE redpack_workers SET heartbeat_at = ? WHERE id = ? AND stopped_at = 0`), r.now(), r.worker)
	if err != nil {
		return
	}
	if n, _ := res.RowsAffected(); n == 0 && ctx.Err() == nil {
		r.opts.Logger.Warn("this worker was reaped as dead (no heartbeat seen in time): registering again", "worker", r.worker)
		r.db.sql.ExecContext(ctx, r.db.q(`UPDATE redpack_workers SET stopped_at = 0, heartbeat_at = ? WHERE id = ?`), r.now(), r.worker) //nolint:errcheck
	}
}

func (r *runner) queue() string { return "campaign_" + r.c.uid }

func (r *runner) register(ctx context.Context) error {
	host, _ := os.Hostname()
	now := r.now()
	_, err := r.db.sql.ExecContext(ctx, r.db.q(`INSERT INTO redpack_workers (id, campaign_id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)`),
		r.worker, r.c.id, host, os.Getpid(), now, now)
	return err
}

func (r *runner) unregister() {
	r.db.sql.ExecContext(context.Background(), r.db.q(`UPDATE redpack_workers SET stopped_at = ? WHERE id = ?`), r.now(), r.worker) //nolint:errcheck
}

// recoverAll (SQLite, file lock held) frees every lease; the attempts
// nobody answered are closed as UNKNOWN when their row is next claimed.
func (r *runner) recoverAll(ctx context.Context) error {
	return r.db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, r.db.q(`UPDATE redpack_rows SET lease_owner = '', lease_until = 0 WHERE campaign_id = ? AND lease_owner <> ''`), r.c.id)
		return err
	})
}

// reap (Postgres) frees the leases of workers whose heartbeat stopped and
// hands their running jobs back to River, so survivors take over in seconds
// rather than waiting for River's rescuer (which stays the backstop).
func (r *runner) reap(ctx context.Context) {
	stale := r.now() - HeartbeatTimeout.Microseconds()
	rows, err := r.db.sql.QueryContext(ctx, r.db.q(`SELECT id FROM redpack_workers WHERE campaign_id = ? AND stopped_at = 0 AND heartbeat_at < ?`), r.c.id, stale)
	if err != nil {
		return
	}
	var dead []string
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			dead = append(dead, id)
		}
	}
	rows.Close()
	for _, w := range dead {
		res, err := r.db.sql.ExecContext(ctx, r.db.q(`UPDATE redpack_workers SET stopped_at = ? WHERE id = ? AND stopped_at = 0`), r.now(), w)
		if err != nil {
			continue
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // another survivor reaped it
		}
		res, err = r.db.sql.ExecContext(ctx, r.db.q(`UPDATE redpack_rows SET lease_owner = '', lease_until = 0 WHERE campaign_id = ? AND lease_owner = ?`), r.c.id, w)
		var freed int64
		if err == nil {
			freed, _ = res.RowsAffected()
		}
		var jobs int
		if r.eng != nil {
			jobs, err = r.eng.rescueRunning(ctx, r.queue(), func(attemptedBy []string) bool {
				return len(attemptedBy) > 0 && attemptedBy[len(attemptedBy)-1] == w
			})
		}
		r.opts.Logger.Warn("a worker stopped heartbeating: took over its rows", "worker", w, "rows", freed, "jobs", jobs, "err", err)
	}
}

// enqueue makes sure every slice with unsettled rows has a River job. River
// unique jobs skip slices whose job is still alive; a duplicate would be
// harmless anyway (rows are claimed in our tables).
func (r *runner) enqueue(ctx context.Context) error {
	rows, err := r.db.sql.QueryContext(ctx, r.db.q(`SELECT DISTINCT (seq - 1) / ? FROM redpack_rows WHERE campaign_id = ? AND status IN (?, ?) ORDER BY 1`),
		r.c.sliceSize, r.c.id, StatusPlanned, StatusUnknown)
	if err != nil {
		return err
	}
	var slices []int64
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		slices = append(slices, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for len(slices) > 0 {
		n := min(len(slices), 500)
		if err := r.eng.insert(ctx, r.queue(), r.c.id, slices[:n], true); err != nil {
			return err
		}
		slices = slices[n:]
	}
	return nil
}

// supervise watches the campaign until it is done, paused by a
// merchant-wide stop, or ctx ends.
func (r *runner) supervise(ctx context.Context) (*RunResult, error) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var lastReap, lastEnqueue, lastProgress, lastCount time.Time
	lastEnqueue = time.Now()
	for {
		select {
		case <-ctx.Done():
			return &RunResult{}, nil
		case <-tick.C:
		}
		now := time.Now()
		c, err := r.db.campaign(ctx, r.db.sql, r.c.id)
		if err != nil {
			if ctx.Err() != nil {
				return &RunResult{}, nil
			}
			r.opts.Logger.Warn("reading the campaign", "err", err)
			continue
		}
		r.paused.Store(c.paused)
		if c.paused && c.pauseKind == PauseMerchant {
			return &RunResult{PauseReason: c.pauseReason}, nil
		}
		if r.db.dialect == dialectPostgres && now.Sub(lastReap) >= reapEvery {
			lastReap = now
			r.reap(ctx)
		}
		if now.Sub(lastEnqueue) >= reenqueueEvery {
			lastEnqueue = now
			if err := r.enqueue(ctx); err != nil && ctx.Err() == nil {
				r.opts.Logger.Warn("re-enqueue", "err", err)
			}
		}
		if now.Sub(lastCount) >= time.Second {
			lastCount = now
			var open int64
			if err := r.db.sql.QueryRowContext(ctx, r.db.q(`SELECT COUNT(*) FROM redpack_rows WHERE campaign_id = ? AND status IN (?, ?)`),
				r.c.id, StatusPlanned, StatusUnknown).Scan(&open); err == nil && open == 0 {
				var held int64
				if err := r.db.sql.QueryRowContext(ctx, r.db.q(`SELECT COUNT(*) FROM redpack_rows WHERE campaign_id = ? AND status = ?`),
					r.c.id, StatusConflict).Scan(&held); err != nil {
					continue
				}
				if held > 0 {
					return &RunResult{PauseReason: fmt.Sprintf("CONFLICT: %d rows are held because their bill number belongs to another payment; find out why, then `retry -codes FATAL_ERROR`", held)}, nil
				}
				return &RunResult{Done: true}, nil
			}
		}
		if r.opts.Progress != nil && now.Sub(lastProgress) >= cmp.Or(r.opts.ProgressEvery, time.Second) {
			lastProgress = now
			if s, err := r.db.Summary(ctx, r.c.id); err == nil {
				r.opts.Progress(s)
			}
		}
	}
}

// sliceArgs is the River job: work the unsettled rows of one slice.
type sliceArgs struct {
	Campaign string `json:"campaign"`
	Slice    int64  `json:"slice"`
}

func (sliceArgs) Kind() string { return "redpack_campaign_slice" }

// workSlice is one River job run: step the due rows of the slice for up to
// passBudget, then complete (nothing left), or snooze until the earliest
// row is due.
func (r *runner) workSlice(ctx context.Context, a sliceArgs) error {
	deadline := time.Now().Add(passBudget)
	lo, hi := a.Slice*int64(r.c.sliceSize)+1, (a.Slice+1)*int64(r.c.sliceSize)
	for {
		if r.stopping.Load() || ctx.Err() != nil {
			return river.JobSnooze(0)
		}
		if r.paused.Load() {
			// Hold the job (and so the worker slot) while paused, so that
			// River does not cycle every job through fetch and snooze.
			for r.paused.Load() && !r.stopping.Load() && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			if r.paused.Load() || r.stopping.Load() {
				return river.JobSnooze(time.Second)
			}
		}
		now := r.now()
		rows, err := r.db.sql.QueryContext(ctx, r.db.q(`SELECT seq, next_at, lease_until FROM redpack_rows
			WHERE campaign_id = ? AND seq BETWEEN ? AND ? AND status IN (?, ?) ORDER BY seq`), r.c.id, lo, hi, StatusPlanned, StatusUnknown)
		if err != nil {
			return err
		}
		var due []int64
		var open int
		wake := int64(-1)
		for rows.Next() {
			var seq, next, lease int64
			if err := rows.Scan(&seq, &next, &lease); err != nil {
				rows.Close()
				return err
			}
			open++
			at := max(next, lease)
			if at <= now {
				due = append(due, seq)
			} else if wake < 0 || at < wake {
				wake = at
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if open == 0 {
			return nil
		}
		if len(due) == 0 {
			d := time.Duration(wake-r.now()) * time.Microsecond
			return river.JobSnooze(max(d, 10*time.Millisecond))
		}
		for _, seq := range due {
			if r.stopping.Load() || r.paused.Load() || ctx.Err() != nil || time.Now().After(deadline) {
				break
			}
			if err := r.step(ctx, seq); err != nil {
				if ctx.Err() != nil {
					return river.JobSnooze(0)
				}
				return err
			}
		}
		if time.Now().After(deadline) {
			return river.JobSnooze(0)
		}
	}
}

// claimed is a row this worker leased for one step.
type claimed struct {
	seq        int64
	n          int // attempt number
	kind       string
	generation int
	pending    bool
	unknown    bool
	errCode    string
	tries      int
	pay        payment
}

// step does one send or query of the row: write-ahead in a short
// transaction, the request with no transaction open, the answer in another
// short transaction.
func (r *runner) step(ctx context.Context, seq int64) error {
	cl, err := r.claim(ctx, seq)
	if err != nil || cl == nil {
		return err
	}
	if err := r.limiter.wait(ctx); err != nil {
		// The attempt is written but nothing went out: record it as such.
		return r.record(context.WithoutCancel(ctx), cl, answer{outcome: outNotSent, detail: "stopped before sending: " + err.Error()})
	}
	var a answer
	if cl.kind == "query" {
		a = check(ctx, r.opts.Client, cl.pay)
	} else {
		a = send(ctx, r.opts.Client, cl.pay)
	}
	return r.record(context.WithoutCancel(ctx), cl, a)
}

// claim leases the row and writes the attempt ahead; nil when another
// worker holds it or it is no longer due.
func (r *runner) claim(ctx context.Context, seq int64) (*claimed, error) {
	var cl *claimed
	err := r.db.tx(ctx, func(tx *sql.Tx) error {
		cl = nil
		now := r.now()
		row := tx.QueryRowContext(ctx, r.db.q(`UPDATE redpack_rows SET lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
			WHERE campaign_id = ? AND seq = ? AND status IN (?, ?) AND next_at <= ? AND lease_until <= ?
			RETURNING attempts, generation, pending, unknown_seen, err_code, tries, bill_no, openid, amount, send_name, wishing, act_name, remark`),
			r.worker, now+rowLease.Microseconds(), now, r.c.id, seq, StatusPlanned, StatusUnknown, now, now)
		c := &claimed{seq: seq}
		var pending, unknown int
		err := row.Scan(&c.n, &c.generation, &pending, &unknown, &c.errCode, &c.tries, &c.pay.billNo, &c.pay.openID, &c.pay.amount,
			&c.pay.sendName, &c.pay.wishing, &c.pay.actName, &c.pay.remark)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		c.pending, c.unknown = pending != 0, unknown != 0
		// An earlier attempt without an answer: its process died or timed
		// out. Its outcome is unknown.
		res, err := tx.ExecContext(ctx, r.db.q(`UPDATE redpack_attempts SET finished_at = ?, outcome = ?, detail = ?
			WHERE campaign_id = ? AND seq = ? AND finished_at IS NULL`), now, outUnknown, "no answer recorded: the process stopped or timed out", r.c.id, seq)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 && !c.unknown {
			c.unknown = true
			if _, err := tx.ExecContext(ctx, r.db.q(`UPDATE redpack_rows SET unknown_seen = 1, status = ? WHERE campaign_id = ? AND seq = ?`), StatusUnknown, r.c.id, seq); err != nil {
				return err
			}
		}
		c.kind = "send"
		if c.pending {
			c.kind = "query"
		}
		if c.kind == "send" {
			// From here on the row's fate is unknown until an answer is
			// recorded.
			if _, err := tx.ExecContext(ctx, r.db.q(`UPDATE redpack_rows SET status = ? WHERE campaign_id = ? AND seq = ?`), StatusUnknown, r.c.id, seq); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, r.db.q(`INSERT INTO redpack_attempts (campaign_id, seq, n, kind, bill_no, generation, worker, started_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), r.c.id, seq, c.n, c.kind, c.pay.billNo, c.generation, r.worker, now); err != nil {
			return err
		}
		cl = c
		return nil
	})
	return cl, err
}

// record stores the answer of a claimed step and moves the row on.
func (r *runner) record(ctx context.Context, cl *claimed, a answer) error {
	b := r.opts.Backoff
	return r.db.tx(ctx, func(tx *sql.Tx) error {
		now := r.now()
		if _, err := tx.ExecContext(ctx, r.db.q(`UPDATE redpack_attempts SET finished_at = ?, outcome = ?, err_code = ?, wx_status = ?, send_listid = ?, detail = ?
			WHERE campaign_id = ? AND seq = ? AND n = ?`), now, a.outcome, a.errCode, a.wxStatus, a.sendListID, a.detail, r.c.id, cl.seq, cl.n); err != nil {
			return err
		}
		var owner string
		var gen, attempts int
		lock := ""
		if r.db.dialect == dialectPostgres {
			lock = " FOR UPDATE"
		}
		if err := tx.QueryRowContext(ctx, r.db.q(`SELECT lease_owner, generation, attempts FROM redpack_rows WHERE campaign_id = ? AND seq = ?`+lock), r.c.id, cl.seq).Scan(&owner, &gen, &attempts); err != nil {
			return err
		}
		if gen != cl.generation {
			if a.outcome != outOK {
				return nil
			}
			// Never drop a payment: the row moved on to a new bill while
			// this one paid. When no send of the new bill may have gone out
			// yet, the row goes back to the bill that paid, and it is done.
			// Either way, stop everything until a human looks: an
			// operator's pause, which the next run does not resume, over
			// any merchant-wide one.
			var out int
			if err := tx.QueryRowContext(ctx, r.db.q(`SELECT COUNT(*) FROM redpack_attempts
				WHERE campaign_id = ? AND seq = ? AND generation = ? AND kind = 'send' AND (finished_at IS NULL OR outcome <> ?)`),
				r.c.id, cl.seq, gen, outNotSent).Scan(&out); err != nil {
				return err
			}
			what := "the row may be paid twice"
			if out == 0 {
				if _, err := tx.ExecContext(ctx, r.db.q(`UPDATE redpack_rows SET generation = ?, bill_no = ?, status = ?, pending = 0, next_at = 0,
					lease_owner = '', lease_until = 0, send_listid = ?, wx_status = ?, err_code = '', paid_at = ?, updated_at = ?
					WHERE campaign_id = ? AND seq = ? AND generation = ?`),
					cl.generation, cl.pay.billNo, StatusPaid, a.sendListID, a.wxStatus, now, now, r.c.id, cl.seq, gen); err != nil {
					return err
				}
				what = "no bill of the new generation had gone out, so the row is back on the bill that paid, PAID, though that bill was known not to have paid"
			}
			r.paused.Store(true)
			return r.db.setPause(ctx, tx, r.c.id, PauseOperator, fmt.Sprintf("bill %s of row %d (generation %d) was paid after the row moved to generation %d: %s; find out before going on", cl.pay.billNo, cl.seq, cl.generation, gen, what))
		}
		// attempts is bumped by every claim: it is this claim's token. A
		// stale claim (our lease ran out, another claim, maybe in this very
		// process, owns the row) only records an OK; the attempt above
		// keeps what it learnt.
		mine := owner == r.worker && attempts == cl.n
		if !mine && a.outcome != outOK {
			return nil
		}
		set := func(stmt string, args ...any) error {
			args = append([]any{now}, args...)
			args = append(args, r.c.id, cl.seq)
			_, err := tx.ExecContext(ctx, r.db.q(`UPDATE redpack_rows SET lease_owner = '', lease_until = 0, updated_at = ?, `+stmt+` WHERE campaign_id = ? AND seq = ?`), args...)
			return err
		}
		backoff := func() int64 { return now + b.after(cl.tries+1).Microseconds() }
		// untouched is the row's status after a step that changed nothing at
		// WeChat Pay: UNKNOWN once a bill of this generation may have gone
		// out, else PLANNED.
		untouched := StatusPlanned
		if cl.unknown || cl.pending {
			untouched = StatusUnknown
		}
		// refused keeps the row as it was and pauses: the merchant's
		// configuration, not the row, is wrong.
		refused := func(code string) error {
			if err := set(`status = ?, next_at = ?`, untouched, now); err != nil {
				return err
			}
			return r.pauseTx(ctx, tx, fmt.Sprintf("%s: WeChat Pay refused the request (bill %s): fix the merchant configuration, then run again (%s)", code, cl.pay.billNo, a.detail))
		}
		wx := a.wxStatus
		switch a.outcome {
		case outOK:
			listID := a.sendListID
			return set(`status = ?, pending = 0, send_listid = CASE WHEN ? <> '' THEN ? ELSE send_listid END, wx_status = CASE WHEN ? <> '' THEN ? ELSE wx_status END, err_code = '', paid_at = ?`,
				StatusPaid, listID, listID, wx, wx, now)
		case outPending:
			return set(`status = ?, pending = 1, unknown_seen = 1, tries = tries + 1, next_at = ?, err_code = ?, wx_status = CASE WHEN ? <> '' THEN ? ELSE wx_status END`,
				StatusUnknown, backoff(), cmpOr(a.errCode, "PROCESSING"), wx, wx)
		case outUnknown:
			if cl.kind == "query" && queryStop(a.errCode) {
				if err := set(`status = ?, pending = 1, next_at = ?, unknown_seen = 1`, StatusUnknown, now); err != nil {
					return err
				}
				return r.pauseTx(ctx, tx, fmt.Sprintf("%s: WeChat Pay refused the query of bill %s: fix the merchant configuration, then run again (%s)", a.errCode, cl.pay.billNo, a.detail))
			}
			// Re-send the same bill next (re-entrant); a query follows a
			// PROCESSING answer only.
			return set(`status = ?, pending = 0, unknown_seen = 1, tries = tries + 1, next_at = ?, err_code = ?`,
				StatusUnknown, backoff(), a.errCode)
		case outNotSent:
			return set(`status = ?, next_at = ?`, untouched, now+b.NotSent.Microseconds())
		case outConflict:
			// Hold the row: never re-send these parameters under this bill,
			// never read its record as this payment's.
			if err := set(`status = ?, unknown_seen = 1, pending = 0, err_code = ?, wx_status = 'CONFLICT'`, StatusConflict, cmpOr(a.errCode, "FATAL_ERROR")); err != nil {
				return err
			}
			return r.pauseTx(ctx, tx, fmt.Sprintf("CONFLICT on bill %s (row %s): the bill number belongs to a payment with other parameters; find out why before going on (%s)", cl.pay.billNo, strconv.FormatInt(cl.seq, 10), a.detail))
		case outFinal:
			code := cmpOr(a.errCode, "FINAL")
			if cl.kind == "query" {
				if merchantFinal(cl.errCode) {
					// The bill met a merchant-wide stop (the balance, a
					// cap) and its record now proves it FAILED: known not
					// to have paid. The stop is not the row's failure: the
					// row gets its next bill, sent once the campaign runs
					// after the fix (SPEC §3: a new bill only when the old
					// one is known dead).
					if err := set(`pending = 0, wx_status = 'FAILED'`); err != nil {
						return err
					}
					moved, err := regenRow(ctx, r.db, tx, r.c, cl.seq, gen, StatusUnknown, now)
					if err != nil || moved {
						return err
					}
				}
				// A FAILED record: known not paid. A new bill number only
				// by an explicit retry.
				return set(`status = ?, pending = 0, err_code = ?, wx_status = ?`, StatusFailed, cmpOr(cl.errCode, code), "FAILED")
			}
			if merchantFinal(code) {
				// Merchant-wide: pause and keep the bill. The next step is a
				// query (the old bill may yet pay: PROCESSING then FAILED
				// has been seen); a FAILED record makes the row FAILED with
				// this code, for `retry -codes` after the fix. Until that
				// record the outcome is unknown (unknown_seen), so that a
				// step that never went out leaves the row UNKNOWN.
				if err := r.pauseTx(ctx, tx, fmt.Sprintf("%s on bill %s: %s; fix it (top up, raise the cap), then run again: the bill is queried first and, once its record proves it FAILED, the row gets a new bill", code, cl.pay.billNo, a.detail)); err != nil {
					return err
				}
				return set(`status = ?, pending = 1, unknown_seen = 1, err_code = ?, next_at = ?`, StatusUnknown, code, now)
			}
			if merchantStop(a) {
				return refused(code)
			}
			return set(`status = ?, pending = 0, err_code = ?`, StatusFailed, code)
		case outRejected:
			if merchantStop(a) || cl.kind == "query" {
				return refused(cmpOr(a.errCode, "REJECTED"))
			}
			return set(`status = ?, pending = 0, err_code = ?`, StatusFailed, cmpOr(a.errCode, "REJECTED"))
		}
		return fmt.Errorf("campaign: unknown outcome %q", a.outcome)
	})
}

// regenRow moves the row from generation gen to gen+1 with a new bill
// number, only if it still has that generation and status and is still
// known not to have paid (no unknown attempt, or a FAILED record; a CONFLICT
// row's bill belongs to another payment). It reports whether it did: a
// concurrent retry or run that moved the row first wins. The new generation
// starts with nothing of the old one's answers (err_code included: an old
// FATAL_ERROR must never read as the new bill's conflict); the attempts keep
// them.
func regenRow(ctx context.Context, db *DB, tx *sql.Tx, c *campaignRow, seq int64, gen int, status string, now int64) (bool, error) {
	var key string
	if err := tx.QueryRowContext(ctx, db.q(`SELECT row_key FROM redpack_rows WHERE campaign_id = ? AND seq = ?`), c.id, seq).Scan(&key); err != nil {
		return false, err
	}
	bill, err := deriveBillNo(c.mchID, billRef(c.uid, key, gen+1))
	if err != nil {
		return false, err
	}
	res, err := tx.ExecContext(ctx, db.q(`UPDATE redpack_rows SET generation = ?, bill_no = ?, status = ?, pending = 0, unknown_seen = 0, tries = 0, next_at = 0,
		lease_owner = '', lease_until = 0, send_listid = '', wx_status = '', err_code = '', updated_at = ?
		WHERE campaign_id = ? AND seq = ? AND generation = ? AND status = ?
		  AND (status = ? OR unknown_seen = 0 OR wx_status = 'FAILED')`),
		gen+1, bill, StatusPlanned, now, c.id, seq, gen, status, StatusConflict)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (r *runner) pauseTx(ctx context.Context, tx *sql.Tx, reason string) error {
	r.paused.Store(true)
	now := r.now()
	// The first reason stands.
	_, err := tx.ExecContext(ctx, r.db.q(`UPDATE redpack_campaigns SET paused = 1, pause_kind = ?, pause_reason = ?, paused_at = ?, updated_at = ? WHERE id = ? AND paused = 0`),
		PauseMerchant, truncate(reason, 1000), now, now, r.c.id)
	return err
}
