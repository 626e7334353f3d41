package model

import (
	"math"
	"strings"
	"testing"
)

// TestAdExAdaptation: under a step current the Brette & Gerstner (2005)
// neuron adapts: each ISI is longer than the previous one until a steady
// state, and the steady ISI is well above the first (their Fig. 2 tonic
// adapting response).
func TestAdExAdaptation(t *testing.T) {
	p := BretteGerstnerAdEx()
	for _, in := range []float64{800, 1000, 1500} {
		tr, err := Simulate(p, Step(10, in), 0, 510, SimOptions{SpikesOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		isi := tr.ISIs()
		t.Logf("I=%v pA: ISIs %.2f ms", in, isi)
		if len(isi) < 6 {
			t.Fatalf("I=%v pA: only %d spikes", in, len(tr.Spikes))
		}
		for k := 1; k < 5; k++ {
			if isi[k] <= isi[k-1] {
				t.Errorf("I=%v: ISI %d = %.2f not longer than ISI %d = %.2f", in, k, isi[k], k-1, isi[k-1])
			}
		}
		if r := isi[len(isi)-1] / isi[0]; r < 1.5 {
			t.Errorf("I=%v: steady/first ISI ratio %.2f, want ≥ 1.5", in, r)
		}
	}
	// Without adaptation (a = b = 0) the ISIs are constant after the first.
	q := p
	q.A, q.B = 0, 0
	tr, err := Simulate(q, Step(10, 1000), 0, 510, SimOptions{SpikesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	isi := tr.ISIs()
	if math.Abs(isi[len(isi)-1]-isi[0]) > 1e-6*isi[0] {
		t.Errorf("a = b = 0: ISIs %v not constant", isi)
	}
}

// TestAdExRheobase: with a = 0 the rest state vanishes in a saddle-node at
// I_SN = g_L(V_T − E_L − Δ_T) = 30·(20.2 − 2) = 546 pA (Touboul & Brette 2008):
// 1 % below it the cell stays silent, 1 % above it fires repetitively.
func TestAdExRheobase(t *testing.T) {
	p := BretteGerstnerAdEx()
	p.A = 0
	isn := p.RheobaseSN()
	if math.Abs(isn-546) > 1e-9 {
		t.Fatalf("RheobaseSN = %v, want 546", isn)
	}
	for _, tc := range []struct {
		f    float64
		want bool
	}{{0.99, false}, {1.01, true}} {
		tr, err := Simulate(p, Const(tc.f*isn), 0, 3000, SimOptions{SpikesOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(tr.Spikes) >= 3; got != tc.want {
			t.Errorf("I = %.2f·I_SN: %d spikes, want repetitive=%v", tc.f, len(tr.Spikes), tc.want)
		}
	}
}

func TestAdExStepperMatchesSimulate(t *testing.T) {
	p := BretteGerstnerAdEx()
	ref, err := Simulate(p, Const(1000), 0, 300, SimOptions{SpikesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	const dt = 0.01
	s, err := NewAdExStepper(p, dt)
	if err != nil {
		t.Fatal(err)
	}
	v, w, refr, in, sp := []float64{0}, []float64{0}, []float64{0}, []float64{1000}, []bool{false}
	s.Init(v, w, refr)
	var times []float64
	for k := 1; k <= 30000; k++ {
		if s.Step(v, w, refr, in, sp) > 0 {
			times = append(times, float64(k)*dt)
		}
	}
	if len(times) != len(ref.Spikes) {
		t.Fatalf("stepper %d spikes, Simulate %d", len(times), len(ref.Spikes))
	}
	for i := range times {
		// Euler at 0.01 ms: spike times within 1 % of the RK45 reference.
		if math.Abs(times[i]-ref.Spikes[i]) > 0.01*ref.Spikes[i] {
			t.Errorf("spike %d: stepper %.3f, Simulate %.3f", i, times[i], ref.Spikes[i])
		}
	}
	if a := testing.AllocsPerRun(100, func() { s.Step(v, w, refr, in, sp) }); a != 0 {
		t.Errorf("AdExStepper.Step: %v allocs", a)
	}
}

func TestAdExValidate(t *testing.T) {
	bad := BretteGerstnerAdEx()
	bad.DeltaT, bad.TauW, bad.VPeak = 0, -1, -60
	err := bad.Validate()
	for _, f := range []string{"DeltaT:", "TauW:", "VPeak:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate() = %v, want %q", err, f)
		}
	}
	if _, err := NewAdExStepper(BretteGerstnerAdEx(), 0.5); err == nil || !strings.Contains(err.Error(), "dt:") {
		t.Errorf("dt 0.5: %v", err)
	}
}
