package model

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestFisherKPPFront(t *testing.T) {
	// Fisher–KPP from a step: the front's speed approaches c* = 2√(DR) from
	// below as c* − 3/(2λ* t) (Bramson 1983; λ* = √(R/D)), so the mean speed
	// between t₁ and t₂ is c* − (3/(2λ*)) ln(t₂/t₁)/(t₂ − t₁). On a grid of
	// spacing dx the linear spreading speed is min_λ [R + D(2cosh λdx − 2)/dx²]/λ.
	tests := []struct{ d, r float64 }{{1, 1}, {0.5, 2}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("D=%g,R=%g", tt.d, tt.r), func(t *testing.T) {
			const n, dx = 800, 0.25
			dt := 0.8 * rk4RealStability * dx * dx / (4 * tt.d)
			rd, err := NewReactionDiffusion(RDConfig{NX: n, NY: 1, Dx: dx, Dt: dt, D: []float64{tt.d},
				F: FisherKPP{R: tt.r, K: 1}, Boundary: Neumann})
			if err != nil {
				t.Fatal(err)
			}
			u := rd.SpeciesOf(0)
			for i := range 40 {
				u[i] = 1
			}
			front := func() float64 {
				for i := 1; i < n; i++ {
					if u[i-1] >= 0.5 && u[i] < 0.5 {
						return (float64(i-1) + (u[i-1]-0.5)/(u[i-1]-u[i])) * dx
					}
				}
				return math.NaN()
			}
			runTo := func(tEnd float64) {
				for rd.Time < tEnd-dt/2 {
					rd.Step()
				}
			}
			const t1, t2 = 30.0, 70.0
			runTo(t1)
			x1 := front()
			runTo(t2)
			x2 := front()
			got := (x2 - x1) / (rd.Time - t1)
			// Lattice speed by a fine scan over λ.
			cLat := math.Inf(1)
			for lam := 0.01; lam < 5; lam += 1e-4 {
				cLat = min(cLat, (tt.r+tt.d*(2*math.Cosh(lam*dx)-2)/(dx*dx))/lam)
			}
			lamStar := math.Sqrt(tt.r / tt.d)
			want := cLat - 3/(2*lamStar)*math.Log(t2/t1)/(t2-t1)
			cStar := 2 * math.Sqrt(tt.d*tt.r)
			t.Logf("speed %.4f; c* = %.4f, lattice %.4f, with Bramson's correction %.4f", got, cStar, cLat, want)
			if math.Abs(got-want) > 0.01*want {
				t.Errorf("front speed %g, want %g ± 1%%", got, want)
			}
		})
	}
}

func TestTuringModeGrowth(t *testing.T) {
	// Schnakenberg (a, b) = (0.1, 0.9), D_u = 1, D_v = 20: the homogeneous
	// state is stable (tr J < 0, det J > 0) but modes with k in the Turing band
	// grow. A small single-mode perturbation grows at exactly the linear rate
	// σ(k) of J − k̃² D, with k̃² = (4/dx²) sin²(k dx/2) on the grid.
	s := Schnakenberg{A: 0.1, B: 0.9}
	fu, fv, gu, gv := s.Jacobian()
	if tr, det := fu+gv, fu*gv-fv*gu; !(tr < 0 && det > 0) {
		t.Fatalf("homogeneous state not stable: tr %g det %g", tr, det)
	}
	const du, dv = 1.0, 20.0
	tests := []struct {
		name   string
		nx, ny int
		mx, my int
	}{
		{"1-D stable mode", 200, 1, 4, 0}, // real eigenvalues, σ < 0
		{"1-D unstable mode", 200, 1, 9, 0},
		{"2-D unstable mode", 24, 24, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dx := 0.5
			if tt.ny > 1 {
				dx = 1
			}
			dims := 1.0
			if tt.ny > 1 {
				dims = 2
			}
			dt := 0.8 * rk4RealStability * dx * dx / (4 * dims * dv)
			rd, err := NewReactionDiffusion(RDConfig{NX: tt.nx, NY: tt.ny, Dx: dx, Dt: dt, D: []float64{du, dv}, F: s})
			if err != nil {
				t.Fatal(err)
			}
			us, vs := s.SteadyState()
			kx := 2 * math.Pi * float64(tt.mx) / (float64(tt.nx) * dx)
			ky := 0.0
			if tt.ny > 1 {
				ky = 2 * math.Pi * float64(tt.my) / (float64(tt.ny) * dx)
			}
			u, v := rd.SpeciesOf(0), rd.SpeciesOf(1)
			mode := make([]float64, rd.Len())
			for j := range tt.ny {
				for i := range tt.nx {
					k := j*tt.nx + i
					mode[k] = math.Cos(kx*float64(i)*dx) * math.Cos(ky*float64(j)*dx)
					u[k] = us + 1e-6*mode[k]
					v[k] = vs - 0.5e-6*mode[k]
				}
			}
			amp := func() float64 {
				var a, b float64
				for k := range mode {
					a += (u[k] - us) * mode[k]
					b += mode[k] * mode[k]
				}
				return a / b
			}
			k2 := 4 / (dx * dx) * (math.Pow(math.Sin(kx*dx/2), 2) + math.Pow(math.Sin(ky*dx/2), 2))
			want := TuringGrowthRate(fu, fv, gu, gv, du, dv, k2)
			// Let the other eigenvector decay (rate ≤ −1.4), then time the
			// growth before round-off seeds of faster modes catch up.
			for rd.Time < 10 {
				rd.Step()
			}
			a1, t1 := amp(), rd.Time
			for rd.Time < 25 {
				rd.Step()
			}
			got := math.Log(math.Abs(amp()/a1)) / (rd.Time - t1)
			t.Logf("σ = %.6f, linear theory %.6f", got, want)
			if math.Abs(got-want) > 1e-5 {
				t.Errorf("growth rate %g, want %g", got, want)
			}
			if (tt.name == "1-D stable mode") != (want < 0) {
				t.Errorf("mode stability %g unexpected", want)
			}
			if a := testing.AllocsPerRun(3, rd.Step); a != 0 {
				t.Errorf("Step allocates %g", a)
			}
		})
	}
}

func TestTuringPatternFromNoise(t *testing.T) {
	// From seeded noise the fastest modes win: the dominant wavenumber of the
	// (still linear) pattern has σ within ln(10)/T of the maximum, i.e. only a
	// mode whose initial amplitude was ≥ 10× larger could have overtaken.
	s := Schnakenberg{A: 0.1, B: 0.9}
	fu, fv, gu, gv := s.Jacobian()
	const nx, dx, du, dv = 256, 0.5, 1.0, 20.0
	dt := 0.8 * rk4RealStability * dx * dx / (4 * dv)
	rd, err := NewReactionDiffusion(RDConfig{NX: nx, NY: 1, Dx: dx, Dt: dt, D: []float64{du, dv}, F: s})
	if err != nil {
		t.Fatal(err)
	}
	us, vs := s.SteadyState()
	rng := newCodingRand(77)
	u, v := rd.SpeciesOf(0), rd.SpeciesOf(1)
	for i := range u {
		u[i] = us + 1e-6*rng.NormFloat64()
		v[i] = vs + 1e-6*rng.NormFloat64()
	}
	const T = 40.0
	for rd.Time < T {
		rd.Step()
	}
	sigma := func(m int) float64 {
		k := 2 * math.Pi * float64(m) / (nx * dx)
		return TuringGrowthRate(fu, fv, gu, gv, du, dv, 4/(dx*dx)*math.Pow(math.Sin(k*dx/2), 2))
	}
	best, sMax := 0, math.Inf(-1)
	for m := 1; m < nx/2; m++ {
		sMax = max(sMax, sigma(m))
	}
	var pMax float64
	for m := 1; m < nx/2; m++ {
		var c, sn float64
		for i, x := range u {
			c += (x - us) * math.Cos(2*math.Pi*float64(m*i)/nx)
			sn += (x - us) * math.Sin(2*math.Pi*float64(m*i)/nx)
		}
		if p := c*c + sn*sn; p > pMax {
			pMax, best = p, m
		}
	}
	t.Logf("dominant mode m = %d (wavelength %.2f), σ = %.4f, σ_max = %.4f", best, nx*dx/float64(best), sigma(best), sMax)
	if sigma(best) < sMax-math.Log(10)/T {
		t.Errorf("dominant mode %d grows at %g, far below σ_max %g", best, sigma(best), sMax)
	}
	if m := maxAbsDev(u, us); m > 0.1 {
		t.Errorf("pattern amplitude %g: no longer in the linear regime", m)
	}
}

func maxAbsDev(x []float64, c float64) float64 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(v-c))
	}
	return m
}

func TestReactionDiffusionValidate(t *testing.T) {
	err := RDConfig{NX: 2, Dx: 0.1, Dt: 1, D: []float64{1, -1}, F: FisherKPP{R: -1, K: 1}, Boundary: 7}.Validate()
	for _, f := range []string{"NX, NY:", "Boundary:", "D:", "D[1]:", "F.R:", "Dt:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("error %v does not name %s", err, f)
		}
	}
	if err := (RDConfig{NX: 10, NY: 1, Dx: 0.1, Dt: 0.001, D: []float64{1}}).Validate(); err == nil || !strings.Contains(err.Error(), "F:") {
		t.Errorf("missing reaction: %v", err)
	}
}

func ExampleTuringGrowthRate() {
	s := Schnakenberg{A: 0.1, B: 0.9}
	fu, fv, gu, gv := s.Jacobian()
	for _, k := range []float64{0.1, 0.5, 1.5} {
		fmt.Printf("k = %.1f: σ = %+.4f\n", k, TuringGrowthRate(fu, fv, gu, gv, 1, 20, k*k))
	}
	// Output:
	// k = 0.1: σ = -0.2050
	// k = 0.5: σ = +0.2626
	// k = 1.5: σ = -1.4904
}
