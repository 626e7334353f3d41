package model

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// mexicanHat is the lateral-inhibition kernel of the bump tests:
// w(x) = 3 g(x; 1) − 3 g(x; 3), W(∞) = 0, a maximum W ≈ 0.72 at a ≈ 1.6.
var mexicanHat = FieldKernel{Shape: KernelGaussian, Exc: 3, SigmaExc: 1, Inh: 3, SigmaInh: 3}

var heaviside = Activation{Kind: ActStep, Gain: 1, Max: 1}

func TestFieldKernel(t *testing.T) {
	// W(a) = ∫₀ᵃ w against a midpoint sum, and unit-weight profiles.
	for _, k := range []FieldKernel{mexicanHat, {Shape: KernelExponential, Exc: 1, SigmaExc: 0.7, Inh: 0.4, SigmaInh: 2}} {
		for _, a := range []float64{0.3, 1.7, 6} {
			const m = 200000
			var s float64
			for i := range m {
				s += k.W1((float64(i)+0.5)*a/m) * a / m
			}
			if got := k.Integral1(a); math.Abs(got-s) > 1e-8 {
				t.Errorf("%v: W(%g) = %.10f, quadrature %.10f", k.Shape, a, got, s)
			}
		}
		// 2-D profiles integrate to E − I over the plane: ∫ 2πr w(r) dr.
		var s float64
		const dr = 1e-3
		for r := dr / 2; r < 60; r += dr {
			s += 2 * math.Pi * r * k.W2(r) * dr
		}
		if math.Abs(s-(k.Exc-k.Inh)) > 1e-6 {
			t.Errorf("%v: 2-D weight %g, want %g", k.Shape, s, k.Exc-k.Inh)
		}
	}
}

func TestAmariBumpWidth1D(t *testing.T) {
	// Heaviside field (θ = 0) with the Mexican hat and h = −0.5: W(a) = 0.5 has
	// an unstable root (w(a) > 0) and a stable one (w(a) < 0) (Amari 1977).
	// A bump started between them converges to the stable width. On a grid
	// of spacing dx the active set is a whole number of points and a range of
	// discrete bumps is pinned in place, so each edge is resolved to within dx:
	// the width to within 2dx, and refinement must shrink the error.
	const h = -0.5
	bumps, err := AmariBumps(mexicanHat, h, 0, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(bumps) != 2 || bumps[0].Stable || !bumps[1].Stable {
		t.Fatalf("bumps %+v, want one unstable then one stable", bumps)
	}
	for _, b := range bumps {
		if math.Abs(mexicanHat.Integral1(b.Width)+h) > 1e-12 {
			t.Errorf("W(%g) + h = %g", b.Width, mexicanHat.Integral1(b.Width)+h)
		}
	}
	want := bumps[1].Width
	var prevErr float64
	for _, n := range []int{512, 2048} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			const length = 64.0
			f, err := NewField(FieldConfig{NX: n, NY: 1, Dx: length / float64(n), Tau: 1, H: h, F: heaviside, Kernel: mexicanHat, Dt: 0.05})
			if err != nil {
				t.Fatal(err)
			}
			u := f.U()
			for i := range u {
				u[i] = h
				if math.Abs(float64(i)*f.Dx-length/2) < 1.2 {
					u[i] = 1
				}
			}
			for range 600 { // 30 τ
				f.Step()
			}
			got := SuperthresholdWidth(u, 0, f.Dx)
			t.Logf("width %.4f, Amari %.4f, dx %.4f", got, want, f.Dx)
			e := math.Abs(got - want)
			if e > 2*f.Dx {
				t.Errorf("bump width %g, want %g ± 2dx = %g", got, want, 2*f.Dx)
			}
			if prevErr > 0 && e > prevErr/2 {
				t.Errorf("error %g at N=%d did not shrink from %g", e, n, prevErr)
			}
			prevErr = e
			if a := testing.AllocsPerRun(5, f.Step); a != 0 {
				t.Errorf("Step allocates %g", a)
			}
		})
	}
	// Below the unstable width the bump dies.
	f, _ := NewField(FieldConfig{NX: 512, NY: 1, Dx: 0.125, Tau: 1, H: h, F: heaviside, Kernel: mexicanHat, Dt: 0.05})
	u := f.U()
	for i := range u {
		u[i] = h
		if math.Abs(float64(i)*f.Dx-32) < 0.4*bumps[0].Width {
			u[i] = 0.1
		}
	}
	for range 400 {
		f.Step()
	}
	if w := SuperthresholdWidth(u, 0, f.Dx); w != 0 {
		t.Errorf("sub-critical bump survived with width %g", w)
	}
}

func TestAmariFront(t *testing.T) {
	// Excitatory exponential kernel e^{−|x|/σ}/2σ, Heaviside f with threshold
	// θ: the front travels at c = (σ/τ)(1 − 2θ)/(2θ), or retreats at
	// (σ/τ)(1 − 2θ)/(2(1 − θ)) for θ > ½ (Bressloff 2012).
	tests := []struct{ theta, sigma float64 }{{0.25, 1}, {0.35, 0.8}, {0.6, 1}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("θ=%g", tt.theta), func(t *testing.T) {
			want, err := AmariFrontSpeed(tt.sigma, 1, tt.theta)
			if err != nil {
				t.Fatal(err)
			}
			const n, length = 1280, 64.0
			k := FieldKernel{Shape: KernelExponential, Exc: 1, SigmaExc: tt.sigma}
			f, err := NewField(FieldConfig{NX: n, NY: 1, Dx: length / n, Tau: 1, F: Activation{Kind: ActStep, Gain: 1, Threshold: tt.theta, Max: 1}, Kernel: k, Dt: 0.04})
			if err != nil {
				t.Fatal(err)
			}
			u := f.U()
			for i := range u {
				if x := float64(i) * f.Dx; x >= 20 && x < 32 {
					u[i] = 1
				}
			}
			front := func() float64 { // rightmost crossing of θ
				for i := n - 1; i > 0; i-- {
					if u[i-1] > tt.theta && u[i] <= tt.theta {
						return (float64(i-1) + (u[i-1]-tt.theta)/(u[i-1]-u[i])) * f.Dx
					}
				}
				return math.NaN()
			}
			run := func(d float64) {
				for range int(math.Round(d / f.Dt)) {
					f.Step()
				}
			}
			// The fronts stay ≥ 20σ apart across the periodic gap.
			const span = 12.0
			run(3)
			x1 := front()
			run(span)
			got := (front() - x1) / span
			t.Logf("speed %.4f, analytic %.4f", got, want)
			// Tolerance: 1 % plus the crossing's grid wobble dx/T.
			if math.Abs(got-want) > 0.01*math.Abs(want)+f.Dx/span {
				t.Errorf("front speed %g, want %g ± (1%% + dx/T)", got, want)
			}
		})
	}
}

func TestAdaptivePulse(t *testing.T) {
	// With slow linear adaptation (τ_a = 40τ, β = 2) the front becomes a
	// travelling pulse: activity behind it is shut down by adaptation. To
	// leading order in τ/τ_a the pulse's leading edge is the front of the
	// non-adapting field, c₀ = (σ/τ)(1 − 2θ)/(2θ) (Pinto & Ermentrout 2001;
	// Bressloff 2012 §3.3), and adaptation only slows it: c₀(1 − O(τ/τ_a)).
	const n, length, theta = 1024, 100.0, 0.25
	k := FieldKernel{Shape: KernelExponential, Exc: 1, SigmaExc: 1}
	f, err := NewField(FieldConfig{NX: n, NY: 1, Dx: length / n, Tau: 1, F: Activation{Kind: ActStep, Gain: 1, Threshold: theta, Max: 1},
		Kernel: k, AdaptGain: 2, AdaptTau: 40, Dt: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	u := f.U()
	for i := range u {
		if x := float64(i) * f.Dx; x < 10 {
			u[i] = 1
			f.State[n+i] = 1 // adapted already: launches a single right-going pulse
		}
		if x := float64(i) * f.Dx; x >= 10 && x < 15 {
			u[i] = 1
		}
	}
	c0, _ := AmariFrontSpeed(1, 1, theta)
	edge := func() (lead, width float64) {
		var first, last = -1, -1
		for i, v := range u {
			if v > theta {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		return float64(last) * f.Dx, float64(last-first+1) * f.Dx
	}
	for range 800 { // 40 τ
		f.Step()
	}
	x1, w1 := edge()
	for range 600 {
		f.Step()
	}
	x2, w2 := edge()
	speed := (x2 - x1) / 30
	t.Logf("pulse speed %.4f (front %.4f), width %.2f → %.2f", speed, c0, w1, w2)
	if !(speed < c0 && speed > 0.9*c0) {
		t.Errorf("pulse speed %g, want within 10%% below c₀ = %g", speed, c0)
	}
	if w2 > 60 || math.Abs(w2-w1) > 0.1*w1 {
		t.Errorf("pulse width %g → %g: not a stable travelling pulse", w1, w2)
	}
}

func TestAmariBump2D(t *testing.T) {
	if raceEnabled {
		t.Skip("10⁸ flops of FFTs on one goroutine; nothing for the race detector")
	}
	// 2-D Heaviside field with the Mexican hat in 2-D normalisation: a disc of
	// radius R is stationary iff h + ∫_{|y|<R} w(|x₀ − y|) dy = θ for |x₀| = R
	// (Amari 1977 generalised; Folias & Bressloff 2004). The integral is done
	// here by midpoint quadrature in polar coordinates.
	k := FieldKernel{Shape: KernelGaussian, Exc: 3, SigmaExc: 1, Inh: 3, SigmaInh: 1.5}
	const h = -0.3
	phi := func(r float64) float64 {
		const m = 300
		var s float64
		for a := range m {
			rho := (float64(a) + 0.5) * r / m
			for b := range m {
				ph := (float64(b) + 0.5) * 2 * math.Pi / m
				s += k.W2(math.Sqrt(r*r+rho*rho-2*r*rho*math.Cos(ph))) * rho
			}
		}
		return s * (r / m) * (2 * math.Pi / m)
	}
	// Stable root: the larger crossing of Φ(R) + h = 0.
	lo, hi := 1.0, 4.0
	if !(phi(lo)+h > 0 && phi(hi)+h < 0) {
		t.Fatalf("root not bracketed: Φ(%g)+h = %g, Φ(%g)+h = %g", lo, phi(lo)+h, hi, phi(hi)+h)
	}
	for range 40 {
		mid := 0.5 * (lo + hi)
		if phi(mid)+h > 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	want := 0.5 * (lo + hi)
	const n = 128
	dx := 24.0 / n
	f, err := NewField(FieldConfig{NX: n, NY: n, Dx: dx, Tau: 1, H: h, F: heaviside, Kernel: k, Dt: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	u := f.U()
	c := float64(n/2) * dx
	for j := range n {
		for i := range n {
			u[j*n+i] = h
			if math.Hypot(float64(i)*dx-c, float64(j)*dx-c) < want+0.5 {
				u[j*n+i] = 1
			}
		}
	}
	for range 150 {
		f.Step()
	}
	row := make([]float64, n)
	col := make([]float64, n)
	for i := range n {
		row[i] = u[(n/2)*n+i]
		col[i] = u[i*n+n/2]
	}
	got := (SuperthresholdWidth(row, 0, dx) + SuperthresholdWidth(col, 0, dx)) / 4
	t.Logf("radius %.4f, condition %.4f, dx %.4f", got, want, dx)
	if math.Abs(got-want) > dx {
		t.Errorf("bump radius %g, want %g ± dx = %g", got, want, dx)
	}
}

func TestFieldConvolution2D(t *testing.T) {
	// The FFT convolution equals the direct periodic sum Σ_y w(|x−y|) f(u(y)) dx².
	k := FieldKernel{Shape: KernelExponential, Exc: 2, SigmaExc: 0.3, Inh: 1, SigmaInh: 0.5}
	const nx, ny, dx = 80, 64, 0.5
	f, err := NewField(FieldConfig{NX: nx, NY: ny, Dx: dx, Tau: 1, F: Activation{Kind: ActSigmoid, Gain: 2, Max: 1}, Kernel: k, Shift: 0.5, Dt: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	rng := newCodingRand(8)
	u := make([]float64, nx*ny)
	for i := range u {
		u[i] = rng.NormFloat64()
	}
	got := f.ConvolveTo(make([]float64, nx*ny), u)
	circ := func(d, m int) float64 {
		d = ((d % m) + m) % m
		if d > m/2 {
			d -= m
		}
		return float64(d) * dx
	}
	for _, p := range [][2]int{{0, 0}, {17, 40}, {79, 63}} {
		var s float64
		for j := range ny {
			for i := range nx {
				s += k.W2(math.Hypot(circ(p[0]-i, nx)-0.5, circ(p[1]-j, ny))) * f.F.Eval(u[j*nx+i]) * dx * dx
			}
		}
		if v := got[p[1]*nx+p[0]]; math.Abs(v-s) > 1e-10 {
			t.Errorf("conv at %v = %.12f, direct %.12f", p, v, s)
		}
	}
	if a := testing.AllocsPerRun(5, f.Step); a != 0 {
		t.Errorf("Step allocates %g", a)
	}
}

func TestFieldValidate(t *testing.T) {
	err := FieldConfig{NX: 2, Dx: -1, Tau: 0, F: Activation{Kind: ActStep, Gain: 1}, Kernel: FieldKernel{Exc: 1}, AdaptGain: 1, Dt: 0}.Validate()
	for _, f := range []string{"NX, NY:", "Dx:", "Tau:", "F.Max:", "Kernel.SigmaExc:", "AdaptTau:", "Dt:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("error %v does not name %s", err, f)
		}
	}
	// A domain too small for the kernel, and a step too long for the leak.
	err = FieldConfig{NX: 64, NY: 1, Dx: 0.1, Tau: 1, F: heaviside, Kernel: mexicanHat, Dt: 2}.Validate()
	if err == nil || !strings.Contains(err.Error(), "kernel reach") || !strings.Contains(err.Error(), "Dt:") {
		t.Errorf("error %v", err)
	}
}

func ExampleAmariBumps() {
	k := FieldKernel{Shape: KernelGaussian, Exc: 3, SigmaExc: 1, Inh: 3, SigmaInh: 3}
	bumps, _ := AmariBumps(k, -0.5, 0, 20)
	for _, b := range bumps {
		fmt.Printf("width %.3f stable %v\n", b.Width, b.Stable)
	}
	// Output:
	// width 0.705 stable false
	// width 2.878 stable true
}

func BenchmarkFieldStep(b *testing.B) {
	for _, c := range []struct{ nx, ny int }{{1024, 1}, {4096, 1}, {64, 64}, {128, 128}} {
		b.Run(fmt.Sprintf("nx=%d,ny=%d", c.nx, c.ny), func(b *testing.B) {
			f, err := NewField(FieldConfig{NX: c.nx, NY: c.ny, Dx: 48.0 / float64(c.nx), Tau: 1, H: -0.3, F: heaviside,
				Kernel: FieldKernel{Shape: KernelGaussian, Exc: 3, SigmaExc: 1, Inh: 3, SigmaInh: 2}, Dt: 0.05})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				f.Step()
			}
		})
	}
}
