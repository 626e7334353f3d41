package model

import (
	"errors"
	"fmt"
	"math"
)

// Reaction is the local kinetics f(u) of a reaction–diffusion or wave
// equation at one site: React writes f_s(u) for each of the Species()
// species into dst. It must not allocate or retain its arguments.
type Reaction interface {
	Species() int
	React(dst, u []float64)
}

// ReactionFunc adapts a function to Reaction.
type ReactionFunc struct {
	S int
	F func(dst, u []float64)
}

// Species returns r.S.
func (r ReactionFunc) Species() int { return r.S }

// React calls r.F.
func (r ReactionFunc) React(dst, u []float64) { r.F(dst, u) }

// FisherKPP is logistic growth f(u) = R u (1 − u/K) (Fisher 1937;
// Kolmogorov, Petrovsky & Piskunov 1937). With diffusion D, fronts into
// u = 0 travel at the minimal speed c* = 2√(DR) (Murray 2002 §13.2).
type FisherKPP struct{ R, K float64 }

// Species returns 1.
func (FisherKPP) Species() int { return 1 }

// React writes R u (1 − u/K).
func (f FisherKPP) React(dst, u []float64) { dst[0] = f.R * u[0] * (1 - u[0]/f.K) }

// Validate reports every invalid field.
func (f FisherKPP) Validate() error { return errors.Join(argPos("R", f.R), argPos("K", f.K)) }

// Schnakenberg is the two-species activator–substrate kinetics (Schnakenberg
// 1979; Murray 2003 §2.4, eq. 2.8):
//
//	f(u, v) = a − u + u²v,  g(u, v) = b − u²v
//
// with the homogeneous steady state u* = a + b, v* = b/(a + b)². With
// D_v/D_u large enough it forms Turing patterns (TuringGrowthRate).
type Schnakenberg struct{ A, B float64 }

// Species returns 2 (u, v).
func (Schnakenberg) Species() int { return 2 }

// React writes (a − u + u²v, b − u²v).
func (s Schnakenberg) React(dst, u []float64) {
	uuv := u[0] * u[0] * u[1]
	dst[0] = s.A - u[0] + uuv
	dst[1] = s.B - uuv
}

// Validate reports every invalid field.
func (s Schnakenberg) Validate() error {
	return errors.Join(argNonNeg("A", s.A), argPos("B", s.B))
}

// SteadyState returns (u*, v*) = (a + b, b/(a + b)²).
func (s Schnakenberg) SteadyState() (u, v float64) {
	u = s.A + s.B
	return u, s.B / (u * u)
}

// Jacobian returns the kinetics' Jacobian at the steady state:
// f_u = 2u*v* − 1, f_v = u*², g_u = −2u*v*, g_v = −u*².
func (s Schnakenberg) Jacobian() (fu, fv, gu, gv float64) {
	u, v := s.SteadyState()
	return 2*u*v - 1, u * u, -2 * u * v, -u * u
}

// TuringGrowthRate returns the growth rate of a perturbation of wavenumber k
// about a homogeneous steady state of a two-species system with kinetics
// Jacobian (fu, fv; gu, gv) and diffusion coefficients du, dv: the largest
// real part of the eigenvalues of J − k² diag(du, dv) (Turing 1952; Murray
// 2003 §2.3, eq. 2.23). Pass k² = (4/dx²) sin²(k dx/2) summed over the axes
// for the growth on a grid.
func TuringGrowthRate(fu, fv, gu, gv, du, dv, k2 float64) float64 {
	a, d := fu-du*k2, gv-dv*k2
	tr, det := a+d, a*d-fv*gu
	disc := tr*tr/4 - det
	if disc < 0 {
		return tr / 2
	}
	return tr/2 + math.Sqrt(disc)
}

// Boundary selects the boundary condition of a grid PDE.
type Boundary int

const (
	Periodic Boundary = iota // wrap around
	Neumann                  // zero flux through the outer cell faces
)

// RDConfig configures a reaction–diffusion system on a 1-D (NY = 1) or 2-D
// grid of NX × NY cells of side Dx:
//
//	∂u_s/∂t = D_s ∇²u_s + f_s(u)
//
// with the 3- or 5-point Laplacian, stepped by RK4 with step Dt (method of
// lines). RK4 is stable on the negative real axis down to −2.785/Dt, so the
// diffusive eigenvalue 4·d·D_max/Dx² (d dimensions) must stay inside it.
type RDConfig struct {
	NX, NY   int
	Dx, Dt   float64
	D        []float64 // per species, ≥ 0
	F        Reaction
	Boundary Boundary
}

// rk4RealStability is the extent of RK4's stability region on the negative
// real axis (Hairer & Wanner 1996, §IV.2): |λh| ≤ 2.785.
const rk4RealStability = 2.785

// Validate reports every invalid field.
func (c RDConfig) Validate() error {
	var errs []error
	if c.NX < 3 || c.NY < 1 || (c.NY > 1 && c.NY < 3) {
		errs = append(errs, fmt.Errorf("NX, NY: need NX >= 3 and NY = 1 or >= 3, got %d, %d", c.NX, c.NY))
	}
	errs = append(errs, argPos("Dx", c.Dx), argPos("Dt", c.Dt))
	if c.Boundary != Periodic && c.Boundary != Neumann {
		errs = append(errs, fmt.Errorf("Boundary: unknown %d", c.Boundary))
	}
	if c.F == nil {
		errs = append(errs, errors.New("F: no reaction"))
	} else if len(c.D) != c.F.Species() {
		errs = append(errs, fmt.Errorf("D: %d coefficients for %d species", len(c.D), c.F.Species()))
	}
	var dmax float64
	for s, d := range c.D {
		errs = append(errs, argNonNeg(fmt.Sprintf("D[%d]", s), d))
		dmax = max(dmax, d)
	}
	if v, ok := c.F.(interface{ Validate() error }); ok && c.F != nil {
		if err := v.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("F.%w", err))
		}
	}
	if c.Dx > 0 && c.Dt > 0 {
		dims := 1.0
		if c.NY > 1 {
			dims = 2
		}
		if lim := rk4RealStability * c.Dx * c.Dx / (4 * dims * dmax); dmax > 0 && c.Dt > lim {
			errs = append(errs, fmt.Errorf("Dt: %g exceeds the RK4 diffusion stability limit %g (2.785·Dx²/(4·d·D_max))", c.Dt, lim))
		}
	}
	return errors.Join(errs...)
}

// ReactionDiffusion is a planned reaction–diffusion system. State holds the
// species one after another, each row-major: State[s*NX*NY + j*NX + i].
// It is a System; Step does not allocate. Not safe for concurrent use.
type ReactionDiffusion struct {
	RDConfig
	State []float64
	Time  float64

	n          int
	site, rate []float64
	rk         *RK4
}

// NewReactionDiffusion validates the configuration and allocates the state
// (zero) and scratch.
func NewReactionDiffusion(c RDConfig) (*ReactionDiffusion, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s := c.F.Species()
	n := c.NX * c.NY
	return &ReactionDiffusion{RDConfig: c, n: n, State: make([]float64, s*n),
		site: make([]float64, s), rate: make([]float64, s), rk: NewRK4(s * n)}, nil
}

// Dim returns the state length.
func (r *ReactionDiffusion) Dim() int { return len(r.State) }

// Len returns the number of cells NX·NY.
func (r *ReactionDiffusion) Len() int { return r.n }

// SpeciesOf returns the slice of State holding species s.
func (r *ReactionDiffusion) SpeciesOf(s int) []float64 { return r.State[s*r.n : (s+1)*r.n] }

// neighbour returns the index of cell i+d along an axis of m cells under the
// boundary condition (Neumann: the ghost cell mirrors the edge cell).
func neighbour(i, d, m int, b Boundary) int {
	j := i + d
	if j >= 0 && j < m {
		return j
	}
	if b == Periodic {
		return (j + m) % m
	}
	return i
}

// laplacian adds coef·∇²u (5- or 3-point) to dst.
func laplacian(dst, u []float64, nx, ny int, dx, coef float64, b Boundary) {
	c := coef / (dx * dx)
	for j := range ny {
		for i := range nx {
			k := j*nx + i
			v := u[j*nx+neighbour(i, -1, nx, b)] + u[j*nx+neighbour(i, 1, nx, b)] - 2*u[k]
			if ny > 1 {
				v += u[neighbour(j, -1, ny, b)*nx+i] + u[neighbour(j, 1, ny, b)*nx+i] - 2*u[k]
			}
			dst[k] += c * v
		}
	}
}

// Deriv writes D ∇²u + f(u).
func (r *ReactionDiffusion) Deriv(dxdt []float64, _ float64, x []float64) {
	ns, n := len(r.site), r.n
	for k := range n {
		for s := range ns {
			r.site[s] = x[s*n+k]
		}
		r.F.React(r.rate, r.site)
		for s := range ns {
			dxdt[s*n+k] = r.rate[s]
		}
	}
	for s := range ns {
		if d := r.D[s]; d > 0 {
			laplacian(dxdt[s*n:(s+1)*n], x[s*n:(s+1)*n], r.NX, r.NY, r.Dx, d, r.Boundary)
		}
	}
}

// Step advances State by one RK4 step of Dt.
func (r *ReactionDiffusion) Step() {
	r.rk.Step(r, r.Time, r.State, r.Dt)
	r.Time += r.Dt
}
