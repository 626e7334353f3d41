package model

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// Typical passive properties (Segev & Burke 1998): R_m = 20 kΩ·cm²,
// R_i = 100 Ω·cm, C_m = 1 µF/cm², so λ = 1000 µm at d = 2 µm and τ_m = 20 ms.
var testProps = CableProps{Rm: 20000, Ri: 100, Cm: 1, EL: -65}

func TestCableConstants(t *testing.T) {
	if l := testProps.Lambda(2); math.Abs(l-1000) > 1e-9 {
		t.Errorf("λ(2 µm) = %g µm, want 1000", l)
	}
	if tau := testProps.TauM(); math.Abs(tau-20) > 1e-12 {
		t.Errorf("τ_m = %g ms, want 20", tau)
	}
	// R_∞ = (2/π)√(R_m R_i) d^{−3/2} = (2/π)·1414.2 Ω·cm / (2e-4 cm)^{3/2} = 318.3 MΩ.
	if r := testProps.RInf(2); math.Abs(r-318.30988618379) > 1e-6 {
		t.Errorf("R_∞ = %.9g MΩ", r)
	}
}

func TestCableAttenuation(t *testing.T) {
	// A sealed cylinder of 10 λ, current into the end compartment: the steady
	// state decays as cosh((L − x)/λ)/cosh(L/λ) ≈ e^{−x/λ} (relative
	// difference e^{−2(L−x)/λ} < 1e-6 for x ≤ 3λ), and R_in = R_∞ coth(L/λ).
	const d, lambda = 2.0, 1000.0
	for _, nPerLambda := range []int{20, 100} {
		t.Run(fmt.Sprintf("dx=λ/%d", nPerLambda), func(t *testing.T) {
			c := NewCableTree(testProps)
			if _, _, err := c.AddSection(-1, 10*lambda, d, 10*nPerLambda); err != nil {
				t.Fatal(err)
			}
			if err := c.Build(0.025); err != nil {
				t.Fatal(err)
			}
			inj := make([]float64, c.Len())
			inj[0] = 0.1 // nA
			v := c.SteadyStateTo(make([]float64, c.Len()), inj)
			dx := lambda / float64(nPerLambda)
			var worst float64
			for k := 1; k <= 3*nPerLambda; k++ {
				ratio := (v[k] - testProps.EL) / (v[0] - testProps.EL)
				worst = max(worst, math.Abs(ratio/math.Exp(-float64(k)*dx/lambda)-1))
			}
			// The discrete cable's decay per compartment is μ with μ + 1/μ =
			// 2 + (dx/λ)²: relative error ≈ x(dx)²/(24λ³) ≤ 3e-4 at dx = λ/20.
			t.Logf("worst relative deviation from e^{−x/λ} over 3λ: %.2e", worst)
			if worst > 0.01 {
				t.Errorf("attenuation deviates by %.3g > 1%%", worst)
			}
			// The injection site is the first compartment's centre, X = dx/2λ
			// from the sealed end: two sealed cables in parallel,
			// R_in = R_∞ / (tanh X + tanh(L − X)).
			rin := (v[0] - testProps.EL) / inj[0]
			x := 0.5 / float64(nPerLambda)
			want := testProps.RInf(d) / (math.Tanh(x) + math.Tanh(10-x))
			if math.Abs(rin/want-1) > 0.01 {
				t.Errorf("R_in = %g MΩ, want %g", rin, want)
			}
		})
	}
}

// rallTree builds parent (d0, L0 electrotonic) with two daughters of
// diameters d1, d2 and electrotonic lengths l1, l2, n compartments per λ.
func rallTree(t *testing.T, d0, x0, d1, d2, x1, x2 float64, n int) (*CableTree, int) {
	t.Helper()
	c := NewCableTree(testProps)
	seg := func(parent int, d, x float64) (int, int) {
		l := x * testProps.Lambda(d)
		first, last, err := c.AddSection(parent, l, d, max(1, int(math.Round(x*float64(n)))))
		if err != nil {
			t.Fatal(err)
		}
		return first, last
	}
	_, bp := seg(-1, d0, x0)
	seg(bp, d1, x1)
	seg(bp, d2, x2)
	if err := c.Build(0.025); err != nil {
		t.Fatal(err)
	}
	return c, bp
}

func TestRallEquivalentCylinder(t *testing.T) {
	// Rall (1959; 1964): a parent of diameter d₀ whose daughters satisfy
	// Σ d_i^{3/2} = d₀^{3/2} and end at the same electrotonic distance
	// behaves, seen from the root, as one cylinder of diameter d₀ and
	// electrotonic length L = X₀ + X₁: R_in = R_∞(d₀) coth L and
	// V(X)/V(0) = cosh(L−X)/cosh L (both taken at compartment centres, see
	// TestCableAttenuation).
	const d0, x0, x1, n = 4.0, 0.5, 0.7, 200
	d2eq := func(d1 float64) float64 { return math.Pow(math.Pow(d0, 1.5)-math.Pow(d1, 1.5), 2.0/3) }
	tests := []struct {
		name   string
		d1, d2 float64
		equiv  bool
	}{
		{"symmetric 3/2", d0 * math.Pow(2, -2.0/3), d0 * math.Pow(2, -2.0/3), true},
		{"asymmetric 3/2", 2.0, d2eq(2.0), true},
		{"too thick", 3.0, 3.0, false},
		{"too thin", 1.5, 1.5, false},
	}
	rEq := testProps.RInf(d0) / (math.Tanh(0.5/n) + math.Tanh(x0+x1-0.5/n))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, bp := rallTree(t, d0, x0, tt.d1, tt.d2, x1, x1, n)
			inj := make([]float64, c.Len())
			inj[0] = 0.2
			v := c.SteadyStateTo(make([]float64, c.Len()), inj)
			rin := (v[0] - testProps.EL) / inj[0]
			// Compartment centres: 0 at X = ½/n, bp at X = x0 − ½/n.
			att := (v[bp] - testProps.EL) / (v[0] - testProps.EL)
			wantAtt := math.Cosh(x0+x1-(x0-0.5/n)) / math.Cosh(x0+x1-0.5/n)
			errR, errA := math.Abs(rin/rEq-1), math.Abs(att/wantAtt-1)
			t.Logf("R_in %.3f MΩ vs %.3f (%.2e), attenuation %.5f vs %.5f (%.2e)", rin, rEq, errR, att, wantAtt, errA)
			if tt.equiv && (errR > 0.01 || errA > 0.01) {
				t.Errorf("3/2-rule tree differs from its equivalent cylinder by %.3g (R_in), %.3g (V)", errR, errA)
			}
			if !tt.equiv && errR < 0.03 {
				t.Errorf("tree violating the 3/2 rule matches the equivalent cylinder to %.3g", errR)
			}
			// Branch-point current balance Σ (1/r_i) ∂V_i/∂x_i = 0: the current
			// arriving at bp from the root leaks through bp's membrane or flows on.
			var out float64
			for i := bp + 1; i < c.Len(); i++ {
				if c.Parent[i] == bp {
					out += c.AxialCurrent(v, i)
				}
			}
			in := c.AxialCurrent(v, bp)
			leak := c.gL[bp] * (v[bp] - testProps.EL)
			if math.Abs(in-out-leak) > 1e-12*math.Abs(in) {
				t.Errorf("branch point: in %g, out %g + leak %g", in, out, leak)
			}
		})
	}
}

func TestCableHinesMatchesDense(t *testing.T) {
	// A random tree of 120 compartments: the O(N) Hines elimination equals a
	// dense LU solve of the same backward-Euler system to round-off.
	c := NewCableTree(testProps)
	if _, err := c.AddSoma(20); err != nil {
		t.Fatal(err)
	}
	rng := newCodingRand(5)
	for c.Len() < 120 {
		parent := rng.IntN(c.Len())
		if _, _, err := c.AddSection(parent, 50+300*rng.Float64(), 0.5+3*rng.Float64(), 1+rng.IntN(8)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Build(0.1); err != nil {
		t.Fatal(err)
	}
	n := c.Len()
	for i := range c.Inject {
		c.Inject[i] = rng.NormFloat64() * 0.05
		c.V[i] = -65 + 10*rng.NormFloat64()
	}
	v0 := append([]float64(nil), c.V...)
	// Dense system A V = b.
	a := mat.NewDense(n, n, nil)
	b := mat.NewVecDense(n, nil)
	for i := range n {
		a.Set(i, i, c.c[i]/c.dt+c.gL[i])
		b.SetVec(i, c.c[i]/c.dt*v0[i]+c.gL[i]*testProps.EL+c.Inject[i])
	}
	for i := 1; i < n; i++ {
		p, g := c.Parent[i], c.gAx[i]
		a.Set(i, i, a.At(i, i)+g)
		a.Set(p, p, a.At(p, p)+g)
		a.Set(i, p, -g)
		a.Set(p, i, -g)
	}
	var want mat.VecDense
	if err := want.SolveVec(a, b); err != nil {
		t.Fatal(err)
	}
	c.Step()
	for i := range n {
		if math.Abs(c.V[i]-want.AtVec(i)) > 1e-9 {
			t.Fatalf("V[%d] = %.12g, dense %.12g", i, c.V[i], want.AtVec(i))
		}
	}
	if a := testing.AllocsPerRun(100, c.Step); a != 0 {
		t.Errorf("Step allocates %g", a)
	}
}

func TestCableTimeConstant(t *testing.T) {
	// An isopotential soma: V(t) = E_L + I R (1 − e^{−t/τ_m}); backward Euler
	// at dt = τ/2000 is within 0.03 % of it after τ.
	c := NewCableTree(testProps)
	c.AddSoma(30)
	if err := c.Build(0.01); err != nil {
		t.Fatal(err)
	}
	c.Inject[0] = 0.05
	r := 1 / c.gL[0]
	for range 2000 {
		c.Step()
	}
	want := testProps.EL + 0.05*r*(1-math.Exp(-c.Time/testProps.TauM()))
	if math.Abs((c.V[0]-testProps.EL)/(want-testProps.EL)-1) > 3e-4 {
		t.Errorf("V(%g ms) = %g, want %g", c.Time, c.V[0], want)
	}
}

func TestCableSpikingSoma(t *testing.T) {
	// Integrate-and-fire soma fed by a 600 µm dendrite, current at the tip.
	// The rheobase follows from the passive transfer resistance:
	// I_rh = (θ − E_L)/Z_tip→soma. Just below it the soma never fires; above
	// it, it fires, faster for larger currents.
	build := func() *CableTree {
		c := NewCableTree(testProps)
		c.AddSoma(20)
		if _, _, err := c.AddSection(0, 600, 2, 60); err != nil {
			t.Fatal(err)
		}
		c.Soma = SomaSpike{Enabled: true, Threshold: -50, Reset: -65, Refractory: 2}
		if err := c.Build(0.025); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := build()
	tip := c.Len() - 1
	inj := make([]float64, c.Len())
	inj[tip] = 1
	v := c.SteadyStateTo(make([]float64, c.Len()), inj)
	z := v[0] - testProps.EL // MΩ
	irh := (c.Soma.Threshold - testProps.EL) / z
	t.Logf("transfer resistance %.2f MΩ, rheobase %.4f nA", z, irh)
	rate := func(scale float64) int {
		c := build()
		c.Inject[tip] = scale * irh
		for range 20000 { // 500 ms
			c.Step()
		}
		return len(c.Spikes)
	}
	below, above, more := rate(0.98), rate(1.05), rate(1.5)
	t.Logf("spikes in 500 ms at 0.98, 1.05, 1.5 × rheobase: %d, %d, %d", below, above, more)
	if below != 0 || above == 0 || more <= above {
		t.Errorf("spike counts %d, %d, %d", below, above, more)
	}
}

func TestCableValidate(t *testing.T) {
	c := NewCableTree(CableProps{Rm: -1, Ri: 0, Cm: math.NaN(), EL: math.Inf(1)})
	if _, _, err := c.AddSection(3, -1, 0, 0); err == nil ||
		!strings.Contains(err.Error(), "parent:") || !strings.Contains(err.Error(), "length:") ||
		!strings.Contains(err.Error(), "diam:") || !strings.Contains(err.Error(), "n:") {
		t.Errorf("AddSection: %v", err)
	}
	c.AddSection(-1, 100, 1, 2)
	c.Soma = SomaSpike{Enabled: true, Threshold: -60, Reset: -50, Refractory: -1}
	err := c.Build(0)
	for _, f := range []string{"Rm:", "Ri:", "Cm:", "EL:", "dt:", "Soma.Reset:", "Soma.Refractory:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Build error %v does not name %s", err, f)
		}
	}
	if _, err := c.AddSoma(10); err == nil {
		t.Error("soma after the root accepted")
	}
}

func ExampleCableProps_Lambda() {
	p := CableProps{Rm: 20000, Ri: 100, Cm: 1, EL: -65}
	for _, d := range []float64{0.5, 2, 8} {
		fmt.Printf("d = %.1f µm: λ = %4.0f µm\n", d, p.Lambda(d))
	}
	// Output:
	// d = 0.5 µm: λ =  500 µm
	// d = 2.0 µm: λ = 1000 µm
	// d = 8.0 µm: λ = 2000 µm
}

func BenchmarkCableStep(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("compartments=%d", n), func(b *testing.B) {
			c := NewCableTree(testProps)
			c.AddSoma(20)
			rng := newCodingRand(1)
			for c.Len() < n {
				if _, _, err := c.AddSection(rng.IntN(c.Len()), 200, 1, 10); err != nil {
					b.Fatal(err)
				}
			}
			if err := c.Build(0.025); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				c.Step()
			}
		})
	}
}
