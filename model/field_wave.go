package model

import (
	"errors"
	"fmt"
	"math"
)

// WaveConfig configures the damped nonlinear wave equation on a periodic 1-D
// (NY = 1) or 2-D grid of spacing Dx:
//
//	∂²u/∂t² + γ ∂u/∂t = c² ∇²u − α u + f(u)
//
// the form taken by neural fields with axonal propagation delays (Jirsa &
// Haken 1996; Robinson et al. 1997), here with a general local term f (nil
// for none). It is integrated by the explicit central-difference (leapfrog)
// scheme with centred damping:
//
//	(1 + γΔt/2) u⁺ = 2u − (1 − γΔt/2) u⁻ + Δt² (c² ∇²u − αu + f(u))
//
// second order in Δt and Dx. Its linear stability (von Neumann) needs
// Δt² (4 d c²/Dx² + α) ≤ 4 for d dimensions: c Δt/Dx ≤ 1/√d for α = 0 (the
// CFL condition).
type WaveConfig struct {
	NX, NY  int
	Dx, Dt  float64
	C       float64  // wave speed c > 0
	Damping float64  // γ ≥ 0
	Mass    float64  // α ≥ 0
	F       Reaction // one species, or nil
}

// CFLStep returns the largest stable Δt for the configuration's c, α, Dx and
// dimension.
func (c WaveConfig) CFLStep() float64 {
	dims := 1.0
	if c.NY > 1 {
		dims = 2
	}
	return 2 / math.Sqrt(4*dims*c.C*c.C/(c.Dx*c.Dx)+c.Mass)
}

// Validate reports every invalid field.
func (c WaveConfig) Validate() error {
	var errs []error
	if c.NX < 3 || c.NY < 1 || (c.NY > 1 && c.NY < 3) {
		errs = append(errs, fmt.Errorf("NX, NY: need NX >= 3 and NY = 1 or >= 3, got %d, %d", c.NX, c.NY))
	}
	errs = append(errs, argPos("Dx", c.Dx), argPos("Dt", c.Dt), argPos("C", c.C), argNonNeg("Damping", c.Damping),
		argNonNeg("Mass", c.Mass))
	if c.F != nil && c.F.Species() != 1 {
		errs = append(errs, fmt.Errorf("F: %d species, want 1", c.F.Species()))
	}
	if c.Dx > 0 && c.Dt > 0 && c.C > 0 && c.Mass >= 0 {
		if lim := c.CFLStep(); c.Dt > lim {
			errs = append(errs, fmt.Errorf("Dt: %g exceeds the CFL limit %g (c·Dt/Dx = %g)", c.Dt, lim, c.C*c.Dt/c.Dx))
		}
	}
	return errors.Join(errs...)
}

// Wave is a planned damped wave equation; U is the field at Time and Prev at
// Time − Dt. Step does not allocate. Not safe for concurrent use.
type Wave struct {
	WaveConfig
	U, Prev []float64
	Time    float64

	next   []float64
	lap    []float64
	s1, s2 []float64
}

// NewWave validates the configuration and allocates a zero field.
func NewWave(c WaveConfig) (*Wave, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	n := c.NX * c.NY
	return &Wave{WaveConfig: c, U: make([]float64, n), Prev: make([]float64, n), next: make([]float64, n),
		lap: make([]float64, n), s1: make([]float64, 1), s2: make([]float64, 1)}, nil
}

// accel fills w.lap with c²∇²u − αu + f(u).
func (w *Wave) accel(u []float64) {
	clear(w.lap)
	laplacian(w.lap, u, w.NX, w.NY, w.Dx, w.C*w.C, Periodic)
	for i, v := range u {
		a := w.lap[i] - w.Mass*v
		if w.F != nil {
			w.s1[0] = v
			w.F.React(w.s2, w.s1)
			a += w.s2[0]
		}
		w.lap[i] = a
	}
}

// SetState sets U = u0 with velocity v0 at Time = 0, starting the leapfrog
// with the second-order Taylor step u⁻ = u0 − Δt v0 + (Δt²/2)(ü − γ v0).
func (w *Wave) SetState(u0, v0 []float64) {
	if len(u0) != len(w.U) || len(v0) != len(w.U) {
		panic("model: Wave.SetState length mismatch")
	}
	copy(w.U, u0)
	w.accel(u0)
	dt := w.Dt
	for i := range w.U {
		acc := w.lap[i] - w.Damping*v0[i]
		w.Prev[i] = u0[i] - dt*v0[i] + 0.5*dt*dt*acc
	}
	w.Time = 0
}

// Step advances the field by Dt.
func (w *Wave) Step() {
	w.accel(w.U)
	g := 0.5 * w.Damping * w.Dt
	dt2 := w.Dt * w.Dt
	inv := 1 / (1 + g)
	for i, u := range w.U {
		w.next[i] = (2*u - (1-g)*w.Prev[i] + dt2*w.lap[i]) * inv
	}
	w.Prev, w.U, w.next = w.U, w.next, w.Prev
	w.Time += w.Dt
}

// Velocity fills dst with the centred estimate (U − Prev)/Dt at Time − Dt/2.
func (w *Wave) Velocity(dst []float64) []float64 {
	for i := range dst {
		dst[i] = (w.U[i] - w.Prev[i]) / w.Dt
	}
	return dst
}
