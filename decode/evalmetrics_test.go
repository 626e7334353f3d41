package decode

import (
	"math"
	"strings"
	"testing"
)

func TestRegression(t *testing.T) {
	truth := [][]float64{{0, 0}, {1, 2}, {2, 4}, {3, 6}}
	cases := []struct {
		name         string
		pred         [][]float64
		r2, corr     []float64
		rmse         []float64
		median, mean float64
	}{
		{"exact", [][]float64{{0, 0}, {1, 2}, {2, 4}, {3, 6}}, []float64{1, 1}, []float64{1, 1}, []float64{0, 0}, 0, 0},
		// An offset of (3, 4): a distance of 5 everywhere; R² = 1 − 9/1.25
		// and 1 − 16/5 (SS_res/N over the variance of the truth); the
		// correlation is still 1.
		{"offset", [][]float64{{3, 4}, {4, 6}, {5, 8}, {6, 10}}, []float64{1 - 9/1.25, 1 - 16/5.0}, []float64{1, 1}, []float64{3, 4}, 5, 5},
		// The mean predicted everywhere: R² 0, correlation 0 (undefined,
		// reported 0), distances |y − ȳ|.
		{"mean", [][]float64{{1.5, 3}, {1.5, 3}, {1.5, 3}, {1.5, 3}}, []float64{0, 0}, []float64{0, 0},
			[]float64{math.Sqrt(1.25), math.Sqrt(5)}, (math.Sqrt(11.25) + math.Sqrt(1.25)) / 2, (math.Sqrt(11.25) + math.Sqrt(1.25)) / 2},
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-12*(1+math.Abs(b)) }
	for _, c := range cases {
		m, err := Regression(c.pred, truth)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 2; j++ {
			if !near(m.R2[j], c.r2[j]) || !near(m.Corr[j], c.corr[j]) || !near(m.RMSE[j], c.rmse[j]) {
				t.Errorf("%s dim %d: R² %g corr %g RMSE %g, want %g %g %g", c.name, j, m.R2[j], m.Corr[j], m.RMSE[j], c.r2[j], c.corr[j], c.rmse[j])
			}
		}
		if !near(m.MeanR2, (c.r2[0]+c.r2[1])/2) || !near(m.MedianError, c.median) || !near(m.MeanError, c.mean) || m.N != 4 {
			t.Errorf("%s: mean R² %g, median %g, mean error %g, n %d", c.name, m.MeanR2, m.MedianError, m.MeanError, m.N)
		}
	}
	med, mean, err := PositionErrors([][]float64{{0, 0}, {0, 0}, {0, 0}}, [][]float64{{3, 4}, {6, 8}, {0, 1}})
	if err != nil || med != 5 || mean != 16.0/3 {
		t.Errorf("position errors: median %g mean %g (%v), want 5 and 16/3", med, mean, err)
	}
	for _, c := range []struct {
		name        string
		pred, truth [][]float64
		want        string
	}{
		{"lengths", [][]float64{{1}}, [][]float64{{1}, {2}}, "1 predictions for 2 truths"},
		{"empty", nil, nil, "no rows"},
		{"ragged", [][]float64{{1}, {1, 2}}, [][]float64{{1}, {2}}, "row 1: r2: len(pred) = 2"},
		{"nan", [][]float64{{1}, {math.NaN()}}, [][]float64{{1}, {2}}, "row 1: r2: pred[0] is NaN"},
	} {
		if _, err := Regression(c.pred, c.truth); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestClassification(t *testing.T) {
	// Cohen's (1960) kappa, the textbook case: 50 items, the raters agree
	// on 20 "yes" and 15 "no" (p_o = 0.7); the first says yes 25 times, the
	// second 30 times, so p_e = 0.5·0.6 + 0.5·0.4 = 0.5 and κ = 0.4.
	var pred, truth []int
	add := func(tr, pr, n int) {
		for i := 0; i < n; i++ {
			truth, pred = append(truth, tr), append(pred, pr)
		}
	}
	add(0, 0, 20)
	add(0, 1, 5)
	add(1, 0, 10)
	add(1, 1, 15)
	m, err := Classification(pred, truth, 2)
	if err != nil {
		t.Fatal(err)
	}
	if m.N != 50 || math.Abs(m.Accuracy-0.7) > 1e-15 || math.Abs(m.Kappa-0.4) > 1e-12 || m.Chance != 0.5 {
		t.Errorf("n %d accuracy %g kappa %g chance %g, want 50 0.7 0.4 0.5", m.N, m.Accuracy, m.Kappa, m.Chance)
	}
	if m.Confusion[0][0] != 20 || m.Confusion[0][1] != 5 || m.Confusion[1][0] != 10 || m.Confusion[1][1] != 15 {
		t.Errorf("confusion %v", m.Confusion)
	}
	// P(X ≥ 35 | n = 50, p = ½) = 0.0033002240 (exact sum), and the 95 % chance limit
	// for 50 trials is 32/50: P(X ≥ 32) = 0.0325 ≤ 0.05 < P(X ≥ 31) = 0.0595.
	if math.Abs(m.PValue-0.003300223983405459) > 1e-14 || m.Chance95 != 32.0/50 {
		t.Errorf("p-value %.10f, chance 95 %% %g; want 0.0033002240 and 0.64", m.PValue, m.Chance95)
	}

	// Constant agreement: p_e = 1, kappa reported 0; a perfect 3-class
	// result has kappa 1.
	if m, _ := Classification([]int{1, 1, 1}, []int{1, 1, 1}, 3); m.Kappa != 0 || m.Accuracy != 1 || m.Chance != 1 || m.PValue != 1 {
		t.Errorf("one class everywhere: %+v", m)
	}
	if m, _ := Classification([]int{0, 1, 2, 2}, []int{0, 1, 2, 2}, 3); m.Kappa != 1 || m.Chance != 0.5 {
		t.Errorf("perfect: %+v", m)
	}
	for _, c := range []struct {
		pred, truth []int
		classes     int
		want        string
	}{
		{[]int{0}, []int{0, 1}, 2, "1 predictions for 2 truths"},
		{nil, nil, 2, "no labels"},
		{[]int{0}, []int{0}, 1, "need at least 2 classes"},
		{[]int{0, 2}, []int{0, 1}, 2, "pred[1] = 2 is not a class in 0…1"},
		{[]int{0, 0}, []int{-1, 1}, 2, "truth[0] = -1 is not a class"},
	} {
		if _, err := Classification(c.pred, c.truth, c.classes); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: %v, want %q", c.pred, c.truth, err, c.want)
		}
	}
}

// TestBinomialTail checks the tail against exact sums over C(n, k)/2ⁿ and
// a skewed case, and stays finite and monotone for a long recording.
func TestBinomialTail(t *testing.T) {
	sf := binomialTail(10, 0.5)
	exact := []float64{1024, 1023, 1013, 968, 848, 638, 386, 176, 56, 11, 1, 0}
	for k, v := range exact {
		if math.Abs(sf[k]-v/1024) > 1e-14 {
			t.Errorf("P(X ≥ %d) = %.16g, want %g/1024", k, sf[k], v)
		}
	}
	if got := binomialSF(3, 3, 0.25); math.Abs(got-1.0/64) > 1e-15 {
		t.Errorf("P(X ≥ 3 | 3, ¼) = %g, want 1/64", got)
	}
	if k := binomialUpper(10, 0.5, 0.05); k != 9 {
		t.Errorf("95 %% chance limit of 10 fair trials: %d, want 9", k)
	}
	big := binomialTail(200000, 0.3)
	for k := 1; k < len(big); k++ {
		if !(big[k] <= big[k-1]) || math.IsNaN(big[k]) {
			t.Fatalf("tail not monotone or NaN at %d: %g after %g", k, big[k], big[k-1])
		}
	}
	if big[60000] < 0.49 || big[60000] > 0.51 {
		t.Errorf("P(X ≥ mean) = %g, want ≈ ½", big[60000])
	}
}
