package sim

import (
	"math"
	"slices"
	"sort"
	"testing"
)

func newMotorNetBroadband(t testing.TB) *MotorNetBroadband {
	t.Helper()
	m := newMotorNet(t, DefaultMotorNetConfig())
	bc := DefaultBroadbandConfig()
	bc.Channels = m.Electrodes()
	bc.TableFrames = 1 << 14
	c, err := NewMotorNetBroadband(m, bc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// renderBroadband renders frames voltage frames in blocks of block frames
// (not a multiple of the ratio, so that partial brain frames must join
// up) and returns the voltage and the truth.
func renderBroadband(c *MotorNetBroadband, frames, block int) ([]float32, []float64) {
	var all []float32
	var truth []float64
	var v []float32
	for done := 0; done < frames; {
		n := min(frames-done, block)
		v, truth = c.Advance(n, v[:0], truth)
		all = append(all, v...)
		done += n
	}
	return all, truth
}

// TestMotorNetBroadband: the 30 kHz voltage has the configured background
// RMS per electrode; its threshold crossings (below −4.5σ, σ from the
// median absolute value, Quiroga et al. 2004) match each electrode's unit
// events (from a twin brain of the same seed) in number, and each falls in
// the brain frame of one of them or the next; the truth is held per
// voltage frame; a second run is identical.
func TestMotorNetBroadband(t *testing.T) {
	c := newMotorNetBroadband(t)
	r := c.Ratio()
	if r != 30 || c.Channels() != 96 || c.Rate() != 30000 {
		t.Fatalf("ratio %d, channels %d, rate %v", r, c.Channels(), c.Rate())
	}
	brainFrames := 500
	if raceEnabled {
		brainFrames = 100
	}
	frames := brainFrames * r
	v, truth := renderBroadband(c, frames, 457)
	if len(truth) != frames*4 || len(v) != frames*96 {
		t.Fatalf("%d truth values, %d samples", len(truth), len(v))
	}
	for f := 0; f < frames; f += 97 {
		if !slices.Equal(truth[4*f:4*f+4], truth[4*(f/r*r):4*(f/r*r)+4]) {
			t.Fatalf("truth not held over brain frame %d", f/r)
		}
	}

	twin := newMotorNet(t, DefaultMotorNetConfig())
	events, twinTruth := twin.Advance(brainFrames, nil, nil)
	if truth[4*(frames-1)+2] != twinTruth[4*(brainFrames-1)+2] {
		t.Fatal("truth differs from the twin brain's")
	}
	perEl := make([][]int64, 96)
	for _, e := range events {
		perEl[e.Channel] = append(perEl[e.Channel], e.Sample)
	}

	var sigmas []float64
	crossings, matched, units := 0, 0, 0
	col := make([]float64, frames)
	for k := range 96 {
		for f := range frames {
			col[f] = math.Abs(float64(v[f*96+k]))
		}
		sorted := slices.Clone(col)
		sort.Float64s(sorted)
		sigma := sorted[frames/2] / 0.6745
		sigmas = append(sigmas, sigma)
		th := -4.5 * sigma
		dead := -1
		for f := range frames {
			if float64(v[f*96+k]) < th && f > dead {
				crossings++
				dead = f + r // 1 ms dead time
				bf := int64(f / r)
				if _, ok := slices.BinarySearch(perEl[k], bf); ok {
					matched++
				} else if _, ok := slices.BinarySearch(perEl[k], bf-1); ok {
					matched++
				}
			}
		}
		units += len(perEl[k])
	}
	slices.Sort(sigmas)
	med := sigmas[len(sigmas)/2]
	t.Logf("background σ median %.2f µV (range %.2f–%.2f); %d crossings, %d unit events, %d crossings within a frame of an event",
		med, sigmas[0], sigmas[len(sigmas)-1], crossings, units, matched)
	if med < 7 || med > 9.5 {
		t.Errorf("median σ %.2f µV, want about 8 (plus spikes)", med)
	}
	if raceEnabled {
		return
	}
	if crossings < units*8/10 || crossings > units*11/10 {
		t.Errorf("%d crossings for %d unit events", crossings, units)
	}
	if matched < crossings*95/100 {
		t.Errorf("only %d of %d crossings near a unit event", matched, crossings)
	}

	c2 := newMotorNetBroadband(t)
	v2, _ := renderBroadband(c2, 3000, 1000)
	if !slices.Equal(v[:len(v2)], v2) {
		t.Error("same seed, different voltage")
	}
}

func TestMotorNetBroadbandErrors(t *testing.T) {
	m := newMotorNet(t, DefaultMotorNetConfig())
	bc := DefaultBroadbandConfig()
	bc.RateHz = 25000.5
	if _, err := NewMotorNetBroadband(m, bc); err == nil {
		t.Error("accepted 1024 channels at a rate not a multiple of 1 kHz")
	}
	bc = DefaultBroadbandConfig()
	bc.Channels = 96
	m.Advance(1, nil, nil)
	if _, err := NewMotorNetBroadband(m, bc); err == nil {
		t.Error("accepted an advanced brain")
	}
}

func TestMotorNetBroadbandAllocs(t *testing.T) {
	c := newMotorNetBroadband(t)
	dst := make([]float32, 0, 300*96)
	truth := make([]float64, 0, 300*4)
	for range 20 {
		dst, truth = c.Advance(300, dst[:0], truth[:0])
	}
	if n := testing.AllocsPerRun(20, func() { dst, truth = c.Advance(300, dst[:0], truth[:0]) }); n != 0 {
		t.Errorf("%v allocations per Advance", n)
	}
}

// BenchmarkMotorNetBroadband reports the real-time factor of the default
// motor network rendered at 30 kHz on its 96 electrodes, one thread.
func BenchmarkMotorNetBroadband(b *testing.B) {
	c := newMotorNetBroadband(b)
	const frames = 3000 // 100 ms
	dst := make([]float32, 0, frames*96)
	truth := make([]float64, 0, frames*4)
	dst, truth = c.Advance(6000, dst, truth)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		dst, truth = c.Advance(frames, dst[:0], truth[:0])
	}
	b.ReportMetric(float64(b.N)*frames/c.Rate()/b.Elapsed().Seconds(), "rtf")
}

// TestMotorNetBroadbandStimulate: a stimulus timed on the voltage clock
// reaches the brain frame holding that voltage frame.
func TestMotorNetBroadbandStimulate(t *testing.T) {
	var got []int64
	cfg := DefaultMotorNetConfig()
	cfg.Clock = func() int64 { return 0 }
	m := newMotorNet(t, cfg)
	m.cfg.OnApplied = func(a, _ int64) { got = append(got, m.Sample()) }
	bc := DefaultBroadbandConfig()
	bc.Channels, bc.TableFrames = 96, 1<<14
	c, err := NewMotorNetBroadband(m, bc)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []int64{0, 301, 600} { // voltage frames: brain frames next, 11, 20
		if err := c.Stimulate(Stimulus{Electrode: 5, AmplitudeUA: 20, PhaseUS: 100, Count: 1, Sample: s}); err != nil {
			t.Fatal(err)
		}
	}
	var v []float32
	for range 30 {
		v, _ = c.Advance(30, v[:0], nil)
	}
	// OnApplied runs at the end of the frame, before Sample advances past it.
	if !slices.Equal(got, []int64{0, 11, 20}) {
		t.Errorf("applied at brain frames %v, want [0 11 20]", got)
	}
	c.StopStimulation()
}
