package model

import (
	"errors"
	"fmt"
	"math"
)

// System is an autonomous or time-dependent ordinary differential equation
// dx/dt = f(t, x) of fixed dimension Dim.
//
// Deriv writes f(t, x) into dxdt (len Dim) and must not allocate, retain x or
// dxdt, or modify x. Integrators call Deriv from a single goroutine.
type System interface {
	Dim() int
	Deriv(dxdt []float64, t float64, x []float64)
}

// SystemFunc adapts a function to the System interface.
type SystemFunc struct {
	N int                                          // dimension
	F func(dxdt []float64, t float64, x []float64) // dx/dt = F(t, x)
}

// Dim returns s.N.
func (s SystemFunc) Dim() int { return s.N }

// Deriv calls s.F.
func (s SystemFunc) Deriv(dxdt []float64, t float64, x []float64) { s.F(dxdt, t, x) }

// ExpRelax is the exact solution of the linear relaxation τ dx/dt = −(x − x∞)
// over a step h with x∞ held constant:
//
//	x(t+h) = x∞ + (x(t) − x∞)·exp(−h/τ).
//
// It is unconditionally stable for any h ≥ 0 and τ > 0 (exponential Euler /
// Rush–Larsen update; Rush & Larsen 1978, IEEE Trans Biomed Eng 25:389). When
// many values share τ and h, precompute exp(−h/τ) and use ExpRelaxDecay.
func ExpRelax(x, xInf, h, tau float64) float64 {
	return xInf + (x-xInf)*math.Exp(-h/tau)
}

// ExpRelaxDecay is ExpRelax with a precomputed decay factor d = exp(−h/τ).
func ExpRelaxDecay(x, xInf, decay float64) float64 {
	return xInf + (x-xInf)*decay
}

// RK4 is the classical fourth-order Runge–Kutta method (Hairer, Nørsett &
// Wanner 1993, Solving ODE I, §II.1, Table 1.2):
//
//	k1 = f(t, x), k2 = f(t+h/2, x+h/2·k1), k3 = f(t+h/2, x+h/2·k2), k4 = f(t+h, x+h·k3)
//	x(t+h) = x + h/6·(k1 + 2k2 + 2k3 + k4)
//
// Local error O(h⁵), global error O(h⁴). The scratch space is owned by the RK4
// value, so a Step allocates nothing; an RK4 must not be used by two goroutines
// at once.
type RK4 struct {
	n                  int
	k1, k2, k3, k4, xt []float64
}

// NewRK4 returns an RK4 integrator for systems of dimension dim (> 0).
func NewRK4(dim int) *RK4 {
	if dim <= 0 {
		panic(fmt.Sprintf("model: NewRK4: dimension %d must be > 0", dim))
	}
	buf := make([]float64, 5*dim)
	return &RK4{
		n:  dim,
		k1: buf[0:dim:dim], k2: buf[dim : 2*dim : 2*dim], k3: buf[2*dim : 3*dim : 3*dim],
		k4: buf[3*dim : 4*dim : 4*dim], xt: buf[4*dim : 5*dim : 5*dim],
	}
}

// Dim returns the dimension the integrator was built for.
func (r *RK4) Dim() int { return r.n }

// Step advances x in place from t to t+h. It panics if sys.Dim() or len(x)
// differs from the integrator's dimension.
func (r *RK4) Step(sys System, t float64, x []float64, h float64) {
	r.check(sys, x)
	sys.Deriv(r.k1, t, x)
	r.stepFromK1(sys, t, x, h)
}

// Deriv0 returns the derivative f(t, x) at the start of the most recent Step
// (k1). The slice is owned by the integrator and valid until the next Step.
func (r *RK4) Deriv0() []float64 { return r.k1 }

func (r *RK4) check(sys System, x []float64) {
	if sys.Dim() != r.n || len(x) != r.n {
		panic(fmt.Sprintf("model: RK4 of dimension %d used with system of dimension %d and state of length %d", r.n, sys.Dim(), len(x)))
	}
}

// stepFromK1 performs the step assuming r.k1 already holds f(t, x).
func (r *RK4) stepFromK1(sys System, t float64, x []float64, h float64) {
	n := r.n
	k1, k2, k3, k4, xt := r.k1[:n], r.k2[:n], r.k3[:n], r.k4[:n], r.xt[:n]
	x = x[:n]
	hh := 0.5 * h
	for i := range n {
		xt[i] = x[i] + hh*k1[i]
	}
	sys.Deriv(k2, t+hh, xt)
	for i := range n {
		xt[i] = x[i] + hh*k2[i]
	}
	sys.Deriv(k3, t+hh, xt)
	for i := range n {
		xt[i] = x[i] + h*k3[i]
	}
	sys.Deriv(k4, t+h, xt)
	h6 := h / 6
	for i := range n {
		x[i] += h6 * (k1[i] + 2*k2[i] + 2*k3[i] + k4[i])
	}
}

// Hermite evaluates the cubic Hermite interpolant through (x0, f0) at θ = 0
// and (x1, f1) at θ = 1 of a step of length h, at fraction θ ∈ [0, 1]:
//
//	p(θ) = (1−θ)x0 + θx1 + θ(θ−1)[(1−2θ)(x1−x0) + (θ−1)h f0 + θ h f1]
//
// (Hairer, Nørsett & Wanner 1993, §II.6, eq. 6.7). It is third-order accurate
// and is the dense output used with RK4 for threshold location.
func Hermite(x0, f0, x1, f1, h, theta float64) float64 {
	d := x1 - x0
	return (1-theta)*x0 + theta*x1 + theta*(theta-1)*((1-2*theta)*d+(theta-1)*h*f0+theta*h*f1)
}

// Dormand–Prince 5(4) coefficients (Dormand & Prince 1980, J Comput Appl Math
// 6:19, Table 2; dense output of Hairer, Nørsett & Wanner 1993, §II.6, DOPRI5).
const (
	dpC2  = 1.0 / 5
	dpC3  = 3.0 / 10
	dpC4  = 4.0 / 5
	dpC5  = 8.0 / 9
	dpA21 = 1.0 / 5
	dpA31 = 3.0 / 40
	dpA32 = 9.0 / 40
	dpA41 = 44.0 / 45
	dpA42 = -56.0 / 15
	dpA43 = 32.0 / 9
	dpA51 = 19372.0 / 6561
	dpA52 = -25360.0 / 2187
	dpA53 = 64448.0 / 6561
	dpA54 = -212.0 / 729
	dpA61 = 9017.0 / 3168
	dpA62 = -355.0 / 33
	dpA63 = 46732.0 / 5247
	dpA64 = 49.0 / 176
	dpA65 = -5103.0 / 18656
	dpA71 = 35.0 / 384
	dpA73 = 500.0 / 1113
	dpA74 = 125.0 / 192
	dpA75 = -2187.0 / 6784
	dpA76 = 11.0 / 84
	dpE1  = 71.0 / 57600
	dpE3  = -71.0 / 16695
	dpE4  = 71.0 / 1920
	dpE5  = -17253.0 / 339200
	dpE6  = 22.0 / 525
	dpE7  = -1.0 / 40
	dpD1  = -12715105075.0 / 11282082432
	dpD3  = 87487479700.0 / 32700410799
	dpD4  = -10690763975.0 / 1880347072
	dpD5  = 701980252875.0 / 199316789632
	dpD6  = -1453857185.0 / 822651844
	dpD7  = 69997945.0 / 29380423
)

// RK45Options configures the adaptive Dormand–Prince integrator. Zero values
// select the defaults given per field.
type RK45Options struct {
	AbsTol      float64 // absolute error tolerance per component; default 1e-6
	RelTol      float64 // relative error tolerance per component; default 1e-6
	InitialStep float64 // first trial step; default: chosen from the tolerances and f(t0, x0) (Hairer's initial step heuristic)
	MaxStep     float64 // largest step; default: no limit beyond the integration span
	MinStep     float64 // smallest step before Advance fails with ErrStepTooSmall; default 1e-12 (relative to max(1,|t|))
	MaxSteps    int     // accepted+rejected steps allowed in one Integrate call; default 10_000_000
}

// Validate reports every invalid option.
func (o RK45Options) Validate() error {
	var errs []error
	chk := func(name string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			errs = append(errs, fmt.Errorf("%s: must be finite and ≥ 0, got %v", name, v))
		}
	}
	chk("AbsTol", o.AbsTol)
	chk("RelTol", o.RelTol)
	chk("InitialStep", o.InitialStep)
	chk("MaxStep", o.MaxStep)
	chk("MinStep", o.MinStep)
	if o.MaxSteps < 0 {
		errs = append(errs, fmt.Errorf("MaxSteps: must be ≥ 0, got %d", o.MaxSteps))
	}
	if o.MaxStep > 0 && o.MinStep > o.MaxStep {
		errs = append(errs, fmt.Errorf("MinStep: %v exceeds MaxStep %v", o.MinStep, o.MaxStep))
	}
	return errors.Join(errs...)
}

func (o RK45Options) withDefaults() RK45Options {
	if o.AbsTol == 0 {
		o.AbsTol = 1e-6
	}
	if o.RelTol == 0 {
		o.RelTol = 1e-6
	}
	if o.MinStep == 0 {
		o.MinStep = 1e-12
	}
	if o.MaxSteps == 0 {
		o.MaxSteps = 10_000_000
	}
	return o
}

// ErrStepTooSmall is returned when the adaptive step size falls below
// RK45Options.MinStep, usually because the solution blows up (e.g. an AdEx
// neuron with no spike threshold) or the system is stiff.
var ErrStepTooSmall = errors.New("model: adaptive step size below minimum")

// ErrTooManySteps is returned when an integration exceeds RK45Options.MaxSteps.
var ErrTooManySteps = errors.New("model: too many integration steps")

// ErrNonFinite is returned when an integrator meets a NaN or infinite state or
// derivative.
var ErrNonFinite = errors.New("model: non-finite state or derivative")

// RK45 is the adaptive explicit Runge–Kutta method of Dormand & Prince (1980,
// "A family of embedded Runge–Kutta formulae", J Comput Appl Math 6:19–26):
// seven stages (first-same-as-last), a fifth-order solution and an embedded
// fourth-order error estimate
//
//	err = sqrt( (1/n) Σ_i ( e_i / (atol + rtol·max(|x_i|, |x̂_i|)) )² )
//
// A step is accepted when err ≤ 1; the next step is h·min(5, max(0.2, 0.9·err^(−1/5)))
// (Hairer, Nørsett & Wanner 1993, §II.4, eq. 4.13). After each accepted step a
// fourth-order continuous extension (dense output, Hairer et al. §II.6) is
// available through Dense and DenseAt for locating threshold crossings and
// sampling at arbitrary times.
//
// Scratch is owned by the RK45 value: Advance allocates nothing. An RK45 must
// not be used by two goroutines at once.
type RK45 struct {
	opt RK45Options
	n   int

	k1, k2, k3, k4, k5, k6, k7 []float64
	x1, xt                     []float64
	rc                         [5][]float64 // dense output coefficients of the last accepted step

	h       float64 // proposed next step size (0: choose)
	fsalT   float64 // time at which k1 holds f(fsalT, fsalX)
	fsalOK  bool
	tOld    float64 // start of the last accepted step
	hOld    float64 // its length
	hasStep bool

	// Counters since construction.
	Accepted, Rejected, Evals int
}

// NewRK45 returns a Dormand–Prince integrator for systems of dimension dim.
func NewRK45(dim int, opt RK45Options) (*RK45, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("dim: must be > 0, got %d", dim)
	}
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	r := &RK45{opt: opt.withDefaults(), n: dim}
	buf := make([]float64, 14*dim)
	next := func() []float64 {
		s := buf[:dim:dim]
		buf = buf[dim:]
		return s
	}
	r.k1, r.k2, r.k3, r.k4, r.k5, r.k6, r.k7 = next(), next(), next(), next(), next(), next(), next()
	r.x1, r.xt = next(), next()
	for i := range r.rc {
		r.rc[i] = next()
	}
	return r, nil
}

// Dim returns the dimension the integrator was built for.
func (r *RK45) Dim() int { return r.n }

// Options returns the options in effect, defaults filled in.
func (r *RK45) Options() RK45Options { return r.opt }

// Restart forgets the cached derivative and the proposed step size. Call it
// after changing the state or the system discontinuously (a spike reset, a
// step in the input), so the next Advance starts afresh.
func (r *RK45) Restart() {
	r.fsalOK = false
	r.h = 0
}

// StepSize returns the step size the controller proposes for the next step.
func (r *RK45) StepSize() float64 { return r.h }

// LastStep returns the start time and length of the last accepted step, the
// interval over which Dense is valid.
func (r *RK45) LastStep() (t0, h float64) { return r.tOld, r.hOld }

func (r *RK45) wrms(x0, x1, e []float64) float64 {
	atol, rtol := r.opt.AbsTol, r.opt.RelTol
	var s float64
	for i := range r.n {
		sc := atol + rtol*math.Max(math.Abs(x0[i]), math.Abs(x1[i]))
		v := e[i] / sc
		s += v * v
	}
	return math.Sqrt(s / float64(r.n))
}

// initialStep implements the starting step heuristic of Hairer, Nørsett &
// Wanner (1993, §II.4, "Starting step size"), with order p = 5.
func (r *RK45) initialStep(sys System, t float64, x []float64, dir, span float64) float64 {
	n := r.n
	var d0, d1 float64
	atol, rtol := r.opt.AbsTol, r.opt.RelTol
	for i := range n {
		sc := atol + rtol*math.Abs(x[i])
		d0 += (x[i] / sc) * (x[i] / sc)
		d1 += (r.k1[i] / sc) * (r.k1[i] / sc)
	}
	d0, d1 = math.Sqrt(d0/float64(n)), math.Sqrt(d1/float64(n))
	h0 := 1e-6
	if d0 >= 1e-5 && d1 >= 1e-5 {
		h0 = 0.01 * d0 / d1
	}
	h0 = math.Min(h0, span)
	for i := range n {
		r.xt[i] = x[i] + dir*h0*r.k1[i]
	}
	sys.Deriv(r.k2, t+dir*h0, r.xt)
	r.Evals++
	var d2 float64
	for i := range n {
		sc := atol + rtol*math.Abs(x[i])
		v := (r.k2[i] - r.k1[i]) / sc
		d2 += v * v
	}
	d2 = math.Sqrt(d2/float64(n)) / h0
	var h1 float64
	if m := math.Max(d1, d2); m <= 1e-15 {
		h1 = math.Max(1e-6, h0*1e-3)
	} else {
		h1 = math.Pow(0.01/m, 1.0/5)
	}
	h := math.Min(100*h0, h1)
	if !(h > 0) || math.IsNaN(h) {
		h = 1e-6
	}
	return h
}

// Advance takes one accepted adaptive step from (t, x) toward tEnd, never
// stepping past tEnd, and updates x in place. It returns the new time. After
// it returns, Dense/DenseAt interpolate the solution anywhere in the step just
// taken. Errors: ErrStepTooSmall, ErrNonFinite.
func (r *RK45) Advance(sys System, t float64, x []float64, tEnd float64) (float64, error) {
	if sys.Dim() != r.n || len(x) != r.n {
		panic(fmt.Sprintf("model: RK45 of dimension %d used with system of dimension %d and state of length %d", r.n, sys.Dim(), len(x)))
	}
	if tEnd == t {
		return t, nil
	}
	dir := 1.0
	if tEnd < t {
		dir = -1
	}
	span := math.Abs(tEnd - t)
	n := r.n
	x = x[:n]
	// First-same-as-last: k1 is valid if the caller continues from the
	// end of the previous step with an unchanged state.
	if !r.fsalOK || r.fsalT != t || !equalSlices(r.x1, x) {
		sys.Deriv(r.k1, t, x)
		r.Evals++
		r.fsalOK = false
	}
	if !finiteSlice(x) || !finiteSlice(r.k1) {
		return t, ErrNonFinite
	}
	h := r.h
	if h <= 0 {
		h = r.initialStep(sys, t, x, dir, span)
	}
	if r.opt.MaxStep > 0 {
		h = math.Min(h, r.opt.MaxStep)
	}
	minStep := r.opt.MinStep * math.Max(1, math.Abs(t))
	for {
		last := false
		if h >= span {
			h = span
			last = true
		}
		if h < minStep && !last {
			return t, fmt.Errorf("%w at t=%g: h=%g", ErrStepTooSmall, t, h)
		}
		hs := dir * h
		r.stages(sys, t, x, hs)
		// Error estimate.
		for i := range n {
			r.xt[i] = hs * (dpE1*r.k1[i] + dpE3*r.k3[i] + dpE4*r.k4[i] + dpE5*r.k5[i] + dpE6*r.k6[i] + dpE7*r.k7[i])
		}
		err := r.wrms(x, r.x1, r.xt)
		if math.IsNaN(err) || math.IsInf(err, 0) {
			// Non-finite trial: shrink hard and retry.
			r.Rejected++
			h *= 0.1
			if h < minStep {
				return t, fmt.Errorf("%w at t=%g", ErrNonFinite, t)
			}
			continue
		}
		fac := 5.0
		if err > 0 {
			fac = math.Min(5, math.Max(0.2, 0.9*math.Pow(err, -0.2)))
		}
		if err <= 1 {
			r.Accepted++
			// Dense output coefficients.
			for i := range n {
				ydiff := r.x1[i] - x[i]
				bspl := hs*r.k1[i] - ydiff
				r.rc[0][i] = x[i]
				r.rc[1][i] = ydiff
				r.rc[2][i] = bspl
				r.rc[3][i] = ydiff - hs*r.k7[i] - bspl
				r.rc[4][i] = hs * (dpD1*r.k1[i] + dpD3*r.k3[i] + dpD4*r.k4[i] + dpD5*r.k5[i] + dpD6*r.k6[i] + dpD7*r.k7[i])
			}
			r.tOld, r.hOld, r.hasStep = t, hs, true
			tNew := t + hs
			if last {
				tNew = tEnd
			}
			copy(x, r.x1)
			copy(r.k1, r.k7)
			r.fsalT, r.fsalOK = tNew, true
			hn := h * fac
			if last {
				// Do not let a short final step shrink the proposal.
				hn = math.Max(hn, r.h)
			}
			if r.opt.MaxStep > 0 {
				hn = math.Min(hn, r.opt.MaxStep)
			}
			r.h = hn
			return tNew, nil
		}
		r.Rejected++
		h *= math.Min(1, fac)
	}
}

func (r *RK45) stages(sys System, t float64, x []float64, h float64) {
	n := r.n
	k1, k2, k3, k4, k5, k6, k7, xt, x1 := r.k1[:n], r.k2[:n], r.k3[:n], r.k4[:n], r.k5[:n], r.k6[:n], r.k7[:n], r.xt[:n], r.x1[:n]
	for i := range n {
		xt[i] = x[i] + h*dpA21*k1[i]
	}
	sys.Deriv(k2, t+dpC2*h, xt)
	for i := range n {
		xt[i] = x[i] + h*(dpA31*k1[i]+dpA32*k2[i])
	}
	sys.Deriv(k3, t+dpC3*h, xt)
	for i := range n {
		xt[i] = x[i] + h*(dpA41*k1[i]+dpA42*k2[i]+dpA43*k3[i])
	}
	sys.Deriv(k4, t+dpC4*h, xt)
	for i := range n {
		xt[i] = x[i] + h*(dpA51*k1[i]+dpA52*k2[i]+dpA53*k3[i]+dpA54*k4[i])
	}
	sys.Deriv(k5, t+dpC5*h, xt)
	for i := range n {
		xt[i] = x[i] + h*(dpA61*k1[i]+dpA62*k2[i]+dpA63*k3[i]+dpA64*k4[i]+dpA65*k5[i])
	}
	sys.Deriv(k6, t+h, xt)
	for i := range n {
		x1[i] = x[i] + h*(dpA71*k1[i]+dpA73*k3[i]+dpA74*k4[i]+dpA75*k5[i]+dpA76*k6[i])
	}
	sys.Deriv(k7, t+h, x1)
	r.Evals += 6
}

// DenseAt returns component i of the dense-output interpolant of the last
// accepted step at time t (which should lie in that step).
func (r *RK45) DenseAt(i int, t float64) float64 {
	if !r.hasStep {
		panic("model: RK45.DenseAt before any accepted step")
	}
	th := (t - r.tOld) / r.hOld
	th1 := 1 - th
	return r.rc[0][i] + th*(r.rc[1][i]+th1*(r.rc[2][i]+th*(r.rc[3][i]+th1*r.rc[4][i])))
}

// Dense writes the dense-output interpolant of the last accepted step at time
// t into dst (len Dim).
func (r *RK45) Dense(dst []float64, t float64) {
	if !r.hasStep {
		panic("model: RK45.Dense before any accepted step")
	}
	th := (t - r.tOld) / r.hOld
	th1 := 1 - th
	for i := range r.n {
		dst[i] = r.rc[0][i] + th*(r.rc[1][i]+th1*(r.rc[2][i]+th*(r.rc[3][i]+th1*r.rc[4][i])))
	}
}

// Integrate advances x in place from t0 to t1 with adaptive steps. If observe
// is not nil it is called after every accepted step with the new time and
// state (which it must not modify); returning false stops the integration
// early. Integrate returns the time reached.
func (r *RK45) Integrate(sys System, t0, t1 float64, x []float64, observe func(t float64, x []float64) bool) (float64, error) {
	t := t0
	for steps := 0; t != t1; steps++ {
		if steps >= r.opt.MaxSteps {
			return t, fmt.Errorf("%w: %d steps from t=%g to t=%g", ErrTooManySteps, steps, t0, t1)
		}
		var err error
		t, err = r.Advance(sys, t, x, t1)
		if err != nil {
			return t, err
		}
		if observe != nil && !observe(t, x) {
			return t, nil
		}
	}
	return t, nil
}

// FindCrossing locates the first upward crossing of level by a continuous
// function p on [a, b], given p(a) < level. It scans p at m equally spaced
// interior points (so a crossing that goes up and back down within the
// interval is still found when it lasts longer than (b−a)/m) and then refines
// the first bracketing subinterval by bisection until it is shorter than tol.
// It returns the crossing time and true, or b and false if p stays below
// level at every scanned point.
func FindCrossing(p func(t float64) float64, a, b, level float64, m int, tol float64) (float64, bool) {
	if m < 1 {
		m = 1
	}
	lo := a
	hi := b
	found := false
	for k := 1; k <= m; k++ {
		tk := a + (b-a)*float64(k)/float64(m)
		if k == m {
			tk = b
		}
		if p(tk) >= level {
			hi = tk
			found = true
			break
		}
		lo = tk
	}
	if !found {
		return b, false
	}
	for i := 0; i < 200 && math.Abs(hi-lo) > tol; i++ {
		mid := 0.5 * (lo + hi)
		if mid == lo || mid == hi {
			break
		}
		if p(mid) >= level {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, true
}

func equalSlices(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func finiteSlice(a []float64) bool {
	for _, v := range a {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
