package stimulate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/bciloop/bciloop/decode"
)

// Direction selects the crossing that fires a ThresholdController.
type Direction string

const (
	// Rising fires when the quantity goes from below the threshold to at or
	// above it.
	Rising Direction = "rising"
	// Falling fires when the quantity goes from above the threshold to at
	// or below it.
	Falling Direction = "falling"
)

// SpeedQuantity is the derived quantity speed = hypot(vx, vy), available
// when the decoder's state has components named "vx" and "vy" (and none
// named "speed" itself).
const SpeedQuantity = "speed"

// ThresholdControllerConfig configures a ThresholdController: which decoded
// quantity to watch, the crossing that fires, timing on the sample clock,
// and the pulse train delivered.
type ThresholdControllerConfig struct {
	Quantity  string        `yaml:"quantity"`  // a state name of the decoder ("vx"), or "speed" = hypot(vx, vy)
	Threshold float64       `yaml:"threshold"` // in the quantity's unit
	Direction Direction     `yaml:"direction"` // "rising" or "falling"
	Lockout   time.Duration `yaml:"lockout"`   // no firing sooner than this after the last firing (sample clock)
	Delay     time.Duration `yaml:"delay"`     // from the estimate to delivery (sample clock)

	Electrode   int     `yaml:"electrode"`    // 0-based
	AmplitudeUA float64 `yaml:"amplitude_ua"` // per phase, µA
	PhaseUS     float64 `yaml:"phase_us"`     // per phase, µs
	GapUS       float64 `yaml:"gap_us"`       // interphase gap, µs
	Count       int     `yaml:"count"`        // pulses in the train
	FreqHz      float64 `yaml:"freq_hz"`      // train frequency (count > 1)
}

// DefaultThresholdControllerConfig returns a responsive controller on the
// decoded speed of the synthetic motor cortex: it fires when the speed rises
// through 10 cm/s, the RMS speed of sim.DefaultMotorCortexConfig, at most
// every 200 ms, delivering at once a 100 Hz train of 10 cathodic-first
// biphasic pulses of 50 µA × 200 µs (10 nC per phase) with a 50 µs
// interphase gap on electrode 0. The train follows ICMS practice (200 µs
// phases, 100 Hz trains; Flesher et al. 2016, Sci. Transl. Med.
// 8:361ra141) at the 50 µA reference current of the simulated tissue; it
// lasts 90.45 ms, within the lockout, so that the default Limit (300 pulses
// per second, 20 nC) never has to refuse it.
func DefaultThresholdControllerConfig() ThresholdControllerConfig {
	return ThresholdControllerConfig{
		Quantity:    SpeedQuantity,
		Threshold:   10,
		Direction:   Rising,
		Lockout:     200 * time.Millisecond,
		Delay:       0,
		Electrode:   0,
		AmplitudeUA: 50,
		PhaseUS:     200,
		GapUS:       50,
		Count:       10,
		FreqHz:      100,
	}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Validate reports every problem with c at once. It checks the pulse for
// being well-formed (finite, positive, a train whose period 1/f is at least
// one biphasic pulse 2·phase + gap); safety limits are Limit's business.
func (c *ThresholdControllerConfig) Validate() error {
	var errs []error
	if c.Quantity == "" {
		errs = append(errs, errors.New("quantity: must name a state of the decoder or \"speed\""))
	}
	if !finite(c.Threshold) {
		errs = append(errs, fmt.Errorf("threshold: must be finite, got %v", c.Threshold))
	}
	if c.Direction != Rising && c.Direction != Falling {
		errs = append(errs, fmt.Errorf("direction: must be %q or %q, got %q", Rising, Falling, c.Direction))
	}
	if c.Lockout < 0 {
		errs = append(errs, fmt.Errorf("lockout: must be ≥ 0, got %v", c.Lockout))
	}
	if c.Delay < 0 {
		errs = append(errs, fmt.Errorf("delay: must be ≥ 0, got %v", c.Delay))
	}
	if c.Electrode < 0 {
		errs = append(errs, fmt.Errorf("electrode: must be ≥ 0, got %d", c.Electrode))
	}
	if !(c.AmplitudeUA > 0) || !finite(c.AmplitudeUA) {
		errs = append(errs, fmt.Errorf("amplitude_ua: must be finite and > 0, got %v", c.AmplitudeUA))
	}
	phaseOK := c.PhaseUS > 0 && finite(c.PhaseUS)
	if !phaseOK {
		errs = append(errs, fmt.Errorf("phase_us: must be finite and > 0, got %v", c.PhaseUS))
	}
	gapOK := c.GapUS >= 0 && finite(c.GapUS)
	if !gapOK {
		errs = append(errs, fmt.Errorf("gap_us: must be finite and ≥ 0, got %v", c.GapUS))
	}
	if c.Count < 1 {
		errs = append(errs, fmt.Errorf("count: must be ≥ 1, got %d", c.Count))
	}
	switch {
	case !finite(c.FreqHz) || c.FreqHz < 0:
		errs = append(errs, fmt.Errorf("freq_hz: must be finite and ≥ 0, got %v", c.FreqHz))
	case c.Count > 1 && c.FreqHz == 0:
		errs = append(errs, fmt.Errorf("freq_hz: must be > 0 for a train of count %d", c.Count))
	case c.Count > 1 && phaseOK && gapOK && 1e6/c.FreqHz < 2*c.PhaseUS+c.GapUS:
		errs = append(errs, fmt.Errorf("freq_hz: period 1/f = %v µs is shorter than one biphasic pulse, 2·phase_us + gap_us = %v µs",
			1e6/c.FreqHz, 2*c.PhaseUS+c.GapUS))
	}
	return errors.Join(errs...)
}

// ThresholdController is a responsive controller (SCIENCE.md §6: detect an
// event, stimulate): it fires one pulse train when a decoded quantity x
// crosses a threshold θ in the configured direction, i.e. on the estimate
// where x_prev < θ ≤ x (rising) or x_prev > θ ≥ x (falling), never while
// the quantity merely stays beyond θ. A crossing within the lockout of the
// last firing (est.Sample − last < lockout·rate) is ignored, though it still
// counts as the previous value for the next edge. A non-finite value does
// not fire and clears the previous value, so an edge needs two consecutive
// finite values; the first estimate after construction or Reset never
// fires.
//
// A firing fills dst with Seq = 1, 2, …, Sample = est.Sample + round(delay ·
// rate), Arrived = est.Arrived and the configured pulse as the only entry
// of dst.Pulses.
//
// Concurrency and allocation: see Controller.
type ThresholdController struct {
	cfg     ThresholdControllerConfig
	index   int // state index of the quantity; -1 for speed
	vx, vy  int // state indices of vx, vy for speed
	need    int // the largest state index read
	lockout int64
	delay   int64
	pulse   Pulse

	prev     float64
	hasPrev  bool
	lastFire int64
	fired    bool
	seq      uint64
}

// NewThresholdController returns a controller for estimates whose state
// components are named stateNames (decode.StateNamer), on a stream of
// rateHz frames per second. It validates cfg and resolves cfg.Quantity; an
// unknown quantity is an error that lists the available ones.
func NewThresholdController(cfg ThresholdControllerConfig, stateNames []string, rateHz float64) (*ThresholdController, error) {
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !(rateHz > 0) || !finite(rateHz) {
		errs = append(errs, fmt.Errorf("rate: %v Hz must be finite and > 0", rateHz))
	}
	c := &ThresholdController{
		cfg:   cfg,
		index: slices.Index(stateNames, cfg.Quantity),
		vx:    slices.Index(stateNames, "vx"),
		vy:    slices.Index(stateNames, "vy"),
		pulse: Pulse{
			Electrode:   cfg.Electrode,
			AmplitudeUA: cfg.AmplitudeUA,
			PhaseUS:     cfg.PhaseUS,
			GapUS:       cfg.GapUS,
			Count:       cfg.Count,
			FreqHz:      cfg.FreqHz,
		},
	}
	hasSpeed := c.vx >= 0 && c.vy >= 0 && !slices.Contains(stateNames, SpeedQuantity)
	if cfg.Quantity != "" && c.index < 0 && !(cfg.Quantity == SpeedQuantity && hasSpeed) {
		avail := slices.Clone(stateNames)
		if hasSpeed {
			avail = append(avail, SpeedQuantity)
		}
		errs = append(errs, fmt.Errorf("quantity: unknown state %q; the decoder has: %s", cfg.Quantity, strings.Join(avail, ", ")))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("stimulate: threshold controller: %w", err)
	}
	c.need = c.index
	if c.index < 0 {
		c.need = max(c.vx, c.vy)
	}
	c.lockout = int64(math.Round(cfg.Lockout.Seconds() * rateHz))
	c.delay = int64(math.Round(cfg.Delay.Seconds() * rateHz))
	return c, nil
}

// Config returns the configuration in force.
func (c *ThresholdController) Config() ThresholdControllerConfig { return c.cfg }

// value returns the watched quantity of est. A state vector too short for
// the resolved indices is a wiring error (the estimate does not come from
// the decoder whose names were given) and panics.
func (c *ThresholdController) value(est *decode.Estimate) float64 {
	if c.need >= len(est.State) {
		panic(fmt.Sprintf("stimulate: threshold controller: estimate has %d state values, quantity %q needs index %d",
			len(est.State), c.cfg.Quantity, c.need))
	}
	if c.index >= 0 {
		return est.State[c.index]
	}
	return math.Hypot(est.State[c.vx], est.State[c.vy])
}

// Update implements Controller.
func (c *ThresholdController) Update(dst *Pattern, est *decode.Estimate) bool {
	x := c.value(est)
	if !finite(x) {
		c.hasPrev = false
		return false
	}
	th := c.cfg.Threshold
	var crossed bool
	if c.cfg.Direction == Falling {
		crossed = c.hasPrev && c.prev > th && x <= th
	} else {
		crossed = c.hasPrev && c.prev < th && x >= th
	}
	c.prev, c.hasPrev = x, true
	if !crossed || (c.fired && est.Sample-c.lastFire < c.lockout) {
		return false
	}
	c.fired, c.lastFire = true, est.Sample
	c.seq++
	dst.Seq = c.seq
	dst.Sample = est.Sample + c.delay
	dst.Arrived = est.Arrived
	dst.Pulses = append(dst.Pulses[:0], c.pulse)
	return true
}

// Reset implements Controller: it forgets the previous value and the last
// firing; Seq keeps counting.
func (c *ThresholdController) Reset() {
	c.prev, c.hasPrev = 0, false
	c.lastFire, c.fired = 0, false
}

var _ Controller = (*ThresholdController)(nil)
