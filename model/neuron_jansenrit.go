package model

import "math"

// JansenRit is the cortical-column neural mass model of Jansen & Rit (1995,
// Biol Cybern 73:357–366), after Lopes da Silva et al. (1974): pyramidal
// cells (PSP y0), excitatory (y1) and inhibitory (y2) interneurons, each
// synapse a second-order kernel h(t) = A a t e^(−at):
//
//	ÿ0 = A a S(y1 − y2) − 2a ẏ0 − a² y0
//	ÿ1 = A a [p + C2 S(C1 y0)] − 2a ẏ1 − a² y1
//	ÿ2 = B b C4 S(C3 y0) − 2b ẏ2 − b² y2
//	S(v) = 2e0 / (1 + e^(r(v0 − v)))
//
// with the paper's values A = 3.25 mV, B = 22 mV, a = 100 s⁻¹, b = 50 s⁻¹,
// C1 = C = 135, C2 = 0.8C, C3 = C4 = 0.25C, e0 = 2.5 s⁻¹, v0 = 6 mV,
// r = 0.56 mV⁻¹, and the input p a pulse density in s⁻¹ (the paper drives it
// with noise uniform in 120–320 s⁻¹). The EEG-like output is y1 − y2, which
// then shows the alpha rhythm (≈ 10 Hz; Jansen & Rit 1995, Fig. 3).
// Parameters are in the paper's units (mV, s⁻¹); time is in ms like every
// other model here (derivatives are scaled by 10⁻³). State order: y0, y1,
// y2 (mV), ẏ0, ẏ1, ẏ2 (mV/s).
type JansenRit struct {
	A, B           float64 // maximal excitatory / inhibitory PSP, mV
	Ra, Rb         float64 // inverse synaptic time constants a, b, s⁻¹
	C1, C2, C3, C4 float64 // connectivity constants
	E0, V0, R      float64 // sigmoid: half max rate e0 (s⁻¹), v0 (mV), slope r (mV⁻¹)
}

// JansenRit1995 returns the standard parameter set of Jansen & Rit (1995).
func JansenRit1995() JansenRit {
	const c = 135
	return JansenRit{A: 3.25, B: 22, Ra: 100, Rb: 50, C1: c, C2: 0.8 * c, C3: 0.25 * c, C4: 0.25 * c,
		E0: 2.5, V0: 6, R: 0.56}
}

// Sigmoid returns S(v) = 2e0/(1 + e^(r(v0 − v))) in s⁻¹.
func (p JansenRit) Sigmoid(v float64) float64 { return 2 * p.E0 / (1 + math.Exp(p.R*(p.V0-v))) }

// Vars returns the six state variables.
func (p JansenRit) Vars() []StateVar {
	return []StateVar{{"y0", "mV"}, {"y1", "mV"}, {"y2", "mV"}, {"y3", "mV/s"}, {"y4", "mV/s"}, {"y5", "mV/s"}}
}

// Init sets every variable to zero.
func (p JansenRit) Init(x []float64) {
	for i := range 6 {
		x[i] = 0
	}
}

// Deriv writes the derivatives per ms; input is p in s⁻¹.
func (p JansenRit) Deriv(dxdt []float64, _ float64, x []float64, input float64) {
	const perMs = 1e-3
	a, b := p.Ra, p.Rb
	y0, y1, y2, y3, y4, y5 := x[0], x[1], x[2], x[3], x[4], x[5]
	dxdt[0] = perMs * y3
	dxdt[1] = perMs * y4
	dxdt[2] = perMs * y5
	dxdt[3] = perMs * (p.A*a*p.Sigmoid(y1-y2) - 2*a*y3 - a*a*y0)
	dxdt[4] = perMs * (p.A*a*(input+p.C2*p.Sigmoid(p.C1*y0)) - 2*a*y4 - a*a*y1)
	dxdt[5] = perMs * (p.B*b*p.C4*p.Sigmoid(p.C3*y0) - 2*b*y5 - b*b*y2)
}

// Output returns the EEG-like signal y1 − y2 (mV) of a state.
func (p JansenRit) Output(x []float64) float64 { return x[1] - x[2] }

// MaxStep is the largest RK4 step for Simulate: 0.5 ms (time constants 10
// and 20 ms).
func (p JansenRit) MaxStep() float64 { return 0.5 }

// Validate reports every invalid parameter.
func (p JansenRit) Validate() error {
	var c paramCheck
	c.pos("A", p.A)
	c.pos("B", p.B)
	c.pos("Ra", p.Ra)
	c.pos("Rb", p.Rb)
	c.nonneg("C1", p.C1)
	c.nonneg("C2", p.C2)
	c.nonneg("C3", p.C3)
	c.nonneg("C4", p.C4)
	c.pos("E0", p.E0)
	c.finite("V0", p.V0)
	c.pos("R", p.R)
	return c.err()
}
