package stimulate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/bciloop/bciloop/decode"
)

// PulseConfig is the pulse train a triggered controller delivers on each
// firing: Count cathodic-first biphasic pulses of AmplitudeUA for PhaseUS
// per phase with a GapUS interphase gap, at FreqHz, on Electrode.
type PulseConfig struct {
	Electrode   int     `yaml:"electrode"`    // 0-based
	AmplitudeUA float64 `yaml:"amplitude_ua"` // per phase, µA
	PhaseUS     float64 `yaml:"phase_us"`     // per phase, µs
	GapUS       float64 `yaml:"gap_us"`       // interphase gap, µs
	Count       int     `yaml:"count"`        // pulses in the train
	FreqHz      float64 `yaml:"freq_hz"`      // train frequency (count > 1)
}

// Pulse returns the configured train as a Pulse.
func (p *PulseConfig) Pulse() Pulse {
	return Pulse{Electrode: p.Electrode, AmplitudeUA: p.AmplitudeUA, PhaseUS: p.PhaseUS, GapUS: p.GapUS, Count: p.Count, FreqHz: p.FreqHz}
}

// validate reports the problems of p with keys prefixed by prefix ("pulse."),
// by the rules of ThresholdControllerConfig.Validate: finite positive
// amplitude and phase, gap ≥ 0, count ≥ 1, and a train period 1/f of at
// least one biphasic pulse 2·phase + gap.
func (p *PulseConfig) validate(prefix string) []error {
	var errs []error
	if p.Electrode < 0 {
		errs = append(errs, fmt.Errorf("%selectrode: must be ≥ 0, got %d", prefix, p.Electrode))
	}
	if !(p.AmplitudeUA > 0) || !finite(p.AmplitudeUA) {
		errs = append(errs, fmt.Errorf("%samplitude_ua: must be finite and > 0, got %v", prefix, p.AmplitudeUA))
	}
	phaseOK := p.PhaseUS > 0 && finite(p.PhaseUS)
	if !phaseOK {
		errs = append(errs, fmt.Errorf("%sphase_us: must be finite and > 0, got %v", prefix, p.PhaseUS))
	}
	gapOK := p.GapUS >= 0 && finite(p.GapUS)
	if !gapOK {
		errs = append(errs, fmt.Errorf("%sgap_us: must be finite and ≥ 0, got %v", prefix, p.GapUS))
	}
	if p.Count < 1 {
		errs = append(errs, fmt.Errorf("%scount: must be ≥ 1, got %d", prefix, p.Count))
	}
	switch {
	case !finite(p.FreqHz) || p.FreqHz < 0:
		errs = append(errs, fmt.Errorf("%sfreq_hz: must be finite and ≥ 0, got %v", prefix, p.FreqHz))
	case p.Count > 1 && p.FreqHz == 0:
		errs = append(errs, fmt.Errorf("%sfreq_hz: must be > 0 for a train of count %d", prefix, p.Count))
	case p.Count > 1 && phaseOK && gapOK && 1e6/p.FreqHz < 2*p.PhaseUS+p.GapUS:
		errs = append(errs, fmt.Errorf("%sfreq_hz: period 1/f = %v µs is shorter than one biphasic pulse, 2·phase_us + gap_us = %v µs",
			prefix, 1e6/p.FreqHz, 2*p.PhaseUS+p.GapUS))
	}
	return errs
}

// validateContinuous reports the problems of the pulse shape of a
// continuous train (phase, gap, frequency; the amplitude is the
// controller's output), keys without prefix.
func validateContinuous(electrode int, phaseUS, gapUS, freqHz float64) []error {
	var errs []error
	if electrode < 0 {
		errs = append(errs, fmt.Errorf("electrode: must be ≥ 0, got %d", electrode))
	}
	phaseOK := phaseUS > 0 && finite(phaseUS)
	if !phaseOK {
		errs = append(errs, fmt.Errorf("phase_us: must be finite and > 0, got %v", phaseUS))
	}
	gapOK := gapUS >= 0 && finite(gapUS)
	if !gapOK {
		errs = append(errs, fmt.Errorf("gap_us: must be finite and ≥ 0, got %v", gapUS))
	}
	switch {
	case !(freqHz > 0) || !finite(freqHz):
		errs = append(errs, fmt.Errorf("freq_hz: must be finite and > 0, got %v", freqHz))
	case phaseOK && gapOK && 1e6/freqHz < 2*phaseUS+gapUS:
		errs = append(errs, fmt.Errorf("freq_hz: period 1/f = %v µs is shorter than one biphasic pulse, 2·phase_us + gap_us = %v µs",
			1e6/freqHz, 2*phaseUS+gapUS))
	}
	return errs
}

// checkRate reports a sample-clock rate that is not finite and > 0.
func checkRate(rateHz float64) error {
	if !(rateHz > 0) || !finite(rateHz) {
		return fmt.Errorf("rate: %v Hz must be finite and > 0", rateHz)
	}
	return nil
}

// resolveState returns the index of quantity in stateNames, or an error
// listing the available names.
func resolveState(quantity string, stateNames []string) (int, error) {
	i := slices.Index(stateNames, quantity)
	if i < 0 {
		return -1, fmt.Errorf("quantity: unknown state %q; the decoder has: %s", quantity, strings.Join(stateNames, ", "))
	}
	return i, nil
}

// stateAt returns est.State[i]; a state vector too short is a wiring error
// (the estimate does not come from the decoder whose names were given) and
// panics, as in ThresholdController.
func stateAt(kind string, est *decode.Estimate, i int, quantity string) float64 {
	if i >= len(est.State) {
		panic(fmt.Sprintf("stimulate: %s controller: estimate has %d state values, quantity %q needs index %d",
			kind, len(est.State), quantity, i))
	}
	return est.State[i]
}

// samples converts a duration in seconds to whole samples of the sample
// clock.
func samples(seconds, rateHz float64) int64 { return int64(math.Round(seconds * rateHz)) }

// pulseClock spreads a continuous train of f Hz over updates of varying
// length: each update owes ⌊acc + f·Δt⌋ pulses and carries the fraction
// on, so the count over any run of updates is within one of f·ΣΔt.
type pulseClock struct{ acc float64 }

func (c *pulseClock) due(fHz, dt float64) int {
	c.acc += fHz * dt
	n := math.Floor(c.acc)
	c.acc -= n
	return int(n)
}

// firePattern fills dst with one pulse, the next sequence number and the
// estimate's timing, reusing dst.Pulses.
func firePattern(dst *Pattern, seq *uint64, est *decode.Estimate, sample int64, p Pulse) {
	*seq++
	dst.Seq = *seq
	dst.Sample = sample
	dst.Arrived = est.Arrived
	dst.Pulses = append(dst.Pulses[:0], p)
}

// joinCtl wraps the errors of a constructor as "stimulate: <kind>
// controller: …", or returns nil.
func joinCtl(kind string, errs []error) error {
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stimulate: %s controller: %w", kind, err)
	}
	return nil
}

// validateWindow checks an amplitude window [min_ua, max_ua].
func validateWindow(minUA, maxUA float64) []error {
	var errs []error
	minOK := finite(minUA) && minUA >= 0
	if !minOK {
		errs = append(errs, fmt.Errorf("min_ua: must be finite and ≥ 0, got %v", minUA))
	}
	if !(maxUA > 0) || !finite(maxUA) {
		errs = append(errs, fmt.Errorf("max_ua: must be finite and > 0, got %v", maxUA))
	} else if minOK && maxUA < minUA {
		errs = append(errs, fmt.Errorf("max_ua: %v is below min_ua %v", maxUA, minUA))
	}
	return errs
}
