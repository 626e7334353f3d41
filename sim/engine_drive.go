package sim

import (
	"fmt"
	"math"
)

// AddInput adds w[j] to the synaptic state of receptor r (the current, pA,
// of a lif population with exponential synapses; the conductance, nS ≥ 0,
// of a lif-cond one) of neuron first+j, as if spikes of those total weights
// arrived at the next step simulated: the input of an afferent drive that
// the caller computes itself (MotorNet's velocity-tuned Poisson input).
// It returns an error for a range outside the network, a range touching a
// poisson or delta-synapse population, or a negative conductance. Call it
// between calls to Advance, from the goroutine advancing the network; it
// does not allocate.
func (nw *Network) AddInput(r Receptor, first int, w []float64) error {
	e := nw.e
	if first < 0 || first > e.n-len(w) {
		return fmt.Errorf("sim: add input: neurons [%d, %d) not within [0, %d)", first, first+len(w), e.n)
	}
	if r != Exc && r != Inh {
		return fmt.Errorf("sim: add input: receptor must be exc or inh, got %q", r)
	}
	hi := int32(first + len(w))
	for k := range e.pops {
		c := &e.pops[k]
		if c.hi <= int32(first) || c.lo >= hi {
			continue
		}
		a, b := max(int(c.lo), first)-first, min(int(c.hi), int(hi))-first
		switch c.kind {
		case kindPoisson, kindLIFDelta:
			return fmt.Errorf("sim: add input: population %q takes no synaptic-state input", e.cfg.Populations[k].Name)
		case kindLIFCond:
			for j, x := range w[a:b] {
				if !(x >= 0 && x <= math.MaxFloat64) {
					return fmt.Errorf("sim: add input: %v nS into neuron %d is not a finite conductance ≥ 0", x, first+a+j)
				}
			}
		default:
			for j, x := range w[a:b] {
				if !finite(x) {
					return fmt.Errorf("sim: add input: %v pA into neuron %d is not finite", x, first+a+j)
				}
			}
		}
	}
	dst, rec := e.se, 0
	if r == Inh {
		dst, rec = e.si, 1
	}
	dst = dst[first:hi]
	f := e.synFactor(rec, e.step.Load()) // the state may be stored scaled (condScale)
	for j, x := range w[:len(dst)] {
		dst[j] += x * f
	}
	return nil
}
