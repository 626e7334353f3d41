package model

import (
	"errors"
	"math"
)

// FitzHughNagumo is the FitzHugh (1961, Biophys J 1:445–466) – Nagumo et al.
// (1962, Proc IRE 50:2061) model of excitability, in FitzHugh's form
//
//	dv/dt = v − v³/3 − w + I
//	dw/dt = ε(v + a − b w)
//
// (equivalently ε(b'v − w + a') with b' = 1/b, a' = a/b after rescaling w's
// equation by b). The classic parameters are a = 0.7, b = 0.8, ε = 0.08.
// Time and v are dimensionless; a spike is an upward crossing of v = 1 (no
// reset). For 0 < b < 1 there is one fixed point (v*, w*), with
// w* = (v* + a)/b; its Jacobian [[1 − v*², −1], [ε, −εb]] has trace
// 1 − v*² − εb, so a Hopf bifurcation occurs where v*² = 1 − εb, at
//
//	I_H = −v* + v*³/3 + (v* + a)/b,  v* = ∓√(1 − εb)
//
// (FitzHugh 1961; Izhikevich 2007, §4.3). Between the two Hopf currents the
// rest state is unstable and the model oscillates on a limit cycle.
type FitzHughNagumo struct {
	A, B, Eps float64
	V0, W0    float64 // initial state for Init
}

// ClassicFitzHughNagumo returns a = 0.7, b = 0.8, ε = 0.08 (FitzHugh 1961),
// starting at the I = 0 rest state.
func ClassicFitzHughNagumo() FitzHughNagumo {
	p := FitzHughNagumo{A: 0.7, B: 0.8, Eps: 0.08}
	p.V0, p.W0 = p.FixedPoint(0)
	return p
}

// Vars returns [v, w].
func (p FitzHughNagumo) Vars() []StateVar { return []StateVar{{"v", ""}, {"w", ""}} }

// Init sets (V0, W0).
func (p FitzHughNagumo) Init(x []float64) { x[0], x[1] = p.V0, p.W0 }

// Deriv writes (dv/dt, dw/dt).
func (p FitzHughNagumo) Deriv(dxdt []float64, _ float64, x []float64, input float64) {
	v, w := x[0], x[1]
	dxdt[0] = v - v*v*v/3 - w + input
	dxdt[1] = p.Eps * (v + p.A - p.B*w)
}

// SpikeRule: upward crossing of v = 1, no reset.
func (p FitzHughNagumo) SpikeRule() SpikeRule { return SpikeRule{Var: 0, Threshold: 1} }

// Reset does nothing (the model produces its own downstroke).
func (p FitzHughNagumo) Reset([]float64) {}

// FixedPoint returns the fixed point for constant input I: the real root of
// v − v³/3 − (v + a)/b + I = 0 (unique for 0 < b < 1), found by Newton's
// method on this monotone cubic.
func (p FitzHughNagumo) FixedPoint(input float64) (v, w float64) {
	f := func(v float64) float64 { return v - v*v*v/3 - (v+p.A)/p.B + input }
	df := func(v float64) float64 { return 1 - v*v - 1/p.B }
	v = 0
	for range 100 {
		dv := f(v) / df(v)
		v -= dv
		if math.Abs(dv) < 1e-15*math.Max(1, math.Abs(v)) {
			break
		}
	}
	return v, (v + p.A) / p.B
}

// HopfCurrents returns the lower and upper Hopf bifurcation currents
// I_H = −v* + v*³/3 + (v* + a)/b at v* = −√(1 − εb) and +√(1 − εb). It
// fails unless εb < 1 (so the trace can vanish) and the determinant there,
// ε(1 − b(1 − v*²)) = ε(1 − εb²), is positive (a Hopf point, not a
// Bogdanov–Takens or saddle).
func (p FitzHughNagumo) HopfCurrents() (lo, hi float64, err error) {
	if err := p.Validate(); err != nil {
		return 0, 0, err
	}
	if p.Eps*p.B >= 1 || p.Eps*p.B*p.B >= 1 {
		return 0, 0, errors.New("FitzHughNagumo: no Hopf bifurcation for ε·b ≥ 1 or ε·b² ≥ 1")
	}
	vs := math.Sqrt(1 - p.Eps*p.B)
	ih := func(v float64) float64 { return -v + v*v*v/3 + (v+p.A)/p.B }
	return ih(-vs), ih(vs), nil
}

// MaxStep is the largest RK4 step for Simulate.
func (p FitzHughNagumo) MaxStep() float64 { return 0.5 }

// Validate reports every invalid parameter.
func (p FitzHughNagumo) Validate() error {
	var c paramCheck
	c.finite("A", p.A)
	c.pos("Eps", p.Eps)
	if !isFiniteNum(p.B) || p.B <= 0 || p.B >= 1 {
		c.addf("B: must be in (0, 1) for a unique fixed point, got %v", p.B)
	}
	c.finite("V0", p.V0)
	c.finite("W0", p.W0)
	return c.err()
}
