package model

import (
	"math/rand/v2"
	"testing"
)

const benchN = 4000 // Vogels–Abbott / Brunel network size

// benchInputs returns per-neuron inputs uniform in [lo, hi), seeded.
func benchInputs(lo, hi float64) []float64 {
	rng := rand.New(rand.NewPCG(1, 99))
	in := make([]float64, benchN)
	for i := range in {
		in[i] = lo + (hi-lo)*rng.Float64()
	}
	return in
}

// reportPerNeuron adds the ns/neuron-step metric.
func reportPerNeuron(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchN, "ns/neuron-step")
}

func BenchmarkLIFStep(b *testing.B) {
	s, _ := NewLIFStepper(VogelsAbbottLIF(), 0.1)
	v, refr, sp := make([]float64, benchN), make([]float64, benchN), make([]bool, benchN)
	in := benchInputs(50, 300) // pA: about half the cells above rheobase (100 pA)
	s.Init(v, refr)
	b.ReportAllocs()
	for b.Loop() {
		s.Step(v, refr, in, sp)
	}
	reportPerNeuron(b)
}

func BenchmarkLIFCondStep(b *testing.B) {
	s, _ := NewLIFCondStepper(VogelsAbbottLIF(), 0.1)
	v, refr, sp := make([]float64, benchN), make([]float64, benchN), make([]bool, benchN)
	ge, gi, in := benchInputs(0, 20), benchInputs(0, 30), benchInputs(0, 200)
	for i := range v {
		v[i] = -60
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Step(v, refr, ge, gi, in, sp)
	}
	reportPerNeuron(b)
}

func BenchmarkIzhikevichStep(b *testing.B) {
	rs, _ := NewIzhikevich("RS")
	fs, _ := NewIzhikevich("FS")
	ps := make([]Izhikevich, benchN)
	for i := range ps {
		ps[i] = rs
		if i%5 == 0 {
			ps[i] = fs // 80 % excitatory, 20 % inhibitory (Izhikevich 2003 network)
		}
	}
	s, _ := NewIzhikevichStepper(ps, 0.5)
	v, u, sp := make([]float64, benchN), make([]float64, benchN), make([]bool, benchN)
	in := benchInputs(0, 15)
	s.Init(v, u)
	b.ReportAllocs()
	for b.Loop() {
		s.Step(v, u, in, sp)
	}
	reportPerNeuron(b)
}

func BenchmarkAdExStep(b *testing.B) {
	s, _ := NewAdExStepper(BretteGerstnerAdEx(), 0.05)
	v, w, refr, sp := make([]float64, benchN), make([]float64, benchN), make([]float64, benchN), make([]bool, benchN)
	in := benchInputs(300, 1200)
	s.Init(v, w, refr)
	b.ReportAllocs()
	for b.Loop() {
		s.Step(v, w, refr, in, sp)
	}
	reportPerNeuron(b)
}

func BenchmarkHHStep(b *testing.B) {
	s, _ := NewHHStepper(HH1952(), 0.025)
	v, m, h, n, sp := make([]float64, benchN), make([]float64, benchN), make([]float64, benchN), make([]float64, benchN), make([]bool, benchN)
	in := benchInputs(0, 15)
	s.Init(v, m, h, n)
	b.ReportAllocs()
	for b.Loop() {
		s.Step(v, m, h, n, in, sp)
	}
	reportPerNeuron(b)
}

func BenchmarkSynapseBankStep(b *testing.B) {
	for _, k := range []SynKind{SynExp, SynAlpha, SynDualExp} {
		b.Run("kind="+k.String(), func(b *testing.B) {
			bank, _ := NewSynapseBank(Synapse{Kind: k, TauRise: 1, TauDecay: 5}, benchN, 0.1)
			g := make([]float64, benchN)
			b.ReportAllocs()
			for b.Loop() {
				bank.Spike(17, 1)
				bank.Step()
				bank.Conductances(g)
			}
			reportPerNeuron(b)
		})
	}
}

func BenchmarkSimulateHH(b *testing.B) {
	p := HH1952()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Simulate(p, Step(10, 10), 0, 100, SimOptions{SpikesOnly: true}); err != nil {
			b.Fatal(err)
		}
	}
}
