package stimulate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/bciloop/bciloop/acquire"
)

// Rule names a safety rule of Limit. Every pulse that Limit refuses or clips
// is attributed to exactly one rule: the first in the order below that acts
// on it.
type Rule uint8

const (
	// RuleInvalid: a value is not usable at all: amplitude, phase width or
	// (for a train) frequency not finite and > 0, gap not finite and ≥ 0,
	// or count < 1.
	RuleInvalid Rule = iota
	// RuleElectrode: the electrode is outside [0, electrodes).
	RuleElectrode
	// RuleTrain: the train is physically impossible or too long: its period
	// 1/f is shorter than one biphasic pulse (2·phase + gap), or it lasts
	// longer than max_train.
	RuleTrain
	// RuleAmplitude: the amplitude exceeds max_amplitude_ua.
	RuleAmplitude
	// RuleCharge: the charge per phase Q = I·t exceeds max_charge_nc.
	RuleCharge
	// RuleRate: delivering the train would put more than max_rate_hz pulses
	// into some 1 s window.
	RuleRate
	// RuleClosed: the Limit has been closed.
	RuleClosed
	// NumRules is the number of rules (the length of LimitStats.ByRule).
	NumRules
)

var ruleNames = [NumRules]string{"invalid", "electrode", "train", "amplitude", "charge", "rate", "closed"}

// String returns the rule's name as used in logs and metrics ("invalid",
// "electrode", "train", "amplitude", "charge", "rate", "closed").
func (r Rule) String() string {
	if r < NumRules {
		return ruleNames[r]
	}
	return "Rule(" + strconv.Itoa(int(r)) + ")"
}

// LimitMode selects what Limit does with a pulse over the amplitude or charge
// limit.
type LimitMode string

const (
	// LimitRefuse refuses every pulse over any limit.
	LimitRefuse LimitMode = "refuse"
	// LimitClip lowers the amplitude of a pulse over the amplitude or charge
	// limit to the largest value that satisfies both; invalid pulses,
	// impossible trains and rate violations are still refused.
	LimitClip LimitMode = "clip"
)

// LimitConfig configures Limit.
//
// The defaults follow intracortical microstimulation (ICMS) practice in
// humans (SCIENCE.md §6): about 100 µA at 200 µs per phase, i.e. 20 nC per
// phase, in trains of up to 300 Hz lasting up to 1 s (Flesher et al. 2016,
// Sci. Transl. Med. 8:361ra141), on a 96-channel Utah array. Against the
// Shannon (1992) criterion log₁₀(D) = k − log₁₀(Q), with Q in µC and the
// charge density D = Q/A in µC/cm² per phase: 20 nC (0.02 µC) on a
// 2000 µm² tip (2·10⁻⁵ cm²) is D = 1000 µC/cm², k = 3 − 1.7 = 1.3, inside
// the conservative k ≤ 1.5 (damage was seen at k ≥ 1.85). For another
// electrode area A, max_charge_nc = 10³·√(10^k·A) keeps k.
type LimitConfig struct {
	// MaxAmplitudeUA is the largest phase amplitude in µA.
	MaxAmplitudeUA float64 `yaml:"max_amplitude_ua"`
	// MaxChargeNC is the largest charge per phase, Q = I·t, in nC.
	MaxChargeNC float64 `yaml:"max_charge_nc"`
	// MaxRateHz bounds the pulses delivered, across all electrodes, in any
	// sliding window of 1 s: at most ⌊MaxRateHz⌋ pulse onsets fall in any
	// half-open interval [t, t+1 s). Every pulse of a train counts at its
	// own onset time t₀ + k/f. Must be ≥ 1.
	MaxRateHz float64 `yaml:"max_rate_hz"`
	// MaxTrain is the longest train, from the onset of its first pulse to
	// the end of its last: (count−1)/f + 2·phase + gap.
	MaxTrain time.Duration `yaml:"max_train"`
	// Electrodes is the number of valid electrodes, indices 0 … Electrodes−1.
	Electrodes int `yaml:"electrodes"`
	// Mode is "refuse" or "clip" (see LimitMode).
	Mode LimitMode `yaml:"mode"`
	// Clock returns the time in ns at which a pattern passed to Stimulate
	// starts; the rate rule places pulse k of a train at Clock() + k/f.
	// acquire.Now gives real time; in lockstep runs the loop passes a time
	// derived from the sample clock so that refusals are deterministic. It
	// should not go backwards (Limit never lets its notion of time go
	// backwards). Nil means acquire.Now.
	Clock func() int64 `yaml:"-"`
}

// DefaultLimitConfig returns the ICMS defaults described at LimitConfig.
func DefaultLimitConfig() LimitConfig {
	return LimitConfig{
		MaxAmplitudeUA: 100,
		MaxChargeNC:    20,
		MaxRateHz:      300,
		MaxTrain:       time.Second,
		Electrodes:     96,
		Mode:           LimitRefuse,
		Clock:          acquire.Now,
	}
}

// maxRateEntries bounds the memory of the rate rule (about 4 int64 per
// entry: 16 MiB), which grows with max_rate_hz × max_train.
const maxRateEntries = 1 << 19

// rateWindowNS is the sliding window of the rate rule: 1 s in ns.
const rateWindowNS = int64(time.Second)

// Validate reports every problem with c at once.
func (c *LimitConfig) Validate() error {
	var errs []error
	if !(c.MaxAmplitudeUA > 0) || math.IsInf(c.MaxAmplitudeUA, 0) {
		errs = append(errs, fmt.Errorf("max_amplitude_ua: must be finite and > 0, got %v", c.MaxAmplitudeUA))
	}
	if !(c.MaxChargeNC > 0) || math.IsInf(c.MaxChargeNC, 0) {
		errs = append(errs, fmt.Errorf("max_charge_nc: must be finite and > 0, got %v", c.MaxChargeNC))
	}
	rateOK := c.MaxRateHz >= 1 && !math.IsInf(c.MaxRateHz, 0)
	if !rateOK {
		errs = append(errs, fmt.Errorf("max_rate_hz: must be finite and ≥ 1 (at least one pulse per 1 s window), got %v", c.MaxRateHz))
	}
	if c.MaxTrain <= 0 {
		errs = append(errs, fmt.Errorf("max_train: must be > 0, got %v", c.MaxTrain))
	}
	if rateOK && c.MaxTrain > 0 {
		if n := rateEntries(c.MaxRateHz, c.MaxTrain); n > maxRateEntries {
			errs = append(errs, fmt.Errorf("max_rate_hz: %v Hz over max_train %v needs %.0f rate-window entries, more than %d; lower either",
				c.MaxRateHz, c.MaxTrain, n, maxRateEntries))
		}
	}
	if c.Electrodes < 1 {
		errs = append(errs, fmt.Errorf("electrodes: must be ≥ 1, got %d", c.Electrodes))
	}
	if c.Mode != LimitRefuse && c.Mode != LimitClip {
		errs = append(errs, fmt.Errorf("mode: must be %q or %q, got %q", LimitRefuse, LimitClip, c.Mode))
	}
	return errors.Join(errs...)
}

// rateCaps returns the rate rule's sizes: perWindow = ⌊rate⌋ pulses per 1 s
// window; trainCap, the most pulses a train lasting at most maxTrain can
// hold without breaking the rule; histCap, the most admitted pulses that can
// lie in the span the rule remembers (1 s back, maxTrain ahead, plus 1 s of
// slack for rounding).
//
// Both caps follow from covering a span of length L with ⌊L/1 s⌋+1
// half-open 1 s windows: by pigeonhole, more than perWindow pulses in each
// would break the rule.
func rateCaps(rate float64, maxTrain time.Duration) (perWindow, trainCap, histCap float64) {
	perWindow = math.Floor(rate)
	trainCap = perWindow * (math.Floor(maxTrain.Seconds()) + 1)
	histCap = perWindow * (math.Floor(maxTrain.Seconds()) + 3)
	return perWindow, trainCap, histCap
}

func rateEntries(rate float64, maxTrain time.Duration) float64 {
	_, trainCap, histCap := rateCaps(rate, maxTrain)
	return trainCap + histCap
}

// LimitStats are Limit's counters. Patterns counts calls to Stimulate and
// Pulses the pulse trains (Pattern.Pulses entries) they carried. Every pulse
// is either Passed to the sink (possibly with its amplitude lowered, then
// also counted in Clipped) or Refused, so Pulses = Passed + Refused and
// Clipped ≤ Passed. ByRule counts, per rule, the pulses that rule refused or
// clipped, so its sum is Refused + Clipped.
type LimitStats struct {
	Patterns, Pulses, Passed, Clipped, Refused uint64
	ByRule                                     [NumRules]uint64
}

// Limit is the safety wrapper in front of every stimulation sink: it judges
// every pulse of every pattern against the limits of its LimitConfig and
// hands the sink only compliant pulses.
//
// Each pulse is judged on its own, in the order of the rules (see Rule):
// invalid values and electrodes are refused; a train whose period 1/f is
// shorter than one biphasic pulse, 2·phase + gap, or which lasts longer than
// max_train, is refused; a pulse over max_amplitude_ua or over max_charge_nc
// per phase (Q = I·t) is refused, or in clip mode delivered with amplitude
// min(I, I_max, Q_max/t); finally a train that would put more than
// ⌊max_rate_hz⌋ pulse onsets into any 1 s window, counting the pulses already
// admitted, is refused. The compliant pulses go to the sink in a Pattern
// owned by Limit (with the caller's Seq, Sample and Arrived); the caller's
// pattern is never modified. When no pulse remains, the sink is not called.
//
// Stimulate returns nil when every pulse passed (clipped or not), a
// *RefusalError (wrapping ErrRefused) naming the rule of the first refused
// pulse otherwise, or the sink's error. After Close it refuses every pattern
// with ErrClosed. It does not allocate after the first pattern of a given
// size; refusals and clips are logged at warn level through a burst sampler
// (10 per second), while the counters (Stats) count every one.
//
// The rate rule keeps the admitted onsets of the last second and of
// scheduled trains in a sorted buffer sized at construction; judging a train
// costs O(log n) while the onsets near it are fewer than ⌊max_rate_hz⌋, and
// an exact O(n) sweep over the onsets within 1 s of it otherwise.
//
// Concurrency: Stimulate is called from one goroutine at a time; Stats and
// Close may be called from any goroutine at any time. A Stimulate running
// while Close is called may still reach the sink, whose own Close must then
// refuse or stop it (SimSink does).
type Limit struct {
	sink  Stimulator
	cfg   LimitConfig
	clock func() int64
	log   zerolog.Logger

	perWindow int     // ⌊MaxRateHz⌋
	trainCap  int     // see rateCaps
	maxTrain  float64 // MaxTrain in µs

	buf     []int64 // buf[head:tail]: admitted pulse onsets in ns, sorted, none ≤ now − 1 s
	head    int
	tail    int
	scratch []int64 // merge buffer of the exact rate check
	train   []int64 // onsets of the train being judged
	out     Pattern // what the sink receives
	lastNow int64
	started bool

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	patterns, pulses, passed, clipped, refused atomic.Uint64
	byRule                                     [NumRules]atomic.Uint64
}

// NewLimit returns a Limit delivering to sink under cfg, logging refusals
// and clips to log. cfg is validated; a nil Clock means acquire.Now.
func NewLimit(sink Stimulator, cfg LimitConfig, log zerolog.Logger) (*Limit, error) {
	if sink == nil {
		return nil, errors.New("stimulate: NewLimit: nil sink")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("stimulate: limit config: %w", err)
	}
	if cfg.Clock == nil {
		cfg.Clock = acquire.Now
	}
	perWindow, trainCap, histCap := rateCaps(cfg.MaxRateHz, cfg.MaxTrain)
	l := &Limit{
		sink:      sink,
		cfg:       cfg,
		clock:     cfg.Clock,
		log:       log.Sample(&zerolog.BurstSampler{Burst: 10, Period: time.Second}),
		perWindow: int(perWindow),
		trainCap:  int(trainCap),
		maxTrain:  float64(cfg.MaxTrain) / float64(time.Microsecond),
	}
	n := int(trainCap + histCap)
	l.buf = make([]int64, 2*n)
	l.scratch = make([]int64, 0, n)
	l.train = make([]int64, 0, int(trainCap))
	return l, nil
}

// Config returns the configuration in force.
func (l *Limit) Config() LimitConfig { return l.cfg }

// Stats returns a snapshot of the counters. Each counter is read atomically;
// a snapshot taken while Stimulate runs may be between two pulses.
func (l *Limit) Stats() LimitStats {
	s := LimitStats{
		Patterns: l.patterns.Load(),
		Pulses:   l.pulses.Load(),
		Passed:   l.passed.Load(),
		Clipped:  l.clipped.Load(),
		Refused:  l.refused.Load(),
	}
	for i := range s.ByRule {
		s.ByRule[i] = l.byRule[i].Load()
	}
	return s
}

// verdict is the outcome for one pulse that a rule acted on: what was
// measured, the value requested and the limit.
type verdict struct {
	rule      Rule
	quantity  string // what requested and limit measure, with unit
	requested float64
	limit     float64
}

// Stimulate judges every pulse of p and delivers the compliant ones.
func (l *Limit) Stimulate(ctx context.Context, p *Pattern) error {
	if p == nil {
		return errNilPattern
	}
	n := uint64(len(p.Pulses))
	l.patterns.Add(1)
	l.pulses.Add(n)
	if l.closed.Load() {
		l.refused.Add(n)
		l.byRule[RuleClosed].Add(n)
		return ErrClosed
	}
	now := l.clock()
	if l.started && now < l.lastNow {
		now = l.lastNow
	}
	l.lastNow, l.started = now, true
	l.prune(now)

	out := &l.out
	out.Seq, out.Sample, out.Arrived = p.Seq, p.Sample, p.Arrived
	out.Pulses = out.Pulses[:0]
	var refusal error
	for i := range p.Pulses {
		q := p.Pulses[i]
		v, refused, clipped := l.judge(&q, now)
		switch {
		case refused:
			l.refused.Add(1)
			l.byRule[v.rule].Add(1)
			if refusal == nil {
				refusal = refusals[v.rule]
			}
			l.logVerdict(p, &q, v, "stimulation pulse refused")
		default:
			l.passed.Add(1)
			if clipped {
				l.clipped.Add(1)
				l.byRule[v.rule].Add(1)
				l.logVerdict(p, &q, v, "stimulation pulse clipped")
			}
			out.Pulses = append(out.Pulses, q)
		}
	}
	if len(out.Pulses) == 0 {
		return refusal
	}
	if err := l.sink.Stimulate(ctx, out); err != nil {
		if refusal != nil {
			return errors.Join(err, refusal)
		}
		return err
	}
	return refusal
}

func (l *Limit) logVerdict(p *Pattern, q *Pulse, v verdict, msg string) {
	l.log.Warn().
		Str("rule", v.rule.String()).
		Int("electrode", q.Electrode).
		Str("quantity", v.quantity).
		Float64("requested", v.requested).
		Float64("limit", v.limit).
		Uint64("seq", p.Seq).
		Int64("sample", p.Sample).
		Uint64("refused_total", l.refused.Load()).
		Uint64("clipped_total", l.clipped.Load()).
		Msg(msg)
}

// judge applies every rule to q in order. It lowers q.AmplitudeUA when
// clipping and, when q passes, admits its onsets to the rate window. v is
// the acting rule when refused or clipped.
func (l *Limit) judge(q *Pulse, now int64) (v verdict, refused, clipped bool) {
	c := &l.cfg
	// Invalid values. NaN fails every comparison, so each test is written
	// to be false for NaN.
	switch {
	case !(q.AmplitudeUA > 0) || math.IsInf(q.AmplitudeUA, 0):
		return verdict{RuleInvalid, "amplitude_ua", q.AmplitudeUA, 0}, true, false
	case !(q.PhaseUS > 0) || math.IsInf(q.PhaseUS, 0):
		return verdict{RuleInvalid, "phase_us", q.PhaseUS, 0}, true, false
	case !(q.GapUS >= 0) || math.IsInf(q.GapUS, 0):
		return verdict{RuleInvalid, "gap_us", q.GapUS, 0}, true, false
	case q.Count < 1:
		return verdict{RuleInvalid, "count", float64(q.Count), 1}, true, false
	case q.Count > 1 && (!(q.FreqHz > 0) || math.IsInf(q.FreqHz, 0)):
		return verdict{RuleInvalid, "freq_hz", q.FreqHz, 0}, true, false
	}
	if q.Electrode < 0 || q.Electrode >= c.Electrodes {
		return verdict{RuleElectrode, "electrode", float64(q.Electrode), float64(c.Electrodes)}, true, false
	}

	// Train: one biphasic pulse lasts 2·phase + gap; pulses of a train
	// start every 1/f; the train lasts (count−1)/f + 2·phase + gap.
	pulseUS := 2*q.PhaseUS + q.GapUS
	durUS := pulseUS
	var periodUS float64
	if q.Count > 1 {
		periodUS = 1e6 / q.FreqHz
		if periodUS < pulseUS {
			return verdict{RuleTrain, "period_us", periodUS, pulseUS}, true, false
		}
		durUS += float64(q.Count-1) * periodUS
	}
	if !(durUS <= l.maxTrain) {
		return verdict{RuleTrain, "train_us", durUS, l.maxTrain}, true, false
	}

	// Amplitude and charge per phase.
	if q.AmplitudeUA > c.MaxAmplitudeUA {
		v = verdict{RuleAmplitude, "amplitude_ua", q.AmplitudeUA, c.MaxAmplitudeUA}
		if c.Mode != LimitClip {
			return v, true, false
		}
		q.AmplitudeUA, clipped = c.MaxAmplitudeUA, true
	}
	if qc := q.ChargeNC(); qc > c.MaxChargeNC {
		requested := qc
		if clipped { // report the charge originally asked for
			requested = v.requested * q.PhaseUS * 1e-3
		}
		v = verdict{RuleCharge, "charge_nc", requested, c.MaxChargeNC}
		if c.Mode != LimitClip {
			return v, true, false
		}
		// I = Q_max/t, then step down by ulps until I·t rounds to ≤ Q_max
		// as ChargeNC computes it (at most a few steps).
		q.AmplitudeUA = c.MaxChargeNC / (q.PhaseUS * 1e-3)
		for q.AmplitudeUA > 0 && q.ChargeNC() > c.MaxChargeNC {
			q.AmplitudeUA = math.Nextafter(q.AmplitudeUA, 0)
		}
		if !(q.AmplitudeUA > 0) {
			return v, true, false
		}
		clipped = true
	}

	// Rate: onsets t₀ + k·(1/f) for k = 0 … count−1.
	if q.Count > l.trainCap {
		// By pigeonhole (see rateCaps) some 1 s window would hold more
		// than perWindow onsets.
		return verdict{RuleRate, "pulses_per_s", float64(q.Count), float64(l.trainCap)}, true, false
	}
	l.train = l.train[:0]
	periodNS := periodUS * 1e3
	for k := 0; k < q.Count; k++ {
		l.train = append(l.train, now+int64(math.Round(float64(k)*periodNS)))
	}
	if worst := l.admit(l.train); worst > l.perWindow {
		return verdict{RuleRate, "pulses_per_s", float64(worst), float64(l.perWindow)}, true, false
	}
	return v, false, clipped
}

// prune forgets onsets that no window reaching now or later can hold
// (those ≤ now − 1 s). O(log n).
func (l *Limit) prune(now int64) {
	l.head += lowerBound(l.buf[l.head:l.tail], now-rateWindowNS+1)
}

// lowerBound returns the first index i of the sorted s with s[i] ≥ x, or
// len(s).
func lowerBound(s []int64, x int64) int {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// admit checks the sorted onsets b of a train against the admitted onsets
// S and, when no 1 s window would hold more than perWindow onsets, inserts
// them into S. S already satisfies the rule, so only windows [w, w+1 s)
// holding an onset of b matter; they lie inside (b₀ − 1 s, b_last + 1 s).
// When the onsets of S in that span plus len(b) do not exceed perWindow, no
// window can (O(log n)). Otherwise the exact maximum is found by merging
// that span with b and sweeping two pointers over the merge: the fullest
// half-open window starts at an onset. It returns the largest count found
// (an upper bound when the first test sufficed).
func (l *Limit) admit(b []int64) int {
	s := l.buf[l.head:l.tail]
	lo := lowerBound(s, b[0]-rateWindowNS+1)
	hi := lo + lowerBound(s[lo:], b[len(b)-1]+rateWindowNS)
	worst := hi - lo + len(b)
	if worst > l.perWindow {
		if worst = l.sweep(s[lo:hi], b); worst > l.perWindow {
			return worst
		}
	}
	// Insert b into S: compact to the front of buf when b does not fit
	// behind S (amortized O(1): buf holds twice the largest S plus a train),
	// then merge from the back, which moves only the onsets after b₀.
	if l.tail+len(b) > len(l.buf) {
		l.tail = copy(l.buf, s)
		l.head = 0
	}
	i, j, k := l.tail-1, len(b)-1, l.tail+len(b)-1
	for j >= 0 {
		if i >= l.head && l.buf[i] > b[j] {
			l.buf[k] = l.buf[i]
			i--
		} else {
			l.buf[k] = b[j]
			j--
		}
		k--
	}
	l.tail += len(b)
	return worst
}

// sweep returns the largest number of onsets of the merge of the sorted a
// and b in any window [m, m+1 s) starting at an onset m.
func (l *Limit) sweep(a, b []int64) int {
	m := l.scratch[:0]
	for len(a) > 0 && len(b) > 0 {
		if a[0] <= b[0] {
			m, a = append(m, a[0]), a[1:]
		} else {
			m, b = append(m, b[0]), b[1:]
		}
	}
	m = append(m, a...)
	m = append(m, b...)
	worst, j := 0, 0
	for i := range m {
		end := m[i] + rateWindowNS
		for j < len(m) && m[j] < end {
			j++
		}
		worst = max(worst, j-i)
	}
	return worst
}

// Close refuses every later pattern with ErrClosed and closes the sink (once;
// later calls return the sink's first result).
func (l *Limit) Close() error {
	l.closed.Store(true)
	l.closeOnce.Do(func() { l.closeErr = l.sink.Close() })
	return l.closeErr
}
