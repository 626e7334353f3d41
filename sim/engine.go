package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Streams of the seeded generators (the second PCG word, or the stream of
// a SplitMix64 block state), one per use so that the draws of one never
// shift another.
const (
	streamInit   = 0x6e6574696e697431 // initial state
	streamSheet  = 0x6e65747368656574 // positions on the sheet
	streamConn   = 0x6e6574636f6e6e00 // + projection index: connectivity
	streamDelay  = 0x6e657464656c6100 // + projection index: per-synapse delays
	streamSource = 0                  // per-block stream of poisson populations
	// per-block stream 1 + j: PoissonInput j
)

// blockSize is the number of neurons sharing one per-step random stream;
// thread partitions are whole blocks, so every draw is made by the same
// stream in the same order whatever the thread count.
const blockSize = 256

// Neuron kinds of the update kernels.
const (
	kindLIFExp   = iota // current-based LIF, exponential current synapses
	kindLIFDelta        // current-based LIF, delta synapses
	kindLIFCond         // conductance-based LIF
	kindPoisson         // Poisson source
	kindIzh             // Izhikevich (2003)
	kindAdEx            // adaptive exponential integrate-and-fire
)

// popRT is a population at run time: its neuron range and the constant
// coefficients of its update (pointer-free).
type popRT struct {
	lo, hi int32
	kind   int
	nref   int32 // refractory steps
	vth    float64
	vreset float64
	el     float64 // E_L, mV
	r      float64 // R = 1/g_L, GΩ (mV per pA)
	am     float64 // e^{−dt/τ_m}
	ae, ai float64 // e^{−dt/τ_e}, e^{−dt/τ_i}
	ke, ki float64 // lif: κ_e, κ_i (mV per pA); lif-cond: f_e, f_i (step-average factors)
	gl     float64 // g_L, nS
	glel   float64 // g_L·E_L, pA
	ee, ei float64 // reversal potentials, mV
	dtc    float64 // dt/C, ms/pF
	// lif-cond: x = xl + xe·g_e + xi·g_i is g_T·dt/C and y = yl + yi·g_i
	// is (g_L(E_L − E_E) + I_ext + ḡ_i(E_I − E_E))·dt/C, the step-average
	// conductances ḡ_s = f_s·g_s folded in (see condY).
	xl, xe, xi float64
	yl, yi     float64
	// izhikevich and adex: the jump of u or w at a spike (d or b), the
	// step dt, and a, b (izhikevich) or a, dt/τ_w, V_T, 1/Δ_T, g_L Δ_T
	// (adex).
	jump, dt       float64
	qa, qb         float64
	vt, idelta, gd float64
	pspike         uint64  // poisson: spike when the 53-bit draw is below pspike
	iext           float64 // constant current, pA
	// buffered: some input reaches the population through the ring
	// buffers (delays above one step, or delta synapses).
	buffered bool
	simd     simdCoef // the coefficients for the vector kernels
}

// inputRT is a built PoissonInput.
type inputRT struct {
	lo, hi int32
	rec    int
	direct bool // adds to the synaptic state (else to the ring buffer)
	w      float64
	table  poissonTable
	stream int
}

// partRT is one thread's share: neurons [lo, hi) (whole blocks) and its
// spike lists of the current and the previous step (by step parity),
// sorted by neuron.
type partRT struct {
	lo, hi  int32
	spk     [2][]int32
	scratch []int32
	coba    []cobaK     // per population: the coefficients of this step (scaled conductances)
	rq      []refrQueue // per population: its refractory neurons in this partition
	_       [64]byte    // keeps partitions on separate cache lines
}

// refrQueue holds the neurons of one population and partition that spiked
// in the last nref steps, oldest first (a ring). All have the same nref, so
// they leave the queue in the order they entered it.
type refrQueue struct {
	neuron     []int32
	step       []int64
	head, size int
}

func (q *refrQueue) push(i int32, t int64) {
	k := q.head + q.size
	if k >= len(q.neuron) {
		k -= len(q.neuron)
	}
	q.neuron[k], q.step[k] = i, t
	q.size++
}

// expire drops the neurons that spiked before step t − nref: from step t on
// they integrate again.
func (q *refrQueue) expire(t int64, nref int32) {
	for q.size > 0 && q.step[q.head] < t-int64(nref) {
		q.head++
		if q.head == len(q.neuron) {
			q.head = 0
		}
		q.size--
	}
}

// clamp holds every queued neuron at vr.
func (q *refrQueue) clamp(v []float64, vr float64) {
	n := len(q.neuron)
	end := min(q.head+q.size, n)
	setAll(v, q.neuron[q.head:end], vr)
	setAll(v, q.neuron[:q.head+q.size-end], vr)
}

// setAll sets v[i] = x for every i of idx, neuron indices that the engine
// put in a refractory queue (0 ≤ i < len(v)), without bounds checks (as
// addConst).
func setAll(v []float64, idx []int32, x float64) {
	if len(v) == 0 {
		return
	}
	base := unsafe.Pointer(unsafe.SliceData(v))
	for _, i := range idx {
		*(*float64)(unsafe.Add(base, uintptr(i)*8)) = x
	}
}

// engine is the state of a Network, shared with its worker goroutines.
type engine struct {
	cfg      NetworkConfig
	n        int
	dt       float64 // ms
	rate     float64 // steps per second
	step     atomic.Int64
	pops     []popRT
	popIndex map[string]int
	bounds   []int32 // partition starts plus n
	stdp     bool    // some projection has STDP (see potentiate)

	// Neuron state, struct of arrays.
	v      []float64 // membrane potential, mV
	u      []float64 // recovery variable u (izhikevich) or adaptation w (adex, pA); nil without them
	se, si []float64 // excitatory and inhibitory synaptic state, pA or nS (maybe scaled: condScale)
	iext   []float64 // external current, pA (constant plus injections)
	last   []int64   // step of the last spike (refractory while t − last ≤ nref)

	// Ring buffers of arriving synaptic input: slot s of buffer b holds
	// buf[b][s*n : (s+1)*n]; input due at step t sits in slot t mod D.
	nslot int
	buf   [2][]float64

	projs   []projRT
	inputs  []inputRT
	rng     []uint64 // SplitMix64 state per (stream, block)
	nblocks int
	simd    bool // vector kernels (engine_amd64.s) and their FMA scalar twins
	// scaled: the conductances are stored lazily decayed while the vector
	// kernels run (see condScale); nil when some population does not allow it.
	scaled *condScale

	parts   []partRT
	threads int
	bar     barrier
	work    []chan int64 // per worker: steps of the next Advance
	stopped sync.Once

	// Sheet: neuron positions (µm) and electrodes with their neighbours
	// sorted by distance: electrode k reaches elN[elOff[k]:elOff[k+1]] at
	// squared distances elD2.
	x, y     []float64
	ex, ey   []float64
	elOff    []int32
	elN      []int32
	elD2     []float64
	stim     stimState
	synCount int64
}

// Network is a spiking neural network built from a NetworkConfig:
// populations of neurons in struct-of-arrays state, sparse CSR
// connectivity with axonal delays, Poisson inputs and a stimulation input,
// advanced by a fixed clock.
//
// Each step t (of dt ms) runs, for every thread's partition of neurons:
//
//  1. delivery: every spike of step t−1 is sent along its synapses, each
//     adding its weight to the ring-buffer slot of step t−1+d (delay d ≥ 1
//     step); a thread delivers only to its own neurons (target-partitioned
//     delivery), in the order of the spike list, so the sum each neuron
//     receives is formed in the same order whatever the thread count;
//     (input with a delay of one step goes straight into the synaptic
//     state, which is the same sum without the buffer's round trip);
//  2. Poisson inputs add Weight·k, k ~ Poisson(N·rate·dt), to slot t;
//  3. update: each neuron takes slot t into its synaptic state (a jump of
//     the current or conductance, or of V for delta synapses), advances by
//     dt (see below), and spikes when V ≥ V_th: V ← V_reset, held there for
//     round(t_ref/dt) steps while the synaptic state keeps decaying; input
//     arriving at a delta-synapse neuron during that time is lost (Brunel
//     2000);
//  4. electrode pulses due at t make every non-refractory neuron in reach
//     fire (Sheet); injected currents (Inject, InjectElectrode) add to the
//     external current from the step they begin to the step they end.
//
// Threads then meet at a barrier; step t+1 delivers the spikes of step t.
// A synapse with delay d = 1 step reproduces Brian's zero-delay on_pre
// update (the spike of step t acts from step t+1 on).
//
// Updates (exact for input held over the step; Rotter & Diesmann 1999,
// Biol Cybern 81:381):
//
// Current-based LIF with exponential synapses (CUBA; Brette et al. 2007
// benchmark 2): with α_x = e^{−dt/τ_x}, V∞ = E_L + R·I_ext,
//
//	V ← V∞ + (V − V∞)·α_m + κ_e·I_e + κ_i·I_i,   I_s ← I_s·α_s
//	κ_s = R·τ_s/(τ_s − τ_m)·(α_s − α_m)   (R·(dt/τ_m)·α_m when τ_s = τ_m)
//
// the exact solution of τ_m dV/dt = −(V − V∞) + R·I_s(t) with
// I_s(t) = I_s·e^{−t/τ_s}.
//
// Current-based LIF with delta synapses (Brunel 2000):
// V ← V∞ + (V − V∞)·α_m + ΣJ, the jumps J of the spikes arriving in the step.
//
// Conductance-based LIF (COBA; Vogels & Abbott 2005, Brette et al. 2007
// benchmark 1): the conductances decay exactly, g_s ← g_s·α_s, and V takes
// the exponential-integrator step for C dV/dt = −g_T(V − V∞) with the
// conductances replaced by their exact averages over the step,
// ḡ_s = g_s·τ_s(1 − α_s)/dt:
//
//	g_T = g_L + ḡ_e + ḡ_i,  V∞ = (g_L E_L + ḡ_e E_E + ḡ_i E_I + I_ext)/g_T
//	V ← V∞ + (V − V∞)·exp(−g_T·dt/C)
//
// whose decay factor is the exact exp(−∫g_T dt/C) over the step; it is
// stable for any conductance (unlike the forward Euler of Brian's reference
// script) and second-order accurate (TestCOBAPSP: 3·10⁻⁵ mV from an RK45
// reference on a 17 mV PSP at dt = 0.05 ms). It is evaluated as
// V ← V + φ₁(x)·(y − x·(V − E_E)), x = g_T·dt/C, y = g_T(V∞ − E_E)·dt/C,
// with φ₁ of phi1 (x is affine in g_e and g_i, y in g_i alone, with
// precomputed coefficients: measuring V from E_E drops the g_e term of y).
//
// Poisson sources spike in a step with probability rate·dt.
//
// Kernels: on amd64 CPUs with AVX2 and FMA the updates run four neurons
// per instruction (engine_amd64.s) with fused multiply-adds; elsewhere
// portable Go loops with the same formulas run. The two differ in rounding
// only. Refractory neurons are not branched on per neuron: each population
// keeps a queue of its recent spikers, held at V_reset after the update.
// The conductance-based vector kernel also applies the threshold in the
// same pass (returning to Go only for a group of four holding a crossing,
// where a crossing of a refractory neuron is ignored).
//
// Determinism: every random draw comes from a stream seeded by (Seed, use,
// block of 256 neurons); threads own whole blocks; every neuron's
// arithmetic is the same whichever thread and kernel lane computes it; so
// the same seed gives the same spikes bit for bit whatever the thread
// count (on one machine: the vector and portable kernels round
// differently).
//
// Concurrency: Advance and the accessors of state are for one goroutine at
// a time; Stimulate, StopStimulation, Inject and Sample may be called from
// any goroutine concurrently with Advance. With Threads > 1 the network
// runs Threads−1 worker goroutines that park between calls to Advance; Close
// stops them (they are also stopped once the Network is unreachable).
type Network struct {
	e *engine
}

// NewNetwork validates cfg and builds the network: neuron state drawn from
// cfg.Seed, positions on the sheet, connectivity, electrodes.
func NewNetwork(cfg NetworkConfig) (*Network, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sim: network config: %w", err)
	}
	e, err := build(cfg)
	if err != nil {
		return nil, err
	}
	nw := &Network{e: e}
	if e.threads > 1 {
		e.work = make([]chan int64, e.threads)
		for p := 1; p < e.threads; p++ {
			e.work[p] = make(chan int64, 1)
			go e.worker(p, e.work[p])
		}
		runtime.AddCleanup(nw, func(e *engine) { e.stop() }, e)
	}
	return nw, nil
}

func build(cfg NetworkConfig) (*engine, error) {
	cfg.Populations = slices.Clone(cfg.Populations)
	cfg.Projections = slices.Clone(cfg.Projections)
	cfg.Inputs = slices.Clone(cfg.Inputs)
	e := &engine{cfg: cfg, dt: cfg.DtMs, rate: 1000 / cfg.DtMs, popIndex: map[string]int{}, threads: cfg.Threads}
	e.bar.cond.L = &e.bar.mu
	e.simd = simdAvailable
	for i, pc := range cfg.Populations {
		p := popRT{lo: int32(e.n), hi: int32(e.n + pc.N)}
		e.n += pc.N
		e.setCoefficients(&p, &pc)
		p.setSIMD()
		e.pops = append(e.pops, p)
		e.popIndex[pc.Name] = i
	}
	n := e.n
	e.nblocks = (n + blockSize - 1) / blockSize
	e.bounds = make([]int32, e.threads+1)
	e.parts = make([]partRT, e.threads)
	for p := range e.threads {
		lo := min(n, p*e.nblocks/e.threads*blockSize)
		hi := min(n, (p+1)*e.nblocks/e.threads*blockSize)
		e.bounds[p] = int32(lo)
		pt := &e.parts[p]
		pt.lo, pt.hi = int32(lo), int32(hi)
		pt.spk[0] = make([]int32, 0, hi-lo)
		pt.spk[1] = make([]int32, 0, hi-lo)
		pt.scratch = make([]int32, 0, hi-lo)
		pt.rq = make([]refrQueue, len(e.pops))
		pt.coba = make([]cobaK, len(e.pops))
		for k, c := range e.pops {
			if m := min(hi, int(c.hi)) - max(lo, int(c.lo)); m > 0 && c.nref > 0 {
				pt.rq[k] = refrQueue{neuron: make([]int32, m), step: make([]int64, m)}
			}
		}
	}
	e.bounds[e.threads] = int32(n)

	e.v = make([]float64, n)
	for _, c := range e.pops {
		if c.kind == kindIzh || c.kind == kindAdEx {
			e.u = make([]float64, n)
		}
	}
	e.se = make([]float64, n)
	e.si = make([]float64, n)
	e.iext = make([]float64, n)
	e.last = make([]int64, n)
	for i := range e.last {
		e.last[i] = math.MinInt64 / 2
	}
	e.initState()
	e.scaled = newCondScale(e.pops)

	if w := cfg.Sheet.WidthUM; w > 0 {
		e.x, e.y = make([]float64, n), make([]float64, n)
		r := rand.New(rand.NewPCG(cfg.Seed, streamSheet))
		for i := range n {
			e.x[i], e.y[i] = w*r.Float64(), w*r.Float64()
		}
	}

	e.nslot = 1
	for j := range cfg.Projections {
		pr, err := e.buildProjection(j, &cfg)
		if err != nil {
			return nil, err
		}
		e.nslot = max(e.nslot, pr.maxDelay())
		e.synCount += int64(pr.synapses())
		to := &e.pops[e.popIndex[cfg.Projections[j].To]]
		pr.direct = pr.dl == nil && pr.d == 1 && to.kind != kindLIFDelta
		to.buffered = to.buffered || !pr.direct
		e.stdp = e.stdp || pr.stdp != nil
		e.projs = append(e.projs, pr)
	}
	e.projs = mergeProjections(e.projs, e.bounds)
	for b := range e.buf {
		e.buf[b] = make([]float64, e.nslot*n)
	}

	for j, ic := range cfg.Inputs {
		p := &e.pops[e.popIndex[ic.To]]
		in := inputRT{lo: p.lo, hi: p.hi, w: ic.Weight, stream: 1 + j,
			table: newPoissonTable(float64(ic.N) * ic.RateHz * cfg.DtMs / 1000)}
		if ic.Receptor == Inh && p.kind != kindLIFDelta {
			in.rec = 1
		}
		in.direct = p.kind != kindLIFDelta
		e.inputs = append(e.inputs, in)
	}
	e.rng = make([]uint64, (1+len(e.inputs))*e.nblocks)
	for s := range 1 + len(e.inputs) {
		for b := range e.nblocks {
			e.rng[s*e.nblocks+b] = streamState(cfg.Seed, s, b)
		}
	}
	e.buildElectrodes()
	e.stim.init(cfg.Sheet.StimQueue, n, len(e.pops))
	return e, nil
}

// setCoefficients precomputes the propagators of population pc.
func (e *engine) setCoefficients(p *popRT, pc *Population) {
	dt := e.dt
	switch pc.Model {
	case ModelPoisson:
		p.kind = kindPoisson
		p.pspike = uint64(math.Round(pc.RateHz * dt / 1000 * (1 << 53)))
		return
	case ModelLIF:
		p.kind = kindLIFExp
		if pc.TauEMs == 0 && pc.TauIMs == 0 {
			p.kind = kindLIFDelta
		}
	case ModelLIFCond:
		p.kind = kindLIFCond
	case ModelIzhikevich:
		z := pc.Izhikevich
		p.kind, p.dt, p.iext = kindIzh, dt, pc.IExtPA
		p.vth, p.vreset, p.jump, p.qa, p.qb = z.VPeak, z.C, z.D, z.A, z.B
		p.ae, p.ai = math.Exp(-dt/pc.TauEMs), math.Exp(-dt/pc.TauIMs)
		return
	case ModelAdEx:
		x := pc.AdEx
		p.kind, p.dt, p.iext = kindAdEx, dt, pc.IExtPA
		p.nref = int32(math.Round(x.TRef / dt))
		p.vth, p.vreset, p.jump = x.VPeak, x.VReset, x.B
		p.el, p.gl, p.dtc = x.EL, x.GL, dt/x.C
		p.qa, p.qb = x.A, dt/x.TauW
		p.vt, p.idelta, p.gd = x.VT, 1/x.DeltaT, x.GL*x.DeltaT
		p.ae, p.ai = math.Exp(-dt/pc.TauEMs), math.Exp(-dt/pc.TauIMs)
		return
	}
	l := pc.LIF
	tm := l.C / l.GL
	p.nref = int32(math.Round(l.TRef / dt))
	p.vth, p.vreset, p.el, p.iext = l.VTh, l.VReset, l.EL, pc.IExtPA
	p.r = 1 / l.GL
	p.am = math.Exp(-dt / tm)
	p.gl, p.glel, p.ee, p.ei, p.dtc = l.GL, l.GL*l.EL, l.EE, l.EI, dt/l.C
	if p.kind == kindLIFDelta {
		return
	}
	p.ae, p.ai = math.Exp(-dt/pc.TauEMs), math.Exp(-dt/pc.TauIMs)
	switch p.kind {
	case kindLIFExp:
		p.ke, p.ki = kappa(pc.TauEMs, tm, dt, p.r), kappa(pc.TauIMs, tm, dt, p.r)
	case kindLIFCond:
		p.ke = pc.TauEMs * (1 - p.ae) / dt
		p.ki = pc.TauIMs * (1 - p.ai) / dt
		p.xl, p.xe, p.xi = p.dtc*p.gl, p.dtc*p.ke, p.dtc*p.ki
		p.yl, p.yi = p.condY(p.iext), p.dtc*p.ki*(p.ei-p.ee)
	}
}

// condY returns the constant part of y for the external current iext (pA):
// (g_L(E_L − E_E) + I_ext)·dt/C.
func (p *popRT) condY(iext float64) float64 { return p.dtc * (p.gl*(p.el-p.ee) + iext) }

// kappa is the voltage response after dt to a unit current decaying with
// τ_s in a membrane of time constant τ_m and resistance r:
//
//	κ = r·τ_s/(τ_s − τ_m)·(e^{−dt/τ_s} − e^{−dt/τ_m})
//	  = r·(dt/τ_m)·e^{−dt/τ_m}·(e^x − 1)/x,   x = dt·(τ_s − τ_m)/(τ_s·τ_m)
//
// The second form (with expm1, and τ_s − τ_m exact by Sterbenz's lemma when
// the two are within a factor 2) keeps full precision as τ_s → τ_m, where it
// tends to the limit r·(dt/τ_m)·e^{−dt/τ_m}.
func kappa(ts, tm, dt, r float64) float64 {
	x := dt * (ts - tm) / (ts * tm)
	f := 1.0
	if x != 0 {
		f = math.Expm1(x) / x
	}
	return r * dt / tm * math.Exp(-dt/tm) * f
}

// initState draws the initial V and synaptic state of every neuron in
// neuron order from one stream, and sets the constant currents.
func (e *engine) initState() {
	r := rand.New(rand.NewPCG(e.cfg.Seed, streamInit))
	for pi, pc := range e.cfg.Populations {
		p := &e.pops[pi]
		for i := p.lo; i < p.hi; i++ {
			e.iext[i] = pc.IExtPA
			if p.kind == kindPoisson {
				continue
			}
			iv := pc.InitV
			switch {
			case iv.Kind != "":
			case p.kind == kindIzh:
				v0, _, _ := pc.Izhikevich.Rest()
				iv = Dist{Kind: "const", A: v0}
			case p.kind == kindAdEx:
				iv = Dist{Kind: "const", A: pc.AdEx.EL}
			default:
				iv = Dist{Kind: "uniform", A: pc.LIF.VReset, B: pc.LIF.VTh}
			}
			e.v[i] = min(iv.draw(r), p.vth) // never start above threshold
			if p.kind == kindIzh {
				e.u[i] = p.qb * e.v[i] // u = b·v
			}
			if p.kind == kindLIFDelta {
				continue
			}
			e.se[i], e.si[i] = pc.InitE.draw(r), pc.InitI.draw(r)
		}
	}
}

func (d Dist) draw(r *rand.Rand) float64 {
	switch d.Kind {
	case "uniform":
		return d.A + (d.B-d.A)*r.Float64()
	case "normal":
		return d.A + d.B*r.NormFloat64()
	}
	return d.A
}

// Close stops the worker goroutines of a multi-threaded network. The
// network must not be advanced afterwards. It is idempotent.
func (nw *Network) Close() { nw.e.stop() }

func (e *engine) stop() {
	e.stopped.Do(func() {
		for _, c := range e.work {
			if c != nil {
				close(c)
			}
		}
	})
}

// worker runs partition p of every Advance until its channel closes.
func (e *engine) worker(p int, work chan int64) {
	for steps := range work {
		e.run(p, e.step.Load(), steps, nil)
	}
}

// Advance simulates the next steps steps and appends their spikes to
// spikes, in step order and within a step by neuron index (Event.Sample is
// the step, Event.Channel the neuron), and returns it. It does not allocate
// when spikes has room. Steps ≤ 0 do nothing.
func (nw *Network) Advance(steps int, spikes []Event) []Event {
	e := nw.e
	if steps <= 0 {
		return spikes
	}
	t0 := e.step.Load()
	e.prepare(t0)
	for p := 1; p < e.threads; p++ {
		e.work[p] <- int64(steps)
	}
	spikes = e.run(0, t0, int64(steps), spikes)
	e.step.Store(t0 + int64(steps))
	return spikes
}

// run advances partition p through steps steps from t0. Partition 0 also
// prepares each next step's stimulation and collects the spikes.
func (e *engine) run(p int, t0, steps int64, spikes []Event) []Event {
	for t := t0; t < t0+steps; t++ {
		e.stepPart(p, t)
		if p == 0 && t+1 < t0+steps {
			e.prepare(t + 1)
		}
		if e.threads > 1 {
			e.bar.wait(int32(e.threads))
		}
		if p == 0 {
			for q := range e.parts {
				for _, i := range e.parts[q].spk[t&1] {
					spikes = append(spikes, Event{Sample: t, Channel: i})
				}
			}
		}
	}
	return spikes
}

// stepPart runs step t on partition p (see Network).
func (e *engine) stepPart(p int, t int64) {
	pt := &e.parts[p]
	lo, hi := int(pt.lo), int(pt.hi)
	plan := &e.stim.plan[t&1]
	sc := e.scaling()
	sE, sI := 1.0, 1.0 // the factors from conductances to the stored state
	if sc != nil {
		k := int(t % condPeriod)
		if k == 0 && t > 0 {
			sc.renormalize(e, lo, hi)
		}
		sE, sI = sc.inve[k], sc.invi[k]
		for j := range e.pops {
			if e.pops[j].kind == kindLIFCond {
				sc.coefficients(&pt.coba[j], &e.pops[j], k)
			}
		}
	}
	if plan.inject {
		e.applyInjections(plan, lo, hi)
	}
	if t > 0 {
		prev := (t - 1) & 1
		for j := range e.projs {
			e.deliver(&e.projs[j], p, t, prev, sE, sI)
		}
	}
	n := e.n
	slot := int(t%int64(e.nslot)) * n
	bufE, bufI := e.buf[0][slot:slot+n], e.buf[1][slot:slot+n]
	for j := range e.inputs {
		in := &e.inputs[j]
		dst, s := bufE, 1.0
		switch {
		case !in.direct:
		case in.rec == 0:
			dst, s = e.se, sE
		default:
			dst, s = e.si, sI
		}
		e.drive(in, lo, hi, dst, s)
	}
	spk := pt.spk[t&1][:0]
	for k := range e.pops {
		c := &e.pops[k]
		a, b := max(lo, int(c.lo)), min(hi, int(c.hi))
		if a >= b {
			continue
		}
		var iext []float64
		if plan.iextArr[k] {
			iext = e.iext
		}
		inE, inI := bufE, bufI
		if !c.buffered {
			inE, inI = nil, nil
		}
		n0 := len(spk)
		fused := false // the kernel applied the threshold
		switch {
		case c.kind == kindLIFExp && e.simd:
			kernLIFExpFMA(c, a, b, e.v, e.se, e.si, iext, inE, inI)
		case c.kind == kindLIFExp:
			kernLIFExp(c, a, b, e.v, e.se, e.si, iext, inE, inI)
		case c.kind == kindLIFDelta && e.simd:
			kernLIFDeltaFMA(c, a, b, e.v, iext, bufE)
		case c.kind == kindLIFDelta:
			kernLIFDelta(c, a, b, e.v, iext, bufE)
		case c.kind == kindLIFCond && sc != nil:
			spk = kernLIFCondFMA(c, &pt.coba[k], a, b, e.v, e.se, e.si, iext, inE, inI, sE, sI, e.last, t, spk)
			fused = true
		case c.kind == kindLIFCond && e.simd:
			spk = kernLIFCondFMA(c, &c.simd.coba, a, b, e.v, e.se, e.si, iext, inE, inI, 1, 1, e.last, t, spk)
			decayCond(c, a, b, e.se, e.si)
			fused = true
		case c.kind == kindLIFCond:
			kernLIFCond(c, a, b, e.v, e.se, e.si, iext, inE, inI)
		case c.kind == kindPoisson:
			spk = e.kernPoisson(c, a, b, spk)
			continue
		case c.kind == kindIzh:
			spk = kernIzh(c, a, b, e.v, e.u, e.se, e.si, iext, inE, inI, spk)
			fused = true
		case c.kind == kindAdEx:
			spk = kernAdEx(c, a, b, e.v, e.u, e.se, e.si, iext, inE, inI, e.last, t, spk)
			fused = true
		}
		q := &pt.rq[k]
		if c.nref > 0 {
			q.expire(t, c.nref)
			q.clamp(e.v, c.vreset)
		}
		switch {
		case fused:
		case e.simd:
			spk = thresholdSIMD(c, a, e.v[a:b], spk)
		default:
			spk = threshold(c, a, e.v[a:b], spk)
		}
		for _, i := range spk[n0:] {
			e.last[i] = t
			if c.nref > 0 {
				q.push(i, t)
			}
		}
	}
	if len(plan.forced) > 0 {
		spk = e.force(pt, spk, plan.forced, lo, hi, t)
	}
	if e.stdp {
		e.potentiate(p, spk, t)
	}
	pt.spk[t&1] = spk
}

// destination returns the row a constant-delay projection pr adds its
// weights into this step (base: the ring-buffer slot of delay 0) and the
// factor of those weights: the conductance itself for direct delivery
// (scaled by sE or sI, see condScale), the delay's ring-buffer slot
// otherwise; nil for per-synapse delays, which pick their slot per synapse.
func (e *engine) destination(pr *projRT, base int, sE, sI float64) (row []float64, f float64) {
	switch {
	case pr.direct && pr.rec == 0:
		return e.se, sE
	case pr.direct:
		return e.si, sI
	case pr.dl == nil:
		sl := base + int(pr.d)
		if sl >= e.nslot {
			sl -= e.nslot
		}
		return e.buf[pr.rec][sl*e.n : sl*e.n+e.n], 1
	}
	return nil, 1
}

// deliver sends the spikes of the previous step (lists of parity prev)
// along projection pr to the neurons of partition p: into the synaptic
// state directly when every synapse has a delay of one step (the input of
// this step), else into the ring-buffer slot of its arrival.
func (e *engine) deliver(pr *projRT, p int, t, prev int64, sE, sI float64) {
	if pr.stp != nil || pr.stdp != nil {
		e.deliverPlastic(pr, p, t, prev, sE, sI)
		return
	}
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
			r := int(s-pr.srcLo) * np
			a, b := split[r+p], split[r+p+1]
			switch {
			case a == b:
			case row != nil && pr.wts == nil:
				addConst(row, tgt[a:b], pr.w*f)
			case row != nil:
				addWeights(row, tgt[a:b], pr.wts[a:b], f)
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
					buf[sl*n+int(j)] += w
				}
			}
		}
	}
}

// addConst adds w to row[j] for every target j of tgt. Targets are
// neuron indices checked when the projection was built (0 ≤ j < len(row)),
// so the loop goes without bounds checks: it is the innermost loop of
// spike delivery. (Not inlined: inside deliver it would spill registers.)
//
//go:noinline
func addConst(row []float64, tgt []int32, w float64) {
	if len(row) == 0 {
		return
	}
	base := unsafe.Pointer(unsafe.SliceData(row))
	// Four at a time: fewer loop instructions per target. The additions
	// stay in target order (a target may repeat).
	for len(tgt) >= 4 {
		t4 := tgt[:4]
		p0 := (*float64)(unsafe.Add(base, uintptr(t4[0])*8))
		*p0 += w
		p1 := (*float64)(unsafe.Add(base, uintptr(t4[1])*8))
		*p1 += w
		p2 := (*float64)(unsafe.Add(base, uintptr(t4[2])*8))
		*p2 += w
		p3 := (*float64)(unsafe.Add(base, uintptr(t4[3])*8))
		*p3 += w
		tgt = tgt[4:]
	}
	for _, j := range tgt {
		p := (*float64)(unsafe.Add(base, uintptr(j)*8))
		*p += w
	}
}

// addWeights adds ws[k]·s to row[tgt[k]] for every k (as addConst).
func addWeights(row []float64, tgt []int32, ws []float32, s float64) {
	if len(row) == 0 {
		return
	}
	base := unsafe.Pointer(unsafe.SliceData(row))
	ws = ws[:len(tgt)]
	for k, j := range tgt {
		p := (*float64)(unsafe.Add(base, uintptr(j)*8))
		*p += float64(ws[k]) * s
	}
}

// drive adds the Poisson input in to dst (the synaptic state, or the
// buffer slot of this step) for its neurons within [lo, hi).
func (e *engine) drive(in *inputRT, lo, hi int, dst []float64, s float64) {
	a, b := max(lo, int(in.lo)), min(hi, int(in.hi))
	if a >= b {
		return
	}
	w := in.w * s
	tab := &in.table
	states := e.rng[in.stream*e.nblocks:]
	for blk := a / blockSize; blk*blockSize < b; blk++ {
		s := states[blk]
		i0, i1 := max(a, blk*blockSize), min(b, (blk+1)*blockSize)
		for i := i0; i < i1; i++ {
			dst[i] += w * float64(tab.sample(splitmix64(&s)))
		}
		states[blk] = s
	}
}

// kernPoisson fires neurons [a, b) of a poisson population.
func (e *engine) kernPoisson(c *popRT, a, b int, spk []int32) []int32 {
	states := e.rng[streamSource*e.nblocks:]
	th := c.pspike
	for blk := a / blockSize; blk*blockSize < b; blk++ {
		s := states[blk]
		i0, i1 := max(a, blk*blockSize), min(b, (blk+1)*blockSize)
		for i := i0; i < i1; i++ {
			if splitmix64(&s)>>11 < th {
				spk = append(spk, int32(i))
			}
		}
		states[blk] = s
	}
	return spk
}

// The kernels integrate neurons [a, b) of one population over the step,
// refractory ones included; stepPart then holds the refractory neurons at
// V_reset (the population's refrQueue) and applies the threshold (the
// conductance-based and the izhikevich and adex kernels apply it
// themselves, skipping refractory neurons). This keeps the per-neuron loops
// free of branches on refractoriness, calls and appends. iext is nil when
// no injection is in force on the population (its constant current
// applies); inE and inI are nil when no input reaches it through the ring
// buffers.

// kernLIFExp: current-based LIF with exponential synapses.
func kernLIFExp(c *popRT, a, b int, v, se, si, iext []float64, inE, inI []float64) {
	v, se, si = v[a:b], se[a:b], si[a:b]
	se, si = se[:len(v)], si[:len(v)]
	if inE != nil {
		inE, inI = inE[a:b], inI[a:b]
		for i := range inE {
			se[i] += inE[i]
			si[i] += inI[i]
			inE[i], inI[i] = 0, 0
		}
	}
	am, ae, ai, ke, ki := c.am, c.ae, c.ai, c.ke, c.ki
	el, r := c.el, c.r
	vinf := el + r*c.iext
	if iext != nil {
		iext = iext[a:b]
		iext = iext[:len(v)]
	}
	for i := range v {
		ie, ii := se[i], si[i]
		se[i], si[i] = ie*ae, ii*ai
		vi := vinf
		if iext != nil {
			vi = el + r*iext[i]
		}
		v[i] = vi + (v[i]-vi)*am + ke*ie + ki*ii
	}
}

// kernLIFDelta: current-based LIF with delta synapses; input arriving
// while refractory is lost (the clamp overwrites V).
func kernLIFDelta(c *popRT, a, b int, v, iext []float64, in []float64) {
	v, in = v[a:b], in[a:b]
	in = in[:len(v)]
	am, el, r := c.am, c.el, c.r
	vinf := el + r*c.iext
	if iext != nil {
		iext = iext[a:b]
		iext = iext[:len(v)]
	}
	for i := range v {
		vi := vinf
		if iext != nil {
			vi = el + r*iext[i]
		}
		v[i] = vi + (v[i]-vi)*am + in[i]
		in[i] = 0
	}
}

// kernLIFCond: conductance-based LIF.
func kernLIFCond(c *popRT, a, b int, v, se, si, iext []float64, inE, inI []float64) {
	v, se, si = v[a:b], se[a:b], si[a:b]
	se, si = se[:len(v)], si[:len(v)]
	if inE != nil {
		inE, inI = inE[a:b], inI[a:b]
		for i := range inE {
			se[i] += inE[i]
			si[i] += inI[i]
			inE[i], inI[i] = 0, 0
		}
	}
	ae, ai := c.ae, c.ai
	xl, xe, xi, yl, yi, ee := c.xl, c.xe, c.xi, c.yl, c.yi, c.ee
	if iext != nil {
		iext = iext[a:b]
		iext = iext[:len(v)]
	}
	for i := range v {
		ge, gi := se[i], si[i]
		se[i], si[i] = ge*ae, gi*ai
		x := xl + xe*ge + xi*gi
		var ph float64 // φ₁(x), as phi1
		if x <= phiMaxX {
			x2 := x * x
			ph = ((phiC0 + phiC1*x) + (phiC2+phiC3*x)*x2) +
				((phiC4+phiC5*x)+(phiC6+phiC7*x)*x2)*(x2*x2)
		} else {
			ph = (1 - expNeg(x)) / x
		}
		y := yl
		if iext != nil {
			y = c.condY(iext[i])
		}
		y += yi * gi
		vi := v[i]
		v[i] = vi + ph*(y-x*(vi-ee))
	}
}

// kernIzh: Izhikevich neurons, by the semi-implicit Euler step of
// model.IzhikevichStepper (the scheme of the paper's code: v first, then u
// from the new v), with the input current I = I_ext + I_e + I_i of the
// start of the step held over it; the synaptic currents then decay
// exactly. The threshold is applied here (v ≥ v_peak: v ← c, u ← u + d);
// there is no refractory period.
func kernIzh(c *popRT, a, b int, v, u, se, si, iext []float64, inE, inI []float64, spk []int32) []int32 {
	v, u, se, si = v[a:b], u[a:b], se[a:b], si[a:b]
	u, se, si = u[:len(v)], se[:len(v)], si[:len(v)]
	if inE != nil {
		addInput(se, si, inE[a:b], inI[a:b])
	}
	if iext != nil {
		iext = iext[a:b]
		iext = iext[:len(v)]
	}
	dt, pa, pb, ae, ai := c.dt, c.qa, c.qb, c.ae, c.ai
	vpeak, vc, d := c.vth, c.vreset, c.jump
	for i := range v {
		in := c.iext
		if iext != nil {
			in = iext[i]
		}
		in += se[i] + si[i]
		se[i], si[i] = se[i]*ae, si[i]*ai
		vi, ui := v[i], u[i]
		vi += dt * (0.04*vi*vi + 5*vi + 140 - ui + in)
		ui += dt * pa * (pb*vi - ui)
		if vi >= vpeak {
			vi = vc
			ui += d
			spk = append(spk, int32(a+i))
		}
		v[i], u[i] = vi, ui
	}
	return spk
}

// adexExpCap caps the argument of the exponential of the adex update, as
// model.AdEx does, so that a step from above V_peak stays finite.
const adexExpCap = 50

// kernAdEx: AdEx neurons, by the forward Euler step of model.AdExStepper
// (the scheme of the Brette et al. 2007 benchmark code) with the input
// current of the start of the step held over it; the synaptic currents then
// decay exactly. The threshold is applied here (V ≥ V_peak and not
// refractory: V ← V_r, w ← w + b); refractory neurons are held at V_r by
// the clamp while w keeps evolving.
func kernAdEx(c *popRT, a, b int, v, w, se, si, iext []float64, inE, inI []float64, last []int64, t int64, spk []int32) []int32 {
	v, w, se, si, last = v[a:b], w[a:b], se[a:b], si[a:b], last[a:b]
	w, se, si, last = w[:len(v)], se[:len(v)], si[:len(v)], last[:len(v)]
	if inE != nil {
		addInput(se, si, inE[a:b], inI[a:b])
	}
	if iext != nil {
		iext = iext[a:b]
		iext = iext[:len(v)]
	}
	gl, el, vt, pa, bj := c.gl, c.el, c.vt, c.qa, c.jump
	vpeak, vreset, nref := c.vth, c.vreset, int64(c.nref)
	dtC, dtW, invD, glD, ae, ai := c.dtc, c.qb, c.idelta, c.gd, c.ae, c.ai
	for i := range v {
		in := c.iext
		if iext != nil {
			in = iext[i]
		}
		in += se[i] + si[i]
		se[i], si[i] = se[i]*ae, si[i]*ai
		vi, wi := v[i], w[i]
		dw := dtW * (pa*(vi-el) - wi)
		vi += dtC * (-gl*(vi-el) + glD*math.Exp(math.Min((vi-vt)*invD, adexExpCap)) - wi + in)
		wi += dw
		if vi >= vpeak && t-last[i] > nref {
			vi = vreset
			wi += bj
			spk = append(spk, int32(a+i))
		}
		v[i], w[i] = vi, wi
	}
	return spk
}

// threshold scans v = V[a:b] after the refractory clamp: neurons at
// V ≥ V_th spike and reset. It appends them to spk in ascending order.
func threshold(c *popRT, a int, v []float64, spk []int32) []int32 {
	vth, vr := c.vth, c.vreset
	for i, x := range v {
		if x >= vth {
			v[i] = vr
			spk = append(spk, int32(a+i))
		}
	}
	return spk
}

// barrier is a reusable barrier for the threads of one network: the last
// to arrive opens the next generation. Waiters spin briefly (a step takes
// microseconds), then yield the processor, then block on a condition
// variable, so that a machine with fewer free cores than threads is not
// slowed by spinning.
type barrier struct {
	count    atomic.Int32
	gen      atomic.Uint32
	sleepers atomic.Int32
	mu       sync.Mutex
	cond     sync.Cond
	_        [40]byte
}

const (
	barrierSpin  = 200  // busy polls before yielding
	barrierYield = 2000 // polls (with yields) before blocking
)

func (b *barrier) wait(n int32) {
	g := b.gen.Load()
	if b.count.Add(1) == n {
		b.count.Store(0)
		b.gen.Add(1)
		if b.sleepers.Load() > 0 {
			b.mu.Lock()
			b.cond.Broadcast()
			b.mu.Unlock()
		}
		return
	}
	for spins := 0; b.gen.Load() == g; spins++ {
		switch {
		case spins < barrierSpin:
		case spins < barrierYield:
			runtime.Gosched()
		default:
			// The releaser increments gen before it reads sleepers, and a
			// sleeper increments sleepers before it reads gen under mu:
			// either the sleeper sees the new generation or the releaser
			// sees the sleeper and broadcasts under mu.
			b.mu.Lock()
			b.sleepers.Add(1)
			for b.gen.Load() == g {
				b.cond.Wait()
			}
			b.sleepers.Add(-1)
			b.mu.Unlock()
			return
		}
	}
}

// Sample returns the index of the next step Advance will simulate (the
// network's sample clock runs at Rate steps per second).
func (nw *Network) Sample() int64 { return nw.e.step.Load() }

// Rate returns the steps per second, 1000/dt.
func (nw *Network) Rate() float64 { return nw.e.rate }

// Neurons returns the number of neurons.
func (nw *Network) Neurons() int { return nw.e.n }

// Synapses returns the number of synapses.
func (nw *Network) Synapses() int64 { return nw.e.synCount }

// Config returns the configuration the network was built with.
func (nw *Network) Config() NetworkConfig { return nw.e.cfg }

// PopulationRange returns the first neuron and the size of the population
// called name, and whether it exists. Neuron indices are Event.Channel.
func (nw *Network) PopulationRange(name string) (first, n int, ok bool) {
	i, ok := nw.e.popIndex[name]
	if !ok {
		return 0, 0, false
	}
	p := nw.e.pops[i]
	return int(p.lo), int(p.hi - p.lo), true
}

// Potentials appends the membrane potential (mV) of every neuron to dst
// (0 for poisson sources) and returns it.
func (nw *Network) Potentials(dst []float64) []float64 { return append(dst, nw.e.v...) }

// Positions returns the (x, y) position in µm of every neuron on the sheet,
// or nil without a sheet.
func (nw *Network) Positions() [][2]float64 {
	if nw.e.x == nil {
		return nil
	}
	out := make([][2]float64, nw.e.n)
	for i := range out {
		out[i] = [2]float64{nw.e.x[i], nw.e.y[i]}
	}
	return out
}
