package model

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

var testKernels = []struct {
	name string
	syn  Synapse
	peak float64 // closed-form peak time, ms
	area float64 // closed-form ∫K, ms
}{
	{"exp", Synapse{Kind: SynExp, TauDecay: 5}, 0, 5},
	{"alpha", Synapse{Kind: SynAlpha, TauDecay: 2}, 2, 2 * math.E},
	// t_p = 6·1·ln 6/5 = 2.1501 ms; N = 1/(e^(−t_p/6) − e^(−t_p)).
	{"dual-exp", Synapse{Kind: SynDualExp, TauRise: 1, TauDecay: 6}, 6 * math.Log(6) / 5,
		(6 - 1) / (math.Exp(-math.Log(6)/5) - math.Exp(-6*math.Log(6)/5))},
}

// TestKernelPeakAndIntegral: the PSC kernels peak at 1 at the closed-form
// time and integrate to the closed-form charge (Dayan & Abbott 2001 §5.8).
func TestKernelPeakAndIntegral(t *testing.T) {
	for _, tc := range testKernels {
		if math.Abs(tc.syn.PeakTime()-tc.peak) > 1e-12 || math.Abs(tc.syn.Integral()-tc.area) > 1e-9 {
			t.Errorf("%s: PeakTime %v Integral %v, want %v %v", tc.name, tc.syn.PeakTime(), tc.syn.Integral(), tc.peak, tc.area)
		}
		// Numerical peak and Simpson integral of the kernel itself.
		const h = 1e-3
		n := int(40*tc.syn.TauDecay/h) &^ 1
		best, tBest := -1.0, 0.0
		area := tc.syn.Kernel(0) + tc.syn.Kernel(float64(n)*h)
		for k := 0; k <= n; k++ {
			v := tc.syn.Kernel(float64(k) * h)
			if v > best {
				best, tBest = v, float64(k)*h
			}
			if k > 0 && k < n {
				area += float64(2+2*(k%2)) * v
			}
		}
		area *= h / 3
		if math.Abs(best-1) > 1e-6 || math.Abs(tBest-tc.peak) > h {
			t.Errorf("%s: numerical peak %v at %v, want 1 at %v", tc.name, best, tBest, tc.peak)
		}
		if math.Abs(area-tc.area)/tc.area > 1e-6 {
			t.Errorf("%s: numerical integral %v, want %v", tc.name, area, tc.area)
		}
		if tc.syn.Kernel(-1) != 0 {
			t.Errorf("%s: K(−1) ≠ 0", tc.name)
		}
	}
}

// TestSynapseBankExact: the bank's exact propagators sample the closed-form
// kernel sum at every step, for two spikes and two step sizes.
func TestSynapseBankExact(t *testing.T) {
	for _, tc := range testKernels {
		for _, dt := range []float64{0.1, 0.025} {
			b, err := NewSynapseBank(tc.syn, 1, dt)
			if err != nil {
				t.Fatal(err)
			}
			in := SynapticInput{Syn: tc.syn, W: 3, Spikes: []float64{0, 4}}
			k4 := int(math.Round(4 / dt))
			for k := 0; k <= int(math.Round(40/dt)); k++ {
				if k == 0 || k == k4 {
					b.Spike(0, 3)
				}
				want := in.At(float64(k) * dt)
				if got := b.At(0); math.Abs(got-want) > 1e-12*math.Max(1, want) {
					t.Fatalf("%s dt=%v t=%v: bank %v, closed form %v", tc.name, dt, float64(k)*dt, got, want)
				}
				b.Step()
			}
		}
	}
}

// TestPSPClosedForm: a current synapse onto a passive membrane (τ_m = 20 ms,
// R = 0.1 GΩ) gives a PSP whose simulated peak time, peak and time integral
// match the closed forms: for the exponential kernel
// t_peak = τ_m τ_s ln(τ_s/τ_m)/(τ_s − τ_m); for every kernel ∫V = R·w·∫K.
func TestPSPClosedForm(t *testing.T) {
	m := Membrane{C: 200, Channels: []Channel{{"leak", 10, -70}}, V0: -70}
	tauM, R := m.TimeConstant(), 1/10.0
	const w = 50.0 // pA peak
	for _, tc := range testKernels {
		tp, vp := tc.syn.PSPPeak(tauM, R)
		if tc.syn.Kind == SynExp {
			ts := tc.syn.TauDecay
			want := tauM * ts * math.Log(ts/tauM) / (ts - tauM)
			if math.Abs(tp-want) > 1e-6 {
				t.Errorf("exp PSP peak time %v, closed form %v", tp, want)
			}
		}
		in := SynapticInput{Syn: tc.syn, W: w, Spikes: []float64{1}}
		tr, err := Simulate(m, in, 0, 301, SimOptions{SampleDt: 0.001, AbsTol: 1e-10, RelTol: 1e-10})
		if err != nil {
			t.Fatal(err)
		}
		v := tr.Var("V")
		jm, area := 0, 0.0
		for j := range v {
			if v[j] > v[jm] {
				jm = j
			}
			area += (v[j] - m.V0) * 0.001
		}
		if got := tr.T[jm] - 1; math.Abs(got-tp) > 0.002 {
			t.Errorf("%s: simulated PSP peak at %v ms, closed form %v", tc.name, got, tp)
		}
		if got := v[jm] - m.V0; math.Abs(got-w*vp)/(w*vp) > 1e-4 {
			t.Errorf("%s: simulated PSP height %v mV, closed form %v", tc.name, got, w*vp)
		}
		// 300 ms = 15 τ_m: the tail beyond holds < 1e-6 of the area.
		if want := R * w * tc.syn.Integral(); math.Abs(area-want)/want > 1e-3 {
			t.Errorf("%s: PSP integral %v mV·ms, closed form R·w·∫K = %v", tc.name, area, want)
		}
		// The closed form agrees with the simulation along the whole trace.
		for j := 0; j < len(v); j += 997 {
			if want := m.V0 + w*tc.syn.PSP(tr.T[j]-1, tauM, R); math.Abs(v[j]-want) > 1e-6 {
				t.Fatalf("%s t=%v: simulated %v, closed form %v", tc.name, tr.T[j], v[j], want)
			}
		}
	}
}

// TestConductanceSynapseReversal: I_syn = g(V − E_rev) flips sign at E_rev:
// the same conductance input depolarizes a membrane held below E_rev,
// hyperpolarizes it above, and does nothing at E_rev.
func TestConductanceSynapseReversal(t *testing.T) {
	if SynapticCurrent(2, -70, 0) >= 0 || SynapticCurrent(2, 10, 0) <= 0 || SynapticCurrent(2, 0, 0) != 0 {
		t.Fatal("SynapticCurrent sign convention")
	}
	for _, eRev := range []float64{0, -80} {
		for _, hold := range []float64{-20, 0, 20} { // mV relative to E_rev
			v0 := eRev + hold
			m := SynapticMembrane{C: 200, GL: 10, EL: -70, V0: v0,
				Syn: SynapticInput{Syn: Synapse{Kind: SynAlpha, TauDecay: 2, ERev: eRev}, W: 5, Spikes: []float64{5}}}
			// Holding current that keeps V0 at rest: I = g_L(V0 − E_L).
			iHold := m.GL * (v0 - m.EL)
			tr, err := Simulate(m, Const(iHold), 0, 60, SimOptions{SampleDt: 0.1})
			if err != nil {
				t.Fatal(err)
			}
			var ext float64 // largest deviation from V0
			for _, x := range tr.Var("V") {
				if math.Abs(x-v0) > math.Abs(ext) {
					ext = x - v0
				}
			}
			switch {
			case hold < 0 && ext <= 0.5, hold > 0 && ext >= -0.5:
				t.Errorf("E_rev=%v, V0=%v: PSP extreme %+.3f mV, wrong sign", eRev, v0, ext)
			case hold == 0 && math.Abs(ext) > 1e-9:
				t.Errorf("E_rev=%v, V0=E_rev: PSP %+.3g mV, want 0", eRev, ext)
			}
		}
	}
}

// TestNMDABlock: Jahr & Stevens (1990) block with 1 mM Mg²⁺:
// B(−80) = 1/(1 + e^4.96/3.57) = 0.02444, B(0) = 1/(1 + 1/3.57) = 0.7812;
// no block without Mg²⁺; the logistic form is identical; and the I–V curve
// has the negative-slope region that makes NMDA currents regenerative.
func TestNMDABlock(t *testing.T) {
	n := DefaultNMDA()
	tests := []struct {
		v, mg, want float64
	}{
		{-80, 1, 1 / (1 + math.Exp(4.96)/3.57)},
		{0, 1, 1 / (1 + 1/3.57)},
		{-80, 0, 1},
		{-40, 2, 1 / (1 + 2/3.57*math.Exp(2.48))},
	}
	for _, tc := range tests {
		if got := JahrStevensBlock(tc.v, tc.mg); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("B(%v, %v mM) = %v, want %v", tc.v, tc.mg, got, tc.want)
		}
		logistic := 1 / (1 + math.Exp(-(0.062*tc.v - math.Log(tc.mg/3.57))))
		if tc.mg > 0 && math.Abs(JahrStevensBlock(tc.v, tc.mg)-logistic) > 1e-12 {
			t.Errorf("logistic form differs at V=%v", tc.v)
		}
	}
	if b80, b0 := n.Block(-80), n.Block(0); math.Abs(b80-0.02444) > 5e-5 || math.Abs(b0-0.7812) > 5e-5 || b0/b80 < 30 {
		t.Errorf("block at −80 mV %v, at 0 mV %v", b80, b0)
	}
	// Negative slope conductance: with outward-positive currents, the inward
	// (negative) current is larger at −40 mV than at −70 mV.
	if !(n.Current(1, -70) > n.Current(1, -40)) {
		t.Errorf("no negative-slope region: I(−70) = %v, I(−40) = %v", n.Current(1, -70), n.Current(1, -40))
	}
	if n.Current(1, 0) != 0 || n.Current(1, 20) <= 0 {
		t.Error("NMDA current does not reverse at 0 mV")
	}
}

func TestSynapseValidate(t *testing.T) {
	err := Synapse{Kind: SynDualExp, TauRise: 5, TauDecay: 2, ERev: math.NaN()}.Validate()
	for _, f := range []string{"TauRise:", "ERev:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate() = %v, want %q", err, f)
		}
	}
	if err := (Synapse{Kind: 7, TauDecay: 1}).Validate(); err == nil || !strings.Contains(err.Error(), "Kind:") {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := NewSynapseBank(Synapse{Kind: SynExp, TauDecay: 1}, 4, 0.8); err == nil || !strings.Contains(err.Error(), "dt:") {
		t.Errorf("dt beyond τ/2: %v", err)
	}
	if err := (NMDA{Syn: Synapse{Kind: SynExp, TauDecay: -1}, Mg: -1}).Validate(); err == nil || !strings.Contains(err.Error(), "Mg:") {
		t.Errorf("NMDA Validate: %v", err)
	}
}

func TestSynapseBankNoAlloc(t *testing.T) {
	for _, tc := range testKernels {
		b, _ := NewSynapseBank(tc.syn, 256, 0.1)
		g := make([]float64, 256)
		if a := testing.AllocsPerRun(100, func() {
			b.Spike(7, 1)
			b.Step()
			b.Conductances(g)
		}); a != 0 {
			t.Errorf("%s: %v allocs", tc.name, a)
		}
	}
}

func ExampleSynapse_PSPPeak() {
	// An AMPA-like exponential current synapse (τ = 5 ms) onto a 20 ms
	// membrane with R = 0.1 GΩ: a 50 pA peak current gives this EPSP.
	s := Synapse{Kind: SynExp, TauDecay: 5}
	t, v := s.PSPPeak(20, 0.1)
	fmt.Printf("peak %.2f mV at %.2f ms\n", 50*v, t)
	// Output: peak 0.79 mV at 9.24 ms
}
