package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bciloop/bciloop/model"
)

// BetaConfig configures a BetaCircuit.
type BetaConfig struct {
	Seed   uint64  `yaml:"seed"`
	RateHz float64 `yaml:"rate_hz"` // LFP samples per second

	// JansenRit holds the mass parameters; the default is Jansen & Rit
	// (1995) on a twice faster time scale (see DefaultBetaConfig).
	JansenRit  model.JansenRit `yaml:"jansen_rit"`
	InputHz    float64         `yaml:"input_hz"`    // mean input pulse density p, s⁻¹
	InputNoise float64         `yaml:"input_noise"` // σ_p, s⁻¹·√ms
	GainUV     float64         `yaml:"gain_uv"`     // LFP µV per mV of mass output
	HighPassHz float64         `yaml:"high_pass_hz"`

	// Burst ground truth: the smoothed envelope above its Percentile-th
	// percentile, estimated over Calibration of unstimulated activity.
	Percentile  float64       `yaml:"percentile"`
	Calibration time.Duration `yaml:"calibration"`
	EnvelopeTau time.Duration `yaml:"envelope_tau"`

	// Stimulation of the pyramidal (E) population through electrode 0: a
	// pulse of amplitude I adds StimGainHz·I/StimRefUA to the input p,
	// decaying with StimTau.
	StimGainHz float64       `yaml:"stim_gain_hz"`
	StimRefUA  float64       `yaml:"stim_ref_ua"`
	StimTau    time.Duration `yaml:"stim_tau"`
	StimQueue  int           `yaml:"stim_queue"`
}

// DefaultBetaConfig returns a beta-band (≈ 22 Hz) circuit sampled at 1 kHz.
//
// The Jansen & Rit (1995) mass runs twice as fast (a = 200 s⁻¹,
// b = 100 s⁻¹, e0 = 5 s⁻¹, inputs doubled): a change of time scale that
// maps its ≈ 11 Hz alpha onto ≈ 22 Hz; the rhythm of the model is set by
// its synaptic kinetics (David & Friston 2003, NeuroImage 20:1743). With the
// mean input 660 s⁻¹, just past the upper Hopf bifurcation (≈ 630 s⁻¹ on this
// time scale), the mass sits on a weakly damped focus, and the input noise
// excites waxing and waning beta: bursts, the mechanism of noise-driven
// bursting near a Hopf bifurcation (Powanwe & Longtin 2019, Sci Rep
// 9:18335). Bursts are the envelope above its 75th percentile (Tinkhauser
// et al. 2017, Ann Neurol 82:105), the amplitude smoothed with τ = 100 ms
// (about two cycles), which removes sub-cycle flicker of the crossings.
// Stimulation: 400 s⁻¹ per 50 µA pulse with τ = 5 ms raises the mean input
// by 260 s⁻¹ at 130 Hz, moving the mass away from the bifurcation, which
// suppresses beta as high-frequency deep-brain stimulation does (Kühn et
// al. 2008, J Neurosci 28:6165).
func DefaultBetaConfig() BetaConfig {
	jr := model.JansenRit1995()
	jr.Ra, jr.Rb, jr.E0 = 200, 100, 5
	return BetaConfig{
		Seed:        1,
		RateHz:      1000,
		JansenRit:   jr,
		InputHz:     660,
		InputNoise:  60,
		GainUV:      20,
		HighPassHz:  1,
		Percentile:  75,
		Calibration: 30 * time.Second,
		EnvelopeTau: 100 * time.Millisecond,
		StimGainHz:  400,
		StimRefUA:   50,
		StimTau:     5 * time.Millisecond,
		StimQueue:   16,
	}
}

// Validate reports every problem of c at once, each as "key: message".
func (c *BetaConfig) Validate() error {
	var ck checker
	ck.positive("rate_hz", c.RateHz)
	ck.nested("jansen_rit", c.JansenRit.Validate())
	ck.nonNegative("input_hz", c.InputHz)
	ck.positive("input_noise", c.InputNoise)
	ck.positive("gain_uv", c.GainUV)
	ck.positive("high_pass_hz", c.HighPassHz)
	ck.belowNyquist("high_pass_hz", c.HighPassHz, c.RateHz)
	ck.open("percentile", c.Percentile, 0, 100)
	if c.RateHz > 0 && c.Calibration.Seconds()*c.RateHz < 100 {
		ck.bad("calibration", "must cover at least 100 frames, got %v", c.Calibration)
	}
	ck.duration("envelope_tau", c.EnvelopeTau)
	ck.nonNegative("stim_gain_hz", c.StimGainHz)
	ck.positive("stim_ref_ua", c.StimRefUA)
	ck.duration("stim_tau", c.StimTau)
	ck.intRange("stim_queue", c.StimQueue, 1, maxUnits)
	return ck.err()
}

// Streams of the beta circuit's generators.
const (
	streamBetaInput = 0x62657461696e7031
	streamBetaCalib = 0x6265746163616c31
)

// massTrain is one queued or ongoing pulse train on a neural mass.
type massTrain struct {
	count, next int
	gain        float64 // input step per pulse, s⁻¹
	period      float64 // frames between pulses
	first       int64
}

// massStim is the stimulation input of a single-site neural mass: a
// fixed-capacity queue of pulse trains whose pulses add gain to an evoked
// input that decays by decay per frame; its only pointer is the queue slice.
type massStim struct {
	rate   float64
	decay  float64
	evoked float64

	mu      sync.Mutex
	trains  []massTrain
	ntrains atomic.Int32
}

func (m *massStim) init(rate float64, tau time.Duration, queue int) {
	m.rate, m.decay, m.trains = rate, math.Exp(-1/(rate*tau.Seconds())), make([]massTrain, 0, queue)
}

// step applies the pulses due at frame s and returns the evoked input of
// the frame, decaying it afterwards.
func (m *massStim) step(s int64) float64 {
	if m.ntrains.Load() > 0 {
		m.mu.Lock()
		j := 0
		for i := range m.trains {
			t := m.trains[i]
			if t.next == 0 && t.first < s {
				t.first = s
			}
			for t.next < t.count && t.first+int64(math.Floor(float64(t.next)*t.period+0.5)) <= s {
				m.evoked += t.gain
				t.next++
			}
			if t.next < t.count {
				m.trains[j] = t
				j++
			}
		}
		m.trains = m.trains[:j]
		m.ntrains.Store(int32(j))
		m.mu.Unlock()
	}
	e := m.evoked
	m.evoked *= m.decay
	if m.evoked < evokedFloorHz {
		m.evoked = 0
	}
	return e
}

// stimulate validates s for a single electrode (index 0) and queues it with
// a gain of gainHz·I/refUA per pulse.
func (m *massStim) stimulate(s Stimulus, gainHz, refUA float64) error {
	if err := checkStimulus(&s, 1, m.rate, 0); err != nil {
		return err
	}
	t := massTrain{count: s.Count, gain: gainHz * s.AmplitudeUA / refUA, first: s.Sample}
	if s.Count > 1 {
		t.period = m.rate / s.FreqHz
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.trains) == cap(m.trains) {
		return fmt.Errorf("%w: %d trains pending or ongoing", ErrStimQueueFull, cap(m.trains))
	}
	m.trains = append(m.trains, t)
	m.ntrains.Store(int32(len(m.trains)))
	return nil
}

func (m *massStim) stop() {
	m.mu.Lock()
	m.trains = m.trains[:0]
	m.ntrains.Store(0)
	m.mu.Unlock()
}

// massRK4 advances the Jansen–Rit state x by sub RK4 steps of h ms with the
// input held at mean + sd·z per step (at mean, drawing nothing, when r is
// nil); k is scratch.
func massRK4(jr *model.JansenRit, x *[6]float64, k *[5][6]float64, sub int, h, mean, sd float64, r *rand.Rand) {
	k1, k2, k3, k4, tmp := &k[0], &k[1], &k[2], &k[3], &k[4]
	for range sub {
		in := mean
		if r != nil {
			in += sd * r.NormFloat64()
		}
		jr.Deriv(k1[:], 0, x[:], in)
		for i := range 6 {
			tmp[i] = x[i] + h/2*k1[i]
		}
		jr.Deriv(k2[:], 0, tmp[:], in)
		for i := range 6 {
			tmp[i] = x[i] + h/2*k2[i]
		}
		jr.Deriv(k3[:], 0, tmp[:], in)
		for i := range 6 {
			tmp[i] = x[i] + h*k3[i]
		}
		jr.Deriv(k4[:], 0, tmp[:], in)
		for i := range 6 {
			x[i] += h / 6 * (k1[i] + 2*k2[i] + 2*k3[i] + k4[i])
		}
	}
}

// BetaCircuit is a beta-rhythm generator with bursts and a local field
// potential: a noise-driven Jansen–Rit neural mass (model.JansenRit) on a
// beta time scale (DefaultBetaConfig), sampled at RateHz.
//
// LFP. The mass output v = y1 − y2, the mean membrane potential of the
// pyramidal population (the sum of its excitatory and inhibitory PSPs, the
// usual LFP proxy of a neural mass, cf. Mazzoni et al. 2015, PLoS Comput
// Biol 11:e1004584, for the synaptic-current proxy of spiking networks),
// passes a first-order high-pass at HighPassHz (y ← α(y + v − v_prev),
// α = RC/(RC + Δt)) and is scaled by GainUV. Input noise: over an RK4 step
// of h ≤ 0.5 ms the input is held at p + e(t) + σ_p·z/√h (white noise of
// density σ_p; e the evoked stimulation input).
//
// Bursts (ground truth). The instantaneous amplitude of the rhythm comes
// from the state itself, not from a filtered signal: for a narrow-band
// oscillation v − v̄ = A cos φ and v̇ = −A ω sin φ, so
//
//	A = √(d² + (ḋ/ω)²),  d = (v − v̄) − (u − u*),  ḋ = v̇ − u̇
//
// with v̇ = ẏ1 − ẏ2 (mV/s), v̄ the mean and ω the mean angular frequency
// √(Var v̇/Var v) of the process (Rice 1944, Bell Syst Tech J 23:282), both
// from a calibration run of Calibration without stimulation (seeded apart).
// A is smoothed by a first-order low-pass with EnvelopeTau, and a frame is
// in a burst when the smoothed amplitude exceeds its Percentile-th
// percentile over the calibration (Tinkhauser et al. 2017, Ann Neurol
// 82:105, use the 75th).
//
// The rhythm is the noise-driven oscillation about the mass's operating
// point, and stimulation moves that point: the evoked input raises the mean
// of v (by ≈ 2 mV at 130 Hz × 50 µA) and each pulse evokes a deterministic
// response, neither of which is beta. So the truth subtracts them: u is the
// output of a noise-free twin of the mass, driven by the same evoked input
// (p + e(t), no noise), and u* its output at rest, the equilibrium of the
// mass at input p (the fixed point y3 = y4 = y5 = 0, y0 = (A/a)·S(y1 − y2),
// y1 = (A/a)(p + C2·S(C1·y0)), y2 = (B/b)·C4·S(C3·y0), found by bisection
// on y0). In the linear regime about the operating point, v − u is exactly
// the noise-driven part; the twin's mean shift and evoked transients (its
// ringing after a step of input too) cancel. Without stimulation the twin
// rests at the equilibrium (it is not integrated then: u − u* = 0 and
// u̇ = 0 exactly), so the truth is bit for bit what it is without the twin;
// after the evoked input has decayed the twin is integrated until it is
// back within 10⁻⁹ of the equilibrium, then set onto it. The twin needs a
// stable equilibrium (a damped focus, as at the default input); when the
// mass has none at p (inside its limit-cycle range) Equilibrium reports it
// and the twin stays off: the truth is then v − v̄ alone, which counts the
// stimulation's mean shift as amplitude.
//
// Stimulation (Stimulable; electrode 0 is the circuit): each pulse of
// amplitude I adds StimGainHz·I/StimRefUA to the input of the pyramidal
// population's excitatory drive, decaying as exp(−t/StimTau); StopStimulation
// cancels pending pulses, evoked input decays on its own.
//
// Concurrency: Advance and the accessors are for one goroutine at a time;
// Stimulate, StopStimulation and Sample may be called concurrently.
type BetaCircuit struct {
	cfg    BetaConfig
	rate   float64
	sample atomic.Int64

	jr      model.JansenRit
	sub     int
	h       float64
	noiseSD float64
	hpAlpha float64
	envA    float64 // smoothing factor exp(−Δt/τ)

	x          [6]float64
	k          [5][6]float64
	hpIn, hpOu float64
	env        float64

	mean, omega, threshold float64 // calibration: v̄ (mV), ω (rad/s), A threshold (mV)

	// The noise-free twin (see Bursts): its state, the equilibrium it
	// rests at, whether that equilibrium is stable (else no twin) and
	// whether the twin is away from it.
	twin, rest     [6]float64
	stable, active bool

	noise *rand.Rand
	stim  massStim
}

// NewBetaCircuit validates cfg, builds the circuit and runs its
// calibration.
func NewBetaCircuit(cfg BetaConfig) (*BetaCircuit, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sim: beta config: %w", err)
	}
	b := &BetaCircuit{cfg: cfg, rate: cfg.RateHz, jr: cfg.JansenRit, noise: rand.New(rand.NewPCG(cfg.Seed, streamBetaInput))}
	frameMs := 1000 / cfg.RateHz
	b.sub = max(1, int(math.Ceil(frameMs/cfg.JansenRit.MaxStep())))
	b.h = frameMs / float64(b.sub)
	b.noiseSD = cfg.InputNoise / math.Sqrt(b.h)
	dt := 1 / cfg.RateHz
	rc := 1 / (2 * math.Pi * cfg.HighPassHz)
	b.hpAlpha = rc / (rc + dt)
	b.envA = math.Exp(-dt / cfg.EnvelopeTau.Seconds())
	b.stim.init(cfg.RateHz, cfg.StimTau, cfg.StimQueue)

	// Calibration on its own stream, from a 1 s warm-up.
	cal := rand.New(rand.NewPCG(cfg.Seed, streamBetaCalib))
	warm := int(math.Ceil(cfg.RateHz))
	n := int(cfg.Calibration.Seconds() * cfg.RateHz)
	var x [6]float64
	v, dv := make([]float64, n), make([]float64, n)
	for i := range warm + n {
		massRK4(&b.jr, &x, &b.k, b.sub, b.h, cfg.InputHz, b.noiseSD, cal)
		if i >= warm {
			v[i-warm], dv[i-warm] = x[1]-x[2], x[4]-x[5]
		}
	}
	var m, vv, vd float64
	for i := range v {
		m += v[i]
	}
	m /= float64(n)
	for i := range v {
		vv += (v[i] - m) * (v[i] - m)
		vd += dv[i] * dv[i]
	}
	if vv == 0 {
		return nil, errors.New("sim: beta calibration: the mass output does not vary")
	}
	b.mean, b.omega = m, math.Sqrt(vd/vv)
	env := make([]float64, n)
	var e float64
	for i := range v {
		e = b.envA*e + (1-b.envA)*b.amplitude(v[i], dv[i])
		env[i] = e
	}
	slices.Sort(env)
	b.threshold = env[min(n-1, int(cfg.Percentile/100*float64(n)))]

	// The run starts from the calibration's end state on its own stream.
	b.x, b.env = x, e
	b.hpIn = x[1] - x[2]
	b.rest, b.stable = massEquilibrium(&b.jr, cfg.InputHz, b.mean, b.sub, b.h, cfg.RateHz)
	b.twin = b.rest
	return b, nil
}

// twinRestTol is how close (mV, mV/s) the twin must be to the equilibrium,
// with no evoked input, to be set onto it and stop.
const twinRestTol = 1e-9

// massEquilibrium returns the fixed point of the Jansen–Rit mass jr at
// constant input p whose output y1 − y2 is nearest near, and whether it is
// stable. Fixed points solve g(y0) = (A/a)·S(v(y0)) − y0 = 0 with
// v(y0) = (A/a)(p + C2·S(C1·y0)) − (B/b)·C4·S(C3·y0) on y0 ∈ [0, 2e0·A/a]
// (S is bounded by 2e0): sign changes on a grid of 4000 steps, each refined
// by bisection to machine precision. Stability is tested by integration:
// from the fixed point displaced by 10⁻³ mV in y1, the noise-free mass
// (sub RK4 steps of h ms per frame, rate frames per second) must after 5 s
// have a smaller displacement than at the start, by the largest over the
// first and the last second.
func massEquilibrium(jr *model.JansenRit, p, near float64, sub int, h, rate float64) ([6]float64, bool) {
	ka, kb := jr.A/jr.Ra, jr.B/jr.Rb
	vOf := func(y0 float64) float64 {
		return ka*(p+jr.C2*jr.Sigmoid(jr.C1*y0)) - kb*jr.C4*jr.Sigmoid(jr.C3*y0)
	}
	g := func(y0 float64) float64 { return ka*jr.Sigmoid(vOf(y0)) - y0 }
	const steps = 4000
	hi := 2 * jr.E0 * ka
	var best [6]float64
	found := false
	prev := g(0)
	for i := 1; i <= steps; i++ {
		x1 := hi * float64(i) / steps
		g1 := g(x1)
		if (prev > 0) != (g1 > 0) || g1 == 0 {
			lo, up, glo := hi*float64(i-1)/steps, x1, prev
			for range 200 {
				mid := (lo + up) / 2
				if mid == lo || mid == up {
					break
				}
				if gm := g(mid); (gm > 0) == (glo > 0) {
					lo, glo = mid, gm
				} else {
					up = mid
				}
			}
			y0 := (lo + up) / 2
			y1 := ka * (p + jr.C2*jr.Sigmoid(jr.C1*y0))
			y2 := kb * jr.C4 * jr.Sigmoid(jr.C3*y0)
			if !found || math.Abs(y1-y2-near) < math.Abs(best[1]-best[2]-near) {
				best, found = [6]float64{y0, y1, y2, 0, 0, 0}, true
			}
		}
		prev = g1
	}
	if !found {
		return best, false
	}
	x := best
	x[1] += 1e-3
	var k [5][6]float64
	n := int(math.Ceil(rate))
	var first, last float64
	for i := range 5 * n {
		massRK4(jr, &x, &k, sub, h, p, 0, nil)
		d := math.Abs(x[1] - x[2] - (best[1] - best[2]))
		if math.IsNaN(d) {
			return best, false
		}
		if i < n {
			first = max(first, d)
		}
		if i >= 4*n {
			last = max(last, d)
		}
	}
	return best, last < first
}

// Equilibrium returns the output u* (mV) of the mass at rest at input p
// (the fixed point of the twin, see BetaCircuit) and whether it is stable;
// when it is not, the burst truth does not remove the stimulation's mean
// shift.
func (b *BetaCircuit) Equilibrium() (v float64, stable bool) {
	return b.rest[1] - b.rest[2], b.stable
}

// stepTwin advances the noise-free twin by a frame at input p + ev, and
// sets it onto the equilibrium once it is back there with no evoked input.
func (b *BetaCircuit) stepTwin(ev float64) {
	massRK4(&b.jr, &b.twin, &b.k, b.sub, b.h, b.cfg.InputHz+ev, 0, nil)
	b.active = true
	if ev != 0 {
		return
	}
	for i := range b.twin {
		if math.Abs(b.twin[i]-b.rest[i]) > twinRestTol {
			return
		}
	}
	b.twin, b.active = b.rest, false
}

func (b *BetaCircuit) amplitude(v, dv float64) float64 {
	d, q := v-b.mean, dv/b.omega
	return math.Sqrt(d*d + q*q)
}

// Rate returns the sampling rate in Hz.
func (b *BetaCircuit) Rate() float64 { return b.rate }

// Channels returns the channel names: "LFP".
func (b *BetaCircuit) Channels() []string { return []string{"LFP"} }

// Sample returns the index of the next frame Advance will generate.
func (b *BetaCircuit) Sample() int64 { return b.sample.Load() }

// Config returns the configuration the circuit was built with.
func (b *BetaCircuit) Config() BetaConfig { return b.cfg }

// TruthDims returns the ground-truth values per frame: 2.
func (b *BetaCircuit) TruthDims() int { return 2 }

// TruthNames returns the names of the ground-truth values of a frame:
// "burst" (1 in a burst, else 0) and "envelope" (the smoothed amplitude A,
// mV).
func (b *BetaCircuit) TruthNames() []string { return []string{"burst", "envelope"} }

// Calibration returns the calibrated mean output v̄ (mV), mean frequency
// ω/2π (Hz) and burst threshold on the smoothed amplitude (mV).
func (b *BetaCircuit) Calibration() (mean, freqHz, threshold float64) {
	return b.mean, b.omega / (2 * math.Pi), b.threshold
}

// Advance generates the next frames frames, appending one LFP sample (µV)
// per frame to dst and [burst, envelope] per frame to truth. It does not
// allocate when they have room.
func (b *BetaCircuit) Advance(frames int, dst []float32, truth []float64) ([]float32, []float64) {
	s := b.sample.Load()
	for range frames {
		ev := b.stim.step(s)
		massRK4(&b.jr, &b.x, &b.k, b.sub, b.h, b.cfg.InputHz+ev, b.noiseSD, b.noise)
		v := b.x[1] - b.x[2]
		b.hpOu = b.hpAlpha * (b.hpOu + v - b.hpIn)
		b.hpIn = v
		d, dd := v, b.x[4]-b.x[5]
		if b.stable && (ev != 0 || b.active) {
			b.stepTwin(ev)
			d -= b.twin[1] - b.twin[2] - (b.rest[1] - b.rest[2])
			dd -= b.twin[4] - b.twin[5]
		}
		b.env = b.envA*b.env + (1-b.envA)*b.amplitude(d, dd)
		burst := 0.0
		if b.env > b.threshold {
			burst = 1
		}
		dst = append(dst, float32(b.cfg.GainUV*b.hpOu))
		truth = append(truth, burst, b.env)
		s++
	}
	b.sample.Store(s)
	return dst, truth
}

// Stimulate queues the pulse train s on electrode 0 (the only one): first
// pulse at frame s.Sample (or the next frame when not in the future), pulse
// k at s.Sample + round(k·rate/s.FreqHz). Errors wrap ErrBadStimulus or
// ErrStimQueueFull. It does not allocate on success.
func (b *BetaCircuit) Stimulate(s Stimulus) error {
	return b.stim.stimulate(s, b.cfg.StimGainHz, b.cfg.StimRefUA)
}

// StopStimulation cancels every pending and ongoing pulse train.
func (b *BetaCircuit) StopStimulation() { b.stim.stop() }

var _ Stimulable = (*BetaCircuit)(nil)
