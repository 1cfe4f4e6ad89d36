package campaign

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
)

// engine is River as the campaign uses it, the same for both databases.
type engine interface {
	start(ctx context.Context) error
	stop(ctx context.Context)
	// insert adds one job per slice; unique skips slices whose job lives.
	insert(ctx context.Context, queue, campaign string, slices []int64, unique bool) error
	// rescueRunning hands running jobs of the queue that match (all when
	// match is nil) back to work at once: cancel the orphan, insert a
	// replacement. Only for jobs whose worker is known to be dead.
	rescueRunning(ctx context.Context, queue string, match func(attemptedBy []string) bool) (int, error)
}

type riverEngine[TTx any] struct {
	client *river.Client[TTx]
}

type sliceWorker struct {
	river.WorkerDefaults[sliceArgs]
	r *runner
}

func (w *sliceWorker) Work(ctx context.Context, job *river.Job[sliceArgs]) error {
	if job.Args.Campaign != w.r.c.id {
		return nil
	}
	return w.r.workSlice(ctx, job.Args)
}

func (w *sliceWorker) Timeout(*river.Job[sliceArgs]) time.Duration { return jobTimeout }

type fixedRetry struct{}

func (fixedRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(time.Second) }

func (db *DB) newEngine(r *runner) (engine, error) {
	switch db.dialect {
	case dialectPostgres:
		return newRiverEngine[pgx.Tx](riverpgxv5.New(db.pool), r)
	default:
		return newRiverEngine[*sql.Tx](riversqlite.New(db.sql), r)
	}
}

func newRiverEngine[TTx any](driver riverdriver.Driver[TTx], r *runner) (engine, error) {
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &sliceWorker{r: r}); err != nil {
		return nil, err
	}
	logger := r.opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	cfg := &river.Config{
		ID:                   r.worker,
		Queues:               map[string]river.QueueConfig{r.queue(): {MaxWorkers: r.opts.Concurrency}},
		Workers:              workers,
		JobTimeout:           jobTimeout,
		RescueStuckJobsAfter: rescueStuckJobsAfter,
		FetchCooldown:        20 * time.Millisecond,
		FetchPollInterval:    100 * time.Millisecond,
		MaxAttempts:          100000,
		RetryPolicy:          fixedRetry{},
		Logger:               logger,
	}
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("campaign: river: %w", err)
	}
	return &riverEngine[TTx]{client: client}, nil
}

func (e *riverEngine[TTx]) start(ctx context.Context) error {
	// River's own context: Run's ctx ending is a clean stop, done by stop.
	return e.client.Start(context.WithoutCancel(ctx))
}

func (e *riverEngine[TTx]) stop(ctx context.Context) {
	if err := e.client.Stop(ctx); err != nil {
		e.client.StopAndCancel(context.Background()) //nolint:errcheck
	}
}

var uniqueStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled}

func (e *riverEngine[TTx]) insert(ctx context.Context, queue, campaign string, slices []int64, unique bool) error {
	params := make([]river.InsertManyParams, 0, len(slices))
	for _, s := range slices {
		// River works priority 1 first: a slice handed back from a dead
		// worker jumps the queue; the others are 2.
		opts := &river.InsertOpts{Queue: queue, Priority: 2}
		if !unique {
			opts.Priority = 1
		}
		if unique {
			opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByQueue: true, ByState: uniqueStates}
		}
		params = append(params, river.InsertManyParams{Args: sliceArgs{Campaign: campaign, Slice: s}, InsertOpts: opts})
	}
	_, err := e.client.InsertMany(ctx, params)
	return err
}

func (e *riverEngine[TTx]) rescueRunning(ctx context.Context, queue string, match func([]string) bool) (int, error) {
	params := river.NewJobListParams().Queues(queue).States(rivertype.JobStateRunning).First(10000)
	res, err := e.client.JobList(ctx, params)
	if err != nil {
		return 0, err
	}
	var campaign string
	var slices []int64
	for _, j := range res.Jobs {
		if match != nil && !match(j.AttemptedBy) {
			continue
		}
		var a sliceArgs
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			continue
		}
		if _, err := e.client.JobCancel(ctx, j.ID); err != nil {
			return 0, err
		}
		campaign = a.Campaign
		slices = append(slices, a.Slice)
	}
	if len(slices) == 0 {
		return 0, nil
	}
	return len(slices), e.insert(ctx, queue, campaign, slices, false)
}

// lockFile takes an exclusive lock on path (flock: the kernel drops it when
// the process dies, even by SIGKILL). It returns ErrLocked when another
// process holds it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("campaign: lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w (%s is locked); wait for it to end or stop it, or use Postgres for several workers", ErrLocked, path)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil //nolint:errcheck
}
