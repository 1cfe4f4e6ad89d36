package campaign

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The metrics, all read from the campaign database at scrape time so that
// they are right whichever process did the sending. None carries a secret:
// labels are campaign ids, row statuses and outcome names only.
var (
	descRows = prometheus.NewDesc("redpack_campaign_rows",
		"Campaign rows by status (PLANNED, PAID, FAILED, UNKNOWN).", []string{"campaign", "status"}, nil)
	descYuan = prometheus.NewDesc("redpack_campaign_yuan",
		"Campaign money in yuan by status (PLANNED, PAID, FAILED, UNKNOWN) and the campaign total (TOTAL).", []string{"campaign", "status"}, nil)
	descPaidYuan = prometheus.NewDesc("redpack_campaign_paid_yuan",
		"Yuan paid by the campaign so far.", []string{"campaign"}, nil)
	descSends = prometheus.NewDesc("redpack_campaign_sends_total",
		"Send attempts by outcome (OK, UNKNOWN, PENDING, CONFLICT, FINAL, REJECTED, NOT_SENT).", []string{"campaign", "outcome"}, nil)
	descPaused = prometheus.NewDesc("redpack_campaign_paused",
		"1 while the campaign is paused, else 0.", []string{"campaign"}, nil)
	descScrape = prometheus.NewDesc("redpack_campaign_scrape_duration_seconds",
		"Time spent reading the campaign database for this scrape.", nil, nil)
)

// metricsTimeout bounds one scrape's database reads.
const metricsTimeout = 10 * time.Second

// collector is a prometheus.Collector over a webSource.
type collector struct{ src webSource }

// Describe implements prometheus.Collector.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRows, descYuan, descPaidYuan, descSends, descPaused, descScrape} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), metricsTimeout)
	defer cancel()
	list, err := c.src.campaigns(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descRows, err)
		return
	}
	for _, s := range list {
		gauge := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{s.ID}, labels...)...)
		}
		gauge(descRows, float64(s.Planned), "PLANNED")
		gauge(descRows, float64(s.Paid), "PAID")
		gauge(descRows, float64(s.Failed), "FAILED")
		gauge(descRows, float64(s.Unknown), "UNKNOWN")
		gauge(descYuan, fenToYuan(s.TotalFen-s.PaidFen-s.FailedFen-s.UnknownFen), "PLANNED")
		gauge(descYuan, fenToYuan(s.PaidFen), "PAID")
		gauge(descYuan, fenToYuan(s.FailedFen), "FAILED")
		gauge(descYuan, fenToYuan(s.UnknownFen), "UNKNOWN")
		gauge(descYuan, fenToYuan(s.TotalFen), "TOTAL")
		gauge(descPaidYuan, fenToYuan(s.PaidFen))
		paused := 0.0
		if s.Paused {
			paused = 1
		}
		gauge(descPaused, paused)

		sends, err := c.src.sends(ctx, s.ID)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(descSends, err)
			continue
		}
		outcomes := make([]string, 0, len(sends))
		for o := range sends {
			outcomes = append(outcomes, o)
		}
		slices.Sort(outcomes)
		for _, o := range outcomes {
			ch <- prometheus.MustNewConstMetric(descSends, prometheus.CounterValue, float64(sends[o]), s.ID, o)
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
