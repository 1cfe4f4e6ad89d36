package campaign

// migrations is the campaign schema, one entry per version, statements
// separated by ";\n". It is one schema for SQLite and Postgres: times are
// Unix microseconds in BIGINT, flags are INTEGER 0/1, and no column relies on
// an auto-increment (row and attempt numbers are assigned by the program),
// so the same statements run on both.
//
// The tables are the truth; River's tables only deliver work.
//
//   - redpack_campaigns: one row per campaign; uid is random at creation and
//     goes into every bill number, so two campaigns never share a bill number
//     even when two database files use the same id. rate_tat is the shared
//     rate limiter's state (GCRA theoretical arrival time, see limiter.go).
//   - redpack_rows: one row per recipient, UNIQUE(campaign_id, row_key) and
//     UNIQUE(bill_no). The bill number is fixed at planning (generation 0) and
//     changes only through retry (generation + 1).
//   - redpack_attempts: the history of every row: each send and query,
//     written ahead (started_at, finished_at NULL) in its own transaction
//     before the request goes out, completed with the answer after. An
//     attempt without finished_at is an outcome nobody saw: UNKNOWN.
//   - redpack_workers: run processes with their heartbeat.
var migrations = []string{
	`CREATE TABLE redpack_campaigns (
	id           TEXT PRIMARY KEY,
	uid          TEXT NOT NULL UNIQUE,
	mch_id       TEXT NOT NULL,
	app_id       TEXT NOT NULL,
	send_name    TEXT NOT NULL,
	wishing      TEXT NOT NULL,
	act_name     TEXT NOT NULL,
	remark       TEXT NOT NULL,
	slice_size   INTEGER NOT NULL,
	row_count    BIGINT NOT NULL,
	total_fen    BIGINT NOT NULL,
	paused       INTEGER NOT NULL DEFAULT 0,
	pause_kind   TEXT NOT NULL DEFAULT '',
	pause_reason TEXT NOT NULL DEFAULT '',
	paused_at    BIGINT NOT NULL DEFAULT 0,
	rate_tat     BIGINT NOT NULL DEFAULT 0,
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL
);
CREATE TABLE redpack_rows (
	campaign_id  TEXT NOT NULL,
	seq          BIGINT NOT NULL,
	row_key      TEXT NOT NULL,
	line         BIGINT NOT NULL,
	openid       TEXT NOT NULL,
	amount       BIGINT NOT NULL,
	send_name    TEXT NOT NULL,
	wishing      TEXT NOT NULL,
	act_name     TEXT NOT NULL,
	remark       TEXT NOT NULL,
	generation   INTEGER NOT NULL DEFAULT 0,
	bill_no      TEXT NOT NULL,
	status       TEXT NOT NULL,
	pending      INTEGER NOT NULL DEFAULT 0,
	unknown_seen INTEGER NOT NULL DEFAULT 0,
	send_listid  TEXT NOT NULL DEFAULT '',
	err_code     TEXT NOT NULL DEFAULT '',
	wx_status    TEXT NOT NULL DEFAULT '',
	tries        INTEGER NOT NULL DEFAULT 0,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_at      BIGINT NOT NULL DEFAULT 0,
	lease_owner  TEXT NOT NULL DEFAULT '',
	lease_until  BIGINT NOT NULL DEFAULT 0,
	paid_at      BIGINT NOT NULL DEFAULT 0,
	updated_at   BIGINT NOT NULL,
	PRIMARY KEY (campaign_id, seq),
	UNIQUE (campaign_id, row_key),
	UNIQUE (bill_no)
);
CREATE INDEX redpack_rows_status ON redpack_rows (campaign_id, status);
CREATE INDEX redpack_rows_openid ON redpack_rows (campaign_id, openid);
CREATE TABLE redpack_attempts (
	campaign_id  TEXT NOT NULL,
	seq          BIGINT NOT NULL,
	n            INTEGER NOT NULL,
	kind         TEXT NOT NULL,
	bill_no      TEXT NOT NULL,
	generation   INTEGER NOT NULL,
	worker       TEXT NOT NULL,
	started_at   BIGINT NOT NULL,
	finished_at  BIGINT,
	outcome      TEXT NOT NULL DEFAULT '',
	err_code     TEXT NOT NULL DEFAULT '',
	wx_status    TEXT NOT NULL DEFAULT '',
	send_listid  TEXT NOT NULL DEFAULT '',
	detail       TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (campaign_id, seq, n)
);
CREATE INDEX redpack_attempts_started ON redpack_attempts (campaign_id, started_at);
CREATE INDEX redpack_attempts_bill ON redpack_attempts (bill_no);
CREATE TABLE redpack_workers (
	id           TEXT PRIMARY KEY,
	campaign_id  TEXT NOT NULL,
	host         TEXT NOT NULL,
	pid          BIGINT NOT NULL,
	started_at   BIGINT NOT NULL,
	heartbeat_at BIGINT NOT NULL,
	stopped_at   BIGINT NOT NULL DEFAULT 0
)`,
}

// Row statuses (redpack_rows.status and the report's status column).
const (
	StatusPlanned = "PLANNED" // not sent yet in this generation
	StatusPaid    = "PAID"    // WeChat Pay answered OK, or a record settled it as paid
	StatusFailed  = "FAILED"  // a per-row FINAL answer, or a FAILED record
	StatusUnknown = "UNKNOWN" // a send went out and nobody knows yet (pending included)
	// StatusConflict: a send of the row's bill answered CONFLICT (FATAL_ERROR):
	// the bill's record belongs to another payment, so it is never read as
	// this row's. The row is held: run never re-sends it, verify never
	// settles it. `retry -codes FATAL_ERROR` gives it a new bill number once
	// the operator has found out why (SPEC §3 CONFLICT).
	StatusConflict = "CONFLICT"
)
