package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestCondScale: with the conductances stored lazily decayed (condScale)
// the network computes the same dynamics as with the state decayed every
// step, to rounding, across renormalisations: isolated lif-cond cells
// driven by random conductances through AddInput keep their conductances
// within 1e-12 and potentials within 1e-9 mV of the eager twin and fire
// the same spikes; the coupled COBA network fires the same spike train.
func TestCondScale(t *testing.T) {
	if !simdAvailable {
		t.Skip("no AVX2+FMA: the conductances are decayed eagerly")
	}
	cfg := COBA(400, 6, 67)
	cfg.Projections = nil
	lazy, eager := newNet(t, cfg), newNet(t, cfg)
	if lazy.e.scaled == nil {
		t.Fatal("COBA does not use scaled conductances")
	}
	eager.e.scaled = nil
	r := rand.New(rand.NewPCG(3, 3))
	we, wi := make([]float64, 400), make([]float64, 400)
	var sa, sb []Event
	steps := 2*condPeriod + 100
	for s := range steps {
		for i := range we {
			we[i], wi[i] = 0, 0
			if r.IntN(20) == 0 {
				we[i] = 10 * r.Float64()
			}
			if r.IntN(40) == 0 {
				wi[i] = 60 * r.Float64()
			}
		}
		for _, nw := range []*Network{lazy, eager} {
			if err := nw.AddInput(Exc, 0, we); err != nil {
				t.Fatal(err)
			}
			if err := nw.AddInput(Inh, 0, wi); err != nil {
				t.Fatal(err)
			}
		}
		sa, sb = lazy.Advance(1, sa), eager.Advance(1, sb)
		if s%97 != 0 && s != steps-1 {
			continue
		}
		next := int64(s + 1)
		for i := range 400 {
			for rec := range 2 {
				ga, gb := lazy.e.synState(rec, i, next), eager.e.synState(rec, i, next)
				if math.Abs(ga-gb) > 1e-12*math.Abs(gb)+1e-300 {
					t.Fatalf("step %d neuron %d receptor %d: g %v, eager %v", s, i, rec, ga, gb)
				}
			}
			if d := math.Abs(lazy.e.v[i] - eager.e.v[i]); d > 1e-9 {
				t.Fatalf("step %d neuron %d: V %v, eager %v", s, i, lazy.e.v[i], eager.e.v[i])
			}
		}
	}
	if len(sa) == 0 || !slices.Equal(sa, sb) {
		t.Fatalf("spikes: %d lazy, %d eager (or different)", len(sa), len(sb))
	}

	full := COBA(1000, 6, 67)
	lazy, eager = newNet(t, full), newNet(t, full)
	eager.e.scaled = nil
	sa, sb = lazy.Advance(3000, sa[:0]), eager.Advance(3000, sb[:0])
	if len(sa) < 1000 || !slices.Equal(sa, sb) {
		t.Fatalf("COBA-1000: %d spikes lazy, %d eager (or different trains)", len(sa), len(sb))
	}
}
