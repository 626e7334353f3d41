package model

import (
	"errors"
	"fmt"
	"math"
)

// Passive dendrites as compartmental cables (SCIENCE §3). Units: length µm,
// time ms, voltage mV, current nA, conductance µS, capacitance nF.

// CableProps are the passive membrane and axial properties shared by a tree.
type CableProps struct {
	Rm float64 // specific membrane resistance, Ω·cm²
	Ri float64 // axial resistivity, Ω·cm
	Cm float64 // specific membrane capacitance, µF/cm²
	EL float64 // resting (leak reversal) potential, mV
}

// Validate reports every invalid field.
func (p CableProps) Validate() error {
	return errors.Join(argPos("Rm", p.Rm), argPos("Ri", p.Ri), argPos("Cm", p.Cm), argFinite("EL", p.EL))
}

// Lambda returns the length constant λ = √((R_m/R_i)(d/4)) in µm of a
// cylinder of diameter d µm (Rall 1959; Dayan & Abbott 2001 eq. 6.24).
func (p CableProps) Lambda(d float64) float64 {
	return math.Sqrt(p.Rm/p.Ri*(d*1e-4)/4) * 1e4
}

// TauM returns the membrane time constant τ_m = R_m C_m in ms.
func (p CableProps) TauM() float64 { return p.Rm * p.Cm * 1e-3 }

// RInf returns the input resistance (MΩ) of a semi-infinite cylinder of
// diameter d µm, R_∞ = (2/π) √(R_m R_i) d^{−3/2} (Rall 1959; Johnston & Wu
// 1995 eq. 4.5.29). A sealed cylinder of electrotonic length L = ℓ/λ has
// R_in = R_∞ coth L.
func (p CableProps) RInf(d float64) float64 {
	dc := d * 1e-4
	return 2 / math.Pi * math.Sqrt(p.Rm*p.Ri) / math.Pow(dc, 1.5) * 1e-6
}

// SomaSpike makes the soma an integrate-and-fire compartment (Lapicque 1907;
// Abbott 1999): when V_soma reaches Threshold after a step, a spike is
// recorded and V_soma is held at Reset for Refractory ms (by a clamp
// conductance of ClampG µS, default 10⁴). The dendrites stay passive.
type SomaSpike struct {
	Enabled    bool
	Threshold  float64 // mV
	Reset      float64 // mV
	Refractory float64 // ms, ≥ 0
	ClampG     float64 // µS; 0 selects 1e4
}

// CableTree is a branched passive cable discretised into isopotential
// compartments (Rall 1964; Segev & Burke 1998). Compartment i has a parent
// Parent[i] < i (−1 for the root, compartment 0): Hines (1984) ordering, so
// each implicit step is an O(N) elimination from the leaves to the root and
// a substitution back. Each compartment obeys
//
//	C_i dV_i/dt = −g_L,i (V_i − E_L) + Σ_j g_ij (V_j − V_i) + I_i
//
// with g_ij = 1/(r_i/2 + r_j/2), r the axial resistance of a compartment:
// the discrete cable equation λ² ∂²V/∂x² = τ ∂V/∂t + (V − E_L), whose
// branch points satisfy current balance Σ_i (1/r_i) ∂V_i/∂x_i = 0 exactly.
// Steps are backward Euler (unconditionally stable, first order). State is
// plain slices; Step does not allocate after Build (except to grow Spikes).
type CableTree struct {
	Props  CableProps
	Parent []int
	Length []float64 // µm (a soma's is its diameter)
	Diam   []float64 // µm
	Sphere []bool    // isopotential spherical soma: area πd², no axial resistance
	Soma   SomaSpike // applies to compartment 0

	V      []float64 // membrane potential, mV
	Inject []float64 // injected current per compartment, nA
	Time   float64   // ms
	Spikes []float64 // soma spike times, ms (appended)

	dt              float64
	gL, c, gAx      []float64 // leak, capacitance, axial conductance to the parent
	d, rhs          []float64
	refractoryUntil float64
	built           bool
}

// NewCableTree returns an empty tree with the given properties.
func NewCableTree(p CableProps) *CableTree { return &CableTree{Props: p} }

// AddSoma adds a spherical isopotential soma of diameter d µm as the root
// (compartment 0) and returns its index. It must be the first compartment.
func (c *CableTree) AddSoma(d float64) (int, error) {
	if len(c.Parent) != 0 {
		return 0, errors.New("soma: must be the first compartment")
	}
	if err := argPos("d", d); err != nil {
		return 0, err
	}
	c.push(-1, d, d, true)
	return 0, nil
}

// AddSection appends an unbranched cylinder of the given length and diameter
// (µm) split into n compartments, attached to compartment parent (−1 makes
// it the root of an empty tree), and returns the indices of its first and
// last compartments.
func (c *CableTree) AddSection(parent int, length, diam float64, n int) (first, last int, err error) {
	var errs []error
	switch {
	case parent < -1 || parent >= len(c.Parent):
		errs = append(errs, fmt.Errorf("parent: %d is not a compartment", parent))
	case parent == -1 && len(c.Parent) != 0:
		errs = append(errs, errors.New("parent: the tree already has a root"))
	}
	errs = append(errs, argPos("length", length), argPos("diam", diam))
	if n < 1 {
		errs = append(errs, fmt.Errorf("n: must be >= 1, got %d", n))
	}
	if err := errors.Join(errs...); err != nil {
		return 0, 0, err
	}
	first = len(c.Parent)
	for k := range n {
		p := parent
		if k > 0 {
			p = first + k - 1
		}
		c.push(p, length/float64(n), diam, false)
	}
	c.built = false
	return first, len(c.Parent) - 1, nil
}

func (c *CableTree) push(parent int, length, diam float64, sphere bool) {
	c.Parent = append(c.Parent, parent)
	c.Length = append(c.Length, length)
	c.Diam = append(c.Diam, diam)
	c.Sphere = append(c.Sphere, sphere)
	c.built = false
}

// Len returns the number of compartments.
func (c *CableTree) Len() int { return len(c.Parent) }

// Validate reports every invalid field.
func (c *CableTree) Validate() error {
	errs := []error{c.Props.Validate()}
	n := len(c.Parent)
	if n == 0 {
		errs = append(errs, errors.New("Parent: no compartments"))
	}
	if len(c.Length) != n || len(c.Diam) != n || len(c.Sphere) != n {
		errs = append(errs, errors.New("Length, Diam, Sphere: lengths differ from Parent"))
		return errors.Join(errs...)
	}
	for i, p := range c.Parent {
		if (i == 0 && p != -1) || (i > 0 && (p < 0 || p >= i)) {
			errs = append(errs, fmt.Errorf("Parent[%d]: %d breaks Hines ordering (need -1 for 0, else 0 <= parent < i)", i, p))
		}
		if !(c.Length[i] > 0) || !(c.Diam[i] > 0) || math.IsInf(c.Length[i]+c.Diam[i], 0) {
			errs = append(errs, fmt.Errorf("Length[%d], Diam[%d]: must be > 0 and finite", i, i))
		}
	}
	if c.Soma.Enabled {
		errs = append(errs, argFinite("Soma.Threshold", c.Soma.Threshold), argFinite("Soma.Reset", c.Soma.Reset),
			argNonNeg("Soma.Refractory", c.Soma.Refractory), argNonNeg("Soma.ClampG", c.Soma.ClampG))
		if c.Soma.Reset >= c.Soma.Threshold {
			errs = append(errs, fmt.Errorf("Soma.Reset: %g must be below Soma.Threshold %g", c.Soma.Reset, c.Soma.Threshold))
		}
	}
	return errors.Join(errs...)
}

// Build validates the tree, computes the compartment conductances for time
// step dt (ms) and sets V to E_L, Inject to 0 and Time to 0.
func (c *CableTree) Build(dt float64) error {
	if err := errors.Join(c.Validate(), argPos("dt", dt)); err != nil {
		return err
	}
	n := len(c.Parent)
	c.dt = dt
	c.gL, c.c, c.gAx = make([]float64, n), make([]float64, n), make([]float64, n)
	c.d, c.rhs = make([]float64, n), make([]float64, n)
	c.V, c.Inject = make([]float64, n), make([]float64, n)
	c.Spikes = c.Spikes[:0]
	c.Time, c.refractoryUntil = 0, math.Inf(-1)
	half := make([]float64, n) // half-compartment axial resistance, MΩ
	for i := range n {
		d, l := c.Diam[i]*1e-4, c.Length[i]*1e-4 // cm
		area := math.Pi * d * l
		if c.Sphere[i] {
			area = math.Pi * d * d
		} else {
			half[i] = c.Props.Ri * (l / 2) / (math.Pi * d * d / 4) * 1e-6
		}
		c.gL[i] = area / c.Props.Rm * 1e6 // S → µS
		c.c[i] = c.Props.Cm * area * 1e3  // µF → nF
		c.V[i] = c.Props.EL
		if p := c.Parent[i]; p >= 0 {
			c.gAx[i] = 1 / (half[i] + half[p])
		}
	}
	c.built = true
	return nil
}

// solve runs the Hines elimination on (diag, rhs) with off-diagonals −gAx.
func (c *CableTree) solve(v []float64) {
	d, rhs := c.d, c.rhs
	for i := len(d) - 1; i > 0; i-- {
		p, g := c.Parent[i], c.gAx[i]
		f := g / d[i]
		d[p] -= f * g
		rhs[p] += f * rhs[i]
	}
	v[0] = rhs[0] / d[0]
	for i := 1; i < len(d); i++ {
		v[i] = (rhs[i] + c.gAx[i]*v[c.Parent[i]]) / d[i]
	}
}

// assemble fills the diagonal and right-hand side for capacitance factor
// cf = 1/dt (0 for the steady state) and currents inj.
func (c *CableTree) assemble(cf float64, v, inj []float64) {
	el := c.Props.EL
	for i := range c.d {
		c.d[i] = cf*c.c[i] + c.gL[i]
		c.rhs[i] = cf*c.c[i]*v[i] + c.gL[i]*el + inj[i]
	}
	for i := 1; i < len(c.d); i++ {
		c.d[i] += c.gAx[i]
		c.d[c.Parent[i]] += c.gAx[i]
	}
}

// Step advances the tree by one backward-Euler step of dt with the currents
// in Inject, then applies the soma spike rule.
func (c *CableTree) Step() {
	if !c.built {
		panic("model: CableTree.Step before Build")
	}
	c.assemble(1/c.dt, c.V, c.Inject)
	c.Time += c.dt
	if c.Soma.Enabled && c.Time <= c.refractoryUntil+1e-9*c.dt {
		g := c.Soma.ClampG
		if g == 0 {
			g = 1e4
		}
		c.d[0] += g
		c.rhs[0] += g * c.Soma.Reset
	}
	c.solve(c.V)
	if c.Soma.Enabled && c.V[0] >= c.Soma.Threshold && c.Time > c.refractoryUntil {
		c.Spikes = append(c.Spikes, c.Time)
		c.V[0] = c.Soma.Reset
		c.refractoryUntil = c.Time + c.Soma.Refractory
	}
}

// SteadyStateTo fills dst with the steady-state potentials of the passive
// tree under constant currents inj (nA per compartment): the same O(N)
// elimination without the capacitive term. The soma spike rule is ignored.
func (c *CableTree) SteadyStateTo(dst, inj []float64) []float64 {
	if !c.built {
		panic("model: CableTree.SteadyStateTo before Build")
	}
	if len(dst) != c.Len() || len(inj) != c.Len() {
		panic("model: CableTree.SteadyStateTo length mismatch")
	}
	c.assemble(0, dst, inj)
	c.solve(dst)
	return dst
}

// AxialCurrent returns the current (nA) flowing from compartment i's parent
// into compartment i for potentials v: g_i (V_parent − V_i).
func (c *CableTree) AxialCurrent(v []float64, i int) float64 {
	return c.gAx[i] * (v[c.Parent[i]] - v[i])
}
