package stimulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bciloop/bciloop/decode"
)

func TestRateClampConfigValidate(t *testing.T) {
	def := DefaultRateClampConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := RateClampConfig{TargetHz: -1, Kp: math.NaN(), Ki: -1, MinUA: -1, MaxUA: 0, Electrode: -1, PhaseUS: 0, GapUS: -1, FreqHz: 0}
	err := bad.Validate()
	for _, key := range []string{"quantity:", "target_hz:", "kp:", "ki:", "min_ua:", "max_ua:", "electrode:", "phase_us:", "gap_us:", "freq_hz:"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error lacks %q: %v", key, err)
		}
	}
	tests := []struct {
		name string
		mod  func(*RateClampConfig)
		want string // "" = valid
	}{
		{"max below min", func(c *RateClampConfig) { c.MinUA = 50; c.MaxUA = 20 }, "max_ua: 20 is below min_ua 50"},
		{"overlapping pulses", func(c *RateClampConfig) { c.FreqHz = 3000 }, "freq_hz: period"},
		{"pure integral", func(c *RateClampConfig) { c.Kp = 0 }, ""},
		{"min equals max", func(c *RateClampConfig) { c.MinUA, c.MaxUA = 30, 30 }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultRateClampConfig()
			tc.mod(&c)
			err := c.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.HasPrefix(err.Error(), tc.want)) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestNewRateClampController(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		rate  float64
		want  string
	}{
		{"ok", []string{"beta", "rate"}, 1000, ""},
		{"unknown", []string{"vx", "vy"}, 1000, `quantity: unknown state "rate"; the decoder has: vx, vy`},
		{"bad rate", []string{"rate"}, 0, "rate: 0 Hz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewRateClampController(DefaultRateClampConfig(), tc.names, tc.rate)
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
	c, _ := NewRateClampController(DefaultRateClampConfig(), []string{"rate"}, 1000)
	if err := c.SetTarget(-2); err == nil || c.Target() != 5 {
		t.Errorf("SetTarget(-2) = %v, target %v", err, c.Target())
	}
}

// ratePlant is the first-order population response to stimulation,
// τ dr/dt = −r + r0 + g·u, integrated exactly over a bin with u held
// (zero-order hold): r ← r∞ + (r − r∞)·e^{−Δt/τ}, r∞ = r0 + g·u.
type ratePlant struct{ tau, r0, g, r float64 }

func (p *ratePlant) step(u, dt float64) {
	inf := p.r0 + p.g*u
	p.r = inf + (p.r-inf)*math.Exp(-dt/p.tau)
}

// clampRun drives the default clamp (tuned for this plant) with 20 ms
// estimates at 1 kHz of the plant's rate plus seeded Gaussian measurement
// noise of 0.1 Hz, the targets held for hold bins each, and returns the
// true rate and the output after each bin.
func clampRun(t *testing.T, targets []float64, hold int) (r, u []float64, c *RateClampController) {
	t.Helper()
	c, err := NewRateClampController(DefaultRateClampConfig(), []string{"rate"}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	plant := ratePlant{tau: 0.1, r0: 2, g: 0.2, r: 2}
	rng := rand.New(rand.NewPCG(7, 11))
	est := decode.Estimate{State: make([]float64, 1)}
	var dst Pattern
	for i := range len(targets) * hold {
		if i%hold == 0 {
			if err := c.SetTarget(targets[i/hold]); err != nil {
				t.Fatal(err)
			}
		}
		est.Sample = int64(20 * (i + 1))
		est.State[0] = plant.r + 0.1*rng.NormFloat64()
		fired := c.Update(&dst, &est)
		if fired && (dst.Pulses[0].AmplitudeUA != c.Output() || dst.Pulses[0].Count != 2) {
			t.Fatalf("bin %d: pattern %+v, output %v", i, dst.Pulses[0], c.Output())
		}
		if in := c.Integral(); in < 0 || in > 100 {
			t.Fatalf("bin %d: integrator %v outside [0, 100]", i, in)
		}
		plant.step(c.Output(), 0.02)
		r, u = append(r, plant.r), append(u, c.Output())
	}
	return r, u, c
}

// settle returns the settling time (s) of r after a step to target at bin
// 0 — the end of the last bin outside ±5 % of target — and the relative
// steady-state error of the mean over the last 300 ms.
func settle(r []float64, target float64) (ts, sse float64) {
	last := -1
	for i, v := range r {
		if math.Abs(v-target) > 0.05*target {
			last = i
		}
	}
	var m float64
	tail := r[len(r)-15:]
	for _, v := range tail {
		m += v
	}
	m /= float64(len(tail))
	return 0.02 * float64(last+1), math.Abs(m-target) / target
}

func TestRateClampSteps(t *testing.T) {
	targets := []float64{5, 15, 8}
	const hold = 50 // 1 s
	r, _, _ := clampRun(t, targets, hold)
	for k, target := range targets {
		ts, sse := settle(r[k*hold:(k+1)*hold], target)
		t.Logf("step to %v Hz: settling %.0f ms, steady-state error %.2f %%", target, 1000*ts, 100*sse)
		if ts > 0.3 || sse > 0.05 {
			t.Errorf("step to %v Hz: settling %v s (≤ 0.3), steady-state error %v (≤ 0.05)", target, ts, sse)
		}
	}
}

// TestRateClampAntiWindup asks for 40 Hz, beyond the 22 Hz the plant
// reaches at 100 µA, for 2 s, then for 8 Hz. The clamped integrator stays
// at 100 µA, so the rate settles within 300 ms of the step down; the same
// PI without the clamp (computed alongside from the same errors) winds up
// to thousands of µA and would hold the output at the maximum for seconds.
func TestRateClampAntiWindup(t *testing.T) {
	const hold = 100
	r, u, _ := clampRun(t, []float64{40, 8}, hold)
	for i := hold / 2; i < hold; i++ {
		if u[i] != 100 {
			t.Fatalf("bin %d: output %v during saturation, want 100", i, u[i])
		}
	}
	ts, sse := settle(r[hold:], 8)
	t.Logf("after saturation: settling %.0f ms, error %.2f %%", 1000*ts, 100*sse)
	if ts > 0.3 || sse > 0.05 {
		t.Errorf("recovery from saturation: settling %v s, error %v", ts, sse)
	}
	// Unclamped integral over the saturated phase: Σ Ki·e·Δt with e ≥ 40 − 22.
	var wound float64
	for i := 1; i < hold; i++ { // the first bin only primes Δt
		wound += 100 * (40 - r[i-1]) * 0.02
	}
	// It would take the error of −(22 − 8) Hz at least wound/(Ki·14 Hz) s to unwind.
	if unwind := (wound - 100) / (100 * 14); unwind < 1 {
		t.Errorf("windup contrast too weak: naive integrator %v µA unwinds in %v s", wound, unwind)
	}
}

func TestRateClampNaNAndReset(t *testing.T) {
	c, _ := NewRateClampController(DefaultRateClampConfig(), []string{"rate"}, 1000)
	var dst Pattern
	est := decode.Estimate{State: []float64{0}}
	for i := range 10 {
		est.Sample = int64(20 * (i + 1))
		c.Update(&dst, &est)
	}
	in := c.Integral()
	est.Sample += 20
	est.State[0] = math.NaN()
	if c.Update(&dst, &est) || c.Integral() != in || c.Output() != 0 {
		t.Errorf("NaN: integral %v → %v, output %v", in, c.Integral(), c.Output())
	}
	seq := dst.Seq
	c.Reset()
	est.State[0] = 0
	if c.Update(&dst, &est) || c.Integral() != 0 {
		t.Errorf("first update after Reset fired or integrated: %v", c.Integral())
	}
	est.Sample += 20
	if !c.Update(&dst, &est) || dst.Seq != seq+1 {
		t.Errorf("Seq %d after Reset, want %d", dst.Seq, seq+1)
	}
}

func TestRateClampAllocs(t *testing.T) {
	c, _ := NewRateClampController(DefaultRateClampConfig(), []string{"rate"}, 1000)
	var dst Pattern
	est := decode.Estimate{State: []float64{0}}
	i := 0
	step := func() {
		i++
		est.Sample = int64(20 * i)
		est.State[0] = float64(i % 7)
		c.Update(&dst, &est)
	}
	step()
	step()
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Errorf("%v allocs per Update", n)
	}
}

func ExampleRateClampController() {
	cfg := DefaultRateClampConfig() // 5 Hz target, Kp 10 µA/Hz, Ki 100 µA/(Hz·s), 100 Hz train
	c, err := NewRateClampController(cfg, []string{"rate"}, 1000)
	if err != nil {
		panic(err)
	}
	var p Pattern
	for i, rate := range []float64{2, 2, 3, 4, 5} { // measured rate every 20 ms
		est := decode.Estimate{Sample: int64(20 * (i + 1)), State: []float64{rate}}
		if c.Update(&p, &est) {
			fmt.Printf("t=%d ms: %d pulses of %.0f µA\n", est.Sample, p.Pulses[0].Count, p.Pulses[0].AmplitudeUA)
		}
	}
	// Output:
	// t=40 ms: 2 pulses of 36 µA
	// t=60 ms: 2 pulses of 30 µA
	// t=80 ms: 2 pulses of 22 µA
	// t=100 ms: 2 pulses of 12 µA
}
