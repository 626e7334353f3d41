package model

import "math"

// RateUnit is a population (firing-rate) unit (Wilson & Cowan 1972; Dayan &
// Abbott 2001, §7.2, eq. 7.8):
//
//	τ dr/dt = −r + f(I)
//
// r in Hz, τ in ms, I in the gain function's input units. For constant I
// the rate relaxes exponentially to the fixed point r* = f(I) with time
// constant τ: r(t) = r* + (r(0) − r*)e^(−t/τ).
type RateUnit struct {
	Tau  float64                 // ms (> 0)
	Gain func(x float64) float64 // f; nil means threshold-linear max(0, x)
	R0   float64                 // initial rate for Init, Hz
}

// Vars returns [r (Hz)].
func (p RateUnit) Vars() []StateVar { return []StateVar{{"r", "Hz"}} }

// Init sets r = R0.
func (p RateUnit) Init(x []float64) { x[0] = p.R0 }

// F evaluates the gain function.
func (p RateUnit) F(x float64) float64 {
	if p.Gain == nil {
		return math.Max(0, x)
	}
	return p.Gain(x)
}

// Deriv writes dr/dt.
func (p RateUnit) Deriv(dxdt []float64, _ float64, x []float64, input float64) {
	dxdt[0] = (p.F(input) - x[0]) / p.Tau
}

// FixedPoint returns r* = f(I).
func (p RateUnit) FixedPoint(input float64) float64 { return p.F(input) }

// Exact returns r(t) for constant input from r(0) = r0.
func (p RateUnit) Exact(r0, input, t float64) float64 {
	return ExpRelax(r0, p.F(input), t, p.Tau)
}

// MaxStep is the largest RK4 step for Simulate: τ/5.
func (p RateUnit) MaxStep() float64 { return p.Tau / 5 }

// Validate reports every invalid parameter.
func (p RateUnit) Validate() error {
	var c paramCheck
	c.pos("Tau", p.Tau)
	c.finite("R0", p.R0)
	return c.err()
}
