package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/redpack-go/redpack/campaign"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows a campaign's progress: a bar (schollz/progressbar) when w
// is a terminal, else a plain line every plainEvery.
type progress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	start time.Time
	last  time.Time
}

const plainEvery = 5 * time.Second

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newProgress(w io.Writer, total int64, what string) *progress {
	p := &progress{w: w, start: time.Now()}
	if isTerminal(w) {
		p.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish())
	}
	return p
}

// run reports a run's summary.
func (p *progress) run(s *campaign.Summary, final bool) {
	if p.bar != nil {
		p.bar.ChangeMax64(s.Rows)
		p.bar.Describe(fmt.Sprintf("paid %d, failed %d, unknown %d", s.Paid.Rows, s.Failed.Rows, s.Unknown.Rows))
		p.bar.Set64(s.Paid.Rows + s.Failed.Rows) //nolint:errcheck
		if !final {
			return
		}
		p.bar.Finish() //nolint:errcheck
	}
	if !final && time.Since(p.last) < plainEvery {
		return
	}
	p.last = time.Now()
	printProgress(p.w, s, p.start)
}

// plan reports rows stored so far.
func (p *progress) plan(rows int64) {
	if p.bar != nil {
		p.bar.Set64(rows) //nolint:errcheck
		return
	}
	if time.Since(p.last) >= plainEvery {
		p.last = time.Now()
		fmt.Fprintf(p.w, "%s: %d rows checked\n", time.Since(p.start).Round(time.Second), rows)
	}
}

// every is how often the bar (1 s) or the plain lines (plainEvery) need a
// summary.
func (p *progress) every() time.Duration {
	if p.bar != nil {
		return time.Second
	}
	return plainEvery
}
