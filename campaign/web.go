package campaign

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// HandlerOptions configure the web view returned by NewHandler.
type HandlerOptions struct {
	// Prefix is the path the handler is mounted at, such as "/admin/redpack"
	// (no trailing slash; default the root). Requests reach the handler with
	// the prefix still in their path: mount it with mux.Handle(prefix+"/", h),
	// not behind http.StripPrefix, because its pages and River's UI link to
	// absolute paths.
	Prefix string

	// Token, when not empty, is required on every request, River's UI and
	// /metrics included: as "Authorization: Bearer TOKEN", or once as
	// ?token=TOKEN on a GET, which sets an HttpOnly, SameSite=Strict cookie.
	// Without it every path answers 401. NewToken makes one. Leave it empty
	// only when the listener is reachable from loopback alone, or when the
	// merchant's own service authenticates in front of the handler.
	Token string

	// LoopbackHostsOnly refuses (403) requests whose Host header is not
	// localhost or a loopback IP, which stops DNS-rebinding pages from
	// reaching a token-less server on 127.0.0.1. `redpack campaign serve`
	// sets it when it runs without a token.
	LoopbackHostsOnly bool

	// DisableRiverUI leaves River's job UI (under Prefix+"/riverui/") out.
	DisableRiverUI bool

	// Refresh is how often an open campaign page asks for fresh numbers
	// (default 1 s).
	Refresh time.Duration

	// Logger receives errors that are not shown to the browser (default:
	// discarded).
	Logger *slog.Logger
}

// Handler is the campaign web view: a list of campaigns, a live page per
// campaign with pause and resume, a row search, a JSON API under /api/,
// Prometheus metrics under /metrics and River's UI under /riverui/. It is
// an http.Handler and safe for concurrent use. Close stops the background
// work of River's UI.
type Handler struct {
	h      http.Handler
	closer func()
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.h.ServeHTTP(w, r) }

// Close stops River's UI background services. It does not close the
// database.
func (h *Handler) Close() error {
	if h.closer != nil {
		h.closer()
	}
	return nil
}

// NewHandler returns the web view of the campaigns in db. It reads db at
// every request (pages, the JSON API and /metrics), so it shows the progress
// of `redpack campaign run` processes elsewhere, and its Pause and Resume
// act on them through the database. River's UI is mounted for either of
// db's drivers, SQLite or Postgres. Close the handler before db.
func NewHandler(db *DB, opts HandlerOptions) (*Handler, error) {
	if db == nil {
		return nil, errors.New("redpack/campaign: NewHandler needs a *DB")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	var ui http.Handler
	stop := func() {}
	if !opts.DisableRiverUI {
		switch {
		case db.riverSQLite != nil:
			ui, stop, err = newRiverUI(db.riverSQLite, opts.Prefix, opts.Logger)
		case db.riverPG != nil:
			ui, stop, err = newRiverUI(db.riverPG, opts.Prefix, opts.Logger)
		}
		if err != nil {
			return nil, fmt.Errorf("redpack/campaign: River UI: %w", err)
		}
	}
	h, err := newWebHandler(db, opts, ui, newMetricsHandler(db))
	if err != nil {
		stop()
		return nil, err
	}
	h.closer = stop
	return h, nil
}

// withDefaults returns o with Prefix normalized (no trailing slash) and the
// defaults of Logger and Refresh filled in.
func (o HandlerOptions) withDefaults() (HandlerOptions, error) {
	p := strings.TrimRight(o.Prefix, "/")
	if p != "" && !strings.HasPrefix(p, "/") {
		return o, fmt.Errorf("redpack/campaign: HandlerOptions.Prefix %q must start with /", p)
	}
	if strings.ContainsAny(p, "{}?#% ") {
		return o, fmt.Errorf("redpack/campaign: HandlerOptions.Prefix %q: use a plain path", p)
	}
	o.Prefix = p
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Refresh <= 0 {
		o.Refresh = time.Second
	}
	return o, nil
}

// web is the state behind the handler's routes.
type web struct {
	src     webSource
	prefix  string
	refresh time.Duration
	logger  *slog.Logger
	tmpl    *template.Template
	river   bool
}

// newWebHandler builds the handler around a source; riverUI (may be nil)
// serves Prefix+"/riverui/" and metrics serves Prefix+"/metrics".
func newWebHandler(src webSource, opts HandlerOptions, riverUI http.Handler, metrics http.Handler) (*Handler, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	prefix := opts.Prefix
	wb := &web{src: src, prefix: prefix, refresh: opts.Refresh, logger: opts.Logger, river: riverUI != nil}
	tmpl, err := template.New("").Funcs(template.FuncMap{
		"yuan": formatYuan,
		"path": url.PathEscape,
		"time": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("01-02 15:04:05.000")
		},
	}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("redpack/campaign: templates: %w", err)
	}
	wb.tmpl = tmpl

	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	p := prefix
	mux.Handle("GET "+p+"/static/", http.StripPrefix(p+"/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET "+p+"/{$}", wb.index)
	mux.HandleFunc("GET "+p+"/campaigns/{id}", wb.page)
	mux.HandleFunc("GET "+p+"/campaigns/{id}/rows", wb.rows)
	mux.HandleFunc("POST "+p+"/campaigns/{id}/pause", wb.pause)
	mux.HandleFunc("POST "+p+"/campaigns/{id}/resume", wb.resume)
	mux.HandleFunc("GET "+p+"/api/campaigns", wb.apiList)
	mux.HandleFunc("GET "+p+"/api/campaigns/{id}", wb.apiSummary)
	mux.HandleFunc("GET "+p+"/api/campaigns/{id}/rows", wb.apiRows)
	if metrics != nil {
		mux.Handle("GET "+p+"/metrics", metrics)
	}
	if riverUI != nil {
		mux.Handle(p+"/riverui/", riverUI)
		mux.Handle("GET "+p+"/riverui", http.RedirectHandler(p+"/riverui/", http.StatusMovedPermanently))
	}
	if p != "" {
		mux.Handle("GET "+p, http.RedirectHandler(p+"/", http.StatusMovedPermanently))
	}

	// Outermost first: the token (401 on any path), the Host check, then
	// cross-origin protection for every state-changing method (our pause
	// and resume, and River UI's job and queue actions).
	var h http.Handler = mux
	h = http.NewCrossOriginProtection().Handler(h)
	if opts.LoopbackHostsOnly {
		h = loopbackHostGuard(h)
	}
	if opts.Token != "" {
		h = newTokenGuard(opts.Token, p+"/", h)
	}
	h = securityHeaders(p, h)
	return &Handler{h: h}, nil
}

// securityHeaders sets headers every answer carries; our own pages also get
// a strict Content-Security-Policy (River's UI brings its own scripts).
func securityHeaders(prefix string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, prefix+"/riverui") {
			h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		}
		next.ServeHTTP(w, r)
	})
}

// pageData is what every template gets.
type pageData struct {
	Prefix   string
	Title    string
	RiverUI  bool
	Refresh  int64 // milliseconds
	List     []summaryView
	S        summaryView
	Failures []failureView
	Query    string
	Found    []RowHistory
	Searched bool
}

func (wb *web) render(w http.ResponseWriter, name string, d pageData) {
	d.Prefix, d.RiverUI, d.Refresh = wb.prefix, wb.river, wb.refresh.Milliseconds()
	var b strings.Builder
	if err := wb.tmpl.ExecuteTemplate(&b, name, d); err != nil {
		wb.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, b.String())
}

// fail answers an error without its details (logged instead): 404 for an
// unknown campaign, 500 for anything else.
func (wb *web) fail(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrNoCampaign) {
		http.Error(w, "404 no such campaign", http.StatusNotFound)
		return
	}
	wb.logger.Error("campaign web view", "err", err)
	http.Error(w, "500 internal error (see the server log)", http.StatusInternalServerError)
}

func (wb *web) index(w http.ResponseWriter, r *http.Request) {
	list, err := wb.src.List(r.Context())
	if err != nil {
		wb.fail(w, err)
		return
	}
	d := pageData{Title: "Campaigns"}
	for _, s := range list {
		d.List = append(d.List, newSummaryView(s))
	}
	wb.render(w, "index.html", d)
}

func (wb *web) load(ctx context.Context, id string) (summaryView, []failureView, error) {
	s, err := wb.src.Summary(ctx, id)
	if err != nil {
		return summaryView{}, nil, err
	}
	fs, err := wb.src.Failures(ctx, id)
	if err != nil {
		return summaryView{}, nil, err
	}
	fv := make([]failureView, 0, len(fs))
	for _, f := range fs {
		fv = append(fv, failureView{ErrCode: f.ErrCode, Rows: f.Rows, Fen: f.Fen, Yuan: formatYuan(f.Fen), Retryable: f.Retryable, Advice: f.Advice})
	}
	return newSummaryView(*s), fv, nil
}

func (wb *web) page(w http.ResponseWriter, r *http.Request) {
	s, fv, err := wb.load(r.Context(), r.PathValue("id"))
	if err != nil {
		wb.fail(w, err)
		return
	}
	wb.render(w, "campaign.html", pageData{Title: "Campaign " + s.ID, S: s, Failures: fv})
}

// queryMax caps a search term (keys, openids and bill numbers are short).
const queryMax = 256

func (wb *web) rows(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s, fv, err := wb.load(r.Context(), id)
	if err != nil {
		wb.fail(w, err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > queryMax {
		http.Error(w, "400 search term too long", http.StatusBadRequest)
		return
	}
	d := pageData{Title: "Campaign " + s.ID, S: s, Failures: fv, Query: q}
	if q != "" {
		if d.Found, err = wb.src.Find(r.Context(), id, q); err != nil {
			wb.fail(w, err)
			return
		}
		d.Searched = true
	}
	wb.render(w, "campaign.html", d)
}

func (wb *web) pause(w http.ResponseWriter, r *http.Request)  { wb.act(w, r, wb.src.Pause) }
func (wb *web) resume(w http.ResponseWriter, r *http.Request) { wb.act(w, r, wb.src.Resume) }

func (wb *web) act(w http.ResponseWriter, r *http.Request, f func(context.Context, string) error) {
	id := r.PathValue("id")
	if err := f(r.Context(), id); err != nil {
		wb.fail(w, err)
		return
	}
	wb.logger.Info("campaign web view", "campaign", id, "action", r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:], "remote", r.RemoteAddr)
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		wb.apiSummary(w, r)
		return
	}
	http.Redirect(w, r, wb.prefix+"/campaigns/"+url.PathEscape(id), http.StatusSeeOther)
}

func (wb *web) apiList(w http.ResponseWriter, r *http.Request) {
	list, err := wb.src.List(r.Context())
	if err != nil {
		wb.fail(w, err)
		return
	}
	out := make([]summaryJSON, 0, len(list))
	for _, s := range list {
		out = append(out, newSummaryView(s).json(nil))
	}
	writeJSON(w, out)
}

func (wb *web) apiSummary(w http.ResponseWriter, r *http.Request) {
	s, fv, err := wb.load(r.Context(), r.PathValue("id"))
	if err != nil {
		wb.fail(w, err)
		return
	}
	writeJSON(w, s.json(fv))
}

func (wb *web) apiRows(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" || len(q) > queryMax {
		http.Error(w, "400 the query parameter q (a key, openid or bill number) is required", http.StatusBadRequest)
		return
	}
	rows, err := wb.src.Find(r.Context(), r.PathValue("id"), q)
	if err != nil {
		wb.fail(w, err)
		return
	}
	if rows == nil {
		rows = []RowHistory{}
	}
	writeJSON(w, rows)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// summaryView is a Summary with the derived numbers a page shows.
type summaryView struct {
	Summary
	Paused                                       bool
	Settled                                      int64
	Percent                                      float64
	TotalYuan, PaidYuan, FailedYuan, UnknownYuan string
	PlannedYuan, ReceivedYuan, RefundedYuan      string
}

func newSummaryView(s Summary) summaryView {
	v := summaryView{
		Summary: s, Paused: s.State == StatePaused, Settled: s.Paid.Rows + s.Failed.Rows,
		TotalYuan: formatYuan(s.TotalFen), PaidYuan: formatYuan(s.Paid.Fen), FailedYuan: formatYuan(s.Failed.Fen),
		UnknownYuan: formatYuan(s.Unknown.Fen), PlannedYuan: formatYuan(s.Planned.Fen),
		ReceivedYuan: formatYuan(s.Received.Fen), RefundedYuan: formatYuan(s.Refunded.Fen),
	}
	if s.Rows > 0 {
		v.Percent = 100 * float64(v.Settled) / float64(s.Rows)
	}
	return v
}

// RateText and ETAText format the send rate and the time left.
func (v summaryView) RateText() string { return fmt.Sprintf("%.1f/s", v.SendRate) }

func (v summaryView) ETAText() string {
	switch {
	case v.State == StateDone:
		return "done"
	case v.Paused:
		return "paused"
	case v.ETA <= 0:
		return "–"
	}
	return v.ETA.String()
}

type failureView struct {
	ErrCode   string `json:"err_code"`
	Rows      int64  `json:"rows"`
	Fen       int64  `json:"fen"`
	Yuan      string `json:"yuan"`
	Retryable int64  `json:"retryable"`
	Advice    string `json:"advice"`
}

// summaryJSON is the JSON the page polls. The names of `status -json` (id,
// rows, planned, paid, failed, unknown, paid_fen, paused) mean the same here.
type summaryJSON struct {
	ID          string        `json:"id"`
	State       string        `json:"state"`
	Rows        int64         `json:"rows"`
	Planned     int64         `json:"planned"`
	Paid        int64         `json:"paid"`
	Failed      int64         `json:"failed"`
	Unknown     int64         `json:"unknown"`
	Conflict    int64         `json:"conflict"`
	Pending     int64         `json:"pending"`
	Received    int64         `json:"received"`
	Refunded    int64         `json:"refunded"`
	TotalFen    int64         `json:"total_fen"`
	PlannedFen  int64         `json:"planned_fen"`
	PaidFen     int64         `json:"paid_fen"`
	FailedFen   int64         `json:"failed_fen"`
	UnknownFen  int64         `json:"unknown_fen"`
	ConflictFen int64         `json:"conflict_fen"`
	TotalYuan   string        `json:"total_yuan"`
	PlannedYuan string        `json:"planned_yuan"`
	PaidYuan    string        `json:"paid_yuan"`
	FailedYuan  string        `json:"failed_yuan"`
	UnknownYuan string        `json:"unknown_yuan"`
	Paused      *string       `json:"paused"`
	PauseKind   string        `json:"pause_kind,omitempty"`
	Workers     int           `json:"workers"`
	Percent     float64       `json:"percent"`
	SendRate    float64       `json:"send_rate"`
	RateText    string        `json:"rate_text"`
	ETASeconds  *int64        `json:"eta_seconds"`
	ETAText     string        `json:"eta_text"`
	Failures    []failureView `json:"failures,omitempty"`
}

func (v summaryView) json(fv []failureView) summaryJSON {
	j := summaryJSON{
		ID: v.ID, State: v.State, Rows: v.Rows,
		Planned: v.Planned.Rows, Paid: v.Paid.Rows, Failed: v.Failed.Rows, Unknown: v.Unknown.Rows,
		Conflict: v.Conflict.Rows, ConflictFen: v.Conflict.Fen,
		Pending: v.Pending.Rows, Received: v.Received.Rows, Refunded: v.Refunded.Rows,
		TotalFen: v.TotalFen, PlannedFen: v.Planned.Fen, PaidFen: v.Paid.Fen, FailedFen: v.Failed.Fen, UnknownFen: v.Unknown.Fen,
		TotalYuan: v.TotalYuan, PlannedYuan: v.PlannedYuan, PaidYuan: v.PaidYuan, FailedYuan: v.FailedYuan, UnknownYuan: v.UnknownYuan,
		PauseKind: v.PauseKind, Workers: v.Workers, Percent: v.Percent, SendRate: v.SendRate,
		RateText: v.RateText(), ETAText: v.ETAText(), Failures: fv,
	}
	if v.Paused {
		reason := v.PauseReason
		j.Paused = &reason
	}
	if v.ETA > 0 {
		s := int64(v.ETA / time.Second)
		j.ETASeconds = &s
	}
	return j
}

// formatYuan writes fen as yuan with two decimals: 12345 -> "123.45".
func formatYuan(fen int64) string {
	sign := ""
	u := uint64(fen)
	if fen < 0 {
		sign, u = "-", uint64(-fen)
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}
