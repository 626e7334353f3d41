package stimulate

import (
	"errors"
	"fmt"

	"github.com/bciloop/bciloop/decode"
)

// AdaptiveConfig configures an AdaptiveController: the band-power state it
// reads, the hysteresis thresholds, the clinician's amplitude window, the
// ramp limit and the continuous train.
type AdaptiveConfig struct {
	Quantity   string  `yaml:"quantity"`      // state name of the beta band power ("beta_power")
	Upper      float64 `yaml:"upper"`         // switch on at power ≥ upper (the quantity's unit)
	Lower      float64 `yaml:"lower"`         // switch off at power ≤ lower (< upper)
	MinUA      float64 `yaml:"min_ua"`        // amplitude when off, µA (0: no stimulation)
	MaxUA      float64 `yaml:"max_ua"`        // amplitude when on, µA
	RampUAPerS float64 `yaml:"ramp_ua_per_s"` // largest change of the amplitude per second

	Electrode int     `yaml:"electrode"` // 0-based
	PhaseUS   float64 `yaml:"phase_us"`  // per phase, µs
	GapUS     float64 `yaml:"gap_us"`    // interphase gap, µs
	FreqHz    float64 `yaml:"freq_hz"`   // rate of the continuous train
}

// DefaultAdaptiveConfig returns adaptive DBS on the state "beta_power" in
// units of the patient's resting beta power (divide the band power by its
// median at rest): on at 2.5, off at 1.5, between 0 and 2 mA of 130 Hz,
// 60 µs DBS pulses (Little et al. 2013, Ann. Neurol. 74:449, stimulated at
// 130 Hz) ramped over 250 ms, as Little et al. ramped on and off (8000
// µA/s). These are DBS values: the Limit in front of the sink must be
// configured for a DBS lead (2 mA × 60 µs = 120 nC per phase, 2 µC/cm² on
// a 0.06 cm² contact), not left at its ICMS defaults.
func DefaultAdaptiveConfig() AdaptiveConfig {
	return AdaptiveConfig{
		Quantity: "beta_power", Upper: 2.5, Lower: 1.5, MinUA: 0, MaxUA: 2000, RampUAPerS: 8000,
		Electrode: 0, PhaseUS: 60, GapUS: 0, FreqHz: 130,
	}
}

// Validate reports every problem with c at once.
func (c *AdaptiveConfig) Validate() error {
	var errs []error
	if c.Quantity == "" {
		errs = append(errs, errors.New("quantity: must name the band-power state"))
	}
	upOK := finite(c.Upper)
	if !upOK {
		errs = append(errs, fmt.Errorf("upper: must be finite, got %v", c.Upper))
	}
	switch {
	case !finite(c.Lower):
		errs = append(errs, fmt.Errorf("lower: must be finite, got %v", c.Lower))
	case upOK && c.Lower >= c.Upper:
		errs = append(errs, fmt.Errorf("lower: %v must be below upper %v (hysteresis)", c.Lower, c.Upper))
	}
	errs = append(errs, validateWindow(c.MinUA, c.MaxUA)...)
	if !(c.RampUAPerS > 0) || !finite(c.RampUAPerS) {
		errs = append(errs, fmt.Errorf("ramp_ua_per_s: must be finite and > 0, got %v", c.RampUAPerS))
	}
	errs = append(errs, validateContinuous(c.Electrode, c.PhaseUS, c.GapUS, c.FreqHz)...)
	return errors.Join(errs...)
}

// AdaptiveController is adaptive deep-brain stimulation on beta-band power
// (Little et al. 2013, Ann. Neurol. 74:449; SCIENCE.md §6) with a dual
// threshold (Velisar et al. 2019, Brain Stimul. 12:868): the controller
// turns on when the power P reaches upper and off when it falls to lower,
// keeping its state in between, and the amplitude A moves toward max_ua
// (on) or min_ua (off) by at most ramp·Δt per estimate,
//
//	A ← A + clamp(A* − A, −ramp·Δt, ramp·Δt),  A* = on ? max : min,
//
// Δt being the sample-clock time since the previous estimate. A is the
// amplitude of a continuous train of freq_hz: each update carries the
// pulses due over its Δt (pulseClock) as one train at est.Sample; no pulse
// due or A = 0 does not fire. A non-finite power switches off (ramping
// down). The first estimate after construction or Reset starts off at
// min_ua.
//
// Concurrency and allocation: see Controller.
type AdaptiveController struct {
	cfg   AdaptiveConfig
	index int
	rate  float64

	on      bool
	amp     float64
	clock   pulseClock
	prev    int64
	hasPrev bool
	seq     uint64
}

// NewAdaptiveController returns an aDBS controller for estimates whose
// states are named stateNames, on a sample clock of rateHz.
func NewAdaptiveController(cfg AdaptiveConfig, stateNames []string, rateHz float64) (*AdaptiveController, error) {
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := checkRate(rateHz); err != nil {
		errs = append(errs, err)
	}
	idx, err := resolveState(cfg.Quantity, stateNames)
	if err != nil && cfg.Quantity != "" {
		errs = append(errs, err)
	}
	if err := joinCtl("adaptive", errs); err != nil {
		return nil, err
	}
	c := &AdaptiveController{cfg: cfg, index: idx, rate: rateHz}
	c.Reset()
	return c, nil
}

// Config returns the configuration in force.
func (c *AdaptiveController) Config() AdaptiveConfig { return c.cfg }

// On reports the hysteresis state.
func (c *AdaptiveController) On() bool { return c.on }

// Amplitude returns the present amplitude A, µA.
func (c *AdaptiveController) Amplitude() float64 { return c.amp }

// Update implements Controller.
func (c *AdaptiveController) Update(dst *Pattern, est *decode.Estimate) bool {
	p := stateAt("adaptive", est, c.index, c.cfg.Quantity)
	dt := 0.0
	if c.hasPrev && est.Sample > c.prev {
		dt = float64(est.Sample-c.prev) / c.rate
	}
	c.prev, c.hasPrev = est.Sample, true
	switch {
	case !finite(p) || p <= c.cfg.Lower:
		c.on = false
	case p >= c.cfg.Upper:
		c.on = true
	}
	target := c.cfg.MinUA
	if c.on {
		target = c.cfg.MaxUA
	}
	step := c.cfg.RampUAPerS * dt
	c.amp += min(max(target-c.amp, -step), step)
	n := c.clock.due(c.cfg.FreqHz, dt)
	if n == 0 || !(c.amp > 0) {
		return false
	}
	firePattern(dst, &c.seq, est, est.Sample, Pulse{
		Electrode: c.cfg.Electrode, AmplitudeUA: c.amp, PhaseUS: c.cfg.PhaseUS,
		GapUS: c.cfg.GapUS, Count: n, FreqHz: c.cfg.FreqHz,
	})
	return true
}

// Reset implements Controller: off, at min_ua, clock forgotten; Seq keeps
// counting.
func (c *AdaptiveController) Reset() {
	c.on, c.amp = false, c.cfg.MinUA
	c.clock = pulseClock{}
	c.prev, c.hasPrev = 0, false
}

var _ Controller = (*AdaptiveController)(nil)
