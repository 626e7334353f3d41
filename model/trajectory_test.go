package model

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestSteps(t *testing.T) {
	s := Steps{Base: -1, T: []float64{10, 20, 30}, I: []float64{5, 0, 7}}
	for _, tc := range []struct{ t, want float64 }{
		{0, -1}, {9.999, -1}, {10, 5}, {15, 5}, {20, 0}, {29, 0}, {30, 7}, {1e9, 7},
	} {
		if got := s.At(tc.t); got != tc.want {
			t.Errorf("At(%v) = %v, want %v", tc.t, got, tc.want)
		}
	}
	if p := Pulse(5, 8, 3); p.At(4.9) != 0 || p.At(5) != 3 || p.At(7.9) != 3 || p.At(8) != 0 {
		t.Error("Pulse")
	}
	if c := Const(2); c.At(-5) != 2 || c.At(5) != 2 {
		t.Error("Const")
	}
	err := Steps{Base: math.NaN(), T: []float64{1, 1, 3}, I: []float64{1, math.Inf(1)}}.Validate()
	for _, f := range []string{"Base:", "I:", "T[1]:", "I[1]:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate() = %v, want %q", err, f)
		}
	}
}

// TestSimulateGrid: samples on the uniform grid t0 + k·SampleDt including
// both ends, names and units from the model, the final state, and exact
// agreement with the closed form of a linear model across input breaks.
func TestSimulateGrid(t *testing.T) {
	m := Membrane{C: 100, V0: -70, Channels: []Channel{{"leak", 5, -70}}} // τ = 20 ms
	in := Pulse(10, 30, 100)                                              // V∞ = −50 mV during the pulse
	for _, opt := range []SimOptions{
		{SampleDt: 0.5},
		{Method: RK4Method, Dt: 0.05, SampleDt: 0.5},
		{Method: RK4Method, Dt: 0.3, SampleDt: 0.5}, // samples between steps: Hermite output
	} {
		tr, err := Simulate(m, in, 0, 50, opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.T) != 101 || tr.T[0] != 0 || tr.T[100] != 50 {
			t.Fatalf("%v: %d samples from %v to %v", opt.Method, len(tr.T), tr.T[0], tr.T[len(tr.T)-1])
		}
		if tr.Vars[0] != (StateVar{"V", "mV"}) || len(tr.X) != 1 || tr.Var("V") == nil || tr.Var("x") != nil {
			t.Fatalf("Vars %v", tr.Vars)
		}
		exact := func(tt float64) float64 {
			switch {
			case tt <= 10:
				return -70
			case tt <= 30:
				return -50 - 20*math.Exp(-(tt-10)/20)
			}
			v30 := -50 - 20*math.Exp(-1)
			return -70 + (v30+70)*math.Exp(-(tt-30)/20)
		}
		tol := 1e-6
		if opt.Method == RK4Method && opt.Dt == 0.3 {
			tol = 1e-4 // cubic Hermite between steps
		}
		for j, tt := range tr.T {
			if d := math.Abs(tr.X[0][j] - exact(tt)); d > tol {
				t.Fatalf("%v dt=%v: V(%v) = %v, exact %v", opt.Method, opt.Dt, tt, tr.X[0][j], exact(tt))
			}
		}
		if tr.Final[0] != tr.X[0][100] {
			t.Errorf("Final %v ≠ last sample %v", tr.Final, tr.X[0][100])
		}
	}
}

// TestSimulateNoMissedSpikes: a LIF driven by brief suprathreshold pulses
// that are much shorter than RK4's step still produces one spike per pulse
// (the 5 ms refractory period prevents a second one), because the steps end
// at the input breaks and crossings are located on the dense output.
func TestSimulateNoMissedSpikes(t *testing.T) {
	p := VogelsAbbottLIF()
	var s Steps
	for k := range 10 {
		on := 5 + 10*float64(k)
		s.T = append(s.T, on, on+0.3)
		s.I = append(s.I, 20000, 0) // 0.3 ms × 20 nA: ΔV ≈ 30 mV ≫ 10 mV to threshold
	}
	for _, opt := range []SimOptions{{SpikesOnly: true}, {Method: RK4Method, Dt: 1, SpikesOnly: true}} {
		tr, err := Simulate(p, s, 0, 110, opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.Spikes) != 10 {
			t.Errorf("%v: %d spikes for 10 pulses: %v", opt.Method, len(tr.Spikes), tr.Spikes)
		}
		for k, ts := range tr.Spikes {
			on := 5 + 10*float64(k)
			// Exact crossing: V rises toward V∞ = E_L + 2000 mV; threshold at
			// 10 mV above rest → t* = τ ln(2000/1990).
			want := on + 20*math.Log(2000.0/1990)
			if math.Abs(ts-want) > 1e-4 {
				t.Errorf("%v spike %d at %v, exact %v", opt.Method, k, ts, want)
			}
		}
	}
}

func TestSimulateErrors(t *testing.T) {
	p := VogelsAbbottLIF()
	tests := []struct {
		name string
		m    Model
		in   Input
		t0   float64
		t1   float64
		opt  SimOptions
		want []string
	}{
		{"span", p, nil, 10, 5, SimOptions{}, []string{"span:"}},
		{"options", p, nil, 0, 5, SimOptions{Method: RK4Method, SampleDt: -1, X0: []float64{math.NaN()}}, []string{"Dt:", "SampleDt:", "X0[0]:"}},
		{"X0 length", p, nil, 0, 5, SimOptions{X0: []float64{1, 2}}, []string{"X0: length"}},
		{"input", p, Steps{T: []float64{2, 1}, I: []float64{1, 1}}, 0, 5, SimOptions{}, []string{"input:"}},
		{"model", LIF{}, nil, 0, 5, SimOptions{}, []string{"model:", "C:"}},
	}
	for _, tc := range tests {
		_, err := Simulate(tc.m, tc.in, tc.t0, tc.t1, tc.opt)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, w)
			}
		}
	}
	// A NaN input is reported, not integrated into a NaN trajectory.
	nan := InputFunc(func(tt float64) float64 {
		if tt > 3 {
			return math.NaN()
		}
		return 0
	})
	for _, opt := range []SimOptions{{}, {Method: RK4Method, Dt: 0.1}} {
		if _, err := Simulate(p, nan, 0, 5, opt); !errors.Is(err, ErrNonFinite) {
			t.Errorf("%v: NaN input: err = %v", opt.Method, err)
		}
	}
}

func TestSimulateDeterministic(t *testing.T) {
	in, _ := UniformSteps(42, 0, 300, 1, 0, 15)
	rs, _ := NewIzhikevich("RS")
	a, err := Simulate(rs, in, 0, 300, SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Simulate(rs, in, 0, 300, SimOptions{})
	if len(a.Spikes) == 0 || fmt.Sprint(a.Spikes) != fmt.Sprint(b.Spikes) || fmt.Sprint(a.X) != fmt.Sprint(b.X) {
		t.Error("same input, different trajectories")
	}
	in2, _ := UniformSteps(43, 0, 300, 1, 0, 15)
	c, _ := Simulate(rs, in2, 0, 300, SimOptions{})
	if fmt.Sprint(a.Spikes) == fmt.Sprint(c.Spikes) {
		t.Error("different seeds, identical spike trains")
	}
}

func TestModelSystem(t *testing.T) {
	m := Membrane{C: 100, V0: -70, Channels: []Channel{{"leak", 5, -70}}}
	sys := NewModelSystem(m, Const(100))
	r, err := NewRK45(sys.Dim(), RK45Options{AbsTol: 1e-10, RelTol: 1e-10})
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{-70}
	if _, err := r.Integrate(sys, 0, 20, x, nil); err != nil {
		t.Fatal(err)
	}
	if want := m.Exact(-70, 100, 20); math.Abs(x[0]-want) > 1e-8 {
		t.Errorf("V(20) = %v, exact %v", x[0], want)
	}
}

// ExampleSimulate runs the single-cell simulator: a Hodgkin–Huxley neuron
// given a 10 µA/cm² step, with every state variable recorded.
func ExampleSimulate() {
	tr, err := Simulate(HH1952(), Step(10, 10), 0, 50, SimOptions{SampleDt: 0.05})
	if err != nil {
		fmt.Println(err)
		return
	}
	var names []string
	for _, v := range tr.Vars {
		names = append(names, v.Name+"["+v.Unit+"]")
	}
	fmt.Println(strings.Join(names, " "))
	fmt.Printf("%d samples, spikes at %.2f ms\n", len(tr.T), tr.Spikes)
	fmt.Printf("V(0) = %.2f mV, h(0) = %.3f\n", tr.Var("V")[0], tr.Var("h")[0])
	// Output:
	// V[mV] m[] h[] n[]
	// 1001 samples, spikes at [11.90 26.82 41.47] ms
	// V(0) = -65.00 mV, h(0) = 0.596
}
