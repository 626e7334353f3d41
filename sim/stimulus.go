package sim

import (
	"errors"
	"fmt"
)

// Stimulus is a charge-balanced biphasic pulse train delivered through one
// electrode of a simulated array.
type Stimulus struct {
	Electrode   int     // target electrode, 0-based
	AmplitudeUA float64 // phase amplitude in µA
	PhaseUS     float64 // phase width in µs
	Count       int     // pulses in the train (≥ 1)
	FreqHz      float64 // train frequency (used when Count > 1)
	Sample      int64   // sample index at which the first pulse is applied; ≤ the current sample means at the next sample
	Arrived     int64   // arrival stamp carried for latency (monotonic ns), reported back when applied
}

// Stimulable is a simulated brain that accepts stimulation. Both methods may
// be called concurrently with the brain's own advance (real-time runs) and
// must not allocate after warm-up. StopStimulation cancels every pending and
// ongoing stimulus at once (outputs to zero). MotorCortex implements it.
type Stimulable interface {
	Stimulate(s Stimulus) error
	StopStimulation()
}

// checkStimulus validates s for a brain with electrodes electrodes (0: it
// has none) stepping at rate Hz, and amplitudes up to maxUA µA (0: no
// bound), reporting every problem at once, wrapped in ErrBadStimulus.
func checkStimulus(s *Stimulus, electrodes int, rate, maxUA float64) error {
	var errs []error
	switch {
	case electrodes == 0:
		errs = append(errs, errors.New("the network has no electrodes (sheet.grid = 0)"))
	case s.Electrode < 0 || s.Electrode >= electrodes:
		errs = append(errs, fmt.Errorf("electrode %d out of range [0, %d)", s.Electrode, electrodes))
	}
	switch {
	case maxUA > 0 && (!(s.AmplitudeUA > 0) || !finite(s.AmplitudeUA) || s.AmplitudeUA > maxUA):
		errs = append(errs, fmt.Errorf("amplitude %v µA must be in (0, %v]", s.AmplitudeUA, maxUA))
	case maxUA == 0 && (!(s.AmplitudeUA > 0) || !finite(s.AmplitudeUA)):
		errs = append(errs, fmt.Errorf("amplitude %v µA must be finite and > 0", s.AmplitudeUA))
	}
	if !(s.PhaseUS > 0) || !finite(s.PhaseUS) {
		errs = append(errs, fmt.Errorf("phase width %v µs must be finite and > 0", s.PhaseUS))
	}
	if s.Count < 1 {
		errs = append(errs, fmt.Errorf("count %d must be ≥ 1", s.Count))
	}
	if s.Count > 1 {
		switch {
		case !(s.FreqHz > 0) || !finite(s.FreqHz):
			errs = append(errs, fmt.Errorf("frequency %v Hz must be finite and > 0 for a train of %d pulses", s.FreqHz, s.Count))
		case s.FreqHz > rate:
			errs = append(errs, fmt.Errorf("frequency %v Hz exceeds the simulation rate %v Hz", s.FreqHz, rate))
		case s.PhaseUS > 0 && 2*s.PhaseUS*1e-6*s.FreqHz >= 1:
			errs = append(errs, fmt.Errorf("frequency %v Hz makes %v µs biphasic pulses overlap", s.FreqHz, s.PhaseUS))
		}
	}
	if errs == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrBadStimulus, errors.Join(errs...))
}
