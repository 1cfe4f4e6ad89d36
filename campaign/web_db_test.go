package campaign

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// webGet makes one request to a test server, with the token (when given)
// as a Bearer header and a same-origin Sec-Fetch-Site, as a browser's own
// form would, without following redirects; it returns the status and body.
func webGet(t *testing.T, srv *httptest.Server, method, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	c := *srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

// The handler over a real database: what plan stored shows on the pages, in
// the JSON and in /metrics; the buttons change the campaign's pause state in
// the database; River's UI runs on the same database.
func TestWebOnDB(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			ctx := context.Background()
			_, err := db.Plan(ctx, basePlan("web1"), csvOpener("key,openid,amount\na,oA1,100\nb,oB2,250\nc,oA1,300\n"))
			require.NoError(t, err)
			h, err := NewHandler(db, HandlerOptions{Token: testToken, Prefix: "/ops"})
			require.NoError(t, err)
			t.Cleanup(func() { h.Close() })
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)

			code, body := webGet(t, srv, "GET", "/ops/", testToken)
			require.Equal(t, 200, code, body)
			assert.Contains(t, body, `href="/ops/campaigns/web1"`)

			code, body = webGet(t, srv, "GET", "/ops/campaigns/web1", testToken)
			require.Equal(t, 200, code, body)
			assert.Contains(t, body, `id="planned">3<`)
			assert.Contains(t, body, `data-field="total_yuan">6.50<`)

			code, body = webGet(t, srv, "GET", "/ops/api/campaigns/web1", testToken)
			require.Equal(t, 200, code, body)
			var s summaryJSON
			require.NoError(t, json.Unmarshal([]byte(body), &s))
			assert.Equal(t, int64(3), s.Rows)
			assert.Equal(t, int64(3), s.Planned)
			assert.Equal(t, int64(650), s.TotalFen)
			assert.Nil(t, s.Paused)

			code, body = webGet(t, srv, "GET", "/ops/campaigns/web1/rows?q=oA1", testToken)
			require.Equal(t, 200, code, body)
			assert.Equal(t, 2, strings.Count(body, `class="row"`))

			code, _ = webGet(t, srv, "POST", "/ops/campaigns/web1/pause", testToken)
			require.Equal(t, http.StatusSeeOther, code)
			sum, err := db.Summary(ctx, "web1")
			require.NoError(t, err)
			assert.Equal(t, StatePaused, sum.State)
			code, body = webGet(t, srv, "GET", "/ops/metrics", testToken)
			require.Equal(t, 200, code, body)
			got := samples(parseMetrics(t, body), "redpack_campaign_")
			assert.Contains(t, got, "redpack_campaign_paused{campaign=web1} 1")
			assert.Contains(t, got, "redpack_campaign_rows{campaign=web1,status=PLANNED} 3")
			assert.Contains(t, got, "redpack_campaign_yuan{campaign=web1,status=TOTAL} 6.5")

			code, _ = webGet(t, srv, "POST", "/ops/campaigns/web1/resume", testToken)
			require.Equal(t, http.StatusSeeOther, code)
			sum, err = db.Summary(ctx, "web1")
			require.NoError(t, err)
			assert.NotEqual(t, StatePaused, sum.State)

			code, _ = webGet(t, srv, "POST", "/ops/campaigns/nope/pause", testToken)
			assert.Equal(t, 404, code)

			code, body = webGet(t, srv, "GET", "/ops/riverui/api/states", testToken)
			assert.Equal(t, 200, code, body)
			code, body = webGet(t, srv, "GET", "/ops/riverui/", testToken)
			assert.Equal(t, 200, code, body)
			assert.Contains(t, body, "/ops/riverui")

			for _, p := range []string{"/ops/", "/ops/metrics", "/ops/riverui/", "/ops/riverui/api/states", "/ops/api/campaigns"} {
				code, _ := webGet(t, srv, "GET", p, "")
				assert.Equal(t, 401, code, p)
			}
		})
	}
}

func TestNewHandlerOptions(t *testing.T) {
	t.Parallel()
	_, err := NewHandler(nil, HandlerOptions{})
	assert.Error(t, err)
	db := openTest(t, "sqlite")
	_, err = NewHandler(db, HandlerOptions{Prefix: "admin"})
	assert.ErrorContains(t, err, "must start with /")
	h, err := NewHandler(db, HandlerOptions{DisableRiverUI: true})
	require.NoError(t, err)
	defer h.Close()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/riverui/", nil))
	assert.Equal(t, 404, w.Code)
}
