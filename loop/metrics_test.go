package loop

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsEndpoint scrapes /metrics from a real-time closed-loop run.
func TestMetricsEndpoint(t *testing.T) {
	srv, err := StartEmbedded("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	cfg := testConfig(t, 0)
	cfg.Run.Lockstep = false
	cfg.NATS.URL = srv.URL()
	cfg.Decoder.Calibration = 3 * time.Second
	cfg.Stimulate.Controller = "threshold"
	cfg.Run.Metrics = MetricsConfig{Listen: "127.0.0.1:0", Pprof: true}
	cfg.Run.Deadline = 50 * time.Millisecond
	l, err := Build(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := l.Run(ctx); done <- err }()
	get := func(path string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if a := l.MetricsAddr(); a != "" {
				resp, err := http.Get("http://" + a + path)
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 {
						return string(b)
					}
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s", path)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Wait past calibration, then scrape.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(get("/metrics"), `bciloop_decoder_calibrated{rig="test"} 1`) {
		if time.Now().After(deadline) {
			t.Fatal("decoder never calibrated")
		}
		time.Sleep(200 * time.Millisecond)
	}
	body := get("/metrics")
	for _, want := range []string{
		`bciloop_blocks_total{rig="test"}`, `bciloop_commands_total{rig="test"}`,
		`bciloop_latency_seconds{rig="test",stage="publish",quantile="0.99"}`,
		`bciloop_stim_passed_total{rig="test"}`, `bciloop_blocks_dropped_total{rig="test"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	checkParsed(t, body)
	if !strings.Contains(get("/debug/pprof/"), "goroutine") {
		t.Error("pprof index not served")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// checkParsed parses a scrape with the Prometheus text parser and checks
// the families a dashboard relies on: their types, labels and values.
func checkParsed(t *testing.T, body string) {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the Prometheus text parser rejects /metrics: %v", err)
	}
	value := func(name string, typ dto.MetricType) float64 {
		t.Helper()
		f := fams[name]
		if f == nil || len(f.Metric) == 0 {
			t.Errorf("no %s", name)
			return -1
		}
		if f.GetType() != typ {
			t.Errorf("%s is a %v, want %v", name, f.GetType(), typ)
		}
		m := f.Metric[0]
		if l := m.GetLabel(); len(l) == 0 || l[0].GetName() != "rig" || l[0].GetValue() != "test" {
			t.Errorf("%s labels %v, want rig=test", name, l)
		}
		switch typ {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		}
		return 0
	}
	if v := value("bciloop_blocks_total", dto.MetricType_COUNTER); v < 3000 {
		t.Errorf("blocks %v, want past the 3 s calibration", v)
	}
	if v := value("bciloop_commands_total", dto.MetricType_COUNTER); v < 1 {
		t.Errorf("commands %v", v)
	}
	for _, c := range []string{"bciloop_blocks_dropped_total", "bciloop_stim_passed_total", "bciloop_stim_patterns_total",
		"bciloop_deadline_misses_total", "bciloop_gc_cycles_after_warmup_total", "bciloop_publish_errors_total"} {
		if v := value(c, dto.MetricType_COUNTER); v < 0 {
			t.Errorf("%s = %v", c, v)
		}
	}
	if v := value("bciloop_decoder_calibrated", dto.MetricType_GAUGE); v != 1 {
		t.Errorf("decoder calibrated %v", v)
	}
	if v := value("bciloop_warm", dto.MetricType_GAUGE); v != 1 {
		t.Errorf("warm %v", v)
	}
	if v := value("bciloop_deadline_seconds", dto.MetricType_GAUGE); v != 0.05 {
		t.Errorf("deadline %v s, want 0.05", v)
	}
	lat := fams["bciloop_latency_seconds"]
	if lat == nil || lat.GetType() != dto.MetricType_SUMMARY {
		t.Fatalf("bciloop_latency_seconds: %v", lat)
	}
	stages := map[string]*dto.Summary{}
	for _, m := range lat.Metric {
		for _, l := range m.GetLabel() {
			if l.GetName() == "stage" {
				stages[l.GetValue()] = m.GetSummary()
			}
		}
	}
	for _, st := range []string{StageQueue, StageBin, StageDecode, StagePublish, StageBlock} {
		s := stages[st]
		if s == nil || s.GetSampleCount() == 0 || len(s.GetQuantile()) != 4 {
			t.Errorf("stage %s: %v", st, s)
			continue
		}
		q := s.GetQuantile()
		if !(q[0].GetValue() > 0 && q[0].GetValue() <= q[3].GetValue() && q[3].GetValue() < 1) {
			t.Errorf("stage %s quantiles %v: want 0 < p50 ≤ p99.9 < 1 s", st, q)
		}
	}
}
