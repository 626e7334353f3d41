package sim

import (
	"errors"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

func newMotorNet(t testing.TB, cfg MotorNetConfig) *MotorNet {
	t.Helper()
	m, err := NewMotorNet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// motorNetRun advances m by frames frames, one at a time, and returns the
// network's own spikes (neuron, step) appended to net, the unit events and
// the truth.
func motorNetRun(m *MotorNet, frames int, net []Event, units []UnitEvent, truth []float64) ([]Event, []UnitEvent, []float64) {
	for range frames {
		units, truth = m.Advance(1, units, truth)
		net = append(net, m.steps...)
	}
	return net, units, truth
}

func TestMotorNetConfigValidate(t *testing.T) {
	def := DefaultMotorNetConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	cases := []struct {
		name string
		mod  func(c *MotorNetConfig)
		keys []string
	}{
		{"frame not whole steps", func(c *MotorNetConfig) { c.DtMs = 0.3 }, []string{"dt_ms"}},
		{"sizes", func(c *MotorNetConfig) { c.Excitatory, c.Inhibitory = 0, -1 }, []string{"excitatory", "inhibitory"}},
		{"weights", func(c *MotorNetConfig) { c.WeNS, c.WiNS, c.ConnP = -1, math.NaN(), 2 }, []string{"we_ns", "wi_ns", "conn_p"}},
		{"drive", func(c *MotorNetConfig) {
			c.DriveMinHz, c.DriveMaxHz, c.ModulationMaxHz, c.DriveNS, c.RefSpeed = 50, 10, 100, -1, 0
		}, []string{"drive_max_hz", "modulation_max_hz", "drive_ns", "ref_speed"}},
		{"latent", func(c *MotorNetConfig) { c.SpeedRMS, c.VelocityTau, c.Workspace = -1, 0, 0 },
			[]string{"speed_rms", "velocity_tau", "workspace"}},
		{"recording", func(c *MotorNetConfig) {
			c.UnitsMin, c.UnitsMax, c.RecordRadiusUM, c.MissProb, c.FalsePositiveHz = 2, 4, 0, 1.5, 2000
		}, []string{"units_max", "record_radius_um", "miss_prob", "false_positive_hz"}},
		{"no electrodes", func(c *MotorNetConfig) { c.Sheet.Grid = 0 }, []string{"sheet.grid"}},
		{"threads and sheet", func(c *MotorNetConfig) { c.Threads, c.Sheet.StimQueue, c.Sheet.MaxUA = 0, 0, -1 },
			[]string{"threads", "sheet.stim_queue", "sheet.max_ua"}},
		{"delay", func(c *MotorNetConfig) { c.DelayMs = 0.1 }, []string{"delay_ms"}},
		{"network", func(c *MotorNetConfig) { c.RateHz, c.DtMs, c.DelayMs = 250, 4, 4 }, []string{"network: populations[0].lif"}},
		{"rate", func(c *MotorNetConfig) { c.RateHz = 0 }, []string{"rate_hz"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultMotorNetConfig()
			tc.mod(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			for _, k := range tc.keys {
				if !strings.Contains(err.Error(), k+":") {
					t.Errorf("error %q does not name %s", err, k)
				}
			}
			if _, err := NewMotorNet(c); err == nil {
				t.Error("NewMotorNet accepted it")
			}
		})
	}
}

// TestMotorNetReproducible: one seed gives the same unit events and truth
// bit for bit, whatever the thread count; another seed differs.
func TestMotorNetReproducible(t *testing.T) {
	run := func(seed uint64, threads int) ([]UnitEvent, []float64) {
		cfg := DefaultMotorNetConfig()
		cfg.Seed, cfg.Threads = seed, threads
		m := newMotorNet(t, cfg)
		frames := 300
		if raceEnabled {
			frames = 100
		}
		ev, tr := m.Advance(frames, nil, nil)
		return ev, tr
	}
	e1, t1 := run(3, 1)
	e2, t2 := run(3, 1)
	e3, t3 := run(3, 2)
	if len(e1) == 0 {
		t.Fatal("no events")
	}
	if !slices.Equal(e1, e2) || !slices.Equal(t1, t2) {
		t.Error("same seed, different output")
	}
	if !slices.Equal(e1, e3) || !slices.Equal(t1, t3) {
		t.Error("2 threads differ from 1")
	}
	if raceEnabled {
		return
	}
	if e4, _ := run(4, 1); slices.Equal(e1, e4) {
		t.Error("seeds 3 and 4 gave the same events")
	}
}

// TestMotorNetState: the default network is asynchronous and irregular at
// moderate rates (E and I within 2–30 Hz, ISI CV of E ≥ 0.7, Golomb's
// synchrony χ well below 1), and its excitatory neurons are tuned: their
// counts in 50 ms bins correlate with the velocity along their preferred
// direction (mean correlation ≥ 0.15); spikes are not locked to the frame
// (each step of a frame has its share within 2 %).
func TestMotorNetState(t *testing.T) {
	cfg := DefaultMotorNetConfig()
	m := newMotorNet(t, cfg)
	frames := 3000
	if raceEnabled {
		frames = 300
	}
	net, units, truth := motorNetRun(m, frames, nil, nil, nil)
	nw := m.Network()
	eLo, ne, _ := nw.PopulationRange("E")
	iLo, ni, _ := nw.PopulationRange("I")
	spf := int64(m.StepsPerFrame())
	from, to := int64(200)*spf, int64(frames)*spf
	st := NewSpikeStats(nw.Neurons(), from, to)
	st.Add(net)
	re, ri := st.Rate(eLo, ne, cfg.DtMs), st.Rate(iLo, ni, cfg.DtMs)
	cv, ncv := st.CV(eLo, ne, 5)
	chi := Synchrony(net, eLo, ne, from, to, int(spf))
	corr := tuningCorrelation(m, net, truth, frames, 50)
	t.Logf("rate E %.2f Hz, I %.2f Hz, CV(E) %.2f over %d neurons, synchrony χ %.3f (1 ms bins), mean tuning correlation %.3f, %d unit events in %d frames",
		re, ri, cv, ncv, chi, corr, len(units), frames)
	if raceEnabled {
		return
	}
	if re < 2 || re > 30 || ri < 2 || ri > 30 {
		t.Errorf("rates E %.2f, I %.2f Hz, want both in [2, 30]", re, ri)
	}
	if cv < 0.7 {
		t.Errorf("CV(E) = %.2f, want ≥ 0.7 (irregular)", cv)
	}
	if chi > 0.2 {
		t.Errorf("synchrony χ = %.3f, want ≤ 0.2 (asynchronous)", chi)
	}
	if corr < 0.15 {
		t.Errorf("mean tuning correlation %.3f, want ≥ 0.15", corr)
	}
	// No frame-locked input: spikes spread evenly over the steps of a frame.
	phase := make([]float64, spf)
	for _, e := range net {
		phase[e.Sample%spf]++
	}
	for j, c := range phase {
		if share := c / float64(len(net)) * float64(spf); math.Abs(share-1) > 0.02 {
			t.Errorf("step %d of a frame has %.3f times its even share of the spikes %v", j, share, phase)
		}
	}
}

// tuningCorrelation returns the mean over excitatory neurons that fired of
// the correlation of their counts in bins of bin frames with v·d_i.
func tuningCorrelation(m *MotorNet, net []Event, truth []float64, frames, bin int) float64 {
	eLo, ne, _ := m.Network().PopulationRange("E")
	spf := int64(m.StepsPerFrame())
	nb := frames / bin
	counts := make([][]float64, ne)
	for _, e := range net {
		if i := int(e.Channel) - eLo; i >= 0 && i < ne {
			if counts[i] == nil {
				counts[i] = make([]float64, nb)
			}
			if b := int(e.Sample / spf / int64(bin)); b < nb {
				counts[i][b]++
			}
		}
	}
	vx, vy := make([]float64, nb), make([]float64, nb)
	for f := range nb * bin {
		vx[f/bin] += truth[4*f+2]
		vy[f/bin] += truth[4*f+3]
	}
	x := make([]float64, nb)
	var sum, n float64
	for i, c := range counts {
		if c == nil {
			continue
		}
		th, _ := m.PreferredDirection(eLo + i)
		for b := range x {
			x[b] = vx[b]*math.Cos(th) + vy[b]*math.Sin(th)
		}
		if r := pearson(c, x); !math.IsNaN(r) {
			sum += r
			n++
		}
	}
	return sum / n
}

func pearson(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		sab += (a[i] - ma) * (b[i] - mb)
		saa += (a[i] - ma) * (a[i] - ma)
		sbb += (b[i] - mb) * (b[i] - mb)
	}
	return sab / math.Sqrt(saa*sbb)
}

// TestMotorNetRecording: every electrode records UnitsMin–UnitsMax distinct
// neurons within the radius, nearest first; without sorting noise the unit
// events are exactly the spikes of the recorded neurons; with every spike
// missed only false positives remain, at FalsePositiveHz per electrode.
func TestMotorNetRecording(t *testing.T) {
	cfg := DefaultMotorNetConfig()
	cfg.MissProb, cfg.FalsePositiveHz = 0, 0
	m := newMotorNet(t, cfg)
	if m.Electrodes() != 96 {
		t.Fatalf("%d electrodes, want 96", m.Electrodes())
	}
	pos := m.Network().Positions()
	el := m.ElectrodePositions()
	seen := map[int]bool{}
	hist := make([]int, MaxUnitsPerElectrode+1)
	for k := range m.Electrodes() {
		nu := m.UnitsOn(k)
		hist[nu]++
		prev := -1.0
		for u := range MaxUnitsPerElectrode {
			i := m.RecordedNeuron(k, u)
			if u >= nu {
				if i != -1 {
					t.Errorf("electrode %d unit %d of %d: neuron %d", k, u, nu, i)
				}
				continue
			}
			if seen[i] {
				t.Errorf("neuron %d recorded twice", i)
			}
			seen[i] = true
			d := math.Hypot(pos[i][0]-el[k][0], pos[i][1]-el[k][1])
			if d > cfg.RecordRadiusUM || d < prev {
				t.Errorf("electrode %d unit %d at %.1f µm (previous %.1f)", k, u, d, prev)
			}
			prev = d
		}
	}
	t.Logf("electrodes with 0, 1, 2, 3 units: %v", hist)
	if hist[0] > 2 || hist[1] < 20 || hist[2] < 20 || hist[3] < 20 {
		t.Errorf("units per electrode %v: want about a third each of 1, 2, 3", hist)
	}

	// Noise-free: unit events = spikes of recorded neurons.
	frames := 500
	if raceEnabled {
		frames = 100
	}
	net, units, _ := motorNetRun(m, frames, nil, nil, nil)
	var want []UnitEvent
	spf := int64(m.StepsPerFrame())
	for _, e := range net {
		if s := m.slotOf[e.Channel]; s >= 0 {
			want = append(want, UnitEvent{Sample: e.Sample / spf, Channel: s / MaxUnitsPerElectrode, Unit: s % MaxUnitsPerElectrode})
		}
	}
	slices.SortFunc(want, func(a, b UnitEvent) int {
		if a.Sample != b.Sample {
			return int(a.Sample - b.Sample)
		}
		if a.Channel != b.Channel {
			return int(a.Channel - b.Channel)
		}
		return int(a.Unit - b.Unit)
	})
	if len(units) == 0 || !slices.Equal(units, want) {
		t.Errorf("%d unit events, want the %d spikes of the recorded neurons", len(units), len(want))
	}

	// Only false positives.
	cfg.MissProb, cfg.FalsePositiveHz = 1, 20
	m = newMotorNet(t, cfg)
	frames = 2000
	if raceEnabled {
		frames = 400
	}
	units, _ = m.Advance(frames, nil, nil)
	perEl := make([]int, m.Electrodes())
	for _, e := range units {
		if int(e.Unit) >= m.UnitsOn(int(e.Channel)) {
			t.Fatalf("event %+v on a unit the electrode does not have", e)
		}
		perEl[e.Channel]++
	}
	with := 0
	for k := range perEl {
		if m.UnitsOn(k) > 0 {
			with++
		}
	}
	mean := float64(len(units)) / float64(with)
	want20 := cfg.FalsePositiveHz * float64(frames) / cfg.RateHz // 40 per electrode
	if math.Abs(mean-want20) > 4*math.Sqrt(want20/float64(with)) {
		t.Errorf("%.2f false positives per electrode, want %.0f", mean, want20)
	}
}

// TestMotorNetStimulation: a pulse train on an electrode makes the neurons
// near it fire within a few ms, far above the unstimulated run from the
// same seed, and shows in that electrode's unit events.
func TestMotorNetStimulation(t *testing.T) {
	cfg := DefaultMotorNetConfig()
	const k, s0, ua = 45, 300, 50.0
	ctl, stim := newMotorNet(t, cfg), newMotorNet(t, cfg)
	var netC, netS []Event
	var evC, evS []UnitEvent
	netC, evC, _ = motorNetRun(ctl, s0, netC, evC, nil)
	netS, evS, _ = motorNetRun(stim, s0, netS, evS, nil)
	if !slices.Equal(netC, netS) {
		t.Fatal("twins differ before stimulation")
	}
	if err := stim.Stimulate(Stimulus{Electrode: k, AmplitudeUA: ua, PhaseUS: 200, Count: 5, FreqHz: 200, Sample: s0 + 5}); err != nil {
		t.Fatal(err)
	}
	netC, evC, _ = motorNetRun(ctl, 60, netC, evC, nil)
	netS, evS, _ = motorNetRun(stim, 60, netS, evS, nil)

	spf := int64(stim.StepsPerFrame())
	nearSet := map[int32]bool{}
	el := stim.ElectrodePositions()[k]
	for i, p := range stim.Network().Positions() {
		if math.Hypot(p[0]-el[0], p[1]-el[1]) <= 200 {
			nearSet[int32(i)] = true
		}
	}
	count := func(ev []Event, fromFrame, toFrame int64) int {
		c := 0
		for _, e := range ev {
			if f := e.Sample / spf; f >= fromFrame && f < toFrame && nearSet[e.Channel] {
				c++
			}
		}
		return c
	}
	const p0 = s0 + 5 // frame of the first pulse
	if c, s := count(netC, s0, p0), count(netS, s0, p0); c != s {
		t.Errorf("before the first pulse: %d spikes near the electrode stimulated, %d in the control", s, c)
	}
	c3, s3 := count(netC, p0, p0+3), count(netS, p0, p0+3)
	c25, s25 := count(netC, p0, p0+25), count(netS, p0, p0+25)
	t.Logf("%d neurons within 200 µm; spikes in the 3 ms after the first pulse: control %d, stimulated %d; over 25 ms (5 pulses at 200 Hz): %d, %d",
		len(nearSet), c3, s3, c25, s25)
	if s3 < c3+len(nearSet)/2 {
		t.Errorf("3 ms after the pulse: %d spikes near the electrode, control %d: want ≥ control + half of the %d neurons", s3, c3, len(nearSet))
	}
	if s25 < c25+2*len(nearSet) {
		t.Errorf("25 ms: %d spikes near the electrode, control %d", s25, c25)
	}
	unitsOn := func(ev []UnitEvent) int {
		c := 0
		for _, e := range ev {
			if e.Channel == k && e.Sample >= p0 && e.Sample < p0+25 {
				c++
			}
		}
		return c
	}
	if stim.UnitsOn(k) > 0 && unitsOn(evS) <= unitsOn(evC) {
		t.Errorf("electrode %d: %d unit events in the train, control %d", k, unitsOn(evS), unitsOn(evC))
	}
}

func TestMotorNetStimulateErrors(t *testing.T) {
	cfg := DefaultMotorNetConfig()
	cfg.Sheet.StimQueue = 2
	m := newMotorNet(t, cfg)
	ok := Stimulus{Electrode: 3, AmplitudeUA: 20, PhaseUS: 100, Count: 1}
	for _, s := range []Stimulus{
		{Electrode: 96, AmplitudeUA: 20, PhaseUS: 100, Count: 1},
		{Electrode: 0, AmplitudeUA: cfg.Sheet.MaxUA + 1, PhaseUS: 100, Count: 1},
		{Electrode: 0, AmplitudeUA: 20, PhaseUS: 0, Count: 1},
		{Electrode: 0, AmplitudeUA: 20, PhaseUS: 100, Count: 3, FreqHz: 2000},
	} {
		if err := m.Stimulate(s); !errors.Is(err, ErrBadStimulus) {
			t.Errorf("%+v: got %v, want ErrBadStimulus", s, err)
		}
	}
	for range 2 {
		if err := m.Stimulate(ok); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Stimulate(ok); !errors.Is(err, ErrStimQueueFull) {
		t.Fatalf("third train: %v, want ErrStimQueueFull", err)
	}
	m.Advance(1, nil, nil)
	if err := m.Stimulate(ok); err != nil {
		t.Errorf("after the single pulses were applied: %v", err)
	}
	m.StopStimulation()
	for range 2 {
		if err := m.Stimulate(ok); err != nil {
			t.Errorf("after StopStimulation: %v", err)
		}
	}
}

// TestMotorNetStimulateConcurrent: Stimulate and StopStimulation from
// another goroutine while Advance runs (for the race detector), and every
// accepted stimulus is reported applied once.
func TestMotorNetStimulateConcurrent(t *testing.T) {
	cfg := DefaultMotorNetConfig()
	var applied atomic.Int64
	cfg.OnApplied = func(int64, int64) { applied.Add(1) }
	m := newMotorNet(t, cfg)
	done := make(chan struct{})
	var accepted int64
	go func() {
		defer close(done)
		for i := range 200 {
			if m.Stimulate(Stimulus{Electrode: i % 96, AmplitudeUA: 30, PhaseUS: 100, Count: 2, FreqHz: 1000}) == nil {
				accepted++
			}
			if i%50 == 49 {
				m.StopStimulation()
			}
			runtime.Gosched()
		}
	}()
	var ev []UnitEvent
	for m.Sample() < 200 {
		ev, _ = m.Advance(1, ev[:0], nil)
	}
	<-done
	m.Advance(2, nil, nil)
	if accepted == 0 || applied.Load() > accepted {
		t.Errorf("%d stimuli accepted, %d reported applied", accepted, applied.Load())
	}
}

// TestMotorNetOnApplied: OnApplied reports each stimulus once, at the end
// of the frame of its first pulse, with its Arrived stamp.
func TestMotorNetOnApplied(t *testing.T) {
	cfg := DefaultMotorNetConfig()
	var got [][2]int64
	now := int64(1000)
	cfg.Clock = func() int64 { return now }
	cfg.OnApplied = func(a, b int64) { got = append(got, [2]int64{a, b}) }
	m := newMotorNet(t, cfg)
	if err := m.Stimulate(Stimulus{Electrode: 1, AmplitudeUA: 20, PhaseUS: 100, Count: 3, FreqHz: 100, Sample: 3, Arrived: 7}); err != nil {
		t.Fatal(err)
	}
	for f := range 40 {
		now = int64(f)
		m.Advance(1, nil, nil)
	}
	if len(got) != 1 || got[0] != [2]int64{7, 3} {
		t.Errorf("OnApplied calls %v, want [[7 3]] (frame 3)", got)
	}
}

// steadyIntent is an Intent of constant velocity.
type steadyIntent struct{ vx, vy float64 }

func (c steadyIntent) Velocity(int64) (float64, float64) { return c.vx, c.vy }

// TestMotorNetIntent: with an Intent the truth carries its velocity and
// the integral of it, and neurons preferring that direction fire more than
// those preferring the opposite one; removing it resumes the latent.
func TestMotorNetIntent(t *testing.T) {
	cfg := DefaultMotorNetConfig()
	m := newMotorNet(t, cfg)
	m.SetIntent(steadyIntent{15, 0})
	frames := 500
	net, _, truth := motorNetRun(m, frames, nil, nil, nil)
	last := truth[len(truth)-4:]
	if last[2] != 15 || last[3] != 0 || math.Abs(last[0]-15*float64(frames)/cfg.RateHz) > 1e-9 || last[1] != 0 {
		t.Errorf("truth of the last frame %v, want [7.5 0 15 0]", last)
	}
	var toward, away, nt, na float64
	eLo, ne, _ := m.Network().PopulationRange("E")
	for i := eLo; i < eLo+ne; i++ {
		th, _ := m.PreferredDirection(i)
		switch c := math.Cos(th); {
		case c > 0.9:
			nt++
		case c < -0.9:
			na++
		}
	}
	for _, e := range net {
		if e.Sample < 100*int64(m.StepsPerFrame()) {
			continue
		}
		if th, ok := m.PreferredDirection(int(e.Channel)); ok {
			switch c := math.Cos(th); {
			case c > 0.9:
				toward++
			case c < -0.9:
				away++
			}
		}
	}
	rt, ra := toward/nt/0.4, away/na/0.4 // Hz over 400 ms
	t.Logf("intent 15 cm/s along +x: neurons preferring +x fire %.1f Hz, preferring −x %.1f Hz", rt, ra)
	if rt < 2*ra+2 {
		t.Errorf("preferring +x %.1f Hz, −x %.1f Hz: want the first well above", rt, ra)
	}
	m.SetIntent(nil)
	_, tr := m.Advance(2, nil, nil)
	if tr[2] == 15 && tr[6] == 15 {
		t.Error("latent did not resume")
	}
}

// TestMotorNetAllocs: Advance, Stimulate and StopStimulation do not
// allocate once the buffers have grown.
func TestMotorNetAllocs(t *testing.T) {
	cfg := DefaultMotorNetConfig()
	m := newMotorNet(t, cfg)
	ev := make([]UnitEvent, 0, 1<<16)
	tr := make([]float64, 0, 1<<12)
	ev, tr = m.Advance(50, ev, tr)
	s := Stimulus{Electrode: 10, AmplitudeUA: 30, PhaseUS: 100, Count: 2, FreqHz: 500}
	allocs := testing.AllocsPerRun(20, func() {
		if err := m.Stimulate(s); err != nil {
			t.Fatal(err)
		}
		ev, tr = m.Advance(10, ev[:0], tr[:0])
		m.StopStimulation()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Advance of 10 frames, want 0", allocs)
	}
}

// BenchmarkMotorNet reports the real-time factor (simulated time over wall
// time) of the default motor network at 1 kHz on one thread.
func BenchmarkMotorNet(b *testing.B) {
	m, err := NewMotorNet(DefaultMotorNetConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	ev := make([]UnitEvent, 0, 1<<16)
	tr := make([]float64, 0, 1<<12)
	ev, tr = m.Advance(200, ev, tr)
	const frames = 100 // 100 ms
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ev, tr = m.Advance(frames, ev[:0], tr[:0])
	}
	sim := float64(b.N) * frames / m.Rate()
	b.ReportMetric(sim/b.Elapsed().Seconds(), "rtf")
}
