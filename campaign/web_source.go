package campaign

import (
	"cmp"
	"context"
	"slices"
	"strings"
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
// /metrics, from the Store's AttemptOutcomes.
func (db *DB) attemptCounts(ctx context.Context, id string) ([]attemptCount, error) {
	m, err := db.AttemptOutcomes(ctx, id)
	if err != nil {
		return nil, err
	}
	sums := map[[2]string]int64{}
	for k, n := range m {
		kind, outcome, _ := strings.Cut(k, " ")
		if outcome == "NONE" || outcome == "" {
			outcome = outcomeNoAnswer
		}
		sums[[2]string{kind, outcome}] += n
	}
	out := make([]attemptCount, 0, len(sums))
	for k, n := range sums {
		out = append(out, attemptCount{Kind: k[0], Outcome: k[1], N: n})
	}
	slices.SortFunc(out, func(a, b attemptCount) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Outcome, b.Outcome))
	})
	return out, nil
}
