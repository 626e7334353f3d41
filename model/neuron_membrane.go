package model

import (
	"fmt"
	"math"
)

// Channel is one ohmic conductance of a Membrane.
type Channel struct {
	Name string  // label, e.g. "leak", "K"
	G    float64 // conductance, nS (≥ 0)
	E    float64 // reversal potential, mV
}

// Membrane is a single-compartment conductance membrane (Dayan & Abbott 2001,
// §5.4, eq. 5.6; Gerstner et al. 2014, §2.1):
//
//	C dV/dt = −Σ_i g_i (V − E_i) + I
//
// with C in pF, g_i in nS, E_i and V in mV, I in pA and t in ms. With constant
// conductances V relaxes exponentially to the steady state
// V∞ = (Σ g_i E_i + I)/Σ g_i with time constant τ = C/Σ g_i.
type Membrane struct {
	C        float64   // capacitance, pF (> 0)
	Channels []Channel // at least one, Σ G > 0
	V0       float64   // initial potential for Init, mV
}

// Vars returns [V (mV)].
func (m Membrane) Vars() []StateVar { return []StateVar{{"V", "mV"}} }

// Init sets V = V0.
func (m Membrane) Init(x []float64) { x[0] = m.V0 }

// Deriv writes dV/dt.
func (m Membrane) Deriv(dxdt []float64, _ float64, x []float64, input float64) {
	v := x[0]
	i := input
	for _, c := range m.Channels {
		i -= c.G * (v - c.E)
	}
	dxdt[0] = i / m.C
}

// Conductance returns Σ g_i (nS).
func (m Membrane) Conductance() float64 {
	var g float64
	for _, c := range m.Channels {
		g += c.G
	}
	return g
}

// SteadyState returns V∞ = (Σ g_i E_i + I)/Σ g_i for a constant input I (pA).
func (m Membrane) SteadyState(input float64) float64 {
	var g, ge float64
	for _, c := range m.Channels {
		g += c.G
		ge += c.G * c.E
	}
	return (ge + input) / g
}

// TimeConstant returns τ = C/Σ g_i (ms).
func (m Membrane) TimeConstant() float64 { return m.C / m.Conductance() }

// Exact returns V(t) for constant input from V(0) = v0 (exact solution).
func (m Membrane) Exact(v0, input, t float64) float64 {
	return ExpRelax(v0, m.SteadyState(input), t, m.TimeConstant())
}

// Validate reports every invalid parameter.
func (m Membrane) Validate() error {
	var c paramCheck
	c.pos("C", m.C)
	c.finite("V0", m.V0)
	if len(m.Channels) == 0 {
		c.addf("Channels: need at least one channel")
	}
	var g float64
	for i, ch := range m.Channels {
		c.nonneg(chName(i, "G"), ch.G)
		c.finite(chName(i, "E"), ch.E)
		g += ch.G
	}
	if len(m.Channels) > 0 && !(g > 0) && !math.IsNaN(g) {
		c.addf("Channels: total conductance must be > 0")
	}
	return c.err()
}

func chName(i int, f string) string {
	return fmt.Sprintf("Channels[%d].%s", i, f)
}
