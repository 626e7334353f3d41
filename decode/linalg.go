package decode

import "math"

// Small dense linear algebra on row-major []float64, written by hand so that
// the per-bin decoder step allocates nothing and so that a failing Cholesky
// factorisation can say which row (channel or state) is to blame. Matrices
// are square n×n unless stated; a[i*n+j] is row i, column j.

// cholesky factors the symmetric matrix a (n×n, only its lower triangle is
// read) in place into its lower Cholesky factor L, a = L Lᵀ, and returns -1.
// When a is not (numerically) positive definite it returns the first column j
// whose pivot fails, leaving a partly overwritten.
//
// Column j fails when its squared pivot a_jj − Σ_k L_jk² is not greater than
// tol·a_jj. The squared pivot equals a_jj (1 − R_j²), where R_j² is the
// coefficient of determination of row j regressed on rows 0..j−1, so tol is a
// scale-free collinearity threshold: tol = 1e-10 rejects a row that earlier
// rows explain to within a fraction 1e-10 of its variance. A zero or non-finite
// diagonal always fails.
func cholesky(a []float64, n int, tol float64) int {
	for j := 0; j < n; j++ {
		rj := a[j*n : j*n+j]
		ajj := a[j*n+j]
		s := ajj
		for _, v := range rj {
			s -= v * v
		}
		if !(ajj > 0) || !(s > tol*ajj) || math.IsInf(ajj, 0) {
			return j
		}
		ljj := math.Sqrt(s)
		a[j*n+j] = ljj
		for i := j + 1; i < n; i++ {
			ri := a[i*n : i*n+j]
			s := a[i*n+j]
			for k, v := range ri {
				s -= v * rj[k]
			}
			a[i*n+j] = s / ljj
		}
	}
	return -1
}

// cholSolve solves (L Lᵀ) x = b in place (b becomes x), with L the lower
// factor left in l by cholesky.
func cholSolve(l []float64, n int, b []float64) {
	// Forward: L y = b.
	for i := 0; i < n; i++ {
		s := b[i]
		ri := l[i*n : i*n+i]
		for k, v := range ri {
			s -= v * b[k]
		}
		b[i] = s / l[i*n+i]
	}
	// Backward: Lᵀ x = y.
	for i := n - 1; i >= 0; i-- {
		s := b[i]
		for k := i + 1; k < n; k++ {
			s -= l[k*n+i] * b[k]
		}
		b[i] = s / l[i*n+i]
	}
}

// cholInverse writes (L Lᵀ)⁻¹ into dst (n×n), symmetrised, using work (len
// ≥ n) as scratch.
func cholInverse(dst, l []float64, n int, work []float64) {
	work = work[:n]
	for c := 0; c < n; c++ {
		for i := range work {
			work[i] = 0
		}
		work[c] = 1
		cholSolve(l, n, work)
		for i, v := range work {
			dst[i*n+c] = v
		}
	}
	symmetrize(dst, n)
}

// symmetrize replaces a by (a + aᵀ)/2.
func symmetrize(a []float64, n int) {
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			v := 0.5 * (a[i*n+j] + a[j*n+i])
			a[i*n+j], a[j*n+i] = v, v
		}
	}
}

// mulVec writes a x into dst; a is r×c, x has c entries, dst r.
func mulVec(dst, a []float64, r, c int, x []float64) {
	x = x[:c]
	for i := 0; i < r; i++ {
		dst[i] = dot(a[i*c:i*c+c], x)
	}
}

// dot returns Σ a_i b_i (len(b) ≥ len(a)). Four partial sums break the
// dependency chain of one running sum, so that the additions of long rows
// (a gain row over 192 channels) pipeline instead of waiting on each other.
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		a4, b4 := a[i:i+4:i+4], b[i:i+4:i+4]
		s0 += a4[0] * b4[0]
		s1 += a4[1] * b4[1]
		s2 += a4[2] * b4[2]
		s3 += a4[3] * b4[3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// mulABt writes a bᵀ into dst: a is r×k, b is c×k, dst r×c.
func mulABt(dst, a, b []float64, r, k, c int) {
	for i := 0; i < r; i++ {
		ai := a[i*k : i*k+k]
		for j := 0; j < c; j++ {
			bj := b[j*k : j*k+k]
			s := 0.0
			for t, v := range ai {
				s += v * bj[t]
			}
			dst[i*c+j] = s
		}
	}
}

// mulAB writes a b into dst: a is r×k, b is k×c, dst r×c (dst must not alias
// a or b).
func mulAB(dst, a, b []float64, r, k, c int) {
	for i := 0; i < r; i++ {
		di := dst[i*c : i*c+c]
		for j := range di {
			di[j] = 0
		}
		for t := 0; t < k; t++ {
			v := a[i*k+t]
			if v == 0 {
				continue
			}
			bt := b[t*c : t*c+c]
			for j, w := range bt {
				di[j] += v * w
			}
		}
	}
}

// allFinite reports whether every element of x is finite, and the index of
// the first that is not.
func allFinite(x []float64) (int, bool) {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return i, false
		}
	}
	return -1, true
}

// grow returns s resliced to n, reallocating only when its capacity is too
// small.
func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}
