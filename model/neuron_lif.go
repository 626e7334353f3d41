package model

import "math"

// LIF is the leaky integrate-and-fire neuron (Lapicque 1907; Dayan & Abbott
// 2001, §5.4; Gerstner et al. 2014, §1.3), current-based with optional tonic
// synaptic conductances (conductance-based):
//
//	C dV/dt = −g_L(V − E_L) − g_E(V − E_E) − g_I(V − E_I) + I
//	V ≥ V_th: spike, V ← V_reset, V held at V_reset for t_ref
//
// Units: C pF, conductances nS, potentials mV, I pA, t ms (so τ_m = C/g_L in
// ms and R = 1/g_L in GΩ, R·I in mV). With GE = GI = 0 it is the current-based
// LIF τ_m dV/dt = −(V − V_L) + R I. For constant input the membrane relaxes
// to V∞ = (g_L E_L + g_E E_E + g_I E_I + I)/g_tot with τ = C/g_tot, and the
// interspike interval is (Dayan & Abbott 2001, eq. 5.11)
//
//	T = t_ref + τ ln((V∞ − V_reset)/(V∞ − V_th))  for V∞ > V_th,
//
// which for V_reset = E_L, GE = GI = 0 is T = t_ref + τ_m ln(RI/(RI − (V_th − V_reset))).
// The population steppers LIFStepper (current-based) and LIFCondStepper
// (per-neuron synaptic conductances ge, gi with reversal EE, EI) use the same
// parameters.
type LIF struct {
	C      float64 // membrane capacitance, pF
	GL     float64 // leak conductance, nS
	EL     float64 // leak reversal (resting) potential, mV
	VTh    float64 // spike threshold, mV
	VReset float64 // reset potential, mV (< VTh)
	TRef   float64 // absolute refractory period, ms (≥ 0)
	GE, GI float64 // tonic excitatory and inhibitory conductances, nS (≥ 0)
	EE, EI float64 // excitatory and inhibitory reversal potentials, mV
}

// VogelsAbbottLIF returns the cell of the Vogels & Abbott (2005, J Neurosci
// 25:10786) COBA/CUBA benchmark networks (Brette et al. 2007, benchmarks 1
// and 2): τ_m = 20 ms (C = 200 pF, g_L = 10 nS), E_L = −60 mV, V_th = −50 mV,
// V_reset = −60 mV, t_ref = 5 ms, E_E = 0 mV, E_I = −80 mV.
func VogelsAbbottLIF() LIF {
	return LIF{C: 200, GL: 10, EL: -60, VTh: -50, VReset: -60, TRef: 5, EE: 0, EI: -80}
}

// Vars returns [V (mV)].
func (p LIF) Vars() []StateVar { return []StateVar{{"V", "mV"}} }

// Init sets V = E_L.
func (p LIF) Init(x []float64) { x[0] = p.EL }

// Deriv writes dV/dt.
func (p LIF) Deriv(dxdt []float64, _ float64, x []float64, input float64) {
	v := x[0]
	dxdt[0] = (-p.GL*(v-p.EL) - p.GE*(v-p.EE) - p.GI*(v-p.EI) + input) / p.C
}

// SpikeRule: V crossing V_th, reset, refractory t_ref.
func (p LIF) SpikeRule() SpikeRule {
	return SpikeRule{Var: 0, Threshold: p.VTh, Resets: true, Refractory: p.TRef}
}

// Reset sets V = V_reset.
func (p LIF) Reset(x []float64) { x[0] = p.VReset }

// TauM returns the membrane time constant C/g_tot (ms) including tonic
// conductances.
func (p LIF) TauM() float64 { return p.C / (p.GL + p.GE + p.GI) }

// VInf returns the steady-state potential for constant input I (pA).
func (p LIF) VInf(input float64) float64 {
	return (p.GL*p.EL + p.GE*p.EE + p.GI*p.EI + input) / (p.GL + p.GE + p.GI)
}

// Rheobase returns the smallest constant current (pA) that makes the neuron
// fire: the I at which V∞ = V_th.
func (p LIF) Rheobase() float64 {
	return (p.GL+p.GE+p.GI)*p.VTh - (p.GL*p.EL + p.GE*p.EE + p.GI*p.EI)
}

// Period returns the analytic interspike interval (ms) for constant input I,
// or +Inf below rheobase.
func (p LIF) Period(input float64) float64 {
	vinf := p.VInf(input)
	if vinf <= p.VTh {
		return math.Inf(1)
	}
	return p.TRef + p.TauM()*math.Log((vinf-p.VReset)/(vinf-p.VTh))
}

// Rate returns the analytic firing rate (Hz) for constant input I (pA):
// the f–I curve 1000/T.
func (p LIF) Rate(input float64) float64 {
	t := p.Period(input)
	if math.IsInf(t, 1) {
		return 0
	}
	return 1000 / t
}

// MaxStep is the largest fixed step for RK4 in Simulate: τ_m/10.
func (p LIF) MaxStep() float64 { return p.TauM() / 10 }

// Validate reports every invalid parameter.
func (p LIF) Validate() error {
	var c paramCheck
	p.check(&c)
	return c.err()
}

func (p LIF) check(c *paramCheck) {
	c.pos("C", p.C)
	c.pos("GL", p.GL)
	c.finite("EL", p.EL)
	c.finite("VTh", p.VTh)
	c.finite("VReset", p.VReset)
	c.nonneg("TRef", p.TRef)
	c.nonneg("GE", p.GE)
	c.nonneg("GI", p.GI)
	c.finite("EE", p.EE)
	c.finite("EI", p.EI)
	if isFiniteNum(p.VTh) && isFiniteNum(p.VReset) && p.VReset >= p.VTh {
		c.addf("VReset: %v must be below VTh %v", p.VReset, p.VTh)
	}
}

// lifMaxDt returns the largest population step: τ_m/10, so that threshold
// crossings are resolved (Rotter & Diesmann 1999 exact integration is stable
// for any step; the bound is one of accuracy) and the refractory period spans
// at least one step.
func (p LIF) lifMaxDt() float64 {
	m := p.C / p.GL / 10
	if p.TRef > 0 && p.TRef < m {
		m = p.TRef
	}
	return m
}

// LIFStepper advances a population of identical current-based LIF neurons by a
// fixed step dt with exact integration for input held constant over the step
// (Rotter & Diesmann 1999, Biol Cybern 81:381):
//
//	V ← V∞ + (V − V∞)·e^(−dt/τ),  V∞ = (g_L E_L + g_E E_E + g_I E_I + I)/g_tot
//
// When V reaches V_th inside a step, the crossing time is located exactly,
// t* = τ ln((V₀ − V∞)/(V_th − V∞)), and the refractory period runs from t*
// (continuous-time refractoriness with interpolated spike times, Hansel et
// al. 1998, Neural Comput 10:467; Morrison et al. 2007, Neural Comput
// 19:47), so spike timing errors do not accumulate: the reported spike is
// flagged in the step that contains it (late by < dt), and the dynamics
// after it are exact (halving dt moves the flags by at most one step). A
// neuron cannot fire twice in one step.
type LIFStepper struct {
	p                 LIF
	dt                float64
	decay, base, gInv float64
	tau               float64
	vth, vreset, tref float64
}

// NewLIFStepper validates p and dt (0 < dt ≤ min(τ_m/10, t_ref)) and
// precomputes the propagator.
func NewLIFStepper(p LIF, dt float64) (*LIFStepper, error) {
	var c paramCheck
	p.check(&c)
	if c.err() == nil {
		c.step(dt, p.lifMaxDt(), "τ_m/10 and t_ref")
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	g := p.GL + p.GE + p.GI
	return &LIFStepper{
		p: p, dt: dt,
		decay: math.Exp(-dt * g / p.C),
		base:  (p.GL*p.EL + p.GE*p.EE + p.GI*p.EI) / g,
		gInv:  1 / g,
		tau:   p.C / g,
		vth:   p.VTh, vreset: p.VReset, tref: p.TRef,
	}, nil
}

// Params returns the neuron parameters.
func (s *LIFStepper) Params() LIF { return s.p }

// Dt returns the step (ms).
func (s *LIFStepper) Dt() float64 { return s.dt }

// Init sets every neuron to rest (V = E_L, not refractory).
func (s *LIFStepper) Init(v, refr []float64) {
	mustSameLen("LIFStepper.Init", len(v), len(refr))
	for i := range v {
		v[i] = s.p.EL
		refr[i] = 0
	}
}

// lifAfterSpike returns V and the remaining refractory time at the end of a
// step, given the threshold crossing of the free relaxation from v0 toward
// vinf (time constant tau) that started `free` ms before the step's end.
func lifAfterSpike(v0, vinf, vth, vreset, tau, free, tref float64) (v, refr float64) {
	tStar := 0.0
	if v0 < vth {
		tStar = tau * math.Log((v0-vinf)/(vth-vinf))
	}
	rem := free - tStar // time since the spike
	if rem < tref {
		return vreset, tref - rem
	}
	return vinf + (vreset-vinf)*math.Exp(-(rem-tref)/tau), 0
}

// Step advances every neuron by dt. v (mV) and refr (remaining refractory
// time, ms) are the state; in (pA) is each neuron's input current over the
// step; spiked receives whether each neuron fired. It returns the number of
// spikes. All slices must have equal length (else it panics). No allocation.
func (s *LIFStepper) Step(v, refr, in []float64, spiked []bool) int {
	n := len(v)
	mustSameLen("LIFStepper.Step", n, len(refr), len(in), len(spiked))
	refr, in, spiked = refr[:n], in[:n], spiked[:n]
	decay, base, gInv, tau := s.decay, s.base, s.gInv, s.tau
	vth, vreset, tref, dt := s.vth, s.vreset, s.tref, s.dt
	count := 0
	for i := range v {
		r := refr[i]
		if r >= dt {
			refr[i] = r - dt
			v[i] = vreset
			spiked[i] = false
			continue
		}
		vi, d, free := v[i], decay, dt
		if r > 0 { // refractory period ends inside this step
			vi, d, free = vreset, math.Exp(-(dt-r)/tau), dt-r
			refr[i] = 0
		}
		vinf := base + in[i]*gInv
		vn := vinf + (vi-vinf)*d
		fired := vn >= vth
		if fired {
			vn, refr[i] = lifAfterSpike(vi, vinf, vth, vreset, tau, free, tref)
			count++
		}
		v[i] = vn
		spiked[i] = fired
	}
	return count
}

// LIFCondStepper advances a population of conductance-based LIF neurons
// (Vogels & Abbott 2005 COBA) by a fixed step dt:
//
//	C dV/dt = −g_L(V − E_L) − g_e(V − E_E) − g_i(V − E_I) + I
//
// with per-neuron synaptic conductances g_e, g_i (nS) held constant over the
// step (plus the parameters' tonic GE, GI) and the exact exponential update
// V ← V∞ + (V − V∞)·exp(−dt·g_tot/C), which is stable for any conductance.
// Spike timing and refractoriness are as in LIFStepper.
type LIFCondStepper struct {
	p           LIF
	dt, dtOverC float64
	vth, vreset float64
	tref        float64
	gl, gle     float64 // g_L + tonic, and Σ g E of leak + tonic
}

// NewLIFCondStepper validates p and dt (0 < dt ≤ min(τ_m/10, t_ref)).
func NewLIFCondStepper(p LIF, dt float64) (*LIFCondStepper, error) {
	var c paramCheck
	p.check(&c)
	if c.err() == nil {
		c.step(dt, p.lifMaxDt(), "τ_m/10 and t_ref")
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return &LIFCondStepper{
		p: p, dt: dt, dtOverC: dt / p.C,
		vth: p.VTh, vreset: p.VReset, tref: p.TRef,
		gl:  p.GL + p.GE + p.GI,
		gle: p.GL*p.EL + p.GE*p.EE + p.GI*p.EI,
	}, nil
}

// Params returns the neuron parameters.
func (s *LIFCondStepper) Params() LIF { return s.p }

// Dt returns the step (ms).
func (s *LIFCondStepper) Dt() float64 { return s.dt }

// Step advances every neuron by dt. ge, gi (nS, ≥ 0) are the synaptic
// conductances over the step, in (pA) an extra current; see LIFStepper.Step
// for the other arguments. No allocation.
func (s *LIFCondStepper) Step(v, refr, ge, gi, in []float64, spiked []bool) int {
	n := len(v)
	mustSameLen("LIFCondStepper.Step", n, len(refr), len(ge), len(gi), len(in), len(spiked))
	refr, ge, gi, in, spiked = refr[:n], ge[:n], gi[:n], in[:n], spiked[:n]
	ee, ei, c := s.p.EE, s.p.EI, s.p.C
	gl, gle, dtc := s.gl, s.gle, s.dtOverC
	vth, vreset, tref, dt := s.vth, s.vreset, s.tref, s.dt
	count := 0
	for i := range v {
		r := refr[i]
		if r >= dt {
			refr[i] = r - dt
			v[i] = vreset
			spiked[i] = false
			continue
		}
		gt := gl + ge[i] + gi[i]
		vinf := (gle + ge[i]*ee + gi[i]*ei + in[i]) / gt
		vi, free, x := v[i], dt, dtc*gt
		if r > 0 {
			vi, free, x = vreset, dt-r, (dt-r)*gt/c
			refr[i] = 0
		}
		vn := vinf + (vi-vinf)*math.Exp(-x)
		fired := vn >= vth
		if fired {
			vn, refr[i] = lifAfterSpike(vi, vinf, vth, vreset, c/gt, free, tref)
			count++
		}
		v[i] = vn
		spiked[i] = fired
	}
	return count
}
