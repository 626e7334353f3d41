package model

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestTuningCurves(t *testing.T) {
	ln2 := math.Ln2
	vmHalf := math.Acos(1 - ln2/4) // von Mises half width at half height, κ = 4
	tests := []struct {
		name string
		tc   TuningCurve
		s    float64
		want float64
	}{
		{"cosine/preferred", CosineTuning{Baseline: 20, Depth: 15, Preferred: 1}, 1, 35},
		{"cosine/orthogonal", CosineTuning{Baseline: 20, Depth: 15, Preferred: 1}, 1 + math.Pi/2, 20},
		{"cosine/anti", CosineTuning{Baseline: 20, Depth: 15, Preferred: 1}, 1 + math.Pi, 5},
		{"cosine/rectified", CosineTuning{Baseline: 10, Depth: 30, Preferred: 0}, math.Pi, 0},
		{"gaussian/peak", GaussianTuning{Baseline: 2, Peak: 40, Preferred: 0.5, Width: 0.2}, 0.5, 42},
		// Half height at s_p ± σ√(2 ln 2).
		{"gaussian/half", GaussianTuning{Baseline: 2, Peak: 40, Preferred: 0.5, Width: 0.2}, 0.5 + 0.2*math.Sqrt(2*ln2), 22},
		{"vonmises/peak", VonMisesTuning{Baseline: 1, Peak: 30, Preferred: -2, Kappa: 4}, -2, 31},
		{"vonmises/half", VonMisesTuning{Baseline: 1, Peak: 30, Preferred: -2, Kappa: 4}, -2 + vmHalf, 16},
		{"vonmises/anti", VonMisesTuning{Baseline: 1, Peak: 30, Preferred: -2, Kappa: 4}, -2 + math.Pi, 1 + 30*math.Exp(-8)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tc.Rate(tt.s); math.Abs(got-tt.want) > 1e-12*math.Max(1, tt.want) {
				t.Errorf("Rate(%g) = %.15g, want %.15g", tt.s, got, tt.want)
			}
		})
	}
}

func TestTuningValidate(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want []string // every field named
	}{
		{"cosine ok", CosineTuning{Baseline: 1, Depth: 1}.Validate(), nil},
		{"cosine bad", CosineTuning{Baseline: math.NaN(), Depth: -1, Preferred: math.Inf(1)}.Validate(),
			[]string{"Baseline:", "Depth:", "Preferred:"}},
		{"gaussian bad", GaussianTuning{Baseline: -1, Peak: 1, Width: 0}.Validate(), []string{"Baseline:", "Width:"}},
		{"vonmises bad", VonMisesTuning{Peak: math.NaN(), Kappa: -2}.Validate(), []string{"Peak:", "Kappa:"}},
		{"gaussian kernel", GaussianKernel{Sigma: 0}.Validate(), []string{"Sigma:"}},
		{"exp kernel", ExponentialKernel{Tau: -1}.Validate(), []string{"Tau:"}},
		{"alpha kernel", AlphaKernel{Alpha: math.NaN()}.Validate(), []string{"Alpha:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil {
				if tt.err != nil {
					t.Fatalf("unexpected error %v", tt.err)
				}
				return
			}
			if tt.err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(tt.err.Error(), w) {
					t.Errorf("error %q does not name %q", tt.err, w)
				}
			}
		})
	}
}

func TestPopulationVector(t *testing.T) {
	// Noise-free cosine rates with uniformly spread preferred directions: the
	// population vector points at the movement direction and has length N/2.
	const n = 12
	cells := make([]CosineTuning, n)
	for i := range cells {
		cells[i] = CosineTuning{Baseline: 30, Depth: 20, Preferred: 2 * math.Pi * float64(i) / n}
	}
	rates := make([]float64, n)
	for _, theta := range []float64{0, 0.7, 2.5, -1.3, 3.1} {
		for i, c := range cells {
			rates[i] = c.Rate(theta)
		}
		ang, length := PopulationVector(rates, cells)
		if d := math.Remainder(ang-theta, 2*math.Pi); math.Abs(d) > 1e-12 {
			t.Errorf("θ=%g: angle %g", theta, ang)
		}
		if math.Abs(length-n/2) > 1e-12 {
			t.Errorf("θ=%g: length %g, want %d", theta, length, n/2)
		}
	}
}

func TestHomogeneousPoisson(t *testing.T) {
	// Counts of a Poisson process: mean = variance = rate·T.
	const rate, dur, trials = 40.0, 2.0, 400
	g := NewSpikeGenerator(7)
	counts := make([]float64, trials)
	var buf []float64
	for i := range counts {
		var err error
		buf, err = g.Homogeneous(buf[:0], rate, 0, dur)
		if err != nil {
			t.Fatal(err)
		}
		counts[i] = float64(len(buf))
	}
	mean, fano := meanVariance(counts)
	fano /= mean
	// Standard error of the mean over 400 trials: √(80/400) = 0.45; allow 4 SE.
	if math.Abs(mean-rate*dur) > 4*math.Sqrt(rate*dur/trials) {
		t.Errorf("mean count %g, want %g", mean, rate*dur)
	}
	// Fano factor of Poisson counts is 1; its SE over 400 trials is ≈ √(2/399) = 0.071.
	if math.Abs(fano-1) > 0.3 {
		t.Errorf("Fano %g, want 1", fano)
	}
	a, _ := NewSpikeGenerator(3).Homogeneous(nil, rate, 0, dur)
	b, _ := NewSpikeGenerator(3).Homogeneous(nil, rate, 0, dur)
	c, _ := NewSpikeGenerator(4).Homogeneous(nil, rate, 0, dur)
	if !slices.Equal(a, b) {
		t.Error("same seed gave different trains")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds gave the same train")
	}
	if _, err := g.Homogeneous(nil, -1, 1, 0); err == nil || !strings.Contains(err.Error(), "rate:") || !strings.Contains(err.Error(), "t1:") {
		t.Errorf("bad parameters: %v", err)
	}
}

func TestInhomogeneousTimeRescaling(t *testing.T) {
	// Time-rescaling theorem (Brown et al. 2002): the rescaled intervals
	// Λ(t_k) − Λ(t_{k−1}) of an inhomogeneous Poisson process are Exp(1).
	// Kolmogorov–Smirnov at α = 0.01: D < 1.63/√n.
	const r0, r1, f = 30.0, 25.0, 3.0
	rate := func(t float64) float64 { return r0 + r1*math.Sin(2*math.Pi*f*t) }
	lambda := func(t float64) float64 { return r0*t + r1*(1-math.Cos(2*math.Pi*f*t))/(2*math.Pi*f) }
	sp, err := NewSpikeGenerator(11).Inhomogeneous(nil, rate, r0+r1, 0, 60)
	if err != nil {
		t.Fatal(err)
	}
	u := make([]float64, 0, len(sp))
	prev := 0.0
	for _, s := range sp {
		u = append(u, lambda(s)-lambda(prev))
		prev = s
	}
	sort.Float64s(u)
	var d float64
	n := float64(len(u))
	for i, x := range u {
		cdf := 1 - math.Exp(-x)
		d = max(d, math.Abs(cdf-float64(i)/n), math.Abs(cdf-float64(i+1)/n))
	}
	if crit := 1.63 / math.Sqrt(n); d > crit {
		t.Errorf("KS D = %g > %g (n = %d)", d, crit, len(u))
	}
	// The count matches Λ(T) = 1800 within 4 Poisson SD (√1800 = 42).
	if want := lambda(60); math.Abs(n-want) > 4*math.Sqrt(want) {
		t.Errorf("count %g, want %g", n, want)
	}
	if _, err := NewSpikeGenerator(1).Inhomogeneous(nil, rate, 10, 0, 1); err == nil {
		t.Error("rate above rateMax accepted")
	}
}

func TestGammaRenewal(t *testing.T) {
	// Gamma renewal of order k: ISI CV = 1/√k; Fano factor of long counting
	// windows → CV² (Cox 1962).
	for _, k := range []int{1, 4} {
		sp, err := NewSpikeGenerator(uint64(k)).Gamma(nil, 50, k, 0, 400)
		if err != nil {
			t.Fatal(err)
		}
		cv, err := ISICV(sp)
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 / math.Sqrt(float64(k)); math.Abs(cv-want) > 0.03*want {
			t.Errorf("k=%d: CV %g, want %g ±3%%", k, cv, want)
		}
		counts, _ := SpikeCountsTo(make([]float64, 200), sp, 0, 2) // 100 spikes per window
		ff, err := FanoFactor(counts)
		if err != nil {
			t.Fatal(err)
		}
		// SE of a variance ratio over 200 windows ≈ √(2/199) = 10 %; allow 30 %.
		if want := 1 / float64(k); math.Abs(ff-want) > 0.3*want {
			t.Errorf("k=%d: Fano %g, want %g", k, ff, want)
		}
	}
}

func TestRateEstimators(t *testing.T) {
	// A regular 10 Hz train, spikes at 0.05 + 0.1 k.
	var reg []float64
	for k := range 100 {
		reg = append(reg, 0.05+0.1*float64(k))
	}
	binned, err := BinnedRateTo(make([]float64, 20), reg, 0, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range binned {
		if math.Abs(r-10) > 1e-9 {
			t.Fatalf("binned[%d] = %g, want 10", i, r)
		}
	}
	// A 0.3 s causal window always holds exactly 3 spikes once t ≥ 0.25.
	win, err := WindowRateTo(make([]float64, 900), reg, 0.305, 0.01, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range win {
		if math.Abs(r-10) > 1e-9 {
			t.Fatalf("window[%d] = %g, want 10", i, r)
		}
	}
	if _, err := WindowRateTo(make([]float64, 3), []float64{2, 1}, 0, 0.1, 0.1); err == nil {
		t.Error("unsorted spikes accepted")
	}

	kernels := []struct {
		name string
		k    RateKernel
	}{
		{"gaussian", GaussianKernel{Sigma: 0.02}},
		{"exponential", ExponentialKernel{Tau: 0.03}},
		{"alpha", AlphaKernel{Alpha: 50}},
	}
	for _, kt := range kernels {
		t.Run(kt.name, func(t *testing.T) {
			// One spike: the estimate is the kernel itself, with unit integral.
			const dt = 1e-4
			one, err := KernelRateTo(make([]float64, 20000), []float64{1}, 0, dt, kt.k)
			if err != nil {
				t.Fatal(err)
			}
			lo, hi := kt.k.Support()
			var sum float64
			for i, r := range one {
				sum += r * dt
				tau := float64(i)*dt - 1
				want := kt.k.Weight(tau)
				if tau < lo-dt || tau > hi+dt {
					want = 0 // truncated
				} else if tau < lo+dt || tau > hi-dt {
					continue // the truncation edge, within one sample
				}
				if math.Abs(r-want) > 1e-9 {
					t.Fatalf("r[%d] = %g, want %g", i, r, want)
				}
			}
			// Riemann sum of a kernel with a jump at 0 (exponential): error ≤ w(0)·dt/2 = 1.7e-3.
			if math.Abs(sum-1) > 2e-3 {
				t.Errorf("integral %g, want 1", sum)
			}
			// A 50 Hz Poisson train: mean estimate over 20 s is 50 Hz
			// (SE √(50/20) = 1.6 Hz; allow 4 SE).
			sp, _ := NewSpikeGenerator(5).Homogeneous(nil, 50, 0, 21)
			est, _ := KernelRateTo(make([]float64, 2000), sp, 0.5, 0.01, kt.k)
			m, _ := meanVariance(est)
			if math.Abs(m-50) > 6.4 {
				t.Errorf("mean estimate %g, want 50", m)
			}
		})
	}
}

func TestEventPhase(t *testing.T) {
	// Reference events every 0.125 s (8 Hz), jittered period so the
	// normalisation matters; spikes at a quarter of each cycle → φ = π/2.
	events := []float64{0}
	for k := range 40 {
		events = append(events, events[len(events)-1]+0.1+0.005*float64(k%5))
	}
	var spikes []float64
	for k := 0; k+1 < len(events); k++ {
		spikes = append(spikes, events[k]+0.25*(events[k+1]-events[k]))
	}
	spikes = append(spikes, -1, events[len(events)-1]+0.01)
	ph, err := EventPhaseTo(make([]float64, len(spikes)), spikes, events)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ph[:len(ph)-2] {
		if math.Abs(p-math.Pi/2) > 1e-12 {
			t.Errorf("phase[%d] = %g, want π/2", i, p)
		}
	}
	if !math.IsNaN(ph[len(ph)-1]) || !math.IsNaN(ph[len(ph)-2]) {
		t.Errorf("out-of-range spikes got %g, %g, want NaN", ph[len(ph)-2], ph[len(ph)-1])
	}
	mean, r := CircularMean(ph)
	if math.Abs(mean-math.Pi/2) > 1e-12 || math.Abs(r-1) > 1e-12 {
		t.Errorf("circular mean %g, R %g", mean, r)
	}
	if _, err := EventPhaseTo(make([]float64, 1), []float64{0.5}, []float64{0, 1, 1}); err == nil {
		t.Error("non-increasing events accepted")
	}
}

func TestHilbert(t *testing.T) {
	const n, fs = 2000, 1000.0
	h := NewHilbert(n)
	x := make([]float64, n)
	z := make([]complex128, n)
	phase := make([]float64, n)
	env := make([]float64, n)
	// A cosine with a whole number of cycles: phase = ωt + φ₀ exactly.
	for i := range x {
		x[i] = 2 * math.Cos(2*math.Pi*5*float64(i)/fs+0.3)
	}
	h.PhaseTo(phase, z, x)
	h.EnvelopeTo(env, z, x)
	for i := range x {
		want := 2*math.Pi*5*float64(i)/fs + 0.3
		if d := math.Remainder(phase[i]-want, 2*math.Pi); math.Abs(d) > 1e-9 {
			t.Fatalf("phase[%d] = %g, want %g", i, phase[i], want)
		}
		if math.Abs(env[i]-2) > 1e-9 {
			t.Fatalf("envelope[%d] = %g, want 2", i, env[i])
		}
	}
	// Bedrosian: the envelope of (1 + 0.5 cos 2πt) cos 2π·20t is 1 + 0.5 cos 2πt.
	for i := range x {
		ti := float64(i) / fs
		x[i] = (1 + 0.5*math.Cos(2*math.Pi*ti)) * math.Cos(2*math.Pi*20*ti)
	}
	h.EnvelopeTo(env, z, x)
	for i := range x {
		if want := 1 + 0.5*math.Cos(2*math.Pi*float64(i)/fs); math.Abs(env[i]-want) > 1e-9 {
			t.Fatalf("AM envelope[%d] = %g, want %g", i, env[i], want)
		}
	}
	if a := testing.AllocsPerRun(20, func() { h.AnalyticTo(z, x) }); a != 0 {
		t.Errorf("AnalyticTo allocates %g times", a)
	}
}

func TestSpikePhaseLocking(t *testing.T) {
	// Spikes of a Poisson neuron whose rate follows the phase of an 8 Hz
	// oscillation, r = r₀(1 + m cos φ). The phase density is (1 + m cos φ)/2π,
	// so the mean phase is 0 and the vector strength is E[cos φ] = m/2.
	const fs, dur, f, r0, m = 1000.0, 100.0, 8.0, 100.0, 0.6
	n := int(dur * fs)
	x := make([]float64, n)
	for i := range x {
		x[i] = math.Cos(2 * math.Pi * f * float64(i) / fs)
	}
	h := NewHilbert(n)
	z := h.AnalyticTo(make([]complex128, n), x)
	sp, err := NewSpikeGenerator(21).Inhomogeneous(nil, func(t float64) float64 {
		return r0 * (1 + m*math.Cos(2*math.Pi*f*t))
	}, r0*(1+m), 0, dur-0.01)
	if err != nil {
		t.Fatal(err)
	}
	ph, err := SpikePhaseTo(make([]float64, len(sp)), sp, z, 0, fs)
	if err != nil {
		t.Fatal(err)
	}
	mean, r := CircularMean(ph)
	// R's SE is ≈ √(1/(2n)) = 0.0022 for n ≈ 10⁴ spikes; the mean phase's ≈ SE/R.
	if math.Abs(r-m/2) > 0.015 {
		t.Errorf("vector strength %g, want %g", r, m/2)
	}
	if math.Abs(mean) > 0.05 {
		t.Errorf("mean phase %g, want 0", mean)
	}
	// Exact locking: spikes at a quarter cycle have phase π/2 (interpolation
	// error of the chord is O((2πf/fs)³) ≈ 1e-4).
	locked := []float64{0.03125, 1.53125, 50.40625}
	ph, _ = SpikePhaseTo(make([]float64, 3), locked, z, 0, fs)
	for i, p := range ph {
		if math.Abs(p-math.Pi/2) > 2e-4 {
			t.Errorf("locked spike %d phase %g, want π/2", i, p)
		}
	}
}

func ExampleEventPhaseTo() {
	events := []float64{0, 0.1, 0.3}
	spikes := []float64{0.025, 0.2, 0.35}
	ph, _ := EventPhaseTo(make([]float64, 3), spikes, events)
	for _, p := range ph {
		fmt.Printf("%.4f ", p/math.Pi)
	}
	fmt.Println()
	// Output: 0.5000 1.0000 NaN
}

func ExampleCosineTuning() {
	c := CosineTuning{Baseline: 20, Depth: 10, Preferred: math.Pi / 2}
	for _, deg := range []float64{0, 90, 180, 270} {
		fmt.Printf("%3.0f° %4.1f Hz\n", deg, c.Rate(deg*math.Pi/180))
	}
	// Output:
	//   0° 20.0 Hz
	//  90° 30.0 Hz
	// 180° 20.0 Hz
	// 270° 10.0 Hz
}
