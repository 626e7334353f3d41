package sim

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestSpikeStats(t *testing.T) {
	// Neuron 0 fires every 10 steps (CV 0), neuron 1 as a Poisson process
	// (CV 1), neuron 2 once, neuron 3 never; window [100, 100100).
	r := rand.New(rand.NewPCG(1, 1))
	var ev []Event
	for s := int64(0); s < 100200; s += 10 {
		ev = append(ev, Event{s, 0})
	}
	for s := 0.0; s < 100200; s += r.ExpFloat64() * 50 {
		ev = append(ev, Event{int64(s), 1})
	}
	ev = append(ev, Event{500, 2})
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].Sample < ev[j].Sample })
	st := NewSpikeStats(4, 100, 100100)
	st.Add(ev[:len(ev)/2])
	st.Add(ev[len(ev)/2:])
	st.Add([]Event{{200, 9}, {200, -1}}) // out of range: ignored
	if c := st.Count(0, 1); c != 10000 {
		t.Errorf("neuron 0: %d spikes in the window, want 10000", c)
	}
	// 10000 spikes in 100000 steps of 0.1 ms: 1000 Hz.
	if r := st.Rate(0, 1, 0.1); math.Abs(r-1000) > 1e-9 {
		t.Errorf("rate %v Hz, want 1000", r)
	}
	if cv, n := st.CV(0, 1, 3); cv != 0 || n != 1 {
		t.Errorf("regular train CV %v (%d neurons), want 0", cv, n)
	}
	// Poisson: ISI CV 1, estimate within 5 standard errors (SE of the CV of
	// exponential intervals ≈ 1/√n; n ≈ 2000).
	cv, n := st.CV(1, 1, 3)
	if n != 1 || math.Abs(cv-1) > 5/math.Sqrt(float64(st.Count(1, 1))) {
		t.Errorf("Poisson CV %v, want 1", cv)
	}
	if cv, n := st.CV(2, 2, 3); !math.IsNaN(cv) || n != 0 {
		t.Errorf("neurons without intervals: CV %v over %d", cv, n)
	}
	if r := st.Rate(0, 0, 0.1); r != 0 {
		t.Errorf("empty group rate %v", r)
	}
}

func TestSynchrony(t *testing.T) {
	const n, steps = 200, 20000
	r := rand.New(rand.NewPCG(2, 2))
	var indep, sync []Event
	for s := int64(0); s < steps; s++ {
		fire := r.Float64() < 0.02
		for i := range int32(n) {
			if r.Float64() < 0.02 {
				indep = append(indep, Event{s, i})
			}
			if fire {
				sync = append(sync, Event{s, i})
			}
		}
	}
	if chi := Synchrony(sync, 0, n, 0, steps, 10); math.Abs(chi-1) > 1e-9 {
		t.Errorf("identical trains: χ = %v, want 1", chi)
	}
	// Independent neurons: χ ≈ 1/√N.
	if chi := Synchrony(indep, 0, n, 0, steps, 10); math.Abs(chi-1/math.Sqrt(n)) > 0.3/math.Sqrt(n) {
		t.Errorf("independent trains: χ = %v, want about %v", chi, 1/math.Sqrt(n))
	}
	if chi := Synchrony(nil, 0, n, 0, steps, 10); !math.IsNaN(chi) {
		t.Errorf("no spikes: χ = %v", chi)
	}
	counts := PopulationCounts(sync, 0, n, 0, steps, 10)
	var total float64
	for _, c := range counts {
		total += c
	}
	if len(counts) != steps/10 || int(total) != len(sync) {
		t.Errorf("%d bins, %v spikes; want %d, %d", len(counts), total, steps/10, len(sync))
	}
}

func TestSpectrumPeak(t *testing.T) {
	const fs = 2000.0
	x := make([]float64, 8192)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range x {
		x[i] = math.Sin(2*math.Pi*180*float64(i)/fs) + 0.5*r.NormFloat64()
	}
	f, p, err := SpectrumPeak(x, fs, 5, 500, 1024)
	// Bins are fs/1024 ≈ 1.95 Hz wide.
	if err != nil || math.Abs(f-180) > fs/1024 || p <= 0 {
		t.Errorf("peak at %v Hz (power %v, %v), want 180", f, p, err)
	}
	if _, _, err := SpectrumPeak(x, fs, 1500, 1600, 1024); err == nil {
		t.Error("no error for a band above Nyquist")
	}
	if _, _, err := SpectrumPeak(x[:100], fs, 5, 500, 1024); err == nil {
		t.Error("no error for a signal shorter than a segment")
	}
}
