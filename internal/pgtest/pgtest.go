// Package pgtest gives the Postgres tests of package campaign and
// cmd/redpack a fresh database each on the server named by Env. It is
// imported by tests only.
package pgtest

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// Env names the Postgres server the tests use; unset, the Postgres tests
// skip (CI sets it and fails on any skip).
const Env = "REDPACK_TEST_POSTGRES_URL"

// Server returns the URL of the server named by Env, or skips the test.
func Server(t testing.TB) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		t.Skip("SKIP-POSTGRES: " + Env + " is unset; set it to a postgres:// URL to run the Postgres tests")
	}
	return base
}

// NewDatabase creates database name on the server of base and returns its
// URL; the database is dropped at cleanup.
func NewDatabase(t testing.TB, base, name string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), base); err == nil {
			c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") //nolint:errcheck
			c.Close(context.Background())
		}
	})
	i := strings.LastIndex(base, "/")
	rest := ""
	if j := strings.Index(base[i:], "?"); j >= 0 {
		rest = base[i+j:]
	}
	return base[:i+1] + name + rest
}
