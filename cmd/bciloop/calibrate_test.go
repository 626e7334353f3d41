package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/decode"
	"github.com/bciloop/bciloop/sim"
)

// calibrated runs calibrate and returns its summary.
func calibrated(t *testing.T, args ...string) calibrateSummary {
	t.Helper()
	code, out, errs := run(t, append([]string{"calibrate"}, args...)...)
	if code != 0 {
		t.Fatalf("calibrate %q: exit %d: %s", args, code, errs)
	}
	var s calibrateSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("output is not one JSON line: %v\n%s", err, out)
	}
	return s
}

func openParams(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestCalibrateCounts fits every decoder on a whole counts file and reads
// the parameter file back with that decoder's reader; the Kalman file,
// decoding its own calibration data, reaches the R² of the model.
func TestCalibrateCounts(t *testing.T) {
	const T, n = 1500, 12
	dir := t.TempDir()
	lin := synthesize(T, n, false, 11)
	poi := synthesize(T, n, true, 12)
	linCounts := writeMatrix(t, dir, "lin.csv", channelNames(n), lin.counts)
	poiCounts := writeMatrix(t, dir, "poi.npy", nil, poi.counts)
	linTarget := writeMatrix(t, dir, "lin_t.csv", []string{"vx", "vy"}, lin.states)
	poiTarget := writeMatrix(t, dir, "poi_t.csv", []string{"vx", "vy"}, poi.states)
	labels := writeMatrix(t, dir, "labels.csv", nil, column(poi.labels))
	cases := []struct {
		decoder, counts, target string
		extra                   []string
		format                  string
		read                    func(io.Reader) (any, error)
	}{
		{"kalman", linCounts, linTarget, nil, decode.KalmanFormat, func(r io.Reader) (any, error) { return decode.ReadKalmanParams(r) }},
		{"kalman-ss", linCounts, linTarget, nil, decode.KalmanFormat, func(r io.Reader) (any, error) { return decode.ReadKalmanParams(r) }},
		{"wiener", linCounts, linTarget, []string{"--window", "3"}, decode.WienerFormat, func(r io.Reader) (any, error) { return decode.ReadWienerParams(r) }},
		{"popvec", linCounts, linTarget, nil, decode.PopVecFormat, func(r io.Reader) (any, error) { return decode.ReadPopVecParams(r) }},
		{"ppf", poiCounts, poiTarget, nil, decode.PPFFormat, func(r io.Reader) (any, error) { return decode.ReadPPFParams(r) }},
		{"poisson", poiCounts, poiTarget, []string{"--tuning", "gaussian", "--grid", "11"}, decode.PoissonFormat, func(r io.Reader) (any, error) { return decode.ReadPoissonParams(r) }},
		{"poisson", poiCounts, labels, []string{"--classes", "--prior", "continuity", "--names", "left,right"}, decode.PoissonFormat, func(r io.Reader) (any, error) { return decode.ReadPoissonParams(r) }},
		{"lda", poiCounts, labels, []string{"--classes"}, decode.LDAFormat, func(r io.Reader) (any, error) { return decode.ReadLDAParams(r) }},
		{"gnb", poiCounts, labels, []string{"--classes"}, decode.GNBFormat, func(r io.Reader) (any, error) { return decode.ReadGNBParams(r) }},
	}
	for _, c := range cases {
		t.Run(c.decoder+strings.Join(c.extra, ""), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "params.json")
			s := calibrated(t, append([]string{"--decoder", c.decoder, "--from", c.counts, "--target", c.target, "--out", out}, c.extra...)...)
			if s.Format != c.format || s.Bins != T || s.Channels != n || s.Rate != 1000 || s.BinS != 0.05 {
				t.Errorf("summary %+v", s)
			}
			p, err := c.read(openParams(t, out))
			if err != nil {
				t.Fatal(err)
			}
			switch p := p.(type) {
			case *decode.KalmanParams:
				if !slices.Equal(p.StateNames, []string{"vx", "vy"}) || p.BinWidth != 50 || p.Rate != 1000 || p.Channels() != n {
					t.Errorf("kalman params: names %q, %d frames at %g Hz, %d channels", p.StateNames, p.BinWidth, p.Rate, p.Channels())
				}
				dec, err := decode.NewKalman(p)
				if err != nil {
					t.Fatal(err)
				}
				r2 := decode.NewR2(2)
				var est decode.Estimate
				for i, z := range lin.counts {
					if err := dec.Decode(&est, &decode.Bin{Seq: uint64(i), Width: 50, Rate: 1000, Counts: z}); err != nil {
						t.Fatal(err)
					}
					r2.Add(est.State, lin.states[i])
				}
				if v := r2.R2To(nil); v[0] < 0.85 || v[1] < 0.85 {
					t.Errorf("the calibrated filter decodes its calibration data with R² %.3f", v)
				}
			case *decode.PoissonParams:
				if p.Units() != n || p.BinWidth != 50 || p.Rate != 1000 {
					t.Errorf("poisson params: %d units, %d frames at %g Hz", p.Units(), p.BinWidth, p.Rate)
				}
				if len(p.Classes) > 0 && (!slices.Equal(p.Classes, []string{"left", "right"}) || p.Prior != decode.PriorContinuity) {
					t.Errorf("poisson classes %q, prior %s", p.Classes, p.Prior)
				}
			case *decode.WienerParams:
				if p.Lags != 3 || p.Units() != n {
					t.Errorf("wiener params: %d lags, %d units", p.Lags, p.Units())
				}
			case *decode.LDAParams:
				if !slices.Equal(p.Classes, []string{"0", "1"}) || p.Features() != n {
					t.Errorf("lda params: classes %q, %d features", p.Classes, p.Features())
				}
			}
		})
	}
}

// simRecording records seconds of the synthetic motor cortex (96 units,
// 1 kHz, ground truth [px, py, vx, vy]) to a bciloop recording.
func simRecording(t *testing.T, path string, seconds int) {
	t.Helper()
	brain, err := sim.NewMotorCortex(sim.DefaultMotorCortexConfig())
	if err != nil {
		t.Fatal(err)
	}
	src, err := acquire.NewSimSource(brain, acquire.SimSourceConfig{BlockFrames: 10})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := acquire.CreateRecording(path, []byte(`{"source":"sim"}`), acquire.DefaultRecorderConfig())
	if err != nil {
		t.Fatal(err)
	}
	var b acquire.Block
	for i := 0; i < seconds*100; i++ {
		if err := src.Read(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		if err := rec.AppendBlock(&b); err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCalibrateRecording calibrates a Kalman filter from a native bciloop
// recording of the synthetic brain (spikes binned, the recorded truth as the
// target), and from the same recording cut short by a crash.
func TestCalibrateRecording(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sim.bcl")
	simRecording(t, path, 40)
	out := filepath.Join(dir, "kalman.json")
	s := calibrated(t, "--decoder", "kalman", "--from", path, "--bin", "20ms", "--columns", "2,3", "--names", "vx,vy", "--out", out)
	if s.Bins != 2000 || s.Channels != 96 || s.Rate != 1000 || !slices.Equal(s.States, []string{"vx", "vy"}) || s.Target != "" {
		t.Errorf("summary %+v", s)
	}
	p, err := decode.ReadKalmanParams(openParams(t, out))
	if err != nil {
		t.Fatal(err)
	}
	if p.BinWidth != 20 || p.Rate != 1000 || p.Channels() != 96 {
		t.Errorf("params: %d frames at %g Hz, %d channels", p.BinWidth, p.Rate, p.Channels())
	}
	// The fitted filter decodes the recording's own bins well (in-sample;
	// eval measures held-out performance): velocity R² as the loop's own
	// calibration reaches on this brain.
	var o countsOptions
	o.bin, o.columns = 20e6, "2,3"
	cb, err := recordingBins(path, &o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := decode.NewKalman(p)
	if err != nil {
		t.Fatal(err)
	}
	r2 := decode.NewR2(2)
	var est decode.Estimate
	for i := range cb.bins {
		if err := dec.Decode(&est, &cb.bins[i]); err != nil {
			t.Fatal(err)
		}
		r2.Add(est.State, cb.bins[i].Truth)
	}
	if v := r2.R2To(nil); v[0] < 0.6 || v[1] < 0.6 {
		t.Errorf("velocity R² %.3f on the calibration recording", v)
	}

	// A recording torn by a crash: everything before the tear is used.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	torn := filepath.Join(dir, "torn.bcl")
	if err := os.WriteFile(torn, data[:len(data)*3/4], 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, errs := run(t, "calibrate", "--decoder", "kalman", "--from", torn, "--bin", "20ms", "--columns", "2,3", "--out", filepath.Join(dir, "torn.json"))
	if code != 0 || !strings.Contains(errs, "torn tail at offset") || !strings.Contains(errs, "calibrating on everything before it") {
		t.Fatalf("torn recording: exit %d, stderr %s", code, errs)
	}
	var ts calibrateSummary
	if err := json.Unmarshal([]byte(stdout), &ts); err != nil || ts.Bins < 1400 || ts.Bins >= 2000 || !slices.Equal(ts.States, []string{"x2", "x3"}) {
		t.Errorf("torn recording: %+v (%v)", ts, err)
	}

	// A recording without ground truth.
	bare := filepath.Join(dir, "bare.bcl")
	rec, err := acquire.CreateRecording(bare, []byte(`{}`), acquire.DefaultRecorderConfig())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		b := acquire.Block{Seq: uint64(i), Start: int64(100 * i), Frames: 100, Rate: 1000, Channels: 2, Spikes: []acquire.Spike{{Sample: int64(100*i + 3), Channel: 1}}}
		if err := rec.AppendBlock(&b); err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	code, _, errs = run(t, "calibrate", "--decoder", "kalman", "--from", bare, "--out", filepath.Join(dir, "bare.json"))
	if code != 1 || !strings.Contains(errs, "bare.bcl: the recording has no ground truth") {
		t.Errorf("recording without truth: exit %d, stderr %s", code, errs)
	}
}

func TestCalibrateEEG(t *testing.T) {
	if _, err := os.Stat(eegFile); err != nil {
		t.Skipf("the PhysioNet EEG file is not available (%v); it is shared at /work/shared/data/eegmmidb/S001R04.edf", err)
	}
	out := filepath.Join(t.TempDir(), "csp.json")
	s := calibrated(t, "--decoder", "csp-lda", "--from", eegFile, "--classes", "T1,T2", "--window", "0.5s:2.5s", "--band", "8:30", "--filters", "3", "--out", out)
	if s.Format != decode.CSPLDAFormat || s.Epochs != 15 || s.Channels != 64 || s.Rate != 160 || !slices.Equal(s.Classes, []string{"T1", "T2"}) {
		t.Errorf("summary %+v", s)
	}
	p, err := decode.ReadCSPLDAParams(openParams(t, out))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.ChannelNames) != 64 || p.ChannelNames[0] == "" || p.Rate != 160 || !slices.Equal(p.BandHz, []float64{8, 30}) ||
		!slices.Equal(p.WindowS, []float64{0.5, 2.5}) || p.FilterOrder != 4 || p.CSP.Components() != 6 {
		t.Errorf("params: %d channels (%q…), %g Hz, band %v, window %v, order %d, %d components",
			len(p.ChannelNames), p.ChannelNames[0], p.Rate, p.BandHz, p.WindowS, p.FilterOrder, p.CSP.Components())
	}
	if _, err := decode.NewCSPLDA(p); err != nil {
		t.Fatal(err)
	}
}

func TestCalibrateErrors(t *testing.T) {
	dir := t.TempDir()
	d := synthesize(300, 4, false, 13)
	counts := writeMatrix(t, dir, "c.csv", nil, d.counts)
	target := writeMatrix(t, dir, "t.csv", nil, d.states)
	rec := filepath.Join(dir, "r.bcl")
	if err := os.WriteFile(rec, []byte("not a recording at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no out", []string{"--decoder", "kalman", "--from", counts, "--target", target}, 2, "--out: the parameter file to write is required"},
		{"no from", []string{"--decoder", "kalman", "--target", target, "--out", "p.json"}, 2, "--from: the file to calibrate on is required"},
		{"no target", []string{"--decoder", "kalman", "--from", counts, "--out", "p.json"}, 2, "--target: the target file is required"},
		{"target with recording", []string{"--decoder", "kalman", "--from", rec, "--target", target, "--out", "p.json"}, 2, "--target: a recording carries its own ground truth"},
		{"edf for kalman", []string{"--decoder", "kalman", "--from", "x.edf", "--out", "p.json"}, 2, "an EDF file calibrates --decoder csp-lda"},
		{"unknown decoder", []string{"--decoder", "hmm", "--from", counts, "--target", target, "--out", "p.json"}, 2, `--decoder "hmm" is not one of`},
		{"not a recording", []string{"--decoder", "kalman", "--from", rec, "--out", filepath.Join(dir, "p.json")}, 1, "r.bcl: offset 0: not a bciloop recording"},
		{"unwritable", []string{"--decoder", "kalman", "--from", counts, "--target", target, "--out", filepath.Join(dir, "no", "p.json")}, 1, "calibrate: writing " + filepath.Join(dir, "no", "p.json")},
		{"eeg without out", []string{"--decoder", "csp-lda", "--from", "x.edf", "--classes", "T1,T2", "--window", "1:2", "--band", "7:30"}, 2, "--out: the parameter file to write is required"},
		{"eeg missing file", []string{"--decoder", "csp-lda", "--from", filepath.Join(dir, "none.edf"), "--classes", "T1,T2", "--window", "1:2", "--band", "7:30", "--out", "p.json"}, 1, "none.edf: no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := run(t, append([]string{"calibrate"}, c.args...)...)
			if code != c.code || !strings.Contains(errs, c.want) || out != "" {
				t.Errorf("exit %d (want %d), stdout %q, stderr:\n%s\nwant it to contain %q", code, c.code, out, errs, c.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "p.json")); err == nil {
		t.Error("a failed calibration wrote a parameter file")
	}
}
