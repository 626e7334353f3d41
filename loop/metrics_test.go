package loop

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
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
	if !strings.Contains(get("/debug/pprof/"), "goroutine") {
		t.Error("pprof index not served")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
