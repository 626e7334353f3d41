package sim

import (
	"fmt"
	"slices"
	"strings"
)

// PresetOptions adjust a preset: a network size other than the preset's
// (0 keeps it; the preset documents how it scales), the seed and the
// thread count (0 means 1).
type PresetOptions struct {
	Neurons int    `yaml:"neurons"`
	Seed    uint64 `yaml:"seed"`
	Threads int    `yaml:"threads"`
}

type presetEntry struct {
	doc   string
	build func(o PresetOptions) (NetworkConfig, error)
}

var presets = map[string]presetEntry{
	"coba": {"Brette et al. 2007 benchmark 1 (Vogels & Abbott 2005 COBA): 4000 conductance-based LIF, 80 % excitatory, 80 inputs per neuron, 6 nS / 67 nS",
		func(o PresetOptions) (NetworkConfig, error) { return COBA(o.Neurons, 6, 67), nil }},
	"coba-4-51": {"the COBA benchmark with the weights 4 nS / 51 nS",
		func(o PresetOptions) (NetworkConfig, error) { return COBA(o.Neurons, 4, 51), nil }},
	"cuba": {"Brette et al. 2007 benchmark 2 as Brian2's CUBA example: 4000 current-based LIF, exponential currents",
		func(o PresetOptions) (NetworkConfig, error) { return CUBA(o.Neurons), nil }},
	"brunel-a": {"Brunel 2000 model A, Fig. 8A (g = 3, ν_ext/ν_thr = 2): synchronous regular",
		func(o PresetOptions) (NetworkConfig, error) { return Brunel(BrunelPanelA, o.Neurons) }},
	"brunel-b": {"Brunel 2000 model A, Fig. 8B (g = 6, ν_ext/ν_thr = 4): synchronous irregular, fast oscillation",
		func(o PresetOptions) (NetworkConfig, error) { return Brunel(BrunelPanelB, o.Neurons) }},
	"brunel-c": {"Brunel 2000 model A, Fig. 8C (g = 5, ν_ext/ν_thr = 2): asynchronous irregular",
		func(o PresetOptions) (NetworkConfig, error) { return Brunel(BrunelPanelC, o.Neurons) }},
	"brunel-d": {"Brunel 2000 model A, Fig. 8D (g = 4.5, ν_ext/ν_thr = 0.9): synchronous irregular, slow oscillation",
		func(o PresetOptions) (NetworkConfig, error) { return Brunel(BrunelPanelD, o.Neurons) }},
}

// Presets returns the names of the network presets, sorted.
func Presets() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// PresetDoc returns a one-line description of the preset called name.
func PresetDoc(name string) string { return presets[name].doc }

// Preset returns the configuration of the network preset called name with
// the options applied; build it with NewNetwork. Its populations are named
// "E" and "I".
func Preset(name string, o PresetOptions) (NetworkConfig, error) {
	p, ok := presets[name]
	if !ok {
		return NetworkConfig{}, fmt.Errorf("sim: unknown preset %q (have %s)", name, strings.Join(Presets(), ", "))
	}
	if o.Neurons < 0 {
		return NetworkConfig{}, fmt.Errorf("sim: preset %s: neurons must be ≥ 0, got %d", name, o.Neurons)
	}
	cfg, err := p.build(o)
	if err != nil {
		return NetworkConfig{}, fmt.Errorf("sim: preset %s: %w", name, err)
	}
	cfg.Name = name
	cfg.Seed = o.Seed
	cfg.Threads = max(1, o.Threads)
	return cfg, nil
}

// splitEI returns the excitatory and inhibitory sizes of an n-neuron
// network with 80 % excitatory neurons.
func splitEI(n int) (ne, ni int) {
	ne = n * 4 / 5
	return ne, n - ne
}
