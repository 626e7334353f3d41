package stimulate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/bciloop/bciloop/decode"
)

// Timing selects the schedule of a ScheduleController.
type Timing string

const (
	// Periodic delivers a train every 1/rate.
	Periodic Timing = "periodic"
	// Poisson delivers trains at the events of a Poisson process of the
	// given rate, with a dead time (a dead-time-modified Poisson process).
	Poisson Timing = "poisson"
)

// scheduleStream is the PCG stream of the schedule's generator, fixed so
// that a seed alone determines the sequence.
const scheduleStream = 0x5c4ed01e

// ScheduleConfig configures an open-loop ScheduleController.
type ScheduleConfig struct {
	Timing   Timing        `yaml:"timing"`    // "periodic" or "poisson"
	RateHz   float64       `yaml:"rate_hz"`   // trains per second (mean, for Poisson)
	DeadTime time.Duration `yaml:"dead_time"` // Poisson: least interval between trains
	Seed     uint64        `yaml:"seed"`      // Poisson: seed of the generator
	Pulse    PulseConfig   `yaml:"pulse"`     // the train delivered
}

// DefaultScheduleConfig returns sham/comparison stimulation for the
// responsive controllers: Poisson timing at 1 train/s with a 200 ms dead
// time (the ThresholdController lockout), seed 1, and the train of
// DefaultThresholdControllerConfig.
func DefaultScheduleConfig() ScheduleConfig {
	th := DefaultThresholdControllerConfig()
	return ScheduleConfig{
		Timing: Poisson, RateHz: 1, DeadTime: 200 * time.Millisecond, Seed: 1,
		Pulse: PulseConfig{Electrode: th.Electrode, AmplitudeUA: th.AmplitudeUA, PhaseUS: th.PhaseUS,
			GapUS: th.GapUS, Count: th.Count, FreqHz: th.FreqHz},
	}
}

// Validate reports every problem with c at once.
func (c *ScheduleConfig) Validate() error {
	var errs []error
	if c.Timing != Periodic && c.Timing != Poisson {
		errs = append(errs, fmt.Errorf("timing: must be %q or %q, got %q", Periodic, Poisson, c.Timing))
	}
	rateOK := c.RateHz > 0 && finite(c.RateHz)
	if !rateOK {
		errs = append(errs, fmt.Errorf("rate_hz: must be finite and > 0, got %v", c.RateHz))
	}
	switch {
	case c.DeadTime < 0:
		errs = append(errs, fmt.Errorf("dead_time: must be ≥ 0, got %v", c.DeadTime))
	case c.Timing == Poisson && rateOK && c.DeadTime.Seconds()*c.RateHz >= 1:
		errs = append(errs, fmt.Errorf("dead_time: %v leaves no room for a mean rate of %v Hz (need dead_time < 1/rate)", c.DeadTime, c.RateHz))
	}
	errs = append(errs, c.Pulse.validate("pulse.")...)
	return errors.Join(errs...)
}

// ScheduleController is open-loop stimulation, the sham or comparison arm
// of a closed-loop experiment: it ignores the estimates' state and
// delivers the configured train on a schedule of the sample clock, either
// periodic (interval 1/rate) or Poisson with a dead time d (intervals d +
// Exp(λ'), λ' = rate/(1 − rate·d) so that the mean rate stays rate; a
// seeded PCG generator makes the sequence reproducible). The first train is
// one interval after the first estimate; as the interval to the next
// estimate is not known yet at the first, a train due before the second
// is delivered at the second.
//
// On each estimate, with Δ the interval since the previous estimate (0 for
// the first), a train due (at the nearest sample) before est.Sample + Δ — i.e. before the next
// estimate is expected — fires with dst.Sample its due sample, so trains
// are timed to the sample, not to the estimate. When several fall within
// one estimate (rate above the estimate rate) only the first is delivered
// and the rest are counted by Skipped.
//
// Reset restarts the schedule from the next estimate; the generator is not
// reseeded, so successive trials differ (construct anew to repeat one).
// Concurrency and allocation: see Controller.
type ScheduleController struct {
	cfg     ScheduleConfig
	rate    float64 // sample clock, Hz
	mean    float64 // Poisson: 1/λ' in samples
	dead    float64 // samples
	period  float64 // periodic interval in samples
	rng     *rand.Rand
	pulse   Pulse
	next    float64 // due sample of the next train
	started bool
	prev    int64
	skipped uint64
	seq     uint64
}

// NewScheduleController returns an open-loop controller on a sample clock
// of rateHz.
func NewScheduleController(cfg ScheduleConfig, rateHz float64) (*ScheduleController, error) {
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := checkRate(rateHz); err != nil {
		errs = append(errs, err)
	}
	if err := joinCtl("schedule", errs); err != nil {
		return nil, err
	}
	d := cfg.DeadTime.Seconds()
	c := &ScheduleController{
		cfg: cfg, rate: rateHz,
		period: rateHz / cfg.RateHz,
		dead:   d * rateHz,
		mean:   rateHz * (1 - cfg.RateHz*d) / cfg.RateHz,
		rng:    rand.New(rand.NewPCG(cfg.Seed, scheduleStream)),
		pulse:  cfg.Pulse.Pulse(),
	}
	return c, nil
}

// Config returns the configuration in force.
func (c *ScheduleController) Config() ScheduleConfig { return c.cfg }

// Skipped returns how many scheduled trains were not delivered because an
// earlier one was due within the same estimate.
func (c *ScheduleController) Skipped() uint64 { return c.skipped }

func (c *ScheduleController) interval() float64 {
	if c.cfg.Timing == Periodic {
		return c.period
	}
	return c.dead + c.mean*c.rng.ExpFloat64()
}

// Update implements Controller.
func (c *ScheduleController) Update(dst *Pattern, est *decode.Estimate) bool {
	s := est.Sample
	if !c.started {
		c.started, c.prev = true, s
		c.next = float64(s) + c.interval()
	}
	horizon := float64(s + max(s-c.prev, 0))
	c.prev = s
	// Trains are due at the nearest sample, round(next).
	if math.Round(c.next) >= horizon {
		return false
	}
	when := int64(math.Round(c.next))
	for c.next += c.interval(); math.Round(c.next) < horizon; c.next += c.interval() {
		c.skipped++
	}
	firePattern(dst, &c.seq, est, max(when, s), c.pulse)
	return true
}

// Reset implements Controller: the schedule restarts one interval after
// the next estimate; Seq and the generator continue.
func (c *ScheduleController) Reset() {
	c.started, c.prev, c.next = false, 0, 0
}

var _ Controller = (*ScheduleController)(nil)
