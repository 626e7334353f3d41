package model

import (
	"math"
	"strings"
	"testing"
)

// welchPower returns the Hann-windowed, 50 %-overlap averaged power of x
// (sampled at fs Hz) at frequency f, from segments of length seg.
func welchPower(x []float64, fs float64, seg int, f float64) float64 {
	var p float64
	for s := 0; s+seg <= len(x); s += seg / 2 {
		var mean float64
		for _, v := range x[s : s+seg] {
			mean += v
		}
		mean /= float64(seg)
		var re, im float64
		for k := range seg {
			w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(k)/float64(seg))
			v := (x[s+k] - mean) * w
			ph := 2 * math.Pi * f * float64(k) / fs
			re += v * math.Cos(ph)
			im += v * math.Sin(ph)
		}
		p += re*re + im*im
	}
	return p
}

// TestJansenRitAlpha: with the 1995 parameters and input noise uniform in
// 120–320 pulses/s the output y1 − y2 oscillates in the alpha band (Jansen &
// Rit 1995, Fig. 3): the spectral peak over 1–40 Hz lies in 8–12 Hz and
// dominates the power at 4 Hz and 20 Hz.
func TestJansenRitAlpha(t *testing.T) {
	p := JansenRit1995()
	const dur = 11000.0 // ms; the first second is discarded
	in, err := UniformSteps(1, 0, dur, 1, 120, 320)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Simulate(p, in, 0, dur, SimOptions{Method: RK4Method, Dt: 0.1, SampleDt: 1})
	if err != nil {
		t.Fatal(err)
	}
	y1, y2 := tr.Var("y1"), tr.Var("y2")
	sig := make([]float64, 0, len(y1))
	for j := 1000; j < len(y1); j++ {
		sig = append(sig, y1[j]-y2[j])
	}
	const fs, seg = 1000.0, 2000 // 0.5 Hz resolution
	bestF, best := 0.0, 0.0
	for f := 1.0; f <= 40; f += 0.5 {
		if pw := welchPower(sig, fs, seg, f); pw > best {
			best, bestF = pw, f
		}
	}
	t.Logf("spectral peak %.1f Hz", bestF)
	if bestF < 8 || bestF > 12 {
		t.Errorf("spectral peak at %.1f Hz, want alpha band 8–12 Hz", bestF)
	}
	for _, f := range []float64{4, 20} {
		if pw := welchPower(sig, fs, seg, f); pw*10 > best {
			t.Errorf("power at %v Hz is %.3g, not 10× below the peak %.3g", f, pw, best)
		}
	}
	// Same seed, same input, bit-identical output.
	in2, _ := UniformSteps(1, 0, 2000, 1, 120, 320)
	in3, _ := UniformSteps(1, 0, 2000, 1, 120, 320)
	a, _ := Simulate(p, in2, 0, 2000, SimOptions{Method: RK4Method, Dt: 0.1, SpikesOnly: true})
	b, _ := Simulate(p, in3, 0, 2000, SimOptions{Method: RK4Method, Dt: 0.1, SpikesOnly: true})
	for i := range a.Final {
		if a.Final[i] != b.Final[i] {
			t.Fatalf("same seed, different state: %v vs %v", a.Final, b.Final)
		}
	}
}

func TestJansenRitValidate(t *testing.T) {
	bad := JansenRit1995()
	bad.Ra, bad.R, bad.C3 = 0, math.NaN(), -1
	err := bad.Validate()
	for _, f := range []string{"Ra:", "R:", "C3:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate() = %v, want %q", err, f)
		}
	}
	if _, err := UniformSteps(1, 0, 10, 0, 1, 0); err == nil || !strings.Contains(err.Error(), "dt:") || !strings.Contains(err.Error(), "hi:") {
		t.Errorf("UniformSteps: %v", err)
	}
}
