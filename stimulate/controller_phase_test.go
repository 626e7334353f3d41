package stimulate

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/bciloop/bciloop/decode"
)

func TestPhaseConfigValidate(t *testing.T) {
	def := DefaultPhaseConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := PhaseConfig{LowHz: -1, HighHz: math.NaN(), Edge: -1, Hop: 0, TargetPhaseDeg: math.Inf(1), MinAmplitude: -1, Lockout: -1}
	err := bad.Validate()
	for _, key := range []string{"quantity:", "low_hz:", "high_hz:", "window:", "edge:", "order:", "hop:",
		"target_phase_deg:", "min_amplitude:", "lockout:", "pulse.amplitude_ua:"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error lacks %q: %v", key, err)
		}
	}
	tests := []struct {
		name string
		mod  func(*PhaseConfig)
		rate float64
		want string // in the constructor's error
	}{
		{"ok", func(*PhaseConfig) {}, 1000, ""},
		{"band inverted", func(c *PhaseConfig) { c.HighHz = 10 }, 1000, "high_hz: 10 must be above low_hz 15"},
		{"edge too wide", func(c *PhaseConfig) { c.Edge = 200 * time.Millisecond }, 1000, "edge: must be ≥ 0 and below half"},
		{"band above Nyquist", func(*PhaseConfig) {}, 40, "low_hz, high_hz:"},
		{"window too short for order", func(c *PhaseConfig) { c.Order = 150 }, 1000, "window: 400 samples less 2·60 edge"},
		{"lockout under 1.5 hops", func(c *PhaseConfig) { c.Lockout = 7 * time.Millisecond }, 1000, "lockout: 7ms is shorter than 1.5 hops"},
		{"unknown state", func(c *PhaseConfig) { c.Quantity = "beta" }, 1000, `quantity: unknown state "beta"; the decoder has: lfp`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultPhaseConfig()
			tc.mod(&c)
			_, err := NewPhaseController(c, []string{"lfp"}, tc.rate)
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// noisyBeta returns n samples at 1 kHz of cos θ_t + 0.5·white noise with
// θ_{t+1} = θ_t + 2π·20/1000 + 0.01·ε_t (phase diffusion: the oscillation
// keeps its phase for about (1/0.01)² = 10⁴ samples), and θ.
func noisyBeta(seed uint64, n int) (x, theta []float64) {
	rng := rand.New(rand.NewPCG(seed, 29))
	x, theta = make([]float64, n), make([]float64, n)
	th := rng.Float64() * 2 * math.Pi
	for i := range x {
		theta[i] = th
		x[i] = math.Cos(th) + 0.5*rng.NormFloat64()
		th += 2*math.Pi*20/1000 + 0.01*rng.NormFloat64()
	}
	return x, theta
}

func TestPhaseLocking(t *testing.T) {
	tests := []struct {
		name   string
		target float64 // degrees
	}{
		{"peak", 0},
		{"trough", 180},
		{"rising", 270},
	}
	const n = 8000 // 8 s
	x, theta := noisyBeta(31, n+100)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultPhaseConfig()
			cfg.TargetPhaseDeg = tc.target
			c, err := NewPhaseController(cfg, []string{"lfp"}, 1000)
			if err != nil {
				t.Fatal(err)
			}
			var dst Pattern
			est := decode.Estimate{State: make([]float64, 1)}
			var sc, ss float64
			var fires int
			last := int64(-1 << 40)
			for i := range n {
				est.Sample, est.State[0] = int64(i), x[i]
				if !c.Update(&dst, &est) {
					continue
				}
				if dst.Sample < est.Sample || dst.Sample-last < 30 {
					t.Fatalf("pulse at %d from estimate %d, previous %d", dst.Sample, est.Sample, last)
				}
				last = dst.Sample
				d := theta[dst.Sample] - tc.target*math.Pi/180
				sc += math.Cos(d)
				ss += math.Sin(d)
				fires++
			}
			cycles := 20 * float64(n-400) / 1000
			r := math.Hypot(sc, ss) / float64(fires)
			mean := math.Atan2(ss, sc) * 180 / math.Pi
			csd := math.Sqrt(-2*math.Log(r)) * 180 / math.Pi
			t.Logf("target %v°: %d pulses in %.0f cycles, mean error %.1f°, circular SD %.1f°", tc.target, fires, cycles, mean, csd)
			if csd > 30 || math.Abs(mean) > 20 || float64(fires) < 0.8*cycles || float64(fires) > 1.05*cycles {
				t.Errorf("circular SD %.1f° (≤ 30), mean error %.1f° (≤ 20), %d pulses for %.0f cycles", csd, mean, fires, cycles)
			}
		})
	}
}

// TestPhaseMinAmplitude: with min_amplitude set, white noise alone
// (band amplitude about 0.1) rarely fires, while the oscillation does.
func TestPhaseMinAmplitude(t *testing.T) {
	cfg := DefaultPhaseConfig()
	cfg.MinAmplitude = 0.5
	c, err := NewPhaseController(cfg, []string{"lfp"}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	var dst Pattern
	est := decode.Estimate{State: make([]float64, 1)}
	fires := 0
	for i := range 3000 {
		est.Sample, est.State[0] = int64(i), 0.5*rng.NormFloat64()
		if c.Update(&dst, &est) {
			fires++
		}
	}
	if fires > 3 {
		t.Errorf("%d pulses on noise alone", fires)
	}
}

func TestPhaseAllocs(t *testing.T) {
	c, err := NewPhaseController(DefaultPhaseConfig(), []string{"lfp"}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := noisyBeta(2, 3000)
	var dst Pattern
	est := decode.Estimate{State: make([]float64, 1)}
	i, fires := 0, 0
	step := func() {
		est.Sample, est.State[0] = int64(i), x[i%len(x)]
		i++
		if c.Update(&dst, &est) {
			fires++
		}
	}
	for range 500 {
		step()
	}
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Errorf("%v allocs per Update", n)
	}
	if fires == 0 {
		t.Error("no pulses")
	}
}
