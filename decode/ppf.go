package decode

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
)

// PPFConfig configures fitting the point-process filter.
type PPFConfig struct {
	// StateNames names the state columns; empty means "x0", "x1", ….
	StateNames []string `yaml:"state_names"`
	// Ridge is an L2 penalty on each unit's state coefficients β_i in the
	// Poisson regression (0: maximum likelihood).
	Ridge float64 `yaml:"ridge"`
	// WRidge is added to the diagonal of the fitted state noise covariance
	// W, for states that the previous state predicts exactly.
	WRidge float64 `yaml:"w_ridge"`
}

// DefaultPPFConfig returns the plain maximum-likelihood fit.
func DefaultPPFConfig() PPFConfig { return PPFConfig{} }

// Validate reports every problem of c at once, each as "key: message".
func (c *PPFConfig) Validate() error {
	var errs []error
	seen := map[string]int{}
	for i, name := range c.StateNames {
		if name == "" {
			errs = append(errs, fmt.Errorf("state_names[%d]: must not be empty", i))
		} else if j, ok := seen[name]; ok {
			errs = append(errs, fmt.Errorf("state_names[%d]: %q repeats state_names[%d]", i, name, j))
		} else {
			seen[name] = i
		}
	}
	if !(c.Ridge >= 0) || math.IsInf(c.Ridge, 0) {
		errs = append(errs, fmt.Errorf("ridge: must be finite and ≥ 0, got %g", c.Ridge))
	}
	if !(c.WRidge >= 0) || math.IsInf(c.WRidge, 0) {
		errs = append(errs, fmt.Errorf("w_ridge: must be finite and ≥ 0, got %g", c.WRidge))
	}
	return errors.Join(errs...)
}

// PPFParams are the parameters of the point-process filter: the linear
// Gaussian state model x_{t+1} = A x_t + w, w ~ N(0, W), on the centred state
// (StateMean subtracted), and per unit i the log-linear conditional intensity
// in expected events per bin
//
//	λ_i(x) = exp(β_i0 + Σ_j β_ij x_j),
//
// Beta row-major n×(d+1) with the intercept first. The filter starts from
// x_0 = StateMean with covariance P0. BinWidth and Rate record the bins of the
// fit (0: not checked).
type PPFParams struct {
	StateNames []string  `json:"state_names"`
	BinWidth   int       `json:"bin_width"`
	Rate       float64   `json:"rate"`
	StateMean  []float64 `json:"state_mean"`
	A          []float64 `json:"a"`
	W          []float64 `json:"w"`
	P0         []float64 `json:"p0"`
	Beta       []float64 `json:"beta"`
}

// States returns d.
func (p *PPFParams) States() int { return len(p.StateMean) }

// Units returns n.
func (p *PPFParams) Units() int {
	if d := p.States(); d > 0 {
		return len(p.Beta) / (d + 1)
	}
	return 0
}

// Validate reports every problem of p at once, each as "key: message".
func (p *PPFParams) Validate() error {
	d := p.States()
	var errs []error
	if d == 0 {
		errs = append(errs, errors.New("state_mean: must not be empty (it sets the state dimension)"))
	}
	if len(p.StateNames) != d {
		errs = append(errs, fmt.Errorf("state_names: has %d names for %d states", len(p.StateNames), d))
	}
	seen := map[string]int{}
	for i, name := range p.StateNames {
		if name == "" {
			errs = append(errs, fmt.Errorf("state_names: entry %d is empty", i))
		} else if j, ok := seen[name]; ok {
			errs = append(errs, fmt.Errorf("state_names: entry %d %q repeats entry %d", i, name, j))
		} else {
			seen[name] = i
		}
	}
	if p.BinWidth < 0 {
		errs = append(errs, fmt.Errorf("bin_width: must be ≥ 0 (0: not checked), got %d", p.BinWidth))
	}
	if !(p.Rate >= 0) || math.IsInf(p.Rate, 0) {
		errs = append(errs, fmt.Errorf("rate: must be finite and ≥ 0 (0: not checked), got %g", p.Rate))
	}
	vecCheck(&errs, "state_mean", p.StateMean, d)
	vecCheck(&errs, "a", p.A, d*d)
	if d > 0 && (len(p.Beta) == 0 || len(p.Beta)%(d+1) != 0) {
		errs = append(errs, fmt.Errorf("beta: has %d values, want a positive multiple of states + 1 = %d", len(p.Beta), d+1))
	} else {
		vecCheck(&errs, "beta", p.Beta, len(p.Beta))
	}
	spdCheck(&errs, "w", p.W, d)
	spdCheck(&errs, "p0", p.P0, d)
	return errors.Join(errs...)
}

// spdCheck reports a k×k matrix that is not finite, symmetric and positive
// definite.
func spdCheck(errs *[]error, key string, m []float64, k int) {
	if k == 0 || !vecCheck(errs, key, m, k*k) {
		return
	}
	for i := 0; i < k; i++ {
		for j := i + 1; j < k; j++ {
			a, b := m[i*k+j], m[j*k+i]
			if math.Abs(a-b) > 1e-9*math.Max(math.Abs(a), math.Abs(b)) {
				*errs = append(*errs, fmt.Errorf("%s: not symmetric: [%d,%d] = %g but [%d,%d] = %g", key, i, j, a, j, i, b))
				return
			}
		}
	}
	if j := cholesky(slices.Clone(m), k, 0); j >= 0 {
		*errs = append(*errs, fmt.Errorf("%s: not positive definite (Cholesky fails at state %d)", key, j))
	}
}

// FitPPF fits the point-process filter's model on one continuous run of
// calibration bins: states[t] (d values) and counts[t] (n values). Each unit's
// log-linear intensity λ_i(x) = exp(β_i0 + β_iᵀ(x − μ_x)) is the Poisson
// regression of its counts on the centred state, fitted by Newton–Raphson
// (iteratively reweighted least squares; Truccolo et al. 2005, J.
// Neurophysiol. 93:1074, fit point-process GLMs the same way); the state
// transition is the least-squares fit of Wu et al. (2006) used by FitKalman,
//
//	A = X2 X1ᵀ (X1 X1ᵀ)⁻¹,  W = (X2 − A X1)(X2 − A X1)ᵀ / pairs (+ WRidge·I),
//
// and P0 the state covariance of the calibration data.
//
// Errors name the cause: too few bins (need more than 2(d+1)), ragged or
// non-finite rows, negative counts, a constant channel, constant or collinear
// states, deterministic dynamics (W singular), and a regression that does
// not converge.
func FitPPF(states, counts [][]float64, cfg PPFConfig) (*PPFParams, error) {
	p, err := fitPPF(states, counts, nil, cfg)
	if err != nil {
		return nil, fmt.Errorf("ppf fit: %w", err)
	}
	return p, nil
}

// FitPPFBins fits the model of FitPPF on calibration bins (Truth as the
// state); only consecutive bins enter the transition fit.
func FitPPFBins(bins []Bin, cfg PPFConfig) (*PPFParams, error) {
	states, counts, cont, err := binsTable("ppf fit", bins, nil)
	if err != nil {
		return nil, err
	}
	p, err := fitPPF(states, counts, cont, cfg)
	if err != nil {
		return nil, fmt.Errorf("ppf fit: %w", err)
	}
	p.BinWidth, p.Rate = bins[0].Width, bins[0].Rate
	return p, nil
}

func fitPPF(states, counts [][]float64, cont []bool, cfg PPFConfig) (*PPFParams, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	T := len(states)
	if len(counts) != T {
		return nil, fmt.Errorf("%d state rows but %d count rows", T, len(counts))
	}
	d, err := checkRows("states", states)
	if err != nil {
		return nil, err
	}
	n, err := checkRows("counts", counts)
	if err != nil {
		return nil, err
	}
	names := stateNames(cfg.StateNames, d)
	if len(names) != d {
		return nil, fmt.Errorf("state_names: %d names for %d state columns", len(names), d)
	}
	if T <= 2*(d+1) {
		return nil, fmt.Errorf("too few samples: T = %d bins for %d states; need T > %d", T, d, 2*(d+1))
	}
	for t, r := range counts {
		for i, v := range r {
			if v < 0 {
				return nil, fmt.Errorf("counts[%d][%d] is %g; counts must be ≥ 0", t, i, v)
			}
		}
	}
	if err := constantChannels(counts); err != nil {
		return nil, err
	}
	mx, X := centre(states)
	tr, err := fitTransition(X, T, d, cont, names, cfg.WRidge)
	if err != nil {
		return nil, err
	}
	// Per-unit Poisson regression on [1, x − μ_x].
	F := make([]float64, T*(d+1))
	for t := 0; t < T; t++ {
		F[t*(d+1)] = 1
		copy(F[t*(d+1)+1:(t+1)*(d+1)], X[t*d:(t+1)*d])
	}
	beta := make([]float64, 0, n*(d+1))
	y := make([]float64, T)
	for i := 0; i < n; i++ {
		for t := range y {
			y[t] = counts[t][i]
		}
		b, err := fitPoissonGLM(F, T, d+1, y, linkLog, cfg.Ridge)
		if err != nil {
			return nil, fmt.Errorf("channel %d: %w", i, err)
		}
		beta = append(beta, b...)
	}
	p := &PPFParams{StateNames: names, StateMean: mx, A: tr.a, W: tr.w, P0: tr.cov, Beta: beta}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("fitted parameters are invalid: %w", err)
	}
	return p, nil
}

// stateNames returns names, or "x0", "x1", … when it is empty.
func stateNames(names []string, d int) []string {
	if len(names) > 0 {
		return slices.Clone(names)
	}
	out := make([]string, d)
	for j := range out {
		out[j] = "x" + strconv.Itoa(j)
	}
	return out
}

// centre returns the column means of rows and the centred rows, sample-major.
func centre(rows [][]float64) (mean, x []float64) {
	T, d := len(rows), len(rows[0])
	mean = make([]float64, d)
	for _, r := range rows {
		for j, v := range r {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(T)
	}
	x = make([]float64, T*d)
	for t, r := range rows {
		for j, v := range r {
			x[t*d+j] = v - mean[j]
		}
	}
	return mean, x
}

// transition is a least-squares linear-Gaussian state model.
type transition struct {
	a, w, cov []float64
}

// fitTransition fits x_{t} = A x_{t−1} + w on the consecutive pairs of the
// centred states X (T×d), as FitKalman does (Wu et al. 2006, eqs. 3.4–3.5),
// and returns cov = X Xᵀ/T.
func fitTransition(X []float64, T, d int, cont []bool, names []string, wRidge float64) (*transition, error) {
	sxx := make([]float64, d*d)
	for t := 0; t < T; t++ {
		outerAdd(sxx, X[t*d:(t+1)*d], X[t*d:(t+1)*d])
	}
	for j := 0; j < d; j++ {
		if sxx[j*d+j] == 0 {
			return nil, fmt.Errorf("state %d (%s) is constant over the calibration data", j, names[j])
		}
	}
	if j := cholesky(slices.Clone(sxx), d, fitTol); j >= 0 {
		return nil, fmt.Errorf("state %d (%s) is collinear with the states before it over the calibration data", j, names[j])
	}
	s11 := make([]float64, d*d)
	s21 := make([]float64, d*d)
	pairs := 0
	for t := 1; t < T; t++ {
		if cont != nil && !cont[t] {
			continue
		}
		outerAdd(s11, X[(t-1)*d:t*d], X[(t-1)*d:t*d])
		outerAdd(s21, X[t*d:(t+1)*d], X[(t-1)*d:t*d])
		pairs++
	}
	if pairs <= d {
		return nil, fmt.Errorf("too few consecutive pairs of bins: %d for %d states; need more than %d", pairs, d, d)
	}
	if j := cholesky(s11, d, fitTol); j >= 0 {
		return nil, fmt.Errorf("state %d (%s) is constant or collinear with the states before it over consecutive pairs of bins", j, names[j])
	}
	A := s21
	for i := 0; i < d; i++ {
		cholSolve(s11, d, A[i*d:(i+1)*d])
	}
	W := make([]float64, d*d)
	res := make([]float64, d)
	for t := 1; t < T; t++ {
		if cont != nil && !cont[t] {
			continue
		}
		mulVec(res, A, d, d, X[(t-1)*d:t*d])
		for j := range res {
			res[j] = X[t*d+j] - res[j]
		}
		outerAdd(W, res, res)
	}
	for i := range W {
		W[i] /= float64(pairs)
	}
	symmetrize(W, d)
	for j := 0; j < d; j++ {
		if W[j*d+j] <= fitTol*sxx[j*d+j]/float64(T) && wRidge == 0 {
			return nil, fmt.Errorf("W is singular: state %d (%s) is predicted exactly by A from the previous state; set w_ridge > 0", j, names[j])
		}
		W[j*d+j] += wRidge
	}
	if j := cholesky(slices.Clone(W), d, fitTol); j >= 0 {
		return nil, fmt.Errorf("W is singular at state %d (%s); set w_ridge > 0", j, names[j])
	}
	for i := range sxx {
		sxx[i] /= float64(T)
	}
	symmetrize(sxx, d)
	return &transition{a: A, w: W, cov: sxx}, nil
}

// PPF is the point-process filter of Eden et al. (2004), "Dynamic analysis
// of neural encoding by point process adaptive filtering", Neural Computation
// 16:971–998, for the log-linear intensities of PPFParams, on binned counts
// (the bin is the filter's time step, and λ_i the expected count in it). With
// the centred state x, each bin runs (Eden et al. 2004, eqs. 2.7–2.10, with
// ∂ log λ_i/∂x = β_i for the log-linear model):
//
//	x⁻ = A x,                 P⁻ = A P Aᵀ + W
//	λ_i = exp(β_i0 + β_iᵀ x⁻)
//	P  = (P⁻⁻¹ + Σ_i λ_i β_i β_iᵀ)⁻¹
//	x  = x⁻ + P Σ_i β_i (n_i − λ_i)
//
// a Gaussian approximation of the posterior whose information grows with the
// expected spikes, costing O(n·d² + d³) per bin, without allocation.
// Estimate.State is x + μ_x and Estimate.Cov is P. The filter starts (and
// Reset returns it) at x = μ_x, P = P0.
type PPF struct {
	shape binShape
	d     int
	names []string
	mx    []float64
	a, w  []float64
	p0    []float64
	beta  []float64 // n×(d+1)

	x, p          []float64
	xp, pp, tmp   []float64
	info, l, work []float64
	g, xn, pn     []float64
}

var (
	_ Decoder    = (*PPF)(nil)
	_ StateNamer = (*PPF)(nil)
)

// NewPPF returns a point-process filter for p (which it copies).
func NewPPF(p *PPFParams) (*PPF, error) {
	if p == nil {
		return nil, errors.New("ppf: nil parameters")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("ppf: invalid parameters: %w", err)
	}
	d := p.States()
	f := &PPF{
		shape: binShape{n: p.Units(), width: p.BinWidth, rate: p.Rate},
		d:     d,
		names: slices.Clone(p.StateNames),
		mx:    slices.Clone(p.StateMean),
		a:     slices.Clone(p.A), w: slices.Clone(p.W), p0: slices.Clone(p.P0),
		beta: slices.Clone(p.Beta),
		x:    make([]float64, d), p: make([]float64, d*d),
		xp: make([]float64, d), pp: make([]float64, d*d), tmp: make([]float64, d*d),
		info: make([]float64, d*d), l: make([]float64, d*d), work: make([]float64, d),
		g: make([]float64, d), xn: make([]float64, d), pn: make([]float64, d*d),
	}
	f.Reset()
	return f, nil
}

// States returns d.
func (f *PPF) States() int { return f.d }

// Channels returns the number of units the filter expects.
func (f *PPF) Channels() int { return f.shape.n }

// StateNames returns the state names (a copy).
func (f *PPF) StateNames() []string { return slices.Clone(f.names) }

// Reset returns the filter to x = μ_x, P = P0.
func (f *PPF) Reset() {
	clear(f.x)
	copy(f.p, f.p0)
}

// Decode runs one filter step on obs and writes the estimate into dst. A bin
// with the wrong channel count, width or rate, or a negative or non-finite
// count, is an error and leaves the filter unchanged, as is a step that
// loses positive definiteness or overflows.
func (f *PPF) Decode(dst *Estimate, obs *Bin) error {
	if err := f.shape.check("ppf", obs); err != nil {
		return err
	}
	for i, v := range obs.Counts {
		if v < 0 {
			return fmt.Errorf("ppf: bin seq %d: counts[%d] is %g, must be ≥ 0", obs.Seq, i, v)
		}
	}
	d := f.d
	mulVec(f.xp, f.a, d, d, f.x)
	mulAB(f.tmp, f.a, f.p, d, d, d)
	mulABt(f.pp, f.tmp, f.a, d, d, d)
	for i, v := range f.w {
		f.pp[i] += v
	}
	symmetrize(f.pp, d)
	copy(f.l, f.pp)
	if cholesky(f.l, d, 0) >= 0 {
		return fmt.Errorf("ppf: bin seq %d: the prediction covariance lost positive definiteness", obs.Seq)
	}
	cholInverse(f.info, f.l, d, f.work)
	clear(f.g)
	for i, c := range obs.Counts {
		b := f.beta[i*(d+1) : (i+1)*(d+1)]
		lam := math.Exp(min(b[0]+dot(b[1:], f.xp), glmMaxEta))
		r := c - lam
		bi := b[1:]
		for j, v := range bi {
			f.g[j] += v * r
		}
		outerAddScaled(f.info, bi, lam) // lower triangle; cholesky reads only it
	}
	copy(f.l, f.info)
	if cholesky(f.l, d, 0) >= 0 {
		return fmt.Errorf("ppf: bin seq %d: the posterior information lost positive definiteness", obs.Seq)
	}
	cholInverse(f.pn, f.l, d, f.work)
	for j := 0; j < d; j++ {
		f.xn[j] = f.xp[j] + dot(f.pn[j*d:(j+1)*d], f.g)
	}
	if _, ok := allFinite(f.xn); !ok {
		return fmt.Errorf("ppf: bin seq %d: the estimate overflowed (counts far outside the calibration range?)", obs.Seq)
	}
	copy(f.x, f.xn)
	f.p, f.pn = f.pn, f.p
	f.estimate(dst, obs)
	return nil
}

// estimate writes the filter's state (centred back: x + mean) and
// covariance to dst, stamped from obs.
func (f *PPF) estimate(dst *Estimate, obs *Bin) {
	d := f.d
	stamp(dst, obs)
	dst.State = grow(dst.State, d)
	for j, v := range f.x {
		dst.State[j] = v + f.mx[j]
	}
	dst.Cov = grow(dst.Cov, d*d)
	copy(dst.Cov, f.p)
}

// PPFFormat and PPFVersion identify point-process filter parameter files.
const (
	PPFFormat  = "bciloop.ppf"
	PPFVersion = 1
)

// ppfFile is the JSON layout of a PPF parameter file, version 1:
//
//	{"format": "bciloop.ppf", "version": 1, "states": d, "units": n,
//	 "state_names": [...], "bin_width": frames, "rate": Hz,
//	 "state_mean": [d], "a": [d×d], "w": [d×d], "p0": [d×d], "beta": [n×(d+1)]}
type ppfFile struct {
	shapedHeader
	*PPFParams
}

// WritePPFParams writes p to w as a version-1 PPF parameter file, after
// validating it.
func WritePPFParams(w io.Writer, p *PPFParams) error {
	if p == nil {
		return errors.New("ppf params: nil parameters")
	}
	return writeShaped(w, "ppf params", p, &ppfFile{newShapedHeader(PPFFormat, PPFVersion, p), p})
}

// ReadPPFParams reads one PPF parameter file from r, rejecting unknown
// fields, another format or version, trailing data and invalid parameters.
func ReadPPFParams(r io.Reader) (*PPFParams, error) {
	f := ppfFile{PPFParams: new(PPFParams)}
	if err := readShaped(r, "ppf params", &f, &f.shapedHeader, PPFFormat, PPFVersion, f.PPFParams); err != nil {
		return nil, err
	}
	return f.PPFParams, nil
}
