package sim

import (
	"fmt"

	"github.com/bciloop/bciloop/model"
)

// BrunelPanel is a point (g, ν_ext/ν_thr) of the phase diagram of Brunel's
// (2000, J Comput Neurosci 8:183) model A.
type BrunelPanel struct {
	Name string
	G    float64 // relative strength of inhibition, J_I = −g·J
	Eta  float64 // ν_ext/ν_thr
}

// The four panels of Brunel (2000) Fig. 8.
var (
	BrunelPanelA = BrunelPanel{"A", 3, 2}     // synchronous regular (SR)
	BrunelPanelB = BrunelPanel{"B", 6, 4}     // synchronous irregular, fast oscillation (SI fast)
	BrunelPanelC = BrunelPanel{"C", 5, 2}     // asynchronous irregular (AI)
	BrunelPanelD = BrunelPanel{"D", 4.5, 0.9} // synchronous irregular, slow oscillation (SI slow)
)

// Brunel model A constants (Brunel 2000, §2 and Fig. 8).
const (
	BrunelDefaultNeurons = 12500 // N_E = 10000, N_I = 2500
	brunelEpsilon        = 0.1   // connection probability: C_E = ε N_E, C_I = ε N_I
	brunelJ              = 0.1   // mV, EPSP amplitude
	brunelDelay          = 1.5   // ms, D
	brunelTheta          = 20    // mV, θ (rest at 0)
	brunelVr             = 10    // mV, V_r
	brunelTau            = 20    // ms, τ
	brunelTRef           = 2     // ms, τ_rp
)

// BrunelNuThr returns ν_thr = θ/(J·C_E·τ) in Hz, the external rate per
// synapse that brings the mean input to threshold without feedback.
func BrunelNuThr(ce int) float64 { return brunelTheta / (brunelJ * float64(ce) * brunelTau) * 1000 }

// Brunel returns model A of Brunel (2000) at a panel of Fig. 8: n neurons
// (0: 12500), N_E = 4n/5 excitatory (E) and N_I = n/5 inhibitory (I)
// current-based LIF with delta synapses, τ = 20 ms, θ = 20 mV, V_r = 10 mV
// (rest 0), τ_rp = 2 ms; every neuron receives exactly C_E = N_E/10
// excitatory inputs of J = 0.1 mV and C_I = N_I/10 inhibitory inputs of
// −g·J (fixed in-degree, distinct partners, no autapses), delay D = 1.5 ms,
// and C_E external Poisson inputs of J at ν_ext = η·ν_thr each; inputs
// arriving during the refractory period are lost. Initial V uniform on
// [V_r, θ); dt = 0.1 ms. At the default size there are 12,500 neurons and
// 15.6 million synapses; other sizes keep ε = 0.1 and J (so the regimes
// shift with C_E).
func Brunel(panel BrunelPanel, n int) (NetworkConfig, error) {
	if n == 0 {
		n = BrunelDefaultNeurons
	}
	ne, ni := splitEI(n)
	ce, ci := int(brunelEpsilon*float64(ne)+0.5), int(brunelEpsilon*float64(ni)+0.5)
	if ce < 1 || ci < 1 {
		return NetworkConfig{}, fmt.Errorf("%d neurons leave no inputs (C_E = %d, C_I = %d)", n, ce, ci)
	}
	cell := model.LIF{C: 250, GL: 250.0 / brunelTau, EL: 0, VTh: brunelTheta, VReset: brunelVr, TRef: brunelTRef}
	cfg := DefaultNetworkConfig()
	cfg.Populations = []Population{
		{Name: "E", N: ne, Model: ModelLIF, LIF: cell},
		{Name: "I", N: ni, Model: ModelLIF, LIF: cell},
	}
	for _, to := range []string{"E", "I"} {
		cfg.Projections = append(cfg.Projections,
			Projection{From: "E", To: to, Receptor: Exc, Rule: ConnInDegree, K: ce, Weight: brunelJ, DelayMs: brunelDelay},
			Projection{From: "I", To: to, Receptor: Inh, Rule: ConnInDegree, K: ci, Weight: -panel.G * brunelJ, DelayMs: brunelDelay})
		cfg.Inputs = append(cfg.Inputs, PoissonInput{To: to, Receptor: Exc, N: ce, RateHz: panel.Eta * BrunelNuThr(ce), Weight: brunelJ})
	}
	return cfg, nil
}
