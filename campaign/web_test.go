package campaign

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memSource is an in-memory webSource for the handler's own tests (routing,
// templates, security); the tests against a real database and real `run`
// processes are in web_db_test.go and web_browser_test.go.
type memSource struct {
	mu     sync.Mutex
	sums   map[string]webSummary
	fails  map[string][]webFailure
	rows   map[string][]webRow
	sent   map[string]map[string]int64
	pauses []string // "id:reason" / "id:resume"
}

func newMemSource() *memSource {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return &memSource{
		sums: map[string]webSummary{
			"spring-2026": {ID: "spring-2026", Rows: 10, Planned: 4, Paid: 3, Failed: 2, Unknown: 1,
				TotalFen: 10000, PaidFen: 3000, FailedFen: 2000, UnknownFen: 1000, CreatedAt: at},
			"a b/c<x>": {ID: "a b/c<x>", Rows: 1, Planned: 1, TotalFen: 100, CreatedAt: at},
		},
		fails: map[string][]webFailure{
			"spring-2026": {{ErrCode: "SENDNUM_LIMIT", Rows: 2, Fen: 2000, Advice: "raise the per-user daily count"}},
		},
		rows: map[string][]webRow{
			"spring-2026": {{Key: "k1", OpenID: "o-alice", Amount: 1000, BillNo: "1900000109C0000000000000000A", Status: "PAID",
				SendListID: "1000041701201412113016000000", History: []webEvent{
					{At: at, Kind: "send", BillNo: "1900000109C0000000000000000A", Outcome: "UNKNOWN", Code: "SYSTEMERROR"},
					{At: at.Add(time.Second), Kind: "send", BillNo: "1900000109C0000000000000000A", Outcome: "OK"},
				}}},
		},
		sent: map[string]map[string]int64{"spring-2026": {"OK": 3, "UNKNOWN": 4, "FINAL": 2}},
	}
}

func (m *memSource) campaigns(context.Context) ([]webSummary, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []webSummary
	for _, id := range []string{"a b/c<x>", "spring-2026"} {
		out = append(out, m.sums[id])
	}
	return out, nil
}

func (m *memSource) summary(_ context.Context, id string) (webSummary, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sums[id]
	if !ok {
		return webSummary{}, &errNoCampaign{id}
	}
	return s, nil
}

func (m *memSource) failures(_ context.Context, id string) ([]webFailure, error) {
	return m.fails[id], nil
}

func (m *memSource) find(_ context.Context, id, q string) ([]webRow, error) {
	var out []webRow
	for _, r := range m.rows[id] {
		if r.Key == q || r.OpenID == q || r.BillNo == q {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memSource) pause(_ context.Context, id, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sums[id]
	if !ok {
		return &errNoCampaign{id}
	}
	s.Paused, s.PauseReason = true, reason
	m.sums[id] = s
	m.pauses = append(m.pauses, id+":"+reason)
	return nil
}

func (m *memSource) resume(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sums[id]
	if !ok {
		return &errNoCampaign{id}
	}
	s.Paused, s.PauseReason = false, ""
	m.sums[id] = s
	m.pauses = append(m.pauses, id+":resume")
	return nil
}

func (m *memSource) sends(_ context.Context, id string) (map[string]int64, error) {
	return m.sent[id], nil
}

func (m *memSource) actions() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.pauses...)
}

// newMemHandler serves a memSource with metrics and a stand-in for River's
// UI that answers 200 (the real one is tested in TestRiverUIOnSQLite).
func newMemHandler(t *testing.T, opts HandlerOptions) (*memSource, *Handler) {
	t.Helper()
	src := newMemSource()
	river := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "riverui "+r.Method) })
	h, err := newWebHandler(src, opts, river, newMetricsHandler(src))
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	return src, h
}

// do sends one request through h and returns the recorder.
func do(h http.Handler, method, target string, hdr map[string]string, body string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestWebPages(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"", "/admin/redpack"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			t.Parallel()
			_, h := newMemHandler(t, HandlerOptions{Prefix: prefix})
			p := prefix

			w := do(h, "GET", p+"/", nil, "")
			require.Equal(t, 200, w.Code, w.Body.String())
			assert.Contains(t, w.Body.String(), `href="`+p+`/campaigns/spring-2026"`)
			// An id with HTML and path characters is escaped, in the link and the text.
			assert.Contains(t, w.Body.String(), `href="`+p+`/campaigns/a%20b%2Fc%3Cx%3E"`)
			assert.Contains(t, w.Body.String(), `a b/c&lt;x&gt;`)
			assert.NotContains(t, w.Body.String(), `<x>`)
			assert.Contains(t, w.Header().Get("Content-Security-Policy"), "script-src 'self'")

			w = do(h, "GET", p+"/campaigns/spring-2026", nil, "")
			require.Equal(t, 200, w.Code, w.Body.String())
			body := w.Body.String()
			for _, want := range []string{
				`id="paid">3<`, `id="failed">2<`, `id="unknown">1<`, `id="planned">4<`, `id="rows">10<`,
				`id="paid-yuan">30.00<`, `id="failed-yuan">20.00<`,
				`SENDNUM_LIMIT`, `raise the per-user daily count`,
				`action="` + p + `/campaigns/spring-2026/pause"`, `method="post"`,
				`data-api="` + p + `/api/campaigns/spring-2026"`, `src="` + p + `/static/app.js"`,
				`href="` + p + `/riverui/"`, `href="` + p + `/metrics"`,
			} {
				assert.Contains(t, body, want)
			}

			w = do(h, "GET", p+"/campaigns/nope", nil, "")
			assert.Equal(t, 404, w.Code)

			w = do(h, "GET", p+"/static/app.js", nil, "")
			require.Equal(t, 200, w.Code)
			assert.Contains(t, w.Body.String(), "textContent")

			w = do(h, "GET", p+"/riverui/", nil, "")
			assert.Equal(t, "riverui GET", w.Body.String())
		})
	}
}

func TestWebSummaryJSON(t *testing.T) {
	t.Parallel()
	_, h := newMemHandler(t, HandlerOptions{})
	w := do(h, "GET", "/api/campaigns/spring-2026", nil, "")
	require.Equal(t, 200, w.Code, w.Body.String())
	assert.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
	var got map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	want := map[string]any{
		"id": "spring-2026", "rows": 10.0, "planned": 4.0, "paid": 3.0, "failed": 2.0, "unknown": 1.0,
		"paid_fen": 3000.0, "failed_fen": 2000.0, "paid_yuan": "30.00", "failed_yuan": "20.00", "paused": nil,
		"percent": 50.0,
	}
	for k, v := range want {
		assert.Equal(t, v, got[k], k)
	}
	fails := got["failures"].([]any)
	require.Len(t, fails, 1)
	assert.Equal(t, "SENDNUM_LIMIT", fails[0].(map[string]any)["err_code"])

	w = do(h, "GET", "/api/campaigns", nil, "")
	require.Equal(t, 200, w.Code)
	var list []map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &list))
	assert.Len(t, list, 2)
}

func TestWebSearch(t *testing.T) {
	t.Parallel()
	_, h := newMemHandler(t, HandlerOptions{})
	for _, q := range []string{"k1", "o-alice", "1900000109C0000000000000000A"} {
		w := do(h, "GET", "/campaigns/spring-2026/rows?q="+url.QueryEscape(q), nil, "")
		require.Equal(t, 200, w.Code)
		body := w.Body.String()
		assert.Contains(t, body, "1000041701201412113016000000", q)
		assert.Contains(t, body, "SYSTEMERROR", q)
		assert.Equal(t, 2, strings.Count(body, "<td>send</td>"), q)

		w = do(h, "GET", "/api/campaigns/spring-2026/rows?q="+url.QueryEscape(q), nil, "")
		require.Equal(t, 200, w.Code)
		var rows []rowJSON
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &rows))
		require.Len(t, rows, 1)
		assert.Equal(t, "k1", rows[0].Key)
		assert.Len(t, rows[0].History, 2)
	}
	w := do(h, "GET", "/campaigns/spring-2026/rows?q=%3Cscript%3E", nil, "")
	require.Equal(t, 200, w.Code)
	assert.Contains(t, w.Body.String(), "&lt;script&gt;")
	assert.NotContains(t, w.Body.String(), "<script>")

	w = do(h, "GET", "/api/campaigns/spring-2026/rows", nil, "")
	assert.Equal(t, 400, w.Code)
}

func TestWebPauseResume(t *testing.T) {
	t.Parallel()
	src, h := newMemHandler(t, HandlerOptions{})
	same := map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}
	w := do(h, "POST", "/campaigns/spring-2026/pause", same, "reason=lunch+break")
	require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
	assert.Equal(t, "/campaigns/spring-2026", w.Header().Get("Location"))

	w = do(h, "GET", "/campaigns/spring-2026", nil, "")
	assert.Contains(t, w.Body.String(), "lunch break")
	assert.Regexp(t, `id="pause-form" hidden`, w.Body.String())

	w = do(h, "POST", "/campaigns/spring-2026/resume", same, "")
	require.Equal(t, http.StatusSeeOther, w.Code)
	w = do(h, "POST", "/campaigns/nope/resume", same, "")
	assert.Equal(t, 404, w.Code)
	if diff := cmp.Diff([]string{"spring-2026:lunch break", "spring-2026:resume"}, src.actions()); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}

	// A GET never changes state.
	w = do(h, "GET", "/campaigns/spring-2026/pause", nil, "")
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
}

func TestWebCrossSitePostRefused(t *testing.T) {
	t.Parallel()
	for name, hdr := range map[string]map[string]string{
		"sec-fetch-site cross-site": {"Sec-Fetch-Site": "cross-site"},
		"sec-fetch-site same-site":  {"Sec-Fetch-Site": "same-site"},
		"foreign origin":            {"Origin": "https://evil.example"},
	} {
		for _, path := range []string{"/campaigns/spring-2026/pause", "/campaigns/spring-2026/resume", "/riverui/api/jobs/cancel"} {
			t.Run(name+" "+path, func(t *testing.T) {
				t.Parallel()
				src, h := newMemHandler(t, HandlerOptions{})
				w := do(h, "POST", path, hdr, "reason=x")
				assert.Equal(t, http.StatusForbidden, w.Code)
				assert.Empty(t, src.actions())
				assert.NotContains(t, w.Body.String(), "riverui")
			})
		}
	}
}

func TestWebLoopbackHostsOnly(t *testing.T) {
	t.Parallel()
	_, h := newMemHandler(t, HandlerOptions{LoopbackHostsOnly: true})
	for host, want := range map[string]int{
		"127.0.0.1:8080": 200, "localhost:8080": 200, "[::1]:8080": 200, "LOCALHOST": 200,
		"evil.example:8080": 403, "127.0.0.1.evil.example": 403, "10.0.0.1": 403,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		assert.Equal(t, want, w.Code, host)
	}
}

func TestFormatYuan(t *testing.T) {
	t.Parallel()
	for fen, want := range map[int64]string{0: "0.00", 1: "0.01", 100: "1.00", 12345: "123.45", -5: "-0.05", 20000000: "200000.00"} {
		assert.Equal(t, want, formatYuan(fen), fen)
	}
}

func TestRateMeter(t *testing.T) {
	t.Parallel()
	m := newRateMeter()
	t0 := time.Unix(1000, 0)
	assert.Zero(t, m.observe("c", 0, t0))
	assert.Zero(t, m.observe("c", 5, t0.Add(500*time.Millisecond)), "under a second apart")
	assert.InDelta(t, 10.0, m.observe("c", 20, t0.Add(2*time.Second)), 1e-9)
	// Readings older than the window drop out.
	assert.InDelta(t, 30.0, m.observe("c", 920, t0.Add(32*time.Second)), 1e-9)
	// A count that goes down starts over.
	assert.Zero(t, m.observe("c", 10, t0.Add(33*time.Second)))
	assert.Zero(t, m.observe("other", 10, t0))
}
