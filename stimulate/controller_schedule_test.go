package stimulate

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bciloop/bciloop/decode"
)

func TestScheduleConfigValidate(t *testing.T) {
	def := DefaultScheduleConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := ScheduleConfig{Timing: "random", RateHz: math.NaN(), DeadTime: -1}
	err := bad.Validate()
	for _, key := range []string{"timing:", "rate_hz:", "dead_time:", "pulse.amplitude_ua:", "pulse.count:"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error lacks %q: %v", key, err)
		}
	}
	tests := []struct {
		name string
		mod  func(*ScheduleConfig)
		want string
	}{
		{"dead time too long", func(c *ScheduleConfig) { c.RateHz = 5 }, "dead_time: 200ms leaves no room for a mean rate of 5 Hz"},
		{"periodic ignores dead time", func(c *ScheduleConfig) { c.Timing, c.RateHz = Periodic, 5 }, ""},
		{"zero rate", func(c *ScheduleConfig) { c.RateHz = 0 }, "rate_hz: must be finite and > 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultScheduleConfig()
			tc.mod(&c)
			err := c.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.HasPrefix(err.Error(), tc.want)) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// scheduleRun feeds n estimates every step samples and returns the due
// samples of the trains.
func scheduleRun(t *testing.T, cfg ScheduleConfig, n, step int) ([]int64, *ScheduleController) {
	t.Helper()
	c, err := NewScheduleController(cfg, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var dst Pattern
	var est decode.Estimate // no state: the schedule ignores it
	var out []int64
	for i := range n {
		est.Sample = int64(step * (i + 1))
		if c.Update(&dst, &est) {
			if dst.Sample < est.Sample || dst.Sample >= est.Sample+int64(step) || dst.Seq != uint64(len(out)+1) {
				t.Fatalf("estimate %d: pattern at %d seq %d", est.Sample, dst.Sample, dst.Seq)
			}
			out = append(out, dst.Sample)
		}
	}
	return out, c
}

func TestSchedulePeriodic(t *testing.T) {
	tests := []struct {
		name    string
		rate    float64
		step    int
		first   int64
		gap     int64
		n       int
		skipped uint64
	}{
		// First estimate at 20, first train one period later.
		{"4 Hz on 20 ms estimates", 4, 20, 270, 250, 39, 0},
		{"every sample", 50, 1, 21, 20, 499, 0},
		// 100 Hz on 20 ms estimates: one train per estimate, the other
		// skipped; the trains due at 30 and 40 both fall to the second
		// estimate (at 20 the next estimate's time is unknown).
		{"above the estimate rate", 100, 20, 40, 20, 499, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultScheduleConfig()
			cfg.Timing, cfg.RateHz = Periodic, tc.rate
			got, c := scheduleRun(t, cfg, 10000/tc.step, tc.step)
			if len(got) != tc.n || got[0] != tc.first || c.Skipped() != tc.skipped {
				t.Fatalf("%d trains from %d, skipped %d; want %d from %d, skipped %d", len(got), got[0], c.Skipped(), tc.n, tc.first, tc.skipped)
			}
			for k := 1; k < len(got); k++ {
				if got[k]-got[k-1] != tc.gap {
					t.Fatalf("interval %d at train %d, want %d", got[k]-got[k-1], k, tc.gap)
				}
			}
		})
	}
}

// TestSchedulePoisson: 1 Hz with a 200 ms dead time over 2000 s. The
// intervals are 200 ms + Exp(mean 800 ms): mean 1 s, SD 0.8 s, so the
// count is 2000 ± 3·√(2000·0.64) ≈ 107 (renewal-process count variance
// n·CV²) and the interval CV 0.8 ± 3·0.8·√(8/(4·2000)) ≈ 0.08 (kurtosis 9
// of the exponential).
func TestSchedulePoisson(t *testing.T) {
	cfg := DefaultScheduleConfig()
	got, _ := scheduleRun(t, cfg, 100000, 20)
	var m, m2 float64
	minGap := int64(math.MaxInt64)
	for k := 1; k < len(got); k++ {
		d := float64(got[k] - got[k-1])
		m += d
		m2 += d * d
		minGap = min(minGap, got[k]-got[k-1])
	}
	nI := float64(len(got) - 1)
	m /= nI
	cv := math.Sqrt(m2/nI-m*m) / m
	t.Logf("%d trains in 2000 s, mean interval %.0f ms, CV %.2f, shortest %d ms", len(got), m, cv, minGap)
	if len(got) < 1893 || len(got) > 2107 || math.Abs(cv-0.8) > 0.08 || minGap < 200 {
		t.Errorf("%d trains, CV %.2f, shortest interval %d ms", len(got), cv, minGap)
	}
	again, _ := scheduleRun(t, cfg, 100000, 20)
	if !slices.Equal(got, again) {
		t.Error("same seed, different schedule")
	}
	cfg.Seed = 2
	other, _ := scheduleRun(t, cfg, 100000, 20)
	if slices.Equal(got, other) {
		t.Error("seeds 1 and 2 give the same schedule")
	}
}

func TestScheduleResetAndAllocs(t *testing.T) {
	cfg := DefaultScheduleConfig()
	cfg.Timing, cfg.RateHz = Periodic, 10
	c, err := NewScheduleController(cfg, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var dst Pattern
	est := decode.Estimate{Sample: 1000}
	c.Update(&dst, &est)
	c.Reset()
	est.Sample = 5000
	if c.Update(&dst, &est) {
		t.Error("fired on the first estimate after Reset")
	}
	i := 0
	step := func() {
		i++
		est.Sample = 5000 + int64(20*i)
		c.Update(&dst, &est)
	}
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Errorf("%v allocs per Update", n)
	}
	if dst.Seq != 200 { // 20 s at 10 Hz
		t.Errorf("%d trains in 20 s at 10 Hz", dst.Seq)
	}
}
