package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/redpack-go/redpack/campaign"
)

const serveSynopsis = "redpack campaign serve -db DB [-addr 127.0.0.1:8080]"

// envServeToken is the access token of `campaign serve`; when unset and the
// address is not loopback, a fresh one is generated and printed once.
const envServeToken = "REDPACK_SERVE_TOKEN"

// serveShutdownTimeout is how long open requests may take after SIGINT or
// SIGTERM.
const serveShutdownTimeout = 5 * time.Second

// runCampaignServe serves the campaign web view (campaign.NewHandler) until
// ctx ends: exit 0 when stopped, 2 for bad flags or configuration, 1 when it
// cannot open the database or listen. The first line on stdout is the URL
// to open (with ?token= when the token was generated).
func runCampaignServe(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	fs := newFlagSet("campaign serve", serveSynopsis, stderr)
	dsn := fs.String("db", "", campaignDBFlagPrompt)
	addr := fs.String("addr", "127.0.0.1:8080", "`host:port` to listen on; any address but loopback requires the access token ($"+envServeToken+", or one generated and printed at start)")
	prefix := fs.String("prefix", "", "serve under this `path` (e.g. /redpack) instead of the root")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return parseExit(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "redpack campaign serve: unexpected argument %q\nUsage: %s\n", pos[0], serveSynopsis)
		return exitUsage
	}
	*dsn = campaignDSN(*dsn, env)
	sec, err := serveSecurity(*addr, env(envServeToken))
	if err != nil {
		fmt.Fprintf(stderr, "redpack campaign serve: %v\n", err)
		return exitUsage
	}
	if !campaign.IsPostgresDSN(*dsn) {
		if _, err := os.Stat(*dsn); err != nil {
			fmt.Fprintf(stderr, "redpack campaign serve: no campaign database at %q (plan a campaign first, or give -db)\n", *dsn)
			return exitUsage
		}
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	db, err := campaign.Open(ctx, *dsn)
	if err != nil {
		fmt.Fprintf(stderr, "redpack campaign serve: %v\n", err)
		return exitInternal
	}
	defer db.Close()
	h, err := campaign.NewHandler(db, campaign.HandlerOptions{
		Prefix: *prefix, Token: sec.token, LoopbackHostsOnly: sec.loopbackOnly, Logger: logger,
	})
	if err != nil {
		fmt.Fprintf(stderr, "redpack campaign serve: %v\n", err)
		return exitUsage
	}
	defer h.Close()

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "redpack campaign serve: %v\n", err)
		return exitInternal
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	base := serveURL(ln.Addr(), *addr, *prefix)
	switch {
	case sec.generated:
		fmt.Fprintf(stdout, "%s?token=%s\n", base, url.QueryEscape(sec.token))
		fmt.Fprintf(stderr, "redpack campaign serve: listening on %s; every request needs the access token generated for this run: open the URL above once (it sets a cookie), or send \"Authorization: Bearer TOKEN\". It is printed only now; set %s to choose one.\n", ln.Addr(), envServeToken)
	case sec.token != "":
		fmt.Fprintln(stdout, base)
		fmt.Fprintf(stderr, "redpack campaign serve: listening on %s; every request needs the token from %s (open the URL with ?token=TOKEN once, or send \"Authorization: Bearer TOKEN\")\n", ln.Addr(), envServeToken)
	default:
		fmt.Fprintln(stdout, base)
		fmt.Fprintf(stderr, "redpack campaign serve: listening on %s (loopback only, no token); River UI under %s/riverui/, metrics under %s/metrics\n", ln.Addr(), *prefix, *prefix)
	}
	fmt.Fprintln(stderr, "redpack campaign serve: stop with Ctrl-C (SIGINT) or SIGTERM")

	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		fmt.Fprintf(stderr, "redpack campaign serve: %v\n", err)
		return exitInternal
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), serveShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintf(stderr, "redpack campaign serve: shutdown: %v\n", err)
	}
	fmt.Fprintln(stderr, "redpack campaign serve: stopped")
	return exitOK
}

// serveSec is how a serve run protects itself.
type serveSec struct {
	token        string // required on every request when not empty
	generated    bool   // token made for this run (print it once)
	loopbackOnly bool   // no token: refuse non-loopback Host headers
}

// serveSecurity decides the protection for a listen address: a loopback
// address runs without a token unless envToken is set (and then checks the
// Host header against DNS rebinding); any other address (including an empty
// host, which is every interface, and host names, which may resolve to
// anything) requires envToken or a generated token.
func serveSecurity(addr, envToken string) (serveSec, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return serveSec{}, fmt.Errorf("-addr %q: want host:port, such as 127.0.0.1:8080", addr)
	}
	if envToken != "" {
		if len(envToken) < 16 {
			return serveSec{}, fmt.Errorf("%s is too short: use at least 16 characters (32 random bytes are best)", envServeToken)
		}
		return serveSec{token: envToken}, nil
	}
	if isLoopbackHost(host) {
		return serveSec{loopbackOnly: true}, nil
	}
	tok, err := campaign.NewToken()
	if err != nil {
		return serveSec{}, err
	}
	return serveSec{token: tok, generated: true}, nil
}

// serveURL is the URL to open for the listener: the bound port with the
// host given (or 127.0.0.1 when the host was empty or unspecified).
func serveURL(bound net.Addr, addr, prefix string) string {
	host, _, _ := net.SplitHostPort(addr)
	_, port, _ := net.SplitHostPort(bound.String())
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + prefix + "/"
}
