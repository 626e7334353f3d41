package sim

import "math"

// expNeg returns e^{−x} for x ≥ 0 (x above 700 is taken as 700, where
// e^{−x} < 10⁻³⁰⁴), with relative error below 10⁻¹³, several times faster
// than math.Exp and inlinable, for the per-neuron propagator of
// conductance-based neurons. Table-driven range reduction (Tang 1989, ACM
// TOMS 15:144):
//
//	x = (64m + j)·ln2/64 + r,  |r| ≤ ln2/128,  0 ≤ j < 64
//	e^{−x} = 2^{−m} · 2^{−j/64} · e^{−r}
//
// with e^{−r} by its Taylor polynomial to r⁴ (remainder < |r|⁵/5! < 4·10⁻¹⁴)
// and ln2/64 split in two parts (Cody & Waite 1980) so that r is exact to
// double precision.
func expNeg(x float64) float64 {
	if x > 700 {
		x = 700
	}
	k := int64(x*expInvLn2o64 + 0.5) // x ≥ 0, so truncation rounds
	fk := float64(k)
	r := x - fk*expLn2o64Hi - fk*expLn2o64Lo
	p := 1 - r*(1-r*(0.5-r*(1.0/6-r*(1.0/24))))
	return p * exp2Tab[k&63] * math.Float64frombits(uint64(1023-(k>>6))<<52)
}

const (
	expInvLn2o64 = 64 / math.Ln2
	expLn2o64Hi  = 6.93147180369123816490e-01 / 64 // ln 2 to 32 bits (fdlibm's ln2HI)
	expLn2o64Lo  = 1.90821492927058770002e-10 / 64 // the rest (fdlibm's ln2LO)
)

// exp2Tab[j] = 2^{−j/64}.
var exp2Tab = func() (t [64]float64) {
	for j := range t {
		t[j] = math.Exp2(-float64(j) / 64)
	}
	return t
}()

// phi1 returns φ₁(x) = (1 − e^{−x})/x for x ≥ 0 (φ₁(0) = 1), the function
// of the exponential Euler step V ← V + h·φ₁(h·g)·f(V) (Hochbruck &
// Ostermann 2010, Acta Numerica 19:209), with relative error below
// 4·10⁻¹³. For x ≤ 1/2 it evaluates a degree-7 polynomial, the Chebyshev
// near-minimax fit of φ₁ on [0, 1/2] (mpmath chebyfit; its error, 2.7·10⁻¹³
// against φ₁ ≥ 0.78 there, is below the 10⁻¹² of the degree-10 Taylor
// series it replaces, with three fewer multiply-adds), by Estrin's scheme,
// which keeps the dependency chain short, and neither divides nor calls a
// function; above 1/2 (rare in the presets) it returns (1 − e^{−x})/x with
// expNeg (no cancellation there).
func phi1(x float64) float64 {
	if x > phiMaxX {
		return (1 - expNeg(x)) / x
	}
	return phi1Poly(x)
}

// phiMaxX is the end of the polynomial's interval.
const phiMaxX = 0.5

// Coefficients of the near-minimax polynomial of φ₁ on [0, 1/2] (Chebyshev
// fit of degree 7, 40-digit arithmetic); the Taylor coefficients
// (−1)^k/(k+1)! to within 10⁻⁶ relative.
const (
	phiC0 = 0.9999999999997306130316
	phiC1 = -0.4999999999310095066421
	phiC2 = 0.1666666637631935134911
	phiC3 = -0.04166662002791811015949
	phiC4 = 0.008332964462342350615158
	phiC5 = -0.001387297775384406178099
	phiC6 = 0.0001945789044994977257665
	phiC7 = -0.00001989322957309053036039
)

// phi1Poly is the polynomial of φ₁ by Estrin's scheme; kernLIFCond has the
// same expression written out (the compiler would not inline this function
// into the loop).
func phi1Poly(x float64) float64 {
	x2 := x * x
	return ((phiC0 + phiC1*x) + (phiC2+phiC3*x)*x2) +
		((phiC4+phiC5*x)+(phiC6+phiC7*x)*x2)*(x2*x2)
}

// splitmix64 advances the SplitMix64 generator of Steele, Lea & Flood (2014,
// OOPSLA, "Fast splittable pseudorandom number generators") held in *s and
// returns its next output: a Weyl sequence step followed by a 64-bit
// finalizer (it passes BigCrush). It is the per-block stream of the engine's
// per-step draws: small state, inlinable, a few ns per draw.
func splitmix64(s *uint64) uint64 {
	*s += 0x9e3779b97f4a7c15
	return mix64(*s)
}

// mix64 is the SplitMix64 finalizer (a bijection of uint64).
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// streamState returns the initial SplitMix64 state of one stream of one
// neuron block: distinct (seed, stream, block) give unrelated states.
func streamState(seed uint64, stream, block int) uint64 {
	return mix64(mix64(seed^0x5bd1e9955bd1e995) ^ mix64(uint64(stream)<<32|uint64(uint32(block))))
}

// unit53 maps a 64-bit draw to a uniform float64 in [0, 1).
func unit53(z uint64) float64 { return float64(z>>11) * 0x1p-53 }

// poissonTable draws Poisson(λ) counts by inversion of the tabulated CDF
// (Devroye 1986, Non-Uniform Random Variate Generation, §III.2), from one
// 64-bit draw z read as the uniform u = ⌊z/2¹¹⌋·2⁻⁵³. A direct table on the
// top 12 bits of z (the cell ⌊4096u⌋) answers at once whenever the cell
// lies inside one step of the CDF, which is all but about (number of
// counts)/4096 of the cells; otherwise an index (guide) table (Chen & Asau
// 1974, J Chinese Inst Eng 4:39) starts the search. Both give exactly the
// inversion result for u. The CDF stops where the remaining tail mass is
// below 2⁻⁵³ (its last entry is set to 1, which assigns that tail to the
// last count).
type poissonTable struct {
	direct [1 << poissonBits]int16 // count for a cell inside one CDF step, else −1
	cdf    []float64               // cdf[k] = P(X ≤ k)
	guide  []int32                 // guide[j] = min{k : cdf[k] > j/len(guide)}
	gsize  float64
}

const poissonBits = 12

// newPoissonTable tabulates Poisson(λ) for 0 ≤ λ ≤ maxPoissonL (so that
// e^{−λ} does not underflow).
func newPoissonTable(lambda float64) poissonTable {
	p := math.Exp(-lambda)
	cdf := []float64{p}
	c := p
	for k := 1; ; k++ {
		p *= lambda / float64(k)
		c += p
		// Stop past the mode once the rest of the mass is negligible.
		if float64(k) > lambda && (1-c < 0x1p-53 || p == 0) {
			break
		}
		cdf = append(cdf, c)
	}
	cdf[len(cdf)-1] = 1
	g := 1
	for g < 2*len(cdf) {
		g *= 2
	}
	t := poissonTable{cdf: cdf, guide: make([]int32, g), gsize: float64(g)}
	k := 0
	for j := range t.guide {
		for cdf[k] <= float64(j)/float64(g) {
			k++
		}
		t.guide[j] = int32(k)
	}
	// Cell j holds u ∈ [j/4096, (j+1)/4096 − 2⁻⁵³]: one count when the
	// inversion of both ends agrees and fits an int16.
	const cells = 1 << poissonBits
	for j := range t.direct {
		lo := t.search(float64(j) / cells)
		hi := t.search(float64(j+1)/cells - 0x1p-53)
		t.direct[j] = -1
		if lo == hi && lo < math.MaxInt16 {
			t.direct[j] = int16(lo)
		}
	}
	return t
}

// search returns the count whose CDF interval holds u ∈ [0, 1).
func (t *poissonTable) search(u float64) int {
	k := int(t.guide[int(u*t.gsize)])
	for t.cdf[k] <= u {
		k++
	}
	return k
}

// sample returns the Poisson count for the 64-bit draw z.
func (t *poissonTable) sample(z uint64) int {
	if k := t.direct[z>>(64-poissonBits)]; k >= 0 {
		return int(k)
	}
	return t.search(unit53(z))
}
