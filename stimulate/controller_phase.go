package stimulate

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bciloop/bciloop/decode"
)

// PhaseConfig configures a PhaseController: the raw signal it reads, the
// band of the oscillation, the AR forward-prediction parameters, the
// target phase and the pulse delivered.
type PhaseConfig struct {
	Quantity       string        `yaml:"quantity"`         // state name of the (broadband) LFP sample ("lfp")
	LowHz          float64       `yaml:"low_hz"`           // band of the oscillation, Hz
	HighHz         float64       `yaml:"high_hz"`          //
	Window         time.Duration `yaml:"window"`           // analysis window of recent samples
	Edge           time.Duration `yaml:"edge"`             // filtered samples discarded at each end of the window
	Order          int           `yaml:"order"`            // AR model order p
	Hop            time.Duration `yaml:"hop"`              // time between phase estimates
	TargetPhaseDeg float64       `yaml:"target_phase_deg"` // 0 peak, 90 falling zero, 180 trough, 270 rising zero
	MinAmplitude   float64       `yaml:"min_amplitude"`    // no firing when the fitted oscillation is smaller (quantity's unit)
	Lockout        time.Duration `yaml:"lockout"`          // no pulse scheduled sooner than this after the last
	Pulse          PulseConfig   `yaml:"pulse"`            // delivered at the predicted target phase
}

// DefaultPhaseConfig returns phase-locked stimulation at the peak of beta
// (15–25 Hz) in the state "lfp": a 400 ms window, 60 ms dropped at each
// end, AR(20) prediction every 5 ms, a 30 ms lockout (more than half a 20 Hz
// period), and one 50 µA × 200 µs pulse on electrode 0 per cycle.
func DefaultPhaseConfig() PhaseConfig {
	return PhaseConfig{
		Quantity: "lfp", LowHz: 15, HighHz: 25,
		Window: 400 * time.Millisecond, Edge: 60 * time.Millisecond, Order: 20, Hop: 5 * time.Millisecond,
		TargetPhaseDeg: 0, MinAmplitude: 0, Lockout: 30 * time.Millisecond,
		Pulse: PulseConfig{Electrode: 0, AmplitudeUA: 50, PhaseUS: 200, GapUS: 50, Count: 1},
	}
}

// Validate reports every problem with c at once (those that depend on the
// sampling rate are checked by NewPhaseController).
func (c *PhaseConfig) Validate() error {
	var errs []error
	if c.Quantity == "" {
		errs = append(errs, errors.New("quantity: must name the LFP state"))
	}
	lowOK := c.LowHz > 0 && finite(c.LowHz)
	if !lowOK {
		errs = append(errs, fmt.Errorf("low_hz: must be finite and > 0, got %v", c.LowHz))
	}
	switch {
	case !finite(c.HighHz) || !(c.HighHz > 0):
		errs = append(errs, fmt.Errorf("high_hz: must be finite and > 0, got %v", c.HighHz))
	case lowOK && c.HighHz <= c.LowHz:
		errs = append(errs, fmt.Errorf("high_hz: %v must be above low_hz %v", c.HighHz, c.LowHz))
	}
	if c.Window <= 0 {
		errs = append(errs, fmt.Errorf("window: must be > 0, got %v", c.Window))
	}
	if c.Edge < 0 || (c.Window > 0 && 2*c.Edge >= c.Window) {
		errs = append(errs, fmt.Errorf("edge: must be ≥ 0 and below half the window, got %v", c.Edge))
	}
	if c.Order < 1 {
		errs = append(errs, fmt.Errorf("order: must be ≥ 1, got %d", c.Order))
	}
	if c.Hop <= 0 {
		errs = append(errs, fmt.Errorf("hop: must be > 0, got %v", c.Hop))
	}
	if !finite(c.TargetPhaseDeg) {
		errs = append(errs, fmt.Errorf("target_phase_deg: must be finite, got %v", c.TargetPhaseDeg))
	}
	if !finite(c.MinAmplitude) || c.MinAmplitude < 0 {
		errs = append(errs, fmt.Errorf("min_amplitude: must be finite and ≥ 0, got %v", c.MinAmplitude))
	}
	if c.Lockout < 0 {
		errs = append(errs, fmt.Errorf("lockout: must be ≥ 0, got %v", c.Lockout))
	}
	errs = append(errs, c.Pulse.validate("pulse.")...)
	return errors.Join(errs...)
}

// PhaseController delivers a pulse at a target phase of an ongoing
// oscillation by autoregressive forward prediction (Chen et al. 2013, IEEE
// Trans. Biomed. Eng. 60:753; SCIENCE.md §6). It reads one broadband LFP
// sample per estimate (est.Sample advancing by one; a gap restarts the
// window) and, every hop, on the last N = window·fs samples:
//
//  1. band-passes them forward and backward (zero phase) with a Butterworth
//     cascade (decode.ButterBandpass, order 2) and drops E = edge·fs
//     samples at each end, where the filter's transients are;
//  2. fits an AR(p) model x_t = −Σ_{j=1..p} a_j x_{t−j} to the kept
//     samples by Yule–Walker (biased autocorrelation, Levinson–Durbin
//     recursion, which guarantees a stable predictor);
//  3. predicts the discarded E samples and one period L = fs/f₀ beyond the
//     present, f₀ = √(low·high);
//  4. fits x ≈ A cos(ω₀τ + φ) over the predicted period centred on the
//     present, τ = −⌊L/2⌋ … L − 1 − ⌊L/2⌋ (quadrature sums a = (2/L)Σ y
//     cos ω₀τ, b = (2/L)Σ y sin ω₀τ, φ = atan2(−b, a), A = hypot(a, b));
//     centring cancels the first-order phase error of an oscillation off
//     f₀ within the band;
//  5. schedules the pulse Δ = ((φ* − φ) mod 2π)/ω₀ ahead, if that falls
//     within 1.5 hops (so that jitter between successive estimates cannot
//     skip a cycle), A ≥ min_amplitude and the last pulse was at least the
//     lockout earlier (the lockout, over 1.5 hops and under one period,
//     keeps it to one pulse per cycle).
//
// The phase convention is that of x = A cos φ: 0° peak, 180° trough. A
// firing fills dst with Seq = 1, 2, …, Sample = est.Sample + round(Δ·fs),
// Arrived = est.Arrived and the configured pulse. A non-finite sample
// restarts the window.
//
// Concurrency and allocation: see Controller; all buffers are allocated at
// construction, and each hop costs O(N·p).
type PhaseController struct {
	cfg     PhaseConfig
	index   int
	fs      float64
	sos     []decode.Biquad
	n, edge int
	hop     int64
	lockout int64
	period  int
	omega   float64 // ω₀ per sample
	target  float64 // φ* in rad
	pulse   Pulse

	ring  []float64
	head  int
	count int
	prev  int64
	work  []float64 // filtered window then prediction: n + period
	r, a  []float64 // autocorrelation, AR coefficients (a[0] = 1)
	tmp   []float64
	cosT  []float64 // cos ω₀τ, sin ω₀τ over one period
	sinT  []float64

	sinceHop int64
	lastFire int64
	fired    bool
	seq      uint64
	phase    float64
	amp      float64
}

// NewPhaseController returns a phase-locked controller for estimates
// whose states are named stateNames, one per sample at rateHz.
func NewPhaseController(cfg PhaseConfig, stateNames []string, rateHz float64) (*PhaseController, error) {
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
	if len(errs) > 0 {
		return nil, joinCtl("phase", errs)
	}
	sos, err := decode.ButterBandpass(2, cfg.LowHz, cfg.HighHz, rateHz)
	if err != nil {
		errs = append(errs, fmt.Errorf("low_hz, high_hz: %w", err))
	}
	n := int(samples(cfg.Window.Seconds(), rateHz))
	edge := int(samples(cfg.Edge.Seconds(), rateHz))
	if hop := max(samples(cfg.Hop.Seconds(), rateHz), 1); 2*samples(cfg.Lockout.Seconds(), rateHz) < 3*hop {
		errs = append(errs, fmt.Errorf("lockout: %v is shorter than 1.5 hops (%v): a cycle could get two pulses", cfg.Lockout, cfg.Hop))
	}
	if n-2*edge < 2*cfg.Order {
		errs = append(errs, fmt.Errorf("window: %d samples less 2·%d edge leave fewer than 2·order = %d to fit", n, edge, 2*cfg.Order))
	}
	if err := joinCtl("phase", errs); err != nil {
		return nil, err
	}
	f0 := math.Sqrt(cfg.LowHz * cfg.HighHz)
	period := max(int(math.Round(rateHz/f0)), 2)
	c := &PhaseController{
		cfg: cfg, index: idx, fs: rateHz, sos: sos, n: n, edge: edge,
		hop:     max(samples(cfg.Hop.Seconds(), rateHz), 1),
		lockout: samples(cfg.Lockout.Seconds(), rateHz),
		period:  period,
		omega:   2 * math.Pi * f0 / rateHz,
		target:  cfg.TargetPhaseDeg * math.Pi / 180,
		pulse:   cfg.Pulse.Pulse(),
		ring:    make([]float64, n),
		work:    make([]float64, n+period),
		r:       make([]float64, cfg.Order+1),
		a:       make([]float64, cfg.Order+1),
		tmp:     make([]float64, cfg.Order+1),
		cosT:    make([]float64, period),
		sinT:    make([]float64, period),
	}
	for k := range period {
		tau := float64(k - period/2)
		c.cosT[k], c.sinT[k] = math.Cos(c.omega*tau), math.Sin(c.omega*tau)
	}
	c.Reset()
	return c, nil
}

// Config returns the configuration in force.
func (c *PhaseController) Config() PhaseConfig { return c.cfg }

// Phase returns the phase (rad, (−π, π]) and amplitude of the oscillation
// at the present from the last estimate; both are 0 before the first.
func (c *PhaseController) Phase() (phase, amplitude float64) { return c.phase, c.amp }

// Update implements Controller.
func (c *PhaseController) Update(dst *Pattern, est *decode.Estimate) bool {
	x := stateAt("phase", est, c.index, c.cfg.Quantity)
	if !finite(x) || (c.count > 0 && est.Sample != c.prev+1) {
		c.head, c.count = 0, 0
		if !finite(x) {
			return false
		}
	}
	c.prev = est.Sample
	c.ring[c.head] = x
	c.head = (c.head + 1) % c.n
	c.count = min(c.count+1, c.n)
	c.sinceHop++
	if c.count < c.n || c.sinceHop < c.hop {
		return false
	}
	c.sinceHop = 0
	if !c.estimate() {
		return false
	}
	d := math.Mod(c.target-c.phase, 2*math.Pi)
	if d < 0 {
		d += 2 * math.Pi
	}
	delay := int64(math.Round(d / c.omega))
	when := est.Sample + delay
	if 2*delay >= 3*c.hop || c.amp < c.cfg.MinAmplitude || (c.fired && when-c.lastFire < c.lockout) {
		return false
	}
	c.fired, c.lastFire = true, when
	firePattern(dst, &c.seq, est, when, c.pulse)
	return true
}

// estimate runs steps 1–4 on the window and sets phase and amp; false when
// the window carries no signal.
func (c *PhaseController) estimate() bool {
	w := c.work[:c.n]
	copy(w, c.ring[c.head:])
	copy(w[c.n-c.head:], c.ring[:c.head])
	var mean float64
	for _, v := range w {
		mean += v
	}
	mean /= float64(c.n)
	for i := range w {
		w[i] -= mean
	}
	c.sosPass(w, false)
	c.sosPass(w, true)
	fit := w[c.edge : c.n-c.edge]
	p := c.cfg.Order
	for k := 0; k <= p; k++ {
		var s float64
		for t := k; t < len(fit); t++ {
			s += fit[t] * fit[t-k]
		}
		c.r[k] = s / float64(len(fit))
	}
	if !(c.r[0] > 0) {
		return false
	}
	c.levinson()
	// Predict from the end of the kept samples over the edge and one period.
	all := c.work[:c.n+c.period]
	for t := c.n - c.edge; t < len(all); t++ {
		var s float64
		for j := 1; j <= p; j++ {
			s -= c.a[j] * all[t-j]
		}
		all[t] = s
	}
	// The present is the last sample, index n − 1.
	var ca, sb float64
	for k := range c.period {
		y := all[c.n-1-c.period/2+k]
		ca += y * c.cosT[k]
		sb += y * c.sinT[k]
	}
	ca *= 2 / float64(c.period)
	sb *= 2 / float64(c.period)
	c.phase, c.amp = math.Atan2(-sb, ca), math.Hypot(ca, sb)
	return true
}

// sosPass filters x in place through the cascade from rest, forward or
// backward.
func (c *PhaseController) sosPass(x []float64, backward bool) {
	for _, s := range c.sos {
		var z1, z2 float64
		for i := range x {
			t := i
			if backward {
				t = len(x) - 1 - i
			}
			v := x[t]
			y := s.B0*v + z1
			z1 = s.B1*v - s.A1*y + z2
			z2 = s.B2*v - s.A2*y
			x[t] = y
		}
	}
}

// levinson solves the Yule–Walker equations for c.a from c.r by the
// Levinson–Durbin recursion (Levinson 1947; Durbin 1960): with error E₀ =
// r₀, for k = 1…p, κ = −(r_k + Σ_{j<k} a_j r_{k−j})/E_{k−1}, a_j ← a_j +
// κ a_{k−j}, a_k = κ, E_k = (1 − κ²) E_{k−1}.
func (c *PhaseController) levinson() {
	a, r, tmp := c.a, c.r, c.tmp
	clear(a)
	a[0] = 1
	e := r[0]
	for k := 1; k < len(a); k++ {
		acc := r[k]
		for j := 1; j < k; j++ {
			acc += a[j] * r[k-j]
		}
		kappa := -acc / e
		copy(tmp, a)
		for j := 1; j < k; j++ {
			a[j] = tmp[j] + kappa*tmp[k-j]
		}
		a[k] = kappa
		e *= 1 - kappa*kappa
		if !(e > 0) {
			return
		}
	}
}

// Reset implements Controller: it forgets the window and the last pulse;
// Seq keeps counting.
func (c *PhaseController) Reset() {
	c.head, c.count, c.prev = 0, 0, 0
	c.sinceHop = 0
	c.lastFire, c.fired = 0, false
	c.phase, c.amp = 0, 0
}

var _ Controller = (*PhaseController)(nil)
