package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// StateVar names one state variable of a Model and gives its unit.
type StateVar struct {
	Name string // e.g. "V"
	Unit string // e.g. "mV"; "" when dimensionless
}

// Model is a single cell or unit driven by a scalar input (a current, in the
// model's own units), written as dx/dt = f(t, x, I). Every neuron, rate and
// neural-mass model in this package implements it, so one simulator (Simulate)
// serves them all. Time is in ms for every model in this package.
type Model interface {
	// Vars lists the state variables in state-vector order.
	Vars() []StateVar
	// Init writes the initial (usually resting) state into x (len(Vars())).
	Init(x []float64)
	// Deriv writes f(t, x, input) into dxdt. It must not allocate or modify x.
	Deriv(dxdt []float64, t float64, x []float64, input float64)
	// Validate reports every invalid parameter ("Field: message"), joined.
	Validate() error
}

// SpikeRule says how a Spiker emits spikes: an upward crossing of Threshold by
// state variable Var is a spike. If Resets is true the model's Reset map is
// applied at the crossing and, for Refractory > 0, Var is held fixed for that
// long afterwards (dVar/dt = 0); other variables keep evolving.
type SpikeRule struct {
	Var        int     // index into the state vector
	Threshold  float64 // spike when x[Var] crosses this value from below
	Resets     bool    // apply Reset at the crossing (integrate-and-fire type); false for HH, FitzHugh–Nagumo
	Refractory float64 // absolute refractory period after a reset, ≥ 0
}

// Spiker is a Model with spikes: threshold crossings, optionally followed by a
// discontinuous reset (hybrid dynamical system).
type Spiker interface {
	Model
	SpikeRule() SpikeRule
	// Reset applies the after-spike map to x in place (e.g. V ← V_reset,
	// w ← w + b). Called only when SpikeRule().Resets is true.
	Reset(x []float64)
}

// StepLimiter is implemented by models whose fixed-step integration is only
// stable or accurate below a maximum step; Simulate refuses a larger RK4 step.
type StepLimiter interface {
	MaxStep() float64
}

// Input is a scalar drive I(t) of a Model.
type Input interface {
	At(t float64) float64
}

// InputFunc adapts a function to Input.
type InputFunc func(t float64) float64

// At returns f(t).
func (f InputFunc) At(t float64) float64 { return f(t) }

// Breaker is implemented by inputs (and models) with discontinuities in time;
// Simulate ends integration steps exactly at the returned times so no step
// straddles a jump.
type Breaker interface {
	Breaks() []float64
}

// Steps is a piecewise-constant input: Base before T[0], I[k] on
// [T[k], T[k+1]), and I[len-1] after the last time. T must be increasing.
type Steps struct {
	Base float64
	T    []float64
	I    []float64
}

// Const returns a constant input.
func Const(amp float64) Steps { return Steps{Base: amp} }

// Step returns an input that is 0 before onset and amp from onset on.
func Step(onset, amp float64) Steps {
	return Steps{T: []float64{onset}, I: []float64{amp}}
}

// Pulse returns an input that is amp on [on, off) and 0 elsewhere.
func Pulse(on, off, amp float64) Steps {
	return Steps{T: []float64{on, off}, I: []float64{amp, 0}}
}

// At returns the input at time t.
func (s Steps) At(t float64) float64 {
	k := sort.SearchFloat64s(s.T, t) // first index with T[k] >= t
	if k < len(s.T) && s.T[k] == t {
		return s.I[k]
	}
	if k == 0 {
		return s.Base
	}
	return s.I[k-1]
}

// Breaks returns the switching times.
func (s Steps) Breaks() []float64 { return s.T }

// Validate checks lengths, ordering and finiteness.
func (s Steps) Validate() error {
	var errs []error
	if len(s.T) != len(s.I) {
		errs = append(errs, fmt.Errorf("I: length %d differs from T length %d", len(s.I), len(s.T)))
	}
	if !isFiniteNum(s.Base) {
		errs = append(errs, fmt.Errorf("Base: must be finite, got %v", s.Base))
	}
	for k, t := range s.T {
		if !isFiniteNum(t) {
			errs = append(errs, fmt.Errorf("T[%d]: must be finite, got %v", k, t))
		} else if k > 0 && t <= s.T[k-1] {
			errs = append(errs, fmt.Errorf("T[%d]: %v not after T[%d] = %v", k, t, k-1, s.T[k-1]))
		}
	}
	for k, v := range s.I {
		if !isFiniteNum(v) {
			errs = append(errs, fmt.Errorf("I[%d]: must be finite, got %v", k, v))
		}
	}
	return errors.Join(errs...)
}

// Method selects the integrator used by Simulate.
type Method int

const (
	// RK45Method is adaptive Dormand–Prince 5(4) with dense output (default).
	RK45Method Method = iota
	// RK4Method is classical Runge–Kutta with fixed step SimOptions.Dt and
	// cubic Hermite dense output.
	RK4Method
)

// String returns the method's name.
func (m Method) String() string {
	switch m {
	case RK45Method:
		return "rk45"
	case RK4Method:
		return "rk4"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// SimOptions configures Simulate. The zero value is valid: adaptive RK45 with
// tolerances 1e-8, samples every 0.1 ms.
type SimOptions struct {
	Method   Method
	Dt       float64   // RK4: the fixed step (required). RK45: the largest step (0: unlimited).
	SampleDt float64   // output sample spacing; default 0.1 (ms)
	AbsTol   float64   // RK45 absolute tolerance; default 1e-8
	RelTol   float64   // RK45 relative tolerance; default 1e-8
	X0       []float64 // initial state; nil: the model's Init
	// SpikesOnly skips recording the state trajectory (spike times and the
	// final state are still returned), for fast f–I sweeps.
	SpikesOnly bool
	// SpikeTol is the time tolerance of threshold-crossing location; default 1e-9 ms.
	SpikeTol float64
}

// Validate reports every invalid option.
func (o SimOptions) Validate() error {
	var errs []error
	nonneg := func(name string, v float64) {
		if !isFiniteNum(v) || v < 0 {
			errs = append(errs, fmt.Errorf("%s: must be finite and ≥ 0, got %v", name, v))
		}
	}
	nonneg("Dt", o.Dt)
	nonneg("SampleDt", o.SampleDt)
	nonneg("AbsTol", o.AbsTol)
	nonneg("RelTol", o.RelTol)
	nonneg("SpikeTol", o.SpikeTol)
	switch o.Method {
	case RK45Method:
	case RK4Method:
		if o.Dt == 0 {
			errs = append(errs, errors.New("Dt: required (> 0) for RK4"))
		}
	default:
		errs = append(errs, fmt.Errorf("Method: unknown %d", int(o.Method)))
	}
	for i, v := range o.X0 {
		if !isFiniteNum(v) {
			errs = append(errs, fmt.Errorf("X0[%d]: must be finite, got %v", i, v))
		}
	}
	return errors.Join(errs...)
}

// SimStats counts integrator work in a Simulate call.
type SimStats struct {
	Steps    int // accepted steps
	Rejected int // rejected adaptive steps
	Evals    int // derivative evaluations
}

// Trajectory is the result of Simulate: the state variables sampled on a
// uniform grid, plus spike times located inside integration steps.
type Trajectory struct {
	Vars   []StateVar  // name and unit of every state variable
	T      []float64   // sample times: t0, t0+SampleDt, … ≤ t1
	X      [][]float64 // X[k][j] is variable k at T[j]
	Spikes []float64   // spike (threshold-crossing) times, increasing
	Final  []float64   // state at t1
	Stats  SimStats
}

// Var returns the samples of the named state variable, or nil.
func (tr *Trajectory) Var(name string) []float64 {
	for k, v := range tr.Vars {
		if v.Name == name {
			return tr.X[k]
		}
	}
	return nil
}

// ISIs returns the inter-spike intervals.
func (tr *Trajectory) ISIs() []float64 {
	if len(tr.Spikes) < 2 {
		return nil
	}
	out := make([]float64, len(tr.Spikes)-1)
	for i := range out {
		out[i] = tr.Spikes[i+1] - tr.Spikes[i]
	}
	return out
}

// ModelSystem adapts a Model and its Input to the System interface, so a model
// can be integrated directly with RK4 or RK45.
type ModelSystem struct {
	M  Model
	In Input // nil: zero input
	n  int
}

// NewModelSystem returns the System dx/dt = f(t, x, In(t)).
func NewModelSystem(m Model, in Input) *ModelSystem {
	return &ModelSystem{M: m, In: in, n: len(m.Vars())}
}

// Dim returns the number of state variables.
func (s *ModelSystem) Dim() int {
	if s.n == 0 {
		s.n = len(s.M.Vars())
	}
	return s.n
}

// Deriv evaluates the model at input In(t).
func (s *ModelSystem) Deriv(dxdt []float64, t float64, x []float64) {
	var i float64
	if s.In != nil {
		i = s.In.At(t)
	}
	s.M.Deriv(dxdt, t, x, i)
}

// segSystem is the System Simulate integrates over one segment [a, b] between
// breakpoints: the input is sampled as its right limit at a and its left
// limit at b, so a step of the input at a breakpoint never leaks into the
// neighbouring segment, and the spiking variable is frozen while refractory.
type segSystem struct {
	m          Model
	in         Input
	n          int
	segEnd     float64
	refractory bool
	clampVar   int
}

func (s *segSystem) Dim() int { return s.n }

func (s *segSystem) Deriv(dxdt []float64, t float64, x []float64) {
	var i float64
	if s.in != nil {
		tq := t
		if tq >= s.segEnd {
			tq = math.Nextafter(s.segEnd, math.Inf(-1))
		}
		i = s.in.At(tq)
	}
	s.m.Deriv(dxdt, t, x, i)
	if s.refractory {
		dxdt[s.clampVar] = 0
	}
}

// Simulate integrates model m driven by input in (nil: zero) from t0 to t1
// and returns the trajectory of every state variable sampled every
// opt.SampleDt, and the spike times if m is a Spiker. This is the single-cell
// "neural dynamics simulator".
//
// Spikes are located inside integration steps on the integrator's dense
// output (RK45: 4th-order Dormand–Prince continuous extension; RK4: cubic
// Hermite) by scanning four interior points and bisecting to opt.SpikeTol, so
// no crossing is missed because it fell between step ends. After a crossing a
// resetting model is reset at the crossing time and integration restarts
// there; breakpoints of the input (Breaker) and ends of refractory periods are
// hit exactly.
func Simulate(m Model, in Input, t0, t1 float64, opt SimOptions) (*Trajectory, error) {
	var errs []error
	if err := m.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("model: %w", err))
	}
	if err := opt.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("options: %w", err))
	}
	if !isFiniteNum(t0) || !isFiniteNum(t1) || t1 < t0 {
		errs = append(errs, fmt.Errorf("span: need finite t0 ≤ t1, got [%v, %v]", t0, t1))
	}
	vars := m.Vars()
	n := len(vars)
	if opt.X0 != nil && len(opt.X0) != n {
		errs = append(errs, fmt.Errorf("options: X0: length %d, model has %d state variables", len(opt.X0), n))
	}
	if v, ok := in.(interface{ Validate() error }); ok && in != nil {
		if err := v.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("input: %w", err))
		}
	}
	if lim, ok := m.(StepLimiter); ok && opt.Method == RK4Method && opt.Dt > lim.MaxStep() {
		errs = append(errs, fmt.Errorf("options: Dt: %v exceeds the model's stable step %v", opt.Dt, lim.MaxStep()))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if opt.SampleDt == 0 {
		opt.SampleDt = 0.1
	}
	if opt.AbsTol == 0 {
		opt.AbsTol = 1e-8
	}
	if opt.RelTol == 0 {
		opt.RelTol = 1e-8
	}
	if opt.SpikeTol == 0 {
		opt.SpikeTol = 1e-9
	}

	sp, spiking := m.(Spiker)
	var rule SpikeRule
	if spiking {
		rule = sp.SpikeRule()
		if rule.Var < 0 || rule.Var >= n {
			return nil, fmt.Errorf("model: SpikeRule.Var %d out of range [0, %d)", rule.Var, n)
		}
	}

	x := make([]float64, n)
	if opt.X0 != nil {
		copy(x, opt.X0)
	} else {
		m.Init(x)
	}
	var breaks []float64
	for _, src := range []any{in, m} {
		if b, ok := src.(Breaker); ok {
			for _, tb := range b.Breaks() {
				if tb > t0 && tb < t1 {
					breaks = append(breaks, tb)
				}
			}
		}
	}
	slices.Sort(breaks)
	breaks = slices.Compact(breaks)

	tr := &Trajectory{Vars: vars}
	if !opt.SpikesOnly {
		ns := int(math.Floor((t1-t0)/opt.SampleDt+1e-9)) + 1
		tr.T = make([]float64, 0, ns)
		tr.X = make([][]float64, n)
		for k := range tr.X {
			tr.X[k] = make([]float64, 0, ns)
		}
	}
	sampleIdx := 0
	sampleTime := func(j int) float64 { return math.Min(t1, t0+float64(j)*opt.SampleDt) }
	record := func(t float64, v func(k int) float64) {
		tr.T = append(tr.T, t)
		for k := range n {
			tr.X[k] = append(tr.X[k], v(k))
		}
	}
	if !opt.SpikesOnly {
		record(t0, func(k int) float64 { return x[k] })
		sampleIdx = 1
	}

	sys := &segSystem{m: m, in: in, n: n, clampVar: rule.Var}
	xPrev := make([]float64, n)
	f0 := make([]float64, n)
	f1 := make([]float64, n)
	var rk4 *RK4
	var rk45 *RK45
	if opt.Method == RK4Method {
		rk4 = NewRK4(n)
	} else {
		var err error
		rk45, err = NewRK45(n, RK45Options{AbsTol: opt.AbsTol, RelTol: opt.RelTol, MaxStep: opt.Dt})
		if err != nil {
			return nil, err
		}
	}

	t := t0
	refrUntil := math.Inf(-1)
	bi := 0
	rk4HaveF := false // f1 holds f at the current (t, x) for RK4
	const maxSteps = 50_000_000
	for steps := 0; t < t1; steps++ {
		if steps >= maxSteps {
			return nil, fmt.Errorf("%w: %d steps at t=%g", ErrTooManySteps, steps, t)
		}
		for bi < len(breaks) && breaks[bi] <= t {
			bi++
		}
		segEnd := t1
		if bi < len(breaks) {
			segEnd = breaks[bi]
		}
		sys.refractory = t < refrUntil
		if sys.refractory && refrUntil < segEnd {
			segEnd = refrUntil
		}
		sys.segEnd = segEnd
		copy(xPrev, x)

		var tNew, h float64
		if rk4 != nil {
			k := math.Floor((t-t0)/opt.Dt+1e-9) + 1
			next := t0 + k*opt.Dt
			h = math.Min(next, segEnd) - t
			if !rk4HaveF {
				sys.Deriv(rk4.k1, t, x)
				tr.Stats.Evals++
			} else {
				copy(rk4.k1, f1)
			}
			copy(f0, rk4.k1)
			rk4.stepFromK1(sys, t, x, h)
			tNew = t + h
			if tNew > segEnd || segEnd-tNew < 1e-12*math.Max(1, math.Abs(segEnd)) {
				tNew = segEnd
			}
			sys.Deriv(f1, tNew, x)
			tr.Stats.Evals += 4
			tr.Stats.Steps++
			rk4HaveF = true
			if !finiteSlice(x) {
				return nil, fmt.Errorf("%w at t=%g (RK4 step %g may be unstable for this model)", ErrNonFinite, t, h)
			}
		} else {
			var err error
			ev0 := rk45.Evals
			acc0, rej0 := rk45.Accepted, rk45.Rejected
			tNew, err = rk45.Advance(sys, t, x, segEnd)
			tr.Stats.Evals += rk45.Evals - ev0
			tr.Stats.Steps += rk45.Accepted - acc0
			tr.Stats.Rejected += rk45.Rejected - rej0
			if err != nil {
				return nil, err
			}
			h = tNew - t
		}
		tStart := t
		interp := func(k int, tq float64) float64 {
			if rk4 != nil {
				return Hermite(xPrev[k], f0[k], x[k], f1[k], h, (tq-tStart)/h)
			}
			return rk45.DenseAt(k, tq)
		}
		stepEnd := tNew
		reset := false
		if spiking && !sys.refractory && xPrev[rule.Var] < rule.Threshold {
			tc, ok := FindCrossing(func(tq float64) float64 { return interp(rule.Var, tq) }, tStart, tNew, rule.Threshold, 4, opt.SpikeTol)
			if ok {
				tr.Spikes = append(tr.Spikes, tc)
				if rule.Resets {
					stepEnd = tc
					reset = true
				}
			}
		}
		if !opt.SpikesOnly {
			for sampleIdx < cap(tr.T) {
				ts := sampleTime(sampleIdx)
				if ts > stepEnd {
					break
				}
				if ts == tNew && !reset {
					record(ts, func(k int) float64 { return x[k] })
				} else {
					record(ts, func(k int) float64 { return interp(k, ts) })
				}
				sampleIdx++
			}
		}
		if reset {
			for k := range n {
				if k == rule.Var {
					x[k] = rule.Threshold
				} else {
					x[k] = interp(k, stepEnd)
				}
			}
			sp.Reset(x)
			t = stepEnd
			if rule.Refractory > 0 {
				refrUntil = t + rule.Refractory
			}
			rk4HaveF = false
			if rk45 != nil {
				rk45.Restart()
			}
			continue
		}
		t = tNew
		if t == segEnd && segEnd < t1 {
			// Discontinuity in the input or the refractory clamp.
			rk4HaveF = false
			if rk45 != nil {
				rk45.Restart()
			}
		}
	}
	tr.Final = x
	return tr, nil
}

// UniformSteps returns a piecewise-constant noise input: a value drawn
// uniformly from [lo, hi) for every interval [t0 + k·dt, t0 + (k+1)·dt)
// up to t1, from a PCG generator seeded with seed (same seed, same input).
func UniformSteps(seed uint64, t0, t1, dt, lo, hi float64) (Steps, error) {
	var c paramCheck
	c.finite("t0", t0)
	c.finite("t1", t1)
	c.pos("dt", dt)
	c.finite("lo", lo)
	c.finite("hi", hi)
	if t1 < t0 {
		c.addf("t1: %v before t0 %v", t1, t0)
	}
	if hi < lo {
		c.addf("hi: %v below lo %v", hi, lo)
	}
	if err := c.err(); err != nil {
		return Steps{}, err
	}
	rng := rand.New(rand.NewPCG(seed, inputStream))
	n := int(math.Ceil((t1 - t0) / dt))
	s := Steps{T: make([]float64, n), I: make([]float64, n)}
	for k := range n {
		s.T[k] = t0 + float64(k)*dt
		s.I[k] = lo + (hi-lo)*rng.Float64()
	}
	return s, nil
}

// inputStream is the PCG stream constant for input noise.
const inputStream = 0x6d6f64656c5f696e // "model_in"
