package stimulate

import (
	"errors"
	"fmt"

	"github.com/bciloop/bciloop/decode"
)

// RateClampConfig configures a RateClampController: the population-rate
// state it reads, the target, the PI gains, the output window and the
// continuous train whose amplitude it sets.
type RateClampConfig struct {
	Quantity string  `yaml:"quantity"`  // state name of the population rate, Hz ("rate")
	TargetHz float64 `yaml:"target_hz"` // initial target rate r*, Hz (SetTarget changes it)
	Kp       float64 `yaml:"kp"`        // proportional gain, µA/Hz
	Ki       float64 `yaml:"ki"`        // integral gain, µA/(Hz·s)
	MinUA    float64 `yaml:"min_ua"`    // lower bound of the output amplitude, µA
	MaxUA    float64 `yaml:"max_ua"`    // upper bound of the output amplitude, µA

	Electrode int     `yaml:"electrode"` // 0-based
	PhaseUS   float64 `yaml:"phase_us"`  // per phase, µs
	GapUS     float64 `yaml:"gap_us"`    // interphase gap, µs
	FreqHz    float64 `yaml:"freq_hz"`   // rate of the continuous train
}

// LambdaTuning returns PI gains for the first-order plant τ dr/dt = −r + r0
// + g·u by internal-model (lambda) tuning (Rivera, Morari & Skogestad 1986,
// Ind. Eng. Chem. Process Des. Dev. 25:252): the integral time Kp/Ki = τ
// cancels the plant pole, and Kp = τ/(g·λ), Ki = 1/(g·λ) place the single
// closed-loop pole at s = −1/λ, so a target step settles as 1 − e^{−t/λ}
// (within 5 % after 3λ) without overshoot. τ and λ in seconds, g in Hz/µA.
func LambdaTuning(tau, gain, lambda float64) (kp, ki float64) {
	return tau / (gain * lambda), 1 / (gain * lambda)
}

// DefaultRateClampConfig returns a clamp of the state "rate" at 5 Hz driving
// amplitude-modulated 100 Hz trains of 200 µs phases (50 µs gap) on
// electrode 0 within [0, 100] µA, the default Limit's amplitude (100 µA ×
// 200 µs = 20 nC, its charge bound). The gains are LambdaTuning(0.1, 0.2,
// 0.05) = (10 µA/Hz, 100 µA/(Hz·s)): for a population whose rate follows a
// first-order response to stimulation with a 100 ms time constant and a
// gain of 0.2 Hz/µA, clamped with a 50 ms closed-loop time constant. Refit
// τ and g to the preparation (a step response) and retune.
func DefaultRateClampConfig() RateClampConfig {
	kp, ki := LambdaTuning(0.1, 0.2, 0.05)
	return RateClampConfig{
		Quantity: "rate", TargetHz: 5, Kp: kp, Ki: ki, MinUA: 0, MaxUA: 100,
		Electrode: 0, PhaseUS: 200, GapUS: 50, FreqHz: 100,
	}
}

// Validate reports every problem with c at once.
func (c *RateClampConfig) Validate() error {
	var errs []error
	if c.Quantity == "" {
		errs = append(errs, errors.New("quantity: must name the population-rate state"))
	}
	if !finite(c.TargetHz) || c.TargetHz < 0 {
		errs = append(errs, fmt.Errorf("target_hz: must be finite and ≥ 0, got %v", c.TargetHz))
	}
	if !finite(c.Kp) || c.Kp < 0 {
		errs = append(errs, fmt.Errorf("kp: must be finite and ≥ 0, got %v", c.Kp))
	}
	if !finite(c.Ki) || c.Ki < 0 {
		errs = append(errs, fmt.Errorf("ki: must be finite and ≥ 0, got %v", c.Ki))
	}
	errs = append(errs, validateWindow(c.MinUA, c.MaxUA)...)
	errs = append(errs, validateContinuous(c.Electrode, c.PhaseUS, c.GapUS, c.FreqHz)...)
	return errors.Join(errs...)
}

// RateClampController clamps a population firing rate r to a target r* by
// PI control (Newman et al. 2015, eLife 4:e07192; SCIENCE.md §6). On each
// estimate, with e = r* − r and Δt the sample-clock time since the
// previous estimate,
//
//	I ← clamp(I + Ki·e·Δt, min, max),  u = clamp(Kp·e + I, min, max),
//
// the clamped integrator being the anti-windup: while the output saturates
// the integral cannot run away, so the loop recovers as soon as the target
// is reachable again. u is the amplitude (µA) of a continuous train of
// freq_hz: each update carries the pulses due over its Δt (pulseClock), as
// one train of that amplitude at est.Sample. An update with no pulse due
// or u = 0 does not fire. The first estimate after construction or Reset
// (Δt unknown) only primes the clock. A non-finite rate holds the
// integrator and fires nothing.
//
// Concurrency and allocation: see Controller.
type RateClampController struct {
	cfg    RateClampConfig
	index  int
	rate   float64
	target float64

	integ   float64
	out     float64
	clock   pulseClock
	prev    int64
	hasPrev bool
	seq     uint64
}

// NewRateClampController returns a clamp for estimates whose states are
// named stateNames, on a sample clock of rateHz.
func NewRateClampController(cfg RateClampConfig, stateNames []string, rateHz float64) (*RateClampController, error) {
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
	if err := joinCtl("rate clamp", errs); err != nil {
		return nil, err
	}
	c := &RateClampController{cfg: cfg, index: idx, rate: rateHz, target: cfg.TargetHz}
	c.Reset()
	return c, nil
}

// Config returns the configuration in force (its TargetHz the initial one).
func (c *RateClampController) Config() RateClampConfig { return c.cfg }

// SetTarget changes the target rate r* (Hz) from the next Update; a
// negative or non-finite target is an error and leaves it unchanged.
func (c *RateClampController) SetTarget(hz float64) error {
	if !finite(hz) || hz < 0 {
		return fmt.Errorf("stimulate: rate clamp: target: must be finite and ≥ 0, got %v", hz)
	}
	c.target = hz
	return nil
}

// Target returns the target rate in force, Hz.
func (c *RateClampController) Target() float64 { return c.target }

// Output returns the last output amplitude u, µA.
func (c *RateClampController) Output() float64 { return c.out }

// Integral returns the integrator I, µA, always within [min_ua, max_ua].
func (c *RateClampController) Integral() float64 { return c.integ }

// Update implements Controller.
func (c *RateClampController) Update(dst *Pattern, est *decode.Estimate) bool {
	r := stateAt("rate clamp", est, c.index, c.cfg.Quantity)
	dt := 0.0
	if c.hasPrev && est.Sample > c.prev {
		dt = float64(est.Sample-c.prev) / c.rate
	}
	c.prev, c.hasPrev = est.Sample, true
	if !finite(r) {
		c.out = 0
		return false
	}
	lo, hi := c.cfg.MinUA, c.cfg.MaxUA
	e := c.target - r
	c.integ = min(max(c.integ+c.cfg.Ki*e*dt, lo), hi)
	c.out = min(max(c.cfg.Kp*e+c.integ, lo), hi)
	n := c.clock.due(c.cfg.FreqHz, dt)
	if n == 0 || !(c.out > 0) {
		return false
	}
	firePattern(dst, &c.seq, est, est.Sample, Pulse{
		Electrode: c.cfg.Electrode, AmplitudeUA: c.out, PhaseUS: c.cfg.PhaseUS,
		GapUS: c.cfg.GapUS, Count: n, FreqHz: c.cfg.FreqHz,
	})
	return true
}

// Reset implements Controller: the integrator starts at min_ua, the
// sample clock and train phase are forgotten; the target and Seq stay.
func (c *RateClampController) Reset() {
	c.integ, c.out = c.cfg.MinUA, 0
	c.clock = pulseClock{}
	c.prev, c.hasPrev = 0, false
}

var _ Controller = (*RateClampController)(nil)
