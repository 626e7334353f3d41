package decode

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// poissonDraw draws a Poisson variate of mean lam by Knuth's multiplication
// method (Knuth, TAOCP vol. 2, §3.4.1), exact and fast for the small means
// (< 30) of spike counts per bin used in these tests.
func poissonDraw(rng *rand.Rand, lam float64) float64 {
	if lam > 30 {
		panic("poissonDraw: mean too large for Knuth's method")
	}
	l, k, p := math.Exp(-lam), 0.0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// drawCounts draws Poisson counts for every state with rate(i, s) Hz over
// bins of tau seconds.
func drawCounts(rng *rand.Rand, states [][]float64, n int, tau float64, rate func(i int, s []float64) float64) [][]float64 {
	counts := make([][]float64, len(states))
	for t, s := range states {
		c := make([]float64, n)
		for i := range c {
			c[i] = poissonDraw(rng, rate(i, s)*tau)
		}
		counts[t] = c
	}
	return counts
}

// uniformStates draws T states uniformly over the axes' ranges.
func uniformStates(rng *rand.Rand, T int, axes []GridAxis) [][]float64 {
	out := make([][]float64, T)
	for t := range out {
		s := make([]float64, len(axes))
		for a, ax := range axes {
			s[a] = ax.Min + (ax.Max-ax.Min)*rng.Float64()
		}
		out[t] = s
	}
	return out
}

func TestFitPoissonRecoversTuning(t *testing.T) {
	circ := []GridAxis{{Name: "theta", Min: 0, Max: 2 * math.Pi, Points: 36, Circular: true}}
	line := []GridAxis{{Name: "x", Min: 0, Max: 1, Points: 40}}
	plane := []GridAxis{{Name: "vx", Min: -10, Max: 10, Points: 21}, {Name: "vy", Min: -10, Max: 10, Points: 21}}
	const units = 6
	// Per-unit parameters drawn from one seed: preferred angle/centre and
	// depth.
	pr := rand.New(rand.NewPCG(3, 4))
	pref, depth, base := make([]float64, units), make([]float64, units), make([]float64, units)
	for i := range pref {
		pref[i] = 2 * math.Pi * pr.Float64()
		depth[i] = 0.5 + pr.Float64()
		base[i] = 5 + 10*pr.Float64()
	}
	tests := []struct {
		name   string
		axes   []GridAxis
		tuning string
		T      int
		tau    float64
		rate   func(i int, s []float64) float64
		smooth float64
	}{
		// von Mises: f = b·exp(κ cos(θ − θ_i)) (Zhang et al. 1998, eq. 6
		// uses the same circular-normal form).
		{"vonmises", circ, TuningVonMises, 20000, 0.1, func(i int, s []float64) float64 {
			return 0.5 * base[i] * math.Exp(depth[i]*math.Cos(s[0]-pref[i]))
		}, 0},
		// Cosine: f = b + m cos(θ − θ_i) (Georgopoulos et al. 1986).
		{"cosine/circular", circ, TuningCosine, 20000, 0.1, func(i int, s []float64) float64 {
			return base[i] + 0.6*base[i]*math.Cos(s[0]-pref[i])
		}, 0},
		// Cosine tuning to velocity with speed: f = b + m (v·d_i)/v_ref,
		// the synthetic motor cortex's model.
		{"cosine/velocity", plane, TuningCosine, 20000, 0.1, func(i int, s []float64) float64 {
			return base[i] + 0.5*base[i]*(s[0]*math.Cos(pref[i])+s[1]*math.Sin(pref[i]))/10
		}, 0},
		// Gaussian place field on a linear track.
		{"gaussian", line, TuningGaussian, 20000, 0.1, func(i int, s []float64) float64 {
			c := 0.2 + 0.6*pref[i]/(2*math.Pi)
			return 3*base[i]*math.Exp(-(s[0]-c)*(s[0]-c)/(2*0.15*0.15)) + 0.01
		}, 0},
		// Histogram: baseline plus bump (not of any parametric family).
		{"histogram", line, TuningHistogram, 80000, 0.2, func(i int, s []float64) float64 {
			c := 0.2 + 0.6*pref[i]/(2*math.Pi)
			return 2 + 2*base[i]*math.Exp(-(s[0]-c)*(s[0]-c)/(2*0.15*0.15))
		}, 1.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			states := uniformStates(rng, tc.T, tc.axes)
			counts := drawCounts(rng, states, units, tc.tau, tc.rate)
			cfg := DefaultPoissonConfig()
			cfg.Axes, cfg.Tuning, cfg.Smooth = tc.axes, tc.tuning, tc.smooth
			p, err := FitPoisson(states, counts, tc.tau, cfg)
			if err != nil {
				t.Fatal(err)
			}
			K := p.Points()
			coord := make([]float64, len(tc.axes))
			// Kernel smoothing (Nadaraya–Watson) is biased within about
			// two kernel SDs of a linear axis's ends where the rate has a
			// slope (one-sided kernel); the histogram case is checked
			// beyond them (see FitPoisson).
			edge := int(math.Ceil(2 * tc.smooth))
			worst := 0.0
			for i := 0; i < units; i++ {
				peak := 0.0
				for k := 0; k < K; k++ {
					gridCoord(coord, tc.axes, k)
					peak = max(peak, tc.rate(i, coord))
				}
				for k := 0; k < K; k++ {
					if tc.smooth > 0 && !tc.axes[0].Circular && (k < edge || k >= K-edge) {
						continue
					}
					gridCoord(coord, tc.axes, k)
					want := tc.rate(i, coord)
					// Relative to the true rate, or to a tenth of the
					// peak where the curve is near zero (a Gaussian's
					// tails), whichever is larger.
					e := math.Abs(p.RatesHz[i*K+k]-want) / max(want, 0.1*peak)
					worst = max(worst, e)
				}
			}
			t.Logf("largest relative error of the fitted tuning: %.3f", worst)
			if worst > 0.10 {
				t.Errorf("largest relative error %.3f > 0.10", worst)
			}
		})
	}
	t.Run("classes", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		means := [][]float64{{2, 8, 5}, {10, 3, 6}, {4, 4, 12}, {7, 1, 9}} // Hz, units × classes
		T := 6000
		states := make([][]float64, T)
		for t := range states {
			states[t] = []float64{float64(rng.IntN(3))}
		}
		counts := drawCounts(rng, states, 4, 0.5, func(i int, s []float64) float64 { return means[i][int(s[0])] })
		cfg := DefaultPoissonConfig()
		cfg.Classes = []string{"left", "right", "rest"}
		p, err := FitPoisson(states, counts, 0.5, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i := range means {
			for c, want := range means[i] {
				if got := p.RatesHz[i*3+c]; math.Abs(got-want) > 0.1*want {
					t.Errorf("unit %d class %d: rate %.3f, want %.3f ± 10%%", i, c, got, want)
				}
			}
		}
	})
}

// placeData simulates place cells (Gaussian fields, Zhang et al. 1998) on a
// 1-D track of 100 cm along a smooth trajectory: velocity an
// Ornstein–Uhlenbeck process (time constant 1 s, RMS 20 cm/s), reflected at
// the ends.
func placeData(T, units int, tau float64, seed uint64) (states, counts [][]float64, rate func(i int, s []float64) float64) {
	rng := rand.New(rand.NewPCG(seed, 0x706c616365))
	centres := make([]float64, units)
	for i := range centres {
		centres[i] = 100 * (float64(i) + 0.5) / float64(units)
	}
	rate = func(i int, s []float64) float64 {
		d := s[0] - centres[i]
		return 0.5 + 15*math.Exp(-d*d/(2*8*8))
	}
	a := math.Exp(-tau / 1.0)
	x, v := 50.0, 0.0
	states = make([][]float64, T)
	for t := range states {
		v = a*v + 20*math.Sqrt(1-a*a)*rng.NormFloat64()
		x += v * tau
		if x < 0 {
			x, v = -x, -v
		}
		if x > 100 {
			x, v = 200-x, -v
		}
		states[t] = []float64{x}
	}
	counts = drawCounts(rng, states, units, tau, rate)
	return states, counts, rate
}

func decodeErrors(t testing.TB, dec Decoder, states, counts [][]float64, tau float64) []float64 {
	errs := make([]float64, len(states))
	var est Estimate
	for i := range states {
		b := Bin{Seq: uint64(i), Start: int64(i), Width: 1, Rate: 1 / tau, Counts: counts[i]}
		if err := dec.Decode(&est, &b); err != nil {
			t.Fatal(err)
		}
		s := 0.0
		for j, v := range states[i] {
			s += (est.State[j] - v) * (est.State[j] - v)
		}
		errs[i] = math.Sqrt(s)
	}
	return errs
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func TestPoissonContinuityBeatsFlat(t *testing.T) {
	const tau = 0.02 // short bins: few spikes, where a prior matters most
	states, counts, _ := placeData(22000, 20, tau, 11)
	axes := []GridAxis{{Name: "x", Min: 0, Max: 100, Points: 101}}
	med := map[string]float64{}
	for _, prior := range []string{PriorFlat, PriorContinuity} {
		cfg := DefaultPoissonConfig()
		cfg.Axes, cfg.Prior = axes, prior
		p, err := FitPoisson(states[:20000], counts[:20000], tau, cfg)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := NewPoisson(p)
		if err != nil {
			t.Fatal(err)
		}
		med[prior] = median(decodeErrors(t, dec, states[20000:], counts[20000:], tau))
	}
	t.Logf("median error: flat %.2f cm, continuity %.2f cm (track 100 cm)", med[PriorFlat], med[PriorContinuity])
	if !(med[PriorContinuity] < 0.7*med[PriorFlat]) {
		t.Errorf("continuity prior median error %.2f cm is not below 0.7 × flat %.2f cm", med[PriorContinuity], med[PriorFlat])
	}
}

func TestPoissonPosteriorMatchesFormula(t *testing.T) {
	// A brute-force evaluation of Zhang et al. (1998, eq. 36) and of one
	// Bayes filter step on a 2-D grid, against the decoder's posterior.
	axes := []GridAxis{{Name: "x", Min: -1, Max: 1, Points: 7}, {Name: "y", Min: 0, Max: 3, Points: 5}}
	K, n := 35, 4
	rng := rand.New(rand.NewPCG(13, 14))
	p := &PoissonParams{Axes: axes, Tuning: TuningHistogram, BinWidth: 50, Rate: 1000, Prior: PriorContinuity,
		TransitionSD: []float64{0.4, 0.9}, Estimate: EstimateMean}
	for i := 0; i < n*K; i++ {
		p.RatesHz = append(p.RatesHz, 1+30*rng.Float64())
	}
	dec, err := NewPoisson(p)
	if err != nil {
		t.Fatal(err)
	}
	tau := 0.05
	loglik := func(c []float64) []float64 {
		l := make([]float64, K)
		for k := range l {
			for i := 0; i < n; i++ {
				f := p.RatesHz[i*K+k]
				l[k] += c[i]*math.Log(f*tau) - f*tau - lgammaInt(c[i])
			}
		}
		return l
	}
	normExp := func(l []float64) []float64 {
		mx := slices.Max(l)
		out := make([]float64, len(l))
		s := 0.0
		for k, v := range l {
			out[k] = math.Exp(v - mx)
			s += out[k]
		}
		for k := range out {
			out[k] /= s
		}
		return out
	}
	// Transition: T(k, j) = g_x(kx − jx) g_y(ky − jy), normalised over k.
	trans := func(prev []float64) []float64 {
		pred := make([]float64, K)
		coord, src := make([]float64, 2), make([]float64, 2)
		for j := 0; j < K; j++ {
			gridCoord(src, axes, j)
			col := make([]float64, K)
			s := 0.0
			for k := 0; k < K; k++ {
				gridCoord(coord, axes, k)
				dx, dy := (coord[0]-src[0])/0.4, (coord[1]-src[1])/0.9
				// The decoder truncates at 4σ in grid points.
				if math.Abs(dx) > math.Ceil(4*0.4/axes[0].Step())*axes[0].Step()/0.4+1e-9 ||
					math.Abs(dy) > math.Ceil(4*0.9/axes[1].Step())*axes[1].Step()/0.9+1e-9 {
					continue
				}
				col[k] = math.Exp(-dx*dx/2) * math.Exp(-dy*dy/2)
				s += col[k]
			}
			for k := range col {
				pred[k] += prev[j] * col[k] / s
			}
		}
		return pred
	}
	c1, c2 := []float64{2, 0, 1, 3}, []float64{0, 1, 4, 0}
	want1 := normExp(loglik(c1))
	l2 := loglik(c2)
	pred := trans(want1)
	for k := range l2 {
		l2[k] += math.Log(pred[k])
	}
	want2 := normExp(l2)
	var est Estimate
	for step, tc := range []struct {
		c    []float64
		want []float64
	}{{c1, want1}, {c2, want2}} {
		b := Bin{Width: 50, Rate: 1000, Counts: tc.c}
		if err := dec.Decode(&est, &b); err != nil {
			t.Fatal(err)
		}
		got := dec.PosteriorTo(nil)
		for k := range got {
			if math.Abs(got[k]-tc.want[k]) > 1e-12 {
				t.Fatalf("step %d point %d: posterior %g, want %g", step, k, got[k], tc.want[k])
			}
		}
		// Posterior mean and covariance.
		var mx, my, cxx, cxy, cyy float64
		coord := make([]float64, 2)
		for k, w := range tc.want {
			gridCoord(coord, axes, k)
			mx += w * coord[0]
			my += w * coord[1]
		}
		for k, w := range tc.want {
			gridCoord(coord, axes, k)
			cxx += w * (coord[0] - mx) * (coord[0] - mx)
			cxy += w * (coord[0] - mx) * (coord[1] - my)
			cyy += w * (coord[1] - my) * (coord[1] - my)
		}
		wantEst := []float64{mx, my}
		wantCov := []float64{cxx, cxy, cxy, cyy}
		for j := range wantEst {
			if math.Abs(est.State[j]-wantEst[j]) > 1e-12 {
				t.Errorf("step %d: state %v, want %v", step, est.State, wantEst)
			}
		}
		for j := range wantCov {
			if math.Abs(est.Cov[j]-wantCov[j]) > 1e-12 {
				t.Errorf("step %d: cov %v, want %v", step, est.Cov, wantCov)
			}
		}
		mapIdx := 0
		for k := range tc.want {
			if tc.want[k] > tc.want[mapIdx] {
				mapIdx = k
			}
		}
		gridCoord(coord, axes, mapIdx)
		if dec.MAPIndex() != mapIdx || !slices.Equal(dec.MAPTo(nil), coord) {
			t.Errorf("step %d: MAP %d %v, want %d %v", step, dec.MAPIndex(), dec.MAPTo(nil), mapIdx, coord)
		}
	}
}

// lgammaInt returns log n! for a non-negative integer n.
func lgammaInt(n float64) float64 {
	v, _ := math.Lgamma(n + 1)
	return v
}

func TestPoissonCircularAndClasses(t *testing.T) {
	// Circular: mass on both sides of 0 averages to 0, not π.
	axes := []GridAxis{{Name: "theta", Min: 0, Max: 2 * math.Pi, Points: 8, Circular: true}}
	p := &PoissonParams{Axes: axes, Tuning: TuningHistogram, BinWidth: 1, Rate: 10, Prior: PriorFlat, Estimate: EstimateMean}
	// One unit strongly tuned to points 7 and 1 equally.
	for k := 0; k < 8; k++ {
		r := 0.1
		if k == 1 || k == 7 {
			r = 50
		}
		p.RatesHz = append(p.RatesHz, r)
	}
	dec, err := NewPoisson(p)
	if err != nil {
		t.Fatal(err)
	}
	var est Estimate
	if err := dec.Decode(&est, &Bin{Width: 1, Rate: 10, Counts: []float64{6}}); err != nil {
		t.Fatal(err)
	}
	th := est.State[0]
	if d := math.Min(th, 2*math.Pi-th); d > 1e-6 {
		t.Errorf("circular mean %g, want 0", th)
	}
	// Spread: half the mass at ±π/4, so E[e²] ≈ (π/4)².
	if math.Abs(est.Cov[0]-math.Pi*math.Pi/16) > 0.01 {
		t.Errorf("circular spread %g, want ≈ %g", est.Cov[0], math.Pi*math.Pi/16)
	}

	// Classes with the continuity prior: a class seen often stays likely
	// through an uninformative bin.
	cp := &PoissonParams{Classes: []string{"a", "b"}, Tuning: TuningHistogram, BinWidth: 1, Rate: 1,
		RatesHz: []float64{5, 1}, Prior: PriorContinuity, ClassStay: 0.9, Estimate: EstimateMean}
	cd, err := NewPoisson(cp)
	if err != nil {
		t.Fatal(err)
	}
	if err := cd.Decode(&est, &Bin{Width: 1, Rate: 1, Counts: []float64{5}}); err != nil {
		t.Fatal(err)
	}
	// Flat prior: P(a) ∝ 5⁵e⁻⁵, P(b) ∝ 1·e⁻¹.
	pa := math.Pow(5, 5) * math.Exp(-5)
	pb := math.Exp(-1)
	if want := pa / (pa + pb); math.Abs(est.State[0]-want) > 1e-12 || cd.MAPIndex() != 0 {
		t.Errorf("P(a) = %g, want %g", est.State[0], want)
	}
	prev := est.State[0]
	if err := cd.Decode(&est, &Bin{Width: 1, Rate: 1, Counts: []float64{2}}); err != nil {
		t.Fatal(err)
	}
	prior := 0.9*prev + 0.1*(1-prev)
	la, lb := prior*25*math.Exp(-5), (1-prior)*math.Exp(-1)
	if want := la / (la + lb); math.Abs(est.State[0]-want) > 1e-12 {
		t.Errorf("P(a) after a second bin = %g, want %g", est.State[0], want)
	}
	if len(est.Cov) != 0 || !slices.Equal(cd.StateNames(), []string{"a", "b"}) {
		t.Errorf("cov %v, names %v", est.Cov, cd.StateNames())
	}
	if oh := cd.MAPTo(nil); !slices.Equal(oh, []float64{1, 0}) {
		t.Errorf("MAPTo = %v", oh)
	}
}

func TestPoissonConfigValidate(t *testing.T) {
	axis := GridAxis{Name: "x", Min: 0, Max: 1, Points: 10}
	tests := []struct {
		name string
		edit func(c *PoissonConfig)
		want []string // substrings; none means valid
	}{
		{"valid", func(c *PoissonConfig) { c.Axes = []GridAxis{axis} }, nil},
		{"valid classes", func(c *PoissonConfig) { c.Classes = []string{"a", "b"}; c.Prior = PriorContinuity }, nil},
		{"nothing", func(c *PoissonConfig) {}, []string{"axes: need 1 or 2 axes"}},
		{"both", func(c *PoissonConfig) { c.Axes = []GridAxis{axis}; c.Classes = []string{"a", "b"} }, []string{"axes: must be empty when classes are set"}},
		{"many", func(c *PoissonConfig) {
			c.Axes = []GridAxis{{Name: "", Min: 1, Max: 0, Points: 0, Circular: true}, axis}
			c.Tuning, c.Smooth, c.PseudoBins, c.RateFloorHz, c.Ridge = "spline", -1, 0, math.NaN(), -2
			c.Prior, c.Estimate, c.ClassStay = "sticky", "median", 1
			c.TransitionSD = []float64{1}
			c.Columns = []int{-1, 2}
		}, []string{"axes[0].name: must not be empty", "axes[0].points: must be ≥ 1", "axes[0]: min 1 and max 0",
			"axes[0].circular: a circular axis must be the only axis", "columns[0]: must be ≥ 0", `tuning: unknown "spline"`,
			"smooth: ", "pseudo_bins: ", "rate_floor_hz: ", "ridge: ", `prior: unknown "sticky"`, "transition_sd: has 1 values for 2 axes",
			"class_stay: ", `estimate: unknown "median"`}},
		{"gaussian circular", func(c *PoissonConfig) {
			c.Axes = []GridAxis{{Name: "t", Max: 6, Points: 6, Circular: true}}
			c.Tuning = TuningGaussian
		}, []string{"tuning: gaussian is for linear axes"}},
		{"parametric classes", func(c *PoissonConfig) { c.Classes = []string{"a", "a"}; c.Tuning = TuningCosine },
			[]string{"tuning: cosine needs a grid", `classes[1]: "a" repeats classes[0]`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultPoissonConfig()
			tc.edit(&c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestFitPoissonDegenerate(t *testing.T) {
	axes := []GridAxis{{Name: "x", Min: 0, Max: 100, Points: 21}}
	base, baseCounts, _ := placeData(400, 6, 0.05, 21)
	clone := func() (s, c [][]float64) {
		for i := range base {
			s = append(s, slices.Clone(base[i]))
			c = append(c, slices.Clone(baseCounts[i]))
		}
		return s, c
	}
	tests := []struct {
		name   string
		mutate func(s, c [][]float64) ([][]float64, [][]float64)
		cfg    func(*PoissonConfig)
		want   string
	}{
		{"valid", nil, nil, ""},
		{"valid gaussian", nil, func(c *PoissonConfig) { c.Tuning = TuningGaussian }, ""},
		{"too few", func(s, c [][]float64) ([][]float64, [][]float64) { return s[:9], c[:9] }, nil, "too few samples: 9 bins, need at least 10"},
		{"silent channel", func(s, c [][]float64) ([][]float64, [][]float64) {
			for t := range c {
				c[t][3] = 0
			}
			return s, c
		}, nil, "channel 3 is constant (0 per bin)"},
		{"constant state", func(s, c [][]float64) ([][]float64, [][]float64) {
			for t := range s {
				s[t][0] = 7
			}
			return s, c
		}, nil, "state column 0 (x) is constant"},
		{"negative count", func(s, c [][]float64) ([][]float64, [][]float64) { c[8][1] = -1; return s, c }, nil, "counts[8][1] is -1"},
		{"NaN state", func(s, c [][]float64) ([][]float64, [][]float64) { s[4][0] = math.NaN(); return s, c }, nil, "states[4][0] is NaN"},
		{"ragged", func(s, c [][]float64) ([][]float64, [][]float64) { c[5] = c[5][:2]; return s, c }, nil, "counts[5] has 2 values, want 6"},
		{"rows", func(s, c [][]float64) ([][]float64, [][]float64) { return s, c[:300] }, nil, "400 state rows but 300 count rows"},
		{"columns", func(s, c [][]float64) ([][]float64, [][]float64) {
			for t := range s {
				s[t] = append(s[t], 1)
			}
			return s, c
		}, nil, "states have 2 columns, want 1"},
		{"bad config", nil, func(c *PoissonConfig) { c.Prior = "x" }, `prior: unknown "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, c := clone()
			if tc.mutate != nil {
				s, c = tc.mutate(s, c)
			}
			cfg := DefaultPoissonConfig()
			cfg.Axes = axes
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			p, err := FitPoisson(s, c, 0.05, cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := NewPoisson(p); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "poisson fit: ") {
				t.Fatalf("err = %v, want \"poisson fit: …%s…\"", err, tc.want)
			}
		})
	}
	// Classes: a class without examples, a label that is not a class.
	states := make([][]float64, 20)
	counts := make([][]float64, 20)
	for i := range states {
		states[i] = []float64{float64(i % 2)}
		counts[i] = []float64{float64(i % 3), float64(i % 4)}
	}
	cfg := DefaultPoissonConfig()
	cfg.Classes = []string{"a", "b", "c"}
	if _, err := FitPoisson(states, counts, 0.1, cfg); err == nil || !strings.Contains(err.Error(), "class 2 (c) has no examples") {
		t.Errorf("err = %v", err)
	}
	states[3][0] = 1.5
	if _, err := FitPoisson(states, counts, 0.1, cfg); err == nil || !strings.Contains(err.Error(), "states[3][0] = 1.5 is not a class index") {
		t.Errorf("err = %v", err)
	}
	if _, err := FitPoisson(states, counts, 0, cfg); err == nil || !strings.Contains(err.Error(), "bin duration 0 s") {
		t.Errorf("err = %v", err)
	}
}

func TestPoissonDecodeErrors(t *testing.T) {
	p := &PoissonParams{Classes: []string{"a", "b"}, Tuning: TuningHistogram, BinWidth: 20, Rate: 1000,
		RatesHz: []float64{5, 1, 2, 8}, Prior: PriorFlat, Estimate: EstimateMean}
	dec, err := NewPoisson(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		bin  *Bin
		want string
	}{
		{"nil", nil, "poisson: nil bin"},
		{"channels", &Bin{Seq: 3, Width: 20, Rate: 1000, Counts: []float64{1}}, "bin seq 3 has 1 channels, want 2"},
		{"width", &Bin{Seq: 3, Width: 10, Rate: 1000, Counts: []float64{1, 1}}, "10 frames wide"},
		{"rate", &Bin{Seq: 3, Width: 20, Rate: 2000, Counts: []float64{1, 1}}, "at 2000 Hz"},
		{"nan", &Bin{Seq: 3, Width: 20, Rate: 1000, Counts: []float64{1, math.NaN()}}, "counts[1] is NaN"},
		{"negative", &Bin{Seq: 3, Width: 20, Rate: 1000, Counts: []float64{-1, 0}}, "counts[0] is -1, must be ≥ 0"},
	} {
		var est Estimate
		if err := dec.Decode(&est, tc.bin); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := NewPoisson(nil); err == nil {
		t.Error("nil params accepted")
	}
	bad := *p
	bad.RatesHz = []float64{5, 0, 2}
	if _, err := NewPoisson(&bad); err == nil || !strings.Contains(err.Error(), "rates_hz: has 3 values") {
		t.Errorf("err = %v", err)
	}
	bad.RatesHz = []float64{5, 0, 2, 1}
	if _, err := NewPoisson(&bad); err == nil || !strings.Contains(err.Error(), "rates_hz: value 1 (unit 0, point 1) is 0") {
		t.Errorf("err = %v", err)
	}
}

func TestPoissonParamsRoundTrip(t *testing.T) {
	states, counts, _ := placeData(3000, 8, 0.05, 31)
	cfg := DefaultPoissonConfig()
	cfg.Axes = []GridAxis{{Name: "x", Min: 0, Max: 100, Points: 51}}
	cfg.Prior = PriorContinuity
	p, err := FitPoisson(states, counts, 0.05, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WritePoissonParams(&buf, p); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte(`{"format":"bciloop.poisson","version":1,"units":8,"points":51,`)) {
		t.Errorf("header: %.80s", buf.Bytes())
	}
	q, err := ReadPoissonParams(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatal("parameters differ after a round trip")
	}
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"format", `"bciloop.poisson"`, `"bciloop.kalman"`, `format: "bciloop.kalman"`},
		{"version", `"version":1`, `"version":2`, "version: 2 is not supported"},
		{"units", `"units":8`, `"units":9`, "units, points: 9 and 51"},
		{"unknown", `"units":8`, `"units":8,"extra":1`, `unknown field "extra"`},
		{"prior", `"prior":"continuity"`, `"prior":"none"`, `prior: unknown "none"`},
	} {
		data := strings.Replace(buf.String(), tc.from, tc.to, 1)
		if _, err := ReadPoissonParams(strings.NewReader(data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := ReadPoissonParams(strings.NewReader(buf.String() + "{}")); err == nil || !strings.Contains(err.Error(), "trailing data") {
		t.Errorf("trailing: err = %v", err)
	}
}

func FuzzReadPoissonParams(f *testing.F) {
	p := &PoissonParams{Axes: []GridAxis{{Name: "x", Max: 1, Points: 3}}, Tuning: TuningHistogram, BinWidth: 20, Rate: 1000,
		RatesHz: []float64{1, 2, 3}, Prior: PriorContinuity, TransitionSD: []float64{0.2}, Estimate: EstimateMAP}
	var buf bytes.Buffer
	if err := WritePoissonParams(&buf, p); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"format":"bciloop.poisson","version":1,"classes":["a","b"],"rates_hz":[1,2]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadPoissonParams(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever reads back is a usable decoder that writes back the
		// same parameters.
		if _, err := NewPoisson(p); err != nil {
			t.Fatalf("read params but NewPoisson fails: %v", err)
		}
		var out bytes.Buffer
		if err := WritePoissonParams(&out, p); err != nil {
			t.Fatal(err)
		}
		q, err := ReadPoissonParams(&out)
		if err != nil || !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func TestPoissonDeterministic(t *testing.T) {
	run := func() []float64 {
		states, counts, _ := placeData(2500, 10, 0.05, 41)
		cfg := DefaultPoissonConfig()
		cfg.Axes = []GridAxis{{Name: "x", Min: 0, Max: 100, Points: 41}}
		cfg.Prior, cfg.Tuning = PriorContinuity, TuningGaussian
		p, err := FitPoisson(states[:2000], counts[:2000], 0.05, cfg)
		if err != nil {
			t.Fatal(err)
		}
		dec, _ := NewPoisson(p)
		return decodeErrors(t, dec, states[2000:], counts[2000:], 0.05)
	}
	a, b := run(), run()
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			t.Fatalf("value %d differs: %v vs %v", i, a[i], b[i])
		}
	}
}

// poissonBench builds a decoder with units units over a grid of points
// points (1-D, or 2-D as a square) with random tuning, and bins with
// counts of mean about 0.3 per unit (15 Hz in 20 ms bins).
func poissonBench(units, points, dims int, prior string) (*Poisson, []Bin) {
	rng := rand.New(rand.NewPCG(51, 52))
	var axes []GridAxis
	if dims == 1 {
		axes = []GridAxis{{Name: "x", Min: 0, Max: 1, Points: points}}
	} else {
		side := int(math.Round(math.Sqrt(float64(points))))
		axes = []GridAxis{{Name: "x", Min: 0, Max: 1, Points: side}, {Name: "y", Min: 0, Max: 1, Points: side}}
	}
	p := &PoissonParams{Axes: axes, Tuning: TuningHistogram, BinWidth: 20, Rate: 1000, Prior: prior, Estimate: EstimateMean}
	K := p.Points()
	for i := 0; i < units*K; i++ {
		p.RatesHz = append(p.RatesHz, 5+20*rng.Float64())
	}
	if prior == PriorContinuity {
		for _, a := range axes {
			p.TransitionSD = append(p.TransitionSD, 3*a.Step()) // a 25-point kernel per axis
		}
	}
	dec, err := NewPoisson(p)
	if err != nil {
		panic(err)
	}
	bins := make([]Bin, 64)
	for b := range bins {
		c := make([]float64, units)
		for i := range c {
			c[i] = poissonDraw(rng, 0.3)
		}
		bins[b] = Bin{Seq: uint64(b), Width: 20, Rate: 1000, Counts: c}
	}
	return dec, bins
}

func BenchmarkPoissonDecode(b *testing.B) {
	for _, tc := range []struct {
		points, dims int
		prior        string
	}{{1000, 1, PriorFlat}, {1000, 1, PriorContinuity}, {1024, 2, PriorFlat}, {1024, 2, PriorContinuity}} {
		b.Run(fmt.Sprintf("units=100/points=%d/dims=%d/prior=%s", tc.points, tc.dims, tc.prior), func(b *testing.B) {
			dec, bins := poissonBench(100, tc.points, tc.dims, tc.prior)
			var est Estimate
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := dec.Decode(&est, &bins[i&63]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
