package loop

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
)

// TestFeaturesRateAndSignal feeds known blocks and checks each feature
// against its formula.
func TestFeaturesRateAndSignal(t *testing.T) {
	const rate = 1000.0
	cfg := DefaultFeaturesConfig()
	cfg.RateWindow = 100 * time.Millisecond
	cfg.RateChannels = []int{0, 1}
	cfg.BandLowHz, cfg.BandHighHz = 15, 30
	cfg.PowerWindow = 200 * time.Millisecond
	cfg.LineLengthWindow = 50 * time.Millisecond
	f, err := newFeatures(cfg, 3, rate, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var last decode.Estimate
	n := 0
	emit := func(e *decode.Estimate) {
		if e.Sample != int64(n) {
			t.Fatalf("estimate %d for sample %d", n, e.Sample)
		}
		n++
		last.Sample, last.State = e.Sample, append(last.State[:0], e.State...)
	}
	// 2 s of a 20 Hz sine of amplitude 10 µV on channel 0 of 3, with
	// channel 0 spiking every 10 ms, channel 1 every 20 ms and channel 2
	// (not counted) every ms.
	b := acquire.Block{Frames: 10, Channels: 3, Rate: rate}
	for blk := range 200 {
		b.Start = int64(blk * 10)
		b.Data, b.Spikes = b.Data[:0], b.Spikes[:0]
		for i := range 10 {
			s := b.Start + int64(i)
			b.Data = append(b.Data, float32(10*math.Sin(2*math.Pi*20*float64(s)/rate)), 0, 0)
			if s%10 == 0 {
				b.Spikes = append(b.Spikes, acquire.Spike{Sample: s, Channel: 0})
			}
			if s%20 == 0 {
				b.Spikes = append(b.Spikes, acquire.Spike{Sample: s, Channel: 1})
			}
			b.Spikes = append(b.Spikes, acquire.Spike{Sample: s, Channel: 2})
		}
		f.process(&b, emit)
	}
	if n != 2000 {
		t.Fatalf("%d estimates for 2000 samples (hop 0: every sample)", n)
	}
	names := FeatureNames()
	got := map[string]float64{}
	for i, name := range names {
		got[name] = last.State[i]
	}
	// Rate: channels 0 and 1 give 100 + 50 spikes/s: 75 Hz per unit.
	if r := got[FeatureRate]; math.Abs(r-75) > 1 {
		t.Errorf("rate %v Hz, want 75", r)
	}
	// The last sample of the sine.
	if want := 10 * math.Sin(2*math.Pi*20*1999/rate); math.Abs(got[FeatureLFP]-want) > 1e-4 {
		t.Errorf("lfp %v, want %v", got[FeatureLFP], want)
	}
	// Band power of a 20 Hz sine inside the band: A²/2 = 50 µV² (± ripple
	// of the one-pole smoothing).
	if p := got[FeatureBetaPower]; p < 40 || p > 60 {
		t.Errorf("beta_power %v µV², want ≈ 50", p)
	}
	// Line length: 4·A·f = 800 µV/s (a discrete sine's is slightly less).
	if l := got[FeatureLineLength]; l < 760 || l > 810 {
		t.Errorf("line_length %v µV/s, want ≈ 800", l)
	}
	// A spike-only block: signal features are NaN, the rate stays.
	sp := acquire.Block{Start: 2000, Frames: 1, Channels: 3, Rate: rate}
	f.process(&sp, emit)
	if !math.IsNaN(last.State[1]) || !math.IsNaN(last.State[3]) || math.IsNaN(last.State[0]) {
		t.Errorf("spike-only block: state %v", last.State)
	}
	nop := func(*decode.Estimate) {}
	if a := testing.AllocsPerRun(100, func() { f.process(&b, nop) }); a != 0 {
		t.Errorf("process allocates %v times per block", a)
	}
}

// TestFeaturesHopAndSelection: estimates every hop; rate units by
// electrode neighbourhood; configuration errors.
func TestFeaturesHopAndSelection(t *testing.T) {
	cfg := DefaultFeaturesConfig()
	cfg.Hop = 5 * time.Millisecond
	cfg.RateElectrode, cfg.RateRadiusUM = 1, 150
	pos := [][2]float64{{0, 0}, {100, 0}, {1000, 0}, {1100, 100}}
	el := [][2]float64{{0, 0}, {1000, 0}}
	f, err := newFeatures(cfg, 4, 1000, pos, el)
	if err != nil {
		t.Fatal(err)
	}
	if f.units != 2 || !f.unit[2] || !f.unit[3] {
		t.Errorf("units near electrode 1: %v", f.unit)
	}
	n := 0
	b := acquire.Block{Frames: 23, Channels: 4, Rate: 1000}
	f.process(&b, func(*decode.Estimate) { n++ })
	if n != 4 {
		t.Errorf("%d estimates in 23 samples at a 5 ms hop, want 4", n)
	}
	bad := []struct {
		mod  func(*FeaturesConfig)
		pos  [][2]float64
		want string
	}{
		{func(c *FeaturesConfig) { c.RateElectrode = 0 }, nil, "rate_electrode: the source has no positions"},
		{func(c *FeaturesConfig) { c.RateChannels = []int{7} }, nil, "rate_channels[0]: 7"},
		{func(c *FeaturesConfig) { c.BandHighHz = 600 }, nil, "band_high_hz"},
		{func(c *FeaturesConfig) { c.RateWindow = 0; c.Hop = -1 }, nil, "hop: must be ≥ 0"},
	}
	for _, c := range bad {
		cfg := DefaultFeaturesConfig()
		c.mod(&cfg)
		_, err := newFeatures(cfg, 4, 1000, c.pos, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error with %q, got %v", c.want, err)
		}
	}
}

// BenchmarkFeatures measures the feature stage on one 1 ms block: a raw
// LFP channel at 1 kHz (one estimate per sample), and a 4000-unit spike
// stream at 10 kHz with 40 spikes (one estimate per ms).
func BenchmarkFeatures(b *testing.B) {
	b.Run("lfp-1kHz", func(b *testing.B) {
		f, err := newFeatures(DefaultFeaturesConfig(), 1, 1000, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		blk := acquire.Block{Frames: 1, Channels: 1, Rate: 1000, Data: []float32{0}}
		emit := func(*decode.Estimate) {}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			blk.Start, blk.Data[0] = int64(i), float32(i%7)
			f.process(&blk, emit)
		}
	})
	b.Run("spikes-10kHz", func(b *testing.B) {
		cfg := DefaultFeaturesConfig()
		cfg.Hop = time.Millisecond
		f, err := newFeatures(cfg, 4000, 10000, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		blk := acquire.Block{Frames: 10, Channels: 4000, Rate: 10000}
		for k := range 40 {
			blk.Spikes = append(blk.Spikes, acquire.Spike{Sample: int64(k / 4), Channel: uint16(k * 97 % 4000)})
		}
		emit := func(*decode.Estimate) {}
		b.ReportAllocs()
		for b.Loop() {
			f.process(&blk, emit)
		}
	})
}
