package sim

import (
	"math"
	"slices"
	"testing"

	"github.com/bciloop/bciloop/model"
)

// spikeTimes runs a single-neuron network for steps and returns its spike
// times in ms (end of the step of each spike).
func spikeTimes(t *testing.T, cfg NetworkConfig, steps int) []float64 {
	t.Helper()
	nw := newNet(t, cfg)
	var out []float64
	for _, ev := range nw.Advance(steps, nil) {
		out = append(out, float64(ev.Sample+1)*cfg.DtMs)
	}
	return out
}

// isis returns the intervals between successive times.
func isis(ts []float64) []float64 {
	var out []float64
	for k := 1; k < len(ts); k++ {
		out = append(out, ts[k]-ts[k-1])
	}
	return out
}

// TestIzhikevichCell checks an izhikevich population of one neuron of each
// class of Izhikevich (2003, Fig. 2) under a step of I = 10: its spikes are
// those of model.IzhikevichStepper (the same scheme), its firing rate is
// that of the RK45 solution of the equations (model.Simulate) within 10 %,
// and its pattern is the published one: RS adapts, FS fires fast and
// tonically, IB starts with a burst and then fires single spikes, CH fires
// repeated bursts.
func TestIzhikevichCell(t *testing.T) {
	const (
		dt    = 0.1
		i0    = 10.0
		durMs = 1000.0
	)
	steps := int(durMs / dt)
	for _, class := range model.IzhikevichClasses() {
		p, err := model.NewIzhikevich(class)
		if err != nil {
			t.Fatal(err)
		}
		cfg := single(Population{Model: ModelIzhikevich, Izhikevich: p, TauEMs: 5, TauIMs: 10, IExtPA: i0})
		got := spikeTimes(t, cfg, steps)

		st, err := model.NewIzhikevichStepper([]model.Izhikevich{p}, dt)
		if err != nil {
			t.Fatal(err)
		}
		v, u, in, sp := []float64{0}, []float64{0}, []float64{i0}, []bool{false}
		st.Init(v, u)
		var want []float64
		for k := 1; k <= steps; k++ {
			if st.Step(v, u, in, sp) > 0 {
				want = append(want, float64(k)*dt)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: engine spikes %v, model.IzhikevichStepper %v", class, got, want)
		}

		ref, err := model.Simulate(p, model.Const(i0), 0, durMs, model.SimOptions{SpikesOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if n, m := float64(len(got)), float64(len(ref.Spikes)); m < 5 || math.Abs(n-m) > 0.1*m {
			t.Errorf("%s: %v spikes in %v ms, RK45 reference %v", class, n, durMs, m)
		}
		d := isis(got)
		if len(d) < 4 {
			t.Fatalf("%s: %d spikes", class, len(got))
		}
		short := 0 // intervals within a burst
		for _, x := range d {
			if x < 10 {
				short++
			}
		}
		first, last := d[0], d[len(d)-1]
		t.Logf("%s: %d spikes (RK45 %d), first ISI %.1f ms, last %.1f ms, %d of %d ISIs < 10 ms", class, len(got), len(ref.Spikes), first, last, short, len(d))
		switch class {
		case "RS":
			if !(last > 2*first) || short > 1 {
				t.Errorf("RS: first ISI %.1f ms, last %.1f ms, %d short ISIs: want spike-frequency adaptation without bursts", first, last, short)
			}
		case "FS":
			// Fast (≥ 100 Hz) and tonic: the second half of the run at a
			// steady interval.
			late := d[len(d)/2:]
			if len(got) < 100 || slices.Max(late) > 1.05*slices.Min(late) {
				t.Errorf("FS: %d spikes, late ISIs %.2f–%.2f ms: want fast tonic firing", len(got), slices.Min(late), slices.Max(late))
			}
		case "IB":
			if !(first < 10 && d[len(d)-1] > 20 && d[len(d)-2] > 20) {
				t.Errorf("IB: ISIs %v: want an initial burst, then single spikes", d)
			}
		case "CH":
			if !(short > len(d)/2 && slices.Max(d) > 15) {
				t.Errorf("CH: ISIs %v: want repeated bursts", d)
			}
		}
	}
}

// TestAdExCell checks an adex population of one Brette & Gerstner (2005)
// cell under a 1 nA step: at dt = 0.1 ms its spikes are those of
// model.AdExStepper (the same scheme); at dt = 0.01 ms they lie within 1 %
// of the RK45 solution (model.Simulate), as model.AdExStepper's do; the
// intervals lengthen (spike-frequency adaptation through w).
func TestAdExCell(t *testing.T) {
	p := model.BretteGerstnerAdEx()
	const i0, durMs = 1000.0, 300.0
	for _, dt := range []float64{0.1, 0.01} {
		cfg := single(Population{Model: ModelAdEx, AdEx: p, TauEMs: 5, TauIMs: 10, IExtPA: i0})
		cfg.DtMs = dt
		steps := int(math.Round(durMs / dt))
		got := spikeTimes(t, cfg, steps)
		if dt == 0.1 {
			st, err := model.NewAdExStepper(p, dt)
			if err != nil {
				t.Fatal(err)
			}
			v, w, refr, in, sp := []float64{0}, []float64{0}, []float64{0}, []float64{i0}, []bool{false}
			st.Init(v, w, refr)
			var want []float64
			for k := 1; k <= steps; k++ {
				if st.Step(v, w, refr, in, sp) > 0 {
					want = append(want, float64(k)*dt)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("dt %v: engine spikes %v, model.AdExStepper %v", dt, got, want)
			}
			continue
		}
		ref, err := model.Simulate(p, model.Const(i0), 0, durMs, model.SimOptions{SpikesOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ref.Spikes) || len(got) < 4 {
			t.Fatalf("dt %v: %d spikes, RK45 %d", dt, len(got), len(ref.Spikes))
		}
		for k := range got {
			if math.Abs(got[k]-ref.Spikes[k]) > 0.01*ref.Spikes[k] {
				t.Errorf("dt %v spike %d: %.3f ms, RK45 %.3f ms", dt, k, got[k], ref.Spikes[k])
			}
		}
		d := isis(got)
		if !(d[len(d)-1] > 1.5*d[0]) {
			t.Errorf("ISIs %v: want adaptation", d)
		}
		t.Logf("dt %v: %d spikes, ISIs %.2f → %.2f ms", dt, len(got), d[0], d[len(d)-1])
	}
}

// modelNet returns a 1000-neuron E/I network (80 % excitatory) of
// izhikevich (RS and FS cells, the excitatory and inhibitory classes of
// Izhikevich 2003) or adex (Brette & Gerstner 2005 cells; inhibitory ones
// without adaptation) neurons, connected with probability 0.1 and driven by
// Poisson input.
func modelNet(m NeuronModel, threads int) NetworkConfig {
	cfg := DefaultNetworkConfig()
	cfg.Threads = threads
	pop := func(name string, n int, class string) Population {
		pc := Population{Name: name, N: n, Model: m, TauEMs: 5, TauIMs: 10}
		if m == ModelIzhikevich {
			pc.Izhikevich, _ = model.NewIzhikevich(class)
			pc.InitV = Dist{Kind: "uniform", A: -70, B: -50}
		} else {
			pc.AdEx = model.BretteGerstnerAdEx()
			pc.AdEx.TRef = 2
			if class == "FS" {
				pc.AdEx.A, pc.AdEx.B = 0, 0
			}
			pc.InitV = Dist{Kind: "uniform", A: -70, B: -50}
		}
		return pc
	}
	cfg.Populations = []Population{pop("E", 800, "RS"), pop("I", 200, "FS")}
	we, wi, win := 0.5, -2.0, 1.5 // Izhikevich's current units
	if m == ModelAdEx {
		we, wi, win = 40, -160, 160 // pA
	}
	for _, from := range []string{"E", "I"} {
		for _, to := range []string{"E", "I"} {
			pr := Projection{From: from, To: to, Receptor: Exc, Rule: ConnProb, P: 0.1, Weight: we, DelayMs: 1, DelayMaxMs: 2}
			if from == "I" {
				pr.Receptor, pr.Weight = Inh, wi
			}
			cfg.Projections = append(cfg.Projections, pr)
		}
	}
	for _, to := range []string{"E", "I"} {
		cfg.Inputs = append(cfg.Inputs, PoissonInput{To: to, Receptor: Exc, N: 100, RateHz: 10, Weight: win})
	}
	return cfg
}

// TestModelNetworks runs an E/I network of each of the izhikevich and adex
// models: both populations fire at cortical rates, the spikes are the same
// bit for bit on one and on two threads, and a step does not allocate.
func TestModelNetworks(t *testing.T) {
	steps := 3000 // 300 ms
	if raceEnabled {
		steps = 1500
	}
	for _, m := range []NeuronModel{ModelIzhikevich, ModelAdEx} {
		var runs [2][]Event
		for th := 1; th <= 2; th++ {
			nw := newNet(t, modelNet(m, th))
			runs[th-1] = nw.Advance(steps, nil)
			if th == 2 {
				buf := make([]Event, 0, 1<<14)
				if a := testing.AllocsPerRun(20, func() { buf = nw.Advance(10, buf[:0]) }); a != 0 {
					t.Errorf("%s: %v allocations per Advance", m, a)
				}
			}
		}
		if !slices.Equal(runs[0], runs[1]) {
			t.Errorf("%s: %d spikes on one thread, %d on two, or different ones", m, len(runs[0]), len(runs[1]))
		}
		st := NewSpikeStats(1000, 1000, int64(steps)) // after 100 ms
		st.Add(runs[0])
		re, ri := st.Rate(0, 800, 0.1), st.Rate(800, 200, 0.1)
		cv, _ := st.CV(0, 1000, 3)
		t.Logf("%s: E %.1f Hz, I %.1f Hz, ISI CV %.2f", m, re, ri, cv)
		if re < 1 || re > 60 || ri < 1 || ri > 150 {
			t.Errorf("%s: E %.1f Hz, I %.1f Hz: want 1–60 Hz and 1–150 Hz", m, re, ri)
		}
	}
}
