package decode

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestPartialRule(t *testing.T) {
	tests := []struct {
		name   string
		lost   int
		want   PartialAction
		counts []float64
	}{
		{"complete", 0, DecodeFull, []float64{2, 0, 5}},
		{"one frame lost", 1, DecodeScaled, []float64{2 * 20.0 / 19, 0, 5 * 20.0 / 19}},
		{"half observed", 10, DecodeScaled, []float64{4, 0, 10}},
		{"a quarter observed", 15, DecodeScaled, []float64{8, 0, 20}},
		{"less than a quarter", 16, PredictOnly, []float64{2, 0, 5}},
		{"nothing observed", 20, PredictOnly, []float64{2, 0, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := Bin{Width: 20, Lost: tc.lost, Counts: []float64{2, 0, 5}}
			if got := PartialRule(&b); got != tc.want {
				t.Fatalf("PartialRule = %d, want %d", got, tc.want)
			}
			for i, v := range b.Counts {
				if math.Abs(v-tc.counts[i]) > 1e-12 {
					t.Fatalf("counts %v, want %v", b.Counts, tc.counts)
				}
			}
			if b.Observed() != 20-tc.lost {
				t.Fatalf("Observed() = %d, want %d", b.Observed(), 20-tc.lost)
			}
		})
	}
}

// predicted returns A x and A P Aᵀ + W computed with gonum.
func predicted(a, w, x, p []float64, d int) ([]float64, []float64) {
	A := mat.NewDense(d, d, a)
	var xn mat.VecDense
	xn.MulVec(A, mat.NewVecDense(d, slices.Clone(x)))
	var pn mat.Dense
	pn.Product(A, mat.NewDense(d, d, slices.Clone(p)), A.T())
	pn.Add(&pn, mat.NewDense(d, d, w))
	return slices.Clone(xn.RawVector().Data), slices.Clone(pn.RawMatrix().Data)
}

func closeTo(t *testing.T, what string, got, want []float64) {
	t.Helper()
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-9*(1+math.Abs(want[i])) {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
}

// TestPredict: Predict is the predict step alone, x⁻ = A x, P⁻ = A P Aᵀ + W,
// from the state an update left, for each Predictor; it allocates nothing.
func TestPredict(t *testing.T) {
	kp := smallParams()
	states, counts, _ := ppfData(3, 12, 3000, 2)
	pp, err := FitPPF(states, counts, DefaultPPFConfig())
	if err != nil {
		t.Fatal(err)
	}
	kal, err := NewKalman(kp)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := NewSteadyStateKalman(kp, 1e-10, 10000)
	if err != nil {
		t.Fatal(err)
	}
	ppf, err := NewPPF(pp)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		dec  interface {
			Decoder
			Predictor
		}
		a, w, mean []float64
		obs        []float64
		steady     bool
	}{
		{"kalman", kal, kp.A, kp.W, kp.StateMean, []float64{5, 2, 0}, false},
		{"kalman-ss", ss, kp.A, kp.W, kp.StateMean, []float64{5, 2, 0}, true},
		{"ppf", ppf, pp.A, pp.W, pp.StateMean, counts[2000], false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := len(c.mean)
			var est Estimate
			bin := Bin{Seq: 3, Start: 40, Width: 20, Rate: 1000, Counts: c.obs}
			if c.name == "ppf" {
				bin.Width, bin.Rate = pp.BinWidth, pp.Rate
			}
			if err := c.dec.Decode(&est, &bin); err != nil {
				t.Fatal(err)
			}
			x := make([]float64, d)
			for j := range x {
				x[j] = est.State[j] - c.mean[j]
			}
			p := slices.Clone(est.Cov)
			next := bin
			next.Seq, next.Start = 4, 60
			if err := c.dec.Predict(&est, &next); err != nil {
				t.Fatal(err)
			}
			wantX, wantP := predicted(c.a, c.w, x, p, d)
			for j := range wantX {
				wantX[j] += c.mean[j]
			}
			closeTo(t, "state", est.State, wantX)
			closeTo(t, "cov", est.Cov, wantP)
			if est.Seq != 4 || est.Sample != next.End() {
				t.Fatalf("estimate stamped seq %d sample %d, want 4, %d", est.Seq, est.Sample, next.End())
			}
			if !c.steady {
				// The next update starts from the prediction: a second
				// Predict goes on from it.
				x2 := slices.Clone(est.State)
				for j := range x2 {
					x2[j] -= c.mean[j]
				}
				p2 := slices.Clone(est.Cov)
				if err := c.dec.Predict(&est, &next); err != nil {
					t.Fatal(err)
				}
				wantX, wantP = predicted(c.a, c.w, x2, p2, d)
				for j := range wantX {
					wantX[j] += c.mean[j]
				}
				closeTo(t, "state after two predictions", est.State, wantX)
				closeTo(t, "cov after two predictions", est.Cov, wantP)
			}
			if allocs := testing.AllocsPerRun(100, func() {
				if err := c.dec.Predict(&est, &next); err != nil {
					t.Fatal(err)
				}
			}); allocs != 0 {
				t.Fatalf("Predict allocates %v times", allocs)
			}
		})
	}
}
