package campaign

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redpack-go/redpack"
	"github.com/redpack-go/redpack/redpacktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var fastBackoff = Backoff{First: 20 * time.Millisecond, Max: 200 * time.Millisecond, NotSent: 20 * time.Millisecond}

func testClient(srv *redpacktest.Server) *redpack.Client {
	return srv.NewClient(redpack.WithRetryPolicy(redpack.RetryPolicy{MaxAttempts: 1}), redpack.WithTimeout(5*time.Second), redpack.WithNodeID(1))
}

func genCSV(n int, openids int) string {
	var b strings.Builder
	b.WriteString("key,openid,amount\n")
	for i := range n {
		fmt.Fprintf(&b, "k%d,o%07d,%d\n", i, i%openids, 100+i%50)
	}
	return b.String()
}

func TestRunSmall(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			srv := redpacktest.NewServer(redpacktest.WithFreqLimit(0), redpacktest.WithProcessingDelay(100*time.Millisecond))
			defer srv.Close()
			injectFaults(t, srv, 0.04, 50*time.Millisecond)
			_, err := db.Plan(ctx, basePlan("c"), csvOpener(genCSV(300, 300)))
			require.NoError(t, err)
			start := time.Now()
			res, err := db.Run(ctx, "c", RunOptions{Client: testClient(srv), Rate: -1, Backoff: fastBackoff})
			require.NoError(t, err)
			t.Logf("%s: 300 rows in %v", kind, time.Since(start))
			require.True(t, res.Done, "%+v", res)
			assert.Equal(t, int64(300), res.Summary.Paid.Rows)
			assert.Equal(t, int64(300), int64(len(srv.Packets())))
		})
	}
}
