package sim

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// cpuTime returns the CPU time (user + system) the process has used: on a
// shared machine it measures the work, where wall time also counts the
// time other processes held the cores.
func cpuTime() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func TestBroadbandConfigValidate(t *testing.T) {
	c := DefaultBroadbandConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c.Channels, c.RateHz, c.HighHz, c.TableFrames, c.AmplitudeMaxUV, c.TroughPeakMinMs = 0, -1, 0, 1000, -1, 0
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, key := range []string{"channels:", "rate_hz:", "high_hz:", "table_frames:", "amplitude_max_uv:", "trough_peak_min_ms:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error lacks %s:\n%v", key, err)
		}
	}
}

func smallBroadband(t testing.TB, noise float64) *Broadband {
	t.Helper()
	c := DefaultBroadbandConfig()
	c.Channels, c.NoiseUV = 16, noise
	b, err := NewBroadband(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBroadbandNoise checks the background: RMS, zero mean, no power below
// the band (the lag-1…3 correlations of a 250–5000 Hz process at 30 kHz
// are high, those far apart low), distinct channels, and bit-for-bit
// reproduction from the seed.
func TestBroadbandNoise(t *testing.T) {
	a, b := smallBroadband(t, 8), smallBroadband(t, 8)
	const frames = 30000
	x := a.Render(nil, frames)
	y := b.Render(nil, frames)
	for i := range x {
		if x[i] != y[i] {
			t.Fatalf("sample %d differs between two renderers of one seed", i)
		}
	}
	n := a.Channels()
	var sum, ss, lag1, cross float64
	for f := 0; f < frames; f++ {
		for c := 0; c < n; c++ {
			v := float64(x[f*n+c])
			sum += v
			ss += v * v
			if f > 0 {
				lag1 += v * float64(x[(f-1)*n+c])
			}
			if c > 0 {
				cross += v * float64(x[f*n+c-1])
			}
		}
	}
	cnt := float64(frames * n)
	rms := math.Sqrt(ss / cnt)
	if math.Abs(rms-8) > 0.4 {
		t.Errorf("RMS %.2f µV, want 8", rms)
	}
	if m := sum / cnt; math.Abs(m) > 0.2 {
		t.Errorf("mean %.3f µV, want 0", m)
	}
	// For a flat band [fl, fh], ρ(1 frame) = [sin 2πfh·dt − sin 2πfl·dt] / (2π(fh−fl)·dt) ≈ 0.84.
	if r := lag1 / ss; math.Abs(r-0.84) > 0.05 {
		t.Errorf("lag-1 autocorrelation %.3f, want ≈ 0.84 for 250–5000 Hz at 30 kHz", r)
	}
	if r := cross / ss; math.Abs(r) > 0.05 {
		t.Errorf("neighbouring channels correlate at %.3f, want ≈ 0", r)
	}
}

// TestBroadbandSpike renders spikes without noise in blocks of 7 frames
// and finds each channel's template exactly where it was queued, added
// where two overlap.
func TestBroadbandSpike(t *testing.T) {
	b := smallBroadband(t, 0)
	L := b.TemplateFrames()
	if L != 48 {
		t.Fatalf("template of %d frames, want 48 (1.6 ms at 30 kHz)", L)
	}
	spikes := []struct {
		ch int
		s  int64
	}{{3, 5}, {3, 20}, {7, 100}, {15, 0}}
	for _, s := range spikes {
		if err := b.Spike(s.ch, s.s); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Spike(16, 0); err == nil {
		t.Error("a spike on channel 16 of 16 was accepted")
	}
	n := b.Channels()
	var out []float32
	var blk []float32
	for range 30 {
		blk = b.Render(blk, 7)
		out = append(out, blk...)
	}
	want := make([]float32, len(out))
	for _, s := range spikes {
		tm := b.Template(s.ch)
		for i, v := range tm {
			want[(int(s.s)+i)*n+s.ch] += v
		}
	}
	for i := range out {
		if math.Abs(float64(out[i]-want[i])) > 1e-4 {
			t.Fatalf("frame %d channel %d: %g, want %g", i/n, i%n, out[i], want[i])
		}
	}
	// The trough: negative, at t₀ = 0.3 ms (frame 9), within the amplitude range.
	tm := b.Template(7)
	lo, at := float32(0), 0
	for i, v := range tm {
		if v < lo {
			lo, at = v, i
		}
	}
	if at != 9 || lo > -40 || lo < -120 {
		t.Errorf("trough %g µV at frame %d, want 40–120 µV at frame 9", lo, at)
	}
}

func TestBroadbandRenderAllocs(t *testing.T) {
	b := smallBroadband(t, 8)
	dst := b.Render(nil, 30)
	ch := 0
	allocs := testing.AllocsPerRun(200, func() {
		_ = b.Spike(ch%16, b.Sample()+int64(ch%30))
		ch++
		dst = b.Render(dst, 30)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per render", allocs)
	}
}

// TestBroadbandCortex renders a 16-unit motor cortex and finds one
// waveform trough per brain spike: every sample below −25 µV (over 3σ of
// the 8 µV background, under the smallest trough of 40 µV minus noise)
// starts a run that belongs to a spike.
func TestBroadbandCortex(t *testing.T) {
	mc := DefaultMotorCortexConfig()
	mc.Units = 16
	brain, err := NewMotorCortex(mc)
	if err != nil {
		t.Fatal(err)
	}
	bb := smallBroadband(t, 0)
	c, err := NewBroadbandCortex(brain, bb)
	if err != nil {
		t.Fatal(err)
	}
	if c.Ratio() != 30 {
		t.Fatalf("ratio %d", c.Ratio())
	}
	var dst []float32
	var truth []float64
	troughs := 0
	n := bb.Channels()
	for range 2000 { // 2 s in 1 ms blocks
		dst, truth = c.Advance(30, dst, truth[:0])
		if len(truth) != 30*brain.TruthDims() {
			t.Fatalf("truth of %d values for 30 frames", len(truth))
		}
		for i, v := range dst {
			// A local minimum below −20 µV (neighbouring troughs of one
			// channel are ≥ 1 frame apart in the brain's 1 ms grid).
			f := i / n
			if v < -20 && f > 0 && f < 29 && v <= dst[i-n] && v < dst[i+n] {
				troughs++
			}
		}
	}
	spikes := 0
	// Count the brain's spikes by replaying it from the same seed.
	brain2, _ := NewMotorCortex(mc)
	ev, _ := brain2.Advance(2000, nil, nil)
	spikes = len(ev)
	// Troughs at a block edge (frames 0 and 29, 2 of 30) are not counted,
	// and two spikes of one channel in adjacent milliseconds may merge.
	if lo, hi := 0.85*float64(spikes), 1.0*float64(spikes); float64(troughs) < lo || float64(troughs) > hi {
		t.Errorf("%d troughs for %d brain spikes", troughs, spikes)
	}
	t.Logf("%d troughs, %d spikes", troughs, spikes)
}

// BenchmarkBroadband renders 1 ms of 1024 channels at 30 kHz with
// ≈ 20 spikes/s per channel: cpu-µs/op (process CPU time, robust on a
// shared machine) over 1000 is the share of one core the renderer costs in
// real time.
func BenchmarkBroadband(b *testing.B) {
	bb, err := NewBroadband(DefaultBroadbandConfig())
	if err != nil {
		b.Fatal(err)
	}
	dst := bb.Render(nil, 30)
	k := 0
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for range b.N {
		for range 20 { // 1024 ch × 20 Hz ≈ 20 spikes per ms
			k = (k*1103515245 + 12345) & 0x7fffffff
			_ = bb.Spike(k%1024, bb.Sample()+int64(k%30))
		}
		dst = bb.Render(dst, 30)
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/1e3, "cpu-µs/op")
}

// BenchmarkBroadbandCortex is the whole raw source: a 1024-unit motor
// cortex at 1 kHz rendered at 30 kHz, per 1 ms block.
func BenchmarkBroadbandCortex(b *testing.B) {
	mc := DefaultMotorCortexConfig()
	mc.Units = 1024
	brain, err := NewMotorCortex(mc)
	if err != nil {
		b.Fatal(err)
	}
	bb, err := NewBroadband(DefaultBroadbandConfig())
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewBroadbandCortex(brain, bb)
	if err != nil {
		b.Fatal(err)
	}
	var dst []float32
	var truth []float64
	dst, truth = c.Advance(30, dst, truth)
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for range b.N {
		dst, truth = c.Advance(30, dst, truth[:0])
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/1e3, "cpu-µs/op")
}

// TestBroadbandCortexBlocks renders the same brain in blocks of 30 and of
// 7 frames (not a multiple of the 30 frames per brain frame): the voltage
// and the truth agree frame for frame.
func TestBroadbandCortexBlocks(t *testing.T) {
	build := func() *BroadbandCortex {
		mc := DefaultMotorCortexConfig()
		mc.Units = 16
		brain, err := NewMotorCortex(mc)
		if err != nil {
			t.Fatal(err)
		}
		c, err := NewBroadbandCortex(brain, smallBroadband(t, 8))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	render := func(block int) ([]float32, []float64) {
		c := build()
		var v []float32
		var tr, blk []float64
		var d []float32
		for len(v) < 16*30*300 {
			d, blk = c.Advance(block, d, blk[:0])
			v = append(v, d...)
			tr = append(tr, blk...)
		}
		return v[:16*30*300], tr[:4*30*300]
	}
	v30, t30 := render(30)
	v7, t7 := render(7)
	for i := range v30 {
		if v30[i] != v7[i] {
			t.Fatalf("sample %d: %g in blocks of 30, %g in blocks of 7", i, v30[i], v7[i])
		}
	}
	for i := range t30 {
		if t30[i] != t7[i] {
			t.Fatalf("truth %d: %g vs %g", i, t30[i], t7[i])
		}
	}
}

// ExampleBroadband renders 2 ms of 4 channels at 30 kHz with one spike on
// channel 2 and no background, and finds the waveform's trough.
func ExampleBroadband() {
	cfg := DefaultBroadbandConfig()
	cfg.Channels, cfg.NoiseUV = 4, 0
	bb, err := NewBroadband(cfg)
	if err != nil {
		panic(err)
	}
	_ = bb.Spike(2, 6) // waveform from frame 6
	v := bb.Render(nil, 60)
	lo, at := float32(0), 0
	for f := range 60 {
		if x := v[f*4+2]; x < lo {
			lo, at = x, f
		}
	}
	fmt.Printf("%d frames rendered, trough on channel 2 at frame %d (%.1f ms after the spike), below −40 µV: %v\n",
		len(v)/4, at, float64(at-6)/30, lo < -40)
	// Output: 60 frames rendered, trough on channel 2 at frame 15 (0.3 ms after the spike), below −40 µV: true
}

// TestBroadbandCortexStimulate: a stimulus timed on the voltage clock
// reaches the motor-cortex frame holding that voltage frame (⌈s/30⌉), not a
// frame 30 times later.
func TestBroadbandCortexStimulate(t *testing.T) {
	var got []int64
	mc := DefaultMotorCortexConfig()
	mc.Units = 16
	var brain *MotorCortex
	// Advanced one brain frame per call below, so Sample is the frame.
	mc.OnApplied = func(_, _ int64) { got = append(got, brain.Sample()) }
	brain, err := NewMotorCortex(mc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewBroadbandCortex(brain, smallBroadband(t, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []int64{0, 301, 600} { // brain frames: next, 11, 20
		if err := c.Stimulate(Stimulus{Electrode: 5, AmplitudeUA: 20, PhaseUS: 100, Count: 1, Sample: s}); err != nil {
			t.Fatal(err)
		}
	}
	var v []float32
	for range 30 {
		v, _ = c.Advance(30, v[:0], nil)
	}
	if !slices.Equal(got, []int64{0, 11, 20}) {
		t.Errorf("applied at brain frames %v, want [0 11 20]", got)
	}
	c.StopStimulation()
}
