package decode

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// PopVecConfig configures fitting the population vector decoder.
type PopVecConfig struct {
	// StateNames names the state (velocity) columns; empty means "x0", ….
	StateNames []string `yaml:"state_names"`
}

// DefaultPopVecConfig returns the defaults.
func DefaultPopVecConfig() PopVecConfig { return PopVecConfig{} }

// Validate reports every problem of c at once, each as "key: message".
func (c *PopVecConfig) Validate() error {
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
	return errors.Join(errs...)
}

// PopVecParams are the parameters of the population vector: per unit its
// baseline count per bin b_i, modulation depth m_i (counts per bin per unit
// of state) and unit preferred direction d_i (Pref, row-major n×d), and a
// per-dimension Scale that maps the population vector to state units.
type PopVecParams struct {
	StateNames []string  `json:"state_names"`
	BinWidth   int       `json:"bin_width"`
	Rate       float64   `json:"rate"`
	Baseline   []float64 `json:"baseline"`
	Modulation []float64 `json:"modulation"`
	Pref       []float64 `json:"pref"`
	Scale      []float64 `json:"scale"`
}

// States returns d.
func (p *PopVecParams) States() int { return len(p.Scale) }

// Units returns n.
func (p *PopVecParams) Units() int { return len(p.Baseline) }

// Validate reports every problem of p at once, each as "key: message".
func (p *PopVecParams) Validate() error {
	d, n := p.States(), p.Units()
	var errs []error
	if d == 0 {
		errs = append(errs, errors.New("scale: must not be empty (it sets the state dimension)"))
	}
	if n == 0 {
		errs = append(errs, errors.New("baseline: must not be empty (it sets the unit count)"))
	}
	if len(p.StateNames) != d {
		errs = append(errs, fmt.Errorf("state_names: has %d names for %d states", len(p.StateNames), d))
	}
	if p.BinWidth < 0 {
		errs = append(errs, fmt.Errorf("bin_width: must be ≥ 0 (0: not checked), got %d", p.BinWidth))
	}
	if !(p.Rate >= 0) || math.IsInf(p.Rate, 0) {
		errs = append(errs, fmt.Errorf("rate: must be finite and ≥ 0 (0: not checked), got %g", p.Rate))
	}
	vecCheck(&errs, "baseline", p.Baseline, n)
	if vecCheck(&errs, "modulation", p.Modulation, n) {
		for i, v := range p.Modulation {
			if !(v > 0) {
				errs = append(errs, fmt.Errorf("modulation: value %d is %g, must be > 0", i, v))
				break
			}
		}
	}
	vecCheck(&errs, "pref", p.Pref, n*d)
	vecCheck(&errs, "scale", p.Scale, d)
	return errors.Join(errs...)
}

// FitPopVec fits the population vector of Georgopoulos, Schwartz & Kettner
// (1986), "Neuronal population coding of movement direction", Science
// 233:1416–1419: each unit's counts are regressed by least squares on the
// state (velocity), n_i = b_i + c_iᵀv (cosine tuning with speed), giving the
// baseline b_i, modulation depth m_i = |c_i| and preferred direction
// d_i = c_i/m_i. The population vector of a bin is
//
//	P = Σ_i ((n_i − b_i)/m_i) d_i,
//
// and the per-dimension Scale_j = Σ_t P_tj v_tj / Σ_t P_tj² (least squares
// through the origin on the calibration data) turns it into a velocity. The
// population vector is unbiased only for uniformly distributed preferred
// directions (Salinas & Abbott 1994); it is a baseline, not an optimal
// decoder.
//
// Errors name the cause: too few bins (need more than 2(d+1)), ragged or
// non-finite rows, a constant channel, constant or collinear states, and an
// untuned unit (m_i = 0).
func FitPopVec(states, counts [][]float64, cfg PopVecConfig) (*PopVecParams, error) {
	p, err := fitPopVec(states, counts, cfg)
	if err != nil {
		return nil, fmt.Errorf("popvec fit: %w", err)
	}
	return p, nil
}

// FitPopVecBins fits FitPopVec on calibration bins (Truth as the state) and
// records their width and rate.
func FitPopVecBins(bins []Bin, cfg PopVecConfig) (*PopVecParams, error) {
	states, counts, _, err := binsTable("popvec fit", bins, nil)
	if err != nil {
		return nil, err
	}
	p, err := fitPopVec(states, counts, cfg)
	if err != nil {
		return nil, fmt.Errorf("popvec fit: %w", err)
	}
	p.BinWidth, p.Rate = bins[0].Width, bins[0].Rate
	return p, nil
}

func fitPopVec(states, counts [][]float64, cfg PopVecConfig) (*PopVecParams, error) {
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
	if err := constantChannels(counts); err != nil {
		return nil, err
	}
	mx, X := centre(states)
	mz, Z := centre(counts)
	sxx := make([]float64, d*d)
	for t := 0; t < T; t++ {
		outerAdd(sxx, X[t*d:(t+1)*d], X[t*d:(t+1)*d])
	}
	for j := 0; j < d; j++ {
		if sxx[j*d+j] == 0 {
			return nil, fmt.Errorf("state %d (%s) is constant over the calibration data", j, names[j])
		}
	}
	if j := cholesky(sxx, d, fitTol); j >= 0 {
		return nil, fmt.Errorf("state %d (%s) is collinear with the states before it over the calibration data", j, names[j])
	}
	// c_i = (X Xᵀ)⁻¹ X z_i; b_i = z̄_i − c_iᵀ x̄.
	c := make([]float64, n*d)
	for t := 0; t < T; t++ {
		outerAdd(c, Z[t*n:(t+1)*n], X[t*d:(t+1)*d])
	}
	p := &PopVecParams{StateNames: names, Baseline: make([]float64, n), Modulation: make([]float64, n), Pref: c, Scale: make([]float64, d)}
	var errs []error
	for i := 0; i < n; i++ {
		ci := c[i*d : (i+1)*d]
		cholSolve(sxx, d, ci)
		m := math.Sqrt(dot(ci, ci))
		if !(m > 0) {
			errs = append(errs, fmt.Errorf("channel %d is untuned (zero regression on the states)", i))
			continue
		}
		p.Baseline[i] = mz[i] - dot(ci, mx)
		p.Modulation[i] = m
		for j := range ci {
			ci[j] /= m
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	pv := make([]float64, d)
	num, den := make([]float64, d), make([]float64, d)
	for t := 0; t < T; t++ {
		p.vector(pv, counts[t])
		for j := range pv {
			num[j] += pv[j] * states[t][j]
			den[j] += pv[j] * pv[j]
		}
	}
	for j := range p.Scale {
		if !(den[j] > 0) {
			return nil, fmt.Errorf("the population vector has no component along state %d (%s)", j, names[j])
		}
		p.Scale[j] = num[j] / den[j]
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("fitted parameters are invalid: %w", err)
	}
	return p, nil
}

// vector writes the unscaled population vector of counts into dst.
func (p *PopVecParams) vector(dst, counts []float64) {
	d := len(dst)
	clear(dst)
	for i, c := range counts {
		w := (c - p.Baseline[i]) / p.Modulation[i]
		for j, v := range p.Pref[i*d : (i+1)*d] {
			dst[j] += w * v
		}
	}
}

// PopVec decodes each bin independently with the population vector of
// FitPopVec: Estimate.State_j = Scale_j·Σ_i ((n_i − b_i)/m_i) d_ij, in
// n·d operations without allocation; Estimate.Cov is empty. It is stateless,
// so Reset does nothing.
type PopVec struct {
	shape binShape
	p     *PopVecParams
}

var (
	_ Decoder    = (*PopVec)(nil)
	_ StateNamer = (*PopVec)(nil)
)

// NewPopVec returns the population vector decoder for p (which it copies).
func NewPopVec(p *PopVecParams) (*PopVec, error) {
	if p == nil {
		return nil, errors.New("popvec: nil parameters")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("popvec: invalid parameters: %w", err)
	}
	q := *p
	q.StateNames = slices.Clone(p.StateNames)
	q.Baseline, q.Modulation = slices.Clone(p.Baseline), slices.Clone(p.Modulation)
	q.Pref, q.Scale = slices.Clone(p.Pref), slices.Clone(p.Scale)
	return &PopVec{shape: binShape{n: p.Units(), width: p.BinWidth, rate: p.Rate}, p: &q}, nil
}

// StateNames returns the state names (a copy).
func (v *PopVec) StateNames() []string { return slices.Clone(v.p.StateNames) }

// Reset does nothing: the population vector has no memory.
func (v *PopVec) Reset() {}

// Decode writes the scaled population vector of obs into dst. A bin of the
// wrong shape or with a non-finite count is an error.
func (v *PopVec) Decode(dst *Estimate, obs *Bin) error {
	if err := v.shape.check("popvec", obs); err != nil {
		return err
	}
	d := v.p.States()
	stamp(dst, obs)
	dst.State = grow(dst.State, d)
	v.p.vector(dst.State, obs.Counts)
	for j := range dst.State {
		dst.State[j] *= v.p.Scale[j]
	}
	dst.Cov = dst.Cov[:0]
	return nil
}

// PopVecFormat and PopVecVersion identify population vector parameter files.
const (
	PopVecFormat  = "bciloop.popvec"
	PopVecVersion = 1
)

// popVecFile is the JSON layout of a population vector parameter file,
// version 1: {"format": "bciloop.popvec", "version": 1, "states": d,
// "units": n, "state_names", "bin_width", "rate", "baseline": [n],
// "modulation": [n], "pref": [n×d], "scale": [d]}.
type popVecFile struct {
	shapedHeader
	*PopVecParams
}

// WritePopVecParams writes p to w as a version-1 parameter file.
func WritePopVecParams(w io.Writer, p *PopVecParams) error {
	if p == nil {
		return errors.New("popvec params: nil parameters")
	}
	return writeShaped(w, "popvec params", p, &popVecFile{newShapedHeader(PopVecFormat, PopVecVersion, p), p})
}

// ReadPopVecParams reads one population vector parameter file from r.
func ReadPopVecParams(r io.Reader) (*PopVecParams, error) {
	f := popVecFile{PopVecParams: new(PopVecParams)}
	if err := readShaped(r, "popvec params", &f, &f.shapedHeader, PopVecFormat, PopVecVersion, f.PopVecParams); err != nil {
		return nil, err
	}
	return f.PopVecParams, nil
}
