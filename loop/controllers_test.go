package loop

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bciloop/bciloop/acquire"
	"github.com/bciloop/bciloop/stimulate"
)

// TestSourcePresetConfig: every preset of the table is a source.preset;
// nested options parse strictly with their paths; the motor cortex's
// inline keys still work.
func TestSourcePresetConfig(t *testing.T) {
	for _, p := range acquire.SimPresets() {
		if _, ok := Components["source.preset"][p]; !ok {
			t.Errorf("preset %q missing from Components", p)
		}
	}
	for k := range controllerKinds {
		if _, ok := Components["stimulate.controller"][k]; !ok {
			t.Errorf("controller %q missing from Components", k)
		}
	}
	for k := range Components["stimulate.controller"] {
		if _, ok := controllerKinds[k]; !ok && k != "none" {
			t.Errorf("Components lists controller %q that Build cannot build", k)
		}
	}
	cfg, err := ParseConfig("t", []byte(`
source: {type: sim, preset: beta, beta: {seed: 7, input_hz: 650}, seizure: {signal: spikes}, network: {neurons: 800}, units: 12}
decoder: {type: none}
stimulate: {controller: adaptive, adaptive: {upper: 9, lower: 3}, features: {band_low_hz: 14}}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Source
	if s.Beta.Seed != 7 || s.Beta.InputHz != 650 || s.Seizure.Signal != "spikes" || s.Network.Neurons != 800 || s.Units != 12 {
		t.Errorf("parsed source %+v", s)
	}
	if a := cfg.Stimulate.Adaptive; a.Upper != 9 || a.Lower != 3 || a.MaxUA != stimulate.DefaultAdaptiveConfig().MaxUA || cfg.Stimulate.Features.BandLowHz != 14 {
		t.Errorf("parsed stimulate %+v", cfg.Stimulate)
	}
	_, err = ParseConfig("t", []byte(`
source: {type: sim, preset: seizure, seizure: {sed: 1, rate_hz: -5}}
decoder: {type: none}
stimulate: {controller: rate_clamp, rate_clamp: {kp: -1}, features: {rate_window: 0s}}
experiment: {type: rate_clamp}
`))
	for _, want := range []string{"source.seizure.sed (line 2): unknown key (did you mean \"seed\"?)", "source.seizure.rate_hz: ",
		"stimulate.rate_clamp.kp: ", "stimulate.features.rate_window: ", "experiment.steps: "} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
	_, err = ParseConfig("t", []byte("source: {type: sim, preset: motor-cortex}\ndecoder: {type: none}\nstimulate: {controller: threshold}\n"))
	if err == nil || !strings.Contains(err.Error(), "threshold needs a decoder") {
		t.Errorf("threshold without decoder: %v", err)
	}
}

// TestFeatureControllersInLoop builds each feature controller on the beta
// circuit and runs a second of it in lockstep: every one but the quiet
// ones delivers pulses into the brain, through the Limit.
func TestFeatureControllersInLoop(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*StimulateConfig)
	}{
		{"rate_clamp", func(s *StimulateConfig) {
			s.RateClamp.Electrode, s.RateClamp.MaxUA, s.RateClamp.FreqHz, s.RateClamp.PhaseUS = 0, 20, 50, 60
		}},
		{"responsive", func(s *StimulateConfig) {
			s.Responsive.Threshold, s.Responsive.Pulse.Electrode, s.Responsive.Pulse.AmplitudeUA = 100, 0, 20
		}},
		{"adaptive", func(s *StimulateConfig) { s.Adaptive.Upper, s.Adaptive.Lower, s.Adaptive.MaxUA = 1, 0.5, 20 }},
		{"phase", func(s *StimulateConfig) { s.Phase.Pulse.AmplitudeUA = 5 }},
		{"schedule", func(s *StimulateConfig) {
			s.Schedule.Timing, s.Schedule.RateHz, s.Schedule.Pulse.Electrode, s.Schedule.Pulse.AmplitudeUA = stimulate.Periodic, 10, 0, 20
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Source.Preset = "beta"
			cfg.Source.Beta.Calibration = 3 * time.Second
			cfg.Decoder.Type = "none"
			cfg.Publish = PublishConfig{}
			cfg.Stimulate.Controller = c.name
			cfg.Stimulate.Limit.Electrodes = 1
			c.mod(&cfg.Stimulate)
			cfg.Run.Lockstep, cfg.Run.Duration = true, time.Second
			l, err := Build(cfg, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			defer l.shutdown()
			var b acquire.Block
			for range 1000 {
				if err := l.src.Read(context.Background(), &b); err != nil {
					t.Fatal(err)
				}
				if err := l.Process(&b); err != nil {
					t.Fatal(err)
				}
			}
			st := l.limit.Stats()
			if st.Passed == 0 || st.Refused != 0 || l.stimErrs.Load() != 0 {
				t.Errorf("limit %+v, sink errors %d: want pulses delivered, none refused", st, l.stimErrs.Load())
			}
		})
	}
	// A brain without a stimulation input cannot take the sim sink.
	cfg := DefaultConfig()
	cfg.Source.Preset, cfg.Source.Block, cfg.Decoder.Type, cfg.Stimulate.Controller = "eeg", 4*time.Millisecond, "none", "adaptive"
	cfg.Stimulate.Limit.Electrodes = 1
	if _, err := Build(cfg, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "no stimulation input") {
		t.Errorf("eeg with sink sim: %v", err)
	}
}

// TestFeatureControlAllocs: with a feature controller (adaptive on the
// beta circuit) the hot path stays allocation-free after warm-up.
func TestFeatureControlAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	cfg := DefaultConfig()
	cfg.Source.Preset = "beta"
	cfg.Source.Beta.Calibration = 3 * time.Second
	cfg.Decoder.Type = "none"
	cfg.Publish = PublishConfig{}
	cfg.Stimulate.Controller = "adaptive"
	cfg.Stimulate.Adaptive.Upper, cfg.Stimulate.Adaptive.Lower, cfg.Stimulate.Adaptive.MaxUA = 1, 0.5, 20
	cfg.Stimulate.Limit.Electrodes = 1
	cfg.Run.Lockstep = true
	l, err := Build(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer l.shutdown()
	var b acquire.Block
	step := func() {
		if err := l.src.Read(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		if err := l.Process(&b); err != nil {
			t.Fatal(err)
		}
	}
	for range 2000 {
		step()
	}
	if a := testing.AllocsPerRun(50, func() {
		for range 20 {
			step()
		}
	}); a != 0 {
		t.Errorf("%v allocations per 20 iterations", a)
	}
	if l.limit.Stats().Passed == 0 {
		t.Error("no pulse delivered: the test did not exercise the stimulation path")
	}
}
