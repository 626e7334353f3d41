package sim

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bciloop/bciloop/model"
)

func TestEEGConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *EEGConfig)
		want []string // substrings of the error; none means valid
	}{
		{"default", func(c *EEGConfig) {}, nil},
		{"rate", func(c *EEGConfig) { c.RateHz = 0 }, []string{"rate_hz:"}},
		{"unknown channel", func(c *EEGConfig) { c.Channels[0] = "X9" }, []string{"channels[0]: unknown electrode"}},
		{"duplicate channel", func(c *EEGConfig) { c.Channels[1] = c.Channels[0] }, []string{"channels[1]: duplicate"}},
		{"no sources", func(c *EEGConfig) { c.Sources = nil }, []string{"sources: must list"}},
		{"bad source", func(c *EEGConfig) { c.Sources[0].PolarDeg = 200; c.Sources[1].Hand = "both" },
			[]string{"sources[0].polar_deg:", "sources[1].hand:"}},
		{"mass", func(c *EEGConfig) { c.JansenRit.A = -1 }, []string{"jansen_rit:"}},
		{"depth", func(c *EEGConfig) { c.Depth = 1 }, []string{"depth:"}},
		{"high pass", func(c *EEGConfig) { c.HighPassHz = 200 }, []string{"high_pass_hz: must be below"}},
		{"schedule", func(c *EEGConfig) { c.Imagery = 6 * time.Second }, []string{"imagery: cue + cue_jitter + imagery"}},
		{"several", func(c *EEGConfig) { c.ERDTau = 0; c.RestFraction = 2; c.PinkNoiseUV = -1 },
			[]string{"erd_tau:", "rest_fraction:", "pink_noise_uv:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultEEGConfig()
			tc.edit(&c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if _, err := NewEEG(c); err == nil {
				t.Error("NewEEG accepted an invalid config")
			}
		})
	}
}

func TestEEGDeterministic(t *testing.T) {
	run := func(seed uint64) ([]float32, []float64) {
		c := DefaultEEGConfig()
		c.Seed = seed
		e, err := NewEEG(c)
		if err != nil {
			t.Fatal(err)
		}
		// Uneven chunks: the output must not depend on them.
		var x []float32
		var y []float64
		for _, n := range []int{1, 7, 250, 492} {
			x, y = e.Advance(n, x, y)
		}
		return x, y
	}
	a, ta := run(3)
	b, tb := run(3)
	c, _ := run(4)
	if !slices.Equal(a, b) || !slices.Equal(ta, tb) {
		t.Fatal("same seed, different output")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds, same output")
	}
	if len(a) != 750*11 || len(ta) != 750 {
		t.Fatalf("got %d samples and %d truth values, want %d and 750", len(a), len(ta), 750*11)
	}
	for _, v := range a {
		if math.IsNaN(float64(v)) || math.Abs(float64(v)) > 500 {
			t.Fatalf("implausible sample %v µV", v)
		}
	}
}

func TestEEGAdvanceAllocs(t *testing.T) {
	e, err := NewEEG(DefaultEEGConfig())
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, 0, 100*11)
	truth := make([]float64, 0, 100)
	if a := testing.AllocsPerRun(20, func() { e.Advance(100, dst[:0], truth[:0]) }); a != 0 {
		t.Fatalf("Advance allocates %v times per run", a)
	}
}

func TestEEGSchedule(t *testing.T) {
	c := DefaultEEGConfig()
	e, err := NewEEG(c)
	if err != nil {
		t.Fatal(err)
	}
	const trials = 30
	tf := int64(8 * c.RateHz)
	// The truth of Advance and Trial agree; the schedule is only cheap to
	// check with the sources, so advance a few trials fully.
	_, truth := e.Advance(int(3*tf), nil, nil)
	for k := range int64(3) {
		tr := e.Trial(k)
		for s := k * tf; s < (k+1)*tf; s++ {
			want := float64(EEGNoTask)
			if s >= tr.CueSample && s < tr.EndSample {
				want = float64(tr.Class)
			}
			if truth[s] != want {
				t.Fatalf("frame %d: truth %v, want %v (trial %+v)", s, truth[s], want, tr)
			}
		}
	}
	count := map[int]int{}
	for k := range int64(trials * 10) {
		tr := e.Trial(k)
		count[tr.Class]++
		lo, hi := k*tf+int64(3*c.RateHz), k*tf+int64(4*c.RateHz)
		if tr.CueSample < lo || tr.CueSample > hi || tr.EndSample-tr.CueSample != int64(4*c.RateHz) || tr.EndSample > (k+1)*tf {
			t.Fatalf("trial %d: %+v outside the schedule", k, tr)
		}
		if tr != e.Trial(k) {
			t.Fatal("Trial is not reproducible")
		}
	}
	for _, cl := range []int{EEGRest, EEGLeft, EEGRight} {
		if f := float64(count[cl]) / (trials * 10); math.Abs(f-1.0/3) > 0.08 {
			t.Errorf("class %d: fraction %.3f, want 1/3", cl, f)
		}
	}
}

func TestEEGLeadField(t *testing.T) {
	c := DefaultEEGConfig()
	e, err := NewEEG(c)
	if err != nil {
		t.Fatal(err)
	}
	lf := e.LeadField()
	ch := func(name string) int { return slices.Index(c.Channels, name) }
	// motor-left (source 0) sits right below C3: gain exactly 1 there.
	d, cosA := c.Depth, math.Cos(46*math.Pi/180)
	czWant := (1 - d) * (1 - d) * (cosA - d) / math.Pow(1+d*d-2*d*cosA, 1.5)
	tests := []struct {
		ch, src  int
		min, max float64
	}{
		{ch("C3"), 0, 1 - 1e-12, 1 + 1e-12},
		{ch("C4"), 1, 1 - 1e-12, 1 + 1e-12},
		{ch("C4"), 0, -0.1, 0.1}, // far side: small
		// Cz, 46° from the source: the closed form, just past the sign
		// reversal of a radial dipole at cos α = d.
		{ch("Cz"), 0, czWant - 1e-12, czWant + 1e-12},
		{ch("O1"), 4, 0.5, 1}, // O1 near the occipital source
	}
	for _, tc := range tests {
		if g := lf[tc.ch][tc.src]; g < tc.min || g > tc.max {
			t.Errorf("L[%s][%s] = %v, want in [%v, %v]", c.Channels[tc.ch], c.Sources[tc.src].Name, g, tc.min, tc.max)
		}
	}
}

// bandPower returns the mean PSD of x in [lo, hi] Hz.
func bandPower(t *testing.T, w *model.Welch, freqs, psd, x []float64, lo, hi float64) float64 {
	t.Helper()
	if _, err := w.PSDTo(psd, x); err != nil {
		t.Fatal(err)
	}
	var s float64
	var n int
	for i, f := range freqs {
		if f >= lo && f <= hi {
			s += psd[i]
			n++
		}
	}
	return s / float64(n)
}

// TestEEGMotorImageryERD checks the contralateral mu and beta ERD: 8–12 Hz
// and 18–26 Hz power at C3 is lower during right- than during left-hand
// imagery, and at C4 the reverse, for every seed.
func TestEEGMotorImageryERD(t *testing.T) {
	seeds, trials := []uint64{1, 2, 3}, 36
	if raceEnabled || testing.Short() {
		seeds, trials = []uint64{1}, 12
	}
	for _, seed := range seeds {
		c := DefaultEEGConfig()
		c.Seed = seed
		e, err := NewEEG(c)
		if err != nil {
			t.Fatal(err)
		}
		nch := len(c.Channels)
		c3, c4 := slices.Index(c.Channels, "C3"), slices.Index(c.Channels, "C4")
		tf := int(8 * c.RateHz)
		x, _ := e.Advance(trials*tf, nil, nil)
		w, err := model.NewWelch(250, 125, c.RateHz)
		if err != nil {
			t.Fatal(err)
		}
		freqs := w.FreqsTo(make([]float64, w.Len()))
		psd := make([]float64, w.Len())
		var pow, beta [3][2]float64 // class × (C3, C4)
		var n [3]int
		seg := make([]float64, 0, 1000)
		for k := range int64(trials) {
			tr := e.Trial(k)
			from := tr.CueSample + int64(c.RateHz/2) // ERD develops within ~0.5 s
			for i, ch := range []int{c3, c4} {
				seg = seg[:0]
				for s := from; s < tr.EndSample; s++ {
					seg = append(seg, float64(x[int(s)*nch+ch]))
				}
				pow[tr.Class][i] += bandPower(t, w, freqs, psd, seg, 8, 12)
				beta[tr.Class][i] += bandPower(t, w, freqs, psd, seg, 18, 26)
			}
			n[tr.Class]++
		}
		for cl := range pow {
			if n[cl] == 0 {
				t.Fatalf("seed %d: no trial of class %d", seed, cl)
			}
			pow[cl][0] /= float64(n[cl])
			pow[cl][1] /= float64(n[cl])
		}
		rC3 := pow[EEGRight][0] / pow[EEGLeft][0]
		rC4 := pow[EEGLeft][1] / pow[EEGRight][1]
		bC3 := beta[EEGRight][0] / beta[EEGLeft][0]
		bC4 := beta[EEGLeft][1] / beta[EEGRight][1]
		t.Logf("seed %d: beta (18–26 Hz) C3 right/left %.2f, C4 left/right %.2f", seed, bC3, bC4)
		if bC3 > 0.8 || bC4 > 0.8 {
			t.Errorf("seed %d: no clear contralateral beta ERD: C3 %.2f, C4 %.2f (want ≤ 0.8)", seed, bC3, bC4)
		}
		t.Logf("seed %d: C3 mu right/left %.2f, C4 mu left/right %.2f; rest C3 %.2f C4 %.2f µV²/Hz",
			seed, rC3, rC4, pow[EEGRest][0], pow[EEGRest][1])
		if rC3 > 0.7 || rC4 > 0.7 {
			t.Errorf("seed %d: no clear contralateral ERD: C3 %.2f, C4 %.2f (want ≤ 0.7)", seed, rC3, rC4)
		}
		// The ipsilateral side keeps its rhythm: rest and ipsilateral
		// imagery within a factor 1.6.
		if r := pow[EEGLeft][0] / pow[EEGRest][0]; r < 1/1.6 || r > 1.6 {
			t.Errorf("seed %d: C3 mu changed with left imagery by %.2f", seed, r)
		}
	}
}

// TestEEGAlphaPeak checks that the resting spectrum peaks in the alpha band
// over occipital and motor channels, above the 1/f background, with a
// second, beta peak over the motor channels.
func TestEEGAlphaPeak(t *testing.T) {
	c := DefaultEEGConfig()
	c.RestFraction = 1 // no imagery
	secs := 60
	if raceEnabled {
		secs = 16
	}
	e, err := NewEEG(c)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := e.Advance(secs*int(c.RateHz), nil, nil)
	nch := len(c.Channels)
	for _, name := range []string{"O1", "O2", "C3", "C4"} {
		ch := slices.Index(c.Channels, name)
		y := make([]float64, 0, len(x)/nch)
		for i := ch; i < len(x); i += nch {
			y = append(y, float64(x[i]))
		}
		f, p, err := SpectrumPeak(y, c.RateHz, 2, 40, 500)
		if err != nil {
			t.Fatal(err)
		}
		_, p20, _ := SpectrumPeak(y, c.RateHz, 18, 22, 500)
		t.Logf("%s: peak %.1f Hz, %.3g µV²/Hz (20 Hz: %.3g)", name, f, p, p20)
		if f < 8 || f > 12 {
			t.Errorf("%s: spectral peak at %.1f Hz, want 8–12 Hz", name, f)
		}
		if p < 5*p20 {
			t.Errorf("%s: alpha peak %.3g not well above the 20 Hz background %.3g", name, p, p20)
		}
		if name == "C3" || name == "C4" {
			// The sensorimotor beta mass: a second peak in the beta band.
			fb, pb, _ := SpectrumPeak(y, c.RateHz, 14, 40, 500)
			_, p35, _ := SpectrumPeak(y, c.RateHz, 34, 40, 500)
			t.Logf("%s: beta peak %.1f Hz, %.3g µV²/Hz (34–40 Hz: %.3g)", name, fb, pb, p35)
			if fb < 18 || fb > 26 || pb < 5*p35 {
				t.Errorf("%s: no beta peak: %.1f Hz, %.3g vs %.3g at 34–40 Hz", name, fb, pb, p35)
			}
		}
	}
}

func ExampleEEG() {
	e, err := NewEEG(DefaultEEGConfig())
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Channels(), e.Rate(), e.TruthNames())
	tr := e.Trial(0)
	fmt.Printf("trial 0: class %d, imagery frames [%d, %d)\n", tr.Class, tr.CueSample, tr.EndSample)
	samples, truth := e.Advance(250, nil, nil) // one second
	fmt.Println(len(samples), len(truth))
	// Output:
	// [F3 Fz F4 C3 Cz C4 P3 Pz P4 O1 O2] 250 [class]
	// trial 0: class 1, imagery frames [812, 1812)
	// 2750 250
}

// TestEEGPinkBackground checks the 1/f background: with the sources
// silenced, the log-log slope of the PSD over 1–40 Hz is −1 ± 0.2 and the
// RMS is PinkNoiseUV.
func TestEEGPinkBackground(t *testing.T) {
	c := DefaultEEGConfig()
	c.Channels = []string{"Cz"}
	c.Sources = c.Sources[:1]
	c.Sources[0].GainUV = 0
	secs := 400
	if raceEnabled {
		secs = 100
	}
	e, err := NewEEG(c)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := e.Advance(secs*int(c.RateHz), nil, nil)
	y := make([]float64, len(x))
	var ms float64
	for i, v := range x {
		y[i] = float64(v)
		ms += y[i] * y[i]
	}
	rms := math.Sqrt(ms / float64(len(y)))
	w, err := model.NewWelch(1000, 500, c.RateHz)
	if err != nil {
		t.Fatal(err)
	}
	psd := make([]float64, w.Len())
	if _, err := w.PSDTo(psd, y); err != nil {
		t.Fatal(err)
	}
	freqs := w.FreqsTo(make([]float64, w.Len()))
	// Least-squares slope of log PSD against log f.
	var sx, sy, sxx, sxy, n float64
	for i, f := range freqs {
		if f < 1 || f > 40 {
			continue
		}
		lx, ly := math.Log(f), math.Log(psd[i])
		sx, sy, sxx, sxy, n = sx+lx, sy+ly, sxx+lx*lx, sxy+lx*ly, n+1
	}
	slope := (n*sxy - sx*sy) / (n*sxx - sx*sx)
	t.Logf("background slope %.2f, RMS %.2f µV", slope, rms)
	if slope < -1.2 || slope > -0.8 {
		t.Errorf("background PSD slope %.2f, want −1 ± 0.2", slope)
	}
	if math.Abs(rms-c.PinkNoiseUV) > 0.25*c.PinkNoiseUV {
		t.Errorf("background RMS %.2f µV, want %v", rms, c.PinkNoiseUV)
	}
}

// BenchmarkEEGAdvance measures one second of the default EEG (11 channels,
// six sources at 250 Hz).
func BenchmarkEEGAdvance(b *testing.B) {
	e, err := NewEEG(DefaultEEGConfig())
	if err != nil {
		b.Fatal(err)
	}
	dst, truth := make([]float32, 0, 250*11), make([]float64, 0, 250)
	b.ReportAllocs()
	for b.Loop() {
		e.Advance(250, dst[:0], truth[:0])
	}
}

// TestEEG64Montage: the electrode table holds the 64 channels of the
// BCI2000 cap of the PhysioNet EEG Motor Movement/Imagery dataset (the EDF
// labels of S001R04, without their padding dots), at distinct positions,
// the 10–10 ones midway between their 10–20 neighbours, and a 64-channel
// EEG builds and runs.
func TestEEG64Montage(t *testing.T) {
	physionet := strings.Fields(`FC5 FC3 FC1 FCz FC2 FC4 FC6 C5 C3 C1 Cz C2 C4 C6 CP5 CP3 CP1 CPz CP2 CP4 CP6
		Fp1 Fpz Fp2 AF7 AF3 AFz AF4 AF8 F7 F5 F3 F1 Fz F2 F4 F6 F8 FT7 FT8 T7 T8 T9 T10 TP7 TP8
		P7 P5 P3 P1 Pz P2 P4 P6 P8 PO7 PO3 POz PO4 PO8 O1 Oz O2 Iz`)
	if len(physionet) != 64 {
		t.Fatalf("%d names in the montage", len(physionet))
	}
	all := EEGElectrodes()
	if len(all) != 64 {
		t.Fatalf("%d electrodes, want 64: %v", len(all), all)
	}
	seen := map[[2]float64]string{}
	for _, n := range physionet {
		p, ok := eegElectrodes[n]
		if !ok {
			t.Fatalf("no position for %s", n)
		}
		if o, dup := seen[p]; dup {
			t.Fatalf("%s and %s at the same position %v", n, o, p)
		}
		seen[p] = n
	}
	// On one coronal arc, C1 lies at half C3's polar angle; FCz halfway
	// from Fz to Cz; left and right mirror each other.
	near := func(a, b [2]float64) bool { return math.Abs(a[0]-b[0]) < 1e-9 && math.Abs(a[1]-b[1]) < 1e-9 }
	if !near(eegElectrodes["C1"], [2]float64{23, 90}) || !near(eegElectrodes["FCz"], [2]float64{23, 0}) ||
		!near(eegElectrodes["FC3"], [2]float64{eegElectrodes["FC4"][0], -eegElectrodes["FC4"][1]}) {
		t.Fatalf("C1 %v, FCz %v, FC3 %v, FC4 %v", eegElectrodes["C1"], eegElectrodes["FCz"], eegElectrodes["FC3"], eegElectrodes["FC4"])
	}
	cfg := DefaultEEGConfig()
	cfg.Channels, cfg.RateHz = physionet, 1000
	e, err := NewEEG(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dst, _ := e.Advance(1000, nil, nil)
	if len(dst) != 64*1000 {
		t.Fatalf("%d samples", len(dst))
	}
	var sd [64]float64
	for i, v := range dst {
		sd[i%64] += float64(v) * float64(v)
	}
	for c, s := range sd {
		if s == 0 || math.IsNaN(s) {
			t.Fatalf("channel %s is flat or NaN", physionet[c])
		}
	}
}
