package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// plasticityRun drives a sim with STDP, STP and scaling by independent
// Poisson trains (pre 20 Hz, post 8 Hz) for dur ms.
func plasticityRun(t *testing.T, seed uint64, dur float64) (*PlasticitySim, PlasticityStats, []float64, [][]float64, [][]float64) {
	t.Helper()
	const nPre, nPost = 30, 10
	stdp := STDP{APlus: 0.002, AMinus: 0.002, TauPlus: 20, TauMinus: 20, WMax: 1}
	stp := STP{U: 0.5, TauD: 500}
	sc := Scaling{Target: 4, Eta: 0.5, TauRate: 2000, Interval: 1000}
	cfg := PlasticityConfig{NPre: nPre, NPost: nPost, Dt: 0.1, STDP: &stdp, STP: &stp, Scaling: &sc}
	rng := rand.New(rand.NewPCG(seed, 4))
	w0 := make([]float64, nPre*nPost)
	for k := range w0 {
		w0[k] = 0.3 + 0.4*rng.Float64()
	}
	sim, err := NewPlasticitySim(cfg, w0)
	if err != nil {
		t.Fatal(err)
	}
	pre, post := make([][]float64, nPre), make([][]float64, nPost)
	for j := range pre {
		pre[j] = poissonTrain(rng, []float64{0, dur}, []float64{20})
	}
	for i := range post {
		post[i] = poissonTrain(rng, []float64{0, dur}, []float64{8})
	}
	st, err := sim.Run(pre, post, dur)
	if err != nil {
		t.Fatal(err)
	}
	return sim, st, w0, pre, post
}

// TestPlasticitySimStatistics checks each mechanism's statistics against its
// closed form when all three act on one weight matrix:
//   - STP: for Poisson input at rate ν the mean efficacy of a depressing
//     synapse is U/(1 + Uντ_D) (the stationary mean of x at spikes,
//     ⟨x⁻⟩ = 1/(1 + Uντ_D), from ⟨e^(−Δ/τ_D)⟩ = ντ_D/(1 + ντ_D)).
//   - Scaling: with the postsynaptic rate fixed at 8 Hz and target 4 Hz every
//     update multiplies weights by ≈ (4/8)^0.5.
//   - STDP: potentiation per synapse ≈ ν_pre ν_post A₊τ₊ T, scaled by the
//     realized rates; its counts equal those of a standalone STDPBank
//     replaying the same spikes only if no scaling intervenes, so here the
//     sum is checked against the closed form.
//   - Weight statistics: MeanDW and SDDW equal the direct computation.
func TestPlasticitySimStatistics(t *testing.T) {
	sim, st, w0, pre, post := plasticityRun(t, 1, 20000)
	var nPre, nPost int
	for _, tr := range pre {
		nPre += len(tr)
	}
	for _, tr := range post {
		nPost += len(tr)
	}
	// Two spikes of one train inside one 0.1 ms step count once.
	if st.PreSpikes > nPre || st.PreSpikes < nPre*998/1000 || st.PostSpikes > nPost || st.PostSpikes < nPost*998/1000 {
		t.Errorf("spike counts %d/%d, trains hold %d/%d", st.PreSpikes, st.PostSpikes, nPre, nPost)
	}
	rPre := float64(nPre) / 30 / 20
	wantEff := 0.5 / (1 + 0.5*rPre/1000*500)
	if math.Abs(st.MeanEfficacy-wantEff)/wantEff > 0.03 {
		t.Errorf("mean STP efficacy %.4f, Poisson closed form %.4f", st.MeanEfficacy, wantEff)
	}
	if st.MeanResources <= 0 || st.MeanResources >= 1 {
		t.Errorf("mean resources %v", st.MeanResources)
	}
	if math.Abs(st.Released-st.MeanEfficacy*float64(st.PreSpikes)) > 1e-9*st.Released {
		t.Errorf("released %v ≠ mean efficacy × spikes", st.Released)
	}
	wantF := math.Sqrt(4.0 / 8)
	if st.ScalingUpdates != 20 || math.Abs(st.LastFactor-wantF)/wantF > 0.1 {
		t.Errorf("scaling: %d updates, last factor %.3f, want 20 and ≈ %.3f", st.ScalingUpdates, st.LastFactor, wantF)
	}
	if st.Potentiations == 0 || st.Depressions == 0 {
		t.Errorf("STDP counts %d / %d", st.Potentiations, st.Depressions)
	}
	// Without scaling, STDP alone: potentiation sum vs the closed form.
	stdp := STDP{APlus: 0.002, AMinus: 0.002, TauPlus: 20, TauMinus: 20, WMax: 1}
	alone, err := NewPlasticitySim(PlasticityConfig{NPre: 30, NPost: 10, Dt: 0.1, STDP: &stdp}, w0)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := alone.Run(pre, post, 20000)
	if err != nil {
		t.Fatal(err)
	}
	rPost := float64(nPost) / 10 / 20
	wantPot := rPre / 1000 * rPost / 1000 * stdp.APlus * stdp.TauPlus * 20000 * 300
	if math.Abs(sa.PotentiationSum-wantPot)/wantPot > 0.05 {
		t.Errorf("STDP potentiation %.4f, closed form %.4f", sa.PotentiationSum, wantPot)
	}
	if sa.MeanEfficacy != 1 || sa.ScalingUpdates != 0 || sa.Cumulative != 1 {
		t.Errorf("disabled mechanisms report activity: %+v", sa)
	}
	// Weight statistics.
	w := sim.Weights()
	var m float64
	for k := range w {
		m += w[k] - w0[k]
	}
	m /= float64(len(w))
	var v float64
	for k := range w {
		d := w[k] - w0[k] - m
		v += d * d
	}
	if math.Abs(st.MeanDW-m) > 1e-12 || math.Abs(st.SDDW-math.Sqrt(v/float64(len(w)))) > 1e-12 {
		t.Errorf("MeanDW %v SDDW %v, direct %v %v", st.MeanDW, st.SDDW, m, math.Sqrt(v/float64(len(w))))
	}
	t.Logf("%+v", st)
}

func TestPlasticitySimDeterministic(t *testing.T) {
	s1, a, _, _, _ := plasticityRun(t, 9, 3000)
	s2, b, _, _, _ := plasticityRun(t, 9, 3000)
	if a != b {
		t.Errorf("same seed, different stats:\n%+v\n%+v", a, b)
	}
	for k, w := range s1.Weights() {
		if s2.Weights()[k] != w {
			t.Fatalf("same seed, weight %d differs: %v vs %v", k, w, s2.Weights()[k])
		}
	}
	_, c, _, _, _ := plasticityRun(t, 10, 3000)
	if a == c {
		t.Error("different seeds, identical stats")
	}
}

func TestPlasticitySimValidate(t *testing.T) {
	bad := PlasticityConfig{NPre: 0, NPost: -1, Dt: math.NaN(), STDP: &STDP{}, STP: &STP{U: 2, TauD: 1}, Scaling: &Scaling{}}
	err := bad.Validate()
	for _, f := range []string{"NPre:", "NPost:", "Dt:", "STDP:", "STP:", "Scaling:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate() = %v, want %q", err, f)
		}
	}
	if _, err := NewPlasticitySim(PlasticityConfig{NPre: 2, NPost: 2, Dt: 0.1}, []float64{1, 2, 3}); err == nil || !strings.Contains(err.Error(), "w0:") {
		t.Errorf("short w0: %v", err)
	}
	s, _ := NewPlasticitySim(PlasticityConfig{NPre: 1, NPost: 1, Dt: 0.1}, []float64{1})
	if _, err := s.Run([][]float64{{3, 1}}, [][]float64{{}}, 10); err == nil || !strings.Contains(err.Error(), "sorted") {
		t.Errorf("unsorted train: %v", err)
	}
}

func TestPlasticitySimNoAlloc(t *testing.T) {
	stdp, stp := SongSTDP(1), STP{U: 0.4, TauD: 300, TauF: 100}
	sc := Scaling{Target: 5, Eta: 0.5, TauRate: 1000, Interval: 10}
	w0 := make([]float64, 40)
	for k := range w0 {
		w0[k] = 0.5
	}
	s, err := NewPlasticitySim(PlasticityConfig{NPre: 8, NPost: 5, Dt: 0.1, STDP: &stdp, STP: &stp, Scaling: &sc}, w0)
	if err != nil {
		t.Fatal(err)
	}
	pre := []bool{true, false, false, true, false, true, false, false}
	post := []bool{false, true, false, false, true}
	if a := testing.AllocsPerRun(200, func() { s.Step(pre, post) }); a != 0 {
		t.Errorf("PlasticitySim.Step: %v allocs", a)
	}
}

func ExamplePlasticitySim() {
	stdp := SongSTDP(1)
	stp := STP{U: 0.5, TauD: 500}
	cfg := PlasticityConfig{NPre: 2, NPost: 1, Dt: 0.1, STDP: &stdp, STP: &stp}
	sim, _ := NewPlasticitySim(cfg, []float64{0.5, 0.5})
	// Neuron 0 fires 5 ms before the postsynaptic cell, neuron 1 5 ms after,
	// five times at 10 Hz: W[0] gains ≈ 5·A₊e^(−5/20), W[1] loses ≈
	// 5·A₋e^(−5/20); the 95 ms cross pairings add small updates of both signs
	// (all-to-all interaction). Depression leaves x at 1 − U after each
	// spike, recovering with τ_D = 500 ms.
	var pre0, pre1, post []float64
	for k := range 5 {
		t0 := 10 + 100*float64(k)
		pre0, post, pre1 = append(pre0, t0), append(post, t0+5), append(pre1, t0+10)
	}
	st, _ := sim.Run([][]float64{pre0, pre1}, [][]float64{post}, 500)
	w := sim.Weights()
	fmt.Printf("W = [%.4f %.4f]; %d potentiations, %d depressions\n", w[0], w[1], st.Potentiations, st.Depressions)
	fmt.Printf("mean STP efficacy %.3f over %d presynaptic spikes\n", st.MeanEfficacy, st.PreSpikes)
	// Output:
	// W = [0.5194 0.4796]; 9 potentiations, 9 depressions
	// mean STP efficacy 0.269 over 10 presynaptic spikes
}
