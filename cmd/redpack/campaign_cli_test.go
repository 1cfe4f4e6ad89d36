package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redpack-go/redpack/campaign"
	"github.com/redpack-go/redpack/redpacktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func planSmall(t *testing.T, e env, db string, rows int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("key,openid,amount\n")
	for i := range rows {
		fmt.Fprintf(&b, "k%d,oCli%05d,%d\n", i, i, 100+i)
	}
	in := filepath.Join(t.TempDir(), "in.csv")
	require.NoError(t, os.WriteFile(in, []byte(b.String()), 0o600))
	r := runCmd(t, e, "campaign", "plan", "-db", db, "-id", "c", "-csv", in, "-send-name", "S", "-wishing", "W", "-act-name", "A", "-remark", "R")
	require.Equal(t, 0, r.code, r.String())
	assert.Contains(t, r.stdout, fmt.Sprintf("stored: %d new rows", rows))
}

func status(t *testing.T, e env, db string) statusJSON {
	t.Helper()
	return statusOf(t, e, db, "c")
}

func statusOf(t *testing.T, e env, db, id string) statusJSON {
	t.Helper()
	r := runCmd(t, e, "campaign", "status", "-db", db, "-id", id, "-json")
	require.Equal(t, 0, r.code, r.String())
	var s statusJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &s))
	return s
}

func waitFor(t *testing.T, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A second run on one SQLite file is refused; SIGTERM stops the first
// cleanly (exit 3, no attempt left without its answer); an operator pause
// stops sending without exiting, resume goes on; run again finishes.
func TestCampaignRunLockSignalPause(t *testing.T) {
	srv, e := newFake(t, redpacktest.WithFreqLimit(0))
	db := filepath.Join(t.TempDir(), "c.db")
	planSmall(t, e, db, 200)
	args := []string{"-db", db, "-id", "c", "-rate", "20", "-backoff", "50ms"}
	w := startWorker(t, e, args...)
	waitFor(t, 10*time.Second, func() bool { return len(srv.Requests()) > 5 }, "the first sends")

	second := startWorker(t, e, args...)
	assert.Equal(t, exitCampaignLocked, second.wait(t, 30*time.Second), second.out.String())
	assert.Contains(t, second.out.String(), "another `redpack campaign run` is working on this database file")

	// Operator pause, seen by the running process through the database.
	cdb, err := campaign.Open(context.Background(), db)
	require.NoError(t, err)
	defer cdb.Close()
	require.NoError(t, cdb.Pause(context.Background(), "c"))
	time.Sleep(1500 * time.Millisecond) // in-flight sends finish
	n := len(srv.Requests())
	time.Sleep(1500 * time.Millisecond)
	assert.Equal(t, n, len(srv.Requests()), "no request while paused")
	select {
	case <-w.done:
		t.Fatal("run exited on an operator pause")
	default:
	}
	assert.Equal(t, "paused", status(t, e, db).State)
	require.NoError(t, cdb.Resume(context.Background(), "c"))
	waitFor(t, 5*time.Second, func() bool { return len(srv.Requests()) > n }, "sending after resume")

	require.NoError(t, w.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, exitCampaignOpen, w.wait(t, 30*time.Second), w.out.String())
	h, err := cdb.Find(context.Background(), "c", "k1")
	require.NoError(t, err)
	require.Len(t, h, 1)
	var open int
	s, err := cdb.Summary(context.Background(), "c")
	require.NoError(t, err)
	for i := range 200 {
		hs, err := cdb.Find(context.Background(), "c", fmt.Sprintf("k%d", i))
		require.NoError(t, err)
		for _, a := range hs[0].Attempts {
			if a.FinishedAt.IsZero() {
				open++
			}
		}
	}
	assert.Zero(t, open, "attempts without answer after SIGTERM")
	assert.Zero(t, s.Unknown.Rows, "a clean stop leaves nothing unknown")

	r := runCmd(t, e, append([]string{"campaign", "run"}, append(args, "-rate", "0")...)...)
	require.Equal(t, 0, r.code, r.String())
	st := status(t, e, db)
	assert.Equal(t, int64(200), st.Paid)
	assert.Nil(t, st.Paused)
	assert.Equal(t, "done", st.State)
	assert.Equal(t, int64(200), int64(len(srv.Packets())))
}

func TestCampaignUsage(t *testing.T) {
	_, e := newFake(t)
	db := filepath.Join(t.TempDir(), "c.db")
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"campaign"}, exitUsage, "redpack campaign plan"},
		{[]string{"campaign", "nope"}, exitUsage, "unknown command"},
		{[]string{"campaign", "plan", "-db", db, "-id", "c"}, exitUsage, "-csv is required"},
		{[]string{"campaign", "status", "-db", db, "-id", "none"}, exitUsage, "no such campaign"},
		{[]string{"campaign", "run", "-db", db}, exitUsage, "-id is required"},
		{[]string{"campaign", "run", "-db", db, "-id", "none"}, exitUsage, "plan it first"},
		{[]string{"campaign", "verify", "-db", db, "-id", "none", "-rate", "-1"}, exitUsage, "-rate must not be negative"},
		{[]string{"campaign", "verify", "-db", db, "-id", "none"}, exitUsage, "no such campaign"},
		{[]string{"campaign", "run", "-db", db, "-id", "none", "-attempts", "5"}, exitUsage, "-attempts, -retry-delay and -attempt-timeout are ignored"},
		{[]string{"campaign", "verify", "-db", db, "-id", "none", "-attempt-timeout", "30s"}, exitUsage, "are ignored"},
	} {
		r := runCmd(t, e, tc.args...)
		assert.Equal(t, tc.code, r.code, "%v: %s", tc.args, r)
		assert.Contains(t, r.stderr, tc.msg, "%v", tc.args)
	}
	// Bad CSV through the CLI: every problem with its line, exit 2, nothing stored.
	in := filepath.Join(t.TempDir(), "bad.csv")
	require.NoError(t, os.WriteFile(in, []byte("openid,amount\no1,abc\no2,5\n"), 0o600))
	r := runCmd(t, e, "campaign", "plan", "-db", db, "-id", "c", "-csv", in, "-send-name", "S", "-wishing", "W", "-act-name", "A", "-remark", "R")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "line 2: amount")
	assert.Contains(t, r.stderr, "line 3: amount")
	r = runCmd(t, e, "campaign", "status", "-db", db, "-id", "c")
	assert.Equal(t, exitUsage, r.code)
}

// verify's table accounts for every row: a row held after a CONFLICT has
// its own line, so the lines add up to the planned total.
func TestCampaignVerifyShowsConflict(t *testing.T) {
	srv, e := newFake(t)
	db := filepath.Join(t.TempDir(), "c.db")
	planSmall(t, e, db, 3)
	inject(t, srv, redpacktest.ResultFail("FATAL_ERROR"), 1)
	r := runCmd(t, e, "campaign", "run", "-db", db, "-id", "c", "-concurrency", "1", "-backoff", "10ms")
	require.Equal(t, exitCampaignPaused, r.code, r.String())
	require.Equal(t, int64(1), status(t, e, db).Conflict, r.String())
	r = runCmd(t, e, "campaign", "verify", "-db", db, "-id", "c")
	require.Equal(t, 0, r.code, r.String())
	assert.Regexp(t, `(?m)^conflict +1 rows `, r.stdout)
}
