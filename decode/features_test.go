package decode

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bciloop/bciloop/acquire"
)

func TestCommonAverage(t *testing.T) {
	src := []float32{1, 2, 3, 10, 10, 40}
	dst := make([]float32, 6)
	CommonAverage(dst, src, 3)
	if want := []float32{-1, 0, 1, -10, -10, 20}; !slices.Equal(dst, want) {
		t.Errorf("CAR = %v, want %v", dst, want)
	}
	CommonAverage(src, src, 3) // in place
	if !slices.Equal(src, dst) {
		t.Errorf("in place = %v", src)
	}
	if a := testing.AllocsPerRun(20, func() { CommonAverage(dst, src, 3) }); a != 0 {
		t.Errorf("allocates %v", a)
	}
}

func TestHistory(t *testing.T) {
	h, err := NewHistory(2, 3, []float64{0.5, 1})
	if err != nil {
		t.Fatal(err)
	}
	var lags, sum []float64
	for i, tc := range []struct {
		push       []float64
		lags, sums []float64
	}{
		{[]float64{1, 2}, []float64{1, 2, 0.5, 1, 0.5, 1}, []float64{2, 4}},
		{[]float64{3, 4}, []float64{3, 4, 1, 2, 0.5, 1}, []float64{4.5, 7}},
		{[]float64{5, 6}, []float64{5, 6, 3, 4, 1, 2}, []float64{9, 12}},
		{[]float64{7, 8}, []float64{7, 8, 5, 6, 3, 4}, []float64{15, 18}},
	} {
		h.Push(tc.push)
		lags, sum = h.LagsTo(lags), h.SumTo(sum)
		if !slices.Equal(lags, tc.lags) || !slices.Equal(sum, tc.sums) {
			t.Errorf("push %d: lags %v sum %v, want %v %v", i, lags, sum, tc.lags, tc.sums)
		}
	}
	if a := testing.AllocsPerRun(20, func() {
		h.Push([]float64{1, 1})
		lags, sum = h.LagsTo(lags), h.SumTo(sum)
	}); a != 0 {
		t.Errorf("allocates %v", a)
	}
	h.Reset()
	if got := h.SumTo(nil); !slices.Equal(got, []float64{1.5, 3}) {
		t.Errorf("after Reset sum = %v", got)
	}
	if _, err := NewHistory(0, 0, []float64{1}); err == nil || !strings.Contains(err.Error(), "channels: must be ≥ 1") || !strings.Contains(err.Error(), "lags: must be ≥ 1") {
		t.Errorf("err = %v", err)
	}
}

// broadband returns frames×channels Gaussian noise of SD sigma µV with
// negative spikes of depth −amp·sigma (1 sample, isolated) planted on every
// channel every 300 frames, and the planted samples.
func broadband(frames, channels int, sigma, amp float64, seed uint64) ([]float32, map[[2]int64]bool) {
	rng := rand.New(rand.NewPCG(seed, 0x6272))
	data := make([]float32, frames*channels)
	for i := range data {
		data[i] = float32(sigma * rng.NormFloat64())
	}
	planted := map[[2]int64]bool{}
	for c := 0; c < channels; c++ {
		for f := 150 + 7*c; f < frames; f += 300 {
			data[f*channels+c] = float32(-amp * sigma)
			planted[[2]int64{int64(f), int64(c)}] = true
		}
	}
	return data, planted
}

func TestThresholdDetects(t *testing.T) {
	const C, fs = 8, 30000.0
	frames := 3 * 30000
	data, planted := broadband(frames, C, 10, 10, 1)
	cfg := DefaultThresholdConfig()
	th, err := NewThreshold(cfg, C, fs)
	if err != nil {
		t.Fatal(err)
	}
	var spikes []acquire.Spike
	for start := 0; start < frames; start += 30 { // 1 ms blocks
		b := acquire.Block{Start: int64(start), Frames: 30, Rate: fs, Channels: C, Data: data[start*C : (start+30)*C]}
		if err := th.Detect(&b); err != nil {
			t.Fatal(err)
		}
		spikes = append(spikes, b.Spikes...)
	}
	// σ = median|x|/0.6745 estimates the noise SD (10 µV) to within its
	// sampling error, about 1.4 % at 30000 samples; the planted spikes
	// (1 in 300 samples) move the median by under 0.3 %.
	for c, s := range th.NoiseTo(nil) {
		if math.Abs(s-10)/10 > 0.03 {
			t.Errorf("channel %d: σ = %.3f, want 10 ± 3 %%", c, s)
		}
	}
	hits, extra := 0, 0
	for _, s := range spikes {
		if planted[[2]int64{s.Sample, int64(s.Channel)}] {
			hits++
		} else {
			extra++
		}
		if s.Sample < 30000 {
			t.Fatalf("crossing at %d inside calibration", s.Sample)
		}
	}
	want := 0
	for k := range planted {
		if k[0] >= 30000 {
			want++
		}
	}
	// −4.5σ Gaussian noise crossings: P(x < −4.5σ) = 3.4e-6 per sample, so
	// about 0.2 per channel per 2 s here; every planted −10σ spike is found.
	if hits != want || extra > 5 {
		t.Errorf("found %d of %d planted spikes, %d others", hits, want, extra)
	}
	if got := th.CountsTo(nil); sumF(got) != float64(len(spikes)) {
		t.Errorf("counts %v sum to %g, want %d", got, sumF(got), len(spikes))
	}
	if !sortedSpikes(spikes) {
		t.Error("spikes not sorted by sample")
	}
	bad := acquire.Block{Frames: 1, Rate: fs, Channels: 3, Data: make([]float32, 3)}
	if err := th.Detect(&bad); err == nil || !strings.Contains(err.Error(), "want 8 channels") {
		t.Errorf("err = %v", err)
	}
	if _, err := NewThreshold(ThresholdConfig{K: -1, Calibration: 0, DeadTime: -1, Adaptive: true}, 0, 0); err == nil ||
		!strings.Contains(err.Error(), "k: must be") || !strings.Contains(err.Error(), "calibration: must be > 0") ||
		!strings.Contains(err.Error(), "dead_time: must be ≥ 0") || !strings.Contains(err.Error(), "adapt_tau:") ||
		!strings.Contains(err.Error(), "channels: must be in") || !strings.Contains(err.Error(), "rate: must be") {
		t.Errorf("err = %v", err)
	}
}

func sumF(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s
}

func sortedSpikes(s []acquire.Spike) bool {
	for i := 1; i < len(s); i++ {
		if s[i].Sample < s[i-1].Sample {
			return false
		}
	}
	return true
}

func TestThresholdAdaptive(t *testing.T) {
	// The noise doubles after calibration: the adaptive estimate follows
	// it within a few time constants, the fixed one does not.
	const C, fs = 2, 1000.0
	rng := rand.New(rand.NewPCG(2, 3))
	frames := 60000
	data := make([]float32, frames*C)
	for i := range data {
		s := 1.0
		if i/C >= 1000 {
			s = 2
		}
		data[i] = float32(s * rng.NormFloat64())
	}
	for _, adaptive := range []bool{false, true} {
		cfg := DefaultThresholdConfig()
		cfg.Adaptive, cfg.AdaptTau = adaptive, 5*time.Second
		th, _ := NewThreshold(cfg, C, fs)
		b := acquire.Block{Frames: frames, Rate: fs, Channels: C, Data: data}
		if err := th.Detect(&b); err != nil {
			t.Fatal(err)
		}
		sd := th.NoiseTo(nil)[0]
		// After 59 s = 12 τ the frugal estimate sits at the median to
		// within its step noise (η = 16/5000 per update, a few %).
		if adaptive && math.Abs(sd-2)/2 > 0.1 {
			t.Errorf("adaptive σ = %.3f, want 2 ± 10 %%", sd)
		}
		if !adaptive && math.Abs(sd-1) > 0.1 {
			t.Errorf("fixed σ = %.3f, want 1", sd)
		}
	}
}

func TestThresholdAllocs(t *testing.T) {
	const C = 16
	data, _ := broadband(2000, C, 5, 8, 4)
	cfg := DefaultThresholdConfig()
	cfg.Calibration = 10 * time.Millisecond
	th, _ := NewThreshold(cfg, C, 30000)
	b := acquire.Block{Frames: 2000, Rate: 30000, Channels: C, Data: data, Spikes: make([]acquire.Spike, 0, 4096)}
	if err := th.Detect(&b); err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(20, func() {
		b.Spikes = b.Spikes[:0]
		_ = th.Detect(&b)
	}); a != 0 {
		t.Errorf("Detect allocates %v times", a)
	}
}

func BenchmarkThreshold(b *testing.B) {
	// 384 channels at 30 kHz, 1 ms blocks: the target is ≥ 20× real time,
	// i.e. ≤ 50 µs per block (reported as x-realtime).
	const C, F = 384, 30
	data, _ := broadband(F*100, C, 10, 8, 5)
	for _, adaptive := range []bool{false, true} {
		name := "adaptive=false"
		if adaptive {
			name = "adaptive=true"
		}
		b.Run(name, func(b *testing.B) {
			cfg := DefaultThresholdConfig()
			cfg.Calibration, cfg.Adaptive = time.Millisecond, adaptive
			th, _ := NewThreshold(cfg, C, 30000)
			blk := acquire.Block{Frames: F, Rate: 30000, Channels: C, Spikes: make([]acquire.Spike, 0, 1024)}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := i % 100
				blk.Start = int64(i * F)
				blk.Data = data[k*F*C : (k+1)*F*C]
				blk.Spikes = blk.Spikes[:0]
				_ = th.Detect(&blk)
			}
			b.ReportMetric(1e-3/(b.Elapsed().Seconds()/float64(b.N)), "x-realtime")
		})
	}
}

func TestWelch(t *testing.T) {
	const fs = 250.0
	rng := rand.New(rand.NewPCG(6, 7))
	n := 250 * 60
	x := make([]float64, n)
	for i := range x {
		// White noise of variance 4 plus a 10 Hz sinusoid of amplitude 3.
		x[i] = 2*rng.NormFloat64() + 3*math.Sin(2*math.Pi*10*float64(i)/fs)
	}
	w, err := NewWelch(250, 125, fs)
	if err != nil {
		t.Fatal(err)
	}
	psd, err := w.PSDTo(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	f := w.FreqsTo(nil)
	// One-sided white-noise density 2σ²/fs = 0.032 per Hz; averaging 119
	// segments gives about 9 % relative SD per bin, so the mean over
	// 30–100 Hz (70 bins) is within 3 %.
	level := 0.0
	cnt := 0
	for k := range psd {
		if f[k] >= 30 && f[k] <= 100 {
			level += psd[k]
			cnt++
		}
	}
	level /= float64(cnt)
	if math.Abs(level-2*4/fs)/(2*4/fs) > 0.03 {
		t.Errorf("noise density %.5f, want %.5f", level, 2*4/fs)
	}
	// The sinusoid's power A²/2 = 4.5 lies in 8–12 Hz (the Hann main lobe
	// is ±2 bins of 1 Hz), plus the noise's 4·4/125 = 0.128 there.
	if p := BandPowerPSD(psd, f[1], 8, 12); math.Abs(p-4.5-0.128) > 0.1 {
		t.Errorf("8–12 Hz power %.3f, want %.3f", p, 4.5+0.128)
	}
	if a := testing.AllocsPerRun(5, func() { psd, _ = w.PSDTo(psd, x) }); a != 0 {
		t.Errorf("PSDTo allocates %v", a)
	}
	if _, err := NewWelch(4, 4, 0); err == nil || !strings.Contains(err.Error(), "segment: must be ≥ 8") {
		t.Errorf("err = %v", err)
	}
	if _, err := w.PSDTo(nil, x[:10]); err == nil {
		t.Error("short input accepted")
	}
}

func TestBandPower(t *testing.T) {
	// A 10 Hz sinusoid of amplitude 2 on channel 0 and a 40 Hz one on
	// channel 1, through an 8–12 Hz envelope: A²/2 = 2 on channel 0 (within
	// the ripple of the one-pole smoother, a few %), almost nothing on 1
	// (|H(40 Hz)|² of an order-4 band-pass is below 1e-8).
	const fs = 250.0
	bp, err := NewBandPower(4, 8, 12, fs, time.Second, 2)
	if err != nil {
		t.Fatal(err)
	}
	n := 250 * 20
	src := make([]float32, 2*n)
	for i := 0; i < n; i++ {
		src[2*i] = float32(2 * math.Sin(2*math.Pi*10*float64(i)/fs))
		src[2*i+1] = float32(2 * math.Sin(2*math.Pi*40*float64(i)/fs))
	}
	for f := 0; f < n; f += 25 {
		bp.Process(src[2*f : 2*(f+25)])
	}
	p := bp.PowerTo(nil)
	if math.Abs(p[0]-2) > 0.1 || p[1] > 1e-3 {
		t.Errorf("band power %v, want [2 ± 0.1, < 1e-3]", p)
	}
	if a := testing.AllocsPerRun(10, func() { bp.Process(src[:50]) }); a != 0 {
		t.Errorf("Process allocates %v", a)
	}
	if _, err := NewBandPower(2, 8, 12, fs, 0, 1); err == nil {
		t.Error("tau 0 accepted")
	}
}
