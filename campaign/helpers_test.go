package campaign

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redpack-go/redpack/internal/pgtest"
	"github.com/redpack-go/redpack/redpacktest"
	"github.com/stretchr/testify/require"
)

// EnvPostgres names the Postgres server the tests use; unset, the Postgres
// tests skip (CI sets it and fails on any skip).
const EnvPostgres = pgtest.Env

var pgSeq atomic.Int64

// testDSN returns a fresh database of the kind: a SQLite file in a temp
// dir, or a new database on the server named by REDPACK_TEST_POSTGRES_URL.
func testDSN(t testing.TB, kind string) string {
	t.Helper()
	if kind == "sqlite" {
		return filepath.Join(t.TempDir(), "c.db")
	}
	return pgtest.NewDatabase(t, pgtest.Server(t), fmt.Sprintf("rp_test_%d_%d", os.Getpid(), pgSeq.Add(1)))
}

var kinds = []string{"sqlite", "postgres"}

func openTest(t testing.TB, kind string) *DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := Open(ctx, testDSN(t, kind))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func csvOpener(s string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(s)), nil }
}

var _ = sql.ErrNoRows

// injectFaults makes every fault kind (the seven of SPEC's table: system
// error, PROCESSING, HTML 502, slow answer, reset before work, pay then
// drop, FREQ_LIMIT) hit each request to any endpoint with probability p:
// 7p in all.
func injectFaults(t testing.TB, srv *redpacktest.Server, p float64, slow time.Duration) {
	t.Helper()
	for _, a := range FaultAnswers(slow) {
		require.NoError(t, srv.InjectRandom(redpacktest.AnyEndpoint, a, p))
	}
}
