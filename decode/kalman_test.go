package decode

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// lds is a linear-Gaussian state-space model used to generate test data
// from known parameters: x_{t+1} = A x_t + w, z_t = H x_t + q + μ_z.
type lds struct {
	d, n   int
	names  []string
	A, W   []float64
	H, Q   []float64
	mx, mz []float64
}

// testLDS returns a stable model with d ∈ {4, 6} states (position, velocity
// and, for d = 6, acceleration in 2-D) observed by n channels with cosine-like
// linear tuning (Georgopoulos et al. 1986; Wu et al. 2006 §2), baseline counts
// of 2–6 per bin and weakly correlated noise.
func testLDS(d, n int, seed uint64) *lds {
	rng := rand.New(rand.NewPCG(seed, 0x6c6473))
	m := &lds{d: d, n: n, A: make([]float64, d*d), W: make([]float64, d*d),
		H: make([]float64, n*d), Q: make([]float64, n*n), mx: make([]float64, d), mz: make([]float64, n)}
	// Damped kinematics: each 2-D block of derivatives feeds the one below
	// it with gain 0.1 and decays with factor 0.95 (positions), 0.9, 0.8.
	decay := []float64{0.95, 0.9, 0.8}
	m.names = []string{"px", "py", "vx", "vy", "ax", "ay"}[:d]
	for j := 0; j < d; j++ {
		m.A[j*d+j] = decay[j/2]
		if j+2 < d {
			m.A[j*d+j+2] = 0.1
		}
		m.W[j*d+j] = 0.01 * float64(1+j/2)
		m.mx[j] = float64(j) - 1
	}
	m.W[0*d+1], m.W[1*d+0] = 0.002, 0.002
	for i := 0; i < n; i++ {
		m.mz[i] = 2 + 4*rng.Float64()
		for j := 0; j < d; j++ {
			m.H[i*d+j] = 2 * rng.NormFloat64()
		}
	}
	// Q = diag(0.5..1.5) + 0.1·u uᵀ with |u| ≤ 1: SPD, weakly correlated.
	u := make([]float64, n)
	for i := range u {
		u[i] = rng.Float64()*2 - 1
	}
	for i := 0; i < n; i++ {
		for k := 0; k < n; k++ {
			m.Q[i*n+k] = 0.1 * u[i] * u[k] / float64(n)
		}
		m.Q[i*n+i] += 0.5 + rng.Float64()
	}
	return m
}

// simulate draws T steps of the model, started from its mean.
func (m *lds) simulate(T int, seed uint64) (states, counts [][]float64) {
	rng := rand.New(rand.NewPCG(seed, 0x73696d))
	lw, lq := slices.Clone(m.W), slices.Clone(m.Q)
	if cholesky(lw, m.d, 0) >= 0 || cholesky(lq, m.n, 0) >= 0 {
		panic("test model not SPD")
	}
	x := make([]float64, m.d)
	nx := make([]float64, m.d)
	e := make([]float64, max(m.d, m.n))
	states = make([][]float64, T)
	counts = make([][]float64, T)
	for t := 0; t < T; t++ {
		// x ← A x + L_W ε
		mulVec(nx, m.A, m.d, m.d, x)
		for j := 0; j < m.d; j++ {
			e[j] = rng.NormFloat64()
		}
		for j := 0; j < m.d; j++ {
			for k := 0; k <= j; k++ {
				nx[j] += lw[j*m.d+k] * e[k]
			}
		}
		x, nx = nx, x
		s := make([]float64, m.d)
		for j := range s {
			s[j] = x[j] + m.mx[j]
		}
		z := make([]float64, m.n)
		mulVec(z, m.H, m.n, m.d, x)
		for i := 0; i < m.n; i++ {
			e[i] = rng.NormFloat64()
		}
		for i := 0; i < m.n; i++ {
			for k := 0; k <= i; k++ {
				z[i] += lq[i*m.n+k] * e[k]
			}
			z[i] += m.mz[i]
		}
		states[t], counts[t] = s, z
	}
	return states, counts
}

// bins wraps data as consecutive 20-frame bins at 1 kHz.
func toBins(states, counts [][]float64) []Bin {
	bins := make([]Bin, len(states))
	for t := range bins {
		bins[t] = Bin{Seq: uint64(t), Start: int64(t) * 20, Width: 20, Rate: 1000,
			Counts: counts[t], Truth: states[t], Arrived: int64(1000 + t)}
	}
	return bins
}

func relFrob(got, want []float64) float64 {
	var num, den float64
	for i := range want {
		num += (got[i] - want[i]) * (got[i] - want[i])
		den += want[i] * want[i]
	}
	return math.Sqrt(num / den)
}

func TestFitKalmanRecoversModel(t *testing.T) {
	// Least squares on T samples estimates each coefficient with a relative
	// standard error of order 1/√T (≈ 0.7 % at T = 20000) for these
	// well-conditioned models; the 5 % bound is the task's acceptance level.
	const T = 20000
	for _, tc := range []struct{ d, n int }{{4, 20}, {6, 30}} {
		t.Run(fmt.Sprintf("d=%d,n=%d", tc.d, tc.n), func(t *testing.T) {
			m := testLDS(tc.d, tc.n, 1)
			states, counts := m.simulate(T, 2)
			cfg := DefaultKalmanConfig()
			cfg.StateNames = m.names
			p, err := FitKalman(states, counts, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name      string
				got, want []float64
			}{{"A", p.A, m.A}, {"H", p.H, m.H}, {"W", p.W, m.W}, {"Q", p.Q, m.Q}} {
				if e := relFrob(c.got, c.want); e > 0.05 {
					t.Errorf("%s: relative error %.4f > 0.05", c.name, e)
				}
			}
			// The count means satisfy z̄ = μ_z + H (x̄ − μ_x) + q̄ exactly,
			// where q̄ averages T noise draws: its standard deviation is
			// √(Q_ii/T) ≤ √(1.6/20000) ≈ 0.009, so 0.05 is over 5 SD.
			for i, v := range p.CountMean {
				pred := m.mz[i]
				for j := 0; j < tc.d; j++ {
					pred += m.H[i*tc.d+j] * (p.StateMean[j] - m.mx[j])
				}
				if math.Abs(v-pred) > 0.05 {
					t.Errorf("count_mean[%d] = %g, want %g ± 0.05", i, v, pred)
				}
			}
			if !slices.Equal(p.StateNames, m.names) {
				t.Errorf("state names %v, want %v", p.StateNames, m.names)
			}
		})
	}
}

// textbookKalman is the covariance-form Kalman filter written directly with
// gonum: K = P⁻Hᵀ(HP⁻Hᵀ+Q)⁻¹, x = x⁻ + K(z − μ_z − H x⁻), and P in Joseph
// form.
type textbookKalman struct {
	A, W, H, Q *mat.Dense
	mz, mx     *mat.VecDense
	x          *mat.VecDense
	P          *mat.Dense
}

func newTextbook(p *KalmanParams) *textbookKalman {
	d, n := p.States(), p.Channels()
	return &textbookKalman{
		A: mat.NewDense(d, d, slices.Clone(p.A)), W: mat.NewDense(d, d, slices.Clone(p.W)),
		H: mat.NewDense(n, d, slices.Clone(p.H)), Q: mat.NewDense(n, n, slices.Clone(p.Q)),
		mz: mat.NewVecDense(n, slices.Clone(p.CountMean)), mx: mat.NewVecDense(d, slices.Clone(p.StateMean)),
		x: mat.NewVecDense(d, nil), P: mat.NewDense(d, d, slices.Clone(p.P0)),
	}
}

func (k *textbookKalman) step(z []float64) (state []float64, cov []float64) {
	d, _ := k.A.Dims()
	n, _ := k.Q.Dims()
	var xp mat.VecDense
	xp.MulVec(k.A, k.x)
	var pp mat.Dense
	pp.Product(k.A, k.P, k.A.T())
	pp.Add(&pp, k.W)
	var s mat.Dense
	s.Product(k.H, &pp, k.H.T())
	s.Add(&s, k.Q)
	var pht mat.Dense
	pht.Mul(&pp, k.H.T())
	// K = P⁻Hᵀ S⁻¹, i.e. Kᵀ = S⁻¹ H P⁻ (S symmetric).
	var kt mat.Dense
	if err := kt.Solve(&s, pht.T()); err != nil {
		panic(err)
	}
	K := kt.T()
	innov := mat.NewVecDense(n, slices.Clone(z))
	innov.SubVec(innov, k.mz)
	var hx mat.VecDense
	hx.MulVec(k.H, &xp)
	innov.SubVec(innov, &hx)
	var corr mat.VecDense
	corr.MulVec(K, innov)
	k.x.AddVec(&xp, &corr)
	var kh mat.Dense
	kh.Mul(K, k.H)
	ikh := mat.NewDense(d, d, nil)
	for i := 0; i < d; i++ {
		ikh.Set(i, i, 1)
	}
	ikh.Sub(ikh, &kh)
	// Joseph form, P = (I − KH) P⁻ (I − KH)ᵀ + K Q Kᵀ (Bucy & Joseph 1968):
	// the short form (I − KH)P⁻ loses symmetry and diverges in rounding
	// over hundreds of steps.
	var kqk mat.Dense
	kqk.Product(K, k.Q, K.T())
	k.P.Product(ikh, &pp, ikh.T())
	k.P.Add(k.P, &kqk)
	state = make([]float64, d)
	for j := range state {
		state[j] = k.x.AtVec(j) + k.mx.AtVec(j)
	}
	return state, slices.Clone(k.P.RawMatrix().Data)
}

func TestKalmanMatchesTextbook(t *testing.T) {
	// The information form is algebraically equal to the covariance form
	// (matrix inversion lemma); the two differ only by rounding, which the
	// stable filter does not accumulate: 1e-9 relative is the task's bound,
	// about 10⁶ ulps.
	for _, tc := range []struct{ d, n int }{{4, 20}, {6, 48}} {
		t.Run(fmt.Sprintf("d=%d,n=%d", tc.d, tc.n), func(t *testing.T) {
			m := testLDS(tc.d, tc.n, 3)
			states, counts := m.simulate(3000, 4)
			p, err := FitKalman(states[:2500], counts[:2500], DefaultKalmanConfig())
			if err != nil {
				t.Fatal(err)
			}
			k, err := NewKalman(p)
			if err != nil {
				t.Fatal(err)
			}
			ref := newTextbook(p)
			bins := toBins(states[2500:], counts[2500:])
			var est Estimate
			for i := range bins {
				if err := k.Decode(&est, &bins[i]); err != nil {
					t.Fatal(err)
				}
				ws, wc := ref.step(bins[i].Counts)
				for j := range ws {
					if math.Abs(est.State[j]-ws[j]) > 1e-9*(1+math.Abs(ws[j])) {
						t.Fatalf("bin %d: state[%d] = %.15g, textbook %.15g", i, j, est.State[j], ws[j])
					}
				}
				for j := range wc {
					if math.Abs(est.Cov[j]-wc[j]) > 1e-9*(1+math.Abs(wc[j])) {
						t.Fatalf("bin %d: cov[%d] = %.15g, textbook %.15g", i, j, est.Cov[j], wc[j])
					}
				}
			}
		})
	}
}

func TestKalmanDecodesWell(t *testing.T) {
	// With 30 channels of SNR ≈ 2 per state (|H| ≈ 2, Q ≈ 1) the posterior
	// tracks the state closely: R² well above the 0.8 bound on every state.
	m := testLDS(4, 30, 5)
	states, counts := m.simulate(4000, 6)
	p, err := FitKalmanBins(toBins(states[:3000], counts[:3000]), DefaultKalmanConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, steady := range []bool{false, true} {
		cfg := DefaultKalmanConfig()
		cfg.SteadyState = steady
		dec, err := NewKalmanDecoder(p, cfg)
		if err != nil {
			t.Fatal(err)
		}
		r2 := NewR2(4)
		var est Estimate
		for _, b := range toBins(states[3000:], counts[3000:]) {
			if err := dec.Decode(&est, &b); err != nil {
				t.Fatal(err)
			}
			if err := r2.Add(est.State, b.Truth); err != nil {
				t.Fatal(err)
			}
		}
		for j, v := range r2.R2To(nil) {
			if v < 0.8 {
				t.Errorf("steady=%v: R² of state %d = %.3f < 0.8", steady, j, v)
			}
		}
	}
}

func TestSteadyStateKalman(t *testing.T) {
	m := testLDS(6, 40, 7)
	states, counts := m.simulate(3000, 8)
	p, err := FitKalman(states[:2000], counts[:2000], DefaultKalmanConfig())
	if err != nil {
		t.Fatal(err)
	}
	ss, err := NewSteadyStateKalman(p, 1e-13, 10000)
	if err != nil {
		t.Fatal(err)
	}
	full, err := NewKalman(p)
	if err != nil {
		t.Fatal(err)
	}
	// P∞ is a fixed point of the Riccati map (the definition of the steady
	// state), to within the convergence tolerance.
	mdl, _ := newKalmanModel(p)
	next := make([]float64, 36)
	mdl.covStep(next, ss.pinf)
	if e := relFrob(next, ss.pinf); e > 1e-11 {
		t.Errorf("P∞ is not a Riccati fixed point: relative change %g", e)
	}
	// The full filter's gain converges geometrically to K∞, so after a few
	// hundred bins the two estimates agree to rounding.
	var ef, es Estimate
	for i, b := range toBins(states[2000:], counts[2000:]) {
		if err := full.Decode(&ef, &b); err != nil {
			t.Fatal(err)
		}
		if err := ss.Decode(&es, &b); err != nil {
			t.Fatal(err)
		}
		if i < 200 {
			continue
		}
		for j := range ef.State {
			if math.Abs(ef.State[j]-es.State[j]) > 1e-8*(1+math.Abs(ef.State[j])) {
				t.Fatalf("bin %d: steady-state %g, full %g", i, es.State[j], ef.State[j])
			}
		}
		if e := relFrob(es.Cov, ef.Cov); e > 1e-8 {
			t.Fatalf("bin %d: steady-state covariance differs by %g", i, e)
		}
	}
	if ss.Iterations() < 2 {
		t.Errorf("Iterations() = %d", ss.Iterations())
	}
	k := ss.GainTo(nil)
	if len(k) != 6*40 {
		t.Errorf("len(gain) = %d", len(k))
	}
}

func TestSteadyStateKalmanDiverges(t *testing.T) {
	// State 1 grows by 1.5 per bin and no channel observes it, so the
	// Riccati recursion cannot converge.
	p := smallParams()
	p.A[0*2+1], p.A[1*2+1] = 0, 1.5
	p.H[0*2+1], p.H[1*2+1], p.H[2*2+1] = 0, 0, 0
	if _, err := NewSteadyStateKalman(p, 1e-12, 200); err == nil || !strings.Contains(err.Error(), "did not converge") {
		t.Fatalf("err = %v, want non-convergence", err)
	}
	if _, err := NewSteadyStateKalman(p, 0, 200); err == nil || !strings.Contains(err.Error(), "steady_tol") {
		t.Fatalf("err = %v, want a steady_tol error", err)
	}
}

// smallParams is a valid 2-state, 3-channel model.
func smallParams() *KalmanParams {
	return &KalmanParams{
		StateNames: []string{"px", "vx"},
		BinWidth:   20,
		Rate:       1000,
		StateMean:  []float64{0.5, -0.25},
		CountMean:  []float64{3, 4.5, 1},
		A:          []float64{1, 0.05, 0, 0.9},
		W:          []float64{0.01, 0.001, 0.001, 0.02},
		H:          []float64{1, 2, -1, 0.5, 0.25, -3},
		Q:          []float64{1, 0.1, 0, 0.1, 2, 0.2, 0, 0.2, 1.5},
		P0:         []float64{0.5, 0, 0, 0.25},
	}
}

func TestFitKalmanDegenerate(t *testing.T) {
	m := testLDS(4, 10, 9)
	base, baseCounts := m.simulate(400, 10)
	clone := func() (s, c [][]float64) {
		s = make([][]float64, len(base))
		c = make([][]float64, len(base))
		for i := range base {
			s[i], c[i] = slices.Clone(base[i]), slices.Clone(baseCounts[i])
		}
		return s, c
	}
	tests := []struct {
		name   string
		mutate func(s, c [][]float64) ([][]float64, [][]float64)
		cfg    func(*KalmanConfig)
		want   string // substring of the error; "" means success
	}{
		{name: "valid", want: ""},
		{name: "too few for Q", mutate: func(s, c [][]float64) ([][]float64, [][]float64) { return s[:14], c[:14] },
			want: "too few samples: T = 14 bins"},
		{name: "few but ridged", mutate: func(s, c [][]float64) ([][]float64, [][]float64) { return s[:14], c[:14] },
			cfg: func(c *KalmanConfig) { c.QRidge = 0.1 }, want: ""},
		{name: "fewer than states", mutate: func(s, c [][]float64) ([][]float64, [][]float64) { return s[:5], c[:5] },
			cfg: func(c *KalmanConfig) { c.QRidge = 0.1 }, want: "too few samples: T = 5 bins for 4 states"},
		{name: "constant channel", mutate: func(s, c [][]float64) ([][]float64, [][]float64) {
			for t := range c {
				c[t][7] = 3
			}
			return s, c
		}, want: "channel 7 is constant over the calibration data; Q is singular"},
		{name: "constant channel ridged", mutate: func(s, c [][]float64) ([][]float64, [][]float64) {
			for t := range c {
				c[t][7] = 3
			}
			return s, c
		}, cfg: func(c *KalmanConfig) { c.QRidge = 1e-3 }, want: ""},
		{name: "duplicate channel", mutate: func(s, c [][]float64) ([][]float64, [][]float64) {
			for t := range c {
				c[t][6] = 2*c[t][2] + 1
			}
			return s, c
		}, want: "Q is singular: the residual of channel 6"},
		{name: "constant state", mutate: func(s, c [][]float64) ([][]float64, [][]float64) {
			for t := range s {
				s[t][1] = 4
			}
			return s, c
		}, want: "state 1 (py) is constant"},
		{name: "collinear state", mutate: func(s, c [][]float64) ([][]float64, [][]float64) {
			for t := range s {
				s[t][3] = s[t][0] - 2*s[t][2]
			}
			return s, c
		}, want: "state 3 (vy) is collinear"},
		{name: "deterministic state", mutate: func(s, c [][]float64) ([][]float64, [][]float64) {
			integrate(s)
			return s, c
		}, want: "W is singular: state 0 (px)"},
		{name: "deterministic state ridged", mutate: func(s, c [][]float64) ([][]float64, [][]float64) {
			integrate(s)
			return s, c
		}, cfg: func(c *KalmanConfig) { c.WRidge = 1e-4 }, want: ""},
		{name: "noiseless channel", mutate: func(s, c [][]float64) ([][]float64, [][]float64) {
			for t := range c {
				c[t][4] = 3*s[t][0] - s[t][3] + 2
			}
			return s, c
		}, want: "channel 4 is an exact linear function of the states"},
		{name: "NaN count", mutate: func(s, c [][]float64) ([][]float64, [][]float64) {
			c[10][2] = math.NaN()
			return s, c
		}, want: "counts[10][2] is NaN"},
		{name: "Inf state", mutate: func(s, c [][]float64) ([][]float64, [][]float64) {
			s[3][1] = math.Inf(-1)
			return s, c
		}, want: "states[3][1] is -Inf"},
		{name: "ragged counts", mutate: func(s, c [][]float64) ([][]float64, [][]float64) {
			c[5] = c[5][:9]
			return s, c
		}, want: "counts[5] has 9 values, want 10"},
		{name: "row mismatch", mutate: func(s, c [][]float64) ([][]float64, [][]float64) { return s, c[:399] },
			want: "400 state rows but 399 count rows"},
		{name: "empty", mutate: func(s, c [][]float64) ([][]float64, [][]float64) { return nil, nil },
			want: "no calibration data"},
		{name: "names count", cfg: func(c *KalmanConfig) { c.StateNames = []string{"a", "b"} },
			want: "state_names: 2 names for 4 state columns"},
		{name: "bad config", cfg: func(c *KalmanConfig) { c.QRidge = -1; c.StateNames = []string{"a", "a", "b", "c"} },
			want: "q_ridge: must be finite and ≥ 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, c := clone()
			if tc.mutate != nil {
				s, c = tc.mutate(s, c)
			}
			cfg := DefaultKalmanConfig()
			cfg.StateNames = m.names
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			p, err := FitKalman(s, c, cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if _, err := NewKalman(p); err != nil {
					t.Fatalf("NewKalman on fitted params: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "kalman fit: ") {
				t.Fatalf("error %q, want it to start with \"kalman fit: \" and contain %q", err, tc.want)
			}
		})
	}
}

// integrate makes state 0 the exact running sum of state 2 (centred first:
// the model has no intercept, so an exactly deterministic state needs a
// zero-mean input).
func integrate(s [][]float64) {
	mean := 0.0
	for t := range s {
		mean += s[t][2] / float64(len(s))
	}
	for t := range s {
		s[t][2] -= mean
	}
	for t := 1; t < len(s); t++ {
		s[t][0] = s[t-1][0] + 0.1*s[t-1][2]
	}
}

func TestFitKalmanBinsSegments(t *testing.T) {
	// Two runs with a gap between them: the transition must be fitted only
	// on pairs within a run. The reference is A = S21 S11⁻¹ over the
	// within-run pairs (Wu et al. 2006, eq. 3.4), computed with gonum.
	m := testLDS(4, 12, 11)
	s1, c1 := m.simulate(300, 12)
	s2, c2 := m.simulate(300, 13)
	bins := append(toBins(s1, c1), toBins(s2, c2)...)
	for i := 300; i < len(bins); i++ {
		bins[i].Start += 300*20 + 1000 // a 1000-frame gap
		bins[i].Seq += 300
	}
	p, err := FitKalmanBins(bins, DefaultKalmanConfig())
	if err != nil {
		t.Fatal(err)
	}
	if p.BinWidth != 20 || p.Rate != 1000 {
		t.Errorf("bin_width %d, rate %g; want 20, 1000", p.BinWidth, p.Rate)
	}
	d := 4
	mean := make([]float64, d)
	for _, b := range bins {
		for j, v := range b.Truth {
			mean[j] += v / float64(len(bins))
		}
	}
	s11, s21 := mat.NewDense(d, d, nil), mat.NewDense(d, d, nil)
	for i := 1; i < len(bins); i++ {
		if i == 300 {
			continue
		}
		x1, x2 := mat.NewVecDense(d, nil), mat.NewVecDense(d, nil)
		for j := 0; j < d; j++ {
			x1.SetVec(j, bins[i-1].Truth[j]-mean[j])
			x2.SetVec(j, bins[i].Truth[j]-mean[j])
		}
		s11.RankOne(s11, 1, x1, x1)
		s21.RankOne(s21, 1, x2, x1)
	}
	var inv, aRef mat.Dense
	if err := inv.Inverse(s11); err != nil {
		t.Fatal(err)
	}
	aRef.Mul(s21, &inv)
	if e := relFrob(p.A, aRef.RawMatrix().Data); e > 1e-10 {
		t.Errorf("A differs from the within-run least squares by %g", e)
	}
	// Marking the runs contiguous adds the false pair, which changes A.
	for i := 300; i < len(bins); i++ {
		bins[i].Start -= 1000
	}
	joined, err := FitKalmanBins(bins, DefaultKalmanConfig())
	if err != nil {
		t.Fatal(err)
	}
	if e := relFrob(joined.A, p.A); e < 1e-6 {
		t.Errorf("the pair across the gap made no difference (%g): gaps are not honoured", e)
	}

	// Bins without truth, or of mixed width, are refused.
	noTruth := toBins(s1[:100], c1[:100])
	noTruth[40].Truth = nil
	if _, err := FitKalmanBins(noTruth, DefaultKalmanConfig()); err == nil || !strings.Contains(err.Error(), "bins[40] (seq 40) has no ground truth") {
		t.Errorf("err = %v", err)
	}
	mixed := toBins(s1[:100], c1[:100])
	mixed[7].Width = 10
	if _, err := FitKalmanBins(mixed, DefaultKalmanConfig()); err == nil || !strings.Contains(err.Error(), "bins[7] (seq 7) is 10 frames") {
		t.Errorf("err = %v", err)
	}
}

func TestKalmanDecodeErrors(t *testing.T) {
	p := smallParams()
	k, err := NewKalman(p)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := NewSteadyStateKalman(p, 1e-12, 10000)
	if err != nil {
		t.Fatal(err)
	}
	good := Bin{Seq: 9, Width: 20, Rate: 1000, Counts: []float64{1, 2, 3}}
	for _, tc := range []struct {
		name string
		bin  Bin
		want string
	}{
		{"channels", Bin{Seq: 9, Width: 20, Rate: 1000, Counts: []float64{1, 2}}, "bin seq 9 has 2 channels, want 3"},
		{"width", Bin{Seq: 9, Width: 10, Rate: 1000, Counts: []float64{1, 2, 3}}, "bin seq 9 is 10 frames wide, but the model was fitted on 20-frame bins"},
		{"rate", Bin{Seq: 9, Width: 20, Rate: 30000, Counts: []float64{1, 2, 3}}, "bin seq 9 is at 30000 Hz, but the model was fitted at 1000 Hz"},
		{"nan", Bin{Seq: 9, Width: 20, Rate: 1000, Counts: []float64{1, math.NaN(), 3}}, "bin seq 9: counts[1] is NaN"},
	} {
		for _, dec := range []Decoder{k, ss} {
			var est Estimate
			err := dec.Decode(&est, &tc.bin)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s %T: err = %v, want %q", tc.name, dec, err, tc.want)
			}
		}
	}
	var est Estimate
	if err := k.Decode(&est, &good); err != nil {
		t.Fatal(err)
	}
	if err := k.Decode(&est, nil); err == nil {
		t.Error("nil bin accepted")
	}
	if _, err := NewKalman(nil); err == nil {
		t.Error("nil params accepted")
	}
	bad := smallParams()
	bad.W[0] = -1
	if _, err := NewKalman(bad); err == nil || !strings.Contains(err.Error(), "w: not positive definite") {
		t.Errorf("err = %v", err)
	}
	if got := k.StateNames(); !slices.Equal(got, []string{"px", "vx"}) {
		t.Errorf("StateNames() = %v", got)
	}
	if k.States() != 2 || k.Channels() != 3 || ss.States() != 2 || ss.Channels() != 3 {
		t.Error("wrong dimensions")
	}
}

func TestKalmanConfigValidate(t *testing.T) {
	c := KalmanConfig{StateNames: []string{"a", "", "a"}, QRidge: math.NaN(), WRidge: -1, SteadyTol: 2, SteadyMaxIter: 0}
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"state_names[1]: must not be empty", "state_names[2]: \"a\" repeats state_names[0]",
		"q_ridge: ", "w_ridge: ", "steady_tol: ", "steady_max_iter: "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	d := DefaultKalmanConfig()
	if err := d.Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
}

func TestKalmanDeterministic(t *testing.T) {
	// The same seed gives bit-identical data, parameters and estimates.
	run := func() []float64 {
		m := testLDS(4, 16, 21)
		s, c := m.simulate(600, 22)
		p, err := FitKalman(s[:500], c[:500], DefaultKalmanConfig())
		if err != nil {
			t.Fatal(err)
		}
		k, _ := NewKalman(p)
		var out []float64
		var est Estimate
		for _, b := range toBins(s[500:], c[500:]) {
			if err := k.Decode(&est, &b); err != nil {
				t.Fatal(err)
			}
			out = append(out, est.State...)
		}
		return out
	}
	a, b := run(), run()
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			t.Fatalf("value %d differs: %v vs %v", i, a[i], b[i])
		}
	}
}

func benchKalman(b *testing.B, steady bool) {
	for _, units := range []int{96, 192} {
		for _, d := range []int{4, 6} {
			b.Run(fmt.Sprintf("units=%d/d=%d", units, d), func(b *testing.B) {
				m := testLDS(d, units, 31)
				s, c := m.simulate(units+d+400, 32)
				p, err := FitKalman(s, c, DefaultKalmanConfig())
				if err != nil {
					b.Fatal(err)
				}
				var dec Decoder
				if steady {
					dec, err = NewSteadyStateKalman(p, 1e-12, 10000)
				} else {
					dec, err = NewKalman(p)
				}
				if err != nil {
					b.Fatal(err)
				}
				bins := toBins(s[:256], c[:256])
				var est Estimate
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := dec.Decode(&est, &bins[i&255]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkKalmanDecode(b *testing.B)            { benchKalman(b, false) }
func BenchmarkSteadyStateKalmanDecode(b *testing.B) { benchKalman(b, true) }

func BenchmarkFitKalman(b *testing.B) {
	// 60 s of calibration at 20 ms bins, 192 units, 4 states.
	m := testLDS(4, 192, 33)
	s, c := m.simulate(3000, 34)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := FitKalman(s, c, DefaultKalmanConfig()); err != nil {
			b.Fatal(err)
		}
	}
}
