package sim

import "math"

// condPeriod is the number of steps between two renormalisations of the
// lazily decayed conductances (condScale). ae^condPeriod must stay far
// from underflow: newCondScale declines decays faster than that allows.
const condPeriod = 1024

// condScale keeps the conductances of lif-cond populations lazily decayed.
// Between synaptic events g_s(t) = g_s(t−1)·a_s with a_s = e^{−dt/τ_s}, so
// the engine stores g̃_s = g_s / S_s(t) with S_s(t) = a_s^{t mod P}
// (P = condPeriod) and never rewrites the state to decay it: the factor
// S_s(t) is folded into the step's kernel coefficients (xe·S_e, xi·S_i,
// yi·S_i, see popRT), and a weight w arriving at step t is stored as
// w·(1/S_s(t)). Every P steps the state is renormalised,
// g̃_s ← g̃_s·a_s^P, and S_s restarts at 1. This is the same exponential
// synapse (Brette et al. 2007, benchmark 1) with the products rounded in
// another order: the conductance the kernel sees differs from the eager
// g·a·a·… by a relative O(P·ε). It saves the kernel two stores and two
// products per neuron and step.
//
// It applies while the vector kernels run and every population that holds
// synaptic state (neither poisson nor delta-synapse) is lif-cond with the
// same τ_e and τ_i: the factors are then one per receptor, whatever
// population a merged projection's targets lie in.
type condScale struct {
	pe, pi     []float64 // S_e(k) = a_e^k, S_i(k) = a_i^k for k < P (repeated products)
	inve, invi []float64 // 1/S_e(k), 1/S_i(k)
	re, ri     float64   // a_e^P, a_i^P (S(P−1)·a)
}

// newCondScale returns the factors for pops, or nil when the conductances
// must be stored decayed.
func newCondScale(pops []popRT) *condScale {
	var ae, ai float64
	found := false
	for _, c := range pops {
		switch c.kind {
		case kindPoisson, kindLIFDelta:
			continue
		case kindLIFCond:
		default:
			return nil
		}
		if found && (c.ae != ae || c.ai != ai) {
			return nil
		}
		ae, ai, found = c.ae, c.ai, true
	}
	// a^P ≥ 2^−600 keeps 1/S ≤ 2^600 and the stored state far from
	// overflow and underflow.
	const floor = 0x1p-600
	if !found || !(ae > 0 && ai > 0 && ae <= 1 && ai <= 1) ||
		math.Pow(ae, condPeriod) < floor || math.Pow(ai, condPeriod) < floor {
		return nil
	}
	sc := &condScale{
		pe: make([]float64, condPeriod), pi: make([]float64, condPeriod),
		inve: make([]float64, condPeriod), invi: make([]float64, condPeriod),
	}
	se, si := 1.0, 1.0
	for k := range condPeriod {
		sc.pe[k], sc.pi[k] = se, si
		sc.inve[k], sc.invi[k] = 1/se, 1/si
		se, si = se*ae, si*ai
	}
	sc.re, sc.ri = se, si
	return sc
}

// scaling returns the conductance factors in force, or nil.
func (e *engine) scaling() *condScale {
	if e.simd {
		return e.scaled
	}
	return nil
}

// renormalize multiplies the stored state of neurons [lo, hi) by a^P:
// S restarts at 1 (step t with t mod P = 0).
func (sc *condScale) renormalize(e *engine, lo, hi int) {
	se, si := e.se[lo:hi], e.si[lo:hi]
	si = si[:len(se)]
	re, ri := sc.re, sc.ri
	for i := range se {
		se[i], si[i] = se[i]*re, si[i]*ri
	}
}

// coefficients sets k to the kernel coefficients of population c at
// k = t mod P.
func (sc *condScale) coefficients(k *cobaK, c *popRT, step int) {
	*k = c.simd.coba
	k.xe = q4(c.xe * sc.pe[step])
	k.xi = q4(c.xi * sc.pi[step])
	k.yi = q4(c.yi * sc.pi[step])
}

// synState returns the synaptic state of receptor r (0 excitatory, 1
// inhibitory) of neuron i before step t: the conductance (nS) or current
// (pA), the scaling undone.
func (e *engine) synState(r, i int, t int64) float64 {
	g, s := e.se[i], 1.0
	if r != 0 {
		g = e.si[i]
	}
	if sc := e.scaling(); sc != nil {
		k := int(t % condPeriod)
		if k == 0 && t > 0 {
			s = sc.re
			if r != 0 {
				s = sc.ri
			}
		} else if r == 0 {
			s = sc.pe[k]
		} else {
			s = sc.pi[k]
		}
	}
	return g * s
}

// synFactor returns the factor from a conductance that enters the state
// before step t to the stored state of receptor r.
func (e *engine) synFactor(r int, t int64) float64 {
	sc := e.scaling()
	if sc == nil {
		return 1
	}
	k := int(t % condPeriod)
	if k == 0 && t > 0 {
		// The state is renormalised at the start of step t: an input added
		// before it is scaled with it.
		if r == 0 {
			return 1 / sc.re
		}
		return 1 / sc.ri
	}
	if r == 0 {
		return sc.inve[k]
	}
	return sc.invi[k]
}
