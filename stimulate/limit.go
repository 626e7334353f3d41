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
	// RuleDensity: the charge density per phase D = Q/A, for the electrode
	// area A = electrode_area_cm2, exceeds max_charge_density_uc_cm2.
	RuleDensity
	// RuleShannon: the pulse lies above the Shannon (1992) line:
	// log₁₀(Q) + log₁₀(D) > shannon_k, with Q in µC and D in µC/cm².
	RuleShannon
	// RuleRamp: the amplitude rises faster than max_ramp_ua_per_s above
	// the last amplitude delivered on the same electrode.
	RuleRamp
	// RuleRate: delivering the train would put more than max_rate_hz pulses
	// into some 1 s window.
	RuleRate
	// RuleChargeRate: delivering the train would put more than
	// max_charge_per_s_uc of charge per phase, summed over pulses and
	// electrodes, into some 1 s window.
	RuleChargeRate
	// RuleStale: the input of the loop is stale (Watchdog); Limit itself
	// never uses it.
	RuleStale
	// RuleClosed: the Limit (or Watchdog) has been closed.
	RuleClosed
	// NumRules is the number of rules (the length of LimitStats.ByRule).
	NumRules
)

var ruleNames = [NumRules]string{"invalid", "electrode", "train", "amplitude", "charge", "density", "shannon",
	"ramp", "rate", "charge_per_s", "stale", "closed"}

// String returns the rule's name as used in logs and metrics ("invalid",
// "electrode", "train", "amplitude", "charge", "density", "shannon",
// "ramp", "rate", "charge_per_s", "stale", "closed").
func (r Rule) String() string {
	if r < NumRules {
		return ruleNames[r]
	}
	return "Rule(" + strconv.Itoa(int(r)) + ")"
}

// LimitMode selects what Limit does with a pulse over a limit that a lower
// amplitude can satisfy (amplitude, charge, density, Shannon, ramp).
type LimitMode string

const (
	// LimitRefuse refuses every pulse over any limit.
	LimitRefuse LimitMode = "refuse"
	// LimitClip lowers the amplitude of a pulse over the amplitude, charge,
	// density, Shannon or ramp limit to the largest value that satisfies
	// all of them; invalid pulses, impossible trains, and rate and charge
	// per second violations are still refused.
	LimitClip LimitMode = "clip"
)

// LimitConfig configures Limit.
//
// The defaults follow intracortical microstimulation (ICMS) practice in
// humans (SCIENCE.md §6): about 100 µA at 200 µs per phase, i.e. 20 nC per
// phase, in trains of up to 300 Hz lasting up to 1 s (Flesher et al. 2016,
// Sci. Transl. Med. 8:361ra141), on a 96-channel Utah array whose tips
// expose about 2000 µm² (2·10⁻⁵ cm²). Against the Shannon (1992) criterion
// log₁₀(D) = k − log₁₀(Q) (Shannon 1992, IEEE Trans. Biomed. Eng.
// 39:424–426), with Q in µC and the charge density D = Q/A in µC/cm² per
// phase: 20 nC (0.02 µC) on 2·10⁻⁵ cm² is D = 1000 µC/cm²,
// k = log₁₀(0.02) + log₁₀(1000) = 1.3, inside the conservative k ≤ 1.5
// (damage was seen at k ≥ 1.85); the Shannon line itself allows
// Q = √(10^k·A) = 25.1 nC there, so max_charge_nc binds first. For another
// electrode area A, max_charge_nc = 10³·√(10^k·A) keeps k, and for a DBS
// macroelectrode (Medtronic 3387, A ≈ 0.06 cm²) the labelled limit is
// max_charge_density_uc_cm2 = 30.
//
// Charge balance holds by construction: a Pulse has one amplitude and one
// phase width used for both its cathodic and its anodic phase, so every
// pulse Limit passes injects Q = I·t and recovers −Q (Merrill et al. 2005,
// J. Neurosci. Methods 141:171–198, on why charge-balanced biphasic pulses
// avoid irreversible Faradaic reactions). There is no field in which an
// asymmetric pulse could be asked for, hence no balance rule.
type LimitConfig struct {
	// MaxAmplitudeUA is the largest phase amplitude in µA.
	MaxAmplitudeUA float64 `yaml:"max_amplitude_ua"`
	// MaxChargeNC is the largest charge per phase, Q = I·t, in nC (at most
	// 10⁶, i.e. 1 mC).
	MaxChargeNC float64 `yaml:"max_charge_nc"`
	// ElectrodeAreaCM2 is the geometric area A of each electrode in cm²,
	// used by the density and Shannon rules.
	ElectrodeAreaCM2 float64 `yaml:"electrode_area_cm2"`
	// MaxChargeDensityUCCM2 is the largest charge density per phase,
	// D = Q/A, in µC/cm².
	MaxChargeDensityUCCM2 float64 `yaml:"max_charge_density_uc_cm2"`
	// ShannonK is k of the Shannon (1992) criterion: a pulse with
	// log₁₀(Q/µC) + log₁₀(D/(µC/cm²)) > k is refused (or clipped).
	ShannonK float64 `yaml:"shannon_k"`
	// MaxChargePerSUC bounds the charge per phase delivered, summed over
	// pulses and electrodes, in any sliding 1 s window, in µC (at most
	// 10⁹). Every pulse of a train counts at its own onset, as for
	// MaxRateHz.
	MaxChargePerSUC float64 `yaml:"max_charge_per_s_uc"`
	// MaxRampUAPerS bounds how fast the amplitude on one electrode may
	// rise: a pulse judged at time t on electrode e may have at most
	// I_last(e) + MaxRampUAPerS·(t − t_last(e)), where I_last is the
	// amplitude last delivered there (0 µA, as of the first pattern the
	// Limit judges, before any). Lowering the amplitude is never limited.
	// 0 disables the rule.
	MaxRampUAPerS float64 `yaml:"max_ramp_ua_per_s"`
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

// DefaultLimitConfig returns the ICMS defaults described at LimitConfig:
// 100 µA, 20 nC and 1000 µC/cm² per phase on 2·10⁻⁵ cm², k = 1.5,
// 300 pulses and 6 µC (300 × 20 nC) per second, 1 s trains, 96 electrodes,
// no ramp limit.
func DefaultLimitConfig() LimitConfig {
	return LimitConfig{
		MaxAmplitudeUA:        100,
		MaxChargeNC:           20,
		ElectrodeAreaCM2:      2e-5,
		MaxChargeDensityUCCM2: 1000,
		ShannonK:              1.5,
		MaxChargePerSUC:       6,
		MaxRampUAPerS:         0,
		MaxRateHz:             300,
		MaxTrain:              time.Second,
		Electrodes:            96,
		Mode:                  LimitRefuse,
		Clock:                 acquire.Now,
	}
}

// maxRateEntries bounds the memory of the rate rule (about 4 int64 per
// entry: 16 MiB), which grows with max_rate_hz × max_train.
const maxRateEntries = 1 << 19

// rateWindowNS is the sliding window of the rate rule: 1 s in ns.
const rateWindowNS = int64(time.Second)

// Bounds that keep the charge per second rule's integer sums (fC, see
// chargeFC) far from overflow: 2²⁰ entries × 10¹² fC < 2⁶³.
const (
	maxChargeNCBound     = 1e6
	maxChargePerSUCBound = 1e9
)

// Validate reports every problem with c at once.
func (c *LimitConfig) Validate() error {
	var errs []error
	pos := func(key string, x float64) {
		if !(x > 0) || math.IsInf(x, 0) {
			errs = append(errs, fmt.Errorf("%s: must be finite and > 0, got %v", key, x))
		}
	}
	pos("max_amplitude_ua", c.MaxAmplitudeUA)
	pos("max_charge_nc", c.MaxChargeNC)
	if c.MaxChargeNC > maxChargeNCBound {
		errs = append(errs, fmt.Errorf("max_charge_nc: must be ≤ %g (1 mC), got %v", maxChargeNCBound, c.MaxChargeNC))
	}
	pos("electrode_area_cm2", c.ElectrodeAreaCM2)
	pos("max_charge_density_uc_cm2", c.MaxChargeDensityUCCM2)
	if !finite(c.ShannonK) {
		errs = append(errs, fmt.Errorf("shannon_k: must be finite, got %v", c.ShannonK))
	}
	pos("max_charge_per_s_uc", c.MaxChargePerSUC)
	if c.MaxChargePerSUC > maxChargePerSUCBound {
		errs = append(errs, fmt.Errorf("max_charge_per_s_uc: must be ≤ %g, got %v", maxChargePerSUCBound, c.MaxChargePerSUC))
	}
	if !(c.MaxRampUAPerS >= 0) || math.IsInf(c.MaxRampUAPerS, 0) {
		errs = append(errs, fmt.Errorf("max_ramp_ua_per_s: must be finite and ≥ 0 (0 disables), got %v", c.MaxRampUAPerS))
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

// ChargeDensity returns the charge density per phase D = Q/A in µC/cm² of
// a charge per phase qNC (nC) on an electrode of areaCM2 (cm²).
func ChargeDensity(qNC, areaCM2 float64) float64 { return qNC * 1e-3 / areaCM2 }

// ShannonK returns log₁₀(Q) + log₁₀(D), Q in µC and D = Q/A in µC/cm²,
// for a charge per phase qNC (nC) on areaCM2 (cm²): the k of the Shannon
// (1992) line log₁₀(D) = k − log₁₀(Q) on which the pulse lies. Tissue
// damage was seen above k ≈ 1.85; 1.5 is the conservative bound.
func ShannonK(qNC, areaCM2 float64) float64 {
	return math.Log10(qNC*1e-3) + math.Log10(ChargeDensity(qNC, areaCM2))
}

// chargeFC returns the charge per phase of q in fC, rounded up, as the
// charge per second rule counts it: integer sums are exact and
// order-independent, and rounding up keeps the true sum below the count.
func chargeFC(q *Pulse) int64 { return int64(math.Ceil(q.ChargeNC() * 1e6)) }

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
// max_train, is refused; a pulse over max_amplitude_ua, over max_charge_nc
// per phase (Q = I·t), over max_charge_density_uc_cm2 (D = Q/A), above the
// Shannon line (log₁₀Q + log₁₀D > shannon_k) or rising faster than
// max_ramp_ua_per_s on its electrode is refused, or in clip mode delivered
// with the largest amplitude that satisfies all five (the rule named is the
// last that lowered it); finally a train that would put more than
// ⌊max_rate_hz⌋ pulse onsets, or more than max_charge_per_s_uc of charge per
// phase, into any 1 s window, counting the pulses already admitted, is
// refused. The compliant pulses go to the sink in a Pattern owned by Limit
// (with the caller's Seq, Sample and Arrived); the caller's pattern is never
// modified. When no pulse remains, the sink is not called.
//
// Stimulate returns nil when every pulse passed (clipped or not), a
// *RefusalError (wrapping ErrRefused) naming the rule of the first refused
// pulse otherwise, or the sink's error. After Close it refuses every pattern
// with ErrClosed. It does not allocate after the first pattern of a given
// size; refusals and clips are logged at warn level through a burst sampler
// (10 per second), while the counters (Stats) count every one.
//
// The rate and charge per second rules keep the admitted onsets of the last
// second and of scheduled trains, with each onset's charge in fC and a
// running sum, in a sorted buffer sized at construction; judging a train
// costs O(log n) while the onsets and charge near it stay below the limits,
// and an exact O(n) sweep over the onsets within 1 s of it otherwise.
//
// Concurrency: Stimulate is called from one goroutine at a time; Stats,
// StopStimulation and Close may be called from any goroutine at any time. A
// Stimulate running while Close is called may still reach the sink, whose
// own Close must then refuse or stop it (SimSink does).
type Limit struct {
	sink  Stimulator
	cfg   LimitConfig
	clock func() int64
	log   zerolog.Logger

	perWindow int     // ⌊MaxRateHz⌋
	trainCap  int     // see rateCaps
	maxTrain  float64 // MaxTrain in µs
	maxQFC    int64   // MaxChargePerSUC in fC
	capNC     [NumRules]float64

	buf     []int64 // buf[head:tail]: admitted pulse onsets in ns, sorted, none ≤ now − 1 s
	qbuf    []int64 // qbuf[i]: charge per phase of the pulse at buf[i], fC
	cum     []int64 // cum[i+1] − cum[i] = qbuf[i] for head ≤ i < tail
	head    int
	tail    int
	scratch []int64 // merge buffers of the exact sweep
	qscr    []int64
	train   []int64 // onsets of the train being judged
	out     Pattern // what the sink receives
	lastNow int64
	started bool

	lastAmp []float64 // ramp rule: last amplitude delivered per electrode
	lastT   []int64   // and when

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
		maxQFC:    int64(math.Floor(cfg.MaxChargePerSUC * 1e9)),
		lastAmp:   make([]float64, cfg.Electrodes),
		lastT:     make([]int64, cfg.Electrodes),
	}
	// Charge per phase at which each charge rule starts to act, in nC:
	// Q_max; D_max·A (µC) = 10³·D_max·A nC; and from log₁₀Q + log₁₀(Q/A) = k,
	// Q = √(10^k·A) µC.
	l.capNC[RuleCharge] = cfg.MaxChargeNC
	l.capNC[RuleDensity] = 1e3 * cfg.MaxChargeDensityUCCM2 * cfg.ElectrodeAreaCM2
	l.capNC[RuleShannon] = 1e3 * math.Sqrt(math.Pow(10, cfg.ShannonK)*cfg.ElectrodeAreaCM2)
	n := int(trainCap + histCap)
	l.buf = make([]int64, 2*n)
	l.qbuf = make([]int64, 2*n)
	l.cum = make([]int64, 2*n+1)
	l.scratch = make([]int64, 0, n)
	l.qscr = make([]int64, 0, n)
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
	if !l.started {
		for e := range l.lastT { // the ramp rule starts from 0 µA now
			l.lastT[e] = now
		}
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
// clipping and, when q passes, admits its onsets to the rate window and its
// amplitude to the ramp rule. v is the acting rule when refused or clipped.
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

	// Amplitude, then the charge per phase rules, then the ramp: each
	// lowers the amplitude in clip mode, which keeps the earlier ones met.
	clip := c.Mode == LimitClip
	orig := q.AmplitudeUA
	if q.AmplitudeUA > c.MaxAmplitudeUA {
		v = verdict{RuleAmplitude, "amplitude_ua", orig, c.MaxAmplitudeUA}
		if !clip {
			return v, true, false
		}
		q.AmplitudeUA, clipped = c.MaxAmplitudeUA, true
	}
	for r := RuleCharge; r <= RuleShannon; r++ {
		if !l.overCharge(r, q) {
			continue
		}
		v = l.chargeVerdict(r, orig*q.PhaseUS*1e-3)
		if !clip {
			return v, true, false
		}
		// I = Q_cap/t, then step down by ulps until the rule, evaluated
		// exactly as overCharge does, holds (at most a few steps).
		q.AmplitudeUA = min(q.AmplitudeUA, l.capNC[r]/(q.PhaseUS*1e-3))
		for q.AmplitudeUA > 0 && l.overCharge(r, q) {
			q.AmplitudeUA = math.Nextafter(q.AmplitudeUA, 0)
		}
		if !(q.AmplitudeUA > 0) {
			return v, true, false
		}
		clipped = true
	}
	if c.MaxRampUAPerS > 0 {
		allowed := l.rampAllowed(q.Electrode, now)
		if q.AmplitudeUA > allowed {
			v = verdict{RuleRamp, "ramp_amplitude_ua", orig, allowed}
			if !clip || !(allowed > 0) {
				return v, true, false
			}
			q.AmplitudeUA, clipped = allowed, true
		}
	}

	// Rate and charge per second: onsets t₀ + k·(1/f) for k = 0 … count−1,
	// each carrying the charge per phase.
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
	worst, worstQ := l.admit(l.train, chargeFC(q))
	switch {
	case worst > l.perWindow:
		return verdict{RuleRate, "pulses_per_s", float64(worst), float64(l.perWindow)}, true, false
	case worstQ > l.maxQFC:
		return verdict{RuleChargeRate, "charge_per_s_uc", float64(worstQ) * 1e-9, c.MaxChargePerSUC}, true, false
	}
	l.lastAmp[q.Electrode], l.lastT[q.Electrode] = q.AmplitudeUA, now
	return v, false, clipped
}

// overCharge reports whether q breaks charge rule r (RuleCharge,
// RuleDensity or RuleShannon).
func (l *Limit) overCharge(r Rule, q *Pulse) bool {
	c := &l.cfg
	switch r {
	case RuleCharge:
		return q.ChargeNC() > c.MaxChargeNC
	case RuleDensity:
		return ChargeDensity(q.ChargeNC(), c.ElectrodeAreaCM2) > c.MaxChargeDensityUCCM2
	default:
		return ShannonK(q.ChargeNC(), c.ElectrodeAreaCM2) > c.ShannonK
	}
}

// chargeVerdict describes charge rule r acting on a pulse that asked for
// qNC per phase.
func (l *Limit) chargeVerdict(r Rule, qNC float64) verdict {
	c := &l.cfg
	switch r {
	case RuleCharge:
		return verdict{r, "charge_nc", qNC, c.MaxChargeNC}
	case RuleDensity:
		return verdict{r, "charge_density_uc_cm2", ChargeDensity(qNC, c.ElectrodeAreaCM2), c.MaxChargeDensityUCCM2}
	default:
		return verdict{r, "shannon_k", ShannonK(qNC, c.ElectrodeAreaCM2), c.ShannonK}
	}
}

// rampAllowed returns the largest amplitude the ramp rule lets electrode e
// have at now: I_last + max_ramp_ua_per_s·(now − t_last).
func (l *Limit) rampAllowed(e int, now int64) float64 {
	return l.lastAmp[e] + l.cfg.MaxRampUAPerS*float64(now-l.lastT[e])*1e-9
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

// admit checks the sorted onsets b of a train, each carrying charge w fC,
// against the admitted onsets S and, when no 1 s window would hold more
// than perWindow onsets or more than maxQFC of charge, inserts them into S.
// S already satisfies both rules, so only windows [w, w+1 s) holding an
// onset of b matter; they lie inside (b₀ − 1 s, b_last + 1 s). When the
// onsets of S in that span plus len(b) do not exceed perWindow, and their
// charge (a difference of running sums) plus len(b)·w does not exceed
// maxQFC, no window can (O(log n)). Otherwise the exact maxima are found by
// merging that span with b and sweeping two pointers over the merge: as
// every weight is ≥ 0, the fullest half-open window starts at an onset. It
// returns the largest count and charge found (upper bounds when the first
// test sufficed).
func (l *Limit) admit(b []int64, w int64) (worst int, worstQ int64) {
	s := l.buf[l.head:l.tail]
	lo := lowerBound(s, b[0]-rateWindowNS+1)
	hi := lo + lowerBound(s[lo:], b[len(b)-1]+rateWindowNS)
	worst = hi - lo + len(b)
	worstQ = l.cum[l.head+hi] - l.cum[l.head+lo] + int64(len(b))*w
	if worst > l.perWindow || worstQ > l.maxQFC {
		if worst, worstQ = l.sweep(s[lo:hi], l.qbuf[l.head+lo:l.head+hi], b, w); worst > l.perWindow || worstQ > l.maxQFC {
			return worst, worstQ
		}
	}
	// Insert b into S: compact to the front of buf when b does not fit
	// behind S (amortized O(1): buf holds twice the largest S plus a train),
	// then merge from the back, which moves only the onsets after b₀, and
	// redo the running sum from there.
	if l.tail+len(b) > len(l.buf) {
		copy(l.qbuf, l.qbuf[l.head:l.tail])
		l.tail = copy(l.buf, s)
		l.head = 0
		l.cum[0] = 0
		for i := range l.tail {
			l.cum[i+1] = l.cum[i] + l.qbuf[i]
		}
	}
	from := l.head + lowerBound(l.buf[l.head:l.tail], b[0])
	i, j, k := l.tail-1, len(b)-1, l.tail+len(b)-1
	for j >= 0 {
		if i >= l.head && l.buf[i] > b[j] {
			l.buf[k], l.qbuf[k] = l.buf[i], l.qbuf[i]
			i--
		} else {
			l.buf[k], l.qbuf[k] = b[j], w
			j--
		}
		k--
	}
	l.tail += len(b)
	for i := from; i < l.tail; i++ {
		l.cum[i+1] = l.cum[i] + l.qbuf[i]
	}
	return worst, worstQ
}

// sweep returns the largest number of onsets, and the largest charge, of
// the merge of the sorted a (charges qa) and b (each w) in any window
// [m, m+1 s) starting at an onset m.
func (l *Limit) sweep(a, qa, b []int64, w int64) (worst int, worstQ int64) {
	m, mq := l.scratch[:0], l.qscr[:0]
	for len(a) > 0 && len(b) > 0 {
		if a[0] <= b[0] {
			m, mq, a, qa = append(m, a[0]), append(mq, qa[0]), a[1:], qa[1:]
		} else {
			m, mq, b = append(m, b[0]), append(mq, w), b[1:]
		}
	}
	m, mq = append(m, a...), append(mq, qa...)
	for range b {
		mq = append(mq, w)
	}
	m = append(m, b...)
	j := 0
	var sum int64
	for i := range m {
		end := m[i] + rateWindowNS
		for j < len(m) && m[j] < end {
			sum += mq[j]
			j++
		}
		worst, worstQ = max(worst, j-i), max(worstQ, sum)
		sum -= mq[i]
	}
	return worst, worstQ
}

// StopStimulation turns the sink's outputs off without closing it, when
// the sink can (it implements Stopper); the Limit stays open. It returns
// ErrNotStoppable otherwise.
func (l *Limit) StopStimulation() error {
	if s, ok := l.sink.(Stopper); ok {
		return s.StopStimulation()
	}
	return ErrNotStoppable
}

// Close refuses every later pattern with ErrClosed and closes the sink (once;
// later calls return the sink's first result).
func (l *Limit) Close() error {
	l.closed.Store(true)
	l.closeOnce.Do(func() { l.closeErr = l.sink.Close() })
	return l.closeErr
}
