package model

import "math"

// Scaling is homeostatic synaptic scaling (Turrigiano et al. 1998, Nature
// 391:892; van Rossum, Bi & Turrigiano 2000, J Neurosci 20:8812): each
// postsynaptic neuron estimates its rate r with an exponential filter of
// time constant τ_r,
//
//	r(t) = Σ_k (1/τ_r) e^(−(t − t_k)/τ_r)
//
// and every Interval multiplies all of its incoming weights by
//
//	W ← W · (r_target / r)^η
//
// (capped to [1/MaxFactor, MaxFactor] per update), which scales the whole
// input up or down multiplicatively, preserving relative weights, until
// the rate is back at the target.
type Scaling struct {
	Target    float64 // target rate, Hz (> 0)
	Eta       float64 // exponent η in (0, 1]
	TauRate   float64 // rate estimator time constant, ms (> 0)
	Interval  float64 // ms between updates (> 0)
	MaxFactor float64 // cap on one update's factor (> 1; 0 means 2)
}

// Validate reports every invalid parameter.
func (p Scaling) Validate() error {
	var c paramCheck
	c.pos("Target", p.Target)
	if !isFiniteNum(p.Eta) || p.Eta <= 0 || p.Eta > 1 {
		c.addf("Eta: must be in (0, 1], got %v", p.Eta)
	}
	c.pos("TauRate", p.TauRate)
	c.pos("Interval", p.Interval)
	if p.MaxFactor != 0 && (!isFiniteNum(p.MaxFactor) || p.MaxFactor <= 1) {
		c.addf("MaxFactor: must be > 1 (or 0 for the default 2), got %v", p.MaxFactor)
	}
	return c.err()
}

// Factor returns the multiplicative update (r_target/r)^η for an estimated
// rate r (Hz), capped to [1/MaxFactor, MaxFactor].
func (p Scaling) Factor(r float64) float64 {
	mx := p.MaxFactor
	if mx == 0 {
		mx = 2
	}
	if r <= 0 {
		return mx
	}
	return math.Min(mx, math.Max(1/mx, math.Pow(p.Target/r, p.Eta)))
}

// ScalingBank holds the rate estimates of nPost neurons and applies Scaling
// to a row-major weight matrix W[i*nPre + j] at fixed steps.
type ScalingBank struct {
	p           Scaling
	dt, decay   float64
	jump        float64 // Hz added per spike: 1000/τ_r
	nPre, nPost int
	steps       int
	every       int       // steps between updates
	Rate        []float64 // estimated rates, Hz
	LastFactor  []float64 // factor of the most recent update per neuron
	Cumulative  []float64 // product of all factors per neuron
	Updates     int       // number of updates applied
}

// NewScalingBank validates p and dt (0 < dt ≤ Interval and ≤ τ_r/10). The
// rate estimates start at the target (no initial transient scaling).
func NewScalingBank(p Scaling, nPre, nPost int, dt float64) (*ScalingBank, error) {
	var c paramCheck
	if err := p.Validate(); err != nil {
		c.errs = append(c.errs, err)
	} else {
		c.step(dt, math.Min(p.Interval, p.TauRate/10), "the update interval and τ_r/10")
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
	b := &ScalingBank{p: p, dt: dt, decay: math.Exp(-dt / p.TauRate), jump: 1000 / p.TauRate,
		nPre: nPre, nPost: nPost, every: max(1, int(math.Round(p.Interval/dt))),
		Rate: make([]float64, nPost), LastFactor: make([]float64, nPost), Cumulative: make([]float64, nPost)}
	for i := range b.Rate {
		b.Rate[i], b.LastFactor[i], b.Cumulative[i] = p.Target, 1, 1
	}
	return b, nil
}

// Params returns the rule.
func (b *ScalingBank) Params() Scaling { return b.p }

// Step updates the rate estimates with this step's postsynaptic spikes and,
// every Interval, scales each row of w. It reports whether an update was
// applied. No allocation.
func (b *ScalingBank) Step(w []float64, post []bool) bool {
	mustSameLen("ScalingBank.Step", b.nPost, len(post))
	mustSameLen("ScalingBank.Step weights", b.nPre*b.nPost, len(w))
	d, jump := b.decay, b.jump
	for i, sp := range post {
		r := b.Rate[i] * d
		if sp {
			r += jump
		}
		b.Rate[i] = r
	}
	b.steps++
	if b.steps%b.every != 0 {
		return false
	}
	for i := range b.nPost {
		f := b.p.Factor(b.Rate[i])
		row := w[i*b.nPre : (i+1)*b.nPre]
		for j := range row {
			row[j] *= f
		}
		b.LastFactor[i] = f
		b.Cumulative[i] *= f
	}
	b.Updates++
	return true
}
