package stimulate

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/bciloop/bciloop/decode"
)

func TestEventControllerConfigValidate(t *testing.T) {
	def := DefaultEventControllerConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := EventControllerConfig{Threshold: math.NaN(), Lockout: -1, Refractory: -1, Delay: -1, Pulse: PulseConfig{Electrode: -1, FreqHz: -1, GapUS: -1}}
	err := bad.Validate()
	for _, key := range []string{"quantity:", "window:", "threshold:", "lockout:", "refractory:", "delay:",
		"pulse.electrode:", "pulse.amplitude_ua:", "pulse.phase_us:", "pulse.gap_us:", "pulse.count:", "pulse.freq_hz:"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error lacks %q: %v", key, err)
		}
	}
	tests := []struct {
		name string
		mod  func(*EventControllerConfig)
		want string
	}{
		{"no refractory or lockout", func(c *EventControllerConfig) { c.Lockout, c.Refractory = 0, 0 }, ""},
		{"zero threshold", func(c *EventControllerConfig) { c.Threshold = 0 }, "threshold: must be finite and > 0"},
		{"train without freq", func(c *EventControllerConfig) { c.Pulse.FreqHz = 0 }, "pulse.freq_hz: must be > 0"},
		{"unknown detector", func(c *EventControllerConfig) { c.Detector = "spectral" }, "detector: must be line_length or level"},
		{"level detector", func(c *EventControllerConfig) { c.Detector = DetectLevel }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultEventControllerConfig()
			tc.mod(&c)
			err := c.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.HasPrefix(err.Error(), tc.want)) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := NewEventController(DefaultEventControllerConfig(), []string{"rate"}, 1000); err == nil ||
		!strings.Contains(err.Error(), `quantity: unknown state "lfp"; the decoder has: rate`) {
		t.Errorf("unknown state: %v", err)
	}
}

// eventSignal is 1 kHz synthetic LFP in units of its background SD: an
// AR(1) background x_t = 0.95 x_{t−1} + 0.3 ε_t (SD ≈ 0.96, line length ≈
// 240 /s) plus 300 ms events of a 20 Hz sinusoid of amplitude 8 (line
// length 4·A·f = 640 /s) starting at the given samples.
func eventSignal(seed uint64, n int, onsets []int) []float64 {
	rng := rand.New(rand.NewPCG(seed, 3))
	x := make([]float64, n)
	var ar float64
	for i := range x {
		ar = 0.95*ar + 0.3*rng.NormFloat64()
		x[i] = ar
	}
	for _, on := range onsets {
		for k := 0; k < 300 && on+k < n; k++ {
			x[on+k] += 8 * math.Sin(2*math.Pi*20*float64(k)/1000)
		}
	}
	return x
}

func TestEventControllerDetects(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 5))
	// 12 events, one per 2 s slot at a random offset, then one 600 ms after
	// the last: inside the 1 s lockout.
	var onsets []int
	for k := range 12 {
		onsets = append(onsets, 2000*k+200+rng.IntN(1400))
	}
	blocked := onsets[len(onsets)-1] + 600
	onsets = append(onsets, blocked)
	x := eventSignal(9, 26000, onsets)

	c, err := NewEventController(DefaultEventControllerConfig(), []string{"lfp"}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	pc := DefaultEventControllerConfig().Pulse
	want := pc.Pulse()
	var fires []int64
	var dst Pattern
	est := decode.Estimate{State: make([]float64, 1)}
	for i, v := range x {
		est.Sample = int64(i)
		est.State[0] = v
		if c.Update(&dst, &est) {
			if dst.Sample != est.Sample || dst.Pulses[0] != want || dst.Seq != uint64(len(fires)+1) {
				t.Fatalf("pattern %+v", dst)
			}
			fires = append(fires, est.Sample)
		}
	}
	if len(fires) != len(onsets)-1 {
		t.Fatalf("%d firings %v for %d events (one locked out)", len(fires), fires, len(onsets)-1)
	}
	var worst int64
	for k, f := range fires {
		lat := f - int64(onsets[k])
		worst = max(worst, lat)
		if lat < 0 || lat > 50 {
			t.Errorf("event %d at %d: detected at %d, latency %d ms (≤ 50)", k, onsets[k], f, lat)
		}
		if k > 0 && f-fires[k-1] < 1000 {
			t.Errorf("firings %d, %d within the lockout", fires[k-1], f)
		}
	}
	t.Logf("%d events detected, worst latency %d ms; event at %d in lockout not fired", len(fires), worst, blocked)
}

// TestEventRefractory: with no lockout, an event that dips below threshold
// for less than the refractory period fires once; a gap longer than the
// refractory period re-arms.
func TestEventRefractory(t *testing.T) {
	tests := []struct {
		name       string
		refractory time.Duration
		fires      int
	}{
		{"gap shorter than refractory", 300 * time.Millisecond, 1},
		{"gap longer than refractory", 50 * time.Millisecond, 2},
	}
	// Two events separated by 200 ms of background.
	x := eventSignal(4, 2000, []int{500, 1000})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultEventControllerConfig()
			cfg.Lockout, cfg.Refractory = 0, tc.refractory
			c, err := NewEventController(cfg, []string{"lfp"}, 1000)
			if err != nil {
				t.Fatal(err)
			}
			var dst Pattern
			est := decode.Estimate{State: make([]float64, 1)}
			n := 0
			for i, v := range x {
				est.Sample, est.State[0] = int64(i), v
				if c.Update(&dst, &est) {
					n++
				}
			}
			if n != tc.fires {
				t.Errorf("%d firings, want %d", n, tc.fires)
			}
		})
	}
}

func TestEventAllocs(t *testing.T) {
	cfg := DefaultEventControllerConfig()
	cfg.Lockout, cfg.Refractory = 0, 0
	c, err := NewEventController(cfg, []string{"lfp"}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var dst Pattern
	est := decode.Estimate{State: make([]float64, 1)}
	i, fires := 0, 0
	step := func() {
		i++
		est.Sample = int64(5 * i) // one estimate per 5 samples
		est.State[0] = float64(40 * ((i / 20) % 2) * (i % 2))
		if c.Update(&dst, &est) {
			fires++
		}
	}
	for range 50 {
		step()
	}
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Errorf("%v allocs per Update", n)
	}
	if fires < 10 {
		t.Errorf("%d firings", fires)
	}
}

// TestEventLevelDetector: with detector "level" the quantity itself (a
// band power) is compared with the threshold, with the same refractory
// period and lockout as the line length.
func TestEventLevelDetector(t *testing.T) {
	cfg := DefaultEventControllerConfig()
	cfg.Quantity, cfg.Detector, cfg.Threshold = "power", DetectLevel, 10
	cfg.Lockout, cfg.Refractory = 100*time.Millisecond, 20*time.Millisecond
	c, err := NewEventController(cfg, []string{"x", "power"}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var p Pattern
	var fired []int64
	est := decode.Estimate{State: make([]float64, 2)}
	level := func(s int64) float64 {
		switch {
		case s >= 100 && s < 150, s >= 160 && s < 170: // an event, a dip of 10 ms (< refractory), more event
			return 20
		case s >= 190 && s < 210: // re-armed after 20 ms below, but within the lockout: dropped
			return 20
		case s >= 400 && s < 420: // a third, after the lockout
			return 20
		case s == 300:
			return math.NaN() // ignored
		}
		return 1
	}
	for s := int64(0); s < 500; s++ {
		est.Sample, est.State[1] = s, level(s)
		if c.Update(&p, &est) {
			fired = append(fired, p.Sample)
		}
	}
	if len(fired) != 2 || fired[0] != 100 || fired[1] != 400 {
		t.Fatalf("fired at %v, want [100 400]", fired)
	}
	if c.LineLength() != 1 {
		t.Errorf("last detector value %v, want the level 1", c.LineLength())
	}
}
