package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
)

func init() {
	register("calibrate", command{
		"calibrate --decoder NAME --from FILE [--target FILE] --out PARAMS.json [--columns C] [--bin 50ms] [--lag N] [--window N] [--classes]\n" +
			"  bciloop calibrate --decoder csp-lda --from FILE.edf... --classes T1,T2 --window 1s:2s --band 7:30 --out PARAMS.json",
		cmdCalibrate,
	})
}

// calibrateSummary is the JSON line calibrate prints.
type calibrateSummary struct {
	Decoder  string   `json:"decoder"`
	From     []string `json:"from"`
	Target   string   `json:"target,omitempty"`
	Out      string   `json:"out"`
	Format   string   `json:"format"`
	Bins     int      `json:"bins,omitempty"`   // bins fitted on
	Epochs   int      `json:"epochs,omitempty"` // EEG trials fitted on
	PerClass []int    `json:"per_class,omitempty"`
	Channels int      `json:"channels"`
	States   []string `json:"states,omitempty"`
	Classes  []string `json:"classes,omitempty"`
	BinS     float64  `json:"bin_s,omitempty"`
	Rate     float64  `json:"rate"`
	Lag      int      `json:"lag,omitempty"`
	Window   int      `json:"window,omitempty"`
}

func cmdCalibrate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if decoderArg(args) == "csp-lda" {
		return calibrateEEG(args, stdout, stderr)
	}
	fs := flag.NewFlagSet("calibrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o countsOptions
	o.register(fs, false)
	from := fs.String("from", "", "spike counts (.csv, .tsv, .txt, .npy; with --target), or a bciloop recording (spikes binned by --bin, its ground truth as the target)")
	out := fs.String("out", "", "parameter file to write (replaced atomically)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: bciloop calibrate --decoder NAME --from FILE [--target FILE] --out PARAMS.json [flags]
       bciloop calibrate --decoder csp-lda --from FILE.edf... --classes T1,T2 --window 1s:2s --band 7:30 --out PARAMS.json

Fits a decoder on a whole file and writes its versioned parameter file
(bciloop.kalman, .ppf, .poisson, .popvec, .wiener, .lda, .gnb, .csp-lda);
prints one JSON line describing it. "bciloop calibrate --decoder csp-lda -h"
lists the EEG flags.

flags:`)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	recording := *from != "" && !isMatrixFile(*from)
	if recording && o.target == "" {
		o.target = "-" // the recording's ground truth; checked below
	}
	width, problems := o.check(set, false)
	if *from == "" {
		problems = append(problems, errors.New("--from: the file to calibrate on is required"))
	}
	if *out == "" {
		problems = append(problems, errors.New("--out: the parameter file to write is required"))
	}
	if len(pos) > 0 {
		problems = append(problems, fmt.Errorf("unexpected arguments %q", pos))
	}
	if recording {
		switch {
		case isEDFFile(*from):
			problems = append(problems, fmt.Errorf("--from %s: an EDF file calibrates --decoder csp-lda", *from))
		case set["target"]:
			problems = append(problems, errors.New("--target: a recording carries its own ground truth"))
		case o.classes:
			problems = append(problems, errors.New("--classes: a recording's ground truth is continuous; give counts and a file of labels"))
		case set["rate"]:
			problems = append(problems, errors.New("--rate: a recording carries its own rate"))
		}
	}
	if len(problems) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("calibrate: %w", errors.Join(problems...))}
	}
	var cb *countBins
	if recording {
		cb, err = recordingBins(*from, &o, stderr)
	} else {
		cb, err = loadCounts(*from, &o, width)
	}
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	bins := pairLag(cb.bins, o.lag)
	f := &fitter{decoder: o.decoder, names: cb.names, classes: o.classes, taps: o.taps(), prior: o.prior, tuning: o.tuning, grid: o.grid}
	ft, err := f.fit(bins)
	if err != nil {
		return fmt.Errorf("calibrate: %s: %w", *from, err)
	}
	if err := decode.WriteFileAtomic(*out, ft.write); err != nil {
		return fmt.Errorf("calibrate: writing %s: %w", *out, err)
	}
	sum := calibrateSummary{
		Decoder: o.decoder, From: []string{*from}, Out: *out, Format: ft.format, Bins: len(bins), Channels: cb.channels,
		BinS: float64(bins[0].Width) / bins[0].Rate, Rate: bins[0].Rate, Lag: o.lag,
	}
	if !recording {
		sum.Target = o.target
	}
	if o.decoder == "wiener" {
		sum.Window = f.taps
	}
	if o.classes {
		sum.Classes = cb.names
	} else {
		sum.States = cb.names
	}
	return json.NewEncoder(stdout).Encode(sum)
}

// isMatrixFile reports whether path names a counts table by its extension.
func isMatrixFile(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv", ".tsv", ".txt", ".npy":
		return true
	}
	return false
}

func isEDFFile(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".edf", ".bdf":
		return true
	}
	return false
}

// recordingBins bins the spikes of a bciloop recording (acquire.Recorder)
// into bins of o.bin with decode.SpikeBinner, each with the mean ground
// truth of its frames as the target (the columns --columns selects). Gaps
// in the stream restart binning (the fits then use only consecutive bins);
// a torn tail (a recording cut short by a crash) ends the data, with a
// warning.
func recordingBins(path string, o *countsOptions, stderr io.Writer) (*countBins, error) {
	rr, err := acquire.OpenRecording(path)
	if err != nil {
		return nil, err
	}
	defer rr.Close()
	var (
		c      acquire.Chunk
		sb     *decode.SpikeBinner
		cb     = &countBins{}
		dims   int
		blocks int
	)
	for {
		err := rr.Next(&c)
		if errors.Is(err, io.EOF) {
			break
		}
		var te *acquire.TornError
		if errors.As(err, &te) {
			fmt.Fprintf(stderr, "bciloop: warning: %v; calibrating on everything before it\n", te)
			break
		}
		if err != nil {
			return nil, err
		}
		if c.Type != acquire.ChunkBlock {
			continue
		}
		b := &c.Block
		blocks++
		if sb == nil {
			w := o.bin.Seconds() * b.Rate
			width := int(math.Round(w))
			if width < 1 || math.Abs(w-float64(width)) > 1e-6 {
				return nil, usageErr("--bin %v at the recording's %g Hz is %g frames; it must be a whole number of frames ≥ 1", o.bin, b.Rate, w)
			}
			if b.TruthDims == 0 {
				return nil, fmt.Errorf("%s: the recording has no ground truth (its blocks carry no Truth); calibrating needs a target: export the spikes and give --target", path)
			}
			if sb, err = decode.NewSpikeBinner(b.Channels, width); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			dims, cb.channels = b.TruthDims, b.Channels
		}
		if err := sb.Add(b); err != nil {
			return nil, fmt.Errorf("%s: offset %d: %w", path, c.Offset, err)
		}
		for {
			var bin decode.Bin
			if !sb.Next(&bin) {
				break
			}
			cb.bins = append(cb.bins, bin)
		}
	}
	if len(cb.bins) == 0 {
		return nil, fmt.Errorf("%s: %d blocks make no complete %v bin", path, blocks, o.bin)
	}
	cols := make([]int, dims)
	for j := range cols {
		cols[j] = j
	}
	if o.columns != "" {
		cols = cols[:0]
		for _, f := range strings.Split(o.columns, ",") {
			j, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || j < 0 || j >= dims {
				return nil, usageErr("--columns: %q is not a truth column of the recording (indices 0…%d)", f, dims-1)
			}
			cols = append(cols, j)
		}
	}
	if cb.names, err = stateNames(o.names, nil, cols); err != nil {
		return nil, err
	}
	for i := range cb.bins {
		s := make([]float64, len(cols))
		for k, j := range cols {
			s[k] = cb.bins[i].Truth[j]
		}
		cb.bins[i].Truth = s
	}
	return cb, nil
}

func calibrateEEG(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("calibrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o eegOptions
	var files filesFlag
	fs.String("decoder", "csp-lda", "csp-lda: common spatial patterns, log-variance features, shrinkage LDA")
	fs.Var(&files, "from", "EDF+ or BDF+ file with annotations (repeatable; more files may follow as arguments)")
	out := fs.String("out", "", "parameter file to write (replaced atomically)")
	o.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: bciloop calibrate --decoder csp-lda --from FILE.edf... --classes T1,T2 --window 1s:2s --band 7:30 --out PARAMS.json

Fits CSP + log-variance + shrinkage LDA on every epoch of the files and
writes a bciloop.csp-lda parameter file (with the channel labels, rate, band
and window the trials need).

flags:`)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	o.files = append(files, pos...)
	problems := o.check()
	if *out == "" {
		problems = append(problems, errors.New("--out: the parameter file to write is required"))
	}
	if len(problems) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("calibrate: %w", errors.Join(problems...))}
	}
	ep, err := loadEpochs(&o)
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	for _, s := range ep.skipped {
		fmt.Fprintf(stderr, "bciloop: calibrate: skipped %s\n", s)
	}
	pipe, lp, err := decode.FitCSPLDA(ep.trials, ep.labels, len(ep.channels), o.filter, decode.LDAConfig{Classes: o.classList, Shrinkage: decode.ShrinkLedoitWolf})
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	p := &decode.CSPLDAParams{
		ChannelNames: ep.channels, Rate: ep.rate, BandHz: o.bandHz[:], FilterOrder: o.order, WindowS: o.win[:],
		CSP: pipe.CSP, LDA: lp,
	}
	if err := decode.WriteFileAtomic(*out, func(w io.Writer) error { return decode.WriteCSPLDAParams(w, p) }); err != nil {
		return fmt.Errorf("calibrate: writing %s: %w", *out, err)
	}
	return json.NewEncoder(stdout).Encode(calibrateSummary{
		Decoder: "csp-lda", From: o.files, Out: *out, Format: decode.CSPLDAFormat, Epochs: len(ep.trials), PerClass: ep.perClass,
		Channels: len(ep.channels), Classes: o.classList, Rate: ep.rate,
	})
}
