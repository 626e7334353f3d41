package sim

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/bciloop/bciloop/model"
)

func TestPresets(t *testing.T) {
	want := []string{"brunel-a", "brunel-b", "brunel-c", "brunel-d", "coba", "coba-4-51", "cuba"}
	if got := Presets(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("presets %v, want %v", got, want)
	}
	for _, name := range want {
		if PresetDoc(name) == "" {
			t.Errorf("%s has no description", name)
		}
	}
	if _, err := Preset("hh", PresetOptions{}); err == nil || !strings.Contains(err.Error(), "have brunel-a") {
		t.Errorf("unknown preset: %v", err)
	}
	if _, err := Preset("coba", PresetOptions{Neurons: -1}); err == nil {
		t.Error("negative size accepted")
	}
	tests := []struct {
		name         string
		o            PresetOptions
		ne, ni       int
		p            float64 // connection probability (prob rule)
		k            int     // excitatory in-degree (indegree rule)
		seed         uint64
		threads      int
		weE, weI     float64
		initVMeanOrA float64
	}{
		{"coba", PresetOptions{}, 3200, 800, 0.02, 0, 0, 1, 6, 67, -65},
		{"coba", PresetOptions{Neurons: 64000, Seed: 9, Threads: 2}, 51200, 12800, 80.0 / 64000, 0, 9, 2, 6, 67, -65},
		{"coba-4-51", PresetOptions{Neurons: 1000}, 800, 200, 0.08, 0, 0, 1, 4, 51, -65},
		{"cuba", PresetOptions{}, 3200, 800, 0.02, 0, 0, 1, 16.2, -90, -60},
		{"brunel-b", PresetOptions{}, 10000, 2500, 0, 1000, 0, 1, 0.1, -0.6, 10},
	}
	for _, tc := range tests {
		cfg, err := Preset(tc.name, tc.o)
		if err != nil {
			t.Fatal(err)
		}
		p := cfg.Populations
		pr := cfg.Projections
		if cfg.Name != tc.name || p[0].Name != "E" || p[0].N != tc.ne || p[1].Name != "I" || p[1].N != tc.ni ||
			cfg.Seed != tc.seed || cfg.Threads != tc.threads {
			t.Errorf("%s %+v: name %q, E %d, I %d, seed %d, threads %d", tc.name, tc.o, cfg.Name, p[0].N, p[1].N, cfg.Seed, cfg.Threads)
		}
		if math.Abs(pr[0].P-tc.p) > 1e-15 || pr[0].K != tc.k {
			t.Errorf("%s %+v: p %v, k %d", tc.name, tc.o, pr[0].P, pr[0].K)
		}
		var wi float64
		for _, x := range pr {
			if x.From == "I" {
				wi = x.Weight
			}
		}
		if math.Abs(pr[0].Weight-tc.weE) > 1e-12 || math.Abs(wi-tc.weI) > 1e-12 {
			t.Errorf("%s: weights %v, %v; want %v, %v", tc.name, pr[0].Weight, wi, tc.weE, tc.weI)
		}
		if iv := p[0].InitV; iv.A != tc.initVMeanOrA && !(iv.Kind == "" && tc.initVMeanOrA == p[0].LIF.VReset) {
			t.Errorf("%s: initial V %+v", tc.name, iv)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func ExamplePreset() {
	cfg, err := Preset("cuba", PresetOptions{Neurons: 1000, Seed: 1})
	if err != nil {
		panic(err)
	}
	nw, err := NewNetwork(cfg)
	if err != nil {
		panic(err)
	}
	defer nw.Close()
	fi, ni, _ := nw.PopulationRange("I")
	fmt.Println(PresetDoc("cuba"))
	fmt.Printf("%d neurons, inhibitory cells %d…%d, %d steps per second\n", nw.Neurons(), fi, fi+ni-1, int(nw.Rate()))
	// Output:
	// Brette et al. 2007 benchmark 2 as Brian2's CUBA example: 4000 current-based LIF, exponential currents
	// 1000 neurons, inhibitory cells 800…999, 10000 steps per second
}

func ExampleNetwork() {
	// One Vogels–Abbott cell driven by 250 pA for 1 s: its period is
	// t_ref + τ_m ln(25/15) = 15.2 ms, which the clock resolves to 15.3 ms
	// (a spike is registered at the end of its 0.1 ms step).
	cfg := DefaultNetworkConfig()
	cfg.Populations = []Population{{Name: "cell", N: 1, Model: ModelLIF, LIF: model.VogelsAbbottLIF(),
		TauEMs: 5, TauIMs: 10, IExtPA: 250, InitV: Dist{Kind: "const", A: -60}}}
	nw, err := NewNetwork(cfg)
	if err != nil {
		panic(err)
	}
	defer nw.Close()
	spikes := nw.Advance(10000, nil)
	fmt.Printf("%d spikes, the first at %.1f ms, then every %.1f ms\n", len(spikes),
		float64(spikes[0].Sample+1)*cfg.DtMs, float64(spikes[1].Sample-spikes[0].Sample)*cfg.DtMs)
	// Output:
	// 65 spikes, the first at 10.3 ms, then every 15.3 ms
}

func ExampleNetwork_Stimulate() {
	cfg := CUBA(2000)
	cfg.Seed = 1
	nw, err := NewNetwork(cfg)
	if err != nil {
		panic(err)
	}
	defer nw.Close()
	nw.Advance(100, nil)
	// A 50 µA pulse on electrode 45 activates the cells within
	// √(50 µA / 1250 µA/mm²) = 200 µm of it in the next step.
	if err := nw.Stimulate(Stimulus{Electrode: 45, AmplitudeUA: 50, PhaseUS: 200, Count: 1}); err != nil {
		panic(err)
	}
	spikes := nw.Advance(1, nil)
	el := nw.ElectrodePositions()[45]
	pos := nw.Positions()
	within := 0
	for _, s := range spikes {
		if math.Hypot(pos[s.Channel][0]-el[0], pos[s.Channel][1]-el[1]) <= 200 {
			within++
		}
	}
	fmt.Println("cells within 200 µm that fired:", within > 10)
	// Output:
	// cells within 200 µm that fired: true
}
