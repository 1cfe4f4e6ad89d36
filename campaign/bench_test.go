package campaign

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redpack-go/redpack/redpacktest"
	"github.com/stretchr/testify/require"
)

// BenchmarkRun measures run throughput against the fake with no quota
// (rows/s), with one River job per row (slice 1) against one job per slice
// of DefaultSliceSize rows, on both databases. b.N is the number of rows.
func BenchmarkRun(b *testing.B) {
	for _, kind := range kinds {
		for _, slice := range []int{1, DefaultSliceSize} {
			b.Run(fmt.Sprintf("%s/slice=%d", kind, slice), func(b *testing.B) {
				if kind == "postgres" && os.Getenv(EnvPostgres) == "" {
					b.Skip("SKIP-POSTGRES: " + EnvPostgres + " unset")
				}
				db := openTest(b, kind)
				ctx := context.Background()
				srv := redpacktest.NewServer(redpacktest.WithFreqLimit(0), redpacktest.WithUserDailyLimits(0, 0))
				defer srv.Close()
				n := max(b.N, 100)
				opts := basePlan("b")
				opts.SliceSize = slice
				_, err := db.Plan(ctx, opts, csvOpener(genCSV(n, n)))
				require.NoError(b, err)
				b.ResetTimer()
				start := time.Now()
				res, err := db.Run(ctx, "b", RunOptions{Client: testClient(srv), Rate: -1, Concurrency: 16, Backoff: fastBackoff})
				require.NoError(b, err)
				require.True(b, res.Done)
				b.ReportMetric(float64(n)/time.Since(start).Seconds(), "rows/s")
			})
		}
	}
}

// BenchmarkPlan measures planning (parse, validate, store) per row.
func BenchmarkPlan(b *testing.B) {
	db := openTest(b, "sqlite")
	in := genCSV(max(b.N, 1), max(b.N, 1))
	b.ResetTimer()
	_, err := db.Plan(context.Background(), basePlan("p"), csvOpener(in))
	require.NoError(b, err)
}
