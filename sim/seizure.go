package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/bciloop/bciloop/model"
)

// SeizureConfig configures a SeizureCircuit.
type SeizureConfig struct {
	Seed   uint64  `yaml:"seed"`
	RateHz float64 `yaml:"rate_hz"` // frames per second (LFP samples and spike bins)

	JansenRit  model.JansenRit `yaml:"jansen_rit"`  // mass parameters; A is the resting excitatory gain A₀
	InputHz    float64         `yaml:"input_hz"`    // mean input p, s⁻¹
	InputNoise float64         `yaml:"input_noise"` // σ_p, s⁻¹·√ms
	GainUV     float64         `yaml:"gain_uv"`     // LFP µV per mV
	HighPassHz float64         `yaml:"high_pass_hz"`

	// Slow excitability z ∈ [0, 1]: A = A₀ + DeltaA·z; z builds up with
	// time constant Build and recovers with time constant Recover at full
	// event activity w (see SeizureCircuit).
	DeltaA  float64       `yaml:"delta_a"` // mV
	Build   time.Duration `yaml:"build"`
	Recover time.Duration `yaml:"recover"`
	// RecoverLag is the time constant of the activity w that drives the
	// recovery (a low-pass of the event indicator).
	RecoverLag time.Duration `yaml:"recover_lag"`
	Z0         float64       `yaml:"z0"` // initial z

	// Events: the RMS of the output about its slow mean (smoothing
	// RMSTau, mean MeanTau) above OnsetMV starts an event, below OffsetMV
	// ends it, provided the population fires in synchronous volleys.
	RMSTau   time.Duration `yaml:"rms_tau"`
	MeanTau  time.Duration `yaml:"mean_tau"`
	OnsetMV  float64       `yaml:"onset_mv"`
	OffsetMV float64       `yaml:"offset_mv"`
	// Synchrony of the events: the coefficient of variation κ of the
	// population rate (smoothed over SyncRateTau; mean over SyncMeanTau,
	// variance over SyncVarTau) must exceed SyncOnset for an event to
	// start; below SyncOffset the event ends (see SeizureCircuit).
	SyncRateTau time.Duration `yaml:"sync_rate_tau"`
	SyncMeanTau time.Duration `yaml:"sync_mean_tau"`
	SyncVarTau  time.Duration `yaml:"sync_var_tau"`
	SyncOnset   float64       `yaml:"sync_onset"`
	SyncOffset  float64       `yaml:"sync_offset"`

	// Units: Poisson units firing at RateScale·S(v) (S the pyramidal firing
	// of the mass, s⁻¹), each with its own gain uniform in
	// [1 − UnitSpread, 1 + UnitSpread].
	Units      int     `yaml:"units"`
	RateScale  float64 `yaml:"rate_scale"`
	UnitSpread float64 `yaml:"unit_spread"`

	// Stimulation of the pyramidal input through electrode 0, as
	// BetaConfig.
	StimGainHz float64       `yaml:"stim_gain_hz"`
	StimRefUA  float64       `yaml:"stim_ref_ua"`
	StimTau    time.Duration `yaml:"stim_tau"`
	StimQueue  int           `yaml:"stim_queue"`
}

// DefaultSeizureConfig returns a circuit at 1 kHz built on the Jansen &
// Rit (1995) mass at its published parameters and input 160 s⁻¹ (inside the
// paper's 120–320 s⁻¹), whose excitatory gain A drifts from 3.25 mV towards
// 3.85 mV with τ = 20 s. At this input, raising A past ≈ 3.5 mV switches the
// mass from the alpha rhythm to large rhythmic spikes at ≈ 5 Hz, the
// epileptiform regime of the model (Jansen & Rit 1995 §3; Wendling et al.
// 2000, Biol Cybern 83:367; its coexistence with the alpha cycle is
// analysed by Grimbert & Faugeras 2006, Neural Comput 18:3052). Events
// start when the output's RMS (100 ms) exceeds 3 mV (about three times the
// resting level) and end below 2 mV; the recovery (τ = 1 s at full
// activity) follows the events with a lag of 2 s, so an event deepens
// before it ends: events of about 2–3 s every 15–20 s. 40 multi-unit
// channels fire at 10·S(v), about 35 Hz at rest. The synchrony gate
// (κ > 0.44 to start, < 0.33 to end; rate over 5 ms, mean and variance over
// 300 ms, about two cycles of the discharges) leaves the events of the
// unstimulated circuit as they are: over 120 s of seeds 1–5, κ ≥ 0.45 at
// every onset of the amplitude criterion and stays above 0.33 to its end
// (TestSeizureSynchronyGate), while in the first 450 ms of a 500 ms train
// at 130 Hz of 50 or 100 µA, which raises the mean of v by ≈ 2 mV after an
// overshoot of ≈ 8 mV, κ ≤ 0.43: a tonic rise of firing, not synchronous
// volleys. The margin is narrow (0.43 against 0.45): κ measures the
// discharges' depth, and the onset of an event is a gradual deepening.
func DefaultSeizureConfig() SeizureConfig {
	return SeizureConfig{
		Seed:       1,
		RateHz:     1000,
		JansenRit:  model.JansenRit1995(),
		InputHz:    160,
		InputNoise: 20,
		GainUV:     20,
		HighPassHz: 0.5,
		DeltaA:     0.6,
		Build:      20 * time.Second,
		Recover:    time.Second,
		RecoverLag: 2 * time.Second,
		RMSTau:     100 * time.Millisecond,
		MeanTau:    2 * time.Second,
		OnsetMV:    3,
		OffsetMV:   2,

		SyncRateTau: 5 * time.Millisecond,
		SyncMeanTau: 300 * time.Millisecond,
		SyncVarTau:  300 * time.Millisecond,
		SyncOnset:   0.44,
		SyncOffset:  0.33,
		Units:       40,
		RateScale:   10,
		UnitSpread:  0.5,
		StimGainHz:  400,
		StimRefUA:   50,
		StimTau:     5 * time.Millisecond,
		StimQueue:   16,
	}
}

// Validate reports every problem of c at once, each as "key: message".
func (c *SeizureConfig) Validate() error {
	var ck checker
	ck.positive("rate_hz", c.RateHz)
	ck.nested("jansen_rit", c.JansenRit.Validate())
	ck.nonNegative("input_hz", c.InputHz)
	ck.nonNegative("input_noise", c.InputNoise)
	ck.positive("gain_uv", c.GainUV)
	ck.positive("high_pass_hz", c.HighPassHz)
	ck.belowNyquist("high_pass_hz", c.HighPassHz, c.RateHz)
	ck.nonNegative("delta_a", c.DeltaA)
	ck.duration("build", c.Build)
	ck.duration("recover", c.Recover)
	ck.duration("recover_lag", c.RecoverLag)
	ck.closed("z0", c.Z0, 0, 1)
	ck.duration("rms_tau", c.RMSTau)
	ck.duration("mean_tau", c.MeanTau)
	ck.positive("onset_mv", c.OnsetMV)
	ck.positive("offset_mv", c.OffsetMV)
	ck.notAbove("offset_mv", c.OffsetMV, "onset_mv", c.OnsetMV)
	ck.duration("sync_rate_tau", c.SyncRateTau)
	ck.duration("sync_mean_tau", c.SyncMeanTau)
	ck.duration("sync_var_tau", c.SyncVarTau)
	ck.nonNegative("sync_onset", c.SyncOnset)
	ck.nonNegative("sync_offset", c.SyncOffset)
	ck.notAbove("sync_offset", c.SyncOffset, "sync_onset", c.SyncOnset)
	ck.intRange("units", c.Units, 0, maxUnits)
	ck.nonNegative("rate_scale", c.RateScale)
	ck.closed("unit_spread", c.UnitSpread, 0, 1)
	ck.nonNegative("stim_gain_hz", c.StimGainHz)
	ck.positive("stim_ref_ua", c.StimRefUA)
	ck.duration("stim_tau", c.StimTau)
	ck.intRange("stim_queue", c.StimQueue, 1, maxUnits)
	return ck.err()
}

// Streams of the seizure circuit's generators.
const (
	streamSeizureInput = 0x7365697a696e7031
	streamSeizureUnits = 0x7365697a756e7431
	streamSeizureGains = 0x7365697a67616e31
)

// seizureTruthNames names the ground truth of a frame.
var seizureTruthNames = [...]string{"event", "onset", "excitability"}

// SeizureCircuit is a seizure-like circuit: a Jansen–Rit neural mass
// (model.JansenRit) whose excitability drifts slowly into recurrent
// synchronous events, with an LFP and a population of spiking units.
//
// Slow variable. In the spirit of the permittivity variable of the
// Epileptor (Jirsa et al. 2014, Brain 137:2210), which builds up between
// seizures and is driven back by them, the excitatory gain is
// A(t) = A₀ + ΔA·z(t) with, per frame of Δt,
//
//	w ← w·e^{−Δt/τ_lag} + (1 − e^{−Δt/τ_lag})·event
//	z ← (1 + (z − 1)·e^{−Δt/τ_build})·e^{−w·Δt/τ_recover}
//
// so excitability ramps up until the mass discharges (raising A turns the
// alpha rhythm into large rhythmic discharges; Jansen & Rit 1995; Wendling
// et al. 2000, Biol Cybern 83:367), and the activity w of each event,
// lagging it by τ_lag = RecoverLag, drives z back down and ends it.
//
// Events (ground truth) are large synchronous discharges. Amplitude: with
// v = y1 − y2 (mV), a slow mean m ← m + (1 − a_m)(v − m) (MeanTau) and a
// smoothed power q ← a_q q + (1 − a_q)(v − m)² (RMSTau). Synchrony: the
// units share the rate R·S(v), so their synchrony χ (Golomb & Rinzel
// 1993, Phys Rev E 48:4810; Golomb 2007, Scholarpedia 2:1347: the variance
// of the population activity against the units' own) grows with the
// relative fluctuation of S; with the rate smoothed over SyncRateTau,
// r ← r + (1 − a_r)(S(v) − r), its mean r̄ ← r̄ + (1 − a_r̄)(r − r̄)
// (SyncMeanTau) and variance σ² ← a_σ σ² + (1 − a_σ)(r − r̄)² (SyncVarTau),
// κ = σ/r̄. An event starts
// when √q > OnsetMV and κ > SyncOnset, and ends when √q < OffsetMV or
// κ < SyncOffset (hysteresis on both). Without the synchrony gate the
// amplitude alone would count the stimulation's own shift of the mean of v
// (a train raises it by ≈ 2 mV; the slow mean lags it by MeanTau) and the
// overshoot at a train's onset as events; firing raised tonically by
// stimulation has a higher mean rate and a smaller κ, so it does not start
// an event and ends one, while the rhythmic volleys of an afterdischarge
// after a train (the mass released from the raised input swings into
// discharges, as afterdischarges follow cortical stimulation, Blume et al.
// 2004, Clin Neurophysiol 115:982) are synchronous and count. The truth of a
// frame is [event, onset, z]: event 1 inside an event, onset 1 on its first
// frame; Synchrony returns κ.
//
// LFP: v high-passed at HighPassHz (first order) times GainUV, as in
// BetaCircuit. Units: unit i fires in a frame with probability
// 1 − exp(−λ_i Δt), λ_i = g_i·RateScale·S(v), S the mass's sigmoid
// (the pyramidal firing, s⁻¹), one uniform draw per unit per frame (common
// random numbers, as MotorCortex). Shared rate fluctuations make the units
// synchronous during the large discharges of an event, which Synchrony
// measures. Input noise and stimulation: as BetaCircuit (electrode 0
// raises the input p).
//
// Concurrency: as BetaCircuit.
type SeizureCircuit struct {
	cfg    SeizureConfig
	rate   float64
	sample atomic.Int64

	jr      model.JansenRit
	sub     int
	h       float64
	noiseSD float64
	hpAlpha float64
	aBuild  float64
	aMean   float64
	aRMS    float64
	aLag    float64

	x          [6]float64
	k          [5][6]float64
	hpIn, hpOu float64
	z, w       float64
	mean, pow  float64
	inEvent    bool
	gains      []float64

	aSyncRate, aSyncMean, aSyncVar float64
	rate1, rateMean, rateVar       float64 // r, r̄, σ² of the synchrony κ

	noise *rand.Rand
	units rand.PCG
	stim  massStim
}

// NewSeizureCircuit validates cfg and builds the circuit, starting from the
// resting rhythm (1 s of warm-up at z = Z0, without drift).
func NewSeizureCircuit(cfg SeizureConfig) (*SeizureCircuit, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sim: seizure config: %w", err)
	}
	c := &SeizureCircuit{cfg: cfg, rate: cfg.RateHz, jr: cfg.JansenRit, z: cfg.Z0,
		noise: rand.New(rand.NewPCG(cfg.Seed, streamSeizureInput)), gains: make([]float64, cfg.Units)}
	c.units.Seed(cfg.Seed, streamSeizureUnits)
	g := rand.New(rand.NewPCG(cfg.Seed, streamSeizureGains))
	for i := range c.gains {
		c.gains[i] = 1 + cfg.UnitSpread*(2*g.Float64()-1)
	}
	frameMs := 1000 / cfg.RateHz
	c.sub = max(1, int(math.Ceil(frameMs/cfg.JansenRit.MaxStep())))
	c.h = frameMs / float64(c.sub)
	c.noiseSD = cfg.InputNoise / math.Sqrt(c.h)
	dt := 1 / cfg.RateHz
	rc := 1 / (2 * math.Pi * cfg.HighPassHz)
	c.hpAlpha = rc / (rc + dt)
	c.aBuild = math.Exp(-dt / cfg.Build.Seconds())
	c.aMean = math.Exp(-dt / cfg.MeanTau.Seconds())
	c.aRMS = math.Exp(-dt / cfg.RMSTau.Seconds())
	c.aLag = math.Exp(-dt / cfg.RecoverLag.Seconds())
	c.aSyncRate = math.Exp(-dt / cfg.SyncRateTau.Seconds())
	c.aSyncMean = math.Exp(-dt / cfg.SyncMeanTau.Seconds())
	c.aSyncVar = math.Exp(-dt / cfg.SyncVarTau.Seconds())
	c.stim.init(cfg.RateHz, cfg.StimTau, cfg.StimQueue)

	// The warm-up also fills the synchrony's filters, from the first
	// frame's rate.
	c.jr.A = cfg.JansenRit.A + cfg.DeltaA*c.z
	warm := int(math.Ceil(cfg.RateHz))
	var sum float64
	for i := range warm {
		massRK4(&c.jr, &c.x, &c.k, c.sub, c.h, cfg.InputHz, c.noiseSD, c.noise)
		v := c.x[1] - c.x[2]
		sum += v
		if i == 0 {
			c.rate1 = c.jr.Sigmoid(v)
			c.rateMean = c.rate1
		}
		c.synchrony(c.jr.Sigmoid(v))
	}
	c.mean = sum / float64(warm)
	c.hpIn = c.x[1] - c.x[2]
	return c, nil
}

// synchrony updates the population rate's filters with the frame's S(v)
// (s⁻¹) and returns κ = σ/r̄.
func (c *SeizureCircuit) synchrony(s float64) float64 {
	c.rate1 += (1 - c.aSyncRate) * (s - c.rate1)
	c.rateMean += (1 - c.aSyncMean) * (c.rate1 - c.rateMean)
	d := c.rate1 - c.rateMean
	c.rateVar = c.aSyncVar*c.rateVar + (1-c.aSyncVar)*d*d
	return math.Sqrt(c.rateVar) / c.rateMean
}

// Synchrony returns κ after the last frame: the coefficient of variation
// of the population rate (see SeizureCircuit).
func (c *SeizureCircuit) Synchrony() float64 { return math.Sqrt(c.rateVar) / c.rateMean }

// Rate returns the frame rate in Hz.
func (c *SeizureCircuit) Rate() float64 { return c.rate }

// Channels returns the LFP channel names: "LFP".
func (c *SeizureCircuit) Channels() []string { return []string{"LFP"} }

// Units returns the number of spiking units.
func (c *SeizureCircuit) Units() int { return c.cfg.Units }

// Sample returns the index of the next frame Advance will generate.
func (c *SeizureCircuit) Sample() int64 { return c.sample.Load() }

// Config returns the configuration the circuit was built with.
func (c *SeizureCircuit) Config() SeizureConfig { return c.cfg }

// TruthDims returns the ground-truth values per frame: 3.
func (c *SeizureCircuit) TruthDims() int { return len(seizureTruthNames) }

// TruthNames returns "event", "onset" and "excitability" (z).
func (c *SeizureCircuit) TruthNames() []string { return append([]string(nil), seizureTruthNames[:]...) }

// Advance generates the next frames frames: one LFP sample (µV) per frame
// appended to lfp, the units' spikes (in frame order, then by unit) to
// spikes, and [event, onset, z] per frame to truth. It does not allocate
// when they have room.
func (c *SeizureCircuit) Advance(frames int, lfp []float32, spikes []Event, truth []float64) ([]float32, []Event, []float64) {
	s := c.sample.Load()
	dt := 1 / c.rate
	a0, dA := c.cfg.JansenRit.A, c.cfg.DeltaA
	for range frames {
		ev := c.stim.step(s)
		c.jr.A = a0 + dA*c.z
		massRK4(&c.jr, &c.x, &c.k, c.sub, c.h, c.cfg.InputHz+ev, c.noiseSD, c.noise)
		v := c.x[1] - c.x[2]
		c.hpOu = c.hpAlpha * (c.hpOu + v - c.hpIn)
		c.hpIn = v
		c.mean += (1 - c.aMean) * (v - c.mean)
		d := v - c.mean
		c.pow = c.aRMS*c.pow + (1-c.aRMS)*d*d
		rms := math.Sqrt(c.pow)
		sv := c.jr.Sigmoid(v)
		kappa := c.synchrony(sv)
		onset := 0.0
		switch {
		case !c.inEvent && rms > c.cfg.OnsetMV && kappa > c.cfg.SyncOnset:
			c.inEvent, onset = true, 1
		case c.inEvent && (rms < c.cfg.OffsetMV || kappa < c.cfg.SyncOffset):
			c.inEvent = false
		}
		ind := 0.0
		if c.inEvent {
			ind = 1
		}
		c.w = c.aLag*c.w + (1-c.aLag)*ind
		c.z = (1 + (c.z-1)*c.aBuild) * math.Exp(-c.w*dt/c.cfg.Recover.Seconds())
		lam := c.cfg.RateScale * sv * dt
		for i, g := range c.gains {
			if spike(float64(c.units.Uint64()>>11)*0x1p-53, g*lam) {
				spikes = append(spikes, Event{Sample: s, Channel: int32(i)})
			}
		}
		event := 0.0
		if c.inEvent {
			event = 1
		}
		lfp = append(lfp, float32(c.cfg.GainUV*c.hpOu))
		truth = append(truth, event, onset, c.z)
		s++
	}
	c.sample.Store(s)
	return lfp, spikes, truth
}

// Stimulate queues the pulse train s on electrode 0, as
// BetaCircuit.Stimulate.
func (c *SeizureCircuit) Stimulate(s Stimulus) error {
	return c.stim.stimulate(s, c.cfg.StimGainHz, c.cfg.StimRefUA)
}

// StopStimulation cancels every pending and ongoing pulse train.
func (c *SeizureCircuit) StopStimulation() { c.stim.stop() }

var _ Stimulable = (*SeizureCircuit)(nil)
