package model

import "math"

// AdEx is the adaptive exponential integrate-and-fire neuron of Brette &
// Gerstner (2005, J Neurophysiol 94:3637–3642, eqs. 1–2):
//
//	C dV/dt = −g_L(V − E_L) + g_L Δ_T exp((V − V_T)/Δ_T) − w + I
//	τ_w dw/dt = a(V − E_L) − w
//	V ≥ V_peak: V ← V_r, w ← w + b
//
// Units: C pF, g_L and a nS, potentials mV, w, b and I pA, t ms. The resting
// state disappears in a saddle-node bifurcation when a constant I exceeds I_SN = (g_L + a)(V* − E_L − Δ_T), V* = V_T + Δ_T ln(1 + a/g_L)
// (Touboul & Brette 2008, Biol Cybern 99:319). The exponential is evaluated
// with its argument capped at 50 so trial stages of an integrator beyond
// V_peak stay finite.
type AdEx struct {
	C      float64 // pF
	GL     float64 // nS
	EL     float64 // mV
	VT     float64 // threshold slope factor midpoint, mV
	DeltaT float64 // slope factor, mV (> 0)
	TauW   float64 // adaptation time constant, ms
	A      float64 // subthreshold adaptation, nS
	B      float64 // spike-triggered adaptation, pA
	VReset float64 // mV
	VPeak  float64 // spike cut-off, mV
	TRef   float64 // refractory period, ms (≥ 0)
}

// BretteGerstnerAdEx returns the parameters Brette & Gerstner (2005) fitted to
// a Hodgkin–Huxley-type pyramidal cell model: C = 281 pF, g_L = 30 nS,
// E_L = −70.6 mV, V_T = −50.4 mV, Δ_T = 2 mV, τ_w = 144 ms, a = 4 nS,
// b = 80.5 pA, V_r = E_L. Spikes are cut at V_peak = V_T + 5Δ_T = −40.4 mV,
// the cut-off of the Brian reference scripts by the same group: above it the
// exponential term runs away within ≈ τ_m·e^(−5) ≈ 0.06 ms, so the cut-off
// barely moves spike times, while a higher cut-off makes the singular
// upswing unresolvable in double-precision time.
func BretteGerstnerAdEx() AdEx {
	return AdEx{C: 281, GL: 30, EL: -70.6, VT: -50.4, DeltaT: 2, TauW: 144, A: 4, B: 80.5,
		VReset: -70.6, VPeak: -40.4}
}

const adexExpCap = 50

// Vars returns [V (mV), w (pA)].
func (p AdEx) Vars() []StateVar { return []StateVar{{"V", "mV"}, {"w", "pA"}} }

// Init sets V = E_L, w = 0.
func (p AdEx) Init(x []float64) { x[0], x[1] = p.EL, 0 }

// Deriv writes (dV/dt, dw/dt).
func (p AdEx) Deriv(dxdt []float64, _ float64, x []float64, input float64) {
	v, w := x[0], x[1]
	dxdt[0] = (-p.GL*(v-p.EL) + p.GL*p.DeltaT*math.Exp(math.Min((v-p.VT)/p.DeltaT, adexExpCap)) - w + input) / p.C
	dxdt[1] = (p.A*(v-p.EL) - w) / p.TauW
}

// SpikeRule: V crossing V_peak, reset, refractory TRef.
func (p AdEx) SpikeRule() SpikeRule {
	return SpikeRule{Var: 0, Threshold: p.VPeak, Resets: true, Refractory: p.TRef}
}

// Reset applies V ← V_r, w ← w + b.
func (p AdEx) Reset(x []float64) { x[0], x[1] = p.VReset, x[1]+p.B }

// RheobaseSN returns the saddle-node current I_SN = (g_L + a)(V* − E_L − Δ_T),
// V* = V_T + Δ_T ln(1 + a/g_L), above which no resting state exists.
func (p AdEx) RheobaseSN() float64 {
	vs := p.VT + p.DeltaT*math.Log(1+p.A/p.GL)
	return (p.GL + p.A) * (vs - p.EL - p.DeltaT)
}

// MaxStep is the largest RK4 step for Simulate: 0.05 ms (the exponential
// upswing has time scale τ_m·Δ_T/(V − V_T) ≪ τ_m).
func (p AdEx) MaxStep() float64 { return 0.05 }

// Validate reports every invalid parameter.
func (p AdEx) Validate() error {
	var c paramCheck
	p.check(&c)
	return c.err()
}

func (p AdEx) check(c *paramCheck) {
	c.pos("C", p.C)
	c.pos("GL", p.GL)
	c.finite("EL", p.EL)
	c.finite("VT", p.VT)
	c.pos("DeltaT", p.DeltaT)
	c.pos("TauW", p.TauW)
	c.finite("A", p.A)
	c.finite("B", p.B)
	c.finite("VReset", p.VReset)
	c.finite("VPeak", p.VPeak)
	c.nonneg("TRef", p.TRef)
	if isFiniteNum(p.VPeak) && isFiniteNum(p.VT) && p.VPeak <= p.VT {
		c.addf("VPeak: %v must exceed VT %v", p.VPeak, p.VT)
	}
	if isFiniteNum(p.VPeak) && isFiniteNum(p.VReset) && p.VReset >= p.VPeak {
		c.addf("VReset: %v must be below VPeak %v", p.VReset, p.VPeak)
	}
}

// AdExStepper advances a population of identical AdEx neurons by a fixed step
// with forward Euler (the scheme of Brette et al. 2007 benchmark code), spike
// detection at V_peak at the end of a step, reset and refractory clamp as in
// LIFStepper. dt ≤ 0.1 ms and dt ≤ τ_m/20. Halving dt from 0.01 ms moves
// spike times by 0.05 ms over 200 ms (tests allow 0.2 ms); at 0.01 ms spike
// times stay within 1 % of the RK45 reference.
type AdExStepper struct {
	p             AdEx
	dt, halfDt    float64
	dtC, dtTauW   float64
	invDeltaT     float64
	gLDeltaT, cap float64
}

// NewAdExStepper validates p and dt.
func NewAdExStepper(p AdEx, dt float64) (*AdExStepper, error) {
	var c paramCheck
	p.check(&c)
	if c.err() == nil {
		c.step(dt, math.Min(0.1, p.C/p.GL/20), "Euler on the exponential upswing; 0.1 ms and τ_m/20")
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return &AdExStepper{p: p, dt: dt, halfDt: dt / 2, dtC: dt / p.C, dtTauW: dt / p.TauW,
		invDeltaT: 1 / p.DeltaT, gLDeltaT: p.GL * p.DeltaT, cap: adexExpCap}, nil
}

// Params returns the neuron parameters.
func (s *AdExStepper) Params() AdEx { return s.p }

// Dt returns the step (ms).
func (s *AdExStepper) Dt() float64 { return s.dt }

// Init sets V = E_L, w = 0, not refractory.
func (s *AdExStepper) Init(v, w, refr []float64) {
	mustSameLen("AdExStepper.Init", len(v), len(w), len(refr))
	for i := range v {
		v[i], w[i], refr[i] = s.p.EL, 0, 0
	}
}

// Step advances every neuron by dt with input current in (pA); see
// LIFStepper.Step. No allocation.
func (s *AdExStepper) Step(v, w, refr, in []float64, spiked []bool) int {
	n := len(v)
	mustSameLen("AdExStepper.Step", n, len(w), len(refr), len(in), len(spiked))
	w, refr, in, spiked = w[:n], refr[:n], in[:n], spiked[:n]
	p := &s.p
	gl, el, vt, a, b := p.GL, p.EL, p.VT, p.A, p.B
	vpeak, vreset, tref := p.VPeak, p.VReset, p.TRef
	dt, half, dtC, dtW, invD, glD, cp := s.dt, s.halfDt, s.dtC, s.dtTauW, s.invDeltaT, s.gLDeltaT, s.cap
	count := 0
	for i := range v {
		vi, wi := v[i], w[i]
		dw := dtW * (a*(vi-el) - wi)
		if r := refr[i]; r > half {
			refr[i] = r - dt
			v[i], w[i], spiked[i] = vreset, wi+dw, false
			continue
		}
		vi += dtC * (-gl*(vi-el) + glD*math.Exp(math.Min((vi-vt)*invD, cp)) - wi + in[i])
		wi += dw
		fired := vi >= vpeak
		if fired {
			vi = vreset
			wi += b
			refr[i] = tref
			count++
		}
		v[i], w[i], spiked[i] = vi, wi, fired
	}
	return count
}
