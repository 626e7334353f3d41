package sim

import (
	"math"

	"github.com/bciloop/bciloop/model"
)

// COBADefaultNeurons is the size of the COBA and CUBA benchmarks.
const COBADefaultNeurons = 4000

// COBAInputs is the mean number of excitatory plus inhibitory inputs per
// neuron of the COBA and CUBA presets: 2 % of 4000, kept when they are
// scaled (Brette's 32000-neuron script connects with probability 80/N).
const COBAInputs = 80

// COBA returns benchmark 1 of Brette et al. (2007, J Comput Neurosci
// 23:349, appendix B), the conductance-based network of Vogels & Abbott
// (2005, J Neurosci 25:10786), as in R. Brette's reference Brian script for
// the review: n neurons (0: 4000), 80 % excitatory (E) and 20 % inhibitory
// (I), every pair connected with probability 80/n (2 % at 4000, autapses
// included as in the script), no external input; the cell of
// model.VogelsAbbottLIF (τ_m = 20 ms, E_L = −60 mV, V_th = −50 mV,
// V_reset = −60 mV, t_ref = 5 ms, E_E = 0 mV, E_I = −80 mV), exponential
// conductances with τ_e = 5 ms and τ_i = 10 ms and the weights weNS and wiNS
// (the script's 6 nS and 67 nS: 0.6 and 6.7 in units of g_L = 10 nS), a
// delay of one step, dt = 0.1 ms. The script's initial state is kept:
// V ~ N(−65, 5) mV, g_e ~ N(40, 15) nS, g_i ~ N(200, 120) nS, including
// the script's few negative initial g_i (4.8 % of cells; they decay within
// τ_i), whose initial burst ignites the self-sustained activity: clipped at
// 0, some seeds never ignite. The script integrates V by forward Euler;
// here the second-order exponential step of Network.
func COBA(n int, weNS, wiNS float64) NetworkConfig {
	if n == 0 {
		n = COBADefaultNeurons
	}
	ne, ni := splitEI(n)
	cfg := DefaultNetworkConfig()
	pop := func(name string, size int) Population {
		return Population{Name: name, N: size, Model: ModelLIFCond, LIF: model.VogelsAbbottLIF(),
			TauEMs: 5, TauIMs: 10,
			InitV: Dist{Kind: "normal", A: -65, B: 5},
			InitE: Dist{Kind: "normal", A: 40, B: 15},
			InitI: Dist{Kind: "normal", A: 200, B: 120}}
	}
	cfg.Populations = []Population{pop("E", ne), pop("I", ni)}
	cfg.Projections = randomEI(n, cfg.DtMs, weNS, wiNS)
	return cfg
}

// randomEI connects E and I all to all with probability 80/n, excitatory
// weight we from E and inhibitory weight wi from I, delay one step.
func randomEI(n int, dt, we, wi float64) []Projection {
	p := math.Min(1, float64(COBAInputs)/float64(n))
	var out []Projection
	for _, from := range []string{"E", "I"} {
		for _, to := range []string{"E", "I"} {
			pr := Projection{From: from, To: to, Receptor: Exc, Rule: ConnProb, P: p, Autapses: true, Weight: we, DelayMs: dt}
			if from == "I" {
				pr.Receptor, pr.Weight = Inh, wi
			}
			out = append(out, pr)
		}
	}
	return out
}
