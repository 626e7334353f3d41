package model

import (
	"errors"
	"fmt"
	"math"
)

// Information measures of discrete data (SCIENCE §5). Symbols are small
// non-negative integers; all results are in bits.

// Entropy returns H = −Σ p log₂ p of a probability vector (zeros skipped).
func Entropy(p []float64) float64 {
	var h float64
	for _, v := range p {
		if v > 0 {
			h -= v * math.Log2(v)
		}
	}
	return h
}

// BinaryEntropy returns H₂(q) = −q log₂ q − (1−q) log₂(1−q).
func BinaryEntropy(q float64) float64 { return Entropy([]float64{q, 1 - q}) }

// MIEstimate is a mutual-information estimate from N paired samples.
type MIEstimate struct {
	N         int
	Plugin    float64 // the plug-in ("naive") estimate Σ p̂(s,r) log₂ p̂(s,r)/(p̂(s)p̂(r))
	Bias      float64 // Panzeri–Treves first-order bias of Plugin
	Corrected float64 // Plugin − Bias
}

// MutualInfo estimates I(S; R) = Σ p(s,r) log₂ p(s,r)/(p(s)p(r)) from paired
// symbols s[i] ∈ [0, ns), r[i] ∈ [0, nr), with the first-order bias correction
// of Panzeri & Treves (1996, Network 7:87, eq. 12; Treves & Panzeri 1995):
//
//	Bias = [Σ_s (R̃_s − 1) − (R̃ − 1)] / (2N ln 2)
//
// where R̃_s is the number of responses observed for stimulus s and R̃ the
// number observed overall (the "naive count" of relevant bins). For
// independent S and R with all bins occupied this is the Miller–Madow value
// (ns − 1)(nr − 1)/(2N ln 2). The correction is reliable while N exceeds a
// few times ns·nr.
func MutualInfo(s, r []int, ns, nr int) (MIEstimate, error) {
	joint, err := jointCounts(s, r, ns, nr)
	if err != nil {
		return MIEstimate{}, err
	}
	return miFromCounts(joint, ns, nr, len(s)), nil
}

func jointCounts(s, r []int, ns, nr int) ([]int, error) {
	var errs []error
	if len(s) != len(r) {
		errs = append(errs, fmt.Errorf("r: length %d, want len(s) = %d", len(r), len(s)))
	}
	if len(s) == 0 {
		errs = append(errs, errors.New("s: no samples"))
	}
	if ns < 1 || nr < 1 {
		errs = append(errs, fmt.Errorf("ns, nr: must be >= 1, got %d, %d", ns, nr))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	joint := make([]int, ns*nr)
	for i := range s {
		if s[i] < 0 || s[i] >= ns {
			return nil, fmt.Errorf("s[%d]: %d outside [0, %d)", i, s[i], ns)
		}
		if r[i] < 0 || r[i] >= nr {
			return nil, fmt.Errorf("r[%d]: %d outside [0, %d)", i, r[i], nr)
		}
		joint[s[i]*nr+r[i]]++
	}
	return joint, nil
}

func miFromCounts(joint []int, ns, nr, n int) MIEstimate {
	ps := make([]int, ns)
	pr := make([]int, nr)
	relS := 0
	for a := range ns {
		occ := 0
		for b := range nr {
			c := joint[a*nr+b]
			ps[a] += c
			pr[b] += c
			if c > 0 {
				occ++
			}
		}
		if occ > 0 {
			relS += occ - 1
		}
	}
	relR := 0
	for _, c := range pr {
		if c > 0 {
			relR++
		}
	}
	N := float64(n)
	var mi float64
	for a := range ns {
		for b := range nr {
			c := float64(joint[a*nr+b])
			if c > 0 {
				mi += c / N * math.Log2(c*N/(float64(ps[a])*float64(pr[b])))
			}
		}
	}
	bias := float64(relS-(relR-1)) / (2 * N * math.Ln2)
	return MIEstimate{N: n, Plugin: mi, Bias: bias, Corrected: mi - bias}
}

// MutualInfoShuffle returns the mean and standard deviation of the plug-in MI
// over `shuffles` random pairings of s with a permutation of r (seeded): the
// shuffle estimate of the bias under the null of independence (Optican et al.
// 1991; Panzeri et al. 2007). Plugin − mean is the shuffle-corrected MI.
func MutualInfoShuffle(s, r []int, ns, nr, shuffles int, seed uint64) (mean, sd float64, err error) {
	if _, err := jointCounts(s, r, ns, nr); err != nil {
		return 0, 0, err
	}
	if shuffles < 2 {
		return 0, 0, fmt.Errorf("shuffles: must be >= 2, got %d", shuffles)
	}
	rng := newCodingRand(seed)
	perm := make([]int, len(r))
	copy(perm, r)
	joint := make([]int, ns*nr)
	vals := make([]float64, shuffles)
	for k := range vals {
		rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		clear(joint)
		for i := range s {
			joint[s[i]*nr+perm[i]]++
		}
		vals[k] = miFromCounts(joint, ns, nr, len(s)).Plugin
	}
	mean, v := meanVariance(vals)
	return mean, math.Sqrt(v), nil
}

// ChannelMI returns the exact I(X; Y) of a discrete memoryless channel with
// input distribution px (length nx) and transition matrix channel[x*ny+y] =
// P(y | x) (Cover & Thomas 2006, eq. 2.28).
func ChannelMI(px, channel []float64, ny int) float64 {
	nx := len(px)
	if len(channel) != nx*ny {
		panic("model: ChannelMI shape mismatch")
	}
	q := make([]float64, ny)
	for x := range nx {
		for y := range ny {
			q[y] += px[x] * channel[x*ny+y]
		}
	}
	var mi float64
	for x := range nx {
		for y := range ny {
			p := channel[x*ny+y]
			if px[x] > 0 && p > 0 {
				mi += px[x] * p * math.Log2(p/q[y])
			}
		}
	}
	return mi
}

// ChannelCapacity returns the capacity C = max_{p(x)} I(X; Y) of a discrete
// memoryless channel (channel[x*ny+y] = P(y|x), rows summing to 1) and the
// capacity-achieving input distribution, by the Blahut–Arimoto algorithm
// (Blahut 1972; Arimoto 1972). Iteration stops when the upper and lower
// bounds max_x D(P(·|x)‖q) and log₂ Σ_x p(x) 2^{D(P(·|x)‖q)} are within tol
// bits; the returned C is their midpoint.
func ChannelCapacity(channel []float64, nx, ny int, tol float64) (float64, []float64, error) {
	var errs []error
	if nx < 1 || ny < 1 || len(channel) != nx*ny {
		errs = append(errs, fmt.Errorf("channel: need nx*ny = %d*%d entries, got %d", nx, ny, len(channel)))
	}
	errs = append(errs, argPos("tol", tol))
	if err := errors.Join(errs...); err != nil {
		return 0, nil, err
	}
	for x := range nx {
		var sum float64
		for y := range ny {
			v := channel[x*ny+y]
			if !(v >= 0 && v <= 1) {
				return 0, nil, fmt.Errorf("channel[%d,%d]: %g is not a probability", x, y, v)
			}
			sum += v
		}
		if math.Abs(sum-1) > 1e-9 {
			return 0, nil, fmt.Errorf("channel row %d: sums to %g, want 1", x, sum)
		}
	}
	p := make([]float64, nx)
	for i := range p {
		p[i] = 1 / float64(nx)
	}
	q := make([]float64, ny)
	d := make([]float64, nx)
	for range 100000 {
		clear(q)
		for x := range nx {
			for y := range ny {
				q[y] += p[x] * channel[x*ny+y]
			}
		}
		upper := math.Inf(-1)
		var z float64
		for x := range nx {
			var dx float64
			for y := range ny {
				if v := channel[x*ny+y]; v > 0 {
					dx += v * math.Log2(v/q[y])
				}
			}
			d[x] = dx
			upper = max(upper, dx)
			z += p[x] * math.Exp2(dx)
		}
		lower := math.Log2(z)
		if upper-lower < tol {
			return 0.5 * (upper + lower), p, nil
		}
		for x := range nx {
			p[x] *= math.Exp2(d[x]) / z
		}
	}
	return 0, p, errors.New("model: Blahut–Arimoto did not converge")
}

// CodingEfficiency returns η = I/C ∈ [0, 1]: the fraction of a channel's
// capacity C carried by the information rate I (Rieke et al. 1997, §3.1.4,
// with C the capacity or, for spike trains, the response entropy).
func CodingEfficiency(info, capacity float64) (float64, error) {
	if err := errors.Join(argNonNeg("info", info), argPos("capacity", capacity)); err != nil {
		return 0, err
	}
	return info / capacity, nil
}

// TransferEntropy returns the plug-in transfer entropy from Y to X (Schreiber
// 2000, Phys Rev Lett 85:461, eq. 4), for symbol series over alphabet
// [0, alphabet):
//
//	T_{Y→X} = Σ p(x_{t+1}, x_t⁽ᵏ⁾, y_{t+1−d}⁽ˡ⁾) log₂ p(x_{t+1} | x_t⁽ᵏ⁾, y_{t+1−d}⁽ˡ⁾) / p(x_{t+1} | x_t⁽ᵏ⁾)
//
// with x_t⁽ᵏ⁾ = (x_t, …, x_{t−k+1}), y⁽ˡ⁾ the l values of Y ending at lag
// d ≥ 1 before x_{t+1}. For k = l = d = 1 it is the conditional mutual
// information I(X_{t+1}; Y_t | X_t). It is ≥ 0 and positive-biased by about
// (A−1)·A^k·(A^l−1)/(2N ln 2) bits for N samples (Panzeri & Treves 1996).
func TransferEntropy(x, y []int, alphabet, k, l, d int) (float64, error) {
	var errs []error
	if len(x) != len(y) {
		errs = append(errs, fmt.Errorf("y: length %d, want len(x) = %d", len(y), len(x)))
	}
	if alphabet < 2 {
		errs = append(errs, fmt.Errorf("alphabet: must be >= 2, got %d", alphabet))
	}
	if k < 1 {
		errs = append(errs, fmt.Errorf("k: must be >= 1, got %d", k))
	}
	if l < 1 {
		errs = append(errs, fmt.Errorf("l: must be >= 1, got %d", l))
	}
	if d < 1 {
		errs = append(errs, fmt.Errorf("d: must be >= 1, got %d", d))
	}
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	size := 1.0
	for range 1 + k + l {
		size *= float64(alphabet)
	}
	if size > 1<<24 {
		return 0, fmt.Errorf("alphabet^(1+k+l) = %g states exceeds 2^24", size)
	}
	for i := range x {
		if x[i] < 0 || x[i] >= alphabet || y[i] < 0 || y[i] >= alphabet {
			return 0, fmt.Errorf("sample %d: symbol outside [0, %d)", i, alphabet)
		}
	}
	// Rows t+1 from start to len−1 need x[t+1−k..t] and y[t+1−d−l+1..t+1−d].
	start := max(k, d+l-1)
	if start >= len(x) {
		return 0, fmt.Errorf("x: %d samples too short for k=%d, l=%d, d=%d", len(x), k, l, d)
	}
	A := alphabet
	ak, al := ipow(A, k), ipow(A, l)
	nABC := make([]int, A*ak*al) // (x_{t+1}, x-history, y-history)
	nAB := make([]int, A*ak)
	nBC := make([]int, ak*al)
	nB := make([]int, ak)
	for t1 := start; t1 < len(x); t1++ {
		b := 0
		for j := 1; j <= k; j++ {
			b = b*A + x[t1-j]
		}
		c := 0
		for j := 0; j < l; j++ {
			c = c*A + y[t1-d-j]
		}
		a := x[t1]
		nABC[(a*ak+b)*al+c]++
		nAB[a*ak+b]++
		nBC[b*al+c]++
		nB[b]++
	}
	n := float64(len(x) - start)
	var te float64
	for a := range A {
		for b := range ak {
			for c := range al {
				v := nABC[(a*ak+b)*al+c]
				if v == 0 {
					continue
				}
				f := float64(v)
				te += f / n * math.Log2(f*float64(nB[b])/(float64(nBC[b*al+c])*float64(nAB[a*ak+b])))
			}
		}
	}
	return max(te, 0), nil
}

func ipow(a, k int) int {
	p := 1
	for range k {
		p *= a
	}
	return p
}
