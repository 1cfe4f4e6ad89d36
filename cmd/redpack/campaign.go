package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/redpack-go/redpack"
	"github.com/redpack-go/redpack/campaign"
)

// Exit codes of "redpack campaign"; see campaignUsage.
const (
	exitCampaignError    = 1 // the database or another runtime failure
	exitCampaignOpen     = 3 // rows left unsettled (PLANNED or UNKNOWN) when run/verify stopped
	exitCampaignPaused   = 5 // paused by a merchant-wide stop (or the operator); the reason on stderr
	exitCampaignLocked   = 6 // another run process holds the SQLite file
	envCampaignDB        = "REDPACK_CAMPAIGN_DB"
	defaultCampaignDB    = "redpack.db"
	campaignDBFlagPrompt = "campaign database: a SQLite file path, or a postgres:// URL (default $" + envCampaignDB + ", else " + defaultCampaignDB + ")"
)

const campaignUsage = `redpack campaign pays a list of recipients exactly once, durably, at the merchant's quota.

Usage:
  redpack campaign plan   -db DB -id ID -csv FILE [-send-name S -wishing S -act-name S -remark S] [-max-total FEN] [-json]
  redpack campaign run    -db DB -id ID [-rate N] [-concurrency N] [-backoff D] [-backoff-max D]
  redpack campaign status -db DB -id ID [-json]
  redpack campaign report -db DB -id ID -o FILE.csv
  redpack campaign verify -db DB -id ID [-rate N]
  redpack campaign retry  -db DB -id ID [-codes SENDNUM_LIMIT,...]
  redpack campaign serve  -db DB [-addr 127.0.0.1:8080] [-prefix /path]
  (plus the merchant flags and REDPACK_* variables of "redpack send")

DB is a SQLite file (default redpack.db) or a postgres:// URL; several "run"
processes on one Postgres campaign share its rows, and -rate is the TOTAL of
all of them. On SQLite one run process works a file at a time.

Input CSV: UTF-8 (BOM tolerated), a header row; columns openid and amount
(integer fen) required; key (default: the line number), send_name, wishing,
act_name, remark optional (they override the flags per row).

Exit codes:
  0  plan: stored; run: every row PAID or FAILED; verify: every queried row
     settled; status, report, retry: done
  1  database or runtime error
  2  usage, configuration or input problem (plan: nothing stored)
  3  rows left unsettled (PLANNED or UNKNOWN) when run or verify stopped
     (SIGINT/SIGTERM stop cleanly; run again to continue)
  5  the campaign is paused: a merchant-wide stop (NOTENOUGH,
     SENDAMOUNT_LIMIT, DAY_OVER_LIMITED, CA_ERROR, SIGN_ERROR,
     API_METHOD_CLOSED, ILLEGAL_APPID, MSGAPPID_ERROR, ACCEPTMODE_ERROR,
     CONFLICT); the reason is on stderr. Fix it and run again; no row is
     failed for it. A bill that met NOTENOUGH/SENDAMOUNT_LIMIT/
     DAY_OVER_LIMITED is kept and queried first; once its record proves it
     FAILED the row gets its next bill. A row whose bill answered
     CONFLICT is held (status CONFLICT, never re-sent) until
     "retry -codes FATAL_ERROR".
  6  run: another run process holds the SQLite file

Report cells (key, openid, send_listid, err_code, wx_status) starting with
= + - @, a tab or a CR get a leading ' (spreadsheet formula injection).

status -json prints one object: id, rows, total_fen, planned, planned_fen,
paid, paid_fen, received, received_fen, refunded, refunded_fen, failed,
failed_fen, unknown, unknown_fen, pending, pending_fen, conflict,
conflict_fen, queued, state (running, paused, done, idle), paused (the
reason, or null), pause_kind, workers, send_rate (requests/s over the last
minute), eta_seconds.
`

func runCampaign(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprint(stderr, campaignUsage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "plan":
		return campaignPlan(ctx, rest, env, stdout, stderr)
	case "run":
		return campaignRun(ctx, rest, env, stdout, stderr)
	case "status":
		return campaignStatus(ctx, rest, env, stdout, stderr)
	case "report":
		return campaignReport(ctx, rest, env, stdout, stderr)
	case "verify":
		return campaignVerify(ctx, rest, env, stdout, stderr)
	case "retry":
		return campaignRetry(ctx, rest, env, stdout, stderr)
	case "serve":
		return runCampaignServe(ctx, rest, env, stdout, stderr)
	}
	fmt.Fprintf(stderr, "redpack campaign: unknown command %q\n\n%s", sub, campaignUsage)
	return exitUsage
}

type campaignFlags struct {
	merchantFlags
	db, id string
}

func (f *campaignFlags) registerCampaign(fs *flag.FlagSet) {
	fs.StringVar(&f.db, "db", "", campaignDBFlagPrompt)
	fs.StringVar(&f.id, "id", "", "campaign `ID`: 1 to 64 of [0-9A-Za-z_.-]")
}

// open parses nothing; it opens the database after the flags are parsed.
func (f *campaignFlags) open(ctx context.Context, env func(string) string, stderr io.Writer, cmd string) (*campaign.DB, int) {
	if f.id == "" {
		fmt.Fprintf(stderr, "redpack campaign %s: -id is required\n", cmd)
		return nil, exitUsage
	}
	db, err := campaign.Open(ctx, campaignDSN(f.db, env))
	if err != nil {
		fmt.Fprintf(stderr, "redpack campaign %s: %v\n", cmd, err)
		return nil, exitCampaignError
	}
	return db, exitOK
}

// campaignDSN is the -db flag, else $REDPACK_CAMPAIGN_DB, else redpack.db.
func campaignDSN(flagValue string, env func(string) string) string {
	return cmp.Or(flagValue, strings.TrimSpace(env(envCampaignDB)), defaultCampaignDB)
}

// campaignFailed reports an error of the campaign package: exit 2 for a
// campaign that was never planned, 1 for the database or anything else.
func campaignFailed(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "redpack campaign %s: %v\n", cmd, err)
	if errors.Is(err, campaign.ErrNoCampaign) {
		return exitUsage
	}
	return exitCampaignError
}

func parseCampaignFlags(fs *flag.FlagSet, args []string, stderr io.Writer, cmd string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		return parseExit(err), false
	}
	if len(fs.Args()) > 0 {
		fmt.Fprintf(stderr, "redpack campaign %s: unexpected argument %q\n", cmd, fs.Args()[0])
		return exitUsage, false
	}
	return 0, true
}

func campaignPlan(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	var f campaignFlags
	var csvPath, sendName, wishing, actName, remark string
	var maxTotal int64
	fs := newFlagSet("campaign plan", "redpack campaign plan -db DB -id ID -csv FILE [-send-name S -wishing S -act-name S -remark S] [-max-total FEN]", stderr)
	f.registerCampaign(fs)
	f.register(fs)
	fs.StringVar(&csvPath, "csv", "", "input CSV `file`")
	fs.StringVar(&sendName, "send-name", "", "default send_name (≤ 32 bytes)")
	fs.StringVar(&wishing, "wishing", "", "default wishing (≤ 128 bytes)")
	fs.StringVar(&actName, "act-name", "", "default act_name (≤ 32 bytes)")
	fs.StringVar(&remark, "remark", "", "default remark (≤ 256 bytes)")
	fs.Int64Var(&maxTotal, "max-total", 0, "refuse the plan when its rows add up to more than this many `fen` (0: no bound)")
	if code, ok := parseCampaignFlags(fs, args, stderr, "plan"); !ok {
		return code
	}
	if csvPath == "" {
		fmt.Fprintln(stderr, "redpack campaign plan: -csv is required")
		return exitUsage
	}
	if maxTotal < 0 {
		fmt.Fprintln(stderr, "redpack campaign plan: -max-total must not be negative")
		return exitUsage
	}
	cfg, err := f.config(env, false)
	if cfg.MchID == "" || cfg.AppID == "" {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if _, err := os.Stat(csvPath); err != nil {
		fmt.Fprintf(stderr, "redpack campaign plan: %v\n", err)
		return exitUsage
	}
	db, code := f.open(ctx, env, stderr, "plan")
	if db == nil {
		return code
	}
	defer db.Close()
	prog := newProgress(stdout, -1, "plan")
	opts := campaign.PlanOptions{ID: f.id, MchID: cfg.MchID, AppID: cfg.AppID, SendName: sendName, Wishing: wishing, ActName: actName, Remark: remark, MaxTotal: maxTotal,
		Progress: prog.plan}
	sum, err := db.Plan(ctx, opts, func() (io.ReadCloser, error) { return os.Open(csvPath) })
	if sum != nil && !f.json {
		printPlanSummary(stdout, sum)
	}
	var pe *campaign.PlanError
	switch {
	case errors.As(err, &pe):
		fmt.Fprintln(stderr, err)
		return exitUsage
	case errors.Is(err, campaign.ErrMaxTotal), errors.Is(err, campaign.ErrInputChanged):
		fmt.Fprintln(stderr, err)
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "redpack campaign plan: %v\n", err)
		return exitCampaignError
	}
	if f.json {
		writeJSON(stdout, sum)
	} else {
		fmt.Fprintf(stdout, "stored: %d new rows, %d already planned\n", sum.Added, sum.Existing)
	}
	return exitOK
}

func printPlanSummary(w io.Writer, s *campaign.PlanSummary) {
	t := newTable(w)
	t.row("rows", itoa(int(s.Rows)))
	t.row("total", campaign.Yuan(s.TotalFen)+" yuan")
	t.row("largest", fmt.Sprintf("%s yuan (line %d)", campaign.Yuan(s.MaxFen), s.MaxLine))
	t.row("openids on several rows", itoa(s.RepeatedCount))
	t.flush()
	for o, n := range s.RepeatedOpenIDs {
		fmt.Fprintf(w, "  %s: %d rows\n", o, n)
	}
}

// packageRate maps the -rate flag (0 = no limit) to the package's options
// (0 = the default, negative = no limit).
func packageRate(flag float64) float64 {
	if flag == 0 {
		return -1
	}
	return flag
}

func campaignClient(f *campaignFlags, env func(string) string, rate float64, stderr io.Writer, cmd string) (*redpack.Client, int) {
	if f.attempts > 0 || f.retryDelay > 0 || f.attemptTimeout > 0 {
		fmt.Fprintf(stderr, "redpack campaign %s: -attempts, -retry-delay and -attempt-timeout are ignored: a campaign makes one attempt per call (8s at most) and retries on its own schedule\n", cmd)
	}
	extra := []redpack.Option{redpack.WithRetryPolicy(redpack.RetryPolicy{MaxAttempts: 1}), redpack.WithTimeout(8 * time.Second)}
	if rate > 0 {
		extra = append(extra, redpack.WithRateLimit(rate, 1))
	}
	client, err := f.client(env, false, extra...)
	if err != nil {
		fmt.Fprintf(stderr, "redpack campaign %s: %v\n", cmd, err)
		return nil, exitUsage
	}
	return client, exitOK
}

func campaignRun(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	var f campaignFlags
	var rate float64
	var conc int
	var backoff, backoffMax, jitter time.Duration
	fs := newFlagSet("campaign run", "redpack campaign run -db DB -id ID [-rate N] [-concurrency N]", stderr)
	f.registerCampaign(fs)
	f.register(fs)
	fs.Float64Var(&rate, "rate", campaign.DefaultRate, "requests a `second` for the whole campaign, all workers together (the merchant quota); 0 = no limit")
	fs.IntVar(&conc, "concurrency", campaign.DefaultConcurrency, "slices this process works at once")
	fs.DurationVar(&jitter, "rate-margin", campaign.DefaultJitter, "jitter allowance of the rate limiter: it schedules (rate-1)/(1+margin) requests a second so that no one-second window at WeChat Pay exceeds -rate")
	fs.DurationVar(&backoff, "backoff", 2*time.Second, "first wait before re-sending or querying an unknown row; doubles")
	fs.DurationVar(&backoffMax, "backoff-max", 20*time.Minute, "longest wait between steps of an unknown row")
	if code, ok := parseCampaignFlags(fs, args, stderr, "run"); !ok {
		return code
	}
	if rate < 0 || conc < 0 || backoff < 0 || backoffMax < 0 {
		fmt.Fprintln(stderr, "redpack campaign run: -rate, -concurrency and the back-off must not be negative")
		return exitUsage
	}
	client, code := campaignClient(&f, env, rate, stderr, "run")
	if client == nil {
		return code
	}
	db, code := f.open(ctx, env, stderr, "run")
	if db == nil {
		return code
	}
	defer db.Close()
	var rows int64 // the bar's length until Run's first summary
	if s, err := db.Summary(ctx, f.id); err == nil {
		rows = s.Rows
	}
	prog := newProgress(stdout, rows, "run")
	res, err := db.Run(ctx, f.id, campaign.RunOptions{
		Client: client, Rate: packageRate(rate), Concurrency: conc, Jitter: jitter,
		Backoff:       campaign.Backoff{First: backoff, Max: backoffMax, NotSent: min(time.Second, max(backoff, 10*time.Millisecond))},
		Progress:      func(s *campaign.Summary) { prog.run(s, false) },
		ProgressEvery: prog.every(),
		Logger:        slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	switch {
	case errors.Is(err, campaign.ErrLocked):
		fmt.Fprintf(stderr, "redpack campaign run: %v\n", err)
		return exitCampaignLocked
	case errors.Is(err, campaign.ErrNoCampaign):
		fmt.Fprintf(stderr, "redpack campaign run: %v (plan it first)\n", err)
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "redpack campaign run: %v\n", err)
		return exitCampaignError
	}
	if res.Summary != nil {
		prog.run(res.Summary, true)
	}
	switch {
	case res.PauseReason != "":
		fmt.Fprintf(stderr, "redpack campaign run: paused: %s\n", res.PauseReason)
		return exitCampaignPaused
	case res.Done:
		fmt.Fprintln(stdout, "done: every row is PAID or FAILED")
		return exitOK
	}
	fmt.Fprintln(stderr, "redpack campaign run: stopped with rows unsettled; run again to continue")
	return exitCampaignOpen
}

func printProgress(w io.Writer, s *campaign.Summary, start time.Time) {
	eta := "-"
	if s.ETA > 0 {
		eta = s.ETA.String()
	}
	fmt.Fprintf(w, "%s %s: %d/%d settled, paid %d (%s yuan), failed %d, unknown %d, planned %d, %.1f req/s, eta %s\n",
		time.Since(start).Round(time.Second), s.State, s.Paid.Rows+s.Failed.Rows, s.Rows, s.Paid.Rows, campaign.Yuan(s.Paid.Fen),
		s.Failed.Rows, s.Unknown.Rows, s.Planned.Rows, s.SendRate, eta)
}

// statusJSON is status -json; the names are a contract.
type statusJSON struct {
	ID          string  `json:"id"`
	Rows        int64   `json:"rows"`
	TotalFen    int64   `json:"total_fen"`
	Planned     int64   `json:"planned"`
	PlannedFen  int64   `json:"planned_fen"`
	Paid        int64   `json:"paid"`
	PaidFen     int64   `json:"paid_fen"`
	Received    int64   `json:"received"`
	ReceivedFen int64   `json:"received_fen"`
	Refunded    int64   `json:"refunded"`
	RefundedFen int64   `json:"refunded_fen"`
	Failed      int64   `json:"failed"`
	FailedFen   int64   `json:"failed_fen"`
	Unknown     int64   `json:"unknown"`
	UnknownFen  int64   `json:"unknown_fen"`
	Conflict    int64   `json:"conflict"` // rows held after a CONFLICT (the bill belongs to another payment)
	ConflictFen int64   `json:"conflict_fen"`
	Pending     int64   `json:"pending"`
	PendingFen  int64   `json:"pending_fen"`
	Queued      int64   `json:"queued"`
	State       string  `json:"state"`
	Paused      *string `json:"paused"`
	PauseKind   string  `json:"pause_kind,omitempty"`
	Workers     int     `json:"workers"`
	SendRate    float64 `json:"send_rate"`
	ETASeconds  float64 `json:"eta_seconds"`
}

func campaignStatus(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	var f campaignFlags
	var asJSON bool
	fs := newFlagSet("campaign status", "redpack campaign status -db DB -id ID [-json]", stderr)
	f.registerCampaign(fs)
	fs.BoolVar(&asJSON, "json", false, "print one JSON object")
	if code, ok := parseCampaignFlags(fs, args, stderr, "status"); !ok {
		return code
	}
	db, code := f.open(ctx, env, stderr, "status")
	if db == nil {
		return code
	}
	defer db.Close()
	s, err := db.Summary(ctx, f.id)
	if err != nil {
		return campaignFailed(stderr, "status", err)
	}
	out := statusJSON{ID: s.ID, Rows: s.Rows, TotalFen: s.TotalFen,
		Planned: s.Planned.Rows, PlannedFen: s.Planned.Fen, Paid: s.Paid.Rows, PaidFen: s.Paid.Fen,
		Received: s.Received.Rows, ReceivedFen: s.Received.Fen, Refunded: s.Refunded.Rows, RefundedFen: s.Refunded.Fen,
		Failed: s.Failed.Rows, FailedFen: s.Failed.Fen, Unknown: s.Unknown.Rows, UnknownFen: s.Unknown.Fen,
		Conflict: s.Conflict.Rows, ConflictFen: s.Conflict.Fen,
		Pending: s.Pending.Rows, PendingFen: s.Pending.Fen, Queued: s.Queued.Rows, State: s.State, PauseKind: s.PauseKind,
		Workers: s.Workers, SendRate: s.SendRate, ETASeconds: s.ETA.Seconds()}
	if s.State == campaign.StatePaused {
		r := s.PauseReason
		out.Paused = &r
	}
	if asJSON {
		writeJSON(stdout, out)
		return exitOK
	}
	t := newTable(stdout)
	t.row("campaign", s.ID)
	t.row("state", s.State)
	if out.Paused != nil {
		t.row("paused", *out.Paused)
	}
	m := func(name string, v campaign.Money) {
		t.row(name, fmt.Sprintf("%d rows, %s yuan", v.Rows, campaign.Yuan(v.Fen)))
	}
	m("total", campaign.Money{Rows: s.Rows, Fen: s.TotalFen})
	m("planned (not sent)", s.Planned)
	m("paid", s.Paid)
	m("  received", s.Received)
	m("  refunded", s.Refunded)
	m("failed", s.Failed)
	m("unknown", s.Unknown)
	m("  pending", s.Pending)
	if s.Conflict.Rows > 0 {
		m("held (CONFLICT)", s.Conflict)
	}
	t.row("workers", itoa(s.Workers))
	t.row("rate", fmt.Sprintf("%.1f requests/s (last minute)", s.SendRate))
	t.flush()
	if fails, err := db.Failures(ctx, f.id); err == nil {
		for _, g := range fails {
			fmt.Fprintf(stdout, "failed %s: %d rows, %s yuan (%d retryable): %s\n", g.ErrCode, g.Rows, campaign.Yuan(g.Fen), g.Retryable, g.Advice)
		}
	}
	return exitOK
}

func campaignReport(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	var f campaignFlags
	var out string
	fs := newFlagSet("campaign report", "redpack campaign report -db DB -id ID -o FILE.csv", stderr)
	f.registerCampaign(fs)
	fs.StringVar(&out, "o", "", "output CSV `file` (- for stdout)")
	if code, ok := parseCampaignFlags(fs, args, stderr, "report"); !ok {
		return code
	}
	if out == "" {
		fmt.Fprintln(stderr, "redpack campaign report: -o is required")
		return exitUsage
	}
	db, code := f.open(ctx, env, stderr, "report")
	if db == nil {
		return code
	}
	defer db.Close()
	var w io.Writer = stdout
	var file *os.File
	if out != "-" {
		var err error
		if file, err = os.Create(out); err != nil {
			fmt.Fprintf(stderr, "redpack campaign report: %v\n", err)
			return exitUsage
		}
		w = file
	}
	err := db.Report(ctx, f.id, w)
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return campaignFailed(stderr, "report", err)
	}
	return exitOK
}

func campaignVerify(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	var f campaignFlags
	var rate float64
	fs := newFlagSet("campaign verify", "redpack campaign verify -db DB -id ID [-rate N]", stderr)
	f.registerCampaign(fs)
	f.register(fs)
	fs.Float64Var(&rate, "rate", campaign.DefaultRate, "queries a `second` (0 = no limit)")
	if code, ok := parseCampaignFlags(fs, args, stderr, "verify"); !ok {
		return code
	}
	if rate < 0 {
		fmt.Fprintln(stderr, "redpack campaign verify: -rate must not be negative")
		return exitUsage
	}
	client, code := campaignClient(&f, env, rate, stderr, "verify")
	if client == nil {
		return code
	}
	db, code := f.open(ctx, env, stderr, "verify")
	if db == nil {
		return code
	}
	defer db.Close()
	res, err := db.Verify(ctx, f.id, campaign.VerifyOptions{Client: client, Rate: packageRate(rate)})
	if err != nil {
		return campaignFailed(stderr, "verify", err)
	}
	if f.json {
		writeJSON(stdout, res)
	} else {
		fmt.Fprintf(stdout, "queried %d rows, settled %d unknown rows\n", res.Queried, res.Settled)
		for st, n := range res.ByStatus {
			fmt.Fprintf(stdout, "  %s: %d\n", st, n)
		}
		if s := res.Summary; s != nil {
			m := func(name string, v campaign.Money) {
				fmt.Fprintf(stdout, "%-9s %8d rows %14s yuan\n", name, v.Rows, campaign.Yuan(v.Fen))
			}
			m("planned", campaign.Money{Rows: s.Rows, Fen: s.TotalFen})
			m("paid", s.Paid)
			m("received", s.Received)
			m("refunded", s.Refunded)
			m("failed", s.Failed)
			m("unknown", s.Unknown)
			if s.Conflict.Rows > 0 {
				m("conflict", s.Conflict)
			}
			m("unsent", s.Planned)
		}
	}
	if res.Summary != nil && res.Summary.Unknown.Rows > 0 {
		return exitCampaignOpen
	}
	return exitOK
}

func campaignRetry(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	var f campaignFlags
	var codes string
	fs := newFlagSet("campaign retry", "redpack campaign retry -db DB -id ID [-codes SENDNUM_LIMIT,...]", stderr)
	f.registerCampaign(fs)
	fs.StringVar(&codes, "codes", "", "retry only FAILED rows with these err_codes (comma-separated); default all")
	if code, ok := parseCampaignFlags(fs, args, stderr, "retry"); !ok {
		return code
	}
	db, code := f.open(ctx, env, stderr, "retry")
	if db == nil {
		return code
	}
	defer db.Close()
	var list []string
	if codes != "" {
		list = strings.Split(codes, ",")
	}
	res, err := db.Retry(ctx, f.id, list)
	if err != nil {
		return campaignFailed(stderr, "retry", err)
	}
	fmt.Fprintf(stdout, "%d rows get a new bill number; run the campaign to send them\n", res.Retried)
	if res.NeedVerify > 0 {
		fmt.Fprintf(stdout, "%d FAILED rows had an earlier unknown attempt: run verify first (a FAILED record makes them retryable)\n", res.NeedVerify)
	}
	return exitOK
}
