package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bciloop/bciloop/loop"
	"github.com/rs/zerolog"
)

// latencyConfig is a short closed-loop config: 1 s of calibration.
const latencyConfig = `rig: lat
source: {type: sim, preset: motor-cortex, units: 32, seed: 3, rate_hz: 1000, block: 1ms}
bin: {width: 20ms}
decoder: {type: kalman, fit: calibrate, calibration: 1s}
stimulate:
  controller: threshold
  threshold: {quantity: speed, threshold: 8, direction: rising, lockout: 200ms, electrode: 3, amplitude_ua: 20, phase_us: 100, gap_us: 50, count: 1, freq_hz: 0}
  limit: {electrodes: 32}
  sink: sim
`

// runLatency runs bciloop latency in a child process (it starts its own
// subscriber process from the same executable) and returns the report.
func runLatency(t *testing.T, extra ...string) (*latencyReport, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := writeConfig(t, latencyConfig)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"latency", "--config", cfg, "--duration", "2s", "--warmup", "500ms", "--out", dir}, extra...)
	c := child(ctx, args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		t.Fatalf("bciloop latency: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "latency.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep latencyReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ccdf.png", "timeline.png"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width < 400 || cfg.Height < 200 {
			t.Errorf("%s: %v (%dx%d)", name, err, cfg.Width, cfg.Height)
		}
	}
	return &rep, out.String()
}

func rowCount(r *latencyReport, name string) int64 {
	if row := r.row(name); row != nil {
		return row.Q.Count
	}
	return 0
}

// TestLatencyCommand measures a short closed-loop run: every boundary has
// figures, the end-to-end latency through the other process exceeds the
// pipeline's own share, and the table names them.
func TestLatencyCommand(t *testing.T) {
	rep, out := runLatency(t)
	s := rep.Summary
	if !s.Warm || rep.MeasuredS < 1.9 || rep.MeasuredS > 2.1 {
		t.Fatalf("warm %v, measured %.2f s, want 2 s", s.Warm, rep.MeasuredS)
	}
	// 2 s of 20 ms bins: about 100 commands, each received by the peer.
	for _, name := range []string{"queue", "bin", "decode", "publish", "block", "e2e", "cmd-hop", "bare"} {
		if n := rowCount(rep, name); n < 80 {
			t.Errorf("%s: %d measurements, want ≈ 100 or more", name, n)
		}
	}
	e2e, pub := rep.row("e2e"), rep.row("publish")
	if e2e != nil && pub != nil && e2e.Q.P50 <= pub.Q.P50 {
		t.Errorf("e2e p50 %.1f µs ≤ publish p50 %.1f µs: the other process cannot receive before the publish", e2e.Q.P50, pub.Q.P50)
	}
	if rep.RatioP50 <= 0 || len(rep.Timeline) == 0 || len(rep.BareTimeline) == 0 {
		t.Errorf("ratio %.2f, %d timeline points, %d bare points", rep.RatioP50, len(rep.Timeline), len(rep.BareTimeline))
	}
	if s.GCCycles == nil || s.DeadlineUS != 1000 {
		t.Errorf("gc cycles %v, deadline %.0f µs (want 1000: one block)", s.GCCycles, s.DeadlineUS)
	}
	for _, want := range []string{"boundary", "e2e", "bare", "end-to-end ÷ bare NATS hop", "GC cycles after warm-up"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestLatencyExternal closes the loop through the example external decoder
// in Python (docs/examples/external_decoder.py, over natsmini.py).
func TestLatencyExternal(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: the external decoder example (docs/examples/external_decoder.py) is not run")
	}
	script, err := filepath.Abs("../../docs/examples/external_decoder.py")
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := runLatency(t, "--external", py+" "+script)
	ec := rep.ExternalCommands
	if ec == nil || ec.Received < 80 || ec.ByReason["delivered"] != ec.Received {
		t.Fatalf("external commands %+v: want ≈ 100, all delivered", ec)
	}
	// Every command answers a bin; the brain applies each pulse at its
	// next frame, after the command came back.
	ext, stim := rep.row("external"), rep.row("stim")
	if ext == nil || stim == nil || ext.Q.Count < 80 || stim.Q.Count < 80 {
		t.Fatalf("external %+v, stim %+v", ext, stim)
	}
	if n := rowCount(rep, "bins-e2e"); n < 80 {
		t.Errorf("%d bins received by the other process in a run without commands", n)
	}
	if n := rowCount(rep, "bare"); n < 80 {
		t.Errorf("%d bare probes in a run without commands, want one per bin", n)
	}
	if stim.Q.P50 < ext.Q.P50 {
		t.Errorf("stimulation applied (p50 %.0f µs) before the command was received (p50 %.0f µs)", stim.Q.P50, ext.Q.P50)
	}
}

func TestLatencyUsage(t *testing.T) {
	for _, args := range [][]string{
		{"latency", "--load", "nope"},
		{"latency", "--duration", "0s"},
		{"latency", "a.yaml", "b.yaml"},
	} {
		if code, _, errs := run(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2; stderr %s", args, code, errs)
		}
	}
}

// TestLatencyLoadsBuild applies every load profile to the shipped demo
// config (closed loop, stimulation on) and builds the loop, as `bciloop
// latency --config configs/sim-cursor.yaml --load NAME` does before it
// runs: a profile whose brain cannot take the config's stimulation chain
// fails here, not after a minute of measuring.
func TestLatencyLoadsBuild(t *testing.T) {
	for name, p := range loadProfiles {
		t.Run(name, func(t *testing.T) {
			cfg, err := loop.LoadConfig(filepath.Join("..", "..", "configs", "sim-cursor.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			p.apply(&cfg)
			o := latencyOptions{warmup: time.Second}
			if err := prepareLatencyConfig(&cfg, &o); err != nil {
				t.Fatal(err)
			}
			if _, err := loop.Build(cfg, zerolog.Nop()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
