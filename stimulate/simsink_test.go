package stimulate

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/bciloop/bciloop/sim"
)

// fakeBrain records stimuli and rejects electrode 13.
type fakeBrain struct {
	got   []sim.Stimulus
	stops int
}

var errFakeReject = errors.New("fake brain: electrode 13 rejected")

func (b *fakeBrain) Stimulate(s sim.Stimulus) error {
	if s.Electrode == 13 {
		return errFakeReject
	}
	b.got = append(b.got, s)
	return nil
}

func (b *fakeBrain) StopStimulation() { b.stops++ }

func TestSimSinkConversion(t *testing.T) {
	brain := &fakeBrain{}
	s := NewSimSink(brain)
	p := &Pattern{Seq: 3, Sample: 5000, Arrived: 123456, Pulses: []Pulse{
		{Electrode: 2, AmplitudeUA: 40, PhaseUS: 200, GapUS: 50, Count: 5, FreqHz: 100},
		{Electrode: 13, AmplitudeUA: 10, PhaseUS: 100, Count: 1},
		{Electrode: 7, AmplitudeUA: 10, PhaseUS: 100, Count: 1},
	}}
	err := s.Stimulate(context.Background(), p)
	if !errors.Is(err, errFakeReject) {
		t.Errorf("err = %v, want the rejection", err)
	}
	want := []sim.Stimulus{
		{Electrode: 2, AmplitudeUA: 40, PhaseUS: 200, Count: 5, FreqHz: 100, Sample: 5000, Arrived: 123456},
		{Electrode: 7, AmplitudeUA: 10, PhaseUS: 100, Count: 1, Sample: 5000, Arrived: 123456},
	}
	if !slices.Equal(brain.got, want) {
		t.Errorf("stimuli %+v, want %+v", brain.got, want)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { _ = s.Close() })
	}
	wg.Wait()
	if brain.stops != 1 {
		t.Errorf("StopStimulation called %d times", brain.stops)
	}
	if err := s.Stimulate(context.Background(), p); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	if len(brain.got) != 2 {
		t.Errorf("pulses applied after Close: %+v", brain.got[2:])
	}
	if err := s.Stimulate(context.Background(), nil); err == nil {
		t.Error("nil pattern accepted")
	}
}

func TestSimSinkAllocs(t *testing.T) {
	cfg := sim.DefaultMotorCortexConfig()
	cfg.Units = 16
	brain, err := sim.NewMotorCortex(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSimSink(brain)
	p := &Pattern{Pulses: []Pulse{{Electrode: 1, AmplitudeUA: 10, PhaseUS: 100, Count: 1}}}
	var spikes []sim.Event
	var truth []float64
	step := func() {
		spikes, truth = brain.Advance(1, spikes[:0], truth[:0])
		if err := s.Stimulate(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	for range 100 {
		step()
	}
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Errorf("%v allocs per Stimulate", n)
	}
}

// unstimulatedBrain runs a default MotorCortex (96 units at 1 kHz, seed 1)
// without stimulation for frames frames and returns the spike count per
// channel over frames [from, frames) and the spike events there.
func unstimulatedBrain(t *testing.T, frames, from int) ([]int, []sim.Event) {
	t.Helper()
	brain, err := sim.NewMotorCortex(sim.DefaultMotorCortexConfig())
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]int, brain.Units())
	var spikes, kept []sim.Event
	var truth []float64
	for f := range int64(frames) {
		spikes, truth = brain.Advance(1, spikes[:0], truth[:0])
		if f >= int64(from) {
			for _, e := range spikes {
				counts[e.Channel]++
			}
			kept = append(kept, spikes...)
		}
	}
	return counts, kept
}

// newBrainLoop returns a MotorCortex behind Limit + SimSink, the Limit
// clocked by the brain's sample clock (1 frame = 1 ms at 1 kHz), as the
// loop does in lockstep.
func newBrainLoop(t *testing.T) (*sim.MotorCortex, *Limit) {
	t.Helper()
	brain, err := sim.NewMotorCortex(sim.DefaultMotorCortexConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultLimitConfig()
	cfg.Clock = func() int64 { return brain.Sample() * 1e6 }
	l, err := NewLimit(NewSimSink(brain), cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return brain, l
}

// unitsNear returns the units within and beyond r µm of electrode e.
func unitsNear(brain *sim.MotorCortex, e int, r float64) (near, far []int) {
	pos := brain.ElectrodePositions()
	for u, p := range pos {
		if math.Hypot(p[0]-pos[e][0], p[1]-pos[e][1]) <= r {
			near = append(near, u)
		} else {
			far = append(far, u)
		}
	}
	return near, far
}

// TestSimSinkMotorCortex stimulates electrode 45 through Limit + SimSink
// and compares with the same seed unstimulated. sim.DefaultMotorCortexConfig
// documents 1 extra expected spike per 50 µA pulse at the electrode's own
// unit (gain 200 Hz · τ 5 ms) and a kernel truncated at 800 µm, beyond
// which units are untouched; the spike generator draws one uniform per unit
// per frame whatever the rates, so untouched units spike identically.
func TestSimSinkMotorCortex(t *testing.T) {
	const (
		electrode = 45
		frames    = 2000 // 2 s at 1 kHz
		every     = 200  // a train every 200 ms: 10 trains
	)
	baseline, _ := unstimulatedBrain(t, frames, 0)
	brain, l := newBrainLoop(t)
	counts := make([]int, brain.Units())
	var spikes []sim.Event
	var truth []float64
	seq := uint64(0)
	for f := range int64(frames) {
		if f%every == 0 {
			seq++
			// 10 pulses at 100 Hz, 50 µA × 200 µs = 10 nC: within the defaults.
			err := l.Stimulate(context.Background(), &Pattern{Seq: seq, Sample: f, Pulses: []Pulse{
				{Electrode: electrode, AmplitudeUA: 50, PhaseUS: 200, GapUS: 50, Count: 10, FreqHz: 100}}})
			if err != nil {
				t.Fatalf("frame %d: %v", f, err)
			}
		}
		spikes, truth = brain.Advance(1, spikes[:0], truth[:0])
		for _, e := range spikes {
			counts[e.Channel]++
		}
	}
	near, far := unitsNear(brain, electrode, 800)
	// 100 pulses × 1 expected extra spike (Poisson, sd 10) over a baseline
	// of 10–27 Hz × 2 s (≤ 54 spikes): require at least +50.
	if got, base := counts[electrode], baseline[electrode]; got < base+50 {
		t.Errorf("electrode %d's unit: %d spikes stimulated vs %d without, want ≥ +50", electrode, got, base)
	}
	sumNear, baseNear := 0, 0
	for _, u := range near {
		sumNear += counts[u]
		baseNear += baseline[u]
	}
	if sumNear <= baseNear+50 {
		t.Errorf("units within 800 µm: %d vs %d", sumNear, baseNear)
	}
	for _, u := range far {
		if counts[u] != baseline[u] {
			t.Errorf("unit %d beyond the kernel changed: %d vs %d", u, counts[u], baseline[u])
		}
	}
	t.Logf("unit %d: %d spikes vs %d; %d units within 800 µm: %d vs %d", electrode, counts[electrode], baseline[electrode], len(near), sumNear, baseNear)
	if len(far) == 0 || len(near) < 2 {
		t.Fatalf("geometry: %d near, %d far", len(near), len(far))
	}
	if st := l.Stats(); st.Passed != 10 || st.Refused != 0 {
		t.Errorf("limit stats %+v", st)
	}
}

// TestSimSinkClose: after Close (through Limit) no further pulse is applied.
// A 50-pulse train (490 ms) is cut after 100 ms; once the evoked transient
// has decayed (τ = 5 ms, zeroed below 10⁻⁶ Hz: well within 200 ms), every
// unit spikes exactly as in the unstimulated run of the same seed, which
// would not hold if the remaining 40 pulses were applied.
func TestSimSinkClose(t *testing.T) {
	const frames, closeAt, settled = 1000, 100, 300
	brain, l := newBrainLoop(t)
	var spikes, after []sim.Event
	var truth []float64
	for f := range int64(frames) {
		switch f {
		case 0:
			if err := l.Stimulate(context.Background(), &Pattern{Seq: 1, Pulses: []Pulse{
				{Electrode: 45, AmplitudeUA: 100, PhaseUS: 200, Count: 50, FreqHz: 100}}}); err != nil {
				t.Fatal(err)
			}
		case closeAt:
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if err := l.Stimulate(context.Background(), &Pattern{Seq: 2, Pulses: []Pulse{
				{Electrode: 45, AmplitudeUA: 100, PhaseUS: 200, Count: 1}}}); !errors.Is(err, ErrClosed) {
				t.Errorf("after Close: %v", err)
			}
		}
		spikes, truth = brain.Advance(1, spikes[:0], truth[:0])
		if f >= settled {
			after = append(after, spikes...)
		}
	}
	_, ref := unstimulatedBrain(t, frames, settled)
	if !slices.Equal(after, ref) {
		t.Errorf("spikes after Close differ from the unstimulated run: %d vs %d events", len(after), len(ref))
	}
	// The same check with the train left running must fail, or the test
	// could not detect a pulse after Close.
	brain2, l2 := newBrainLoop(t)
	var running []sim.Event
	for f := range int64(frames) {
		if f == 0 {
			_ = l2.Stimulate(context.Background(), &Pattern{Pulses: []Pulse{
				{Electrode: 45, AmplitudeUA: 100, PhaseUS: 200, Count: 50, FreqHz: 100}}})
		}
		spikes, truth = brain2.Advance(1, spikes[:0], truth[:0])
		if f >= settled {
			running = append(running, spikes...)
		}
	}
	if slices.Equal(running, ref) {
		t.Error("an uninterrupted train left no trace after frame 300: the check is blind")
	}
}
