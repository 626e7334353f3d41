package model

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Phase-space analysis of ẋ = F(x) (SCIENCE §5; Strogatz 2015, Izhikevich
// 2007 ch. 3–6). Autonomous systems are Systems evaluated at t = 0.

// JacobianTo fills dst (n×n) with the central-difference Jacobian
// J_ij = (F_i(x + h e_j) − F_i(x − h e_j)) / 2h, h scaled by max(1, |x_j|).
// h ≤ 0 selects h = 1e-6 (error O(h²) ≈ 1e-12 relative).
func JacobianTo(dst *mat.Dense, sys System, x []float64, h float64) {
	n := sys.Dim()
	if r, c := dst.Dims(); r != n || c != n || len(x) != n {
		panic("model: JacobianTo shape mismatch")
	}
	if !(h > 0) {
		h = 1e-6
	}
	xp := slices.Clone(x)
	fp, fm := make([]float64, n), make([]float64, n)
	for j := range n {
		hj := h * max(1, math.Abs(x[j]))
		xp[j] = x[j] + hj
		sys.Deriv(fp, 0, xp)
		xp[j] = x[j] - hj
		sys.Deriv(fm, 0, xp)
		xp[j] = x[j]
		for i := range n {
			dst.Set(i, j, (fp[i]-fm[i])/(2*hj))
		}
	}
}

// Eigenvalues returns the eigenvalues of the square matrix a, sorted by
// decreasing real part (then decreasing imaginary part).
func Eigenvalues(a mat.Matrix) ([]complex128, error) {
	var e mat.Eigen
	if !e.Factorize(a, mat.EigenNone) {
		return nil, errors.New("model: eigen-decomposition failed")
	}
	ev := e.Values(nil)
	slices.SortFunc(ev, func(p, q complex128) int {
		if real(p) != real(q) {
			if real(p) > real(q) {
				return -1
			}
			return 1
		}
		switch {
		case imag(p) > imag(q):
			return -1
		case imag(p) < imag(q):
			return 1
		}
		return 0
	})
	return ev, nil
}

// FixedPoint is an equilibrium F(x*) = 0 with its linear stability: the
// eigenvalues λ of the Jacobian at x* (sorted by decreasing real part).
// Stable means max Re λ < 0 (Hartman–Grobman; marginal cases report false).
type FixedPoint struct {
	X      []float64
	Eigen  []complex128
	MaxRe  float64
	Stable bool
}

// Classify computes the Jacobian eigenvalues at x and returns the FixedPoint.
func Classify(sys System, x []float64) (FixedPoint, error) {
	n := sys.Dim()
	j := mat.NewDense(n, n, nil)
	JacobianTo(j, sys, x, 0)
	ev, err := Eigenvalues(j)
	if err != nil {
		return FixedPoint{}, err
	}
	return FixedPoint{X: slices.Clone(x), Eigen: ev, MaxRe: real(ev[0]), Stable: real(ev[0]) < 0}, nil
}

// Newton refines x in place towards a root of F by Newton's method with a
// numeric Jacobian and step halving (backtracking on ‖F‖∞), until ‖F‖∞ < tol.
// It returns the number of iterations, or an error if it does not converge
// within maxIter or the Jacobian is singular.
func Newton(sys System, x []float64, tol float64, maxIter int) (int, error) {
	n := sys.Dim()
	if len(x) != n {
		panic("model: Newton length mismatch")
	}
	f := make([]float64, n)
	ft := make([]float64, n)
	xt := make([]float64, n)
	jac := mat.NewDense(n, n, nil)
	dx := mat.NewVecDense(n, nil)
	norm := func(v []float64) float64 {
		var m float64
		for _, a := range v {
			if math.IsNaN(a) {
				return math.Inf(1)
			}
			m = max(m, math.Abs(a))
		}
		return m
	}
	sys.Deriv(f, 0, x)
	fn := norm(f)
	for it := range maxIter {
		if fn < tol {
			return it, nil
		}
		JacobianTo(jac, sys, x, 0)
		if err := dx.SolveVec(jac, mat.NewVecDense(n, f)); err != nil {
			return it, fmt.Errorf("model: singular Jacobian at %v: %w", x, err)
		}
		step := 1.0
		for range 30 {
			for i := range n {
				xt[i] = x[i] - step*dx.AtVec(i)
			}
			sys.Deriv(ft, 0, xt)
			if norm(ft) < fn || step < 1e-8 {
				break
			}
			step /= 2
		}
		copy(x, xt)
		copy(f, ft)
		fn = norm(f)
	}
	if fn < tol {
		return maxIter, nil
	}
	return maxIter, fmt.Errorf("model: Newton did not converge (‖F‖ = %g)", fn)
}

// FixedPointOptions configures FixedPoints.
type FixedPointOptions struct {
	Lo, Hi  []float64 // box searched, one bound per dimension
	Grid    int       // starts per dimension (Grid^n starts in all); default 8
	Tol     float64   // ‖F‖∞ at convergence; default 1e-10
	MaxIter int       // Newton iterations per start; default 50
	Merge   float64   // roots closer than this (∞-norm) are one; default 1e-6
}

// Validate reports every invalid option for a system of dimension n.
func (o FixedPointOptions) Validate(n int) error {
	var errs []error
	if len(o.Lo) != n || len(o.Hi) != n {
		errs = append(errs, fmt.Errorf("Lo, Hi: need %d bounds each, got %d and %d", n, len(o.Lo), len(o.Hi)))
	} else {
		for i := range n {
			if !(o.Hi[i] > o.Lo[i]) || math.IsInf(o.Hi[i]-o.Lo[i], 0) {
				errs = append(errs, fmt.Errorf("Hi[%d]: must be finite and > Lo[%d]", i, i))
			}
		}
	}
	if o.Grid < 0 {
		errs = append(errs, fmt.Errorf("Grid: must be >= 0, got %d", o.Grid))
	}
	if g := max(o.Grid, 8); math.Pow(float64(g), float64(n)) > 1e6 {
		errs = append(errs, fmt.Errorf("Grid: %d^%d starts exceed 10⁶", g, n))
	}
	errs = append(errs, argNonNeg("Tol", o.Tol), argNonNeg("Merge", o.Merge))
	if o.MaxIter < 0 {
		errs = append(errs, fmt.Errorf("MaxIter: must be >= 0, got %d", o.MaxIter))
	}
	return errors.Join(errs...)
}

// FixedPoints finds the equilibria of an autonomous system inside a box by
// Newton's method from a uniform grid of starts (cell centres), merges
// duplicates and classifies each by its Jacobian eigenvalues. Roots are
// returned sorted lexicographically by X. Starts that fail to converge or
// leave the box are dropped.
func FixedPoints(sys System, opt FixedPointOptions) ([]FixedPoint, error) {
	n := sys.Dim()
	if err := opt.Validate(n); err != nil {
		return nil, err
	}
	if opt.Grid == 0 {
		opt.Grid = 8
	}
	if opt.Tol == 0 {
		opt.Tol = 1e-10
	}
	if opt.MaxIter == 0 {
		opt.MaxIter = 50
	}
	if opt.Merge == 0 {
		opt.Merge = 1e-6
	}
	var roots [][]float64
	idx := make([]int, n)
	x := make([]float64, n)
	total := 1
	for range n {
		total *= opt.Grid
	}
	for s := range total {
		k := s
		for d := range n {
			idx[d] = k % opt.Grid
			k /= opt.Grid
			x[d] = opt.Lo[d] + (float64(idx[d])+0.5)*(opt.Hi[d]-opt.Lo[d])/float64(opt.Grid)
		}
		if _, err := Newton(sys, x, opt.Tol, opt.MaxIter); err != nil {
			continue
		}
		inside := true
		for d := range n {
			slack := 1e-9 * (opt.Hi[d] - opt.Lo[d])
			if x[d] < opt.Lo[d]-slack || x[d] > opt.Hi[d]+slack {
				inside = false
			}
		}
		if !inside {
			continue
		}
		dup := false
		for _, r := range roots {
			var m float64
			for d := range n {
				m = max(m, math.Abs(r[d]-x[d]))
			}
			if m < opt.Merge {
				dup = true
				break
			}
		}
		if !dup {
			roots = append(roots, slices.Clone(x))
		}
	}
	slices.SortFunc(roots, func(a, b []float64) int { return slices.Compare(a, b) })
	out := make([]FixedPoint, 0, len(roots))
	for _, r := range roots {
		fp, err := Classify(sys, r)
		if err != nil {
			return out, err
		}
		out = append(out, fp)
	}
	return out, nil
}

// Nullclines2D samples the nullclines of a planar system ẋ = F(x, y),
// ẏ = G(x, y) on the box [xlo, xhi] × [ylo, yhi]: on an nx × ny grid, every
// grid edge over which F (resp. G) changes sign is bisected to machine
// precision, giving points of the curve F = 0 (the x-nullcline) and G = 0
// (the y-nullcline), ordered by cell. Fixed points are their intersections.
func Nullclines2D(sys System, xlo, xhi, ylo, yhi float64, nx, ny int) (fNull, gNull [][2]float64, err error) {
	var errs []error
	if sys.Dim() != 2 {
		errs = append(errs, fmt.Errorf("sys: dimension %d, want 2", sys.Dim()))
	}
	if !(xhi > xlo) {
		errs = append(errs, errors.New("xhi: must be > xlo"))
	}
	if !(yhi > ylo) {
		errs = append(errs, errors.New("yhi: must be > ylo"))
	}
	if nx < 2 || ny < 2 {
		errs = append(errs, fmt.Errorf("nx, ny: must be >= 2, got %d, %d", nx, ny))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	d := make([]float64, 2)
	p := make([]float64, 2)
	eval := func(c int, x, y float64) float64 {
		p[0], p[1] = x, y
		sys.Deriv(d, 0, p)
		return d[c]
	}
	gx := func(i int) float64 { return xlo + (xhi-xlo)*float64(i)/float64(nx-1) }
	gy := func(j int) float64 { return ylo + (yhi-ylo)*float64(j)/float64(ny-1) }
	vals := [2][]float64{make([]float64, nx*ny), make([]float64, nx*ny)}
	for j := range ny {
		for i := range nx {
			p[0], p[1] = gx(i), gy(j)
			sys.Deriv(d, 0, p)
			vals[0][j*nx+i], vals[1][j*nx+i] = d[0], d[1]
		}
	}
	root := func(c int, ax, ay, bx, by, fa float64) [2]float64 {
		for range 60 {
			mx, my := 0.5*(ax+bx), 0.5*(ay+by)
			fm := eval(c, mx, my)
			if (fm > 0) == (fa > 0) && fm != 0 {
				ax, ay, fa = mx, my, fm
			} else {
				bx, by = mx, my
			}
		}
		return [2]float64{0.5 * (ax + bx), 0.5 * (ay + by)}
	}
	var out [2][][2]float64
	for c := range 2 {
		v := vals[c]
		for j := range ny {
			for i := range nx {
				a := v[j*nx+i]
				if a == 0 {
					out[c] = append(out[c], [2]float64{gx(i), gy(j)})
					continue
				}
				if i+1 < nx {
					if b := v[j*nx+i+1]; b != 0 && (a > 0) != (b > 0) {
						out[c] = append(out[c], root(c, gx(i), gy(j), gx(i+1), gy(j), a))
					}
				}
				if j+1 < ny {
					if b := v[(j+1)*nx+i]; b != 0 && (a > 0) != (b > 0) {
						out[c] = append(out[c], root(c, gx(i), gy(j), gx(i), gy(j+1), a))
					}
				}
			}
		}
	}
	return out[0], out[1], nil
}

// BranchPoint is one point of an equilibrium branch followed in a parameter.
type BranchPoint struct {
	Param float64
	FixedPoint
}

// ContinueBranch follows an equilibrium as the parameter steps through
// params (natural-parameter continuation): at each value Newton starts from
// the previous root (x0 for the first) and the root is classified. It stops
// with an error where Newton fails, e.g. at a fold where the branch ends,
// returning the points found so far.
func ContinueBranch(family func(p float64) System, params, x0 []float64, tol float64) ([]BranchPoint, error) {
	if err := argPos("tol", tol); err != nil {
		return nil, err
	}
	x := slices.Clone(x0)
	out := make([]BranchPoint, 0, len(params))
	for _, p := range params {
		sys := family(p)
		if _, err := Newton(sys, x, tol, 50); err != nil {
			return out, fmt.Errorf("param %g: %w", p, err)
		}
		fp, err := Classify(sys, x)
		if err != nil {
			return out, err
		}
		out = append(out, BranchPoint{Param: p, FixedPoint: fp})
	}
	return out, nil
}

// Crossing is a change of stability along a branch: max Re λ passes through
// zero at Param (linear interpolation between branch points) with
// transversality Slope = d(max Re λ)/dp ≠ 0. Hopf reports whether the
// critical eigenvalues are a complex pair, Im λ = ±Omega (a Hopf
// bifurcation; otherwise a real eigenvalue crosses: fold, transcritical or
// pitchfork).
type Crossing struct {
	Param float64
	Slope float64
	Hopf  bool
	Omega float64
}

// StabilityCrossings scans a branch for sign changes of max Re λ.
func StabilityCrossings(branch []BranchPoint) []Crossing {
	var out []Crossing
	for k := 1; k < len(branch); k++ {
		a, b := branch[k-1], branch[k]
		if (a.MaxRe < 0) == (b.MaxRe < 0) {
			continue
		}
		f := a.MaxRe / (a.MaxRe - b.MaxRe)
		c := Crossing{
			Param: a.Param + f*(b.Param-a.Param),
			Slope: (b.MaxRe - a.MaxRe) / (b.Param - a.Param),
		}
		wa, wb := math.Abs(imag(a.Eigen[0])), math.Abs(imag(b.Eigen[0]))
		if wa > 0 && wb > 0 {
			c.Hopf = true
			c.Omega = wa + f*(wb-wa)
		}
		out = append(out, c)
	}
	return out
}

// IteratedMap is a discrete-time system x_{n+1} = M(x_n). Apply must not
// retain or modify x.
type IteratedMap interface {
	Dim() int
	Apply(dst, x []float64)
}

// MapFunc adapts a function to IteratedMap.
type MapFunc struct {
	N int
	F func(dst, x []float64)
}

// Dim returns m.N.
func (m MapFunc) Dim() int { return m.N }

// Apply calls m.F.
func (m MapFunc) Apply(dst, x []float64) { m.F(dst, x) }

// LyapunovMap returns the largest Lyapunov exponent (per iteration, natural
// log) of a map by Benettin et al. (1980) two-trajectory renormalisation: a
// companion starts at distance d0 in a seeded random direction, both are
// iterated, and after every iteration the separation d is accumulated as
// ln(d/d0) and rescaled to d0:
//
//	λ = (1/n) Σ_k ln(d_k/d0)
//
// after `transient` discarded iterations. For the logistic map at r = 4,
// λ = ln 2 (Ulam & von Neumann 1947). x0 is not modified.
func LyapunovMap(m IteratedMap, x0 []float64, transient, iterations int, d0 float64, seed uint64) (float64, error) {
	n := m.Dim()
	var errs []error
	if len(x0) != n {
		errs = append(errs, fmt.Errorf("x0: length %d, want %d", len(x0), n))
	}
	if transient < 0 {
		errs = append(errs, fmt.Errorf("transient: must be >= 0, got %d", transient))
	}
	if iterations < 1 {
		errs = append(errs, fmt.Errorf("iterations: must be >= 1, got %d", iterations))
	}
	errs = append(errs, argPos("d0", d0))
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	x, y := slices.Clone(x0), make([]float64, n)
	tmp := make([]float64, n)
	for range transient {
		m.Apply(tmp, x)
		x, tmp = tmp, x
	}
	perturb(y, x, d0, seed)
	ty := make([]float64, n)
	var sum float64
	for range iterations {
		m.Apply(tmp, x)
		x, tmp = tmp, x
		m.Apply(ty, y)
		y, ty = ty, y
		d := renormalise(y, x, d0)
		if !(d > 0) || math.IsInf(d, 0) {
			return 0, fmt.Errorf("model: separation became %g (orbit left the domain or collapsed)", d)
		}
		sum += math.Log(d / d0)
	}
	return sum / float64(iterations), nil
}

// LyapunovOptions configures LyapunovFlow. Times are in the system's units.
type LyapunovOptions struct {
	Step      float64 // RK4 step h > 0
	Renorm    float64 // time between renormalisations (rounded to whole steps); default 1
	Transient float64 // time discarded before measuring (≥ 0)
	Duration  float64 // measuring time > 0
	D0        float64 // initial and renormalised separation; default 1e-8
	Seed      uint64  // direction of the initial separation
}

// Validate reports every invalid option.
func (o LyapunovOptions) Validate() error {
	errs := []error{argPos("Step", o.Step), argNonNeg("Renorm", o.Renorm), argNonNeg("Transient", o.Transient),
		argPos("Duration", o.Duration), argNonNeg("D0", o.D0)}
	if o.Step > 0 && o.Renorm > 0 && o.Renorm < o.Step {
		errs = append(errs, fmt.Errorf("Renorm: %g shorter than Step %g", o.Renorm, o.Step))
	}
	return errors.Join(errs...)
}

// LyapunovEstimate is a largest-Lyapunov-exponent estimate with the standard
// error of the mean over 10 equal batches of the measuring time (batch means;
// the local stretching rates are correlated, batches of many renormalisation
// intervals are nearly independent).
type LyapunovEstimate struct {
	Lambda float64 // per unit time
	StdErr float64
}

// LyapunovFlow returns the largest Lyapunov exponent λ = lim (1/t) ln(|δx(t)|/|δx(0)|)
// of a flow by Benettin et al. (1980) renormalisation: the reference and a
// companion at distance D0 are integrated with RK4; every Renorm time units
// the separation is logged and rescaled to D0. λ > 0 signals chaos (e.g.
// the random network of Sompolinsky, Crisanti & Sommers 1988 for g > 1);
// at a stable fixed point λ = max Re of the Jacobian eigenvalues. x0 is not
// modified.
func LyapunovFlow(sys System, x0 []float64, opt LyapunovOptions) (LyapunovEstimate, error) {
	if opt.Renorm == 0 {
		opt.Renorm = 1
	}
	if opt.D0 == 0 {
		opt.D0 = 1e-8
	}
	if err := opt.Validate(); err != nil {
		return LyapunovEstimate{}, err
	}
	n := sys.Dim()
	if len(x0) != n {
		return LyapunovEstimate{}, fmt.Errorf("x0: length %d, want %d", len(x0), n)
	}
	rk := NewRK4(n)
	x, y := slices.Clone(x0), make([]float64, n)
	t := 0.0
	for k := 0; float64(k)*opt.Step < opt.Transient; k++ {
		rk.Step(sys, t, x, opt.Step)
		t += opt.Step
	}
	perturb(y, x, opt.D0, opt.Seed)
	const batches = 10
	per := max(1, int(math.Round(opt.Renorm/opt.Step)))
	blocks := max(batches, int(math.Round(opt.Duration/(float64(per)*opt.Step))))
	blocks -= blocks % batches
	logs := make([]float64, batches)
	for b := range blocks {
		for range per {
			rk.Step(sys, t, x, opt.Step)
			rk.Step(sys, t, y, opt.Step)
			t += opt.Step
		}
		d := renormalise(y, x, opt.D0)
		if !(d > 0) || math.IsInf(d, 0) {
			return LyapunovEstimate{}, fmt.Errorf("model: separation became %g at t=%g", d, t)
		}
		logs[b*batches/blocks] += math.Log(d / opt.D0)
	}
	batchTime := float64(blocks/batches*per) * opt.Step
	for i := range logs {
		logs[i] /= batchTime
	}
	m, v := meanVariance(logs)
	return LyapunovEstimate{Lambda: m, StdErr: math.Sqrt(v / batches)}, nil
}

// perturb sets y = x + d0·u for a seeded random unit vector u.
func perturb(y, x []float64, d0 float64, seed uint64) {
	rng := newCodingRand(seed)
	var s float64
	for i := range y {
		y[i] = rng.NormFloat64()
		s += y[i] * y[i]
	}
	s = d0 / math.Sqrt(s)
	for i := range y {
		y[i] = x[i] + s*y[i]
	}
}

// renormalise returns |y − x| and moves y to x + d0 (y − x)/|y − x|.
func renormalise(y, x []float64, d0 float64) float64 {
	var s float64
	for i := range y {
		d := y[i] - x[i]
		s += d * d
	}
	d := math.Sqrt(s)
	if d > 0 {
		f := d0 / d
		for i := range y {
			y[i] = x[i] + (y[i]-x[i])*f
		}
	}
	return d
}
