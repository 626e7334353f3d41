package model

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestSpikeTrainStats(t *testing.T) {
	var reg []float64
	for k := range 50 {
		reg = append(reg, 0.02*float64(k))
	}
	if cv, err := ISICV(reg); err != nil || math.Abs(cv) > 1e-9 {
		t.Errorf("regular train CV = %g, %v; want 0", cv, err)
	}
	if r, err := MeanRate(reg, 0, 1); err != nil || r != 50 {
		t.Errorf("rate = %g, %v; want 50", r, err)
	}
	// Poisson: CV = 1; over ~8000 intervals its SE is ≈ 1/√8000 ≈ 0.011.
	sp, _ := NewSpikeGenerator(2).Homogeneous(nil, 40, 0, 200)
	if cv, err := ISICV(sp); err != nil || math.Abs(cv-1) > 0.04 {
		t.Errorf("Poisson CV = %g, %v; want 1", cv, err)
	}
	if _, err := ISICV([]float64{1, 0.5, 2}); err == nil {
		t.Error("unsorted spikes accepted")
	}
	if _, err := FanoFactor([]float64{0, 0, 0}); err == nil {
		t.Error("zero-mean counts accepted")
	}
}

func TestGolombRinzelChi(t *testing.T) {
	// N traces V_i = s(t) + η_i(t), Var s = 1, Var η = σ²: χ² = (1 + σ²/N)/(1 + σ²).
	const n, m = 20, 4000
	rng := newCodingRand(9)
	common := make([]float64, m)
	for j := range common {
		common[j] = rng.NormFloat64()
	}
	for _, tc := range []struct{ sigma, want float64 }{
		{0, 1},
		{1, math.Sqrt((1 + 1.0/n) / 2)},
		{1e6, math.Sqrt(1.0 / n)}, // effectively independent
	} {
		traces := make([][]float64, n)
		for i := range traces {
			traces[i] = make([]float64, m)
			for j := range traces[i] {
				traces[i][j] = common[j] + tc.sigma*rng.NormFloat64()
			}
		}
		chi, err := GolombRinzelChi(traces)
		if err != nil {
			t.Fatal(err)
		}
		// Sampling error of variances over 4000 samples: ≈ √(2/4000) = 2.2 %.
		if math.Abs(chi-tc.want) > 0.05*tc.want {
			t.Errorf("σ=%g: χ = %g, want %g", tc.sigma, chi, tc.want)
		}
	}
}

func TestCountCorrelation(t *testing.T) {
	// Two trains sharing a common Poisson source: a = A + C, b = B + C with
	// rates λ, λ, λ_c gives ρ = λ_c / (λ + λ_c) for any window.
	const lam, lamC, dur, win = 30.0, 10.0, 2000.0, 1.0
	g := NewSpikeGenerator(13)
	c, _ := g.Homogeneous(nil, lamC, 0, dur)
	a, _ := g.Homogeneous(nil, lam, 0, dur)
	b, _ := g.Homogeneous(nil, lam, 0, dur)
	a = append(a, c...)
	b = append(b, c...)
	na, _ := SpikeCountsTo(make([]float64, int(dur/win)), a, 0, win)
	nb, _ := SpikeCountsTo(make([]float64, int(dur/win)), b, 0, win)
	rho, err := CountCorrelation(na, nb)
	if err != nil {
		t.Fatal(err)
	}
	// SE of r over 2000 windows: (1 − ρ²)/√2000 = 0.021; allow 4 SE.
	if want := lamC / (lam + lamC); math.Abs(rho-want) > 0.085 {
		t.Errorf("ρ = %g, want %g", rho, want)
	}
}

func TestWelch(t *testing.T) {
	const fs, n = 1000.0, 1 << 16
	w, err := NewWelch(512, 256, fs)
	if err != nil {
		t.Fatal(err)
	}
	psd := make([]float64, w.Len())
	freqs := w.FreqsTo(make([]float64, w.Len()))
	df := freqs[1]
	x := make([]float64, n)

	// White noise of variance 1: one-sided PSD 2σ²/f_s = 0.002 /Hz.
	rng := newCodingRand(4)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	segs, err := w.PSDTo(psd, x)
	if err != nil {
		t.Fatal(err)
	}
	if segs != (n-512)/256+1 {
		t.Errorf("segments %d", segs)
	}
	var mean float64
	for _, p := range psd[1 : len(psd)-1] {
		mean += p
	}
	mean /= float64(len(psd) - 2)
	// 255 bins × 255 segments (half-correlated): the average is within ~0.5 %.
	if math.Abs(mean-2/fs) > 0.03*2/fs {
		t.Errorf("white-noise PSD %g, want %g", mean, 2/fs)
	}

	// A sinusoid of amplitude A on a bin: peak at its frequency and
	// Σ P Δf = A²/2 (Parseval).
	const amp, f0 = 2.0, 50.78125 // 26 × f_s/512
	for i := range x {
		x[i] = amp * math.Sin(2*math.Pi*f0*float64(i)/fs)
	}
	if _, err := w.PSDTo(psd, x); err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, p := range psd {
		total += p * df
	}
	if math.Abs(total-amp*amp/2) > 0.01*amp*amp/2 {
		t.Errorf("total power %g, want %g", total, amp*amp/2)
	}
	if k := argmaxF(psd); freqs[k] != f0 {
		t.Errorf("peak at %g Hz, want %g", freqs[k], f0)
	}
	if a := testing.AllocsPerRun(5, func() { w.PSDTo(psd, x[:4096]) }); a != 0 {
		t.Errorf("PSDTo allocates %g", a)
	}

	_, err = NewWelch(2, 5, -1)
	for _, f := range []string{"segment:", "overlap:", "fs:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("NewWelch error %v does not name %s", err, f)
		}
	}
}

func argmaxF(x []float64) int {
	k := 0
	for i, v := range x {
		if v > x[k] {
			k = i
		}
	}
	return k
}

func TestTriadTables(t *testing.T) {
	// The 16 classes partition the 64 labelled graphs; the orbit sizes are
	// the known automorphism quotients 3!/|Aut| (Holland & Leinhardt 1976).
	want := [16]int{1, 6, 3, 3, 3, 6, 6, 6, 6, 2, 3, 3, 3, 6, 6, 1}
	if triadOrbit != want {
		t.Errorf("orbits %v, want %v", triadOrbit, want)
	}
	// Each representative is classified as itself.
	for k, rep := range triadReps {
		g := NewDigraph(3)
		for _, e := range rep {
			g.Adj[e[0]*3+e[1]] = true
		}
		c := g.TriadCensus()
		if c[k] != 1 {
			t.Errorf("%s classified as %v", TriadNames[k], c)
		}
	}
}

func TestTriadCensusSmall(t *testing.T) {
	// A directed 3-cycle plus an isolated node and a feed-forward loop on
	// nodes 3,4,5: hand-counted census.
	g := NewDigraph(6)
	for _, e := range [][2]int{{0, 1}, {1, 2}, {2, 0}, {3, 4}, {4, 5}, {3, 5}} {
		g.Adj[e[0]*6+e[1]] = true
	}
	c := g.TriadCensus()
	idx := func(name string) int { return slices.Index(TriadNames[:], name) }
	// Triples: {0,1,2} cycle; {3,4,5} FFL (030T); triples with one node from
	// each group: 2 from the cycle + 1 from FFL: 3 pairs × 3 = 9 triples with
	// one edge (012); 1 from the cycle + 2 from the FFL: 3 × 3 = 9 (012).
	if c[idx("030C")] != 1 || c[idx("030T")] != 1 || c[idx("012")] != 18 || c[idx("003")] != 0 {
		t.Errorf("census %v", c)
	}
	var sum int
	for _, v := range c {
		sum += v
	}
	if sum != 20 {
		t.Errorf("census sums to %d, want C(6,3) = 20", sum)
	}
}

func TestErdosRenyiStatistics(t *testing.T) {
	// Directed G(n, p): reciprocity p, in/out degree Binomial(n−1, p), triad
	// census C(n,3)·|orbit|·pᵉ(1−p)^{6−e}. Averaged over seeds, each class
	// count lies within 4 standard errors of its expectation.
	const n, p, seeds = 60, 0.15, 20
	exp := ERTriadExpectation(n, p)
	var sum, sumSq [16]float64
	var recip, degMean, degVar float64
	in, out := make([]int, n), make([]int, n)
	for s := range seeds {
		g, err := ErdosRenyi(n, p, uint64(s))
		if err != nil {
			t.Fatal(err)
		}
		c := g.TriadCensus()
		for k, v := range c {
			sum[k] += float64(v)
			sumSq[k] += float64(v) * float64(v)
		}
		recip += g.Reciprocity()
		g.DegreesTo(in, out)
		d := make([]float64, n)
		for i, v := range in {
			d[i] = float64(v)
		}
		m, v := meanVariance(d)
		degMean += m
		degVar += v
	}
	for k := range sum {
		m := sum[k] / seeds
		sd := math.Sqrt(max(0, sumSq[k]/seeds-m*m) * seeds / (seeds - 1))
		if math.Abs(m-exp[k]) > 4*sd/math.Sqrt(seeds)+1 {
			t.Errorf("%s: mean count %.1f, ER expectation %.1f (sd %.1f)", TriadNames[k], m, exp[k], sd)
		}
	}
	// Reciprocity: SE of the mean over 20 graphs with ~530 edges each is
	// ≈ √(p(1−p)/530/20) = 0.0035.
	if r := recip / seeds; math.Abs(r-p) > 0.015 {
		t.Errorf("reciprocity %g, want %g", r, p)
	}
	if m := degMean / seeds; math.Abs(m-(n-1)*p) > 0.3 {
		t.Errorf("mean in-degree %g, want %g", m, (n-1)*p)
	}
	if v := degVar / seeds; math.Abs(v-(n-1)*p*(1-p)) > 0.2*(n-1)*p*(1-p) {
		t.Errorf("in-degree variance %g, want %g", v, (n-1)*p*(1-p))
	}
	if _, err := ErdosRenyi(0, 2, 1); err == nil || !strings.Contains(err.Error(), "n:") || !strings.Contains(err.Error(), "p:") {
		t.Errorf("bad parameters: %v", err)
	}
}

func TestDegreeHistogram(t *testing.T) {
	// In-degrees of directed G(n, p) follow Binomial(n−1, p): Pearson χ² over
	// the bins with expectation ≥ 5 (tails pooled) stays below the 0.1 %
	// critical value, approximated by df + 3.1·√(2 df).
	const n, p = 600, 0.05
	g, err := ErdosRenyi(n, p, 17)
	if err != nil {
		t.Fatal(err)
	}
	in, out := make([]int, n), make([]int, n)
	g.DegreesTo(in, out)
	hist := DegreeHistogramTo(make([]int, n), in)
	pmf := func(k int) float64 {
		lg, _ := math.Lgamma(float64(n))
		lk, _ := math.Lgamma(float64(k + 1))
		lnk, _ := math.Lgamma(float64(n - k))
		return math.Exp(lg - lk - lnk + float64(k)*math.Log(p) + float64(n-1-k)*math.Log(1-p))
	}
	// Pool consecutive degrees into bins of expectation ≥ 5; the remainder
	// joins the last bin.
	var obs, exp []float64
	var accO, accE float64
	for k := range n {
		accO += float64(hist[k])
		accE += n * pmf(k)
		if accE >= 5 {
			obs, exp = append(obs, accO), append(exp, accE)
			accO, accE = 0, 0
		}
	}
	obs[len(obs)-1] += accO
	exp[len(exp)-1] += accE
	var chi2 float64
	for i := range obs {
		chi2 += (obs[i] - exp[i]) * (obs[i] - exp[i]) / exp[i]
	}
	df := len(obs) - 1
	if crit := float64(df) + 3.1*math.Sqrt(2*float64(df)); chi2 > crit {
		t.Errorf("χ² = %.1f with %d df > %.1f", chi2, df, crit)
	}
	t.Logf("χ² = %.1f, df = %d", chi2, df)
	if e := g.Edges(); sumInts(hist) != n || float64(e) != sumInts(in) {
		t.Errorf("edges %d, Σ in-degree %g", e, sumInts(in))
	}
}

func sumInts(x []int) float64 {
	var s int
	for _, v := range x {
		s += v
	}
	return float64(s)
}

func ExampleDigraph_TriadCensus() {
	// A feed-forward loop 0→1→2, 0→2.
	g := NewDigraph(3)
	g.Adj[0*3+1], g.Adj[1*3+2], g.Adj[0*3+2] = true, true, true
	c := g.TriadCensus()
	for k, v := range c {
		if v > 0 {
			fmt.Println(TriadNames[k], v)
		}
	}
	fmt.Printf("reciprocity %.1f\n", g.Reciprocity())
	// Output:
	// 030T 1
	// reciprocity 0.0
}
