package campaign

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

type uiTestArgs struct {
	Row string `json:"row"`
}

func (uiTestArgs) Kind() string { return "web_ui_test" }

// riverUI v0.22.0 serves a SQLite-backed River: its HTML, its state counts
// and its job list, under a prefix, behind the token.
func TestRiverUIOnSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "river.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	driver := riversqlite.New(db)
	mig, err := rivermigrate.New(driver, nil)
	require.NoError(t, err)
	_, err = mig.Migrate(ctx, rivermigrate.DirectionUp, nil)
	require.NoError(t, err)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	client, err := river.NewClient(driver, &river.Config{Logger: logger})
	require.NoError(t, err)
	_, err = client.Insert(ctx, uiTestArgs{Row: "k1"}, nil)
	require.NoError(t, err)

	const prefix = "/admin"
	ui, stop, err := newRiverUI(client, prefix, logger)
	require.NoError(t, err)
	t.Cleanup(stop)
	src := newMemSource()
	h, err := newWebHandler(src, HandlerOptions{Prefix: prefix, Token: testToken}, ui, newMetricsHandler(src))
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	get := func(path string, auth bool) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		require.NoError(t, err)
		if auth {
			req.Header.Set("Authorization", "Bearer "+testToken)
		}
		res, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res, b
	}

	res, body := get(prefix+"/riverui/", true)
	require.Equal(t, 200, res.StatusCode, string(body))
	assert.Contains(t, string(body), "<html")
	assert.Contains(t, string(body), prefix+"/riverui", "the UI knows its prefix")

	res, body = get(prefix+"/riverui/api/states", true)
	require.Equal(t, 200, res.StatusCode, string(body))
	var states map[string]any
	require.NoError(t, json.Unmarshal(body, &states), string(body))

	res, body = get(prefix+"/riverui/api/jobs?state=available", true)
	require.Equal(t, 200, res.StatusCode, string(body))
	var jobs struct {
		Data []struct {
			Kind string `json:"kind"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &jobs), string(body))
	require.Len(t, jobs.Data, 1, string(body))
	assert.Equal(t, "web_ui_test", jobs.Data[0].Kind)

	for _, p := range []string{prefix + "/riverui/", prefix + "/riverui/api/states", prefix + "/riverui/api/jobs?state=available"} {
		res, _ := get(p, false)
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode, p)
	}
}
