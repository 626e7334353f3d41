package decode

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// Tuning-curve models, priors and estimates of the Poisson population
// decoder (PoissonConfig).
const (
	TuningHistogram = "histogram" // smoothed, occupancy-normalised rate maps
	TuningCosine    = "cosine"    // f = b + cᵀu, linear in the (normalised) coordinates
	TuningVonMises  = "vonmises"  // f = exp(b + cᵀu)
	TuningGaussian  = "gaussian"  // f = exp(b + cᵀu + uᵀBu)

	PriorFlat       = "flat"       // a uniform prior at every bin (Zhang et al. 1998, eq. 36)
	PriorContinuity = "continuity" // a discrete Bayes filter with a Gaussian transition

	EstimateMean = "mean" // posterior mean
	EstimateMAP  = "map"  // maximum a posteriori grid point
)

// PoissonConfig configures fitting the Poisson population decoder: what it
// decodes (a grid over 1 or 2 continuous variables, or discrete classes), how
// tuning curves are estimated, and the prior.
type PoissonConfig struct {
	// Axes are the grid's axes (1 or 2; a circular axis only alone). Empty
	// when Classes is set.
	Axes []GridAxis `yaml:"axes"`
	// Classes names discrete classes 0…C−1 (at least 2) instead of a grid;
	// the state column then holds the class index.
	Classes []string `yaml:"classes"`
	// Columns are the ground-truth columns (Bin.Truth) giving the grid
	// coordinates, one per axis, or the class index; empty means 0, 1, …
	// Used by FitPoissonBins.
	Columns []int `yaml:"columns"`

	// Tuning is the tuning-curve model: histogram (the only one for
	// classes), cosine, vonmises or gaussian (not on a circular axis).
	Tuning string `yaml:"tuning"`
	// Smooth is the standard deviation, in grid points, of the Gaussian
	// kernel that smooths the histogram rate maps; 0 does not smooth.
	Smooth float64 `yaml:"smooth"`
	// PseudoBins is the strength, in bins, of the Gamma prior that shrinks
	// each histogram rate toward the unit's mean rate where the occupancy
	// is low (a never-visited point gets the mean rate).
	PseudoBins float64 `yaml:"pseudo_bins"`
	// RateFloorHz is the smallest rate any tuning curve takes, so that the
	// log-likelihood is finite everywhere.
	RateFloorHz float64 `yaml:"rate_floor_hz"`
	// Ridge is an L2 penalty on the non-intercept coefficients of the
	// parametric fits (0: plain maximum likelihood).
	Ridge float64 `yaml:"ridge"`

	// Prior is flat or continuity.
	Prior string `yaml:"prior"`
	// TransitionSD is the standard deviation per bin of the Gaussian random
	// walk of the continuity prior, in axis units, one per axis; empty fits
	// it as the RMS one-bin change of the calibration states.
	TransitionSD []float64 `yaml:"transition_sd"`
	// ClassStay is the probability of staying in the same class from one bin
	// to the next under the continuity prior (the rest is spread evenly over
	// the other classes); 0 fits it from the calibration labels.
	ClassStay float64 `yaml:"class_stay"`

	// Estimate is what Estimate.State reports on a grid: mean or map.
	Estimate string `yaml:"estimate"`
}

// DefaultPoissonConfig returns histogram tuning smoothed over 1.5 grid points,
// one pseudo-bin of shrinkage, a 0.1 Hz rate floor, a flat prior and the
// posterior mean; the grid or classes must still be set.
func DefaultPoissonConfig() PoissonConfig {
	return PoissonConfig{
		Tuning:      TuningHistogram,
		Smooth:      1.5,
		PseudoBins:  1,
		RateFloorHz: 0.1,
		Prior:       PriorFlat,
		Estimate:    EstimateMean,
	}
}

func (c *PoissonConfig) dims() int {
	if len(c.Classes) > 0 {
		return 1
	}
	return len(c.Axes)
}

// Validate reports every problem of c at once, each as "key: message".
func (c *PoissonConfig) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch {
	case len(c.Classes) > 0 && len(c.Axes) > 0:
		add("axes: must be empty when classes are set")
	case len(c.Classes) == 1:
		add("classes: need at least 2, got 1")
	case len(c.Classes) == 0 && (len(c.Axes) < 1 || len(c.Axes) > 2):
		add("axes: need 1 or 2 axes (or classes), got %d", len(c.Axes))
	}
	seen := map[string]int{}
	for i, name := range c.Classes {
		if name == "" {
			add("classes[%d]: must not be empty", i)
		} else if j, ok := seen[name]; ok {
			add("classes[%d]: %q repeats classes[%d]", i, name, j)
		} else {
			seen[name] = i
		}
	}
	for i := range c.Axes {
		c.Axes[i].validate(fmt.Sprintf("axes[%d]", i), &errs)
		if c.Axes[i].Circular && len(c.Axes) > 1 {
			add("axes[%d].circular: a circular axis must be the only axis", i)
		}
	}
	if len(c.Axes) == 2 && c.Axes[0].Name == c.Axes[1].Name && c.Axes[0].Name != "" {
		add("axes[1].name: %q repeats axes[0].name", c.Axes[1].Name)
	}
	if len(c.Columns) != 0 && len(c.Columns) != c.dims() {
		add("columns: has %d entries, want %d (one per axis, or one for the class)", len(c.Columns), c.dims())
	}
	for i, col := range c.Columns {
		if col < 0 {
			add("columns[%d]: must be ≥ 0, got %d", i, col)
		}
	}
	circular := len(c.Axes) == 1 && c.Axes[0].Circular
	switch c.Tuning {
	case TuningHistogram:
	case TuningCosine, TuningVonMises:
		if len(c.Classes) > 0 {
			add("tuning: %s needs a grid; classes take histogram", c.Tuning)
		}
	case TuningGaussian:
		if len(c.Classes) > 0 {
			add("tuning: gaussian needs a grid; classes take histogram")
		}
		if circular {
			add("tuning: gaussian is for linear axes; use vonmises on a circular axis")
		}
	default:
		add("tuning: unknown %q (histogram, cosine, vonmises, gaussian)", c.Tuning)
	}
	if !(c.Smooth >= 0) || math.IsInf(c.Smooth, 0) {
		add("smooth: must be finite and ≥ 0, got %g", c.Smooth)
	}
	if !(c.PseudoBins > 0) || math.IsInf(c.PseudoBins, 0) {
		add("pseudo_bins: must be finite and > 0, got %g", c.PseudoBins)
	}
	if !(c.RateFloorHz > 0) || math.IsInf(c.RateFloorHz, 0) {
		add("rate_floor_hz: must be finite and > 0, got %g", c.RateFloorHz)
	}
	if !(c.Ridge >= 0) || math.IsInf(c.Ridge, 0) {
		add("ridge: must be finite and ≥ 0, got %g", c.Ridge)
	}
	if c.Prior != PriorFlat && c.Prior != PriorContinuity {
		add("prior: unknown %q (flat, continuity)", c.Prior)
	}
	if len(c.TransitionSD) != 0 {
		if len(c.Classes) > 0 {
			add("transition_sd: not used with classes (see class_stay)")
		} else if len(c.TransitionSD) != len(c.Axes) {
			add("transition_sd: has %d values for %d axes", len(c.TransitionSD), len(c.Axes))
		}
		for i, v := range c.TransitionSD {
			if !(v > 0) || math.IsInf(v, 0) {
				add("transition_sd[%d]: must be finite and > 0, got %g", i, v)
			}
		}
	}
	if !(c.ClassStay >= 0 && c.ClassStay < 1) {
		add("class_stay: must be in [0, 1) (0: fit), got %g", c.ClassStay)
	}
	if c.Estimate != EstimateMean && c.Estimate != EstimateMAP {
		add("estimate: unknown %q (mean, map)", c.Estimate)
	}
	return errors.Join(errs...)
}

// PoissonParams are the parameters of the Poisson population decoder: the
// tuning curve of every unit tabulated on the decoding grid (or per class),
// in Hz, and the prior. RatesHz is unit-major: RatesHz[i*Points()+k] is f_i at
// point k; a 2-D grid's points are row-major with the first axis outermost.
// BinWidth (frames) and Rate (frames per second) give the bin duration
// τ = BinWidth/Rate the decoder expects.
type PoissonParams struct {
	Axes         []GridAxis `json:"axes"`
	Classes      []string   `json:"classes"`
	Tuning       string     `json:"tuning"`
	BinWidth     int        `json:"bin_width"`
	Rate         float64    `json:"rate"`
	RatesHz      []float64  `json:"rates_hz"`
	Prior        string     `json:"prior"`
	TransitionSD []float64  `json:"transition_sd"`
	ClassStay    float64    `json:"class_stay"`
	Estimate     string     `json:"estimate"`
}

// Points returns the number of grid points, or classes.
func (p *PoissonParams) Points() int {
	if len(p.Classes) > 0 {
		return len(p.Classes)
	}
	if len(p.Axes) == 0 {
		return 0
	}
	k := 1
	for _, a := range p.Axes {
		if a.Points < 1 {
			return 0
		}
		k *= a.Points
	}
	return k
}

// Units returns the number of units (channels).
func (p *PoissonParams) Units() int {
	if k := p.Points(); k > 0 {
		return len(p.RatesHz) / k
	}
	return 0
}

// Validate reports every problem of p at once, each as "key: message".
func (p *PoissonParams) Validate() error {
	c := PoissonConfig{Axes: p.Axes, Classes: p.Classes, Tuning: p.Tuning, Smooth: 0, PseudoBins: 1, RateFloorHz: 1,
		Prior: p.Prior, TransitionSD: p.TransitionSD, ClassStay: p.ClassStay, Estimate: p.Estimate}
	var errs []error
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if p.BinWidth < 1 {
		errs = append(errs, fmt.Errorf("bin_width: must be ≥ 1, got %d", p.BinWidth))
	}
	if !(p.Rate > 0) || math.IsInf(p.Rate, 0) {
		errs = append(errs, fmt.Errorf("rate: must be finite and > 0, got %g", p.Rate))
	}
	k := p.Points()
	switch {
	case k == 0:
	case len(p.RatesHz) == 0 || len(p.RatesHz)%k != 0:
		errs = append(errs, fmt.Errorf("rates_hz: has %d values, want a positive multiple of the %d points", len(p.RatesHz), k))
	default:
		for i, v := range p.RatesHz {
			if !(v > 0) || math.IsInf(v, 0) {
				errs = append(errs, fmt.Errorf("rates_hz: value %d (unit %d, point %d) is %g, must be finite and > 0", i, i/k, i%k, v))
				break
			}
		}
	}
	if p.Prior == PriorContinuity {
		if len(p.Classes) > 0 && !(p.ClassStay > 0) {
			errs = append(errs, errors.New("class_stay: must be > 0 with the continuity prior"))
		}
		if len(p.Classes) == 0 && len(p.TransitionSD) != len(p.Axes) {
			errs = append(errs, fmt.Errorf("transition_sd: has %d values, want one per axis (%d) with the continuity prior", len(p.TransitionSD), len(p.Axes)))
		}
	}
	return errors.Join(errs...)
}

// poissonMinBins is the fewest calibration bins FitPoisson accepts.
const poissonMinBins = 10

// FitPoisson fits the tuning curves of the Poisson population decoder of
// Zhang et al. (1998), "Interpreting neuronal population activity by
// reconstruction", J. Neurophysiol. 79:1017–1044, from calibration data:
// states[t] is the decoded variable in bin t (one value per axis, or the class
// index), counts[t] the spike counts, binSeconds the bin duration τ. All rows
// are taken as consecutive bins.
//
// Tuning curves f_i (Hz) are estimated on the grid (or per class) by:
//
//   - histogram: each bin is assigned to its nearest grid point k(t); with
//     occupancy O_k = #{t: k(t) = k} and counts C_ik = Σ_{t: k(t)=k} n_it,
//     both smoothed by the same Gaussian kernel G (Smooth points),
//     f_i(k) = (G∗C_i + a·n̄_i) / ((G∗O + a)·τ), the posterior mean under a
//     Gamma prior of a pseudo-bins (PseudoBins) at the unit's mean count n̄_i
//     per bin. Like any Nadaraya–Watson smoother it is biased within about
//     two kernel SDs of the ends of a linear axis where the rate has a slope
//     there (the kernel is one-sided): the rate is pulled toward the
//     interior's (30 % at the end point of a test with a steep Gaussian
//     field and Smooth 1.5; within 10 % two SDs in). With classes, f_i(c) is the class's mean count over τ, shrunk
//     the same way.
//   - cosine (Georgopoulos et al. 1986): f_i = b_i + c_iᵀu, Poisson maximum
//     likelihood with the identity link; u is the state scaled to [−1, 1]
//     per axis, or (cos θ, sin θ) on a circular axis.
//   - vonmises: f_i = exp(b_i + c_iᵀu); on a circular axis the von Mises
//     curve exp(b + κ cos(θ − θ_i)), on linear axes its exponential-cosine
//     analogue. Log-link Poisson regression (Newton–Raphson).
//   - gaussian: f_i = exp(b_i + c_iᵀu + uᵀB_i u), the quadratic log-rate
//     (a Gaussian bump when B_i is negative definite).
//
// and floored at RateFloorHz. With the continuity prior, TransitionSD (or
// ClassStay) is fitted from the calibration states when not given: the RMS
// one-bin change per axis (at least half a grid step), or the fraction of
// bins that keep the previous bin's class (at most 0.999, so the filter can
// always leave a class).
//
// Errors name the cause: fewer than 10 bins, ragged or non-finite rows, a
// constant channel, a constant state column, a class index out of range or
// not an integer, a class with no examples, and a regression that cannot be
// fitted.
func FitPoisson(states, counts [][]float64, binSeconds float64, cfg PoissonConfig) (*PoissonParams, error) {
	if !(binSeconds > 0) || math.IsInf(binSeconds, 0) {
		return nil, fmt.Errorf("poisson fit: bin duration %g s; must be finite and > 0", binSeconds)
	}
	// One frame per bin at 1/τ frames per second.
	p, err := fitPoisson(states, counts, nil, 1, 1/binSeconds, cfg)
	if err != nil {
		return nil, fmt.Errorf("poisson fit: %w", err)
	}
	return p, nil
}

// FitPoissonBins fits the model of FitPoisson on calibration bins, taking
// the state from the truth columns cfg.Columns. Only pairs of consecutive
// bins (no gap in the stream) enter the fit of the transition.
func FitPoissonBins(bins []Bin, cfg PoissonConfig) (*PoissonParams, error) {
	cols := cfg.Columns
	if len(cols) == 0 {
		cols = make([]int, cfg.dims())
		for i := range cols {
			cols[i] = i
		}
	}
	states, counts, cont, err := binsTable("poisson fit", bins, cols)
	if err != nil {
		return nil, err
	}
	p, err := fitPoisson(states, counts, cont, bins[0].Width, bins[0].Rate, cfg)
	if err != nil {
		return nil, fmt.Errorf("poisson fit: %w", err)
	}
	return p, nil
}

func fitPoisson(states, counts [][]float64, cont []bool, width int, rate float64, cfg PoissonConfig) (*PoissonParams, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	T := len(states)
	if len(counts) != T {
		return nil, fmt.Errorf("%d state rows but %d count rows", T, len(counts))
	}
	if T < poissonMinBins {
		return nil, fmt.Errorf("too few samples: %d bins, need at least %d", T, poissonMinBins)
	}
	D, err := checkRows("states", states)
	if err != nil {
		return nil, err
	}
	if D != cfg.dims() {
		return nil, fmt.Errorf("states have %d columns, want %d", D, cfg.dims())
	}
	n, err := checkRows("counts", counts)
	if err != nil {
		return nil, err
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
	tau := float64(width) / rate
	p := &PoissonParams{
		Axes: slices.Clone(cfg.Axes), Classes: slices.Clone(cfg.Classes), Tuning: cfg.Tuning,
		BinWidth: width, Rate: rate, Prior: cfg.Prior, Estimate: cfg.Estimate,
		TransitionSD: slices.Clone(cfg.TransitionSD), ClassStay: cfg.ClassStay,
	}
	K := p.Points()
	// Nearest point (or class) of every bin.
	idx := make([]int, T)
	if len(cfg.Classes) > 0 {
		C := len(cfg.Classes)
		seen := make([]int, C)
		for t, s := range states {
			c := s[0]
			if c != math.Trunc(c) || c < 0 || c >= float64(C) {
				return nil, fmt.Errorf("states[%d][0] = %g is not a class index in 0…%d", t, c, C-1)
			}
			idx[t] = int(c)
			seen[int(c)]++
		}
		var errs []error
		for c, k := range seen {
			if k == 0 {
				errs = append(errs, fmt.Errorf("class %d (%s) has no examples", c, cfg.Classes[c]))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	} else {
		for a := 0; a < D; a++ {
			constant := true
			for _, s := range states[1:] {
				if s[a] != states[0][a] {
					constant = false
					break
				}
			}
			if constant {
				return nil, fmt.Errorf("state column %d (%s) is constant over the calibration data", a, cfg.Axes[a].Name)
			}
		}
		for t, s := range states {
			k := 0
			for a := range cfg.Axes {
				k = k*cfg.Axes[a].Points + cfg.Axes[a].nearest(s[a])
			}
			idx[t] = k
		}
	}

	rates := make([]float64, n*K)
	switch cfg.Tuning {
	case TuningHistogram:
		occ := make([]float64, K)
		sums := make([]float64, n*K) // unit-major
		mean := make([]float64, n)
		for t, k := range idx {
			occ[k]++
			for i, v := range counts[t] {
				sums[i*K+k] += v
				mean[i] += v / float64(T)
			}
		}
		if len(cfg.Classes) == 0 && cfg.Smooth > 0 {
			sm := newGridSmoother(cfg.Axes, cfg.Smooth)
			sm.apply(occ)
			for i := 0; i < n; i++ {
				sm.apply(sums[i*K : (i+1)*K])
			}
		}
		a := cfg.PseudoBins
		for i := 0; i < n; i++ {
			for k := 0; k < K; k++ {
				rates[i*K+k] = (sums[i*K+k] + a*mean[i]) / ((occ[k] + a) * tau)
			}
		}
	default:
		link := linkLog
		if cfg.Tuning == TuningCosine {
			link = linkIdentity
		}
		feat := newTuningFeatures(cfg.Tuning, cfg.Axes)
		pf := feat.p
		X := make([]float64, T*pf)
		for t, s := range states {
			feat.eval(X[t*pf:(t+1)*pf], s)
		}
		G := make([]float64, K*pf) // features at the grid points
		coord := make([]float64, D)
		for k := 0; k < K; k++ {
			gridCoord(coord, cfg.Axes, k)
			feat.eval(G[k*pf:(k+1)*pf], coord)
		}
		y := make([]float64, T)
		for i := 0; i < n; i++ {
			for t := range y {
				y[t] = counts[t][i]
			}
			beta, err := fitPoissonGLM(X, T, pf, y, link, cfg.Ridge)
			if err != nil {
				return nil, fmt.Errorf("channel %d: %s tuning: %w", i, cfg.Tuning, err)
			}
			for k := 0; k < K; k++ {
				eta := dot(G[k*pf:(k+1)*pf], beta)
				if link == linkLog {
					eta = math.Exp(min(eta, glmMaxEta))
				}
				rates[i*K+k] = eta / tau
			}
		}
	}
	for i, v := range rates {
		if !(v >= cfg.RateFloorHz) { // also replaces a NaN
			rates[i] = cfg.RateFloorHz
		}
	}
	p.RatesHz = rates

	if cfg.Prior == PriorContinuity {
		if err := fitPoissonTransition(p, states, idx, cont); err != nil {
			return nil, err
		}
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("fitted parameters are invalid: %w", err)
	}
	return p, nil
}

// fitPoissonTransition fills p.TransitionSD or p.ClassStay, where not set,
// from the consecutive pairs of calibration bins.
func fitPoissonTransition(p *PoissonParams, states [][]float64, idx []int, cont []bool) error {
	pairs := 0
	if len(p.Classes) > 0 {
		if p.ClassStay > 0 {
			return nil
		}
		stay := 0
		for t := 1; t < len(idx); t++ {
			if cont != nil && !cont[t] {
				continue
			}
			pairs++
			if idx[t] == idx[t-1] {
				stay++
			}
		}
		if pairs == 0 {
			return errors.New("class_stay: no consecutive pairs of bins to fit it from")
		}
		p.ClassStay = min(0.999, max(float64(stay)/float64(pairs), 1/float64(len(p.Classes))))
		return nil
	}
	if len(p.TransitionSD) > 0 {
		return nil
	}
	D := len(p.Axes)
	ss := make([]float64, D)
	for t := 1; t < len(states); t++ {
		if cont != nil && !cont[t] {
			continue
		}
		pairs++
		for a := range p.Axes {
			d := p.Axes[a].diff(states[t][a], states[t-1][a])
			ss[a] += d * d
		}
	}
	if pairs == 0 {
		return errors.New("transition_sd: no consecutive pairs of bins to fit it from")
	}
	p.TransitionSD = make([]float64, D)
	for a := range p.Axes {
		p.TransitionSD[a] = max(math.Sqrt(ss[a]/float64(pairs)), 0.5*p.Axes[a].Step())
	}
	return nil
}

// gridCoord writes the coordinates of grid point k into dst.
func gridCoord(dst []float64, axes []GridAxis, k int) {
	for a := len(axes) - 1; a >= 0; a-- {
		m := axes[a].Points
		dst[a] = axes[a].Value(k % m)
		k /= m
	}
}

// gridSmoother smooths arrays over a grid with a separable Gaussian kernel
// (unnormalised, for ratios of smoothed histograms).
type gridSmoother struct {
	sizes []int
	k     []gridKernel
	tmp   []float64
}

func newGridSmoother(axes []GridAxis, sigma float64) *gridSmoother {
	s := &gridSmoother{}
	total := 1
	for _, a := range axes {
		s.sizes = append(s.sizes, a.Points)
		s.k = append(s.k, newGridKernel(a.Points, a.Circular, sigma, false))
		total *= a.Points
	}
	s.tmp = make([]float64, total)
	return s
}

// apply smooths x in place.
func (s *gridSmoother) apply(x []float64) {
	outer := 1
	for a, m := range s.sizes {
		inner := len(x) / (outer * m)
		s.k[a].apply(s.tmp, x, outer, inner)
		copy(x, s.tmp)
		outer *= m
	}
}

// tuningFeatures maps a state to the regressors of a parametric tuning
// curve, with coordinates scaled to [−1, 1] (linear axes) or mapped to the
// unit circle (a circular axis).
type tuningFeatures struct {
	kind   string
	axes   []GridAxis
	p      int
	centre []float64
	half   []float64
}

func newTuningFeatures(kind string, axes []GridAxis) *tuningFeatures {
	f := &tuningFeatures{kind: kind, axes: axes}
	D := len(axes)
	for _, a := range axes {
		f.centre = append(f.centre, (a.Min+a.Max)/2)
		f.half = append(f.half, (a.Max-a.Min)/2)
	}
	switch {
	case D == 1 && axes[0].Circular:
		f.p = 3
	case kind == TuningGaussian:
		f.p = 1 + D + D*(D+1)/2
	default:
		f.p = 1 + D
	}
	return f
}

// eval writes the features of state s into dst (len p).
func (f *tuningFeatures) eval(dst, s []float64) {
	dst[0] = 1
	if len(f.axes) == 1 && f.axes[0].Circular {
		a := &f.axes[0]
		th := 2 * math.Pi * (s[0] - a.Min) / (a.Max - a.Min)
		dst[1], dst[2] = math.Cos(th), math.Sin(th)
		return
	}
	D := len(f.axes)
	for a := 0; a < D; a++ {
		dst[1+a] = (s[a] - f.centre[a]) / f.half[a]
	}
	if f.kind == TuningGaussian {
		j := 1 + D
		for a := 0; a < D; a++ {
			for b := a; b < D; b++ {
				dst[j] = dst[1+a] * dst[1+b]
				j++
			}
		}
	}
}

// Poisson is the Bayesian population decoder of Zhang et al. (1998),
// "Interpreting neuronal population activity by reconstruction",
// J. Neurophysiol. 79:1017–1044, for independent Poisson units with tuning
// curves f_i tabulated on a grid of states s_k (or per class). For the counts
// n_i of a bin of duration τ (Zhang et al. 1998, eq. 36):
//
//	log P(n | s_k) = Σ_i n_i log f_i(s_k) − τ Σ_i f_i(s_k) + const,
//
// computed in the log domain: the table log f_i(s_k) and τ Σ_i f_i(s_k) are
// precomputed, and a bin costs one pass over the grid per unit with a
// non-zero count (sparse in the counts). The posterior is
//
//	P_t(s_k) ∝ P(n_t | s_k) · P⁻_t(s_k),
//
// with a flat prior P⁻ (Zhang et al. 1998's basic method) or, with the
// continuity prior, the prediction of a discrete Bayes filter (Zhang et al.
// 1998's two-step method, with a Gaussian random-walk transition instead of
// their speed-dependent Gaussian): P⁻_t(s_k) = Σ_j T(k, j) P_{t−1}(s_j), T a
// separable Gaussian kernel with standard deviation TransitionSD per axis,
// normalised per source point; for classes, T stays with probability
// ClassStay and moves evenly to the other classes otherwise. The filter starts
// (and Reset returns it) at the flat prior.
//
// Estimate.State is, on a grid, the posterior mean Σ_k P(s_k) s_k (the
// circular mean on a circular axis) or, with Estimate "map", the grid point
// of largest posterior; Estimate.Cov is the posterior expected squared
// error about that estimate, Σ_k P(s_k)(s_k − ŝ)(s_k − ŝ)ᵀ (differences
// wrapped on a circular axis), which for the mean is the posterior
// covariance. For classes, State is the posterior probability of each class
// and Cov is empty; MAPIndex gives the most probable class.
//
// Cost per bin: O(n_active·K) for the likelihood and O(K·(2r+1)·D) for the
// prediction (r the kernel radius in points); no allocation.
type Poisson struct {
	shape      binShape
	tau        float64
	K, D       int
	names      []string
	axes       []GridAxis
	classes    bool
	circular   bool
	mapEst     bool
	continuity bool
	stay       float64
	logF       []float64 // n×K
	sumF       []float64 // τ Σ_i f_i(s_k)
	coords     []float64 // K×D
	kern       []gridKernel
	sizes      []int

	post, next, pred, tmp []float64
	started               bool
	mapIdx                int
}

var (
	_ Decoder    = (*Poisson)(nil)
	_ StateNamer = (*Poisson)(nil)
)

// NewPoisson returns a Poisson population decoder for p (which it copies
// into its own tables).
func NewPoisson(p *PoissonParams) (*Poisson, error) {
	if p == nil {
		return nil, errors.New("poisson: nil parameters")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("poisson: invalid parameters: %w", err)
	}
	K, n := p.Points(), p.Units()
	d := &Poisson{
		shape:      binShape{n: n, width: p.BinWidth, rate: p.Rate},
		tau:        float64(p.BinWidth) / p.Rate,
		K:          K,
		classes:    len(p.Classes) > 0,
		mapEst:     p.Estimate == EstimateMAP,
		continuity: p.Prior == PriorContinuity,
		stay:       p.ClassStay,
		axes:       slices.Clone(p.Axes),
		logF:       make([]float64, n*K),
		sumF:       make([]float64, K),
		post:       make([]float64, K),
		next:       make([]float64, K),
		pred:       make([]float64, K),
		tmp:        make([]float64, K),
	}
	for i, f := range p.RatesHz {
		d.logF[i] = math.Log(f)
		d.sumF[i%K] += d.tau * f
	}
	if d.classes {
		d.names = slices.Clone(p.Classes)
	} else {
		d.D = len(p.Axes)
		d.circular = p.Axes[0].Circular
		for _, a := range p.Axes {
			d.names = append(d.names, a.Name)
		}
		d.coords = make([]float64, K*d.D)
		for k := 0; k < K; k++ {
			gridCoord(d.coords[k*d.D:(k+1)*d.D], p.Axes, k)
		}
		if d.continuity {
			for a, ax := range p.Axes {
				d.sizes = append(d.sizes, ax.Points)
				sigma := 0.0
				if st := ax.Step(); st > 0 {
					sigma = p.TransitionSD[a] / st
				}
				d.kern = append(d.kern, newGridKernel(ax.Points, ax.Circular, sigma, true))
			}
		}
	}
	d.Reset()
	return d, nil
}

// Channels returns the number of units the decoder expects.
func (d *Poisson) Channels() int { return d.shape.n }

// Points returns the number of grid points (or classes).
func (d *Poisson) Points() int { return d.K }

// StateNames returns the axis names, or the class names (a copy).
func (d *Poisson) StateNames() []string { return slices.Clone(d.names) }

// Reset returns the decoder to the flat prior.
func (d *Poisson) Reset() {
	v := 1 / float64(d.K)
	for k := range d.post {
		d.post[k] = v
	}
	d.started = false
	d.mapIdx = 0
}

// MAPIndex returns the grid point (row-major) or class of largest posterior
// after the last Decode.
func (d *Poisson) MAPIndex() int { return d.mapIdx }

// MAPTo writes the coordinates of the maximum a posteriori grid point (on a
// grid) or the one-hot class vector (for classes) into dst, grown if needed.
func (d *Poisson) MAPTo(dst []float64) []float64 {
	if d.classes {
		dst = grow(dst, d.K)
		clear(dst)
		dst[d.mapIdx] = 1
		return dst
	}
	dst = grow(dst, d.D)
	copy(dst, d.coords[d.mapIdx*d.D:(d.mapIdx+1)*d.D])
	return dst
}

// PosteriorTo writes the posterior over the grid points (or classes) into
// dst, grown if needed.
func (d *Poisson) PosteriorTo(dst []float64) []float64 {
	dst = grow(dst, d.K)
	copy(dst, d.post)
	return dst
}

// Decode computes the posterior for obs and writes the estimate into dst.
// A bin with the wrong channel count, width or rate, or with a negative or
// non-finite count, is an error and leaves the decoder unchanged.
func (d *Poisson) Decode(dst *Estimate, obs *Bin) error {
	if err := d.shape.check("poisson", obs); err != nil {
		return err
	}
	for i, v := range obs.Counts {
		if v < 0 {
			return fmt.Errorf("poisson: bin seq %d: counts[%d] is %g, must be ≥ 0", obs.Seq, i, v)
		}
	}
	K := d.K
	L := d.next
	for k, v := range d.sumF {
		L[k] = -v
	}
	for i, c := range obs.Counts {
		if c != 0 {
			axpyRun(L, d.logF[i*K:(i+1)*K], c)
		}
	}
	prior := d.predict()
	mx := math.Inf(-1)
	for _, v := range L {
		mx = max(mx, v)
	}
	sum := 0.0
	if prior == nil {
		for k, v := range L {
			w := math.Exp(v - mx)
			L[k] = w
			sum += w
		}
	} else {
		// The likelihood's peak may sit where the prediction has
		// underflowed; then redo the product in the log domain.
		for k, v := range L {
			d.tmp[k] = v
			w := math.Exp(v-mx) * prior[k]
			L[k] = w
			sum += w
		}
		if !(sum > 0) || math.IsInf(sum, 0) {
			mx, sum = math.Inf(-1), 0
			for k, v := range d.tmp {
				d.tmp[k] = v + math.Log(prior[k])
				mx = max(mx, d.tmp[k])
			}
			for k, v := range d.tmp {
				w := math.Exp(v - mx)
				L[k] = w
				sum += w
			}
		}
	}
	if !(sum > 0) || math.IsInf(sum, 0) {
		return fmt.Errorf("poisson: bin seq %d: the posterior is degenerate (counts far outside the calibration range?)", obs.Seq)
	}
	inv := 1 / sum
	best := 0
	for k := range L {
		L[k] *= inv
		if L[k] > L[best] {
			best = k
		}
	}
	d.post, d.next = d.next, d.post
	d.started = true
	d.mapIdx = best
	d.output(dst, obs)
	return nil
}

// predict returns the prior of the coming bin, or nil for a flat one. It
// writes only scratch (pred, tmp), never the posterior.
func (d *Poisson) predict() []float64 {
	if !d.continuity || !d.started {
		return nil
	}
	if d.classes {
		K := float64(d.K)
		move := (1 - d.stay) / (K - 1)
		for k, v := range d.post {
			d.pred[k] = d.stay*v + move*(1-v)
		}
		return d.pred
	}
	// Separable transition: along each axis in turn, ping-ponging between
	// pred and tmp (apply scales its source in place, so start from a copy).
	copy(d.tmp, d.post)
	src, dst := d.tmp, d.pred
	outer := 1
	for a, m := range d.sizes {
		inner := d.K / (outer * m)
		d.kern[a].apply(dst, src, outer, inner)
		src, dst = dst, src
		outer *= m
	}
	if &src[0] != &d.pred[0] {
		copy(d.pred, src)
	}
	return d.pred
}

func (d *Poisson) output(dst *Estimate, obs *Bin) {
	stamp(dst, obs)
	if d.classes {
		dst.State = grow(dst.State, d.K)
		copy(dst.State, d.post)
		dst.Cov = dst.Cov[:0]
		return
	}
	D := d.D
	dst.State = grow(dst.State, D)
	s := dst.State
	switch {
	case d.mapEst:
		copy(s, d.coords[d.mapIdx*D:(d.mapIdx+1)*D])
	case d.circular:
		a := &d.axes[0]
		scale := 2 * math.Pi / (a.Max - a.Min)
		var c, sn float64
		for k, p := range d.post {
			th := (d.coords[k] - a.Min) * scale
			c += p * math.Cos(th)
			sn += p * math.Sin(th)
		}
		th := math.Atan2(sn, c)
		if th < 0 {
			th += 2 * math.Pi
		}
		s[0] = a.Min + th/scale
	default:
		clear(s)
		for k, p := range d.post {
			for j := 0; j < D; j++ {
				s[j] += p * d.coords[k*D+j]
			}
		}
	}
	dst.Cov = grow(dst.Cov, D*D)
	cv := dst.Cov
	clear(cv)
	if d.circular {
		a := &d.axes[0]
		for k, p := range d.post {
			e := a.diff(d.coords[k], s[0])
			cv[0] += p * e * e
		}
		return
	}
	for k, p := range d.post {
		x := d.coords[k*D : (k+1)*D]
		for i := 0; i < D; i++ {
			ei := x[i] - s[i]
			for j := 0; j <= i; j++ {
				cv[i*D+j] += p * ei * (x[j] - s[j])
			}
		}
	}
	for i := 0; i < D; i++ {
		for j := 0; j < i; j++ {
			cv[j*D+i] = cv[i*D+j]
		}
	}
}

// PoissonFormat and PoissonVersion identify Poisson decoder parameter files.
const (
	PoissonFormat  = "bciloop.poisson"
	PoissonVersion = 1
)

// poissonFile is the JSON layout of a Poisson parameter file, version 1:
//
//	{"format": "bciloop.poisson", "version": 1, "units": n, "points": K,
//	 "axes": [{"name", "min", "max", "points", "circular"}…] or null,
//	 "classes": [names] or null, "tuning": "…", "bin_width": frames,
//	 "rate": Hz, "rates_hz": [n×K, unit-major], "prior": "flat"|"continuity",
//	 "transition_sd": [per axis] or null, "class_stay": p, "estimate": "mean"|"map"}
type poissonFile struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	Units   int    `json:"units"`
	Points  int    `json:"points"`
	*PoissonParams
}

// WritePoissonParams writes p to w as a version-1 Poisson parameter file,
// after validating it.
func WritePoissonParams(w io.Writer, p *PoissonParams) error {
	if p == nil {
		return errors.New("poisson params: nil parameters")
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("poisson params: %w", err)
	}
	return writeParamFile(w, "poisson params", &poissonFile{Format: PoissonFormat, Version: PoissonVersion,
		Units: p.Units(), Points: p.Points(), PoissonParams: p})
}

// ReadPoissonParams reads one Poisson parameter file from r, rejecting
// unknown fields, another format or version, trailing data, and parameters
// that do not validate, naming the field at fault.
func ReadPoissonParams(r io.Reader) (*PoissonParams, error) {
	f := poissonFile{PoissonParams: new(PoissonParams)}
	if err := readParamFile(r, "poisson params", &f); err != nil {
		return nil, err
	}
	errs := []error{checkFileHeader(f.Format, f.Version, PoissonFormat, PoissonVersion)}
	p := f.PoissonParams
	if errs[0] == nil {
		if err := p.Validate(); err != nil {
			errs = append(errs, err)
		} else if f.Units != p.Units() || f.Points != p.Points() {
			errs = append(errs, fmt.Errorf("units, points: %d and %d, but rates_hz has %d units over %d points", f.Units, f.Points, p.Units(), p.Points()))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("poisson params: %w", err)
	}
	return p, nil
}
