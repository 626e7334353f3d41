package model

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestActivation(t *testing.T) {
	tests := []struct {
		name string
		a    Activation
		x    float64
		want float64
	}{
		{"linear", Activation{Kind: ActLinear, Gain: 2, Threshold: 1}, 3, 4},
		{"relu below", Activation{Kind: ActReLU, Gain: 2, Threshold: 1}, 0.5, 0},
		{"relu above", Activation{Kind: ActReLU, Gain: 2, Threshold: 1}, 3, 4},
		{"relu capped", Activation{Kind: ActReLU, Gain: 2, Threshold: 1, Max: 3}, 3, 3},
		{"sigmoid mid", Activation{Kind: ActSigmoid, Gain: 5, Threshold: 1, Max: 100}, 1, 50},
		{"sigmoid", Activation{Kind: ActSigmoid, Gain: 1, Max: 1}, math.Log(3), 0.75},
		{"tanh", Activation{Kind: ActTanh, Gain: 1}, math.Atanh(0.5), 0.5},
		{"step", Activation{Kind: ActStep, Gain: 1, Threshold: 0.2, Max: 7}, 0.3, 7},
		{"step at θ", Activation{Kind: ActStep, Gain: 1, Threshold: 0.2, Max: 7}, 0.2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.a.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := tt.a.Eval(tt.x); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("f(%g) = %g, want %g", tt.x, got, tt.want)
			}
			// Deriv against a central difference away from kinks.
			for _, x := range []float64{-1.3, 0.37, 2.9} {
				h := 1e-6
				num := (tt.a.Eval(x+h) - tt.a.Eval(x-h)) / (2 * h)
				if math.Abs(num-tt.a.Deriv(x)) > 1e-5*max(1, math.Abs(num)) {
					t.Errorf("f'(%g) = %g, numeric %g", x, tt.a.Deriv(x), num)
				}
			}
		})
	}
	err := Activation{Kind: ActSigmoid, Gain: -1, Threshold: math.NaN()}.Validate()
	for _, f := range []string{"Gain:", "Threshold:", "Max:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("error %v does not name %s", err, f)
		}
	}
}

func TestRateNetworkValidate(t *testing.T) {
	if _, err := NewRateNetwork(3, -1, RateForm, Activation{Kind: ActLinear}); err == nil ||
		!strings.Contains(err.Error(), "Tau:") || !strings.Contains(err.Error(), "F.Gain:") {
		t.Errorf("bad parameters: %v", err)
	}
	net := &RateNetwork{N: 2, Tau: 1, F: Activation{Kind: ActLinear, Gain: 1}, W: []float64{1, math.NaN(), 0}, Input: []float64{0}}
	err := net.Validate()
	for _, f := range []string{"W:", "Input:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("error %v does not name %s", err, f)
		}
	}
}

func TestFeedforwardChain(t *testing.T) {
	// Linear chain, impulse on unit 0: r_k(t) = w^k (t/τ)^k e^{−t/τ}/k!.
	const n, tau, w, h = 5, 10.0, 1.5, 0.05
	net, err := NewRateNetwork(n, tau, RateForm, Activation{Kind: ActLinear, Gain: 1})
	if err != nil {
		t.Fatal(err)
	}
	FeedforwardChainTo(net.W, n, w)
	r := make([]float64, n)
	r[0] = 1
	rk := NewRK4(n)
	tEnd := 0.0
	for range 1000 {
		rk.Step(net, tEnd, r, h)
		tEnd += h
	}
	s := tEnd / tau
	for k := range n {
		want := math.Pow(w, float64(k)) * math.Pow(s, float64(k)) * math.Exp(-s) / math.Gamma(float64(k+1))
		// RK4 global error at h/τ = 0.005 is ≈ 1e-10 relative.
		if math.Abs(r[k]-want) > 1e-8*max(want, 1e-3) {
			t.Errorf("r_%d(%g) = %.12g, want %.12g", k, tEnd, r[k], want)
		}
	}
	if a := testing.AllocsPerRun(50, func() { rk.Step(net, 0, r, h) }); a != 0 {
		t.Errorf("RK4 step of a RateNetwork allocates %g", a)
	}
}

func TestHopfieldRecall(t *testing.T) {
	// Continuous Hopfield (1984) network τ dx/dt = −x + W tanh(βx) with the
	// Hebbian weights of P random patterns. Below capacity (P/N = 0.05 ≪
	// 0.138) every stored pattern is recalled from a cue with 20 % of its bits
	// flipped; far above (P/N = 0.4) recall fails (Amit et al. 1985).
	const n = 200
	tests := []struct {
		p         int
		recall    bool
		threshold float64
	}{
		{10, true, 0.99},
		{80, false, 0.9},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("P=%d", tt.p), func(t *testing.T) {
			pats := RandomPatterns(tt.p, n, 1)
			net, err := NewRateNetwork(n, 1, CurrentForm, Activation{Kind: ActTanh, Gain: 4})
			if err != nil {
				t.Fatal(err)
			}
			HopfieldWeightsTo(net.W, pats)
			rng := newCodingRand(2)
			rk := NewRK4(n)
			x := make([]float64, n)
			var worst float64 = 1
			for mu := range 3 {
				for i := range x {
					x[i] = 0.5 * pats[mu][i]
					if rng.Float64() < 0.2 {
						x[i] = -x[i]
					}
				}
				if m := Overlap(pats[mu], x); m > 0.7 {
					t.Fatalf("cue overlap %g too high", m)
				}
				for k := range 200 { // 20 τ
					rk.Step(net, float64(k)*0.1, x, 0.1)
				}
				worst = min(worst, Overlap(pats[mu], x))
			}
			if tt.recall && worst < tt.threshold {
				t.Errorf("worst overlap %g < %g", worst, tt.threshold)
			}
			if !tt.recall && worst >= tt.threshold {
				t.Errorf("recall above capacity: worst overlap %g", worst)
			}
		})
	}
}

func TestRingAttractorBump(t *testing.T) {
	// Ben-Yishai et al. (1995) ring, threshold-linear, J₀ = −2, J₁ = 3,
	// uniform drive 1. A cue at ψ forms a bump; after the cue is removed the
	// bump persists at ψ with the half-width from (J₁/2π)(θc − ½ sin 2θc) = 1
	// (J₁ = 4 would give exactly π/2, J₁ = 3 gives 1.8389 rad).
	const n, j0, j1, psi = 180, -2.0, 3.0, 1.0
	net, err := NewRateNetwork(n, 1, RateForm, Activation{Kind: ActReLU, Gain: 1})
	if err != nil {
		t.Fatal(err)
	}
	RingWeightsTo(net.W, n, j0, j1)
	for i := range n {
		net.Input[i] = 1 + 0.5*math.Cos(2*math.Pi*float64(i)/n-psi)
	}
	r := make([]float64, n)
	rk := NewRK4(n)
	const h = 0.05
	for k := range 400 { // cue for 20 τ
		rk.Step(net, float64(k)*h, r, h)
	}
	for i := range n {
		net.Input[i] = 1
	}
	// 40 τ without the cue: the bump must neither decay nor drift (on a
	// finite lattice it can only creep towards a lattice-symmetric position).
	for k := range 800 {
		rk.Step(net, float64(k)*h, r, h)
	}
	thc, err := RingBumpHalfWidth(j1)
	if err != nil {
		t.Fatal(err)
	}
	active := 0
	peak := 0.0
	for _, v := range r {
		if v > 1e-9 {
			active++
		}
		peak = max(peak, v)
	}
	spacing := 2 * math.Pi / n
	width := float64(active) * spacing
	t.Logf("θc = %.4f rad, measured half-width %.4f (%d units), peak %.3f", thc, width/2, active, peak)
	if math.Abs(width-2*thc) > 2*spacing {
		t.Errorf("bump width %g, want 2θc = %g ± %g", width, 2*thc, 2*spacing)
	}
	if d := math.Remainder(RingCenter(r)-psi, 2*math.Pi); math.Abs(d) > spacing/2 {
		t.Errorf("bump at %g, cue at %g", RingCenter(r), psi)
	}
	if peak < 0.1 {
		t.Errorf("bump decayed: peak %g", peak)
	}
	if _, err := RingBumpHalfWidth(1.5); err == nil {
		t.Error("J1 < 2 accepted")
	}
}

func TestWinnerTakeAll(t *testing.T) {
	inputs := []float64{0.6, 1.0, 0.8, 0.3}
	thr := WTAThreshold(inputs) // 0.8
	if math.Abs(thr-0.8) > 1e-15 {
		t.Fatalf("threshold %g, want 0.8", thr)
	}
	tests := []struct {
		name    string
		alpha   float64
		init    []float64
		winners int
		winner  int
	}{
		{"soft below threshold", 0.5, nil, 2, -1},
		{"just below threshold", thr - 0.02, nil, 2, -1},
		{"just above threshold", thr + 0.02, nil, 1, 1},
		// α = 1.1 < I₁/I₂ = 1.25: unit 2 alone is not a fixed point, 1 wins anyway.
		{"strong, biased start", 1.1, []float64{0, 0, 0.9, 0}, 1, 1},
		// α = 1.5 > 1.25: bistable, the biased start decides.
		{"bistable", 1.5, []float64{0, 0, 0.9, 0}, 1, 2},
		{"bistable, neutral start", 1.5, nil, 1, 1},
	}
	const n = 4
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net, err := NewRateNetwork(n, 10, RateForm, Activation{Kind: ActReLU, Gain: 1})
			if err != nil {
				t.Fatal(err)
			}
			WTAWeightsTo(net.W, n, tt.alpha)
			copy(net.Input, inputs)
			r := make([]float64, n)
			if tt.init != nil {
				copy(r, tt.init)
			}
			if _, err := net.Relax(NewRK4(n), r, 0.5, 1e-10, 5000); err != nil {
				t.Fatal(err)
			}
			active, top := 0, 0
			for i, v := range r {
				if v > 1e-6 {
					active++
				}
				if v > r[top] {
					top = i
				}
			}
			if active != tt.winners {
				t.Errorf("%d active units %v, want %d", active, r, tt.winners)
			}
			if tt.winner >= 0 && (top != tt.winner || math.Abs(r[top]-inputs[top]) > 1e-6) {
				t.Errorf("winner %d at %g, want unit %d at its input %g", top, r[top], tt.winner, inputs[tt.winner])
			}
			if tt.alpha < 1 {
				want, _ := WTASteadyStateTo(make([]float64, n), inputs, tt.alpha)
				for i := range r {
					if math.Abs(r[i]-want[i]) > 1e-8 {
						t.Errorf("r = %v, analytic %v", r, want)
						break
					}
				}
			}
		})
	}
	if _, err := WTASteadyStateTo(make([]float64, 4), inputs, 1.2); err == nil {
		t.Error("α ≥ 1 accepted")
	}
}

func ExampleRingBumpHalfWidth() {
	for _, j1 := range []float64{2.5, 4, 6} {
		th, _ := RingBumpHalfWidth(j1)
		fmt.Printf("J1=%.1f  θc=%.1f°\n", j1, th*180/math.Pi)
	}
	// Output:
	// J1=2.5  θc=119.5°
	// J1=4.0  θc=90.0°
	// J1=6.0  θc=74.6°
}

func BenchmarkRateNetworkRK4(b *testing.B) {
	for _, n := range []int{100, 400} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			net, err := NewRateNetwork(n, 1, CurrentForm, Activation{Kind: ActTanh, Gain: 1})
			if err != nil {
				b.Fatal(err)
			}
			RandomCouplingTo(net.W, n, 1.5, 1)
			x := make([]float64, n)
			for i := range x {
				x[i] = 0.1
			}
			rk := NewRK4(n)
			b.ReportAllocs()
			for b.Loop() {
				rk.Step(net, 0, x, 0.1)
			}
		})
	}
}
