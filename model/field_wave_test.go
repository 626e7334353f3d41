package model

import (
	"math"
	"strings"
	"testing"
)

func TestWaveDispersion(t *testing.T) {
	// A standing mode cos(k·x) of u_tt + γu_t = c²∇²u − αu oscillates at
	// ω = √(c²|k|² + α − γ²/4) with envelope e^{−γt/2}. Leapfrog on the grid
	// has sin(ω_d Δt/2) = (Δt/2)√(c² k̃² + α) (undamped), k̃² = Σ (4/dx²) sin²(k dx/2),
	// which differs from ω by O(dx², Δt²).
	tests := []struct {
		name        string
		nx, ny      int
		mx, my      int
		c, alpha, g float64
	}{
		{"1-D", 400, 1, 3, 0, 1, 1, 0},
		{"1-D damped", 400, 1, 3, 0, 1.5, 0.5, 0.1},
		{"2-D", 64, 64, 2, 1, 1, 0.3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			length := 20.0
			dx := length / float64(tt.nx)
			cfg := WaveConfig{NX: tt.nx, NY: tt.ny, Dx: dx, C: tt.c, Mass: tt.alpha, Damping: tt.g}
			cfg.Dt = 0.4 * cfg.CFLStep()
			w, err := NewWave(cfg)
			if err != nil {
				t.Fatal(err)
			}
			kx := 2 * math.Pi * float64(tt.mx) / length
			ky := 2 * math.Pi * float64(tt.my) / length
			u0 := make([]float64, tt.nx*tt.ny)
			for j := range tt.ny {
				for i := range tt.nx {
					u0[j*tt.nx+i] = math.Cos(kx*float64(i)*dx) * math.Cos(ky*float64(j)*dx)
				}
			}
			w.SetState(u0, make([]float64, len(u0)))
			omega := math.Sqrt(tt.c*tt.c*(kx*kx+ky*ky) + tt.alpha - tt.g*tt.g/4)
			// Track u at the origin: zero crossings give the period, peaks the decay.
			var crossings []float64
			var peaks [][2]float64
			prev, prev2 := w.Prev[0], math.NaN()
			for w.Time < 12*2*math.Pi/omega {
				w.Step()
				cur := w.U[0]
				if (prev > 0) != (cur > 0) {
					crossings = append(crossings, w.Time-w.Dt*cur/(cur-prev))
				}
				if prev > cur && prev > prev2 && prev > 0 {
					peaks = append(peaks, [2]float64{w.Time - w.Dt, prev})
				}
				prev2, prev = prev, cur
			}
			n := len(crossings) - 1
			got := math.Pi * float64(n) / (crossings[n] - crossings[0])
			t.Logf("ω = %.6f, continuum %.6f (dt %.4g)", got, omega, w.Dt)
			if math.Abs(got/omega-1) > 1e-3 {
				t.Errorf("ω = %g, want %g ± 0.1%%", got, omega)
			}
			if tt.g > 0 {
				a, b := peaks[1], peaks[len(peaks)-1]
				rate := -math.Log(b[1]/a[1]) / (b[0] - a[0])
				if math.Abs(rate/(tt.g/2)-1) > 0.01 {
					t.Errorf("decay rate %g, want γ/2 = %g", rate, tt.g/2)
				}
			}
			if a := testing.AllocsPerRun(5, w.Step); a != 0 {
				t.Errorf("Step allocates %g", a)
			}
		})
	}
}

func TestWaveDAlembert(t *testing.T) {
	// u_tt = c² u_xx from rest: u = ½[u₀(x − ct) + u₀(x + ct)] (d'Alembert).
	const n, length, c = 1000, 100.0, 2.0
	dx := length / n
	cfg := WaveConfig{NX: n, NY: 1, Dx: dx, C: c}
	cfg.Dt = 0.5 * cfg.CFLStep()
	w, err := NewWave(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u0 := func(x float64) float64 { return math.Exp(-(x - 50) * (x - 50) / 8) }
	init := make([]float64, n)
	for i := range init {
		init[i] = u0(float64(i) * dx)
	}
	w.SetState(init, make([]float64, n))
	for w.Time < 20-w.Dt/2 {
		w.Step()
	}
	var worst float64
	for i, v := range w.U {
		x := float64(i) * dx
		want := 0.5 * (u0(x-c*w.Time) + u0(x+c*w.Time))
		worst = max(worst, math.Abs(v-want))
	}
	// Numerical dispersion of the second-order scheme: O((k dx)²) phase
	// error on a pulse of width 2 after 40 length units ≈ 1e-3.
	t.Logf("max |u − d'Alembert| = %.2e", worst)
	if worst > 3e-3 {
		t.Errorf("max deviation %g", worst)
	}
}

func TestSineGordonKinks(t *testing.T) {
	// u_tt = u_xx − sin u has the exact travelling kink
	// u = 4 arctan exp((x − x₀ − vt)/√(1 − v²)) (Scott 2003, Nonlinear
	// Science §2.4). A kink–antikink pair far apart (interaction ~ e^{−30})
	// keeps u periodic; both move at v.
	const n, length, v = 1600, 80.0, 0.5
	dx := length / n
	gamma := 1 / math.Sqrt(1-v*v)
	cfg := WaveConfig{NX: n, NY: 1, Dx: dx, C: 1, F: ReactionFunc{S: 1, F: func(dst, u []float64) { dst[0] = -math.Sin(u[0]) }}}
	cfg.Dt = 0.5 * cfg.CFLStep()
	w, err := NewWave(cfg)
	if err != nil {
		t.Fatal(err)
	}
	kink := func(x, t float64) (u, ut float64) {
		s1, s2 := gamma*(x-20-v*t), gamma*(x-50-v*t)
		u = 4*math.Atan(math.Exp(s1)) - 4*math.Atan(math.Exp(s2))
		ut = -v*gamma*2/math.Cosh(s1) + v*gamma*2/math.Cosh(s2)
		return u, ut
	}
	u0, v0 := make([]float64, n), make([]float64, n)
	for i := range u0 {
		u0[i], v0[i] = kink(float64(i)*dx, 0)
	}
	w.SetState(u0, v0)
	for w.Time < 30-w.Dt/2 {
		w.Step()
	}
	var pos float64
	for i := 1; i < n; i++ {
		if w.U[i-1] < math.Pi && w.U[i] >= math.Pi {
			pos = (float64(i-1) + (math.Pi-w.U[i-1])/(w.U[i]-w.U[i-1])) * dx
			break
		}
	}
	want := 20 + v*w.Time
	t.Logf("kink at %.4f, want %.4f", pos, want)
	// Speed to 0.1 %: 0.015 length units over 15 travelled.
	if math.Abs(pos-want) > 0.015 {
		t.Errorf("kink at %g, want %g", pos, want)
	}
}

func TestWaveValidate(t *testing.T) {
	cfg := WaveConfig{NX: 100, NY: 1, Dx: 0.1, C: 1, Mass: 4}
	lim := cfg.CFLStep() // 2/√(400 + 4)
	if math.Abs(lim-2/math.Sqrt(404)) > 1e-15 {
		t.Errorf("CFL step %g", lim)
	}
	cfg.Dt = 1.01 * lim
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "CFL") {
		t.Errorf("Dt beyond CFL accepted: %v", err)
	}
	// Just beyond the limit the scheme does blow up; just inside it does not.
	for _, f := range []float64{0.99, 1.01} {
		c := cfg
		c.Dt = f * lim
		w := &Wave{WaveConfig: c, U: make([]float64, 100), Prev: make([]float64, 100), next: make([]float64, 100),
			lap: make([]float64, 100), s1: make([]float64, 1), s2: make([]float64, 1)}
		init := make([]float64, 100)
		for i := range init {
			init[i] = math.Cos(math.Pi * float64(i)) // the grid's fastest mode
		}
		w.SetState(init, make([]float64, 100))
		for range 2000 {
			w.Step()
		}
		grew := maxAbsDev(w.U, 0) > 10
		if grew != (f > 1) {
			t.Errorf("Dt = %g × CFL: max |u| = %g", f, maxAbsDev(w.U, 0))
		}
	}
	err := WaveConfig{NX: 1, Dx: -1, Dt: 0, C: 0, Damping: -1, Mass: math.NaN(), F: Schnakenberg{}}.Validate()
	for _, f := range []string{"NX, NY:", "Dx:", "Dt:", "C:", "Damping:", "Mass:", "F:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("error %v does not name %s", err, f)
		}
	}
}
