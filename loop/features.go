package loop

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
)

// Feature state names, in the order of a features estimate's State.
const (
	FeatureRate       = "rate"        // population rate, Hz per unit, over rate_window
	FeatureLFP        = "lfp"         // the raw sample of channel, µV
	FeatureLFPBand    = "lfp_band"    // the sample of channel through the band-pass, µV
	FeatureBetaPower  = "beta_power"  // band power of channel in [band_low_hz, band_high_hz], µV²
	FeatureLineLength = "line_length" // line length of channel over line_length_window, µV/s
)

// FeatureNames returns the state names of a features estimate.
func FeatureNames() []string {
	return []string{FeatureRate, FeatureLFP, FeatureLFPBand, FeatureBetaPower, FeatureLineLength}
}

// FeaturesConfig configures the feature stage that feeds the closed-loop
// controllers (every stimulate.controller but threshold, which reads the
// decoder). It runs on every block, sample by sample, and hands the
// controller one estimate every hop (0: every sample, which the phase
// controller needs).
type FeaturesConfig struct {
	// Hop is the time between estimates; 0 means every sample.
	Hop time.Duration `yaml:"hop"`
	// Channel is the raw channel read by lfp, beta_power and line_length
	// (NaN on a spike-only stream).
	Channel int `yaml:"channel"`
	// RateWindow is the sliding window of the population rate.
	RateWindow time.Duration `yaml:"rate_window"`
	// RateChannels lists the spike channels (units) of the population
	// rate; empty means every channel, unless RateElectrode is set.
	RateChannels []int `yaml:"rate_channels"`
	// RateElectrode ≥ 0 selects, on a brain with positions (the spiking
	// networks), the units within RateRadiusUM of that electrode: the
	// population the electrode records and stimulates.
	RateElectrode int     `yaml:"rate_electrode"`
	RateRadiusUM  float64 `yaml:"rate_radius_um"`
	// BandLowHz and BandHighHz bound the band of beta_power (13–30 Hz, the
	// beta band of Little et al. 2013); PowerWindow is the time constant of
	// its smoothing.
	BandLowHz   float64       `yaml:"band_low_hz"`
	BandHighHz  float64       `yaml:"band_high_hz"`
	PowerWindow time.Duration `yaml:"power_window"`
	// LineLengthWindow is the window of line_length (Esteller et al. 2001).
	LineLengthWindow time.Duration `yaml:"line_length_window"`
}

// DefaultFeaturesConfig returns estimates every sample from channel 0: the
// rate of every unit over 50 ms, beta power (13–30 Hz) smoothed over 100 ms
// (about two beta cycles, as the 200 ms-or-shorter windows of adaptive DBS
// require; Little et al. 2013), line length over 50 ms.
func DefaultFeaturesConfig() FeaturesConfig {
	return FeaturesConfig{
		Channel: 0, RateWindow: 50 * time.Millisecond, RateElectrode: -1, RateRadiusUM: 200,
		BandLowHz: 13, BandHighHz: 30, PowerWindow: 100 * time.Millisecond,
		LineLengthWindow: 50 * time.Millisecond,
	}
}

// Validate reports every problem of c at once, each as "key: message".
func (c *FeaturesConfig) Validate() error {
	var errs []error
	if c.Hop < 0 {
		errs = append(errs, fmt.Errorf("hop: must be ≥ 0, got %v", c.Hop))
	}
	if c.Channel < 0 {
		errs = append(errs, fmt.Errorf("channel: must be ≥ 0, got %d", c.Channel))
	}
	if c.RateWindow <= 0 {
		errs = append(errs, fmt.Errorf("rate_window: must be > 0, got %v", c.RateWindow))
	}
	for i, ch := range c.RateChannels {
		if ch < 0 {
			errs = append(errs, fmt.Errorf("rate_channels[%d]: must be ≥ 0, got %d", i, ch))
		}
	}
	if c.RateElectrode >= 0 && len(c.RateChannels) > 0 {
		errs = append(errs, errors.New("rate_electrode: give rate_channels or rate_electrode, not both"))
	}
	if c.RateElectrode >= 0 && !(c.RateRadiusUM > 0) {
		errs = append(errs, fmt.Errorf("rate_radius_um: must be > 0 with rate_electrode, got %v", c.RateRadiusUM))
	}
	if !(c.BandLowHz > 0) || !(c.BandHighHz > c.BandLowHz) {
		errs = append(errs, fmt.Errorf("band_low_hz, band_high_hz: need 0 < low < high, got %v, %v", c.BandLowHz, c.BandHighHz))
	}
	if c.PowerWindow <= 0 {
		errs = append(errs, fmt.Errorf("power_window: must be > 0, got %v", c.PowerWindow))
	}
	if c.LineLengthWindow <= 0 {
		errs = append(errs, fmt.Errorf("line_length_window: must be > 0, got %v", c.LineLengthWindow))
	}
	return errors.Join(errs...)
}

// features computes the feature estimates of a stream sample by sample.
//
//   - rate: r = N/(U·T), N the spikes of the U selected units in the last
//     T = rate_window (over the samples seen while fewer), Hz per unit;
//   - lfp: x, the sample of channel;
//   - lfp_band: y, x through a causal 4th-order Butterworth band-pass
//     (decode.ButterBandpass, 2 sections) of band_low_hz…band_high_hz;
//   - beta_power: P ← P + (1 − e^{−Δt/τ})(y² − P), τ = power_window; µV²
//     (the band is beta by default; set another band for another rhythm);
//   - line_length: L = Σ|x_t − x_{t−1}| / T over the last T =
//     line_length_window, µV/s (Esteller et al. 2001, Proc. IEEE EMBS
//     23:1707).
//
// An estimate's Sample is the index of the sample it describes (not one
// past it, as for decoded bins), its Arrived the block's arrival stamp.
// After construction it does not allocate.
type features struct {
	cfg      FeaturesConfig
	rate     float64
	channels int
	hop      int64
	since    int64

	unit  []bool  // per channel: counted in the rate
	units float64 // U
	win   []int32 // spikes per sample over the rate window (ring)
	whead int
	wsum  int64
	wn    int

	sos       []decode.Biquad
	z         [][2]float64
	pAlpha    float64
	power     float64
	llRing    []float64
	llHead    int
	llN       int
	llSum     float64
	prev      float64
	hasPrev   bool
	llSeconds float64

	est decode.Estimate
}

func newFeatures(cfg FeaturesConfig, channels int, rate float64, positions, electrodes [][2]float64) (*features, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var errs []error
	f := &features{cfg: cfg, rate: rate, channels: channels, unit: make([]bool, channels)}
	f.hop = max(1, int64(math.Round(cfg.Hop.Seconds()*rate)))
	switch {
	case len(cfg.RateChannels) > 0:
		for i, ch := range cfg.RateChannels {
			if ch >= channels {
				errs = append(errs, fmt.Errorf("rate_channels[%d]: %d, but the source has %d channels", i, ch, channels))
				continue
			}
			f.unit[ch] = true
		}
	case cfg.RateElectrode >= 0:
		if positions == nil || electrodes == nil {
			errs = append(errs, errors.New("rate_electrode: the source has no positions (only the spiking network presets do)"))
			break
		}
		if cfg.RateElectrode >= len(electrodes) {
			errs = append(errs, fmt.Errorf("rate_electrode: %d, but the source has %d electrodes", cfg.RateElectrode, len(electrodes)))
			break
		}
		e := electrodes[cfg.RateElectrode]
		r2 := cfg.RateRadiusUM * cfg.RateRadiusUM
		for i, p := range positions[:min(len(positions), channels)] {
			dx, dy := p[0]-e[0], p[1]-e[1]
			f.unit[i] = dx*dx+dy*dy <= r2
		}
	default:
		for i := range f.unit {
			f.unit[i] = true
		}
	}
	for _, u := range f.unit {
		if u {
			f.units++
		}
	}
	if f.units == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("rate_channels: no unit selected for the rate"))
	}
	if cfg.BandHighHz >= rate/2 {
		errs = append(errs, fmt.Errorf("band_high_hz: %v Hz is not below the Nyquist frequency %v Hz", cfg.BandHighHz, rate/2))
	} else if sos, err := decode.ButterBandpass(2, cfg.BandLowHz, cfg.BandHighHz, rate); err != nil {
		errs = append(errs, fmt.Errorf("band_low_hz: %w", err))
	} else {
		f.sos, f.z = sos, make([][2]float64, len(sos))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	f.win = make([]int32, max(1, int(math.Round(cfg.RateWindow.Seconds()*rate))))
	f.pAlpha = 1 - math.Exp(-1/(rate*cfg.PowerWindow.Seconds()))
	n := max(1, int(math.Round(cfg.LineLengthWindow.Seconds()*rate)))
	f.llRing, f.llSeconds = make([]float64, n), float64(n)/rate
	f.est.State = make([]float64, 5)
	return f, nil
}

// process runs the samples of b through the features and calls emit with
// each estimate due (every hop samples).
func (f *features) process(b *acquire.Block, emit func(*decode.Estimate)) {
	raw := len(b.Data) >= b.Frames*b.Channels && b.Channels > f.cfg.Channel
	k := 0
	for i := range b.Frames {
		s := b.Start + int64(i)
		var n int32
		for ; k < len(b.Spikes) && b.Spikes[k].Sample <= s; k++ {
			if ch := int(b.Spikes[k].Channel); ch < len(f.unit) && f.unit[ch] && b.Spikes[k].Sample == s {
				n++
			}
		}
		// Rate ring.
		if f.wn == len(f.win) {
			f.wsum -= int64(f.win[f.whead])
		} else {
			f.wn++
		}
		f.win[f.whead] = n
		f.wsum += int64(n)
		f.whead = (f.whead + 1) % len(f.win)
		lfp, band, power, ll := math.NaN(), math.NaN(), math.NaN(), math.NaN()
		if raw {
			x := float64(b.Data[i*b.Channels+f.cfg.Channel])
			lfp = x
			y := x
			for j, q := range f.sos {
				z := &f.z[j]
				out := q.B0*y + z[0]
				z[0] = q.B1*y - q.A1*out + z[1]
				z[1] = q.B2*y - q.A2*out
				y = out
			}
			band = y
			f.power += f.pAlpha * (y*y - f.power)
			power = f.power
			if f.hasPrev {
				d := math.Abs(x - f.prev)
				if f.llN == len(f.llRing) {
					f.llSum -= f.llRing[f.llHead]
				} else {
					f.llN++
				}
				f.llRing[f.llHead] = d
				f.llSum += d
				f.llHead = (f.llHead + 1) % len(f.llRing)
			}
			f.prev, f.hasPrev = x, true
			if f.llN > 0 {
				ll = max(f.llSum, 0) / (float64(f.llN) / f.rate)
			}
		}
		f.since++
		if f.since < f.hop {
			continue
		}
		f.since = 0
		e := &f.est
		e.Seq++
		e.Sample, e.Arrived = s, b.Arrived
		e.State[0] = float64(f.wsum) / (f.units * float64(f.wn) / f.rate)
		e.State[1], e.State[2], e.State[3], e.State[4] = lfp, band, power, ll
		emit(e)
	}
}
