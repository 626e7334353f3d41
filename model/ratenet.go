package model

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// ActivationKind selects the static nonlinearity of a rate network.
type ActivationKind int

const (
	ActLinear  ActivationKind = iota // f(x) = g·(x − θ)
	ActReLU                          // f(x) = g·[x − θ]₊, capped at Max when Max > 0 (threshold-linear)
	ActSigmoid                       // f(x) = Max / (1 + exp(−g(x − θ)))
	ActTanh                          // f(x) = tanh(g(x − θ))
	ActStep                          // f(x) = Max·H(x − θ) (Heaviside; H(0) = 0)
)

// Activation is the firing-rate nonlinearity f of a rate model (Dayan &
// Abbott 2001 §7.2): plain data, Gain g > 0, Threshold θ, Max.
type Activation struct {
	Kind      ActivationKind
	Gain      float64
	Threshold float64
	Max       float64
}

// Eval returns f(x).
func (a Activation) Eval(x float64) float64 {
	u := x - a.Threshold
	switch a.Kind {
	case ActLinear:
		return a.Gain * u
	case ActReLU:
		if u <= 0 {
			return 0
		}
		if v := a.Gain * u; a.Max > 0 && v > a.Max {
			return a.Max
		} else {
			return v
		}
	case ActSigmoid:
		return a.Max / (1 + math.Exp(-a.Gain*u))
	case ActTanh:
		return math.Tanh(a.Gain * u)
	case ActStep:
		if u > 0 {
			return a.Max
		}
		return 0
	}
	panic(fmt.Sprintf("model: unknown ActivationKind %d", a.Kind))
}

// Deriv returns f′(x) (0 at the kinks and jumps of ReLU and Step).
func (a Activation) Deriv(x float64) float64 {
	u := x - a.Threshold
	switch a.Kind {
	case ActLinear:
		return a.Gain
	case ActReLU:
		if u <= 0 || (a.Max > 0 && a.Gain*u >= a.Max) {
			return 0
		}
		return a.Gain
	case ActSigmoid:
		e := math.Exp(-a.Gain * u)
		return a.Max * a.Gain * e / ((1 + e) * (1 + e))
	case ActTanh:
		c := math.Cosh(a.Gain * u)
		return a.Gain / (c * c)
	case ActStep:
		return 0
	}
	panic(fmt.Sprintf("model: unknown ActivationKind %d", a.Kind))
}

// Validate reports every invalid field.
func (a Activation) Validate() error {
	var errs []error
	if a.Kind < ActLinear || a.Kind > ActStep {
		errs = append(errs, fmt.Errorf("Kind: unknown activation %d", a.Kind))
	}
	errs = append(errs, argPos("Gain", a.Gain), argFinite("Threshold", a.Threshold))
	switch a.Kind {
	case ActSigmoid, ActStep:
		errs = append(errs, argPos("Max", a.Max))
	case ActReLU:
		errs = append(errs, argNonNeg("Max", a.Max))
	}
	return errors.Join(errs...)
}

// NetForm selects which variable a RateNetwork integrates.
type NetForm int

const (
	// RateForm: τ dr/dt = −r + f(W r + I) (Dayan & Abbott 2001 eq. 7.11); the
	// state is the rates r.
	RateForm NetForm = iota
	// CurrentForm: τ dx/dt = −x + W f(x) + I (Hopfield 1984; Sompolinsky,
	// Crisanti & Sommers 1988); the state is the input currents x, the rates
	// are f(x). For invertible W the two forms are related by x = W r + I.
	CurrentForm
)

// RateNetwork is a network of N rate units with weights W (row-major,
// W[i*N+j] is the weight from j to i), external input I and time constant
// Tau, in one of two forms (see NetForm). It is a System, to be stepped with
// RK4 or RK45; Input may be changed between steps. Deriv does not allocate.
type RateNetwork struct {
	N      int
	Tau    float64
	Form   NetForm
	F      Activation
	W      []float64 // N×N
	Input  []float64 // N
	drive  []float64 // scratch
	rateOf []float64 // scratch
}

// NewRateNetwork returns a network of n units with zero weights and input.
func NewRateNetwork(n int, tau float64, form NetForm, f Activation) (*RateNetwork, error) {
	if n < 1 {
		return nil, fmt.Errorf("N: must be >= 1, got %d", n)
	}
	net := &RateNetwork{N: n, Tau: tau, Form: form, F: f, W: make([]float64, n*n), Input: make([]float64, n),
		drive: make([]float64, n), rateOf: make([]float64, n)}
	if err := net.Validate(); err != nil {
		return nil, err
	}
	return net, nil
}

// Validate reports every invalid field.
func (net *RateNetwork) Validate() error {
	var errs []error
	if net.N < 1 {
		errs = append(errs, fmt.Errorf("N: must be >= 1, got %d", net.N))
	}
	errs = append(errs, argPos("Tau", net.Tau))
	if net.Form != RateForm && net.Form != CurrentForm {
		errs = append(errs, fmt.Errorf("Form: unknown %d", net.Form))
	}
	if err := net.F.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("F.%w", err))
	}
	if len(net.W) != net.N*net.N {
		errs = append(errs, fmt.Errorf("W: length %d, want N² = %d", len(net.W), net.N*net.N))
	} else {
		for i, w := range net.W {
			if math.IsNaN(w) || math.IsInf(w, 0) {
				errs = append(errs, fmt.Errorf("W: entry %d is %g", i, w))
				break
			}
		}
	}
	if len(net.Input) != net.N {
		errs = append(errs, fmt.Errorf("Input: length %d, want N = %d", len(net.Input), net.N))
	}
	return errors.Join(errs...)
}

// Dim returns N.
func (net *RateNetwork) Dim() int { return net.N }

// Deriv writes the right-hand side of the network equation.
func (net *RateNetwork) Deriv(dxdt []float64, _ float64, x []float64) {
	n := net.N
	if len(net.drive) != n {
		net.drive, net.rateOf = make([]float64, n), make([]float64, n)
	}
	inv := 1 / net.Tau
	switch net.Form {
	case RateForm:
		for i := range n {
			row := net.W[i*n : (i+1)*n]
			s := net.Input[i]
			for j, w := range row {
				s += w * x[j]
			}
			dxdt[i] = (net.F.Eval(s) - x[i]) * inv
		}
	case CurrentForm:
		r := net.rateOf
		for j := range n {
			r[j] = net.F.Eval(x[j])
		}
		for i := range n {
			row := net.W[i*n : (i+1)*n]
			s := net.Input[i]
			for j, w := range row {
				s += w * r[j]
			}
			dxdt[i] = (s - x[i]) * inv
		}
	}
}

// RatesTo fills dst with the firing rates of state x: x itself in RateForm,
// f(x) in CurrentForm.
func (net *RateNetwork) RatesTo(dst, x []float64) []float64 {
	for i, v := range x {
		if net.Form == CurrentForm {
			v = net.F.Eval(v)
		}
		dst[i] = v
	}
	return dst
}

// Relax integrates x with the given RK4 and step h until max_i |dx_i/dt| <
// tol (a fixed point to that tolerance) and returns the time taken, or an
// error after tmax.
func (net *RateNetwork) Relax(rk *RK4, x []float64, h, tol, tmax float64) (float64, error) {
	if err := errors.Join(argPos("h", h), argPos("tol", tol), argPos("tmax", tmax)); err != nil {
		return 0, err
	}
	for t := 0.0; t < tmax; t += h {
		rk.Step(net, t, x, h)
		d := rk.Deriv0()
		var m float64
		for _, v := range d {
			m = max(m, math.Abs(v))
		}
		if m < tol {
			return t + h, nil
		}
		if math.IsNaN(m) {
			return t, ErrNonFinite
		}
	}
	return tmax, fmt.Errorf("model: not settled to %g within t = %g", tol, tmax)
}

// FeedforwardChainTo sets w (n×n) to a feedforward chain 0 → 1 → … → n−1
// with weight `weight` on each link and zero elsewhere. With a linear
// activation, an impulse r₀(0) = 1 propagates as r_k(t) = w^k (t/τ)^k
// e^{−t/τ}/k! (a cascade of k+1 leaky integrators: gamma kernels).
func FeedforwardChainTo(w []float64, n int, weight float64) []float64 {
	if len(w) != n*n {
		panic("model: FeedforwardChainTo needs n*n weights")
	}
	clear(w)
	for i := 1; i < n; i++ {
		w[i*n+i-1] = weight
	}
	return w
}

// HopfieldWeightsTo sets w (n×n) to the Hebbian outer-product rule of
// Hopfield (1982): W_ij = (1/N) Σ_μ ξ_i^μ ξ_j^μ, W_ii = 0, for ±1 patterns of
// length n. Below the capacity P/N ≈ 0.138 (Amit, Gutfreund & Sompolinsky
// 1985) each pattern is an attractor of the dynamics.
func HopfieldWeightsTo(w []float64, patterns [][]float64) []float64 {
	if len(patterns) == 0 {
		panic("model: HopfieldWeightsTo needs patterns")
	}
	n := len(patterns[0])
	if len(w) != n*n {
		panic("model: HopfieldWeightsTo needs n*n weights")
	}
	clear(w)
	inv := 1 / float64(n)
	for _, p := range patterns {
		if len(p) != n {
			panic("model: HopfieldWeightsTo pattern length mismatch")
		}
		for i := range n {
			for j := range n {
				if i != j {
					w[i*n+j] += p[i] * p[j] * inv
				}
			}
		}
	}
	return w
}

// RandomPatterns returns p seeded random ±1 patterns of length n.
func RandomPatterns(p, n int, seed uint64) [][]float64 {
	rng := newCodingRand(seed)
	out := make([][]float64, p)
	for k := range out {
		out[k] = make([]float64, n)
		for i := range out[k] {
			out[k][i] = float64(2*rng.IntN(2) - 1)
		}
	}
	return out
}

// Overlap returns m = (1/N) Σ_i ξ_i sgn(x_i), the overlap of a state with a
// ±1 pattern: 1 for perfect recall, ≈ 0 for an unrelated state.
func Overlap(pattern, x []float64) float64 {
	var m float64
	for i, p := range pattern {
		switch {
		case x[i] > 0:
			m += p
		case x[i] < 0:
			m -= p
		}
	}
	return m / float64(len(pattern))
}

// RingWeightsTo sets w (n×n) to the ring-attractor connectivity of Ben-Yishai,
// Bar-Or & Sompolinsky (1995): W_ij = (J₀ + J₁ cos(θ_i − θ_j))/N with θ_i =
// 2πi/N. With a threshold-linear activation and J₁ > 2 the network holds a
// persistent bump whose half-width θ_c depends only on J₁ (RingBumpHalfWidth).
func RingWeightsTo(w []float64, n int, j0, j1 float64) []float64 {
	if len(w) != n*n {
		panic("model: RingWeightsTo needs n*n weights")
	}
	for i := range n {
		for j := range n {
			w[i*n+j] = (j0 + j1*math.Cos(2*math.Pi*float64(i-j)/float64(n))) / float64(n)
		}
	}
	return w
}

// RingBumpHalfWidth returns the half-width θ_c ∈ (0, π) of the self-sustained
// bump of the threshold-linear ring network (gain 1): with r(θ) =
// A[cos(θ − ψ) − cos θ_c]₊ the first Fourier mode must reproduce itself,
//
//	1 = (J₁ / 2π) (θ_c − ½ sin 2θ_c)
//
// (Ben-Yishai et al. 1995, the marginal phase; Hansel & Sompolinsky 1998). A
// solution exists only for J₁ > 2.
func RingBumpHalfWidth(j1 float64) (float64, error) {
	if !(j1 > 2) || math.IsInf(j1, 0) {
		return 0, fmt.Errorf("J1: a bump needs 2 < J1 < ∞, got %g", j1)
	}
	g := func(th float64) float64 { return j1/(2*math.Pi)*(th-0.5*math.Sin(2*th)) - 1 }
	lo, hi := 0.0, math.Pi // g(0) = −1 < 0, g(π) = J₁/2 − 1 > 0, g increasing
	for range 200 {
		mid := 0.5 * (lo + hi)
		if g(mid) < 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return 0.5 * (lo + hi), nil
}

// RingCenter returns the population-vector position arg Σ_i r_i e^{iθ_i} of
// activity on a ring of len(r) units with θ_i = 2πi/N.
func RingCenter(r []float64) float64 {
	var c, s float64
	for i, v := range r {
		th := 2 * math.Pi * float64(i) / float64(len(r))
		c += v * math.Cos(th)
		s += v * math.Sin(th)
	}
	return math.Atan2(s, c)
}

// WTAWeightsTo sets w (n×n) to uniform lateral inhibition W_ij = −α (i ≠ j),
// W_ii = 0: the winner-take-all network τ dr_i/dt = −r_i + f(I_i − α Σ_{j≠i} r_j)
// (Dayan & Abbott 2001 §7.4; Yuille & Grzywacz 1989).
func WTAWeightsTo(w []float64, n int, alpha float64) []float64 {
	if len(w) != n*n {
		panic("model: WTAWeightsTo needs n*n weights")
	}
	for i := range n {
		for j := range n {
			w[i*n+j] = 0
			if i != j {
				w[i*n+j] = -alpha
			}
		}
	}
	return w
}

// WTAThreshold returns I₍₂₎/I₍₁₎, the ratio of the second-largest to the
// largest positive input: with threshold-linear f (gain 1, θ = 0) the state
// "only the largest input is active, r = I₍₁₎" is a fixed point iff
// α ≥ I₍₂₎/I₍₁₎ (every loser then gets I_j − α I₍₁₎ ≤ 0). For α < 1 the
// interaction matrix (1−α)𝟙 + α𝟏𝟏ᵀ is positive definite, so that fixed point is
// the unique, globally attracting one (Hahnloser et al. 2003); for α > 1 the
// single-winner states of every input above I₍₁₎/α are stable as well, and the
// outcome depends on the initial state.
func WTAThreshold(inputs []float64) float64 {
	i1, i2 := math.Inf(-1), math.Inf(-1)
	for _, v := range inputs {
		if v > i1 {
			i1, i2 = v, i1
		} else if v > i2 {
			i2 = v
		}
	}
	if !(i1 > 0) {
		return math.NaN()
	}
	return max(i2, 0) / i1
}

// WTASteadyStateTo fills dst with the unique fixed point of the
// threshold-linear WTA network for 0 ≤ α < 1: the k largest inputs are
// active, with S = Σ_active I / (1 − α + kα) and r_i = (I_i − αS)/(1 − α),
// where k is the number for which every active r_i > 0 and every inactive
// I_j ≤ αS.
func WTASteadyStateTo(dst, inputs []float64, alpha float64) ([]float64, error) {
	if len(dst) != len(inputs) {
		panic("model: WTASteadyStateTo length mismatch")
	}
	if !(alpha >= 0 && alpha < 1) {
		return dst, fmt.Errorf("alpha: the unique steady state needs 0 <= alpha < 1, got %g", alpha)
	}
	idx := make([]int, len(inputs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return inputs[idx[a]] > inputs[idx[b]] })
	clear(dst)
	var sum float64
	for k := 1; k <= len(inputs); k++ {
		sum += inputs[idx[k-1]]
		s := sum / (1 - alpha + float64(k)*alpha)
		if inputs[idx[k-1]]-alpha*s <= 0 {
			break // the k-th unit would be silent: the active set has k−1 units
		}
		if k == len(inputs) || inputs[idx[k]]-alpha*s <= 0 {
			for _, i := range idx[:k] {
				dst[i] = (inputs[i] - alpha*s) / (1 - alpha)
			}
			return dst, nil
		}
	}
	return dst, nil // no positive input: all silent
}

// RandomCouplingTo fills w (n×n) with the random coupling of Sompolinsky,
// Crisanti & Sommers (1988): g·J_ij with J_ij ~ N(0, 1/N) i.i.d. and J_ii = 0.
// In CurrentForm with f = tanh, τ dx/dt = −x + gJ tanh(x) has a stable fixed
// point x = 0 for g < 1 (largest Lyapunov exponent −(1 − g·max Re λ(J))/τ) and
// is chaotic for g > 1.
func RandomCouplingTo(w []float64, n int, g float64, seed uint64) []float64 {
	if len(w) != n*n {
		panic("model: RandomCouplingTo needs n*n weights")
	}
	rng := newCodingRand(seed)
	sd := g / math.Sqrt(float64(n))
	for i := range n {
		for j := range n {
			v := rng.NormFloat64() * sd
			if i == j {
				v = 0
			}
			w[i*n+j] = v
		}
	}
	return w
}
