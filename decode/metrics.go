package decode

import (
	"fmt"
	"math"
)

// R2 accumulates streaming regression metrics between predictions and ground
// truth, per dimension, in one pass and without allocating: the coefficient
// of determination
//
//	R² = 1 − SS_res/SS_tot,  SS_res = Σ (p − y)²,  SS_tot = Σ (y − ȳ)²,
//
// with SS_tot taken about the mean of the truth y, Pearson's correlation
//
//	ρ = Σ (p − p̄)(y − ȳ) / √(Σ (p − p̄)² Σ (y − ȳ)²),
//
// and the root-mean-square error √(SS_res/N). The centred sums are updated
// with Welford's (1962) recurrence, generalised to co-moments, so that no
// catastrophic cancellation occurs on data with a large mean:
//
//	δ_y = y − ȳ_{N−1},  ȳ_N = ȳ_{N−1} + δ_y/N,  M_yy += δ_y (y − ȳ_N),
//	C_py += δ_p (y − ȳ_N)  (and likewise M_pp).
//
// Where a metric is undefined it is reported finite, following scikit-learn's
// force_finite convention: R² is 1 when the truth is constant and predicted
// exactly, else 0 when the truth is constant; ρ is 0 when either side is
// constant; everything is 0 before the first sample.
//
// Concurrency: an R2 is used by one goroutine at a time.
type R2 struct {
	n                 int
	mp, my            []float64 // means
	mpp, myy, mpy, ss []float64 // centred (co)moments and SS_res
}

// NewR2 returns an accumulator over dims dimensions; it panics if dims < 1
// (a wiring error).
func NewR2(dims int) *R2 {
	if dims < 1 {
		panic(fmt.Sprintf("decode.NewR2: dims = %d, must be ≥ 1", dims))
	}
	buf := make([]float64, 6*dims)
	return &R2{
		mp: buf[0*dims : 1*dims], my: buf[1*dims : 2*dims],
		mpp: buf[2*dims : 3*dims], myy: buf[3*dims : 4*dims],
		mpy: buf[4*dims : 5*dims], ss: buf[5*dims : 6*dims],
	}
}

// Dims returns the number of dimensions.
func (r *R2) Dims() int { return len(r.mp) }

// Count returns the number of samples added.
func (r *R2) Count() int { return r.n }

// Reset forgets every sample.
func (r *R2) Reset() {
	r.n = 0
	for _, s := range [][]float64{r.mp, r.my, r.mpp, r.myy, r.mpy, r.ss} {
		clear(s)
	}
}

// Add accounts one prediction against its truth. It returns an error, and
// accounts nothing, when either has the wrong length or a non-finite value.
func (r *R2) Add(pred, truth []float64) error {
	d := len(r.mp)
	if len(pred) != d || len(truth) != d {
		return fmt.Errorf("r2: len(pred) = %d and len(truth) = %d, want %d", len(pred), len(truth), d)
	}
	if i, ok := allFinite(pred); !ok {
		return fmt.Errorf("r2: pred[%d] is %g", i, pred[i])
	}
	if i, ok := allFinite(truth); !ok {
		return fmt.Errorf("r2: truth[%d] is %g", i, truth[i])
	}
	r.n++
	inv := 1 / float64(r.n)
	for j := 0; j < d; j++ {
		p, y := pred[j], truth[j]
		dp := p - r.mp[j]
		dy := y - r.my[j]
		r.mp[j] += dp * inv
		r.my[j] += dy * inv
		r.mpp[j] += dp * (p - r.mp[j])
		r.myy[j] += dy * (y - r.my[j])
		r.mpy[j] += dp * (y - r.my[j])
		e := p - y
		r.ss[j] += e * e
	}
	return nil
}

// R2To writes R² per dimension into dst (grown if needed) and returns it.
func (r *R2) R2To(dst []float64) []float64 {
	dst = grow(dst, len(r.mp))
	for j := range dst {
		switch {
		case r.n == 0:
			dst[j] = 0
		case r.myy[j] > 0:
			dst[j] = 1 - r.ss[j]/r.myy[j]
		case r.ss[j] == 0:
			dst[j] = 1
		default:
			dst[j] = 0
		}
	}
	return dst
}

// CorrTo writes Pearson's correlation per dimension into dst (grown if
// needed) and returns it.
func (r *R2) CorrTo(dst []float64) []float64 {
	dst = grow(dst, len(r.mp))
	for j := range dst {
		den := math.Sqrt(r.mpp[j] * r.myy[j])
		if r.n == 0 || !(den > 0) {
			dst[j] = 0
			continue
		}
		dst[j] = max(-1, min(1, r.mpy[j]/den))
	}
	return dst
}

// RMSETo writes the root-mean-square error per dimension into dst (grown if
// needed) and returns it.
func (r *R2) RMSETo(dst []float64) []float64 {
	dst = grow(dst, len(r.mp))
	for j := range dst {
		if r.n == 0 {
			dst[j] = 0
			continue
		}
		dst[j] = math.Sqrt(r.ss[j] / float64(r.n))
	}
	return dst
}
