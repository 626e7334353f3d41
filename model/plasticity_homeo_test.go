package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// poissonTrain returns spike times (ms) on [0, t1) of a Poisson process with
// rate rate(t) Hz piecewise constant on the given segments (Lewis thinning-
// free construction: exponential ISIs per segment, restarted at each
// boundary, which is exact for piecewise-constant rates by memorylessness).
func poissonTrain(rng *rand.Rand, bounds, rates []float64) []float64 {
	var out []float64
	for s := range rates {
		t, end := bounds[s], bounds[s+1]
		for {
			t += rng.ExpFloat64() * 1000 / rates[s]
			if t >= end {
				break
			}
			out = append(out, t)
		}
	}
	return out
}

func TestScalingFactor(t *testing.T) {
	p := Scaling{Target: 5, Eta: 0.5, TauRate: 1000, Interval: 100}
	for _, tc := range []struct{ r, want float64 }{
		{5, 1}, {20, 0.5}, {1.25, 2}, {0, 2}, {1000, 0.5},
	} {
		if got := p.Factor(tc.r); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Factor(%v) = %v, want %v", tc.r, got, tc.want)
		}
	}
	// Rate estimator: a regular 40 Hz train drives the estimate to 40 Hz on
	// average; the weights then shrink by (5/40)^0.5 = 0.354 per update
	// (inside the cap 1/4 … 4).
	p.MaxFactor = 4
	b, err := NewScalingBank(p, 2, 1, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	w := []float64{1, 3}
	var mean float64
	for k := range 20000 { // 10 s
		b.Step(w, []bool{k%50 == 0})
		if k >= 10000 {
			mean += b.Rate[0] / 10000
		}
	}
	if math.Abs(mean-40)/40 > 0.01 {
		t.Errorf("rate estimate %v Hz, want 40", mean)
	}
	if math.Abs(w[1]/w[0]-3) > 1e-12 {
		t.Errorf("scaling changed relative weights: %v", w)
	}
	if want := math.Sqrt(5 / 40.0); math.Abs(b.LastFactor[0]-want)/want > 0.05 {
		t.Errorf("last factor %v, want ≈ %v", b.LastFactor[0], want)
	}
	err = Scaling{Target: 0, Eta: 2, TauRate: -1, Interval: 0, MaxFactor: 0.5}.Validate()
	for _, f := range []string{"Target:", "Eta:", "TauRate:", "Interval:", "MaxFactor:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate() = %v, want %q", err, f)
		}
	}
}

// TestHomeostaticScalingRecovers closes the loop: 20 LIF neurons
// (VogelsAbbottLIF) receive 100 Poisson inputs through exponential current
// synapses (τ = 5 ms) with weights under synaptic scaling toward 5 Hz. After
// the input rate doubles at 30 s the firing rate jumps well above target;
// scaling brings the population rate back within 10 % of the target by
// 60–70 s.
func TestHomeostaticScalingRecovers(t *testing.T) {
	const (
		nPre, nPost = 100, 20
		dt          = 0.2
		target      = 5.0
		tSwitch     = 30000.0
		tEnd        = 70000.0
	)
	sc := Scaling{Target: target, Eta: 0.1, TauRate: 2000, Interval: 1000}
	rng := rand.New(rand.NewPCG(21, 3))
	w0 := make([]float64, nPre*nPost)
	for k := range w0 {
		w0[k] = 15 + 10*rng.Float64() // pA
	}
	sim, err := NewPlasticitySim(PlasticityConfig{NPre: nPre, NPost: nPost, Dt: dt, Scaling: &sc}, w0)
	if err != nil {
		t.Fatal(err)
	}
	trains := make([][]float64, nPre)
	for j := range trains {
		trains[j] = poissonTrain(rng, []float64{0, tSwitch, tEnd}, []float64{10, 20})
	}
	idx := make([]int, nPre)
	lif, err := NewLIFStepper(VogelsAbbottLIF(), dt)
	if err != nil {
		t.Fatal(err)
	}
	syn, err := NewSynapseBank(Synapse{Kind: SynExp, TauDecay: 5}, nPost, dt)
	if err != nil {
		t.Fatal(err)
	}
	v, refr, cur := make([]float64, nPost), make([]float64, nPost), make([]float64, nPost)
	pre, post := make([]bool, nPre), make([]bool, nPost)
	lif.Init(v, refr)
	var before, jump, final int // spike counts in [20, 30), [30, 35), [60, 70) s
	steps := int(tEnd / dt)
	for k := range steps {
		tk := float64(k+1) * dt
		for j, tr := range trains {
			pre[j] = false
			for idx[j] < len(tr) && tr[idx[j]] <= tk {
				pre[j] = true
				idx[j]++
			}
		}
		drive := sim.Presynaptic(pre)
		for i, d := range drive {
			if d != 0 {
				syn.Spike(i, d)
			}
		}
		syn.Step()
		syn.Conductances(cur)
		n := lif.Step(v, refr, cur, post)
		sim.Postsynaptic(post)
		switch {
		case tk > 20000 && tk <= 30000:
			before += n
		case tk > 30000 && tk <= 35000:
			jump += n
		case tk > 60000:
			final += n
		}
	}
	rate := func(n int, secs float64) float64 { return float64(n) / nPost / secs }
	rBefore, rJump, rFinal := rate(before, 10), rate(jump, 5), rate(final, 10)
	st := sim.Stats()
	t.Logf("rate %.2f Hz before, %.2f Hz after doubling the input, %.2f Hz at 60–70 s (target %v); %d updates, cumulative factor %.3f",
		rBefore, rJump, rFinal, target, st.ScalingUpdates, st.Cumulative)
	if math.Abs(rBefore-target)/target > 0.1 {
		t.Errorf("rate before perturbation %.2f Hz, not within 10 %% of %v", rBefore, target)
	}
	if rJump < 2*target {
		t.Errorf("perturbation raised the rate only to %.2f Hz", rJump)
	}
	if math.Abs(rFinal-target)/target > 0.1 {
		t.Errorf("rate after recovery %.2f Hz, not within 10 %% of %v", rFinal, target)
	}
}
