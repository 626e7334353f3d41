package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestSTDPWindow: one pre/post pair per trial, Δt = t_post − t_pre on the
// 0.1 ms grid, traces from rest: the measured ΔW equals the window formula
// A₊f₊(W)e^(−Δt/τ₊) / −A₋f₋(W)e^(Δt/τ₋) for additive and multiplicative rules.
func TestSTDPWindow(t *testing.T) {
	const dt = 0.1
	for _, p := range []STDP{
		{APlus: 0.01, AMinus: 0.012, TauPlus: 17, TauMinus: 34, WMax: 1, Mu: 0}, // Bi & Poo 1998 time constants (Bi & Poo 2001 fit)
		{APlus: 0.01, AMinus: 0.012, TauPlus: 17, TauMinus: 34, WMax: 1, Mu: 1},
		{APlus: 0.01, AMinus: 0.012, TauPlus: 17, TauMinus: 34, WMax: 1, Mu: 0.4},
	} {
		for _, lag := range []int{-600, -200, -50, -5, -1, 1, 5, 50, 200, 600} { // steps
			s, err := NewSTDPBank(p, 1, 1, dt)
			if err != nil {
				t.Fatal(err)
			}
			const w0 = 0.4
			w := []float64{w0}
			tPre, tPost := 1000, 1000+lag
			for k := 0; k <= max(tPre, tPost); k++ {
				s.Step(w, []bool{k == tPre}, []bool{k == tPost})
			}
			want := p.Window(float64(lag)*dt, w0)
			if got := w[0] - w0; math.Abs(got-want) > 1e-12 {
				t.Errorf("μ=%v Δt=%v ms: ΔW %v, window %v", p.Mu, float64(lag)*dt, got, want)
			}
		}
		// Same step: counted as pre-before-post, Δt → 0⁺.
		s, _ := NewSTDPBank(p, 1, 1, dt)
		w := []float64{0.4}
		s.Step(w, []bool{true}, []bool{true})
		if want := p.APlus * p.fPlus(0.4); math.Abs(w[0]-0.4-want) > 1e-15 {
			t.Errorf("μ=%v simultaneous spikes: ΔW %v, want %v", p.Mu, w[0]-0.4, want)
		}
	}
}

// poissonStep fills spikes with independent Bernoulli(rate·dt) draws.
func poissonStep(rng *rand.Rand, spikes []bool, pr float64) {
	for i := range spikes {
		spikes[i] = rng.Float64() < pr
	}
}

// TestSTDPPoissonDrift: independent Poisson pre (20 Hz) and post (10 Hz)
// trains; the mean weight change of additive STDP over T = 10 s matches
// Kempter et al. (1999): ⟨ΔW⟩ = ν_pre ν_post (A₊τ₊ − A₋τ₋) T, and so do its
// potentiating and depressing parts separately. The rates are taken as the
// realized ones (spike counts / T), which removes the count noise that all
// synapses of a neuron share; the remaining trace noise is ≈ 1 %, the
// tolerance 3 %.
func TestSTDPPoissonDrift(t *testing.T) {
	p := STDP{APlus: 0.005, AMinus: 0.005, TauPlus: 20, TauMinus: 40, WMax: 1}
	const nPre, nPost, dt, dur = 40, 50, 0.1, 10000.0
	const nuPre, nuPost = 20.0, 10.0
	s, err := NewSTDPBank(p, nPre, nPost, dt)
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float64, nPre*nPost)
	for k := range w {
		w[k] = 0.5
	}
	rng := rand.New(rand.NewPCG(11, 2))
	pre, post := make([]bool, nPre), make([]bool, nPost)
	var nPreSp, nPostSp int
	for range int(dur / dt) {
		poissonStep(rng, pre, nuPre*dt/1000)
		poissonStep(rng, post, nuPost*dt/1000)
		s.Step(w, pre, post)
		for _, b := range pre {
			if b {
				nPreSp++
			}
		}
		for _, b := range post {
			if b {
				nPostSp++
			}
		}
	}
	// Realized rates, Hz.
	rPre := float64(nPreSp) / nPre / (dur / 1000)
	rPost := float64(nPostSp) / nPost / (dur / 1000)
	nSyn := float64(len(w))
	var dW float64
	for _, x := range w {
		dW += x - 0.5
	}
	dW /= nSyn
	wantPot := rPre / 1000 * rPost / 1000 * p.APlus * p.TauPlus * dur // ≈ 0.2
	wantDep := rPre / 1000 * rPost / 1000 * p.AMinus * p.TauMinus * dur
	want := p.Drift(rPre, rPost) * dur // ≈ −0.2
	t.Logf("mean ΔW %.4f (expected %.4f); potentiation %.4f (%.4f), depression %.4f (%.4f)",
		dW, want, s.PotSum/nSyn, wantPot, s.DepSum/nSyn, wantDep)
	if math.Abs(dW-want)/math.Abs(want) > 0.03 {
		t.Errorf("mean ΔW %v, Kempter drift %v", dW, want)
	}
	if math.Abs(s.PotSum/nSyn-wantPot)/wantPot > 0.03 || math.Abs(s.DepSum/nSyn-wantDep)/wantDep > 0.03 {
		t.Errorf("potentiation %v (want %v), depression %v (want %v)", s.PotSum/nSyn, wantPot, s.DepSum/nSyn, wantDep)
	}
}

// TestSTDPMultiplicativeFixedPoint: with soft bounds (μ = 1) the drift
// ν_pre ν_post [A₊τ₊(1 − W/W_max) − A₋τ₋ W/W_max] vanishes at
// W*/W_max = A₊τ₊/(A₊τ₊ + A₋τ₋) = 1/3 here; Poisson-driven weights starting
// at 0.8 settle there (mean within 5 %).
func TestSTDPMultiplicativeFixedPoint(t *testing.T) {
	p := STDP{APlus: 0.05, AMinus: 0.05, TauPlus: 20, TauMinus: 40, WMax: 1, Mu: 1}
	const n, dt = 20, 0.1
	s, _ := NewSTDPBank(p, n, n, dt)
	w := make([]float64, n*n)
	for k := range w {
		w[k] = 0.8
	}
	rng := rand.New(rand.NewPCG(5, 2))
	pre, post := make([]bool, n), make([]bool, n)
	const steps = 150000 // 15 s ≈ 6 relaxation times
	var mean float64
	for k := range steps {
		poissonStep(rng, pre, 20*dt/1000)
		poissonStep(rng, post, 20*dt/1000)
		s.Step(w, pre, post)
		if k >= steps-20000 {
			for _, x := range w {
				mean += x
			}
		}
	}
	mean /= 20000 * float64(len(w))
	want := p.APlus * p.TauPlus / (p.APlus*p.TauPlus + p.AMinus*p.TauMinus)
	t.Logf("mean W %.4f, fixed point %.4f", mean, want)
	if math.Abs(mean-want)/want > 0.05 {
		t.Errorf("mean W %v, fixed point %v", mean, want)
	}
}

func TestSTDPValidate(t *testing.T) {
	err := STDP{APlus: -1, TauPlus: 0, TauMinus: 20, WMax: 0, Mu: 2}.Validate()
	for _, f := range []string{"APlus:", "TauPlus:", "WMax:", "Mu:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate() = %v, want %q", err, f)
		}
	}
	if _, err := NewSTDPBank(SongSTDP(1), 3, 2, 5); err == nil || !strings.Contains(err.Error(), "dt:") {
		t.Errorf("dt 5 ms: %v", err)
	}
	if _, err := NewSTDPBank(SongSTDP(1), 0, 2, 0.1); err == nil || !strings.Contains(err.Error(), "nPre:") {
		t.Errorf("nPre 0: %v", err)
	}
}

func TestSTDPNoAlloc(t *testing.T) {
	s, _ := NewSTDPBank(SongSTDP(1), 8, 4, 0.1)
	w := make([]float64, 32)
	pre := []bool{true, false, true, false, false, false, false, true}
	post := []bool{false, true, false, true}
	if a := testing.AllocsPerRun(100, func() { s.Step(w, pre, post) }); a != 0 {
		t.Errorf("%v allocs", a)
	}
}
