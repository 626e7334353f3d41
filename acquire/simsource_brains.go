package acquire

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/bciloop/bciloop/sim"
)

// SimBrain is a synthetic brain a SimSource reads: a generator of frames on
// its own sample clock, with an optional stimulation input.
//
// Advance generates the next frames frames into b: it appends
// frames·Channels() frame-major samples (µV) to b.Data (raw streams; a
// spike-only stream leaves it empty), the spikes (Sample on the brain's
// clock, Channel < Channels(), Unit 0) to b.Spikes, and len(TruthNames())
// ground-truth values per frame to b.Truth. The source hands the three
// slices in truncated to length 0 and sets every other Block field itself.
// Advance must not allocate once the slices have grown, and Channels must
// not allocate at all; TruthNames is read once, when the source is built.
//
// Target returns the stimulation input (sim.Stimulable), or nil when the
// brain has none. Its methods may be called from other goroutines while
// Advance runs.
//
// SimPresets lists the brains the runtime can build by name.
type SimBrain interface {
	Rate() float64
	Sample() int64
	Channels() int
	TruthNames() []string
	Advance(frames int, b *Block)
	Target() sim.Stimulable
}

// SimSpatial is implemented by brains whose channels and electrodes have
// positions on a cortical sheet (µm): the spiking networks, whose channels
// are neurons. Feature stages use it to select the neurons an electrode
// records or reaches.
type SimSpatial interface {
	ChannelPositions() [][2]float64
	ElectrodePositions() [][2]float64
}

// appliedReporter is implemented by brains that call SimEnv.OnApplied
// themselves (the motor cortex), at the frame a stimulus takes effect.
type appliedReporter interface{ ReportsApplied() bool }

func reportsApplied(b SimBrain) bool {
	r, ok := b.(appliedReporter)
	return ok && r.ReportsApplied()
}

// SimEnv is what the runtime hands a preset's Build.
type SimEnv struct {
	// Clock returns monotonic ns (Now); nil means Now.
	Clock func() int64
	// OnApplied, when not nil, is called with the arrival stamp of each
	// stimulus (sim.Stimulus.Arrived) and the time it was applied.
	OnApplied func(arrived, applied int64)
}

// SimPreset is one entry of the table of synthetic brains (SimPresets).
//
// Key is the nested options key under "source:" (the yaml tag of the
// preset's field of SimOptions), or "" for options inline under source (the
// motor cortex). Validate reports the problems of the preset's options as
// "key: message", keys relative to source.<Key>. Build builds the brain from
// the options (already validated).
type SimPreset struct {
	Doc      string
	Key      string
	Validate func(o *SimOptions) error
	Build    func(o *SimOptions, env SimEnv) (SimBrain, error)
}

// SimOptions holds the options of every preset; loop.SourceConfig embeds it
// inline, so that the motor cortex's keys sit beside source.type and every
// other preset's under its own key (source.eeg, source.beta, …).
//
// To add a preset: add its options field here (with its yaml key) and its
// default in DefaultSimOptions, an entry in simPresets, and an adapter
// implementing SimBrain (spikeAdapter and the raw adapters below are short
// examples). The loop's config, validation, source building and "sim"
// stimulation sink pick it up from the table.
type SimOptions struct {
	// MotorCortex: preset motor-cortex (inline keys: units, seed, rate_hz, …).
	sim.MotorCortexConfig `yaml:",inline"`
	// EEG: preset eeg.
	EEG sim.EEGConfig `yaml:"eeg"`
	// Beta: preset beta.
	Beta sim.BetaConfig `yaml:"beta"`
	// Seizure: preset seizure.
	Seizure SimSeizureOptions `yaml:"seizure"`
	// Network: the spiking network presets (coba, cuba, brunel-a…d, …).
	Network SimNetworkOptions `yaml:"network"`
	// Broadband: preset broadband (simsource_broadband.go).
	Broadband SimBroadbandOptions `yaml:"broadband"`
	// MotorNet: preset motor-net (simsource_motornet.go).
	MotorNet SimMotorNetOptions `yaml:"motor_net"`
}

// SimSeizureOptions are the options of the seizure preset: the circuit's
// configuration and which of its signals the stream carries, "lfp" (one raw
// channel, µV) or "spikes" (its units, one channel each).
type SimSeizureOptions struct {
	sim.SeizureConfig `yaml:",inline"`
	Signal            string `yaml:"signal"`
}

// SimNetworkOptions are the options of the spiking network presets (see
// sim.Preset): size, seed and threads, and the sheet carrying the electrode
// array. The stream carries the spikes of every neuron, one channel per
// neuron (at most 65536 neurons), at the network's step rate (10 kHz for
// dt = 0.1 ms); with Signal "rate" it carries instead one raw channel, the
// population activity of the network per step, A = n/(N·Δt) in Hz per
// neuron (n of the N neurons fire in the step; the global activity of
// Brunel 2000), a field-potential-like signal for the feature stage.
// InputScale multiplies the rate of every external Poisson input of the
// preset (the Brunel presets' ν_ext; 1 keeps the preset).
type SimNetworkOptions struct {
	sim.PresetOptions `yaml:",inline"`
	Sheet             sim.Sheet `yaml:"sheet"`
	InputScale        float64   `yaml:"input_scale"`
	Signal            string    `yaml:"signal"` // "spikes" (default) or "rate"
}

// DefaultSimOptions returns every preset's defaults.
func DefaultSimOptions() SimOptions {
	return SimOptions{
		MotorCortexConfig: sim.DefaultMotorCortexConfig(),
		EEG:               sim.DefaultEEGConfig(),
		Beta:              sim.DefaultBetaConfig(),
		Seizure:           SimSeizureOptions{SeizureConfig: sim.DefaultSeizureConfig(), Signal: "lfp"},
		Network:           SimNetworkOptions{PresetOptions: sim.PresetOptions{Seed: 1, Threads: 1}, Sheet: sim.DefaultSheet(), InputScale: 1, Signal: "spikes"},
		Broadband:         SimBroadbandOptions{BroadbandConfig: sim.DefaultBroadbandConfig()},
		MotorNet:          DefaultSimMotorNetOptions(),
	}
}

// maxSpikeChannels is the largest channel count of a spike stream
// (Spike.Channel is a uint16).
const maxSpikeChannels = 1 << 16

// simPresets is the table of synthetic brains, by preset name.
var simPresets = map[string]SimPreset{
	"motor-cortex": {
		Doc:      "cosine-tuned Poisson motor-cortex units on a Utah-like array (sim.MotorCortex)",
		Validate: func(o *SimOptions) error { return o.MotorCortexConfig.Validate() },
		Build: func(o *SimOptions, env SimEnv) (SimBrain, error) {
			mc := o.MotorCortexConfig
			mc.Clock, mc.OnApplied = env.Clock, env.OnApplied
			m, err := sim.NewMotorCortex(mc)
			if err != nil {
				return nil, err
			}
			return &motorBrain{m: m}, nil
		},
	},
	"eeg": {
		Doc: "scalp EEG of Jansen–Rit sources with a cued motor-imagery schedule, raw channels, no stimulation input (sim.EEG)",
		Key: "eeg", Validate: func(o *SimOptions) error { return o.EEG.Validate() },
		Build: func(o *SimOptions, _ SimEnv) (SimBrain, error) {
			e, err := sim.NewEEG(o.EEG)
			if err != nil {
				return nil, err
			}
			return &eegBrain{e: e, n: len(e.Channels()), names: e.TruthNames()}, nil
		},
	},
	"beta": {
		Doc: "beta-burst neural mass, one LFP channel, stimulation suppresses beta (sim.BetaCircuit)",
		Key: "beta", Validate: func(o *SimOptions) error { return o.Beta.Validate() },
		Build: func(o *SimOptions, _ SimEnv) (SimBrain, error) {
			b, err := sim.NewBetaCircuit(o.Beta)
			if err != nil {
				return nil, err
			}
			return &betaBrain{b: b, names: b.TruthNames()}, nil
		},
	},
	"seizure": {
		Doc: "seizure-like neural mass with Poisson units, its LFP (signal: lfp) or its units' spikes (signal: spikes) (sim.SeizureCircuit)",
		Key: "seizure", Validate: func(o *SimOptions) error { return o.Seizure.Validate() },
		Build: func(o *SimOptions, _ SimEnv) (SimBrain, error) {
			c, err := sim.NewSeizureCircuit(o.Seizure.SeizureConfig)
			if err != nil {
				return nil, err
			}
			return &seizureBrain{c: c, spikes: o.Seizure.Signal == "spikes", names: c.TruthNames()}, nil
		},
	},
}

// networkPreset returns the table entry of the spiking network preset name
// (sim.Preset), its options under source.network.
func networkPreset(name string) SimPreset {
	return SimPreset{
		Doc: "spiking network, one spike channel per neuron: " + sim.PresetDoc(name),
		Key: "network",
		Validate: func(o *SimOptions) error {
			var errs []error
			if o.Network.Neurons < 0 {
				errs = append(errs, fmt.Errorf("neurons: must be ≥ 0, got %d", o.Network.Neurons))
			}
			if o.Network.Threads < 0 {
				errs = append(errs, fmt.Errorf("threads: must be ≥ 0, got %d", o.Network.Threads))
			}
			if !(o.Network.InputScale >= 0) || math.IsInf(o.Network.InputScale, 0) {
				errs = append(errs, fmt.Errorf("input_scale: must be finite and ≥ 0, got %v", o.Network.InputScale))
			}
			if o.Network.Signal != "spikes" && o.Network.Signal != "rate" {
				errs = append(errs, fmt.Errorf("signal: must be spikes or rate, got %q", o.Network.Signal))
			}
			return errors.Join(errs...)
		},
		Build: func(o *SimOptions, _ SimEnv) (SimBrain, error) {
			cfg, err := sim.Preset(name, o.Network.PresetOptions)
			if err != nil {
				return nil, err
			}
			cfg.Sheet = o.Network.Sheet
			for i := range cfg.Inputs {
				cfg.Inputs[i].RateHz *= o.Network.InputScale
			}
			nw, err := sim.NewNetwork(cfg)
			if err != nil {
				return nil, err
			}
			if nw.Neurons() > maxSpikeChannels {
				return nil, fmt.Errorf("network: %d neurons exceed the %d channels of a spike stream", nw.Neurons(), maxSpikeChannels)
			}
			return &networkBrain{nw: nw, rate: o.Network.Signal == "rate"}, nil
		},
	}
}

func init() {
	for _, name := range sim.Presets() {
		if _, ok := simPresets[name]; !ok {
			simPresets[name] = networkPreset(name)
		}
	}
}

// SimPresets returns the names of the synthetic brains, sorted.
func SimPresets() []string {
	names := make([]string, 0, len(simPresets))
	for n := range simPresets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// SimPresetInfo returns the table entry of the preset called name.
func SimPresetInfo(name string) (SimPreset, bool) {
	p, ok := simPresets[name]
	return p, ok
}

// Validate reports the problems of the options of preset, each as "key:
// message" with the key relative to source (e.g. "beta.rate_hz").
func (o *SimOptions) Validate(preset string) error {
	p, ok := simPresets[preset]
	if !ok {
		return fmt.Errorf("preset: unknown %q (one of: %s)", preset, strings.Join(SimPresets(), ", "))
	}
	err := p.Validate(o)
	if err == nil || p.Key == "" {
		return err
	}
	var errs []error
	for _, e := range flattenErrs(err) {
		errs = append(errs, fmt.Errorf("%s.%w", p.Key, e))
	}
	return errors.Join(errs...)
}

// RateHz returns the frame rate of the brain preset would build from o,
// or 0 when it cannot tell without building it.
func (o *SimOptions) RateHz(preset string) float64 {
	switch simPresets[preset].Key {
	case "":
		return o.MotorCortexConfig.RateHz
	case "eeg":
		return o.EEG.RateHz
	case "beta":
		return o.Beta.RateHz
	case "seizure":
		return o.Seizure.RateHz
	case "broadband":
		return o.Broadband.RateHz
	case "motor_net":
		return o.MotorNet.rateHz()
	}
	return 0
}

func flattenErrs(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flattenErrs(e)...)
		}
		return out
	}
	return []error{err}
}

// Validate checks the seizure options.
func (o *SimSeizureOptions) Validate() error {
	var errs []error
	if err := o.SeizureConfig.Validate(); err != nil {
		errs = append(errs, err)
	}
	switch o.Signal {
	case "lfp":
	case "spikes":
		if o.Units < 1 {
			errs = append(errs, fmt.Errorf("signal: spikes needs units ≥ 1, got %d", o.Units))
		}
	default:
		errs = append(errs, fmt.Errorf("signal: must be lfp or spikes, got %q", o.Signal))
	}
	return errors.Join(errs...)
}

// BuildSimBrain builds the brain preset names from o (validated first).
func BuildSimBrain(preset string, o *SimOptions, env SimEnv) (SimBrain, error) {
	if err := o.Validate(preset); err != nil {
		return nil, fmt.Errorf("acquire: sim %s: %w", preset, err)
	}
	if env.Clock == nil {
		env.Clock = Now
	}
	b, err := simPresets[preset].Build(o, env)
	if err != nil {
		return nil, fmt.Errorf("acquire: sim %s: %w", preset, err)
	}
	return b, nil
}

// appendEvents appends events to spikes as Spikes.
func appendEvents(spikes []Spike, events []sim.Event) []Spike {
	for _, e := range events {
		spikes = append(spikes, Spike{Sample: e.Sample, Channel: uint16(e.Channel)})
	}
	return spikes
}

// motorBrain adapts sim.MotorCortex: spikes of its units, truth
// [px, py, vx, vy]; it reports applied stimuli itself.
type motorBrain struct {
	m  *sim.MotorCortex
	ev []sim.Event
}

func (a *motorBrain) Rate() float64          { return a.m.Rate() }
func (a *motorBrain) Sample() int64          { return a.m.Sample() }
func (a *motorBrain) Channels() int          { return a.m.Units() }
func (a *motorBrain) TruthNames() []string   { return a.m.TruthNames() }
func (a *motorBrain) Target() sim.Stimulable { return a.m }
func (a *motorBrain) ReportsApplied() bool   { return true }
func (a *motorBrain) Advance(frames int, b *Block) {
	a.ev, b.Truth = a.m.Advance(frames, a.ev[:0], b.Truth)
	b.Spikes = appendEvents(b.Spikes, a.ev)
}

// MotorCortex returns the adapted brain (for callers that need its tuning).
func (a *motorBrain) MotorCortex() *sim.MotorCortex { return a.m }

// SetIntent hands the motor cortex an external intended velocity.
func (a *motorBrain) SetIntent(in sim.Intent) { a.m.SetIntent(in) }

// eegBrain adapts sim.EEG: raw channels, truth [class].
type eegBrain struct {
	e     *sim.EEG
	n     int
	names []string
}

func (a *eegBrain) Rate() float64          { return a.e.Rate() }
func (a *eegBrain) Sample() int64          { return a.e.Sample() }
func (a *eegBrain) Channels() int          { return a.n }
func (a *eegBrain) TruthNames() []string   { return a.names }
func (a *eegBrain) Target() sim.Stimulable { return nil }
func (a *eegBrain) Advance(frames int, b *Block) {
	b.Data, b.Truth = a.e.Advance(frames, b.Data, b.Truth)
}

// betaBrain adapts sim.BetaCircuit: one LFP channel, truth [burst,
// envelope].
type betaBrain struct {
	b     *sim.BetaCircuit
	names []string
}

func (a *betaBrain) Rate() float64          { return a.b.Rate() }
func (a *betaBrain) Sample() int64          { return a.b.Sample() }
func (a *betaBrain) Channels() int          { return 1 }
func (a *betaBrain) TruthNames() []string   { return a.names }
func (a *betaBrain) Target() sim.Stimulable { return a.b }
func (a *betaBrain) Advance(frames int, b *Block) {
	b.Data, b.Truth = a.b.Advance(frames, b.Data, b.Truth)
}

// Circuit returns the adapted circuit.
func (a *betaBrain) Circuit() *sim.BetaCircuit { return a.b }

// seizureBrain adapts sim.SeizureCircuit: its LFP (one channel) or its
// units' spikes, truth [event, onset, excitability].
type seizureBrain struct {
	c      *sim.SeizureCircuit
	spikes bool
	names  []string
	lfp    []float32
	ev     []sim.Event
}

func (a *seizureBrain) Rate() float64          { return a.c.Rate() }
func (a *seizureBrain) Sample() int64          { return a.c.Sample() }
func (a *seizureBrain) TruthNames() []string   { return a.names }
func (a *seizureBrain) Target() sim.Stimulable { return a.c }
func (a *seizureBrain) Channels() int {
	if a.spikes {
		return a.c.Units()
	}
	return 1
}
func (a *seizureBrain) Advance(frames int, b *Block) {
	if a.spikes {
		a.lfp, a.ev, b.Truth = a.c.Advance(frames, a.lfp[:0], a.ev[:0], b.Truth)
		b.Spikes = appendEvents(b.Spikes, a.ev)
		return
	}
	b.Data, a.ev, b.Truth = a.c.Advance(frames, b.Data, a.ev[:0], b.Truth)
}

// Circuit returns the adapted circuit.
func (a *seizureBrain) Circuit() *sim.SeizureCircuit { return a.c }

// networkBrain adapts sim.Network: one spike channel per neuron, or one
// raw channel of population activity (rate); no truth.
type networkBrain struct {
	nw   *sim.Network
	ev   []sim.Event
	rate bool
}

func (a *networkBrain) Rate() float64 { return a.nw.Rate() }
func (a *networkBrain) Sample() int64 { return a.nw.Sample() }
func (a *networkBrain) Channels() int {
	if a.rate {
		return 1
	}
	return a.nw.Neurons()
}
func (a *networkBrain) TruthNames() []string             { return nil }
func (a *networkBrain) Target() sim.Stimulable           { return a.nw }
func (a *networkBrain) ElectrodePositions() [][2]float64 { return a.nw.ElectrodePositions() }

// ChannelPositions returns the neurons' positions, or nil for the rate
// signal (one channel, the whole network).
func (a *networkBrain) ChannelPositions() [][2]float64 {
	if a.rate {
		return nil
	}
	return a.nw.Positions()
}

func (a *networkBrain) Advance(frames int, b *Block) {
	start := a.nw.Sample()
	a.ev = a.nw.Advance(frames, a.ev[:0])
	if !a.rate {
		b.Spikes = appendEvents(b.Spikes, a.ev)
		return
	}
	scale := a.nw.Rate() / float64(a.nw.Neurons())
	k := 0
	for f := range int64(frames) {
		n := 0
		for ; k < len(a.ev) && a.ev[k].Sample == start+f; k++ {
			n++
		}
		b.Data = append(b.Data, float32(float64(n)*scale))
	}
}

// Network returns the adapted network.
func (a *networkBrain) Network() *sim.Network { return a.nw }

// appliedTracker wraps a brain's stimulation input to report, for brains
// that do not, when each stimulus took effect: the source calls applied
// after each Advance, and every stimulus whose first pulse fell in the
// frames generated is reported with that time. It keeps at most
// trackedStimuli pending stimuli (older ones are forgotten, not reported).
type appliedTracker struct {
	target    sim.Stimulable
	clock     func() int64
	onApplied func(arrived, applied int64)

	mu      sync.Mutex
	pending [trackedStimuli]trackedStim
	n       int
	// next is the first frame the brain has not generated yet, as of the
	// last applied call: a stimulus due earlier starts at next.
	next int64
}

type trackedStim struct{ first, arrived int64 }

// trackedStimuli bounds the pending stimuli of an appliedTracker: the
// sim brains queue at most 16 by default (StimQueue).
const trackedStimuli = 64

func newAppliedTracker(t sim.Stimulable, env SimEnv) *appliedTracker {
	c := env.Clock
	if c == nil {
		c = Now
	}
	return &appliedTracker{target: t, clock: c, onApplied: env.OnApplied}
}

// Stimulate forwards s and, when accepted, remembers its first frame.
func (t *appliedTracker) Stimulate(s sim.Stimulus) error {
	if err := t.target.Stimulate(s); err != nil {
		return err
	}
	t.mu.Lock()
	first := max(s.Sample, t.next)
	if t.n == len(t.pending) {
		copy(t.pending[:], t.pending[1:])
		t.n--
	}
	t.pending[t.n] = trackedStim{first: first, arrived: s.Arrived}
	t.n++
	t.mu.Unlock()
	return nil
}

// StopStimulation forwards and forgets the pending stimuli.
func (t *appliedTracker) StopStimulation() {
	t.target.StopStimulation()
	t.mu.Lock()
	t.n = 0
	t.mu.Unlock()
}

// applied reports the stimuli whose first frame is before end (the brain
// has generated every frame before end) as applied at now.
func (t *appliedTracker) applied(end, now int64) {
	t.mu.Lock()
	t.next = end
	j := 0
	for i := range t.n {
		p := t.pending[i]
		if p.first < end {
			if p.arrived > 0 {
				t.onApplied(p.arrived, now)
			}
			continue
		}
		t.pending[j] = p
		j++
	}
	t.n = j
	t.mu.Unlock()
}
