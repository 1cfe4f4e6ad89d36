package campaign

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The metrics, all read from the campaign database at scrape time so that
// they are right whichever process did the sending. None carries a secret:
// labels are campaign ids, row statuses, attempt kinds and outcome names.
var (
	descRows = prometheus.NewDesc("redpack_campaign_rows",
		"Campaign rows by status (PLANNED, PAID, FAILED, UNKNOWN, CONFLICT).", []string{"campaign", "status"}, nil)
	descYuan = prometheus.NewDesc("redpack_campaign_yuan",
		"Campaign money in yuan by row status (PLANNED, PAID, FAILED, UNKNOWN, CONFLICT), and the campaign total (TOTAL).", []string{"campaign", "status"}, nil)
	descPaidYuan = prometheus.NewDesc("redpack_campaign_paid_yuan",
		"Yuan paid by the campaign so far (rows PAID).", []string{"campaign"}, nil)
	descSends = prometheus.NewDesc("redpack_campaign_sends_total",
		"Send attempts by outcome (OK, UNKNOWN, PENDING, CONFLICT, FINAL, REJECTED, NOT_SENT; NO_ANSWER: none recorded, in flight or the sender died).", []string{"campaign", "outcome"}, nil)
	descQueries = prometheus.NewDesc("redpack_campaign_queries_total",
		"gethbinfo queries by outcome (as for sends).", []string{"campaign", "outcome"}, nil)
	descPaused = prometheus.NewDesc("redpack_campaign_paused",
		"1 while the campaign is paused (by the operator or a merchant-wide stop), else 0.", []string{"campaign"}, nil)
	descWorkers = prometheus.NewDesc("redpack_campaign_workers",
		"Live run processes of the campaign (heartbeat within 10 s).", []string{"campaign"}, nil)
	descScrape = prometheus.NewDesc("redpack_campaign_scrape_duration_seconds",
		"Time spent reading the campaign database for this scrape.", nil, nil)
)

// metricsTimeout bounds one scrape's database reads.
const metricsTimeout = 10 * time.Second

// collector is a prometheus.Collector over a webSource.
type collector struct{ src webSource }

// Describe implements prometheus.Collector.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRows, descYuan, descPaidYuan, descSends, descQueries, descPaused, descWorkers, descScrape} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), metricsTimeout)
	defer cancel()
	list, err := c.src.List(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descRows, err)
		return
	}
	for _, s := range list {
		gauge := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{s.ID}, labels...)...)
		}
		for _, st := range []struct {
			name string
			m    Money
		}{{StatusPlanned, s.Planned}, {StatusPaid, s.Paid}, {StatusFailed, s.Failed}, {StatusUnknown, s.Unknown}, {StatusConflict, s.Conflict}} {
			gauge(descRows, float64(st.m.Rows), st.name)
			gauge(descYuan, fenToYuan(st.m.Fen), st.name)
		}
		gauge(descYuan, fenToYuan(s.TotalFen), "TOTAL")
		gauge(descPaidYuan, fenToYuan(s.Paid.Fen))
		paused := 0.0
		if s.State == StatePaused {
			paused = 1
		}
		gauge(descPaused, paused)
		gauge(descWorkers, float64(s.Workers))

		counts, err := c.src.attemptCounts(ctx, s.ID)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(descSends, err)
			continue
		}
		for _, n := range counts {
			var d *prometheus.Desc
			switch n.Kind {
			case "send":
				d = descSends
			case "query":
				d = descQueries
			default:
				continue
			}
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(n.N), s.ID, n.Outcome)
		}
	}
	ch <- prometheus.MustNewConstMetric(descScrape, prometheus.GaugeValue, time.Since(start).Seconds())
}

func fenToYuan(fen int64) float64 { return float64(fen) / 100 }

// newMetricsHandler serves the collector (and nothing else: no process or
// Go runtime metrics of the serving process, which say nothing about the
// campaign) in the Prometheus text format. A failed read answers 500, so a
// scrape never shows stale or partial numbers as if they were current.
func newMetricsHandler(src webSource) http.Handler {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(collector{src})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError})
}
