package stimulate

import (
	"errors"
	"fmt"
	"time"

	"github.com/bciloop/bciloop/decode"
)

// EventControllerConfig configures an EventController: the state it
// watches, the line-length detector, timing on the sample clock, and the
// train delivered on detection.
type EventControllerConfig struct {
	Quantity   string        `yaml:"quantity"`   // state name of the signal (a filtered LFP sample, "lfp")
	Detector   string        `yaml:"detector"`   // "line_length" ("" too) or "level" (the quantity itself: a band power, a decoded value)
	Window     time.Duration `yaml:"window"`     // line-length window T
	Threshold  float64       `yaml:"threshold"`  // on L, in the quantity's unit per second
	Lockout    time.Duration `yaml:"lockout"`    // no firing sooner than this after the last firing
	Refractory time.Duration `yaml:"refractory"` // L must stay below threshold this long before a new detection
	Delay      time.Duration `yaml:"delay"`      // from the estimate to delivery
	Pulse      PulseConfig   `yaml:"pulse"`      // the train delivered
}

// DefaultEventControllerConfig returns a line-length detector on the state
// "lfp" over 50 ms with a threshold of 450 /s (for an LFP in units of its
// background SD sampled at 1 kHz, about 8 SD of the background's line
// length; set it from a baseline recording), a 1 s lockout and a 100 ms
// refractory period, delivering at once the ICMS train of
// DefaultThresholdControllerConfig (10 × 50 µA × 200 µs at 100 Hz).
func DefaultEventControllerConfig() EventControllerConfig {
	th := DefaultThresholdControllerConfig()
	return EventControllerConfig{
		Quantity:   "lfp",
		Detector:   DetectLineLength,
		Window:     50 * time.Millisecond,
		Threshold:  450,
		Lockout:    time.Second,
		Refractory: 100 * time.Millisecond,
		Pulse: PulseConfig{Electrode: th.Electrode, AmplitudeUA: th.AmplitudeUA, PhaseUS: th.PhaseUS,
			GapUS: th.GapUS, Count: th.Count, FreqHz: th.FreqHz},
	}
}

// Validate reports every problem with c at once.
func (c *EventControllerConfig) Validate() error {
	var errs []error
	if c.Quantity == "" {
		errs = append(errs, errors.New("quantity: must name the watched state"))
	}
	if c.Detector != "" && c.Detector != DetectLineLength && c.Detector != DetectLevel {
		errs = append(errs, fmt.Errorf("detector: must be %s or %s, got %q", DetectLineLength, DetectLevel, c.Detector))
	}
	if c.Window <= 0 {
		errs = append(errs, fmt.Errorf("window: must be > 0, got %v", c.Window))
	}
	if !(c.Threshold > 0) || !finite(c.Threshold) {
		errs = append(errs, fmt.Errorf("threshold: must be finite and > 0, got %v", c.Threshold))
	}
	if c.Lockout < 0 {
		errs = append(errs, fmt.Errorf("lockout: must be ≥ 0, got %v", c.Lockout))
	}
	if c.Refractory < 0 {
		errs = append(errs, fmt.Errorf("refractory: must be ≥ 0, got %v", c.Refractory))
	}
	if c.Delay < 0 {
		errs = append(errs, fmt.Errorf("delay: must be ≥ 0, got %v", c.Delay))
	}
	errs = append(errs, c.Pulse.validate("pulse.")...)
	return errors.Join(errs...)
}

// Detectors of an EventController.
const (
	DetectLineLength = "line_length" // L over the window, per second
	DetectLevel      = "level"       // the quantity itself (band power, a decoded value)
)

// EventController is a responsive controller (SCIENCE.md §6) with a
// line-length detector (Esteller et al. 2001, Proc. 23rd IEEE EMBS,
// "Line length: an efficient feature for seizure onset detection"): over
// the estimates of the last window T on the sample clock,
//
//	L = Σ |x_k − x_{k−1}| / T,
//
// the mean absolute slope of the signal, which rises with both the
// amplitude and the frequency of an event. It detects when L ≥ threshold
// after L has been below the threshold for at least the refractory period
// (so one event fires once; the first detection after construction or
// Reset needs no such period), and fires the configured train unless the
// last firing is within the lockout (a detection in the lockout is
// dropped, not postponed). Detection starts once a full window
// of estimates has been seen. A non-finite value restarts the window.
//
// With detector "level" the detected value is the quantity itself (a
// band power from a feature stage, or a decoded value; SCIENCE.md §6 lists
// band power and decoded values beside line length), with the same
// threshold, refractory period and lockout, and no window.
//
// A firing fills dst with Seq = 1, 2, …, Sample = est.Sample + round(delay
// · rate), Arrived = est.Arrived and the configured train.
//
// Concurrency and allocation: see Controller. The window is a ring of
// window·rate + 1 entries (one estimate per sample at most), allocated at
// construction.
type EventController struct {
	cfg        EventControllerConfig
	index      int
	window     int64
	lockout    int64
	refractory int64
	delay      int64
	thSum      float64 // threshold · T: compared with the sum directly
	pulse      Pulse

	ring       []eventEntry
	head, n    int
	sum        float64
	prev       float64
	hasPrev    bool
	start      int64 // sample of the first value of the current window run
	below      int64 // sample at which L last went below the threshold
	armed      bool  // L below threshold for ≥ refractory
	lastFire   int64
	fired      bool
	seq        uint64
	lineLength float64
}

type eventEntry struct {
	sample int64
	d      float64
}

// NewEventController returns a detector for estimates whose states are
// named stateNames, on a sample clock of rateHz.
func NewEventController(cfg EventControllerConfig, stateNames []string, rateHz float64) (*EventController, error) {
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
	if err := joinCtl("event", errs); err != nil {
		return nil, err
	}
	c := &EventController{
		cfg: cfg, index: idx,
		window:     max(samples(cfg.Window.Seconds(), rateHz), 1),
		lockout:    samples(cfg.Lockout.Seconds(), rateHz),
		refractory: samples(cfg.Refractory.Seconds(), rateHz),
		delay:      samples(cfg.Delay.Seconds(), rateHz),
		thSum:      cfg.Threshold * cfg.Window.Seconds(),
		pulse:      cfg.Pulse.Pulse(),
	}
	c.ring = make([]eventEntry, c.window+1)
	c.Reset()
	return c, nil
}

// Config returns the configuration in force.
func (c *EventController) Config() EventControllerConfig { return c.cfg }

// LineLength returns L after the last update, per second (0 until a full
// window).
func (c *EventController) LineLength() float64 { return c.lineLength }

// Update implements Controller.
func (c *EventController) Update(dst *Pattern, est *decode.Estimate) bool {
	x := stateAt("event", est, c.index, c.cfg.Quantity)
	s := est.Sample
	if c.cfg.Detector == DetectLevel {
		if !finite(x) {
			return false
		}
		c.lineLength = x
		return c.detect(dst, est, s, x >= c.cfg.Threshold)
	}
	if !finite(x) {
		c.hasPrev, c.head, c.n, c.sum, c.lineLength = false, 0, 0, 0, 0
		return false
	}
	if !c.hasPrev {
		c.prev, c.hasPrev, c.start = x, true, s
		return false
	}
	d := x - c.prev
	if d < 0 {
		d = -d
	}
	c.prev = x
	// Evict entries that left the window (sample ≤ s − window), then add.
	for c.n > 0 && c.ring[c.head].sample <= s-c.window {
		c.sum -= c.ring[c.head].d
		c.head = (c.head + 1) % len(c.ring)
		c.n--
	}
	if c.n == len(c.ring) { // more estimates than samples: drop the oldest
		c.sum -= c.ring[c.head].d
		c.head = (c.head + 1) % len(c.ring)
		c.n--
	}
	c.ring[(c.head+c.n)%len(c.ring)] = eventEntry{s, d}
	c.n++
	c.sum += d
	if s-c.start < c.window {
		return false
	}
	if c.sum < 0 { // rounding after many evictions
		c.sum = 0
	}
	c.lineLength = c.sum / c.cfg.Window.Seconds()
	return c.detect(dst, est, s, c.sum >= c.thSum)
}

// detect runs the refractory period and lockout on one detector value,
// above the threshold or not, and fires.
func (c *EventController) detect(dst *Pattern, est *decode.Estimate, s int64, above bool) bool {
	if !above {
		if c.below < 0 {
			c.below = s
		}
		if s-c.below >= c.refractory {
			c.armed = true
		}
		return false
	}
	c.below = -1
	if !c.armed {
		return false
	}
	c.armed = false
	if c.fired && s-c.lastFire < c.lockout {
		return false
	}
	c.fired, c.lastFire = true, s
	firePattern(dst, &c.seq, est, s+c.delay, c.pulse)
	return true
}

// Reset implements Controller: it forgets the window, the detector state
// and the last firing; the detector is armed; Seq keeps counting.
func (c *EventController) Reset() {
	c.head, c.n, c.sum, c.lineLength = 0, 0, 0, 0
	c.prev, c.hasPrev, c.start = 0, false, 0
	c.below, c.armed = -1, true
	c.lastFire, c.fired = 0, false
}

var _ Controller = (*EventController)(nil)
