package decode

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// RegressionMetrics are the offline scores of decoded continuous states
// against the truth, per state dimension (R² about the truth's mean,
// Pearson's correlation and RMSE, as R2 computes them), their mean R², and
// the median and mean Euclidean error ‖p − y‖ over all dimensions (the
// distance to the true position, for a decoder of positions).
type RegressionMetrics struct {
	N           int       `json:"n"`
	R2          []float64 `json:"r2"`
	Corr        []float64 `json:"corr"`
	RMSE        []float64 `json:"rmse"`
	MeanR2      float64   `json:"mean_r2"`
	MedianError float64   `json:"median_error"`
	MeanError   float64   `json:"mean_error"`
}

// Regression scores predictions against the truth, row by row (both T×d
// with the same d ≥ 1). Every value is finite: the undefined cases follow
// R2's conventions. Errors: no rows, rows of different lengths, non-finite
// values, naming the row.
func Regression(pred, truth [][]float64) (*RegressionMetrics, error) {
	if len(pred) != len(truth) {
		return nil, fmt.Errorf("regression metrics: %d predictions for %d truths", len(pred), len(truth))
	}
	if len(pred) == 0 {
		return nil, errors.New("regression metrics: no rows")
	}
	d := len(truth[0])
	if d == 0 {
		return nil, errors.New("regression metrics: truth[0] is empty")
	}
	r := NewR2(d)
	dist := make([]float64, len(pred))
	for t := range pred {
		if err := r.Add(pred[t], truth[t]); err != nil {
			return nil, fmt.Errorf("regression metrics: row %d: %w", t, err)
		}
		s := 0.0
		for j, p := range pred[t] {
			e := p - truth[t][j]
			s += e * e
		}
		dist[t] = math.Sqrt(s)
	}
	m := &RegressionMetrics{N: len(pred), R2: r.R2To(nil), Corr: r.CorrTo(nil), RMSE: r.RMSETo(nil)}
	for _, v := range m.R2 {
		m.MeanR2 += v / float64(d)
	}
	m.MedianError, m.MeanError = medianMean(dist)
	return m, nil
}

// PositionErrors returns the median and mean Euclidean distance between
// decoded and true positions (rows of equal length), the usual score of a
// grid decoder of position (for example the place-cell decoders of Zhang et
// al. 1998, who report the median). Errors as Regression.
func PositionErrors(pred, truth [][]float64) (median, mean float64, err error) {
	m, err := Regression(pred, truth)
	if err != nil {
		return 0, 0, err
	}
	return m.MedianError, m.MeanError, nil
}

// medianMean returns the median (the mean of the two middle values for an
// even count) and the mean of x (non-empty); x is reordered.
func medianMean(x []float64) (median, mean float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	slices.Sort(x)
	n := len(x)
	if n%2 == 1 {
		return x[n/2], mean
	}
	return (x[n/2-1] + x[n/2]) / 2, mean
}

// ClassMetrics are the scores of predicted class labels against the truth:
// accuracy p_o (the fraction correct), Cohen's (1960) kappa
//
//	κ = (p_o − p_e)/(1 − p_e),  p_e = Σ_c (n_c^true/N)(n_c^pred/N),
//
// the agreement beyond the agreement p_e expected by chance from the two
// label frequencies (κ = 0 when p_e = 1: one class everywhere shows
// nothing), and the chance level of the accuracy: Chance is the accuracy of
// always guessing the most frequent true class (1/C for balanced classes),
// Chance95 the accuracy a guesser at that rate stays under with probability
// 0.95 over N independent trials, the upper 95 % limit of the binomial
// distribution (Müller-Putz, Scherer, Brunner, Leeb & Pfurtscheller 2008,
// "Better than random? A closer look on BCI results", Int. J.
// Bioelectromagnetism 10:52–55), and PValue the one-sided binomial
// probability of doing at least as well as observed by chance. Bins of a
// continuous recording are not independent, so for bin-wise labels these
// two are optimistic. Confusion[t][p] counts true class t predicted as p.
type ClassMetrics struct {
	N         int     `json:"n"`
	Accuracy  float64 `json:"accuracy"`
	Kappa     float64 `json:"kappa"`
	Chance    float64 `json:"chance_level"`
	Chance95  float64 `json:"chance_95"`
	PValue    float64 `json:"p_value"`
	Confusion [][]int `json:"confusion"`
}

// Classification scores predicted labels against true ones, both in
// 0…classes−1. Errors: no labels, lengths that differ, fewer than 2
// classes, a label out of range (naming its index).
func Classification(pred, truth []int, classes int) (*ClassMetrics, error) {
	if len(pred) != len(truth) {
		return nil, fmt.Errorf("class metrics: %d predictions for %d truths", len(pred), len(truth))
	}
	if len(pred) == 0 {
		return nil, errors.New("class metrics: no labels")
	}
	if classes < 2 {
		return nil, fmt.Errorf("class metrics: need at least 2 classes, got %d", classes)
	}
	conf := make([][]int, classes)
	for c := range conf {
		conf[c] = make([]int, classes)
	}
	correct := 0
	for i, t := range truth {
		p := pred[i]
		if t < 0 || t >= classes {
			return nil, fmt.Errorf("class metrics: truth[%d] = %d is not a class in 0…%d", i, t, classes-1)
		}
		if p < 0 || p >= classes {
			return nil, fmt.Errorf("class metrics: pred[%d] = %d is not a class in 0…%d", i, p, classes-1)
		}
		conf[t][p]++
		if t == p {
			correct++
		}
	}
	N := float64(len(truth))
	m := &ClassMetrics{N: len(truth), Accuracy: float64(correct) / N, Confusion: conf}
	pe, most := 0.0, 0
	for c := 0; c < classes; c++ {
		nt, np := 0, 0
		for k := 0; k < classes; k++ {
			nt += conf[c][k]
			np += conf[k][c]
		}
		pe += float64(nt) / N * float64(np) / N
		most = max(most, nt)
	}
	if pe < 1 {
		m.Kappa = (m.Accuracy - pe) / (1 - pe)
	}
	m.Chance = float64(most) / N
	m.Chance95 = float64(binomialUpper(len(truth), m.Chance, 0.05)) / N
	m.PValue = binomialSF(correct, len(truth), m.Chance)
	return m, nil
}

// binomialTail returns sf[k] = P(X ≥ k) for X ~ Binomial(n, p), k = 0…n+1,
// from the probability mass computed in the log domain (log-gamma) and
// summed from the top, so that the small tail terms are added first.
func binomialTail(n int, p float64) []float64 {
	sf := make([]float64, n+2)
	switch {
	case p <= 0:
		sf[0] = 1
		return sf
	case p >= 1:
		for k := 0; k <= n; k++ {
			sf[k] = 1
		}
		return sf
	}
	lgn, _ := math.Lgamma(float64(n) + 1)
	lp, lq := math.Log(p), math.Log1p(-p)
	logpmf := make([]float64, n+1)
	mx := math.Inf(-1)
	for i := range logpmf {
		a, _ := math.Lgamma(float64(i) + 1)
		b, _ := math.Lgamma(float64(n-i) + 1)
		logpmf[i] = lgn - a - b + float64(i)*lp + float64(n-i)*lq
		mx = max(mx, logpmf[i])
	}
	s := 0.0
	for k := n; k >= 0; k-- {
		s += math.Exp(logpmf[k] - mx)
		sf[k] = min(1, math.Exp(mx)*s)
	}
	sf[0] = 1
	return sf
}

// binomialSF returns P(X ≥ k) for X ~ Binomial(n, p).
func binomialSF(k, n int, p float64) float64 {
	if k <= 0 {
		return 1
	}
	if k > n {
		return 0
	}
	return binomialTail(n, p)[k]
}

// binomialUpper returns the smallest k with P(X ≥ k) ≤ alpha for X ~
// Binomial(n, p), at most n: a count of successes that chance reaches with
// probability at most alpha.
func binomialUpper(n int, p, alpha float64) int {
	sf := binomialTail(n, p)
	for k := 0; k <= n; k++ {
		if sf[k] <= alpha {
			return k
		}
	}
	return n
}
