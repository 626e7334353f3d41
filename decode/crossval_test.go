package decode

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestContiguousFolds(t *testing.T) {
	for _, c := range []struct{ n, k, purge int }{
		{10, 2, 0}, {10, 10, 0}, {103, 10, 0}, {1000, 7, 3}, {50, 5, 9}, {12, 3, 2},
	} {
		t.Run(fmt.Sprintf("n=%d,k=%d,purge=%d", c.n, c.k, c.purge), func(t *testing.T) {
			folds, err := ContiguousFolds(c.n, c.k, c.purge)
			if err != nil {
				t.Fatal(err)
			}
			if len(folds) != c.k {
				t.Fatalf("%d folds", len(folds))
			}
			tested := make([]int, c.n)
			next := 0
			for f, fd := range folds {
				if fd.Index != f || fd.TestStart != next {
					t.Fatalf("fold %d: index %d, test starts at %d, want %d (contiguous blocks in order)", f, fd.Index, fd.TestStart, next)
				}
				next = fd.TestEnd
				if size := fd.TestEnd - fd.TestStart; size != c.n/c.k && size != c.n/c.k+1 {
					t.Errorf("fold %d: %d test rows; blocks must be ⌊n/k⌋ or ⌈n/k⌉", f, size)
				}
				for r := fd.TestStart; r < fd.TestEnd; r++ {
					tested[r]++
				}
				if !slices.IsSorted(fd.Train) {
					t.Errorf("fold %d: training rows not ascending", f)
				}
				// Every row is a test row, a purged row or a training row,
				// and training rows keep purge rows away from the block.
				in := map[int]bool{}
				for _, r := range fd.Train {
					in[r] = true
					if r >= fd.TestStart-c.purge && r < fd.TestEnd+c.purge {
						t.Fatalf("fold %d trains on row %d, within %d rows of its test block [%d, %d)", f, r, c.purge, fd.TestStart, fd.TestEnd)
					}
				}
				for r := 0; r < c.n; r++ {
					far := r < fd.TestStart-c.purge || r >= fd.TestEnd+c.purge
					if far != in[r] {
						t.Fatalf("fold %d: row %d trained %v, want %v", f, r, in[r], far)
					}
				}
			}
			if next != c.n {
				t.Fatalf("blocks end at %d, want %d", next, c.n)
			}
			for r, k := range tested {
				if k != 1 {
					t.Fatalf("row %d tested %d times", r, k)
				}
			}
		})
	}
}

func TestContiguousFoldsErrors(t *testing.T) {
	for _, c := range []struct {
		n, k, purge int
		want        string
	}{
		{10, 1, 0, "need at least 2 folds, got 1"},
		{3, 5, 0, "3 rows for 5 folds"},
		{10, 2, -1, "purge must be ≥ 0"},
		{10, 2, 5, "fold 0 (test rows 0–4 of 10) has no training row left after purging 5 rows"},
	} {
		if _, err := ContiguousFolds(c.n, c.k, c.purge); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ContiguousFolds(%d, %d, %d): %v, want %q", c.n, c.k, c.purge, err, c.want)
		}
	}
}

// TestCrossValidateNeverTrainsOnTestBins checks, through the bins the fit
// receives, that no fold trains on a bin of its test block or of the purge
// around it, and that every bin is decoded exactly once.
func TestCrossValidateNeverTrainsOnTestBins(t *testing.T) {
	states, counts := testLDS(4, 12, 1).simulate(600, 2)
	bins := toBins(states, counts)
	for _, purge := range []int{0, 4} {
		folds, err := ContiguousFolds(len(bins), 6, purge)
		if err != nil {
			t.Fatal(err)
		}
		pred, err := CrossValidateBins(bins, folds, func(f int, train []Bin) (Decoder, error) {
			fd := folds[f]
			for _, b := range train {
				if s := int(b.Seq); s >= fd.TestStart-purge && s < fd.TestEnd+purge {
					t.Errorf("purge %d: fold %d trains on bin %d; its test block is [%d, %d)", purge, f, s, fd.TestStart, fd.TestEnd)
				}
			}
			if want := len(bins) - (min(fd.TestEnd+purge, len(bins)) - max(fd.TestStart-purge, 0)); len(train) != want {
				t.Errorf("fold %d: %d training bins, want %d", f, len(train), want)
			}
			p, err := FitKalmanBins(train, DefaultKalmanConfig())
			if err != nil {
				return nil, err
			}
			return NewKalman(p)
		})
		if err != nil {
			t.Fatal(err)
		}
		for r, p := range pred {
			if len(p) != 4 {
				t.Fatalf("bin %d: prediction %v", r, p)
			}
		}
	}
}

// TestCrossValidateKalmanMatchesTheory cross-validates the Kalman filter on
// data from a known linear-Gaussian model and compares the pooled R² with
// the R² of the optimal filter for the true model, 1 − P∞_jj/Σ_jj, where
// Σ = AΣAᵀ + W is the stationary state covariance and P∞ the steady-state
// posterior covariance: a decoder fitted on 4/5 of the data must come
// within 0.03 of it.
func TestCrossValidateKalmanMatchesTheory(t *testing.T) {
	m := testLDS(4, 16, 3)
	states, counts := m.simulate(5000, 4)
	bins := toBins(states, counts)
	folds, err := ContiguousFolds(len(bins), 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	pred, err := CrossValidateBins(bins, folds, func(_ int, train []Bin) (Decoder, error) {
		p, err := FitKalmanBins(train, DefaultKalmanConfig())
		if err != nil {
			return nil, err
		}
		return NewKalman(p)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Regression(pred, states)
	if err != nil {
		t.Fatal(err)
	}
	d := m.d
	sigma := make([]float64, d*d)
	tmp, next := make([]float64, d*d), make([]float64, d*d)
	for it := 0; it < 5000; it++ {
		mulAB(tmp, m.A, sigma, d, d, d)
		mulABt(next, tmp, m.A, d, d, d)
		for i := range next {
			next[i] += m.W[i]
		}
		sigma, next = next, sigma
	}
	truth := &KalmanParams{StateNames: m.names, StateMean: m.mx, CountMean: m.mz, A: m.A, W: m.W, H: m.H, Q: m.Q, P0: sigma}
	ss, err := NewSteadyStateKalman(truth, 1e-12, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j < d; j++ {
		want := 1 - ss.pinf[j*d+j]/sigma[j*d+j]
		t.Logf("%s: cross-validated R² %.4f, optimal filter %.4f", m.names[j], got.R2[j], want)
		if got.R2[j] > want+0.02 || got.R2[j] < want-0.03 {
			t.Errorf("%s: cross-validated R² %.4f, want within [−0.03, +0.02] of the optimum %.4f", m.names[j], got.R2[j], want)
		}
	}
}

func TestCrossValidateBinsErrors(t *testing.T) {
	states, counts := testLDS(4, 8, 1).simulate(100, 2)
	bins := toBins(states, counts)
	fit := func(_ int, train []Bin) (Decoder, error) {
		p, err := FitKalmanBins(train, DefaultKalmanConfig())
		if err != nil {
			return nil, err
		}
		return NewKalman(p)
	}
	cases := []struct {
		name  string
		folds []Fold
		fit   func(int, []Bin) (Decoder, error)
		want  string
	}{
		{"trains on test", []Fold{{Index: 0, TestStart: 0, TestEnd: 50, Train: []int{49, 50}}}, fit, "fold 0: training row 49 is a test row"},
		{"out of range", []Fold{{Index: 0, TestStart: 90, TestEnd: 101, Train: []int{0}}}, fit, "test rows [90, 101) are not a non-empty range within the 100 rows"},
		{"overlap", []Fold{{Index: 0, TestStart: 0, TestEnd: 50, Train: []int{60}}, {Index: 1, TestStart: 40, TestEnd: 100, Train: []int{0}}}, fit, "fold 1: row 40 is tested by an earlier fold too"},
		{"fit fails", []Fold{{Index: 3, TestStart: 0, TestEnd: 90, Train: []int{90, 91, 92}}}, fit, "fold 3 (test bins 0–89): kalman fit: too few samples"},
		{"no folds", nil, fit, "no folds"},
		{"fit error", []Fold{{Index: 0, TestStart: 0, TestEnd: 10, Train: []int{20}}}, func(int, []Bin) (Decoder, error) { return nil, errors.New("boom") }, "fold 0 (test bins 0–9): boom"},
	}
	for _, c := range cases {
		if _, err := CrossValidateBins(bins, c.folds, c.fit); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
