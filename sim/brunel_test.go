package sim

import (
	"fmt"
	"math"
	"testing"
)

// brunelSummary runs a Brunel panel for 0.6 s and measures its excitatory
// population after a 0.1 s transient: rate, mean ISI CV, synchrony χ on
// 0.5 ms bins, and the peak of the spectrum of the population activity
// (0.5 ms bins, 128 ms Welch segments, 5–500 Hz).
func brunelSummary(t testing.TB, panel BrunelPanel, n int, seed uint64) (rate, cv, chi, peak float64) {
	cfg, err := Brunel(panel, n)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = seed
	nw := newNet(t, cfg)
	const from, steps, bin = 1000, 6000, 5
	ev := nw.Advance(steps, make([]Event, 0, 1<<20))
	fe, ne, _ := nw.PopulationRange("E")
	st := NewSpikeStats(nw.Neurons(), from, steps)
	st.Add(ev)
	cv, _ = st.CV(fe, ne, 3)
	chi = Synchrony(ev, fe, ne, from, steps, bin)
	peak, _, err = SpectrumPeak(PopulationCounts(ev, fe, ne, from, steps, bin), 1000/(bin*cfg.DtMs), 5, 500, 256)
	if err != nil {
		t.Fatal(err)
	}
	return st.Rate(fe, ne, cfg.DtMs), cv, chi, peak
}

// brunelMeanField returns the stationary rate ν₀ (Hz) of model A in the
// diffusion approximation (Brunel 2000, §3; Amit & Brunel 1997), the
// solution of
//
//	1/ν₀ = τ_rp + τ√π ∫_{(V_r−μ)/σ}^{(θ−μ)/σ} e^{u²}(1 + erf u) du
//	μ = C_E J τ (ν_ext + ν₀(1 − gγ)),  σ² = J² C_E τ (ν_ext + ν₀(1 + g²γ)),  γ = 1/4
//
// by bisection on [0, 1/τ_rp), with Simpson's rule for the integral. It
// returns 1/τ_rp when no stationary rate below saturation exists.
func brunelMeanField(panel BrunelPanel) float64 {
	const ce, gamma = 1000.0, 0.25
	tau, j := float64(brunelTau), float64(brunelJ)
	nuExt := panel.Eta * BrunelNuThr(int(ce)) / 1000 // per ms
	// rate maps an input rate ν₀ to the output rate, both per ms.
	rate := func(nu float64) float64 {
		mu := ce * j * tau * (nuExt + nu*(1-panel.G*gamma))
		sigma := math.Sqrt(j * j * ce * tau * (nuExt + nu*(1+panel.G*panel.G*gamma)))
		a, b := (brunelVr-mu)/sigma, (brunelTheta-mu)/sigma
		const n = 2000
		h := (b - a) / n
		sum := 0.0
		for i := 0; i <= n; i++ {
			u := a + float64(i)*h
			w := 2.0
			switch {
			case i == 0 || i == n:
				w = 1
			case i%2 == 1:
				w = 4
			}
			sum += w * math.Exp(u*u) * (1 + math.Erf(u))
		}
		return 1 / (brunelTRef + tau*math.Sqrt(math.Pi)*sum*h/3)
	}
	lo, hi := 0.0, 1.0/brunelTRef
	for range 60 {
		if nu := (lo + hi) / 2; rate(nu) > nu {
			lo = nu
		} else {
			hi = nu
		}
	}
	return lo * 1000
}

// TestBrunelPanels checks that the four panels of Brunel (2000) Fig. 8
// (12,500 neurons, 15.6 million synapses) show their regimes (§4 of the
// paper): A, synchronous regular (neurons fire regularly near saturation,
// almost fully synchronized; no stationary solution below saturation); B,
// synchronous irregular with a fast global oscillation (about 180 Hz) and
// irregular single neurons; C, asynchronous irregular at the mean-field
// rate (37.95 Hz); D, synchronous irregular with a slow global oscillation
// (about 20 Hz) at low rates. χ of independent neurons would be
// 1/√10000 = 0.01. The stationary panels' rates must match the diffusion
// approximation (brunelMeanField): within 5 % in the asynchronous state C,
// 10 % in B, whose oscillation the stationary theory ignores.
func TestBrunelPanels(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("four 12,500-neuron networks: plain go test only")
	}
	type band struct{ lo, hi float64 }
	in := func(x float64, b band) bool { return x >= b.lo && x <= b.hi }
	around := func(x, rel float64) band { return band{x * (1 - rel), x * (1 + rel)} }
	tests := []struct {
		panel               BrunelPanel
		rate, cv, chi, peak band
	}{
		{BrunelPanelA, band{100, 500}, band{0, 0.1}, band{0.5, 1}, band{100, 500}},
		{BrunelPanelB, around(brunelMeanField(BrunelPanelB), 0.1), band{0.5, 2}, band{0.12, 0.5}, band{150, 250}},
		{BrunelPanelC, around(brunelMeanField(BrunelPanelC), 0.05), band{0.3, 2}, band{0, 0.1}, band{5, 500}},
		{BrunelPanelD, band{2, 10}, band{0.3, 2}, band{0.05, 0.5}, band{10, 40}},
	}
	if nu := brunelMeanField(BrunelPanelA); nu < 499 {
		t.Errorf("panel A: mean-field rate %v Hz, want saturation (500 Hz)", nu)
	}
	for _, tc := range tests {
		t.Run(tc.panel.Name, func(t *testing.T) {
			t.Parallel()
			rate, cv, chi, peak := brunelSummary(t, tc.panel, 0, 1)
			t.Logf("panel %s (g = %v, ν_ext/ν_thr = %v): rate %.1f Hz (mean field %.1f), CV %.3f, χ %.3f, spectral peak %.1f Hz",
				tc.panel.Name, tc.panel.G, tc.panel.Eta, rate, brunelMeanField(tc.panel), cv, chi, peak)
			if !in(rate, tc.rate) || !in(cv, tc.cv) || !in(chi, tc.chi) || !in(peak, tc.peak) {
				t.Errorf("panel %s: rate %.1f (want %v), CV %.3f (%v), χ %.3f (%v), peak %.1f Hz (%v)",
					tc.panel.Name, rate, tc.rate, cv, tc.cv, chi, tc.chi, peak, tc.peak)
			}
		})
	}
}

func TestBrunelConfig(t *testing.T) {
	cfg, err := Brunel(BrunelPanelC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	// ν_thr = θ/(J C_E τ) = 20 mV/(0.1 mV · 1000 · 20 ms) = 10 Hz.
	if nu := BrunelNuThr(1000); math.Abs(nu-10) > 1e-12 {
		t.Errorf("ν_thr = %v Hz, want 10", nu)
	}
	var syn int
	for _, p := range cfg.Projections {
		n := 10000
		if p.To == "I" {
			n = 2500
		}
		syn += p.K * n
		if p.From == "I" && p.Weight != -0.5 {
			t.Errorf("inhibitory weight %v mV, want −g·J = −0.5", p.Weight)
		}
	}
	if syn != 15625000 {
		t.Errorf("%d synapses, want 15,625,000", syn)
	}
	for _, in := range cfg.Inputs {
		if in.N != 1000 || in.RateHz != 20 {
			t.Errorf("external input %d × %v Hz, want 1000 × 20 Hz (η = 2)", in.N, in.RateHz)
		}
	}
	if _, err := Brunel(BrunelPanelC, 8); err == nil {
		t.Error("8 neurons: no error for a network without inputs")
	}
}

func ExampleBrunel() {
	// Panel C of Brunel (2000) Fig. 8 at a fifth of the size: 2500 neurons,
	// each receiving 200 excitatory and 50 inhibitory inputs.
	cfg, err := Brunel(BrunelPanelC, 2500)
	if err != nil {
		panic(err)
	}
	cfg.Seed = 1
	nw, err := NewNetwork(cfg)
	if err != nil {
		panic(err)
	}
	defer nw.Close()
	spikes := nw.Advance(3000, nil) // 300 ms
	fe, ne, _ := nw.PopulationRange("E")
	st := NewSpikeStats(nw.Neurons(), 1000, 3000)
	st.Add(spikes)
	fmt.Printf("%d neurons, %d synapses, excitatory rate above 10 Hz: %v\n",
		nw.Neurons(), nw.Synapses(), st.Rate(fe, ne, cfg.DtMs) > 10)
	// Output:
	// 2500 neurons, 625000 synapses, excitatory rate above 10 Hz: true
}
