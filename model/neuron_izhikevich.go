package model

import (
	"fmt"
	"math"
)

// Izhikevich is the simple spiking model of Izhikevich (2003, "Simple model of
// spiking neurons", IEEE Trans Neural Netw 14:1569–1572, eqs. 1–3):
//
//	dv/dt = 0.04v² + 5v + 140 − u + I
//	du/dt = a(bv − u)
//	v ≥ 30 mV: v ← c, u ← u + d
//
// with v in mV, t in ms and I in the paper's dimensionless current units.
// NewIzhikevich gives the parameters of the paper's Fig. 2 cortical classes.
type Izhikevich struct {
	A, B, C, D float64
	VPeak      float64 // spike cut-off, 30 mV in the paper
	V0         float64 // initial v for Init when the model has no resting state (u = b·V0)
}

// Izhikevich (2003) Fig. 2 parameter sets.
var izhikevichClasses = []struct {
	name       string
	a, b, c, d float64
}{
	{"RS", 0.02, 0.2, -65, 8},   // regular spiking (excitatory cortex)
	{"IB", 0.02, 0.2, -55, 4},   // intrinsically bursting
	{"CH", 0.02, 0.2, -50, 2},   // chattering
	{"FS", 0.1, 0.2, -65, 2},    // fast spiking (inhibitory)
	{"LTS", 0.02, 0.25, -65, 2}, // low-threshold spiking (inhibitory)
}

// IzhikevichClasses returns the names of the published classes: RS, IB, CH,
// FS, LTS.
func IzhikevichClasses() []string {
	out := make([]string, len(izhikevichClasses))
	for i, c := range izhikevichClasses {
		out[i] = c.name
	}
	return out
}

// NewIzhikevich returns the parameters of a class of Izhikevich (2003) Fig. 2:
// RS (a=0.02, b=0.2, c=−65, d=8), IB (0.02, 0.2, −55, 4), CH (0.02, 0.2, −50, 2),
// FS (0.1, 0.2, −65, 2) or LTS (0.02, 0.25, −65, 2).
func NewIzhikevich(class string) (Izhikevich, error) {
	for _, c := range izhikevichClasses {
		if c.name == class {
			return Izhikevich{A: c.a, B: c.b, C: c.c, D: c.d, VPeak: 30, V0: -65}, nil
		}
	}
	return Izhikevich{}, fmt.Errorf("class: unknown Izhikevich class %q (want RS, IB, CH, FS or LTS)", class)
}

// Vars returns [v (mV), u].
func (p Izhikevich) Vars() []StateVar { return []StateVar{{"v", "mV"}, {"u", ""}} }

// Rest returns the resting state with I = 0, the stable root of
// 0.04v² + (5 − b)v + 140 = 0 with u = bv, and whether it exists
// (it does for b < 5 − √22.4 ≈ 0.267, which covers all five classes: −70 mV
// for b = 0.2, −64.4 mV for b = 0.25).
func (p Izhikevich) Rest() (v, u float64, ok bool) {
	q := 5 - p.B
	disc := q*q - 4*0.04*140
	if disc < 0 {
		return p.V0, p.B * p.V0, false
	}
	v = (-q - math.Sqrt(disc)) / (2 * 0.04)
	return v, p.B * v, true
}

// Init sets the resting state (Rest), or v = V0, u = b·V0 if there is none.
func (p Izhikevich) Init(x []float64) { x[0], x[1], _ = p.Rest() }

// Deriv writes (dv/dt, du/dt).
func (p Izhikevich) Deriv(dxdt []float64, _ float64, x []float64, input float64) {
	v, u := x[0], x[1]
	dxdt[0] = 0.04*v*v + 5*v + 140 - u + input
	dxdt[1] = p.A * (p.B*v - u)
}

// SpikeRule: v crossing VPeak, reset, no refractory period.
func (p Izhikevich) SpikeRule() SpikeRule {
	return SpikeRule{Var: 0, Threshold: p.VPeak, Resets: true}
}

// Reset applies v ← c, u ← u + d.
func (p Izhikevich) Reset(x []float64) { x[0], x[1] = p.C, x[1]+p.D }

// MaxStep is the largest RK4 step for Simulate: 0.1 ms (the upstroke from
// threshold to 30 mV takes about 1 ms).
func (p Izhikevich) MaxStep() float64 { return 0.1 }

// Validate reports every invalid parameter.
func (p Izhikevich) Validate() error {
	var c paramCheck
	p.check(&c)
	return c.err()
}

func (p Izhikevich) check(c *paramCheck) {
	c.pos("A", p.A)
	c.finite("B", p.B)
	c.finite("C", p.C)
	c.finite("D", p.D)
	c.finite("VPeak", p.VPeak)
	c.finite("V0", p.V0)
	if isFiniteNum(p.C) && isFiniteNum(p.VPeak) && p.C >= p.VPeak {
		c.addf("C: reset %v must be below VPeak %v", p.C, p.VPeak)
	}
}

// izhMaxDt bounds the population step: forward Euler on v is accurate enough
// for the published firing patterns at 0.5 ms, the step Izhikevich (2003)
// used for v.
const izhMaxDt = 0.5

// IzhikevichStepper advances a population of Izhikevich neurons with
// per-neuron parameters by a fixed step dt using the semi-implicit Euler
// scheme of the paper's code (v first, then u from the new v):
//
//	v ← v + dt(0.04v² + 5v + 140 − u + I);  u ← u + dt·a(bv − u)
//	v ≥ VPeak: spike, v ← c, u ← u + d
//
// dt ≤ 0.5 ms. The scheme is first order: halving dt from 0.05 ms moves spike
// times by up to 0.6 ms over 200 ms of tonic firing (tests allow 1 ms); use
// Simulate for accurate single-cell traces. Parameters are held in a slice
// of plain structs (pointer-free).
type IzhikevichStepper struct {
	p  []Izhikevich
	dt float64
}

// NewIzhikevichStepper validates every neuron's parameters and dt; it copies
// params.
func NewIzhikevichStepper(params []Izhikevich, dt float64) (*IzhikevichStepper, error) {
	var c paramCheck
	if len(params) == 0 {
		c.addf("params: need at least one neuron")
	}
	for i, p := range params {
		var ci paramCheck
		p.check(&ci)
		if err := ci.err(); err != nil {
			c.addf("params[%d]: %w", i, err)
		}
	}
	c.step(dt, izhMaxDt, "Euler on the quadratic v equation")
	if err := c.err(); err != nil {
		return nil, err
	}
	return &IzhikevichStepper{p: append([]Izhikevich(nil), params...), dt: dt}, nil
}

// Len returns the number of neurons.
func (s *IzhikevichStepper) Len() int { return len(s.p) }

// Dt returns the step (ms).
func (s *IzhikevichStepper) Dt() float64 { return s.dt }

// Init sets every neuron to its resting state (see Izhikevich.Init).
func (s *IzhikevichStepper) Init(v, u []float64) {
	mustSameLen("IzhikevichStepper.Init", len(s.p), len(v), len(u))
	for i, p := range s.p {
		v[i], u[i], _ = p.Rest()
	}
}

// Step advances every neuron by dt with input in (held over the step);
// spiked receives the spike flags; it returns the spike count. No allocation.
func (s *IzhikevichStepper) Step(v, u, in []float64, spiked []bool) int {
	n := len(s.p)
	mustSameLen("IzhikevichStepper.Step", n, len(v), len(u), len(in), len(spiked))
	ps := s.p[:n]
	v, u, in, spiked = v[:n], u[:n], in[:n], spiked[:n]
	dt := s.dt
	count := 0
	for i := range ps {
		p := &ps[i]
		vi, ui := v[i], u[i]
		vi += dt * (0.04*vi*vi + 5*vi + 140 - ui + in[i])
		ui += dt * p.A * (p.B*vi - ui)
		fired := vi >= p.VPeak
		if fired {
			vi = p.C
			ui += p.D
			count++
		}
		v[i], u[i], spiked[i] = vi, ui, fired
	}
	return count
}
