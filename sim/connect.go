package sim

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// projRT is a built projection: its synapses in compressed sparse row
// (CSR) form by presynaptic neuron, each row sorted by postsynaptic
// neuron, split by thread partition. Per synapse it stores a 4-byte target
// and, only when they vary, a 4-byte weight and a 2-byte delay: at most 10
// bytes per synapse. Pointer-free but for the slices.
type projRT struct {
	srcLo, srcHi int32   // presynaptic neurons [srcLo, srcHi) (global indices)
	rec          uint8   // 0: excitatory, 1: inhibitory (state and buffer)
	direct       bool    // every delay is one step: add to the synaptic state
	w            float64 // weight of every synapse when wts is nil
	d            int32   // delay in steps of every synapse when dl is nil
	tgt          []int32 // postsynaptic neuron (global index) per synapse
	wts          []float32
	dl           []uint16
	// split[r*(T+1)+p] is the first synapse of row r whose target is in
	// partition p or later; split[r*(T+1)+T] ends the row.
	split []int32
	stp   *stpRT  // short-term plasticity (nil: static synapses)
	stdp  *stdpRT // spike-timing-dependent plasticity (nil: fixed weights)
}

// synapses returns the number of synapses.
func (p *projRT) synapses() int { return len(p.tgt) }

// connector builds one projection's CSR. Rows come out sorted by target:
// generators emit pairs in ascending postsynaptic order (or sort them).
type connector struct {
	nFrom, nTo int
	toLo       int32
	same       bool // From and To are the same population
	autapses   bool
}

// prob draws every (pre, post) pair with probability p by geometric skipping
// (Batagelj & Brandes 2005, Phys Rev E 71:036113): the gap to the next
// target of a row is ⌊ln(1−u)/ln(1−p)⌋, so the cost is proportional to
// the number of synapses, not of pairs.
func (c *connector) prob(rng *rand.Rand, p float64) (rowptr, tgt []int32) {
	rowptr = make([]int32, c.nFrom+1)
	want := p*float64(c.nFrom)*float64(c.nTo) + 6*math.Sqrt(p*float64(c.nFrom)*float64(c.nTo)) + 16
	tgt = make([]int32, 0, int(want))
	lq := math.Log1p(-p)
	for i := range c.nFrom {
		j := -1
		for {
			if p >= 1 {
				j++
			} else {
				skip := math.Floor(math.Log1p(-rng.Float64()) / lq)
				if skip >= float64(c.nTo) {
					break
				}
				j += 1 + int(skip)
			}
			if j >= c.nTo {
				break
			}
			if c.same && !c.autapses && j == i {
				continue
			}
			tgt = append(tgt, c.toLo+int32(j))
		}
		rowptr[i+1] = int32(len(tgt))
	}
	return rowptr, tgt
}

// byPost builds a CSR from a generator that calls emit(pre, post) in
// ascending post order and consumes its random numbers identically on
// every call: it runs twice (count, then fill) from the same seed, so the
// pairs never need to be held in memory at once.
func (c *connector) byPost(gen func(rng *rand.Rand, emit func(pre, post int32)), seed1, seed2 uint64) (rowptr, tgt []int32) {
	count := make([]int32, c.nFrom+1)
	gen(rand.New(rand.NewPCG(seed1, seed2)), func(pre, _ int32) { count[pre+1]++ })
	for i := range c.nFrom {
		count[i+1] += count[i]
	}
	rowptr = count
	pos := slices.Clone(rowptr[:c.nFrom])
	tgt = make([]int32, rowptr[c.nFrom])
	gen(rand.New(rand.NewPCG(seed1, seed2)), func(pre, post int32) {
		tgt[pos[pre]] = c.toLo + post
		pos[pre]++
	})
	return rowptr, tgt
}

// inDegree returns the generator of the fixed in-degree rule: for every
// postsynaptic neuron j, k presynaptic partners uniformly at random,
// distinct (Floyd's algorithm, Bentley & Floyd 1987, Commun ACM 30:754:
// exactly k draws) unless multapses, excluding j itself when From == To
// without autapses.
func (c *connector) inDegree(k int, multapses bool) func(rng *rand.Rand, emit func(pre, post int32)) {
	return func(rng *rand.Rand, emit func(pre, post int32)) {
		avail := c.nFrom
		skipSelf := c.same && !c.autapses
		if skipSelf {
			avail--
		}
		mark := make([]bool, avail)
		chosen := make([]int32, 0, k)
		for j := range c.nTo {
			chosen = chosen[:0]
			if multapses {
				for range k {
					chosen = append(chosen, int32(rng.IntN(avail)))
				}
			} else {
				for r := avail - k; r < avail; r++ {
					t := rng.IntN(r + 1)
					if mark[t] {
						t = r
					}
					mark[t] = true
					chosen = append(chosen, int32(t))
				}
				for _, t := range chosen {
					mark[t] = false
				}
			}
			for _, t := range chosen {
				if skipSelf && int(t) >= j {
					t++
				}
				emit(t, int32(j))
			}
		}
	}
}

// distance returns the generator of the distance rule: (pre, post) with
// probability p·exp(−d²/(2σ²)) for d ≤ 4σ, from the positions xFrom/yFrom
// and xTo/yTo (µm), scanning only grid cells within 4σ.
func (c *connector) distance(p, sigma float64, xFrom, yFrom, xTo, yTo []float64) func(rng *rand.Rand, emit func(pre, post int32)) {
	return func(rng *rand.Rand, emit func(pre, post int32)) {
		cut := 4 * sigma
		// Bucket presynaptic neurons in cells of side cut (indices ascending
		// within a cell).
		var maxX, maxY float64
		for i := range xFrom {
			maxX, maxY = max(maxX, xFrom[i]), max(maxY, yFrom[i])
		}
		nx, ny := int(maxX/cut)+1, int(maxY/cut)+1
		cellOf := func(x, y float64) (int, int) {
			return min(max(int(x/cut), 0), nx-1), min(max(int(y/cut), 0), ny-1)
		}
		start := make([]int32, nx*ny+1)
		for i := range xFrom {
			cx, cy := cellOf(xFrom[i], yFrom[i])
			start[cy*nx+cx+1]++
		}
		for i := range nx * ny {
			start[i+1] += start[i]
		}
		members := make([]int32, len(xFrom))
		fill := slices.Clone(start[:nx*ny])
		for i := range xFrom {
			cx, cy := cellOf(xFrom[i], yFrom[i])
			members[fill[cy*nx+cx]] = int32(i)
			fill[cy*nx+cx]++
		}
		cut2, inv2s2 := cut*cut, 1/(2*sigma*sigma)
		for j := range c.nTo {
			cx, cy := cellOf(xTo[j], yTo[j])
			for gy := max(cy-1, 0); gy <= min(cy+1, ny-1); gy++ {
				for gx := max(cx-1, 0); gx <= min(cx+1, nx-1); gx++ {
					for _, i := range members[start[gy*nx+gx]:start[gy*nx+gx+1]] {
						if c.same && !c.autapses && int(i) == j {
							continue
						}
						dx, dy := xFrom[i]-xTo[j], yFrom[i]-yTo[j]
						d2 := dx*dx + dy*dy
						if d2 > cut2 {
							continue
						}
						if rng.Float64() < p*math.Exp(-d2*inv2s2) {
							emit(i, int32(j))
						}
					}
				}
			}
		}
	}
}

// list builds the CSR of explicit pairs, each row sorted by target (ties in
// list order), and returns the permutation from CSR position to list index
// so that per-synapse weights and delays follow their synapse.
func (c *connector) list(pre, post []int32) (rowptr, tgt, perm []int32) {
	rowptr = make([]int32, c.nFrom+1)
	for _, p := range pre {
		rowptr[p+1]++
	}
	for i := range c.nFrom {
		rowptr[i+1] += rowptr[i]
	}
	pos := slices.Clone(rowptr[:c.nFrom])
	perm = make([]int32, len(pre))
	for k, p := range pre {
		perm[pos[p]] = int32(k)
		pos[p]++
	}
	for i := range c.nFrom {
		slices.SortStableFunc(perm[rowptr[i]:rowptr[i+1]], func(a, b int32) int { return cmp.Compare(post[a], post[b]) })
	}
	tgt = make([]int32, len(pre))
	for k, l := range perm {
		tgt[k] = c.toLo + post[l]
	}
	return rowptr, tgt, perm
}

// splitRows computes the per-partition row offsets of a CSR whose rows are
// sorted by target; bounds are the partitions' first neurons plus the end.
func splitRows(rowptr, tgt []int32, bounds []int32) []int32 {
	np := len(bounds) // partitions + 1
	nrow := len(rowptr) - 1
	split := make([]int32, nrow*np)
	for r := range nrow {
		k, end := rowptr[r], rowptr[r+1]
		for p := range np - 1 {
			for k < end && tgt[k] < bounds[p] {
				k++
			}
			split[r*np+p] = k
		}
		split[r*np+np-1] = end
	}
	return split
}

// buildProjection generates the synapses of projection j of cfg.
func (e *engine) buildProjection(j int, cfg *NetworkConfig) (projRT, error) {
	pc := &cfg.Projections[j]
	fi, ti := e.popIndex[pc.From], e.popIndex[pc.To]
	from, to := &e.pops[fi], &e.pops[ti]
	c := connector{nFrom: int(from.hi - from.lo), nTo: int(to.hi - to.lo), toLo: to.lo, same: fi == ti, autapses: pc.Autapses}
	seed2 := streamConn + uint64(j)
	rng := rand.New(rand.NewPCG(cfg.Seed, seed2))
	var rowptr, tgt, perm []int32
	switch pc.Rule {
	case ConnProb:
		rowptr, tgt = c.prob(rng, pc.P)
	case ConnInDegree:
		rowptr, tgt = c.byPost(c.inDegree(pc.K, pc.Multapses), cfg.Seed, seed2)
	case ConnDistance:
		rowptr, tgt = c.byPost(c.distance(pc.P, pc.SigmaUM, e.x[from.lo:from.hi], e.y[from.lo:from.hi], e.x[to.lo:to.hi], e.y[to.lo:to.hi]), cfg.Seed, seed2)
	case ConnList:
		rowptr, tgt, perm = c.list(pc.Pre, pc.Post)
	default:
		return projRT{}, fmt.Errorf("projections[%d].rule: unknown %q", j, pc.Rule)
	}
	pr := projRT{srcLo: from.lo, srcHi: from.hi, w: pc.Weight, tgt: tgt}
	if pc.Receptor == Inh && to.kind != kindLIFDelta {
		pr.rec = 1 // delta synapses of either sign add to V through the excitatory buffer
	}
	dt := cfg.DtMs
	switch {
	case perm != nil && pc.DelaysMs != nil:
		pr.dl = make([]uint16, len(tgt))
		for k, l := range perm {
			pr.dl[k] = uint16(delayStepsOf(pc.DelaysMs[l], dt))
		}
	case pc.DelayMaxMs > pc.DelayMs && delayStepsOf(pc.DelayMaxMs, dt) > delayStepsOf(pc.DelayMs, dt):
		lo, hi := delayStepsOf(pc.DelayMs, dt), delayStepsOf(pc.DelayMaxMs, dt)
		drng := rand.New(rand.NewPCG(cfg.Seed, streamDelay+uint64(j)))
		pr.dl = make([]uint16, len(tgt))
		for k := range pr.dl {
			pr.dl[k] = uint16(lo + drng.IntN(hi-lo+1))
		}
	default:
		pr.d = int32(delayStepsOf(pc.DelayMs, dt))
	}
	if perm != nil && pc.Weights != nil {
		pr.wts = make([]float32, len(tgt))
		for k, l := range perm {
			pr.wts[k] = float32(pc.Weights[l])
		}
	}
	pr.split = splitRows(rowptr, tgt, e.bounds)
	if pc.STP != nil {
		pr.stp = newSTPRT(pc.STP, int(from.hi-from.lo), len(e.parts), dt)
	}
	if pc.STDP != nil {
		if pr.wts == nil {
			pr.wts = make([]float32, len(tgt))
			for k := range pr.wts {
				pr.wts[k] = float32(pc.Weight)
			}
		}
		pr.stdp = newSTDPRT(pc.STDP, &pr, to.lo, int(to.hi-to.lo), len(e.parts), dt)
	}
	return pr, nil
}

// maxDelay returns the longest delay of the projection in steps.
func (p *projRT) maxDelay() int {
	if p.dl == nil {
		return int(p.d)
	}
	m := 1
	for _, d := range p.dl {
		m = max(m, int(d))
	}
	return m
}

// mergeable reports whether two projections deliver alike (same source,
// receptor, weight, delay and path, no per-synapse weights or delays), so
// that their rows can be joined.
func mergeable(a, b *projRT) bool {
	return a.srcLo == b.srcLo && a.srcHi == b.srcHi && a.rec == b.rec && a.w == b.w && a.d == b.d &&
		a.direct == b.direct && a.dl == nil && b.dl == nil && a.wts == nil && b.wts == nil &&
		a.stp == nil && b.stp == nil && a.stdp == nil && b.stdp == nil
}

// mergeProjections joins mergeable projections into one CSR whose row r
// holds the targets of every member's row r, sorted: a spike then reads one
// contiguous row instead of one per projection (E→E and E→I of the presets
// become one). A neuron's input from the members is summed spike by spike
// instead of projection by projection, the same whatever the thread count.
func mergeProjections(projs []projRT, bounds []int32) []projRT {
	np := len(bounds)
	var out []projRT
	used := make([]bool, len(projs))
	for i := range projs {
		if used[i] {
			continue
		}
		group := []*projRT{&projs[i]}
		for j := i + 1; j < len(projs); j++ {
			if !used[j] && mergeable(&projs[i], &projs[j]) {
				group = append(group, &projs[j])
				used[j] = true
			}
		}
		if len(group) == 1 {
			out = append(out, projs[i])
			continue
		}
		m := projs[i]
		rows := int(m.srcHi - m.srcLo)
		total := 0
		for _, g := range group {
			total += len(g.tgt)
		}
		rowptr := make([]int32, rows+1)
		tgt := make([]int32, 0, total)
		for r := range rows {
			start := len(tgt)
			for _, g := range group {
				tgt = append(tgt, g.tgt[g.split[r*np]:g.split[r*np+np-1]]...)
			}
			slices.Sort(tgt[start:])
			rowptr[r+1] = int32(len(tgt))
		}
		m.tgt = tgt
		m.split = splitRows(rowptr, tgt, bounds)
		out = append(out, m)
	}
	return out
}
