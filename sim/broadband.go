package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/dsp/fourier"
)

// BroadbandConfig configures a Broadband renderer. Voltages are in µV,
// durations of the waveform in ms.
type BroadbandConfig struct {
	Seed     uint64  `yaml:"seed"`
	Channels int     `yaml:"channels"`
	RateHz   float64 `yaml:"rate_hz"`

	// Background: seeded Gaussian noise, flat between LowHz and HighHz
	// and zero outside, with NoiseUV RMS per channel, read from a
	// precomputed periodic table of TableFrames frames (a power of 2).
	NoiseUV     float64 `yaml:"noise_uv"`
	LowHz       float64 `yaml:"low_hz"`
	HighHz      float64 `yaml:"high_hz"`
	TableFrames int     `yaml:"table_frames"`

	// Waveforms: each channel's unit gets a trough amplitude drawn
	// uniformly from [AmplitudeMinUV, AmplitudeMaxUV] and a trough-to-peak
	// time from [TroughPeakMinMs, TroughPeakMaxMs] (see Broadband).
	AmplitudeMinUV  float64 `yaml:"amplitude_min_uv"`
	AmplitudeMaxUV  float64 `yaml:"amplitude_max_uv"`
	TroughPeakMinMs float64 `yaml:"trough_peak_min_ms"`
	TroughPeakMaxMs float64 `yaml:"trough_peak_max_ms"`
}

// DefaultBroadbandConfig returns 1024 channels at 30 kHz (a Blackrock
// NeuroPort-class rate for four 256-channel headstages), 8 µV RMS
// background in 250–5000 Hz, the band usually filtered for spike detection
// (Quiroga, Nadasdy & Ben-Shaul 2004 used 300–3000 Hz; Utah-array noise
// floors are a few to ~10 µV RMS, Nordhausen, Maynard & Normann 1996,
// Brain Res 726:129), trough amplitudes of 40–120 µV (well-isolated units
// on Utah arrays; Henze et al. 2000, J Neurophysiol 84:390, place
// amplitudes above 60 µV within ≈50 µm of the soma) and trough-to-peak
// times of 0.25–0.6 ms (narrow to broad spikes, Barthó et al. 2004,
// J Neurophysiol 92:600). The table holds 2¹⁶ frames of 16 series
// (2.2 s, 4 MiB).
func DefaultBroadbandConfig() BroadbandConfig {
	return BroadbandConfig{
		Seed: 1, Channels: 1024, RateHz: 30000,
		NoiseUV: 8, LowHz: 250, HighHz: 5000, TableFrames: 1 << 16,
		AmplitudeMinUV: 40, AmplitudeMaxUV: 120,
		TroughPeakMinMs: 0.25, TroughPeakMaxMs: 0.6,
	}
}

// maxBroadbandChannels keeps channel indices within acquire.Spike's uint16.
const maxBroadbandChannels = 1 << 16

// Validate reports every problem of c at once, each as "key: message".
func (c *BroadbandConfig) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Channels < 1 || c.Channels > maxBroadbandChannels {
		bad("channels", "must be in [1, %d], got %d", maxBroadbandChannels, c.Channels)
	}
	if !(c.RateHz > 0) || !finite(c.RateHz) {
		bad("rate_hz", "must be finite and > 0, got %g", c.RateHz)
	}
	if !(c.NoiseUV >= 0) || !finite(c.NoiseUV) {
		bad("noise_uv", "must be finite and ≥ 0, got %g", c.NoiseUV)
	}
	if !(c.LowHz >= 0) || !finite(c.LowHz) {
		bad("low_hz", "must be finite and ≥ 0, got %g", c.LowHz)
	}
	if !(c.HighHz > c.LowHz) || (c.RateHz > 0 && c.HighHz > c.RateHz/2) {
		bad("high_hz", "must be above low_hz (%g) and at most Nyquist (%g), got %g", c.LowHz, c.RateHz/2, c.HighHz)
	}
	if c.TableFrames < 1024 || c.TableFrames > 1<<24 || c.TableFrames&(c.TableFrames-1) != 0 {
		bad("table_frames", "must be a power of 2 in [1024, %d], got %d", 1<<24, c.TableFrames)
	} else if c.RateHz > 0 && c.HighHz > c.LowHz && float64(c.TableFrames)/c.RateHz*(c.HighHz-c.LowHz) < 1 {
		bad("table_frames", "%d frames hold no frequency bin between low_hz and high_hz", c.TableFrames)
	}
	if !(c.AmplitudeMinUV >= 0) || !finite(c.AmplitudeMinUV) {
		bad("amplitude_min_uv", "must be finite and ≥ 0, got %g", c.AmplitudeMinUV)
	}
	if !(c.AmplitudeMaxUV >= c.AmplitudeMinUV) || !finite(c.AmplitudeMaxUV) {
		bad("amplitude_max_uv", "must be finite and ≥ amplitude_min_uv (%g), got %g", c.AmplitudeMinUV, c.AmplitudeMaxUV)
	}
	if !(c.TroughPeakMinMs > 0) || !finite(c.TroughPeakMinMs) {
		bad("trough_peak_min_ms", "must be finite and > 0, got %g", c.TroughPeakMinMs)
	}
	if !(c.TroughPeakMaxMs >= c.TroughPeakMinMs) || c.TroughPeakMaxMs > 2 {
		bad("trough_peak_max_ms", "must be in [trough_peak_min_ms (%g), 2], got %g", c.TroughPeakMinMs, c.TroughPeakMaxMs)
	}
	return errors.Join(errs...)
}

// Streams of the seeded PCG generators of Broadband (second PCG word).
const (
	streamBBNoise   = 0xb0adba0d01
	streamBBOffsets = 0xb0adba0d02
	streamBBUnits   = 0xb0adba0d03
	streamBBJitter  = 0xb0adba0d04
)

// pendingSpike is a waveform being rendered (pointer-free).
type pendingSpike struct {
	start   int64 // frame of the waveform's first sample
	channel int32
}

// Broadband renders multichannel broadband voltage (µV, frame-major
// float32, the layout of acquire.Block.Data) at RateHz: band-limited
// background noise plus the waveforms of the spikes queued with Spike.
// Spike times come from any source — the Poisson units of MotorCortex
// (BroadbandCortex), a spiking network, a recording — one unit per channel.
//
// Background. A table of 16 independent series of TableFrames frames of
// Gaussian noise whose spectrum is flat in [LowHz, HighHz] and zero
// elsewhere is made once, each by drawing every DFT coefficient in the
// band as a complex Gaussian (random amplitude and uniform phase) and
// inverting the transform; the series are periodic, so reading around the
// end leaves no seam, and each is scaled to NoiseUV RMS. The series are
// interleaved frame-major, and channels go in groups of 16 (one 64-byte
// cache line): channel 16g+k reads series k from its group's offset o_g,
// the offsets a seeded permutation of evenly spaced slots, so one frame of
// a group is one contiguous copy. Channels of one group are independent;
// channels of two groups reading the same series are shifted copies at
// least TableFrames/groups frames apart (1024 frames, 34 ms, for 1024
// channels by default: far beyond the band's correlation time, the
// autocorrelation of a 250–5000 Hz band being below 0.01 after 2 ms), and
// each channel repeats every TableFrames frames (2.2 s by default).
//
// Waveforms. Each channel's template is the extracellular spike shape
// described by Henze et al. (2000, J Neurophysiol 84:390) — a sharp
// negative trough followed by a smaller, slower positive peak — drawn as
// a sum of two Gaussians (a phenomenological template, not a biophysical
// model):
//
//	w(t) = A·[−exp(−(t−t₀)²/(2σ₁²)) + ρ·exp(−(t−t₀−τ)²/(2σ₂²))]
//
// with trough amplitude A and trough-to-peak time τ drawn per channel (see
// DefaultBroadbandConfig), σ₁ = 0.08 ms (a trough ≈ 0.2 ms wide at half
// height), σ₂ = τ/2, ρ = 0.3 (peak-to-trough ratios of 0.2–0.5 in Barthó
// et al. 2004, J Neurophysiol 92:600), t₀ = 0.3 ms after the spike time.
// A template spans 0 ≤ t < 1.6 ms. A spike queued for frame s adds the
// template of its channel from frame s on; spikes overlap by addition.
//
// Cost: the background is one table read per sample, a spike one add per
// template sample; Render allocates nothing once the queue of pending
// spikes has grown to its peak (see BenchmarkBroadband).
//
// Concurrency: one goroutine at a time.
type Broadband struct {
	cfg    BroadbandConfig
	n      int       // channels
	table  []float32 // TableFrames frames of bbSeries interleaved series
	mask   int64
	offset []int64 // per-group table offset
	tlen   int     // template frames
	tmpl   []float32
	sample int64 // next frame to render
	queue  []pendingSpike
}

// Template shape constants (see Broadband).
const (
	bbSigma1Ms = 0.08
	bbRho      = 0.3
	bbT0Ms     = 0.3
	bbSpanMs   = 1.6
)

// NewBroadband builds the renderer: the noise table and the templates.
func NewBroadband(cfg BroadbandConfig) (*Broadband, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sim: broadband: %w", err)
	}
	b := &Broadband{cfg: cfg, n: cfg.Channels, mask: int64(cfg.TableFrames - 1)}
	b.table = noiseTable(cfg)

	// Offsets: a seeded permutation of evenly spaced slots, one per group
	// of bbSeries channels.
	groups := (cfg.Channels + bbSeries - 1) / bbSeries
	slots := max(1, cfg.TableFrames/groups)
	perm := rand.New(rand.NewPCG(cfg.Seed, streamBBOffsets)).Perm(groups)
	b.offset = make([]int64, groups)
	for g, p := range perm {
		b.offset[g] = int64(p*slots) & b.mask
	}

	// Templates.
	dt := 1000 / cfg.RateHz // ms per frame
	b.tlen = max(1, int(math.Ceil(bbSpanMs/dt)))
	b.tmpl = make([]float32, cfg.Channels*b.tlen)
	r := rand.New(rand.NewPCG(cfg.Seed, streamBBUnits))
	for c := range cfg.Channels {
		a := cfg.AmplitudeMinUV + r.Float64()*(cfg.AmplitudeMaxUV-cfg.AmplitudeMinUV)
		tau := cfg.TroughPeakMinMs + r.Float64()*(cfg.TroughPeakMaxMs-cfg.TroughPeakMinMs)
		s2 := tau / 2
		row := b.tmpl[c*b.tlen : (c+1)*b.tlen]
		for i := range row {
			t := float64(i)*dt - bbT0Ms
			row[i] = float32(a * (-math.Exp(-t*t/(2*bbSigma1Ms*bbSigma1Ms)) + bbRho*math.Exp(-(t-tau)*(t-tau)/(2*s2*s2))))
		}
	}
	b.queue = make([]pendingSpike, 0, 4*cfg.Channels)
	return b, nil
}

// bbSeries is the number of independent noise series in the table,
// interleaved frame-major, so that a group of bbSeries channels (one
// 64-byte cache line of float32) copies one contiguous row per frame.
const bbSeries = 16

// noiseTable returns TableFrames frames of bbSeries interleaved periodic
// Gaussian noise series, flat in [LowHz, HighHz], with NoiseUV RMS each.
func noiseTable(cfg BroadbandConfig) []float32 {
	n := cfg.TableFrames
	r := rand.New(rand.NewPCG(cfg.Seed, streamBBNoise))
	fft := fourier.NewFFT(n)
	coef := make([]complex128, n/2+1)
	seq := make([]float64, n)
	df := cfg.RateHz / float64(n)
	out := make([]float32, n*bbSeries)
	for k := range bbSeries {
		clear(coef)
		for i := 1; i < len(coef); i++ {
			if f := float64(i) * df; f >= cfg.LowHz && f <= cfg.HighHz && i < n/2 {
				coef[i] = complex(r.NormFloat64(), r.NormFloat64())
			}
		}
		seq = fft.Sequence(seq, coef)
		var ss float64
		for _, v := range seq {
			ss += v * v
		}
		scale := 0.0
		if ss > 0 {
			scale = cfg.NoiseUV / math.Sqrt(ss/float64(n))
		}
		for i, v := range seq {
			out[i*bbSeries+k] = float32(v * scale)
		}
	}
	return out
}

// Channels returns the channel count.
func (b *Broadband) Channels() int { return b.n }

// Rate returns the frame rate in Hz.
func (b *Broadband) Rate() float64 { return b.cfg.RateHz }

// Sample returns the index of the next frame Render writes.
func (b *Broadband) Sample() int64 { return b.sample }

// Config returns the configuration.
func (b *Broadband) Config() BroadbandConfig { return b.cfg }

// TemplateFrames returns the length of a waveform template in frames.
func (b *Broadband) TemplateFrames() int { return b.tlen }

// Template returns a copy of channel c's waveform template (µV per frame).
func (b *Broadband) Template(c int) []float32 {
	return append([]float32(nil), b.tmpl[c*b.tlen:(c+1)*b.tlen]...)
}

// Spike queues a spike on channel whose waveform starts at frame sample.
// A sample before Sample() (frames already rendered) loses the frames
// already rendered. It fails only for a channel out of range, and does not
// allocate once the queue has grown to its peak.
func (b *Broadband) Spike(channel int, sample int64) error {
	if channel < 0 || channel >= b.n {
		return fmt.Errorf("sim: broadband: spike on channel %d, have %d channels", channel, b.n)
	}
	b.queue = append(b.queue, pendingSpike{start: sample, channel: int32(channel)})
	return nil
}

// Render writes the next frames frames into dst (grown to
// frames·Channels, frame-major, µV) and returns it: the background plus
// every queued waveform overlapping those frames.
func (b *Broadband) Render(dst []float32, frames int) []float32 {
	n := b.n
	need := frames * n
	if cap(dst) < need {
		dst = make([]float32, need)
	}
	dst = dst[:need]
	s0 := b.sample
	// Background: frame-major, one table read per sample.
	tab, mask := b.table, b.mask
	_ = tab[len(tab)-1]
	// Group by group, so that each group reads consecutive table rows
	// (one stream for the prefetcher) and writes one column of 64-byte
	// lines of dst, which stays in cache.
	for g, o := range b.offset {
		c := g * bbSeries
		w := min(bbSeries, n-c)
		for f := range frames {
			p := ((o + s0 + int64(f)) & mask) * bbSeries
			d := dst[f*n+c : f*n+c+w]
			if w == bbSeries {
				*(*[bbSeries]float32)(d) = *(*[bbSeries]float32)(tab[p : p+bbSeries])
			} else {
				copy(d, tab[p:p+int64(w)])
			}
		}
	}
	// Waveforms.
	end := s0 + int64(frames)
	tl := int64(b.tlen)
	j := 0
	for _, p := range b.queue {
		if p.start >= end {
			b.queue[j] = p
			j++
			continue
		}
		from, to := max(p.start, s0), min(p.start+tl, end)
		tm := b.tmpl[int(p.channel)*b.tlen:]
		for s := from; s < to; s++ {
			dst[int(s-s0)*n+int(p.channel)] += tm[s-p.start]
		}
		if p.start+tl > end {
			b.queue[j] = p
			j++
		}
	}
	b.queue = b.queue[:j]
	b.sample = end
	return dst
}

// BroadbandCortex is a MotorCortex rendered as broadband voltage: every
// unit of the brain is the unit of one channel of a Broadband, the brain
// stepping at its own rate (1 kHz by default) and the voltage at the
// renderer's, an integer multiple R of it. A spike in brain frame k gets a
// seeded uniform position among the R voltage frames of that brain frame
// (the brain's Bernoulli-per-frame spikes are a Poisson process with at
// most one event per frame; given one event, its time within the frame is
// uniform), and its waveform starts there. Ground truth is the brain's,
// held over the R voltage frames of each brain frame.
type BroadbandCortex struct {
	brain  *MotorCortex
	bb     *Broadband
	ratio  int
	jitter *rand.Rand
	events []Event
	truth  []float64 // truth rows of brain frames base, base+1, …
	base   int64
	last   []float64 // truth row of brain frame base−1
}

// NewBroadbandCortex renders brain through bb. The brain must have
// bb.Channels() units and bb's rate must be an integer multiple of the
// brain's.
func NewBroadbandCortex(brain *MotorCortex, bb *Broadband) (*BroadbandCortex, error) {
	if brain == nil || bb == nil {
		return nil, errors.New("sim: broadband cortex: nil brain or renderer")
	}
	var errs []error
	if brain.Units() != bb.Channels() {
		errs = append(errs, fmt.Errorf("units: the brain has %d units for %d channels", brain.Units(), bb.Channels()))
	}
	ratio := bb.Rate() / brain.Rate()
	if ratio < 1 || ratio != math.Round(ratio) {
		errs = append(errs, fmt.Errorf("rate_hz: the voltage rate %g Hz is not an integer multiple of the brain's %g Hz", bb.Rate(), brain.Rate()))
	} else if bb.Sample() != brain.Sample()*int64(ratio) {
		errs = append(errs, fmt.Errorf("sample: the renderer is at frame %d and the brain at %d (×%g): build both fresh", bb.Sample(), brain.Sample(), ratio))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sim: broadband cortex: %w", err)
	}
	return &BroadbandCortex{brain: brain, bb: bb, ratio: int(ratio),
		jitter: rand.New(rand.NewPCG(bb.cfg.Seed, streamBBJitter)), events: make([]Event, 0, brain.Units()),
		last: make([]float64, brain.TruthDims())}, nil
}

// Brain returns the motor cortex behind the voltage (its stimulation input
// and ground truth).
func (c *BroadbandCortex) Brain() *MotorCortex { return c.brain }

// Broadband returns the renderer.
func (c *BroadbandCortex) Broadband() *Broadband { return c.bb }

// Stimulate stimulates the motor cortex behind the voltage. s.Sample is on
// the voltage clock (the stream's): it is converted to the first brain
// frame at or after it, ⌈Sample/Ratio⌉, so that a pulse scheduled for a
// future voltage frame is not applied up to Ratio times too late.
func (c *BroadbandCortex) Stimulate(s Stimulus) error {
	if s.Sample > 0 {
		r := int64(c.ratio)
		s.Sample = s.Sample/r + min(1, s.Sample%r)
	}
	return c.brain.Stimulate(s)
}

// Electrodes returns the motor cortex's electrodes (the stimulation
// sites, one per channel).
func (c *BroadbandCortex) Electrodes() int { return c.brain.Electrodes() }

// StopStimulation stops the motor cortex's stimulation.
func (c *BroadbandCortex) StopStimulation() { c.brain.StopStimulation() }

var _ Stimulable = (*BroadbandCortex)(nil)

// Ratio returns the voltage frames per brain frame.
func (c *BroadbandCortex) Ratio() int { return c.ratio }

// Advance renders the next frames voltage frames into dst (grown to
// frames·Channels) and appends the brain's ground truth, held per voltage
// frame, to truth. Frames need not be a multiple of Ratio(): the brain is
// advanced to cover the last voltage frame, and the spikes of a brain frame
// rendered only in part are already queued for its remaining frames. It
// does not allocate once dst, truth and the spike queue have grown to their
// peak.
func (c *BroadbandCortex) Advance(frames int, dst []float32, truth []float64) ([]float32, []float64) {
	r := int64(c.ratio)
	s0 := c.bb.Sample()
	end := s0 + int64(frames)
	d := c.brain.TruthDims()
	need := (end + r - 1) / r // brain frames covering [0, end)
	if k := need - c.brain.Sample(); k > 0 {
		// Keep the last row generated so far: frames of it may remain.
		if n := len(c.truth); n >= d {
			c.last = append(c.last[:0], c.truth[n-d:]...)
		}
		c.base = c.brain.Sample()
		c.events, c.truth = c.brain.Advance(int(k), c.events[:0], c.truth[:0])
		for _, e := range c.events {
			_ = c.bb.Spike(int(e.Channel), e.Sample*r+int64(c.jitter.IntN(c.ratio)))
		}
	}
	dst = c.bb.Render(dst, frames)
	for s := s0; s < end; s++ {
		bf := s / r
		if bf < c.base {
			truth = append(truth, c.last...)
			continue
		}
		i := int(bf-c.base) * d
		truth = append(truth, c.truth[i:i+d]...)
	}
	return dst, truth
}
