package stimulate

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// fakeClock is a controllable Limit clock in ns.
type fakeClock struct{ t int64 }

func (c *fakeClock) Now() int64 { return c.t }

// delivery is one pattern received by recordSink, deep-copied, with the
// clock reading at which Limit judged it.
type delivery struct {
	at  int64
	pat Pattern
}

// recordSink records every pattern it receives.
type recordSink struct {
	clock  func() int64
	got    []delivery
	ptrs   []*Pattern
	err    error
	closes int
}

func (s *recordSink) Stimulate(_ context.Context, p *Pattern) error {
	c := *p
	c.Pulses = slices.Clone(p.Pulses)
	s.got = append(s.got, delivery{at: s.clock(), pat: c})
	s.ptrs = append(s.ptrs, p)
	return s.err
}

func (s *recordSink) Close() error { s.closes++; return nil }

func (s *recordSink) pulses() int {
	n := 0
	for _, d := range s.got {
		n += len(d.pat.Pulses)
	}
	return n
}

// countSink counts pulses without allocating.
type countSink struct{ patterns, pulses int }

func (s *countSink) Stimulate(_ context.Context, p *Pattern) error {
	s.patterns++
	s.pulses += len(p.Pulses)
	return nil
}

func (s *countSink) Close() error { return nil }

func newTestLimit(t testing.TB, cfg LimitConfig) (*Limit, *recordSink, *fakeClock) {
	t.Helper()
	clk := &fakeClock{}
	cfg.Clock = clk.Now
	sink := &recordSink{clock: clk.Now}
	l, err := NewLimit(sink, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return l, sink, clk
}

// complianceErrors checks, independently of Limit's implementation, that
// every delivered pulse satisfies every limit of cfg (see
// complianceErrorsFrom), for a Limit that judged its first pattern at 0.
func complianceErrors(cfg LimitConfig, got []delivery) []string {
	return complianceErrorsFrom(cfg, 0, got)
}

// complianceErrorsFrom checks that every delivered pulse satisfies every
// limit of cfg, for a Limit that judged its first pattern at start: the
// per-pulse limits, the Shannon (1992) line computed from Q and D = Q/A
// directly, the ramp against the previous delivery on the electrode (0 µA
// at start), and the rate and charge per second rules by brute force over
// all onsets (onset k of a train judged at time at is
// at + round(k · (1e6/f) · 1e3) ns, the definition in LimitConfig).
func complianceErrorsFrom(cfg LimitConfig, start int64, got []delivery) []string {
	var bad []string
	type onset struct {
		t  int64
		uc float64 // charge per phase, µC
	}
	var onsets []onset
	maxTrainUS := float64(cfg.MaxTrain) / 1e3
	lastAmp := map[int]float64{}
	lastT := map[int]int64{}
	for _, d := range got {
		for _, q := range d.pat.Pulses {
			fin := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
			quc := q.AmplitudeUA * q.PhaseUS * 1e-6 // µA·µs = pC; 1e-6 → µC
			dens := quc / cfg.ElectrodeAreaCM2
			prevT, ok := lastT[q.Electrode]
			if !ok {
				prevT = start
			}
			rampMax := lastAmp[q.Electrode] + cfg.MaxRampUAPerS*float64(d.at-prevT)/1e9
			switch {
			case !fin(q.AmplitudeUA) || q.AmplitudeUA <= 0 || q.AmplitudeUA > cfg.MaxAmplitudeUA:
				bad = append(bad, fmt.Sprintf("amplitude %v", q))
			case !fin(q.PhaseUS) || q.PhaseUS <= 0:
				bad = append(bad, fmt.Sprintf("phase %v", q))
			case !fin(q.GapUS) || q.GapUS < 0:
				bad = append(bad, fmt.Sprintf("gap %v", q))
			case q.Count < 1:
				bad = append(bad, fmt.Sprintf("count %v", q))
			case q.Electrode < 0 || q.Electrode >= cfg.Electrodes:
				bad = append(bad, fmt.Sprintf("electrode %v", q))
			case q.ChargeNC() > cfg.MaxChargeNC:
				bad = append(bad, fmt.Sprintf("charge %v nC: %v", q.ChargeNC(), q))
			case dens > cfg.MaxChargeDensityUCCM2*(1+1e-12):
				bad = append(bad, fmt.Sprintf("density %v µC/cm²: %v", dens, q))
			case math.Log10(quc)+math.Log10(dens) > cfg.ShannonK+1e-12:
				bad = append(bad, fmt.Sprintf("shannon k = %v: %v", math.Log10(quc)+math.Log10(dens), q))
			case cfg.MaxRampUAPerS > 0 && q.AmplitudeUA > rampMax*(1+1e-12)+1e-12:
				bad = append(bad, fmt.Sprintf("ramp: %v µA allowed at %d ns: %v", rampMax, d.at, q))
			case q.Count > 1 && (!fin(q.FreqHz) || q.FreqHz <= 0):
				bad = append(bad, fmt.Sprintf("freq %v", q))
			case q.Count > 1 && 1e6/q.FreqHz < 2*q.PhaseUS+q.GapUS:
				bad = append(bad, fmt.Sprintf("period %v", q))
			case trainUS(q) > maxTrainUS:
				bad = append(bad, fmt.Sprintf("train duration %v", q))
			default:
				for k := range q.Count {
					onsets = append(onsets, onset{d.at + int64(math.Round(float64(k)*periodUS(q)*1e3)), quc})
				}
			}
			lastAmp[q.Electrode], lastT[q.Electrode] = q.AmplitudeUA, d.at
		}
	}
	sort.Slice(onsets, func(i, j int) bool { return onsets[i].t < onsets[j].t })
	limit := int(math.Floor(cfg.MaxRateHz))
	for i, o := range onsets {
		end := sort.Search(len(onsets), func(j int) bool { return onsets[j].t >= o.t+int64(time.Second) })
		if n := end - i; n > limit {
			bad = append(bad, fmt.Sprintf("rate: %d onsets in [%d, %d+1s)", n, o.t, o.t))
			break
		}
		var sum float64
		for _, w := range onsets[i:end] {
			sum += w.uc
		}
		if sum > cfg.MaxChargePerSUC*(1+1e-9) {
			bad = append(bad, fmt.Sprintf("charge per s: %v µC in [%d, %d+1s)", sum, o.t, o.t))
			break
		}
	}
	return bad
}

// periodUS is 1/f in µs for a train, 0 for a single pulse (whose FreqHz
// is ignored).
func periodUS(q Pulse) float64 {
	if q.Count > 1 {
		return 1e6 / q.FreqHz
	}
	return 0
}

// trainUS is the duration of a train: (count−1)/f + 2·phase + gap.
func trainUS(q Pulse) float64 {
	return float64(q.Count-1)*periodUS(q) + 2*q.PhaseUS + q.GapUS
}

// checkCounts asserts the counter identities documented at LimitStats.
func checkCounts(t *testing.T, s LimitStats, delivered int) {
	t.Helper()
	var byRule uint64
	for _, n := range s.ByRule {
		byRule += n
	}
	if s.Pulses != s.Passed+s.Refused || s.Clipped > s.Passed || byRule != s.Refused+s.Clipped || s.Passed != uint64(delivered) {
		t.Errorf("counts do not add up: %+v (sum ByRule %d), sink received %d", s, byRule, delivered)
	}
}

func TestLimitConfigValidate(t *testing.T) {
	def := DefaultLimitConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := LimitConfig{MaxAmplitudeUA: math.NaN(), MaxChargeNC: -1, MaxRateHz: 0.5, MaxTrain: 0, Electrodes: 0, Mode: "maybe",
		ElectrodeAreaCM2: 0, MaxChargeDensityUCCM2: math.Inf(1), ShannonK: math.NaN(), MaxChargePerSUC: 2e9, MaxRampUAPerS: -1}
	err := bad.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, key := range []string{"max_amplitude_ua:", "max_charge_nc:", "max_rate_hz:", "max_train:", "electrodes:", "mode:",
		"electrode_area_cm2:", "max_charge_density_uc_cm2:", "shannon_k:", "max_charge_per_s_uc:", "max_ramp_ua_per_s:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error lacks %q:\n%v", key, err)
		}
	}
	huge := DefaultLimitConfig()
	huge.MaxRateHz, huge.MaxTrain = 1e6, time.Hour
	if err := huge.Validate(); err == nil || !strings.HasPrefix(err.Error(), "max_rate_hz:") {
		t.Errorf("memory bound: got %v", err)
	}
	if _, err := NewLimit(&countSink{}, bad, zerolog.Nop()); err == nil {
		t.Error("NewLimit accepted a bad config")
	}
	if _, err := NewLimit(nil, def, zerolog.Nop()); err == nil {
		t.Error("NewLimit accepted a nil sink")
	}
	def.Clock = nil
	if _, err := NewLimit(&countSink{}, def, zerolog.Nop()); err != nil {
		t.Errorf("nil clock: %v", err)
	}
}

func TestRuleString(t *testing.T) {
	want := []string{"invalid", "electrode", "train", "amplitude", "charge", "density", "shannon", "ramp", "rate",
		"charge_per_s", "stale", "closed"}
	for r := range NumRules {
		if got := r.String(); got != want[r] {
			t.Errorf("Rule(%d) = %q, want %q", r, got, want[r])
		}
	}
	if got := NumRules.String(); got != "Rule(12)" {
		t.Errorf("out of range: %q", got)
	}
}

// TestLimitRules feeds one pulse per case to a fresh default Limit (limits
// from SCIENCE.md §6: 100 µA, 20 nC, 300 Hz, 1 s trains, 96 electrodes).
func TestLimitRules(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	base := Pulse{Electrode: 3, AmplitudeUA: 50, PhaseUS: 200, GapUS: 50, Count: 1}
	with := func(f func(*Pulse)) Pulse { p := base; f(&p); return p }
	const none = NumRules // no rule acted
	tests := []struct {
		name    string
		p       Pulse
		refuse  Rule    // rule in refuse mode (none = passes)
		clip    Rule    // rule in clip mode (none = passes unclipped)
		clipAmp float64 // amplitude delivered in clip mode, when clipped
	}{
		{"ok", base, none, none, 0},
		{"icms reference 100uA 200us = 20nC", with(func(p *Pulse) { p.AmplitudeUA = 100 }), none, none, 0},
		{"amp NaN", with(func(p *Pulse) { p.AmplitudeUA = nan }), RuleInvalid, RuleInvalid, 0},
		{"amp +Inf", with(func(p *Pulse) { p.AmplitudeUA = inf }), RuleInvalid, RuleInvalid, 0},
		{"amp 0", with(func(p *Pulse) { p.AmplitudeUA = 0 }), RuleInvalid, RuleInvalid, 0},
		{"amp negative", with(func(p *Pulse) { p.AmplitudeUA = -10 }), RuleInvalid, RuleInvalid, 0},
		{"phase NaN", with(func(p *Pulse) { p.PhaseUS = nan }), RuleInvalid, RuleInvalid, 0},
		{"phase 0", with(func(p *Pulse) { p.PhaseUS = 0 }), RuleInvalid, RuleInvalid, 0},
		{"phase -Inf", with(func(p *Pulse) { p.PhaseUS = -inf }), RuleInvalid, RuleInvalid, 0},
		{"gap negative", with(func(p *Pulse) { p.GapUS = -1 }), RuleInvalid, RuleInvalid, 0},
		{"gap NaN", with(func(p *Pulse) { p.GapUS = nan }), RuleInvalid, RuleInvalid, 0},
		{"gap Inf", with(func(p *Pulse) { p.GapUS = inf }), RuleInvalid, RuleInvalid, 0},
		{"gap 0", with(func(p *Pulse) { p.GapUS = 0 }), none, none, 0},
		{"count 0", with(func(p *Pulse) { p.Count = 0 }), RuleInvalid, RuleInvalid, 0},
		{"count negative", with(func(p *Pulse) { p.Count = -3 }), RuleInvalid, RuleInvalid, 0},
		{"train freq 0", with(func(p *Pulse) { p.Count, p.FreqHz = 5, 0 }), RuleInvalid, RuleInvalid, 0},
		{"train freq negative", with(func(p *Pulse) { p.Count, p.FreqHz = 5, -100 }), RuleInvalid, RuleInvalid, 0},
		{"train freq NaN", with(func(p *Pulse) { p.Count, p.FreqHz = 5, nan }), RuleInvalid, RuleInvalid, 0},
		{"train freq Inf", with(func(p *Pulse) { p.Count, p.FreqHz = 5, inf }), RuleInvalid, RuleInvalid, 0},
		{"single pulse ignores freq", with(func(p *Pulse) { p.FreqHz = nan }), none, none, 0},
		{"electrode -1", with(func(p *Pulse) { p.Electrode = -1 }), RuleElectrode, RuleElectrode, 0},
		{"electrode 96", with(func(p *Pulse) { p.Electrode = 96 }), RuleElectrode, RuleElectrode, 0},
		{"electrode 95", with(func(p *Pulse) { p.Electrode = 95 }), none, none, 0},
		// One pulse lasts 2·200+50 = 450 µs, so 1/f must be ≥ 450 µs.
		{"period = pulse", with(func(p *Pulse) { p.Count, p.FreqHz = 2, 1e6/450.0 }), none, none, 0},
		{"period < pulse", with(func(p *Pulse) { p.Count, p.FreqHz = 2, 2300 }), RuleTrain, RuleTrain, 0},
		{"train 0.9 s", with(func(p *Pulse) { p.Count, p.FreqHz = 10, 10 }), none, none, 0},
		{"train 1 s + 450 us", with(func(p *Pulse) { p.Count, p.FreqHz = 11, 10 }), RuleTrain, RuleTrain, 0},
		{"phase 0.6 s", with(func(p *Pulse) { p.PhaseUS, p.AmplitudeUA = 6e5, 1e-5 }), RuleTrain, RuleTrain, 0},
		{"freq subnormal", with(func(p *Pulse) { p.Count, p.FreqHz = 2, 5e-324 }), RuleTrain, RuleTrain, 0},
		{"freq huge", with(func(p *Pulse) { p.Count, p.FreqHz = 2, 1e300 }), RuleTrain, RuleTrain, 0},
		{"count huge", with(func(p *Pulse) { p.Count, p.FreqHz = math.MaxInt, 1000 }), RuleTrain, RuleTrain, 0},
		{"amp over", with(func(p *Pulse) { p.AmplitudeUA, p.PhaseUS = 120, 100 }), RuleAmplitude, RuleAmplitude, 100},
		{"amp huge", with(func(p *Pulse) { p.AmplitudeUA, p.PhaseUS = 1e300, 100 }), RuleAmplitude, RuleAmplitude, 100},
		{"charge over", with(func(p *Pulse) { p.AmplitudeUA, p.PhaseUS = 100, 250 }), RuleCharge, RuleCharge, 80},
		// 150 µA · 250 µs: both over; clipping to 100 µA still gives 25 nC,
		// so the charge limit binds at 20/0.25 = 80 µA.
		{"amp and charge over", with(func(p *Pulse) { p.AmplitudeUA, p.PhaseUS = 150, 250 }), RuleAmplitude, RuleCharge, 80},
		// 300 onsets at 300 Hz fit one 1 s window (0.9967 s + 450 µs train).
		{"rate 300 at 300 Hz", with(func(p *Pulse) { p.Count, p.FreqHz = 300, 300 }), none, none, 0},
		{"rate 301 at 301 Hz", with(func(p *Pulse) { p.Count, p.FreqHz = 301, 301 }), RuleRate, RuleRate, 0},
	}
	for _, tc := range tests {
		for _, mode := range []LimitMode{LimitRefuse, LimitClip} {
			t.Run(tc.name+"/"+string(mode), func(t *testing.T) {
				cfg := DefaultLimitConfig()
				cfg.Mode = mode
				l, sink, _ := newTestLimit(t, cfg)
				pat := &Pattern{Seq: 7, Sample: 1234, Arrived: 99, Pulses: []Pulse{tc.p}}
				before := slices.Clone(pat.Pulses)
				err := l.Stimulate(context.Background(), pat)
				want := tc.refuse
				if mode == LimitClip {
					want = tc.clip
				}
				stats := l.Stats()
				clipped := mode == LimitClip && want >= RuleAmplitude && want <= RuleRamp
				refused := want != none && !clipped
				if !slices.EqualFunc(before, pat.Pulses, samePulse) {
					t.Errorf("caller's pattern modified: %v → %v", before, pat.Pulses)
				}
				var re *RefusalError
				switch {
				case refused:
					if !errors.Is(err, ErrRefused) || !errors.As(err, &re) || re.Rule != want {
						t.Errorf("err = %v, want refusal by %v", err, want)
					}
					if len(sink.got) != 0 {
						t.Errorf("sink called with %v", sink.got)
					}
					if stats.Refused != 1 || stats.ByRule[want] != 1 {
						t.Errorf("stats %+v", stats)
					}
				default:
					if err != nil {
						t.Fatalf("err = %v", err)
					}
					if len(sink.got) != 1 || len(sink.got[0].pat.Pulses) != 1 {
						t.Fatalf("sink got %v", sink.got)
					}
					d := sink.got[0].pat
					if d.Seq != 7 || d.Sample != 1234 || d.Arrived != 99 {
						t.Errorf("header not carried: %+v", d)
					}
					if sink.ptrs[0] == pat {
						t.Error("sink received the caller's pattern")
					}
					q := d.Pulses[0]
					wantQ := tc.p
					if clipped {
						if math.Abs(q.AmplitudeUA-tc.clipAmp) > 1e-9 || stats.Clipped != 1 || stats.ByRule[want] != 1 {
							t.Errorf("clipped to %v µA (want %v), stats %+v", q.AmplitudeUA, tc.clipAmp, stats)
						}
						wantQ.AmplitudeUA = q.AmplitudeUA
					} else if stats.Clipped != 0 {
						t.Errorf("stats %+v", stats)
					}
					if !samePulse(q, wantQ) {
						t.Errorf("delivered %+v, want %+v", q, wantQ)
					}
				}
				checkCounts(t, stats, sink.pulses())
				if bad := complianceErrors(cfg, sink.got); len(bad) > 0 {
					t.Errorf("non-compliant delivery: %v", bad)
				}
			})
		}
	}
}

// samePulse is == with NaN equal to NaN.
func samePulse(a, b Pulse) bool {
	eq := func(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) }
	return a.Electrode == b.Electrode && a.Count == b.Count && eq(a.AmplitudeUA, b.AmplitudeUA) &&
		eq(a.PhaseUS, b.PhaseUS) && eq(a.GapUS, b.GapUS) && eq(a.FreqHz, b.FreqHz)
}

func TestLimitMixedPattern(t *testing.T) {
	l, sink, _ := newTestLimit(t, DefaultLimitConfig())
	good1 := Pulse{Electrode: 1, AmplitudeUA: 10, PhaseUS: 100, Count: 1}
	good2 := Pulse{Electrode: 2, AmplitudeUA: 20, PhaseUS: 100, GapUS: 10, Count: 3, FreqHz: 100}
	pat := &Pattern{Seq: 1, Pulses: []Pulse{
		{Electrode: 200, AmplitudeUA: 10, PhaseUS: 100, Count: 1},
		good1,
		{Electrode: 1, AmplitudeUA: math.NaN(), PhaseUS: 100, Count: 1},
		good2,
	}}
	err := l.Stimulate(context.Background(), pat)
	var re *RefusalError
	if !errors.As(err, &re) || re.Rule != RuleElectrode {
		t.Errorf("err = %v, want the first refusal (electrode)", err)
	}
	if len(sink.got) != 1 || !slices.Equal(sink.got[0].pat.Pulses, []Pulse{good1, good2}) {
		t.Fatalf("sink got %+v", sink.got)
	}
	if &sink.ptrs[0].Pulses[0] == &pat.Pulses[0] {
		t.Error("sink received the caller's slice")
	}
	st := l.Stats()
	if st.Patterns != 1 || st.Pulses != 4 || st.Passed != 2 || st.Refused != 2 ||
		st.ByRule[RuleElectrode] != 1 || st.ByRule[RuleInvalid] != 1 {
		t.Errorf("stats %+v", st)
	}
	// An empty pattern and an all-refused one never reach the sink.
	if err := l.Stimulate(context.Background(), &Pattern{}); err != nil {
		t.Errorf("empty pattern: %v", err)
	}
	if err := l.Stimulate(context.Background(), &Pattern{Pulses: pat.Pulses[:1]}); !errors.Is(err, ErrRefused) {
		t.Errorf("all refused: %v", err)
	}
	if len(sink.got) != 1 {
		t.Errorf("sink called %d times, want 1", len(sink.got))
	}
	if err := l.Stimulate(context.Background(), nil); err == nil {
		t.Error("nil pattern accepted")
	}
}

func TestLimitSinkError(t *testing.T) {
	l, sink, _ := newTestLimit(t, DefaultLimitConfig())
	boom := errors.New("boom")
	sink.err = boom
	ok := Pulse{AmplitudeUA: 10, PhaseUS: 100, Count: 1}
	if err := l.Stimulate(context.Background(), &Pattern{Pulses: []Pulse{ok}}); err != boom {
		t.Errorf("err = %v, want the sink's", err)
	}
	err := l.Stimulate(context.Background(), &Pattern{Pulses: []Pulse{ok, {Electrode: -1, AmplitudeUA: 1, PhaseUS: 1, Count: 1}}})
	if !errors.Is(err, boom) || !errors.Is(err, ErrRefused) {
		t.Errorf("err = %v, want both", err)
	}
}

// TestLimitRateWindow steps a controllable clock through sequences of
// trains under max_rate_hz = 10 and checks each verdict. Times in ms.
func TestLimitRateWindow(t *testing.T) {
	type step struct {
		ms         int64
		count      int
		freq       float64
		wantPassed bool
	}
	single := func(ms int64, ok bool) step { return step{ms, 1, 0, ok} }
	var fill []step // 10 singles at 0, 50, …, 450 ms fill the window
	for i := range int64(10) {
		fill = append(fill, single(50*i, true))
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"sliding singles", append(slices.Clone(fill),
			single(999, false),  // [0, 1000) would hold 11
			single(1000, true),  // the onset at 0 left the window
			single(1001, false), // [50, 1050) would hold 11
			single(1050, true),  // the onset at 50 left
		)},
		{"train onsets counted at their own times", []step{
			{0, 10, 10, true}, // onsets 0, 100, …, 900
			single(100, false),
			single(950, false),
			single(1000, true), // [100, 1100) holds 9 + 1
			single(1000, false),
		}},
		{"interleaved trains", []step{
			{0, 5, 10, true},  // 0, 100, …, 400
			{50, 5, 10, true}, // 50, 150, …, 450
			single(60, false),
			{990, 10, 10, false}, // 990…1890: [0, 1000) would hold 10 + 1
			{1050, 10, 10, true}, // 0 and 50 left; [100, 1100) holds 8 + 1, [1050, 2050) 10
		}},
		{"clock going back is held", []step{
			{2000, 10, 100, true}, // 2000, 2010, …, 2090
			single(500, false),    // held at 2000: [2000, 3000) would hold 11 (at 500 it would fit)
			single(3000, true),    // 2000 left: [2010, 3010) holds 9 + 1
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultLimitConfig()
			cfg.MaxRateHz = 10
			cfg.MaxTrain = 2 * time.Second
			l, sink, clk := newTestLimit(t, cfg)
			for i, s := range tc.steps {
				clk.t = s.ms * int64(time.Millisecond)
				err := l.Stimulate(context.Background(), &Pattern{Pulses: []Pulse{
					{Electrode: i % 4, AmplitudeUA: 10, PhaseUS: 100, Count: s.count, FreqHz: s.freq}}})
				if passed := err == nil; passed != s.wantPassed {
					t.Errorf("step %d (%+v): err = %v", i, s, err)
				} else if !passed {
					var re *RefusalError
					if !errors.As(err, &re) || re.Rule != RuleRate {
						t.Errorf("step %d: refused by %v, want rate", i, err)
					}
				}
			}
			if bad := complianceErrors(cfg, sink.got); len(bad) > 0 {
				t.Errorf("non-compliant: %v", bad)
			}
			checkCounts(t, l.Stats(), sink.pulses())
		})
	}
}

// TestLimitRateReference compares every rate and charge per second
// decision of a long random run (valid trains only, so that only those two
// rules decide; long enough to wrap Limit's onset buffer many times) with a
// brute-force reference that keeps every admitted onset and its charge in
// fC (rounded up, as Limit counts it) and sums each candidate window
// directly.
func TestLimitRateReference(t *testing.T) {
	const perWindow = 50
	const maxFC = 300_000_000 // 0.3 µC (3·10⁸ fC): about 30 pulses of the mean 10 nC
	cfg := DefaultLimitConfig()
	cfg.MaxRateHz = perWindow
	cfg.MaxChargePerSUC = maxFC * 1e-9
	l, _, clk := newTestLimit(t, cfg)
	type onset struct{ t, fc int64 }
	var admitted []onset // reference: every admitted onset, sorted
	r := rand.New(rand.NewPCG(11, 0x5eed))
	var passed, byRate, byCharge int
	for i := range 6000 {
		clk.t += int64(r.IntN(40)) * int64(time.Millisecond)
		q := Pulse{Electrode: r.IntN(96), AmplitudeUA: 2 + 98*r.Float64(), PhaseUS: 200, Count: 1 + r.IntN(30), FreqHz: 30 + 470*r.Float64()}
		for trainUS(q) > 1e6 {
			q.Count--
		}
		fc := int64(math.Ceil(q.AmplitudeUA * q.PhaseUS * 1e-3 * 1e6))
		var onsets []onset
		for k := range q.Count {
			onsets = append(onsets, onset{clk.t + int64(math.Round(float64(k)*periodUS(q)*1e3)), fc})
		}
		// Onsets at or before now − 1 s share no window with the new ones.
		for len(admitted) > 0 && admitted[0].t <= clk.t-int64(time.Second) {
			admitted = admitted[1:]
		}
		all := append(slices.Clone(admitted), onsets...)
		slices.SortStableFunc(all, func(a, b onset) int { return cmp.Compare(a.t, b.t) })
		want := Rule(NumRules)
		for _, w := range all {
			if w.t+int64(time.Second) <= onsets[0].t || w.t > onsets[len(onsets)-1].t {
				continue
			}
			n, sum := 0, int64(0)
			for _, x := range all {
				if x.t >= w.t && x.t < w.t+int64(time.Second) {
					n, sum = n+1, sum+x.fc
				}
			}
			if n > perWindow {
				want = RuleRate
				break
			}
			if sum > maxFC && want == NumRules {
				want = RuleChargeRate // unless another window breaks the rate rule
			}
		}
		switch want {
		case NumRules:
			admitted = all
			passed++
		case RuleRate:
			byRate++
		default:
			byCharge++
		}
		err := l.Stimulate(context.Background(), &Pattern{Pulses: []Pulse{q}})
		var re *RefusalError
		if want == NumRules && err != nil || want != NumRules && !(errors.As(err, &re) && re.Rule == want) {
			t.Fatalf("pattern %d at %v (%+v): Limit says %v, reference %v", i, time.Duration(clk.t), q, err, want)
		}
	}
	if passed < 500 || byRate < 300 || byCharge < 300 {
		t.Errorf("unbalanced run: %d passed, %d refused by rate, %d by charge per second", passed, byRate, byCharge)
	}
}

// randomPulse draws a pulse mixing plausible values with hostile ones (NaN,
// ±Inf, 0, negative, subnormal, huge) in about 1 of 8 fields.
func randomPulse(r *rand.Rand) Pulse {
	hostile := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, -1, 5e-324, 1e300, -1e300, math.MaxFloat64}
	f := func(lo, hi float64) float64 {
		if r.IntN(8) == 0 {
			return hostile[r.IntN(len(hostile))]
		}
		return lo + (hi-lo)*r.Float64()
	}
	count := 1 + r.IntN(40)
	switch r.IntN(16) {
	case 0:
		count = -r.IntN(3)
	case 1:
		count = math.MaxInt - r.IntN(3)
	case 2:
		count = 250 + r.IntN(100)
	}
	return Pulse{
		Electrode:   r.IntN(110) - 5,
		AmplitudeUA: f(0, 200),
		PhaseUS:     f(0, 400),
		GapUS:       f(-5, 100),
		Count:       count,
		FreqHz:      f(0, 1000),
	}
}

// propertyConfig is a Limit configuration in which every rule can bind:
// the charge per phase rules act from 35 nC (charge), 30 nC (density,
// 1500 µC/cm² on 2·10⁻⁵ cm²) and 25.1 nC (Shannon, k = 1.5) in reverse
// order of checking (so that each refuses some pulses; in clip mode the
// lowest cap, Shannon's, is always the one that binds), the amplitude may rise by 5 µA per ms on an electrode,
// and 200 pulses or 1.5 µC per second fit a 1 s window.
func propertyConfig() LimitConfig {
	cfg := DefaultLimitConfig()
	cfg.MaxChargeNC = 35
	cfg.MaxChargeDensityUCCM2 = 1500
	cfg.MaxRampUAPerS = 5000
	cfg.MaxChargePerSUC = 1.5
	cfg.MaxRateHz = 200
	return cfg
}

// runRandom throws n random patterns at a Limit in mode and returns the
// deliveries and stats.
func runRandom(t *testing.T, seed uint64, mode LimitMode, n int) ([]delivery, LimitStats) {
	t.Helper()
	cfg := propertyConfig()
	cfg.Mode = mode
	l, sink, clk := newTestLimit(t, cfg)
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	start := int64(-1)
	for range n {
		clk.t += int64(r.IntN(30)) * int64(time.Millisecond)
		pat := &Pattern{Seq: r.Uint64(), Sample: r.Int64(), Arrived: r.Int64()}
		for range r.IntN(5) {
			pat.Pulses = append(pat.Pulses, randomPulse(r))
		}
		before := slices.Clone(pat.Pulses)
		if start < 0 {
			start = clk.t
		}
		err := l.Stimulate(context.Background(), pat)
		if err != nil && !errors.Is(err, ErrRefused) {
			t.Fatalf("unexpected error %v", err)
		}
		if !slices.EqualFunc(before, pat.Pulses, samePulse) {
			t.Fatalf("caller's pattern modified")
		}
	}
	if bad := complianceErrorsFrom(cfg, start, sink.got); len(bad) > 0 {
		t.Fatalf("%s seed %d: %d non-compliant deliveries, first: %v", mode, seed, len(bad), bad[0])
	}
	st := l.Stats()
	checkCounts(t, st, sink.pulses())
	return sink.got, st
}

// TestLimitProperty: nothing outside any limit ever reaches the sink, the
// counts add up, and every rule gets exercised; the same seed gives the
// same deliveries.
func TestLimitProperty(t *testing.T) {
	for _, mode := range []LimitMode{LimitRefuse, LimitClip} {
		for seed := range uint64(3) {
			got, st := runRandom(t, seed, mode, 3000)
			for r := range RuleStale {
				if mode == LimitClip && (r == RuleCharge || r == RuleDensity) {
					continue // clipped to the Shannon cap (see propertyConfig)
				}
				if st.ByRule[r] == 0 {
					t.Errorf("%s seed %d: rule %v never acted: %+v", mode, seed, r, st)
				}
			}
			if mode == LimitClip && st.Clipped == 0 {
				t.Errorf("nothing clipped")
			}
			if st.Passed == 0 {
				t.Errorf("nothing passed")
			}
			again, st2 := runRandom(t, seed, mode, 3000)
			if st2 != st || len(again) != len(got) {
				t.Fatalf("not deterministic: %+v vs %+v", st, st2)
			}
			for i := range got {
				if got[i].at != again[i].at || !slices.EqualFunc(got[i].pat.Pulses, again[i].pat.Pulses, samePulse) {
					t.Fatalf("delivery %d differs", i)
				}
			}
		}
	}
}

func TestLimitClose(t *testing.T) {
	l, sink, _ := newTestLimit(t, DefaultLimitConfig())
	ok := Pulse{AmplitudeUA: 10, PhaseUS: 100, Count: 1}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := l.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if sink.closes != 1 {
		t.Errorf("sink closed %d times", sink.closes)
	}
	if err := l.Stimulate(context.Background(), &Pattern{Pulses: []Pulse{ok, ok}}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	st := l.Stats()
	if len(sink.got) != 0 || st.Refused != 2 || st.ByRule[RuleClosed] != 2 {
		t.Errorf("after Close: sink got %d, stats %+v", len(sink.got), st)
	}
	checkCounts(t, st, 0)
}

// TestLimitStatsConcurrent reads Stats and closes while Stimulate runs (for
// the race detector).
func TestLimitStatsConcurrent(t *testing.T) {
	cfg := DefaultLimitConfig()
	cfg.Clock = nil // acquire.Now
	l, err := NewLimit(&countSink{}, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		pat := &Pattern{Pulses: []Pulse{{AmplitudeUA: 10, PhaseUS: 100, Count: 1}}}
		for range 2000 {
			_ = l.Stimulate(context.Background(), pat)
		}
	}()
	for range 100 {
		_ = l.Stats()
	}
	_ = l.Close()
	<-done
	st := l.Stats()
	if st.Pulses != 2000 || st.Pulses != st.Passed+st.Refused {
		t.Errorf("stats %+v", st)
	}
}

// TestLimitLogging: refusals are logged with their fields, sampled to a
// burst of 10 while every one is counted.
func TestLimitLogging(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{}
	cfg := DefaultLimitConfig()
	cfg.Mode, cfg.Clock = LimitClip, clk.Now
	l, err := NewLimit(&countSink{}, cfg, zerolog.New(&buf))
	if err != nil {
		t.Fatal(err)
	}
	bad := &Pattern{Seq: 5, Pulses: []Pulse{{Electrode: 7, AmplitudeUA: 150, PhaseUS: 100, Count: 1}}}
	for range 1000 {
		clk.t += int64(10 * time.Millisecond) // 100 Hz: within the rate limit
		_ = l.Stimulate(context.Background(), bad)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) < 1 || len(lines) > 20 { // burst of 10 per second; the run may straddle one period boundary
		t.Fatalf("%d log lines", len(lines))
	}
	var ev struct {
		Level     string  `json:"level"`
		Rule      string  `json:"rule"`
		Electrode int     `json:"electrode"`
		Quantity  string  `json:"quantity"`
		Requested float64 `json:"requested"`
		Limit     float64 `json:"limit"`
		Seq       uint64  `json:"seq"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
		t.Fatal(err)
	}
	want := struct {
		Level     string  `json:"level"`
		Rule      string  `json:"rule"`
		Electrode int     `json:"electrode"`
		Quantity  string  `json:"quantity"`
		Requested float64 `json:"requested"`
		Limit     float64 `json:"limit"`
		Seq       uint64  `json:"seq"`
	}{"warn", "amplitude", 7, "amplitude_ua", 150, 100, 5}
	if ev != want {
		t.Errorf("log event %+v, want %+v\n%s", ev, want, lines[0])
	}
	if st := l.Stats(); st.Clipped != 1000 || st.ByRule[RuleAmplitude] != 1000 {
		t.Errorf("stats %+v", st)
	}
}

// allocPatterns are a passing, a clipped and a refused pattern.
func allocPatterns() []*Pattern {
	return []*Pattern{
		{Pulses: []Pulse{{Electrode: 1, AmplitudeUA: 50, PhaseUS: 200, GapUS: 50, Count: 5, FreqHz: 100}}},
		{Pulses: []Pulse{{Electrode: 2, AmplitudeUA: 150, PhaseUS: 200, Count: 1}, {Electrode: 3, AmplitudeUA: 10, PhaseUS: 50, Count: 1}}},
		{Pulses: []Pulse{{Electrode: 300, AmplitudeUA: 50, PhaseUS: 200, Count: 1}, {AmplitudeUA: math.NaN(), PhaseUS: 1, Count: 1}}},
	}
}

func TestLimitAllocs(t *testing.T) {
	for _, c := range []struct {
		name string
		mode LimitMode
		cfg  LimitConfig
	}{
		{"default/refuse", LimitRefuse, DefaultLimitConfig()}, {"default/clip", LimitClip, DefaultLimitConfig()},
		{"every rule/refuse", LimitRefuse, propertyConfig()}, {"every rule/clip", LimitClip, propertyConfig()},
	} {
		mode := c.name
		clk := &fakeClock{}
		cfg := c.cfg
		cfg.Mode, cfg.Clock = c.mode, clk.Now
		l, err := NewLimit(&countSink{}, cfg, zerolog.New(io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		pats := allocPatterns()
		ctx := context.Background()
		i := 0
		step := func() {
			clk.t += int64(3 * time.Millisecond) // fast enough to hit the rate rule
			_ = l.Stimulate(ctx, pats[i%len(pats)])
			i++
		}
		for range 1000 {
			step()
		}
		if n := testing.AllocsPerRun(3000, step); n != 0 {
			t.Errorf("%s: %v allocs per Stimulate", mode, n)
		}
		if st := l.Stats(); st.ByRule[RuleRate]+st.ByRule[RuleChargeRate] == 0 || st.Passed == 0 {
			t.Errorf("%s: rate rules not exercised: %+v", mode, st)
		}
	}
}

// BenchmarkLimit drives a Limit with a pattern of single pulses on
// `pulses` electrodes every `step`. At rate=10000 and 1 ms the window holds
// up to 1000·pulses of 10000 onsets: the O(log n) bound admits. At
// rate=1000 and 0.5 ms the window is always full: every pattern needs the
// exact sweep over about 1000 onsets, and every other one is refused.
func BenchmarkLimit(b *testing.B) {
	for _, bc := range []struct {
		pulses int
		rate   float64
		step   time.Duration
	}{{1, 1e4, time.Millisecond}, {8, 1e4, time.Millisecond}, {1, 1e3, 500 * time.Microsecond}} {
		b.Run(fmt.Sprintf("pulses=%d/rate=%g/step=%v", bc.pulses, bc.rate, bc.step), func(b *testing.B) {
			clk := &fakeClock{}
			cfg := DefaultLimitConfig()
			cfg.Clock = clk.Now
			cfg.MaxRateHz = bc.rate
			cfg.MaxChargePerSUC = bc.rate * cfg.MaxChargeNC * 1e-3 // not binding: the rate rule is measured
			l, err := NewLimit(&countSink{}, cfg, zerolog.Nop())
			if err != nil {
				b.Fatal(err)
			}
			pat := &Pattern{}
			for e := range bc.pulses {
				pat.Pulses = append(pat.Pulses, Pulse{Electrode: e, AmplitudeUA: 50, PhaseUS: 200, GapUS: 50, Count: 1})
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				clk.t += int64(bc.step)
				_ = l.Stimulate(ctx, pat)
			}
		})
	}
}

// fuzzReader decodes fuzz bytes into values, returning zeros when out.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzReader) u64() uint64 {
	var v uint64
	for i := range 8 {
		v |= uint64(r.byte()) << (8 * i)
	}
	return v
}

// f64 reads a selector byte, then either 8 raw bytes (any float, NaN and
// ±Inf included) or a plausible value in [0, scale·2.55].
func (r *fuzzReader) f64(scale float64) float64 {
	if r.byte()&1 == 1 {
		return math.Float64frombits(r.u64())
	}
	return float64(r.byte()) * scale / 100
}

// FuzzLimit decodes bytes into a sequence of patterns and clock steps and
// checks that nothing over any limit reaches the sink and that the counts
// add up.
func FuzzLimit(f *testing.F) {
	f.Add([]byte{0, 1, 0, 3, 0, 50, 0, 200, 0, 10, 1, 0, 0})
	f.Add([]byte{1, 4, 2, 200, 1, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f, 0, 100, 0, 0, 30, 0, 255})
	f.Add([]byte{0, 2, 5, 1, 0, 255, 0, 255, 0, 0, 40, 0, 250, 2, 1, 0, 100, 0, 100, 0, 0, 20, 0, 250})
	f.Add(bytes.Repeat([]byte{0, 1, 0, 1, 0, 90, 0, 150, 0, 0, 255, 0, 200}, 8))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fuzzReader{b: data}
		cfg := propertyConfig()
		if r.byte()&1 == 1 {
			cfg.Mode = LimitClip
		}
		cfg.MaxRateHz = 50
		cfg.MaxChargePerSUC = 0.5
		cfg.MaxTrain = 200 * time.Millisecond
		cfg.Electrodes = 8
		l, sink, clk := newTestLimit(t, cfg)
		start := int64(-1)
		for len(r.b) > 0 {
			clk.t += int64(r.byte()) * int64(time.Millisecond)
			pat := &Pattern{}
			for range r.byte() % 4 {
				pat.Pulses = append(pat.Pulses, Pulse{
					Electrode:   int(int8(r.byte())) % 10,
					AmplitudeUA: r.f64(100),
					PhaseUS:     r.f64(300),
					GapUS:       r.f64(50),
					Count:       int(int8(r.byte())),
					FreqHz:      r.f64(400),
				})
			}
			if start < 0 {
				start = clk.t
			}
			_ = l.Stimulate(context.Background(), pat)
		}
		if bad := complianceErrorsFrom(cfg, start, sink.got); len(bad) > 0 {
			t.Fatalf("non-compliant delivery: %v", bad)
		}
		st := l.Stats()
		var byRule uint64
		for _, n := range st.ByRule {
			byRule += n
		}
		if st.Pulses != st.Passed+st.Refused || st.Clipped > st.Passed || byRule != st.Refused+st.Clipped || st.Passed != uint64(sink.pulses()) {
			t.Fatalf("counts do not add up: %+v", st)
		}
	})
}

func ExampleLimit() {
	// A lockstep clock: 0 ns, then 10 ms.
	now := int64(0)
	cfg := DefaultLimitConfig() // 100 µA, 20 nC per phase, 300 Hz, 96 electrodes
	cfg.Mode = LimitClip
	cfg.Clock = func() int64 { return now }
	sink := &printSink{}
	l, err := NewLimit(sink, cfg, zerolog.Nop())
	if err != nil {
		panic(err)
	}
	defer l.Close()

	err = l.Stimulate(context.Background(), &Pattern{Seq: 1, Pulses: []Pulse{
		{Electrode: 4, AmplitudeUA: 60, PhaseUS: 200, GapUS: 50, Count: 10, FreqHz: 100}, // compliant
		{Electrode: 5, AmplitudeUA: 150, PhaseUS: 250, GapUS: 50, Count: 1},              // 37.5 nC: clipped to 80 µA
		{Electrode: 99, AmplitudeUA: 10, PhaseUS: 100, Count: 1},                         // no such electrode
	}})
	fmt.Println("error:", err)
	now = 10e6
	err = l.Stimulate(context.Background(), &Pattern{Seq: 2, Pulses: []Pulse{
		{Electrode: 4, AmplitudeUA: 60, PhaseUS: 200, Count: 295, FreqHz: 300}, // with pattern 1: 306 onsets in [0, 1 s)
	}})
	fmt.Println("error:", err)
	st := l.Stats()
	fmt.Printf("pulses %d, passed %d, clipped %d, refused %d (electrode %d, rate %d)\n",
		st.Pulses, st.Passed, st.Clipped, st.Refused, st.ByRule[RuleElectrode], st.ByRule[RuleRate])
	// Output:
	// pattern 1: electrode 4 60 µA × 10 @ 100 Hz
	// pattern 1: electrode 5 80 µA × 1 @ 0 Hz
	// error: stimulate: pulse refused by safety limit: electrode
	// error: stimulate: pulse refused by safety limit: rate
	// pulses 4, passed 2, clipped 1, refused 2 (electrode 1, rate 1)
}

type printSink struct{}

func (printSink) Stimulate(_ context.Context, p *Pattern) error {
	for _, q := range p.Pulses {
		fmt.Printf("pattern %d: electrode %d %.4g µA × %d @ %g Hz\n", p.Seq, q.Electrode, q.AmplitudeUA, q.Count, q.FreqHz)
	}
	return nil
}

func (printSink) Close() error { return nil }

// TestLimitChargeRules checks the density and Shannon (1992) rules with
// hand-computed caps, in both modes.
func TestLimitChargeRules(t *testing.T) {
	const none = NumRules
	tests := []struct {
		name    string
		cfg     func(*LimitConfig)
		p       Pulse
		refuse  Rule
		clip    Rule
		clipAmp float64
	}{
		// 20 nC on 2·10⁻⁵ cm²: D = 1000 µC/cm², k = 1.3.
		{"icms 20 nC passes k=1.3", func(*LimitConfig) {}, Pulse{AmplitudeUA: 100, PhaseUS: 200, Count: 1}, none, none, 0},
		// D_max = 1000 µC/cm² on 2·10⁻⁵ cm² caps Q at 20 nC: 25 nC at
		// 250 µs is clipped to 80 µA.
		{"density 25 nC", func(c *LimitConfig) { c.MaxChargeNC, c.ShannonK = 100, 3 },
			Pulse{AmplitudeUA: 100, PhaseUS: 250, Count: 1}, RuleDensity, RuleDensity, 80},
		// k = 1.5 on 2·10⁻⁵ cm²: Q ≤ √(10^1.5 · 2·10⁻⁵) µC = 25.1487 nC;
		// 30 nC (log₁₀0.03 + log₁₀1500 = 1.653) is clipped to
		// 25.1487/0.3 = 83.829 µA.
		{"shannon 30 nC", func(c *LimitConfig) { c.MaxChargeNC, c.MaxChargeDensityUCCM2 = 100, 1e6 },
			Pulse{AmplitudeUA: 100, PhaseUS: 300, Count: 1}, RuleShannon, RuleShannon, 1e3 * math.Sqrt(math.Pow(10, 1.5)*2e-5) / 0.3},
		{"shannon 25 nC passes", func(c *LimitConfig) { c.MaxChargeNC, c.MaxChargeDensityUCCM2 = 100, 1e6 },
			Pulse{AmplitudeUA: 100, PhaseUS: 250, Count: 1}, none, none, 0},
		// DBS macroelectrode, 0.06 cm², 30 µC/cm²: 10 mA × 200 µs = 2 µC is
		// 33.3 µC/cm² (density refuses); clipping to 1.8 µC still leaves
		// k = 1.73, so Shannon binds at √(10^1.5·0.06) = 1.3772 µC, 6886 µA.
		{"dbs 2 uC", func(c *LimitConfig) {
			c.ElectrodeAreaCM2, c.MaxChargeDensityUCCM2, c.MaxChargeNC, c.MaxAmplitudeUA = 0.06, 30, 1e4, 2e4
		}, Pulse{AmplitudeUA: 1e4, PhaseUS: 200, Count: 1}, RuleDensity, RuleShannon, 1e3 * math.Sqrt(math.Pow(10, 1.5)*0.06) / 0.2},
		{"dbs 3 mA 60 us passes", func(c *LimitConfig) {
			c.ElectrodeAreaCM2, c.MaxChargeDensityUCCM2, c.MaxChargeNC, c.MaxAmplitudeUA = 0.06, 30, 1e4, 2e4
		}, Pulse{AmplitudeUA: 3000, PhaseUS: 60, Count: 1}, none, none, 0},
	}
	for _, tc := range tests {
		for _, mode := range []LimitMode{LimitRefuse, LimitClip} {
			t.Run(tc.name+"/"+string(mode), func(t *testing.T) {
				cfg := DefaultLimitConfig()
				tc.cfg(&cfg)
				cfg.Mode = mode
				l, sink, _ := newTestLimit(t, cfg)
				err := l.Stimulate(context.Background(), &Pattern{Pulses: []Pulse{tc.p}})
				want := tc.refuse
				if mode == LimitClip {
					want = tc.clip
				}
				st := l.Stats()
				var re *RefusalError
				switch {
				case want == none:
					if err != nil || sink.pulses() != 1 || st.Clipped != 0 {
						t.Errorf("err %v, sink %v, stats %+v", err, sink.got, st)
					}
				case mode == LimitRefuse:
					if !errors.As(err, &re) || re.Rule != want || sink.pulses() != 0 || st.ByRule[want] != 1 {
						t.Errorf("err %v (want %v), sink %v, stats %+v", err, want, sink.got, st)
					}
				default:
					if err != nil || sink.pulses() != 1 || st.Clipped != 1 || st.ByRule[want] != 1 {
						t.Fatalf("err %v, sink %v, stats %+v (want %v)", err, sink.got, st, want)
					}
					if got := sink.got[0].pat.Pulses[0].AmplitudeUA; math.Abs(got-tc.clipAmp) > 1e-9*tc.clipAmp || got > tc.clipAmp {
						t.Errorf("clipped to %.12g µA, want %.12g", got, tc.clipAmp)
					}
				}
				checkCounts(t, st, sink.pulses())
				if bad := complianceErrors(cfg, sink.got); len(bad) > 0 {
					t.Errorf("non-compliant: %v", bad)
				}
			})
		}
	}
}

// TestLimitRampAndChargePerSecond steps a clock through patterns on the
// ramp rule (1 µA per ms) and the charge per second rule (0.2 µC: ten
// 20 nC pulses). Times in ms.
func TestLimitRampAndChargePerSecond(t *testing.T) {
	type step struct {
		ms        int64
		electrode int
		amp       float64
		refuse    Rule    // NumRules: passes
		clipAmp   float64 // delivered in clip mode; 0: refused there too
	}
	const ok = NumRules
	tests := []struct {
		name  string
		cfg   func(*LimitConfig)
		steps []step
	}{
		{"ramp", func(c *LimitConfig) { c.MaxRampUAPerS = 1000 }, []step{
			{0, 0, 10, RuleRamp, 0},     // starts from 0 µA now: nothing allowed yet
			{10, 0, 10, ok, 10},         // 0 + 1 µA/ms · 10 ms
			{15, 0, 20, RuleRamp, 15},   // 10 + 5
			{15, 1, 15, ok, 15},         // electrode 1: 0 + 15
			{16, 0, 5, ok, 5},           // lowering is never limited
			{21, 0, 10, ok, 10},         // 5 + 5
			{21, 0, 10.5, RuleRamp, 10}, // same instant: no rise allowed
		}},
		{"charge per second", func(c *LimitConfig) { c.MaxChargePerSUC = 0.2 }, func() []step {
			var s []step
			for i := range int64(10) {
				s = append(s, step{50 * i, 0, 100, ok, 100}) // 100 µA × 200 µs = 20 nC
			}
			return append(s,
				step{999, 0, 100, RuleChargeRate, 0}, // [0, 1000) would hold 220 nC
				step{999, 0, 50, RuleChargeRate, 0},  // 210 nC
				step{1000, 0, 100, ok, 100},          // the pulse at 0 left the window
				step{1001, 0, 1, RuleChargeRate, 0},  // [50, 1050) would hold 200.2 nC
			)
		}()},
	}
	for _, tc := range tests {
		for _, mode := range []LimitMode{LimitRefuse, LimitClip} {
			t.Run(tc.name+"/"+string(mode), func(t *testing.T) {
				cfg := DefaultLimitConfig()
				tc.cfg(&cfg)
				cfg.Mode = mode
				l, sink, clk := newTestLimit(t, cfg)
				for i, s := range tc.steps {
					clk.t = s.ms * int64(time.Millisecond)
					n := sink.pulses()
					err := l.Stimulate(context.Background(), &Pattern{Pulses: []Pulse{
						{Electrode: s.electrode, AmplitudeUA: s.amp, PhaseUS: 200, Count: 1}}})
					wantAmp := s.amp
					if s.refuse != ok {
						wantAmp = 0
						if mode == LimitClip && s.refuse == RuleRamp {
							wantAmp = s.clipAmp
						}
					}
					var re *RefusalError
					switch {
					case wantAmp == 0:
						if !errors.As(err, &re) || re.Rule != s.refuse || sink.pulses() != n {
							t.Errorf("step %d %+v: err %v, want refusal by %v", i, s, err, s.refuse)
						}
					default:
						if err != nil || sink.pulses() != n+1 {
							t.Fatalf("step %d %+v: err %v", i, s, err)
						}
						if got := sink.got[len(sink.got)-1].pat.Pulses[0].AmplitudeUA; math.Abs(got-wantAmp) > 1e-9 {
							t.Errorf("step %d: delivered %v µA, want %v", i, got, wantAmp)
						}
					}
				}
				checkCounts(t, l.Stats(), sink.pulses())
				if bad := complianceErrors(cfg, sink.got); len(bad) > 0 {
					t.Errorf("non-compliant: %v", bad)
				}
			})
		}
	}
}
