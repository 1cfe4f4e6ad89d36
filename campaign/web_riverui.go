package campaign

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/riverqueue/river"
	"riverqueue.com/riverui"
)

// newRiverUI builds River's own UI (riverqueue.com/riverui) for a River
// client, to be served under prefix+"/riverui/". riverui v0.22.0 picks its
// queries by the driver's database name and supports both of River's SQL
// drivers, SQLite (riversqlite) and Postgres (riverpgxv5). The client need
// not be started: the UI reads and changes River's tables through it.
//
// The returned stop ends the UI's background services (count caches); they
// run until then.
func newRiverUI[TTx any](client *river.Client[TTx], prefix string, logger *slog.Logger) (http.Handler, func(), error) {
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(client, nil),
		Logger:    logger,
		Prefix:    prefix + "/riverui",
	})
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := h.Start(ctx); err != nil {
		cancel()
		return nil, nil, err
	}
	return h, cancel, nil
}
