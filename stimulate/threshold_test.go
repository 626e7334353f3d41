package stimulate

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bciloop/bciloop/decode"
)

var kalmanNames = []string{"px", "py", "vx", "vy"}

func TestThresholdControllerConfigValidate(t *testing.T) {
	def := DefaultThresholdControllerConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := ThresholdControllerConfig{
		Threshold: math.Inf(1), Direction: "up", Lockout: -time.Second, Delay: -1,
		Electrode: -1, AmplitudeUA: math.NaN(), PhaseUS: 0, GapUS: -1, Count: 0, FreqHz: -5,
	}
	err := bad.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, key := range []string{"quantity:", "threshold:", "direction:", "lockout:", "delay:", "electrode:",
		"amplitude_ua:", "phase_us:", "gap_us:", "count:", "freq_hz:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error lacks %q:\n%v", key, err)
		}
	}
	tests := []struct {
		name string
		mod  func(*ThresholdControllerConfig)
		want string // "" = valid
	}{
		{"single pulse without freq", func(c *ThresholdControllerConfig) { c.Count, c.FreqHz = 1, 0 }, ""},
		{"train without freq", func(c *ThresholdControllerConfig) { c.FreqHz = 0 }, "freq_hz: must be > 0"},
		// 2·200 + 50 = 450 µs per pulse: 1/f ≥ 450 µs means f ≤ 2222 Hz.
		{"overlapping pulses", func(c *ThresholdControllerConfig) { c.FreqHz = 2500 }, "freq_hz: period"},
		{"freq NaN", func(c *ThresholdControllerConfig) { c.FreqHz = math.NaN() }, "freq_hz: must be finite"},
		{"falling", func(c *ThresholdControllerConfig) { c.Direction = Falling }, ""},
		{"zero lockout and delay", func(c *ThresholdControllerConfig) { c.Lockout, c.Delay = 0, 0 }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultThresholdControllerConfig()
			tc.mod(&c)
			err := c.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.HasPrefix(err.Error(), tc.want)) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestNewThresholdController(t *testing.T) {
	tests := []struct {
		name     string
		quantity string
		names    []string
		rate     float64
		want     string // substring of the error; "" = ok
	}{
		{"state name", "vx", kalmanNames, 1000, ""},
		{"speed from vx vy", "speed", kalmanNames, 1000, ""},
		{"speed as a state", "speed", []string{"speed", "vx", "vy"}, 1000, ""},
		{"unknown", "vz", kalmanNames, 1000, `quantity: unknown state "vz"; the decoder has: px, py, vx, vy, speed`},
		{"speed without vy", "speed", []string{"px", "vx"}, 1000, `quantity: unknown state "speed"; the decoder has: px, vx`},
		{"no names", "vx", nil, 1000, `quantity: unknown state "vx"`},
		{"rate 0", "vx", kalmanNames, 0, "rate: 0 Hz"},
		{"rate NaN", "vx", kalmanNames, math.NaN(), "rate: NaN Hz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultThresholdControllerConfig()
			cfg.Quantity = tc.quantity
			c, err := NewThresholdController(cfg, tc.names, tc.rate)
			if tc.want == "" {
				if err != nil || c == nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	bad := DefaultThresholdControllerConfig()
	bad.Count = 0
	bad.Quantity = "nope"
	_, err := NewThresholdController(bad, kalmanNames, -1)
	for _, key := range []string{"count:", "quantity:", "rate:"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error lacks %q: %v", key, err)
		}
	}
}

// TestThresholdCrossings feeds value sequences at one estimate per 20 ms
// (20 samples at 1 kHz, the default bin) and checks which estimates fire.
func TestThresholdCrossings(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name    string
		dir     Direction
		lockout time.Duration
		values  []float64 // threshold 10
		fires   []int     // indices of the estimates that fire
	}{
		{"rising edges, not while above", Rising, 0, []float64{0, 5, 12, 15, 8, 11}, []int{2, 5}},
		{"rising reaches the threshold", Rising, 0, []float64{9, 10}, []int{1}},
		{"rising from the threshold is no edge", Rising, 0, []float64{10, 11}, nil},
		{"first estimate never fires", Rising, 0, []float64{20, 5, 15}, []int{2}},
		{"falling edges", Falling, 0, []float64{15, 12, 8, 5, 12, 10}, []int{2, 5}},
		{"falling ignores rising", Falling, 0, []float64{0, 20, 0}, []int{2}},
		// Lockout 100 ms = 100 samples: the edges at 60 and 100 fall within
		// 100 samples of the firing at 20; the one at 140 does not.
		{"lockout", Rising, 100 * time.Millisecond, []float64{0, 12, 0, 12, 0, 12, 0, 12}, []int{1, 7}},
		{"lockout boundary", Rising, 40 * time.Millisecond, []float64{0, 12, 0, 12}, []int{1, 3}},
		{"NaN clears the previous value", Rising, 0, []float64{0, nan, 12}, nil},
		{"edge after NaN needs two values", Rising, 0, []float64{0, nan, 0, 12}, []int{3}},
		{"Inf never fires", Rising, 0, []float64{0, math.Inf(1), 12}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultThresholdControllerConfig()
			cfg.Quantity, cfg.Threshold, cfg.Direction, cfg.Lockout = "vx", 10, tc.dir, tc.lockout
			c, err := NewThresholdController(cfg, kalmanNames, 1000)
			if err != nil {
				t.Fatal(err)
			}
			var fired []int
			var dst Pattern
			est := decode.Estimate{State: make([]float64, 4)}
			for i, v := range tc.values {
				est.Sample = int64(20 * i)
				est.State[2] = v
				if c.Update(&dst, &est) {
					fired = append(fired, i)
				}
			}
			if !slices.Equal(fired, tc.fires) {
				t.Errorf("fired at %v, want %v", fired, tc.fires)
			}
		})
	}
}

func TestThresholdPattern(t *testing.T) {
	cfg := DefaultThresholdControllerConfig() // speed rising through 10
	cfg.Delay = 25 * time.Millisecond
	cfg.Electrode = 17
	c, err := NewThresholdController(cfg, kalmanNames, 30000)
	if err != nil {
		t.Fatal(err)
	}
	dst := Pattern{Seq: 99, Sample: -1, Arrived: -2, Pulses: make([]Pulse, 3, 8)}
	before := dst
	backing := &dst.Pulses[:1][0]
	// speed = hypot(vx, vy): (6, 8) → 10 reaches the threshold from 0.
	steps := []struct {
		vx, vy float64
		fire   bool
	}{{0, 0, false}, {6, 7.9, false}, {6, 8, true}, {0, 0, false}, {-8, -6, true}}
	seq := uint64(0)
	for i, s := range steps {
		est := decode.Estimate{Sample: int64(30000 * (i + 1)), // 1 s apart: beyond the lockout
			Arrived: int64(1000 + i), State: []float64{1, 2, s.vx, s.vy}}
		fired := c.Update(&dst, &est)
		if fired != s.fire {
			t.Fatalf("step %d: fired %v", i, fired)
		}
		if !fired {
			if dst.Seq != before.Seq || dst.Sample != before.Sample || len(dst.Pulses) != len(before.Pulses) {
				t.Errorf("step %d: dst changed without firing: %+v", i, dst)
			}
			continue
		}
		seq++
		want := Pulse{Electrode: 17, AmplitudeUA: 50, PhaseUS: 200, GapUS: 50, Count: 10, FreqHz: 100}
		// 25 ms at 30 kHz = 750 samples.
		if dst.Seq != seq || dst.Sample != est.Sample+750 || dst.Arrived != est.Arrived ||
			len(dst.Pulses) != 1 || dst.Pulses[0] != want {
			t.Errorf("step %d: pattern %+v", i, dst)
		}
		if &dst.Pulses[0] != backing {
			t.Error("dst.Pulses reallocated")
		}
		before = dst
	}
}

func TestThresholdShortStatePanics(t *testing.T) {
	c, err := NewThresholdController(DefaultThresholdControllerConfig(), kalmanNames, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "needs index 3") {
			t.Errorf("recovered %v", r)
		}
	}()
	c.Update(&Pattern{}, &decode.Estimate{State: []float64{1, 2, 3}})
}

// randomWalk returns n estimates of a seeded random walk in (vx, vy).
func randomWalk(seed uint64, n int) []decode.Estimate {
	r := rand.New(rand.NewPCG(seed, 0xc0de))
	out := make([]decode.Estimate, n)
	var vx, vy float64
	for i := range out {
		vx += 3 * r.NormFloat64()
		vy += 3 * r.NormFloat64()
		vx, vy = 0.9*vx, 0.9*vy
		out[i] = decode.Estimate{Seq: uint64(i), Sample: int64(20 * (i + 1)), Arrived: int64(i), State: []float64{0, 0, vx, vy}}
	}
	return out
}

// TestThresholdDeterminism: the same estimates give the same patterns, from
// a new controller and after Reset (with Seq continuing).
func TestThresholdDeterminism(t *testing.T) {
	run := func(c *ThresholdController) []Pattern {
		var out []Pattern
		for _, est := range randomWalk(7, 5000) {
			var dst Pattern
			if c.Update(&dst, &est) {
				out = append(out, dst)
			}
		}
		return out
	}
	newC := func() *ThresholdController {
		c, err := NewThresholdController(DefaultThresholdControllerConfig(), kalmanNames, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := newC()
	a, b := run(c), run(newC())
	if len(a) < 20 {
		t.Fatalf("only %d firings in 100 s of a random walk", len(a))
	}
	c.Reset()
	again := run(c)
	if len(a) != len(b) || len(a) != len(again) {
		t.Fatalf("firings %d, %d, %d", len(a), len(b), len(again))
	}
	for i := range a {
		if a[i].Seq != b[i].Seq || a[i].Sample != b[i].Sample || !slices.Equal(a[i].Pulses, b[i].Pulses) {
			t.Fatalf("firing %d differs: %+v vs %+v", i, a[i], b[i])
		}
		if again[i].Seq != a[i].Seq+uint64(len(a)) || again[i].Sample != a[i].Sample {
			t.Fatalf("after Reset, firing %d: %+v vs %+v", i, again[i], a[i])
		}
		if i > 0 && a[i].Sample-a[i-1].Sample < 200 {
			t.Fatalf("lockout broken: firings at %d and %d", a[i-1].Sample, a[i].Sample)
		}
	}
}

// TestThresholdDefaultsPassDefaultLimit: the default controller firing as
// often as its lockout allows never trips the default Limit.
func TestThresholdDefaultsPassDefaultLimit(t *testing.T) {
	c, err := NewThresholdController(DefaultThresholdControllerConfig(), kalmanNames, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var now int64
	cfg := DefaultLimitConfig()
	cfg.Clock = func() int64 { return now }
	sink := &countSink{}
	l, err := NewLimit(sink, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	var dst Pattern
	est := decode.Estimate{State: make([]float64, 4)}
	for i := range 500 { // 10 s of 20 ms bins, speed alternating 0 / 20 cm/s
		est.Sample = int64(20 * (i + 1))
		est.State[2] = float64(20 * (i % 2))
		if c.Update(&dst, &est) {
			now = dst.Sample * int64(time.Millisecond)
			if err := l.Stimulate(context.Background(), &dst); err != nil {
				t.Fatalf("bin %d: %v", i, err)
			}
		}
	}
	// 10 s / 200 ms lockout = 50 firings.
	if st := l.Stats(); st.Passed != 50 || st.Refused != 0 || sink.pulses != 50 {
		t.Errorf("stats %+v", st)
	}
}

func TestThresholdAllocs(t *testing.T) {
	cfg := DefaultThresholdControllerConfig()
	cfg.Lockout = 0
	c, err := NewThresholdController(cfg, kalmanNames, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var dst Pattern
	est := decode.Estimate{State: make([]float64, 4)}
	i := 0
	fires := 0
	step := func() {
		i++
		est.Sample = int64(20 * i)
		est.State[2] = float64(20 * (i % 2))
		if c.Update(&dst, &est) {
			fires++
		}
	}
	step()
	step()
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Errorf("%v allocs per Update", n)
	}
	if fires < 500 {
		t.Errorf("%d firings", fires)
	}
}

func BenchmarkThresholdController(b *testing.B) {
	c, err := NewThresholdController(DefaultThresholdControllerConfig(), kalmanNames, 1000)
	if err != nil {
		b.Fatal(err)
	}
	ests := randomWalk(1, 4096)
	var dst Pattern
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		est := &ests[i%len(ests)]
		est.Sample = int64(20 * (i + 1))
		c.Update(&dst, est)
		i++
	}
}

func ExampleThresholdController() {
	cfg := DefaultThresholdControllerConfig() // fire when speed rises through 10 cm/s, lockout 200 ms
	cfg.Delay = 5 * time.Millisecond
	c, err := NewThresholdController(cfg, []string{"px", "py", "vx", "vy"}, 1000)
	if err != nil {
		panic(err)
	}
	var p Pattern
	// Decoded velocities, one estimate per 20 ms bin; the crossing at
	// sample 100 falls within the lockout of the firing at 40.
	velocities := [][2]float64{{0, 0}, {6, 9}, {8, 8}, {1, 1}, {9, 9}, {2, 0}, {1, 1}, {2, 2}, {1, 0}, {1, 1}, {0, 0}, {12, 0}}
	for i, v := range velocities {
		est := decode.Estimate{Sample: int64(20 * (i + 1)), State: []float64{0, 0, v[0], v[1]}}
		if c.Update(&p, &est) {
			q := p.Pulses[0]
			fmt.Printf("estimate at %d: pattern %d at sample %d, %g µA × %d @ %g Hz on electrode %d\n",
				est.Sample, p.Seq, p.Sample, q.AmplitudeUA, q.Count, q.FreqHz, q.Electrode)
		}
	}
	// Output:
	// estimate at 40: pattern 1 at sample 45, 50 µA × 10 @ 100 Hz on electrode 0
	// estimate at 240: pattern 2 at sample 245, 50 µA × 10 @ 100 Hz on electrode 0
}
