package campaign

import (
	"context"
	"time"
)

// webSource is what the web view and the metrics collector read and change.
// It is a narrow seam so that the handler, its security and its templates
// can be tested without a database; the real one adapts *DB (web_db.go).
// Every method reads the database at call time, so a page shows what a run
// in another process has written.
type webSource interface {
	campaigns(ctx context.Context) ([]webSummary, error)
	summary(ctx context.Context, id string) (webSummary, error)
	failures(ctx context.Context, id string) ([]webFailure, error)
	// find returns the rows whose key, openid or bill number equals q.
	find(ctx context.Context, id, q string) ([]webRow, error)
	pause(ctx context.Context, id, reason string) error
	resume(ctx context.Context, id string) error
	// sends counts send attempts by outcome ("OK", "UNKNOWN", ...).
	sends(ctx context.Context, id string) (map[string]int64, error)
}

// errNoCampaign is returned by a webSource for an unknown campaign id.
type errNoCampaign struct{ id string }

func (e *errNoCampaign) Error() string { return "redpack/campaign: no campaign " + e.id }

// webSummary is one campaign's progress as the web view shows it. Amounts
// are in fen.
type webSummary struct {
	ID          string
	Rows        int64
	Planned     int64
	Paid        int64
	Failed      int64
	Unknown     int64
	TotalFen    int64
	PaidFen     int64
	FailedFen   int64
	UnknownFen  int64
	Paused      bool
	PauseReason string
	CreatedAt   time.Time
}

// settled is the number of rows that need no more sending.
func (s webSummary) settled() int64 { return s.Paid + s.Failed }

// webFailure is one err_code's share of a campaign's failed rows.
type webFailure struct {
	ErrCode string
	Rows    int64
	Fen     int64
	Advice  string
}

// webRow is one campaign row with its whole history.
type webRow struct {
	Key        string
	OpenID     string
	Amount     int64
	BillNo     string
	Generation int
	Status     string
	SendListID string
	ErrCode    string
	WxStatus   string
	History    []webEvent
}

// webEvent is one thing that happened to a row: an attempt, its answer, a
// query.
type webEvent struct {
	At      time.Time
	Kind    string // "send", "query", ...
	BillNo  string
	Outcome string
	Code    string
	Detail  string
}
