package sim

import (
	"errors"
	"math"
	"sync"
	"testing"

	"github.com/bciloop/bciloop/model"
)

// near returns the neurons within r µm of electrode k.
func near(nw *Network, k int, r float64) map[int32]bool {
	el := nw.ElectrodePositions()[k]
	out := map[int32]bool{}
	for i, p := range nw.Positions() {
		if math.Hypot(p[0]-el[0], p[1]-el[1]) <= r {
			out[int32(i)] = true
		}
	}
	return out
}

func countIn(ev []Event, set map[int32]bool, from, to int64) int {
	c := 0
	for _, e := range ev {
		if e.Sample >= from && e.Sample < to && set[e.Channel] {
			c++
		}
	}
	return c
}

// TestElectrodePulse: a pulse makes every non-refractory neuron within
// √(I/K) of the electrode fire in its step, leaves the others untouched in
// that step, and raises the firing around the electrode over the next
// milliseconds above an unstimulated run from the same seed.
func TestElectrodePulse(t *testing.T) {
	cfg := CUBA(2000)
	cfg.Seed = 2
	const s0, k, ua = 500, 45, 50.0
	ctl := newNet(t, cfg)
	stim := newNet(t, cfg)
	evC := ctl.Advance(s0, nil)
	evS := stim.Advance(s0, nil)
	last := append([]int64(nil), stim.e.last...) // last spikes before step s0
	if err := stim.Stimulate(Stimulus{Electrode: k, AmplitudeUA: ua, PhaseUS: 200, Count: 1}); err != nil {
		t.Fatal(err)
	}
	evC = ctl.Advance(50, evC)
	evS = stim.Advance(50, evS)

	r := math.Sqrt(activationR2(ua, cfg.Sheet.KUAPerMM2)) // 200 µm at K = 1250 µA/mm²
	if math.Abs(r-200) > 1e-9 {
		t.Fatalf("activation radius %v µm, want 200", r)
	}
	inR := near(stim, k, r)
	fired := map[int32]bool{}
	for _, e := range evS {
		if e.Sample == s0 {
			fired[e.Channel] = true
		}
	}
	if len(inR) < 10 {
		t.Fatalf("only %d neurons within %v µm", len(inR), r)
	}
	nref := int64(cfg.Populations[0].LIF.TRef / cfg.DtMs)
	for i := range inR {
		// A neuron still refractory in step s0 (it spiked at most nref
		// steps before) cannot fire.
		if !fired[i] && s0-last[i] > nref {
			t.Errorf("neuron %d within reach and not refractory did not fire", i)
		}
	}
	for _, e := range evS {
		if e.Sample == s0 && !inR[e.Channel] {
			// Outside the reach, step s0 is the unstimulated run's.
			found := false
			for _, c := range evC {
				if c == e {
					found = true
				}
			}
			if !found {
				t.Errorf("neuron %d outside the reach fired only with stimulation", e.Channel)
			}
		}
	}
	// Within 400 µm over the pulse's step and the next 3 ms.
	around := near(stim, k, 400)
	c, s := countIn(evC, around, s0, s0+30), countIn(evS, around, s0, s0+30)
	if s < c+len(inR)/2 {
		t.Errorf("spikes within 400 µm in 3 ms: %d stimulated vs %d control", s, c)
	}
}

// TestInterneuronStimulation: depolarizing the inhibitory population
// raises its rate and lowers that of the excitatory cells. +100 pA raises
// the interneurons' V∞ by R·I = 10 mV (g_L = 10 nS); each excitatory cell
// receives about 16 inhibitory synapses of −9 mV, so a 1.5-fold rise of
// the inhibitory rate should cut the excitatory rate by far more than 30 %.
func TestInterneuronStimulation(t *testing.T) {
	cfg := CUBA(1000)
	cfg.Seed = 3
	const start, steps = 1000, 3000 // 100 ms in, for 300 ms
	rates := func(inject bool) (re, ri float64) {
		nw := newNet(t, cfg)
		fi, ni, _ := nw.PopulationRange("I")
		if inject {
			if err := nw.Inject(Injection{First: fi, Count: ni, AmplitudePA: 100, Sample: start, Steps: steps}); err != nil {
				t.Fatal(err)
			}
		}
		ev := nw.Advance(start+steps, nil)
		st := NewSpikeStats(nw.Neurons(), start+500, start+steps) // after 50 ms of settling
		st.Add(ev)
		fe, ne, _ := nw.PopulationRange("E")
		return st.Rate(fe, ne, cfg.DtMs), st.Rate(fi, ni, cfg.DtMs)
	}
	ce, ci := rates(false)
	se, si := rates(true)
	t.Logf("control E %.2f Hz I %.2f Hz; I stimulated: E %.2f Hz I %.2f Hz", ce, ci, se, si)
	if si < 1.5*ci {
		t.Errorf("inhibitory rate %v Hz under +100 pA, want at least 1.5 times the control %v Hz", si, ci)
	}
	if se > 0.7*ce {
		t.Errorf("excitatory rate %v Hz with interneurons stimulated, want below 70%% of the control %v Hz", se, ce)
	}
}

// TestInjection: a current step adds exactly its amplitude to V∞ while it
// lasts, and the current returns exactly to the population's constant.
func TestInjection(t *testing.T) {
	cell := model.LIF{C: 200, GL: 10, EL: -70, VTh: -50, VReset: -60, TRef: 2}
	cfg := single(Population{Model: ModelLIF, LIF: cell, TauEMs: 5, TauIMs: 10, IExtPA: 12.5, InitV: Dist{Kind: "const", A: -70}})
	nw := newNet(t, cfg)
	if err := nw.Inject(Injection{First: 0, Count: 1, AmplitudePA: 50, Sample: 10, Steps: 30}); err != nil {
		t.Fatal(err)
	}
	if err := nw.Inject(Injection{First: 0, Count: 1, AmplitudePA: -20, Sample: 20, Steps: 5}); err != nil {
		t.Fatal(err)
	}
	v := -70.0
	am := math.Exp(-0.1 / 20)
	var got []float64
	for s := int64(0); s < 60; s++ {
		i := 12.5
		if s >= 10 && s < 40 {
			i += 50
		}
		if s >= 20 && s < 25 {
			i -= 20
		}
		vinf := cell.EL + i/cell.GL
		v = vinf + (v-vinf)*am
		nw.Advance(1, nil)
		got = nw.Potentials(got[:0])
		if math.Abs(got[0]-v) > 1e-12 {
			t.Fatalf("after step %d: V = %v, want %v", s, got[0], v)
		}
	}
	if nw.e.iext[0] != 12.5 {
		t.Errorf("current after the injections %v pA, want exactly 12.5", nw.e.iext[0])
	}
}

// TestElectrodeCurrent: a current through an electrode reaches each
// neuron with the Gaussian fall-off of its distance, raises the firing
// around the electrode, and is gone exactly when it ends.
func TestElectrodeCurrent(t *testing.T) {
	cfg := CUBA(2000)
	cfg.Seed = 4
	const k, amp, sigma, s0, steps = 45, 100.0, 150.0, 200, 3000
	ctl, stim := newNet(t, cfg), newNet(t, cfg)
	if err := stim.InjectElectrode(ElectrodeCurrent{Electrode: k, AmplitudePA: amp, SigmaUM: sigma, Sample: s0, Steps: steps}); err != nil {
		t.Fatal(err)
	}
	evC := ctl.Advance(s0+steps/2, nil)
	evS := stim.Advance(s0+steps/2, nil)
	el := stim.ElectrodePositions()[k]
	reach := math.Sqrt(activationR2(cfg.Sheet.MaxUA, cfg.Sheet.KUAPerMM2)) // 400 µm
	for i, p := range stim.Positions() {
		d := math.Hypot(p[0]-el[0], p[1]-el[1])
		want := 0.0
		if d <= reach {
			want = amp * math.Exp(-d*d/(2*sigma*sigma))
		}
		if got := stim.e.iext[i]; math.Abs(got-want) > 1e-12*amp {
			t.Fatalf("neuron %d at %v µm: %v pA, want %v", i, d, got, want)
		}
	}
	evC = ctl.Advance(steps, evC)
	evS = stim.Advance(steps, evS)
	for i, c := range stim.e.iext {
		if c != 0 {
			t.Fatalf("neuron %d keeps %v pA after the current ended", i, c)
		}
	}
	close := near(stim, k, sigma)
	c, s := countIn(evC, close, s0, s0+steps), countIn(evS, close, s0, s0+steps)
	t.Logf("spikes within %v µm during the current: %d with it, %d without", sigma, s, c)
	if s < 2*c+5 {
		t.Errorf("spikes within %v µm: %d with the current, %d without", sigma, s, c)
	}
}

func TestStimulateErrors(t *testing.T) {
	nw := newNet(t, CUBA(400))
	ok := Stimulus{Electrode: 5, AmplitudeUA: 50, PhaseUS: 200, Count: 1}
	tests := []struct {
		name string
		edit func(s *Stimulus)
	}{
		{"electrode", func(s *Stimulus) { s.Electrode = 96 }},
		{"negative electrode", func(s *Stimulus) { s.Electrode = -1 }},
		{"amplitude", func(s *Stimulus) { s.AmplitudeUA = 0 }},
		{"amplitude above max", func(s *Stimulus) { s.AmplitudeUA = 201 }},
		{"phase", func(s *Stimulus) { s.PhaseUS = math.NaN() }},
		{"count", func(s *Stimulus) { s.Count = 0 }},
		{"frequency", func(s *Stimulus) { s.Count, s.FreqHz = 3, 0 }},
		{"frequency above rate", func(s *Stimulus) { s.Count, s.FreqHz = 3, 20000 }},
		{"overlap", func(s *Stimulus) { s.Count, s.FreqHz, s.PhaseUS = 3, 5000, 150 }},
	}
	for _, tc := range tests {
		s := ok
		tc.edit(&s)
		if err := nw.Stimulate(s); !errors.Is(err, ErrBadStimulus) {
			t.Errorf("%s: error %v, want ErrBadStimulus", tc.name, err)
		}
	}
	for _, in := range []Injection{{First: 0, Count: 0, AmplitudePA: 1, Steps: 1}, {First: 390, Count: 11, AmplitudePA: 1, Steps: 1},
		{First: 0, Count: 1, AmplitudePA: math.Inf(1), Steps: 1}, {First: 0, Count: 1, AmplitudePA: 1, Steps: 0}} {
		if err := nw.Inject(in); !errors.Is(err, ErrBadStimulus) {
			t.Errorf("Inject(%+v): error %v, want ErrBadStimulus", in, err)
		}
	}
	for _, c := range []ElectrodeCurrent{{Electrode: 96, AmplitudePA: 1, SigmaUM: 1, Steps: 1}, {AmplitudePA: math.NaN(), SigmaUM: 1, Steps: 1},
		{AmplitudePA: 1, SigmaUM: 0, Steps: 1}, {AmplitudePA: 1, SigmaUM: 1, Steps: 0}} {
		if err := nw.InjectElectrode(c); !errors.Is(err, ErrBadStimulus) {
			t.Errorf("InjectElectrode(%+v): error %v, want ErrBadStimulus", c, err)
		}
	}
	for range nw.Config().Sheet.StimQueue {
		if err := nw.Stimulate(ok); err != nil {
			t.Fatal(err)
		}
	}
	if err := nw.Stimulate(ok); !errors.Is(err, ErrStimQueueFull) {
		t.Errorf("full queue: %v", err)
	}
	if err := nw.Inject(Injection{Count: 1, Steps: 1}); !errors.Is(err, ErrStimQueueFull) {
		t.Errorf("full queue: %v", err)
	}
	if err := nw.InjectElectrode(ElectrodeCurrent{AmplitudePA: 1, SigmaUM: 1, Steps: 1}); !errors.Is(err, ErrStimQueueFull) {
		t.Errorf("full queue: %v", err)
	}
	cfg := CUBA(400)
	cfg.Sheet.Grid = 0
	noEl := newNet(t, cfg)
	if err := noEl.Stimulate(ok); !errors.Is(err, ErrBadStimulus) {
		t.Errorf("no electrodes: %v", err)
	}
	if err := noEl.InjectElectrode(ElectrodeCurrent{AmplitudePA: 1, SigmaUM: 1, Steps: 1}); !errors.Is(err, ErrBadStimulus) {
		t.Errorf("no electrodes: %v", err)
	}
}

func TestStopStimulation(t *testing.T) {
	cfg := CUBA(1000)
	nw := newNet(t, cfg)
	nw.Advance(10, nil)
	// A long train and a long injection, stopped after 200 steps.
	if err := nw.Stimulate(Stimulus{Electrode: 50, AmplitudeUA: 100, PhaseUS: 100, Count: 100, FreqHz: 100}); err != nil {
		t.Fatal(err)
	}
	if err := nw.Inject(Injection{First: 0, Count: 1000, AmplitudePA: 30, Steps: 100000}); err != nil {
		t.Fatal(err)
	}
	ev := nw.Advance(200, nil)
	reach := near(nw, 50, math.Sqrt(activationR2(100, cfg.Sheet.KUAPerMM2)))
	pulses := 0
	for s := int64(10); s < 210; s += 100 {
		if countIn(ev, reach, s, s+1) > len(reach)/2 {
			pulses++
		}
	}
	if pulses != 2 {
		t.Errorf("%d pulses seen in 20 ms at 100 Hz, want 2", pulses)
	}
	nw.StopStimulation()
	ev = nw.Advance(300, ev[:0])
	for s := int64(310); s < 510; s += 100 {
		if c := countIn(ev, reach, s, s+1); c > len(reach)/2 {
			t.Errorf("step %d: %d of %d neurons in reach fired after StopStimulation", s, c, len(reach))
		}
	}
	for i, c := range nw.e.iext {
		if c != 0 {
			t.Fatalf("neuron %d keeps %v pA after StopStimulation", i, c)
		}
	}
	if p := nw.e.stim.pending.Load(); p != 0 {
		t.Errorf("%d stimuli pending after StopStimulation", p)
	}
}

func TestStimulateConcurrent(t *testing.T) {
	cfg := CUBA(500)
	cfg.Threads = 2
	nw := newNet(t, cfg)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = nw.Stimulate(Stimulus{Electrode: i % 96, AmplitudeUA: 60, PhaseUS: 100, Count: 2, FreqHz: 200})
			_ = nw.Inject(Injection{First: i % 400, Count: 50, AmplitudePA: 10, Steps: 20})
			_ = nw.Sample()
			if i%7 == 0 {
				nw.StopStimulation()
			}
		}
	}()
	var ev []Event
	for range 50 {
		ev = nw.Advance(20, ev[:0])
	}
	close(stop)
	wg.Wait()
	if nw.Sample() != 1000 {
		t.Errorf("sample %d", nw.Sample())
	}
}

// TestInterneuronStimulationCOBA: the same on the conductance-based
// benchmark network (whose injected currents take the scalar path of the
// vector kernel). Its cells sit in a high-conductance state (g_T ≈ 250 nS,
// 25 times g_L), so +3 nA moves the interneurons' V∞ by about 12 mV: they
// fire more in the first 10 ms, and the excitatory activity collapses
// (after which the interneurons run on the injected current alone).
func TestInterneuronStimulationCOBA(t *testing.T) {
	cfg := COBA(2000, 6, 67)
	cfg.Seed = 3
	const start, steps = 1000, 2000 // 100 ms in, for 200 ms
	rates := func(inject bool) (re, ri, ri0 float64) {
		nw := newNet(t, cfg)
		fi, ni, _ := nw.PopulationRange("I")
		if inject {
			if err := nw.Inject(Injection{First: fi, Count: ni, AmplitudePA: 3000, Sample: start, Steps: steps}); err != nil {
				t.Fatal(err)
			}
		}
		ev := nw.Advance(start+steps, nil)
		st := NewSpikeStats(nw.Neurons(), start+200, start+steps)
		st.Add(ev)
		onset := NewSpikeStats(nw.Neurons(), start, start+100)
		onset.Add(ev)
		fe, ne, _ := nw.PopulationRange("E")
		return st.Rate(fe, ne, cfg.DtMs), st.Rate(fi, ni, cfg.DtMs), onset.Rate(fi, ni, cfg.DtMs)
	}
	ce, ci, ci0 := rates(false)
	se, si, si0 := rates(true)
	t.Logf("control E %.2f Hz I %.2f Hz (first 10 ms %.2f Hz); I stimulated: E %.2f Hz I %.2f Hz (first 10 ms %.2f Hz)", ce, ci, ci0, se, si, si0)
	if si0 < 1.5*ci0 {
		t.Errorf("inhibitory rate in the first 10 ms %.2f Hz under +3 nA, want at least 1.5 times the control %.2f Hz", si0, ci0)
	}
	if se > 0.7*ce {
		t.Errorf("excitatory rate %.2f Hz with interneurons stimulated, want below 70%% of the control %.2f Hz", se, ce)
	}
}

// TestElectrodePulseModels: a pulse makes the izhikevich and adex neurons
// in reach fire in its step, with the spike's reset of v and jump of u or w.
func TestElectrodePulseModels(t *testing.T) {
	for _, m := range []NeuronModel{ModelIzhikevich, ModelAdEx} {
		cfg := modelNet(m, 1)
		nw := newNet(t, cfg)
		nw.Advance(1000, nil)
		u0 := append([]float64(nil), nw.e.u...)
		last := append([]int64(nil), nw.e.last...)
		const s0, k = 1000, 44
		if err := nw.Stimulate(Stimulus{Electrode: k, AmplitudeUA: 50, PhaseUS: 200, Count: 1}); err != nil {
			t.Fatal(err)
		}
		ev := nw.Advance(1, nil)
		inR := near(nw, k, 200)
		fired := map[int32]bool{}
		for _, e := range ev {
			fired[e.Channel] = true
		}
		c := &nw.e.pops[0]
		checked := 0
		for i := range inR {
			if int(i) >= 800 || s0-last[i] <= int64(c.nref) {
				continue // excitatory, not refractory
			}
			checked++
			// The step's own update moves u (w) a little before the jump.
			if !fired[i] || nw.e.v[i] != c.vreset || math.Abs(nw.e.u[i]-u0[i]-c.jump) > 0.05*math.Abs(c.jump)+1 {
				t.Errorf("%s neuron %d: fired %v, v %v (reset %v), u %v → %v (jump %v)", m, i, fired[i], nw.e.v[i], c.vreset, u0[i], nw.e.u[i], c.jump)
			}
		}
		if checked < 3 {
			t.Errorf("%s: %d excitatory neurons in reach", m, checked)
		}
	}
}
