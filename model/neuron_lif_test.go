package model

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// meanISI returns the mean interspike interval after discarding the first
// spike (whose latency depends on the initial condition).
func meanISI(spikes []float64) float64 {
	if len(spikes) < 3 {
		return math.NaN()
	}
	return (spikes[len(spikes)-1] - spikes[1]) / float64(len(spikes)-2)
}

func TestMembraneSteadyState(t *testing.T) {
	m := Membrane{C: 100, V0: -70, Channels: []Channel{
		{"leak", 5, -70}, {"K", 2, -90}, {"Na", 0.5, 50},
	}}
	const in = 40.0
	// Closed form (Σ g E + I)/Σ g = (−350 − 180 + 25 + 40)/7.5 = −62 mV.
	want := -62.0
	if got := m.SteadyState(in); math.Abs(got-want) > 1e-12 {
		t.Fatalf("SteadyState = %v, want %v", got, want)
	}
	tau := m.TimeConstant() // 100/7.5 ms
	tr, err := Simulate(m, Const(in), 0, 10*tau, SimOptions{SampleDt: tau})
	if err != nil {
		t.Fatal(err)
	}
	v := tr.Var("V")
	// After one τ the gap to V∞ has shrunk by e (exact solution).
	if got, w := v[1], want+(m.V0-want)/math.E; math.Abs(got-w) > 1e-6 {
		t.Errorf("V(τ) = %v, want %v", got, w)
	}
	if got := v[len(v)-1]; math.Abs(got-m.Exact(m.V0, in, 10*tau)) > 1e-6 {
		t.Errorf("V(10τ) = %v, want %v", got, m.Exact(m.V0, in, 10*tau))
	}
	bad := Membrane{C: -1, Channels: []Channel{{"x", -2, math.NaN()}}}
	err = bad.Validate()
	for _, f := range []string{"C:", "Channels[0].G:", "Channels[0].E:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate() = %v, want mention of %q", err, f)
		}
	}
}

func TestLIFFICurve(t *testing.T) {
	p := VogelsAbbottLIF() // V_reset = E_L, as the closed form requires
	R := 1 / p.GL          // GΩ
	tauM := p.C / p.GL     // ms
	for _, tc := range []struct {
		name string
		opt  SimOptions
	}{
		{"rk45", SimOptions{SpikesOnly: true}},
		{"rk4", SimOptions{Method: RK4Method, Dt: 0.05, SpikesOnly: true}},
	} {
		for _, in := range []float64{105, 120, 200, 400, 1000} {
			// T = t_ref + τ_m ln(RI/(RI − (V_th − V_reset))) (Dayan & Abbott 2001, eq. 5.11).
			want := p.TRef + tauM*math.Log(R*in/(R*in-(p.VTh-p.VReset)))
			if got := p.Period(in); math.Abs(got-want) > 1e-12*want {
				t.Fatalf("Period(%v) = %v, want %v", in, got, want)
			}
			tr, err := Simulate(p, Const(in), 0, 600, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			got := meanISI(tr.Spikes)
			if math.Abs(got-want)/want > 1e-3 { // brief: 1 %; achieved ~1e-7
				t.Errorf("%s I=%v pA: ISI %v ms, analytic %v ms", tc.name, in, got, want)
			}
		}
	}
}

func TestLIFRheobase(t *testing.T) {
	p := VogelsAbbottLIF()
	rh := p.Rheobase() // g_L (V_th − E_L) = 100 pA
	if math.Abs(rh-100) > 1e-12 {
		t.Fatalf("Rheobase = %v, want 100", rh)
	}
	for _, tc := range []struct {
		in     float64
		spikes bool
	}{{0.99 * rh, false}, {1.01 * rh, true}} {
		tr, err := Simulate(p, Const(tc.in), 0, 1000, SimOptions{SpikesOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if (len(tr.Spikes) > 0) != tc.spikes {
			t.Errorf("I=%v: %d spikes, want spikes=%v", tc.in, len(tr.Spikes), tc.spikes)
		}
	}
	if p.Rate(0.5*rh) != 0 {
		t.Error("Rate below rheobase is not 0")
	}
}

func TestLIFConductanceFICurve(t *testing.T) {
	p := VogelsAbbottLIF()
	p.GE, p.GI = 6, 4 // nS tonic: g_tot = 20 nS, τ = 10 ms
	tauEff := p.C / (p.GL + p.GE + p.GI)
	if math.Abs(p.TauM()-tauEff) > 1e-12 {
		t.Fatalf("TauM = %v, want %v", p.TauM(), tauEff)
	}
	for _, in := range []float64{300, 600} {
		vinf := (p.GL*p.EL + p.GE*p.EE + p.GI*p.EI + in) / (p.GL + p.GE + p.GI)
		want := p.TRef + tauEff*math.Log((vinf-p.VReset)/(vinf-p.VTh))
		tr, err := Simulate(p, Const(in), 0, 500, SimOptions{SpikesOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := meanISI(tr.Spikes); math.Abs(got-want)/want > 1e-3 {
			t.Errorf("I=%v: ISI %v, want %v", in, got, want)
		}
		// The population stepper with per-neuron conductances equal to the
		// tonic ones gives the same period up to the grid (dt = 0.01 ms).
		q := p
		q.GE, q.GI = 0, 0
		s, err := NewLIFCondStepper(q, 0.01)
		if err != nil {
			t.Fatal(err)
		}
		v, refr := []float64{q.EL}, []float64{0}
		ge, gi, I := []float64{p.GE}, []float64{p.GI}, []float64{in}
		sp := []bool{false}
		var times []float64
		for k := 1; k <= 50000; k++ {
			if s.Step(v, refr, ge, gi, I, sp) > 0 {
				times = append(times, float64(k)*0.01)
			}
		}
		if got := meanISI(times); math.Abs(got-want) > 0.01/float64(len(times)-2) {
			t.Errorf("LIFCondStepper I=%v: ISI %v, want %v", in, got, want)
		}
	}
}

func TestLIFStepperFICurve(t *testing.T) {
	p := VogelsAbbottLIF()
	for _, dt := range []float64{0.01, 0.005} {
		s, err := NewLIFStepper(p, dt)
		if err != nil {
			t.Fatal(err)
		}
		in := []float64{150, 300, 1000}
		n := len(in)
		v, refr, sp := make([]float64, n), make([]float64, n), make([]bool, n)
		s.Init(v, refr)
		spikes := make([][]float64, n)
		steps := int(math.Round(500 / dt))
		for k := 1; k <= steps; k++ {
			s.Step(v, refr, in, sp)
			for i, f := range sp {
				if f {
					spikes[i] = append(spikes[i], float64(k)*dt)
				}
			}
		}
		for i, I := range in {
			want := p.Period(I)
			got := meanISI(spikes[i])
			// Spike times are exact inside the step and flagged at its end,
			// so the mean ISI over N intervals is off by < dt/N.
			if math.Abs(got-want) > dt/float64(len(spikes[i])-2) {
				t.Errorf("dt=%v I=%v: ISI %v, want %v", dt, I, got, want)
			}
		}
	}
}

func TestLIFRefractoryClamp(t *testing.T) {
	p := VogelsAbbottLIF()
	tr, err := Simulate(p, Const(1000), 0, 60, SimOptions{SampleDt: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Spikes) < 2 {
		t.Fatalf("%d spikes", len(tr.Spikes))
	}
	ts := tr.Spikes[0]
	v := tr.Var("V")
	for j, tt := range tr.T {
		if tt > ts+1e-6 && tt < ts+p.TRef-1e-6 && v[j] != p.VReset {
			t.Fatalf("V(%v) = %v during refractory period after spike at %v", tt, v[j], ts)
		}
		if tt > ts+p.TRef+0.05 && tt < tr.Spikes[1] && v[j] <= p.VReset {
			t.Fatalf("V(%v) = %v not rising after refractory period", tt, v[j])
		}
	}
}

func TestLIFValidate(t *testing.T) {
	bad := LIF{C: 0, GL: -1, EL: math.NaN(), VTh: -60, VReset: -50, TRef: -1}
	err := bad.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, f := range []string{"C:", "GL:", "EL:", "TRef:", "VReset:"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q lacks %q", err, f)
		}
	}
	for _, dt := range []float64{0, -0.1, math.NaN(), 3, 10} {
		if _, err := NewLIFStepper(VogelsAbbottLIF(), dt); err == nil || !strings.Contains(err.Error(), "dt:") {
			t.Errorf("NewLIFStepper(dt=%v): err = %v", dt, err)
		}
	}
	if _, err := Simulate(bad, Const(1), 0, 10, SimOptions{}); err == nil {
		t.Error("Simulate accepted invalid model")
	}
	if _, err := Simulate(VogelsAbbottLIF(), Const(1), 0, 10, SimOptions{Method: RK4Method, Dt: 5}); err == nil {
		t.Error("Simulate accepted RK4 step beyond the model's MaxStep")
	}
}

func TestLIFSteppersNoAlloc(t *testing.T) {
	const n = 64
	p := VogelsAbbottLIF()
	s, _ := NewLIFStepper(p, 0.1)
	c, _ := NewLIFCondStepper(p, 0.1)
	v, refr, in, ge, gi := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	sp := make([]bool, n)
	for i := range in {
		in[i] = 150 + float64(i)
		ge[i] = 3
		gi[i] = 2
	}
	s.Init(v, refr)
	if a := testing.AllocsPerRun(200, func() { s.Step(v, refr, in, sp) }); a != 0 {
		t.Errorf("LIFStepper.Step: %v allocs", a)
	}
	if a := testing.AllocsPerRun(200, func() { c.Step(v, refr, ge, gi, in, sp) }); a != 0 {
		t.Errorf("LIFCondStepper.Step: %v allocs", a)
	}
}

func ExampleLIF_Rate() {
	p := VogelsAbbottLIF() // τ_m = 20 ms, threshold 10 mV above rest, t_ref = 5 ms
	for _, in := range []float64{50, 200, 500} {
		fmt.Printf("I = %3.0f pA: %5.1f Hz\n", in, p.Rate(in))
	}
	// Output:
	// I =  50 pA:   0.0 Hz
	// I = 200 pA:  53.0 Hz
	// I = 500 pA: 105.7 Hz
}
