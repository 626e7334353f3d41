package decode

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/bciloop/bciloop/acquire"
)

// ThresholdConfig configures threshold-crossing detection on broadband (or
// band-passed) voltage.
type ThresholdConfig struct {
	// K is the threshold in robust standard deviations: a crossing is a
	// sample below −K·σ (K > 0; negative-going spikes, as extracellular
	// action potentials recorded near the soma are). 4.5 is the usual choice
	// for Utah arrays (Christie et al. 2015), Quiroga et al. (2004) used 4–5.
	K float64 `yaml:"k"`
	// Calibration is the span, from the start of the stream, over which σ is
	// estimated; no crossing is detected before it ends.
	Calibration time.Duration `yaml:"calibration"`
	// DeadTime is the refractory period after a crossing during which the
	// channel detects nothing more (one spike gives one crossing).
	DeadTime time.Duration `yaml:"dead_time"`
	// Adaptive, when set, keeps tracking σ after calibration (see
	// Threshold).
	Adaptive bool `yaml:"adaptive"`
	// AdaptTau is the time constant of the adaptive estimate.
	AdaptTau time.Duration `yaml:"adapt_tau"`
}

// DefaultThresholdConfig returns K = 4.5, 1 s of calibration, a 1 ms dead
// time, and no adaptation (with a 10 s time constant when enabled).
func DefaultThresholdConfig() ThresholdConfig {
	return ThresholdConfig{K: 4.5, Calibration: time.Second, DeadTime: time.Millisecond, AdaptTau: 10 * time.Second}
}

// Validate reports every problem of c at once, each as "key: message".
func (c *ThresholdConfig) Validate() error {
	var errs []error
	if !(c.K > 0) || math.IsInf(c.K, 0) {
		errs = append(errs, fmt.Errorf("k: must be finite and > 0 (the threshold is −k·σ), got %g", c.K))
	}
	if c.Calibration <= 0 {
		errs = append(errs, fmt.Errorf("calibration: must be > 0, got %v", c.Calibration))
	}
	if c.DeadTime < 0 {
		errs = append(errs, fmt.Errorf("dead_time: must be ≥ 0, got %v", c.DeadTime))
	}
	if c.Adaptive && c.AdaptTau <= 0 {
		errs = append(errs, fmt.Errorf("adapt_tau: must be > 0 with adaptive, got %v", c.AdaptTau))
	}
	return errors.Join(errs...)
}

// thresholdAdaptStride is how many frames apart the adaptive estimate is
// updated: every 16th frame (about 0.5 ms at 30 kHz) tracks drifts of seconds
// while costing under 0.1 ns per sample.
const thresholdAdaptStride = 16

// Threshold detects threshold crossings in frame-major voltage blocks
// (acquire.Block.Data): per channel, a crossing is a sample x < −K·σ after a
// sample at or above it, with no other crossing in the previous DeadTime. σ
// is the robust noise estimate of Quiroga, Nadasdy & Ben-Shaul (2004),
// Neural Computation 16:1661–1687,
//
//	σ = median(|x|) / 0.6745,
//
// (0.6745 is the 0.75 quantile of the standard normal, so σ is the standard
// deviation for Gaussian noise, and spikes barely move it), computed over the
// first Calibration of the stream. With Adaptive, the median of |x| is then
// tracked by the frugal streaming quantile estimate of Ma, Muthukrishnan &
// Sandler (2014): every 16th frame, m ← m + η·m·sign(|x| − m) with
// η = 16/(AdaptTau·rate), which settles where half the samples lie above m.
//
// Detect appends the crossings to the block's Spikes (sorted by sample, then
// channel; Unit 0) and adds them to per-channel counts. After calibration it
// does not allocate beyond growing Spikes, and costs about one comparison per
// sample.
//
// Concurrency: a Threshold is used by one goroutine at a time.
type Threshold struct {
	cfg      ThresholdConfig
	channels int
	rate     float64
	calib    int // frames of calibration
	dead     int64
	eta      float32

	buf    []float32 // calibration |x|, channel-major calib frames per channel
	filled int
	medAbs []float32
	thr    []float32 // −K·σ per channel
	below  []bool    // previous sample below threshold
	next   []int64   // first sample a channel may fire again
	counts []uint64
	ready  bool
	frame  int64 // frames seen
}

// NewThreshold returns a detector for channels channels at rate frames per
// second.
func NewThreshold(cfg ThresholdConfig, channels int, rate float64) (*Threshold, error) {
	errs := []error{cfg.Validate()}
	if channels < 1 || channels > math.MaxUint16+1 {
		errs = append(errs, fmt.Errorf("channels: must be in [1, %d], got %d", math.MaxUint16+1, channels))
	}
	if !(rate > 0) || math.IsInf(rate, 0) {
		errs = append(errs, fmt.Errorf("rate: must be finite and > 0, got %g", rate))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("threshold: %w", err)
	}
	calib := int(math.Ceil(cfg.Calibration.Seconds() * rate))
	t := &Threshold{
		cfg: cfg, channels: channels, rate: rate, calib: calib,
		dead:   int64(math.Round(cfg.DeadTime.Seconds() * rate)),
		eta:    float32(thresholdAdaptStride / (cfg.AdaptTau.Seconds() * rate)),
		buf:    make([]float32, calib*channels),
		medAbs: make([]float32, channels),
		thr:    make([]float32, channels),
		below:  make([]bool, channels),
		next:   make([]int64, channels),
		counts: make([]uint64, channels),
	}
	return t, nil
}

// Ready reports whether calibration has finished (σ is known).
func (t *Threshold) Ready() bool { return t.ready }

// NoiseTo writes the current σ per channel into dst (grown) and returns it.
func (t *Threshold) NoiseTo(dst []float64) []float64 {
	dst = grow(dst, t.channels)
	for c, m := range t.medAbs {
		dst[c] = float64(m) / 0.6745
	}
	return dst
}

// CountsTo writes the crossings counted per channel since construction or
// the last ResetCounts into dst (grown) and returns it.
func (t *Threshold) CountsTo(dst []float64) []float64 {
	dst = grow(dst, t.channels)
	for c, n := range t.counts {
		dst[c] = float64(n)
	}
	return dst
}

// ResetCounts zeroes the per-channel counts.
func (t *Threshold) ResetCounts() { clear(t.counts) }

// Detect finds the crossings of b (frame-major Data, b.Channels channels at
// the detector's rate) and appends them to b.Spikes. It returns an error,
// detecting nothing, for a block of another shape.
func (t *Threshold) Detect(b *acquire.Block) error {
	C := t.channels
	if b.Channels != C || b.Rate != t.rate || len(b.Data) != b.Frames*C {
		return fmt.Errorf("threshold: block seq %d has %d channels at %g Hz with %d samples for %d frames; want %d channels at %g Hz",
			b.Seq, b.Channels, b.Rate, len(b.Data), b.Frames, C, t.rate)
	}
	data := b.Data
	f0 := 0
	if !t.ready {
		// Calibration: store |x| until calib frames are seen.
		n := min(b.Frames, t.calib-t.filled)
		for f := 0; f < n; f++ {
			row := data[f*C : (f+1)*C]
			for c, v := range row {
				t.buf[c*t.calib+t.filled+f] = float32(math.Abs(float64(v)))
			}
		}
		t.filled += n
		t.frame += int64(n)
		f0 = n
		if t.filled < t.calib {
			return nil
		}
		for c := 0; c < C; c++ {
			col := t.buf[c*t.calib : (c+1)*t.calib]
			slices.Sort(col)
			m := col[len(col)/2]
			if len(col)%2 == 0 {
				m = (col[len(col)/2-1] + m) / 2
			}
			t.medAbs[c] = m
			t.thr[c] = float32(-t.cfg.K * float64(m) / 0.6745)
		}
		t.buf = nil // calibration memory is released once
		t.ready = true
	}
	thr, below, next := t.thr, t.below, t.next
	start := b.Start
	for f := f0; f < b.Frames; f++ {
		row := data[f*C : (f+1)*C]
		s := start + int64(f)
		for c, v := range row {
			if v < thr[c] {
				if !below[c] && s >= next[c] {
					b.Spikes = append(b.Spikes, acquire.Spike{Sample: s, Channel: uint16(c)})
					t.counts[c]++
					next[c] = s + t.dead
				}
				below[c] = true
			} else {
				below[c] = false
			}
		}
		if t.cfg.Adaptive && (t.frame+int64(f-f0))%thresholdAdaptStride == 0 {
			t.adapt(row)
		}
	}
	t.frame += int64(b.Frames - f0)
	return nil
}

// adapt moves each channel's median estimate one frugal step toward |x|.
func (t *Threshold) adapt(row []float32) {
	k := float32(-t.cfg.K / 0.6745)
	for c, v := range row {
		m := t.medAbs[c]
		if v < 0 {
			v = -v
		}
		if v > m {
			m += t.eta * m
		} else {
			m -= t.eta * m
		}
		t.medAbs[c] = m
		t.thr[c] = k * m
	}
}
