package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redpack-go/redpack/campaign"
	"github.com/redpack-go/redpack/internal/pgtest"
	"github.com/redpack-go/redpack/redpacktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var campaignLong = flag.Bool("campaign.long", false, "run the campaign soaks at full size (100,000 rows on SQLite)")

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// redpackBin builds cmd/redpack once per test binary.
func redpackBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "redpack-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "redpack")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, binErr)
	return binPath
}

// childEnv is the process environment with the fake's REDPACK_* settings.
func childEnv(e env) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REDPACK_") {
			out = append(out, kv)
		}
	}
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}

// worker is one `redpack campaign run` child process.
type worker struct {
	cmd     *exec.Cmd
	started time.Time
	out     *syncBuffer
	done    chan struct{}
	code    int
}

func startWorker(t *testing.T, e env, args ...string) *worker {
	t.Helper()
	w := &worker{out: &syncBuffer{}, done: make(chan struct{})}
	w.cmd = exec.Command(redpackBin(t), append([]string{"campaign", "run"}, args...)...)
	w.cmd.Env = childEnv(e)
	w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
	w.started = time.Now()
	require.NoError(t, w.cmd.Start())
	go func() {
		err := w.cmd.Wait()
		w.code = 0
		if err != nil {
			w.code = w.cmd.ProcessState.ExitCode()
			if ws, ok := w.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				w.code = -int(ws.Signal())
			}
		}
		close(w.done)
	}()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			w.cmd.Process.Kill() //nolint:errcheck
			<-w.done
		}
	})
	return w
}

func (w *worker) kill() { w.cmd.Process.Signal(syscall.SIGKILL); <-w.done } //nolint:errcheck

func (w *worker) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-w.done:
		return w.code
	case <-time.After(d):
		t.Fatalf("worker did not finish within %v:\n%s", d, w.out.String())
		return 0
	}
}

type soakConfig struct {
	dsn         string
	rows        int
	rate        int // -rate, total
	workers     int // started at once
	kills       int // SIGKILLs (SQLite: of the only worker, restarted; Postgres: one of the workers)
	late        bool
	concurrency int
	notEnough   bool // SQLite: the balance runs out once (NOTENOUGH), run again after the top-up
}

// soak plans cfg.rows rows, runs them against the fake with every fault
// kind at a combined 21% and per-user daily limits, kills workers with
// SIGKILL, and checks: no bill number and no row paid twice, every row
// settled, the report equal to the ledger, the rate never above -rate in
// any one-second window at the fake, sending resumed within 5 s of every
// restart.
func soak(t *testing.T, cfg soakConfig) {
	srv, e := newFake(t, redpacktest.WithFreqLimit(cfg.rate*3), redpacktest.WithProcessingDelay(300*time.Millisecond), redpacktest.WithUserDailyLimits(1, 100000), redpacktest.WithSeed(7))
	injectFaults(t, srv, 0.03, 300*time.Millisecond)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	var b strings.Builder
	b.WriteString("key,openid,amount\n")
	distinct := cfg.rows * 19 / 20 // 5% of rows share an openid with another: SENDNUM_LIMIT
	for i := range cfg.rows {
		fmt.Fprintf(&b, "k%d,oSoak%07d,%d\n", i, i%distinct, 100+i%300)
	}
	require.NoError(t, os.WriteFile(in, []byte(b.String()), 0o600))
	r := runCmd(t, e, "campaign", "plan", "-db", cfg.dsn, "-id", "soak", "-csv", in, "-send-name", "Soak", "-wishing", "Thanks", "-act-name", "Soak", "-remark", "r")
	require.Equal(t, 0, r.code, r.String())

	args := []string{"-db", cfg.dsn, "-id", "soak", "-rate", fmt.Sprint(cfg.rate), "-concurrency", fmt.Sprint(cfg.concurrency),
		"-backoff", "50ms", "-backoff-max", "1s"}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	start := time.Now()
	var workers []*worker
	for range cfg.workers {
		workers = append(workers, startWorker(t, e, args...))
	}
	var restarts []time.Time
	var kills []kill
	if cfg.workers == 1 {
		for k := range cfg.kills {
			time.Sleep(time.Duration(500+rng.IntN(2000)) * time.Millisecond)
			w := workers[len(workers)-1]
			select {
			case <-w.done:
				t.Logf("worker ended before kill %d: exit %d", k, w.code)
			default:
				kills = append(kills, kill{pid: w.cmd.Process.Pid, at: time.Now()})
				w.kill()
			}
			workers = append(workers, startWorker(t, e, args...))
			restarts = append(restarts, time.Now())
		}
		if cfg.notEnough {
			// The balance runs out: WeChat Pay answers NOTENOUGH (and
			// pays nothing). The campaign pauses, run exits 5 with the
			// reason; after the top-up, run again resumes.
			time.Sleep(500 * time.Millisecond)
			require.NoError(t, srv.Inject(redpacktest.EndpointSend, redpacktest.ResultFail("NOTENOUGH"), 3))
			w := workers[len(workers)-1]
			code := w.wait(t, time.Minute)
			require.Equal(t, exitCampaignPaused, code, w.out.String())
			require.Contains(t, w.out.String(), "paused: NOTENOUGH")
			st := statusOf(t, e, cfg.dsn, "soak")
			require.NotNil(t, st.Paused)
			require.Equal(t, "paused", st.State)
			t.Logf("SOAK paused on NOTENOUGH with %d paid, %d failed, %d unknown, %d planned", st.Paid, st.Failed, st.Unknown, st.Planned)
			workers = append(workers, startWorker(t, e, args...))
			restarts = append(restarts, time.Now())
		}
	} else {
		time.Sleep(time.Duration(2000+rng.IntN(2000)) * time.Millisecond)
		for k := range cfg.kills {
			kills = append(kills, kill{pid: workers[k].cmd.Process.Pid, at: time.Now()})
			workers[k].kill()
			t.Logf("killed worker %d at %v", k, time.Since(start).Round(time.Millisecond))
		}
		if cfg.late {
			time.Sleep(time.Second)
			workers = append(workers, startWorker(t, e, args...))
			t.Logf("started a late worker at %v", time.Since(start).Round(time.Millisecond))
		}
	}
	for i, w := range workers {
		select {
		case <-w.done:
			if w.code < 0 {
				continue // killed
			}
		default:
		}
		code := w.wait(t, max(5*time.Minute, time.Duration(cfg.rows/50)*time.Second))
		if code < 0 || (code == exitCampaignPaused && cfg.notEnough && i < len(workers)-1) {
			continue
		}
		require.Equal(t, 0, code, "worker %d:\n%s", i, w.out.String())
	}
	elapsed := time.Since(start)

	// Report against ledger.
	rep := filepath.Join(dir, "report.csv")
	r = runCmd(t, e, "campaign", "report", "-db", cfg.dsn, "-id", "soak", "-o", rep)
	require.Equal(t, 0, r.code, r.String())
	f, err := os.Open(rep)
	require.NoError(t, err)
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	require.NoError(t, err)
	require.Equal(t, campaign.ReportColumns, recs[0])
	recs = recs[1:]
	require.Len(t, recs, cfg.rows)

	packets := map[string]redpacktest.Packet{}
	for _, p := range srv.Packets() {
		packets[p.BillNo] = p
	}
	var paid, failed int
	var paidFen int64
	seenBills := map[string]bool{}
	for _, rec := range recs {
		key, openid, amount, bill, status, listID, code := rec[0], rec[1], rec[2], rec[3], rec[4], rec[5], rec[6]
		require.False(t, seenBills[bill], "bill %s on two rows", bill)
		seenBills[bill] = true
		p, inLedger := packets[bill]
		switch status {
		case campaign.StatusPaid:
			paid++
			require.True(t, inLedger, "row %s PAID but bill %s not in the ledger", key, bill)
			assert.Equal(t, openid, p.OpenID)
			assert.Equal(t, amount, fmt.Sprint(p.Amount))
			assert.Equal(t, listID, p.SendListID, "row %s", key)
			assert.NotEqual(t, "FAILED", string(p.Status), "row %s PAID but the ledger says FAILED", key)
			paidFen += p.Amount
		case campaign.StatusFailed:
			failed++
			if inLedger {
				assert.Equal(t, "FAILED", string(p.Status), "row %s FAILED (%s) but the ledger has %s", key, code, p.Status)
			}
		default:
			t.Errorf("row %s left %s", key, status)
		}
	}
	// Every paid packet in the ledger is a PAID row's current bill: nothing
	// paid twice under two bill numbers, nothing paid that the report lacks.
	var ledgerPaid int
	for _, p := range srv.Packets() {
		if p.Status == "FAILED" {
			continue
		}
		ledgerPaid++
		require.True(t, seenBills[p.BillNo], "the ledger paid bill %s, which no row holds: paid twice or lost", p.BillNo)
	}
	assert.Equal(t, paid, ledgerPaid, "PAID rows vs paid packets")
	assert.Equal(t, srv.TotalPaid(), paidFen)
	assert.Positive(t, failed, "the per-user limit should fail some rows")

	// Rate at the fake, every sliding one-second window.
	var times []time.Time
	for _, q := range srv.Requests() {
		if q.Endpoint != "" {
			times = append(times, q.Time)
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	maxWin, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) >= time.Second {
			j++
		}
		maxWin = max(maxWin, i-j+1)
	}
	assert.LessOrEqual(t, maxWin, cfg.rate, "requests in one sliding second")
	var resume []time.Duration
	for _, at := range restarts {
		for _, q := range times {
			if q.After(at) {
				resume = append(resume, q.Sub(at))
				break
			}
		}
	}
	for _, d := range resume {
		assert.Less(t, d, 5*time.Second, "sending resumed after a restart")
	}
	takeover := takeoverTimes(t, cfg.dsn, kills)
	for _, d := range takeover {
		assert.Less(t, d, 60*time.Second, "a killed worker's in-flight rows taken over")
	}
	t.Logf("SOAK takeover of a killed worker's in-flight rows after: %v", takeover)
	t.Logf("SOAK %d rows, %d workers, %d kills: %v, paid %d (%s yuan), failed %d, requests %d, max per 1s window %d (rate %d), resume after kill %v",
		cfg.rows, cfg.workers, cfg.kills, elapsed.Round(time.Millisecond), paid, campaign.Yuan(paidFen), failed, len(times), maxWin, cfg.rate, resume)
}

// soakEnabled: the soaks take a minute or more; .ci/run runs them once, in
// its campaign block, with REDPACK_CAMPAIGN_SOAK=1.
func soakEnabled(t *testing.T) {
	if os.Getenv("REDPACK_CAMPAIGN_SOAK") == "" && !*campaignLong {
		t.Skip("soak: set REDPACK_CAMPAIGN_SOAK=1 (as .ci/run does) or -campaign.long")
	}
}

func TestCampaignSoakSQLite(t *testing.T) {
	soakEnabled(t)
	rows := 2500
	if *campaignLong {
		rows = 100000
	}
	soak(t, soakConfig{dsn: filepath.Join(t.TempDir(), "soak.db"), rows: rows, rate: 200, workers: 1, kills: 4, concurrency: 16, notEnough: true})
}

func pgDSN(t *testing.T) string {
	t.Helper()
	base := pgtest.Server(t)
	ctx := context.Background()
	db, err := campaign.Open(ctx, base)
	require.NoError(t, err)
	db.Close()
	name := fmt.Sprintf("rp_cli_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	require.NoError(t, exec.Command("true").Run())
	return pgtest.NewDatabase(t, base, name)
}

func TestCampaignSoakPostgres(t *testing.T) {
	soakEnabled(t)
	dsn := pgDSN(t)
	soak(t, soakConfig{dsn: dsn, rows: 10000, rate: 200, workers: 3, kills: 1, late: true, concurrency: 16})
}

// injectFaults makes each of the seven fault kinds (system error,
// PROCESSING, HTML 502, slow answer, reset before work, pay then drop,
// FREQ_LIMIT) hit each request to any endpoint with probability p: 7p in all.
func injectFaults(t *testing.T, srv *redpacktest.Server, p float64, slow time.Duration) {
	t.Helper()
	for _, a := range []redpacktest.Answer{
		redpacktest.ResultFail("SYSTEMERROR"), redpacktest.Processing(), redpacktest.HTTPStatus(502),
		redpacktest.Process().After(slow), redpacktest.Drop(), redpacktest.PayThenDrop(), redpacktest.ResultFail("FREQ_LIMIT"),
	} {
		require.NoError(t, srv.InjectRandom(redpacktest.AnyEndpoint, a, p))
	}
}

type kill struct {
	pid int
	at  time.Time
}

// takeoverTimes returns, for every attempt a killed worker left without an
// answer, how long after the kill another worker claimed the row (the claim
// closes the orphaned attempt as unknown).
func takeoverTimes(t *testing.T, dsn string, kills []kill) []time.Duration {
	t.Helper()
	if len(kills) == 0 {
		return nil
	}
	driver, name := "sqlite", dsn
	if campaign.IsPostgresDSN(dsn) {
		driver = "pgx"
	}
	db, err := sql.Open(driver, name)
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT worker, finished_at FROM redpack_attempts WHERE detail LIKE 'no answer recorded%'`)
	require.NoError(t, err)
	defer rows.Close()
	var out []time.Duration
	for rows.Next() {
		var w string
		var fin int64
		require.NoError(t, rows.Scan(&w, &fin))
		for _, k := range kills {
			if strings.Contains(w, fmt.Sprintf("-%d-", k.pid)) {
				out = append(out, time.UnixMicro(fin).Sub(k.at).Round(time.Millisecond))
			}
		}
	}
	require.NoError(t, rows.Err())
	return out
}
