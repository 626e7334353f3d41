package decode

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// KalmanConfig configures fitting and running the Kalman decoder.
type KalmanConfig struct {
	// StateNames names the state columns given to FitKalman, for example
	// [px, py, vx, vy]. Empty means "x0", "x1", ….
	StateNames []string `yaml:"state_names"`

	// QRidge, when > 0, is added to the diagonal of the fitted observation
	// noise covariance Q (in counts² per bin). The default 0 fits Q exactly
	// as Wu et al. (2006) and refuses data that make it singular (a constant
	// or duplicated channel); a ridge is an explicit user choice, never
	// applied silently.
	QRidge float64 `yaml:"q_ridge"`

	// WRidge, when > 0, is added to the diagonal of the fitted state noise
	// covariance W (in squared state units). Needed only when a state is an
	// exact linear function of the previous state (for example a position
	// that is the exact sum of velocities), which makes W singular.
	WRidge float64 `yaml:"w_ridge"`

	// SteadyState selects the steady-state Kalman filter (Malik et al. 2011)
	// in NewKalmanDecoder: a fixed gain computed once, d·n + d² operations
	// per bin instead of O(d·n + d³).
	SteadyState bool `yaml:"steady_state"`

	// SteadyTol is the convergence threshold of the Riccati recursion for
	// the steady-state filter: it stops when max|P_{k+1} − P_k| ≤
	// SteadyTol·max|P_{k+1}|.
	SteadyTol float64 `yaml:"steady_tol"`

	// SteadyMaxIter bounds the Riccati iterations.
	SteadyMaxIter int `yaml:"steady_max_iter"`
}

// DefaultKalmanConfig returns the defaults: the exact least-squares fit of
// Wu et al. (2006) without regularisation, the full (time-varying) filter,
// and a steady-state tolerance of 1e-12 within 10000 iterations.
func DefaultKalmanConfig() KalmanConfig {
	return KalmanConfig{SteadyTol: 1e-12, SteadyMaxIter: 10000}
}

// Validate reports every problem of c at once, each as "key: message".
func (c *KalmanConfig) Validate() error {
	var errs []error
	seen := make(map[string]int, len(c.StateNames))
	for i, name := range c.StateNames {
		if name == "" {
			errs = append(errs, fmt.Errorf("state_names[%d]: must not be empty", i))
		} else if j, ok := seen[name]; ok {
			errs = append(errs, fmt.Errorf("state_names[%d]: %q repeats state_names[%d]", i, name, j))
		} else {
			seen[name] = i
		}
	}
	if !(c.QRidge >= 0) || math.IsInf(c.QRidge, 0) {
		errs = append(errs, fmt.Errorf("q_ridge: must be finite and ≥ 0, got %g", c.QRidge))
	}
	if !(c.WRidge >= 0) || math.IsInf(c.WRidge, 0) {
		errs = append(errs, fmt.Errorf("w_ridge: must be finite and ≥ 0, got %g", c.WRidge))
	}
	if !(c.SteadyTol > 0 && c.SteadyTol < 1) {
		errs = append(errs, fmt.Errorf("steady_tol: must be in (0, 1), got %g", c.SteadyTol))
	}
	if c.SteadyMaxIter < 1 {
		errs = append(errs, fmt.Errorf("steady_max_iter: must be ≥ 1, got %d", c.SteadyMaxIter))
	}
	return errors.Join(errs...)
}

// KalmanParams are the parameters of the linear-Gaussian population model of
// Wu et al. (2006):
//
//	x_{t+1} = A x_t + w_t,  w_t ~ N(0, W)    (state: kinematics, centred)
//	z_t     = H x_t + q_t,  q_t ~ N(0, Q)    (observation: spike counts, centred)
//
// with d states and n channels. Matrices are row-major: A, W and P0 are d×d,
// H is n×d, Q is n×n. The model works on centred variables; StateMean and
// CountMean are the calibration means subtracted before fitting. The filter
// starts from x_0 = StateMean with covariance P0.
//
// BinWidth (frames) and Rate (frames per second) record the bins the model
// was fitted on; when non-zero, decoders reject bins of another width or rate.
type KalmanParams struct {
	StateNames []string  `json:"state_names"`
	BinWidth   int       `json:"bin_width"`
	Rate       float64   `json:"rate"`
	StateMean  []float64 `json:"state_mean"`
	CountMean  []float64 `json:"count_mean"`
	A          []float64 `json:"a"`
	W          []float64 `json:"w"`
	H          []float64 `json:"h"`
	Q          []float64 `json:"q"`
	P0         []float64 `json:"p0"`
}

// States returns d, the state dimension.
func (p *KalmanParams) States() int { return len(p.StateMean) }

// Channels returns n, the number of channels (observation dimension).
func (p *KalmanParams) Channels() int { return len(p.CountMean) }

// Validate reports every problem of p at once, each as "key: message" with
// the JSON key: shapes, finiteness, distinct state names, and symmetric
// positive-definite W, Q and P0.
func (p *KalmanParams) Validate() error {
	d, n := p.States(), p.Channels()
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf(key+": "+format, args...))
	}
	if d == 0 {
		add("state_mean", "must not be empty (it sets the state dimension)")
	}
	if n == 0 {
		add("count_mean", "must not be empty (it sets the channel count)")
	}
	if len(p.StateNames) != d {
		add("state_names", "has %d names for %d states", len(p.StateNames), d)
	}
	seen := make(map[string]int, len(p.StateNames))
	for i, name := range p.StateNames {
		if name == "" {
			add("state_names", "entry %d is empty", i)
		} else if j, ok := seen[name]; ok {
			add("state_names", "entry %d %q repeats entry %d", i, name, j)
		} else {
			seen[name] = i
		}
	}
	if p.BinWidth < 0 {
		add("bin_width", "must be ≥ 0 (0: not checked), got %d", p.BinWidth)
	}
	if !(p.Rate >= 0) || math.IsInf(p.Rate, 0) {
		add("rate", "must be finite and ≥ 0 (0: not checked), got %g", p.Rate)
	}
	vec := func(key string, v []float64, want int) bool {
		if len(v) != want {
			add(key, "has %d values, want %d", len(v), want)
			return false
		}
		if i, ok := allFinite(v); !ok {
			add(key, "value %d is %g, must be finite", i, v[i])
			return false
		}
		return true
	}
	vec("state_mean", p.StateMean, d)
	vec("count_mean", p.CountMean, n)
	vec("a", p.A, d*d)
	vec("h", p.H, n*d)
	spd := func(key string, m []float64, k int, dim string) {
		if k == 0 || !vec(key, m, k*k) {
			return
		}
		for i := 0; i < k; i++ {
			for j := i + 1; j < k; j++ {
				a, b := m[i*k+j], m[j*k+i]
				if math.Abs(a-b) > 1e-9*math.Max(math.Abs(a), math.Abs(b)) {
					add(key, "not symmetric: [%d,%d] = %g but [%d,%d] = %g", i, j, a, j, i, b)
					return
				}
			}
		}
		l := slices.Clone(m)
		if j := cholesky(l, k, 0); j >= 0 {
			add(key, "not positive definite (Cholesky fails at %s %d)", dim, j)
		}
	}
	spd("w", p.W, d, "state")
	spd("q", p.Q, n, "channel")
	spd("p0", p.P0, d, "state")
	return errors.Join(errs...)
}

// fitTol is the collinearity threshold of the fit's Cholesky factorisations
// (see cholesky): a row explained by the rows before it to within 1e-10 of its
// variance makes the matrix singular for the purpose of fitting.
const fitTol = 1e-10

// FitKalman fits the Kalman model of Wu et al. (2006), "Bayesian population
// decoding of motor cortical activity using a Kalman filter", Neural
// Computation 18:80–118, by least squares (maximum likelihood) on one
// continuous run of calibration bins: states[t] is the ground-truth state of
// bin t (d values, for example [px, py, vx, vy]) and counts[t] its spike
// counts (n values).
//
// With the calibration means μ_x, μ_z subtracted (X is d×T, Z is n×T,
// X1 = X without its last column, X2 = X without its first), the estimates are
// (Wu et al. 2006, eqs. 3.4–3.5):
//
//	A = X2 X1ᵀ (X1 X1ᵀ)⁻¹
//	W = (X2 − A X1)(X2 − A X1)ᵀ / (T − 1)
//	H = Z Xᵀ (X Xᵀ)⁻¹
//	Q = (Z − H X)(Z − H X)ᵀ / T
//
// then cfg.QRidge·I is added to Q and cfg.WRidge·I to W when set. The filter's
// prior is the calibration distribution of the state: x_0 = μ_x and
// P0 = X Xᵀ / T, the training state covariance (rather than W, which would
// claim the start state is known to within one step's noise).
//
// Degenerate data are errors naming the cause: too few bins (T must exceed
// channels + states for Q to be full rank, unless QRidge > 0), non-finite or
// ragged values, constant or collinear states (X Xᵀ singular), constant or
// linearly dependent channels (Q singular), and deterministic states (W
// singular).
func FitKalman(states, counts [][]float64, cfg KalmanConfig) (*KalmanParams, error) {
	p, err := fitKalman(states, counts, nil, cfg)
	if err != nil {
		return nil, fmt.Errorf("kalman fit: %w", err)
	}
	return p, nil
}

// FitKalmanBins fits the model of FitKalman on calibration bins, using each
// bin's Truth as the state and its Counts as the observation. All bins must
// have the same width, rate and shapes; a bin that does not start where the
// previous one ended (a gap in the stream) starts a new segment, and the
// state transition (A, W) is fitted only on pairs of bins that are
// consecutive. The result records the bins' width and rate, which decoders
// then check.
func FitKalmanBins(bins []Bin, cfg KalmanConfig) (*KalmanParams, error) {
	if len(bins) == 0 {
		return nil, errors.New("kalman fit: no bins")
	}
	states := make([][]float64, len(bins))
	counts := make([][]float64, len(bins))
	cont := make([]bool, len(bins))
	for t := range bins {
		b := &bins[t]
		if len(b.Truth) == 0 {
			return nil, fmt.Errorf("kalman fit: bins[%d] (seq %d) has no ground truth (Truth is empty)", t, b.Seq)
		}
		if b.Width != bins[0].Width || b.Rate != bins[0].Rate {
			return nil, fmt.Errorf("kalman fit: bins[%d] (seq %d) is %d frames at %g Hz, but bins[0] is %d frames at %g Hz",
				t, b.Seq, b.Width, b.Rate, bins[0].Width, bins[0].Rate)
		}
		states[t], counts[t] = b.Truth, b.Counts
		cont[t] = t > 0 && b.Start == bins[t-1].End()
	}
	if bins[0].Width <= 0 || !(bins[0].Rate >= 0) || math.IsInf(bins[0].Rate, 0) {
		return nil, fmt.Errorf("kalman fit: bins have width %d frames and rate %g Hz; want width > 0 and a finite rate ≥ 0", bins[0].Width, bins[0].Rate)
	}
	p, err := fitKalman(states, counts, cont, cfg)
	if err != nil {
		return nil, fmt.Errorf("kalman fit: %w", err)
	}
	p.BinWidth, p.Rate = bins[0].Width, bins[0].Rate
	return p, nil
}

// fitKalman implements FitKalman; cont[t] reports whether bin t directly
// follows bin t−1 (nil: all do).
func fitKalman(states, counts [][]float64, cont []bool, cfg KalmanConfig) (*KalmanParams, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	T := len(states)
	if len(counts) != T {
		return nil, fmt.Errorf("%d state rows but %d count rows", T, len(counts))
	}
	if T == 0 {
		return nil, errors.New("no calibration data")
	}
	d, n := len(states[0]), len(counts[0])
	if d == 0 {
		return nil, errors.New("states[0] is empty")
	}
	if n == 0 {
		return nil, errors.New("counts[0] is empty")
	}
	for t := 0; t < T; t++ {
		if len(states[t]) != d {
			return nil, fmt.Errorf("states[%d] has %d values, want %d", t, len(states[t]), d)
		}
		if len(counts[t]) != n {
			return nil, fmt.Errorf("counts[%d] has %d values, want %d", t, len(counts[t]), n)
		}
		if j, ok := allFinite(states[t]); !ok {
			return nil, fmt.Errorf("states[%d][%d] is %g", t, j, states[t][j])
		}
		if j, ok := allFinite(counts[t]); !ok {
			return nil, fmt.Errorf("counts[%d][%d] is %g", t, j, counts[t][j])
		}
	}
	names := cfg.StateNames
	if len(names) == 0 {
		names = make([]string, d)
		for j := range names {
			names[j] = "x" + strconv.Itoa(j)
		}
	} else if len(names) != d {
		return nil, fmt.Errorf("state_names: %d names for %d state columns", len(names), d)
	}
	if cfg.QRidge == 0 && T <= n+d {
		return nil, fmt.Errorf("too few samples: T = %d bins, but Q (%d channels) is full rank only when T > channels + states = %d (collect more calibration data, or set q_ridge)", T, n, n+d)
	}
	if T <= d+1 {
		return nil, fmt.Errorf("too few samples: T = %d bins for %d states; need T > states + 1", T, d)
	}

	// Means and centred copies (sample-major: X[t*d+j], Z[t*n+i]).
	mx := make([]float64, d)
	mz := make([]float64, n)
	for t := 0; t < T; t++ {
		for j, v := range states[t] {
			mx[j] += v
		}
		for i, v := range counts[t] {
			mz[i] += v
		}
	}
	for j := range mx {
		mx[j] /= float64(T)
	}
	for i := range mz {
		mz[i] /= float64(T)
	}
	X := make([]float64, T*d)
	Z := make([]float64, T*n)
	for t := 0; t < T; t++ {
		for j, v := range states[t] {
			X[t*d+j] = v - mx[j]
		}
		for i, v := range counts[t] {
			Z[t*n+i] = v - mz[i]
		}
	}

	// X Xᵀ and the observation model H = Z Xᵀ (X Xᵀ)⁻¹.
	sxx := make([]float64, d*d)
	for t := 0; t < T; t++ {
		outerAdd(sxx, X[t*d:t*d+d], X[t*d:t*d+d])
	}
	var errs []error
	for j := 0; j < d; j++ {
		if sxx[j*d+j] == 0 {
			errs = append(errs, fmt.Errorf("state %d (%s) is constant over the calibration data; X Xᵀ is singular", j, names[j]))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	lxx := slices.Clone(sxx)
	if j := cholesky(lxx, d, fitTol); j >= 0 {
		return nil, fmt.Errorf("state %d (%s) is collinear with the states before it (a linear combination of them) over the calibration data; X Xᵀ is singular", j, names[j])
	}
	szx := make([]float64, n*d)
	for t := 0; t < T; t++ {
		outerAdd(szx, Z[t*n:t*n+n], X[t*d:t*d+d])
	}
	H := szx // rows solved in place: H_i = (X Xᵀ)⁻¹ (Z Xᵀ)_iᵀ, X Xᵀ symmetric
	for i := 0; i < n; i++ {
		cholSolve(lxx, d, H[i*d:i*d+d])
	}

	// Q = (Z − H X)(Z − H X)ᵀ / T.
	for i := 0; i < n; i++ {
		constant := true
		for t := 0; t < T; t++ {
			if Z[t*n+i] != 0 {
				constant = false
				break
			}
		}
		if constant && cfg.QRidge == 0 {
			errs = append(errs, fmt.Errorf("channel %d is constant over the calibration data; Q is singular (set q_ridge > 0 to regularise)", i))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	Q := make([]float64, n*n)
	r := make([]float64, n)
	for t := 0; t < T; t++ {
		xt := X[t*d : t*d+d]
		mulVec(r, H, n, d, xt)
		zt := Z[t*n : t*n+n]
		for i := range r {
			r[i] = zt[i] - r[i]
		}
		for i, ri := range r {
			row := Q[i*n : i*n+i+1]
			for k := range row {
				row[k] += ri * r[k]
			}
		}
	}
	for i := 0; i < n; i++ {
		for k := 0; k <= i; k++ {
			v := Q[i*n+k] / float64(T)
			Q[i*n+k], Q[k*n+i] = v, v
		}
	}
	// A channel the states explain exactly has no residual variance, which
	// the Cholesky test cannot see on the first column: compare each
	// residual variance with the channel's variance.
	for i := 0; i < n; i++ {
		v := 0.0
		for t := 0; t < T; t++ {
			v += Z[t*n+i] * Z[t*n+i]
		}
		if Q[i*n+i] <= fitTol*v/float64(T) && cfg.QRidge == 0 {
			errs = append(errs, fmt.Errorf("channel %d is an exact linear function of the states over the calibration data (no residual noise); Q is singular (set q_ridge > 0 to regularise)", i))
		}
		Q[i*n+i] += cfg.QRidge
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if j := cholesky(slices.Clone(Q), n, fitTol); j >= 0 {
		return nil, fmt.Errorf("Q is singular: the residual of channel %d is a linear combination of the channels before it (duplicated or linearly dependent channels; set q_ridge > 0 to regularise)", j)
	}

	// The state transition on consecutive pairs: A = X2 X1ᵀ (X1 X1ᵀ)⁻¹.
	s11 := make([]float64, d*d)
	s21 := make([]float64, d*d)
	pairs := 0
	for t := 1; t < T; t++ {
		if cont != nil && !cont[t] {
			continue
		}
		x1, x2 := X[(t-1)*d:t*d], X[t*d:(t+1)*d]
		outerAdd(s11, x1, x1)
		outerAdd(s21, x2, x1)
		pairs++
	}
	if pairs <= d {
		return nil, fmt.Errorf("too few consecutive pairs of bins: %d for %d states; need more than %d", pairs, d, d)
	}
	if j := cholesky(s11, d, fitTol); j >= 0 {
		return nil, fmt.Errorf("state %d (%s) is constant or collinear with the states before it over consecutive pairs of bins; X1 X1ᵀ is singular", j, names[j])
	}
	A := s21
	for i := 0; i < d; i++ {
		cholSolve(s11, d, A[i*d:i*d+d])
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
		if W[j*d+j] <= fitTol*sxx[j*d+j]/float64(T) && cfg.WRidge == 0 {
			errs = append(errs, fmt.Errorf("W is singular: state %d (%s) is predicted exactly by A from the previous state (deterministic dynamics, such as a position that is the exact sum of velocities); set w_ridge > 0", j, names[j]))
		}
		W[j*d+j] += cfg.WRidge
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if j := cholesky(slices.Clone(W), d, fitTol); j >= 0 {
		return nil, fmt.Errorf("W is singular: state %d (%s) is predicted exactly by A from the previous state (deterministic dynamics, such as a position that is the exact sum of velocities); set w_ridge > 0", j, names[j])
	}

	P0 := sxx
	for i := range P0 {
		P0[i] /= float64(T)
	}
	symmetrize(P0, d)

	p := &KalmanParams{
		StateNames: slices.Clone(names),
		StateMean:  mx,
		CountMean:  mz,
		A:          A,
		W:          W,
		H:          H,
		Q:          Q,
		P0:         P0,
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("fitted parameters are invalid: %w", err)
	}
	return p, nil
}

// outerAdd adds a bᵀ to dst (len(a)×len(b), row-major).
func outerAdd(dst, a, b []float64) {
	m := len(b)
	for i, ai := range a {
		if ai == 0 {
			continue
		}
		row := dst[i*m : i*m+m]
		for j, bj := range b {
			row[j] += ai * bj
		}
	}
}

// kalmanModel is what both Kalman filters precompute from KalmanParams: the
// model in information form, G = HᵀQ⁻¹ (d×n) and GH = HᵀQ⁻¹H (d×d), and
// scratch for the covariance recursion.
type kalmanModel struct {
	d, n       int
	names      []string
	binWidth   int
	rate       float64
	mx, mz     []float64
	a, w, p0   []float64
	g, gh, gmz []float64 // HᵀQ⁻¹, HᵀQ⁻¹H, HᵀQ⁻¹μ_z

	tmp, pp, l, pinv, work []float64
}

func newKalmanModel(p *KalmanParams) (*kalmanModel, error) {
	if p == nil {
		return nil, errors.New("nil parameters")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("invalid parameters: %w", err)
	}
	d, n := p.States(), p.Channels()
	m := &kalmanModel{
		d: d, n: n,
		names:    slices.Clone(p.StateNames),
		binWidth: p.BinWidth, rate: p.Rate,
		mx: slices.Clone(p.StateMean), mz: slices.Clone(p.CountMean),
		a: slices.Clone(p.A), w: slices.Clone(p.W), p0: slices.Clone(p.P0),
		g: make([]float64, d*n), gh: make([]float64, d*d), gmz: make([]float64, d),
		tmp: make([]float64, d*d), pp: make([]float64, d*d), l: make([]float64, d*d),
		pinv: make([]float64, d*d), work: make([]float64, d),
	}
	// Q⁻¹H column by column (n×d), then G = (Q⁻¹H)ᵀ since Q is symmetric.
	lq := slices.Clone(p.Q)
	if j := cholesky(lq, n, 0); j >= 0 {
		return nil, fmt.Errorf("q: not positive definite (Cholesky fails at channel %d)", j)
	}
	col := make([]float64, n)
	for j := 0; j < d; j++ {
		for i := 0; i < n; i++ {
			col[i] = p.H[i*d+j]
		}
		cholSolve(lq, n, col)
		copy(m.g[j*n:(j+1)*n], col)
	}
	mulAB(m.gh, m.g, p.H, d, n, d)
	symmetrize(m.gh, d)
	mulVec(m.gmz, m.g, d, n, m.mz)
	return m, nil
}

// covStep runs one step of the covariance recursion in information form:
//
//	P⁻ = A P Aᵀ + W,  P' = (P⁻⁻¹ + HᵀQ⁻¹H)⁻¹
//
// writing P' into pn (which must not alias p). It returns 0, or 1 when P⁻ and
// 2 when P⁻⁻¹ + HᵀQ⁻¹H is not numerically positive definite.
func (m *kalmanModel) covStep(pn, p []float64) int {
	d := m.d
	mulAB(m.tmp, m.a, p, d, d, d)
	mulABt(m.pp, m.tmp, m.a, d, d, d)
	for i, v := range m.w {
		m.pp[i] += v
	}
	symmetrize(m.pp, d)
	copy(m.l, m.pp)
	if cholesky(m.l, d, 0) >= 0 {
		return 1
	}
	cholInverse(m.pinv, m.l, d, m.work)
	for i, v := range m.gh {
		m.l[i] = m.pinv[i] + v
	}
	if cholesky(m.l, d, 0) >= 0 {
		return 2
	}
	cholInverse(pn, m.l, d, m.work)
	return 0
}

// checkBin validates obs for decoding.
func (m *kalmanModel) checkBin(who string, obs *Bin) error {
	if obs == nil {
		return fmt.Errorf("%s: nil bin", who)
	}
	if len(obs.Counts) != m.n {
		return fmt.Errorf("%s: bin seq %d has %d channels, want %d", who, obs.Seq, len(obs.Counts), m.n)
	}
	if m.binWidth > 0 && obs.Width != m.binWidth {
		return fmt.Errorf("%s: bin seq %d is %d frames wide, but the model was fitted on %d-frame bins", who, obs.Seq, obs.Width, m.binWidth)
	}
	if m.rate > 0 && obs.Rate != m.rate {
		return fmt.Errorf("%s: bin seq %d is at %g Hz, but the model was fitted at %g Hz", who, obs.Seq, obs.Rate, m.rate)
	}
	return nil
}

// nonFinite returns the error for a bin whose counts made the estimate x
// non-finite, or nil when x is finite. A NaN or infinite count always makes
// some component of x non-finite (every gain row multiplies it, and 0·Inf is
// NaN), so checking the d outputs replaces checking the n inputs.
func (m *kalmanModel) nonFinite(who string, obs *Bin, x []float64) error {
	if _, ok := allFinite(x); ok {
		return nil
	}
	if i, ok := allFinite(obs.Counts); !ok {
		return fmt.Errorf("%s: bin seq %d: counts[%d] is %g", who, obs.Seq, i, obs.Counts[i])
	}
	return fmt.Errorf("%s: bin seq %d: the estimate overflowed (counts far outside the calibration range?)", who, obs.Seq)
}

// output writes the uncentred state x + μ_x and the covariance p into dst,
// with the bin's stamps.
func (m *kalmanModel) output(dst *Estimate, obs *Bin, x, p []float64) {
	dst.Seq = obs.Seq
	dst.Sample = obs.End()
	dst.Arrived = obs.Arrived
	dst.State = grow(dst.State, m.d)
	for j, v := range x {
		dst.State[j] = v + m.mx[j]
	}
	dst.Cov = grow(dst.Cov, m.d*m.d)
	copy(dst.Cov, p)
}

// Kalman is the Kalman filter decoder of Wu et al. (2006), "Bayesian
// population decoding of motor cortical activity using a Kalman filter",
// Neural Computation 18:80–118, for the model of KalmanParams.
//
// Each bin z_t is decoded by one predict and update step, written in
// information form (Anderson & Moore 1979, Optimal Filtering, §6.3) so that
// the n×n innovation covariance is never inverted; with x the centred state,
// G = HᵀQ⁻¹ and GH = HᵀQ⁻¹H precomputed at construction:
//
//	x⁻ = A x,          P⁻ = A P Aᵀ + W
//	P  = (P⁻⁻¹ + GH)⁻¹
//	x  = x⁻ + P G (z_t − μ_z − H x⁻) = x⁻ + P (G z_t − G μ_z − GH x⁻)
//
// which equals the textbook update K = P⁻Hᵀ(H P⁻ Hᵀ + Q)⁻¹, x = x⁻ + K(z −
// μ_z − H x⁻), P = (I − K H) P⁻. A step costs O(d·n + d³) and allocates
// nothing. Estimate.State is the posterior mean x + μ_x, Estimate.Cov the
// posterior covariance P. The filter starts (and Reset returns it) at
// x_0 = μ_x with covariance P0.
type Kalman struct {
	m      *kalmanModel
	x, p   []float64 // centred posterior mean and covariance
	xp, pn []float64 // scratch: prediction, next covariance
	gv     []float64
	xn     []float64
}

var (
	_ Decoder    = (*Kalman)(nil)
	_ StateNamer = (*Kalman)(nil)
)

// NewKalman returns a Kalman filter decoder for p (which it copies).
func NewKalman(p *KalmanParams) (*Kalman, error) {
	m, err := newKalmanModel(p)
	if err != nil {
		return nil, fmt.Errorf("kalman: %w", err)
	}
	k := &Kalman{
		m:  m,
		x:  make([]float64, m.d),
		p:  make([]float64, m.d*m.d),
		xp: make([]float64, m.d),
		pn: make([]float64, m.d*m.d),
		gv: make([]float64, m.d),
		xn: make([]float64, m.d),
	}
	k.Reset()
	return k, nil
}

// NewKalmanDecoder returns the decoder cfg selects for p: a SteadyStateKalman
// when cfg.SteadyState is set, else a Kalman.
func NewKalmanDecoder(p *KalmanParams, cfg KalmanConfig) (Decoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kalman: %w", err)
	}
	if cfg.SteadyState {
		return NewSteadyStateKalman(p, cfg.SteadyTol, cfg.SteadyMaxIter)
	}
	return NewKalman(p)
}

// States returns the state dimension d.
func (k *Kalman) States() int { return k.m.d }

// Channels returns the channel count n the decoder expects.
func (k *Kalman) Channels() int { return k.m.n }

// StateNames returns the names of the state components (a copy).
func (k *Kalman) StateNames() []string { return slices.Clone(k.m.names) }

// Reset returns the filter to its prior: x = μ_x, P = P0.
func (k *Kalman) Reset() {
	clear(k.x)
	copy(k.p, k.m.p0)
}

// Decode runs one predict and update step on obs and writes the posterior
// into dst. A bin with the wrong channel count, width or rate, or with a
// non-finite count, is an error and leaves the filter unchanged.
func (k *Kalman) Decode(dst *Estimate, obs *Bin) error {
	m := k.m
	if err := m.checkBin("kalman", obs); err != nil {
		return err
	}
	if m.covStep(k.pn, k.p) != 0 {
		return fmt.Errorf("kalman: bin seq %d: the covariance lost positive definiteness", obs.Seq)
	}
	d, n := m.d, m.n
	mulVec(k.xp, m.a, d, d, k.x)
	// gv = G z − G μ_z − GH x⁻
	mulVec(k.gv, m.g, d, n, obs.Counts)
	for j := 0; j < d; j++ {
		s := k.gv[j] - m.gmz[j]
		gh := m.gh[j*d : j*d+d]
		for i, v := range gh {
			s -= v * k.xp[i]
		}
		k.gv[j] = s
	}
	// x = x⁻ + P gv, committed only when finite.
	for j := 0; j < d; j++ {
		k.xn[j] = k.xp[j] + dot(k.pn[j*d:j*d+d], k.gv)
	}
	if err := m.nonFinite("kalman", obs, k.xn); err != nil {
		return err
	}
	copy(k.x, k.xn)
	k.p, k.pn = k.pn, k.p
	m.output(dst, obs, k.x, k.p)
	return nil
}

// SteadyStateKalman is the steady-state Kalman filter decoder (Malik et al.
// 2011, "Efficient decoding with steady-state Kalman filter in neural
// interface systems", IEEE Trans. Neural Syst. Rehabil. Eng. 19:25–34) for the
// model of Wu et al. (2006) in KalmanParams.
//
// At construction it iterates the Riccati recursion of Kalman from P0,
//
//	P_{k+1} = ((A P_k Aᵀ + W)⁻¹ + HᵀQ⁻¹H)⁻¹,
//
// until it converges to P∞, and fixes the gain K∞ = P∞ HᵀQ⁻¹ (d×n). Each bin
// then costs d·n + d² multiply-adds:
//
//	x_t = M x_{t−1} + K∞ (z_t − μ_z),  M = (I − K∞H) A = A − P∞ HᵀQ⁻¹H A,
//
// (x centred). Estimate.Cov is the constant P∞. After a Reset, estimates
// differ from the full filter's only while its covariance converges (a few
// bins for a well-observed model), and agree with it after.
type SteadyStateKalman struct {
	m     *kalmanModel
	mm    []float64 // M, d×d
	k     []float64 // K∞, d×n
	kmz   []float64 // K∞ μ_z
	pinf  []float64 // P∞
	iters int
	x, xn []float64
}

var (
	_ Decoder    = (*SteadyStateKalman)(nil)
	_ StateNamer = (*SteadyStateKalman)(nil)
)

// NewSteadyStateKalman returns the steady-state filter for p, iterating the
// Riccati recursion until max|P_{k+1} − P_k| ≤ tol·max|P_{k+1}| (at most
// maxIter times); it is an error if it does not converge, as when the model
// has an unobservable unstable state.
func NewSteadyStateKalman(p *KalmanParams, tol float64, maxIter int) (*SteadyStateKalman, error) {
	if !(tol > 0 && tol < 1) {
		return nil, fmt.Errorf("steady-state kalman: steady_tol: must be in (0, 1), got %g", tol)
	}
	if maxIter < 1 {
		return nil, fmt.Errorf("steady-state kalman: steady_max_iter: must be ≥ 1, got %d", maxIter)
	}
	m, err := newKalmanModel(p)
	if err != nil {
		return nil, fmt.Errorf("steady-state kalman: %w", err)
	}
	d, n := m.d, m.n
	cur := slices.Clone(m.p0)
	next := make([]float64, d*d)
	change := math.Inf(1)
	it := 0
	for it < maxIter {
		it++
		if r := m.covStep(next, cur); r != 0 {
			return nil, fmt.Errorf("steady-state kalman: the Riccati recursion lost positive definiteness at iteration %d", it)
		}
		diff, scale := 0.0, 0.0
		for i, v := range next {
			diff = math.Max(diff, math.Abs(v-cur[i]))
			scale = math.Max(scale, math.Abs(v))
		}
		cur, next = next, cur
		change = diff / scale
		if change <= tol {
			break
		}
	}
	if !(change <= tol) {
		return nil, fmt.Errorf("steady-state kalman: the Riccati recursion did not converge in %d iterations (last relative change %.3g > steady_tol %g); the model may have an unstable state the channels do not observe", maxIter, change, tol)
	}
	s := &SteadyStateKalman{
		m:     m,
		mm:    make([]float64, d*d),
		k:     make([]float64, d*n),
		kmz:   make([]float64, d),
		pinf:  cur,
		iters: it,
		x:     make([]float64, d),
		xn:    make([]float64, d),
	}
	mulAB(s.k, cur, m.g, d, d, n)
	// M = A − P∞ GH A
	pgh := make([]float64, d*d)
	mulAB(pgh, cur, m.gh, d, d, d)
	mulAB(s.mm, pgh, m.a, d, d, d)
	for i := range s.mm {
		s.mm[i] = m.a[i] - s.mm[i]
	}
	mulVec(s.kmz, s.k, d, n, m.mz)
	return s, nil
}

// States returns the state dimension d.
func (s *SteadyStateKalman) States() int { return s.m.d }

// Channels returns the channel count n the decoder expects.
func (s *SteadyStateKalman) Channels() int { return s.m.n }

// StateNames returns the names of the state components (a copy).
func (s *SteadyStateKalman) StateNames() []string { return slices.Clone(s.m.names) }

// Iterations returns how many Riccati iterations the construction took.
func (s *SteadyStateKalman) Iterations() int { return s.iters }

// GainTo writes the steady-state gain K∞ (d×n, row-major) into dst, growing
// it if needed, and returns it.
func (s *SteadyStateKalman) GainTo(dst []float64) []float64 {
	dst = grow(dst, len(s.k))
	copy(dst, s.k)
	return dst
}

// Reset returns the filter to x = μ_x.
func (s *SteadyStateKalman) Reset() { clear(s.x) }

// Decode applies the fixed-gain step to obs and writes the estimate into dst.
// A bin with the wrong channel count, width or rate, or with a non-finite
// count, is an error and leaves the filter unchanged.
func (s *SteadyStateKalman) Decode(dst *Estimate, obs *Bin) error {
	m := s.m
	if err := m.checkBin("steady-state kalman", obs); err != nil {
		return err
	}
	d, n := m.d, m.n
	z := obs.Counts[:n]
	for j := 0; j < d; j++ {
		s.xn[j] = dot(s.k[j*n:j*n+n], z) - s.kmz[j] + dot(s.mm[j*d:j*d+d], s.x)
	}
	if err := m.nonFinite("steady-state kalman", obs, s.xn); err != nil {
		return err
	}
	s.x, s.xn = s.xn, s.x
	m.output(dst, obs, s.x, s.pinf)
	return nil
}
