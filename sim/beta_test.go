package sim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBetaConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *BetaConfig)
		want []string
	}{
		{"default", func(c *BetaConfig) {}, nil},
		{"rate", func(c *BetaConfig) { c.RateHz = -1 }, []string{"rate_hz:"}},
		{"mass", func(c *BetaConfig) { c.JansenRit.Rb = 0 }, []string{"jansen_rit:"}},
		{"noise", func(c *BetaConfig) { c.InputNoise = 0 }, []string{"input_noise:"}},
		{"percentile", func(c *BetaConfig) { c.Percentile = 100 }, []string{"percentile:"}},
		{"calibration", func(c *BetaConfig) { c.Calibration = time.Millisecond }, []string{"calibration:"}},
		{"several", func(c *BetaConfig) { c.StimTau = 0; c.StimQueue = 0; c.HighPassHz = 600 },
			[]string{"stim_tau:", "stim_queue:", "high_pass_hz:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultBetaConfig()
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
			if _, err := NewBetaCircuit(c); err == nil {
				t.Error("NewBetaCircuit accepted an invalid config")
			}
		})
	}
}

func newBeta(t testing.TB, seed uint64) *BetaCircuit {
	t.Helper()
	c := DefaultBetaConfig()
	c.Seed = seed
	if raceEnabled {
		c.Calibration = 5 * time.Second
	}
	b, err := NewBetaCircuit(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBetaDeterministicAndAllocs(t *testing.T) {
	run := func(seed uint64) ([]float32, []float64) {
		b := newBeta(t, seed)
		var x []float32
		var y []float64
		for _, n := range []int{1, 99, 400} {
			x, y = b.Advance(n, x, y)
		}
		return x, y
	}
	a, ta := run(5)
	c, tc := run(5)
	d, _ := run(6)
	if !slices.Equal(a, c) || !slices.Equal(ta, tc) {
		t.Fatal("same seed, different output")
	}
	if slices.Equal(a, d) {
		t.Fatal("different seeds, same output")
	}
	if len(a) != 500 || len(ta) != 1000 {
		t.Fatalf("got %d samples, %d truth values", len(a), len(ta))
	}
	b := newBeta(t, 1)
	dst, truth := make([]float32, 0, 100), make([]float64, 0, 200)
	if err := b.Stimulate(Stimulus{AmplitudeUA: 50, PhaseUS: 60, Count: 1000, FreqHz: 130}); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() { b.Advance(100, dst[:0], truth[:0]) }); n != 0 {
		t.Fatalf("Advance allocates %v times per run", n)
	}
	if n := testing.AllocsPerRun(20, func() {
		b.StopStimulation()
		_ = b.Stimulate(Stimulus{AmplitudeUA: 50, PhaseUS: 60, Count: 1})
	}); n != 0 {
		t.Fatalf("Stimulate allocates %v times per run", n)
	}
}

func TestBetaStimulateErrors(t *testing.T) {
	b := newBeta(t, 1)
	tests := []struct {
		s    Stimulus
		want error
	}{
		{Stimulus{Electrode: 1, AmplitudeUA: 50, PhaseUS: 60, Count: 1}, ErrBadStimulus},
		{Stimulus{AmplitudeUA: 0, PhaseUS: 60, Count: 1}, ErrBadStimulus},
		{Stimulus{AmplitudeUA: 50, PhaseUS: 60, Count: 3, FreqHz: 2000}, ErrBadStimulus},
		{Stimulus{AmplitudeUA: 50, PhaseUS: 60, Count: 1}, nil},
	}
	for i, tc := range tests {
		if err := b.Stimulate(tc.s); !errors.Is(err, tc.want) && (tc.want != nil || err != nil) {
			t.Errorf("case %d: error %v, want %v", i, err, tc.want)
		}
	}
	for range b.Config().StimQueue - 1 {
		if err := b.Stimulate(Stimulus{AmplitudeUA: 50, PhaseUS: 60, Count: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Stimulate(Stimulus{AmplitudeUA: 50, PhaseUS: 60, Count: 1}); !errors.Is(err, ErrStimQueueFull) {
		t.Fatalf("full queue: error %v", err)
	}
}

// burstDurations returns the durations (frames) of the runs of burst = 1
// in truth (stride 2), ignoring runs touching either end.
func burstDurations(truth []float64) []int {
	var out []int
	start := -1
	n := len(truth) / 2
	for i := range n {
		on := truth[2*i] == 1
		switch {
		case on && start < 0 && i > 0:
			start = i
		case !on && start >= 0:
			out = append(out, i-start)
			start = -1
		}
		if on && i == 0 {
			start = -2 // touching the start: skip this run
		}
		if !on && start == -2 {
			start = -1
		}
	}
	return out
}

// TestBetaSpectrumAndBursts checks the beta peak of the LFP and that the
// burst durations lie in the range reported by Tinkhauser et al. (2017):
// most bursts last 50–500 ms (median 80–400 ms), with a tail of longer ones
// (at most a quarter).
func TestBetaSpectrumAndBursts(t *testing.T) {
	secs := 60
	seeds := []uint64{1, 2}
	if raceEnabled {
		secs, seeds = 15, seeds[:1]
	}
	for _, seed := range seeds {
		b := newBeta(t, seed)
		x, truth := b.Advance(secs*1000, nil, nil)
		lfp := make([]float64, len(x))
		for i, v := range x {
			lfp[i] = float64(v)
		}
		f, p, err := SpectrumPeak(lfp, 1000, 2, 100, 1000)
		if err != nil {
			t.Fatal(err)
		}
		_, p5, _ := SpectrumPeak(lfp, 1000, 4, 6, 1000)
		_, p60, _ := SpectrumPeak(lfp, 1000, 55, 65, 1000)
		d := burstDurations(truth)
		slices.Sort(d)
		in, short, long := 0, 0, 0
		for _, v := range d {
			switch {
			case v < 50:
				short++
			case v > 500:
				long++
			default:
				in++
			}
		}
		var frac float64
		for i := 1; i < len(truth); i += 2 {
			frac += truth[i-1]
		}
		frac /= float64(len(truth) / 2)
		_, fc, thr := b.Calibration()
		t.Logf("seed %d: peak %.1f Hz (%.3g, 5 Hz %.3g, 60 Hz %.3g µV²/Hz); calibrated %.1f Hz, threshold %.3g mV; %d bursts, median %d ms, %.0f %% in 50–500 ms (%d shorter, %d longer); burst time %.2f",
			seed, f, p, p5, p60, fc, thr, len(d), d[len(d)/2], 100*float64(in)/float64(len(d)), short, long, frac)
		if f < 13 || f > 30 {
			t.Errorf("seed %d: spectral peak %.1f Hz outside the beta band", seed, f)
		}
		if p < 10*p5 || p < 10*p60 {
			t.Errorf("seed %d: no clear beta peak: %.3g vs %.3g at 5 Hz, %.3g at 60 Hz", seed, p, p5, p60)
		}
		if med := d[len(d)/2]; med < 80 || med > 400 {
			t.Errorf("seed %d: median burst %d ms, want 80–400 ms", seed, med)
		}
		if in < len(d)*55/100 || long > len(d)/4 {
			t.Errorf("seed %d: only %d of %d bursts in 50–500 ms, %d longer", seed, in, len(d), long)
		}
		// The threshold is the calibration's 75th percentile: about a
		// quarter of the time in bursts (the slow envelope makes the
		// estimate over 30 s noisy).
		if frac < 0.15 || frac > 0.45 {
			t.Errorf("seed %d: burst fraction %.2f, want ≈ 0.25", seed, frac)
		}
	}
}

// TestBetaStimulationSuppresses checks that 130 Hz stimulation of the E
// population cuts the beta power of the LFP against the same seed without
// stimulation, and that StopStimulation ends the effect.
func TestBetaStimulationSuppresses(t *testing.T) {
	secs := 20
	if raceEnabled {
		secs = 6
	}
	n := secs * 1000
	power := func(x []float32) float64 {
		y := make([]float64, len(x))
		for i, v := range x {
			y[i] = float64(v)
		}
		_, p, err := SpectrumPeak(y, 1000, 13, 30, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	off := newBeta(t, 3)
	xOff, _ := off.Advance(2*n, nil, nil)
	on := newBeta(t, 3)
	if err := on.Stimulate(Stimulus{AmplitudeUA: 50, PhaseUS: 60, Count: 130 * secs, FreqHz: 130}); err != nil {
		t.Fatal(err)
	}
	xOn, _ := on.Advance(n, nil, nil)
	on.StopStimulation()
	on.Advance(500, nil, nil)
	xAfter, _ := on.Advance(n-500, nil, nil)
	pOff, pOn := power(xOff[:n]), power(xOn)
	pOffLate, pAfter := power(xOff[n+500:]), power(xAfter)
	t.Logf("beta peak power: off %.3g, 130 Hz DBS %.3g (ratio %.2f); after stopping %.3g vs %.3g", pOff, pOn, pOn/pOff, pAfter, pOffLate)
	if pOn > 0.5*pOff {
		t.Errorf("stimulation left beta power at %.2f of control, want ≤ 0.5", pOn/pOff)
	}
	if r := pAfter / pOffLate; r < 0.5 || r > 2 {
		t.Errorf("after StopStimulation beta power is %.2f of control, want within 2×", r)
	}
}

// naiveEnvelope replays the burst truth without the twin, A = √((v − v̄)² +
// (v̇/ω)²) smoothed, on the circuit's state after each frame.
type naiveEnvelope struct{ e float64 }

func (n *naiveEnvelope) step(b *BetaCircuit) float64 {
	n.e = b.envA*n.e + (1-b.envA)*b.amplitude(b.x[1]-b.x[2], b.x[4]-b.x[5])
	return n.e
}

// TestBetaEquilibrium checks the twin's rest state: a fixed point of the
// mass (zero derivatives) near the calibrated mean, stable at the default
// input past the upper Hopf bifurcation, unstable inside the limit-cycle
// range (input 400 s⁻¹ on this time scale, twice the 200 s⁻¹ of the
// original mass's alpha cycle; Grimbert & Faugeras 2006, Neural Comput
// 18:3052).
func TestBetaEquilibrium(t *testing.T) {
	b := newBeta(t, 1)
	v, stable := b.Equilibrium()
	mean, _, _ := b.Calibration()
	var d [6]float64
	b.jr.Deriv(d[:], 0, b.rest[:], b.cfg.InputHz)
	t.Logf("equilibrium %.4f mV (stable %v), calibrated mean %.4f mV, |derivatives| %.2g", v, stable, mean, math.Abs(d[3])+math.Abs(d[4])+math.Abs(d[5]))
	if !stable || math.Abs(v-mean) > 0.2 {
		t.Errorf("equilibrium %.3f mV (stable %v), want stable and near the mean %.3f mV", v, stable, mean)
	}
	for i, x := range d {
		if math.Abs(x) > 1e-9 {
			t.Errorf("derivative %d at the equilibrium: %g", i, x)
		}
	}
	c := DefaultBetaConfig()
	c.InputHz, c.Calibration = 400, 2*time.Second
	lc, err := NewBetaCircuit(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, stable := lc.Equilibrium(); stable {
		t.Error("input 400 s⁻¹ (limit cycle): equilibrium reported stable")
	}
}

// TestBetaTruthIgnoresStimulationShift checks the burst truth against
// stimulation's own effects: (a) without stimulation it is, bit for bit,
// the envelope of v − v̄ (the twin rests); (b) under 130 Hz stimulation at
// 50 µA, which suppresses beta (TestBetaStimulationSuppresses), it shows
// fewer and shorter bursts than the same seed without, whereas the
// envelope of v − v̄ alone counts the stimulation's mean shift as beta and
// shows more bursts; (c) after the train the twin comes back to rest.
func TestBetaTruthIgnoresStimulationShift(t *testing.T) {
	secs := 20
	if raceEnabled {
		secs = 8
	}
	n := secs * 1000
	type stats struct {
		bursts int
		meanMs float64
		frac   float64
	}
	count := func(burst []float64) stats {
		var s stats
		in := false
		var on int
		for _, v := range burst {
			if v == 1 {
				on++
				if !in {
					s.bursts++
				}
			}
			in = v == 1
		}
		if s.bursts > 0 {
			s.meanMs = float64(on) / float64(s.bursts)
		}
		s.frac = float64(on) / float64(len(burst))
		return s
	}
	x, tr := make([]float32, 0, 1), make([]float64, 0, 2)
	seeds := []uint64{1, 2, 3}
	if raceEnabled {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		run := func(stim bool) (truth, naive []float64, b *BetaCircuit) {
			b = newBeta(t, seed)
			if stim {
				if err := b.Stimulate(Stimulus{AmplitudeUA: 50, PhaseUS: 60, Count: 130 * secs, FreqHz: 130}); err != nil {
					t.Fatal(err)
				}
			}
			var nv naiveEnvelope
			nv.e = b.env
			_, _, th := b.Calibration()
			for i := range n {
				x, tr = b.Advance(1, x[:0], tr[:0])
				e := nv.step(b)
				if !stim && e != tr[1] {
					t.Fatalf("seed %d, frame %d: envelope %v without stimulation, %v from v − v̄", seed, i, tr[1], e)
				}
				nb := 0.0
				if e > th {
					nb = 1
				}
				truth, naive = append(truth, tr[0]), append(naive, nb)
			}
			return truth, naive, b
		}
		offT, _, _ := run(false)
		onT, onNaive, b := run(true)
		off, on, naive := count(offT), count(onT), count(onNaive)
		t.Logf("seed %d, %d s: no stimulation %d bursts, mean %.0f ms, %.0f %% of the time; 130 Hz: %d bursts, mean %.0f ms, %.0f %%; v − v̄ alone under 130 Hz: %d bursts, mean %.0f ms, %.0f %%",
			seed, secs, off.bursts, off.meanMs, 100*off.frac, on.bursts, on.meanMs, 100*on.frac, naive.bursts, naive.meanMs, 100*naive.frac)
		if on.frac > 0.25*off.frac || on.bursts >= off.bursts || (on.bursts > 0 && on.meanMs >= off.meanMs) {
			t.Errorf("seed %d: under stimulation the truth shows %d bursts of %.0f ms (%.0f %% of the time), without %d of %.0f ms (%.0f %%): want fewer, shorter, ≤ a quarter of the time",
				seed, on.bursts, on.meanMs, 100*on.frac, off.bursts, off.meanMs, 100*off.frac)
		}
		if naive.bursts <= off.bursts {
			t.Errorf("seed %d: v − v̄ alone shows %d bursts under stimulation, %d without: the test no longer shows the bias", seed, naive.bursts, off.bursts)
		}
		if !b.active {
			t.Errorf("seed %d: twin at rest during stimulation", seed)
		}
		// The twin rings down like the weakly damped focus it is (τ ≈ 2 s),
		// to the 10⁻⁹ of the rest test in about 40 s.
		b.StopStimulation()
		for range 60 {
			if x, tr = b.Advance(1000, x[:0], tr[:0]); !b.active {
				break
			}
		}
		if b.active {
			t.Errorf("seed %d: twin not back at rest 60 s after the train", seed)
		}
	}
}

func ExampleBetaCircuit() {
	b, err := NewBetaCircuit(DefaultBetaConfig())
	if err != nil {
		panic(err)
	}
	fmt.Println(b.Channels(), b.Rate(), b.TruthNames())
	_, f, _ := b.Calibration()
	fmt.Printf("rhythm ≈ %.0f Hz\n", f)
	// Deep-brain-stimulation-like 130 Hz train for one second.
	if err := b.Stimulate(Stimulus{AmplitudeUA: 50, PhaseUS: 60, Count: 130, FreqHz: 130}); err != nil {
		panic(err)
	}
	lfp, truth := b.Advance(1000, nil, nil)
	fmt.Println(len(lfp), len(truth))
	// Output:
	// [LFP] 1000 [burst envelope]
	// rhythm ≈ 23 Hz
	// 1000 2000
}

// TestBetaConcurrentStimulation runs Stimulate and StopStimulation from
// another goroutine during Advance (for the race detector).
func TestBetaConcurrentStimulation(t *testing.T) {
	b := newBeta(t, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			_ = b.Stimulate(Stimulus{AmplitudeUA: 50, PhaseUS: 60, Count: 5, FreqHz: 130, Sample: b.Sample() + int64(i%7)})
			if i%10 == 0 {
				b.StopStimulation()
			}
		}
	}()
	var x []float32
	var y []float64
	for range 50 {
		x, y = b.Advance(20, x[:0], y[:0])
	}
	<-done
	if b.Sample() != 1000 {
		t.Fatalf("sample %d, want 1000", b.Sample())
	}
}

// BenchmarkBetaAdvance measures one second of the default beta circuit.
func BenchmarkBetaAdvance(b *testing.B) {
	c := newBeta(b, 1)
	dst, truth := make([]float32, 0, 1000), make([]float64, 0, 2000)
	b.ReportAllocs()
	for b.Loop() {
		c.Advance(1000, dst[:0], truth[:0])
	}
}
