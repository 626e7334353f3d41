package sim

import (
	"math"
	"slices"
)

// stpRT is the run-time state of a projection's Tsodyks–Markram
// short-term plasticity (see ProjectionSTP). Every partition delivers every
// presynaptic spike to its own targets, so each keeps its own copy of the
// per-neuron state and advances it identically: no sharing between
// threads, and the efficacies are the same whatever the thread count.
type stpRT struct {
	u0             float64 // U
	invRec, invFac float64 // dt/τ_rec, dt/τ_facil (0: no facilitation)
	facil          bool
	// st[p] holds partition p's copy: u, x and the step of the last
	// spike (−1: none) of each presynaptic neuron.
	st []stpState
}

type stpState struct {
	u, x []float64
	last []int64
}

// newSTPRT returns the state of nsrc presynaptic neurons at rest (x = 1,
// u = 0) for parts partitions and step dt (ms).
func newSTPRT(c *ProjectionSTP, nsrc, parts int, dt float64) *stpRT {
	s := &stpRT{u0: c.U, invRec: dt / c.TauRecMs, facil: c.TauFacilMs > 0, st: make([]stpState, parts)}
	if s.facil {
		s.invFac = dt / c.TauFacilMs
	}
	for p := range s.st {
		st := stpState{u: make([]float64, nsrc), x: make([]float64, nsrc), last: make([]int64, nsrc)}
		for i := range st.x {
			st.x[i], st.last[i] = 1, -1
		}
		s.st[p] = st
	}
	return s
}

// spike registers a spike of presynaptic neuron i at step ts in partition
// p's copy and returns its efficacy u⁺x⁻ (model.STPBank.Spike).
func (s *stpRT) spike(p, i int, ts int64) float64 {
	st := &s.st[p]
	u, x := st.u[i], st.x[i]
	if last := st.last[i]; last >= 0 {
		d := float64(ts - last)
		x = 1 - (1-x)*math.Exp(-d*s.invRec)
		if s.facil {
			u *= math.Exp(-d * s.invFac)
		} else {
			u = 0
		}
	}
	u += s.u0 * (1 - u)
	eff := u * x
	st.u[i], st.x[i], st.last[i] = u, x-eff, ts
	return eff
}

// stdpRT is the run-time state of a projection's STDP (see
// ProjectionSTDP); the weights are the projection's wts. Traces are kept
// as their value just after the neuron's last spike and that step (−1:
// none), and decayed exactly when read. Partition p keeps its own copy of
// the presynaptic traces (advanced identically by every partition, as
// stpRT) and owns the postsynaptic traces and the weights of the synapses
// onto its neurons, so threads share no written state.
type stdpRT struct {
	aPlus, aMinus, wMax float64
	kPlus, kMinus       float64 // dt/τ₊, dt/τ₋
	toLo, toHi          int32   // postsynaptic neurons (global indices)
	np                  int     // stride of split (threads + 1)
	split               []int32 // the projection's split (row starts at r·np)
	nsrc                int
	// Transposed index: the synapses onto postsynaptic neuron i (local)
	// are in[inPtr[i]:inPtr[i+1]].
	inPtr, in []int32
	x         [][]float64 // x[p][j]: presynaptic traces of partition p's copy
	xLast     [][]int64
	y         []float64 // postsynaptic traces
	yLast     []int64
}

// newSTDPRT builds the STDP state of projection pr onto the nTo neurons
// from toLo, for parts partitions and step dt (ms).
func newSTDPRT(c *ProjectionSTDP, pr *projRT, toLo int32, nTo, parts int, dt float64) *stdpRT {
	nsrc := int(pr.srcHi - pr.srcLo)
	s := &stdpRT{aPlus: c.APlus, aMinus: c.AMinus, wMax: c.WMax, kPlus: dt / c.TauPlusMs, kMinus: dt / c.TauMinusMs,
		toLo: toLo, toHi: toLo + int32(nTo), np: parts + 1, split: pr.split, nsrc: nsrc,
		inPtr: make([]int32, nTo+1), in: make([]int32, len(pr.tgt)),
		x: make([][]float64, parts), xLast: make([][]int64, parts), y: make([]float64, nTo), yLast: make([]int64, nTo)}
	for _, j := range pr.tgt {
		s.inPtr[j-toLo+1]++
	}
	for i := range nTo {
		s.inPtr[i+1] += s.inPtr[i]
	}
	fill := slices.Clone(s.inPtr[:nTo])
	for k, j := range pr.tgt { // ascending k: each neuron's synapses in row order
		s.in[fill[j-toLo]] = int32(k)
		fill[j-toLo]++
	}
	for p := range parts {
		s.x[p] = make([]float64, nsrc)
		s.xLast[p] = make([]int64, nsrc)
		for j := range s.xLast[p] {
			s.xLast[p][j] = -1
		}
	}
	for i := range s.yLast {
		s.yLast[i] = -1
	}
	return s
}

// row returns the presynaptic row (local index) of synapse k.
func (s *stdpRT) row(k int32) int {
	lo, hi := 0, s.nsrc-1 // the last row r with split[r·np] ≤ k
	for lo < hi {
		m := (lo + hi + 1) / 2
		if s.split[m*s.np] <= k {
			lo = m
		} else {
			hi = m - 1
		}
	}
	return lo
}

// clip bounds a weight to [0, w_max].
func (s *stdpRT) clip(w float64) float32 { return float32(min(s.wMax, max(0, w))) }

// depress registers the spike of presynaptic neuron j at step ts in
// partition p's copy and applies depression to its synapses ws onto the
// targets tgt (partition p's): ΔW = −A₋·y_i(ts), post spikes before ts.
func (s *stdpRT) depress(p, j int, ts int64, tgt []int32, ws []float32) {
	for k, i := range tgt {
		li := i - s.toLo
		var y float64
		switch l := s.yLast[li]; {
		case l < 0:
		case l == ts:
			y = s.y[li] - 1 // the trace just before this step's spike
		default:
			y = s.y[li] * math.Exp(-float64(ts-l)*s.kMinus)
		}
		ws[k] = s.clip(float64(ws[k]) - s.aMinus*y)
	}
	x, l := s.x[p][j], s.xLast[p][j]
	if l >= 0 {
		x *= math.Exp(-float64(ts-l) * s.kPlus)
	}
	s.x[p][j], s.xLast[p][j] = x+1, ts
}

// potentiate applies STDP potentiation for the spikes spk of partition p
// at step t to every projection with STDP: each synapse j→i onto a spiking
// neuron i gains A₊·x_j(t) (pre spikes up to t−1, delivered at the start
// of this step), then i's postsynaptic trace takes the spike.
func (e *engine) potentiate(p int, spk []int32, t int64) {
	for r := range e.projs {
		pr := &e.projs[r]
		s := pr.stdp
		if s == nil {
			continue
		}
		x, xl := s.x[p], s.xLast[p]
		for _, i := range spk {
			if i < s.toLo || i >= s.toHi {
				continue
			}
			li := i - s.toLo
			for _, k := range s.in[s.inPtr[li]:s.inPtr[li+1]] {
				j := s.row(k)
				if l := xl[j]; l >= 0 {
					pr.wts[k] = s.clip(float64(pr.wts[k]) + s.aPlus*x[j]*math.Exp(-float64(t-l)*s.kPlus))
				}
			}
			y := 0.0
			if l := s.yLast[li]; l >= 0 {
				y = s.y[li] * math.Exp(-float64(t-l)*s.kMinus)
			}
			s.y[li], s.yLast[li] = y+1, t
		}
	}
}

// deliverPlastic is deliver for a projection with short-term plasticity
// or STDP. With STP each spike of the previous step (emitted at step t−1)
// scales the weights of its synapses by its efficacy u·x; with STDP the
// synapses transmit with their current weights, then depress. Every spike
// of the source range updates the presynaptic state, also when partition p
// holds none of its targets.
func (e *engine) deliverPlastic(pr *projRT, p int, t, prev int64, sE, sI float64) {
	np := e.threads + 1
	n := e.n
	ns := e.nslot
	base := int((t - 1) % int64(ns)) // slot of delay 0
	row, f := e.destination(pr, base, sE, sI)
	buf := e.buf[pr.rec]
	split, tgt := pr.split, pr.tgt
	for q := range e.parts {
		list := e.parts[q].spk[prev]
		if len(list) == 0 || list[0] >= pr.srcHi || list[len(list)-1] < pr.srcLo {
			continue
		}
		k0, _ := slices.BinarySearch(list, pr.srcLo)
		for _, s := range list[k0:] {
			if s >= pr.srcHi {
				break
			}
			g := 1.0
			if pr.stp != nil {
				g = pr.stp.spike(p, int(s-pr.srcLo), t-1)
			}
			r := int(s-pr.srcLo) * np
			a, b := split[r+p], split[r+p+1]
			switch {
			case a == b:
			case row != nil && pr.wts == nil:
				addConst(row, tgt[a:b], pr.w*g*f)
			case row != nil:
				addWeights(row, tgt[a:b], pr.wts[a:b], g*f)
			default:
				dl := pr.dl[a:b]
				for k, j := range tgt[a:b] {
					sl := base + int(dl[k])
					if sl >= ns {
						sl -= ns
					}
					w := pr.w
					if pr.wts != nil {
						w = float64(pr.wts[int(a)+k])
					}
					buf[sl*n+int(j)] += w * g
				}
			}
			if pr.stdp != nil {
				pr.stdp.depress(p, int(s-pr.srcLo), t-1, tgt[a:b], pr.wts[a:b])
			}
		}
	}
}
