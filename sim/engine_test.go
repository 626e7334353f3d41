package sim

import (
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bciloop/bciloop/model"
)

// single returns a network of one neuron of population pc.
func single(pc Population) NetworkConfig {
	cfg := DefaultNetworkConfig()
	cfg.Sheet.Grid = 0
	pc.Name, pc.N = "P", 1
	cfg.Populations = []Population{pc}
	return cfg
}

func newNet(t testing.TB, cfg NetworkConfig) *Network {
	t.Helper()
	nw, err := NewNetwork(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nw.Close)
	return nw
}

// TestLIFPeriod checks the interspike interval under a constant current
// against the analytic f–I curve of model.LIF: the membrane is integrated
// exactly and a spike is registered at the end of the first step with
// V ≥ V_th, after V was held at V_reset for t_ref, so every interval lies
// in [T, T + dt).
func TestLIFPeriod(t *testing.T) {
	cell := model.VogelsAbbottLIF()
	for _, c := range []struct {
		name  string
		model NeuronModel
		tauE  float64
	}{{"lif exponential", ModelLIF, 5}, {"lif delta", ModelLIF, 0}, {"lif-cond", ModelLIFCond, 5}} {
		for _, ipa := range []float64{105, 250, 800, 3000} {
			pc := Population{Model: c.model, LIF: cell, TauEMs: c.tauE, TauIMs: 2 * c.tauE, IExtPA: ipa,
				InitV: Dist{Kind: "const", A: cell.VReset}}
			nw := newNet(t, single(pc))
			ev := nw.Advance(20000, nil)
			want := cell.Period(ipa) // ms
			if len(ev) < 3 {
				t.Fatalf("%s I=%v: %d spikes", c.name, ipa, len(ev))
			}
			for k := 1; k < len(ev); k++ {
				isi := float64(ev[k].Sample-ev[k-1].Sample) * 0.1
				if isi < want-1e-9 || isi >= want+0.1+1e-9 {
					t.Fatalf("%s I=%v pA: interval %v ms, want in [%v, %v)", c.name, ipa, isi, want, want+0.1)
				}
			}
		}
	}
}

// TestCUBAPSP checks the exact propagator of an exponential current
// synapse against the closed-form PSP of model.Synapse.
func TestCUBAPSP(t *testing.T) {
	cell := model.LIF{C: 200, GL: 10, EL: -60, VTh: -50, VReset: -60, TRef: 5}
	for _, tauE := range []float64{5, 20, 1} {
		const w = 50.0 // pA at t = 0
		nw := newNet(t, single(Population{Model: ModelLIF, LIF: cell, TauEMs: tauE, TauIMs: 10,
			InitV: Dist{Kind: "const", A: cell.EL}, InitE: Dist{Kind: "const", A: w}}))
		syn := model.Synapse{Kind: model.SynExp, TauDecay: tauE}
		var v []float64
		for s := 1; s <= 500; s++ {
			nw.Advance(1, nil)
			v = nw.Potentials(v[:0])
			want := cell.EL + w*syn.PSP(float64(s)*0.1, cell.C/cell.GL, 1/cell.GL)
			if math.Abs(v[0]-want) > 1e-9 {
				t.Fatalf("τ_e=%v step %d: V = %.15g, want %.15g", tauE, s, v[0], want)
			}
		}
	}
}

// TestKappaContinuous checks that the propagator coefficient κ stays
// accurate as τ_s approaches τ_m, where the closed form divides a
// vanishing difference by a vanishing difference (κ is formed with expm1).
func TestKappaContinuous(t *testing.T) {
	const tm, dt, r = 20.0, 0.1, 0.1
	lim := kappa(tm, tm, dt, r)
	for _, d := range []float64{1e-3, 1e-6, 1e-9, 1e-11} {
		for _, ts := range []float64{tm * (1 + d), tm * (1 - d)} {
			// κ is smooth in τ_s with dκ/dτ_s = O(κ dt/τ²): the change over
			// the offset is about κ·d·dt/τ_m.
			if got := kappa(ts, tm, dt, r); math.Abs(got/lim-1) > 2*d*dt/tm+1e-13 {
				t.Errorf("κ(%v) = %v, limit %v", ts, got, lim)
			}
		}
	}
}

// TestCOBAPSP compares the conductance-based update with an adaptive RK45
// solution of the same membrane (model.SynapticMembrane) and checks its
// order of convergence, with both kernel flavours.
func TestCOBAPSP(t *testing.T) {
	cell := model.VogelsAbbottLIF()
	cell.VTh = 0    // keep the PSP below threshold
	const g0 = 20.0 // nS at t = 0
	ref := model.SynapticMembrane{C: cell.C, GL: cell.GL, EL: cell.EL, V0: cell.EL,
		Syn: model.SynapticInput{Syn: model.Synapse{Kind: model.SynExp, TauDecay: 5, ERev: cell.EE}, W: g0, Spikes: []float64{0}}}
	tr, err := model.Simulate(ref, model.Const(0), 0, 40, model.SimOptions{SampleDt: 0.05, AbsTol: 1e-12, RelTol: 1e-12})
	if err != nil {
		t.Fatal(err)
	}
	vref := tr.Var("V")
	maxErr := func(dt float64, simd bool) float64 {
		cfg := single(Population{Model: ModelLIFCond, LIF: cell, TauEMs: 5, TauIMs: 10,
			InitV: Dist{Kind: "const", A: cell.EL}, InitE: Dist{Kind: "const", A: g0}})
		cfg.DtMs = dt
		nw := newNet(t, cfg)
		nw.e.simd = simd
		worst := 0.0
		var v []float64
		per := int(math.Round(0.05 / dt))
		for j := 1; j < len(vref); j++ {
			nw.Advance(per, nil)
			v = nw.Potentials(v[:0])
			worst = max(worst, math.Abs(v[0]-vref[j]))
		}
		return worst
	}
	for _, simd := range []bool{false, simdAvailable} {
		e1, e2 := maxErr(0.05, simd), maxErr(0.025, simd)
		t.Logf("simd=%v: max |V − V_RK45| %.3g mV at dt = 0.05 ms, %.3g mV at 0.025 ms", simd, e1, e2)
		// The PSP rises about 17 mV above rest; the exponential step with
		// step-averaged conductances is second-order: halving dt divides
		// the error by about 4.
		if e1 > 1e-4 {
			t.Errorf("simd=%v dt = 0.05 ms: max |ΔV| = %g mV, want ≤ 1e-4", simd, e1)
		}
		if e2 > e1/3.5 {
			t.Errorf("simd=%v halving dt: error %g → %g, want at least 3.5× smaller (second order)", simd, e1, e2)
		}
	}
}

// TestDelays checks when spikes arrive: a neuron made to fire at step 0
// reaches delta-synapse targets exactly d steps later (delay d), through
// the ring buffer, with per-synapse delays.
func TestDelays(t *testing.T) {
	cell := model.LIF{C: 250, GL: 12.5, EL: 0, VTh: 20, VReset: 10, TRef: 2}
	cfg := DefaultNetworkConfig()
	cfg.Sheet.Grid = 0
	cfg.Populations = []Population{
		// A fires at the end of step 0 (it starts just below threshold with a strong drive), then is refractory.
		{Name: "A", N: 1, Model: ModelLIF, LIF: cell, IExtPA: 1000, InitV: Dist{Kind: "const", A: 19.99}},
		{Name: "B", N: 3, Model: ModelLIF, LIF: cell, InitV: Dist{Kind: "const", A: 0}},
	}
	cfg.Projections = []Projection{{From: "A", To: "B", Receptor: Exc, Rule: ConnList,
		Pre: []int32{0, 0, 0}, Post: []int32{0, 1, 2}, Weights: []float64{0.5, 1, -2}, DelaysMs: []float64{0.1, 0.7, 1.5}}}
	nw := newNet(t, cfg)
	ev := nw.Advance(1, nil)
	if len(ev) != 1 || ev[0] != (Event{0, 0}) {
		t.Fatalf("step 0 spikes %v, want A at step 0", ev)
	}
	arrive := []int64{1, 7, 15}
	jump := []float64{0.5, 1, -2}
	var v []float64
	for s := int64(1); s <= 16; s++ {
		nw.Advance(1, nil)
		v = nw.Potentials(v[:0])
		for k := range 3 {
			want := 0.0
			if s >= arrive[k] {
				// The jump at its arrival step, then decay with τ = 20 ms.
				want = jump[k] * math.Exp(-float64(s-arrive[k])*0.1/20)
			}
			if math.Abs(v[1+k]-want) > 1e-12 {
				t.Fatalf("after step %d: V_B%d = %v, want %v", s, k, v[1+k], want)
			}
		}
	}
}

// runEvents advances cfg for steps steps with stimulation on the way and
// returns every spike.
func runEvents(t testing.TB, cfg NetworkConfig, steps int, stim bool) []Event {
	nw := newNet(t, cfg)
	var ev []Event
	for s := 0; s < steps; s += 37 { // odd chunks: the result must not depend on them
		if stim && s == 74 {
			if nw.Electrodes() > 0 {
				if err := nw.Stimulate(Stimulus{Electrode: 40, AmplitudeUA: 80, PhaseUS: 200, Count: 3, FreqHz: 500, Sample: 100}); err != nil {
					t.Fatal(err)
				}
			}
			if err := nw.Inject(Injection{First: nw.Neurons() - 30, Count: 25, AmplitudePA: 150, Sample: 90, Steps: 60}); err != nil {
				t.Fatal(err)
			}
			if nw.Electrodes() > 0 {
				if err := nw.InjectElectrode(ElectrodeCurrent{Electrode: 60, AmplitudePA: 80, SigmaUM: 150, Sample: 120, Steps: 90}); err != nil {
					t.Fatal(err)
				}
			}
		}
		ev = nw.Advance(min(37, steps-s), ev)
	}
	return ev
}

func TestDeterminism(t *testing.T) {
	steps := 1500
	if raceEnabled {
		steps = 300
	}
	brunel, err := Brunel(BrunelPanelC, 1500)
	if err != nil {
		t.Fatal(err)
	}
	dist := pairNet(600, 600, 1,
		Projection{From: "A", To: "B", Receptor: Exc, Rule: ConnDistance, P: 0.5, SigmaUM: 150, Weight: 300, DelayMs: 0.5, DelayMaxMs: 2},
		Projection{From: "B", To: "A", Receptor: Inh, Rule: ConnProb, P: 0.05, Weight: -100, DelayMs: 0.1})
	dist.Populations[0].IExtPA, dist.Populations[1].IExtPA = 110, 105
	dist.Inputs = []PoissonInput{{To: "A", Receptor: Exc, N: 100, RateHz: 10, Weight: 20}}
	for _, c := range []struct {
		name string
		cfg  NetworkConfig
	}{{"coba", COBA(2000, 6, 67)}, {"cuba", CUBA(1000)}, {"brunel", brunel}, {"distance", dist}} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Seed = 5
			var ref []Event
			for _, threads := range []int{1, 2, 3, 8} {
				cfg := c.cfg
				cfg.Threads = threads
				ev := runEvents(t, cfg, steps, true)
				if len(ev) == 0 {
					t.Fatal("no spikes")
				}
				if threads == 1 {
					ref = ev
					continue
				}
				if !slices.Equal(ev, ref) {
					t.Fatalf("threads=%d: %d spikes differ from one thread's %d", threads, len(ev), len(ref))
				}
			}
			cfg := c.cfg
			cfg.Seed = 6
			if ev := runEvents(t, cfg, steps, true); slices.Equal(ev, ref) {
				t.Error("seeds 5 and 6 gave the same spikes")
			}
		})
	}
}

func TestAdvanceAllocs(t *testing.T) {
	for _, threads := range []int{1, 2} {
		cfg := COBA(1000, 6, 67)
		cfg.Threads = threads
		nw := newNet(t, cfg)
		buf := make([]Event, 0, 1<<16)
		buf = nw.Advance(100, buf)
		allocs := testing.AllocsPerRun(20, func() {
			buf = nw.Advance(10, buf[:0])
		})
		if allocs != 0 {
			t.Errorf("threads=%d: Advance allocates %v times per call", threads, allocs)
		}
		allocs = testing.AllocsPerRun(20, func() {
			if err := nw.Stimulate(Stimulus{Electrode: 3, AmplitudeUA: 50, PhaseUS: 100, Count: 1}); err != nil {
				t.Fatal(err)
			}
			if err := nw.Inject(Injection{First: 0, Count: 10, AmplitudePA: 5, Steps: 3}); err != nil {
				t.Fatal(err)
			}
			if err := nw.InjectElectrode(ElectrodeCurrent{Electrode: 7, AmplitudePA: 5, SigmaUM: 80, Steps: 4}); err != nil {
				t.Fatal(err)
			}
			buf = nw.Advance(5, buf[:0])
		})
		if allocs != 0 {
			t.Errorf("threads=%d: stimulation and Advance allocate %v times per call", threads, allocs)
		}
	}
}

// workers counts the goroutines running engine workers.
func workers() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "sim.(*engine).worker(")
}

// waitWorkers polls until at most n workers run, and returns their count.
func waitWorkers(n int) int {
	deadline := time.Now().Add(5 * time.Second)
	w := workers()
	for w > n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		w = workers()
	}
	return w
}

func TestClose(t *testing.T) {
	// Every network of the other tests is closed when its test ends.
	if w := waitWorkers(0); w != 0 {
		t.Fatalf("%d workers of earlier networks still run", w)
	}
	cfg := CUBA(800)
	cfg.Threads = 4
	nw, err := NewNetwork(cfg)
	if err != nil {
		t.Fatal(err)
	}
	nw.Advance(20, nil)
	if w := workers(); w != 3 {
		t.Errorf("%d workers with 4 threads, want 3", w)
	}
	nw.Close()
	nw.Close() // idempotent
	if w := waitWorkers(0); w != 0 {
		t.Errorf("%d workers after Close", w)
	}
	// An unreachable network stops its workers too (runtime.AddCleanup).
	func() {
		nw, err := NewNetwork(cfg)
		if err != nil {
			t.Fatal(err)
		}
		nw.Advance(5, nil)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for workers() > 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if w := workers(); w != 0 {
		t.Errorf("%d workers of an unreachable network", w)
	}
}

func TestNetworkAccessors(t *testing.T) {
	cfg := COBA(500, 6, 67)
	nw := newNet(t, cfg)
	if nw.Neurons() != 500 || nw.Rate() != 10000 || nw.Sample() != 0 {
		t.Errorf("neurons %d rate %v sample %d", nw.Neurons(), nw.Rate(), nw.Sample())
	}
	if f, n, ok := nw.PopulationRange("I"); !ok || f != 400 || n != 100 {
		t.Errorf("I = [%d, +%d) %v", f, n, ok)
	}
	if _, _, ok := nw.PopulationRange("X"); ok {
		t.Error("unknown population found")
	}
	nw.Advance(7, nil)
	if nw.Sample() != 7 {
		t.Errorf("sample %d after 7 steps", nw.Sample())
	}
	if p := nw.Positions(); len(p) != 500 || p[3][0] < 0 || p[3][0] >= 4000 {
		t.Errorf("positions %d, %v", len(p), p[3])
	}
	if nw.Electrodes() != 96 || len(nw.ElectrodePositions()) != 96 {
		t.Errorf("%d electrodes", nw.Electrodes())
	}
	if got := nw.Config(); got.Name != cfg.Name || len(got.Populations) != 2 {
		t.Errorf("config %+v", got)
	}
	if nw.Synapses() <= 0 {
		t.Error("no synapses")
	}
}
