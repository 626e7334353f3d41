package model

import "math"

// STDP is pair-based spike-timing-dependent plasticity (Bi & Poo 1998; Song,
// Miller & Abbott 2000, Nat Neurosci 3:919) with the weight dependence of
// Gütig et al. (2003, J Neurosci 23:3697). For a pair with Δt = t_post − t_pre:
//
//	ΔW = A₊ f₊(W) e^(−Δt/τ₊)    for Δt > 0 (pre before post: potentiation)
//	ΔW = −A₋ f₋(W) e^(Δt/τ₋)    for Δt < 0 (post before pre: depression)
//	f₊(W) = (1 − W/W_max)^μ,  f₋(W) = (W/W_max)^μ
//
// μ = 0 is additive STDP (weights clipped to [0, W_max]); μ = 1 is
// multiplicative STDP with soft bounds (van Rossum, Bi & Turrigiano 2000).
// All pairs interact, implemented with traces (Morrison, Diesmann & Gerstner
// 2008, Biol Cybern 98:459): a presynaptic trace x_j (+1 per pre spike,
// decaying with τ₊) read at post spikes, and a postsynaptic trace y_i (+1 per
// post spike, decaying with τ₋) read at pre spikes. For independent Poisson
// trains at rates ν_pre, ν_post the expected drift of additive STDP is
// (Kempter, Gerstner & van Hemmen 1999, Phys Rev E 59:4498)
//
//	⟨dW/dt⟩ = ν_pre ν_post (A₊τ₊ − A₋τ₋).
type STDP struct {
	APlus, AMinus     float64 // amplitudes, weight units (≥ 0)
	TauPlus, TauMinus float64 // window time constants, ms (> 0)
	WMax              float64 // upper weight bound (> 0); the lower bound is 0
	Mu                float64 // weight dependence in [0, 1]
}

// SongSTDP returns the additive rule of Song, Miller & Abbott (2000):
// τ₊ = τ₋ = 20 ms, A₊ = 0.005·W_max, A₋/A₊ = 1.05.
func SongSTDP(wMax float64) STDP {
	return STDP{APlus: 0.005 * wMax, AMinus: 0.00525 * wMax, TauPlus: 20, TauMinus: 20, WMax: wMax}
}

// Validate reports every invalid parameter.
func (p STDP) Validate() error {
	var c paramCheck
	c.nonneg("APlus", p.APlus)
	c.nonneg("AMinus", p.AMinus)
	c.pos("TauPlus", p.TauPlus)
	c.pos("TauMinus", p.TauMinus)
	c.pos("WMax", p.WMax)
	c.unit("Mu", p.Mu)
	return c.err()
}

// fPlus and fMinus are the weight dependences.
func (p STDP) fPlus(w float64) float64 {
	switch p.Mu {
	case 0:
		return 1
	case 1:
		return 1 - w/p.WMax
	}
	return math.Pow(math.Max(0, 1-w/p.WMax), p.Mu)
}

func (p STDP) fMinus(w float64) float64 {
	switch p.Mu {
	case 0:
		return 1
	case 1:
		return w / p.WMax
	}
	return math.Pow(math.Max(0, w/p.WMax), p.Mu)
}

// Window returns the weight change of a single pair with Δt = t_post − t_pre
// (ms) at weight w, without clipping. Δt = 0 gives 0.
func (p STDP) Window(dt, w float64) float64 {
	switch {
	case dt > 0:
		return p.APlus * p.fPlus(w) * math.Exp(-dt/p.TauPlus)
	case dt < 0:
		return -p.AMinus * p.fMinus(w) * math.Exp(dt/p.TauMinus)
	}
	return 0
}

// Drift returns the expected additive-STDP drift ν_pre ν_post (A₊τ₊ − A₋τ₋)
// in weight units per ms, for rates in Hz.
func (p STDP) Drift(preHz, postHz float64) float64 {
	return preHz / 1000 * postHz / 1000 * (p.APlus*p.TauPlus - p.AMinus*p.TauMinus)
}

// clip bounds w to [0, WMax].
func (p STDP) clip(w float64) float64 { return math.Min(p.WMax, math.Max(0, w)) }

// STDPBank applies STDP to a row-major weight matrix W[i*nPre + j]
// (postsynaptic i, presynaptic j) in fixed steps. The traces are plain
// slices. Within a step, presynaptic spikes are processed before
// postsynaptic ones, so a pre and post spike in the same step count as
// pre-before-post with Δt → 0⁺.
type STDPBank struct {
	p             STDP
	nPre, nPost   int
	dt            float64
	dPlus, dMinus float64
	XPre          []float64 // presynaptic traces
	YPost         []float64 // postsynaptic traces

	// Counters of weight updates since construction or ResetCounters.
	Potentiations, Depressions int
	PotSum, DepSum             float64 // Σ|ΔW| of each sign (after clipping)
}

// NewSTDPBank validates p and dt (0 < dt ≤ min(τ₊, τ₋)/10).
func NewSTDPBank(p STDP, nPre, nPost int, dt float64) (*STDPBank, error) {
	var c paramCheck
	if err := p.Validate(); err != nil {
		c.errs = append(c.errs, err)
	} else {
		c.step(dt, math.Min(p.TauPlus, p.TauMinus)/10, "a tenth of the STDP window")
	}
	if nPre <= 0 {
		c.addf("nPre: must be > 0, got %d", nPre)
	}
	if nPost <= 0 {
		c.addf("nPost: must be > 0, got %d", nPost)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return &STDPBank{p: p, nPre: nPre, nPost: nPost, dt: dt,
		dPlus: math.Exp(-dt / p.TauPlus), dMinus: math.Exp(-dt / p.TauMinus),
		XPre: make([]float64, nPre), YPost: make([]float64, nPost)}, nil
}

// Params returns the rule.
func (s *STDPBank) Params() STDP { return s.p }

// Reset zeroes the traces and counters.
func (s *STDPBank) Reset() {
	clear(s.XPre)
	clear(s.YPost)
	s.ResetCounters()
}

// ResetCounters zeroes the update counters.
func (s *STDPBank) ResetCounters() {
	s.Potentiations, s.Depressions, s.PotSum, s.DepSum = 0, 0, 0, 0
}

// Decay advances the traces by one step (call once per step, before Pre).
func (s *STDPBank) Decay() {
	d := s.dPlus
	for j := range s.XPre {
		s.XPre[j] *= d
	}
	d = s.dMinus
	for i := range s.YPost {
		s.YPost[i] *= d
	}
}

// Pre processes presynaptic spikes: depression of column j by A₋f₋(W)y_i
// for every spiking j, then x_j += 1.
func (s *STDPBank) Pre(w []float64, pre []bool) {
	mustSameLen("STDPBank.Pre", s.nPre, len(pre))
	mustSameLen("STDPBank.Pre weights", s.nPre*s.nPost, len(w))
	p := &s.p
	for j, sp := range pre {
		if !sp {
			continue
		}
		for i, y := range s.YPost {
			if y == 0 {
				continue
			}
			k := i*s.nPre + j
			old := w[k]
			nw := p.clip(old - p.AMinus*p.fMinus(old)*y)
			if d := old - nw; d > 0 {
				s.Depressions++
				s.DepSum += d
			}
			w[k] = nw
		}
		s.XPre[j]++
	}
}

// Post processes postsynaptic spikes: potentiation of row i by A₊f₊(W)x_j
// for every spiking i, then y_i += 1.
func (s *STDPBank) Post(w []float64, post []bool) {
	mustSameLen("STDPBank.Post", s.nPost, len(post))
	mustSameLen("STDPBank.Post weights", s.nPre*s.nPost, len(w))
	p := &s.p
	for i, sp := range post {
		if !sp {
			continue
		}
		row := w[i*s.nPre : (i+1)*s.nPre]
		for j, x := range s.XPre {
			if x == 0 {
				continue
			}
			old := row[j]
			nw := p.clip(old + p.APlus*p.fPlus(old)*x)
			if d := nw - old; d > 0 {
				s.Potentiations++
				s.PotSum += d
			}
			row[j] = nw
		}
		s.YPost[i]++
	}
}

// Step is Decay, Pre, Post: one step of STDP for the given spikes. No
// allocation.
func (s *STDPBank) Step(w []float64, pre, post []bool) {
	s.Decay()
	s.Pre(w, pre)
	s.Post(w, post)
}
