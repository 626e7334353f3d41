package acquire_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/acquire/acquiretest"
	"github.com/bciloop/bciloop/sim"
)

// smallOptions returns every preset's defaults, with the networks shrunk
// and the beta calibration shortened so that the tests stay fast.
func smallOptions() acquire.SimOptions {
	o := acquire.DefaultSimOptions()
	o.Network.Neurons = 400
	o.Beta.Calibration = o.Beta.Calibration / 10
	return o
}

func buildSource(t testing.TB, preset string, o acquire.SimOptions, cfg acquire.SimSourceConfig, env acquire.SimEnv) *acquire.SimSource {
	t.Helper()
	b, err := acquire.BuildSimBrain(preset, &o, env)
	if err != nil {
		t.Fatal(err)
	}
	s, err := acquire.NewSimBrainSource(b, cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSimPresetsTable: the table holds the neural masses, the EEG, the
// motor cortex and every network preset of package sim.
func TestSimPresetsTable(t *testing.T) {
	names := acquire.SimPresets()
	for _, want := range append([]string{"motor-cortex", "eeg", "beta", "seizure"}, sim.Presets()...) {
		if !slices.Contains(names, want) {
			t.Errorf("preset %q missing from %v", want, names)
		}
		if p, ok := acquire.SimPresetInfo(want); !ok || p.Doc == "" || p.Build == nil || p.Validate == nil {
			t.Errorf("preset %q: incomplete entry", want)
		}
	}
	o := acquire.DefaultSimOptions()
	if err := o.Validate("no-such-brain"); err == nil || !strings.Contains(err.Error(), "preset: unknown") {
		t.Errorf("unknown preset: %v", err)
	}
	o.Beta.RateHz = -1
	o.Seizure.Signal = "both"
	if err := o.Validate("beta"); err == nil || !strings.HasPrefix(err.Error(), "beta.rate_hz: ") {
		t.Errorf("beta with a negative rate: %v", err)
	}
	if err := o.Validate("seizure"); err == nil || !strings.Contains(err.Error(), "seizure.signal: ") {
		t.Errorf("seizure signal both: %v", err)
	}
}

// TestSimBrainSources runs every kind of brain through the Source
// conformance suite in lockstep (allocation-free Read) and checks the
// shape of its blocks.
func TestSimBrainSources(t *testing.T) {
	spikeOnly := acquire.DefaultSimOptions().Seizure
	spikeOnly.Signal = "spikes"
	cases := []struct {
		preset         string
		mod            func(*acquire.SimOptions)
		channels       int
		raw, hasSpikes bool
		truth          []string
	}{
		{"motor-cortex", nil, 96, false, true, sim.MotorCortexTruthNames()},
		{"eeg", nil, len(sim.DefaultEEGConfig().Channels), true, false, []string{"class"}},
		{"beta", nil, 1, true, false, []string{"burst", "envelope"}},
		{"seizure", nil, 1, true, false, []string{"event", "onset", "excitability"}},
		{"seizure", func(o *acquire.SimOptions) { o.Seizure = spikeOnly }, spikeOnly.Units, false, true, []string{"event", "onset", "excitability"}},
		{"cuba", nil, 400, false, true, nil},
		{"cuba", func(o *acquire.SimOptions) { o.Network.Signal = "rate" }, 1, true, false, nil},
	}
	for _, c := range cases {
		t.Run(c.preset, func(t *testing.T) {
			o := smallOptions()
			if c.mod != nil {
				c.mod(&o)
			}
			cfg := acquire.SimSourceConfig{BlockFrames: 10}
			acquiretest.Run(t, func(t *testing.T) acquire.Source {
				return buildSource(t, c.preset, o, cfg, acquire.SimEnv{})
			}, acquiretest.Options{Blocks: 50, AllocFree: true})
			s := buildSource(t, c.preset, o, cfg, acquire.SimEnv{})
			var b acquire.Block
			spikes := 0
			for range 100 {
				if err := s.Read(context.Background(), &b); err != nil {
					t.Fatal(err)
				}
				spikes += len(b.Spikes)
				if b.Channels != c.channels || b.Frames != 10 || b.Rate != s.SimBrain().Rate() {
					t.Fatalf("block of %d channels, %d frames at %v Hz", b.Channels, b.Frames, b.Rate)
				}
				if (len(b.Data) == b.Frames*b.Channels) != c.raw || (!c.raw && len(b.Data) != 0) {
					t.Fatalf("raw %v: %d samples", c.raw, len(b.Data))
				}
				if b.TruthDims != len(c.truth) || len(b.Truth) != b.Frames*b.TruthDims {
					t.Fatalf("truth dims %d (%d values), want %d", b.TruthDims, len(b.Truth), len(c.truth))
				}
				for _, sp := range b.Spikes {
					if int(sp.Channel) >= b.Channels || sp.Sample < b.Start || sp.Sample >= b.End() {
						t.Fatalf("spike %+v outside the block [%d, %d) × %d channels", sp, b.Start, b.End(), b.Channels)
					}
				}
			}
			if c.hasSpikes != (spikes > 0) {
				t.Errorf("%d spikes in 100 blocks, want spikes: %v", spikes, c.hasSpikes)
			}
			if !slices.Equal(s.SimBrain().TruthNames(), c.truth) {
				t.Errorf("truth names %v, want %v", s.SimBrain().TruthNames(), c.truth)
			}
		})
	}
}

// TestSimBrainDeterministic: two sources of the same preset and seed give
// the same stream, bit for bit.
func TestSimBrainDeterministic(t *testing.T) {
	for _, preset := range []string{"beta", "seizure", "eeg", "brunel-d"} {
		read := func() []acquire.Block {
			s := buildSource(t, preset, smallOptions(), acquire.SimSourceConfig{BlockFrames: 7}, acquire.SimEnv{})
			var out []acquire.Block
			for range 30 {
				var b acquire.Block
				if err := s.Read(context.Background(), &b); err != nil {
					t.Fatal(err)
				}
				b.Arrived = 0
				out = append(out, b)
			}
			return out
		}
		a, b := read(), read()
		for i := range a {
			if !slices.Equal(a[i].Data, b[i].Data) || !slices.Equal(a[i].Spikes, b[i].Spikes) || !slices.Equal(a[i].Truth, b[i].Truth) {
				t.Fatalf("%s: block %d differs between two runs of the same seed", preset, i)
			}
		}
	}
}

// TestSimSourceAppliedTracker: for a brain that does not report applied
// stimuli itself, the source reports each accepted stimulus once, after
// the Advance that generated its first pulse, with the stimulus' arrival
// stamp; stimuli refused by the brain or stopped are not reported.
func TestSimSourceAppliedTracker(t *testing.T) {
	type applied struct{ arrived, at int64 }
	var got []applied
	env := acquire.SimEnv{OnApplied: func(arrived, at int64) { got = append(got, applied{arrived, at}) }}
	s := buildSource(t, "beta", smallOptions(), acquire.SimSourceConfig{BlockFrames: 5}, env)
	target := s.Stimulable()
	if target == nil {
		t.Fatal("beta source has no stimulation input")
	}
	ctx := context.Background()
	var b acquire.Block
	read := func() {
		t.Helper()
		if err := s.Read(ctx, &b); err != nil {
			t.Fatal(err)
		}
	}
	read() // frames [0, 5)
	// Due now (next frame 5), and at frame 12 (block [10, 15)).
	if err := target.Stimulate(sim.Stimulus{AmplitudeUA: 10, PhaseUS: 60, Count: 1, Arrived: 111}); err != nil {
		t.Fatal(err)
	}
	if err := target.Stimulate(sim.Stimulus{AmplitudeUA: 10, PhaseUS: 60, Count: 1, Sample: 12, Arrived: 222}); err != nil {
		t.Fatal(err)
	}
	if err := target.Stimulate(sim.Stimulus{Electrode: 3, AmplitudeUA: 10, PhaseUS: 60, Count: 1, Arrived: 333}); err == nil {
		t.Fatal("electrode 3 of a one-electrode brain accepted")
	}
	read() // [5, 10)
	if len(got) != 1 || got[0].arrived != 111 || got[0].at != b.Arrived {
		t.Fatalf("after block [5, 10): applied %+v, want arrival 111 at %d", got, b.Arrived)
	}
	read() // [10, 15)
	if len(got) != 2 || got[1].arrived != 222 {
		t.Fatalf("after block [10, 15): applied %+v", got)
	}
	if err := target.Stimulate(sim.Stimulus{AmplitudeUA: 10, PhaseUS: 60, Count: 1, Sample: 100, Arrived: 444}); err != nil {
		t.Fatal(err)
	}
	target.StopStimulation()
	for range 30 {
		read()
	}
	if len(got) != 2 {
		t.Fatalf("a stopped stimulus was reported: %+v", got)
	}
	// The motor cortex reports its own: the source does not wrap it.
	m := buildSource(t, "motor-cortex", smallOptions(), acquire.SimSourceConfig{BlockFrames: 5}, env)
	if _, ok := m.Stimulable().(*sim.MotorCortex); !ok || m.Brain() == nil {
		t.Errorf("motor cortex source: Stimulable %T, Brain %v", m.Stimulable(), m.Brain())
	}
	if e := buildSource(t, "eeg", smallOptions(), acquire.SimSourceConfig{BlockFrames: 5}, env); e.Stimulable() != nil || e.Brain() != nil {
		t.Errorf("eeg source: Stimulable %v, Brain %v; want nil, nil", e.Stimulable(), e.Brain())
	}
}

// ExampleBuildSimBrain reads the beta-burst circuit as a Source in
// lockstep and stimulates it through the source.
func ExampleBuildSimBrain() {
	o := acquire.DefaultSimOptions()
	o.Beta.Seed = 3
	brain, err := acquire.BuildSimBrain("beta", &o, acquire.SimEnv{})
	if err != nil {
		panic(err)
	}
	src, err := acquire.NewSimBrainSource(brain, acquire.SimSourceConfig{BlockFrames: 10}, acquire.SimEnv{})
	if err != nil {
		panic(err)
	}
	var b acquire.Block
	if err := src.Read(context.Background(), &b); err != nil {
		panic(err)
	}
	fmt.Println(b.Channels, b.Frames, len(b.Data), b.Rate, brain.TruthNames())
	// A 130 Hz train of 50 µA pulses on the circuit's electrode 0.
	err = src.Stimulable().Stimulate(sim.Stimulus{AmplitudeUA: 50, PhaseUS: 60, Count: 13, FreqHz: 130})
	fmt.Println(err)
	// Output:
	// 1 10 10 1000 [burst envelope]
	// <nil>
}

// TestSimNetworkRateSignal: the rate signal of a network is its spike
// count per step over N·Δt, so its mean over a run is the mean rate of
// the spike stream of the same seed.
func TestSimNetworkRateSignal(t *testing.T) {
	o := smallOptions()
	spikes := buildSource(t, "cuba", o, acquire.SimSourceConfig{BlockFrames: 10}, acquire.SimEnv{})
	o.Network.Signal = "rate"
	rate := buildSource(t, "cuba", o, acquire.SimSourceConfig{BlockFrames: 10}, acquire.SimEnv{})
	var a, b acquire.Block
	n, sum := 0, 0.0
	for range 200 {
		if err := spikes.Read(context.Background(), &a); err != nil {
			t.Fatal(err)
		}
		if err := rate.Read(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		n += len(a.Spikes)
		for _, v := range b.Data {
			sum += float64(v)
		}
	}
	steps := 2000.0
	want := float64(n) / 400 / (steps / spikes.SimBrain().Rate())
	if got := sum / steps; n == 0 || math.Abs(got-want) > 1e-3*want {
		t.Errorf("mean rate signal %v Hz, spike stream %v Hz (%d spikes)", got, want, n)
	}
	o.Network.Signal = "lfp"
	if err := o.Validate("cuba"); err == nil || !strings.Contains(err.Error(), "network.signal: ") {
		t.Errorf("signal lfp: %v", err)
	}
}
