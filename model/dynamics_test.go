package model

import (
	"fmt"
	"math"
	"math/cmplx"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// fhn is the FitzHugh–Nagumo system dv/dt = v − v³/3 − w + I,
// dw/dt = ε(v + a − b w) (FitzHugh 1961), defined here to test the analysis
// tools independently of the neuron models.
type fhn struct{ a, b, eps, i float64 }

func (f fhn) Dim() int { return 2 }
func (f fhn) Deriv(d []float64, _ float64, x []float64) {
	d[0] = x[0] - x[0]*x[0]*x[0]/3 - x[1] + f.i
	d[1] = f.eps * (x[0] + f.a - f.b*x[1])
}

// duffing is the damped double well ẋ = y, ẏ = x − x³ − δy.
func duffing(delta float64) System {
	return SystemFunc{N: 2, F: func(d []float64, _ float64, x []float64) {
		d[0] = x[1]
		d[1] = x[0] - x[0]*x[0]*x[0] - delta*x[1]
	}}
}

func TestFixedPoints(t *testing.T) {
	// Duffing double well, δ = 0.5: a saddle at 0 with λ = (−δ ± √(δ²+4))/2
	// and stable foci at (±1, 0) with λ = (−δ ± i√(8−δ²))/2.
	const delta = 0.5
	fps, err := FixedPoints(duffing(delta), FixedPointOptions{Lo: []float64{-2, -2}, Hi: []float64{2, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(fps) != 3 {
		t.Fatalf("found %d fixed points, want 3: %+v", len(fps), fps)
	}
	saddle := []complex128{complex((-delta+math.Sqrt(delta*delta+4))/2, 0), complex((-delta-math.Sqrt(delta*delta+4))/2, 0)}
	focus := []complex128{complex(-delta/2, math.Sqrt(8-delta*delta)/2), complex(-delta/2, -math.Sqrt(8-delta*delta)/2)}
	tests := []struct {
		x      float64
		eig    []complex128
		stable bool
	}{{-1, focus, true}, {0, saddle, false}, {1, focus, true}}
	for k, tt := range tests {
		fp := fps[k]
		if math.Abs(fp.X[0]-tt.x) > 1e-9 || math.Abs(fp.X[1]) > 1e-9 {
			t.Errorf("fixed point %d at %v, want (%g, 0)", k, fp.X, tt.x)
		}
		for i, e := range tt.eig {
			// Central differences with h = 1e-6 on a cubic: error ≈ h² = 1e-12.
			if cmplx.Abs(fp.Eigen[i]-e) > 1e-6 {
				t.Errorf("x*=%g: λ%d = %v, want %v", tt.x, i, fp.Eigen[i], e)
			}
		}
		if fp.Stable != tt.stable {
			t.Errorf("x*=%g: stable %v", tt.x, fp.Stable)
		}
	}
	_, err = FixedPoints(duffing(delta), FixedPointOptions{Lo: []float64{1}, Hi: []float64{0, 1}, Tol: -1})
	if err == nil || !strings.Contains(err.Error(), "Lo, Hi:") || !strings.Contains(err.Error(), "Tol:") {
		t.Errorf("bad options: %v", err)
	}
}

func TestNullclines(t *testing.T) {
	// FitzHugh–Nagumo nullclines: w = v − v³/3 + I (v-nullcline) and
	// w = (v + a)/b (w-nullcline).
	sys := fhn{a: 0.7, b: 0.8, eps: 0.08, i: 0.5}
	vn, wn, err := Nullclines2D(sys, -2.5, 2.5, -1.5, 2.5, 60, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(vn) < 50 || len(wn) < 50 {
		t.Fatalf("too few points: %d, %d", len(vn), len(wn))
	}
	for _, p := range vn {
		if d := p[1] - (p[0] - p[0]*p[0]*p[0]/3 + sys.i); math.Abs(d) > 1e-9 {
			t.Fatalf("v-nullcline point %v off by %g", p, d)
		}
	}
	for _, p := range wn {
		if d := p[1] - (p[0]+sys.a)/sys.b; math.Abs(d) > 1e-9 {
			t.Fatalf("w-nullcline point %v off by %g", p, d)
		}
	}
	if _, _, err := Nullclines2D(duffing(0), 1, 0, 0, 1, 1, 5); err == nil ||
		!strings.Contains(err.Error(), "xhi:") || !strings.Contains(err.Error(), "nx, ny:") {
		t.Errorf("bad arguments: %v", err)
	}
}

func TestBifurcationSweep(t *testing.T) {
	// FitzHugh–Nagumo: the fixed point loses stability where tr J = 1 − v² − εb
	// = 0, i.e. v_c = −√(1 − εb), at I_c = (v_c + a)/b − v_c + v_c³/3, in a Hopf
	// bifurcation with frequency ω = √det J = √(ε(1 − εb²)).
	const a, b, eps = 0.7, 0.8, 0.08
	vc := -math.Sqrt(1 - eps*b)
	ic := (vc+a)/b - vc + vc*vc*vc/3
	omega := math.Sqrt(eps * (1 - eps*b*b))
	params := make([]float64, 61)
	for k := range params {
		params[k] = 0.01 * float64(k)
	}
	branch, err := ContinueBranch(func(i float64) System { return fhn{a, b, eps, i} }, params, []float64{-1.2, -0.6}, 1e-12)
	if err != nil {
		t.Fatal(err)
	}
	cr := StabilityCrossings(branch)
	if len(cr) != 1 {
		t.Fatalf("crossings %+v, want one", cr)
	}
	c := cr[0]
	t.Logf("I_c = %.5f (analytic %.5f), ω = %.5f (analytic %.5f), slope %.3f", c.Param, ic, c.Omega, omega, c.Slope)
	// max Re λ = tr J/2 is smooth in I; linear interpolation over ΔI = 0.01
	// errs by O(ΔI²·curvature) < 1e-4.
	if math.Abs(c.Param-ic) > 1e-4 || !c.Hopf || math.Abs(c.Omega-omega) > 1e-3 || !(c.Slope > 0) {
		t.Errorf("crossing %+v", c)
	}

	// Transcritical ẋ = μx − x² on the branch x = 0: a real eigenvalue μ
	// crosses at μ = 0 with slope 1.
	mus := []float64{-0.3, -0.1, 0.1, 0.3}
	branch, err = ContinueBranch(func(mu float64) System {
		return SystemFunc{N: 1, F: func(d []float64, _ float64, x []float64) { d[0] = mu*x[0] - x[0]*x[0] }}
	}, mus, []float64{0}, 1e-12)
	if err != nil {
		t.Fatal(err)
	}
	cr = StabilityCrossings(branch)
	if len(cr) != 1 || math.Abs(cr[0].Param) > 1e-9 || cr[0].Hopf || math.Abs(cr[0].Slope-1) > 1e-6 {
		t.Errorf("transcritical crossings %+v", cr)
	}
}

func logistic(r float64) IteratedMap {
	return MapFunc{N: 1, F: func(dst, x []float64) { dst[0] = r * x[0] * (1 - x[0]) }}
}

func TestLyapunovMap(t *testing.T) {
	// r = 4: λ = ln 2 (Ulam & von Neumann 1947). r = 3.2: stable 2-cycle with
	// λ = ½ ln|f′(x₊)f′(x₋)| = ½ ln(−r² + 2r + 4). Hénon (a = 1.4, b = 0.3):
	// λ₁ = 0.41922 (Sprott 2003, Chaos and Time-Series Analysis, App. A).
	henon := MapFunc{N: 2, F: func(dst, x []float64) {
		dst[0] = 1 - 1.4*x[0]*x[0] + x[1]
		dst[1] = 0.3 * x[0]
	}}
	tests := []struct {
		name string
		m    IteratedMap
		x0   []float64
		want float64
		tol  float64 // relative
	}{
		{"logistic r=4", logistic(4), []float64{0.2137}, math.Ln2, 0.01},
		{"logistic r=3.2", logistic(3.2), []float64{0.3}, 0.5 * math.Log(-3.2*3.2+2*3.2+4), 0.01},
		{"henon", henon, []float64{0.1, 0.1}, 0.41922, 0.02},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LyapunovMap(tt.m, tt.x0, 1000, 200000, 1e-9, 1)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("λ = %.5f, want %.5f", got, tt.want)
			if math.Abs(got-tt.want) > tt.tol*math.Abs(tt.want) {
				t.Errorf("λ = %.5f, want %.5f ± %g%%", got, tt.want, 100*tt.tol)
			}
		})
	}
	if _, err := LyapunovMap(logistic(4), []float64{0.1, 0.2}, -1, 0, 0, 1); err == nil ||
		!strings.Contains(err.Error(), "x0:") || !strings.Contains(err.Error(), "d0:") {
		t.Errorf("bad arguments: %v", err)
	}
}

func TestLyapunovFlow(t *testing.T) {
	t.Run("lorenz", func(t *testing.T) {
		// σ = 10, ρ = 28, β = 8/3: λ₁ = 0.9056 (Sprott 2003, App. A).
		lorenz := SystemFunc{N: 3, F: func(d []float64, _ float64, x []float64) {
			d[0] = 10 * (x[1] - x[0])
			d[1] = x[0]*(28-x[2]) - x[1]
			d[2] = x[0]*x[1] - 8.0/3*x[2]
		}}
		est, err := LyapunovFlow(lorenz, []float64{1, 1, 20}, LyapunovOptions{Step: 0.005, Renorm: 0.1, Transient: 20, Duration: 1500})
		if err != nil {
			t.Fatal(err)
		}
		got := est.Lambda
		t.Logf("λ = %.4f ± %.4f", got, est.StdErr)
		if math.Abs(got-0.9056) > 0.03*0.9056 {
			t.Errorf("Lorenz λ = %.4f, want 0.9056 ± 3%%", got)
		}
	})
	// Sompolinsky, Crisanti & Sommers (1988): τ dx/dt = −x + gJ tanh(x) with
	// J_ij ~ N(0, 1/N). For g < 1 the origin is stable and the exponent is the
	// largest real part of −1 + gJ; for g > 1 the network is chaotic.
	for _, tc := range []struct {
		g        float64
		n        int
		seed     uint64
		duration float64
	}{{0.5, 100, 42, 60}, {1.5, 200, 5, 600}} {
		t.Run(fmt.Sprintf("SCS g=%g", tc.g), func(t *testing.T) {
			if tc.g > 1 && raceEnabled {
				t.Skip("2·10⁹ flops of single-goroutine arithmetic: 15 s under the race detector, nothing to detect")
			}
			n := tc.n
			net, err := NewRateNetwork(n, 1, CurrentForm, Activation{Kind: ActTanh, Gain: 1})
			if err != nil {
				t.Fatal(err)
			}
			RandomCouplingTo(net.W, n, tc.g, tc.seed)
			x0 := make([]float64, n)
			rng := newCodingRand(43)
			for i := range x0 {
				x0[i] = rng.NormFloat64()
			}
			est, err := LyapunovFlow(net, x0, LyapunovOptions{Step: 0.1, Renorm: 1, Transient: 30, Duration: tc.duration})
			if err != nil {
				t.Fatal(err)
			}
			ev, err := Eigenvalues(mat.NewDense(n, n, net.W))
			if err != nil {
				t.Fatal(err)
			}
			linear := -1 + real(ev[0])
			t.Logf("λ = %.4f ± %.4f (−1 + max Re λ(gJ) = %.4f)", est.Lambda, est.StdErr, linear)
			if tc.g < 1 {
				// The separation aligns with the leading eigenvector; the
				// sub-leading gap leaves a bias of order ln(N)/T.
				if math.Abs(est.Lambda-linear) > 0.05*math.Abs(linear) {
					t.Errorf("λ = %.4f, want %.4f ± 5%%", est.Lambda, linear)
				}
			} else if !(est.Lambda > 4*est.StdErr) {
				// Chaos: λ > 0 by 4 standard errors. At N = 200 the exponent is
				// small (≈ 0.02/τ) and some realisations settle on fixed points or
				// cycles instead (finite-size effects, Wainrib & Touboul 2013);
				// the seed picks a chaotic one.
				t.Errorf("λ = %.4f ± %.4f, want chaotic λ > 0", est.Lambda, est.StdErr)
			}
		})
	}
}

func ExampleFixedPoints() {
	// ẋ = x − x³: unstable at 0, stable at ±1.
	sys := SystemFunc{N: 1, F: func(d []float64, _ float64, x []float64) { d[0] = x[0] - x[0]*x[0]*x[0] }}
	fps, _ := FixedPoints(sys, FixedPointOptions{Lo: []float64{-2}, Hi: []float64{2}})
	for _, fp := range fps {
		fmt.Printf("x* = %+.3f  λ = %+.3f  stable %v\n", fp.X[0], real(fp.Eigen[0]), fp.Stable)
	}
	// Output:
	// x* = -1.000  λ = -2.000  stable true
	// x* = +0.000  λ = +1.000  stable false
	// x* = +1.000  λ = -2.000  stable true
}
