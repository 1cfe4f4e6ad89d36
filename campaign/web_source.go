package campaign

import (
	"context"
	"fmt"
)

// webSource is what the web view and the metrics collector read and change:
// *DB's Store API plus the attempt counts of web_db.go. It is an interface so
// that the handler's routing, templates and security can also be tested
// without a database (web_test.go); the end-to-end tests use *DB. Every
// method reads the database at call time, so a page shows what a run in
// another process has written.
type webSource interface {
	List(ctx context.Context) ([]Summary, error)
	Summary(ctx context.Context, id string) (*Summary, error)
	Failures(ctx context.Context, id string) ([]FailureGroup, error)
	Find(ctx context.Context, id, query string) ([]RowHistory, error)
	Pause(ctx context.Context, id string) error
	Resume(ctx context.Context, id string) error
	attemptCounts(ctx context.Context, id string) ([]attemptCount, error)
}

var _ webSource = (*DB)(nil)

// attemptCount is how many attempts of one kind ("send" or "query") ended
// with one outcome.
type attemptCount struct {
	Kind    string
	Outcome string // OK, UNKNOWN, ...; outcomeNoAnswer when none was recorded
	N       int64
}

// outcomeNoAnswer labels attempts without a recorded answer: in flight, or
// the process died before it could record one. Their outcome is unknown.
const outcomeNoAnswer = "NO_ANSWER"

// attemptCounts counts the campaign's attempts by kind and outcome, for
// /metrics.
func (db *DB) attemptCounts(ctx context.Context, id string) ([]attemptCount, error) {
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT kind, outcome, COUNT(*) FROM redpack_attempts
		WHERE campaign_id = ? GROUP BY kind, outcome ORDER BY kind, outcome`), id)
	if err != nil {
		return nil, fmt.Errorf("campaign %s: attempt counts: %w", id, err)
	}
	defer rows.Close()
	var out []attemptCount
	for rows.Next() {
		var c attemptCount
		if err := rows.Scan(&c.Kind, &c.Outcome, &c.N); err != nil {
			return nil, fmt.Errorf("campaign %s: attempt counts: %w", id, err)
		}
		if c.Outcome == "" {
			c.Outcome = outcomeNoAnswer
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
