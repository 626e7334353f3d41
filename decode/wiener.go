package decode

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// WienerConfig configures fitting the Wiener filter.
type WienerConfig struct {
	// StateNames names the state columns; empty means "x0", ….
	StateNames []string `yaml:"state_names"`
	// Lags is the number of bins of counts the filter weighs: the current
	// bin and Lags−1 before it.
	Lags int `yaml:"lags"`
	// Ridge is the L2 penalty λ on the weights (counts² per bin); 0 is
	// ordinary least squares, which refuses a singular design.
	Ridge float64 `yaml:"ridge"`
}

// DefaultWienerConfig returns 10 lags (200 ms of 20 ms bins; Carmena et
// al. 2003 used 10 lags of 100 ms) and no ridge.
func DefaultWienerConfig() WienerConfig { return WienerConfig{Lags: 10} }

// Validate reports every problem of c at once, each as "key: message".
func (c *WienerConfig) Validate() error {
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
	if c.Lags < 1 || c.Lags > 1000 {
		errs = append(errs, fmt.Errorf("lags: must be in [1, 1000], got %d", c.Lags))
	}
	if !(c.Ridge >= 0) || math.IsInf(c.Ridge, 0) {
		errs = append(errs, fmt.Errorf("ridge: must be finite and ≥ 0, got %g", c.Ridge))
	}
	return errors.Join(errs...)
}

// WienerParams are the parameters of the Wiener filter: with z_{t−l} the
// counts l bins ago and μ_z, μ_x the calibration means,
//
//	x̂_t = μ_x + Σ_{l=0}^{L−1} W_l (z_{t−l} − μ_z),
//
// Weights row-major d×(n·L): row j holds, lag by lag (lag 0 first), the n
// weights of each lag.
type WienerParams struct {
	StateNames []string  `json:"state_names"`
	BinWidth   int       `json:"bin_width"`
	Rate       float64   `json:"rate"`
	Lags       int       `json:"lags"`
	StateMean  []float64 `json:"state_mean"`
	CountMean  []float64 `json:"count_mean"`
	Weights    []float64 `json:"weights"`
}

// States returns d.
func (p *WienerParams) States() int { return len(p.StateMean) }

// Units returns n.
func (p *WienerParams) Units() int { return len(p.CountMean) }

// Validate reports every problem of p at once, each as "key: message".
func (p *WienerParams) Validate() error {
	d, n := p.States(), p.Units()
	var errs []error
	if d == 0 {
		errs = append(errs, errors.New("state_mean: must not be empty (it sets the state dimension)"))
	}
	if n == 0 {
		errs = append(errs, errors.New("count_mean: must not be empty (it sets the unit count)"))
	}
	if len(p.StateNames) != d {
		errs = append(errs, fmt.Errorf("state_names: has %d names for %d states", len(p.StateNames), d))
	}
	if p.Lags < 1 || p.Lags > 1000 {
		errs = append(errs, fmt.Errorf("lags: must be in [1, 1000], got %d", p.Lags))
	}
	if p.BinWidth < 0 {
		errs = append(errs, fmt.Errorf("bin_width: must be ≥ 0 (0: not checked), got %d", p.BinWidth))
	}
	if !(p.Rate >= 0) || math.IsInf(p.Rate, 0) {
		errs = append(errs, fmt.Errorf("rate: must be finite and ≥ 0 (0: not checked), got %g", p.Rate))
	}
	vecCheck(&errs, "state_mean", p.StateMean, d)
	vecCheck(&errs, "count_mean", p.CountMean, n)
	if p.Lags >= 1 && p.Lags <= 1000 {
		vecCheck(&errs, "weights", p.Weights, d*n*p.Lags)
	}
	return errors.Join(errs...)
}

// FitWiener fits the Wiener filter (Wiener 1949; as a motor decoder,
// Serruya et al. 2002 and Carmena et al. 2003) by ridge regression of the
// centred state on the centred counts of the current and the Lags−1
// previous bins (Hoerl & Kennard 1970):
//
//	W = Xᵀ Z (Zᵀ Z + λ I)⁻¹
//
// over the T − L + 1 bins that have a full history (a row per bin t ≥ L−1 of
// one continuous run). Errors name the cause: too few bins for the n·L
// weights (with λ = 0), ragged or non-finite rows, a constant channel, and a
// singular design (collinear lagged counts; set ridge > 0).
func FitWiener(states, counts [][]float64, cfg WienerConfig) (*WienerParams, error) {
	p, err := fitWiener(states, counts, nil, cfg)
	if err != nil {
		return nil, fmt.Errorf("wiener fit: %w", err)
	}
	return p, nil
}

// FitWienerBins fits FitWiener on calibration bins (Truth as the state);
// a bin enters the fit only when the Lags−1 bins before it are consecutive.
func FitWienerBins(bins []Bin, cfg WienerConfig) (*WienerParams, error) {
	states, counts, cont, err := binsTable("wiener fit", bins, nil)
	if err != nil {
		return nil, err
	}
	p, err := fitWiener(states, counts, cont, cfg)
	if err != nil {
		return nil, fmt.Errorf("wiener fit: %w", err)
	}
	p.BinWidth, p.Rate = bins[0].Width, bins[0].Rate
	return p, nil
}

func fitWiener(states, counts [][]float64, cont []bool, cfg WienerConfig) (*WienerParams, error) {
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
	if err := constantChannels(counts); err != nil {
		return nil, err
	}
	L := cfg.Lags
	p := n * L
	// Rows with a full history.
	var rows []int
	run := 0
	for t := 0; t < T; t++ {
		if t == 0 || (cont != nil && !cont[t]) {
			run = 0
		}
		run++
		if run >= L {
			rows = append(rows, t)
		}
	}
	if len(rows) <= p && cfg.Ridge == 0 {
		return nil, fmt.Errorf("too few samples: %d bins with %d lags of history for %d weights per state (collect more data, use fewer lags, or set ridge)", len(rows), L-1, p)
	}
	if len(rows) <= 1 {
		return nil, fmt.Errorf("too few samples: %d bins with %d lags of history", len(rows), L-1)
	}
	mx, _ := centre(states)
	mz, _ := centre(counts)
	// Raw sums over the rows, skipping zero counts (spike counts are mostly
	// zero in short bins), then centred exactly:
	// Σ (a − m)(a − m)ᵀ = Σ a aᵀ − s mᵀ − m sᵀ + R m mᵀ with s = Σ a.
	G := make([]float64, p*p)
	B := make([]float64, d*p) // Σ x aᵀ, then Xᵀ Z, d×p
	s := make([]float64, p)
	sx := make([]float64, d)
	z := make([]float64, p)
	m := make([]float64, p)
	for l := 0; l < L; l++ {
		copy(m[l*n:(l+1)*n], mz)
	}
	x := make([]float64, d)
	for _, t := range rows {
		for l := 0; l < L; l++ {
			copy(z[l*n:(l+1)*n], counts[t-l])
		}
		for j := range x {
			x[j] = states[t][j] - mx[j]
			sx[j] += x[j]
		}
		for k, v := range z {
			s[k] += v
		}
		outerAddScaled(G, z, 1)
		outerAdd(B, x, z)
	}
	R := float64(len(rows))
	for a := 0; a < p; a++ {
		for b := 0; b <= a; b++ {
			G[a*p+b] += -s[a]*m[b] - m[a]*s[b] + R*m[a]*m[b]
		}
	}
	for j := 0; j < d; j++ {
		for k := 0; k < p; k++ {
			B[j*p+k] -= sx[j] * m[k]
		}
	}
	for k := 0; k < p; k++ {
		G[k*p+k] += cfg.Ridge
	}
	if j := cholesky(G, p, fitTol); j >= 0 {
		return nil, fmt.Errorf("the design is singular: channel %d at lag %d is collinear with the lagged counts before it (set ridge > 0)", j%n, j/n)
	}
	for j := 0; j < d; j++ {
		cholSolve(G, p, B[j*p:(j+1)*p])
	}
	wp := &WienerParams{StateNames: names, Lags: L, StateMean: mx, CountMean: mz, Weights: B}
	if err := wp.Validate(); err != nil {
		return nil, fmt.Errorf("fitted parameters are invalid: %w", err)
	}
	return wp, nil
}

// Wiener is the linear filter of WienerParams run online: it keeps the last
// Lags bins of centred counts in a ring and costs d·n·Lags multiply-adds per
// bin, without allocation. Until Lags bins have been seen (after
// construction or Reset), the missing history is taken at the calibration
// mean (zero after centring). Estimate.Cov is empty.
type Wiener struct {
	shape   binShape
	names   []string
	d, n, L int
	mx, mz  []float64
	w       []float64 // d×(n·L), lag-major per row
	ring    []float64 // L×n centred counts; slot (head − l) mod L is lag l
	head    int
}

var (
	_ Decoder    = (*Wiener)(nil)
	_ StateNamer = (*Wiener)(nil)
)

// NewWiener returns a Wiener filter decoder for p (which it copies).
func NewWiener(p *WienerParams) (*Wiener, error) {
	if p == nil {
		return nil, errors.New("wiener: nil parameters")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("wiener: invalid parameters: %w", err)
	}
	w := &Wiener{
		shape: binShape{n: p.Units(), width: p.BinWidth, rate: p.Rate},
		names: slices.Clone(p.StateNames),
		d:     p.States(), n: p.Units(), L: p.Lags,
		mx: slices.Clone(p.StateMean), mz: slices.Clone(p.CountMean),
		w:    slices.Clone(p.Weights),
		ring: make([]float64, p.Lags*p.Units()),
	}
	w.Reset()
	return w, nil
}

// StateNames returns the state names (a copy).
func (w *Wiener) StateNames() []string { return slices.Clone(w.names) }

// Reset forgets the history (it returns to the calibration mean).
func (w *Wiener) Reset() {
	clear(w.ring)
	w.head = w.L - 1
}

// Decode pushes obs into the history and writes the filtered state into
// dst. A bin of the wrong shape or with a non-finite count is an error and
// leaves the history unchanged.
func (w *Wiener) Decode(dst *Estimate, obs *Bin) error {
	if err := w.shape.check("wiener", obs); err != nil {
		return err
	}
	n, L, d := w.n, w.L, w.d
	w.head = (w.head + 1) % L
	slot := w.ring[w.head*n : (w.head+1)*n]
	for i, v := range obs.Counts {
		slot[i] = v - w.mz[i]
	}
	stamp(dst, obs)
	dst.State = grow(dst.State, d)
	for j := 0; j < d; j++ {
		row := w.w[j*n*L : (j+1)*n*L]
		s := w.mx[j]
		for l := 0; l < L; l++ {
			k := w.head - l
			if k < 0 {
				k += L
			}
			s += dot(row[l*n:(l+1)*n], w.ring[k*n:(k+1)*n])
		}
		dst.State[j] = s
	}
	dst.Cov = dst.Cov[:0]
	return nil
}

// WienerFormat and WienerVersion identify Wiener filter parameter files.
const (
	WienerFormat  = "bciloop.wiener"
	WienerVersion = 1
)

// wienerFile is the JSON layout of a Wiener parameter file, version 1:
// {"format": "bciloop.wiener", "version": 1, "states": d, "units": n,
// "state_names", "bin_width", "rate", "lags": L, "state_mean": [d],
// "count_mean": [n], "weights": [d×(n·L)]}.
type wienerFile struct {
	shapedHeader
	*WienerParams
}

// WriteWienerParams writes p to w as a version-1 parameter file.
func WriteWienerParams(w io.Writer, p *WienerParams) error {
	if p == nil {
		return errors.New("wiener params: nil parameters")
	}
	return writeShaped(w, "wiener params", p, &wienerFile{newShapedHeader(WienerFormat, WienerVersion, p), p})
}

// ReadWienerParams reads one Wiener parameter file from r.
func ReadWienerParams(r io.Reader) (*WienerParams, error) {
	f := wienerFile{WienerParams: new(WienerParams)}
	if err := readShaped(r, "wiener params", &f, &f.shapedHeader, WienerFormat, WienerVersion, f.WienerParams); err != nil {
		return nil, err
	}
	return f.WienerParams, nil
}
