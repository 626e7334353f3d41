package decode

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// gnbVarSmoothing is the fraction of the largest feature variance added to
// every variance, as scikit-learn's GaussianNB (var_smoothing = 1e-9), so that
// a feature constant within a class does not give a zero variance.
const gnbVarSmoothing = 1e-9

// GNBParams are the parameters of a Gaussian naive Bayes classifier: per
// class c and feature j the mean and variance (row-major C×p), and the log
// prior of each class.
type GNBParams struct {
	Classes  []string  `json:"classes"`
	Means    []float64 `json:"means"`
	Vars     []float64 `json:"vars"`
	LogPrior []float64 `json:"log_prior"`
}

// FitGNB fits Gaussian naive Bayes (Hastie et al. 2009, §6.6.3): features
// independent given the class, each Gaussian with the class's mean and
// (maximum-likelihood) variance, plus 1e-9 of the largest variance; class
// priors are the class frequencies. log P(c | x) = log π_c − ½ Σ_j
// [log 2πσ²_cj + (x_j − μ_cj)²/σ²_cj] + const. Errors: as FitLDA, and every
// feature constant.
func FitGNB(features [][]float64, labels []int, classes []string) (*GNBParams, error) {
	if errs := validateClasses(classes); len(errs) > 0 {
		return nil, fmt.Errorf("gnb fit: %w", errors.Join(errs...))
	}
	C := len(classes)
	p, counts, means, err := classTable(features, labels, C)
	if err != nil {
		return nil, fmt.Errorf("gnb fit: %w", err)
	}
	vars := make([]float64, C*p)
	for t, c := range labels {
		for j, v := range features[t] {
			d := v - means[c*p+j]
			vars[c*p+j] += d * d
		}
	}
	for c := 0; c < C; c++ {
		for j := 0; j < p; j++ {
			vars[c*p+j] /= float64(counts[c])
		}
	}
	_, all := centre(features)
	maxVar := 0.0
	T := len(features)
	for j := 0; j < p; j++ {
		v := 0.0
		for t := 0; t < T; t++ {
			v += all[t*p+j] * all[t*p+j]
		}
		maxVar = max(maxVar, v/float64(T))
	}
	if !(maxVar > 0) {
		return nil, errors.New("gnb fit: every feature is constant")
	}
	for i := range vars {
		vars[i] += gnbVarSmoothing * maxVar
	}
	lp := make([]float64, C)
	for c, n := range counts {
		lp[c] = math.Log(float64(n) / float64(T))
	}
	return &GNBParams{Classes: slices.Clone(classes), Means: means, Vars: vars, LogPrior: lp}, nil
}

// GNB classifies with GNBParams; Estimate.State is the class posterior. It
// precomputes 1/σ² and the normalising constants and does not allocate.
type GNB struct {
	classes []string
	p       int
	means   []float64
	ivar    []float64
	konst   []float64
	shape   binShape
	pred    int
}

var _ Decoder = (*GNB)(nil)

// NewGNB returns the classifier for p.
func NewGNB(p *GNBParams) (*GNB, error) {
	if p == nil {
		return nil, errors.New("gnb: nil parameters")
	}
	errs := validateClasses(p.Classes)
	C := len(p.Classes)
	if C > 0 && (len(p.Means) == 0 || len(p.Means)%C != 0) {
		errs = append(errs, fmt.Errorf("means: has %d values for %d classes", len(p.Means), C))
	}
	vecCheck(&errs, "vars", p.Vars, len(p.Means))
	vecCheck(&errs, "log_prior", p.LogPrior, C)
	for i, v := range p.Vars {
		if !(v > 0) {
			errs = append(errs, fmt.Errorf("vars: value %d is %g, must be > 0", i, v))
			break
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("gnb: %w", err)
	}
	pf := len(p.Means) / C
	g := &GNB{classes: slices.Clone(p.Classes), p: pf, means: slices.Clone(p.Means), ivar: make([]float64, len(p.Vars)), konst: make([]float64, C), shape: binShape{n: pf}}
	for c := 0; c < C; c++ {
		k := p.LogPrior[c]
		for j := 0; j < pf; j++ {
			v := p.Vars[c*pf+j]
			g.ivar[c*pf+j] = 1 / v
			k -= 0.5 * math.Log(2*math.Pi*v)
		}
		g.konst[c] = k
	}
	return g, nil
}

// StateNames returns the class names.
func (g *GNB) StateNames() []string { return slices.Clone(g.classes) }

// Reset does nothing: the classifier has no memory.
func (g *GNB) Reset() {}

// Predicted returns the most probable class of the last Decode or ProbTo.
func (g *GNB) Predicted() int { return g.pred }

// ProbTo writes the class posterior of x into dst (grown) and returns it.
func (g *GNB) ProbTo(dst, x []float64) []float64 {
	if len(x) != g.p {
		panic(fmt.Sprintf("decode.GNB.ProbTo: %d features, want %d", len(x), g.p))
	}
	dst = grow(dst, len(g.classes))
	for c := range dst {
		s := g.konst[c]
		m, iv := g.means[c*g.p:(c+1)*g.p], g.ivar[c*g.p:(c+1)*g.p]
		for j, v := range x {
			d := v - m[j]
			s -= 0.5 * d * d * iv[j]
		}
		dst[c] = s
	}
	g.pred = softmaxInPlace(dst)
	return dst
}

// Decode classifies obs.Counts.
func (g *GNB) Decode(dst *Estimate, obs *Bin) error {
	if err := g.shape.check("gnb", obs); err != nil {
		return err
	}
	stamp(dst, obs)
	dst.State = g.ProbTo(dst.State, obs.Counts)
	dst.Cov = dst.Cov[:0]
	return nil
}
