package campaign

import (
	"context"
	"errors"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redpack-go/redpack/redpacktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseMetrics(t *testing.T, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err, body)
	return fams
}

// samples flattens families into "name{k=v,...} value" strings.
func samples(fams map[string]*dto.MetricFamily, prefix string) []string {
	var out []string
	for name, f := range fams {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			out = append(out, name+"{"+strings.Join(labels, ",")+"} "+model.SampleValue(v).String())
		}
	}
	sort.Strings(out)
	return out
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	_, h := newMemHandler(t, HandlerOptions{})
	w := do(h, "GET", "/metrics", nil, "")
	require.Equal(t, 200, w.Code, w.Body.String())
	assert.Contains(t, w.Header().Get("Content-Type"), "text/plain")
	fams := parseMetrics(t, w.Body.String())
	assert.Equal(t, dto.MetricType_COUNTER, fams["redpack_campaign_sends_total"].GetType())
	assert.Equal(t, dto.MetricType_GAUGE, fams["redpack_campaign_rows"].GetType())
	got := samples(fams, "redpack_campaign_")
	want := []string{
		"redpack_campaign_paid_yuan{campaign=a b/c<x>} 0",
		"redpack_campaign_paid_yuan{campaign=spring-2026} 30",
		"redpack_campaign_paused{campaign=a b/c<x>} 0",
		"redpack_campaign_paused{campaign=spring-2026} 0",
		"redpack_campaign_queries_total{campaign=spring-2026,outcome=OK} 1",
		"redpack_campaign_rows{campaign=a b/c<x>,status=CONFLICT} 0",
		"redpack_campaign_rows{campaign=a b/c<x>,status=FAILED} 0",
		"redpack_campaign_rows{campaign=a b/c<x>,status=PAID} 0",
		"redpack_campaign_rows{campaign=a b/c<x>,status=PLANNED} 1",
		"redpack_campaign_rows{campaign=a b/c<x>,status=UNKNOWN} 0",
		"redpack_campaign_rows{campaign=spring-2026,status=CONFLICT} 0",
		"redpack_campaign_rows{campaign=spring-2026,status=FAILED} 2",
		"redpack_campaign_rows{campaign=spring-2026,status=PAID} 3",
		"redpack_campaign_rows{campaign=spring-2026,status=PLANNED} 4",
		"redpack_campaign_rows{campaign=spring-2026,status=UNKNOWN} 1",
		"redpack_campaign_sends_total{campaign=spring-2026,outcome=FINAL} 2",
		"redpack_campaign_sends_total{campaign=spring-2026,outcome=NO_ANSWER} 1",
		"redpack_campaign_sends_total{campaign=spring-2026,outcome=OK} 3",
		"redpack_campaign_sends_total{campaign=spring-2026,outcome=UNKNOWN} 4",
		"redpack_campaign_workers{campaign=a b/c<x>} 0",
		"redpack_campaign_workers{campaign=spring-2026} 1",
		"redpack_campaign_yuan{campaign=a b/c<x>,status=CONFLICT} 0",
		"redpack_campaign_yuan{campaign=a b/c<x>,status=FAILED} 0",
		"redpack_campaign_yuan{campaign=a b/c<x>,status=PAID} 0",
		"redpack_campaign_yuan{campaign=a b/c<x>,status=PLANNED} 1",
		"redpack_campaign_yuan{campaign=a b/c<x>,status=TOTAL} 1",
		"redpack_campaign_yuan{campaign=a b/c<x>,status=UNKNOWN} 0",
		"redpack_campaign_yuan{campaign=spring-2026,status=CONFLICT} 0",
		"redpack_campaign_yuan{campaign=spring-2026,status=FAILED} 20",
		"redpack_campaign_yuan{campaign=spring-2026,status=PAID} 30",
		"redpack_campaign_yuan{campaign=spring-2026,status=PLANNED} 40",
		"redpack_campaign_yuan{campaign=spring-2026,status=TOTAL} 100",
		"redpack_campaign_yuan{campaign=spring-2026,status=UNKNOWN} 10",
	}
	got = slicesWithout(got, "redpack_campaign_scrape_duration_seconds")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

func slicesWithout(s []string, prefix string) []string {
	var out []string
	for _, x := range s {
		if !strings.HasPrefix(x, prefix) {
			out = append(out, x)
		}
	}
	return out
}

// The numbers come from the source at scrape time: a change between two
// scrapes shows in the second.
func TestMetricsReadAtScrapeTime(t *testing.T) {
	t.Parallel()
	src, h := newMemHandler(t, HandlerOptions{})
	require.NoError(t, src.set("spring-2026", func(s *Summary) { s.Paid, s.Conflict = Money{Rows: 7, Fen: 7000}, Money{Rows: 1, Fen: 150} }))
	require.NoError(t, src.Pause(context.Background(), "spring-2026"))
	got := samples(parseMetrics(t, do(h, "GET", "/metrics", nil, "").Body.String()), "redpack_campaign_")
	assert.Contains(t, got, "redpack_campaign_rows{campaign=spring-2026,status=PAID} 7")
	assert.Contains(t, got, "redpack_campaign_paid_yuan{campaign=spring-2026} 70")
	assert.Contains(t, got, "redpack_campaign_paused{campaign=spring-2026} 1")
	assert.Contains(t, got, "redpack_campaign_rows{campaign=spring-2026,status=CONFLICT} 1")
	assert.Contains(t, got, "redpack_campaign_yuan{campaign=spring-2026,status=CONFLICT} 1.5")
}

type failingSource struct{ *memSource }

func (failingSource) List(context.Context) ([]Summary, error) {
	return nil, errors.New("database is locked")
}

func TestMetricsReadErrorIs500(t *testing.T) {
	t.Parallel()
	src := failingSource{newMemSource()}
	w := httptest.NewRecorder()
	newMetricsHandler(src).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	assert.Equal(t, 500, w.Code)
}

// After a real run against the fake, /metrics and the JSON agree with the
// fake's ledger: paid rows and yuan, one FINAL send for the row whose openid
// already had its packet today.
func TestMetricsAfterRun(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := openTest(t, kind)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			srv := redpacktest.NewServer(redpacktest.WithFreqLimit(0), redpacktest.WithUserDailyLimits(1, 1_000_000))
			defer srv.Close()
			_, err := db.Plan(ctx, basePlan("m"), csvOpener(genCSV(6, 5))) // k5 repeats k0's openid
			require.NoError(t, err)
			res, err := db.Run(ctx, "m", RunOptions{Client: testClient(srv), Rate: -1, Backoff: fastBackoff})
			require.NoError(t, err)
			require.True(t, res.Done, "%+v", res)

			h, err := NewHandler(db, HandlerOptions{})
			require.NoError(t, err)
			defer h.Close()
			w := do(h, "GET", "/metrics", nil, "")
			require.Equal(t, 200, w.Code, w.Body.String())
			got := samples(parseMetrics(t, w.Body.String()), "redpack_campaign_")
			paidYuan := model.SampleValue(float64(srv.TotalPaid()) / 100).String()
			for _, want := range []string{
				"redpack_campaign_rows{campaign=m,status=PAID} 5",
				"redpack_campaign_rows{campaign=m,status=FAILED} 1",
				"redpack_campaign_rows{campaign=m,status=UNKNOWN} 0",
				"redpack_campaign_paid_yuan{campaign=m} " + paidYuan,
				"redpack_campaign_sends_total{campaign=m,outcome=OK} 5",
				"redpack_campaign_sends_total{campaign=m,outcome=FINAL} 1",
				"redpack_campaign_workers{campaign=m} 0",
			} {
				assert.Contains(t, got, want)
			}
			assert.Len(t, srv.Packets(), 5)

			w = do(h, "GET", "/campaigns/m", nil, "")
			assert.Contains(t, w.Body.String(), "SENDNUM_LIMIT")
			assert.Contains(t, w.Body.String(), `id="state">done<`)
			w = do(h, "GET", "/campaigns/m/rows?q=k5", nil, "")
			assert.Contains(t, w.Body.String(), "<td>FINAL</td>")
		})
	}
}
