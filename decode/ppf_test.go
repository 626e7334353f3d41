package decode

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// ppfData simulates a d-state AR(1) process x_{t+1} = 0.95 x_t + w (unit
// stationary variance per state) and n Poisson units with log-linear
// intensities exp(β_i0 + β_iᵀx) per bin: β_i0 = log 0.5 (0.5 expected events
// per bin, 25 Hz in 20 ms bins) and β_i uniform in [−0.6, 0.6]. It returns the
// true β (n×(d+1)).
func ppfData(d, n, T int, seed uint64) (states, counts [][]float64, beta []float64) {
	rng := rand.New(rand.NewPCG(seed, 0x707066))
	beta = make([]float64, n*(d+1))
	for i := 0; i < n; i++ {
		beta[i*(d+1)] = math.Log(0.5)
		for j := 1; j <= d; j++ {
			beta[i*(d+1)+j] = 1.2*rng.Float64() - 0.6
		}
	}
	x := make([]float64, d)
	sd := math.Sqrt(1 - 0.95*0.95)
	for t := 0; t < T; t++ {
		s := make([]float64, d)
		for j := range x {
			x[j] = 0.95*x[j] + sd*rng.NormFloat64()
			s[j] = x[j]
		}
		c := make([]float64, n)
		for i := range c {
			b := beta[i*(d+1) : (i+1)*(d+1)]
			c[i] = poissonDraw(rng, math.Exp(b[0]+dot(b[1:], s)))
		}
		states = append(states, s)
		counts = append(counts, c)
	}
	return states, counts, beta
}

func TestFitPPFRecoversModel(t *testing.T) {
	// With 20000 bins of about 0.5 events each, the standard error of each
	// log-linear coefficient is about 1/√(Σ λ x²) ≈ 1/√10000 = 0.01; 0.05
	// is five of them. A is recovered to its least-squares error (~0.002).
	states, counts, beta := ppfData(2, 20, 20000, 1)
	p, err := FitPPF(states, counts, DefaultPPFConfig())
	if err != nil {
		t.Fatal(err)
	}
	// The fit centres the state: β_i0' = β_i0 + β_iᵀμ_x.
	for i := 0; i < 20; i++ {
		for j := 1; j <= 2; j++ {
			if got, want := p.Beta[i*3+j], beta[i*3+j]; math.Abs(got-want) > 0.05 {
				t.Errorf("unit %d β_%d = %.4f, want %.4f ± 0.05", i, j, got, want)
			}
		}
		want0 := beta[i*3] + beta[i*3+1]*p.StateMean[0] + beta[i*3+2]*p.StateMean[1]
		if got := p.Beta[i*3]; math.Abs(got-want0) > 0.05 {
			t.Errorf("unit %d β_0 = %.4f, want %.4f ± 0.05", i, got, want0)
		}
	}
	for j, want := range []float64{0.95, 0, 0, 0.95} {
		if math.Abs(p.A[j]-want) > 0.01 {
			t.Errorf("A[%d] = %.4f, want %.2f ± 0.01", j, p.A[j], want)
		}
	}
}

func TestPPFStepMatchesFormula(t *testing.T) {
	// One step of Eden et al. (2004, eqs. 2.7–2.10) computed with gonum's
	// dense inverse, against the allocation-free filter.
	states, counts, _ := ppfData(3, 12, 3000, 2)
	p, err := FitPPF(states, counts, DefaultPPFConfig())
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewPPF(p)
	if err != nil {
		t.Fatal(err)
	}
	d := 3
	A := mat.NewDense(d, d, p.A)
	W := mat.NewDense(d, d, p.W)
	P := mat.NewDense(d, d, append([]float64(nil), p.P0...))
	x := mat.NewVecDense(d, nil)
	var est Estimate
	for step := 0; step < 5; step++ {
		c := counts[2000+step]
		if err := f.Decode(&est, &Bin{Counts: c}); err != nil {
			t.Fatal(err)
		}
		var xp mat.VecDense
		xp.MulVec(A, x)
		var pp, tmp mat.Dense
		tmp.Mul(A, P)
		pp.Mul(&tmp, A.T())
		pp.Add(&pp, W)
		var info mat.Dense
		if err := info.Inverse(&pp); err != nil {
			t.Fatal(err)
		}
		g := mat.NewVecDense(d, nil)
		for i := range c {
			b := p.Beta[i*(d+1) : (i+1)*(d+1)]
			bv := mat.NewVecDense(d, append([]float64(nil), b[1:]...))
			lam := math.Exp(b[0] + mat.Dot(bv, &xp))
			var outer mat.Dense
			outer.Outer(lam, bv, bv)
			info.Add(&info, &outer)
			g.AddScaledVec(g, c[i]-lam, bv)
		}
		var pn mat.Dense
		if err := pn.Inverse(&info); err != nil {
			t.Fatal(err)
		}
		var dx mat.VecDense
		dx.MulVec(&pn, g)
		x.AddVec(&xp, &dx)
		P = &pn
		for j := 0; j < d; j++ {
			if want := x.AtVec(j) + p.StateMean[j]; math.Abs(est.State[j]-want) > 1e-10 {
				t.Fatalf("step %d: state[%d] = %g, want %g", step, j, est.State[j], want)
			}
			for k := 0; k < d; k++ {
				if math.Abs(est.Cov[j*d+k]-P.At(j, k)) > 1e-10 {
					t.Fatalf("step %d: cov[%d,%d] = %g, want %g", step, j, k, est.Cov[j*d+k], P.At(j, k))
				}
			}
		}
	}
}

func TestPPFDecodes(t *testing.T) {
	states, counts, _ := ppfData(2, 40, 6000, 3)
	p, err := FitPPF(states[:5000], counts[:5000], PPFConfig{StateNames: []string{"vx", "vy"}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewPPF(p)
	if err != nil {
		t.Fatal(err)
	}
	r2 := NewR2(2)
	var est Estimate
	for i := 5000; i < 6000; i++ {
		if err := f.Decode(&est, &Bin{Seq: uint64(i), Counts: counts[i]}); err != nil {
			t.Fatal(err)
		}
		if err := r2.Add(est.State, states[i]); err != nil {
			t.Fatal(err)
		}
	}
	got := r2.R2To(nil)
	t.Logf("R² = %.3f", got)
	// 40 units at 0.5 events per bin observe a unit-variance AR(1) state
	// well: the filter's R² on this model is 0.88 (0.7 is a floor below
	// it, and far above the 0 of an uninformative decoder).
	for j, v := range got {
		if v < 0.7 {
			t.Errorf("R² of state %d = %.3f < 0.7", j, v)
		}
	}
	if names := f.StateNames(); names[0] != "vx" || f.States() != 2 || f.Channels() != 40 {
		t.Errorf("names %v states %d channels %d", names, f.States(), f.Channels())
	}
}

func TestFitPPFDegenerate(t *testing.T) {
	base, baseCounts, _ := ppfData(2, 6, 400, 4)
	clone := func() (s, c [][]float64) {
		for i := range base {
			s = append(s, append([]float64(nil), base[i]...))
			c = append(c, append([]float64(nil), baseCounts[i]...))
		}
		return s, c
	}
	tests := []struct {
		name   string
		mutate func(s, c [][]float64) ([][]float64, [][]float64)
		cfg    PPFConfig
		want   string
	}{
		{"valid", nil, PPFConfig{}, ""},
		{"too few", func(s, c [][]float64) ([][]float64, [][]float64) { return s[:6], c[:6] }, PPFConfig{}, "too few samples: T = 6 bins"},
		{"silent", func(s, c [][]float64) ([][]float64, [][]float64) {
			for t := range c {
				c[t][2] = 0
			}
			return s, c
		}, PPFConfig{}, "channel 2 is constant"},
		{"constant state", func(s, c [][]float64) ([][]float64, [][]float64) {
			for t := range s {
				s[t][1] = 3
			}
			return s, c
		}, PPFConfig{}, "state 1 (x1) is constant"},
		{"collinear", func(s, c [][]float64) ([][]float64, [][]float64) {
			for t := range s {
				s[t][1] = 2 * s[t][0]
			}
			return s, c
		}, PPFConfig{}, "state 1 (x1) is collinear"},
		{"negative", func(s, c [][]float64) ([][]float64, [][]float64) { c[3][0] = -2; return s, c }, PPFConfig{}, "counts[3][0] is -2"},
		{"names", nil, PPFConfig{StateNames: []string{"a"}}, "state_names: 1 names for 2 state columns"},
		{"config", nil, PPFConfig{Ridge: -1}, "ridge: must be finite and ≥ 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, c := clone()
			if tc.mutate != nil {
				s, c = tc.mutate(s, c)
			}
			p, err := FitPPF(s, c, tc.cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "ppf fit: ") {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			_ = p
		})
	}
}

func TestPPFDecodeErrors(t *testing.T) {
	states, counts, _ := ppfData(2, 5, 300, 5)
	bins := make([]Bin, len(states))
	for i := range bins {
		bins[i] = Bin{Seq: uint64(i), Start: int64(i * 20), Width: 20, Rate: 1000, Counts: counts[i], Truth: states[i]}
	}
	p, err := FitPPFBins(bins, DefaultPPFConfig())
	if err != nil {
		t.Fatal(err)
	}
	f, _ := NewPPF(p)
	for _, tc := range []struct {
		bin  *Bin
		want string
	}{
		{nil, "ppf: nil bin"},
		{&Bin{Seq: 2, Width: 20, Rate: 1000, Counts: []float64{1}}, "bin seq 2 has 1 channels, want 5"},
		{&Bin{Seq: 2, Width: 10, Rate: 1000, Counts: make([]float64, 5)}, "10 frames wide"},
		{&Bin{Seq: 2, Width: 20, Rate: 1000, Counts: []float64{0, 0, math.Inf(1), 0, 0}}, "counts[2] is +Inf"},
		{&Bin{Seq: 2, Width: 20, Rate: 1000, Counts: []float64{0, -1, 0, 0, 0}}, "counts[1] is -1"},
	} {
		var est Estimate
		if err := f.Decode(&est, tc.bin); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
	if _, err := NewPPF(nil); err == nil {
		t.Error("nil accepted")
	}
	bad := *p
	bad.W = []float64{1, 0, 0, -1}
	if _, err := NewPPF(&bad); err == nil || !strings.Contains(err.Error(), "w: not positive definite") {
		t.Errorf("err = %v", err)
	}
}

func TestPPFParamsRoundTrip(t *testing.T) {
	states, counts, _ := ppfData(2, 7, 500, 6)
	p, err := FitPPF(states, counts, DefaultPPFConfig())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WritePPFParams(&buf, p); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte(`{"format":"bciloop.ppf","version":1,"states":2,"units":7,`)) {
		t.Errorf("header %.60s", buf.Bytes())
	}
	q, err := ReadPPFParams(&buf)
	if err != nil || !reflect.DeepEqual(p, q) {
		t.Fatalf("round trip: %v", err)
	}
	var b2 bytes.Buffer
	_ = WritePPFParams(&b2, p)
	for _, tc := range []struct{ from, to, want string }{
		{`"units":7`, `"units":8`, "states, units: 2 and 8"},
		{`"version":1`, `"version":0`, "version: 0 is not supported"},
		{`"state_names":["x0","x1"]`, `"state_names":["x0","x0"]`, `entry 1 "x0" repeats entry 0`},
	} {
		if _, err := ReadPPFParams(strings.NewReader(strings.Replace(b2.String(), tc.from, tc.to, 1))); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
}

func FuzzReadPPFParams(f *testing.F) {
	p := &PPFParams{StateNames: []string{"a"}, StateMean: []float64{0}, A: []float64{0.9}, W: []float64{0.1}, P0: []float64{1},
		Beta: []float64{-1, 0.5, 0, 1}}
	var buf bytes.Buffer
	if err := WritePPFParams(&buf, p); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadPPFParams(bytes.NewReader(data))
		if err != nil {
			return
		}
		if _, err := NewPPF(p); err != nil {
			t.Fatalf("read params but NewPPF fails: %v", err)
		}
	})
}

func BenchmarkPPFDecode(b *testing.B) {
	for _, tc := range []struct{ d, n int }{{2, 96}, {4, 96}, {4, 192}} {
		b.Run(fmt.Sprintf("units=%d/d=%d", tc.n, tc.d), func(b *testing.B) {
			states, counts, _ := ppfData(tc.d, tc.n, 2000, 7)
			p, err := FitPPF(states, counts, DefaultPPFConfig())
			if err != nil {
				b.Fatal(err)
			}
			f, _ := NewPPF(p)
			var est Estimate
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := f.Decode(&est, &Bin{Counts: counts[i%2000]}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
