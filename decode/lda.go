package decode

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// Shrinkage choices of LDAConfig.
const (
	ShrinkNone       = "none"
	ShrinkLedoitWolf = "ledoit-wolf"
	ShrinkFixed      = "fixed"
)

// LDAConfig configures fitting linear discriminant analysis.
type LDAConfig struct {
	Classes []string `yaml:"classes"` // class names; labels index them
	// Shrinkage of the pooled covariance: none, ledoit-wolf (the analytic
	// optimum of Ledoit & Wolf 2004), or fixed (Gamma).
	Shrinkage string  `yaml:"shrinkage"`
	Gamma     float64 `yaml:"gamma"` // shrinkage intensity in [0, 1] for fixed
	// UniformPriors uses equal class priors instead of the class frequencies.
	UniformPriors bool `yaml:"uniform_priors"`
}

// DefaultLDAConfig returns Ledoit–Wolf shrinkage with empirical priors (the
// classes must still be named): shrinkage costs nothing when the covariance
// is well estimated and saves the fit when it is not (Blankertz et al. 2011).
func DefaultLDAConfig() LDAConfig { return LDAConfig{Shrinkage: ShrinkLedoitWolf} }

// Validate reports every problem of c at once, each as "key: message".
func (c *LDAConfig) Validate() error {
	errs := validateClasses(c.Classes)
	switch c.Shrinkage {
	case ShrinkNone, ShrinkLedoitWolf:
	case ShrinkFixed:
		if !(c.Gamma >= 0 && c.Gamma <= 1) {
			errs = append(errs, fmt.Errorf("gamma: must be in [0, 1], got %g", c.Gamma))
		}
	default:
		errs = append(errs, fmt.Errorf("shrinkage: unknown %q (none, ledoit-wolf, fixed)", c.Shrinkage))
	}
	return errors.Join(errs...)
}

func validateClasses(classes []string) []error {
	var errs []error
	if len(classes) < 2 {
		errs = append(errs, fmt.Errorf("classes: need at least 2, got %d", len(classes)))
	}
	seen := map[string]int{}
	for i, name := range classes {
		if name == "" {
			errs = append(errs, fmt.Errorf("classes[%d]: must not be empty", i))
		} else if j, ok := seen[name]; ok {
			errs = append(errs, fmt.Errorf("classes[%d]: %q repeats classes[%d]", i, name, j))
		} else {
			seen[name] = i
		}
	}
	return errs
}

// LDAParams are the parameters of a linear discriminant: per class c the
// weights w_c = Σ⁻¹μ_c (Weights, row-major C×p) and bias
// b_c = −½ μ_cᵀΣ⁻¹μ_c + log π_c, and the shrinkage intensity used.
type LDAParams struct {
	Classes []string  `json:"classes"`
	Weights []float64 `json:"weights"`
	Bias    []float64 `json:"bias"`
	Gamma   float64   `json:"gamma"`
}

// Features returns p.
func (p *LDAParams) Features() int {
	if len(p.Classes) == 0 {
		return 0
	}
	return len(p.Weights) / len(p.Classes)
}

// Validate reports every problem of p at once, each as "key: message".
func (p *LDAParams) Validate() error {
	errs := validateClasses(p.Classes)
	C := len(p.Classes)
	if C > 0 && (len(p.Weights) == 0 || len(p.Weights)%C != 0) {
		errs = append(errs, fmt.Errorf("weights: has %d values, want a positive multiple of %d classes", len(p.Weights), C))
	} else {
		vecCheck(&errs, "weights", p.Weights, len(p.Weights))
	}
	vecCheck(&errs, "bias", p.Bias, C)
	if !(p.Gamma >= 0 && p.Gamma <= 1) {
		errs = append(errs, fmt.Errorf("gamma: must be in [0, 1], got %g", p.Gamma))
	}
	return errors.Join(errs...)
}

// classTable checks features and integer labels for a classifier fit and
// returns p, the class counts and the class means (C×p).
func classTable(features [][]float64, labels []int, C int) (p int, counts []int, means []float64, err error) {
	if len(labels) != len(features) {
		return 0, nil, nil, fmt.Errorf("%d feature rows but %d labels", len(features), len(labels))
	}
	p, err = checkRows("features", features)
	if err != nil {
		return 0, nil, nil, err
	}
	counts = make([]int, C)
	means = make([]float64, C*p)
	for t, c := range labels {
		if c < 0 || c >= C {
			return 0, nil, nil, fmt.Errorf("labels[%d] = %d is not a class index in 0…%d", t, c, C-1)
		}
		counts[c]++
		for j, v := range features[t] {
			means[c*p+j] += v
		}
	}
	var errs []error
	for c, n := range counts {
		if n == 0 {
			errs = append(errs, fmt.Errorf("class %d has no examples", c))
			continue
		}
		for j := 0; j < p; j++ {
			means[c*p+j] /= float64(n)
		}
	}
	return p, counts, means, errors.Join(errs...)
}

// ledoitWolf returns the Ledoit & Wolf (2004) shrinkage intensity
// γ* = min(β̄², δ²)/δ² for the covariance S = XᵀX/T of the centred rows X
// (T×p), toward μI with μ = tr(S)/p, where (their Lemma 3.2–3.4)
//
//	δ² = ‖S − μI‖²_F/p,  β̄² = (1/T²) Σ_t ‖x_t x_tᵀ − S‖²_F/p,
//
// as sklearn.covariance.ledoit_wolf_shrinkage computes it.
func ledoitWolf(X []float64, T, p int, S []float64) float64 {
	mu := 0.0
	for j := 0; j < p; j++ {
		mu += S[j*p+j]
	}
	mu /= float64(p)
	delta := 0.0
	for i := 0; i < p; i++ {
		for j := 0; j < p; j++ {
			d := S[i*p+j]
			if i == j {
				d -= mu
			}
			delta += d * d
		}
	}
	delta /= float64(p)
	beta := 0.0
	for t := 0; t < T; t++ {
		x := X[t*p : (t+1)*p]
		for i := 0; i < p; i++ {
			for j := 0; j < p; j++ {
				d := x[i]*x[j] - S[i*p+j]
				beta += d * d
			}
		}
	}
	beta /= float64(T) * float64(T) * float64(p)
	if delta == 0 {
		return 0
	}
	return min(beta, delta) / delta
}

// FitLDA fits Fisher's linear discriminant (Fisher 1936; as the Gaussian
// classifier with a shared covariance, Hastie et al. 2009, §4.3) on labelled
// feature rows: class means μ_c, the pooled within-class covariance
// Σ = Σ_c Σ_{t∈c} (x_t − μ_c)(x_t − μ_c)ᵀ / T, optionally shrunk,
// Σ* = (1 − γ)Σ + γ·(tr Σ/p)·I (Ledoit & Wolf 2004 for γ, or fixed; shrinkage
// LDA is the standard EEG classifier of Blankertz et al. 2011, NeuroImage
// 56:814–825), and the discriminants g_c(x) = w_cᵀx + b_c. The posterior is
// softmax(g).
//
// Errors: rows and labels that do not match, ragged or non-finite features,
// a label out of range, a class with no examples, too few rows, and a
// singular covariance (a constant or collinear feature, without shrinkage).
func FitLDA(features [][]float64, labels []int, cfg LDAConfig) (*LDAParams, error) {
	p, err := fitLDA(features, labels, cfg)
	if err != nil {
		return nil, fmt.Errorf("lda fit: %w", err)
	}
	return p, nil
}

func fitLDA(features [][]float64, labels []int, cfg LDAConfig) (*LDAParams, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	C := len(cfg.Classes)
	p, counts, means, err := classTable(features, labels, C)
	if err != nil {
		return nil, err
	}
	T := len(features)
	if T <= C {
		return nil, fmt.Errorf("too few samples: %d rows for %d classes", T, C)
	}
	X := make([]float64, T*p)
	S := make([]float64, p*p)
	for t, c := range labels {
		x := X[t*p : (t+1)*p]
		for j, v := range features[t] {
			x[j] = v - means[c*p+j]
		}
		outerAdd(S, x, x)
	}
	for i := range S {
		S[i] /= float64(T)
	}
	gamma := 0.0
	switch cfg.Shrinkage {
	case ShrinkLedoitWolf:
		gamma = ledoitWolf(X, T, p, S)
	case ShrinkFixed:
		gamma = cfg.Gamma
	}
	mu := 0.0
	for j := 0; j < p; j++ {
		mu += S[j*p+j]
	}
	mu /= float64(p)
	if !(mu > 0) {
		return nil, errors.New("every feature is constant within its class; the covariance is zero")
	}
	for i := range S {
		S[i] *= 1 - gamma
	}
	for j := 0; j < p; j++ {
		S[j*p+j] += gamma * mu
	}
	if j := cholesky(S, p, fitTol); j >= 0 {
		return nil, fmt.Errorf("the covariance is singular at feature %d (constant, or collinear with the features before it); use shrinkage", j)
	}
	out := &LDAParams{Classes: slices.Clone(cfg.Classes), Weights: make([]float64, C*p), Bias: make([]float64, C), Gamma: gamma}
	for c := 0; c < C; c++ {
		w := out.Weights[c*p : (c+1)*p]
		copy(w, means[c*p:(c+1)*p])
		cholSolve(S, p, w)
		prior := float64(counts[c]) / float64(T)
		if cfg.UniformPriors {
			prior = 1 / float64(C)
		}
		out.Bias[c] = -0.5*dot(w, means[c*p:(c+1)*p]) + math.Log(prior)
	}
	return out, out.Validate()
}

// softmaxInPlace turns scores into probabilities, stably.
func softmaxInPlace(g []float64) int {
	best := 0
	for c, v := range g {
		if v > g[best] {
			best = c
		}
	}
	mx, s := g[best], 0.0
	for c, v := range g {
		g[c] = math.Exp(v - mx)
		s += g[c]
	}
	for c := range g {
		g[c] /= s
	}
	return best
}

// LDA classifies feature vectors (one Bin's Counts, or any features) with
// the discriminants of LDAParams: Estimate.State holds the posterior
// probability of each class, softmax(w_cᵀx + b_c), and Predicted the most
// probable class. It has no memory between bins and does not allocate.
type LDA struct {
	p     *LDAParams
	shape binShape
	pred  int
}

var (
	_ Decoder    = (*LDA)(nil)
	_ StateNamer = (*LDA)(nil)
)

// NewLDA returns the classifier for p (which it copies).
func NewLDA(p *LDAParams) (*LDA, error) {
	if p == nil {
		return nil, errors.New("lda: nil parameters")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("lda: invalid parameters: %w", err)
	}
	q := &LDAParams{Classes: slices.Clone(p.Classes), Weights: slices.Clone(p.Weights), Bias: slices.Clone(p.Bias), Gamma: p.Gamma}
	return &LDA{p: q, shape: binShape{n: q.Features()}}, nil
}

// StateNames returns the class names.
func (l *LDA) StateNames() []string { return slices.Clone(l.p.Classes) }

// Reset does nothing: the classifier has no memory.
func (l *LDA) Reset() {}

// Predicted returns the most probable class of the last Decode or ProbTo.
func (l *LDA) Predicted() int { return l.pred }

// ProbTo writes the class posterior of the features x into dst (grown to
// the class count) and returns it; it panics on a wrong length (a wiring
// error).
func (l *LDA) ProbTo(dst, x []float64) []float64 {
	p := l.p.Features()
	if len(x) != p {
		panic(fmt.Sprintf("decode.LDA.ProbTo: %d features, want %d", len(x), p))
	}
	dst = grow(dst, len(l.p.Classes))
	for c := range dst {
		dst[c] = dot(l.p.Weights[c*p:(c+1)*p], x) + l.p.Bias[c]
	}
	l.pred = softmaxInPlace(dst)
	return dst
}

// Decode classifies obs.Counts. A bin of the wrong size or with a
// non-finite value is an error.
func (l *LDA) Decode(dst *Estimate, obs *Bin) error {
	if err := l.shape.check("lda", obs); err != nil {
		return err
	}
	stamp(dst, obs)
	dst.State = l.ProbTo(dst.State, obs.Counts)
	dst.Cov = dst.Cov[:0]
	return nil
}

// LDAFormat and LDAVersion identify LDA parameter files.
const (
	LDAFormat  = "bciloop.lda"
	LDAVersion = 1
)

// ldaFile is the JSON layout of an LDA parameter file, version 1:
// {"format": "bciloop.lda", "version": 1, "features": p, "classes": [C],
// "weights": [C×p], "bias": [C], "gamma": γ}.
type ldaFile struct {
	Format   string `json:"format"`
	Version  int    `json:"version"`
	Features int    `json:"features"`
	*LDAParams
}

// WriteLDAParams writes p to w as a version-1 parameter file.
func WriteLDAParams(w io.Writer, p *LDAParams) error {
	if p == nil {
		return errors.New("lda params: nil parameters")
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("lda params: %w", err)
	}
	return writeParamFile(w, "lda params", &ldaFile{Format: LDAFormat, Version: LDAVersion, Features: p.Features(), LDAParams: p})
}

// ReadLDAParams reads one LDA parameter file from r.
func ReadLDAParams(r io.Reader) (*LDAParams, error) {
	f := ldaFile{LDAParams: new(LDAParams)}
	if err := readParamFile(r, "lda params", &f); err != nil {
		return nil, err
	}
	errs := []error{checkFileHeader(f.Format, f.Version, LDAFormat, LDAVersion)}
	p := f.LDAParams
	if errs[0] == nil {
		if err := p.Validate(); err != nil {
			errs = append(errs, err)
		} else if f.Features != p.Features() {
			errs = append(errs, fmt.Errorf("features: %d, but the weights have %d per class", f.Features, p.Features()))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("lda params: %w", err)
	}
	return p, nil
}
