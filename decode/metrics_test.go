package decode

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// twoPass computes R², Pearson's r and RMSE of one dimension directly from
// their definitions, with the means computed first.
func twoPass(p, y []float64) (r2, corr, rmse float64) {
	n := float64(len(y))
	var mp, my float64
	for i := range y {
		mp += p[i]
		my += y[i]
	}
	mp /= n
	my /= n
	var sres, stot, spp, spy float64
	for i := range y {
		sres += (p[i] - y[i]) * (p[i] - y[i])
		stot += (y[i] - my) * (y[i] - my)
		spp += (p[i] - mp) * (p[i] - mp)
		spy += (p[i] - mp) * (y[i] - my)
	}
	return 1 - sres/stot, spy / math.Sqrt(spp*stot), math.Sqrt(sres / n)
}

func TestR2MatchesTwoPass(t *testing.T) {
	tests := []struct {
		name   string
		offset float64 // a large common offset stresses cancellation
		noise  float64
		gain   float64
	}{
		{"good", 0, 0.3, 1},
		{"poor", 0, 3, 0.5},
		{"anti", 0, 0.5, -1},
		{"offset 1e6", 1e6, 0.3, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(61, 62))
			const n, dims = 5000, 3
			p := make([][]float64, dims)
			y := make([][]float64, dims)
			r := NewR2(dims)
			pr, tr := make([]float64, dims), make([]float64, dims)
			for i := 0; i < n; i++ {
				for j := 0; j < dims; j++ {
					tr[j] = tc.offset + float64(j+1)*rng.NormFloat64()
					pr[j] = tc.offset + tc.gain*(tr[j]-tc.offset) + tc.noise*rng.NormFloat64()
					p[j] = append(p[j], pr[j])
					y[j] = append(y[j], tr[j])
				}
				if err := r.Add(pr, tr); err != nil {
					t.Fatal(err)
				}
			}
			if r.Count() != n || r.Dims() != dims {
				t.Fatalf("Count() = %d, Dims() = %d", r.Count(), r.Dims())
			}
			r2, corr, rmse := r.R2To(nil), r.CorrTo(nil), r.RMSETo(nil)
			for j := 0; j < dims; j++ {
				w2, wc, we := twoPass(p[j], y[j])
				// Welford and two-pass agree to rounding: relative 1e-9
				// even at an offset of 1e6 (the one-pass sum-of-squares
				// formula would lose about 12 of 16 digits there).
				for _, c := range []struct {
					name      string
					got, want float64
				}{{"R²", r2[j], w2}, {"corr", corr[j], wc}, {"RMSE", rmse[j], we}} {
					if math.Abs(c.got-c.want) > 1e-9*math.Max(1, math.Abs(c.want)) {
						t.Errorf("dim %d %s = %.15g, two-pass %.15g", j, c.name, c.got, c.want)
					}
				}
			}
		})
	}
}

func TestR2Undefined(t *testing.T) {
	r := NewR2(2)
	for _, v := range r.R2To(nil) {
		if v != 0 {
			t.Fatalf("empty R² = %v, want 0", v)
		}
	}
	// Dimension 0: constant truth predicted exactly → R² = 1, ρ = 0.
	// Dimension 1: constant truth predicted with error → R² = 0.
	for i := 0; i < 10; i++ {
		if err := r.Add([]float64{2, float64(i)}, []float64{2, 5}); err != nil {
			t.Fatal(err)
		}
	}
	r2, corr := r.R2To(make([]float64, 0, 2)), r.CorrTo(nil)
	if r2[0] != 1 || r2[1] != 0 || corr[0] != 0 || corr[1] != 0 {
		t.Fatalf("R² = %v, corr = %v; want [1 0], [0 0]", r2, corr)
	}
	for _, v := range append(r2, corr...) {
		if math.IsNaN(v) {
			t.Fatal("NaN")
		}
	}
	r.Reset()
	if r.Count() != 0 || r.RMSETo(nil)[1] != 0 {
		t.Fatal("Reset")
	}
}

func TestR2Errors(t *testing.T) {
	r := NewR2(2)
	for _, tc := range []struct {
		p, y []float64
		want string
	}{
		{[]float64{1}, []float64{1, 2}, "len(pred) = 1 and len(truth) = 2, want 2"},
		{[]float64{1, math.NaN()}, []float64{1, 2}, "pred[1] is NaN"},
		{[]float64{1, 2}, []float64{math.Inf(1), 2}, "truth[0] is +Inf"},
	} {
		if err := r.Add(tc.p, tc.y); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
	if r.Count() != 0 {
		t.Fatal("a rejected sample was counted")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("NewR2(0) did not panic")
		}
	}()
	NewR2(0)
}

func TestR2Allocs(t *testing.T) {
	r := NewR2(4)
	p, y := []float64{1, 2, 3, 4}, []float64{1.5, 2, 2, 5}
	dst := make([]float64, 4)
	a := testing.AllocsPerRun(100, func() {
		if err := r.Add(p, y); err != nil {
			t.Fatal(err)
		}
		dst = r.R2To(dst)
		dst = r.CorrTo(dst)
		dst = r.RMSETo(dst)
	})
	if a != 0 {
		t.Fatalf("%v allocations per Add and read-out", a)
	}
}

func BenchmarkR2Add(b *testing.B) {
	r := NewR2(4)
	p, y := []float64{1, 2, 3, 4}, []float64{1.5, 2, 2, 5}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = r.Add(p, y)
	}
}
