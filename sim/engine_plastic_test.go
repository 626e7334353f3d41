package sim

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bciloop/bciloop/model"
)

// stpPair returns a regularly firing lif neuron "pre" (constant current)
// projecting with delta synapses of weight 1 mV onto a non-firing lif
// neuron "post" at rest, through a projection with short-term plasticity.
func stpPair(stp ProjectionSTP, delayMs float64) NetworkConfig {
	cfg := DefaultNetworkConfig()
	cfg.Sheet.Grid = 0
	cell := model.VogelsAbbottLIF()
	quiet := cell
	quiet.VTh = 1e6
	cfg.Populations = []Population{
		{Name: "pre", N: 1, Model: ModelLIF, LIF: cell, TauEMs: 5, TauIMs: 10, IExtPA: 400, InitV: Dist{Kind: "const", A: cell.VReset}},
		{Name: "post", N: 1, Model: ModelLIF, LIF: quiet, InitV: Dist{Kind: "const", A: quiet.EL}},
	}
	cfg.Projections = []Projection{{From: "pre", To: "post", Receptor: Exc, Rule: ConnList, Pre: []int32{0}, Post: []int32{0},
		Weight: 1, DelayMs: delayMs, STP: &stp}}
	return cfg
}

// TestSTPTrain drives one Tsodyks–Markram synapse with the regular spike
// train of a lif neuron and checks every delivered PSP (the jump of the
// delta-synapse postsynaptic potential beyond its leak) against
// model.STPBank fed the same spike times, for a depressing and a
// facilitating synapse (parameters of Markram, Wang & Tsodyks 1998), with
// a one-step and a buffered delay.
func TestSTPTrain(t *testing.T) {
	for _, c := range []struct {
		name  string
		stp   ProjectionSTP
		delay float64
	}{
		{"depressing", ProjectionSTP{U: 0.5, TauRecMs: 800}, 0.1},
		{"facilitating", ProjectionSTP{U: 0.15, TauRecMs: 130, TauFacilMs: 530}, 0.1},
		{"facilitating delayed", ProjectionSTP{U: 0.15, TauRecMs: 130, TauFacilMs: 530}, 1.5},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := stpPair(c.stp, c.delay)
			nw := newNet(t, cfg)
			post := cfg.Populations[1].LIF
			am := math.Exp(-cfg.DtMs * post.GL / post.C)
			bank, err := model.NewSTPBank(c.stp.model(), 1)
			if err != nil {
				t.Fatal(err)
			}
			var want, got []float64
			v := nw.Potentials(nil)
			var ev []Event
			for range 10000 {
				ev = nw.Advance(1, ev[:0])
				for _, s := range ev {
					if s.Channel == 0 {
						want = append(want, bank.Spike(0, float64(s.Sample)*cfg.DtMs))
					}
				}
				w := nw.Potentials(nil)
				if jump := (w[1] - post.EL) - (v[1]-post.EL)*am; math.Abs(jump) > 1e-6 {
					got = append(got, jump)
				}
				v = w
			}
			if len(want) < 20 {
				t.Fatalf("%d presynaptic spikes", len(want))
			}
			// Spikes of the last steps may not have arrived yet.
			if len(got) > len(want) || len(got) < len(want)-1 {
				t.Fatalf("%d PSPs for %d spikes", len(got), len(want))
			}
			for k := range got {
				if math.Abs(got[k]-want[k]) > 1e-9 {
					t.Fatalf("PSP %d: %.12f mV, model.STPBank %.12f", k, got[k], want[k])
				}
			}
			// Depression: the train settles far below the first PSP;
			// facilitation: the second PSP exceeds the first.
			first, second, last := want[0], want[1], want[len(got)-1]
			if c.stp.TauFacilMs == 0 && !(last < 0.5*first) || c.stp.TauFacilMs > 0 && !(second > first) {
				t.Errorf("PSPs first %v, second %v, last %v: not %s", first, second, last, c.name)
			}
		})
	}
}

// stpNet is a small recurrent E/I network whose projections depress
// (E→·) or facilitate (I→·).
func stpNet(threads int) NetworkConfig {
	cfg := COBA(1000, 6, 67)
	cfg.Threads = threads
	for j := range cfg.Projections {
		pr := &cfg.Projections[j]
		if pr.Receptor == Exc {
			pr.STP = &ProjectionSTP{U: 0.5, TauRecMs: 200}
		} else {
			pr.STP = &ProjectionSTP{U: 0.2, TauRecMs: 100, TauFacilMs: 300}
		}
	}
	return cfg
}

// TestSTPThreads checks that a recurrent network with short-term
// plasticity gives the same spikes whatever the thread count, and that
// STP changes them (the state is used).
func TestSTPThreads(t *testing.T) {
	var ref []Event
	for _, th := range []int{1, 2, 3} {
		nw := newNet(t, stpNet(th))
		ev := nw.Advance(3000, nil)
		if th == 1 {
			ref = ev
			if len(ev) == 0 {
				t.Fatal("no spikes")
			}
			static := newNet(t, COBA(1000, 6, 67)).Advance(3000, nil)
			if slices.Equal(static, ev) {
				t.Error("STP left the spikes unchanged")
			}
			continue
		}
		if !slices.Equal(ev, ref) {
			t.Errorf("threads=%d: %d spikes differ from threads=1 (%d)", th, len(ev), len(ref))
		}
	}
}

// TestSTPAllocs checks that delivery with short-term plasticity does not
// allocate.
func TestSTPAllocs(t *testing.T) {
	for _, th := range []int{1, 2} {
		nw := newNet(t, stpNet(th))
		buf := make([]Event, 0, 1<<16)
		buf = nw.Advance(100, buf)
		if a := testing.AllocsPerRun(20, func() { buf = nw.Advance(10, buf[:0]) }); a != 0 {
			t.Errorf("threads=%d: Advance allocates %v times per call", th, a)
		}
	}
}

// TestSTPValidate checks that every bad stp parameter is reported.
func TestSTPValidate(t *testing.T) {
	cfg := stpPair(ProjectionSTP{U: 0, TauRecMs: -1, TauFacilMs: math.NaN()}, 0.1)
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, k := range []string{"projections[0].stp.u", "projections[0].stp.tau_rec_ms", "projections[0].stp.tau_facil_ms"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error %q does not name %s", err, k)
		}
	}
	cfg = stpPair(ProjectionSTP{U: 1, TauRecMs: 100}, 0.1)
	if err := cfg.Validate(); err != nil {
		t.Errorf("valid stp: %v", err)
	}
}

// stdpPair returns two quiet lif neurons, "pre" (0) → "post" (1), one
// synapse of weight w0 pA with STDP.
func stdpPair(d ProjectionSTDP, w0 float64) NetworkConfig {
	cfg := DefaultNetworkConfig()
	cfg.Sheet.Grid = 0
	cell := model.VogelsAbbottLIF()
	pop := Population{N: 1, Model: ModelLIF, LIF: cell, TauEMs: 5, TauIMs: 10, InitV: Dist{Kind: "const", A: cell.EL}}
	pre, post := pop, pop
	pre.Name, post.Name = "pre", "post"
	cfg.Populations = []Population{pre, post}
	cfg.Projections = []Projection{{From: "pre", To: "post", Receptor: Exc, Rule: ConnList, Pre: []int32{0}, Post: []int32{0},
		Weight: w0, DelayMs: 0.1, STDP: &d}}
	return cfg
}

// TestSTDPPairs makes the two neurons of stdpPair fire at chosen steps (a
// one-step current pulse each) and checks the final weight against
// model.STDP's window summed over every pre–post pair (all-to-all additive
// STDP; no clipping is reached): pre before post potentiates, post before
// pre depresses.
func TestSTDPPairs(t *testing.T) {
	d := ProjectionSTDP{TauPlusMs: 16.8, TauMinusMs: 33.7, APlus: 0.01, AMinus: 0.012, WMax: 1}
	const w0 = 0.5
	for _, c := range []struct {
		name      string
		pre, post []int64 // steps at which to fire
		sign      float64 // expected sign of the change
	}{
		{"pre before post", []int64{100}, []int64{200}, 1},
		{"post before pre", []int64{300}, []int64{100}, -1},
		{"pre before post, 1 step", []int64{100}, []int64{101}, 1},
		{"trains", []int64{50, 180, 400, 480}, []int64{120, 190, 300, 700}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			nw := newNet(t, stdpPair(d, w0))
			for _, s := range c.pre {
				if err := nw.Inject(Injection{First: 0, Count: 1, AmplitudePA: 1e5, Sample: s, Steps: 1}); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range c.post {
				if err := nw.Inject(Injection{First: 1, Count: 1, AmplitudePA: 1e5, Sample: s, Steps: 1}); err != nil {
					t.Fatal(err)
				}
			}
			ev := nw.Advance(1500, nil)
			var tPre, tPost []int64
			for _, s := range ev {
				if s.Channel == 0 {
					tPre = append(tPre, s.Sample)
				} else {
					tPost = append(tPost, s.Sample)
				}
			}
			if len(tPre) != len(c.pre) || len(tPost) != len(c.post) {
				t.Fatalf("spikes pre %v post %v, want %d and %d", tPre, tPost, len(c.pre), len(c.post))
			}
			rule := d.model()
			want := w0
			for _, a := range tPre {
				for _, b := range tPost {
					want += rule.Window(float64(b-a)*0.1, w0)
				}
			}
			got := float64(nw.e.projs[0].wts[0])
			if math.Abs(got-want) > 1e-6 {
				t.Errorf("weight %.9f, model.STDP %.9f (pre %v, post %v)", got, want, tPre, tPost)
			}
			if c.sign != 0 && (got-w0)*c.sign <= 0 {
				t.Errorf("weight %v from %v: wrong sign", got, w0)
			}
		})
	}
}

// stdpNet is a small recurrent network whose E→E synapses learn by STDP.
func stdpNet(threads int) NetworkConfig {
	cfg := COBA(1000, 6, 67)
	cfg.Threads = threads
	for j := range cfg.Projections {
		pr := &cfg.Projections[j]
		if pr.From == pr.To && pr.Receptor == Exc {
			pr.STDP = &ProjectionSTDP{TauPlusMs: 20, TauMinusMs: 20, APlus: 0.5, AMinus: 0.55, WMax: 2 * pr.Weight}
		}
	}
	return cfg
}

// TestSTDPNetwork runs stdpNet: the weights change, stay in [0, w_max],
// and spikes and weights are the same whatever the thread count.
func TestSTDPNetwork(t *testing.T) {
	var ref []Event
	var refW []float32
	for _, th := range []int{1, 2, 3} {
		cfg := stdpNet(th)
		nw := newNet(t, cfg)
		ev := nw.Advance(3000, nil)
		var ws []float32
		var wmax float64
		for r := range nw.e.projs {
			if pr := &nw.e.projs[r]; pr.stdp != nil {
				ws = append(ws, pr.wts...)
				wmax = pr.stdp.wMax
			}
		}
		if len(ws) == 0 {
			t.Fatal("no STDP synapses")
		}
		moved := 0
		for _, w := range ws {
			if !(w >= 0 && float64(w) <= wmax) {
				t.Fatalf("threads=%d: weight %v outside [0, %v]", th, w, wmax)
			}
			if float64(w) != float64(float32(wmax/2)) {
				moved++
			}
		}
		if th == 1 {
			ref, refW = ev, ws
			if len(ev) == 0 || moved < len(ws)/10 {
				t.Fatalf("%d spikes, %d of %d weights changed", len(ev), moved, len(ws))
			}
			if testing.Verbose() {
				t.Logf("%d spikes, %d of %d weights changed", len(ev), moved, len(ws))
			}
			continue
		}
		if !slices.Equal(ev, ref) || !slices.Equal(ws, refW) {
			t.Errorf("threads=%d: spikes or weights differ from threads=1", th)
		}
	}
}

// TestSTDPAllocs checks that STDP and STP together do not allocate.
func TestSTDPAllocs(t *testing.T) {
	for _, th := range []int{1, 2} {
		cfg := stdpNet(th)
		for j := range cfg.Projections {
			cfg.Projections[j].STP = &ProjectionSTP{U: 0.5, TauRecMs: 200}
		}
		nw := newNet(t, cfg)
		buf := make([]Event, 0, 1<<16)
		buf = nw.Advance(100, buf)
		if a := testing.AllocsPerRun(20, func() { buf = nw.Advance(10, buf[:0]) }); a != 0 {
			t.Errorf("threads=%d: Advance allocates %v times per call", th, a)
		}
	}
}

// TestSTDPValidate checks that every bad stdp parameter is reported.
func TestSTDPValidate(t *testing.T) {
	cfg := stdpPair(ProjectionSTDP{TauPlusMs: 0, TauMinusMs: math.Inf(1), APlus: -1, AMinus: math.NaN(), WMax: 0.2}, 0.5)
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, k := range []string{".stdp.tau_plus_ms", ".stdp.tau_minus_ms", ".stdp.a_plus", ".stdp.a_minus", "projections[0].weight"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error %q does not name %s", err, k)
		}
	}
	cfg = stdpPair(ProjectionSTDP{TauPlusMs: 20, TauMinusMs: 20, WMax: 1}, 0.5)
	if err := cfg.Validate(); err != nil {
		t.Errorf("valid stdp: %v", err)
	}
}
