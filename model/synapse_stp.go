package model

import "math"

// STP is the Tsodyks–Markram model of short-term synaptic plasticity
// (Tsodyks & Markram 1997, PNAS 94:719, depression; Markram, Wang & Tsodyks
// 1998, PNAS 95:5323 and Tsodyks, Pawelzik & Markram 1998, Neural Comput
// 10:821, with facilitation). A synapse has available resources x and a
// utilization u:
//
//	dx/dt = (1 − x)/τ_D − u⁺ x δ(t − t_sp)
//	du/dt = −u/τ_F + U(1 − u) δ(t − t_sp)
//
// At a spike u jumps first, u⁺ = u⁻ + U(1 − u⁻), then a fraction u⁺ of the
// resources is released: the PSC/PSP amplitude is A·u⁺x⁻ and x⁺ = x⁻(1 − u⁺).
// Between spikes x recovers and u decays exactly:
// x ← 1 − (1 − x)e^(−Δ/τ_D), u ← u e^(−Δ/τ_F). With τ_F = 0 there is no
// facilitation (u⁺ = U, pure depression). For a regular train at rate r
// (Δ = 1/r) the steady state is
//
//	u* = U / (1 − (1 − U)e^(−Δ/τ_F)),  x* = (1 − e^(−Δ/τ_D)) / (1 − (1 − u*)e^(−Δ/τ_D))
//	PSP* = A u* x*
//
// which for pure depression is Tsodyks & Markram's (1997) eq. 4,
// PSP* = A U (1 − e^(−1/(rτ_D)))/(1 − (1 − U)e^(−1/(rτ_D))), with the limiting
// frequency r·PSP* → A/τ_D at high rates. Time in ms, rates in Hz.
type STP struct {
	U    float64 // utilization increment / baseline release probability, (0, 1]
	TauD float64 // recovery (depression) time constant, ms (> 0)
	TauF float64 // facilitation time constant, ms (≥ 0; 0 = none)
}

// Validate reports every invalid parameter.
func (p STP) Validate() error {
	var c paramCheck
	if !isFiniteNum(p.U) || p.U <= 0 || p.U > 1 {
		c.addf("U: must be in (0, 1], got %v", p.U)
	}
	c.pos("TauD", p.TauD)
	c.nonneg("TauF", p.TauF)
	return c.err()
}

// SteadyState returns u*, x* and the efficacy u*x* (PSP amplitude for
// A = 1) for a regular presynaptic train at rate Hz.
func (p STP) SteadyState(rate float64) (u, x, eff float64) {
	delta := 1000 / rate
	u = p.U
	if p.TauF > 0 {
		u = p.U / (1 - (1-p.U)*math.Exp(-delta/p.TauF))
	}
	ed := math.Exp(-delta / p.TauD)
	x = (1 - ed) / (1 - (1-u)*ed)
	return u, x, u * x
}

// STPBank holds the state of n Tsodyks–Markram synapses as plain slices and
// updates them event by event: the state is advanced exactly from the
// synapse's previous spike, so there is no per-step cost.
type STPBank struct {
	p    STP
	U, X []float64 // utilization (after the last spike, decaying) and resources (after the last spike)
	Last []float64 // time of each synapse's last spike, ms (−Inf: none)
	// Released accumulates Σ u⁺x⁻ over all spikes, Spikes counts them.
	Released float64
	Spikes   int
}

// NewSTPBank validates p and returns n synapses at rest (x = 1, u = 0).
func NewSTPBank(p STP, n int) (*STPBank, error) {
	var c paramCheck
	if err := p.Validate(); err != nil {
		c.errs = append(c.errs, err)
	}
	if n < 0 {
		c.addf("n: must be ≥ 0, got %d", n)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	b := &STPBank{p: p, U: make([]float64, n), X: make([]float64, n), Last: make([]float64, n)}
	b.Reset()
	return b, nil
}

// Params returns the model parameters.
func (b *STPBank) Params() STP { return b.p }

// Len returns the number of synapses.
func (b *STPBank) Len() int { return len(b.X) }

// Reset returns every synapse to rest.
func (b *STPBank) Reset() {
	for i := range b.X {
		b.U[i], b.X[i], b.Last[i] = 0, 1, math.Inf(-1)
	}
	b.Released, b.Spikes = 0, 0
}

// Spike registers a presynaptic spike of synapse i at time t (ms, not
// before its previous spike) and returns its efficacy u⁺x⁻ (multiply by the
// absolute strength A, or a weight, for the PSC amplitude).
func (b *STPBank) Spike(i int, t float64) float64 {
	p := &b.p
	u, x := b.U[i], b.X[i]
	if last := b.Last[i]; !math.IsInf(last, -1) {
		d := t - last
		x = 1 - (1-x)*math.Exp(-d/p.TauD)
		if p.TauF > 0 {
			u *= math.Exp(-d / p.TauF)
		} else {
			u = 0
		}
	}
	u += p.U * (1 - u)
	eff := u * x
	b.U[i], b.X[i], b.Last[i] = u, x-eff, t
	b.Released += eff
	b.Spikes++
	return eff
}

// Resources returns synapse i's available resources x at time t (≥ its
// last spike), recovered since that spike.
func (b *STPBank) Resources(i int, t float64) float64 {
	if math.IsInf(b.Last[i], -1) {
		return b.X[i]
	}
	return 1 - (1-b.X[i])*math.Exp(-(t-b.Last[i])/b.p.TauD)
}

// Utilization returns synapse i's utilization u at time t (≥ its last
// spike).
func (b *STPBank) Utilization(i int, t float64) float64 {
	if math.IsInf(b.Last[i], -1) {
		return b.U[i]
	}
	if b.p.TauF == 0 {
		return 0
	}
	return b.U[i] * math.Exp(-(t-b.Last[i])/b.p.TauF)
}
