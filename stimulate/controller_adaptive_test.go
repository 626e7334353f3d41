package stimulate

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bciloop/bciloop/decode"
)

func TestAdaptiveConfigValidate(t *testing.T) {
	def := DefaultAdaptiveConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := AdaptiveConfig{Upper: math.Inf(1), Lower: math.NaN(), MinUA: -1, MaxUA: math.NaN(), RampUAPerS: 0, Electrode: -1, PhaseUS: -1, GapUS: -1, FreqHz: -1}
	err := bad.Validate()
	for _, key := range []string{"quantity:", "upper:", "lower:", "min_ua:", "max_ua:", "ramp_ua_per_s:", "electrode:", "phase_us:", "gap_us:", "freq_hz:"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error lacks %q: %v", key, err)
		}
	}
	tests := []struct {
		name string
		mod  func(*AdaptiveConfig)
		want string
	}{
		{"no hysteresis", func(c *AdaptiveConfig) { c.Lower = c.Upper }, "lower: 2.5 must be below upper 2.5"},
		{"max below min", func(c *AdaptiveConfig) { c.MinUA = 3000 }, "max_ua: 2000 is below min_ua 3000"},
		{"floor amplitude", func(c *AdaptiveConfig) { c.MinUA = 500 }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultAdaptiveConfig()
			tc.mod(&c)
			err := c.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.HasPrefix(err.Error(), tc.want)) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := NewAdaptiveController(def, []string{"rate"}, 0); err == nil || !strings.Contains(err.Error(), "quantity: unknown state") ||
		!strings.Contains(err.Error(), "rate: 0 Hz") {
		t.Errorf("constructor: %v", err)
	}
}

// TestAdaptiveHysteresis: with a ramp fast enough to reach the target in
// one 20 ms estimate, the amplitude follows the two-threshold state.
func TestAdaptiveHysteresis(t *testing.T) {
	tests := []struct {
		name  string
		power []float64 // upper 2.5, lower 1.5
		amp   []float64 // after each estimate
	}{
		{"on at upper, held between", []float64{1, 2.5, 2, 1.6, 1.5, 2, 2.4}, []float64{0, 2000, 2000, 2000, 0, 0, 0}},
		{"between from the start stays off", []float64{2, 2.4, 3, 1}, []float64{0, 0, 2000, 0}},
		{"NaN switches off", []float64{3, 3, math.NaN(), 2}, []float64{0, 2000, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultAdaptiveConfig()
			cfg.RampUAPerS = 1e6
			c, err := NewAdaptiveController(cfg, []string{"beta_power"}, 1000)
			if err != nil {
				t.Fatal(err)
			}
			var dst Pattern
			est := decode.Estimate{State: make([]float64, 1)}
			for i, p := range tc.power {
				est.Sample, est.State[0] = int64(20*(i+1)), p
				fired := c.Update(&dst, &est)
				if c.Amplitude() != tc.amp[i] || fired != (tc.amp[i] > 0) {
					t.Errorf("estimate %d (P = %v): amplitude %v fired %v, want %v", i, p, c.Amplitude(), fired, tc.amp[i])
				}
			}
		})
	}
}

// betaTrace is a synthetic beta band-power trace, one value per 20 ms
// estimate, in units of resting power: multiplicative log-normal noise
// (σ = 0.15) on a baseline of 1, with bursts of power 5 lasting 100 ms plus
// an exponential time of mean 250 ms, separated by 200 ms plus an
// exponential time of mean 600 ms (beta bursts of Tinkhauser et al. 2017,
// Brain 140:1053, are mostly shorter than 400 ms). It returns the trace and
// the burst mask.
func betaTrace(seed uint64, n int) (p []float64, burst []bool) {
	rng := rand.New(rand.NewPCG(seed, 17))
	p, burst = make([]float64, n), make([]bool, n)
	i := 0
	for i < n {
		i += 10 + int(rng.ExpFloat64()*30) // gap, in 20 ms estimates
		for d := 5 + int(rng.ExpFloat64()*12.5); d > 0 && i < n; d-- {
			burst[i] = true
			i++
		}
	}
	for k := range p {
		base := 1.0
		if burst[k] {
			base = 5
		}
		p[k] = base * math.Exp(0.15*rng.NormFloat64())
	}
	return p, burst
}

func TestAdaptiveBetaBursts(t *testing.T) {
	const n = 3000 // 60 s
	power, burst := betaTrace(13, n)
	var inBurst int
	for _, b := range burst {
		if b {
			inBurst++
		}
	}
	frac := float64(inBurst) / n
	if frac > 0.4 || frac < 0.2 {
		t.Fatalf("trace has bursts %.0f %% of the time, want 20–40 %%", 100*frac)
	}
	cfg := DefaultAdaptiveConfig()
	c, err := NewAdaptiveController(cfg, []string{"beta_power"}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var dst Pattern
	est := decode.Estimate{State: make([]float64, 1)}
	var charge, pulses float64
	prev := c.Amplitude()
	maxStep := cfg.RampUAPerS * 0.02
	for i, p := range power {
		est.Sample, est.State[0] = int64(20*(i+1)), p
		if c.Update(&dst, &est) {
			q := dst.Pulses[0]
			charge += q.ChargeNC() * float64(q.Count)
		}
		a := c.Amplitude()
		if math.Abs(a-prev) > maxStep*(1+1e-12) || a < cfg.MinUA || a > cfg.MaxUA {
			t.Fatalf("estimate %d: amplitude %v → %v, ramp step ≤ %v within [%v, %v]", i, prev, a, maxStep, cfg.MinUA, cfg.MaxUA)
		}
		switch {
		case i > 0 && p >= cfg.Upper && !(a > prev || a == cfg.MaxUA):
			t.Errorf("estimate %d: P = %.2f ≥ upper but amplitude %v → %v", i, p, prev, a)
		case i > 0 && p <= cfg.Lower && !(a < prev || a == cfg.MinUA):
			t.Errorf("estimate %d: P = %.2f ≤ lower but amplitude %v → %v", i, p, prev, a)
		}
		prev = a
	}
	// Continuous stimulation: 130 pulses/s of max_ua for the 59.98 s after
	// the first estimate.
	pulses = cfg.FreqHz * 0.02 * (n - 1)
	cont := cfg.MaxUA * cfg.PhaseUS * 1e-3 * pulses
	ratio := charge / cont
	t.Logf("bursts %.0f %% of the time; charge %.0f nC = %.1f %% of continuous", 100*frac, charge, 100*ratio)
	if ratio > 0.6 || ratio < frac/2 {
		t.Errorf("charge %.3f of continuous, want ≤ 0.6 (and ≥ half the burst fraction %.2f)", ratio, frac)
	}
}

func TestAdaptiveAllocs(t *testing.T) {
	c, _ := NewAdaptiveController(DefaultAdaptiveConfig(), []string{"beta_power"}, 1000)
	var dst Pattern
	est := decode.Estimate{State: make([]float64, 1)}
	i := 0
	step := func() {
		i++
		est.Sample = int64(20 * i)
		est.State[0] = float64(4 * ((i / 10) % 2))
		c.Update(&dst, &est)
	}
	step()
	step()
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Errorf("%v allocs per Update", n)
	}
}
