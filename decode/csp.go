package decode

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// CSP is a common spatial pattern filter bank for two-class EEG (motor
// imagery): Ramoser, Müller-Gerking & Pfurtscheller (2000), "Optimal spatial
// filtering of single trial EEG during imagined hand movement", IEEE Trans.
// Rehabil. Eng. 8:441–446; Blankertz et al. (2008), "Optimizing spatial
// filters for robust EEG single-trial analysis", IEEE Signal Process. Mag.
// 25:41–56. Filters holds 2m rows of C weights (row-major): the first m
// maximise the variance of class 0 relative to class 1, the last m the
// reverse.
type CSP struct {
	Channels int       `json:"channels"`
	Filters  []float64 `json:"filters"`
}

// Components returns 2m, the number of spatial filters.
func (c *CSP) Components() int { return len(c.Filters) / c.Channels }

// trialCov adds the trace-normalised spatial covariance of one trial
// (frame-major samples×C, each channel's mean removed) to dst:
// Σ = X Xᵀ / tr(X Xᵀ) (Ramoser et al. 2000, eq. 1).
func trialCov(dst, trial []float64, C int) error {
	T := len(trial) / C
	mean := make([]float64, C)
	for t := 0; t < T; t++ {
		for c := 0; c < C; c++ {
			mean[c] += trial[t*C+c] / float64(T)
		}
	}
	cov := make([]float64, C*C)
	x := make([]float64, C)
	for t := 0; t < T; t++ {
		for c := range x {
			x[c] = trial[t*C+c] - mean[c]
		}
		outerAdd(cov, x, x)
	}
	tr := 0.0
	for c := 0; c < C; c++ {
		tr += cov[c*C+c]
	}
	if !(tr > 0) {
		return errors.New("the trial is constant on every channel")
	}
	for i, v := range cov {
		dst[i] += v / tr
	}
	return nil
}

// FitCSP computes m filters per class from two-class trials: trials[k] is
// frame-major (samples × channels, len a multiple of channels), labels[k] 0
// or 1. With Σ_0, Σ_1 the class means of the trace-normalised covariances,
// the filters solve the generalised eigenproblem Σ_0 w = λ (Σ_0 + Σ_1) w:
// whiten the composite Σ_0 + Σ_1 = U Λ Uᵀ with P = Λ^{−1/2} Uᵀ, diagonalise
// P Σ_0 Pᵀ = B Ψ Bᵀ (gonum's EigenSym), and W = Bᵀ P; the rows with the m
// largest and m smallest ψ are kept (ψ is the fraction of a filter's output
// variance that comes from class 0).
//
// Errors: ragged trials, labels other than 0 and 1, a class with no trial,
// a constant trial, 2m > channels, and a singular composite covariance
// (constant or linearly dependent channels, e.g. after common average
// reference, which removes one dimension: drop one channel).
func FitCSP(trials [][]float64, labels []int, channels, m int) (*CSP, error) {
	c, err := fitCSP(trials, labels, channels, m)
	if err != nil {
		return nil, fmt.Errorf("csp fit: %w", err)
	}
	return c, nil
}

func fitCSP(trials [][]float64, labels []int, C, m int) (*CSP, error) {
	if C < 2 {
		return nil, fmt.Errorf("channels: must be ≥ 2, got %d", C)
	}
	if m < 1 || 2*m > C {
		return nil, fmt.Errorf("m: need 1 ≤ m and 2m ≤ channels (%d), got %d", C, m)
	}
	if len(trials) != len(labels) {
		return nil, fmt.Errorf("%d trials but %d labels", len(trials), len(labels))
	}
	covs := [2][]float64{make([]float64, C*C), make([]float64, C*C)}
	var n [2]int
	for k, tr := range trials {
		if len(tr) == 0 || len(tr)%C != 0 {
			return nil, fmt.Errorf("trials[%d] has %d values, not a whole number (≥ 1) of %d-channel frames", k, len(tr), C)
		}
		if i, ok := allFinite(tr); !ok {
			return nil, fmt.Errorf("trials[%d][%d] is %g", k, i, tr[i])
		}
		l := labels[k]
		if l != 0 && l != 1 {
			return nil, fmt.Errorf("labels[%d] = %d; CSP takes two classes, 0 and 1", k, l)
		}
		if err := trialCov(covs[l], tr, C); err != nil {
			return nil, fmt.Errorf("trials[%d]: %w", k, err)
		}
		n[l]++
	}
	for l := range n {
		if n[l] == 0 {
			return nil, fmt.Errorf("class %d has no trials", l)
		}
		for i := range covs[l] {
			covs[l][i] /= float64(n[l])
		}
		symmetrize(covs[l], C)
	}
	comp := make([]float64, C*C)
	for i := range comp {
		comp[i] = covs[0][i] + covs[1][i]
	}
	var es mat.EigenSym
	if !es.Factorize(mat.NewSymDense(C, comp), true) {
		return nil, errors.New("the eigendecomposition of the composite covariance failed")
	}
	lam := es.Values(nil)
	var U mat.Dense
	es.VectorsTo(&U)
	if lam[0] <= 1e-10*lam[C-1] {
		return nil, fmt.Errorf("the composite covariance is singular (smallest eigenvalue %.3g of %.3g): constant or linearly dependent channels", lam[0], lam[C-1])
	}
	P := mat.NewDense(C, C, nil)
	for i := 0; i < C; i++ {
		s := 1 / math.Sqrt(lam[i])
		for j := 0; j < C; j++ {
			P.Set(i, j, s*U.At(j, i))
		}
	}
	var tmp, S0 mat.Dense
	tmp.Mul(P, mat.NewDense(C, C, covs[0]))
	S0.Mul(&tmp, P.T())
	s0 := S0.RawMatrix().Data
	symmetrize(s0, C)
	var es2 mat.EigenSym
	if !es2.Factorize(mat.NewSymDense(C, s0), true) {
		return nil, errors.New("the eigendecomposition of the whitened class covariance failed")
	}
	var B, W mat.Dense
	es2.VectorsTo(&B)
	W.Mul(B.T(), P) // rows: filters, ascending ψ
	out := &CSP{Channels: C, Filters: make([]float64, 2*m*C)}
	for k := 0; k < m; k++ {
		top := C - 1 - k // largest ψ first
		for j := 0; j < C; j++ {
			out.Filters[k*C+j] = W.At(top, j)
			out.Filters[(m+k)*C+j] = W.At(k, j)
		}
	}
	return out, nil
}

// LogVarTo writes the normalised log-variance features of a trial (frame-
// major samples × channels) into dst (grown to 2m) and returns it:
// f_k = log(var(w_kᵀx) / Σ_l var(w_lᵀx)) (Ramoser et al. 2000, eq. 5). work
// (len ≥ 2m·samples, or nil to allocate) holds the filtered signals.
func (c *CSP) LogVarTo(dst, trial, work []float64) ([]float64, []float64) {
	C, K := c.Channels, c.Components()
	T := len(trial) / C
	if cap(work) < K*T {
		work = make([]float64, K*T)
	}
	work = work[:K*T]
	for t := 0; t < T; t++ {
		x := trial[t*C : (t+1)*C]
		for k := 0; k < K; k++ {
			work[k*T+t] = dot(c.Filters[k*C:(k+1)*C], x)
		}
	}
	dst = grow(dst, K)
	total := 0.0
	for k := 0; k < K; k++ {
		y := work[k*T : (k+1)*T]
		m := 0.0
		for _, v := range y {
			m += v
		}
		m /= float64(T)
		s := 0.0
		for _, v := range y {
			s += (v - m) * (v - m)
		}
		dst[k] = s / float64(T)
		total += dst[k]
	}
	for k := range dst {
		dst[k] = math.Log(dst[k] / total)
	}
	return dst, work
}

// CSPLDA is the standard motor-imagery pipeline (Blankertz et al. 2008):
// CSP spatial filters, normalised log-variance features, and a shrinkage LDA.
// Classify is allocation-free after its first call with the longest trial.
type CSPLDA struct {
	CSP  *CSP
	LDA  *LDA
	feat []float64
	work []float64
}

// FitCSPLDA fits CSP (m filters per class) on the two-class trials, then an
// LDA (cfg, with two classes) on their log-variance features.
func FitCSPLDA(trials [][]float64, labels []int, channels, m int, cfg LDAConfig) (*CSPLDA, *LDAParams, error) {
	c, err := FitCSP(trials, labels, channels, m)
	if err != nil {
		return nil, nil, err
	}
	feats := make([][]float64, len(trials))
	var work []float64
	for k, tr := range trials {
		feats[k], work = c.LogVarTo(nil, tr, work)
	}
	lp, err := FitLDA(feats, labels, cfg)
	if err != nil {
		return nil, nil, err
	}
	l, err := NewLDA(lp)
	if err != nil {
		return nil, nil, err
	}
	return &CSPLDA{CSP: c, LDA: l}, lp, nil
}

// Classify writes the class posterior of one trial into dst (grown) and
// returns it with the most probable class.
func (p *CSPLDA) Classify(dst, trial []float64) ([]float64, int) {
	p.feat, p.work = p.CSP.LogVarTo(p.feat, trial, p.work)
	dst = p.LDA.ProbTo(dst, p.feat)
	return dst, p.LDA.Predicted()
}
