package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
)

// The synthetic population of the eval tests: a 2-D velocity x (vx, vy)
// following x_{t+1} = a·x_t + w_t, w ~ N(0, σ_w² I), observed by n channels
// with cosine tuning, preferred directions θ_i evenly spaced (Georgopoulos
// et al. 1986):
//
//	linear-Gaussian (Wu et al. 2006):  z_i = b + g·(cos θ_i, sin θ_i)·x + q_i,  q ~ N(0, σ_q²)
//	Poisson (Eden et al. 2004):        n_i ~ Poisson(exp(β_0 + β·(cos θ_i, sin θ_i)·x))
const (
	synA, synSW     = 0.95, 0.3 // stationary SD σ_w/√(1 − a²) = 0.96
	synBase, synG   = 5.0, 1.0
	synSQ           = 1.0
	synBeta0, synBe = 1.1, 0.6 // e^1.1 = 3 counts per bin at x = 0
)

type synthData struct {
	states, counts [][]float64
	labels         []float64 // 1 when vx > 0, else 0 (a label per bin)
}

func synthesize(T, n int, poisson bool, seed uint64) synthData {
	rng := rand.New(rand.NewPCG(seed, 0x73796e))
	var s synthData
	x := [2]float64{}
	for t := 0; t < T; t++ {
		for j := range x {
			x[j] = synA*x[j] + synSW*rng.NormFloat64()
		}
		z := make([]float64, n)
		for i := range z {
			th := 2 * math.Pi * float64(i) / float64(n)
			proj := math.Cos(th)*x[0] + math.Sin(th)*x[1]
			if poisson {
				z[i] = float64(poissonDraw(rng, math.Exp(synBeta0+synBe*proj)))
			} else {
				z[i] = synBase + synG*proj + synSQ*rng.NormFloat64()
			}
		}
		s.states = append(s.states, []float64{x[0], x[1]})
		s.counts = append(s.counts, z)
		l := 0.0
		if x[0] > 0 {
			l = 1
		}
		s.labels = append(s.labels, l)
	}
	return s
}

// poissonDraw draws a Poisson count by inversion (small means only).
func poissonDraw(rng *rand.Rand, mean float64) int {
	u := rng.Float64()
	p := math.Exp(-mean)
	k, c := 0, p
	for u > c && k < 1000 {
		k++
		p *= mean / float64(k)
		c += p
	}
	return k
}

// optimalR2 returns the R² of the optimal (steady-state Kalman) filter for
// the linear-Gaussian population: 1 − P∞_jj/Σ_jj with Σ = σ_w²/(1 − a²) the
// stationary variance, the same for both axes by symmetry.
func optimalR2(t *testing.T, n int) float64 {
	t.Helper()
	sigma := synSW * synSW / (1 - synA*synA)
	h := make([]float64, 2*n)
	q := make([]float64, n*n)
	mz := make([]float64, n)
	for i := 0; i < n; i++ {
		th := 2 * math.Pi * float64(i) / float64(n)
		h[2*i], h[2*i+1] = synG*math.Cos(th), synG*math.Sin(th)
		q[i*n+i] = synSQ * synSQ
		mz[i] = synBase
	}
	p := &decode.KalmanParams{
		StateNames: []string{"vx", "vy"}, StateMean: []float64{0, 0}, CountMean: mz,
		A: []float64{synA, 0, 0, synA}, W: []float64{synSW * synSW, 0, 0, synSW * synSW},
		H: h, Q: q, P0: []float64{sigma, 0, 0, sigma},
	}
	ss, err := decode.NewSteadyStateKalman(p, 1e-12, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var est decode.Estimate
	if err := ss.Decode(&est, &decode.Bin{Counts: mz}); err != nil {
		t.Fatal(err)
	}
	return 1 - est.Cov[0]/sigma
}

// writeMatrix writes rows to dir/name (.csv or .npy) and returns the path.
func writeMatrix(t *testing.T, dir, name string, names []string, rows [][]float64) string {
	t.Helper()
	m := &decode.Matrix{Rows: len(rows), Cols: len(rows[0]), Names: names}
	for _, r := range rows {
		m.Data = append(m.Data, r...)
	}
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".npy") {
		err = decode.WriteNPY(f, m)
	} else {
		err = decode.WriteCSVMatrix(f, m)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func channelNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("ch%d", i)
	}
	return names
}

func column(rows []float64) [][]float64 {
	out := make([][]float64, len(rows))
	for i, v := range rows {
		out[i] = []float64{v}
	}
	return out
}

// evalOut is the part of eval's JSON line the tests read.
type evalOut struct {
	Decoder string   `json:"decoder"`
	Rows    int      `json:"rows"`
	States  []string `json:"states"`
	Classes []string `json:"classes"`
	Purge   int      `json:"purge"`
	Folds   []struct {
		Fold    int    `json:"fold"`
		Test    [2]int `json:"test"`
		Train   int    `json:"train"`
		Metrics struct {
			N        int       `json:"n"`
			R2       []float64 `json:"r2"`
			Accuracy float64   `json:"accuracy"`
		} `json:"metrics"`
	} `json:"folds"`
	Pooled struct {
		N           int       `json:"n"`
		R2          []float64 `json:"r2"`
		Corr        []float64 `json:"corr"`
		RMSE        []float64 `json:"rmse"`
		MeanR2      float64   `json:"mean_r2"`
		MedianError float64   `json:"median_error"`
		Accuracy    float64   `json:"accuracy"`
		Kappa       float64   `json:"kappa"`
		Chance      float64   `json:"chance_level"`
		Chance95    float64   `json:"chance_95"`
	} `json:"pooled"`
}

func runEval(t *testing.T, args ...string) (evalOut, string) {
	t.Helper()
	code, out, errs := run(t, append([]string{"eval"}, args...)...)
	if code != 0 {
		t.Fatalf("eval %q: exit %d: %s", args, code, errs)
	}
	var r evalOut
	if err := json.Unmarshal([]byte(out), &r); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("output is not one JSON line: %v\n%s", err, out)
	}
	return r, out
}

// TestEvalRegressionOnKnownModels cross-validates every regression decoder
// on synthetic counts from a known model and checks the pooled R² against
// the range it must fall in: for the Kalman filters on linear-Gaussian data,
// within [−0.04, +0.02] of the optimal filter's R² for the true model; for
// the others, above a floor (measured: see the log) and below the optimum.
func TestEvalRegressionOnKnownModels(t *testing.T) {
	const T, n = 3000, 16
	dir := t.TempDir()
	lin := synthesize(T, n, false, 1)
	poi := synthesize(T, n, true, 2)
	linCounts := writeMatrix(t, dir, "lin_counts.csv", channelNames(n), lin.counts)
	linTarget := writeMatrix(t, dir, "lin_target.csv", []string{"vx", "vy"}, lin.states)
	poiCounts := writeMatrix(t, dir, "poi_counts.npy", nil, poi.counts)
	poiTarget := writeMatrix(t, dir, "poi_target.csv", []string{"vx", "vy"}, poi.states)
	opt := optimalR2(t, n)
	t.Logf("optimal filter R² for the linear-Gaussian population: %.4f", opt)
	cases := []struct {
		decoder        string
		counts, target string
		extra          []string
		lo, hi         float64
		purge          int
	}{
		{"kalman", linCounts, linTarget, nil, opt - 0.04, opt + 0.02, 0},
		{"kalman-ss", linCounts, linTarget, nil, opt - 0.04, opt + 0.02, 0},
		{"wiener", linCounts, linTarget, []string{"--window", "3"}, 0.7, opt + 0.02, 2},
		{"popvec", linCounts, linTarget, nil, 0.5, opt, 0},
		{"ppf", poiCounts, poiTarget, nil, 0.7, 1, 0},
		{"poisson", poiCounts, poiTarget, []string{"--tuning", "vonmises", "--prior", "continuity", "--grid", "15"}, 0.65, 1, 0},
		{"kalman", linCounts, linTarget, []string{"--lag", "2", "--folds", "5"}, 0.3, opt - 0.1, 2},
	}
	for _, c := range cases {
		t.Run(c.decoder+strings.Join(c.extra, ""), func(t *testing.T) {
			args := append([]string{"--decoder", c.decoder, "--counts", c.counts, "--target", c.target}, c.extra...)
			r, _ := runEval(t, args...)
			if r.Pooled.N != r.Rows || r.Rows != T-abs(lagOf(c.extra)) || r.Purge != c.purge || len(r.States) != 2 || r.States[0] != "vx" {
				t.Fatalf("pooled over %d of %d rows, purge %d, states %q", r.Pooled.N, r.Rows, r.Purge, r.States)
			}
			t.Logf("%s %v: R² %.3f (mean %.3f), corr %.3f, RMSE %.3f, median error %.3f", c.decoder, c.extra,
				r.Pooled.R2, r.Pooled.MeanR2, r.Pooled.Corr, r.Pooled.RMSE, r.Pooled.MedianError)
			for j, v := range r.Pooled.R2 {
				if v < c.lo || v > c.hi {
					t.Errorf("R² of %s = %.4f, want in [%.3f, %.3f]", r.States[j], v, c.lo, c.hi)
				}
			}
			// Folds: contiguous blocks covering every row once.
			next, tested := 0, 0
			for _, f := range r.Folds {
				if f.Test[0] != next || f.Metrics.N != f.Test[1]-f.Test[0]+1 {
					t.Fatalf("fold %d tests %v (n %d) after row %d", f.Fold, f.Test, f.Metrics.N, next)
				}
				next, tested = f.Test[1]+1, tested+f.Metrics.N
			}
			if tested != r.Rows {
				t.Errorf("folds test %d rows of %d", tested, r.Rows)
			}
		})
	}
}

func lagOf(args []string) int {
	for i, a := range args {
		if a == "--lag" {
			var l int
			fmt.Sscan(args[i+1], &l)
			return l
		}
	}
	return 0
}

// TestEvalClasses classifies a label per bin (the sign of vx) from the
// Poisson counts, and checks that labels unrelated to the counts score at
// chance: a leak of test labels into training would lift them.
func TestEvalClasses(t *testing.T) {
	const T, n = 2000, 16
	dir := t.TempDir()
	poi := synthesize(T, n, true, 3)
	counts := writeMatrix(t, dir, "counts.csv", nil, poi.counts)
	labels := writeMatrix(t, dir, "labels.csv", []string{"right"}, column(poi.labels))
	rng := rand.New(rand.NewPCG(9, 9))
	noise := make([]float64, T)
	for i := range noise {
		noise[i] = float64(rng.IntN(2) * 3) // labels 0 and 3, independent of everything
	}
	unrelated := writeMatrix(t, dir, "noise.csv", nil, column(noise))
	for _, c := range []struct {
		decoder string
		extra   []string
		lo      float64
	}{
		{"poisson", nil, 0.8},
		{"poisson", []string{"--prior", "continuity"}, 0.85},
		{"lda", nil, 0.8},
		{"gnb", nil, 0.75},
	} {
		t.Run(c.decoder+strings.Join(c.extra, ""), func(t *testing.T) {
			r, _ := runEval(t, append([]string{"--decoder", c.decoder, "--classes", "--counts", counts, "--target", labels}, c.extra...)...)
			p := r.Pooled
			t.Logf("%s %v: accuracy %.3f, kappa %.3f, chance %.3f (95 %% %.3f)", c.decoder, c.extra, p.Accuracy, p.Kappa, p.Chance, p.Chance95)
			if p.Accuracy < c.lo || p.Kappa < 0.5 || p.Accuracy <= p.Chance95 || len(r.Classes) != 2 || r.Classes[1] != "1" {
				t.Errorf("accuracy %.3f (want ≥ %.2f), kappa %.3f (want ≥ 0.5), chance 95 %% %.3f, classes %q", p.Accuracy, c.lo, p.Kappa, p.Chance95, r.Classes)
			}
			r, _ = runEval(t, append([]string{"--decoder", c.decoder, "--classes", "--counts", counts, "--target", unrelated}, c.extra...)...)
			p = r.Pooled
			t.Logf("  unrelated labels: accuracy %.3f, kappa %.3f, chance %.3f (95 %% %.3f)", p.Accuracy, p.Kappa, p.Chance, p.Chance95)
			if math.Abs(p.Kappa) > 0.08 || p.Accuracy > p.Chance95 || r.Classes[1] != "3" {
				t.Errorf("unrelated labels: accuracy %.3f, kappa %.3f; want chance (≤ %.3f, |κ| ≤ 0.08)", p.Accuracy, p.Kappa, p.Chance95)
			}
		})
	}
}

// TestEvalDeterministicAndFormats checks that eval is bit-identical from
// run to run and between the same data in CSV and .npy.
func TestEvalDeterministicAndFormats(t *testing.T) {
	dir := t.TempDir()
	d := synthesize(600, 8, false, 4)
	csvCounts := writeMatrix(t, dir, "c.csv", nil, d.counts)
	npyCounts := writeMatrix(t, dir, "c.npy", nil, d.counts)
	target := writeMatrix(t, dir, "t.csv", nil, d.states)
	npyTarget := writeMatrix(t, dir, "t.npy", nil, d.states)
	_, a := runEval(t, "--decoder", "kalman", "--counts", csvCounts, "--target", target, "--folds", "4")
	_, b := runEval(t, "--decoder", "kalman", "--counts", csvCounts, "--target", target, "--folds", "4")
	_, c := runEval(t, "--decoder", "kalman", "--counts", npyCounts, "--target", npyTarget, "--folds", "4")
	strip := func(s string) string { // the file names differ
		var m map[string]any
		json.Unmarshal([]byte(s), &m)
		delete(m, "counts")
		delete(m, "target")
		out, _ := json.Marshal(m)
		return string(out)
	}
	if a != b || strip(a) != strip(c) {
		t.Errorf("runs differ:\n%s\n%s\n%s", a, b, c)
	}
	if !strings.Contains(a, `"states":["x0","x1"]`) {
		t.Errorf("default state names missing: %s", a)
	}
}

func TestEvalBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	d := synthesize(200, 4, true, 5)
	good := writeMatrix(t, dir, "good.csv", []string{"a", "b", "c", "d"}, d.counts)
	target := writeMatrix(t, dir, "target.csv", []string{"vx", "vy"}, d.states)
	short := writeMatrix(t, dir, "short.csv", nil, d.states[:150])
	labels := writeMatrix(t, dir, "labels.csv", nil, column(d.labels))
	half := append([]float64{0.5}, d.labels[1:]...)
	halfLabels := writeMatrix(t, dir, "half.csv", []string{"label"}, column(half))
	constant := make([][]float64, len(d.counts))
	for i, r := range d.counts {
		constant[i] = append([]float64{r[0], r[1]}, 7)
	}
	constCounts := writeMatrix(t, dir, "const.csv", []string{"a", "b", "dead"}, constant)
	neg := append([][]float64{{1, -2, 3, 4}}, d.counts[1:]...)
	negCounts := writeMatrix(t, dir, "neg.csv", nil, neg)
	tinyCounts := writeMatrix(t, dir, "tiny.csv", nil, d.counts[:8])
	tinyTarget := writeMatrix(t, dir, "tiny_target.csv", nil, d.states[:8])
	ragged := write("ragged.csv", "a,b\n1,2\n3,4\n5\n")
	text := write("text.csv", "1;2\n3;x\n")
	badNPY := write("bad.npy", "\x93NUMPY\x01\x00\x10\x00{'descr': '<c8', ")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ragged", []string{"--decoder", "kalman", "--counts", ragged, "--target", target}, 1, "ragged.csv: line 4: 1 fields, but line 1 has 2"},
		{"not a number", []string{"--decoder", "kalman", "--counts", text, "--target", target}, 1, `text.csv: line 2, column 2: "x" is not a number`},
		{"npy", []string{"--decoder", "kalman", "--counts", badNPY, "--target", target}, 1, "bad.npy: offset"},
		{"missing file", []string{"--decoder", "kalman", "--counts", filepath.Join(dir, "none.csv"), "--target", target}, 1, "none.csv: no such file"},
		{"rows differ", []string{"--decoder", "kalman", "--counts", good, "--target", short}, 1, "good.csv has 200 rows but " + short + " has 150"},
		{"constant channel", []string{"--decoder", "kalman", "--counts", constCounts, "--target", target}, 1, "const.csv: column 3 (dead) is 7 in every row: it carries no information"},
		{"negative count", []string{"--decoder", "ppf", "--counts", negCounts, "--target", target}, 1, "neg.csv: line 1, column 2: count -2 is negative"},
		{"label not integer", []string{"--decoder", "lda", "--classes", "--counts", good, "--target", halfLabels}, 1, "half.csv: line 2, column 1: label 0.5 is not an integer"},
		{"two label columns", []string{"--decoder", "lda", "--classes", "--counts", good, "--target", target}, 2, "the target needs one column of labels, 2 are selected"},
		{"unknown column", []string{"--decoder", "kalman", "--counts", good, "--target", target, "--columns", "vz"}, 2, `--columns: "vz" is neither a column name`},
		{"too few bins", []string{"--decoder", "kalman", "--counts", tinyCounts, "--target", tinyTarget, "--folds", "2"}, 1, "eval: fold 0 (test bins 0–3): kalman fit: too few samples: T = 4 bins"},
		{"poisson grid of 4", []string{"--decoder", "poisson", "--counts", good, "--target", good}, 2, "poisson decodes a grid over 1 or 2 target dimensions; " + good + " has 4 columns"},
		{"no decoder", []string{"--counts", good, "--target", target}, 2, "--decoder: required"},
		{"unknown decoder", []string{"--decoder", "lstm", "--counts", good, "--target", target}, 2, `--decoder "lstm" is not one of`},
		{"classifier without classes", []string{"--decoder", "lda", "--counts", good, "--target", labels}, 2, `--decoder "lda" classifies: give --classes`},
		{"regression with classes", []string{"--decoder", "kalman", "--classes", "--counts", good, "--target", labels}, 2, `--decoder "kalman" does not classify`},
		{"window on kalman", []string{"--decoder", "kalman", "--window", "3", "--counts", good, "--target", target}, 2, "--window: the taps of the wiener filter"},
		{"bin frames", []string{"--decoder", "kalman", "--bin", "1500us", "--rate", "500", "--counts", good, "--target", target}, 2, "--bin 1.5ms at --rate 500 is 0.75 frames"},
		{"missing files", []string{"--decoder", "kalman"}, 2, "--target: the target file is required"},
		{"folds", []string{"--decoder", "kalman", "--folds", "1", "--counts", good, "--target", target}, 2, "--folds: need at least 2"},
		{"prior", []string{"--decoder", "kalman", "--prior", "continuity", "--counts", good, "--target", target}, 2, "--prior: applies to the poisson decoder only"},
		{"extra argument", []string{"--decoder", "kalman", "--counts", good, "--target", target, "stray"}, 2, `unexpected arguments ["stray"]`},
		{"eeg without files", []string{"--decoder", "csp-lda", "--classes", "T1,T2", "--window", "1s:2s", "--band", "7:30"}, 2, "no EDF file given"},
		{"eeg window", []string{"--decoder", "csp-lda", "--edf", "x.edf", "--classes", "T1,T2", "--window", "2s:1s", "--band", "7:30"}, 2, "--window: the end 1s must come after the start 2s"},
		{"eeg classes", []string{"--decoder", "csp-lda", "--edf", "x.edf", "--classes", "T1", "--window", "1:2", "--band", "7:x"}, 2, `--band: "x" in "7:x" is not a finite number`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := run(t, append([]string{"eval"}, c.args...)...)
			if code != c.code || !strings.Contains(errs, c.want) || out != "" {
				t.Errorf("exit %d (want %d), stdout %q, stderr:\n%s\nwant it to contain %q", code, c.code, out, errs, c.want)
			}
		})
	}
}

// eegFile is the PhysioNet EEG Motor Movement/Imagery recording of subject
// 1, run 4 (imagined opening and closing of the left (T1) or right (T2)
// fist; Schalk et al. 2004, Goldberger et al. 2000), shared read-only.
var eegFile = filepath.Join("..", "..", "..", "shared", "data", "eegmmidb", "S001R04.edf")

// TestEvalEEG runs the CSP + LDA pipeline on the motor imagery run: one
// epoch per T1 and T2 annotation, a valid accuracy, and a label-permutation
// control near chance (a pipeline that trained on its test trials would
// score well above chance on permuted labels too). TestShuffleControl
// checks that the control is seeded.
func TestEvalEEG(t *testing.T) {
	if _, err := os.Stat(eegFile); err != nil {
		t.Skipf("the PhysioNet EEG file is not available (%v); it is shared at /work/shared/data/eegmmidb/S001R04.edf", err)
	}
	e, err := acquire.ReadEDF(eegFile)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, a := range e.Annotations {
		if a.Text == "T1" || a.Text == "T2" {
			want++
		}
	}
	code, out, errs := run(t, "eval", "--decoder", "csp-lda", "--edf", eegFile, "--classes", "T1,T2", "--window", "1s:2s", "--band", "7:30", "--folds", "5", "--shuffles", "4", "--seed", "7")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		Channels, Epochs, Annotations, Skipped int
		PerClass                               []int   `json:"per_class"`
		RateHz                                 float64 `json:"rate_hz"`
		Pooled                                 struct {
			N               int
			Accuracy, Kappa float64
			Chance          float64 `json:"chance_level"`
			Chance95        float64 `json:"chance_95"`
			PValue          float64 `json:"p_value"`
		}
		Shuffled struct {
			N            int
			MeanAccuracy float64 `json:"mean_accuracy"`
			PValue       float64 `json:"p_value"`
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	t.Logf("S001R04 T1/T2: %d epochs (%v), %d channels at %g Hz: accuracy %.3f, kappa %.3f, chance %.3f (95 %% limit %.3f, binomial p %.3f); permuted labels: mean accuracy %.3f over %d, permutation p %.3f",
		r.Epochs, r.PerClass, r.Channels, r.RateHz, r.Pooled.Accuracy, r.Pooled.Kappa, r.Pooled.Chance, r.Pooled.Chance95, r.Pooled.PValue, r.Shuffled.MeanAccuracy, r.Shuffled.N, r.Shuffled.PValue)
	if r.Epochs != want || r.Annotations != want || r.Skipped != 0 || r.Pooled.N != want || want < 10 {
		t.Errorf("%d epochs, %d annotations, %d skipped, %d scored; the file has %d T1/T2 annotations", r.Epochs, r.Annotations, r.Skipped, r.Pooled.N, want)
	}
	if r.Channels != 64 || r.RateHz != 160 {
		t.Errorf("%d channels at %g Hz, want 64 at 160", r.Channels, r.RateHz)
	}
	if !(r.Pooled.Accuracy >= 0 && r.Pooled.Accuracy <= 1) || r.Pooled.Chance < 0.5 || r.Pooled.Chance95 <= r.Pooled.Chance {
		t.Errorf("accuracy %v, chance %v, 95 %% limit %v", r.Pooled.Accuracy, r.Pooled.Chance, r.Pooled.Chance95)
	}
	if r.Shuffled.N != 4 || r.Shuffled.MeanAccuracy < 0.25 || r.Shuffled.MeanAccuracy > 0.7 {
		t.Errorf("permuted labels: mean accuracy %.3f over %d permutations; want near chance", r.Shuffled.MeanAccuracy, r.Shuffled.N)
	}
	// Epochs that leave the recording are skipped and reported; too few
	// left, or a class with no annotation, is an error.
	code, _, errs = run(t, "eval", "--decoder", "csp-lda", "--edf", eegFile, "--classes", "T1,T2", "--window", "1s:200s", "--band", "7:30", "--shuffles", "0")
	if code != 1 || !strings.Contains(errs, `0 epochs of class "T1" (of 15 annotations T1/T2 in `+eegFile+"; 15 skipped, the first: "+eegFile+": T2 at 4.2s: the window 5.2–204.2s") || !strings.Contains(errs, "leaves the recording") {
		t.Errorf("epochs past the end: exit %d, stderr %s", code, errs)
	}
	code, _, errs = run(t, "eval", "--decoder", "csp-lda", "--edf", eegFile, "--classes", "T1,T9", "--window", "1s:2s", "--band", "7:30", "--shuffles", "0")
	if code != 1 || !strings.Contains(errs, `0 epochs of class "T9" (of 8 annotations T1/T9`) {
		t.Errorf("a class without annotations: exit %d, stderr %s", code, errs)
	}
	code, _, errs = run(t, "eval", "--decoder", "csp-lda", "--edf", eegFile, "--classes", "T1,T2", "--window", "1s:2s", "--band", "7:90")
	if code != 2 || !strings.Contains(errs, "--band: the high edge 90 Hz must be below the Nyquist frequency 80 Hz") {
		t.Errorf("band above Nyquist: exit %d, stderr %s", code, errs)
	}
}

// TestShuffleControl checks that the label-permutation control is
// reproducible (the same seed, the same permutations, bit for bit), that
// the seed matters, and that planted class differences score above the
// permutations.
func TestShuffleControl(t *testing.T) {
	const C, S, trials = 4, 60, 24
	rng := rand.New(rand.NewPCG(21, 22))
	ep := &epochs{channels: channelNames(C), rate: 100}
	for k := 0; k < trials; k++ {
		l := k % 2
		tr := make([]float64, S*C)
		for i := range tr {
			tr[i] = rng.NormFloat64()
			if i%C == l { // class l has 3× the variance on channel l
				tr[i] *= 3
			}
		}
		ep.trials, ep.labels = append(ep.trials, tr), append(ep.labels, l)
	}
	o := &eegOptions{classList: []string{"a", "b"}, filter: 1}
	fds, err := decode.ContiguousFolds(trials, 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	pred, err := cspCV(ep, ep.labels, fds, o)
	if err != nil {
		t.Fatal(err)
	}
	m, err := decode.Classification(pred, ep.labels, 2)
	if err != nil {
		t.Fatal(err)
	}
	a, err := shuffleControl(ep, fds, o, 10, 5, m.Accuracy)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := shuffleControl(ep, fds, o, 10, 5, m.Accuracy)
	c, _ := shuffleControl(ep, fds, o, 10, 6, m.Accuracy)
	t.Logf("planted: accuracy %.3f; permuted (seed 5): mean %.3f, max %.3f, p %.3f; seed 6: mean %.3f", m.Accuracy, a.MeanAccuracy, a.MaxAccuracy, a.PValue, c.MeanAccuracy)
	if *a != *b {
		t.Errorf("the same seed gave %+v and %+v", a, b)
	}
	if c.MeanAccuracy == a.MeanAccuracy && c.MaxAccuracy == a.MaxAccuracy {
		t.Errorf("seeds 5 and 6 gave the same permutations")
	}
	if m.Accuracy < 0.9 || a.PValue > 1.0/11+1e-12 || a.MeanAccuracy > 0.7 {
		t.Errorf("planted accuracy %.3f, permutation p %.3f, mean permuted accuracy %.3f", m.Accuracy, a.PValue, a.MeanAccuracy)
	}
}
