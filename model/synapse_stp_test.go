package model

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestSTPSteadyState: regular trains at 1–100 Hz; the efficacy of the 80th
// spike matches the closed-form steady state within 1 % (Tsodyks & Markram
// 1997, eq. 4 for depression; Markram et al. 1998 with facilitation). The
// depressing parameters U = 0.5, τ_D = 800 ms are of the order fitted by
// Tsodyks & Markram (1997) to layer-5 pyramidal pairs; the facilitating
// ones (U = 0.03, τ_F = 530 ms, τ_D = 130 ms) are the inhibitory synapse of
// Markram et al. (1998).
func TestSTPSteadyState(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    STP
	}{
		{"depressing", STP{U: 0.5, TauD: 800}},
		{"facilitating", STP{U: 0.03, TauD: 130, TauF: 530}},
	} {
		for _, rate := range []float64{1, 5, 10, 20, 50, 100} {
			b, err := NewSTPBank(tc.p, 1)
			if err != nil {
				t.Fatal(err)
			}
			var eff float64
			for k := range 80 {
				eff = b.Spike(0, float64(k)*1000/rate)
			}
			_, _, want := tc.p.SteadyState(rate)
			if math.Abs(eff-want)/want > 0.01 {
				t.Errorf("%s %v Hz: steady efficacy %v, closed form %v", tc.name, rate, eff, want)
			}
		}
	}
	// Depression, closed form written out as in Tsodyks & Markram (1997).
	p := STP{U: 0.5, TauD: 800}
	for _, rate := range []float64{2, 40} {
		e := math.Exp(-1000 / rate / p.TauD)
		want := p.U * (1 - e) / (1 - (1-p.U)*e)
		if _, _, got := p.SteadyState(rate); math.Abs(got-want) > 1e-15 {
			t.Errorf("SteadyState(%v) = %v, want %v", rate, got, want)
		}
	}
	// Limiting frequency: r·PSP* → 1/τ_D (per ms) at high rates: 1.25 Hz·(1/s) for τ_D = 0.8 s.
	_, _, e := p.SteadyState(1000)
	if got := 1000 * e; math.Abs(got-1000/p.TauD)/(1000/p.TauD) > 0.01 {
		t.Errorf("r·PSP* at 1 kHz = %v /s, want ≈ 1/τ_D = %v /s", got, 1000/p.TauD)
	}
}

// TestSTPFacilitationDepression: a depressing synapse's second PSP is
// smaller than the first, a facilitating synapse's larger (paired pulses at
// 20 Hz), and resources recover with τ_D.
func TestSTPFacilitationDepression(t *testing.T) {
	dep, _ := NewSTPBank(STP{U: 0.5, TauD: 800}, 1)
	fac, _ := NewSTPBank(STP{U: 0.03, TauD: 130, TauF: 530}, 1)
	d1, d2 := dep.Spike(0, 0), dep.Spike(0, 50)
	f1, f2 := fac.Spike(0, 0), fac.Spike(0, 50)
	if !(d2 < d1) || !(f2 > f1) {
		t.Errorf("paired-pulse: depressing %v→%v, facilitating %v→%v", d1, d2, f1, f2)
	}
	// After the first spike x = 0.5; one τ_D later it has recovered to 1 − 0.5/e.
	b, _ := NewSTPBank(STP{U: 0.5, TauD: 800}, 1)
	b.Spike(0, 0)
	if got, want := b.Resources(0, 800), 1-0.5/math.E; math.Abs(got-want) > 1e-12 {
		t.Errorf("x(τ_D) = %v, want %v", got, want)
	}
	if b.Released != 0.5 || b.Spikes != 1 {
		t.Errorf("released %v over %d spikes", b.Released, b.Spikes)
	}
}

func TestSTPValidate(t *testing.T) {
	err := STP{U: 1.5, TauD: 0, TauF: -1}.Validate()
	for _, f := range []string{"U:", "TauD:", "TauF:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate() = %v, want %q", err, f)
		}
	}
	if _, err := NewSTPBank(STP{U: 0.5, TauD: 100}, -1); err == nil {
		t.Error("negative n accepted")
	}
}

func ExampleSTP_SteadyState() {
	p := STP{U: 0.5, TauD: 800} // depressing
	for _, r := range []float64{1, 10, 100} {
		_, _, e := p.SteadyState(r)
		fmt.Printf("%.0f Hz: PSP* = %.3f·A\n", r, e)
	}
	// Output:
	// 1 Hz: PSP* = 0.416·A
	// 10 Hz: PSP* = 0.105·A
	// 100 Hz: PSP* = 0.012·A
}
