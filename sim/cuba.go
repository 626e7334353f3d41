package sim

import "github.com/bciloop/bciloop/model"

// CUBA returns benchmark 2 of Brette et al. (2007, J Comput Neurosci
// 23:349), the current-based network of Vogels & Abbott (2005), as in
// Brian2's CUBA example: n neurons (0: 4000), 80 % excitatory (E), pairs
// connected with probability 80/n (2 % at 4000, autapses included as in
// connect(p=0.02)), no external input; τ_m = 20 ms (C = 200 pF,
// g_L = 10 nS), E_L = −49 mV (above threshold: the cells fire without
// input), V_th = −50 mV, V_reset = −60 mV, t_ref = 5 ms; exponential
// currents with τ_e = 5 ms, τ_i = 10 ms and the example's weights
// we = (60·0.27/10) mV = 1.62 mV and wi = (−20·4.5/10) mV = −9 mV, here as
// currents g_L·w = 16.2 pA and −90 pA; V uniform on [V_reset, V_th),
// currents 0; delay one step, dt = 0.1 ms; exact integration (Brian's
// method='exact').
func CUBA(n int) NetworkConfig {
	if n == 0 {
		n = COBADefaultNeurons
	}
	ne, ni := splitEI(n)
	cell := model.LIF{C: 200, GL: 10, EL: -49, VTh: -50, VReset: -60, TRef: 5}
	cfg := DefaultNetworkConfig()
	pop := func(name string, size int) Population {
		return Population{Name: name, N: size, Model: ModelLIF, LIF: cell, TauEMs: 5, TauIMs: 10,
			InitV: Dist{Kind: "uniform", A: cell.VReset, B: cell.VTh}}
	}
	cfg.Populations = []Population{pop("E", ne), pop("I", ni)}
	we := 60 * 0.27 / 10 * cell.GL // pA
	wi := -20 * 4.5 / 10 * cell.GL // pA
	cfg.Projections = randomEI(n, cfg.DtMs, we, wi)
	return cfg
}
