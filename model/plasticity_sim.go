package model

import (
	"fmt"
	"math"
	"slices"
)

// PlasticityConfig configures a PlasticitySim. A nil mechanism is off.
type PlasticityConfig struct {
	NPre, NPost int
	Dt          float64  // step, ms
	STDP        *STDP    // long-term, spike-timing dependent
	STP         *STP     // short-term (Tsodyks–Markram), per presynaptic neuron
	Scaling     *Scaling // homeostatic scaling of each neuron's inputs
}

// Validate reports every invalid field.
func (c PlasticityConfig) Validate() error {
	var pc paramCheck
	if c.NPre <= 0 {
		pc.addf("NPre: must be > 0, got %d", c.NPre)
	}
	if c.NPost <= 0 {
		pc.addf("NPost: must be > 0, got %d", c.NPost)
	}
	if !isFiniteNum(c.Dt) || c.Dt <= 0 {
		pc.addf("Dt: must be finite and > 0, got %v", c.Dt)
	}
	if c.STDP != nil {
		if err := c.STDP.Validate(); err != nil {
			pc.addf("STDP: %w", err)
		}
	}
	if c.STP != nil {
		if err := c.STP.Validate(); err != nil {
			pc.addf("STP: %w", err)
		}
	}
	if c.Scaling != nil {
		if err := c.Scaling.Validate(); err != nil {
			pc.addf("Scaling: %w", err)
		}
	}
	return pc.err()
}

// PlasticityStats reports what each mechanism of a PlasticitySim did.
type PlasticityStats struct {
	Duration              float64 // simulated time, ms
	PreSpikes, PostSpikes int

	// Weights (all mechanisms together), over all synapses.
	MeanW, SDW   float64 // current weights
	MeanDW, SDDW float64 // change since the start, W − W₀

	// STDP: number and summed size of potentiating and depressing updates.
	Potentiations, Depressions     int
	PotentiationSum, DepressionSum float64

	// Short-term plasticity: mean efficacy u⁺x⁻ per presynaptic spike (1
	// without STP), resources released in total, and mean available
	// resources x across presynaptic neurons now (1 without STP).
	MeanEfficacy, Released, MeanResources float64

	// Homeostatic scaling: updates applied, mean over postsynaptic neurons
	// of the most recent factor and of the cumulative product of factors,
	// and the mean estimated rate (Hz).
	ScalingUpdates         int
	LastFactor, Cumulative float64
	MeanRateEstimate       float64
}

// PlasticitySim applies STDP, Tsodyks–Markram short-term plasticity and
// homeostatic synaptic scaling together to a row-major weight matrix
// W[i*NPre + j] (postsynaptic i, presynaptic j), driven step by step by
// presynaptic and postsynaptic spikes.
//
// One step of length Dt is Presynaptic (the STDP traces decay; each spiking
// presynaptic neuron j releases efficacy e_j = u⁺x⁻ (1 without STP) and
// delivers the drive Σ_j W_ij e_j to every postsynaptic neuron i; STDP
// depresses W_ij by A₋f₋(W)y_i) followed by Postsynaptic (STDP potentiates
// W_ij by A₊f₊(W)x_j for each spiking i; the rate estimates are updated and,
// every Scaling.Interval, each row is scaled by (r_target/r_i)^η). Calling
// the two halves separately closes the loop through a neuron model: compute
// postsynaptic spikes from the drive, then pass them to Postsynaptic. Step
// does both for given spike trains. No allocation per step.
type PlasticitySim struct {
	cfg    PlasticityConfig
	w, w0  []float64
	stdp   *STDPBank
	stp    *STPBank
	scale  *ScalingBank
	drive  []float64
	t      float64
	nPre   int
	nPost  int
	effSum float64 // Σ efficacy over presynaptic spikes
	nSteps int

	preCount, postCount int
}

// NewPlasticitySim validates cfg and copies the initial weights w0 (len
// NPre·NPost, finite, ≥ 0).
func NewPlasticitySim(cfg PlasticityConfig, w0 []float64) (*PlasticitySim, error) {
	var pc paramCheck
	if err := cfg.Validate(); err != nil {
		pc.errs = append(pc.errs, err)
	} else if len(w0) != cfg.NPre*cfg.NPost {
		pc.addf("w0: length %d, want NPre·NPost = %d", len(w0), cfg.NPre*cfg.NPost)
	}
	for k, v := range w0 {
		if !isFiniteNum(v) || v < 0 {
			pc.addf("w0[%d]: must be finite and ≥ 0, got %v", k, v)
			break
		}
	}
	if err := pc.err(); err != nil {
		return nil, err
	}
	s := &PlasticitySim{cfg: cfg, w: slices.Clone(w0), w0: slices.Clone(w0),
		drive: make([]float64, cfg.NPost), nPre: cfg.NPre, nPost: cfg.NPost}
	var err error
	if cfg.STDP != nil {
		if s.stdp, err = NewSTDPBank(*cfg.STDP, cfg.NPre, cfg.NPost, cfg.Dt); err != nil {
			return nil, fmt.Errorf("STDP: %w", err)
		}
	}
	if cfg.STP != nil {
		if s.stp, err = NewSTPBank(*cfg.STP, cfg.NPre); err != nil {
			return nil, fmt.Errorf("STP: %w", err)
		}
	}
	if cfg.Scaling != nil {
		if s.scale, err = NewScalingBank(*cfg.Scaling, cfg.NPre, cfg.NPost, cfg.Dt); err != nil {
			return nil, fmt.Errorf("Scaling: %w", err)
		}
	}
	return s, nil
}

// Weights returns the live weight matrix (row-major, owned by the sim).
func (s *PlasticitySim) Weights() []float64 { return s.w }

// Time returns the simulated time, ms.
func (s *PlasticitySim) Time() float64 { return s.t }

// Presynaptic advances time by Dt and processes this step's presynaptic
// spikes (len NPre). It returns the drive per postsynaptic neuron (owned by
// the sim, valid until the next call), in weight units.
func (s *PlasticitySim) Presynaptic(pre []bool) []float64 {
	mustSameLen("PlasticitySim.Presynaptic", s.nPre, len(pre))
	s.nSteps++
	s.t = float64(s.nSteps) * s.cfg.Dt
	clear(s.drive)
	if s.stdp != nil {
		s.stdp.Decay()
	}
	np := s.nPre
	for j, sp := range pre {
		if !sp {
			continue
		}
		e := 1.0
		if s.stp != nil {
			e = s.stp.Spike(j, s.t)
		}
		s.effSum += e
		s.preCount++
		for i := range s.drive {
			s.drive[i] += s.w[i*np+j] * e
		}
	}
	if s.stdp != nil {
		s.stdp.Pre(s.w, pre)
	}
	return s.drive
}

// Postsynaptic processes this step's postsynaptic spikes (len NPost).
func (s *PlasticitySim) Postsynaptic(post []bool) {
	mustSameLen("PlasticitySim.Postsynaptic", s.nPost, len(post))
	for _, sp := range post {
		if sp {
			s.postCount++
		}
	}
	if s.stdp != nil {
		s.stdp.Post(s.w, post)
	}
	if s.scale != nil {
		s.scale.Step(s.w, post)
	}
}

// Step runs Presynaptic then Postsynaptic and returns the drive.
func (s *PlasticitySim) Step(pre, post []bool) []float64 {
	d := s.Presynaptic(pre)
	s.Postsynaptic(post)
	return d
}

// Stats summarizes the run so far.
func (s *PlasticitySim) Stats() PlasticityStats {
	st := PlasticityStats{Duration: s.t, PreSpikes: s.preCount, PostSpikes: s.postCount, Released: s.effSum}
	st.MeanW, st.SDW = weightMeanSD(s.w, nil)
	st.MeanDW, st.SDDW = weightMeanSD(s.w, s.w0)
	st.MeanEfficacy, st.MeanResources = 1, 1
	if s.preCount > 0 {
		st.MeanEfficacy = s.effSum / float64(s.preCount)
	}
	if s.stp != nil {
		var x float64
		for j := range s.nPre {
			x += s.stp.Resources(j, s.t)
		}
		st.MeanResources = x / float64(s.nPre)
	}
	if s.stdp != nil {
		st.Potentiations, st.Depressions = s.stdp.Potentiations, s.stdp.Depressions
		st.PotentiationSum, st.DepressionSum = s.stdp.PotSum, s.stdp.DepSum
	}
	st.LastFactor, st.Cumulative = 1, 1
	if s.scale != nil {
		st.ScalingUpdates = s.scale.Updates
		st.LastFactor, _ = weightMeanSD(s.scale.LastFactor, nil)
		st.Cumulative, _ = weightMeanSD(s.scale.Cumulative, nil)
		st.MeanRateEstimate, _ = weightMeanSD(s.scale.Rate, nil)
	}
	return st
}

// Run drives the sim with given spike trains (pre[j], post[i]: sorted spike
// times in ms, len NPre and NPost) from its current time until t1; a spike
// at time t falls in the step ending at the first grid time ≥ t. It returns
// the statistics at t1.
func (s *PlasticitySim) Run(pre, post [][]float64, t1 float64) (PlasticityStats, error) {
	var pc paramCheck
	if len(pre) != s.nPre {
		pc.addf("pre: %d trains, want %d", len(pre), s.nPre)
	}
	if len(post) != s.nPost {
		pc.addf("post: %d trains, want %d", len(post), s.nPost)
	}
	if !isFiniteNum(t1) || t1 < s.t {
		pc.addf("t1: %v before the current time %v", t1, s.t)
	}
	for _, trains := range [][][]float64{pre, post} {
		for k, tr := range trains {
			if !slices.IsSorted(tr) {
				pc.addf("train %d: spike times not sorted", k)
			}
		}
	}
	if err := pc.err(); err != nil {
		return PlasticityStats{}, err
	}
	preIdx, postIdx := make([]int, s.nPre), make([]int, s.nPost)
	for j, tr := range pre {
		preIdx[j], _ = slices.BinarySearch(tr, s.t+1e-12)
	}
	for i, tr := range post {
		postIdx[i], _ = slices.BinarySearch(tr, s.t+1e-12)
	}
	pb, qb := make([]bool, s.nPre), make([]bool, s.nPost)
	fill := func(dst []bool, trains [][]float64, idx []int, tEnd float64) {
		for k, tr := range trains {
			dst[k] = false
			for idx[k] < len(tr) && tr[idx[k]] <= tEnd {
				dst[k] = true // several spikes in one step count once
				idx[k]++
			}
		}
	}
	steps := int(math.Round((t1 - s.t) / s.cfg.Dt))
	for range steps {
		tEnd := float64(s.nSteps+1) * s.cfg.Dt
		fill(pb, pre, preIdx, tEnd)
		fill(qb, post, postIdx, tEnd)
		s.Step(pb, qb)
	}
	return s.Stats(), nil
}

// weightMeanSD returns the mean and SD of a − b (b nil: of a).
func weightMeanSD(a, b []float64) (mean, sd float64) {
	if len(a) == 0 {
		return 0, 0
	}
	var m, m2 float64
	for k, v := range a {
		if b != nil {
			v -= b[k]
		}
		d := v - m
		m += d / float64(k+1)
		m2 += d * (v - m)
	}
	return m, math.Sqrt(m2 / float64(len(a)))
}
