package model

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// harmonic is x” = −x as a first-order system: exact solution (cos t, −sin t).
var harmonic = SystemFunc{N: 2, F: func(d []float64, _ float64, x []float64) {
	d[0] = x[1]
	d[1] = -x[0]
}}

func rk4Error(h float64) float64 {
	r := NewRK4(2)
	x := []float64{1, 0}
	n := int(math.Round(2 * math.Pi / h))
	h = 2 * math.Pi / float64(n)
	for i := range n {
		r.Step(harmonic, float64(i)*h, x, h)
	}
	return math.Hypot(x[0]-1, x[1])
}

func TestRK4Order(t *testing.T) {
	// Global error of a 4th-order method scales as h⁴: halving h divides it by 16.
	for _, h := range []float64{0.2, 0.1, 0.05} {
		e1, e2 := rk4Error(h), rk4Error(h/2)
		ratio := e1 / e2
		if ratio < 14 || ratio > 18 {
			t.Errorf("h=%v: error ratio %v (errors %g, %g), want ≈16", h, ratio, e1, e2)
		}
	}
	if e := rk4Error(0.01); e > 1e-8 {
		t.Errorf("h=0.01: error %g after one period, want < 1e-8", e)
	}
}

func TestRK45Accuracy(t *testing.T) {
	tests := []struct {
		tol, maxErr float64
	}{
		{1e-4, 1e-3},
		{1e-7, 1e-6},
		{1e-10, 1e-9},
	}
	prevSteps := 0
	for _, tc := range tests {
		r, err := NewRK45(2, RK45Options{AbsTol: tc.tol, RelTol: tc.tol})
		if err != nil {
			t.Fatal(err)
		}
		x := []float64{1, 0}
		tEnd := 4 * math.Pi
		if _, err := r.Integrate(harmonic, 0, tEnd, x, nil); err != nil {
			t.Fatal(err)
		}
		e := math.Hypot(x[0]-1, x[1])
		if e > tc.maxErr {
			t.Errorf("tol %g: error %g > %g", tc.tol, e, tc.maxErr)
		}
		if r.Accepted <= prevSteps {
			t.Errorf("tol %g: %d steps, not more than the looser tolerance's %d", tc.tol, r.Accepted, prevSteps)
		}
		prevSteps = r.Accepted
	}
}

// TestRK45DenseOrder checks the Dormand–Prince continuous extension: its
// local error at the step midpoint is O(h⁵) (4th-order interpolant, Hairer et
// al. 1993 §II.6), so halving h divides it by ≈32. A wrong coefficient in the
// fifth dense term leaves only the O(h⁴) Hermite part (ratio ≈16).
func TestRK45DenseOrder(t *testing.T) {
	sys := SystemFunc{N: 1, F: func(d []float64, tt float64, x []float64) { d[0] = math.Cos(tt) * x[0] }}
	exact := func(tt float64) float64 { return math.Exp(math.Sin(tt)) }
	midErr := func(h float64) float64 {
		// Huge tolerance: the first trial step h is always accepted.
		r, _ := NewRK45(1, RK45Options{AbsTol: 1, RelTol: 1, InitialStep: h, MaxStep: h})
		x := []float64{exact(0.3)}
		if _, err := r.Advance(sys, 0.3, x, 10); err != nil {
			t.Fatal(err)
		}
		return math.Abs(r.DenseAt(0, 0.3+0.5*h) - exact(0.3+0.5*h))
	}
	for _, h := range []float64{0.2, 0.1} {
		ratio := midErr(h) / midErr(h/2)
		if ratio < 28 || ratio > 40 {
			t.Errorf("h=%v: dense error ratio %v, want ≈32", h, ratio)
		}
	}
	// Measured: 3.5e-9 with the full interpolant, 1.4e-6 with the cubic
	// Hermite part alone.
	if e := midErr(0.1); e > 1e-8 {
		t.Errorf("h=0.1: midpoint dense error %g > 1e-8", e)
	}
}

func TestHermiteExactForCubic(t *testing.T) {
	p := func(s float64) float64 { return 2 - s + 3*s*s - 0.5*s*s*s }
	dp := func(s float64) float64 { return -1 + 6*s - 1.5*s*s }
	a, h := 0.7, 1.3
	for _, th := range []float64{0, 0.1, 0.5, 0.77, 1} {
		got := Hermite(p(a), dp(a), p(a+h), dp(a+h), h, th)
		if want := p(a + th*h); math.Abs(got-want) > 1e-12 {
			t.Errorf("θ=%v: %v, want %v", th, got, want)
		}
	}
}

func TestExpRelax(t *testing.T) {
	// After one time constant the distance to x∞ shrinks by e.
	if got, want := ExpRelax(10, 2, 5, 5), 2+8/math.E; math.Abs(got-want) > 1e-14 {
		t.Errorf("ExpRelax = %v, want %v", got, want)
	}
	// Stable for a step 1000× τ (explicit Euler would diverge).
	if got := ExpRelax(10, 2, 5000, 5); math.Abs(got-2) > 1e-12 {
		t.Errorf("large step: %v, want 2", got)
	}
	if got, want := ExpRelaxDecay(10, 2, math.Exp(-1)), 2+8/math.E; math.Abs(got-want) > 1e-14 {
		t.Errorf("ExpRelaxDecay = %v, want %v", got, want)
	}
}

func TestFindCrossing(t *testing.T) {
	tests := []struct {
		name  string
		p     func(float64) float64
		a, b  float64
		want  float64
		found bool
	}{
		{"sine", math.Sin, -1, 1, 0, true},
		{"linear late", func(x float64) float64 { return x - 0.9 }, 0, 1, 0.9, true},
		// A bump that rises above 0 and falls back inside the interval,
		// invisible at both ends: found by the interior scan.
		{"bump", func(x float64) float64 { return 0.1 - (x-0.5)*(x-0.5)*4 }, 0, 1, 0.5 - math.Sqrt(0.025), true},
		{"never", func(x float64) float64 { return -1 }, 0, 1, 1, false},
	}
	for _, tc := range tests {
		got, ok := FindCrossing(tc.p, tc.a, tc.b, 0, 4, 1e-12)
		if ok != tc.found || math.Abs(got-tc.want) > 1e-10 {
			t.Errorf("%s: (%v, %v), want (%v, %v)", tc.name, got, ok, tc.want, tc.found)
		}
	}
}

func TestRK45OptionsValidate(t *testing.T) {
	err := RK45Options{AbsTol: -1, RelTol: math.NaN(), MaxStep: 1, MinStep: 2, MaxSteps: -3}.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, f := range []string{"AbsTol:", "RelTol:", "MinStep:", "MaxSteps:"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q lacks %q", err, f)
		}
	}
	if _, err := NewRK45(0, RK45Options{}); err == nil {
		t.Error("dim 0 accepted")
	}
	if err := (RK45Options{}).Validate(); err != nil {
		t.Errorf("zero options: %v", err)
	}
}

func TestRK45Blowup(t *testing.T) {
	// x' = x², x(0) = 1 blows up at t = 1: the integrator must fail cleanly.
	sys := SystemFunc{N: 1, F: func(d []float64, _ float64, x []float64) { d[0] = x[0] * x[0] }}
	r, _ := NewRK45(1, RK45Options{})
	x := []float64{1}
	_, err := r.Integrate(sys, 0, 2, x, nil)
	if !errors.Is(err, ErrStepTooSmall) && !errors.Is(err, ErrNonFinite) && !errors.Is(err, ErrTooManySteps) {
		t.Fatalf("blow-up: err = %v", err)
	}
}

func TestIntegratorsNoAlloc(t *testing.T) {
	x := []float64{1, 0}
	var sys System = harmonic
	r4 := NewRK4(2)
	if a := testing.AllocsPerRun(100, func() { r4.Step(sys, 0, x, 0.01) }); a != 0 {
		t.Errorf("RK4.Step: %v allocs", a)
	}
	r45, _ := NewRK45(2, RK45Options{})
	tt := 0.0
	if a := testing.AllocsPerRun(100, func() {
		var err error
		tt, err = r45.Advance(sys, tt, x, 1e9)
		if err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("RK45.Advance: %v allocs", a)
	}
}

func BenchmarkRK4Harmonic(b *testing.B) {
	x := []float64{1, 0}
	r := NewRK4(2)
	var sys System = harmonic
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Step(sys, 0, x, 0.001)
	}
}

func ExampleRK45_Integrate() {
	// x'' = −x from (1, 0) over one period, to tolerance 1e-10.
	r, _ := NewRK45(2, RK45Options{AbsTol: 1e-10, RelTol: 1e-10})
	x := []float64{1, 0}
	r.Integrate(harmonic, 0, 2*math.Pi, x, nil)
	fmt.Printf("x(2π) = (%.8f, %.8f)\n", x[0], x[1])
	// Output: x(2π) = (1.00000000, -0.00000000)
}
