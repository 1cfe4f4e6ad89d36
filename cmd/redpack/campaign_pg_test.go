package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// createPGDatabase creates database name on the server of base and returns
// its URL; the database is dropped at cleanup.
func createPGDatabase(t *testing.T, base, name string) string {
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
