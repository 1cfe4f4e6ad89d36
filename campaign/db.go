package campaign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// dialect names the database behind a DB. Everything else is one code path:
// the same schema, the same statements (written with ? placeholders and
// rebound to $n for Postgres), the same River job kinds.
type dialect int

const (
	dialectSQLite dialect = iota + 1
	dialectPostgres
)

func (d dialect) String() string {
	if d == dialectPostgres {
		return "postgres"
	}
	return "sqlite"
}

// DB is a campaign database: a SQLite file or a Postgres database holding
// River's schema and the campaign tables (see schema.go). It is safe for
// concurrent use.
type DB struct {
	sql     *sql.DB
	dialect dialect
	dsn     string // SQLite: the file path; Postgres: the URL (never printed: it may hold a password)

	pool *pgxpool.Pool // Postgres only

	// River clients without workers, for inserting jobs and for the web
	// view (riverui). Exactly one is non-nil, matching dialect.
	riverSQLite *river.Client[*sql.Tx]
	riverPG     *river.Client[pgx.Tx]
}

// IsPostgresDSN reports whether dsn names a Postgres database
// (postgres:// or postgresql:// URL) rather than a SQLite file.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens (creating if needed) the campaign database named by dsn: a
// postgres:// URL, or else the path of a SQLite file. It migrates River's
// schema (rivermigrate) and the campaign schema in-process, so a fresh file
// or an empty database is ready to use.
func Open(ctx context.Context, dsn string) (*DB, error) {
	if dsn == "" {
		return nil, errors.New("campaign: empty database name")
	}
	db := &DB{dsn: dsn}
	if IsPostgresDSN(dsn) {
		db.dialect = dialectPostgres
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("campaign: postgres URL: %s", redactPGError(err, dsn))
		}
		if cfg.MaxConns < 16 {
			cfg.MaxConns = 16
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("campaign: postgres: %s", redactPGError(err, dsn))
		}
		if err := pool.Ping(ctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("campaign: postgres: %s", redactPGError(err, dsn))
		}
		db.pool = pool
		db.sql = stdlib.OpenDBFromPool(pool)
	} else {
		db.dialect = dialectSQLite
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(20000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_txlock", "immediate")
		s, err := sql.Open("sqlite", "file:"+dsn+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("campaign: sqlite %s: %w", dsn, err)
		}
		// River's SQLite driver asks for one connection: SQLite has one
		// writer, and River runs operations in parallel.
		s.SetMaxOpenConns(1)
		s.SetConnMaxIdleTime(0)
		if err := s.PingContext(ctx); err != nil {
			s.Close()
			return nil, fmt.Errorf("campaign: sqlite %s: %w", dsn, err)
		}
		db.sql = s
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	var err error
	switch db.dialect {
	case dialectSQLite:
		db.riverSQLite, err = river.NewClient(riversqlite.New(db.sql), &river.Config{})
	case dialectPostgres:
		db.riverPG, err = river.NewClient(riverpgxv5.New(db.pool), &river.Config{})
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("campaign: river client: %w", err)
	}
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error {
	err := db.sql.Close()
	if db.pool != nil {
		db.pool.Close()
	}
	return err
}

// String names the database without credentials.
func (db *DB) String() string {
	if db.dialect == dialectPostgres {
		return "postgres database"
	}
	return "sqlite " + db.dsn
}

// redactPGError keeps a Postgres connection error from quoting any part
// of the URL's password: the URL itself, the password taken from it (up to
// the LAST '@' of the authority, since a raw '@' may be in the password),
// and the userinfo of any URL the message quotes.
func redactPGError(err error, dsn string) string {
	s := err.Error()
	if dsn != "" {
		s = strings.ReplaceAll(s, dsn, "[postgres URL]")
	}
	if pw := dsnPassword(dsn); pw != "" {
		s = strings.ReplaceAll(s, pw, "[redacted]")
		// A driver that splits at the first '@' quotes the rest of the
		// password as part of the host: redact every piece of it.
		for piece := range strings.SplitSeq(pw, "@") {
			if len(piece) >= 3 {
				s = strings.ReplaceAll(s, piece, "[redacted]")
			}
		}
	}
	for from := 0; ; {
		i := strings.Index(s[from:], "://")
		if i < 0 {
			break
		}
		i += from + 3
		end := len(s)
		if k := strings.IndexAny(s[i:], " `'\"\n\t"); k >= 0 {
			end = i + k
		}
		auth := s[i:end]
		if k := strings.IndexAny(auth, "/?"); k >= 0 {
			// The authority ends at the first / or ? after its last '@'.
			if at := strings.LastIndex(auth, "@"); at > k {
				k = at + strings.IndexAny(auth[at:]+"/", "/?")
			}
			auth = auth[:k]
		}
		if at := strings.LastIndex(auth, "@"); at >= 0 {
			s = s[:i] + "[redacted]" + s[i+at:]
			end = i + len("[redacted]") + (end - i - at)
		}
		from = min(end, len(s))
	}
	return s
}

// dsnPassword is the password of a postgres:// URL ("" if none): between
// the first ':' of the userinfo and the last '@' before the host.
func dsnPassword(dsn string) string {
	i := strings.Index(dsn, "://")
	if i < 0 {
		return ""
	}
	rest := dsn[i+3:]
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return ""
	}
	user := rest[:at]
	if c := strings.Index(user, ":"); c >= 0 {
		return user[c+1:]
	}
	return ""
}

// migrate brings River's schema and ours up to date. On Postgres an
// advisory lock serialises workers that start at the same moment.
func (db *DB) migrate(ctx context.Context) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return fmt.Errorf("campaign: migrate: %w", err)
	}
	defer conn.Close()
	if db.dialect == dialectPostgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(72656470)"); err != nil {
			return fmt.Errorf("campaign: migrate lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(72656470)") //nolint:errcheck
	}
	// River first.
	switch db.dialect {
	case dialectSQLite:
		// The migrator needs the single connection; release ours.
		conn.Close()
		m, err := rivermigrate.New(riversqlite.New(db.sql), nil)
		if err != nil {
			return fmt.Errorf("campaign: river migrate: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("campaign: river migrate: %w", err)
		}
		return db.migrateOwn(ctx, db.sql)
	default:
		m, err := rivermigrate.New(riverpgxv5.New(db.pool), nil)
		if err != nil {
			return fmt.Errorf("campaign: river migrate: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("campaign: river migrate: %w", err)
		}
		return db.migrateOwn(ctx, conn)
	}
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) migrateOwn(ctx context.Context, x execer) error {
	if _, err := x.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS redpack_schema (version INTEGER NOT NULL)"); err != nil {
		return fmt.Errorf("campaign: migrate: %w", err)
	}
	var v int
	err := x.QueryRowContext(ctx, "SELECT version FROM redpack_schema").Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := x.ExecContext(ctx, "INSERT INTO redpack_schema (version) VALUES (0)"); err != nil {
			return fmt.Errorf("campaign: migrate: %w", err)
		}
	case err != nil:
		return fmt.Errorf("campaign: migrate: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("campaign: the database has schema version %d, newer than this program's %d", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		for _, stmt := range strings.Split(migrations[i], ";\n") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := x.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("campaign: migrate to %d: %w", i+1, err)
			}
		}
		if _, err := x.ExecContext(ctx, "UPDATE redpack_schema SET version = "+strconv.Itoa(i+1)); err != nil {
			return fmt.Errorf("campaign: migrate: %w", err)
		}
	}
	return nil
}

// q rebinds a statement written with ? placeholders for the dialect.
func (db *DB) q(s string) string {
	if db.dialect != dialectPostgres || !strings.Contains(s, "?") {
		return s
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// tx runs f in a short transaction (never across a network call).
func (db *DB) tx(ctx context.Context, f func(*sql.Tx) error) error {
	for try := 0; ; try++ {
		tx, err := db.sql.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		err = f(tx)
		if err == nil {
			err = tx.Commit()
		} else {
			tx.Rollback() //nolint:errcheck
		}
		if err != nil && try < 5 && db.retryable(err) && ctx.Err() == nil {
			time.Sleep(time.Duration(10*(try+1)) * time.Millisecond)
			continue
		}
		return err
	}
}

// retryable reports a serialisation failure or deadlock (Postgres) or a
// busy database (SQLite) worth one more try.
func (db *DB) retryable(err error) bool {
	s := err.Error()
	return strings.Contains(s, "SQLSTATE 40001") || strings.Contains(s, "SQLSTATE 40P01") ||
		strings.Contains(s, "SQLITE_BUSY") || strings.Contains(s, "database is locked")
}

// nowMicros is this machine's clock, Unix microseconds (a variable so that
// a test can put the machine's clock off the database's). Run and Verify
// correct it by the measured skew to the database clock.
var nowMicros = func() int64 { return time.Now().UnixMicro() }
