package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/dsp/fourier"
)

// codingStream is the PCG stream constant of every generator in the coding,
// information and statistics files: rand.NewPCG(seed, codingStream).
const codingStream = 0x5eed_c0d1_0b5e_55ed

// newCodingRand returns the seeded generator used by this part of the package.
func newCodingRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, codingStream)) }

// TuningCurve is an encoding model: the mean firing rate (Hz) of a neuron as
// a function of a scalar stimulus (an angle in radians for the circular
// curves). Implementations are plain values, safe for concurrent use.
type TuningCurve interface {
	Rate(s float64) float64
}

// CosineTuning is the cosine tuning of motor cortical neurons to movement
// direction (Georgopoulos et al. 1982; 1986; Dayan & Abbott 2001 eq. 1.15):
//
//	f(θ) = [b₀ + b₁ cos(θ − θ_p)]₊
//
// with baseline b₀ (Hz), modulation depth b₁ ≥ 0 (Hz) and preferred
// direction θ_p (rad). The rectification matters only when b₁ > b₀.
type CosineTuning struct {
	Baseline  float64 // b₀, Hz
	Depth     float64 // b₁, Hz
	Preferred float64 // θ_p, rad
}

// Rate returns f(θ).
func (c CosineTuning) Rate(theta float64) float64 {
	return math.Max(0, c.Baseline+c.Depth*math.Cos(theta-c.Preferred))
}

// Validate reports every invalid field.
func (c CosineTuning) Validate() error {
	return errors.Join(argFinite("Baseline", c.Baseline), argNonNeg("Depth", c.Depth),
		argFinite("Preferred", c.Preferred))
}

// GaussianTuning is a Gaussian tuning curve (Dayan & Abbott 2001 eq. 1.14, the
// orientation tuning of V1 cells, with a baseline added):
//
//	f(s) = r₀ + r_max exp(−(s − s_p)² / (2σ²))
type GaussianTuning struct {
	Baseline  float64 // r₀ ≥ 0, Hz
	Peak      float64 // r_max ≥ 0, Hz above baseline
	Preferred float64 // s_p
	Width     float64 // σ > 0
}

// Rate returns f(s).
func (g GaussianTuning) Rate(s float64) float64 {
	d := (s - g.Preferred) / g.Width
	return g.Baseline + g.Peak*math.Exp(-0.5*d*d)
}

// Validate reports every invalid field.
func (g GaussianTuning) Validate() error {
	return errors.Join(argNonNeg("Baseline", g.Baseline), argNonNeg("Peak", g.Peak),
		argFinite("Preferred", g.Preferred), argPos("Width", g.Width))
}

// VonMisesTuning is the circular analogue of the Gaussian tuning curve, used
// for head-direction and orientation cells (e.g. Swindale 1998):
//
//	f(θ) = r₀ + r_max exp(κ (cos(θ − θ_p) − 1))
//
// Its full width at half height above baseline is 2 arccos(1 − ln 2/κ) for κ > ln 2 / 2.
type VonMisesTuning struct {
	Baseline  float64 // r₀ ≥ 0, Hz
	Peak      float64 // r_max ≥ 0, Hz above baseline
	Preferred float64 // θ_p, rad
	Kappa     float64 // concentration κ > 0
}

// Rate returns f(θ).
func (v VonMisesTuning) Rate(theta float64) float64 {
	return v.Baseline + v.Peak*math.Exp(v.Kappa*(math.Cos(theta-v.Preferred)-1))
}

// Validate reports every invalid field.
func (v VonMisesTuning) Validate() error {
	return errors.Join(argNonNeg("Baseline", v.Baseline), argNonNeg("Peak", v.Peak),
		argFinite("Preferred", v.Preferred), argPos("Kappa", v.Kappa))
}

// PopulationVector returns the direction (rad, in (−π, π]) and length of the
// population vector of Georgopoulos et al. (1986) for cosine-tuned neurons:
//
//	P = Σ_i ((r_i − b₀ᵢ)/b₁ᵢ) (cos θ_pᵢ, sin θ_pᵢ)
//
// (Dayan & Abbott 2001 eq. 3.23). With preferred directions spread uniformly
// and noise-free rates it points exactly at the movement direction.
// It panics if the lengths differ.
func PopulationVector(rates []float64, cells []CosineTuning) (angle, length float64) {
	if len(rates) != len(cells) {
		panic("model: PopulationVector length mismatch")
	}
	var x, y float64
	for i, c := range cells {
		if c.Depth == 0 {
			continue
		}
		w := (rates[i] - c.Baseline) / c.Depth
		x += w * math.Cos(c.Preferred)
		y += w * math.Sin(c.Preferred)
	}
	return math.Atan2(y, x), math.Hypot(x, y)
}

// SpikeGenerator draws Poisson spike trains from a seeded generator; the same
// seed gives bit-identical trains. It is not safe for concurrent use.
type SpikeGenerator struct {
	rng *rand.Rand
}

// NewSpikeGenerator returns a generator seeded with rand.NewPCG(seed, codingStream).
func NewSpikeGenerator(seed uint64) *SpikeGenerator {
	return &SpikeGenerator{rng: newCodingRand(seed)}
}

// Homogeneous appends to dst the spike times of a homogeneous Poisson process
// of the given rate (Hz) on [t0, t1) (exponential inter-spike intervals,
// Dayan & Abbott 2001 §1.4) and returns the extended slice.
func (g *SpikeGenerator) Homogeneous(dst []float64, rate, t0, t1 float64) ([]float64, error) {
	if err := errors.Join(argNonNeg("rate", rate), argInterval(t0, t1)); err != nil {
		return dst, err
	}
	if rate == 0 {
		return dst, nil
	}
	t := t0
	for {
		t += g.rng.ExpFloat64() / rate
		if t >= t1 {
			return dst, nil
		}
		dst = append(dst, t)
	}
}

// Inhomogeneous appends to dst the spike times of an inhomogeneous Poisson
// process with intensity rate(t) ≤ rateMax on [t0, t1), by thinning (Lewis &
// Shedler 1979): candidates from a homogeneous process of rate rateMax are kept
// with probability rate(t)/rateMax. A tuned neuron is rate(t) = f(s(t)) for a
// TuningCurve f and stimulus s. It returns an error, with the spikes drawn so
// far, if rate(t) leaves [0, rateMax].
func (g *SpikeGenerator) Inhomogeneous(dst []float64, rate func(t float64) float64, rateMax, t0, t1 float64) ([]float64, error) {
	if err := errors.Join(argNonNeg("rateMax", rateMax), argInterval(t0, t1)); err != nil {
		return dst, err
	}
	if rateMax == 0 {
		return dst, nil
	}
	t := t0
	for {
		t += g.rng.ExpFloat64() / rateMax
		if t >= t1 {
			return dst, nil
		}
		r := rate(t)
		if !(r >= 0 && r <= rateMax) {
			return dst, fmt.Errorf("rate: %g at t=%g outside [0, rateMax=%g]", r, t, rateMax)
		}
		if g.rng.Float64()*rateMax < r {
			dst = append(dst, t)
		}
	}
}

// Gamma appends to dst a renewal process with gamma-distributed intervals of
// integer order k and the given mean rate on [t0, t1): ISI CV = 1/√k, and for
// long counting windows Fano factor = CV² (Cox 1962). k = 1 is Poisson.
func (g *SpikeGenerator) Gamma(dst []float64, rate float64, k int, t0, t1 float64) ([]float64, error) {
	errs := []error{argNonNeg("rate", rate), argInterval(t0, t1)}
	if k < 1 {
		errs = append(errs, fmt.Errorf("k: must be >= 1, got %d", k))
	}
	if err := errors.Join(errs...); err != nil {
		return dst, err
	}
	if rate == 0 {
		return dst, nil
	}
	// Start in equilibrium: an Erlang-k interval is k exponential stages and
	// the stationary process sits in each stage with probability 1/k, so the
	// time to the first spike is Erlang-j with j uniform on 1..k (exact).
	t := t0 + g.erlang(1+g.rng.IntN(k), float64(k)*rate)
	for t < t1 {
		dst = append(dst, t)
		t += g.erlang(k, float64(k)*rate)
	}
	return dst, nil
}

// erlang draws the sum of j exponential variates of the given rate.
func (g *SpikeGenerator) erlang(j int, rate float64) float64 {
	var s float64
	for range j {
		s += g.rng.ExpFloat64()
	}
	return s / rate
}

// SpikeCountsTo fills dst with the number of spikes in the bins
// [t0 + i·width, t0 + (i+1)·width), i = 0..len(dst)−1, and returns dst.
// spikes need not be sorted.
func SpikeCountsTo(dst, spikes []float64, t0, width float64) ([]float64, error) {
	if err := errors.Join(argFinite("t0", t0), argPos("width", width)); err != nil {
		return dst, err
	}
	clear(dst)
	for _, t := range spikes {
		i := math.Floor((t - t0) / width)
		if i >= 0 && i < float64(len(dst)) {
			dst[int(i)]++
		}
	}
	return dst, nil
}

// BinnedRateTo fills dst with the binned rate estimate r_i = n_i / width
// (Dayan & Abbott 2001 §1.2) over bins starting at t0.
func BinnedRateTo(dst, spikes []float64, t0, width float64) ([]float64, error) {
	if _, err := SpikeCountsTo(dst, spikes, t0, width); err != nil {
		return dst, err
	}
	for i := range dst {
		dst[i] /= width
	}
	return dst, nil
}

// WindowRateTo fills dst with the sliding-window rate at the times
// t_i = t0 + i·dt:
//
//	r(t) = (1/Δ) ∫_{t−Δ}^{t} Σ_k δ(s − t_k) ds = #{k : t − Δ < t_k ≤ t} / Δ
//
// (a causal rectangular window; Dayan & Abbott 2001 §1.2). spikes must be sorted.
func WindowRateTo(dst, spikes []float64, t0, dt, window float64) ([]float64, error) {
	if err := errors.Join(argFinite("t0", t0), argPos("dt", dt), argPos("window", window),
		argSorted("spikes", spikes)); err != nil {
		return dst, err
	}
	lo, hi := 0, 0 // spikes[lo:hi] lie in (t−Δ, t]
	for i := range dst {
		t := t0 + float64(i)*dt
		for hi < len(spikes) && spikes[hi] <= t {
			hi++
		}
		for lo < hi && spikes[lo] <= t-window {
			lo++
		}
		dst[i] = float64(hi-lo) / window
	}
	return dst, nil
}

// RateKernel is a linear filter w(τ) with unit integral for kernel rate
// estimation r(t) = Σ_k w(t − t_k) (Dayan & Abbott 2001 eq. 1.9).
// Support reports the interval outside which w is taken as zero.
type RateKernel interface {
	Weight(tau float64) float64
	Support() (lo, hi float64)
	Validate() error
}

// GaussianKernel is w(τ) = exp(−τ²/(2σ²)) / (√(2π) σ) (Dayan & Abbott 2001
// eq. 1.11), truncated at ±6σ (lost mass 2·10⁻⁹).
type GaussianKernel struct{ Sigma float64 }

// Weight returns w(τ).
func (k GaussianKernel) Weight(tau float64) float64 {
	d := tau / k.Sigma
	return math.Exp(-0.5*d*d) / (math.Sqrt(2*math.Pi) * k.Sigma)
}

// Support returns the truncation interval.
func (k GaussianKernel) Support() (lo, hi float64) { return -6 * k.Sigma, 6 * k.Sigma }

// Validate reports an invalid width.
func (k GaussianKernel) Validate() error { return argPos("Sigma", k.Sigma) }

// ExponentialKernel is the causal w(τ) = exp(−τ/τ_w)/τ_w for τ ≥ 0, truncated
// at 20 τ_w (lost mass 2·10⁻⁹).
type ExponentialKernel struct{ Tau float64 }

// Weight returns w(τ).
func (k ExponentialKernel) Weight(tau float64) float64 {
	if tau < 0 {
		return 0
	}
	return math.Exp(-tau/k.Tau) / k.Tau
}

// Support returns the truncation interval.
func (k ExponentialKernel) Support() (lo, hi float64) { return 0, 20 * k.Tau }

// Validate reports an invalid width.
func (k ExponentialKernel) Validate() error { return argPos("Tau", k.Tau) }

// AlphaKernel is the causal w(τ) = α² τ exp(−ατ) for τ ≥ 0 (Dayan & Abbott
// 2001 eq. 1.12), truncated at 30/α (lost mass 3·10⁻¹²).
type AlphaKernel struct{ Alpha float64 }

// Weight returns w(τ).
func (k AlphaKernel) Weight(tau float64) float64 {
	if tau < 0 {
		return 0
	}
	return k.Alpha * k.Alpha * tau * math.Exp(-k.Alpha*tau)
}

// Support returns the truncation interval.
func (k AlphaKernel) Support() (lo, hi float64) { return 0, 30 / k.Alpha }

// Validate reports an invalid width.
func (k AlphaKernel) Validate() error { return argPos("Alpha", k.Alpha) }

// KernelRateTo fills dst with r(t_i) = Σ_k w(t_i − t_k) at t_i = t0 + i·dt.
// The cost is O(len(spikes) · support/dt); spikes need not be sorted.
func KernelRateTo(dst, spikes []float64, t0, dt float64, k RateKernel) ([]float64, error) {
	if err := errors.Join(argFinite("t0", t0), argPos("dt", dt), k.Validate()); err != nil {
		return dst, err
	}
	clear(dst)
	lo, hi := k.Support()
	n := len(dst)
	for _, s := range spikes {
		// t_i − s ∈ [lo, hi]  ⇔  i ∈ [(s+lo−t0)/dt, (s+hi−t0)/dt]
		i0 := max(0, int(math.Ceil((s+lo-t0)/dt)))
		i1 := min(n-1, int(math.Floor((s+hi-t0)/dt)))
		for i := i0; i <= i1; i++ {
			dst[i] += k.Weight(t0 + float64(i)*dt - s)
		}
	}
	return dst, nil
}

// EventPhaseTo fills dst with the phase of each spike against reference
// events (Dayan & Abbott 2001 §1.5, e.g. theta-phase precession):
//
//	φ = 2π (t − t_k)/(t_{k+1} − t_k),  t_k ≤ t < t_{k+1}
//
// in [0, 2π). Spikes before the first or at/after the last event get NaN.
// events must be strictly increasing; spikes may be in any order.
func EventPhaseTo(dst, spikes, events []float64) ([]float64, error) {
	if len(dst) != len(spikes) {
		panic("model: EventPhaseTo length mismatch")
	}
	for i := 1; i < len(events); i++ {
		if !(events[i] > events[i-1]) {
			return dst, fmt.Errorf("events: must be strictly increasing, events[%d]=%g after %g", i, events[i], events[i-1])
		}
	}
	for i, t := range spikes {
		k := sort.SearchFloat64s(events, t) // first event ≥ t
		if k < len(events) && events[k] == t {
			k++
		}
		k-- // last event ≤ t
		if k < 0 || k >= len(events)-1 {
			dst[i] = math.NaN()
			continue
		}
		dst[i] = 2 * math.Pi * (t - events[k]) / (events[k+1] - events[k])
	}
	return dst, nil
}

// CircularMean returns the mean direction (in (−π, π]) and resultant length R
// ∈ [0, 1] of the phases, skipping NaN. R is the vector strength of phase
// locking (Goldberg & Brown 1969); for n uniform phases E[R²] = 1/n.
func CircularMean(phases []float64) (mean, r float64) {
	var c, s float64
	var n int
	for _, p := range phases {
		if math.IsNaN(p) {
			continue
		}
		c += math.Cos(p)
		s += math.Sin(p)
		n++
	}
	if n == 0 {
		return math.NaN(), 0
	}
	return math.Atan2(s, c), math.Hypot(c, s) / float64(n)
}

// Hilbert computes the analytic signal z = x + i H[x] of real blocks of a
// fixed length by FFT (Marple 1999): Z_k = X_k·{1, 2, …, 2, 1 (Nyquist), 0, …}.
// For x = A cos(ωt + φ) with a whole number of periods in the block, z =
// A e^{i(ωt+φ)} exactly; otherwise the ends carry edge effects. Plan once
// with NewHilbert; calls do not allocate. Not safe for concurrent use.
type Hilbert struct {
	n    int
	rfft *fourier.FFT
	cfft *fourier.CmplxFFT
	half []complex128
	full []complex128
}

// NewHilbert plans the transforms for blocks of n ≥ 2 samples.
func NewHilbert(n int) *Hilbert {
	if n < 2 {
		panic("model: NewHilbert needs n >= 2")
	}
	return &Hilbert{n: n, rfft: fourier.NewFFT(n), cfft: fourier.NewCmplxFFT(n),
		half: make([]complex128, n/2+1), full: make([]complex128, n)}
}

// Len returns the block length.
func (h *Hilbert) Len() int { return h.n }

// AnalyticTo fills dst (length Len) with the analytic signal of x (length Len).
func (h *Hilbert) AnalyticTo(dst []complex128, x []float64) []complex128 {
	if len(dst) != h.n || len(x) != h.n {
		panic("model: Hilbert length mismatch")
	}
	h.rfft.Coefficients(h.half, x)
	inv := 1 / float64(h.n)
	clear(h.full)
	h.full[0] = h.half[0] * complex(inv, 0)
	last := len(h.half) - 1
	for k := 1; k <= last; k++ {
		w := 2 * inv
		if h.n%2 == 0 && k == last {
			w = inv // the Nyquist bin is its own mirror
		}
		h.full[k] = h.half[k] * complex(w, 0)
	}
	h.cfft.Sequence(dst, h.full)
	return dst
}

// PhaseTo fills dst with the instantaneous phase arg z(t) ∈ (−π, π] of x;
// scratch must have length Len.
func (h *Hilbert) PhaseTo(dst []float64, scratch []complex128, x []float64) []float64 {
	h.AnalyticTo(scratch, x)
	for i, z := range scratch {
		dst[i] = math.Atan2(imag(z), real(z))
	}
	return dst
}

// EnvelopeTo fills dst with the amplitude envelope |z(t)| of x; scratch must
// have length Len.
func (h *Hilbert) EnvelopeTo(dst []float64, scratch []complex128, x []float64) []float64 {
	h.AnalyticTo(scratch, x)
	for i, z := range scratch {
		dst[i] = math.Hypot(real(z), imag(z))
	}
	return dst
}

// SpikePhaseTo fills dst with the phase of an oscillation at each spike time:
// the analytic signal z, sampled at t0 + i/fs, is interpolated linearly to the
// spike time and its argument taken. Spikes outside the sampled span get NaN.
func SpikePhaseTo(dst, spikes []float64, z []complex128, t0, fs float64) ([]float64, error) {
	if len(dst) != len(spikes) {
		panic("model: SpikePhaseTo length mismatch")
	}
	if err := errors.Join(argFinite("t0", t0), argPos("fs", fs)); err != nil {
		return dst, err
	}
	for i, t := range spikes {
		u := (t - t0) * fs
		k := int(math.Floor(u))
		if !(u >= 0) || k > len(z)-1 || (k == len(z)-1 && u > float64(k)) {
			dst[i] = math.NaN()
			continue
		}
		v := z[k]
		if k < len(z)-1 {
			f := u - float64(k)
			v = complex(1-f, 0)*z[k] + complex(f, 0)*z[k+1]
		}
		dst[i] = math.Atan2(imag(v), real(v))
	}
	return dst, nil
}

// Parameter checks shared by this part of the package; each names the field.

func argFinite(name string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%s: must be finite, got %g", name, v)
	}
	return nil
}

func argPos(name string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return fmt.Errorf("%s: must be > 0 and finite, got %g", name, v)
	}
	return nil
}

func argNonNeg(name string, v float64) error {
	if !(v >= 0) || math.IsInf(v, 0) {
		return fmt.Errorf("%s: must be >= 0 and finite, got %g", name, v)
	}
	return nil
}

func argInterval(t0, t1 float64) error {
	if err := errors.Join(argFinite("t0", t0), argFinite("t1", t1)); err != nil {
		return err
	}
	if t1 < t0 {
		return fmt.Errorf("t1: must be >= t0=%g, got %g", t0, t1)
	}
	return nil
}

func argSorted(name string, v []float64) error {
	for i := 1; i < len(v); i++ {
		if v[i] < v[i-1] {
			return fmt.Errorf("%s: must be sorted, [%d]=%g < [%d]=%g", name, i, v[i], i-1, v[i-1])
		}
	}
	return nil
}
