package model

import (
	"math"
	"testing"
)

// maxSpikeShift returns the largest difference between matching spike times,
// or +Inf if the counts differ.
func maxSpikeShift(a, b []float64) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return math.Inf(1)
	}
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

// TestSimulateConvergence: for each integrator of Simulate, halving the step
// (RK4) or tightening the tolerance tenfold (RK45) moves no spike by more than
// the stated tolerance over 200 ms of a step response. The step sizes are
// the ones the models' doc comments recommend.
func TestSimulateConvergence(t *testing.T) {
	rs, _ := NewIzhikevich("RS")
	ch, _ := NewIzhikevich("CH")
	cases := []struct {
		name string
		m    Model
		in   Input
		h    float64 // RK4 step
		tol  float64 // ms
	}{
		{"LIF", VogelsAbbottLIF(), Step(10, 300), 0.1, 1e-5},
		{"Izhikevich RS", rs, Step(10, 10), 0.05, 5e-3},
		{"Izhikevich CH", ch, Step(10, 10), 0.05, 5e-3},
		{"AdEx", BretteGerstnerAdEx(), Step(10, 1000), 0.05, 5e-3},
		{"HH", HH1952(), Step(10, 10), 0.025, 5e-3},
		{"FitzHugh–Nagumo", ClassicFitzHughNagumo(), Step(10, 0.5), 0.1, 5e-3},
	}
	for _, tc := range cases {
		run := func(opt SimOptions) []float64 {
			opt.SpikesOnly = true
			tr, err := Simulate(tc.m, tc.in, 0, 210, opt)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			return tr.Spikes
		}
		a := run(SimOptions{Method: RK4Method, Dt: tc.h})
		b := run(SimOptions{Method: RK4Method, Dt: tc.h / 2})
		c := run(SimOptions{AbsTol: 1e-6, RelTol: 1e-6})
		e := run(SimOptions{AbsTol: 1e-7, RelTol: 1e-7})
		t.Logf("%s (%d spikes): RK4 h %v→%v shift %.2g ms; RK45 tol 1e-6→1e-7 shift %.2g ms", tc.name, len(a), tc.h, tc.h/2, maxSpikeShift(a, b), maxSpikeShift(c, e))
		if d := maxSpikeShift(a, b); d > tc.tol {
			t.Errorf("%s RK4 h=%v→%v: spikes move by %.3g ms (counts %d, %d), tolerance %g", tc.name, tc.h, tc.h/2, d, len(a), len(b), tc.tol)
		}
		if d := maxSpikeShift(c, e); d > 1e-3 {
			t.Errorf("%s RK45 tol 1e-6→1e-7: spikes move by %.3g ms, tolerance 1e-3", tc.name, d)
		}
		// RK4 and RK45 agree.
		if d := maxSpikeShift(b, e); d > 2*tc.tol+1e-3 {
			t.Errorf("%s: RK4 and RK45 spike times differ by %.3g ms", tc.name, d)
		}
	}
}

// popSpikes runs a one-neuron population stepper for dur ms at step dt with
// input amp from 10 ms on, and returns the spike times.
func popSpikes(t *testing.T, kind string, dt, amp, dur float64) []float64 {
	t.Helper()
	in, sp := []float64{0}, []bool{false}
	var step func() int
	switch kind {
	case "LIF":
		s, err := NewLIFStepper(VogelsAbbottLIF(), dt)
		if err != nil {
			t.Fatal(err)
		}
		v, r := []float64{0}, []float64{0}
		s.Init(v, r)
		step = func() int { return s.Step(v, r, in, sp) }
	case "Izhikevich":
		p, _ := NewIzhikevich("RS")
		s, err := NewIzhikevichStepper([]Izhikevich{p}, dt)
		if err != nil {
			t.Fatal(err)
		}
		v, u := []float64{0}, []float64{0}
		s.Init(v, u)
		step = func() int { return s.Step(v, u, in, sp) }
	case "AdEx":
		s, err := NewAdExStepper(BretteGerstnerAdEx(), dt)
		if err != nil {
			t.Fatal(err)
		}
		v, w, r := []float64{0}, []float64{0}, []float64{0}
		s.Init(v, w, r)
		step = func() int { return s.Step(v, w, r, in, sp) }
	case "HH":
		s, err := NewHHStepper(HH1952(), dt)
		if err != nil {
			t.Fatal(err)
		}
		v, m, h, n := []float64{0}, []float64{0}, []float64{0}, []float64{0}
		s.Init(v, m, h, n)
		step = func() int { return s.Step(v, m, h, n, in, sp) }
	}
	var times []float64
	steps := int(math.Round(dur / dt))
	on := int(math.Round(10 / dt))
	for k := range steps {
		in[0] = 0
		if k >= on {
			in[0] = amp
		}
		if step() > 0 {
			times = append(times, float64(k+1)*dt)
		}
	}
	return times
}

// TestStepperConvergence: halving the population steppers' step moves spike
// times by less than the stated tolerance (first-order schemes: the shift is
// about proportional to dt; the LIF stepper is exact between steps and only
// quantizes spike times to the grid).
func TestStepperConvergence(t *testing.T) {
	cases := []struct {
		kind string
		dt   float64
		amp  float64
		tol  float64 // ms
	}{
		{"LIF", 0.1, 300, 0.1},        // grid quantization ≤ dt
		{"Izhikevich", 0.05, 10, 1.0}, // Euler: shift ∝ dt, 0.6 ms measured
		{"AdEx", 0.01, 1000, 0.2},     // Euler
		{"HH", 0.025, 10, 0.1},        // Rush–Larsen + exponential Euler
	}
	for _, tc := range cases {
		a := popSpikes(t, tc.kind, tc.dt, tc.amp, 210)
		b := popSpikes(t, tc.kind, tc.dt/2, tc.amp, 210)
		d := maxSpikeShift(a, b)
		t.Logf("%s dt %v→%v: max spike shift %.3g ms over %d spikes", tc.kind, tc.dt, tc.dt/2, d, len(a))
		if d > tc.tol {
			t.Errorf("%s dt %v→%v: spikes move by %.3g ms (counts %d, %d), tolerance %g", tc.kind, tc.dt, tc.dt/2, d, len(a), len(b), tc.tol)
		}
	}
}
