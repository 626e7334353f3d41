package model

import "math"

// HodgkinHuxley is the squid giant axon model of Hodgkin & Huxley (1952,
// J Physiol 117:500–544), in the modern sign convention with rest near −65 mV
// (Dayan & Abbott 2001, §5.6):
//
//	C dV/dt = −g_Na m³h (V − E_Na) − g_K n⁴ (V − E_K) − g_L (V − E_L) + I
//	dx/dt = φ[α_x(V)(1 − x) − β_x(V) x],  x ∈ {m, h, n},  φ = 3^((T − 6.3)/10)
//
//	α_m = 0.1(V + 40)/(1 − e^(−(V+40)/10))   β_m = 4 e^(−(V+65)/18)
//	α_h = 0.07 e^(−(V+65)/20)                β_h = 1/(1 + e^(−(V+35)/10))
//	α_n = 0.01(V + 55)/(1 − e^(−(V+55)/10))  β_n = 0.125 e^(−(V+65)/80)
//
// Units: V mV, t ms, C µF/cm², conductances mS/cm², I µA/cm². The rates
// are those of HH 1952 at 6.3 °C; Temp scales them with Q10 = 3. A spike is
// an upward crossing of VSpike (no reset).
type HodgkinHuxley struct {
	C           float64 // µF/cm²
	GNa, GK, GL float64 // mS/cm²
	ENa, EK, EL float64 // mV
	Temp        float64 // °C
	VSpike      float64 // spike detection level, mV
}

// HH1952 returns the standard parameters: C = 1 µF/cm², ḡ_Na = 120, ḡ_K = 36,
// g_L = 0.3 mS/cm², E_Na = 50, E_K = −77, E_L = −54.387 mV (Dayan & Abbott
// 2001, §5.6), T = 6.3 °C, spikes detected at 0 mV.
func HH1952() HodgkinHuxley {
	return HodgkinHuxley{C: 1, GNa: 120, GK: 36, GL: 0.3, ENa: 50, EK: -77, EL: -54.387, Temp: 6.3, VSpike: 0}
}

// hhLin returns x/(1 − e^(−x/y)), continuous through x = 0 (limit y).
func hhLin(x, y float64) float64 {
	u := x / y
	if math.Abs(u) < 1e-6 {
		return y * (1 + u/2)
	}
	return x / (1 - math.Exp(-u))
}

// HHRates returns the opening and closing rates (ms⁻¹ at 6.3 °C) of the
// m, h and n gates at potential v (mV).
func HHRates(v float64) (am, bm, ah, bh, an, bn float64) {
	am = 0.1 * hhLin(v+40, 10)
	bm = 4 * math.Exp(-(v+65)/18)
	ah = 0.07 * math.Exp(-(v+65)/20)
	bh = 1 / (1 + math.Exp(-(v+35)/10))
	an = 0.01 * hhLin(v+55, 10)
	bn = 0.125 * math.Exp(-(v+65)/80)
	return
}

// hhRatesFast computes the same rates as HHRates from two exponentials:
// e^(−(V+40)/10) serves α_m, β_h and α_n (shifted by constant factors), and
// B = e^(−(V+65)/720) gives β_n ∝ B⁹, α_h ∝ B³⁶ and β_m ∝ B⁴⁰ by repeated
// multiplication (relative error ~1e-14). Used by HHStepper's hot loop.
func hhRatesFast(v float64) (am, bm, ah, bh, an, bn float64) {
	const (
		ePlusHalf     = 1.6487212707001282  // e^0.5
		eMinusOneHalf = 0.22313016014842982 // e^−1.5
	)
	e10 := math.Exp(-(v + 40) / 10)
	if x := v + 40; math.Abs(x) < 1e-4 {
		am = 0.1 * hhLin(x, 10)
	} else {
		am = 0.1 * x / (1 - e10)
	}
	bh = 1 / (1 + e10*ePlusHalf)
	if x := v + 55; math.Abs(x) < 1e-4 {
		an = 0.01 * hhLin(x, 10)
	} else {
		an = 0.01 * x / (1 - e10*eMinusOneHalf)
	}
	b := math.Exp(-(v + 65) / 720)
	b2 := b * b
	b4 := b2 * b2
	b9 := b4 * b4 * b
	b36 := b9 * b9
	b36 *= b36
	bn = 0.125 * b9
	ah = 0.07 * b36
	bm = 4 * b36 * b4
	return
}

// Phi returns the temperature factor 3^((T − 6.3)/10).
func (p HodgkinHuxley) Phi() float64 { return math.Pow(3, (p.Temp-6.3)/10) }

// Vars returns [V (mV), m, h, n].
func (p HodgkinHuxley) Vars() []StateVar {
	return []StateVar{{"V", "mV"}, {"m", ""}, {"h", ""}, {"n", ""}}
}

// ionic returns the total ionic current (µA/cm², outward positive) with the
// gates at their steady state for V.
func (p HodgkinHuxley) ionicSteady(v float64) float64 {
	am, bm, ah, bh, an, bn := HHRates(v)
	m, h, n := am/(am+bm), ah/(ah+bh), an/(an+bn)
	return p.GNa*m*m*m*h*(v-p.ENa) + p.GK*n*n*n*n*(v-p.EK) + p.GL*(v-p.EL)
}

// Rest returns the resting potential with I = 0 (the root of the steady-state
// ionic current in [−90, −40] mV, by bisection) and the gates there.
func (p HodgkinHuxley) Rest() (v, m, h, n float64) {
	lo, hi := -90.0, -40.0
	for range 100 {
		mid := 0.5 * (lo + hi)
		if p.ionicSteady(mid) < 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	v = 0.5 * (lo + hi)
	am, bm, ah, bh, an, bn := HHRates(v)
	return v, am / (am + bm), ah / (ah + bh), an / (an + bn)
}

// Init sets the resting state.
func (p HodgkinHuxley) Init(x []float64) { x[0], x[1], x[2], x[3] = p.Rest() }

// Deriv writes (dV/dt, dm/dt, dh/dt, dn/dt).
func (p HodgkinHuxley) Deriv(dxdt []float64, _ float64, x []float64, input float64) {
	v, m, h, n := x[0], x[1], x[2], x[3]
	am, bm, ah, bh, an, bn := HHRates(v)
	phi := p.Phi()
	iion := p.GNa*m*m*m*h*(v-p.ENa) + p.GK*n*n*n*n*(v-p.EK) + p.GL*(v-p.EL)
	dxdt[0] = (input - iion) / p.C
	dxdt[1] = phi * (am*(1-m) - bm*m)
	dxdt[2] = phi * (ah*(1-h) - bh*h)
	dxdt[3] = phi * (an*(1-n) - bn*n)
}

// SpikeRule: upward crossing of VSpike, no reset.
func (p HodgkinHuxley) SpikeRule() SpikeRule { return SpikeRule{Var: 0, Threshold: p.VSpike} }

// Reset does nothing: the model repolarizes by itself.
func (p HodgkinHuxley) Reset([]float64) {}

// MaxStep is the largest RK4 step for Simulate: 0.05 ms/φ (RK4 on HH is
// unstable near 0.1 ms at 6.3 °C during the spike).
func (p HodgkinHuxley) MaxStep() float64 { return 0.05 / p.Phi() }

// Validate reports every invalid parameter.
func (p HodgkinHuxley) Validate() error {
	var c paramCheck
	p.check(&c)
	return c.err()
}

func (p HodgkinHuxley) check(c *paramCheck) {
	c.pos("C", p.C)
	c.nonneg("GNa", p.GNa)
	c.nonneg("GK", p.GK)
	c.pos("GL", p.GL)
	c.finite("ENa", p.ENa)
	c.finite("EK", p.EK)
	c.finite("EL", p.EL)
	c.finite("VSpike", p.VSpike)
	if !isFiniteNum(p.Temp) || p.Temp < -10 || p.Temp > 50 {
		c.addf("Temp: must be in [−10, 50] °C, got %v", p.Temp)
	}
}

// HHStepper advances a population of identical Hodgkin–Huxley neurons by a
// fixed step: the gates by the exact exponential (Rush & Larsen 1978, Biomed
// Eng 25:389) update x ← x∞ + (x − x∞)e^(−dt/τ_x) at the old V, then V by the
// exponential-Euler update of the conductance membrane with the new gates,
// V ← V∞ + (V − V∞)e^(−dt·g_tot/C). Both are unconditionally stable; the
// bound dt ≤ 0.05 ms/φ is for accuracy: at 0.025 ms spike times stay within
// 0.1 ms of the RK45 reference over 100 ms, and halving dt moves them by
// 0.06 ms. A spike is an upward crossing of VSpike within the step.
type HHStepper struct {
	p     HodgkinHuxley
	dt    float64
	phiDt float64
	dtC   float64
}

// NewHHStepper validates p and dt.
func NewHHStepper(p HodgkinHuxley, dt float64) (*HHStepper, error) {
	var c paramCheck
	p.check(&c)
	if c.err() == nil {
		c.step(dt, 0.05/p.Phi(), "0.05 ms/φ for spike accuracy with Rush–Larsen gates")
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return &HHStepper{p: p, dt: dt, phiDt: p.Phi() * dt, dtC: dt / p.C}, nil
}

// Params returns the neuron parameters.
func (s *HHStepper) Params() HodgkinHuxley { return s.p }

// Dt returns the step (ms).
func (s *HHStepper) Dt() float64 { return s.dt }

// Init sets every neuron to the resting state.
func (s *HHStepper) Init(v, m, h, n []float64) {
	mustSameLen("HHStepper.Init", len(v), len(m), len(h), len(n))
	v0, m0, h0, n0 := s.p.Rest()
	for i := range v {
		v[i], m[i], h[i], n[i] = v0, m0, h0, n0
	}
}

// Step advances every neuron by dt with input current in (µA/cm²); spiked
// receives the spike flags; it returns the spike count. No allocation.
func (s *HHStepper) Step(v, m, h, n, in []float64, spiked []bool) int {
	k := len(v)
	mustSameLen("HHStepper.Step", k, len(m), len(h), len(n), len(in), len(spiked))
	m, h, n, in, spiked = m[:k], h[:k], n[:k], in[:k], spiked[:k]
	p := &s.p
	gna, gk, gl, ena, ek, el := p.GNa, p.GK, p.GL, p.ENa, p.EK, p.EL
	phiDt, dtC, vs := s.phiDt, s.dtC, p.VSpike
	count := 0
	for i := range v {
		vi := v[i]
		am, bm, ah, bh, an, bn := hhRatesFast(vi)
		sm, sh, sn := am+bm, ah+bh, an+bn
		mi := am/sm + (m[i]-am/sm)*math.Exp(-phiDt*sm)
		hi := ah/sh + (h[i]-ah/sh)*math.Exp(-phiDt*sh)
		ni := an/sn + (n[i]-an/sn)*math.Exp(-phiDt*sn)
		gNa := gna * mi * mi * mi * hi
		n2 := ni * ni
		gK := gk * n2 * n2
		gt := gNa + gK + gl
		vinf := (gNa*ena + gK*ek + gl*el + in[i]) / gt
		vn := vinf + (vi-vinf)*math.Exp(-dtC*gt)
		fired := vi < vs && vn >= vs
		if fired {
			count++
		}
		v[i], m[i], h[i], n[i], spiked[i] = vn, mi, hi, ni, fired
	}
	return count
}
