package decode

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// gaussClasses draws T rows of p features: class c ~ N(μ_c, I) with
// μ_c = 1.5·c·e_0 (so the Bayes error is Φ(−0.75) = 22.7 % for two classes
// with equal priors), labels alternating.
func gaussClasses(T, p int, seed uint64) ([][]float64, []int) {
	rng := rand.New(rand.NewPCG(seed, 0x6c6461))
	x := make([][]float64, T)
	y := make([]int, T)
	for t := range x {
		y[t] = t % 2
		r := make([]float64, p)
		for j := range r {
			r[j] = rng.NormFloat64()
		}
		r[0] += 1.5 * float64(y[t])
		x[t] = r
	}
	return x, y
}

func accuracy(t *testing.T, prob func(dst, x []float64) []float64, x [][]float64, y []int) float64 {
	ok := 0
	var dst []float64
	for i := range x {
		dst = prob(dst, x[i])
		best := 0
		for c := range dst {
			if dst[c] > dst[best] {
				best = c
			}
		}
		if best == y[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(x))
}

func TestLDAAndGNBNearBayes(t *testing.T) {
	// Both reach the Bayes accuracy 1 − Φ(−0.75) = 0.773 on 4000 test rows
	// to within sampling error (SD 0.007) and estimation loss; 0.75 is
	// three SDs below.
	x, y := gaussClasses(4000, 5, 1)
	xt, yt := gaussClasses(4000, 5, 2)
	cls := []string{"rest", "move"}
	for _, shrink := range []string{ShrinkNone, ShrinkLedoitWolf} {
		p, err := FitLDA(x, y, LDAConfig{Classes: cls, Shrinkage: shrink})
		if err != nil {
			t.Fatal(err)
		}
		l, _ := NewLDA(p)
		if a := accuracy(t, l.ProbTo, xt, yt); a < 0.75 {
			t.Errorf("lda %s accuracy %.3f < 0.75", shrink, a)
		}
	}
	g, err := FitGNB(x, y, cls)
	if err != nil {
		t.Fatal(err)
	}
	gd, err := NewGNB(g)
	if err != nil {
		t.Fatal(err)
	}
	if a := accuracy(t, gd.ProbTo, xt, yt); a < 0.75 {
		t.Errorf("gnb accuracy %.3f < 0.75", a)
	}
	var est Estimate
	if err := gd.Decode(&est, &Bin{Counts: xt[0]}); err != nil || len(est.State) != 2 {
		t.Fatalf("decode: %v %v", err, est.State)
	}
}

func TestLedoitWolfShrinkage(t *testing.T) {
	// With far fewer rows than features the sample covariance is singular:
	// plain LDA refuses it, Ledoit–Wolf shrinks it (γ near 1 for
	// isotropic data) and the classifier still beats chance clearly.
	x, y := gaussClasses(30, 60, 3)
	cls := []string{"a", "b"}
	if _, err := FitLDA(x, y, LDAConfig{Classes: cls, Shrinkage: ShrinkNone}); err == nil || !strings.Contains(err.Error(), "covariance is singular at feature") {
		t.Errorf("err = %v", err)
	}
	p, err := FitLDA(x, y, LDAConfig{Classes: cls, Shrinkage: ShrinkLedoitWolf})
	if err != nil {
		t.Fatal(err)
	}
	if p.Gamma < 0.5 || p.Gamma > 1 {
		t.Errorf("γ = %.3f; isotropic noise with T ≪ p should shrink strongly", p.Gamma)
	}
	// γ against the definition computed directly (Ledoit & Wolf 2004,
	// Lemma 3.2–3.4) on small data.
	X := []float64{1, 2, -1, 0, 0, -2, 3, 1, -3, -1}
	T, pp := 5, 2
	S := make([]float64, 4)
	for t := 0; t < T; t++ {
		outerAdd(S, X[t*2:t*2+2], X[t*2:t*2+2])
	}
	for i := range S {
		S[i] /= float64(T)
	}
	mu := (S[0] + S[3]) / 2
	delta := ((S[0]-mu)*(S[0]-mu) + 2*S[1]*S[1] + (S[3]-mu)*(S[3]-mu)) / 2
	beta := 0.0
	for t := 0; t < T; t++ {
		a, b := X[2*t], X[2*t+1]
		beta += (a*a-S[0])*(a*a-S[0]) + 2*(a*b-S[1])*(a*b-S[1]) + (b*b-S[3])*(b*b-S[3])
	}
	beta /= float64(T * T * pp)
	if got, want := ledoitWolf(X, T, pp, S), math.Min(beta, delta)/delta; math.Abs(got-want) > 1e-12 {
		t.Errorf("γ = %g, want %g", got, want)
	}
}

func TestLDAErrorsAndFile(t *testing.T) {
	x, y := gaussClasses(100, 3, 4)
	for _, tc := range []struct {
		cfg  LDAConfig
		mut  func(x [][]float64, y []int)
		want string
	}{
		{LDAConfig{Classes: []string{"a"}, Shrinkage: "x"}, nil, "classes: need at least 2"},
		{LDAConfig{Classes: []string{"a", "b", "c"}, Shrinkage: ShrinkNone}, nil, "class 2 has no examples"},
		{LDAConfig{Classes: []string{"a", "b"}, Shrinkage: ShrinkNone}, func(x [][]float64, y []int) { y[3] = 5 }, "labels[3] = 5 is not a class index"},
		{LDAConfig{Classes: []string{"a", "b"}, Shrinkage: ShrinkNone}, func(x [][]float64, y []int) {
			for i := range x {
				x[i][2] = 1
			}
		}, "covariance is singular at feature 2"},
		{LDAConfig{Classes: []string{"a", "b"}, Shrinkage: ShrinkFixed, Gamma: 2}, nil, "gamma: must be in [0, 1]"},
	} {
		xx, yy := gaussClasses(100, 3, 4)
		if tc.mut != nil {
			tc.mut(xx, yy)
		}
		if _, err := FitLDA(xx, yy, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
	p, err := FitLDA(x, y, LDAConfig{Classes: []string{"a", "b"}, Shrinkage: ShrinkFixed, Gamma: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteLDAParams(&buf, p); err != nil {
		t.Fatal(err)
	}
	q, err := ReadLDAParams(bytes.NewReader(buf.Bytes()))
	if err != nil || !reflect.DeepEqual(p, q) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := ReadLDAParams(strings.NewReader(strings.Replace(buf.String(), `"features":3`, `"features":4`, 1))); err == nil || !strings.Contains(err.Error(), "features: 4") {
		t.Errorf("err = %v", err)
	}
	if _, err := FitGNB(x[:4], y[:3], []string{"a", "b"}); err == nil || !strings.Contains(err.Error(), "4 feature rows but 3 labels") {
		t.Errorf("err = %v", err)
	}
}

func FuzzReadLDAParams(f *testing.F) {
	f.Add([]byte(`{"format":"bciloop.lda","version":1,"features":1,"classes":["a","b"],"weights":[1,2],"bias":[0,0],"gamma":0}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := ReadLDAParams(bytes.NewReader(data)); err == nil {
			if _, err := NewLDA(p); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// cspTrials mixes C sources into C channels with a random matrix A: source
// 0 has SD 3 in class 0 and 1 in class 1, source 1 the reverse, the others SD
// 1 in both; so the CSP filter of largest class-0 variance is the row of A⁻¹
// that unmixes source 0 (Ramoser et al. 2000).
func cspTrials(n, C, T int, seed uint64) (trials [][]float64, labels []int, A []float64) {
	rng := rand.New(rand.NewPCG(seed, 0x637370))
	A = make([]float64, C*C)
	for i := range A {
		A[i] = rng.NormFloat64()
	}
	for k := 0; k < n; k++ {
		l := k % 2
		tr := make([]float64, T*C)
		s := make([]float64, C)
		for t := 0; t < T; t++ {
			for j := range s {
				s[j] = rng.NormFloat64()
			}
			if l == 0 {
				s[0] *= 3
			} else {
				s[1] *= 3
			}
			mulVec(tr[t*C:(t+1)*C], A, C, C, s)
		}
		trials = append(trials, tr)
		labels = append(labels, l)
	}
	return trials, labels, A
}

func TestCSPRecoversPlantedFilter(t *testing.T) {
	const C = 8
	trials, labels, A := cspTrials(80, C, 250, 5)
	c, err := FitCSP(trials, labels, C, 2)
	if err != nil {
		t.Fatal(err)
	}
	// w ∝ row 0 of A⁻¹ ⇔ w ⊥ every column of A but the first: the cosine
	// of w with each other column, normalised, is near 0, and with A's
	// first column it is large.
	w := c.Filters[:C]
	col := make([]float64, C)
	worst := 0.0
	for j := 1; j < C; j++ {
		for i := range col {
			col[i] = A[i*C+j]
		}
		cos := math.Abs(dot(w, col)) / math.Sqrt(dot(w, w)*dot(col, col))
		worst = max(worst, cos)
	}
	// 80 trials of 250 samples estimate each covariance entry to ~1 %: the
	// filter leaks at most a few % onto the other sources.
	if worst > 0.1 {
		t.Errorf("filter 0 has |cos| %.3f with another source's column, want < 0.1", worst)
	}
	// CSP + shrinkage LDA on new trials: the variance ratio of 9 makes the
	// classes nearly separable from 250 samples.
	pipe, _, err := FitCSPLDA(trials, labels, C, 2, LDAConfig{Classes: []string{"left", "right"}, Shrinkage: ShrinkLedoitWolf})
	if err != nil {
		t.Fatal(err)
	}
	test, tl, _ := cspTrials(40, C, 250, 5) // same seed: same mixing matrix
	ok := 0
	var prob []float64
	for k := range test {
		var pred int
		prob, pred = pipe.Classify(prob, test[k])
		if pred == tl[k] {
			ok++
		}
	}
	if ok < 38 {
		t.Errorf("CSP+LDA: %d/40 correct, want ≥ 38", ok)
	}
	if a := testing.AllocsPerRun(10, func() { prob, _ = pipe.Classify(prob, test[0]) }); a != 0 {
		t.Errorf("Classify allocates %v", a)
	}
	// Degenerate input.
	dup := make([][]float64, len(trials))
	for k, tr := range trials {
		d := append([]float64(nil), tr...)
		for s := 0; s < 250; s++ {
			d[s*C+3] = d[s*C+2]
		}
		dup[k] = d
	}
	if _, err := FitCSP(dup, labels, C, 2); err == nil || !strings.Contains(err.Error(), "composite covariance is singular") {
		t.Errorf("err = %v", err)
	}
	if _, err := FitCSP(trials, labels, C, 5); err == nil || !strings.Contains(err.Error(), "2m ≤ channels") {
		t.Errorf("err = %v", err)
	}
	labels[0] = 2
	if _, err := FitCSP(trials, labels, C, 2); err == nil || !strings.Contains(err.Error(), "labels[0] = 2") {
		t.Errorf("err = %v", err)
	}
}

func BenchmarkCSPLDA(b *testing.B) {
	// 64 channels, a 1 s window at 160 Hz (the PhysioNet EEG motor imagery
	// set's rate), 3 filters per class; target ≤ 200 µs per window.
	const C = 64
	trials, labels, _ := cspTrials(40, C, 160, 6)
	pipe, _, err := FitCSPLDA(trials, labels, C, 3, DefaultLDAConfigWith("left", "right"))
	if err != nil {
		b.Fatal(err)
	}
	var prob []float64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		prob, _ = pipe.Classify(prob, trials[i%40])
	}
}

// DefaultLDAConfigWith is DefaultLDAConfig with the classes set.
func DefaultLDAConfigWith(classes ...string) LDAConfig {
	c := DefaultLDAConfig()
	c.Classes = classes
	return c
}
