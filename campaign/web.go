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
	"sync"
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
	logger *slog.Logger
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

// web is the state behind the handler's routes.
type web struct {
	src     webSource
	prefix  string
	refresh time.Duration
	logger  *slog.Logger
	tmpl    *template.Template
	meter   *rateMeter
	river   bool
}

// newWebHandler builds the handler around a source; riverUI (may be nil)
// serves Prefix+"/riverui/" and metrics serves Prefix+"/metrics".
func newWebHandler(src webSource, opts HandlerOptions, riverUI http.Handler, metrics http.Handler) (*Handler, error) {
	prefix := strings.TrimRight(opts.Prefix, "/")
	if prefix != "" && !strings.HasPrefix(prefix, "/") {
		return nil, fmt.Errorf("redpack/campaign: HandlerOptions.Prefix %q must start with /", opts.Prefix)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	refresh := opts.Refresh
	if refresh <= 0 {
		refresh = time.Second
	}
	wb := &web{src: src, prefix: prefix, refresh: refresh, logger: logger, meter: newRateMeter(), river: riverUI != nil}
	tmpl, err := template.New("").Funcs(template.FuncMap{
		"yuan":  formatYuan,
		"path":  url.PathEscape,
		"query": url.QueryEscape,
		"time":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
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
	return &Handler{h: h, logger: logger}, nil
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
	Found    []webRow
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
	var nc *errNoCampaign
	if errors.As(err, &nc) {
		http.Error(w, "404 no such campaign", http.StatusNotFound)
		return
	}
	wb.logger.Error("campaign web view", "err", err)
	http.Error(w, "500 internal error (see the server log)", http.StatusInternalServerError)
}

func (wb *web) index(w http.ResponseWriter, r *http.Request) {
	list, err := wb.src.campaigns(r.Context())
	if err != nil {
		wb.fail(w, err)
		return
	}
	d := pageData{Title: "Campaigns"}
	for _, s := range list {
		d.List = append(d.List, wb.view(s))
	}
	wb.render(w, "index.html", d)
}

func (wb *web) load(ctx context.Context, id string) (summaryView, []failureView, error) {
	s, err := wb.src.summary(ctx, id)
	if err != nil {
		return summaryView{}, nil, err
	}
	fs, err := wb.src.failures(ctx, id)
	if err != nil {
		return summaryView{}, nil, err
	}
	fv := make([]failureView, 0, len(fs))
	for _, f := range fs {
		fv = append(fv, failureView{ErrCode: f.ErrCode, Rows: f.Rows, Fen: f.Fen, Yuan: formatYuan(f.Fen), Advice: f.Advice})
	}
	return wb.view(s), fv, nil
}

func (wb *web) page(w http.ResponseWriter, r *http.Request) {
	s, fv, err := wb.load(r.Context(), r.PathValue("id"))
	if err != nil {
		wb.fail(w, err)
		return
	}
	wb.render(w, "campaign.html", pageData{Title: "Campaign " + s.ID, S: s, Failures: fv})
}

func (wb *web) rows(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s, fv, err := wb.load(r.Context(), id)
	if err != nil {
		wb.fail(w, err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := pageData{Title: "Campaign " + s.ID, S: s, Failures: fv, Query: q}
	if q != "" {
		if d.Found, err = wb.src.find(r.Context(), id, q); err != nil {
			wb.fail(w, err)
			return
		}
		d.Searched = true
	}
	wb.render(w, "campaign.html", d)
}

// pauseReasonMax caps the reason an operator types.
const pauseReasonMax = 200

func (wb *web) pause(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		reason = "paused from the web view"
	}
	if len(reason) > pauseReasonMax {
		reason = reason[:pauseReasonMax]
	}
	wb.act(w, r, func(ctx context.Context, id string) error { return wb.src.pause(ctx, id, reason) })
}

func (wb *web) resume(w http.ResponseWriter, r *http.Request) {
	wb.act(w, r, wb.src.resume)
}

func (wb *web) act(w http.ResponseWriter, r *http.Request, f func(context.Context, string) error) {
	id := r.PathValue("id")
	if err := f(r.Context(), id); err != nil {
		wb.fail(w, err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		wb.apiSummary(w, r)
		return
	}
	http.Redirect(w, r, wb.prefix+"/campaigns/"+url.PathEscape(id), http.StatusSeeOther)
}

func (wb *web) apiList(w http.ResponseWriter, r *http.Request) {
	list, err := wb.src.campaigns(r.Context())
	if err != nil {
		wb.fail(w, err)
		return
	}
	out := make([]summaryJSON, 0, len(list))
	for _, s := range list {
		out = append(out, wb.view(s).json(nil))
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
	if q == "" {
		http.Error(w, "400 the query parameter q (a key, openid or bill number) is required", http.StatusBadRequest)
		return
	}
	rows, err := wb.src.find(r.Context(), r.PathValue("id"), q)
	if err != nil {
		wb.fail(w, err)
		return
	}
	out := make([]rowJSON, 0, len(rows))
	for _, row := range rows {
		out = append(out, newRowJSON(row))
	}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// summaryView is a webSummary with the derived numbers a page shows.
type summaryView struct {
	webSummary
	TotalYuan, PaidYuan, FailedYuan, UnknownYuan string
	Settled                                      int64
	Percent                                      float64
	Rate                                         float64 // rows settled per second, recent
	ETA                                          time.Duration
	HasETA                                       bool
}

func (wb *web) view(s webSummary) summaryView {
	v := summaryView{
		webSummary: s,
		TotalYuan:  formatYuan(s.TotalFen), PaidYuan: formatYuan(s.PaidFen),
		FailedYuan: formatYuan(s.FailedFen), UnknownYuan: formatYuan(s.UnknownFen),
		Settled: s.settled(),
	}
	if s.Rows > 0 {
		v.Percent = 100 * float64(v.Settled) / float64(s.Rows)
	}
	v.Rate = wb.meter.observe(s.ID, v.Settled, time.Now())
	if left := s.Rows - v.Settled; left > 0 && v.Rate > 0 {
		v.ETA = time.Duration(float64(left) / v.Rate * float64(time.Second)).Round(time.Second)
		v.HasETA = true
	} else if left == 0 {
		v.HasETA = true
	}
	return v
}

// RateText and ETAText format the derived numbers for the page.
func (v summaryView) RateText() string { return fmt.Sprintf("%.1f/s", v.Rate) }

func (v summaryView) ETAText() string {
	switch {
	case v.Rows > 0 && v.Settled == v.Rows:
		return "done"
	case v.Paused:
		return "paused"
	case !v.HasETA:
		return "–"
	}
	return v.ETA.String()
}

type failureView struct {
	ErrCode string `json:"err_code"`
	Rows    int64  `json:"rows"`
	Fen     int64  `json:"fen"`
	Yuan    string `json:"yuan"`
	Advice  string `json:"advice"`
}

// summaryJSON is the JSON the page polls; names follow `status -json`.
type summaryJSON struct {
	ID         string        `json:"id"`
	Rows       int64         `json:"rows"`
	Planned    int64         `json:"planned"`
	Paid       int64         `json:"paid"`
	Failed     int64         `json:"failed"`
	Unknown    int64         `json:"unknown"`
	TotalFen   int64         `json:"total_fen"`
	PaidFen    int64         `json:"paid_fen"`
	FailedFen  int64         `json:"failed_fen"`
	UnknownFen int64         `json:"unknown_fen"`
	TotalYuan  string        `json:"total_yuan"`
	PaidYuan   string        `json:"paid_yuan"`
	FailedYuan string        `json:"failed_yuan"`
	Paused     *string       `json:"paused"`
	Percent    float64       `json:"percent"`
	Rate       float64       `json:"rate_per_second"`
	RateText   string        `json:"rate_text"`
	ETASeconds *int64        `json:"eta_seconds"`
	ETAText    string        `json:"eta_text"`
	Failures   []failureView `json:"failures,omitempty"`
}

func (v summaryView) json(fv []failureView) summaryJSON {
	j := summaryJSON{
		ID: v.ID, Rows: v.Rows, Planned: v.Planned, Paid: v.Paid, Failed: v.Failed, Unknown: v.Unknown,
		TotalFen: v.TotalFen, PaidFen: v.PaidFen, FailedFen: v.FailedFen, UnknownFen: v.UnknownFen,
		TotalYuan: v.TotalYuan, PaidYuan: v.PaidYuan, FailedYuan: v.FailedYuan,
		Percent: v.Percent, Rate: v.Rate, RateText: v.RateText(), ETAText: v.ETAText(), Failures: fv,
	}
	if v.Paused {
		reason := v.PauseReason
		j.Paused = &reason
	}
	if v.HasETA {
		s := int64(v.ETA / time.Second)
		j.ETASeconds = &s
	}
	return j
}

type rowJSON struct {
	Key        string      `json:"key"`
	OpenID     string      `json:"openid"`
	Amount     int64       `json:"amount"`
	BillNo     string      `json:"bill_no"`
	Generation int         `json:"generation"`
	Status     string      `json:"status"`
	SendListID string      `json:"send_listid"`
	ErrCode    string      `json:"err_code"`
	WxStatus   string      `json:"wx_status"`
	History    []eventJSON `json:"history"`
}

type eventJSON struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	BillNo  string    `json:"bill_no,omitempty"`
	Outcome string    `json:"outcome,omitempty"`
	Code    string    `json:"code,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

func newRowJSON(r webRow) rowJSON {
	j := rowJSON{Key: r.Key, OpenID: r.OpenID, Amount: r.Amount, BillNo: r.BillNo, Generation: r.Generation,
		Status: r.Status, SendListID: r.SendListID, ErrCode: r.ErrCode, WxStatus: r.WxStatus, History: []eventJSON{}}
	for _, e := range r.History {
		j.History = append(j.History, eventJSON(e))
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

// rateMeter estimates each campaign's recent send rate from the settled
// counts seen at successive reads (every page poll and scrape is one), over
// a sliding window. It needs no clock in the database and works across
// processes, because the counts come from the database.
type rateMeter struct {
	mu      sync.Mutex
	samples map[string][]rateSample
}

type rateSample struct {
	at      time.Time
	settled int64
}

// rateWindow is how far back the rate looks.
const rateWindow = 30 * time.Second

func newRateMeter() *rateMeter { return &rateMeter{samples: map[string][]rateSample{}} }

// observe records a reading and returns the rate in rows per second over
// the window (0 until two readings at least a second apart exist).
func (m *rateMeter) observe(id string, settled int64, now time.Time) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.samples[id]
	if n := len(s); n > 0 && settled < s[n-1].settled {
		s = s[:0] // the count went down (a retry made rows unsettled): start over
	}
	s = append(s, rateSample{now, settled})
	cut := 0
	for cut < len(s)-1 && now.Sub(s[cut].at) > rateWindow {
		cut++
	}
	s = s[cut:]
	if len(s) > 256 {
		s = append(s[:0:0], s[len(s)-256:]...)
	}
	m.samples[id] = s
	first, last := s[0], s[len(s)-1]
	dt := last.at.Sub(first.at).Seconds()
	if dt < 1 {
		return 0
	}
	return float64(last.settled-first.settled) / dt
}
