package model

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Neural fields of Amari type (SCIENCE §3): 1-D and 2-D periodic domains,
// convolution by FFT (gonum dsp/fourier), stepped with RK4.

// KernelShape is the radial profile of a field kernel.
type KernelShape int

const (
	// KernelGaussian: g(r) = e^{−r²/2σ²}/(√(2π)σ) in 1-D, e^{−r²/2σ²}/(2πσ²) in 2-D.
	KernelGaussian KernelShape = iota
	// KernelExponential: g(r) = e^{−|r|/σ}/(2σ) in 1-D, e^{−r/σ}/(2πσ²) in 2-D.
	KernelExponential
)

// FieldKernel is a difference of two normalised profiles ("Mexican hat",
// lateral inhibition; Amari 1977):
//
//	w(r) = E·g(r; σ_E) − I·g(r; σ_I)
//
// Each profile integrates to 1 over the line (1-D) or the plane (2-D), so
// E − I is the kernel's total weight. I = 0 is purely excitatory.
type FieldKernel struct {
	Shape    KernelShape
	Exc      float64 // E ≥ 0
	SigmaExc float64 // σ_E > 0
	Inh      float64 // I ≥ 0
	SigmaInh float64 // σ_I > 0 when I > 0
}

// Validate reports every invalid field.
func (k FieldKernel) Validate() error {
	var errs []error
	if k.Shape != KernelGaussian && k.Shape != KernelExponential {
		errs = append(errs, fmt.Errorf("Shape: unknown %d", k.Shape))
	}
	errs = append(errs, argNonNeg("Exc", k.Exc), argPos("SigmaExc", k.SigmaExc), argNonNeg("Inh", k.Inh))
	if k.Inh > 0 {
		errs = append(errs, argPos("SigmaInh", k.SigmaInh))
	}
	return errors.Join(errs...)
}

// reach returns the distance beyond which the kernel is negligible (below
// 2·10⁻⁹ of its scale).
func (k FieldKernel) reach() float64 {
	s := k.SigmaExc
	if k.Inh > 0 {
		s = max(s, k.SigmaInh)
	}
	if k.Shape == KernelGaussian {
		return 8 * s // e^{−32}
	}
	return 20 * s // e^{−20}
}

func profile1(shape KernelShape, x, s float64) float64 {
	if shape == KernelGaussian {
		return math.Exp(-x*x/(2*s*s)) / (math.Sqrt(2*math.Pi) * s)
	}
	return math.Exp(-math.Abs(x)/s) / (2 * s)
}

func profile2(shape KernelShape, r, s float64) float64 {
	if shape == KernelGaussian {
		return math.Exp(-r*r/(2*s*s)) / (2 * math.Pi * s * s)
	}
	return math.Exp(-r/s) / (2 * math.Pi * s * s)
}

// W1 returns the 1-D kernel w(x).
func (k FieldKernel) W1(x float64) float64 {
	w := k.Exc * profile1(k.Shape, x, k.SigmaExc)
	if k.Inh > 0 {
		w -= k.Inh * profile1(k.Shape, x, k.SigmaInh)
	}
	return w
}

// W2 returns the 2-D radial kernel w(r).
func (k FieldKernel) W2(r float64) float64 {
	w := k.Exc * profile2(k.Shape, r, k.SigmaExc)
	if k.Inh > 0 {
		w -= k.Inh * profile2(k.Shape, r, k.SigmaInh)
	}
	return w
}

// Integral1 returns W(a) = ∫₀ᵃ w(x) dx of the 1-D kernel (odd in a).
func (k FieldKernel) Integral1(a float64) float64 {
	half := func(s float64) float64 {
		if k.Shape == KernelGaussian {
			return 0.5 * math.Erf(a/(math.Sqrt2*s))
		}
		return math.Copysign(0.5*(1-math.Exp(-math.Abs(a)/s)), a)
	}
	w := k.Exc * half(k.SigmaExc)
	if k.Inh > 0 {
		w -= k.Inh * half(k.SigmaInh)
	}
	return w
}

// AmariBump is a stationary bump solution of a 1-D Heaviside field.
type AmariBump struct {
	Width  float64 // a: the length of the region where u > θ
	Stable bool    // w(a) < 0 (Amari 1977, Theorem 3)
}

// AmariBumps returns the widths a ∈ (0, maxWidth] of the stationary single
// bumps of τ u_t = −u + ∫ w(x−y) H(u(y) − θ) dy + h: a bump of width a exists
// iff W(a) + h = θ (Amari 1977, eq. 4.3, there with θ = 0) and is stable iff
// w(a) < 0. Roots are bracketed on a fine grid and refined by bisection.
func AmariBumps(k FieldKernel, h, theta, maxWidth float64) ([]AmariBump, error) {
	if err := errors.Join(k.Validate(), argFinite("h", h), argFinite("theta", theta), argPos("maxWidth", maxWidth)); err != nil {
		return nil, err
	}
	g := func(a float64) float64 { return k.Integral1(a) + h - theta }
	const steps = 20000
	var out []AmariBump
	prev := g(maxWidth * 1e-9)
	for s := 1; s <= steps; s++ {
		lo, hi := maxWidth*float64(s-1)/steps, maxWidth*float64(s)/steps
		if s == 1 {
			lo = maxWidth * 1e-9
		}
		cur := g(hi)
		if (prev < 0) != (cur < 0) {
			flo := prev
			for range 100 {
				mid := 0.5 * (lo + hi)
				fm := g(mid)
				if (fm < 0) == (flo < 0) {
					lo, flo = mid, fm
				} else {
					hi = mid
				}
			}
			a := 0.5 * (lo + hi)
			out = append(out, AmariBump{Width: a, Stable: k.W1(a) < 0})
		}
		prev = cur
	}
	return out, nil
}

// AmariFrontSpeed returns the speed of the travelling front of the scalar
// Heaviside field τ u_t = −u + ∫ w(x−y) H(u(y) − θ) dy with a purely
// excitatory exponential kernel w(x) = e^{−|x|/σ}/(2σ) (unit weight), for
// 0 < θ < 1. Solving −cτ u′ = −u + ∫_ξ^∞ w along ξ = x − ct (active for
// ξ < 0) with u(0) = θ gives (Ermentrout & McLeod 1993; Bressloff 2012,
// J Phys A 45:033001, §3.1)
//
//	c = (σ/τ)(1 − 2θ)/(2θ)        for θ ≤ ½ (the active state invades)
//	c = (σ/τ)(1 − 2θ)/(2(1 − θ))  for θ > ½ (it retreats)
func AmariFrontSpeed(sigma, tau, theta float64) (float64, error) {
	var errs []error
	errs = append(errs, argPos("sigma", sigma), argPos("tau", tau))
	if !(theta > 0 && theta < 1) {
		errs = append(errs, fmt.Errorf("theta: must be in (0, 1), got %g", theta))
	}
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	if theta <= 0.5 {
		return sigma / tau * (1 - 2*theta) / (2 * theta), nil
	}
	return sigma / tau * (1 - 2*theta) / (2 * (1 - theta)), nil
}

// FieldConfig configures a neural field on a periodic 1-D ring (NY = 1) or
// 2-D torus of NX × NY points with spacing Dx:
//
//	τ ∂u/∂t = −u + ∫ w(x − y − s) f(u(y, t)) dy + h + S(x) − β a
//	τ_a ∂a/∂t = −a + u
//
// (Amari 1977; linear adaptation a as in Pinto & Ermentrout 2001, on when
// AdaptGain β > 0; Shift s along x makes the kernel asymmetric and bumps
// travel, Zhang 1996). The domain must be large against the kernel's reach so
// its periodic images do not interact.
type FieldConfig struct {
	NX, NY    int
	Dx        float64
	Tau       float64
	H         float64 // resting level h
	F         Activation
	Kernel    FieldKernel
	Shift     float64 // s, along x
	AdaptGain float64 // β ≥ 0
	AdaptTau  float64 // τ_a > 0 when β > 0
	Dt        float64 // RK4 step used by Step
}

// Validate reports every invalid field.
func (c FieldConfig) Validate() error {
	var errs []error
	if c.NX < 4 || c.NY < 1 || (c.NY > 1 && c.NY < 4) {
		errs = append(errs, fmt.Errorf("NX, NY: need NX >= 4 and NY = 1 or >= 4, got %d, %d", c.NX, c.NY))
	}
	errs = append(errs, argPos("Dx", c.Dx), argPos("Tau", c.Tau), argFinite("H", c.H), argFinite("Shift", c.Shift),
		argNonNeg("AdaptGain", c.AdaptGain), argPos("Dt", c.Dt))
	if err := c.F.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("F.%w", err))
	}
	if err := c.Kernel.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("Kernel.%w", err))
	} else if c.NX >= 4 && c.Dx > 0 {
		side := float64(c.NX) * c.Dx
		if c.NY > 1 {
			side = min(side, float64(c.NY)*c.Dx)
		}
		if r := c.Kernel.reach() + math.Abs(c.Shift); side < 2*r {
			errs = append(errs, fmt.Errorf("Dx: domain side %g shorter than twice the kernel reach %g (periodic images would interact)", side, r))
		}
	}
	if c.AdaptGain > 0 {
		errs = append(errs, argPos("AdaptTau", c.AdaptTau))
	}
	// RK4 is stable on the real axis for h|λ| ≤ 2.78; the fastest linear rate
	// is 1/τ (leak) plus the kernel's gain and the adaptation's 1/τ_a.
	if c.Dt > 0 && c.Tau > 0 {
		rate := 1 / c.Tau
		if c.AdaptGain > 0 && c.AdaptTau > 0 {
			rate = max(rate, 1/c.AdaptTau) + c.AdaptGain/c.Tau
		}
		if c.Dt*rate > 1 {
			errs = append(errs, fmt.Errorf("Dt: %g exceeds the accurate RK4 step %g (1/fastest rate)", c.Dt, 1/rate))
		}
	}
	return errors.Join(errs...)
}

// Field is a planned neural field: the kernel's transform is computed once,
// and Deriv and Step do not allocate. The state x holds u (NX·NY values,
// row-major u[j*NX+i] at (i·Dx, j·Dx)) followed by a when adaptation is on.
// Field is a System. Not safe for concurrent use.
type Field struct {
	FieldConfig
	S     []float64 // external input S(x), NX·NY, may change between steps
	State []float64 // the state stepped by Step
	Time  float64

	n    int
	rfft *fourier.FFT      // 1-D
	cx   *fourier.CmplxFFT // 2-D rows
	cy   *fourier.CmplxFFT // 2-D columns
	kHat []complex128
	spec []complex128
	row  []complex128
	col  []complex128
	fu   []float64
	conv []float64
	rk   *RK4
}

// NewField validates the configuration and plans the convolution.
func NewField(c FieldConfig) (*Field, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	n := c.NX * c.NY
	f := &Field{FieldConfig: c, n: n, S: make([]float64, n), fu: make([]float64, n), conv: make([]float64, n)}
	dim := n
	if c.AdaptGain > 0 {
		dim = 2 * n
	}
	f.State = make([]float64, dim)
	f.rk = NewRK4(dim)
	// Circular distance along an axis of m points.
	circ := func(i, m int) float64 {
		if i > m/2 {
			i -= m
		}
		return float64(i) * c.Dx
	}
	if c.NY == 1 {
		f.rfft = fourier.NewFFT(c.NX)
		w := make([]float64, c.NX)
		for i := range w {
			w[i] = c.Kernel.W1(circ(i, c.NX)-c.Shift) * c.Dx
		}
		f.kHat = f.rfft.Coefficients(nil, w)
		f.spec = make([]complex128, len(f.kHat))
		return f, nil
	}
	f.cx, f.cy = fourier.NewCmplxFFT(c.NX), fourier.NewCmplxFFT(c.NY)
	f.row, f.col = make([]complex128, c.NX), make([]complex128, c.NY)
	f.kHat = make([]complex128, n)
	f.spec = make([]complex128, n)
	area := c.Dx * c.Dx
	for j := range c.NY {
		for i := range c.NX {
			x, y := circ(i, c.NX)-c.Shift, circ(j, c.NY)
			f.kHat[j*c.NX+i] = complex(c.Kernel.W2(math.Hypot(x, y))*area, 0)
		}
	}
	f.fft2(f.kHat, false)
	return f, nil
}

// Len returns the number of grid points NX·NY.
func (f *Field) Len() int { return f.n }

// Dim returns the state dimension (NX·NY, doubled with adaptation).
func (f *Field) Dim() int { return len(f.State) }

// fft2 transforms a row-major NY×NX complex array in place (inverse
// unnormalised when inv).
func (f *Field) fft2(a []complex128, inv bool) {
	nx, ny := f.NX, f.NY
	for j := range ny {
		r := a[j*nx : (j+1)*nx]
		if inv {
			f.cx.Sequence(r, r)
		} else {
			f.cx.Coefficients(r, r)
		}
	}
	for i := range nx {
		for j := range ny {
			f.col[j] = a[j*nx+i]
		}
		if inv {
			f.cy.Sequence(f.col, f.col)
		} else {
			f.cy.Coefficients(f.col, f.col)
		}
		for j := range ny {
			a[j*nx+i] = f.col[j]
		}
	}
}

// ConvolveTo fills dst with (w ∗ f(u))(x) for the field u (length Len).
func (f *Field) ConvolveTo(dst, u []float64) []float64 {
	for i, v := range u[:f.n] {
		f.fu[i] = f.F.Eval(v)
	}
	if f.NY == 1 {
		f.rfft.Coefficients(f.spec, f.fu)
		for k := range f.spec {
			f.spec[k] *= f.kHat[k]
		}
		f.rfft.Sequence(dst, f.spec)
		inv := 1 / float64(f.n)
		for i := range dst {
			dst[i] *= inv
		}
		return dst
	}
	for i, v := range f.fu {
		f.spec[i] = complex(v, 0)
	}
	f.fft2(f.spec, false)
	for k := range f.spec {
		f.spec[k] *= f.kHat[k]
	}
	f.fft2(f.spec, true)
	inv := 1 / float64(f.n)
	for i := range dst {
		dst[i] = real(f.spec[i]) * inv
	}
	return dst
}

// Deriv writes the field equations' right-hand side.
func (f *Field) Deriv(dxdt []float64, _ float64, x []float64) {
	n := f.n
	f.ConvolveTo(f.conv, x[:n])
	inv := 1 / f.Tau
	if f.AdaptGain > 0 {
		a := x[n:]
		ia := 1 / f.AdaptTau
		for i := range n {
			dxdt[i] = (-x[i] + f.conv[i] + f.H + f.S[i] - f.AdaptGain*a[i]) * inv
			dxdt[n+i] = (x[i] - a[i]) * ia
		}
		return
	}
	for i := range n {
		dxdt[i] = (-x[i] + f.conv[i] + f.H + f.S[i]) * inv
	}
}

// Step advances State by one RK4 step of Dt.
func (f *Field) Step() {
	f.rk.Step(f, f.Time, f.State, f.Dt)
	f.Time += f.Dt
}

// U returns the activity part of State.
func (f *Field) U() []float64 { return f.State[:f.n] }

// SuperthresholdWidth returns the length of the longest periodic run of a
// 1-D profile u above theta, with both ends located by linear interpolation
// between grid points (0 if nowhere above, the ring length if everywhere).
func SuperthresholdWidth(u []float64, theta, dx float64) float64 {
	n := len(u)
	start := -1
	for i := range n {
		if u[i] <= theta {
			start = i
			break
		}
	}
	if start < 0 {
		return float64(n) * dx
	}
	var best float64
	for k := 1; k <= n; k++ {
		i := (start + k) % n
		if u[i] <= theta || u[(i+n-1)%n] > theta {
			continue
		}
		// Run starts at i (entered from below between i−1 and i).
		lo := u[(i+n-1)%n]
		left := (theta - lo) / (u[i] - lo) // fraction of the cell before i
		m := 0
		for u[(i+m)%n] > theta {
			m++
		}
		last, next := u[(i+m-1)%n], u[(i+m)%n]
		right := (last - theta) / (last - next)
		best = max(best, (float64(m-1)+(1-left)+right)*dx)
	}
	return best
}
