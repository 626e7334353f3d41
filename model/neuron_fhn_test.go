package model

import (
	"math"
	"strings"
	"testing"
)

// TestFitzHughNagumoHopf: for a = 0.7, b = 0.8, ε = 0.08 the rest state loses
// stability at I_H = −v* + v*³/3 + (v* + a)/b with v* = −√(1 − εb) =
// −0.96747, I_H = 0.33128 (FitzHugh 1961; Izhikevich 2007 §4.3). The onset
// is measured by simulation: from the fixed point plus a small kick, the
// oscillation envelope (max |v − v*| over a window) shrinks from the window
// [150, 300] to [450, 600] below the onset and grows above it. Bisection on
// that criterion must land within 2 % of the analytic value.
func TestFitzHughNagumoHopf(t *testing.T) {
	p := ClassicFitzHughNagumo()
	lo, hi, err := p.HopfCurrents()
	if err != nil {
		t.Fatal(err)
	}
	vs := -math.Sqrt(1 - 0.08*0.8)
	want := -vs + vs*vs*vs/3 + (vs+0.7)/0.8
	if math.Abs(lo-want) > 1e-12 || math.Abs(lo-0.33128) > 1e-4 {
		t.Fatalf("HopfCurrents lo = %v, want %v", lo, want)
	}
	if hi <= lo {
		t.Fatalf("upper Hopf %v ≤ lower %v", hi, lo)
	}
	oscillates := func(in float64) bool {
		v0, w0 := p.FixedPoint(in)
		tr, err := Simulate(p, Const(in), 0, 600, SimOptions{X0: []float64{v0 + 0.01, w0}, SampleDt: 0.5, AbsTol: 1e-10, RelTol: 1e-10})
		if err != nil {
			t.Fatal(err)
		}
		v := tr.Var("v")
		env := func(a, b int) float64 {
			var m float64
			for _, x := range v[a:b] {
				m = math.Max(m, math.Abs(x-v0))
			}
			return m
		}
		return env(900, 1201) > env(300, 601)
	}
	a, b := 0.2, 0.5
	if oscillates(a) || !oscillates(b) {
		t.Fatalf("bracket [%v, %v] does not straddle the onset", a, b)
	}
	for b-a > 0.002 {
		m := 0.5 * (a + b)
		if oscillates(m) {
			b = m
		} else {
			a = m
		}
	}
	onset := 0.5 * (a + b)
	t.Logf("measured onset %.4f, analytic Hopf current %.5f (%.2f %%)", onset, want, 100*(onset-want)/want)
	if math.Abs(onset-want)/want > 0.02 {
		t.Errorf("measured onset %.4f, analytic Hopf current %.4f", onset, want)
	}
	// Above the onset: a limit cycle with a regular period (relaxation
	// oscillation, spikes at v = 1).
	tr, err := Simulate(p, Const(0.5), 0, 1000, SimOptions{SpikesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	isi := tr.ISIs()
	if len(isi) < 10 {
		t.Fatalf("I = 0.5: %d spikes", len(tr.Spikes))
	}
	last := isi[len(isi)-1]
	for _, d := range isi[len(isi)-5:] {
		if math.Abs(d-last) > 1e-4*last {
			t.Errorf("limit cycle period not constant: %v", isi[len(isi)-5:])
		}
	}
}

func TestFitzHughNagumoValidate(t *testing.T) {
	bad := FitzHughNagumo{A: math.Inf(1), B: 1.5, Eps: 0}
	err := bad.Validate()
	for _, f := range []string{"A:", "B:", "Eps:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate() = %v, want %q", err, f)
		}
	}
	if _, _, err := (FitzHughNagumo{A: 0.7, B: 0.8, Eps: 2}).HopfCurrents(); err == nil {
		t.Error("εb ≥ 1 accepted")
	}
}
