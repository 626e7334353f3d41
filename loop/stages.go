package loop

import (
	"errors"
	"fmt"
	"math"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
)

// StageConfig is one preprocessing stage run on every block before binning,
// in the order listed (config key stages). Types:
//
//   - bandpass: Butterworth band-pass of order `order` between low_hz and
//     high_hz (decode.ButterBandpass; causal biquad cascade)
//   - highpass, lowpass: Butterworth of order `order` at cutoff_hz
//   - notch: second-order notch at freq_hz with quality q (decode.Notch)
//   - car: common average reference (decode.CommonAverage)
//   - threshold: threshold crossings at −k·σ with σ the robust noise
//     estimate median(|x|)/0.6745 (Quiroga et al. 2004; decode.Threshold),
//     appended to the block's spikes, which the binner counts
//
// The filters and the reference work in place on the block's samples, so
// a recording made by `run` holds what the decoder saw.
type StageConfig struct {
	Type     string  `yaml:"type"`
	Order    int     `yaml:"order"`     // bandpass, highpass, lowpass
	LowHz    float64 `yaml:"low_hz"`    // bandpass
	HighHz   float64 `yaml:"high_hz"`   // bandpass
	CutoffHz float64 `yaml:"cutoff_hz"` // highpass, lowpass
	FreqHz   float64 `yaml:"freq_hz"`   // notch
	Q        float64 `yaml:"q"`         // notch

	decode.ThresholdConfig `yaml:",inline"` // threshold: k, calibration, dead_time, adaptive, adapt_tau
}

var stageTypes = map[string]string{
	"bandpass": "Butterworth band-pass", "highpass": "Butterworth high-pass", "lowpass": "Butterworth low-pass",
	"notch": "notch filter", "car": "common average reference", "threshold": "threshold crossings to spikes",
}

// validate reports every problem of the stage; rate is the stream rate when
// known (0 otherwise), for the Nyquist checks.
func (s *StageConfig) validate(rate float64) error {
	var errs []error
	if _, ok := stageTypes[s.Type]; !ok {
		return fmt.Errorf("type: unknown %q (one of: %s)", s.Type, names(stageTypes))
	}
	order := func() {
		if s.Order < 1 || s.Order > 10 {
			errs = append(errs, fmt.Errorf("order: must be 1–10, got %d", s.Order))
		}
	}
	freq := func(key string, f float64) {
		if !(f > 0) || math.IsInf(f, 0) || (rate > 0 && f >= rate/2) {
			errs = append(errs, fmt.Errorf("%s: must be > 0 and below Nyquist (%g Hz), got %g", key, rate/2, f))
		}
	}
	switch s.Type {
	case "bandpass":
		order()
		freq("low_hz", s.LowHz)
		freq("high_hz", s.HighHz)
		if s.LowHz >= s.HighHz {
			errs = append(errs, fmt.Errorf("high_hz: must be above low_hz (%g), got %g", s.LowHz, s.HighHz))
		}
	case "highpass", "lowpass":
		order()
		freq("cutoff_hz", s.CutoffHz)
	case "notch":
		freq("freq_hz", s.FreqHz)
		if !(s.Q > 0) || math.IsInf(s.Q, 0) {
			errs = append(errs, fmt.Errorf("q: must be > 0, got %g", s.Q))
		}
	case "threshold":
		if err := s.ThresholdConfig.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stage is a built preprocessing stage: it transforms a block in place
// without allocating.
type stage interface {
	apply(b *acquire.Block) error
}

type iirStage struct{ f *decode.IIR }

func (s iirStage) apply(b *acquire.Block) error {
	if len(b.Data) == 0 {
		return nil
	}
	s.f.Process(b.Data, b.Data)
	return nil
}

type carStage struct {
	channels int
}

func (s carStage) apply(b *acquire.Block) error {
	if len(b.Data) > 0 {
		decode.CommonAverage(b.Data, b.Data, s.channels)
	}
	return nil
}

type thresholdStage struct{ t *decode.Threshold }

func (s thresholdStage) apply(b *acquire.Block) error { return s.t.Detect(b) }

// buildStages builds the configured stages for a stream's shape.
func buildStages(cfgs []StageConfig, channels int, rate float64) ([]stage, error) {
	var out []stage
	for i, c := range cfgs {
		if err := c.validate(rate); err != nil {
			return nil, fmt.Errorf("stages[%d]: %w", i, err)
		}
		var (
			sos []decode.Biquad
			err error
		)
		switch c.Type {
		case "bandpass":
			sos, err = decode.ButterBandpass(c.Order, c.LowHz, c.HighHz, rate)
		case "highpass":
			sos, err = decode.ButterHighpass(c.Order, c.CutoffHz, rate)
		case "lowpass":
			sos, err = decode.ButterLowpass(c.Order, c.CutoffHz, rate)
		case "notch":
			sos, err = decode.Notch(c.FreqHz, c.Q, rate)
		case "car":
			out = append(out, carStage{channels})
			continue
		case "threshold":
			t, err := decode.NewThreshold(c.ThresholdConfig, channels, rate)
			if err != nil {
				return nil, fmt.Errorf("stages[%d]: %w", i, err)
			}
			out = append(out, thresholdStage{t})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("stages[%d]: %w", i, err)
		}
		f, err := decode.NewIIR(sos, channels)
		if err != nil {
			return nil, fmt.Errorf("stages[%d]: %w", i, err)
		}
		out = append(out, iirStage{f})
	}
	return out, nil
}
