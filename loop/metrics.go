package loop

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsConfig serves Prometheus metrics (client_golang) and, optionally,
// pprof from `run`.
type MetricsConfig struct {
	Listen string `yaml:"listen"` // host:port of /metrics; empty: off
	Pprof  bool   `yaml:"pprof"`  // also serve /debug/pprof/ on the same address
}

// Validate reports every problem with c.
func (c *MetricsConfig) Validate() error {
	if c.Listen == "" {
		if c.Pprof {
			return errors.New("pprof: needs listen")
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen: %q is not host:port: %v", c.Listen, err)
	}
	return nil
}

// loopCollector exports the loop's figures at scrape time: counters read
// from the atomics the pipeline already keeps, latency histograms as
// summaries from the HdrHistograms. Nothing is added to the hot path.
type loopCollector struct {
	l     *Loop
	descs map[string]*prometheus.Desc
}

var metricHelp = map[string]string{
	"bciloop_blocks_total":                      "Blocks processed by the pipeline.",
	"bciloop_blocks_dropped_total":              "Blocks dropped by the real-time queue (drop-oldest).",
	"bciloop_frames_lost_total":                 "Frames the source reports lost upstream.",
	"bciloop_events_total":                      "Spikes and threshold crossings binned.",
	"bciloop_bins_total":                        "Bins formed.",
	"bciloop_commands_total":                    "Commands published.",
	"bciloop_publish_errors_total":              "Publishes that failed.",
	"bciloop_record_errors_total":               "Recording appends or writes that failed.",
	"bciloop_decoder_calibrated":                "1 once the decoder is fitted or loaded.",
	"bciloop_decoder_r2_vel":                    "R² of decoded vs true velocity (mean of vx, vy), when the source has ground truth.",
	"bciloop_stim_patterns_total":               "Stimulation patterns asked for by the controller.",
	"bciloop_stim_passed_total":                 "Pulse trains passed by the safety limit to the sink.",
	"bciloop_stim_refused_total":                "Pulse trains refused by the safety limit or the watchdog, by rule.",
	"bciloop_stim_clipped_total":                "Pulse trains clipped by the safety limit.",
	"bciloop_watchdog_trips_total":              "Times stale input turned stimulation off.",
	"bciloop_latency_seconds":                   "Latency from block arrival to each stage.",
	"bciloop_stream_seconds":                    "Stream (sample-clock) time processed.",
	"bciloop_warm":                              "1 once the warm-up (run.warmup after the decoder is ready) has ended.",
	"bciloop_deadline_misses_total":             "Blocks processed later than run.deadline after arrival (or due), after warm-up.",
	"bciloop_blocks_dropped_after_warmup_total": "Blocks dropped by back-pressure after warm-up.",
	"bciloop_gc_cycles_after_warmup_total":      "Garbage-collection cycles completed after warm-up (runtime/metrics /gc/cycles/total:gc-cycles).",
	"bciloop_deadline_seconds":                  "run.deadline; 0 when off.",
}

func newLoopCollector(l *Loop) *loopCollector {
	c := &loopCollector{l: l, descs: map[string]*prometheus.Desc{}}
	labels := map[string][]string{"bciloop_stim_refused_total": {"rule"}, "bciloop_latency_seconds": {"stage"}}
	for name, help := range metricHelp {
		c.descs[name] = prometheus.NewDesc(name, help, labels[name], prometheus.Labels{"rig": l.cfg.Rig})
	}
	return c
}

func (c *loopCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *loopCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.l.snapshot(0)
	counter := func(name string, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(name string, v float64) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.GaugeValue, v)
	}
	counter("bciloop_blocks_total", s.Blocks)
	counter("bciloop_blocks_dropped_total", s.Dropped)
	counter("bciloop_frames_lost_total", s.LostFrames)
	counter("bciloop_events_total", s.Events)
	counter("bciloop_bins_total", s.Bins)
	counter("bciloop_commands_total", s.Commands)
	counter("bciloop_publish_errors_total", s.PublishErrors)
	counter("bciloop_record_errors_total", s.RecordErrors)
	calibrated := 0.0
	if c.l.decoderReady.Load() {
		calibrated = 1
	}
	gauge("bciloop_decoder_calibrated", calibrated)
	if s.R2Vel != nil {
		gauge("bciloop_decoder_r2_vel", *s.R2Vel)
	}
	gauge("bciloop_stream_seconds", s.SimSeconds)
	counter("bciloop_stim_patterns_total", s.StimPatterns)
	counter("bciloop_stim_passed_total", s.StimPulses)
	counter("bciloop_stim_clipped_total", s.StimClipped)
	counter("bciloop_watchdog_trips_total", s.WatchdogTrips)
	warm := 0.0
	if s.Warm {
		warm = 1
	}
	gauge("bciloop_warm", warm)
	gauge("bciloop_deadline_seconds", s.DeadlineUS/1e6)
	counter("bciloop_deadline_misses_total", s.DeadlineMisses)
	counter("bciloop_blocks_dropped_after_warmup_total", s.DroppedAfterWarmup)
	if s.GCCycles != nil {
		counter("bciloop_gc_cycles_after_warmup_total", *s.GCCycles)
	}
	for rule, n := range s.StimByRule {
		counter("bciloop_stim_refused_total", n, rule)
	}
	for stage, q := range s.Stages {
		ch <- prometheus.MustNewConstSummary(c.descs["bciloop_latency_seconds"], uint64(q.Count), q.Mean*float64(q.Count)/1e6,
			map[float64]float64{0.5: q.P50 / 1e6, 0.9: q.P90 / 1e6, 0.99: q.P99 / 1e6, 0.999: q.P999 / 1e6}, stage)
	}
}

// metricsServer is the HTTP server of /metrics (and /debug/pprof/).
type metricsServer struct {
	srv  *http.Server
	addr net.Addr
	done chan struct{}
}

// startMetrics serves the loop's metrics on cfg.Listen.
func startMetrics(l *Loop, cfg MetricsConfig) (*metricsServer, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(newLoopCollector(l)); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("run.metrics.listen: %w", err)
	}
	m := &metricsServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, addr: ln.Addr(), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		_ = m.srv.Serve(ln)
	}()
	return m, nil
}

func (m *metricsServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = m.srv.Shutdown(ctx)
	<-m.done
}

// MetricsAddr returns the host:port /metrics is served on once Run serves
// it, else "". Safe from any goroutine.
func (l *Loop) MetricsAddr() string {
	if a := l.metricsAddr.Load(); a != nil {
		return *a
	}
	return ""
}
