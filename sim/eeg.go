package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/bciloop/bciloop/model"
)

// Motor-imagery classes of an EEG trial, the ground truth of EEG.Advance.
const (
	EEGNoTask = -1 // between trials (fixation, break)
	EEGRest   = 0  // a rest cue: no imagery
	EEGLeft   = 1  // left-hand imagery
	EEGRight  = 2  // right-hand imagery
)

// EEGSource is one cortical source of the EEG preset: a Jansen–Rit neural
// mass whose output drives a radial dipole below a point of the scalp.
type EEGSource struct {
	Name       string  `yaml:"name"`
	PolarDeg   float64 `yaml:"polar_deg"`   // angle from the vertex (Cz), degrees
	AzimuthDeg float64 `yaml:"azimuth_deg"` // from the nasion towards the left ear, degrees
	InputHz    float64 `yaml:"input_hz"`    // mean input pulse density p, s⁻¹
	GainUV     float64 `yaml:"gain_uv"`     // scalp µV per mV of mass output, at the electrode right above
	// BetaGainUV, when > 0, adds a second mass of the same site on the
	// beta time scale (see EEG), with this gain.
	BetaGainUV float64 `yaml:"beta_gain_uv"`
	// Hand is the imagery class that desynchronises this source: "right"
	// for the left motor source (contralateral), "left" for the right one,
	// "" for none.
	Hand string `yaml:"hand"`
}

// EEGConfig configures an EEG. Times are durations; the trial schedule
// follows the Graz cue-based paradigm (Pfurtscheller & Neuper 2001, Proc
// IEEE 89:1123): fixation, a cue at Cue (+ a uniform jitter), imagery for
// Imagery, then a break until the end of the trial.
type EEGConfig struct {
	Seed     uint64   `yaml:"seed"`
	RateHz   float64  `yaml:"rate_hz"`  // samples per second per channel
	Channels []string `yaml:"channels"` // 10–20 names, see EEGElectrodes

	Sources    []EEGSource     `yaml:"sources"`
	JansenRit  model.JansenRit `yaml:"jansen_rit"`  // mass parameters shared by every source
	InputNoise float64         `yaml:"input_noise"` // σ_p, s⁻¹·√ms: white-noise density of the input
	Depth      float64         `yaml:"depth"`       // source radius as a fraction of the head radius, (0, 1)
	HighPassHz float64         `yaml:"high_pass_hz"`

	// ERD: imagery raises the input of the desynchronised sources by
	// ImageryInputHz, approached with time constant ERDTau.
	ImageryInputHz float64       `yaml:"imagery_input_hz"`
	ERDTau         time.Duration `yaml:"erd_tau"`

	PinkNoiseUV float64 `yaml:"pink_noise_uv"` // RMS of the 1/f background per channel, µV

	Trial        time.Duration `yaml:"trial"`
	Cue          time.Duration `yaml:"cue"`
	CueJitter    time.Duration `yaml:"cue_jitter"`
	Imagery      time.Duration `yaml:"imagery"`
	RestFraction float64       `yaml:"rest_fraction"` // share of rest trials; the others split left/right equally
}

// eegElectrodes holds idealised spherical positions of the 10–20
// electrodes (polar angle from Cz and azimuth from the nasion towards the
// left, in degrees; init adds the 10–10 electrodes of a 64-channel cap), in the convention of BESA's spherical head: the inner ring
// (Fz, C3, Cz…Pz) at 46°, the outer ring (Fp1…O2, T7, T8) at 92°, the
// diagonals F3, F4, P3, P4 at 60° (see Jurcak et al. 2007, NeuroImage
// 34:1600, for the 10–20 system and its variants).
var eegElectrodes = map[string][2]float64{
	"Fp1": {92, 18}, "Fp2": {92, -18}, "F7": {92, 54}, "F8": {92, -54},
	"F3": {60, 39}, "Fz": {46, 0}, "F4": {60, -39},
	"T7": {92, 90}, "C3": {46, 90}, "Cz": {0, 0}, "C4": {46, -90}, "T8": {92, -90},
	"P7": {92, 126}, "P3": {60, 141}, "Pz": {46, 180}, "P4": {60, -141}, "P8": {92, -126},
	"O1": {92, 162}, "Oz": {92, 180}, "O2": {92, -162},
}

// eeg1010Midpoints defines the 10–10 electrodes of the 64-channel montage
// (the BCI2000 cap of the PhysioNet EEG Motor Movement/Imagery dataset,
// Schalk et al. 2004) not in the 10–20 set above: each lies midway, on the
// sphere, between two neighbours, as the 10–10 system places its
// intermediate positions (Chatrian et al. 1985; Jurcak et al. 2007). Order
// matters: later entries use earlier ones.
var eeg1010Midpoints = [][3]string{
	{"F1", "Fz", "F3"}, {"F2", "Fz", "F4"}, {"F5", "F3", "F7"}, {"F6", "F4", "F8"},
	{"C1", "Cz", "C3"}, {"C2", "Cz", "C4"}, {"C5", "C3", "T7"}, {"C6", "C4", "T8"},
	{"P1", "Pz", "P3"}, {"P2", "Pz", "P4"}, {"P5", "P3", "P7"}, {"P6", "P4", "P8"},
	{"FCz", "Fz", "Cz"}, {"FC1", "F1", "C1"}, {"FC2", "F2", "C2"}, {"FC3", "F3", "C3"},
	{"FC4", "F4", "C4"}, {"FC5", "F5", "C5"}, {"FC6", "F6", "C6"},
	{"CPz", "Cz", "Pz"}, {"CP1", "C1", "P1"}, {"CP2", "C2", "P2"}, {"CP3", "C3", "P3"},
	{"CP4", "C4", "P4"}, {"CP5", "C5", "P5"}, {"CP6", "C6", "P6"},
	{"AFz", "Fpz", "Fz"}, {"AF3", "Fp1", "F3"}, {"AF4", "Fp2", "F4"},
	{"POz", "Pz", "Oz"}, {"PO3", "P3", "O1"}, {"PO4", "P4", "O2"},
}

// eeg1010Ring holds the 10–10 electrodes on the outer ring (polar 92°, 18°
// apart like the 10–20 ring) and the ring below it (115°: T9, T10, Iz).
var eeg1010Ring = map[string][2]float64{
	"Fpz": {92, 0}, "AF7": {92, 36}, "AF8": {92, -36}, "FT7": {92, 72}, "FT8": {92, -72},
	"TP7": {92, 108}, "TP8": {92, -108}, "PO7": {92, 144}, "PO8": {92, -144},
	"T9": {115, 90}, "T10": {115, -90}, "Iz": {115, 180},
}

func init() {
	for k, v := range eeg1010Ring {
		eegElectrodes[k] = v
	}
	for _, m := range eeg1010Midpoints {
		a, b := sphere(eegElectrodes[m[1]][0], eegElectrodes[m[1]][1]), sphere(eegElectrodes[m[2]][0], eegElectrodes[m[2]][1])
		// The midpoint of the shorter great-circle arc: the normalised sum.
		c := [3]float64{a[0] + b[0], a[1] + b[1], a[2] + b[2]}
		n := math.Sqrt(c[0]*c[0] + c[1]*c[1] + c[2]*c[2])
		eegElectrodes[m[0]] = [2]float64{
			math.Acos(c[2]/n) * 180 / math.Pi,
			math.Atan2(-c[0], c[1]) * 180 / math.Pi,
		}
	}
}

// EEGElectrodes returns the names of the electrodes EEGConfig.Channels may
// use, sorted.
func EEGElectrodes() []string {
	out := make([]string, 0, len(eegElectrodes))
	for k := range eegElectrodes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// DefaultEEGConfig returns 11 channels at 250 Hz (the OpenBCI Cyton rate),
// six Jansen & Rit (1995) sources at their published parameters and input
// (mean 220 s⁻¹, inside the paper's 120–320 s⁻¹): left and right motor
// (under C3 and C4, the mu rhythm), a midline supplementary motor source,
// a frontal one and two occipital ones (the strongest, posterior alpha);
// the motor sources also carry a beta-scale mass (≈ 22 Hz, gain 4 against
// 10 for mu); imagery raises the contralateral motor source's input by
// 100 s⁻¹, which moves the masses towards their high-input fixed point and
// cuts its 8–12 Hz and beta power by about two thirds (ERD of tens of per cent, Pfurtscheller & Lopes
// da Silva 1999, Clin Neurophysiol 110:1842) with τ = 300 ms; 8 s trials
// with the cue at 3 s (+ up to 1 s), 4 s of imagery, a third of them rest.
func DefaultEEGConfig() EEGConfig {
	return EEGConfig{
		Seed:     1,
		RateHz:   250,
		Channels: []string{"F3", "Fz", "F4", "C3", "Cz", "C4", "P3", "Pz", "P4", "O1", "O2"},
		Sources: []EEGSource{
			{Name: "motor-left", PolarDeg: 46, AzimuthDeg: 90, InputHz: 220, GainUV: 10, BetaGainUV: 4, Hand: "right"},
			{Name: "motor-right", PolarDeg: 46, AzimuthDeg: -90, InputHz: 220, GainUV: 10, BetaGainUV: 4, Hand: "left"},
			{Name: "sma", PolarDeg: 20, AzimuthDeg: 0, InputHz: 220, GainUV: 4},
			{Name: "frontal", PolarDeg: 60, AzimuthDeg: 0, InputHz: 220, GainUV: 4},
			{Name: "occipital-left", PolarDeg: 85, AzimuthDeg: 160, InputHz: 220, GainUV: 15},
			{Name: "occipital-right", PolarDeg: 85, AzimuthDeg: -160, InputHz: 220, GainUV: 15},
		},
		JansenRit:      model.JansenRit1995(),
		InputNoise:     20,
		Depth:          0.75,
		HighPassHz:     0.5,
		ImageryInputHz: 100,
		ERDTau:         300 * time.Millisecond,
		PinkNoiseUV:    3,
		Trial:          8 * time.Second,
		Cue:            3 * time.Second,
		CueJitter:      time.Second,
		Imagery:        4 * time.Second,
		RestFraction:   1.0 / 3,
	}
}

// Validate reports every problem of c at once, each as "key: message".
func (c *EEGConfig) Validate() error {
	var ck checker
	ck.positive("rate_hz", c.RateHz)
	if len(c.Channels) == 0 {
		ck.bad("channels", "must name at least one electrode")
	}
	for i, ch := range c.Channels {
		if _, ok := eegElectrodes[ch]; !ok {
			ck.bad(fmt.Sprintf("channels[%d]", i), "unknown electrode %q (have %v)", ch, EEGElectrodes())
		} else if slices.Index(c.Channels, ch) != i {
			ck.bad(fmt.Sprintf("channels[%d]", i), "duplicate electrode %q", ch)
		}
	}
	if len(c.Sources) == 0 {
		ck.bad("sources", "must list at least one source")
	}
	for i, s := range c.Sources {
		k := fmt.Sprintf("sources[%d]", i)
		ck.closed(k+".polar_deg", s.PolarDeg, 0, 180)
		ck.finite(k+".azimuth_deg", s.AzimuthDeg)
		ck.nonNegative(k+".input_hz", s.InputHz)
		ck.nonNegative(k+".gain_uv", s.GainUV)
		ck.nonNegative(k+".beta_gain_uv", s.BetaGainUV)
		if s.Hand != "" && s.Hand != "left" && s.Hand != "right" {
			ck.bad(k+".hand", `must be "", "left" or "right", got %q`, s.Hand)
		}
	}
	ck.nested("jansen_rit", c.JansenRit.Validate())
	ck.nonNegative("input_noise", c.InputNoise)
	ck.open("depth", c.Depth, 0, 1)
	ck.positive("high_pass_hz", c.HighPassHz)
	ck.belowNyquist("high_pass_hz", c.HighPassHz, c.RateHz)
	ck.nonNegative("imagery_input_hz", c.ImageryInputHz)
	ck.duration("erd_tau", c.ERDTau)
	ck.nonNegative("pink_noise_uv", c.PinkNoiseUV)
	ck.duration("trial", c.Trial)
	if c.Cue < 0 || c.CueJitter < 0 || c.Imagery <= 0 {
		ck.bad("cue", "cue and cue_jitter must be ≥ 0 and imagery > 0, got %v, %v, %v", c.Cue, c.CueJitter, c.Imagery)
	} else if c.Cue+c.CueJitter+c.Imagery > c.Trial {
		ck.bad("imagery", "cue + cue_jitter + imagery (%v) must fit in the trial (%v)", c.Cue+c.CueJitter+c.Imagery, c.Trial)
	}
	ck.closed("rest_fraction", c.RestFraction, 0, 1)
	return ck.err()
}

// EEGTrial is the ground truth of one trial: its class and the frames of
// its cue and of the end of its imagery window, [CueSample, EndSample).
type EEGTrial struct {
	Index     int64
	Class     int
	CueSample int64
	EndSample int64
}

// Pink-noise bank: pinkPoles first-order processes with corner frequencies
// pinkLowHz·pinkRatio^k.
const (
	pinkPoles = 6
	pinkLowHz = 0.25
	pinkRatio = 3
)

// eegWarmup is the time every source is simulated before frame 0.
const eegWarmup = 2 * time.Second

// Streams of the EEG's seeded generators.
const (
	streamEEGInput = 0x6565676970757431 // source input noise
	streamEEGPink  = 0x656567706e6b3031 // background noise
	streamEEGTrial = 0x6565677472000000 // + trial index: trial draws
)

// eegSource is the run-time state of a source (pointer-free).
type eegSource struct {
	x          [6]float64 // Jansen–Rit state
	xb         [6]float64 // beta-scale mass state (when betaGain > 0)
	betaGain   float64
	hbIn, hbOu float64 // its high-pass state
	input      float64 // mean input, s⁻¹
	erd        float64 // ERD level in [0, 1]
	hand       int     // class that desynchronises it, or EEGNoTask
	gain       float64 // µV per mV
	hpIn, hpOu float64 // high-pass state
}

// EEG is a synthetic scalp EEG with a cued motor-imagery schedule.
//
// Sources. Each source is a Jansen & Rit (1995, Biol Cybern 73:357) neural
// mass (model.JansenRit) driven by p(t) = μ + e(t)·Δμ plus white noise of
// density σ_p: over an RK4 step of h ≤ 0.5 ms the input is held at
// μ + e·Δμ + σ_p·z/√h, z ~ N(0, 1) (the discretisation of white noise, so
// the spectrum does not depend on h). At the published parameters and
// inputs inside 120–320 s⁻¹ it shows the ≈ 11 Hz alpha rhythm. The output
// y1 − y2 (mV) passes a first-order high-pass at HighPassHz, the AC
// coupling of an EEG amplifier, y ← α(y + x − x_prev) with
// α = RC/(RC + Δt), RC = 1/(2π f_c), and is scaled by the source's gain.
//
// Event-related desynchronisation (Pfurtscheller & Lopes da Silva 1999,
// Clin Neurophysiol 110:1842): during the imagery window of a left
// (right) trial the level e of the sources whose Hand is "left" ("right")
// relaxes to 1, otherwise to 0, as e ← e_target + (e − e_target)·exp(−Δt/τ).
// A higher input moves the Jansen–Rit mass off its oscillatory regime
// towards the upper fixed point, which suppresses its 8–12 Hz power: the
// contralateral mu ERD of hand motor imagery (Pfurtscheller & Neuper 1997,
// Neurosci Lett 239:65).
//
// Sensorimotor beta. A source with BetaGainUV > 0 has a second mass at the
// same site on a twice faster time scale (a, b and e0 doubled, its input
// 2p and noise density √2·σ_p: the same equations with t → 2t), whose
// rhythm is ≈ 22 Hz (the kinetics set the band; David & Friston 2003,
// NeuroImage 20:1743), desynchronised by the same e(t): the mu and beta
// ERD of motor imagery (Pfurtscheller & Lopes da Silva 1999). Both masses
// draw from one noise stream, independently.
//
// Lead field. Source j is a radial current dipole at r_j = d·u_j (u_j the
// unit vector of its scalp position, d = Depth) in an infinite homogeneous
// conductor of the head's size (Nunez & Srinivasan 2006, Electric Fields
// of the Brain, §2: V = p·(r − r_j)/(4πσ|r − r_j|³)); electrodes sit on the
// unit sphere. The gain is normalised by its value at the electrode right
// above the source (1/(1 − d)²), so that L_cj = 1 there:
//
//	L_cj = (1 − d)²·u_j·(e_c − d·u_j)/|e_c − d·u_j|³
//
// This ignores the skull's smearing and the boundary of the head (a
// simplification: the fields are more focal than over a real head) but
// keeps the fall-off with distance and the sign reversal of a radial dipole.
//
// Background. Each channel adds independent 1/f noise: the sum of
// pinkPoles = 6 unit-variance Ornstein–Uhlenbeck processes with corner
// frequencies 0.25·3^k Hz (0.25–61 Hz), each updated exactly as
// z ← a z + √(1−a²) ξ, a = exp(−2π f_k Δt); equal-variance Lorentzians
// spaced evenly in log-frequency sum to a 1/f spectrum between the corners
// (Keshner 1982, Proc IEEE 70:212), scaled to PinkNoiseUV RMS.
//
// Schedule. Trial k spans frames [k·T, (k+1)·T); its class (rest with
// probability RestFraction, else left or right with equal probability) and
// cue jitter come from a generator seeded by (Seed, k), so any trial can be
// recomputed (Trial) without storing history. The truth of a frame is the
// trial's class inside [cue, cue + Imagery) and EEGNoTask outside.
//
// Concurrency: an EEG is for one goroutine at a time.
type EEG struct {
	cfg      EEGConfig
	rate     float64
	nch, nsr int
	sample   int64

	jr       model.JansenRit
	jrBeta   model.JansenRit // jr on the twice faster time scale
	sub      int             // RK4 steps per frame
	h        float64         // ms per RK4 step
	noiseSD  float64         // σ_p/√h
	erdDecay float64
	hpAlpha  float64

	lead []float64 // nch × nsr, row-major
	src  []eegSource

	pinkA, pinkB [pinkPoles]float64
	pink         []float64 // nch × pinkPoles
	pinkScale    float64

	trialFrames int64
	cueFrames   int64
	jitFrames   int64
	imgFrames   int64
	trial       EEGTrial // the current trial
	haveTrial   bool

	out []float64 // per-source output this frame, µV

	noise *rand.Rand
	pinkR *rand.Rand
	k     [5][6]float64 // RK4 scratch
}

// NewEEG validates cfg and builds the EEG.
func NewEEG(cfg EEGConfig) (*EEG, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sim: eeg config: %w", err)
	}
	cfg.Channels = slices.Clone(cfg.Channels)
	cfg.Sources = slices.Clone(cfg.Sources)
	e := &EEG{cfg: cfg, rate: cfg.RateHz, nch: len(cfg.Channels), nsr: len(cfg.Sources), jr: cfg.JansenRit, jrBeta: cfg.JansenRit,
		noise: rand.New(rand.NewPCG(cfg.Seed, streamEEGInput)),
		pinkR: rand.New(rand.NewPCG(cfg.Seed, streamEEGPink))}
	e.jrBeta.Ra, e.jrBeta.Rb, e.jrBeta.E0 = 2*cfg.JansenRit.Ra, 2*cfg.JansenRit.Rb, 2*cfg.JansenRit.E0
	frameMs := 1000 / cfg.RateHz
	e.sub = max(1, int(math.Ceil(frameMs/cfg.JansenRit.MaxStep())))
	e.h = frameMs / float64(e.sub)
	e.noiseSD = cfg.InputNoise / math.Sqrt(e.h)
	dt := 1 / cfg.RateHz
	e.erdDecay = math.Exp(-dt / cfg.ERDTau.Seconds())
	rc := 1 / (2 * math.Pi * cfg.HighPassHz)
	e.hpAlpha = rc / (rc + dt)

	d := cfg.Depth
	e.lead = make([]float64, e.nch*e.nsr)
	e.src = make([]eegSource, e.nsr)
	e.out = make([]float64, e.nsr)
	for j, s := range cfg.Sources {
		u := sphere(s.PolarDeg, s.AzimuthDeg)
		for c, ch := range cfg.Channels {
			p := eegElectrodes[ch]
			el := sphere(p[0], p[1])
			var dot, r2 float64
			for i := range 3 {
				diff := el[i] - d*u[i]
				dot += u[i] * diff
				r2 += diff * diff
			}
			e.lead[c*e.nsr+j] = (1 - d) * (1 - d) * dot / (r2 * math.Sqrt(r2))
		}
		hand := EEGNoTask
		switch s.Hand {
		case "left":
			hand = EEGLeft
		case "right":
			hand = EEGRight
		}
		e.src[j] = eegSource{input: s.InputHz, hand: hand, gain: s.GainUV, betaGain: s.BetaGainUV}
	}
	for k := range pinkPoles {
		a := math.Exp(-2 * math.Pi * pinkLowHz * math.Pow(pinkRatio, float64(k)) * dt)
		e.pinkA[k], e.pinkB[k] = a, math.Sqrt(1-a*a)
	}
	e.pink = make([]float64, e.nch*pinkPoles)
	for i := range e.pink {
		e.pink[i] = e.pinkR.NormFloat64() // stationary start
	}
	e.pinkScale = cfg.PinkNoiseUV / math.Sqrt(pinkPoles)
	frames := func(t time.Duration) int64 { return int64(math.Round(t.Seconds() * cfg.RateHz)) }
	e.trialFrames = max(1, frames(cfg.Trial))
	e.cueFrames, e.jitFrames, e.imgFrames = frames(cfg.Cue), frames(cfg.CueJitter), max(1, frames(cfg.Imagery))
	// Warm-up: eegWarmup of every mass from rest to its ongoing rhythm,
	// then the high-pass starts from the current output (no onset step).
	for j := range e.src {
		s := &e.src[j]
		for range int(math.Ceil(eegWarmup.Seconds() * cfg.RateHz)) {
			e.stepSource(s, EEGNoTask)
		}
		s.hpIn, s.hpOu = e.jr.Output(s.x[:]), 0
		s.hbIn, s.hbOu = e.jrBeta.Output(s.xb[:]), 0
	}
	return e, nil
}

// sphere returns the unit vector at polar angle θ from +z and azimuth φ
// from +y (nasion) towards −x (left), in degrees; x points right.
func sphere(polarDeg, azimuthDeg float64) [3]float64 {
	t, p := polarDeg*math.Pi/180, azimuthDeg*math.Pi/180
	return [3]float64{-math.Sin(t) * math.Sin(p), math.Sin(t) * math.Cos(p), math.Cos(t)}
}

// Rate returns the sampling rate in Hz.
func (e *EEG) Rate() float64 { return e.rate }

// Channels returns the channel names.
func (e *EEG) Channels() []string { return slices.Clone(e.cfg.Channels) }

// Sample returns the index of the next frame Advance will generate.
func (e *EEG) Sample() int64 { return e.sample }

// Config returns the configuration the EEG was built with.
func (e *EEG) Config() EEGConfig { return e.cfg }

// TruthDims returns the ground-truth values per frame: 1, the class.
func (e *EEG) TruthDims() int { return 1 }

// TruthNames returns the names of the ground-truth values: "class".
func (e *EEG) TruthNames() []string { return []string{"class"} }

// LeadField returns the gain L_cj from source j to channel c (before the
// source's GainUV) as rows of channels.
func (e *EEG) LeadField() [][]float64 {
	out := make([][]float64, e.nch)
	for c := range out {
		out[c] = slices.Clone(e.lead[c*e.nsr : (c+1)*e.nsr])
	}
	return out
}

// Trial returns trial k (k ≥ 0) of the schedule: its class and cue.
func (e *EEG) Trial(k int64) EEGTrial {
	var g rand.PCG
	g.Seed(e.cfg.Seed, streamEEGTrial+uint64(k))
	u1 := float64(g.Uint64()>>11) * 0x1p-53
	u2 := float64(g.Uint64()>>11) * 0x1p-53
	class := EEGRest
	if r := e.cfg.RestFraction; u1 >= r {
		class = EEGLeft
		if (u1-r)/(1-r) >= 0.5 {
			class = EEGRight
		}
	}
	cue := k*e.trialFrames + e.cueFrames + int64(u2*float64(e.jitFrames+1))
	return EEGTrial{Index: k, Class: class, CueSample: cue, EndSample: cue + e.imgFrames}
}

// Advance generates the next frames frames: it appends len(Channels())
// samples per frame (µV, frame-major) to dst and the class of each frame
// (EEGNoTask, EEGRest, EEGLeft or EEGRight) to truth, and returns both. It
// does not allocate when they have room.
func (e *EEG) Advance(frames int, dst []float32, truth []float64) ([]float32, []float64) {
	for range frames {
		s := e.sample
		if k := s / e.trialFrames; !e.haveTrial || k != e.trial.Index {
			e.trial, e.haveTrial = e.Trial(k), true
		}
		label := EEGNoTask
		if s >= e.trial.CueSample && s < e.trial.EndSample {
			label = e.trial.Class
		}
		for j := range e.src {
			e.out[j] = e.stepSource(&e.src[j], label)
		}
		for c := range e.nch {
			row := e.lead[c*e.nsr : (c+1)*e.nsr]
			var v float64
			for j, l := range row {
				v += l * e.out[j]
			}
			pk := e.pink[c*pinkPoles : (c+1)*pinkPoles]
			var pn float64
			for k := range pk {
				pk[k] = e.pinkA[k]*pk[k] + e.pinkB[k]*e.pinkR.NormFloat64()
				pn += pk[k]
			}
			dst = append(dst, float32(v+e.pinkScale*pn))
		}
		truth = append(truth, float64(label))
		e.sample++
	}
	return dst, truth
}

// stepSource advances one source by a frame and returns its scalp-scaled,
// high-passed output (µV at unit lead).
func (e *EEG) stepSource(s *eegSource, label int) float64 {
	target := 0.0
	if label != EEGNoTask && label == s.hand {
		target = 1
	}
	s.erd = target + (s.erd-target)*e.erdDecay
	mean := s.input + s.erd*e.cfg.ImageryInputHz
	massRK4(&e.jr, &s.x, &e.k, e.sub, e.h, mean, e.noiseSD, e.noise)
	y := e.jr.Output(s.x[:])
	s.hpOu = e.hpAlpha * (s.hpOu + y - s.hpIn)
	s.hpIn = y
	out := s.gain * s.hpOu
	if s.betaGain > 0 {
		// Twice the time scale: inputs ×2, white-noise density ×√2.
		massRK4(&e.jrBeta, &s.xb, &e.k, e.sub, e.h, 2*mean, math.Sqrt2*e.noiseSD, e.noise)
		yb := e.jrBeta.Output(s.xb[:])
		s.hbOu = e.hpAlpha * (s.hbOu + yb - s.hbIn)
		s.hbIn = yb
		out += s.betaGain * s.hbOu
	}
	return out
}
