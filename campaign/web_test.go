package campaign

import (
	"context"
	"encoding/json"
	"fmt"
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
	sums   map[string]Summary
	fails  map[string][]FailureGroup
	rows   map[string][]RowHistory
	counts map[string][]attemptCount
	acts   []string // "id:pause" / "id:resume"
}

const testBill = "1900000109C0000000000000000A"

func newMemSource() *memSource {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	m := func(rows, fen int64) Money { return Money{Rows: rows, Fen: fen} }
	return &memSource{
		sums: map[string]Summary{
			"spring-2026": {ID: "spring-2026", Rows: 10, TotalFen: 10000, Planned: m(4, 4000), Paid: m(3, 3000),
				Failed: m(2, 2000), Unknown: m(1, 1000), Pending: m(1, 1000), State: StateRunning, Workers: 1,
				SendRate: 2.5, ETA: 2 * time.Second, CreatedAt: at},
			"a b/c<x>": {ID: "a b/c<x>", Rows: 1, TotalFen: 100, Planned: m(1, 100), State: StateIdle, CreatedAt: at},
		},
		fails: map[string][]FailureGroup{
			"spring-2026": {{ErrCode: "SENDNUM_LIMIT", Rows: 2, Fen: 2000, Retryable: 2, Advice: Advice("SENDNUM_LIMIT")}},
		},
		rows: map[string][]RowHistory{
			"spring-2026": {{
				Row: Row{Campaign: "spring-2026", Seq: 1, Key: "k1", Line: 2, OpenID: "o-alice", Amount: 1000, BillNo: testBill,
					Status: StatusPaid, SendListID: "1000041701201412113016000000", UpdatedAt: at},
				Attempts: []Attempt{
					{N: 1, Kind: "send", BillNo: testBill, StartedAt: at, FinishedAt: at.Add(time.Second), Outcome: "UNKNOWN", ErrCode: "SYSTEMERROR"},
					{N: 2, Kind: "send", BillNo: testBill, StartedAt: at.Add(2 * time.Second), FinishedAt: at.Add(3 * time.Second), Outcome: "OK",
						SendListID: "1000041701201412113016000000"},
					{N: 3, Kind: "query", BillNo: testBill, StartedAt: at.Add(time.Hour)},
				}}},
		},
		counts: map[string][]attemptCount{"spring-2026": {
			{"query", "OK", 1}, {"send", "FINAL", 2}, {"send", "NO_ANSWER", 1}, {"send", "OK", 3}, {"send", "UNKNOWN", 4},
		}},
	}
}

func (m *memSource) List(context.Context) ([]Summary, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return []Summary{m.sums["a b/c<x>"], m.sums["spring-2026"]}, nil
}

func (m *memSource) Summary(_ context.Context, id string) (*Summary, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sums[id]
	if !ok {
		return nil, fmt.Errorf("campaign %s: %w", id, ErrNoCampaign)
	}
	return &s, nil
}

func (m *memSource) Failures(_ context.Context, id string) ([]FailureGroup, error) {
	return m.fails[id], nil
}

func (m *memSource) Find(_ context.Context, id, q string) ([]RowHistory, error) {
	var out []RowHistory
	for _, r := range m.rows[id] {
		if r.Row.Key == q || r.Row.OpenID == q || r.Row.BillNo == q {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memSource) set(id string, f func(*Summary)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sums[id]
	if !ok {
		return fmt.Errorf("campaign %s: %w", id, ErrNoCampaign)
	}
	f(&s)
	m.sums[id] = s
	return nil
}

func (m *memSource) Pause(_ context.Context, id string) error {
	err := m.set(id, func(s *Summary) {
		s.State, s.PauseKind, s.PauseReason = StatePaused, PauseOperator, "paused by the operator"
	})
	if err == nil {
		m.mu.Lock()
		m.acts = append(m.acts, id+":pause")
		m.mu.Unlock()
	}
	return err
}

func (m *memSource) Resume(_ context.Context, id string) error {
	err := m.set(id, func(s *Summary) { s.State, s.PauseKind, s.PauseReason = StateRunning, "", "" })
	if err == nil {
		m.mu.Lock()
		m.acts = append(m.acts, id+":resume")
		m.mu.Unlock()
	}
	return err
}

func (m *memSource) attemptCounts(_ context.Context, id string) ([]attemptCount, error) {
	return m.counts[id], nil
}

func (m *memSource) actions() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.acts...)
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
				`id="paid">3<`, `id="failed">2<`, `<div id="conflict-banner" class="banner bad" hidden>`, `id="unknown">1<`, `id="planned">4<`, `id="rows">10<`,
				`id="paid-yuan">30.00<`, `id="failed-yuan">20.00<`,
				`SENDNUM_LIMIT`, `raise the per-user daily count`, `id="state">running<`, `>2.5/s</span> requests (last minute)`, `id="eta">2s<`,
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
	src, h := newMemHandler(t, HandlerOptions{})
	w := do(h, "GET", "/api/campaigns/spring-2026", nil, "")
	require.Equal(t, 200, w.Code, w.Body.String())
	assert.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
	var got map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	want := map[string]any{
		"id": "spring-2026", "rows": 10.0, "planned": 4.0, "paid": 3.0, "failed": 2.0, "unknown": 1.0,
		"paid_fen": 3000.0, "failed_fen": 2000.0, "paid_yuan": "30.00", "failed_yuan": "20.00", "paused": nil,
		"percent": 50.0, "state": "running", "pending": 1.0, "workers": 1.0, "send_rate": 2.5, "eta_seconds": 2.0, "eta_text": "2s",
	}
	for k, v := range want {
		assert.Equal(t, v, got[k], k)
	}
	fails := got["failures"].([]any)
	require.Len(t, fails, 1)
	assert.Equal(t, "SENDNUM_LIMIT", fails[0].(map[string]any)["err_code"])

	assert.Regexp(t, `"conflict": 0,`, w.Body.String())

	// Rows held as CONFLICT show in a banner and the JSON.
	require.NoError(t, src.set("spring-2026", func(s *Summary) { s.Conflict = Money{Rows: 2, Fen: 300} }))
	w = do(h, "GET", "/campaigns/spring-2026", nil, "")
	assert.Contains(t, w.Body.String(), `<div id="conflict-banner" class="banner bad">`)
	assert.Contains(t, w.Body.String(), `id="conflict">2<`)
	w = do(h, "GET", "/api/campaigns/spring-2026", nil, "")
	assert.Contains(t, w.Body.String(), `"conflict_fen": 300,`)

	w = do(h, "GET", "/api/campaigns", nil, "")
	require.Equal(t, 200, w.Code)
	var list []map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &list))
	assert.Len(t, list, 2)
}

func TestWebSearch(t *testing.T) {
	t.Parallel()
	_, h := newMemHandler(t, HandlerOptions{})
	for _, q := range []string{"k1", "o-alice", testBill} {
		w := do(h, "GET", "/campaigns/spring-2026/rows?q="+url.QueryEscape(q), nil, "")
		require.Equal(t, 200, w.Code)
		body := w.Body.String()
		assert.Contains(t, body, "1000041701201412113016000000", q)
		assert.Contains(t, body, "SYSTEMERROR", q)
		assert.Equal(t, 2, strings.Count(body, "<td>send</td>"), q)
		assert.Equal(t, 1, strings.Count(body, "<td>query</td>"), q)
		assert.Contains(t, body, "no answer recorded", q)

		w = do(h, "GET", "/api/campaigns/spring-2026/rows?q="+url.QueryEscape(q), nil, "")
		require.Equal(t, 200, w.Code)
		var rows []RowHistory
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &rows))
		require.Len(t, rows, 1)
		assert.Equal(t, "k1", rows[0].Row.Key)
		assert.Len(t, rows[0].Attempts, 3)
	}
	w := do(h, "GET", "/campaigns/spring-2026/rows?q=%3Cscript%3E", nil, "")
	require.Equal(t, 200, w.Code)
	assert.Contains(t, w.Body.String(), "&lt;script&gt;")
	assert.NotContains(t, w.Body.String(), "<script>")

	w = do(h, "GET", "/api/campaigns/spring-2026/rows", nil, "")
	assert.Equal(t, 400, w.Code)
	w = do(h, "GET", "/api/campaigns/spring-2026/rows?q=nobody", nil, "")
	assert.Equal(t, "[]\n", w.Body.String())
	w = do(h, "GET", "/campaigns/spring-2026/rows?q=nobody", nil, "")
	assert.Contains(t, w.Body.String(), `id="not-found"`)
}

func TestWebPauseResume(t *testing.T) {
	t.Parallel()
	src, h := newMemHandler(t, HandlerOptions{})
	same := map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}
	w := do(h, "POST", "/campaigns/spring-2026/pause", same, "")
	require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
	assert.Equal(t, "/campaigns/spring-2026", w.Header().Get("Location"))

	w = do(h, "GET", "/campaigns/spring-2026", nil, "")
	assert.Contains(t, w.Body.String(), "paused by the operator")
	assert.Regexp(t, `id="pause-form" hidden`, w.Body.String())

	w = do(h, "POST", "/campaigns/spring-2026/resume", same, "")
	require.Equal(t, http.StatusSeeOther, w.Code)
	w = do(h, "POST", "/campaigns/nope/resume", same, "")
	assert.Equal(t, 404, w.Code)
	if diff := cmp.Diff([]string{"spring-2026:pause", "spring-2026:resume"}, src.actions()); diff != "" {
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
