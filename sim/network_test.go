package sim

import (
	"math"
	"strings"
	"testing"

	"github.com/bciloop/bciloop/model"
)

// twoPops returns a small valid network: 100 excitatory and 25 inhibitory
// conductance-based cells, connected with probability 0.1.
func twoPops() NetworkConfig {
	cfg := COBA(125, 6, 67)
	for i := range cfg.Projections {
		cfg.Projections[i].P = 0.1
	}
	return cfg
}

// izh returns the Izhikevich (2003) cell of class.
func izh(class string) model.Izhikevich {
	p, err := model.NewIzhikevich(class)
	if err != nil {
		panic(err)
	}
	return p
}

func TestNetworkConfigValidate(t *testing.T) {
	for _, name := range Presets() {
		cfg, err := Preset(name, PresetOptions{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
	tests := []struct {
		name string
		edit func(c *NetworkConfig)
		want []string // every substring must appear
	}{
		{"dt", func(c *NetworkConfig) { c.DtMs = 0 }, []string{"dt_ms: must be finite and > 0"}},
		{"threads", func(c *NetworkConfig) { c.Threads = 0 }, []string{"threads: must be in [1, 256]"}},
		{"no populations", func(c *NetworkConfig) { c.Populations, c.Projections = nil, nil }, []string{"populations: need at least one"}},
		{"duplicate name and bad size", func(c *NetworkConfig) {
			c.Populations[1].Name = "E"
			c.Populations[0].N = 0
		}, []string{`populations[1].name: "E" used twice`, "populations[0].n: must be in [1,"}},
		{"model", func(c *NetworkConfig) { c.Populations[0].Model = "hh" }, []string{"populations[0].model: must be lif, lif-cond, izhikevich, adex or poisson"}},
		{"cell parameters, every one", func(c *NetworkConfig) {
			c.Populations[0].LIF.C = -1
			c.Populations[0].LIF.VReset = -40
		}, []string{"populations[0].lif.c: must be finite and > 0", "populations[0].lif.vreset: -40 must be below VTh"}},
		{"tonic conductance", func(c *NetworkConfig) { c.Populations[0].LIF.GE = 1 }, []string{"populations[0].lif.ge: tonic conductances"}},
		{"synaptic time constant", func(c *NetworkConfig) { c.Populations[0].TauEMs = 0 }, []string{"populations[0].tau_e_ms: must be finite and > 0"}},
		{"dt beyond τ_m/10", func(c *NetworkConfig) { c.DtMs = 2.5 }, []string{"populations[0].lif: dt 2.5 ms exceeds τ_m/10 = 2 ms"}},
		{"izhikevich dt beyond stability", func(c *NetworkConfig) {
			c.DtMs = 0.6
			c.Populations[0] = Population{Name: "E", N: 100, Model: ModelIzhikevich, Izhikevich: izh("RS"), TauEMs: 5, TauIMs: 10}
		}, []string{"populations[0].izhikevich: dt 0.6 ms exceeds 0.5 ms"}},
		{"izhikevich parameters", func(c *NetworkConfig) {
			p := izh("FS")
			p.A, p.C = 0, 40
			c.Populations[0] = Population{Name: "E", N: 100, Model: ModelIzhikevich, Izhikevich: p, TauEMs: 5}
		}, []string{"populations[0].izhikevich.a: must be finite and > 0", "populations[0].izhikevich.c: reset 40 must be below VPeak 30",
			"populations[0].tau_i_ms: must be finite and > 0"}},
		{"adex dt beyond stability", func(c *NetworkConfig) {
			c.DtMs = 0.2
			c.Populations[0] = Population{Name: "E", N: 100, Model: ModelAdEx, AdEx: model.BretteGerstnerAdEx(), TauEMs: 5, TauIMs: 10}
		}, []string{"populations[0].adex: dt 0.2 ms exceeds 0.1 ms"}},
		{"adex parameters", func(c *NetworkConfig) {
			p := model.BretteGerstnerAdEx()
			p.DeltaT, p.TRef = 0, -1
			c.Populations[0] = Population{Name: "E", N: 100, Model: ModelAdEx, AdEx: p, TauEMs: 5, TauIMs: 10, IExtPA: math.Inf(1)}
		}, []string{"populations[0].adex.deltat: must be finite and > 0", "populations[0].adex.tref:", "populations[0].i_ext_pa: must be finite"}},
		{"refractory shorter than a step", func(c *NetworkConfig) { c.Populations[1].LIF.TRef = 0.05 }, []string{"populations[1].lif.tref: 0.05 ms is shorter than one step"}},
		{"init distribution", func(c *NetworkConfig) { c.Populations[0].InitV = Dist{Kind: "uniform", A: 1, B: 0} }, []string{"populations[0].init_v: uniform needs finite a ≤ b"}},
		{"poisson rate", func(c *NetworkConfig) {
			c.Populations = append(c.Populations, Population{Name: "P", N: 3, Model: ModelPoisson, RateHz: 20000})
		}, []string{"populations[2].rate_hz: 20000 Hz gives a spike probability per step above 1"}},
		{"unknown populations and receptor", func(c *NetworkConfig) {
			c.Projections[0].From, c.Projections[0].To, c.Projections[0].Receptor = "X", "Y", "gaba"
		}, []string{`projections[0].from: no population "X"`, `projections[0].to: no population "Y"`, "projections[0].receptor: must be exc or inh"}},
		{"negative conductance", func(c *NetworkConfig) { c.Projections[2].Weight = -67 }, []string{`projections[2].weight: -67 nS is a negative conductance (population "E" is lif-cond)`}},
		{"probability", func(c *NetworkConfig) { c.Projections[1].P = 1.5 }, []string{"projections[1].p: must be in (0, 1]"}},
		{"in-degree above the neurons", func(c *NetworkConfig) {
			c.Projections[0].Rule, c.Projections[0].K, c.Projections[0].Autapses = ConnInDegree, 100, false
		}, []string{`projections[0].k: in-degree 100 exceeds the 99 distinct presynaptic neurons of "E"`}},
		{"delay below one step", func(c *NetworkConfig) { c.Projections[0].DelayMs = 0.04 }, []string{"projections[0].delay_ms: must be at least one step (0.1 ms), got 0.04"}},
		{"delay range", func(c *NetworkConfig) { c.Projections[0].DelayMaxMs = 0.05 }, []string{"projections[0].delay_max_ms: must be ≥ delay_ms"}},
		{"rule", func(c *NetworkConfig) { c.Projections[0].Rule = "ring" }, []string{"projections[0].rule: must be prob, indegree, list or distance"}},
		{"list", func(c *NetworkConfig) {
			c.Projections[0] = Projection{From: "E", To: "I", Receptor: Exc, Rule: ConnList, Pre: []int32{0, 100}, Post: []int32{0},
				Weights: []float64{1, -1}, DelaysMs: []float64{0.1}, DelayMs: 0.1}
		}, []string{"projections[0].post: length 1 differs from pre's 2", "projections[0].delays_ms: length 1 differs", "projections[0].pre[1]: 100 out of range [0, 100)",
			"projections[0].weights[1]: -1 nS is a negative conductance"}},
		{"distance without sheet", func(c *NetworkConfig) {
			c.Sheet = Sheet{StimQueue: 1}
			c.Projections[0].Rule, c.Projections[0].SigmaUM = ConnDistance, 100
		}, []string{"projections[0].rule: distance needs a sheet"}},
		{"input", func(c *NetworkConfig) {
			c.Inputs = []PoissonInput{{To: "E", Receptor: Exc, N: 0, RateHz: -1, Weight: -2}}
		}, []string{"inputs[0].n: must be ≥ 1", "inputs[0].rate_hz: must be finite and ≥ 0", "inputs[0].weight: -2 nS is a negative conductance"}},
		{"input mean count", func(c *NetworkConfig) {
			c.Inputs = []PoissonInput{{To: "E", Receptor: Exc, N: 100000, RateHz: 100, Weight: 1}}
		}, []string{"inputs[0].rate_hz: mean count per step N·rate·dt = 1000 exceeds 700"}},
		{"sheet", func(c *NetworkConfig) { c.Sheet.PitchUM = 1000; c.Sheet.KUAPerMM2 = 0; c.Sheet.StimQueue = 0 },
			[]string{"sheet.pitch_um: a 10×10 array at 1000 µm spans 9000 µm", "sheet.k_ua_per_mm2: must be finite and > 0", "sheet.stim_queue: must be in [1, 65536]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := twoPops()
			tc.edit(&cfg)
			err := cfg.Validate()
			if err == nil {
				t.Fatal("Validate accepted an invalid config")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			if _, err := NewNetwork(cfg); err == nil || !strings.Contains(err.Error(), "sim: network config") {
				t.Errorf("NewNetwork error %v, want the config error", err)
			}
		})
	}
}

func TestNetworkConfigValidateMultapses(t *testing.T) {
	cfg := twoPops()
	cfg.Projections[0].Rule, cfg.Projections[0].K, cfg.Projections[0].Multapses = ConnInDegree, 300, true
	if err := cfg.Validate(); err != nil {
		t.Errorf("in-degree above the population with multapses: %v", err)
	}
	one := NetworkConfig{DtMs: 0.1, Threads: 1, Sheet: Sheet{StimQueue: 1},
		Populations: []Population{{Name: "A", N: 1, Model: ModelLIF, LIF: model.LIF{C: 200, GL: 10, EL: -60, VTh: -50, VReset: -60, TRef: 2}}},
		Projections: []Projection{{From: "A", To: "A", Receptor: Exc, Rule: ConnInDegree, K: 1, Multapses: true, DelayMs: 0.1}}}
	err := one.Validate()
	if err == nil || !strings.Contains(err.Error(), `population "A" offers no presynaptic neuron`) {
		t.Errorf("self-only in-degree: %v", err)
	}
}
