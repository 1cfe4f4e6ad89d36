package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redpack-go/redpack/redpacktest"
	"github.com/stretchr/testify/require"
)

// TestCampaignScalePostgres reports rows/s with 1, 2 and 3 workers on one
// Postgres campaign against the fake with no quota. A measurement for the
// closing note, not an assertion on speed: it runs only with
// REDPACK_CAMPAIGN_SCALE=1.
func TestCampaignScalePostgres(t *testing.T) {
	if os.Getenv("REDPACK_CAMPAIGN_SCALE") == "" {
		t.Skip("measurement: set REDPACK_CAMPAIGN_SCALE=1")
	}
	const rows = 6000
	for _, n := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			dsn := pgDSN(t)
			srv, e := newFake(t, redpacktest.WithFreqLimit(0), redpacktest.WithUserDailyLimits(0, 0))
			var b strings.Builder
			b.WriteString("key,openid,amount\n")
			for i := range rows {
				fmt.Fprintf(&b, "k%d,oS%06d,100\n", i, i)
			}
			in := filepath.Join(t.TempDir(), "in.csv")
			require.NoError(t, os.WriteFile(in, []byte(b.String()), 0o600))
			r := runCmd(t, e, "campaign", "plan", "-db", dsn, "-id", "c", "-csv", in, "-send-name", "S", "-wishing", "W", "-act-name", "A", "-remark", "R")
			require.Equal(t, 0, r.code, r.String())
			start := time.Now()
			var ws []*worker
			for range n {
				ws = append(ws, startWorker(t, e, "-db", dsn, "-id", "c", "-rate", "0", "-concurrency", "16"))
			}
			for _, w := range ws {
				require.Equal(t, 0, w.wait(t, 5*time.Minute), w.out.String())
			}
			d := time.Since(start)
			require.Len(t, srv.Packets(), rows)
			t.Logf("SCALE %d workers: %d rows in %v = %.0f rows/s", n, rows, d.Round(time.Millisecond), rows/d.Seconds())
		})
	}
}
