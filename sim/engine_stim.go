package sim

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// Injection is a current step into a group of neurons of a Network:
// AmplitudePA is added to the external current of neurons
// [First, First+Count) for Steps steps from step Sample (a Sample not in the
// future means the next step simulated). Negative amplitudes hyperpolarize.
type Injection struct {
	First, Count int
	AmplitudePA  float64
	Sample       int64
	Steps        int64
}

// stimTrain is a queued or ongoing electrode pulse train (pointer-free).
type stimTrain struct {
	electrode int32
	count     int
	next      int
	period    float64 // steps between pulses
	first     int64   // step of pulse 0; resolved to the current step when in the past
	r2        float64 // squared activation radius, µm²
}

// ElectrodeCurrent is a current step through one electrode of the sheet:
// every neuron within the electrode's reach (Sheet: the radius a pulse of
// Sheet.MaxUA activates) at distance d receives
// AmplitudePA·exp(−d²/(2·SigmaUM²)) for Steps steps from step Sample (a
// Sample not in the future means the next step simulated): a Gaussian
// fall-off of the current density around the contact, truncated at the
// reach.
type ElectrodeCurrent struct {
	Electrode   int
	AmplitudePA float64
	SigmaUM     float64
	Sample      int64
	Steps       int64
}

// stimInj is a queued or ongoing injection, into neurons [lo, hi) or, when
// electrode ≥ 0, around an electrode.
type stimInj struct {
	lo, hi    int32
	electrode int32
	amp       float64
	inv2s2    float64 // 1/(2σ²) of an electrode current
	start     int64   // first step, resolved when it begins
	steps     int64
	end       int64 // first step without it, once begun
	on        bool
}

// stimPlan is the stimulation of one step, prepared by partition 0 before
// the step and read by every partition during it.
type stimPlan struct {
	forced []int32   // neurons activated by pulses, ascending
	inject bool      // an injection begins or ends at this step
	active []stimInj // injections in force from this step
	// iextArr[k]: an injection is in force on population k, whose
	// kernel then reads the per-neuron current.
	iextArr []bool
}

// stimState is the stimulation input of a network.
type stimState struct {
	mu      sync.Mutex
	trains  []stimTrain // fixed capacity; guarded by mu
	injs    []stimInj   // fixed capacity; guarded by mu
	pending atomic.Int32
	plan    [2]stimPlan // by step parity
	mark    []bool      // per neuron, scratch of prepare
}

func (s *stimState) init(queue, n, pops int) {
	s.trains = make([]stimTrain, 0, queue)
	s.injs = make([]stimInj, 0, queue)
	s.mark = make([]bool, n)
	for i := range s.plan {
		s.plan[i].active = make([]stimInj, 0, queue)
		s.plan[i].iextArr = make([]bool, pops)
	}
}

// buildElectrodes places the electrode array (Sheet) and lists the neurons
// each electrode can reach at Sheet.MaxUA, nearest first.
func (e *engine) buildElectrodes() {
	sh := e.cfg.Sheet
	for i := range e.stim.plan {
		e.stim.plan[i].forced = e.stim.plan[i].forced[:0]
	}
	if sh.Grid == 0 || e.x == nil {
		return
	}
	off := (sh.WidthUM - float64(sh.Grid-1)*sh.PitchUM) / 2
	for r := range sh.Grid {
		for c := range sh.Grid {
			if sh.Grid >= 3 && (r == 0 || r == sh.Grid-1) && (c == 0 || c == sh.Grid-1) {
				continue
			}
			e.ex = append(e.ex, off+float64(c)*sh.PitchUM)
			e.ey = append(e.ey, off+float64(r)*sh.PitchUM)
		}
	}
	reach2 := activationR2(sh.MaxUA, sh.KUAPerMM2)
	e.elOff = make([]int32, len(e.ex)+1)
	type near struct {
		d2 float64
		i  int32
	}
	var buf []near
	for k := range e.ex {
		buf = buf[:0]
		for i := range e.n {
			dx, dy := e.x[i]-e.ex[k], e.y[i]-e.ey[k]
			if d2 := dx*dx + dy*dy; d2 <= reach2 {
				buf = append(buf, near{d2, int32(i)})
			}
		}
		slices.SortFunc(buf, func(a, b near) int {
			if c := cmp.Compare(a.d2, b.d2); c != 0 {
				return c
			}
			return cmp.Compare(a.i, b.i)
		})
		for _, nb := range buf {
			e.elN = append(e.elN, nb.i)
			e.elD2 = append(e.elD2, nb.d2)
		}
		e.elOff[k+1] = int32(len(e.elN))
	}
	for i := range e.stim.plan {
		e.stim.plan[i].forced = make([]int32, 0, min(e.n, len(e.elN)))
	}
}

// activationR2 is the squared radius (µm²) within which a pulse of ua µA
// activates neurons: r² = I/K with K in µA/mm², times 10⁶ µm²/mm².
func activationR2(ua, k float64) float64 { return ua / k * 1e6 }

// Electrodes returns the number of electrodes of the sheet's array.
func (nw *Network) Electrodes() int { return len(nw.e.ex) }

// ElectrodePositions returns the (x, y) position in µm of each electrode.
func (nw *Network) ElectrodePositions() [][2]float64 {
	out := make([][2]float64, len(nw.e.ex))
	for i := range out {
		out[i] = [2]float64{nw.e.ex[i], nw.e.ey[i]}
	}
	return out
}

// Stimulate queues the pulse train s on electrode s.Electrode: pulse k is
// applied at step s.Sample + round(k·Rate/s.FreqHz) (s.Sample not in the
// future: the next step prepared), and makes every non-refractory neuron
// within √(I/K) of the electrode fire in that step (Sheet). It returns an
// error wrapping ErrBadStimulus for invalid fields (electrode out of range,
// amplitude not in (0, Sheet.MaxUA], phase width not finite and > 0,
// count < 1, frequency not in (0, Rate] or making biphasic pulses overlap
// when count > 1), and one wrapping ErrStimQueueFull when Sheet.StimQueue
// stimuli are pending or ongoing. It does not allocate on success.
func (nw *Network) Stimulate(s Stimulus) error {
	e := nw.e
	if err := e.checkStimulus(&s); err != nil {
		return err
	}
	t := stimTrain{electrode: int32(s.Electrode), count: s.Count, first: s.Sample,
		r2: activationR2(s.AmplitudeUA, e.cfg.Sheet.KUAPerMM2)}
	if s.Count > 1 {
		t.period = e.rate / s.FreqHz
	}
	st := &e.stim
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.trains)+len(st.injs) >= cap(st.trains) {
		return fmt.Errorf("%w: %d stimuli pending or ongoing", ErrStimQueueFull, cap(st.trains))
	}
	st.trains = append(st.trains, t)
	st.pending.Add(1)
	return nil
}

func (e *engine) checkStimulus(s *Stimulus) error {
	return checkStimulus(s, len(e.ex), e.rate, e.cfg.Sheet.MaxUA)
}

// Inject queues the current step in. It returns an error wrapping
// ErrBadStimulus for an empty or out-of-range group, a non-finite
// amplitude or Steps < 1, and one wrapping ErrStimQueueFull when
// Sheet.StimQueue stimuli are pending or ongoing. It does not allocate on
// success.
func (nw *Network) Inject(in Injection) error {
	e := nw.e
	var errs []error
	if in.Count < 1 || in.First < 0 || in.First > e.n-in.Count {
		errs = append(errs, fmt.Errorf("neurons [%d, %d+%d) not a non-empty range within [0, %d)", in.First, in.First, in.Count, e.n))
	}
	if !finite(in.AmplitudePA) {
		errs = append(errs, fmt.Errorf("amplitude %v pA must be finite", in.AmplitudePA))
	}
	if in.Steps < 1 {
		errs = append(errs, fmt.Errorf("steps %d must be ≥ 1", in.Steps))
	}
	if errs != nil {
		return fmt.Errorf("%w: %w", ErrBadStimulus, errors.Join(errs...))
	}
	st := &e.stim
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.trains)+len(st.injs) >= cap(st.injs) {
		return fmt.Errorf("%w: %d stimuli pending or ongoing", ErrStimQueueFull, cap(st.injs))
	}
	st.injs = append(st.injs, stimInj{lo: int32(in.First), hi: int32(in.First + in.Count), electrode: -1, amp: in.AmplitudePA,
		start: in.Sample, steps: in.Steps})
	st.pending.Add(1)
	return nil
}

// InjectElectrode queues the electrode current c. It returns an error
// wrapping ErrBadStimulus for an electrode out of range (or no electrodes),
// a non-finite amplitude, σ not finite and > 0 or Steps < 1, and one
// wrapping ErrStimQueueFull when Sheet.StimQueue stimuli are pending or
// ongoing. It does not allocate on success.
func (nw *Network) InjectElectrode(c ElectrodeCurrent) error {
	e := nw.e
	var errs []error
	if len(e.ex) == 0 {
		errs = append(errs, errors.New("the network has no electrodes (sheet.grid = 0)"))
	} else if c.Electrode < 0 || c.Electrode >= len(e.ex) {
		errs = append(errs, fmt.Errorf("electrode %d out of range [0, %d)", c.Electrode, len(e.ex)))
	}
	if !finite(c.AmplitudePA) {
		errs = append(errs, fmt.Errorf("amplitude %v pA must be finite", c.AmplitudePA))
	}
	if !(c.SigmaUM > 0) || !finite(c.SigmaUM) {
		errs = append(errs, fmt.Errorf("σ %v µm must be finite and > 0", c.SigmaUM))
	}
	if c.Steps < 1 {
		errs = append(errs, fmt.Errorf("steps %d must be ≥ 1", c.Steps))
	}
	if errs != nil {
		return fmt.Errorf("%w: %w", ErrBadStimulus, errors.Join(errs...))
	}
	st := &e.stim
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.trains)+len(st.injs) >= cap(st.injs) {
		return fmt.Errorf("%w: %d stimuli pending or ongoing", ErrStimQueueFull, cap(st.injs))
	}
	st.injs = append(st.injs, stimInj{electrode: int32(c.Electrode), amp: c.AmplitudePA, inv2s2: 1 / (2 * c.SigmaUM * c.SigmaUM),
		start: c.Sample, steps: c.Steps})
	st.pending.Add(1)
	return nil
}

// StopStimulation cancels every pending and ongoing pulse train and
// injection: injected currents end and no pulse is applied from the next
// step prepared after it returns (during Advance, one step of 0.1 ms may
// already be prepared).
func (nw *Network) StopStimulation() {
	st := &nw.e.stim
	st.mu.Lock()
	st.trains = st.trains[:0]
	j := 0
	for _, in := range st.injs {
		if in.on { // ends at the next step prepared
			in.end = math.MinInt64
			st.injs[j] = in
			j++
		}
	}
	st.injs = st.injs[:j]
	st.pending.Store(int32(j))
	st.mu.Unlock()
}

// prepare fills the plan of step t: the neurons that pulses due at t
// activate, and the changes of injected current. Partition 0 calls it
// while no partition reads that plan.
func (e *engine) prepare(t int64) {
	st := &e.stim
	pl := &st.plan[t&1]
	pl.forced = pl.forced[:0]
	pl.inject = false
	clear(pl.iextArr)
	if st.pending.Load() == 0 {
		return
	}
	st.mu.Lock()
	j := 0
	for _, tr := range st.trains {
		if tr.next == 0 && tr.first < t {
			tr.first = t
		}
		for tr.next < tr.count && tr.first+int64(math.Floor(float64(tr.next)*tr.period+0.5)) <= t {
			for k := e.elOff[tr.electrode]; k < e.elOff[tr.electrode+1] && e.elD2[k] <= tr.r2; k++ {
				if i := e.elN[k]; !st.mark[i] {
					st.mark[i] = true
					pl.forced = append(pl.forced, i)
				}
			}
			tr.next++
		}
		if tr.next < tr.count {
			st.trains[j] = tr
			j++
		}
	}
	st.trains = st.trains[:j]
	j = 0
	for _, in := range st.injs {
		if !in.on && in.start <= t {
			in.on, in.end = true, t+in.steps
			pl.inject = true
		}
		if in.on && in.end <= t {
			pl.inject = true
			continue
		}
		st.injs[j] = in
		j++
	}
	st.injs = st.injs[:j]
	pl.active = pl.active[:0]
	for _, in := range st.injs {
		if !in.on {
			continue
		}
		pl.active = append(pl.active, in)
		for k := range e.pops {
			if c := &e.pops[k]; in.electrode >= 0 || in.lo < c.hi && c.lo < in.hi {
				pl.iextArr[k] = true
			}
		}
	}
	st.pending.Store(int32(len(st.trains) + len(st.injs)))
	st.mu.Unlock()
	for _, i := range pl.forced {
		st.mark[i] = false
	}
	slices.Sort(pl.forced)
}

// applyInjections recomputes the external current of neurons [lo, hi)
// when an injection begins or ends: each population's constant, plus every
// injection in force in queue order, so the current returns exactly to the
// constant when the last one ends and each neuron's sum is formed in the
// same order whatever the partition.
func (e *engine) applyInjections(pl *stimPlan, lo, hi int) {
	for k := range e.pops {
		c := &e.pops[k]
		for i := max(lo, int(c.lo)); i < min(hi, int(c.hi)); i++ {
			e.iext[i] = c.iext
		}
	}
	for _, in := range pl.active {
		if in.electrode < 0 {
			for i := max(lo, int(in.lo)); i < min(hi, int(in.hi)); i++ {
				e.iext[i] += in.amp
			}
			continue
		}
		for k := e.elOff[in.electrode]; k < e.elOff[in.electrode+1]; k++ {
			if i := int(e.elN[k]); i >= lo && i < hi {
				e.iext[i] += in.amp * math.Exp(-e.elD2[k]*in.inv2s2)
			}
		}
	}
}

// force makes the neurons of forced (ascending) within [lo, hi) fire in
// step t unless refractory or already firing, merging them into the sorted
// spike list spk.
func (e *engine) force(pt *partRT, spk, forced []int32, lo, hi int, t int64) []int32 {
	a, _ := slices.BinarySearch(forced, int32(lo))
	b, _ := slices.BinarySearch(forced, int32(hi))
	if a == b {
		return spk
	}
	out := pt.scratch[:0]
	k := 0
	for _, f := range forced[a:b] {
		for k < len(spk) && spk[k] < f {
			out = append(out, spk[k])
			k++
		}
		if k < len(spk) && spk[k] == f {
			continue // fired on its own
		}
		for p := range e.pops {
			c := &e.pops[p]
			if f < c.lo || f >= c.hi {
				continue
			}
			if t-e.last[f] <= int64(c.nref) {
				break // refractory
			}
			if c.kind != kindPoisson {
				e.v[f] = c.vreset
			}
			if c.kind == kindIzh || c.kind == kindAdEx {
				e.u[f] += c.jump // the spike's jump of u or w
			}
			e.last[f] = t
			if c.nref > 0 {
				pt.rq[p].push(f, t)
			}
			out = append(out, f)
			break
		}
	}
	out = append(out, spk[k:]...)
	pt.scratch = spk[:0]
	return out
}

var _ Stimulable = (*Network)(nil)
