package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
)

func init() {
	register("eval", command{
		"eval --decoder {kalman,kalman-ss,ppf,poisson,popvec,wiener} --counts FILE --target FILE [--bin 50ms] [--folds 10] [--lag N] [--window N] [--prior {flat,continuity}] [--classes]\n" +
			"  bciloop eval --decoder csp-lda --edf FILE... --classes T1,T2 --window 1s:2s --band 7:30 [--folds 10] [--seed S]",
		cmdEval,
	})
}

// Decoders of spike counts: regression on a continuous target, and
// classification of a label per bin (--classes).
var (
	regressionDecoders = []string{"kalman", "kalman-ss", "poisson", "popvec", "ppf", "wiener"}
	classDecoders      = []string{"gnb", "lda", "poisson"}
)

// decoderArg returns the value of --decoder in args, read ahead of flag
// parsing because it selects the flags (the EEG and spike-count modes give
// --window and --classes different meanings).
func decoderArg(args []string) string {
	for i, a := range args {
		for _, p := range []string{"--decoder", "-decoder"} {
			if a == p && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, p+"="); ok {
				return v
			}
		}
	}
	return ""
}

func cmdEval(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if decoderArg(args) == "csp-lda" {
		return evalEEG(args, stdout, stderr)
	}
	return evalCounts(args, stdout, stderr)
}

// countsOptions are the flags of eval and calibrate on spike counts.
type countsOptions struct {
	decoder        string
	target         string
	columns, names string
	bin            time.Duration
	rate           float64
	folds          int
	lag            int
	window         int
	prior, tuning  string
	grid           int
	classes        bool
}

func (o *countsOptions) register(fs *flag.FlagSet, eval bool) {
	fs.StringVar(&o.decoder, "decoder", "", "decoder: "+strings.Join(regressionDecoders, ", ")+"; with --classes: "+strings.Join(classDecoders, ", "))
	fs.StringVar(&o.target, "target", "", "target file (.csv, .tsv, .txt or .npy): one row per bin, the state (kinematics) or, with --classes, one integer label")
	fs.StringVar(&o.columns, "columns", "", "target columns to use, comma-separated 0-based indices or header names (default: all)")
	fs.StringVar(&o.names, "names", "", "names of the state columns, comma-separated (default: the target header, else x0, x1, …)")
	fs.DurationVar(&o.bin, "bin", 50*time.Millisecond, "duration of one bin (row)")
	fs.Float64Var(&o.rate, "rate", 1000, "sample clock of the recording the bins were counted on, frames per second (bin × rate must be a whole number of frames; the parameter files record both, and the loop checks them)")
	if eval {
		fs.IntVar(&o.folds, "folds", 10, "cross-validation folds: fold k tests the k-th contiguous block of bins")
	}
	fs.IntVar(&o.lag, "lag", 0, "pair the counts of bin t with the target of bin t+N (N > 0: activity leads the movement)")
	fs.IntVar(&o.window, "window", 0, "bins of count history the wiener filter weighs (its taps; default 10); other decoders take one bin")
	fs.StringVar(&o.prior, "prior", decode.PriorFlat, "poisson prior: flat or continuity (a discrete Bayes filter)")
	fs.StringVar(&o.tuning, "tuning", decode.TuningHistogram, "poisson tuning curves on a grid: histogram, cosine, vonmises or gaussian")
	fs.IntVar(&o.grid, "grid", 25, "poisson grid points per target dimension (the grid spans the training range)")
	fs.BoolVar(&o.classes, "classes", false, "the target is one integer label per bin: classify (poisson over classes, lda, gnb); reports accuracy and Cohen's kappa")
}

// check returns every usage problem of o; set reports which flags were
// given.
func (o *countsOptions) check(set map[string]bool, eval bool) (width int, problems []error) {
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	list := regressionDecoders
	if o.classes {
		list = classDecoders
	}
	switch {
	case o.decoder == "":
		add("--decoder: required (%s)", strings.Join(list, ", "))
	case !slices.Contains(list, o.decoder):
		if o.classes {
			add("--decoder %q does not classify; with --classes use %s", o.decoder, strings.Join(list, ", "))
		} else if slices.Contains(classDecoders, o.decoder) {
			add("--decoder %q classifies: give --classes and a target of labels", o.decoder)
		} else {
			add("--decoder %q is not one of %s (and csp-lda for EEG)", o.decoder, strings.Join(list, ", "))
		}
	}
	if o.target == "" {
		add("--target: the target file is required")
	}
	if !(o.rate > 0) || math.IsInf(o.rate, 0) {
		add("--rate: must be > 0 frames per second, got %g", o.rate)
	}
	if o.bin <= 0 {
		add("--bin: must be > 0, got %v", o.bin)
	} else if o.rate > 0 {
		w := o.bin.Seconds() * o.rate
		width = int(math.Round(w))
		if width < 1 || math.Abs(w-float64(width)) > 1e-6 {
			add("--bin %v at --rate %g is %g frames; it must be a whole number of frames ≥ 1", o.bin, o.rate, w)
		}
	}
	if eval && o.folds < 2 {
		add("--folds: need at least 2, got %d", o.folds)
	}
	if o.window < 0 {
		add("--window: must be ≥ 1 bin, got %d", o.window)
	} else if set["window"] && o.decoder != "wiener" {
		add("--window: the taps of the wiener filter; %s decodes one bin at a time (choose a wider --bin instead)", o.decoder)
	}
	if o.prior != decode.PriorFlat && o.prior != decode.PriorContinuity {
		add("--prior: %q is not flat or continuity", o.prior)
	} else if set["prior"] && o.decoder != "poisson" {
		add("--prior: applies to the poisson decoder only")
	}
	switch o.tuning {
	case decode.TuningHistogram, decode.TuningCosine, decode.TuningVonMises, decode.TuningGaussian:
		if set["tuning"] && (o.decoder != "poisson" || o.classes && o.tuning != decode.TuningHistogram) {
			add("--tuning: applies to the poisson decoder on a grid (classes take histogram)")
		}
	default:
		add("--tuning: %q is not histogram, cosine, vonmises or gaussian", o.tuning)
	}
	if o.grid < 2 {
		add("--grid: need at least 2 points per dimension, got %d", o.grid)
	} else if set["grid"] && (o.decoder != "poisson" || o.classes) {
		add("--grid: applies to the poisson decoder on a grid")
	}
	if o.lag < -1e6 || o.lag > 1e6 {
		add("--lag: %d bins is out of range", o.lag)
	}
	return width, problems
}

// taps returns the bins of history the decoder weighs.
func (o *countsOptions) taps() int {
	if o.decoder == "wiener" {
		if o.window == 0 {
			return decode.DefaultWienerConfig().Lags
		}
		return o.window
	}
	return 1
}

// countBins are the bins of a counts file with the target they are paired
// with, named.
type countBins struct {
	bins     []decode.Bin
	channels int
	names    []string // state names, or class names with --classes
}

// selectColumns returns the target columns that spec (comma-separated
// indices or header names; empty: all) selects.
func selectColumns(spec string, m *decode.Matrix, path string) ([]int, error) {
	if spec == "" {
		cols := make([]int, m.Cols)
		for j := range cols {
			cols[j] = j
		}
		return cols, nil
	}
	var cols []int
	for _, f := range strings.Split(spec, ",") {
		f = strings.TrimSpace(f)
		if j := m.ColumnIndex(f); j >= 0 {
			cols = append(cols, j)
			continue
		}
		j, err := strconv.Atoi(f)
		if err != nil || j < 0 || j >= m.Cols {
			return nil, usageErr("--columns: %q is neither a column name of %s nor an index in 0…%d", f, path, m.Cols-1)
		}
		cols = append(cols, j)
	}
	return cols, nil
}

// stateNames returns the names of the selected columns: --names, else the
// header's, else x0, x1, ….
func stateNames(spec string, m *decode.Matrix, cols []int) ([]string, error) {
	if spec != "" {
		names := strings.Split(spec, ",")
		if len(names) != len(cols) {
			return nil, usageErr("--names: %d names for %d target columns", len(names), len(cols))
		}
		return names, nil
	}
	names := make([]string, len(cols))
	for i, j := range cols {
		if m != nil && m.Names != nil && m.Names[j] != "" {
			names[i] = m.Names[j]
		} else {
			names[i] = "x" + strconv.Itoa(j)
		}
	}
	return names, nil
}

// loadCounts reads a counts file and its target file and pairs their rows
// as bins of width frames at o.rate, bin t starting at frame t·width.
func loadCounts(countsPath string, o *countsOptions, width int) (*countBins, error) {
	cm, err := decode.LoadMatrix(countsPath)
	if err != nil {
		return nil, err
	}
	tm, err := decode.LoadMatrix(o.target)
	if err != nil {
		return nil, err
	}
	if cm.Rows != tm.Rows {
		return nil, fmt.Errorf("%s has %d rows but %s has %d; they must hold the same bins, one row each", countsPath, cm.Rows, o.target, tm.Rows)
	}
	cols, err := selectColumns(o.columns, tm, o.target)
	if err != nil {
		return nil, err
	}
	if o.decoder == "poisson" && !o.classes && len(cols) > 2 {
		return nil, usageErr("poisson decodes a grid over 1 or 2 target dimensions; %s has %d columns: select them with --columns", o.target, len(cols))
	}
	if err := checkCounts(cm, countsPath, o.decoder); err != nil {
		return nil, err
	}
	cb := &countBins{channels: cm.Cols}
	truth := make([][]float64, tm.Rows)
	if o.classes {
		if len(cols) != 1 {
			return nil, usageErr("--classes: the target needs one column of labels, %d are selected (use --columns)", len(cols))
		}
		labels, names, err := classLabels(tm, cols[0], o.target)
		if err != nil {
			return nil, err
		}
		if o.names != "" {
			given := strings.Split(o.names, ",")
			if len(given) != len(names) {
				return nil, usageErr("--names: %d names for the %d classes (labels %s)", len(given), len(names), strings.Join(names, ", "))
			}
			names = given
		}
		for t, l := range labels {
			truth[t] = []float64{float64(l)}
		}
		cb.names = names
	} else {
		if cb.names, err = stateNames(o.names, tm, cols); err != nil {
			return nil, err
		}
		for t := range truth {
			row := tm.Row(t)
			s := make([]float64, len(cols))
			for i, j := range cols {
				s[i] = row[j]
			}
			truth[t] = s
		}
		for i, j := range cols {
			if constantColumn(tm, j) {
				return nil, fmt.Errorf("%s: column %d (%s) is %g in every row: a constant target cannot be decoded", o.target, j+1, cb.names[i], tm.Row(0)[j])
			}
		}
	}
	bins := make([]decode.Bin, cm.Rows)
	for t := range bins {
		bins[t] = decode.Bin{Seq: uint64(t), Start: int64(t) * int64(width), Width: width, Rate: o.rate, Counts: cm.Row(t), Truth: truth[t]}
	}
	cb.bins = bins
	return cb, nil
}

// checkCounts rejects, naming the file, line and column, what no decoder
// can use: a constant channel, and for the count models (poisson, ppf) a
// negative count.
func checkCounts(m *decode.Matrix, path, decoder string) error {
	var errs []error
	for j := 0; j < m.Cols; j++ {
		if constantColumn(m, j) {
			name := ""
			if m.Names != nil {
				name = " (" + m.Names[j] + ")"
			}
			errs = append(errs, fmt.Errorf("%s: column %d%s is %g in every row: it carries no information; remove it", path, j+1, name, m.Row(0)[j]))
		}
	}
	if decoder == "poisson" || decoder == "ppf" {
		for i := 0; i < m.Rows; i++ {
			for j, v := range m.Row(i) {
				if v < 0 {
					return fmt.Errorf("%s: %s, column %d: count %g is negative; %s models spike counts ≥ 0", path, m.Where(i), j+1, v, decoder)
				}
			}
		}
	}
	return errors.Join(errs...)
}

func constantColumn(m *decode.Matrix, j int) bool {
	v := m.Row(0)[j]
	for i := 1; i < m.Rows; i++ {
		if m.Row(i)[j] != v {
			return false
		}
	}
	return true
}

// classLabels maps the integer labels of column j to class indices 0…C−1 in
// ascending order of the labels, named by the labels.
func classLabels(m *decode.Matrix, j int, path string) ([]int, []string, error) {
	seen := map[int64]bool{}
	raw := make([]int64, m.Rows)
	for i := 0; i < m.Rows; i++ {
		v := m.Row(i)[j]
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return nil, nil, fmt.Errorf("%s: %s, column %d: label %g is not an integer", path, m.Where(i), j+1, v)
		}
		raw[i] = int64(v)
		seen[raw[i]] = true
	}
	if len(seen) < 2 {
		return nil, nil, fmt.Errorf("%s: column %d holds one label (%d) in every row; classification needs at least 2 classes", path, j+1, raw[0])
	}
	vals := make([]int64, 0, len(seen))
	for v := range seen {
		vals = append(vals, v)
	}
	slices.Sort(vals)
	names := make([]string, len(vals))
	index := map[int64]int{}
	for c, v := range vals {
		names[c] = strconv.FormatInt(v, 10)
		index[v] = c
	}
	labels := make([]int, m.Rows)
	for i, v := range raw {
		labels[i] = index[v]
	}
	return labels, names, nil
}

// pairLag pairs the counts of each bin with the truth of the bin lag bins
// later (earlier for lag < 0), keeping only pairs whose bins are lag bin
// widths apart in the stream (no gap between them).
func pairLag(bins []decode.Bin, lag int) []decode.Bin {
	if lag == 0 {
		return bins
	}
	var out []decode.Bin
	for i := range bins {
		j := i + lag
		if j < 0 || j >= len(bins) {
			continue
		}
		if bins[j].Start-bins[i].Start != int64(lag)*int64(bins[i].Width) {
			continue
		}
		b := bins[i]
		b.Truth = bins[j].Truth
		out = append(out, b)
	}
	return out
}

// fitter fits the decoder o names on training bins.
type fitter struct {
	decoder       string
	names         []string
	classes       bool
	taps          int
	prior, tuning string
	grid          int
}

// fitted is a decoder fitted on bins, with the writer of its parameter
// file.
type fitted struct {
	dec    decode.Decoder
	format string
	write  func(io.Writer) error
}

func (f *fitter) fit(train []decode.Bin) (*fitted, error) {
	switch f.decoder {
	case "kalman", "kalman-ss":
		cfg := decode.DefaultKalmanConfig()
		cfg.StateNames = f.names
		p, err := decode.FitKalmanBins(train, cfg)
		if err != nil {
			return nil, err
		}
		var dec decode.Decoder
		if f.decoder == "kalman" {
			dec, err = decode.NewKalman(p)
		} else {
			dec, err = decode.NewSteadyStateKalman(p, cfg.SteadyTol, cfg.SteadyMaxIter)
		}
		return &fitted{dec, decode.KalmanFormat, func(w io.Writer) error { return decode.WriteKalmanParams(w, p) }}, err
	case "ppf":
		p, err := decode.FitPPFBins(train, decode.PPFConfig{StateNames: f.names})
		if err != nil {
			return nil, err
		}
		dec, err := decode.NewPPF(p)
		return &fitted{dec, decode.PPFFormat, func(w io.Writer) error { return decode.WritePPFParams(w, p) }}, err
	case "popvec":
		p, err := decode.FitPopVecBins(train, decode.PopVecConfig{StateNames: f.names})
		if err != nil {
			return nil, err
		}
		dec, err := decode.NewPopVec(p)
		return &fitted{dec, decode.PopVecFormat, func(w io.Writer) error { return decode.WritePopVecParams(w, p) }}, err
	case "wiener":
		cfg := decode.DefaultWienerConfig()
		cfg.StateNames, cfg.Lags = f.names, f.taps
		p, err := decode.FitWienerBins(train, cfg)
		if err != nil {
			return nil, err
		}
		dec, err := decode.NewWiener(p)
		return &fitted{dec, decode.WienerFormat, func(w io.Writer) error { return decode.WriteWienerParams(w, p) }}, err
	case "poisson":
		cfg := decode.DefaultPoissonConfig()
		cfg.Prior = f.prior
		if f.classes {
			cfg.Classes = f.names
		} else {
			cfg.Tuning = f.tuning
			for j, name := range f.names {
				lo, hi := math.Inf(1), math.Inf(-1)
				for _, b := range train {
					lo, hi = min(lo, b.Truth[j]), max(hi, b.Truth[j])
				}
				if !(hi > lo) {
					return nil, fmt.Errorf("poisson fit: state %s is constant (%g) over the training bins", name, lo)
				}
				cfg.Axes = append(cfg.Axes, decode.GridAxis{Name: name, Min: lo, Max: hi, Points: f.grid})
			}
		}
		p, err := decode.FitPoissonBins(train, cfg)
		if err != nil {
			return nil, err
		}
		dec, err := decode.NewPoisson(p)
		return &fitted{dec, decode.PoissonFormat, func(w io.Writer) error { return decode.WritePoissonParams(w, p) }}, err
	case "lda", "gnb":
		feats := make([][]float64, len(train))
		labels := make([]int, len(train))
		for i, b := range train {
			feats[i], labels[i] = b.Counts, int(b.Truth[0])
		}
		if f.decoder == "lda" {
			p, err := decode.FitLDA(feats, labels, decode.LDAConfig{Classes: f.names, Shrinkage: decode.ShrinkLedoitWolf})
			if err != nil {
				return nil, err
			}
			dec, err := decode.NewLDA(p)
			return &fitted{dec, decode.LDAFormat, func(w io.Writer) error { return decode.WriteLDAParams(w, p) }}, err
		}
		p, err := decode.FitGNB(feats, labels, f.names)
		if err != nil {
			return nil, err
		}
		dec, err := decode.NewGNB(p)
		return &fitted{dec, decode.GNBFormat, func(w io.Writer) error { return decode.WriteGNBParams(w, p) }}, err
	}
	return nil, fmt.Errorf("unknown decoder %q", f.decoder)
}

// evalReport is the JSON line of eval on spike counts.
type evalReport struct {
	Decoder  string       `json:"decoder"`
	Counts   string       `json:"counts"`
	Target   string       `json:"target"`
	Bins     int          `json:"bins"` // rows of the files
	Rows     int          `json:"rows"` // bins paired with a target (after --lag)
	Channels int          `json:"channels"`
	States   []string     `json:"states,omitempty"`
	Classes  []string     `json:"classes,omitempty"`
	BinS     float64      `json:"bin_s"`
	Lag      int          `json:"lag"`
	Window   int          `json:"window"`
	Purge    int          `json:"purge"`
	Prior    string       `json:"prior,omitempty"`
	Folds    []foldReport `json:"folds"`
	Pooled   any          `json:"pooled"`
}

// foldReport is one fold of a cross-validation: its test rows (first and
// last), training rows, and scores.
type foldReport struct {
	Fold    int    `json:"fold"`
	Test    [2]int `json:"test"`
	Train   int    `json:"train"`
	Metrics any    `json:"metrics"`
}

func evalCounts(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o countsOptions
	o.register(fs, true)
	counts := fs.String("counts", "", "spike counts (.csv, .tsv, .txt or .npy): one row per bin, one column per channel")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: bciloop eval --decoder NAME --counts FILE --target FILE [flags]
       bciloop eval --decoder csp-lda --edf FILE... --classes T1,T2 --window 1s:2s --band 7:30 [flags]

Cross-validates a decoder offline and prints one JSON line of metrics, per
fold and pooled. Fold k tests the k-th contiguous block of bins and trains on
the rest, less the bins within window−1+|lag| of the block; filters restart
from their prior at each block. Regression: R², correlation and RMSE per
state, median and mean Euclidean error. --classes: accuracy, Cohen's kappa and
the chance level. "bciloop eval --decoder csp-lda -h" lists the EEG flags.

flags:`)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	width, problems := o.check(set, true)
	if *counts == "" {
		problems = append(problems, errors.New("--counts: the counts file is required"))
	}
	if len(pos) > 0 {
		problems = append(problems, fmt.Errorf("unexpected arguments %q", pos))
	}
	if len(problems) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("eval: %w", errors.Join(problems...))}
	}
	cb, err := loadCounts(*counts, &o, width)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	bins := pairLag(cb.bins, o.lag)
	taps := o.taps()
	purge := taps - 1 + abs(o.lag)
	folds, err := decode.ContiguousFolds(len(bins), o.folds, purge)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	f := &fitter{decoder: o.decoder, names: cb.names, classes: o.classes, taps: taps, prior: o.prior, tuning: o.tuning, grid: o.grid}
	pred, err := decode.CrossValidateBins(bins, folds, func(_ int, train []decode.Bin) (decode.Decoder, error) {
		ft, err := f.fit(train)
		if err != nil {
			return nil, err
		}
		return ft.dec, nil
	})
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	rep := evalReport{
		Decoder: o.decoder, Counts: *counts, Target: o.target, Bins: len(cb.bins), Rows: len(bins),
		Channels: cb.channels, BinS: o.bin.Seconds(), Lag: o.lag, Window: taps, Purge: purge,
	}
	if o.decoder == "poisson" {
		rep.Prior = o.prior
	}
	score := func(lo, hi int) (any, error) {
		if o.classes {
			p, y := make([]int, hi-lo), make([]int, hi-lo)
			for r := lo; r < hi; r++ {
				p[r-lo], y[r-lo] = argmax(pred[r]), int(bins[r].Truth[0])
			}
			return decode.Classification(p, y, len(cb.names))
		}
		p, y := pred[lo:hi], make([][]float64, hi-lo)
		for r := lo; r < hi; r++ {
			y[r-lo] = bins[r].Truth
		}
		return decode.Regression(p, y)
	}
	if o.classes {
		rep.Classes = cb.names
	} else {
		rep.States = cb.names
	}
	for _, fd := range folds {
		m, err := score(fd.TestStart, fd.TestEnd)
		if err != nil {
			return fmt.Errorf("eval: fold %d: %w", fd.Index, err)
		}
		rep.Folds = append(rep.Folds, foldReport{Fold: fd.Index, Test: [2]int{fd.TestStart, fd.TestEnd - 1}, Train: len(fd.Train), Metrics: m})
	}
	if rep.Pooled, err = score(0, len(bins)); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	return json.NewEncoder(stdout).Encode(rep)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// argmax returns the index of the largest value (the first of ties).
func argmax(x []float64) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// eegOptions are the flags of eval and calibrate on EEG trials.
type eegOptions struct {
	files         []string
	classes       string
	window, band  string
	order, filter int
	classList     []string
	win, bandHz   [2]float64
}

func (o *eegOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.classes, "classes", "", "the two annotation texts to classify, comma-separated (for example T1,T2 of the PhysioNet motor imagery runs)")
	fs.StringVar(&o.window, "window", "", "epoch window from each annotation's onset, START:END (durations, or seconds), for example 1s:2s")
	fs.StringVar(&o.band, "band", "", "band-pass before CSP, LOW:HIGH in Hz, for example 7:30 (zero-phase Butterworth)")
	fs.IntVar(&o.order, "order", 4, "order of the Butterworth band-pass prototype (2·order poles, run forward and backward)")
	fs.IntVar(&o.filter, "filters", 2, "CSP spatial filters per class (2·filters log-variance features)")
}

// check parses and checks the EEG options.
func (o *eegOptions) check() []error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if len(o.files) == 0 {
		add("no EDF file given")
	}
	o.classList = nil
	for _, c := range strings.Split(o.classes, ",") {
		if c = strings.TrimSpace(c); c != "" {
			o.classList = append(o.classList, c)
		}
	}
	if len(o.classList) != 2 || o.classList[0] == o.classList[1] {
		add("--classes: CSP needs exactly two distinct annotation texts, got %q", o.classes)
	}
	var err error
	if o.window == "" {
		add("--window: the epoch window START:END is required (for example 1s:2s)")
	} else if o.win, err = parseSpan(o.window, true); err != nil {
		add("--window: %v", err)
	} else if !(o.win[1] > o.win[0]) {
		add("--window: the end %gs must come after the start %gs", o.win[1], o.win[0])
	}
	if o.band == "" {
		add("--band: the band LOW:HIGH in Hz is required (for example 7:30)")
	} else if o.bandHz, err = parseSpan(o.band, false); err != nil {
		add("--band: %v", err)
	} else if !(o.bandHz[0] > 0 && o.bandHz[1] > o.bandHz[0]) {
		add("--band: need 0 < LOW < HIGH, got %g:%g", o.bandHz[0], o.bandHz[1])
	}
	if o.order < 1 || o.order > 10 {
		add("--order: must be in [1, 10], got %d", o.order)
	}
	if o.filter < 1 {
		add("--filters: must be ≥ 1, got %d", o.filter)
	}
	return problems
}

// parseSpan parses "A:B": durations ("1s", "500ms") or plain numbers
// (seconds, or Hz) when durations is set, plain numbers otherwise.
func parseSpan(s string, durations bool) ([2]float64, error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return [2]float64{}, fmt.Errorf("%q is not of the form A:B", s)
	}
	var out [2]float64
	for i, f := range []string{a, b} {
		f = strings.TrimSpace(f)
		v, err := strconv.ParseFloat(f, 64)
		if err != nil && durations {
			d, derr := time.ParseDuration(f)
			if derr == nil {
				v, err = d.Seconds(), nil
			}
		}
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return out, fmt.Errorf("%q in %q is not a finite number", f, s)
		}
		out[i] = v
	}
	return out, nil
}

// epochs are the labelled trials cut from EDF+ files.
type epochs struct {
	trials      [][]float64 // frame-major samples × channels
	labels      []int
	channels    []string
	rate        float64
	annotations int // annotations with one of the class texts
	perClass    []int
	skipped     []string
}

// loadEpochs reads the EDF+ (or BDF+) files, band-passes every channel over
// the whole recording (zero phase: decode.ButterBandpass run with
// decode.FiltFilt), and cuts one trial per annotation whose text is one of
// the classes, from onset+win[0] to onset+win[1] (the same number of samples
// for every trial). Files must share channel labels and sample rate. A trial
// that would leave the recording, or cross a gap of an EDF+D file, is
// skipped and reported.
func loadEpochs(o *eegOptions) (*epochs, error) {
	ep := &epochs{perClass: make([]int, len(o.classList))}
	for _, path := range o.files {
		e, err := acquire.ReadEDF(path)
		if err != nil {
			return nil, err
		}
		sigs, rate, err := e.FrameSignals(nil)
		if err != nil {
			return nil, err
		}
		labels := make([]string, len(sigs))
		for i, s := range sigs {
			labels[i] = strings.TrimSpace(e.Signals[s].Label)
		}
		if ep.channels == nil {
			ep.channels, ep.rate = labels, rate
			if !(o.bandHz[1] < rate/2) {
				return nil, usageErr("--band: the high edge %g Hz must be below the Nyquist frequency %g Hz of %s", o.bandHz[1], rate/2, path)
			}
		} else if !slices.Equal(labels, ep.channels) || rate != ep.rate {
			return nil, fmt.Errorf("%s: %d channels at %g Hz (%s…) differ from %s's %d channels at %g Hz: the files must share their montage and rate",
				path, len(labels), rate, strings.Join(labels[:min(3, len(labels))], ","), o.files[0], len(ep.channels), ep.rate)
		}
		sos, err := decode.ButterBandpass(o.order, o.bandHz[0], o.bandHz[1], rate)
		if err != nil {
			return nil, usageErr("--band: %v", err)
		}
		C := len(sigs)
		x := make([][]float64, C)
		for c, s := range sigs {
			raw, err := e.Physical(s)
			if err != nil {
				return nil, err
			}
			if x[c], err = decode.FiltFilt(nil, raw, sos); err != nil {
				return nil, fmt.Errorf("%s: channel %s: %w", path, labels[c], err)
			}
		}
		spr := int64(e.Signals[sigs[0]].SamplesPerRecord)
		total := int64(e.Records) * spr
		L := int64(math.Round((o.win[1] - o.win[0]) * rate))
		if L < 2 {
			return nil, usageErr("--window %s is %d samples at %g Hz; an epoch needs at least 2", o.window, L, rate)
		}
		for _, a := range e.Annotations {
			cls := slices.Index(o.classList, strings.TrimSpace(a.Text))
			if cls < 0 {
				continue
			}
			ep.annotations++
			s0, ok := frameAt(e, spr, rate, a.Onset+o.win[0])
			if !ok || s0+L > total || !contiguous(e, spr, s0, s0+L) {
				ep.skipped = append(ep.skipped, fmt.Sprintf("%s: %s at %gs: the window %g–%gs leaves the recording", path, a.Text, a.Onset, a.Onset+o.win[0], a.Onset+o.win[1]))
				continue
			}
			tr := make([]float64, int(L)*C)
			for f := int64(0); f < L; f++ {
				for c := 0; c < C; c++ {
					tr[int(f)*C+c] = x[c][s0+f]
				}
			}
			ep.trials = append(ep.trials, tr)
			ep.labels = append(ep.labels, cls)
			ep.perClass[cls]++
		}
	}
	for c, n := range ep.perClass {
		if n < 2 {
			skipped := ""
			if len(ep.skipped) > 0 {
				skipped = fmt.Sprintf("; %d skipped, the first: %s", len(ep.skipped), ep.skipped[0])
			}
			return nil, fmt.Errorf("%d epochs of class %q (of %d annotations %s in %s%s); need at least 2 of each class",
				n, o.classList[c], ep.annotations, strings.Join(o.classList, "/"), strings.Join(o.files, ", "), skipped)
		}
	}
	return ep, nil
}

// frameAt returns the frame (sample index over the records) at time t
// seconds from the file's start, using the records' start times (EDF+D
// files have gaps between records).
func frameAt(e *acquire.EDF, spr int64, rate, t float64) (int64, bool) {
	r := sort.Search(len(e.RecordStarts), func(i int) bool { return e.RecordStarts[i] > t+1e-9 }) - 1
	if r < 0 {
		return 0, false
	}
	k := int64(math.Round((t - e.RecordStarts[r]) * rate))
	if k >= spr {
		// Past the end of record r: in a gap, unless the next record
		// follows directly.
		if r+1 < len(e.RecordStarts) && math.Abs(e.RecordStarts[r+1]-e.RecordStarts[r]-e.RecordDuration) < 1e-6 && k == spr {
			return int64(r+1) * spr, true
		}
		return 0, false
	}
	return int64(r)*spr + k, true
}

// contiguous reports whether frames [s0, s1) lie in records that follow
// each other in time.
func contiguous(e *acquire.EDF, spr, s0, s1 int64) bool {
	for r := s0/spr + 1; r <= (s1-1)/spr; r++ {
		if math.Abs(e.RecordStarts[r]-e.RecordStarts[r-1]-e.RecordDuration) > 1e-6 {
			return false
		}
	}
	return true
}

// cspCV cross-validates CSP + LDA over the trials with contiguous folds and
// returns the predicted class of every trial.
func cspCV(ep *epochs, labels []int, folds []decode.Fold, o *eegOptions) ([]int, error) {
	C := len(ep.channels)
	pred := make([]int, len(labels))
	var prob []float64
	for _, fd := range folds {
		tr := make([][]float64, len(fd.Train))
		tl := make([]int, len(fd.Train))
		for i, r := range fd.Train {
			tr[i], tl[i] = ep.trials[r], labels[r]
		}
		pipe, _, err := decode.FitCSPLDA(tr, tl, C, o.filter, decode.LDAConfig{Classes: o.classList, Shrinkage: decode.ShrinkLedoitWolf})
		if err != nil {
			return nil, fmt.Errorf("fold %d (test epochs %d–%d): %w", fd.Index, fd.TestStart, fd.TestEnd-1, err)
		}
		for r := fd.TestStart; r < fd.TestEnd; r++ {
			prob, pred[r] = pipe.Classify(prob, ep.trials[r])
		}
	}
	return pred, nil
}

// eegReport is the JSON line of eval on EEG.
type eegReport struct {
	Decoder     string               `json:"decoder"`
	Files       []string             `json:"files"`
	Classes     []string             `json:"classes"`
	Channels    int                  `json:"channels"`
	RateHz      float64              `json:"rate_hz"`
	WindowS     [2]float64           `json:"window_s"`
	BandHz      [2]float64           `json:"band_hz"`
	FilterOrder int                  `json:"filter_order"`
	CSPFilters  int                  `json:"csp_filters"`
	Annotations int                  `json:"annotations"`
	Epochs      int                  `json:"epochs"`
	PerClass    []int                `json:"per_class"`
	Skipped     int                  `json:"skipped"`
	Folds       []foldReport         `json:"folds"`
	Pooled      *decode.ClassMetrics `json:"pooled"`
	Shuffled    *shuffleReport       `json:"shuffled,omitempty"`
}

// shuffleReport is the label-permutation control: the same cross-validation
// on randomly permuted labels.
type shuffleReport struct {
	N            int     `json:"n"`
	Seed         uint64  `json:"seed"`
	MeanAccuracy float64 `json:"mean_accuracy"`
	MaxAccuracy  float64 `json:"max_accuracy"`
	PValue       float64 `json:"p_value"`
}

// filesFlag collects repeated file flags.
type filesFlag []string

func (f *filesFlag) String() string     { return strings.Join(*f, ",") }
func (f *filesFlag) Set(v string) error { *f = append(*f, v); return nil }

func evalEEG(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o eegOptions
	var files filesFlag
	fs.String("decoder", "csp-lda", "csp-lda: common spatial patterns, log-variance features, shrinkage LDA")
	fs.Var(&files, "edf", "EDF+ or BDF+ file with annotations (repeatable; more files may follow as arguments)")
	o.register(fs)
	folds := fs.Int("folds", 10, "cross-validation folds: fold k tests the k-th contiguous block of epochs (in file and time order)")
	seed := fs.Uint64("seed", 1, "seed of the label permutations of the chance control")
	shuffles := fs.Int("shuffles", 20, "label permutations of the chance control (0: none)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: bciloop eval --decoder csp-lda --edf FILE... --classes T1,T2 --window 1s:2s --band 7:30 [flags]

Cuts an epoch per annotation of either class from EDF+ files, band-passes
(zero phase), and cross-validates CSP + log-variance + shrinkage LDA; prints
one JSON line: accuracy and kappa per fold and pooled, the chance level and
its 95 % binomial limit, and a control with permuted labels.

flags:`)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	o.files = append(files, pos...)
	problems := o.check()
	if *folds < 2 {
		problems = append(problems, fmt.Errorf("--folds: need at least 2, got %d", *folds))
	}
	if *shuffles < 0 {
		problems = append(problems, fmt.Errorf("--shuffles: must be ≥ 0, got %d", *shuffles))
	}
	if len(problems) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("eval: %w", errors.Join(problems...))}
	}
	ep, err := loadEpochs(&o)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	for _, s := range ep.skipped {
		fmt.Fprintf(stderr, "bciloop: eval: skipped %s\n", s)
	}
	fds, err := decode.ContiguousFolds(len(ep.trials), *folds, 0)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	pred, err := cspCV(ep, ep.labels, fds, &o)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	rep := eegReport{
		Decoder: "csp-lda", Files: o.files, Classes: o.classList, Channels: len(ep.channels), RateHz: ep.rate,
		WindowS: o.win, BandHz: o.bandHz, FilterOrder: o.order, CSPFilters: 2 * o.filter,
		Annotations: ep.annotations, Epochs: len(ep.trials), PerClass: ep.perClass, Skipped: len(ep.skipped),
	}
	for _, fd := range fds {
		m, err := decode.Classification(pred[fd.TestStart:fd.TestEnd], ep.labels[fd.TestStart:fd.TestEnd], 2)
		if err != nil {
			return fmt.Errorf("eval: fold %d: %w", fd.Index, err)
		}
		rep.Folds = append(rep.Folds, foldReport{Fold: fd.Index, Test: [2]int{fd.TestStart, fd.TestEnd - 1}, Train: len(fd.Train), Metrics: m})
	}
	if rep.Pooled, err = decode.Classification(pred, ep.labels, 2); err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if *shuffles > 0 {
		sh, err := shuffleControl(ep, fds, &o, *shuffles, *seed, rep.Pooled.Accuracy)
		if err != nil {
			return fmt.Errorf("eval: chance control: %w", err)
		}
		rep.Shuffled = sh
	}
	return json.NewEncoder(stdout).Encode(rep)
}

// shuffleControl runs the cross-validation on n random permutations of the
// labels (seeded: the same seed gives the same permutations) and returns
// their accuracies' mean and maximum and the permutation p-value of the
// observed accuracy, (1 + #{shuffled ≥ observed})/(1 + n) (Ojala & Garriga
// 2010, "Permutation tests for studying classifier performance", J. Mach.
// Learn. Res. 11:1833–1863).
func shuffleControl(ep *epochs, fds []decode.Fold, o *eegOptions, n int, seed uint64, observed float64) (*shuffleReport, error) {
	rng := rand.New(rand.NewPCG(seed, 0x73687566666c65))
	perm := slices.Clone(ep.labels)
	sh := &shuffleReport{N: n, Seed: seed}
	ge := 0
	for s := 0; s < n; s++ {
		rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		pred, err := cspCV(ep, perm, fds, o)
		if err != nil {
			return nil, fmt.Errorf("permutation %d: %w", s, err)
		}
		m, err := decode.Classification(pred, perm, 2)
		if err != nil {
			return nil, err
		}
		sh.MeanAccuracy += m.Accuracy / float64(n)
		sh.MaxAccuracy = max(sh.MaxAccuracy, m.Accuracy)
		if m.Accuracy >= observed {
			ge++
		}
	}
	sh.PValue = float64(1+ge) / float64(1+n)
	return sh, nil
}
